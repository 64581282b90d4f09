//! The connection the listeners forward through: fixed for a plain session; with
//! `--reconnect`, replaced after each reconnection and empty while the link is down.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

type Handle = Arc<rk_ssh::Handle>;

/// How long a connection accepted while the link is down (`--reconnect`) waits for it to come
/// back before it is closed: bounded, never a hang.
pub(crate) const WAIT_FOR_LINK: Duration = Duration::from_secs(20);

/// The live connection, shared by every listener.
#[derive(Clone)]
pub(crate) struct Link(watch::Receiver<Option<Handle>>);

impl Link {
    pub(crate) fn new(handle: Handle) -> (watch::Sender<Option<Handle>>, Link) {
        let (tx, rx) = watch::channel(Some(handle));
        (tx, Link(rx))
    }

    /// The live connection, waiting up to `wait` while there is none.
    pub(crate) async fn current(&mut self, wait: Duration) -> Option<Handle> {
        let live = |h: &Option<Handle>| h.as_ref().is_some_and(|h| !h.is_closed());
        let ready = tokio::time::timeout(wait, self.0.wait_for(live)).await;
        match ready {
            Ok(Ok(handle)) => handle.clone(),
            _ => None,
        }
    }
}
