//! How freed memory goes back to the system during bulk transfers.
//!
//! glibc hands freed memory at the top of its heap back to the kernel once more than 128 KiB
//! of it is free (a threshold that grows to twice the largest freed block). A tunnel moves data
//! in buffers of up to 256 KiB that russh frees once sent, so each new buffer was faulted in
//! again page by page: 3.8% of rk-connect's samples were page faults under the socket reads of
//! an upload (`perf record`, `-L` 1 GiB aes128-gcm), and with the thresholds below (tried first
//! through `GLIBC_TUNABLES`, same run) its CPU per GiB fell from 741 to 625 ms. Peak memory is
//! unchanged (what is kept is what was already in use); after a burst up to 16 MiB may stay
//! mapped until the process ends.
//!
//! Other platforms' allocators do not return memory this eagerly; there it does nothing.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn keep_freed_memory() {}
