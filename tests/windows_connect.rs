//! rk-connect.exe (the cross-built release binary, as shipped in the .zip) under Wine, against
//! the same throwaway loopback sshd as the Linux tests: commands, host keys, every key format,
//! tunnels, and a shell on Wine's console.
//!
//! `#[ignore]`d in a plain `cargo test`: `cargo xtask windows test` (and `cargo xtask test`)
//! build the .exe files and run these with `-- --ignored`, RK_WINDOWS_BIN set.
//!
//! What Wine cannot show (measured, see ../shared/notes/windows.md): its console delivers no
//! arrow keys in VT input mode and turns Ctrl-C into the end of the process; those parts of
//! the console seam (modes, window size, resize events) are unit-tested in
//! `crates/rk-connect/src/console/modes.rs`. Neither Pageant nor the OpenSSH agent service runs
//! under Wine: a named-pipe agent of the tests' own (`examples/test-agent.rs`, russh's agent
//! server) stands in for the pipe path; Pageant's own transport is russh's `pageant` crate,
//! untested here.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::wine::{WinSandbox, windows_path, wine};
use rk_e2e::*;

/// A scratch folder, and an sshd that accepts the given public key fixtures.
struct World {
    sb: WinSandbox,
    sshd: Sshd,
}

fn world(accepted: &[&str]) -> World {
    let pubs: Vec<PathBuf> = accepted
        .iter()
        .map(|k| fixtures().join(format!("keys/{k}")))
        .collect();
    let refs: Vec<&Path> = pubs.iter().map(PathBuf::as_path).collect();
    World {
        sb: WinSandbox::new(),
        sshd: Sshd::start(&refs),
    }
}

impl World {
    /// A fixture key copied into the sandbox (mode 0600), as a Windows path.
    fn key(&self, fixture: &str) -> String {
        let src = fixtures().join(format!("keys/{fixture}"));
        let name = fixture.replace('/', "-");
        let dst = self.sb.path().join(&name);
        std::fs::copy(&src, &dst).unwrap();
        set_mode(&dst, 0o600);
        self.sb.win(&name)
    }

    fn known_hosts(&self) -> PathBuf {
        self.sb.path().join("known_hosts")
    }

    /// rk-connect.exe with the sandbox's known_hosts; `accept_new` trusts the host on first use.
    fn connect(&self, key: &str, accept_new: bool) -> Command {
        self.connect_with(key, accept_new, &[])
    }

    /// The same with `options` before the destination.
    fn connect_with(&self, key: &str, accept_new: bool, options: &[&str]) -> Command {
        let mut c = self.sb.rk("rk-connect");
        c.args(options);
        c.arg("--known-hosts")
            .arg(windows_path(&self.known_hosts()))
            .arg("--no-agent")
            .arg("-i")
            .arg(key);
        if accept_new {
            c.arg("--accept-new");
        }
        c.arg(self.sshd.dest());
        c
    }
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_runs_commands_with_streams_exit_codes_and_10_mb_of_stdin() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let out = run(w
        .connect(&key, true)
        .args(["echo", "out;", "echo", "err", ">&2"]));
    out.assert_ok("echo");
    assert_eq!(out.stdout_str(), "out;\n".replace(";", ""));
    assert_eq!(
        out.stderr_str().lines().last(),
        Some("err"),
        "{}",
        out.stderr_str()
    );

    let out = run(w.connect(&key, false).args(["exit", "3"]));
    assert_eq!(out.code(), Some(3), "{}", out.stderr_str());

    let data: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = run_with_input(
        w.connect(&key, false).arg("sha256sum"),
        &data,
        Duration::from_secs(120),
    );
    out.assert_ok("10 MB through stdin");
    assert_eq!(
        out.stdout_str().split_whitespace().next(),
        Some(sha256_hex(&data).as_str())
    );
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_checks_host_keys_like_linux() {
    let mut w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    // Unknown, no terminal, no --accept-new: refused, nothing recorded, nothing run.
    let out = run(w.connect(&key, false).args(["echo", "ran"]));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("not known") && out.stderr_str().contains("--accept-new"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("ran"));
    assert!(!w.known_hosts().exists());

    // --accept-new writes an entry Linux OpenSSH accepts strictly.
    run(w.connect(&key, true).arg("true")).assert_ok("accept-new");
    let entry = std::fs::read_to_string(w.known_hosts()).unwrap();
    assert!(
        entry.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", w.sshd.port)),
        "{entry:?}"
    );
    let linux_key = w.sb.path().join("openssh-ed25519");
    run(peer("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", w.known_hosts().display()))
        .arg("-i")
        .arg(&linux_key)
        .arg("-p")
        .arg(w.sshd.port.to_string())
        .arg(format!("{}@127.0.0.1", current_user()))
        .arg("true"))
    .assert_ok("ssh -o StrictHostKeyChecking=yes with rk-connect.exe's known_hosts");

    // A changed key: refused, even with --accept-new.
    w.sshd.kill_all();
    w.sshd.new_host_key();
    w.sshd.launch();
    let out = run(w.connect(&key, true).args(["echo", "ran"]));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str()
            .contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("ran"));
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_logs_in_with_every_key_format() {
    let w = world(&[
        "openssh/ed25519.pub",
        "openssh/rsa4096.pub",
        "openssh/rsa4096_pp.pub",
        "putty/ed25519.openssh.pub",
    ]);
    let pass = w.sb.path().join("pass.txt");
    std::fs::copy(fixtures().join("keys/openssh/passphrase.txt"), &pass).unwrap();
    for (fixture, extra) in [
        ("openssh/ed25519", None),
        ("openssh/rsa4096", None),
        ("openssh/rsa4096_pp", Some(windows_path(&pass))),
        ("putty/ed25519.ppk", None),
    ] {
        let key = w.key(fixture);
        let mut cmd = w.connect(&key, true);
        if let Some(p) = extra {
            cmd.arg("--passphrase-file").arg(p);
        }
        let out = run(cmd.args(["echo", "in-with", fixture]));
        out.assert_ok(fixture);
        assert_eq!(out.stdout_str(), format!("in-with {fixture}\n"));
    }
    let log = w.sshd.log();
    assert!(
        log.contains("Accepted publickey") && log.contains("RSA SHA256:"),
        "{log}"
    );

    // A key others can read (Wine shows a world-readable file as readable by Everyone) is
    // refused with the icacls command that fixes it, unless the user insists.
    let key = w.key("openssh/ed25519");
    set_mode(&w.sb.path().join("openssh-ed25519"), 0o644);
    let out = run(w.connect(&key, true).args(["echo", "ran"]));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("can be read by Everyone")
            && out.stderr_str().contains("icacls")
            && out.stderr_str().contains("/inheritance:r"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("ran"));
    let out = run(w
        .connect_with(&key, true, &["--allow-loose-key-permissions"])
        .args(["echo", "ran"]));
    out.assert_ok("--allow-loose-key-permissions");
}

/// An HTTP/1.0 server on loopback: GET /N answers a body of its own for each N.
fn http_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut request = String::new();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let _ = reader.read_line(&mut request);
                let n: u32 = request
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.trim_start_matches('/').parse().ok())
                    .unwrap_or(0);
                let body = page(n);
                let _ = write!(
                    conn,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            });
        }
    });
    port
}

fn page(n: u32) -> Vec<u8> {
    (0..(200 * 1024 + n * 997))
        .map(|i| (i ^ n).wrapping_mul(2654435761).rotate_left(n % 31) as u8)
        .collect()
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_tunnel_serves_20_concurrent_http_requests_byte_exact() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let http = http_server();
    let forward = format!("-L0:localhost:{http}");
    let mut cmd = w.connect_with(&key, true, &["-N", &forward]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let stderr = child.child().stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut said = Vec::new();
    let port: u16 = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| {
                panic!("rk-connect.exe did not report its forward ({e}): {said:?}")
            });
        said.push(line.clone());
        // "Forwarding 127.0.0.1:PORT → localhost:HTTP on the cluster (Ctrl-C to stop)"
        if let Some(addr) = line
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
        {
            assert!(line.contains("(Ctrl-C to stop)"), "{line}");
            break addr.trim_start_matches("127.0.0.1:").parse().unwrap();
        }
    };
    let clients: Vec<_> = (0..20u32)
        .map(|n| {
            std::thread::spawn(move || -> Result<(), String> {
                let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))
                    .map_err(|e| format!("request {n}: {e}"))?;
                conn.set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                write!(conn, "GET /{n} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
                let mut response = Vec::new();
                conn.read_to_end(&mut response)
                    .map_err(|e| format!("request {n}: {e}"))?;
                let split = response
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .ok_or(format!("request {n}: no header end"))?;
                if response[split + 4..] != page(n)[..] {
                    return Err(format!(
                        "request {n}: body differs ({} bytes)",
                        response.len()
                    ));
                }
                Ok(())
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap().unwrap();
    }
    assert!(
        child.child().try_wait().unwrap().is_none(),
        "rk-connect.exe -N ended while serving"
    );
}

/// rk-connect.exe with a shell, on Wine's console on a pty with a window size set first, as a
/// terminal window has.
fn shell_on_wines_console(w: &World, key: &str) -> rexpect::session::PtySession {
    let cmd = in_shell(
        &w.connect(key, true),
        "stty rows 37 cols 123; exec \"$@\"",
        w.sb.path(),
    );
    rexpect::session::spawn_command(cmd, Some(60_000)).expect("spawn under a pty")
}

/// `sh -c SCRIPT` with `inner` (program, arguments, environment) as its "$@", in `dir`, on an
/// xterm: how a user's shell starts rk-connect.exe on a terminal.
fn in_shell(inner: &Command, script: &str, dir: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(dir)
        .env("TERM", "xterm");
    for (name, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    cmd
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_shell_on_wines_console_gets_the_window_size_and_the_exit_status() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let mut p = shell_on_wines_console(&w, &key);
    // A shell prompt on the cluster (sshd's default root prompt ends in "# ").
    p.send("stty size; echo MARK$((40+2))\r").unwrap();
    p.flush().unwrap();
    let before = p.exp_string("MARK42").unwrap();
    assert!(
        before.contains("37 123"),
        "the window size did not arrive: {before:?}"
    );
    p.send("exit 7\r").unwrap();
    p.flush().unwrap();
    assert_eq!(rk_e2e::pty_exit_code(&mut p), 7);
}

/// Escapes on Windows: `~C` adds a -L forward that serves a page, `~.` ends with 255.
#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_escapes_and_command_line_on_wines_console() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let page = rk_e2e::one_page_server("page through ~C on Windows", 1);
    let mut p = shell_on_wines_console(&w, &key);
    p.send("echo MARK$((40+2))\r").unwrap();
    p.flush().unwrap();
    p.exp_string("MARK42").unwrap();
    p.send("~C").unwrap();
    p.flush().unwrap();
    // Wine's console draws a trailing space as a cursor move.
    p.exp_string("rk-connect>").unwrap();
    p.send(&format!("-L 0:127.0.0.1:{page}\r")).unwrap();
    p.flush().unwrap();
    let port = rk_e2e::pty_forwarded_port(&mut p);
    let response = rk_e2e::http_get(port).unwrap();
    assert!(
        response.ends_with("page through ~C on Windows"),
        "{response:?}"
    );
    p.send("\r~.").unwrap();
    p.flush().unwrap();
    assert_eq!(rk_e2e::pty_exit_code(&mut p), 255);
}

/// The test agent (examples/test-agent.exe) on a named pipe of its own, holding `key`; killed
/// on drop.
fn pipe_agent(key: &str) -> (ChildGuard, String) {
    let pipe = format!(r"\\.\pipe\rk-test-agent-{}", std::process::id());
    let mut cmd = rk_e2e::wine::wine().exe("examples/test-agent.exe");
    cmd.arg(&pipe)
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut agent = ChildGuard::spawn(&mut cmd).unwrap();
    let stdout = agent.child().stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    assert_eq!(line.trim(), "ready", "the test agent did not start");
    (agent, pipe)
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_logs_in_through_a_named_pipe_agent_and_forwards_it() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let (_agent, pipe) = pipe_agent(&key);
    let fingerprint = run(peer("ssh-keygen")
        .arg("-lf")
        .arg(fixtures().join("keys/openssh/ed25519.pub")))
    .stdout_str()
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();
    let agent_connect = |extra: &[&str], remote: &str| {
        let mut c = w.sb.rk("rk-connect");
        c.arg("--known-hosts")
            .arg(windows_path(&w.known_hosts()))
            .arg("--accept-new")
            .args(extra)
            .arg(w.sshd.dest())
            .arg(remote)
            .env("SSH_AUTH_SOCK", &pipe);
        c
    };
    // No -i: the agent's key logs in (SSH_AUTH_SOCK names the pipe, as Windows OpenSSH reads it).
    let out = run(&mut agent_connect(&["-v"], "echo via-agent"));
    out.assert_ok("login with the pipe agent's key");
    assert_eq!(out.stdout_str(), "via-agent\n");
    assert!(
        out.stderr_str().contains(&format!("ssh-agent at {pipe}"))
            && out.stderr_str().contains("authenticated with an agent key"),
        "{}",
        out.stderr_str()
    );
    // -A: the cluster's ssh-add lists the key held by the agent on the Windows side.
    let out = run(&mut agent_connect(&["-A"], "ssh-add -l"));
    out.assert_ok("ssh-add -l through -A");
    assert!(
        out.stdout_str().contains(&fingerprint),
        "{}",
        out.stdout_str()
    );
    // Without -A: none.
    let out = run(&mut agent_connect(&[], "ssh-add -l"));
    assert_eq!(out.code(), Some(2), "{}", out.stdout_str());
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_uses_the_default_places_under_the_profile() {
    let _places = rk_e2e::wine::default_places();
    let w = world(&["openssh/ed25519.pub"]);
    let profile = rk_e2e::wine::wine().profile();
    let ssh_dir = profile.join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::copy(
        fixtures().join("keys/openssh/ed25519"),
        ssh_dir.join("id_ed25519"),
    )
    .unwrap();
    set_mode(&ssh_dir.join("id_ed25519"), 0o600);
    // No -i, no --known-hosts: %USERPROFILE%\.ssh\id_ed25519 logs in, and the host key is
    // remembered in %USERPROFILE%\.ssh\known_hosts in OpenSSH's format.
    let out = run(w
        .sb
        .rk("rk-connect")
        .args(["--no-agent", "--accept-new"])
        .arg(w.sshd.dest())
        .args(["echo", "defaults"]));
    out.assert_ok("default key and known_hosts");
    assert_eq!(out.stdout_str(), "defaults\n");
    let known = std::fs::read_to_string(ssh_dir.join("known_hosts")).unwrap();
    assert!(
        known.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", w.sshd.port)),
        "{known}"
    );
    assert!(
        out.stderr_str()
            .contains(r"to %USERPROFILE%\.ssh\known_hosts."),
        "{}",
        out.stderr_str()
    );
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_reads_the_ssh_config_under_the_profile_as_ssh_does() {
    let _places = rk_e2e::wine::default_places();
    let w = world(&["openssh/ed25519.pub"]);
    let profile = rk_e2e::wine::wine().profile();
    let ssh_dir = profile.join(".ssh");
    std::fs::create_dir_all(ssh_dir.join("conf.d")).unwrap();
    std::fs::copy(
        fixtures().join("keys/openssh/ed25519"),
        ssh_dir.join(format!("{}-key", current_user())),
    )
    .unwrap();
    set_mode(&ssh_dir.join(format!("{}-key", current_user())), 0o600);
    // A relative Include (under %USERPROFILE%\.ssh), `Match exec` through cmd.exe (a failing
    // command's block is skipped, a succeeding one's applies), a Match that does not match
    // placed after the Host block, and IdentityFile with ~ and %r.
    std::fs::write(
        ssh_dir.join("conf.d/10-job"),
        format!(
            "Host rk-job\n  HostName 127.0.0.1\n  Port {}\n  IdentityFile ~/.ssh/%r-key\n",
            w.sshd.port
        ),
    )
    .unwrap();
    std::fs::write(
        ssh_dir.join("config"),
        format!(
            "Include conf.d/*\n\
             Match exec \"exit 1\"\n  User wrong-exec\n\
             Match originalhost rk-job exec \"exit 0\"\n  User {}\n\
             Match host 10.9.9.9\n  Port 1\n  User wrong-match\n",
            current_user()
        ),
    )
    .unwrap();
    let out = run(w
        .sb
        .rk("rk-connect")
        .args(["-G", "-o", "ConnectTimeout=7", "rk-job"]));
    out.assert_ok("-G");
    let text = out.stdout_str();
    for line in [
        "connecttimeout 7".to_string(),
        format!("user {}", current_user()),
        "hostname 127.0.0.1".to_string(),
        format!("port {}", w.sshd.port),
        format!("identityfile %USERPROFILE%\\.ssh\\{}-key", current_user()),
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing:\n{text}");
    }
    // And it connects with what the config said.
    let out = run(w
        .sb
        .rk("rk-connect")
        .args(["--no-agent", "--accept-new", "--known-hosts"])
        .arg(w.sb.win("known_hosts"))
        .args(["rk-job", "echo", "from-config"]));
    out.assert_ok("connect through the config");
    assert_eq!(out.stdout_str(), "from-config\n");
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_dash_w_joins_stdio_to_a_port_the_cluster_reaches() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let echo = EchoServer::start();
    let target = format!("127.0.0.1:{}", echo.port);
    let payload: Vec<u8> = (0..1u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let out = run_with_input(
        &mut w.connect_with(&key, true, &["-W", &target]),
        &payload,
        Duration::from_secs(60),
    );
    out.assert_ok("-W under Wine");
    assert_eq!(sha256_hex(&out.stdout), sha256_hex(&payload));
}

#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_rk_cp_copies_both_ways_with_drive_paths_and_the_profiles_key() {
    let _places = rk_e2e::wine::default_places();
    let w = world(&["openssh/ed25519.pub"]);
    let ssh_dir = rk_e2e::wine::wine().profile().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::copy(
        fixtures().join("keys/openssh/ed25519"),
        ssh_dir.join("id_ed25519"),
    )
    .unwrap();
    set_mode(&ssh_dir.join("id_ed25519"), 0o600);
    let there = w.sb.path().join("there");
    std::fs::create_dir_all(&there).unwrap();
    let data: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(there.join("data.bin"), &data).unwrap();
    let rk_cp = || {
        let mut c = w.sb.rk("rk-cp");
        c.args(["--no-agent", "--accept-new", "-F", "none", "--known-hosts"])
            .arg(windows_path(&w.known_hosts()))
            .arg("-P")
            .arg(w.sshd.port.to_string());
        c
    };
    let remote = |p: &Path| format!("{}@127.0.0.1:{}", current_user(), p.display());

    // Download to a drive-letter path (Z:\… is this machine's /): never read as host "Z".
    let local = w.sb.win("fetched.bin");
    assert!(local.starts_with(r"Z:\"), "{local}");
    let out = run(rk_cp().arg(remote(&there.join("data.bin"))).arg(&local));
    out.assert_ok("rk-cp.exe download");
    assert!(std::fs::read(w.sb.path().join("fetched.bin")).unwrap() == data);

    // And back up from it.
    let out = run(rk_cp().arg(&local).arg(remote(&there.join("up.bin"))));
    out.assert_ok("rk-cp.exe upload");
    assert!(std::fs::read(there.join("up.bin")).unwrap() == data);
    assert!(!there.join(".up.bin.rk-part").exists());
}

/// `-f` on Windows, which OpenSSH for Windows cannot do: rk-connect.exe returns once the
/// tunnel is up, says which process to stop, and the tunnel serves on without it; Wine's
/// taskkill (what the message offers next to PowerShell's Stop-Process) ends it.
#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_dash_f_returns_and_the_tunnel_serves_until_stopped() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.key("openssh/ed25519");
    let http = http_server();
    let forward = format!("-L0:localhost:{http}");
    let said = w.sb.path().join("said.txt");
    let mut cmd = w.connect_with(&key, true, &["-f", "-N", &forward]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&said).unwrap());
    let mut first = ChildGuard::spawn(&mut cmd).unwrap();
    let status = wait_bounded(&mut first, Duration::from_secs(60));
    let text = std::fs::read_to_string(&said).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    let port: u16 = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:")?.parse().ok())
        .unwrap_or_else(|| panic!("no forward reported: {text}"));
    let pid = background_pid(&text).unwrap_or_else(|| panic!("no process named: {text}"));
    assert!(text.contains(&format!("Stop-Process -Id {pid}")), "{text}");
    let stop = || {
        run(wine()
            .command_for(Path::new("taskkill"))
            .args(["/F", "/PID", &pid.to_string()]))
    };
    let fetched = (|| -> std::io::Result<Vec<u8>> {
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
        conn.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(conn, "GET /3 HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut response = Vec::new();
        conn.read_to_end(&mut response)?;
        Ok(response)
    })();
    let response = match fetched {
        Ok(r) => r,
        Err(e) => {
            stop();
            panic!("the background tunnel did not serve: {e}");
        }
    };
    let body_at = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let served = response[body_at..] == page(3)[..];
    let stopped = stop();
    assert!(served, "body differs ({} bytes)", response.len());
    stopped.assert_ok("wine taskkill /F /PID");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "port {port} still bound after taskkill"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `-f` on Wine's console: the passphrase is asked there, the prompt comes back once the
/// tunnel is up, and the tunnel serves after the console program has ended.
#[test]
#[ignore = "Windows .exe under Wine: run by cargo xtask windows test"]
fn exe_dash_f_asks_on_the_console_then_goes_to_the_background() {
    let w = world(&["openssh/rsa4096_pp.pub"]);
    let key = w.key("openssh/rsa4096_pp");
    let http = http_server();
    let forward = format!("-L0:localhost:{http}");
    let inner = w.connect_with(&key, true, &["-f", "-N", &forward]);
    // A shell leads the terminal's session, as when a user types the command. (Without it
    // rk-connect.exe itself would lead the pty's session, and under Wine, where the copy is a
    // Unix process in that session, the kernel hangs the copy up when the leader exits: measured.
    // On Windows FreeConsole alone detaches it; Wine's FreeConsole cannot leave a Unix session.)
    let cmd = in_shell(
        &inner,
        "\"$@\"; echo rk-connect-returned-$?; sleep 20",
        w.sb.path(),
    );
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000)).expect("spawn under a pty");
    p.exp_string("Passphrase for key").unwrap();
    // Wine's console has drawn the prompt (and shows the cursor again) before it reads.
    let _ = p.exp_string("\x1b[?25h");
    std::thread::sleep(Duration::from_millis(300));
    p.send("correct horse\r").unwrap();
    p.flush().unwrap();
    let port = rk_e2e::pty_forwarded_port(&mut p);
    let pid = rk_e2e::pty_background_pid(&mut p);
    let stop = || {
        run(wine()
            .command_for(Path::new("taskkill"))
            .args(["/F", "/PID", &pid.to_string()]))
    };
    let returned = p.exp_regex(r"rk-connect-returned-\d+");
    let fetched = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut conn| {
        conn.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(conn, "GET /5 HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut response = Vec::new();
        conn.read_to_end(&mut response)?;
        Ok(response)
    });
    stop().assert_ok("wine taskkill /F /PID");
    let (_, returned) = returned.expect("rk-connect.exe did not return once the tunnel was up");
    assert_eq!(returned, "rk-connect-returned-0");
    let response = fetched.expect("the background tunnel did not serve");
    let body_at = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(response[body_at..] == page(5)[..], "body differs");
}
