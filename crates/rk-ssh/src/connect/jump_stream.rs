//! A jump host's channel as the byte stream of the next hop's connection.
//!
//! russh queues each channel's incoming messages in a bounded queue. Used as it is, the channel
//! can deadlock the two connections: the inner session, waiting to write while the outer
//! channel's window is shut, stops reading; the outer session, waiting to hand data to the
//! full queue, stops reading too, and so never sees the window adjustment the inner write is
//! waiting for. Seen here as a 10 MB echo through a jump host stalling about one run in seven.
//! So a task takes the channel's data as it comes into a queue of its own, and the outer
//! session never waits on the inner one. What that queue can hold is bounded by the windows
//! the inner connection grants for its own channels.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelWriteHalf};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

pub(super) struct JumpStream {
    incoming: mpsc::UnboundedReceiver<Bytes>,
    /// Received but not yet read.
    pending: Bytes,
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    /// Kept so the channel stays open as long as the stream.
    _channel: ChannelWriteHalf<Msg>,
}

pub(super) fn stream(channel: Channel<Msg>) -> JumpStream {
    let (mut read, write) = channel.split();
    let (tx, incoming) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(msg) = read.wait().await {
            let sent = match msg {
                ChannelMsg::Data { data } => tx.send(data),
                ChannelMsg::Eof | ChannelMsg::Close => break,
                _ => Ok(()),
            };
            if sent.is_err() {
                break;
            }
        }
    });
    JumpStream {
        incoming,
        pending: Bytes::new(),
        writer: Box::pin(write.make_writer()),
        _channel: write,
    }
}

impl AsyncRead for JumpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pending.is_empty() {
            match self.incoming.poll_recv(cx) {
                Poll::Ready(Some(data)) => self.pending = data,
                // The channel ended: end of stream.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let chunk = self.pending.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for JumpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.writer.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.writer.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.writer.as_mut().poll_shutdown(cx)
    }
}
