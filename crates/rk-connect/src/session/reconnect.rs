//! `--reconnect` for `-N`: the tunnel outlives the network. The local listeners stay bound;
//! when the connection is lost (keepalive timeout, reset, the server restarting) rk-connect
//! reconnects with a capped backoff, shown on stderr with times, checking every host key again
//! — a changed key stops it, loudly — and asks for the `-R` forwards again. Connections made
//! while the link is down wait for it (bounded, [`crate::forward::link::WAIT_FOR_LINK`]) or are
//! closed. Ctrl-C stops it at any time.
//!
//! Only for `-N`: a shell or command cannot be resumed on a new connection (its processes on the
//! cluster belong to the old one), so rk-connect does not pretend to.

use rk_ssh::reconnect::{Backoff, clock};
use rk_ssh::{Connection, Connector};
use std::sync::Arc;
use tokio::sync::watch;

use super::wait::Stop;
use crate::error::Error;
use crate::forward::remote::{self, Table};
use crate::forward::spec::{LocalForward, Spec};

/// The `-R` forwards to ask for again on each new connection, and where they are recorded.
pub(crate) struct RemoteForwards<'a> {
    pub(crate) forwards: &'a [Spec<LocalForward>],
    pub(crate) table: &'a Table,
}

/// Keeps the forwards up until Ctrl-C (exit 0) or an error reconnecting cannot cure.
pub(crate) async fn supervise(
    mut connection: Connection,
    connector: &Connector,
    link: watch::Sender<Option<Arc<rk_ssh::Handle>>>,
    remote: RemoteForwards<'_>,
    host: &str,
    log: &rk_ssh::Log,
) -> Result<i32, Error> {
    let mut stop = Stop::new();
    loop {
        // Up: wait for the connection to go, or for the user to stop.
        if stop.or(connection.closed()).await.is_none() {
            connection.disconnect().await;
            return Ok(0);
        }
        let _ = link.send(None);
        eprintln!(
            "rk-connect [{}] the connection to {host} was lost; reconnecting (Ctrl-C to stop)…",
            clock()
        );

        // Down: reconnect with a capped backoff.
        let mut backoff = Backoff::default();
        connection = loop {
            if stop.or(tokio::time::sleep(backoff.delay())).await.is_none() {
                return Ok(0);
            }
            let attempt = async {
                let connection = connector.connect().await?;
                remote::request_all(
                    connection.handle(),
                    remote.forwards,
                    remote.table,
                    true,
                    log,
                )
                .await?;
                Ok::<_, Error>(connection)
            };
            match attempt.await {
                Ok(connection) => break connection,
                Err(e) if e.is_transient() => {
                    backoff.failed();
                    eprintln!(
                        "rk-connect [{}] not yet: {e}; next try in {} s",
                        clock(),
                        backoff.delay().as_secs()
                    );
                }
                Err(e) => return Err(e),
            }
        };
        let _ = link.send(Some(Arc::clone(connection.handle())));
        eprintln!(
            "rk-connect [{}] reconnected to {host}; forwards are back",
            clock()
        );
    }
}
