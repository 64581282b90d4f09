//! The user's terminal, reached even when stdin and stdout are pipes: for questions that must
//! not eat piped input (a host key's fingerprint, "login as:"), for OSC 52, and to put its
//! settings back after an interrupted prompt. Unix: `/dev/tty` and its termios settings.
//! Windows: the console's `CONIN$`/`CONOUT$` and their console modes.

use std::fs::File;
use std::io;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// What the user types on the terminal.
pub fn input() -> io::Result<File> {
    sys::input()
}

/// What the user sees on the terminal.
pub fn output() -> io::Result<File> {
    sys::output()
}

/// The name of the terminal in messages (`/dev/tty`, `the console`).
pub const NAME: &str = sys::NAME;

/// The terminal's settings at one moment (echo, line mode, …), to put back later.
pub struct Saved(sys::Saved);

impl Saved {
    /// `None` when there is no terminal.
    pub fn capture() -> Option<Saved> {
        sys::Saved::capture().map(Saved)
    }

    /// Puts the settings back (best effort: nothing useful can be done if it fails).
    pub fn restore(&self) {
        self.0.restore()
    }
}
