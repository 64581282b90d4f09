//! `rk-parse-log`: the command around `rk_core::joblog`. Reads a job log from a file or a pipe
//! (or a live `tail -f`), prints the job's SSH destination in the format asked for.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rk_core::joblog::{self, CustomPattern, Found, ScanOptions, Scanner};

const AFTER_HELP: &str = "\
Examples:
  rk-parse-log job.log                       ssh://uprod_00Grm@3.80.3.168:32100
  tail -f job.log | rk-parse-log --first     wait for the cluster, print as soon as it is up
  rk-parse-log --format ssh -i ~/.ssh/id_rsa job.log
  rk-parse-log --format ssh-config -i ~/.ssh/id_rsa job.log >> ~/.ssh/config
  rk-parse-log --format ssh-config --nodes 'node*' job.log >> ~/.ssh/config
      then: ssh node2  (a compute node, through the head node; VS Code Remote-SSH too)
  eval \"$(rk-parse-log --format env job.log)\"; echo $RK_USER $RK_HOST $RK_PORT
  rk-parse-log --save job.log && rk-connect  (connect to the remembered job)
  rk-parse-log --format putty-session -i %USERPROFILE%\\.ssh\\id_rsa.ppk -L 8888:localhost:8888 job.log > rk-job.reg
      then: reg import rk-job.reg  (PuTTY now has a saved session \"rk-job\" with the key and the tunnel)
  Get-Content job.log -Wait | rk-parse-log --first      (PowerShell; UTF-16 logs are read too)

What counts: a user (uprod_..., or a name after username/user/login, or NAME@IP), a public IP
address (private, loopback, link-local and CGNAT addresses never win), and a port (port 32100,
Port: 22, -p 32100, IP:32100) if the log gives one. Fields combine within 4 lines of each other.
When the cluster was relaunched, the latest message wins (--all lists each).
Values are taken whole or not at all: `uprod_x$(id)` is no user, `3.80.3.168x` no address,
`32100abc` no port. Labels in English, Japanese, German and French are read (full-width
punctuation and digits too; the list is in the README), as are tables (`Username | Public IP |
Port` with the values below).
A message whose parts were refused (a private address, an invalid user, a bad port) is named
with its line and the reason, and the flag that accepts it if there is one.

Exit status:
  0  found
  1  not found (stderr says what was read, or which message was refused and why)
  2  error: unreadable file, bad --pattern, bad option";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// ssh://USER@HOST:PORT (what rk-connect accepts)
    Url,
    /// one JSON object per result: {"user","host","port","line"}
    Json,
    /// RK_USER=... RK_HOST=... RK_PORT=... (shell-quoted, for eval)
    Env,
    /// an OpenSSH command line
    Ssh,
    /// a Host block for ~/.ssh/config
    SshConfig,
    /// a PuTTY command line (Windows; plink takes the same options)
    Putty,
    /// a .reg file that creates a saved PuTTY session named --alias (import it with
    /// `reg import rk-job.reg`, or double-click it)
    PuttySession,
}

#[derive(Debug, Parser)]
#[command(
    name = "rk-parse-log",
    version,
    about = "Print the SSH user, public IP and port from a job log (file, pipe or live stream)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// The job log; '-' or nothing reads standard input
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Url)]
    pub format: Format,

    /// Print the first result the moment it appears and exit (for `tail -f job.log | ...`)
    #[arg(long, visible_alias = "follow", conflicts_with = "all")]
    pub first: bool,

    /// With --first: give up after SECS seconds without a result (exit 1)
    #[arg(long, value_name = "SECS", requires = "first")]
    pub timeout: Option<f64>,

    /// Print every connection message in order, not only the latest
    #[arg(long)]
    pub all: bool,

    /// Private key for the ssh, ssh-config and putty formats
    #[arg(long, short = 'i', value_name = "KEY")]
    pub identity: Option<String>,

    /// Host alias for --format ssh-config, session name for --format putty-session
    #[arg(long, default_value = "rk-job", value_name = "NAME")]
    pub alias: String,

    /// With --format ssh-config: also a Host block for the job's compute nodes, reached through
    /// the head node (ProxyJump), for host names matching PATTERNS (OpenSSH Host patterns,
    /// e.g. 'node*' or 'ip-10-*'; separated by spaces)
    #[arg(long, value_name = "PATTERNS", value_parser = parse_node_patterns)]
    pub nodes: Option<String>,

    /// A tunnel to add to the ssh, ssh-config, putty and putty-session formats:
    /// [BIND:]PORT:HOST:HOSTPORT, e.g. 8888:localhost:8888 for a notebook. Repeatable.
    #[arg(short = 'L', value_name = "[BIND:]PORT:HOST:HOSTPORT", value_parser = parse_forward)]
    pub forward: Vec<Forward>,

    /// Also remember the result for rk-connect ($XDG_STATE_HOME/rk/last-job; on Windows
    /// %LOCALAPPDATA%\rk\last-job)
    #[arg(long)]
    pub save: bool,

    /// Extra pattern for a differently worded log: a regex with named groups host (required),
    /// user and port, e.g. 'node (?P<host>\S+) user (?P<user>\w+)'. Repeatable.
    #[arg(long, value_name = "REGEX")]
    pub pattern: Vec<String>,

    /// Accept private/loopback addresses when the message has no public one (VPN, on-premises)
    #[arg(long)]
    pub allow_private: bool,

    /// The log's text encoding, when telling it from the bytes gets it wrong: utf-8, utf-16le,
    /// utf-16be, shift_jis (cp932), euc-jp, windows-1252 (default: a byte-order mark, else
    /// UTF-8 until a byte says otherwise, then Shift_JIS, EUC-JP or Windows-1252)
    #[arg(long, value_name = "NAME", value_parser = parse_encoding)]
    pub encoding: Option<&'static rk_core::joblog::Encoding>,
}

/// OpenSSH Host patterns for --nodes: words of letters, digits and `.-_*?!`, nothing that could
/// end the Host line or start another keyword.
fn parse_node_patterns(s: &str) -> Result<String, String> {
    let words: Vec<&str> = s.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let valid = |w: &&str| {
        w.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_*?!:".contains(c))
    };
    if words.is_empty() || !words.iter().all(valid) {
        return Err(format!(
            "{s:?}: give host name patterns such as 'node*' or 'ip-10-*' (letters, digits, . - _ * ? !)"
        ));
    }
    Ok(words.join(" "))
}

fn parse_encoding(name: &str) -> Result<&'static rk_core::joblog::Encoding, String> {
    rk_core::joblog::encoding(name).ok_or_else(|| {
        format!(
            "unknown encoding {name:?}: use utf-8, utf-16le, utf-16be, shift_jis, euc-jp or windows-1252"
        )
    })
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// What went wrong, with its exit code.
#[derive(Debug)]
pub enum Failure {
    NotFound(String),
    Error(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::NotFound(_) => 1,
            Failure::Error(_) => 2,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Failure::NotFound(m) | Failure::Error(m) => m,
        }
    }
}

/// How long a live stream may pause before a message that still lacks its port is printed
/// with what it has.
const IDLE_FLUSH: Duration = Duration::from_millis(200);

pub fn run(cli: Cli) -> Result<(), Failure> {
    if !cli
        .alias
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        || cli.alias.is_empty()
    {
        return Err(Failure::Error(format!(
            "--alias {:?}: use letters, digits, '-', '_' or '.'",
            cli.alias
        )));
    }
    let custom = cli
        .pattern
        .iter()
        .map(|p| CustomPattern::new(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Error)?;
    let options = ScanOptions {
        allow_private: cli.allow_private,
        encoding: cli.encoding,
        custom,
    };

    let (mut input, source): (Box<dyn Read + Send>, String) = match &cli.file {
        Some(p) if p.as_os_str() != "-" => {
            let f = File::open(p)
                .map_err(|e| Failure::Error(format!("cannot read {}: {e}", p.display())))?;
            (Box::new(f), p.display().to_string())
        }
        _ => {
            if io::stdin().is_terminal() {
                eprintln!(
                    "rk-parse-log: reading the job log from the terminal: paste it and press Ctrl-D,\n\
                     or give a file (rk-parse-log job.log) or a pipe (tail -f job.log | rk-parse-log --first)."
                );
            }
            (Box::new(io::stdin()), "standard input".to_string())
        }
    };

    let (results, lines, rejection) = if cli.first {
        let timeout = cli.timeout.map(|s| Duration::from_secs_f64(s.max(0.0)));
        first_result(input, options, timeout).map_err(|e| io_failure(&source, e))?
    } else {
        let mut all = Vec::new();
        let (lines, rejection) = joblog::scan_reader_report(&mut input, options, &mut |f| {
            all.push(f);
            true
        })
        .map_err(|e| io_failure(&source, e))?;
        (all, lines, rejection)
    };

    let chosen: Vec<&Found> = if cli.all {
        results.iter().collect()
    } else {
        results.last().into_iter().collect()
    };
    if chosen.is_empty() {
        // A message was there but refused: say what, where and why, not "wait for it".
        if let Some(rejection) = rejection {
            return Err(Failure::NotFound(rejection.to_string()));
        }
        let why = match (cli.first, cli.timeout) {
            (true, Some(t)) if lines > 0 || results.is_empty() => {
                format!(
                    "no SSH connection message within {t} s ({lines} lines read): the cluster may still be starting"
                )
            }
            _ => format!(
                "read {lines} line{} of {source}, no SSH connection message yet: the cluster may still be starting \
                 (wait for it with: tail -f job.log | rk-parse-log --first)",
                if lines == 1 { "" } else { "s" }
            ),
        };
        return Err(Failure::NotFound(why));
    }

    let mut out = String::new();
    for f in &chosen {
        out.push_str(&render(f, &cli));
        out.push('\n');
    }
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Failure::Error(format!("cannot write the result: {e}"))),
    }
    if matches!(
        cli.format,
        Format::Ssh | Format::Putty | Format::PuttySession
    ) && let Some(f) = chosen.last().filter(|f| f.port.is_none())
    {
        eprintln!(
            "rk-parse-log: the log gives no port for {}: the platform uses 32100 or 22 (rk-connect tries both).",
            f.host
        );
    }
    if matches!(cli.format, Format::Putty | Format::PuttySession) {
        match putty_key(&cli, false) {
            Some(k) if !k.ends_with(".ppk") => eprintln!(
                "rk-parse-log: PuTTY needs a .ppk key: convert yours with rk-keygen --export ppk -f KEY"
            ),
            None => eprintln!(
                "rk-parse-log: no PuTTY key given or found in ~/.ssh: add -i KEY.ppk (make one \
                 with rk-keygen --export ppk -f ~/.ssh/id_rsa)"
            ),
            Some(_) => {}
        }
    }
    if cli.format == Format::PuttySession && !cli.all && io::stdout().is_terminal() {
        eprintln!(
            "rk-parse-log: save this as {alias}.reg and import it with: reg import {alias}.reg",
            alias = cli.alias
        );
    }
    if cli.save {
        let last = chosen.last().expect("non-empty");
        let path = joblog::save_last_job(last).map_err(|e| Failure::Error(e.to_string()))?;
        eprintln!(
            "rk-parse-log: saved {} to {} for rk-connect.",
            last.to_url(),
            path.display()
        );
    }
    Ok(())
}

fn io_failure(source: &str, e: io::Error) -> Failure {
    Failure::Error(format!("cannot read {source}: {e}"))
}

/// `--first`: read on a thread so that a pause in a live stream can be noticed (to print a
/// message that lacks only its port) and `--timeout` can end the wait.
fn first_result(
    mut input: Box<dyn Read + Send>,
    options: ScanOptions,
    timeout: Option<Duration>,
) -> io::Result<(Vec<Found>, u64, Option<joblog::Rejection>)> {
    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; joblog::CHUNK];
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(Ok(buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut scanner = Scanner::new(options);
    let mut found: Option<Found> = None;
    let mut take = |f: Found| {
        found = Some(f);
        false
    };
    let mut flushed = true;
    loop {
        let wait = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                if flushed { left } else { left.min(IDLE_FLUSH) }
            }
            None if flushed => Duration::from_secs(3600),
            None => IDLE_FLUSH,
        };
        match rx.recv_timeout(wait) {
            Ok(Ok(data)) => {
                flushed = false;
                if !scanner.push(&data, &mut take) {
                    break;
                }
            }
            Ok(Err(e)) => return Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !flushed {
                    flushed = true;
                    if !scanner.flush_idle(&mut take) {
                        break;
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                scanner.finish(&mut take);
                break;
            }
        }
    }
    let lines = scanner.lines_read();
    let rejection = scanner.rejection().cloned();
    Ok((found.into_iter().collect(), lines, rejection))
}

/// Quotes a word for a POSIX shell (single quotes, unless it is plainly safe).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_-./:@%+=,".contains(&c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path for a shell: a leading `~/` stays unquoted so the shell expands it.
fn sh_path(p: &str) -> String {
    match p.strip_prefix("~/") {
        Some(rest) => format!("~/{}", sh_quote(rest)),
        None => sh_quote(p),
    }
}

/// A value for ~/.ssh/config (double-quoted if it has spaces).
fn config_value(s: &str) -> String {
    if s.contains([' ', '\t', '"']) {
        format!("\"{}\"", s.replace('"', ""))
    } else {
        s.to_string()
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A local forward, `[BIND:]PORT:HOST:HOSTPORT` as ssh -L takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub bind: Option<String>,
    pub port: u16,
    pub host: String,
    pub host_port: u16,
}

impl Forward {
    /// `[BIND:]PORT:HOST:HOSTPORT` again, as ssh and PuTTY's -L take it.
    /// `BIND:` when a bind address was given, else nothing.
    fn bind_prefix(&self) -> String {
        self.bind
            .as_ref()
            .map_or(String::new(), |b| format!("{b}:"))
    }

    fn spec(&self) -> String {
        let bind = self.bind_prefix();
        format!("{bind}{}:{}:{}", self.port, self.host, self.host_port)
    }
}

fn parse_forward(text: &str) -> Result<Forward, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (bind, rest) = match parts.len() {
        3 => (None, &parts[..]),
        4 => (Some(parts[0].to_string()), &parts[1..]),
        _ => return Err("expected [BIND:]PORT:HOST:HOSTPORT, e.g. 8888:localhost:8888".into()),
    };
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("{p:?} is not a port (1-65535)"))
    };
    let host = rest[1];
    let plain = |h: &str| {
        !h.is_empty()
            && !h.starts_with('-')
            && h.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
    };
    if !plain(host) || bind.as_deref().is_some_and(|b| !plain(b)) {
        return Err(format!(
            "{text:?}: host names are letters, digits, '.', '-' and '_'"
        ));
    }
    Ok(Forward {
        bind,
        port: port(rest[0])?,
        host: host.to_string(),
        host_port: port(rest[2])?,
    })
}

/// A string value in a .reg file.
fn reg_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A saved PuTTY session as a .reg file (CRLF lines, as regedit writes them).
fn putty_session(f: &Found, cli: &Cli) -> String {
    let mut lines = vec![
        "Windows Registry Editor Version 5.00".to_string(),
        String::new(),
        format!(
            "[HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\{}]",
            cli.alias
        ),
        format!("\"HostName\"={}", reg_string(&f.host)),
        format!("\"UserName\"={}", reg_string(&f.user)),
        "\"Protocol\"=\"ssh\"".to_string(),
        format!("\"PortNumber\"=dword:{:08x}", f.port.unwrap_or(22)),
    ];
    if let Some(key) = putty_key(cli, true) {
        lines.push(format!("\"PublicKeyFile\"={}", reg_string(&key)));
    }
    if !cli.forward.is_empty() {
        // PuTTY's own form: L[BIND:]PORT=HOST:HOSTPORT, comma-separated.
        let forwards: Vec<String> = cli
            .forward
            .iter()
            .map(|fw| {
                let bind = fw.bind_prefix();
                format!("L{bind}{}={}:{}", fw.port, fw.host, fw.host_port)
            })
            .collect();
        lines.push(format!(
            "\"PortForwardings\"={}",
            reg_string(&forwards.join(","))
        ));
    }
    // The caller ends the last line with "\n".
    lines.join("\r\n") + "\r"
}

/// The key for the PuTTY formats: -i (made absolute for a saved session, which PuTTY opens
/// from wherever it was started), else the first `.ppk` of the usual names in ~/.ssh.
fn putty_key(cli: &Cli, absolute: bool) -> Option<String> {
    match &cli.identity {
        Some(k) if !absolute => Some(k.clone()),
        Some(k) => {
            let path = rk_core::fs::expand_tilde(k);
            Some(
                std::path::absolute(&path)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
            )
        }
        None => {
            let dir = rk_core::fs::ssh_dir().ok()?;
            ["id_ed25519.ppk", "id_rsa.ppk", "id_ecdsa.ppk"]
                .iter()
                .map(|name| dir.join(name))
                .find(|p| p.is_file())
                .map(|p| p.display().to_string())
        }
    }
}

/// One result in the requested format (no trailing newline).
pub fn render(f: &Found, cli: &Cli) -> String {
    match cli.format {
        Format::Url => f.to_url(),
        Format::Json => format!(
            "{{\"user\":{},\"host\":{},\"port\":{},\"line\":{}}}",
            json_string(&f.user),
            json_string(&f.host),
            f.port.map_or("null".to_string(), |p| p.to_string()),
            f.line
        ),
        Format::Env => format!(
            "RK_USER={} RK_HOST={} RK_PORT={}",
            sh_quote(&f.user),
            sh_quote(&f.host),
            sh_quote(&f.port.map(|p| p.to_string()).unwrap_or_default())
        ),
        Format::Ssh => {
            let mut words = vec!["ssh".to_string()];
            if let Some(p) = f.port {
                words.push(format!("-p {p}"));
            }
            if let Some(k) = &cli.identity {
                words.push(format!("-i {}", sh_path(k)));
            }
            for fw in &cli.forward {
                words.push(format!("-L {}", fw.spec()));
            }
            words.push(sh_quote(&format!("{}@{}", f.user, f.host)));
            words.join(" ")
        }
        Format::SshConfig => {
            let mut block = format!(
                "Host {}\n    HostName {}\n    User {}\n",
                cli.alias, f.host, f.user
            );
            if let Some(p) = f.port {
                block.push_str(&format!("    Port {p}\n"));
            }
            // IdentitiesOnly: with many keys in an agent, sshd's few allowed attempts would
            // otherwise be used up before this key is offered ("Too many authentication
            // failures"); the agent still signs if it holds this key.
            if let Some(k) = &cli.identity {
                block.push_str(&format!(
                    "    IdentityFile {}\n    IdentitiesOnly yes\n",
                    config_value(k)
                ));
            }
            for fw in &cli.forward {
                let bind = fw.bind_prefix();
                block.push_str(&format!(
                    "    LocalForward {bind}{} {}:{}\n",
                    fw.port, fw.host, fw.host_port
                ));
            }
            if let Some(patterns) = &cli.nodes {
                // The head node itself never jumps, even if a pattern matches its alias.
                block.push_str("    ProxyJump none\n");
                block.push_str(&format!(
                    "\n# The job's compute nodes, through its head node: ssh NODE\nHost {patterns}\n    User {}\n    ProxyJump {}\n",
                    f.user, cli.alias
                ));
                if let Some(k) = &cli.identity {
                    block.push_str(&format!(
                        "    IdentityFile {}\n    IdentitiesOnly yes\n",
                        config_value(k)
                    ));
                }
            }
            block.trim_end().to_string()
        }
        Format::Putty => {
            let mut words = vec!["putty -ssh".to_string()];
            if let Some(p) = f.port {
                words.push(format!("-P {p}"));
            }
            if let Some(k) = putty_key(cli, false) {
                words.push(if k.contains(' ') {
                    format!("-i \"{k}\"")
                } else {
                    format!("-i {k}")
                });
            }
            for fw in &cli.forward {
                words.push(format!("-L {}", fw.spec()));
            }
            words.push(format!("{}@{}", f.user, f.host));
            words.join(" ")
        }
        Format::PuttySession => putty_session(f, cli),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("uprod_x"), "uprod_x");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_path("~/my keys/id"), "~/'my keys/id'");
    }
}
