//! What one login needs (who logs in where, with which keys and options, asking through
//! which prompt), shared by the ways of logging in.

use super::identities::Identity;
use crate::{log::Log, options::ConnectOptions, prompt::Prompt};

/// Who logs in where, and with what.
pub(crate) struct Login<'a> {
    pub(crate) user: &'a str,
    pub(crate) host: &'a str,
    pub(crate) identities: &'a [Identity],
    pub(crate) options: &'a ConnectOptions,
    pub(crate) prompt: &'a dyn Prompt,
    pub(crate) log: &'a Log,
}

/// The method names of a russh method set, as the server sent them (`publickey`, `password`…).
pub(super) fn method_names(methods: &russh::MethodSet) -> Vec<String> {
    methods
        .iter()
        .map(|m| <&str>::from(m).to_string())
        .collect()
}
