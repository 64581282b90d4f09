//! rk-parse-log on the shared and local job-log fixtures, its output formats checked by the real
//! consumers (sh, ssh -G), and the live-stream behaviour of --first.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

fn parse_log(sb: &Sandbox) -> Command {
    sb.rk("rk-parse-log")
}

fn check_fixtures(dir: &Path) -> usize {
    let sb = Sandbox::new();
    let pairs = job_log_fixtures(dir);
    for (log, expected) in &pairs {
        let name = log.file_name().unwrap().to_string_lossy();
        // Both as a file argument and through a pipe.
        let by_path = run(parse_log(&sb).args(["--format", "json"]).arg(log));
        let piped = run_with_input(
            parse_log(&sb).args(["--format", "json"]),
            &std::fs::read(log).unwrap(),
            Duration::from_secs(30),
        );
        for out in [&by_path, &piped] {
            assert_job_log_result(&name, out, expected);
        }
    }
    pairs.len()
}

#[test]
fn shared_fixtures() {
    assert!(check_fixtures(&fixtures().join("job-logs")) >= 5);
}

#[test]
fn local_fixtures_for_every_rule() {
    assert!(check_fixtures(&workspace_root().join("tests/fixtures/job-logs")) >= 15);
}

#[test]
fn all_lists_every_relaunch_in_order() {
    let sb = Sandbox::new();
    let out = run(parse_log(&sb)
        .args(["--all", "--format", "json"])
        .arg(workspace_root().join("tests/fixtures/job-logs/relaunch-3.log")));
    out.assert_ok("--all");
    let hosts: Vec<String> = out
        .stdout_str()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["host"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(hosts, ["18.1.1.1", "18.2.2.2", "18.3.3.3"]);
    let url = run(parse_log(&sb).arg(fixtures().join("job-logs/basic-32100.log")));
    assert_eq!(url.stdout_str(), "ssh://uprod_00Grm@3.80.3.168:32100\n");
}

#[test]
fn huge_line_does_not_hide_the_message_after_it() {
    let sb = Sandbox::new();
    let mut log = b"2026-11-24 09:00:00 start\n".to_vec();
    log.extend(std::iter::repeat_n(b'Z', 8 * 1024 * 1024));
    log.extend_from_slice(b" port 1 user x 1.1.1.1\n2026-11-24 09:00:01 Username: uprod_Big IP address: 3.80.3.7 Port: 22\n");
    let path = sb.path().join("huge.log");
    std::fs::write(&path, &log).unwrap();
    let out = run(Command::new("/usr/bin/time")
        .args(["-f", "maxrss=%M"])
        .arg(bin("rk-parse-log"))
        .args(["--format", "json"])
        .arg(&path));
    out.assert_ok("huge line");
    let got: serde_json::Value = serde_json::from_str(out.stdout_str().trim()).unwrap();
    assert_eq!(got["user"], "uprod_Big");
    assert_eq!(got["line"], 3);
    // Memory stays bounded (a few MiB), far below the 8 MiB line.
    let rss: u64 = out
        .stderr_str()
        .trim()
        .trim_start_matches("maxrss=")
        .parse()
        .unwrap();
    assert!(rss < 8 * 1024, "max RSS {rss} KiB");
}

#[test]
fn env_format_evaluates_in_sh() {
    let sb = Sandbox::new();
    let log = fixtures().join("job-logs/basic-32100.log");
    let script = format!(
        "eval \"$({} --format env {})\" && printf '%s|%s|%s' \"$RK_USER\" \"$RK_HOST\" \"$RK_PORT\"",
        bin("rk-parse-log").display(),
        log.display()
    );
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(sb.path()));
    out.assert_ok("sh eval");
    assert_eq!(out.stdout_str(), "uprod_00Grm|3.80.3.168|32100");
    // Unknown port: an empty RK_PORT, not a broken command.
    let no_port = workspace_root().join("tests/fixtures/job-logs/no-port.log");
    let script = format!(
        "eval \"$({} --format env {})\" && printf '[%s]' \"$RK_PORT\"",
        bin("rk-parse-log").display(),
        no_port.display()
    );
    let out = run(Command::new("sh").arg("-c").arg(script));
    assert_eq!(out.stdout_str(), "[]");
}

#[test]
fn ssh_format_gives_the_intended_argv() {
    let sb = Sandbox::new();
    let log = fixtures().join("job-logs/basic-22.log");
    let line = run(parse_log(&sb)
        .args(["--format", "ssh", "-i", "~/my keys/id_rsa"])
        .arg(&log));
    line.assert_ok("--format ssh");
    let cmd = line.stdout_str();
    assert!(cmd.starts_with("ssh -p 22 -i ~/"), "{cmd}");
    // What the shell would hand to ssh, one argument per line.
    let argv = run(Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '%s\\n' {}",
            cmd.trim().trim_start_matches("ssh ")
        ))
        .env("HOME", "/home/u"));
    argv.assert_ok("sh printf");
    assert_eq!(
        argv.stdout_str(),
        "-p\n22\n-i\n/home/u/my keys/id_rsa\nuprod_qpWia@107.23.132.81\n"
    );
}

#[test]
fn ssh_config_format_is_read_by_ssh() {
    let sb = Sandbox::new();
    let log = fixtures().join("job-logs/basic-32100.log");
    let block = run(parse_log(&sb)
        .args([
            "--format",
            "ssh-config",
            "--alias",
            "myjob",
            "-i",
            "/keys/my id",
        ])
        .arg(&log));
    block.assert_ok("--format ssh-config");
    let config = sb.write("config", &block.stdout_str());
    let g = run(peer("ssh").arg("-G").arg("-F").arg(&config).arg("myjob"));
    g.assert_ok("ssh -G");
    let conf = g.stdout_str();
    for expected in [
        "hostname 3.80.3.168\n",
        "user uprod_00Grm\n",
        "port 32100\n",
        "identityfile \"/keys/my id\"\n",
        "identitiesonly yes\n",
    ] {
        assert!(
            conf.contains(expected) || conf.contains(&expected.replace('"', "")),
            "missing {expected:?} in:\n{conf}"
        );
    }
}

#[test]
fn ssh_config_nodes_block_jumps_through_the_head_node_for_ssh_and_rk_connect() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let public = fixtures().join("keys/openssh/ed25519.pub");
    let (head, node) = (
        Sshd::start(&[public.as_path()]),
        Sshd::start(&[public.as_path()]),
    );
    let log = sb.write(
        "job.log",
        &format!(
            "Cluster is up.\nSSH: {}@127.0.0.1 port {}\n",
            current_user(),
            head.port
        ),
    );
    let block = run(parse_log(&sb)
        .args([
            "--format",
            "ssh-config",
            "--allow-private",
            "--nodes",
            "localhost node*",
            "-i",
        ])
        .arg(&key)
        .arg(&log));
    block.assert_ok("--format ssh-config --nodes");
    let config = sb.write("config", &block.stdout_str());

    // OpenSSH reads it: a node jumps through rk-job; rk-job itself does not jump.
    let g = run(peer("ssh").arg("-G").arg("-F").arg(&config).arg("node7"));
    g.assert_ok("ssh -G node7");
    let conf = g.stdout_str();
    assert!(
        conf.contains("proxyjump rk-job\n") && conf.contains(&format!("user {}\n", current_user())),
        "{conf}"
    );
    let g = run(peer("ssh").arg("-G").arg("-F").arg(&config).arg("rk-job"));
    assert!(
        !g.stdout_str().contains("proxyjump rk-job"),
        "{}",
        g.stdout_str()
    );

    // rk-connect reads it too: `localhost` is the compute node, reached through the head node.
    let out = run(sb
        .rk_connect()
        .arg("-F")
        .arg(&config)
        .arg("-p")
        .arg(node.port.to_string())
        .args(["localhost", "echo", "on-the-node"]));
    out.assert_ok("rk-connect NODE through the config's ProxyJump");
    assert_eq!(out.stdout_str(), "on-the-node\n");
    assert!(
        head.log()
            .contains(&format!("target localhost port {}", node.port)),
        "{}",
        head.log()
    );

    let bad = run(parse_log(&sb)
        .args([
            "--format",
            "ssh-config",
            "--nodes",
            "node*\n    ProxyCommand x",
        ])
        .arg(&log));
    assert_eq!(bad.code(), Some(2), "{}", bad.stdout_str());
}

#[test]
fn putty_and_json_formats() {
    let sb = Sandbox::new();
    let log = fixtures().join("job-logs/crlf-ansi.log");
    let p = run(parse_log(&sb)
        .args(["--format", "putty", "-i", "C:\\keys\\my key.ppk"])
        .arg(&log));
    assert_eq!(
        p.stdout_str(),
        "putty -ssh -P 32100 -i \"C:\\keys\\my key.ppk\" uprod_Ab3dE@54.201.7.19\n"
    );
    // The same message as JSON: every field, typed (the port a number, the line where it was).
    let j = run(parse_log(&sb).args(["--format", "json"]).arg(&log));
    j.assert_ok("--format json");
    let got: serde_json::Value = serde_json::from_str(j.stdout_str().trim())
        .unwrap_or_else(|e| panic!("not JSON: {e}: {}", j.stdout_str()));
    assert_eq!(got["user"], "uprod_Ab3dE");
    assert_eq!(got["host"], "54.201.7.19");
    assert_eq!(got["port"], 32100);
    assert!(got["line"].as_u64().is_some_and(|l| l >= 1), "{got}");
}

#[test]
fn save_remembers_the_job_for_rk_connect() {
    let sb = Sandbox::new();
    let state = sb.path().join("state");
    let out = run(parse_log(&sb)
        .arg("--save")
        .env("XDG_STATE_HOME", &state)
        .arg(fixtures().join("job-logs/restart.log")));
    out.assert_ok("--save");
    let saved = state.join("rk/last-job");
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "ssh://uprod_Zx9Qa@3.141.92.6:32100\n"
    );
    assert!(out.stderr_str().contains("saved"), "{}", out.stderr_str());
    // Without XDG_STATE_HOME: ~/.local/state/rk/last-job.
    run(parse_log(&sb)
        .arg("--save")
        .env_remove("XDG_STATE_HOME")
        .arg(fixtures().join("job-logs/basic-22.log")))
    .assert_ok("--save default");
    assert!(sb.home().join(".local/state/rk/last-job").exists());
}

#[test]
fn errors_and_exit_codes() {
    let sb = Sandbox::new();
    let missing = run(parse_log(&sb).arg("no-such.log"));
    assert_eq!(missing.code(), Some(2));
    assert!(
        missing.stderr_str().contains("no-such.log"),
        "{}",
        missing.stderr_str()
    );
    let bad = run(parse_log(&sb)
        .args(["--pattern", "(unclosed"])
        .arg(fixtures().join("job-logs/basic-22.log")));
    assert_eq!(bad.code(), Some(2));
    assert!(bad.stderr_str().contains("not a valid regex"));
    let no_host = run(parse_log(&sb)
        .args(["--pattern", "(?P<user>\\w+)"])
        .arg(fixtures().join("job-logs/basic-22.log")));
    assert_eq!(no_host.code(), Some(2));
    assert!(no_host.stderr_str().contains("host"));
    let none = run(parse_log(&sb).arg(fixtures().join("job-logs/no-ssh-yet.log")));
    assert_eq!(none.code(), Some(1));
    assert!(
        none.stderr_str().contains("read 3 lines"),
        "{}",
        none.stderr_str()
    );
    // A custom pattern for a platform that words it differently.
    let custom_log = sb.write(
        "custom.log",
        "head node headnode-7.example.org ready; account alice; ssh on 2222\n",
    );
    let out = run(parse_log(&sb)
        .args([
            "--pattern",
            r"head node (?P<host>\S+) ready; account (?P<user>\w+); ssh on (?P<port>\d+)",
        ])
        .arg(&custom_log));
    out.assert_ok("custom pattern");
    assert_eq!(
        out.stdout_str(),
        "ssh://alice@headnode-7.example.org:2222\n"
    );
}

/// A live stream: `--first` prints the moment the message arrives and exits, without waiting
/// for the writer to close the pipe.
#[test]
fn first_exits_as_soon_as_the_line_arrives() {
    let sb = Sandbox::new();
    let mut cmd = parse_log(&sb);
    cmd.arg("--first")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let mut stdin = child.child().stdin.take().unwrap();
    let stdout = child.child().stdout.take().unwrap();
    for i in 0..50 {
        writeln!(
            stdin,
            "2026-11-24 10:00:{i:02} provisioning node 10.0.0.{i}"
        )
        .unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let written = Instant::now();
    writeln!(stdin, "2026-11-24 10:01:00 SSH access: the job username is uprod_Live1 and the public IP address is 3.80.9.9, port 32100").unwrap();
    stdin.flush().unwrap();
    let line = first_line_within(stdout, Duration::from_secs(30));
    let latency = written.elapsed();
    assert_eq!(line, "ssh://uprod_Live1@3.80.9.9:32100\n");
    // The pipe is still open; rk must exit on its own.
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert!(status.success());
    eprintln!("--first latency: {latency:?}");
    assert!(latency < Duration::from_secs(1), "latency {latency:?}");
    drop(stdin);
}

#[test]
fn first_prints_a_portless_message_when_the_stream_pauses() {
    let sb = Sandbox::new();
    let mut cmd = parse_log(&sb);
    cmd.args(["--first", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let mut stdin = child.child().stdin.take().unwrap();
    let stdout = child.child().stdout.take().unwrap();
    writeln!(
        stdin,
        "Cluster started. Username: uprod_NoP  IP address: 107.23.132.90"
    )
    .unwrap();
    stdin.flush().unwrap();
    let line = first_line_within(stdout, Duration::from_secs(30));
    let got: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(got["port"], serde_json::Value::Null);
    assert!(wait_bounded(&mut child, Duration::from_secs(5)).success());
    drop(stdin);
}

#[test]
fn first_with_timeout_gives_up_with_exit_1() {
    let sb = Sandbox::new();
    let mut cmd = parse_log(&sb);
    cmd.args(["--first", "--timeout", "0.5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let mut stdin = child.child().stdin.take().unwrap();
    writeln!(stdin, "Provisioning cluster").unwrap();
    let start = Instant::now();
    let status = wait_bounded(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(1));
    assert!(start.elapsed() < Duration::from_secs(3));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.child().stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("within 0.5 s"), "{err}");
    drop(stdin);
}

#[test]
fn legacy_code_pages_are_told_or_named_with_encoding() {
    let sb = Sandbox::new();
    let cp932 = workspace_root().join("tests/fixtures/job-logs/ja-cp932.log");
    // Told from the bytes, through a pipe.
    let bytes = std::fs::read(&cp932).unwrap();
    let mut cmd = parse_log(&sb);
    cmd.args(["--format", "json"]);
    let out = run_with_input(&mut cmd, &bytes, std::time::Duration::from_secs(30));
    out.assert_ok("Shift_JIS on stdin");
    assert!(
        out.stdout_str().contains(r#""port":32100"#),
        "{}",
        out.stdout_str()
    );
    // Named: the same file read as Shift_JIS; read as Windows-1252 it is mojibake, where no
    // Japanese label is seen (so --encoding is what decides).
    let named = run(parse_log(&sb)
        .args(["--format", "json", "--encoding", "cp932"])
        .arg(&cp932));
    assert_eq!(named.stdout_str(), out.stdout_str());
    let wrong = run(parse_log(&sb)
        .args(["--format", "json", "--encoding", "windows-1252"])
        .arg(&cp932));
    assert_eq!(wrong.status.code(), Some(1), "{}", wrong.stdout_str());
    assert!(
        wrong.stderr_str().contains("no SSH connection message yet"),
        "{}",
        wrong.stderr_str()
    );
    let bad = run(parse_log(&sb).args(["--encoding", "klingon"]).arg(&cp932));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        bad.stderr_str().contains("unknown encoding \"klingon\""),
        "{}",
        bad.stderr_str()
    );
}
