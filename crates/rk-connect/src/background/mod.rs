//! `-f`: the run goes to the background once it is up, as `ssh -f`: the passphrase is asked on
//! the terminal, the login done and every `-L`/`-D`/`-R` forward listening (a forward that
//! fails is an error first, exit 255, as ssh's ExitOnForwardFailure), and only then does the
//! prompt come back while the tunnel or command lives on.
//!
//! How, on both platforms: rk-connect starts a copy of itself with the same arguments and the
//! same terminal, and waits. The copy does all the work (so questions are asked on the
//! terminal, by the process that will hold the keys), reports "up" on a pipe once ready and
//! leaves the terminal: on Unix a session of its own with standard input (and a terminal's
//! output) on /dev/null, so closing the terminal does not end it; on Windows it lets go of the
//! console. The first process then exits 0. If the copy fails before that, it has said why and
//! the first process exits with its status. Windows has no fork, and after a Unix fork a
//! tokio runtime would be missing its threads: a copy is the one way that is right on both.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

use std::io::{Read, Write};
use std::sync::Mutex;

use rk_ssh::Log;

/// Names the copy's end of the pipe (a descriptor or handle number) in the copy's environment.
const PIPE_ENV: &str = "RK_CONNECT_BACKGROUND_PIPE";
const UP: &[u8] = b"up\n";

/// In the copy: the pipe to report on, until the run is up.
static REPORT: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Called first with `-f`. In the process the user started: starts the copy, waits for its
/// word and returns the exit status to leave with. In the copy: takes the pipe and returns
/// None, so the run goes on.
pub(crate) fn start_or_continue() -> Option<i32> {
    if let Some(pipe) = platform::inherited(PIPE_ENV) {
        // Not for the programs this copy starts (an askpass program, say), which would take a
        // descriptor of theirs for the pipe.
        // SAFETY: called first thing in `run`, before any other thread of this process exists.
        unsafe { std::env::remove_var(PIPE_ENV) };
        *REPORT.lock().unwrap_or_else(|p| p.into_inner()) = Some(pipe);
        return None;
    }
    Some(start_copy_and_wait().unwrap_or_else(|e| {
        eprintln!("rk-connect: -f: could not start the background copy of rk-connect: {e}");
        rk_ssh::EXIT_CONNECTION
    }))
}

fn start_copy_and_wait() -> std::io::Result<i32> {
    let (mut reader, writer) = std::io::pipe()?;
    let mut copy = std::process::Command::new(std::env::current_exe()?);
    let name = platform::hand_down(&mut copy, &writer)?;
    copy.args(std::env::args_os().skip(1)).env(PIPE_ENV, name);
    let spawned = copy.spawn();
    // Only the copy holds the writing end now: its end of the pipe is the word "up" or EOF.
    drop(writer);
    let mut child = spawned?;
    let mut word = Vec::new();
    reader.read_to_end(&mut word)?;
    if word == UP {
        return Ok(0);
    }
    // The copy ended before it was up; it said why on the terminal.
    let status = child.wait()?;
    Ok(platform::exit_code(status))
}

/// The run is up (logged in, forwards listening): in a copy started for `-f`, says where it
/// runs and how to stop it, leaves the terminal and lets the first process return. Elsewhere
/// nothing.
pub(crate) fn up(log: &Log) {
    let Some(mut pipe) = REPORT.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return;
    };
    let pid = std::process::id();
    log.notice(format!(
        "in the background as process {pid}; to stop it: {}",
        platform::stop_command(pid)
    ));
    rk_core::interrupt::forget_terminal();
    if let Err(e) = platform::leave_terminal() {
        log.warn(format!("-f: could not leave the terminal fully: {e}"));
    }
    let _ = pipe.write_all(UP);
}
