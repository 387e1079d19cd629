//! The usual datagram, parsed without the general machinery: IPv4 without IP options,
//! not a fragment, carrying TCP. Segments without TCP options, or with the timestamps
//! option alone (what Linux and BSD peers send once established), are read in line;
//! other options (the SYNs', SACK blocks) by the general option parser.
//!
//! `Stack::input` tries this first (with `Config::header_prediction` on) and takes the
//! general way (`parse_unverified`) for everything it declines. It must accept nothing
//! the general parse rejects and read exactly what the general parse reads; the
//! property test below checks both on intact, damaged and reshaped datagrams.

use super::checksum::{fold64, pseudo_header_sum64, sum20_be, sum20_ne};
use super::ip::{flow_words, IPPROTO_TCP, IPV4_HEADER_LEN};
use super::tcp::{fixed_fields, parse_options, TCP_HEADER_LEN};
use super::{TcpHeader, TcpOptions, Timestamps};
use std::net::{IpAddr, Ipv4Addr};

/// The options of a segment that carries the timestamps alone, as RFC 7323 Appendix A
/// lays them out: two NOPs, then kind 8 and length 10, then TSval and TSecr.
const TIMESTAMPS_ONLY_HEAD: [u8; 4] = [1, 1, 8, 10];
/// Their length.
const TIMESTAMPS_ONLY_LEN: usize = 12;

/// What [`parse_plain_v4`] reads from a datagram.
#[derive(Debug)]
pub(crate) struct PlainV4<'a> {
    /// The addresses as `v4_flow_words` gives them: destination above source.
    pub(crate) ips: u64,
    /// The TCP header's first word: source port above destination port. (Kept, not
    /// rebuilt from `tcp`: rebuilt, the two ports were read with one load from their two
    /// stores, the stall `ConnTable::lookup_v4_words` avoids.)
    pub(crate) ports: u32,
    /// The TCP header (no options, or the timestamps alone).
    pub(crate) tcp: TcpHeader,
    /// The ECN field of the IP header (RFC 3168 5).
    pub(crate) ecn: u8,
    /// The TCP payload.
    pub(crate) payload: &'a [u8],
    /// The sum [`parse_unverified`](super::parse_unverified) returns (pseudo-header and
    /// TCP header, unfolded), or one congruent to it: the checksum's verdict is the
    /// same.
    pub(crate) sum: u64,
}

impl PlainV4<'_> {
    /// The destination address.
    pub(crate) fn dst(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from_bits((self.ips >> 32) as u32))
    }

    /// The 4-tuple, seen from the receiver: local is the destination.
    pub(crate) fn tuple(&self) -> crate::trace::FourTuple {
        let end = |bits: u64, port: u16| {
            std::net::SocketAddr::V4(std::net::SocketAddrV4::new(Ipv4Addr::from_bits(bits as u32), port))
        };
        crate::trace::FourTuple {
            local: end(self.ips >> 32, self.tcp.dst_port),
            remote: end(self.ips, self.tcp.src_port),
        }
    }
}

/// [`parse_unverified`](super::parse_unverified) for the usual datagram: IPv4 without
/// IP options, not a fragment, carrying TCP (without TCP options or with the timestamps
/// alone in RFC 7323 Appendix A's layout on the quickest way). `None` for any other
/// datagram (IPv6, IP options, a fragment, another protocol), and for one that would
/// fail any check of `parse_unverified` (the caller then takes the general way, which
/// reports the error).
///
/// For a datagram it accepts, the header and payload are those `parse_unverified`
/// returns, the sum is congruent to its sum, and `ips` and `ports` are its addresses
/// and ports (a property test checks all of it). What it saves is the general
/// machinery: the [`Packet`](super::Packet) with its two `IpAddr`s, the option and
/// header-length cases, and the `Result` written to memory and read back.
#[inline(always)]
pub(crate) fn parse_plain_v4(bytes: &[u8]) -> Option<PlainV4<'_>> {
    let (ip, rest) = bytes.split_first_chunk::<IPV4_HEADER_LEN>()?;
    // Version 4 and a 20-byte header (RFC 791 3.1: IHL 5), protocol TCP.
    if ip[0] != 0x45 || ip[9] != IPPROTO_TCP {
        return None;
    }
    // Neither More Fragments nor a fragment offset (as `parse_v4` checks).
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3FFF != 0 {
        return None;
    }
    let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let segment = rest.get(..total_len.checked_sub(IPV4_HEADER_LEN)?)?;
    let (tcp, rest) = segment.split_first_chunk::<TCP_HEADER_LEN>()?;
    // Data offset 5: no TCP options; 8 with NOP, NOP, kind 8, length 10 first: the
    // timestamps alone, in the layout RFC 7323 Appendix A recommends for segments other
    // than SYNs and that Linux and BSD send. Both are read here; any other options (the
    // SYNs', SACK blocks) by `with_options`, out of line.
    let (timestamps, payload) = match tcp[12] >> 4 {
        5 => (None, rest),
        8 if rest.first_chunk::<4>() == Some(&TIMESTAMPS_ONLY_HEAD) => {
            let (o, payload) = rest.split_first_chunk::<TIMESTAMPS_ONLY_LEN>()?;
            let val = u32::from_be_bytes([o[4], o[5], o[6], o[7]]);
            let ecr = u32::from_be_bytes([o[8], o[9], o[10], o[11]]);
            (Some(Timestamps { val, ecr }), payload)
        }
        offset => return with_options(ip, tcp, segment.len(), rest, offset),
    };
    plain_fields(ip, tcp, segment.len(), payload, timestamps)
}

/// What [`parse_plain_v4`] reads from every datagram it accepts, the header with no
/// options or with the timestamps alone: `None` when the IPv4 header checksum fails.
/// `seg_len` is the length of the TCP segment, header included.
#[inline(always)]
fn plain_fields<'a>(
    ip: &[u8; IPV4_HEADER_LEN],
    tcp: &[u8; TCP_HEADER_LEN],
    seg_len: usize,
    payload: &'a [u8],
    timestamps: Option<Timestamps>,
) -> Option<PlainV4<'a>> {
    if fold64(sum20_ne(ip)) != 0xFFFF {
        return None;
    }
    let (ips, ports) = flow_words(ip, tcp.first_chunk::<4>()?);
    // At most 65,535 - 20 bytes: the IPv4 total length is 16 bits.
    let pseudo = pseudo_header_sum64(
        IpAddr::V4(Ipv4Addr::from_bits(ips as u32)),
        IpAddr::V4(Ipv4Addr::from_bits((ips >> 32) as u32)),
        IPPROTO_TCP,
        seg_len as u32,
    );
    let mut p = PlainV4 {
        ips,
        ports,
        tcp: fixed_fields(tcp, TcpOptions::NONE),
        ecn: ip[1] & super::ip::ECN_MASK,
        payload,
        sum: pseudo + sum20_be(tcp),
    };
    // (Speed: the header is built with no options, as for most segments, and the
    // timestamps set after: building it from options chosen at run time cost `churn`,
    // whose segments carry none, some 200 instructions per lifecycle. The result is
    // returned as built: a copy of it in the caller cost `bulk_1500` a dozen
    // instructions per segment.)
    if let Some(ts) = timestamps {
        p.tcp.options.timestamps = Some(ts);
        // The option bytes as 32-bit words, each congruent to the sum of its two
        // 16-bit halves (RFC 1071 2(C)).
        p.sum += u64::from(u32::from_be_bytes(TIMESTAMPS_ONLY_HEAD)) + u64::from(ts.val) + u64::from(ts.ecr);
    }
    Some(p)
}

/// [`parse_plain_v4`] of a segment with other options than the timestamps alone (a
/// SYN's, SACK blocks) behind the data offset `offset` (`rest` follows the fixed
/// header), read by the general option parser; `None` where the general parse fails on
/// them.
///
/// Size: out of line. Before this, such a datagram left the plain parse for the general
/// one (`parse_unverified`), which then parsed it whole again: every connection's two
/// SYNs ran through both parses, two bodies of code in the instruction cache.
#[inline(never)]
fn with_options<'a>(
    ip: &[u8; IPV4_HEADER_LEN],
    tcp: &[u8; TCP_HEADER_LEN],
    seg_len: usize,
    rest: &'a [u8],
    offset: u8,
) -> Option<PlainV4<'a>> {
    if offset < 5 {
        return None;
    }
    let (o, payload) = rest.split_at_checked((usize::from(offset) - 5) * 4)?;
    let options = parse_options(o).ok()?;
    let mut p = plain_fields(ip, tcp, seg_len, payload, None)?;
    p.tcp.options = options;
    // The option bytes as 32-bit words (the data offset counts them), each congruent to
    // the sum of its two 16-bit halves (RFC 1071 2(C)).
    p.sum += o.chunks_exact(4).map(|w| u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]))).sum::<u64>();
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNum;
    use crate::wire::{checksum_finish, checksum_partial, emit, parse_unverified, TcpFlags, Timestamps};

    /// Set the IPv4 header checksum of `d` (whose first 20 bytes are the header).
    fn fix_ip_checksum(d: &mut [u8]) {
        if d.len() >= 20 {
            d[10] = 0;
            d[11] = 0;
            let c = checksum_finish(checksum_partial(&d[..20], 0));
            d[10..12].copy_from_slice(&c.to_be_bytes());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        /// `parse_plain_v4` accepts only what `parse_unverified` accepts, and gives the
        /// same header and payload, a congruent sum (the same when folded), the same
        /// addresses and ports as `ips` and `ports`: random datagrams of both families,
        /// without options, with the timestamps alone in either layout, with the MSS as
        /// well, with a SYN's options or with SACK blocks, intact or with a byte changed
        /// (with or without the IP checksum made right again), truncated, lengthened,
        /// with another total length, or with an option byte changed. An intact IPv4 datagram is always accepted,
        /// whatever its options.
        #[test]
        fn plain_v4_parse_agrees_with_the_general_parse(
            fields in proptest::prelude::any::<(u16, u16, u32, u32, u8, u16, u16)>(),
            // IPv4 three times in four; no options a quarter of the time.
            option_draw in 0u8..8,
            family_draw in 0u8..8,
            addrs in proptest::prelude::any::<([u8; 4], [u8; 4])>(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            mutation in 0u8..10,
            at in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<u8>(),
            len in 0usize..200,
        ) {
            let (sp, dp, seq, ack, flags, window, urgent) = fields;
            let v6 = family_draw == 0;
            let ts = TcpOptions { timestamps: Some(Timestamps { val: seq, ecr: ack }), ..TcpOptions::NONE };
            let options = match option_draw {
                // The timestamps alone: the layout the plain parse takes, and the other.
                0 | 1 => ts,
                2 => TcpOptions { layout: crate::wire::OptionLayout::Bsd, ..ts },
                3 => TcpOptions { mss: Some(1460), ..ts },
                // A SYN's options, SACK blocks.
                4 => TcpOptions {
                    mss: Some(urgent),
                    window_scale: Some(flags % 15),
                    sack_permitted: true,
                    ..TcpOptions::NONE
                },
                5 => {
                    let block = crate::wire::SackBlock { left: SeqNum(ack), right: SeqNum(seq) };
                    TcpOptions { sack: [block; 4], sack_len: 1 + flags % 3, ..TcpOptions::NONE }
                }
                _ => TcpOptions::NONE,
            };
            let h = TcpHeader {
                src_port: sp,
                dst_port: dp,
                seq: SeqNum(seq),
                ack: SeqNum(ack),
                flags: TcpFlags(flags),
                window,
                urgent,
                options,
            };
            let (x, y) = addrs;
            let (src, dst) = if v6 {
                // 2001:db8::/96 with the drawn bytes last.
                let w = |b: [u8; 4]| {
                    let low = u128::from(u32::from_be_bytes(b));
                    IpAddr::V6(std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | low))
                };
                (w(x), w(y))
            } else {
                (IpAddr::from(x), IpAddr::from(y))
            };
            let mut d = vec![0u8; 200];
            let n = emit(&mut d, src, dst, 64, &h, &[&payload]).expect("fits");
            d.truncate(n);
            if !v6 {
                let p = parse_plain_v4(&d);
                proptest::prop_assert!(p.is_some());
            }
            match mutation {
                1 => { let i = at.index(d.len()); d[i] = byte; }
                2 => { let i = at.index(d.len()); d[i] = byte; fix_ip_checksum(&mut d); }
                3 => d.truncate(len.min(d.len())),
                4 => d.extend(std::iter::repeat_n(byte, len % 8)),
                5 if !v6 => {
                    d[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                    fix_ip_checksum(&mut d);
                }
                // A field of the IPv4 header, the checksum made right again: any byte,
                // the version and header length, the fragment bits and offset.
                6 if !v6 => { d[at.index(20)] = byte; fix_ip_checksum(&mut d); }
                7 if !v6 => { d[0] = 0x40 | (byte & 0x0F); fix_ip_checksum(&mut d); }
                8 if !v6 => { d[6] = byte; d[7] = len as u8; fix_ip_checksum(&mut d); }
                // A byte of the TCP options, if any (no checksum covers them here).
                9 if d.len() >= 52 => d[40 + at.index(12)] = byte,
                _ => {}
            }
            if let Some(p) = parse_plain_v4(&d) {
                let general = parse_unverified(&d);
                proptest::prop_assert!(general.is_ok(), "{:?}", general.err());
                if let Ok((pkt, sum)) = general {
                    proptest::prop_assert_eq!(p.tcp, pkt.tcp);
                    proptest::prop_assert_eq!(p.payload, pkt.payload);
                    proptest::prop_assert_eq!(fold64(p.sum), fold64(sum));
                    proptest::prop_assert_eq!(p.dst(), pkt.dst);
                    let src = IpAddr::V4(std::net::Ipv4Addr::from_bits(p.ips as u32));
                    proptest::prop_assert_eq!(src, pkt.src);
                    let ports = u32::from(pkt.tcp.src_port) << 16 | u32::from(pkt.tcp.dst_port);
                    proptest::prop_assert_eq!(p.ports, ports);
                    proptest::prop_assert_eq!(crate::wire::v4_flow_words(&d), Some((p.ips, p.ports)));
                    let t = p.tuple();
                    proptest::prop_assert_eq!(t.local, (pkt.dst, pkt.tcp.dst_port).into());
                    proptest::prop_assert_eq!(t.remote, (pkt.src, pkt.tcp.src_port).into());
                }
            }
        }
    }
}
