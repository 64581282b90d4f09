//! The command line of `rk-connect`: OpenSSH's flags where they exist, plus the platform's
//! workflow (job logs, port 32100 or 22, waiting for the cluster).

use clap::Parser;

const AFTER_HELP: &str = "\
Examples:
  rk-connect uprod_00Grm@3.80.3.168            shell on the head node (tries port 32100, then 22)
  rk-connect ssh://uprod_00Grm@3.80.3.168:32100  the form rk-parse-log prints
  rk-connect --from-log job.log                 read user, address and port from the job log
  rk-parse-log --save job.log && rk-connect     connect to the remembered job
  rk-connect DEST -- nvidia-smi                 run one command, exit with its status
  rk-connect --wait 300 --from-log job.log      wait until the head node accepts connections
  rk-connect rk-job                             a Host block in ~/.ssh/config (rk-parse-log --format ssh-config)
  rk-connect -N -L 8888:localhost:8888 DEST     reach a server on the cluster at localhost:8888
  rk-connect -N -D 1080 DEST                    a SOCKS proxy for web UIs on the compute nodes
  rk-connect -f -N -L 8888:localhost:8888 DEST  the same tunnel in the background; the prompt returns
  rk-connect -N -R 27000:licence.example.org:27000 DEST   the cluster reaches your licence server
  rk-connect --node node2                       a compute node of the saved job, through its head node
  rk-connect -J uprod_00Grm@3.80.3.168 node2 -- nvidia-smi   the same with ssh's -J
  rk-connect -A DEST -- git pull                use your local agent's keys on the cluster

Host keys are checked against ~/.ssh/known_hosts ([host]:port entries for ports other than 22).
An unknown host is shown with its fingerprint and you are asked; without a terminal it is
refused unless --accept-new. A changed host key is always refused. Every jump host and node
is checked the same way, each under its own [host]:port entry.

Authentication: keys from your ssh-agent (unless --no-agent), then -i files or ~/.ssh/id_*;
if the server accepts passwords or one-time codes, you are asked on the terminal (never echoed,
3 tries).

Exit status:
  the remote command's status (128+N if it died of signal N)
  255  rk-connect's own error: connection, host key, authentication";

#[derive(Debug, Parser)]
#[command(
    name = "rk-connect",
    version,
    about = "Log in to your cluster's head node over SSH: shell or command, host-key checked",
    after_help = AFTER_HELP,
    trailing_var_arg = true
)]
pub struct Cli {
    /// USER@HOST, ssh://USER@HOST:PORT, or HOST; omitted: the job saved by rk-parse-log --save
    #[arg(value_name = "DESTINATION")]
    pub destination: Option<String>,

    /// Command to run instead of a shell (after DESTINATION, or after --)
    #[arg(value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: Vec<String>,

    /// Port (default: the destination's, else 32100 then 22)
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<u16>,

    /// User to log in as
    #[arg(short = 'l', value_name = "USER")]
    pub login: Option<String>,

    /// Forward your ssh-agent to the destination, so git/ssh there use your local keys.
    /// WARNING: whoever is root on the remote host can use your keys while you are connected;
    /// forward only to hosts you trust
    #[arg(short = 'A', conflicts_with = "no_forward_agent")]
    pub forward_agent: bool,

    /// Do not forward the agent, even if ~/.ssh/config says ForwardAgent yes
    #[arg(short = 'a')]
    pub no_forward_agent: bool,

    /// DANGEROUS: accept any host key, even a changed one (throwaway test machines only)
    #[arg(long)]
    pub insecure_ignore_host_key: bool,

    /// Keep retrying refused or unreachable connections for up to SECS (the head node may not
    /// accept connections yet when the log line appears)
    #[arg(long, value_name = "SECS")]
    pub wait: Option<u64>,

    /// Keepalive interval; the session ends after 3 unanswered (default 30, 0 = off;
    /// ServerAliveInterval in ssh config)
    #[arg(long, value_name = "SECS")]
    pub keepalive: Option<u64>,

    /// Re-key after this much data each way, as ssh's RekeyLimit (K, M or G suffix; default 1G)
    #[arg(long, value_name = "SIZE", value_parser = rk_ssh::parse_size)]
    pub rekey_limit: Option<usize>,

    /// Force a pseudo-terminal for a command
    #[arg(short = 't', conflicts_with = "no_tty")]
    pub tty: bool,

    /// Never request a pseudo-terminal
    #[arg(short = 'T')]
    pub no_tty: bool,

    /// No command and no shell: only the forwards, until Ctrl-C
    #[arg(short = 'N')]
    pub no_command: bool,

    /// Go to the background once logged in and every -L/-D/-R forward is up (a forward that
    /// fails is an error first), as ssh -f; needs -N or a command. Says which process to stop
    /// (kill PID; Stop-Process -Id PID on Windows)
    #[arg(short = 'f')]
    pub background: bool,

    /// Join standard input and output to HOST:PORT as reached from the destination, as ssh -W:
    /// rk-connect as the ProxyCommand of OpenSSH, VS Code or git (implies -N, no forwards)
    #[arg(short = 'W', value_name = "HOST:PORT", conflicts_with_all = ["command", "reconnect"])]
    pub stdio_forward: Option<String>,

    /// With -N: when the connection is lost (network change, sleep, the cluster's sshd
    /// restarting), keep the local ports and reconnect with backoff, checking the host key
    /// again; Ctrl-C stops
    #[arg(long)]
    pub reconnect: bool,

    /// Local forward [BIND:]PORT:HOST:HOSTPORT: connections to PORT here reach HOST:HOSTPORT as
    /// seen from the head node (e.g. -L 8888:localhost:8888 for a notebook). PORT 0 picks one.
    #[arg(short = 'L', value_name = "[BIND:]PORT:HOST:HOSTPORT")]
    pub local_forward: Vec<String>,

    /// Remote forward [BIND:]PORT:HOST:HOSTPORT: the cluster listens on PORT (its loopback
    /// unless BIND) and its connections reach HOST:HOSTPORT as seen from here (e.g. a licence
    /// server on your network). PORT 0: the cluster picks one and rk prints it
    #[arg(short = 'R', value_name = "[BIND:]PORT:HOST:HOSTPORT")]
    pub remote_forward: Vec<String>,

    /// SOCKS5/SOCKS4a proxy on [BIND:]PORT through the cluster (PuTTY's "Dynamic")
    #[arg(short = 'D', value_name = "[BIND:]PORT")]
    pub dynamic_forward: Vec<String>,

    /// Let other machines use the forwarded ports (default: only this machine, 127.0.0.1)
    #[arg(short = 'g', long = "gateway-ports")]
    pub gateway_ports: bool,

    /// Escape character of an interactive session (default ~; `none` disables): after a newline,
    /// ~. disconnects, ~? lists the escapes, ~# the forwards and connections, ~C opens a command
    /// line to add or cancel forwards (-L, -R, -D, -KL, -KR, -KD as ssh), ~~ sends a ~
    #[arg(short = 'e', value_name = "CHAR|none")]
    pub escape_char: Option<String>,

    /// Log the connection steps with timestamps to stderr
    #[arg(short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,

    /// Quiet: no informational messages (which port answered, a host key remembered, forwards
    /// opened, the saved job used); warnings and errors are still shown. LogLevel QUIET in ssh
    /// config
    #[arg(short = 'q')]
    pub quiet: bool,

    /// Print what rk-connect would use for the destination after ~/.ssh/config (or -F) is
    /// applied (user, hostname, port, identityfile, proxyjump, forwardagent, the options of -F,
    /// forwards), one "keyword value" line each as ssh -G does, and exit without connecting
    #[arg(short = 'G')]
    pub print_config: bool,

    /// How to reach the cluster: keys, jump hosts, ssh config, host keys (shared with rk-cp)
    #[command(flatten)]
    pub connect: rk_ssh::ConnectArgs,
}

impl Cli {
    /// Parses the command line. As with `ssh`, words after `--` are the command — and when
    /// `--` comes before any DESTINATION (`rk-connect -- nvidia-smi`), the destination is the
    /// saved job, not the first word of the command.
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::FromArgMatches;
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let matches = command().try_get_matches_from(&args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let dash_dash = args.iter().skip(1).position(|a| a == "--").map(|i| i + 1);
        if let (Some(dd), Some(dest)) = (dash_dash, matches.index_of("destination"))
            // clap does not count the `--` itself in its indices.
            && dest >= dd
            && let Some(first) = cli.destination.take()
        {
            cli.command.insert(0, first);
        }
        Ok(cli)
    }

    /// With --from-log there is no DESTINATION: the first positional word starts the command.
    pub fn normalise(mut self) -> Self {
        if self.connect.from_log.is_some()
            && let Some(first) = self.destination.take()
        {
            self.command.insert(0, first);
        }
        self
    }
}

/// What `-V` says. Tools that run "ssh" check it: VS Code Remote-SSH runs `PATH -V`, wants exit
/// status 0 and looks for "OpenSSH" in what it printed (its logs show `Checking ssh with "…
/// -V"` then the line, microsoft/vscode-remote-release#2189 and #8292), and prefers a client
/// whose line is not `OpenSSH_for_Windows` (microsoft/vscode-docs#3465). So the line says what
/// rk-connect is and which OpenSSH command line it follows.
pub fn version_line() -> String {
    format!(
        "rk-connect {} (rk; not OpenSSH: the command line of OpenSSH_{OPENSSH_FOLLOWED} ssh, SSH by russh)",
        env!("CARGO_PKG_VERSION")
    )
}

/// The OpenSSH release whose ssh flags and config keywords rk-connect's follow (those it has).
pub const OPENSSH_FOLLOWED: &str = "9.2";

/// `-V` prints on stderr, as ssh does (tools read it there); `--version` on stdout, as Rust
/// tools do.
pub fn print_version(on_stdout: bool) {
    if on_stdout {
        println!("{}", version_line());
    } else {
        eprintln!("{}", version_line());
    }
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::Cli;

    fn parse(args: &[&str]) -> Cli {
        Cli::parse_args(std::iter::once("rk-connect").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn words_after_a_leading_double_dash_are_the_command() {
        let cli = parse(&["--", "nvidia-smi", "-L"]);
        assert_eq!(cli.destination, None);
        assert_eq!(cli.command, ["nvidia-smi", "-L"]);
        let cli = parse(&["-v", "--", "whoami"]);
        assert_eq!(cli.destination, None);
        assert_eq!(cli.command, ["whoami"]);
    }

    #[test]
    fn destination_before_double_dash_stays_the_destination() {
        let cli = parse(&["u@h", "--", "ls", "-l"]);
        assert_eq!(cli.destination.as_deref(), Some("u@h"));
        assert_eq!(cli.command, ["ls", "-l"]);
        let cli = parse(&["u@h", "ls"]);
        assert_eq!(cli.destination.as_deref(), Some("u@h"));
        assert_eq!(cli.command, ["ls"]);
        let cli = parse(&["-p", "22", "u@h"]);
        assert_eq!(cli.destination.as_deref(), Some("u@h"));
    }
}
