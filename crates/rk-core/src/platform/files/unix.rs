use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{Exposure, Protection};

fn mode(protection: Protection) -> u32 {
    match protection {
        Protection::Private => 0o600,
        Protection::Public => 0o644,
    }
}

pub fn create_new(path: &Path, protection: Protection) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode(protection))
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    // The umask can only remove bits; set the mode exactly (0644 for .pub, 0600 for keys).
    file.set_permissions(fs::Permissions::from_mode(mode(protection)))?;
    Ok(file)
}

pub fn open_append(path: &Path, protection: Protection) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(mode(protection))
        .open(path)
}

pub fn create_private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(path)?;
    // The umask may have taken bits away; make sure it is exactly 0700.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

pub fn readable_by_others(path: &Path, shown: &str) -> io::Result<Option<Exposure>> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    Ok((mode & 0o077 != 0).then(|| Exposure {
        problem: format!("Permissions {mode:04o} for '{shown}' are too open"),
        fix: format!("chmod 600 {shown}"),
    }))
}

pub fn describe_protection(path: &Path) -> io::Result<String> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    Ok(format!("mode {mode:04o}"))
}
