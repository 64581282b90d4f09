//! OpenSSH's patterns (`match.c`): `*` and `?` wildcards over bytes, `!` negation, and the
//! comma-separated lists `Match host` / `Match user` take. The matcher is OpenSSH's semantics
//! with a linear-time algorithm (OpenSSH's recursive one can be made to backtrack for a long time).

/// `match_pattern`: does `pattern` (with `*` and `?`) match all of `s`? Case-sensitive.
pub(crate) fn matches(s: &str, pattern: &str) -> bool {
    let (s, p) = (s.as_bytes(), pattern.as_bytes());
    let (mut si, mut pi) = (0, 0);
    // The last `*` seen and where in `s` it is currently made to end.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((star_pi, star_si)) = star {
            pi = star_pi + 1;
            si = star_si + 1;
            star = Some((star_pi, star_si + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// What a pattern list says about a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListMatch {
    /// A negated pattern matched: the list refuses the string whatever else matches.
    Negated,
    NoMatch,
    Matched,
}

/// `match_pattern_list`: comma-separated patterns, each possibly `!`-negated. With `lowercase`
/// (host names), the patterns are lowercased as OpenSSH does; the caller lowercases `s`.
pub(crate) fn list_matches(s: &str, list: &str, lowercase: bool) -> ListMatch {
    let mut positive = false;
    for sub in list.split(',') {
        let (negated, sub) = match sub.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, sub),
        };
        // OpenSSH's buffer for one pattern: a longer one matches nothing.
        if sub.len() >= 1023 {
            return ListMatch::NoMatch;
        }
        let sub = if lowercase {
            sub.to_ascii_lowercase()
        } else {
            sub.to_string()
        };
        if matches(s, &sub) {
            if negated {
                return ListMatch::Negated;
            }
            positive = true;
        }
    }
    if positive {
        ListMatch::Matched
    } else {
        ListMatch::NoMatch
    }
}

/// `match_hostname`: a host name against a pattern list, case-insensitively.
pub(crate) fn host_matches(host: &str, list: &str) -> bool {
    list_matches(&host.to_ascii_lowercase(), list, true) == ListMatch::Matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("rk-job", "rk-job"));
        assert!(matches("rk-job", "rk-*"));
        assert!(matches("rk-job", "*"));
        assert!(matches("", "*"));
        assert!(matches("rk-job", "rk-j?b"));
        assert!(matches("a.b.c", "*.c"));
        assert!(matches("abcbc", "*bc"));
        assert!(matches("aXbYc", "a*b*c"));
        assert!(!matches("rk-job", "rk-"));
        assert!(!matches("rk-job", "RK-*"));
        assert!(!matches("rk", "rk?"));
        assert!(!matches("abc", "a*d"));
        assert!(!matches("", "?"));
    }

    #[test]
    fn adversarial_patterns_stay_fast() {
        let s = "a".repeat(10_000);
        let p = format!("{}b", "*a".repeat(500));
        let started = std::time::Instant::now();
        assert!(!matches(&s, &p));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn lists_with_negation() {
        assert_eq!(list_matches("foo", "bar,foo", false), ListMatch::Matched);
        assert_eq!(list_matches("foo", "f*,!foo", false), ListMatch::Negated);
        assert_eq!(list_matches("foo", "!bar", false), ListMatch::NoMatch);
        assert_eq!(list_matches("foo", "bar", false), ListMatch::NoMatch);
        assert!(host_matches("Head.Example", "*.EXAMPLE"));
        assert!(!host_matches("head.example", "*.example,!head.*"));
    }
}
