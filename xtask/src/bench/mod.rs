//! `cargo xtask bench`: side-by-side benchmarks. Each row times the rk binary and the OpenSSH
//! tool (or grep) doing the same job, alternating them in one run, and reports both medians and
//! the ratio rk/anchor against the row's target.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::USAGE;

mod checks;
mod connect;
mod copy;
mod delay;
mod tools;
mod tunnel;
mod wine;

use checks::{Check, copy_checks};
use connect::connect_rows;
use copy::copy_rows;
use tools::{config_rows, keygen_rows, log_rows, write_big_log, write_config};
use tunnel::tunnel_rows;
use wine::wine_rows;

/// The Ed25519 fixture key copied into `dir` (mode 0600, as ssh wants it), and a loopback sshd
/// that accepts it (stopped when dropped).
fn ed25519_sshd(dir: &Path) -> Result<(PathBuf, rk_e2e::Sshd), String> {
    let fixtures = rk_e2e::fixtures().join("keys/openssh");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let key = dir.join("ed25519");
    std::fs::copy(fixtures.join("ed25519"), &key).map_err(|e| e.to_string())?;
    rk_e2e::set_mode(&key, 0o600);
    let sshd = rk_e2e::Sshd::start(&[fixtures.join("ed25519.pub").as_path()]);
    Ok((key, sshd))
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
            "keygen" | "log" | "config" | "connect" | "tunnel" | "copy" | "wine" => {
                groups.push(a.clone())
            }
            _ => return Err(USAGE.into()),
        }
    }
    // --quick: medians of 5 (3 for the rows of seconds) and 128 MiB transfers, ≤ 3 minutes in
    // all on 2 cores; the full run is for figures worth quoting.
    let runs_given = runs.is_some();
    let runs = runs.unwrap_or(if quick { 5 } else { 51 });
    let bin = crate::package::build("release")?;
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
    if wants("config") {
        let config = write_config(&base)?;
        rows.extend(config_rows(&bin, &config));
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
    let mut copy_cpu = Vec::new();
    let mut copy_bench = None;
    if wants("copy") {
        let mut bench = copy_rows(&bin, &base, quick)?;
        rows.extend(std::mem::take(&mut bench.rows));
        copy_cpu = std::mem::take(&mut bench.cpu);
        copy_bench = Some(bench);
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
    let mut checks: Vec<Check> = Vec::new();
    if let Some(bench) = &copy_bench {
        let wanted = |work: &str| only.is_empty() || only.iter().any(|o| work.contains(o.as_str()));
        checks = copy_checks(&bin, bench, &scratch, &wanted)?;
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
    for c in copy_cpu
        .iter()
        .filter(|c| figures.iter().any(|f| f.work == c.work))
    {
        let per_run = |t: &Mutex<(Duration, Duration, usize)>| {
            t.lock().map_or((f64::NAN, f64::NAN), |t| {
                let n = t.2.max(1) as f64;
                (t.0.as_secs_f64() * 1e3 / n, t.1.as_secs_f64() * 1e3 / n)
            })
        };
        let ((rk, rk_sshd), (scp, scp_sshd)) = (per_run(&c.rk), per_run(&c.anchor));
        let wall = figures.iter().find(|f| f.work == c.work);
        let bound =
            wall.is_some_and(|f| rk_sshd >= 0.9 * f.rk_ms() && scp_sshd >= 0.9 * f.anchor_ms());
        // MB/s of the medians: bytes per millisecond / 1000.
        let rate = |ms: f64| c.bytes as f64 / ms / 1e3;
        let (rk_rate, scp_rate) = wall.map_or((f64::NAN, f64::NAN), |f| {
            (rate(f.rk_ms()), rate(f.anchor_ms()))
        });
        println!(
            "CPU per run, {}: rk-cp {rk:.0} ms (sshd {rk_sshd:.0} ms), scp {scp:.0} ms (sshd {scp_sshd:.0} ms); throughput rk-cp {rk_rate:.1} MB/s, scp {scp_rate:.1} MB/s{}",
            c.work,
            if bound { " — sshd-bound" } else { "" }
        );
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
    for c in &checks {
        println!(
            "{:<56} {:>8.1} {:<3} (at most {} {})  {}",
            c.work,
            c.value,
            c.unit,
            c.limit,
            c.unit,
            if c.pass() { "pass" } else { "FAIL" }
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
    // A missed target is a failure a person or a script can rely on (not with --baseline: the
    // targets are against OpenSSH, not against another rk build).
    let missed: Vec<&str> = figures
        .iter()
        .filter(|f| !f.pass())
        .map(|f| f.work)
        .chain(checks.iter().filter(|c| !c.pass()).map(|c| c.work.as_str()))
        .collect();
    if baseline.is_none() && !missed.is_empty() {
        return Err(format!(
            "{} of {} rows missed their target: {}",
            missed.len(),
            figures.len() + checks.len(),
            missed.join("; ")
        ));
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
