//! Talking to the user on the terminal (shared by the rk tools): file names, y/n, and passphrases (never echoed,
//! zeroized after use).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use crate::platform::terminal;
use crate::{Error, Result};
use zeroize::Zeroizing;

/// A passphrase, wiped from memory when dropped.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn empty() -> Self {
        Passphrase(Zeroizing::new(String::new()))
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Zeroizing<String>> for Passphrase {
    fn from(s: Zeroizing<String>) -> Self {
        Passphrase(s)
    }
}

impl From<&str> for Passphrase {
    fn from(s: &str) -> Self {
        Passphrase(Zeroizing::new(s.to_string()))
    }
}

/// Whether the user is at a terminal we may ask questions on.
pub fn have_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks a question on stdout and reads one line from stdin (without its newline).
pub fn line(prompt: &str) -> Result<String> {
    let mut out = std::io::stdout().lock();
    out.write_all(prompt.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Terminal)?;
    drop(out);
    let mut answer = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(Error::Terminal)?;
    if n == 0 {
        // End of input (Ctrl-D): treat as "no answer" so callers decline safely.
        println!();
    }
    Ok(answer.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a secret from the terminal with echo off.
pub fn secret(prompt: &str) -> Result<Passphrase> {
    rpassword::prompt_password(prompt)
        .map(|s| Passphrase(Zeroizing::new(s)))
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::Interrupted {
                Error::Interrupted
            } else {
                Error::Terminal(e)
            }
        })
}

/// Unlocks a key file: with `given` (from -P or a file) if there is one, else by asking on the
/// terminal naming the key, or with `prompt` (3 tries). Returns the key and the passphrase that opened it (empty
/// if the key was not encrypted).
pub fn unlock_key(
    file: &crate::keys::KeyFile,
    path: &Path,
    given: Option<Passphrase>,
    max_kdf_rounds: u32,
    prompt: Option<&str>,
) -> Result<(ssh_key::PrivateKey, Passphrase)> {
    let decrypt = |p: Passphrase| {
        let bytes = file.is_encrypted().then(|| p.as_bytes());
        file.decrypt_with_limit(path, bytes, max_kdf_rounds)
            .map(|k| (k, p))
    };
    if !file.is_encrypted() {
        return decrypt(Passphrase::empty());
    }
    if let Some(p) = given {
        return decrypt(p);
    }
    if !have_terminal() {
        return Err(Error::PassphraseNeeded {
            path: path.to_path_buf(),
        });
    }
    let prompt = match prompt {
        Some(p) => p.to_string(),
        None => format!("Enter passphrase for \"{}\": ", path.display()),
    };
    let mut last = None;
    for _ in 0..3 {
        match decrypt(secret(&prompt)?) {
            Err(e @ Error::WrongPassphrase { .. }) => {
                eprintln!("Incorrect passphrase, try again.");
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or(Error::WrongPassphrase {
        path: path.to_path_buf(),
    }))
}

/// Asks for a new passphrase twice; on a mismatch says so and asks again (3 rounds).
pub fn new_passphrase_twice(first: &str, again: &str) -> Result<Passphrase> {
    for _ in 0..3 {
        let one = secret(first)?;
        let two = secret(again)?;
        if one.as_bytes() == two.as_bytes() {
            return Ok(one);
        }
        eprintln!("Passphrases do not match.  Try again.");
    }
    Err(Error::PassphraseMismatch)
}

/// The first line of a file (trailing CR/LF removed), as puttygen and ssh tooling do.
pub fn passphrase_from_file(path: &Path) -> Result<Passphrase> {
    let bytes = Zeroizing::new(
        crate::fs::read_limited(path, 64 * 1024).map_err(|e| match e {
            Error::NotAKey { path, .. } => Error::Usage(format!(
                "{}: too large for a passphrase file",
                path.display()
            )),
            other => other,
        })?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Usage(format!(
            "{}: the passphrase file is not UTF-8 text",
            path.display()
        ))
    })?;
    let first = text
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    Ok(Passphrase::from(first))
}

/// Asks a question on the controlling terminal (`/dev/tty`, the Windows console), so piped
/// stdin is left alone. `None` when there is no terminal.
pub fn ask_tty(prompt: &str) -> Option<String> {
    let input = terminal::input().ok()?;
    let mut output = terminal::output().ok()?;
    output.write_all(prompt.as_bytes()).ok()?;
    output.flush().ok()?;
    let mut answer = String::new();
    std::io::BufReader::new(input).read_line(&mut answer).ok()?;
    Some(answer.trim().to_string())
}

/// Whether a controlling terminal can be opened for questions.
pub fn have_tty() -> bool {
    terminal::input().is_ok()
}
