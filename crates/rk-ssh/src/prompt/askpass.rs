//! Questions through an askpass program, as OpenSSH asks them when it has no terminal: the
//! program named by `SSH_ASKPASS` is run with the question as its one argument and its first
//! line of output is the answer. Graphical tools that run ssh for the user rely on this: VS Code
//! Remote-SSH sets `SSH_ASKPASS` to show ssh's questions in its own window (its maintainers say
//! so in microsoft/vscode-remote-release#4747), and desktop keyrings answer through it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rk_core::term::Passphrase;
use zeroize::Zeroizing;

use super::ask::{HostKeyAnswer, NewHostKey, Prompt, Question};

/// Whether the environment asks for the askpass program instead of the terminal, by OpenSSH's
/// rules (ssh(1), ENVIRONMENT): `SSH_ASKPASS` names the program; `SSH_ASKPASS_REQUIRE=never`
/// never uses it, `force` always does, `prefer` does when `DISPLAY` is set, and unset it is used
/// only when there is no terminal and `DISPLAY` is set.
pub(crate) fn chosen(have_tty: bool, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    let program = PathBuf::from(set("SSH_ASKPASS")?);
    let display = set("DISPLAY").is_some();
    let require = set("SSH_ASKPASS_REQUIRE").map(|v| v.to_string_lossy().to_ascii_lowercase());
    let wanted = match require.as_deref() {
        Some("never") => false,
        Some("force") => true,
        Some("prefer") => display,
        _ => display && !have_tty,
    };
    wanted.then_some(program)
}

/// The askpass program as the asker of a run.
#[derive(Debug, Clone)]
pub struct Askpass {
    pub(crate) program: PathBuf,
    /// `--batch` / `BatchMode yes`: nothing is asked, askpass or not.
    pub(crate) batch: bool,
}

impl Askpass {
    /// Runs the program with `question` and returns the first line it printed. A program that
    /// cannot start or exits non-zero (its Cancel button) ends the question with an error.
    fn ask(&self, question: &str) -> Result<Zeroizing<String>, rk_core::Error> {
        let shown = self.program.display();
        let output = Command::new(&self.program)
            .arg(question)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| {
                rk_core::Error::Usage(format!(
                    "could not run the askpass program {shown} (SSH_ASKPASS): {e}. Fix \
                     SSH_ASKPASS, or unset it to be asked on the terminal."
                ))
            })?;
        let stdout = Zeroizing::new(output.stdout);
        if !output.status.success() {
            return Err(rk_core::Error::Usage(format!(
                "the askpass program {shown} (SSH_ASKPASS) gave no answer ({}): the question \
                 was cancelled.",
                output.status
            )));
        }
        // Read in place: a lossy conversion would leave an unwiped copy of the answer.
        let text = std::str::from_utf8(&stdout).map_err(|_| {
            rk_core::Error::Usage(format!(
                "the askpass program {shown} (SSH_ASKPASS) answered with bytes that are not \
                 UTF-8 text."
            ))
        })?;
        let line = text.split(['\r', '\n']).next().unwrap_or_default();
        Ok(Zeroizing::new(line.to_string()))
    }
}

impl Prompt for Askpass {
    fn unavailable(&self) -> Option<&'static str> {
        self.batch.then_some("--batch (BatchMode) forbids asking")
    }

    fn new_host_key(&self, key: &NewHostKey<'_>) -> HostKeyAnswer {
        // OpenSSH's words, which askpass front ends recognise as the host-key question.
        let question = format!(
            "The authenticity of host '{}' can't be established.\n{} key fingerprint is {}.\n\
             Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
            key.name, key.kind, key.fingerprint
        );
        match self.ask(&question) {
            Ok(answer) => {
                let answer = answer.trim();
                if answer.eq_ignore_ascii_case("yes") || answer == key.fingerprint {
                    HostKeyAnswer::Remember
                } else if answer.eq_ignore_ascii_case("once") {
                    HostKeyAnswer::Once
                } else {
                    HostKeyAnswer::Refuse
                }
            }
            Err(why) => {
                eprintln!("{why}");
                HostKeyAnswer::Refuse
            }
        }
    }

    fn passphrase(&self, prompt: &str) -> Result<Passphrase, rk_core::Error> {
        self.ask(prompt).map(Passphrase::from)
    }

    fn password(&self, prompt: &str) -> Result<Zeroizing<String>, rk_core::Error> {
        self.ask(prompt)
    }

    fn keyboard_interactive(
        &self,
        name: &str,
        instructions: &str,
        questions: &[Question],
    ) -> Result<Vec<Zeroizing<String>>, rk_core::Error> {
        // The name and instructions on stderr, each question through the program.
        super::ask::show_round(name, instructions);
        questions.iter().map(|q| self.ask(&q.prompt)).collect()
    }

    fn login_name(&self) -> Option<String> {
        None
    }

    fn tell(&self, line: &str) {
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::chosen;
    use std::ffi::OsString;
    use std::path::PathBuf;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn openssh_rules_for_choosing_askpass() {
        let program = Some(PathBuf::from("/a/askpass"));
        let base = [("SSH_ASKPASS", "/a/askpass"), ("DISPLAY", ":0")];
        // Unset SSH_ASKPASS_REQUIRE: only without a terminal, and only with DISPLAY.
        assert_eq!(chosen(false, with(&base)), program);
        assert_eq!(chosen(true, with(&base)), None);
        assert_eq!(chosen(false, with(&base[..1])), None);
        // prefer: even with a terminal, but DISPLAY is still needed.
        let prefer = [base[0], base[1], ("SSH_ASKPASS_REQUIRE", "prefer")];
        assert_eq!(chosen(true, with(&prefer)), program);
        assert_eq!(chosen(true, with(&[base[0], prefer[2]])), None);
        // force: always; never: never.
        let force = [base[0], ("SSH_ASKPASS_REQUIRE", "force")];
        assert_eq!(chosen(true, with(&force)), program);
        let never = [base[0], base[1], ("SSH_ASKPASS_REQUIRE", "never")];
        assert_eq!(chosen(false, with(&never)), None);
        // No program, or an empty one: the terminal.
        assert_eq!(chosen(false, with(&[base[1]])), None);
        assert_eq!(chosen(false, with(&[("SSH_ASKPASS", ""), base[1]])), None);
    }
}
