//! How to connect, whatever the route: known_hosts and the host-key policy, timeouts, keepalive,
//! re-keying, ciphers, batch mode, which keys to offer. A tool fills [`ConnectOptions`] from its
//! command line; [`ConnectOptions::fill_from_config`] then fills what the command line left open
//! from the ssh config, as ssh does (command-line options are read first; the first value wins).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rk_core::ssh_config::Setting;
use russh::client;

use crate::{error::Error, log::Log};

/// What to do with a host key that known_hosts does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Ask on the terminal; refuse without one (the default, StrictHostKeyChecking ask).
    Ask,
    /// Remember it without asking (StrictHostKeyChecking accept-new, `--accept-new`).
    AcceptNew,
    /// Refuse it without asking (StrictHostKeyChecking yes).
    Strict,
    /// DANGEROUS: take any key, even a changed one (`--insecure-ignore-host-key`).
    Insecure,
}

/// The connection's options; `None` and `false` mean "not given": the ssh config may fill them.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// `--known-hosts` / UserKnownHostsFile (default ~/.ssh/known_hosts).
    pub known_hosts: Option<PathBuf>,
    pub host_keys: Option<HostKeyPolicy>,
    /// Seconds (default 15).
    pub connect_timeout: Option<u64>,
    /// `--wait SECS`: keep retrying a refused or unreachable first hop for so long.
    pub wait: Option<u64>,
    /// ServerAliveInterval in seconds (default 30, 0 = off).
    pub keepalive: Option<u64>,
    /// RekeyLimit in bytes each way.
    pub rekey_limit: Option<usize>,
    /// `-c` / Ciphers: a comma-separated list in preference order.
    pub ciphers: Option<String>,
    /// `--batch` / BatchMode: never ask anything.
    pub batch: bool,
    /// IdentitiesOnly: the agent signs only for the key files given.
    pub identities_only: bool,
    pub no_agent: bool,
    pub allow_loose_key_permissions: bool,
    /// `--passphrase-file`: the key's passphrase from the first line of a file.
    pub passphrase_file: Option<PathBuf>,
    /// `-q` / LogLevel QUIET, FATAL or ERROR: no notices.
    pub quiet: bool,
}

impl ConnectOptions {
    /// `--connect-timeout`, else ConnectTimeout, else 15 s.
    pub fn connect_timeout(&self) -> u64 {
        self.connect_timeout.unwrap_or(15)
    }

    /// `--keepalive`, else ServerAliveInterval, else 30 s (0 = off).
    pub fn keepalive(&self) -> u64 {
        self.keepalive.unwrap_or(30)
    }

    pub fn host_key_policy(&self) -> HostKeyPolicy {
        self.host_keys.unwrap_or(HostKeyPolicy::Ask)
    }

    /// The known_hosts file hosts are checked against.
    pub fn known_hosts_path(&self) -> Result<PathBuf, Error> {
        match &self.known_hosts {
            Some(p) => Ok(p.clone()),
            None => Ok(rk_core::known_hosts::default_path()?),
        }
    }

    /// Fills the unset options from the ssh config's settings for the destination; returns what
    /// the user should hear about (an option rk does not support, and what it does instead).
    pub fn fill_from_config(
        &mut self,
        settings: &BTreeMap<String, Setting>,
        log: &Log,
    ) -> Result<Vec<String>, Error> {
        let mut notes = Vec::new();
        for (keyword, setting) in settings {
            let value = setting.args.first().map(String::as_str).unwrap_or_default();
            let lower = value.to_ascii_lowercase();
            let bad = |expected: &str| bad_value(keyword, setting, expected);
            match keyword.as_str() {
                "connecttimeout" if self.connect_timeout.is_none() && lower != "none" => {
                    self.connect_timeout =
                        Some(value.parse().map_err(|_| bad("seconds, e.g. 10"))?);
                }
                "serveraliveinterval" if self.keepalive.is_none() => {
                    self.keepalive = Some(value.parse().map_err(|_| bad("seconds, e.g. 30"))?);
                }
                "rekeylimit"
                    if self.rekey_limit.is_none() && lower != "default" && lower != "none" =>
                {
                    self.rekey_limit = Some(parse_size(value).map_err(|e| bad(&e))?);
                }
                "userknownhostsfile" if self.known_hosts.is_none() => {
                    if lower == "none" || value.contains('%') {
                        notes.push(format!(
                            "{}: UserKnownHostsFile {value}: not supported by {}; using {}",
                            setting.origin,
                            log.tool,
                            rk_core::known_hosts::default_path()
                                .map(|p| rk_core::fs::display_path(&p))
                                .unwrap_or_else(|_| "~/.ssh/known_hosts".into())
                        ));
                    } else {
                        self.known_hosts = Some(rk_core::fs::expand_tilde(value));
                    }
                }
                "stricthostkeychecking" if self.host_keys.is_none() => {
                    self.host_keys = match lower.as_str() {
                        "yes" | "true" => Some(HostKeyPolicy::Strict),
                        "ask" => Some(HostKeyPolicy::Ask),
                        "accept-new" => Some(HostKeyPolicy::AcceptNew),
                        // Said with -v only: `Host *` with `StrictHostKeyChecking no` is common,
                        // and a warning on every run would teach users to skip rk's messages. A
                        // changed key is then refused with the usual message naming the line.
                        "no" | "off" | "false" => {
                            log.step(format!(
                                "{}: StrictHostKeyChecking {value} is taken as accept-new: {} \
                                 remembers a new host's key but never connects to a host whose key changed",
                                setting.origin, log.tool
                            ));
                            Some(HostKeyPolicy::AcceptNew)
                        }
                        _ => return Err(bad("yes, accept-new, no or ask")),
                    };
                }
                "identitiesonly" if !self.identities_only => {
                    self.identities_only = yes_no(&lower).ok_or_else(|| bad("yes or no"))?;
                }
                // QUIET, FATAL and ERROR show no notices; the other levels change nothing here.
                "loglevel" if !self.quiet => {
                    self.quiet = matches!(lower.as_str(), "quiet" | "fatal" | "error");
                }
                "batchmode" if !self.batch => {
                    self.batch = yes_no(&lower).ok_or_else(|| bad("yes or no"))?;
                }
                // A list in preference order; a +/-/^ list changes ssh's own defaults, which
                // rk's already are in spirit (AES-GCM, ChaCha20-Poly1305, AES-CTR).
                "ciphers" if self.ciphers.is_none() && !value.starts_with(['+', '-', '^']) => {
                    self.ciphers = Some(value.into());
                }
                _ => {}
            }
        }
        Ok(notes)
    }

    /// russh's client configuration for these options.
    pub(crate) fn russh_config(&self, tool: &str) -> Result<client::Config, Error> {
        let mut preferred = russh::Preferred::default();
        let mut ciphers = vec![
            russh::cipher::AES_128_GCM,
            russh::cipher::AES_256_GCM,
            russh::cipher::CHACHA20_POLY1305,
            russh::cipher::AES_256_CTR,
            russh::cipher::AES_192_CTR,
            russh::cipher::AES_128_CTR,
        ];
        if let Some(list) = &self.ciphers {
            // Names russh does not implement (e.g. the CBC ciphers a config may still list)
            // are passed over.
            let wanted: Vec<_> = list
                .split(',')
                .filter_map(|name| russh::cipher::Name::try_from(name.trim()).ok())
                .collect();
            if wanted.is_empty() {
                return Err(Error::Usage(format!(
                    "-c {list}: no cipher {tool} knows; try aes128-gcm@openssh.com or chacha20-poly1305@openssh.com"
                )));
            }
            ciphers = wanted;
        }
        preferred.cipher = ciphers.into();
        let keepalive = (self.keepalive() > 0).then(|| Duration::from_secs(self.keepalive()));
        Ok(client::Config {
            preferred,
            nodelay: true,
            // Per channel. russh also uses it to bound what the server may send while a key
            // re-exchange we started is under way (twice this, across all channels) and drops
            // the connection past that: at 8 MiB, 200 busy tunnel connections broke it
            // (measured: the 200-connection echo lost the connection at a re-key). 64 MiB
            // bounds that at 128 MiB. It buffers nothing by itself: russh grants window as
            // data arrives.
            window_size: 64 * 1024 * 1024,
            maximum_packet_size: 256 * 1024,
            keepalive_interval: keepalive,
            keepalive_max: 3,
            inactivity_timeout: None,
            limits: match self.rekey_limit {
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
}

fn yes_no(lower: &str) -> Option<bool> {
    match lower {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// The error for a config line whose value cannot work: where it is, and what was expected.
pub fn bad_value(keyword: &str, setting: &Setting, expected: &str) -> Error {
    let value = setting.args.first().map(String::as_str).unwrap_or_default();
    Error::Usage(format!(
        "{}: {} {value:?}: expected {expected}",
        setting.origin,
        spelling(keyword)
    ))
}

/// A keyword as ssh_config(5) spells it, for messages.
fn spelling(keyword: &str) -> &str {
    [
        "BatchMode",
        "IdentitiesOnly",
        "ConnectTimeout",
        "ServerAliveInterval",
        "RekeyLimit",
        "UserKnownHostsFile",
        "StrictHostKeyChecking",
        "GatewayPorts",
        "RequestTTY",
        "SessionType",
        "EscapeChar",
        "Ciphers",
    ]
    .into_iter()
    .find(|k| k.eq_ignore_ascii_case(keyword))
    .unwrap_or(keyword)
}

/// `SIZE[K|M|G]` in bytes (powers of 1024, as ssh's RekeyLimit); at least 16 KiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_uppercase()),
        _ => (s, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        other => return Err(format!("unknown unit {other:?}: use K, M or G (e.g. 512M)")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size: use a number with K, M or G (e.g. 512M)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if bytes < 16 * 1024 {
        return Err(format!("{s:?} is too small: at least 16K"));
    }
    Ok(bytes)
}
