//! Source address validation, RFC 9293 3.9.2.3: "An incoming SYN with an invalid source
//! address MUST be ignored" (MUST-63), "A TCP implementation MUST silently discard an
//! incoming SYN segment that is addressed to a broadcast or multicast address"
//! (MUST-57), and "this guidance is applicable to all incoming segments, not just SYNs".
//! What is invalid is RFC 1122 3.2.1.3's list. And an active OPEN to an address no
//! host can have is refused.

mod common;

use common::inject::*;
use std::net::{IpAddr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{Config, Error, Instant, SeqNum, Stack, UsageError};

/// A stack listening on port 80 of `addresses` (all addresses when empty).
fn listening(addresses: Vec<IpAddr>, on: IpAddr) -> Stack {
    let mut s = Stack::new(Config { addresses, ..Config::default() });
    s.listen(SocketAddr::new(on, 80), 8).expect("listen");
    s
}

/// Hand the stack a segment from `src` to `dst`, port 80; what it sends in answer.
fn segment(s: &mut Stack, src: &str, dst: &str, flags: TcpFlags) -> usize {
    let (src, dst): (IpAddr, IpAddr) = (src.parse().expect("src"), dst.parse().expect("dst"));
    let hdr = TcpHeader {
        src_port: 40000,
        dst_port: 80,
        seq: SeqNum(1000),
        ack: SeqNum(if flags.ack() { 77 } else { 0 }),
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions { mss: Some(1460), ..TcpOptions::NONE },
    };
    let mut buf = vec![0u8; 1500];
    let n = wire::emit(&mut buf, src, dst, 64, &hdr, &[]).expect("emit");
    s.handle_packet(Instant::ZERO, &buf[..n]);
    let mut out = 0;
    while s.poll_transmit(Instant::ZERO, &mut buf).is_some() {
        out += 1;
    }
    out
}

#[test]
fn a_syn_from_an_address_no_host_has_is_ignored() {
    // RFC 1122 3.2.1.3: the unspecified address, a multicast address, the limited
    // broadcast, and loopback from outside the host are never a peer's source.
    for src in ["0.0.0.0", "224.0.0.5", "255.255.255.255", "127.0.0.1"] {
        let mut s = listening(vec![LOCAL_IP], LOCAL_IP);
        assert_eq!(segment(&mut s, src, "192.0.2.2", S), 0, "a SYN from {src} was answered");
        assert_eq!(s.connection_count(), 0, "{src}");
        assert_eq!(s.stats().invalid_address, 1, "{src}");
    }
    // A host's address is answered (the check is not refusing everything).
    let mut s = listening(vec![LOCAL_IP], LOCAL_IP);
    assert_eq!(segment(&mut s, "192.0.2.1", "192.0.2.2", S), 1);
    assert_eq!(s.stats().invalid_address, 0);
}

#[test]
fn a_syn_to_a_multicast_or_broadcast_address_is_silently_discarded() {
    // MUST-57, on a stack that takes every address (none configured) and a listener
    // on all of them: the only one a multicast SYN could reach.
    for dst in ["224.0.0.1", "255.255.255.255"] {
        let mut s = listening(Vec::new(), "0.0.0.0".parse().expect("any"));
        assert_eq!(segment(&mut s, "192.0.2.1", dst, S), 0, "a SYN to {dst} was answered");
        assert_eq!(s.connection_count(), 0);
    }
    let mut s = listening(Vec::new(), "::".parse().expect("any"));
    assert_eq!(segment(&mut s, "2001:db8::1", "ff02::1", S), 0);
    assert_eq!(segment(&mut s, "ff02::1", "2001:db8::2", S), 0);
    assert_eq!(s.stats().invalid_address, 2);
    assert_eq!(segment(&mut s, "2001:db8::1", "2001:db8::2", S), 1, "a host's SYN is answered");
}

#[test]
fn no_reset_goes_to_an_invalid_source() {
    // "applicable to all incoming segments": an ACK for no connection from a multicast
    // source gets no RST (3.10.7.1 would otherwise answer it).
    let mut s = listening(vec![LOCAL_IP], LOCAL_IP);
    assert_eq!(segment(&mut s, "224.0.0.5", "192.0.2.2", A), 0);
    assert_eq!(s.stats().rst_sent, 0);
    assert_eq!(segment(&mut s, "192.0.2.1", "192.0.2.2", A), 1, "a host's stray ACK gets its RST");
}

#[test]
fn loopback_to_loopback_is_a_host_talking_to_itself() {
    // Loopback is invalid only "outside a host": a stack configured on a loopback
    // address takes SYNs from loopback.
    let lo: IpAddr = "127.0.0.2".parse().expect("lo");
    let mut s = listening(vec![lo], lo);
    assert_eq!(segment(&mut s, "127.0.0.1", "127.0.0.2", S), 1);
}

#[test]
fn connecting_to_a_multicast_or_broadcast_address_is_refused() {
    let mut s = Stack::new(Config {
        addresses: vec![LOCAL_IP, "2001:db8::2".parse().expect("v6")],
        ..Config::default()
    });
    for to in ["224.0.0.1:80", "255.255.255.255:80", "[ff02::1]:80"] {
        let remote: SocketAddr = to.parse().expect("addr");
        assert_eq!(s.connect(Instant::ZERO, remote), Err(Error::Usage(UsageError::InvalidAddress)), "{to}");
    }
    assert!(s.connect(Instant::ZERO, "192.0.2.1:80".parse().expect("addr")).is_ok());
}

#[test]
fn connect_from_refuses_a_local_address_the_host_does_not_have() {
    // RFC 9293 3.9.1.1: the optional "local IP address" of an active OPEN (MUST-43)
    // selects among the host's own addresses; any other would put a source address the
    // host does not have on its segments.
    let mut s = Stack::new(Config { addresses: vec![LOCAL_IP], ..Config::default() });
    let remote = SocketAddr::new(REMOTE_IP, 80);
    let foreign = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 99)), 40000);
    assert_eq!(s.connect_from(Instant::ZERO, foreign, remote), Err(UsageError::InvalidAddress.into()));
    assert!(s.connect_from(Instant::ZERO, SocketAddr::new(LOCAL_IP, 40000), remote).is_ok());
}
