//! The fields of one line: users, addresses and ports, each recognised as a whole token.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;
use regex::bytes::Regex as BytesRegex;

use super::is_valid_user;

pub(super) struct Patterns {
    pub(super) prefilter: BytesRegex,
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

pub(super) fn patterns() -> &'static Patterns {
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
pub(super) enum Strength {
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
pub(super) struct LineFields {
    pub(super) users: Vec<(Strength, String)>,
    /// (address, port written right after it, bound to a user as `user@addr`)
    pub(super) hosts: Vec<(IpAddr, Option<u16>, bool)>,
    pub(super) ports: Vec<u16>,
}

pub(super) fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| *p != 0)
}

pub(super) fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// Normalises one raw line: JSON string escapes decoded, ANSI escapes and CRs removed,
/// invalid UTF-8 replaced, URLs and e-mail addresses blanked out.
pub(super) fn clean(raw: &[u8]) -> String {
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
pub(super) fn fields(text: &str, want_users: bool) -> LineFields {
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

pub(super) fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
