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

use rk_ssh::Log;
use russh_sftp::client::error::Error as SftpError;

use crate::error::Error;
use crate::local::set_mode;
use crate::remote::{Link, Pool, Sftp, explain};
use plan::{Job, Plan};
use progress::Progress;

/// Requests in flight, all files together: two files' full read pipelines (64 reads of 255 KiB),
/// or a big upload's 8 segments each with twice sshd's 2 MiB channel window (measured: 16 MiB
/// held 8 channels at 7.7 s for 1 GiB at 50 ms, 32 MiB gives 4.8 s; peak RSS stays ≤ 41 MiB).
pub(crate) const IN_FLIGHT_BYTES: u64 = 32 << 20;

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

    /// A file that was not copied, or the connection lost: always shown.
    pub(crate) fn failed(&self, msg: &str) {
        self.progress.println(&format!("{}: {msg}", self.log.tool));
    }
}

/// Why one file was not copied, and whether the connection may be to blame.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) why: String,
    /// The SFTP session broke instead of answering (the connection may be gone): after a
    /// reconnection the file is tried again rather than counted as failed.
    pub(crate) broken: bool,
}

impl Failed {
    /// An SFTP request about `path` that failed.
    pub(crate) fn sftp(e: &SftpError, path: &str) -> Failed {
        Failed {
            why: explain(e, path),
            broken: !matches!(e, SftpError::Status(_)),
        }
    }
}

/// A failure of this machine's side, or an answer of the server's: not the connection's.
impl From<String> for Failed {
    fn from(why: String) -> Failed {
        Failed { why, broken: false }
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

/// What a run has counted so far: files that were not copied, of how many.
#[derive(Default)]
pub(crate) struct Tally {
    failed: AtomicUsize,
    total: usize,
}

/// Before the files: the notes and refusals of the plan, and the folders of `-r` copies.
pub(crate) async fn prepare(
    pool: &Pool,
    direction: Direction,
    plan: &Plan,
    cx: &Context<'_>,
) -> Tally {
    for link in &plan.skipped {
        cx.say(&format!("{link}: a symbolic link inside a folder; skipped"));
    }
    let tally = Tally {
        failed: AtomicUsize::new(plan.refused.len()),
        total: plan.files.len() + plan.refused.len(),
    };
    for why in &plan.refused {
        cx.failed(why);
    }
    make_folders(pool, direction, plan, cx, &tally.failed).await;
    tally
}

/// Copies `jobs`, many at once; files that fail are named as they fail and counted. Returns the
/// files that a lost login interrupted or never started, to try again on a new link.
pub(crate) async fn run<'p>(
    link: &Link,
    direction: Direction,
    jobs: Vec<&'p Job>,
    cx: &Context<'_>,
    tally: &Tally,
) -> Vec<&'p Job> {
    let pool = &link.pool;
    let workers = (pool.len() * FILES_PER_CHANNEL).min(jobs.len()).max(1);
    let queue = Mutex::new(VecDeque::from(jobs));
    let interrupted = Mutex::new(Vec::new());
    let worker = |i: usize| {
        let (queue, interrupted) = (&queue, &interrupted);
        async move {
            let sftp = pool.get(i);
            while !link.lost() {
                let Some(job) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                    return;
                };
                match copy_one(link, &sftp, direction, job, cx).await {
                    Ok(()) => cx.progress.file_done(),
                    Err(f) if f.broken && link.lost_after_break().await => {
                        if let Ok(mut list) = interrupted.lock() {
                            list.push(job);
                        }
                        return;
                    }
                    Err(f) => {
                        cx.failed(&f.why);
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        // A channel that broke while the login lives (its sftp-server died)
                        // stays broken: the other workers take the rest.
                        if f.broken {
                            return;
                        }
                    }
                }
            }
        }
    };
    futures_util::future::join_all((0..workers).map(worker)).await;
    let mut left = interrupted.into_inner().unwrap_or_default();
    left.extend(queue.into_inner().unwrap_or_default());
    if !left.is_empty() && !link.lost() {
        // Every channel broke, the login did not: not something a new login cures.
        for job in left.drain(..) {
            cx.failed(&format!(
                "{}: not copied: every SFTP channel to the cluster broke (run the same command again)",
                job.remote
            ));
            tally.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    left
}

/// One file, by the way that suits it, then `--verify`.
async fn copy_one(
    link: &Link,
    sftp: &Sftp,
    direction: Direction,
    job: &Job,
    cx: &Context<'_>,
) -> Result<(), Failed> {
    let pool = &link.pool;
    match direction {
        Direction::Download => download::download(sftp, job, cx).await?,
        Direction::Upload if job.size >= segmented::SEGMENTED_MIN && pool.len() > 1 => {
            segmented::upload(pool, job, cx).await?
        }
        Direction::Upload => upload::upload(sftp, job, cx).await?,
    }
    if cx.verify {
        verify::verify(link.first(), &job.remote, &job.local).await?;
    }
    Ok(())
}

/// After the files: `-p` for folders, the end of the progress line, and the outcome.
pub(crate) async fn finish(
    pool: &Pool,
    direction: Direction,
    plan: &Plan,
    cx: &Context<'_>,
    tally: Tally,
) -> Result<(), Error> {
    if cx.preserve {
        folder_times(pool, direction, plan).await;
    }
    cx.progress.finish();
    match tally.failed.into_inner() {
        0 => Ok(()),
        failed => Err(Error::SomeFailed {
            failed,
            total: tally.total,
        }),
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
