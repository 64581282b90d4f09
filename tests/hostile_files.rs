//! Key files that are broken or built to hurt: truncated, bit-flipped, 100 MB, RFC 4716 blocks
//! with endless headers, public-key lines of absurd length. Every rk tool that reads keys gives
//! a clear error (exit 1, "rk-keygen: …"), never a panic, in bounded time and memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rk_e2e::*;

/// Every key fixture of ../shared (private and public; not the fingerprint texts).
fn key_fixtures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["keys/openssh", "keys/putty"] {
        for entry in std::fs::read_dir(fixtures().join(dir)).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".txt") && path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

/// A deterministic stream of positions (no test flakes, still spread over the file).
fn positions(len: usize, count: usize, seed: u64) -> Vec<usize> {
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize % len.max(1)
        })
        .collect()
}

/// Runs `rk-keygen ARGS -f FILE`; it must finish in time with 0 or 1, and explain a refusal.
fn assert_handled(sb: &Sandbox, args: &[&str], file: &Path, what: &str) {
    let out = run_with_input(
        sb.rk("rk-keygen").args(args).arg("-f").arg(file),
        b"",
        Duration::from_secs(20),
    );
    let code = out.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{what}: rk-keygen {args:?} exited {:?}\n{}",
        out.status,
        out.stderr_str()
    );
    if code == Some(1) {
        let err = out.stderr_str();
        assert!(
            err.starts_with("rk-keygen: ") && !err.contains("panicked"),
            "{what}: {err}"
        );
    }
}

#[test]
fn truncated_and_bit_flipped_key_files_are_refused_cleanly() {
    let sb = Sandbox::new();
    let target = sb.path().join("damaged");
    let mut variants = 0;
    for fixture in key_fixtures() {
        let original = std::fs::read(&fixture).unwrap();
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let private = !name.ends_with(".pub");
        let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
        for k in 0..12 {
            let len = original.len() * k / 12;
            damaged.push((format!("{name} cut at {len}"), original[..len].to_vec()));
        }
        for (i, pos) in positions(original.len(), 12, original.len() as u64)
            .into_iter()
            .enumerate()
        {
            let mut bytes = original.clone();
            bytes[pos] ^= 1 << (i % 8);
            damaged.push((format!("{name} bit {} of byte {pos}", i % 8), bytes));
        }
        for (what, bytes) in damaged {
            std::fs::write(&target, &bytes).unwrap();
            set_mode(&target, 0o600);
            assert_handled(&sb, &["-l"], &target, &what);
            if private {
                assert_handled(&sb, &["-y", "-P", "wrong"], &target, &what);
            }
            variants += 1;
        }
    }
    eprintln!("{variants} damaged key files, all refused or read cleanly");
}

/// `rk-keygen -l -f FILE`, measured: exit 1 in bounded time and memory.
fn refused_bounded(file: &Path, what: &str) -> String {
    let m = run_measured(
        &bin("rk-keygen"),
        &["-l".as_ref(), "-f".as_ref(), file.as_os_str()],
        &[],
    );
    let err = m.output.stderr_str();
    assert_eq!(m.output.code(), Some(1), "{what}: {err}");
    assert!(
        m.elapsed < Duration::from_secs(5),
        "{what}: took {:?}",
        m.elapsed
    );
    assert!(
        m.peak_rss_kib > 0 && m.peak_rss_kib < 32 * 1024,
        "{what}: peak RSS {} KiB",
        m.peak_rss_kib
    );
    assert!(err.starts_with("rk-keygen: "), "{what}: {err}");
    err
}

#[test]
fn oversized_and_endless_inputs_are_refused_in_bounded_time_and_memory() {
    let sb = Sandbox::new();

    // 100 MB behind a real key header (sparse: no disk needed).
    let huge = sb.path().join("huge_key");
    std::fs::write(&huge, b"-----BEGIN OPENSSH PRIVATE KEY-----\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&huge)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let err = refused_bounded(&huge, "100 MB key file");
    assert!(err.contains("MiB") || err.contains("too large"), "{err}");

    // An RFC 4716 block whose header never ends (continuation lines), under the size limit.
    let mut rfc = String::from("---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"");
    while rfc.len() < 900 * 1024 {
        rfc.push_str("endless header \\\n");
    }
    let endless = sb.write("endless.pub", &rfc);
    refused_bounded(&endless, "endless RFC 4716 header");

    // One .pub line of absurd length (valid base64 all the way).
    let mut line = String::from("ssh-ed25519 ");
    line.push_str(&"A".repeat(1000 * 1024));
    let long = sb.write("long.pub", &line);
    refused_bounded(&long, "1 MB public-key line");

    // A PPK header claiming a private blob of 2^31 lines.
    let ppk = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 2147483647\nAAAA\n";
    let ppk = sb.write("lines.ppk", ppk);
    refused_bounded(&ppk, "PPK with absurd Public-Lines");
}
