//! rk-copy-pubkey against a real X server (Xvfb), read back with the real xclip; inputs checked
//! against ssh-keygen and puttygen.

use std::process::Command;
use std::time::{Duration, Instant};

use rk_e2e::*;

const PASS: &str = "correct horse";

fn copy(sb: &Sandbox) -> Command {
    sb.rk("rk-copy-pubkey")
}

#[test]
fn copy_outlives_the_command_and_the_holder_leaves_when_replaced() {
    let x = XServer::start();
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/rsa4096.pub");
    let expected = std::fs::read_to_string(&key)
        .unwrap()
        .trim_end()
        .to_string();

    let start = Instant::now();
    let out = run(copy(&sb).arg("-f").arg(&key).env("DISPLAY", &x.display));
    out.assert_ok("rk-copy-pubkey");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the command must return at once"
    );
    let msg = out.stderr_str();
    let fp_line =
        std::fs::read_to_string(fixtures().join("keys/openssh/rsa4096.fp-sha256.txt")).unwrap();
    let fp = fp_line.split_whitespace().nth(1).unwrap();
    assert!(
        msg.starts_with("Copied ssh-rsa ") && msg.contains(&format!("({fp}, ")),
        "{msg}"
    );
    assert!(msg.contains("Job Settings → SSH Public Key"), "{msg}");
    assert!(
        out.stdout_str().is_empty(),
        "nothing on stdout: {}",
        out.stdout_str()
    );

    // The command has exited; the key is still on the clipboard, exactly, and 2 s later too.
    assert_eq!(x.clipboard().as_deref(), Some(expected.as_str()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(x.clipboard().as_deref(), Some(expected.as_str()));
    assert_eq!(
        x.processes("--hold-clipboard").len(),
        1,
        "one holder serves the clipboard"
    );

    // Another program takes the clipboard: the holder goes away by itself.
    x.set_clipboard("something else");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !x.processes("--hold-clipboard").is_empty() {
        assert!(
            Instant::now() < deadline,
            "holder still running after the clipboard was taken"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(x.clipboard().as_deref(), Some("something else"));
}

#[test]
fn private_key_or_garbage_on_stdin_is_refused_and_the_clipboard_untouched() {
    let x = XServer::start();
    let sb = Sandbox::new();
    x.set_clipboard("sentinel");
    for fixture in [
        "keys/openssh/ed25519",
        "keys/openssh/rsa4096_pp",
        "keys/putty/rsa.ppk",
        "keys/putty/rsa.openssh-pem",
    ] {
        let secret = std::fs::read(fixtures().join(fixture)).unwrap();
        let out = run_with_input(
            copy(&sb).env("DISPLAY", &x.display),
            &secret,
            Duration::from_secs(20),
        );
        assert_eq!(out.code(), Some(1), "{fixture}: {}", out.stderr_str());
        assert!(
            out.stderr_str().contains("PRIVATE key"),
            "{fixture}: {}",
            out.stderr_str()
        );
        assert!(out.stdout_str().is_empty(), "{fixture}");
        // No line of the key file appears anywhere in what rk printed.
        let text = String::from_utf8_lossy(&secret);
        for line in text
            .lines()
            .filter(|l| l.len() > 20 && !l.starts_with("-----") && !l.contains(": "))
        {
            assert!(
                !out.stderr_str().contains(line),
                "{fixture}: key material in stderr"
            );
        }
        assert_eq!(x.clipboard().as_deref(), Some("sentinel"), "{fixture}");
    }
    for garbage in [
        &b"hello world\n"[..],
        b"ssh-rsa !!!notbase64 x\n",
        b"\x00\x01\x02binary",
    ] {
        let out = run_with_input(
            copy(&sb).env("DISPLAY", &x.display),
            garbage,
            Duration::from_secs(20),
        );
        assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
        assert!(
            out.stderr_str().contains("not a key") || out.stderr_str().contains("binary"),
            "{}",
            out.stderr_str()
        );
        assert_eq!(x.clipboard().as_deref(), Some("sentinel"));
    }
    assert!(x.processes("--hold-clipboard").is_empty());
}

#[test]
fn every_input_format_normalises_to_the_authorized_keys_line() {
    let sb = Sandbox::new();
    let print = |args: &[&std::ffi::OsStr]| {
        let out = run(copy(&sb).arg("--print").args(args));
        out.assert_ok("--print");
        let s = out.stdout_str();
        assert!(
            s.ends_with('\n') && !s.contains('\r') && s.lines().count() == 1,
            "{s:?}"
        );
        s.trim_end().to_string()
    };

    // RFC 4716 made by ssh-keygen -e: same key as ssh-keygen -i reads; its Comment header kept.
    for name in ["rsa4096", "ed25519", "ecdsa384"] {
        let pubkey = sb.fixture(&format!("keys/openssh/{name}.pub"));
        let rfc = run(peer("ssh-keygen").arg("-e").arg("-f").arg(&pubkey));
        rfc.assert_ok("ssh-keygen -e");
        let rfc_path = sb.write(&format!("{name}.rfc"), &rfc.stdout_str());
        let back = run(peer("ssh-keygen").arg("-i").arg("-f").arg(&rfc_path));
        back.assert_ok("ssh-keygen -i");
        let ours = print(&[rfc_path.as_os_str()]);
        assert_eq!(
            type_and_blob(&ours),
            type_and_blob(&back.stdout_str()),
            "{name}"
        );
        let header = rfc
            .stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix("Comment: "))
            .unwrap()
            .trim_matches('"')
            .to_string();
        assert!(ours.ends_with(&header), "{ours} / {header}");
        // The same through stdin.
        let piped = run_with_input(
            copy(&sb).arg("--print"),
            rfc.stdout_str().as_bytes(),
            Duration::from_secs(10),
        );
        assert_eq!(piped.stdout_str().trim_end(), ours);
    }

    // PuTTYgen's files: RFC 4716 and .ppk give exactly puttygen's public-openssh line.
    for (file, reference) in [
        ("rsa.rfc4716.pub", "rsa.openssh.pub"),
        ("ed25519.rfc4716.pub", "ed25519.openssh.pub"),
        ("ecdsa256.rfc4716.pub", "ecdsa256.openssh.pub"),
        ("rsa.ppk", "rsa.openssh.pub"),
        ("ed25519_pp.ppk", "ed25519_pp.openssh.pub"),
        ("rsa_pp_v2.ppk", "rsa_pp_v2.openssh.pub"),
    ] {
        let path = sb.fixture(&format!("keys/putty/{file}"));
        let expected =
            std::fs::read_to_string(fixtures().join(format!("keys/putty/{reference}"))).unwrap();
        assert_eq!(print(&[path.as_os_str()]), expected.trim_end(), "{file}");
    }
    // A .ppk freshly made by puttygen, read with no passphrase.
    let ppk = sb.path().join("fresh.ppk");
    let pp = sb.write("pp", "a passphrase\n");
    run(peer("puttygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "fresh putty",
            "--new-passphrase",
        ])
        .arg(&pp)
        .arg("-o")
        .arg(&ppk))
    .assert_ok("puttygen");
    let reference = run(peer("puttygen").arg(&ppk).args(["-O", "public-openssh"]));
    assert_eq!(print(&[ppk.as_os_str()]), reference.stdout_str().trim_end());

    // Private key files (from -f, not stdin): their public half, as ssh-keygen -y gives it.
    for name in ["ed25519", "ecdsa521"] {
        let key = sb.fixture(&format!("keys/openssh/{name}"));
        let y = run(peer("ssh-keygen").arg("-y").arg("-f").arg(&key));
        y.assert_ok("ssh-keygen -y");
        assert_eq!(
            print(&["-f".as_ref(), key.as_os_str()]),
            y.stdout_str().trim_end(),
            "{name}"
        );
    }
    let pem = sb.fixture("keys/putty/rsa.openssh-pem");
    let y = run(peer("ssh-keygen").arg("-y").arg("-f").arg(&pem));
    assert_eq!(
        type_and_blob(&print(&[pem.as_os_str()])),
        type_and_blob(&y.stdout_str())
    );

    // An encrypted private key with no .pub: the passphrase unlocks its comment.
    let enc = sb.fixture("keys/openssh/rsa4096_pp");
    let passfile = sb.write("pass", PASS);
    let with_comment = print(&[
        enc.as_os_str(),
        "--passphrase-file".as_ref(),
        passfile.as_os_str(),
    ]);
    let y = run(peer("ssh-keygen").args(["-y", "-P", PASS, "-f"]).arg(&enc));
    assert_eq!(with_comment, y.stdout_str().trim_end());
    // Without a terminal or passphrase: the key without its comment, and a note.
    let out = run(copy(&sb).arg("--print").arg(&enc));
    out.assert_ok("encrypted, no passphrase");
    assert_eq!(out.stdout_str().trim_end(), type_and_blob(&with_comment));
    assert!(
        out.stderr_str().contains("without the comment"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn osc52_bytes_are_exact_plain_tmux_and_screen() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519.pub");
    let line = std::fs::read_to_string(&key)
        .unwrap()
        .trim_end()
        .to_string();
    let b64 = {
        let out = run_with_input(
            Command::new("base64").arg("-w0"),
            line.as_bytes(),
            Duration::from_secs(5),
        );
        out.stdout_str()
    };
    let plain = run(copy(&sb)
        .arg("--osc52")
        .arg(&key)
        .env_remove("TMUX")
        .env_remove("STY"));
    plain.assert_ok("--osc52");
    assert_eq!(plain.stdout, format!("\x1b]52;c;{b64}\x07").into_bytes());
    assert!(
        plain.stderr_str().starts_with("Sent ssh-ed25519"),
        "{}",
        plain.stderr_str()
    );

    let tmux = run(copy(&sb)
        .arg("--osc52")
        .arg(&key)
        .env("TMUX", "/tmp/tmux-0/default,1,0")
        .env_remove("STY"));
    assert_eq!(
        tmux.stdout,
        format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\").into_bytes()
    );

    let screen = run(copy(&sb)
        .arg("--osc52")
        .arg(&key)
        .env_remove("TMUX")
        .env("STY", "1234.pts-0.host"));
    let chunks: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        screen.stdout,
        format!("\x1bP\x1b]52;c;{}\x07\x1b\\", chunks.join("\x1b\\\x1bP")).into_bytes()
    );
}

#[test]
fn without_any_clipboard_it_prints_the_line_and_exits_1() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ecdsa256.pub");
    let out = run(copy(&sb)
        .arg(&key)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY"));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert_eq!(out.stdout_str(), std::fs::read_to_string(&key).unwrap());
    assert!(
        out.stderr_str().contains("no clipboard reachable"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn default_identity_and_list() {
    let sb = Sandbox::new();
    let none = run(copy(&sb).arg("--print"));
    assert_eq!(none.code(), Some(1));
    assert!(
        none.stderr_str().contains("rk-keygen"),
        "{}",
        none.stderr_str()
    );

    let ssh = sb.home().join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::copy(
        fixtures().join("keys/openssh/ed25519.pub"),
        ssh.join("id_ed25519.pub"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("keys/openssh/ecdsa256"),
        ssh.join("id_ecdsa"),
    )
    .unwrap();
    set_mode(&ssh.join("id_ecdsa"), 0o600);
    let out = run(copy(&sb).arg("--print"));
    out.assert_ok("default key");
    assert_eq!(
        out.stdout_str(),
        std::fs::read_to_string(fixtures().join("keys/openssh/ed25519.pub")).unwrap()
    );

    // id_rsa.pub comes first once it exists.
    std::fs::copy(
        fixtures().join("keys/openssh/rsa4096.pub"),
        ssh.join("id_rsa.pub"),
    )
    .unwrap();
    let out = run(copy(&sb).arg("--print"));
    assert!(
        out.stdout_str().starts_with("ssh-rsa "),
        "{}",
        out.stdout_str()
    );

    let list = run(copy(&sb).arg("--list"));
    list.assert_ok("--list");
    let text = list.stdout_str();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("~/.ssh/id_rsa.pub")
            && lines[0].contains("(RSA)")
            && lines[0].ends_with("(default)"),
        "{text}"
    );
    assert!(
        lines[1].contains("SHA256:5b/bCK4z0MgP3PGjG8/DewoMFI8r/ZQfZiv+I370oGA"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("~/.ssh/id_ecdsa ") && lines[2].contains("(ECDSA)"),
        "{text}"
    );
}
