//! `rk-ssh`: how rk's network tools reach a cluster over SSH, on tokio and russh. Everything up
//! to an authenticated connection lives here; what runs over it (a shell, tunnels, file copies)
//! belongs to the tools.
//!
//! The story, in order:
//! 1. [`Route::resolve`] turns a [`RouteRequest`] (the tool's command line) into hops: the
//!    destination from the command line, a job log or the saved job, the ssh config's
//!    Host/Match blocks, `-J`/ProxyJump jump hosts and `--node`, and the keys each hop gets.
//! 2. [`ConnectOptions`] say how (known_hosts policy, timeouts, keepalive, ciphers, batch mode);
//!    [`ConnectOptions::fill_from_config`] fills what the command line left open.
//! 3. [`Connector::new`] reads the keys once; [`Connector::connect`] reaches each hop (ports
//!    32100 then 22 for the head node), checks its host key, and logs in (agent, key files,
//!    keyboard-interactive, password), asking the user only through [`Prompt`].
//! 4. The [`Connection`] opens session, subsystem (`sftp`) and `direct-tcpip` channels.
//!
//! The tools take the flags for all of this as one group, [`ConnectArgs`].
//!
//! Every failure is an [`Error`] whose message names the next step; messages name the tool
//! through [`Log`].

mod agent;
mod args;
mod auth;
mod connect;
mod error;
mod log;
mod options;
mod prompt;
pub mod reconnect;
mod route;

pub use agent::forwardable as agent_to_forward;
pub use args::ConnectArgs;
pub use connect::{Client, Connection, Connector, ForwardedTcpip, Handle, direct_tcpip};
pub use error::{EXIT_CONNECTION, Error, NotAsked};
pub use log::Log;
pub use options::{ConnectOptions, HostKeyPolicy, bad_value, parse_size};
pub use prompt::{
    Askpass, HostKeyAnswer, NewHostKey, Prompt, Question, Terminal, for_user as user_prompt,
};
pub use route::{Hop, Route, RouteRequest};

/// Re-exported so that tools name channel types without depending on russh's paths.
pub use russh::{Channel, ChannelMsg, client::Msg};
