//! Where to connect and as whom: a destination given on the command line, read from a job
//! log, remembered by `rk-parse-log --save`, or a Host block of ~/.ssh/config.

use std::path::PathBuf;

use rk_core::destination::{self, Destination};
use rk_core::fs::display_path;
use rk_core::joblog::{self, ScanOptions};
use rk_core::term;

use crate::cli::Cli;
use crate::tty;
use crate::{Error, Log};

pub(crate) fn resolve_destination(cli: &Cli, log: &Log) -> Result<Destination, Error> {
    if let Some(src) = &cli.from_log {
        let options = ScanOptions {
            allow_private: cli.allow_private,
            ..Default::default()
        };
        let (found, what) = if src.as_os_str() == "-" {
            if !cli.no_command && cli.command.is_empty() {
                return Err(Error::Usage(
                    "--from-log - reads the log from stdin, so stdin cannot also be your shell: \
                     add a command or -N, or give the log as a file."
                        .into(),
                ));
            }
            let mut last = None;
            joblog::scan_reader(&mut std::io::stdin().lock(), options, &mut |f| {
                last = Some(f);
                true
            })
            .map_err(|error| Error::ReadLog {
                what: "the log from stdin".into(),
                error,
            })?;
            (last, "standard input".to_string())
        } else {
            let read_error = |error| Error::ReadLog {
                what: src.display().to_string(),
                error,
            };
            let mut file = std::fs::File::open(src).map_err(read_error)?;
            let mut last = None;
            joblog::scan_reader(&mut file, options, &mut |f| {
                last = Some(f);
                true
            })
            .map_err(read_error)?;
            (last, src.display().to_string())
        };
        let found = found.ok_or(Error::NoConnectionMessage { what })?;
        log.step(format!(
            "from the log (line {}): {}",
            found.line,
            found.to_url()
        ));
        return Ok(Destination {
            user: Some(found.user),
            host: found.host,
            port: found.port,
        });
    }
    if let Some(d) = &cli.destination {
        return Ok(destination::parse(d)?);
    }
    match destination::saved_job()? {
        Some((dest, path)) => {
            eprintln!(
                "rk-connect: connecting to the saved job {} (from {}).",
                dest.display(),
                display_path(&path)
            );
            Ok(dest)
        }
        None => Err(Error::NoDestination),
    }
}

/// A `Host` block of ~/.ssh/config (or -F FILE) supplies what the command line left open:
/// HostName, User, Port, IdentityFile — as with OpenSSH, the command line wins.
pub(crate) fn apply_ssh_config(
    cli: &Cli,
    dest: &mut Destination,
    identities: &mut Vec<PathBuf>,
    log: &Log,
) {
    let path = match &cli.ssh_config {
        Some(p) => p.clone(),
        None => match rk_core::fs::ssh_dir() {
            Ok(d) => d.join("config"),
            Err(_) => return,
        },
    };
    let Ok(file) = std::fs::File::open(&path) else {
        return;
    };
    use ssh2_config::{ParseRule, SshConfig};
    let rules = ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS;
    let config = match SshConfig::default().parse(&mut std::io::BufReader::new(file), rules) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rk-connect: ignoring {}: {e}", display_path(&path));
            return;
        }
    };
    let params = config.query(&dest.host);
    if let Some(name) = params
        .host_name
        .filter(|h| !h.is_empty() && !h.contains('%'))
    {
        log.step(format!(
            "{}: Host {} → HostName {name}",
            display_path(&path),
            dest.host
        ));
        dest.host = name;
    }
    if dest.user.is_none() {
        dest.user = params.user;
    }
    if dest.port.is_none() && cli.port.is_none() {
        dest.port = params.port;
    }
    if identities.is_empty()
        && let Some(files) = params.identity_file
    {
        identities.extend(files);
    }
}

pub(crate) fn choose_user(cli: &Cli, dest: &Destination) -> Result<String, Error> {
    if let Some(u) = cli.login.clone().or_else(|| dest.user.clone()) {
        if !joblog::is_valid_user(&u) {
            return Err(Error::Usage(format!("{u:?} is not a valid user name")));
        }
        return Ok(u);
    }
    // PuTTY's prompt, when there is someone to ask.
    if tty::is_terminal(0)
        && let Some(answer) = term::ask_tty("login as: ")
    {
        if joblog::is_valid_user(&answer) {
            return Ok(answer);
        }
        return Err(Error::Usage(format!(
            "{answer:?} is not a valid user name (the job's user looks like uprod_…)"
        )));
    }
    Ok(std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into()))
}
