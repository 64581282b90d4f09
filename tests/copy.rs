//! rk-cp against a real OpenSSH sshd on 127.0.0.1 (its internal-sftp), started and stopped by
//! each test. The "cluster" is this machine, so remote paths are absolute paths into the test's
//! sandbox and every byte can be compared on both sides.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rk_e2e::*;

struct World {
    sb: Sandbox,
    sshd: Sshd,
    key: PathBuf,
    /// The cluster's side of the files, and this machine's.
    there: PathBuf,
    here: PathBuf,
}

fn world_with(sshd_config: &str) -> World {
    let sb = Sandbox::new();
    let key = sb.fixture("keys/openssh/ed25519");
    let public = fixtures().join("keys/openssh/ed25519.pub");
    let mut sshd = Sshd::prepare(&[&public]);
    sshd.config_first = sshd_config.to_string();
    sshd.port = 0;
    sshd.launch();
    let there = sb.path().join("there");
    let here = sb.path().join("here");
    std::fs::create_dir_all(&there).unwrap();
    std::fs::create_dir_all(&here).unwrap();
    World {
        sb,
        sshd,
        key,
        there,
        here,
    }
}

fn world() -> World {
    world_with("")
}

impl World {
    /// `user@127.0.0.1:PATH` for a path on the cluster's side.
    fn remote(&self, path: &Path) -> String {
        format!("{}@127.0.0.1:{}", current_user(), path.display())
    }

    /// rk-cp with the test's key, port and known_hosts; `-q` keeps stderr for what matters.
    fn cp(&self) -> Command {
        let mut c = self.sb.rk("rk-cp");
        c.arg("--known-hosts")
            .arg(self.sb.known_hosts())
            .arg("--accept-new")
            .arg("-F")
            .arg("none")
            .arg("-i")
            .arg(&self.key)
            .arg("-P")
            .arg(self.sshd.port.to_string());
        c
    }
}

/// Bytes that are the same on every run and unlike any text.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn assert_same_file(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(
        x == y,
        "{} ({} bytes) and {} ({} bytes) differ",
        a.display(),
        x.len(),
        b.display(),
        y.len()
    );
}

/// Every file and folder below `root` (relative paths), with the contents of the files.
fn tree(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
                out.push((rel, None));
            } else if meta.is_file() {
                out.push((rel, Some(std::fs::read(&path).unwrap())));
            }
        }
    }
    out.sort();
    out
}

/// Names a user's folders really hold.
const ODD_NAMES: &[&str] = &[
    "with space.txt",
    "it's \"quoted\".txt",
    "star*.txt",
    "結果.dat",
    "-starts-with-dash",
];

#[test]
fn files_both_ways_are_byte_exact() {
    let w = world();
    let sizes = [("empty", 0usize), ("one", 1), ("big", 100 << 20)];
    for (i, (name, size)) in sizes.iter().enumerate() {
        std::fs::write(w.there.join(name), noise(*size, i as u64 + 1)).unwrap();
    }
    // Download: three sources into a folder.
    let mut cmd = w.cp();
    for (name, _) in &sizes {
        cmd.arg(w.remote(&w.there.join(name)));
    }
    let out = run(cmd.arg(&w.here));
    out.assert_ok("download");
    for (name, _) in &sizes {
        assert_same_file(&w.there.join(name), &w.here.join(name));
    }
    // Upload: to a new name.
    let up = w.there.join("big-again");
    run(w.cp().arg(w.here.join("big")).arg(w.remote(&up))).assert_ok("upload");
    assert_same_file(&w.here.join("big"), &up);
    // No temporary file is left on either side.
    for dir in [&w.here, &w.there] {
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".rk-part"))
            .collect();
        assert!(
            left.is_empty(),
            "left behind in {}: {left:?}",
            dir.display()
        );
    }
}

#[test]
fn folders_with_odd_names_and_links_both_ways() {
    let w = world();
    let src = w.there.join("results");
    std::fs::create_dir_all(src.join("nested/deeper")).unwrap();
    for (i, name) in ODD_NAMES.iter().enumerate() {
        std::fs::write(src.join(name), noise(1000 + i, i as u64)).unwrap();
        std::fs::write(src.join("nested/deeper").join(name), noise(50_000 + i, 7)).unwrap();
    }
    std::fs::create_dir_all(src.join("empty-folder")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", src.join("a-link")).unwrap();

    let out = run(w.cp().arg("-r").arg(w.remote(&src)).arg(&w.here));
    out.assert_ok("download -r");
    let fetched = w.here.join("results");
    let mut expected = tree(&src);
    expected.retain(|(name, _)| name != "a-link");
    assert_eq!(tree(&fetched), expected);
    assert!(!fetched.join("a-link").exists());
    assert!(
        out.stderr_str()
            .contains("a-link: a symbolic link inside a folder; skipped"),
        "{}",
        out.stderr_str()
    );

    // And back up, under another name (the target does not exist: it becomes the folder).
    let back = w.there.join("results-again");
    run(w.cp().arg("-r").arg(&fetched).arg(w.remote(&back))).assert_ok("upload -r");
    assert_eq!(tree(&back), expected);

    // One odd name on its own, both ways, as the shell passes it.
    let dash = w.here.join("dash-copy");
    run(w
        .cp()
        .arg(w.remote(&src.join("-starts-with-dash")))
        .arg(&dash))
    .assert_ok("a name starting with -");
    assert_same_file(&src.join("-starts-with-dash"), &dash);
}

#[test]
fn patterns_and_folders_without_r() {
    let w = world();
    for name in ["a.h5", "b.h5", "c.txt", ".hidden.h5"] {
        std::fs::write(w.there.join(name), name).unwrap();
    }
    std::fs::create_dir_all(w.there.join("sub")).unwrap();
    let pattern = format!("{}/*.h5", w.there.display());
    let out = run(w
        .cp()
        .arg(format!("{}@127.0.0.1:{pattern}", current_user()))
        .arg(&w.here));
    out.assert_ok("pattern");
    let mut got: Vec<_> = std::fs::read_dir(&w.here)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["a.h5", "b.h5"]);

    let out = run(w.cp().arg(w.remote(&w.there.join("sub"))).arg(&w.here));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("is a folder (add -r"),
        "{}",
        out.stderr_str()
    );
    assert!(!w.here.join("sub").exists());
}

fn stat(path: &Path, format: &str) -> String {
    run(Command::new("stat").args(["-c", format]).arg(path))
        .stdout_str()
        .trim()
        .to_string()
}

#[test]
fn dash_p_keeps_times_and_modes() {
    let w = world();
    let src = w.there.join("script.sh");
    std::fs::write(&src, "#!/bin/sh\necho hi\n").unwrap();
    set_mode(&src, 0o750);
    run(Command::new("touch")
        .args(["-m", "-d", "2021-03-04 05:06:07"])
        .arg(&src))
    .assert_ok("touch");
    let local = w.here.join("script.sh");
    run(w.cp().arg("-p").arg(w.remote(&src)).arg(&local)).assert_ok("download -p");
    assert_eq!(stat(&local, "%a %Y"), stat(&src, "%a %Y"));

    let back = w.there.join("script-back.sh");
    set_mode(&local, 0o705);
    run(Command::new("touch")
        .args(["-m", "-d", "2019-01-02 03:04:05"])
        .arg(&local))
    .assert_ok("touch");
    run(w.cp().arg("-p").arg(&local).arg(w.remote(&back))).assert_ok("upload -p");
    assert_eq!(stat(&back, "%a %Y"), stat(&local, "%a %Y"));
}

/// Starts a download of `source` into `target` and SIGKILLs rk-cp once the partial file has
/// at least `at_least` bytes; returns the partial file's length.
fn kill_midway(w: &World, source: &Path, target: &Path, at_least: u64) -> u64 {
    let partial = target.with_file_name(format!(
        ".{}.rk-part",
        target.file_name().unwrap().to_string_lossy()
    ));
    let mut cmd = w.cp();
    cmd.arg("-q")
        .arg(w.remote(source))
        .arg(target)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    kill_once(&mut cmd, || {
        std::fs::metadata(&partial).map_or(0, |m| m.len()) >= at_least
    });
    std::fs::metadata(&partial).unwrap().len()
}

/// What `rk-cp -v` says it moved over the network (`… N bytes moved`).
fn moved(stderr: &str) -> u64 {
    bytes_moved(stderr).unwrap_or_else(|| panic!("no 'bytes moved' in {stderr}"))
}

/// Starts `cmd` and SIGKILLs it as soon as `ready()` holds (checked every 2 ms, at most 60 s);
/// fails the test if it finished first.
fn kill_once(cmd: &mut Command, ready: impl Fn() -> bool) {
    let mut child = ChildGuard::spawn(cmd).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(
            child.child().try_wait().unwrap().is_none(),
            "rk-cp finished before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no progress in 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.child().kill();
    let _ = child.child().wait();
}

#[test]
fn an_interrupted_download_keeps_the_old_target_and_resumes() {
    let w = world();
    let size = 200usize << 20;
    let source = w.there.join("big.bin");
    std::fs::write(&source, noise(size, 42)).unwrap();
    let target = w.here.join("big.bin");
    std::fs::write(&target, "the old results").unwrap();

    let have = kill_midway(&w, &source, &target, 16 << 20);
    assert!(have < size as u64, "the copy finished before the kill");
    // The old target is untouched: the copy went to the temporary name.
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "the old results");

    let out = run(w
        .cp()
        .args(["-v", "--resume"])
        .arg(w.remote(&source))
        .arg(&target));
    out.assert_ok("rerun");
    assert_same_file(&source, &target);
    let err = out.stderr_str();
    assert!(
        err.contains(&format!("continuing after {have} bytes")),
        "{err}"
    );
    // What moved the second time: the rest, not the whole file.
    let moved = moved(&err);
    assert_eq!(moved, size as u64 - have, "{err}");

    // A partial copy whose bytes differ from the source is noticed and started over.
    let target2 = w.here.join("big2.bin");
    let have = kill_midway(&w, &source, &target2, 8 << 20);
    let partial = w.here.join(".big2.bin.rk-part");
    let mut bytes = std::fs::read(&partial).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&partial, &bytes).unwrap();
    let out = run(w.cp().arg(w.remote(&source)).arg(&target2));
    out.assert_ok("rerun over a damaged partial");
    assert!(
        out.stderr_str()
            .contains("differs from the source; starting it over"),
        "{} (partial had {have} bytes)",
        out.stderr_str()
    );
    assert_same_file(&source, &target2);
}

#[test]
fn verify_passes_on_a_good_copy_and_fails_on_a_file_changing_on_the_server() {
    let w = world();
    let source = w.there.join("data.bin");
    std::fs::write(&source, noise(5 << 20, 3)).unwrap();
    let out = run(w.cp().arg("--verify").arg(w.remote(&source)).arg(&w.here));
    out.assert_ok("verify a good copy");
    assert_same_file(&source, &w.here.join("data.bin"));

    // The file grows on the cluster while it is copied: the copy is what was there when it
    // started, and the check must not call it good.
    let growing = w.there.join("growing.log");
    std::fs::write(&growing, noise(20 << 20, 4)).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, growing) = (stop.clone(), growing.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&growing)
                .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = f.write_all(b"one more line of the solver's log\n");
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let out = run(w.cp().arg("--verify").arg(w.remote(&growing)).arg(&w.here));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains("SHA-256 differs"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn refusals_say_why_and_change_nothing() {
    let w = world();
    std::fs::write(w.there.join("a.txt"), "a").unwrap();

    // No such file on the cluster: exit 1, named.
    let out = run(w
        .cp()
        .arg(w.remote(&w.there.join("missing.txt")))
        .arg(&w.here));
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr_str()
            .contains("missing.txt: no such file or folder on the cluster"),
        "{}",
        out.stderr_str()
    );

    // Several sources into something that is not a folder.
    let file = w.here.join("not-a-folder");
    std::fs::write(&file, "keep me").unwrap();
    let out = run(w
        .cp()
        .arg(w.remote(&w.there.join("a.txt")))
        .arg(w.remote(&w.there.join("a.txt")))
        .arg(&file));
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr_str().contains("is not a folder"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    // An unknown host in batch mode: the connection's error, 255, and nothing asked.
    let out = run(w
        .sb
        .rk("rk-cp")
        .args(["--batch", "-F", "none", "--known-hosts"])
        .arg(w.sb.path().join("empty_known_hosts"))
        .arg("-i")
        .arg(&w.key)
        .arg("-P")
        .arg(w.sshd.port.to_string())
        .arg(w.remote(&w.there.join("a.txt")))
        .arg(&w.here));
    assert_eq!(out.code(), Some(255), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("--batch (BatchMode) forbids asking"),
        "{}",
        out.stderr_str()
    );
    assert!(!w.here.join("a.txt").exists());

    // Both sides local.
    let out = run(w.cp().arg(w.there.join("a.txt")).arg(&w.here));
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr_str().contains("both sides are local"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn a_server_that_refuses_permission_is_named_and_the_old_file_kept() {
    // The server's sftp refuses to open files and to rename (sftp-server -P), as a read-only
    // project folder would.
    let w = world_with("Subsystem sftp internal-sftp -P open,rename,posix-rename\n");
    std::fs::write(w.there.join("a.txt"), "on the cluster").unwrap();
    let out = run(w.cp().arg(w.remote(&w.there.join("a.txt"))).arg(&w.here));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("a.txt: permission denied on the cluster"),
        "{}",
        out.stderr_str()
    );
    assert!(!w.here.join("a.txt").exists());

    let local = w.here.join("b.txt");
    std::fs::write(&local, "new").unwrap();
    std::fs::write(w.there.join("b.txt"), "old").unwrap();
    let out = run(w.cp().arg(&local).arg(w.remote(&w.there.join("b.txt"))));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("permission denied on the cluster"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(
        std::fs::read_to_string(w.there.join("b.txt")).unwrap(),
        "old"
    );
}

/// A 4 MiB tmpfs mounted on `dir` (tests run as root), unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir))
        .assert_ok("mount a 4 MiB tmpfs");
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_keeps_the_partial_file_and_says_so() {
    let w = world();
    let source = w.there.join("big.bin");
    std::fs::write(&source, noise(8 << 20, 9)).unwrap();
    let disk = SmallDisk::mount(&w.here.join("small"));
    let target = disk.0.join("big.bin");
    let out = run(w.cp().arg(w.remote(&source)).arg(&target));
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(!target.exists(), "a truncated file under the real name");
    assert!(
        out.stderr_str()
            .contains("the disk is full; the partial file is kept"),
        "{}",
        out.stderr_str()
    );
    assert!(
        disk.0.join(".big.bin.rk-part").exists(),
        "the partial file is kept"
    );
}

#[test]
fn from_the_saved_job_from_a_log_and_through_a_jump_host() {
    let w = world();
    let source = w.there.join("result.dat");
    std::fs::write(&source, noise(3 << 20, 11)).unwrap();
    let state = w.sb.path().join("state");
    let log = w.sb.write(
        "job.log",
        &format!(
            "2026-11-24 16:07:03 SSH access: the job username is {} and the public IP address is 127.0.0.1, port {}\n",
            current_user(),
            w.sshd.port
        ),
    );
    run(w
        .sb
        .rk("rk-parse-log")
        .args(["--save", "--allow-private"])
        .arg(&log)
        .env("XDG_STATE_HOME", &state))
    .assert_ok("--save");

    // job: is the saved job (no -P: the port comes from the log).
    let mut cmd = w.sb.rk("rk-cp");
    cmd.arg("--known-hosts")
        .arg(w.sb.known_hosts())
        .args(["--accept-new", "-F", "none", "-i"])
        .arg(&w.key)
        .arg(format!("job:{}", source.display()))
        .arg(w.here.join("saved.dat"))
        .env("XDG_STATE_HOME", &state);
    let out = run(&mut cmd);
    out.assert_ok("job: from the saved job");
    assert!(
        out.stderr_str().contains("connecting to the saved job"),
        "{}",
        out.stderr_str()
    );
    assert_same_file(&source, &w.here.join("saved.dat"));

    // --from-log: job: is that log's job (no saved job needed).
    let mut cmd = w.sb.rk("rk-cp");
    cmd.arg("--known-hosts")
        .arg(w.sb.known_hosts())
        .args([
            "--accept-new",
            "-F",
            "none",
            "--allow-private",
            "--from-log",
        ])
        .arg(&log)
        .arg("-i")
        .arg(&w.key)
        .arg(format!("job:{}", source.display()))
        .arg(w.here.join("from-log.dat"));
    run(&mut cmd).assert_ok("job: from --from-log");
    assert_same_file(&source, &w.here.join("from-log.dat"));

    // Through a jump host: a second sshd is the head node, the first one behind it.
    let head = Sshd::start(&[fixtures().join("keys/openssh/ed25519.pub").as_path()]);
    let out = run(w
        .cp()
        .arg("-J")
        .arg(format!("{}@127.0.0.1:{}", current_user(), head.port))
        .arg("-v")
        .arg(w.remote(&source))
        .arg(w.here.join("jumped.dat")));
    out.assert_ok("through -J");
    assert_same_file(&source, &w.here.join("jumped.dat"));
    assert!(
        out.stderr_str().contains("opening a channel to 127.0.0.1"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn an_interrupted_upload_over_several_channels_resumes_where_the_server_had_it() {
    let w = world();
    let size = 240usize << 20;
    let local = w.here.join("big.bin");
    std::fs::write(&local, noise(size, 77)).unwrap();
    let target = w.there.join("big.bin");
    std::fs::write(&target, "the old inputs").unwrap();
    let journal = w.there.join(".big.bin.rk-part.journal");

    // Big enough for one segment per channel; killed once the journal shows 24 MiB acknowledged.
    let mut cmd = w.cp();
    cmd.args(["-q", "-n", "4"])
        .arg(&local)
        .arg(w.remote(&target))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let acknowledged = |text: &str| -> u64 {
        text.lines()
            .skip(2)
            .filter_map(|l| {
                let n: Vec<u64> = l.split(' ').filter_map(|x| x.parse().ok()).collect();
                (n.len() == 3).then(|| n[2] - n[0])
            })
            .sum()
    };
    kill_once(&mut cmd, || {
        acknowledged(&std::fs::read_to_string(&journal).unwrap_or_default()) >= 24 << 20
    });
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "the old inputs");
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(lines.lines().count(), 2 + 4, "{lines}");

    let out = run(w.cp().arg("-v").arg(&local).arg(w.remote(&target)));
    out.assert_ok("rerun");
    assert_same_file(&local, &target);
    let err = out.stderr_str();
    let have: u64 = err
        .split("continuing after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("not continued: {err}"));
    assert!(have >= 24 << 20, "{err}");
    let moved = moved(&err);
    assert_eq!(moved, size as u64 - have, "{err}");
    assert!(!journal.exists(), "the journal is left behind");
}

/// Starts `cmd` (stderr to `log`), waits until `partial` holds `at_least` bytes, then stops
/// the server and every session it forked, as a lost network or a restarted server would.
fn lose_the_server_midway(
    w: &mut World,
    cmd: &mut Command,
    log: &Path,
    partial: &Path,
    at_least: u64,
) -> ChildGuard {
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    let mut child = ChildGuard::spawn(cmd).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(partial).map_or(0, |m| m.len()) < at_least {
        assert!(
            child.child().try_wait().unwrap().is_none(),
            "rk-cp finished before the server went: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "no progress in 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    w.sshd.kill_all();
    child
}

#[test]
fn a_lost_connection_stops_with_255_or_is_continued_with_reconnect() {
    let mut w = world();
    let size = 200usize << 20;
    let source = w.there.join("big.bin");
    std::fs::write(&source, noise(size, 9)).unwrap();
    let target = w.here.join("big.bin");
    let partial = w.here.join(".big.bin.rk-part");
    let log = w.sb.path().join("cp.log");

    // Without --reconnect: exit 255, the partial file kept, the next step named.
    let mut cmd = w.cp();
    cmd.arg("-q").arg(w.remote(&source)).arg(&target);
    let mut child = lose_the_server_midway(&mut w, &mut cmd, &log, &partial, 16 << 20);
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let err = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(255), "{err}");
    assert!(
        err.contains("was lost with 1 files not finished: run the same command again"),
        "{err}"
    );
    assert!(!target.exists(), "a truncated file under the real name");
    let have = std::fs::metadata(&partial).unwrap().len();
    assert!(have >= 16 << 20, "the partial file was not kept");

    // With --reconnect: the server comes back a moment later and the copy continues.
    w.sshd.launch();
    let mut cmd = w.cp();
    cmd.args(["-v", "--reconnect"])
        .arg(w.remote(&source))
        .arg(&target);
    let mut child = lose_the_server_midway(&mut w, &mut cmd, &log, &partial, have + (16 << 20));
    std::thread::sleep(Duration::from_millis(300));
    w.sshd.launch();
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{err}");
    assert_same_file(&source, &target);
    assert!(
        err.contains("was lost; reconnecting to continue") && err.contains("reconnected to"),
        "{err}"
    );
    // Continued twice (once from the first run's partial, once after the loss), never restarted.
    assert_eq!(err.matches("continuing after").count(), 2, "{err}");
    assert!(!err.contains("starting it over"), "{err}");
    assert!(!partial.exists());
}

#[test]
fn connections_spreads_the_channels_over_several_logins() {
    let w = world();
    let files: Vec<PathBuf> = (0..6)
        .map(|i| {
            let p = w.here.join(format!("in{i}.dat"));
            std::fs::write(&p, noise(3 << 20, i)).unwrap();
            p
        })
        .collect();
    let out = run(w
        .cp()
        .args(["-v", "--connections", "2", "-n", "4"])
        .args(&files)
        .arg(w.remote(&w.there)));
    out.assert_ok("--connections 2");
    for f in &files {
        assert_same_file(f, &w.there.join(f.file_name().unwrap()));
    }
    assert!(
        out.stderr_str()
            .contains("4 SFTP channels open over 2 logins"),
        "{}",
        out.stderr_str()
    );
    assert_eq!(w.sshd.log().matches("Accepted publickey").count(), 2);
}

#[test]
fn a_server_allowing_fewer_sessions_gets_fewer_channels() {
    // sshd takes the first value of an option: this one wins over the harness's MaxSessions 100.
    let w = world_with("MaxSessions 3\n");
    let local = w.here.join("in.dat");
    std::fs::write(&local, noise(70 << 20, 5)).unwrap();
    let out = run(w.cp().arg("-v").arg(&local).arg(w.remote(&w.there)));
    out.assert_ok("default channels against MaxSessions 3");
    assert_same_file(&local, &w.there.join("in.dat"));
    assert!(
        out.stderr_str().contains("3 SFTP channels open"),
        "{}",
        out.stderr_str()
    );
}

#[test]
fn sftp_servers_killed_under_a_live_login_fail_the_files_not_the_run() {
    // sftp-server as its own process (not internal-sftp), so it can die while the login lives.
    let w = world_with("Subsystem sftp /usr/lib/openssh/sftp-server\n");
    let source = w.there.join("many");
    std::fs::create_dir_all(&source).unwrap();
    for i in 0..40 {
        std::fs::write(source.join(format!("f{i:02}.bin")), noise(4 << 20, i)).unwrap();
    }
    let target = w.here.join("many");
    let log = w.sb.path().join("cp.log");
    let mut cmd = w.cp();
    cmd.args(["-n", "2", "-r"])
        .arg(w.remote(&source))
        .arg(&w.here)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = ChildGuard::spawn(&mut cmd).unwrap();
    let sftp_servers = || -> Vec<u32> {
        children_of(w.sshd.pid().unwrap())
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "sftp-server")
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_dir(&target).map_or(0, |d| d.count()) < 4 {
        assert!(
            child.child().try_wait().unwrap().is_none(),
            "finished too soon"
        );
        assert!(Instant::now() < deadline, "no progress in 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    for pid in sftp_servers() {
        kill_pid(pid);
    }
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let err = std::fs::read_to_string(&log).unwrap();
    // Exit 1 (files not copied, each named), not 255: the login itself was fine.
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("files were not copied"), "{err}");
    assert!(
        err.contains("the SFTP channel to the cluster closed"),
        "{err}"
    );
    assert!(!err.contains("was lost"), "{err}");
    // Whatever was put in place is whole; the rest is under temporary names.
    for entry in std::fs::read_dir(&target).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') {
            assert_same_file(&source.join(&name), &entry.path());
        }
    }
}
