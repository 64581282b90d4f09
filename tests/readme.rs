//! The README cannot drift: every command in its `console` blocks runs here, in order, as a user
//! would type it at a terminal, and what it prints must match the README line by line. The
//! install command of "Two commands" runs too (into a throwaway prefix), and the test command
//! there must be the one `.ci/run` runs.
//!
//! The commands run verbatim. So that `rk-connect uprod_00Grm@3.80.3.168` reaches a real server,
//! this test runs in its own network, mount and UTS namespaces (it needs root, like the rest of
//! the suite in CI): 3.80.3.168 is an address on the namespace's own loopback, a throwaway sshd
//! listens there on port 32100, the job's user `uprod_00Grm` exists only in a bind-mounted copy
//! of /etc/passwd, and the host name is `laptop`. Nothing outside the namespaces changes.
//!
//! Between the commands the test does what the user does in the web UI: the first time a
//! command needs the cluster, it pastes the clipboard (read back with `xclip`) into the
//! server's authorized_keys — the "Job Settings → SSH Public Key" step — and starts the server.
//!
//! Matching: `…` in an expected line stands for any text; a line `...` for any number of lines;
//! `/home/you` is the sandbox's home. Prompts are answered as a user would: Enter at a file or
//! passphrase prompt, `yes` at a host-key question (the README shows it after the `?`). A line
//! `^C` is Ctrl-C typed at the terminal once the lines before it have appeared (how a tunnel
//! with `-N` is stopped). Every command must exit 0.
//!
//! It runs without libtest's harness so that it can enter the namespaces before any thread starts.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rk_e2e::*;

/// The head node of the README's example job (from `../shared/seed`).
const JOB_IP: &str = "3.80.3.168";
const JOB_PORT: u16 = 32100;
const JOB_USER: &str = "uprod_00Grm";
const JOB_UID: u32 = 4242;

struct Step {
    /// Where in README.md (1-based line of the `$ ` line), for failure messages.
    line: usize,
    command: String,
    expected: Vec<String>,
}

fn main() {
    // libtest's arguments (`--nocapture`, filters, `--list`) are accepted and ignored, except
    // `--list`, which must name the one test for nextest.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            println!("readme_commands_run_and_print_what_it_says: test");
        }
        return;
    }
    let started = Instant::now();
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");

    check_test_command(&readme);
    let steps = console_steps(&readme);
    assert!(
        steps.len() >= 5,
        "README.md has only {} console commands; the walkthrough is missing?",
        steps.len()
    );

    // Build the binaries before leaving the network (cargo may want the registry).
    let bin_dir = bin("rk-keygen").parent().unwrap().to_path_buf();
    for b in BINARIES {
        bin(b);
    }
    run_install_command(&readme);

    enter_namespaces();
    let sandbox = tempfile::tempdir().expect("tempdir");
    set_mode(sandbox.path(), 0o755);
    let home = sandbox.path().join("home");
    let work = sandbox.path().join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    // The job's log as the platform shows it (the user saved it as job.log).
    std::fs::copy(
        fixtures().join("job-logs/basic-32100.log"),
        work.join("job.log"),
    )
    .expect("../shared/fixtures/job-logs/basic-32100.log");

    let cluster_home = sandbox.path().join("cluster-home");
    std::fs::create_dir_all(&cluster_home).unwrap();
    chown(&cluster_home, JOB_UID);
    add_job_user(sandbox.path(), &cluster_home, &home);

    let x = XServer::start();
    let mut cluster: Option<Sshd> = None;
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    for step in &steps {
        if cluster.is_none() && step.command.contains("rk-connect") {
            cluster = Some(submit_job(&x, &home));
        }
        let mut cmd = Command::new("bash");
        cmd.arg("--noprofile")
            .arg("--norc")
            .arg("-c")
            // A terminal as a user has it (rexpect turns echo off).
            .arg(format!("stty sane; {}", step.command))
            .current_dir(&work)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &home)
            .env("USER", "you")
            .env("LOGNAME", "you")
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("DISPLAY", &x.display);
        let (status, transcript) = run_on_terminal(cmd, &step.expected, Duration::from_secs(90))
            .unwrap_or_else(|e| panic!("README.md:{}: `{}`: {e}", step.line, step.command));
        let actual = normalise(&transcript, &home);
        if !matches(&step.expected, &actual) {
            panic!(
                "README.md:{}: `{}` printed\n-----\n{}\n-----\nbut the README says\n-----\n{}\n-----",
                step.line,
                step.command,
                actual.join("\n"),
                step.expected.join("\n")
            );
        }
        assert!(
            status == 0,
            "README.md:{}: `{}` exited {status}; it printed:\n{}",
            step.line,
            step.command,
            actual.join("\n")
        );
        eprintln!("ok  README.md:{}  $ {}", step.line, step.command);
        if std::env::var_os("RK_README_PRINT").is_some() {
            // For refreshing the README: what the command really printed.
            eprintln!("{}", actual.join("\n"));
        }
        if std::env::var_os("RK_README_RAW").is_some() {
            eprintln!("{transcript:?}");
        }
    }
    drop(cluster);
    eprintln!(
        "test readme_commands_run_and_print_what_it_says ... ok ({} commands, {:.1} s)",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The commands of every ```console block, with the lines each prints.
fn console_steps(readme: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut in_other_fence = false;
    for (i, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            if in_console || in_other_fence {
                in_console = false;
                in_other_fence = false;
            } else if trimmed == "```console" {
                in_console = true;
            } else {
                in_other_fence = true;
            }
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: i + 1,
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.trim_end().to_string());
        } else {
            panic!("README.md:{}: a console block must start with `$ `", i + 1);
        }
    }
    steps
}

/// The fenced ```sh blocks of the "Two commands" section: the install command, then the test
/// command.
fn two_commands(readme: &str) -> (String, String) {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Two commands"))
        .expect("README.md has a `## Two commands` section");
    let blocks: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(
        blocks.len(),
        2,
        "`## Two commands` has two ```sh blocks: {blocks:?}"
    );
    (blocks[0].clone(), blocks[1].clone())
}

/// The README's test command is exactly what CI runs.
fn check_test_command(readme: &str) {
    let (_, test) = two_commands(readme);
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == test),
        ".ci/run must run the README's test command `{test}`"
    );
}

/// Runs the README's install command as written, into a throwaway prefix (`CARGO_INSTALL_ROOT`,
/// whose `bin` goes first on PATH as `~/.cargo/bin` would), answering rk-keygen's prompts.
fn run_install_command(readme: &str) {
    let (install, _) = two_commands(readme);
    let prefix = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_dir = Path::new(&cargo)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut cmd = Command::new("bash");
    cmd.arg("--noprofile")
        .arg("--norc")
        .arg("-c")
        .arg(format!("stty sane; {install}"))
        .current_dir(workspace_root())
        .env("CARGO_INSTALL_ROOT", prefix.path())
        .env(
            "PATH",
            format!(
                "{}:{}:{}",
                prefix.path().join("bin").display(),
                cargo_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let expected = ["Your identification has been saved in …".to_string()];
    let (status, transcript) = run_on_terminal(cmd, &expected, Duration::from_secs(1200))
        .unwrap_or_else(|e| panic!("`{install}`: {e}"));
    assert_eq!(status, 0, "`{install}` failed:\n{transcript}");
    // All four tools, on the PATH the user has (the install root's bin), and they run.
    for tool in BINARIES {
        let installed = prefix.path().join("bin").join(tool);
        let out = run(Command::new(&installed).arg("--version"));
        out.assert_ok(&format!("`{install}` installed {}", installed.display()));
        assert!(
            out.stdout_str().starts_with(&format!("{tool} ")),
            "{}",
            out.stdout_str()
        );
    }
    let key = home.path().join(".ssh/id_rsa");
    assert!(key.is_file(), "no {}:\n{transcript}", key.display());
    run(peer("ssh-keygen").arg("-l").arg("-f").arg(&key)).assert_ok("ssh-keygen -l on the key");
    eprintln!("ok  README.md `{install}`");
}

/// What the user does in the web UI: paste the clipboard into Job Settings → SSH Public Key,
/// submit the job; the cluster comes up with that key authorized.
fn submit_job(x: &XServer, home: &Path) -> Sshd {
    let pasted = x
        .clipboard()
        .expect("the clipboard is empty when the walkthrough connects");
    let public = std::fs::read_to_string(home.join(".ssh/id_rsa.pub")).unwrap();
    assert_eq!(
        pasted.trim(),
        public.trim(),
        "the clipboard does not hold ~/.ssh/id_rsa.pub"
    );
    let mut sshd = Sshd::prepare(&[]);
    std::fs::write(sshd.dir.path().join("authorized_keys"), pasted).unwrap();
    // The job's user reads authorized_keys itself.
    set_mode(sshd.dir.path(), 0o755);
    set_mode(&sshd.dir.path().join("authorized_keys"), 0o644);
    sshd.listen = JOB_IP.into();
    sshd.port = JOB_PORT;
    sshd.launch();
    sshd
}

fn enter_namespaces() {
    // SAFETY: plain syscalls on this thread; no memory is shared with them.
    unsafe {
        let rc = libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS | libc::CLONE_NEWUTS);
        assert!(
            rc == 0,
            "unshare(net, mount, uts) failed: {} (this test needs root, as CI runs it)",
            std::io::Error::last_os_error()
        );
        let root = c"/";
        let rc = libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        );
        assert!(
            rc == 0,
            "make / private: {}",
            std::io::Error::last_os_error()
        );
        let name = b"laptop";
        let rc = libc::sethostname(name.as_ptr().cast(), name.len());
        assert!(rc == 0, "sethostname: {}", std::io::Error::last_os_error());
    }
    for args in [
        &["link", "set", "lo", "up"][..],
        &["addr", "add", &format!("{JOB_IP}/32"), "dev", "lo"][..],
    ] {
        run(Command::new("ip").args(args))
            .assert_ok("ip (apt-get install -y iproute2) in the test's network namespace");
    }
}

/// The job's user, only inside this test's mount namespace.
/// Also gives the local user (root, as CI runs) the sandbox as home, since OpenSSH's `ssh`
/// finds `~/.ssh/config` through the password database, not `$HOME`.
fn add_job_user(dir: &Path, cluster_home: &Path, home: &Path) {
    let mut passwd: String = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            let home = home.to_str().unwrap();
            if fields.len() == 7 && fields[2] == "0" {
                fields[5] = home;
            }
            fields.join(":") + "\n"
        })
        .collect();
    passwd.push_str(&format!(
        "{JOB_USER}:x:{JOB_UID}:{JOB_UID}:rk README job:{}:/bin/sh\n",
        cluster_home.display()
    ));
    let copy = dir.join("passwd");
    std::fs::write(&copy, passwd).unwrap();
    set_mode(&copy, 0o644);
    run(Command::new("mount")
        .arg("--bind")
        .arg(&copy)
        .arg("/etc/passwd"))
    .assert_ok("bind-mount the job user's /etc/passwd");
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

/// Runs `cmd` on a pseudo-terminal, answering prompts like a user, until it exits. Returns its
/// exit status and everything the terminal showed.
fn run_on_terminal(
    cmd: Command,
    expected: &[String],
    limit: Duration,
) -> Result<(i32, String), String> {
    use rexpect::process::WaitStatus;
    let mut session = rexpect::session::spawn_with_options(
        cmd,
        rexpect::reader::Options::new().timeout_ms(Some(limit.as_millis() as u64)),
    )
    .map_err(|e| format!("spawn on a terminal: {e}"))?;
    let deadline = Instant::now() + limit;
    // rexpect hands over the terminal's bytes one `char` each.
    let mut transcript_bytes: Vec<u8> = Vec::new();
    let mut transcript = String::new();
    let mut last_output = Instant::now();
    let mut interrupted = false;
    let ctrl_c_at = expected.iter().position(|l| l == "^C");
    let mut answered_at = 0usize;
    let final_status;
    loop {
        let mut got = false;
        while let Some(c) = session.try_read() {
            transcript_bytes.push(c as u32 as u8);
            got = true;
        }
        if got {
            last_output = Instant::now();
            transcript = String::from_utf8_lossy(&transcript_bytes).into_owned();
        }
        // `status()` reaps the child, so the status seen here is the only one there is.
        let status = session.process().status();
        if !matches!(status, Some(WaitStatus::StillAlive) | None) {
            final_status = status;
            // Drain what is still in the pipe.
            std::thread::sleep(Duration::from_millis(50));
            while let Some(c) = session.try_read() {
                transcript_bytes.push(c as u32 as u8);
            }
            transcript = String::from_utf8_lossy(&transcript_bytes).into_owned();
            break;
        }
        let idle = last_output.elapsed();
        if idle > Duration::from_millis(300) && transcript.len() > answered_at {
            let last_line = transcript.rsplit('\n').next().unwrap_or("");
            if last_line.ends_with("(yes/no/once)? ") {
                session.send_line("yes").map_err(|e| e.to_string())?;
                answered_at = transcript.len();
            } else if last_line.ends_with(": ") {
                session.send_line("").map_err(|e| e.to_string())?;
                answered_at = transcript.len();
            } else if last_line.ends_with("? ") {
                return Err(format!("unexpected question:\n{transcript}"));
            }
        }
        if let Some(at) = ctrl_c_at
            && !interrupted
            && idle > Duration::from_millis(300)
            && matches(&expected[..at], &normalise_plain(&transcript))
        {
            // What the README shows before its `^C` has appeared: the user types Ctrl-C.
            session.send_control('c').map_err(|e| e.to_string())?;
            interrupted = true;
        }
        if Instant::now() > deadline {
            let _ = session
                .process_mut()
                .kill(rexpect::process::Signal::SIGKILL);
            return Err(format!(
                "still running after {} s; it printed:\n{transcript}",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = match final_status {
        Some(WaitStatus::Exited(_, code)) => code,
        Some(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
        other => return Err(format!("wait: {other:?}")),
    };
    Ok((status, transcript))
}

/// The lines a terminal would show: `\r` returns to the start of the line, `ESC[2K`/`ESC[K`
/// erase (progress spinners draw and erase themselves), other escape sequences are dropped.
fn screen_lines(transcript: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line: Vec<char> = Vec::new();
    let mut cursor = 0usize;
    let mut chars = transcript.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                lines.push(line.iter().collect::<String>());
                line.clear();
                cursor = 0;
            }
            '\r' => cursor = 0,
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    while let Some(&p) = chars.peek() {
                        chars.next();
                        if p.is_ascii_alphabetic() || p == '~' {
                            match (params.as_str(), p) {
                                ("2", 'K') => line.clear(),
                                ("" | "0", 'K') => line.truncate(cursor),
                                _ => {}
                            }
                            break;
                        }
                        params.push(p);
                    }
                }
            }
            c if c.is_control() => {}
            c => {
                if cursor < line.len() {
                    line[cursor] = c;
                } else {
                    line.resize(cursor, ' ');
                    line.push(c);
                }
                cursor += 1;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line.iter().collect());
    }
    lines
}

fn normalise_plain(transcript: &str) -> Vec<String> {
    let mut lines: Vec<String> = screen_lines(transcript)
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn normalise(transcript: &str, home: &Path) -> Vec<String> {
    normalise_plain(&transcript.replace(&home.display().to_string(), "/home/you"))
}

/// Does `actual` match the README's lines (`…` = any text, a line `...` = any lines)?
fn matches(expected: &[String], actual: &[String]) -> bool {
    let Some((first, rest)) = expected.split_first() else {
        return actual.is_empty();
    };
    if first == "..." {
        return (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]));
    }
    match actual.split_first() {
        Some((line, more)) => line_matches(first, line) && matches(rest, more),
        None => false,
    }
}

fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<String> = pattern.split('…').map(regex::escape).collect();
    let re = format!("^{}$", parts.join(".*"));
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(line))
}
