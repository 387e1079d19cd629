//! Hostile networks: blind attackers and floods.
//!
//! - RFC 5961 challenge ACKs under a stack-wide per-second budget (RFC 5961 7);
//! - SYN cookies (RFC 4987 3.6): a SYN flood past the SYN queue costs no state, a
//!   legitimate client still connects and transfers, forged and stale cookies are
//!   rejected without state;
//! - every configured limit holds when flooded past it (connections, SYN queue,
//!   TIME-WAIT records, out-of-order ranges, receive buffer, queued control segments);
//! - TIME-WAIT under floods of RSTs and SYNs (RFC 1337, RFC 5961).

#![allow(clippy::unwrap_used)]

mod common;

use common::inject::{self, only, Peer, Seg, A, FA, PA, R, S, SA};
use common::{pattern, Dir, Pair, CLIENT_IP, SERVER_IP};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{Config, ConnId, Duration, Error, Event, Instant, SeqNum, Stack, State, SynCookies, UsageError};

// ----- a raw network of many 4-tuples ----------------------------------------------------

/// A segment the stack sent, parsed back.
#[derive(Clone, Debug)]
struct Out {
    dst: SocketAddr,
    hdr: TcpHeader,
}

/// One stack, fed hand-made segments from any source, its answers read back.
struct Net {
    stack: Stack,
    now: Instant,
    buf: Vec<u8>,
}

fn server() -> SocketAddr {
    SocketAddr::new(SERVER_IP, 80)
}

/// A spoofed source in 192.0.2.0/24 (TEST-NET-1), never the two hosts of the pair
/// harness: a tiny deterministic generator stands in for randomness.
fn spoofed(i: u32) -> SocketAddr {
    let x = i.wrapping_mul(0x9e37_79b9) ^ (i >> 7);
    let host = 3 + (x % 250) as u8;
    let port = 1024 + ((x >> 8) % 60_000) as u16;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)), port)
}

fn opts(mss: Option<u16>, ws: Option<u8>) -> TcpOptions {
    TcpOptions { mss, window_scale: ws, ..TcpOptions::NONE }
}

fn datagram(
    from: SocketAddr,
    to: SocketAddr,
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    o: TcpOptions,
    data: &[u8],
) -> Vec<u8> {
    let hdr = TcpHeader {
        src_port: from.port(),
        dst_port: to.port(),
        seq: SeqNum(seq),
        ack: SeqNum(ack),
        flags,
        window: 30_000,
        urgent: 0,
        options: o,
    };
    let mut buf = vec![0u8; 70_000];
    let n = wire::emit(&mut buf, from.ip(), to.ip(), 64, &hdr, &[data]).expect("emit");
    buf.truncate(n);
    buf
}

impl Net {
    fn new(cfg: Config) -> Self {
        Net { stack: Stack::new(cfg), now: Instant::from_millis(1_000), buf: vec![0u8; 70_000] }
    }

    fn listening(cfg: Config, backlog: usize) -> Self {
        let mut n = Self::new(cfg);
        n.stack.listen(server(), backlog).unwrap();
        n
    }

    #[allow(clippy::too_many_arguments)]
    fn send(&mut self, from: SocketAddr, flags: TcpFlags, seq: u32, ack: u32, o: TcpOptions, data: &[u8]) {
        let d = datagram(from, server(), flags, seq, ack, o, data);
        self.stack.handle_packet(self.now, &d);
    }

    fn out(&mut self) -> Vec<Out> {
        let mut v = Vec::new();
        while let Some(tx) = self.stack.poll_transmit(self.now, &mut self.buf) {
            let p = wire::parse(&self.buf[..tx.len]).expect("parsable");
            v.push(Out { dst: SocketAddr::new(p.dst, p.tcp.dst_port), hdr: p.tcp });
        }
        v
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.stack.poll_event()).collect()
    }

    /// A SYN from `from`; returns the SYN,ACK sent back, if any.
    fn syn(&mut self, from: SocketAddr, isn: u32, o: TcpOptions) -> Option<TcpHeader> {
        self.send(from, S, isn, 0, o, &[]);
        let outs = self.out();
        assert!(outs.len() <= 1, "{outs:?}");
        outs.into_iter().find(|o| o.dst == from && o.hdr.flags == SA).map(|o| o.hdr)
    }

    /// A full handshake from `from` (client ISN `isn`); returns the stack's ISS.
    fn handshake(&mut self, from: SocketAddr, isn: u32) -> Option<u32> {
        let sa = self.syn(from, isn, opts(Some(1460), Some(7)))?;
        self.send(from, A, isn.wrapping_add(1), sa.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]);
        Some(sa.seq.raw())
    }
}

fn cookies(mode: SynCookies) -> Config {
    Config { syn_cookies: mode, ..inject::inject_config() }
}

// ----- RFC 5961 challenge ACKs under a budget -------------------------------------------

fn limited(limit: u32) -> Config {
    Config { challenge_ack_limit: limit, ..inject::inject_config() }
}

/// Feed `n` segments built by `seg(i)`, collecting every answer after each (as a driver
/// polling after every datagram would).
fn burst(p: &mut Peer, n: u32, seg: impl Fn(&Peer, u32) -> Seg) -> Vec<inject::Out> {
    let mut outs = Vec::new();
    for i in 0..n {
        let s = seg(p, i);
        outs.extend(p.feed(s));
    }
    outs
}

#[test]
fn default_challenge_ack_limit_is_a_thousand_per_second() {
    // RFC 5961 7: "such a limit SHOULD be configurable"; the default is Linux's.
    assert_eq!(Config::default().challenge_ack_limit, 1000);
    assert_eq!(Config::default().syn_cookies, SynCookies::WhenFull);
}

#[test]
fn burst_of_ten_thousand_in_window_rsts_gets_at_most_the_limit_of_challenge_acks() {
    // RFC 5961 3.2: a RST in the window but not at RCV.NXT gets a challenge ACK; RFC 5961
    // 7: "An implementation SHOULD include an ACK throttling mechanism". 10,000 of them
    // within one second get no more than the limit, and between half of it and all of it
    // (the budget is drawn per second, against CVE-2016-5696).
    let mut p = Peer::established_with(limited(100));
    let (seen, nxt) = (p.seen, p.nxt);
    let outs = burst(&mut p, 10_000, |p, i| p.seg(R).seq(p.nxt.wrapping_add(1 + i % 1000)));
    assert!((50..=100).contains(&outs.len()), "{} challenge ACKs", outs.len());
    for o in &outs {
        inject::assert_seg(o, A, seen, nxt);
    }
    let st = p.stack.stats();
    assert_eq!(st.challenge_acks, outs.len() as u64);
    assert_eq!(st.challenge_acks_suppressed, 10_000 - outs.len() as u64);
    p.assert_state(State::Established);
    // The next second has a budget again.
    p.advance(Duration::from_secs(1));
    p.feed_gets_ack(p.seg(R).seq(p.nxt.wrapping_add(7)));
}

#[test]
fn burst_of_ten_thousand_syns_in_a_synchronized_state_gets_at_most_the_limit_of_challenge_acks() {
    // RFC 5961 4.2: "if the SYN bit is set, irrespective of the sequence number, TCP
    // MUST send an ACK (also referred to as challenge ACK) to the remote peer", within
    // the same budget.
    let mut p = Peer::established_with(limited(100));
    let outs = burst(&mut p, 10_000, |p, i| Seg::new(S, p.nxt.wrapping_add(i * 13 % 8000), 0));
    assert!((50..=100).contains(&outs.len()), "{} challenge ACKs", outs.len());
    assert!(outs.iter().all(|o| o.flags == A));
    assert_eq!(p.stack.stats().challenge_acks_suppressed, 10_000 - outs.len() as u64);
    p.assert_state(State::Established);
}

#[test]
fn syns_outside_the_window_get_challenge_acks_within_the_same_budget() {
    // RFC 5961 4.2: "irrespective of the sequence number" - a SYN that fails the window
    // test is answered with a challenge ACK as well, so a flood of them, spread over the
    // whole sequence space, gets no more ACKs than the budget.
    let mut p = Peer::established_with(limited(100));
    let outs = burst(&mut p, 10_000, |p, i| Seg::new(S, p.nxt.wrapping_add(1_000_000 + i * 7919), 0));
    assert!((50..=100).contains(&outs.len()), "{} challenge ACKs", outs.len());
    assert!(outs.iter().all(|o| o.flags == A));
    let st = p.stack.stats();
    assert_eq!(st.challenge_acks + st.challenge_acks_suppressed, 10_000);
    p.assert_state(State::Established);
}

#[test]
fn acks_outside_the_acceptable_range_share_the_challenge_ack_budget() {
    // RFC 5961 5.2: "All incoming segments whose ACK value doesn't satisfy the above
    // condition MUST be discarded and an ACK sent back" - a blind attacker guessing ACK
    // numbers gets no more ACKs than the budget. Old ACKs, ACKs of unsent data, RSTs and
    // SYNs all draw on one budget of 40 within the second.
    let mut p = Peer::established_with(limited(40));
    let too_old = p.acked.wrapping_sub(u32::from(inject::REMOTE_WINDOW) + 1);
    let outs = burst(&mut p, 4_000, |p, i| match i % 4 {
        0 => p.seg(A).ack(too_old),
        1 => p.seg(A).ack(p.seen.wrapping_add(1 + i)),
        2 => p.seg(R).seq(p.nxt.wrapping_add(5)),
        _ => Seg::new(S, p.nxt, 0),
    });
    assert!((20..=40).contains(&outs.len()), "{} ACKs", outs.len());
    let st = p.stack.stats();
    assert_eq!(st.challenge_acks + st.challenge_acks_suppressed, 4_000);
    p.assert_state(State::Established);
}

#[test]
fn the_challenge_ack_budget_is_per_stack_not_per_connection() {
    // A flood spread over many connections costs the same as one aimed at a single one:
    // RSTs to 20 connections, 10 each, against a budget of 50.
    let mut n =
        Net::listening(Config { challenge_ack_limit: 50, syn_cookies: SynCookies::Off, ..cfg_server() }, 64);
    let mut peers = Vec::new();
    for i in 0..20u32 {
        let from = spoofed(i);
        let iss = n.handshake(from, 1000 * i).unwrap();
        peers.push((from, 1000 * i + 1, iss));
    }
    n.out();
    assert_eq!(n.stack.connection_count(), 20);
    let mut acks = 0;
    for (from, nxt, _) in &peers {
        for k in 0..10 {
            n.send(*from, R, nxt + 1 + k, 0, TcpOptions::NONE, &[]);
            acks += n.out().len();
        }
    }
    assert!((25..=50).contains(&acks), "{acks} challenge ACKs for 200 RSTs on 20 connections");
    assert_eq!(n.stack.connection_count(), 20, "no RST reset anything");
}

#[test]
fn a_challenge_ack_limit_of_zero_sends_none_and_still_ignores_the_rsts() {
    let mut p = Peer::established_with(limited(0));
    let outs = burst(&mut p, 100, |p, i| p.seg(R).seq(p.nxt.wrapping_add(1 + i)));
    inject::assert_silent(&outs);
    assert_eq!(p.stack.stats().challenge_acks_suppressed, 100);
    p.assert_state(State::Established);
    // Only the exact RST still resets (RFC 5961 3.2, 2).
    p.feed_silent(p.seg(R));
    p.assert_state(State::Closed);
}

// ----- SYN cookies: the flood and the legitimate client --------------------------------

fn cfg_server() -> Config {
    Config { addresses: vec![SERVER_IP], trace: false, ..Config::default() }
}

#[test]
fn syn_flood_past_the_syn_queue_keeps_state_bounded_while_a_real_client_connects_and_transfers() {
    // RFC 4987 3.6: with the SYN queue full, every further SYN is answered with a cookie
    // and costs nothing; a real client's handshake completes from its ACK.
    const QUEUE: usize = 16;
    let server_cfg = Config { max_syn_queue: QUEUE, ..cfg_server() };
    let mut p = Pair::with_configs(common::config(CLIENT_IP), server_cfg);
    let l = p.b.listen(common::server_addr(), 128).unwrap();
    let mut flood = 0u32;
    let mut inject_syns = |p: &mut Pair, n: u32| {
        for _ in 0..n {
            let d = datagram(
                spoofed(flood),
                common::server_addr(),
                S,
                flood.wrapping_mul(7919),
                0,
                opts(Some(1460), Some(7)),
                &[],
            );
            p.b.handle_packet(p.now, &d);
            flood += 1;
        }
    };
    // 5,000 spoofed SYNs before the client shows up, then 50 more at every step of the
    // handshake and the transfer.
    for _ in 0..50 {
        inject_syns(&mut p, 100);
        p.step();
    }
    assert_eq!(p.b.connection_count(), QUEUE, "only the SYN queue holds state");
    let c = p.a.connect(p.now, common::server_addr()).unwrap();
    let mut max_conns = 0;
    let mut steps = 0;
    let s = loop {
        inject_syns(&mut p, 50);
        p.step();
        steps += 1;
        max_conns = max_conns.max(p.b.connection_count());
        if let Some(s) = p.b.accept(l) {
            break s;
        }
        assert!(steps < 200, "the client never got through");
    };
    assert_eq!(p.a.state(c), State::Established);
    let up = pattern(100_000, 1);
    let down = pattern(50_000, 2);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let (mut sent_up, mut sent_down) = (0, 0);
    let mut buf = vec![0u8; 8192];
    while got_up.len() < up.len() || got_down.len() < down.len() {
        sent_up += p.a.send(c, &up[sent_up..]).unwrap_or(0);
        sent_down += p.b.send(s, &down[sent_down..]).unwrap_or(0);
        inject_syns(&mut p, 50);
        p.step();
        steps += 1;
        max_conns = max_conns.max(p.b.connection_count());
        while let Ok(n @ 1..) = p.b.recv(s, &mut buf) {
            got_up.extend_from_slice(&buf[..n]);
        }
        while let Ok(n @ 1..) = p.a.recv(c, &mut buf) {
            got_down.extend_from_slice(&buf[..n]);
        }
        assert!(steps < 20_000, "transfer stalled at {} / {}", got_up.len(), got_down.len());
    }
    assert_eq!(got_up, up);
    assert_eq!(got_down, down);
    let st = p.b.stats();
    eprintln!(
        "{flood} spoofed SYNs: {} cookies sent, {} validated, at most {max_conns} connections, {} control \
         segments dropped",
        st.syn_cookies_sent, st.syn_cookies_validated, st.control_dropped
    );
    assert!(max_conns <= QUEUE + 1, "state stayed bounded: {max_conns}");
    assert!(st.syn_cookies_sent as usize >= flood as usize - QUEUE - st.control_dropped as usize);
    assert_eq!(st.syn_cookies_validated, 1, "the real client's handshake");
    // The client's SYN,ACK was a cookie; the client's SYN carried timestamps, so the
    // cookie kept its window scale (in the TSval) and offered ours.
    let client_synack = p
        .log
        .iter()
        .filter(|g| g.dir == Dir::BtoA && g.flags == SA)
        .map(|g| wire::parse(&g.bytes).unwrap())
        .find(|d| d.dst == CLIENT_IP)
        .unwrap()
        .tcp;
    assert!(client_synack.options.window_scale.is_some(), "{client_synack:?}");
    assert!(client_synack.options.timestamps.is_some(), "{client_synack:?}");
    assert_eq!(client_synack.options.mss, Some(1460));
}

#[test]
fn syn_flood_that_fills_the_backlog_with_half_open_connections_still_lets_cookie_clients_in() {
    // The default shape: the listen backlog (here 8) is smaller than max_syn_queue, so a
    // flood fills the backlog's share with half-open connections first, and every later
    // SYN gets a cookie. A valid cookie then takes the place of the oldest half-open
    // connection (RFC 4987 3.4, "Recycling the Oldest Half-Open TCB"): otherwise no
    // client would get in until the flood's half-open connections time out.
    let mut n = Net::listening(cfg_server(), 8);
    let flood = |n: &mut Net, from: u32| {
        for i in from..from + 2_000 {
            n.send(spoofed(i), S, i, 0, TcpOptions::NONE, &[]);
            if i % 256 == 0 {
                n.out();
            }
        }
        n.out();
    };
    for k in 0..3u32 {
        // The flood goes on: whatever room the last client made is taken again.
        flood(&mut n, k * 2_000);
        assert_eq!(n.stack.connection_count(), 8 + k as usize);
        let me = SocketAddr::new(CLIENT_IP, 40_000 + k as u16);
        let iss = n.handshake(me, 77 + k).expect("a cookie SYN,ACK");
        let c = accept_first(&mut n).expect("the client is in");
        assert_eq!(n.stack.tuple(c).unwrap().remote, me);
        n.send(me, PA, 78 + k, iss.wrapping_add(1), TcpOptions::NONE, b"hello");
        let mut buf = [0u8; 16];
        assert_eq!(n.stack.recv(c, &mut buf), Ok(5));
    }
    let st = n.stack.stats();
    assert_eq!(st.syn_cookies_validated, 3);
    assert_eq!(st.half_open_recycled, 3);
    assert_eq!(n.stack.connection_count(), 10, "7 half-open left, 3 established");
}

/// A SYN with MSS 1400, window scale 7 and SACK-permitted, timestamped with `ts` (and
/// an ECN-setup SYN when `ecn`), fed to `p`; returns the cookie SYN,ACK, with `p` set
/// up to go on from it.
fn cookie_syn(p: &mut Peer, ts: Option<u32>, ecn: bool) -> inject::Out {
    let mut syn = Seg::new(S, inject::REMOTE_ISS, 0).mss(1400);
    syn.opts.window_scale = Some(7);
    syn.opts.sack_permitted = true;
    syn.opts.timestamps = ts.map(|val| wire::Timestamps { val, ecr: 0 });
    if ecn {
        syn.flags |= TcpFlags::ECE | TcpFlags::CWR;
    }
    let synack = only(p.feed(syn));
    assert_eq!(TcpFlags(synack.flags.0 & !TcpFlags::ECE.0), SA);
    assert_eq!(synack.ack, inject::REMOTE_ISS.wrapping_add(1));
    assert_eq!(synack.opts.mss, Some(1460));
    assert_eq!(u32::from(synack.win), inject::RECV_BUFFER);
    assert_eq!(p.stack.connection_count(), 0, "no state for the SYN");
    assert_eq!(p.stack.stats().syn_cookies_sent, 1);
    p.stack_iss = synack.seq;
    p.seen = synack.seq.wrapping_add(1);
    p.nxt = inject::REMOTE_ISS.wrapping_add(1);
    synack
}

/// The cookie connection `p`'s ACK made, accepted.
fn accept_cookie_connection(p: &mut Peer) -> ConnId {
    assert_eq!(p.stack.connection_count(), 1);
    assert_eq!(p.stack.stats().syn_cookies_validated, 1);
    let c = p.stack.accept(p.listener.unwrap()).expect("queued for accept");
    assert!(
        p.events.iter().any(|e| matches!(e, Event::Accepted { conn, .. } if *conn == c)),
        "{:?}",
        p.events
    );
    p.conn = Some(c);
    p.assert_state(State::Established);
    c
}

#[test]
fn cookie_handshake_without_timestamps_keeps_only_the_mss() {
    // RFC 4987 3.6; the SYN carried MSS 1400, window scale 7 and SACK-permitted but no
    // timestamps: the cookie keeps the MSS (rounded down to the table: 1300) and has
    // nowhere to keep the rest, so the SYN,ACK offers neither.
    let mut p = Peer::listen_with(cookies(SynCookies::Always));
    let synack = cookie_syn(&mut p, None, false);
    assert_eq!(synack.opts.window_scale, None, "no window scaling offered");
    assert!(!synack.opts.sack_permitted, "no SACK offered");
    assert_eq!(synack.opts.timestamps, None, "no timestamps offered");
    inject::assert_silent(&p.feed(p.seg(A).win(1000)));
    let c = accept_cookie_connection(&mut p);
    let info = p.stack.info(c).unwrap();
    assert_eq!(info.mss, 1300, "the table's value below 1400");
    assert_eq!(info.send_window, 1000, "the peer's window is not scaled");
    assert_eq!((info.window_scale, info.sack, info.timestamps), (None, false, false));
    // Data flows both ways.
    let ack = only(p.feed(p.seg(PA).data(b"hello")));
    p.nxt = p.nxt.wrapping_add(5);
    inject::assert_seg(&ack, A, p.seen, p.nxt);
    assert_eq!(p.read_all(), b"hello");
    p.stack.send(c, b"world").unwrap();
    let data = only(p.flush());
    inject::assert_seg(&data, PA, p.stack_iss.wrapping_add(1), p.nxt);
    assert_eq!(data.opts.timestamps, None, "timestamps were not negotiated");
}

#[test]
fn cookie_handshake_with_timestamps_keeps_window_scale_and_sack_in_the_tsval() {
    // The SYN was timestamped: the cookie SYN,ACK offers window scaling, SACK and
    // timestamps back (RFC 7323 2.2, 3.2; RFC 2018 2), the peer's shift and SACK ride
    // in the low bits of its TSval, and the ACK's TSecr brings them back.
    let mut p = Peer::listen_with(cookies(SynCookies::Always));
    let synack = cookie_syn(&mut p, Some(1000), false);
    assert!(synack.opts.window_scale.is_some(), "window scaling offered");
    assert!(synack.opts.sack_permitted, "SACK offered");
    let ts = synack.opts.timestamps.expect("timestamps offered");
    assert_eq!(ts.ecr, 1000, "RFC 7323 4.3: the SYN's TSval echoed");
    assert_eq!(synack.flags, SA, "no ECN offered, none asked for");
    let mut ack = p.seg(A).win(1000);
    ack.opts.timestamps = Some(wire::Timestamps { val: 1001, ecr: ts.val });
    inject::assert_silent(&p.feed(ack));
    let c = accept_cookie_connection(&mut p);
    let info = p.stack.info(c).unwrap();
    let ours = synack.opts.window_scale.unwrap();
    assert_eq!((info.window_scale, info.sack, info.timestamps), (Some((7, ours)), true, true));
    assert_eq!(info.send_window, 1000 << 7, "the peer's window is scaled");
    assert_eq!(info.mss, 1300 - 12, "the table's value, less the timestamps");
    // The connection's own TSvals go on from the SYN,ACK's without going back, and echo
    // the ACK's.
    p.stack.send(c, b"world").unwrap();
    let data = only(p.flush());
    let later = data.opts.timestamps.expect("timestamps negotiated");
    assert!(later.val.wrapping_sub(ts.val) < 64, "{} then {}", ts.val, later.val);
    assert_eq!(later.ecr, 1001);
    // SACK is in use: out-of-order data is reported.
    let ooo = p.seg(PA).seq(p.nxt.wrapping_add(10)).data(b"later");
    let mut ooo = ooo;
    ooo.opts.timestamps = Some(wire::Timestamps { val: 1002, ecr: later.val });
    let dup = only(p.feed(ooo));
    assert_eq!(dup.opts.sack_blocks().len(), 1, "{dup:?}");
}

#[test]
fn cookie_handshake_keeps_ecn_of_a_timestamped_ecn_setup_syn() {
    // RFC 3168 6.1.1: an ECN-setup SYN (ECE, CWR) may be answered with an ECN-setup
    // SYN-ACK (ECE); the cookie keeps the agreement in the TSval.
    let cfg = Config { ecn: synack::Ecn::Passive, ..cookies(SynCookies::Always) };
    let mut p = Peer::listen_with(cfg);
    let synack = cookie_syn(&mut p, Some(1000), true);
    assert_eq!(synack.flags, SA | TcpFlags::ECE);
    let ts = synack.opts.timestamps.unwrap();
    let mut ack = p.seg(A).win(1000);
    ack.opts.timestamps = Some(wire::Timestamps { val: 1001, ecr: ts.val });
    inject::assert_silent(&p.feed(ack));
    let c = accept_cookie_connection(&mut p);
    assert!(p.stack.info(c).unwrap().ecn);
    // Without ECN configured, the same SYN gets a plain SYN,ACK and no ECN.
    let mut p = Peer::listen_with(Config { ecn: synack::Ecn::Off, ..cookies(SynCookies::Always) });
    let synack = cookie_syn(&mut p, Some(1000), true);
    assert_eq!(synack.flags, SA);
    let mut ack = p.seg(A).win(1000);
    ack.opts.timestamps = Some(wire::Timestamps { val: 1001, ecr: synack.opts.timestamps.unwrap().val });
    inject::assert_silent(&p.feed(ack));
    let c = accept_cookie_connection(&mut p);
    assert!(!p.stack.info(c).unwrap().ecn);
}

#[test]
fn cookie_ack_whose_tsecr_no_cookie_syn_ack_could_have_sent_is_rejected() {
    // The cookie is right, but the TSecr is from the future or older than any cookie:
    // not the echo of our SYN,ACK, so its low bits are no options of ours.
    for skew in [1_000i64, -(129 * 1000 + 64)] {
        let mut p = Peer::listen_with(cookies(SynCookies::Always));
        let ts = cookie_syn(&mut p, Some(1000), false).opts.timestamps.unwrap();
        let mut ack = p.seg(A).win(1000);
        ack.opts.timestamps = Some(wire::Timestamps { val: 1001, ecr: ts.val.wrapping_add(skew as u32) });
        let rst = only(p.feed(ack));
        assert_eq!(rst.flags, R, "{skew}");
        assert_eq!(p.stack.connection_count(), 0);
        assert_eq!(p.stack.stats().syn_cookies_rejected, 1);
        // The same ACK with the true echo, 2 minutes later, still gets in.
        p.advance(Duration::from_secs(120));
        let mut ack = p.seg(A).win(1000);
        ack.opts.timestamps = Some(wire::Timestamps { val: 1002, ecr: ts.val });
        inject::assert_silent(&p.feed(ack));
        accept_cookie_connection(&mut p);
    }
}

#[test]
fn cookie_ack_carrying_data_and_fin_is_processed_like_any_segment_in_syn_received() {
    // The connection passes through SYN-RECEIVED in the same step, whose fifth step goes
    // on to the text and FIN: the data is readable and the connection in CLOSE-WAIT.
    let mut p = Peer::listen_with(cookies(SynCookies::Always));
    let synack = only(p.feed(Seg::new(S, inject::REMOTE_ISS, 0)));
    p.seen = synack.seq.wrapping_add(1);
    p.nxt = inject::REMOTE_ISS.wrapping_add(1);
    let ack = only(p.feed(p.seg(FA | TcpFlags::PSH).data(b"GET /")));
    inject::assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(6));
    let c = p.stack.accept(p.listener.unwrap()).unwrap();
    p.conn = Some(c);
    p.assert_state(State::CloseWait);
    assert_eq!(p.read_all(), b"GET /");
    assert_eq!(p.stack.info(c).unwrap().mss, 536, "no MSS option: RFC 9293 3.7.1's default");
}

#[test]
fn forged_ack_with_a_bad_cookie_is_rejected_with_a_rst_and_no_state() {
    // RFC 9293 3.10.7.2: an ACK to a listener that is not a valid cookie is any bad ACK:
    // "<SEQ=SEG.ACK><CTL=RST>", and nothing is created.
    let mut p = Peer::listen_with(cookies(SynCookies::Always));
    let synack = only(p.feed(Seg::new(S, inject::REMOTE_ISS, 0)));
    let nxt = inject::REMOTE_ISS.wrapping_add(1);
    for forged in [synack.seq.wrapping_add(2), synack.seq, synack.seq ^ 0x8000_0000, 12345] {
        let rst = only(p.feed(Seg::new(A, nxt, forged)));
        inject::assert_seg(&rst, R, forged, 0);
    }
    // The right cookie from the wrong ISN (SEG.SEQ - 1 is covered by the MAC).
    let rst = only(p.feed(Seg::new(A, nxt.wrapping_add(1), synack.seq.wrapping_add(1))));
    assert_eq!(rst.flags, R);
    assert_eq!(p.stack.connection_count(), 0);
    assert_eq!(p.stack.accept(p.listener.unwrap()), None);
    assert_eq!(p.stack.stats().syn_cookies_rejected, 5);
    assert_eq!(p.stack.stats().syn_cookies_validated, 0);
    // The genuine ACK still works afterwards.
    inject::assert_silent(&p.feed(Seg::new(A, nxt, synack.seq.wrapping_add(1))));
    assert_eq!(p.stack.connection_count(), 1);
}

#[test]
fn a_blind_flood_of_guessed_cookie_acks_creates_nothing() {
    // 20,000 ACKs from spoofed sources with guessed acknowledgment numbers, while cookies
    // are being sent: every one is rejected (29 MAC bits to guess) and answered with a
    // RST, and not one connection appears.
    let mut n = Net::listening(cookies_server(SynCookies::Always), 128);
    n.syn(spoofed(1), 1, TcpOptions::NONE).unwrap();
    for i in 0..20_000u32 {
        let from = spoofed(i);
        n.send(from, A, i.wrapping_mul(31), i.wrapping_mul(0x0101_0101), TcpOptions::NONE, &[]);
        if i % 500 == 0 {
            n.out();
        }
    }
    n.out();
    assert_eq!(n.stack.connection_count(), 0);
    assert_eq!(n.stack.stats().syn_cookies_rejected, 20_000);
}

fn cookies_server(mode: SynCookies) -> Config {
    Config { syn_cookies: mode, ..cfg_server() }
}

#[test]
fn a_cookie_expires_after_two_periods() {
    // A cookie lives 64 to 128 s (two ticks of its 64 s counter), like Linux's two
    // minutes: older ACKs are rejected.
    for (wait, valid) in [(Duration::from_secs(63), true), (Duration::from_secs(129), false)] {
        let mut n = Net::listening(cookies_server(SynCookies::Always), 8);
        let from = spoofed(5);
        let sa = n.syn(from, 500, TcpOptions::NONE).unwrap();
        n.now += wait;
        n.send(from, A, 501, sa.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]);
        let outs = n.out();
        assert_eq!(n.stack.connection_count(), usize::from(valid), "after {wait:?}");
        assert_eq!(outs.iter().any(|o| o.hdr.flags.rst()), !valid);
    }
}

#[test]
fn when_full_keeps_state_until_the_syn_queue_fills_then_answers_with_cookies() {
    // SynCookies::WhenFull (the default): ordinary half-open connections, with window
    // scaling, until max_syn_queue; then cookies, without.
    let mut n = Net::listening(Config { max_syn_queue: 2, ..cfg_server() }, 64);
    let a = n.syn(spoofed(1), 1, opts(Some(1460), Some(7))).unwrap();
    let b = n.syn(spoofed(2), 2, opts(Some(1460), Some(7))).unwrap();
    assert!(a.options.window_scale.is_some() && b.options.window_scale.is_some());
    assert_eq!(n.stack.connection_count(), 2);
    let c = n.syn(spoofed(3), 3, opts(Some(1460), Some(7))).unwrap();
    assert_eq!(c.options.window_scale, None, "a cookie");
    assert_eq!(n.stack.connection_count(), 2, "no state for it");
    assert_eq!(n.stack.stats().syn_cookies_sent, 1);
    assert_eq!(n.stack.stats().syn_dropped, 0);
    // Its ACK completes it.
    n.send(spoofed(3), A, 4, c.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]);
    assert_eq!(n.stack.connection_count(), 3);
}

#[test]
fn when_full_does_not_look_for_cookies_when_none_was_sent() {
    // No cookie outstanding: an ACK to the listener is just a bad ACK (RST), not even
    // checked - a blind attacker has nothing to guess.
    let mut n = Net::listening(cfg_server(), 8);
    n.send(spoofed(1), A, 1, 2, TcpOptions::NONE, &[]);
    let outs = n.out();
    assert_eq!(outs.len(), 1);
    assert!(outs[0].hdr.flags.rst());
    assert_eq!(n.stack.stats().syn_cookies_rejected, 0);
}

#[test]
fn syn_cookies_off_drops_syns_when_the_syn_queue_is_full() {
    let mut n = Net::listening(Config { max_syn_queue: 2, syn_cookies: SynCookies::Off, ..cfg_server() }, 64);
    for i in 0..10 {
        let answered = n.syn(spoofed(i), i, TcpOptions::NONE).is_some();
        assert_eq!(answered, i < 2);
    }
    assert_eq!(n.stack.stats().syn_dropped, 8);
    assert_eq!(n.stack.stats().syn_cookies_sent, 0);
}

#[test]
fn a_full_accept_queue_drops_a_valid_cookie_ack_until_accept_makes_room() {
    // RFC 4987 3.6 keeps the listen queue's limits: a valid cookie whose connection
    // finds the accept queue full is dropped without an answer (the peer's retransmission
    // of its first segment retries), and SYNs are dropped while the accept queue is full.
    let mut n = Net::listening(cookies_server(SynCookies::Always), 1);
    let (x, y) = (spoofed(1), spoofed(2));
    let sx = n.syn(x, 100, TcpOptions::NONE).unwrap();
    let sy = n.syn(y, 200, TcpOptions::NONE).unwrap();
    n.send(x, A, 101, sx.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]);
    assert_eq!(n.stack.connection_count(), 1);
    // y's handshake completes at the peer, but the accept queue (backlog 1) is full.
    n.send(y, PA, 201, sy.seq.raw().wrapping_add(1), TcpOptions::NONE, b"hi");
    assert!(n.out().is_empty(), "dropped silently");
    assert_eq!(n.stack.connection_count(), 1);
    assert_eq!(n.stack.stats().listen_overflows, 1);
    // A SYN now is dropped too: the accept queue is full.
    assert!(n.syn(spoofed(3), 300, TcpOptions::NONE).is_none());
    assert_eq!(n.stack.stats().syn_dropped, 1);
    // accept makes room; y's retransmission gets in, data included.
    let first = accept_first(&mut n);
    assert!(first.is_some());
    n.send(y, PA, 201, sy.seq.raw().wrapping_add(1), TcpOptions::NONE, b"hi");
    assert_eq!(n.stack.connection_count(), 2);
    let c = accept_first(&mut n).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(n.stack.recv(c, &mut buf), Ok(2));
}

fn accept_first(n: &mut Net) -> Option<ConnId> {
    n.events().into_iter().find_map(|e| match e {
        Event::Accepted { listener, .. } => n.stack.accept(listener),
        _ => None,
    })
}

#[test]
fn max_connections_reached_answers_syns_with_cookies_and_drops_their_acks() {
    // The connection table is full: a cookie costs nothing, and its ACK cannot create a
    // connection (counted as a listen overflow) until one goes away.
    let mut n = Net::listening(Config { max_connections: 3, ..cfg_server() }, 64);
    for i in 0..3 {
        n.handshake(spoofed(i), i * 10).unwrap();
    }
    assert_eq!(n.stack.connection_count(), 3);
    let from = spoofed(9);
    let sa = n.syn(from, 90, TcpOptions::NONE).expect("a cookie");
    assert_eq!(n.stack.stats().syn_cookies_sent, 1);
    n.send(from, A, 91, sa.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]);
    assert_eq!(n.stack.connection_count(), 3);
    assert_eq!(n.stack.stats().listen_overflows, 1);
    assert_eq!(n.stack.connect(n.now, spoofed(10)), Err(Error::Usage(UsageError::ConnectionLimit)));
}

#[test]
fn cookie_over_ipv6_carries_the_ipv6_mss_table() {
    let local = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
    let peer = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 4000);
    let cfg = Config { addresses: vec![local], syn_cookies: SynCookies::Always, ..Config::default() };
    let mut stack = Stack::new(cfg);
    let l = stack.listen(SocketAddr::new(local, 80), 8).unwrap();
    let now = Instant::from_millis(5);
    let mut buf = vec![0u8; 2048];
    let to = SocketAddr::new(local, 80);
    stack.handle_packet(now, &datagram(peer, to, S, 77, 0, opts(Some(1440), None), &[]));
    let tx = stack.poll_transmit(now, &mut buf).unwrap();
    let sa = wire::parse(&buf[..tx.len]).unwrap().tcp;
    assert_eq!(sa.flags, SA);
    assert_eq!(stack.connection_count(), 0);
    stack.handle_packet(now, &datagram(peer, to, A, 78, sa.seq.raw().wrapping_add(1), TcpOptions::NONE, &[]));
    let c = stack.accept(l).expect("accepted");
    assert_eq!(stack.info(c).unwrap().mss, 1440);
}

#[test]
fn syn_reopening_time_wait_under_always_cookies_starts_above_the_old_snd_nxt() {
    // RFC 1122 4.2.2.13: a SYN may reopen a connection in TIME-WAIT only if the new ISS
    // lies above the old SND.NXT. A cookie's value cannot be chosen: one that does not
    // lie above is not sent, and the listener falls back to a half-open connection that
    // honours the rule. Over 40 4-tuples both happen.
    let mut n = Net::listening(cookies_server(SynCookies::Always), 64);
    let (mut cookies, mut fallbacks) = (0, 0);
    for i in 0..40u32 {
        let from = spoofed(i);
        let isn = i.wrapping_mul(0x0765_4321);
        let old_snd_nxt = into_time_wait(&mut n, from, isn);
        let before = n.stack.connection_count();
        let sent_before = n.stack.stats().syn_cookies_sent;
        let sa = n.syn(from, isn.wrapping_add(100_000), TcpOptions::NONE).expect("SYN,ACK");
        assert!(sa.seq.gt(SeqNum(old_snd_nxt)), "ISS {} above the old SND.NXT {old_snd_nxt}", sa.seq.raw());
        if n.stack.stats().syn_cookies_sent > sent_before {
            cookies += 1;
            assert_eq!(n.stack.connection_count(), before);
        } else {
            fallbacks += 1;
            assert_eq!(n.stack.connection_count(), before + 1);
        }
    }
    assert!(cookies > 0 && fallbacks > 0, "{cookies} cookies, {fallbacks} fallbacks");
}

// ----- limits, flooded past ------------------------------------------------------------

#[test]
fn connection_limit_holds_under_a_flood_of_completed_handshakes() {
    // max_connections bounds the table whatever completes: 200 handshakes (cookies, as
    // the SYN queue and the table fill) and an application accepting everything.
    let mut n = Net::listening(Config { max_connections: 10, ..cfg_server() }, 1000);
    let mut max = 0;
    for i in 0..200 {
        let _ = n.handshake(spoofed(i), i * 100);
        n.out();
        while accept_first(&mut n).is_some() {}
        max = max.max(n.stack.connection_count());
    }
    assert_eq!(max, 10);
    assert!(n.stack.stats().listen_overflows + n.stack.stats().syn_dropped > 0);
}

#[test]
fn syn_queue_limit_holds_under_a_syn_flood_without_cookies() {
    let mut n =
        Net::listening(Config { max_syn_queue: 8, syn_cookies: SynCookies::Off, ..cfg_server() }, 1000);
    for i in 0..10_000 {
        n.send(spoofed(i), S, i, 0, TcpOptions::NONE, &[]);
        if i % 256 == 0 {
            n.out();
        }
    }
    n.out();
    assert_eq!(n.stack.connection_count(), 8);
    assert_eq!(n.stack.stats().syn_dropped, 10_000 - 8);
    // The half-open connections give up after their SYN,ACK retransmissions (R2) and
    // the queue empties.
    for _ in 0..100 {
        let Some(t) = n.stack.poll_timeout() else { break };
        n.now = n.now.max(t);
        n.stack.handle_timeout(n.now);
        n.out();
    }
    assert_eq!(n.stack.connection_count(), 0);
    assert_eq!(n.stack.poll_timeout(), None);
}

/// Open a connection from `from`, let the application close it first, and let the peer
/// finish: the stack ends in TIME-WAIT for that 4-tuple. Returns its SND.NXT.
fn into_time_wait(n: &mut Net, from: SocketAddr, isn: u32) -> u32 {
    let iss = n.handshake(from, isn).unwrap();
    let c = accept_first(n).unwrap();
    n.stack.close(c).unwrap();
    let fin = n.out().into_iter().find(|o| o.hdr.flags.fin()).unwrap();
    let fin_end = fin.hdr.seq.raw().wrapping_add(1);
    assert_eq!(fin_end, iss.wrapping_add(2));
    n.send(from, FA, isn.wrapping_add(1), fin_end, TcpOptions::NONE, &[]);
    n.out();
    fin_end
}

#[test]
fn time_wait_limit_recycles_the_oldest_records() {
    // max_time_wait bounds the compact records; past it the oldest is recycled (and
    // counted): 30 connections through TIME-WAIT with room for 5.
    let mut n = Net::listening(Config { max_time_wait: 5, ..cfg_server() }, 64);
    for i in 0..30 {
        into_time_wait(&mut n, spoofed(i), i * 1000);
        assert!(n.stack.time_wait_count() <= 5);
    }
    assert_eq!(n.stack.time_wait_count(), 5);
    assert_eq!(n.stack.connection_count(), 0);
    assert_eq!(n.stack.stats().time_wait_recycled, 25);
    // The newest record still answers as TIME-WAIT (an old duplicate FIN is ACKed) ...
    n.send(spoofed(29), FA, 29_000 + 1, 0, TcpOptions::NONE, &[]);
    let ack = n.out();
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].hdr.flags, A);
    // ... the oldest is gone: the listener answers the same segment with a RST.
    n.send(spoofed(0), FA, 1, 0, TcpOptions::NONE, &[]);
    let rst = n.out();
    assert_eq!(rst.len(), 1);
    assert!(rst[0].hdr.flags.rst());
}

#[test]
fn out_of_order_ranges_per_connection_are_capped() {
    // max_ooo_ranges: 4 islands are held, the 5th and later are dropped (and acked). The
    // proof: filling the holes one by one advances RCV.NXT over the 4 kept islands, then
    // stops where the 5th was.
    let mut p = Peer::established_with(Config { max_ooo_ranges: 4, ..inject::inject_config() });
    let base = p.nxt;
    for k in 1..=50u32 {
        p.feed(p.seg(PA).seq(base.wrapping_add(2 * k)).data(b"x"));
    }
    // The holes: offsets 0-1, then 3, 5, 7, 9.
    let mut last = 0;
    for (off, fill) in [(0u32, &b"yy"[..]), (3, b"y"), (5, b"y"), (7, b"y"), (9, b"y")] {
        let ack = only(p.feed(p.seg(PA).seq(base.wrapping_add(off)).data(fill)));
        last = ack.ack.wrapping_sub(base);
    }
    assert_eq!(last, 10, "islands 2, 4, 6, 8 were kept, 10 was not");
    assert!(p.recv_queue() <= inject::RECV_BUFFER);
}

#[test]
fn receive_buffer_bounds_the_bytes_held_per_connection() {
    // RFC 9293 3.10.7.4, seventh: text is taken only within the window; the receive ring
    // (recv_buffer) is the window. A flood of 1,000 segments of 1,000 bytes while the
    // application does not read leaves exactly RECV_BUFFER bytes held.
    let mut p = Peer::established();
    let base = p.nxt;
    let data = vec![b'z'; 1000];
    for k in 0..1000u32 {
        p.feed(p.seg(PA).seq(base.wrapping_add(k * 1000)).data(&data));
    }
    assert_eq!(p.recv_queue(), inject::RECV_BUFFER);
    assert_eq!(p.stack.info(p.c()).unwrap().recv_window, 0);
    let last = p.log.last().unwrap();
    assert_eq!(last.ack, base.wrapping_add(inject::RECV_BUFFER));
    assert_eq!(last.win, 0);
}

#[test]
fn queued_control_segments_are_bounded_when_the_driver_does_not_poll() {
    // 10,000 segments to closed ports each want a RST; without poll_transmit in between
    // at most 1,024 wait, the rest are dropped and counted.
    let mut n = Net::new(cfg_server());
    for i in 0..10_000 {
        n.send(spoofed(i), A, i, i, TcpOptions::NONE, &[]);
    }
    let outs = n.out();
    assert_eq!(outs.len(), 1024);
    assert_eq!(n.stack.stats().control_dropped, 10_000 - 1024);
}

#[test]
fn send_buffer_bounds_what_the_application_can_queue() {
    let mut p = Peer::established();
    let big = vec![0u8; 1 << 20];
    let n = p.stack.send(p.c(), &big).unwrap();
    assert_eq!(n as u32, Config::default().send_buffer);
    assert_eq!(p.stack.send(p.c(), &big), Err(Error::WouldBlock));
}

// ----- TIME-WAIT under floods -----------------------------------------------------------

#[test]
fn rst_flood_never_ends_time_wait_and_gets_no_answer_rfc1337() {
    // RFC 1337 F1: "Ignore RST segments in TIME-WAIT state", however many: RSTs at
    // RCV.NXT, in the window and outside it.
    let mut p = Peer::time_wait();
    let outs = burst(&mut p, 3_000, |p, i| {
        p.seg(if i % 2 == 0 { R } else { inject::RA }).seq(p.nxt.wrapping_add(i % 3 * 1000))
    });
    inject::assert_silent(&outs);
    p.assert_state(State::TimeWait);
    assert_eq!(p.stack.time_wait_count(), 1);
}

#[test]
fn time_wait_challenge_acks_are_within_the_budget() {
    // RFC 1337 off: RFC 5961 3.2 applies in TIME-WAIT too (challenge ACK for a RST in the
    // window), as does 4.2 for SYNs that do not reopen - within the same budget.
    let cfg = Config { rfc1337: false, challenge_ack_limit: 30, ..inject::inject_config() };
    let mut p = Peer::time_wait_with(cfg);
    let outs = burst(&mut p, 2_000, |p, i| {
        if i % 2 == 0 {
            p.seg(R).seq(p.nxt.wrapping_add(1 + i % 100))
        } else {
            // A SYN at RCV.NXT does not reopen (it is not beyond it): challenge ACK.
            Seg::new(S, p.nxt, 0)
        }
    });
    assert!((15..=30).contains(&outs.len()), "{} ACKs", outs.len());
    assert!(outs.iter().all(|o| o.flags == A));
    p.assert_state(State::TimeWait);
}

#[test]
fn syn_flood_on_a_time_wait_tuple_reopens_it_once() {
    // RFC 6191 / RFC 9293 3.10.7.4: the first SYN beyond RCV.NXT reopens the 4-tuple;
    // the rest of the flood meets the new SYN-RECEIVED connection (a repeated SYN gets
    // its SYN,ACK again, others take it back to LISTEN) - one connection at most.
    let mut p = Peer::time_wait();
    let first = p.nxt.wrapping_add(10_000);
    for i in 0..1000u32 {
        p.feed(Seg::new(S, first.wrapping_add(i % 2), 0));
        assert!(p.stack.connection_count() <= 2, "the handle of the old incarnation and one new");
    }
    assert_eq!(p.stack.time_wait_count(), 0);
}

#[test]
fn syn_that_would_reopen_time_wait_but_finds_the_syn_queue_full_leaves_time_wait_in_place() {
    // A SYN beyond RCV.NXT may reopen the 4-tuple (RFC 6191), but only if the listener
    // answers it: dropped for lack of room, it must not have ended TIME-WAIT (which would
    // leave the 4-tuple unprotected from the old incarnation's duplicates).
    let cfg = Config { max_syn_queue: 2, syn_cookies: SynCookies::Off, ..inject::inject_config() };
    let mut p = Peer::time_wait_with(cfg);
    // Two other peers fill the SYN queue.
    for port in [50_001, 50_002] {
        let from = SocketAddr::new(inject::REMOTE_IP, port);
        p.stack.handle_packet(p.now, &datagram(from, inject::local(), S, 9, 0, TcpOptions::NONE, &[]));
    }
    let mut buf = vec![0u8; 2048];
    assert_eq!(std::iter::from_fn(|| p.stack.poll_transmit(p.now, &mut buf)).count(), 2, "their SYN,ACKs");
    p.feed_silent(Seg::new(S, p.nxt.wrapping_add(10_000), 0));
    assert_eq!(p.stack.stats().syn_dropped, 1);
    p.assert_state(State::TimeWait);
    assert_eq!(p.stack.time_wait_count(), 1);
    // Still TIME-WAIT: a retransmitted FIN is acknowledged.
    p.feed_gets_ack(p.seg(FA).seq(p.nxt.wrapping_sub(1)));
}

#[test]
fn transfer_through_the_pair_harness_survives_a_blind_rst_and_syn_flood() {
    // A blind attacker who knows the 4-tuple but not the sequence numbers sprays RSTs and
    // SYNs across the sequence space (RFC 5961 1: the attack this RFC is about) while a
    // transfer runs: it neither resets the connection nor corrupts the data.
    let mut p = Pair::new();
    let l = p.b.listen(common::server_addr(), 8).unwrap();
    let c = p.a.connect(p.now, common::server_addr()).unwrap();
    p.drive_until(100, |p| p.b.accept_queue_len(l) == 1 && p.a.state(c) == State::Established);
    let s = p.b.accept(l).unwrap();
    let client = p.a.tuple(c).unwrap().local;
    let data = pattern(200_000, 9);
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    let mut guess = 0u32;
    let mut steps = 0;
    while got.len() < data.len() {
        sent += p.a.send(c, &data[sent..]).unwrap_or(0);
        for _ in 0..20 {
            guess = guess.wrapping_add(0x0100_0193);
            let flags = if guess % 3 == 0 { S } else { R };
            let d = datagram(client, common::server_addr(), flags, guess, 0, TcpOptions::NONE, &[]);
            p.b.handle_packet(p.now, &d);
        }
        p.step();
        steps += 1;
        while let Ok(n @ 1..) = p.b.recv(s, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        assert!(steps < 50_000, "stalled");
        assert_eq!(p.b.state(s), State::Established);
    }
    assert_eq!(got, data);
    let st = p.b.stats();
    assert!(st.challenge_acks <= 1000 * (p.now.as_millis() / 1000 + 1));
}
