//! Files only their owner can read. On Unix that is a mode (0600 for a key, 0700 for `~/.ssh`);
//! on Windows it is a protected DACL — no inherited entries — granting the user alone, which is
//! what Windows' OpenSSH demands of a private key (the same as
//! `icacls KEY /inheritance:r /grant:r "%USERNAME%":F`).
//!
//! Protection is applied to the open handle before the first byte is written, so a key is never
//! readable by anyone else, not even for a moment.

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// Who may read a file rk writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// The owner alone (private keys, the saved job): 0600, or a DACL granting only the user.
    Private,
    /// Anyone may read, the owner writes (public keys): 0644, or the directory's inherited ACL.
    Public,
}

/// Creates a file that did not exist (never following a symlink and never opening an existing
/// file), protected as asked before anything is written to it.
pub fn create_new(path: &Path, protection: Protection) -> io::Result<File> {
    sys::create_new(path, protection)
}

/// Opens a file for appending (and reading), creating it with `protection` if it is missing;
/// an existing file keeps the protection it has.
pub fn open_append(path: &Path, protection: Protection) -> io::Result<File> {
    sys::open_append(path, protection)
}

/// Creates one directory (not its parents) that only the owner can enter, as `~/.ssh` is.
/// Fails with `AlreadyExists` if it exists, which is left as it is.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    sys::create_private_dir(path)
}

/// Someone besides the owner can read a file, and the command that fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// What is wrong, naming the file as given (e.g. "Permissions 0644 for 'KEY' are too open").
    pub problem: String,
    /// The command that makes the file the owner's alone (`chmod 600 …`, `icacls … /grant:r …`).
    pub fix: String,
}

/// Whether others could read this file: `None` when only its owner can. Unix: group/other
/// mode bits; Windows: an entry of the DACL that lets anyone but the owner, SYSTEM and
/// Administrators read it (what Windows' OpenSSH checks). `shown` is how messages name it.
pub fn readable_by_others(path: &Path, shown: &str) -> io::Result<Option<Exposure>> {
    sys::readable_by_others(path, shown)
}

/// The file's protection in words, for diagnostics and tests: `mode 0600`, or the Windows
/// owner, DACL state and entries.
pub fn describe_protection(path: &Path) -> io::Result<String> {
    sys::describe_protection(path)
}
