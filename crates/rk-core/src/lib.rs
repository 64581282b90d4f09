//! rk-core: the domain shared by the rk tools — keys and their file formats, fingerprints,
//! safe key files, job-log scanning, and one error type with exit codes.
//!
//! It is synchronous and has no network code on purpose: `rk-keygen`, `rk-copy-pubkey` and
//! `rk-parse-log` link only this crate and stay small and instant; only `rk-connect` adds the
//! async SSH stack. Key types are `ssh_key`'s, which russh re-exports, so keys flow straight
//! into the SSH client.

pub mod destination;
pub mod error;
pub mod fingerprint;
pub mod fs;
pub mod interrupt;
pub mod joblog;
pub mod keys;
pub mod known_hosts;
pub mod platform;
pub mod ssh_config;
pub mod term;

pub use error::{Error, Result, exit};
pub use ssh_key;
