//! Connection hygiene for the HTTP API: a cap on concurrent connections, a
//! deadline for each request's headers, and an idle timeout.
//!
//! Any app on the device can reach 127.0.0.1, token or not, and the token is
//! only checked once a request's headers are in. Without these limits a
//! client that opens many connections and sends headers one byte at a time
//! (slowloris) holds a descriptor per connection for ever, until leash runs
//! out of them and stops answering. So:
//! - at most [`ConnectionLimits::max_connections`] are served at once; beyond
//!   that a new connection is accepted and closed at once (so it holds
//!   nothing, not even a slot in the kernel's backlog);
//! - each request's headers must be complete within
//!   [`ConnectionLimits::header_read`] of the connection (or of the previous
//!   response), however slowly they trickle;
//! - a connection on which nothing is read or written for
//!   [`ConnectionLimits::idle`] is closed (the event stream's keep-alive
//!   comments count as writes).
//!
//! Hand-written as an `axum::serve::Listener` because axum's `serve` exposes
//! no timeouts and hyper's `header_read_timeout` needs a serve loop of our own;
//! wrapping the stream keeps axum's graceful shutdown as it is.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The limits; [`ConnectionLimits::default`] is what the daemon uses.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once; one beyond is accepted and closed at once.
    pub max_connections: usize,
    /// Time a client has to send its request headers (slowloris).
    pub header_read: Duration,
    /// A connection with no traffic this long is closed.
    pub idle: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 256,
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(120),
        }
    }
}

/// A listener that enforces [`ConnectionLimits`].
#[derive(Debug)]
pub struct GuardedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    limits: ConnectionLimits,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, limits: ConnectionLimits) -> GuardedListener {
        GuardedListener {
            inner,
            permits: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
        }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedIo, SocketAddr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %err, "accepting an API connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => return (GuardedIo::new(stream, permit, self.limits), addr),
                Err(_) => {
                    tracing::warn!(%addr, max = self.limits.max_connections, "API connection cap reached; connection closed");
                    drop(stream);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's headers; the deadline is fixed.
    AwaitingHeaders,
    /// Headers are in; the deadline moves with every byte.
    Serving { responded: bool },
}

/// One accepted connection with its deadline and its slot.
#[derive(Debug)]
pub struct GuardedIo {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    deadline: Pin<Box<Sleep>>,
    phase: Phase,
    /// The last bytes read, to find `\r\n\r\n` across reads.
    tail: [u8; 3],
}

impl GuardedIo {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, limits: ConnectionLimits) -> GuardedIo {
        GuardedIo {
            stream,
            _permit: permit,
            limits,
            deadline: Box::pin(tokio::time::sleep(limits.header_read)),
            phase: Phase::AwaitingHeaders,
            tail: [0; 3],
        }
    }

    fn on_read(&mut self, bytes: &[u8]) {
        if let Phase::Serving { responded: true } = self.phase {
            // The next request begins: its headers get a fresh fixed deadline.
            self.phase = Phase::AwaitingHeaders;
            self.deadline
                .as_mut()
                .reset(Instant::now() + self.limits.header_read);
        }
        match self.phase {
            Phase::AwaitingHeaders => {
                if headers_end(&self.tail, bytes) {
                    self.phase = Phase::Serving { responded: false };
                    self.deadline
                        .as_mut()
                        .reset(Instant::now() + self.limits.idle);
                }
            }
            Phase::Serving { .. } => {
                self.deadline
                    .as_mut()
                    .reset(Instant::now() + self.limits.idle);
            }
        }
        let mut joined = self.tail.to_vec();
        joined.extend_from_slice(bytes);
        let start = joined.len().saturating_sub(3);
        self.tail.copy_from_slice(&joined[start..]);
    }

    fn on_write(&mut self) {
        if let Phase::Serving { .. } = self.phase {
            self.phase = Phase::Serving { responded: true };
            self.deadline
                .as_mut()
                .reset(Instant::now() + self.limits.idle);
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

/// Whether `\r\n\r\n` ends somewhere in `tail ++ bytes`.
fn headers_end(tail: &[u8; 3], bytes: &[u8]) -> bool {
    let mut joined = tail.to_vec();
    joined.extend_from_slice(bytes);
    joined.windows(4).any(|w| w == b"\r\n\r\n")
}

fn timed_out(phase: Phase) -> io::Error {
    let what = match phase {
        Phase::AwaitingHeaders => "request headers not complete in time",
        Phase::Serving { .. } => "connection idle",
    };
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = buf.filled()[before..].to_vec();
                if !new.is_empty() {
                    this.on_read(&new);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out(this.phase))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.on_write();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out(this.phase))),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_end_is_found_across_reads() {
        assert!(headers_end(b"\r\n\r", b"\n"));
        assert!(headers_end(b"abc", b"x\r\n\r\ny"));
        assert!(!headers_end(b"abc", b"x\r\n"));
    }
}
