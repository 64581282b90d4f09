//! The russh client handler of one hop: the server's host key checked against known_hosts, and,
//! on the final hop with `-A`, the agent channels the server opens relayed to the local agent.

use russh::client::{self, Session};
use russh::{Channel, ChannelOpenFailure};

use crate::agent;
use crate::host_key::HostKeyCheck;
use crate::remote;

/// An authenticated (or authenticating) SSH connection to one hop.
pub(crate) type Connection = client::Handle<Client>;

pub(crate) struct Client {
    pub(crate) host_key: HostKeyCheck,
    /// `-A`: accept `auth-agent@openssh.com` channels. Off: the server cannot reach the agent
    /// even if it asks without our request.
    pub(crate) forward_agent: bool,
    /// `-R`: where connections on the forwarded ports go (the final hop only).
    pub(crate) remote_forwards: Option<remote::Table>,
    pub(crate) verbose: bool,
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
        if self.verbose {
            eprintln!("rk-connect: the connection ended: {reason:?}\r");
        }
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(e) => Err(e),
        }
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<client::Msg>,
        reply: client::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.forward_agent {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        reply.accept().await;
        tokio::spawn(agent::relay(channel));
        Ok(())
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: Channel<client::Msg>,
        _connected_address: &str,
        connected_port: u32,
        originator_address: &str,
        originator_port: u32,
        reply: client::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        match &self.remote_forwards {
            Some(table) => remote::accept(
                table,
                channel,
                connected_port,
                format!("{originator_address}:{originator_port}"),
                reply,
                self.verbose,
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
