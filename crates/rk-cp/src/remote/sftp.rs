//! SFTP sessions on channels of one login, and the requests rk-cp makes beyond reads and
//! writes: attributes, listings, folders, renames that replace; errors in a user's words.

use std::sync::Arc;

use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::extensions::{self, HardlinkExtension};
use russh_sftp::protocol::{FileAttributes, StatusCode};

use crate::error::Error;

/// OpenSSH's sftp-server takes reads and writes up to this (`limits@openssh.com` says so);
/// 255 KiB leaves room for the packet's header under its 256 KiB packet limit.
const LARGE_IO: u64 = 255 * 1024;
/// What any SFTP server takes (the protocol's own minimum).
const SMALL_IO: u64 = 32 * 1024;
const POSIX_RENAME: &str = "posix-rename@openssh.com";

/// One SFTP session on its own channel.
pub(crate) struct Sftp {
    pub(crate) raw: RawSftpSession,
    /// Bytes per read and per write request.
    pub(crate) read_len: u32,
    pub(crate) write_len: u32,
    posix_rename: bool,
}

/// The sessions of a run: several channels of one authenticated connection (one login, one
/// password or code typed), so files move in parallel without a second login; with
/// `--connections`, spread over several logins.
pub(crate) struct Pool {
    sessions: Vec<Arc<Sftp>>,
}

impl Pool {
    /// Opens `channels` SFTP sessions at once, spread over `connections` in turn (each costs a
    /// few round trips: on a long link, one after the other would cost a second). sshd's
    /// MaxSessions (10 by default) may allow fewer than asked: those that opened are used.
    pub(crate) async fn open(
        connections: &[rk_ssh::Connection],
        channels: usize,
    ) -> Result<Pool, Error> {
        let started = (0..channels.max(connections.len()))
            .map(|i| Sftp::start(&connections[i % connections.len()]));
        let mut sessions = Vec::with_capacity(channels);
        let mut first_error = None;
        for result in futures_util::future::join_all(started).await {
            match result {
                Ok(s) => sessions.push(Arc::new(s)),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        match first_error {
            Some(e) if sessions.is_empty() => Err(e),
            _ => Ok(Pool { sessions }),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn get(&self, i: usize) -> Arc<Sftp> {
        Arc::clone(&self.sessions[i % self.sessions.len()])
    }
}

impl Sftp {
    async fn start(connection: &rk_ssh::Connection) -> Result<Sftp, Error> {
        let channel = connection.open_subsystem("sftp").await?;
        let config = russh_sftp::client::Config {
            // A deep queue on a slow link: the timeout counts from when a request is queued.
            request_timeout_secs: 300,
            ..Default::default()
        };
        let raw = RawSftpSession::new_with_config(channel.into_stream(), config);
        let version = raw.init().await.map_err(|e| Error::Sftp(e.to_string()))?;
        let (mut read_len, mut write_len) = (SMALL_IO, SMALL_IO);
        if version.extensions.contains_key(extensions::LIMITS)
            && let Ok(limits) = raw.limits().await
        {
            read_len = limits.max_read_len.clamp(SMALL_IO, LARGE_IO);
            write_len = limits.max_write_len.clamp(SMALL_IO, LARGE_IO);
        }
        Ok(Sftp {
            raw,
            read_len: read_len as u32,
            write_len: write_len as u32,
            posix_rename: version.extensions.contains_key(POSIX_RENAME),
        })
    }

    pub(crate) async fn stat(&self, path: &str) -> Result<FileAttributes, SftpError> {
        Ok(self.raw.stat(path).await?.attrs)
    }

    pub(crate) async fn lstat(&self, path: &str) -> Result<FileAttributes, SftpError> {
        Ok(self.raw.lstat(path).await?.attrs)
    }

    /// A folder's entries (without `.` and `..`), with their own attributes (links not followed).
    pub(crate) async fn list(
        &self,
        path: &str,
    ) -> Result<Vec<(String, FileAttributes)>, SftpError> {
        let handle = self.raw.opendir(path).await?.handle;
        let mut entries = Vec::new();
        let outcome = loop {
            match self.raw.readdir(handle.as_str()).await {
                Ok(name) => entries.extend(
                    name.files
                        .into_iter()
                        .filter(|f| f.filename != "." && f.filename != "..")
                        .map(|f| (f.filename, f.attrs)),
                ),
                Err(e) if is_status(&e, StatusCode::Eof) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let _ = self.raw.close(handle).await;
        outcome.map(|()| entries)
    }

    /// Creates a folder; one that exists already is fine.
    pub(crate) async fn mkdir(&self, path: &str, mode: Option<u32>) -> Result<(), SftpError> {
        let attrs = FileAttributes {
            permissions: mode,
            ..FileAttributes::empty()
        };
        match self.raw.mkdir(path, attrs).await {
            Ok(_) => Ok(()),
            Err(e) => match self.stat(path).await {
                Ok(a) if a.is_dir() => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Renames `from` to `to`, replacing `to`: atomically with `posix-rename@openssh.com`;
    /// else (SFTP v3 refuses to rename over a file) the old `to` is removed first, once the new
    /// file is whole.
    pub(crate) async fn rename_over(&self, from: &str, to: &str) -> Result<(), SftpError> {
        if self.posix_rename {
            let data = russh_sftp::ser::to_bytes(&HardlinkExtension {
                oldpath: from.to_string(),
                newpath: to.to_string(),
            })?;
            return match self.raw.extended(POSIX_RENAME, data.to_vec()).await? {
                russh_sftp::protocol::Packet::Status(s) if s.status_code == StatusCode::Ok => {
                    Ok(())
                }
                russh_sftp::protocol::Packet::Status(s) => Err(SftpError::Status(s)),
                _ => Err(SftpError::UnexpectedPacket),
            };
        }
        if self.raw.rename(from, to).await.is_ok() {
            return Ok(());
        }
        self.raw.remove(to).await?;
        self.raw.rename(from, to).await.map(|_| ())
    }
}

/// Whether an SFTP error is the server's status `code`.
pub(crate) fn is_status(e: &SftpError, code: StatusCode) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == code)
}

/// An SFTP error in words a user can act on, for `path` on the cluster.
pub(crate) fn explain(e: &SftpError, path: &str) -> String {
    match e {
        SftpError::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => format!("{path}: no such file or folder on the cluster"),
            StatusCode::PermissionDenied => {
                format!("{path}: permission denied on the cluster")
            }
            _ if s.error_message.is_empty() => format!("{path}: {} on the cluster", s.status_code),
            _ => format!("{path}: {} on the cluster", s.error_message),
        },
        SftpError::Timeout => format!("{path}: the cluster did not answer in time"),
        // russh-sftp's own words ("sender dropped", "session closed") say the channel ended.
        other => format!(
            "{path}: the SFTP channel to the cluster closed ({other}); run the same command again to continue"
        ),
    }
}
