//! Everything that can stop rk-connect, as one enum: the connection's errors (from `rk-ssh`),
//! and what happens once connected (forwards, the session). Each message names the next step.
//! [`Error::exit_code`] is the one place that maps an error to the process status; `run` in
//! lib.rs is the one place that prints it.

use std::io;

/// rk-connect's own failures end with 255, as ssh's do (the remote command's status is
/// passed through unchanged, so 255 is the only code rk-connect claims for itself).
pub const EXIT_RK_ERROR: i32 = rk_ssh::EXIT_CONNECTION;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reaching the cluster: the route, a hop, its host key, logging in, opening a channel.
    #[error(transparent)]
    Ssh(#[from] rk_ssh::Error),

    /// A flag or its value cannot work as given; the message says which and why.
    #[error("{0}")]
    Usage(String),

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
        EXIT_RK_ERROR
    }

    /// Whether reconnecting can help (`--reconnect`): the network or the server coming back.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Error::Ssh(e) => e.is_transient(),
            Error::ConnectionLost { .. } | Error::RemoteForwardRefused { .. } => true,
            _ => false,
        }
    }

    /// "cannot {what}: …" for a request on a session channel (a terminal, a shell, a command).
    pub(crate) fn channel(what: &'static str) -> impl FnOnce(russh::Error) -> Error {
        move |error| {
            Error::Ssh(rk_ssh::Error::Channel {
                what,
                error: error.into(),
            })
        }
    }
}

impl From<rk_core::Error> for Error {
    fn from(e: rk_core::Error) -> Error {
        Error::Ssh(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_reconnection_can_cure() {
        let lost = Error::ConnectionLost {
            host: "3.80.3.168".into(),
            during: "while forwarding",
        };
        assert!(lost.is_transient());
        let refused = Error::Ssh(rk_ssh::Error::Refused {
            host: "3.80.3.168".into(),
            ports: "22".into(),
        });
        assert!(refused.is_transient());
        let changed = Error::Ssh(rk_ssh::Error::HostKey("CHANGED".into()));
        assert!(!changed.is_transient());
        assert!(!Error::Usage("-L".into()).is_transient());
        assert_eq!(changed.exit_code(), 255);
    }
}
