//! Blocking sockets over synack on a TUN device, in the manner of `std::net`:
//! [`TunNet`] owns the device and the stack and drives them on a thread of its own;
//! [`TcpListener`] and [`TcpStream`] block the calling thread until the stack lets
//! their call finish, and implement `std::io::Read` and `Write`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let opts = synack_tun::TunOptions::new("synack0", "192.0.2.2".parse()?, "192.0.2.1".parse()?)?;
//! let net = synack_tun::TunNet::start(&opts)?;
//! for stream in net.listen(7000)?.incoming() {
//!     let mut s = stream?;
//!     std::thread::spawn(move || { let _ = std::io::copy(&mut s.try_clone()?, &mut s); s.shutdown(std::net::Shutdown::Write) });
//! }
//! # Ok(()) }
//! ```
//!
//! (The README shows this example; `examples/blocking_echo.rs` is it complete.)
//!
//! The same network serves tokio tasks too: [`tokio`] has a
//! `TcpListener` and a `TcpStream` with `AsyncRead` and `AsyncWrite`, and both kinds
//! of sockets may be used side by side.
//!
//! How it works: the stack and the device sit behind one mutex. The driver thread
//! sleeps on the device without holding it (until a datagram arrives, the stack's next
//! deadline, or an application call wakes it), then feeds the stack, runs its timers,
//! sends its answers and wakes the calls its events concern. A call locks the stack,
//! tries (`Stack::recv`, `send`, `accept`, ...), sends at once whatever that made the
//! stack want to send, and wakes the driver if the stack's deadline came earlier. If
//! it must wait, it leaves a waker under the connection (or listener) it waits for
//! ([`wakers`]), in the same locked section as its try, and the stack's next event
//! about that connection wakes it: a blocking call's waker unparks its thread, an async
//! call's wakes its task. So a call waiting on a quiet connection is never woken,
//! however busy the others are.

/// The calls both kinds of stream (blocking here, async in [`tokio`]) offer alike, on
/// their `conn: Arc<Conn>`.
macro_rules! conn_accessors {
    () => {
        /// The peer's address.
        pub fn peer_addr(&self) -> SocketAddr {
            self.conn.peer
        }

        /// synack's end of the connection.
        pub fn local_addr(&self) -> SocketAddr {
            self.conn.local
        }

        /// Turn Nagle's algorithm off (`true`) or on again, as `TCP_NODELAY`
        /// (`Stack::set_nagle`): with it off, small writes go out at once instead of
        /// waiting for the acknowledgment of what is in flight (RFC 9293 3.7.4).
        pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
            self.conn.set_nodelay(nodelay)
        }

        /// Whether Nagle's algorithm is off (`set_nodelay`).
        pub fn nodelay(&self) -> io::Result<bool> {
            self.info().map(|i| !i.nagle)
        }

        /// The stack's view of the connection (`synack::ConnInfo`: state, RTT,
        /// windows).
        pub fn info(&self) -> io::Result<synack::ConnInfo> {
            self.conn.info()
        }
    };
}

#[cfg(feature = "tokio")]
pub mod tokio;
mod wakers;

use crate::device::{StopHandle, TunDevice, Wake};
use crate::driver::{TunOptions, TunStack};
use crate::error::TunError;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use synack::{ConnError, ConnId, Error, FourTuple, ListenerId, State, UsageError};
use wakers::{Key, Wakers};

/// The longest the driver sleeps when nothing is due (a stop wakes it at once).
const IDLE_WAIT: Duration = Duration::from_millis(500);
/// The accept queue of [`TunNet::listen`]'s listeners.
const BACKLOG: usize = 128;

/// synack on a TUN device, driven by a thread of its own, with blocking sockets.
///
/// Dropping it (or [`TunNet::stop`]) stops the driver; sockets still open then fail
/// their calls with an error saying so.
#[derive(Debug)]
pub struct TunNet {
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the driver's sleep ([`StopHandle::wake`]); stops it for good.
    wake: StopHandle,
    /// synack's address (for [`TunNet::listen`]).
    addr: std::net::IpAddr,
}

#[derive(Debug)]
struct Inner {
    tun: TunStack,
    /// Why the stack is no longer driven (stopped, or the device failed).
    ended: Option<String>,
    /// The calls waiting, by the connection or listener they wait for.
    wakers: Wakers,
}

impl Inner {
    /// Take the stack's events, waking the calls waiting for the connections (or
    /// listeners) they are about.
    fn route_events(&mut self) {
        while let Some(e) = self.tun.stack_mut().poll_event() {
            self.wakers.on_event(&e);
        }
    }
}

impl TunNet {
    /// Open the device and the stack ([`TunStack::open`]) and start driving them.
    pub fn start(opts: &TunOptions) -> Result<TunNet, TunError> {
        let tun = TunStack::open(opts)?;
        let dev = tun.device();
        let shared = Arc::new(Shared {
            wake: tun.stop_handle(),
            addr: std::net::IpAddr::V4(tun.addr()),
            inner: Mutex::new(Inner { tun, ended: None, wakers: Wakers::default() }),
        });
        let for_driver = Arc::clone(&shared);
        let driver = std::thread::Builder::new()
            .name("synack-tun".into())
            .spawn(move || drive(&for_driver, &dev))
            .map_err(|e| TunError::device("start the driver thread", e))?;
        Ok(TunNet { shared, driver: Some(driver) })
    }

    /// Listen on `port` of synack's address (passive OPEN, a backlog of 128).
    pub fn listen(&self, port: u16) -> io::Result<TcpListener> {
        let local = SocketAddr::new(self.shared.addr, port);
        let id = self.shared.call(|tun| tun.stack_mut().listen(local, BACKLOG).map_err(io_error))?;
        Ok(TcpListener { shared: Arc::clone(&self.shared), id, local })
    }

    /// Listen on every port of every address the stack takes (`Stack::listen_all`): a
    /// transparent proxy's listener. Other addresses than synack's own are taken when
    /// the device was opened with `Config::any_address` (`TunOptions::stack`). Each
    /// accepted stream's [`TcpStream::local_addr`] is the destination its client
    /// connected to.
    pub fn listen_all(&self) -> io::Result<TcpListener> {
        let local = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
        let id = self.shared.call(|tun| tun.stack_mut().listen_all(local.ip(), BACKLOG).map_err(io_error))?;
        Ok(TcpListener { shared: Arc::clone(&self.shared), id, local })
    }

    /// Open a connection to `remote` (active OPEN) and wait until it is established
    /// or fails (refused, unreachable, timed out by the stack's own limits).
    pub fn connect(&self, remote: SocketAddr) -> io::Result<TcpStream> {
        self.connect_until(remote, None)
    }

    /// [`TunNet::connect`], giving up after `timeout` (`TimedOut`; the connection is
    /// aborted).
    pub fn connect_timeout(&self, remote: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        self.connect_until(remote, Some(Instant::now() + timeout))
    }

    fn connect_until(&self, remote: SocketAddr, deadline: Option<Instant>) -> io::Result<TcpStream> {
        let (c, local) = self.open(remote)?;
        let opened = self.shared.wait(Key::Conn(c), deadline, |tun| opened(tun, c));
        let stream = TcpStream::new(&self.shared, c, local, remote);
        opened.map(|()| stream)
    }

    /// Start an active OPEN to `remote`: the connection and synack's address for it.
    fn open(&self, remote: SocketAddr) -> io::Result<(ConnId, SocketAddr)> {
        self.shared.call(|tun| {
            let now = tun.now();
            let c = tun.stack_mut().connect(now, remote).map_err(io_error)?;
            Ok((c, tun.stack().tuple(c).map_err(io_error)?.local))
        })
    }

    /// Run `f` on the stack under the lock, for anything this API does not wrap
    /// (`synack::Stack::stats`, `set_nagle`, `set_keepalive_timings`, ...). What it
    /// queues goes out at once. (Sockets must not be dropped inside `f`: their drop
    /// takes the same lock.) Async calls waiting look again afterwards: `f` may have
    /// made room (`Stack::set_send_buffer`) without an event saying so.
    pub fn with_stack<T>(&self, f: impl FnOnce(&mut synack::Stack) -> T) -> io::Result<T> {
        let r = self.shared.call(|tun| Ok(f(tun.stack_mut())));
        self.shared.lock().wakers.wake_all();
        r
    }

    /// Stop the driver and wait for it. Connections still open are left as they are:
    /// nothing answers their peers any more.
    pub fn stop(mut self) {
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        self.shared.wake.stop();
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

impl Drop for TunNet {
    fn drop(&mut self) {
        self.stop_driver();
    }
}

/// The driver: sleep on the device, then run one round of the stack under the lock
/// and wake the calls its events concern, until stopped or the device fails (then
/// every call waiting).
fn drive(shared: &Shared, dev: &TunDevice) {
    let why = loop {
        let sleep = {
            let mut g = shared.lock();
            if shared.wake.is_stopped() {
                break "the network was stopped".to_string();
            }
            match g.tun.prepare_wait(IDLE_WAIT) {
                Ok(d) => d,
                Err(e) => break e.to_string(),
            }
        };
        let wake = if sleep.is_zero() { Ok(Wake::Readable) } else { dev.wait(sleep) };
        let round = wake.and_then(|w| {
            let mut g = shared.lock();
            let r = g.tun.after_wait(w);
            g.route_events();
            r
        });
        if let Err(e) = round {
            break e.to_string();
        }
    };
    let mut g = shared.lock();
    let _ = g.tun.flush();
    g.ended = Some(why);
    g.wakers.wake_all();
}

impl Shared {
    /// The lock; a call that panicked while holding it poisoned it, and the stack is
    /// still usable (every call leaves it consistent between its own calls).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run `f` on the stack once, send what it queued, wake the driver if it must
    /// look at the stack sooner, and wake the callers its events concern.
    fn call<T>(&self, f: impl FnOnce(&mut TunStack) -> io::Result<T>) -> io::Result<T> {
        let mut g = self.lock();
        if let Some(why) = &g.ended {
            return Err(ended(why));
        }
        let (r, sent) = self.attempt(&mut g, f);
        drop(g);
        sent?;
        r
    }

    /// One try of `f` under the lock: what it queued goes out at once, and the driver
    /// is woken when the stack's next deadline came earlier than it was (the driver
    /// sleeps until that deadline at the latest; waking it for nothing would have it
    /// and a waiting call wake each other in a loop).
    /// The events the call raised go to the calls waiting for them.
    fn attempt<T>(&self, g: &mut Inner, f: impl FnOnce(&mut TunStack) -> T) -> (T, io::Result<()>) {
        let tun = &mut g.tun;
        let before = tun.next_deadline();
        let r = f(tun);
        let sent = tun.send_queued().map_err(|e| io::Error::other(e.to_string()));
        let after = tun.next_deadline();
        if after.is_some_and(|a| before.is_none_or(|b| a < b)) {
            self.wake.wake();
        }
        g.route_events();
        (r, sent)
    }

    /// One try of `f`; if it must wait, `cx`'s waker is left under `key`, in the same
    /// locked section as the try, so that the event that lets it finish cannot come
    /// between the two unseen.
    fn poll_once<T>(
        &self,
        cx: &mut Context<'_>,
        key: Key,
        f: impl FnOnce(&mut TunStack) -> Option<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let mut g = self.lock();
        if let Some(why) = &g.ended {
            return Poll::Ready(Err(ended(why)));
        }
        let (r, sent) = self.attempt(&mut g, f);
        if r.is_none() && sent.is_ok() {
            g.wakers.register(key, cx.waker());
        }
        drop(g);
        match (r, sent) {
            (_, Err(e)) => Poll::Ready(Err(e)),
            (Some(r), Ok(())) => Poll::Ready(r),
            (None, Ok(())) => Poll::Pending,
        }
    }

    /// Forget the calls waiting for `key` (its socket is gone).
    fn forget(&self, key: Key) {
        self.lock().wakers.forget(key);
    }

    /// Run `f` on the stack until it returns `Some`, the calling thread parked between
    /// tries until an event about `key` (or the driver's end) unparks it; `TimedOut`
    /// past `deadline`. (A spurious unpark costs one more try.)
    fn wait<T>(
        &self,
        key: Key,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut TunStack) -> Option<io::Result<T>>,
    ) -> io::Result<T> {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(r) = self.poll_once(&mut cx, key, &mut f) {
                return r;
            }
            match deadline {
                None => std::thread::park(),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
                    }
                    std::thread::park_timeout(left);
                }
            }
        }
    }
}

/// The waker of a blocking call: it unparks the waiting thread.
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn ended(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, format!("synack-tun is no longer running: {why}"))
}

/// A stack error as the `std::io` error a socket call would give.
fn io_error(e: Error) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        Error::WouldBlock => K::WouldBlock,
        Error::Conn(ConnError::Refused) => K::ConnectionRefused,
        Error::Conn(ConnError::Reset) => K::ConnectionReset,
        Error::Conn(ConnError::TimedOut) => K::TimedOut,
        Error::Conn(ConnError::Aborted) => K::ConnectionAborted,
        Error::Conn(ConnError::Unreachable(_)) => K::HostUnreachable,
        Error::Usage(UsageError::AddrInUse) => K::AddrInUse,
        Error::Usage(UsageError::PortsExhausted | UsageError::NoLocalAddress) => K::AddrNotAvailable,
        Error::Usage(UsageError::InvalidState(_)) => K::NotConnected,
        _ => K::InvalidInput,
    };
    io::Error::new(kind, e.to_string())
}

/// A listening socket ([`TunNet::listen`]). Dropping it stops listening; connections
/// not yet accepted are reset.
#[derive(Debug)]
pub struct TcpListener {
    shared: Arc<Shared>,
    id: ListenerId,
    local: SocketAddr,
}

impl TcpListener {
    /// Wait for the next established connection.
    /// Its local address ([`TcpStream::local_addr`]) is the one the peer connected
    /// to: for a listener of [`TunNet::listen_all`], the destination its client chose.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (c, t) = self.shared.wait(Key::Listener(self.id), None, |tun| accepted(tun, self.id))?;
        Ok((TcpStream::new(&self.shared, c, t.local, t.remote), t.remote))
    }

    /// The address it listens on (port 0 for [`TunNet::listen_all`]'s: every port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The connections as they come, as `std::net::TcpListener::incoming`.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        self.shared.forget(Key::Listener(self.id));
        let _ = self.shared.call(|tun| tun.stack_mut().close_listener(self.id).map_err(io_error));
    }
}

/// A connection ([`TunNet::connect`], [`TcpListener::accept`]). Reads and writes block
/// until the stack takes or gives bytes; [`TcpStream::try_clone`] gives another
/// handle to the same connection (one thread reading while another writes). When the
/// last handle is dropped the connection is closed (CLOSE: a FIN after the data
/// queued, or a RST if received data was left unread, RFC 9293 3.6).
#[derive(Debug, Clone)]
pub struct TcpStream {
    conn: Arc<Conn>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
}

#[derive(Debug)]
struct Conn {
    shared: Arc<Shared>,
    id: ConnId,
    local: SocketAddr,
    peer: SocketAddr,
}

/// The calls of both kinds of stream that never wait.
impl Conn {
    /// The handle of connection `id`, closed when the last stream holding it goes.
    fn open(shared: &Arc<Shared>, id: ConnId, local: SocketAddr, peer: SocketAddr) -> Arc<Conn> {
        Arc::new(Conn { shared: Arc::clone(shared), id, local, peer })
    }

    /// CLOSE for sending only (`Stack::shutdown`): our FIN after the data queued. A
    /// second shutdown is no error.
    fn shutdown(&self) -> io::Result<()> {
        let id = self.id;
        self.shared.call(|tun| tun.stack_mut().shutdown(id).map_err(io_error))
    }

    /// `Stack::set_nagle`, the other way round.
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        let id = self.id;
        self.shared.call(|tun| tun.stack_mut().set_nagle(id, !nodelay).map_err(io_error))
    }

    /// `Stack::info`.
    fn info(&self) -> io::Result<synack::ConnInfo> {
        let id = self.id;
        self.shared.call(|tun| tun.stack().info(id).map_err(io_error))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.shared.forget(Key::Conn(self.id));
        let _ = self.shared.call(|tun| tun.stack_mut().close(self.id).map_err(io_error));
    }
}

impl TcpStream {
    fn new(shared: &Arc<Shared>, id: ConnId, local: SocketAddr, peer: SocketAddr) -> TcpStream {
        TcpStream { conn: Conn::open(shared, id, local, peer), read_timeout: None, write_timeout: None }
    }

    conn_accessors!();

    /// Another handle to the same connection (with its own timeouts).
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(self.clone())
    }

    /// How long a read may wait (`None`: for ever); a read that waits longer fails
    /// with `TimedOut`. A zero duration is `InvalidInput`, as in `std`.
    pub fn set_read_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.read_timeout = nonzero(t)?;
        Ok(())
    }

    /// How long a write may wait for buffer space, as [`TcpStream::set_read_timeout`].
    pub fn set_write_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.write_timeout = nonzero(t)?;
        Ok(())
    }

    /// `Shutdown::Write` (or `Both`) sends our FIN after the data queued
    /// (`Stack::shutdown`); the connection keeps receiving. `Shutdown::Read` changes
    /// nothing on the wire.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return Ok(());
        }
        self.conn.shutdown()
    }

    fn read_into(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let id = self.conn.id;
        let deadline = self.read_timeout.map(|t| Instant::now() + t);
        self.conn.shared.wait(Key::Conn(id), deadline, |tun| received(tun, id, buf))
    }

    fn write_from(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let id = self.conn.id;
        let deadline = self.write_timeout.map(|t| Instant::now() + t);
        self.conn.shared.wait(Key::Conn(id), deadline, |tun| sent(tun, id, buf))
    }
}

/// The tries of the calls that may wait, shared by the blocking and the async
/// sockets: `None` to wait, `Some` when done.
///
/// An active OPEN: done once the connection is ESTABLISHED (or went on past it), or
/// failed.
fn opened(tun: &mut TunStack, c: ConnId) -> Option<io::Result<()>> {
    let stack = tun.stack_mut();
    match stack.state(c) {
        State::SynSent | State::SynReceived => None,
        State::Closed => Some(Err(stack.error(c).map_or_else(
            || io::Error::new(io::ErrorKind::ConnectionAborted, "the connection closed while opening"),
            |e| io_error(Error::Conn(e)),
        ))),
        _ => Some(Ok(())),
    }
}

/// The next connection of listener `l`'s accept queue, with its peer's address.
fn accepted(tun: &mut TunStack, l: ListenerId) -> Option<io::Result<(ConnId, FourTuple)>> {
    let c = tun.stack_mut().accept(l)?;
    Some(tun.stack().tuple(c).map(|t| (c, t)).map_err(io_error))
}

/// RECEIVE into `buf`: bytes, 0 at the peer's FIN, or the connection's error.
fn received(tun: &mut TunStack, c: ConnId, buf: &mut [u8]) -> Option<io::Result<usize>> {
    match tun.stack_mut().recv(c, buf) {
        Err(Error::WouldBlock) => None,
        r => Some(r.map_err(io_error)),
    }
}

/// SEND from `buf`: the bytes the send buffer took, or the connection's error.
fn sent(tun: &mut TunStack, c: ConnId, buf: &[u8]) -> Option<io::Result<usize>> {
    match tun.stack_mut().send(c, buf) {
        Err(Error::WouldBlock) => None,
        r => Some(r.map_err(io_error)),
    }
}

fn nonzero(t: Option<Duration>) -> io::Result<Option<Duration>> {
    match t {
        Some(d) if d.is_zero() => Err(io::Error::new(io::ErrorKind::InvalidInput, "a zero timeout")),
        t => Ok(t),
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf)
    }
}

impl io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_from(buf)
    }

    /// Data written is in the stack's hands, which sends it as the windows allow:
    /// nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_from(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
