//! rk's project tasks, in Rust rather than shell (the rust-analyzer `xtask` pattern).
//!
//! `cargo xtask dist [--profile release|dev] [--out DIR]`
//!   Builds every rk binary and writes `DIR/rk-<version>-<target>.tar.gz` (bin/, man/man1/,
//!   completions/, README.md, LICENSE) and `DIR/SHA256SUMS`.
//!   With `--target x86_64-pc-windows-gnu`: the cross-built .exe files in a .zip (windows.rs).
//! `cargo xtask test [--check] [--linux-only] [-- ARGS…]`
//!   Every test, on a machine that may lack the peers: checks (and installs) them, runs the Linux
//!   suite, then the Windows suite under Wine, then the macOS type-check (test_all.rs).
//! `cargo xtask windows build|test`
//!   The Windows build (std from Debian's sources, MinGW) and its test suite under Wine.
//! `cargo xtask macos check`
//!   Every shipped crate type-checked for aarch64-apple-darwin (macos.rs).
//! `cargo xtask install [--prefix DIR] [--profile release|dev]`
//!   Installs binaries, man pages and completions (default prefix ~/.local).
//! `cargo xtask lint`
//!   cargo fmt --check, cargo clippy -D warnings, cargo deny check licenses bans sources.
//! `cargo xtask fuzz [--seconds N] [TARGET...]`
//!   Runs the cargo-fuzz targets in fuzz/ for N seconds each (default 30) and reports them.
//!
//! `cargo xtask bench [keygen] [log] [config] [connect] [tunnel] [wine] [--only ROW]... [--baseline RK-CONNECT] [--runs N] [--quick] [--json FILE]`
//!   Side-by-side benchmarks: each row times the rk binary and the OpenSSH tool doing the same
//!   job, alternating them in one run, and reports both medians and the ratio rk/anchor.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench::bench(&args[1..]),
        Some("dist") => dist::dist(&args[1..]).map(|_| ()),
        Some("install") => dist::install(&args[1..]),
        Some("lint") => lint(),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("windows") => windows::main(&args[1..]),
        Some("macos") => macos::main(&args[1..]),
        Some("test") => test_all::test(&args[1..]),
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

mod bench;
mod cross;
mod dist;
mod fuzz;
mod macos;
mod package;
mod peers;
mod test_all;
mod windows;

pub(crate) const USAGE: &str =
    "usage: cargo xtask dist [--profile release|dev] [--out DIR] [--target x86_64-pc-windows-gnu]
       cargo xtask test [--check] [--linux-only] [-- CARGO-TEST-ARGS...]
       cargo xtask windows build [--profile release|dev]
       cargo xtask windows test [TEST-ARGS...]
       cargo xtask macos check
       cargo xtask install [--prefix DIR] [--profile release|dev]
       cargo xtask lint
       cargo xtask fuzz [--seconds N] [job_log|key_loaders|known_hosts|ssh_config|ppk_roundtrip ...]
       cargo xtask bench [keygen] [log] [config] [connect] [tunnel] [wine] [--only ROW]... [--baseline RK-CONNECT] [--runs N] [--quick] [--json FILE]";

/// fmt, clippy (any warning fails) and cargo-deny's licence, ban and source checks (offline:
/// the advisory database needs the network; see deny.toml).
fn lint() -> Result<(), String> {
    let clippy = [
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ];
    let deny = ["deny", "--offline", "check", "licenses", "bans", "sources"];
    // cargo-deny reads the whole graph, every platform's crates included (Windows, macOS,
    // Android ones), and runs offline: fetch them all first.
    let fetch = ["fetch", "--locked"];
    for args in [
        &["fmt", "--all", "--", "--check"][..],
        &clippy[..],
        &fetch[..],
        &deny[..],
    ] {
        let status = cargo()
            .args(args)
            .status()
            .map_err(|e| format!("cargo {}: {e}", args[0]))?;
        if !status.success() {
            return Err(format!("cargo {} found problems", args.join(" ")));
        }
    }
    Ok(())
}

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}
