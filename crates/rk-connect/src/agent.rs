//! The local SSH agent: whether one is there, and relaying a forwarded agent channel (`-A`) to
//! it byte for byte (the agent protocol is the agent's business, not rk's).
//!
//! Where the agent lives is the platform seam: `SSH_AUTH_SOCK` (a Unix socket) on Unix; Pageant
//! and the OpenSSH agent's named pipe on Windows come with rk-connect.exe.

use russh::Channel;
use russh::client;

/// Describes the local agent to forward, or why there is none.
pub(crate) fn local_agent() -> Result<String, &'static str> {
    platform::address()
}

/// Connects one forwarded agent channel to the local agent until either side closes.
pub(crate) async fn relay(channel: Channel<client::Msg>) {
    match platform::connect().await {
        Ok(mut local) => {
            let mut remote = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut remote, &mut local).await;
        }
        Err(e) => {
            eprintln!("rk-connect: agent forwarding: cannot reach the local agent: {e}\r");
            let _ = channel.close().await;
        }
    }
}

#[cfg(unix)]
mod platform {
    pub(super) fn address() -> Result<String, &'static str> {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(p) if !p.is_empty() => Ok(p.to_string_lossy().into_owned()),
            _ => Err("SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add your key"),
        }
    }

    pub(super) async fn connect() -> std::io::Result<tokio::net::UnixStream> {
        let path = std::env::var_os("SSH_AUTH_SOCK").unwrap_or_default();
        tokio::net::UnixStream::connect(path).await
    }
}

#[cfg(windows)]
mod platform {
    pub(super) fn address() -> Result<String, &'static str> {
        Err("agent forwarding is not available on Windows yet")
    }

    pub(super) async fn connect() -> std::io::Result<tokio::io::DuplexStream> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "agent forwarding is not available on Windows yet",
        ))
    }
}
