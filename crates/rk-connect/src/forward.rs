//! Tunnels: `-L` local forwards and `-D` SOCKS proxies through `direct-tcpip` channels.
//!
//! Each accepted connection gets its own channel, pumped both ways by [`crate::pump`]; one
//! failing connection never disturbs the others.

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::Error;
use crate::handler::Connection;
use crate::pump::pump;

/// `[BIND:]PORT:HOST:HOSTPORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalForward {
    pub bind: Option<String>,
    pub port: u16,
    pub host: String,
    pub host_port: u16,
}

/// `[BIND:]PORT` for -D.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicForward {
    pub bind: Option<String>,
    pub port: u16,
}

/// Splits on ':' outside brackets, dropping the brackets ("[::1]:80" → ["::1", "80"]).
fn fields(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in spec.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn port(s: &str, spec: &str) -> Result<u16, Error> {
    s.parse::<u16>()
        .map_err(|_| Error::Usage(format!("{spec:?}: {s:?} is not a port number")))
}

pub fn parse_local(spec: &str) -> Result<LocalForward, Error> {
    parse_forward("-L", spec, "-L 8888:localhost:8888")
}

/// `-R [BIND:]PORT:HOST:HOSTPORT`: the same fields, the listening side on the cluster.
pub fn parse_remote(spec: &str) -> Result<LocalForward, Error> {
    parse_forward("-R", spec, "-R 27000:licence.example.org:27000")
}

fn parse_forward(flag: &str, spec: &str, example: &str) -> Result<LocalForward, Error> {
    let f = fields(spec);
    let (bind, rest) = match f.len() {
        3 => (None, &f[..]),
        4 => (Some(f[0].clone()), &f[1..]),
        _ => {
            return Err(Error::Usage(format!(
                "{flag} {spec:?}: expected [BIND:]PORT:HOST:HOSTPORT, e.g. {example}"
            )));
        }
    };
    let host_port = port(&rest[2], spec)?;
    if host_port == 0 || rest[1].is_empty() {
        return Err(Error::Usage(format!(
            "{flag} {spec:?}: the destination needs a host and a port"
        )));
    }
    Ok(LocalForward {
        bind: bind.filter(|b| !b.is_empty()),
        port: port(&rest[0], spec)?,
        host: rest[1].clone(),
        host_port,
    })
}

pub fn parse_dynamic(spec: &str) -> Result<DynamicForward, Error> {
    parse_listen_address("-D", spec, "-D 1080")
}

/// `[BIND:]PORT`: where something listens (-D, and the ~C cancels -KL/-KR/-KD).
pub(crate) fn parse_listen_address(
    flag: &str,
    spec: &str,
    example: &str,
) -> Result<DynamicForward, Error> {
    let f = fields(spec);
    match f.len() {
        1 => Ok(DynamicForward {
            bind: None,
            port: port(&f[0], spec)?,
        }),
        2 => Ok(DynamicForward {
            bind: Some(f[0].clone()).filter(|b| !b.is_empty()),
            port: port(&f[1], spec)?,
        }),
        _ => Err(Error::Usage(format!(
            "{flag} {spec:?}: expected [BIND:]PORT, e.g. {example}"
        ))),
    }
}

/// Binds a listener: 127.0.0.1 unless a bind address is given or gateway ports are on (like
/// PuTTY: local connections only by default).
pub async fn listen(bind: &Option<String>, port: u16, gateway: bool) -> Result<TcpListener, Error> {
    let addr = match bind.as_deref() {
        Some("*") => "0.0.0.0".to_string(),
        Some(b) => b.to_string(),
        None if gateway => "0.0.0.0".to_string(),
        None => "127.0.0.1".to_string(),
    };
    TcpListener::bind((addr.as_str(), port))
        .await
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::AddrInUse {
                Error::PortInUse { addr, port }
            } else {
                Error::Listen { addr, port, error }
            }
        })
}

type Handle = Arc<Connection>;

/// How long a connection accepted while the link is down (`--reconnect`) waits for it to come
/// back before it is closed: bounded, never a hang.
pub(crate) const WAIT_FOR_LINK: Duration = Duration::from_secs(20);

/// The connection the listeners forward through: fixed for a plain session; with
/// `--reconnect`, replaced after each reconnection and empty while the link is down.
#[derive(Clone)]
pub(crate) struct Link(watch::Receiver<Option<Handle>>);

impl Link {
    pub(crate) fn new(handle: Handle) -> (watch::Sender<Option<Handle>>, Link) {
        let (tx, rx) = watch::channel(Some(handle));
        (tx, Link(rx))
    }

    /// The live connection, waiting up to `wait` while there is none.
    pub(crate) async fn current(&mut self, wait: Duration) -> Option<Handle> {
        let live = |h: &Option<Handle>| h.as_ref().is_some_and(|h| !h.is_closed());
        let ready = tokio::time::timeout(wait, self.0.wait_for(live)).await;
        match ready {
            Ok(Ok(handle)) => handle.clone(),
            _ => None,
        }
    }
}

/// Serves a `-L` listener until the session ends.
pub async fn serve_local(listener: TcpListener, fwd: LocalForward, link: Link, verbose: bool) {
    loop {
        let Ok((socket, peer)) = listener.accept().await else {
            continue;
        };
        let (mut link, fwd) = (link.clone(), fwd.clone());
        tokio::spawn(async move {
            let Some(handle) = link.current(WAIT_FOR_LINK).await else {
                if verbose {
                    eprintln!("rk-connect: {peer}: no connection to the cluster; closed\r");
                }
                return;
            };
            if let Err(e) = tunnel(&handle, socket, peer, &fwd.host, fwd.host_port).await
                && verbose
            {
                eprintln!("rk-connect: {peer} → {}:{}: {e}", fwd.host, fwd.host_port);
            }
        });
    }
}

/// Serves a `-D` SOCKS4a/5 listener until the session ends.
pub async fn serve_socks(listener: TcpListener, link: Link, verbose: bool) {
    loop {
        let Ok((socket, peer)) = listener.accept().await else {
            continue;
        };
        let mut link = link.clone();
        tokio::spawn(async move {
            let Some(handle) = link.current(WAIT_FOR_LINK).await else {
                return;
            };
            if let Err(e) = socks(&handle, socket, peer).await
                && verbose
            {
                eprintln!("rk-connect: SOCKS client {peer}: {e}");
            }
        });
    }
}

/// One forwarded connection: open the channel, then pump both ways with half-close.
async fn tunnel(
    handle: &Handle,
    socket: TcpStream,
    peer: SocketAddr,
    host: &str,
    port: u16,
) -> Result<(), String> {
    let _ = socket.set_nodelay(true);
    let channel = handle
        .channel_open_direct_tcpip(
            host,
            u32::from(port),
            peer.ip().to_string(),
            u32::from(peer.port()),
        )
        .await
        .map_err(|e| format!("the cluster could not connect: {e}"))?;
    pump(socket, channel).await
}

/// A SOCKS4a or SOCKS5 (no authentication, CONNECT only) handshake, then a tunnel.
async fn socks(handle: &Handle, mut socket: TcpStream, peer: SocketAddr) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let version = socket.read_u8().await.map_err(io)?;
    let (host, port) = match version {
        5 => {
            let n = socket.read_u8().await.map_err(io)?;
            let mut methods = vec![0u8; usize::from(n)];
            socket.read_exact(&mut methods).await.map_err(io)?;
            if !methods.contains(&0) {
                socket.write_all(&[5, 0xff]).await.map_err(io)?;
                return Err("the client offers no method without authentication".into());
            }
            socket.write_all(&[5, 0]).await.map_err(io)?;
            let mut head = [0u8; 4];
            socket.read_exact(&mut head).await.map_err(io)?;
            if head[1] != 1 {
                socket
                    .write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0])
                    .await
                    .map_err(io)?;
                return Err("only CONNECT is supported".into());
            }
            let host = match head[3] {
                1 => {
                    let mut a = [0u8; 4];
                    socket.read_exact(&mut a).await.map_err(io)?;
                    std::net::Ipv4Addr::from(a).to_string()
                }
                3 => {
                    let len = socket.read_u8().await.map_err(io)?;
                    let mut name = vec![0u8; usize::from(len)];
                    socket.read_exact(&mut name).await.map_err(io)?;
                    String::from_utf8(name).map_err(|_| "host name is not UTF-8".to_string())?
                }
                4 => {
                    let mut a = [0u8; 16];
                    socket.read_exact(&mut a).await.map_err(io)?;
                    std::net::Ipv6Addr::from(a).to_string()
                }
                t => return Err(format!("unknown address type {t}")),
            };
            let port = socket.read_u16().await.map_err(io)?;
            (host, port)
        }
        4 => {
            let command = socket.read_u8().await.map_err(io)?;
            let port = socket.read_u16().await.map_err(io)?;
            let mut ip = [0u8; 4];
            socket.read_exact(&mut ip).await.map_err(io)?;
            read_cstr(&mut socket).await?; // user id, unused
            let host = if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 {
                read_cstr(&mut socket).await? // SOCKS4a: the name follows
            } else {
                std::net::Ipv4Addr::from(ip).to_string()
            };
            if command != 1 {
                socket
                    .write_all(&[0, 91, 0, 0, 0, 0, 0, 0])
                    .await
                    .map_err(io)?;
                return Err("only CONNECT is supported".into());
            }
            (host, port)
        }
        v => return Err(format!("not a SOCKS 4 or 5 client (version byte {v})")),
    };
    let channel = handle
        .channel_open_direct_tcpip(
            host.as_str(),
            u32::from(port),
            peer.ip().to_string(),
            u32::from(peer.port()),
        )
        .await;
    let ok = channel.is_ok();
    let reply: &[u8] = match (version, ok) {
        (5, true) => &[5, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        (5, false) => &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0],
        (_, true) => &[0, 90, 0, 0, 0, 0, 0, 0],
        (_, false) => &[0, 91, 0, 0, 0, 0, 0, 0],
    };
    socket.write_all(reply).await.map_err(io)?;
    let channel =
        channel.map_err(|e| format!("the cluster could not connect to {host}:{port}: {e}"))?;
    let _ = socket.set_nodelay(true);
    pump(socket, channel).await
}

async fn read_cstr(socket: &mut TcpStream) -> Result<String, String> {
    let mut out = Vec::new();
    loop {
        let b = socket.read_u8().await.map_err(|e| e.to_string())?;
        if b == 0 {
            return String::from_utf8(out).map_err(|_| "not UTF-8".into());
        }
        if out.len() > 255 {
            return Err("SOCKS4 field too long".into());
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse_local("8888:localhost:8888").unwrap(),
            LocalForward {
                bind: None,
                port: 8888,
                host: "localhost".into(),
                host_port: 8888
            }
        );
        assert_eq!(
            parse_local("[::1]:0:[2600::5]:22").unwrap(),
            LocalForward {
                bind: Some("::1".into()),
                port: 0,
                host: "2600::5".into(),
                host_port: 22
            }
        );
        assert_eq!(
            parse_local("*:80:web:8080").unwrap().bind.as_deref(),
            Some("*")
        );
        assert!(parse_local("8888:localhost").is_err());
        assert!(parse_local("x:localhost:80").is_err());
        assert!(parse_local("80:host:0").is_err());
        assert_eq!(
            parse_dynamic("1080").unwrap(),
            DynamicForward {
                bind: None,
                port: 1080
            }
        );
        assert_eq!(
            parse_dynamic("0.0.0.0:1080").unwrap().bind.as_deref(),
            Some("0.0.0.0")
        );
    }
}
