//! A single-stack injection fixture: a fake remote TCP, `Peer`, drives one `synack::Stack`
//! segment by segment. The remote crafts every inbound segment by hand (flags, seq,
//! ack, window, options, payload) with `synack::wire::emit`, feeds it to
//! `Stack::handle_packet`, and reads the stack's answers back with `poll_transmit` and
//! `synack::wire::parse`. Virtual time moves only when a test says so.
//!
//! The remote is 192.0.2.1:40000, the stack under test 192.0.2.2:80. Fixtures put the
//! one connection between them in each state of RFC 9293 Figure 5 and record, on the
//! remote's side, the sequence numbers a test needs to craft segments and predict the
//! exact answer:
//!
//! - `nxt`: the remote's next sequence number (the stack's RCV.NXT once synchronized);
//! - `acked`: what the remote has acknowledged of the stack's data (its SND.UNA);
//! - `seen`: one past the highest sequence number the stack has sent (its SND.NXT).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{
    Config, ConnId, Duration, Event, Instant, ListenerId, SeqNum, Stack, State, TraceEvent, TraceRecord,
};

/// The fake remote.
pub const REMOTE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const REMOTE_PORT: u16 = 40000;
/// The stack under test.
pub const LOCAL_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
pub const LOCAL_PORT: u16 = 80;
/// The remote's ISS: close to 2^32 so that the fixtures' data crosses the wrap.
pub const REMOTE_ISS: u32 = 0xffff_fff8;
/// The window the remote advertises (also the stack's MAX.SND.WND).
pub const REMOTE_WINDOW: u16 = 10_000;
/// The stack's receive buffer in the fixtures: small enough to step past its window.
pub const RECV_BUFFER: u32 = 8192;
/// What the remote sends in ESTABLISHED before the tests start (crosses the wrap).
pub const REMOTE_DATA: &[u8] = b"0123456789";
/// What the stack sends in ESTABLISHED before the tests start.
pub const LOCAL_DATA: &[u8] = b"abcdefghij";
/// 2×MSL with the default MSL of 30 s.
pub const TWO_MSL: Duration = Duration::from_secs(60);

pub fn local() -> SocketAddr {
    SocketAddr::new(LOCAL_IP, LOCAL_PORT)
}

pub fn remote() -> SocketAddr {
    SocketAddr::new(REMOTE_IP, REMOTE_PORT)
}

/// The configuration of the stack under test: tracing on, ACKs not delayed (so that
/// every answer is immediate and exact), a small receive buffer.
pub fn inject_config() -> Config {
    Config {
        addresses: vec![LOCAL_IP],
        trace: true,
        delayed_ack: None,
        recv_buffer: RECV_BUFFER,
        ..Config::default()
    }
}

pub const S: TcpFlags = TcpFlags::SYN;
pub const A: TcpFlags = TcpFlags::ACK;
pub const F: TcpFlags = TcpFlags::FIN;
pub const R: TcpFlags = TcpFlags::RST;
pub const P: TcpFlags = TcpFlags::PSH;
pub const SA: TcpFlags = TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0);
pub const FA: TcpFlags = TcpFlags(TcpFlags::FIN.0 | TcpFlags::ACK.0);
pub const RA: TcpFlags = TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0);
pub const PA: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);

/// A segment the remote sends.
#[derive(Clone, Debug)]
pub struct Seg {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub opts: TcpOptions,
    pub payload: Vec<u8>,
    /// The urgent field (meaningful with URG).
    pub urgent: u16,
    /// The ECN field of the IP header (RFC 3168 5).
    pub ecn: u8,
}

impl Seg {
    pub fn new(flags: TcpFlags, seq: u32, ack: u32) -> Self {
        Seg {
            flags,
            seq,
            ack,
            win: REMOTE_WINDOW,
            opts: TcpOptions::NONE,
            payload: Vec::new(),
            urgent: 0,
            ecn: 0,
        }
    }
    /// The IP header's ECN field set to `codepoint` (RFC 3168 5: `wire::ECN_CE` for a
    /// router's congestion mark).
    pub fn ecn(mut self, codepoint: u8) -> Self {
        self.ecn = codepoint;
        self
    }
    /// URG set, with the urgent field `up` (the urgent data ends `up` octets after
    /// SEG.SEQ, RFC 9293 3.8.5).
    pub fn urg(mut self, up: u16) -> Self {
        self.flags |= TcpFlags::URG;
        self.urgent = up;
        self
    }
    pub fn seq(mut self, seq: u32) -> Self {
        self.seq = seq;
        self
    }
    pub fn ack(mut self, ack: u32) -> Self {
        self.ack = ack;
        self
    }
    pub fn win(mut self, win: u16) -> Self {
        self.win = win;
        self
    }
    pub fn data(mut self, payload: &[u8]) -> Self {
        self.payload = payload.to_vec();
        self
    }
    pub fn mss(mut self, mss: u16) -> Self {
        self.opts.mss = Some(mss);
        self
    }
    pub fn flags(mut self, flags: TcpFlags) -> Self {
        self.flags = flags;
        self
    }
}

/// A segment the stack sent, parsed back.
#[derive(Clone, PartialEq, Eq)]
pub struct Out {
    pub flags: TcpFlags,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub opts: TcpOptions,
    pub payload: Vec<u8>,
    /// The urgent field.
    pub urgent: u16,
    /// The ECN field of its IP header (RFC 3168 5).
    pub ecn: u8,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{} seq={} ack={} win={} len={} ecn={}]",
            self.flags,
            self.seq,
            self.ack,
            self.win,
            self.payload.len(),
            self.ecn
        )
    }
}

impl Out {
    /// Sequence space the segment occupies (SEG.LEN).
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }
}

/// Assert that `out` carries exactly `flags` and the given seq; the ack field is
/// compared when the ACK bit is expected (it is meaningless otherwise).
#[track_caller]
pub fn assert_seg(out: &Out, flags: TcpFlags, seq: u32, ack: u32) {
    assert_eq!(out.flags, flags, "flags of {out:?}");
    assert_eq!(out.seq, seq, "seq of {out:?}");
    if flags.ack() {
        assert_eq!(out.ack, ack, "ack of {out:?}");
    }
}

/// The single segment of `outs`.
#[track_caller]
pub fn only(outs: Vec<Out>) -> Out {
    assert_eq!(outs.len(), 1, "expected exactly one segment, got {outs:?}");
    outs.into_iter().next().expect("one segment")
}

/// Assert that the stack answered nothing.
#[track_caller]
pub fn assert_silent(outs: &[Out]) {
    assert!(outs.is_empty(), "expected no answer, got {outs:?}");
}

/// The fake remote and the stack under test.
pub struct Peer {
    pub stack: Stack,
    pub now: Instant,
    /// The application's handle on the connection, when it has one.
    pub conn: Option<ConnId>,
    pub listener: Option<ListenerId>,
    /// The stack's ISS, learned from its SYN or SYN,ACK.
    pub stack_iss: u32,
    /// The remote's next sequence number (the stack's RCV.NXT once synchronized).
    pub nxt: u32,
    /// What the remote acknowledged last (the stack's SND.UNA).
    pub acked: u32,
    /// One past the highest sequence number the stack sent (its SND.NXT).
    pub seen: u32,
    /// The last window the stack advertised.
    pub stack_wnd: u32,
    /// Everything the stack sent, in order.
    pub log: Vec<Out>,
    pub trace: Vec<TraceRecord>,
    pub events: Vec<Event>,
    /// When set, [`Peer::flush`] takes the stack's output with
    /// `Stack::poll_transmit_many`, this many buffers at a time, instead of
    /// `Stack::poll_transmit`.
    pub batch: Option<usize>,
}

impl Default for Peer {
    fn default() -> Self {
        Self::new()
    }
}

impl Peer {
    /// A stack with no listener and no connection: every 4-tuple is CLOSED.
    pub fn new() -> Self {
        Self::with_config(inject_config())
    }

    pub fn with_config(cfg: Config) -> Self {
        Peer {
            stack: Stack::new(cfg),
            now: Instant::ZERO,
            conn: None,
            listener: None,
            stack_iss: 0,
            nxt: REMOTE_ISS,
            acked: 0,
            seen: 0,
            stack_wnd: 0,
            log: Vec::new(),
            trace: Vec::new(),
            events: Vec::new(),
            batch: None,
        }
    }

    // ----- moving segments ----------------------------------------------------------

    /// A segment from the remote with the current bookkeeping: SEQ = `nxt`, and ACK =
    /// `seen` when `flags` carries ACK.
    pub fn seg(&self, flags: TcpFlags) -> Seg {
        Seg::new(flags, self.nxt, if flags.ack() { self.seen } else { 0 })
    }

    /// Hand one segment to the stack without collecting the answer.
    pub fn inject(&mut self, seg: &Seg) {
        let hdr = TcpHeader {
            src_port: REMOTE_PORT,
            dst_port: LOCAL_PORT,
            seq: SeqNum(seg.seq),
            ack: SeqNum(seg.ack),
            flags: seg.flags,
            window: seg.win,
            urgent: seg.urgent,
            options: seg.opts,
        };
        let mut buf = vec![0u8; 65536];
        let n = wire::emit(&mut buf, REMOTE_IP, LOCAL_IP, 64, &hdr, &[&seg.payload]).expect("emit");
        if seg.ecn != 0 {
            set_ipv4_ecn(&mut buf[..n], seg.ecn);
        }
        self.stack.handle_packet(self.now, &buf[..n]);
    }

    /// Hand one segment to the stack and return everything it sends in answer.
    pub fn feed(&mut self, seg: Seg) -> Vec<Out> {
        self.inject(&seg);
        self.flush()
    }

    /// Collect what the stack wants to send now, and drain its events and trace.
    pub fn flush(&mut self) -> Vec<Out> {
        let mut datagrams = Vec::new();
        match self.batch {
            None => {
                let mut buf = vec![0u8; 65536];
                while let Some(tx) = self.stack.poll_transmit(self.now, &mut buf) {
                    datagrams.push(buf[..tx.len].to_vec());
                    assert!(datagrams.len() < 1000, "the stack keeps sending");
                }
            }
            Some(k) => loop {
                let mut bufs = vec![vec![0u8; 65536]; k];
                let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
                let mut sent = vec![synack::Transmit::default(); k];
                let n = self.stack.poll_transmit_many(self.now, &mut slices, &mut sent);
                datagrams.extend(bufs.iter().zip(&sent).take(n).map(|(b, tx)| b[..tx.len].to_vec()));
                assert!(datagrams.len() < 1000, "the stack keeps sending");
                if n < k {
                    break;
                }
            },
        }
        let mut outs = Vec::new();
        for buf in &datagrams {
            let p = wire::parse(buf).expect("the stack emitted an unparsable datagram");
            assert_eq!((p.src, p.dst), (LOCAL_IP, REMOTE_IP), "addresses");
            assert_eq!((p.tcp.src_port, p.tcp.dst_port), (LOCAL_PORT, REMOTE_PORT), "ports");
            let out = Out {
                flags: p.tcp.flags,
                seq: p.tcp.seq.raw(),
                ack: p.tcp.ack.raw(),
                win: p.tcp.window,
                opts: p.tcp.options,
                payload: p.payload.to_vec(),
                urgent: p.tcp.urgent,
                ecn: p.ecn,
            };
            if !out.flags.rst() {
                let end = SeqNum(out.seq) + out.seg_len();
                if self.log.is_empty() || end.gt(SeqNum(self.seen)) {
                    self.seen = end.raw();
                }
                self.stack_wnd = u32::from(out.win);
            }
            self.log.push(out.clone());
            outs.push(out);
        }
        while let Some(e) = self.stack.poll_event() {
            self.events.push(e);
        }
        while let Some(r) = self.stack.poll_trace() {
            self.trace.push(r);
        }
        outs
    }

    /// Advance virtual time by `d`, run the due timers and collect what is sent.
    pub fn advance(&mut self, d: Duration) -> Vec<Out> {
        self.now += d;
        self.stack.handle_timeout(self.now);
        self.flush()
    }

    // ----- observing ----------------------------------------------------------------

    /// The state of the 4-tuple remote <-> local as the trace tells it (CLOSED when no
    /// connection ever existed). Works with or without an application handle, and for
    /// compact TIME-WAIT records.
    pub fn state(&self) -> State {
        let tuple = synack::FourTuple { local: local(), remote: remote() };
        self.trace
            .iter()
            .rev()
            .find_map(|r| match r.ev {
                TraceEvent::State { conn, to, .. } if conn == tuple => Some(to),
                _ => None,
            })
            .unwrap_or(State::Closed)
    }

    /// The state through the application's handle.
    pub fn handle_state(&self) -> State {
        self.stack.state(self.conn.expect("a handle"))
    }

    /// The handle (panics when the fixture has none).
    pub fn c(&self) -> ConnId {
        self.conn.expect("a handle")
    }

    /// Bytes waiting for the application.
    pub fn recv_queue(&self) -> u32 {
        self.stack.info(self.c()).map(|i| i.recv_queue).unwrap_or(0)
    }

    /// Read everything the application can read now.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.stack.recv(self.c(), &mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// Feed `seg` and assert that the stack answers with exactly the ACK it sends when it
    /// must acknowledge: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (SND.NXT and RCV.NXT as
    /// they were before the segment).
    #[track_caller]
    pub fn feed_gets_ack(&mut self, seg: Seg) {
        let (seq, ack) = (self.seen, self.nxt);
        let out = only(self.feed(seg));
        assert_seg(&out, A, seq, ack);
    }

    /// Feed `seg` and assert that the stack answers nothing.
    #[track_caller]
    pub fn feed_silent(&mut self, seg: Seg) {
        let outs = self.feed(seg);
        assert_silent(&outs);
    }

    /// Assert the state, through the trace and, when there is one, the handle.
    #[track_caller]
    pub fn assert_state(&self, st: State) {
        assert_eq!(self.state(), st, "state of the 4-tuple (trace)");
        if let Some(c) = self.conn {
            assert_eq!(self.stack.state(c), st, "state through the handle");
        }
    }

    /// The last deadline the TIME-WAIT timer was set to, if any.
    pub fn time_wait_deadline(&self) -> Option<Instant> {
        self.trace.iter().rev().find_map(|r| match r.ev {
            TraceEvent::Timer {
                timer: synack::TimerKind::TimeWait,
                action: synack::TimerAction::Set,
                at,
                ..
            } => Some(at),
            _ => None,
        })
    }

    // ----- fixtures: one per state of Figure 5 --------------------------------------

    /// CLOSED: no listener, no connection.
    pub fn closed() -> Self {
        Self::new()
    }

    /// LISTEN on 192.0.2.2:80.
    pub fn listen() -> Self {
        Self::listen_with(inject_config())
    }

    pub fn listen_with(cfg: Config) -> Self {
        let mut p = Self::with_config(cfg);
        p.listener = Some(p.stack.listen(local(), 8).expect("listen"));
        p
    }

    /// SYN-SENT: an active OPEN from 192.0.2.2:80; its SYN is on the wire.
    pub fn syn_sent() -> Self {
        Self::syn_sent_with(inject_config())
    }

    pub fn syn_sent_with(cfg: Config) -> Self {
        let mut p = Self::with_config(cfg);
        p.conn = Some(p.stack.connect_from(p.now, local(), remote()).expect("connect"));
        let syn = only(p.flush());
        assert_eq!(syn.flags, S, "{syn:?}");
        p.stack_iss = syn.seq;
        p.acked = syn.seq;
        p.nxt = REMOTE_ISS;
        p.assert_state(State::SynSent);
        p
    }

    /// SYN-RECEIVED after a passive OPEN: the remote's SYN arrived, the stack's SYN,ACK
    /// is on the wire. There is no application handle yet.
    pub fn syn_received() -> Self {
        Self::syn_received_with(inject_config())
    }

    pub fn syn_received_with(cfg: Config) -> Self {
        let mut p = Self::listen_with(cfg);
        let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
        assert_eq!(synack.flags, SA, "{synack:?}");
        assert_eq!(synack.ack, REMOTE_ISS.wrapping_add(1));
        p.stack_iss = synack.seq;
        p.acked = synack.seq;
        p.nxt = REMOTE_ISS.wrapping_add(1);
        p.assert_state(State::SynReceived);
        p
    }

    /// SYN-RECEIVED after an active OPEN (simultaneous open): the stack sent SYN, the
    /// remote's SYN crossed it, and the stack answered SYN,ACK.
    pub fn syn_received_active() -> Self {
        let mut p = Self::syn_sent();
        let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
        assert_seg(&synack, SA, p.stack_iss, REMOTE_ISS.wrapping_add(1));
        p.nxt = REMOTE_ISS.wrapping_add(1);
        p.assert_state(State::SynReceived);
        p
    }

    /// ESTABLISHED (passive open, accepted), after ten bytes each way; the remote has
    /// acknowledged everything and the application read everything.
    pub fn established() -> Self {
        Self::established_with(inject_config())
    }

    pub fn established_with(cfg: Config) -> Self {
        let mut p = Self::syn_received_with(cfg);
        assert_silent(&p.feed(p.seg(A)));
        p.acked = p.seen;
        let l = p.listener.expect("listener");
        p.conn = Some(p.stack.accept(l).expect("accepted"));
        p.assert_state(State::Established);
        p.exchange_data();
        p
    }

    /// ESTABLISHED after an active OPEN (no listener anywhere).
    pub fn established_active() -> Self {
        let mut p = Self::syn_sent();
        let ack = only(p.feed(Seg::new(SA, REMOTE_ISS, p.seen).mss(1460)));
        p.nxt = REMOTE_ISS.wrapping_add(1);
        assert_seg(&ack, A, p.seen, p.nxt);
        p.acked = p.seen;
        p.assert_state(State::Established);
        p.exchange_data();
        p
    }

    fn exchange_data(&mut self) {
        let ack = only(self.feed(self.seg(PA).data(REMOTE_DATA)));
        self.nxt = self.nxt.wrapping_add(REMOTE_DATA.len() as u32);
        assert_seg(&ack, A, self.seen, self.nxt);
        assert_eq!(self.read_all(), REMOTE_DATA);
        assert_eq!(self.stack.send(self.c(), LOCAL_DATA), Ok(LOCAL_DATA.len()));
        let data = only(self.flush());
        assert_seg(&data, PA, self.acked, self.nxt);
        assert_eq!(data.payload, LOCAL_DATA);
        assert_silent(&self.feed(self.seg(A)));
        self.acked = self.seen;
        assert_eq!(self.stack.info(self.c()).map(|i| i.bytes_in_flight), Ok(0));
        self.assert_state(State::Established);
    }

    /// FIN-WAIT-1: the application half-closed (shutdown keeps the handle); the stack's
    /// FIN is on the wire, not yet acknowledged.
    pub fn fin_wait_1() -> Self {
        Self::fin_wait_1_with(inject_config())
    }

    pub fn fin_wait_1_with(cfg: Config) -> Self {
        let mut p = Self::established_with(cfg);
        p.stack.shutdown(p.c()).expect("shutdown");
        let fin = only(p.flush());
        assert_seg(&fin, FA, p.acked, p.nxt);
        p.assert_state(State::FinWait1);
        p
    }

    /// FIN-WAIT-2: the remote acknowledged the stack's FIN.
    pub fn fin_wait_2() -> Self {
        Self::fin_wait_2_with(inject_config())
    }

    pub fn fin_wait_2_with(cfg: Config) -> Self {
        let mut p = Self::fin_wait_1_with(cfg);
        assert_silent(&p.feed(p.seg(A)));
        p.acked = p.seen;
        p.assert_state(State::FinWait2);
        p
    }

    /// CLOSE-WAIT: the remote's FIN arrived and was acknowledged.
    pub fn close_wait() -> Self {
        let mut p = Self::established();
        let ack = only(p.feed(p.seg(FA)));
        p.nxt = p.nxt.wrapping_add(1);
        assert_seg(&ack, A, p.seen, p.nxt);
        p.assert_state(State::CloseWait);
        p
    }

    /// CLOSING: both FINs crossed; the remote's FIN did not acknowledge the stack's.
    pub fn closing() -> Self {
        let mut p = Self::fin_wait_1();
        let ack = only(p.feed(p.seg(FA).ack(p.acked)));
        p.nxt = p.nxt.wrapping_add(1);
        assert_seg(&ack, A, p.seen, p.nxt);
        p.assert_state(State::Closing);
        p
    }

    /// LAST-ACK: in CLOSE-WAIT the application closed; its FIN is on the wire.
    pub fn last_ack() -> Self {
        let mut p = Self::close_wait();
        p.stack.shutdown(p.c()).expect("shutdown");
        let fin = only(p.flush());
        assert_seg(&fin, FA, p.acked, p.nxt);
        p.assert_state(State::LastAck);
        p
    }

    /// TIME-WAIT: from FIN-WAIT-2 the remote's FIN arrived and was acknowledged. The
    /// listener of the passive open still exists.
    pub fn time_wait() -> Self {
        Self::time_wait_with(inject_config())
    }

    pub fn time_wait_with(cfg: Config) -> Self {
        let mut p = Self::fin_wait_2_with(cfg);
        let ack = only(p.feed(p.seg(FA)));
        p.nxt = p.nxt.wrapping_add(1);
        assert_seg(&ack, A, p.seen, p.nxt);
        p.assert_state(State::TimeWait);
        assert_eq!(p.stack.time_wait_count(), 1);
        p
    }

    /// The fixture of any state (SYN-RECEIVED: the passive one).
    pub fn in_state(st: State) -> Self {
        match st {
            State::Closed => Self::closed(),
            State::Listen => Self::listen(),
            State::SynSent => Self::syn_sent(),
            State::SynReceived => Self::syn_received(),
            State::Established => Self::established(),
            State::FinWait1 => Self::fin_wait_1(),
            State::FinWait2 => Self::fin_wait_2(),
            State::CloseWait => Self::close_wait(),
            State::Closing => Self::closing(),
            State::LastAck => Self::last_ack(),
            State::TimeWait => Self::time_wait(),
        }
    }
}

/// Set the ECN field of the IPv4 datagram `d` (the low two bits of its TOS octet, RFC
/// 3168 5) and recompute its header checksum (RFC 791 3.1), as a router that marks CE
/// does.
pub fn set_ipv4_ecn(d: &mut [u8], codepoint: u8) {
    d[1] = (d[1] & !0b11) | (codepoint & 0b11);
    d[10..12].fill(0);
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let sum = wire::checksum_finish(wire::checksum_partial(&d[..ihl], 0));
    d[10..12].copy_from_slice(&sum.to_be_bytes());
}
