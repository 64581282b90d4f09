//! What a tool does with a connection once it is up: open session channels (shell, command,
//! subsystem such as `sftp`) and `direct-tcpip` channels, see it close, and close it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use russh::{Channel, ChannelMsg, client};

use super::handler::Handle;
use crate::error::Error;

/// An authenticated connection to the destination, and the jump connections it runs over
/// (kept open for as long as it lives).
pub struct Connection {
    destination: Arc<Handle>,
    jumps: Vec<Handle>,
    /// `user@host:port` of the destination, for messages.
    label: String,
}

/// Opens a `direct-tcpip` channel on `handle` to `host:port` as reached from that server;
/// `from` is the local client it carries, if any (sshd logs it). The one place rk opens them:
/// jump hops, `-L`, `-D`, `-W`.
pub async fn direct_tcpip(
    handle: &Handle,
    host: &str,
    port: u16,
    from: Option<SocketAddr>,
) -> Result<Channel<client::Msg>, russh::Error> {
    let (origin, origin_port) = match from {
        Some(peer) => (peer.ip().to_string(), u32::from(peer.port())),
        None => ("127.0.0.1".to_string(), 0),
    };
    handle
        .channel_open_direct_tcpip(host, u32::from(port), origin, origin_port)
        .await
}

impl Connection {
    pub(super) fn new(destination: Handle, jumps: Vec<Handle>, label: String) -> Connection {
        Connection {
            destination: Arc::new(destination),
            jumps,
            label,
        }
    }

    /// The russh handle of the destination, for what this API does not wrap (`-R` requests,
    /// tunnels that outlive one connection).
    pub fn handle(&self) -> &Arc<Handle> {
        &self.destination
    }

    /// `user@host:port` of the destination.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A session channel, for a shell or a command that the tool then starts.
    pub async fn open_session(&self) -> Result<Channel<client::Msg>, Error> {
        self.destination
            .channel_open_session()
            .await
            .map_err(|error| Error::Channel {
                what: "open a session",
                error: error.into(),
            })
    }

    /// A session channel running `command` (through the user's shell on the server).
    pub async fn open_exec(&self, command: &str) -> Result<Channel<client::Msg>, Error> {
        let channel = self.open_session().await?;
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|error| Error::Channel {
                what: "run the command",
                error: error.into(),
            })?;
        Ok(channel)
    }

    /// A session channel running subsystem `name` (e.g. `sftp`), once the server agreed.
    pub async fn open_subsystem(&self, name: &str) -> Result<Channel<client::Msg>, Error> {
        let mut channel = self.open_session().await?;
        let refused = |error: russh::Error| Error::Channel {
            what: "start the subsystem",
            error: error.into(),
        };
        channel
            .request_subsystem(true, name)
            .await
            .map_err(refused)?;
        loop {
            match channel.wait().await {
                Some(ChannelMsg::Success) => return Ok(channel),
                Some(ChannelMsg::Failure) => {
                    return Err(refused(russh::Error::RequestDenied));
                }
                Some(ChannelMsg::Close | ChannelMsg::Eof) | None => {
                    return Err(refused(russh::Error::Disconnect));
                }
                Some(_) => {}
            }
        }
    }

    /// A `direct-tcpip` channel to `host:port` as reached from the destination (`-W`).
    pub async fn open_direct_tcpip(
        &self,
        host: &str,
        port: u16,
        from: Option<SocketAddr>,
    ) -> Result<Channel<client::Msg>, Error> {
        direct_tcpip(&self.destination, host, port, from)
            .await
            .map_err(|error| Error::DirectChannel {
                via: self.label.clone(),
                target_host: host.to_string(),
                target_port: port,
                error: error.into(),
            })
    }

    pub fn is_closed(&self) -> bool {
        self.destination.is_closed()
    }

    /// Resolves once the connection is gone (closed by the server, lost, keepalives unanswered).
    pub async fn closed(&self) {
        // russh's handle has no "closed" future; its state is cheap to look at.
        while !self.destination.is_closed() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Says goodbye to the destination, then to each jump host, last first.
    pub async fn disconnect(&self) {
        let _ = self
            .destination
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
        for jump in self.jumps.iter().rev() {
            let _ = jump
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}
