//! Informational messages on stderr (which port answered, a host key remembered, forwards
//! opened), which `-q` (or `LogLevel QUIET` in ssh config) turns off as with ssh. Warnings and
//! errors are not notices: they are always shown.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_quiet(on: bool) {
    QUIET.store(on, Ordering::Relaxed);
}

pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `eprintln!` unless quiet.
macro_rules! notice {
    ($($arg:tt)*) => {
        if !$crate::notice::quiet() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use notice;
