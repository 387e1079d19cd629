//! A pair harness: two stacks joined by a virtual link with a fixed one-way delay, a
//! virtual clock that jumps to the next event, and a hook that may drop, duplicate or
//! delay chosen segments.

#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod inject;

pub mod flow_helpers;

pub mod fragmenter;
pub use fragmenter::ip_fragments;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::wire::{self, TcpFlags};
use synack::{Config, Duration, Instant, OptionLayout, Stack, State, TraceEvent};

pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
pub const SERVER_PORT: u16 = 80;

pub fn server_addr() -> SocketAddr {
    SocketAddr::new(SERVER_IP, SERVER_PORT)
}

/// Which way a segment travels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    AtoB,
    BtoA,
}

/// A segment seen on the link.
#[derive(Clone, Debug)]
pub struct Seg {
    pub t: Instant,
    pub dir: Dir,
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub len: usize,
    pub win: u16,
    pub bytes: Vec<u8>,
}

/// What the link does with a segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fate {
    Deliver,
    Drop,
    Duplicate,
    Delay(Duration),
    /// Delivered with one byte flipped: the byte at this index, counted from the end
    /// of the datagram (so that small values hit the payload).
    Corrupt(usize),
    /// What a congested router does with active queue management (RFC 3168 5): an
    /// ECN-capable datagram (ECT) is marked CE and delivered, any other dropped.
    MarkCe,
    /// Delivered as IP fragments of at most this many payload bytes (see
    /// [`ip_fragments`]), the last one first.
    Fragment(usize),
    /// Cut into IP fragments of at most this many payload bytes, each then lost (5%),
    /// duplicated (5%) or held back 5 to 20 ms (10%) on its own, from the pair's
    /// `fragment_faults` stream.
    FragmentFaulty(usize),
}

pub type Rule = Box<dyn FnMut(&Seg) -> Fate>;

pub struct Pair {
    pub a: Stack,
    pub b: Stack,
    pub now: Instant,
    pub delay: Duration,
    in_flight: Vec<(Instant, u64, Dir, Vec<u8>)>,
    next_id: u64,
    pub log: Vec<Seg>,
    pub dropped: Vec<Seg>,
    pub rule: Rule,
    pub trace_a: Vec<synack::TraceRecord>,
    pub trace_b: Vec<synack::TraceRecord>,
    /// When set, `b` takes its datagrams through `Stack::handle_packet_into` with this
    /// application buffer.
    pub direct_b: Option<DirectApp>,
    /// When set, both stacks' output is taken with `Stack::poll_transmit_many`, this
    /// many buffers at a time, instead of `Stack::poll_transmit`.
    pub batch: Option<usize>,
    /// The draws of `Fate::FragmentFaulty`.
    pub fragment_faults: Rng,
    /// Fragments `Fate::FragmentFaulty` lost.
    pub fragments_lost: usize,
    /// ICMP and ICMPv6 messages the stacks sent, delivered to the other side.
    pub icmp_log: Vec<(Dir, Vec<u8>)>,
}

/// An application buffer lent to `Stack::handle_packet_into` on every delivery.
pub struct DirectApp {
    pub conn: synack::ConnId,
    pub buf: Vec<u8>,
    /// Bytes delivered into `buf` so far.
    pub filled: usize,
}

/// Differential check of the stack's own emission path (`poll_transmit` writes the
/// header in place, `wire::emit_two`) against the general [`wire::emit`]: the parsed
/// header and payload of every datagram a stack sends, emitted again through
/// `wire::emit`, give the same bytes - headers, options, padding and both checksums.
/// (Parsing forgets the option layout: one of the two must reproduce the datagram.
/// `wire::emit` writes no ECN codepoint: the datagram's is copied over.)
pub fn assert_reemits(bytes: &[u8], p: &wire::Packet<'_>) {
    let mut again = vec![0u8; bytes.len()];
    let same = [OptionLayout::Linux, OptionLayout::Bsd].into_iter().any(|layout| {
        let mut h = p.tcp;
        h.options.layout = layout;
        again.fill(0);
        let ok = wire::emit(&mut again, p.src, p.dst, p.ttl, &h, &[p.payload]) == Ok(bytes.len());
        if ok && p.ecn != 0 && p.src.is_ipv4() {
            inject::set_ipv4_ecn(&mut again, p.ecn);
        }
        ok && again == bytes
    });
    assert!(same, "emitted datagram differs from wire::emit of its own fields: {bytes:02x?}");
}

pub fn config(ip: IpAddr) -> Config {
    Config { addresses: vec![ip], trace: true, ..Config::default() }
}

impl Pair {
    /// Client `a` at 192.0.2.1, server `b` at 192.0.2.2, 10 ms one-way delay.
    pub fn new() -> Self {
        Self::with_configs(config(CLIENT_IP), config(SERVER_IP))
    }

    pub fn with_configs(ca: Config, cb: Config) -> Self {
        Pair {
            a: Stack::new(ca),
            b: Stack::new(cb),
            now: Instant::ZERO,
            delay: Duration::from_millis(10),
            in_flight: Vec::new(),
            next_id: 0,
            log: Vec::new(),
            dropped: Vec::new(),
            rule: Box::new(|_| Fate::Deliver),
            fragment_faults: Rng(0x5eed_f4a9),
            fragments_lost: 0,
            icmp_log: Vec::new(),
            trace_a: Vec::new(),
            trace_b: Vec::new(),
            direct_b: None,
            batch: None,
        }
    }

    /// The datagrams `stack` has to send, in order, with the addresses `poll_transmit`
    /// reported for them.
    fn drain(stack: &mut Stack, now: Instant, batch: Option<usize>) -> Vec<(Vec<u8>, IpAddr, IpAddr)> {
        let mut out = Vec::new();
        match batch {
            None => {
                let mut buf = vec![0u8; 65536];
                while let Some(tx) = stack.poll_transmit(now, &mut buf) {
                    out.push((buf[..tx.len].to_vec(), tx.src, tx.dst));
                }
            }
            Some(k) => loop {
                let mut bufs = vec![vec![0u8; 65536]; k];
                let mut sent = vec![synack::Transmit::default(); k];
                let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
                let n = stack.poll_transmit_many(now, &mut slices, &mut sent);
                assert!(n <= k);
                out.extend(bufs.iter().zip(&sent).take(n).map(|(b, t)| (b[..t.len].to_vec(), t.src, t.dst)));
                if n < k {
                    break;
                }
            },
        }
        out
    }

    fn collect(&mut self) {
        for dir in [Dir::AtoB, Dir::BtoA] {
            let stack = if dir == Dir::AtoB { &mut self.a } else { &mut self.b };
            for (bytes, src, dst) in Self::drain(stack, self.now, self.batch) {
                let p = match wire::parse(&bytes) {
                    Ok(p) => p,
                    Err(wire::WireError::NotTcp(wire::IPPROTO_ICMP | wire::IPPROTO_ICMPV6)) => {
                        // The stack's own ICMP (a reassembly's Time Exceeded): to the peer,
                        // past the rules.
                        let ip = wire::parse_ip(&bytes).expect("the stack's ICMP parses");
                        assert_eq!((src, dst), (ip.src, ip.dst), "the addresses reported for a datagram");
                        self.icmp_log.push((dir, bytes.clone()));
                        let at = self.now + self.delay;
                        self.push(at, dir, bytes);
                        continue;
                    }
                    Err(e) => panic!("stack emitted an unparsable datagram: {e:?}"),
                };
                assert_eq!((src, dst), (p.src, p.dst), "the addresses reported for a datagram");
                assert_reemits(&bytes, &p);
                let seg = Seg {
                    t: self.now,
                    dir,
                    flags: p.tcp.flags,
                    seq: p.tcp.seq.raw(),
                    ack: p.tcp.ack.raw(),
                    len: p.payload.len(),
                    win: p.tcp.window,
                    bytes: bytes.clone(),
                };
                let fate = (self.rule)(&seg);
                self.log.push(seg.clone());
                let at = self.now + self.delay;
                match fate {
                    Fate::Deliver => self.push(at, dir, bytes),
                    Fate::Drop => self.dropped.push(seg),
                    Fate::Duplicate => {
                        self.push(at, dir, bytes.clone());
                        self.push(at + Duration::from_millis(1), dir, bytes);
                    }
                    Fate::Delay(d) => self.push(at + d, dir, bytes),
                    Fate::MarkCe => {
                        let mut bytes = bytes;
                        if wire::mark_ce(&mut bytes) {
                            self.push(at, dir, bytes);
                        } else {
                            self.dropped.push(seg);
                        }
                    }
                    Fate::Fragment(max) => {
                        let id = self.next_id as u32;
                        for f in ip_fragments(&bytes, max, id).into_iter().rev() {
                            self.push(at, dir, f);
                        }
                    }
                    Fate::FragmentFaulty(max) => {
                        let id = self.next_id as u32;
                        for f in ip_fragments(&bytes, max, id) {
                            let u = self.fragment_faults.next() % 100;
                            match u {
                                0..5 => self.fragments_lost += 1,
                                5..10 => {
                                    self.push(at, dir, f.clone());
                                    self.push(at + Duration::from_millis(1), dir, f);
                                }
                                10..20 => {
                                    let hold = Duration::from_millis(5 + self.fragment_faults.next() % 16);
                                    self.push(at + hold, dir, f);
                                }
                                _ => self.push(at, dir, f),
                            }
                        }
                    }
                    Fate::Corrupt(back) => {
                        let mut bytes = bytes;
                        let i = bytes.len() - 1 - back % bytes.len();
                        bytes[i] ^= 0x20;
                        self.push(at, dir, bytes);
                    }
                }
            }
        }
        while let Some(r) = self.a.poll_trace() {
            self.trace_a.push(r);
        }
        while let Some(r) = self.b.poll_trace() {
            self.trace_b.push(r);
        }
    }

    fn push(&mut self, at: Instant, dir: Dir, bytes: Vec<u8>) {
        self.in_flight.push((at, self.next_id, dir, bytes));
        self.next_id += 1;
    }

    /// Flush output, then advance the clock to the next event and process it. Returns
    /// false when nothing is left to do.
    pub fn step(&mut self) -> bool {
        self.collect();
        let next_pkt = self.in_flight.iter().map(|(t, id, _, _)| (*t, *id)).min();
        let next_timer = [self.a.poll_timeout(), self.b.poll_timeout()].into_iter().flatten().min();
        let t = match (next_pkt.map(|p| p.0), next_timer) {
            (Some(p), Some(q)) => p.min(q),
            (Some(p), None) => p,
            (None, Some(q)) => q,
            (None, None) => return false,
        };
        if t > self.now {
            self.now = t;
        }
        // Deliver every datagram due now, in send order.
        let mut due: Vec<_> = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].0 <= self.now {
                due.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|(t, id, _, _)| (*t, *id));
        for (_, _, dir, bytes) in due {
            match dir {
                Dir::AtoB => match &mut self.direct_b {
                    Some(d) => {
                        let mut into = synack::RecvInto::new(d.conn, &mut d.buf[d.filled..]);
                        d.filled += self.b.handle_packet_into(self.now, &bytes, &mut into);
                    }
                    None => self.b.handle_packet(self.now, &bytes),
                },
                Dir::BtoA => self.a.handle_packet(self.now, &bytes),
            }
        }
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.collect();
        true
    }

    /// Step until `cond` holds; panics after `max` steps.
    pub fn drive_until(&mut self, max: usize, mut cond: impl FnMut(&mut Pair) -> bool) {
        for _ in 0..max {
            if cond(self) {
                return;
            }
            if !self.step() && !cond(self) {
                panic!("the network went idle before the condition held (t={:?})", self.now);
            }
        }
        assert!(cond(self), "condition not reached within {max} steps (t={:?})", self.now);
    }

    /// Step until nothing is left to do (bounded).
    pub fn drive_idle(&mut self, max: usize) {
        for _ in 0..max {
            if !self.step() {
                return;
            }
        }
        panic!("still busy after {max} steps (t={:?})", self.now);
    }

    /// Step until virtual time reaches `t` (bounded).
    pub fn drive_until_time(&mut self, t: Instant, max: usize) {
        self.drive_until(max, |p| p.now >= t || !p.busy());
    }

    pub fn busy(&self) -> bool {
        !self.in_flight.is_empty() || self.a.poll_timeout().is_some() || self.b.poll_timeout().is_some()
    }

    /// The state changes of connection traces on one side, in order, for the tuple
    /// whose local port is `port` (0: any non-listener).
    pub fn states(trace: &[synack::TraceRecord]) -> Vec<State> {
        let mut out = Vec::new();
        for r in trace {
            if let TraceEvent::State { conn, from, to } = r.ev {
                if conn.remote.port() == 0 {
                    continue; // a listener
                }
                if out.is_empty() {
                    out.push(from);
                }
                out.push(to);
            }
        }
        out
    }

    pub fn segs(&self, dir: Dir) -> Vec<&Seg> {
        self.log.iter().filter(|s| s.dir == dir).collect()
    }
}

/// A SYN from `src`:40000 to `dst`:80 (SEQ 1000, window 65535, MSS 1220) carrying
/// `payload`, as a whole datagram without IP options.
pub fn syn_datagram(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    let hdr = wire::TcpHeader {
        src_port: 40000,
        dst_port: 80,
        seq: synack::SeqNum(1000),
        ack: synack::SeqNum(0),
        flags: TcpFlags::SYN,
        window: 65535,
        urgent: 0,
        options: wire::TcpOptions { mss: Some(1220), ..wire::TcpOptions::NONE },
    };
    let mut buf = vec![0u8; 1500];
    let n = wire::emit(&mut buf, src.parse().expect("src"), dst.parse().expect("dst"), 64, &hdr, &[payload])
        .expect("emit");
    buf.truncate(n);
    buf
}

/// Deterministic bytes for transfers.
pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A tiny xorshift RNG for fault injection in tests.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}
