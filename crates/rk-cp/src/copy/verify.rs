//! `--verify`: each copied file's SHA-256 computed on both sides, here and on the cluster
//! (`sha256sum`, else `shasum -a 256`, run through an exec channel). A server with neither is
//! said so: the copy is then not claimed as verified.

use std::io::Read;
use std::path::Path;

use rk_ssh::{ChannelMsg, Connection};
use sha2::{Digest, Sha256};

/// The exit status of the script when the server has no SHA-256 tool.
const NO_TOOL: u32 = 127;

/// `path` quoted for the server's shell.
fn quoted(path: &str) -> String {
    format!("'{}'", path.replace('\'', r"'\''"))
}

fn local_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

async fn remote_sha256(connection: &Connection, path: &str) -> Result<String, String> {
    let p = quoted(path);
    let script = format!(
        "if command -v sha256sum >/dev/null 2>&1; then sha256sum -- {p}; \
         elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -- {p}; \
         else exit {NO_TOOL}; fi"
    );
    let mut channel = connection
        .open_exec(&script)
        .await
        .map_err(|e| format!("{path}: cannot verify: {e}"))?;
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    match status {
        Some(0) => {}
        Some(NO_TOOL) => {
            return Err(format!(
                "{path}: cannot verify: the cluster has neither sha256sum nor shasum"
            ));
        }
        _ => {
            return Err(format!(
                "{path}: cannot verify: the cluster's sha256sum failed: {}",
                String::from_utf8_lossy(&err).trim()
            ));
        }
    }
    let text = String::from_utf8_lossy(&out);
    let digest = text.split_whitespace().next().unwrap_or_default();
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{path}: cannot verify: unexpected answer {text:?}"));
    }
    Ok(digest.to_ascii_lowercase())
}

/// Compares the file here and the file on the cluster.
pub(crate) async fn verify(
    connection: &Connection,
    remote: &str,
    local: &Path,
) -> Result<(), String> {
    let theirs = remote_sha256(connection, remote).await?;
    let ours =
        local_sha256(local).map_err(|e| format!("{}: cannot verify: {e}", local.display()))?;
    if ours == theirs {
        Ok(())
    } else {
        Err(format!(
            "{}: SHA-256 differs from {remote} on the cluster ({ours} here, {theirs} there): \
             the file changed during the copy or was damaged; run the same command again",
            local.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(super::quoted("a b"), "'a b'");
        assert_eq!(super::quoted("it's"), r"'it'\''s'");
        assert_eq!(super::quoted("-x $(y)"), "'-x $(y)'");
    }
}
