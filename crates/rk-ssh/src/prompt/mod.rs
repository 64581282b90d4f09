//! Questions for the person at the keyboard: a new host key (yes/no/once), a key's passphrase,
//! a password, the server's keyboard-interactive questions (one-time codes), a login name. The
//! library never touches the terminal itself: it asks through [`Prompt`], which the tools take
//! from here ([`Terminal`], or [`Askpass`] where the environment names an askpass program, as
//! with OpenSSH; [`for_user`] picks) and tests may implement otherwise. Batch mode (`--batch`,
//! ssh's `BatchMode yes`) answers nothing, so scripts fail at once instead of waiting for an
//! answer nobody will type.

mod ask;
mod askpass;

use std::io::IsTerminal;
use std::sync::Arc;

pub use ask::{HostKeyAnswer, NewHostKey, Prompt, Question};
pub use askpass::Askpass;

use rk_core::term::{self, Passphrase};
use zeroize::Zeroizing;

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
        ask::show_round(name, instructions);
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
