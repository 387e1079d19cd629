//! The ICMP message a simulated router sends back for a datagram too big for its link
//! (Path MTU Discovery): "fragmentation needed and DF set" for IPv4 (RFC 792, with the
//! next-hop MTU of RFC 1191 4), Packet Too Big for IPv6 (RFC 4443 3.2).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use synack::wire::emit_icmp;

/// The router's address: the simulated hosts never use it.
const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const ROUTER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);

/// The answer to `dropped` (an IP datagram longer than `mtu`), addressed to its
/// sender. IPv4 quotes its header and 8 bytes of data (RFC 792); IPv6 as much as fits
/// in 1280 bytes (RFC 4443 2.4 (c)). `None` for an IPv4 datagram without DF (a router
/// would fragment it) or one too short to read.
pub(crate) fn too_big(dropped: &[u8], mtu: usize) -> Option<Vec<u8>> {
    let mtu = u32::try_from(mtu).ok()?;
    let (router, sender, kind, quote) = match dropped.first()? >> 4 {
        4 => {
            let h = dropped.get(..20)?;
            if h[6] & 0x40 == 0 {
                return None;
            }
            let sender = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let quote = dropped.get(..usize::from(h[0] & 0x0f) * 4 + 8)?;
            // Destination Unreachable, fragmentation needed; the next-hop MTU in the low
            // half of the second word (RFC 1191 4).
            (IpAddr::V4(ROUTER_V4), IpAddr::V4(sender), (3, 4), quote)
        }
        6 => {
            let sender = Ipv6Addr::from(*dropped.get(8..24)?.first_chunk::<16>()?);
            let quote = &dropped[..dropped.len().min(1280 - 40 - 8)];
            // Packet Too Big, the MTU the whole second word (RFC 4443 3.2).
            (IpAddr::V6(ROUTER_V6), IpAddr::V6(sender), (2, 0), quote)
        }
        _ => return None,
    };
    let mut out = vec![0u8; 48 + quote.len()];
    let n = emit_icmp(&mut out, router, sender, 64, kind, mtu, quote).ok()?;
    out.truncate(n);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::too_big;
    use etherparse::{Icmpv4Type, Icmpv6Type, PacketBuilder, SlicedPacket, TransportSlice};

    #[test]
    fn the_answers_parse_as_etherparse_reads_them() {
        let mut v4 = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .tcp(40000, 80, 7, 1000)
            .write(&mut v4, &[0u8; 1460])
            .expect("segment");
        // etherparse sets DF on IPv4 by default.
        let reply = too_big(&v4, 1000).expect("an answer");
        let p = SlicedPacket::from_ip(&reply).expect("parses");
        let Some(TransportSlice::Icmpv4(icmp)) = p.transport else { panic!("not ICMP: {p:?}") };
        let sum = synack::wire::checksum_partial(icmp.slice(), 0);
        assert_eq!(synack::wire::checksum_finish(sum), 0, "ICMP checksum");
        assert_eq!(
            icmp.icmp_type(),
            Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1000 }
            )
        );
        assert_eq!(icmp.payload(), &v4[..28]);

        let mut v6 = Vec::new();
        let (a, b) = (
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        );
        PacketBuilder::ipv6(a, b, 64).tcp(40000, 80, 7, 1000).write(&mut v6, &[0u8; 1400]).expect("segment");
        let reply = too_big(&v6, 1280).expect("an answer");
        assert!(reply.len() <= 1280);
        let p = SlicedPacket::from_ip(&reply).expect("parses");
        let Some(TransportSlice::Icmpv6(icmp)) = p.transport else { panic!("not ICMPv6: {p:?}") };
        assert_eq!(icmp.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1280 });
    }

    #[test]
    fn a_datagram_without_df_gets_no_answer() {
        let mut v4 = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .tcp(40000, 80, 7, 1000)
            .write(&mut v4, &[0u8; 1460])
            .expect("segment");
        v4[6] &= !0x40;
        assert_eq!(too_big(&v4, 1000), None);
    }
}
