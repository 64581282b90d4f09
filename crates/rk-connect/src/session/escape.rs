//! Escape sequences of an interactive session, as OpenSSH has them: after a newline (or at the
//! start), the escape character (`~` unless `-e`) followed by `.` disconnects, `?` lists the
//! escapes, `#` lists the forwards and connections, `C` opens a command line (to add or cancel
//! forwards), and a second `~` sends one `~`. Anything else passes through unchanged: a `~` not
//! after a newline, or a `~` followed by another character (both are sent).
//!
//! The command line is edited here, on raw-mode input: typed characters are echoed, Backspace
//! erases one, Ctrl-U the line, Enter runs it, Ctrl-C (or Ctrl-D on an empty line) abandons it.
//! Nothing typed on it reaches the remote side.

/// What the typed bytes amount to, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Bytes for the remote side.
    Data(Vec<u8>),
    /// `~.`: end the session now.
    Disconnect,
    /// `~?`: show the escapes.
    Help,
    /// `~#`: show the forwards and connections.
    Connections,
    /// For the terminal only (the command line's prompt and echo).
    Echo(Vec<u8>),
    /// `~C`: a command line the user entered (without its newline).
    Command(String),
}

/// The prompt of the `~C` command line.
pub(crate) const PROMPT: &str = "rk-connect> ";

/// Reads typed bytes and pulls out the escape sequences.
pub(crate) struct Escapes {
    escape: u8,
    at_line_start: bool,
    /// The escape character was typed at a line start; the next byte decides.
    pending: bool,
    /// `~C`: the command line being typed.
    line: Option<CommandLine>,
}

#[derive(Default)]
struct CommandLine {
    text: Vec<u8>,
    /// Where in a terminal escape sequence (an arrow key, say) input is: those are swallowed,
    /// not typed.
    sequence: Sequence,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Sequence {
    #[default]
    None,
    /// After ESC.
    Esc,
    /// After ESC [: parameters until a final byte (0x40–0x7e).
    Csi,
    /// After ESC O: one more byte.
    Ss3,
}

/// How a command line byte left it.
enum Edit {
    Typing,
    Enter,
    Abandon,
}

impl CommandLine {
    fn edit(&mut self, b: u8, echo: &mut Vec<u8>) -> Edit {
        self.sequence = match (self.sequence, b) {
            (Sequence::None, _) => Sequence::None,
            (Sequence::Esc, b'[') => Sequence::Csi,
            (Sequence::Esc, b'O') => Sequence::Ss3,
            (Sequence::Csi, 0x20..=0x3f) => Sequence::Csi,
            _ => return self.end_sequence(),
        };
        if self.sequence != Sequence::None {
            return Edit::Typing;
        }
        match b {
            b'\r' | b'\n' => return Edit::Enter,
            0x03 => return Edit::Abandon,
            0x04 if self.text.is_empty() => return Edit::Abandon,
            0x7f | 0x08 => self.erase_char(echo),
            0x15 => {
                while !self.text.is_empty() {
                    self.erase_char(echo);
                }
            }
            0x1b => self.sequence = Sequence::Esc,
            b if b < 0x20 => {}
            b => {
                self.text.push(b);
                echo.push(b);
            }
        }
        Edit::Typing
    }

    fn end_sequence(&mut self) -> Edit {
        self.sequence = Sequence::None;
        Edit::Typing
    }

    /// Erases the last character (all bytes of a UTF-8 one) and its cell on the terminal.
    fn erase_char(&mut self, echo: &mut Vec<u8>) {
        let Some(mut last) = self.text.pop() else {
            return;
        };
        while last & 0xc0 == 0x80 {
            match self.text.pop() {
                Some(b) => last = b,
                None => break,
            }
        }
        echo.extend_from_slice(b"\x08 \x08");
    }
}

impl Escapes {
    pub(crate) fn new(escape: u8) -> Escapes {
        Escapes {
            escape,
            at_line_start: true,
            pending: false,
            line: None,
        }
    }

    /// The escape character (for `~?`'s text).
    pub(crate) fn escape_char(&self) -> u8 {
        self.escape
    }

    pub(crate) fn feed(&mut self, input: &[u8]) -> Vec<Event> {
        let mut events = Vec::new();
        let mut data = Vec::with_capacity(input.len());
        for &b in input {
            if let Some(line) = self.line.as_mut() {
                let mut echo = Vec::new();
                let edit = line.edit(b, &mut echo);
                if !echo.is_empty() {
                    events.push(Event::Echo(echo));
                }
                match edit {
                    Edit::Typing => {}
                    Edit::Enter => {
                        let text = String::from_utf8_lossy(&line.text).into_owned();
                        self.line = None;
                        events.push(Event::Echo(b"\r\n".to_vec()));
                        events.push(Event::Command(text));
                    }
                    Edit::Abandon => {
                        self.line = None;
                        events.push(Event::Echo(b"\r\n".to_vec()));
                    }
                }
                continue;
            }
            if self.pending {
                self.pending = false;
                let command = match b {
                    b'.' => Some(Event::Disconnect),
                    b'?' => Some(Event::Help),
                    b'#' => Some(Event::Connections),
                    b'C' => {
                        self.line = Some(CommandLine::default());
                        Some(Event::Echo(format!("\r\n{PROMPT}").into_bytes()))
                    }
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
         {escape}C   - open a command line (add or cancel forwards)\r\n \
         {escape}#   - list forwards and forwarded connections\r\n \
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

    fn echo(s: &str) -> Event {
        Echo(s.as_bytes().to_vec())
    }

    /// The command line's events, with the echo joined up: (what the terminal shows, commands).
    fn typed(e: &mut Escapes, input: &[u8]) -> (String, Vec<Event>) {
        let mut shown = Vec::new();
        let mut rest = Vec::new();
        for event in e.feed(input) {
            match event {
                Echo(bytes) => shown.extend(bytes),
                other => rest.push(other),
            }
        }
        (String::from_utf8(shown).unwrap(), rest)
    }

    #[test]
    fn command_line_after_tilde_c() {
        let mut e = Escapes::new(b'~');
        assert_eq!(e.feed(b"~C"), vec![echo(&format!("\r\n{PROMPT}"))]);
        let (shown, rest) = typed(&mut e, b"-L 80:web:80\r");
        assert_eq!(shown, "-L 80:web:80\r\n");
        assert_eq!(rest, vec![Command("-L 80:web:80".into())]);
        // Back to normal, at a line start: the next ~. is an escape again, keystrokes pass.
        assert_eq!(e.feed(b"ls\r"), vec![data("ls\r")]);
        let mut e = Escapes::new(b'~');
        assert_eq!(
            typed(&mut e, b"~C-KR 1\r~.").1,
            vec![Command("-KR 1".into()), Disconnect]
        );
    }

    #[test]
    fn command_line_editing() {
        let mut e = Escapes::new(b'~');
        // Backspace erases one character (a whole UTF-8 one), Ctrl-U the line.
        let (shown, rest) = typed(&mut e, "~C-Lx\x7f é\x7f\x7f 8\r".as_bytes());
        assert_eq!(
            shown,
            format!("\r\n{PROMPT}-Lx\x08 \x08 é\x08 \x08\x08 \x08 8\r\n")
        );
        assert_eq!(rest, vec![Command("-L 8".into())]);
        let (_, rest) = typed(&mut e, b"~Cabc\x15-D 1\r");
        assert_eq!(rest, vec![Command("-D 1".into())]);
        // Arrow keys (CSI and SS3 forms) are swallowed, not typed.
        let (shown, rest) = typed(&mut e, b"~C-\x1b[D\x1bOAK\x1b[1;5CL 2\r");
        assert_eq!(shown, format!("\r\n{PROMPT}-KL 2\r\n"));
        assert_eq!(rest, vec![Command("-KL 2".into())]);
    }

    #[test]
    fn command_line_abandoned() {
        let mut e = Escapes::new(b'~');
        // Ctrl-C: nothing runs, nothing reaches the remote side.
        let (shown, rest) = typed(&mut e, b"~C-L 1\x03");
        assert_eq!(shown, format!("\r\n{PROMPT}-L 1\r\n"));
        assert!(rest.is_empty());
        // Ctrl-D only on an empty line.
        let (_, rest) = typed(&mut e, b"~C\x04");
        assert!(rest.is_empty());
        assert_eq!(e.feed(b"x"), vec![data("x")]);
        // Split across reads, the line keeps its text.
        let mut e = Escapes::new(b'~');
        typed(&mut e, b"\n~C-K");
        assert_eq!(typed(&mut e, b"D 9\n").1, vec![Command("-KD 9".into())]);
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
