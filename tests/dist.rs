//! `cargo xtask dist`: the archive unpacks, its binaries run, its man pages render cleanly, its
//! checksums verify and its bash completions complete.

use std::process::Command;
use std::time::Duration;

use rk_e2e::*;

#[test]
fn dist_archive_is_complete_and_usable() {
    let out_dir = tempfile::tempdir().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The dev profile packages the binaries the tests already built (a release build is the
    // same code, only slower to compile).
    let dist = run_with_input(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "run",
                "--quiet",
                "--locked",
                "-p",
                "xtask",
                "--",
                "dist",
                "--profile",
                "dev",
                "--out",
            ])
            .arg(out_dir.path()),
        b"",
        Duration::from_secs(900),
    );
    dist.assert_ok("cargo xtask dist");
    let archive = std::path::PathBuf::from(dist.stdout_str().trim());
    assert!(archive.exists(), "{}", archive.display());

    // SHA256SUMS verifies with the standard tool.
    run(Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(out_dir.path()))
    .assert_ok("sha256sum -c");

    let unpack = out_dir.path().join("unpacked");
    std::fs::create_dir(&unpack).unwrap();
    run(Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpack))
    .assert_ok("tar xzf");
    let root = std::fs::read_dir(&unpack)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for doc in ["README.md", "LICENSE"] {
        assert!(root.join(doc).is_file(), "{doc}");
    }

    for name in BINARIES {
        let exe = root.join("bin").join(name);
        let version = run(Command::new(&exe).arg("--version"));
        version.assert_ok("--version");
        assert!(
            version.stdout_str().starts_with(&format!("{name} ")),
            "{}",
            version.stdout_str()
        );
        let help = run(Command::new(&exe).arg("--help"));
        help.assert_ok("--help");
        assert!(
            help.stdout_str().contains("Exit status:"),
            "{name} --help documents exit codes"
        );

        // The man page renders without a single groff warning, with EXAMPLES and EXIT STATUS.
        let page = root.join("man/man1").join(format!("{name}.1"));
        let groff = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&page)
            .env("LC_ALL", "C.UTF-8"));
        groff.assert_ok("groff");
        assert!(
            groff.stderr_str().is_empty(),
            "{name}.1: {}",
            groff.stderr_str()
        );
        let text = plain(&groff.stdout_str());
        for section in ["NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "EXIT STATUS"] {
            assert!(text.contains(section), "{name}.1 lacks {section}");
        }
        // Every long flag of --help is documented in the man page.
        for flag in help
            .stdout_str()
            .split_whitespace()
            .filter(|w| w.starts_with("--") && w.len() > 3)
        {
            let flag = flag
                .trim_end_matches([',', '.', ')'])
                .split('=')
                .next()
                .unwrap();
            if flag
                .chars()
                .skip(2)
                .all(|c| c.is_ascii_lowercase() || c == '-')
            {
                assert!(text.contains(flag), "{name}.1 does not mention {flag}");
            }
        }
        for ext in ["bash", "zsh", "fish", "ps1"] {
            assert!(
                root.join("completions")
                    .join(format!("{name}.{ext}"))
                    .is_file(),
                "{name}.{ext}"
            );
        }
    }

    // Bash completion, sourced in a real bash, completes an option.
    let script = format!(
        "source '{}'; fn=$(complete -p rk-keygen | sed -E 's/.*-F ([^ ]+).*/\\1/'); \
         COMP_WORDS=(rk-keygen --for); COMP_CWORD=1; COMP_LINE='rk-keygen --for'; COMP_POINT=${{#COMP_LINE}}; \
         $fn rk-keygen --for rk-keygen; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        root.join("completions/rk-keygen.bash").display()
    );
    let completed = run(Command::new("bash").arg("-c").arg(script));
    completed.assert_ok("bash completion");
    let words: Vec<String> = completed.stdout_str().lines().map(str::to_string).collect();
    assert!(
        words.contains(&"--force".to_string()) && words.contains(&"--format".to_string()),
        "{words:?}"
    );
}

/// Terminal output of groff without bold/underline (overstrikes and SGR escapes).
fn plain(s: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{8}' => {
                out.pop();
            }
            '\u{1b}' => {
                for n in chars.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.into_iter().collect()
}

#[test]
fn xtask_install_puts_binaries_man_pages_and_completions_under_the_prefix() {
    let home = tempfile::tempdir().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // As the README says, `cargo xtask install`, which installs where `cargo install` would:
    // CARGO_INSTALL_ROOT when set (a throwaway one here; else CARGO_HOME, else ~/.cargo), with
    // the dev profile the tests already built.
    let prefix = home.path().join("install-root");
    let out = run_with_input(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args(["xtask", "install", "--profile", "dev"])
            .env("CARGO_INSTALL_ROOT", &prefix),
        b"",
        Duration::from_secs(900),
    );
    out.assert_ok("cargo xtask install");
    assert!(
        out.stdout_str()
            .contains(&format!("installed rk into {}", prefix.display())),
        "{}",
        out.stdout_str()
    );
    for name in BINARIES {
        let exe = prefix.join("bin").join(name);
        run(Command::new(&exe).arg("--version")).assert_ok("installed --version");
        let page = prefix.join("share/man/man1").join(format!("{name}.1"));
        let man = run(Command::new("groff")
            .args(["-man", "-Tutf8", "-ww"])
            .arg(&page)
            .env("LC_ALL", "C.UTF-8"));
        man.assert_ok("groff on the installed man page");
        for completion in [
            format!("share/bash-completion/completions/{name}"),
            format!("share/zsh/site-functions/_{name}"),
            format!("share/fish/vendor_completions.d/{name}.fish"),
        ] {
            assert!(prefix.join(&completion).is_file(), "{completion}");
        }
    }
}
