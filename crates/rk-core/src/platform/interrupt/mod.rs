//! Ctrl-C and its relatives, delivered to ordinary code (never run inside a signal handler).
//! Unix: SIGINT, SIGTERM and SIGHUP through signal-hook's self-pipe thread. Windows: console
//! control events (Ctrl-C, Ctrl-Break, closing the window, logoff, shutdown), which Windows
//! delivers on a thread of their own.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// What interrupted the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// Ctrl-C (SIGINT; CTRL_C_EVENT or CTRL_BREAK_EVENT).
    CtrlC,
    /// Asked to stop (SIGTERM; logoff or shutdown).
    Terminate,
    /// The terminal went away (SIGHUP; the console window was closed).
    Hangup,
}

impl Interrupt {
    /// A bit for sets of interrupts.
    pub const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// Calls `handler` on every interrupt. When it returns `false` the process then ends the way
/// that interrupt ends it (Unix: it dies of the signal, so the shell reports 130 for Ctrl-C;
/// Windows: exit status 130 as well); `true` means the program handles it itself.
/// Returns `false` if the platform would not install it (rk then works without the cleanup).
pub fn install(handler: fn(Interrupt) -> bool) -> bool {
    sys::install(handler)
}
