//! Where to connect and as whom: a destination given on the command line, read from a job
//! log, remembered by `rk-parse-log --save`, or a Host block of ~/.ssh/config.

use std::path::PathBuf;

use rk_core::destination::{self, Destination};
use rk_core::fs::display_path;
use rk_core::joblog::{self, ScanOptions};
use rk_core::term;

use crate::cli::Cli;
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
}

pub(crate) fn resolve_route(cli: &Cli, log: &Log) -> Result<Route, Error> {
    let config = SshConfig::load(cli);
    let mut dest = resolve_destination(cli, log)?;
    let mut identity_files = cli.identity.clone();
    let block = config.apply(&mut dest, cli.port.is_some(), &mut identity_files, log);
    if cli.port.is_some() {
        dest.port = cli.port;
    }
    let user = choose_user(cli, &dest)?;

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
    for spec in &jumps {
        // A jump host's own Host block gives its HostName, User and Port (its ProxyJump is not
        // followed). With no user anywhere, the destination's: on the platform the job's user
        // is the same on the head node and on the compute nodes.
        let hop = hop_from_spec(spec, "-J", &config, &user, log)?;
        hops.push(hop);
    }
    hops.push(Hop {
        user: user.clone(),
        host: dest.host.clone(),
        port: dest.port,
    });
    if let Some(node) = &cli.node {
        let mut hop = hop_from_spec(node, "--node", &config, &user, log)?;
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
    })
}

fn hop_from_spec(
    spec: &str,
    flag: &str,
    config: &SshConfig,
    default_user: &str,
    log: &Log,
) -> Result<Hop, Error> {
    let mut hop = destination::parse(spec).map_err(|e| {
        Error::Usage(format!(
            "{flag} {spec:?}: {e} ({flag} takes [USER@]HOST[:PORT], several separated by commas for -J)"
        ))
    })?;
    config.apply(&mut hop, false, &mut Vec::new(), log);
    Ok(Hop {
        user: hop.user.unwrap_or_else(|| default_user.to_string()),
        host: hop.host,
        port: hop.port,
    })
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
            eprintln!(
                "rk-connect: connecting to the saved job {} (from {}).",
                dest.display(),
                display_path(&path)
            );
            Ok(dest)
        }
        None => Err(Error::NoDestination),
    }
}

/// The OpenSSH client config rk-connect reads Host blocks from (~/.ssh/config or -F FILE).
pub(crate) struct SshConfig {
    parsed: Option<ssh2_config::SshConfig>,
    path: PathBuf,
}

/// What a Host block says beyond where to connect.
#[derive(Default)]
pub(crate) struct HostBlock {
    /// `ProxyJump` hops (`None`: no ProxyJump line; `ProxyJump none` gives an empty list).
    pub(crate) proxy_jump: Option<Vec<String>>,
    pub(crate) forward_agent: Option<bool>,
    /// `LocalForward` and `RemoteForward` lines, in `-L`/`-R` syntax.
    pub(crate) local_forwards: Vec<String>,
    pub(crate) remote_forwards: Vec<String>,
}

impl SshConfig {
    pub(crate) fn load(cli: &Cli) -> SshConfig {
        let path = match &cli.ssh_config {
            Some(p) => p.clone(),
            None => match rk_core::fs::ssh_dir() {
                Ok(d) => d.join("config"),
                Err(_) => PathBuf::new(),
            },
        };
        let Ok(file) = std::fs::File::open(&path) else {
            return SshConfig { parsed: None, path };
        };
        use ssh2_config::ParseRule;
        let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
        let parsed = match ssh2_config::SshConfig::default()
            .parse(&mut std::io::BufReader::new(file), rules)
        {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("rk-connect: ignoring {}: {e}", display_path(&path));
                None
            }
        };
        SshConfig { parsed, path }
    }

    /// Fills what `dest` (and the identity list) left open from the destination's Host block:
    /// HostName, User, Port, IdentityFile — as with OpenSSH, what was given explicitly wins.
    pub(crate) fn apply(
        &self,
        dest: &mut Destination,
        port_given: bool,
        identities: &mut Vec<PathBuf>,
        log: &Log,
    ) -> HostBlock {
        let Some(config) = &self.parsed else {
            return HostBlock::default();
        };
        let params = config.query(&dest.host);
        if let Some(name) = params
            .host_name
            .filter(|h| !h.is_empty() && !h.contains('%'))
        {
            log.step(format!(
                "{}: Host {} → HostName {name}",
                display_path(&self.path),
                dest.host
            ));
            dest.host = name;
        }
        if dest.user.is_none() {
            dest.user = params.user;
        }
        if dest.port.is_none() && !port_given {
            dest.port = params.port;
        }
        if identities.is_empty()
            && let Some(files) = params.identity_file
        {
            identities.extend(files);
        }
        HostBlock {
            proxy_jump: params.proxy_jump.map(|hops| {
                hops.into_iter()
                    .filter(|h| !h.eq_ignore_ascii_case("none"))
                    .collect()
            }),
            forward_agent: params.forward_agent,
            // ssh2-config keeps LocalForward among the fields it does not model, one line per
            // Host block (the last one), as `[BIND:]PORT HOST:HOSTPORT`.
            local_forwards: params
                .unsupported_fields
                .get("localforward")
                .filter(|args| args.len() == 2)
                .map(|args| format!("{}:{}", args[0], args[1]))
                .into_iter()
                .collect(),
            remote_forwards: params
                .remote_forward
                .iter()
                .filter_map(|r| {
                    use ssh2_config::{RemoteForwardDestination, RemoteForwardListen};
                    let listen = match &r.listen {
                        RemoteForwardListen::Port(p) => p.to_string(),
                        RemoteForwardListen::Host { .. } => r.listen.to_string(),
                        RemoteForwardListen::UnixSocket(_) => return None,
                    };
                    match &r.destination {
                        Some(d @ RemoteForwardDestination::Host { .. }) => {
                            Some(format!("{listen}:{d}"))
                        }
                        // A reverse SOCKS proxy or a socket: not something rk forwards.
                        _ => None,
                    }
                })
                .collect(),
        }
    }
}

pub(crate) fn choose_user(cli: &Cli, dest: &Destination) -> Result<String, Error> {
    if let Some(u) = cli.login.clone().or_else(|| dest.user.clone()) {
        if !joblog::is_valid_user(&u) {
            return Err(Error::Usage(format!("{u:?} is not a valid user name")));
        }
        return Ok(u);
    }
    // PuTTY's prompt, when there is someone to ask.
    if console::stdin_is_terminal()
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
