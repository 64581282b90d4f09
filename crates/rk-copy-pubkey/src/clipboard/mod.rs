//! The desktop clipboard, one seam with two implementations:
//! - `holder` (Linux and the BSDs, X11 or Wayland): the clipboard is served by the process that
//!   set it, so rk hands the line to a detached copy of itself that serves it until another
//!   program takes the selection;
//! - `system` (Windows, macOS): the system keeps the text after rk exits.

#[cfg(not(any(target_os = "macos", windows)))]
mod holder;
#[cfg(not(any(target_os = "macos", windows)))]
use holder as sys;
#[cfg(any(target_os = "macos", windows))]
mod system;
#[cfg(any(target_os = "macos", windows))]
use system as sys;

/// Why no desktop clipboard can be reached from here, if none can (no X11/Wayland display,
/// as inside an SSH session).
pub fn unreachable_reason() -> Option<&'static str> {
    sys::unreachable_reason()
}

/// Puts one public key line on the clipboard so that it stays there after rk exits.
pub fn set(line: &str) -> Result<(), String> {
    sys::set(line)
}

/// The detached holder's work (`--hold-clipboard`, started by [`set`] where one is needed).
pub fn hold() -> rk_core::Result<()> {
    sys::hold()
}
