//! Forwards: what was asked ([`spec`]), the listeners on this side ([`local`]: `-L`, `-D`), the
//! cluster's listeners ([`remote`]: `-R`), the bytes pumped both ways ([`pump`]), the live
//! connection they all go through ([`link`]), and the set of a run's forwards, changed from
//! `~C` ([`tunnels`]).

pub(crate) mod link;
mod local;
pub(crate) mod pump;
pub(crate) mod remote;
pub(crate) mod spec;
pub(crate) mod tunnels;

pub(crate) use link::Link;
pub(crate) use spec::Forwards;
pub(crate) use tunnels::Tunnels;
