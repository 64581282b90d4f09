//! rk's project tasks, in Rust rather than shell (the rust-analyzer `xtask` pattern).
//!
//! `cargo xtask bench [keygen] [--runs N] [--quick] [--json FILE]`
//!   Side-by-side benchmarks: each row times the rk binary and the OpenSSH tool doing the same
//!   job, alternating them in one run, and reports both medians and the ratio rk/anchor.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask bench [keygen] [--runs N] [--quick] [--json FILE]";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

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

/// One benchmark row: rk's command and the anchor's, run alternately.
struct Row {
    work: &'static str,
    /// rk must take at most this fraction of the anchor's median time.
    target_ratio: f64,
    rk: Box<dyn Fn(&Path) -> Command>,
    anchor: Box<dyn Fn(&Path) -> Command>,
}

struct Figures {
    work: &'static str,
    runs: usize,
    rk_median: Duration,
    anchor_median: Duration,
    target_ratio: f64,
}

impl Figures {
    fn ratio(&self) -> f64 {
        self.rk_median.as_secs_f64() / self.anchor_median.as_secs_f64()
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
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
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

fn run_row(row: &Row, runs: usize, scratch: &Path) -> Result<Figures, String> {
    use std::io::IsTerminal;
    let progress = std::io::stderr().is_terminal();
    let (mut rk, mut anchor) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    // One warm-up each (page cache, dynamic loader), then alternate so drift hits both sides.
    time_once((row.rk)(scratch), scratch)?;
    time_once((row.anchor)(scratch), scratch)?;
    for i in 0..runs {
        if i % 2 == 0 {
            rk.push(time_once((row.rk)(scratch), scratch)?);
            anchor.push(time_once((row.anchor)(scratch), scratch)?);
        } else {
            anchor.push(time_once((row.anchor)(scratch), scratch)?);
            rk.push(time_once((row.rk)(scratch), scratch)?);
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
        target_ratio: row.target_ratio,
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
            target_ratio: 0.4,
            rk: Box::new(rk_cmd("rsa", Some("4096"))),
            anchor: Box::new(ssh_cmd("rsa", Some("4096"))),
        },
        Row {
            work: "keygen Ed25519",
            target_ratio: 1.0,
            rk: Box::new(rk_cmd("ed25519", None)),
            anchor: Box::new(ssh_cmd("ed25519", None)),
        },
    ]
}

fn bench(args: &[String]) -> Result<(), String> {
    let mut runs = None;
    let mut quick = false;
    let mut json = None;
    let mut groups = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = Some(it.next().and_then(|n| n.parse().ok()).ok_or(USAGE)?),
            "--quick" => quick = true,
            "--json" => json = Some(PathBuf::from(it.next().ok_or(USAGE)?)),
            "keygen" => groups.push(a.clone()),
            _ => return Err(USAGE.into()),
        }
    }
    let runs = runs.unwrap_or(if quick { 11 } else { 51 });
    let bin = build_release(&["rk-keygen"])?;
    let scratch = std::env::temp_dir().join(format!("rk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;

    let mut rows = Vec::new();
    if groups.is_empty() || groups.iter().any(|g| g == "keygen") {
        rows.extend(keygen_rows(&bin));
    }
    let mut figures = Vec::new();
    for row in &rows {
        figures.push(run_row(row, runs, &scratch)?);
    }
    let _ = std::fs::remove_dir_all(&scratch);

    println!(
        "{:<18} {:>5} {:>12} {:>14} {:>7} {:>8}  result",
        "work", "runs", "rk median", "anchor median", "ratio", "target"
    );
    for f in &figures {
        println!(
            "{:<18} {:>5} {:>10.1}ms {:>12.1}ms {:>7.2} {:>7}x  {}",
            f.work,
            f.runs,
            f.rk_median.as_secs_f64() * 1e3,
            f.anchor_median.as_secs_f64() * 1e3,
            f.ratio(),
            format!("≤{}", f.target_ratio),
            if f.ratio() <= f.target_ratio {
                "pass"
            } else {
                "FAIL"
            }
        );
    }
    if let Some(path) = json {
        let rows: Vec<String> = figures
            .iter()
            .map(|f| {
                format!(
                    "  {{\"work\": \"{}\", \"runs\": {}, \"rk_median_ms\": {:.3}, \"anchor_median_ms\": {:.3}, \"ratio\": {:.4}, \"target_ratio\": {}}}",
                    f.work,
                    f.runs,
                    f.rk_median.as_secs_f64() * 1e3,
                    f.anchor_median.as_secs_f64() * 1e3,
                    f.ratio(),
                    f.target_ratio
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
