//! Reading rk-connect's answers from a pseudo-terminal.

/// Waits for a pty session's program to end; its exit code (a signal is a test failure).
pub fn pty_exit_code(p: &mut rexpect::session::PtySession) -> i32 {
    p.exp_eof().unwrap();
    match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    }
}

/// Reads rk-connect's "Forwarding 127.0.0.1:PORT …" (a -L forward) from a pty session; the
/// port. The character after the digits is required, so a port cut in two reads is never
/// taken for a shorter one; it may be a space or a terminal's cursor move (Wine's console).
pub fn pty_forwarded_port(p: &mut rexpect::session::PtySession) -> u16 {
    let (_, found) = p.exp_regex(r"Forwarding 127\.0\.0\.1:\d+\D").unwrap();
    found
        .trim_start_matches("Forwarding 127.0.0.1:")
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap()
}

/// Reads "in the background as process N" (`rk-connect -f`) from a pty session; N.
pub fn pty_background_pid(p: &mut rexpect::session::PtySession) -> u32 {
    let (_, said) = p.exp_regex(r"in the background as process \d+").unwrap();
    crate::background_pid(&said).unwrap()
}
