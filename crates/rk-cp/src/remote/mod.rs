//! The cluster's side: the logins of a run ([`Link`]), SFTP sessions on their channels
//! ([`Pool`]), and what rk-cp asks of them beyond reads and writes: attributes, listings,
//! folders, renames that replace.

mod link;
mod sftp;
mod tree;

pub(crate) use link::{Link, Shape};
pub(crate) use sftp::{Pool, Sftp, explain, is_status};
pub(crate) use tree::{RemoteEntry, list_tree, matching};
