//! The cluster's side: SFTP sessions on channels of one login ([`Pool`]), and what rk-cp asks
//! of them beyond reads and writes: attributes, listings, folders, renames that replace.

mod sftp;
mod tree;

pub(crate) use sftp::{Pool, Sftp, explain, is_status};
pub(crate) use tree::{RemoteEntry, list_tree, matching};
