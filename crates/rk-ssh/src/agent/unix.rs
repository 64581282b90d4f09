//! The agent on Unix: the socket named by `SSH_AUTH_SOCK`.

use super::Stream;

pub(super) async fn connect() -> Result<(Stream, String), String> {
    let path = match std::env::var_os("SSH_AUTH_SOCK") {
        Some(p) if !p.is_empty() => p,
        _ => return Err("SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add your key".into()),
    };
    let place = path.to_string_lossy().into_owned();
    match tokio::net::UnixStream::connect(&path).await {
        Ok(s) => Ok((Box::new(s), place)),
        Err(e) => Err(format!("cannot connect to the agent at {place}: {e}")),
    }
}
