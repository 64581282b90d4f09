//! Windows builds, cross-compiled on Linux, and their test suite under Wine.
//!
//! std is built from source with Debian's Rust ([`crate::cross`]) and linked by MinGW, into
//! `~/.cache/rk/windows-target`; the Linux build in `target/` is untouched.
//!
//! `cargo xtask windows build [--profile release|dev]`  the .exe files (and the test helper)
//! `cargo xtask windows test [ARGS…]`                   build, package, then the Wine suite
//! `cargo xtask dist --target x86_64-pc-windows-gnu`   the release .zip

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cross::{self, run};
use crate::package::{self, BINARIES};
use crate::peers::{self, Peer};
use crate::workspace_root;

pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// What the cross-build needs besides Debian's Rust ([`crate::cross::DEBIAN_RUST`]).
pub const LINKER: Peer = Peer::program(
    "x86_64-w64-mingw32-gcc",
    "gcc-mingw-w64-x86-64",
    "the Windows linker",
);

/// What running the suite needs besides the Linux peers.
pub const TEST_PEERS: &[Peer] = &[Peer::file(
    "/usr/lib/wine/wine64",
    "wine64",
    "runs the .exe files",
)];

/// Where Windows builds go: `$RK_WINDOWS_TARGET_DIR`, else `~/.cache/rk/windows-target`.
pub fn target_dir() -> PathBuf {
    cross::cache_dir("RK_WINDOWS_TARGET_DIR", "windows-target")
}

/// `cargo ARGS…` for the Windows target: Debian's toolchain, std from source, MinGW's linker.
fn cargo_windows(args: &[&str]) -> Command {
    let mut cmd = cross::cargo(TARGET, target_dir(), args);
    cmd.env(
        "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER",
        "x86_64-w64-mingw32-gcc",
    )
    // aws-lc-sys (russh's crypto) otherwise wants NASM for this target; it ships the objects
    // prebuilt.
    .env("AWS_LC_SYS_PREBUILT_NASM", "1");
    cmd
}

/// Builds the Windows binaries (and, for the tests, the `show-protection` helper, which reads a
/// file's DACL through the Windows API, and `test-agent`, an SSH agent on a named pipe);
/// returns the directory holding the .exe files.
pub fn build(profile: &str, with_test_helper: bool) -> Result<PathBuf, String> {
    peers::ensure(cross::DEBIAN_RUST, false)?;
    peers::ensure(&[LINKER], false)?;
    let started = std::time::Instant::now();
    let mut args = vec!["build", "--profile", profile];
    for name in BINARIES {
        args.extend(["-p", name]);
    }
    run(&mut cargo_windows(&args), "cargo build (Windows)")?;
    if with_test_helper {
        for (package, example) in [("rk-core", "show-protection"), ("rk-connect", "test-agent")] {
            run(
                &mut cargo_windows(&[
                    "build",
                    "--profile",
                    profile,
                    "-p",
                    package,
                    "--example",
                    example,
                ]),
                &format!("cargo build (Windows test helper {example})"),
            )?;
        }
    }
    eprintln!(
        "xtask: Windows build ({profile}) took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let dir = if profile == "dev" { "debug" } else { profile };
    Ok(target_dir().join(TARGET).join(dir))
}

/// `cargo xtask dist --target x86_64-pc-windows-gnu`: the release .exe files (cross-built), README, LICENSE and PowerShell completions in
/// `OUT/rk-VERSION-x86_64-pc-windows-gnu.zip`, and its line in `OUT/SHA256SUMS`.
pub fn package(out: &Path, with_test_helper: bool) -> Result<PathBuf, String> {
    use std::io::Write;
    let bin_dir = build("release", with_test_helper)?;
    // The completions come from this machine's build of the same sources (the command lines
    // have no platform-specific flags); after the Linux suite it is already built.
    let host_dir = package::build("dev")?;
    let stem = format!("rk-{}-{}", env!("CARGO_PKG_VERSION"), TARGET);
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
        let path = exe(&bin_dir, name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        add(format!("{name}.exe"), &bytes, true)?;
        add(
            format!("completions/{name}.ps1"),
            &package::generated(&host_dir.join(name), "complete-powershell")?,
            false,
        )?;
    }
    for doc in ["README.md", "LICENSE"] {
        let bytes = std::fs::read(workspace_root().join(doc)).map_err(|e| format!("{doc}: {e}"))?;
        add(doc.to_string(), &bytes, false)?;
    }
    zip.finish()
        .map_err(|e| format!("{}: {e}", archive.display()))?;
    package::record_checksum(&archive)?;
    println!("{}", archive.display());
    Ok(archive)
}

/// `cargo xtask windows …`
pub fn main(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("build") => {
            let profile = match args.get(1).map(String::as_str) {
                Some("--profile") => args.get(2).ok_or("--profile needs a value")?.as_str(),
                None => "release",
                Some(other) => return Err(format!("unknown option {other}\n{}", crate::USAGE)),
            };
            let dir = build(profile, false)?;
            println!("{}", dir.display());
            Ok(())
        }
        Some("test") => test(&args[1..]),
        _ => Err(crate::USAGE.into()),
    }
}

/// Builds and packages the release .exe files (what users get), then runs the Wine suite on
/// them: `cargo test -p rk-e2e --test windows -- --ignored`, few threads (Wine is fragile under
/// heavy parallel load).
pub fn test(extra: &[String]) -> Result<(), String> {
    peers::ensure(TEST_PEERS, false)?;
    let zip = package(&workspace_root().join("dist"), true)?;
    let bin = target_dir().join(TARGET).join("release");
    let started = std::time::Instant::now();
    // The suite appends a line here for each run Wine ended silently and that was tried again.
    let retries_log = workspace_root().join("target").join("wine-retries.log");
    let _ = std::fs::remove_file(&retries_log);
    let mut cmd = crate::cargo();
    cmd.args([
        "test",
        "--locked",
        "-p",
        "rk-e2e",
        "--test",
        "windows",
        "--test",
        "windows_connect",
        "--",
    ])
    .args(["--ignored", "--test-threads", "2"])
    .args(extra)
    .env("RK_WINDOWS_BIN", &bin)
    .env("RK_WINDOWS_ZIP", &zip);
    let result = run(&mut cmd, "the Windows suite under Wine");
    // The suite's wineservers (its prefixes are under target/) stop with it.
    for prefix in ["wine-prefix", "wine-prefix-desktop"] {
        let _ = Command::new("/usr/lib/wine/wineserver")
            .arg("-k")
            .env("WINEPREFIX", workspace_root().join("target").join(prefix))
            .stderr(std::process::Stdio::null())
            .status();
    }
    let retries = std::fs::read_to_string(&retries_log).map_or(0, |t| t.lines().count());
    eprintln!(
        "xtask: Windows suite took {:.0} s; {retries} run(s) tried again after Wine ended them silently",
        started.elapsed().as_secs_f64()
    );
    result
}

/// The .exe of a binary in a build directory.
pub fn exe(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.exe"))
}
