//! Packaging: release archives with man pages and shell completions that each built binary
//! writes from its own clap definition (`BIN --generate KIND`, rk-generate), so they never
//! drift from `--help` and xtask needs none of the tools' code.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{cargo, workspace_root};

/// The rk binaries, in the order they are packaged.
const BINARIES: [&str; 5] = [
    "rk-keygen",
    "rk-copy-pubkey",
    "rk-parse-log",
    "rk-connect",
    "rk-cp",
];

struct Options {
    profile: String,
    out: PathBuf,
    prefix: Option<PathBuf>,
    target: Option<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        profile: "release".into(),
        out: workspace_root().join("dist"),
        prefix: None,
        target: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--profile" => o.profile = value()?,
            "--out" => o.out = PathBuf::from(value()?),
            "--prefix" => o.prefix = Some(PathBuf::from(value()?)),
            "--target" => o.target = Some(value()?),
            other => return Err(format!("unknown option {other}\n{}", crate::USAGE)),
        }
    }
    Ok(o)
}

fn build(profile: &str) -> Result<PathBuf, String> {
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

fn host_triple() -> String {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("-vV")
        .output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// What `BIN --generate KIND` prints (rk-generate: the man page, or a shell's completions),
/// from the built binary's own clap definition.
fn generated(bin: &Path, kind: &str) -> Result<Vec<u8>, String> {
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

/// The completions in the archive: `--generate` kind, file extension.
const SHELLS: [(&str, &str); 4] = [
    ("complete-bash", "bash"),
    ("complete-zsh", "zsh"),
    ("complete-fish", "fish"),
    ("complete-powershell", "ps1"),
];

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy_exe(from: &Path, to: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::copy(from, to).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())
}

/// Builds and packages; returns the archive's path.
pub fn dist(args: &[String]) -> Result<PathBuf, String> {
    let o = options(args)?;
    match o.target.as_deref() {
        None => {}
        Some(crate::windows::TARGET) if o.profile == "release" => {
            return dist_windows(&o.out, false);
        }
        Some(crate::windows::TARGET) => {
            return Err("the Windows archive is built with the release profile only".into());
        }
        Some(t) if t == host_triple() => {}
        Some(t) => {
            return Err(format!(
                "--target {t}: rk builds for this machine ({}) and {}",
                host_triple(),
                crate::windows::TARGET
            ));
        }
    }
    let bin_dir = build(&o.profile)?;
    let version = env!("CARGO_PKG_VERSION");
    let stem = format!("rk-{version}-{}", host_triple());
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let stage = o.out.join(&stem);
    let _ = std::fs::remove_dir_all(&stage);

    for name in BINARIES {
        let bin = bin_dir.join(name);
        copy_exe(&bin, &stage.join("bin").join(name))?;
        write(
            &stage.join("man/man1").join(format!("{name}.1")),
            &generated(&bin, "man")?,
        )?;
        for (kind, ext) in SHELLS {
            write(
                &stage.join("completions").join(format!("{name}.{ext}")),
                &generated(&bin, kind)?,
            )?;
        }
    }
    for doc in ["README.md", "LICENSE"] {
        std::fs::copy(workspace_root().join(doc), stage.join(doc))
            .map_err(|e| format!("{doc}: {e}"))?;
    }

    let archive = o.out.join(format!("{stem}.tar.gz"));
    {
        let file = std::fs::File::create(&archive).map_err(|e| e.to_string())?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        tar.append_dir_all(&stem, &stage)
            .map_err(|e| e.to_string())?;
        tar.into_inner()
            .and_then(|gz| gz.finish())
            .map_err(|e| e.to_string())?;
    }
    record_checksum(&archive)?;
    let _ = std::fs::remove_dir_all(&stage);
    println!("{}", archive.display());
    Ok(archive)
}

/// Adds (or replaces) the archive's line in `SHA256SUMS` beside it, keeping the other
/// platforms' lines: `sha256sum -c SHA256SUMS` checks every archive in the folder.
fn record_checksum(archive: &Path) -> Result<(), String> {
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

/// `cargo xtask dist --target x86_64-pc-windows-gnu`: the release .exe files (cross-built,
/// see `windows.rs`), README, LICENSE and PowerShell completions in
/// `OUT/rk-VERSION-x86_64-pc-windows-gnu.zip`, and its line in `OUT/SHA256SUMS`.
pub fn dist_windows(out: &Path, with_test_helper: bool) -> Result<PathBuf, String> {
    use std::io::Write;
    let bin_dir = crate::windows::build("release", with_test_helper)?;
    // The completions come from this machine's build of the same sources (the command lines
    // have no platform-specific flags); after the Linux suite it is already built.
    let host_dir = build("dev")?;
    let stem = format!(
        "rk-{}-{}",
        env!("CARGO_PKG_VERSION"),
        crate::windows::TARGET
    );
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let archive = out.join(format!("{stem}.zip"));
    let file =
        std::fs::File::create(&archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let mut add = |name: String, bytes: &[u8], executable: bool| -> Result<(), String> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(if executable { 0o755 } else { 0o644 });
        zip.start_file(format!("{stem}/{name}"), options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| format!("{}: {e}", archive.display()))
    };
    for name in BINARIES {
        if !crate::windows::BINARIES.contains(&name) {
            continue;
        }
        let exe = crate::windows::exe(&bin_dir, name);
        let bytes = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
        add(format!("{name}.exe"), &bytes, true)?;
        add(
            format!("completions/{name}.ps1"),
            &generated(&host_dir.join(name), "complete-powershell")?,
            false,
        )?;
    }
    for doc in ["README.md", "LICENSE"] {
        let bytes = std::fs::read(workspace_root().join(doc)).map_err(|e| format!("{doc}: {e}"))?;
        add(doc.to_string(), &bytes, false)?;
    }
    zip.finish()
        .map_err(|e| format!("{}: {e}", archive.display()))?;
    record_checksum(&archive)?;
    println!("{}", archive.display());
    Ok(archive)
}

/// Installs into a prefix — by default where `cargo install` puts programs
/// (`$CARGO_INSTALL_ROOT`, else `$CARGO_HOME`, else `~/.cargo`), whose `bin` rustup already put
/// on PATH — with man pages in `share/man/man1` (man finds them beside `bin`) and the
/// completion directories bash, zsh and fish look in.
pub fn install(args: &[String]) -> Result<(), String> {
    let o = options(args)?;
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let prefix = match o.prefix {
        Some(p) => p,
        None => var("CARGO_INSTALL_ROOT")
            .or_else(|| var("CARGO_HOME"))
            .or_else(|| var("HOME").map(|h| h.join(".cargo")))
            .ok_or("neither CARGO_INSTALL_ROOT, CARGO_HOME nor HOME is set; give --prefix")?,
    };
    let bin_dir = build(&o.profile)?;
    for name in BINARIES {
        let bin = bin_dir.join(name);
        copy_exe(&bin, &prefix.join("bin").join(name))?;
        let installed = [
            (format!("share/man/man1/{name}.1"), "man"),
            (
                format!("share/bash-completion/completions/{name}"),
                "complete-bash",
            ),
            (format!("share/zsh/site-functions/_{name}"), "complete-zsh"),
            (
                format!("share/fish/vendor_completions.d/{name}.fish"),
                "complete-fish",
            ),
        ];
        for (path, kind) in installed {
            write(&prefix.join(path), &generated(&bin, kind)?)?;
        }
    }
    println!(
        "installed rk into {} (make sure {}/bin is on your PATH)",
        prefix.display(),
        prefix.display()
    );
    Ok(())
}
