//! What a prompt is asked and answers: the [`Prompt`] trait and the questions' types, apart
//! from the two askers (the terminal, an askpass program) so both can use them.

use rk_core::term::Passphrase;
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

/// A keyboard-interactive round's name and instructions, on stderr before its questions, as
/// OpenSSH shows them (empty ones left out).
pub(super) fn show_round(name: &str, instructions: &str) {
    for text in [name.trim(), instructions.trim()] {
        if !text.is_empty() {
            eprintln!("{text}");
        }
    }
}
