//! The server's host key checked against known_hosts: first use, changed keys, revoked keys.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use rk_core::known_hosts::{self, HostKeyStatus};
use rk_core::term;
use russh::keys::PublicKey;

/// The server's host key against known_hosts, for one hop of the connection.
pub(crate) struct HostKeyCheck {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: PathBuf,
    pub(crate) accept_new: bool,
    /// StrictHostKeyChecking yes: an unknown host is refused, never asked about.
    pub(crate) strict: bool,
    pub(crate) insecure: bool,
    pub(crate) problem: Arc<Mutex<Option<String>>>,
    pub(crate) verbose: bool,
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
                if self.verbose {
                    eprintln!("rk-connect: host key {kind} {fp} matches {}", display_path(&self.path));
                }
                true
            }
            _ if self.insecure => {
                eprintln!("rk-connect: WARNING: --insecure-ignore-host-key: NOT checking {name}'s host key ({kind} {fp}).");
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
                 ssh-keygen -R '{name}' -f {}\nrk-connect refuses to connect.",
                display_path(&path),
                fingerprint::fingerprint(&known, FingerprintHash::Sha256),
                display_path(&path)
            )),
            HostKeyStatus::Revoked { path, line } => {
                self.refuse(format!("the host key of {name} ({kind} {fp}) is marked @revoked on line {line} of {}.", display_path(&path)))
            }
            HostKeyStatus::Unknown => {
                if self.accept_new {
                    return self.learn(key, &name, kind);
                }
                if self.strict {
                    return self.refuse(format!(
                        "the host key of {name} is not known ({kind} {fp}) and StrictHostKeyChecking \
                         is yes: add it to {} first (connect once with StrictHostKeyChecking ask, \
                         the default), or use accept-new.",
                        display_path(&self.path)
                    ));
                }
                if !crate::ask::may_ask() {
                    return self.refuse(format!(
                        "the host key of {name} is not known ({kind} {fp}) and {}. \
                         Connect once on a terminal to check it, or pass --accept-new to trust it on first use.",
                        crate::ask::why_not()
                    ));
                }
                let art = fingerprint::randomart(key, FingerprintHash::Sha256);
                let question = format!(
                    "The authenticity of host '{name}' can't be established.\r\n{kind} key fingerprint is {fp}.\r\n{}\r\n\
                     Are you sure you want to continue connecting (yes/no/once)? ",
                    art.replace('\n', "\r\n")
                );
                match term::ask_tty(&question).as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("yes" | "y") => self.learn(key, &name, kind),
                    Some("once") => true,
                    _ => self.refuse(format!("host key of {name} not trusted; nothing was sent.")),
                }
            }
        }
    }

    fn learn(&self, key: &PublicKey, name: &str, kind: &str) -> bool {
        match known_hosts::append(&self.path, &self.host, self.port, key) {
            Ok(()) => {
                crate::notice::notice!(
                    "rk-connect: Permanently added '{name}' ({kind}) to {}.",
                    display_path(&self.path)
                );
                true
            }
            Err(e) => self.refuse(format!("cannot remember the host key: {e}")),
        }
    }
}

impl HostKeyCheck {
    /// True when the server's key may be used; otherwise the reason is left in `problem`.
    pub(crate) fn check(&self, server_key: &russh::keys::PublicKeyOrCertificate) -> bool {
        match server_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => self.decide(key),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => self.refuse(
                "the server presented a host certificate; rk-connect checks plain host keys only"
                    .into(),
            ),
        }
    }
}
