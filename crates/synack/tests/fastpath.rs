//! Header prediction (`conn/fastpath.rs`) is an optimisation only: the same traffic
//! through a stack with `Config::header_prediction` on and through one with it off
//! must give identical output segments, events, trace records (timers included) and
//! connection state. Four differential property tests check that in lockstep:
//!
//! - crafted segments from a scripted peer to an ESTABLISHED connection: in-order,
//!   out-of-order, duplicate and overlapping data, ACKs that advance, repeat, go back
//!   or lie beyond SND.NXT, window changes, stray flags, FINs, with application sends
//!   and reads and timer runs in between;
//! - two stacks exchanging data both ways over a lossy, duplicating, reordering and
//!   corrupting link,
//!   with timestamps, SACK, window scaling, delayed ACKs and Nagle switched at random,
//!   the predicting world mostly taking its output with `Stack::poll_transmit_many`
//!   (which writes runs of predicted segments in one loop) in batches of random size;
//! - two to four connections of one stack sending at once over a lossy link, so that
//!   the output queue holds several of them while the send-side prediction's hint is
//!   one per stack;
//! - one transfer into a buffer the receiving application lends
//!   (`Stack::handle_packet_into`), over a link that also corrupts segments: with
//!   prediction, the next in-order data takes the receive express path, which copies,
//!   verifies and processes it in one go; without, it is staged and processed in full.
//!
//! After every step the two worlds' full `Debug` dumps (every connection variable,
//! buffer, timer and queue) must be equal, but for the switch itself and the send-side
//! prediction's own caches.

#![allow(clippy::unwrap_used)]

mod common;

use common::inject::{self, Peer, A};
use common::{config, pattern, server_addr, Fate, Pair, Rng, CLIENT_IP, SERVER_IP};
use proptest::prelude::*;
use synack::wire::TcpFlags;
use synack::{Config, ConnId, Duration, Error, SeqNum, Stack};

/// The stack's full state, with the one configuration difference taken out, and what
/// only the send-side prediction keeps (its header template and its hint) too.
fn dump(stack: &Stack) -> String {
    let full = format!("{stack:?}")
        .replace("header_prediction: false", "header_prediction: true")
        .replace("run_hint: true", "run_hint: false");
    match (full.find("template: Template {"), full.find(", sinks: Sinks {")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &full[..a], &full[b..]),
        _ => panic!("the dump has changed shape: no template before the sinks"),
    }
}

/// One step of the scripted peer.
#[derive(Clone, Debug)]
enum Op {
    /// Data at RCV.NXT + `off` (wrapping; small negative offsets are old data).
    Data { off: i32, len: usize, ack_delta: i32, win: u16, flags: u8 },
    /// A segment without data at RCV.NXT + `off` acknowledging SND.UNA + `ack_delta`
    /// (clamped to one past SND.NXT at most when `clamp`).
    Ack { off: i32, ack_delta: i32, clamp: bool, win: u16, flags: u8 },
    /// The application sends `n` bytes.
    Send(usize),
    /// The application reads everything.
    Read,
    /// Time passes (timers run).
    Wait(u64),
}

/// Extra flags, mostly none: PSH, or something the prediction must refuse.
fn extra_flags() -> impl Strategy<Value = u8> {
    prop_oneof![
        6 => Just(0u8),
        3 => Just(TcpFlags::PSH.0),
        1 => Just(TcpFlags::FIN.0),
        1 => Just(TcpFlags::URG.0),
        1 => Just(TcpFlags::ECE.0 | TcpFlags::CWR.0),
        1 => Just(TcpFlags::SYN.0),
        1 => Just(TcpFlags::RST.0),
    ]
}

fn window() -> impl Strategy<Value = u16> {
    prop_oneof![4 => Just(inject::REMOTE_WINDOW), 1 => Just(0u16), 1 => 1u16..20_000]
}

fn op() -> impl Strategy<Value = Op> {
    let off = prop_oneof![8 => Just(0i32), 1 => -3000i32..0, 1 => 1i32..3000];
    let ack_delta = prop_oneof![6 => Just(0i32), 3 => 1i32..3000, 1 => -100i32..0];
    prop_oneof![
        6 => (off.clone(), 1usize..1500, ack_delta.clone(), window(), extra_flags())
            .prop_map(|(off, len, ack_delta, win, flags)| Op::Data { off, len, ack_delta, win, flags }),
        4 => (off, ack_delta, any::<bool>(), window(), extra_flags())
            .prop_map(|(off, ack_delta, clamp, win, flags)| Op::Ack { off, ack_delta, clamp, win, flags }),
        3 => (1usize..6000).prop_map(Op::Send),
        2 => Just(Op::Read),
        1 => (1u64..3000).prop_map(Op::Wait),
    ]
}

/// An application call's result, recorded among the outputs so that both worlds must
/// agree on it too (a pseudo-segment: no flags, the result as its payload).
fn app_result(payload: Vec<u8>) -> inject::Out {
    inject::Out {
        flags: TcpFlags::NONE,
        seq: 0,
        ack: 0,
        win: 0,
        opts: synack::wire::TcpOptions::NONE,
        payload,
        urgent: 0,
        ecn: 0,
    }
}

/// Apply `op` to one world; returns what it observed (output and errors).
fn apply(p: &mut Peer, op: &Op, step: usize) -> String {
    let seen = p.seen;
    let una = p.acked;
    let seg = |off: i32, ack_delta: i32, win: u16, flags: u8| {
        let seq = p.nxt.wrapping_add(off as u32);
        inject::Seg::new(TcpFlags(A.0 | flags), seq, una.wrapping_add(ack_delta as u32)).win(win)
    };
    let outs = match op {
        Op::Data { off, len, ack_delta, win, flags } => {
            let mut s = seg(*off, *ack_delta, *win, *flags);
            s.payload = pattern(*len, step as u8);
            // The remote's notion of the next sequence number follows what it sent in
            // order; the ACK field stays below what the stack sent, mostly.
            if *off == 0 {
                p.nxt = p.nxt.wrapping_add(*len as u32);
            }
            if SeqNum(s.ack).gt(SeqNum(seen)) && ack_delta % 2 == 0 {
                s.ack = seen;
            }
            p.feed(s)
        }
        Op::Ack { off, ack_delta, clamp, win, flags } => {
            let mut s = seg(*off, *ack_delta, *win, *flags);
            if *clamp && SeqNum(s.ack).gt(SeqNum(seen)) {
                s.ack = seen;
            }
            if SeqNum(s.ack).gt(SeqNum(p.acked)) && !SeqNum(s.ack).gt(SeqNum(seen)) {
                p.acked = s.ack;
            }
            p.feed(s)
        }
        Op::Send(n) => {
            let r = p.conn.map(|c| p.stack.send(c, &pattern(*n, 7)));
            let mut outs = p.flush();
            outs.push(app_result(format!("{r:?}").into_bytes()));
            outs
        }
        Op::Read => {
            let mut got = Vec::new();
            if let Some(c) = p.conn {
                let mut buf = [0u8; 4096];
                while let Ok(n) = p.stack.recv(c, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            }
            let mut outs = p.flush();
            outs.push(app_result(got));
            outs
        }
        Op::Wait(ms) => p.advance(Duration::from_millis(*ms)),
    };
    let full: Vec<_> =
        outs.iter().map(|o| (o.flags, o.seq, o.ack, o.win, o.opts, o.payload.clone())).collect();
    format!("{full:?}")
}

/// (ACKs are not delayed here: the harness's handshake expects immediate ones; the
/// traffic test below delays them.)
fn crafted(ops: &[Op], batch: Option<usize>) -> Result<(), TestCaseError> {
    let cfg = |hp: bool| Config { header_prediction: hp, ..inject::inject_config() };
    let mut fast = Peer::established_with(cfg(true));
    let mut slow = Peer::established_with(cfg(false));
    fast.batch = batch;
    prop_assert_eq!(dump(&fast.stack), dump(&slow.stack));
    for (i, op) in ops.iter().enumerate() {
        let a = apply(&mut fast, op, i);
        let b = apply(&mut slow, op, i);
        prop_assert_eq!(&a, &b, "output after step {} {:?}", i, op);
        prop_assert_eq!(&fast.events, &slow.events, "events after step {} {:?}", i, op);
        prop_assert_eq!(&fast.trace, &slow.trace, "trace after step {} {:?}", i, op);
        prop_assert_eq!(dump(&fast.stack), dump(&slow.stack), "state after step {} {:?}", i, op);
        prop_assert_eq!(
            fast.stack.poll_timeout(),
            slow.stack.poll_timeout(),
            "timer after step {} {:?}",
            i,
            op
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn crafted_segments_give_the_same_result_with_and_without_header_prediction(
        ops in proptest::collection::vec(op(), 1..80),
        batch in prop_oneof![Just(None), (1usize..9).prop_map(Some)],
    ) {
        crafted(&ops, batch)?;
    }
}

/// RFC 5681 4.2: a receiver owes one duplicate ACK per out-of-order segment. When a
/// burst of data goes out before any ACK, each of its segments carries one of them
/// (`RecvBuffer::ack_sent`), including those `Stack::poll_transmit_many` patches from
/// the segment before (`Conn::predict_next_in_run`): with five owed and a burst of
/// five full segments, nothing is left owed and no ACK follows the burst.
#[test]
fn a_burst_of_data_carries_the_duplicate_acks_owed_with_and_without_prediction() {
    let world = |hp: bool| {
        let mut p = Peer::established_with(Config { header_prediction: hp, ..inject::inject_config() });
        p.batch = Some(8).filter(|_| hp);
        let c = p.conn.expect("established");
        assert_eq!(p.stack.send(c, &pattern(8000, 3)), Ok(8000));
        for k in 1u32..=5 {
            let mut s = inject::Seg::new(A, p.nxt.wrapping_add(1000 * k), p.acked);
            s.payload = pattern(100, k as u8);
            p.inject(&s);
        }
        let out = p.flush();
        (out.iter().map(|o| (o.flags, o.seq, o.ack, o.payload.len())).collect::<Vec<_>>(), dump(&p.stack))
    };
    let (fast, slow) = (world(true), world(false));
    assert_eq!(fast, slow);
    assert!(fast.0.iter().all(|&(_, _, _, len)| len > 0), "only data segments: {:?}", fast.0);
    assert!(fast.0.len() >= 3, "{:?}", fast.0);
}

/// A plain in-order transfer, the fast path's own case, with timestamps and SACK
/// negotiated (the crafted peer above negotiates neither).
#[test]
fn an_in_order_transfer_is_identical_with_and_without_header_prediction() {
    let sc = Traffic {
        seed: 1,
        loss: 0,
        dup: 0,
        reorder: 0,
        corrupt: 0,
        up: 200_000,
        down: 50_000,
        chunk: 3000,
        recv_buffer: 65_536,
        timestamps: true,
        sack: true,
        window_scaling: true,
        delayed_ack: true,
        nagle: true,
        batch: Some(4),
    };
    traffic(&sc).unwrap();
}

/// RFC 8985 6.2: every ACK that finds SACKed data above a hole at SND.UNA, outside
/// recovery, may bring RACK's reordering timer forward, and that includes the ACK a
/// full-sized data segment carries, which has no room for SACK blocks of its own
/// (`Conn::finish_ack`). The fast path took such a segment without it: the server
/// below armed the timer at 130 ms without prediction and not with it (found by the
/// random test that follows, whose case this is).
#[test]
fn in_order_data_above_a_sacked_hole_arms_the_reordering_timer_with_and_without_prediction() {
    let sc = Traffic {
        seed: 631_748_862_432_505_524,
        loss: 93,
        dup: 5,
        reorder: 93,
        corrupt: 35,
        up: 21_709,
        down: 34_752,
        chunk: 1,
        recv_buffer: 16_384,
        timestamps: true,
        sack: true,
        window_scaling: false,
        delayed_ack: false,
        nagle: true,
        batch: None,
    };
    traffic(&sc).unwrap();
}

#[derive(Clone, Debug)]
struct Traffic {
    seed: u64,
    /// Per-mille probabilities for every datagram, both ways.
    loss: u32,
    dup: u32,
    reorder: u32,
    /// Delivered with one byte flipped (caught by a checksum).
    corrupt: u32,
    up: usize,
    down: usize,
    chunk: usize,
    recv_buffer: u32,
    timestamps: bool,
    sack: bool,
    window_scaling: bool,
    delayed_ack: bool,
    nagle: bool,
    /// The world with header prediction takes its output with `poll_transmit_many`,
    /// this many buffers at a time (the other always with `poll_transmit`).
    batch: Option<usize>,
}

fn traffic_scenario() -> impl Strategy<Value = Traffic> {
    (
        any::<u64>(),
        (0u32..100, 0u32..50, 0u32..100, prop_oneof![Just(0u32), 1u32..40]),
        (0usize..150_000, 0usize..40_000, 1usize..8000),
        prop_oneof![Just(4096u32), Just(16_384), Just(65_536), Just(262_144)],
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop_oneof![Just(None), (1usize..9).prop_map(Some)],
    )
        .prop_map(
            |(
                seed,
                (loss, dup, reorder, corrupt),
                (up, down, chunk),
                recv_buffer,
                (ts, sack, ws, da, nagle),
                batch,
            )| {
                Traffic {
                    seed,
                    loss,
                    dup,
                    reorder,
                    corrupt,
                    up,
                    down,
                    chunk,
                    recv_buffer,
                    timestamps: ts,
                    sack,
                    window_scaling: ws,
                    delayed_ack: da,
                    nagle,
                    batch,
                }
            },
        )
}

/// One world of the traffic test: a pair of stacks and their applications.
struct World {
    p: Pair,
    client: Option<ConnId>,
    server: Option<ConnId>,
    listener: synack::ListenerId,
    up: Vec<u8>,
    down: Vec<u8>,
    sent: [usize; 2],
    got: [Vec<u8>; 2],
}

impl World {
    fn new(sc: &Traffic, hp: bool) -> Self {
        let tweak = |c: Config| Config {
            trace: true,
            recv_buffer: sc.recv_buffer,
            send_buffer: sc.recv_buffer,
            timestamps: sc.timestamps,
            sack: sc.sack,
            window_scaling: sc.window_scaling,
            delayed_ack: sc.delayed_ack.then(|| Duration::from_millis(40)),
            nagle: sc.nagle,
            header_prediction: hp,
            ..c
        };
        let mut p = Pair::with_configs(tweak(config(CLIENT_IP)), tweak(config(SERVER_IP)));
        p.rule = random_fates(sc.seed, (sc.loss, sc.dup, sc.reorder, sc.corrupt));
        if hp {
            p.batch = sc.batch;
        }
        let listener = p.b.listen(server_addr(), 4).unwrap();
        let client = Some(p.a.connect(p.now, server_addr()).unwrap());
        World {
            p,
            client,
            server: None,
            listener,
            up: pattern(sc.up, 3),
            down: pattern(sc.down, 5),
            sent: [0, 0],
            got: [Vec::new(), Vec::new()],
        }
    }

    /// The applications' turn, then one network step. Returns whether the network
    /// was busy.
    fn step(&mut self, chunk: usize, read: bool) -> bool {
        if self.server.is_none() {
            self.server = self.p.b.accept(self.listener);
        }
        let ends = [(self.client, &self.up), (self.server, &self.down)];
        for (i, (conn, data)) in ends.into_iter().enumerate() {
            let Some(c) = conn else { continue };
            let stack = if i == 0 { &mut self.p.a } else { &mut self.p.b };
            while self.sent[i] < data.len() {
                let end = (self.sent[i] + chunk).min(data.len());
                match stack.send(c, &data[self.sent[i]..end]) {
                    Ok(n) => self.sent[i] += n,
                    Err(_) => break,
                }
            }
            if read {
                let mut buf = [0u8; 8192];
                loop {
                    match stack.recv(c, &mut buf) {
                        Ok(0) | Err(Error::WouldBlock) | Err(_) => break,
                        Ok(n) => self.got[i].extend_from_slice(&buf[..n]),
                    }
                }
            }
        }
        self.p.step()
    }
}

/// A link that drops, duplicates, delays (by 1 to 30 ms) and corrupts (one byte) these
/// many segments per mille, drawn from `seed`.
fn random_fates(seed: u64, (drop, dup, delay, corrupt): (u32, u32, u32, u32)) -> common::Rule {
    let mut rng = Rng(seed | 1);
    Box::new(move |_| {
        let r = (rng.next() % 1000) as u32;
        if r < drop {
            Fate::Drop
        } else if r < drop + dup {
            Fate::Duplicate
        } else if r < drop + dup + delay {
            Fate::Delay(Duration::from_millis(1 + rng.next() % 30))
        } else if r < drop + dup + delay + corrupt {
            Fate::Corrupt((rng.next() % 64) as usize)
        } else {
            Fate::Deliver
        }
    })
}

/// The checks after each lockstep step of two pairs, `fast` with prediction and `slow`
/// without: the same datagrams and trace records so far, the same earliest timer on
/// each side (a heap entry missed or left stale shows here before any timer fires),
/// and every 16 steps, or when the network went `idle`, the same full state.
fn same_step(fast: &Pair, slow: &Pair, step: usize, idle: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(fast.log.len(), slow.log.len(), "segments sent by step {}", step);
    if let (Some(a), Some(b)) = (fast.log.last(), slow.log.last()) {
        prop_assert_eq!(&a.bytes, &b.bytes, "last datagram at step {}", step);
    }
    prop_assert_eq!(fast.trace_a.len(), slow.trace_a.len(), "client trace at step {}", step);
    prop_assert_eq!(fast.trace_b.len(), slow.trace_b.len(), "server trace at step {}", step);
    prop_assert_eq!(fast.a.poll_timeout(), slow.a.poll_timeout(), "client timer at step {}", step);
    prop_assert_eq!(fast.b.poll_timeout(), slow.b.poll_timeout(), "server timer at step {}", step);
    if step % 16 == 0 || idle {
        prop_assert_eq!(dump(&fast.a), dump(&slow.a), "client state at step {}", step);
        prop_assert_eq!(dump(&fast.b), dump(&slow.b), "server state at step {}", step);
    }
    Ok(())
}

/// The checks at the end of a lockstep run: every datagram, with its time and
/// direction, and every trace record, the same.
fn same_end(fast: &Pair, slow: &Pair) -> Result<(), TestCaseError> {
    let all_f: Vec<_> = fast.log.iter().map(|s| (s.t, s.dir, &s.bytes)).collect();
    let all_s: Vec<_> = slow.log.iter().map(|s| (s.t, s.dir, &s.bytes)).collect();
    prop_assert_eq!(all_f, all_s, "every datagram");
    prop_assert_eq!(&fast.trace_a, &slow.trace_a);
    prop_assert_eq!(&fast.trace_b, &slow.trace_b);
    Ok(())
}

fn traffic(sc: &Traffic) -> Result<(), TestCaseError> {
    let mut fast = World::new(sc, true);
    let mut slow = World::new(sc, false);
    for step in 0..20_000usize {
        let read = step % 3 != 2;
        let busy_fast = fast.step(sc.chunk, read);
        let busy_slow = slow.step(sc.chunk, read);
        prop_assert_eq!(busy_fast, busy_slow);
        same_step(&fast.p, &slow.p, step, !busy_fast)?;
        if !busy_fast {
            break;
        }
    }
    same_end(&fast.p, &slow.p)?;
    prop_assert_eq!(&fast.got, &slow.got);
    // And the transfer itself worked (a sanity check on the harness).
    prop_assert_eq!(&fast.got[1][..], &fast.up[..fast.got[1].len()]);
    prop_assert_eq!(&fast.got[0][..], &fast.down[..fast.got[0].len()]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_traffic_gives_the_same_result_with_and_without_header_prediction(sc in traffic_scenario()) {
        traffic(&sc)?;
    }
}

/// Several connections of one stack sending at once share its output queue, round
/// robin, while the send-side prediction's hint is one per stack: the world with
/// prediction (taking its output with `poll_transmit_many`) must still send exactly
/// what the world without it sends, over a lossy link.
fn several_senders(seed: u64, conns: usize, batch: Option<usize>, loss: u32) -> Result<(), TestCaseError> {
    let world = |hp: bool| {
        let tweak = |c: Config| Config { header_prediction: hp, send_buffer: 32_768, ..c };
        let mut p = Pair::with_configs(tweak(config(CLIENT_IP)), tweak(config(SERVER_IP)));
        if hp {
            p.batch = batch;
        }
        let mut rng = Rng(seed | 1);
        p.rule =
            Box::new(move |_| if (rng.next() % 1000) < u64::from(loss) { Fate::Drop } else { Fate::Deliver });
        let listener = p.b.listen(server_addr(), 16).unwrap();
        let clients: Vec<ConnId> = (0..conns).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
        (p, listener, clients)
    };
    let (mut fast, lf, cf) = world(true);
    let (mut slow, ls, cs) = world(false);
    let data = pattern(60_000, 9);
    let mut sent = vec![vec![0usize; conns]; 2];
    let mut accepted: Vec<Vec<ConnId>> = vec![Vec::new(), Vec::new()];
    let mut got = [0usize; 2];
    for step in 0..50_000usize {
        for (w, (p, l, clients)) in [(&mut fast, lf, &cf), (&mut slow, ls, &cs)].into_iter().enumerate() {
            while let Some(c) = p.b.accept(l) {
                accepted[w].push(c);
            }
            for (i, &c) in clients.iter().enumerate() {
                let sent = &mut sent[w][i];
                while *sent < data.len() {
                    let end = (*sent + 7_000).min(data.len());
                    match p.a.send(c, &data[*sent..end]) {
                        Ok(n) => *sent += n,
                        Err(_) => break,
                    }
                }
            }
            let mut buf = [0u8; 16_384];
            for &c in &accepted[w] {
                while let Ok(n @ 1..) = p.b.recv(c, &mut buf) {
                    got[w] += n;
                }
            }
        }
        let (bf, bs) = (fast.step(), slow.step());
        prop_assert_eq!(bf, bs);
        prop_assert_eq!(fast.log.len(), slow.log.len(), "datagrams by step {}", step);
        prop_assert_eq!(&sent[0], &sent[1], "bytes the applications wrote by step {}", step);
        prop_assert_eq!(fast.a.poll_timeout(), slow.a.poll_timeout(), "client timer at step {}", step);
        if step % 16 == 0 || !bf {
            prop_assert_eq!(dump(&fast.a), dump(&slow.a), "client state at step {}", step);
        }
        if !bf {
            break;
        }
    }
    let all_f: Vec<_> = fast.log.iter().map(|s| (s.t, s.dir, &s.bytes)).collect();
    let all_s: Vec<_> = slow.log.iter().map(|s| (s.t, s.dir, &s.bytes)).collect();
    prop_assert_eq!(all_f, all_s, "every datagram");
    prop_assert_eq!(got[0], got[1]);
    // The harness did what it means to: every byte of every connection arrived.
    prop_assert_eq!(got[0], conns * data.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn several_connections_sending_at_once_give_the_same_result_with_and_without_prediction(
        seed in any::<u64>(),
        conns in 2usize..5,
        batch in prop_oneof![Just(None), (1usize..12).prop_map(Some)],
        loss in 0u32..40,
    ) {
        several_senders(seed, conns, batch, loss)?;
    }
}

/// One transfer from `a` to `b`, whose application lends a buffer of `space` bytes to
/// `Stack::handle_packet_into` (the receive express path, `Stack::express`, and
/// otherwise the staged copy of `RecvBuffer::stage_direct`), over a link that drops,
/// duplicates, delays and corrupts segments.
#[derive(Clone, Debug)]
struct LentTransfer {
    seed: u64,
    /// Per mille: dropped, duplicated, delayed, corrupted.
    fates: (u32, u32, u32, u32),
    space: usize,
    len: usize,
    timestamps: bool,
    trace: bool,
    /// Per mille of steps at which the application leaves its buffer as it is.
    lazy: u64,
    /// `Config::max_ooo_ranges` of the receiver (0: out-of-order data is dropped).
    ooo_ranges: usize,
}

fn lent_transfer_scenario() -> impl Strategy<Value = LentTransfer> {
    (
        any::<u64>(),
        (0u32..80, 0u32..40, 0u32..80, 0u32..40),
        prop_oneof![1usize..3000, 3000usize..300_000],
        1usize..200_000,
        (any::<bool>(), any::<bool>()),
        0u64..600,
        prop_oneof![Just(32usize), 0usize..3],
    )
        .prop_map(|(seed, fates, space, len, (timestamps, trace), lazy, ooo_ranges)| LentTransfer {
            seed,
            fates,
            space,
            len,
            timestamps,
            trace,
            lazy,
            ooo_ranges,
        })
}

/// One world of [`lent_transfer`]: the pair, the connection's two ends, what `b`'s
/// application read.
struct LentWorld {
    p: Pair,
    a: ConnId,
    b: ConnId,
    off: usize,
    got: Vec<u8>,
    app_rng: Rng,
}

impl LentWorld {
    fn new(sc: &LentTransfer, hp: bool) -> Self {
        let tweak =
            |c: Config| Config { header_prediction: hp, timestamps: sc.timestamps, trace: sc.trace, ..c };
        let server = Config { max_ooo_ranges: sc.ooo_ranges, ..tweak(config(SERVER_IP)) };
        let mut p = Pair::with_configs(tweak(config(CLIENT_IP)), server);
        let (a, b) = p.establish();
        p.rule = random_fates(sc.seed, sc.fates);
        p.direct_b = Some(common::DirectApp { conn: b, buf: vec![0u8; sc.space], filled: 0 });
        LentWorld { p, a, b, off: 0, got: Vec::new(), app_rng: Rng(sc.seed.rotate_left(17) | 1) }
    }

    /// The applications' turn, then one network step; whether the network was busy.
    fn step(&mut self, body: &[u8], lazy: u64) -> bool {
        if self.off < body.len() {
            if let Ok(n) = self.p.a.send(self.a, &body[self.off..]) {
                self.off += n;
            }
        }
        if self.app_rng.next() % 1000 >= lazy {
            // The application takes what landed in its buffer, then what waits in the
            // receive buffer.
            if let Some(d) = self.p.direct_b.as_mut() {
                self.got.extend_from_slice(&d.buf[..d.filled]);
                d.filled = 0;
            }
            let mut buf = [0u8; 977];
            while let Ok(n @ 1..) = self.p.b.recv(self.b, &mut buf) {
                self.got.extend_from_slice(&buf[..n]);
            }
        }
        self.p.step()
    }
}

fn lent_transfer(sc: &LentTransfer) -> Result<(), TestCaseError> {
    let body = pattern(sc.len, sc.seed as u8);
    let mut fast = LentWorld::new(sc, true);
    let mut slow = LentWorld::new(sc, false);
    for step in 0..200_000usize {
        let (bf, bs) = (fast.step(&body, sc.lazy), slow.step(&body, sc.lazy));
        prop_assert_eq!(bf, bs);
        prop_assert_eq!(fast.got.len(), slow.got.len(), "bytes read by step {}", step);
        same_step(&fast.p, &slow.p, step, !bf)?;
        if !bf {
            break;
        }
    }
    same_end(&fast.p, &slow.p)?;
    // The harness did what it means to: the whole stream arrived, in order.
    fast.step(&body, 0);
    prop_assert!(fast.got == body, "the stream read differs from the stream sent");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// RFC 9293 3.10.7.4, seventh step: delivering the text of the next in-order
    /// segment straight into the application's buffer by the express path must give
    /// exactly what the full processing gives: segments, trace, state, the stream.
    #[test]
    fn a_lent_buffer_gives_the_same_result_with_and_without_prediction(sc in lent_transfer_scenario()) {
        lent_transfer(&sc)?;
    }
}

/// RFC 8985 7.2: the PTO restarts with each segment of new data, and is shorter once
/// more than one segment is in flight. A driver may take a burst a few segments at a
/// time and ask for the next timer in between: the timer it is told must be the one
/// the full processing arms, also when a `Stack::poll_transmit_many` call ends inside
/// a run whose second segment moved the deadline (`Conn::predict_next_in_run`): a run
/// that began with nothing in flight.
#[test]
fn a_burst_taken_two_segments_at_a_time_reports_the_timer_the_full_processing_arms() {
    let world = |hp: bool| {
        let mut p = Peer::established_with(Config { header_prediction: hp, ..inject::inject_config() });
        p.batch = Some(2);
        let c = p.conn.expect("established");
        let mut timers = Vec::new();
        // More than the peer's window: each burst ends with data waiting, and the next
        // starts, once everything is acknowledged, from an empty flight.
        assert_eq!(p.stack.send(c, &pattern(40_000, 1)), Ok(40_000));
        for _ in 0..3 {
            // One call: two segments, the burst not finished.
            let mut bufs = vec![vec![0u8; 2048]; 2];
            let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
            let mut sent = [synack::Transmit::default(); 2];
            assert_eq!(p.stack.poll_transmit_many(p.now, &mut slices, &mut sent), 2);
            timers.push(p.stack.poll_timeout());
            // The rest of the burst, then every byte acknowledged.
            p.flush();
            timers.push(p.stack.poll_timeout());
            p.now += Duration::from_millis(20);
            let ack = inject::Seg::new(A, p.nxt, p.seen);
            p.acked = p.seen;
            p.inject(&ack);
            timers.push(p.stack.poll_timeout());
        }
        (timers, dump(&p.stack))
    };
    assert_eq!(world(true), world(false));
}
