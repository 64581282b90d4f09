//! rk-connect reads ~/.ssh/config as ssh does: `rk-connect -G` and OpenSSH's `ssh -G` print
//! the same user, host name, port and agent forwarding for the same config and destination
//! (Host patterns, Match blocks, Include, first value wins), and what rk-connect cannot do
//! is said, not silently done wrong.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use rk_e2e::*;

/// `keyword value` lines of `-G` output; repeated keywords keep their lines in order.
fn settings(out: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(out).lines() {
        if let Some((k, v)) = line.split_once(' ') {
            map.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    map
}

/// `rk-connect -G ARGS… -F CONFIG DESTINATION`, as the local user, not checked.
fn rk_g(sb: &Sandbox, args: &[&str], config: &Path, destination: &str) -> Output {
    run(sb
        .rk("rk-connect")
        .env("USER", current_user())
        .arg("-G")
        .args(args)
        .arg("-F")
        .arg(config)
        .arg(destination))
}

/// The run failed with rk-connect's own status and said `text` on stderr.
fn assert_refused(out: &Output, text: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(stderr.contains(text), "expected {text:?} in: {stderr}");
}

fn rk_settings(sb: &Sandbox, config: &Path, destination: &str) -> BTreeMap<String, Vec<String>> {
    let out = rk_g(sb, &[], config, destination);
    assert!(
        out.status.success(),
        "rk-connect -G -F {} {destination}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    settings(&out.stdout)
}

fn ssh_settings(config: &Path, destination: &str) -> BTreeMap<String, Vec<String>> {
    let out = run(Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(config)
        .arg(destination));
    assert!(
        out.status.success(),
        "ssh -G -F {} {destination}: {}",
        config.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    settings(&out.stdout)
}

/// The settings both print the same way. A port rk-connect was not given prints as
/// `32100,22` (it tries the platform's two ports); ssh's default then is 22.
fn assert_same(sb: &Sandbox, config: &Path, destination: &str) {
    let rk = rk_settings(sb, config, destination);
    let ssh = ssh_settings(config, destination);
    let text = std::fs::read_to_string(config).unwrap();
    for key in ["user", "hostname", "port", "forwardagent"] {
        let (mine, theirs) = (&rk[key], &ssh[key]);
        let same = mine == theirs || (key == "port" && mine == &["32100,22"] && theirs == &["22"]);
        assert!(
            same,
            "{key} for {destination}: rk-connect {mine:?}, ssh {theirs:?}\nconfig:\n{text}"
        );
    }
}

const BLOCKS: &str = "\
Host rk-job
  HostName 127.0.0.1
  User uprod_00Grm
  Port 32100

Host node-*
  HostName %h.cluster.example
  Port 2201

Host *.example !secret.example
  User someone
  Port 2202

Host *
  User fallback
  Port 2203
";

#[test]
fn host_blocks_give_the_same_settings_as_ssh() {
    let sb = Sandbox::new();
    let config = sb.write("blocks", BLOCKS);
    for destination in [
        "rk-job",
        "node-7",
        "a.example",
        "secret.example",
        "elsewhere",
        "bob@rk-job",
        "RK-JOB",
    ] {
        assert_same(&sb, &config, destination);
    }
}

const MATCHES: &str = "\
Host head
  HostName 10.1.2.3

# ssh2-config applied the lines under a Match that does not match to the Host above.
Match host 10.9.9.9
  User wrong
  Port 2301

Match host 10.1.2.3
  Port 2302

Match originalhost alias
  User aliased

Match user bob
  Port 2303

Match localuser nobody-here
  Port 2304

Match exec \"test %n = probe\"
  ForwardAgent yes
  Port 2305

Match !all
  Port 2306

Match final
  User late
  Port 2307
";

#[test]
fn match_blocks_give_the_same_settings_as_ssh() {
    let sb = Sandbox::new();
    let config = sb.write("matches", MATCHES);
    for destination in ["head", "alias", "bob@other", "probe", "plain"] {
        assert_same(&sb, &config, destination);
    }
}

#[test]
fn includes_give_the_same_settings_as_ssh() {
    let sb = Sandbox::new();
    let dir = sb.path().join("conf.d");
    std::fs::create_dir_all(dir.join("deeper")).unwrap();
    std::fs::write(
        dir.join("10-cluster"),
        "Host rk-*\n  Port 2401\n  User from-include\n",
    )
    .unwrap();
    std::fs::write(dir.join("20-everyone"), "Port 2402\n").unwrap();
    std::fs::write(dir.join(".hidden"), "Port 2403\n").unwrap();
    std::fs::write(dir.join("deeper/30"), "Port 2404\n").unwrap();
    let config = sb.write(
        "includes",
        &format!(
            "Host inside\n  Include {dir}/20-everyone\n  User in-block\n\
             Host *\n  Include {dir}/*\n  Include {dir}/**/nothing\n",
            dir = dir.display()
        ),
    );
    for destination in ["rk-job", "inside", "other"] {
        assert_same(&sb, &config, destination);
    }
}

#[test]
fn an_include_of_every_directory_is_quick() {
    // glob(3) reads `**` as `*`; a recursive glob walked all of / and /proc for minutes.
    let sb = Sandbox::new();
    let config = sb.write(
        "walk",
        "Include /*/../**/no-such-file\nHost x\n  Port 2501\n",
    );
    let started = std::time::Instant::now();
    let rk = rk_settings(&sb, &config, "x");
    assert_eq!(rk["port"], ["2501"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn what_rk_connect_cannot_do_is_said() {
    let sb = Sandbox::new();
    let config = sb.write(
        "unsupported",
        "Match localnetwork 10.0.0.0/8\n  ProxyJump bastion\n\
         Host x\n  ProxyCommand nc %h %p\n  Port 2601\n",
    );
    let out = rk_g(&sb, &[], &config, "x");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 1: \"Match localnetwork\" cannot be evaluated by rk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: ProxyCommand is not supported"),
        "{stderr}"
    );
    let rk = settings(&out.stdout);
    assert_eq!(rk["port"], ["2601"]);
    assert!(!rk.contains_key("proxyjump"), "{rk:?}");
}

#[test]
fn a_line_ssh_refuses_is_an_error_naming_it() {
    let sb = Sandbox::new();
    let config = sb.write("bad", "Host x\n  Port 70000\n");
    assert_refused(
        &rk_g(&sb, &[], &config, "x"),
        "bad line 2: Port \"70000\" is not a port number",
    );
    // ssh refuses it as well.
    let ssh = run(Command::new("ssh")
        .arg("-G")
        .arg("-F")
        .arg(&config)
        .arg("x"));
    assert!(!ssh.status.success());
    // And -F naming no file is an error, as in ssh, not a silent default.
    let missing = sb.path().join("missing");
    assert_refused(&rk_g(&sb, &[], &missing, "x"), "No such file");
}

#[test]
fn identity_files_and_forwards_from_the_config() {
    let sb = Sandbox::new();
    let config = sb.write(
        "ids",
        "Host rk-job\n  User uprod_00Grm\n  HostName 127.0.0.1\n  Port 32100\n\
         IdentityFile /keys/%r@%h\n  IdentityFile /keys/second\n\
         LocalForward 8888 localhost:8888\n  LocalForward 9000 localhost:9000\n\
         RemoteForward 0 127.0.0.1:5053\n",
    );
    let rk = rk_settings(&sb, &config, "rk-job");
    assert_eq!(
        rk["identityfile"],
        ["/keys/uprod_00Grm@127.0.0.1", "/keys/second"]
    );
    assert_eq!(
        rk["localforward"],
        ["8888:localhost:8888", "9000:localhost:9000"]
    );
    assert_eq!(rk["remoteforward"], ["0:127.0.0.1:5053"]);
}

#[test]
fn options_rk_connect_has_flags_for_read_as_ssh_reads_them() {
    let sb = Sandbox::new();
    let config = sb.write(
        "options",
        "Host x\n  ConnectTimeout 7\n  ServerAliveInterval 11\n  StrictHostKeyChecking accept-new\n  \
         UserKnownHostsFile /tmp/kh-one /tmp/kh-two\n  GatewayPorts yes\n  RequestTTY yes\n  \
         SessionType none\n  Ciphers aes128-gcm@openssh.com,chacha20-poly1305@openssh.com\n  \
         DynamicForward 1080\n  DynamicForward 127.0.0.1:1081\n  BatchMode yes\n\
         Host *\n  ConnectTimeout 99\n  GatewayPorts no\n",
    );
    let rk = rk_settings(&sb, &config, "x");
    let ssh = ssh_settings(&config, "x");
    for key in [
        "connecttimeout",
        "serveraliveinterval",
        "stricthostkeychecking",
        "gatewayports",
        "requesttty",
        "sessiontype",
        "ciphers",
        "dynamicforward",
        "batchmode",
    ] {
        // ssh brackets a forward's bind address (`[127.0.0.1]:1081`); rk prints it as given.
        let unbracketed = |v: Option<&Vec<String>>| {
            v.map(|v| {
                v.iter()
                    .map(|s| s.replace(['[', ']'], ""))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            unbracketed(rk.get(key)),
            unbracketed(ssh.get(key)),
            "{key}: rk-connect vs ssh"
        );
    }
    // rk-connect uses the first known_hosts file of the list.
    assert_eq!(rk["userknownhostsfile"], ["/tmp/kh-one"]);
    assert_eq!(ssh["userknownhostsfile"], ["/tmp/kh-one /tmp/kh-two"]);

    // The command line wins over the config, and -o over both the config and its defaults.
    let out = run(sb
        .rk("rk-connect")
        .args([
            "-G",
            "--connect-timeout",
            "3",
            "-o",
            "ServerAliveInterval=0",
            "-F",
        ])
        .arg(&config)
        .arg("x"));
    let rk = settings(&out.stdout);
    assert_eq!(rk["connecttimeout"], ["3"]);
    assert_eq!(rk["serveraliveinterval"], ["0"]);
}

#[test]
fn options_act_on_a_real_connection() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let sshd = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let known = sb.path().join("known_hosts-from-config");
    let config = sb.write(
        "config",
        &format!(
            "Host job\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
             UserKnownHostsFile {}\n",
            sshd.port,
            current_user(),
            key.display(),
            known.display()
        ),
    );
    let connect = |options: &[&str], command: &[&str]| {
        run(sb
            .rk("rk-connect")
            .args(options)
            .arg("-F")
            .arg(&config)
            .arg("job")
            .args(command))
    };
    // No terminal and no --accept-new: the unknown host is refused...
    assert_refused(&connect(&[], &["true"]), "is not known");
    assert!(!known.exists());
    // ...until -o StrictHostKeyChecking=accept-new, which remembers it in the config's file.
    let out = connect(
        &["-o", "StrictHostKeyChecking=accept-new"],
        &["echo", "via-options"],
    );
    out.assert_ok("-o StrictHostKeyChecking=accept-new");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via-options\n");
    let entries = std::fs::read_to_string(&known).unwrap();
    assert!(
        entries.starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 ", sshd.port)),
        "{entries}"
    );
    // SessionType none is -N: with no forward it is the -N error, before connecting.
    assert_refused(
        &connect(&["-o", "SessionType=none"], &[]),
        "-N keeps only forwards running",
    );
}

#[test]
fn connect_timeout_from_the_config_bounds_a_silent_server() {
    let sb = Sandbox::new();
    let port = fake_server(Vec::new, false);
    let config = sb.write(
        "config",
        &format!("Host silent\n  HostName 127.0.0.1\n  Port {port}\n  ConnectTimeout 1\n"),
    );
    let started = std::time::Instant::now();
    let out = run(sb
        .rk_connect()
        .arg("-F")
        .arg(&config)
        .args(["silent", "true"]));
    let took = started.elapsed();
    assert_refused(&out, "within 1 s");
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
}

#[test]
fn bad_option_values_name_where_they_come_from() {
    let sb = Sandbox::new();
    let config = sb.write("config", "Host x\n  ConnectTimeout soon\n");
    assert_refused(
        &rk_g(&sb, &[], &config, "x"),
        "config line 2: ConnectTimeout \"soon\": expected seconds",
    );
    assert_refused(
        &rk_g(&sb, &["-o", "Host=y"], &config, "x"),
        "-o \"Host=y\": Host belongs in a config file",
    );
}

#[test]
fn batch_mode_and_strict_checking_never_ask_even_on_a_terminal() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let sshd = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let on_a_pty = |options: &[&str]| {
        let mut cmd = sb.rk("rk-connect");
        cmd.args(options)
            .arg("--known-hosts")
            .arg(sb.known_hosts())
            .arg("-i")
            .arg(&key)
            .arg(sshd.dest())
            .arg("true");
        rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn under a pty")
    };
    // On a terminal, an unknown host would be asked about; with BatchMode it is refused at once.
    let mut p = on_a_pty(&["-o", "BatchMode=yes"]);
    p.exp_string("is not known").unwrap();
    p.exp_string("--batch (BatchMode) forbids asking").unwrap();
    assert_eq!(pty_exit_code(&mut p), 255);
    // StrictHostKeyChecking yes refuses an unknown host too, on a terminal, without asking.
    let mut p = on_a_pty(&["-o", "StrictHostKeyChecking=yes"]);
    p.exp_string("StrictHostKeyChecking is yes").unwrap();
    assert_eq!(pty_exit_code(&mut p), 255);
    // Without them, the terminal is asked.
    let mut p = on_a_pty(&[]);
    p.exp_string("(yes/no/once)?").unwrap();
    p.send_line("no").unwrap();
    assert_eq!(pty_exit_code(&mut p), 255);
}

#[test]
fn identities_only_keeps_the_agents_other_keys_back() {
    let sb = Sandbox::new();
    let agent_key = sb.fixture("keys/openssh/ed25519");
    let other_key = sb.fixture("keys/openssh/ecdsa256");
    let sshd = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let (_agent, sock) = ssh_agent_holding(sb.path(), &agent_key);
    let connect = |options: &[&str]| {
        let mut cmd = sb.rk_connect();
        cmd.env("SSH_AUTH_SOCK", &sock)
            .args(options)
            .arg("-i")
            .arg(&other_key)
            .arg(sshd.dest())
            .args(["echo", "in"]);
        run(&mut cmd)
    };
    // The agent's key logs in, though -i names another one...
    connect(&[]).assert_ok("agent key");
    // ...but not with IdentitiesOnly: only the -i key is offered, and refused.
    let out = connect(&["-o", "IdentitiesOnly=yes"]);
    assert_eq!(out.status.code(), Some(255));
    let stderr = out.stderr_str();
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(!stderr.contains("agent:"), "{stderr}");
    // The agent still signs for a key that is one of the identities.
    let out = run(sb
        .rk_connect()
        .env("SSH_AUTH_SOCK", &sock)
        .args(["--identities-only", "-i"])
        .arg(fixtures().join("keys/openssh/ed25519.pub"))
        .arg(sshd.dest())
        .args(["echo", "in"]));
    out.assert_ok("agent key named by -i");
}

#[test]
fn quiet_leaves_only_warnings_and_errors() {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let sshd = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let echo = EchoServer::start();
    let forward = format!("0:127.0.0.1:{}", echo.port);
    let connect = |options: &[&str]| {
        run(sb
            .rk_connect()
            .args(options)
            .arg("-i")
            .arg(&key)
            .args(["-R", &forward])
            .arg(sshd.dest())
            .args(["echo", "hi"]))
    };
    // Without -q: the host key remembered and the remote forward's port are told.
    let out = connect(&[]);
    out.assert_ok("not quiet");
    assert!(
        out.stderr_str().contains("Permanently added"),
        "{}",
        out.stderr_str()
    );
    assert!(
        out.stderr_str().contains("Allocated port"),
        "{}",
        out.stderr_str()
    );
    // -q and LogLevel QUIET: nothing on stderr (a new known_hosts, so there is news to hide).
    for quiet in [&["-q"][..], &["-o", "LogLevel=QUIET"][..]] {
        std::fs::remove_file(sb.known_hosts()).unwrap();
        let out = connect(quiet);
        out.assert_ok("quiet");
        assert_eq!(out.stdout_str(), "hi\n");
        assert_eq!(out.stderr_str(), "", "{quiet:?}");
    }
    // Errors are still said.
    let out = run(sb
        .rk_connect()
        .arg("-q")
        .arg("-p")
        .arg(free_port().to_string())
        .args(["127.0.0.1", "true"]));
    assert_eq!(out.status.code(), Some(255));
    assert!(
        out.stderr_str().contains("connection refused"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn the_default_config_is_home_ssh_config_and_dash_f_none_reads_none() {
    let sb = Sandbox::new();
    let ssh_dir = sb.home().join(".ssh");
    std::fs::create_dir_all(ssh_dir.join("conf.d")).unwrap();
    // A relative Include is under ~/.ssh, as with ssh.
    std::fs::write(ssh_dir.join("config"), "Include conf.d/*\n").unwrap();
    std::fs::write(ssh_dir.join("conf.d/job"), "Host x\n  Port 2701\n").unwrap();
    let g = |args: &[&str]| {
        let out = run(sb.rk("rk-connect").arg("-G").args(args).arg("x"));
        out.assert_ok("-G");
        settings(&out.stdout)
    };
    assert_eq!(g(&[])["port"], ["2701"]);
    assert_eq!(g(&["-F", "none"])["port"], ["32100,22"]);
    assert_eq!(g(&["-F", "none", "-o", "Port=2702"])["port"], ["2702"]);
}

#[test]
fn strict_host_key_checking_yes_reads_as_ssh_reads_it() {
    let sb = Sandbox::new();
    let config = sb.write("strict", "Host x\n  StrictHostKeyChecking yes\n");
    let (rk, ssh) = (rk_settings(&sb, &config, "x"), ssh_settings(&config, "x"));
    assert_eq!(rk["stricthostkeychecking"], ssh["stricthostkeychecking"]);
}
