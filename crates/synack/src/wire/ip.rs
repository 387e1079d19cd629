//! IPv4 (RFC 791) and IPv6 (RFC 8200) datagram parsing, just enough to reach the
//! upper-layer payload. Zero-copy: the payload borrows the input.

use super::checksum::{checksum_finish, checksum_partial, fold64, sum20_ne};
use super::WireError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of ICMP (IPv4).
pub const IPPROTO_ICMP: u8 = 1;
/// IPv6 next-header number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;

/// IPv6 extension headers (RFC 8200 4): hop-by-hop options, routing, fragment,
/// destination options.
const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
pub(super) const IPV6_FRAGMENT: u8 = 44;
pub(super) const IPV6_DEST_OPTIONS: u8 = 60;
/// At most this many extension headers are walked (RFC 8200 4.1 recommends an order
/// in which each appears at most twice; more is not a datagram worth the walk).
const IPV6_MAX_EXT_HEADERS: usize = 8;

/// Length of the IPv4 header without options.
pub(crate) const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub(crate) const IPV6_HEADER_LEN: usize = 40;

/// The ECN field's bits in the IPv4 TOS octet and the IPv6 traffic class (RFC 3168 5).
pub const ECN_MASK: u8 = 0b11;
/// ECT(0), ECN-Capable Transport (RFC 3168 5): what an ECN-capable sender marks.
pub const ECN_ECT0: u8 = 0b10;
/// CE, Congestion Experienced (RFC 3168 5): set by a router instead of dropping.
pub const ECN_CE: u8 = 0b11;

/// A parsed IP datagram: the addresses, TTL/hop limit, the upper-layer protocol and the
/// payload borrowed from the input buffer.
#[derive(Clone, Copy, Debug)]
pub struct IpDatagram<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The ECN field (RFC 3168 5): the low two bits of the IPv4 TOS octet or the IPv6
    /// traffic class; [`ECN_CE`] when a router marked congestion.
    pub ecn: u8,
    /// IPv4 protocol or IPv6 next header (after the fixed header).
    pub protocol: u8,
    /// The upper-layer payload: up to the IPv4 total length / IPv6 payload length;
    /// trailing bytes of the buffer beyond it (link-layer padding) are not included.
    pub payload: &'a [u8],
}

/// Parse an IPv4 or IPv6 datagram (the version nibble decides).
///
/// IPv4 (RFC 791 3.1): IHL must be at least 5 and the header must fit in the total
/// length, which must fit in the buffer; the header checksum is verified; fragments
/// (MF set or a non-zero fragment offset) are rejected with [`WireError::Fragmented`];
/// IPv4 options are skipped.
///
/// IPv6 (RFC 8200 3): the payload length must fit in the buffer. Extension headers
/// are walked to the upper-layer header (RFC 9293 3.9.2, MUST-50: options TCP does not
/// understand are ignored; RFC 8200 4): hop-by-hop options (first only) and
/// destination options are skipped; a routing header with Segments Left 0 is ignored
/// ("the node must ignore the Routing header and proceed to process the next header",
/// RFC 8200 4.4) and one with more is [`WireError::UnsupportedExtension`], since synack
/// forwards nothing; an atomic fragment (offset 0, no more fragments, RFC 6946) is
/// processed and any other fragment is [`WireError::Fragmented`]. A hop-by-hop header
/// anywhere but first, or a chain of more than eight, is
/// [`WireError::UnsupportedExtension`]. Any other next header is reported as the
/// protocol, with what follows it as the payload. Jumbograms (RFC 2675) carry payload
/// length 0 and are therefore too short for TCP.
///
/// Bytes beyond the IPv4 total length / IPv6 payload length are ignored.
pub fn parse_ip(bytes: &[u8]) -> Result<IpDatagram<'_>, WireError> {
    let first = *bytes.first().ok_or(WireError::Truncated)?;
    match first >> 4 {
        4 => parse_v4(bytes),
        6 => parse_v6(bytes),
        v => Err(WireError::BadVersion(v)),
    }
}

/// [`parse_ip`] of a datagram whose version nibble is 4. (Inlined into the receive
/// path, `tcp::parse_unverified`.)
#[inline(always)]
pub(crate) fn parse_v4(bytes: &[u8]) -> Result<IpDatagram<'_>, WireError> {
    // Speed: the fixed header as an array, read at constant offsets without bounds
    // checks.
    let Some(fixed) = bytes.first_chunk::<IPV4_HEADER_LEN>() else {
        return Err(WireError::Truncated);
    };
    let ihl = usize::from(fixed[0] & 0x0F);
    if ihl < 5 {
        return Err(WireError::BadHeaderLength);
    }
    let header_len = ihl * 4;
    let total_len = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if total_len < header_len {
        return Err(WireError::BadHeaderLength);
    }
    if total_len > bytes.len() {
        return Err(WireError::Truncated);
    }
    // RFC 791 3.1 "Header Checksum": the sum over the header including the checksum
    // field is all ones when intact.
    let intact = if header_len == IPV4_HEADER_LEN {
        // Speed: the usual header without options as five words, folded once. They are
        // taken in the machine's byte order, with no swap: the sum of byte-swapped
        // words is the byte-swapped sum (RFC 1071 2(B)), and all ones swapped is all
        // ones, so the test for all ones is the same in either order.
        fold64(sum20_ne(fixed)) == 0xFFFF
    } else {
        checksum_finish(checksum_partial(&bytes[..header_len], 0)) == 0
    };
    if !intact {
        return Err(WireError::BadIpChecksum);
    }
    let frag = u16::from_be_bytes([fixed[6], fixed[7]]);
    let more_fragments = frag & 0x2000 != 0;
    let offset = frag & 0x1FFF;
    if more_fragments || offset != 0 {
        return Err(WireError::Fragmented);
    }
    let src = Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]);
    let dst = Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]);
    Ok(IpDatagram {
        src: src.into(),
        dst: dst.into(),
        ttl: fixed[8],
        ecn: fixed[1] & ECN_MASK,
        protocol: fixed[9],
        payload: &bytes[header_len..total_len],
    })
}

/// Set CE in the ECN field of an ECN-capable IP datagram (RFC 3168 5), as a router
/// with active queue management does instead of dropping it, updating the IPv4 header
/// checksum (RFC 1624: the header sum changes by the difference of the
/// word that holds the field); false, with the datagram unchanged, when it is not
/// ECN-capable (not-ECT, or not IP).
pub fn mark_ce(pkt: &mut [u8]) -> bool {
    match pkt.first().map(|b| b >> 4) {
        Some(4) if pkt.len() >= 20 && pkt[1] & 0b11 != 0 => {
            let old = u16::from_be_bytes([pkt[0], pkt[1]]);
            pkt[1] |= 0b11;
            let new = u16::from_be_bytes([pkt[0], pkt[1]]);
            // HC' = ~(~HC + ~m + m') (RFC 1624 3, eqn. 3).
            let hc = u16::from_be_bytes([pkt[10], pkt[11]]);
            let mut sum = u32::from(!hc) + u32::from(!old) + u32::from(new);
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            pkt[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            true
        }
        // The traffic class spans bytes 0 and 1; its ECN bits are bits 4 and 5 of
        // byte 1 (RFC 8200 3). No header checksum.
        Some(6) if pkt.len() >= 40 && (pkt[1] >> 4) & 0b11 != 0 => {
            pkt[1] |= 0b11 << 4;
            true
        }
        _ => false,
    }
}

/// The addresses and ports of an IPv4 TCP datagram, read from its bytes: the
/// destination address in the high half of the first word and the source address in
/// the low half; the TCP header's first four bytes (source port, destination port) as
/// one big-endian word. `None` for anything but IPv4 with the ports in the datagram.
/// Nothing is checked beyond that: call it on a datagram that has parsed.
#[inline(always)]
pub(crate) fn v4_flow_words(bytes: &[u8]) -> Option<(u64, u32)> {
    let fixed = bytes.first_chunk::<IPV4_HEADER_LEN>()?;
    if fixed[0] >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(fixed[0] & 0x0F) * 4;
    let ports = bytes.get(header_len..)?.first_chunk::<4>()?;
    Some(flow_words(fixed, ports))
}

/// The words of [`v4_flow_words`] from an IPv4 header `ip` (of any length: the
/// addresses are in its fixed part) and the TCP header's first four bytes.
#[inline(always)]
pub(super) fn flow_words(ip: &[u8; IPV4_HEADER_LEN], ports: &[u8; 4]) -> (u64, u32) {
    let src = u32::from_be_bytes([ip[12], ip[13], ip[14], ip[15]]);
    let dst = u32::from_be_bytes([ip[16], ip[17], ip[18], ip[19]]);
    (u64::from(dst) << 32 | u64::from(src), u32::from_be_bytes(*ports))
}

fn parse_v6(bytes: &[u8]) -> Result<IpDatagram<'_>, WireError> {
    if bytes.len() < IPV6_HEADER_LEN {
        return Err(WireError::Truncated);
    }
    let payload_len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    let end = IPV6_HEADER_LEN + payload_len;
    if end > bytes.len() {
        return Err(WireError::Truncated);
    }
    let stop = walk_v6_extensions(bytes[6], &bytes[..end])?;
    if stop.fragment {
        return Err(WireError::Fragmented);
    }
    let (next_header, upper) = (stop.next, stop.off);
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&bytes[8..24]);
    dst.copy_from_slice(&bytes[24..40]);
    Ok(IpDatagram {
        src: Ipv6Addr::from(src).into(),
        dst: Ipv6Addr::from(dst).into(),
        ttl: bytes[7],
        // The traffic class spans the first two bytes (RFC 8200 3): its low two bits
        // are the second byte's bits 4 and 5.
        ecn: (bytes[1] >> 4) & ECN_MASK,
        protocol: next_header,
        payload: &bytes[upper..end],
    })
}

/// Where [`walk_v6_extensions`] stopped.
pub(super) struct V6Stop {
    /// The upper-layer protocol, or [`IPV6_FRAGMENT`] at a real fragment's header.
    pub(super) next: u8,
    /// The offset of that header.
    pub(super) off: usize,
    /// The offset of the Next Header byte that names it (6: the fixed header's).
    pub(super) next_at: usize,
    /// Stopped at the Fragment header of a real fragment (not an atomic one): what
    /// precedes it is the Unfragmentable Part (RFC 8200 4.5).
    pub(super) fragment: bool,
}

/// Follow the extension headers of an IPv6 datagram (`bytes`, cut at its payload
/// length) from `next`, the fixed header's Next Header, to the upper-layer header or
/// to the Fragment header of a real fragment. See [`parse_ip`] for what is skipped
/// and what refused. Cold: TCP datagrams rarely carry extension headers.
#[cold]
pub(super) fn walk_v6_extensions(mut next: u8, bytes: &[u8]) -> Result<V6Stop, WireError> {
    let (mut off, mut next_at) = (IPV6_HEADER_LEN, 6);
    for n in 0..=IPV6_MAX_EXT_HEADERS {
        if !matches!(next, IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_FRAGMENT | IPV6_DEST_OPTIONS) {
            return Ok(V6Stop { next, off, next_at, fragment: false });
        }
        // "The Hop-by-Hop Options header, when present, must immediately follow the
        // IPv6 header" (RFC 8200 4.3).
        if n == IPV6_MAX_EXT_HEADERS || (next == IPV6_HOP_BY_HOP && off != IPV6_HEADER_LEN) {
            return Err(WireError::UnsupportedExtension(next));
        }
        let head = bytes.get(off..off + 4).ok_or(WireError::Truncated)?;
        // Every one of these starts with Next Header; all but the fragment header give
        // their length in 8-octet units, not counting the first 8 (RFC 8200 4.3 - 4.6).
        let len = if next == IPV6_FRAGMENT { 8 } else { (usize::from(head[1]) + 1) * 8 };
        if bytes.len() < off + len {
            return Err(WireError::Truncated);
        }
        match next {
            IPV6_ROUTING if head[3] != 0 => return Err(WireError::UnsupportedExtension(next)),
            IPV6_FRAGMENT => {
                let offset_and_more = u16::from_be_bytes([head[2], head[3]]);
                // Fragment offset (13 bits) and the M flag: an atomic fragment has both 0.
                if offset_and_more & 0xFFF9 != 0 {
                    return Ok(V6Stop { next, off, next_at, fragment: true });
                }
            }
            _ => {}
        }
        (next, next_at, off) = (head[0], off, off + len);
    }
    Err(WireError::UnsupportedExtension(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid IPv4 header (20 bytes + `opts`) followed by `payload`, checksum filled.
    fn v4(opts: &[u8], payload: &[u8], frag: u16, proto: u8) -> Vec<u8> {
        let hlen = 20 + opts.len();
        let total = hlen + payload.len();
        let mut b = vec![
            0x40 | (hlen / 4) as u8,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            (frag >> 8) as u8,
            frag as u8,
            64,
            proto,
            0,
            0,
            192,
            0,
            2,
            1,
            198,
            51,
            100,
            7,
        ];
        b.extend_from_slice(opts);
        let c = checksum_finish(checksum_partial(&b, 0));
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    fn v6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        b.push(next);
        b.push(33);
        b.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().expect("literal").octets());
        b.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().expect("literal").octets());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn ipv4_fields_and_payload_are_extracted() {
        let b = v4(&[], b"hello", 0x4000, IPPROTO_TCP);
        let d = parse_ip(&b).expect("valid");
        assert_eq!(d.src, IpAddr::from([192, 0, 2, 1]));
        assert_eq!(d.dst, IpAddr::from([198, 51, 100, 7]));
        assert_eq!(d.ttl, 64);
        assert_eq!(d.protocol, IPPROTO_TCP);
        assert_eq!(d.payload, b"hello");
    }

    #[test]
    fn ipv4_options_are_skipped() {
        let opts = [1, 1, 1, 0, 0x44, 8, 5, 0];
        let b = v4(&opts, b"xyz", 0, IPPROTO_ICMP);
        let d = parse_ip(&b).expect("valid");
        assert_eq!(d.payload, b"xyz");
        assert_eq!(d.protocol, IPPROTO_ICMP);
    }

    #[test]
    fn ipv4_trailing_bytes_beyond_total_length_are_ignored() {
        let mut b = v4(&[], b"abc", 0, IPPROTO_TCP);
        b.extend_from_slice(&[0xEE; 7]);
        assert_eq!(parse_ip(&b).expect("valid").payload, b"abc");
    }

    #[test]
    fn ipv4_total_length_past_buffer_is_truncated() {
        let b = v4(&[], b"abcd", 0, IPPROTO_TCP);
        assert_eq!(parse_ip(&b[..b.len() - 1]).expect_err("must be rejected"), WireError::Truncated);
        assert_eq!(parse_ip(&b[..19]).expect_err("must be rejected"), WireError::Truncated);
    }

    #[test]
    fn ipv4_ihl_below_five_is_bad_header_length() {
        let mut b = v4(&[], b"", 0, IPPROTO_TCP);
        b[0] = 0x44;
        assert_eq!(parse_ip(&b).expect_err("must be rejected"), WireError::BadHeaderLength);
    }

    #[test]
    fn ipv4_total_length_below_header_length_is_bad_header_length() {
        let mut b = v4(&[], b"abcdefgh", 0, IPPROTO_TCP);
        b[2] = 0;
        b[3] = 19;
        assert_eq!(parse_ip(&b).expect_err("must be rejected"), WireError::BadHeaderLength);
    }

    #[test]
    fn every_bit_flip_in_the_checksummed_fields_of_a_plain_header_is_caught() {
        // The 20-byte header is summed word by word (a fast path): any single bit flipped
        // in the TTL, protocol, checksum, addresses, ID or flags must fail the checksum,
        // with or without IPv4 options.
        for opts in [&[][..], &[1, 1, 1, 0][..]] {
            let good = v4(opts, b"abcde", 0, IPPROTO_TCP);
            assert!(parse_ip(&good).is_ok());
            for byte in (1..2).chain(4..6).chain(8..20 + opts.len()) {
                for bit in 0..8 {
                    let mut b = good.clone();
                    b[byte] ^= 1 << bit;
                    assert_eq!(
                        parse_ip(&b).map(|_| ()),
                        Err(WireError::BadIpChecksum),
                        "byte {byte} bit {bit}"
                    );
                }
            }
        }
    }

    #[test]
    fn ipv4_corrupted_header_fails_checksum() {
        let mut b = v4(&[], b"abc", 0, IPPROTO_TCP);
        b[8] ^= 0x01;
        assert_eq!(parse_ip(&b).expect_err("must be rejected"), WireError::BadIpChecksum);
    }

    #[test]
    fn ipv4_payload_is_not_covered_by_header_checksum() {
        let mut b = v4(&[], b"abc", 0, IPPROTO_TCP);
        b[21] ^= 0xFF;
        assert!(parse_ip(&b).is_ok());
    }

    #[test]
    fn ipv4_fragments_are_rejected() {
        // MF set.
        assert_eq!(parse_ip(&v4(&[], b"a", 0x2000, 6)).expect_err("must be rejected"), WireError::Fragmented);
        // Non-zero offset (last fragment).
        assert_eq!(parse_ip(&v4(&[], b"a", 0x0001, 6)).expect_err("must be rejected"), WireError::Fragmented);
        // DF alone is not a fragment.
        assert!(parse_ip(&v4(&[], b"a", 0x4000, 6)).is_ok());
    }

    #[test]
    fn ipv6_fields_and_payload_are_extracted() {
        let mut b = v6(IPPROTO_TCP, b"segment");
        b.extend_from_slice(&[0; 5]); // trailing padding is ignored
        let d = parse_ip(&b).expect("valid");
        assert_eq!(d.src, "2001:db8::1".parse::<IpAddr>().expect("literal"));
        assert_eq!(d.dst, "2001:db8::2".parse::<IpAddr>().expect("literal"));
        assert_eq!(d.ttl, 33);
        assert_eq!(d.protocol, IPPROTO_TCP);
        assert_eq!(d.payload, b"segment");
    }

    #[test]
    fn ipv6_payload_length_past_buffer_is_truncated() {
        let b = v6(IPPROTO_TCP, b"segment");
        assert_eq!(parse_ip(&b[..b.len() - 1]).expect_err("must be rejected"), WireError::Truncated);
        assert_eq!(parse_ip(&b[..39]).expect_err("must be rejected"), WireError::Truncated);
    }

    /// An extension header of `kind` with next header `next` and `len` bytes in all
    /// (a multiple of 8), its fields after the first two zero but for `fill`.
    fn ext(kind: u8, next: u8, len: usize, fill: &[(usize, u8)]) -> Vec<u8> {
        let mut h = vec![0u8; len];
        h[0] = next;
        if kind != IPV6_FRAGMENT {
            h[1] = (len / 8 - 1) as u8;
        }
        for &(i, v) in fill {
            h[i] = v;
        }
        h
    }

    #[test]
    fn ipv6_extension_headers_are_walked_to_the_upper_layer() {
        // RFC 9293 3.9.2 (MUST-50) and RFC 8200 4: hop-by-hop (first), destination
        // options, a routing header with Segments Left 0 and an atomic fragment are
        // passed over; the payload is the upper-layer header and what follows.
        let tcp = b"0123456789abcdefghij";
        let mut chain = ext(IPV6_HOP_BY_HOP, IPV6_DEST_OPTIONS, 8, &[]);
        chain.extend(ext(IPV6_DEST_OPTIONS, IPV6_ROUTING, 16, &[]));
        chain.extend(ext(IPV6_ROUTING, IPV6_FRAGMENT, 24, &[(2, 0)]));
        chain.extend(ext(IPV6_FRAGMENT, IPPROTO_TCP, 8, &[]));
        chain.extend_from_slice(tcp);
        let datagram = v6(IPV6_HOP_BY_HOP, &chain);
        let d = parse_ip(&datagram).expect("walked");
        assert_eq!(d.protocol, IPPROTO_TCP);
        assert_eq!(d.payload, tcp);
        // Each alone, too.
        for kind in [IPV6_HOP_BY_HOP, IPV6_ROUTING, IPV6_FRAGMENT, IPV6_DEST_OPTIONS] {
            let mut p = ext(kind, IPPROTO_TCP, 8, &[]);
            p.extend_from_slice(tcp);
            assert_eq!(parse_ip(&v6(kind, &p)).expect("walked").payload, tcp, "header {kind}");
        }
        assert_eq!(parse_ip(&v6(IPPROTO_ICMPV6, b"")).expect("valid").protocol, 58);
    }

    #[test]
    fn ipv6_extension_headers_synack_cannot_honour_are_refused() {
        let tcp = [0u8; 20];
        let with = |kind: u8, fill: &[(usize, u8)]| {
            let mut p = ext(kind, IPPROTO_TCP, 8, fill);
            p.extend_from_slice(&tcp);
            parse_ip(&v6(kind, &p)).map(|d| d.protocol)
        };
        // A routing header with segments left: this host would have to forward.
        assert_eq!(with(IPV6_ROUTING, &[(3, 1)]).expect_err("refused"), WireError::UnsupportedExtension(43));
        // A real fragment: offset non-zero, or more to come.
        assert_eq!(with(IPV6_FRAGMENT, &[(3, 1)]).expect_err("refused"), WireError::Fragmented);
        assert_eq!(with(IPV6_FRAGMENT, &[(2, 1)]).expect_err("refused"), WireError::Fragmented);
        // Hop-by-hop after another header.
        let mut p = ext(IPV6_DEST_OPTIONS, IPV6_HOP_BY_HOP, 8, &[]);
        p.extend(ext(IPV6_HOP_BY_HOP, IPPROTO_TCP, 8, &[]));
        p.extend_from_slice(&tcp);
        assert_eq!(
            parse_ip(&v6(IPV6_DEST_OPTIONS, &p)).expect_err("refused"),
            WireError::UnsupportedExtension(0)
        );
        // A chain longer than eight headers.
        let mut p = Vec::new();
        for _ in 0..9 {
            p.extend(ext(IPV6_DEST_OPTIONS, IPV6_DEST_OPTIONS, 8, &[]));
        }
        p.extend_from_slice(&tcp);
        assert_eq!(
            parse_ip(&v6(IPV6_DEST_OPTIONS, &p)).expect_err("refused"),
            WireError::UnsupportedExtension(60)
        );
        // A header cut short by the payload length.
        let p = ext(IPV6_DEST_OPTIONS, IPPROTO_TCP, 16, &[]);
        assert_eq!(parse_ip(&v6(IPV6_DEST_OPTIONS, &p[..12])).expect_err("refused"), WireError::Truncated);
    }

    #[test]
    fn other_versions_and_empty_input_are_rejected() {
        assert_eq!(parse_ip(&[]).expect_err("must be rejected"), WireError::Truncated);
        assert_eq!(parse_ip(&[0x50; 60]).expect_err("must be rejected"), WireError::BadVersion(5));
        assert_eq!(parse_ip(&[0x00; 60]).expect_err("must be rejected"), WireError::BadVersion(0));
    }

    /// An IPv4 datagram of one payload byte whose ECN field is `ecn`, checksum valid.
    fn with_ecn(ecn: u8) -> Vec<u8> {
        let mut d = v4(&[], b"x", 0, IPPROTO_TCP);
        d[1] = ecn;
        d[10..12].fill(0);
        let sum = checksum_finish(checksum_partial(&d[..20], 0));
        d[10..12].copy_from_slice(&sum.to_be_bytes());
        d
    }

    #[test]
    fn mark_ce_sets_ce_on_ect_datagrams_only_and_keeps_the_ipv4_checksum_valid() {
        for ecn in [0b01, ECN_ECT0, ECN_CE] {
            let mut d = with_ecn(ecn);
            assert_eq!(parse_ip(&d).map(|p| p.ecn), Ok(ecn));
            assert!(mark_ce(&mut d));
            // parse_ip verifies the header checksum (RFC 791 3.1).
            assert_eq!(parse_ip(&d).map(|p| p.ecn), Ok(ECN_CE), "from {ecn}");
        }
        let mut not_ect = with_ecn(0);
        let before = not_ect.clone();
        assert!(!mark_ce(&mut not_ect));
        assert_eq!(not_ect, before);
        let mut v6 = vec![0u8; 40];
        v6[0] = 0x60;
        v6[6] = IPPROTO_TCP;
        assert!(!mark_ce(&mut v6), "IPv6 not-ECT");
        v6[1] = ECN_ECT0 << 4;
        assert!(mark_ce(&mut v6));
        assert_eq!(parse_ip(&v6).map(|p| p.ecn), Ok(ECN_CE));
        assert!(!mark_ce(&mut [0x45, 2]), "too short to be IPv4");
    }
}
