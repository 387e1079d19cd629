//! Async sockets over synack on a TUN device, for tokio: [`TcpListener`] and
//! [`TcpStream`], with `tokio::io::AsyncRead` and `AsyncWrite`, on the same
//! [`TunNet`] as the blocking ones (its thread drives the stack; the runtime's threads
//! only run the application's tasks).
//!
//! ```no_run
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! use synack_tun::tokio::TcpListener;
//! let opts = synack_tun::TunOptions::new("synack0", "192.0.2.2".parse()?, "192.0.2.1".parse()?)?;
//! let net = synack_tun::TunNet::start(&opts)?;
//! let listener = TcpListener::bind(&net, 7000).await?;
//! loop {
//!     let (stream, _peer) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let (mut rd, mut wr) = stream.into_split();
//!         let _ = tokio::io::copy(&mut rd, &mut wr).await;
//!         let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
//!     });
//! }
//! # }
//! ```
//!
//! (`examples/tokio_echo.rs` is this server, complete.)
//!
//! A call that cannot finish leaves its task's waker under the connection it waits for
//! and returns `Pending`; the stack's next event about that connection wakes it
//! (the private module `wakers`). No call blocks the runtime's thread beyond the stack's lock,
//! which every call and the driver hold only while they run the stack. Timeouts are
//! tokio's (`tokio::time::timeout`): dropping a pending call gives up nothing but the
//! wait.

use super::{accepted, opened, received, sent, Conn, Key, Shared, TunNet};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use synack::ConnId;

/// A listening socket, as `tokio::net::TcpListener`. Dropping it stops listening;
/// connections not yet accepted are reset.
#[derive(Debug)]
pub struct TcpListener {
    inner: super::TcpListener,
}

impl TcpListener {
    /// Listen on `port` of synack's address (passive OPEN, a backlog of 128). It
    /// finishes at once (the stack listens without a word on the wire); it is `async`
    /// as tokio's `bind` is.
    pub async fn bind(net: &TunNet, port: u16) -> io::Result<TcpListener> {
        net.listen(port).map(|inner| TcpListener { inner })
    }

    /// Listen on every port of every address the stack takes: the async form of
    /// [`TunNet::listen_all`], for a transparent proxy.
    pub async fn bind_all(net: &TunNet) -> io::Result<TcpListener> {
        net.listen_all().map(|inner| TcpListener { inner })
    }

    /// Wait for the next established connection (its local address is the one the
    /// peer connected to).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The polling form of [`TcpListener::accept`].
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let l = &self.inner;
        let r = l.shared.poll_once(cx, Key::Listener(l.id), |tun| accepted(tun, l.id));
        r.map_ok(|(c, t)| (TcpStream::new(&l.shared, c, t.local, t.remote), t.remote))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }
}

impl From<super::TcpListener> for TcpListener {
    /// The async form of a blocking listener.
    fn from(inner: super::TcpListener) -> TcpListener {
        TcpListener { inner }
    }
}

/// A connection, as `tokio::net::TcpStream`: `AsyncRead` gives the bytes received
/// (0 after the peer's FIN), `AsyncWrite` queues bytes to send, its `poll_shutdown`
/// sends our FIN after them (the connection keeps receiving), and `poll_flush` has
/// nothing to do (what is written is the stack's to send). [`TcpStream::into_split`]
/// gives a reading and a writing half for two tasks. When the stream (or both halves)
/// is dropped, the connection is closed: a FIN after the data queued, or a RST if
/// received data was left unread (RFC 9293 3.6).
#[derive(Debug)]
pub struct TcpStream {
    conn: Arc<Conn>,
}

impl TcpStream {
    fn new(shared: &Arc<Shared>, id: ConnId, local: SocketAddr, peer: SocketAddr) -> TcpStream {
        TcpStream { conn: Conn::open(shared, id, local, peer) }
    }

    /// Open a connection to `remote` (active OPEN) and wait until it is established
    /// or fails (refused, unreachable, timed out by the stack's own limits; a shorter
    /// limit is `tokio::time::timeout`'s, and dropping the wait aborts the opening).
    pub async fn connect(net: &TunNet, remote: SocketAddr) -> io::Result<TcpStream> {
        let (c, local) = net.open(remote)?;
        let stream = TcpStream::new(&net.shared, c, local, remote);
        poll_fn(|cx| stream.conn.shared.poll_once(cx, Key::Conn(c), |tun| opened(tun, c))).await?;
        Ok(stream)
    }

    conn_accessors!();

    /// A reading half and a writing half, each its own task's; the connection is
    /// closed when both are dropped.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (OwnedReadHalf { conn: Arc::clone(&self.conn) }, OwnedWriteHalf { conn: self.conn })
    }
}

impl From<super::TcpStream> for TcpStream {
    /// The async form of a blocking stream (the same connection; the blocking
    /// handle's timeouts do not carry over).
    fn from(s: super::TcpStream) -> TcpStream {
        TcpStream { conn: s.conn }
    }
}

/// The reading half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    conn: Arc<Conn>,
}

/// The writing half of [`TcpStream::into_split`]; its `poll_shutdown` sends our FIN.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    conn: Arc<Conn>,
}

impl Conn {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ::tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let id = self.id;
        let dst = buf.initialize_unfilled();
        let n = std::task::ready!(self.shared.poll_once(cx, Key::Conn(id), |tun| received(tun, id, dst)))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let id = self.id;
        self.shared.poll_once(cx, Key::Conn(id), |tun| sent(tun, id, buf))
    }
}

/// `AsyncRead` for the types holding a connection as `conn`.
macro_rules! async_read {
    ($($t:ty),*) => {$(
        impl ::tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.conn.poll_read(cx, buf)
            }
        }
    )*};
}

/// `AsyncWrite` for the types holding a connection as `conn`.
macro_rules! async_write {
    ($($t:ty),*) => {$(
        impl ::tokio::io::AsyncWrite for $t {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.conn.poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.conn.shutdown())
            }
        }
    )*};
}

async_read!(TcpStream, OwnedReadHalf);
async_write!(TcpStream, OwnedWriteHalf);
