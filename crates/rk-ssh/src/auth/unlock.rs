//! A key's passphrase: from `--passphrase-file`, else asked through the prompt (3 tries); a
//! key is decrypted once, whichever hop first offers it.

use std::sync::Arc;

use rk_core::fs::display_path;
use rk_core::term;

use super::identities::Identity;
use super::login::Login;
use crate::error::Error;

/// Decrypts `id`: the passphrase from `--passphrase-file`, else asked (3 tries); None when it
/// cannot be asked (the key is then skipped, as ssh does).
fn unlock(id: &Identity, login: &Login<'_>) -> Result<Option<russh::keys::PrivateKey>, Error> {
    if !id.file.is_encrypted() {
        return Ok(Some(id.file.decrypt(&id.path, None)?));
    }
    let prompt = format!(
        "Passphrase for key \"{}\" ({}): ",
        id.label(),
        display_path(&id.path)
    );
    if let Some(f) = &login.options.passphrase_file {
        let pass = term::passphrase_from_file(f)?;
        return Ok(Some(id.file.decrypt(&id.path, Some(pass.as_bytes()))?));
    }
    if let Some(why_not) = login.prompt.unavailable() {
        login.log.warn(format!(
            "{} is encrypted and {why_not} for its passphrase (use --passphrase-file); skipping it.",
            display_path(&id.path),
        ));
        return Ok(None);
    }
    for attempt in 0..3 {
        let pass = login.prompt.passphrase(&prompt)?;
        match id.file.decrypt(&id.path, Some(pass.as_bytes())) {
            Ok(k) => return Ok(Some(k)),
            Err(rk_core::Error::WrongPassphrase { .. }) if attempt < 2 => {
                login.prompt.tell("Incorrect passphrase, try again.");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// The key of `id`, decrypted once (asking for its passphrase the first time only).
pub(super) fn unlocked(
    id: &Identity,
    login: &Login<'_>,
) -> Result<Option<Arc<russh::keys::PrivateKey>>, Error> {
    if let Some(key) = id.unlocked.get() {
        return Ok(key.clone());
    }
    let key = unlock(id, login)?.map(Arc::new);
    Ok(id.unlocked.get_or_init(|| key).clone())
}
