//! ICMP (RFC 792) and ICMPv6 (RFC 4443) error messages, read just far enough to act on
//! them: what kind of error, the next-hop MTU of a "too big" message, and the TCP
//! segment it is about (RFC 9293 3.9.2.2: "The necessary demultiplexing information can
//! be found in the IP header contained within the ICMP message").
//!
//! Hand-written, like the rest of this module, rather than taken from a packet crate:
//! the quoted datagram is truncated by design (an IPv4 header and "the first 64 bits of
//! the original datagram's data", RFC 792), which a datagram parser rightly refuses, and
//! the stack reads it into its own address and sequence types in one pass. The tests
//! build the messages with `etherparse` and check this reading against them.

use super::checksum::{checksum_finish, checksum_partial, pseudo_header_sum};
use super::ip::{IpDatagram, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPV4_HEADER_LEN, IPV6_HEADER_LEN};
use super::tcp::write_ip_header;
use super::{IpOut, WireError};
use crate::error::IcmpError;
use crate::seq::SeqNum;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What an ICMP error asks of the TCP connection it names (RFC 9293 3.9.2.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IcmpAction {
    /// "Soft Errors": "a TCP implementation MUST NOT abort the connection (MUST-56), and
    /// it SHOULD make the information available to the application (SHLD-25)."
    Soft(IcmpError),
    /// "Hard Errors": "TCP implementations SHOULD abort the connection (SHLD-26)."
    Hard(IcmpError),
    /// Fragmentation needed and DF set (ICMP type 3 code 4, RFC 1191 4) or Packet Too
    /// Big (ICMPv6 type 2, RFC 8201 4): the path carries datagrams of at most this many
    /// bytes. For an old router that sends no MTU (RFC 1191 5), the plateau below the
    /// quoted datagram's length.
    TooBig(u32),
}

/// An ICMP or ICMPv6 error about a TCP segment this host sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct IcmpMessage {
    /// What it asks.
    pub(crate) action: IcmpAction,
    /// The quoted segment's source: this host's end of the connection.
    pub(crate) local: SocketAddr,
    /// The quoted segment's destination: the peer.
    pub(crate) remote: SocketAddr,
    /// The quoted segment's sequence number (RFC 5927 4.1 checks it).
    pub(crate) seq: SeqNum,
}

/// Why an ICMP datagram is not acted on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IcmpSkip {
    /// Too short, a bad checksum, or a quoted datagram that is not a TCP segment of
    /// the same family with its ports and sequence number.
    Malformed,
    /// Not an error message (an echo, a router advertisement, ...) or an error TCP
    /// does not act on: Source Quench, "MUST silently discard" (MUST-55, RFC 6633).
    NotForTcp,
}

/// RFC 1191 7's table of common MTU plateaus, the estimate when a "fragmentation
/// needed" message carries no next-hop MTU (RFC 1191 5).
const PLATEAUS: [u32; 11] = [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/// Read the ICMP or ICMPv6 error in `ip` (a datagram whose protocol is ICMP or
/// ICMPv6). The checksum is verified: over the message for ICMP (RFC 792), with the
/// IPv6 pseudo-header for ICMPv6 (RFC 4443 2.3).
pub(crate) fn parse_icmp_error(ip: &IpDatagram<'_>) -> Result<IcmpMessage, IcmpSkip> {
    let msg = ip.payload;
    let head = msg.first_chunk::<8>().ok_or(IcmpSkip::Malformed)?;
    let (v6, sum) = match (ip.protocol, ip.src, ip.dst) {
        (IPPROTO_ICMP, IpAddr::V4(_), IpAddr::V4(_)) => (false, checksum_partial(msg, 0)),
        (IPPROTO_ICMPV6, IpAddr::V6(_), IpAddr::V6(_)) => {
            let len = u32::try_from(msg.len()).map_err(|_| IcmpSkip::Malformed)?;
            (true, checksum_partial(msg, pseudo_header_sum(ip.src, ip.dst, IPPROTO_ICMPV6, len)))
        }
        _ => return Err(IcmpSkip::Malformed),
    };
    if checksum_finish(sum) != 0 {
        return Err(IcmpSkip::Malformed);
    }
    let (kind, code) = (head[0], head[1]);
    let word = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    let quoted = &msg[8..];
    let action = if v6 { classify_v6(kind, code, word) } else { classify_v4(kind, code, word, quoted) }
        .ok_or(IcmpSkip::NotForTcp)?;
    let (local, remote, seq) = quoted_segment(quoted, v6).ok_or(IcmpSkip::Malformed)?;
    Ok(IcmpMessage { action, local, remote, seq })
}

/// RFC 9293 3.9.2.2 for ICMP (RFC 792, RFC 1122 4.2.3.9, RFC 1812 5.2.7.1 for the
/// codes past 5). `None` for what TCP does not act on.
fn classify_v4(kind: u8, code: u8, word: u32, quoted: &[u8]) -> Option<IcmpAction> {
    use IcmpAction::{Hard, Soft};
    Some(match (kind, code) {
        // "For IPv4 ICMP, these include: Destination Unreachable -- codes 0, 1, 5; Time
        // Exceeded -- codes 0, 1; and Parameter Problem." The codes RFC 1812 added are
        // taken as soft too: none of them says the peer itself refuses.
        (3, 0 | 6 | 11) => Soft(IcmpError::NetworkUnreachable),
        (3, 1 | 7 | 12) => Soft(IcmpError::HostUnreachable),
        (3, 5) => Soft(IcmpError::SourceRouteFailed),
        (3, 8) => Soft(IcmpError::HostUnreachable),
        (3, 9 | 10 | 13 | 14 | 15) => Soft(IcmpError::Prohibited),
        // "For ICMP these include Destination Unreachable -- codes 2-4."
        (3, 2) => Hard(IcmpError::ProtocolUnreachable),
        (3, 3) => Hard(IcmpError::PortUnreachable),
        // Code 4 is the message Path MTU Discovery runs on (RFC 1191 4): the next-hop
        // MTU in the low 16 bits of the second word, zero from routers older than it.
        (3, 4) => IcmpAction::TooBig(match word & 0xFFFF {
            0 => plateau_below(quoted),
            mtu => mtu,
        }),
        (11, 0 | 1) => Soft(IcmpError::TimeExceeded),
        (12, _) => Soft(IcmpError::ParameterProblem),
        // Source Quench (type 4): "TCP implementations MUST silently discard any
        // received ICMP Source Quench messages (MUST-55)." And every other type is
        // not an error about a segment.
        _ => return None,
    })
}

/// RFC 9293 3.9.2.2 for ICMPv6 (RFC 4443 3). `None` for what TCP does not act on.
fn classify_v6(kind: u8, code: u8, word: u32) -> Option<IcmpAction> {
    use IcmpAction::{Hard, Soft};
    Some(match (kind, code) {
        // "For ICMPv6, these include: Destination Unreachable -- codes 0, 3; Time
        // Exceeded -- codes 0, 1; and Parameter Problem -- codes 0, 1, 2."
        (1, 0) => Soft(IcmpError::NetworkUnreachable),
        (1, 3) => Soft(IcmpError::HostUnreachable),
        // Administratively prohibited, beyond the scope of the source address, source
        // address failed policy, reject route (RFC 4443 3.1): soft, as for ICMP.
        (1, 1 | 5 | 6) => Soft(IcmpError::Prohibited),
        (1, 2) => Soft(IcmpError::NetworkUnreachable),
        // Port unreachable is ICMP's code 3 (RFC 4443 3.1, "the transport protocol
        // ... has no listener"): hard, as there.
        (1, 4) => Hard(IcmpError::PortUnreachable),
        // Packet Too Big: the MTU is the whole second word (RFC 4443 3.2).
        (2, 0) => IcmpAction::TooBig(word),
        (3, 0 | 1) => Soft(IcmpError::TimeExceeded),
        (4, 0..=2) => Soft(IcmpError::ParameterProblem),
        _ => return None,
    })
}

/// The largest plateau of RFC 1191 7 below the quoted IPv4 datagram's total length
/// (68 when the length cannot be read: the smallest MTU of RFC 791).
fn plateau_below(quoted: &[u8]) -> u32 {
    let total = quoted.get(2..4).map_or(0, |b| u32::from(u16::from_be_bytes([b[0], b[1]])));
    PLATEAUS.iter().copied().find(|&p| p < total).unwrap_or(68)
}

/// The addresses, ports and sequence number of the TCP segment an error quotes: its
/// IP header, then at least the first eight bytes of the TCP header (RFC 792: "the
/// internet header plus the first 64 bits of the original datagram's data"; RFC 4443
/// quotes as much as fits). `None` when those are not all there, when the quoted
/// datagram is not TCP, or when its family is not the message's.
fn quoted_segment(quoted: &[u8], v6: bool) -> Option<(SocketAddr, SocketAddr, SeqNum)> {
    let (src, dst, tcp): (IpAddr, IpAddr, &[u8]) = if v6 {
        let h = quoted.first_chunk::<IPV6_HEADER_LEN>()?;
        // (A quoted datagram with extension headers before TCP is not followed.)
        if h[0] >> 4 != 6 || h[6] != IPPROTO_TCP {
            return None;
        }
        let src = Ipv6Addr::from(*h[8..24].first_chunk::<16>()?);
        let dst = Ipv6Addr::from(*h[24..40].first_chunk::<16>()?);
        (src.into(), dst.into(), &quoted[IPV6_HEADER_LEN..])
    } else {
        let h = quoted.first_chunk::<IPV4_HEADER_LEN>()?;
        let header_len = usize::from(h[0] & 0x0F) * 4;
        if h[0] >> 4 != 4 || header_len < IPV4_HEADER_LEN || h[9] != IPPROTO_TCP {
            return None;
        }
        let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
        let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
        (src.into(), dst.into(), quoted.get(header_len..)?)
    };
    let t = tcp.first_chunk::<8>()?;
    let src_port = u16::from_be_bytes([t[0], t[1]]);
    let dst_port = u16::from_be_bytes([t[2], t[3]]);
    let seq = SeqNum(u32::from_be_bytes([t[4], t[5], t[6], t[7]]));
    Some((SocketAddr::new(src, src_port), SocketAddr::new(dst, dst_port), seq))
}

/// Write an ICMP (IPv4) or ICMPv6 (IPv6) message from `src` to `dst` into `buf`, IP
/// header included, and return the datagram's length: the 8-byte header `kind`,
/// `code`, the checksum (RFC 792; for ICMPv6 over the IPv6 pseudo-header, RFC 4443 2.3)
/// and `rest` (the second word: an echo's identifier and sequence number, a "too big"
/// message's MTU, ...), then `body`. The IP header is the one [`super::emit`] writes
/// (DF set on IPv4, Differentiated Services field 0).
///
/// The stack's own ICMP (a reassembly's Time Exceeded, Echo Replies) goes through
/// `icmp_message` and `emit_piece` instead, since a reply may need fragments; the
/// simulator, the packetdrill runner and the fuzz harness play routers with this.
///
/// Errors: [`WireError::AddressFamilyMismatch`], [`WireError::TooLong`] past 65535
/// bytes, [`WireError::BufferTooSmall`].
pub fn emit_icmp(
    buf: &mut [u8],
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    (kind, code): (u8, u8),
    rest: u32,
    body: &[u8],
) -> Result<usize, WireError> {
    let (ip_len, protocol) = match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => (IPV4_HEADER_LEN, IPPROTO_ICMP),
        (IpAddr::V6(_), IpAddr::V6(_)) => (IPV6_HEADER_LEN, IPPROTO_ICMPV6),
        _ => return Err(WireError::AddressFamilyMismatch),
    };
    let msg_len = 8 + body.len();
    let total = ip_len + msg_len;
    let length = u16::try_from(if protocol == IPPROTO_ICMP { total } else { msg_len })
        .map_err(|_| WireError::TooLong)?;
    let buf = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
    let (hdr, msg) = buf.split_at_mut(ip_len);
    write_ip_header(hdr, src, dst, protocol, IpOut { ttl, ds: 0 }, length);
    write_message(msg, src, dst, (kind, code), rest, body);
    Ok(total)
}

/// The ICMP or ICMPv6 message alone, as [`emit_icmp`] writes it after the IP header
/// (checksum included): what the stack queues when the datagram may have to leave in
/// fragments (`wire::emit_piece`). `None` when the addresses' families differ or the
/// message would not fit in a datagram (65,535 bytes with the IPv4 header, a payload of
/// 65,535 bytes for IPv6).
pub(crate) fn icmp_message(
    src: IpAddr,
    dst: IpAddr,
    kind: (u8, u8),
    rest: u32,
    body: &[u8],
) -> Option<Vec<u8>> {
    let max = match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => usize::from(u16::MAX) - IPV4_HEADER_LEN,
        (IpAddr::V6(_), IpAddr::V6(_)) => usize::from(u16::MAX),
        _ => return None,
    };
    let mut msg = vec![0; 8 + body.len()];
    if msg.len() > max {
        return None;
    }
    write_message(&mut msg, src, dst, kind, rest, body);
    Some(msg)
}

/// Fill `msg` (exactly `8 + body.len()` bytes) with an ICMP message: type, code, the
/// checksum (RFC 792: "the 16-bit one's complement of the one's complement sum of the
/// ICMP message"; RFC 4443 2.3: for ICMPv6 over the IPv6 pseudo-header too), `rest`,
/// `body`.
fn write_message(msg: &mut [u8], src: IpAddr, dst: IpAddr, (kind, code): (u8, u8), rest: u32, body: &[u8]) {
    msg[..4].copy_from_slice(&[kind, code, 0, 0]);
    msg[4..8].copy_from_slice(&rest.to_be_bytes());
    msg[8..].copy_from_slice(body);
    let pseudo = match src {
        IpAddr::V4(_) => 0,
        IpAddr::V6(_) => pseudo_header_sum(src, dst, IPPROTO_ICMPV6, msg.len() as u32),
    };
    let sum = checksum_finish(checksum_partial(msg, pseudo));
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_ip;
    use etherparse::icmpv4::{DestUnreachableHeader, ParameterProblemHeader, TimeExceededCode};
    use etherparse::icmpv6::{self, DestUnreachableCode};
    use etherparse::{IcmpEchoHeader, Icmpv4Type, Icmpv6Type, PacketBuilder};

    const US4: [u8; 4] = [192, 0, 2, 2];
    const PEER4: [u8; 4] = [192, 0, 2, 1];
    const ROUTER4: [u8; 4] = [192, 0, 2, 254];
    const US6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const PEER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const ROUTER6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe];

    /// A TCP segment from us (port 40000, SEQ 0xdeadbeef) to the peer's port 80 with
    /// `payload` bytes of data, as the stack would have sent it.
    fn our_segment(v6: bool, payload: usize) -> Vec<u8> {
        let b = if v6 {
            PacketBuilder::ipv6(US6, PEER6, 64).tcp(40000, 80, 0xdead_beef, 1000)
        } else {
            PacketBuilder::ipv4(US4, PEER4, 64).tcp(40000, 80, 0xdead_beef, 1000)
        };
        let mut out = Vec::new();
        b.ack(7).write(&mut out, &vec![0x5a; payload]).expect("segment");
        out
    }

    /// An ICMP message from the router to us quoting `quoted` (truncated to the IPv4
    /// header and 8 bytes, as RFC 792 quotes).
    fn icmp4(t: Icmpv4Type, quoted: &[u8]) -> Vec<u8> {
        let keep = quoted.len().min(usize::from(quoted[0] & 0x0F) * 4 + 8);
        let mut out = Vec::new();
        PacketBuilder::ipv4(ROUTER4, US4, 64).icmpv4(t).write(&mut out, &quoted[..keep]).expect("icmp");
        out
    }

    /// An ICMPv6 message from the router to us quoting `quoted` whole.
    fn icmp6(t: Icmpv6Type, quoted: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv6(ROUTER6, US6, 64).icmpv6(t).write(&mut out, quoted).expect("icmpv6");
        out
    }

    fn read(datagram: &[u8]) -> Result<IcmpMessage, IcmpSkip> {
        parse_icmp_error(&parse_ip(datagram).expect("an intact IP datagram"))
    }

    fn action_of(datagram: &[u8]) -> IcmpAction {
        read(datagram).expect("an error TCP acts on").action
    }

    #[test]
    fn the_quoted_segment_names_our_end_the_peer_and_the_sequence_number() {
        // RFC 9293 3.9.2.2: "The necessary demultiplexing information can be found in
        // the IP header contained within the ICMP message."
        for v6 in [false, true] {
            let seg = our_segment(v6, 100);
            let m = if v6 {
                icmp6(Icmpv6Type::DestinationUnreachable(DestUnreachableCode::Port), &seg)
            } else {
                icmp4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port), &seg)
            };
            let msg = read(&m).expect("parsed");
            let (us, peer): (IpAddr, IpAddr) =
                if v6 { (US6.into(), PEER6.into()) } else { (US4.into(), PEER4.into()) };
            assert_eq!(msg.local, SocketAddr::new(us, 40000));
            assert_eq!(msg.remote, SocketAddr::new(peer, 80));
            assert_eq!(msg.seq, SeqNum(0xdead_beef));
            assert_eq!(msg.action, IcmpAction::Hard(IcmpError::PortUnreachable));
        }
    }

    #[test]
    fn icmp_codes_are_soft_or_hard_as_rfc_9293_lists_them() {
        // 3.9.2.2: soft, "Destination Unreachable -- codes 0, 1, 5; Time Exceeded --
        // codes 0, 1; and Parameter Problem"; hard, "Destination Unreachable -- codes 2-4"
        // (code 4 being Path MTU Discovery's message, RFC 1191).
        let seg = our_segment(false, 10);
        let du = |h| action_of(&icmp4(Icmpv4Type::DestinationUnreachable(h), &seg));
        use IcmpAction::{Hard, Soft};
        assert_eq!(du(DestUnreachableHeader::Network), Soft(IcmpError::NetworkUnreachable));
        assert_eq!(du(DestUnreachableHeader::Host), Soft(IcmpError::HostUnreachable));
        assert_eq!(du(DestUnreachableHeader::SourceRouteFailed), Soft(IcmpError::SourceRouteFailed));
        assert_eq!(du(DestUnreachableHeader::Protocol), Hard(IcmpError::ProtocolUnreachable));
        assert_eq!(du(DestUnreachableHeader::Port), Hard(IcmpError::PortUnreachable));
        assert_eq!(
            du(DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1280 }),
            IcmpAction::TooBig(1280)
        );
        // RFC 1812's later codes say nothing of the peer itself: soft.
        assert_eq!(du(DestUnreachableHeader::FilterProhibited), Soft(IcmpError::Prohibited));
        assert_eq!(du(DestUnreachableHeader::HostUnknown), Soft(IcmpError::HostUnreachable));
        for code in [TimeExceededCode::TtlExceededInTransit, TimeExceededCode::FragmentReassemblyTimeExceeded]
        {
            assert_eq!(
                action_of(&icmp4(Icmpv4Type::TimeExceeded(code), &seg)),
                Soft(IcmpError::TimeExceeded)
            );
        }
        let pp = Icmpv4Type::ParameterProblem(ParameterProblemHeader::PointerIndicatesError(3));
        assert_eq!(action_of(&icmp4(pp, &seg)), Soft(IcmpError::ParameterProblem));
    }

    #[test]
    fn icmpv6_codes_are_soft_or_hard_as_rfc_9293_lists_them() {
        // 3.9.2.2: soft, "Destination Unreachable -- codes 0, 3; Time Exceeded -- codes
        // 0, 1; and Parameter Problem -- codes 0, 1, 2"; port unreachable (RFC 4443 3.1)
        // hard as ICMP's code 3; Packet Too Big for Path MTU Discovery (RFC 8201).
        let seg = our_segment(true, 10);
        let du = |c| action_of(&icmp6(Icmpv6Type::DestinationUnreachable(c), &seg));
        use IcmpAction::{Hard, Soft};
        assert_eq!(du(DestUnreachableCode::NoRoute), Soft(IcmpError::NetworkUnreachable));
        assert_eq!(du(DestUnreachableCode::Address), Soft(IcmpError::HostUnreachable));
        assert_eq!(du(DestUnreachableCode::Prohibited), Soft(IcmpError::Prohibited));
        assert_eq!(du(DestUnreachableCode::Port), Hard(IcmpError::PortUnreachable));
        assert_eq!(action_of(&icmp6(Icmpv6Type::PacketTooBig { mtu: 1400 }, &seg)), IcmpAction::TooBig(1400));
        let te = Icmpv6Type::TimeExceeded(icmpv6::TimeExceededCode::HopLimitExceeded);
        assert_eq!(action_of(&icmp6(te, &seg)), Soft(IcmpError::TimeExceeded));
        let pp = Icmpv6Type::ParameterProblem(icmpv6::ParameterProblemHeader {
            code: icmpv6::ParameterProblemCode::UnrecognizedNextHeader,
            pointer: 6,
        });
        assert_eq!(action_of(&icmp6(pp, &seg)), Soft(IcmpError::ParameterProblem));
    }

    #[test]
    fn source_quench_and_non_errors_are_not_for_tcp() {
        // MUST-55: "TCP implementations MUST silently discard any received ICMP Source
        // Quench messages."
        let seg = our_segment(false, 10);
        let quench = Icmpv4Type::Unknown { type_u8: 4, code_u8: 0, bytes5to8: [0; 4] };
        assert_eq!(read(&icmp4(quench, &seg)), Err(IcmpSkip::NotForTcp));
        let echo = Icmpv4Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 });
        assert_eq!(read(&icmp4(echo, &seg)), Err(IcmpSkip::NotForTcp));
        let echo6 = Icmpv6Type::EchoReply(IcmpEchoHeader { id: 1, seq: 1 });
        assert_eq!(read(&icmp6(echo6, &our_segment(true, 10))), Err(IcmpSkip::NotForTcp));
    }

    #[test]
    fn a_bad_checksum_or_a_short_quote_is_malformed() {
        let seg = our_segment(false, 10);
        let good = icmp4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port), &seg);
        assert!(read(&good).is_ok());
        // A flipped bit in the quoted data: the ICMP checksum (RFC 792) fails.
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(read(&bad), Err(IcmpSkip::Malformed));
        // ICMPv6's checksum covers the pseudo-header (RFC 4443 2.3): the same message
        // claimed from another source fails.
        let six = icmp6(Icmpv6Type::PacketTooBig { mtu: 1280 }, &our_segment(true, 10));
        assert!(read(&six).is_ok());
        let mut moved = six.clone();
        moved[23] ^= 1; // the last byte of the outer source address
        assert_eq!(read(&moved), Err(IcmpSkip::Malformed));
        // Fewer than the 8 bytes of TCP header that carry the ports and SEQ.
        let short = icmp4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port), &seg[..20 + 7]);
        assert_eq!(read(&short), Err(IcmpSkip::Malformed));
        // A quoted UDP datagram is no connection of ours.
        let mut udp = Vec::new();
        PacketBuilder::ipv4(US4, PEER4, 64).udp(40000, 53).write(&mut udp, b"query").expect("udp");
        let about_udp = icmp4(Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::Port), &udp);
        assert_eq!(read(&about_udp), Err(IcmpSkip::Malformed));
    }

    #[test]
    fn emitted_messages_are_what_etherparse_builds() {
        // The same error from both builders, byte for byte, for each family.
        for v6 in [false, true] {
            let seg = our_segment(v6, 100);
            let (want, router, us): (Vec<u8>, IpAddr, IpAddr) = if v6 {
                (icmp6(Icmpv6Type::PacketTooBig { mtu: 1280 }, &seg), ROUTER6.into(), US6.into())
            } else {
                let t = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                    next_hop_mtu: 1000,
                });
                (icmp4(t, &seg), ROUTER4.into(), US4.into())
            };
            let (kind, rest, quote) = if v6 { (2, 1280, &seg[..]) } else { (3, 1000, &seg[..28]) };
            let code = if v6 { 0 } else { 4 };
            let mut got = vec![0u8; 2000];
            let n = emit_icmp(&mut got, router, us, 64, (kind, code), rest, quote).expect("emit");
            got.truncate(n);
            // (etherparse leaves the IPv4 identification 0 and sets DF, as `emit_icmp` does.)
            assert_eq!(got, want, "v6 {v6}");
        }
        let mut small = [0u8; 20];
        assert_eq!(
            emit_icmp(&mut small, ROUTER4.into(), US4.into(), 64, (3, 4), 0, &[]),
            Err(WireError::BufferTooSmall)
        );
        assert_eq!(
            emit_icmp(&mut [0u8; 100], ROUTER4.into(), US6.into(), 64, (3, 4), 0, &[]),
            Err(WireError::AddressFamilyMismatch)
        );
    }

    #[test]
    fn fragmentation_needed_without_an_mtu_takes_the_plateau_below_the_datagram() {
        // RFC 1191 5: an old router sends 0; the estimate is the next plateau of RFC
        // 1191 7 below the length of the datagram it refused.
        let seg = our_segment(false, 1460); // a 1500-byte datagram
        let m = icmp4(
            Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 0,
            }),
            &seg,
        );
        assert_eq!(action_of(&m), IcmpAction::TooBig(1492));
        let small = our_segment(false, 900); // 940 bytes
        let m = icmp4(
            Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
                next_hop_mtu: 0,
            }),
            &small,
        );
        assert_eq!(action_of(&m), IcmpAction::TooBig(508));
    }
}
