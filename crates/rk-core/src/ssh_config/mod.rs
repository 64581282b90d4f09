//! The OpenSSH client config (`~/.ssh/config`, `-F FILE`) evaluated for one destination the way
//! `ssh` evaluates it (`readconf.c`): lines in order, `Include` read in place, `Host` and `Match`
//! turning the following lines on or off, and the first value obtained for an option winning.
//!
//! Only the options rk-connect acts on are kept (`HostName`, `User`, `Port`, `IdentityFile`,
//! `ProxyJump`, `ForwardAgent`, `LocalForward`, `RemoteForward`); other keywords are read past.
//! A `Match` block whose condition rk cannot evaluate (`localnetwork`, `tagged`, …) is taken as
//! not matching, with a warning, rather than applied to the wrong hosts.
//!
//! File access goes through [`ConfigFiles`], so a test or a fuzzer can give files from memory.

mod criteria;
mod files;
mod line;
mod pattern;
mod tokens;

use std::path::{Path, PathBuf};

use crate::fs::display_path;
pub use files::{ConfigFiles, RealFiles};
use line::LineError;

/// OpenSSH's limit on nested `Include`s (`READCONF_MAX_DEPTH`).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Who asks, for what: the destination as typed and what the command line already fixed.
#[derive(Debug, Clone)]
pub struct Query {
    /// The host as typed (an alias or an address): what `Host` patterns are matched against.
    pub host: String,
    /// The remote user from `USER@HOST` or `-l`, which wins over `User` lines.
    pub user: Option<String>,
    /// The port from `-p` or `HOST:PORT`.
    pub port: Option<u16>,
    /// The local user (`Match localuser`, `%u`).
    pub local_user: String,
    /// This machine's name (`%l`, `%L`).
    pub local_host: String,
    /// The home directory: `~`, and where relative `Include` paths live (`~/.ssh/…`).
    pub home: PathBuf,
    /// `-o KEYWORD=VALUE` options: read before any file, so they win (no Host, Match, Include).
    pub options: Vec<String>,
}

/// What the config says for one destination. Every field is what the first active line gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`, with `%h` already replaced by the host as typed.
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// `IdentityFile` lines as written (`~` and `%` tokens are expanded by [`expand_path`] once
    /// the user and host are final).
    pub identity_files: Vec<String>,
    /// `ProxyJump` hops; an empty list for `ProxyJump none`.
    pub proxy_jump: Option<Vec<String>>,
    pub forward_agent: Option<bool>,
    /// `LocalForward`/`RemoteForward` lines in `-L`/`-R` syntax (`[BIND:]PORT:HOST:HOSTPORT`),
    /// `DynamicForward` in `-D` syntax (`[BIND:]PORT`).
    pub local_forwards: Vec<String>,
    pub remote_forwards: Vec<String>,
    pub dynamic_forwards: Vec<String>,
    /// Every other keyword's first active line (lowercased keyword → its arguments), for the
    /// options rk-connect maps to its own settings (`ConnectTimeout`, `StrictHostKeyChecking`…).
    pub settings: std::collections::BTreeMap<String, Setting>,
    /// What the config asks for that rk-connect does not do (`ProxyCommand`, a `Match`
    /// condition it cannot evaluate), each naming its file and line; worth telling the user.
    pub warnings: Vec<String>,
    /// `ProxyCommand` blocks a later `ProxyJump` (first of the two wins, as in ssh).
    proxy_command: bool,
}

/// An option's value as the config gave it, and where (for messages about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub args: Vec<String>,
    /// `~/.ssh/config line 12`, or `-o "ConnectTimeout=5"`.
    pub origin: String,
}

/// A config line (or `-o` option) that ssh would refuse too.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    /// `~/.ssh/config line 12`, or `-o "Port=x"`.
    pub origin: String,
    pub message: String,
}

/// Runs a `Match exec` command line; `Ok(true)` when it exits with status 0.
pub type Exec<'a> = &'a mut dyn FnMut(&str) -> std::io::Result<bool>;

/// Evaluates the config file at `path` (and what it includes) for `query`. A file that cannot
/// be read is an empty config; `exec` runs `Match exec` commands.
pub fn evaluate(
    files: &dyn ConfigFiles,
    path: &Path,
    query: &Query,
    exec: Exec<'_>,
) -> Result<HostConfig, ConfigError> {
    let mut run = Evaluation {
        files,
        query,
        exec,
        config: HostConfig::default(),
        final_pass: false,
        want_final_pass: false,
    };
    run.command_line()?;
    run.file(path, 0)?;
    // `Match final` asks for a second pass over everything, where `final` and `canonical`
    // match and the first pass's values still win.
    if run.want_final_pass {
        run.final_pass = true;
        run.file(path, 0)?;
        let mut seen = std::collections::HashSet::new();
        run.config.warnings.retain(|w| seen.insert(w.clone()));
    }
    Ok(run.config)
}

/// `~` and `%` tokens in an `IdentityFile` path, with the destination's final user and host:
/// `%d` home, `%h` host name, `%n` host as typed, `%p` port, `%r` remote user, `%u` local user,
/// `%l`/`%L` this machine's name (long/short).
pub fn expand_path(
    raw: &str,
    query: &Query,
    host_name: &str,
    user: &str,
    port: u16,
) -> Result<PathBuf, String> {
    let port = port.to_string();
    let home = query.home.display().to_string();
    let short_host = query.local_host.split('.').next().unwrap_or_default();
    let expanded = tokens::expand(
        raw,
        &[
            ('d', &home),
            ('h', host_name),
            ('n', &query.host),
            ('p', &port),
            ('r', user),
            ('u', &query.local_user),
            ('l', &query.local_host),
            ('L', short_host),
        ],
    )?;
    Ok(crate::fs::expand_tilde_with(&expanded, &query.home))
}

struct Evaluation<'a, 'e> {
    files: &'a dyn ConfigFiles,
    query: &'a Query,
    exec: Exec<'e>,
    config: HostConfig,
    final_pass: bool,
    want_final_pass: bool,
}

/// Where a line is (`~/.ssh/config line 12`, `-o "Port=2"`), for errors and warnings.
struct At {
    origin: String,
}

impl At {
    fn line(path: &Path, line: usize) -> At {
        At {
            origin: format!("{} line {line}", display_path(path)),
        }
    }

    fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: self.origin.clone(),
            message: message.into(),
        }
    }

    fn warning(&self, message: impl std::fmt::Display) -> String {
        format!("{}: {message}", self.origin)
    }
}

impl Evaluation<'_, '_> {
    /// `-o` options, as ssh reads them: before any file, each for every host.
    fn command_line(&mut self) -> Result<(), ConfigError> {
        let query = self.query;
        for option in &query.options {
            let at = At {
                origin: format!("-o {option:?}"),
            };
            let line = match line::split(option) {
                Ok(Some(line)) => line,
                Ok(None) => {
                    return Err(at.error("expected KEYWORD=VALUE, e.g. -o ConnectTimeout=5"));
                }
                Err(LineError::NoArgument(k)) => {
                    return Err(at.error(format!("{k} has no value")));
                }
                Err(LineError::UnclosedQuote(k)) => {
                    return Err(at.error(format!("{k} has a quote that is never closed")));
                }
            };
            if is_block(&line.keyword) || line.keyword == "include" {
                return Err(at.error(format!(
                    "{} belongs in a config file, not on the command line",
                    known(&line.keyword).unwrap_or(&line.keyword)
                )));
            }
            self.option(&line.keyword, &line.args, &at)?;
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, depth: usize) -> Result<(), ConfigError> {
        let Some(bytes) = self.files.read(path) else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&bytes);
        // Lines before the first Host or Match apply to every host.
        let mut active = true;
        for (index, raw) in text.split('\n').enumerate() {
            let at = At::line(path, index + 1);
            let line = match line::split(raw) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(e) => {
                    let (keyword, problem) = match e {
                        LineError::NoArgument(k) => (k, "has no value"),
                        LineError::UnclosedQuote(k) => (k, "has a quote that is never closed"),
                    };
                    if let Some(name) = known(&keyword)
                        && (active || is_block(&keyword))
                    {
                        return Err(at.error(format!("{name} {problem}")));
                    }
                    continue;
                }
            };
            match line.keyword.as_str() {
                "host" => active = self.host_line(&line.args),
                "match" => active = self.match_line(&line.args, &at)?,
                "include" if active => self.include(&line.args, &at, depth)?,
                _ if !active => {}
                keyword => self.option(keyword, &line.args, &at)?,
            }
        }
        Ok(())
    }

    /// What `Host` patterns are matched against: the host as typed, or in the final pass the
    /// host name the first pass settled on.
    fn host_for_patterns(&self) -> &str {
        match (&self.config.host_name, self.final_pass) {
            (Some(name), true) => name,
            _ => &self.query.host,
        }
    }

    /// `Host PATTERN…`: on when a pattern matches and no `!PATTERN` does.
    fn host_line(&self, patterns: &[String]) -> bool {
        let host = self.host_for_patterns();
        let mut active = false;
        for p in patterns {
            match p.strip_prefix('!') {
                Some(negated) if pattern::matches(host, negated) => return false,
                Some(_) => {}
                None if pattern::matches(host, p) => active = true,
                None => {}
            }
        }
        active
    }

    fn include(&mut self, args: &[String], at: &At, depth: usize) -> Result<(), ConfigError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(at.error(format!(
                "Include nested more than {MAX_INCLUDE_DEPTH} levels deep (does a file include itself?)"
            )));
        }
        for arg in args {
            let pattern = if arg.starts_with('/') || Path::new(arg).is_absolute() {
                PathBuf::from(arg)
            } else if arg.starts_with('~') {
                crate::fs::expand_tilde_with(arg, &self.query.home)
            } else {
                self.query.home.join(".ssh").join(arg)
            };
            for file in self.files.glob(&pattern.to_string_lossy()) {
                self.file(&file, depth + 1)?;
            }
        }
        Ok(())
    }

    /// An option line in an active block: the first value obtained wins; lists accumulate.
    fn option(&mut self, keyword: &str, args: &[String], at: &At) -> Result<(), ConfigError> {
        let Some(first) = args.first() else {
            return match known(keyword) {
                Some(name) => Err(at.error(format!("{name} has no value"))),
                None => Ok(()),
            };
        };
        let config = &mut self.config;
        match keyword {
            "hostname" if config.host_name.is_none() => {
                let name = tokens::expand(first, &[('h', &self.query.host)])
                    .map_err(|e| at.error(format!("HostName: {e}")))?;
                config.host_name = Some(name);
            }
            "user" if config.user.is_none() => config.user = Some(first.clone()),
            "port" if config.port.is_none() => {
                let port = first
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| {
                        at.error(format!("Port {first:?} is not a port number (1 to 65535)"))
                    })?;
                config.port = Some(port);
            }
            // Every IdentityFile line counts, once each (ssh drops repeats).
            "identityfile" if !config.identity_files.contains(first) => {
                config.identity_files.push(first.clone());
            }
            "proxyjump" if config.proxy_jump.is_none() && !config.proxy_command => {
                config.proxy_jump = Some(if first.eq_ignore_ascii_case("none") {
                    Vec::new()
                } else {
                    first.split(',').map(|h| h.trim().to_string()).collect()
                });
            }
            "proxycommand" if config.proxy_jump.is_none() && !config.proxy_command => {
                config.proxy_command = true;
                if !first.eq_ignore_ascii_case("none") {
                    config.warnings.push(at.warning(
                        "ProxyCommand is not supported by rk; it connects directly \
                         (use ProxyJump or -J for a jump host)",
                    ));
                }
            }
            "forwardagent" if config.forward_agent.is_none() => {
                config.forward_agent = Some(match first.to_ascii_lowercase().as_str() {
                    "yes" | "true" => true,
                    "no" | "false" => false,
                    _ => {
                        config.warnings.push(at.warning(format_args!(
                            "ForwardAgent {first:?}: rk-connect forwards only your own agent \
                             (yes/no); not forwarding"
                        )));
                        false
                    }
                });
            }
            "dynamicforward" if !config.dynamic_forwards.contains(first) => {
                config.dynamic_forwards.push(first.clone());
            }
            "localforward" | "remoteforward" => {
                let forward = match args {
                    [listen, target] => format!("{listen}:{target}"),
                    [_] if keyword == "remoteforward" => {
                        config.warnings.push(at.warning(
                            "RemoteForward with one argument (a reverse SOCKS proxy) is not \
                             supported by rk-connect; skipped",
                        ));
                        return Ok(());
                    }
                    _ => {
                        let name = known(keyword).unwrap_or(keyword);
                        return Err(at.error(format!(
                            "{name} takes [BIND:]PORT and HOST:HOSTPORT, e.g. {name} 8888 localhost:8888"
                        )));
                    }
                };
                let list = if keyword == "localforward" {
                    &mut config.local_forwards
                } else {
                    &mut config.remote_forwards
                };
                if !list.contains(&forward) {
                    list.push(forward);
                }
            }
            // Options rk-connect maps to its settings, and the rest: first value wins.
            other if known(other).is_none() && !LISTS.contains(&other) => {
                config
                    .settings
                    .entry(other.to_string())
                    .or_insert_with(|| Setting {
                        args: args.to_vec(),
                        origin: at.origin.clone(),
                    });
            }
            _ => {}
        }
        Ok(())
    }
}

/// Keywords whose every line counts (ssh accumulates them); not kept in `settings`.
const LISTS: &[&str] = &["certificatefile", "sendenv", "setenv", "canonicaldomains"];

/// The keywords rk reads, spelled as in ssh_config(5); a malformed line of one of these is an
/// error (other keywords are read past).
const KNOWN: &[&str] = &[
    "Host",
    "Match",
    "Include",
    "HostName",
    "User",
    "Port",
    "IdentityFile",
    "ProxyJump",
    "ProxyCommand",
    "ForwardAgent",
    "LocalForward",
    "RemoteForward",
    "DynamicForward",
];

/// The keyword's usual spelling, if rk reads it.
fn known(keyword: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(keyword))
}

fn is_block(keyword: &str) -> bool {
    keyword == "host" || keyword == "match"
}

#[cfg(test)]
mod tests;
