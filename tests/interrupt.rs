//! Ctrl-C and SIGTERM at any moment: the old key files stay byte-identical (or the change is
//! complete), no temporary file is left behind, and a passphrase prompt gives the terminal its
//! echo back.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

/// Files in `dir` that are not `expected` (temporary files left behind show up here).
fn strays(dir: &Path, expected: &[&str]) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|name| !expected.contains(&name.as_str()))
        .collect()
}

fn opens_with(key: &Path, passphrase: &str) -> bool {
    run(peer("ssh-keygen")
        .args(["-y", "-P", passphrase, "-f"])
        .arg(key))
    .status
    .success()
}

#[test]
fn ctrl_c_at_the_new_passphrase_prompt_restores_echo_and_changes_nothing() {
    let sb = Sandbox::new();
    let key = sb.path().join("id_ed25519");
    run(sb
        .rk("rk-keygen")
        .args(["-q", "-t", "ed25519", "-a", "2", "-N", "old", "-f"])
        .arg(&key))
    .assert_ok("make the key");
    let before = std::fs::read(&key).unwrap();
    let before_pub = std::fs::read(key.with_extension("pub")).unwrap();

    // A shell on a terminal that survives the Ctrl-C (its trap is a handler, so rk-keygen gets
    // the default action) and records the terminal settings before and after.
    let script = format!(
        "trap : INT; stty -g > {d}/before; {rk} -p -a 2 -f {key}; echo \"rk-keygen status $?\"; stty -g > {d}/after",
        d = sb.path().display(),
        rk = bin("rk-keygen").display(),
        key = key.display(),
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&script).env("HOME", sb.home());
    let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under pty");
    p.exp_string("Enter old passphrase: ").unwrap();
    p.send_line("old").unwrap();
    p.exp_string("Enter new passphrase (empty for no passphrase): ")
        .unwrap();
    p.send("half typed").unwrap();
    p.send_control('c').unwrap();
    // The line end after the digits: a status cut in two reads must not be taken for a shorter one.
    let (_, status) = p.exp_regex(r"rk-keygen status \d+\s").unwrap();
    p.exp_eof().unwrap();
    assert_eq!(
        status.trim_end(),
        "rk-keygen status 130",
        "killed by SIGINT"
    );

    let settings_before = std::fs::read_to_string(sb.path().join("before")).unwrap();
    let settings_after = std::fs::read_to_string(sb.path().join("after")).unwrap();
    assert!(!settings_before.trim().is_empty());
    assert_eq!(
        settings_before, settings_after,
        "the terminal's settings (echo among them) were not restored"
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);
    assert_eq!(
        std::fs::read(key.with_extension("pub")).unwrap(),
        before_pub
    );
    assert!(opens_with(&key, "old"));
    assert_eq!(
        strays(
            sb.path(),
            &["id_ed25519", "id_ed25519.pub", "before", "after", "home"]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn sigterm_at_any_moment_of_a_passphrase_change_leaves_a_whole_key_and_no_temp_files() {
    let sb = Sandbox::new();
    let key = sb.path().join("id_rsa");
    // bcrypt with 16 rounds takes long enough that signals land before, during and after the
    // key derivation and the write.
    run(sb
        .rk("rk-keygen")
        .args([
            "-q", "-t", "rsa", "-b", "2048", "-a", "16", "-N", "pass-0", "-f",
        ])
        .arg(&key))
    .assert_ok("make the key");
    let public = std::fs::read(key.with_extension("pub")).unwrap();

    // How long one change takes, to spread the signals over it.
    let started = Instant::now();
    run(sb
        .rk("rk-keygen")
        .args(["-p", "-a", "16", "-P", "pass-0", "-N", "pass-1", "-f"])
        .arg(&key))
    .assert_ok("rk-keygen -p");
    let full = started.elapsed();
    let mut current = 1u32;
    let mut interrupted = 0;

    for round in 0..16u32 {
        let next = current + 1;
        let mut cmd = sb.rk("rk-keygen");
        cmd.args(["-p", "-a", "16"])
            .arg("-P")
            .arg(format!("pass-{current}"))
            .arg("-N")
            .arg(format!("pass-{next}"))
            .arg("-f")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = ChildGuard::spawn(&mut cmd).unwrap();
        // From "at once" to "about when it finishes".
        std::thread::sleep(full.mul_f64(f64::from(round) / 15.0));
        let signal = if round % 2 == 0 { "TERM" } else { "INT" };
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let status = wait_bounded(&mut child, Duration::from_secs(30));
        if status.success() {
            current = next;
        } else {
            interrupted += 1;
            use std::os::unix::process::ExitStatusExt;
            assert!(
                status.signal().is_some() || status.code() == Some(130),
                "round {round}: {status:?}"
            );
            // A signal that lands after the new key was renamed into place, before the process
            // ends, leaves the new key: whole either way.
            if !opens_with(&key, &format!("pass-{current}")) {
                current = next;
            }
        }
        assert!(
            opens_with(&key, &format!("pass-{current}")),
            "round {round}: the key opens with neither its old nor its new passphrase"
        );
        assert_eq!(std::fs::read(key.with_extension("pub")).unwrap(), public);
        assert_eq!(
            strays(sb.path(), &["id_rsa", "id_rsa.pub", "home"]),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    assert!(interrupted > 0, "no signal landed while rk-keygen ran");
}
