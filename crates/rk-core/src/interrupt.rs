//! Ctrl-C, SIGTERM and SIGHUP (on Windows: Ctrl-C, Ctrl-Break, closing the console) at any moment leave no half-written files and no dead terminal.
//!
//! Key files are written to a temporary file and renamed (see [`crate::fs::StagedFile`]); a
//! signal between the two would leave `.id_rsa.rk-tmp-…` behind. And `rpassword` turns echo
//! off while a passphrase is typed, then on Ctrl-C raises SIGINT *before* restoring the
//! terminal, so without help the shell is left without echo.
//!
//! [`install`] asks the platform seam ([`crate::platform::interrupt`]) to deliver those
//! interrupts to ordinary code (not to a signal handler). It removes
//! every temporary file still registered, puts the terminal back as it was when rk started, and
//! then dies of the same signal (default action), so the shell sees the usual status (130 for
//! Ctrl-C). A program that handles a signal itself from some point on (rk-connect's tunnels end
//! cleanly on Ctrl-C) calls [`defer_to_program`]: the cleanup still runs, the exit is left to it.
//!
//! The terminal is restored to its state at [`install`]; a program that later changes it on
//! purpose (rk-connect's raw mode for a remote shell) restores it itself as well.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::platform::interrupt::{self as platform, Interrupt};
use crate::platform::terminal;

struct State {
    temps: Vec<PathBuf>,
    /// The terminal's settings when rk started.
    terminal: Option<terminal::Saved>,
}

static STATE: Mutex<State> = Mutex::new(State {
    temps: Vec::new(),
    terminal: None,
});
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The interrupts ([`Interrupt::bit`]) that the program handles itself.
static DEFERRED: AtomicU8 = AtomicU8::new(0);

/// Starts the cleanup (once per process; later calls do nothing).
pub fn install() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    STATE.lock().unwrap_or_else(|e| e.into_inner()).terminal = terminal::Saved::capture();
    // Without it rk still works; it only loses this cleanup.
    let _ = platform::install(|interrupt| {
        clean_up();
        DEFERRED.load(Ordering::SeqCst) & interrupt.bit() != 0
    });
}

/// Lets go of the terminal kept for restoring its settings: for a process that leaves the
/// terminal (`rk-connect -f`), which must hold nothing open on it once it is gone.
pub fn forget_terminal() {
    STATE.lock().unwrap_or_else(|e| e.into_inner()).terminal = None;
}

/// From now on the program handles these interrupts itself (files and the terminal are still
/// cleaned up first; the program decides how to exit).
pub fn defer_to_program(interrupts: &[Interrupt]) {
    for interrupt in interrupts {
        DEFERRED.fetch_or(interrupt.bit(), Ordering::SeqCst);
    }
}

/// Removes the registered temporary files and restores the terminal.
pub fn clean_up() {
    remove_temps(|_| true);
    let state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(saved) = &state.terminal {
        saved.restore();
    }
}

/// Removes the registered temporary files that `which` selects (all of them on a signal; tests
/// select their own, since other tests in the same process stage files concurrently).
fn remove_temps(which: impl Fn(&Path) -> bool) {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    state.temps.retain(|temp| {
        if which(temp) {
            let _ = std::fs::remove_file(temp);
            false
        } else {
            true
        }
    });
}

/// A temporary file that must not outlive an interrupted rk (registered before it is created).
pub(crate) fn track(path: &Path) {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    state.temps.push(path.to_path_buf());
}

/// The file was renamed into place or removed: nothing to clean up any more.
pub(crate) fn untrack(path: &Path) {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    state.temps.retain(|p| p != path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_up_removes_tracked_temp_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let tracked = dir.path().join(".k.rk-tmp-1");
        let done = dir.path().join(".k.rk-tmp-2");
        let other = dir.path().join("id_rsa");
        for p in [&tracked, &done, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        track(&tracked);
        track(&done);
        untrack(&done);
        remove_temps(|p| p.starts_with(dir.path()));
        assert!(!tracked.exists());
        assert!(done.exists() && other.exists());
    }
}
