//! The fuzz harness, shared by the cargo-fuzz targets in `fuzz/fuzz_targets/` (which
//! include this file with `#[path]`) and by `tests/fuzz_replay.rs` (which replays the
//! checked-in corpus and every input that once crashed, on every `cargo test`).
//!
//! It lives with the tests rather than in the core behind a `fuzzing` feature because it
//! needs nothing but the public API - which is the point: it drives the stack exactly as
//! an attacker's datagrams and an application's calls can, and checks only what the API
//! promises. The core's public surface stays free of test scaffolding, and no feature
//! flag can be forgotten.
//!
//! Two harnesses:
//!
//! - [`wire_parse`]: any bytes into `wire::parse`; whatever parses must emit again and
//!   parse back to the same datagram (options normalised as `emit` documents), and emit
//!   byte-identically a second time.
//! - [`stack_input`]: a stack holding a connection in every state of RFC 9293 Figure 5
//!   (LISTEN, SYN-SENT, SYN-RECEIVED passive and active, ESTABLISHED with data in flight
//!   and out-of-order data held, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK,
//!   TIME-WAIT), then a sequence of operations decoded from the input: time advances,
//!   segments aimed at those 4-tuples with plausible sequence and acknowledgment
//!   numbers (or any), spoofed SYN floods from 192.0.2.0/24, cookie-completing ACKs,
//!   raw datagrams, raw TCP segments with a valid checksum, and application calls.
//!   After every operation: no panic, and memory stays bounded - connections,
//!   TIME-WAIT records, the accept queue, each connection's buffers, the datagrams one
//!   `poll_transmit` loop yields, and (where the caller measures it) the heap.
//! - [`icmp_input`]: the same, with ICMP and ICMPv6 errors about those 4-tuples among
//!   the operations.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

#[path = "fragmenter.rs"]
mod fragmenter;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions, Timestamps, WireError};
use synack::{
    Config, CongestionControl, ConnId, Duration, Ecn, Instant, ListenerId, RecvInto, SeqNum, Stack, State,
    SynCookies, TraceEvent,
};

// ---------------------------------------------------------------------------------------
// wire_parse

/// Any bytes into the parser; a parsed datagram round-trips through `emit`. The same
/// bytes are parsed a second time with their checksums made valid, so that mutations
/// reach the header and option parsing behind the checksum checks.
pub fn wire_parse(data: &[u8]) {
    let _ = wire::parse_ip(data);
    round_trip(data);
    let mut fixed = data.to_vec();
    if fix_checksums(&mut fixed) {
        round_trip(&fixed);
    }
}

/// Make the IPv4 header checksum and the TCP checksum of a datagram valid, where its
/// headers say where they are. False if the bytes are too short to hold them.
fn fix_checksums(d: &mut [u8]) -> bool {
    let Some(&first) = d.first() else { return false };
    let (src, dst, tcp_start, tcp_end) = match first >> 4 {
        4 => {
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 || d.len() < ihl {
                return false;
            }
            let total = usize::from(u16::from_be_bytes([d[2], d[3]])).min(d.len());
            d[10] = 0;
            d[11] = 0;
            let sum = wire::checksum_finish(wire::checksum_partial(&d[..ihl], 0));
            d[10..12].copy_from_slice(&sum.to_be_bytes());
            let src = IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19]));
            (src, dst, ihl, total.max(ihl))
        }
        6 => {
            if d.len() < 40 {
                return false;
            }
            let plen = usize::from(u16::from_be_bytes([d[4], d[5]]));
            let mut a = [0u8; 16];
            a.copy_from_slice(&d[8..24]);
            let src = IpAddr::from(a);
            a.copy_from_slice(&d[24..40]);
            let dst = IpAddr::from(a);
            (src, dst, 40, (40 + plen).min(d.len()))
        }
        _ => return false,
    };
    let seg = &mut d[tcp_start..tcp_end];
    if seg.len() < 20 {
        return false;
    }
    seg[16] = 0;
    seg[17] = 0;
    let sum = wire::pseudo_header_sum(src, dst, wire::IPPROTO_TCP, seg.len() as u32)
        + wire::checksum_partial(seg, 0);
    let c = wire::checksum_finish(sum);
    seg[16..18].copy_from_slice(&c.to_be_bytes());
    true
}

fn round_trip(data: &[u8]) {
    let Ok(p) = wire::parse(data) else { return };
    let mut buf = vec![0u8; 70_000];
    let want = wire::emit_len(p.src, &p.tcp, p.payload.len());
    let n = match wire::emit(&mut buf, p.src, p.dst, p.ttl, &p.tcp, &[p.payload]) {
        Ok(n) => n,
        Err(WireError::TooLong) => {
            // Only when the normalised options make the datagram too long for its length
            // field.
            let ip = if p.src.is_ipv4() { 0 } else { 40 };
            assert!(want - ip > 65_535, "TooLong for a datagram of {want} bytes");
            return;
        }
        Err(e) => panic!("re-emitting a parsed datagram failed: {e:?}"),
    };
    assert_eq!(n, want, "emit_len agrees with emit");
    let q = wire::parse(&buf[..n]).expect("an emitted datagram parses");
    assert_eq!((q.src, q.dst, q.ttl), (p.src, p.dst, p.ttl));
    assert_eq!(q.payload, p.payload);
    // What emission normalises: unknown options are not emitted, SACK blocks that do not
    // fit beside the other options are dropped (from the end).
    let (a, b) = (p.tcp, q.tcp);
    assert!(b.options.sack_len <= a.options.sack_len);
    let kept = b.options.sack_blocks().len();
    assert_eq!(b.options.sack_blocks(), &a.options.sack_blocks()[..kept]);
    let strip = |mut h: TcpHeader| {
        h.options.unknown = 0;
        h.options.sack = TcpOptions::NONE.sack;
        h.options.sack_len = 0;
        h
    };
    assert_eq!(strip(a), strip(b), "header round trip");
    // Emission is a function of the parsed datagram.
    let mut again = vec![0u8; n];
    let n2 = wire::emit(&mut again, q.src, q.dst, q.ttl, &q.tcp, &[q.payload]).expect("second emission");
    assert_eq!(&buf[..n], &again[..n2], "emit(parse(emit(x))) == emit(x)");
}

// ---------------------------------------------------------------------------------------
// stack_input: limits and addresses

pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The stack's IPv6 address (2001:db8::/32, documentation), for spoofed IPv6 peers.
pub const LOCAL_IP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
pub const LISTEN_PORT: u16 = 80;

/// The limits of the fuzzed stack: small, so that inputs reach them.
pub const MAX_CONNECTIONS: usize = 24;
pub const MAX_TIME_WAIT: usize = 6;
pub const MAX_SYN_QUEUE: usize = 3;
pub const MAX_OOO_RANGES: usize = 4;
pub const BACKLOG: usize = 6;
pub const CHALLENGE_ACK_LIMIT: u32 = 20;
/// The core's bound on queued control segments (`conn::MAX_CONTROL_QUEUE`).
pub const MAX_CONTROL_QUEUE: usize = 1024;
/// The smallest MSS the core uses, whatever the peer announces.
const MIN_MSS: usize = 64;
/// Duplicate ACKs one connection may owe at once (`conn::buffers::MAX_DUP_ACKS_OWED`).
const MAX_DUP_ACKS: usize = 256;
/// Operations run per input at most (an input of repeats cannot run forever).
const MAX_OPS: usize = 20_000;

/// Bytes the peers send: slices of this, so that no operation allocates.
static PATTERN: [u8; 4096] = {
    let mut p = [0u8; 4096];
    let mut i = 0;
    while i < p.len() {
        p[i] = (i * 7 + 3) as u8;
        i += 1;
    }
    p
};

/// The configuration byte picks the knobs; the limits stay fixed and small.
pub fn fuzz_config(b: u8, sizes: u8) -> Config {
    const BUFFERS: [u32; 4] = [2048, 4096, 8192, 65_535 + 4096];
    const MTUS: [u16; 4] = [1500, 576, 1280, 9000];
    Config {
        secret: *b"fuzzing-secret!!",
        addresses: vec![IpAddr::V4(LOCAL_IP), IpAddr::V6(LOCAL_IP6)],
        mtu: MTUS[usize::from(sizes & 3)],
        recv_buffer: BUFFERS[usize::from((sizes >> 2) & 3)],
        send_buffer: BUFFERS[usize::from((sizes >> 4) & 3)],
        window_scaling: b & 0x08 != 0,
        delayed_ack: if b & 0x10 != 0 { Some(Duration::from_millis(40)) } else { None },
        nagle: b & 0x20 != 0,
        // (CUBIC where the cookie bits are 3, one of the two values for WhenFull.)
        congestion_control: match (b & 0x40 != 0, b & 3 == 3) {
            (false, _) => CongestionControl::None,
            (true, false) => CongestionControl::Reno,
            (true, true) => CongestionControl::Cubic,
        },
        rfc1337: b & 0x04 != 0,
        trace: b & 0x80 != 0,
        syn_cookies: match b & 3 {
            0 => SynCookies::Off,
            2 => SynCookies::Always,
            _ => SynCookies::WhenFull,
        },
        max_connections: MAX_CONNECTIONS,
        max_time_wait: MAX_TIME_WAIT,
        max_syn_queue: MAX_SYN_QUEUE,
        max_ooo_ranges: MAX_OOO_RANGES,
        challenge_ack_limit: CHALLENGE_ACK_LIMIT,
        ephemeral_ports: (49152, 49200),
        msl: Duration::from_secs(5),
        fin_wait2_timeout: Duration::from_secs(10),
        syn_retries: 3,
        max_retries: 5,
        ecn: match sizes >> 6 {
            0 => Ecn::Off,
            1 => Ecn::Active,
            _ => Ecn::Passive,
        },
        // (The last value of those bits also gives every connection a user timeout, and
        // takes segments to any address, as a transparent proxy's stack does.)
        user_timeout: (sizes >> 6 == 3).then_some(Duration::from_secs(2)),
        any_address: sizes >> 6 == 3,
        // (Recovery without Proportional Rate Reduction where ECN is active.)
        prr: sizes >> 6 != 1,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Input decoding

/// Reads the fuzz input; past its end every read is 0.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }
}

// ---------------------------------------------------------------------------------------
// The peers

/// One 4-tuple the harness plays the remote end of.
#[derive(Clone, Copy, Debug)]
struct Track {
    /// The stack's side.
    local: SocketAddr,
    /// The peer's side.
    remote: SocketAddr,
    /// The peer's next sequence number.
    nxt: u32,
    /// One past the highest sequence number the stack sent on this 4-tuple.
    seen: u32,
    /// Whether the stack sent anything yet (`seen` is meaningful).
    heard: bool,
    /// The highest acknowledgment number the peer sent (at most `seen`): the peer's
    /// view of SND.UNA, the base of duplicate ACKs and SACK blocks.
    acked: u32,
    /// Whether the peer sent an acknowledgment yet (`acked` is meaningful).
    acked_set: bool,
    /// The application's handle, if it holds one.
    conn: Option<ConnId>,
    /// The state the trace last reported (when tracing).
    state: State,
    /// The last TSval the stack sent on this 4-tuple, if any (a cookie SYN,ACK's
    /// carries options the ACK must echo).
    ts_val: Option<u32>,
}

impl Track {
    fn new(local: SocketAddr, remote: SocketAddr, iss: u32) -> Self {
        Track {
            local,
            remote,
            nxt: iss,
            seen: 0,
            heard: false,
            acked: 0,
            acked_set: false,
            conn: None,
            state: State::Closed,
            ts_val: None,
        }
    }

    /// The peer's view of SND.UNA: what it last acknowledged, or all it saw.
    fn una(&self) -> u32 {
        if self.acked_set {
            self.acked
        } else {
            self.seen
        }
    }
}

/// The states the setup puts the fixed 4-tuples in, in order.
pub const FIXTURE_STATES: [State; 12] = [
    State::SynSent,
    State::SynReceived, // passive (no state under SynCookies::Always: a cookie instead)
    State::SynReceived, // active: simultaneous open
    State::Established, // passive, data both ways, data in flight, out-of-order data held
    State::Established, // active
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
    State::TimeWait,
    State::Established, // kept for application calls
];

const RECENT: usize = 8;
const EXTRA: usize = 32;

/// What one run did, for the replay test's report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub ops: usize,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    pub max_drain: usize,
    pub max_connections_seen: usize,
    pub max_time_wait_seen: usize,
    pub peak_heap: usize,
    /// Bytes delivered straight into the lent buffer (`Stack::handle_packet_into`).
    pub direct_bytes: u64,
    /// The stack's counters at the end.
    pub stats: synack::StackStats,
}

/// The stack under test and its peers.
pub struct Harness {
    pub stack: Stack,
    pub now: Instant,
    pub listener: Option<ListenerId>,
    /// The same port on the IPv6 address.
    pub listener6: Option<ListenerId>,
    /// A catch-all listener (`Stack::listen_all`) on every address, when opened.
    pub catch_all: Option<ListenerId>,
    tracks: [Track; FIXTURE_STATES.len()],
    /// Spoofed 4-tuples recently used, to complete (cookie) handshakes on them.
    recent: [Track; RECENT],
    recent_next: usize,
    /// Handles from `accept` and `connect`.
    extra: [Option<ConnId>; EXTRA],
    /// Counter for spoofed sources.
    spoof: u32,
    /// Whether the peers offer SACK-permitted in their handshakes (RFC 2018 2), so that
    /// the stack's SACK scoreboard and loss recovery are reachable.
    peer_sack: bool,
    /// The next segment `send_from` delivers gets a bad TCP checksum (a corrupt
    /// segment: it must change nothing, RFC 9293 3.1, even when its data was already
    /// copied on the way in).
    corrupt_next: bool,
    /// The datagrams `send_from` delivers during this operation arrive in IP fragments
    /// (bit 7 of the operation's code, unused before; IP reassembly, RFC 1122 3.3.2):
    /// pieces of 8 to 64 bytes, in forward or reverse order, the last one delivered
    /// maybe lost, all from the segment's sequence number (no input byte more, so
    /// that inputs keep their meaning otherwise).
    fragment_op: bool,
    tx: Vec<u8>,
    rx: Vec<u8>,
    read: Vec<u8>,
    /// When set (bit 7 of the second input byte), the application lends this buffer to
    /// `Stack::handle_packet_into` for the connection each datagram is for
    /// (`Stack::connection_of`), and uses what lands there at once.
    lend: Option<Vec<u8>>,
    mem: fn() -> usize,
    heap_base: usize,
    heap_budget: usize,
    pub summary: Summary,
}

/// Hand a datagram to the stack: through `handle_packet_into` with the lent buffer
/// for the connection it is for, when a buffer is lent; `handle_packet` otherwise.
fn deliver(stack: &mut Stack, now: Instant, datagram: &[u8], lend: Option<&mut [u8]>, summary: &mut Summary) {
    let (Some(buf), Some(conn)) = (lend, stack.connection_of(datagram)) else {
        stack.handle_packet(now, datagram);
        return;
    };
    let space = buf.len();
    let mut into = RecvInto::new(conn, buf);
    let n = stack.handle_packet_into(now, datagram, &mut into);
    assert_eq!(n, into.filled(), "handle_packet_into's count and the buffer's disagree");
    assert!(n <= space, "{n} bytes delivered into {space} bytes");
    summary.direct_bytes += n as u64;
}

fn sock(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

impl Harness {
    /// A stack with `cfg` and every fixture state set up. `mem` reports the bytes the
    /// process has allocated (a counting global allocator), or 0 to skip that check.
    pub fn new(cfg: Config, mem: fn() -> usize) -> Self {
        Self::with_peer_sack(cfg, mem, false)
    }

    /// As [`Harness::new`]; with `peer_sack` the peers offer SACK-permitted.
    pub fn with_peer_sack(cfg: Config, mem: fn() -> usize, peer_sack: bool) -> Self {
        let heap_base = mem();
        let per_conn = cfg.recv_buffer as usize + cfg.send_buffer as usize + 4096;
        // Everything the limits allow, with room for the tables' growth: the
        // connections and their buffers, TIME-WAIT records, the control queue, and the
        // harness's own buffers.
        let heap_budget =
            MAX_CONNECTIONS * per_conn + MAX_TIME_WAIT * 512 + MAX_CONTROL_QUEUE * 256 + (1 << 20);
        let local = sock(LOCAL_IP, LISTEN_PORT);
        let mut tracks = [Track::new(local, local, 0); FIXTURE_STATES.len()];
        for (i, t) in tracks.iter_mut().enumerate() {
            let i = i as u16;
            // Active opens come from their own local ports.
            let lport = if matches!(i, 0 | 2 | 4) { 5000 + i } else { LISTEN_PORT };
            // Peer ISNs just below 2^32: the fixtures' data crosses the wrap.
            *t = Track::new(
                sock(LOCAL_IP, lport),
                sock(PEER_IP, 7000 + i),
                0xffff_ff00u32.wrapping_add(u32::from(i) * 8),
            );
        }
        let mut h = Harness {
            stack: Stack::new(cfg),
            now: Instant::from_millis(1_000),
            listener: None,
            listener6: None,
            catch_all: None,
            tracks,
            recent: [Track::new(local, local, 0); RECENT],
            recent_next: 0,
            extra: [None; EXTRA],
            spoof: 0,
            peer_sack,
            corrupt_next: false,
            fragment_op: false,
            tx: vec![0u8; 70_000],
            rx: vec![0u8; 70_000],
            read: vec![0u8; 8192],
            lend: None,
            mem,
            heap_base,
            heap_budget,
            summary: Summary::default(),
        };
        h.setup();
        h
    }

    /// From now on, datagrams go through `Stack::handle_packet_into` with a lent buffer
    /// of `len` bytes (see [`Harness::lend`]).
    pub fn lend_buffer(&mut self, len: usize) {
        self.lend = Some(vec![0u8; len]);
        // An application that lends its buffer reads the receive buffers empty first:
        // data goes into the lent buffer only behind an empty receive buffer.
        let held = self.tracks.iter().filter_map(|t| t.conn).chain(self.extra.iter().flatten().copied());
        for c in held.collect::<Vec<_>>() {
            while let Ok(1..) = self.stack.recv(c, &mut self.read) {}
        }
    }

    /// The handle of fixture `i`, if the application holds one.
    pub fn fixture_conn(&self, i: usize) -> Option<ConnId> {
        self.tracks.get(i).and_then(|t| t.conn)
    }

    /// The state of fixture `i` as the trace reported it (needs `trace` on).
    pub fn fixture_traced_state(&self, i: usize) -> State {
        self.tracks[i].state
    }

    // ----- moving datagrams ---------------------------------------------------------

    /// One segment from `remote` to `local`.
    #[allow(clippy::too_many_arguments)]
    fn send_from(
        &mut self,
        remote: SocketAddr,
        local: SocketAddr,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        window: u16,
        options: TcpOptions,
        payload: &[u8],
    ) {
        let hdr = TcpHeader {
            src_port: remote.port(),
            dst_port: local.port(),
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window,
            // With URG, an urgent pointer derived from bytes the input already gives
            // (so that older inputs keep their meaning): anywhere in the next 64 KiB.
            urgent: if flags.urg() { window.rotate_left(5) ^ (seq as u16) } else { 0 },
            options,
        };
        let corrupt = std::mem::take(&mut self.corrupt_next);
        if let Ok(n) = wire::emit(&mut self.rx, remote.ip(), local.ip(), 64, &hdr, &[payload]) {
            if corrupt {
                // The TCP checksum field (the IP header's own checksum stays valid).
                let at = if remote.is_ipv4() { 20 } else { 40 } + 16;
                self.rx[at] ^= 0x5a;
            }
            self.summary.datagrams_in += 1;
            if self.fragment_op {
                let piece = 8 * (1 + seq as usize % 8);
                let id = self.summary.datagrams_in as u32;
                let mut pieces = fragmenter::ip_fragments(&self.rx[..n], piece, id);
                if seq & 0x100 != 0 {
                    pieces.reverse();
                }
                // A piece lost on the way: the datagram waits out the reassembly
                // timeout (and, its first piece in, is reported with a Time Exceeded).
                if seq & 0x200 != 0 && pieces.len() > 1 {
                    pieces.pop();
                }
                for f in &pieces {
                    deliver(&mut self.stack, self.now, f, self.lend.as_deref_mut(), &mut self.summary);
                }
            } else {
                deliver(
                    &mut self.stack,
                    self.now,
                    &self.rx[..n],
                    self.lend.as_deref_mut(),
                    &mut self.summary,
                );
            }
        }
        // The peer's cumulative acknowledgment moves forward, never past what it saw.
        if flags.ack() && !flags.rst() && !corrupt {
            let fixtures = self.tracks.iter_mut();
            for t in fixtures.chain(self.recent.iter_mut()) {
                if t.local == local && t.remote == remote && t.heard {
                    let ok = SeqNum(ack).le(SeqNum(t.seen));
                    if ok && (!t.acked_set || SeqNum(t.acked).lt(SeqNum(ack))) {
                        t.acked = ack;
                        t.acked_set = true;
                    }
                }
            }
        }
    }

    fn send_track(
        &mut self,
        i: usize,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        options: TcpOptions,
        payload: &[u8],
    ) {
        let t = self.tracks[i];
        self.send_from(t.remote, t.local, flags, seq, ack, 20_000, options, payload);
    }

    /// The peer of fixture `i` sends `flags` at its next sequence number, acknowledging
    /// everything the stack sent, with `len` bytes of data; its next sequence number
    /// advances.
    fn peer_send(&mut self, i: usize, flags: TcpFlags, len: usize) {
        let t = self.tracks[i];
        let payload = &PATTERN[..len.min(PATTERN.len())];
        self.send_track(i, flags, t.nxt, t.seen, TcpOptions::NONE, payload);
        let used = len as u32 + u32::from(flags.syn()) + u32::from(flags.fin());
        self.tracks[i].nxt = t.nxt.wrapping_add(used);
    }

    /// Pull everything the stack sends now, checking each datagram, and update the peers'
    /// view. Returns how many datagrams came out.
    pub fn drain(&mut self) -> usize {
        let live = self.stack.connection_count();
        let send_buffer = self.stack.config().send_buffer as usize;
        // Everything that may legitimately be queued: the control queue, and per
        // connection its data in MIN_MSS-sized segments, a FIN, a SYN, the duplicate ACKs
        // it owes, an ACK and a probe.
        // The Echo Replies waiting may leave in fragments: at least 8 bytes each.
        let echo = self.stack.config().max_echo_reply_bytes / 8;
        let bound = MAX_CONTROL_QUEUE + echo + live * (send_buffer / MIN_MSS + MAX_DUP_ACKS + 8);
        let mut n = 0;
        // Every third drain takes the output with `poll_transmit_many` (in batches of 1
        // to 3 buffers, by the operation count), the others with `poll_transmit`: the
        // same checks hold for both.
        let batch = self.summary.ops % 3;
        let mut batched = std::collections::VecDeque::new();
        loop {
            if batch > 0 && batched.is_empty() {
                let mut bufs = vec![vec![0u8; self.tx.len()]; batch];
                let mut sent = vec![synack::Transmit::default(); batch];
                let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
                let k = self.stack.poll_transmit_many(self.now, &mut slices, &mut sent);
                batched.extend(bufs.into_iter().zip(sent).take(k));
            }
            let tx = if batch > 0 {
                let Some((buf, tx)) = batched.pop_front() else { break };
                self.tx[..tx.len].copy_from_slice(&buf[..tx.len]);
                tx
            } else {
                let Some(tx) = self.stack.poll_transmit(self.now, &mut self.tx) else { break };
                tx
            };
            n += 1;
            assert!(n <= bound, "poll_transmit yielded more than {bound} datagrams ({live} connections)");
            let p = match wire::parse(&self.tx[..tx.len]) {
                Ok(p) => p,
                Err(WireError::NotTcp(wire::IPPROTO_ICMP | wire::IPPROTO_ICMPV6)) => {
                    // The stack's own ICMP: a reassembly's Time Exceeded (type 11 /
                    // ICMPv6 type 3, code 1) or an Echo Reply (type 0 / ICMPv6 129), from
                    // our address, its checksum right.
                    let ip = wire::parse_ip(&self.tx[..tx.len]).expect("the stack's ICMP parses");
                    assert!(
                        ip.src == IpAddr::V4(LOCAL_IP) || ip.src == IpAddr::V6(LOCAL_IP6),
                        "source {}",
                        ip.src
                    );
                    assert_eq!((tx.src, tx.dst), (ip.src, ip.dst), "Transmit describes the datagram");
                    let (exceeded, reply) =
                        if ip.src.is_ipv4() { ([11, 1], [0, 0]) } else { ([3, 1], [129, 0]) };
                    let kind = ip.payload.get(..2);
                    assert!(kind == Some(&exceeded[..]) || kind == Some(&reply[..]), "ICMP {kind:?}");
                    let pseudo = if ip.src.is_ipv4() {
                        0
                    } else {
                        wire::pseudo_header_sum(ip.src, ip.dst, wire::IPPROTO_ICMPV6, ip.payload.len() as u32)
                    };
                    assert_eq!(wire::checksum_finish(wire::checksum_partial(ip.payload, pseudo)), 0);
                    continue;
                }
                Err(WireError::Fragmented) => {
                    // An Echo Reply larger than the MTU, in fragments: from our address.
                    let d = &self.tx[..tx.len];
                    let src = if d[0] >> 4 == 4 {
                        IpAddr::from(<[u8; 4]>::try_from(&d[12..16]).expect("4 bytes"))
                    } else {
                        IpAddr::from(<[u8; 16]>::try_from(&d[8..24]).expect("16 bytes"))
                    };
                    assert!(src == IpAddr::V4(LOCAL_IP) || src == IpAddr::V6(LOCAL_IP6), "source {src}");
                    assert_eq!(tx.src, src, "Transmit describes the datagram");
                    continue;
                }
                Err(e) => panic!("the stack emitted an unparsable datagram: {e:?}"),
            };
            assert!(
                p.src == IpAddr::V4(LOCAL_IP) || p.src == IpAddr::V6(LOCAL_IP6),
                "source address {}",
                p.src
            );
            assert_eq!((tx.src, tx.dst), (p.src, p.dst), "Transmit describes the datagram");
            let from = SocketAddr::new(p.src, p.tcp.src_port);
            let to = SocketAddr::new(p.dst, p.tcp.dst_port);
            let len = p.payload.len() as u32 + u32::from(p.tcp.flags.syn()) + u32::from(p.tcp.flags.fin());
            let end = p.tcp.seq.raw().wrapping_add(len);
            let rst = p.tcp.flags.rst();
            let fixtures = self.tracks.iter_mut();
            for t in fixtures.chain(self.recent.iter_mut()) {
                if t.local == from && t.remote == to && !rst {
                    if !t.heard || SeqNum(end).gt(SeqNum(t.seen)) {
                        t.seen = end;
                    }
                    t.heard = true;
                    if let Some(ts) = p.tcp.options.timestamps {
                        t.ts_val = Some(ts.val);
                    }
                }
            }
        }
        self.summary.datagrams_out += n as u64;
        self.summary.max_drain = self.summary.max_drain.max(n);
        self.drain_events();
        n
    }

    fn drain_events(&mut self) {
        while self.stack.poll_event().is_some() {}
        while let Some(r) = self.stack.poll_trace() {
            if let TraceEvent::State { conn, to, .. } = r.ev {
                for t in self.tracks.iter_mut() {
                    if t.local == conn.local && t.remote == conn.remote {
                        t.state = to;
                    }
                }
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.run_timers();
    }

    /// `handle_timeout(now)`, after which no deadline may still be due: `poll_timeout`
    /// is exact, or a driver that sleeps until it would spin.
    fn run_timers(&mut self) {
        self.stack.handle_timeout(self.now);
        if let Some(t) = self.stack.poll_timeout() {
            assert!(t > self.now, "poll_timeout {t:?} is not after handle_timeout({:?})", self.now);
        }
    }

    /// A full passive handshake for fixture `i`; the accepted handle goes to the track.
    fn passive_open(&mut self, i: usize) {
        let sack_permitted = self.peer_sack;
        let mss = TcpOptions { mss: Some(1460), window_scale: Some(7), sack_permitted, ..TcpOptions::NONE };
        let t = self.tracks[i];
        self.send_track(i, TcpFlags::SYN, t.nxt, 0, mss, &[]);
        self.tracks[i].nxt = t.nxt.wrapping_add(1);
        self.drain();
        self.peer_send(i, TcpFlags::ACK, 0);
        self.drain();
        if let Some(l) = self.listener {
            self.tracks[i].conn = self.stack.accept(l);
        }
    }

    /// An active open from fixture `i`'s local port, answered by the peer's SYN,ACK.
    fn active_open(&mut self, i: usize, complete: bool) {
        let t = self.tracks[i];
        self.tracks[i].conn = self.stack.connect_from(self.now, t.local, t.remote).ok();
        self.drain();
        if complete {
            let t = self.tracks[i];
            let mss = TcpOptions { mss: Some(1400), sack_permitted: self.peer_sack, ..TcpOptions::NONE };
            self.send_track(i, TcpFlags::SYN | TcpFlags::ACK, t.nxt, t.seen, mss, &[]);
            self.tracks[i].nxt = t.nxt.wrapping_add(1);
            self.drain();
        }
    }

    /// Data both ways: the peer sends, the application reads and answers.
    fn exchange(&mut self, i: usize) {
        self.peer_send(i, TcpFlags::ACK | TcpFlags::PSH, 100);
        self.drain();
        if let Some(c) = self.tracks[i].conn {
            let _ = self.stack.recv(c, &mut self.read);
            let _ = self.stack.send(c, &PATTERN[..200]);
        }
        self.drain();
        self.peer_send(i, TcpFlags::ACK, 0);
        self.drain();
    }

    fn shutdown(&mut self, i: usize) {
        if let Some(c) = self.tracks[i].conn {
            let _ = self.stack.shutdown(c);
        }
        self.drain();
    }

    fn setup(&mut self) {
        self.listener = self.stack.listen(sock(LOCAL_IP, LISTEN_PORT), BACKLOG).ok();
        self.listener6 = self.stack.listen(SocketAddr::new(IpAddr::V6(LOCAL_IP6), LISTEN_PORT), BACKLOG).ok();
        // 0: SYN-SENT.
        self.active_open(0, false);
        // 1: SYN-RECEIVED, passive: the SYN is answered, the ACK never comes.
        let t = self.tracks[1];
        let syn_opts = TcpOptions { mss: Some(1200), ..TcpOptions::NONE };
        self.send_track(1, TcpFlags::SYN, t.nxt, 0, syn_opts, &[]);
        self.tracks[1].nxt = t.nxt.wrapping_add(1);
        self.drain();
        // 2: SYN-RECEIVED, active: our SYN crosses the peer's.
        self.active_open(2, false);
        self.peer_send(2, TcpFlags::SYN, 0);
        self.drain();
        // 3: ESTABLISHED, passive, with data in flight both ways and a hole.
        self.passive_open(3);
        self.exchange(3);
        if let Some(c) = self.tracks[3].conn {
            let _ = self.stack.send(c, &PATTERN[..300]);
        }
        self.drain();
        let t = self.tracks[3];
        self.send_track(
            3,
            TcpFlags::ACK,
            t.nxt.wrapping_add(50),
            t.seen.wrapping_sub(300),
            TcpOptions::NONE,
            &PATTERN[..30],
        );
        self.drain();
        // 4: ESTABLISHED, active.
        self.active_open(4, true);
        self.exchange(4);
        // 5: FIN-WAIT-1.
        self.passive_open(5);
        self.exchange(5);
        self.shutdown(5);
        // 6: FIN-WAIT-2.
        self.passive_open(6);
        self.exchange(6);
        self.shutdown(6);
        self.peer_send(6, TcpFlags::ACK, 0);
        self.drain();
        // 7: CLOSE-WAIT.
        self.passive_open(7);
        self.exchange(7);
        self.peer_send(7, TcpFlags::FIN | TcpFlags::ACK, 0);
        self.drain();
        // 8: CLOSING: the peer's FIN crosses ours without acknowledging it.
        self.passive_open(8);
        self.exchange(8);
        self.shutdown(8);
        let t = self.tracks[8];
        self.send_track(
            8,
            TcpFlags::FIN | TcpFlags::ACK,
            t.nxt,
            t.seen.wrapping_sub(1),
            TcpOptions::NONE,
            &[],
        );
        self.tracks[8].nxt = t.nxt.wrapping_add(1);
        self.drain();
        // 9: LAST-ACK.
        self.passive_open(9);
        self.exchange(9);
        self.peer_send(9, TcpFlags::FIN | TcpFlags::ACK, 0);
        self.drain();
        self.shutdown(9);
        // 10: TIME-WAIT.
        self.passive_open(10);
        self.exchange(10);
        self.shutdown(10);
        self.peer_send(10, TcpFlags::ACK, 0);
        self.drain();
        self.peer_send(10, TcpFlags::FIN | TcpFlags::ACK, 0);
        self.drain();
        // 11: ESTABLISHED, for the application's calls.
        self.passive_open(11);
        self.exchange(11);
        self.check();
    }

    // ----- the checks ---------------------------------------------------------------

    /// Memory stays bounded whatever arrived.
    fn check(&mut self) {
        let cfg = self.stack.config();
        let (recv_buffer, send_buffer) = (cfg.recv_buffer, cfg.send_buffer);
        let conns = self.stack.connection_count();
        assert!(conns <= MAX_CONNECTIONS, "{conns} connections");
        let tw = self.stack.time_wait_count();
        assert!(tw <= MAX_TIME_WAIT, "{tw} TIME-WAIT records");
        for l in [self.listener, self.listener6, self.catch_all].into_iter().flatten() {
            assert!(self.stack.accept_queue_len(l) <= BACKLOG, "accept queue over the backlog");
        }
        let handles = self.tracks.iter().map(|t| t.conn).chain(self.extra.iter().copied());
        for c in handles.flatten() {
            if let Ok(info) = self.stack.info(c) {
                assert!(info.recv_queue <= recv_buffer, "receive queue {} > {recv_buffer}", info.recv_queue);
                assert!(info.send_queue <= send_buffer, "send queue {} > {send_buffer}", info.send_queue);
            }
        }
        let heap = (self.mem)();
        if heap > 0 {
            let used = heap.saturating_sub(self.heap_base);
            self.summary.peak_heap = self.summary.peak_heap.max(used);
            assert!(used <= self.heap_budget, "heap grew to {used} bytes (budget {})", self.heap_budget);
        }
        self.summary.max_connections_seen = self.summary.max_connections_seen.max(conns);
        self.summary.max_time_wait_seen = self.summary.max_time_wait_seen.max(tw);
    }

    // ----- the operations -----------------------------------------------------------

    /// A handle the application holds: a fixture's or one from accept / connect.
    fn handle(&self, k: u8) -> Option<(usize, ConnId)> {
        let k = usize::from(k) % (self.tracks.len() + EXTRA);
        match self.tracks.get(k) {
            Some(t) => t.conn.map(|c| (k, c)),
            None => self.extra[k - self.tracks.len()].map(|c| (k, c)),
        }
    }

    fn forget(&mut self, k: usize) {
        match self.tracks.get_mut(k) {
            Some(t) => t.conn = None,
            None => self.extra[k - FIXTURE_STATES.len()] = None,
        }
    }

    fn keep(&mut self, c: ConnId) {
        if let Some(slot) = self.extra.iter_mut().find(|s| s.is_none()) {
            *slot = Some(c);
        }
    }

    /// Options from one byte. Bit 0x20: one to four SACK blocks relative to the peer's
    /// view of SND.UNA (`una`), so that they land among the octets in flight; with bit
    /// 0x80 of their count byte the first one is a D-SACK (RFC 2883), below the
    /// segment's acknowledgment number `ack`.
    fn options(&self, b: u8, una: u32, ack: u32, r: &mut Cursor<'_>) -> TcpOptions {
        let mut o = TcpOptions::NONE;
        if b & 1 != 0 {
            o.mss = Some(r.u16());
        }
        if b & 2 != 0 {
            o.window_scale = Some(r.u8());
        }
        o.sack_permitted = b & 4 != 0;
        if b & 8 != 0 {
            o.timestamps = Some(Timestamps { val: r.u32(), ecr: r.u32() });
        }
        if b & 16 != 0 {
            o.sack_len = 1;
            o.sack[0].left = SeqNum(r.u32());
            o.sack[0].right = SeqNum(r.u32());
        }
        if b & 0x20 != 0 {
            let nb = r.u8();
            let n = usize::from(nb % 4) + 1;
            let first = usize::from(o.sack_len);
            for (i, blk) in o.sack.iter_mut().enumerate().skip(first).take(n) {
                // Offsets in 64-octet units or octets, lengths likewise: segment
                // boundaries and odd edges both reachable.
                let (off, len) = (u32::from(r.u16()), u32::from(r.u16()));
                let off = if off & 0x8000 != 0 { (off & 0x7fff) * 64 } else { off };
                let len = if len & 0x8000 != 0 { (len & 0x7fff) * 64 } else { len };
                if i == 0 && nb & 0x80 != 0 {
                    blk.right = SeqNum(ack.wrapping_sub(off));
                    blk.left = SeqNum(ack.wrapping_sub(off).wrapping_sub(len));
                } else {
                    blk.left = SeqNum(una.wrapping_add(off));
                    blk.right = SeqNum(una.wrapping_add(off).wrapping_add(len));
                }
            }
            o.sack_len = (first + n).min(4) as u8;
        }
        o
    }

    /// A sequence number near `base`, or anywhere.
    fn near(base: u32, r: &mut Cursor<'_>) -> u32 {
        match r.u8() % 4 {
            0 => base,
            1 => base.wrapping_add(u32::from(r.u8())),
            2 => base.wrapping_sub(u32::from(r.u16())),
            _ => r.u32(),
        }
    }

    /// A segment with fuzzed fields aimed at fixture `i` (or a recent spoofed tuple).
    fn structured(&mut self, r: &mut Cursor<'_>, recent: bool) {
        let k = usize::from(r.u8());
        let t = if recent { self.recent[k % RECENT] } else { self.tracks[k % self.tracks.len()] };
        if recent && t.local == t.remote {
            return; // never used
        }
        let flags = TcpFlags(r.u8());
        let seq = Self::near(t.nxt, r);
        let mut ack = Self::near(t.seen, r);
        let window = r.u16();
        let ob = r.u8();
        // Bit 0x40: the acknowledgment is relative to what the peer last acknowledged
        // rather than to all it saw - duplicate ACKs, partial ACKs.
        if ob & 0x40 != 0 {
            ack = ack.wrapping_sub(t.seen).wrapping_add(t.una());
        }
        let options = self.options(ob, t.una(), ack, r);
        let lb = r.u8();
        // Above 0xc0 (where 64-octet units would pass the pattern's 4 KiB anyway): a
        // corrupt segment of 16-octet units.
        let len = match lb {
            0xc1.. => {
                self.corrupt_next = true;
                usize::from(lb - 0xc0) * 16
            }
            0x80.. => usize::from(lb & 0x7f) * 64,
            _ => usize::from(lb),
        };
        let advance = ob & 0x80 != 0;
        self.send_from(
            t.remote,
            t.local,
            flags,
            seq,
            ack,
            window,
            options,
            &PATTERN[..len.min(PATTERN.len())],
        );
        if advance && !recent {
            let used = len as u32 + u32::from(flags.syn()) + u32::from(flags.fin());
            let i = k % self.tracks.len();
            self.tracks[i].nxt = seq.wrapping_add(used);
        }
    }

    /// A spoofed source in 192.0.2.0/24 (never our own address).
    fn spoofed(&mut self, host: u8, port: u16) -> SocketAddr {
        let host = if host == 2 { 3 } else { host };
        sock(Ipv4Addr::new(192, 0, 2, host), port.max(1))
    }

    /// A spoofed source in 2001:db8::/32, or in 192.0.2.0/24.
    fn spoofed_any(&mut self, v6: bool, host: u8, port: u16) -> SocketAddr {
        if v6 {
            let ip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, u16::from(host));
            SocketAddr::new(IpAddr::V6(ip), port.max(1))
        } else {
            self.spoofed(host, port)
        }
    }

    /// The listening endpoint of the family of `remote`.
    fn listening_for(remote: SocketAddr) -> SocketAddr {
        match remote {
            SocketAddr::V4(_) => sock(LOCAL_IP, LISTEN_PORT),
            SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(LOCAL_IP6), LISTEN_PORT),
        }
    }

    fn remember(&mut self, remote: SocketAddr, local: SocketAddr, nxt: u32) {
        self.recent[self.recent_next % RECENT] = Track::new(local, remote, nxt);
        self.recent_next += 1;
    }

    /// A SYN from a spoofed source to the listening port.
    fn spoofed_syn(&mut self, remote: SocketAddr, isn: u32, mss: Option<u16>) {
        self.spoofed_syn_ts(remote, isn, mss, None);
    }

    /// [`Self::spoofed_syn`], timestamped with TSval `ts` when given (a cookie then
    /// keeps the window scale and SACK-permitted in its SYN,ACK's TSval).
    fn spoofed_syn_ts(&mut self, remote: SocketAddr, isn: u32, mss: Option<u16>, ts: Option<u32>) {
        let local = Self::listening_for(remote);
        let sack_permitted = self.peer_sack;
        let timestamps = ts.map(|val| Timestamps { val, ecr: 0 });
        let o = TcpOptions { mss, window_scale: Some(7), sack_permitted, timestamps, ..TcpOptions::NONE };
        self.send_from(remote, local, TcpFlags::SYN, isn, 0, 65_535, o, &[]);
        self.remember(remote, local, isn.wrapping_add(1));
    }

    /// Whole connections from spoofed peers, one after the other: handshake, accept,
    /// then kept open, closed by the application first (TIME-WAIT here), closed by the
    /// peer first, or aborted - to reach the connection and TIME-WAIT limits.
    fn churn(&mut self, r: &mut Cursor<'_>) {
        let n = r.u8() % 16 + 1;
        let mode = r.u8();
        let v6 = mode & 0x40 != 0;
        for _ in 0..n {
            self.spoof = self.spoof.wrapping_add(1);
            let s = self.spoof;
            let remote = self.spoofed_any(v6, (s as u8).wrapping_mul(13), 2000u16.wrapping_add(s as u16));
            let local = Self::listening_for(remote);
            let isn = s.wrapping_mul(0x0100_0193);
            self.spoofed_syn(remote, isn, Some(1460));
            let k = (self.recent_next + RECENT - 1) % RECENT;
            self.drain();
            let t = self.recent[k];
            if !t.heard {
                continue;
            }
            self.send_from(remote, local, TcpFlags::ACK, t.nxt, t.seen, 30_000, TcpOptions::NONE, &[]);
            self.drain();
            let l = if v6 { self.listener6 } else { self.listener };
            let Some(c) = l.and_then(|l| self.stack.accept(l)) else { continue };
            let nxt = t.nxt;
            match mode % 4 {
                0 => self.keep(c),
                1 => {
                    let _ = self.stack.close(c);
                    self.drain();
                    let seen = self.recent[k].seen;
                    let fa = TcpFlags::FIN | TcpFlags::ACK;
                    self.send_from(remote, local, fa, nxt, seen, 30_000, TcpOptions::NONE, &[]);
                }
                2 => {
                    let fa = TcpFlags::FIN | TcpFlags::ACK;
                    self.send_from(remote, local, fa, nxt, t.seen, 30_000, TcpOptions::NONE, &[]);
                    self.drain();
                    let _ = self.stack.close(c);
                    self.drain();
                    let seen = self.recent[k].seen;
                    let ack = nxt.wrapping_add(1);
                    self.send_from(remote, local, TcpFlags::ACK, ack, seen, 30_000, TcpOptions::NONE, &[]);
                }
                _ => {
                    let _ = self.stack.abort(c);
                }
            }
            self.drain();
            if mode & 0x80 == 0 {
                self.check();
            }
        }
    }

    fn app_call(&mut self, r: &mut Cursor<'_>) {
        let call = r.u8();
        let target = r.u8();
        let arg = r.u16();
        match call % 9 {
            0 => {
                if let Some((_, c)) = self.handle(target) {
                    let n = usize::from(arg) % PATTERN.len();
                    let _ = self.stack.send(c, &PATTERN[..n]);
                }
            }
            1 => {
                if let Some((_, c)) = self.handle(target) {
                    let n = (usize::from(arg) % self.read.len()).max(1);
                    let _ = self.stack.recv(c, &mut self.read[..n]);
                }
            }
            2 => {
                if let Some((_, c)) = self.handle(target) {
                    let _ = self.stack.shutdown(c);
                }
            }
            3 => {
                if let Some((k, c)) = self.handle(target) {
                    let _ = self.stack.close(c);
                    self.forget(k);
                }
            }
            4 => {
                if let Some((k, c)) = self.handle(target) {
                    let _ = self.stack.abort(c);
                    self.forget(k);
                }
            }
            5 => {
                let l =
                    [self.listener, self.listener6, self.catch_all, self.catch_all][usize::from(target & 3)];
                if let Some(c) = l.and_then(|l| self.stack.accept(l)) {
                    self.keep(c);
                }
            }
            6 => {
                let remote = self.spoofed(target, arg);
                if let Ok(c) = self.stack.connect(self.now, remote) {
                    self.keep(c);
                    self.remember(remote, sock(LOCAL_IP, 0), 0);
                }
            }
            // A catch-all listener on every address opens or closes.
            7 if target & 8 != 0 => match self.catch_all.take() {
                Some(l) => {
                    let _ = self.stack.close_listener(l);
                }
                None => {
                    let any = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
                    self.catch_all = self.stack.listen_all(any, BACKLOG).ok();
                }
            },
            7 => match self.listener.take() {
                Some(l) => {
                    let _ = self.stack.close_listener(l);
                }
                None => {
                    self.listener = self.stack.listen(sock(LOCAL_IP, LISTEN_PORT), BACKLOG).ok();
                    // Keep-alive for the listener's connections, on with timings
                    // from the argument (zero ones refused), or off.
                    if let Some(l) = self.listener.filter(|_| target & 2 != 0) {
                        let ka = (arg & 1 == 0).then(|| fuzz_keepalive(arg >> 1));
                        let _ = self.stack.set_listener_keepalive(l, ka);
                    }
                    // Buffer sizes for them, no larger than the configured ones.
                    if let Some(l) = self.listener.filter(|_| target & 4 != 0) {
                        let cfg = self.stack.config();
                        let (send, recv) = (
                            u32::from(arg) % cfg.send_buffer.saturating_add(1),
                            u32::from(arg) % cfg.recv_buffer.saturating_add(1),
                        );
                        let _ = self.stack.set_listener_send_buffer(l, send);
                        let _ = self.stack.set_listener_recv_buffer(l, recv);
                    }
                }
            },
            _ => {
                if let Some((_, c)) = self.handle(target) {
                    let _ = self.stack.info(c);
                    let _ = self.stack.state(c);
                    let _ = self.stack.error(c);
                    // The argument's low bits pick a per-connection setting, the
                    // rest its value: keep-alive timings (turned on or off by the
                    // value's lowest bit), a buffer size (no larger than the
                    // configured one, which the output bounds of `drain` assume), a
                    // congestion control or a TTL; an MSS limit; a user timeout in
                    // milliseconds (0 refused); or none.
                    let v = arg >> 2;
                    match arg & 3 {
                        0 => {
                            let (cfg, w) = (self.stack.config(), u32::from(v >> 2));
                            let (send, recv) = (
                                w % cfg.send_buffer.saturating_add(1),
                                w % cfg.recv_buffer.saturating_add(1),
                            );
                            match v & 7 {
                                2 => {
                                    let _ = self.stack.set_send_buffer(c, send);
                                }
                                3 => {
                                    let _ = self.stack.set_recv_buffer(c, recv);
                                }
                                // A switch of congestion control, in any state (mid-
                                // recovery included).
                                4 => {
                                    let _ = self.stack.set_congestion_control(c, CongestionControl::Reno);
                                }
                                5 => {
                                    let _ = self.stack.set_congestion_control(c, CongestionControl::Cubic);
                                }
                                // A TTL (0 refused), in the middle of a run of segments.
                                6 => {
                                    let _ = self.stack.set_ttl(c, u8::try_from((v >> 3) & 0xff).unwrap_or(0));
                                }
                                _ => {
                                    let _ = self.stack.set_keepalive_timings(c, fuzz_keepalive(v >> 1));
                                    let _ = self.stack.set_keepalive(c, v & 1 == 0);
                                }
                            }
                        }
                        1 => {
                            let _ = self.stack.set_mss_limit(c, v);
                        }
                        2 => {
                            let _ = self.stack.set_user_timeout(c, Some(Duration::from_millis(u64::from(v))));
                        }
                        3 => {
                            let _ = self.stack.set_user_timeout(c, None);
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Run one operation; returns false when the input is used up.
    fn op(&mut self, r: &mut Cursor<'_>) {
        let code = r.u8();
        let outer = std::mem::replace(&mut self.fragment_op, code & 0x80 != 0);
        self.op_code(code, r);
        self.fragment_op = outer;
    }

    /// [`Self::op`] once its code is read.
    fn op_code(&mut self, code: u8, r: &mut Cursor<'_>) {
        match (code & 0x7f) % 13 {
            0 => {
                // Time moves: milliseconds, or whole seconds (to reach 2×MSL, cookie
                // expiry, give-up timers).
                let v = r.u16();
                let d = if v & 0x8000 != 0 {
                    Duration::from_secs(u64::from(v & 0x00ff))
                } else {
                    Duration::from_millis(u64::from(v))
                };
                self.advance(d);
            }
            1 => {
                // Straight to the next deadline.
                if let Some(t) = self.stack.poll_timeout() {
                    if t > self.now {
                        self.now = t;
                    }
                }
                self.run_timers();
            }
            2 | 3 => self.structured(r, false),
            4 => self.structured(r, true),
            5 => {
                // A flood of SYNs from spoofed sources, past every queue.
                let n = usize::from(r.u8() % 64) + 1;
                let sel = r.u8();
                let mss = match sel % 4 {
                    0 => None,
                    1 => Some(1460),
                    2 => Some(100),
                    _ => Some(r.u16()),
                };
                for _ in 0..n {
                    self.spoof = self.spoof.wrapping_add(1);
                    let s = self.spoof;
                    let port = 1024u16.wrapping_add((s >> 8) as u16).wrapping_mul(7);
                    let remote = self.spoofed_any(sel & 0x80 != 0, s as u8, port);
                    // Bit 0x40: timestamped SYNs.
                    let ts = (sel & 0x40 != 0).then_some(s);
                    self.spoofed_syn_ts(remote, s.wrapping_mul(0x9e37_79b9), mss, ts);
                }
            }
            6 => {
                // Complete (or forge) the handshake of a recent spoofed SYN: the ACK of
                // its (cookie) SYN,ACK, maybe off by a little.
                let k = usize::from(r.u8()) % RECENT;
                let t = self.recent[k];
                if t.local != t.remote {
                    let delta = u32::from(r.u8() % 4);
                    let ack = if delta == 3 { r.u32() } else { t.seen.wrapping_add(delta) };
                    let payload = &PATTERN[..usize::from(r.u8() % 64)];
                    // The echo of the (cookie) SYN,ACK's TSval, when it had one, maybe
                    // off by a little too.
                    let timestamps = t
                        .ts_val
                        .map(|v| Timestamps { val: t.nxt, ecr: v.wrapping_add(delta.wrapping_mul(40)) });
                    let o = TcpOptions { timestamps, ..TcpOptions::NONE };
                    self.send_from(t.remote, t.local, TcpFlags::ACK, t.nxt, ack, 30_000, o, payload);
                }
            }
            7 => {
                // A raw datagram, as received.
                let n = usize::from(r.u16() % 2048);
                let bytes = r.bytes(n);
                self.summary.datagrams_in += 1;
                deliver(&mut self.stack, self.now, bytes, self.lend.as_deref_mut(), &mut self.summary);
            }
            8 => {
                // A raw TCP segment (any header, options, data offset) to a fixture's
                // 4-tuple, in a valid IPv4 datagram with a valid checksum.
                let k = usize::from(r.u8()) % self.tracks.len();
                let n = usize::from(r.u16() % 1500);
                let seg_len = n.max(20);
                let t = self.tracks[k];
                let total = 20 + seg_len;
                let mut d = [0u8; 20 + 1500];
                let bytes = r.bytes(n);
                d[20..20 + bytes.len()].copy_from_slice(bytes);
                d[20..22].copy_from_slice(&t.remote.port().to_be_bytes());
                d[22..24].copy_from_slice(&t.local.port().to_be_bytes());
                build_ipv4(&mut d[..total], PEER_IP, LOCAL_IP);
                self.summary.datagrams_in += 1;
                deliver(&mut self.stack, self.now, &d[..total], self.lend.as_deref_mut(), &mut self.summary);
            }
            9 | 10 => self.app_call(r),
            12 => self.churn(r),
            _ => {
                // A burst: the next operation repeated (SYN / RST / data floods).
                let times = usize::from(r.u8() % 32) + 2;
                let start = r.pos;
                for _ in 0..times {
                    r.pos = start;
                    if self.summary.ops >= MAX_OPS {
                        break;
                    }
                    self.summary.ops += 1;
                    self.op_no_repeat(r);
                }
            }
        }
        // The driving contract: output after every input or call (unless the operation
        // asked to batch), events drained.
        if code & 0x80 == 0 {
            self.drain();
        } else {
            self.drain_events();
        }
        self.check();
    }

    /// An ICMP (IPv4 track) or ICMPv6 (IPv6 track) error from a router about a segment
    /// of one of the 4-tuples: the type and code a likely error's or any, the MTU field,
    /// the quoted sequence number at the peer's view of SND.UNA, just below SND.NXT,
    /// near either or anything; now and then a bad checksum or a quote cut short.
    fn icmp(&mut self, r: &mut Cursor<'_>) {
        let k = usize::from(r.u8());
        let t = if k & 0x80 != 0 { self.recent[k % RECENT] } else { self.tracks[k % self.tracks.len()] };
        let v6 = t.local.is_ipv6();
        let sel = r.u8();
        let (kind, code) = match (sel % 8, v6) {
            (0, false) => (3, r.u8() % 16),
            (1, false) => (3, 4),
            (2, false) => (11, r.u8() % 2),
            (3, false) => (4, 0),
            (0, true) => (1, r.u8() % 8),
            (1, true) => (2, 0),
            (2, true) => (3, r.u8() % 2),
            (3, true) => (4, r.u8() % 3),
            // An Echo Request (RFC 792, RFC 4443 4.1), which the stack answers.
            (4, false) => (8, 0),
            (4, true) => (128, 0),
            _ => (r.u8(), r.u8()),
        };
        let echo = sel % 8 == 4;
        let word = match sel >> 6 {
            0 => u32::from(r.u16()),
            1 => 1000,
            2 => 0,
            _ => r.u32(),
        };
        let seq = match r.u8() % 5 {
            0 => t.una(),
            1 => t.seen.wrapping_sub(1),
            2 => Self::near(t.una(), r),
            3 => Self::near(t.seen, r),
            _ => r.u32(),
        };
        let flaw = r.u8();
        // The quoted datagram: our segment's IP header and its first 8 TCP bytes.
        let mut quoted = Vec::with_capacity(48);
        if let (IpAddr::V6(src), IpAddr::V6(dst)) = (t.local.ip(), t.remote.ip()) {
            quoted.extend_from_slice(&[0x60, 0, 0, 0, 0x05, 0xb4, wire::IPPROTO_TCP, 64]);
            quoted.extend_from_slice(&src.octets());
            quoted.extend_from_slice(&dst.octets());
        } else if let (IpAddr::V4(src), IpAddr::V4(dst)) = (t.local.ip(), t.remote.ip()) {
            quoted.extend_from_slice(&[0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, wire::IPPROTO_TCP, 0, 0]);
            quoted.extend_from_slice(&src.octets());
            quoted.extend_from_slice(&dst.octets());
        }
        quoted.extend_from_slice(&t.local.port().to_be_bytes());
        quoted.extend_from_slice(&t.remote.port().to_be_bytes());
        quoted.extend_from_slice(&seq.to_be_bytes());
        if flaw % 8 == 1 {
            quoted.truncate(quoted.len() - usize::from(flaw >> 5) - 1);
        }
        if echo {
            // The request's data: the quote, repeated up to 125 times (some 6 KiB), so
            // that larger ones come and are answered in fragments.
            quoted = quoted.repeat(usize::from(flaw >> 3) * 4 + 1);
        }
        let router = if v6 {
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe))
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))
        };
        let mut d = vec![0u8; 48 + quoted.len()];
        let n = wire::emit_icmp(&mut d, router, t.local.ip(), 64, (kind, code), word, &quoted).expect("emit");
        d.truncate(n);
        if flaw % 8 == 2 {
            // The ICMP checksum's high byte (after the IP header).
            d[if v6 { 40 } else { 20 } + 2] ^= 1;
        }
        self.summary.datagrams_in += 1;
        if d.len() > 1500 {
            let id = self.summary.datagrams_in as u32;
            for f in fragmenter::ip_fragments(&d, 1024, id) {
                deliver(&mut self.stack, self.now, &f, self.lend.as_deref_mut(), &mut self.summary);
            }
        } else {
            deliver(&mut self.stack, self.now, &d, self.lend.as_deref_mut(), &mut self.summary);
        }
    }

    fn op_no_repeat(&mut self, r: &mut Cursor<'_>) {
        let code = r.data.get(r.pos).copied().unwrap_or(0);
        if (code & 0x7f) % 13 == 11 {
            r.pos += 1;
            return;
        }
        self.op(r);
    }
}

/// Write an IPv4 header in front of the TCP segment `d[20..]` and fill in both checksums.
fn build_ipv4(d: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
    let total = d.len() as u16;
    d[0] = 0x45;
    d[1] = 0;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    d[4..8].copy_from_slice(&[0, 0, 0x40, 0]);
    d[8] = 64;
    d[9] = wire::IPPROTO_TCP;
    d[10..12].copy_from_slice(&[0, 0]);
    d[12..16].copy_from_slice(&src.octets());
    d[16..20].copy_from_slice(&dst.octets());
    let ip_sum = wire::checksum_finish(wire::checksum_partial(&d[..20], 0));
    d[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    let seg_len = (d.len() - 20) as u32;
    d[36..38].copy_from_slice(&[0, 0]);
    let sum = wire::pseudo_header_sum(IpAddr::V4(src), IpAddr::V4(dst), wire::IPPROTO_TCP, seg_len)
        + wire::checksum_partial(&d[20..], 0);
    let c = wire::checksum_finish(sum);
    d[36..38].copy_from_slice(&c.to_be_bytes());
}

/// The stack harness: two configuration bytes, then operations until the input ends.
pub fn stack_input(data: &[u8], mem: fn() -> usize) -> Summary {
    run_ops(data, mem, Harness::op)
}

/// The stack harness with ICMP errors among the operations: before each operation, a
/// byte chooses between an ICMP or ICMPv6 error about one of the 4-tuples
/// ([`Harness::icmp`], one time in three) and an operation of [`stack_input`]. (A
/// target of its own, so that `stack_input`'s corpus keeps its meaning.)
pub fn icmp_input(data: &[u8], mem: fn() -> usize) -> Summary {
    run_ops(data, mem, |h, r| {
        if r.u8() % 3 == 0 {
            h.summary.ops += 1;
            h.icmp(r);
            h.drain();
            h.check();
        } else {
            h.op(r);
        }
    })
}

/// Set up the harness from the first two bytes, run `step` until the input ends, then
/// let every timer run out.
fn run_ops(data: &[u8], mem: fn() -> usize, mut step: impl FnMut(&mut Harness, &mut Cursor<'_>)) -> Summary {
    let mut r = Cursor { data, pos: 0 };
    let (b, sizes) = (r.u8(), r.u8());
    let cfg = fuzz_config(b, sizes);
    // Bit 6 of the second byte: the peers offer SACK-permitted.
    let mut h = Harness::with_peer_sack(cfg, mem, sizes & 0x40 != 0);
    // Bit 7: the application lends a buffer for the data (after the fixtures are set
    // up, so that they are the same either way). 3,000 bytes: some segments fit, some
    // do not.
    if sizes & 0x80 != 0 {
        h.lend_buffer(3000);
    }
    while !r.done() && h.summary.ops < MAX_OPS {
        h.summary.ops += 1;
        step(&mut h, &mut r);
    }
    // Let every timer run out: the stack must come to rest with its limits intact.
    for _ in 0..10_000 {
        let Some(t) = h.stack.poll_timeout() else { break };
        if t > h.now {
            h.now = t;
        }
        h.run_timers();
        h.drain();
        h.check();
    }
    // Every timer gives up in the end (R2, 2×MSL, FIN-WAIT-2 for orphans): no timer is
    // left behind.
    assert_eq!(h.stack.poll_timeout(), None, "timers never came to rest");
    h.summary.stats = h.stack.stats();
    h.summary
}

/// No heap measurement.
pub fn no_mem() -> usize {
    0
}

/// Keep-alive timings from a fuzzer's number: an idle time of `v` s, an interval of
/// `v / 8` s (zero ones are refused), and `v % 11` probes. (Whole seconds: with data
/// outstanding, keep-alive looks again every idle time until the retransmissions
/// give up, and an idle time of milliseconds took more wake-ups than the end of
/// `run_ops` allows, in a run that did come to rest: 14,572 in 891 s.)
fn fuzz_keepalive(v: u16) -> synack::Keepalive {
    synack::Keepalive {
        idle: Duration::from_secs(u64::from(v)),
        interval: Duration::from_secs(u64::from(v >> 3)),
        probes: (v % 11) as u8,
    }
}
