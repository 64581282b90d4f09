//! One line of an ssh config file split as OpenSSH splits it (`readconf.c`, `misc.c`
//! `argv_split`): a keyword, then arguments. The keyword ends at whitespace or one `=`;
//! arguments are separated by whitespace, may be quoted with `"` or `'`, take `\` escapes of a
//! quote, a backslash or a space, and a `#` that starts an argument ends the line.

/// A config line's keyword (lowercased) and its arguments; `None` for blank and comment lines.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) keyword: String,
    pub(crate) args: Vec<String>,
}

/// Why a line could not be split.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineError {
    /// `Keyword` with nothing after it.
    NoArgument(String),
    /// A quote opened and never closed.
    UnclosedQuote(String),
}

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

pub(crate) fn split(line: &str) -> Result<Option<Line>, LineError> {
    // Trailing whitespace (and form feeds) go; leading whitespace before the keyword too.
    let line = line.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
    let line = line.trim_start_matches(WHITESPACE);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let end = line
        .find(|c| WHITESPACE.contains(&c) || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..end].to_ascii_lowercase();
    // After the keyword: whitespace, at most one '=', whitespace.
    let mut rest = line[end..].trim_start_matches(WHITESPACE);
    if let Some(after) = rest.strip_prefix('=') {
        rest = after.trim_start_matches(WHITESPACE);
    }
    if rest.is_empty() {
        return Err(LineError::NoArgument(keyword));
    }
    let args = split_args(rest).ok_or_else(|| LineError::UnclosedQuote(keyword.clone()))?;
    Ok(Some(Line { keyword, args }))
}

/// `argv_split(s, …, terminate_on_comment = 1)`; `None` when a quote is left open.
fn split_args(s: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if c == '\\' {
                match next {
                    Some(n @ ('\'' | '"' | '\\')) => {
                        arg.push(n);
                        i += 1;
                    }
                    Some(' ') if quote.is_none() => {
                        arg.push(' ');
                        i += 1;
                    }
                    _ => arg.push('\\'),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if quote.is_some() {
            return None;
        }
        args.push(arg);
    }
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> (String, Vec<String>) {
        let l = split(line).unwrap().unwrap();
        (l.keyword, l.args)
    }

    #[test]
    fn keyword_is_lowercased_and_ends_at_space_or_equals() {
        assert_eq!(
            args("  HostName  1.2.3.4 "),
            ("hostname".into(), vec!["1.2.3.4".into()])
        );
        assert_eq!(args("Port=2222"), ("port".into(), vec!["2222".into()]));
        assert_eq!(args("Port = 2222"), ("port".into(), vec!["2222".into()]));
        assert_eq!(args("\tUser\tbob\r"), ("user".into(), vec!["bob".into()]));
    }

    #[test]
    fn quotes_escapes_and_comments_as_openssh() {
        assert_eq!(args(r#"User "a b""#).1, vec!["a b"]);
        assert_eq!(args("User 'a b' c").1, vec!["a b", "c"]);
        assert_eq!(args(r"IdentityFile a\ b").1, vec!["a b"]);
        assert_eq!(args(r#"X a\"b"#).1, vec![r#"a"b"#]);
        assert_eq!(args(r"X a\nb").1, vec![r"a\nb"]);
        assert_eq!(args("Port 22 # the default").1, vec!["22"]);
        assert_eq!(args("Host a#b").1, vec!["a#b"]);
        assert_eq!(
            args(r#"Match exec "test %h = x""#).1,
            vec!["exec", "test %h = x"]
        );
    }

    #[test]
    fn blank_and_comment_lines_are_nothing() {
        assert_eq!(split(""), Ok(None));
        assert_eq!(split("   \t"), Ok(None));
        assert_eq!(split("# Host x"), Ok(None));
        assert_eq!(split("   #x"), Ok(None));
    }

    #[test]
    fn errors_name_the_keyword() {
        assert_eq!(split("Port"), Err(LineError::NoArgument("port".into())));
        assert_eq!(split("Port ="), Err(LineError::NoArgument("port".into())));
        assert_eq!(
            split(r#"User "bob"#),
            Err(LineError::UnclosedQuote("user".into()))
        );
    }
}
