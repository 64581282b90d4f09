//! Secrets stay inside rk: a typed passphrase never shows up in the command line or environment
//! of rk itself or of any process it starts, and the clipboard holder never carries private key
//! material. Checked through /proc while the processes wait.

use rk_e2e::*;

/// PIDs of processes whose command line mentions `marker` (a path unique to the test), with
/// all their descendants.
fn processes_mentioning(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
            found.extend(children_of(pid));
        }
    }
    found
}

/// Asserts that neither argv nor the environment of any of `pids` contains `secret`.
fn assert_not_exposed(pids: &[u32], secret: &str) {
    assert!(!pids.is_empty(), "no process to inspect");
    for pid in pids {
        for part in ["cmdline", "environ"] {
            let bytes = std::fs::read(format!("/proc/{pid}/{part}")).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "/proc/{pid}/{part} holds the secret"
            );
        }
    }
}

#[test]
fn passphrase_typed_for_a_new_key_is_not_in_argv_or_environment() {
    let sb = Sandbox::new();
    let key = sb.path().join("secret_test_key");
    let secret = "Zebra-Passphrase-7731";
    let mut cmd = sb.rk("rk-keygen");
    cmd.args(["-t", "ed25519", "-a", "2", "-f"]).arg(&key);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under pty");
    p.exp_string("Enter passphrase (empty for no passphrase): ")
        .unwrap();
    p.send_line(secret).unwrap();
    p.exp_string("Enter same passphrase again: ").unwrap();
    // rk-keygen holds the passphrase now and waits.
    assert_not_exposed(&processes_mentioning(key.to_str().unwrap()), secret);
    p.send_line(secret).unwrap();
    p.exp_eof().unwrap();
    assert!(
        run(peer("ssh-keygen")
            .args(["-y", "-P", secret, "-f"])
            .arg(&key))
        .status
        .success()
    );
}

#[test]
fn passphrase_typed_for_rk_connect_is_not_in_argv_or_environment() {
    let sb = Sandbox::new();
    let encrypted = sb.fixture("keys/openssh/rsa4096_pp");
    let public = fixtures().join("keys/openssh/rsa4096_pp.pub");
    let sshd = Sshd::start(&[public.as_path()]);
    let passphrase = std::fs::read_to_string(fixtures().join("keys/openssh/passphrase.txt"))
        .unwrap()
        .trim_end_matches('\n')
        .to_string();
    let wrong = "Wrong-Pass-9916";
    let mut cmd = sb.rk_connect();
    cmd.arg("-i").arg(&encrypted).arg(sshd.dest()).arg("true");
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn under pty");
    p.exp_string("Passphrase for key").unwrap();
    p.send_line(wrong).unwrap();
    p.exp_string("Passphrase for key").unwrap();
    // rk-connect has read (and rejected) one passphrase and waits for the next.
    let pids = processes_mentioning(encrypted.to_str().unwrap());
    assert_not_exposed(&pids, wrong);
    p.send_line(&passphrase).unwrap();
    p.exp_eof().unwrap();
}

#[test]
fn clipboard_holder_carries_no_private_key_material() {
    let x = XServer::start();
    let sb = Sandbox::new();
    let private = sb.fixture("keys/openssh/ed25519");
    run(sb
        .rk("rk-copy-pubkey")
        .arg("-f")
        .arg(&private)
        .env("DISPLAY", &x.display))
    .assert_ok("rk-copy-pubkey from a private key file");
    let holders = x.processes("--hold-clipboard");
    assert!(!holders.is_empty(), "no clipboard holder is running");
    let text = std::fs::read_to_string(&private).unwrap();
    let body: Vec<&str> = text.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!body.is_empty());
    for line in body {
        assert_not_exposed(&holders, line);
    }
    assert_not_exposed(&holders, "PRIVATE KEY");
    // What the holder serves is the public line.
    let public = std::fs::read_to_string(fixtures().join("keys/openssh/ed25519.pub")).unwrap();
    let clip = x.clipboard().unwrap();
    assert!(clip.starts_with(&type_and_blob(&public)), "{clip}");
}
