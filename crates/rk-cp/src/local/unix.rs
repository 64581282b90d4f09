//! Permission bits on Unix: the file's mode.

use std::fs::Metadata;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub(crate) fn mode_of(meta: &Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7777))
}
