//! What a copy will do, decided before any byte moves: the files (each with its source, its
//! target and the source's size, times and mode) and the folders to create. Sources that cannot
//! be copied as asked (missing, a folder without `-r`) are named with why, and the rest goes on.

use std::path::{Path, PathBuf};

use russh_sftp::protocol::FileAttributes;

use crate::error::Error;
use crate::local::{self, mode_of};
use crate::remote::{self, Sftp, explain, list_tree, matching};

/// One file to copy.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    /// The path on the cluster (source of a download, target of an upload).
    pub(crate) remote: String,
    /// The path here.
    pub(crate) local: PathBuf,
    pub(crate) size: u64,
    /// The source's times and mode, for `-p` (seconds since 1970; permission bits).
    pub(crate) mtime: Option<u32>,
    pub(crate) atime: Option<u32>,
    pub(crate) mode: Option<u32>,
}

/// A folder to create on the target side, with the source's times and mode for `-p`.
#[derive(Clone, Debug)]
pub(crate) struct Folder {
    pub(crate) remote: String,
    pub(crate) local: PathBuf,
    pub(crate) mtime: Option<u32>,
    pub(crate) mode: Option<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) folders: Vec<Folder>,
    pub(crate) files: Vec<Job>,
    /// Sources that cannot be copied, with why (each counts as a failed file).
    pub(crate) refused: Vec<String>,
    /// Symbolic links inside `-r` trees, left out.
    pub(crate) skipped: Vec<String>,
}

fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// `base` + `a/b` (a relative path with `/` between parts) on this machine.
fn local_join(base: &Path, relative: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        out.push(part);
    }
    out
}

fn remote_join(base: &str, relative: &str) -> String {
    match relative {
        "" => base.to_string(),
        r if base.ends_with('/') => format!("{base}{r}"),
        r => format!("{base}/{r}"),
    }
}

fn seconds(t: std::io::Result<std::time::SystemTime>) -> Option<u32> {
    let since = t.ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    u32::try_from(since.as_secs()).ok()
}

/// Many sources need a folder to go to.
fn check_target(sources: usize, target_is_dir: bool, target: &str) -> Result<(), Error> {
    if sources > 1 && !target_is_dir {
        return Err(Error::Usage(format!(
            "{target} is not a folder: copying several sources needs an existing folder as the target"
        )));
    }
    Ok(())
}

/// Downloads: `sources` on the cluster (patterns expanded) into `target` here.
pub(crate) async fn download(
    sftp: &Sftp,
    sources: &[String],
    target: &Path,
    recursive: bool,
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut paths = Vec::new();
    for source in sources {
        match matching(sftp, source).await {
            Ok(found) => paths.extend(found),
            Err(why) => plan.refused.push(why),
        }
    }
    let target_is_dir = target.is_dir();
    let names_a_folder = target
        .to_string_lossy()
        .chars()
        .last()
        .is_some_and(std::path::is_separator);
    if names_a_folder && !target_is_dir {
        return Err(Error::Usage(format!(
            "{}: no such folder here (create it first, or leave out the trailing separator)",
            target.display()
        )));
    }
    check_target(
        paths.len() + plan.refused.len(),
        target_is_dir,
        &target.display().to_string(),
    )?;
    for path in paths {
        let attrs = match sftp.stat(&path).await {
            Ok(a) => a,
            Err(e) => {
                plan.refused.push(explain(&e, &path));
                continue;
            }
        };
        let name = match base_name(&path) {
            "." | "" | ".." => real_name(sftp, &path).await,
            n => n.to_string(),
        };
        let dest = if target_is_dir {
            target.join(&name)
        } else {
            target.to_path_buf()
        };
        if attrs.is_dir() {
            if !recursive {
                plan.refused.push(format!(
                    "{path}: is a folder (add -r to copy it and what it holds)"
                ));
                continue;
            }
            match list_tree(sftp, &path, attrs, &mut plan.skipped).await {
                Ok(entries) => add_remote_entries(&mut plan, entries, &dest),
                Err(why) => plan.refused.push(why),
            }
        } else if attrs.is_regular() {
            plan.files.push(remote_job(path, dest, &attrs));
        } else {
            plan.refused
                .push(format!("{path}: not a regular file or a folder"));
        }
    }
    Ok(plan)
}

/// The last part of what a path like `.` resolves to on the server.
async fn real_name(sftp: &Sftp, path: &str) -> String {
    match sftp.raw.realpath(path).await {
        Ok(name) => name
            .files
            .first()
            .map(|f| base_name(&f.filename).to_string())
            .unwrap_or_else(|| "home".into()),
        Err(_) => "home".into(),
    }
}

fn remote_job(remote: String, local: PathBuf, attrs: &FileAttributes) -> Job {
    Job {
        remote,
        local,
        size: attrs.size.unwrap_or(0),
        mtime: attrs.mtime,
        atime: attrs.atime,
        mode: attrs.permissions.map(|p| p & 0o7777),
    }
}

fn add_remote_entries(plan: &mut Plan, entries: Vec<remote::RemoteEntry>, dest: &Path) {
    for entry in entries {
        let local = local_join(dest, &entry.relative);
        if entry.attrs.is_dir() {
            plan.folders.push(Folder {
                remote: entry.path,
                local,
                mtime: entry.attrs.mtime,
                mode: entry.attrs.permissions.map(|p| p & 0o7777),
            });
        } else if entry.attrs.is_regular() {
            plan.files.push(remote_job(entry.path, local, &entry.attrs));
        } else {
            plan.skipped.push(entry.path);
        }
    }
}

/// Uploads: `sources` here into `target` on the cluster.
pub(crate) async fn upload(
    sftp: &Sftp,
    sources: &[PathBuf],
    target: &str,
    recursive: bool,
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let target_is_dir = match sftp.stat(target).await {
        Ok(a) => a.is_dir(),
        Err(e) if remote::is_status(&e, russh_sftp::protocol::StatusCode::NoSuchFile) => false,
        Err(e) => return Err(Error::Usage(explain(&e, target))),
    };
    if target.ends_with('/') && !target_is_dir {
        return Err(Error::Usage(format!(
            "{target}: no such folder on the cluster (create it first, or leave out the trailing /)"
        )));
    }
    check_target(sources.len(), target_is_dir, target)?;
    for source in sources {
        // A file named on the command line is followed if it is a link, as scp does.
        let meta = match std::fs::metadata(source) {
            Ok(m) => m,
            Err(e) => {
                plan.refused.push(format!("{}: {e}", source.display()));
                continue;
            }
        };
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "home".into());
        let dest = if target_is_dir {
            remote_join(target, &name)
        } else {
            target.to_string()
        };
        if meta.is_dir() {
            if !recursive {
                plan.refused.push(format!(
                    "{}: is a folder (add -r to copy it and what it holds)",
                    source.display()
                ));
                continue;
            }
            match local::walk(source, meta, &mut plan.skipped) {
                Ok(entries) => add_local_entries(&mut plan, entries, &dest),
                Err(why) => plan.refused.push(why),
            }
        } else if meta.is_file() {
            plan.files.push(local_job(source.clone(), dest, &meta));
        } else {
            plan.refused.push(format!(
                "{}: not a regular file or a folder",
                source.display()
            ));
        }
    }
    Ok(plan)
}

fn local_job(local: PathBuf, remote: String, meta: &std::fs::Metadata) -> Job {
    Job {
        remote,
        local,
        size: meta.len(),
        mtime: seconds(meta.modified()),
        atime: seconds(meta.accessed()),
        mode: Some(mode_of(meta)),
    }
}

fn add_local_entries(plan: &mut Plan, entries: Vec<local::LocalEntry>, dest: &str) {
    for entry in entries {
        let remote = remote_join(dest, &entry.relative);
        if entry.meta.is_dir() {
            plan.folders.push(Folder {
                remote,
                local: entry.path,
                mtime: seconds(entry.meta.modified()),
                mode: Some(mode_of(&entry.meta)),
            });
        } else if entry.meta.is_file() {
            plan.files.push(local_job(entry.path, remote, &entry.meta));
        } else {
            plan.skipped.push(entry.path.display().to_string());
        }
    }
}
