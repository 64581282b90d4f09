//! `rk-connect`: an SSH client for the platform's head nodes, on russh. The only rk crate with
//! tokio and russh; keys, known_hosts, destinations and job logs come from `rk-core`.

pub mod cli;
mod forward;
mod tty;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rk_core::destination::{self, Destination};
use rk_core::fingerprint::{self, FingerprintHash};
use rk_core::fs::display_path;
use rk_core::joblog::{self, ScanOptions};
use rk_core::keys::{self, KeyFile};
use rk_core::known_hosts::{self, HostKeyStatus};
use rk_core::platform::interrupt::Interrupt;
use rk_core::term::{self, Passphrase};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect, client};

use cli::Cli;

/// rk-connect's own failures end with 255, as ssh's do.
pub const EXIT_RK_ERROR: i32 = 255;

/// An error for the user: what went wrong and what to do next.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let cli = cli.normalise();
    // Ctrl-C at a passphrase prompt must not leave the terminal without echo.
    rk_core::interrupt::install();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rk-connect: cannot start: {e}");
            return EXIT_RK_ERROR;
        }
    };
    match runtime.block_on(connect_and_run(cli)) {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("rk-connect: {msg}");
            EXIT_RK_ERROR
        }
    }
}

/// `-v`: connection steps with the time since start.
struct Log {
    start: Instant,
    on: bool,
}

impl Log {
    fn step(&self, msg: impl AsRef<str>) {
        if self.on {
            eprintln!(
                "rk-connect [{:>7.3}s] {}",
                self.start.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }
}

async fn connect_and_run(cli: Cli) -> Result<i32, Failure> {
    let log = Log {
        start: Instant::now(),
        on: cli.verbose,
    };
    let local_forwards = cli
        .local_forward
        .iter()
        .map(|s| forward::parse_local(s))
        .collect::<Result<Vec<_>, _>>()?;
    let dynamic_forwards = cli
        .dynamic_forward
        .iter()
        .map(|s| forward::parse_dynamic(s))
        .collect::<Result<Vec<_>, _>>()?;
    if cli.no_command && local_forwards.is_empty() && dynamic_forwards.is_empty() {
        return Err(Failure(
            "-N keeps only forwards running: add -L PORT:HOST:HOSTPORT or -D PORT".into(),
        ));
    }
    let mut dest = resolve_destination(&cli, &log)?;
    let mut identity_paths = cli.identity.clone();
    apply_ssh_config(&cli, &mut dest, &mut identity_paths, &log);
    let user = choose_user(&cli, &dest)?;
    let identities = load_identities(&cli, &identity_paths)?;
    let known_hosts_path = match &cli.known_hosts {
        Some(p) => p.clone(),
        None => known_hosts::default_path()?,
    };

    let ports: Vec<u16> = match cli.port.or(dest.port) {
        Some(p) => vec![p],
        None => vec![32100, 22],
    };
    let (stream, port) = connect_tcp(&dest.host, &ports, &cli, &log).await?;
    if ports.len() > 1 {
        eprintln!("rk-connect: {} answered on port {port}.", dest.host);
    }

    let problem = Arc::new(Mutex::new(None));
    let handler = HostKeyCheck {
        host: dest.host.clone(),
        port,
        path: known_hosts_path,
        accept_new: cli.accept_new,
        insecure: cli.insecure_ignore_host_key,
        problem: Arc::clone(&problem),
        verbose: cli.verbose,
    };
    let config = Arc::new(client_config(&cli)?);
    let stream = tokio::io::BufReader::with_capacity(256 * 1024, QuickAck(stream));
    log.step("SSH handshake");
    // A server that accepts but never speaks SSH must not hang us: the handshake shares the
    // connect timeout.
    let handshake = client::connect_stream(config, stream, handler);
    let handshake =
        tokio::time::timeout(Duration::from_secs(cli.connect_timeout.max(1)), handshake);
    let mut handle = match handshake.await {
        Err(_) => {
            return Err(Failure(format!(
                "{}:{port} accepted the connection but did not answer as an SSH server within {} s: is this the cluster's SSH port (32100 or 22)?",
                dest.host, cli.connect_timeout
            )));
        }
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            if let Some(msg) = problem.lock().ok().and_then(|mut p| p.take()) {
                return Err(Failure(msg));
            }
            return Err(Failure(format!(
                "SSH handshake with {}:{port} failed: {e}",
                dest.host
            )));
        }
    };
    log.step("host key verified, keys exchanged");

    authenticate(&mut handle, &user, &identities, &cli, &dest, &log).await?;
    let handle = Arc::new(handle);

    // Listeners first: a port in use is an error before anything runs.
    for fwd in &local_forwards {
        let listener = forward::listen(&fwd.bind, fwd.port, cli.gateway_ports).await?;
        let local = listener.local_addr().map_err(|e| Failure(e.to_string()))?;
        eprintln!(
            "Forwarding {local} → {}:{} on the cluster{}",
            fwd.host,
            fwd.host_port,
            if cli.no_command {
                " (Ctrl-C to stop)"
            } else {
                ""
            }
        );
        tokio::spawn(forward::serve_local(
            listener,
            fwd.clone(),
            Arc::clone(&handle),
            cli.verbose,
        ));
    }
    for fwd in &dynamic_forwards {
        let listener = forward::listen(&fwd.bind, fwd.port, cli.gateway_ports).await?;
        let local = listener.local_addr().map_err(|e| Failure(e.to_string()))?;
        eprintln!(
            "SOCKS proxy on {local} through the cluster{}",
            if cli.no_command {
                " (Ctrl-C to stop)"
            } else {
                ""
            }
        );
        tokio::spawn(forward::serve_socks(
            listener,
            Arc::clone(&handle),
            cli.verbose,
        ));
    }

    let code = if cli.no_command {
        forwards_only(&handle, &dest).await
    } else {
        session(&handle, &cli, &dest, &log).await
    };
    let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
    log.step(format!("done, exit status {:?}", code.as_ref().ok()));
    code
}

fn client_config(cli: &Cli) -> Result<client::Config, Failure> {
    let mut preferred = russh::Preferred::default();
    let mut ciphers = vec![
        russh::cipher::AES_128_GCM,
        russh::cipher::AES_256_GCM,
        russh::cipher::CHACHA20_POLY1305,
        russh::cipher::AES_256_CTR,
        russh::cipher::AES_192_CTR,
        russh::cipher::AES_128_CTR,
    ];
    if let Some(name) = &cli.cipher {
        let wanted = russh::cipher::Name::try_from(name.as_str())
            .map_err(|_| Failure(format!("-c {name}: unknown cipher; try aes128-gcm@openssh.com or chacha20-poly1305@openssh.com")))?;
        ciphers = vec![wanted];
    }
    preferred.cipher = ciphers.into();
    let keepalive = (cli.keepalive > 0).then(|| Duration::from_secs(cli.keepalive));
    Ok(client::Config {
        preferred,
        nodelay: true,
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 256 * 1024,
        keepalive_interval: keepalive,
        keepalive_max: 3,
        inactivity_timeout: None,
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Where and as whom

fn resolve_destination(cli: &Cli, log: &Log) -> Result<Destination, Failure> {
    if let Some(src) = &cli.from_log {
        let options = ScanOptions {
            allow_private: cli.allow_private,
            ..Default::default()
        };
        let (found, what) = if src.as_os_str() == "-" {
            if !cli.no_command && cli.command.is_empty() {
                return Err(Failure(
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
            .map_err(|e| Failure(format!("cannot read the log from stdin: {e}")))?;
            (last, "standard input".to_string())
        } else {
            let mut file = std::fs::File::open(src)
                .map_err(|e| Failure(format!("cannot read {}: {e}", src.display())))?;
            let mut last = None;
            joblog::scan_reader(&mut file, options, &mut |f| {
                last = Some(f);
                true
            })
            .map_err(|e| Failure(format!("cannot read {}: {e}", src.display())))?;
            (last, src.display().to_string())
        };
        let found = found.ok_or_else(|| {
            Failure(format!(
                "{what} has no SSH connection message yet: the cluster may still be starting \
                 (wait for it: tail -f job.log | rk-parse-log --first)"
            ))
        })?;
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
            eprintln!("rk-connect: connecting to the saved job {} (from {}).", dest.display(), display_path(&path));
            Ok(dest)
        }
        None => Err(Failure(
            "no destination: give USER@HOST, or --from-log job.log, or save a job first with rk-parse-log --save job.log"
                .into(),
        )),
    }
}

/// A `Host` block of ~/.ssh/config (or -F FILE) supplies what the command line left open:
/// HostName, User, Port, IdentityFile — as with OpenSSH, the command line wins.
fn apply_ssh_config(cli: &Cli, dest: &mut Destination, identities: &mut Vec<PathBuf>, log: &Log) {
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

fn choose_user(cli: &Cli, dest: &Destination) -> Result<String, Failure> {
    if let Some(u) = cli.login.clone().or_else(|| dest.user.clone()) {
        if !joblog::is_valid_user(&u) {
            return Err(Failure(format!("{u:?} is not a valid user name")));
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
        return Err(Failure(format!(
            "{answer:?} is not a valid user name (the job's user looks like uprod_…)"
        )));
    }
    Ok(std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into()))
}

// ---------------------------------------------------------------------------------------------
// Keys

struct Identity {
    path: PathBuf,
    file: KeyFile,
}

impl Identity {
    /// The name a user recognises the key by: its comment, else its file.
    fn label(&self) -> String {
        let public = self.file.public_key();
        if !public.comment().is_empty() {
            return public.comment().as_str_lossy().to_string();
        }
        match keys::sibling_comment(&self.path, &public) {
            Some(comment) => comment.as_str_lossy().to_string(),
            None => display_path(&self.path),
        }
    }
}

fn load_identities(cli: &Cli, given: &[PathBuf]) -> Result<Vec<Identity>, Failure> {
    let explicit = !given.is_empty();
    let paths: Vec<PathBuf> = if explicit {
        given
            .iter()
            .map(|p| rk_core::fs::expand_tilde(&p.to_string_lossy()))
            .collect()
    } else {
        let dir = rk_core::fs::ssh_dir()?;
        ["id_rsa", "id_ed25519", "id_ecdsa"]
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect()
    };
    let mut out = Vec::new();
    for path in paths {
        if let Err(msg) = check_permissions(&path, cli.allow_loose_key_permissions) {
            if explicit {
                return Err(Failure(msg));
            }
            eprintln!(
                "rk-connect: {msg}\nrk-connect: skipping {}.",
                display_path(&path)
            );
            continue;
        }
        let file = keys::read_key_file(&path)?;
        if !file.is_private() {
            return Err(Failure(format!(
                "{} is a public key; -i needs the private key (the file without .pub)",
                display_path(&path)
            )));
        }
        out.push(Identity { path, file });
    }
    Ok(out)
}

/// OpenSSH refuses private keys that others can read; so does rk, with the fix in the message.
fn check_permissions(path: &Path, allow_loose: bool) -> Result<(), String> {
    let shown = display_path(path);
    let exposure = rk_core::platform::files::readable_by_others(path, &shown)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    match exposure {
        Some(exposure) if !allow_loose => Err(format!(
            "{}: a private key must be readable only by you. Fix it with: {} (or pass \
             --allow-loose-key-permissions)",
            exposure.problem, exposure.fix
        )),
        _ => Ok(()),
    }
}

fn unlock(id: &Identity, cli: &Cli) -> Result<Option<russh::keys::PrivateKey>, Failure> {
    if !id.file.is_encrypted() {
        return Ok(Some(id.file.decrypt(&id.path, None)?));
    }
    let prompt = format!(
        "Passphrase for key \"{}\" ({}): ",
        id.label(),
        display_path(&id.path)
    );
    if let Some(f) = &cli.passphrase_file {
        let pass = term::passphrase_from_file(f)?;
        return Ok(Some(id.file.decrypt(&id.path, Some(pass.as_bytes()))?));
    }
    if !term::have_tty() {
        eprintln!(
            "rk-connect: {} is encrypted and there is no terminal to ask for its passphrase (use --passphrase-file); skipping it.",
            display_path(&id.path)
        );
        return Ok(None);
    }
    for attempt in 0..3 {
        let pass: Passphrase = term::secret(&prompt)?;
        match id.file.decrypt(&id.path, Some(pass.as_bytes())) {
            Ok(k) => return Ok(Some(k)),
            Err(rk_core::Error::WrongPassphrase { .. }) if attempt < 2 => {
                eprintln!("Incorrect passphrase, try again.")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

async fn authenticate(
    handle: &mut client::Handle<HostKeyCheck>,
    user: &str,
    identities: &[Identity],
    cli: &Cli,
    dest: &Destination,
    log: &Log,
) -> Result<(), Failure> {
    // RSA keys sign with rsa-sha2-512/256, never SHA-1 (OpenSSH 8.8+ refuses ssh-rsa).
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
        .unwrap_or(HashAlg::Sha512);
    let hash_for = |key: &PublicKey| {
        matches!(key.algorithm(), russh::keys::Algorithm::Rsa { .. }).then_some(rsa_hash)
    };
    let mut tried = Vec::new();

    if !cli.no_agent && std::env::var_os("SSH_AUTH_SOCK").is_some() {
        match russh::keys::agent::client::AgentClient::connect_env().await {
            Ok(mut agent) => {
                let ids = agent.request_identities().await.unwrap_or_default();
                for id in ids {
                    let russh::keys::agent::AgentIdentity::PublicKey { key, comment } = id else {
                        continue;
                    };
                    log.step(format!(
                        "trying agent key {} ({comment})",
                        fingerprint::fingerprint(&key, FingerprintHash::Sha256)
                    ));
                    let hash = hash_for(&key);
                    match handle
                        .authenticate_publickey_with(user, key.clone(), hash, &mut agent)
                        .await
                    {
                        Ok(r) if r.success() => {
                            log.step("authenticated with an agent key");
                            return Ok(());
                        }
                        _ => tried.push(format!(
                            "{} (agent: {comment})",
                            fingerprint::fingerprint(&key, FingerprintHash::Sha256)
                        )),
                    }
                }
            }
            Err(e) => log.step(format!("ssh-agent not usable: {e}")),
        }
    }

    for id in identities {
        let Some(key) = unlock(id, cli)? else {
            continue;
        };
        let public = key.public_key().clone();
        let fp = fingerprint::fingerprint(&public, FingerprintHash::Sha256);
        log.step(format!("trying {} {fp}", display_path(&id.path)));
        let hash = hash_for(&public);
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| Failure(format!("authentication with {} failed: {e}", dest.host)))?;
        if result.success() {
            log.step(format!(
                "authenticated as {user} with {}",
                display_path(&id.path)
            ));
            return Ok(());
        }
        tried.push(format!("{fp} ({})", display_path(&id.path)));
    }
    if tried.is_empty() {
        return Err(Failure(
            "no usable key: make one with rk-keygen -b 4096, paste its public half (rk-copy-pubkey) into \
             Job Settings → SSH Public Key, and give it with -i if it is not in ~/.ssh"
                .into(),
        ));
    }
    Err(Failure(format!(
        "Permission denied (publickey) for {user}@{}: the server accepted none of the keys tried: {}. \
         Is this key's public half pasted into Job Settings → SSH Public Key *before* the job was submitted? \
         Is {user} the job's user (uprod_…) from the job log?",
        dest.host,
        tried.join(", ")
    )))
}

// ---------------------------------------------------------------------------------------------
// Connecting

async fn connect_tcp(
    host: &str,
    ports: &[u16],
    cli: &Cli,
    log: &Log,
) -> Result<(tokio::net::TcpStream, u16), Failure> {
    let per_try = if ports.len() > 1 {
        Duration::from_secs(cli.connect_timeout.clamp(1, 5))
    } else {
        Duration::from_secs(cli.connect_timeout.max(1))
    };
    let wait_until = cli.wait.map(|s| Instant::now() + Duration::from_secs(s));
    let mut backoff = Duration::from_millis(500);
    loop {
        let mut last_error = None;
        for &port in ports {
            log.step(format!("connecting to {host} port {port}"));
            match tokio::time::timeout(per_try, tokio::net::TcpStream::connect((host, port))).await
            {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    log.step("TCP connected");
                    return Ok((stream, port));
                }
                Ok(Err(e)) => last_error = Some((port, Some(e))),
                Err(_) => last_error = Some((port, None)),
            }
        }
        let (port, error) = last_error.expect("at least one port");
        let resolvable = !matches!(&error, Some(e) if e.kind() == std::io::ErrorKind::Other || e.to_string().contains("lookup"));
        if let Some(deadline) = wait_until.filter(|_| resolvable) {
            let now = Instant::now();
            if now < deadline {
                eprintln!(
                    "rk-connect: {host} does not accept connections yet; retrying ({} s left)…",
                    (deadline - now).as_secs()
                );
                tokio::time::sleep(backoff.min(deadline - now)).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        let tried = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(Failure(match error {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!(
                "connection refused by {host} (port {tried}): is the cluster running? the port is 32100 or 22 depending on the hardware; \
                 if the job just started, retry with --wait 300"
            ),
            Some(e) if !resolvable => {
                format!("cannot resolve {host}: {e}; check the address in the job log")
            }
            Some(e) => format!(
                "cannot connect to {host} port {port}: {e}. Is your address inside the job's Access Restriction (CIDR)? Is the port 32100 or 22?"
            ),
            None => format!(
                "connection to {host} (port {tried}) timed out: is your IP inside the job's CIDR restriction (Access Restriction)? \
                 is the port 32100 or 22? is the cluster still running?"
            ),
        }));
    }
}

/// The russh handler: host key verification against known_hosts.
pub(crate) struct HostKeyCheck {
    host: String,
    port: u16,
    path: PathBuf,
    accept_new: bool,
    insecure: bool,
    problem: Arc<Mutex<Option<String>>>,
    verbose: bool,
}

impl HostKeyCheck {
    fn refuse(&self, msg: String) -> bool {
        if let Ok(mut p) = self.problem.lock() {
            *p = Some(msg);
        }
        false
    }

    fn decide(&self, key: &PublicKey) -> bool {
        let name = known_hosts::host_name(&self.host, self.port);
        let fp = fingerprint::fingerprint(key, FingerprintHash::Sha256);
        let kind = fingerprint::type_label(key.key_data());
        let status = match known_hosts::check(&self.path, &self.host, self.port, key) {
            Ok(s) => s,
            Err(e) => return self.refuse(e.to_string()),
        };
        match status {
            HostKeyStatus::Known => {
                if self.verbose {
                    eprintln!("rk-connect: host key {kind} {fp} matches {}", display_path(&self.path));
                }
                true
            }
            _ if self.insecure => {
                eprintln!("rk-connect: WARNING: --insecure-ignore-host-key: NOT checking {name}'s host key ({kind} {fp}).");
                true
            }
            HostKeyStatus::Changed { path, line, known } => self.refuse(format!(
                "\n@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                 @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 The host key of {name} is now {kind} {fp}, but line {line} of {} records {}.\n\
                 Someone could be eavesdropping on you (a man-in-the-middle attack), or the address now \
                 belongs to a relaunched cluster with a new host key.\n\
                 If you know the cluster was relaunched, remove the old entry and connect again:\n  \
                 ssh-keygen -R '{name}' -f {}\nrk-connect refuses to connect.",
                display_path(&path),
                fingerprint::fingerprint(&known, FingerprintHash::Sha256),
                display_path(&path)
            )),
            HostKeyStatus::Revoked { path, line } => {
                self.refuse(format!("the host key of {name} ({kind} {fp}) is marked @revoked on line {line} of {}.", display_path(&path)))
            }
            HostKeyStatus::Unknown => {
                if self.accept_new {
                    return self.learn(key, &name, kind);
                }
                if !term::have_tty() {
                    return self.refuse(format!(
                        "the host key of {name} is not known ({kind} {fp}) and there is no terminal to ask. \
                         Connect once on a terminal to check it, or pass --accept-new to trust it on first use."
                    ));
                }
                let art = fingerprint::randomart(key, FingerprintHash::Sha256);
                let question = format!(
                    "The authenticity of host '{name}' can't be established.\r\n{kind} key fingerprint is {fp}.\r\n{}\r\n\
                     Are you sure you want to continue connecting (yes/no/once)? ",
                    art.replace('\n', "\r\n")
                );
                match term::ask_tty(&question).as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("yes" | "y") => self.learn(key, &name, kind),
                    Some("once") => true,
                    _ => self.refuse(format!("host key of {name} not trusted; nothing was sent.")),
                }
            }
        }
    }

    fn learn(&self, key: &PublicKey, name: &str, kind: &str) -> bool {
        match known_hosts::append(&self.path, &self.host, self.port, key) {
            Ok(()) => {
                eprintln!(
                    "rk-connect: Permanently added '{name}' ({kind}) to {}.",
                    display_path(&self.path)
                );
                true
            }
            Err(e) => self.refuse(format!("cannot remember the host key: {e}")),
        }
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match server_public_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => Ok(self.decide(key)),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => Ok(self.refuse(
                "the server presented a host certificate; rk-connect checks plain host keys only"
                    .into(),
            )),
        }
    }
}

/// The TCP stream with TCP_QUICKACK re-armed after every read. Linux turns quick ACKs off
/// after a while; then sshd's own Nagle meets our delayed ACK at channel open and costs ~40 ms
/// per round trip (measured: connect+exec 147 ms → ~105 ms).
struct QuickAck(tokio::net::TcpStream);

impl QuickAck {
    fn rearm(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on our own socket with a valid int option value.
            unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

impl tokio::io::AsyncRead for QuickAck {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let poll = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        if poll.is_ready() {
            self.rearm();
        }
        poll
    }
}

impl tokio::io::AsyncWrite for QuickAck {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

// ---------------------------------------------------------------------------------------------
// The session

/// Standard output/error written straight to the descriptor (no line buffering).
fn raw_out(fd: i32) -> std::mem::ManuallyDrop<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fds 1 and 2 stay open for the life of the process; ManuallyDrop never closes them.
    std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) })
}

fn signal_number(sig: &russh::Sig) -> i32 {
    use russh::Sig::*;
    match sig {
        ABRT => 6,
        ALRM => 14,
        FPE => 8,
        HUP => 1,
        ILL => 4,
        INT => 2,
        KILL => 9,
        PIPE => 13,
        QUIT => 3,
        SEGV => 11,
        TERM => 15,
        USR1 => 10,
        Custom(_) => 0,
    }
}

/// `-N`: keep the forwards until Ctrl-C (exit 0) or until the connection is gone (255).
async fn forwards_only(
    handle: &client::Handle<HostKeyCheck>,
    dest: &Destination,
) -> Result<i32, Failure> {
    rk_core::interrupt::defer_to_program(&[Interrupt::CtrlC, Interrupt::Terminate]);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => return Ok(0),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if handle.is_closed() {
                    return Err(Failure(format!(
                        "the connection to {} was lost (the cluster stopped, the network dropped, or no answer to keepalives); forwards closed",
                        dest.host
                    )));
                }
            }
        }
    }
}

async fn session(
    handle: &client::Handle<HostKeyCheck>,
    cli: &Cli,
    dest: &Destination,
    log: &Log,
) -> Result<i32, Failure> {
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| Failure(format!("cannot open a session: {e}")))?;
    let interactive = cli.command.is_empty();
    let want_pty = !cli.no_tty && (cli.tty || (interactive && tty::is_terminal(0)));
    if want_pty {
        let (cols, rows) = tty::window_size(1)
            .or_else(|| tty::window_size(0))
            .unwrap_or((80, 24));
        let term_name = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
        channel
            .request_pty(false, &term_name, cols, rows, 0, 0, &[])
            .await
            .map_err(|e| Failure(format!("cannot get a terminal on the cluster: {e}")))?;
    }
    if interactive {
        channel
            .request_shell(true)
            .await
            .map_err(|e| Failure(format!("cannot start a shell: {e}")))?;
        log.step("shell started");
    } else {
        let command = cli.command.join(" ");
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|e| Failure(format!("cannot run the command: {e}")))?;
        log.step(format!("exec {command:?}"));
    }
    // Raw mode only once the remote side is ready; restored when this guard drops, on every path.
    let _raw = if want_pty && tty::is_terminal(0) {
        tty::RawMode::enable(0)
    } else {
        None
    };

    let (mut reader, writer) = channel.split();

    // stdin on a thread with big reads (tokio's stdin hops through a pool 8 KiB at a time).
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });

    let mut winch = if want_pty {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok()
    } else {
        None
    };
    rk_core::interrupt::defer_to_program(&[Interrupt::Terminate, Interrupt::Hangup]);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();

    let mut out = raw_out(1);
    let mut err = raw_out(2);
    let mut stdin_open = true;
    let mut status = None;
    loop {
        tokio::select! {
            msg = reader.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    if out.write_all(&data).is_err() {
                        break;
                    }
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    let _ = err.write_all(&data);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => status = Some(exit_status as i32),
                Some(ChannelMsg::ExitSignal { signal_name, error_message, .. }) => {
                    if !error_message.is_empty() {
                        let _ = writeln!(err, "rk-connect: remote command killed: {error_message}");
                    }
                    status = Some(128 + signal_number(&signal_name));
                }
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
            chunk = rx.recv(), if stdin_open => match chunk {
                Some(data) => {
                    if writer.data_bytes(data).await.is_err() {
                        stdin_open = false;
                    }
                }
                None => {
                    stdin_open = false;
                    let _ = writer.eof().await;
                }
            },
            Some(()) = async { match winch.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                if let Some((cols, rows)) = tty::window_size(1).or_else(|| tty::window_size(0)) {
                    let _ = writer.window_change(cols, rows, 0, 0).await;
                }
            },
            Some(()) = async { match term.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                return Err(Failure("terminated".into()));
            },
            Some(()) = async { match hup.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                return Err(Failure("hang-up".into()));
            },
        }
    }
    drop(_raw);
    match status {
        Some(code) => Ok(code),
        None => Err(Failure(format!(
            "the connection to {} was lost before the {} finished (the cluster stopped, the network dropped, or \
             no answer to {} keepalives)",
            dest.host,
            if interactive { "session" } else { "command" },
            if cli.keepalive > 0 { "3" } else { "the" }
        ))),
    }
}
