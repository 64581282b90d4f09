//! The local SSH agent: its keys for authentication (tried before key files), and relaying a
//! forwarded agent channel (`-A`) to it byte for byte (the agent protocol is the agent's
//! business, not rk's).
//!
//! Where the agent lives is the platform seam. `unix.rs`: the socket in `SSH_AUTH_SOCK`.
//! `windows.rs`: the named pipe in `SSH_AUTH_SOCK` when set, else the Windows OpenSSH agent's
//! pipe `\\.\pipe\openssh-ssh-agent`, else Pageant (what the platform's guide has Windows users
//! run; russh's `pageant` transport speaks both of its protocols).

use russh::Channel;
use russh::client;
use russh::keys::agent::client::{AgentClient, AgentStream};

use crate::log::Log;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

/// A connection to the local agent, whichever kind it is.
pub(crate) type Stream = Box<dyn AgentStream + Send + Unpin>;

/// The local agent for authentication, and where it is (for `-v`); `Err` says why there is none.
pub(crate) async fn client() -> Result<(AgentClient<Stream>, String), String> {
    let (stream, place) = platform::connect().await?;
    Ok((AgentClient::connect(stream), place))
}

/// Describes the local agent `-A` would forward, or why there is none (checked before the
/// session asks for forwarding, so a user without an agent hears it at once).
pub async fn forwardable() -> Result<String, String> {
    platform::connect().await.map(|(_, place)| place)
}

/// Connects one forwarded agent channel to the local agent until either side closes.
pub(crate) async fn relay(channel: Channel<client::Msg>, log: Log) {
    match platform::connect().await {
        Ok((mut local, _)) => {
            let mut remote = channel.into_stream();
            let _ = tokio::io::copy_bidirectional(&mut remote, &mut local).await;
        }
        Err(e) => {
            log.warn(format!(
                "agent forwarding: cannot reach the local agent: {e}\r"
            ));
            let _ = channel.close().await;
        }
    }
}
