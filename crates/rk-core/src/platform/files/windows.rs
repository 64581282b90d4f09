//! A protected DACL with one entry, full control for the user running rk: no inherited entries,
//! so neither `Users` nor `Authenticated Users` of the parent folder can read the key. That is
//! what `icacls KEY /inheritance:r /grant:r "%USERNAME%":F` leaves, and what Windows' OpenSSH
//! requires before it will use a private key.

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, GetNamedSecurityInfoW, SE_FILE_OBJECT, SetSecurityInfo,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, AddAccessAllowedAceEx,
    CONTAINER_INHERIT_ACE, DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetLengthSid,
    GetSecurityDescriptorControl, GetTokenInformation, InitializeAcl, IsWellKnownSid,
    LookupAccountSidW, OBJECT_INHERIT_ACE, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, SE_DACL_PROTECTED,
    TOKEN_QUERY, TOKEN_USER, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_ALL_ACCESS, FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_READ_DATA, READ_CONTROL, WRITE_DAC,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::{Exposure, Protection};

/// `ACCESS_ALLOWED_ACE_TYPE` (winnt.h).
const ACCESS_ALLOWED: u8 = 0;
/// `GENERIC_READ` and `GENERIC_ALL` (winnt.h): generic rights an entry may carry instead of
/// the file-specific ones.
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_ALL: u32 = 0x1000_0000;
/// Share mode 0: nobody else may open the file while rk holds it (between creation and the
/// DACL being set, nobody can get a handle at all).
const SHARE_NONE: u32 = 0;

pub fn create_new(path: &Path, protection: Protection) -> io::Result<File> {
    let mut options = OpenOptions::new();
    // CREATE_NEW fails on any existing name, a symlink included: nothing is ever followed.
    options.write(true).create_new(true);
    if protection == Protection::Private {
        options
            .share_mode(SHARE_NONE)
            .access_mode(FILE_GENERIC_READ | FILE_GENERIC_WRITE | WRITE_DAC | READ_CONTROL);
    }
    let file = options.open(path)?;
    if protection == Protection::Private {
        protect_handle(file.as_raw_handle(), false)?;
    }
    Ok(file)
}

pub fn open_append(path: &Path, protection: Protection) -> io::Result<File> {
    match OpenOptions::new().append(true).read(true).open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = create_new(path, protection)?;
            drop(file);
            OpenOptions::new().append(true).read(true).open(path)
        }
        other => other,
    }
}

pub fn create_private_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir(path)?;
    let dir = OpenOptions::new()
        .access_mode(WRITE_DAC | READ_CONTROL)
        // FILE_FLAG_BACKUP_SEMANTICS: the only way to open a directory handle.
        .custom_flags(0x0200_0000)
        .open(path)?;
    // Entries inherited by what is created inside, as ssh-keygen's ~/.ssh gets from the
    // profile folder, but only the user's.
    protect_handle(dir.as_raw_handle(), true)
}

pub fn readable_by_others(path: &Path, shown: &str) -> io::Result<Option<Exposure>> {
    let user = current_user()?;
    let sd = SecurityDescriptor::of(path)?;
    if sd.dacl.is_null() {
        // A NULL DACL grants everyone everything.
        return Ok(Some(exposure(
            shown,
            "everyone (the file has no access list)".into(),
        )));
    }
    for ace in sd.entries() {
        // SAFETY: GetAce returned a valid entry; the header is at its start.
        let header = unsafe { *(ace as *const ACE_HEADER) };
        if header.AceType != ACCESS_ALLOWED {
            continue;
        }
        let allowed = unsafe { &*(ace as *const ACCESS_ALLOWED_ACE) };
        if allowed.Mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL) == 0 {
            continue;
        }
        let sid: PSID = (&allowed.SidStart as *const u32).cast_mut().cast();
        // SAFETY: both SIDs are valid for the calls' duration.
        let trusted = unsafe {
            EqualSid(sid, user.sid()) != 0
                || (!sd.owner.is_null() && EqualSid(sid, sd.owner) != 0)
                || IsWellKnownSid(sid, WinLocalSystemSid) != 0
                || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0
        };
        if !trusted {
            return Ok(Some(exposure(shown, account_name(sid))));
        }
    }
    Ok(None)
}

pub fn describe_protection(path: &Path) -> io::Result<String> {
    let user = current_user()?;
    let sd = SecurityDescriptor::of(path)?;
    let mut control = 0u16;
    let mut revision = 0u32;
    // SAFETY: the descriptor is valid while `sd` lives.
    unsafe { GetSecurityDescriptorControl(sd.descriptor, &mut control, &mut revision) };
    let mut out = format!(
        "user {}\nowner {}\ndacl {}\n",
        sid_string(user.sid()),
        if sd.owner.is_null() {
            "none".into()
        } else {
            sid_string(sd.owner)
        },
        match (sd.dacl.is_null(), control & SE_DACL_PROTECTED != 0) {
            (true, _) => "null",
            (false, true) => "protected",
            (false, false) => "inherits",
        }
    );
    for ace in sd.entries() {
        // SAFETY: as in readable_by_others.
        let header = unsafe { *(ace as *const ACE_HEADER) };
        let allowed = unsafe { &*(ace as *const ACCESS_ALLOWED_ACE) };
        let sid: PSID = (&allowed.SidStart as *const u32).cast_mut().cast();
        out.push_str(&format!(
            "ace type={} flags={:#x} mask={:#x} sid={}\n",
            header.AceType,
            header.AceFlags,
            allowed.Mask,
            sid_string(sid)
        ));
    }
    Ok(out)
}

fn exposure(shown: &str, who: String) -> Exposure {
    Exposure {
        problem: format!("'{shown}' can be read by {who}"),
        // %USERPROFILE% in `shown` expands in cmd, as %USERNAME% does.
        fix: format!("icacls \"{shown}\" /inheritance:r /grant:r \"%USERNAME%\":F"),
    }
}

/// Replaces the DACL of an open handle with one entry: full control for the current user.
fn protect_handle(handle: *mut c_void, inheritable: bool) -> io::Result<()> {
    let user = current_user()?;
    let sid = user.sid();
    // SAFETY: sid is a valid SID owned by `user`.
    let sid_len = unsafe { GetLengthSid(sid) } as usize;
    let acl_len = std::mem::size_of::<ACL>() + std::mem::size_of::<ACCESS_ALLOWED_ACE>()
        - std::mem::size_of::<u32>()
        + sid_len;
    // u32 words keep the ACL aligned as the API requires.
    let mut acl = vec![0u32; acl_len.div_ceil(4)];
    let acl_ptr: *mut ACL = acl.as_mut_ptr().cast();
    let flags = if inheritable {
        OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE
    } else {
        0
    };
    // SAFETY: the buffer is acl_len bytes and outlives every use of acl_ptr.
    unsafe {
        if InitializeAcl(acl_ptr, acl_len as u32, ACL_REVISION) == 0
            || AddAccessAllowedAceEx(acl_ptr, ACL_REVISION, flags, FILE_ALL_ACCESS, sid) == 0
        {
            return Err(io::Error::last_os_error());
        }
        let status = SetSecurityInfo(
            handle as HANDLE,
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            acl_ptr,
            std::ptr::null(),
        );
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
    }
    Ok(())
}

/// The token's user (its SID lives in the buffer).
struct TokenUserBuf(Vec<u64>);

impl TokenUserBuf {
    fn sid(&self) -> PSID {
        // SAFETY: the buffer was filled by GetTokenInformation(TokenUser).
        unsafe { (*(self.0.as_ptr() as *const TOKEN_USER)).User.Sid }
    }
}

fn current_user() -> io::Result<TokenUserBuf> {
    // SAFETY: standard token query; the handle is closed on every path.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut needed = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut needed);
        let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(8)];
        let ok = GetTokenInformation(
            token,
            TokenUser,
            buf.as_mut_ptr().cast(),
            (buf.len() * 8) as u32,
            &mut needed,
        );
        let err = io::Error::last_os_error();
        CloseHandle(token);
        if ok == 0 {
            return Err(err);
        }
        Ok(TokenUserBuf(buf))
    }
}

/// A file's owner and DACL, freed when dropped.
struct SecurityDescriptor {
    descriptor: PSECURITY_DESCRIPTOR,
    owner: PSID,
    dacl: *mut ACL,
}

impl SecurityDescriptor {
    fn of(path: &Path) -> io::Result<Self> {
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let mut sd = SecurityDescriptor {
            descriptor: std::ptr::null_mut(),
            owner: std::ptr::null_mut(),
            dacl: std::ptr::null_mut(),
        };
        // SAFETY: out-pointers to our fields; the descriptor is freed in Drop.
        let status = unsafe {
            GetNamedSecurityInfoW(
                wide.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION,
                &mut sd.owner,
                std::ptr::null_mut(),
                &mut sd.dacl,
                std::ptr::null_mut(),
                &mut sd.descriptor,
            )
        };
        if status != 0 {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        Ok(sd)
    }

    /// The DACL's entries (raw pointers into the descriptor).
    fn entries(&self) -> Vec<*const c_void> {
        if self.dacl.is_null() {
            return Vec::new();
        }
        // SAFETY: a valid ACL from GetNamedSecurityInfoW.
        let count = unsafe { (*self.dacl).AceCount } as u32;
        (0..count)
            .filter_map(|i| {
                let mut ace: *mut c_void = std::ptr::null_mut();
                // SAFETY: i < AceCount.
                (unsafe { GetAce(self.dacl, i, &mut ace) } != 0).then_some(ace as *const c_void)
            })
            .collect()
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        if !self.descriptor.is_null() {
            // SAFETY: allocated by GetNamedSecurityInfoW with LocalAlloc.
            unsafe { LocalFree(self.descriptor) };
        }
    }
}

fn sid_string(sid: PSID) -> String {
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: a valid SID; the returned string is freed with LocalFree.
    unsafe {
        if ConvertSidToStringSidW(sid, &mut text) == 0 || text.is_null() {
            return "?".into();
        }
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
        LocalFree(text.cast());
        s
    }
}

/// `DOMAIN\name` of a SID, else its `S-1-…` form.
fn account_name(sid: PSID) -> String {
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let (mut name_len, mut domain_len) = (name.len() as u32, domain.len() as u32);
    let mut kind = 0;
    // SAFETY: buffers and their lengths as the API documents.
    let ok = unsafe {
        LookupAccountSidW(
            std::ptr::null(),
            sid,
            name.as_mut_ptr(),
            &mut name_len,
            domain.as_mut_ptr(),
            &mut domain_len,
            &mut kind,
        )
    };
    if ok == 0 {
        return sid_string(sid);
    }
    let name = String::from_utf16_lossy(&name[..name_len as usize]);
    let domain = String::from_utf16_lossy(&domain[..domain_len as usize]);
    if domain.is_empty() {
        name
    } else {
        format!("{domain}\\{name}")
    }
}
