//! `~/.ssh/known_hosts`, read and written the way OpenSSH does.
//!
//! Lines are parsed by `ssh-key` (markers, hashed `|1|salt|hash` names, pattern lists); matching
//! follows OpenSSH: the name is `host` for port 22 and `[host]:port` otherwise, patterns may use
//! `*`/`?` and `!` negation, hashed names are HMAC-SHA1 of the name under the salt. New entries
//! are appended under an exclusive lock with a single write, so concurrent rk processes never
//! interleave half lines.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use ssh_key::PublicKey;
use ssh_key::known_hosts::{Entry, HostPatterns, Marker};

use crate::error::{Error, Result};

/// What known_hosts says about a server's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// An entry for this host has exactly this key.
    Known,
    /// No entry for this host with this key type (nor a mismatching one).
    Unknown,
    /// The host is known with a different key of the same type: possible attack.
    Changed {
        path: PathBuf,
        line: usize,
        known: Box<PublicKey>,
    },
    /// The key is marked `@revoked`.
    Revoked { path: PathBuf, line: usize },
}

/// The name OpenSSH looks up: `host`, or `[host]:port` when the port is not 22.
pub fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `~/.ssh/known_hosts`.
pub fn default_path() -> Result<PathBuf> {
    Ok(crate::fs::ssh_dir()?.join("known_hosts"))
}

/// Looks `key` up for `host:port` in the known_hosts file at `path` (missing file = unknown).
pub fn check(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<HostKeyStatus> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HostKeyStatus::Unknown),
        Err(e) => return Err(Error::io("cannot read", path, e)),
    };
    Ok(check_text(&text, path, host, port, key))
}

/// [`check`] on the text of a known_hosts file (`path` only names it in the result).
pub fn check_text(
    text: &str,
    path: &Path,
    host: &str,
    port: u16,
    key: &PublicKey,
) -> HostKeyStatus {
    let name = host_name(host, port);
    let mut changed = None;
    let mut known = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Lines ssh-key cannot parse (unknown key types, certificates) are skipped, as OpenSSH
        // skips what it does not understand.
        let Ok(entry) = line.parse::<Entry>() else {
            continue;
        };
        if !matches(entry.host_patterns(), &name) {
            continue;
        }
        let same_key = entry.public_key().key_data() == key.key_data();
        match entry.marker() {
            Some(Marker::Revoked) if same_key => {
                return HostKeyStatus::Revoked {
                    path: path.to_path_buf(),
                    line: index + 1,
                };
            }
            Some(_) => continue,
            None if same_key => known = true,
            None if entry.public_key().algorithm() == key.algorithm() && changed.is_none() => {
                changed = Some(HostKeyStatus::Changed {
                    path: path.to_path_buf(),
                    line: index + 1,
                    known: Box::new(entry.public_key().clone()),
                });
            }
            None => {}
        }
    }
    // Like OpenSSH, a matching key anywhere wins over a mismatching one of the same type.
    if known {
        HostKeyStatus::Known
    } else {
        changed.unwrap_or(HostKeyStatus::Unknown)
    }
}

fn matches(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(salt) else {
                return false;
            };
            mac.update(name.as_bytes());
            mac.verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(list) => {
            let mut hit = false;
            for p in list {
                if let Some(negated) = p.strip_prefix('!') {
                    if glob(negated, name) {
                        return false;
                    }
                } else if glob(p, name) {
                    hit = true;
                }
            }
            hit
        }
    }
}

/// OpenSSH's `match_pattern`: `*` any run, `?` any one character, case-insensitive.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        name.to_ascii_lowercase().chars().collect(),
    );
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Appends `host:port key` to the file (created 0600, its directory 0700 if missing), under an
/// exclusive lock and in one write, in the plain form every OpenSSH reads.
pub fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
        crate::fs::ensure_private_dir(dir)?;
    }
    let key_text = key.to_openssh()?;
    // Type and base64 only: the key's comment is the server's business.
    let key_text = key_text.split(' ').take(2).collect::<Vec<_>>().join(" ");
    let mut file = crate::platform::files::open_append(path, crate::fs::Protection::Private)
        .map_err(|e| Error::io("cannot open", path, e))?;
    file.lock().map_err(|e| Error::io("cannot lock", path, e))?;
    // Start on a fresh line if the last one was left without a newline.
    let needs_newline = {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1)).is_ok()
            && file.read_exact(&mut last).is_ok()
            && last[0] != b'\n'
    };
    let line = format!(
        "{}{} {}\n",
        if needs_newline { "\n" } else { "" },
        host_name(host, port),
        key_text
    );
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("cannot write", path, e))?;
    let _ = file.unlock();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> PublicKey {
        let p = format!(
            "{}/../../../shared/fixtures/keys/openssh/{name}.pub",
            env!("CARGO_MANIFEST_DIR")
        );
        PublicKey::from_openssh(std::fs::read_to_string(p).unwrap().trim()).unwrap()
    }

    #[test]
    fn plain_port_hashed_and_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let (ed, ec) = (key("ed25519"), key("ecdsa256"));
        assert_eq!(
            check(&path, "1.2.3.4", 32100, &ed).unwrap(),
            HostKeyStatus::Unknown
        );
        append(&path, "1.2.3.4", 32100, &ed).unwrap();
        assert_eq!(
            check(&path, "1.2.3.4", 32100, &ed).unwrap(),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&path, "1.2.3.4", 22, &ed).unwrap(),
            HostKeyStatus::Unknown
        );
        // Another key type for the same host is simply unknown (OpenSSH learns it separately).
        assert_eq!(
            check(&path, "1.2.3.4", 32100, &ec).unwrap(),
            HostKeyStatus::Unknown
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("[1.2.3.4]:32100 ssh-ed25519 AAAA"),
            "{text}"
        );

        // A different Ed25519 key for the same name: changed, with the line number.
        let other = PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAH0Gum5UT+0DwnNedugL/nCqvJTD0DwwP/7DE+NFH5",
        )
        .unwrap();
        match check(&path, "1.2.3.4", 32100, &other).unwrap() {
            HostKeyStatus::Changed { line, .. } => assert_eq!(line, 1),
            s => panic!("{s:?}"),
        }
    }

    #[test]
    fn hashed_and_pattern_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let ed = key("ed25519");
        let blob = ed.to_openssh().unwrap();
        let blob: Vec<&str> = blob.split(' ').take(2).collect();
        // |1|salt|HMAC-SHA1(salt, "[10.0.0.1]:2222"), made with `ssh-keygen -H`'s algorithm.
        let salt = [7u8; 20];
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&salt).unwrap();
        mac.update(b"[10.0.0.1]:2222");
        let hash = mac.finalize().into_bytes();
        use ssh_key::encoding::base64::{Base64, Encoding};
        let hashed = format!(
            "|1|{}|{} {} {}\n",
            Base64::encode_string(&salt),
            Base64::encode_string(&hash),
            blob[0],
            blob[1]
        );
        let patterns = format!(
            "*.example.org,!bad.example.org {} {}\n# comment\n\nbogus line here\n",
            blob[0], blob[1]
        );
        std::fs::write(&path, format!("{hashed}{patterns}")).unwrap();
        assert_eq!(
            check(&path, "10.0.0.1", 2222, &ed).unwrap(),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&path, "10.0.0.1", 22, &ed).unwrap(),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check(&path, "head.example.org", 22, &ed).unwrap(),
            HostKeyStatus::Known
        );
        assert_eq!(
            check(&path, "bad.example.org", 22, &ed).unwrap(),
            HostKeyStatus::Unknown
        );
    }

    #[test]
    fn globbing() {
        assert!(glob("*.example.org", "a.example.org"));
        assert!(glob("10.0.0.?", "10.0.0.7"));
        assert!(!glob("10.0.0.?", "10.0.0.17"));
        assert!(glob("*", "anything"));
        assert!(!glob("a*b", "ac"));
    }

    #[test]
    fn concurrent_appends_leave_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let ed = key("ed25519");
        std::thread::scope(|s| {
            for i in 0..10u16 {
                let (path, ed) = (&path, &ed);
                s.spawn(move || append(path, "10.1.1.1", 2000 + i, ed).unwrap());
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 10);
        for i in 0..10u16 {
            assert_eq!(
                check(&path, "10.1.1.1", 2000 + i, &ed).unwrap(),
                HostKeyStatus::Known
            );
        }
    }
}
