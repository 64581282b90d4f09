//! Every key loader on arbitrary bytes, through `parse_key` as the tools call it: OpenSSH
//! (private and public), PPK v2/v3, PEM, RFC 4716, public-key lines. Errors are fine; panics, hangs and huge allocations are not.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rk_core::keys::{self, ppk};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-input");
    if let Ok(file) = keys::parse_key(data, path) {
        let _ = file.format_name();
        let public = file.public_key();
        let _ = keys::public_line(&public);
        if file.is_private() {
            let _ = file.decrypt_with_limit(path, None, 4);
            // A low round limit keeps each run fast (the bound is what is under test). PPK
            // Argon2 work is bounded but can be 1 GiB, too slow for a fuzzer's every input.
            if !matches!(file, keys::KeyFile::Ppk { .. }) {
                let _ = file.decrypt_with_limit(path, Some(b"fuzz"), 4);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(header) = ppk::read_header(text) {
            let _ = header;
            // Unencrypted bodies only: the Argon2 bounds are tested elsewhere, and a 1 GiB KDF
            // per input would make the fuzzer crawl.
            let _ = ppk::decode(text, None);
        }
    }
});
