//! Where Unix and Windows differ, one seam per concern, each with its `unix` and `windows`
//! implementation side by side (the crossterm/Alacritty pattern). Everything outside this module
//! is written once, for both, and carries no `cfg`.
//!
//! - [`paths`]: the home directory, `~/.ssh`, the state directory, the user's and machine's names.
//! - [`files`]: creating files and directories that only their owner can read (Unix modes, or a
//!   protected Windows DACL that grants the user alone).
//! - [`terminal`]: the user's terminal even when stdin/stdout are pipes (`/dev/tty`, or the
//!   Windows console's `CONIN$`/`CONOUT$`), and saving/restoring its settings.
//! - [`interrupt`]: Ctrl-C and its relatives (Unix signals, Windows console control events)
//!   delivered to one cleanup function.
//! - [`shell`]: a command line run by the user's shell (`$SHELL -c`, `cmd.exe /C`).

pub mod files;
pub mod interrupt;
pub mod paths;
pub mod shell;
pub mod terminal;
