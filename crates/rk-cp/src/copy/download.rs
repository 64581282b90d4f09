//! One file from the cluster: written to `.NAME.rk-part` beside the target, always as a prefix
//! of the source (many reads in flight, their data written in file order), then renamed into
//! place once whole. A partial file left by an interrupted run is continued when its last bytes
//! match the source's.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::{FileAttributes, OpenFlags, StatusCode};

use super::plan::Job;
use super::{Context, Failed, RESUME_WINDOW, local_error, set_local_times};
use crate::local::{partial_path, set_mode};
use crate::remote::{Sftp, is_status};

/// Reads in flight on one file: 64 × 255 KiB ≈ 16 MiB, more than a 50 ms link carries in a round
/// trip at 300 MB/s (rk's receive window is 64 MiB, so the server is never held back).
const READS_IN_FLIGHT: usize = 64;

pub(crate) async fn download(sftp: &Sftp, job: &Job, cx: &Context<'_>) -> Result<(), Failed> {
    let part = partial_path(&job.local);
    let handle = sftp
        .raw
        .open(
            job.remote.as_str(),
            OpenFlags::READ,
            FileAttributes::empty(),
        )
        .await
        .map_err(|e| Failed::sftp(&e, &job.remote))?
        .handle;
    let outcome = async {
        let start = resume_point(sftp, &handle, job, &part, cx).await;
        fetch(sftp, &handle, job, &part, start, cx).await
    }
    .await;
    let _ = sftp.raw.close(handle).await;
    outcome?;
    if cx.preserve {
        set_local_times(&part, job.mtime, job.atime).map_err(|e| local_error(&part, &e))?;
        if let Some(mode) = job.mode {
            set_mode(&part, mode).map_err(|e| local_error(&part, &e))?;
        }
    }
    std::fs::rename(&part, &job.local).map_err(|e| {
        format!(
            "{}: cannot put the copy in place: {e} (it is whole in {})",
            job.local.display(),
            part.display()
        )
        .into()
    })
}

/// Where to continue: the length of a partial copy whose last bytes match the source's, else 0.
async fn resume_point(sftp: &Sftp, handle: &str, job: &Job, part: &Path, cx: &Context<'_>) -> u64 {
    let have = match std::fs::metadata(part) {
        Ok(m) if cx.resume && m.len() > 0 => m.len(),
        _ => return 0,
    };
    let shown = job.local.display();
    if have > job.size {
        cx.say(&format!(
            "{shown}: the partial copy is longer than the source; starting it over"
        ));
        return 0;
    }
    let window = have.min(RESUME_WINDOW);
    let ours = read_tail(part, have - window, window).ok();
    let theirs = sftp
        .raw
        .read(handle, have - window, window as u32)
        .await
        .ok();
    if ours.is_some() && ours.as_deref() == theirs.as_ref().map(|d| d.data.as_slice()) {
        cx.say(&format!(
            "{shown}: continuing after {have} bytes (the partial copy matches the source)"
        ));
        cx.progress.resumed(have);
        have
    } else {
        cx.say(&format!(
            "{shown}: the partial copy differs from the source; starting it over"
        ));
        0
    }
}

fn read_tail(path: &Path, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len as usize];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads `[start, size)` with many requests in flight and appends their data in order.
async fn fetch(
    sftp: &Sftp,
    handle: &str,
    job: &Job,
    part: &Path,
    start: u64,
    cx: &Context<'_>,
) -> Result<(), Failed> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(start == 0)
        .open(part)
        .map_err(|e| local_error(part, &e))?;
    if start > 0 {
        // Continuing: drop anything past the checked prefix, then append.
        file.set_len(start).map_err(|e| local_error(part, &e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| local_error(part, &e))?;
    }
    let chunk = u64::from(sftp.read_len);
    let read = |offset: u64, len: u64, permit| async move {
        let result = sftp.raw.read(handle, offset, len as u32).await;
        (offset, len, result, permit)
    };
    let mut in_flight = FuturesOrdered::new();
    let mut next = start;
    loop {
        while in_flight.len() < READS_IN_FLIGHT && next < job.size {
            let len = chunk.min(job.size - next);
            let Some(permit) = cx.budget.take(len, in_flight.is_empty()).await else {
                break;
            };
            in_flight.push_back(read(next, len, permit));
            next += len;
        }
        let Some((offset, len, result, _permit)) = in_flight.next().await else {
            break;
        };
        let mut data = data_or_eof(result, &job.remote)?;
        // A short read (allowed by the protocol): fetch the rest of this range now, in order.
        while (data.len() as u64) < len {
            let at = offset + data.len() as u64;
            let more = data_or_eof(
                sftp.raw
                    .read(handle, at, (len - (at - offset)) as u32)
                    .await,
                &job.remote,
            )?;
            if more.is_empty() {
                return Err(format!(
                    "{}: the file became shorter on the cluster during the copy ({} bytes expected); \
                     run the same command again",
                    job.remote, job.size
                )
                .into());
            }
            data.extend_from_slice(&more);
        }
        file.write_all(&data).map_err(|e| local_error(part, &e))?;
        cx.progress.add(data.len() as u64);
    }
    // The data is on disk before the name says the file is whole. fsync blocks for a disk
    // flush: off the runtime's thread, so the other files in flight go on meanwhile (and the
    // file system can commit many files' flushes together).
    let synced = tokio::task::spawn_blocking(move || file.sync_all()).await;
    match synced {
        Ok(result) => result.map_err(|e| local_error(part, &e).into()),
        Err(e) => Err(format!("{}: {e}", part.display()).into()),
    }
}

fn data_or_eof(
    result: Result<russh_sftp::protocol::Data, SftpError>,
    remote: &str,
) -> Result<Vec<u8>, Failed> {
    match result {
        Ok(d) => Ok(d.data),
        Err(e) if is_status(&e, StatusCode::Eof) => Ok(Vec::new()),
        Err(e) => Err(Failed::sftp(&e, remote)),
    }
}
