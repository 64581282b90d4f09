//! The TCP connection: trying the platform's ports in turn, the connect timeout, and the
//! stream that keeps TCP quick ACKs on.

use std::time::{Duration, Instant};

use crate::{error::Error, log::Log, options::ConnectOptions};

/// TCP to `host` on the first of `ports` that answers; with `--wait`, retried with a capped
/// backoff while the host refuses or cannot be reached (the cluster still starting).
pub(super) async fn connect_tcp(
    host: &str,
    ports: &[u16],
    options: &ConnectOptions,
    log: &Log,
) -> Result<(tokio::net::TcpStream, u16), Error> {
    let per_try = if ports.len() > 1 {
        Duration::from_secs(options.connect_timeout().clamp(1, 5))
    } else {
        Duration::from_secs(options.connect_timeout().max(1))
    };
    let wait_until = options
        .wait
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut backoff = Duration::from_millis(500);
    loop {
        let mut last_error = None;
        for &port in ports {
            log.step(format!("connecting to {host} port {port}"));
            match tokio::time::timeout(per_try, tokio::net::TcpStream::connect((host, port))).await
            {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    log.step("TCP connected");
                    return Ok((stream, port));
                }
                Ok(Err(e)) => last_error = Some((port, Some(e))),
                Err(_) => last_error = Some((port, None)),
            }
        }
        let (port, error) = last_error.expect("at least one port");
        let resolvable = !matches!(&error, Some(e) if e.kind() == std::io::ErrorKind::Other || e.to_string().contains("lookup"));
        if let Some(deadline) = wait_until.filter(|_| resolvable) {
            let now = Instant::now();
            if now < deadline {
                log.warn(format!(
                    "{host} does not accept connections yet; retrying ({} s left)…",
                    (deadline - now).as_secs()
                ));
                tokio::time::sleep(backoff.min(deadline - now)).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        }
        let tried = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        let host = host.to_string();
        return Err(match error {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Error::Refused { host, ports: tried }
            }
            Some(error) if !resolvable => Error::Resolve { host, error },
            Some(error) => Error::Unreachable { host, port, error },
            None => Error::TimedOut { host, ports: tried },
        });
    }
}

/// The TCP stream with TCP_QUICKACK re-armed after every read. Linux turns quick ACKs off
/// after a while; then sshd's own Nagle meets our delayed ACK at channel open and costs ~40 ms
/// per round trip (measured: connect+exec 147 ms → ~105 ms).
pub(super) struct QuickAck(pub(super) tokio::net::TcpStream);

impl QuickAck {
    fn rearm(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let one: libc::c_int = 1;
            // SAFETY: setsockopt on our own socket with a valid int option value.
            unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

impl tokio::io::AsyncRead for QuickAck {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let poll = std::pin::Pin::new(&mut self.0).poll_read(cx, buf);
        if poll.is_ready() {
            self.rearm();
        }
        poll
    }
}

impl tokio::io::AsyncWrite for QuickAck {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
