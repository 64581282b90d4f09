//! Ctrl-C, SIGTERM and SIGHUP at any moment leave no half-written files and no dead terminal.
//!
//! Key files are written to a temporary file and renamed (see [`crate::fs::StagedFile`]); a
//! signal between the two would leave `.id_rsa.rk-tmp-…` behind. And `rpassword` turns echo
//! off while a passphrase is typed, then on Ctrl-C raises SIGINT *before* restoring the
//! terminal, so without help the shell is left without echo.
//!
//! [`install`] starts one thread that waits for those signals (signal-hook: the handler only
//! writes to a pipe, so the cleanup runs in ordinary code, not in a signal handler). It removes
//! every temporary file still registered, puts the terminal back as it was when rk started, and
//! then dies of the same signal (default action), so the shell sees the usual status (130 for
//! Ctrl-C). A program that handles a signal itself from some point on (rk-connect's tunnels end
//! cleanly on Ctrl-C) calls [`defer_to_program`]: the cleanup still runs, the exit is left to it.
//!
//! The terminal is restored to its state at [`install`]; a program that later changes it on
//! purpose (rk-connect's raw mode for a remote shell) restores it itself as well.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct State {
    temps: Vec<PathBuf>,
    /// The terminal's settings when rk started (fd of /dev/tty, settings).
    terminal: Option<(std::fs::File, libc::termios)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    temps: Vec::new(),
    terminal: None,
});
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Bit N set: signal N is handled by the program itself.
static DEFERRED: AtomicU64 = AtomicU64::new(0);

/// Starts the cleanup thread (once per process; later calls do nothing).
pub fn install() {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    save_terminal();
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        // Without the thread rk still works; it only loses this cleanup.
        return;
    };
    let _ = std::thread::Builder::new()
        .name("rk-interrupt".into())
        .spawn(move || {
            for signal in signals.forever() {
                clean_up();
                if DEFERRED.load(Ordering::SeqCst) & (1 << signal) == 0 {
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                    // Only reached if the default action is to ignore the signal.
                    std::process::exit(128 + signal);
                }
            }
        });
}

/// From now on the program handles these signals itself (files and the terminal are still
/// cleaned up first; the program decides how to exit).
pub fn defer_to_program(signals: &[i32]) {
    for &signal in signals {
        if (0..64).contains(&signal) {
            DEFERRED.fetch_or(1 << signal, Ordering::SeqCst);
        }
    }
}

/// Removes the registered temporary files and restores the terminal.
pub fn clean_up() {
    remove_temps(|_| true);
    let state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((tty, settings)) = &state.terminal {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid fd we own and a termios struct filled by tcgetattr.
        unsafe {
            libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, settings);
        }
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

fn save_terminal() {
    use std::os::fd::AsRawFd;
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return;
    };
    // SAFETY: tcgetattr fills the zeroed struct for a valid fd.
    let mut settings: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut settings) } == 0 {
        STATE.lock().unwrap_or_else(|e| e.into_inner()).terminal = Some((tty, settings));
    }
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
