//! Where to connect and as whom: a destination given on the command line, read from a job
//! log, remembered by `rk-parse-log --save`, or a Host block of ~/.ssh/config.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rk_core::destination::{self, Destination};
use rk_core::fs::display_path;
use rk_core::joblog::{self, ScanOptions};
use rk_core::ssh_config;
use rk_core::term;

use crate::cli::Cli;
use crate::config::{SshConfig, expand_identity_files};
use crate::connection::Hop;
use crate::console;
use crate::{Error, Log};

/// Where the connection goes: the hops (jump hosts, then the destination, then `--node`), the
/// key files to offer, and whether the agent is forwarded.
pub(crate) struct Route {
    pub(crate) hops: Vec<Hop>,
    /// The last hop, for messages.
    pub(crate) destination: Destination,
    pub(crate) identity_files: Vec<PathBuf>,
    pub(crate) forward_agent: bool,
    /// The Host block's `LocalForward` and `RemoteForward`, added to `-L` and `-R` as ssh does.
    pub(crate) local_forwards: Vec<String>,
    pub(crate) remote_forwards: Vec<String>,
    /// `DynamicForward` lines, added to `-D`.
    pub(crate) dynamic_forwards: Vec<String>,
    /// The destination's other options (ConnectTimeout, StrictHostKeyChecking…), for
    /// `settings::apply`.
    pub(crate) settings: BTreeMap<String, ssh_config::Setting>,
}

pub(crate) fn resolve_route(cli: &Cli, log: &Log) -> Result<Route, Error> {
    let config = SshConfig::load(cli)?;
    let mut dest = resolve_destination(cli, log)?;
    let typed_host = dest.host.clone();
    let typed_key = hop_key(&typed_host, cli.port.or(dest.port));
    let block = config.apply(&mut dest, cli.login.as_deref(), cli.port, &cli.options, log)?;
    if cli.port.is_some() {
        dest.port = cli.port;
    }
    let user = choose_user(cli, &dest)?;
    // -i first; the config's IdentityFile lines only when no -i was given.
    let identity_files = if cli.identity.is_empty() {
        expand_identity_files(&block.identity_files, &typed_host, &dest, &user)?
    } else {
        cli.identity.clone()
    };

    // -J wins over the Host block's ProxyJump (`ProxyJump none` or `-J none`: direct).
    let jumps: Vec<String> = match &cli.jump {
        Some(list) => list
            .split(',')
            .map(|h| h.trim().to_string())
            .filter(|h| !h.eq_ignore_ascii_case("none"))
            .collect(),
        None => block.proxy_jump.unwrap_or_default(),
    };
    let mut hops = Vec::new();
    let mut on_the_way = vec![typed_key];
    for spec in &jumps {
        add_jump(spec, &config, &user, log, &mut on_the_way, &mut hops)?;
    }
    hops.push(Hop {
        user: user.clone(),
        host: dest.host.clone(),
        port: dest.port,
        identity_files: Vec::new(),
    });
    if let Some(node) = &cli.node {
        let (mut hop, _, _) = hop_from_spec(node, "--node", &config, &user, log)?;
        hop.port = Some(hop.port.unwrap_or(22));
        dest = Destination {
            user: Some(hop.user.clone()),
            host: hop.host.clone(),
            port: hop.port,
        };
        hops.push(hop);
    } else {
        dest.user = Some(user);
    }
    let forward_agent =
        cli.forward_agent || (block.forward_agent == Some(true) && !cli.no_forward_agent);
    Ok(Route {
        hops,
        destination: dest,
        identity_files,
        forward_agent,
        local_forwards: block.local_forwards,
        remote_forwards: block.remote_forwards,
        dynamic_forwards: block.dynamic_forwards,
        settings: block.settings,
    })
}

/// A hop as typed, to see a ProxyJump lead back to it (`gateway`, `127.0.0.1:2222`).
fn hop_key(host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// Jump hosts a chain may have, ProxyJumps of jump hosts included.
const MAX_HOPS: usize = 16;

/// A jump host, after the jump hosts its own Host block's ProxyJump names: ssh -J runs ssh for
/// each hop, which reads that hop's config, so `Host head` with `ProxyJump gateway` makes
/// `-J head` go through the gateway first. A ProxyJump leading back to a host already on the
/// way (e.g. `Host *` with `ProxyJump gateway`, seen again for the gateway) is not followed.
fn add_jump(
    spec: &str,
    config: &SshConfig,
    default_user: &str,
    log: &Log,
    on_the_way: &mut Vec<String>,
    hops: &mut Vec<Hop>,
) -> Result<(), Error> {
    if hops.len() >= MAX_HOPS {
        return Err(Error::Usage(format!(
            "more than {MAX_HOPS} jump hosts (ProxyJump of ProxyJump…): check the ProxyJump lines of {}",
            display_path(&config.path)
        )));
    }
    let (hop, alias, jumps) = hop_from_spec(spec, "-J", config, default_user, log)?;
    if on_the_way.contains(&alias) {
        log.step(format!(
            "ProxyJump {spec} leads back to a host on the way ({}): not followed",
            on_the_way.join(" ← ")
        ));
        return Ok(());
    }
    on_the_way.push(alias.clone());
    for inner in jumps.unwrap_or_default() {
        log.step(format!(
            "{alias} is reached through its own ProxyJump {inner}"
        ));
        add_jump(&inner, config, default_user, log, on_the_way, hops)?;
    }
    on_the_way.pop();
    hops.push(hop);
    Ok(())
}

/// A hop given as `[USER@]HOST[:PORT]` with its Host block applied: HostName, User, Port (with
/// no user anywhere, the destination's: on the platform the job's user is the same on the head
/// node and on the compute nodes). Also the host as typed and the block's ProxyJump.
fn hop_from_spec(
    spec: &str,
    flag: &str,
    config: &SshConfig,
    default_user: &str,
    log: &Log,
) -> Result<(Hop, String, Option<Vec<String>>), Error> {
    let mut hop = destination::parse(spec).map_err(|e| {
        Error::Usage(format!(
            "{flag} {spec:?}: {e} ({flag} takes [USER@]HOST[:PORT], several separated by commas for -J)"
        ))
    })?;
    let alias = hop_key(&hop.host, hop.port);
    // As ssh -J: a jump host gets its own Host block, not the destination's -o options.
    let typed_host = hop.host.clone();
    let block = config.apply(&mut hop, None, None, &[], log)?;
    let user = hop.user.clone().unwrap_or_else(|| default_user.to_string());
    let identity_files = expand_identity_files(&block.identity_files, &typed_host, &hop, &user)?;
    let hop = Hop {
        user,
        host: hop.host,
        port: hop.port,
        identity_files,
    };
    Ok((hop, alias, block.proxy_jump))
}

pub(crate) fn resolve_destination(cli: &Cli, log: &Log) -> Result<Destination, Error> {
    if let Some(src) = &cli.from_log {
        let options = ScanOptions {
            allow_private: cli.allow_private,
            ..Default::default()
        };
        let (found, what, rejection) = if src.as_os_str() == "-" {
            if !cli.no_command && cli.command.is_empty() {
                return Err(Error::Usage(
                    "--from-log - reads the log from stdin, so stdin cannot also be your shell: \
                     add a command or -N, or give the log as a file."
                        .into(),
                ));
            }
            let mut last = None;
            let (_, rejection) =
                joblog::scan_reader_report(&mut std::io::stdin().lock(), options, &mut |f| {
                    last = Some(f);
                    true
                })
                .map_err(|error| Error::ReadLog {
                    what: "the log from stdin".into(),
                    error,
                })?;
            (last, "standard input".to_string(), rejection)
        } else {
            let read_error = |error| Error::ReadLog {
                what: src.display().to_string(),
                error,
            };
            let mut file = std::fs::File::open(src).map_err(read_error)?;
            let mut last = None;
            let (_, rejection) = joblog::scan_reader_report(&mut file, options, &mut |f| {
                last = Some(f);
                true
            })
            .map_err(read_error)?;
            (last, src.display().to_string(), rejection)
        };
        let found = match (found, rejection) {
            (Some(found), _) => found,
            (None, Some(rejection)) => return Err(Error::MessageRefused { what, rejection }),
            (None, None) => return Err(Error::NoConnectionMessage { what }),
        };
        log.step(format!(
            "from the log (line {}): {}",
            found.line,
            found.to_url()
        ));
        return Ok(Destination {
            user: Some(found.user),
            host: found.host,
            port: found.port,
        });
    }
    if let Some(d) = &cli.destination {
        return Ok(destination::parse(d)?);
    }
    match destination::saved_job()? {
        Some((dest, path)) => {
            crate::notice::notice!(
                "rk-connect: connecting to the saved job {} (from {}).",
                dest.display(),
                display_path(&path)
            );
            Ok(dest)
        }
        None => Err(Error::NoDestination),
    }
}

pub(crate) fn choose_user(cli: &Cli, dest: &Destination) -> Result<String, Error> {
    if let Some(u) = cli.login.clone().or_else(|| dest.user.clone()) {
        if !joblog::is_valid_user(&u) {
            return Err(Error::Usage(format!("{u:?} is not a valid user name")));
        }
        return Ok(u);
    }
    // PuTTY's prompt, when there is someone to ask (-G only prints, as ssh -G: the local user).
    if !cli.print_config
        && crate::ask::may_ask()
        && console::stdin_is_terminal()
        && let Some(answer) = term::ask_tty("login as: ")
    {
        if joblog::is_valid_user(&answer) {
            return Ok(answer);
        }
        return Err(Error::Usage(format!(
            "{answer:?} is not a valid user name (the job's user looks like uprod_…)"
        )));
    }
    Ok(std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into()))
}
