//! PuTTY `.ppk` files.
//!
//! Reading the private half is `ssh-key`'s job (`PrivateKey::from_ppk`, v2 and v3). What it
//! lacks, and this module adds:
//! - a writer for the current format, PPK v3 (PuTTY 0.75+), following PuTTY's
//!   `doc/pubkeyfmt.but`: Argon2id + AES-256-CBC when a passphrase is set, HMAC-SHA-256 MAC;
//! - a header reader that yields the public key without the passphrase (the public half is
//!   stored in clear), and that refuses absurd Argon2 parameters *before* any key derivation,
//!   so a crafted file cannot make rk allocate gigabytes or spin for minutes.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use ssh_key::encoding::Encode;
use ssh_key::private::KeypairData;
use ssh_key::public::KeyData;
use ssh_key::{Cipher, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Argon2id parameters rk writes. PuTTYgen uses 8 MiB, one lane, and tunes the passes to
/// ~100 ms on the machine that makes the key; a fixed count keeps output predictable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub passes: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            memory_kib: 8192,
            passes: 21,
            parallelism: 1,
        }
    }
}

/// Upper bounds rk accepts when *reading* a PPK. PuTTYgen never writes more than a few
/// hundred MiB; anything beyond this is a broken or hostile file.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 1024 * 1024; // 1 GiB
pub const MAX_ARGON2_PASSES: u32 = 1000;
pub const MAX_ARGON2_PARALLELISM: u32 = 64;
/// Bounds the total work (memory × passes) too: 1 GiB × 16 passes, or 8 MiB × 1000 passes.
pub const MAX_ARGON2_WORK_KIB: u64 = 16 * 1024 * 1024;

/// The clear-text parts of a PPK file.
#[derive(Debug)]
pub struct PpkHeader {
    pub version: u8,
    pub algorithm: String,
    pub encrypted: bool,
    pub comment: String,
    pub public_key: PublicKey,
    pub argon2: Option<Argon2Params>,
}

/// Reads the header and public half of a PPK file, checking that it is well-formed enough to be
/// decrypted safely. Never touches the private lines.
pub fn read_header(text: &str) -> std::result::Result<PpkHeader, String> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next().ok_or("empty file")?;
    let rest = first
        .strip_prefix("PuTTY-User-Key-File-")
        .ok_or("no PuTTY-User-Key-File header")?;
    let (version, algorithm) = rest.split_once(": ").ok_or("malformed header line")?;
    let version: u8 = match version {
        "2" => 2,
        "3" => 3,
        v => {
            return Err(format!(
                "PPK version {v} is not supported (rk reads versions 2 and 3)"
            ));
        }
    };
    let mut encryption = None;
    let mut comment = String::new();
    let mut public_blob = None;
    let (mut memory, mut passes, mut parallelism, mut kdf) = (None, None, None, None);
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "Encryption" => encryption = Some(value.to_string()),
            "Comment" => comment = value.to_string(),
            "Key-Derivation" => kdf = Some(value.to_string()),
            "Argon2-Memory" => memory = Some(parse_u32(key, value)?),
            "Argon2-Passes" => passes = Some(parse_u32(key, value)?),
            "Argon2-Parallelism" => parallelism = Some(parse_u32(key, value)?),
            "Public-Lines" => {
                let n = parse_u32(key, value)? as usize;
                // A key blob is at most a few KiB: 64 base64 lines hold 3 KiB, 16384-bit RSA
                // needs 44. Refuse silly counts instead of collecting them.
                if n > 256 {
                    return Err(format!("Public-Lines: {n} is far too many for a key"));
                }
                let mut b64 = String::new();
                for _ in 0..n {
                    b64.push_str(
                        lines
                            .next()
                            .ok_or("file ends inside the public key")?
                            .trim(),
                    );
                }
                public_blob = Some(base64_decode(&b64).ok_or("public key is not valid base64")?);
            }
            "Private-Lines" => break,
            _ => {}
        }
    }
    let encrypted = match encryption.as_deref() {
        Some("none") => false,
        Some("aes256-cbc") => true,
        Some(other) => return Err(format!("unsupported encryption {other:?}")),
        None => return Err("no Encryption line".into()),
    };
    let blob = public_blob.ok_or("no public key")?;
    let key_data = KeyData::from_bytes_checked(&blob)?;
    let public_key = PublicKey::new(key_data, comment.clone());

    let argon2 = if encrypted && version == 3 {
        match kdf.as_deref() {
            Some("Argon2id" | "Argon2i" | "Argon2d") => {}
            Some(other) => return Err(format!("unsupported key derivation {other:?}")),
            None => return Err("no Key-Derivation line".into()),
        }
        let params = Argon2Params {
            memory_kib: memory.ok_or("no Argon2-Memory line")?,
            passes: passes.ok_or("no Argon2-Passes line")?,
            parallelism: parallelism.ok_or("no Argon2-Parallelism line")?,
        };
        check_argon2_bounds(&params)?;
        Some(params)
    } else {
        None
    };
    Ok(PpkHeader {
        version,
        algorithm: algorithm.to_string(),
        encrypted,
        comment,
        public_key,
        argon2,
    })
}

fn check_argon2_bounds(p: &Argon2Params) -> std::result::Result<(), String> {
    let work = u64::from(p.memory_kib) * u64::from(p.passes);
    if p.memory_kib > MAX_ARGON2_MEMORY_KIB
        || p.passes > MAX_ARGON2_PASSES
        || p.parallelism > MAX_ARGON2_PARALLELISM
        || p.parallelism == 0
        || p.passes == 0
        || work > MAX_ARGON2_WORK_KIB
    {
        return Err(format!(
            "Argon2 parameters beyond rk's bounds (memory {} KiB, passes {}, parallelism {}; \
             rk accepts at most {} KiB, {} passes, {} lanes): refusing to derive a key from this file",
            p.memory_kib,
            p.passes,
            p.parallelism,
            MAX_ARGON2_MEMORY_KIB,
            MAX_ARGON2_PASSES,
            MAX_ARGON2_PARALLELISM
        ));
    }
    Ok(())
}

trait FromBytesChecked: Sized {
    fn from_bytes_checked(blob: &[u8]) -> std::result::Result<Self, String>;
}
impl FromBytesChecked for KeyData {
    fn from_bytes_checked(blob: &[u8]) -> std::result::Result<Self, String> {
        use ssh_key::encoding::Decode;
        let mut reader = blob;
        let data = KeyData::decode(&mut reader).map_err(|e| format!("bad public key: {e}"))?;
        Ok(data)
    }
}

fn parse_u32(key: &str, value: &str) -> std::result::Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{key}: {value:?} is not a number rk accepts"))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use ssh_key::encoding::base64::{Base64, Encoding};
    Base64::decode_vec(s).ok()
}

fn base64_lines(bytes: &[u8]) -> (usize, String) {
    use ssh_key::encoding::base64::{Base64, Encoding};
    let b64 = Base64::encode_string(bytes);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 1);
    let mut count = 0;
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so any byte boundary is a char boundary.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
        count += 1;
    }
    (count, out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// PPK v3 key material: Argon2 output of 80 bytes = AES-256 key, CBC IV, HMAC-SHA-256 key.
fn derive_key_material(
    variant: argon2::Algorithm,
    params: Argon2Params,
    passphrase: &[u8],
    salt: &[u8],
) -> std::result::Result<Zeroizing<[u8; 80]>, String> {
    let argon = argon2::Argon2::new(
        variant,
        argon2::Version::V0x13,
        argon2::Params::new(
            params.memory_kib,
            params.passes,
            params.parallelism,
            Some(80),
        )
        .map_err(|e| format!("Argon2 parameters: {e}"))?,
    );
    let mut okm = Zeroizing::new([0u8; 80]);
    argon
        .hash_password_into(passphrase, salt, &mut *okm)
        .map_err(|e| format!("Argon2: {e}"))?;
    Ok(okm)
}

/// What the Private-MAC covers: algorithm, encryption, comment, public blob and the
/// (decrypted, padded) private blob, each as an SSH string.
fn mac_input(
    algorithm: &str,
    encryption: &str,
    comment: &str,
    public_blob: &[u8],
    private_blob: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, ssh_key::encoding::Error> {
    let mut out = Zeroizing::new(Vec::new());
    algorithm.encode(&mut *out)?;
    encryption.encode(&mut *out)?;
    comment.encode(&mut *out)?;
    public_blob.encode(&mut *out)?;
    private_blob.encode(&mut *out)?;
    Ok(out)
}

/// The algorithm-specific private blob PuTTY stores (pubkeyfmt.but, "Private key data").
fn private_blob(key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    match key.key_data() {
        KeypairData::Rsa(kp) => {
            kp.private().d().encode(&mut *out)?;
            kp.private().p().encode(&mut *out)?;
            kp.private().q().encode(&mut *out)?;
            kp.private().iqmp().encode(&mut *out)?;
        }
        // PuTTY stores the 32-byte Ed25519 secret as a string.
        KeypairData::Ed25519(kp) => kp.private.as_ref().as_slice().encode(&mut *out)?,
        KeypairData::Ecdsa(kp) => {
            ssh_key::Mpint::from_positive_bytes(kp.private_key_bytes()).encode(&mut *out)?
        }
        KeypairData::Encrypted(_) => {
            return Err(Error::Usage(
                "internal: key must be decrypted before PPK export".into(),
            ));
        }
        other => {
            return Err(Error::Usage(format!(
                "PuTTY export of {} keys is not supported",
                other.algorithm().map(|a| a.to_string()).unwrap_or_default()
            )));
        }
    }
    Ok(out)
}

/// Serialises a (decrypted) private key as a PPK v3 file. With a passphrase the private blob is
/// encrypted with AES-256-CBC under a key derived by Argon2id; the MAC covers every field.
pub fn to_ppk_v3(
    key: &PrivateKey,
    passphrase: Option<&[u8]>,
    params: Argon2Params,
) -> Result<Zeroizing<String>> {
    let algorithm = key.algorithm().to_string();
    let comment: String = key
        .comment()
        .as_str_lossy()
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let public_blob = key.public_key().key_data().encode_vec()?;
    let mut private = private_blob(key)?;
    let passphrase = passphrase.filter(|p| !p.is_empty());
    // Readers (PuTTY, ssh-key) take the passphrase as text; bytes that are not UTF-8 would
    // make a file no one can open (found by the ppk_roundtrip fuzz target).
    if passphrase.is_some_and(|p| std::str::from_utf8(p).is_err()) {
        return Err(Error::Usage(
            "a PuTTY key's passphrase must be text (UTF-8); this one has other bytes. Choose another passphrase."
                .into(),
        ));
    }
    let encryption = if passphrase.is_some() {
        "aes256-cbc"
    } else {
        "none"
    };

    // Key material: 32 bytes AES key, 16 bytes IV, 32 bytes MAC key (empty MAC key unencrypted).
    let mut kdf_lines = String::new();
    let mut mac_key = Zeroizing::new(Vec::new());
    let mut cipher_key_iv = None;
    if let Some(pass) = passphrase {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let okm = derive_key_material(argon2::Algorithm::Argon2id, params, pass, &salt)
            .map_err(Error::Usage)?;
        mac_key.extend_from_slice(&okm[48..80]);
        cipher_key_iv = Some(okm);
        kdf_lines = format!(
            "Key-Derivation: Argon2id\nArgon2-Memory: {}\nArgon2-Passes: {}\nArgon2-Parallelism: {}\nArgon2-Salt: {}\n",
            params.memory_kib,
            params.passes,
            params.parallelism,
            hex(&salt)
        );
        // Pad to the cipher block with random bytes (readers stop after the fields they need).
        let pad = (16 - private.len() % 16) % 16;
        let mut padding = [0u8; 16];
        rand::fill(&mut padding[..pad]);
        private.extend_from_slice(&padding[..pad]);
    }

    let mac_input = mac_input(&algorithm, encryption, &comment, &public_blob, &private)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key)
        .map_err(|_| Error::Usage("internal: HMAC key".into()))?;
    mac.update(&mac_input);
    let mac = mac.finalize().into_bytes();

    if let Some(okm) = &cipher_key_iv {
        Cipher::Aes256Cbc
            .encrypt(&okm[..32], &okm[32..48], &mut private)
            .map_err(|e| Error::Usage(format!("internal: AES-256-CBC: {e}")))?;
    }

    let (pub_count, pub_lines) = base64_lines(&public_blob);
    let (priv_count, priv_lines) = base64_lines(&private);
    let mut out = Zeroizing::new(String::new());
    out.push_str(&format!(
        "PuTTY-User-Key-File-3: {algorithm}\nEncryption: {encryption}\nComment: {comment}\n"
    ));
    out.push_str(&format!("Public-Lines: {pub_count}\n{pub_lines}"));
    out.push_str(&kdf_lines);
    out.push_str(&format!("Private-Lines: {priv_count}\n"));
    out.push_str(&priv_lines);
    out.push_str(&format!("Private-MAC: {}\n", hex(&mac)));
    Ok(out)
}

/// Decrypts (or just parses) a PPK file, after checking its header and KDF bounds.
pub fn decode(text: &str, passphrase: Option<&[u8]>) -> std::result::Result<PrivateKey, PpkError> {
    let header = read_header(text).map_err(PpkError::Malformed)?;
    let pass = match (header.encrypted, passphrase) {
        (false, _) => None,
        (true, None) => return Err(PpkError::NeedPassphrase),
        (true, Some(p)) => Some(String::from_utf8_lossy(p).into_owned()),
    };
    match PrivateKey::from_ppk(text, pass) {
        Ok(k) => Ok(k),
        // ssh-key keeps its PPK error type private; a MAC mismatch on an encrypted file means
        // the passphrase was wrong (the header was already checked above).
        Err(e @ ssh_key::Error::Ppk(_))
            if header.encrypted && e.to_string().contains("incorrect MAC") =>
        {
            Err(PpkError::WrongPassphrase)
        }
        Err(_) if header.algorithm == "ssh-ed25519" => {
            decode_ed25519(text, &header, passphrase.filter(|_| header.encrypted))
        }
        Err(e) => Err(PpkError::Malformed(e.to_string())),
    }
}

/// PuTTY stores an Ed25519 secret as a 32-byte string; ssh-key reads it as an SSH mpint and so
/// refuses the 1 secret in 512 that starts with a zero byte followed by one below 0x80 (a
/// "non-minimal" mpint to it). For those files only, rk decodes the private half itself, with
/// the same steps PuTTY's `pubkeyfmt.but` gives: key derivation, AES-256-CBC, MAC check.
fn decode_ed25519(
    text: &str,
    header: &PpkHeader,
    passphrase: Option<&[u8]>,
) -> std::result::Result<PrivateKey, PpkError> {
    use hmac::digest::Digest;
    let malformed = |m: &str| PpkError::Malformed(m.to_string());
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let (mut private_b64, mut mac_hex, mut salt_hex, mut kdf_name) = (None, None, None, None);
    let mut encryption = String::new();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "Encryption" => encryption = value.to_string(),
            "Private-MAC" => mac_hex = Some(value.to_string()),
            "Argon2-Salt" => salt_hex = Some(value.to_string()),
            "Key-Derivation" => kdf_name = Some(value.to_string()),
            "Private-Lines" => {
                let n: usize = value
                    .trim()
                    .parse()
                    .map_err(|_| malformed("bad Private-Lines"))?;
                if n > 256 {
                    return Err(malformed("Private-Lines is far too many for a key"));
                }
                let mut b64 = String::new();
                for _ in 0..n {
                    b64.push_str(
                        lines
                            .next()
                            .ok_or_else(|| malformed("file ends inside the private key"))?
                            .trim(),
                    );
                }
                private_b64 = Some(b64);
            }
            _ => {}
        }
    }
    let mut private = Zeroizing::new(
        base64_decode(&private_b64.ok_or_else(|| malformed("no private key"))?)
            .ok_or_else(|| malformed("private key is not valid base64"))?,
    );
    let mac = hex_decode(&mac_hex.ok_or_else(|| malformed("no Private-MAC"))?)
        .ok_or_else(|| malformed("Private-MAC is not hex"))?;

    let mac_key: Zeroizing<Vec<u8>> = match (header.version, passphrase) {
        (3, Some(pass)) => {
            let params = header
                .argon2
                .ok_or_else(|| malformed("no Argon2 parameters"))?;
            let variant = match kdf_name.as_deref() {
                Some("Argon2d") => argon2::Algorithm::Argon2d,
                Some("Argon2i") => argon2::Algorithm::Argon2i,
                _ => argon2::Algorithm::Argon2id,
            };
            let salt = hex_decode(&salt_hex.ok_or_else(|| malformed("no Argon2-Salt"))?)
                .ok_or_else(|| malformed("Argon2-Salt is not hex"))?;
            let okm =
                derive_key_material(variant, params, pass, &salt).map_err(PpkError::Malformed)?;
            Cipher::Aes256Cbc
                .decrypt(&okm[..32], &okm[32..48], &mut private, None)
                .map_err(|_| malformed("private key length is not a whole number of AES blocks"))?;
            Zeroizing::new(okm[48..80].to_vec())
        }
        (3, None) => Zeroizing::new(Vec::new()),
        (_, pass) => {
            // PPK v2: SHA-1 based key derivation, zero IV, HMAC-SHA-1.
            let pass = pass.unwrap_or_default();
            if !pass.is_empty() {
                let mut key = Zeroizing::new(Vec::with_capacity(40));
                for counter in [0u32, 1] {
                    let mut h = sha1::Sha1::new();
                    h.update(counter.to_be_bytes());
                    h.update(pass);
                    key.extend_from_slice(&h.finalize());
                }
                Cipher::Aes256Cbc
                    .decrypt(&key[..32], &[0u8; 16], &mut private, None)
                    .map_err(|_| {
                        malformed("private key length is not a whole number of AES blocks")
                    })?;
            }
            let mut h = sha1::Sha1::new();
            h.update(b"putty-private-key-file-mac-key");
            h.update(pass);
            Zeroizing::new(h.finalize().to_vec())
        }
    };

    let public_blob = header
        .public_key
        .key_data()
        .encode_vec()
        .map_err(|e| PpkError::Malformed(e.to_string()))?;
    let mac_input = mac_input(
        &header.algorithm,
        &encryption,
        &header.comment,
        &public_blob,
        &private,
    )
    .map_err(|e| PpkError::Malformed(e.to_string()))?;
    let verified = if header.version == 3 {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key)
            .map_err(|_| malformed("MAC key"))?;
        m.update(&mac_input);
        m.verify_slice(&mac).is_ok()
    } else {
        let mut m = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&mac_key)
            .map_err(|_| malformed("MAC key"))?;
        m.update(&mac_input);
        m.verify_slice(&mac).is_ok()
    };
    if !verified {
        return Err(if passphrase.is_some() {
            PpkError::WrongPassphrase
        } else {
            malformed("incorrect MAC: the file is damaged")
        });
    }

    // string: the secret, little-endian, at most 32 bytes (older PuTTY dropped trailing zeros).
    use ssh_key::encoding::Decode;
    let mut reader = &private[..];
    let secret = Zeroizing::new(
        Vec::<u8>::decode(&mut reader).map_err(|_| malformed("bad Ed25519 secret"))?,
    );
    if secret.len() > 32 {
        return Err(malformed("Ed25519 secret longer than 32 bytes"));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed[..secret.len()].copy_from_slice(&secret);
    let keypair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
    if KeyData::Ed25519(keypair.public) != *header.public_key.key_data() {
        return Err(malformed("the private half does not match the public key"));
    }
    PrivateKey::new(KeypairData::Ed25519(keypair), header.comment.clone())
        .map_err(|e| PpkError::Malformed(e.to_string()))
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Debug)]
pub enum PpkError {
    Malformed(String),
    NeedPassphrase,
    WrongPassphrase,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::Algorithm;

    /// Argon2 parameters that cost nothing: the tests are about the format, not the KDF.
    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 8,
            passes: 1,
            parallelism: 1,
        }
    }

    fn fixture(name: &str) -> String {
        let p = format!(
            "{}/../../../shared/fixtures/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn round_trip_each_algorithm_with_and_without_passphrase() {
        let mut rng = rand::rng();
        for alg in [
            Algorithm::Ed25519,
            Algorithm::Ecdsa {
                curve: ssh_key::EcdsaCurve::NistP256,
            },
            Algorithm::Ecdsa {
                curve: ssh_key::EcdsaCurve::NistP521,
            },
        ] {
            let mut key = PrivateKey::random(&mut rng, alg).unwrap();
            key.set_comment("round trip");
            for pass in [None, Some(&b"pw"[..])] {
                let text = to_ppk_v3(&key, pass, cheap()).unwrap();
                let back = decode(&text, pass).unwrap();
                assert_eq!(back.public_key().key_data(), key.public_key().key_data());
                assert_eq!(back.comment().as_str_lossy(), "round trip");
                assert_eq!(back.key_data(), key.key_data());
                if pass.is_some() {
                    assert!(matches!(
                        decode(&text, Some(b"wrong")),
                        Err(PpkError::WrongPassphrase)
                    ));
                    assert!(matches!(decode(&text, None), Err(PpkError::NeedPassphrase)));
                }
            }
        }
    }

    /// Found by the ppk_roundtrip fuzz target: a passphrase that is not UTF-8 used to produce a
    /// file that no reader could open; it is now refused before anything is written.
    #[test]
    fn non_utf8_passphrase_is_refused_not_written() {
        let seed = [7u8; 32];
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let key = PrivateKey::new(ssh_key::private::KeypairData::Ed25519(pair), "c").unwrap();
        let pass = [0xff, b')', b'~', 0xff, b'\n'];
        let err = to_ppk_v3(&key, Some(&pass), Argon2Params::default()).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
        // Text passphrases, non-ASCII included, round-trip.
        let pass = "pässwörd ✓".as_bytes();
        let text = to_ppk_v3(&key, Some(pass), cheap()).unwrap();
        assert_eq!(
            decode(&text, Some(pass)).unwrap().key_data(),
            key.key_data()
        );
    }

    /// Secrets ssh-key's own reader refuses (0x00 then a byte below 0x80) still round-trip.
    #[test]
    fn ed25519_secret_with_leading_zero_round_trips() {
        let mut seed = [0x42u8; 32];
        seed[0] = 0;
        seed[1] = 0x01;
        let kp = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let key = PrivateKey::new(KeypairData::Ed25519(kp), "zero").unwrap();
        for pass in [None, Some(&b"pw"[..])] {
            let text = to_ppk_v3(&key, pass, cheap()).unwrap();
            assert!(
                PrivateKey::from_ppk(&*text, pass.map(|p| String::from_utf8(p.to_vec()).unwrap()))
                    .is_err()
            );
            let back = decode(&text, pass).unwrap();
            assert_eq!(back.key_data(), key.key_data());
            assert_eq!(back.comment().as_str_lossy(), "zero");
            if pass.is_some() {
                assert!(matches!(
                    decode(&text, Some(b"nope")),
                    Err(PpkError::WrongPassphrase)
                ));
            }
        }
    }

    /// The fallback decoder agrees with ssh-key on every Ed25519 fixture (v2 and v3).
    #[test]
    fn ed25519_fallback_agrees_with_ssh_key_on_fixtures() {
        for (name, pass) in [
            ("ed25519.ppk", None),
            ("ed25519_pp.ppk", Some(&b"correct horse"[..])),
            ("ed25519_v2.ppk", None),
            ("ed25519_pp_v2.ppk", Some(&b"correct horse"[..])),
        ] {
            let text = fixture(&format!("putty/{name}"));
            let header = read_header(&text).unwrap();
            let ours = decode_ed25519(&text, &header, pass.filter(|_| header.encrypted)).unwrap();
            let theirs = decode(&text, pass).unwrap();
            assert_eq!(ours.key_data(), theirs.key_data(), "{name}");
            assert_eq!(ours.comment(), theirs.comment(), "{name}");
        }
    }

    #[test]
    fn header_gives_public_key_of_encrypted_fixture() {
        let h = read_header(&fixture("putty/rsa_pp.ppk")).unwrap();
        assert!(h.encrypted);
        assert_eq!(h.version, 3);
        let expected = fixture("putty/rsa_pp.openssh.pub");
        assert_eq!(h.public_key.to_openssh().unwrap(), expected.trim());
    }

    #[test]
    fn absurd_argon2_memory_is_refused_before_work() {
        let text = fixture("putty/ed25519_pp.ppk")
            .replace("Argon2-Memory: 8192", "Argon2-Memory: 4194304");
        let err = read_header(&text).unwrap_err();
        assert!(err.contains("beyond rk's bounds"), "{err}");
        let start = std::time::Instant::now();
        assert!(matches!(
            decode(&text, Some(b"correct horse")),
            Err(PpkError::Malformed(_))
        ));
        assert!(start.elapsed().as_millis() < 100);
    }
}
