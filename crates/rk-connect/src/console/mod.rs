//! The local side of an interactive session, one seam per platform: raw mode (restored by a
//! guard on every exit path), the window size and its changes, the events that end a session
//! (SIGTERM/SIGHUP; closing the console window), and writing the remote side's bytes unchanged.
//!
//! `unix.rs`: termios, TIOCGWINSZ, SIGWINCH. `windows.rs`: console modes with virtual-terminal
//! input and output (arrow keys and colours as escape sequences, as Windows OpenSSH does),
//! UTF-8 code pages, and the window size polled (the console reports resizes only as input
//! records, which would mix with the keystrokes read as bytes).

use std::io::IsTerminal;

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

pub(crate) use platform::{EndEvents, RawMode, Resizes, stderr, stdout, window_size};

/// Whether stdin is a terminal (or console) a person types on.
pub(crate) fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
