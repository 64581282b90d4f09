//! Finding the job's SSH user, head-node address and port in a job log.
//!
//! The platform's wording varies ("Username: uprod_x  IP address: 1.2.3.4  Port: 22",
//! "the job username is uprod_x and the public IP address is 1.2.3.4, port 32100",
//! "uprod_x@1.2.3.4 (port 32100)", a multi-line "SSH connection details:" block, JSON lines…),
//! so recognition is a small set of field patterns rather than one sentence:
//!
//! | field | recognised as |
//! |---|---|
//! | user  | `uprod_…`; a name after `username`/`user`/`login` (`:`, `=`, `is`, or a space); `NAME@IP` |
//! | host  | a valid IPv4 (each octet ≤ 255) or IPv6 address; **public** addresses only, unless [`ScanOptions::allow_private`] |
//! | port  | `port 32100`, `Port: 22`, `(port 32100)`, `-p 32100`, `IP:32100`, `[v6]:32100` |
//!
//! A result needs a user and a host; the port is optional (unknown → `None`, and the connect tool
//! probes 32100 then 22). Fields combine within a window of [`WINDOW`] lines on either side of
//! the line naming the user; URLs and e-mail addresses are removed before looking, so
//! `https://52.216.1.9:443/` or `support@example.com` never become a host, port or user.
//!
//! The scanner is streaming and fast: it reads big chunks, runs one literal prefilter
//! (`user`, `login`, `uprod_`, `@`) over the whole chunk, and analyses only the few lines around
//! a hit. Memory is bounded: at most one chunk plus a few carried lines, and a line longer than
//! [`MAX_LINE`] keeps only its first [`MAX_LINE`] bytes (the rest of that line is skipped, not
//! the rest of the file).

use std::borrow::Cow;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;
use regex::bytes::Regex as BytesRegex;

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

/// A user-supplied pattern (`--pattern`) with named groups `host` (required), `user`, `port`.
#[derive(Clone, Debug)]
pub struct CustomPattern {
    regex: BytesRegex,
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

struct Patterns {
    prefilter: BytesRegex,
    noise: Regex,
    ansi: Regex,
    uprod: Regex,
    keyword_user: Regex,
    at_user: Regex,
    ipv4: Regex,
    ipv6: Regex,
    port_keyword: Regex,
    port_flag: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("built-in pattern");
        Patterns {
            // Literal-only, so the regex engine runs a SIMD multi-literal search over the chunk.
            prefilter: BytesRegex::new(r"[Uu]ser|USER|[Ll]ogin|LOGIN|uprod_|@").expect("prefilter"),
            // URLs and e-mail addresses: removed before looking for fields.
            noise: re(r"(?i)\b[a-z][a-z0-9+.-]*://\S*|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
            ansi: re(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"),
            uprod: re(r"\buprod_[A-Za-z0-9]+\b"),
            // `Username: x`, `user=x`, `the job username is x`, `login as: x`, `"user":"x"`, `user x`.
            keyword_user: re(
                r#"(?i)\b(?:user[ _-]?name|user|login(?:[ _-]?name)?)\b["']?(?:\s+as)?(?:\s*([:=])|\s+(is)\b)?\s*([^\s,]+)"#,
            ),
            at_user: re(r"(?:^|[^A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,31})@(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)"),
            // Boundaries are checked by `standalone` (the regex crate has no look-around).
            ipv4: re(r"((?:\d{1,3}\.){3}\d{1,3})(?::(\d{1,5}))?"),
            ipv6: re(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3})"),
            port_keyword: re(r#"(?i)\bport\b["']?\s*(?:[:=]|\bis\b|\bnumber\b)?\s*["']?(\d{1,5})\b"#),
            port_flag: re(r"(?:^|\s)-p\s*(\d{1,5})\b"),
        }
    })
}

/// User names found on a line, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    Uprod = 0,
    Keyword = 1,
    AtHost = 2,
    LooseKeyword = 3,
}

/// Words that follow "user"/"login" in ordinary prose, never user names.
const NOT_NAMES: &[&str] = &[
    "is",
    "was",
    "has",
    "had",
    "the",
    "a",
    "an",
    "and",
    "or",
    "for",
    "from",
    "to",
    "in",
    "on",
    "of",
    "with",
    "name",
    "names",
    "logged",
    "login",
    "logins",
    "session",
    "sessions",
    "data",
    "id",
    "account",
    "accounts",
    "settings",
    "info",
    "details",
    "not",
    "as",
    "at",
    "by",
    "can",
    "must",
    "will",
    "should",
    "may",
    "shell",
    "time",
    "failed",
    "successful",
    "authentication",
    "request",
    "requests",
    "home",
    "group",
    "limit",
];

#[derive(Debug, Default)]
struct LineFields {
    users: Vec<(Strength, String)>,
    /// (address, port written right after it, bound to a user as `user@addr`)
    hosts: Vec<(IpAddr, Option<u16>, bool)>,
    ports: Vec<u16>,
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p != 0)
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// Normalises one raw line: JSON string escapes decoded, ANSI escapes and CRs removed,
/// invalid UTF-8 replaced, URLs and e-mail addresses blanked out.
fn clean(raw: &[u8]) -> String {
    let p = patterns();
    let mut text = String::from_utf8_lossy(raw).into_owned();
    if text.trim_start().starts_with('{') && text.contains('\\') {
        text = json_unescape(&text);
    }
    if text.contains('\x1b') {
        text = p.ansi.replace_all(&text, "").into_owned();
    }
    if text.contains('\r') {
        text = text.replace('\r', "");
    }
    if text.contains("://") || text.contains('@') {
        text = p.noise.replace_all(&text, " ").into_owned();
    }
    text
}

/// Decodes the JSON string escapes of a JSON-lines record, so that its message reads as text.
fn json_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 't' | 'r') => out.push(' '),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push(' '),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The fields of one cleaned line. Each pattern runs only if a cheap byte test says it can
/// match; users are looked for only on the line a hit is on.
fn fields(text: &str, want_users: bool) -> LineFields {
    let p = patterns();
    let mut f = LineFields::default();
    let bytes = text.as_bytes();

    if want_users {
        if text.contains("uprod_") {
            for m in p.uprod.find_iter(text) {
                if is_valid_user(m.as_str()) {
                    f.users.push((Strength::Uprod, m.as_str().to_string()));
                }
            }
        }
        if text.contains('@') {
            for c in p.at_user.captures_iter(text) {
                let (user, host) = (&c[1], &c[2]);
                if let Some(ip) = parse_ip(host)
                    && is_valid_user(user)
                {
                    f.users.push((Strength::AtHost, user.to_string()));
                    f.hosts.push((ip, None, true));
                }
            }
        }
        if contains_ci(bytes, b"user") || contains_ci(bytes, b"login") {
            for c in p.keyword_user.captures_iter(text) {
                // The whole word after the keyword is judged, so `a;rm -rf ~` or `$(cmd)` is
                // refused outright rather than trimmed into something that looks valid.
                let token = c.get(3).map(|m| m.as_str()).unwrap_or_default();
                let token = token.trim_end_matches(['.', ':', ';', ')', ']', '}']);
                let token = match token.as_bytes() {
                    [q @ (b'"' | b'\''), .., last] if last == q && token.len() >= 2 => {
                        &token[1..token.len() - 1]
                    }
                    _ => token,
                };
                // `user@host` after the keyword: the user part.
                let value = token.split('@').next().unwrap_or_default();
                let explicit = c.get(1).is_some() || c.get(2).is_some();
                if !is_valid_user(value) || value.starts_with("uprod_") {
                    continue;
                }
                if explicit {
                    f.users.push((Strength::Keyword, value.to_string()));
                } else if !NOT_NAMES.contains(&value.to_ascii_lowercase().as_str()) {
                    f.users.push((Strength::LooseKeyword, value.to_string()));
                }
            }
        }
        f.users.sort_by_key(|(s, _)| *s);
    }

    if text.contains('.') {
        for c in p.ipv4.captures_iter(text) {
            let whole = c.get(0).expect("match");
            if !standalone(text, whole.start(), whole.end(), b'.') {
                continue;
            }
            if let Some(ip) = parse_ip(&c[1]) {
                let port = c.get(2).and_then(|m| parse_port(m.as_str()));
                if let Some(entry) = f.hosts.iter_mut().find(|(h, _, _)| *h == ip) {
                    entry.1 = entry.1.or(port);
                } else {
                    f.hosts.push((ip, port, false));
                }
            }
        }
    }
    if text.contains("::") || bytecount::count(bytes, b':') >= 2 {
        for c in p.ipv6.captures_iter(text) {
            let whole = c.get(0).expect("match");
            if c.get(1).is_none() && !standalone(text, whole.start(), whole.end(), b':') {
                continue;
            }
            let (addr, port) = match c.get(1) {
                Some(bracketed) => (
                    bracketed.as_str(),
                    c.get(2).and_then(|m| parse_port(m.as_str())),
                ),
                None => (c.get(3).map(|m| m.as_str()).unwrap_or_default(), None),
            };
            if let Some(ip @ IpAddr::V6(_)) = parse_ip(addr) {
                if let Some(entry) = f.hosts.iter_mut().find(|(h, _, _)| *h == ip) {
                    entry.1 = entry.1.or(port);
                } else {
                    f.hosts.push((ip, port, false));
                }
            }
        }
    }
    if contains_ci(bytes, b"port") {
        for c in p.port_keyword.captures_iter(text) {
            if let Some(port) = parse_port(&c[1]) {
                f.ports.push(port);
            }
        }
    }
    if text.contains("-p") {
        for c in p.port_flag.captures_iter(text) {
            if let Some(port) = parse_port(&c[1]) {
                f.ports.push(port);
            }
        }
    }
    f
}

/// Whether `text[start..end]` stands alone: not glued to letters, digits or `sep` on either
/// side (so `v1.2.3.4`, `1.2.3.4.5` and `ip-10-1-2-3` are not addresses). A sentence's full stop
/// after it is fine.
fn standalone(text: &str, start: usize, end: usize, sep: u8) -> bool {
    let b = text.as_bytes();
    let glued = |c: u8| c.is_ascii_alphanumeric() || c == sep || c == b'_';
    let before_ok = start == 0 || !glued(b[start - 1]);
    let after_ok = match b.get(end) {
        None => true,
        Some(&c) if c == sep => !b.get(end + 1).is_some_and(|n| n.is_ascii_alphanumeric()),
        Some(&c) => !glued(c),
    };
    before_ok && after_ok
}

/// Combines the fields of a window of lines (`center` names the user) into one result.
fn combine(
    window: &[LineFields],
    center: usize,
    allow_private: bool,
) -> Option<(String, String, Option<u16>)> {
    let user = window[center].users.first()?.1.clone();

    // Lines in order of closeness: the user's own line, then after it, then before it.
    let mut order = vec![center];
    for d in 1..=WINDOW {
        if center + d < window.len() {
            order.push(center + d);
        }
        if d <= center {
            order.push(center - d);
        }
    }
    let candidates = |public: bool| {
        order.iter().find_map(|&i| {
            let hosts = &window[i].hosts;
            // On the user's line, an address bound to the user (`user@addr`) comes first.
            hosts
                .iter()
                .filter(|(ip, _, _)| is_public(ip) == public)
                .min_by_key(|(_, _, bound)| !bound)
                .map(|h| (i, *h))
        })
    };
    let (host_line, (ip, attached_port, _)) = candidates(true).or_else(|| {
        if allow_private {
            candidates(false)
        } else {
            None
        }
    })?;

    let port = attached_port
        .or_else(|| window[host_line].ports.first().copied())
        .or_else(|| window[center].ports.first().copied())
        .or_else(|| order.iter().find_map(|&i| window[i].ports.first().copied()));
    Some((user, ip.to_string(), port))
}

/// Fields from a custom pattern's named groups, merged over what the window offers.
fn custom_result(
    caps: &regex::bytes::Captures<'_>,
    window: &[LineFields],
    center: usize,
) -> Option<(String, String, Option<u16>)> {
    let text = |name: &str| {
        caps.name(name)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).trim().to_string())
    };
    let host = text("host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if parse_ip(&host).is_none() && !is_valid_hostname(&host) {
        return None;
    }
    let user = match text("user") {
        Some(u) if is_valid_user(&u) => u,
        Some(_) => return None,
        None => window[center].users.first().map(|(_, u)| u.clone())?,
    };
    let port = match text("port") {
        Some(p) => Some(parse_port(&p)?),
        None => window[center].ports.first().copied(),
    };
    Some((user, host, port))
}

/// Streaming scanner. Feed it bytes with [`push`](Scanner::push) (or let it read with
/// [`read_from`](Scanner::read_from)); it calls back with each result as soon as the lines that
/// make it are in.
pub struct Scanner {
    options: ScanOptions,
    buf: Vec<u8>,
    /// Offset in `buf` where lines not yet searched begin.
    scan_from: usize,
    /// Line number (1-based) of `buf[0]`.
    first_line: u64,
    /// Inside an over-long line: drop bytes until its newline.
    skipping: bool,
    /// Last result, to drop repeats of one message within a window.
    last: Option<Found>,
    /// How input bytes become the UTF-8 (or ASCII-compatible) text in `buf`.
    decoding: Decoding,
}

/// Text encodings of a log, told by its byte-order mark: PowerShell 5's `>` and `Out-File`
/// write UTF-16LE with a BOM. Without a BOM the bytes are taken as they are (UTF-8, or any
/// ASCII-compatible encoding; invalid bytes are tolerated by the patterns).
///
/// Two bytes `FF FE` may also just be junk at the start of a binary-ish log, so a UTF-16 BOM
/// counts only if the bytes after it look like UTF-16 text: every job log has ASCII (digits of
/// times and addresses, spaces, newlines), whose UTF-16 code units have a zero high byte — at
/// odd offsets after the BOM in little-endian, at even ones in big-endian.
enum Decoding {
    /// The first bytes, until they can be told apart from a byte-order mark.
    Sniffing(Vec<u8>),
    /// UTF-8 or ASCII-compatible: copied as they come.
    Raw,
    /// UTF-16 (either order), decoded to UTF-8; code units and surrogate pairs split between
    /// reads are carried over by the decoder.
    Utf16(Box<encoding_rs::Decoder>),
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytecount::count(bytes, b'\n') as u64
}

fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// How many bytes after a UTF-16 BOM are looked at before deciding (unless input ends or
/// pauses first).
const SNIFF_WINDOW: usize = 256;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The decoding for a log that starts with `head`, or `None` while more bytes are needed.
fn sniff(head: &[u8], last: bool) -> Option<Decoding> {
    const BOMS: [&[u8]; 3] = [UTF8_BOM, b"\xFF\xFE", b"\xFE\xFF"];
    let could_become_bom = BOMS
        .iter()
        .any(|bom| bom.len() > head.len() && bom.starts_with(head));
    if could_become_bom && !last {
        return None;
    }
    let (encoding, zero_parity) = if head.starts_with(b"\xFF\xFE") {
        (encoding_rs::UTF_16LE, 1)
    } else if head.starts_with(b"\xFE\xFF") {
        (encoding_rs::UTF_16BE, 0)
    } else {
        return Some(Decoding::Raw);
    };
    let after = &head[2..];
    if after.len() < SNIFF_WINDOW && !last {
        return None;
    }
    let window = &after[..after.len().min(SNIFF_WINDOW)];
    let (mut expected, mut other) = (0usize, 0usize);
    for (i, &b) in window.iter().enumerate() {
        if b == 0 {
            if i % 2 == zero_parity {
                expected += 1;
            } else {
                other += 1;
            }
        }
    }
    Some(if expected > other {
        Decoding::Utf16(Box::new(encoding.new_decoder_without_bom_handling()))
    } else {
        Decoding::Raw
    })
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Self {
        Scanner {
            options,
            buf: Vec::with_capacity(CHUNK * 2),
            scan_from: 0,
            first_line: 1,
            skipping: false,
            last: None,
            decoding: Decoding::Sniffing(Vec::new()),
        }
    }

    /// Adds input to `buf`, decoded as its byte-order mark says. `last`: no more input
    /// follows, so the encoding must be decided with what is at hand.
    fn take_input(&mut self, data: &[u8], last: bool) {
        if let Decoding::Sniffing(head) = &mut self.decoding {
            head.extend_from_slice(data);
            if let Some(decoding) = sniff(head, last) {
                self.settle(decoding, last);
            }
            return;
        }
        self.decode(data, last);
    }

    /// Leaves the sniffing state for `decoding`, passing on the bytes held (less the BOM).
    fn settle(&mut self, decoding: Decoding, last: bool) {
        let Decoding::Sniffing(head) = std::mem::replace(&mut self.decoding, decoding) else {
            return;
        };
        let bom_len = match &self.decoding {
            Decoding::Utf16(_) => 2,
            _ if head.starts_with(UTF8_BOM) => 3,
            _ => 0,
        };
        self.decode(&head[bom_len..], last);
    }

    fn decode(&mut self, data: &[u8], last: bool) {
        match &mut self.decoding {
            Decoding::Sniffing(_) => unreachable!("decided before decoding"),
            Decoding::Raw => self.buf.extend_from_slice(data),
            Decoding::Utf16(decoder) => {
                let room = decoder
                    .max_utf8_buffer_length(data.len())
                    .unwrap_or(data.len() * 3 + 16);
                let old = self.buf.len();
                self.buf.resize(old + room, 0);
                let (_, _, written, _) = decoder.decode_to_utf8(data, &mut self.buf[old..], last);
                self.buf.truncate(old + written);
            }
        }
    }

    /// Lines read so far (a last line without a newline counts too).
    pub fn lines_read(&self) -> u64 {
        let partial = self.buf.last().is_some_and(|&b| b != b'\n');
        self.first_line - 1 + count_newlines(&self.buf) + u64::from(partial)
    }

    /// Feeds more of the log. Each result found is passed to `emit`; return `false` from it to
    /// stop early (the scanner then ignores the rest of this call's data).
    pub fn push(&mut self, data: &[u8], emit: &mut dyn FnMut(Found) -> bool) -> bool {
        let old = self.buf.len();
        self.take_input(data, false);
        self.appended(old, emit)
    }

    /// Reads up to one chunk from `reader` straight into the scanner's buffer (no copy) and
    /// processes it. Returns the number of bytes read (0 at end of input) and whether to go on.
    pub fn read_from(
        &mut self,
        reader: &mut dyn Read,
        emit: &mut dyn FnMut(Found) -> bool,
    ) -> std::io::Result<(usize, bool)> {
        if !matches!(self.decoding, Decoding::Raw) {
            let mut chunk = Vec::with_capacity(CHUNK);
            let n = reader.take(CHUNK as u64).read_to_end(&mut chunk)?;
            return Ok((n, self.push(&chunk, emit)));
        }
        let old = self.buf.len();
        let n = reader.take(CHUNK as u64).read_to_end(&mut self.buf)?;
        Ok((n, self.appended(old, emit)))
    }

    fn appended(&mut self, old: usize, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        if self.skipping {
            match memchr::memchr(b'\n', &self.buf[old..]) {
                Some(nl) => {
                    self.skipping = false;
                    self.buf.drain(old..old + nl);
                }
                None => {
                    self.buf.truncate(old);
                    return true;
                }
            }
        }
        let go_on = self.process(false, emit);
        // Bound the partial last line.
        let line_start = memchr::memrchr(b'\n', &self.buf).map_or(0, |i| i + 1);
        if self.buf.len() - line_start > MAX_LINE {
            self.buf.truncate(line_start + MAX_LINE);
            self.skipping = true;
        }
        go_on
    }

    /// End of input: evaluates what is still waiting for following lines.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        // What the decoder still holds (a few bytes of an unfinished BOM or code unit).
        let old = self.buf.len();
        self.take_input(&[], true);
        if self.buf.len() > old && !self.appended(old, emit) {
            return false;
        }
        self.process(true, emit)
    }

    /// Input is idle (a live stream paused): evaluate waiting results with the lines at hand,
    /// as at the end of input, but keep going afterwards.
    pub fn flush_idle(&mut self, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        // A pause also ends the wait for enough bytes to tell the encoding.
        if let Decoding::Sniffing(head) = &self.decoding {
            let decoding = sniff(head, true).expect("sniff decides when told it is the end");
            let old = self.buf.len();
            self.settle(decoding, false);
            if !self.appended(old, emit) {
                return false;
            }
        }
        self.process(true, emit)
    }

    /// The fields of the line starting at `start` (cut at MAX_LINE, cleaned).
    fn line_fields(&self, start: usize, end: usize, want_users: bool) -> LineFields {
        let e = memchr::memchr(b'\n', &self.buf[start..end]).map_or(end, |i| start + i);
        fields(
            &clean(&self.buf[start..e.min(start + MAX_LINE)]),
            want_users,
        )
    }

    fn process(&mut self, at_end: bool, emit: &mut dyn FnMut(Found) -> bool) -> bool {
        let end = if at_end {
            self.buf.len()
        } else {
            match memchr::memrchr(b'\n', &self.buf) {
                Some(i) => i + 1,
                None => return true,
            }
        };
        if self.scan_from >= end {
            return true;
        }

        // Hits: the prefilter's, and every custom pattern's.
        let region = &self.buf[self.scan_from..end];
        let mut hits: Vec<(usize, Option<usize>)> = patterns()
            .prefilter
            .find_iter(region)
            .map(|m| (self.scan_from + m.start(), None))
            .collect();
        for (k, c) in self.options.custom.iter().enumerate() {
            hits.extend(
                c.regex
                    .find_iter(region)
                    .map(|m| (self.scan_from + m.start(), Some(k))),
            );
        }
        if !self.options.custom.is_empty() {
            hits.sort_unstable();
        }

        let mut handled_until = self.scan_from; // lines before this offset are done
        let mut new_scan_from = end;
        let mut line_cursor = (0usize, self.first_line); // (offset, line number at offset)
        for (hit, custom) in hits {
            let line_start = memchr::memrchr(b'\n', &self.buf[..hit]).map_or(0, |i| i + 1);
            if line_start < handled_until && custom.is_none() {
                continue;
            }
            let line_end = memchr::memchr(b'\n', &self.buf[hit..end]).map_or(end, |i| hit + i);

            // The user's own line first: most hits (a stray "user" or "@") end here.
            let center_fields = self.line_fields(line_start, end, true);
            if custom.is_none() && center_fields.users.is_empty() {
                handled_until = line_end + 1;
                continue;
            }

            // The window: up to WINDOW lines before and after.
            let mut starts = vec![line_start];
            while starts.len() <= WINDOW {
                let s = starts[0];
                if s == 0 {
                    break;
                }
                starts.insert(
                    0,
                    memchr::memrchr(b'\n', &self.buf[..s - 1]).map_or(0, |i| i + 1),
                );
            }
            let center = starts.len() - 1;
            let mut pos = line_end;
            let mut after = 0;
            while after < WINDOW && pos < end {
                let next = pos + 1;
                if next >= end {
                    break;
                }
                starts.push(next);
                pos = memchr::memchr(b'\n', &self.buf[next..end]).map_or(end, |i| next + i);
                after += 1;
            }
            let complete_window = after == WINDOW || at_end;

            // A result that the user's own line gives completely (public host and port) is
            // final: no other line in the window could change it. Otherwise the neighbours are
            // read, and a result is only final once the lines after it are in.
            let result = if custom.is_none() {
                let alone = combine(std::slice::from_ref(&center_fields), 0, false);
                if alone.as_ref().is_some_and(|r| r.2.is_some()) {
                    alone
                } else {
                    if !complete_window {
                        new_scan_from = line_start;
                        break;
                    }
                    let mut window: Vec<LineFields> = Vec::with_capacity(starts.len());
                    let mut center_fields = Some(center_fields);
                    for (i, &s) in starts.iter().enumerate() {
                        window.push(if i == center {
                            center_fields.take().unwrap_or_default()
                        } else {
                            self.line_fields(s, end, false)
                        });
                    }
                    combine(&window, center, self.options.allow_private)
                }
            } else {
                let line = &self.buf[line_start..line_end];
                let k = custom.unwrap_or_default();
                let caps = self.options.custom[k].regex.captures(line);
                let all_given = caps
                    .as_ref()
                    .is_some_and(|c| ["user", "host", "port"].iter().all(|n| c.name(n).is_some()));
                if !complete_window && !all_given {
                    new_scan_from = line_start;
                    break;
                }
                let window: Vec<LineFields> = starts
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| self.line_fields(s, end, i == center))
                    .collect();
                caps.and_then(|caps| custom_result(&caps, &window, center))
            };
            handled_until = line_end + 1;
            if let Some((user, host, port)) = result {
                let (off, mut n) = line_cursor;
                n += count_newlines(&self.buf[off..line_start]);
                line_cursor = (line_start, n);
                let found = Found {
                    user,
                    host,
                    port,
                    line: n,
                };
                let repeat = self.last.as_ref().is_some_and(|l| {
                    l.user == found.user
                        && l.host == found.host
                        && l.port == found.port
                        && found.line.saturating_sub(l.line) <= WINDOW as u64
                });
                if !repeat {
                    self.last = Some(found.clone());
                    if !emit(found) {
                        return false;
                    }
                } else if let Some(l) = self.last.as_mut() {
                    l.line = found.line;
                }
            }
        }
        self.scan_from = new_scan_from;
        self.compact();
        true
    }

    /// Drops lines no window can reach any more, keeping WINDOW lines of context.
    fn compact(&mut self) {
        let mut keep_from = self.scan_from;
        for _ in 0..WINDOW {
            if keep_from == 0 {
                break;
            }
            keep_from = memchr::memrchr(b'\n', &self.buf[..keep_from - 1]).map_or(0, |i| i + 1);
        }
        if keep_from == 0 {
            return;
        }
        self.first_line += count_newlines(&self.buf[..keep_from]);
        self.buf.drain(..keep_from);
        self.scan_from -= keep_from;
    }
}

/// Scans a whole reader; `emit` gets each result in order and may stop the scan by returning
/// `false`. Returns the number of lines read.
pub fn scan_reader(
    reader: &mut dyn Read,
    options: ScanOptions,
    emit: &mut dyn FnMut(Found) -> bool,
) -> std::io::Result<u64> {
    let mut scanner = Scanner::new(options);
    loop {
        match scanner.read_from(reader, emit) {
            Ok((0, _)) => break,
            Ok((_, true)) => {}
            Ok((_, false)) => return Ok(scanner.lines_read()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    scanner.finish(emit);
    Ok(scanner.lines_read())
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
mod tests {
    use super::*;

    fn one(log: &str) -> Option<(String, String, Option<u16>)> {
        latest(log.as_bytes(), ScanOptions::default()).map(|f| (f.user, f.host, f.port))
    }

    fn r(u: &str, h: &str, p: Option<u16>) -> Option<(String, String, Option<u16>)> {
        Some((u.into(), h.into(), p))
    }

    #[test]
    fn platform_wordings() {
        assert_eq!(
            one("Cluster started. Username: uprod_qpWia  IP address: 107.23.132.81  Port: 22\n"),
            r("uprod_qpWia", "107.23.132.81", Some(22))
        );
        assert_eq!(
            one(
                "SSH access: the job username is uprod_00Grm and the public IP address is 3.80.3.168, port 32100\n"
            ),
            r("uprod_00Grm", "3.80.3.168", Some(32100))
        );
        assert_eq!(
            one("\x1b[32mSSH\x1b[0m: uprod_Ab3dE@54.201.7.19 (port 32100)\r\n"),
            r("uprod_Ab3dE", "54.201.7.19", Some(32100))
        );
        assert_eq!(
            one("connect with ssh -p 32100 uprod_x1@3.3.3.3\n"),
            r("uprod_x1", "3.3.3.3", Some(32100))
        );
        assert_eq!(
            one("login: alice host 8.8.4.4:2222\n"),
            r("alice", "8.8.4.4", Some(2222))
        );
        assert_eq!(one("user=bob ip=9.9.9.9\n"), r("bob", "9.9.9.9", None));
        assert_eq!(
            one("ssh uprod_v6@[2600:1f18::5]:32100\n"),
            r("uprod_v6", "2600:1f18::5", Some(32100))
        );
        assert_eq!(
            one("Username: uprod_v6 address 2600:1f18:abcd::42 port 22\n"),
            r("uprod_v6", "2600:1f18:abcd::42", Some(22))
        );
    }

    #[test]
    fn multi_line_block_combines_within_the_window_only() {
        let block = "SSH connection details:\n  Username: uprod_blk\n  Public IP: 52.1.2.3\n  SSH Port: 32100\n";
        assert_eq!(one(block), r("uprod_blk", "52.1.2.3", Some(32100)));
        let reversed = "Public IP: 52.1.2.3\nSSH Port: 22\nUsername: uprod_rev\n";
        assert_eq!(one(reversed), r("uprod_rev", "52.1.2.3", Some(22)));
        let far = "Username: uprod_far\na\nb\nc\nd\ne\nf\nPublic IP: 52.1.2.3\n";
        assert_eq!(one(far), None);
    }

    #[test]
    fn public_address_wins_and_private_alone_is_not_an_answer() {
        assert_eq!(
            one("user uprod_p on 10.0.0.5 (public 18.2.3.4) port 22\n"),
            r("uprod_p", "18.2.3.4", Some(22))
        );
        assert_eq!(
            one(
                "Username: uprod_p IP: 10.1.2.3 private 192.168.1.1 172.20.0.1 100.64.1.1 169.254.1.1 127.0.0.1\n"
            ),
            None
        );
        assert_eq!(one("Username: uprod_p node ip-10-25-84-68 ready\n"), None);
        let opts = ScanOptions {
            allow_private: true,
            ..Default::default()
        };
        assert_eq!(
            latest(b"Username: uprod_p IP: 127.0.0.1 port 2022\n", opts).map(|f| f.host),
            Some("127.0.0.1".into())
        );
    }

    #[test]
    fn invalid_addresses_urls_and_mail_are_not_fields() {
        assert_eq!(one("Username: uprod_x IP address: 3.80.3.999\n"), None);
        assert_eq!(
            one("Username: uprod_x data at https://52.216.1.9:443/bucket\n"),
            None
        );
        assert_eq!(one("mail support@example.com from 52.216.1.9:443\n"), None);
        assert_eq!(one("version 1.2.3.4.5 by user uprod_v\n"), None);
    }

    #[test]
    fn injection_attempts_are_never_users() {
        for bad in ["$(reboot)", "`id`", "a;rm", "x'y", "\"q\"", "a b"] {
            let log = format!("Username: {bad} IP address: 3.80.3.1 port 22\n");
            let got = one(&log);
            assert!(
                got.as_ref()
                    .is_none_or(|(u, _, _)| is_valid_user(u) && !u.contains(['$', '`', ';', '\''])),
                "{bad}: {got:?}"
            );
        }
    }

    #[test]
    fn latest_wins_and_all_lists_each() {
        let log = "u uprod_a@3.3.3.3 port 22\nx\nx\nx\nx\nx\nuprod_a@4.4.4.4 port 32100\n";
        let all = scan_all(log.as_bytes(), ScanOptions::default());
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].line, 1);
        assert_eq!(all[1].line, 7);
        assert_eq!(all[1].host, "4.4.4.4");
    }

    #[test]
    fn json_lines() {
        let log = r#"{"ts":"2026-11-24T10:00:00Z","message":"\u001b[1mSSH\u001b[0m: username is uprod_js, IP 34.5.6.7, port 32100"}"#;
        assert_eq!(one(log), r("uprod_js", "34.5.6.7", Some(32100)));
        let fields = r#"{"event":"ssh_ready","user":"uprod_jf","public_ip":"34.5.6.8","port":22}"#;
        assert_eq!(one(fields), r("uprod_jf", "34.5.6.8", Some(22)));
    }

    #[test]
    fn huge_line_is_cut_not_the_rest_of_the_file() {
        let mut log = vec![b'x'; 5 * 1024 * 1024];
        log.extend_from_slice(b"\nUsername: uprod_after IP address: 3.4.5.6 Port: 22\n");
        let mut scanner = Scanner::new(ScanOptions::default());
        let mut found = Vec::new();
        for chunk in log.chunks(CHUNK) {
            scanner.push(chunk, &mut |f| {
                found.push(f);
                true
            });
            assert!(
                scanner.buf.len() <= CHUNK + MAX_LINE + 1024,
                "buffer grew to {}",
                scanner.buf.len()
            );
        }
        scanner.finish(&mut |f| {
            found.push(f);
            true
        });
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_as_all_at_once() {
        let log = b"a\nSSH connection details:\n  Username: uprod_blk\n  Public IP: 52.1.2.3\n  SSH Port: 32100\nz\n\xff\xfe garbage\nuprod_q@8.8.8.8 port 22";
        let whole = scan_all(log, ScanOptions::default());
        let mut scanner = Scanner::new(ScanOptions::default());
        let mut pieces = Vec::new();
        for b in log.iter() {
            scanner.push(std::slice::from_ref(b), &mut |f| {
                pieces.push(f);
                true
            });
        }
        scanner.finish(&mut |f| {
            pieces.push(f);
            true
        });
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].line, 3);
        assert_eq!(whole[1].line, 8);
    }

    #[test]
    fn byte_order_marks_choose_the_decoding() {
        let text = "boot\r\nUsername: uprod_Wide Public IP: 3.80.3.168 Port: 32100\r\n";
        let expected = scan_all(text.as_bytes(), ScanOptions::default());
        assert_eq!(expected.len(), 1);
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let utf8_bom: Vec<u8> = b"\xEF\xBB\xBF"
            .iter()
            .chain(text.as_bytes())
            .copied()
            .collect();
        for (name, bytes) in [("le", &le), ("be", &be), ("utf-8 bom", &utf8_bom)] {
            assert_eq!(scan_all(bytes, ScanOptions::default()), expected, "{name}");
            // Through a reader as well (the file path of rk-parse-log).
            let mut got = Vec::new();
            scan_reader(&mut &bytes[..], ScanOptions::default(), &mut |f| {
                got.push(f);
                true
            })
            .unwrap();
            assert_eq!(got, expected, "{name} via reader");
        }
        // Too short to tell: taken as it is.
        assert!(scan_all(b"\xFF", ScanOptions::default()).is_empty());
        // FF FE followed by plain ASCII is junk before a UTF-8 log, not a UTF-16 BOM.
        let junk: Vec<u8> = b"\xFF\xFE\x00binary\n"
            .iter()
            .chain(text.as_bytes())
            .copied()
            .collect();
        assert_eq!(scan_all(&junk, ScanOptions::default()), {
            let mut e = expected.clone();
            e[0].line += 1;
            e
        });
    }

    #[test]
    fn custom_patterns() {
        let p = CustomPattern::new(r"node (?P<host>\S+) ready for (?P<user>\w+) on (?P<port>\d+)")
            .unwrap();
        let opts = ScanOptions {
            custom: vec![p],
            ..Default::default()
        };
        let got = latest(b"node head.example.org ready for alice on 2200\n", opts).unwrap();
        assert_eq!(
            (got.user.as_str(), got.host.as_str(), got.port),
            ("alice", "head.example.org", Some(2200))
        );
        assert!(CustomPattern::new("(unclosed").is_err());
        assert!(
            CustomPattern::new(r"(?P<user>\w+)")
                .unwrap_err()
                .contains("host")
        );
    }

    #[test]
    fn urls_print_v6_in_brackets() {
        let f = Found {
            user: "u".into(),
            host: "2600::1".into(),
            port: Some(22),
            line: 1,
        };
        assert_eq!(f.to_url(), "ssh://u@[2600::1]:22");
        let f = Found {
            user: "u".into(),
            host: "1.2.3.4".into(),
            port: None,
            line: 1,
        };
        assert_eq!(f.to_url(), "ssh://u@1.2.3.4");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces that real (and hostile) logs are made of, so generated input reaches deep
        /// into the patterns instead of stopping at the prefilter.
        fn fragment() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                Just(b"Username: ".to_vec()),
                Just(b"the job username is ".to_vec()),
                Just(b"login as: ".to_vec()),
                Just(b"user ".to_vec()),
                Just(b"uprod_".to_vec()),
                Just(b"@".to_vec()),
                Just(b" port ".to_vec()),
                Just(b"Port: ".to_vec()),
                Just(b" -p ".to_vec()),
                Just(b"32100".to_vec()),
                Just(b"99999".to_vec()),
                Just(b"3.80.3.168".to_vec()),
                Just(b"10.0.0.1".to_vec()),
                Just(b"3.80.3.999".to_vec()),
                Just(b"2600:1f18::5".to_vec()),
                Just(b"[".to_vec()),
                Just(b"]:".to_vec()),
                Just(b":".to_vec()),
                Just(b"::".to_vec()),
                Just(b".".to_vec()),
                Just(b"\x1b[32m".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"{\"message\":\"".to_vec()),
                Just(b"\\u001b".to_vec()),
                Just(b"https://".to_vec()),
                Just(b"support@example.com".to_vec()),
                "[a-zA-Z0-9_ $;`'\"-]{0,12}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..8),
            ]
        }

        fn log() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(fragment(), 0..60).prop_map(|v| v.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let _ = scan_all(&data, ScanOptions::default());
            }

            /// Every result is well-formed, and feeding the log in any pieces gives the same
            /// results as feeding it whole.
            #[test]
            fn results_are_valid_and_chunking_does_not_matter(data in log(), cut in 1usize..64) {
                let whole = scan_all(&data, ScanOptions::default());
                for f in &whole {
                    prop_assert!(is_valid_user(&f.user), "{:?}", f);
                    let ip: IpAddr = f.host.parse().expect("host is an address");
                    prop_assert!(is_public(&ip), "{:?}", f);
                    prop_assert!(f.port != Some(0));
                    prop_assert!(f.line >= 1);
                }
                let mut scanner = Scanner::new(ScanOptions::default());
                let mut pieces = Vec::new();
                for chunk in data.chunks(cut) {
                    scanner.push(chunk, &mut |f| { pieces.push(f); true });
                }
                scanner.finish(&mut |f| { pieces.push(f); true });
                prop_assert_eq!(whole, pieces);
            }

            /// A UTF-16 copy (either byte order, with its BOM, as PowerShell writes it) gives
            /// what the UTF-8 text gives, however it is cut, odd byte offsets included.
            #[test]
            fn utf16_copies_give_the_same_results(data in log(), cut in 1usize..64, big_endian: bool) {
                let text = String::from_utf8_lossy(&data).into_owned();
                let expected = scan_all(text.as_bytes(), ScanOptions::default());
                let mut utf16: Vec<u8> = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
                for unit in text.encode_utf16() {
                    utf16.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
                }
                let mut scanner = Scanner::new(ScanOptions::default());
                let mut pieces = Vec::new();
                for chunk in utf16.chunks(cut) {
                    scanner.push(chunk, &mut |f| { pieces.push(f); true });
                }
                scanner.finish(&mut |f| { pieces.push(f); true });
                prop_assert_eq!(expected, pieces);
            }
        }
    }
}
