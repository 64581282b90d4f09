//! rk-connect logging in with a password and with keyboard-interactive (PAM), typed on a pty,
//! against a throwaway sshd and a throwaway local account with a known password.

use std::process::Command;

use rk_e2e::*;

/// An sshd that takes no keys and the given authentication settings, and an account to log in as.
fn server(auth: &str) -> (Sandbox, Sshd, TestUser) {
    let user = TestUser::create();
    let mut sshd = Sshd::prepare(&[]);
    sshd.config_first = auth.to_string();
    sshd.launch();
    (Sandbox::new(), sshd, user)
}

fn connect(sb: &Sandbox, sshd: &Sshd, user: &TestUser) -> Command {
    let mut c = sb.rk_connect();
    c.arg("--no-agent")
        .arg(format!("ssh://{}@127.0.0.1:{}", user.name, sshd.port))
        .args(["echo", "logged-in-as-$(id -un)"]);
    c
}

/// Drives rk-connect on a pty: answers each of `answers` at the prompt `prompt`, then reads to
/// the end. Returns everything the terminal showed and the exit status.
fn on_pty(cmd: Command, prompt: &str, answers: &[&str]) -> (String, i32) {
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn under pty");
    let mut transcript = String::new();
    for answer in answers {
        transcript.push_str(&p.exp_string(prompt).expect("prompt"));
        transcript.push_str(prompt);
        p.send_line(answer).unwrap();
    }
    transcript.push_str(&p.exp_eof().expect("end"));
    let code = match p.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("{other:?}"),
    };
    (transcript, code)
}

#[test]
fn password_logs_in_and_is_never_echoed() {
    let (sb, sshd, user) =
        server("UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n");
    let prompt = format!("{}@127.0.0.1's password: ", user.name);
    let (transcript, code) = on_pty(connect(&sb, &sshd, &user), &prompt, &[&user.password]);
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains(&format!("logged-in-as-{}", user.name)),
        "{transcript}"
    );
    assert!(!transcript.contains(&user.password), "{transcript}");
}

#[test]
fn three_wrong_passwords_fail_listing_the_methods() {
    let (sb, sshd, user) =
        server("UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n");
    let prompt = format!("{}@127.0.0.1's password: ", user.name);
    let wrong = ["Wrong-One-1", "Wrong-Two-2", "Wrong-Three-3"];
    let (transcript, code) = on_pty(connect(&sb, &sshd, &user), &prompt, &wrong);
    assert_eq!(code, 255, "{transcript}");
    assert_eq!(
        transcript
            .matches("Permission denied, please try again.")
            .count(),
        2,
        "{transcript}"
    );
    assert!(
        transcript.contains(&format!(
            "Permission denied (publickey,password) for {}@127.0.0.1",
            user.name
        )) && transcript.contains("tried: password"),
        "{transcript}"
    );
    for w in wrong {
        assert!(!transcript.contains(w), "{w} echoed: {transcript}");
    }
    assert!(!transcript.contains("logged-in-as"));
}

#[test]
fn keyboard_interactive_through_pam() {
    let (sb, sshd, user) =
        server("UsePAM yes\nPasswordAuthentication no\nKbdInteractiveAuthentication yes\n");
    // PAM's own prompt, sent by the server as a hidden keyboard-interactive field.
    let (transcript, code) = on_pty(connect(&sb, &sshd, &user), "Password: ", &[&user.password]);
    assert_eq!(code, 0, "{transcript}\n{}", sshd.log());
    assert!(
        transcript.contains(&format!("logged-in-as-{}", user.name)),
        "{transcript}"
    );
    assert!(!transcript.contains(&user.password), "{transcript}");

    let wrong = ["Nope-1", "Nope-2", "Nope-3"];
    let (transcript, code) = on_pty(connect(&sb, &sshd, &user), "Password: ", &wrong);
    assert_eq!(code, 255, "{transcript}");
    assert!(
        transcript.contains("Permission denied (publickey,keyboard-interactive)")
            && transcript.contains("tried: keyboard-interactive"),
        "{transcript}"
    );
    for w in wrong {
        assert!(!transcript.contains(w), "{w} echoed: {transcript}");
    }
}

#[test]
fn without_a_terminal_it_says_so_and_reads_nothing() {
    let (sb, sshd, user) =
        server("UsePAM no\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n");
    let mut cmd = connect(&sb, &sshd, &user);
    // The password on stdin must not be taken: rk reads passwords from the terminal only.
    let out = run_with_input(
        without_terminal(&mut cmd),
        format!("{}\n", user.password).as_bytes(),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(out.code(), Some(255), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("but there is no terminal to ask")
            && out.stderr_str().contains("publickey,password"),
        "{}",
        out.stderr_str()
    );
    assert!(!out.stdout_str().contains("logged-in-as"));
}
