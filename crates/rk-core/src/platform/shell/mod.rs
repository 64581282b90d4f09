//! Running a command line the way the user's shell would, for `Match exec` in ssh config: `$SHELL
//! -c` (else `/bin/sh`) on Unix as OpenSSH does, `cmd.exe /C` on Windows as Windows' OpenSSH does.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

/// A command that runs `command_line` in the shell. Standard input and output are closed (the
/// command answers with its exit status); standard error is the caller's.
pub fn command(command_line: &str) -> std::process::Command {
    let mut cmd = sys::command(command_line);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    cmd
}
