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
    let block = config.apply(&mut hop, None, None, &[], log)?;
    let hop = Hop {
        user: hop.user.unwrap_or_else(|| default_user.to_string()),
        host: hop.host,
        port: hop.port,
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

/// The OpenSSH client config rk-connect reads (~/.ssh/config or -F FILE), evaluated per host
/// by rk-core's `ssh_config` with ssh's rules (Host, Match, Include, first value wins).
pub(crate) struct SshConfig {
    path: PathBuf,
}

/// What the config says beyond where to connect.
#[derive(Default)]
pub(crate) struct HostBlock {
    /// `ProxyJump` hops (`None`: no ProxyJump line; `ProxyJump none` gives an empty list).
    pub(crate) proxy_jump: Option<Vec<String>>,
    pub(crate) forward_agent: Option<bool>,
    /// `IdentityFile` lines as written; [`expand_identity_files`] makes them paths.
    pub(crate) identity_files: Vec<String>,
    /// `LocalForward` and `RemoteForward` lines, in `-L`/`-R` syntax.
    pub(crate) local_forwards: Vec<String>,
    pub(crate) remote_forwards: Vec<String>,
    pub(crate) dynamic_forwards: Vec<String>,
    pub(crate) settings: BTreeMap<String, ssh_config::Setting>,
}

impl SshConfig {
    pub(crate) fn load(cli: &Cli) -> Result<SshConfig, Error> {
        let path = match &cli.ssh_config {
            Some(p) => {
                // As ssh: a config named with -F must exist (~/.ssh/config need not).
                if let Err(e) = std::fs::metadata(p) {
                    return Err(Error::Usage(format!(
                        "-F {}: {e} (-F names an OpenSSH client config file)",
                        display_path(p)
                    )));
                }
                p.clone()
            }
            None => match rk_core::fs::ssh_dir() {
                Ok(d) => d.join("config"),
                Err(_) => PathBuf::new(),
            },
        };
        Ok(SshConfig { path })
    }

    /// Evaluates the config for `dest` as typed and fills what `dest` left open: HostName,
    /// User, Port — as with OpenSSH, what was given explicitly wins.
    pub(crate) fn apply(
        &self,
        dest: &mut Destination,
        cli_user: Option<&str>,
        cli_port: Option<u16>,
        options: &[String],
        log: &Log,
    ) -> Result<HostBlock, Error> {
        let query = ssh_config::Query {
            host: dest.host.clone(),
            user: cli_user.map(str::to_string).or(dest.user.clone()),
            port: cli_port.or(dest.port),
            options: options.to_vec(),
            ..local_query()
        };
        let mut exec = |command: &str| {
            let status = rk_core::platform::shell::command(command).status()?;
            log.step(format!("Match exec {command:?}: {status}"));
            Ok(status.success())
        };
        let found = ssh_config::evaluate(&ssh_config::RealFiles, &self.path, &query, &mut exec)?;
        for warning in &found.warnings {
            eprintln!("rk-connect: {warning}");
        }
        if let Some(name) = found.host_name.filter(|h| !h.is_empty()) {
            log.step(format!(
                "{}: {} → HostName {name}",
                display_path(&self.path),
                dest.host
            ));
            dest.host = name;
        }
        // As ssh: host names are case-insensitive, and known_hosts holds them lowercased.
        dest.host.make_ascii_lowercase();
        if dest.user.is_none() {
            dest.user = found.user;
        }
        if dest.port.is_none() && cli_port.is_none() {
            dest.port = found.port;
        }
        Ok(HostBlock {
            proxy_jump: found.proxy_jump,
            forward_agent: found.forward_agent,
            identity_files: found.identity_files,
            local_forwards: found.local_forwards,
            remote_forwards: found.remote_forwards,
            dynamic_forwards: found.dynamic_forwards,
            settings: found.settings,
        })
    }
}

/// `-G`: the settings a connection would use, one `keyword value` line each like `ssh -G`.
/// Forwards are in rk's `-L`/`-R` syntax; the port of a first hop without one is `32100,22`
/// (rk-connect tries the platform's two ports in turn).
pub(crate) fn print_config(
    cli: &Cli,
    route: &Route,
    local: &[String],
    remote: &[String],
    dynamic: &[String],
) {
    let (last, jumps) = route.hops.split_last().expect("a route has a destination");
    let hop = |h: &Hop| match h.port {
        Some(port) => format!("{}@{}:{port}", h.user, h.host),
        None => format!("{}@{}", h.user, h.host),
    };
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k} {v}\n"));
    line("user", &last.user);
    line("hostname", &last.host);
    match last.port {
        Some(port) => line("port", &port.to_string()),
        None if jumps.is_empty() => line("port", "32100,22"),
        None => line("port", "22"),
    }
    if route.identity_files.is_empty() {
        for name in ["id_rsa", "id_ed25519", "id_ecdsa"] {
            line("identityfile", &format!("~/.ssh/{name}"));
        }
    }
    for path in &route.identity_files {
        line("identityfile", &display_path(path));
    }
    if !jumps.is_empty() {
        line(
            "proxyjump",
            &jumps.iter().map(hop).collect::<Vec<_>>().join(","),
        );
    }
    line("forwardagent", yes_no(route.forward_agent));
    line("connecttimeout", &cli.connect_timeout().to_string());
    line("serveraliveinterval", &cli.keepalive().to_string());
    line("serveralivecountmax", "3");
    match cli.rekey_limit {
        Some(bytes) => line("rekeylimit", &bytes.to_string()),
        None => line("rekeylimit", "1073741824"),
    }
    line(
        "stricthostkeychecking",
        if cli.insecure_ignore_host_key {
            "false"
        } else if cli.accept_new {
            "accept-new"
        } else {
            "ask"
        },
    );
    match &cli.known_hosts {
        Some(path) => line("userknownhostsfile", &display_path(path)),
        None => line("userknownhostsfile", "~/.ssh/known_hosts"),
    }
    line("gatewayports", yes_no(cli.gateway_ports));
    line(
        "requesttty",
        if cli.tty {
            "true"
        } else if cli.no_tty {
            "false"
        } else {
            "auto"
        },
    );
    line(
        "sessiontype",
        if cli.no_command { "none" } else { "default" },
    );
    line("escapechar", cli.escape_char.as_deref().unwrap_or("~"));
    line("batchmode", yes_no(cli.batch));
    line("identitiesonly", yes_no(cli.identities_only));
    if let Some(ciphers) = &cli.cipher {
        line("ciphers", ciphers);
    }
    for spec in local {
        line("localforward", spec);
    }
    for spec in remote {
        line("remoteforward", spec);
    }
    for spec in dynamic {
        line("dynamicforward", spec);
    }
    print!("{out}");
}

/// The parts of a config query that describe this machine and user.
fn local_query() -> ssh_config::Query {
    use rk_core::platform::paths;
    ssh_config::Query {
        host: String::new(),
        user: None,
        port: None,
        local_user: paths::user_name().unwrap_or_else(|| "root".into()),
        local_host: paths::host_name().unwrap_or_default(),
        home: paths::home_dir().unwrap_or_default(),
        options: Vec::new(),
    }
}

/// `IdentityFile` lines as paths, with `~` and `%` tokens for the final user, host and port.
pub(crate) fn expand_identity_files(
    raw: &[String],
    typed_host: &str,
    dest: &Destination,
    user: &str,
) -> Result<Vec<PathBuf>, Error> {
    let query = ssh_config::Query {
        host: typed_host.to_string(),
        ..local_query()
    };
    raw.iter()
        .map(|line| {
            ssh_config::expand_path(line, &query, &dest.host, user, dest.port.unwrap_or(22))
                .map_err(|e| Error::Usage(format!("IdentityFile {line:?}: {e}")))
        })
        .collect()
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
