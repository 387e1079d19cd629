//! The echo responder: RFC 1122 3.2.2.6 ("Every host MUST implement an ICMP Echo server
//! function that receives Echo Requests and sends corresponding Echo Replies") and RFC
//! 4443 4.1 for IPv6. Requests are built and replies read with etherparse, and replies
//! that leave in fragments are put back together by etherparse's own reassembly, so
//! nothing here checks synack with synack.

mod common;

use common::ip_fragments;
use etherparse::defrag::IpDefragPool;
use etherparse::{
    IcmpEchoHeader, Icmpv4Slice, Icmpv4Type, Icmpv6Slice, Icmpv6Type, NetSlice, PacketBuilder, SlicedPacket,
};
use std::net::IpAddr;
use synack::{Config, Instant, Stack};

const PEER4: &str = "192.0.2.1";
const US4: &str = "192.0.2.2";
const PEER6: &str = "2001:db8::1";
const US6: &str = "2001:db8::2";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn stack(us: &str, cfg: Config) -> Stack {
    Stack::new(Config { addresses: vec![ip(us)], ..cfg })
}

/// An Echo Request from `src` to `dst` with identifier 0x5a5a, sequence `seq` and
/// `data`, as one datagram however long.
fn request(src: &str, dst: &str, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match (ip(src), ip(dst)) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64)
            .icmpv4_echo_request(0x5a5a, seq)
            .write(&mut out, data),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64)
            .icmpv6_echo_request(0x5a5a, seq)
            .write(&mut out, data),
        _ => panic!("mixed families"),
    }
    .expect("request written");
    out
}

/// `n` bytes of a pattern that differs along its length.
fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Every datagram the stack sends now, into buffers of `size` bytes.
fn sent(s: &mut Stack, size: usize) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; size];
    std::iter::from_fn(|| s.poll_transmit(Instant::ZERO, &mut buf).map(|tx| buf[..tx.len].to_vec())).collect()
}

/// RFC 1071's sum of `bytes` after `start`, folded (written here, apart from the code
/// under test).
fn ones_sum(start: u32, bytes: &[u8]) -> u16 {
    let mut sum = start;
    for w in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// A reply as read back: its addresses, whether it came in fragments, and the ICMP
/// message.
struct Reply {
    src: IpAddr,
    dst: IpAddr,
    pieces: usize,
    msg: Vec<u8>,
}

/// The datagrams `d`, which must make exactly one ICMP message, put together: each
/// checked by etherparse to be a valid IP datagram of at most `mtu` bytes, IPv4
/// fragments reassembled by etherparse's `IpDefragPool`, IPv6 ones by [`V6Pieces`].
/// (etherparse 0.16 reads the IPv6 Fragment header's offset and M flag from the wrong
/// bits, its issue #150, fixed in 0.20.)
fn one_reply(d: &[Vec<u8>], mtu: usize) -> Reply {
    let mut pool = IpDefragPool::<(), ()>::new();
    let mut v6 = V6Pieces::default();
    let mut whole = Vec::new();
    let mut addrs = None;
    for p in d {
        assert!(p.len() <= mtu, "a datagram of {} bytes, past the MTU of {mtu}", p.len());
        let slice = SlicedPacket::from_ip(p).expect("a valid IP datagram");
        let (src, dst, fragmented, df) = match &slice.net {
            Some(NetSlice::Ipv4(v4)) => {
                let h = v4.header();
                assert_eq!(ones_sum(0, &p[..20]), 0xffff, "IPv4 header checksum");
                (
                    IpAddr::from(h.source()),
                    IpAddr::from(h.destination()),
                    h.is_fragmenting_payload(),
                    h.dont_fragment(),
                )
            }
            Some(NetSlice::Ipv6(v6)) => {
                let h = v6.header();
                (IpAddr::from(h.source()), IpAddr::from(h.destination()), v6.is_payload_fragmented(), false)
            }
            _ => panic!("not IP"),
        };
        assert!(addrs.is_none_or(|a| a == (src, dst)), "every piece between the same addresses");
        addrs = Some((src, dst));
        if fragmented && src.is_ipv6() {
            v6.add(p);
        } else if fragmented {
            // RFC 791 3.1: a datagram with DF set may not be fragmented.
            assert!(!df, "a fragment with DF set");
            if let Some(r) = pool.process_sliced_packet(&slice, (), ()).expect("consistent fragments") {
                whole.push(r.payload);
            }
        } else {
            whole.push(slice.ip_payload().expect("payload").payload.to_vec());
        }
    }
    whole.extend(v6.whole());
    assert_eq!(whole.len(), 1, "exactly one message out of {} datagrams", d.len());
    let (src, dst) = addrs.expect("something sent");
    Reply { src, dst, pieces: d.len(), msg: whole.remove(0) }
}

/// IPv6 fragments of one datagram without extension headers, read byte by byte as RFC
/// 8200 4.5 lays the Fragment header out.
#[derive(Default)]
struct V6Pieces {
    /// (offset in bytes, M flag, Identification, data)
    pieces: Vec<(usize, bool, u32, Vec<u8>)>,
}

impl V6Pieces {
    fn add(&mut self, p: &[u8]) {
        assert_eq!(p[6], 44, "a Fragment header right after the fixed header");
        let h = &p[40..48];
        assert_eq!(h[0], 58, "ICMPv6 inside");
        let word = u16::from_be_bytes([h[2], h[3]]);
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let plen = usize::from(u16::from_be_bytes([p[4], p[5]]));
        assert_eq!(40 + plen, p.len(), "the Payload Length counts the Fragment header and the data");
        self.pieces.push((usize::from(word & !7), word & 1 == 1, id, p[48..].to_vec()));
    }

    /// The whole Fragmentable Part, if fragments came: contiguous from 0, the last one
    /// without M, all with one Identification, all but the last a multiple of 8 long.
    fn whole(mut self) -> Option<Vec<u8>> {
        if self.pieces.is_empty() {
            return None;
        }
        self.pieces.sort_by_key(|p| p.0);
        let id = self.pieces[0].2;
        let mut out = Vec::new();
        let last = self.pieces.len() - 1;
        for (k, (off, more, pid, data)) in self.pieces.into_iter().enumerate() {
            assert_eq!((off, pid, more), (out.len(), id, k != last), "piece {k}");
            assert!(!more || data.len() % 8 == 0, "piece {k}: {} bytes", data.len());
            out.extend_from_slice(&data);
        }
        Some(out)
    }
}

/// The message's type, identifier and sequence, data, and whether its checksum holds
/// (ICMPv6 over the pseudo-header, RFC 4443 2.3).
fn read_echo(r: &Reply) -> (&'static str, u16, u16, Vec<u8>, bool) {
    match (r.src, r.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            let m = Icmpv4Slice::from_slice(&r.msg).expect("ICMP");
            let (kind, id, seq) = match m.icmp_type() {
                Icmpv4Type::EchoReply(IcmpEchoHeader { id, seq }) => ("echo reply", id, seq),
                Icmpv4Type::EchoRequest(IcmpEchoHeader { id, seq }) => ("echo request", id, seq),
                _ => ("other", 0, 0),
            };
            (kind, id, seq, m.payload().to_vec(), ones_sum(0, &r.msg) == 0xffff)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let m = Icmpv6Slice::from_slice(&r.msg).expect("ICMPv6");
            let (kind, id, seq) = match m.icmp_type() {
                Icmpv6Type::EchoReply(IcmpEchoHeader { id, seq }) => ("echo reply", id, seq),
                Icmpv6Type::EchoRequest(IcmpEchoHeader { id, seq }) => ("echo request", id, seq),
                _ => ("other", 0, 0),
            };
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&(r.msg.len() as u32).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 58]);
            let sum = ones_sum(u32::from(ones_sum(0, &pseudo)), &r.msg);
            (kind, id, seq, m.payload().to_vec(), sum == 0xffff)
        }
        _ => panic!("mixed families"),
    }
}

#[test]
fn an_echo_request_is_answered_from_the_address_it_was_sent_to_with_its_data_unchanged() {
    for (peer, us) in [(PEER4, US4), (PEER6, US6)] {
        let mut s = stack(us, Config::default());
        s.handle_packet(Instant::ZERO, &request(peer, us, 7, b"synack-ping"));
        let out = sent(&mut s, 1500);
        let r = one_reply(&out, 1500);
        assert_eq!(r.pieces, 1, "{peer}: one datagram");
        // RFC 1122 3.2.2.6: the reply's source is the request's specific destination.
        assert_eq!((r.src, r.dst), (ip(us), ip(peer)), "{peer}");
        assert_eq!(read_echo(&r), ("echo reply", 0x5a5a, 7, b"synack-ping".to_vec(), true), "{peer}");
        assert_eq!(s.stats().echo_replies, 1, "{peer}");
        assert!(sent(&mut s, 1500).is_empty(), "{peer}: one reply per request");
    }
}

#[test]
fn a_ping_larger_than_the_mtu_is_reassembled_and_answered_in_fragments() {
    // 3,000 bytes of data: three fragments each way on a 1500-byte link; IPv6 also on a
    // 1280-byte one (its minimum MTU, RFC 8200 5).
    for (peer, us, mtu) in [(PEER4, US4, 1500), (PEER6, US6, 1500), (PEER6, US6, 1280)] {
        let mut s = stack(us, Config { mtu: mtu as u16, ..Config::default() });
        let payload = data(3000);
        let req = request(peer, us, 9, &payload);
        let pieces = ip_fragments(&req, mtu - 48, 0x1234);
        assert!(pieces.len() >= 3, "{peer}: the request itself in fragments");
        for p in pieces.iter().rev() {
            s.handle_packet(Instant::ZERO, p);
        }
        assert_eq!(s.stats().reassembled, 1, "{peer}");
        let out = sent(&mut s, 1500);
        let r = one_reply(&out, mtu);
        assert!(r.pieces >= 3, "{peer} MTU {mtu}: {} pieces", r.pieces);
        assert_eq!((r.src, r.dst), (ip(us), ip(peer)), "{peer}");
        // RFC 4443 4.2: "returned entirely and unmodified".
        assert_eq!(read_echo(&r), ("echo reply", 0x5a5a, 9, payload, true), "{peer} MTU {mtu}");
        assert_eq!(s.stats().echo_replies, 1, "{peer}");
    }
}

#[test]
fn a_reply_is_cut_to_the_buffer_when_that_is_smaller_than_the_mtu() {
    let mut s = stack(US4, Config::default());
    s.handle_packet(Instant::ZERO, &request(PEER4, US4, 1, &data(1000)));
    let out = sent(&mut s, 576);
    let r = one_reply(&out, 576);
    assert_eq!(r.pieces, 2, "1,028 bytes of ICMP in 556-byte pieces");
    assert_eq!(read_echo(&r), ("echo reply", 0x5a5a, 1, data(1000), true));
}

#[test]
fn requests_that_are_broken_for_someone_else_or_with_the_responder_off_are_not_answered() {
    let good = request(PEER4, US4, 1, b"x");
    let mut bad_sum = good.clone();
    *bad_sum.last_mut().expect("data") ^= 0x55;
    // Code 1, its checksum mended.
    let mut code_one = good.clone();
    code_one[21] = 1;
    code_one[22..24].copy_from_slice(&[0, 0]);
    let c = !ones_sum(0, &code_one[20..]);
    code_one[22..24].copy_from_slice(&c.to_be_bytes());
    let cases: [(&str, Vec<u8>, Config); 5] = [
        ("a bad checksum", bad_sum, Config::default()),
        ("code 1", code_one, Config::default()),
        ("another host's", request(PEER4, "192.0.2.9", 1, b"x"), Config::default()),
        ("from a broadcast address", request("255.255.255.255", US4, 1, b"x"), Config::default()),
        ("the responder off", good.clone(), Config { max_echo_reply_bytes: 0, ..Config::default() }),
    ];
    for (what, d, cfg) in cases {
        let mut s = stack(US4, cfg);
        s.handle_packet(Instant::ZERO, &d);
        assert!(sent(&mut s, 1500).is_empty(), "{what}: answered");
        let st = s.stats();
        assert_eq!((st.echo_replies, st.icmp_ignored), (0, 1), "{what}");
    }
    // The same stack answers the good one.
    let mut s = stack(US4, Config::default());
    s.handle_packet(Instant::ZERO, &good);
    assert_eq!(sent(&mut s, 1500).len(), 1);
}

#[test]
fn echo_replies_waiting_are_bounded_by_max_echo_reply_bytes() {
    // Room for two replies of 10,008 bytes of ICMP, not three.
    let mut s = stack(US4, Config { max_echo_reply_bytes: 25_000, ..Config::default() });
    let big = request(PEER4, US4, 1, &data(10_000));
    for id in 0..4 {
        for p in ip_fragments(&big, 1480, id) {
            s.handle_packet(Instant::ZERO, &p);
        }
    }
    let st = s.stats();
    assert_eq!((st.reassembled, st.echo_replies, st.control_dropped), (4, 2, 2));
    let out = sent(&mut s, 1500);
    assert_eq!(out.len(), 2 * 7, "two replies of seven fragments each");
    // Sent, they leave room again.
    s.handle_packet(Instant::ZERO, &request(PEER4, US4, 2, b"again"));
    assert_eq!(s.stats().echo_replies, 3);
    assert_eq!(sent(&mut s, 1500).len(), 1);
}
