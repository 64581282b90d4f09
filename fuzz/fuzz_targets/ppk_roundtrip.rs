//! The PPK v3 writer round-trips: any Ed25519 key, any comment, with or without a passphrase,
//! reads back (with rk's reader and with ssh-key's) as the same key and comment.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rk_core::keys::ppk::{self, Argon2Params};
use ssh_key::PrivateKey;
use ssh_key::private::{Ed25519Keypair, KeypairData};

fuzz_target!(|data: &[u8]| {
    if data.len() < 33 {
        return;
    }
    let (seed, rest) = data.split_at(32);
    let (&control, rest) = rest.split_first().unwrap();
    let (comment, passphrase) = rest.split_at(rest.len().min(usize::from(control & 0x7f)));
    let comment = String::from_utf8_lossy(comment).into_owned();
    let passphrase = (control & 0x80 != 0).then_some(passphrase);

    let pair = Ed25519Keypair::from_seed(seed.try_into().unwrap());
    let key = PrivateKey::new(KeypairData::Ed25519(pair), comment).unwrap();
    // Tiny Argon2 parameters: the format is under test, not the KDF's cost.
    let params = Argon2Params {
        memory_kib: 8,
        passes: 1,
        parallelism: 1,
    };
    let written = ppk::to_ppk_v3(&key, passphrase, params);
    // Passphrases that are not text are refused (no reader could open such a file).
    if passphrase.is_some_and(|p| !p.is_empty() && std::str::from_utf8(p).is_err()) {
        assert!(written.is_err());
        return;
    }
    let text = written.expect("write");
    let back = ppk::decode(&text, passphrase).expect("read back what was written");
    assert_eq!(back.key_data(), key.key_data());
    let header = ppk::read_header(&text).expect("header");
    // An empty passphrase means "not encrypted", as in PuTTYgen.
    assert_eq!(header.encrypted, passphrase.is_some_and(|p| !p.is_empty()));
    // The comment written is the one read (the writer may only drop line breaks).
    let written_comment = text
        .lines()
        .find_map(|l| l.strip_prefix("Comment: "))
        .unwrap_or("");
    assert_eq!(back.comment().as_str_lossy(), written_comment);
});
