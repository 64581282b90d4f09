//! Tunnel rows: -L/-R transfers per cipher, 200 concurrent connections, with the CPU of both
//! clients and of sshd.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::connect::openssh;
use super::{Probe, Row, Target, ed25519_sshd};

/// A tunnel process kept running for a group of rows (killed on drop).
pub(super) struct RunningTunnel {
    pub(super) _child: rk_e2e::ChildGuard,
    pub(super) port: u16,
    pub(super) pid: u32,
}

/// Starts `rk-connect -N -L0:…` and reads the port it reports.
pub(super) fn rk_tunnel(
    rk: &Path,
    key: &Path,
    kh: &Path,
    dest: &str,
    cipher: &str,
    target: u16,
) -> Result<RunningTunnel, String> {
    tunnel_from(
        Command::new(rk),
        key.as_os_str(),
        kh.as_os_str(),
        dest,
        cipher,
        target,
    )
}

/// `rk-connect -N -L0:127.0.0.1:TARGET` from `cmd` (the Linux binary, or the .exe under
/// Wine with its paths in Windows form), once it reports its port.
pub(super) fn tunnel_from(
    mut cmd: Command,
    key: &std::ffi::OsStr,
    kh: &std::ffi::OsStr,
    dest: &str,
    cipher: &str,
    target: u16,
) -> Result<RunningTunnel, String> {
    use std::io::{BufRead, BufReader};
    cmd.arg("-i")
        .arg(key)
        .arg("--known-hosts")
        .arg(kh)
        .arg("--no-agent")
        .args(["-c", cipher, "-N"])
        .arg(format!("-L0:127.0.0.1:{target}"))
        .arg(dest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = rk_e2e::ChildGuard::spawn(&mut cmd).map_err(|e| e.to_string())?;
    let pid = child.id();
    let stderr = child.child().stderr.take().ok_or("stderr")?;
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:"))
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("rk-connect said {line:?}"))?;
    Ok(RunningTunnel {
        _child: child,
        port,
        pid,
    })
}

/// Reads "Allocated port N for remote forward …" (ssh's words, and rk-connect's) from stderr.
pub(super) fn allocated_port(child: &mut rk_e2e::ChildGuard, who: &str) -> Result<u16, String> {
    use std::io::{BufRead, BufReader};
    let stderr = child.child().stderr.take().ok_or("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let line = match lines.next() {
            Some(Ok(l)) => l,
            _ => break,
        };
        if let Some(rest) = line.strip_prefix("Allocated port ") {
            let port = rest.split_whitespace().next().and_then(|p| p.parse().ok());
            // Keep draining stderr so the process never blocks on it.
            std::thread::spawn(move || lines.for_each(drop));
            return port.ok_or_else(|| format!("{who} said {line:?}"));
        }
    }
    Err(format!("{who} did not report its remote forward"))
}

/// `-R0:127.0.0.1:TARGET` with rk-connect or ssh, once the cluster's port is known.
pub(super) fn remote_tunnel(
    mut cmd: Command,
    destination: &str,
    who: &str,
    target: u16,
) -> Result<RunningTunnel, String> {
    cmd.arg("-N")
        .arg(format!("-R0:127.0.0.1:{target}"))
        .arg(destination)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = rk_e2e::ChildGuard::spawn(&mut cmd).map_err(|e| e.to_string())?;
    let pid = child.id();
    let port = allocated_port(&mut child, who)?;
    Ok(RunningTunnel {
        _child: child,
        port,
        pid,
    })
}

/// Starts `ssh -N -L PORT:…` and waits until the port accepts.
pub(super) fn ssh_tunnel(
    key: &Path,
    kh: &Path,
    user: &str,
    sshd_port: u16,
    cipher: &str,
    target: u16,
) -> Result<RunningTunnel, String> {
    let port = rk_e2e::free_port();
    let mut cmd = openssh(key, kh, sshd_port);
    cmd.arg("-N")
        .args(["-c", cipher])
        .arg("-L")
        .arg(format!("{port}:127.0.0.1:{target}"))
        .arg(format!("{user}@127.0.0.1"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = rk_e2e::ChildGuard::spawn(&mut cmd).map_err(|e| e.to_string())?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("ssh -L did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(RunningTunnel {
        _child: child,
        port,
        pid,
    })
}

/// A server that discards what it receives and closes after EOF; or one that sends `n` bytes.
pub(super) fn sink_and_source(bytes: usize) -> Result<(u16, u16), String> {
    use std::io::{Read, Write};
    let sink = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let source = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let ports = (
        sink.local_addr().map_err(|e| e.to_string())?.port(),
        source.local_addr().map_err(|e| e.to_string())?.port(),
    );
    std::thread::spawn(move || {
        for mut c in sink.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
                let _ = c.write_all(b"k");
            });
        }
    });
    std::thread::spawn(move || {
        for mut c in source.incoming().flatten() {
            std::thread::spawn(move || {
                let buf = vec![0x5au8; 1 << 20];
                let mut left = bytes;
                while left > 0 {
                    let n = left.min(buf.len());
                    if c.write_all(&buf[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    Ok(ports)
}

/// A timed upload (`dir` "upload") or download of `bytes` through a tunnel's `port`.
pub(super) fn transfer(dir: &'static str, port: u16, bytes: usize) -> Probe {
    transfer_counting_sshd(dir, port, bytes, Arc::default())
}

/// [`transfer`], adding the CPU time all sshd processes spent during it to `sshd`: the server
/// side of a tunnel is part of its cost, and the client's behaviour changes it.
pub(super) fn transfer_counting_sshd(
    dir: &'static str,
    port: u16,
    bytes: usize,
    sshd: Arc<Mutex<Duration>>,
) -> Probe {
    counting_sshd(sshd, move || {
        if dir == "upload" {
            upload(port, bytes)
        } else {
            download(port, bytes)
        }
    })
}

/// A probe running `work`, adding the CPU time all sshd processes spent meanwhile to `sshd`.
pub(super) fn counting_sshd(
    sshd: Arc<Mutex<Duration>>,
    work: impl Fn() -> Result<Duration, String> + 'static,
) -> Probe {
    Probe::Custom(Box::new(move || {
        let before = sshd_cpu();
        let took = work();
        if let Ok(mut total) = sshd.lock() {
            *total += sshd_cpu().saturating_sub(before);
        }
        took
    }))
}

/// CPU time used so far by every process named sshd.
pub(super) fn sshd_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sshd")
        })
        .filter_map(rk_e2e::cpu_time)
        .sum()
}

pub(super) fn upload(port: u16, bytes: usize) -> Result<Duration, String> {
    use std::io::{Read, Write};
    let start = Instant::now();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let buf = vec![0xa5u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len());
        c.write_all(&buf[..n]).map_err(|e| e.to_string())?;
        left -= n;
    }
    c.shutdown(std::net::Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let mut ack = Vec::new();
    c.read_to_end(&mut ack).map_err(|e| e.to_string())?;
    if ack != b"k" {
        return Err("the sink did not confirm".into());
    }
    Ok(start.elapsed())
}

pub(super) fn download(port: u16, bytes: usize) -> Result<Duration, String> {
    use std::io::Read;
    let start = Instant::now();
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0;
    loop {
        match c.read(&mut buf).map_err(|e| e.to_string())? {
            0 => break,
            n => got += n,
        }
    }
    if got != bytes {
        return Err(format!("downloaded {got} of {bytes} bytes"));
    }
    Ok(start.elapsed())
}

/// 200 connections at once, 1 MiB each way through an echo server, every byte compared.
pub(super) fn concurrent(port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    rk_e2e::concurrent_echo(port, 200)?;
    Ok(start.elapsed())
}

/// The tunnel rows, what must stay alive while they run, and the processes whose peak RSS to
/// report.
pub(super) struct TunnelBench {
    pub(super) rows: Vec<Row>,
    pub(super) keep: Vec<Box<dyn std::any::Any>>,
    pub(super) rss: Vec<(String, u32)>,
    /// Per row, the rk and ssh processes that did its transfers alone: their CPU time per run
    /// shows where a ratio comes from (the client's own work, not the shared sshd's).
    pub(super) cpu: Vec<TunnelCpu>,
}

impl TunnelBench {
    /// A row timing `bytes` through tunnels `r` (rk) and `s` (the anchor), kept running, with
    /// the CPU of both clients and of sshd counted.
    fn add_transfer(
        &mut self,
        work: &'static str,
        dir: &'static str,
        bytes: usize,
        r: RunningTunnel,
        s: RunningTunnel,
        target: Target,
    ) {
        let counted = TunnelCpu::new(work, r.pid, s.pid);
        let (rk, anchor) = counted.probes(dir, bytes, r.port, s.port);
        self.cpu.push(counted);
        self.rows.push(Row {
            work,
            target,
            quick_runs: None,
            rk,
            anchor,
        });
        self.keep.push(Box::new(r));
        self.keep.push(Box::new(s));
    }
}

/// Where one tunnel row's CPU went: each client process, and the sshd processes during its runs.
pub(super) struct TunnelCpu {
    pub(super) work: &'static str,
    pub(super) rk_pid: u32,
    pub(super) anchor_pid: u32,
    pub(super) rk_sshd: Arc<Mutex<Duration>>,
    pub(super) anchor_sshd: Arc<Mutex<Duration>>,
}

impl TunnelCpu {
    fn new(work: &'static str, rk_pid: u32, anchor_pid: u32) -> TunnelCpu {
        TunnelCpu {
            work,
            rk_pid,
            anchor_pid,
            rk_sshd: Arc::default(),
            anchor_sshd: Arc::default(),
        }
    }

    /// The row's probes, counting sshd's CPU for each side.
    fn probes(
        &self,
        dir: &'static str,
        bytes: usize,
        rk_port: u16,
        anchor_port: u16,
    ) -> (Probe, Probe) {
        (
            transfer_counting_sshd(dir, rk_port, bytes, Arc::clone(&self.rk_sshd)),
            transfer_counting_sshd(dir, anchor_port, bytes, Arc::clone(&self.anchor_sshd)),
        )
    }
}

/// `baseline`: another rk-connect build to compare with instead of ssh (`--baseline BIN`), for
/// telling whether a change to the tunnel path helps: two builds of rk differ by less than the
/// machine's noise between separate runs.
pub(super) fn tunnel_rows(
    bin: &Path,
    base: &Path,
    quick: bool,
    baseline: Option<&Path>,
) -> Result<TunnelBench, String> {
    let (key, sshd) = ed25519_sshd(&base.join("tkeys"))?;
    let user = rk_e2e::current_user();
    let kh = base.join("tunnel_known_hosts");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}", sshd.port, sshd.host_key_pub()),
    )
    .map_err(|e| e.to_string())?;
    let dest = format!("ssh://{user}@127.0.0.1:{}", sshd.port);
    let bytes: usize = if quick { 128 << 20 } else { 1 << 30 };
    let (sink, source) = sink_and_source(bytes)?;
    let echo = rk_e2e::EchoServer::start();
    let rk = bin.join("rk-connect");

    let mut bench = TunnelBench {
        rows: Vec::new(),
        keep: Vec::new(),
        rss: Vec::new(),
        cpu: Vec::new(),
    };
    // #17's targets: tunnels move data ≥ 1.15× as fast as ssh (time ≤ 1/1.15), both ways —
    // except where sshd is the sender (-L download, -R upload): it handles a connection in one
    // process and sets the pace whatever the client does, so there the target is parity.
    let faster = Target::Ratio(1.0 / 1.15);
    let sshd_sends = Target::Ratio(1.05);
    for (name, cipher) in [
        ("chacha20", "chacha20-poly1305@openssh.com"),
        ("aes128-gcm", "aes128-gcm@openssh.com"),
    ] {
        for (dir, target) in [("upload", sink), ("download", source)] {
            let r = rk_tunnel(&rk, &key, &kh, &dest, cipher, target)?;
            let s = match baseline {
                Some(other) => rk_tunnel(other, &key, &kh, &dest, cipher, target)?,
                None => ssh_tunnel(&key, &kh, &user, sshd.port, cipher, target)?,
            };
            let work: &'static str = Box::leak(format!("-L {dir} {name}").into_boxed_str());
            let goal = if dir == "download" {
                sshd_sends
            } else {
                faster
            };
            bench.add_transfer(work, dir, bytes, r, s, goal);
        }
    }
    // -R: the connecting side is on the cluster (this machine's loopback, where sshd listens);
    // "upload" sends towards the server on this side, "download" reads from it.
    let rk_remote = |program: &Path| {
        let mut c = Command::new(program);
        c.arg("-i").arg(&key).arg("--known-hosts").arg(&kh).args([
            "--no-agent",
            "-c",
            "aes128-gcm@openssh.com",
        ]);
        c
    };
    for (dir, target) in [("upload", sink), ("download", source)] {
        let r = remote_tunnel(rk_remote(&rk), &dest, "rk-connect", target)?;
        let s = match baseline {
            Some(other) => remote_tunnel(rk_remote(other), &dest, "baseline", target)?,
            None => {
                let mut ssh_cmd = openssh(&key, &kh, sshd.port);
                ssh_cmd.args(["-c", "aes128-gcm@openssh.com"]);
                remote_tunnel(ssh_cmd, &format!("{user}@127.0.0.1"), "ssh", target)?
            }
        };
        let (work, goal) = if dir == "upload" {
            ("-R upload aes128-gcm", sshd_sends)
        } else {
            ("-R download aes128-gcm", faster)
        };
        bench.add_transfer(work, dir, bytes, r, s, goal);
    }
    let r = rk_tunnel(&rk, &key, &kh, &dest, "aes128-gcm@openssh.com", echo.port)?;
    let s = match baseline {
        Some(other) => rk_tunnel(other, &key, &kh, &dest, "aes128-gcm@openssh.com", echo.port)?,
        None => ssh_tunnel(
            &key,
            &kh,
            &user,
            sshd.port,
            "aes128-gcm@openssh.com",
            echo.port,
        )?,
    };
    bench
        .rss
        .push(("rk-connect (200 connections)".to_string(), r.pid));
    let anchor = if baseline.is_some() {
        "baseline"
    } else {
        "ssh -L"
    };
    bench
        .rss
        .push((format!("{anchor} (200 connections)"), s.pid));
    let (rp, sp) = (r.port, s.port);
    let counted = TunnelCpu::new("-L 200 conns × 1 MiB", r.pid, s.pid);
    bench.rows.push(Row {
        work: "-L 200 conns × 1 MiB",
        target: Target::Ratio(0.9),
        // Seconds per run: three are enough for a smoke test.
        quick_runs: Some(3),
        rk: counting_sshd(Arc::clone(&counted.rk_sshd), move || concurrent(rp)),
        anchor: counting_sshd(Arc::clone(&counted.anchor_sshd), move || concurrent(sp)),
    });
    bench.cpu.push(counted);
    bench.keep.push(Box::new(r));
    bench.keep.push(Box::new(s));
    bench.keep.push(Box::new(echo));
    bench.keep.push(Box::new(sshd));
    Ok(bench)
}
