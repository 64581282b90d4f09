//! macOS: every crate that ships (each folder under `crates/`, future ones included) is
//! type-checked for `aarch64-apple-darwin` with `cargo check`, std built from source with
//! Debian's Rust ([`crate::cross`]). Nothing is linked or run: there is no Mac here.
//!
//! What is not compiled: C. Without Apple's SDK no compiler here has macOS's C headers (clang
//! knows the target, not `<stdlib.h>` for it), so the build scripts of the C libraries in the
//! graph (aws-lc-sys, russh's crypto) get a stand-in compiler that writes empty objects: their
//! Rust bindings, shipped pregenerated for this target, are checked like all other Rust code;
//! their C is not. `cargo check` links nothing, so the empty objects are never used.
//!
//! `cargo xtask macos check`; `cargo xtask test` runs it after the Windows suite.

use std::path::{Path, PathBuf};

use crate::cross::{self, run};
use crate::peers;
use crate::workspace_root;

pub const TARGET: &str = "aarch64-apple-darwin";

/// Where the check's std and dependencies go: `$RK_MACOS_TARGET_DIR`, else
/// `~/.cache/rk/macos-target`.
fn target_dir() -> PathBuf {
    cross::cache_dir("RK_MACOS_TARGET_DIR", "macos-target")
}

/// The packages under `crates/`: what ships (xtask and the test harness do not).
fn shipped_crates() -> Result<Vec<String>, String> {
    let crates = workspace_root().join("crates");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&crates).map_err(|e| format!("{}: {e}", crates.display()))? {
        let manifest = entry.map_err(|e| e.to_string())?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| format!("{}: no package name", manifest.display()))?;
        names.push(name.to_string());
    }
    names.sort();
    Ok(names)
}

/// The stand-in C compiler and archiver: `-o FILE` gets an empty object, an archive is an
/// empty `ar` archive; everything else (version probes, flag checks) succeeds silently.
fn write_stand_ins(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cc = dir.join("stand-in-cc");
    let ar = dir.join("stand-in-ar");
    let scripts = [
        (
            &cc,
            "#!/bin/sh\n# rk's macOS type-check: C is not compiled for macOS here (no SDK).\n\
             while [ $# -gt 0 ]; do\n  if [ \"$1\" = -o ]; then : > \"$2\"; shift; fi\n  shift\ndone\n",
        ),
        (
            &ar,
            "#!/bin/sh\n# rk's macOS type-check: an empty archive for `ar FLAGS LIB OBJECTS…`.\n\
             [ $# -ge 2 ] && [ ! -s \"$2\" ] && printf '!<arch>\\n' > \"$2\"\nexit 0\n",
        ),
    ];
    for (path, text) in scripts {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    Ok((cc, ar))
}

/// `cargo check` of every shipped crate for macOS.
pub fn check() -> Result<(), String> {
    peers::ensure(cross::DEBIAN_RUST, false)?;
    let started = std::time::Instant::now();
    let crates = shipped_crates()?;
    let (cc, ar) = write_stand_ins(&target_dir().join("stand-ins"))?;
    let mut args = vec!["check"];
    for name in &crates {
        args.extend(["-p", name.as_str()]);
    }
    let mut cmd = cross::cargo(TARGET, target_dir(), &args);
    cmd.env("CC_aarch64_apple_darwin", &cc)
        .env("CXX_aarch64_apple_darwin", &cc)
        .env("AR_aarch64_apple_darwin", &ar)
        // The cc crate asks xcrun for the SDK unless this is set; there is none to find.
        .env("SDKROOT", target_dir().join("stand-ins"));
    run(&mut cmd, "cargo check (macOS)")?;
    eprintln!(
        "xtask: macOS type-check of {} took {:.0} s",
        crates.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask macos …`
pub fn main(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("check") if args.len() == 1 => check(),
        _ => Err(crate::USAGE.into()),
    }
}
