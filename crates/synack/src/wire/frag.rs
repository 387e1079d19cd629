//! IP fragments: reading one (RFC 791 3.2 for IPv4, RFC 8200 4.5 for IPv6) and
//! writing the datagram they reassemble into. The reassembly itself (which fragments
//! belong together, holes, timeouts, memory) is `stack::reasm`'s.
//!
//! Nothing here panics on any input: a fragment that cannot be read is a
//! [`WireError`].

use super::checksum::{checksum_finish, checksum_partial};
use super::ip::{walk_v6_extensions, IPV4_HEADER_LEN, IPV6_FRAGMENT, IPV6_HEADER_LEN};
use super::tcp::write_ip_header;
use super::{IpOut, WireError};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest IPv4 datagram (RFC 791: Total Length is 16 bits) and the largest IPv6
/// payload (RFC 8200 3: Payload Length is 16 bits; jumbograms are not fragmented).
pub(crate) const MAX_DATAGRAM: usize = 65_535;

/// The IPv6 Fragment header's length (RFC 8200 4.5).
const FRAGMENT_HEADER_LEN: usize = 8;

/// One fragment of an IP datagram.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fragment<'a> {
    /// Source address.
    pub(crate) src: IpAddr,
    /// Destination address.
    pub(crate) dst: IpAddr,
    /// What ties the fragments of one datagram together with the addresses. RFC 791
    /// 3.2: "The internet identification field (ID) is used together with the source
    /// and destination address, and the protocol fields, to identify datagram
    /// fragments for reassembly" (here `protocol << 16 | ID`); RFC 8200 4.5, the 32-bit
    /// Identification of the Fragment header.
    pub(crate) id: u32,
    /// Where `data` goes in the reassembled payload, in bytes (the Fragment Offset
    /// field counts 8-octet units).
    pub(crate) offset: usize,
    /// More fragments follow (MF; the IPv6 M flag).
    pub(crate) more: bool,
    /// What the reassembled datagram is rebuilt with when this is the first fragment
    /// (offset 0): the IPv4 header with its options, or the IPv6 Unfragmentable Part
    /// (the fixed header and the extension headers before the Fragment header).
    pub(crate) header: &'a [u8],
    /// IPv6: where in `header` the Next Header byte that names the Fragment header is.
    /// (0 for IPv4.)
    pub(crate) next_at: usize,
    /// IPv6: the Fragment header's Next Header, the reassembled datagram's first header
    /// after the Unfragmentable Part. (0 for IPv4, whose header keeps its protocol.)
    pub(crate) next: u8,
    /// The fragment's data.
    pub(crate) data: &'a [u8],
}

impl Fragment<'_> {
    /// Where the fragment's data ends in the reassembled payload.
    pub(crate) fn end(&self) -> usize {
        self.offset + self.data.len()
    }

    /// Whether it is an IPv6 fragment.
    pub(crate) fn is_v6(&self) -> bool {
        self.src.is_ipv6()
    }
}

/// Read a datagram that `parse_ip` refused as [`WireError::Fragmented`] as a fragment.
///
/// The checks of RFC 791 and RFC 8200 4.5 that concern one fragment alone:
/// - IPv4: the header as `parse_ip` checks it (length, checksum);
/// - IPv6: the chain of extension headers up to the Fragment header, of the kinds the
///   Unfragmentable Part may hold;
/// - a fragment that is not the last must hold a multiple of 8 bytes (RFC 8200 4.5:
///   "If the length of a fragment ... is not a multiple of 8 octets and the M flag of
///   that fragment is 1, then that fragment must be discarded"; for IPv4 the offsets
///   of the next fragment could not be expressed otherwise, RFC 791 3.2);
/// - the reassembled datagram must fit in 65,535 bytes (RFC 8200 4.5: a fragment whose
///   "length and offset ... are such that the Payload Length of the packet reassembled
///   from that fragment would exceed 65,535 octets ... must be discarded"; for IPv4 the
///   Total Length of the whole).
///
/// Each of these failures is [`WireError::BadHeaderLength`], [`WireError::Truncated`],
/// [`WireError::BadIpChecksum`] or [`WireError::UnsupportedExtension`].
pub(crate) fn parse_fragment(bytes: &[u8]) -> Result<Fragment<'_>, WireError> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) => parse_v4(bytes),
        Some(6) => parse_v6(bytes),
        Some(v) => Err(WireError::BadVersion(v)),
        None => Err(WireError::Truncated),
    }
}

fn parse_v4(bytes: &[u8]) -> Result<Fragment<'_>, WireError> {
    let fixed = bytes.first_chunk::<IPV4_HEADER_LEN>().ok_or(WireError::Truncated)?;
    let header_len = usize::from(fixed[0] & 0x0F) * 4;
    let total_len = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if header_len < IPV4_HEADER_LEN || total_len < header_len {
        return Err(WireError::BadHeaderLength);
    }
    let datagram = bytes.get(..total_len).ok_or(WireError::Truncated)?;
    let header = &datagram[..header_len];
    if checksum_finish(checksum_partial(header, 0)) != 0 {
        return Err(WireError::BadIpChecksum);
    }
    let frag = u16::from_be_bytes([fixed[6], fixed[7]]);
    let f = Fragment {
        src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]).into(),
        dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]).into(),
        id: u32::from(fixed[9]) << 16 | u32::from(u16::from_be_bytes([fixed[4], fixed[5]])),
        offset: usize::from(frag & 0x1FFF) * 8,
        more: frag & 0x2000 != 0,
        header,
        next_at: 0,
        next: 0,
        data: &datagram[header_len..],
    };
    check_sizes(&f, header_len)?;
    Ok(f)
}

fn parse_v6(bytes: &[u8]) -> Result<Fragment<'_>, WireError> {
    let fixed = bytes.first_chunk::<IPV6_HEADER_LEN>().ok_or(WireError::Truncated)?;
    let payload_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    let datagram = bytes.get(..IPV6_HEADER_LEN + payload_len).ok_or(WireError::Truncated)?;
    // The Unfragmentable Part, walked as `parse_ip` walks it, up to the Fragment header.
    let stop = walk_v6_extensions(fixed[6], datagram)?;
    if !stop.fragment {
        // Not a fragment at all (`parse_ip` takes it whole).
        return Err(WireError::BadHeaderLength);
    }
    let (off, head) = (stop.off, &datagram[stop.off..stop.off + 8]);
    let offset_and_more = u16::from_be_bytes([head[2], head[3]]);
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&fixed[8..24]);
    dst.copy_from_slice(&fixed[24..40]);
    let f = Fragment {
        src: Ipv6Addr::from(src).into(),
        dst: Ipv6Addr::from(dst).into(),
        id: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        offset: usize::from(offset_and_more >> 3) * 8,
        more: offset_and_more & 1 != 0,
        header: &datagram[..off],
        next_at: stop.next_at,
        next: head[0],
        data: &datagram[off + 8..],
    };
    // The reassembled Payload Length counts the Unfragmentable Part after the fixed
    // header.
    check_sizes(&f, off - IPV6_HEADER_LEN)?;
    // RFC 7112 5: "When a host receives a first fragment that does not contain the
    // entire IPv6 Header Chain, it SHOULD discard the packet" (so that no upper-layer
    // header is put together from pieces a filter saw apart).
    if f.offset == 0 && !header_chain_complete(f.next, f.data) {
        return Err(WireError::Truncated);
    }
    Ok(f)
}

/// Whether `data`, the start of an IPv6 datagram's Fragmentable Part whose first header
/// is `next`, holds the rest of its header chain (RFC 7112 2): any Destination Options
/// header whole, then the upper-layer header whole: TCP's with its options (its Data
/// Offset), UDP's 8 bytes, ICMPv6's first 8 bytes (type, code, checksum and the word
/// every message has). Other upper layers and No Next Header are taken as they come:
/// their header lengths are not known here.
fn header_chain_complete(mut next: u8, mut data: &[u8]) -> bool {
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ICMPV6: u8 = 58;
    const DEST_OPTIONS: u8 = 60;
    loop {
        let need = match next {
            TCP => data.get(12).map_or(20, |b| usize::from(b >> 4) * 4).max(20),
            UDP | ICMPV6 => 8,
            DEST_OPTIONS => match data.get(..2) {
                Some(&[n, len]) => {
                    let len = (usize::from(len) + 1) * 8;
                    let Some(rest) = data.get(len..) else { return false };
                    (next, data) = (n, rest);
                    continue;
                }
                _ => return false,
            },
            _ => 0,
        };
        return data.len() >= need;
    }
}

/// The size checks of [`parse_fragment`]; `counted` is how much of the header the
/// reassembled length field counts besides the payload (the IPv4 header; the IPv6
/// extension headers of the Unfragmentable Part).
fn check_sizes(f: &Fragment<'_>, counted: usize) -> Result<(), WireError> {
    if f.more && f.data.len() % 8 != 0 {
        return Err(WireError::BadHeaderLength);
    }
    if counted + f.end() > MAX_DATAGRAM {
        return Err(WireError::BadHeaderLength);
    }
    Ok(())
}

/// The datagram that `first` (the fragment at offset 0) and the reassembled `payload`
/// make, as if it had never been fragmented:
/// - IPv4: `first`'s header with its options, More Fragments and Fragment Offset
///   cleared, Total Length the whole datagram's, the header checksum computed again;
/// - IPv6 (RFC 8200 4.5): "The Next Header field of the last header of the
///   Unfragmentable Part is obtained from the Next Header field of the first
///   fragment's Fragment header", and "The Payload Length of the reassembled packet is
///   computed from the length of the Unfragmentable Part and the length and offset of
///   the last fragment".
///
/// `payload` must fit ([`parse_fragment`] checked every fragment's end).
pub(crate) fn reassembled(first: &Fragment<'_>, payload: &[u8]) -> Vec<u8> {
    let header = first.header;
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header);
    out.extend_from_slice(payload);
    if first.is_v6() {
        let len = (out.len() - IPV6_HEADER_LEN).min(MAX_DATAGRAM) as u16;
        out[4..6].copy_from_slice(&len.to_be_bytes());
        if let Some(b) = out.get_mut(first.next_at) {
            *b = first.next;
        }
    } else {
        let len = out.len().min(MAX_DATAGRAM) as u16;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        // Keep the reserved bit and DF; clear MF and the offset.
        out[6] &= 0xC0;
        out[7] = 0;
        fill_v4_checksum(&mut out[..header.len()]);
    }
    out
}

/// Compute the header checksum of the IPv4 header `hdr` (options included) into its
/// field, after its other fields changed.
fn fill_v4_checksum(hdr: &mut [u8]) {
    hdr[10..12].copy_from_slice(&[0, 0]);
    let sum = checksum_finish(checksum_partial(hdr, 0));
    hdr[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// Write the next datagram of `payload` (a whole upper-layer message, `sent` bytes of
/// it already sent) from `src` to `dst` into `buf`, whose length is the largest datagram
/// allowed; return the datagram's length and how many bytes of `payload` it carries.
///
/// The first call (`sent` 0) writes the whole message as one datagram when it fits
/// (IPv4: DF clear, Identification `id`). When it does not, each call writes one
/// fragment, the source host fragmenting its own datagram (RFC 791 3.2, RFC 8200 4.5):
/// - every fragment but the last carries a multiple of 8 bytes, as many as fit;
/// - IPv4: Identification `id` (its low 16 bits), More Fragments on all but the last,
///   Fragment Offset in 8-byte units, DF clear (RFC 791 3.1: "DF ... 0 = May
///   Fragment");
/// - IPv6: a Fragment header (Next Header 44) after the fixed header, which is the
///   whole Unfragmentable Part here, carrying `protocol` as its Next Header, the
///   offset, the M flag and the 32-bit Identification `id`.
///
/// Errors: [`WireError::AddressFamilyMismatch`]; [`WireError::BufferTooSmall`] when
/// not even 8 bytes of payload fit; [`WireError::TooLong`] when `payload` is longer
/// than any datagram can carry; [`WireError::BadHeaderLength`] when `sent` is past its
/// end or, not 0, is not a multiple of 8.
#[allow(clippy::too_many_arguments)]
pub(crate) fn emit_piece(
    buf: &mut [u8],
    (src, dst): (IpAddr, IpAddr),
    ttl: u8,
    protocol: u8,
    id: u32,
    payload: &[u8],
    sent: usize,
) -> Result<(usize, usize), WireError> {
    let v6 = match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => false,
        (IpAddr::V6(_), IpAddr::V6(_)) => true,
        _ => return Err(WireError::AddressFamilyMismatch),
    };
    let ip_len = if v6 { IPV6_HEADER_LEN } else { IPV4_HEADER_LEN };
    if payload.len() > MAX_DATAGRAM - if v6 { 0 } else { ip_len } {
        return Err(WireError::TooLong);
    }
    if sent >= payload.len().max(1) || sent % 8 != 0 {
        return Err(WireError::BadHeaderLength);
    }
    let ip = IpOut { ttl, ds: 0 };
    let whole = sent == 0 && ip_len + payload.len() <= buf.len();
    let head = if whole || !v6 { ip_len } else { ip_len + FRAGMENT_HEADER_LEN };
    let left = payload.len() - sent;
    let room = buf.len().saturating_sub(head);
    let (len, more) = if left <= room { (left, false) } else { (room & !7, true) };
    if len == 0 {
        return Err(WireError::BufferTooSmall);
    }
    let total = head + len;
    let units = (sent / 8) as u16;
    if v6 && whole {
        write_ip_header(&mut buf[..ip_len], src, dst, protocol, ip, len as u16);
    } else if v6 {
        // The Payload Length counts the Fragment header.
        write_ip_header(&mut buf[..ip_len], src, dst, IPV6_FRAGMENT, ip, (FRAGMENT_HEADER_LEN + len) as u16);
        let [o0, o1] = (units << 3 | u16::from(more)).to_be_bytes();
        let [i0, i1, i2, i3] = id.to_be_bytes();
        buf[ip_len..head].copy_from_slice(&[protocol, 0, o0, o1, i0, i1, i2, i3]);
    } else {
        write_ip_header(&mut buf[..ip_len], src, dst, protocol, ip, total as u16);
        // Identification, flags and offset, then the checksum again. DF stays clear
        // even on a whole datagram: the stack's ICMP does no Path MTU Discovery, and a
        // router on a narrower path may fragment it (RFC 6864 4.1 then asks for the
        // Identification a fragmentable datagram needs).
        let [i0, i1] = (id as u16).to_be_bytes();
        let [f0, f1] = (units | if more { 0x2000 } else { 0 }).to_be_bytes();
        buf[4..8].copy_from_slice(&[i0, i1, f0, f1]);
        fill_v4_checksum(&mut buf[..ip_len]);
    }
    buf[head..total].copy_from_slice(&payload[sent..sent + len]);
    Ok((total, len))
}

#[cfg(test)]
mod tests {
    use super::super::ip::{IPV6_DEST_OPTIONS, IPV6_FRAGMENT};
    use super::*;
    use crate::wire::parse_ip;

    /// An IPv4 fragment: header (20 bytes + `opts`), `data`, the given flags/offset word.
    fn v4(opts: &[u8], data: &[u8], id: u16, frag: u16, proto: u8) -> Vec<u8> {
        let hlen = 20 + opts.len();
        let total = hlen + data.len();
        let mut b = vec![0x40 | (hlen / 4) as u8, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
        b[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        b[4..6].copy_from_slice(&id.to_be_bytes());
        b[6..8].copy_from_slice(&frag.to_be_bytes());
        b.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        b.extend_from_slice(opts);
        let sum = checksum_finish(checksum_partial(&b, 0));
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(data);
        b
    }

    /// An IPv6 fragment with a destination-options header before the Fragment header.
    fn v6(data: &[u8], id: u32, offset: usize, more: bool) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0, 0, 0, IPV6_DEST_OPTIONS, 64];
        b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Destination options: next = Fragment, length 0 (8 bytes), a PadN of 4.
        b.extend_from_slice(&[IPV6_FRAGMENT, 0, 1, 4, 0, 0, 0, 0]);
        let om = ((offset / 8) as u16 * 8) | u16::from(more);
        b.extend_from_slice(&[6, 0]);
        b.extend_from_slice(&om.to_be_bytes());
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(data);
        let plen = (b.len() - IPV6_HEADER_LEN) as u16;
        b[4..6].copy_from_slice(&plen.to_be_bytes());
        b
    }

    #[test]
    fn an_ipv4_fragment_gives_its_place_and_the_datagram_key() {
        let d = v4(&[1, 1, 1, 0], &[7; 16], 0xBEEF, 0x2000 | 3, 6);
        let f = parse_fragment(&d).expect("a fragment");
        assert_eq!((f.offset, f.more, f.data, f.header.len()), (24, true, &[7u8; 16][..], 24));
        assert_eq!(f.id, 6 << 16 | 0xBEEF, "protocol and identification");
        assert_eq!(f.src, IpAddr::from([192, 0, 2, 1]));
        // The last fragment: MF clear.
        let last = v4(&[], &[1, 2, 3], 1, 5, 6);
        let f = parse_fragment(&last).expect("the last fragment");
        assert_eq!((f.offset, f.more, f.end()), (40, false, 43));
    }

    #[test]
    fn fragments_that_cannot_be_reassembled_are_refused() {
        // Not the last, and not a multiple of 8 bytes.
        assert_eq!(parse_fragment(&v4(&[], &[0; 12], 1, 0x2000, 6)).err(), Some(WireError::BadHeaderLength));
        // Past 65,535 bytes with its header: offset 8,189 units = 65,512 bytes, 8 more.
        assert_eq!(
            parse_fragment(&v4(&[], &[0; 8], 1, 0x2000 | 8189, 6)).err(),
            Some(WireError::BadHeaderLength)
        );
        // The same 8 bytes one unit lower fit exactly (20 + 65,504 + 8 = 65,532).
        assert!(parse_fragment(&v4(&[], &[0; 8], 1, 0x2000 | 8188, 6)).is_ok());
        // A damaged header.
        let mut d = v4(&[], &[0; 8], 1, 0x2000, 6);
        d[8] ^= 1;
        assert_eq!(parse_fragment(&d).err(), Some(WireError::BadIpChecksum));
        // Cut short.
        let d = v4(&[], &[0; 8], 1, 0x2000, 6);
        assert_eq!(parse_fragment(&d[..d.len() - 1]).err(), Some(WireError::Truncated));
        assert_eq!(parse_fragment(&v6(&[0; 12], 9, 0, true)).err(), Some(WireError::BadHeaderLength));
    }

    #[test]
    fn an_ipv6_fragment_keeps_its_unfragmentable_part() {
        let d = v6(&[5; 16], 0x0102_0304, 16, true);
        let f = parse_fragment(&d).expect("a fragment");
        assert_eq!((f.offset, f.more, f.id, f.next), (16, true, 0x0102_0304, 6));
        assert_eq!(f.header.len(), 48, "fixed header and destination options");
        assert_eq!(f.next_at, 40, "the destination options name the Fragment header");
        assert_eq!(f.data, &[5; 16]);
    }

    #[test]
    fn reassembled_ipv4_datagram_parses_as_one() {
        let first = v4(&[], &[0; 8], 77, 0x4000 | 0x2000, 17);
        let f = parse_fragment(&first).expect("first");
        let payload: Vec<u8> = (0..20u8).collect();
        let whole = reassembled(&f, &payload);
        let ip = parse_ip(&whole).expect("no longer a fragment");
        assert_eq!((ip.protocol, ip.payload), (17, &payload[..]));
        assert_eq!(whole[6] & 0x40, 0x40, "DF kept");
        // The header checksum was computed again: a wrong one would fail `parse_ip`.
        let mut bad = whole.clone();
        bad[11] ^= 1;
        assert_eq!(parse_ip(&bad).err(), Some(WireError::BadIpChecksum));
    }

    #[test]
    fn reassembled_ipv6_datagram_parses_as_one() {
        let first = v6(&[0; 24], 5, 0, true);
        let f = parse_fragment(&first).expect("first");
        let payload: Vec<u8> = (0..20u8).collect();
        let whole = reassembled(&f, &payload);
        let ip = parse_ip(&whole).expect("no longer a fragment");
        assert_eq!((ip.protocol, ip.payload), (6, &payload[..]));
        assert_eq!(u16::from_be_bytes([whole[4], whole[5]]) as usize, 8 + payload.len());
    }

    #[test]
    fn pieces_written_read_back_as_fragments_of_one_datagram() {
        let payload: Vec<u8> = (0..100u8).collect();
        for (src, dst) in [
            (IpAddr::from([192, 0, 2, 2]), IpAddr::from([192, 0, 2, 1])),
            ("2001:db8::2".parse().expect("v6"), "2001:db8::1".parse().expect("v6")),
        ] {
            let head = if src.is_ipv6() { 48 } else { 20 };
            let mut buf = vec![0u8; head + 44];
            let mut got = Vec::new();
            let mut sent = 0;
            while sent < payload.len() {
                let (len, carried) =
                    emit_piece(&mut buf, (src, dst), 64, 58, 0xabcd_0123, &payload, sent).expect("a piece");
                // Read back by this module's own parser (its tests check it against
                // hand-written fragments).
                let f = parse_fragment(&buf[..len]).expect("a fragment");
                assert_eq!((f.src, f.dst, f.offset, f.more), (src, dst, sent, sent + carried < 100));
                assert!(f.more || carried == 100 - sent);
                got.extend_from_slice(f.data);
                sent += carried;
            }
            assert_eq!(got, payload, "{src}: 40, 40 and 20 bytes");
        }
    }

    #[test]
    fn a_piece_that_cannot_be_written_is_an_error() {
        let (v4, v6): (IpAddr, IpAddr) = ([192, 0, 2, 2].into(), "2001:db8::2".parse().expect("v6"));
        let mut buf = [0u8; 64];
        let p = [0u8; 100];
        let piece =
            |buf: &mut [u8], dst, payload: &[u8], sent| emit_piece(buf, (v4, dst), 64, 1, 7, payload, sent);
        assert_eq!(piece(&mut buf, v6, &p, 0), Err(WireError::AddressFamilyMismatch));
        assert_eq!(piece(&mut buf[..27], v4, &p, 0), Err(WireError::BufferTooSmall));
        assert_eq!(piece(&mut buf, v4, &p, 100), Err(WireError::BadHeaderLength));
        assert_eq!(piece(&mut buf, v4, &p, 4), Err(WireError::BadHeaderLength));
        assert_eq!(piece(&mut buf, v4, &vec![0; 65_516], 0), Err(WireError::TooLong));
        // Whole when it fits: no offset, no MF, and DF clear; the Identification set.
        let (len, carried) = piece(&mut buf, v4, &p[..44], 0).expect("whole");
        assert_eq!((len, carried), (64, 44));
        assert_eq!(parse_ip(&buf).expect("a whole datagram").payload, &p[..44]);
        assert_eq!(buf[4..8], [0, 7, 0, 0]);
    }

    #[test]
    fn an_ipv6_first_fragment_without_the_whole_header_chain_is_refused() {
        // RFC 7112 5. A TCP header of 24 bytes (Data Offset 6) in the first fragment:
        // refused with 20 or 23 of them, taken with 24 (the offset's units are 8 bytes,
        // so the first fragment carries 16 or 24 of them here).
        let src = Ipv6Addr::from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let dst = Ipv6Addr::from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let first = |data: &[u8], next: u8| {
            let mut d = vec![0x60, 0, 0, 0];
            d.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
            d.extend_from_slice(&[IPV6_FRAGMENT, 64]);
            d.extend_from_slice(&src.octets());
            d.extend_from_slice(&dst.octets());
            d.extend_from_slice(&[next, 0, 0, 1, 0, 0, 0, 9]);
            d.extend_from_slice(data);
            d
        };
        let mut tcp = [0u8; 24];
        tcp[12] = 6 << 4;
        assert!(parse_fragment(&first(&tcp, 6)).is_ok());
        assert_eq!(parse_fragment(&first(&tcp[..16], 6)).err(), Some(WireError::Truncated));
        // ICMPv6 needs 8 bytes; a Destination Options header (8 bytes) must be whole,
        // and so must what follows it.
        assert!(parse_fragment(&first(&[0; 8], 58)).is_ok());
        let mut opts = vec![6, 0, 1, 4, 0, 0, 0, 0];
        assert_eq!(parse_fragment(&first(&opts, IPV6_DEST_OPTIONS)).err(), Some(WireError::Truncated));
        opts.extend_from_slice(&tcp);
        assert!(parse_fragment(&first(&opts, IPV6_DEST_OPTIONS)).is_ok());
        // A later fragment is not concerned.
        let mut later = first(&tcp[..16], 6);
        later[43] = 8 << 3 | 1;
        assert!(parse_fragment(&later).is_ok());
    }
}
