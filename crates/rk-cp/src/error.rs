//! How a run of rk-cp can end badly: the connection (exit 255, nothing copied), arguments that
//! cannot work (exit 1, nothing changed), or some files not copied (exit 1, each named with why
//! as it happened). [`Error::exit_code`] is the one place that maps them to the status.

/// Some files were not copied, or the arguments cannot work.
pub const EXIT_FAILED: i32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reaching the cluster or logging in.
    #[error(transparent)]
    Ssh(#[from] rk_ssh::Error),

    /// The arguments cannot work; the message says why. Nothing was changed.
    #[error("{0}")]
    Usage(String),

    /// The server would not start SFTP on the connection.
    #[error("the cluster's SSH server did not start SFTP: {0}")]
    Sftp(String),

    /// Files that were not copied (each was reported when it failed).
    #[error(
        "{failed} of {total} files were not copied (see above); run the same command again to retry them"
    )]
    SomeFailed { failed: usize, total: usize },

    /// The login was lost during the copy and `--reconnect` was not given.
    #[error(
        "the connection to {host} was lost with {left} files not finished: run the same command \
         again to continue them (partial files are kept), or add --reconnect to retry on its own"
    )]
    Lost { host: String, left: usize },

    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Ssh(e) => e.exit_code(),
            Error::Sftp(_) | Error::Lost { .. } => rk_ssh::EXIT_CONNECTION,
            Error::Usage(_) | Error::SomeFailed { .. } | Error::Runtime(_) => EXIT_FAILED,
        }
    }
}

impl From<rk_core::Error> for Error {
    fn from(e: rk_core::Error) -> Error {
        Error::Ssh(e.into())
    }
}
