//! Driving two synack stacks joined by the in-memory [`Link`]: side 0 is the client
//! (`a`), side 1 the server (`b`).

use crate::link::{Clock, Link};
use crate::net;
use std::net::SocketAddr;
use synack::{
    Config, CongestionControl, ConnId, Duration, Instant, ListenerId, RecvInto, Stack, State, Transmit,
};

/// The configuration both synack stacks of a benchmark use.
///
/// Congestion control is off because smoltcp is built without it; the delayed-ACK
/// timeout is smoltcp's default (10 ms) so that both stacks wait equally long when only
/// a timer can make progress; timestamps are off because smoltcp's sockets run without
/// them by default (no TSval generator), so that both stacks send the same segments
/// with the same payload per segment; tracing is off.
pub(crate) fn config(ip: std::net::IpAddr, mtu: usize, buffer: usize) -> Config {
    Config {
        addresses: vec![ip],
        mtu: mtu as u16,
        recv_buffer: buffer as u32,
        send_buffer: buffer as u32,
        congestion_control: CongestionControl::None,
        delayed_ack: Some(Duration::from_millis(10)),
        timestamps: false,
        trace: false,
        ..Config::default()
    }
}

/// Two synack stacks, a link and a clock.
pub(crate) struct Pair {
    /// The client stack (side 0).
    pub(crate) a: Stack,
    /// The server stack (side 1).
    pub(crate) b: Stack,
    /// The link between them.
    pub(crate) link: Link,
    /// The clock both see.
    pub(crate) clock: Clock,
    /// The buffer [`Pair::pump`] offers to the next `poll_transmit` of either stack.
    tx_buf: Box<[u8]>,
}

/// Send everything `stack` has to send into the link towards side `to`, writing each
/// datagram into a buffer from the link's pool (taken for the call, returned after).
pub(crate) fn egress(stack: &mut Stack, link: &Link, to: usize, now: Instant) -> usize {
    let mut buf = link.take_buf();
    let n = egress_from(stack, link, to, now, &mut buf);
    link.give_back(buf);
    n
}

/// [`egress`] into the caller's buffer `buf`, which is replaced from the link's pool
/// only when a datagram leaves in it. The last `poll_transmit` of every call, the one
/// that finds nothing to send, then costs the harness nothing, as in smoltcp's harness,
/// whose device is asked for a buffer only when smoltcp has a datagram to write. (Taking
/// a buffer from the pool before each poll and returning it after the empty one cost
/// synack's side some 550 harness instructions per `churn` lifecycle, callgrind.)
///
/// (The link's calls here and in [`ingress_with`] are always inlined: when
/// [`egress_many`] became their second caller, the compiler moved them out of line, and
/// `churn` counted some 1,000 more harness instructions per lifecycle for synack.)
#[inline(always)]
pub(crate) fn egress_from(
    stack: &mut Stack,
    link: &Link,
    to: usize,
    now: Instant,
    buf: &mut Box<[u8]>,
) -> usize {
    let mut n = 0;
    while let Some(tx) = stack.poll_transmit(now, buf) {
        link.push(to, std::mem::replace(buf, link.take_buf()), tx.len);
        n += 1;
    }
    n
}

/// Datagram buffers offered to `Stack::poll_transmit_many` per call.
const BATCH: usize = 32;

/// The buffers [`egress_many`] offers, kept between calls.
pub(crate) struct Spares {
    bufs: [Box<[u8]>; BATCH],
    sent: [Transmit; BATCH],
}

impl Spares {
    /// [`BATCH`] buffers from `link`'s pool.
    pub(crate) fn new(link: &Link) -> Self {
        Spares { bufs: std::array::from_fn(|_| link.take_buf()), sent: [Transmit::default(); BATCH] }
    }
}

/// [`egress`] with `Stack::poll_transmit_many`, for the bulk workloads, whose senders
/// emit bursts (smoltcp's `Interface::poll` too sends everything in one call): the
/// `spares` are offered [`BATCH`] at a time; each one used goes to the link and is
/// replaced from its pool.
pub(crate) fn egress_many(
    stack: &mut Stack,
    link: &Link,
    to: usize,
    now: Instant,
    spares: &mut Spares,
) -> usize {
    let Spares { bufs, sent } = spares;
    let mut total = 0;
    loop {
        let mut slices: [&mut [u8]; BATCH] = bufs.each_mut().map(|b| &mut b[..]);
        let n = stack.poll_transmit_many(now, &mut slices, sent);
        for (buf, tx) in bufs.iter_mut().zip(sent.iter()).take(n) {
            link.push(to, std::mem::replace(buf, link.take_buf()), tx.len);
        }
        total += n;
        if n < bufs.len() {
            return total;
        }
    }
}

/// Feed every datagram waiting for side `side` to `stack`.
pub(crate) fn ingress(stack: &mut Stack, link: &Link, side: usize, now: Instant) -> usize {
    ingress_with(link, side, |d| stack.handle_packet(now, d))
}

/// [`ingress`] through `Stack::handle_packet_into`, lending the application's buffer
/// `into` for every datagram.
pub(crate) fn ingress_into(
    stack: &mut Stack,
    link: &Link,
    side: usize,
    now: Instant,
    into: &mut RecvInto<'_>,
) -> usize {
    ingress_with(link, side, |d| {
        stack.handle_packet_into(now, d, into);
    })
}

/// Hand every datagram waiting for side `side` to `handle`, returning the buffers to
/// the pool; how many there were.
fn ingress_with(link: &Link, side: usize, mut handle: impl FnMut(&[u8])) -> usize {
    let mut n = 0;
    while let Some(p) = link.pop(side) {
        handle(&p.buf[..p.len]);
        link.give_back(p.buf);
        n += 1;
    }
    n
}

/// Run the stack's timers if one is due, and drop its events (the benchmarks poll state
/// instead; the queue must not grow).
pub(crate) fn service(stack: &mut Stack, now: Instant) {
    if stack.poll_timeout().is_some_and(|t| t <= now) {
        stack.handle_timeout(now);
    }
    while stack.poll_event().is_some() {}
}

impl Pair {
    /// A client at [`net::CLIENT`] and a server at [`net::SERVER`].
    pub(crate) fn new(mtu: usize, buffer: usize) -> Self {
        Self::with_configs(config(net::CLIENT, mtu, buffer), config(net::SERVER, mtu, buffer), mtu)
    }

    /// A pair with the given configurations.
    pub(crate) fn with_configs(a: Config, b: Config, mtu: usize) -> Self {
        let link = Link::new(mtu);
        let tx_buf = link.take_buf();
        Pair { a: Stack::new(a), b: Stack::new(b), link, clock: Clock::new(), tx_buf }
    }

    /// The current time.
    pub(crate) fn now(&mut self) -> Instant {
        Instant::from_micros(self.clock.now_us())
    }

    /// The clock's latest reading, without reading the wall clock again: the `now` an
    /// event loop has at hand between its steps.
    pub(crate) fn last_now(&self) -> Instant {
        Instant::from_micros(self.clock.last_us())
    }

    /// Move datagrams until the link stays empty; returns how many moved.
    pub(crate) fn pump(&mut self) -> usize {
        // One clock reading per pump: a pump lasts microseconds, and reading the clock
        // per step would add the same fixed cost to every exchange of both stacks.
        let now = self.now();
        let mut total = 0;
        loop {
            service(&mut self.a, now);
            service(&mut self.b, now);
            let mut n = egress_from(&mut self.a, &self.link, 1, now, &mut self.tx_buf);
            n += ingress(&mut self.b, &self.link, 1, now);
            n += egress_from(&mut self.b, &self.link, 0, now, &mut self.tx_buf);
            let back = ingress(&mut self.a, &self.link, 0, now);
            total += n + back;
            // Quiet once `a` received nothing: `b` sent nothing after its input, and `a`
            // has nothing new to send (see `smol::Pair::pump`, which stops the same way).
            if back == 0 {
                return total;
            }
        }
    }

    /// Jump the clock to the earliest timer of either stack and run the timers due.
    /// Returns false when neither stack has a timer.
    pub(crate) fn advance_to_timer(&mut self) -> bool {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
        let Some(t) = next else { return false };
        self.clock.skip_to(t.as_micros());
        let now = self.now();
        self.a.handle_timeout(now);
        self.b.handle_timeout(now);
        true
    }

    /// Open the one bulk connection (client `a` to server `b` on [`net::BULK_PORT`]) and
    /// return (client end, server end) once both are established.
    pub(crate) fn establish_bulk(&mut self, what: &str) -> (ConnId, ConnId) {
        let l = self.b.listen(net::server(net::BULK_PORT), 1).expect("listen");
        let now = self.now();
        let c = self.a.connect(now, net::server(net::BULK_PORT)).expect("connect");
        let mut s = None;
        self.settle(what, |p| {
            s = s.or_else(|| p.b.accept(l));
            s.is_some() && p.a.state(c) == State::Established
        });
        (c, s.expect("accepted"))
    }

    /// Pump (jumping to timers when idle) until `cond` holds. Panics when the pair goes
    /// quiet or after many steps without it: a benchmark must not hang.
    pub(crate) fn settle(&mut self, what: &str, mut cond: impl FnMut(&mut Self) -> bool) {
        for _ in 0..10_000 {
            if cond(self) {
                return;
            }
            if self.pump() == 0 && !cond(self) && !self.advance_to_timer() {
                panic!("synack pair went idle waiting for {what}");
            }
        }
        panic!("synack pair: {what} not reached after 10000 steps");
    }

    /// Let virtual time pass by `d`, running every timer on the way.
    pub(crate) fn idle_for(&mut self, d: Duration) {
        let end = self.now() + d;
        loop {
            self.pump();
            let next = [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
            match next {
                Some(t) if t <= end => {
                    self.advance_to_timer();
                }
                _ => break,
            }
        }
        self.clock.skip_to(end.as_micros());
        self.pump();
    }

    /// Open `n` connections from the client to `listener` on the server (in batches, as
    /// the accept queue allows) and accept them; returns (client, server) handles.
    pub(crate) fn open_idle(
        &mut self,
        listener: ListenerId,
        to: SocketAddr,
        n: usize,
    ) -> Vec<(ConnId, ConnId)> {
        let mut out = Vec::with_capacity(n);
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        while out.len() < n {
            let batch = (n - out.len()).min(256);
            let now = self.now();
            clients.clear();
            servers.clear();
            for _ in 0..batch {
                clients.push(self.a.connect(now, to).expect("synack connect"));
            }
            self.settle("idle connections to be accepted", |p| {
                while let Some(s) = p.b.accept(listener) {
                    servers.push(s);
                }
                servers.len() == batch
            });
            for (c, s) in clients.iter().zip(&servers) {
                out.push((*c, *s));
            }
        }
        self.settle("idle connections established", |p| {
            out.iter().all(|&(c, _)| p.a.state(c) == State::Established)
        });
        out
    }
}
