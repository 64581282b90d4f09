//! One progress line for the whole job, as `rsync --info=progress2`: bytes, rate, ETA, files
//! done. Drawn only on a terminal and never with `-q`; messages go above it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    files: usize,
    done: AtomicUsize,
    /// Bytes moved over the network this run (resumed bytes are not counted).
    moved: AtomicU64,
}

impl Progress {
    pub(crate) fn new(total_bytes: u64, files: usize, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bytes}/{total_bytes} {percent:>3}% {binary_bytes_per_sec} ETA {eta} · {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let progress = Progress {
            bar,
            files,
            done: AtomicUsize::new(0),
            moved: AtomicU64::new(0),
        };
        progress.show_files();
        progress
    }

    fn show_files(&self) {
        if let Some(bar) = &self.bar {
            let done = self.done.load(Ordering::Relaxed);
            bar.set_message(format!("{done}/{} files", self.files));
        }
    }

    /// Bytes that arrived or were acknowledged.
    pub(crate) fn add(&self, bytes: u64) {
        self.moved.fetch_add(bytes, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Bytes a partial file already had.
    pub(crate) fn resumed(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// After a lost connection: the bar shows only the bytes of files that are finished; the
    /// partial copies of the others count again as they are continued.
    pub(crate) fn rewind_to(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    pub(crate) fn file_done(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.show_files();
    }

    /// Bytes moved over the network so far.
    pub(crate) fn moved(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// A line on stderr, above the progress line.
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}
