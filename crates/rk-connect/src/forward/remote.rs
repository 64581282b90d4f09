//! `-R` remote forwards: the cluster's sshd listens (`tcpip-forward`) and opens a
//! `forwarded-tcpip` channel for each connection it accepts; rk-connect connects each to
//! HOST:HOSTPORT on this side and pumps it like a `-L` connection (same budget, half-close).
//! One failing connection closes only itself.

use std::sync::{Arc, Mutex};

use russh::client::{self, ChannelOpenHandle};
use russh::{Channel, ChannelOpenFailure};
use tokio::net::TcpStream;

use super::pump::pump;
use super::spec::{LocalForward, Spec};
use crate::error::Error;

type Connection = rk_ssh::Handle;

/// A forward the server agreed to: where it listens, and where its connections go.
#[derive(Clone, Debug)]
struct Granted {
    /// The address the server was asked to listen on ("localhost", "" for all, or as given).
    bind: String,
    port: u32,
    host: String,
    host_port: u16,
}

/// The forwards granted so far, shared with the connection's handler (through
/// [`rk_ssh::ForwardedTcpip`]), which hands it the connections the cluster accepts.
#[derive(Clone, Default)]
pub(crate) struct Table(Arc<Mutex<Vec<Granted>>>, Verbose);

/// `-v`: say why a forwarded connection failed.
#[derive(Clone, Copy, Default)]
struct Verbose(bool);

impl rk_ssh::ForwardedTcpip for Table {
    fn open(
        &self,
        channel: Channel<client::Msg>,
        connected_port: u32,
        originator: String,
        reply: ChannelOpenHandle,
    ) {
        accept(self, channel, connected_port, originator, reply, self.1.0);
    }
}

impl Table {
    pub(crate) fn new(verbose: bool) -> Table {
        Table(Arc::default(), Verbose(verbose))
    }

    /// Forgets every forward (the server's listeners went with the connection).
    pub(crate) fn clear(&self) {
        if let Ok(mut granted) = self.0.lock() {
            granted.clear();
        }
    }

    fn target(&self, port: u32) -> Option<(String, u16)> {
        let granted = self.0.lock().ok()?;
        granted
            .iter()
            .find(|g| g.port == port)
            .map(|g| (g.host.clone(), g.host_port))
    }
}

/// As ssh: no bind address means the server's loopback ("localhost"), `*` all addresses.
fn server_bind(bind: Option<&str>) -> String {
    match bind {
        None => "localhost".to_string(),
        Some("*") => String::new(),
        Some(b) => b.to_string(),
    }
}

/// `-KR [BIND:]PORT`: asks the server to stop listening on `port` (the port it listens on, as
/// printed when the forward started) and forgets the forward; connections already made go on.
pub(crate) async fn cancel(
    handle: &Connection,
    table: &Table,
    bind: Option<&str>,
    port: u16,
) -> Result<(), String> {
    let port = u32::from(port);
    let granted = table.0.lock().ok().and_then(|granted| {
        granted
            .iter()
            .find(|g| g.port == port && bind.is_none_or(|b| g.bind == server_bind(Some(b))))
            .cloned()
    });
    let Some(granted) = granted else {
        return Err(format!("no remote forward on port {port}"));
    };
    handle
        .cancel_tcpip_forward(granted.bind.clone(), granted.port)
        .await
        .map_err(|e| format!("the cluster did not cancel port {port}: {e}"))?;
    if let Ok(mut all) = table.0.lock() {
        all.retain(|g| g.port != port);
    }
    Ok(())
}

/// The forwards granted now, for `~#`: "port P on the cluster → HOST:HOSTPORT here".
pub(crate) fn describe(table: &Table) -> Vec<String> {
    table.0.lock().map_or_else(
        |_| Vec::new(),
        |granted| {
            granted
                .iter()
                .map(|g| {
                    format!(
                        "-R port {} on the cluster → {}:{} here",
                        g.port, g.host, g.host_port
                    )
                })
                .collect()
        },
    )
}

/// Asks the server to listen for `fwd`; returns the port it listens on (the one it chose when
/// `fwd.port` is 0).
pub(crate) async fn request(
    handle: &Connection,
    fwd: &LocalForward,
    table: &Table,
    spec: &str,
) -> Result<u32, Error> {
    let bind = server_bind(fwd.bind.as_deref());
    let asked = u32::from(fwd.port);
    let port = handle
        .tcpip_forward(bind.clone(), asked)
        .await
        .map_err(|error| Error::RemoteForwardRefused {
            spec: spec.to_string(),
            port: fwd.port,
            error: error.into(),
        })?;
    // The server answers 0 when it listens on the port that was asked for.
    let port = if asked == 0 { port } else { asked };
    if let Ok(mut granted) = table.0.lock() {
        granted.push(Granted {
            bind,
            port,
            host: fwd.host.clone(),
            host_port: fwd.host_port,
        });
    }
    Ok(port)
}

/// A connection the server accepted on a forwarded port: connect it on this side, then pump.
/// Runs on its own task, so a slow local connect never holds up the session.
fn accept(
    table: &Table,
    channel: Channel<client::Msg>,
    connected_port: u32,
    originator: String,
    reply: ChannelOpenHandle,
    verbose: bool,
) {
    let Some((host, port)) = table.target(connected_port) else {
        tokio::spawn(reply.reject(ChannelOpenFailure::AdministrativelyProhibited));
        return;
    };
    tokio::spawn(async move {
        match TcpStream::connect((host.as_str(), port)).await {
            Ok(socket) => {
                let _ = socket.set_nodelay(true);
                reply.accept().await;
                if let Err(e) = pump(socket, channel).await
                    && verbose
                {
                    eprintln!("rk-connect: {originator} → {host}:{port}: {e}\r");
                }
            }
            Err(e) => {
                if verbose {
                    eprintln!(
                        "rk-connect: remote forward from {originator}: cannot connect to {host}:{port}: {e}\r"
                    );
                }
                reply.reject(ChannelOpenFailure::ConnectFailed).await;
            }
        }
    });
}

/// Asks for every `-R` forward on `handle` (again, after a reconnection), saying where each
/// one listens.
pub(crate) async fn request_all(
    handle: &Connection,
    forwards: &[Spec<LocalForward>],
    table: &Table,
    no_command: bool,
    log: &rk_ssh::Log,
) -> Result<(), Error> {
    table.clear();
    for Spec { text, forward } in forwards {
        let port = request(handle, forward, table, text).await?;
        if forward.port == 0 {
            // ssh's wording, which scripts look for (and which ssh -q leaves out too).
            log.say(format!(
                "Allocated port {port} for remote forward to {}:{}",
                forward.host, forward.host_port
            ));
        }
        log.say(format!(
            "Forwarding port {port} on the cluster → {}:{} here{}",
            forward.host,
            forward.host_port,
            if no_command { " (Ctrl-C to stop)" } else { "" }
        ));
    }
    Ok(())
}
