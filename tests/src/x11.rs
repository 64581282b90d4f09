//! A real X server (Xvfb) for the clipboard tests.

use std::process::Stdio;
use std::time::Duration;

use crate::{ChildGuard, OutputExt, kill_pid, peer, run_with_input, wait_bounded};

/// A real X server (Xvfb) on a display number it picks itself, stopped on drop together with
/// every process still attached to that display that the tests started (clipboard holders).
pub struct XServer {
    /// Held only to be killed on drop.
    _server: ChildGuard,
    pub display: String,
}

impl XServer {
    pub fn start() -> Self {
        use std::io::{BufRead, BufReader};
        let mut cmd = peer("Xvfb");
        cmd.args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "640x480x24",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut server = ChildGuard::spawn(&mut cmd).expect("start Xvfb (apt-get install -y xvfb)");
        let stdout = server.child().stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let number = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("Xvfb did not report its display");
        let display = format!(":{}", number.trim());
        assert!(number.trim().parse::<u32>().is_ok(), "Xvfb said {number:?}");
        XServer {
            _server: server,
            display,
        }
    }

    /// `xclip -o -selection clipboard` on this display (None if the clipboard is empty).
    pub fn clipboard(&self) -> Option<String> {
        let out = run_with_input(
            peer("xclip")
                .args(["-o", "-selection", "clipboard"])
                .env("DISPLAY", &self.display),
            b"",
            Duration::from_secs(10),
        );
        out.status.success().then(|| out.stdout_str())
    }

    /// Puts text on the clipboard with xclip (which then serves it in the background, holding
    /// no pipe of ours: its output goes to /dev/null).
    pub fn set_clipboard(&self, text: &str) {
        use std::io::Write;
        let mut cmd = peer("xclip");
        cmd.args(["-i", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = ChildGuard::spawn(&mut cmd).expect("xclip");
        let mut stdin = child.child().stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        drop(stdin);
        let status = wait_bounded(&mut child, Duration::from_secs(10));
        assert!(status.success(), "xclip -i failed");
        // The foreground xclip has exited; its background server is killed with the display.
        child.0 = None;
    }

    /// PIDs of processes whose command line contains `needle` and that run on this display.
    pub fn processes(&self, needle: &str) -> Vec<u32> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let on_display = environ
                .split(|&b| b == 0)
                .any(|kv| kv == format!("DISPLAY={}", self.display).as_bytes());
            if on_display
                && String::from_utf8_lossy(&cmdline)
                    .replace('\0', " ")
                    .contains(needle)
            {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for XServer {
    fn drop(&mut self) {
        for pid in self.processes("") {
            if pid != std::process::id() {
                kill_pid(pid);
            }
        }
    }
}
