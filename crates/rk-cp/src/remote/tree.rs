//! What a remote source stands for: one file, the files a pattern matches (`'job:out/*.h5'`,
//! matched here over the folder's listing), or, with `-r`, a folder and everything in it.

use glob::{MatchOptions, Pattern};
use russh_sftp::protocol::FileAttributes;

use super::sftp::{Sftp, explain};

/// A file or folder found on the cluster, with its path relative to where the walk started.
#[derive(Debug)]
pub(crate) struct RemoteEntry {
    pub(crate) path: String,
    /// Below the source: `` for the source itself, `a/b.txt` inside a folder.
    pub(crate) relative: String,
    pub(crate) attrs: FileAttributes,
}

/// The paths a source names: itself, or with a pattern in its last part, the entries of its
/// folder that match (sorted; none is an error, as in a shell with `failglob`).
pub(crate) async fn matching(sftp: &Sftp, source: &str) -> Result<Vec<String>, String> {
    let (dir, last) = match source.rsplit_once('/') {
        Some((d, l)) => (if d.is_empty() { "/" } else { d }, l),
        None => (".", source),
    };
    if !last.contains(['*', '?', '[']) {
        return Ok(vec![source.to_string()]);
    }
    let pattern = Pattern::new(last).map_err(|e| format!("{source}: not a pattern: {e}"))?;
    let options = MatchOptions {
        require_literal_leading_dot: true,
        ..MatchOptions::new()
    };
    let mut names: Vec<String> = sftp
        .list(dir)
        .await
        .map_err(|e| explain(&e, dir))?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| pattern.matches_with(name, options))
        .collect();
    if names.is_empty() {
        return Err(format!("{source}: matches nothing on the cluster"));
    }
    names.sort();
    let join = |name: &String| match source.rsplit_once('/') {
        Some(_) if dir == "/" => format!("/{name}"),
        Some(_) => format!("{dir}/{name}"),
        None => name.clone(),
    };
    Ok(names.iter().map(join).collect())
}

/// A folder and everything below it, folders before what they hold. Symbolic links inside
/// are skipped with a note, as scp -r does not follow them either.
pub(crate) async fn list_tree(
    sftp: &Sftp,
    root: &str,
    root_attrs: FileAttributes,
    skipped: &mut Vec<String>,
) -> Result<Vec<RemoteEntry>, String> {
    let mut out = vec![RemoteEntry {
        path: root.to_string(),
        relative: String::new(),
        attrs: root_attrs,
    }];
    let mut next = 0;
    while next < out.len() {
        if out[next].attrs.is_dir() {
            let dir = out[next].path.clone();
            let rel = out[next].relative.clone();
            let mut entries = sftp.list(&dir).await.map_err(|e| explain(&e, &dir))?;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, attrs) in entries {
                let path = format!("{}/{name}", dir.trim_end_matches('/'));
                if attrs.is_symlink() {
                    skipped.push(path);
                    continue;
                }
                let relative = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                out.push(RemoteEntry {
                    path,
                    relative,
                    attrs,
                });
            }
        }
        next += 1;
    }
    Ok(out)
}
