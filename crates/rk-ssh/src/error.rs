//! Everything that can stop a connection, as one enum: resolving the route, reaching each hop,
//! checking its host key, logging in, opening channels. Each variant carries what the user needs
//! to act, and its message names the next step. The binaries wrap it in their own error type and
//! print it once, from `main`.

use std::io;

/// The exit status of a tool whose connection failed: 255, as ssh (the remote command's status
/// is passed through unchanged, so 255 is the only code a tool claims for its connection).
pub const EXIT_CONNECTION: i32 = 255;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or its value cannot work as given; the message says which and why.
    #[error("{0}")]
    Usage(String),

    #[error(
        "no destination: give USER@HOST, or --from-log job.log, or save a job first with rk-parse-log --save job.log"
    )]
    NoDestination,

    #[error("cannot read {what}: {error}")]
    ReadLog { what: String, error: io::Error },

    #[error(
        "{what} has no SSH connection message yet: the cluster may still be starting \
         (wait for it: tail -f job.log | rk-parse-log --first)"
    )]
    NoConnectionMessage { what: String },

    /// The log has a connection message, but a part of it was refused (a private address, an
    /// invalid user, a bad port): which, where and why — not "wait for it".
    #[error("{what}: {rejection}")]
    MessageRefused {
        what: String,
        rejection: rk_core::joblog::Rejection,
    },

    /// A line of ~/.ssh/config (or -F FILE) that ssh would refuse too.
    #[error("{0} (ssh refuses this line too: fix it, or name another config with -F)")]
    Config(#[from] rk_core::ssh_config::ConfigError),

    /// Keys, known_hosts, destinations, terminals: rk-core's errors already say what to do.
    #[error(transparent)]
    Core(#[from] rk_core::Error),

    #[error(
        "connection refused by {host} (port {ports}): is the cluster running? the port is 32100 or 22 depending on the hardware; \
         if the job just started, retry with --wait 300"
    )]
    Refused { host: String, ports: String },

    #[error("cannot resolve {host}: {error}; check the address in the job log")]
    Resolve { host: String, error: io::Error },

    #[error(
        "cannot connect to {host} port {port}: {error}. Is your address inside the job's Access Restriction (CIDR)? Is the port 32100 or 22?"
    )]
    Unreachable {
        host: String,
        port: u16,
        error: io::Error,
    },

    #[error(
        "connection to {host} (port {ports}) timed out: is your IP inside the job's CIDR restriction (Access Restriction)? \
         is the port 32100 or 22? is the cluster still running?"
    )]
    TimedOut { host: String, ports: String },

    #[error(
        "{host}:{port} accepted the connection but did not answer as an SSH server within {secs} s: is this the cluster's SSH port (32100 or 22)?"
    )]
    NotSsh { host: String, port: u16, secs: u64 },

    #[error("SSH handshake with {host}:{port} failed: {error}")]
    Handshake {
        host: String,
        port: u16,
        error: Box<russh::Error>,
    },

    /// The host key check refused the server (changed, revoked, unknown without a terminal…);
    /// the message is the whole warning, composed where the key was checked.
    #[error("{0}")]
    HostKey(String),

    /// A jump host would not open the `direct-tcpip` channel to the next hop.
    #[error(
        "jump host {jump} refused the channel to {target_host}:{target_port}: {error}. Is {target_host} the node's name on the cluster network, and does it listen on port {target_port}?"
    )]
    JumpChannel {
        jump: String,
        target_host: String,
        target_port: u16,
        error: Box<russh::Error>,
    },

    /// The destination would not open a `direct-tcpip` channel a tool asked for (`-W`): the
    /// target, not a jump host, is what to check.
    #[error(
        "{via} refused the channel to {target_host}:{target_port}: {error}. Does {target_host} listen on port {target_port}, as seen from {via}?"
    )]
    DirectChannel {
        via: String,
        target_host: String,
        target_port: u16,
        error: Box<russh::Error>,
    },

    /// A hop behind a jump host failed; `via` names the jump host it was reached through.
    #[error("via jump host {via}: {error}")]
    Through { via: String, error: Box<Error> },

    #[error(
        "{problem}: a private key must be readable only by you. Fix it with: {fix} (or pass --allow-loose-key-permissions)"
    )]
    KeyPermissions { problem: String, fix: String },

    #[error(
        "{path} is a public key and no agent holds its private half: give the private key with -i \
         (the file without .pub), or load it into your agent (ssh-add)"
    )]
    PublicKeyGiven { path: String },

    #[error(
        "no usable key for {user}@{host}: make one with rk-keygen -b 4096, paste its public half (rk-copy-pubkey) into \
         Job Settings → SSH Public Key, and give it with -i if it is not in ~/.ssh"
    )]
    NoUsableKey { user: String, host: String },

    #[error("{}", permission_denied(self))]
    PermissionDenied {
        user: String,
        host: String,
        /// What the server said it accepts (`publickey`, `password`, …).
        allowed: Vec<String>,
        /// What was offered: key fingerprints and files, "password", "keyboard-interactive".
        tried: Vec<String>,
        /// The server takes a password or code, but nothing could be asked: why not (no
        /// terminal, batch mode), and the tool to run on a terminal instead.
        not_asked: Option<Box<NotAsked>>,
    },

    #[error("authentication with {host} failed: {error}")]
    AuthProtocol {
        host: String,
        error: Box<russh::Error>,
    },

    /// Opening or starting a channel failed ("cannot start a shell: …").
    #[error("cannot {what}: {error}")]
    Channel {
        what: &'static str,
        error: Box<russh::Error>,
    },
}

/// Why a password or code was not asked for, for [`Error::PermissionDenied`].
#[derive(Debug, Clone, Copy)]
pub struct NotAsked {
    /// The tool that should be run on a terminal ("rk-connect").
    pub tool: &'static str,
    /// "there is no terminal to ask", "--batch (BatchMode) forbids asking".
    pub why: &'static str,
}

impl Error {
    /// The process exit status for this error: always [`EXIT_CONNECTION`].
    pub fn exit_code(&self) -> i32 {
        EXIT_CONNECTION
    }

    /// Whether trying again later can help (the network or the server coming back), or it must
    /// stop (a changed host key, refused keys, a bad option). `--reconnect` goes by it.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Through { error, .. } => error.is_transient(),
            Error::Refused { .. }
            | Error::Resolve { .. }
            | Error::Unreachable { .. }
            | Error::TimedOut { .. }
            | Error::NotSsh { .. }
            | Error::Handshake { .. }
            | Error::JumpChannel { .. }
            | Error::AuthProtocol { .. } => true,
            _ => false,
        }
    }

    /// The error for a failure of the authentication exchange itself with `host`.
    pub(crate) fn protocol(host: &str) -> impl FnOnce(russh::Error) -> Error + '_ {
        move |error| Error::AuthProtocol {
            host: host.to_string(),
            error: error.into(),
        }
    }
}

fn permission_denied(error: &Error) -> String {
    let Error::PermissionDenied {
        user,
        host,
        allowed,
        tried,
        not_asked,
    } = error
    else {
        unreachable!("only PermissionDenied is displayed this way")
    };
    let allowed_list = if allowed.is_empty() {
        "none".to_string()
    } else {
        allowed.join(",")
    };
    let mut msg = format!(
        "Permission denied ({allowed_list}) for {user}@{host}: the server accepts {allowed_list}; tried: {}.",
        if tried.is_empty() {
            "nothing".to_string()
        } else {
            tried.join(", ")
        }
    );
    if let Some(NotAsked { tool, why }) = not_asked.as_deref() {
        msg.push_str(&format!(
            " It also takes a password or one-time code, but {why}: run {tool} on a terminal \
             without --batch (rk never reads passwords from the command line)."
        ));
    }
    if allowed.iter().any(|m| m == "publickey") {
        msg.push_str(&format!(
            " Is this key's public half pasted into Job Settings → SSH Public Key *before* the job was submitted? \
             Is {user} the job's user (uprod_…) from the job log?"
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_lists_what_the_server_allows_and_what_was_tried() {
        let e = Error::PermissionDenied {
            user: "uprod_x".into(),
            host: "3.80.3.168".into(),
            allowed: vec!["publickey".into(), "password".into()],
            tried: vec!["SHA256:abc (~/.ssh/id_rsa)".into(), "password".into()],
            not_asked: None,
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("Permission denied (publickey,password) for uprod_x@3.80.3.168"),
            "{msg}"
        );
        assert!(
            msg.contains("tried: SHA256:abc (~/.ssh/id_rsa), password."),
            "{msg}"
        );
        assert!(msg.contains("Job Settings → SSH Public Key"), "{msg}");
        assert_eq!(e.exit_code(), 255);
    }

    #[test]
    fn the_key_hint_only_when_the_server_takes_keys() {
        let msg = Error::PermissionDenied {
            user: "u".into(),
            host: "h".into(),
            allowed: vec!["keyboard-interactive".into()],
            tried: vec!["keyboard-interactive".into()],
            not_asked: Some(Box::new(NotAsked {
                tool: "rk-cp",
                why: "there is no terminal to ask",
            })),
        }
        .to_string();
        assert!(!msg.contains("SSH Public Key"), "{msg}");
        assert!(
            msg.contains("there is no terminal to ask: run rk-cp on a terminal"),
            "{msg}"
        );
    }

    #[test]
    fn what_trying_again_can_cure() {
        let host = || "3.80.3.168".to_string();
        assert!(
            Error::Refused {
                host: host(),
                ports: "22".into()
            }
            .is_transient()
        );
        assert!(
            Error::Through {
                via: "u@h:22".into(),
                error: Box::new(Error::TimedOut {
                    host: host(),
                    ports: "22".into()
                })
            }
            .is_transient()
        );
        assert!(!Error::HostKey("REMOTE HOST IDENTIFICATION HAS CHANGED".into()).is_transient());
        assert!(
            !Error::PermissionDenied {
                user: "u".into(),
                host: host(),
                allowed: vec!["publickey".into()],
                tried: vec![],
                not_asked: None,
            }
            .is_transient()
        );
    }
}
