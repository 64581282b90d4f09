//! Moving the files of a [`plan::Plan`]: folders first, then many files at once, each on one
//! channel of the pool ([`download`], [`upload`]), checked afterwards with `--verify`
//! ([`verify`]), under one progress line ([`progress`]).

pub(crate) mod budget;
mod download;
pub(crate) mod plan;
pub(crate) mod progress;
mod segmented;
mod upload;
mod verify;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use rk_ssh::{Connection, Log};

use crate::error::Error;
use crate::local::set_mode;
use crate::remote::{Pool, explain};
use plan::{Job, Plan};
use progress::Progress;

/// Requests in flight, all files together: one file's full pipeline (64 reads of 255 KiB).
pub(crate) const IN_FLIGHT_BYTES: u64 = 16 << 20;

/// How many bytes at the end of a partial file are compared with the source before continuing.
pub(crate) const RESUME_WINDOW: u64 = 64 * 1024;

/// Files in flight on each channel: small files cost round trips (open, read, close), not
/// bandwidth, so several at once hide the link's latency.
const FILES_PER_CHANNEL: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Download,
    Upload,
}

/// What every file's copy needs to know.
pub(crate) struct Context<'a> {
    pub(crate) preserve: bool,
    pub(crate) resume: bool,
    pub(crate) verify: bool,
    pub(crate) quiet: bool,
    pub(crate) progress: &'a Progress,
    /// Memory for requests in flight, shared by all files.
    pub(crate) budget: &'a budget::Budget,
    pub(crate) log: &'a Log,
}

impl Context<'_> {
    /// A notice (`-q` leaves it out), above the progress line.
    pub(crate) fn say(&self, msg: &str) {
        if !self.quiet {
            self.progress.println(&format!("{}: {msg}", self.log.tool));
        }
    }

    /// A file that was not copied: always shown.
    fn failed(&self, msg: &str) {
        self.progress.println(&format!("{}: {msg}", self.log.tool));
    }
}

/// A local I/O error with what it means for the copy (a full disk keeps the partial file).
pub(crate) fn local_error(path: &Path, e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(28) || e.kind() == std::io::ErrorKind::StorageFull {
        return format!(
            "{}: the disk is full; the partial file is kept: free some space and run the same command again to continue",
            path.display()
        );
    }
    format!("{}: {e}", path.display())
}

/// `-p`: the source's modification and access times.
pub(crate) fn set_local_times(
    path: &Path,
    mtime: Option<u32>,
    atime: Option<u32>,
) -> std::io::Result<()> {
    let Some(mtime) = mtime else { return Ok(()) };
    let at = |s: u32| UNIX_EPOCH + Duration::from_secs(u64::from(s));
    let times = std::fs::FileTimes::new()
        .set_modified(at(mtime))
        .set_accessed(at(atime.unwrap_or(mtime)));
    // A folder opens read-only (it cannot be opened for writing); Windows may then refuse,
    // which only loses the folder's time.
    let file = if path.is_dir() {
        std::fs::File::open(path)?
    } else {
        std::fs::File::options().write(true).open(path)?
    };
    file.set_times(times)
}

/// Copies every file of `plan`; files that fail are named as they fail and counted.
pub(crate) async fn run(
    pool: &Pool,
    connection: &Connection,
    direction: Direction,
    plan: Plan,
    cx: &Context<'_>,
) -> Result<(), Error> {
    for link in &plan.skipped {
        cx.say(&format!("{link}: a symbolic link inside a folder; skipped"));
    }
    let failed = AtomicUsize::new(0);
    for why in &plan.refused {
        cx.failed(why);
        failed.fetch_add(1, Ordering::Relaxed);
    }
    let total = plan.files.len() + plan.refused.len();
    make_folders(pool, direction, &plan, cx, &failed).await;
    let queue = Mutex::new(plan.files.iter().collect::<VecDeque<&Job>>());
    let workers = (pool.len() * FILES_PER_CHANNEL)
        .min(plan.files.len())
        .max(1);
    let worker = |i: usize| {
        let (queue, failed) = (&queue, &failed);
        async move {
            let sftp = pool.get(i);
            loop {
                let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    return;
                };
                let copied = match direction {
                    Direction::Download => download::download(&sftp, job, cx).await,
                    Direction::Upload if job.size >= segmented::SEGMENTED_MIN && pool.len() > 1 => {
                        segmented::upload(pool, job, cx).await
                    }
                    Direction::Upload => upload::upload(&sftp, job, cx).await,
                };
                let checked = match copied {
                    Ok(()) if cx.verify => {
                        verify::verify(connection, &job.remote, &job.local).await
                    }
                    other => other,
                };
                match checked {
                    Ok(()) => cx.progress.file_done(),
                    Err(why) => {
                        cx.failed(&why);
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    };
    futures_util::future::join_all((0..workers).map(worker)).await;
    if cx.preserve {
        folder_times(pool, direction, &plan).await;
    }
    cx.progress.finish();
    match failed.load(Ordering::Relaxed) {
        0 => Ok(()),
        n => Err(Error::SomeFailed { failed: n, total }),
    }
}

/// The folders of `-r` copies, parents first; a folder that cannot be made counts as a failure.
async fn make_folders(
    pool: &Pool,
    direction: Direction,
    plan: &Plan,
    cx: &Context<'_>,
    failed: &AtomicUsize,
) {
    let sftp = pool.get(0);
    for folder in &plan.folders {
        let made = match direction {
            Direction::Download => std::fs::create_dir_all(&folder.local)
                .map_err(|e| local_error(&folder.local, &e))
                .and_then(|()| match folder.mode.filter(|_| cx.preserve) {
                    Some(mode) => {
                        set_mode(&folder.local, mode).map_err(|e| local_error(&folder.local, &e))
                    }
                    None => Ok(()),
                }),
            Direction::Upload => sftp
                .mkdir(&folder.remote, folder.mode)
                .await
                .map_err(|e| explain(&e, &folder.remote)),
        };
        if let Err(why) = made {
            cx.failed(&why);
            failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `-p` for folders, once what they hold is written (writing into a folder changes its time).
async fn folder_times(pool: &Pool, direction: Direction, plan: &Plan) {
    let sftp = pool.get(0);
    for folder in plan.folders.iter().rev() {
        match direction {
            Direction::Download => {
                let _ = set_local_times(&folder.local, folder.mtime, None);
            }
            Direction::Upload => {
                let attrs = russh_sftp::protocol::FileAttributes {
                    mtime: folder.mtime,
                    atime: folder.mtime,
                    ..russh_sftp::protocol::FileAttributes::empty()
                };
                let _ = sftp.raw.setstat(folder.remote.as_str(), attrs).await;
            }
        }
    }
}
