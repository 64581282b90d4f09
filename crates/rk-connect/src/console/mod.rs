//! The local side of an interactive session, one seam per platform: raw mode (restored by a
//! guard on every exit path), the window size and its changes, the events that end a session
//! (SIGTERM/SIGHUP; closing the console window), and writing the remote side's bytes unchanged.
//!
//! `unix.rs`: termios, TIOCGWINSZ, SIGWINCH. `windows.rs`: console modes with virtual-terminal
//! input and output (arrow keys and colours as escape sequences, as Windows OpenSSH does),
//! UTF-8 code pages, and the window size polled (the console reports resizes only as input
//! records, which would mix with the keystrokes read as bytes).

use std::io::{self, IsTerminal, Read, Write};
use std::mem::ManuallyDrop;

#[cfg_attr(unix, allow(dead_code))]
mod modes;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub(crate) use platform::{EndEvents, RawMode, Resizes, window_size};

/// Standard output or error, written straight to the descriptor (no line buffering, bytes
/// unchanged). The program that started rk-connect may have left the descriptor non-blocking:
/// rsync does for its remote shell unless `--blocking-io` (rsync(1)). A write that would block
/// then waits until the descriptor takes bytes again, as ssh's poll loop does, instead of
/// failing and ending the session.
pub(crate) struct Stream(ManuallyDrop<std::fs::File>);

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => platform::wait_ready(&self.0)?,
                done => return done,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

pub(crate) fn stdout() -> Stream {
    Stream(platform::stdout())
}

pub(crate) fn stderr() -> Stream {
    Stream(platform::stderr())
}

/// Reads standard input; a descriptor left non-blocking by the parent is waited on, not
/// taken for the end of input.
pub(crate) fn read_stdin(stdin: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stdin.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => platform::wait_stdin()?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

/// Whether stdin is a terminal (or console) a person types on.
pub(crate) fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
