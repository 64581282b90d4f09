//! Packaging: release archives with man pages and shell completions that each built binary
//! writes from its own clap definition (`BIN --generate KIND`, rk-generate), so they never
//! drift from `--help` and xtask needs none of the tools' code.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::package::{BINARIES, build, generated, record_checksum, write};
use crate::workspace_root;

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

/// The completions in the archive: `--generate` kind, file extension.
const SHELLS: [(&str, &str); 4] = [
    ("complete-bash", "bash"),
    ("complete-zsh", "zsh"),
    ("complete-fish", "fish"),
    ("complete-powershell", "ps1"),
];

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
            return crate::windows::package(&o.out, false);
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
