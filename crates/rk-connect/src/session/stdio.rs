//! `-W HOST:PORT`: standard input and output joined to a connection the cluster makes to
//! HOST:PORT, as `ssh -W`, so rk-connect can be the ProxyCommand of OpenSSH, VS Code or git
//! (`ProxyCommand rk-connect -W %h:%p uprod_00Grm@3.80.3.168`).

use std::io::Write;

use russh::ChannelMsg;

use rk_ssh::Connection;

use super::input::stdin_chunks;
use crate::{console, error::Error};

/// `HOST:PORT` or `[IPV6]:PORT`.
pub(crate) fn parse_target(spec: &str) -> Result<(String, u16), Error> {
    let usage = || {
        Error::Usage(format!(
            "-W {spec:?}: expected HOST:PORT, e.g. -W node2:22 or -W [::1]:8888"
        ))
    };
    let (host, port) = spec.rsplit_once(':').ok_or_else(usage)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p != 0).ok_or_else(usage)?;
    if host.is_empty() || host.contains(':') && !spec.starts_with('[') {
        return Err(usage());
    }
    Ok((host.to_string(), port))
}

/// Moves bytes until both sides are done: end of input is passed on as EOF, and the run ends
/// when the cluster closes the connection. Exit status 0, as ssh -W.
pub(crate) async fn forward_stdio(
    connection: &Connection,
    (host, port): &(String, u16),
) -> Result<i32, Error> {
    let channel = connection.open_direct_tcpip(host, *port, None).await?;
    let (mut reader, writer) = channel.split();
    let mut input = stdin_chunks();
    let mut input_open = true;
    let mut out = console::stdout();
    let mut ending = console::EndEvents::new();
    loop {
        tokio::select! {
            msg = reader.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    if out.write_all(&data).and_then(|()| out.flush()).is_err() {
                        break;
                    }
                }
                // After the cluster side's EOF, input may still flow until it closes.
                Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
            chunk = input.recv(), if input_open => match chunk {
                Some(data) => {
                    if writer.data_bytes(data).await.is_err() {
                        break;
                    }
                }
                None => {
                    input_open = false;
                    let _ = writer.eof().await;
                }
            },
            why = ending.next() => return Err(Error::Signal(why)),
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_target;

    #[test]
    fn targets() {
        assert_eq!(parse_target("node2:22").unwrap(), ("node2".into(), 22));
        assert_eq!(parse_target("[::1]:8888").unwrap(), ("::1".into(), 8888));
        assert_eq!(
            parse_target("127.0.0.1:32100").unwrap(),
            ("127.0.0.1".into(), 32100)
        );
        for bad in [
            "node2", "node2:", ":22", "node2:0", "node2:x", "::1:22", "[]:22",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
