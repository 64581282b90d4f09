//! Finding the job's SSH user, head-node address and port in a job log.
//!
//! The platform's wording varies ("Username: uprod_x  IP address: 1.2.3.4  Port: 22",
//! "the job username is uprod_x and the public IP address is 1.2.3.4, port 32100",
//! "uprod_x@1.2.3.4 (port 32100)", a multi-line "SSH connection details:" block, JSON lines,
//! Japanese "ユーザー名：uprod_x、IPアドレス：1.2.3.4、ポート：32100。", a table…), so recognition
//! is a small set of field patterns rather than one sentence:
//!
//! | field | recognised as |
//! |---|---|
//! | user  | `uprod_…`; the value after a user label of any language in [`labels`] (`:`, `=`, `is`, `は`, or a space); `NAME@IP` |
//! | host  | a valid IPv4 (each octet ≤ 255) or IPv6 address; **public** addresses only, unless [`ScanOptions::allow_private`] |
//! | port  | the value after a port label (`port 32100`, `Port: 22`, `ポート：32100`), `-p 32100`, `IP:32100`, `[v6]:32100` |
//!
//! Every value is a whole token (`token.rs`): `uprod_x$(id)` is no user, `3.80.3.168x` no
//! address, `32100abc` no port, and a word starting with `-` is never a user or a host —
//! refused, never trimmed into something plausible. Full-width forms (`：`, `３２１００`) are read
//! as their ASCII twins. A table (`Username | Public IP | Port`, bordered, with bars or aligned)
//! gives its value rows, where the port is a bare number (`table.rs`).
//!
//! A result needs a user and a host; the port is optional (unknown → `None`, and the connect tool
//! probes 32100 then 22) unless one was written and refused. Fields combine within a window of
//! [`WINDOW`] lines on either side of the line naming the user; URLs and e-mail addresses are
//! removed before looking, so `https://52.216.1.9:443/` or `support@example.com` never become a
//! host, port or user. A message whose parts were refused is kept as a [`Rejection`] (line,
//! token, reason, the flag that accepts it): what to tell the user when nothing was found.
//!
//! The scanner is streaming and fast: it reads big chunks, runs one literal prefilter (the user
//! labels' stems and `uprod_`) and a memchr for `@` over the whole chunk, and analyses only the
//! few lines around a hit. Memory is bounded: at most one chunk plus a few carried lines, and a
//! line longer than [`MAX_LINE`] keeps only its first [`MAX_LINE`] bytes (the rest of that line
//! is skipped, not the rest of the file).

use std::borrow::Cow;
use std::io::Read;
use std::net::IpAddr;

use regex::bytes::Regex as BytesRegex;

mod decode;
mod fields;
pub mod labels;
mod scanner;
mod table;
mod token;

pub use encoding_rs::Encoding;
pub use scanner::Scanner;

/// An encoding `--encoding` may name: `utf-8`, `utf-16le`, `utf-16be`, `shift_jis` (or `cp932`,
/// `windows-31j`), `euc-jp`, `windows-1252` (or `cp1252`, `latin1`), as WHATWG's labels have
/// it; `None` for a name it does not know.
pub fn encoding(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let label = match label.to_ascii_lowercase().as_str() {
        "cp932" | "ms932" => "windows-31j",
        "cp1252" => "windows-1252",
        _ => label,
    }
    .to_string();
    encoding_rs::Encoding::for_label_no_replacement(label.as_bytes())
}

/// Lines on either side of the user's line whose fields belong to the same message.
pub const WINDOW: usize = 4;
/// Longest line analysed; longer lines are cut here.
pub const MAX_LINE: usize = 64 * 1024;
/// Read size for files and pipes.
pub const CHUNK: usize = 256 * 1024;

/// What one connection message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub user: String,
    /// An IP address (or, from a `--pattern`, a host name), never with brackets.
    pub host: String,
    pub port: Option<u16>,
    /// 1-based line number of the line that names the user.
    pub line: u64,
}

impl Found {
    pub fn host_is_ipv6(&self) -> bool {
        self.host.contains(':')
    }

    /// The host as it goes into a URL or `user@host`: IPv6 in brackets.
    pub fn host_for_url(&self) -> Cow<'_, str> {
        if self.host_is_ipv6() {
            Cow::Owned(format!("[{}]", self.host))
        } else {
            Cow::Borrowed(&self.host)
        }
    }

    /// `ssh://user@host:port` (no `:port` when unknown), the form `rk-connect` accepts.
    pub fn to_url(&self) -> String {
        match self.port {
            Some(p) => format!("ssh://{}@{}:{}", self.user, self.host_for_url(), p),
            None => format!("ssh://{}@{}", self.user, self.host_for_url()),
        }
    }
}

/// A token in a field's place that was refused; the scanner gives it a line ([`Rejection`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Not a valid login name (`uprod_x$(id)`, `-oProxyCommand=…`).
    User(String),
    /// An address with something glued to it (`3.80.3.168x`, `3.80.3.168.5`).
    Host(String),
    /// Digits that are not a port (`65536`, `0`, `32100abc`).
    Port(String),
    /// A valid address that is not a public one (private, loopback, link-local…).
    NotPublic(IpAddr),
    /// A word that starts with `-`, as an option of ssh or plink would.
    OptionLike(String),
}

/// Why a connection message gave no result: what was refused, on which line, why, and the flag
/// that accepts it when there is one. Its `Display` is the sentence a user reads, e.g.
/// `line 5 names 127.0.0.1, a loopback address, not a public one: pass --allow-private if this
/// cluster is on your own network`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line of the message.
    pub line: u64,
    /// The refused text, as written (an address, a user name, a port).
    pub what: String,
    pub why: String,
    /// The option that accepts it, with when to use it.
    pub flag: Option<&'static str>,
}

impl Rejection {
    pub(crate) fn new(rejected: Rejected, line: u64) -> Rejection {
        let (what, why, flag) = match rejected {
            Rejected::User(u) => (
                format!("the user {u:?}"),
                "which is not a login name (letters, digits, _ . - only, not starting with -): \
                 the log may be damaged or not the platform's"
                    .to_string(),
                None,
            ),
            Rejected::Host(h) => (
                format!("{h:?}"),
                "which is not an IP address".to_string(),
                None,
            ),
            Rejected::Port(p) => (
                format!("the port {p:?}"),
                "which is not a port number (1-65535)".to_string(),
                None,
            ),
            Rejected::OptionLike(word) => (
                format!("{word:?}"),
                "which starts with \"-\" like a command-line option: never a user or a host"
                    .to_string(),
                None,
            ),
            Rejected::NotPublic(ip) => (
                ip.to_string(),
                format!("{}, not a public one", address_kind(&ip)),
                Some("--allow-private if this cluster is on your own network (VPN, on-premises)"),
            ),
        };
        Rejection {
            line,
            what,
            why,
            flag,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} names {}, {}", self.line, self.what, self.why)?;
        if let Some(flag) = self.flag {
            write!(f, ": pass {flag}")?;
        }
        Ok(())
    }
}

/// What kind of address a non-public one is, for messages.
pub fn address_kind(ip: &IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                "a loopback address"
            } else if v4.is_private() {
                "a private address"
            } else if v4.is_link_local() {
                "a link-local address"
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                "a shared (carrier-grade NAT) address"
            } else if v4.is_multicast() {
                "a multicast address"
            } else {
                "a reserved address"
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() {
                "a loopback address"
            } else if (s[0] & 0xfe00) == 0xfc00 {
                "a private (unique local) address"
            } else if (s[0] & 0xffc0) == 0xfe80 {
                "a link-local address"
            } else if v6.is_multicast() {
                "a multicast address"
            } else if let Some(v4) = v6.to_ipv4_mapped() {
                address_kind(&IpAddr::V4(v4))
            } else {
                "a reserved address"
            }
        }
    }
}

/// A user-supplied pattern (`--pattern`) with named groups `host` (required), `user`, `port`.
#[derive(Clone, Debug)]
pub struct CustomPattern {
    pub(super) regex: BytesRegex,
}

impl CustomPattern {
    pub fn new(pattern: &str) -> Result<Self, String> {
        let regex = BytesRegex::new(pattern)
            .map_err(|e| format!("--pattern {pattern:?} is not a valid regex: {e}"))?;
        if !regex.capture_names().any(|n| n == Some("host")) {
            return Err(format!(
                "--pattern {pattern:?} has no (?P<host>…) group; name the groups host (required), user and port"
            ));
        }
        Ok(CustomPattern { regex })
    }
}

#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Accept private, loopback and link-local addresses when no public one is in the message
    /// (clusters on a VPN or on-premises; tests on loopback).
    pub allow_private: bool,
    pub custom: Vec<CustomPattern>,
    /// The log's encoding when the user names it (`--encoding`); else told from its bytes.
    pub encoding: Option<&'static encoding_rs::Encoding>,
}

/// Whether an address can be a cloud head node's public address.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()          // 10/8, 172.16/12, 192.168/16
                || v4.is_loopback()    // 127/8
                || v4.is_link_local()  // 169.254/16
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64/10 CGNAT
                || o[0] == 0
                || v4.is_multicast()
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00   // fc00::/7 unique local
                || (s[0] & 0xffc0) == 0xfe80   // fe80::/10 link local
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(&IpAddr::V4(v4))))
        }
    }
}

/// A valid login name: `[A-Za-z_][A-Za-z0-9_.-]{0,31}`. Anything else is never a user (so
/// nothing with spaces, quotes, `;`, `$` or backticks ever reaches a command line).
pub fn is_valid_user(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// A DNS host name (labels of letters, digits and `-`).
pub fn is_valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// Scans a whole reader; `emit` gets each result in order and may stop the scan by returning
/// `false`. Returns the number of lines read.
pub fn scan_reader(
    reader: &mut dyn Read,
    options: ScanOptions,
    emit: &mut dyn FnMut(Found) -> bool,
) -> std::io::Result<u64> {
    scan_reader_report(reader, options, emit).map(|(lines, _)| lines)
}

/// [`scan_reader`], also returning the latest refused message ([`Rejection`]) — what to tell
/// the user when there is no result.
pub fn scan_reader_report(
    reader: &mut dyn Read,
    options: ScanOptions,
    emit: &mut dyn FnMut(Found) -> bool,
) -> std::io::Result<(u64, Option<Rejection>)> {
    let mut scanner = Scanner::new(options);
    loop {
        match scanner.read_from(reader, emit) {
            Ok((0, _)) => break,
            Ok((_, true)) => {}
            Ok((_, false)) => return Ok((scanner.lines_read(), scanner.rejection().cloned())),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    scanner.finish(emit);
    Ok((scanner.lines_read(), scanner.rejection().cloned()))
}

/// Where `rk-parse-log --save` remembers the last job for `rk-connect`:
/// `$XDG_STATE_HOME/rk/last-job`, else `~/.local/state/rk/last-job`; on Windows
/// `%LOCALAPPDATA%\rk\last-job`.
pub fn last_job_path() -> Option<std::path::PathBuf> {
    Some(
        crate::platform::paths::state_dir()?
            .join("rk")
            .join("last-job"),
    )
}

/// Remembers a result (as its `ssh://` URL) atomically; returns the file written.
pub fn save_last_job(found: &Found) -> crate::Result<std::path::PathBuf> {
    let path = last_job_path().ok_or_else(|| {
        crate::Error::Usage(
            "cannot find your home directory to save the job: set HOME or XDG_STATE_HOME \
             (LOCALAPPDATA on Windows)."
                .into(),
        )
    })?;
    let dir = path.parent().expect("has a parent");
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::io("cannot create directory", dir, e))?;
    let text = format!("{}\n", found.to_url());
    crate::fs::write_files_atomically(
        &[(&path, text.as_bytes(), crate::fs::Protection::Private)],
        true,
    )?;
    Ok(path)
}

/// All results in a log held in memory (tests, small inputs).
pub fn scan_all(log: &[u8], options: ScanOptions) -> Vec<Found> {
    let mut out = Vec::new();
    let _ = scan_reader(&mut &log[..], options, &mut |f| {
        out.push(f);
        true
    });
    out
}

/// The latest result in a log, which is the one that counts after a relaunch.
pub fn latest(log: &[u8], options: ScanOptions) -> Option<Found> {
    scan_all(log, options).pop()
}

#[cfg(test)]
mod tests;
