//! What the Linux archive, `install` and the Windows zip share: the list of binaries, this
//! machine's build of them, what each writes with `--generate`, and the checksum file.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{cargo, workspace_root};

/// The rk binaries, in the order they are packaged.
pub(crate) const BINARIES: [&str; 5] = [
    "rk-keygen",
    "rk-copy-pubkey",
    "rk-parse-log",
    "rk-connect",
    "rk-cp",
];

pub(crate) fn build(profile: &str) -> Result<PathBuf, String> {
    let mut cmd = cargo();
    cmd.args(["build", "--locked", "--profile", profile]);
    for name in BINARIES {
        cmd.args(["-p", name]);
    }
    let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join(if profile == "dev" { "debug" } else { profile }))
}

/// What `BIN --generate KIND` prints (rk-generate: the man page, or a shell's completions),
/// from the built binary's own clap definition.
pub(crate) fn generated(bin: &Path, kind: &str) -> Result<Vec<u8>, String> {
    let out = Command::new(bin)
        .args(["--generate", kind])
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --generate {kind}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Adds (or replaces) the archive's line in `SHA256SUMS` beside it, keeping the other
/// platforms' lines: `sha256sum -c SHA256SUMS` checks every archive in the folder.
pub(crate) fn record_checksum(archive: &Path) -> Result<(), String> {
    let digest = Sha256::digest(std::fs::read(archive).map_err(|e| e.to_string())?);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("archive name")?;
    let sums = archive.with_file_name("SHA256SUMS");
    let old = std::fs::read_to_string(&sums).unwrap_or_default();
    let mut lines: Vec<String> = old
        .lines()
        .filter(|l| l.split_once("  ").is_some_and(|(_, n)| n != name))
        .map(str::to_string)
        .collect();
    lines.push(format!("{hex}  {name}"));
    lines.sort_by(|a, b| {
        a.split_once("  ")
            .map(|x| x.1)
            .cmp(&b.split_once("  ").map(|x| x.1))
    });
    write(&sums, format!("{}\n", lines.join("\n")).as_bytes())
}
