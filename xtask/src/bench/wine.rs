//! rk-connect.exe under Wine against Linux rk-connect: what Wine costs.

use std::path::Path;
use std::process::Command;

use super::tunnel::{TunnelBench, rk_tunnel, sink_and_source, transfer, tunnel_from};
use super::{Probe, Row, Target, ed25519_sshd};
use crate::workspace_root;

/// rk-connect.exe under Wine against the Linux rk-connect, same sshd, same run: what Wine costs
/// (the "anchor" column is Linux rk-connect; the ratio is Wine's overhead, reported, not judged).
pub(super) fn wine_rows(bin: &Path, base: &Path, quick: bool) -> Result<TunnelBench, String> {
    use rk_e2e::wine::{Wine, windows_path};
    let windows_bin = crate::windows::build("release", false)?;
    let prefix = workspace_root().join("target").join("wine-prefix");
    let wine = Wine::prepare(prefix.clone(), windows_bin.clone());
    let (key, sshd) = ed25519_sshd(&base.join("wkeys"))?;
    let kh = base.join("wine_known_hosts");
    std::fs::write(
        &kh,
        format!("[127.0.0.1]:{} {}", sshd.port, sshd.host_key_pub()),
    )
    .map_err(|e| e.to_string())?;
    let dest = format!("ssh://{}@127.0.0.1:{}", rk_e2e::current_user(), sshd.port);
    let (win_key, win_kh) = (windows_path(&key), windows_path(&kh));
    let exe = windows_bin.join("rk-connect.exe");
    let linux = bin.join("rk-connect");

    let mut rows = Vec::new();
    // Starting a process under Wine, for scale: most of the connect+exec difference.
    let (prefix2, windows_bin2, exe2, linux2) = (
        prefix.clone(),
        windows_bin.clone(),
        exe.clone(),
        linux.clone(),
    );
    rows.push(Row {
        work: "Wine: start (--version)",
        target: Target::Report,
        quick_runs: None,
        rk: Probe::Process(Box::new(move |_: &Path| {
            let wine = Wine {
                prefix: prefix2.clone(),
                bin: windows_bin2.clone(),
                display: None,
            };
            let mut c = wine.command_for(&exe2);
            c.arg("--version");
            c
        })),
        anchor: Probe::Process(Box::new(move |_: &Path| {
            let mut c = Command::new(&linux2);
            c.arg("--version");
            c
        })),
    });
    {
        let (prefix, windows_bin, exe) = (prefix.clone(), windows_bin.clone(), exe.clone());
        let (win_key, win_kh, win_dest) = (win_key.clone(), win_kh.clone(), dest.clone());
        let on_wine = move |_: &Path| {
            let wine = Wine {
                prefix: prefix.clone(),
                bin: windows_bin.clone(),
                display: None,
            };
            let mut c = wine.command_for(&exe);
            c.args([
                "-i",
                &win_key,
                "--known-hosts",
                &win_kh,
                "--no-agent",
                &win_dest,
                "true",
            ]);
            c
        };
        let (linux, key, kh, dest) = (linux.clone(), key.clone(), kh.clone(), dest.clone());
        let on_linux = move |_: &Path| {
            let mut c = Command::new(&linux);
            c.arg("-i")
                .arg(&key)
                .arg("--known-hosts")
                .arg(&kh)
                .args(["--no-agent", &dest, "true"]);
            c
        };
        rows.push(Row {
            work: "Wine: connect+exec",
            target: Target::Report,
            quick_runs: None,
            rk: Probe::Process(Box::new(on_wine)),
            anchor: Probe::Process(Box::new(on_linux)),
        });
    }
    let bytes: usize = if quick { 64 << 20 } else { 256 << 20 };
    let (sink, source) = sink_and_source(bytes)?;
    let cipher = "aes128-gcm@openssh.com";
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    for (dir, target) in [("upload", sink), ("download", source)] {
        let w = tunnel_from(
            wine.command_for(&exe),
            win_key.as_ref(),
            win_kh.as_ref(),
            &dest,
            cipher,
            target,
        )?;
        let l = rk_tunnel(&linux, &key, &kh, &dest, cipher, target)?;
        let probe = |port: u16| transfer(dir, port, bytes);
        rows.push(Row {
            work: if dir == "upload" {
                "Wine: -L upload aes128-gcm"
            } else {
                "Wine: -L download aes128-gcm"
            },
            target: Target::Report,
            quick_runs: None,
            rk: probe(w.port),
            anchor: probe(l.port),
        });
        keep.push(Box::new(w));
        keep.push(Box::new(l));
    }
    let sides = Sides {
        wine: Wine {
            prefix,
            bin: windows_bin,
            display: None,
        },
        key,
        kh,
        port: sshd.port,
    };
    rows.extend(copy_rows(&sides, &bin.join("rk-cp"), base, bytes)?);
    keep.push(Box::new(sshd));
    Ok(TunnelBench {
        rows,
        keep,
        rss: Vec::new(),
        cpu: Vec::new(),
    })
}

/// What both sides of a Wine row share: the prefix and build, the key, known_hosts, sshd's port.
struct Sides {
    wine: rk_e2e::wine::Wine,
    key: std::path::PathBuf,
    kh: std::path::PathBuf,
    port: u16,
}

/// rk-cp.exe under Wine against Linux rk-cp: one file of `bytes` down and up, over loopback.
fn copy_rows(sides: &Sides, linux: &Path, base: &Path, bytes: usize) -> Result<Vec<Row>, String> {
    use rk_e2e::wine::windows_path;
    let source = base.join("wine-cp-source.bin");
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let mut data = Vec::with_capacity(bytes);
    while data.len() < bytes {
        data.extend_from_slice(&block);
    }
    std::fs::write(&source, &data).map_err(|e| e.to_string())?;
    let (down_dir, up_dir) = (base.join("wine-cp-down"), base.join("wine-cp-up"));
    for dir in [&down_dir, &up_dir] {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let remote = |p: &Path| format!("{}@127.0.0.1:{}", rk_e2e::current_user(), p.display());
    let mut rows = Vec::new();
    for (work, up) in [
        ("Wine: cp down (rk-cp)", false),
        ("Wine: cp up (rk-cp)", true),
    ] {
        let (from_win, to_win) = if up {
            (windows_path(&source), format!("{}/", remote(&up_dir)))
        } else {
            (remote(&source), format!("{}\\", windows_path(&down_dir)))
        };
        let (from_linux, to_linux) = if up {
            (
                source.display().to_string(),
                format!("{}/", remote(&up_dir)),
            )
        } else {
            (remote(&source), format!("{}/", down_dir.display()))
        };
        let on_wine = {
            let (prefix, bin) = (sides.wine.prefix.clone(), sides.wine.bin.clone());
            let args = [
                "-i".to_string(),
                windows_path(&sides.key),
                "--known-hosts".into(),
                windows_path(&sides.kh),
                "--no-agent".into(),
                "-q".into(),
                "-P".into(),
                sides.port.to_string(),
                from_win,
                to_win,
            ];
            move |_: &Path| {
                let wine = rk_e2e::wine::Wine {
                    prefix: prefix.clone(),
                    bin: bin.clone(),
                    display: None,
                };
                let mut c = wine.command_for(&bin.join("rk-cp.exe"));
                c.args(&args);
                c
            }
        };
        let on_linux = {
            let (linux, key, kh, port) = (
                linux.to_path_buf(),
                sides.key.clone(),
                sides.kh.clone(),
                sides.port,
            );
            move |_: &Path| {
                let mut c = Command::new(&linux);
                c.arg("-i").arg(&key).arg("--known-hosts").arg(&kh);
                c.args([
                    "--no-agent",
                    "-q",
                    "-P",
                    &port.to_string(),
                    &from_linux,
                    &to_linux,
                ]);
                c
            }
        };
        rows.push(Row {
            work,
            target: Target::Report,
            quick_runs: None,
            rk: Probe::Process(Box::new(on_wine)),
            anchor: Probe::Process(Box::new(on_linux)),
        });
    }
    Ok(rows)
}
