use std::path::{Path, PathBuf};

use super::{non_empty_string, non_empty_var};

pub const HOME_IN_MESSAGES: &str = "~";
pub const HOME_VARIABLE: &str = "HOME";
pub const PUTTY_IS_USUAL: bool = false;

pub fn home_dir() -> Option<PathBuf> {
    non_empty_var("HOME")
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
}

/// `$XDG_STATE_HOME` when it is an absolute path (the XDG spec says to ignore a relative one),
/// else `~/.local/state`.
pub fn state_dir() -> Option<PathBuf> {
    match non_empty_var("XDG_STATE_HOME") {
        Some(d) if Path::new(&d).is_absolute() => Some(PathBuf::from(d)),
        _ => home_dir().map(|h| h.join(".local/state")),
    }
}

pub fn user_name() -> Option<String> {
    non_empty_string("USER").or_else(|| non_empty_string("LOGNAME"))
}

pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}
