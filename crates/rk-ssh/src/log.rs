//! What a connection tells the user on stderr, under the tool's own name: `-v` steps with the
//! time since start, informational notices (which port answered, a host key remembered) that
//! `-q` turns off as with ssh, and warnings, which are always shown.

use std::time::Instant;

/// The tool's voice on stderr. Small and `Copy`, so every part of a connection carries its own.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    /// The tool's name, which starts every line ("rk-connect", "rk-cp").
    pub tool: &'static str,
    start: Instant,
    /// `-v`: the connection steps.
    pub verbose: bool,
    /// `-q` (LogLevel QUIET/FATAL/ERROR): no notices.
    pub quiet: bool,
}

impl Log {
    pub fn new(tool: &'static str, verbose: bool, quiet: bool) -> Log {
        Log {
            tool,
            start: Instant::now(),
            verbose,
            quiet,
        }
    }

    /// The same log, with `-q` as the ssh config finally says.
    #[must_use]
    pub fn with_quiet(self, quiet: bool) -> Log {
        Log { quiet, ..self }
    }

    /// `-v`: one connection step, with the time since the tool started.
    pub fn step(&self, msg: impl AsRef<str>) {
        if self.verbose {
            eprintln!(
                "{} [{:>7.3}s] {}",
                self.tool,
                self.start.elapsed().as_secs_f64(),
                msg.as_ref()
            );
        }
    }

    /// Something worth knowing that needs no action; left out with `-q`.
    pub fn notice(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            self.warn(msg);
        }
    }

    /// A notice in ssh's own words, without the tool's name ("Allocated port 40123 for remote
    /// forward…", which scripts look for); left out with `-q`.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A warning or a problem the run goes on despite: always shown.
    pub fn warn(&self, msg: impl AsRef<str>) {
        eprintln!("{}: {}", self.tool, msg.as_ref());
    }
}
