//! The memory a run may hold in requests in flight, shared by every file: many big files at
//! once must not each take a file's full pipeline (32 files × 16 MiB). Counted in 16 KiB units;
//! a file that holds nothing may always wait for room, one that holds some never waits (it
//! first drains its own requests), so files cannot wait on each other.

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

const UNIT: u64 = 16 * 1024;

pub(crate) struct Budget(std::sync::Arc<Semaphore>);

impl Budget {
    /// Room for `bytes` in flight in all.
    pub(crate) fn new(bytes: u64) -> Budget {
        Budget(std::sync::Arc::new(Semaphore::new((bytes / UNIT) as usize)))
    }

    /// Room for a request of `len` bytes (at most the whole budget): at once, or (when the
    /// caller holds nothing in flight, `may_wait`) once other files release some. None: no
    /// room now.
    pub(crate) async fn take(&self, len: u64, may_wait: bool) -> Option<OwnedSemaphorePermit> {
        let units = u32::try_from(len.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        match std::sync::Arc::clone(&self.0).try_acquire_many_owned(units) {
            Ok(permit) => Some(permit),
            Err(TryAcquireError::NoPermits) if may_wait => std::sync::Arc::clone(&self.0)
                .acquire_many_owned(units)
                .await
                .ok(),
            Err(_) => None,
        }
    }
}
