//! The command line of `rk-keygen`: ssh-keygen's flags, with help that teaches.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  rk-keygen -b 4096                 RSA 4096-bit key at ~/.ssh/id_rsa (the platform's recommendation)
  rk-keygen -t ed25519              Ed25519 key at ~/.ssh/id_ed25519
  rk-keygen --format both           also write ~/.ssh/id_rsa.ppk for PuTTY
  rk-keygen -l -v -f ~/.ssh/id_rsa.pub    fingerprint and randomart
  rk-keygen -y -f ~/.ssh/id_rsa     print the public key of a private key
  rk-keygen -p -f ~/.ssh/id_rsa     change a key's passphrase
  rk-keygen --export ppk -f ~/.ssh/id_rsa   convert a key for PuTTY

Next step: rk-copy-pubkey puts the public key on the clipboard; paste it into
Job Settings -> SSH Public Key.

Exit status:
  0  success
  1  refused or declined: bad option, file exists, wrong passphrase, not a key
  2  I/O or internal error
  130  interrupted (Ctrl-C at a prompt); nothing was changed";

/// Which files a new key is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// OpenSSH private key + .pub (what ssh and rk-connect use)
    Openssh,
    /// PuTTY .ppk (v3) + .pub
    Ppk,
    /// OpenSSH private key, .pub and .ppk
    Both,
}

impl Format {
    /// What a new key is written as when --format is not given: on Windows, where PuTTY is the
    /// usual client, the `.ppk` too.
    pub const DEFAULT: Format = if rk_core::platform::paths::PUTTY_IS_USUAL {
        Format::Both
    } else {
        Format::Openssh
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// PuTTY .ppk version 3
    Ppk,
}

#[derive(Debug, Parser)]
#[command(
    name = "rk-keygen",
    version,
    about = "Make an SSH key pair for your cluster (ssh-keygen compatible), or inspect one",
    long_about = "Make an SSH key pair for your cluster, or inspect and convert an existing key.\n\n\
        With no options rk-keygen makes an RSA 4096-bit key at ~/.ssh/id_rsa and ~/.ssh/id_rsa.pub, \
        asking for a passphrase on the terminal. Its flags and output follow ssh-keygen. It reads \
        OpenSSH keys, PuTTY .ppk (v2, v3), PEM RSA keys and RFC 4716 public keys.",
    after_help = AFTER_HELP,
    disable_help_flag = true
)]
pub struct Cli {
    /// Key type to make: rsa (default), ed25519 or ecdsa
    #[arg(short = 't', value_name = "TYPE", default_value = "rsa")]
    pub key_type: String,

    /// Key size in bits: RSA 2048-16384 (default 4096); ECDSA 256, 384 or 521 (default 256)
    #[arg(short = 'b', value_name = "BITS")]
    pub bits: Option<u32>,

    /// Comment stored with the key (default: user@hostname)
    #[arg(short = 'C', value_name = "COMMENT")]
    pub comment: Option<String>,

    /// Key file (default ~/.ssh/id_<type>; the public key goes to FILE.pub)
    #[arg(short = 'f', value_name = "FILE")]
    pub file: Option<String>,

    /// New passphrase, given on the command line (visible to other users: prefer the prompt or
    /// --passphrase-file). Empty means no passphrase.
    #[arg(short = 'N', value_name = "PASSPHRASE")]
    pub new_passphrase: Option<String>,

    /// Old passphrase for -p, -y, --export, given on the command line
    #[arg(short = 'P', value_name = "PASSPHRASE")]
    pub old_passphrase: Option<String>,

    /// Read the (new) passphrase from the first line of FILE
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Read the old passphrase (for -p, -y, --export) from the first line of FILE
    #[arg(long, value_name = "FILE")]
    pub old_passphrase_file: Option<PathBuf>,

    /// bcrypt KDF rounds protecting the private key (default 24; more is slower to unlock)
    #[arg(short = 'a', value_name = "ROUNDS", default_value_t = rk_core::keys::DEFAULT_KDF_ROUNDS)]
    pub rounds: u32,

    /// Files to write: openssh, ppk (PuTTY) or both. Default: openssh; on Windows both, so that
    /// PuTTY and Pageant users get a .ppk beside id_rsa without asking
    #[arg(long = "format", short = 'O', value_enum, default_value_t = Format::DEFAULT, value_name = "FORMAT")]
    pub format: Format,

    /// Replace existing key files without asking
    #[arg(long)]
    pub force: bool,

    /// Quiet: print nothing but errors
    #[arg(short = 'q')]
    pub quiet: bool,

    /// Show the fingerprint of the key in FILE (public or private)
    #[arg(short = 'l', conflicts_with_all = ["print_public", "change_passphrase", "export"])]
    pub fingerprint: bool,

    /// Fingerprint hash for -l: sha256 (default) or md5
    #[arg(short = 'E', value_name = "HASH", default_value = "sha256")]
    pub hash: String,

    /// With -l: also show the randomart image
    #[arg(short = 'v')]
    pub visual: bool,

    /// Print the public key of the private key in FILE
    #[arg(short = 'y', conflicts_with_all = ["change_passphrase", "export"])]
    pub print_public: bool,

    /// Change the passphrase of the private key in FILE
    #[arg(short = 'p', conflicts_with = "export")]
    pub change_passphrase: bool,

    /// Convert the private key in FILE to another format, written beside it (FILE.ppk)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub export: Option<ExportFormat>,

    /// Bound on bcrypt KDF rounds when reading a key (protects against hostile files)
    #[arg(long, value_name = "ROUNDS", default_value_t = rk_core::keys::MAX_KDF_ROUNDS, hide_short_help = true)]
    pub max_kdf_rounds: u32,

    /// Print help (-h for a summary)
    #[arg(short = 'h', long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// The clap command, for man pages and completions (`cargo xtask dist`).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
