use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::System::Console::{CONSOLE_MODE, GetConsoleMode, SetConsoleMode};

pub const NAME: &str = "the console";

/// The console's input buffer, whatever stdin is.
pub fn input() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open("CONIN$")
}

/// The console's screen buffer, whatever stdout is.
pub fn output() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open("CONOUT$")
}

/// Both halves of the console keep a mode (echo and line input live on the input side; VT
/// processing on the output side).
pub struct Saved {
    input: (File, CONSOLE_MODE),
    output: Option<(File, CONSOLE_MODE)>,
}

fn mode_of(file: File) -> Option<(File, CONSOLE_MODE)> {
    let mut mode: CONSOLE_MODE = 0;
    // SAFETY: a console handle we own; GetConsoleMode fails on anything else.
    (unsafe { GetConsoleMode(file.as_raw_handle(), &mut mode) } != 0).then_some((file, mode))
}

impl Saved {
    pub fn capture() -> Option<Saved> {
        Some(Saved {
            input: mode_of(input().ok()?)?,
            output: output().ok().and_then(mode_of),
        })
    }

    pub fn restore(&self) {
        for (file, mode) in std::iter::once(&self.input).chain(self.output.as_ref()) {
            // SAFETY: as in mode_of.
            unsafe { SetConsoleMode(file.as_raw_handle(), *mode) };
        }
    }
}
