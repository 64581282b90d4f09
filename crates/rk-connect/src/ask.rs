//! Whether rk-connect may ask the user anything (a host key, a passphrase, a password, a login
//! name): only on a terminal, and never with `--batch` (ssh's `BatchMode yes`), which scripts
//! use to fail at once rather than wait for an answer nobody will type.

use std::sync::atomic::{AtomicBool, Ordering};

static BATCH: AtomicBool = AtomicBool::new(false);

/// Turns questions off for the rest of the run.
pub(crate) fn set_batch(on: bool) {
    BATCH.store(on, Ordering::Relaxed);
}

pub(crate) fn may_ask() -> bool {
    !BATCH.load(Ordering::Relaxed) && rk_core::term::have_tty()
}

/// Why a question cannot be asked, for messages: "…, and {why_not()}".
pub(crate) fn why_not() -> &'static str {
    if BATCH.load(Ordering::Relaxed) {
        "--batch (BatchMode) forbids asking"
    } else {
        "there is no terminal to ask"
    }
}
