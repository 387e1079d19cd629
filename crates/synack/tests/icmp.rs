//! ICMP errors, RFC 9293 3.9.2.2 (MUST-54: "act on an ICMP error message passed up from
//! the IP layer, directing it to the connection that created the error"), with the
//! sequence check of RFC 5927 4.1 and Path MTU Discovery (RFC 1191). Each test drives one
//! stack by hand (`Peer`); a router at 192.0.2.254 sends the ICMP messages, built with
//! etherparse, each quoting a segment the stack sent as RFC 792 quotes it: the IP header
//! and the first 8 bytes of TCP.

mod common;

use common::inject::*;
use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{Icmpv4Type, PacketBuilder};
use synack::wire::{self, TcpHeader};
use synack::{CloseReason, ConnError, Duration, Event, IcmpError, SeqNum, State};

const ROUTER: [u8; 4] = [192, 0, 2, 254];

/// The datagram the stack sent as `out` (its IP header and TCP header as on the wire).
fn datagram_of(out: &Out) -> Vec<u8> {
    let hdr = TcpHeader {
        src_port: LOCAL_PORT,
        dst_port: REMOTE_PORT,
        seq: SeqNum(out.seq),
        ack: SeqNum(out.ack),
        flags: out.flags,
        window: out.win,
        urgent: 0,
        options: out.opts,
    };
    let mut buf = vec![0u8; 65536];
    let n = wire::emit(&mut buf, LOCAL_IP, REMOTE_IP, 64, &hdr, &[&out.payload]).expect("emit");
    buf.truncate(n);
    buf
}

/// An ICMP message of type `t` from the router to the stack, quoting `out`: the IP
/// header and the first 64 bits of its data (RFC 792).
fn icmp_about(t: Icmpv4Type, out: &Out) -> Vec<u8> {
    icmp_quoting(t, &datagram_of(out))
}

/// An ICMP message of type `t` from the router to the stack quoting the first 28
/// bytes of `datagram`.
fn icmp_quoting(t: Icmpv4Type, datagram: &[u8]) -> Vec<u8> {
    let mut msg = Vec::new();
    PacketBuilder::ipv4(ROUTER, [192, 0, 2, 2], 64).icmpv4(t).write(&mut msg, &datagram[..28]).expect("icmp");
    msg
}

fn unreachable(h: DestUnreachableHeader) -> Icmpv4Type {
    Icmpv4Type::DestinationUnreachable(h)
}

fn too_big(mtu: u16) -> Icmpv4Type {
    unreachable(DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: mtu })
}

/// Hand an ICMP datagram to the stack and collect what it sends in answer.
fn feed_icmp(p: &mut Peer, icmp: &[u8]) -> Vec<Out> {
    p.stack.handle_packet(p.now, icmp);
    p.flush()
}

/// The ICMP errors the application was told of.
fn icmp_events(p: &Peer) -> Vec<IcmpError> {
    p.events
        .iter()
        .filter_map(|e| match e {
            Event::IcmpError { conn, error } if Some(*conn) == p.conn => Some(*error),
            _ => None,
        })
        .collect()
}

/// An established connection (the remote's MSS 1460, no timestamps) that has `n`
/// bytes of its own in flight, unacknowledged; returns the segments that carried them.
fn established_with_flight(n: usize) -> (Peer, Vec<Out>) {
    let mut p = Peer::established();
    let data = vec![0x61; n];
    assert_eq!(p.stack.send(p.c(), &data), Ok(n));
    let sent = p.flush();
    assert!(!sent.is_empty());
    (p, sent)
}

#[test]
fn port_unreachable_for_our_syn_ends_the_open_as_unreachable() {
    // 3.9.2.2 "Hard Errors ... TCP implementations SHOULD abort the connection
    // (SHLD-26)"; 3.8.3: "An attempt to open a TCP connection could fail with ... an
    // ICMP Port Unreachable."
    let mut p = Peer::syn_sent();
    let syn = p.log[0].clone();
    assert_silent(&feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Port), &syn)));
    let gone = ConnError::Unreachable(IcmpError::PortUnreachable);
    assert_eq!(icmp_events(&p), [IcmpError::PortUnreachable]);
    assert!(
        p.events.contains(&Event::Closed { conn: p.c(), reason: CloseReason::Error(gone) }),
        "{:?}",
        p.events
    );
    p.assert_state(State::Closed);
    assert_eq!(p.stack.error(p.c()), Some(gone));
    // No SYN is retransmitted after that.
    assert_silent(&p.advance(Duration::from_secs(10)));
    let stats = p.stack.stats();
    assert_eq!((stats.icmp_errors, stats.icmp_ignored), (1, 0));
}

#[test]
fn host_unreachable_is_reported_and_the_syn_is_retried() {
    // "Soft Errors ... a TCP implementation MUST NOT abort the connection (MUST-56),
    // and it SHOULD make the information available to the application (SHLD-25)."
    let mut p = Peer::syn_sent();
    let syn = p.log[0].clone();
    assert_silent(&feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Host), &syn)));
    assert_eq!(icmp_events(&p), [IcmpError::HostUnreachable]);
    // SHLD-25: the application can also ask for it.
    assert_eq!(p.stack.info(p.c()).map(|i| i.icmp_error), Ok(Some(IcmpError::HostUnreachable)));
    p.assert_state(State::SynSent);
    // The retransmission timer still runs: the SYN goes out again.
    let again = only(p.advance(Duration::from_secs(1)));
    assert_seg(&again, S, p.stack_iss, 0);
    assert_eq!(p.stack.stats().icmp_errors, 1);
}

#[test]
fn an_application_can_turn_the_asynchronous_reports_off() {
    // 3.9.1.8: the conditions reported asynchronously "MUST include: ICMP error
    // message arrived, Excessive retransmissions, Urgent pointer advance"; "an
    // application program that does not want to receive such ERROR_REPORT calls
    // SHOULD be able to effectively disable these calls (SHLD-20)".
    let quiet = || synack::Config { error_reports: false, ..inject_config() };
    let reports = |p: &Peer| {
        p.events
            .iter()
            .filter(|e| {
                matches!(e, Event::IcmpError { .. } | Event::DeliveryProblem { .. } | Event::Urgent(_))
            })
            .count()
    };
    // An ICMP error and three SYN retransmissions: nothing raised, the error kept.
    let mut p = Peer::syn_sent_with(quiet());
    let syn = p.log[0].clone();
    feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Host), &syn));
    for _ in 0..4 {
        let t = p.stack.poll_timeout().expect("the SYN timer");
        p.advance(t - p.now);
    }
    assert_eq!(reports(&p), 0, "{:?}", p.events);
    assert_eq!(p.stack.info(p.c()).map(|i| i.icmp_error), Ok(Some(IcmpError::HostUnreachable)));
    // Urgent data: not signalled, still counted.
    let mut q = Peer::established_with(quiet());
    q.feed(q.seg(PA).urg(3).data(b"abcdef"));
    assert_eq!(reports(&q), 0, "{:?}", q.events);
    assert_eq!(q.stack.urgent_pending(q.c()), Ok(3));
    // The same with the reports on (the default): one of each.
    let mut r = Peer::syn_sent();
    let syn = r.log[0].clone();
    feed_icmp(&mut r, &icmp_about(unreachable(DestUnreachableHeader::Host), &syn));
    for _ in 0..4 {
        let t = r.stack.poll_timeout().expect("the SYN timer");
        r.advance(t - r.now);
    }
    let mut u = Peer::established();
    u.feed(u.seg(PA).urg(3).data(b"abcdef"));
    assert_eq!((reports(&r), reports(&u)), (2, 1));
}

#[test]
fn a_hard_error_in_a_synchronized_state_is_reported_but_does_not_abort() {
    // 3.9.2.2: "some implementations do not abort connections when an ICMP hard error
    // is received for a connection that is in any of the synchronized states"; RFC
    // 5927 7 recommends it against forged errors.
    let (mut p, sent) = established_with_flight(100);
    let m = icmp_about(unreachable(DestUnreachableHeader::Port), &sent[0]);
    assert_silent(&feed_icmp(&mut p, &m));
    assert_eq!(icmp_events(&p), [IcmpError::PortUnreachable]);
    p.assert_state(State::Established);
    assert_eq!(p.stack.error(p.c()), None);
}

#[test]
fn source_quench_is_silently_discarded() {
    // MUST-55: "TCP implementations MUST silently discard any received ICMP Source
    // Quench messages."
    let (mut p, sent) = established_with_flight(100);
    let quench = Icmpv4Type::Unknown { type_u8: 4, code_u8: 0, bytes5to8: [0; 4] };
    assert_silent(&feed_icmp(&mut p, &icmp_about(quench, &sent[0])));
    assert!(icmp_events(&p).is_empty());
    assert_eq!(p.stack.info(p.c()).map(|i| i.icmp_error), Ok(None));
    let stats = p.stack.stats();
    assert_eq!((stats.icmp_errors, stats.icmp_ignored), (0, 1));
}

#[test]
fn an_error_quoting_a_sequence_number_not_in_flight_is_ignored() {
    // RFC 5927 4.1: "TCP SHOULD check that the TCP sequence number contained in the
    // payload of the ICMP error message is within the range SND.UNA =< SEG.SEQ <
    // SND.NXT."
    let (mut p, sent) = established_with_flight(100);
    // Data acknowledged before: below SND.UNA.
    let old = p.log.iter().find(|o| o.payload == LOCAL_DATA).cloned().expect("the fixture's data");
    // Beyond what was sent: at SND.NXT.
    let mut beyond = sent[0].clone();
    beyond.seq = p.seen;
    for out in [&old, &beyond] {
        assert_silent(&feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Host), out)));
    }
    assert!(icmp_events(&p).is_empty(), "{:?}", p.events);
    assert_eq!(p.stack.stats().icmp_ignored, 2);
    // The same message quoting the segment in flight is taken.
    assert_silent(&feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Host), &sent[0])));
    assert_eq!(icmp_events(&p), [IcmpError::HostUnreachable]);
}

#[test]
fn an_error_for_no_connection_or_with_a_bad_checksum_is_ignored() {
    let (mut p, sent) = established_with_flight(100);
    // Another peer port (bytes 2..4 of the quoted TCP header): no such connection.
    let mut other = datagram_of(&sent[0]);
    other[20 + 3] ^= 1;
    assert_silent(&feed_icmp(&mut p, &icmp_quoting(unreachable(DestUnreachableHeader::Host), &other)));
    // A corrupted message.
    let mut corrupt = icmp_about(unreachable(DestUnreachableHeader::Host), &sent[0]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x10;
    assert_silent(&feed_icmp(&mut p, &corrupt));
    assert!(icmp_events(&p).is_empty(), "{:?}", p.events);
    let stats = p.stack.stats();
    assert_eq!((stats.icmp_errors, stats.icmp_ignored, stats.malformed), (0, 2, 0));
}

#[test]
fn an_error_for_a_passive_embryo_returns_it_to_listen_silently() {
    // As a RST in SYN-RECEIVED after a passive OPEN (3.10.7.4): "return this
    // connection to LISTEN state and return. The user need not be informed."
    let mut p = Peer::syn_received();
    let synack = p.log[0].clone();
    assert_silent(&feed_icmp(&mut p, &icmp_about(unreachable(DestUnreachableHeader::Port), &synack)));
    assert!(p.events.is_empty(), "{:?}", p.events);
    let l = p.listener.expect("listener");
    assert_eq!(p.stack.accept(l), None);
    // The listener answers a new SYN on the same 4-tuple with a fresh SYN,ACK.
    let again = only(p.feed(Seg::new(S, REMOTE_ISS.wrapping_add(5000), 0).mss(1460)));
    assert_eq!(again.flags, SA, "{again:?}");
    assert_eq!(again.ack, REMOTE_ISS.wrapping_add(5001));
}

#[test]
fn fragmentation_needed_shrinks_the_segments_and_resends_from_snd_una() {
    // RFC 1191: the path carries 1000-byte datagrams; segments go down to 960 bytes of
    // data, and what was in flight is sent again from SND.UNA at once.
    let (mut p, sent) = established_with_flight(4000);
    assert_eq!(sent[0].payload.len(), 1460);
    let una = p.acked;
    let resent = feed_icmp(&mut p, &icmp_about(too_big(1000), &sent[0]));
    assert!(!resent.is_empty(), "nothing resent");
    assert_eq!(resent[0].seq, una, "{resent:?}");
    assert!(resent.iter().all(|o| o.payload.len() <= 960), "{resent:?}");
    assert_eq!(resent[0].payload.len(), 960);
    assert_eq!(p.stack.info(p.c()).map(|i| i.mss), Ok(960));
    // Path MTU Discovery is not reported to the application as an error.
    assert!(icmp_events(&p).is_empty());
    let stats = p.stack.stats();
    assert_eq!((stats.icmp_errors, stats.pmtu_reductions), (1, 1));
    // The peer acknowledges everything; the rest goes out in 960-byte segments too.
    let rest = p.feed(p.seg(A).ack(p.seen));
    assert!(rest.iter().all(|o| o.payload.len() <= 960), "{rest:?}");
}

#[test]
fn the_path_mtu_only_goes_down_and_not_below_576() {
    // RFC 1191 6.3: a larger MTU in a message is not taken (the MSS stays); RFC 791's
    // 576 is the floor (RFC 5927 7.2: a forged message must not shrink segments to
    // nothing).
    let (mut p, sent) = established_with_flight(3000);
    assert_silent(&feed_icmp(&mut p, &icmp_about(too_big(2000), &sent[0])));
    assert_eq!(p.stack.info(p.c()).map(|i| i.mss), Ok(1460));
    assert_eq!(p.stack.stats().icmp_ignored, 1);
    let resent = feed_icmp(&mut p, &icmp_about(too_big(300), &sent[0]));
    assert_eq!(p.stack.info(p.c()).map(|i| i.mss), Ok(536));
    assert_eq!(resent[0].payload.len(), 536);
    assert_eq!(p.stack.stats().pmtu_reductions, 1);
}

#[test]
fn an_old_router_without_an_mtu_gets_the_plateau_below() {
    // RFC 1191 5: a "fragmentation needed" with a zero MTU field; the 1500-byte
    // datagram it refused puts the estimate at the 1492 plateau.
    let (mut p, sent) = established_with_flight(3000);
    feed_icmp(&mut p, &icmp_about(too_big(0), &sent[0]));
    assert_eq!(p.stack.info(p.c()).map(|i| i.mss), Ok(1452));
}

/// ICMPv6 (RFC 4443) on an IPv6 connection opened by hand: the stack at 2001:db8::2
/// connects to 2001:db8::1 port 80, and the test answers for the peer.
mod v6 {
    use super::*;
    use etherparse::icmpv6::DestUnreachableCode;
    use etherparse::Icmpv6Type;
    use std::net::{IpAddr, SocketAddr};
    use synack::wire::{TcpFlags, TcpOptions};
    use synack::{Config, Instant, Stack};

    const US: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const PEER: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const ROUTER: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe];

    /// Everything the stack sends now, as datagrams.
    fn sent(stack: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while let Some(tx) = stack.poll_transmit(now, &mut buf) {
            out.push(buf[..tx.len].to_vec());
        }
        out
    }

    fn icmp6_about(t: Icmpv6Type, datagram: &[u8]) -> Vec<u8> {
        let mut msg = Vec::new();
        PacketBuilder::ipv6(ROUTER, US, 64).icmpv6(t).write(&mut msg, datagram).expect("icmpv6");
        msg
    }

    /// A stack with a connection in SYN-SENT to the peer; its SYN.
    fn opening() -> (Stack, synack::ConnId, Vec<u8>) {
        let mut stack = Stack::new(Config { addresses: vec![IpAddr::from(US)], ..Config::default() });
        let c = stack.connect(Instant::ZERO, SocketAddr::new(IpAddr::from(PEER), 80)).expect("connect");
        let syn = sent(&mut stack, Instant::ZERO).pop().expect("a SYN");
        (stack, c, syn)
    }

    #[test]
    fn icmpv6_port_unreachable_ends_the_open() {
        let (mut stack, c, syn) = opening();
        let m = icmp6_about(Icmpv6Type::DestinationUnreachable(DestUnreachableCode::Port), &syn);
        stack.handle_packet(Instant::ZERO, &m);
        assert_eq!(stack.state(c), State::Closed);
        assert_eq!(stack.error(c), Some(ConnError::Unreachable(IcmpError::PortUnreachable)));
    }

    #[test]
    fn packet_too_big_shrinks_the_segments_but_not_below_1280() {
        // RFC 8201 4: "a node MUST NOT reduce its estimate of the Path MTU below the
        // IPv6 minimum link MTU" (1280): a Packet Too Big of 1000 leaves 1280 - 40 - 20
        // = 1220 bytes of data per segment.
        let (mut stack, c, syn) = opening();
        let syn = wire::parse(&syn).expect("SYN");
        let synack = TcpHeader {
            src_port: 80,
            dst_port: syn.tcp.src_port,
            seq: SeqNum(5000),
            ack: syn.tcp.seq + 1,
            flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
            window: 65535,
            urgent: 0,
            options: TcpOptions { mss: Some(1440), ..TcpOptions::NONE },
        };
        let mut buf = vec![0u8; 1500];
        let n = wire::emit(&mut buf, IpAddr::from(PEER), IpAddr::from(US), 64, &synack, &[]).expect("emit");
        stack.handle_packet(Instant::ZERO, &buf[..n]);
        assert_eq!(stack.state(c), State::Established);
        stack.send(c, &[7u8; 3000]).expect("send");
        let out = sent(&mut stack, Instant::ZERO);
        let first = out
            .iter()
            .find(|d| wire::parse(d).is_ok_and(|p| p.payload.len() == 1440))
            .expect("a full segment");
        stack.handle_packet(Instant::ZERO, &icmp6_about(Icmpv6Type::PacketTooBig { mtu: 1000 }, first));
        assert_eq!(stack.info(c).map(|i| i.mss), Ok(1220));
        let again = sent(&mut stack, Instant::ZERO);
        let sizes: Vec<usize> =
            again.iter().filter_map(|d| wire::parse(d).ok()).map(|p| p.payload.len()).collect();
        assert_eq!(sizes.first(), Some(&1220), "{sizes:?}");
        assert!(sizes.iter().all(|&s| s <= 1220), "{sizes:?}");
        assert_eq!(stack.stats().pmtu_reductions, 1);
    }
}
