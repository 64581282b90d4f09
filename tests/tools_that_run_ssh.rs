//! rk-connect as the "ssh" of the tools users point at it: VS Code Remote-SSH
//! (`remote.SSH.path`), git (`GIT_SSH_COMMAND`) and rsync (`-e`). Each test replays the
//! invocation the tool makes, as its public logs or manual show it, against a throwaway sshd,
//! and the tool's own settings come from `~/.ssh/config` as they would for a user.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

/// A Host block for the sshd, as a user would write it: the tools only name the alias.
fn ssh_config(sb: &Sandbox, sshd: &Sshd, key: &Path, extra: &str) -> String {
    let dir = sb.home().join(".ssh");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "Host cluster\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
         UserKnownHostsFile {}\n  StrictHostKeyChecking accept-new\n{extra}",
        sshd.port,
        current_user(),
        key.display(),
        sb.known_hosts().display()
    );
    std::fs::write(dir.join("config"), text).unwrap();
    "cluster".into()
}

/// VS Code Remote-SSH runs `PATH -V` first and gives up on a binary that does not exit 0 or
/// whose output (stdout and stderr together) lacks "OpenSSH": its logs show `Checking ssh with
/// "… -V"`, then either the version line or "The specified path … is not a valid SSH binary"
/// (microsoft/vscode-remote-release#2189, #8292, #10497). A line naming OpenSSH_for_Windows is
/// passed over when another ssh exists (microsoft/vscode-docs#3465).
#[test]
fn vscode_version_check_sees_an_ssh_that_exits_0_and_names_openssh() {
    let sb = Sandbox::new();
    let out = run(sb.rk("rk-connect").arg("-V"));
    out.assert_ok("rk-connect -V");
    let stderr = out.stderr_str();
    // Older Remote-SSH read stderr only ("Got stderr from ssh: OpenSSH_7.9p1, …"), as ssh
    // prints it there.
    assert!(
        out.stdout_str().is_empty(),
        "-V printed on stdout: {}",
        out.stdout_str()
    );
    assert!(stderr.contains("OpenSSH_"), "{stderr}");
    assert!(stderr.starts_with("rk-connect "), "{stderr}");
    assert!(!stderr.to_ascii_lowercase().contains("openssh_for_windows"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // --version, the Rust tools' flag, says the same on stdout.
    let long = run(sb.rk("rk-connect").arg("--version"));
    long.assert_ok("rk-connect --version");
    assert_eq!(long.stdout_str(), stderr);
}

/// Remote-SSH's local-server mode (macOS/Linux default) runs `ssh -v -T -D PORT -o
/// ConnectTimeout=15 HOST bash` (the "Running ssh connection command" line of
/// microsoft/vscode-remote-release#10916), writes its install script on stdin, reads markers
/// from stdout (`listeningOn==PORT==`, same log), then reaches the server through the SOCKS
/// port while the script runs. It asks for passphrases through `SSH_ASKPASS`, which it sets to
/// its own program (microsoft/vscode-remote-release#4747), and there is no terminal.
#[test]
fn vscode_local_server_invocation_asks_through_askpass_and_serves_socks() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("rsa4096_pp"));
    let key = sb.fixture("keys/openssh/rsa4096_pp");
    let host = ssh_config(&sb, &sshd, &key, "");
    let asked = sb.path().join("asked");
    let askpass = sb.write(
        "askpass.sh",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\nprintf 'correct horse\\n'\n",
            asked.display()
        ),
    );
    set_mode(&askpass, 0o755);
    let server = one_page_server("the VS Code server\n", 1);
    let socks = free_port();
    let mut cmd = sb.rk("rk-connect");
    cmd.args([
        "-v",
        "-T",
        "-D",
        &socks.to_string(),
        "-o",
        "ConnectTimeout=15",
    ])
    .arg(&host)
    .arg("bash")
    .env("SSH_ASKPASS", &askpass)
    .env("DISPLAY", ":0")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let mut stdin = child.child().stdin.take().unwrap();
    let stdout = child.child().stdout.take().unwrap();
    let stderr = child.child().stderr.take().unwrap();
    let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // The script's shape: markers around the server's port, then it stays until stdin closes.
    writeln!(
        stdin,
        "echo 'e5316b371331: start'\necho 'listeningOn=={server}=='\necho 'e5316b371331: end'\nread -r _\necho gone"
    )
    .unwrap();
    let lines = lines_until(stdout, "e5316b371331: end", Duration::from_secs(30));
    let port: u16 = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("listeningOn==")?
                .strip_suffix("==")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no listeningOn marker in {lines:?}"));
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "20", "--socks5-hostname"])
        .arg(format!("127.0.0.1:{socks}"))
        .arg(format!("http://localhost:{port}/")));
    out.assert_ok("curl through rk-connect's -D");
    assert_eq!(out.stdout_str(), "the VS Code server\n");
    drop(stdin);
    let status = wait_bounded(&mut child, Duration::from_secs(20));
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The passphrase was asked through the askpass program, with the key named.
    let questions = std::fs::read_to_string(&asked).expect("askpass was not run");
    assert!(questions.contains("rsa4096_pp"), "{questions}");
    // -v starts with the version line, as ssh's does (Remote-SSH logs it as "stderr> …").
    assert!(
        stderr
            .lines()
            .next()
            .unwrap_or_default()
            .contains("OpenSSH_"),
        "{stderr}"
    );
}

/// The same without SSH_ASKPASS and without a terminal: refused at once with a clear reason,
/// never waiting for an answer nobody can give.
#[test]
fn without_askpass_or_terminal_an_encrypted_key_is_skipped_with_a_reason() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("rsa4096_pp"));
    let key = sb.fixture("keys/openssh/rsa4096_pp");
    let host = ssh_config(&sb, &sshd, &key, "");
    let out = run_with_input(
        sb.rk("rk-connect")
            .args(["-T", &host, "true"])
            .env("DISPLAY", ":0"),
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str().contains("no terminal to ask"),
        "{}",
        out.stderr_str()
    );
}

/// Older Remote-SSH ran `ssh -T -o ClearAllForwardings=true -o ConnectTimeout=15 HOST bash`
/// (microsoft/vscode-remote-release#2189); scp passes ClearAllForwardings too. A Host block's
/// LocalForward must then not be opened (here its port is taken, which would be an error).
#[test]
fn clear_all_forwardings_drops_the_host_blocks_forwards() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let key = sb.fixture("keys/openssh/ed25519");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let host = ssh_config(
        &sb,
        &sshd,
        &key,
        &format!("  LocalForward {port} 127.0.0.1:9\n"),
    );
    let with = run_with_input(
        sb.rk("rk-connect")
            .args([
                "-T",
                "-o",
                "ClearAllForwardings=true",
                "-o",
                "ConnectTimeout=15",
            ])
            .args([&host, "bash"]),
        b"echo script ran\n",
        Duration::from_secs(30),
    );
    with.assert_ok("ClearAllForwardings=true");
    assert_eq!(with.stdout_str(), "script ran\n");
    assert!(
        !with.stderr_str().contains(&port.to_string()),
        "{}",
        with.stderr_str()
    );
    // Without it the forward is tried, and its taken port is reported.
    let without = run_with_input(
        sb.rk("rk-connect").args(["-T", &host, "bash"]),
        b"echo script ran\n",
        Duration::from_secs(30),
    );
    assert!(
        without.stderr_str().contains(&port.to_string()),
        "{}",
        without.stderr_str()
    );
}

/// git runs `$GIT_SSH_COMMAND` through the shell; for a command it does not know, it first
/// runs it with `-G` to see whether it takes OpenSSH's options (git-config(1), ssh.variant),
/// then `CMD [-o SendEnv=GIT_PROTOCOL] [-p PORT] HOST "git-upload-pack '/path'"`.
#[test]
fn git_clones_and_pushes_through_git_ssh_command() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let key = sb.fixture("keys/openssh/ed25519");
    let host = ssh_config(&sb, &sshd, &key, "");
    let origin = sb.path().join("origin.git");
    run(git(&sb, sb.path(), &["init", "-q", "--bare", "-b", "main"]).arg(&origin))
        .assert_ok("git init");
    let work = sb.path().join("work");
    run(git(&sb, sb.path(), &["clone", "-q"])
        .arg(&origin)
        .arg(&work))
    .assert_ok("local clone");
    std::fs::write(work.join("input.deck"), "nodes 4\n").unwrap();
    run(&mut git(&sb, &work, &["add", "input.deck"])).assert_ok("git add");
    run(&mut git(&sb, &work, &["commit", "-q", "-m", "deck"])).assert_ok("git commit");
    run(&mut git(&sb, &work, &["push", "-q", "origin", "main"])).assert_ok("local push");

    let url = format!("ssh://{host}{}", origin.display());
    let clone = sb.path().join("clone");
    let out = run(git(&sb, sb.path(), &["clone", "-q"]).arg(&url).arg(&clone));
    out.assert_ok("git clone over rk-connect");
    assert_eq!(
        std::fs::read_to_string(clone.join("input.deck")).unwrap(),
        "nodes 4\n"
    );
    std::fs::write(clone.join("result.txt"), "done\n").unwrap();
    run(&mut git(&sb, &clone, &["add", "result.txt"])).assert_ok("git add");
    run(&mut git(&sb, &clone, &["commit", "-q", "-m", "result"])).assert_ok("git commit");
    run(&mut git(&sb, &clone, &["push", "-q", "origin", "main"]))
        .assert_ok("git push over rk-connect");
    let log = run(git(&sb, sb.path(), &["--git-dir"])
        .arg(&origin)
        .args(["log", "--format=%s"]));
    assert_eq!(log.stdout_str(), "result\ndeck\n");
    // The clone and the push went through sshd (not a local path): it logged their commands.
    let commands = sshd.log().matches("Starting session: command").count();
    assert!(commands >= 2, "{commands} commands in sshd's log");
}

/// rsync runs `-e`'s command as `CMD [-l USER] HOST rsync --server …` (rsync(1), -e).
#[test]
fn rsync_copies_both_ways_through_dash_e() {
    let (sb, sshd) = (Sandbox::new(), Sshd::accepting_fixture("ed25519"));
    let key = sb.fixture("keys/openssh/ed25519");
    let host = ssh_config(&sb, &sshd, &key, "");
    let here = sb.path().join("here");
    std::fs::create_dir_all(here.join("sub dir")).unwrap();
    std::fs::write(here.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(here.join("sub dir/b.bin"), vec![7u8; 300_000]).unwrap();
    let there = sb.path().join("there");
    let e = format!("{} -q", bin("rk-connect").display());
    let up = run(in_sandbox(&sb, "rsync")
        .args(["-a", "-e", &e])
        .arg(format!("{}/", here.display()))
        .arg(format!("{host}:{}/", there.display())));
    up.assert_ok("rsync up");
    assert_eq!(listing(&there), listing(&here));
    assert_eq!(
        std::fs::read(there.join("sub dir/b.bin")).unwrap(),
        vec![7u8; 300_000]
    );
    let back = sb.path().join("back");
    let down = run(in_sandbox(&sb, "rsync")
        .args(["-a", "-e", &e])
        .arg(format!("{host}:{}/", there.display()))
        .arg(&back));
    down.assert_ok("rsync down");
    assert_eq!(
        std::fs::read_to_string(back.join("a.txt")).unwrap(),
        "alpha\n"
    );
}

/// A peer program with the sandbox as HOME (so ~/.ssh/config is the test's) and no agent.
fn in_sandbox(sb: &Sandbox, program: &str) -> Command {
    let mut cmd = peer(program);
    cmd.current_dir(sb.path()).env("HOME", sb.home());
    cmd
}

/// git in the sandbox: HOME (so ~/.ssh/config) there, rk-connect as its ssh, a fixed author.
fn git(sb: &Sandbox, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = in_sandbox(sb, "git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_SSH_COMMAND", bin("rk-connect"))
        .env("GIT_AUTHOR_NAME", "rk test")
        .env("GIT_AUTHOR_EMAIL", "rk@example.org")
        .env("GIT_COMMITTER_NAME", "rk test")
        .env("GIT_COMMITTER_EMAIL", "rk@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// Lines of `out` up to and including `last`, within `limit`.
fn lines_until(
    out: impl std::io::Read + Send + 'static,
    last: &str,
    limit: Duration,
) -> Vec<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut lines = Vec::new();
    while lines.last().map(String::as_str) != Some(last) {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => lines.push(line),
            Err(_) => panic!("no {last:?} within {limit:?}; got {lines:?}"),
        }
    }
    lines
}
