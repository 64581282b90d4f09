//! Everything that can stop rk-connect, as one enum. Each variant carries what the user needs to
//! act, and its message names the next step. [`Error::exit_code`] is the one place that maps an
//! error to the process status; `run` in lib.rs is the one place that prints it.

use std::io;

/// rk-connect's own failures end with 255, as ssh's do (the remote command's status is
/// passed through unchanged, so 255 is the only code rk-connect claims for itself).
pub const EXIT_RK_ERROR: i32 = 255;

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

    #[error("{}", permission_denied(user, host, allowed, tried, *no_terminal))]
    PermissionDenied {
        user: String,
        host: String,
        /// What the server said it accepts (`publickey`, `password`, …).
        allowed: Vec<String>,
        /// What was offered: key fingerprints and files, "password", "keyboard-interactive".
        tried: Vec<String>,
        /// The server takes a password or code, but there was no terminal to ask on.
        no_terminal: bool,
    },

    #[error("authentication with {host} failed: {error}")]
    AuthProtocol {
        host: String,
        error: Box<russh::Error>,
    },

    #[error(
        "the cluster refused the remote forward -R {spec} ({error}): is port {port} free there, and does its sshd allow forwarding (AllowTcpForwarding)?"
    )]
    RemoteForwardRefused {
        spec: String,
        port: u16,
        error: Box<russh::Error>,
    },

    #[error(
        "local port {port} is already in use on {addr}: pick another (-L 0:… picks a free one)"
    )]
    PortInUse { addr: String, port: u16 },

    #[error("cannot listen on {addr} port {port}: {error}")]
    Listen {
        addr: String,
        port: u16,
        error: io::Error,
    },

    /// Opening or starting the session channel failed ("cannot start a shell: …").
    #[error("cannot {what}: {error}")]
    Channel {
        what: &'static str,
        error: Box<russh::Error>,
    },

    #[error(
        "the connection to {host} was lost {during} (the cluster stopped, the network dropped, or no answer to keepalives)"
    )]
    ConnectionLost { host: String, during: &'static str },

    /// `~.` typed in the session.
    #[error("connection to {host} closed (~.)")]
    EscapeDisconnect { host: String },

    /// SIGTERM or SIGHUP while the session ran.
    #[error("{0}")]
    Signal(&'static str),

    #[error("cannot start: {0}")]
    Runtime(io::Error),
}

impl Error {
    /// The process exit status for this error: 255 for all of rk-connect's own errors, as ssh
    /// (scripts tell "the remote command failed" from "rk-connect could not run it" by it).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Through { error, .. } => error.exit_code(),
            Error::Usage(_)
            | Error::NoDestination
            | Error::ReadLog { .. }
            | Error::NoConnectionMessage { .. }
            | Error::MessageRefused { .. }
            | Error::Core(_)
            | Error::Config(_)
            | Error::Refused { .. }
            | Error::Resolve { .. }
            | Error::Unreachable { .. }
            | Error::TimedOut { .. }
            | Error::NotSsh { .. }
            | Error::Handshake { .. }
            | Error::HostKey(_)
            | Error::JumpChannel { .. }
            | Error::KeyPermissions { .. }
            | Error::PublicKeyGiven { .. }
            | Error::NoUsableKey { .. }
            | Error::PermissionDenied { .. }
            | Error::AuthProtocol { .. }
            | Error::PortInUse { .. }
            | Error::RemoteForwardRefused { .. }
            | Error::Listen { .. }
            | Error::Channel { .. }
            | Error::ConnectionLost { .. }
            | Error::EscapeDisconnect { .. }
            | Error::Signal(_)
            | Error::Runtime(_) => EXIT_RK_ERROR,
        }
    }
}

fn permission_denied(
    user: &str,
    host: &str,
    allowed: &[String],
    tried: &[String],
    no_terminal: bool,
) -> String {
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
    if no_terminal {
        msg.push_str(&format!(
            " It also takes a password or one-time code, but {}: run rk-connect on a terminal \
                 without --batch (rk never reads passwords from the command line).",
            crate::ask::why_not()
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
            no_terminal: false,
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
            no_terminal: true,
        }
        .to_string();
        assert!(!msg.contains("SSH Public Key"), "{msg}");
        assert!(
            msg.contains("there is no terminal to ask: run rk-connect on a terminal"),
            "{msg}"
        );
    }
}
