//! Questions for the person at the keyboard: a new host key (yes/no/once), a key's passphrase,
//! a password, the server's keyboard-interactive questions (one-time codes), a login name. The
//! library never touches the terminal itself: it asks through [`Prompt`], which the tools take
//! from here ([`Terminal`], or [`Askpass`] where the environment names an askpass program, as
//! with OpenSSH; [`for_user`] picks) and tests may implement otherwise. Batch mode (`--batch`,
//! ssh's `BatchMode yes`) answers nothing, so scripts fail at once instead of waiting for an
//! answer nobody will type.

mod askpass;

use std::io::IsTerminal;
use std::sync::Arc;

pub use askpass::Askpass;

use rk_core::term::{self, Passphrase};
use zeroize::Zeroizing;

/// What the user said about a host key seen for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyAnswer {
    /// Trust it and remember it in known_hosts.
    Remember,
    /// Trust it for this connection only.
    Once,
    Refuse,
}

/// A host key seen for the first time, as the question shows it.
#[derive(Debug)]
pub struct NewHostKey<'a> {
    /// `host` or `[host]:port`, as known_hosts names it.
    pub name: &'a str,
    /// "ED25519", "RSA"…
    pub kind: &'a str,
    /// `SHA256:…`
    pub fingerprint: &'a str,
    /// ssh-keygen's randomart picture, lines separated by `\n`.
    pub randomart: &'a str,
}

/// One question of a keyboard-interactive round.
#[derive(Debug)]
pub struct Question {
    /// The server's text, with control characters already removed.
    pub prompt: String,
    /// Whether the answer may be shown as it is typed.
    pub echo: bool,
}

/// How a tool asks the user. Every method is only called when [`Prompt::unavailable`] is None.
pub trait Prompt: Send + Sync {
    /// Why nothing may be asked (for messages: "…, and {why}"), or None when questions are fine.
    fn unavailable(&self) -> Option<&'static str>;
    /// A server's host key not in known_hosts.
    fn new_host_key(&self, key: &NewHostKey<'_>) -> HostKeyAnswer;
    /// A key file's passphrase (hidden). An error ends the run (e.g. the terminal went away).
    fn passphrase(&self, prompt: &str) -> Result<Passphrase, rk_core::Error>;
    /// A password (hidden); None when the terminal went away.
    fn password(&self, prompt: &str) -> Result<Zeroizing<String>, rk_core::Error>;
    /// The server's keyboard-interactive round: its name and instructions (may be empty), then
    /// one answer per question, in order.
    fn keyboard_interactive(
        &self,
        name: &str,
        instructions: &str,
        questions: &[Question],
    ) -> Result<Vec<Zeroizing<String>>, rk_core::Error>;
    /// A login name, as PuTTY's `login as:` (only where it makes sense to ask: a terminal on
    /// standard input); None: not asked.
    fn login_name(&self) -> Option<String>;
    /// A line for the person who answers ("Incorrect passphrase, try again.").
    fn tell(&self, line: &str);
}

/// The asker of a run: the askpass program where `SSH_ASKPASS` and its companions ask for it
/// (OpenSSH's rules, see [`askpass`]), else the terminal.
pub fn for_user(batch: bool) -> Arc<dyn Prompt> {
    match askpass::chosen(term::have_tty(), |name| std::env::var_os(name)) {
        Some(program) => Arc::new(Askpass { program, batch }),
        None => Arc::new(Terminal { batch }),
    }
}

/// Questions on the controlling terminal (`/dev/tty`, the console on Windows), never echoed
/// unless the server marks a field as visible; none at all in batch mode or without a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    /// `--batch` / `BatchMode yes`.
    pub batch: bool,
}

impl Terminal {
    fn line(prompt: &str) -> Result<Zeroizing<String>, rk_core::Error> {
        term::ask_tty(prompt)
            .map(Zeroizing::new)
            .ok_or_else(|| rk_core::Error::Usage("the terminal went away while asking".into()))
    }
}

impl Prompt for Terminal {
    fn unavailable(&self) -> Option<&'static str> {
        if self.batch {
            Some("--batch (BatchMode) forbids asking")
        } else if !term::have_tty() {
            Some("there is no terminal to ask")
        } else {
            None
        }
    }

    fn new_host_key(&self, key: &NewHostKey<'_>) -> HostKeyAnswer {
        let question = format!(
            "The authenticity of host '{}' can't be established.\r\n{} key fingerprint is {}.\r\n{}\r\n\
             Are you sure you want to continue connecting (yes/no/once)? ",
            key.name,
            key.kind,
            key.fingerprint,
            key.randomart.replace('\n', "\r\n")
        );
        let answer = term::ask_tty(&question).map(|a| a.to_ascii_lowercase());
        match answer.as_deref() {
            Some("yes" | "y") => HostKeyAnswer::Remember,
            Some("once") => HostKeyAnswer::Once,
            _ => HostKeyAnswer::Refuse,
        }
    }

    fn passphrase(&self, prompt: &str) -> Result<Passphrase, rk_core::Error> {
        term::secret(prompt)
    }

    fn password(&self, prompt: &str) -> Result<Zeroizing<String>, rk_core::Error> {
        let secret = term::secret(prompt)?;
        Ok(Zeroizing::new(secret.as_str().to_string()))
    }

    fn keyboard_interactive(
        &self,
        name: &str,
        instructions: &str,
        questions: &[Question],
    ) -> Result<Vec<Zeroizing<String>>, rk_core::Error> {
        // As OpenSSH: the server's name and instructions, then each prompt.
        for text in [name.trim(), instructions.trim()] {
            if !text.is_empty() {
                eprintln!("{text}");
            }
        }
        questions
            .iter()
            .map(|q| {
                if q.echo {
                    Terminal::line(&q.prompt)
                } else {
                    self.password(&q.prompt)
                }
            })
            .collect()
    }

    fn login_name(&self) -> Option<String> {
        if self.unavailable().is_some() || !std::io::stdin().is_terminal() {
            return None;
        }
        term::ask_tty("login as: ")
    }

    fn tell(&self, line: &str) {
        eprintln!("{line}");
    }
}
