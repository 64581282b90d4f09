//! `-f` on Unix: the pipe is the copy's descriptor 3; leaving the terminal is setsid(2) and
//! /dev/null for standard input (and for output that went to the terminal).

use std::fs::File;
use std::io::{self, PipeWriter};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};

/// The descriptor the copy finds the pipe on.
const PIPE_FD: RawFd = 3;

/// Makes `pipe` the copy's descriptor 3; returns what the copy's environment names it by.
pub(super) fn hand_down(copy: &mut Command, pipe: &PipeWriter) -> io::Result<String> {
    let fd = pipe.as_raw_fd();
    // SAFETY: dup2 and fcntl are async-signal-safe and touch only the child's descriptors.
    unsafe {
        copy.pre_exec(move || {
            // dup2 onto a different number clears close-on-exec; onto itself it does not.
            let ok = if fd == PIPE_FD {
                libc::fcntl(fd, libc::F_SETFD, 0) >= 0
            } else {
                libc::dup2(fd, PIPE_FD) >= 0
            };
            if ok {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        });
    }
    Ok(PIPE_FD.to_string())
}

pub(super) fn inherited(env: &str) -> Option<File> {
    let fd: RawFd = std::env::var(env).ok()?.parse().ok()?;
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // Not for the programs this copy starts (an askpass program would hold the pipe open).
    // SAFETY: as above, on a descriptor known to be open.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the descriptor was opened for this process by the first one, and is owned here
    // from now on.
    Some(unsafe { File::from_raw_fd(fd) })
}

pub(super) fn leave_terminal() -> io::Result<()> {
    // A session of its own: no controlling terminal, so no SIGHUP when the terminal closes.
    // SAFETY: setsid takes no pointers; a forked copy is never a process group leader.
    if unsafe { libc::setsid() } < 0 {
        return Err(io::Error::last_os_error());
    }
    let null = File::options().read(true).write(true).open("/dev/null")?;
    for fd in 0..=2 {
        // Input always (ssh -f implies -n); output only where it was a terminal, which may
        // close: a file or pipe keeps the background run's messages.
        // SAFETY: isatty and dup2 take no pointers; the descriptors stay valid.
        if (fd == 0 || unsafe { libc::isatty(fd) } == 1)
            && unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

pub(super) fn stop_command(pid: u32) -> String {
    format!("kill {pid}")
}

pub(super) fn exit_code(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(rk_ssh::EXIT_CONNECTION)
}
