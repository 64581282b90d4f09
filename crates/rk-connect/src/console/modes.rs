//! The console-mode arithmetic of a Windows session, as plain data so that it is tested on
//! every platform (windows.rs checks at compile time that these are the Win32 values).

/// Console input mode flags (`SetConsoleMode` on the input handle).
pub(crate) mod input {
    pub(crate) const PROCESSED: u32 = 0x0001;
    pub(crate) const LINE: u32 = 0x0002;
    pub(crate) const ECHO: u32 = 0x0004;
    pub(crate) const VIRTUAL_TERMINAL: u32 = 0x0200;
}

/// Console output mode flags (`SetConsoleMode` on the screen buffer).
pub(crate) mod output {
    pub(crate) const VIRTUAL_TERMINAL_PROCESSING: u32 = 0x0004;
    pub(crate) const DISABLE_NEWLINE_AUTO_RETURN: u32 = 0x0008;
}

/// The input mode of a session: no echo, no line editing, Ctrl-C as the byte 0x03 (for the
/// remote program, not for rk-connect), keys as VT escape sequences (arrows as `ESC [ A`…).
/// Other flags (mouse, window events, quick edit) are left as the user had them.
pub(crate) fn raw_input(mode: u32) -> u32 {
    (mode & !(input::PROCESSED | input::LINE | input::ECHO)) | input::VIRTUAL_TERMINAL
}

/// The output mode of a session: the remote side's escape sequences interpreted (colours,
/// cursor moves, `top`, `vim`) and no carriage return added after a line feed (the remote pty
/// sends its own).
pub(crate) fn vt_output(mode: u32) -> u32 {
    mode | output::VIRTUAL_TERMINAL_PROCESSING | output::DISABLE_NEWLINE_AUTO_RETURN
}

/// The visible window of a screen buffer, from its `srWindow` rectangle (inclusive edges): the
/// size the remote pty should have, not the scroll-back buffer's.
pub(crate) fn window_of(left: i16, top: i16, right: i16, bottom: i16) -> Option<(u32, u32)> {
    let cols = i32::from(right) - i32::from(left) + 1;
    let rows = i32::from(bottom) - i32::from(top) + 1;
    (cols > 0 && rows > 0).then_some((cols as u32, rows as u32))
}

/// Turns polled window sizes into resize events: a size is reported once, when it differs from
/// the last one seen; a failed poll (`None`) is no event.
pub(crate) struct SizeWatch {
    last: Option<(u32, u32)>,
}

impl SizeWatch {
    pub(crate) fn new(now: Option<(u32, u32)>) -> SizeWatch {
        SizeWatch { last: now }
    }

    pub(crate) fn changed(&mut self, now: Option<(u32, u32)>) -> Option<(u32, u32)> {
        if now.is_some() && now != self.last {
            self.last = now;
            return now;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUSE: u32 = 0x0010;
    const WINDOW: u32 = 0x0008;
    const QUICK_EDIT: u32 = 0x0040;

    #[test]
    fn raw_input_turns_off_cooking_and_on_vt_keys() {
        // What a classic console starts with.
        let cooked = input::PROCESSED | input::LINE | input::ECHO | MOUSE | WINDOW | QUICK_EDIT;
        let raw = raw_input(cooked);
        assert_eq!(raw & (input::PROCESSED | input::LINE | input::ECHO), 0);
        assert_eq!(raw & input::VIRTUAL_TERMINAL, input::VIRTUAL_TERMINAL);
        assert_eq!(
            raw & (MOUSE | WINDOW | QUICK_EDIT),
            MOUSE | WINDOW | QUICK_EDIT
        );
        // Idempotent: enabling twice changes nothing more.
        assert_eq!(raw_input(raw), raw);
    }

    #[test]
    fn vt_output_keeps_what_was_there() {
        let processed_and_wrap = 0x0001 | 0x0002;
        let out = vt_output(processed_and_wrap);
        assert_eq!(
            out,
            processed_and_wrap
                | output::VIRTUAL_TERMINAL_PROCESSING
                | output::DISABLE_NEWLINE_AUTO_RETURN
        );
    }

    #[test]
    fn window_not_buffer() {
        // A 120-column window scrolled to the bottom of a 9001-line buffer.
        assert_eq!(window_of(0, 8970, 119, 9000), Some((120, 31)));
        assert_eq!(window_of(5, 0, 4, 10), None);
    }

    #[test]
    fn resize_events_once_per_change() {
        let mut watch = SizeWatch::new(Some((80, 24)));
        assert_eq!(watch.changed(Some((80, 24))), None);
        assert_eq!(watch.changed(Some((100, 30))), Some((100, 30)));
        assert_eq!(watch.changed(Some((100, 30))), None);
        assert_eq!(watch.changed(None), None, "a failed poll is no event");
        assert_eq!(watch.changed(Some((80, 24))), Some((80, 24)));
    }
}
