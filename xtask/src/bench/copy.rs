//! Copy rows: rk-cp against OpenSSH's scp (SFTP protocol, its default since 9.0), both ways,
//! one big file and a folder of many small ones, on plain loopback and through a 50 ms delay
//! line. Each run starts from an empty target; sshd's CPU per run is what its listener reaped
//! from the session processes of that run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Probe, Row, Target, delay, ed25519_sshd};

/// CPU seconds per side, summed over the runs, for the report.
#[derive(Default)]
pub(super) struct CopyCpu {
    pub(super) work: &'static str,
    /// Bytes one run copies, for the throughput.
    pub(super) bytes: u64,
    pub(super) rk: Mutex<(Duration, Duration, usize)>,
    pub(super) anchor: Mutex<(Duration, Duration, usize)>,
}

pub(super) struct CopyBench {
    pub(super) rows: Vec<Row>,
    /// What the checks of rk-cp alone need: the big file, the key, known_hosts, sshd's port.
    pub(super) big: PathBuf,
    pub(super) key: PathBuf,
    pub(super) known_hosts: PathBuf,
    pub(super) port: u16,
    pub(super) cpu: Vec<Arc<CopyCpu>>,
    /// The server, kept up until the bench ends.
    pub(super) _sshd: rk_e2e::Sshd,
}

/// CPU time the process's reaped children used (user + system).
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time the sshd listener's reaped children (the session processes) used.
fn sshd_children_cpu(pid: u32) -> Duration {
    let fields = rk_e2e::stat_fields(pid).unwrap_or_default();
    // cutime and cstime are fields 16 and 17 of the line, 14 and 15 after the name.
    let ticks: u64 = [13, 14]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(ticks as f64 / hz)
}

/// What happens to the last run's copy before the next run writes `target_dir` again.
#[derive(Clone, Copy)]
enum Clear {
    /// Deleted (one big file).
    Delete,
    /// Moved aside into this folder, deleted when the bench ends. Deleting 2,000 files just
    /// before creating 2,000 again costs ext4 about a second of kernel time in the next run
    /// whichever tool runs it (measured here: `perf` shows inode allocation in
    /// `recently_deleted`, which skips inodes freed in the last 30 s one cache lookup at a
    /// time; creating 2,000 files takes 0.7–1.8 s after such a delete against 0.1 s without,
    /// and more threads do not help). A user copying results into a folder has not just
    /// deleted thousands of files, so the rows measure that.
    MoveAside(&'static Path),
}

/// Runs `cmd` into an empty `target_dir`; returns the wall time and adds the CPU of the client
/// and of sshd to `cpu`.
fn timed(
    mut cmd: Command,
    target_dir: &Path,
    clear: Clear,
    sshd_pid: u32,
    cpu: &Mutex<(Duration, Duration, usize)>,
) -> Result<Duration, String> {
    match clear {
        Clear::Delete => {
            let _ = std::fs::remove_dir_all(target_dir);
        }
        Clear::MoveAside(trash) if target_dir.exists() => {
            static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::fs::create_dir_all(trash).map_err(|e| e.to_string())?;
            std::fs::rename(target_dir, trash.join(n.to_string())).map_err(|e| e.to_string())?;
        }
        Clear::MoveAside(_) => {}
    }
    std::fs::create_dir_all(target_dir).map_err(|e| e.to_string())?;
    // The last run's files are written back and their removal committed before the clock
    // starts: otherwise a tool that fsyncs (rk-cp does, scp does not) pays for them.
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (client0, sshd0) = (children_cpu(), sshd_children_cpu(sshd_pid));
    let start = Instant::now();
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // sshd reaps its session process just after the client leaves.
    std::thread::sleep(Duration::from_millis(30));
    if let Ok(mut c) = cpu.lock() {
        c.0 += children_cpu() - client0;
        c.1 += sshd_children_cpu(sshd_pid).saturating_sub(sshd0);
        c.2 += 1;
    }
    Ok(elapsed)
}

/// rk-cp, quiet, with the bench's key, known_hosts and port.
pub(super) fn rk_cp(bin: &Path, known_hosts: &Path, key: &Path, port: u16) -> Command {
    let mut c = Command::new(bin.join("rk-cp"));
    c.args(["-F", "none", "--no-agent", "--accept-new", "--known-hosts"])
        .arg(known_hosts)
        .arg("-i")
        .arg(key)
        .arg("-P")
        .arg(port.to_string());
    c
}

/// Bytes in the files under `path` (or of the file itself).
fn tree_bytes(path: &Path) -> u64 {
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| tree_bytes(&e.path()))
            .sum(),
        Err(_) => std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

/// The files the rows copy: one big file and a folder of small ones.
pub(super) fn inputs(base: &Path, quick: bool) -> Result<(PathBuf, PathBuf), String> {
    let big = base.join("copy-src/big.bin");
    let small = base.join("copy-src/small");
    std::fs::create_dir_all(&small).map_err(|e| e.to_string())?;
    let size_mib = if quick { 128 } else { 1024 };
    {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&big).map_err(|e| e.to_string())?);
        let block: Vec<u8> = (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for _ in 0..size_mib {
            f.write_all(&block).map_err(|e| e.to_string())?;
        }
    }
    let files = if quick { 500 } else { 2000 };
    for i in 0..files {
        let body: Vec<u8> = (0..16 * 1024u32).map(|j| (j ^ i) as u8).collect();
        std::fs::write(small.join(format!("log-{i:05}.txt")), body).map_err(|e| e.to_string())?;
    }
    Ok((big, small))
}

pub(super) fn copy_rows(bin: &Path, base: &Path, quick: bool) -> Result<CopyBench, String> {
    let (key, sshd) = ed25519_sshd(&base.join("copy-keys"))?;
    let sshd_pid = sshd.pid().ok_or("sshd has no pid")?;
    let (big, small) = inputs(base, quick)?;
    let far = delay::start(sshd.port, Duration::from_millis(50))?;
    let user = rk_e2e::current_user();
    let out = base.join("copy-out");
    let kh = base.join("copy-known-hosts");
    // Removed with the rest of `base` when the bench ends.
    let trash: &'static Path = Box::leak(base.join("copy-used").into_boxed_path());
    let mut rows = Vec::new();
    let mut cpu = Vec::new();
    let mib = if quick { "128 MiB" } else { "1 GiB" };
    let n = if quick { "500" } else { "2000" };
    let cases: Vec<(String, bool, bool, Target)> = vec![
        (
            format!("cp {mib} down, loopback"),
            false,
            false,
            Target::Ratio(0.9),
        ),
        (
            format!("cp {mib} up, loopback"),
            true,
            false,
            Target::Ratio(0.9),
        ),
        (
            format!("cp {n}×16K -r down, loopback"),
            false,
            true,
            Target::Ratio(0.5),
        ),
        (
            format!("cp {n}×16K -r up, loopback"),
            true,
            true,
            Target::Ratio(0.5),
        ),
        (
            format!("cp {mib} down, 50 ms"),
            false,
            false,
            Target::Ratio(0.25),
        ),
        (
            format!("cp {mib} up, 50 ms"),
            true,
            false,
            Target::Ratio(0.25),
        ),
        (
            format!("cp {n}×16K -r down, 50 ms"),
            false,
            true,
            Target::Ratio(0.2),
        ),
        (
            format!("cp {n}×16K -r up, 50 ms"),
            true,
            true,
            Target::Ratio(0.2),
        ),
    ];
    for (work, up, tree, target) in cases {
        let work: &'static str = Box::leak(work.into_boxed_str());
        let port = if work.ends_with("50 ms") {
            far
        } else {
            sshd.port
        };
        let source = if tree { small.clone() } else { big.clone() };
        let row_cpu = Arc::new(CopyCpu {
            work,
            bytes: tree_bytes(&source),
            ..Default::default()
        });
        cpu.push(Arc::clone(&row_cpu));
        let side = |rk: bool| {
            let (bin, key, kh, user, out, source) = (
                bin.to_path_buf(),
                key.clone(),
                kh.clone(),
                user.clone(),
                out.clone(),
                source.clone(),
            );
            let row_cpu = Arc::clone(&row_cpu);
            Probe::Custom(Box::new(move || {
                let dest = out.join("dest");
                let remote = |p: &Path| format!("{user}@127.0.0.1:{}", p.display());
                let (from, to) = if up {
                    (source.display().to_string(), remote(&dest))
                } else {
                    (remote(&source), dest.display().to_string())
                };
                let mut cmd = if rk {
                    let mut c = rk_cp(&bin, &kh, &key, port);
                    c.arg("-q");
                    c
                } else {
                    let mut c = Command::new("scp");
                    c.args([
                        "-q",
                        "-F",
                        "none",
                        "-o",
                        "BatchMode=yes",
                        "-o",
                        "StrictHostKeyChecking=no",
                        "-o",
                        "UserKnownHostsFile=/dev/null",
                        "-o",
                        "LogLevel=ERROR",
                    ])
                    .arg("-i")
                    .arg(&key)
                    .arg("-P")
                    .arg(port.to_string());
                    c
                };
                if tree {
                    cmd.arg("-r");
                }
                // Into the (empty) folder `dest`: a file keeps its name, a folder its own.
                cmd.arg(from).arg(format!("{to}/"));
                let counter = if rk { &row_cpu.rk } else { &row_cpu.anchor };
                let clear = if tree {
                    Clear::MoveAside(trash)
                } else {
                    Clear::Delete
                };
                timed(cmd, &dest, clear, sshd_pid, counter)
            }))
        };
        rows.push(Row {
            work,
            target,
            quick_runs: Some(3),
            rk: side(true),
            anchor: side(false),
        });
    }
    Ok(CopyBench {
        rows,
        big,
        key,
        known_hosts: kh,
        port: sshd.port,
        cpu,
        _sshd: sshd,
    })
}
