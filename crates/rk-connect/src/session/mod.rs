//! What runs once connected: the shell or a command ([`shell`], with its escapes in
//! [`escape`]), standard input and output joined to a connection (`-W`, [`stdio`]), or only
//! the forwards (`-N`, here), kept up across reconnections with `--reconnect` ([`reconnect`]).

pub(crate) mod escape;
mod input;
pub(crate) mod reconnect;
pub(crate) mod shell;
pub(crate) mod stdio;
mod wait;

use rk_ssh::Connection;

use crate::error::Error;

/// `-N`: keep the forwards until Ctrl-C (exit 0) or until the connection is gone (255).
pub(crate) async fn forwards_only(connection: &Connection, host: &str) -> Result<i32, Error> {
    match wait::Stop::new().or(connection.closed()).await {
        None => Ok(0),
        Some(()) => Err(Error::ConnectionLost {
            host: host.to_string(),
            during: "while forwarding; forwards closed",
        }),
    }
}
