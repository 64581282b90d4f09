pub(super) fn command(command_line: &str) -> std::process::Command {
    let shell = std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let mut cmd = std::process::Command::new(shell);
    cmd.arg("-c").arg(command_line);
    cmd
}
