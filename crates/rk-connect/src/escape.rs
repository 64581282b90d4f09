//! Escape sequences of an interactive session, as OpenSSH has them: after a newline (or at the
//! start), the escape character (`~` unless `-e`) followed by `.` disconnects, `?` lists the
//! escapes, `#` lists the forwarded connections, and a second `~` sends one `~`. Anything else
//! passes through unchanged: a `~` not after a newline, or a `~` followed by another character
//! (both are sent).

/// What the typed bytes amount to, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Bytes for the remote side.
    Data(Vec<u8>),
    /// `~.`: end the session now.
    Disconnect,
    /// `~?`: show the escapes.
    Help,
    /// `~#`: show the forwarded connections.
    Connections,
}

/// Reads typed bytes and pulls out the escape sequences.
pub(crate) struct Escapes {
    escape: u8,
    at_line_start: bool,
    /// The escape character was typed at a line start; the next byte decides.
    pending: bool,
}

impl Escapes {
    pub(crate) fn new(escape: u8) -> Escapes {
        Escapes {
            escape,
            at_line_start: true,
            pending: false,
        }
    }

    pub(crate) fn feed(&mut self, input: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut data = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending {
                self.pending = false;
                let command = match b {
                    b'.' => Some(Event::Disconnect),
                    b'?' => Some(Event::Help),
                    b'#' => Some(Event::Connections),
                    _ => None,
                };
                if let Some(event) = command {
                    if !data.is_empty() {
                        events.push(Event::Data(std::mem::take(&mut data)));
                    }
                    events.push(event);
                    // As ssh: after a command, the line still counts as just started.
                    self.at_line_start = true;
                    continue;
                }
                if b == self.escape {
                    // `~~`: one `~`.
                    data.push(b);
                    self.at_line_start = false;
                    continue;
                }
                // Not a command: the escape character was meant literally.
                data.push(self.escape);
            } else if self.at_line_start && b == self.escape {
                self.pending = true;
                continue;
            }
            data.push(b);
            self.at_line_start = b == b'\r' || b == b'\n';
        }
        if !data.is_empty() {
            events.push(Event::Data(data));
        }
        events
    }
}

/// What `~?` shows (lines end in CRLF: the terminal is in raw mode).
pub(crate) fn help(escape: char) -> String {
    format!(
        "Supported escape sequences:\r\n \
         {escape}.   - terminate connection\r\n \
         {escape}#   - list forwarded connections\r\n \
         {escape}?   - this message\r\n \
         {escape}{escape}   - send the escape character by typing it twice\r\n\
         (Note that escapes are only recognized immediately after newline.)\r\n"
    )
}

/// `-e CHAR|none`: the escape character, or none.
pub(crate) fn parse(spec: &str) -> Result<Option<u8>, String> {
    match spec {
        "none" => Ok(None),
        s if s.len() == 1 && s.is_ascii() => Ok(Some(s.as_bytes()[0])),
        s if s.len() == 2 && s.starts_with('^') => {
            // `^X`: a control character, as ssh takes it.
            let c = s.as_bytes()[1].to_ascii_uppercase();
            if (b'@'..=b'_').contains(&c) {
                Ok(Some(c & 0x1f))
            } else {
                Err(format!("-e {s:?}: ^ takes a letter or one of @[\\]^_"))
            }
        }
        s => Err(format!(
            "-e {s:?}: give one character (e.g. -e '#'), ^X for a control character, or none"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::Event::*;
    use super::*;

    fn data(s: &str) -> Event {
        Data(s.as_bytes().to_vec())
    }

    #[test]
    fn commands_only_after_a_newline() {
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"~."), vec![Disconnect]);
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"ls\r~?"), vec![data("ls\r"), Help]);
        assert_eq!(e.feed(b"~#"), vec![Connections]);
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"a~.b"), vec![data("a~.b")]);
    }

    #[test]
    fn tildes_pass_through() {
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"~~"), vec![data("~")]);
        assert_eq!(
            e.feed(b"~"),
            vec![data("~")],
            "after ~~ the line has started: a ~ is plain"
        );
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"~x"), vec![data("~x")]);
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"a~b\n"), vec![data("a~b\n")]);
    }

    #[test]
    fn split_across_reads() {
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"echo\n~"), vec![data("echo\n")]);
        assert_eq!(e.feed(b"."), vec![Disconnect]);
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"\n~"), vec![data("\n")]);
        assert_eq!(e.feed(b"y"), vec![data("~y")]);
    }

    #[test]
    fn another_escape_character() {
        let mut e = Escapes::new(b'#');
        assert_eq!(e.feed(b"~."), vec![data("~.")]);
        let mut e = Escapes::new(b'#');
        assert_eq!(e.feed(b"#."), vec![Disconnect]);
        assert_eq!(parse("none"), Ok(None));
        assert_eq!(parse("#"), Ok(Some(b'#')));
        assert_eq!(parse("^]"), Ok(Some(0x1d)));
        assert!(parse("ab").is_err());
    }
}
