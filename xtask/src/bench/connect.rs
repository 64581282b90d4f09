//! Rows against a loopback sshd: connect and run a command, rk-connect vs ssh.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Probe, Row, Target};

/// Rows against a loopback sshd (started here, stopped when the returned guard drops).
pub(super) fn connect_rows(
    bin: &Path,
    base: &Path,
    quick: bool,
) -> Result<(Vec<Row>, Vec<rk_e2e::Sshd>), String> {
    let fixtures = rk_e2e::fixtures().join("keys/openssh");
    let keys = base.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| e.to_string())?;
    let mut pubs = Vec::new();
    for name in ["ed25519", "rsa4096"] {
        let key = keys.join(name);
        std::fs::copy(fixtures.join(name), &key).map_err(|e| e.to_string())?;
        rk_e2e::set_mode(&key, 0o600);
        pubs.push(fixtures.join(format!("{name}.pub")));
    }
    let refs: Vec<&Path> = pubs.iter().map(PathBuf::as_path).collect();
    let sshd = rk_e2e::Sshd::start(&refs);
    let port = sshd.port;
    let user = rk_e2e::current_user();
    // A compute node behind the head node, for the -J row.
    let node = rk_e2e::Sshd::start(&refs);
    let kh = base.join("known_hosts");
    std::fs::write(
        &kh,
        format!(
            "[127.0.0.1]:{port} {}[127.0.0.1]:{} {}",
            sshd.host_key_pub(),
            node.port,
            node.host_key_pub()
        ),
    )
    .map_err(|e| e.to_string())?;
    // ssh -J passes only -F to the jump's ssh, so the anchor's options go in a config file.
    let ssh_config = base.join("ssh_config");
    std::fs::write(
        &ssh_config,
        format!(
            "Host *\n    BatchMode yes\n    StrictHostKeyChecking yes\n    IdentitiesOnly yes\n    \
             UserKnownHostsFile {}\n    IdentityFile {}\n",
            kh.display(),
            keys.join("ed25519").display()
        ),
    )
    .map_err(|e| e.to_string())?;

    // The input for the stream rows.
    let size_mib: usize = if quick { 128 } else { 1024 };
    let input = base.join("stream.bin");
    {
        use std::io::Write;
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&input).map_err(|e| e.to_string())?);
        let block: Vec<u8> = (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        for _ in 0..size_mib {
            f.write_all(&block).map_err(|e| e.to_string())?;
        }
        f.flush().map_err(|e| e.to_string())?;
    }

    let rk = bin.join("rk-connect");
    let rk_cmd = |key: &str, cipher: Option<&'static str>, remote: &'static str| {
        let (rk, key, kh, user) = (rk.clone(), keys.join(key), kh.clone(), user.clone());
        move |_: &Path| {
            let mut c = Command::new(&rk);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .arg("--no-agent");
            if let Some(cipher) = cipher {
                c.args(["-c", cipher]);
            }
            c.arg(format!("ssh://{user}@127.0.0.1:{port}")).arg(remote);
            c
        }
    };
    let ssh_cmd = |key: &str, cipher: Option<&'static str>, remote: &'static str| {
        let (key, kh, user) = (keys.join(key), kh.clone(), user.clone());
        move |_: &Path| {
            let mut c = openssh(&key, &kh, port);
            if let Some(cipher) = cipher {
                c.args(["-c", cipher]);
            }
            c.arg(format!("{user}@127.0.0.1")).arg(remote);
            c
        }
    };
    // Streams go through `sh -c '... < FILE'` on both sides alike.
    let via_sh = |make: Box<dyn Fn(&Path) -> Command>, input: PathBuf| {
        move |dir: &Path| {
            let inner = make(dir);
            let mut words = vec![inner.get_program().to_string_lossy().into_owned()];
            words.extend(
                inner
                    .get_args()
                    .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''"))),
            );
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{} < '{}'", words.join(" "), input.display()));
            c.env_remove("SSH_AUTH_SOCK");
            c
        }
    };
    let mut rows = vec![
        Row {
            work: "connect+exec Ed25519",
            target: Target::Ratio(0.6),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("ed25519", None, "true"))),
            anchor: Probe::Process(Box::new(ssh_cmd("ed25519", None, "true"))),
        },
        Row {
            work: "connect+exec RSA-4096",
            target: Target::Ratio(0.6),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("rsa4096", None, "true"))),
            anchor: Probe::Process(Box::new(ssh_cmd("rsa4096", None, "true"))),
        },
    ];
    let (rk_jump, ssh_jump) = {
        let (rk, key, kh, user, node_port) = (
            rk.clone(),
            keys.join("ed25519"),
            kh.clone(),
            user.clone(),
            node.port,
        );
        let rk_jump = move |_: &Path| {
            let mut c = Command::new(&rk);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .arg("--no-agent")
                .arg("-J")
                .arg(format!("{user}@127.0.0.1:{port}"))
                .arg(format!("{user}@127.0.0.1:{node_port}"))
                .arg("true");
            c
        };
        let user = rk_e2e::current_user();
        let ssh_jump = move |_: &Path| {
            let mut c = Command::new("ssh");
            c.arg("-F")
                .arg(&ssh_config)
                .arg("-J")
                .arg(format!("{user}@127.0.0.1:{port}"))
                .arg("-p")
                .arg(node_port.to_string())
                .arg(format!("{user}@127.0.0.1"))
                .arg("true");
            c
        };
        (rk_jump, ssh_jump)
    };
    rows.push(Row {
        work: "connect+exec via -J",
        target: Target::Ratio(0.6),
        quick_runs: None,
        rk: Probe::Process(Box::new(rk_jump)),
        anchor: Probe::Process(Box::new(ssh_jump)),
    });
    for (work, cipher) in [
        ("exec stream chacha20", "chacha20-poly1305@openssh.com"),
        ("exec stream aes128-gcm", "aes128-gcm@openssh.com"),
    ] {
        rows.push(Row {
            work,
            target: Target::Ratio(1.0),
            quick_runs: None,
            rk: Probe::Process(Box::new(via_sh(
                Box::new(rk_cmd("ed25519", Some(cipher), "cat > /dev/null")),
                input.clone(),
            ))),
            anchor: Probe::Process(Box::new(via_sh(
                Box::new(ssh_cmd("ed25519", Some(cipher), "cat > /dev/null")),
                input.clone(),
            ))),
        });
    }
    Ok((rows, vec![sshd, node]))
}

/// `ssh` as the anchor runs it: no user config, no prompts, strict host keys from `kh`, only `key`.
pub(super) fn openssh(key: &Path, kh: &Path, port: u16) -> Command {
    let mut c = Command::new("ssh");
    c.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
    ])
    .arg("-o")
    .arg(format!("UserKnownHostsFile={}", kh.display()))
    .arg("-i")
    .arg(key)
    .arg("-p")
    .arg(port.to_string());
    c
}
