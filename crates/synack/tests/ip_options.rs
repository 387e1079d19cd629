//! IP options and IPv6 extension headers on segments for synack (RFC 9293 3.9.2: "TCP
//! implementations MUST ignore options they do not understand (MUST-50)"; RFC 8200 4
//! for IPv6). A SYN to a listener is the probe: it is answered with a SYN,ACK whose
//! checksum verifies when synack walked past the options to the TCP header and summed
//! the right length.

mod common;

use std::net::{IpAddr, SocketAddr};
use synack::wire::{self, TcpFlags};
use synack::{Config, Instant, Stack};

/// A stack at `local` listening on port 80.
fn listener(local: &str) -> Stack {
    let ip: IpAddr = local.parse().expect("address");
    let mut s = Stack::new(Config { addresses: vec![ip], ..Config::default() });
    s.listen(SocketAddr::new(ip, 80), 8).expect("listen");
    s
}

/// A SYN from `src` to `dst`, port 80, as a complete datagram without options.
fn syn(src: &str, dst: &str) -> Vec<u8> {
    common::syn_datagram(src, dst, &[])
}

/// `d` (an IPv6 datagram) with `headers` inserted after the fixed header: the first
/// header's type goes into the fixed header's Next Header, the last header's Next
/// Header is set to the old one (TCP), and the payload length grows. The TCP
/// checksum stays right: its pseudo-header counts the upper-layer length (RFC 8200 8.1).
fn with_extensions(mut d: Vec<u8>, first: u8, mut headers: Vec<u8>, last_at: usize) -> Vec<u8> {
    headers[last_at] = d[6];
    d[6] = first;
    let len = u16::from_be_bytes([d[4], d[5]]) + headers.len() as u16;
    d[4..6].copy_from_slice(&len.to_be_bytes());
    d.splice(40..40, headers);
    d
}

/// What the stack sends after `d`, parsed (every answer must parse, checksums too).
fn answers(s: &mut Stack, d: &[u8]) -> Vec<TcpFlags> {
    s.handle_packet(Instant::ZERO, d);
    let mut buf = vec![0u8; 1500];
    let mut out = Vec::new();
    while let Some(tx) = s.poll_transmit(Instant::ZERO, &mut buf) {
        out.push(wire::parse(&buf[..tx.len]).expect("a valid answer").tcp.flags);
    }
    out
}

#[test]
fn a_syn_carrying_ipv4_options_is_answered() {
    // Options TCP does not understand (here NOP, NOP, a Record Route of one slot and
    // end of list) are skipped.
    let mut d = syn("192.0.2.1", "192.0.2.2");
    let opts = [1u8, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0];
    d.splice(20..20, opts);
    d[0] = 0x40 | ((20 + opts.len()) / 4) as u8;
    let total = u16::from_be_bytes([d[2], d[3]]) + opts.len() as u16;
    d[2..4].copy_from_slice(&total.to_be_bytes());
    d[10..12].copy_from_slice(&[0, 0]);
    let sum = wire::checksum_finish(wire::checksum_partial(&d[..20 + opts.len()], 0));
    d[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut s = listener("192.0.2.2");
    assert_eq!(answers(&mut s, &d), [TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0)]);
}

#[test]
fn a_syn_behind_ipv6_extension_headers_is_answered() {
    // Hop-by-hop options (a PadN filling 6 octets) then destination options (16
    // octets): RFC 8200 4.3 and 4.6.
    let mut headers = vec![0u8, 0, 1, 4, 0, 0, 0, 0];
    headers.extend([0u8, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    headers[0] = 60; // the hop-by-hop header's next header: destination options
    let d = with_extensions(syn("2001:db8::1", "2001:db8::2"), 0, headers, 8);
    let mut s = listener("2001:db8::2");
    assert_eq!(answers(&mut s, &d), [TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0)]);
    assert_eq!(s.stats().malformed, 0);
}

#[test]
fn a_syn_with_a_routing_header_still_to_follow_is_dropped() {
    // Segments Left 1: the datagram is not for this host yet (RFC 8200 4.4), and synack
    // forwards nothing. No answer; counted as malformed.
    let headers = vec![0u8, 0, 0, 1, 0, 0, 0, 0];
    let d = with_extensions(syn("2001:db8::1", "2001:db8::2"), 43, headers, 0);
    let mut s = listener("2001:db8::2");
    assert!(answers(&mut s, &d).is_empty());
    assert_eq!(s.stats().malformed, 1);
}
