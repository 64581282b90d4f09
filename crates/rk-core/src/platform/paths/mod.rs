//! Well-known places and names: `~` and `~/.ssh` (`%USERPROFILE%\.ssh` on Windows, where
//! Windows' own OpenSSH looks), the state directory where `rk-parse-log --save` remembers a job
//! (`$XDG_STATE_HOME` or `~/.local/state` on Unix, `%LOCALAPPDATA%` on Windows), and the user and
//! machine names that make a key's default comment.

use std::path::PathBuf;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// The user's home directory (`$HOME` on Unix, `%USERPROFILE%` on Windows), else what the
/// system's user database says.
pub fn home_dir() -> Option<PathBuf> {
    sys::home_dir()
}

/// The per-user directory for state rk keeps between runs (without the `rk` part).
pub fn state_dir() -> Option<PathBuf> {
    sys::state_dir()
}

/// The login name of the user running rk (`$USER`/`$LOGNAME`, `%USERNAME%`).
pub fn user_name() -> Option<String> {
    sys::user_name()
}

/// This machine's name (the kernel's hostname, `%COMPUTERNAME%`).
pub fn host_name() -> Option<String> {
    sys::host_name()
}

/// How to write the variable that names the home directory in messages (`~` on Unix, where
/// every shell expands it; `%USERPROFILE%` on Windows, which cmd and Explorer understand).
pub const HOME_IN_MESSAGES: &str = sys::HOME_IN_MESSAGES;

/// The environment variable that names the home directory (`HOME`, `USERPROFILE`).
pub const HOME_VARIABLE: &str = sys::HOME_VARIABLE;

/// Whether PuTTY is the usual SSH client here (Windows), so new keys get a `.ppk` as well.
pub const PUTTY_IS_USUAL: bool = sys::PUTTY_IS_USUAL;

/// The name of a variable that is set and not empty.
fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn non_empty_string(name: &str) -> Option<String> {
    non_empty_var(name).and_then(|v| v.into_string().ok())
}
