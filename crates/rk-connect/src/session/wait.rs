//! Waiting for the user to stop a run: Ctrl-C, SIGTERM, or closing the console window. One
//! place for it, so `-N` and `--reconnect` stop the same way.

use std::future::Future;

use rk_core::platform::interrupt::Interrupt;

use crate::console;

/// The ways a person ends a run that has no session of its own (`-N`).
pub(crate) struct Stop {
    ending: console::EndEvents,
}

impl Stop {
    /// Takes Ctrl-C and SIGTERM from the default handlers (which would end the process
    /// mid-write) for the rest of the run.
    pub(crate) fn new() -> Stop {
        rk_core::interrupt::defer_to_program(&[Interrupt::CtrlC, Interrupt::Terminate]);
        Stop {
            ending: console::EndEvents::new(),
        }
    }

    /// Runs `work` until it finishes (`Some`) or the user stops the run (`None`).
    pub(crate) async fn or<F: Future>(&mut self, work: F) -> Option<F::Output> {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => None,
            _ = self.ending.next() => None,
            out = work => Some(out),
        }
    }
}
