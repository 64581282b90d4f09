//! Rows of the local tools: key generation (rk-keygen vs ssh-keygen) and job-log scanning
//! (rk-parse-log vs grep).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{Probe, Row, Target};

pub(super) fn keygen_rows(bin: &Path) -> Vec<Row> {
    let rk = bin.join("rk-keygen");
    let rk_cmd = move |t: &'static str, b: Option<&'static str>| {
        let rk = rk.clone();
        move |dir: &Path| {
            let mut c = Command::new(&rk);
            c.args(["-q", "-t", t, "-N", "", "-f"]).arg(dir.join("key"));
            if let Some(b) = b {
                c.args(["-b", b]);
            }
            c
        }
    };
    let ssh_cmd = |t: &'static str, b: Option<&'static str>| {
        move |dir: &Path| {
            let mut c = Command::new("ssh-keygen");
            c.args(["-q", "-t", t, "-N", "", "-f"]).arg(dir.join("key"));
            if let Some(b) = b {
                c.args(["-b", b]);
            }
            c
        }
    };
    vec![
        Row {
            work: "keygen RSA-4096",
            target: Target::Ratio(0.4),
            // The prime search takes a random time: a median of 5 is too noisy to judge.
            quick_runs: Some(11),
            rk: Probe::Process(Box::new(rk_cmd("rsa", Some("4096")))),
            anchor: Probe::Process(Box::new(ssh_cmd("rsa", Some("4096")))),
        },
        Row {
            work: "keygen Ed25519",
            target: Target::Ratio(1.0),
            quick_runs: None,
            rk: Probe::Process(Box::new(rk_cmd("ed25519", None))),
            anchor: Probe::Process(Box::new(ssh_cmd("ed25519", None))),
        },
    ]
}

/// Writes a ~95 MB job log: heartbeat noise full of private addresses and internal host names,
/// sshd lines that mention users and ports (traps), one 2 MB garbage line, and the platform's
/// SSH message near the end.
pub(super) fn write_big_log(path: &Path) -> Result<(), String> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut written = 0usize;
    let mut i = 0usize;
    let put = |w: &mut std::io::BufWriter<std::fs::File>, line: &str| -> Result<usize, String> {
        w.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
        Ok(line.len())
    };
    while written < 95_000_000 {
        let line = if i == 400_000 {
            format!("{}\n", "X".repeat(2_000_000))
        } else if i.is_multiple_of(500) {
            format!(
                "2026-11-24 10:{:02}:{:02} sshd[{}]: Accepted publickey for user root from 10.{}.{}.{} port {}\n",
                i % 60,
                (i / 60) % 60,
                1000 + i % 9000,
                i % 256,
                (i * 3) % 256,
                (i * 7) % 256,
                40000 + i % 20000
            )
        } else {
            format!(
                "2026-11-24 10:{:02}:{:02} node ip-10-{}-{}-9 heartbeat from 10.{}.{}.{} to 172.16.{}.4:8443 load={}.{} mem 45% disk ok\n",
                i % 60,
                (i / 60) % 60,
                i % 256,
                (i * 7) % 256,
                i % 256,
                (i * 3) % 256,
                (i * 5) % 256,
                i % 256,
                i % 100,
                i % 10
            )
        };
        written += put(&mut w, &line)?;
        i += 1;
    }
    put(
        &mut w,
        "2026-11-24 16:07:03 SSH access: the job username is uprod_00Grm and the public IP address is 3.80.3.168, port 32100\n",
    )?;
    put(&mut w, "2026-11-24 16:07:05 Started run 1\n")?;
    w.flush().map_err(|e| e.to_string())
}

pub(super) fn log_rows(bin: &Path, log: &Path) -> Vec<Row> {
    let rk = bin.join("rk-parse-log");
    let (rk1, log1, log2) = (rk.clone(), log.to_path_buf(), log.to_path_buf());
    vec![
        Row {
            work: "log scan 95 MB",
            target: Target::Ratio(1.5),
            quick_runs: None,
            rk: Probe::Process(Box::new(move |_| {
                let mut c = Command::new(&rk1);
                c.arg(&log1);
                c
            })),
            anchor: Probe::Process(Box::new(move |_| {
                let mut c = Command::new("grep");
                c.args(["-c", "-E", "port[: ]+[0-9]+"]).arg(&log2);
                c
            })),
        },
        Row {
            work: "--first latency",
            target: Target::Absolute(Duration::from_millis(10)),
            quick_runs: None,
            rk: Probe::FirstLine(Box::new(move || {
                let mut c = Command::new(&rk);
                c.arg("--first");
                c
            })),
            anchor: Probe::FirstLine(Box::new(|| {
                let mut c = Command::new("grep");
                c.args(["--line-buffered", "-m1", "uprod_"]);
                c
            })),
        },
    ]
}

/// Writes an ssh config with what real ones have: Host blocks with wildcards, an Include of a
/// folder, Match blocks (one that matches, one that does not), a catch-all.
pub(super) fn write_config(dir: &Path) -> Result<std::path::PathBuf, String> {
    let conf_d = dir.join("conf.d");
    std::fs::create_dir_all(&conf_d).map_err(|e| e.to_string())?;
    for i in 0..20 {
        std::fs::write(
            conf_d.join(format!("{i:02}-site")),
            format!("Host site{i}-*\n  User user{i}\n  Port {}\n", 2000 + i),
        )
        .map_err(|e| e.to_string())?;
    }
    let mut text = format!("Include {}/*\n", conf_d.display());
    for i in 0..50 {
        text.push_str(&format!(
            "Host alias{i} alias{i}.example\n  HostName 10.0.{i}.1\n  User u{i}\n  IdentityFile ~/.ssh/id_{i}\n"
        ));
    }
    text.push_str(
        "Host rk-job\n  HostName 127.0.0.1\n  User uprod_00Grm\n  Port 32100\n\
         Match host 10.9.9.9\n  Port 2\n\
         Match originalhost rk-job user uprod_*\n  ForwardAgent yes\n\
         Host *\n  User fallback\n  ServerAliveInterval 30\n",
    );
    let path = dir.join("config");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `-G` for a destination of a 300-line config (Include, Match): rk-connect vs ssh.
pub(super) fn config_rows(bin: &Path, config: &Path) -> Vec<Row> {
    let rk = bin.join("rk-connect");
    let (c1, c2) = (config.to_path_buf(), config.to_path_buf());
    vec![Row {
        work: "config -G (Include, Match)",
        target: Target::Ratio(1.0),
        quick_runs: None,
        rk: Probe::Process(Box::new(move |_| {
            let mut c = Command::new(&rk);
            c.arg("-G").arg("-F").arg(&c1).arg("rk-job");
            c
        })),
        anchor: Probe::Process(Box::new(move |_| {
            let mut c = Command::new("ssh");
            c.arg("-G").arg("-F").arg(&c2).arg("rk-job");
            c
        })),
    }]
}
