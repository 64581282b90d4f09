use std::sync::OnceLock;

use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, SetConsoleCtrlHandler,
};
use windows_sys::core::BOOL;

use super::Interrupt;

static HANDLER: OnceLock<fn(Interrupt) -> bool> = OnceLock::new();

/// Exit status after an interrupt: 128 + SIGINT, as on Unix and as rk documents (Windows' own
/// STATUS_CONTROL_C_EXIT, 0xC000013A, would read as a crash to most scripts).
const INTERRUPTED: i32 = 130;

/// Windows calls this on a thread of its own, so it may run ordinary code.
unsafe extern "system" fn on_event(event: u32) -> BOOL {
    let interrupt = match event {
        CTRL_C_EVENT | CTRL_BREAK_EVENT => Interrupt::CtrlC,
        CTRL_CLOSE_EVENT => Interrupt::Hangup,
        _ => Interrupt::Terminate,
    };
    match HANDLER.get() {
        Some(handler) if handler(interrupt) => 1,
        // Not the program's to handle: end now, as Unix's default action would.
        Some(_) => std::process::exit(INTERRUPTED),
        None => 0,
    }
}

pub fn install(handler: fn(Interrupt) -> bool) -> bool {
    let _ = HANDLER.set(handler);
    // SAFETY: a plain function pointer that lives for the whole process.
    unsafe { SetConsoleCtrlHandler(Some(on_event), 1) != 0 }
}
