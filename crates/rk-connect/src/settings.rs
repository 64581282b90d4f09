//! ssh config options rk-connect has a flag for. The command line wins and the config fills
//! what it left open, as with ssh (command-line options are read first; the first value wins).

use std::collections::BTreeMap;

use rk_core::ssh_config::Setting;

use crate::cli::{Cli, parse_size};
use crate::{Error, Log};

/// Fills `cli`'s unset settings from the config's options; returns what the user should hear
/// about (an option taken in a safer sense than ssh's, one rk does not support).
pub(crate) fn apply(
    cli: &mut Cli,
    settings: &BTreeMap<String, Setting>,
    log: &Log,
) -> Result<Vec<String>, Error> {
    let mut notes = Vec::new();
    for (keyword, setting) in settings {
        let value = setting.args.first().map(String::as_str).unwrap_or_default();
        let lower = value.to_ascii_lowercase();
        let bad = |expected: &str| {
            Error::Usage(format!(
                "{}: {} {value:?}: expected {expected}",
                setting.origin,
                spelling(keyword)
            ))
        };
        match keyword.as_str() {
            "connecttimeout" if cli.connect_timeout.is_none() && lower != "none" => {
                cli.connect_timeout = Some(value.parse().map_err(|_| bad("seconds, e.g. 10"))?);
            }
            "serveraliveinterval" if cli.keepalive.is_none() => {
                cli.keepalive = Some(value.parse().map_err(|_| bad("seconds, e.g. 30"))?);
            }
            "rekeylimit" if cli.rekey_limit.is_none() && lower != "default" && lower != "none" => {
                cli.rekey_limit = Some(parse_size(value).map_err(|e| bad(&e))?);
            }
            "userknownhostsfile" if cli.known_hosts.is_none() => {
                if lower == "none" || value.contains('%') {
                    notes.push(format!(
                        "{}: UserKnownHostsFile {value}: not supported by rk-connect; using {}",
                        setting.origin,
                        rk_core::known_hosts::default_path()
                            .map(|p| rk_core::fs::display_path(&p))
                            .unwrap_or_else(|_| "~/.ssh/known_hosts".into())
                    ));
                } else {
                    cli.known_hosts = Some(rk_core::fs::expand_tilde(value));
                }
            }
            "stricthostkeychecking" if !cli.accept_new && !cli.insecure_ignore_host_key => {
                match lower.as_str() {
                    "yes" | "true" => cli.strict_host_keys = true,
                    "ask" => {}
                    "accept-new" => cli.accept_new = true,
                    // Said with -v only: `Host *` with `StrictHostKeyChecking no` is common, and
                    // a warning on every run would teach users to skip rk's messages. A changed
                    // key is then refused with the usual message naming the line to remove.
                    "no" | "off" | "false" => {
                        cli.accept_new = true;
                        log.step(format!(
                            "{}: StrictHostKeyChecking {value} is taken as accept-new: rk-connect \
                             remembers a new host's key but never connects to a host whose key changed",
                            setting.origin
                        ));
                    }
                    _ => return Err(bad("yes, accept-new, no or ask")),
                }
            }
            "gatewayports" if !cli.gateway_ports => match lower.as_str() {
                "yes" => cli.gateway_ports = true,
                "no" => {}
                _ => return Err(bad("yes or no")),
            },
            "requesttty" if !cli.tty && !cli.no_tty => match lower.as_str() {
                "yes" | "force" => cli.tty = true,
                "no" => cli.no_tty = true,
                "auto" => {}
                _ => return Err(bad("yes, no, force or auto")),
            },
            "sessiontype" if !cli.no_command => match lower.as_str() {
                "none" => cli.no_command = true,
                "default" => {}
                "subsystem" => notes.push(format!(
                    "{}: SessionType subsystem is not supported by rk-connect; ignored",
                    setting.origin
                )),
                _ => return Err(bad("none, subsystem or default")),
            },
            "escapechar" if cli.escape_char.is_none() => cli.escape_char = Some(value.into()),
            "identitiesonly" if !cli.identities_only => match lower.as_str() {
                "yes" => cli.identities_only = true,
                "no" => {}
                _ => return Err(bad("yes or no")),
            },
            // QUIET, FATAL and ERROR show no notices; the other levels change nothing here.
            "loglevel" if !cli.quiet => {
                cli.quiet = matches!(lower.as_str(), "quiet" | "fatal" | "error");
            }
            "batchmode" if !cli.batch => match lower.as_str() {
                "yes" => cli.batch = true,
                "no" => {}
                _ => return Err(bad("yes or no")),
            },
            // A list in preference order; a +/-/^ list changes ssh's own defaults, which rk's
            // already are in spirit (AES-GCM, ChaCha20-Poly1305, AES-CTR).
            "ciphers" if cli.cipher.is_none() && !value.starts_with(['+', '-', '^']) => {
                cli.cipher = Some(value.into());
            }
            _ => {}
        }
    }
    Ok(notes)
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
