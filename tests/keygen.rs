//! rk-keygen against the real ssh-keygen (OpenSSH) and puttygen (PuTTY).

use std::path::Path;
use std::process::Command;

use rk_e2e::*;

const FIXTURE_PASS: &str = "correct horse";

fn keygen(sb: &Sandbox) -> Command {
    sb.rk("rk-keygen")
}

/// `ssh-keygen -l [-v] [-E hash] -f FILE` as printed by the real tool.
fn ssh_keygen_l(args: &[&str], file: &Path) -> String {
    let out = run(peer("ssh-keygen").args(args).arg("-f").arg(file));
    out.assert_ok("ssh-keygen -l");
    out.stdout_str()
}

fn rk_l(sb: &Sandbox, args: &[&str], file: &Path) -> String {
    let out = run(keygen(sb).args(args).arg("-f").arg(file));
    out.assert_ok("rk-keygen -l");
    out.stdout_str()
}

#[test]
fn generated_keys_match_ssh_keygen_for_every_type_and_size() {
    let sb = Sandbox::new();
    for (t, b) in [
        ("rsa", "2048"),
        ("rsa", "4096"),
        ("ed25519", ""),
        ("ecdsa", "256"),
        ("ecdsa", "384"),
        ("ecdsa", "521"),
    ] {
        let key = sb.path().join(format!("k_{t}{b}"));
        let mut cmd = keygen(&sb);
        cmd.args(["-t", t, "-N", "", "-C", "tester@rk", "-f"])
            .arg(&key);
        if !b.is_empty() {
            cmd.args(["-b", b]);
        }
        let out = run(&mut cmd);
        out.assert_ok("rk-keygen");
        let pub_path = key.with_file_name(format!("k_{t}{b}.pub"));
        let pub_line = std::fs::read_to_string(&pub_path).unwrap();
        assert!(pub_line.ends_with(" tester@rk\n"), "{pub_line}");

        // ssh-keygen reads the private key and derives the same public key.
        let derived = run(peer("ssh-keygen").arg("-y").arg("-f").arg(&key));
        derived.assert_ok("ssh-keygen -y");
        assert_eq!(
            type_and_blob(&derived.stdout_str()),
            type_and_blob(&pub_line),
            "{t}{b}"
        );

        // Fingerprint + randomart: byte-identical to ssh-keygen, in -l -v and in the
        // generation report.
        let theirs = ssh_keygen_l(&["-l", "-v"], &pub_path);
        assert_eq!(rk_l(&sb, &["-l", "-v"], &pub_path), theirs, "{t}{b}");
        assert_eq!(
            rk_l(&sb, &["-l", "-v"], &key),
            theirs,
            "{t}{b} from the private key"
        );
        let mut lines = theirs.lines();
        let first = lines.next().unwrap();
        let fp = first.split_whitespace().nth(1).unwrap();
        let art: String = lines.map(|l| format!("{l}\n")).collect();
        let report = out.stdout_str();
        assert!(
            report.contains(&format!(
                "The key fingerprint is:\n{fp} tester@rk\nThe key's randomart image is:\n{art}"
            )),
            "{report}"
        );
        assert!(
            report.starts_with(&format!("Generating public/private {t} key pair.\n")),
            "{report}"
        );
        assert!(report.contains(&format!(
            "Your identification has been saved in {}\n",
            key.display()
        )));
        assert!(report.contains(&format!(
            "Your public key has been saved in {}\n",
            pub_path.display()
        )));

        assert_eq!(
            rk_l(&sb, &["-l", "-E", "md5"], &pub_path),
            ssh_keygen_l(&["-l", "-E", "md5"], &pub_path),
            "{t}{b} md5"
        );
        assert_eq!(
            rk_l(&sb, &["-l", "-v", "-E", "md5"], &pub_path),
            ssh_keygen_l(&["-l", "-v", "-E", "md5"], &pub_path),
            "{t}{b} md5 art"
        );

        assert_eq!(mode_of(&key), 0o600);
        assert_eq!(mode_of(&pub_path), 0o644);
    }
}

#[test]
fn encrypted_key_opens_only_with_its_passphrase_and_p_reencrypts() {
    let sb = Sandbox::new();
    let key = sb.path().join("enc");
    run(keygen(&sb)
        .args(["-t", "ed25519", "-N", "first pass", "-a", "4", "-q", "-f"])
        .arg(&key))
    .assert_ok("gen");
    let pub_line = std::fs::read_to_string(sb.path().join("enc.pub")).unwrap();

    let ok = run(peer("ssh-keygen")
        .args(["-y", "-P", "first pass", "-f"])
        .arg(&key));
    ok.assert_ok("ssh-keygen -y right passphrase");
    assert_eq!(type_and_blob(&ok.stdout_str()), type_and_blob(&pub_line));
    assert!(
        !run(peer("ssh-keygen")
            .args(["-y", "-P", "wrong", "-f"])
            .arg(&key))
        .status
        .success()
    );

    // The KDF rounds we asked for are what the file says (ssh-keygen agrees it opens).
    let before = std::fs::read(&key).unwrap();
    let bad = run(keygen(&sb)
        .args(["-p", "-P", "wrong", "-N", "x", "-f"])
        .arg(&key));
    assert_eq!(bad.code(), Some(1), "{}", bad.stderr_str());
    assert!(
        bad.stderr_str().contains("incorrect passphrase"),
        "{}",
        bad.stderr_str()
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "a failed -p must not touch the key"
    );

    run(keygen(&sb)
        .args(["-p", "-P", "first pass", "-N", "second pass", "-f"])
        .arg(&key))
    .assert_ok("rk -p");
    assert_eq!(mode_of(&key), 0o600);
    assert!(
        run(peer("ssh-keygen")
            .args(["-y", "-P", "second pass", "-f"])
            .arg(&key))
        .status
        .success()
    );
    assert!(
        !run(peer("ssh-keygen")
            .args(["-y", "-P", "first pass", "-f"])
            .arg(&key))
        .status
        .success()
    );
    // And rk reads it back with the new one.
    let y = run(keygen(&sb)
        .args(["-y", "-P", "second pass", "-f"])
        .arg(&key));
    y.assert_ok("rk -y");
    assert_eq!(y.stdout_str(), pub_line);
    assert_eq!(listing(sb.path()), vec!["enc", "enc.pub", "home"]);
}

#[test]
fn reads_ssh_keygen_fixtures_like_ssh_keygen() {
    let sb = Sandbox::new();
    for name in [
        "rsa4096",
        "ed25519",
        "ecdsa256",
        "ecdsa384",
        "ecdsa521",
        "rsa4096_pp",
    ] {
        let key = sb.fixture(&format!("keys/openssh/{name}"));
        let pubkey = sb.fixture(&format!("keys/openssh/{name}.pub"));
        let expected =
            std::fs::read_to_string(fixtures().join(format!("keys/openssh/{name}.fp-sha256.txt")))
                .unwrap_or_else(|_| ssh_keygen_l(&["-l"], &pubkey));
        assert_eq!(rk_l(&sb, &["-l"], &pubkey), expected, "{name}.pub");
        assert_eq!(
            rk_l(&sb, &["-l"], &key),
            ssh_keygen_l(&["-l"], &key),
            "{name} private"
        );
        if let Ok(art) = std::fs::read_to_string(
            fixtures().join(format!("keys/openssh/{name}.fp-randomart.txt")),
        ) {
            assert_eq!(rk_l(&sb, &["-l", "-v"], &pubkey), art, "{name} randomart");
        }
        let md5 = fixtures().join(format!("keys/openssh/{name}.fp-md5.txt"));
        assert_eq!(
            rk_l(&sb, &["-l", "-E", "md5"], &pubkey),
            std::fs::read_to_string(md5).unwrap(),
            "{name} md5"
        );

        let ours = run(keygen(&sb).args(["-y", "-P", FIXTURE_PASS, "-f"]).arg(&key));
        ours.assert_ok("rk -y");
        let theirs = run(peer("ssh-keygen")
            .args(["-y", "-P", FIXTURE_PASS, "-f"])
            .arg(&key));
        theirs.assert_ok("ssh-keygen -y");
        assert_eq!(
            type_and_blob(&ours.stdout_str()),
            type_and_blob(&theirs.stdout_str()),
            "{name}"
        );
    }
}

#[test]
fn reads_puttygen_fixtures_and_formats() {
    let sb = Sandbox::new();
    // (file, the OpenSSH public key puttygen exported from it)
    for (file, reference) in [
        ("rsa.ppk", "rsa.openssh.pub"),
        ("rsa_v2.ppk", "rsa_v2.openssh.pub"),
        ("rsa_pp.ppk", "rsa_pp.openssh.pub"),
        ("rsa_pp_v2.ppk", "rsa_pp_v2.openssh.pub"),
        ("ed25519.ppk", "ed25519.openssh.pub"),
        ("ed25519_pp.ppk", "ed25519_pp.openssh.pub"),
        ("ed25519_v2.ppk", "ed25519_v2.openssh.pub"),
        ("ecdsa256.ppk", "ecdsa256.openssh.pub"),
        ("rsa.rfc4716.pub", "rsa.openssh.pub"),
        ("ed25519.rfc4716.pub", "ed25519.openssh.pub"),
        ("ecdsa256.rfc4716.pub", "ecdsa256.openssh.pub"),
        ("rsa.openssh-pem", "rsa.openssh.pub"),
        ("rsa_pp.openssh-new", "rsa_pp.openssh.pub"),
    ] {
        let path = sb.fixture(&format!("keys/putty/{file}"));
        let reference = sb.fixture(&format!("keys/putty/{reference}"));
        let expected_line = std::fs::read_to_string(&reference).unwrap();
        // Same fingerprint line as ssh-keygen gives for the OpenSSH export (a PEM key carries no
        // comment, an encrypted OpenSSH key hides it: there ssh-keygen reads the file itself).
        let anchor = if file.contains(".openssh-") {
            path.clone()
        } else {
            reference.clone()
        };
        assert_eq!(
            rk_l(&sb, &["-l"], &path),
            ssh_keygen_l(&["-l"], &anchor),
            "{file}"
        );
        if !file.ends_with(".pub") {
            let y = run(keygen(&sb)
                .args(["-y", "-P", FIXTURE_PASS, "-f"])
                .arg(&path));
            y.assert_ok(file);
            assert_eq!(
                type_and_blob(&y.stdout_str()),
                type_and_blob(&expected_line),
                "{file}"
            );
        }
    }
}

#[test]
fn reads_keys_freshly_made_by_ssh_keygen_and_puttygen() {
    let sb = Sandbox::new();
    let ossh = sb.path().join("by_ssh_keygen");
    run(peer("ssh-keygen")
        .args([
            "-q", "-t", "ecdsa", "-b", "384", "-N", "pw", "-C", "fresh", "-f",
        ])
        .arg(&ossh))
    .assert_ok("ssh-keygen");
    assert_eq!(
        rk_l(&sb, &["-l", "-v"], &ossh),
        ssh_keygen_l(&["-l", "-v"], &ossh)
    );
    let y = run(keygen(&sb).args(["-y", "-P", "pw", "-f"]).arg(&ossh));
    y.assert_ok("rk -y");
    assert_eq!(
        y.stdout_str(),
        std::fs::read_to_string(sb.path().join("by_ssh_keygen.pub")).unwrap()
    );

    let ppk = sb.path().join("by_puttygen.ppk");
    let passfile = sb.write("pp.txt", "putty pass\n");
    run(peer("puttygen")
        .args([
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-C",
            "from-putty",
            "--new-passphrase",
        ])
        .arg(&passfile)
        .arg("-o")
        .arg(&ppk))
    .assert_ok("puttygen");
    let reference = run(peer("puttygen").arg(&ppk).args(["-O", "public-openssh"]));
    reference.assert_ok("puttygen -O public-openssh");
    let y = run(keygen(&sb)
        .arg("-y")
        .arg("--old-passphrase-file")
        .arg(&passfile)
        .arg("-f")
        .arg(&ppk));
    y.assert_ok("rk -y ppk");
    assert_eq!(y.stdout_str(), reference.stdout_str());
}

/// puttygen must read every .ppk rk writes, with the right passphrase only.
#[test]
fn ppk_written_by_rk_is_read_by_puttygen() {
    let sb = Sandbox::new();
    let right = sb.write("right.txt", "s3cret phrase\n");
    let wrong = sb.write("wrong.txt", "not it\n");
    let empty = sb.write("empty.txt", "\n");
    for (t, pass) in [
        ("rsa", ""),
        ("rsa", "s3cret phrase"),
        ("ed25519", ""),
        ("ed25519", "s3cret phrase"),
        ("ecdsa", "s3cret phrase"),
    ] {
        // Several Ed25519 keys so that secrets with the high bit set are covered too.
        let rounds = if t == "ed25519" { 4 } else { 1 };
        for i in 0..rounds {
            let base = sb.path().join(format!("{t}_{}_{i}", pass.len()));
            let mut cmd = keygen(&sb);
            cmd.args([
                "-t", t, "-N", pass, "-O", "both", "-q", "-C", "ppk test", "-f",
            ])
            .arg(&base);
            if t == "rsa" {
                cmd.args(["-b", "2048"]);
            }
            run(&mut cmd).assert_ok("rk-keygen -O both");
            let ppk = base.with_file_name(format!(
                "{}.ppk",
                base.file_name().unwrap().to_string_lossy()
            ));
            assert_eq!(mode_of(&ppk), 0o600);
            assert!(
                std::fs::read_to_string(&ppk)
                    .unwrap()
                    .starts_with("PuTTY-User-Key-File-3: ")
            );
            let pub_line = std::fs::read_to_string(base.with_file_name(format!(
                "{}.pub",
                base.file_name().unwrap().to_string_lossy()
            )))
            .unwrap();

            let public = run(peer("puttygen").arg(&ppk).args(["-O", "public-openssh"]));
            public.assert_ok("puttygen public");
            assert_eq!(public.stdout_str(), pub_line, "{t} {pass:?}");

            // Decrypting the private half proves the MAC, KDF and cipher are right.
            let out = sb.path().join("converted");
            let _ = std::fs::remove_file(&out);
            let passfile = if pass.is_empty() { &empty } else { &right };
            let conv = run(peer("puttygen")
                .arg(&ppk)
                .args(["-O", "private-openssh-new", "--new-passphrase"])
                .arg(&empty)
                .arg("--old-passphrase")
                .arg(passfile)
                .arg("-o")
                .arg(&out));
            conv.assert_ok("puttygen private conversion");
            let y = run(peer("ssh-keygen").arg("-y").arg("-f").arg(&out));
            y.assert_ok("ssh-keygen -y on puttygen's conversion");
            assert_eq!(type_and_blob(&y.stdout_str()), type_and_blob(&pub_line));
            if !pass.is_empty() {
                let _ = std::fs::remove_file(&out);
                let bad = run(peer("puttygen")
                    .arg(&ppk)
                    .args(["-O", "private-openssh-new", "--new-passphrase"])
                    .arg(&empty)
                    .arg("--old-passphrase")
                    .arg(&wrong)
                    .arg("-o")
                    .arg(&out));
                assert!(
                    !bad.status.success(),
                    "puttygen accepted a wrong passphrase"
                );
                assert!(
                    bad.stderr_str().contains("wrong passphrase"),
                    "{}",
                    bad.stderr_str()
                );
            }
        }
    }
}

#[test]
fn export_converts_an_existing_key_keeping_its_passphrase() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/rsa4096_pp");
    let out = run(keygen(&sb)
        .args(["--export", "ppk", "-P", FIXTURE_PASS, "-f"])
        .arg(&key));
    out.assert_ok("--export ppk");
    let ppk = sb.path().join("rsa4096_pp.ppk");
    assert!(out.stdout_str().contains(&ppk.display().to_string()));
    let passfile = sb.write("pass.txt", FIXTURE_PASS);
    let empty = sb.write("empty.txt", "");
    let converted = sb.path().join("back");
    run(peer("puttygen")
        .arg(&ppk)
        .args(["-O", "private-openssh-new", "--old-passphrase"])
        .arg(&passfile)
        .arg("--new-passphrase")
        .arg(&empty)
        .arg("-o")
        .arg(&converted))
    .assert_ok("puttygen reads the exported key with the original passphrase");
    let y = run(peer("ssh-keygen").arg("-y").arg("-f").arg(&converted));
    let expected = std::fs::read_to_string(fixtures().join("keys/openssh/rsa4096_pp.pub")).unwrap();
    assert_eq!(type_and_blob(&y.stdout_str()), type_and_blob(&expected));
    // A second export refuses to overwrite without --force.
    let again = run(keygen(&sb)
        .args(["--export", "ppk", "-P", FIXTURE_PASS, "-f"])
        .arg(&key));
    assert_eq!(again.code(), Some(1));
}

#[test]
fn default_location_is_ssh_dir_with_safe_modes_and_no_overwrite() {
    let sb = Sandbox::new();
    let out = run(keygen(&sb).args(["-t", "ed25519", "-N", ""]));
    out.assert_ok("default ed25519");
    let ssh = sb.home().join(".ssh");
    assert_eq!(mode_of(&ssh), 0o700);
    assert_eq!(mode_of(&ssh.join("id_ed25519")), 0o600);
    assert_eq!(mode_of(&ssh.join("id_ed25519.pub")), 0o644);
    assert!(
        out.stdout_str().contains("Created directory"),
        "{}",
        out.stdout_str()
    );
    let before = std::fs::read(ssh.join("id_ed25519")).unwrap();

    let again = run(keygen(&sb).args(["-t", "ed25519", "-N", ""]));
    assert_eq!(again.code(), Some(1), "{}", again.stderr_str());
    assert!(
        again.stderr_str().contains("already exists") && again.stderr_str().contains("--force"),
        "{}",
        again.stderr_str()
    );
    assert_eq!(std::fs::read(ssh.join("id_ed25519")).unwrap(), before);

    run(keygen(&sb).args(["-t", "ed25519", "-N", "", "--force"])).assert_ok("--force");
    assert_ne!(std::fs::read(ssh.join("id_ed25519")).unwrap(), before);
    assert_eq!(listing(&ssh), vec!["id_ed25519", "id_ed25519.pub"]);

    // With no options at all: RSA 4096 at ~/.ssh/id_rsa.
    let rsa = run(keygen(&sb).arg("-q"));
    rsa.assert_ok("no options");
    let l = rk_l(&sb, &["-l"], &ssh.join("id_rsa.pub"));
    assert!(
        l.starts_with("4096 SHA256:") && l.contains(" tester@") && l.ends_with("(RSA)\n"),
        "{l}"
    );
}

#[test]
fn bad_options_are_refused_with_exit_1_and_advice() {
    let sb = Sandbox::new();
    for (args, needle) in [
        (&["-b", "1024"][..], "2048"),
        (&["-t", "dsa"][..], "ed25519"),
        (&["-t", "ed25519", "-b", "4096"][..], "fixed size"),
        (&["-t", "ecdsa", "-b", "300"][..], "256, 384 or 521"),
        (&["-t", "nonsense"][..], "unknown key type"),
        (
            &["-E", "sha1", "-l", "-f", "x"][..],
            "unknown fingerprint hash",
        ),
        (&["--no-such-flag"][..], "unexpected argument"),
    ] {
        let out = run(keygen(&sb).args(args).arg("-q"));
        assert_eq!(out.code(), Some(1), "{args:?}: {}", out.stderr_str());
        assert!(
            out.stderr_str().contains(needle),
            "{args:?}: {}",
            out.stderr_str()
        );
    }
    assert_eq!(listing(sb.path()), vec!["home"]);
    // A file that is no key at all.
    let junk = sb.write("junk", "this is not a key\n");
    let out = run(keygen(&sb).arg("-l").arg("-f").arg(&junk));
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr_str().contains("not a key rk can read"),
        "{}",
        out.stderr_str()
    );
    // Help documents the exit codes.
    let help = run(keygen(&sb).arg("--help"));
    help.assert_ok("--help");
    assert!(
        help.stdout_str().contains("Exit status:"),
        "{}",
        help.stdout_str()
    );
}

#[test]
fn unwritable_or_missing_directory_is_a_clear_error_and_leaves_nothing() {
    let sb = Sandbox::new();
    let missing = sb.path().join("no/such/dir/key");
    let out = run(keygen(&sb)
        .args(["-t", "ed25519", "-N", "", "-f"])
        .arg(&missing));
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("does the directory exist?"),
        "{}",
        out.stderr_str()
    );

    let ro = sb.path().join("readonly");
    std::fs::create_dir(&ro).unwrap();
    let _unlock = make_read_only(&ro);
    let out = run(keygen(&sb)
        .args(["-t", "ed25519", "-N", "", "-f"])
        .arg(ro.join("key")));
    assert_eq!(out.code(), Some(2), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains(&ro.display().to_string()),
        "{}",
        out.stderr_str()
    );
    assert!(listing(&ro).is_empty(), "left behind: {:?}", listing(&ro));
}

/// Makes a directory unwritable even for root (who ignores mode bits): the immutable
/// attribute on ext4, else mode 0555 for ordinary users. Undone on drop.
fn make_read_only(dir: &Path) -> impl Drop {
    struct Undo(std::path::PathBuf, bool);
    impl Drop for Undo {
        fn drop(&mut self) {
            if self.1 {
                let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
            }
            set_mode(&self.0, 0o755);
        }
    }
    set_mode(dir, 0o555);
    let immutable = Command::new("chattr")
        .arg("+i")
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    Undo(dir.to_path_buf(), immutable)
}

/// The terminal conversation, driven through a real pty: file prompt, passphrase twice with a
/// mismatch, overwrite question.
#[test]
fn prompts_on_a_terminal_like_ssh_keygen() {
    let sb = Sandbox::new();
    let target = sb.path().join("tty_key");
    // The terminal echoes what is typed (rexpect turns echo off; a user's terminal has it on),
    // so a passphrase rk-keygen failed to hide would show in what the terminal displays.
    let rk = keygen(&sb);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("stty echo; exec \"$0\" \"$@\"")
        .arg(rk.get_program())
        .args(["-t", "ed25519", "-a", "2"]);
    for (k, v) in rk.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if let Some(dir) = rk.get_current_dir() {
        cmd.current_dir(dir);
    }
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under pty");
    let mut shown = String::new();
    shown += &p
        .exp_string("Enter file in which to save the key (")
        .unwrap();
    shown += &p.exp_string("id_ed25519): ").unwrap();
    p.send_line(target.to_str().unwrap()).unwrap();
    shown += &p
        .exp_string("Enter passphrase (empty for no passphrase): ")
        .unwrap();
    type_secret(&mut p, "one");
    shown += &p.exp_string("Enter same passphrase again: ").unwrap();
    type_secret(&mut p, "two");
    shown += &p
        .exp_string("Passphrases do not match.  Try again.")
        .unwrap();
    shown += &p
        .exp_string("Enter passphrase (empty for no passphrase): ")
        .unwrap();
    type_secret(&mut p, "tty pass");
    shown += &p.exp_string("Enter same passphrase again: ").unwrap();
    type_secret(&mut p, "tty pass");
    shown += &p.exp_string("The key's randomart image is:").unwrap();
    p.exp_eof().unwrap();
    // Echo was on: the file name typed shows; no passphrase does.
    assert!(
        shown.contains(target.to_str().unwrap()),
        "echo was off: {shown}"
    );
    for secret in ["one", "two", "tty pass"] {
        assert!(
            !shown.lines().any(|l| l.trim() == secret) && !shown.contains("tty pass"),
            "the passphrase {secret:?} was echoed: {shown}"
        );
    }
    // The passphrase is the one that opens the key.
    assert!(
        run(peer("ssh-keygen")
            .args(["-y", "-P", "tty pass", "-f"])
            .arg(&target))
        .status
        .success()
    );

    // Overwrite question: "n" keeps the old key.
    let before = std::fs::read(&target).unwrap();
    let mut cmd = keygen(&sb);
    cmd.args(["-t", "ed25519", "-N", "", "-f"]).arg(&target);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("already exists.").unwrap();
    p.exp_string("Overwrite (y/n)? ").unwrap();
    p.send_line("n").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), before);

    // -p on a terminal: old passphrase, then the new one twice.
    let mut cmd = keygen(&sb);
    cmd.args(["-p", "-a", "2", "-f"]).arg(&target);
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
    p.exp_string("Enter old passphrase: ").unwrap();
    p.send_line("tty pass").unwrap();
    p.exp_string("Enter new passphrase (empty for no passphrase): ")
        .unwrap();
    p.send_line("newer").unwrap();
    p.exp_string("Enter same passphrase again: ").unwrap();
    p.send_line("newer").unwrap();
    p.exp_string("saved with the new passphrase").unwrap();
    p.exp_eof().unwrap();
    assert!(
        run(peer("ssh-keygen")
            .args(["-y", "-P", "newer", "-f"])
            .arg(&target))
        .status
        .success()
    );
}

/// Types a secret at a prompt a moment after it appears, as a person does: the prompt is
/// written before echo is turned off, and bytes sent within that instant are echoed by the
/// terminal itself (seen once in a full run).
fn type_secret(p: &mut rexpect::session::PtySession, secret: &str) {
    std::thread::sleep(std::time::Duration::from_millis(200));
    p.send_line(secret).unwrap();
}
