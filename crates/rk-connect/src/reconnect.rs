//! `--reconnect` for `-N`: the tunnel outlives the network. The local listeners stay bound;
//! when the connection is lost (keepalive timeout, reset, the server restarting) rk-connect
//! reconnects with a capped backoff, shown on stderr with times, checking every host key again
//! — a changed key stops it, loudly — and asks for the `-R` forwards again. Connections made
//! while the link is down wait for it (bounded, [`crate::forward::WAIT_FOR_LINK`]) or are
//! closed. Ctrl-C stops it at any time.
//!
//! Only for `-N`: a shell or command cannot be resumed on a new connection (its processes on the
//! cluster belong to the old one), so rk-connect does not pretend to.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rk_core::platform::interrupt::Interrupt;
use tokio::sync::watch;

use crate::connection::{self, Chain, Hop, Setup};
use crate::forward::LocalForward;
use crate::handler::Connection;
use crate::{Error, console, remote};

const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// `HH:MM:SS` (UTC) for the reconnection messages.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Whether reconnecting after this error can help (the network or the server coming back),
/// or it must stop (a changed host key, refused keys, a bad option).
fn transient(error: &Error) -> bool {
    match error {
        Error::Through { error, .. } => transient(error),
        Error::Refused { .. }
        | Error::Resolve { .. }
        | Error::Unreachable { .. }
        | Error::TimedOut { .. }
        | Error::NotSsh { .. }
        | Error::Handshake { .. }
        | Error::JumpChannel { .. }
        | Error::AuthProtocol { .. }
        | Error::ConnectionLost { .. }
        | Error::RemoteForwardRefused { .. } => true,
        _ => false,
    }
}

/// Asks for every `-R` forward on `handle` (again, after a reconnection).
pub(crate) async fn request_remote_forwards(
    handle: &Connection,
    forwards: &[(LocalForward, String)],
    table: &remote::Table,
    no_command: bool,
) -> Result<(), Error> {
    table.clear();
    for (fwd, spec) in forwards {
        let port = remote::request(handle, fwd, table, spec).await?;
        if fwd.port == 0 {
            // ssh's wording, which scripts look for (and which ssh -q leaves out too).
            crate::notice::notice!(
                "Allocated port {port} for remote forward to {}:{}",
                fwd.host,
                fwd.host_port
            );
        }
        crate::notice::notice!(
            "Forwarding port {port} on the cluster → {}:{} here{}",
            fwd.host,
            fwd.host_port,
            if no_command { " (Ctrl-C to stop)" } else { "" }
        );
    }
    Ok(())
}

/// Keeps the forwards up until Ctrl-C (exit 0) or an error reconnecting cannot cure.
pub(crate) async fn supervise(
    mut chain: Chain,
    link: watch::Sender<Option<Arc<Connection>>>,
    hops: &[Hop],
    setup: &Setup<'_>,
    remote_forwards: &[(LocalForward, String)],
    host: &str,
) -> Result<i32, Error> {
    rk_core::interrupt::defer_to_program(&[Interrupt::CtrlC, Interrupt::Terminate]);
    let mut ending = console::EndEvents::new();
    loop {
        // Up: wait for the connection to go, or for the user to stop.
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    chain.disconnect().await;
                    return Ok(0);
                }
                _ = ending.next() => {
                    chain.disconnect().await;
                    return Ok(0);
                }
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if chain.destination.is_closed() {
                        break;
                    }
                }
            }
        }
        let _ = link.send(None);
        eprintln!(
            "rk-connect [{}] the connection to {host} was lost; reconnecting (Ctrl-C to stop)…",
            now()
        );

        // Down: reconnect with a capped backoff.
        let mut delay = FIRST_DELAY;
        chain = loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return Ok(0),
                _ = ending.next() => return Ok(0),
                _ = tokio::time::sleep(delay) => {}
            }
            let attempt = async {
                let chain = connection::connect(hops, setup).await?;
                request_remote_forwards(
                    &chain.destination,
                    remote_forwards,
                    &setup.remote_forwards,
                    true,
                )
                .await?;
                Ok::<_, Error>(chain)
            };
            match attempt.await {
                Ok(chain) => break chain,
                Err(e) if transient(&e) => {
                    delay = (delay * 2).min(MAX_DELAY);
                    eprintln!(
                        "rk-connect [{}] not yet: {e}; next try in {} s",
                        now(),
                        delay.as_secs()
                    );
                }
                Err(e) => return Err(e),
            }
        };
        let _ = link.send(Some(Arc::clone(&chain.destination)));
        eprintln!(
            "rk-connect [{}] reconnected to {host}; forwards are back",
            now()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_reconnection_can_cure() {
        let host = || "3.80.3.168".to_string();
        assert!(transient(&Error::Refused {
            host: host(),
            ports: "22".into()
        }));
        assert!(transient(&Error::Through {
            via: "u@h:22".into(),
            error: Box::new(Error::TimedOut {
                host: host(),
                ports: "22".into()
            })
        }));
        assert!(!transient(&Error::HostKey(
            "REMOTE HOST IDENTIFICATION HAS CHANGED".into()
        )));
        assert!(!transient(&Error::PermissionDenied {
            user: "u".into(),
            host: host(),
            allowed: vec!["publickey".into()],
            tried: vec![],
            no_terminal: false
        }));
    }

    #[test]
    fn clock_for_messages() {
        let t = now();
        assert_eq!(t.len(), 8);
        assert_eq!(&t[2..3], ":");
    }
}
