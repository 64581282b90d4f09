//! Loopback servers and clients: free ports, an echo server, a one-page HTTP server, a fake
//! (non-SSH) server.

use std::time::{Duration, Instant};

/// An HTTP/1.0 server on loopback answering `requests` requests with `body`; its port.
pub fn one_page_server(body: &'static str, requests: usize) -> u16 {
    use std::io::{Read, Write};
    let http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = http.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in http.incoming().take(requests) {
            let Ok(mut conn) = conn else { continue };
            let mut req = [0u8; 4096];
            let _ = conn.read(&mut req);
            let _ = write!(
                conn,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// One HTTP/1.0 request to 127.0.0.1:`port` (e.g. through a tunnel); the whole response, or
/// the connection error.
pub fn http_get(port: u16) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(Duration::from_secs(20)))?;
    c.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut response = String::new();
    c.read_to_string(&mut response)?;
    Ok(response)
}

/// A free port below 32768 (outside Linux's ephemeral range), tried at random.
pub fn free_low_port() -> u16 {
    loop {
        let candidate = 20000
            + (std::process::id() as u64 * 7919
                + Instant::now().elapsed().as_nanos() as u64
                + rand_u64()) as u16
                % 12000;
        if std::net::TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            return candidate;
        }
    }
}

pub(crate) fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// A free TCP port on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP echo server on 127.0.0.1 (a thread per connection; echoes as it reads and closes its
/// write side after the client's EOF). Stops accepting when dropped.
pub struct EchoServer {
    pub port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl EchoServer {
    pub fn start() -> EchoServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = conn.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        EchoServer { port, stop }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Sends `payload` through a TCP connection, half-closes, and returns everything read back.
pub fn round_trip(port: u16, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = conn.try_clone()?;
    let data = payload.to_vec();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        writer.write_all(&data)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut back = Vec::new();
    conn.read_to_end(&mut back)?;
    sender.join().expect("sender thread")?;
    Ok(back)
}

/// `count` connections at once through `port`, each sending 1 MiB (distinct per connection)
/// and checking every byte of the echo; the first failure is returned.
pub fn concurrent_echo(port: u16, count: u32) -> Result<(), String> {
    let workers: Vec<_> = (0..count)
        .map(|i| {
            std::thread::spawn(move || {
                let data: Vec<u8> = (0..1024 * 1024u32)
                    .map(|j| (j ^ i).wrapping_mul(31) as u8)
                    .collect();
                match round_trip(port, &data) {
                    Ok(back) if back == data => Ok(()),
                    Ok(back) => Err(format!(
                        "connection {i}: {} bytes back, differing",
                        back.len()
                    )),
                    Err(e) => Err(format!("connection {i}: {e}")),
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for w in workers {
        if let Err(e) = w
            .join()
            .map_err(|_| "worker panicked".to_string())
            .and_then(|r| r)
        {
            failures.push(e);
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} of {count} connections failed; first: {first}",
            failures.len()
        )),
    }
}

/// A server on 127.0.0.1 (not SSH) that greets each of its first 4 connections with `greeting()`
/// (an empty one: a server that never speaks) (written repeatedly
/// while `repeat` is set, until the client goes away), then holds the connection open.
pub fn fake_server(greeting: fn() -> Vec<u8>, repeat: bool) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().take(4) {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let data = greeting();
                loop {
                    if std::io::Write::write_all(&mut conn, &data).is_err() || !repeat {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_secs(20));
            });
        }
    });
    port
}

/// Moves the calling test's thread, and every process it starts from then on, into a network
/// namespace of its own with only a loopback interface: a test can then rely on the ports it
/// names (the platform's 32100 and 22) being free, whatever this machine runs. Needs root, as
/// CI runs the suite. The rk binaries are built first (cargo may want the network).
pub fn own_network() {
    crate::bin("rk-connect");
    // SAFETY: unshare has no memory-safety preconditions; it changes this thread's namespaces.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert!(
        rc == 0,
        "unshare(CLONE_NEWNET): {} (this test needs root, as CI runs it)",
        std::io::Error::last_os_error()
    );
    use crate::OutputExt;
    crate::run(std::process::Command::new("ip").args(["link", "set", "lo", "up"]))
        .assert_ok("ip link set lo up (apt-get install -y iproute2)");
}
