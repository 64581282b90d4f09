use std::os::windows::process::CommandExt;

pub(super) fn command(command_line: &str) -> std::process::Command {
    let shell = std::env::var_os("ComSpec")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cmd.exe".into());
    let mut cmd = std::process::Command::new(shell);
    // cmd.exe parses its own command line: pass the text after /C unquoted, as typed.
    cmd.arg("/C").raw_arg(command_line);
    cmd
}
