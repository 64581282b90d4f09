//! Reaching the destination: TCP to the first hop (ports 32100 then 22 unless one is given),
//! then each further hop (`-J`, `ProxyJump`, `--node`) as a new SSH connection carried over the
//! previous hop's `direct-tcpip` channel — no `ssh` binary, no ProxyCommand. Every hop gets its
//! own host-key check against known_hosts and its own authentication.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::auth::{Identity, authenticate};
use crate::cli::Cli;
use crate::handler::{Client, Connection};
use crate::host_key::HostKeyCheck;
use crate::transport::{QuickAck, connect_tcp};
use crate::{Error, Log};

/// One SSH server on the way, the destination last.
#[derive(Clone, Debug)]
pub(crate) struct Hop {
    pub(crate) user: String,
    pub(crate) host: String,
    /// None: 32100 then 22 for the first hop (the platform's head nodes), 22 behind a jump.
    pub(crate) port: Option<u16>,
    /// A jump host's own `IdentityFile` lines (as ssh -J, whose ssh for each hop reads that
    /// hop's config); empty: the run's keys (-i, the destination's IdentityFile, the defaults).
    pub(crate) identity_files: Vec<PathBuf>,
}

impl Hop {
    fn label(&self, port: u16) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}@{host}:{port}", self.user)
    }
}

/// What every hop shares: the command line, the keys, known_hosts and russh's configuration.
pub(crate) struct Setup<'a> {
    pub(crate) cli: &'a Cli,
    pub(crate) identities: &'a [Identity],
    /// The keys of hops with their own `IdentityFile` lines, by those lines.
    pub(crate) hop_identities: &'a [(Vec<PathBuf>, Vec<Identity>)],
    pub(crate) known_hosts: PathBuf,
    pub(crate) config: Arc<client::Config>,
    pub(crate) forward_agent: bool,
    /// `-R` forwards granted on the final hop.
    pub(crate) remote_forwards: crate::remote::Table,
    pub(crate) log: &'a Log,
}

impl Setup<'_> {
    /// The keys to offer `hop`: its own, or the run's.
    fn identities_for(&self, hop: &Hop) -> &[Identity] {
        self.hop_identities
            .iter()
            .find(|(files, _)| !hop.identity_files.is_empty() && *files == hop.identity_files)
            .map_or(self.identities, |(_, ids)| ids.as_slice())
    }
}

/// The connection to the destination, and the jump connections it runs over (kept open for as
/// long as it lives).
pub(crate) struct Chain {
    pub(crate) destination: Arc<Connection>,
    jumps: Vec<Connection>,
}

impl Chain {
    pub(crate) async fn disconnect(&self) {
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

pub(crate) async fn connect(hops: &[Hop], setup: &Setup<'_>) -> Result<Chain, Error> {
    let (first, rest) = hops.split_first().expect("a destination");
    let ports: Vec<u16> = match first.port {
        Some(p) => vec![p],
        None => vec![32100, 22],
    };
    let (stream, port) = connect_tcp(&first.host, &ports, setup.cli, setup.log).await?;
    if ports.len() > 1 {
        crate::notice::notice!("rk-connect: {} answered on port {port}.", first.host);
    }
    let stream = tokio::io::BufReader::with_capacity(256 * 1024, QuickAck(stream));
    let mut current = establish(stream, first, port, rest.is_empty(), setup).await?;
    let mut via = first.label(port);
    let mut jumps = Vec::new();
    for (i, next) in rest.iter().enumerate() {
        let port = next.port.unwrap_or(22);
        setup.log.step(format!(
            "through {via}: opening a channel to {}:{port}",
            next.host
        ));
        let channel = current
            .channel_open_direct_tcpip(next.host.clone(), u32::from(port), "127.0.0.1", 0)
            .await
            .map_err(|error| Error::JumpChannel {
                jump: via.clone(),
                target_host: next.host.clone(),
                target_port: port,
                error: error.into(),
            })?;
        let last = i + 1 == rest.len();
        let handle = establish(channel.into_stream(), next, port, last, setup)
            .await
            .map_err(|error| Error::Through {
                via: via.clone(),
                error: Box::new(error),
            })?;
        jumps.push(std::mem::replace(&mut current, handle));
        via = next.label(port);
    }
    Ok(Chain {
        destination: Arc::new(current),
        jumps,
    })
}

/// The SSH handshake (with the host-key check) and authentication of one hop over `stream`.
async fn establish<S>(
    stream: S,
    hop: &Hop,
    port: u16,
    last: bool,
    setup: &Setup<'_>,
) -> Result<Connection, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cli = setup.cli;
    let problem = Arc::new(Mutex::new(None));
    let handler = Client {
        host_key: HostKeyCheck {
            host: hop.host.clone(),
            port,
            path: setup.known_hosts.clone(),
            accept_new: cli.accept_new,
            strict: cli.strict_host_keys,
            insecure: cli.insecure_ignore_host_key,
            problem: Arc::clone(&problem),
            verbose: cli.verbose,
        },
        forward_agent: last && setup.forward_agent,
        remote_forwards: last.then(|| setup.remote_forwards.clone()),
        verbose: cli.verbose,
    };
    setup
        .log
        .step(format!("SSH handshake with {}", hop.label(port)));
    // A server that accepts but never speaks SSH must not hang us: the handshake shares the
    // connect timeout.
    let handshake = client::connect_stream(Arc::clone(&setup.config), stream, handler);
    let handshake =
        tokio::time::timeout(Duration::from_secs(cli.connect_timeout().max(1)), handshake);
    let mut handle = match handshake.await {
        Err(_) => {
            return Err(Error::NotSsh {
                host: hop.host.clone(),
                port,
                secs: cli.connect_timeout(),
            });
        }
        Ok(Ok(h)) => h,
        Ok(Err(error)) => {
            if let Some(msg) = problem.lock().ok().and_then(|mut p| p.take()) {
                return Err(Error::HostKey(msg));
            }
            return Err(Error::Handshake {
                host: hop.host.clone(),
                port,
                error: error.into(),
            });
        }
    };
    setup.log.step("host key verified, keys exchanged");
    authenticate(
        &mut handle,
        &hop.user,
        &hop.host,
        setup.identities_for(hop),
        cli,
        setup.log,
    )
    .await?;
    Ok(handle)
}
