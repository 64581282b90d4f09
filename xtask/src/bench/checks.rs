//! Figures of rk's own with a bound, where no anchor does the same job: how much of a file a
//! resumed copy moves again, and rk-cp's peak memory with the default channels.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::copy::{CopyBench, rk_cp};

/// One figure and its bound (at most).
pub(super) struct Check {
    pub(super) work: String,
    pub(super) value: f64,
    pub(super) limit: f64,
    pub(super) unit: &'static str,
}

impl Check {
    pub(super) fn pass(&self) -> bool {
        self.value <= self.limit
    }
}

/// The checks whose names `wanted` accepts (`--only`).
pub(super) fn copy_checks(
    bin: &Path,
    bench: &CopyBench,
    scratch: &Path,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Check>, String> {
    let dest = scratch.join("checks");
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&bench.big)
        .map_err(|e| e.to_string())?
        .len();
    let mib = size >> 20;
    let user = rk_e2e::current_user();
    let remote = |p: &Path| format!("{user}@127.0.0.1:{}", p.display());
    let cp = || rk_cp(bin, &bench.known_hosts, &bench.key, bench.port);
    let mut checks = Vec::new();

    // Peak memory: one big file each way, default channels.
    for up in [false, true] {
        let work = format!("cp {mib} MiB {}: peak RSS", if up { "up" } else { "down" });
        if !wanted(&work) {
            continue;
        }
        let target = dest.join(if up { "up.bin" } else { "down.bin" });
        let mut cmd = cp();
        cmd.arg("-q");
        if up {
            cmd.arg(&bench.big).arg(remote(&target));
        } else {
            cmd.arg(remote(&bench.big)).arg(&target);
        }
        checks.push(Check {
            work,
            value: peak_rss_mib(cmd)?,
            limit: 64.0,
            unit: "MiB",
        });
        same_bytes(&bench.big, &target)?;
    }

    // Resume: killed at half way, then the same command again.
    let work = format!("cp {mib} MiB down killed at 50%, rerun: bytes moved");
    if !wanted(&work) {
        return Ok(checks);
    }
    let target = dest.join("resumed.bin");
    let partial = dest.join(".resumed.bin.rk-part");
    let mut cmd = cp();
    cmd.arg("-q").arg(remote(&bench.big)).arg(&target);
    kill_at(cmd, &partial, size / 2)?;
    let mut cmd = cp();
    cmd.arg("-v").arg(remote(&bench.big)).arg(&target);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the resumed copy failed: {err}"));
    }
    same_bytes(&bench.big, &target)?;
    let moved = rk_e2e::bytes_moved(&err).ok_or_else(|| format!("no 'bytes moved' in: {err}"))?;
    checks.push(Check {
        work,
        value: moved as f64 * 100.0 / size as f64,
        limit: 55.0,
        unit: "%",
    });
    let _ = std::fs::remove_dir_all(&dest);
    Ok(checks)
}

/// Runs `cmd` to its end; its peak resident memory, as the kernel counted it (`wait4`).
fn peak_rss_mib(mut cmd: Command) -> Result<f64, String> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let mut status = 0;
    // SAFETY: wait4 writes only into the two values we pass; the child is ours and not yet
    // reaped (std's Child neither waits nor kills on drop).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if reaped <= 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{cmd:?} failed (wait status {status})"));
    }
    // Linux reports ru_maxrss in KiB.
    Ok(usage.ru_maxrss as f64 / 1024.0)
}

/// Starts `cmd` and SIGKILLs it once `partial` holds `at` bytes.
fn kill_at(mut cmd: Command, partial: &Path, at: u64) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(partial).map_or(0, |m| m.len()) < at {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Err("rk-cp finished before it could be killed half way".into());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("rk-cp made no progress in 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// Fails unless the two files hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> Result<(), String> {
    let open = |p: &Path| {
        std::fs::File::open(p)
            .map(std::io::BufReader::new)
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let (mut x, mut y) = (open(a)?, open(b)?);
    let (mut bx, mut by) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = x.read(&mut bx).map_err(|e| e.to_string())?;
        let m = y.read_exact(&mut by[..n]);
        if m.is_err() || bx[..n] != by[..n] {
            return Err(format!("{} differs from {}", b.display(), a.display()));
        }
        if n == 0 {
            return match y.read(&mut by[..1]) {
                Ok(0) => Ok(()),
                _ => Err(format!("{} is longer than {}", b.display(), a.display())),
            };
        }
    }
}
