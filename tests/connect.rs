//! rk-connect against a real OpenSSH sshd on 127.0.0.1, started and stopped by each test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

const PASS: &str = "correct horse";

struct World {
    sb: Sandbox,
    sshd: Sshd,
}

/// A sandbox, the fixture keys in it, and an sshd that accepts `accepted` (fixture names).
fn world(accepted: &[&str]) -> World {
    let sb = Sandbox::new();
    let pubs: Vec<PathBuf> = accepted
        .iter()
        .map(|k| fixtures().join(format!("keys/{k}")))
        .collect();
    let refs: Vec<&Path> = pubs.iter().map(PathBuf::as_path).collect();
    let sshd = Sshd::start(&refs);
    World { sb, sshd }
}

impl World {
    /// A shared job-log fixture pointed at this world's sshd (user, address and port replaced).
    fn local_job_log(&self, fixture: &str, replace: &[(&str, String)]) -> PathBuf {
        let mut log = std::fs::read_to_string(fixtures().join("job-logs").join(fixture)).unwrap();
        for (from, to) in replace {
            log = log.replace(from, to);
        }
        self.sb.write("job.log", &log)
    }

    /// rk-connect with the test's known_hosts, accepting the host on first use.
    fn connect(&self, key: &Path) -> Command {
        let mut c = self.sb.rk_connect();
        c.arg("-i").arg(key).arg(self.sshd.dest());
        c
    }
}

#[test]
fn exec_streams_split_exit_codes_and_10_mb_of_stdin() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");

    let out = run(w
        .connect(&key)
        .args(["--", "echo out; echo err >&2; exit 0"]));
    out.assert_ok("exec");
    assert_eq!(out.stdout_str(), "out\n");
    assert!(out.stderr_str().contains("err\n"), "{}", out.stderr_str());
    assert!(!out.stdout_str().contains("err"));

    assert_eq!(run(w.connect(&key).args(["--", "exit 3"])).code(), Some(3));
    assert_eq!(
        run(w.connect(&key).args(["--", "kill -TERM $$"])).code(),
        Some(128 + 15)
    );
    // Arguments are joined with spaces, as ssh does.
    let out = run(w.connect(&key).args(["printf", "%s-%s", "a", "b"]));
    assert_eq!(out.stdout_str(), "a-b");

    let data: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = run_with_input(
        w.connect(&key).args(["--", "sha256sum"]),
        &data,
        Duration::from_secs(60),
    );
    out.assert_ok("10 MB through stdin");
    assert_eq!(
        out.stdout_str().split_whitespace().next().unwrap(),
        sha256_hex(&data)
    );
    // And back: 10 MB from the remote side.
    let out = run(w.connect(&key).args(["--", "head -c 10485760 /dev/zero"]));
    assert_eq!(out.stdout.len(), 10 * 1024 * 1024);
}

#[test]
fn auth_with_every_key_format_and_rsa_sha2() {
    let w = world(&[
        "openssh/ed25519.pub",
        "openssh/rsa4096.pub",
        "openssh/rsa4096_pp.pub",
        "putty/ed25519_pp.openssh.pub",
    ]);
    let ed = w.sb.fixture("keys/openssh/ed25519");
    run(w.connect(&ed).arg("true")).assert_ok("ed25519");

    let rsa = w.sb.fixture("keys/openssh/rsa4096");
    let out = run(w.connect(&rsa).arg("-v").arg("true"));
    out.assert_ok("rsa-4096");
    let log = w.sshd.log();
    assert!(
        log.contains("Accepted publickey") && log.contains("RSA SHA256:"),
        "{log}"
    );
    // The signature algorithm sshd verified: rsa-sha2-*, never ssh-rsa (SHA-1).
    assert!(
        log.contains("rsa-sha2-512") || log.contains("rsa-sha2-256"),
        "{log}"
    );
    assert!(!log.contains("pkalg ssh-rsa "), "{log}");

    let encrypted = w.sb.fixture("keys/openssh/rsa4096_pp");
    let passfile = w.sb.write("pass", PASS);
    run(w
        .connect(&encrypted)
        .arg("--passphrase-file")
        .arg(&passfile)
        .arg("true"))
    .assert_ok("encrypted key");
    let wrong = w.sb.write("wrong", "nope");
    let out = run(w
        .connect(&encrypted)
        .arg("--passphrase-file")
        .arg(&wrong)
        .arg("true"));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("incorrect passphrase"),
        "{}",
        out.stderr_str()
    );

    let ppk = w.sb.fixture("keys/putty/ed25519_pp.ppk");
    run(w
        .connect(&ppk)
        .arg("--passphrase-file")
        .arg(&passfile)
        .arg("true"))
    .assert_ok(".ppk key");
}

#[test]
fn agent_keys_are_used_but_nothing_is_forwarded() {
    let w = world(&["openssh/ecdsa384.pub"]);
    let key = w.sb.fixture("keys/openssh/ecdsa384");
    let (mut agent, sock) = ssh_agent_holding(w.sb.path(), &key);
    // No -i: the default keys do not exist in the sandbox's HOME; the agent's key logs in.
    let mut cmd = w.sb.rk_connect();
    cmd.arg("-v")
        .arg(w.sshd.dest())
        .arg("env")
        .env("SSH_AUTH_SOCK", &sock)
        .env("DISPLAY", ":42")
        .env("RK_LOCAL_SECRET", "do-not-send")
        .env("LC_ALL", "C");
    let out = run(&mut cmd);
    out.assert_ok("agent auth");
    assert!(out.stderr_str().contains("agent"), "{}", out.stderr_str());
    let _ = agent.child().kill();

    // No agent forwarding, no X11 forwarding, no local environment on the remote side.
    let remote_env = out.stdout_str();
    for name in ["SSH_AUTH_SOCK=", "DISPLAY=", "RK_LOCAL_SECRET=", "LC_ALL="] {
        assert!(
            !remote_env.lines().any(|l| l.starts_with(name)),
            "{name} reached the server:\n{remote_env}"
        );
    }
    let log = w.sshd.log();
    assert!(
        log.contains("request exec"),
        "sshd logs channel requests:\n{log}"
    );
    for request in ["auth-agent-req", "x11-req", "request env"] {
        assert!(!log.contains(request), "rk-connect sent {request}:\n{log}");
    }
}

#[test]
fn unauthorized_key_and_loose_permissions_are_refused_with_advice() {
    let w = world(&["openssh/ed25519.pub"]);
    let other = w.sb.fixture("keys/openssh/ecdsa256");
    let out = run(w.connect(&other).arg("true"));
    assert_eq!(out.code(), Some(255));
    let err = out.stderr_str();
    assert!(
        err.contains("Permission denied (publickey)")
            && err.contains("Job Settings → SSH Public Key"),
        "{err}"
    );
    let fp =
        std::fs::read_to_string(fixtures().join("keys/openssh/ecdsa256.fp-sha256.txt")).unwrap();
    assert!(
        err.contains(fp.split_whitespace().nth(1).unwrap()),
        "names the key's fingerprint: {err}"
    );

    let loose = w.sb.fixture("keys/openssh/ed25519");
    set_mode(&loose, 0o644);
    let out = run(w.connect(&loose).arg("true"));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("Permissions 0644") && out.stderr_str().contains("chmod 600"),
        "{}",
        out.stderr_str()
    );
    run(w
        .connect(&loose)
        .arg("--allow-loose-key-permissions")
        .arg("true"))
    .assert_ok("explicitly allowed");
}

#[test]
fn host_keys_unknown_accepted_and_changed() {
    let mut w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let strict = |w: &World| {
        let mut c = w.sb.rk("rk-connect");
        c.arg("--known-hosts")
            .arg(w.sb.known_hosts())
            .arg("-i")
            .arg(&key)
            .arg(w.sshd.dest())
            .arg("true");
        c
    };
    // Unknown, no terminal, no --accept-new: refused, nothing recorded, nothing run.
    let out = run(&mut strict(&w));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("not known") && out.stderr_str().contains("--accept-new"),
        "{}",
        out.stderr_str()
    );
    assert!(!w.sb.known_hosts().exists());

    // --accept-new records it in a form OpenSSH accepts strictly.
    run(w.connect(&key).arg("true")).assert_ok("accept-new");
    let entry = std::fs::read_to_string(w.sb.known_hosts()).unwrap();
    assert!(
        entry.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", w.sshd.port)),
        "{entry}"
    );
    let ssh = run(peer("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
        ])
        .arg(format!(
            "UserKnownHostsFile={}",
            w.sb.known_hosts().display()
        ))
        .arg("-i")
        .arg(&key)
        .arg("-p")
        .arg(w.sshd.port.to_string())
        .arg(format!("{}@127.0.0.1", current_user()))
        .arg("true"));
    ssh.assert_ok("OpenSSH accepts rk's known_hosts entry");
    run(&mut strict(&w)).assert_ok("known host");

    // The server comes back with another host key: refused loudly, with the line to remove.
    w.sshd.kill_all();
    w.sshd.new_host_key();
    w.sshd.launch();
    let out = run(&mut strict(&w));
    assert_eq!(out.code(), Some(255));
    let err = out.stderr_str();
    assert!(
        err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            && err.contains("line 1 of")
            && err.contains("ssh-keygen -R"),
        "{err}"
    );
    let out = run(w.connect(&key).arg("true"));
    assert_eq!(
        out.code(),
        Some(255),
        "--accept-new never overrides a changed key"
    );
    assert_eq!(
        std::fs::read_to_string(w.sb.known_hosts()).unwrap(),
        entry,
        "known_hosts untouched"
    );
}

#[test]
fn from_log_and_port_probing() {
    // Nothing of this machine's listens on 32100 or 22 here: the refusal below is rk's to say.
    own_network();
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let log_path = w.local_job_log(
        "basic-32100.log",
        &[
            ("uprod_00Grm", current_user()),
            ("3.80.3.168", "127.0.0.1".into()),
            ("32100", w.sshd.port.to_string()),
        ],
    );
    let mut cmd = w.sb.rk_connect();
    cmd.arg("-i").arg(&key);
    cmd.arg("--from-log")
        .arg(&log_path)
        .arg("--allow-private")
        .args(["--", "echo", "via-log"]);
    let out = run(&mut cmd);
    out.assert_ok("--from-log");
    assert_eq!(out.stdout_str(), "via-log\n");

    // Without --allow-private the loopback address is not a job address, and rk-connect says
    // so — which line, what, why, and the flag — rather than "wait for the message".
    let line = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .position(|l| l.contains("127.0.0.1"))
        .unwrap()
        + 1;
    let mut cmd = w.sb.rk("rk-connect");
    cmd.arg("-i")
        .arg(&key)
        .arg("--from-log")
        .arg(&log_path)
        .arg("true");
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains(&format!(
            "line {line} names 127.0.0.1, a loopback address, not a public one: pass --allow-private"
        )) && !out.stderr_str().contains("no SSH connection message"),
        "{}",
        out.stderr_str()
    );

    // Nothing listening: a clear refusal naming both platform ports.
    let mut cmd = w.sb.rk("rk-connect");
    cmd.arg("-i")
        .arg(&key)
        .arg(format!("{}@127.0.0.1", current_user()))
        .arg("true");
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(255));
    let err = out.stderr_str();
    assert!(
        err.contains("refused") && err.contains("32100") && err.contains("22"),
        "{err}"
    );
}

#[test]
fn server_killed_mid_session_ends_rk_quickly() {
    let mut w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let mut cmd = w.connect(&key);
    cmd.args(["--", "echo started; sleep 60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let stdout = child.child().stdout.take().unwrap();
    let line = first_line_within(stdout, Duration::from_secs(30));
    assert_eq!(line, "started\n");
    let killed = Instant::now();
    w.sshd.kill_all();
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(255));
    assert!(killed.elapsed() < Duration::from_secs(5));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.child().stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("connection") && err.contains("lost"), "{err}");
}

#[test]
fn frozen_server_is_detected_by_keepalives() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let mut cmd = w.connect(&key);
    cmd.args(["--keepalive", "1", "--", "echo started; sleep 60"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let stdout = child.child().stdout.take().unwrap();
    let line = first_line_within(stdout, Duration::from_secs(30));
    assert_eq!(line, "started\n", "the session did not come up");
    // Freeze the session's sshd processes: the TCP connection stays up, nothing answers.
    let frozen = w.sshd.sessions();
    assert!(!frozen.is_empty());
    for pid in &frozen {
        let _ = Command::new("kill")
            .arg("-STOP")
            .arg(pid.to_string())
            .status();
    }
    let start = Instant::now();
    let status = wait_bounded(&mut child, Duration::from_secs(15));
    for pid in &frozen {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(pid.to_string())
            .status();
    }
    assert_eq!(status.code(), Some(255));
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn interactive_shell_on_a_pty() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let before = w.sb.path().join("stty.before");
    let after = w.sb.path().join("stty.after");
    // A shell on the pty sets a window size, records the terminal settings, runs rk-connect
    // (no --accept-new: the host key question is answered on the terminal), records them again.
    let script = format!(
        "stty rows 37 cols 123; stty -g > '{before}'; '{rk}' --known-hosts '{kh}' -i '{key}' '{dest}'; code=$?; stty -g > '{after}'; exit $code",
        before = before.display(),
        after = after.display(),
        rk = bin("rk-connect").display(),
        kh = w.sb.known_hosts().display(),
        key = key.display(),
        dest = w.sshd.dest(),
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env("HOME", w.sb.home())
        .env("TERM", "dumb")
        .env_remove("SSH_AUTH_SOCK");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under a pty");
    p.exp_string("can't be established").unwrap();
    p.exp_string("SHA256:").unwrap();
    p.exp_string("Are you sure you want to continue connecting (yes/no/once)? ")
        .unwrap();
    p.send_line("yes").unwrap();
    p.send_line("echo MARK$((40+2))").unwrap();
    p.exp_string("MARK42").unwrap();
    p.send_line("stty size; tty").unwrap();
    p.exp_string("37 123").unwrap();
    p.exp_string("/dev/pts/").unwrap();
    p.send_line("exit 7").unwrap();
    assert_eq!(pty_exit_code(&mut p), 7);
    // The local terminal is back exactly as it was, and the host was remembered.
    assert_eq!(
        std::fs::read_to_string(&before).unwrap(),
        std::fs::read_to_string(&after).unwrap()
    );
    assert!(
        std::fs::read_to_string(w.sb.known_hosts())
            .unwrap()
            .contains("ssh-ed25519")
    );
}

/// A shell on the world's sshd through rk-connect on a pty, once it answers a command.
fn shell_on_a_pty(w: &World) -> rexpect::session::PtySession {
    let key = w.sb.fixture("keys/openssh/ed25519");
    let mut cmd = w.connect(&key);
    cmd.env("TERM", "dumb").env_remove("SSH_AUTH_SOCK");
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under a pty");
    p.send_line("echo MARK$((40+2))").unwrap();
    p.exp_string("MARK42").unwrap();
    p
}

#[test]
fn escape_sequences_on_a_pty() {
    let w = world(&["openssh/ed25519.pub"]);
    let mut p = shell_on_a_pty(&w);
    // A ~ in mid-line reaches the remote unchanged (its output, not its echo, is matched).
    p.send_line("echo 'a~b' | tr a Z").unwrap();
    p.exp_string("Z~b").unwrap();
    // After a newline: ~? lists the escapes (locally), ~~ sends one ~.
    p.send("~?").unwrap();
    p.flush().unwrap();
    p.exp_string("Supported escape sequences:").unwrap();
    p.exp_string("terminate connection").unwrap();
    p.send_line("read v; echo \"[$v]\"").unwrap();
    p.send("~~x\n").unwrap();
    p.flush().unwrap();
    p.exp_string("[~x]").unwrap();
    // ~. ends the session at once, with ssh's status.
    p.send("\n~.").unwrap();
    p.flush().unwrap();
    assert_eq!(pty_exit_code(&mut p), 255);
}

/// `~C` in a session: -L and -R added, listed by `~#`, used, cancelled (-KL, -KR), and a bad
/// command answered without ending the session.
#[test]
fn command_line_adds_and_cancels_forwards() {
    let w = world(&["openssh/ed25519.pub"]);
    let page = one_page_server("page through ~C", 4);
    let mut p = shell_on_a_pty(&w);

    // -L: a new local port, reaching the page through the cluster.
    p.send("~C").unwrap();
    p.flush().unwrap();
    p.exp_string("rk-connect> ").unwrap();
    p.send(&format!("-L 0:127.0.0.1:{page}\r")).unwrap();
    p.flush().unwrap();
    // (rexpect reads bytes as Latin-1: the arrow between the addresses is not matched.)
    let local = pty_forwarded_port(&mut p);
    p.exp_string(&format!(" 127.0.0.1:{page} on the cluster"))
        .unwrap();
    assert!(http_get(local).unwrap().ends_with("page through ~C"));
    // ~# lists it.
    p.send("~#").unwrap();
    p.flush().unwrap();
    p.exp_string(&format!("-L 127.0.0.1:{local} ")).unwrap();
    p.exp_string(&format!(" 127.0.0.1:{page} on the cluster"))
        .unwrap();
    p.exp_string("forwarded connection").unwrap();

    // -R: the cluster's sshd listens (on this machine's loopback) and reaches the page here.
    p.send("~C-R 0:127.0.0.1:").unwrap();
    p.send(&format!("{page}\r")).unwrap();
    p.flush().unwrap();
    // " for" after the digits: a port cut in two reads must not be taken for a shorter one.
    let (_, allocated) = p.exp_regex(r"Allocated port \d+ for").unwrap();
    let remote: u16 = allocated
        .trim_start_matches("Allocated port ")
        .trim_end_matches(" for")
        .parse()
        .unwrap();
    assert!(http_get(remote).unwrap().ends_with("page through ~C"));

    // Cancelled: the ports stop accepting.
    p.send(&format!("~C-KL {local}\r")).unwrap();
    p.flush().unwrap();
    p.exp_string(&format!("Cancelled local forward on 127.0.0.1:{local}."))
        .unwrap();
    assert!(http_get(local).is_err(), "-KL left port {local} open");
    p.send(&format!("~C-KR {remote}\r")).unwrap();
    p.flush().unwrap();
    p.exp_string(&format!(
        "Cancelled remote forward on port {remote} of the cluster."
    ))
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_get(remote).is_ok() {
        assert!(Instant::now() < deadline, "-KR left port {remote} open");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A bad command is answered; the session goes on. Nothing typed on the line reached it.
    p.send("~C-L nonsense\r").unwrap();
    p.flush().unwrap();
    p.exp_string("expected [BIND:]PORT:HOST:HOSTPORT").unwrap();
    p.send_line("echo STILL$((1+1))").unwrap();
    p.exp_string("STILL2").unwrap();
    p.send_line("exit 4").unwrap();
    assert_eq!(pty_exit_code(&mut p), 4);
}

#[test]
fn ssh_config_host_block_from_rk_parse_log() {
    let w = world(&["openssh/ed25519.pub"]);
    let key = w.sb.fixture("keys/openssh/ed25519");
    let log_path = w.local_job_log(
        "basic-22.log",
        &[
            ("uprod_qpWia", current_user()),
            ("107.23.132.81", "127.0.0.1".into()),
            ("Port: 22", format!("Port: {}", w.sshd.port)),
        ],
    );
    let block = run(w
        .sb
        .rk("rk-parse-log")
        .args([
            "--format",
            "ssh-config",
            "--allow-private",
            "--alias",
            "myjob",
            "-i",
        ])
        .arg(&key)
        .arg(&log_path));
    block.assert_ok("rk-parse-log --format ssh-config");
    let config = w.sb.write("ssh_config", &block.stdout_str());
    let mut cmd = w.sb.rk_connect();
    cmd.arg("-F")
        .arg(&config)
        .args(["myjob", "echo", "via-alias"]);
    let out = run(&mut cmd);
    out.assert_ok("Host alias");
    assert_eq!(out.stdout_str(), "via-alias\n");
}

#[test]
fn wait_retries_until_the_server_accepts() {
    let sb = Sandbox::new();
    let pubkey = fixtures().join("keys/openssh/ed25519.pub");
    let mut sshd = Sshd::prepare(&[pubkey.as_path()]);
    let key = sb.fixture("keys/openssh/ed25519");
    let mut cmd = sb.rk_connect();
    cmd.arg("-i").arg(&key);
    cmd.args(["--wait", "20"])
        .arg(sshd.dest())
        .args(["echo", "waited"]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    if child.child().try_wait().unwrap().is_some() {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.child().stderr.take().unwrap(), &mut err).unwrap();
        panic!("rk-connect gave up instead of waiting: {err}");
    }
    sshd.launch();
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.child().stdout.take().unwrap(), &mut out).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.child().stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(out, "waited\n");
    assert!(err.contains("retrying"), "{err}");
}

#[test]
fn saved_job_and_default_port_32100() {
    // The platform's port, in a network of this test's own: 32100 is free whatever the
    // machine runs, and no other test's sshd can answer there.
    own_network();
    let sb = Sandbox::new();
    let pubkey = fixtures().join("keys/openssh/ed25519.pub");
    let mut sshd = Sshd::prepare(&[pubkey.as_path()]);
    sshd.port = 32100;
    sshd.launch();
    let key = sb.fixture("keys/openssh/ed25519");
    let state = sb.path().join("state");
    let log = format!(
        "2026-11-24 16:07:03 SSH access: the job username is {} and the public IP address is 127.0.0.1\n",
        current_user(),
    );
    let log_path = sb.write("job.log", &log);
    run(sb
        .rk("rk-parse-log")
        .args(["--save", "--allow-private"])
        .arg(&log_path)
        .env("XDG_STATE_HOME", &state))
    .assert_ok("--save");

    let mut cmd = sb.rk_connect();
    cmd.arg("-i").arg(&key).env("XDG_STATE_HOME", &state);
    let out = run(&mut cmd);
    // No destination and no command: it would start a shell; stdin is empty, so the shell ends.
    out.assert_ok("saved job");
    let err = out.stderr_str();
    assert!(err.contains("connecting to the saved job"), "{err}");
    assert!(err.contains("answered on port 32100"), "{err}");
}

#[test]
fn silent_server_times_out_with_advice() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    // Accepts connections and never says a word.
    let port = fake_server(Vec::new, false);
    let start = Instant::now();
    let out = run(sb
        .rk("rk-connect")
        .arg("-i")
        .arg(&key)
        .args(["--connect-timeout", "2"])
        .arg(format!("ssh://u@127.0.0.1:{port}"))
        .arg("true"));
    assert_eq!(out.code(), Some(255));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        out.stderr_str().contains("did not answer as an SSH server"),
        "{}",
        out.stderr_str()
    );
}
