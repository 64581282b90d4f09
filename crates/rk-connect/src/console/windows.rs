//! The console on Windows: console modes for raw virtual-terminal input and output, UTF-8 code
//! pages, the window size from the screen buffer (polled), and the console being closed.

use std::mem::ManuallyDrop;
use std::os::windows::io::{FromRawHandle, RawHandle};
use std::time::Duration;

use windows_sys::Win32::Foundation::HANDLE;

use super::modes::{self, SizeWatch};
use windows_sys::Win32::System::Console::{
    CONSOLE_MODE, CONSOLE_SCREEN_BUFFER_INFO, DISABLE_NEWLINE_AUTO_RETURN, ENABLE_ECHO_INPUT,
    ENABLE_LINE_INPUT, ENABLE_PROCESSED_INPUT, ENABLE_VIRTUAL_TERMINAL_INPUT,
    ENABLE_VIRTUAL_TERMINAL_PROCESSING, GetConsoleCP, GetConsoleMode, GetConsoleOutputCP,
    GetConsoleScreenBufferInfo, GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE, STD_INPUT_HANDLE,
    STD_OUTPUT_HANDLE, SetConsoleCP, SetConsoleMode, SetConsoleOutputCP,
};

const UTF8: u32 = 65001;

fn std_handle(which: STD_HANDLE) -> HANDLE {
    // SAFETY: GetStdHandle only returns the process's handle (or null/invalid).
    unsafe { GetStdHandle(which) }
}

fn mode(handle: HANDLE) -> Option<CONSOLE_MODE> {
    let mut mode: CONSOLE_MODE = 0;
    // SAFETY: fails (returns 0) for anything that is not a console handle.
    (unsafe { GetConsoleMode(handle, &mut mode) } != 0).then_some(mode)
}

// The flags modes.rs computes with are the Win32 ones.
const _: () = {
    assert!(super::modes::input::PROCESSED == ENABLE_PROCESSED_INPUT);
    assert!(super::modes::input::LINE == ENABLE_LINE_INPUT);
    assert!(super::modes::input::ECHO == ENABLE_ECHO_INPUT);
    assert!(super::modes::input::VIRTUAL_TERMINAL == ENABLE_VIRTUAL_TERMINAL_INPUT);
    assert!(
        super::modes::output::VIRTUAL_TERMINAL_PROCESSING == ENABLE_VIRTUAL_TERMINAL_PROCESSING
    );
    assert!(super::modes::output::DISABLE_NEWLINE_AUTO_RETURN == DISABLE_NEWLINE_AUTO_RETURN);
};

/// Raw VT mode on the console until dropped; the modes and code pages are restored then.
pub(crate) struct RawMode {
    input: (HANDLE, CONSOLE_MODE),
    output: Option<(HANDLE, CONSOLE_MODE)>,
    code_pages: (u32, u32),
}

impl RawMode {
    /// `None` if stdin is not a console.
    pub(crate) fn enable() -> Option<RawMode> {
        let input = std_handle(STD_INPUT_HANDLE);
        let input_mode = mode(input)?;
        let output = std_handle(STD_OUTPUT_HANDLE);
        let output_mode = mode(output);
        // SAFETY: plain console calls on the process's own handles.
        unsafe {
            if SetConsoleMode(input, modes::raw_input(input_mode)) == 0 {
                return None;
            }
            if let Some(m) = output_mode {
                SetConsoleMode(output, modes::vt_output(m));
            }
            let code_pages = (GetConsoleCP(), GetConsoleOutputCP());
            SetConsoleCP(UTF8);
            SetConsoleOutputCP(UTF8);
            Some(RawMode {
                input: (input, input_mode),
                output: output_mode.map(|m| (output, m)),
                code_pages,
            })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores what `enable` read, on the same handles.
        unsafe {
            SetConsoleMode(self.input.0, self.input.1);
            if let Some((h, m)) = self.output {
                SetConsoleMode(h, m);
            }
            SetConsoleCP(self.code_pages.0);
            SetConsoleOutputCP(self.code_pages.1);
        }
    }
}

/// (columns, rows) of the console window (not of its scroll-back buffer).
pub(crate) fn window_size() -> Option<(u32, u32)> {
    let mut info: CONSOLE_SCREEN_BUFFER_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: fills `info`, which we own, or fails for a non-console handle.
    if unsafe { GetConsoleScreenBufferInfo(std_handle(STD_OUTPUT_HANDLE), &mut info) } == 0 {
        return None;
    }
    let w = &info.srWindow;
    modes::window_of(w.Left, w.Top, w.Right, w.Bottom)
}

/// Window size changes, found by polling every 250 ms: the console reports them only as input
/// records, and the keystrokes are read as bytes.
pub(crate) struct Resizes {
    watch: SizeWatch,
    tick: tokio::time::Interval,
}

impl Resizes {
    pub(crate) fn new() -> Resizes {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Resizes {
            watch: SizeWatch::new(window_size()),
            tick,
        }
    }

    pub(crate) async fn next(&mut self) -> Option<(u32, u32)> {
        loop {
            self.tick.tick().await;
            if let Some(size) = self.watch.changed(window_size()) {
                return Some(size);
            }
        }
    }
}

/// What ends a session from outside: the console window closed, Ctrl-Break.
pub(crate) struct EndEvents {
    close: Option<tokio::signal::windows::CtrlClose>,
    brk: Option<tokio::signal::windows::CtrlBreak>,
}

impl EndEvents {
    pub(crate) fn new() -> EndEvents {
        EndEvents {
            close: tokio::signal::windows::ctrl_close().ok(),
            brk: tokio::signal::windows::ctrl_break().ok(),
        }
    }

    pub(crate) async fn next(&mut self) -> &'static str {
        let close = async {
            match self.close.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        let brk = async {
            match self.brk.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = close => "the console was closed",
            () = brk => "Ctrl-Break",
        }
    }
}

fn raw(which: STD_HANDLE) -> ManuallyDrop<std::fs::File> {
    // SAFETY: the process's standard handle stays open for its life; ManuallyDrop never
    // closes it. WriteFile on it passes bytes unchanged (std's console writer would reject
    // output that is not UTF-8 split exactly at character boundaries).
    ManuallyDrop::new(unsafe { std::fs::File::from_raw_handle(std_handle(which) as RawHandle) })
}

/// Windows' anonymous pipes and consoles do not refuse a write for being busy (there is no
/// non-blocking mode to be left in); should one ever, wait a moment before trying again.
pub(crate) fn wait_ready(_: &std::fs::File) -> std::io::Result<()> {
    pause()
}

/// As [`wait_ready`], for standard input.
pub(crate) fn wait_stdin() -> std::io::Result<()> {
    pause()
}

fn pause() -> std::io::Result<()> {
    std::thread::sleep(std::time::Duration::from_millis(1));
    Ok(())
}

pub(crate) fn stdout() -> ManuallyDrop<std::fs::File> {
    raw(STD_OUTPUT_HANDLE)
}

pub(crate) fn stderr() -> ManuallyDrop<std::fs::File> {
    raw(STD_ERROR_HANDLE)
}
