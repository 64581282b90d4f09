//! Packaging: release archives with man pages and shell completions generated from each
//! binary's clap definition, so they never drift from `--help`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap_complete::Shell;
use sha2::{Digest, Sha256};

use crate::{cargo, workspace_root};

/// The rk binaries and their clap definitions.
fn binaries() -> Vec<(&'static str, clap::Command)> {
    vec![
        ("rk-keygen", rk_keygen::cli::command()),
        ("rk-copy-pubkey", rk_copy_pubkey::command()),
        ("rk-parse-log", rk_parse_log::command()),
        ("rk-connect", rk_connect::cli::command()),
        ("rk-cp", rk_cp::cli::command()),
    ]
}

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
    for (name, _) in binaries() {
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

/// Escapes text for roff: backslashes, and a leading '.' or '\'' that would be a request.
fn roff_text(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// The man page: clap_mangen's title, synopsis, description and options, then the after-help
/// text split into EXAMPLES, EXIT STATUS and NOTES sections.
pub fn man_page(cmd: &clap::Command) -> Result<Vec<u8>, String> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let io = |e: std::io::Error| e.to_string();
    man.render_title(&mut out).map_err(io)?;
    man.render_name_section(&mut out).map_err(io)?;
    man.render_synopsis_section(&mut out).map_err(io)?;
    man.render_description_section(&mut out).map_err(io)?;
    man.render_options_section(&mut out).map_err(io)?;
    let after = cmd
        .get_after_help()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut section: Option<String> = None;
    let mut body: Vec<String> = Vec::new();
    let flush = |section: &Option<String>, body: &mut Vec<String>, out: &mut Vec<u8>| {
        if let Some(title) = section {
            out.extend_from_slice(format!(".SH \"{title}\"\n.nf\n").as_bytes());
            for l in body.iter() {
                out.extend_from_slice(format!("{}\n", roff_text(l)).as_bytes());
            }
            out.extend_from_slice(b".fi\n");
        }
        body.clear();
    };
    for line in after.lines() {
        let heading =
            (!line.starts_with(' ') && line.ends_with(':')).then(|| line.trim_end_matches(':'));
        match heading {
            Some(h) => {
                flush(&section, &mut body, &mut out);
                section = Some(match h.to_ascii_lowercase().as_str() {
                    "examples" => "EXAMPLES".to_string(),
                    "exit status" => "EXIT STATUS".to_string(),
                    other => other.to_ascii_uppercase(),
                });
            }
            None if section.is_none() && !line.trim().is_empty() => {
                section = Some("NOTES".into());
                body.push(line.to_string());
            }
            None => body.push(line.to_string()),
        }
    }
    flush(&section, &mut body, &mut out);
    man.render_version_section(&mut out).map_err(io)?;
    Ok(out)
}

fn completion(name: &str, cmd: &clap::Command, shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd.clone(), name, &mut out);
    out
}

const SHELLS: [(Shell, &str); 4] = [
    (Shell::Bash, "bash"),
    (Shell::Zsh, "zsh"),
    (Shell::Fish, "fish"),
    (Shell::PowerShell, "ps1"),
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

    for (name, cmd) in binaries() {
        copy_exe(&bin_dir.join(name), &stage.join("bin").join(name))?;
        write(
            &stage.join("man/man1").join(format!("{name}.1")),
            &man_page(&cmd)?,
        )?;
        for (shell, ext) in SHELLS {
            write(
                &stage.join("completions").join(format!("{name}.{ext}")),
                &completion(name, &cmd, shell),
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
    for (name, cmd) in binaries() {
        if !crate::windows::BINARIES.contains(&name) {
            continue;
        }
        let exe = crate::windows::exe(&bin_dir, name);
        let bytes = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
        add(format!("{name}.exe"), &bytes, true)?;
        add(
            format!("completions/{name}.ps1"),
            &completion(name, &cmd, Shell::PowerShell),
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
    for (name, cmd) in binaries() {
        copy_exe(&bin_dir.join(name), &prefix.join("bin").join(name))?;
        write(
            &prefix.join("share/man/man1").join(format!("{name}.1")),
            &man_page(&cmd)?,
        )?;
        write(
            &prefix.join("share/bash-completion/completions").join(name),
            &completion(name, &cmd, Shell::Bash),
        )?;
        write(
            &prefix
                .join("share/zsh/site-functions")
                .join(format!("_{name}")),
            &completion(name, &cmd, Shell::Zsh),
        )?;
        write(
            &prefix
                .join("share/fish/vendor_completions.d")
                .join(format!("{name}.fish")),
            &completion(name, &cmd, Shell::Fish),
        )?;
    }
    println!(
        "installed rk into {} (make sure {}/bin is on your PATH)",
        prefix.display(),
        prefix.display()
    );
    Ok(())
}
