//! What the Windows build and the macOS type-check share: the rustup toolchain here has no
//! standard library for other targets and none can be downloaded, so std is built from source
//! (`-Zbuild-std`) with Debian's Rust (`rustc-web`, whose sources `rust-web-src` installs where
//! `-Zbuild-std` looks). Each target builds into a directory of its own outside the checkout
//! (std and the dependencies are built once per machine and reused by every later run, CI's
//! fresh clones included).

use std::path::PathBuf;
use std::process::Command;

use crate::peers::Peer;
use crate::workspace_root;

/// Debian's Rust with the standard library's sources.
pub const DEBIAN_RUST: &[Peer] = &[
    Peer::file(
        "/usr/bin/cargo",
        "cargo-web",
        "Debian's cargo 1.96 for -Zbuild-std",
    ),
    Peer::file(
        "/usr/bin/rustc",
        "rustc-web",
        "Debian's rustc 1.96 for -Zbuild-std",
    ),
    Peer::file(
        "/usr/lib/rustlib/src/rust/library/std/Cargo.toml",
        "rust-web-src",
        "the standard library's sources, built for other platforms",
    ),
];

/// `$ENV_VAR`, else `~/.cache/rk/NAME` (else `target/NAME` with no home).
pub fn cache_dir(env_var: &str, name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(env_var).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| workspace_root().join("target"));
    cache.join("rk").join(name)
}

/// `cargo -Zbuild-std=… ARGS… --locked --target TARGET` with Debian's toolchain, into
/// `target_dir`; the caller adds what the target needs (linker, C compiler).
pub fn cargo(target: &str, target_dir: PathBuf, args: &[&str]) -> Command {
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.current_dir(workspace_root());
    // What rustup's cargo put in our environment must not steer Debian's.
    for var in [
        "CARGO",
        "RUSTUP_TOOLCHAIN",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("RUSTC", "/usr/bin/rustc")
        .env("RUSTDOC", "/usr/bin/rustdoc")
        // -Zbuild-std is unstable; Debian's stable rustc takes it with this.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir);
    // A global option: before the subcommand.
    cmd.arg("-Zbuild-std=std,panic_abort,panic_unwind")
        .args(args)
        .args(["--locked", "--target", target]);
    cmd
}

/// Runs `cmd`; an error names `what`.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}
