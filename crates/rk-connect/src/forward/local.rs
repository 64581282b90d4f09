//! Listeners on this side: `-L` local forwards and `-D` SOCKS proxies, each accepted connection
//! carried by its own `direct-tcpip` channel and pumped both ways by [`super::pump`]; one
//! failing connection never disturbs the others.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::link::{Link, WAIT_FOR_LINK};
use super::pump::pump;
use super::spec::LocalForward;
use crate::error::Error;

type Handle = rk_ssh::Handle;

/// Binds a listener: 127.0.0.1 unless a bind address is given or gateway ports are on (like
/// PuTTY: local connections only by default).
pub(crate) async fn listen(
    bind: &Option<String>,
    port: u16,
    gateway: bool,
) -> Result<TcpListener, Error> {
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

/// Serves a `-L` listener until the session ends.
pub(crate) async fn serve_local(
    listener: TcpListener,
    fwd: LocalForward,
    link: Link,
    verbose: bool,
) {
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
pub(crate) async fn serve_socks(listener: TcpListener, link: Link, verbose: bool) {
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
    let channel = rk_ssh::direct_tcpip(handle, host, port, Some(peer))
        .await
        .map_err(|e| format!("the cluster could not connect: {e}"))?;
    pump(socket, channel).await
}

/// A SOCKS4a or SOCKS5 (no authentication, CONNECT only) handshake, then a tunnel.
async fn socks(handle: &Handle, mut socket: TcpStream, peer: SocketAddr) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let version = socket.read_u8().await.map_err(io)?;
    let (host, port) = read_request(&mut socket, version).await?;
    let channel = rk_ssh::direct_tcpip(handle, &host, port, Some(peer)).await;
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

/// The SOCKS5 greeting and request, or the SOCKS4/4a request, after the version byte: where
/// the client wants to go (CONNECT only; anything else is answered with a refusal).
async fn read_request(socket: &mut TcpStream, version: u8) -> Result<(String, u16), String> {
    let io = |e: std::io::Error| e.to_string();
    let request = match version {
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
            read_cstr(socket).await?; // user id, unused
            let host = if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 {
                read_cstr(socket).await? // SOCKS4a: the name follows
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
    Ok(request)
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
