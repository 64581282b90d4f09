//! X11 and Wayland: a detached holder process serves the clipboard (see the crate docs).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use rk_core::Error;
use rk_core::ssh_key::PublicKey;

pub fn unreachable_reason() -> Option<&'static str> {
    let have_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    (!have_display)
        .then_some("no display (DISPLAY and WAYLAND_DISPLAY are unset, as inside an SSH session)")
}

/// X11/Wayland: start the detached holder, hand it the line through a pipe, and wait (briefly)
/// until it says it owns the clipboard.
pub fn set(line: &str) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find rk-copy-pubkey itself: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--hold-clipboard")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir("/");
    // SAFETY: setsid() is async-signal-safe and touches no memory of the parent; it puts the
    // holder in its own session so that closing the terminal or Ctrl-C does not end it.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the clipboard holder: {e}"))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or("no pipe to the clipboard holder")?;
    stdin
        .write_all(line.as_bytes())
        .map_err(|e| format!("cannot hand the key to the clipboard holder: {e}"))?;
    drop(stdin);
    let stdout = child
        .stdout
        .take()
        .ok_or("no pipe from the clipboard holder")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut status = String::new();
        let _ = BufReader::new(stdout).read_line(&mut status);
        let _ = tx.send(status);
    });
    match rx.recv_timeout(Duration::from_secs(5)) {
        Ok(s) if s.trim() == "ready" => Ok(()),
        Ok(s) if !s.is_empty() => {
            let _ = child.wait();
            Err(s.trim().trim_start_matches("error: ").to_string())
        }
        Ok(_) => {
            let _ = child.wait();
            Err("the clipboard holder stopped without taking the clipboard".into())
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err("the clipboard did not answer within 5 s".into())
        }
    }
}

/// The detached holder: reads the line from stdin, owns the clipboard, says "ready", then
/// serves the selection until another program takes it.
pub fn hold() -> rk_core::Result<()> {
    let mut text = String::new();
    io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    let status = |msg: &str| {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{msg}");
        let _ = out.flush();
    };
    // Belt and braces: the holder serves a public key line and nothing else.
    if PublicKey::from_openssh(text.trim()).is_err() || text.contains('\n') {
        status("error: the holder was given something that is not one public key line");
        return Err(Error::Usage("not a public key line".into()));
    }
    let mut clipboard = match arboard::Clipboard::new() {
        Ok(c) => c,
        Err(e) => {
            status(&format!("error: cannot open the clipboard: {e}"));
            return Err(Error::Usage(e.to_string()));
        }
    };
    if let Err(e) = clipboard.set_text(text.clone()) {
        status(&format!("error: the clipboard refused the text: {e}"));
        return Err(Error::Usage(e.to_string()));
    }
    status("ready");
    detach_stdio();
    use arboard::SetExtLinux;
    let _ = clipboard.set().wait().text(text);
    Ok(())
}

/// Points stdin/stdout/stderr at /dev/null so the holder keeps no pipe or terminal open.
fn detach_stdio() {
    use std::os::fd::AsRawFd;
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..=2 {
            // SAFETY: dup2 on valid descriptors; replaces the standard streams only.
            unsafe {
                libc::dup2(null.as_raw_fd(), fd);
            }
        }
    }
}
