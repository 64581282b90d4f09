//! The fields of one line: users, addresses and ports, each taken as a whole token
//! (`token.rs`) and found by the labels of every language (`labels.rs`). What looked like a
//! field but was refused is kept too, so that the scanner can say why a message gave nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;
use regex::bytes::Regex as BytesRegex;

use super::labels::{self, Field};
use super::token;
use super::{Rejected, is_valid_user};

pub(super) struct Patterns {
    pub(super) prefilter: BytesRegex,
    noise: Regex,
    ansi: Regex,
    uprod: Regex,
    user_label: Regex,
    at_user: Regex,
    ipv4: Regex,
    ipv6: Regex,
    port_label: Regex,
    port_flag: Regex,
    /// The ASCII user-label stems, lower case, for a cheap test before `user_label` runs.
    ascii_user_stems: Vec<&'static str>,
}

/// `a|b|c` of the labels of `field`, longest first, each as a whole word.
fn alternation(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| labels::pattern_of(w))
        .collect::<Vec<_>>()
        .join("|")
}

pub(super) fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("built-in pattern");
        let stems = labels::user_stems();
        // Literal-only, so the regex engine runs a SIMD multi-literal search (Teddy) over the
        // chunk: each user-label stem as written, Capitalised and in capitals, and `uprod_`.
        // Not `@`: a one-byte literal would cut every literal's fingerprint to one byte and
        // make common letters candidates (measured: 95 MB in 0.32 s instead of 0.07 s); the
        // scanner finds `@` with memchr instead.
        let mut literals: Vec<String> = Vec::new();
        for stem in &stems {
            literals.push(regex::escape(stem));
            if stem.is_ascii() {
                let mut cap = stem.to_string();
                cap[..1].make_ascii_uppercase();
                literals.push(regex::escape(&cap));
                literals.push(regex::escape(&stem.to_ascii_uppercase()));
            }
        }
        literals.push("uprod_".to_string());
        let linking = alternation(&labels::linking_words());
        Patterns {
            prefilter: BytesRegex::new(&literals.join("|")).expect("prefilter"),
            // URLs and e-mail addresses: removed before looking for fields.
            noise: re(r"(?i)\b[a-z][a-z0-9+.-]*://\S*|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
            ansi: re(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"),
            uprod: re(r"(?-u:\b)uprod_[A-Za-z0-9]+"),
            // `Username: x`, `user=x`, `the job username is x`, `login as: x`, `"user":"x"`,
            // `user x`, `ユーザー名：x`, `Benutzername ist x`; the value is the token after it.
            user_label: re(&format!(
                r#"(?i)(?:{})["'」]?(?:\s+as)?(?:\s*([:=])|\s*({linking}))?\s*"#,
                alternation(&labels::all(Field::User))
            )),
            at_user: re(r"([A-Za-z_][A-Za-z0-9_.-]{0,31})@(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)"),
            // Whole-token boundaries are checked after the match (the regex crate has no
            // look-around).
            ipv4: re(r"((?:\d{1,3}\.){3}\d{1,3})(?::(\d+))?"),
            ipv6: re(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3})"),
            // `port 32100`, `Port: 22`, `port number is 22`, `ポート：32100`, `ポート番号は22`.
            port_label: re(&format!(
                r#"(?i)(?:{})["']?\s*(?:[:=]|{linking}|(?-u:\b)number(?-u:\b)|番号)?\s*"#,
                alternation(&labels::all(Field::Port))
            )),
            port_flag: re(r"(?:^|\s)-p\s*(\d+)"),
            ascii_user_stems: stems.into_iter().filter(|s| s.is_ascii()).collect(),
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
    /// Tokens in a field's place that were refused (an invalid user after a label, an address
    /// with something glued to it, a port out of range).
    pub(super) rejected: Vec<Rejected>,
}

pub(super) fn parse_port(s: &str) -> Option<u16> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
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

/// Full-width ASCII forms (`：`, `３２１００`, `（`) and the ideographic space as their ASCII
/// twins — what NFKC does to them — so that Japanese punctuation separates like ASCII.
fn fold_full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// Normalises one raw line: JSON string escapes decoded, ANSI escapes and CRs removed,
/// invalid UTF-8 replaced, full-width forms folded, URLs and e-mail addresses blanked out.
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
    if !text.is_ascii() {
        text = fold_full_width(&text);
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

/// The fields of one cleaned line. Each pattern runs only if a cheap test says it can match;
/// users are looked for only on the line a hit is on.
pub(super) fn fields(text: &str, want_users: bool) -> LineFields {
    let p = patterns();
    let mut f = LineFields::default();
    let bytes = text.as_bytes();

    if want_users {
        users(p, text, &mut f);
    }
    if text.contains('.') {
        for c in p.ipv4.captures_iter(text) {
            let (whole, addr) = (c.get(0).expect("match"), c.get(1).expect("address"));
            // Digits and dots glued to it: a version number or a longer dotted string.
            if !token::is_whole(text, whole.start(), whole.end(), false) {
                f.rejected
                    .push(refused_host(text, whole.start(), whole.end()));
                continue;
            }
            match parse_ip(addr.as_str()) {
                Some(ip) => add_host(&mut f, ip, c.get(2).map(|m| m.as_str()), whole.as_str()),
                // Four numbers with dots, one over 255: not an address.
                None => f.rejected.push(Rejected::Host(whole.as_str().to_string())),
            }
        }
    }
    if text.contains("::") || bytecount::count(bytes, b':') >= 2 {
        for c in p.ipv6.captures_iter(text) {
            let whole = c.get(0).expect("match");
            let bracketed = c.get(1).is_some();
            if !token::is_whole(text, whole.start(), whole.end(), false) {
                if bracketed || whole.as_str().matches(':').count() >= 2 {
                    f.rejected
                        .push(refused_host(text, whole.start(), whole.end()));
                }
                continue;
            }
            let (addr, port) = match c.get(1) {
                Some(b) => (b.as_str(), c.get(2).map(|m| m.as_str())),
                None => (c.get(3).map(|m| m.as_str()).unwrap_or_default(), None),
            };
            if let Some(ip @ IpAddr::V6(_)) = parse_ip(addr) {
                add_host(&mut f, ip, port, whole.as_str());
            }
        }
    }
    if contains_ci(bytes, b"port") || !text.is_ascii() {
        for m in p.port_label.find_iter(text) {
            port_token(&mut f, token::from(text, m.end(), false));
        }
    }
    if text.contains("-p") {
        for c in p.port_flag.captures_iter(text) {
            let m = c.get(1).expect("digits");
            port_token(&mut f, token::around(text, m.start(), m.end(), false));
        }
    }
    f
}

/// Why an address-shaped match is not a host: part of an option-like word, or glued.
fn refused_host(text: &str, start: usize, end: usize) -> Rejected {
    match token::option_word(text, start) {
        Some(word) => Rejected::OptionLike(word.to_string()),
        None => Rejected::Host(token::around(text, start, end, false).to_string()),
    }
}

/// Why a user-shaped token is not a user: an option-like word, or not a login name.
fn refused_user(text: &str, at: usize) -> Rejected {
    match token::option_word(text, at) {
        Some(word) => Rejected::OptionLike(word.to_string()),
        None => Rejected::User(token::run_around(text, at, true).to_string()),
    }
}

/// A port token after a label or -p: a port, refused (digits that are not one), or prose.
fn port_token(f: &mut LineFields, value: &str) {
    match parse_port(value) {
        Some(port) => f.ports.push(port),
        None if value.starts_with(|c: char| c.is_ascii_digit()) => {
            f.rejected.push(Rejected::Port(value.to_string()))
        }
        None => {}
    }
}

/// An address (with the port written after it, if any) — or, when that port is not one, the
/// whole `address:port` refused.
fn add_host(f: &mut LineFields, ip: IpAddr, port: Option<&str>, whole: &str) {
    let port = match port {
        Some(p) => match parse_port(p) {
            Some(p) => Some(p),
            None => {
                f.rejected.push(Rejected::Port(whole.to_string()));
                return;
            }
        },
        None => None,
    };
    if let Some(entry) = f.hosts.iter_mut().find(|(h, _, _)| *h == ip) {
        entry.1 = entry.1.or(port);
    } else {
        f.hosts.push((ip, port, false));
    }
}

fn users(p: &Patterns, text: &str, f: &mut LineFields) {
    if text.contains("uprod_") {
        for m in p.uprod.find_iter(text) {
            if token::is_whole(text, m.start(), m.end(), true) && is_valid_user(m.as_str()) {
                f.users.push((Strength::Uprod, m.as_str().to_string()));
            } else {
                f.rejected.push(refused_user(text, m.start()));
            }
        }
    }
    if text.contains('@') {
        for c in p.at_user.captures_iter(text) {
            let (user, host) = (c.get(1).expect("user"), &c[2]);
            let Some(ip) = parse_ip(host) else { continue };
            if !token::is_whole(text, user.start(), user.end(), true) {
                f.rejected.push(refused_user(text, user.start()));
                continue;
            }
            if is_valid_user(user.as_str()) {
                f.users.push((Strength::AtHost, user.as_str().to_string()));
                f.hosts.push((ip, None, true));
            }
        }
    }
    let lower_ascii_label = p
        .ascii_user_stems
        .iter()
        .any(|stem| contains_ci(text.as_bytes(), stem.as_bytes()));
    if lower_ascii_label || !text.is_ascii() {
        for c in p.user_label.captures_iter(text) {
            let label = c.get(0).expect("match");
            // The whole word after the label is judged, so `a;rm -rf ~` or `$(cmd)` is
            // refused outright rather than trimmed into something that looks valid.
            let value = token::from(text, label.end(), true);
            if value.is_empty() || value.starts_with("uprod_") {
                continue;
            }
            // CJK labels touch their value: as explicit as a colon.
            let explicit = c.get(1).is_some() || c.get(2).is_some() || !label.as_str().is_ascii();
            if !is_valid_user(value) {
                if explicit {
                    let at = token::value_start(text, label.end());
                    f.rejected.push(if value.starts_with('-') {
                        Rejected::OptionLike(token::run_from(text, at).to_string())
                    } else {
                        Rejected::User(token::run_from(text, at).to_string())
                    });
                }
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

pub(super) fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
