//! What a person types to log in: a password, or the answers to the server's questions
//! (keyboard-interactive: PAM passwords, one-time codes, "Verification code:"). Asked on the
//! terminal, never echoed unless the server marks the field as visible, never read from the
//! command line; 3 tries, as OpenSSH's NumberOfPasswordPrompts.

use russh::client::{self, KeyboardInteractiveAuthResponse};
use zeroize::Zeroizing;

use rk_core::term;

use crate::Error;
use crate::auth::method_names;
use crate::handler::Connection;

const TRIES: usize = 3;

pub(crate) enum Attempt {
    Success,
    /// Every try failed; what the server still accepts.
    Refused {
        allowed: Vec<String>,
    },
}

/// The error for a failure of the authentication exchange itself with `host`.
pub(crate) fn protocol(host: &str) -> impl FnOnce(russh::Error) -> Error + '_ {
    move |error| Error::AuthProtocol {
        host: host.to_string(),
        error: error.into(),
    }
}

/// One answer typed on the terminal; hidden unless `echo`.
fn ask(prompt: &str, echo: bool) -> Result<Zeroizing<String>, Error> {
    if echo {
        return term::ask_tty(prompt)
            .map(Zeroizing::new)
            .ok_or_else(|| Error::Usage("the terminal went away while asking".into()));
    }
    let secret = term::secret(prompt)?;
    Ok(Zeroizing::new(secret.as_str().to_string()))
}

pub(crate) async fn password(
    handle: &mut Connection,
    user: &str,
    host: &str,
) -> Result<Attempt, Error> {
    let mut allowed = vec!["password".to_string()];
    for attempt in 0..TRIES {
        if attempt > 0 {
            eprintln!("Permission denied, please try again.");
        }
        let typed = ask(&format!("{user}@{host}'s password: "), false)?;
        let result = handle
            .authenticate_password(user, typed.as_str())
            .await
            .map_err(protocol(host))?;
        match result {
            client::AuthResult::Success => return Ok(Attempt::Success),
            client::AuthResult::Failure {
                remaining_methods, ..
            } => allowed = method_names(&remaining_methods),
        }
        if !allowed.iter().any(|m| m == "password") {
            break;
        }
    }
    Ok(Attempt::Refused { allowed })
}

pub(crate) async fn keyboard_interactive(
    handle: &mut Connection,
    user: &str,
    host: &str,
) -> Result<Attempt, Error> {
    let mut allowed = vec!["keyboard-interactive".to_string()];
    for attempt in 0..TRIES {
        if attempt > 0 {
            eprintln!("Permission denied, please try again.");
        }
        let mut reply = handle
            .authenticate_keyboard_interactive_start(user, None)
            .await
            .map_err(protocol(host))?;
        loop {
            match reply {
                KeyboardInteractiveAuthResponse::Success => return Ok(Attempt::Success),
                KeyboardInteractiveAuthResponse::Failure {
                    remaining_methods, ..
                } => {
                    allowed = method_names(&remaining_methods);
                    break;
                }
                KeyboardInteractiveAuthResponse::InfoRequest {
                    name,
                    instructions,
                    prompts,
                } => {
                    // As OpenSSH: the server's name and instructions, then each prompt.
                    for text in [name.trim(), instructions.trim()] {
                        if !text.is_empty() {
                            eprintln!("{}", printable(text));
                        }
                    }
                    let mut answers = Vec::with_capacity(prompts.len());
                    for p in &prompts {
                        let answer = ask(&printable(&p.prompt), p.echo)?;
                        answers.push(answer.as_str().to_string());
                    }
                    reply = handle
                        .authenticate_keyboard_interactive_respond(answers)
                        .await
                        .map_err(protocol(host))?;
                }
            }
        }
        if !allowed.iter().any(|m| m == "keyboard-interactive") {
            break;
        }
    }
    Ok(Attempt::Refused { allowed })
}

/// Server text with control characters removed, so a prompt cannot move the cursor or
/// rewrite the terminal (OpenSSH filters it the same way).
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_text_cannot_drive_the_terminal() {
        assert_eq!(
            super::printable("Verification code:\x1b[2J\x07 "),
            "Verification code:[2J "
        );
        assert_eq!(super::printable("line one\nline two"), "line one\nline two");
    }
}
