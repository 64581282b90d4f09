//! Servers that are not what they claim, and many rk-connect processes at once: rk-connect
//! gives up in bounded time with bounded memory and a clear message, and a shared known_hosts
//! stays whole.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rk_e2e::*;

/// rk-connect against `port`, measured.
fn connect_to(sb: &Sandbox, port: u16) -> Measured {
    let key = sb.fixture("keys/openssh/ed25519");
    let known_hosts = sb.known_hosts();
    let dest = format!("ssh://u@127.0.0.1:{port}");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--known-hosts".as_ref(),
        known_hosts.as_os_str(),
        "-i".as_ref(),
        key.as_os_str(),
        "--connect-timeout".as_ref(),
        "3".as_ref(),
        dest.as_ref(),
        "true".as_ref(),
    ];
    run_measured(&bin("rk-connect"), &args, &[("HOME", &sb.home())])
}

fn assert_bounded(what: &str, m: &Measured) {
    let stderr = m.output.stderr_str();
    assert_eq!(m.output.code(), Some(255), "{what}: {stderr}");
    assert!(
        m.elapsed < Duration::from_secs(10),
        "{what}: took {:?}",
        m.elapsed
    );
    assert!(m.peak_rss_kib > 0, "{what}: /usr/bin/time reported no RSS");
    assert!(
        m.peak_rss_kib < 64 * 1024,
        "{what}: peak RSS {} MiB",
        m.peak_rss_kib / 1024
    );
    assert!(
        stderr.starts_with("rk-connect: ") && !stderr.contains("panicked"),
        "{what}: {stderr}"
    );
}

#[test]
fn garbage_instead_of_a_banner_is_refused_quickly() {
    let sb = Sandbox::new();
    let port = fake_server(
        || b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
        false,
    );
    let result = connect_to(&sb, port);
    assert_bounded("HTTP reply", &result);
}

#[test]
fn a_one_megabyte_banner_line_does_not_blow_memory() {
    let sb = Sandbox::new();
    let port = fake_server(|| vec![b'A'; 1024 * 1024], false);
    let result = connect_to(&sb, port);
    assert_bounded("1 MiB line", &result);
}

#[test]
fn an_endless_stream_of_lines_before_the_banner_ends_in_time() {
    let sb = Sandbox::new();
    // Pre-banner lines are legal in SSH; endless ones must not keep rk-connect busy or growing.
    let port = fake_server(|| b"not ssh yet\r\n".repeat(4096), true);
    let result = connect_to(&sb, port);
    assert_bounded("endless lines", &result);
}

#[test]
fn a_server_that_stalls_after_its_banner_times_out() {
    let sb = Sandbox::new();
    let port = fake_server(|| b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), false);
    let result = connect_to(&sb, port);
    assert_bounded("stalled key exchange", &result);
    let stderr = result.output.stderr_str();
    assert!(
        stderr.contains("did not answer as an SSH server"),
        "{stderr}"
    );
}

#[test]
fn ten_processes_learning_hosts_at_once_leave_a_whole_known_hosts() {
    let sb = Sandbox::new();
    let public = fixtures().join("keys/openssh/ed25519.pub");
    let servers: Vec<Sshd> = (0..10).map(|_| Sshd::start(&[public.as_path()])).collect();
    let known_hosts = sb.path().join("known_hosts");
    let key = sb.fixture("keys/openssh/ed25519");
    let mut children: Vec<ChildGuard> = servers
        .iter()
        .map(|s| {
            let mut cmd = Command::new(bin("rk-connect"));
            cmd.arg("--known-hosts")
                .arg(&known_hosts)
                .arg("--accept-new")
                .arg("-i")
                .arg(&key)
                .arg(s.dest())
                .arg("true")
                .env("HOME", sb.home())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            ChildGuard::spawn(&mut cmd).unwrap()
        })
        .collect();
    for child in &mut children {
        assert!(wait_bounded(child, Duration::from_secs(60)).success());
    }
    let text = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(text.lines().count(), 10, "{text}");
    for s in &servers {
        let host_key = type_and_blob(&s.host_key_pub());
        let expected = format!("[127.0.0.1]:{} {host_key}", s.port);
        assert!(
            text.lines().any(|l| l == expected),
            "missing or torn: {expected}\n{text}"
        );
        // OpenSSH finds the entry, and ssh itself accepts the host with strict checking.
        let found = run(peer("ssh-keygen")
            .arg("-F")
            .arg(format!("[127.0.0.1]:{}", s.port))
            .arg("-f")
            .arg(&known_hosts));
        found.assert_ok("ssh-keygen -F");
        let ssh = run(peer("ssh")
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .arg("-i")
            .arg(&key)
            .arg("-p")
            .arg(s.port.to_string())
            .arg(format!("{}@127.0.0.1", current_user()))
            .arg("true"));
        ssh.assert_ok("ssh with rk's known_hosts entry");
    }
}

#[test]
fn a_remote_side_that_never_reads_does_not_make_rk_buffer_its_input() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let sb = Sandbox::new();
    let public = fixtures().join("keys/openssh/ed25519.pub");
    let sshd = Sshd::start(&[public.as_path()]);
    let key = sb.fixture("keys/openssh/ed25519");
    // The remote command never reads its stdin: the channel window closes and stays closed.
    let mut cmd = sb.rk_connect();
    cmd.arg("-i")
        .arg(&key)
        .arg(sshd.dest())
        .args(["sleep", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let mut stdin = child.child().stdin.take().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        while stdin.write_all(&chunk).is_ok() {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    });
    std::thread::sleep(Duration::from_secs(4));
    let accepted = written.load(Ordering::Relaxed);
    let rss_kib = peak_rss_kib(child.id()).expect("rk-connect is still running");
    // The bound means something only if the session is up and data flowed until the window
    // closed (sshd's window alone is 2 MiB).
    assert!(!sshd.sessions().is_empty(), "the session never came up");
    assert!(
        accepted > 1024 * 1024,
        "only {} KiB accepted: the session did not take input",
        accepted / 1024
    );
    // Kernel pipe + socket buffers, sshd's window (2 MiB) and rk's own read buffer: a few MiB,
    // not "everything the producer could write in 4 s" (gigabytes).
    assert!(
        accepted < 64 * 1024 * 1024,
        "rk-connect took {} MiB of input the server never asked for",
        accepted >> 20
    );
    assert!(rss_kib < 64 * 1024, "peak RSS {} MiB", rss_kib / 1024);
    eprintln!(
        "stalled remote: {} KiB accepted, rk-connect peak RSS {} MiB",
        accepted / 1024,
        rss_kib / 1024
    );
}
