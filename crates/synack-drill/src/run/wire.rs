//! Datagrams for the runner: inbound ones are built byte by byte (so the option bytes
//! are exactly those the script lists, padding included); outbound ones are parsed with
//! their options kept in wire order.

use std::net::{IpAddr, SocketAddr};
use synack::wire::{checksum_finish, checksum_partial, parse_ip, pseudo_header_sum, IPPROTO_TCP};

/// One TCP option as it appears on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawOpt {
    /// Kind 0.
    Eol,
    /// Kind 1.
    Nop,
    /// Kind 2.
    Mss(u16),
    /// Kind 3.
    WindowScale(u8),
    /// Kind 4.
    SackPermitted,
    /// Kind 5: raw (absolute) blocks.
    Sack(Vec<(u32, u32)>),
    /// Kind 8.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// Any other kind, with its data.
    Other {
        /// The option kind.
        kind: u8,
        /// The bytes after kind and length.
        data: Vec<u8>,
    },
}

impl RawOpt {
    /// Appends the option's bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RawOpt::Eol => out.push(0),
            RawOpt::Nop => out.push(1),
            RawOpt::Mss(m) => {
                out.extend_from_slice(&[2, 4]);
                out.extend_from_slice(&m.to_be_bytes());
            }
            RawOpt::WindowScale(s) => out.extend_from_slice(&[3, 3, *s]),
            RawOpt::SackPermitted => out.extend_from_slice(&[4, 2]),
            RawOpt::Sack(blocks) => {
                let n = blocks.len().min(4);
                out.extend_from_slice(&[5, (2 + 8 * n) as u8]);
                for (l, r) in blocks.iter().take(n) {
                    out.extend_from_slice(&l.to_be_bytes());
                    out.extend_from_slice(&r.to_be_bytes());
                }
            }
            RawOpt::Timestamp { val, ecr } => {
                out.extend_from_slice(&[8, 10]);
                out.extend_from_slice(&val.to_be_bytes());
                out.extend_from_slice(&ecr.to_be_bytes());
            }
            RawOpt::Other { kind, data } => {
                out.push(*kind);
                out.push((data.len() + 2).min(255) as u8);
                out.extend_from_slice(data);
            }
        }
    }
}

/// An inbound segment, all numbers absolute.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) flags: u8,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) win: u16,
    pub(crate) urg: u16,
    pub(crate) options: Vec<RawOpt>,
    pub(crate) payload_len: usize,
    pub(crate) ttl: u8,
    /// IPv4 TOS / IPv6 traffic class byte (ECN in the low two bits).
    pub(crate) tos: u8,
}

/// Builds the IP datagram for `seg`, checksums included. `Err` when it cannot be
/// encoded (options longer than 40 bytes, datagram over 65535 bytes, mixed families).
pub(crate) fn build(seg: &Inbound) -> Result<Vec<u8>, String> {
    let mut opts = Vec::new();
    for o in &seg.options {
        o.encode(&mut opts);
    }
    while opts.len() % 4 != 0 {
        opts.push(0);
    }
    if opts.len() > 40 {
        return Err(format!("{} bytes of TCP options do not fit in a header (40 at most)", opts.len()));
    }
    if seg.payload_len > 65_535 {
        return Err(format!("a payload of {} bytes does not fit in one datagram", seg.payload_len));
    }
    let tcp_len = 20 + opts.len() + seg.payload_len;
    let mut tcp = Vec::with_capacity(tcp_len);
    tcp.extend_from_slice(&seg.src.port().to_be_bytes());
    tcp.extend_from_slice(&seg.dst.port().to_be_bytes());
    tcp.extend_from_slice(&seg.seq.to_be_bytes());
    tcp.extend_from_slice(&seg.ack.to_be_bytes());
    tcp.push((((20 + opts.len()) / 4) as u8) << 4);
    tcp.push(seg.flags);
    tcp.extend_from_slice(&seg.win.to_be_bytes());
    tcp.extend_from_slice(&[0, 0]);
    tcp.extend_from_slice(&seg.urg.to_be_bytes());
    tcp.extend_from_slice(&opts);
    tcp.resize(tcp_len, 0);
    let tcp_len32 = u32::try_from(tcp_len).map_err(|_| "segment too long".to_string())?;
    let sum =
        pseudo_header_sum(seg.src.ip(), seg.dst.ip(), IPPROTO_TCP, tcp_len32) + checksum_partial(&tcp, 0);
    let csum = checksum_finish(sum).to_be_bytes();
    tcp[16] = csum[0];
    tcp[17] = csum[1];

    let mut out = Vec::with_capacity(40 + tcp_len);
    match (seg.src.ip(), seg.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total =
                u16::try_from(20 + tcp_len).map_err(|_| "datagram longer than 65535 bytes".to_string())?;
            out.extend_from_slice(&[0x45, seg.tos]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0x40, 0, seg.ttl, IPPROTO_TCP, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = checksum_finish(checksum_partial(&out, 0)).to_be_bytes();
            out[10] = c[0];
            out[11] = c[1];
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let plen = u16::try_from(tcp_len).map_err(|_| "datagram longer than 65535 bytes".to_string())?;
            out.push(0x60 | (seg.tos >> 4));
            out.extend_from_slice(&[(seg.tos & 0x0f) << 4, 0, 0]);
            out.extend_from_slice(&plen.to_be_bytes());
            out.extend_from_slice(&[IPPROTO_TCP, seg.ttl]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
        }
        _ => return Err("source and destination address families differ".into()),
    }
    out.extend_from_slice(&tcp);
    Ok(out)
}

/// An outbound datagram as sent, all numbers absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actual {
    /// Virtual time of sending, microseconds.
    pub(crate) t: u64,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) ttl: u8,
    pub(crate) tos: u8,
    pub(crate) flags: u8,
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) win: u16,
    pub(crate) urg: u16,
    pub(crate) options: Vec<RawOpt>,
    pub(crate) payload_len: u32,
}

/// Parses a datagram the stack sent. `Err` describes why it is malformed (which is
/// itself a stack failure).
pub(crate) fn parse(bytes: &[u8], t: u64) -> Result<Actual, String> {
    let ip = parse_ip(bytes).map_err(|e| format!("malformed datagram: {e}"))?;
    if ip.protocol != IPPROTO_TCP {
        return Err(format!("datagram of protocol {} (not TCP)", ip.protocol));
    }
    let tos = match bytes.first().map(|b| b >> 4) {
        Some(4) => bytes.get(1).copied().unwrap_or(0),
        _ => {
            let hi = bytes.first().copied().unwrap_or(0) & 0x0f;
            let lo = bytes.get(1).copied().unwrap_or(0) >> 4;
            (hi << 4) | lo
        }
    };
    let seg = ip.payload;
    if seg.len() < 20 {
        return Err("TCP segment shorter than 20 bytes".into());
    }
    let len = u32::try_from(seg.len()).map_err(|_| "segment too long".to_string())?;
    if checksum_finish(pseudo_header_sum(ip.src, ip.dst, IPPROTO_TCP, len) + checksum_partial(seg, 0)) != 0 {
        return Err("bad TCP checksum".into());
    }
    let be16 = |i: usize| u16::from_be_bytes([seg[i], seg[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([seg[i], seg[i + 1], seg[i + 2], seg[i + 3]]);
    let hlen = usize::from(seg[12] >> 4) * 4;
    if hlen < 20 || hlen > seg.len() {
        return Err("bad TCP data offset".into());
    }
    Ok(Actual {
        t,
        src: SocketAddr::new(ip.src, be16(0)),
        dst: SocketAddr::new(ip.dst, be16(2)),
        ttl: ip.ttl,
        tos,
        flags: seg[13],
        seq: be32(4),
        ack: be32(8),
        win: be16(14),
        urg: be16(18),
        options: parse_options(&seg[20..hlen])?,
        payload_len: (seg.len() - hlen) as u32,
    })
}

/// Options in wire order; everything after an EOL is padding and each EOL byte is
/// listed (packetdrill lists them too: `<mss 1460,sackOK,eol,eol>`).
fn parse_options(mut b: &[u8]) -> Result<Vec<RawOpt>, String> {
    let mut out = Vec::new();
    while let Some(&kind) = b.first() {
        match kind {
            0 => {
                out.push(RawOpt::Eol);
                b = &b[1..];
                continue;
            }
            1 => {
                out.push(RawOpt::Nop);
                b = &b[1..];
                continue;
            }
            _ => {}
        }
        let len = usize::from(*b.get(1).ok_or("truncated TCP option")?);
        if len < 2 || len > b.len() {
            return Err(format!("TCP option {kind} has a bad length {len}"));
        }
        let data = &b[2..len];
        let bad = || format!("TCP option {kind} has a bad length {len}");
        let opt = match kind {
            2 => RawOpt::Mss(u16::from_be_bytes(data.try_into().map_err(|_| bad())?)),
            3 => RawOpt::WindowScale(*data.first().filter(|_| len == 3).ok_or_else(bad)?),
            4 if len == 2 => RawOpt::SackPermitted,
            5 if (len - 2) % 8 == 0 => RawOpt::Sack(
                data.chunks_exact(8)
                    .map(|c| {
                        (
                            u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                            u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
                        )
                    })
                    .collect(),
            ),
            8 if len == 10 => RawOpt::Timestamp {
                val: u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                ecr: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            },
            4 | 5 | 8 => return Err(bad()),
            _ => RawOpt::Other { kind, data: data.to_vec() },
        };
        out.push(opt);
        b = &b[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(src: &str, dst: &str) -> Inbound {
        Inbound {
            src: src.parse().expect("addr"),
            dst: dst.parse().expect("addr"),
            flags: 0x12,
            seq: 1000,
            ack: 77,
            win: 32767,
            urg: 0,
            options: vec![RawOpt::Mss(1460), RawOpt::SackPermitted, RawOpt::Eol, RawOpt::Eol],
            payload_len: 3,
            ttl: 64,
            tos: 0,
        }
    }

    #[test]
    fn built_datagrams_parse_back_with_options_in_order() {
        for (s, d) in [("192.0.2.2:8080", "192.0.2.1:49152"), ("[2001:db8::2]:8080", "[2001:db8::1]:49152")] {
            let bytes = build(&seg(s, d)).expect("build");
            let a = parse(&bytes, 5).expect("parse");
            assert_eq!(a.seq, 1000);
            assert_eq!(a.ack, 77);
            assert_eq!(a.flags, 0x12);
            assert_eq!(a.payload_len, 3);
            assert_eq!(a.options, vec![RawOpt::Mss(1460), RawOpt::SackPermitted, RawOpt::Eol, RawOpt::Eol]);
            // The stack's own parser agrees.
            let p = synack::wire::parse(&bytes).expect("synack parses it");
            assert_eq!(p.tcp.options.mss, Some(1460));
            assert!(p.tcp.options.sack_permitted);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(&[0x45, 0, 0], 0).is_err());
        assert!(parse_options(&[2, 9, 0]).is_err());
        assert!(parse_options(&[3]).is_err());
        assert!(parse_options(&[8, 3, 1]).is_err());
    }
}
