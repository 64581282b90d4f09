//! `rk-connect`: an SSH client for the platform's head nodes, on russh. The only rk crate with
//! tokio and russh; keys, known_hosts, destinations and job logs come from `rk-core`.
//!
//! A connection, in order: [`resolve`] where to connect and as whom → [`transport`] the TCP
//! connection (ports 32100 then 22) → the handshake, with [`host_key`] checking the server's key
//! → [`auth`] the user's keys → [`forward`] listeners → [`session`] the shell, command or
//! forwards. [`connect_and_run`] below tells it in that order.

mod auth;
pub mod cli;
mod error;
mod forward;
mod host_key;
mod resolve;
mod session;
mod transport;
mod tty;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rk_core::known_hosts;
use russh::{Disconnect, client};

use auth::{authenticate, load_identities};
use cli::Cli;
use host_key::HostKeyCheck;
use resolve::{apply_ssh_config, choose_user, resolve_destination};
use session::{forwards_only, session};
use transport::{QuickAck, connect_tcp};

pub use error::{EXIT_RK_ERROR, Error};

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let cli = cli.normalise();
    // Ctrl-C at a passphrase prompt must not leave the terminal without echo.
    rk_core::interrupt::install();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
        .and_then(|runtime| runtime.block_on(connect_and_run(cli)));
    // The one place an error is reported and turned into the exit status.
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rk-connect: {error}");
            error.exit_code()
        }
    }
}

/// `-v`: connection steps with the time since start.
struct Log {
    start: Instant,
    on: bool,
}

impl Log {
    fn step(&self, msg: impl AsRef<str>) {
        if self.on {
            eprintln!(
                "rk-connect [{:>7.3}s] {}",
                self.start.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }
}

async fn connect_and_run(cli: Cli) -> Result<i32, Error> {
    let log = Log {
        start: Instant::now(),
        on: cli.verbose,
    };
    let local_forwards = cli
        .local_forward
        .iter()
        .map(|s| forward::parse_local(s))
        .collect::<Result<Vec<_>, _>>()?;
    let dynamic_forwards = cli
        .dynamic_forward
        .iter()
        .map(|s| forward::parse_dynamic(s))
        .collect::<Result<Vec<_>, _>>()?;
    if cli.no_command && local_forwards.is_empty() && dynamic_forwards.is_empty() {
        return Err(Error::Usage(
            "-N keeps only forwards running: add -L PORT:HOST:HOSTPORT or -D PORT".into(),
        ));
    }
    let mut dest = resolve_destination(&cli, &log)?;
    let mut identity_paths = cli.identity.clone();
    apply_ssh_config(&cli, &mut dest, &mut identity_paths, &log);
    let user = choose_user(&cli, &dest)?;
    let identities = load_identities(&cli, &identity_paths)?;
    let known_hosts_path = match &cli.known_hosts {
        Some(p) => p.clone(),
        None => known_hosts::default_path()?,
    };

    let ports: Vec<u16> = match cli.port.or(dest.port) {
        Some(p) => vec![p],
        None => vec![32100, 22],
    };
    let (stream, port) = connect_tcp(&dest.host, &ports, &cli, &log).await?;
    if ports.len() > 1 {
        eprintln!("rk-connect: {} answered on port {port}.", dest.host);
    }

    let problem = Arc::new(Mutex::new(None));
    let handler = HostKeyCheck {
        host: dest.host.clone(),
        port,
        path: known_hosts_path,
        accept_new: cli.accept_new,
        insecure: cli.insecure_ignore_host_key,
        problem: Arc::clone(&problem),
        verbose: cli.verbose,
    };
    let config = Arc::new(client_config(&cli)?);
    let stream = tokio::io::BufReader::with_capacity(256 * 1024, QuickAck(stream));
    log.step("SSH handshake");
    // A server that accepts but never speaks SSH must not hang us: the handshake shares the
    // connect timeout.
    let handshake = client::connect_stream(config, stream, handler);
    let handshake =
        tokio::time::timeout(Duration::from_secs(cli.connect_timeout.max(1)), handshake);
    let mut handle = match handshake.await {
        Err(_) => {
            return Err(Error::NotSsh {
                host: dest.host.clone(),
                port,
                secs: cli.connect_timeout,
            });
        }
        Ok(Ok(h)) => h,
        Ok(Err(error)) => {
            if let Some(msg) = problem.lock().ok().and_then(|mut p| p.take()) {
                return Err(Error::HostKey(msg));
            }
            return Err(Error::Handshake {
                host: dest.host.clone(),
                port,
                error: error.into(),
            });
        }
    };
    log.step("host key verified, keys exchanged");

    authenticate(&mut handle, &user, &identities, &cli, &dest, &log).await?;
    let handle = Arc::new(handle);

    // Listeners first: a port in use is an error before anything runs.
    for fwd in &local_forwards {
        let listener = forward::listen(&fwd.bind, fwd.port, cli.gateway_ports).await?;
        let local = local_address(&listener, fwd.port)?;
        eprintln!(
            "Forwarding {local} → {}:{} on the cluster{}",
            fwd.host,
            fwd.host_port,
            if cli.no_command {
                " (Ctrl-C to stop)"
            } else {
                ""
            }
        );
        tokio::spawn(forward::serve_local(
            listener,
            fwd.clone(),
            Arc::clone(&handle),
            cli.verbose,
        ));
    }
    for fwd in &dynamic_forwards {
        let listener = forward::listen(&fwd.bind, fwd.port, cli.gateway_ports).await?;
        let local = local_address(&listener, fwd.port)?;
        eprintln!(
            "SOCKS proxy on {local} through the cluster{}",
            if cli.no_command {
                " (Ctrl-C to stop)"
            } else {
                ""
            }
        );
        tokio::spawn(forward::serve_socks(
            listener,
            Arc::clone(&handle),
            cli.verbose,
        ));
    }

    let code = if cli.no_command {
        forwards_only(&handle, &dest).await
    } else {
        session(&handle, &cli, &dest, &log).await
    };
    let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
    log.step(format!("done, exit status {:?}", code.as_ref().ok()));
    code
}

fn local_address(
    listener: &tokio::net::TcpListener,
    port: u16,
) -> Result<std::net::SocketAddr, Error> {
    listener.local_addr().map_err(|error| Error::Listen {
        addr: "the local address".into(),
        port,
        error,
    })
}

fn client_config(cli: &Cli) -> Result<client::Config, Error> {
    let mut preferred = russh::Preferred::default();
    let mut ciphers = vec![
        russh::cipher::AES_128_GCM,
        russh::cipher::AES_256_GCM,
        russh::cipher::CHACHA20_POLY1305,
        russh::cipher::AES_256_CTR,
        russh::cipher::AES_192_CTR,
        russh::cipher::AES_128_CTR,
    ];
    if let Some(name) = &cli.cipher {
        let wanted = russh::cipher::Name::try_from(name.as_str())
            .map_err(|_| Error::Usage(format!("-c {name}: unknown cipher; try aes128-gcm@openssh.com or chacha20-poly1305@openssh.com")))?;
        ciphers = vec![wanted];
    }
    preferred.cipher = ciphers.into();
    let keepalive = (cli.keepalive > 0).then(|| Duration::from_secs(cli.keepalive));
    Ok(client::Config {
        preferred,
        nodelay: true,
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 256 * 1024,
        keepalive_interval: keepalive,
        keepalive_max: 3,
        inactivity_timeout: None,
        ..Default::default()
    })
}
