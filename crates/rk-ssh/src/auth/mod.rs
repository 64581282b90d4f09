//! Logging in to one hop: the identities to offer (agent first, then key files), their
//! passphrases, the publickey exchange, then what a person types ([`interactive`]).

mod identities;
mod interactive;
mod login;
mod unlock;

use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};

use crate::connect::handler::Handle;
use crate::error::Error;
use crate::error::NotAsked;
pub(crate) use identities::{Identity, load_identities};
use interactive::Attempt;
pub(crate) use login::Login;
use login::method_names;

/// What has happened so far: what was offered, and what the server said it still accepts.
struct Progress {
    tried: Vec<String>,
    /// After the server's last refusal; empty before any.
    allowed: Vec<String>,
    /// Agent keys offered, so that a public key given as an identity counts as tried.
    offered_by_agent: Vec<russh::keys::ssh_key::public::KeyData>,
    rsa_hash: HashAlg,
}

impl Progress {
    fn refused(&mut self, result: &client::AuthResult) {
        if let client::AuthResult::Failure {
            remaining_methods, ..
        } = result
        {
            self.allowed = method_names(remaining_methods);
        }
    }

    fn takes(&self, method: &str) -> bool {
        self.allowed.iter().any(|m| m == method)
    }

    /// RSA keys sign with rsa-sha2-512/256, never SHA-1 (OpenSSH 8.8+ refuses ssh-rsa).
    fn hash_for(&self, key: &PublicKey) -> Option<HashAlg> {
        matches!(key.algorithm(), russh::keys::Algorithm::Rsa { .. }).then_some(self.rsa_hash)
    }
}

/// Logs in as OpenSSH does: the agent's keys, then the key files, then (on a terminal)
/// keyboard-interactive and password. The error says what the server accepts and what was tried.
pub(crate) async fn authenticate(handle: &mut Handle, login: &Login<'_>) -> Result<(), Error> {
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
        .unwrap_or(HashAlg::Sha512);
    let mut progress = Progress {
        tried: Vec::new(),
        allowed: Vec::new(),
        offered_by_agent: Vec::new(),
        rsa_hash,
    };
    if !login.options.no_agent && with_agent(handle, login, &mut progress).await? {
        return Ok(());
    }
    if with_key_files(handle, login, &mut progress).await? {
        return Ok(());
    }
    if progress.tried.is_empty() {
        // No key was offered, so the server has not said what it takes yet: ask ("none").
        let result = handle
            .authenticate_none(login.user)
            .await
            .map_err(Error::protocol(login.host))?;
        if result.success() {
            return Ok(());
        }
        progress.refused(&result);
    }
    let interactive = progress.takes("keyboard-interactive") || progress.takes("password");
    let not_asked = login.prompt.unavailable();
    if interactive && not_asked.is_none() && typed(handle, login, &mut progress).await? {
        return Ok(());
    }
    if progress.tried.is_empty() && !interactive {
        return Err(Error::NoUsableKey {
            user: login.user.to_string(),
            host: login.host.to_string(),
        });
    }
    Err(Error::PermissionDenied {
        user: login.user.to_string(),
        host: login.host.to_string(),
        allowed: progress.allowed,
        tried: progress.tried,
        not_asked: not_asked.filter(|_| interactive).map(|why| {
            Box::new(NotAsked {
                tool: login.log.tool,
                why,
            })
        }),
    })
}

/// The local agent's keys (only those of the key files given, with IdentitiesOnly); true once
/// one is accepted.
async fn with_agent(
    handle: &mut Handle,
    login: &Login<'_>,
    progress: &mut Progress,
) -> Result<bool, Error> {
    let (mut agent, place) = match crate::agent::client().await {
        Ok(found) => found,
        Err(e) => {
            login.log.step(format!("ssh-agent not usable: {e}"));
            return Ok(false);
        }
    };
    login.log.step(format!("ssh-agent at {place}"));
    let ids = agent.request_identities().await.unwrap_or_default();
    for id in ids {
        let russh::keys::agent::AgentIdentity::PublicKey { key, comment } = id else {
            continue;
        };
        // IdentitiesOnly: the agent signs only for the key files given.
        if login.options.identities_only
            && !login
                .identities
                .iter()
                .any(|i| i.file.public_key().key_data() == key.key_data())
        {
            continue;
        }
        let fp = fingerprint::fingerprint(&key, FingerprintHash::Sha256);
        login.log.step(format!("trying agent key {fp} ({comment})"));
        let hash = progress.hash_for(&key);
        progress.offered_by_agent.push(key.key_data().clone());
        let result = handle
            .authenticate_publickey_with(login.user, key.clone(), hash, &mut agent)
            .await;
        match result {
            Ok(r) if r.success() => {
                login.log.step("authenticated with an agent key");
                return Ok(true);
            }
            result => {
                if let Ok(r) = &result {
                    progress.refused(r);
                }
                progress.tried.push(format!("{fp} (agent: {comment})"));
            }
        }
    }
    Ok(false)
}

/// The key files, each decrypted once (its passphrase asked the first time); true once one is
/// accepted.
async fn with_key_files(
    handle: &mut Handle,
    login: &Login<'_>,
    progress: &mut Progress,
) -> Result<bool, Error> {
    for id in login.identities {
        if !progress.allowed.is_empty() && !progress.takes("publickey") {
            break;
        }
        if !id.file.is_private() {
            // Only the agent can sign for a public key given as an identity.
            if progress
                .offered_by_agent
                .contains(id.file.public_key().key_data())
            {
                continue;
            }
            return Err(Error::PublicKeyGiven {
                path: display_path(&id.path),
            });
        }
        let Some(key) = unlock::unlocked(id, login)? else {
            continue;
        };
        let public = key.public_key().clone();
        let fp = fingerprint::fingerprint(&public, FingerprintHash::Sha256);
        login
            .log
            .step(format!("trying {} {fp}", display_path(&id.path)));
        let hash = progress.hash_for(&public);
        let result = handle
            .authenticate_publickey(login.user, PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(Error::protocol(login.host))?;
        if result.success() {
            login.log.step(format!(
                "authenticated as {} with {}",
                login.user,
                display_path(&id.path)
            ));
            return Ok(true);
        }
        progress.refused(&result);
        progress
            .tried
            .push(format!("{fp} ({})", display_path(&id.path)));
    }
    Ok(false)
}

/// What a person types: a one-time code or password (keyboard-interactive, as PAM and second
/// factors use it), then a plain password — OpenSSH's order. True once accepted.
async fn typed(
    handle: &mut Handle,
    login: &Login<'_>,
    progress: &mut Progress,
) -> Result<bool, Error> {
    for method in ["keyboard-interactive", "password"] {
        if !progress.takes(method) {
            continue;
        }
        login.log.step(format!("trying {method}"));
        let attempt = if method == "password" {
            interactive::password(handle, login).await?
        } else {
            interactive::keyboard_interactive(handle, login).await?
        };
        match attempt {
            Attempt::Success => return Ok(true),
            Attempt::Refused { allowed } => {
                progress.allowed = allowed;
                progress.tried.push(method.to_string());
            }
        }
    }
    Ok(false)
}
