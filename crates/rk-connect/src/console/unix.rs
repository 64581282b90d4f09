//! The terminal on Unix: termios raw mode, TIOCGWINSZ, SIGWINCH, SIGTERM and SIGHUP.

use std::mem::ManuallyDrop;
use std::os::fd::RawFd;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Puts the terminal on stdin in raw mode until dropped.
pub(crate) struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// `None` if stdin is not a terminal.
    pub(crate) fn enable() -> Option<RawMode> {
        let fd = 0;
        // SAFETY: termios is plain data; tcgetattr fills it or fails without touching memory.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSADRAIN, &raw) != 0 {
                return None;
            }
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enable` on the same descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSADRAIN, &self.saved);
        }
    }
}

fn size_of(fd: RawFd) -> Option<(u32, u32)> {
    // SAFETY: TIOCGWINSZ writes a winsize struct, which we own.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            Some((u32::from(ws.ws_col), u32::from(ws.ws_row)))
        } else {
            None
        }
    }
}

/// (columns, rows) of the terminal on stdout, else on stdin.
pub(crate) fn window_size() -> Option<(u32, u32)> {
    size_of(1).or_else(|| size_of(0))
}

/// Window size changes (SIGWINCH).
pub(crate) struct Resizes(Option<Signal>);

impl Resizes {
    pub(crate) fn new() -> Resizes {
        Resizes(signal(SignalKind::window_change()).ok())
    }

    /// The new size, when the window changed.
    pub(crate) async fn next(&mut self) -> Option<(u32, u32)> {
        match self.0.as_mut() {
            Some(s) => {
                s.recv().await;
                window_size()
            }
            None => std::future::pending().await,
        }
    }
}

/// What ends a session from outside: SIGTERM, SIGHUP (the terminal closed).
pub(crate) struct EndEvents {
    term: Option<Signal>,
    hup: Option<Signal>,
}

impl EndEvents {
    pub(crate) fn new() -> EndEvents {
        EndEvents {
            term: signal(SignalKind::terminate()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// Waits for one; says which ("terminated", "hang-up").
    pub(crate) async fn next(&mut self) -> &'static str {
        async fn recv(s: &mut Option<Signal>) {
            match s.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            () = recv(&mut self.term) => "terminated",
            () = recv(&mut self.hup) => "hang-up",
        }
    }
}

fn raw(fd: RawFd) -> ManuallyDrop<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fds 1 and 2 stay open for the life of the process; ManuallyDrop never closes them.
    ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Waits until `file` (a standard stream) can be written again.
pub(crate) fn wait_ready(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    poll(file.as_raw_fd(), libc::POLLOUT)
}

/// Waits until standard input has bytes (or its end) to read.
pub(crate) fn wait_stdin() -> std::io::Result<()> {
    poll(0, libc::POLLIN)
}

fn poll(fd: RawFd, events: libc::c_short) -> std::io::Result<()> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

pub(crate) fn stdout() -> ManuallyDrop<std::fs::File> {
    raw(1)
}

pub(crate) fn stderr() -> ManuallyDrop<std::fs::File> {
    raw(2)
}
