//! Reaching the destination: TCP to the first hop (ports 32100 then 22 unless one is given),
//! then each further hop (`-J`, `ProxyJump`, `--node`) as a new SSH connection carried over the
//! previous hop's `direct-tcpip` channel — no `ssh` binary, no ProxyCommand. Every hop gets its
//! own host-key check against known_hosts and its own authentication.
//!
//! A [`Connector`] holds what every attempt shares (the route, the keys once unlocked, russh's
//! configuration), so `--reconnect` connects again without asking for a passphrase twice.

mod channels;
pub(crate) mod handler;
mod host_key;
mod jump_stream;
mod transport;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::auth::{Identity, authenticate, load_identities};
use crate::prompt::Prompt;
use crate::route::{Hop, Route};
use crate::{error::Error, log::Log, options::ConnectOptions};
pub use channels::{Connection, direct_tcpip};
pub use handler::{Client, ForwardedTcpip, Handle};
use host_key::HostKeyCheck;
use transport::{QuickAck, connect_tcp};

/// Everything a connection attempt needs, prepared once: see [`Connector::new`].
pub struct Connector {
    hops: Vec<Hop>,
    options: ConnectOptions,
    identities: Vec<Identity>,
    /// The keys of hops with their own `IdentityFile` lines, by those lines.
    hop_identities: Vec<(Vec<PathBuf>, Vec<Identity>)>,
    known_hosts: PathBuf,
    config: Arc<client::Config>,
    forward_agent: bool,
    forwarded_tcpip: Option<Arc<dyn ForwardedTcpip>>,
    prompt: Arc<dyn Prompt>,
    log: Log,
}

impl Connector {
    /// Reads the route's keys (checking their permissions; a passphrase is asked only when a
    /// key is first offered), known_hosts' place and russh's configuration.
    pub fn new(
        route: &Route,
        options: &ConnectOptions,
        prompt: Arc<dyn Prompt>,
        log: Log,
    ) -> Result<Connector, Error> {
        let identities = load_identities(&route.identity_files, options, &log)?;
        let mut hop_identities: Vec<(Vec<PathBuf>, Vec<Identity>)> = Vec::new();
        for hop in &route.hops {
            if !hop.identity_files.is_empty()
                && !hop_identities.iter().any(|(f, _)| *f == hop.identity_files)
            {
                let ids = load_identities(&hop.identity_files, options, &log)?;
                hop_identities.push((hop.identity_files.clone(), ids));
            }
        }
        Ok(Connector {
            hops: route.hops.clone(),
            options: options.clone(),
            identities,
            hop_identities,
            known_hosts: options.known_hosts_path()?,
            config: Arc::new(options.russh_config(log.tool)?),
            forward_agent: false,
            forwarded_tcpip: None,
            prompt,
            log,
        })
    }

    /// `-A`: let the destination open agent channels to the local agent (off by default: the
    /// server cannot reach the agent even if it asks). The session must still request it.
    #[must_use]
    pub fn forward_agent(mut self, on: bool) -> Connector {
        self.forward_agent = on;
        self
    }

    /// Where `forwarded-tcpip` channels of the destination go (`-R`); refused when unset.
    #[must_use]
    pub fn forwarded_tcpip(mut self, to: Arc<dyn ForwardedTcpip>) -> Connector {
        self.forwarded_tcpip = Some(to);
        self
    }

    /// Connects every hop in turn; the returned connection is authenticated on all of them.
    pub async fn connect(&self) -> Result<Connection, Error> {
        let (first, rest) = self.hops.split_first().expect("a route has a destination");
        let ports: Vec<u16> = match first.port {
            Some(p) => vec![p],
            None => vec![32100, 22],
        };
        let (stream, port) = connect_tcp(&first.host, &ports, &self.options, &self.log).await?;
        if ports.len() > 1 {
            self.log
                .notice(format!("{} answered on port {port}.", first.host));
        }
        let stream = tokio::io::BufReader::with_capacity(256 * 1024, QuickAck(stream));
        let mut current = self.establish(stream, first, port, rest.is_empty()).await?;
        let mut via = first.label(port);
        let mut jumps = Vec::new();
        for (i, next) in rest.iter().enumerate() {
            let port = next.port.unwrap_or(22);
            self.log.step(format!(
                "through {via}: opening a channel to {}:{port}",
                next.host
            ));
            let channel = direct_tcpip(&current, &next.host, port, None)
                .await
                .map_err(|error| Error::JumpChannel {
                    jump: via.clone(),
                    target_host: next.host.clone(),
                    target_port: port,
                    error: error.into(),
                })?;
            let last = i + 1 == rest.len();
            let handle = self
                .establish(jump_stream::stream(channel), next, port, last)
                .await
                .map_err(|error| Error::Through {
                    via: via.clone(),
                    error: Box::new(error),
                })?;
            jumps.push(std::mem::replace(&mut current, handle));
            via = next.label(port);
        }
        Ok(Connection::new(current, jumps, via))
    }

    /// The keys to offer `hop`: its own, or the run's.
    fn identities_for(&self, hop: &Hop) -> &[Identity] {
        self.hop_identities
            .iter()
            .find(|(files, _)| !hop.identity_files.is_empty() && *files == hop.identity_files)
            .map_or(&self.identities, |(_, ids)| ids.as_slice())
    }

    /// The SSH handshake (with the host-key check) and authentication of one hop over `stream`.
    async fn establish<S>(
        &self,
        stream: S,
        hop: &Hop,
        port: u16,
        last: bool,
    ) -> Result<Handle, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let problem = Arc::new(Mutex::new(None));
        let handler = Client {
            host_key: HostKeyCheck {
                host: hop.host.clone(),
                port,
                path: self.known_hosts.clone(),
                policy: self.options.host_key_policy(),
                problem: Arc::clone(&problem),
                prompt: Arc::clone(&self.prompt),
                log: self.log,
            },
            forward_agent: last && self.forward_agent,
            forwarded_tcpip: if last {
                self.forwarded_tcpip.clone()
            } else {
                None
            },
            log: self.log,
        };
        self.log
            .step(format!("SSH handshake with {}", hop.label(port)));
        // A server that accepts but never speaks SSH must not hang us: the handshake shares the
        // connect timeout.
        let secs = self.options.connect_timeout();
        let handshake = client::connect_stream(Arc::clone(&self.config), stream, handler);
        let mut handle =
            match tokio::time::timeout(Duration::from_secs(secs.max(1)), handshake).await {
                Err(_) => {
                    return Err(Error::NotSsh {
                        host: hop.host.clone(),
                        port,
                        secs,
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
        self.log.step("host key verified, keys exchanged");
        let login = crate::auth::Login {
            user: &hop.user,
            host: &hop.host,
            identities: self.identities_for(hop),
            options: &self.options,
            prompt: self.prompt.as_ref(),
            log: &self.log,
        };
        authenticate(&mut handle, &login).await?;
        Ok(handle)
    }
}
