//! What a person types to log in: a password, or the answers to the server's questions
//! (keyboard-interactive: PAM passwords, one-time codes, "Verification code:"). Asked on the
//! terminal, never echoed unless the server marks the field as visible, never read from the
//! command line; 3 tries, as OpenSSH's NumberOfPasswordPrompts.

use russh::client::{self, KeyboardInteractiveAuthResponse};

use super::login::{Login, method_names};
use crate::connect::handler::Handle;
use crate::error::Error;
use crate::prompt::Question;

const TRIES: usize = 3;

pub(super) enum Attempt {
    Success,
    /// Every try failed; what the server still accepts.
    Refused {
        allowed: Vec<String>,
    },
}

/// A plain password, asked as OpenSSH does (`user@host's password: `).
pub(super) async fn password(handle: &mut Handle, login: &Login<'_>) -> Result<Attempt, Error> {
    let (user, host) = (login.user, login.host);
    let mut allowed = vec!["password".to_string()];
    for attempt in 0..TRIES {
        if attempt > 0 {
            login.prompt.tell("Permission denied, please try again.");
        }
        let typed = login
            .prompt
            .password(&format!("{user}@{host}'s password: "))?;
        let result = handle
            .authenticate_password(user, typed.as_str())
            .await
            .map_err(Error::protocol(host))?;
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

/// The server's questions (PAM passwords, one-time codes), round after round.
pub(super) async fn keyboard_interactive(
    handle: &mut Handle,
    login: &Login<'_>,
) -> Result<Attempt, Error> {
    let (user, host) = (login.user, login.host);
    let mut allowed = vec!["keyboard-interactive".to_string()];
    for attempt in 0..TRIES {
        if attempt > 0 {
            login.prompt.tell("Permission denied, please try again.");
        }
        let mut reply = handle
            .authenticate_keyboard_interactive_start(user, None)
            .await
            .map_err(Error::protocol(host))?;
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
                    let questions: Vec<Question> = prompts
                        .iter()
                        .map(|p| Question {
                            prompt: printable(&p.prompt),
                            echo: p.echo,
                        })
                        .collect();
                    let answers = login.prompt.keyboard_interactive(
                        &printable(&name),
                        &printable(&instructions),
                        &questions,
                    )?;
                    let answers = answers.iter().map(|a| a.as_str().to_string()).collect();
                    reply = handle
                        .authenticate_keyboard_interactive_respond(answers)
                        .await
                        .map_err(Error::protocol(host))?;
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
