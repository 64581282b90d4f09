//! The logins of a run and the SFTP channels over them: one login by default (one password or
//! code typed), several with `--connections` where sshd's one process per login is the limit.
//! A [`Link`] also tells whether a login was lost, so that the files it interrupted are tried
//! again on a new link (`--reconnect`) rather than counted as failed.

use std::time::Duration;

use rk_ssh::{Connection, Connector, Log};

use super::sftp::Pool;
use crate::error::Error;

/// How long a broken SFTP channel may take to show as a closed connection (russh notices the
/// end of the TCP stream a moment after the channel does).
const LOSS_SHOWS_WITHIN: Duration = Duration::from_secs(2);

/// How many logins, and SFTP channels over them, a link has (`--connections`, `-n`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub(crate) logins: usize,
    pub(crate) channels: usize,
}

pub(crate) struct Link {
    connections: Vec<Connection>,
    pub(crate) pool: Pool,
}

impl Link {
    /// Logs in `shape.logins` times, one after the other (each may ask for a password or a code, and
    /// questions must not interleave on the terminal), and opens `shape.channels` SFTP channels
    /// over them.
    pub(crate) async fn open(
        connector: &Connector,
        shape: Shape,
        log: &Log,
    ) -> Result<Link, Error> {
        let mut connections = Vec::with_capacity(shape.logins);
        for _ in 0..shape.logins.max(1) {
            connections.push(connector.connect().await?);
        }
        let pool = Pool::open(&connections, shape.channels).await?;
        match connections.len() {
            1 => log.step(format!("{} SFTP channels open", pool.len())),
            n => log.step(format!("{} SFTP channels open over {n} logins", pool.len())),
        }
        Ok(Link { connections, pool })
    }

    /// The login that runs commands (`--verify`'s checksums).
    pub(crate) fn first(&self) -> &Connection {
        &self.connections[0]
    }

    /// Whether a login of this link is gone.
    pub(crate) fn lost(&self) -> bool {
        self.connections.iter().any(Connection::is_closed)
    }

    /// After a channel broke: whether that was the login going (waits a moment for it to show).
    pub(crate) async fn lost_after_break(&self) -> bool {
        let any_closed =
            futures_util::future::select_all(self.connections.iter().map(|c| Box::pin(c.closed())));
        tokio::time::timeout(LOSS_SHOWS_WITHIN, any_closed)
            .await
            .is_ok()
    }

    pub(crate) async fn disconnect(&self) {
        for connection in &self.connections {
            connection.disconnect().await;
        }
    }
}
