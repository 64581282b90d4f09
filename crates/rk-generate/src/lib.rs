//! `BIN --generate WHAT`, hidden in every rk binary (as ripgrep's `rg --generate`): the
//! binary's man page or a shell's completions on stdout, made from the clap definition it
//! parses its own command line with, so they never drift from `--help`. Packaging
//! (`cargo xtask install`, `dist`) runs the built binaries for them, so it needs no second
//! build of the tools.

use std::io::Write;
use std::process::ExitCode;

use clap_complete::Shell;

/// The flag, the first argument when present.
pub const FLAG: &str = "--generate";

/// What `--generate` makes.
pub const KINDS: [&str; 5] = [
    "man",
    "complete-bash",
    "complete-zsh",
    "complete-fish",
    "complete-powershell",
];

/// When the command line is `BIN --generate KIND`, writes KIND to stdout and returns the exit
/// status (0, or 2 for an unknown KIND); otherwise None and the binary parses as usual.
pub fn answer(command: impl FnOnce() -> clap::Command) -> Option<ExitCode> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let [flag, kind] = args.as_slice() else {
        return None;
    };
    if flag != FLAG {
        return None;
    }
    let cmd = command();
    let kind = kind.to_string_lossy();
    match render(&cmd, &kind) {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return Some(ExitCode::from(2));
            }
            Some(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{}: {e}", cmd.get_name());
            Some(ExitCode::from(2))
        }
    }
}

/// KIND for `cmd`.
pub fn render(cmd: &clap::Command, kind: &str) -> Result<Vec<u8>, String> {
    let shell = match kind {
        "man" => return man_page(cmd),
        "complete-bash" => Shell::Bash,
        "complete-zsh" => Shell::Zsh,
        "complete-fish" => Shell::Fish,
        "complete-powershell" => Shell::PowerShell,
        other => {
            return Err(format!(
                "--generate {other}: expected one of {}",
                KINDS.join(", ")
            ));
        }
    };
    let mut out = Vec::new();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd.clone(), name, &mut out);
    Ok(out)
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
fn man_page(cmd: &clap::Command) -> Result<Vec<u8>, String> {
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
    out.extend(after_help_sections(&after));
    man.render_version_section(&mut out).map_err(io)?;
    Ok(out)
}

/// The after-help text as roff sections: a line ending in ':' (not indented) starts one.
fn after_help_sections(after: &str) -> Vec<u8> {
    let mut out = Vec::new();
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> clap::Command {
        clap::Command::new("rk-demo")
            .version("1.0")
            .about("A demo")
            .arg(
                clap::Arg::new("verbose")
                    .short('v')
                    .action(clap::ArgAction::SetTrue),
            )
            .after_help("Examples:\n  rk-demo -v   be loud\n\nExit status:\n  0  fine")
    }

    #[test]
    fn man_page_has_the_after_help_sections() {
        let page = String::from_utf8(render(&cmd(), "man").unwrap()).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains(".SH \"EXAMPLES\""), "{page}");
        assert!(page.contains("rk\\-demo \\-v   be loud"), "{page}");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    }

    #[test]
    fn completions_name_the_binary_and_unknown_kinds_are_refused() {
        let bash = String::from_utf8(render(&cmd(), "complete-bash").unwrap()).unwrap();
        assert!(bash.contains("-o default rk-demo"), "{bash}");
        let err = render(&cmd(), "complete-tcsh").unwrap_err();
        assert!(err.contains("expected one of man, complete-bash"), "{err}");
    }
}
