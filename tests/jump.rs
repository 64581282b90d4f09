//! rk-connect through jump hosts (-J, ProxyJump, --node) and with agent forwarding (-A), against
//! two or three throwaway sshds on loopback: a "head node" and "compute nodes" behind it.

use std::path::PathBuf;
use std::process::Command;

use rk_e2e::*;

/// A sandbox with the Ed25519 fixture key, and `n` sshds that accept it.
fn cluster(n: usize) -> (Sandbox, PathBuf, Vec<Sshd>) {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let public = fixtures().join("keys/openssh/ed25519.pub");
    let sshds = (0..n).map(|_| Sshd::start(&[public.as_path()])).collect();
    (sb, key, sshds)
}

/// `user@127.0.0.1:PORT`, a -J hop.
fn hop(s: &Sshd) -> String {
    format!("{}@127.0.0.1:{}", current_user(), s.port)
}

/// `rk-connect -F CONFIG ARGS…` (trusting new host keys).
fn with_config(sb: &Sandbox, config: &std::path::Path, args: &[&str]) -> std::process::Output {
    run(sb.rk_connect().arg("-F").arg(config).args(args))
}

/// `from`'s sshd opened a direct-tcpip channel to `to` (a hop of the chain went through it).
fn assert_opened_channel(from: &Sshd, to: &Sshd) {
    assert_opened_channel_to_port(from, to.port);
}

fn assert_opened_channel_to_port(from: &Sshd, port: u16) {
    let log = from.log();
    assert!(
        log.contains(&format!("target 127.0.0.1 port {port}")),
        "no channel to port {port} in the log of the sshd on {}:\n{log}",
        from.port
    );
}

/// rk-connect with the sandbox's known_hosts but without --accept-new.
fn strict(sb: &Sandbox, key: &PathBuf) -> Command {
    let mut c = sb.rk("rk-connect");
    c.arg("--known-hosts")
        .arg(sb.known_hosts())
        .arg("-i")
        .arg(key);
    c
}

#[test]
fn one_jump_runs_a_command_and_checks_each_hops_host_key() {
    let (sb, key, mut s) = cluster(2);
    // The head node is known; the compute node is not.
    run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .arg(s[0].dest())
        .arg("true"))
    .assert_ok("learn head");

    let out = run(strict(&sb, &key)
        .arg("-J")
        .arg(hop(&s[0]))
        .arg(hop(&s[1]))
        .args(["--", "echo", "ok"]));
    assert_eq!(out.code(), Some(255), "{}", out.stderr_str());
    let err = out.stderr_str();
    let node = format!("[127.0.0.1]:{}", s[1].port);
    assert!(
        err.contains(&format!("via jump host {}", hop(&s[0])))
            && err.contains(&node)
            && err.contains("not known")
            && err.contains("--accept-new"),
        "{err}"
    );
    assert!(!out.stdout_str().contains("ok"));

    // With --accept-new: the command runs on the compute node, reached through the head node.
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .arg("-J")
        .arg(hop(&s[0]))
        .arg(hop(&s[1]))
        .args(["--", "echo", "ok"]));
    out.assert_ok("through one jump");
    assert_eq!(out.stdout_str(), "ok\n");
    let known = std::fs::read_to_string(sb.known_hosts()).unwrap();
    assert!(
        known.contains(&format!("[127.0.0.1]:{} ssh-ed25519 ", s[0].port))
            && known.contains(&format!("{node} ssh-ed25519 ")),
        "{known}"
    );
    // The head node carried it: sshd logs the direct-tcpip channel to the node's port.
    let head_log = s[0].log();
    assert!(
        head_log.contains(&format!("target 127.0.0.1 port {}", s[1].port)),
        "{head_log}"
    );

    // The compute node comes back with another host key: refused, naming the hop.
    s[1].kill_all();
    s[1].new_host_key();
    s[1].launch();
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .arg("-J")
        .arg(hop(&s[0]))
        .arg(hop(&s[1]))
        .args(["--", "echo", "ok"]));
    assert_eq!(out.code(), Some(255));
    let err = out.stderr_str();
    assert!(
        err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            && err.contains(&node)
            && err.contains(&format!("via jump host {}", hop(&s[0]))),
        "{err}"
    );
    assert!(out.stdout_str().is_empty());
}

#[test]
fn a_chain_of_three_hops() {
    let (sb, key, s) = cluster(3);
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .arg("-J")
        .arg(format!("{},{}", hop(&s[0]), hop(&s[1])))
        .arg(hop(&s[2]))
        .args(["--", "echo", "third"]));
    out.assert_ok("two jumps");
    assert_eq!(out.stdout_str(), "third\n");
    assert!(
        s[0].log()
            .contains(&format!("target 127.0.0.1 port {}", s[1].port))
    );
    assert!(
        s[1].log()
            .contains(&format!("target 127.0.0.1 port {}", s[2].port))
    );
}

#[test]
fn a_refused_channel_names_the_jump_host_and_the_target() {
    let (sb, key, s) = cluster(1);
    let closed = free_low_port();
    let out = run(sb
        .rk_connect()
        .arg("-i")
        .arg(&key)
        .arg("-J")
        .arg(hop(&s[0]))
        .arg(format!("127.0.0.1:{closed}"))
        .arg("true"));
    assert_eq!(out.code(), Some(255));
    let err = out.stderr_str();
    assert!(
        err.contains(&format!(
            "jump host {} refused the channel to 127.0.0.1:{closed}",
            hop(&s[0])
        )),
        "{err}"
    );
}

#[test]
fn proxy_jump_from_a_config_file_and_node_flag() {
    let (sb, key, s) = cluster(2);
    let config = sb.write(
        "config",
        &format!(
            "Host rk-job\n    HostName 127.0.0.1\n    Port {}\n    User {user}\n    IdentityFile {key}\n\n\
             Host node2\n    HostName 127.0.0.1\n    Port {}\n    User {user}\n    ProxyJump rk-job\n    IdentityFile {key}\n\n\
             Host direct\n    HostName 127.0.0.1\n    Port {}\n    User {user}\n    ProxyJump none\n    IdentityFile {key}\n",
            s[0].port,
            s[1].port,
            s[0].port,
            user = current_user(),
            key = key.display()
        ),
    );
    let out = with_config(&sb, &config, &["node2", "echo", "via-config"]);
    out.assert_ok("ProxyJump from -F");
    assert_eq!(out.stdout_str(), "via-config\n");
    assert_opened_channel(&s[0], &s[1]);

    // ProxyJump none: direct.
    let channels = |log: String| log.matches("target 127.0.0.1 port").count();
    let before = channels(s[0].log());
    assert_eq!(before, 1);
    run(sb
        .rk_connect()
        .arg("-F")
        .arg(&config)
        .args(["direct", "true"]))
    .assert_ok("direct");
    assert_eq!(channels(s[0].log()), before);

    // --node: from the destination (the head node) on to a compute node, as the same user.
    let out = run(sb
        .rk_connect()
        .arg("-F")
        .arg(&config)
        .arg("rk-job")
        .arg("--node")
        .arg(format!("127.0.0.1:{}", s[1].port))
        .args(["--", "echo", "node"]));
    out.assert_ok("--node");
    assert_eq!(out.stdout_str(), "node\n");
    assert!(
        s[1].log()
            .contains(&format!("Accepted publickey for {}", current_user())),
        "{}",
        s[1].log()
    );
}

#[test]
fn agent_forwarding_only_with_dash_a() {
    let (sb, key, s) = cluster(2);
    let (_agent, sock) = ssh_agent_holding(sb.path(), &key);
    let fingerprint = run(peer("ssh-keygen").arg("-lf").arg(&key)).stdout_str();
    let fingerprint = fingerprint.split_whitespace().nth(1).unwrap().to_string();

    // With -A, the head node's ssh-add lists the local agent's key…
    let out = run(sb
        .rk_connect()
        .arg("-A")
        .arg(s[0].dest())
        .args(["--", "ssh-add", "-l"])
        .env("SSH_AUTH_SOCK", &sock));
    out.assert_ok("ssh-add -l through -A");
    assert!(
        out.stdout_str().contains(&fingerprint),
        "{}",
        out.stdout_str()
    );

    // …and ssh from the head node logs in to the compute node with it (no key file there).
    let remote_ssh = format!(
        "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
         -o IdentitiesOnly=no -o IdentityFile=/nonexistent -p {} {}@127.0.0.1 echo from-node",
        s[1].port,
        current_user()
    );
    let out = run(sb
        .rk_connect()
        .arg("-A")
        .arg(s[0].dest())
        .args(["--", &remote_ssh])
        .env("SSH_AUTH_SOCK", &sock));
    out.assert_ok("ssh from the head node with the forwarded agent");
    assert!(
        out.stdout_str().contains("from-node"),
        "{}",
        out.stdout_str()
    );

    // Without -A: no agent on the remote side.
    let out = run(sb
        .rk_connect()
        .arg(s[0].dest())
        .args(["--", "ssh-add", "-l"])
        .env("SSH_AUTH_SOCK", &sock));
    assert_eq!(out.code(), Some(2), "{}", out.stdout_str());
    assert!(!out.stdout_str().contains(&fingerprint));
}

#[test]
fn a_jump_hosts_own_proxy_jump_is_followed_as_ssh_does() {
    // gateway → head → node: the node's block names only the head, whose block names the
    // gateway; `Host *` names the gateway for everyone, which must not loop on the gateway.
    let (sb, key, s) = cluster(3);
    let config = sb.write(
        "config",
        &format!(
            "Host gateway\n    HostName 127.0.0.1\n    Port {}\n\n\
             Host head\n    HostName 127.0.0.1\n    Port {}\n    ProxyJump gateway\n\n\
             Host node\n    HostName 127.0.0.1\n    Port {}\n    ProxyJump head\n\n\
             Host *\n    User {user}\n    IdentityFile {key}\n    ProxyJump gateway\n",
            s[0].port,
            s[1].port,
            s[2].port,
            user = current_user(),
            key = key.display()
        ),
    );
    let out = with_config(&sb, &config, &["node", "echo", "through-two"]);
    out.assert_ok("node via head via gateway");
    assert_eq!(out.stdout_str(), "through-two\n");
    // The gateway opened the channel to the head, the head the one to the node.
    assert_opened_channel(&s[0], &s[1]);
    assert_opened_channel(&s[1], &s[2]);
    // -G shows the chain, in order.
    let out = run(sb.rk_connect().arg("-G").arg("-F").arg(&config).arg("node"));
    let user = current_user();
    assert!(
        out.stdout_str().contains(&format!(
            "proxyjump {user}@127.0.0.1:{},{user}@127.0.0.1:{}\n",
            s[0].port, s[1].port
        )),
        "{}",
        out.stdout_str()
    );
    // The gateway itself is reached directly: its ProxyJump leads back to it.
    let out = with_config(&sb, &config, &["gateway", "echo", "direct"]);
    out.assert_ok("gateway directly");
    assert_eq!(out.stdout_str(), "direct\n");
}

#[test]
fn dash_w_joins_stdio_to_a_port_the_cluster_reaches() {
    let (sb, key, s) = cluster(1);
    let echo = EchoServer::start();
    // 1 MiB through -W and back: every byte, then EOF both ways ends the run with status 0.
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let out = run_with_input(
        sb.rk_connect()
            .arg("-i")
            .arg(&key)
            .arg("-W")
            .arg(format!("127.0.0.1:{}", echo.port))
            .arg(s[0].dest()),
        &payload,
        std::time::Duration::from_secs(60),
    );
    out.assert_ok("-W to the echo server");
    assert_eq!(sha256_hex(&out.stdout), sha256_hex(&payload));
    assert_opened_channel_to_port(&s[0], echo.port);
    // A port nobody listens on: the cluster refuses, and rk-connect says so.
    let closed = free_port();
    let out = run_with_input(
        sb.rk_connect()
            .arg("-i")
            .arg(&key)
            .arg("-W")
            .arg(format!("127.0.0.1:{closed}"))
            .arg(s[0].dest()),
        b"",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(out.code(), Some(255));
    assert!(
        out.stderr_str()
            .contains(&format!("refused the channel to 127.0.0.1:{closed}")),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn openssh_uses_rk_connect_as_its_proxy_command() {
    // ssh reaches the second sshd through `rk-connect -W %h:%p` to the first: OpenSSH's own
    // transport and host key check, carried by rk-connect.
    let (sb, key, s) = cluster(2);
    let proxy = format!(
        "{} --known-hosts {} --accept-new -i {} -W %h:%p {}",
        bin("rk-connect").display(),
        sb.known_hosts().display(),
        key.display(),
        s[0].dest()
    );
    let out = run(peer("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .arg("-o")
        .arg(format!("ProxyCommand={proxy}"))
        .args(["-o", "StrictHostKeyChecking=no", "-o"])
        .arg(format!(
            "UserKnownHostsFile={}",
            sb.path().join("openssh_known_hosts").display()
        ))
        .arg("-i")
        .arg(&key)
        .arg("-p")
        .arg(s[1].port.to_string())
        .arg(format!("{}@127.0.0.1", current_user()))
        .args(["echo", "through-rk"]));
    out.assert_ok("ssh with ProxyCommand rk-connect -W");
    assert_eq!(out.stdout_str(), "through-rk\n");
    assert_opened_channel(&s[0], &s[1]);
}

#[test]
fn each_jump_host_logs_in_with_its_own_identity_file() {
    // The gateway takes only the Ed25519 key, the head node only the ECDSA one; each Host
    // block names its own key, as with ssh -J (whose ssh for each hop reads that hop's block).
    let sb = Sandbox::new();
    let ed25519 = sb.fixture("keys/openssh/ed25519");
    let ecdsa = sb.fixture("keys/openssh/ecdsa256");
    let gateway = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let head = Sshd::start(&[fixtures().join("keys/openssh/ecdsa256.pub").as_path()]);
    let config = sb.write(
        "config",
        &format!(
            "Host gateway\n    HostName 127.0.0.1\n    Port {}\n    IdentityFile {}\n\n\
             Host head\n    HostName 127.0.0.1\n    Port {}\n    ProxyJump gateway\n    IdentityFile {}\n\n\
             Host *\n    User {}\n",
            gateway.port,
            ed25519.display(),
            head.port,
            ecdsa.display(),
            current_user()
        ),
    );
    let out = with_config(&sb, &config, &["--no-agent", "head", "echo", "own-keys"]);
    out.assert_ok("each hop with its own key");
    assert_eq!(out.stdout_str(), "own-keys\n");
    assert_opened_channel(&gateway, &head);
}
