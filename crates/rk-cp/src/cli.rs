//! The command line of `rk-cp`: scp's shape and flags, plus rk-connect's ways of naming the
//! cluster (the saved job, `--from-log`, `--node`).

use clap::Parser;

const AFTER_HELP: &str = "\
A remote side is HOST:PATH, USER@HOST:PATH, an ssh config alias (rk-job:results/), or job:PATH
for the job saved by rk-parse-log --save (--from-log FILE: that log's job). Anything else is a
local path (on Windows, C:\\data and \\\\server\\share are local). A relative remote path starts
in your home folder on the cluster; ~/ means the same.

Safe and resumable: a file is written under a temporary name beside the target
(.NAME.rk-part) and renamed into place once whole, so an interrupted copy never leaves a
truncated file under the real name and never destroys the old target. Run the same command
again to continue: a partial file whose last bytes match the source is continued, else it
starts over (--no-resume: always start over).

Fast: several SFTP channels over one login (-n), many large requests in flight on each.

Examples:
  rk-cp job:results/out.h5 .                 fetch one result file
  rk-cp -r job:results ./results             fetch a whole folder
  rk-cp 'job:out/*.h5' data/                 fetch what a remote pattern matches
  rk-cp input.deck run.sh job:               push inputs to your home folder
  rk-cp -r inputs uprod_00Grm@3.80.3.168:case1/   to an address from the job log
  rk-cp --node node2 job:/scratch/log.txt .  from a compute node, through the head node
  rk-cp --verify job:big.tar .               and check SHA-256 on both sides
  rk-cp --reconnect -r job:results .         keep going across a dropped link

Exit status:
  0    everything was copied
  1    some files were not copied (each named, with why), or the arguments cannot work
  255  the connection or the login failed (nothing was copied), or the connection was lost
       during the copy (unfinished files are kept for the next run)";

#[derive(Debug, Parser)]
#[command(
    name = "rk-cp",
    version,
    about = "Copy files to and from your cluster over SFTP: safe, resumable, verified, parallel",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Sources, then the target: local paths, or HOST:PATH / USER@HOST:PATH / job:PATH
    #[arg(value_name = "PATH", required = true, num_args = 2..)]
    pub paths: Vec<String>,

    /// Copy folders and everything in them (symbolic links inside are skipped, with a note)
    #[arg(short = 'r')]
    pub recursive: bool,

    /// Keep modification times and permission bits
    #[arg(short = 'p')]
    pub preserve: bool,

    /// Port of the cluster (default: the destination's, else 32100 then 22)
    #[arg(short = 'P', value_name = "PORT")]
    pub port: Option<u16>,

    /// SFTP channels over the one login (files in parallel, a big upload in segments); sshd
    /// allows 10 sessions per login by default
    #[arg(short = 'n', long = "channels", value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub channels: u16,

    /// Logins to spread the channels over (opt-in: each login may ask for a password or code
    /// again); helps where the server's one process per login is the limit
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,

    /// When the connection is lost, log in again (waiting 1 s, 2 s, 4 s ... up to 30 s between
    /// tries) and continue where the copy stopped; Ctrl-C to stop
    #[arg(long)]
    pub reconnect: bool,

    /// Continue partial files left by an interrupted run (the default; for scripts that say so)
    #[arg(long, overrides_with = "no_resume")]
    pub resume: bool,

    /// Always start partial files over instead of continuing them
    #[arg(long, overrides_with = "resume")]
    pub no_resume: bool,

    /// Check each copied file with SHA-256 on both sides (the server needs sha256sum or shasum)
    #[arg(long)]
    pub verify: bool,

    /// Log the connection steps with timestamps to stderr
    #[arg(short = 'v', conflicts_with = "quiet")]
    pub verbose: bool,

    /// Quiet: no progress and no notices; warnings and errors are still shown
    #[arg(short = 'q')]
    pub quiet: bool,

    /// How to reach the cluster: keys, jump hosts, ssh config, host keys (as rk-connect)
    #[command(flatten)]
    pub connect: rk_ssh::ConnectArgs,
}

impl Cli {
    pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Cli::try_parse_from(args)
    }
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
