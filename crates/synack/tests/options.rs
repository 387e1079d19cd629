//! TCP options: the layouts on the wire (Linux's and FreeBSD's), the negotiation of
//! SACK-permitted (RFC 2018), timestamps (RFC 7323 3) and window scale (RFC 7323 2) on
//! the SYNs, timestamps on every segment with TS.Recent (RFC 7323 4.3), PAWS (RFC 7323
//! 5), RTT samples from echoed timestamps, SACK blocks for out-of-order data (RFC 2018
//! 4), the MSS of small links (RFC 9293 3.7.1) and the window after the peer's FIN
//! (RFC 9293 3.8.6.2.2).
//!
//! A scripted peer at 192.0.2.1:40000 talks to the stack under test at 192.0.2.2:80;
//! every datagram is built with `wire::emit` and every answer parsed with `wire::parse`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::wire::{self, OptionLayout, SackBlock, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use synack::{Config, ConnId, Duration, Instant, ListenerId, SeqNum, Stack};

const PEER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const LOCAL_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const PEER_PORT: u16 = 40000;
const LOCAL_PORT: u16 = 80;
const PEER_ISS: u32 = 1_000_000;

const S: TcpFlags = TcpFlags::SYN;
const A: TcpFlags = TcpFlags::ACK;
const SA: TcpFlags = TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0);
const FA: TcpFlags = TcpFlags(TcpFlags::FIN.0 | TcpFlags::ACK.0);
const PA: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);
const R: TcpFlags = TcpFlags::RST;

fn cfg() -> Config {
    Config { addresses: vec![LOCAL_IP], delayed_ack: None, ..Config::default() }
}

fn ts(val: u32, ecr: u32) -> Option<Timestamps> {
    Some(Timestamps { val, ecr })
}

/// One segment the stack sent, parsed.
#[derive(Clone, Debug)]
struct Out {
    hdr: TcpHeader,
    payload: Vec<u8>,
    raw_options: Vec<u8>,
}

impl Out {
    fn ts(&self) -> Timestamps {
        self.hdr.options.timestamps.expect("the segment carries timestamps")
    }
    fn sacks(&self) -> Vec<(u32, u32)> {
        self.hdr.options.sack_blocks().iter().map(|b| (b.left.0, b.right.0)).collect()
    }
}

/// The stack under test, driven by hand, with the scripted peer's bookkeeping.
struct Peer {
    stack: Stack,
    now: Instant,
    listener: Option<ListenerId>,
    /// The stack's ISS, learned from its SYN or SYN,ACK.
    iss: u32,
}

impl Peer {
    fn new(c: Config) -> Self {
        Peer { stack: Stack::new(c), now: Instant::ZERO, listener: None, iss: 0 }
    }

    fn listening(c: Config) -> Self {
        let mut p = Self::new(c);
        p.listener = Some(p.stack.listen(SocketAddr::new(LOCAL_IP, LOCAL_PORT), 8).unwrap());
        p
    }

    fn send(&mut self, flags: TcpFlags, seq: u32, ack: u32, options: TcpOptions, payload: &[u8]) -> Vec<Out> {
        let hdr = TcpHeader {
            src_port: PEER_PORT,
            dst_port: LOCAL_PORT,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags,
            window: 65535,
            urgent: 0,
            options,
        };
        let mut buf = vec![0u8; 70_000];
        let n = wire::emit(&mut buf, PEER_IP, LOCAL_IP, 64, &hdr, &[payload]).unwrap();
        self.stack.handle_packet(self.now, &buf[..n]);
        self.flush()
    }

    fn flush(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 70_000];
        while let Some(tx) = self.stack.poll_transmit(self.now, &mut buf) {
            let bytes = &buf[..tx.len];
            let p = wire::parse(bytes).unwrap();
            let ihl = usize::from(bytes[0] & 0x0f) * 4;
            let doff = usize::from(bytes[ihl + 12] >> 4) * 4;
            out.push(Out {
                hdr: p.tcp,
                payload: p.payload.to_vec(),
                raw_options: bytes[ihl + 20..ihl + doff].to_vec(),
            });
        }
        out
    }

    fn advance(&mut self, d: Duration) -> Vec<Out> {
        self.now += d;
        self.stack.handle_timeout(self.now);
        self.flush()
    }

    /// Passive open: the peer's SYN with `syn_opts`; returns the SYN,ACK.
    fn syn(&mut self, syn_opts: TcpOptions) -> Out {
        let outs = self.send(S, PEER_ISS, 0, syn_opts, b"");
        assert_eq!(outs.len(), 1, "{outs:?}");
        let synack = outs[0].clone();
        assert_eq!(synack.hdr.flags, SA);
        self.iss = synack.hdr.seq.0;
        synack
    }

    /// Passive open completed with `ack_opts` on the third segment; accepts.
    fn establish(&mut self, syn_opts: TcpOptions, ack_opts: TcpOptions) -> Out {
        let synack = self.syn(syn_opts);
        let outs = self.send(A, PEER_ISS + 1, self.iss + 1, ack_opts, b"");
        assert!(outs.is_empty(), "{outs:?}");
        synack
    }

    fn accept(&mut self) -> ConnId {
        self.stack.accept(self.listener.expect("listening")).expect("an established connection")
    }
}

fn syn_opts_full(val: u32) -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: ts(val, 0),
        ..TcpOptions::NONE
    }
}

// ----- layouts ------------------------------------------------------------------------

fn emit_options(o: TcpOptions) -> Vec<u8> {
    let hdr = TcpHeader {
        src_port: 1,
        dst_port: 2,
        seq: SeqNum(0),
        ack: SeqNum(0),
        flags: S,
        window: 0,
        urgent: 0,
        options: o,
    };
    let mut buf = [0u8; 128];
    let n = wire::emit(&mut buf, PEER_IP, LOCAL_IP, 64, &hdr, &[]).unwrap();
    let doff = usize::from(buf[20 + 12] >> 4) * 4;
    assert_eq!(n, 20 + doff);
    buf[40..20 + doff].to_vec()
}

fn bsd(o: TcpOptions) -> TcpOptions {
    TcpOptions { layout: OptionLayout::Bsd, ..o }
}

#[test]
fn bsd_layout_of_a_freebsd_syn() {
    // FreeBSD: <mss 1460,nop,wscale 6,sackOK,TS val 1 ecr 0>, 20 bytes, no padding.
    let o = bsd(TcpOptions {
        mss: Some(1460),
        window_scale: Some(6),
        sack_permitted: true,
        timestamps: ts(1, 0),
        ..TcpOptions::NONE
    });
    assert_eq!(emit_options(o), [2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(o.to_tcpdump_strings(), ["mss 1460", "nop", "wscale 6", "sackOK", "TS val 1 ecr 0"]);
}

#[test]
fn bsd_layout_pads_with_eol() {
    // The SYN,ACK to <mss 1460,sackOK,eol,eol>: <mss 1460,sackOK,eol,eol>.
    let o = bsd(TcpOptions { mss: Some(1460), sack_permitted: true, ..TcpOptions::NONE });
    assert_eq!(emit_options(o), [2, 4, 5, 180, 4, 2, 0, 0]);
    assert_eq!(o.to_tcpdump_strings(), ["mss 1460", "sackOK", "eol", "eol"]);
    // MSS and window scale only: <mss,nop,wscale>, 8 bytes, nothing to pad.
    let o = bsd(TcpOptions { mss: Some(1100), window_scale: Some(6), ..TcpOptions::NONE });
    assert_eq!(emit_options(o), [2, 4, 4, 76, 1, 3, 3, 6]);
    // Window scale alone: nop,wscale - then one EOL.
    let o = bsd(TcpOptions { window_scale: Some(3), ..TcpOptions::NONE });
    assert_eq!(emit_options(o), [1, 3, 3, 3]);
    let o = bsd(TcpOptions { sack_permitted: true, ..TcpOptions::NONE });
    assert_eq!(emit_options(o), [4, 2, 0, 0]);
}

#[test]
fn bsd_layout_aligns_timestamps_and_sack_at_two_mod_four() {
    // Without SACK-permitted: <mss,nop,wscale,nop,nop,TS>.
    let o =
        bsd(TcpOptions { mss: Some(1460), window_scale: Some(6), timestamps: ts(7, 9), ..TcpOptions::NONE });
    assert_eq!(o.to_tcpdump_strings(), ["mss 1460", "nop", "wscale 6", "nop", "nop", "TS val 7 ecr 9"]);
    assert_eq!(emit_options(o).len(), 20);
    // A data segment: <nop,nop,TS>.
    let o = bsd(TcpOptions { timestamps: ts(7, 9), ..TcpOptions::NONE });
    assert_eq!(emit_options(o), [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
    // SACK alone: <nop,nop,sack ...> with up to 4 blocks (2 + 2 + 32 = 36 bytes).
    let mut o = bsd(TcpOptions::NONE);
    for (i, b) in o.sack.iter_mut().enumerate() {
        *b = SackBlock { left: SeqNum(100 * i as u32 + 10), right: SeqNum(100 * i as u32 + 20) };
    }
    o.sack_len = 4;
    let bytes = emit_options(o);
    assert_eq!(bytes.len(), 36);
    assert_eq!(&bytes[..4], [1, 1, 5, 34]);
    // With timestamps: <nop,nop,TS,nop,nop,sack> and room for 3 blocks only (40 bytes).
    let o = TcpOptions { timestamps: ts(1, 2), ..o };
    let strings = o.to_tcpdump_strings();
    assert_eq!(strings[..5], ["nop", "nop", "TS val 1 ecr 2", "nop", "nop"]);
    assert_eq!(strings[5..], ["sack 10:20", "sack 110:120", "sack 210:220"]);
    assert_eq!(emit_options(o).len(), 40);
}

#[test]
fn bsd_layout_parses_back_to_the_same_options() {
    let mut o = bsd(TcpOptions {
        mss: Some(1460),
        window_scale: Some(14),
        sack_permitted: true,
        timestamps: ts(0xdead_beef, 0x0102_0304),
        ..TcpOptions::NONE
    });
    o.sack[0] = SackBlock { left: SeqNum(5), right: SeqNum(9) };
    o.sack_len = 1;
    let hdr = TcpHeader {
        src_port: 1,
        dst_port: 2,
        seq: SeqNum(3),
        ack: SeqNum(4),
        flags: A,
        window: 9,
        urgent: 0,
        options: o,
    };
    let mut buf = [0u8; 128];
    let n = wire::emit(&mut buf, PEER_IP, LOCAL_IP, 64, &hdr, &[b"x"]).unwrap();
    assert_eq!(n, wire::emit_len(PEER_IP, &hdr, 1));
    let p = wire::parse(&buf[..n]).unwrap();
    // Parsing does not know the layout: it reads back as the default.
    assert_eq!(p.tcp.options, TcpOptions { layout: OptionLayout::Linux, ..o });
    assert_eq!(p.payload, b"x");
}

#[test]
fn linux_layout_is_the_default_and_unchanged() {
    let o = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: ts(1, 0),
        ..TcpOptions::NONE
    };
    assert_eq!(o.layout, OptionLayout::Linux);
    assert_eq!(emit_options(o), [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
    assert_eq!(o.to_tcpdump_strings(), ["mss 1460", "sackOK", "TS val 1 ecr 0", "nop", "wscale 7"]);
}

// ----- negotiation ----------------------------------------------------------------------

#[test]
fn our_syn_offers_sack_timestamps_and_window_scale_in_the_configured_layout() {
    for (layout, raw) in [
        (OptionLayout::Linux, vec![2, 4, 5, 180, 4, 2, 8, 10]),
        (OptionLayout::Bsd, vec![2, 4, 5, 180, 1, 3, 3, 6, 4, 2, 8, 10]),
    ] {
        let mut p = Peer::new(Config { option_layout: layout, window_shift: Some(6), ..cfg() });
        p.stack
            .connect_from(p.now, SocketAddr::new(LOCAL_IP, LOCAL_PORT), SocketAddr::new(PEER_IP, PEER_PORT))
            .unwrap();
        let outs = p.flush();
        assert_eq!(outs.len(), 1);
        let syn = &outs[0];
        assert_eq!(syn.hdr.flags, S);
        let o = syn.hdr.options;
        assert_eq!((o.mss, o.window_scale, o.sack_permitted), (Some(1460), Some(6), true));
        // RFC 7323 3.2: no ACK bit, so TSecr is zero.
        assert_eq!(syn.ts().ecr, 0);
        assert_eq!(syn.raw_options[..raw.len()], raw[..], "{layout:?}");
    }
}

#[test]
fn options_the_configuration_turns_off_are_not_offered() {
    let c = Config { sack: false, timestamps: false, window_scaling: false, ..cfg() };
    let mut p = Peer::new(c);
    p.stack
        .connect_from(p.now, SocketAddr::new(LOCAL_IP, LOCAL_PORT), SocketAddr::new(PEER_IP, PEER_PORT))
        .unwrap();
    let syn = p.flush().remove(0);
    assert_eq!(syn.hdr.options, TcpOptions { mss: Some(1460), ..TcpOptions::NONE });
    // Nor answered when the peer offers them.
    let c = Config { sack: false, timestamps: false, ..cfg() };
    let mut p = Peer::listening(c);
    let synack = p.syn(syn_opts_full(5));
    assert!(!synack.hdr.options.sack_permitted);
    assert_eq!(synack.hdr.options.timestamps, None);
    assert!(synack.hdr.options.window_scale.is_some());
}

#[test]
fn with_every_option_off_syns_carry_none_and_none_is_negotiated() {
    // FreeBSD's TCP_NOOPT: no MSS option either (RFC 9293 3.7.1 makes it a SHOULD,
    // SHLD-5; off, the peer assumes 536).
    let none = Config { mss_option: false, sack: false, timestamps: false, window_scaling: false, ..cfg() };
    let mut p = Peer::new(none.clone());
    p.stack
        .connect_from(p.now, SocketAddr::new(LOCAL_IP, LOCAL_PORT), SocketAddr::new(PEER_IP, PEER_PORT))
        .unwrap();
    let syn = p.flush().remove(0);
    assert_eq!((syn.hdr.options, syn.raw_options.len()), (TcpOptions::NONE, 0));
    // A SYN offering everything: a SYN,ACK without options, and a connection that
    // uses none of them (its peer's MSS still bounds what it sends).
    let mut p = Peer::listening(none);
    let synack = p.establish(syn_opts_full(5), TcpOptions { timestamps: ts(6, 0), ..TcpOptions::NONE });
    assert_eq!((synack.hdr.options, synack.raw_options.len()), (TcpOptions::NONE, 0));
    let c = p.accept();
    let info = p.stack.info(c).unwrap();
    assert_eq!((info.window_scale, info.sack, info.timestamps, info.mss), (None, false, false, 1460));
}

#[test]
fn connection_info_reports_the_options_the_syns_agreed() {
    // Everything offered both ways: window scale (the peer's shift 7 applied to its
    // windows, ours 6 to our own), SACK and timestamps.
    let mut p = Peer::listening(Config { window_shift: Some(6), ..cfg() });
    p.establish(syn_opts_full(5), TcpOptions { timestamps: ts(6, 0), ..TcpOptions::NONE });
    let c = p.accept();
    let info = p.stack.info(c).unwrap();
    assert_eq!((info.window_scale, info.sack, info.timestamps), (Some((7, 6)), true, true));
    // Only the MSS offered: nothing else in use.
    let mut p = Peer::listening(cfg());
    p.establish(TcpOptions { mss: Some(1000), ..TcpOptions::NONE }, TcpOptions::NONE);
    let c = p.accept();
    let info = p.stack.info(c).unwrap();
    assert_eq!((info.window_scale, info.sack, info.timestamps, info.mss), (None, false, false, 1000));
}

#[test]
fn the_syn_ack_answers_exactly_what_the_peer_offered() {
    // Nothing offered: only the MSS (and no window scale, RFC 7323 2.2).
    let mut p = Peer::listening(cfg());
    let synack = p.syn(TcpOptions { mss: Some(1460), ..TcpOptions::NONE });
    assert_eq!(synack.hdr.options, TcpOptions { mss: Some(1460), ..TcpOptions::NONE });
    // SACK-permitted only (RFC 2018 2).
    let mut p = Peer::listening(cfg());
    let synack = p.syn(TcpOptions { mss: Some(1460), sack_permitted: true, ..TcpOptions::NONE });
    assert!(synack.hdr.options.sack_permitted);
    assert_eq!(synack.hdr.options.timestamps, None);
    // Timestamps only: answered, TSecr echoing the SYN's TSval (RFC 7323 3.2, 4.3).
    let mut p = Peer::listening(cfg());
    let synack = p.syn(TcpOptions { mss: Some(1460), timestamps: ts(777, 0), ..TcpOptions::NONE });
    assert!(!synack.hdr.options.sack_permitted);
    assert_eq!(synack.ts().ecr, 777);
}

#[test]
fn the_window_shift_is_configurable_and_capped_at_14() {
    for (shift, want) in [(Some(0), 0), (Some(1), 1), (Some(14), 14), (Some(20), 14), (None, 1)] {
        // 65536 bytes of buffer: the derived shift is 1.
        let mut p = Peer::listening(Config { window_shift: shift, recv_buffer: 65536, ..cfg() });
        let synack = p.syn(syn_opts_full(1));
        assert_eq!(synack.hdr.options.window_scale, Some(want), "{shift:?}");
    }
}

#[test]
fn the_announced_mss_is_the_mtu_minus_40_without_a_floor() {
    // RFC 9293 3.7.1; FreeBSD announces 32 on a link with an MTU of 72.
    let c = Config { mtu: 72, ..cfg() };
    assert_eq!(c.announced_mss(false), 32);
    assert_eq!(c.announced_mss(true), 12);
    let mut p = Peer::listening(c);
    assert_eq!(p.syn(syn_opts_full(1)).hdr.options.mss, Some(32));
}

// ----- timestamps -----------------------------------------------------------------------

#[test]
fn timestamps_go_on_every_segment_and_echo_ts_recent() {
    let mut p = Peer::listening(cfg());
    let synack = p.establish(syn_opts_full(100), TcpOptions { timestamps: ts(101, 0), ..TcpOptions::NONE });
    let c = p.accept();
    assert_eq!(synack.ts().ecr, 100);
    let tsval0 = synack.ts().val;
    // Data at RCV.NXT: TS.Recent becomes its TSval, echoed in the ACK.
    p.now += Duration::from_millis(30);
    let outs = p.send(
        PA,
        PEER_ISS + 1,
        p.iss + 1,
        TcpOptions { timestamps: ts(150, tsval0), ..TcpOptions::NONE },
        b"hello",
    );
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].ts().ecr, 150);
    // Our clock ticks in milliseconds of the `now` passed in.
    assert_eq!(outs[0].ts().val.wrapping_sub(tsval0), 30);
    // Data we send carries them too; RSTs do not.
    p.stack.send(c, b"world").unwrap();
    let outs = p.flush();
    assert_eq!(outs[0].payload, b"world");
    assert_eq!(outs[0].ts().ecr, 150);
    p.stack.abort(c).unwrap();
    let rst = p.flush().remove(0);
    assert!(rst.hdr.flags.rst());
    assert_eq!(rst.hdr.options.timestamps, None);
}

#[test]
fn the_clock_offset_differs_between_connections() {
    let mut vals = Vec::new();
    for port in [1000u16, 1001] {
        let mut p = Peer::new(cfg());
        p.stack
            .connect_from(p.now, SocketAddr::new(LOCAL_IP, port), SocketAddr::new(PEER_IP, PEER_PORT))
            .unwrap();
        vals.push(p.flush()[0].ts().val);
    }
    assert_ne!(vals[0], vals[1], "TSvals at the same instant come from per-connection offsets");
}

#[test]
fn ts_recent_is_only_taken_from_segments_at_or_before_last_ack_sent() {
    // RFC 7323 4.3 (2): an out-of-order segment (SEG.SEQ > Last.ACK.sent) does not move
    // TS.Recent, even with a newer TSval: the ACK it draws echoes the older value.
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(100), TcpOptions { timestamps: ts(101, 0), ..TcpOptions::NONE });
    p.accept();
    let o = |v| TcpOptions { timestamps: ts(v, 0), ..TcpOptions::NONE };
    let outs = p.send(PA, PEER_ISS + 11, p.iss + 1, o(200), b"later");
    assert_eq!(outs.len(), 1, "a duplicate ACK for the gap");
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 1);
    assert_eq!(outs[0].ts().ecr, 101);
    // The segment that fills the gap (SEG.SEQ = Last.ACK.sent) does.
    let outs = p.send(PA, PEER_ISS + 1, p.iss + 1, o(300), b"0123456789");
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 16);
    assert_eq!(outs[0].ts().ecr, 300);
}

#[test]
fn paws_drops_an_old_timestamp_and_answers_with_an_ack() {
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1000), TcpOptions { timestamps: ts(1001, 0), ..TcpOptions::NONE });
    let c = p.accept();
    // RFC 7323 5.3 R1: SEG.TSval < TS.Recent - not acceptable, ACK and drop.
    let outs = p.send(
        PA,
        PEER_ISS + 1,
        p.iss + 1,
        TcpOptions { timestamps: ts(999, 0), ..TcpOptions::NONE },
        b"old",
    );
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 1, "the data was not taken");
    assert_eq!(outs[0].ts().ecr, 1001);
    assert_eq!(p.stack.stats().paws_rejected, 1);
    assert_eq!(p.stack.info(c).unwrap().recv_queue, 0);
    // Timestamps compare modulo 2^32: a TSval that wrapped past zero is newer.
    let mut p = Peer::listening(cfg());
    p.establish(
        syn_opts_full(u32::MAX - 5),
        TcpOptions { timestamps: ts(u32::MAX - 4, 0), ..TcpOptions::NONE },
    );
    let c = p.accept();
    let outs =
        p.send(PA, PEER_ISS + 1, p.iss + 1, TcpOptions { timestamps: ts(3, 0), ..TcpOptions::NONE }, b"new");
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 4);
    assert_eq!(outs[0].ts().ecr, 3);
    assert_eq!(p.stack.info(c).unwrap().recv_queue, 3);
}

/// A late original whose retransmission arrived first carries an older TSval than the
/// retransmission that moved TS.Recent: PAWS drops it (RFC 7323 5.3 R1), and the ACK
/// it draws still reports it as a duplicate (RFC 2883 4, D-SACK) - the sender learns
/// its retransmission was not needed, which is what it undoes a recovery by (RFC
/// 3708). Only the part below RCV.NXT is reported: data above it never arrived.
#[test]
fn a_duplicate_paws_drops_is_still_reported_in_a_dsack_block() {
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1000), TcpOptions { timestamps: ts(1001, 0), ..TcpOptions::NONE });
    p.accept();
    let b = PEER_ISS + 1;
    let o = |v| TcpOptions { timestamps: ts(v, 0), ..TcpOptions::NONE };
    // The retransmission of [0, 100), TSval 1500, arrives first.
    p.send(PA, b, p.iss + 1, o(1500), &[7u8; 100]);
    // The original, TSval 1200: PAWS drops it, and the ACK reports it.
    let outs = p.send(PA, b, p.iss + 1, o(1200), &[7u8; 100]);
    assert_eq!(p.stack.stats().paws_rejected, 1);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.ack.0, b + 100);
    assert_eq!(outs[0].sacks(), [(b, b + 100)], "D-SACK of the duplicate");
    // A segment PAWS drops that straddles RCV.NXT: only its old part is reported.
    let outs = p.send(PA, b + 50, p.iss + 1, o(1200), &[7u8; 100]);
    assert_eq!(outs[0].sacks(), [(b + 50, b + 100)]);
    // One wholly above RCV.NXT is new data, dropped unreported.
    let outs = p.send(PA, b + 100, p.iss + 1, o(1200), &[7u8; 100]);
    assert_eq!(outs[0].hdr.ack.0, b + 100, "dropped");
    assert!(outs[0].sacks().is_empty(), "{:?}", outs[0].sacks());
}

#[test]
fn paws_lets_an_old_timestamp_through_after_24_days_idle() {
    // RFC 7323 5.5: TS.Recent older than 24 days is no longer valid.
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1000), TcpOptions { timestamps: ts(1001, 0), ..TcpOptions::NONE });
    let c = p.accept();
    p.now += Duration::from_secs(25 * 24 * 3600);
    let outs =
        p.send(PA, PEER_ISS + 1, p.iss + 1, TcpOptions { timestamps: ts(5, 0), ..TcpOptions::NONE }, b"x");
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 2);
    assert_eq!(outs[0].ts().ecr, 5, "the expired TS.Recent is replaced");
    assert_eq!(p.stack.info(c).unwrap().recv_queue, 1);
}

#[test]
fn segments_without_timestamps_are_dropped_once_negotiated_but_rsts_are_not() {
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1000), TcpOptions { timestamps: ts(1001, 0), ..TcpOptions::NONE });
    let c = p.accept();
    // RFC 7323 3.2: "a TCP SHOULD silently drop the segment".
    let outs = p.send(PA, PEER_ISS + 1, p.iss + 1, TcpOptions::NONE, b"bare");
    assert!(outs.is_empty(), "{outs:?}");
    assert_eq!(p.stack.stats().missing_timestamps, 1);
    assert_eq!(p.stack.info(c).unwrap().recv_queue, 0);
    // "A TCP MUST NOT abort a TCP connection because any segment lacks an expected
    // TSopt" - and a RST needs none.
    assert_eq!(p.stack.state(c), synack::State::Established);
    p.send(R, PEER_ISS + 1, 0, TcpOptions::NONE, b"");
    assert_eq!(p.stack.state(c), synack::State::Closed);
}

#[test]
fn timestamps_make_the_mss_12_bytes_smaller() {
    // RFC 9293 3.7.1: options sent in every segment come off the data.
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1), TcpOptions { timestamps: ts(2, 0), ..TcpOptions::NONE });
    let c = p.accept();
    assert_eq!(p.stack.info(c).unwrap().mss, 1460 - 12);
    p.stack.send(c, &[7u8; 3000]).unwrap();
    let outs = p.flush();
    assert_eq!(outs[0].payload.len(), 1448);
    let mut p = Peer::listening(cfg());
    p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    let c = p.accept();
    assert_eq!(p.stack.info(c).unwrap().mss, 1460);
}

#[test]
fn an_echoed_timestamp_gives_an_rtt_sample_even_for_a_retransmission() {
    // RFC 7323 4.1: with timestamps the ACK of a retransmission is timed by the TSval it
    // echoes (Karn's ambiguity is gone).
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(1), TcpOptions { timestamps: ts(2, 0), ..TcpOptions::NONE });
    let c = p.accept();
    p.stack.send(c, b"ping").unwrap();
    let first = p.flush().remove(0);
    let before = p.stack.info(c).unwrap();
    // Lost: the retransmission timer resends it.
    let rto = before.rto;
    let retx = p.advance(rto);
    assert_eq!(retx.len(), 1);
    assert_eq!(retx[0].payload, b"ping");
    // Acknowledged 50 ms later, echoing the retransmission's TSval.
    p.now += Duration::from_millis(50);
    let echo = retx[0].ts().val;
    p.send(A, PEER_ISS + 1, p.iss + 5, TcpOptions { timestamps: ts(3, echo), ..TcpOptions::NONE }, b"");
    let after = p.stack.info(c).unwrap();
    assert_ne!(first.ts().val, echo);
    assert_eq!(after.bytes_in_flight, 0);
    assert!(after.srtt.is_some());
    assert_ne!((after.srtt, after.rttvar), (before.srtt, before.rttvar), "a sample was taken");
    // The sample is the 50 ms since the retransmission, not the time since the original.
    let srtt = after.srtt.unwrap();
    assert!(srtt < rto, "{srtt:?} measured from the retransmission, below {rto:?}");
}

#[test]
fn time_wait_acks_carry_timestamps() {
    let mut p = Peer::listening(cfg());
    p.establish(syn_opts_full(10), TcpOptions { timestamps: ts(11, 0), ..TcpOptions::NONE });
    let c = p.accept();
    p.stack.close(c).unwrap();
    let fin = p.flush().remove(0);
    assert!(fin.hdr.flags.fin());
    let o = |v| TcpOptions { timestamps: ts(v, fin.ts().val), ..TcpOptions::NONE };
    let outs = p.send(FA, PEER_ISS + 1, p.iss + 2, o(20), b"");
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.flags, A);
    assert_eq!(outs[0].ts().ecr, 20);
    assert_eq!(p.stack.time_wait_count(), 1);
    // The peer's FIN again, from TIME-WAIT's compact record.
    p.now += Duration::from_millis(100);
    let outs = p.send(FA, PEER_ISS + 1, p.iss + 2, o(30), b"");
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.flags, A);
    assert!(outs[0].hdr.options.timestamps.is_some(), "RFC 7323 3.2: on every non-RST segment");
}

// ----- SACK -------------------------------------------------------------------------------

fn sack_ok() -> TcpOptions {
    TcpOptions { mss: Some(1460), sack_permitted: true, ..TcpOptions::NONE }
}

#[test]
fn out_of_order_data_is_reported_most_recent_block_first() {
    let mut p = Peer::listening(cfg());
    p.establish(sack_ok(), TcpOptions::NONE);
    p.accept();
    let b = PEER_ISS + 1;
    let seg = |p: &mut Peer, off: u32, len: usize| {
        p.send(PA, b + off, p.iss + 1, TcpOptions::NONE, &vec![1u8; len])
    };
    let outs = seg(&mut p, 200, 100);
    assert_eq!(outs[0].hdr.ack.0, b);
    assert_eq!(outs[0].sacks(), [(b + 200, b + 300)]);
    let outs = seg(&mut p, 400, 100);
    assert_eq!(outs[0].sacks(), [(b + 400, b + 500), (b + 200, b + 300)]);
    let outs = seg(&mut p, 600, 100);
    assert_eq!(outs[0].sacks(), [(b + 600, b + 700), (b + 400, b + 500), (b + 200, b + 300)]);
    // RFC 2018 4: the first block holds the segment that triggered the ACK, merged with
    // its neighbours; blocks it covers are not repeated.
    let outs = seg(&mut p, 300, 100);
    assert_eq!(outs[0].sacks(), [(b + 200, b + 500), (b + 600, b + 700)]);
    // Up to 4 blocks without timestamps.
    seg(&mut p, 800, 10);
    let outs = seg(&mut p, 900, 10);
    assert_eq!(
        outs[0].sacks(),
        [(b + 900, b + 910), (b + 800, b + 810), (b + 200, b + 500), (b + 600, b + 700)]
    );
    // Filling the first gap: RCV.NXT moves over [200, 500), which is no longer reported.
    let outs = seg(&mut p, 0, 200);
    assert_eq!(outs[0].hdr.ack.0, b + 500);
    assert_eq!(outs[0].sacks(), [(b + 900, b + 910), (b + 800, b + 810), (b + 600, b + 700)]);
    // All gaps filled: no SACK option at all.
    let outs = seg(&mut p, 500, 410);
    assert_eq!(outs[0].hdr.ack.0, b + 910);
    assert!(outs[0].sacks().is_empty());
}

/// RFC 2883 4: "If the data receiver receives a duplicate segment ... the first SACK
/// block (D-SACK) reports the duplicate contiguous sequence" - for a segment wholly
/// below RCV.NXT, the whole segment; "each duplicate contiguous sequence of data
/// received is reported in at most one D-SACK block", so the next ACK carries none.
#[test]
fn duplicate_segment_is_reported_once_in_a_dsack_block() {
    let mut p = Peer::listening(cfg());
    p.establish(sack_ok(), TcpOptions::NONE);
    p.accept();
    let b = PEER_ISS + 1;
    let outs = p.send(PA, b, p.iss + 1, TcpOptions::NONE, &[7u8; 100]);
    assert!(outs.iter().all(|o| o.sacks().is_empty()), "new data: no block");
    // The same segment again (its ACK was lost, say): an ACK with the D-SACK block.
    let outs = p.send(PA, b, p.iss + 1, TcpOptions::NONE, &[7u8; 100]);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.ack.0, b + 100);
    assert_eq!(outs[0].sacks(), [(b, b + 100)], "D-SACK below the cumulative ACK");
    // New data next: no block repeats the duplicate.
    let outs = p.send(PA, b + 100, p.iss + 1, TcpOptions::NONE, &[7u8; 100]);
    assert!(
        outs.iter().all(|o| o.sacks().is_empty()),
        "{:?}",
        outs.iter().map(|o| o.sacks()).collect::<Vec<_>>()
    );
}

/// RFC 2883 4 with a segment that is partly old: the D-SACK block reports only the
/// duplicate part (up to RCV.NXT), and the other blocks follow it as usual (RFC 2883 4:
/// "the SACK blocks following the D-SACK block ... report the blocks in the receiver's
/// buffer").
#[test]
fn partly_duplicate_segment_reports_its_old_part_before_the_usual_blocks() {
    let mut p = Peer::listening(cfg());
    p.establish(sack_ok(), TcpOptions::NONE);
    p.accept();
    let b = PEER_ISS + 1;
    p.send(PA, b, p.iss + 1, TcpOptions::NONE, &[1u8; 100]);
    p.send(PA, b + 300, p.iss + 1, TcpOptions::NONE, &[1u8; 100]);
    // [50, 150): [50, 100) is old, [100, 150) new; [300, 400) is still held.
    let outs = p.send(PA, b + 50, p.iss + 1, TcpOptions::NONE, &[1u8; 100]);
    assert_eq!(outs[0].hdr.ack.0, b + 150);
    assert_eq!(outs[0].sacks(), [(b + 50, b + 100), (b + 300, b + 400)]);
}

/// Without SACK negotiated there is no D-SACK either.
#[test]
fn no_dsack_unless_sack_was_negotiated() {
    let mut p = Peer::listening(cfg());
    p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    p.accept();
    let b = PEER_ISS + 1;
    p.send(PA, b, p.iss + 1, TcpOptions::NONE, &[7u8; 100]);
    let outs = p.send(PA, b, p.iss + 1, TcpOptions::NONE, &[7u8; 100]);
    assert_eq!(outs[0].hdr.options, TcpOptions::NONE);
}

#[test]
fn no_sack_blocks_unless_negotiated() {
    let mut p = Peer::listening(cfg());
    p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    p.accept();
    let outs = p.send(PA, PEER_ISS + 101, p.iss + 1, TcpOptions::NONE, b"gap before me");
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 1);
    assert!(outs[0].sacks().is_empty());
    assert_eq!(outs[0].hdr.options, TcpOptions::NONE);
}

#[test]
fn next_to_timestamps_three_blocks_fit() {
    let mut p = Peer::listening(Config { option_layout: OptionLayout::Bsd, ..cfg() });
    p.establish(syn_opts_full(1), TcpOptions { timestamps: ts(2, 0), ..TcpOptions::NONE });
    p.accept();
    let b = PEER_ISS + 1;
    let mut last = Vec::new();
    for off in [100u32, 200, 300, 400] {
        last = p.send(PA, b + off, p.iss + 1, TcpOptions { timestamps: ts(3, 0), ..TcpOptions::NONE }, b"x");
    }
    let ack = &last[0];
    assert_eq!(ack.sacks(), [(b + 400, b + 401), (b + 300, b + 301), (b + 200, b + 201)]);
    // FreeBSD's layout: nop,nop,TS,nop,nop,sack.
    assert_eq!(ack.raw_options.len(), 40);
    assert_eq!(ack.raw_options[..3], [1, 1, 8]);
    assert_eq!(ack.raw_options[12..16], [1, 1, 5, 26]);
}

// ----- the window after the peer's FIN --------------------------------------------------

#[test]
fn the_ack_of_a_fin_announces_all_free_space() {
    // RFC 9293 3.8.6.2.2: with the peer's FIN received no more data can come; SWS
    // avoidance has nothing to protect, and the FIN's sequence number must not shrink
    // the window by one.
    let mut p = Peer::listening(Config { recv_buffer: 4096, ..cfg() });
    let synack = p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    assert_eq!(synack.hdr.window, 4096);
    p.accept();
    let outs = p.send(FA, PEER_ISS + 1, p.iss + 1, TcpOptions::NONE, b"");
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].hdr.ack.0, PEER_ISS + 2);
    assert_eq!(outs[0].hdr.window, 4096);
}

// ----- the application's MSS limit (TCP_MAXSEG) ------------------------------------------

/// Nagle's algorithm off, so that a short last segment leaves with the full ones.
fn no_nagle() -> Config {
    Config { nagle: false, ..cfg() }
}

/// Data segment sizes of `outs`.
fn sizes(outs: &[Out]) -> Vec<usize> {
    outs.iter().map(|o| o.payload.len()).collect()
}

#[test]
fn an_mss_limit_set_before_the_syn_goes_out_is_announced_and_caps_the_segments_sent() {
    // Active open from 192.0.2.2:80 to the peer's 40000 (so that the peer's helper
    // addresses it); the limit is set between `connect` and the first poll.
    let mut p = Peer::new(Config { timestamps: false, ..no_nagle() });
    let c = p
        .stack
        .connect_from(p.now, SocketAddr::new(LOCAL_IP, LOCAL_PORT), SocketAddr::new(PEER_IP, PEER_PORT))
        .unwrap();
    p.stack.set_mss_limit(c, 1100).unwrap();
    let syn = p.flush();
    assert_eq!(syn.len(), 1);
    assert_eq!(syn[0].hdr.options.mss, Some(1100), "RFC 9293 3.7.1: the MSS we announce");
    let iss = syn[0].hdr.seq.0;
    // The peer announces 1460: Eff.snd.MSS is the smaller of that and our limit.
    let ack = p.send(SA, PEER_ISS, iss + 1, TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, b"");
    assert_eq!(ack.len(), 1);
    let info = p.stack.info(c).unwrap();
    assert_eq!((info.mss, info.announced_mss), (1100, 1100));
    p.stack.send(c, &[1u8; 3000]).unwrap();
    assert_eq!(sizes(&p.flush()), [1100, 1100, 800]);
}

#[test]
fn a_listener_mss_limit_is_announced_by_its_syn_acks_and_caps_its_connections() {
    let mut p = Peer::listening(Config { timestamps: false, ..no_nagle() });
    let l = p.listener.unwrap();
    p.stack.set_listener_mss_limit(l, 1100).unwrap();
    let synack = p.establish(TcpOptions { mss: Some(1300), ..TcpOptions::NONE }, TcpOptions::NONE);
    assert_eq!(synack.hdr.options.mss, Some(1100));
    let c = p.accept();
    assert_eq!(p.stack.info(c).unwrap().mss, 1100);
    p.stack.send(c, &[1u8; 2500]).unwrap();
    assert_eq!(sizes(&p.flush()), [1100, 1100, 300]);
    // A peer announcing less than the limit still gets no more than it asked for.
    let mut p = Peer::listening(cfg());
    p.stack.set_listener_mss_limit(p.listener.unwrap(), 1100).unwrap();
    p.establish(TcpOptions { mss: Some(900), ..TcpOptions::NONE }, TcpOptions::NONE);
    let c = p.accept();
    assert_eq!(p.stack.info(c).unwrap().mss, 900);
}

#[test]
fn a_listener_mss_limit_holds_for_connections_made_from_syn_cookies() {
    let c = Config { timestamps: false, syn_cookies: synack::SynCookies::Always, ..no_nagle() };
    let mut p = Peer::listening(c);
    p.stack.set_listener_mss_limit(p.listener.unwrap(), 1000).unwrap();
    let synack = p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    assert_eq!(p.stack.stats().syn_cookies_validated, 1);
    assert_eq!(synack.hdr.options.mss, Some(1000));
    let c = p.accept();
    p.stack.send(c, &[1u8; 2500]).unwrap();
    assert_eq!(sizes(&p.flush()), [1000, 1000, 500]);
}

#[test]
fn an_mss_limit_set_on_an_established_connection_shrinks_the_next_segments() {
    // Timestamps on: the limit, like the negotiated MSS, counts the 12 bytes of the
    // option that every segment carries (RFC 9293 3.7.1).
    let mut p = Peer::listening(no_nagle());
    p.establish(syn_opts_full(1), TcpOptions { timestamps: ts(2, 0), ..TcpOptions::NONE });
    let c = p.accept();
    assert_eq!(p.stack.info(c).unwrap().mss, 1448);
    p.stack.set_mss_limit(c, 500).unwrap();
    let info = p.stack.info(c).unwrap();
    assert_eq!((info.mss, info.announced_mss), (488, 500));
    p.stack.send(c, &[1u8; 1000]).unwrap();
    assert_eq!(sizes(&p.flush()), [488, 488, 24]);
    // A limit above the MSS in use changes nothing.
    p.stack.set_mss_limit(c, 1400).unwrap();
    assert_eq!(p.stack.info(c).unwrap().mss, 488);
}

#[test]
fn an_mss_limit_below_64_bytes_or_for_an_unknown_handle_is_refused() {
    use synack::{Error, UsageError};
    let mut p = Peer::listening(cfg());
    let l = p.listener.unwrap();
    assert_eq!(p.stack.set_listener_mss_limit(l, 63), Err(Error::Usage(UsageError::InvalidValue)));
    assert_eq!(p.stack.set_listener_mss_limit(l, 64), Ok(()));
    p.establish(TcpOptions { mss: Some(1460), ..TcpOptions::NONE }, TcpOptions::NONE);
    let c = p.accept();
    assert_eq!(p.stack.set_mss_limit(c, 0), Err(Error::Usage(UsageError::InvalidValue)));
    p.stack.close_listener(l).unwrap();
    assert_eq!(p.stack.set_listener_mss_limit(l, 1000), Err(Error::Usage(UsageError::UnknownListener)));
    p.stack.abort(c).unwrap();
    assert_eq!(p.stack.set_mss_limit(c, 1000), Err(Error::Usage(UsageError::UnknownConnection)));
}
