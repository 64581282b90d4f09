//! One error type for the whole core. Every message says what went wrong and what to do next,
//! because the binaries print it to a scientist, not to a developer.

use std::io;
use std::path::{Path, PathBuf};

/// Process exit codes shared by the rk binaries (documented in each `--help`).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Refused or declined: bad option, file exists, wrong passphrase, input that is not a key.
    pub const REFUSED: i32 = 1;
    /// An I/O or internal error: disk full, permission denied, a bug.
    pub const IO: i32 = 2;
    /// Interrupted by Ctrl-C (128 + SIGINT, as a shell reports it).
    pub const INTERRUPTED: i32 = 130;
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line asked for something that cannot be done; the message explains why.
    #[error("{0}")]
    Usage(String),

    #[error(
        "{} already exists; not overwriting it. Choose another file with -f, or pass --force to replace it.",
        path.display()
    )]
    Exists { path: PathBuf },

    #[error("{} already exists; not overwritten.", path.display())]
    Declined { path: PathBuf },

    #[error("incorrect passphrase for {}. Try again; the key file was not changed.", path.display())]
    WrongPassphrase { path: PathBuf },

    #[error("{} is encrypted and needs a passphrase, but no terminal is available to ask for it. Use --passphrase-file FILE (or -P/-N) in scripts.", path.display())]
    PassphraseNeeded { path: PathBuf },

    #[error("the passphrases do not match.")]
    PassphraseMismatch,

    #[error("{}: not a key rk can read ({detail}). rk reads OpenSSH private and public keys, PuTTY .ppk (v2, v3), PEM RSA keys and RFC 4716 public keys.", path.display())]
    NotAKey { path: PathBuf, detail: String },

    #[error("{}: {what}", path.display())]
    Unsupported { path: PathBuf, what: String },

    #[error("{}: this is a public key, but a private key is needed here. Use the file without .pub.", path.display())]
    PublicKeyOnly { path: PathBuf },

    #[error("{action} {}: {source}{}", path.display(), io_hint(source))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("terminal: {0}")]
    Terminal(io::Error),

    /// Ctrl-C at a prompt; nothing was changed.
    #[error("interrupted; nothing was changed.")]
    Interrupted,

    #[error("key operation failed: {0}")]
    Key(#[from] ssh_key::Error),

    #[error("RSA key generation failed: {0}")]
    Rsa(String),
}

impl From<ssh_key::encoding::Error> for Error {
    fn from(e: ssh_key::encoding::Error) -> Self {
        Error::Key(e.into())
    }
}

fn io_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::NotFound => " (does the directory exist?)",
        io::ErrorKind::PermissionDenied => {
            " (check the directory's permissions, or choose another place with -f)"
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            " (the file system is read-only; choose another place with -f)"
        }
        io::ErrorKind::StorageFull => " (the disk is full; free some space and try again)",
        _ => "",
    }
}

impl Error {
    pub fn io(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The exit code a binary should end with for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_)
            | Error::Exists { .. }
            | Error::Declined { .. }
            | Error::WrongPassphrase { .. }
            | Error::PassphraseNeeded { .. }
            | Error::PassphraseMismatch
            | Error::NotAKey { .. }
            | Error::Unsupported { .. }
            | Error::PublicKeyOnly { .. } => exit::REFUSED,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Io { .. } | Error::Terminal(_) | Error::Key(_) | Error::Rsa(_) => exit::IO,
        }
    }
}
