//! `rk-connect`: an SSH client for the platform's head nodes, on russh. The only rk crate with
//! tokio and russh; keys, known_hosts, destinations and job logs come from `rk-core`.
//!
//! A connection, in order: [`resolve`] where to connect, as whom and through which jump hosts →
//! [`connection`] each hop: [`transport`] TCP to the first (ports 32100 then 22), the handshake
//! with [`host_key`] checking the server's key, [`auth`] the user's keys, then the next hop over
//! a `direct-tcpip` channel → [`forward`] listeners → [`session`] the shell, command or
//! forwards. [`connect_and_run`] below tells it in that order; [`error`] is every way it can
//! stop.

mod agent;
mod ask;
mod auth;
pub mod cli;
mod config;
mod connection;
mod console;
mod error;
mod escape;
mod forward;
mod handler;
mod heap;
mod host_key;
mod notice;
mod password;
mod pump;
mod reconnect;
mod remote;
mod resolve;
mod session;
mod settings;
mod stdio;
mod transport;
mod tunnels;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rk_core::known_hosts;
use russh::client;

use auth::load_identities;
use cli::Cli;
use connection::Setup;
use resolve::resolve_route;
use session::{forwards_only, session};

pub use error::{EXIT_RK_ERROR, Error};

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let cli = cli.normalise();
    heap::keep_freed_memory();
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

async fn connect_and_run(mut cli: Cli) -> Result<i32, Error> {
    notice::set_quiet(cli.quiet);
    let log = Log {
        start: Instant::now(),
        on: cli.verbose,
    };
    let mut local_forwards = cli
        .local_forward
        .iter()
        .map(|s| forward::parse_local(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dynamic_forwards = cli
        .dynamic_forward
        .iter()
        .map(|s| forward::parse_dynamic(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut remote_specs = cli.remote_forward.clone();
    let mut remote_forwards = remote_specs
        .iter()
        .map(|s| forward::parse_remote(s))
        .collect::<Result<Vec<_>, _>>()?;

    // Resolve: where to go, as whom, through which hops, with which keys; then the config's
    // other options fill what the command line left open.
    let route = resolve_route(&cli, &log)?;
    for note in settings::apply(&mut cli, &route.settings, &log)? {
        eprintln!("rk-connect: {note}");
    }
    ask::set_batch(cli.batch);
    notice::set_quiet(cli.quiet);
    if cli.reconnect && !cli.no_command {
        return Err(Error::Usage(
            "--reconnect keeps forwards up across reconnections, so it goes with -N: a shell or \
             command cannot move to a new connection (its processes belong to the old one)"
                .into(),
        ));
    }
    if let Some(spec) = &cli.escape_char {
        escape::parse(spec).map_err(Error::Usage)?;
    }
    if cli.print_config {
        let local: Vec<String> = cli
            .local_forward
            .iter()
            .chain(&route.local_forwards)
            .cloned()
            .collect();
        let remote: Vec<String> = remote_specs
            .iter()
            .chain(&route.remote_forwards)
            .cloned()
            .collect();
        let dynamic: Vec<String> = cli
            .dynamic_forward
            .iter()
            .chain(&route.dynamic_forwards)
            .cloned()
            .collect();
        config::print_config(&cli, &route, &local, &remote, &dynamic);
        return Ok(0);
    }
    for spec in &route.dynamic_forwards {
        dynamic_forwards.push(forward::parse_dynamic(spec)?);
    }
    let stdio_target = cli
        .stdio_forward
        .as_deref()
        .map(stdio::parse_target)
        .transpose()?;
    // The Host block's LocalForward/RemoteForward come on top of -L/-R, as with ssh.
    for spec in &route.local_forwards {
        local_forwards.push(forward::parse_local(spec)?);
    }
    for spec in &route.remote_forwards {
        remote_forwards.push(forward::parse_remote(spec)?);
        remote_specs.push(spec.clone());
    }
    if stdio_target.is_none()
        && cli.no_command
        && local_forwards.is_empty()
        && dynamic_forwards.is_empty()
        && remote_forwards.is_empty()
    {
        return Err(Error::Usage(
            "-N keeps only forwards running: add -L PORT:HOST:HOSTPORT, -R PORT:HOST:HOSTPORT or -D PORT"
                .into(),
        ));
    }
    let identities = load_identities(&cli, &route.identity_files)?;
    let mut hop_identities: Vec<(Vec<std::path::PathBuf>, Vec<auth::Identity>)> = Vec::new();
    for hop in &route.hops {
        if !hop.identity_files.is_empty()
            && !hop_identities.iter().any(|(f, _)| *f == hop.identity_files)
        {
            let ids = load_identities(&cli, &hop.identity_files)?;
            hop_identities.push((hop.identity_files.clone(), ids));
        }
    }
    let known_hosts = match &cli.known_hosts {
        Some(p) => p.clone(),
        None => known_hosts::default_path()?,
    };
    let forward_agent = route.forward_agent
        && match agent::forwardable().await {
            Ok(address) => {
                log.step(format!("forwarding the agent at {address}"));
                true
            }
            Err(why) => {
                eprintln!("rk-connect: -A: no agent to forward ({why}).");
                false
            }
        };
    let setup = Setup {
        cli: &cli,
        identities: &identities,
        hop_identities: &hop_identities,
        known_hosts,
        config: Arc::new(client_config(&cli)?),
        forward_agent,
        remote_forwards: remote::Table::default(),
        log: &log,
    };

    // Connect, verify each host key, authenticate on each hop.
    let chain = connection::connect(&route.hops, &setup).await?;
    let handle = Arc::clone(&chain.destination);
    // -W: standard input and output are the one connection; no forwards, as ssh -W.
    if let Some(target) = &stdio_target {
        let code = stdio::forward_stdio(&handle, &route.destination.host, target).await;
        chain.disconnect().await;
        log.step(format!("done, exit status {:?}", code.as_ref().ok()));
        return code;
    }
    let (link_tx, link) = forward::Link::new(Arc::clone(&handle));
    let dest = route.destination;

    // Listeners first: a port in use is an error before anything runs.
    let mut tunnels = tunnels::Tunnels::new(
        link,
        setup.remote_forwards.clone(),
        cli.gateway_ports,
        cli.verbose,
    );
    let to_stop = if cli.no_command {
        " (Ctrl-C to stop)"
    } else {
        ""
    };
    for fwd in &local_forwards {
        let local = tunnels.open_local(fwd).await?;
        notice::notice!(
            "Forwarding {local} → {}:{} on the cluster{to_stop}",
            fwd.host,
            fwd.host_port
        );
    }
    for fwd in &dynamic_forwards {
        let local = tunnels.open_dynamic(fwd).await?;
        notice::notice!("SOCKS proxy on {local} through the cluster{to_stop}");
    }

    // Remote forwards: the cluster listens; a refusal is an error before anything runs.
    let remote_forwards: Vec<(forward::LocalForward, String)> =
        remote_forwards.into_iter().zip(remote_specs).collect();
    reconnect::request_remote_forwards(
        &handle,
        &remote_forwards,
        &setup.remote_forwards,
        cli.no_command,
    )
    .await?;

    // Run: the shell, the command, or only the forwards (kept up across reconnections with
    // --reconnect).
    if cli.reconnect {
        drop(handle);
        let code = reconnect::supervise(
            chain,
            link_tx,
            &route.hops,
            &setup,
            &remote_forwards,
            &dest.host,
        )
        .await;
        log.step(format!("done, exit status {:?}", code.as_ref().ok()));
        return code;
    }
    let code = if cli.no_command {
        forwards_only(&handle, &dest).await
    } else {
        session(&handle, &cli, &dest, forward_agent, &mut tunnels, &log).await
    };
    chain.disconnect().await;
    log.step(format!("done, exit status {:?}", code.as_ref().ok()));
    code
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
    if let Some(list) = &cli.cipher {
        // A comma-separated list in preference order, as ssh's -c and Ciphers; names russh
        // does not implement (e.g. the CBC ciphers a config may still list) are passed over.
        let wanted: Vec<_> = list
            .split(',')
            .filter_map(|name| russh::cipher::Name::try_from(name.trim()).ok())
            .collect();
        if wanted.is_empty() {
            return Err(Error::Usage(format!(
                "-c {list}: no cipher rk-connect knows; try aes128-gcm@openssh.com or chacha20-poly1305@openssh.com"
            )));
        }
        ciphers = wanted;
    }
    preferred.cipher = ciphers.into();
    let keepalive = (cli.keepalive() > 0).then(|| Duration::from_secs(cli.keepalive()));
    Ok(client::Config {
        preferred,
        nodelay: true,
        // Per channel. russh also uses it to bound what the server may send while a key
        // re-exchange we started is under way (twice this, across all channels) and drops the
        // connection past that: at 8 MiB, 200 busy tunnel connections broke it (measured: the
        // 200-connection echo lost the connection at a re-key). 64 MiB bounds that at 128 MiB.
        // It buffers nothing by itself: russh grants window as data arrives.
        window_size: 64 * 1024 * 1024,
        maximum_packet_size: 256 * 1024,
        keepalive_interval: keepalive,
        keepalive_max: 3,
        inactivity_timeout: None,
        limits: match cli.rekey_limit {
            Some(bytes) => russh::Limits {
                rekey_write_limit: bytes,
                rekey_read_limit: bytes,
                ..Default::default()
            },
            None => russh::Limits::default(),
        },
        ..Default::default()
    })
}
