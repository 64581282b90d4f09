//! Keys and authentication: the identities to offer (agent first, then key files), their
//! passphrases, and the publickey exchange with the server.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use rk_core::keys::{self, KeyFile};
use rk_core::term::{self, Passphrase};
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};

use crate::cli::Cli;
use crate::handler::Connection;
use crate::password::{self, Attempt};
use crate::{Error, Log};

pub(crate) struct Identity {
    path: PathBuf,
    file: KeyFile,
    /// The key once decrypted (None: skipped), so a passphrase is asked once for all hops.
    unlocked: OnceLock<Option<Arc<russh::keys::PrivateKey>>>,
}

impl Identity {
    /// The name a user recognises the key by: its comment, else its file.
    fn label(&self) -> String {
        let public = self.file.public_key();
        if !public.comment().is_empty() {
            return public.comment().as_str_lossy().to_string();
        }
        match keys::sibling_comment(&self.path, &public) {
            Some(comment) => comment.as_str_lossy().to_string(),
            None => display_path(&self.path),
        }
    }
}

pub(crate) fn load_identities(cli: &Cli, given: &[PathBuf]) -> Result<Vec<Identity>, Error> {
    let explicit = !given.is_empty();
    let paths: Vec<PathBuf> = if explicit {
        given
            .iter()
            .map(|p| rk_core::fs::expand_tilde(&p.to_string_lossy()))
            .collect()
    } else {
        let dir = rk_core::fs::ssh_dir()?;
        ["id_rsa", "id_ed25519", "id_ecdsa"]
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect()
    };
    let mut out = Vec::new();
    for path in paths {
        if let Err(error) = check_permissions(&path, cli.allow_loose_key_permissions) {
            // A public key may be readable by anyone: as with ssh, `-i key.pub` names a key
            // the agent holds (see `authenticate`).
            let public = keys::read_key_file(&path).is_ok_and(|f| !f.is_private());
            if !public {
                if explicit {
                    return Err(error);
                }
                eprintln!(
                    "rk-connect: {error}\nrk-connect: skipping {}.",
                    display_path(&path)
                );
                continue;
            }
        }
        let file = keys::read_key_file(&path)?;
        out.push(Identity {
            path,
            file,
            unlocked: OnceLock::new(),
        });
    }
    Ok(out)
}

/// OpenSSH refuses private keys that others can read; so does rk, with the fix in the message.
pub(crate) fn check_permissions(path: &Path, allow_loose: bool) -> Result<(), Error> {
    let shown = display_path(path);
    let exposure = rk_core::platform::files::readable_by_others(path, &shown)
        .map_err(|e| rk_core::Error::io("cannot read", path, e))?;
    match exposure {
        Some(exposure) if !allow_loose => Err(Error::KeyPermissions {
            problem: exposure.problem,
            fix: exposure.fix,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn unlock(id: &Identity, cli: &Cli) -> Result<Option<russh::keys::PrivateKey>, Error> {
    if !id.file.is_encrypted() {
        return Ok(Some(id.file.decrypt(&id.path, None)?));
    }
    let prompt = format!(
        "Passphrase for key \"{}\" ({}): ",
        id.label(),
        display_path(&id.path)
    );
    if let Some(f) = &cli.passphrase_file {
        let pass = term::passphrase_from_file(f)?;
        return Ok(Some(id.file.decrypt(&id.path, Some(pass.as_bytes()))?));
    }
    if !crate::ask::may_ask() {
        eprintln!(
            "rk-connect: {} is encrypted and {} for its passphrase (use --passphrase-file); skipping it.",
            display_path(&id.path),
            crate::ask::why_not()
        );
        return Ok(None);
    }
    for attempt in 0..3 {
        let pass: Passphrase = term::secret(&prompt)?;
        match id.file.decrypt(&id.path, Some(pass.as_bytes())) {
            Ok(k) => return Ok(Some(k)),
            Err(rk_core::Error::WrongPassphrase { .. }) if attempt < 2 => {
                eprintln!("Incorrect passphrase, try again.")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// The key of `id`, decrypted once (asking for its passphrase the first time only).
fn unlocked(id: &Identity, cli: &Cli) -> Result<Option<Arc<russh::keys::PrivateKey>>, Error> {
    if let Some(key) = id.unlocked.get() {
        return Ok(key.clone());
    }
    let key = unlock(id, cli)?.map(Arc::new);
    Ok(id.unlocked.get_or_init(|| key).clone())
}

pub(crate) async fn authenticate(
    handle: &mut Connection,
    user: &str,
    host: &str,
    identities: &[Identity],
    cli: &Cli,
    log: &Log,
) -> Result<(), Error> {
    // RSA keys sign with rsa-sha2-512/256, never SHA-1 (OpenSSH 8.8+ refuses ssh-rsa).
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
        .unwrap_or(HashAlg::Sha512);
    let hash_for = |key: &PublicKey| {
        matches!(key.algorithm(), russh::keys::Algorithm::Rsa { .. }).then_some(rsa_hash)
    };
    let mut tried = Vec::new();
    // What the server said it still accepts, after its last refusal.
    let mut allowed: Vec<String> = Vec::new();
    let note_refusal = |allowed: &mut Vec<String>, result: &client::AuthResult| {
        if let client::AuthResult::Failure {
            remaining_methods, ..
        } = result
        {
            *allowed = method_names(remaining_methods);
        }
    };

    // Agent keys offered, so that a public key given as an identity counts as tried.
    let mut offered_by_agent = Vec::new();
    if !cli.no_agent {
        match crate::agent::client().await {
            Ok((mut agent, place)) => {
                log.step(format!("ssh-agent at {place}"));
                let ids = agent.request_identities().await.unwrap_or_default();
                for id in ids {
                    let russh::keys::agent::AgentIdentity::PublicKey { key, comment } = id else {
                        continue;
                    };
                    // IdentitiesOnly: the agent signs only for the key files given.
                    if cli.identities_only
                        && !identities
                            .iter()
                            .any(|i| i.file.public_key().key_data() == key.key_data())
                    {
                        continue;
                    }
                    log.step(format!(
                        "trying agent key {} ({comment})",
                        fingerprint::fingerprint(&key, FingerprintHash::Sha256)
                    ));
                    let hash = hash_for(&key);
                    offered_by_agent.push(key.key_data().clone());
                    match handle
                        .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                        .await
                    {
                        Ok(r) if r.success() => {
                            log.step("authenticated with an agent key");
                            return Ok(());
                        }
                        result => {
                            if let Ok(r) = &result {
                                note_refusal(&mut allowed, r);
                            }
                            tried.push(format!(
                                "{} (agent: {comment})",
                                fingerprint::fingerprint(&key, FingerprintHash::Sha256)
                            ))
                        }
                    }
                }
            }
            Err(e) => log.step(format!("ssh-agent not usable: {e}")),
        }
    }

    for id in identities {
        if !allowed.is_empty() && !allowed.iter().any(|m| m == "publickey") {
            break;
        }
        if !id.file.is_private() {
            // Only the agent can sign for a public key given as an identity.
            if offered_by_agent.contains(id.file.public_key().key_data()) {
                continue;
            }
            return Err(Error::PublicKeyGiven {
                path: display_path(&id.path),
            });
        }
        let Some(key) = unlocked(id, cli)? else {
            continue;
        };
        let public = key.public_key().clone();
        let fp = fingerprint::fingerprint(&public, FingerprintHash::Sha256);
        log.step(format!("trying {} {fp}", display_path(&id.path)));
        let hash = hash_for(&public);
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(password::protocol(host))?;
        if result.success() {
            log.step(format!(
                "authenticated as {user} with {}",
                display_path(&id.path)
            ));
            return Ok(());
        }
        note_refusal(&mut allowed, &result);
        tried.push(format!("{fp} ({})", display_path(&id.path)));
    }
    if tried.is_empty() {
        // No key was offered, so the server has not said what it takes yet: ask ("none").
        let result = handle
            .authenticate_none(user)
            .await
            .map_err(password::protocol(host))?;
        if result.success() {
            return Ok(());
        }
        note_refusal(&mut allowed, &result);
    }

    // Then what a person types: a one-time code or password (keyboard-interactive, as PAM and
    // second factors use it), then a plain password — OpenSSH's order.
    let takes = |allowed: &[String], method: &str| allowed.iter().any(|m| m == method);
    let interactive = takes(&allowed, "keyboard-interactive") || takes(&allowed, "password");
    let terminal = crate::ask::may_ask();
    if interactive && terminal {
        for method in ["keyboard-interactive", "password"] {
            if !takes(&allowed, method) {
                continue;
            }
            log.step(format!("trying {method}"));
            let attempt = if method == "password" {
                password::password(handle, user, host).await?
            } else {
                password::keyboard_interactive(handle, user, host).await?
            };
            match attempt {
                Attempt::Success => return Ok(()),
                Attempt::Refused { allowed: now } => {
                    allowed = now;
                    tried.push(method.to_string());
                }
            }
        }
    }
    if tried.is_empty() && !interactive {
        return Err(Error::NoUsableKey {
            user: user.to_string(),
            host: host.to_string(),
        });
    }
    Err(Error::PermissionDenied {
        user: user.to_string(),
        host: host.to_string(),
        allowed,
        tried,
        no_terminal: interactive && !terminal,
    })
}

/// The method names of a russh method set, as the server sent them (`publickey`, `password`…).
pub(crate) fn method_names(methods: &russh::MethodSet) -> Vec<String> {
    methods
        .iter()
        .map(|m| <&str>::from(m).to_string())
        .collect()
}
