//! Child processes with a time bound, killed on drop (also when a test fails), and what
//! /proc says about them (children, peak RSS, CPU time).

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when dropped, whatever happened in the test.
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    /// Starts `cmd` in a session of its own, with no controlling terminal (see
    /// [`without_terminal`]): every process the harness starts sees what CI gives it, even when
    /// the suite was typed in a terminal. Tests that want a terminal use rexpect's pty instead.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        without_terminal(cmd).spawn().map(|c| ChildGuard(Some(c)))
    }
    pub fn id(&self) -> u32 {
        self.0.as_ref().map(Child::id).unwrap_or(0)
    }
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("child already taken")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a command to completion with `stdin` as its input, killing it after `limit`.
pub fn run_with_input(cmd: &mut Command, stdin: &[u8], limit: Duration) -> Output {
    use std::io::{Read, Write};
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(cmd).unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut input = guard.child().stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out_pipe = guard.child().stdout.take().unwrap();
    let mut err_pipe = guard.child().stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let status = wait_bounded(&mut guard, limit);
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// The first line `reader` gives (with its newline), read on a thread: a child that never
/// writes it fails the test after `limit` instead of hanging it.
pub fn first_line_within<R: std::io::Read + Send + 'static>(reader: R, limit: Duration) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(reader), &mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no line within {limit:?}"))
}

/// Runs with empty stdin (not a terminal) and a 120 s bound.
pub fn run(cmd: &mut Command) -> Output {
    run_with_input(cmd, b"", Duration::from_secs(120))
}

/// The result of a finished command, with readable assertions.
pub trait OutputExt {
    fn stdout_str(&self) -> String;
    fn stderr_str(&self) -> String;
    fn code(&self) -> Option<i32>;
    fn assert_ok(&self, what: &str) -> &Self;
}

impl OutputExt for Output {
    fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
    fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            self.status.success(),
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout_str(),
            self.stderr_str()
        );
        self
    }
}

/// Waits for a child with a bound; kills it and panics on timeout.
pub fn wait_bounded(guard: &mut ChildGuard, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    // Short commands finish in a few ms: poll fast at first, then back off to 20 ms.
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = guard.child().try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > limit {
            panic!("process {} did not exit within {limit:?}", guard.id());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// SIGKILL to `pid`, quietly: it may have exited already (kill(1) would say so on stderr).
pub fn kill_pid(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Runs `cmd` in a new session, with no controlling terminal: what a cron job or CI step sees,
/// even when the tests themselves were started from a terminal. Without it, a tool whose stdin
/// is a pipe still finds the developer's terminal through `/dev/tty` and asks its questions
/// there (a host key, a passphrase), where nobody answers. [`ChildGuard::spawn`] (and so every
/// `run*` helper) applies it; a second call in the same child is harmless (setsid then fails
/// with EPERM, already a session leader).
pub fn without_terminal(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches only the child being started.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces, so the line
/// is cut after its last ')'): state, ppid, pgrp, session, tty_nr, … None once it is gone.
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// The pid a `-f` run names in "in the background as process N; …".
pub fn background_pid(said: &str) -> Option<u32> {
    said.split("in the background as process ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// All descendants of a process, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut parents = vec![pid];
    let mut found = Vec::new();
    loop {
        let mut added = false;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if found.contains(&p) {
                continue;
            }
            let ppid = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok());
            if ppid.is_some_and(|pp| parents.contains(&pp)) {
                found.push(p);
                parents.push(p);
                added = true;
            }
        }
        if !added {
            return found;
        }
    }
}

/// Peak resident memory (VmHWM) of a running process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU time (user + system) a live process has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let fields = stat_fields(pid)?;
    // Fields 14 and 15 of the whole line (utime, stime) are 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

/// What [`run_measured`] saw: the output, the wall time and the peak RSS.
pub struct Measured {
    pub output: Output,
    pub elapsed: Duration,
    /// Peak resident memory in KiB, as `/usr/bin/time` reports it (0 if it reported none).
    pub peak_rss_kib: u64,
}

/// Runs `program args…` under `/usr/bin/time` (Debian's `time` package) with empty stdin and
/// `envs`, bounded like [`run`].
pub fn run_measured(program: &Path, args: &[&std::ffi::OsStr], envs: &[(&str, &Path)]) -> Measured {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(program)
        .args(args);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let start = Instant::now();
    let output = run(&mut cmd);
    let elapsed = start.elapsed();
    let peak_rss_kib = std::fs::read_to_string(report.path())
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Measured {
        output,
        elapsed,
        peak_rss_kib,
    }
}
