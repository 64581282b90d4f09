//! `cargo xtask test --check`: names every program the tests need that is missing, with the
//! Debian package that provides it and the command that installs them, and stops before any
//! test is built.

use std::process::Command;
use std::time::{Duration, Instant};

use rk_e2e::*;

/// `cargo xtask test --check --linux-only` with PATH set to `path`.
fn check(path: &std::ffi::OsStr) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_with_input(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args(["xtask", "test", "--check", "--linux-only"])
            .env("PATH", path),
        b"",
        Duration::from_secs(600),
    )
}

#[test]
fn check_names_a_missing_program_and_its_package() {
    // Every program on PATH, through a folder of links, except puttygen.
    let farm = tempfile::tempdir().unwrap();
    let path = std::env::var_os("PATH").unwrap();
    for dir in std::env::split_paths(&path) {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let link = farm.path().join(&name);
            if name != "puttygen" && !link.exists() {
                let _ = std::os::unix::fs::symlink(entry.path(), link);
            }
        }
    }
    let started = Instant::now();
    let out = check(farm.path().as_os_str());
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains("puttygen (package putty-tools)"), "{err}");
    assert!(
        err.contains("apt-get update && apt-get install -y putty-tools"),
        "{err}"
    );
    // Only what is missing is named.
    assert!(!err.contains("(package openssh-client)"), "{err}");
    // It stopped before building anything: no test suite, no Windows build.
    for later in ["Linux suite", "Windows build", "Running unittests"] {
        assert!(!err.contains(later), "{err}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );

    // With everything there, it says so and succeeds.
    let ok = check(&path);
    ok.assert_ok("cargo xtask test --check");
    assert!(
        ok.stdout_str()
            .contains("every program the tests need is here"),
        "{}",
        ok.stdout_str()
    );
}
