//! Where to connect and as whom: a destination given on the command line, read from a job
//! log, remembered by `rk-parse-log --save`, or a Host block of ~/.ssh/config; then the hops
//! (`-J`, ProxyJump, `--node`) and the keys each hop is offered.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rk_core::destination::{self, Destination};
use rk_core::fs::display_path;
use rk_core::joblog;
use rk_core::ssh_config;

use crate::prompt::Prompt;
use crate::{error::Error, log::Log};
use config::{SshConfig, expand_identity_files};

mod config;
mod source;

/// What a tool asks for, from its command line: every field as the user gave it (None, empty:
/// not given, so the ssh config, the job log or the saved job decide).
#[derive(Clone, Debug, Default)]
pub struct RouteRequest {
    /// USER@HOST, ssh://USER@HOST:PORT, HOST or an ssh config alias.
    pub destination: Option<String>,
    /// `--from-log FILE` (`-` for standard input): the destination from a job log.
    pub from_log: Option<PathBuf>,
    /// With `from_log`: accept a private or loopback address.
    pub allow_private: bool,
    /// `-l USER`.
    pub login: Option<String>,
    /// `-p PORT` (`-P` for rk-cp).
    pub port: Option<u16>,
    /// `-i KEY`, in order.
    pub identities: Vec<PathBuf>,
    /// `-J HOP,HOP` (`none`: direct, whatever ProxyJump says).
    pub jump: Option<String>,
    /// `--node NODE`: one more hop behind the destination, port 22.
    pub node: Option<String>,
    /// `-F FILE` (`none`: no config); default ~/.ssh/config.
    pub ssh_config: Option<PathBuf>,
    /// `-o KEYWORD=VALUE`, read before any file.
    pub options: Vec<String>,
    /// `-A` (Some(true)), `-a` (Some(false)); None: the config's ForwardAgent.
    pub forward_agent: Option<bool>,
    /// Whether a missing user may be asked for (`login as:`); false for `-G`, which only prints.
    pub ask_login: bool,
}

/// One SSH server on the way, the destination last.
#[derive(Clone, Debug)]
pub struct Hop {
    pub user: String,
    pub host: String,
    /// None: 32100 then 22 for the first hop (the platform's head nodes), 22 behind a jump.
    pub port: Option<u16>,
    /// A jump host's own `IdentityFile` lines (as ssh -J, whose ssh for each hop reads that
    /// hop's config); empty: the run's keys (-i, the destination's IdentityFile, the defaults).
    pub identity_files: Vec<PathBuf>,
}

impl Hop {
    /// `user@host:port` (`[v6]` in brackets), for messages.
    pub fn label(&self, port: u16) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}@{host}:{port}", self.user)
    }
}

/// Where the connection goes: the hops (jump hosts, then the destination, then `--node`), the
/// key files to offer, whether the agent is forwarded, and what else the ssh config said.
#[derive(Clone, Debug)]
pub struct Route {
    pub hops: Vec<Hop>,
    /// The last hop, for messages.
    pub destination: Destination,
    pub identity_files: Vec<PathBuf>,
    pub forward_agent: bool,
    /// The Host block's `LocalForward` and `RemoteForward`, added to `-L` and `-R` as ssh does.
    pub local_forwards: Vec<String>,
    pub remote_forwards: Vec<String>,
    /// `DynamicForward` lines, added to `-D`.
    pub dynamic_forwards: Vec<String>,
    /// The destination's other options (ConnectTimeout, StrictHostKeyChecking…), for
    /// [`crate::ConnectOptions::fill_from_config`] and the tool's own settings.
    pub settings: BTreeMap<String, ssh_config::Setting>,
}

impl Route {
    /// Resolves `req`: the destination (command line, job log, saved job), the ssh config's
    /// Host/Match blocks for it and for each jump host, the user (asked through `prompt` when
    /// nothing names one and `req.ask_login`), and the chain of hops.
    pub fn resolve(req: &RouteRequest, prompt: &dyn Prompt, log: &Log) -> Result<Route, Error> {
        let config = SshConfig::load(req.ssh_config.as_deref())?;
        let dest = source::destination(req, log)?;
        resolve_with(req, &config, dest, prompt, log)
    }
}

fn resolve_with(
    req: &RouteRequest,
    config: &SshConfig,
    mut dest: Destination,
    prompt: &dyn Prompt,
    log: &Log,
) -> Result<Route, Error> {
    let typed_host = dest.host.clone();
    let typed_key = hop_key(&typed_host, req.port.or(dest.port));
    let block = config.apply(&mut dest, req.login.as_deref(), req.port, &req.options, log)?;
    if req.port.is_some() {
        dest.port = req.port;
    }
    let user = choose_user(req, &dest, prompt)?;
    // -i first; the config's IdentityFile lines only when no -i was given.
    let identity_files = if req.identities.is_empty() {
        expand_identity_files(&block.identity_files, &typed_host, &dest, &user)?
    } else {
        req.identities.clone()
    };

    // -J wins over the Host block's ProxyJump (`ProxyJump none` or `-J none`: direct).
    let jumps: Vec<String> = match &req.jump {
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
        add_jump(spec, config, &user, log, &mut on_the_way, &mut hops)?;
    }
    hops.push(Hop {
        user: user.clone(),
        host: dest.host.clone(),
        port: dest.port,
        identity_files: Vec::new(),
    });
    if let Some(node) = &req.node {
        let (mut hop, _, _) = hop_from_spec(node, "--node", config, &user, log)?;
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
    let forward_agent = req
        .forward_agent
        .unwrap_or(block.forward_agent == Some(true));
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

fn choose_user(
    req: &RouteRequest,
    dest: &Destination,
    prompt: &dyn Prompt,
) -> Result<String, Error> {
    if let Some(u) = req.login.clone().or_else(|| dest.user.clone()) {
        if !joblog::is_valid_user(&u) {
            return Err(Error::Usage(format!("{u:?} is not a valid user name")));
        }
        return Ok(u);
    }
    // PuTTY's prompt, when there is someone to ask (-G only prints, as ssh -G: the local user).
    if req.ask_login
        && prompt.unavailable().is_none()
        && let Some(answer) = prompt.login_name()
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
