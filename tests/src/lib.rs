//! Harness for rk's black-box tests: finds (and builds) the real binaries, runs them and the
//! real peers (ssh-keygen, puttygen, …) with a time bound, and kills every child it starts,
//! also when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/fixtures` beside the checkout (read-only: copy before chmod-ing).
pub fn fixtures() -> PathBuf {
    workspace_root().join("../shared/fixtures")
}

/// The binary crates the tests drive (each builds one binary of the same name).
pub const BINARIES: &[&str] = &["rk-keygen", "rk-parse-log", "rk-copy-pubkey"];

/// Path of a built rk binary. The first call builds all of them (a no-op when fresh), so a test
/// never runs a stale binary even under `cargo test -p rk-e2e`.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        // target/<profile>/deps/<test-exe> → target/<profile>
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root())
            .args(["build", "--quiet", "--bins"]);
        for pkg in BINARIES {
            cmd.args(["-p", pkg]);
        }
        if release {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .expect("running cargo build for the rk binaries");
        assert!(status.success(), "cargo build of the rk binaries failed");
        profile_dir
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A child process killed (and reaped) when dropped, whatever happened in the test.
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        cmd.spawn().map(|c| ChildGuard(Some(c)))
    }
    pub fn id(&self) -> u32 {
        self.0.as_ref().map(Child::id).unwrap_or(0)
    }
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child already taken")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a command to completion with `stdin` as its input, killing it after `limit`.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8], limit: Duration) -> Output {
    use std::io::{Read, Write};
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(cmd).unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = guard.child().stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out_pipe = guard.child().stdout.take().unwrap();
    let mut err_pipe = guard.child().stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let status = wait_bounded(&mut guard, limit);
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Runs with empty stdin (not a terminal) and a 120 s bound.
pub fn run(cmd: &mut Command) -> Output {
    run_with_input(cmd, b"", Duration::from_secs(120))
}

/// The result of a finished command, with readable assertions.
pub trait OutputExt {
    fn stdout_str(&self) -> String;
    fn stderr_str(&self) -> String;
    fn code(&self) -> Option<i32>;
    fn assert_ok(&self, what: &str) -> &Self;
}

impl OutputExt for Output {
    fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
    fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout_str(),
            self.stderr_str()
        );
        self
    }
}

/// Waits for a child with a bound; kills it and panics on timeout.
pub fn wait_bounded(guard: &mut ChildGuard, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = guard.child().try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            panic!("process {} did not exit within {limit:?}", guard.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A scratch directory that is also the HOME of the commands run in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self) -> PathBuf {
        let h = self.dir.path().join("home");
        std::fs::create_dir_all(&h).unwrap();
        h
    }
    /// A command for an rk binary, with HOME pointing into the sandbox and a plain environment.
    pub fn rk(&self, name: &str) -> Command {
        let mut cmd = Command::new(bin(name));
        cmd.current_dir(self.path())
            .env("HOME", self.home())
            .env("USER", "tester")
            .env_remove("SSH_AUTH_SOCK")
            .env("NO_COLOR", "1");
        cmd
    }
    /// Copies a fixture in and makes it private (git does not keep modes).
    pub fn fixture(&self, rel: &str) -> PathBuf {
        let src = fixtures().join(rel);
        let dst = self.path().join(Path::new(rel).file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        set_mode(&dst, 0o600);
        dst
    }
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A real peer program (ssh-keygen, puttygen); the error says which package installs it.
pub fn peer(program: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is not installed: run .ci/run or `apt-get install -y openssh-client putty-tools`"
    );
    let mut cmd = Command::new(program);
    cmd.env_remove("SSH_AUTH_SOCK");
    cmd
}

/// Files in a directory, sorted (to prove nothing extra was left behind).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

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
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        }
    }
}
