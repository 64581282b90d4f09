use std::path::{Path, PathBuf};

use super::{non_empty_string, non_empty_var};

pub const HOME_IN_MESSAGES: &str = "%USERPROFILE%";
pub const HOME_VARIABLE: &str = "USERPROFILE";
pub const PUTTY_IS_USUAL: bool = true;

/// `%USERPROFILE%` (what Windows' OpenSSH uses; `HOME`, set by Git Bash or MSYS, is not the
/// Windows home), else the profile directory the system reports.
pub fn home_dir() -> Option<PathBuf> {
    non_empty_var("USERPROFILE")
        .map(PathBuf::from)
        .or_else(std::env::home_dir)
}

/// `%LOCALAPPDATA%` (per user, per machine: a saved job is not roaming data).
pub fn state_dir() -> Option<PathBuf> {
    match non_empty_var("LOCALAPPDATA") {
        Some(d) if Path::new(&d).is_absolute() => Some(PathBuf::from(d)),
        _ => home_dir().map(|h| h.join("AppData").join("Local")),
    }
}

pub fn user_name() -> Option<String> {
    non_empty_string("USERNAME")
}

pub fn host_name() -> Option<String> {
    non_empty_string("COMPUTERNAME")
}
