//! `-f` on Windows: the pipe's handle is inherited by the copy (its number in the copy's
//! environment); leaving the terminal is FreeConsole, with the standard handles that were the
//! console (and input always) on NUL. Closing the console window then no longer ends the copy.

use std::fs::File;
use std::io::{self, PipeWriter};
use std::os::windows::io::{AsRawHandle, FromRawHandle, IntoRawHandle, RawHandle};
use std::process::{Command, ExitStatus};

use windows_sys::Win32::Foundation::{HANDLE, HANDLE_FLAG_INHERIT, SetHandleInformation};
use windows_sys::Win32::System::Console::{
    FreeConsole, GetConsoleMode, GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE, STD_INPUT_HANDLE,
    STD_OUTPUT_HANDLE, SetStdHandle,
};

fn inheritable(handle: RawHandle, yes: bool) -> io::Result<()> {
    let flags = if yes { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: a valid handle owned by this process; only its inherit flag changes.
    if unsafe { SetHandleInformation(handle as HANDLE, HANDLE_FLAG_INHERIT, flags) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Lets the copy inherit `pipe`; returns what the copy's environment names it by.
pub(super) fn hand_down(_: &mut Command, pipe: &PipeWriter) -> io::Result<String> {
    let handle = pipe.as_raw_handle();
    inheritable(handle, true)?;
    Ok((handle as usize).to_string())
}

pub(super) fn inherited(env: &str) -> Option<File> {
    let number: usize = std::env::var(env).ok()?.parse().ok()?;
    let handle = number as RawHandle;
    // Not for the programs this copy starts (an askpass program would hold the pipe open).
    inheritable(handle, false).ok()?;
    // SAFETY: the handle was inherited from the first process for this copy alone, and is
    // owned here from now on.
    Some(unsafe { File::from_raw_handle(handle) })
}

fn is_console(which: STD_HANDLE) -> bool {
    let mut mode = 0;
    // SAFETY: GetStdHandle takes no pointers; GetConsoleMode writes one u32.
    unsafe { GetConsoleMode(GetStdHandle(which), &mut mode) != 0 }
}

pub(super) fn leave_terminal() -> io::Result<()> {
    // Input always (ssh -f implies -n); output only where it was the console, which may close.
    let to_null: Vec<STD_HANDLE> = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE]
        .into_iter()
        .filter(|&h| h == STD_INPUT_HANDLE || is_console(h))
        .collect();
    // SAFETY: FreeConsole takes no arguments; the process simply has no console afterwards.
    if unsafe { FreeConsole() } == 0 {
        return Err(io::Error::last_os_error());
    }
    for which in to_null {
        let null = File::options().read(true).write(true).open("NUL")?;
        // SAFETY: the handle stays open for the life of the process (never closed here).
        if unsafe { SetStdHandle(which, null.into_raw_handle() as HANDLE) } == 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

pub(super) fn stop_command(pid: u32) -> String {
    format!("Stop-Process -Id {pid}  (cmd: taskkill /PID {pid})")
}

pub(super) fn exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or(rk_ssh::EXIT_CONNECTION)
}
