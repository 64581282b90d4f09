//! Harness for rk's black-box tests: finds (and builds) the real binaries, runs them and the
//! real peers (ssh-keygen, puttygen, …) with a time bound, and kills every child it starts,
//! also when a test fails.

mod binaries;
mod net;
mod process;
mod pty;
mod sandbox;
mod sshd;
pub mod wine;
mod x11;

pub use binaries::*;
pub use net::*;
pub use process::*;
pub use pty::*;
pub use sandbox::*;
pub use sshd::*;
pub use x11::*;
