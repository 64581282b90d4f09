//! rk-connect -L/-D/-N through a real sshd on loopback, to real local servers.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

/// rk-connect -N with the given forwards, started and parsed: (guard, listening ports in order).
struct Tunnel {
    child: ChildGuard,
    ports: Vec<u16>,
    /// What rk-connect says on stderr after its forwards were reported.
    lines: std::sync::mpsc::Receiver<String>,
    _stderr: std::thread::JoinHandle<()>,
}

fn start_tunnel(sb: &Sandbox, sshd: &Sshd, forwards: &[&str]) -> Tunnel {
    let key = sb.path().join("ed25519");
    if !key.exists() {
        sb.fixture("keys/openssh/ed25519");
    }
    let mut cmd = sb.rk_connect();
    cmd.arg("-i").arg(&key).arg("-N");
    for f in forwards {
        cmd.arg(f);
    }
    cmd.arg(sshd.dest());
    let want = forwards
        .iter()
        .filter(|f| f.starts_with("-L") || f.starts_with("-D") || f.starts_with("-R"))
        .count();
    start_tunnel_cmd(cmd, want)
}

/// Starts a prepared `rk-connect -N …` and reads the `want` ports its forwards report.
fn start_tunnel_cmd(mut cmd: Command, want: usize) -> Tunnel {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let stderr = child.child().stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut ports = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while ports.len() < want {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("rk-connect did not report its forwards");
        // -R: "Forwarding port PORT on the cluster → …" (after "Allocated port PORT …" for
        // port 0); -L: "Forwarding 127.0.0.1:PORT → …"; -D: "SOCKS proxy on 127.0.0.1:PORT …"
        if let Some(rest) = line.strip_prefix("Forwarding port ") {
            ports.push(rest.split_whitespace().next().unwrap().parse().unwrap());
            continue;
        }
        if line.starts_with("Allocated port ") {
            continue;
        }
        if let Some(addr) = line
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
        {
            ports.push(addr.trim_start_matches("127.0.0.1:").parse().unwrap());
        }
    }
    Tunnel {
        child,
        ports,
        lines: rx,
        _stderr: reader,
    }
}

fn sshd() -> Sshd {
    let pubkey = fixtures().join("keys/openssh/ed25519.pub");
    Sshd::start(&[pubkey.as_path()])
}

fn payload(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
        .collect()
}

#[test]
fn local_forward_round_trips_payloads_byte_identical() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let echo2 = EchoServer::start();
    let t = start_tunnel(
        &sb,
        &sshd,
        &[
            &format!("-L0:127.0.0.1:{}", echo.port),
            &format!("-L0:127.0.0.1:{}", echo2.port),
        ],
    );
    assert_eq!(t.ports.len(), 2);
    for len in [0, 1, 1024 * 1024, 64 * 1024 * 1024] {
        let data = payload(len);
        let back = round_trip(t.ports[0], &data).unwrap();
        assert!(back == data, "{len} bytes: got {} back", back.len());
    }
    assert_eq!(
        round_trip(t.ports[1], b"second forward").unwrap(),
        b"second forward"
    );
}

#[test]
fn local_forward_through_a_jump_host_moves_10_mb_byte_exact() {
    let (sb, head, node, echo) = (Sandbox::new(), sshd(), sshd(), EchoServer::start());
    let t = start_tunnel(
        &sb,
        &node,
        &[
            &format!("-J{}@127.0.0.1:{}", current_user(), head.port),
            &format!("-L0:127.0.0.1:{}", echo.port),
        ],
    );
    let data = payload(10 * 1024 * 1024);
    let back = round_trip(t.ports[0], &data).unwrap();
    assert!(back == data, "got {} bytes back", back.len());
    // The head node carried the connection to the node; the node opened the one to the server.
    assert!(
        head.log()
            .contains(&format!("target 127.0.0.1 port {}", node.port))
    );
    assert!(
        node.log()
            .contains(&format!("target 127.0.0.1 port {}", echo.port))
    );
}

#[test]
fn remote_forward_carries_50_concurrent_connections_byte_exact() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    // Port 0: the cluster's sshd picks the port and rk-connect prints it, as ssh does.
    let t = start_tunnel(&sb, &sshd, &[&format!("-R0:127.0.0.1:{}", echo.port)]);
    assert_eq!(t.ports.len(), 1);
    // The "cluster" is this machine's loopback: connect to the port its sshd listens on.
    concurrent_echo(t.ports[0], 50).unwrap();
    let log = sshd.log();
    assert!(log.contains("tcpip-forward"), "{log}");
}

#[test]
fn remote_forward_to_a_closed_port_closes_only_that_connection() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let closed = free_port();
    let t = start_tunnel(
        &sb,
        &sshd,
        &[
            &format!("-R0:127.0.0.1:{closed}"),
            &format!("-R0:127.0.0.1:{}", echo.port),
        ],
    );
    // Nothing listens on this side: the cluster's connection is closed, no data.
    assert_closed_without_data(t.ports[0]);
    // The tunnel is still there, and the other forward works.
    assert_eq!(
        round_trip(t.ports[1], b"still alive").unwrap(),
        b"still alive"
    );
}

#[test]
fn remote_forward_reached_by_a_command_on_the_cluster() {
    let (sb, sshd) = (Sandbox::new(), sshd());
    let http_port = one_page_server("licence server here\n", 2);
    let remote_port = free_low_port();
    sb.fixture("keys/openssh/ed25519");
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(sb.path().join("ed25519"))
        .arg(format!("-R{remote_port}:127.0.0.1:{http_port}"))
        .arg(sshd.dest())
        .args([
            "curl",
            "-sS",
            "--max-time",
            "20",
            &format!("http://127.0.0.1:{remote_port}/"),
        ]));
    out.assert_ok("curl on the cluster through -R");
    assert_eq!(out.stdout_str(), "licence server here\n");
}

#[test]
fn remote_forward_refused_by_the_server_is_an_error() {
    let sb = Sandbox::new();
    let pubkey = fixtures().join("keys/openssh/ed25519.pub");
    let mut sshd = Sshd::prepare(&[pubkey.as_path()]);
    sshd.config_first = "AllowTcpForwarding no\n".into();
    sshd.launch();
    sb.fixture("keys/openssh/ed25519");
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(sb.path().join("ed25519"))
        .args(["-N", "-R0:127.0.0.1:9"])
        .arg(sshd.dest()));
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str()
            .contains("the cluster refused the remote forward -R 0:127.0.0.1:9")
            && out.stderr_str().contains("AllowTcpForwarding"),
        "{}",
        out.stderr_str()
    );
}

/// A connection to `port` is closed by the far side without a byte of data.
fn assert_closed_without_data(port: u16) {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = conn.read_to_end(&mut buf);
    assert!(buf.is_empty());
}

/// Round trips through `port` until one succeeds or `limit` passes; the time it took.
fn until_served(port: u16, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if round_trip(port, b"are you back?").is_ok_and(|b| b == b"are you back?") {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn reconnect_keeps_the_local_port_across_an_sshd_restart() {
    let (sb, mut sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let t = start_tunnel(
        &sb,
        &sshd,
        &["--reconnect", &format!("-L0:127.0.0.1:{}", echo.port)],
    );
    let port = t.ports[0];
    assert_eq!(round_trip(port, b"first").unwrap(), b"first");
    // The cluster's sshd restarts on the same port with the same host key.
    sshd.kill_all();
    sshd.launch();
    let took = until_served(port, Duration::from_secs(10))
        .expect("the same local port serves again within 10 s");
    eprintln!("served again after {took:?}");
    let said: Vec<String> = t.lines.try_iter().collect();
    assert!(
        said.iter().any(|l| l.contains("was lost; reconnecting"))
            && said.iter().any(|l| l.contains("reconnected to 127.0.0.1")),
        "{said:?}"
    );
}

#[test]
fn reconnect_asks_for_the_remote_forwards_again() {
    let (sb, mut sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let remote = free_low_port();
    let t = start_tunnel(
        &sb,
        &sshd,
        &[
            "--reconnect",
            &format!("-R{remote}:127.0.0.1:{}", echo.port),
        ],
    );
    assert_eq!(t.ports, [remote]);
    assert!(until_served(remote, Duration::from_secs(10)).is_some());
    sshd.kill_all();
    sshd.launch();
    // The restarted sshd listens on the cluster's port again once rk-connect has reconnected.
    assert!(
        until_served(remote, Duration::from_secs(10)).is_some(),
        "-R {remote} is back within 10 s"
    );
}

#[test]
fn reconnect_stops_on_a_changed_host_key() {
    let (sb, mut sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let mut t = start_tunnel(
        &sb,
        &sshd,
        &["--reconnect", &format!("-L0:127.0.0.1:{}", echo.port)],
    );
    sshd.kill_all();
    sshd.new_host_key();
    sshd.launch();
    let status = wait_bounded(&mut t.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(255));
    let said: Vec<String> = t.lines.try_iter().collect();
    assert!(
        said.iter()
            .any(|l| l.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")),
        "{said:?}"
    );
}

#[test]
fn reconnect_loses_no_request_across_five_drops_in_a_minute() {
    let (sb, mut sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let t = start_tunnel(
        &sb,
        &sshd,
        &["--reconnect", &format!("-L0:127.0.0.1:{}", echo.port)],
    );
    let port = t.ports[0];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut ok, mut failed) = (0u32, 0u32);
            let data = payload(64 * 1024);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match round_trip(port, &data) {
                    Ok(back) if back == data => ok += 1,
                    _ => failed += 1,
                }
            }
            (ok, failed)
        })
    };
    let start = Instant::now();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_secs(10));
        sshd.kill_all();
        sshd.launch();
    }
    std::thread::sleep(Duration::from_secs(60).saturating_sub(start.elapsed()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = client.join().unwrap();
    eprintln!("{ok} requests served, {failed} failed, across 5 drops");
    // One request at a time: at most the one in flight at each drop may fail; requests made
    // while the link was down waited for it.
    assert!(failed <= 5, "{failed} requests failed ({ok} succeeded)");
    assert!(ok >= 100, "only {ok} requests succeeded");
    assert_eq!(round_trip(port, b"still here").unwrap(), b"still here");
}

#[test]
fn forwards_from_the_ssh_config_host_block() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let key = sb.fixture("keys/openssh/ed25519");
    let remote = free_low_port();
    // What `rk-parse-log --format ssh-config -L …` writes, plus a RemoteForward.
    let config = sb.write(
        "config",
        &format!(
            "Host tunnel-job\n    HostName 127.0.0.1\n    Port {}\n    User {}\n    IdentityFile {}\n    \
             LocalForward 0 127.0.0.1:{}\n    RemoteForward {remote} 127.0.0.1:{}\n",
            sshd.port,
            current_user(),
            key.display(),
            echo.port,
            echo.port
        ),
    );
    let mut cmd = sb.rk_connect();
    cmd.arg("-F").arg(&config).args(["-N", "tunnel-job"]);
    let t = start_tunnel_cmd(cmd, 2);
    let local = t.ports.iter().copied().find(|p| *p != remote).unwrap();
    assert!(t.ports.contains(&remote), "{:?}", t.ports);
    assert_eq!(round_trip(local, b"LocalForward").unwrap(), b"LocalForward");
    assert_eq!(
        round_trip(remote, b"RemoteForward").unwrap(),
        b"RemoteForward"
    );
}

#[test]
fn port_in_use_is_an_error_naming_the_port() {
    let (sb, sshd) = (Sandbox::new(), sshd());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    sb.fixture("keys/openssh/ed25519");
    let mut cmd = sb.rk_connect();
    cmd.arg("-i").arg(sb.path().join("ed25519"));
    cmd.arg("-N")
        .arg(format!("-L{port}:127.0.0.1:9"))
        .arg(sshd.dest());
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str()
            .contains(&format!("local port {port} is already in use")),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn refused_destination_closes_only_that_connection() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let closed = free_port();
    let t = start_tunnel(
        &sb,
        &sshd,
        &[
            &format!("-L0:127.0.0.1:{closed}"),
            &format!("-L0:127.0.0.1:{}", echo.port),
        ],
    );
    // The cluster side refuses: our local connection is closed, no data.
    assert_closed_without_data(t.ports[0]);
    // The tunnel is still there, and the other forward works.
    assert_eq!(
        round_trip(t.ports[1], b"still alive").unwrap(),
        b"still alive"
    );
    let mut again = std::net::TcpStream::connect(("127.0.0.1", t.ports[0])).unwrap();
    again
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = again.read_to_end(&mut Vec::new());
}

#[test]
fn two_hundred_concurrent_connections_all_verified() {
    let (sb, sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let t = start_tunnel(&sb, &sshd, &[&format!("-L0:127.0.0.1:{}", echo.port)]);
    let start = Instant::now();
    echo_200_or_explain(&t, &sshd);
    let rss_kib = peak_rss_kib(t.child.id()).expect("VmHWM of rk-connect");
    eprintln!(
        "200 × 1 MiB echoed in {:?}; rk-connect peak RSS {:.1} MiB",
        start.elapsed(),
        rss_kib as f64 / 1024.0
    );
    // Upload buffers share one budget (forward.rs); 256 KiB each would be ~120 MiB here.
    assert!(
        rss_kib <= 64 * 1024,
        "rk-connect peaked at {} MiB with 200 connections (target: 64 MiB)",
        rss_kib / 1024
    );
}

/// 200 × 1 MiB echoed through the tunnel's first port; on failure, what rk-connect and sshd
/// said.
fn echo_200_or_explain(t: &Tunnel, sshd: &Sshd) {
    if let Err(e) = concurrent_echo(t.ports[0], 200) {
        std::thread::sleep(Duration::from_millis(500));
        let said: Vec<String> = t.lines.try_iter().collect();
        let log = sshd.log();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        panic!("{e}; rk-connect said: {said:?}; sshd log (last lines first): {tail:#?}");
    }
}

/// Key re-exchange while 200 channels are busy, started by either side every 8 MiB (about 50
/// times during 200 × 1 MiB each way): every byte must come back. With russh's rekey guard at
/// twice an 8 MiB channel window, the re-keys rk-connect started dropped the connection.
#[test]
fn rekeying_under_200_busy_connections_loses_nothing() {
    let (sb, echo) = (Sandbox::new(), EchoServer::start());
    let target = format!("-L0:127.0.0.1:{}", echo.port);
    // Started by rk-connect (--rekey-limit, as ssh's RekeyLimit).
    let sshd = sshd();
    let t = start_tunnel(&sb, &sshd, &["--rekey-limit", "8M", &target]);
    for _ in 0..3 {
        echo_200_or_explain(&t, &sshd);
    }
    let kex = sshd.log().matches("SSH2_MSG_KEXINIT received").count();
    assert!(kex >= 20, "rk-connect re-keyed only {kex} times");
    // Started by sshd (its RekeyLimit).
    let pubkey = fixtures().join("keys/openssh/ed25519.pub");
    let mut sshd = Sshd::prepare(&[pubkey.as_path()]);
    sshd.config_first = "RekeyLimit 8M\n".into();
    sshd.launch();
    let t = start_tunnel(&sb, &sshd, &[&target]);
    echo_200_or_explain(&t, &sshd);
    let kex = sshd.log().matches("SSH2_MSG_KEXINIT sent").count();
    assert!(
        kex >= 20,
        "sshd re-keyed only {kex} times; RekeyLimit not in effect?"
    );
}

#[test]
fn socks5_proxy_fetches_from_a_loopback_http_server() {
    let (sb, sshd) = (Sandbox::new(), sshd());
    let http_port = one_page_server("hello through the cluster\n", 4);
    let t = start_tunnel(&sb, &sshd, &["-D0"]);
    for flag in ["--socks5-hostname", "--socks4a"] {
        let out = run(Command::new("curl")
            .args(["-sS", "--max-time", "20", flag])
            .arg(format!("127.0.0.1:{}", t.ports[0]))
            .arg(format!("http://localhost:{http_port}/")));
        out.assert_ok(flag);
        assert_eq!(out.stdout_str(), "hello through the cluster\n");
    }
}

#[test]
fn sshd_killed_during_a_transfer_ends_rk_and_frees_the_port() {
    let (sb, mut sshd, echo) = (Sandbox::new(), sshd(), EchoServer::start());
    let mut t = start_tunnel(&sb, &sshd, &[&format!("-L0:127.0.0.1:{}", echo.port)]);
    let port = t.ports[0];
    let transfer = std::thread::spawn(move || round_trip(port, &payload(256 * 1024 * 1024)));
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    sshd.kill_all();
    let status = wait_bounded(&mut t.child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(255));
    assert!(killed.elapsed() < Duration::from_secs(10));
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "port {port} still bound"
    );
    let _ = transfer.join();
}
