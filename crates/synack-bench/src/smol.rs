//! Driving two smoltcp interfaces joined by the in-memory [`Link`]: a `phy::Device`
//! per side over the link's queues, an `Interface` and a `SocketSet` per side.
//!
//! The device advertises `ChecksumCapabilities::default()`, which is `Checksum::Both`
//! for IPv4 and TCP: smoltcp computes checksums on output and verifies them on input,
//! exactly like synack always does.

use crate::link::{Clock, Link, Packet};
use crate::net;
use smoltcp::iface::{Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};
use std::net::IpAddr;

/// One side's view of the link as a smoltcp device.
pub(crate) struct Dev<'l> {
    link: &'l Link,
    side: usize,
}

/// A received datagram; its buffer goes back to the pool once consumed.
pub(crate) struct Rx<'l> {
    pkt: Packet,
    link: &'l Link,
}

/// Permission to send one datagram to the other side.
pub(crate) struct Tx<'l> {
    link: &'l Link,
    to: usize,
}

impl phy::Device for Dev<'_> {
    type RxToken<'a>
        = Rx<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = Tx<'a>
    where
        Self: 'a;

    fn receive(&mut self, _t: Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let pkt = self.link.pop(self.side)?;
        Some((Rx { pkt, link: self.link }, Tx { link: self.link, to: 1 - self.side }))
    }

    fn transmit(&mut self, _t: Instant) -> Option<Tx<'_>> {
        Some(Tx { link: self.link, to: 1 - self.side })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.link.mtu();
        caps.checksum = ChecksumCapabilities::default();
        caps
    }
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.pkt.buf[..self.pkt.len]);
        self.link.give_back(self.pkt.buf);
        r
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = self.link.take_buf();
        let r = f(&mut buf[..len]);
        self.link.push(self.to, buf, len);
        r
    }
}

/// One smoltcp host: an interface and its sockets.
pub(crate) struct Node {
    /// The interface.
    pub(crate) iface: Interface,
    /// Its sockets.
    pub(crate) sockets: SocketSet<'static>,
}

impl Node {
    fn new(ip: IpAddr, link: &Link, side: usize, seed: u64) -> Self {
        let mut cfg = Config::new(HardwareAddress::Ip);
        cfg.random_seed = seed;
        let mut dev = Dev { link, side };
        let mut iface = Interface::new(cfg, &mut dev, Instant::ZERO);
        let IpAddr::V4(v4) = ip else { unreachable!("the benchmarks use IPv4") };
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(v4), 24)).expect("one address fits");
        });
        Node { iface, sockets: SocketSet::new(Vec::new()) }
    }

    /// The TCP socket behind `h`.
    pub(crate) fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }

    /// Add a TCP socket with `buffer` bytes of receive and of send buffer (smoltcp
    /// sockets own their buffers from creation on).
    pub(crate) fn add_socket(&mut self, buffer: usize) -> SocketHandle {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0u8; buffer]),
            tcp::SocketBuffer::new(vec![0u8; buffer]),
        );
        self.sockets.add(s)
    }

    /// Process every datagram waiting on the device; returns how many.
    pub(crate) fn ingress(&mut self, link: &Link, side: usize, now: Instant) -> usize {
        let mut dev = Dev { link, side };
        let mut n = 0;
        while self.iface.poll_ingress_single(now, &mut dev, &mut self.sockets)
            != PollIngressSingleResult::None
        {
            n += 1;
        }
        n
    }

    /// Send everything the sockets have to send (smoltcp runs its timers here too).
    pub(crate) fn egress(&mut self, link: &Link, side: usize, now: Instant) -> usize {
        let mut dev = Dev { link, side };
        let before = link.pending(1 - side);
        while self.iface.poll_egress(now, &mut dev, &mut self.sockets) != PollResult::None {}
        link.pending(1 - side) - before
    }
}

/// Two smoltcp hosts, a link and a clock.
pub(crate) struct Pair {
    /// The client (side 0).
    pub(crate) a: Node,
    /// The server (side 1).
    pub(crate) b: Node,
    /// The link between them.
    pub(crate) link: Link,
    /// The clock both see.
    pub(crate) clock: Clock,
}

impl Pair {
    /// A client at [`net::CLIENT`] and a server at [`net::SERVER`] over a link of `mtu`.
    pub(crate) fn new(mtu: usize) -> Self {
        let link = Link::new(mtu);
        let a = Node::new(net::CLIENT, &link, 0, 0x5eed_0001);
        let b = Node::new(net::SERVER, &link, 1, 0x5eed_0002);
        Pair { a, b, link, clock: Clock::new() }
    }

    /// The current time.
    pub(crate) fn now(&mut self) -> Instant {
        Instant::from_micros(self.clock.now_us() as i64)
    }

    /// Move datagrams until the link stays empty; returns how many moved.
    pub(crate) fn pump(&mut self) -> usize {
        // One clock reading per pump, as for synack.
        let now = self.now();
        let mut total = 0;
        loop {
            let mut n = self.a.egress(&self.link, 0, now);
            n += self.b.ingress(&self.link, 1, now);
            n += self.b.egress(&self.link, 1, now);
            let back = self.a.ingress(&self.link, 0, now);
            total += n + back;
            // Quiet once `a` received nothing: `b` sent all it had after its input, `a`
            // has nothing new to send, and the clock stands still within a pump, so no
            // timer comes due. (Both harnesses stop here; they used to run one more,
            // empty round to find that out.)
            if back == 0 {
                return total;
            }
        }
    }

    /// Jump the clock to the earliest moment either interface wants to be polled.
    /// Returns false when neither has anything scheduled.
    pub(crate) fn advance_to_timer(&mut self) -> bool {
        let now = self.now();
        let a = self.a.iface.poll_at(now, &self.a.sockets);
        let b = self.b.iface.poll_at(now, &self.b.sockets);
        let Some(t) = [a, b].into_iter().flatten().min() else { return false };
        if t > now {
            self.clock.skip_to(t.total_micros() as u64);
        }
        true
    }

    /// Open the one bulk connection, `buffer` bytes each way, from `a` to a listener on
    /// `b`; returns (client, server) once both are ESTABLISHED.
    pub(crate) fn establish_bulk(&mut self, buffer: usize, what: &str) -> (SocketHandle, SocketHandle) {
        let s = self.b.add_socket(buffer);
        self.b.tcp(s).listen(net::BULK_PORT).expect("listen");
        let c = self.a.add_socket(buffer);
        let cx = self.a.iface.context();
        let remote = IpEndpoint::new(ip(net::SERVER), net::BULK_PORT);
        self.a.sockets.get_mut::<tcp::Socket>(c).connect(cx, remote, 49152).expect("connect");
        self.settle(what, |p| {
            p.a.tcp(c).state() == tcp::State::Established && p.b.tcp(s).state() == tcp::State::Established
        });
        (c, s)
    }

    /// Pump (jumping to timers when idle) until `cond` holds. Panics when the pair goes
    /// quiet or after many steps without it.
    pub(crate) fn settle(&mut self, what: &str, mut cond: impl FnMut(&mut Self) -> bool) {
        for _ in 0..10_000 {
            if cond(self) {
                return;
            }
            if self.pump() == 0 && !cond(self) && !self.advance_to_timer() {
                panic!("smoltcp pair went idle waiting for {what}");
            }
        }
        panic!("smoltcp pair: {what} not reached after 10000 steps");
    }

    /// Let virtual time pass by `d`, polling at every deadline on the way.
    pub(crate) fn idle_for(&mut self, d: Duration) {
        let end = self.now() + d;
        for _ in 0..10_000 {
            self.pump();
            let now = self.now();
            let a = self.a.iface.poll_at(now, &self.a.sockets);
            let b = self.b.iface.poll_at(now, &self.b.sockets);
            match [a, b].into_iter().flatten().min() {
                Some(t) if t <= end => {
                    self.clock.skip_to((t.total_micros() as u64).max(now.total_micros() as u64 + 1))
                }
                _ => break,
            }
        }
        self.clock.skip_to(end.total_micros() as u64);
        self.pump();
    }

    /// Open `n` connections (local ports from `first_port` on) to `port` on the server,
    /// each with its own listening socket there; returns (client, server) handles.
    pub(crate) fn open_idle(
        &mut self,
        port: u16,
        first_port: u16,
        n: usize,
        buffer: usize,
    ) -> Vec<(SocketHandle, SocketHandle)> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let batch = (n - out.len()).min(256);
            let start = out.len();
            for i in 0..batch {
                let s = self.b.add_socket(buffer);
                self.b.tcp(s).listen(port).expect("smoltcp listen");
                let c = self.a.add_socket(buffer);
                let lport = first_port + (start + i) as u16;
                let remote = IpEndpoint::new(ip(net::SERVER), port);
                let cx = self.a.iface.context();
                self.a.sockets.get_mut::<tcp::Socket>(c).connect(cx, remote, lport).expect("smoltcp connect");
                out.push((c, s));
            }
            self.settle("idle connections established", |p| {
                out[start..].iter().all(|&(c, s)| {
                    p.a.tcp(c).state() == tcp::State::Established
                        && p.b.tcp(s).state() == tcp::State::Established
                })
            });
        }
        out
    }
}

/// A std address as smoltcp's.
pub(crate) fn ip(a: IpAddr) -> IpAddress {
    match a {
        IpAddr::V4(v4) => IpAddress::Ipv4(v4),
        IpAddr::V6(_) => unreachable!("the benchmarks use IPv4"),
    }
}
