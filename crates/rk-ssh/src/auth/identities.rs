//! The keys a hop is offered: files given with -i or IdentityFile (else ~/.ssh/id_*), their
//! permissions checked as OpenSSH does, each decrypted once (its passphrase asked the first time
//! it is offered, whichever hop that is).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rk_core::fs::display_path;
use rk_core::keys::{self, KeyFile};

use crate::{error::Error, log::Log, options::ConnectOptions};

/// A key file to offer, and its key once decrypted.
pub(crate) struct Identity {
    pub(super) path: PathBuf,
    pub(super) file: KeyFile,
    /// The key once decrypted (None: skipped), so a passphrase is asked once for all hops.
    pub(super) unlocked: OnceLock<Option<Arc<russh::keys::PrivateKey>>>,
}

impl Identity {
    /// The name a user recognises the key by: its comment, else its file.
    pub(super) fn label(&self) -> String {
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

/// The key files `given` (else the default ~/.ssh/id_* that exist), read and checked: a
/// private key others can read is an error when named, skipped with a warning otherwise.
pub(crate) fn load_identities(
    given: &[PathBuf],
    options: &ConnectOptions,
    log: &Log,
) -> Result<Vec<Identity>, Error> {
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
        if let Err(error) = check_permissions(&path, options.allow_loose_key_permissions) {
            // A public key may be readable by anyone: as with ssh, `-i key.pub` names a key
            // the agent holds (see `authenticate`).
            let public = keys::read_key_file(&path).is_ok_and(|f| !f.is_private());
            if !public {
                if explicit {
                    return Err(error);
                }
                log.warn(format!(
                    "{error}\n{}: skipping {}.",
                    log.tool,
                    display_path(&path)
                ));
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
fn check_permissions(path: &Path, allow_loose: bool) -> Result<(), Error> {
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
