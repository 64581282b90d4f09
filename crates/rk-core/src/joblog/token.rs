//! Whole tokens. A value in a log is taken whole or not at all: `uprod_x$(id)` is not the user
//! `uprod_x`, `3.80.3.168x` is not an address, `32100abc` is not a port.
//!
//! A token starts after whitespace, a non-ASCII character (CJK text touches values directly),
//! or punctuation that opens a value (`(` `[` `{` `<` a quote, and the `:` `=` `@` `,` `|` that
//! end a label). It ends at whitespace, a non-ASCII character, `,` `)` `]` `}` (which end a
//! field), the quote that opened it, or — for a user name — the `@` of `user@host`. Sentence
//! punctuation (`.` `;` `:` `|` `>`) ends it only when it comes last, before one of those: `uprod_x;` is `uprod_x`, `uprod_x;rm -rf ~` is one (invalid) token.

/// Backticks are not quotes here: in a shell they run a command (`` `reboot` ``).
const QUOTES: &str = "\"'";

/// Characters that end the previous word or open a value, so a token may start after them.
fn opens(c: char) -> bool {
    c.is_whitespace() || !c.is_ascii() || "([{\"'<:=@,|".contains(c)
}

/// Punctuation left out when it comes last in a token (quotes only when they close it).
fn trailing(c: char) -> bool {
    ".;:|>".contains(c)
}

/// Where a token that contains `at` starts: after the nearest opener to its left.
pub(super) fn start_before(text: &str, at: usize) -> usize {
    text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| opens(c))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// The quote a token starting at `start` was opened by, if any.
fn opening_quote(text: &str, start: usize) -> Option<char> {
    text[..start]
        .chars()
        .next_back()
        .filter(|c| QUOTES.contains(*c))
}

/// Where a token that goes on at `from` ends (see the module doc), less trailing punctuation.
pub(super) fn end_after(text: &str, start: usize, from: usize, stop_at_at: bool) -> usize {
    let quote = opening_quote(text, start);
    // A closing quote ends the token only if nothing is glued after it (`"uprod_x"x` is one
    // token).
    let closes_quote = |i: usize| {
        text[i + 1..]
            .chars()
            .next()
            .is_none_or(|n| n.is_whitespace() || !n.is_ascii() || ",;:.)]}|>".contains(n))
    };
    let run_end = text[from..]
        .char_indices()
        .find(|&(i, c)| {
            c.is_whitespace()
                || !c.is_ascii()
                || ",)]}".contains(c)
                || (Some(c) == quote && closes_quote(from + i))
                || (stop_at_at && c == '@')
        })
        .map_or(text.len(), |(i, _)| from + i);
    let mut end = run_end;
    while let Some(c) = text[from..end].chars().next_back()
        && (trailing(c)
            || Some(c) == quote
            // A quote closing something opened before the token (`"… port 22"}` in JSON),
            // when nothing but a field's end follows it.
            || (QUOTES.contains(c) && end == run_end))
    {
        end -= 1;
    }
    end
}

/// Where the value after a label starts: opening punctuation skipped.
pub(super) fn value_start(text: &str, from: usize) -> usize {
    text[from..]
        .char_indices()
        .find(|&(_, c)| !"([{<".contains(c) && !QUOTES.contains(c))
        .map_or(text.len(), |(i, _)| from + i)
}

/// The token that begins at `from` (after a label): leading opening punctuation skipped.
pub(super) fn from(text: &str, from: usize, stop_at_at: bool) -> &str {
    let start = value_start(text, from);
    &text[start..end_after(text, start, start, stop_at_at)]
}

/// The whole token around `text[start..end]` (a regex match): what a reader would take as
/// one word there.
pub(super) fn around(text: &str, start: usize, end: usize, stop_at_at: bool) -> &str {
    let s = start_before(text, start);
    let e = end_after(text, s, end.max(s), stop_at_at).max(end.min(text.len()));
    &text[s..e]
}

/// The run of characters around `at` as written (nothing stripped), for messages.
pub(super) fn run_around(text: &str, at: usize, stop_at_at: bool) -> &str {
    let run = run_from(text, start_before(text, at));
    match run.split_once('@') {
        Some((user, _)) if stop_at_at => user,
        _ => run,
    }
}

/// The run of characters from `at` to the next whitespace or non-ASCII character, as written.
pub(super) fn run_from(text: &str, at: usize) -> &str {
    let end = text[at..]
        .char_indices()
        .find(|&(_, c)| c.is_whitespace() || !c.is_ascii())
        .map_or(text.len(), |(i, _)| at + i);
    &text[at..end]
}

/// The whitespace-separated word around `at` when it starts with `-`, as an option of ssh or
/// plink would (`-oProxyCommand=x@3.80.3.168`).
pub(super) fn option_word(text: &str, at: usize) -> Option<&str> {
    let word_start = text[..at]
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || !c.is_ascii())
        .map_or(0, |(i, c)| i + c.len_utf8());
    text[word_start..]
        .starts_with('-')
        .then(|| run_from(text, word_start))
}

/// Whether the match `text[start..end]` is a whole token: nothing glued to it on either side,
/// and not part of a word that starts with `-` (nothing rk prints may start an option of ssh or
/// plink: `-oProxyCommand=x@3.80.3.168` gives neither a user nor a host).
pub(super) fn is_whole(text: &str, start: usize, end: usize, stop_at_at: bool) -> bool {
    option_word(text, start).is_none()
        && start_before(text, start) == start
        && end_after(text, start, end, stop_at_at) == end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str, needle: &str) -> bool {
        let start = text.find(needle).unwrap();
        is_whole(text, start, start + needle.len(), true)
    }

    #[test]
    fn glued_characters_make_another_token() {
        assert!(whole("user uprod_x, ok", "uprod_x"));
        assert!(whole("user uprod_x.", "uprod_x"));
        assert!(whole("(uprod_x)", "uprod_x"));
        assert!(!whole("`uprod_x`", "uprod_x"));
        assert!(whole("ユーザー名:uprod_x、IP", "uprod_x"));
        assert!(whole("uprod_x@3.80.3.168", "uprod_x"));
        assert!(whole(r#""public_ip":"34.5.6.8","port":22"#, "34.5.6.8"));
        assert!(whole("user=uprod_x,ip=1.2.3.4", "uprod_x"));
        assert!(!whole("uprod_x;rm -rf ~", "uprod_x"));
        assert!(!whole("uprod_x$(reboot)", "uprod_x"));
        assert!(!whole("uprod_x`id`", "uprod_x"));
        assert!(!whole("uprod_x|sh", "uprod_x"));
        assert!(!whole("uprod_x&&reboot", "uprod_x"));
        assert!(!whole("a;uprod_x", "uprod_x"));
        assert!(!whole("-uprod_x", "uprod_x"));
        assert!(!whole("-oProxyCommand=x@3.80.3.168", "x"));
        assert!(!whole("-oProxyCommand=x@3.80.3.168", "3.80.3.168"));
    }

    #[test]
    fn tokens_after_labels() {
        assert_eq!(from("'uprod_x'.", 0, true), "uprod_x");
        assert_eq!(from("uprod_x$(id)", 0, true), "uprod_x$(id");
        assert_eq!(from("32100。", 0, false), "32100");
        assert_eq!(from("32100abc", 0, false), "32100abc");
        assert_eq!(around("ip=3.80.3.168x now", 3, 13, false), "3.80.3.168x");
        assert_eq!(around("see 3.80.3.168.5", 4, 14, false), "3.80.3.168.5");
    }
}
