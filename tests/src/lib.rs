//! Harness for rk's black-box tests: finds (and builds) the real binaries, runs them and the
//! real peers (ssh-keygen, puttygen, …) with a time bound, and kills every child it starts,
//! also when a test fails.

pub mod wine;

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

/// Every `X.log` with an `X.expected.json` in a folder, sorted by name (new fixtures count
/// without code changes).
pub fn job_log_fixtures(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let mut pairs: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|log| {
            let expected = log.with_extension("expected.json");
            let text = std::fs::read_to_string(&expected)
                .unwrap_or_else(|e| panic!("{}: {e}", expected.display()));
            (log, serde_json::from_str(&text).unwrap())
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

/// Checks `rk-parse-log --format json` output against a fixture's expected JSON: the user, host
/// and port; or for `{"error": "not-found"}` exit 1, nothing on stdout and the "no message"
/// reason; or for `{"error": "rejected", "stderr": TEXT}` exit 1 and TEXT in what stderr says
/// was refused (the line, the token and why).
pub fn assert_job_log_result(what: &str, out: &Output, expected: &serde_json::Value) {
    if let Some(error) = expected.get("error") {
        assert_eq!(
            out.code(),
            Some(1),
            "{what}: expected no result, got {}",
            out.stdout_str()
        );
        assert!(out.stdout_str().is_empty(), "{what}");
        let said = match error.as_str() {
            Some("rejected") => expected["stderr"]
                .as_str()
                .expect("\"stderr\" with \"rejected\""),
            _ => "no SSH connection message",
        };
        assert!(
            out.stderr_str().contains(said),
            "{what}: expected {said:?} in {}",
            out.stderr_str()
        );
    } else {
        out.assert_ok(what);
        let got: serde_json::Value = serde_json::from_str(out.stdout_str().trim())
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", out.stdout_str()));
        for field in ["user", "host", "port"] {
            assert_eq!(got[field], expected[field], "{what}: {field}");
        }
        assert!(got["line"].as_u64().unwrap() >= 1, "{what}");
    }
}

/// The binary crates the tests drive (each builds one binary of the same name).
pub const BINARIES: &[&str] = &["rk-keygen", "rk-parse-log", "rk-copy-pubkey", "rk-connect"];

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
    // Short commands finish in a few ms: poll fast at first, then back off to 20 ms.
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = guard.child().try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            panic!("process {} did not exit within {limit:?}", guard.id());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
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
    /// The known_hosts file rk-connect uses in this sandbox.
    pub fn known_hosts(&self) -> PathBuf {
        self.path().join("known_hosts")
    }
    /// rk-connect trusting hosts on first use into the sandbox's known_hosts.
    pub fn rk_connect(&self) -> Command {
        let mut cmd = self.rk("rk-connect");
        cmd.arg("--known-hosts")
            .arg(self.known_hosts())
            .arg("--accept-new");
        cmd
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

/// The `type base64` of a public key line (tools differ on whether they print the comment).
pub fn type_and_blob(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
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

/// SIGKILL to `pid`, quietly: it may have exited already (kill(1) would say so on stderr).
fn kill_pid(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
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

/// A throwaway OpenSSH server on 127.0.0.1: its own config, host key, authorized_keys and log
/// in a temp dir, on a port the OS picked; stopped by PID on drop (also when a test fails).
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The address it listens on (127.0.0.1 unless a test set up another loopback address).
    pub listen: String,
    /// sshd_config lines that come before the defaults (sshd keeps the first value it reads),
    /// e.g. "PasswordAuthentication yes\n"; set before `launch`.
    pub config_first: String,
    server: Option<ChildGuard>,
}

impl Sshd {
    /// Starts sshd accepting the given public keys (files) for the current user.
    pub fn start(authorized: &[&Path]) -> Sshd {
        let mut sshd = Sshd::prepare(authorized);
        sshd.port = 0;
        sshd.launch();
        sshd
    }

    /// Everything but the server itself: config files and a chosen free port; `launch` later.
    pub fn prepare(authorized: &[&Path]) -> Sshd {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut keys = String::new();
        for k in authorized {
            keys.push_str(&std::fs::read_to_string(k).unwrap());
            keys.push('\n');
        }
        std::fs::write(dir.path().join("authorized_keys"), keys).unwrap();
        // A port below the ephemeral range, so no other test's bind(0) can take it meanwhile.
        let sshd = Sshd {
            dir,
            port: free_low_port(),
            listen: "127.0.0.1".into(),
            config_first: String::new(),
            server: None,
        };
        sshd.new_host_key();
        sshd
    }

    /// Replaces the host key (takes effect at the next launch).
    pub fn new_host_key(&self) {
        let key = self.dir.path().join("host_ed25519");
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(key.with_extension("pub"));
        run(peer("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f"])
            .arg(&key))
        .assert_ok("host key");
    }

    pub fn host_key_pub(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host_ed25519.pub")).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// (Re)starts the server, on the same port if it had one.
    pub fn launch(&mut self) {
        let sshd_bin = ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let sshd_bin = sshd_bin
            .expect("sshd is not installed: run .ci/run or `apt-get install -y openssh-server`");
        std::fs::create_dir_all("/run/sshd")
            .expect("/run/sshd (sshd's privilege separation directory; tests run as root)");
        for attempt in 0..10 {
            let port = if self.port != 0 {
                self.port
            } else {
                free_port()
            };
            let d = self.dir.path();
            let config = format!(
                "{first}ListenAddress {listen}\nPort {port}\nHostKey {hk}\nAuthorizedKeysFile {ak}\nStrictModes no\nUsePAM no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 PidFile {pid}\nLogLevel DEBUG1\nMaxStartups 100\nMaxSessions 100\nUseDNS no\nPrintMotd no\nAcceptEnv LANG\n",
                first = self.config_first,
                listen = self.listen,
                hk = d.join("host_ed25519").display(),
                ak = d.join("authorized_keys").display(),
                pid = d.join("sshd.pid").display(),
            );
            std::fs::write(d.join("sshd_config"), config).unwrap();
            let mut cmd = Command::new(sshd_bin);
            cmd.arg("-D")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .arg("-E")
                .arg(d.join("sshd.log"));
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut guard = ChildGuard::spawn(&mut cmd).expect("start sshd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if std::net::TcpStream::connect((self.listen.as_str(), port)).is_ok() {
                    // Make sure the listener is ours: a server that lost the bind race exits.
                    std::thread::sleep(Duration::from_millis(50));
                    if guard.child().try_wait().ok().flatten().is_none() {
                        self.port = port;
                        self.server = Some(guard);
                        return;
                    }
                    break;
                }
                if guard.child().try_wait().ok().flatten().is_some() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(guard);
            if attempt == 9 {
                panic!("sshd did not start; its log:\n{}", self.log());
            }
            if self.port != 0 {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// Stops the listening server and every session process it forked (by PID).
    pub fn kill_all(&mut self) {
        if let Some(mut g) = self.server.take() {
            let pid = g.id();
            for child in children_of(pid) {
                kill_pid(child);
            }
            let _ = g.child().kill();
            let _ = g.child().wait();
            g.0 = None;
        }
    }

    /// PIDs of the per-connection sshd processes.
    pub fn sessions(&self) -> Vec<u32> {
        self.server
            .as_ref()
            .map(|g| children_of(g.id()))
            .unwrap_or_default()
    }

    /// An rk-connect-style destination for the current user.
    pub fn dest(&self) -> String {
        format!("ssh://{}@127.0.0.1:{}", current_user(), self.port)
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// The SHA-256 of `data` as `sha256sum` prints it (hex).
pub fn sha256_hex(data: &[u8]) -> String {
    let out = run_with_input(
        &mut Command::new("sha256sum"),
        data,
        Duration::from_secs(20),
    );
    out.stdout_str()
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}

/// A real ssh-agent on a socket in `dir`, holding `key`; stopped by PID on drop.
pub fn ssh_agent_holding(dir: &Path, key: &Path) -> (ChildGuard, PathBuf) {
    let sock = dir.join("agent.sock");
    let agent = ChildGuard::spawn(
        peer("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start ssh-agent");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    run(peer("ssh-add").arg(key).env("SSH_AUTH_SOCK", &sock)).assert_ok("ssh-add");
    (agent, sock)
}

/// An HTTP/1.0 server on loopback answering `requests` requests with `body`; its port.
pub fn one_page_server(body: &'static str, requests: usize) -> u16 {
    use std::io::{Read, Write};
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = http.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in http.incoming().take(requests) {
            let Ok(mut conn) = conn else { continue };
            let mut req = [0u8; 4096];
            let _ = conn.read(&mut req);
            let _ = write!(
                conn,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (e.g. through a tunnel); the whole response, or
/// the connection error.
pub fn http_get(port: u16) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(Duration::from_secs(20)))?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    c.read_to_string(&mut response)?;
    Ok(response)
}

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

/// Runs `cmd` in a new session, with no controlling terminal: what a cron job or CI step sees,
/// even when the tests themselves were started from a terminal.
pub fn without_terminal(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches only the child being started.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

/// A throwaway local account with a known password, for password and keyboard-interactive
/// logins; removed (with `userdel`) on drop, also when the test fails. Tests run as root.
pub struct TestUser {
    pub name: String,
    pub password: String,
}

impl TestUser {
    pub fn create() -> TestUser {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rkpw{}x{n}", std::process::id());
        let password = format!("Pw-{:x}-tEst", rand_u64() & 0xffff_ffff);
        let _ = Command::new("userdel").arg(&name).output();
        run(Command::new("useradd").args(["-M", "-d", "/", "-s", "/bin/sh", &name]))
            .assert_ok("useradd (tests run as root; the passwd package provides it)");
        let user = TestUser { name, password };
        run_with_input(
            &mut Command::new("chpasswd"),
            format!("{}:{}\n", user.name, user.password).as_bytes(),
            Duration::from_secs(20),
        )
        .assert_ok("chpasswd");
        user
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Its sessions first (sshd may still be closing one), then the account.
        let _ = Command::new("pkill")
            .args(["-9", "-u", &self.name])
            .status();
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// A free port below 32768 (outside Linux's ephemeral range), tried at random.
pub fn free_low_port() -> u16 {
    loop {
        let candidate = 20000
            + (std::process::id() as u64 * 7919
                + Instant::now().elapsed().as_nanos() as u64
                + rand_u64()) as u16
                % 12000;
        if std::net::TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            return candidate;
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// A free TCP port on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
                .unwrap()
                .trim()
                .to_string()
        })
}

/// All descendants of a process, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut parents = vec![pid];
    let mut found = Vec::new();
    loop {
        let mut added = false;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if found.contains(&p) {
                continue;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|s| s.parse::<u32>().ok());
            if ppid.is_some_and(|pp| parents.contains(&pp)) {
                found.push(p);
                parents.push(p);
                added = true;
            }
        }
        if !added {
            return found;
        }
    }
}

/// A TCP echo server on 127.0.0.1 (a thread per connection; echoes as it reads and closes its
/// write side after the client's EOF). Stops accepting when dropped.
pub struct EchoServer {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EchoServer {
    pub fn start() -> EchoServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = conn.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        EchoServer { port, stop }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Sends `payload` through a TCP connection, half-closes, and returns everything read back.
pub fn round_trip(port: u16, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = conn.try_clone()?;
    let data = payload.to_vec();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(&data)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut back = Vec::new();
    conn.read_to_end(&mut back)?;
    sender.join().expect("sender thread")?;
    Ok(back)
}

/// `count` connections at once through `port`, each sending 1 MiB (distinct per connection)
/// and checking every byte of the echo; the first failure is returned.
pub fn concurrent_echo(port: u16, count: u32) -> Result<(), String> {
    let workers: Vec<_> = (0..count)
        .map(|i| {
            std::thread::spawn(move || {
                let data: Vec<u8> = (0..1024 * 1024u32)
                    .map(|j| (j ^ i).wrapping_mul(31) as u8)
                    .collect();
                match round_trip(port, &data) {
                    Ok(back) if back == data => Ok(()),
                    Ok(back) => Err(format!(
                        "connection {i}: {} bytes back, differing",
                        back.len()
                    )),
                    Err(e) => Err(format!("connection {i}: {e}")),
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for w in workers {
        if let Err(e) = w
            .join()
            .map_err(|_| "worker panicked".to_string())
            .and_then(|r| r)
        {
            failures.push(e);
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} of {count} connections failed; first: {first}",
            failures.len()
        )),
    }
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU time (user + system) a live process has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// What [`run_measured`] saw: the output, the wall time and the peak RSS.
pub struct Measured {
    pub output: Output,
    pub elapsed: Duration,
    /// Peak resident memory in KiB, as `/usr/bin/time` reports it (0 if it reported none).
    pub peak_rss_kib: u64,
}

/// Runs `program args…` under `/usr/bin/time` (Debian's `time` package) with empty stdin and
/// `envs`, bounded like [`run`].
pub fn run_measured(program: &Path, args: &[&std::ffi::OsStr], envs: &[(&str, &Path)]) -> Measured {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(program)
        .args(args);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let start = Instant::now();
    let output = run(&mut cmd);
    let elapsed = start.elapsed();
    let peak_rss_kib = std::fs::read_to_string(report.path())
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Measured {
        output,
        elapsed,
        peak_rss_kib,
    }
}

/// A server on 127.0.0.1 (not SSH) that greets each of its first 4 connections with `greeting()`
/// (an empty one: a server that never speaks) (written repeatedly
/// while `repeat` is set, until the client goes away), then holds the connection open.
pub fn fake_server(greeting: fn() -> Vec<u8>, repeat: bool) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let data = greeting();
                loop {
                    if std::io::Write::write_all(&mut conn, &data).is_err() || !repeat {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_secs(20));
            });
        }
    });
    port
}
