//! The OpenSSH client config as rk uses it: evaluated per host by rk-core's `ssh_config`
//! (ssh's rules), applied to a destination or a jump host.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rk_core::destination::Destination;
use rk_core::fs::display_path;
use rk_core::ssh_config;

use crate::{error::Error, log::Log};

/// The OpenSSH client config rk reads (~/.ssh/config or -F FILE), evaluated per host
/// by rk-core's `ssh_config` with ssh's rules (Host, Match, Include, first value wins).
pub(crate) struct SshConfig {
    pub(crate) path: PathBuf,
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
    pub(crate) fn load(named: Option<&std::path::Path>) -> Result<SshConfig, Error> {
        let path = match named {
            // As ssh: `-F none` reads no config file at all.
            Some(p) if p.as_os_str() == "none" => PathBuf::new(),
            Some(p) => {
                // As ssh: a config named with -F must exist (~/.ssh/config need not).
                if let Err(e) = std::fs::metadata(p) {
                    return Err(Error::Usage(format!(
                        "-F {}: {e} (-F names an OpenSSH client config file)",
                        display_path(p)
                    )));
                }
                p.to_path_buf()
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
            log.warn(warning);
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
