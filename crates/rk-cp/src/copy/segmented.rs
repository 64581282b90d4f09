//! One big file to the cluster over several channels at once. OpenSSH's sshd grants each
//! channel a 2 MiB window, so one channel carries at most 2 MiB per round trip (~40 MB/s at
//! 50 ms, whatever the link): the file is cut into one segment per channel, each written in
//! order on its own channel. Every second (or 32 MiB), how far the server has acknowledged each
//! segment is written to a journal beside the partial file (`.NAME.rk-part.journal`, replaced whole), so a
//! rerun continues each segment where the server had it — never past it, since the journal
//! only records acknowledged bytes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use russh_sftp::protocol::{FileAttributes, OpenFlags};

use super::plan::Job;
use super::upload::{Range, create_partial, preserved, put_in_place, remote_partial, send};
use super::{Context, Failed, RESUME_WINDOW, local_error};
use crate::remote::{Pool, Sftp};

/// Files at least this big go over several channels (smaller ones gain little: their time is
/// round trips, and other files fill the other channels).
pub(crate) const SEGMENTED_MIN: u64 = 64 << 20;

/// The journal is replaced every second, or sooner once this much more was acknowledged (on a
/// fast link a second is a lot of data to send again).
const JOURNAL_EVERY: Duration = Duration::from_secs(1);
const JOURNAL_BYTES: u64 = 32 << 20;
const JOURNAL_CHECK: Duration = Duration::from_millis(50);

/// One segment: `[start, end)`, acknowledged up to `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: u64,
    end: u64,
    done: u64,
}

fn journal_path(part: &str) -> String {
    format!("{part}.journal")
}

/// The journal's text: a header naming the source (size, mtime), then a segment a line.
fn journal_text(job: &Job, segments: &[Segment]) -> String {
    let mut text = format!(
        "rk-cp segments 1\nsize {} mtime {}\n",
        job.size,
        job.mtime.unwrap_or(0)
    );
    for s in segments {
        text.push_str(&format!("{} {} {}\n", s.start, s.end, s.done));
    }
    text
}

/// The segments of a journal written for this very source, or None.
fn parse_journal(text: &str, job: &Job) -> Option<Vec<Segment>> {
    let mut lines = text.lines();
    (lines.next()? == "rk-cp segments 1").then_some(())?;
    let header = format!("size {} mtime {}", job.size, job.mtime.unwrap_or(0));
    (lines.next()? == header).then_some(())?;
    let mut segments = Vec::new();
    let mut expected_start = 0;
    for line in lines {
        let n: Vec<u64> = line
            .split(' ')
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        let [start, end, done] = n[..] else {
            return None;
        };
        if start != expected_start || end < start || done < start || done > end {
            return None;
        }
        expected_start = end;
        segments.push(Segment { start, end, done });
    }
    (expected_start == job.size && !segments.is_empty()).then_some(segments)
}

fn fresh_segments(size: u64, count: u64) -> Vec<Segment> {
    let count = count.max(1);
    let step = size.div_ceil(count);
    (0..count)
        .map(|i| {
            let start = (i * step).min(size);
            let end = ((i + 1) * step).min(size);
            Segment {
                start,
                end,
                done: start,
            }
        })
        .filter(|s| s.end > s.start)
        .collect()
}

async fn read_remote(sftp: &Sftp, path: &str) -> Option<Vec<u8>> {
    let handle = sftp
        .raw
        .open(path, OpenFlags::READ, FileAttributes::empty())
        .await
        .ok()?
        .handle;
    let data = sftp.raw.read(handle.as_str(), 0, 64 * 1024).await.ok();
    let _ = sftp.raw.close(handle).await;
    data.map(|d| d.data)
}

/// The journal's segments when the partial file on the server still matches them (the last
/// bytes before each segment's `done` are ours); None: start over.
async fn resumable(sftp: &Sftp, job: &Job, part: &str, cx: &Context<'_>) -> Option<Vec<Segment>> {
    if !cx.resume {
        return None;
    }
    let text = read_remote(sftp, &journal_path(part)).await?;
    let segments = parse_journal(&String::from_utf8_lossy(&text), job)?;
    let handle = sftp
        .raw
        .open(part, OpenFlags::READ, FileAttributes::empty())
        .await
        .ok()?
        .handle;
    let mut file = File::open(&job.local).ok()?;
    let mut all_match = true;
    for s in segments.iter().filter(|s| s.done > s.start) {
        let window = (s.done - s.start).min(RESUME_WINDOW);
        let mut ours = vec![0u8; window as usize];
        let read = file
            .seek(SeekFrom::Start(s.done - window))
            .and_then(|_| file.read_exact(&mut ours));
        let theirs = sftp
            .raw
            .read(handle.as_str(), s.done - window, window as u32)
            .await;
        if read.is_err() || !theirs.is_ok_and(|d| d.data == ours) {
            all_match = false;
            break;
        }
    }
    let _ = sftp.raw.close(handle).await;
    if all_match { Some(segments) } else { None }
}

/// Replaces the journal with `segments` (written aside, then renamed over the old one).
async fn write_journal(
    sftp: &Sftp,
    job: &Job,
    part: &str,
    segments: &[Segment],
) -> Result<(), Failed> {
    let path = journal_path(part);
    let aside = format!("{path}.new");
    let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let handle = sftp
        .raw
        .open(aside.as_str(), flags, FileAttributes::empty())
        .await
        .map_err(|e| Failed::sftp(&e, &aside))?
        .handle;
    let written = sftp
        .raw
        .write(handle.as_str(), 0, journal_text(job, segments).into_bytes())
        .await;
    let _ = sftp.raw.close(handle).await;
    written.map_err(|e| Failed::sftp(&e, &aside))?;
    sftp.rename_over(&aside, &path)
        .await
        .map_err(|e| Failed::sftp(&e, &path))
}

/// Creates the partial file afresh (the journal first says none of it is done).
async fn start_over(
    sftp: &Sftp,
    job: &Job,
    part: &str,
    count: u64,
) -> Result<Vec<Segment>, Failed> {
    let segments = fresh_segments(job.size, count);
    write_journal(sftp, job, part, &segments).await?;
    let handle = create_partial(sftp, part, job.mode).await?;
    sftp.raw
        .close(handle)
        .await
        .map_err(|e| Failed::sftp(&e, part))?;
    Ok(segments)
}

/// Sends one segment on its own channel, recording what the server acknowledged in `done`.
async fn send_segment(
    sftp: &Sftp,
    job: &Job,
    part: &str,
    segment: Segment,
    done: &AtomicU64,
    cx: &Context<'_>,
) -> Result<(), Failed> {
    let mut file = File::open(&job.local).map_err(|e| local_error(&job.local, &e))?;
    let handle = sftp
        .raw
        .open(part, OpenFlags::WRITE, FileAttributes::empty())
        .await
        .map_err(|e| Failed::sftp(&e, part))?
        .handle;
    let range = Range {
        start: segment.done,
        end: segment.end,
        acked: &|to| done.store(to, Ordering::Relaxed),
    };
    let sent = send(sftp, &handle, job, &mut file, range, part, cx).await;
    let closed = sftp.raw.close(handle).await;
    sent?;
    closed.map(|_| ()).map_err(|e| Failed::sftp(&e, part))
}

pub(crate) async fn upload(pool: &Pool, job: &Job, cx: &Context<'_>) -> Result<(), Failed> {
    let part = remote_partial(&job.remote);
    let first = pool.get(0);
    let segments = match resumable(&first, job, &part, cx).await {
        Some(segments) => {
            let have: u64 = segments.iter().map(|s| s.done - s.start).sum();
            cx.say(&format!(
                "{}: continuing after {have} of {} bytes (the partial copy matches the source)",
                job.remote, job.size
            ));
            cx.progress.resumed(have);
            segments
        }
        None => start_over(&first, job, &part, pool.len() as u64).await?,
    };
    let done: Vec<AtomicU64> = segments.iter().map(|s| AtomicU64::new(s.done)).collect();
    let snapshot = || -> Vec<Segment> {
        segments
            .iter()
            .zip(&done)
            .map(|(s, d)| Segment {
                done: d.load(Ordering::Relaxed),
                ..*s
            })
            .collect()
    };
    let senders = segments.iter().enumerate().map(|(i, s)| {
        let sftp = pool.get(i);
        let (done, part) = (&done[i], &part);
        async move { send_segment(&sftp, job, part, *s, done, cx).await }
    });
    let journal = async {
        let (mut last_time, mut last_bytes) = (Instant::now(), 0u64);
        loop {
            tokio::time::sleep(JOURNAL_CHECK).await;
            let now = snapshot();
            let acked: u64 = now.iter().map(|s| s.done - s.start).sum();
            if last_time.elapsed() >= JOURNAL_EVERY || acked - last_bytes >= JOURNAL_BYTES {
                let _ = write_journal(&first, job, &part, &now).await;
                (last_time, last_bytes) = (Instant::now(), acked);
            }
        }
    };
    let results = tokio::select! {
        results = futures_util::future::join_all(senders) => results,
        never = journal => never,
    };
    if let Some(failed) = results.into_iter().find_map(Result::err) {
        // What the server acknowledged, for the next run to continue from.
        let _ = write_journal(&first, job, &part, &snapshot()).await;
        return Err(failed);
    }
    finish(&first, job, &part, cx).await
}

/// `-p`, then the rename over the target; the journal goes.
async fn finish(sftp: &Sftp, job: &Job, part: &str, cx: &Context<'_>) -> Result<(), Failed> {
    if cx.preserve {
        sftp.raw
            .setstat(part, preserved(job))
            .await
            .map_err(|e| Failed::sftp(&e, part))?;
    }
    put_in_place(sftp, part, &job.remote).await?;
    let journal = journal_path(part);
    let _ = sftp.raw.remove(journal.as_str()).await;
    let _ = sftp.raw.remove(format!("{journal}.new")).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(size: u64) -> Job {
        Job {
            remote: "r".into(),
            local: "l".into(),
            size,
            mtime: Some(1_700_000_000),
            atime: None,
            mode: None,
        }
    }

    #[test]
    fn segments_cover_the_file() {
        let s = fresh_segments(10, 4);
        assert_eq!(s.first().unwrap().start, 0);
        assert_eq!(s.last().unwrap().end, 10);
        assert!(s.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(fresh_segments(1, 8).len(), 1);
    }

    #[test]
    fn a_journal_is_read_back_only_for_the_same_source() {
        let mut segments = fresh_segments(1000, 3);
        segments[1].done += 7;
        let text = journal_text(&job(1000), &segments);
        assert_eq!(parse_journal(&text, &job(1000)), Some(segments));
        assert_eq!(parse_journal(&text, &job(1001)), None);
        let mut changed = job(1000);
        changed.mtime = Some(1);
        assert_eq!(parse_journal(&text, &changed), None);
        assert_eq!(
            parse_journal(
                "rk-cp segments 1\nsize 1000 mtime 1700000000\n0 10 11\n",
                &job(1000)
            ),
            None
        );
        assert_eq!(parse_journal("garbage", &job(1000)), None);
    }
}
