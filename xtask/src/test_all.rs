//! `cargo xtask test [--check] [--linux-only] [-- CARGO-TEST-ARGS…]`: the whole test suite on a
//! machine that may have none of the real peers yet.
//!
//! 1. Checks every peer (sshd, puttygen, Xvfb, …, and for the Windows suite the toolchain and
//!    Wine); missing ones are installed with apt-get (named, with why, before anything is
//!    installed) when this is root on Debian/Ubuntu, else it stops with the command to run.
//!    `--check` only reports (exit 1 if something is missing), compiling nothing.
//! 2. `cargo test --workspace --locked [ARGS]`: the Linux suite.
//! 3. The Windows .exe files, cross-built, and their suite under Wine (`windows.rs`), unless
//!    `--linux-only`.
//! 4. Every shipped crate type-checked for macOS (`macos.rs`), unless `--linux-only`.

use std::time::Instant;

use crate::peers::{self, LINUX_TEST_PEERS, Peer};
use crate::{cross, macos, windows};

pub fn test(args: &[String]) -> Result<(), String> {
    let mut check_only = false;
    let mut linux_only = false;
    let mut cargo_args: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" => check_only = true,
            "--linux-only" => linux_only = true,
            "--" => cargo_args.extend(it.by_ref().cloned()),
            other => return Err(format!("unknown option {other}\n{}", crate::USAGE)),
        }
    }
    let mut needed: Vec<Peer> = LINUX_TEST_PEERS.to_vec();
    if !linux_only {
        needed.extend(cross::DEBIAN_RUST.iter().chain([&windows::LINKER]));
        needed.extend(windows::TEST_PEERS);
    }
    if check_only {
        peers::ensure(&needed, false)?;
        println!("xtask: every program the tests need is here");
        return Ok(());
    }
    peers::ensure(&needed, true)?;

    let started = Instant::now();
    let status = crate::cargo()
        .args(["test", "--workspace", "--locked"])
        .args(&cargo_args)
        .status()
        .map_err(|e| format!("cargo test: {e}"))?;
    eprintln!(
        "xtask: Linux suite took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        return Err("cargo test --workspace --locked failed".into());
    }
    if !linux_only {
        windows::test(&[])?;
        macos::check()?;
    }
    Ok(())
}
