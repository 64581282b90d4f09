//! Keys: generating them, and reading every format a platform user meets (OpenSSH private and
//! public keys, PuTTY `.ppk` v2/v3, PEM RSA from older tools, RFC 4716 public keys).
//!
//! Everything ends up as `ssh_key::PrivateKey` / `ssh_key::PublicKey`, the same types russh
//! uses, so the connect tool can hand a loaded key straight to the SSH client.

pub mod ppk;
mod rfc4716;
mod rsa_gen;

use std::path::{Path, PathBuf};

use ssh_key::private::{KeypairData, RsaKeypair};
use ssh_key::{Algorithm, EcdsaCurve, Kdf, LineEnding, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use rfc4716::parse as parse_rfc4716;

/// Largest key file rk reads. A 16384-bit RSA key in any format is under 20 KiB.
pub const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// bcrypt-pbkdf rounds rk writes by default (current OpenSSH's default).
pub const DEFAULT_KDF_ROUNDS: u32 = 24;
/// Most bcrypt-pbkdf rounds rk runs when *reading* a key: ~1000 rounds already take several
/// seconds; a file asking for 2^31 is broken or hostile.
pub const MAX_KDF_ROUNDS: u32 = 1000;

/// RSA modulus sizes rk generates.
pub const RSA_MIN_BITS: u32 = 2048;
pub const RSA_MAX_BITS: u32 = 16384;
pub const RSA_DEFAULT_BITS: u32 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    Rsa,
    Ed25519,
    Ecdsa,
}

impl KeyType {
    /// The name ssh-keygen uses in `-t` and in "Generating public/private rsa key pair."
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::Ecdsa => "ecdsa",
        }
    }

    /// `id_rsa`, `id_ed25519`, `id_ecdsa`: OpenSSH's default file names.
    pub fn default_file_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "id_rsa",
            KeyType::Ed25519 => "id_ed25519",
            KeyType::Ecdsa => "id_ecdsa",
        }
    }

    pub fn parse(name: &str) -> Result<KeyType> {
        match name.to_ascii_lowercase().as_str() {
            "rsa" | "ssh-rsa" => Ok(KeyType::Rsa),
            "ed25519" | "ssh-ed25519" => Ok(KeyType::Ed25519),
            "ecdsa" | "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
                Ok(KeyType::Ecdsa)
            }
            "dsa" | "ssh-dss" => Err(Error::Usage(
                "DSA keys are not supported: they are insecure and OpenSSH no longer accepts them. \
                 Use -t ed25519, or -t rsa -b 4096 (the platform's recommendation)."
                    .into(),
            )),
            "rsa1" => Err(Error::Usage(
                "SSH protocol 1 keys (rsa1) are long obsolete. Use -t rsa -b 4096 or -t ed25519.".into(),
            )),
            other => Err(Error::Usage(format!(
                "unknown key type {other:?}. Use -t rsa (default, 4096 bits), -t ed25519 or -t ecdsa."
            ))),
        }
    }
}

/// What to generate: a type and a size, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub kind: KeyType,
    pub bits: u32,
}

impl KeySpec {
    /// Validates `-t`/`-b` the way ssh-keygen would, but with errors that say what to do.
    pub fn new(kind: KeyType, bits: Option<u32>) -> Result<KeySpec> {
        let bits = match (kind, bits) {
            (KeyType::Rsa, None) => RSA_DEFAULT_BITS,
            (KeyType::Rsa, Some(b)) if b < RSA_MIN_BITS => {
                return Err(Error::Usage(format!(
                    "RSA keys of {b} bits are too weak: they can be broken and current OpenSSH servers \
                     refuse keys under 2048 bits. Use -b 4096 (the default) or -t ed25519."
                )));
            }
            (KeyType::Rsa, Some(b)) if b > RSA_MAX_BITS => {
                return Err(Error::Usage(format!(
                    "RSA keys of {b} bits are larger than OpenSSH supports (at most {RSA_MAX_BITS}). Use -b 4096."
                )));
            }
            (KeyType::Rsa, Some(b)) if b % 8 != 0 => {
                return Err(Error::Usage(format!(
                    "-b {b}: the RSA key size must be a multiple of 8, e.g. -b 4096."
                )));
            }
            (KeyType::Rsa, Some(b)) => b,
            (KeyType::Ecdsa, None) => 256,
            (KeyType::Ecdsa, Some(b @ (256 | 384 | 521))) => b,
            (KeyType::Ecdsa, Some(b)) => {
                return Err(Error::Usage(format!(
                    "-b {b}: ECDSA keys are 256, 384 or 521 bits (default 256)."
                )));
            }
            (KeyType::Ed25519, None) => 256,
            (KeyType::Ed25519, Some(b)) => {
                return Err(Error::Usage(format!(
                    "-b {b}: Ed25519 keys have a fixed size (256 bits); leave out -b. \
                     For an RSA key of {b} bits use -t rsa -b {b}."
                )));
            }
        };
        Ok(KeySpec { kind, bits })
    }

    fn algorithm(&self) -> Algorithm {
        match (self.kind, self.bits) {
            (KeyType::Rsa, _) => Algorithm::Rsa { hash: None },
            (KeyType::Ed25519, _) => Algorithm::Ed25519,
            (KeyType::Ecdsa, 384) => Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP384,
            },
            (KeyType::Ecdsa, 521) => Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521,
            },
            (KeyType::Ecdsa, _) => Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
        }
    }
}

/// Generates a fresh, unencrypted key. RSA uses all cores (see `rsa_gen`).
pub fn generate(spec: KeySpec, comment: &str) -> Result<PrivateKey> {
    let mut key = match spec.kind {
        KeyType::Rsa => {
            let rsa = rsa_gen::generate(spec.bits)?;
            let keypair = RsaKeypair::try_from(&rsa)?;
            PrivateKey::new(KeypairData::Rsa(keypair), comment)?
        }
        _ => PrivateKey::random(&mut rand::rng(), spec.algorithm())?,
    };
    key.set_comment(comment);
    Ok(key)
}

/// Encrypts a key the way current OpenSSH does: aes256-ctr, bcrypt-pbkdf with `rounds`.
pub fn encrypt(key: &PrivateKey, passphrase: &[u8], rounds: u32) -> Result<PrivateKey> {
    if rounds == 0 {
        return Err(Error::Usage(
            "-a 0: the KDF needs at least 1 round (default 24).".into(),
        ));
    }
    let mut salt = vec![0u8; 16];
    rand::fill(&mut salt[..]);
    let kdf = Kdf::Bcrypt { salt, rounds };
    Ok(key.encrypt_with(ssh_key::Cipher::Aes256Ctr, kdf, rand::random(), passphrase)?)
}

/// The OpenSSH private key file text (`-----BEGIN OPENSSH PRIVATE KEY-----`), zeroized on drop.
pub fn to_openssh_private(key: &PrivateKey) -> Result<Zeroizing<String>> {
    Ok(key.to_openssh(LineEnding::LF)?)
}

/// The `authorized_keys` line of a public key: `type base64 comment` (no newline).
pub fn public_line(key: &PublicKey) -> Result<String> {
    Ok(key.to_openssh()?)
}

/// A key file as read from disk, before any passphrase is asked for.
pub enum KeyFile {
    /// An OpenSSH private key, possibly encrypted (its public half is always readable).
    OpenSsh(PrivateKey),
    /// A PuTTY `.ppk`: the header (public half) now, the private half on [`KeyFile::decrypt`].
    Ppk {
        text: Zeroizing<String>,
        header: ppk::PpkHeader,
    },
    /// An unencrypted PEM (PKCS#1 or PKCS#8) RSA private key, from older ssh-keygen or OpenSSL.
    Pem(PrivateKey),
    /// A public key: an OpenSSH line or an RFC 4716 block.
    Public(PublicKey),
}

impl std::fmt::Debug for KeyFile {
    // Never print key material, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            KeyFile::OpenSsh(_) => "OpenSsh",
            KeyFile::Ppk { .. } => "Ppk",
            KeyFile::Pem(_) => "Pem",
            KeyFile::Public(_) => "Public",
        };
        write!(f, "KeyFile::{kind}({})", self.public_key().algorithm())
    }
}

impl KeyFile {
    pub fn format_name(&self) -> &'static str {
        match self {
            KeyFile::OpenSsh(_) => "OpenSSH private key",
            KeyFile::Ppk { .. } => "PuTTY private key",
            KeyFile::Pem(_) => "PEM RSA private key",
            KeyFile::Public(_) => "public key",
        }
    }

    pub fn is_private(&self) -> bool {
        !matches!(self, KeyFile::Public(_))
    }

    pub fn is_encrypted(&self) -> bool {
        match self {
            KeyFile::OpenSsh(k) => k.is_encrypted(),
            KeyFile::Ppk { header, .. } => header.encrypted,
            KeyFile::Pem(_) | KeyFile::Public(_) => false,
        }
    }

    /// The public half, with the comment the file carries (an encrypted OpenSSH key keeps its
    /// comment inside the encrypted part, so it has none here).
    pub fn public_key(&self) -> PublicKey {
        match self {
            KeyFile::OpenSsh(k) | KeyFile::Pem(k) => k.public_key().clone(),
            KeyFile::Ppk { header, .. } => header.public_key.clone(),
            KeyFile::Public(p) => p.clone(),
        }
    }

    /// The usable private key. `passphrase` is needed only if [`is_encrypted`](Self::is_encrypted).
    pub fn decrypt(&self, path: &Path, passphrase: Option<&[u8]>) -> Result<PrivateKey> {
        self.decrypt_with_limit(path, passphrase, MAX_KDF_ROUNDS)
    }

    /// As [`decrypt`](Self::decrypt), with a different bound on bcrypt-pbkdf rounds.
    pub fn decrypt_with_limit(
        &self,
        path: &Path,
        passphrase: Option<&[u8]>,
        max_rounds: u32,
    ) -> Result<PrivateKey> {
        let need = || Error::PassphraseNeeded {
            path: path.to_path_buf(),
        };
        match self {
            KeyFile::OpenSsh(k) if k.is_encrypted() => {
                if let Kdf::Bcrypt { rounds, .. } = k.kdf()
                    && *rounds > max_rounds
                {
                    return Err(Error::Unsupported {
                        path: path.to_path_buf(),
                        what: format!(
                            "the key asks for {rounds} bcrypt-pbkdf rounds; rk stops at {max_rounds} \
                                 (more would take minutes). If you made this key on purpose, lift the \
                                 bound with --max-kdf-rounds {rounds}."
                        ),
                    });
                }
                let pass = passphrase.ok_or_else(need)?;
                k.decrypt(pass).map_err(|e| match e {
                    ssh_key::Error::Crypto | ssh_key::Error::Encoding(_) => {
                        Error::WrongPassphrase {
                            path: path.to_path_buf(),
                        }
                    }
                    other => Error::NotAKey {
                        path: path.to_path_buf(),
                        detail: other.to_string(),
                    },
                })
            }
            KeyFile::OpenSsh(k) | KeyFile::Pem(k) => Ok(k.clone()),
            KeyFile::Ppk { text, .. } => ppk::decode(text, passphrase).map_err(|e| match e {
                ppk::PpkError::NeedPassphrase => need(),
                ppk::PpkError::WrongPassphrase => Error::WrongPassphrase {
                    path: path.to_path_buf(),
                },
                ppk::PpkError::Malformed(detail) => Error::NotAKey {
                    path: path.to_path_buf(),
                    detail,
                },
            }),
            KeyFile::Public(_) => Err(Error::PublicKeyOnly {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Reads and recognises a key file of any supported format.
pub fn read_key_file(path: &Path) -> Result<KeyFile> {
    let bytes = Zeroizing::new(crate::fs::read_limited(path, MAX_KEY_FILE_BYTES)?);
    parse_key(&bytes, path)
}

/// Recognises a key from its text. `path` is used only in error messages.
pub fn parse_key(bytes: &[u8], path: &Path) -> Result<KeyFile> {
    let not_a_key = |detail: String| Error::NotAKey {
        path: path.to_path_buf(),
        detail,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| not_a_key("the file is binary, not text".into()))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let unsupported = |what: &str| Error::Unsupported {
        path: path.to_path_buf(),
        what: what.into(),
    };

    if trimmed.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        let key = PrivateKey::from_openssh(trimmed)
            .map_err(|e| not_a_key(format!("damaged OpenSSH private key: {e}")))?;
        return Ok(KeyFile::OpenSsh(key));
    }
    if trimmed.starts_with("PuTTY-User-Key-File-") {
        let header = ppk::read_header(trimmed).map_err(not_a_key)?;
        return Ok(KeyFile::Ppk {
            text: Zeroizing::new(trimmed.to_string()),
            header,
        });
    }
    if trimmed.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        if trimmed.contains("Proc-Type: 4,ENCRYPTED") {
            return Err(unsupported(
                "this is a legacy encrypted PEM key, which rk does not read. Convert it once with \
                 `ssh-keygen -p -f FILE` (it rewrites the key in the OpenSSH format, same passphrase allowed).",
            ));
        }
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let rsa = rsa::RsaPrivateKey::from_pkcs1_pem(trimmed)
            .map_err(|e| not_a_key(format!("damaged PEM RSA key: {e}")))?;
        return pem_to_private(&rsa).map(KeyFile::Pem);
    }
    if trimmed.starts_with("-----BEGIN PRIVATE KEY-----") {
        use rsa::pkcs8::DecodePrivateKey;
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(trimmed).map_err(|_| {
            unsupported("rk reads PKCS#8 keys only when they hold RSA; convert this key with `ssh-keygen -p -f FILE`")
        })?;
        return pem_to_private(&rsa).map(KeyFile::Pem);
    }
    if trimmed.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || trimmed.starts_with("-----BEGIN EC PRIVATE KEY-----")
        || trimmed.starts_with("-----BEGIN DSA PRIVATE KEY-----")
    {
        return Err(unsupported(
            "this PEM key type is not read by rk. Convert it once with `ssh-keygen -p -f FILE`, which \
             rewrites it in the OpenSSH format.",
        ));
    }
    if trimmed.starts_with("---- BEGIN SSH2 PUBLIC KEY ----") {
        return rfc4716::parse(trimmed)
            .map(KeyFile::Public)
            .map_err(not_a_key);
    }
    if trimmed.starts_with("-----BEGIN") {
        return Err(not_a_key(format!(
            "unrecognised PEM block {:?}",
            trimmed.lines().next().unwrap_or_default()
        )));
    }
    // An OpenSSH public key line (the first that is not blank or a comment).
    let line = trimmed
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| not_a_key("the file is empty".into()))?;
    if line.len() > 64 * 1024 {
        return Err(not_a_key(
            "the line is far too long for a public key".into(),
        ));
    }
    PublicKey::from_openssh(line)
        .map(KeyFile::Public)
        .map_err(|e| not_a_key(format!("not an OpenSSH public key line: {e}")))
}

fn pem_to_private(rsa: &rsa::RsaPrivateKey) -> Result<PrivateKey> {
    let keypair = RsaKeypair::try_from(rsa)?;
    Ok(PrivateKey::new(KeypairData::Rsa(keypair), "")?)
}

/// The comment of the `.pub` beside a private key, if that file holds the same key and has one.
/// An encrypted OpenSSH key keeps its own comment inside the encrypted part, so tools that show
/// a key without unlocking it (fingerprints, prompts) take the comment from there.
pub fn sibling_comment(private: &Path, public: &PublicKey) -> Option<ssh_key::Comment> {
    match read_key_file(&public_path(private)) {
        Ok(KeyFile::Public(p)) if p.key_data() == public.key_data() && !p.comment().is_empty() => {
            Some(p.comment().clone())
        }
        _ => None,
    }
}

/// The files `rk-keygen` writes for a key at `path`: the key itself and `path.pub`.
pub fn public_path(private: &Path) -> PathBuf {
    crate::fs::with_suffix(private, ".pub")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/keys"
        ))
    }

    #[test]
    fn spec_validation() {
        assert_eq!(KeySpec::new(KeyType::Rsa, None).unwrap().bits, 4096);
        assert!(KeySpec::new(KeyType::Rsa, Some(1024)).is_err());
        assert!(KeySpec::new(KeyType::Rsa, Some(32768)).is_err());
        assert!(KeySpec::new(KeyType::Ed25519, Some(4096)).is_err());
        assert!(KeySpec::new(KeyType::Ecdsa, Some(300)).is_err());
        assert_eq!(KeySpec::new(KeyType::Ecdsa, Some(521)).unwrap().bits, 521);
        assert!(
            KeyType::parse("dsa")
                .unwrap_err()
                .to_string()
                .contains("ed25519")
        );
    }

    #[test]
    fn every_fixture_format_yields_the_same_public_key() {
        let d = fixtures();
        let pass = b"correct horse";
        for (file, reference) in [
            ("putty/rsa.ppk", "putty/rsa.openssh.pub"),
            ("putty/rsa_pp.ppk", "putty/rsa_pp.openssh.pub"),
            ("putty/rsa_pp_v2.ppk", "putty/rsa_pp_v2.openssh.pub"),
            ("putty/ed25519_v2.ppk", "putty/ed25519_v2.openssh.pub"),
            ("putty/ed25519_pp.ppk", "putty/ed25519_pp.openssh.pub"),
            ("putty/ecdsa256.ppk", "putty/ecdsa256.openssh.pub"),
            ("putty/rsa.openssh-pem", "putty/rsa.openssh.pub"),
            ("putty/rsa.rfc4716.pub", "putty/rsa.openssh.pub"),
            ("putty/ecdsa256.rfc4716.pub", "putty/ecdsa256.openssh.pub"),
            ("openssh/rsa4096_pp", "openssh/rsa4096_pp.pub"),
            ("openssh/ecdsa384", "openssh/ecdsa384.pub"),
        ] {
            let kf = read_key_file(&d.join(file)).unwrap();
            let expected =
                PublicKey::from_openssh(std::fs::read_to_string(d.join(reference)).unwrap().trim())
                    .unwrap();
            assert_eq!(kf.public_key().key_data(), expected.key_data(), "{file}");
            if kf.is_private() {
                let key = kf.decrypt(&d.join(file), Some(pass)).unwrap();
                assert_eq!(key.public_key().key_data(), expected.key_data(), "{file}");
            }
        }
    }

    #[test]
    fn wrong_passphrase_is_reported_as_such() {
        let d = fixtures();
        for file in [
            "openssh/rsa4096_pp",
            "putty/ed25519_pp.ppk",
            "putty/rsa_pp_v2.ppk",
        ] {
            let kf = read_key_file(&d.join(file)).unwrap();
            let err = kf.decrypt(Path::new(file), Some(b"wrong")).unwrap_err();
            assert!(
                matches!(err, Error::WrongPassphrase { .. }),
                "{file}: {err}"
            );
            let err = kf.decrypt(Path::new(file), None).unwrap_err();
            assert!(
                matches!(err, Error::PassphraseNeeded { .. }),
                "{file}: {err}"
            );
        }
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for input in [
            &b""[..],
            b"hello",
            b"\xff\xfe\x00",
            b"ssh-rsa !!!! x",
            b"-----BEGIN FOO-----\n",
        ] {
            let err = parse_key(input, Path::new("x")).unwrap_err();
            assert_eq!(err.exit_code(), 1, "{err}");
        }
    }

    #[test]
    fn encrypt_uses_requested_rounds_and_round_trips() {
        let key = generate(KeySpec::new(KeyType::Ed25519, None).unwrap(), "c").unwrap();
        let enc = encrypt(&key, b"pw", 3).unwrap();
        assert!(matches!(enc.kdf(), Kdf::Bcrypt { rounds: 3, .. }));
        assert_eq!(enc.decrypt(b"pw").unwrap().key_data(), key.key_data());
    }
}
