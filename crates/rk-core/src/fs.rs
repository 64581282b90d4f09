//! Files: where keys live (`~/.ssh`), and writing them so that a crash, a full disk or a
//! planted symlink never leaves half a key or changes an existing one.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use crate::platform::files::Protection;
pub use crate::platform::paths::home_dir;

/// `~/.ssh` (which may not exist yet): `%USERPROFILE%\.ssh` on Windows.
pub fn ssh_dir() -> Result<PathBuf> {
    home_dir().map(|h| h.join(".ssh")).ok_or_else(|| {
        Error::Usage(format!(
            "cannot find your home directory: set {}, or give the file with -f.",
            crate::platform::paths::HOME_VARIABLE
        ))
    })
}

/// Expands a leading `~` or `~/` (`~\` where that is a separator) to the home directory, as a
/// shell would.
pub fn expand_tilde(input: &str) -> PathBuf {
    match home_dir() {
        Some(home) => expand_tilde_with(input, &home),
        None => PathBuf::from(input),
    }
}

/// [`expand_tilde`] against a given home. The rest is joined a component at a time, so
/// `~/.ssh/x` is `C:\Users\me\.ssh\x` on Windows; `~user` is left as it is.
pub fn expand_tilde_with(input: &str, home: &Path) -> PathBuf {
    let Some(rest) = input.strip_prefix('~') else {
        return PathBuf::from(input);
    };
    if !(rest.is_empty() || rest.starts_with(std::path::is_separator)) {
        return PathBuf::from(input);
    }
    let mut full = home.to_path_buf();
    for part in rest
        .split(std::path::is_separator)
        .filter(|p| !p.is_empty())
    {
        full.push(part);
    }
    full
}

/// Shows a path with the home directory written as `~` (`%USERPROFILE%` on Windows), for
/// messages.
pub fn display_path(path: &Path) -> String {
    if let Some(home) = home_dir()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        let home = crate::platform::paths::HOME_IN_MESSAGES;
        return format!("{home}{}{}", std::path::MAIN_SEPARATOR, rest.display());
    }
    path.display().to_string()
}

/// `path` with `suffix` appended to its file name (`id_rsa` + `.pub` → `id_rsa.pub`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Creates `dir` for the owner alone (0700, or a DACL granting only the user) if it is missing
/// (only the last component, like ssh-keygen does for `~/.ssh`). An existing directory is left
/// as it is.
pub fn ensure_private_dir(dir: &Path) -> Result<bool> {
    match crate::platform::files::create_private_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io("cannot create directory", dir, e)),
    }
}

/// Reads a file of at most `limit` bytes; larger files are refused rather than slurped.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if buf.len() as u64 > limit {
        return Err(Error::NotAKey {
            path: path.to_path_buf(),
            detail: format!("larger than {} KiB, too large for a key file", limit / 1024),
        });
    }
    Ok(buf)
}

/// A file written to a temporary name beside its target, flushed to disk, and waiting to be
/// moved into place by [`commit`](StagedFile::commit). Dropping it uncommitted removes the
/// temporary file, so an error at any step leaves nothing behind.
#[derive(Debug)]
pub struct StagedFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// Writes `contents` to a fresh temporary file (created exclusively, never following a
    /// symlink, protected from the first byte) in the target's directory, and fsyncs it.
    pub fn write(target: &Path, contents: &[u8], protection: Protection) -> Result<Self> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{}: not a file name", target.display())))?;
        let mut attempt = 0u32;
        let (file, temp) = loop {
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(
                ".rk-tmp-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            let temp = dir.join(temp_name);
            // Registered before it exists, so that no moment is left in which an interrupt
            // could leave it behind (the name holds our PID: it is no one else's file).
            crate::interrupt::track(&temp);
            match crate::platform::files::create_new(&temp, protection) {
                Ok(f) => break (f, temp),
                Err(e) => {
                    crate::interrupt::untrack(&temp);
                    if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 {
                        attempt += 1;
                    } else {
                        return Err(Error::io("cannot write a file in", dir, e));
                    }
                }
            }
        };
        let staged = StagedFile {
            temp,
            target: target.to_path_buf(),
            committed: false,
        };
        let mut file = file;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("cannot write", &staged.target, e))?;
        Ok(staged)
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the file into place. With `replace == false` an existing target is never
    /// touched, even if one appeared since it was checked (link-then-unlink is atomic).
    pub fn commit(mut self, replace: bool) -> Result<()> {
        if replace {
            fs::rename(&self.temp, &self.target)
                .map_err(|e| Error::io("cannot write", &self.target, e))?;
        } else {
            match fs::hard_link(&self.temp, &self.target) {
                Ok(()) => {
                    let _ = fs::remove_file(&self.temp);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(Error::Exists {
                        path: self.target.clone(),
                    });
                }
                // File systems without hard links: fall back to rename after a last check.
                Err(_) if !self.target.exists() => fs::rename(&self.temp, &self.target)
                    .map_err(|e| Error::io("cannot write", &self.target, e))?,
                Err(e) => return Err(Error::io("cannot write", &self.target, e)),
            }
        }
        self.committed = true;
        crate::interrupt::untrack(&self.temp);
        // Make the rename itself durable.
        if let Ok(d) = File::open(parent_dir(&self.target)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
            crate::interrupt::untrack(&self.temp);
        }
    }
}

/// Writes several files all-or-nothing as far as the file system allows: every file is staged
/// and synced first, and only then are they moved into place.
pub fn write_files_atomically(files: &[(&Path, &[u8], Protection)], replace: bool) -> Result<()> {
    let staged = files
        .iter()
        .map(|(path, contents, protection)| StagedFile::write(path, contents, *protection))
        .collect::<Result<Vec<_>>>()?;
    for s in staged {
        s.commit(replace)?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn tilde_against_a_home() {
        let home = Path::new("/home/me");
        assert_eq!(expand_tilde_with("~/.ssh/x", home), home.join(".ssh/x"));
        assert_eq!(expand_tilde_with("~", home), home);
        assert_eq!(expand_tilde_with("~bob/x", home), PathBuf::from("~bob/x"));
        assert_eq!(expand_tilde_with("/etc/x", home), PathBuf::from("/etc/x"));
    }
    use super::*;

    #[test]
    fn staged_file_has_exact_mode_and_content() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("key");
        StagedFile::write(&target, b"secret", Protection::Private)
            .unwrap()
            .commit(false)
            .unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"secret");
        let protection = crate::platform::files::describe_protection(&target).unwrap();
        if cfg!(unix) {
            assert_eq!(protection, "mode 0600");
        }
        // No temp file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn commit_without_replace_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("key");
        fs::write(&target, b"old").unwrap();
        let err = StagedFile::write(&target, b"new", Protection::Private)
            .unwrap()
            .commit(false)
            .unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropped_stage_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("key");
        drop(StagedFile::write(&target, b"x", Protection::Private).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_at_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let target = dir.path().join("key");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        StagedFile::write(&target, b"new", Protection::Private)
            .unwrap()
            .commit(true)
            .unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(
            !fs::symlink_metadata(&target)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn tilde_expansion() {
        let home = home_dir().unwrap();
        assert_eq!(expand_tilde("~/.ssh/id_rsa"), home.join(".ssh/id_rsa"));
        assert_eq!(expand_tilde("/abs"), PathBuf::from("/abs"));
        assert_eq!(expand_tilde("rel~"), PathBuf::from("rel~"));
    }
}
