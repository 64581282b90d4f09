//! Where config files come from: the real filesystem, or (in tests and the fuzzer) memory.

use std::path::{Path, PathBuf};

/// Reads config files for [`evaluate`](super::evaluate).
pub trait ConfigFiles {
    /// The file's contents, or `None` when it cannot be read (ssh skips such an include).
    fn read(&self, path: &Path) -> Option<Vec<u8>>;
    /// The paths a glob(3) pattern names, sorted.
    fn glob(&self, pattern: &str) -> Vec<PathBuf>;
}

/// The real filesystem. Globs follow glob(3), which `Include` uses in OpenSSH: `*` never
/// crosses a `/` or matches a leading dot, and `**` is just `*` (the glob crate alone would walk
/// every directory below, all of `/` for `Include /**/x`).
pub struct RealFiles;

impl ConfigFiles for RealFiles {
    fn read(&self, path: &Path) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }

    fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        let mut single_stars = String::with_capacity(pattern.len());
        for c in pattern.chars() {
            if !(c == '*' && single_stars.ends_with('*')) {
                single_stars.push(c);
            }
        }
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        match glob::glob_with(&single_stars, options) {
            Ok(paths) => {
                let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                found.sort();
                found
            }
            Err(_) => Vec::new(),
        }
    }
}
