//! One file to the cluster: written to `.NAME.rk-part` beside the target on the server, in
//! order on one channel (sftp-server handles a session's requests in turn, so what is written
//! is always a prefix), then renamed over the target once whole. A partial file left by an
//! interrupted run is continued when its last bytes match ours.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use russh_sftp::protocol::{FileAttributes, OpenFlags};

use super::plan::Job;
use super::{Context, Failed, RESUME_WINDOW, local_error};
use crate::remote::Sftp;

/// Writes in flight: the server's channel window (2 MiB for OpenSSH) paces them anyway; a few
/// more keep the pipe full without holding much memory.
pub(super) const WRITES_IN_FLIGHT: usize = 16;

/// `dir/.NAME.rk-part` for `dir/NAME` on the cluster.
pub(super) fn remote_partial(remote: &str) -> String {
    match remote.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.rk-part"),
        None => format!(".{remote}.rk-part"),
    }
}

pub(crate) async fn upload(sftp: &Sftp, job: &Job, cx: &Context<'_>) -> Result<(), Failed> {
    let part = remote_partial(&job.remote);
    let mut file = File::open(&job.local).map_err(|e| local_error(&job.local, &e))?;
    let (handle, start) = open_partial(sftp, job, &part, &mut file, cx).await?;
    let outcome = async {
        let range = Range {
            start,
            end: job.size,
            acked: &|_| {},
        };
        send(sftp, &handle, job, &mut file, range, &part, cx).await?;
        if cx.preserve {
            sftp.raw
                .fsetstat(handle.as_str(), preserved(job))
                .await
                .map_err(|e| Failed::sftp(&e, &part))?;
        }
        Ok::<_, Failed>(())
    }
    .await;
    let closed = sftp.raw.close(handle).await;
    outcome?;
    closed.map_err(|e| Failed::sftp(&e, &part))?;
    put_in_place(sftp, &part, &job.remote).await
}

/// `-p`: the source's times and mode, as the server sets them.
pub(super) fn preserved(job: &Job) -> FileAttributes {
    FileAttributes {
        mtime: job.mtime,
        atime: job.atime,
        permissions: job.mode,
        ..FileAttributes::empty()
    }
}

/// Renames the whole copy over the target on the server.
pub(super) async fn put_in_place(sftp: &Sftp, part: &str, remote: &str) -> Result<(), Failed> {
    sftp.rename_over(part, remote).await.map_err(|e| {
        let failed = Failed::sftp(&e, remote);
        Failed {
            why: format!("{} (the copy is whole in {part})", failed.why),
            ..failed
        }
    })
}

/// Opens the partial file on the server: continued when its last bytes match ours, else
/// created afresh. Returns the handle and where to continue.
async fn open_partial(
    sftp: &Sftp,
    job: &Job,
    part: &str,
    file: &mut File,
    cx: &Context<'_>,
) -> Result<(String, u64), Failed> {
    let have = match sftp.lstat(part).await {
        Ok(a) if cx.resume && a.is_regular() => a.size.unwrap_or(0),
        _ => 0,
    };
    if have > 0 && have <= job.size {
        let handle = sftp
            .raw
            .open(
                part,
                OpenFlags::READ | OpenFlags::WRITE,
                FileAttributes::empty(),
            )
            .await
            .map_err(|e| Failed::sftp(&e, part))?
            .handle;
        let window = have.min(RESUME_WINDOW);
        let mut ours = vec![0u8; window as usize];
        let read_ours = file
            .seek(SeekFrom::Start(have - window))
            .and_then(|_| file.read_exact(&mut ours));
        let theirs = sftp
            .raw
            .read(handle.as_str(), have - window, window as u32)
            .await;
        if read_ours.is_ok() && theirs.is_ok_and(|d| d.data == ours) {
            cx.say(&format!(
                "{}: continuing after {have} bytes (the partial copy matches the source)",
                job.remote
            ));
            cx.progress.resumed(have);
            return Ok((handle, have));
        }
        let _ = sftp.raw.close(handle).await;
        cx.say(&format!(
            "{}: the partial copy differs from the source; starting it over",
            job.remote
        ));
    }
    Ok((create_partial(sftp, part, job.mode).await?, 0))
}

/// Creates (or empties) the partial file on the server with the source's mode; its handle.
pub(super) async fn create_partial(
    sftp: &Sftp,
    part: &str,
    mode: Option<u32>,
) -> Result<String, Failed> {
    let attrs = FileAttributes {
        permissions: mode,
        ..FileAttributes::empty()
    };
    let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let opened = sftp.raw.open(part, flags, attrs).await;
    Ok(opened.map_err(|e| Failed::sftp(&e, part))?.handle)
}

/// Sends `[start, size)` of the local file with many writes in flight.
/// A range of the local file to send, and what to tell as the server acknowledges it.
pub(super) struct Range<'a> {
    pub(super) start: u64,
    pub(super) end: u64,
    /// Called with the end of the acknowledged prefix after each acknowledgement.
    pub(super) acked: &'a (dyn Fn(u64) + Sync),
}

/// Sends `range` of the local file with many writes in flight. Acknowledgements come in order
/// (sftp-server answers a session's requests in turn), so what is acknowledged is a prefix.
pub(super) async fn send(
    sftp: &Sftp,
    handle: &str,
    job: &Job,
    file: &mut File,
    range: Range<'_>,
    part: &str,
    cx: &Context<'_>,
) -> Result<(), Failed> {
    file.seek(SeekFrom::Start(range.start))
        .map_err(|e| local_error(&job.local, &e))?;
    let chunk = u64::from(sftp.write_len);
    let write = |offset: u64, data: Vec<u8>, permit| async move {
        let len = data.len() as u64;
        let result = sftp.raw.write(handle, offset, data).await;
        drop(permit);
        (offset + len, len, result)
    };
    let mut in_flight = FuturesOrdered::new();
    let mut next = range.start;
    loop {
        while in_flight.len() < WRITES_IN_FLIGHT && next < range.end {
            let want = chunk.min(range.end - next);
            let Some(permit) = cx.budget.take(want, in_flight.is_empty()).await else {
                break;
            };
            let mut data = vec![0u8; want as usize];
            let n = read_full(file, &mut data).map_err(|e| local_error(&job.local, &e))?;
            if n == 0 {
                return Err(format!(
                    "{}: the file became shorter during the copy; run the same command again",
                    job.local.display()
                )
                .into());
            }
            data.truncate(n);
            in_flight.push_back(write(next, data, permit));
            next += n as u64;
        }
        let Some((acked_to, len, result)) = in_flight.next().await else {
            break;
        };
        result.map_err(|e| Failed::sftp(&e, part))?;
        cx.progress.add(len);
        (range.acked)(acked_to);
    }
    Ok(())
}

/// Fills `buf` unless the file ends first; returns how much was read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    #[test]
    fn partial_names_sit_beside_the_target() {
        assert_eq!(super::remote_partial("out/a.h5"), "out/.a.h5.rk-part");
        assert_eq!(super::remote_partial("a.h5"), ".a.h5.rk-part");
        assert_eq!(super::remote_partial("/scratch/x"), "/scratch/.x.rk-part");
    }
}
