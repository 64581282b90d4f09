//! This machine's side: the files a local source stands for (a folder walked with `-r`), the
//! temporary name a file is written under until it is whole, and permission bits, which are
//! the platform seam (`unix.rs`: the mode; `windows.rs`: only the read-only flag exists).

use std::fs::Metadata;
use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub(crate) use platform::{mode_of, set_mode};

/// Where a file is written until it is whole: `.NAME.rk-part` beside `target`. The same name
/// every time, so that running the same command again finds it and continues.
pub(crate) fn partial_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.rk-part"))
}

/// A file or folder found here, with its path relative to where the walk started.
#[derive(Debug)]
pub(crate) struct LocalEntry {
    pub(crate) path: PathBuf,
    /// Below the source, with `/` between parts: `` for the source itself.
    pub(crate) relative: String,
    pub(crate) meta: Metadata,
}

/// A folder and everything below it, folders before what they hold; symbolic links inside
/// are skipped (named in `skipped`), as scp -r does.
pub(crate) fn walk(
    root: &Path,
    root_meta: Metadata,
    skipped: &mut Vec<String>,
) -> Result<Vec<LocalEntry>, String> {
    let mut out = vec![LocalEntry {
        path: root.to_path_buf(),
        relative: String::new(),
        meta: root_meta,
    }];
    let mut next = 0;
    while next < out.len() {
        if out[next].meta.is_dir() {
            let dir = out[next].path.clone();
            let rel = out[next].relative.clone();
            let read = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut entries: Vec<_> = read.filter_map(Result::ok).collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let path = entry.path();
                let meta = std::fs::symlink_metadata(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                if meta.file_type().is_symlink() {
                    skipped.push(path.display().to_string());
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let relative = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                out.push(LocalEntry {
                    path,
                    relative,
                    meta,
                });
            }
        }
        next += 1;
    }
    Ok(out)
}
