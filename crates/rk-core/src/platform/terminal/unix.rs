use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;

pub const NAME: &str = "/dev/tty";

fn open() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(NAME)
}

pub fn input() -> io::Result<File> {
    open()
}

pub fn output() -> io::Result<File> {
    OpenOptions::new().write(true).open(NAME)
}

pub struct Saved {
    tty: File,
    settings: libc::termios,
}

impl Saved {
    pub fn capture() -> Option<Saved> {
        let tty = open().ok()?;
        // SAFETY: tcgetattr fills the zeroed struct for a valid fd.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        (unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut settings) } == 0)
            .then_some(Saved { tty, settings })
    }

    pub fn restore(&self) {
        // SAFETY: a valid fd we own and a termios struct filled by tcgetattr.
        unsafe {
            libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.settings);
        }
    }
}
