//! Fingerprints and randomart, in ssh-keygen's exact words and layout.
//!
//! `ssh-keygen -l` prints `BITS HASH:DIGEST COMMENT (TYPE)`; `-v` adds the randomart ("drunken
//! bishop") picture. rk's output must be byte-identical so users can compare them by eye with
//! what the platform or a colleague shows.

use md5::{Digest, Md5};
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, PublicKey};

use crate::error::{Error, Result};

/// The hash a fingerprint uses (`-E`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FingerprintHash {
    #[default]
    Sha256,
    Sha512,
    Md5,
}

impl FingerprintHash {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            "md5" => Ok(Self::Md5),
            other => Err(Error::Usage(format!(
                "-E {other}: unknown fingerprint hash; use sha256 (default) or md5."
            ))),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
            Self::Md5 => "MD5",
        }
    }
}

/// Digest of the key blob and its printed form (`SHA256:base64` or `MD5:aa:bb:…`).
fn digest(key: &KeyData, hash: FingerprintHash) -> (Vec<u8>, String) {
    match hash {
        FingerprintHash::Sha256 | FingerprintHash::Sha512 => {
            let alg = if hash == FingerprintHash::Sha256 {
                HashAlg::Sha256
            } else {
                HashAlg::Sha512
            };
            let fp = key.fingerprint(alg);
            (fp.as_bytes().to_vec(), fp.to_string())
        }
        FingerprintHash::Md5 => {
            use ssh_key::encoding::Encode;
            let blob = key.encode_vec().unwrap_or_default();
            let d = Md5::digest(&blob).to_vec();
            let hex: Vec<String> = d.iter().map(|b| format!("{b:02x}")).collect();
            (d, format!("MD5:{}", hex.join(":")))
        }
    }
}

/// Size in bits as ssh-keygen reports it (RSA modulus bits, curve size, 256 for Ed25519).
pub fn key_bits(key: &KeyData) -> u32 {
    match key {
        KeyData::Rsa(rsa) => {
            let n = rsa.n().as_positive_bytes().unwrap_or_default();
            match n.first() {
                Some(&top) => (n.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
                None => 0,
            }
        }
        KeyData::Ecdsa(ec) => match ec.curve() {
            ssh_key::EcdsaCurve::NistP256 => 256,
            ssh_key::EcdsaCurve::NistP384 => 384,
            ssh_key::EcdsaCurve::NistP521 => 521,
        },
        KeyData::Ed25519(_) => 256,
        _ => 0,
    }
}

/// ssh-keygen's short type name: `RSA`, `ED25519`, `ECDSA`.
pub fn type_label(key: &KeyData) -> &'static str {
    match key {
        KeyData::Rsa(_) => "RSA",
        KeyData::Ecdsa(_) => "ECDSA",
        KeyData::Ed25519(_) => "ED25519",
        KeyData::Dsa(_) => "DSA",
        _ => "UNKNOWN",
    }
}

/// `SHA256:…` alone, as printed after "The key fingerprint is:".
pub fn fingerprint(key: &PublicKey, hash: FingerprintHash) -> String {
    digest(key.key_data(), hash).1
}

fn comment_or_default(key: &PublicKey) -> &str {
    let c = key.comment().as_str_lossy();
    if c.is_empty() { "no comment" } else { c }
}

/// The line `ssh-keygen -l` prints: `4096 SHA256:… comment (RSA)`.
pub fn fingerprint_line(key: &PublicKey, hash: FingerprintHash) -> String {
    format!(
        "{} {} {} ({})",
        key_bits(key.key_data()),
        fingerprint(key, hash),
        comment_or_default(key),
        type_label(key.key_data())
    )
}

/// The randomart picture `ssh-keygen -l -v` prints (no trailing newline), OpenSSH's
/// `fingerprint_randomart` step for step.
pub fn randomart(key: &PublicKey, hash: FingerprintHash) -> String {
    const W: usize = 17;
    const H: usize = 9;
    const SYMBOLS: &[u8] = b" .o+=*BOX@%&#/^SE";
    let len = SYMBOLS.len() - 1;
    let (raw, _) = digest(key.key_data(), hash);

    let mut field = [[0usize; H]; W];
    let (mut x, mut y) = (W / 2, H / 2);
    for byte in raw {
        let mut input = byte;
        for _ in 0..4 {
            x = if input & 1 != 0 {
                (x + 1).min(W - 1)
            } else {
                x.saturating_sub(1)
            };
            y = if input & 2 != 0 {
                (y + 1).min(H - 1)
            } else {
                y.saturating_sub(1)
            };
            if field[x][y] < len - 2 {
                field[x][y] += 1;
            }
            input >>= 2;
        }
    }
    field[W / 2][H / 2] = len - 1;
    field[x][y] = len;

    let title = format!(
        "[{} {}]",
        type_label(key.key_data()),
        key_bits(key.key_data())
    );
    let footer = format!("[{}]", hash.label());
    let border = |label: &str| {
        let left = (W.saturating_sub(label.len())) / 2;
        let right = W.saturating_sub(left + label.len());
        format!("+{}{}{}+", "-".repeat(left), label, "-".repeat(right))
    };

    let mut out = border(&title);
    out.push('\n');
    for row in 0..H {
        out.push('|');
        for col in field.iter() {
            out.push(SYMBOLS[col[row].min(len)] as char);
        }
        out.push_str("|\n");
    }
    out.push_str(&border(&footer));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture_dir() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/keys/openssh"
        ))
    }

    #[test]
    fn matches_ssh_keygen_fixtures_byte_for_byte() {
        let d = fixture_dir();
        for name in ["rsa4096", "ed25519", "ecdsa256", "ecdsa384", "ecdsa521"] {
            let pk = PublicKey::from_openssh(
                &std::fs::read_to_string(d.join(format!("{name}.pub"))).unwrap(),
            )
            .unwrap();
            let expect_art =
                std::fs::read_to_string(d.join(format!("{name}.fp-randomart.txt"))).unwrap();
            let ours = format!(
                "{}\n{}\n",
                fingerprint_line(&pk, FingerprintHash::Sha256),
                randomart(&pk, FingerprintHash::Sha256)
            );
            assert_eq!(ours, expect_art, "{name}");
            let md5 = std::fs::read_to_string(d.join(format!("{name}.fp-md5.txt"))).unwrap();
            assert_eq!(
                format!("{}\n", fingerprint_line(&pk, FingerprintHash::Md5)),
                md5,
                "{name}"
            );
        }
    }

    #[test]
    fn randomart_agrees_with_ssh_key_crate() {
        let d = fixture_dir();
        let pk = PublicKey::from_openssh(&std::fs::read_to_string(d.join("ed25519.pub")).unwrap())
            .unwrap();
        let theirs = pk
            .fingerprint(HashAlg::Sha256)
            .to_randomart("[ED25519 256]");
        assert_eq!(randomart(&pk, FingerprintHash::Sha256), theirs.trim_end());
    }
}
