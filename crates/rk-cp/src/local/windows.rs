//! Permission bits on Windows: files have only a read-only flag, shown as the owner's write bit
//! (0o444 or 0o644; folders 0o755), as Win32-OpenSSH's sftp does.

use std::fs::Metadata;
use std::path::Path;

pub(crate) fn mode_of(meta: &Metadata) -> u32 {
    match (meta.is_dir(), meta.permissions().readonly()) {
        (true, _) => 0o755,
        (false, true) => 0o444,
        (false, false) => 0o644,
    }
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_readonly(mode & 0o200 == 0);
    std::fs::set_permissions(path, permissions)
}
