//! `rk-copy-pubkey`: the public key, normalised to one `authorized_keys` line, onto the
//! clipboard — and never a private key.
//!
//! On X11 and Wayland the clipboard is served by the process that set it, so a copy made by a
//! short-lived command vanishes when it exits. Like xclip and wl-copy, rk hands the text to a
//! detached copy of itself (its own session; the text through a pipe, never argv or the
//! environment) that serves the selection until another program takes it, then exits.

mod clipboard;

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use rk_core::keys::{self, KeyFile};
use rk_core::platform::terminal;
use rk_core::ssh_key::PublicKey;
use rk_core::term::{self, Passphrase};
use rk_core::{Error, Result};

const AFTER_HELP: &str = "\
Examples:
  rk-copy-pubkey                      copy ~/.ssh/id_rsa.pub (or id_ed25519.pub, id_ecdsa.pub)
  rk-copy-pubkey -f ~/.ssh/work.pub   copy a given key
  rk-copy-pubkey < key.pub            pbcopy-style, from standard input
  rk-copy-pubkey mykey.ppk            the public half of a PuTTY key (no passphrase needed)
  rk-copy-pubkey --list               the keys it can copy, with fingerprints
  rk-copy-pubkey --print              print the line instead of copying it

Then paste it into Job Settings -> SSH Public Key.

Accepted: OpenSSH public keys, RFC 4716 blocks (PuTTYgen's \"Save public key\"), PuTTY .ppk
files and private key files (their public half only). A private key is never copied or printed;
piped in on standard input it is refused.

Where the copy goes: the desktop clipboard (X11, Wayland, macOS, Windows); with no display
(e.g. inside SSH) or with --osc52, the terminal's clipboard through the OSC 52 escape sequence
(wrapped for tmux and screen).

Exit status:
  0  copied (or printed with --print)
  1  refused: not a key, a private key on standard input, no key found, or no clipboard
     reachable (the line is then printed so you can copy it by hand)
  2  I/O or internal error";

#[derive(Debug, Parser)]
#[command(
    name = "rk-copy-pubkey",
    version,
    about = "Copy your SSH public key to the clipboard, ready to paste into Job Settings",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Key file: .pub, RFC 4716, .ppk or a private key (its public half); '-' reads stdin
    #[arg(value_name = "FILE", conflicts_with = "file_flag")]
    pub file: Option<PathBuf>,

    /// Key file (same as the positional FILE, as in ssh-keygen)
    #[arg(short = 'f', value_name = "FILE")]
    pub file_flag: Option<PathBuf>,

    /// List the keys in ~/.ssh that rk-copy-pubkey would copy, with fingerprints
    #[arg(long)]
    pub list: bool,

    /// Print the normalised line on stdout instead of copying it
    #[arg(long, conflicts_with = "osc52")]
    pub print: bool,

    /// Copy through the terminal (OSC 52 escape), e.g. inside SSH or tmux
    #[arg(long)]
    pub osc52: bool,

    /// Passphrase of an encrypted private key, from the first line of FILE (only needed to
    /// read its comment)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Only errors on stderr
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Internal: serve the clipboard in the background (the detached holder)
    #[arg(long, hide = true)]
    pub hold_clipboard: bool,
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Default identities, in the order OpenSSH tries them (minus the ones rk cannot make).
const DEFAULT_KEYS: &[&str] = &["id_rsa", "id_ed25519", "id_ecdsa"];

pub fn run(cli: Cli) -> Result<()> {
    if cli.hold_clipboard {
        return clipboard::hold();
    }
    if cli.list {
        return list();
    }
    let (public, source) = load(&cli)?;
    let line = normalised_line(&public)?;

    if cli.print {
        print_line(&line)?;
        return Ok(());
    }
    let how = deliver(&line, cli.osc52)?;
    if !cli.quiet {
        let (verb, place) = match how {
            Delivered::Clipboard => ("Copied", ""),
            Delivered::Osc52 => ("Sent", " to your terminal's clipboard (OSC 52)"),
        };
        eprintln!(
            "{verb} {} ({}, {}) from {source}{place} — paste it into Job Settings → SSH Public Key.",
            abbreviated(&line),
            fingerprint::fingerprint(&public, FingerprintHash::Sha256),
            if public.comment().is_empty() {
                "no comment"
            } else {
                public.comment().as_str_lossy()
            },
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Which key

fn load(cli: &Cli) -> Result<(PublicKey, String)> {
    let explicit = cli.file.as_ref().or(cli.file_flag.as_ref());
    match explicit {
        Some(p) if p.as_os_str() == "-" => from_stdin()?.ok_or_else(|| {
            Error::Usage("standard input is empty: pipe a public key in, e.g. rk-copy-pubkey < ~/.ssh/id_rsa.pub".into())
        }),
        Some(p) => from_file(&rk_core::fs::expand_tilde(&p.to_string_lossy()), cli),
        // Piped in, pbcopy-style; nothing piped (stdin is /dev/null in a script): the default key.
        None if !io::stdin().is_terminal() => match from_stdin()? {
            Some(found) => Ok(found),
            None => default_key(cli),
        },
        None => default_key(cli),
    }
}

/// The key on standard input, or `None` if nothing was piped in.
fn from_stdin() -> Result<Option<(PublicKey, String)>> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(keys::MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", "standard input", e))?;
    let bytes = zeroize::Zeroizing::new(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let file = keys::parse_key(&bytes, Path::new("standard input"))?;
    if file.is_private() {
        // Whoever pipes a private key in almost surely meant the .pub: refuse, copy nothing.
        return Err(Error::Usage(format!(
            "standard input holds a PRIVATE key ({}); nothing was copied. Never paste a private key \
             anywhere. Copy the public key instead: rk-copy-pubkey -f ~/.ssh/id_rsa.pub (or give the \
             private key file with -f, and rk-copy-pubkey copies only its public half).",
            file.format_name()
        )));
    }
    Ok(Some((file.public_key(), "standard input".to_string())))
}

fn from_file(path: &Path, cli: &Cli) -> Result<(PublicKey, String)> {
    let file = keys::read_key_file(path)?;
    let mut public = file.public_key();
    if file.is_encrypted() && matches!(file, KeyFile::OpenSsh(_)) {
        // The comment of an encrypted OpenSSH key is inside the encrypted part: take it from the
        // .pub beside it, or unlock the key, or go without.
        if let Some(comment) = keys::sibling_comment(path, &public) {
            public.set_comment(comment);
        } else {
            let given = match &cli.passphrase_file {
                Some(f) => Some(term::passphrase_from_file(f)?),
                None => None,
            };
            if given.is_some() || term::have_terminal() {
                let (key, _): (_, Passphrase) =
                    term::unlock_key(&file, path, given, keys::MAX_KDF_ROUNDS, None)?;
                public = key.public_key().clone();
            } else if !cli.quiet {
                eprintln!(
                    "rk-copy-pubkey: {} is encrypted and no terminal is available: copying its public half without the comment.",
                    display_path(path)
                );
            }
        }
    }
    Ok((public, display_path(path)))
}

/// `~/.ssh/id_*.pub` that exist, else private keys without a `.pub`, in OpenSSH's order.
fn candidates() -> Result<Vec<PathBuf>> {
    let dir = rk_core::fs::ssh_dir()?;
    let mut found = Vec::new();
    for name in DEFAULT_KEYS {
        let private = dir.join(name);
        let public = keys::public_path(&private);
        if public.is_file() {
            found.push(public);
        } else if private.is_file() {
            found.push(private);
        }
    }
    Ok(found)
}

fn default_key(cli: &Cli) -> Result<(PublicKey, String)> {
    let found = candidates()?;
    let first = found.first().ok_or_else(|| {
        Error::Usage(format!(
            "no key found in {} (looked for id_rsa.pub, id_ed25519.pub, id_ecdsa.pub). Make one with: rk-keygen -b 4096",
            display_path(&rk_core::fs::ssh_dir().unwrap_or_default())
        ))
    })?;
    from_file(first, cli)
}

fn list() -> Result<()> {
    let found = candidates()?;
    if found.is_empty() {
        return Err(Error::Usage(
            "no keys in ~/.ssh: make one with rk-keygen -b 4096".into(),
        ));
    }
    let mut out = io::stdout().lock();
    for (i, path) in found.iter().enumerate() {
        let line = match keys::read_key_file(path) {
            Ok(file) => fingerprint::fingerprint_line(&file.public_key(), FingerprintHash::Sha256),
            Err(e) => format!("unreadable: {e}"),
        };
        let mark = if i == 0 { "  (default)" } else { "" };
        let _ = writeln!(out, "{:<24} {line}{mark}", display_path(path));
    }
    Ok(())
}

/// The one line to paste: `type base64 comment`, no newline, no control characters.
fn normalised_line(public: &PublicKey) -> Result<String> {
    let line = keys::public_line(public)?;
    Ok(line
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string())
}

/// `ssh-rsa AAAAB3NzaC1y…Kj8=`: enough to recognise, short enough for one line.
fn abbreviated(line: &str) -> String {
    let mut parts = line.split(' ');
    let kind = parts.next().unwrap_or_default();
    let b64 = parts.next().unwrap_or_default();
    if b64.len() <= 24 {
        return format!("{kind} {b64}");
    }
    format!("{kind} {}…{}", &b64[..12], &b64[b64.len() - 8..])
}

fn print_line(line: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::io("cannot write to", "standard output", e))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Where it goes

enum Delivered {
    Clipboard,
    Osc52,
}

fn deliver(line: &str, osc52: bool) -> Result<Delivered> {
    if osc52 {
        write_osc52(line)?;
        return Ok(Delivered::Osc52);
    }
    let clipboard_error = match clipboard::unreachable_reason() {
        None => match clipboard::set(line) {
            Ok(()) => return Ok(Delivered::Clipboard),
            Err(e) => e,
        },
        Some(reason) => reason.to_string(),
    };
    // No desktop clipboard: the terminal's, if there is a terminal to talk to.
    if let Ok(tty) = terminal::output() {
        write_osc52_to(tty, line).map_err(|e| Error::io("cannot write to", terminal::NAME, e))?;
        eprintln!(
            "rk-copy-pubkey: {clipboard_error}; using your terminal's clipboard (OSC 52) instead."
        );
        return Ok(Delivered::Osc52);
    }
    print_line(line)?;
    Err(Error::Usage(format!(
        "no clipboard reachable: {clipboard_error}, and no terminal for OSC 52. The key is printed \
         above: copy it from there, or run rk-copy-pubkey --print > key.txt."
    )))
}

/// The OSC 52 "set clipboard" sequence for this terminal (wrapped for tmux or screen).
pub fn osc52_sequence(text: &str, tmux: bool, screen: bool) -> Vec<u8> {
    use rk_core::ssh_key::encoding::base64::{Base64, Encoding};
    let b64 = Base64::encode_string(text.as_bytes());
    if tmux {
        // tmux passes a DCS through with every ESC doubled.
        format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\").into_bytes()
    } else if screen {
        // screen limits a DCS string, so the sequence goes through in 76-byte pieces.
        let mut out = String::from("\x1bP\x1b]52;c;");
        let pieces: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        out.push_str(&pieces.join("\x1b\\\x1bP"));
        out.push_str("\x07\x1b\\");
        out.into_bytes()
    } else {
        format!("\x1b]52;c;{b64}\x07").into_bytes()
    }
}

fn write_osc52_to(mut w: impl Write, line: &str) -> io::Result<()> {
    let tmux = std::env::var_os("TMUX").is_some_and(|v| !v.is_empty());
    let screen = std::env::var_os("STY").is_some_and(|v| !v.is_empty());
    w.write_all(&osc52_sequence(line, tmux, screen))?;
    w.flush()
}

/// `--osc52`: to the terminal, or to stdout when there is none (e.g. redirected for a test).
fn write_osc52(line: &str) -> Result<()> {
    match terminal::output() {
        Ok(tty) => {
            write_osc52_to(tty, line).map_err(|e| Error::io("cannot write to", terminal::NAME, e))
        }
        Err(_) => write_osc52_to(io::stdout().lock(), line)
            .map_err(|e| Error::io("cannot write to", "standard output", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_forms() {
        assert_eq!(osc52_sequence("hi", false, false), b"\x1b]52;c;aGk=\x07");
        assert_eq!(
            osc52_sequence("hi", true, false),
            b"\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
        );
        let long = "x".repeat(100);
        let screen = String::from_utf8(osc52_sequence(&long, false, true)).unwrap();
        assert!(screen.starts_with("\x1bP\x1b]52;c;"));
        assert!(screen.ends_with("\x07\x1b\\"));
        assert_eq!(screen.matches("\x1b\\\x1bP").count(), 1);
    }

    #[test]
    fn abbreviation_keeps_type_and_ends() {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAH0Gum5UT+0DwnNedugL/nCqvJTD0DwwP/7DE+NFH5 c";
        assert_eq!(abbreviated(line), "ssh-ed25519 AAAAC3NzaC1l…7DE+NFH5");
    }
}
