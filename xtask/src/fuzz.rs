//! `cargo xtask fuzz [--seconds N] [TARGET...]`: builds the libFuzzer targets in `fuzz/` with
//! cargo-fuzz and runs each for N seconds (default 30) from its seed corpus, printing executions
//! and coverage. A crash fails the task; libFuzzer leaves the input in fuzz/artifacts/TARGET/,
//! which then becomes a regression test.
//!
//! cargo fuzz needs nightly-only flags; on the stable toolchain `RUSTC_BOOTSTRAP=1` allows them
//! (this machine has one toolchain). No sanitizer (`-s none`): the targets are safe Rust, and
//! ASan would need the nightly runtime.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::workspace_root;

pub(crate) const TARGETS: &[&str] = &[
    "job_log",
    "key_loaders",
    "known_hosts",
    "ssh_config",
    "ppk_roundtrip",
];

/// Seed directories for a target (read-only; new inputs go to fuzz/corpus/TARGET).
fn seeds(target: &str) -> Vec<PathBuf> {
    let root = workspace_root();
    let shared = root.join("../shared/fixtures");
    let dirs = match target {
        "job_log" => vec![
            shared.join("job-logs"),
            root.join("tests/fixtures/job-logs"),
        ],
        "key_loaders" => vec![shared.join("keys")],
        "known_hosts" => vec![root.join("fuzz/seeds/known_hosts")],
        "ssh_config" => vec![root.join("fuzz/seeds/ssh_config")],
        _ => vec![],
    };
    // Inputs that once crashed a target, replayed on every run.
    let mut dirs = dirs;
    dirs.push(root.join("fuzz/regressions").join(target));
    dirs.into_iter().filter(|d| d.is_dir()).collect()
}

fn cargo_fuzz() -> Command {
    let mut cmd = crate::cargo();
    cmd.arg("fuzz")
        .current_dir(workspace_root().join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1");
    cmd
}

pub(crate) fn fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = 30u64;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?
            }
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; targets: {}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    let probe = cargo_fuzz()
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        return Err(
            "cargo-fuzz is not installed: cargo install cargo-fuzz --locked --version 0.13.1"
                .into(),
        );
    }
    let status = cargo_fuzz()
        .args(["build", "-s", "none", "-O"])
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !status.success() {
        return Err("cargo fuzz build failed".into());
    }
    let mut report = Vec::new();
    for target in &targets {
        let corpus = workspace_root().join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
        let mut cmd = cargo_fuzz();
        cmd.args(["run", "-s", "none", "-O", target]).arg(&corpus);
        for seed in seeds(target) {
            cmd.arg(seed);
        }
        cmd.arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-timeout=10")
            .arg("-print_final_stats=1")
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped());
        eprintln!("fuzz: {target} for {seconds} s");
        let out = cmd
            .output()
            .map_err(|e| format!("cargo fuzz run {target}: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let stat = |name: &str| {
            log.lines()
                .filter_map(|l| l.strip_prefix(name))
                .filter_map(|v| v.trim_start_matches(':').trim().parse::<u64>().ok())
                .next_back()
        };
        let coverage = log
            .lines()
            .rev()
            .find_map(|l| l.split(" cov: ").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("?")
            .to_string();
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "fuzz target {target} failed (input saved under fuzz/artifacts/{target}/):\n{}",
                tail.join("\n")
            ));
        }
        report.push((
            target.clone(),
            stat("stat::number_of_executed_units").unwrap_or(0),
            coverage,
            stat("stat::peak_rss_mb").unwrap_or(0),
        ));
    }
    println!("| target | seconds | executions | coverage (edges) | peak RSS MiB |");
    println!("|---|---|---|---|---|");
    for (target, execs, cov, rss) in report {
        println!("| {target} | {seconds} | {execs} | {cov} | {rss} |");
    }
    Ok(())
}
