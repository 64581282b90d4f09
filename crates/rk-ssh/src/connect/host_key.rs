//! The server's host key checked against known_hosts: first use, changed keys, revoked keys.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use rk_core::known_hosts::{self, HostKeyStatus};
use russh::keys::PublicKey;

use crate::prompt::{HostKeyAnswer, NewHostKey, Prompt};
use crate::{log::Log, options::HostKeyPolicy};

/// The server's host key against known_hosts, for one hop of the connection.
pub(super) struct HostKeyCheck {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) path: PathBuf,
    pub(super) policy: HostKeyPolicy,
    /// Why the key was refused, for the error the handshake then returns.
    pub(super) problem: Arc<Mutex<Option<String>>>,
    pub(super) prompt: Arc<dyn Prompt>,
    pub(super) log: Log,
}

impl HostKeyCheck {
    fn refuse(&self, msg: String) -> bool {
        if let Ok(mut p) = self.problem.lock() {
            *p = Some(msg);
        }
        false
    }

    fn decide(&self, key: &PublicKey) -> bool {
        let name = known_hosts::host_name(&self.host, self.port);
        let fp = fingerprint::fingerprint(key, FingerprintHash::Sha256);
        let kind = fingerprint::type_label(key.key_data());
        let status = match known_hosts::check(&self.path, &self.host, self.port, key) {
            Ok(s) => s,
            Err(e) => return self.refuse(e.to_string()),
        };
        match status {
            HostKeyStatus::Known => {
                if self.log.verbose {
                    self.log.warn(format!("host key {kind} {fp} matches {}", display_path(&self.path)));
                }
                true
            }
            _ if self.policy == HostKeyPolicy::Insecure => {
                self.log.warn(format!("WARNING: --insecure-ignore-host-key: NOT checking {name}'s host key ({kind} {fp})."));
                true
            }
            HostKeyStatus::Changed { path, line, known } => self.refuse(format!(
                "\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                 @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 The host key of {name} is now {kind} {fp}, but line {line} of {} records {}.\n\
                 Someone could be eavesdropping on you (a man-in-the-middle attack), or the address now \
                 belongs to a relaunched cluster with a new host key.\n\
                 If you know the cluster was relaunched, remove the old entry and connect again:\n  \
                 ssh-keygen -R '{name}' -f {}\n{} refuses to connect.",
                display_path(&path),
                fingerprint::fingerprint(&known, FingerprintHash::Sha256),
                display_path(&path),
                self.log.tool
            )),
            HostKeyStatus::Revoked { path, line } => {
                self.refuse(format!("the host key of {name} ({kind} {fp}) is marked @revoked on line {line} of {}.", display_path(&path)))
            }
            HostKeyStatus::Unknown => {
                if self.policy == HostKeyPolicy::AcceptNew {
                    return self.learn(key, &name, kind);
                }
                if self.policy == HostKeyPolicy::Strict {
                    return self.refuse(format!(
                        "the host key of {name} is not known ({kind} {fp}) and StrictHostKeyChecking \
                         is yes: add it to {} first (connect once with StrictHostKeyChecking ask, \
                         the default), or use accept-new.",
                        display_path(&self.path)
                    ));
                }
                if let Some(why_not) = self.prompt.unavailable() {
                    return self.refuse(format!(
                        "the host key of {name} is not known ({kind} {fp}) and {why_not}. \
                         Connect once on a terminal to check it, or pass --accept-new to trust it on first use."
                    ));
                }
                let randomart = fingerprint::randomart(key, FingerprintHash::Sha256);
                let question = NewHostKey { name: &name, kind, fingerprint: &fp.to_string(), randomart: &randomart };
                match self.prompt.new_host_key(&question) {
                    HostKeyAnswer::Remember => self.learn(key, &name, kind),
                    HostKeyAnswer::Once => true,
                    HostKeyAnswer::Refuse => self.refuse(format!("host key of {name} not trusted; nothing was sent.")),
                }
            }
        }
    }

    fn learn(&self, key: &PublicKey, name: &str, kind: &str) -> bool {
        match known_hosts::append(&self.path, &self.host, self.port, key) {
            Ok(()) => {
                self.log.notice(format!(
                    "Permanently added '{name}' ({kind}) to {}.",
                    display_path(&self.path)
                ));
                true
            }
            Err(e) => self.refuse(format!("cannot remember the host key: {e}")),
        }
    }
}

impl HostKeyCheck {
    /// True when the server's key may be used; otherwise the reason is left in `problem`.
    pub(super) fn check(&self, server_key: &russh::keys::PublicKeyOrCertificate) -> bool {
        match server_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => self.decide(key),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => self.refuse(format!(
                "the server presented a host certificate; {} checks plain host keys only",
                self.log.tool
            )),
        }
    }
}
