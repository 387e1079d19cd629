//! IP reassembly (RFC 1122 3.3.2: "The IP layer MUST implement reassembly of IP
//! datagrams"; RFC 8200 4.5 for IPv6): a stack whose peer's datagrams arrive in
//! fragments still runs its connections, and fragments that cannot make a datagram
//! are dropped and counted.

mod common;

use common::flow_helpers::{recv_all, transfer};
use common::{ip_fragments, pattern, Dir, Fate, Pair};
use std::net::{IpAddr, SocketAddr};
use synack::wire::{self, TcpFlags};
use synack::{Config, Instant, Stack, State};

/// A stack at `local` listening on port 80.
fn listener(local: &str, cfg: Config) -> Stack {
    let ip: IpAddr = local.parse().expect("address");
    let mut s = Stack::new(Config { addresses: vec![ip], ..cfg });
    s.listen(SocketAddr::new(ip, 80), 8).expect("listen");
    s
}

fn syn(src: &str, dst: &str, payload: &[u8]) -> Vec<u8> {
    common::syn_datagram(src, dst, payload)
}

/// The flags of what the stack sends now.
fn answers(s: &mut Stack, now: Instant) -> Vec<TcpFlags> {
    datagrams(s, now).iter().map(|d| wire::parse(d).expect("a valid answer").tcp.flags).collect()
}

/// A SYN from `src` to `dst` in three fragments: over IPv4 its 24 bytes of TCP header
/// in 8-byte pieces; over IPv6, whose first fragment must hold the whole header (RFC
/// 7112 5), with 40 bytes of data, in 24-byte pieces.
fn syn_in_three(src: &str, dst: &str) -> Vec<Vec<u8>> {
    let frags = if src.contains(':') {
        ip_fragments(&syn(src, dst, &[0x5a; 40]), 24, 7)
    } else {
        ip_fragments(&syn(src, dst, &[]), 8, 7)
    };
    assert_eq!(frags.len(), 3, "{src}");
    frags
}

#[test]
fn a_syn_in_fragments_is_answered_once_the_last_piece_arrives_in_any_order() {
    for (src, dst) in [("192.0.2.1", "192.0.2.2"), ("2001:db8::1", "2001:db8::2")] {
        let mut s = listener(dst, Config::default());
        let frags = syn_in_three(src, dst);
        // The middle piece, then the last, then the first.
        for &k in &[1, 2] {
            s.handle_packet(Instant::ZERO, &frags[k]);
            assert!(answers(&mut s, Instant::ZERO).is_empty(), "{src}: nothing before the datagram is whole");
        }
        s.handle_packet(Instant::ZERO, &frags[0]);
        assert_eq!(answers(&mut s, Instant::ZERO), [TcpFlags::SYN | TcpFlags::ACK], "{src}");
        let st = s.stats();
        assert_eq!((st.fragments, st.reassembled, st.reassembly_failed, st.malformed), (3, 1, 0, 0), "{src}");
    }
}

#[test]
fn an_ipv6_first_fragment_without_the_whole_tcp_header_is_discarded() {
    // RFC 7112 5: "When a host receives a first fragment that does not contain the
    // entire IPv6 Header Chain, it SHOULD discard the packet". The 24-byte TCP header
    // of a SYN in 8-byte pieces: the first piece is dropped as malformed, and the
    // datagram never completes (nor is a Time Exceeded sent: fragment zero never came).
    let mut s = listener("2001:db8::2", Config::default());
    let frags = ip_fragments(&syn("2001:db8::1", "2001:db8::2", &[]), 8, 7);
    for f in &frags {
        s.handle_packet(Instant::ZERO, f);
    }
    assert!(answers(&mut s, Instant::ZERO).is_empty());
    let st = s.stats();
    assert_eq!((st.fragments, st.malformed, st.reassembled), (3, 1, 0));
    s.handle_timeout(Instant::from_millis(60_000));
    assert_eq!(s.stats().reassembly_failed, 1);
    assert!(datagrams(&mut s, Instant::from_millis(60_000)).is_empty(), "no Time Exceeded");
    // IPv4 has no such rule (RFC 7112 is IPv6's): the same SYN there is answered.
    let mut s = listener("192.0.2.2", Config::default());
    for f in ip_fragments(&syn("192.0.2.1", "192.0.2.2", &[]), 8, 7) {
        s.handle_packet(Instant::ZERO, &f);
    }
    assert_eq!(answers(&mut s, Instant::ZERO), [TcpFlags::SYN | TcpFlags::ACK]);
}

#[test]
fn with_reassembly_off_fragments_are_dropped_as_malformed() {
    let mut s = listener("192.0.2.2", Config { max_reassembly_bytes: 0, ..Config::default() });
    for f in ip_fragments(&syn("192.0.2.1", "192.0.2.2", &[]), 8, 7) {
        s.handle_packet(Instant::ZERO, &f);
    }
    assert!(answers(&mut s, Instant::ZERO).is_empty());
    let st = s.stats();
    assert_eq!((st.fragments, st.malformed, st.reassembled), (3, 3, 0));
}

/// Every datagram the stack sends now, as bytes.
fn datagrams(s: &mut Stack, now: Instant) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 1500];
    std::iter::from_fn(|| s.poll_transmit(now, &mut buf).map(|tx| buf[..tx.len].to_vec())).collect()
}

#[test]
fn a_datagram_left_unfinished_is_abandoned_sixty_seconds_after_its_first_fragment() {
    for (src, dst, quoted_len) in [("192.0.2.1", "192.0.2.2", 28), ("2001:db8::1", "2001:db8::2", 72)] {
        let mut s = listener(dst, Config::default());
        let frags = syn_in_three(src, dst);
        s.handle_packet(Instant::from_millis(1_000), &frags[0]);
        s.handle_packet(Instant::from_millis(2_000), &frags[1]);
        // RFC 8200 4.5: 60 s "of the reception of the first-arriving fragment".
        assert_eq!(s.poll_timeout(), Some(Instant::from_millis(61_000)), "{src}");
        s.handle_timeout(Instant::from_millis(61_000));
        assert_eq!(s.stats().reassembly_failed, 1, "{src}");
        assert_eq!(s.poll_timeout(), None, "{src}: nothing else pending");
        // RFC 1122 3.3.2: fragment zero had arrived, so its source hears of it: ICMP Time
        // Exceeded, code 1 (ICMPv6 type 3, code 1), quoting the first fragment: its
        // header and 8 bytes of data (IPv6: all of it).
        let out = datagrams(&mut s, Instant::from_millis(61_000));
        assert_eq!(out.len(), 1, "{src}");
        let (ip, payload) = etherparse::IpHeaders::from_slice(&out[0]).expect("a valid IP datagram");
        let msg = payload.payload;
        let (icmp_type, quoted, addrs, pseudo) = match ip {
            etherparse::IpHeaders::Ipv4(h, _) => {
                let p = etherparse::Icmpv4Slice::from_slice(msg).expect("ICMP");
                let addrs = (IpAddr::from(h.source), IpAddr::from(h.destination));
                (format!("{:?}", p.icmp_type()), p.payload().to_vec(), addrs, Vec::new())
            }
            etherparse::IpHeaders::Ipv6(h, _) => {
                let p = etherparse::Icmpv6Slice::from_slice(msg).expect("ICMPv6");
                let addrs = (IpAddr::from(h.source), IpAddr::from(h.destination));
                // The ICMPv6 checksum covers a pseudo-header (RFC 4443 2.3).
                let mut pseudo = [h.source, h.destination].concat();
                pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, 58]);
                (format!("{:?}", p.icmp_type()), p.payload().to_vec(), addrs, pseudo)
            }
        };
        assert!(icmp_type.contains("TimeExceeded") && icmp_type.contains("Fragment"), "{src}: {icmp_type}");
        assert_eq!(quoted, frags[0][..quoted_len], "{src}: the first fragment quoted");
        assert_eq!(ones_sum(&[pseudo, msg.to_vec()].concat()), 0xffff, "{src}: the checksum verifies");
        assert_eq!(
            addrs,
            (dst.parse().expect("dst"), src.parse().expect("src")),
            "{src}: back to the source"
        );
        // The last piece alone now starts a datagram of its own, never completed.
        s.handle_packet(Instant::from_millis(62_000), &frags[2]);
        assert!(answers(&mut s, Instant::from_millis(62_000)).is_empty(), "{src}");
        assert_eq!(s.stats().reassembled, 0, "{src}");
        // Without its first fragment, it times out with no message.
        s.handle_timeout(Instant::from_millis(122_000));
        assert_eq!(s.stats().reassembly_failed, 2, "{src}");
        assert!(datagrams(&mut s, Instant::from_millis(122_000)).is_empty(), "{src}");
    }
}

/// The one's-complement sum of `b` (RFC 1071), folded: 0xffff over a message and its
/// checksum when the checksum is right.
fn ones_sum(b: &[u8]) -> u16 {
    let mut sum: u32 =
        b.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[test]
fn overlapping_fragments_discard_the_datagram() {
    // RFC 5722: the whole datagram goes, "including those not yet received".
    let mut s = listener("192.0.2.2", Config::default());
    let whole = syn("192.0.2.1", "192.0.2.2", &[0; 8]);
    let f16 = ip_fragments(&whole, 16, 7);
    let f8 = ip_fragments(&whole, 8, 7);
    s.handle_packet(Instant::ZERO, &f16[0]); // bytes 0..16
    s.handle_packet(Instant::ZERO, &f8[1]); // bytes 8..16: inside the first
    for f in &f16[1..] {
        s.handle_packet(Instant::ZERO, f);
    }
    assert!(answers(&mut s, Instant::ZERO).is_empty(), "the SYN was never whole");
    let st = s.stats();
    assert_eq!((st.reassembly_failed, st.reassembled), (1, 0));
}

#[test]
fn a_fragment_inside_a_reassembled_datagram_is_not_reassembled_again() {
    // An IPv6 datagram whose fragments' Fragment header names another Fragment header:
    // once reassembled it is a fragment again, which is dropped (no nesting).
    let inner = ip_fragments(&syn("2001:db8::1", "2001:db8::2", &[]), 8, 9);
    let first_inner = &inner[0];
    // `first_inner` is: fixed header (Next Header 44), Fragment header, 8 bytes of TCP.
    // Cut it after the fixed header into two outer fragments of its own.
    let outer = ip_fragments(first_inner, 8, 10);
    let mut s = listener("2001:db8::2", Config::default());
    for f in &outer {
        s.handle_packet(Instant::ZERO, f);
    }
    assert!(answers(&mut s, Instant::ZERO).is_empty());
    let st = s.stats();
    assert_eq!(st.reassembled, 1, "the outer datagram");
    assert_eq!((st.fragments, st.malformed), (outer.len() as u64 + 1, 1), "the inner fragment dropped");
}

#[test]
fn a_connection_whose_every_datagram_arrives_in_fragments_runs_its_whole_life() {
    let mut p = Pair::new();
    // Every datagram both ways in pieces of at most 64 bytes, the last piece first.
    p.rule = Box::new(|_| Fate::Fragment(64));
    let (c, s) = p.establish();
    let up = pattern(20_000, 1);
    let down = pattern(30_000, 2);
    assert_eq!(transfer(&mut p, Dir::AtoB, c, s, &up, 20_000), up);
    assert_eq!(transfer(&mut p, Dir::BtoA, s, c, &down, 20_000), down);
    p.a.close(c).expect("close");
    p.drive_until(1_000, |p| p.b.state(s) == State::CloseWait);
    assert!(recv_all(&mut p.b, s).is_empty());
    p.b.close(s).expect("close");
    p.drive_until(1_000, |p| p.b.connection_count() == 0 && p.a.time_wait_count() == 1);
    // Every datagram with more than 64 bytes after its IP header went in pieces and was
    // reassembled once: the data segments.
    for (st, toward) in [(p.a.stats(), Dir::BtoA), (p.b.stats(), Dir::AtoB)] {
        let cut = p.segs(toward).iter().filter(|s| s.bytes.len() - 20 > 64).count() as u64;
        assert!(cut >= 14, "{cut}");
        assert_eq!(st.reassembled, cut, "{st}");
        assert!(st.fragments >= 2 * cut, "{st}");
        assert_eq!((st.reassembly_failed, st.malformed, st.retransmissions), (0, 0, 0), "{st}");
    }
}

#[test]
fn a_transfer_survives_fragments_lost_duplicated_and_reordered_one_by_one() {
    // Each data segment in pieces of at most 256 bytes (six for a full one), each piece
    // with its own fate: a lost piece loses its datagram, which TCP sends again (a new
    // datagram, a new identification); the stale pieces wait out the timeout.
    let mut p = Pair::new();
    p.rule = Box::new(|s| if s.len > 0 { Fate::FragmentFaulty(256) } else { Fate::Deliver });
    let (c, s) = p.establish();
    let up = pattern(100_000, 3);
    let down = pattern(100_000, 4);
    assert_eq!(transfer(&mut p, Dir::AtoB, c, s, &up, 200_000), up);
    assert_eq!(transfer(&mut p, Dir::BtoA, s, c, &down, 200_000), down);
    assert!(p.fragments_lost > 20, "faults were injected: {}", p.fragments_lost);
    // Past the reassembly timeout, nothing is left pending: only the connections'
    // own timers remain (none, once both sides are idle).
    p.drive_until_time(p.now + synack::Duration::from_secs(61), 100_000);
    for st in [p.a.stats(), p.b.stats()] {
        assert!(st.reassembled > 50, "{st}");
        assert!(st.reassembly_failed > 0, "datagrams with a lost piece were abandoned: {st}");
        assert_eq!(st.malformed, 0, "{st}");
    }
    // Those whose first piece had arrived were reported to their sender (RFC 1122
    // 3.3.2). Each Time Exceeded reached the sender a minute after its segment, sent
    // again and acknowledged long since: its quoted sequence number is no longer in
    // flight, and it is ignored (RFC 5927 4.1), the connection untouched.
    for (side, st) in [(Dir::BtoA, p.a.stats()), (Dir::AtoB, p.b.stats())] {
        let told = p.icmp_log.iter().filter(|(d, _)| *d == side).count() as u64;
        assert!(told > 0 && told <= st.reassembly_failed, "{told} messages, {st}");
    }
    let heard = p.a.stats().icmp_errors
        + p.a.stats().icmp_ignored
        + p.b.stats().icmp_errors
        + p.b.stats().icmp_ignored;
    assert_eq!(heard, p.icmp_log.len() as u64, "each message reached the other side");
    assert_eq!((p.a.poll_timeout(), p.b.poll_timeout()), (None, None));
}

#[test]
fn duplicated_fragments_do_not_spoil_the_reassembly() {
    let mut s = listener("192.0.2.2", Config::default());
    let frags = ip_fragments(&syn("192.0.2.1", "192.0.2.2", &[]), 8, 7);
    for k in [0, 0, 1, 0, 1] {
        s.handle_packet(Instant::ZERO, &frags[k]);
    }
    s.handle_packet(Instant::ZERO, &frags[2]);
    assert_eq!(answers(&mut s, Instant::ZERO), [TcpFlags::SYN | TcpFlags::ACK]);
    assert_eq!((s.stats().reassembled, s.stats().reassembly_failed), (1, 0));
}
