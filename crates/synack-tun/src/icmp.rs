//! ICMPv4 echo (RFC 792): answering `ping` to synack's address, the one non-TCP packet
//! the backend handles.

use std::net::Ipv4Addr;
use synack::wire::{checksum_finish, checksum_partial, emit_icmp, parse_ip, IPPROTO_ICMP};

/// ICMP type of an echo request.
const ECHO_REQUEST: u8 = 8;
/// ICMP type of an echo reply.
const ECHO_REPLY: u8 = 0;
/// TTL of the replies.
const TTL: u8 = 64;

/// If `datagram` is a well-formed ICMPv4 echo request to `local`, write the echo reply
/// into `out` and return its length.
///
/// RFC 792, Echo Reply: "The data received in the echo message must be returned in the
/// echo reply message", the identifier and sequence number too; the addresses are
/// swapped and the type becomes 0. Requests with a bad checksum are ignored (RFC 1122
/// 3.2.2: such messages are silently discarded).
pub(crate) fn echo_reply(datagram: &[u8], local: Ipv4Addr, out: &mut [u8]) -> Option<usize> {
    let ip = parse_ip(datagram).ok()?;
    if ip.protocol != IPPROTO_ICMP || ip.dst != std::net::IpAddr::V4(local) {
        return None;
    }
    let std::net::IpAddr::V4(src) = ip.src else { return None };
    let icmp = ip.payload;
    if icmp.len() < 8 || icmp[0] != ECHO_REQUEST || icmp[1] != 0 {
        return None;
    }
    if checksum_finish(checksum_partial(icmp, 0)) != 0 {
        return None;
    }
    // RFC 792: same identifier, sequence number and data; type 0, the addresses swapped.
    let rest = u32::from_be_bytes([icmp[4], icmp[5], icmp[6], icmp[7]]);
    emit_icmp(out, local.into(), src.into(), TTL, (ECHO_REPLY, 0), rest, &icmp[8..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(src: [u8; 4], dst: [u8; 4], data: &[u8]) -> Vec<u8> {
        let mut icmp = vec![ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0x00, 0x07];
        icmp.extend_from_slice(data);
        let c = checksum_finish(checksum_partial(&icmp, 0));
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let total = 20 + icmp.len();
        let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0, 0, 64, 1, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        let c = checksum_finish(checksum_partial(&ip, 0));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        ip.extend_from_slice(&icmp);
        ip
    }

    #[test]
    fn echo_request_to_us_gets_a_valid_reply_with_the_same_payload() {
        let req = request([192, 0, 2, 1], [192, 0, 2, 2], b"abcdefghijk");
        let mut out = [0u8; 1500];
        let n = echo_reply(&req, Ipv4Addr::new(192, 0, 2, 2), &mut out).expect("a reply");
        let ip = parse_ip(&out[..n]).expect("valid IPv4");
        assert_eq!(ip.src, std::net::IpAddr::from([192, 0, 2, 2]));
        assert_eq!(ip.dst, std::net::IpAddr::from([192, 0, 2, 1]));
        assert_eq!(ip.protocol, IPPROTO_ICMP);
        assert_eq!(ip.payload[0], ECHO_REPLY);
        assert_eq!(&ip.payload[4..8], &[0x12, 0x34, 0x00, 0x07]);
        assert_eq!(&ip.payload[8..], b"abcdefghijk");
        assert_eq!(checksum_finish(checksum_partial(ip.payload, 0)), 0);
    }

    #[test]
    fn requests_to_other_addresses_or_with_bad_checksums_are_ignored() {
        let mut out = [0u8; 1500];
        let req = request([192, 0, 2, 1], [192, 0, 2, 9], b"x");
        assert_eq!(echo_reply(&req, Ipv4Addr::new(192, 0, 2, 2), &mut out), None);
        let mut bad = request([192, 0, 2, 1], [192, 0, 2, 2], b"xyz");
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        assert_eq!(echo_reply(&bad, Ipv4Addr::new(192, 0, 2, 2), &mut out), None);
        assert_eq!(echo_reply(&[0x45], Ipv4Addr::new(192, 0, 2, 2), &mut out), None);
    }
}
