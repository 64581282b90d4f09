//! The flags every rk network tool takes for reaching the cluster (keys, jump hosts, ssh
//! config, host keys, the job log), as one clap group each tool flattens into its own command
//! line, and what they ask of [`Route::resolve`](crate::Route::resolve) and the connection.

use std::path::PathBuf;

use crate::options::{ConnectOptions, HostKeyPolicy};
use crate::route::RouteRequest;

#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Reaching the cluster")]
pub struct ConnectArgs {
    /// Private key (OpenSSH, .ppk, PEM); repeatable. Default: ~/.ssh/id_rsa, id_ed25519, id_ecdsa
    #[arg(short = 'i', value_name = "KEY")]
    pub identity: Vec<PathBuf>,

    /// Read the key's passphrase from the first line of FILE (for scripts)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Use keys whose files others can read (OpenSSH refuses them)
    #[arg(long)]
    pub allow_loose_key_permissions: bool,

    /// Do not use ssh-agent keys
    #[arg(long)]
    pub no_agent: bool,

    /// Offer only the keys given with -i or IdentityFile (the agent's only where it holds one
    /// of them), as ssh's IdentitiesOnly: a server that allows few attempts is not used up by
    /// the agent's other keys
    #[arg(long)]
    pub identities_only: bool,

    /// Reach DESTINATION through jump hosts, each a full SSH connection (host key checked,
    /// authenticated) carried over the previous one, as ssh -J. Comma-separated; `none`: direct.
    /// A hop without a user takes the destination's; without a port, 32100 then 22 for the
    /// first hop, 22 behind it
    #[arg(short = 'J', value_name = "[USER@]HOST[:PORT],...")]
    pub jump: Option<String>,

    /// Go on from the head node (the destination; default the saved job) to a compute node of
    /// the job, through it: `--node node2` = `-J HEAD node2`, as the job's user, port 22
    #[arg(long, value_name = "[USER@]NODE[:PORT]")]
    pub node: Option<String>,

    /// OpenSSH client config, read as ssh reads it (Host, Match, Include); default
    /// ~/.ssh/config; `none` reads none. Used: HostName, User, Port, IdentityFile, ProxyJump,
    /// ForwardAgent, LocalForward, RemoteForward, DynamicForward, ConnectTimeout,
    /// ServerAliveInterval, StrictHostKeyChecking, UserKnownHostsFile, GatewayPorts, RequestTTY,
    /// SessionType, EscapeChar, RekeyLimit, Ciphers, BatchMode, IdentitiesOnly, LogLevel
    #[arg(short = 'F', value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// An ssh config option for this run, before any file (so it wins), as ssh -o: e.g.
    /// -o ConnectTimeout=5, -o StrictHostKeyChecking=accept-new; repeatable
    #[arg(short = 'o', value_name = "KEYWORD=VALUE")]
    pub options: Vec<String>,

    /// known_hosts file (default ~/.ssh/known_hosts)
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,

    /// Never ask anything (host key, passphrase, password, login name): fail at once instead,
    /// for scripts (ssh's BatchMode yes)
    #[arg(long)]
    pub batch: bool,

    /// Trust and remember an unknown host key without asking (like StrictHostKeyChecking=accept-new)
    #[arg(long)]
    pub accept_new: bool,

    /// Read the destination from a job log (FILE, or - for stdin); for rk-cp, the job of job:PATH
    #[arg(long, value_name = "FILE")]
    pub from_log: Option<PathBuf>,

    /// With --from-log: accept a private/loopback address (VPN or on-premises clusters)
    #[arg(long)]
    pub allow_private: bool,

    /// Give up connecting after SECS (default 15; ConnectTimeout in ssh config)
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,

    /// Cipher, or a comma-separated list in preference order, as ssh -c (e.g.
    /// aes128-gcm@openssh.com, chacha20-poly1305@openssh.com)
    #[arg(short = 'c', value_name = "CIPHER")]
    pub cipher: Option<String>,
}

impl ConnectArgs {
    /// The route as these flags ask for it, to `destination` (None: the job log or the saved
    /// job); the tool adds what only it has (port, login name, agent forwarding).
    pub fn route_request(&self, destination: Option<String>) -> RouteRequest {
        RouteRequest {
            destination,
            from_log: self.from_log.clone(),
            allow_private: self.allow_private,
            identities: self.identity.clone(),
            jump: self.jump.clone(),
            node: self.node.clone(),
            ssh_config: self.ssh_config.clone(),
            options: self.options.clone(),
            ask_login: true,
            ..Default::default()
        }
    }

    /// The connection's options as these flags set them; the tool adds its own (timeouts,
    /// keepalive, `-q`).
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            known_hosts: self.known_hosts.clone(),
            host_keys: self.accept_new.then_some(HostKeyPolicy::AcceptNew),
            connect_timeout: self.connect_timeout,
            ciphers: self.cipher.clone(),
            batch: self.batch,
            identities_only: self.identities_only,
            no_agent: self.no_agent,
            allow_loose_key_permissions: self.allow_loose_key_permissions,
            passphrase_file: self.passphrase_file.clone(),
            ..Default::default()
        }
    }
}
