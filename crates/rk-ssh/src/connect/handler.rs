//! The russh client handler of one hop: the server's host key checked against known_hosts; on
//! the final hop, agent channels relayed to the local agent (`-A`) and `forwarded-tcpip`
//! channels handed to the tool ([`ForwardedTcpip`]), which alone knows what its `-R` forwards are.

use std::sync::Arc;

use russh::client::{self, ChannelOpenHandle, Session};
use russh::{Channel, ChannelOpenFailure};

use super::host_key::HostKeyCheck;
use crate::{agent, log::Log};

/// An authenticated (or authenticating) SSH connection to one hop.
pub type Handle = client::Handle<Client>;

/// Where the destination's `forwarded-tcpip` channels go: one call per connection the server
/// accepted on a port it forwards, on the connection's task (so: decide, then spawn).
pub trait ForwardedTcpip: Send + Sync {
    /// `reply` must be accepted or rejected; `originator` is the remote client's `host:port`.
    fn open(
        &self,
        channel: Channel<client::Msg>,
        connected_port: u32,
        originator: String,
        reply: ChannelOpenHandle,
    );
}

/// rk's russh handler (its fields are the library's business).
pub struct Client {
    pub(super) host_key: HostKeyCheck,
    /// `-A`: accept `auth-agent@openssh.com` channels. Off: the server cannot reach the agent
    /// even if it asks without our request.
    pub(super) forward_agent: bool,
    /// `-R`: the final hop only.
    pub(super) forwarded_tcpip: Option<Arc<dyn ForwardedTcpip>>,
    pub(super) log: Log,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(self.host_key.check(server_public_key))
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        // -v: why the connection ended (the error shown without -v is the generic one).
        if self.log.verbose {
            let why = match &reason {
                client::DisconnectReason::ReceivedDisconnect(info) => {
                    format!("the server closed it ({info:?})")
                }
                client::DisconnectReason::Error(e) => e.to_string(),
            };
            self.log.step(format!("the connection ended: {why}\r"));
        }
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(e) => Err(e),
        }
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<client::Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.forward_agent {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        reply.accept().await;
        tokio::spawn(agent::relay(channel, self.log));
        Ok(())
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: Channel<client::Msg>,
        _connected_address: &str,
        connected_port: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        match &self.forwarded_tcpip {
            Some(to) => to.open(
                channel,
                connected_port,
                format!("{originator_address}:{originator_port}"),
                reply,
            ),
            None => {
                reply
                    .reject(ChannelOpenFailure::AdministrativelyProhibited)
                    .await
            }
        }
        Ok(())
    }
}
