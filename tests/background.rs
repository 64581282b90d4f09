//! `rk-connect -f`, as every notebook-on-a-cluster recipe uses `ssh -f -N -L …`: the passphrase
//! is asked on the terminal, the prompt comes back once the tunnel is up, and the tunnel
//! outlives the terminal. A forward that cannot be set up is an error before any of that.

use std::process::Command;
use std::time::{Duration, Instant};

use rk_e2e::*;

/// The background copy, stopped by its PID when the test ends (it is no child of the test).
struct Background(u32);

impl Drop for Background {
    fn drop(&mut self) {
        kill_pid(self.0);
    }
}

/// The session and controlling terminal of a process (fields 6 and 7 of /proc/PID/stat).
fn session_and_tty(pid: u32) -> (u32, i64) {
    let fields = stat_fields(pid).unwrap();
    // After "(comm)": state ppid pgrp session tty_nr …
    (fields[3].parse().unwrap(), fields[4].parse().unwrap())
}

#[test]
fn dash_f_asks_on_the_terminal_returns_and_the_tunnel_outlives_it() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("rsa4096_pp"));
    let key = sb.fixture("keys/openssh/rsa4096_pp");
    let page = one_page_server("notebook through a background tunnel\n", 1);
    let script = format!(
        "'{rk}' --known-hosts '{kh}' --accept-new -i '{key}' -f -N -L 0:127.0.0.1:{page} '{dest}'",
        rk = bin("rk-connect").display(),
        kh = sb.known_hosts().display(),
        key = key.display(),
        dest = sshd.dest(),
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env("HOME", sb.home())
        .env("TERM", "dumb")
        .env_remove("SSH_AUTH_SOCK");
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn under a pty");
    p.exp_string("Passphrase for key").unwrap();
    p.send_line("correct horse").unwrap();
    let port = pty_forwarded_port(&mut p);
    let pid = pty_background_pid(&mut p);
    let background = Background(pid);
    // The prompt comes back: the process the shell started has ended, successfully.
    assert_eq!(pty_exit_code(&mut p), 0);
    // The terminal goes away (its master closed), and the copy is in a session of its own,
    // with no controlling terminal and standard input on /dev/null.
    drop(p);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        alive(pid),
        "the background rk-connect ended with the terminal"
    );
    assert_eq!(session_and_tty(pid), (pid, 0));
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    let body = http_get(port).unwrap();
    assert!(
        body.ends_with("notebook through a background tunnel\n"),
        "{body}"
    );
    // Stopped as it said: kill PID ends it and frees the port.
    drop(background);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(pid), "kill {pid} did not end it");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
}

#[test]
fn dash_f_with_a_taken_port_fails_before_going_to_the_background() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let key = sb.fixture("keys/openssh/ed25519");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let started = Instant::now();
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .args(["-f", "-N", "-L", &format!("{port}:127.0.0.1:9")])
        .arg(sshd.dest()));
    assert_eq!(out.code(), Some(255), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains(&port.to_string()), "{err}");
    assert!(!err.contains("in the background"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Nothing was left running: sshd has no session left for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sshd.sessions().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sshd.sessions().is_empty(), "{:?}", sshd.sessions());
}

#[test]
fn dash_f_runs_a_command_in_the_background() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let key = sb.fixture("keys/openssh/ed25519");
    let done = sb.path().join("done");
    // stderr into a file: a pipe would stay open in the background process (as with ssh -f,
    // whose `2>&1 | cat` waits for the command too).
    let said = sb.path().join("said");
    let mut cmd = sb.rk_connect();
    cmd.arg("-i")
        .arg(&key)
        .arg("-f")
        .arg(sshd.dest())
        .arg(format!("sleep 2; echo finished > '{}'", done.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&said).unwrap());
    let mut first = ChildGuard::spawn(&mut cmd).unwrap();
    let status = wait_bounded(&mut first, Duration::from_secs(30));
    let said = std::fs::read_to_string(&said).unwrap();
    assert_eq!(status.code(), Some(0), "{said}");
    // Back before the command finished; the command still finishes.
    assert!(
        !done.exists(),
        "the prompt came back only after the command"
    );
    let pid = background_pid(&said).unwrap_or_else(|| panic!("no process named: {said}"));
    let _background = Background(pid);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read_to_string(&done).unwrap(), "finished\n");
}

#[test]
fn dash_f_needs_a_command_or_dash_n() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let out = run(sb.rk_connect().arg("-f").arg(sshd.dest()));
    assert_eq!(out.code(), Some(255));
    assert!(out.stderr_str().contains("add -N"), "{}", out.stderr_str());
}
