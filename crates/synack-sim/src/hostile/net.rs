//! A lean network for attacks at scale: many stacks (tracing off), one fixed one-way
//! delay, routing by destination address, and datagrams injected from off-path hosts
//! with any source address. A datagram to an address no host owns (a reply to a
//! spoofed source) is dropped by the network and counted.
//!
//! The virtual clock jumps from event to event as in the scenario engine; the driver
//! (the attack) decides when to move it and reacts to the stacks' events.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use synack::wire;
use synack::{Config, Duration, Instant, SeqNum, Stack};

/// Live heap bytes of the process, as a counting global allocator reports them.
pub type HeapProbe<'p> = &'p dyn Fn() -> usize;

/// The heap owned by one watched stack: the net bytes allocated inside its calls.
struct Watch<'p> {
    node: usize,
    probe: HeapProbe<'p>,
    live: i64,
    peak: i64,
}

/// What the wire showed of one direction of a connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    /// The highest sequence number sent (SND.NXT as far as the wire tells).
    pub(crate) snd_nxt: SeqNum,
    /// The latest TSval sent, if the segments carry timestamps.
    pub(crate) ts_val: Option<u32>,
}

/// A datagram on its way.
struct Arrival {
    to: usize,
    bytes: Vec<u8>,
}

/// The network.
pub(crate) struct Net<'p> {
    now: Instant,
    stacks: Vec<Stack>,
    by_ip: HashMap<IpAddr, usize>,
    /// Each stack's `poll_timeout`, refreshed after every call into it.
    deadlines: Vec<Option<Instant>>,
    queue: BTreeMap<(Instant, u64), Arrival>,
    order: u64,
    delay: Duration,
    buf: Vec<u8>,
    watch: Option<Watch<'p>>,
    /// Stacks called since the driver last asked ([`Net::take_touched`]).
    touched: Vec<usize>,
    is_touched: Vec<bool>,
    /// Per directed 4-tuple (src, dst), what the wire showed: an oracle for the
    /// attacker's lucky guesses.
    pub(crate) seen: Option<HashMap<(SocketAddr, SocketAddr), Seen>>,
    /// Datagrams sent to an address no host owns, dropped.
    pub(crate) unroutable: u64,
    /// Datagrams delivered to a host.
    pub(crate) delivered: u64,
}

impl<'p> Net<'p> {
    /// A network whose every datagram takes `delay` to arrive.
    pub(crate) fn new(delay: Duration) -> Net<'p> {
        Net {
            now: Instant::ZERO,
            stacks: Vec::new(),
            by_ip: HashMap::new(),
            deadlines: Vec::new(),
            queue: BTreeMap::new(),
            order: 0,
            delay,
            buf: vec![0u8; 65_536],
            watch: None,
            touched: Vec::new(),
            is_touched: Vec::new(),
            seen: None,
            unroutable: 0,
            delivered: 0,
        }
    }

    /// Add a host owning `cfg.addresses`; with `probe`, the heap its stack owns is
    /// measured (one host at most).
    pub(crate) fn add(&mut self, cfg: Config, probe: Option<HeapProbe<'p>>) -> usize {
        let node = self.stacks.len();
        for ip in &cfg.addresses {
            self.by_ip.insert(*ip, node);
        }
        let before = probe.map(|p| p());
        let stack = Stack::new(cfg);
        if let (Some(p), Some(before)) = (probe, before) {
            let live = p() as i64 - before as i64;
            self.watch = Some(Watch { node, probe: p, live, peak: live });
        }
        self.stacks.push(stack);
        self.deadlines.push(None);
        self.is_touched.push(false);
        node
    }

    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Read-only access to a stack (counters, states).
    pub(crate) fn stack(&self, node: usize) -> &Stack {
        &self.stacks[node]
    }

    /// Heap bytes the watched stack owns now, and at most so far.
    pub(crate) fn heap(&self) -> Option<(i64, i64)> {
        self.watch.as_ref().map(|w| (w.live, w.peak))
    }

    /// Call into a stack (measuring the heap if it is watched), then send what it has
    /// to send.
    pub(crate) fn call<R>(&mut self, node: usize, f: impl FnOnce(&mut Stack, Instant) -> R) -> R {
        let now = self.now;
        let r = self.measured(node, |s| f(s, now));
        self.flush(node);
        r
    }

    fn measured<R>(&mut self, node: usize, f: impl FnOnce(&mut Stack) -> R) -> R {
        let probe = self.watch.as_ref().filter(|w| w.node == node).map(|w| w.probe);
        let before = probe.map(|p| p());
        let r = f(&mut self.stacks[node]);
        if let (Some(w), Some(p), Some(before)) = (self.watch.as_mut(), probe, before) {
            w.live += p() as i64 - before as i64;
            w.peak = w.peak.max(w.live);
        }
        if !self.is_touched[node] {
            self.is_touched[node] = true;
            self.touched.push(node);
        }
        r
    }

    /// The next event of a stack (without counting as a call that may cause more).
    pub(crate) fn poll_event(&mut self, node: usize) -> Option<synack::Event> {
        let probe = self.watch.as_ref().filter(|w| w.node == node).map(|w| w.probe);
        let before = probe.map(|p| p());
        let ev = self.stacks[node].poll_event();
        if let (Some(w), Some(p), Some(before)) = (self.watch.as_mut(), probe, before) {
            w.live += p() as i64 - before as i64;
            w.peak = w.peak.max(w.live);
        }
        ev
    }

    /// The stacks called since the last time, to look at their events.
    pub(crate) fn take_touched(&mut self) -> Vec<usize> {
        for &n in &self.touched {
            self.is_touched[n] = false;
        }
        std::mem::take(&mut self.touched)
    }

    fn flush(&mut self, node: usize) {
        loop {
            let now = self.now;
            let mut buf = std::mem::take(&mut self.buf);
            let tx = self.measured(node, |s| s.poll_transmit(now, &mut buf));
            let sent = tx.map(|t| (t.dst, buf[..t.len].to_vec()));
            self.buf = buf;
            match sent {
                Some((dst, bytes)) => self.route(dst, bytes),
                None => break,
            }
        }
        self.deadlines[node] = self.stacks[node].poll_timeout();
    }

    /// Put a datagram on its way to the host owning `dst`, or drop it.
    fn route(&mut self, dst: IpAddr, bytes: Vec<u8>) {
        if let Some(map) = self.seen.as_mut() {
            if let Ok(p) = wire::parse(&bytes) {
                let h = p.tcp;
                let len = p.payload.len() as u32 + u32::from(h.flags.syn()) + u32::from(h.flags.fin());
                let key = (SocketAddr::new(p.src, h.src_port), SocketAddr::new(p.dst, h.dst_port));
                let end = h.seq + len;
                let e = map.entry(key).or_insert(Seen { snd_nxt: end, ts_val: None });
                if end.gt(e.snd_nxt) {
                    e.snd_nxt = end;
                }
                if let Some(ts) = h.options.timestamps {
                    e.ts_val = Some(ts.val);
                }
            }
        }
        match self.by_ip.get(&dst) {
            Some(&to) => {
                self.queue.insert((self.now + self.delay, self.order), Arrival { to, bytes });
                self.order += 1;
            }
            None => self.unroutable += 1,
        }
    }

    /// A datagram from an off-path host, with whatever source it claims.
    pub(crate) fn inject(&mut self, bytes: &[u8]) {
        match wire::parse_ip(bytes) {
            Ok(ip) => self.route(ip.dst, bytes.to_vec()),
            Err(_) => self.unroutable += 1,
        }
    }

    /// When the network next has something to do: a datagram arrives or a timer runs
    /// out.
    pub(crate) fn next_event(&self) -> Option<Instant> {
        let arrival = self.queue.keys().next().map(|k| k.0);
        arrival.into_iter().chain(self.deadlines.iter().flatten().copied()).min()
    }

    /// Move the clock to `t` (never back) and deliver every datagram and run every
    /// timer due by then.
    pub(crate) fn advance(&mut self, t: Instant) {
        if t > self.now {
            self.now = t;
        }
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let a = entry.remove();
            self.delivered += 1;
            self.call(a.to, |s, now| s.handle_packet(now, &a.bytes));
        }
        for node in 0..self.stacks.len() {
            if self.deadlines[node].is_some_and(|d| d <= self.now) {
                self.call(node, |s, now| s.handle_timeout(now));
            }
        }
    }
}
