//! `cargo xtask bench`: side-by-side benchmarks. Each row times the rk binary and the OpenSSH
//! tool (or grep) doing the same job, alternating them in one run, and reports both medians and
//! the ratio rk/anchor against the row's target.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{USAGE, cargo, workspace_root};

/// Builds the release binaries and returns the directory holding them.
fn build_release(packages: &[&str]) -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--locked"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join("release"))
}

/// What a row must achieve.
#[derive(Clone, Copy)]
enum Target {
    /// rk's median at most this multiple of the anchor's.
    Ratio(f64),
    /// rk's median at most this long.
    Absolute(Duration),
    /// No target: the row reports a cost (e.g. Wine's overhead), it does not judge one.
    Report,
}

/// How one run of a side is measured.
enum Probe {
    /// Wall-clock time of the whole process; files it writes under the dir are removed after.
    Process(Box<dyn Fn(&Path) -> Command>),
    /// Time from writing a line into the process's stdin to the first line of its stdout.
    FirstLine(Box<dyn Fn() -> Command>),
    /// A measurement made by the closure itself (e.g. a transfer through a running tunnel).
    Custom(Box<dyn Fn() -> Result<Duration, String>>),
}

/// One benchmark row: rk and the anchor doing the same job, run alternately.
struct Row {
    work: &'static str,
    target: Target,
    /// Runs with `--quick` when this row needs another number than the others.
    quick_runs: Option<usize>,
    rk: Probe,
    anchor: Probe,
}

struct Figures {
    work: &'static str,
    runs: usize,
    rk_median: Duration,
    anchor_median: Duration,
    target: Target,
}

impl Figures {
    fn rk_ms(&self) -> f64 {
        self.rk_median.as_secs_f64() * 1e3
    }
    fn anchor_ms(&self) -> f64 {
        self.anchor_median.as_secs_f64() * 1e3
    }
    fn ratio(&self) -> f64 {
        self.rk_median.as_secs_f64() / self.anchor_median.as_secs_f64()
    }
    fn pass(&self) -> bool {
        match self.target {
            Target::Ratio(r) => self.ratio() <= r,
            Target::Absolute(d) => self.rk_median <= d,
            Target::Report => true,
        }
    }
    fn target_text(&self) -> String {
        match self.target {
            Target::Ratio(r) => format!("≤{r:.2}x"),
            Target::Absolute(d) => format!("≤{}ms", d.as_millis()),
            Target::Report => "report".to_string(),
        }
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let n = samples.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    }
}

/// Times one run of a command that writes its output under `dir` (emptied afterwards).
fn time_once(mut cmd: Command, dir: &Path) -> Result<Duration, String> {
    // stdout is a pipe, never /dev/null: GNU grep stops at the first match when its output is
    // /dev/null, which would make the anchor look impossibly fast.
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let _ = std::fs::remove_file(entry.map_err(|e| e.to_string())?.path());
    }
    Ok(elapsed)
}

/// Starts the command, feeds it noise, waits, then writes the connection message and times
/// how long until its first output line arrives.
fn time_first_line(mut cmd: Command) -> Result<Duration, String> {
    use std::io::{BufRead, BufReader, Write};
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("{cmd:?}: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("stdout")?);
    let result = (|| {
        for i in 0..200 {
            writeln!(
                stdin,
                "2026-11-24 10:00:{:02} provisioning node 10.0.{}.{}",
                i % 60,
                i % 256,
                i % 200
            )
            .map_err(|e| e.to_string())?;
        }
        stdin.flush().map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        writeln!(stdin, "2026-11-24 16:07:03 SSH access: the job username is uprod_00Grm and the public IP address is 3.80.3.168, port 32100")
            .map_err(|e| e.to_string())?;
        stdin.flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        let elapsed = start.elapsed();
        if !line.contains("3.80.3.168") {
            return Err(format!("unexpected output {line:?}"));
        }
        Ok(elapsed)
    })();
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn measure(probe: &Probe, scratch: &Path) -> Result<Duration, String> {
    match probe {
        Probe::Process(make) => time_once(make(scratch), scratch),
        Probe::FirstLine(make) => time_first_line(make()),
        Probe::Custom(measure) => measure(),
    }
}

fn run_row(row: &Row, runs: usize, scratch: &Path) -> Result<Figures, String> {
    use std::io::IsTerminal;
    let progress = std::io::stderr().is_terminal();
    let (mut rk, mut anchor) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    // Which side failed, and in which row.
    let rk_side =
        |scratch: &Path| measure(&row.rk, scratch).map_err(|e| format!("{}, rk: {e}", row.work));
    let anchor_side = |scratch: &Path| {
        measure(&row.anchor, scratch).map_err(|e| format!("{}, anchor: {e}", row.work))
    };
    // One warm-up each (page cache, dynamic loader), then alternate so drift hits both sides.
    rk_side(scratch)?;
    anchor_side(scratch)?;
    for i in 0..runs {
        if i % 2 == 0 {
            rk.push(rk_side(scratch)?);
            anchor.push(anchor_side(scratch)?);
        } else {
            anchor.push(anchor_side(scratch)?);
            rk.push(rk_side(scratch)?);
        }
        if progress {
            eprint!("\r{}: {}/{} runs", row.work, i + 1, runs);
        }
    }
    if progress {
        eprintln!();
    }
    Ok(Figures {
        work: row.work,
        runs,
        rk_median: median(&mut rk),
        anchor_median: median(&mut anchor),
        target: row.target,
    })
}

fn keygen_rows(bin: &Path) -> Vec<Row> {
    let rk = bin.join("rk-keygen");
    let rk_cmd = move |t: &'static str, b: Option<&'static str>| {
        let rk = rk.clone();
        move |dir: &Path| {
            let mut c = Command::new(&rk);
            c.args(["-q", "-t", t, "-N", "", "-f"]).arg(dir.join("key"));
            if let Some(b) = b {
                c.args(["-b", b]);
            }
            c
        }
    };
    let ssh_cmd = |t: &'static str, b: Option<&'static str>| {
        move |dir: &Path| {
            let mut c = Command::new("ssh-keygen");
            c.args(["-q", "-t", t, "-N", "", "-f"]).arg(dir.join("key"));
            if let Some(b) = b {
                c.args(["-b", b]);
            }
            c
        }
    };
    vec![
        Row {
            work: "keygen RSA-4096",
            target: Target::Ratio(0.4),
            // The prime search takes a random time: a median of 5 is too noisy to judge.
            quick_runs: Some(11),
            rk: Probe::Process(Box::new(rk_cmd("rsa", Some("4096")))),
            anchor: Probe::Process(Box::new(ssh_cmd("rsa", Some("4096")))),
        },
        Row {
            work: "keygen Ed25519",
            target: Target::Ratio(1.0),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("ed25519", None))),
            anchor: Probe::Process(Box::new(ssh_cmd("ed25519", None))),
        },
    ]
}

/// Writes a ~95 MB job log: heartbeat noise full of private addresses and internal host names,
/// sshd lines that mention users and ports (traps), one 2 MB garbage line, and the platform's
/// SSH message near the end.
fn write_big_log(path: &Path) -> Result<(), String> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0usize;
    let mut i = 0usize;
    let put = |w: &mut std::io::BufWriter<std::fs::File>, line: &str| -> Result<usize, String> {
        w.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
        Ok(line.len())
    };
    while written < 95_000_000 {
        let line = if i == 400_000 {
            format!("{}\n", "X".repeat(2_000_000))
        } else if i.is_multiple_of(500) {
            format!(
                "2026-11-24 10:{:02}:{:02} sshd[{}]: Accepted publickey for user root from 10.{}.{}.{} port {}\n",
                i % 60,
                (i / 60) % 60,
                1000 + i % 9000,
                i % 256,
                (i * 3) % 256,
                (i * 7) % 256,
                40000 + i % 20000
            )
        } else {
            format!(
                "2026-11-24 10:{:02}:{:02} node ip-10-{}-{}-9 heartbeat from 10.{}.{}.{} to 172.16.{}.4:8443 load={}.{} mem 45% disk ok\n",
                i % 60,
                (i / 60) % 60,
                i % 256,
                (i * 7) % 256,
                i % 256,
                (i * 3) % 256,
                (i * 5) % 256,
                i % 256,
                i % 100,
                i % 10
            )
        };
        written += put(&mut w, &line)?;
        i += 1;
    }
    put(
        &mut w,
        "2026-11-24 16:07:03 SSH access: the job username is uprod_00Grm and the public IP address is 3.80.3.168, port 32100\n",
    )?;
    put(&mut w, "2026-11-24 16:07:05 Started run 1\n")?;
    w.flush().map_err(|e| e.to_string())
}

fn log_rows(bin: &Path, log: &Path) -> Vec<Row> {
    let rk = bin.join("rk-parse-log");
    let (rk1, log1, log2) = (rk.clone(), log.to_path_buf(), log.to_path_buf());
    vec![
        Row {
            work: "log scan 95 MB",
            target: Target::Ratio(1.5),
            quick_runs: None,
            rk: Probe::Process(Box::new(move |_| {
                let mut c = Command::new(&rk1);
                c.arg(&log1);
                c
            })),
            anchor: Probe::Process(Box::new(move |_| {
                let mut c = Command::new("grep");
                c.args(["-c", "-E", "port[: ]+[0-9]+"]).arg(&log2);
                c
            })),
        },
        Row {
            work: "--first latency",
            target: Target::Absolute(Duration::from_millis(10)),
            quick_runs: None,
            rk: Probe::FirstLine(Box::new(move || {
                let mut c = Command::new(&rk);
                c.arg("--first");
                c
            })),
            anchor: Probe::FirstLine(Box::new(|| {
                let mut c = Command::new("grep");
                c.args(["--line-buffered", "-m1", "uprod_"]);
                c
            })),
        },
    ]
}

/// Rows against a loopback sshd (started here, stopped when the returned guard drops).
fn connect_rows(
    bin: &Path,
    base: &Path,
    quick: bool,
) -> Result<(Vec<Row>, Vec<rk_e2e::Sshd>), String> {
    let fixtures = rk_e2e::fixtures().join("keys/openssh");
    let keys = base.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| e.to_string())?;
    let mut pubs = Vec::new();
    for name in ["ed25519", "rsa4096"] {
        let key = keys.join(name);
        std::fs::copy(fixtures.join(name), &key).map_err(|e| e.to_string())?;
        rk_e2e::set_mode(&key, 0o600);
        pubs.push(fixtures.join(format!("{name}.pub")));
    }
    let refs: Vec<&Path> = pubs.iter().map(PathBuf::as_path).collect();
    let sshd = rk_e2e::Sshd::start(&refs);
    let port = sshd.port;
    let user = rk_e2e::current_user();
    // A compute node behind the head node, for the -J row.
    let node = rk_e2e::Sshd::start(&refs);
    let kh = base.join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{port} {}[127.0.0.1]:{} {}",
            sshd.host_key_pub(),
            node.port,
            node.host_key_pub()
        ),
    )
    .map_err(|e| e.to_string())?;
    // ssh -J passes only -F to the jump's ssh, so the anchor's options go in a config file.
    let ssh_config = base.join("ssh_config");
    std::fs::write(
        &ssh_config,
        format!(
            "Host *\n    BatchMode yes\n    StrictHostKeyChecking yes\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile {}\n    IdentityFile {}\n",
            kh.display(),
            keys.join("ed25519").display()
        ),
    )
    .map_err(|e| e.to_string())?;

    // The input for the stream rows.
    let size_mib: usize = if quick { 128 } else { 1024 };
    let input = base.join("stream.bin");
    {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&input).map_err(|e| e.to_string())?);
        let block: Vec<u8> = (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        for _ in 0..size_mib {
            f.write_all(&block).map_err(|e| e.to_string())?;
        }
        f.flush().map_err(|e| e.to_string())?;
    }

    let rk = bin.join("rk-connect");
    let rk_cmd = |key: &str, cipher: Option<&'static str>, remote: &'static str| {
        let (rk, key, kh, user) = (rk.clone(), keys.join(key), kh.clone(), user.clone());
        move |_: &Path| {
            let mut c = Command::new(&rk);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .arg("--no-agent");
            if let Some(cipher) = cipher {
                c.args(["-c", cipher]);
            }
            c.arg(format!("ssh://{user}@127.0.0.1:{port}")).arg(remote);
            c
        }
    };
    let ssh_cmd = |key: &str, cipher: Option<&'static str>, remote: &'static str| {
        let (key, kh, user) = (keys.join(key), kh.clone(), user.clone());
        move |_: &Path| {
            let mut c = openssh(&key, &kh, port);
            if let Some(cipher) = cipher {
                c.args(["-c", cipher]);
            }
            c.arg(format!("{user}@127.0.0.1")).arg(remote);
            c
        }
    };
    // Streams go through `sh -c '... < FILE'` on both sides alike.
    let via_sh = |make: Box<dyn Fn(&Path) -> Command>, input: PathBuf| {
        move |dir: &Path| {
            let inner = make(dir);
            let mut words = vec![inner.get_program().to_string_lossy().into_owned()];
            words.extend(
                inner
                    .get_args()
                    .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''"))),
            );
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{} < '{}'", words.join(" "), input.display()));
            c.env_remove("SSH_AUTH_SOCK");
            c
        }
    };
    let mut rows = vec![
        Row {
            work: "connect+exec Ed25519",
            target: Target::Ratio(0.6),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("ed25519", None, "true"))),
            anchor: Probe::Process(Box::new(ssh_cmd("ed25519", None, "true"))),
        },
        Row {
            work: "connect+exec RSA-4096",
            target: Target::Ratio(0.6),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("rsa4096", None, "true"))),
            anchor: Probe::Process(Box::new(ssh_cmd("rsa4096", None, "true"))),
        },
    ];
    let (rk_jump, ssh_jump) = {
        let (rk, key, kh, user, node_port) = (
            rk.clone(),
            keys.join("ed25519"),
            kh.clone(),
            user.clone(),
            node.port,
        );
        let rk_jump = move |_: &Path| {
            let mut c = Command::new(&rk);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .arg("--no-agent")
                .arg("-J")
                .arg(format!("{user}@127.0.0.1:{port}"))
                .arg(format!("{user}@127.0.0.1:{node_port}"))
                .arg("true");
            c
        };
        let user = rk_e2e::current_user();
        let ssh_jump = move |_: &Path| {
            let mut c = Command::new("ssh");
            c.arg("-F")
                .arg(&ssh_config)
                .arg("-J")
                .arg(format!("{user}@127.0.0.1:{port}"))
                .arg("-p")
                .arg(node_port.to_string())
                .arg(format!("{user}@127.0.0.1"))
                .arg("true");
            c
        };
        (rk_jump, ssh_jump)
    };
    rows.push(Row {
        work: "connect+exec via -J",
        target: Target::Ratio(0.6),
        quick_runs: None,
        rk: Probe::Process(Box::new(rk_jump)),
        anchor: Probe::Process(Box::new(ssh_jump)),
    });
    for (work, cipher) in [
        ("exec stream chacha20", "chacha20-poly1305@openssh.com"),
        ("exec stream aes128-gcm", "aes128-gcm@openssh.com"),
    ] {
        rows.push(Row {
            work,
            target: Target::Ratio(1.0),
            quick_runs: None,
            rk: Probe::Process(Box::new(via_sh(
                Box::new(rk_cmd("ed25519", Some(cipher), "cat > /dev/null")),
                input.clone(),
            ))),
            anchor: Probe::Process(Box::new(via_sh(
                Box::new(ssh_cmd("ed25519", Some(cipher), "cat > /dev/null")),
                input.clone(),
            ))),
        });
    }
    Ok((rows, vec![sshd, node]))
}

/// `ssh` as the anchor runs it: no user config, no prompts, strict host keys from `kh`, only `key`.
fn openssh(key: &Path, kh: &Path, port: u16) -> Command {
    let mut c = Command::new("ssh");
    c.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
    ])
    .arg("-o")
    .arg(format!("UserKnownHostsFile={}", kh.display()))
    .arg("-i")
    .arg(key)
    .arg("-p")
    .arg(port.to_string());
    c
}

/// A tunnel process kept running for a group of rows (killed on drop).
struct RunningTunnel {
    _child: rk_e2e::ChildGuard,
    port: u16,
    pid: u32,
}

/// Starts `rk-connect -N -L0:…` and reads the port it reports.
fn rk_tunnel(
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
fn tunnel_from(
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
fn allocated_port(child: &mut rk_e2e::ChildGuard, who: &str) -> Result<u16, String> {
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
fn remote_tunnel(
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
fn ssh_tunnel(
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
fn sink_and_source(bytes: usize) -> Result<(u16, u16), String> {
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
fn transfer(dir: &'static str, port: u16, bytes: usize) -> Probe {
    transfer_counting_sshd(dir, port, bytes, Arc::default())
}

/// [`transfer`], adding the CPU time all sshd processes spent during it to `sshd`: the server
/// side of a tunnel is part of its cost, and the client's behaviour changes it.
fn transfer_counting_sshd(
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
fn counting_sshd(
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
fn sshd_cpu() -> Duration {
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

fn upload(port: u16, bytes: usize) -> Result<Duration, String> {
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

fn download(port: u16, bytes: usize) -> Result<Duration, String> {
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
fn concurrent(port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    rk_e2e::concurrent_echo(port, 200)?;
    Ok(start.elapsed())
}

/// The tunnel rows, what must stay alive while they run, and the processes whose peak RSS to
/// report.
struct TunnelBench {
    rows: Vec<Row>,
    keep: Vec<Box<dyn std::any::Any>>,
    rss: Vec<(String, u32)>,
    /// Per row, the rk and ssh processes that did its transfers alone: their CPU time per run
    /// shows where a ratio comes from (the client's own work, not the shared sshd's).
    cpu: Vec<TunnelCpu>,
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
struct TunnelCpu {
    work: &'static str,
    rk_pid: u32,
    anchor_pid: u32,
    rk_sshd: Arc<Mutex<Duration>>,
    anchor_sshd: Arc<Mutex<Duration>>,
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
fn tunnel_rows(
    bin: &Path,
    base: &Path,
    quick: bool,
    baseline: Option<&Path>,
) -> Result<TunnelBench, String> {
    let fixtures = rk_e2e::fixtures().join("keys/openssh");
    let keys = base.join("tkeys");
    std::fs::create_dir_all(&keys).map_err(|e| e.to_string())?;
    let key = keys.join("ed25519");
    std::fs::copy(fixtures.join("ed25519"), &key).map_err(|e| e.to_string())?;
    rk_e2e::set_mode(&key, 0o600);
    let pubkey = fixtures.join("ed25519.pub");
    let sshd = rk_e2e::Sshd::start(&[pubkey.as_path()]);
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
    // #17's targets: tunnels move data ≥ 1.15× as fast as ssh (time ≤ 1/1.15), both ways.
    let faster = Target::Ratio(1.0 / 1.15);
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
            bench.add_transfer(work, dir, bytes, r, s, faster);
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
        let work = if dir == "upload" {
            "-R upload aes128-gcm"
        } else {
            "-R download aes128-gcm"
        };
        bench.add_transfer(work, dir, bytes, r, s, faster);
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

/// rk-connect.exe under Wine against the Linux rk-connect, same sshd, same run: what Wine costs
/// (the "anchor" column is Linux rk-connect; the ratio is Wine's overhead, reported, not judged).
fn wine_rows(bin: &Path, base: &Path, quick: bool) -> Result<TunnelBench, String> {
    use rk_e2e::wine::{Wine, windows_path};
    let windows_bin = crate::windows::build("release", false)?;
    let prefix = workspace_root().join("target").join("wine-prefix");
    let wine = Wine::prepare(prefix.clone(), windows_bin.clone());
    let fixtures = rk_e2e::fixtures().join("keys/openssh");
    let keys = base.join("wkeys");
    std::fs::create_dir_all(&keys).map_err(|e| e.to_string())?;
    let key = keys.join("ed25519");
    std::fs::copy(fixtures.join("ed25519"), &key).map_err(|e| e.to_string())?;
    rk_e2e::set_mode(&key, 0o600);
    let pubkey = fixtures.join("ed25519.pub");
    let sshd = rk_e2e::Sshd::start(&[pubkey.as_path()]);
    let kh = base.join("wine_known_hosts");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}", sshd.port, sshd.host_key_pub()),
    )
    .map_err(|e| e.to_string())?;
    let dest = format!("ssh://{}@127.0.0.1:{}", rk_e2e::current_user(), sshd.port);
    let (win_key, win_kh) = (windows_path(&key), windows_path(&kh));
    let exe = windows_bin.join("rk-connect.exe");
    let linux = bin.join("rk-connect");

    let mut rows = Vec::new();
    // Starting a process under Wine, for scale: most of the connect+exec difference.
    let (prefix2, windows_bin2, exe2, linux2) = (
        prefix.clone(),
        windows_bin.clone(),
        exe.clone(),
        linux.clone(),
    );
    rows.push(Row {
        work: "Wine: start (--version)",
        target: Target::Report,
        quick_runs: None,
        rk: Probe::Process(Box::new(move |_: &Path| {
            let wine = Wine {
                prefix: prefix2.clone(),
                bin: windows_bin2.clone(),
                display: None,
            };
            let mut c = wine.command_for(&exe2);
            c.arg("--version");
            c
        })),
        anchor: Probe::Process(Box::new(move |_: &Path| {
            let mut c = Command::new(&linux2);
            c.arg("--version");
            c
        })),
    });
    {
        let (prefix, windows_bin, exe) = (prefix.clone(), windows_bin.clone(), exe.clone());
        let (win_key, win_kh, win_dest) = (win_key.clone(), win_kh.clone(), dest.clone());
        let on_wine = move |_: &Path| {
            let wine = Wine {
                prefix: prefix.clone(),
                bin: windows_bin.clone(),
                display: None,
            };
            let mut c = wine.command_for(&exe);
            c.args([
                "-i",
                &win_key,
                "--known-hosts",
                &win_kh,
                "--no-agent",
                &win_dest,
                "true",
            ]);
            c
        };
        let (linux, key, kh, dest) = (linux.clone(), key.clone(), kh.clone(), dest.clone());
        let on_linux = move |_: &Path| {
            let mut c = Command::new(&linux);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .args(["--no-agent", &dest, "true"]);
            c
        };
        rows.push(Row {
            work: "Wine: connect+exec",
            target: Target::Report,
            quick_runs: None,
            rk: Probe::Process(Box::new(on_wine)),
            anchor: Probe::Process(Box::new(on_linux)),
        });
    }
    let bytes: usize = if quick { 64 << 20 } else { 256 << 20 };
    let (sink, source) = sink_and_source(bytes)?;
    let cipher = "aes128-gcm@openssh.com";
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    for (dir, target) in [("upload", sink), ("download", source)] {
        let w = tunnel_from(
            wine.command_for(&exe),
            win_key.as_ref(),
            win_kh.as_ref(),
            &dest,
            cipher,
            target,
        )?;
        let l = rk_tunnel(&linux, &key, &kh, &dest, cipher, target)?;
        let probe = |port: u16| transfer(dir, port, bytes);
        rows.push(Row {
            work: if dir == "upload" {
                "Wine: -L upload aes128-gcm"
            } else {
                "Wine: -L download aes128-gcm"
            },
            target: Target::Report,
            quick_runs: None,
            rk: probe(w.port),
            anchor: probe(l.port),
        });
        keep.push(Box::new(w));
        keep.push(Box::new(l));
    }
    keep.push(Box::new(sshd));
    Ok(TunnelBench {
        rows,
        keep,
        rss: Vec::new(),
        cpu: Vec::new(),
    })
}

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let mut runs = None;
    let mut quick = false;
    let mut json = None;
    let mut groups = Vec::new();
    let mut only: Vec<String> = Vec::new();
    let mut baseline = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = Some(it.next().and_then(|n| n.parse().ok()).ok_or(USAGE)?),
            "--quick" => quick = true,
            "--json" => json = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "--only" => only.push(it.next().ok_or(USAGE)?.clone()),
            "--baseline" => baseline = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "keygen" | "log" | "connect" | "tunnel" | "wine" => groups.push(a.clone()),
            _ => return Err(USAGE.into()),
        }
    }
    // --quick: medians of 5 (3 for the rows of seconds) and 128 MiB transfers, ≤ 3 minutes in
    // all on 2 cores; the full run is for figures worth quoting.
    let runs_given = runs.is_some();
    let runs = runs.unwrap_or(if quick { 5 } else { 51 });
    let bin = build_release(&["rk-keygen", "rk-parse-log", "rk-connect"])?;
    let base = std::env::temp_dir().join(format!("rk-bench-{}", std::process::id()));
    let scratch = base.join("out");
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let wants = |g: &str| groups.is_empty() || groups.iter().any(|x| x == g);

    let mut rows = Vec::new();
    if wants("keygen") {
        rows.extend(keygen_rows(&bin));
    }
    if wants("log") {
        let log = base.join("job-95MB.log");
        write_big_log(&log)?;
        rows.extend(log_rows(&bin, &log));
    }
    let mut _sshd = None;
    if wants("connect") {
        let (connect, sshd) = connect_rows(&bin, &base, quick)?;
        rows.extend(connect);
        _sshd = Some(sshd);
    }
    let mut _tunnels = Vec::new();
    let mut rss_of = Vec::new();
    let mut cpu_of = Vec::new();
    if wants("tunnel") {
        let bench = tunnel_rows(&bin, &base, quick, baseline.as_deref())?;
        rows.extend(bench.rows);
        _tunnels = bench.keep;
        rss_of = bench.rss;
        cpu_of = bench.cpu;
    }
    // Only when asked: it needs the Windows build and Wine.
    if groups.iter().any(|g| g == "wine") {
        let bench = wine_rows(&bin, &base, quick)?;
        rows.extend(bench.rows);
        _tunnels.extend(bench.keep);
    }
    // --only PART (repeatable): just the rows whose name contains one of them.
    rows.retain(|row| only.is_empty() || only.iter().any(|o| row.work.contains(o.as_str())));
    let mut figures = Vec::new();
    for row in &rows {
        let runs = match row.quick_runs {
            Some(n) if quick && !runs_given => n,
            _ => runs,
        };
        figures.push(run_row(row, runs, &scratch)?);
    }
    for (what, pid) in &rss_of {
        if let Some(kib) = rk_e2e::peak_rss_kib(*pid) {
            println!("peak RSS of {what}: {:.1} MiB", kib as f64 / 1024.0);
        }
    }
    let anchor_name = if baseline.is_some() {
        "baseline"
    } else {
        "ssh"
    };
    for f in &figures {
        if let Some(c) = cpu_of.iter().find(|c| c.work == f.work) {
            // One warm-up run each, then `runs`.
            let per_run = |t: Option<Duration>| {
                t.map_or(f64::NAN, |t| t.as_secs_f64() * 1e3 / (f.runs + 1) as f64)
            };
            let sshd = |t: &Arc<Mutex<Duration>>| per_run(t.lock().ok().map(|t| *t));
            let (rk_sshd, anchor_sshd) = (sshd(&c.rk_sshd), sshd(&c.anchor_sshd));
            // sshd is one process per connection: busy ≥ 90% of the wall time with both
            // clients, it sets the pace, whatever the client does.
            let bound = rk_sshd >= 0.9 * f.rk_ms() && anchor_sshd >= 0.9 * f.anchor_ms();
            println!(
                "CPU per run, {}: rk-connect {:.0} ms (sshd {rk_sshd:.0} ms), {anchor_name} {:.0} ms (sshd {anchor_sshd:.0} ms){}",
                f.work,
                per_run(rk_e2e::cpu_time(c.rk_pid)),
                per_run(rk_e2e::cpu_time(c.anchor_pid)),
                if bound {
                    " — sshd-bound: sshd busy ≥ 90% of the time with both clients"
                } else {
                    ""
                }
            );
        }
    }
    let _ = std::fs::remove_dir_all(&base);

    println!(
        "{:<30} {:>5} {:>12} {:>14} {:>7} {:>8}  result",
        "work", "runs", "rk median", "anchor median", "ratio", "target"
    );
    for f in &figures {
        println!(
            "{:<30} {:>5} {:>10.2}ms {:>12.2}ms {:>7.2} {:>8}  {}",
            f.work,
            f.runs,
            f.rk_ms(),
            f.anchor_ms(),
            f.ratio(),
            f.target_text(),
            if f.pass() { "pass" } else { "FAIL" }
        );
    }
    if let Some(path) = json {
        let rows: Vec<String> = figures
            .iter()
            .map(|f| {
                format!(
                    "  {{\"work\": \"{}\", \"runs\": {}, \"rk_median_ms\": {:.3}, \"anchor_median_ms\": {:.3}, \"ratio\": {:.4}, \"target\": \"{}\", \"pass\": {}}}",
                    f.work,
                    f.runs,
                    f.rk_ms(),
                    f.anchor_ms(),
                    f.ratio(),
                    f.target_text(),
                    f.pass()
                )
            })
            .collect();
        std::fs::write(&path, format!("[\n{}\n]\n", rows.join(",\n")))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut [ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(
            median(&mut [ms(4), ms(1), ms(3), ms(2)]),
            Duration::from_micros(2500)
        );
    }
}
