//! Moving one forwarded connection's bytes between its TCP socket and its SSH channel, both
//! ways, with half-close; used by -L, -D and -R alike.
//!
//! Upload (socket → cluster) reads up to 256 KiB at a time and sends with `data_bytes` (russh
//! splits it into packets; 8 KiB reads cost ~7× the syscalls). Download (cluster → socket)
//! hands every packet that is already waiting to one `writev`, so sshd's 32 KiB packets cost
//! one syscall per batch and are never copied on this side. EOF is passed on both ways.
//!
//! Memory: the read buffers (upload) and the queued packets (download) share one 4 MiB budget.
//! Up to 16 connections get 256 KiB; with 200 busy connections each gets 16 KiB. Measured
//! (`cargo xtask bench tunnel`, release, peak RSS over 12 rounds of 200 × 1 MiB echoes): 119 MiB
//! with 256 KiB each way per connection, 59–65 MiB with the budget on uploads only, 25–30 MiB
//! with it on both (ssh -L: 114–188 MiB); total time unchanged, single-connection throughput
//! unchanged.

use std::future::Future;
use std::io::IoSlice;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use russh::{ChannelReadHalf, ChannelWriteHalf, client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// What the read buffers and queued packets of all connections together may hold.
const BUFFER_BUDGET: usize = 4 * 1024 * 1024;
const MIN_READ: usize = 16 * 1024;
const MAX_READ: usize = 256 * 1024;
/// Packets handed to one `writev` (Linux allows 1024; 256 KiB of 32 KiB packets is 8).
const MAX_SLICES: usize = 64;

/// Connections being pumped right now (across all forwards of this process).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Forwarded connections (-L, -D, -R) open right now, for `~#`.
pub(crate) fn active_connections() -> usize {
    ACTIVE.load(Ordering::Relaxed)
}

/// Counts one connection as active while it lives.
struct Active;

impl Active {
    fn enter() -> Active {
        ACTIVE.fetch_add(1, Ordering::Relaxed);
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// This connection's largest read or write: its share of the budget, a power of two in
/// 16–256 KiB.
fn read_cap(active: usize) -> usize {
    let share = BUFFER_BUDGET / active.max(1);
    if share >= MAX_READ {
        MAX_READ
    } else if share <= MIN_READ {
        MIN_READ
    } else {
        // Round down to a power of two.
        1 << (usize::BITS - 1 - share.leading_zeros())
    }
}

/// Polls `future` once: its output if it is ready now, without waiting or arming a timer.
/// Only for futures that are safe to drop unfinished (a channel receive is).
fn ready_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

/// Writes all of `packets` to the socket, as many per `writev` as it takes, uncopied.
async fn write_packets(socket: &mut OwnedWriteHalf, packets: &mut [Bytes]) -> std::io::Result<()> {
    let mut first = 0;
    while first < packets.len() {
        let written = {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (slice, packet) in slices.iter_mut().zip(&packets[first..]) {
                *slice = IoSlice::new(packet);
                count += 1;
            }
            socket.write_vectored(&slices[..count]).await?
        };
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        // Drop what was written: whole packets, then the front of a partly written one.
        let mut left = written;
        while left > 0 {
            let packet = &mut packets[first];
            if left >= packet.len() {
                left -= packet.len();
                first += 1;
            } else {
                *packet = packet.slice(left..);
                left = 0;
            }
        }
    }
    Ok(())
}

/// Pumps one connection both ways (upload and download under the shared budget), with
/// half-close.
pub(crate) async fn pump(
    socket: TcpStream,
    channel: russh::Channel<client::Msg>,
) -> Result<(), String> {
    let _active = Active::enter();
    let (reader, writer) = channel.split();
    let (sock_read, sock_write) = socket.into_split();
    // Upload may finish first (half-close); the connection ends when the download does.
    let up = tokio::spawn(upload(sock_read, writer));
    download(reader, sock_write).await;
    up.abort();
    Ok(())
}

/// Socket → cluster, until the socket's end (passed on as EOF).
async fn upload(mut sock_read: OwnedReadHalf, writer: ChannelWriteHalf<client::Msg>) {
    // Reads land in a buffer that is then handed to russh as it is (no copy on this side). Its
    // size starts small and grows while reads fill it, up to this connection's share of the
    // budget: a bulk transfer reaches 256 KiB reads, hundreds of busy connections stay small.
    let mut size = MIN_READ;
    loop {
        // A fresh buffer each time: the last one is russh's until it has been sent.
        let mut buf = BytesMut::with_capacity(size);
        match sock_read.read_buf(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = writer.eof().await;
                return;
            }
            Ok(n) => {
                if writer.data_bytes(buf.freeze()).await.is_err() {
                    return;
                }
                let cap = read_cap(ACTIVE.load(Ordering::Relaxed));
                if n >= size && size < cap {
                    size *= 2;
                } else if size > cap {
                    // More connections arrived since: read less at a time.
                    size = cap;
                }
            }
        }
    }
}

/// Cluster → socket, until the channel closes; the far end's EOF half-closes the socket.
async fn download(mut reader: ChannelReadHalf, mut sock_write: OwnedWriteHalf) {
    // Packets that are already waiting go out in one `writev` (up to this connection's share
    // of the budget): a write per 32 KiB packet costs ~8× the syscalls, and copying them into
    // one buffer cost ~9% of the CPU of a download.
    let mut queue: Vec<Bytes> = Vec::with_capacity(MAX_SLICES);
    let mut next = reader.wait().await;
    while let Some(msg) = next.take() {
        match msg {
            russh::ChannelMsg::Data { data } => {
                let cap = read_cap(ACTIVE.load(Ordering::Relaxed));
                let mut queued = data.len();
                queue.push(data);
                while queued < cap && queue.len() < MAX_SLICES {
                    match ready_now(reader.wait()) {
                        Some(Some(russh::ChannelMsg::Data { data })) => {
                            queued += data.len();
                            queue.push(data);
                        }
                        Some(other) => {
                            next = other;
                            break;
                        }
                        None => break,
                    }
                }
                let written = write_packets(&mut sock_write, &mut queue).await;
                queue.clear();
                if written.is_err() {
                    break;
                }
                if next.is_some() {
                    continue;
                }
            }
            // The far end finished sending: half-close our side, keep uploading.
            russh::ChannelMsg::Eof => {
                let _ = sock_write.shutdown().await;
            }
            russh::ChannelMsg::Close => break,
            _ => {}
        }
        next = reader.wait().await;
    }
    let _ = sock_write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_cap_shares_the_budget() {
        assert_eq!(read_cap(0), MAX_READ);
        assert_eq!(read_cap(1), MAX_READ);
        assert_eq!(read_cap(16), MAX_READ);
        assert_eq!(read_cap(17), 128 * 1024);
        assert_eq!(read_cap(100), 32 * 1024);
        assert_eq!(read_cap(200), MIN_READ);
        assert_eq!(read_cap(10_000), MIN_READ);
    }

    #[tokio::test]
    async fn ready_now_takes_only_what_is_waiting() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
        assert_eq!(ready_now(rx.recv()), None);
        tx.send(7).await.unwrap();
        assert_eq!(ready_now(rx.recv()), Some(Some(7)));
        drop(tx);
        assert_eq!(ready_now(rx.recv()), Some(None));
    }

    /// 12 MB of odd-sized packets is more than the socket buffers hold, so `writev` returns
    /// short counts, some of them inside a packet: every byte must still arrive once, in order.
    #[tokio::test]
    async fn packets_arrive_whole_and_in_order_through_short_writes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (_read_half, mut write_half) = client.into_split();
        let mut packets: Vec<Bytes> = (0..48usize)
            .map(|i| {
                (0..250_000 + i * 7)
                    .map(|j| (i * 31 + j) as u8)
                    .collect::<Vec<u8>>()
            })
            .map(Bytes::from)
            .collect();
        let expected = packets.concat();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap();
            got
        });
        write_packets(&mut write_half, &mut packets).await.unwrap();
        write_half.shutdown().await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes differ");
    }
}
