//! The agent on Windows: a named pipe (`SSH_AUTH_SOCK`, else the Windows OpenSSH agent's), else
//! Pageant.

use std::time::Duration;

use tokio::net::windows::named_pipe::ClientOptions;

use super::Stream;

/// Where the Windows OpenSSH agent service listens.
pub(super) const OPENSSH_AGENT_PIPE: &str = r"\\.\pipe\openssh-ssh-agent";

/// ERROR_PIPE_BUSY: every instance is in use; wait for one.
const PIPE_BUSY: i32 = 231;

async fn pipe(path: &str) -> std::io::Result<Stream> {
    for _ in 0..40 {
        match ClientOptions::new().open(path) {
            Ok(client) => return Ok(Box::new(client)),
            Err(e) if e.raw_os_error() == Some(PIPE_BUSY) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "the agent's pipe stayed busy for 2 s",
    ))
}

pub(super) async fn connect() -> Result<(Stream, String), String> {
    if let Some(path) = std::env::var_os("SSH_AUTH_SOCK").filter(|p| !p.is_empty()) {
        let path = path.to_string_lossy().into_owned();
        return match pipe(&path).await {
            Ok(s) => Ok((s, path)),
            Err(e) => Err(format!(
                "cannot connect to the agent at {path} (SSH_AUTH_SOCK): {e}"
            )),
        };
    }
    let openssh = match pipe(OPENSSH_AGENT_PIPE).await {
        Ok(s) => return Ok((s, OPENSSH_AGENT_PIPE.to_string())),
        Err(e) => e,
    };
    match pageant::PageantStream::new().await {
        Ok(s) => Ok((Box::new(s), "Pageant".to_string())),
        Err(pageant) => Err(format!(
            "no agent: neither Pageant ({pageant}) nor the OpenSSH agent ({OPENSSH_AGENT_PIPE}: {openssh}) answered; start Pageant and add your .ppk, or pass -i KEY"
        )),
    }
}
