//! A transparent proxy's side of the stack: `Config::any_address` (segments to any
//! destination are taken, as Linux's `IP_TRANSPARENT` allows a socket) and the
//! catch-all listener of `Stack::listen_all` (every port). A stack on a TUN device then
//! terminates whatever connections the device carries, and each accepted connection's
//! local address is the destination its client chose: where the proxy forwards to.
//!
//! The pair harness carries every datagram from one stack to the other whatever its
//! destination, as a route into a TUN device does.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack::wire::TcpFlags;
use synack::{Config, ConnId, Error, ListenerId, State, UsageError};

const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A server at 192.0.2.2 that takes segments to any address.
fn proxy() -> Config {
    Config { any_address: true, ..config(SERVER_IP) }
}

/// Open a connection from the client to `to` and wait until `l` accepts it and the
/// client is ESTABLISHED; (client, accepted).
fn open(p: &mut Pair, to: SocketAddr, l: ListenerId) -> (ConnId, ConnId) {
    let c = p.a.connect(p.now, to).unwrap();
    let mut s = None;
    p.drive_until(100, |p| {
        s = s.or_else(|| p.b.accept(l));
        s.is_some() && p.a.state(c) == State::Established
    });
    (c, s.unwrap())
}

/// One byte each way over an open connection.
fn exchange(p: &mut Pair, c: ConnId, s: ConnId) {
    let mut one = [0u8; 1];
    p.a.send(c, b"q").unwrap();
    p.drive_until(100, |p| matches!(p.b.recv(s, &mut one), Ok(1)));
    assert_eq!(&one, b"q");
    p.b.send(s, b"r").unwrap();
    p.drive_until(100, |p| matches!(p.a.recv(c, &mut one), Ok(1)));
    assert_eq!(&one, b"r");
}

#[test]
fn a_catch_all_listener_accepts_connections_to_any_address_and_port() {
    let mut p = Pair::with_configs(config(CLIENT_IP), proxy());
    let l = p.b.listen_all(ANY, 8).unwrap();
    for to in ["192.0.2.200:443", "192.0.2.201:80", "192.0.2.2:7", "192.0.2.200:444"] {
        let (c, s) = open(&mut p, addr(to), l);
        // The accepted connection's local end is the destination the client chose.
        assert_eq!(p.b.tuple(s).unwrap().local, addr(to));
        assert_eq!(p.b.tuple(s).unwrap().remote, p.a.tuple(c).unwrap().local);
        exchange(&mut p, c, s);
    }
    assert_eq!(p.b.stats().rst_sent, 0);
}

#[test]
fn without_any_address_segments_to_other_addresses_are_dropped() {
    let mut p = Pair::with_configs(config(CLIENT_IP), config(SERVER_IP));
    let l = p.b.listen_all(ANY, 8).unwrap();
    // The stack's own address is served on any port...
    open(&mut p, addr("192.0.2.2:7"), l);
    // ... another is not: no SYN,ACK, no RST, the SYN counted as for no one here.
    let before = p.segs(Dir::BtoA).len();
    let c = p.a.connect(p.now, addr("192.0.2.200:443")).unwrap();
    let t = p.now + synack::Duration::from_millis(500);
    p.drive_until(100, |p| p.now >= t);
    assert_eq!(p.a.state(c), State::SynSent);
    assert_eq!(p.segs(Dir::BtoA).len(), before, "nothing answered");
    assert!(p.b.stats().no_connection >= 1);
    assert_eq!(p.b.accept(l), None);
}

#[test]
fn a_listener_on_the_port_comes_before_the_catch_all_and_an_address_before_every_address() {
    let mut p = Pair::with_configs(config(CLIENT_IP), proxy());
    let all = p.b.listen_all(ANY, 8).unwrap();
    let one_ip = p.b.listen_all("192.0.2.200".parse().unwrap(), 8).unwrap();
    let port_80 = p.b.listen(SocketAddr::new(ANY, 80), 8).unwrap();
    let port_443 = p.b.listen(SocketAddr::new(ANY, 443), 8).unwrap();
    let exact = p.b.listen(addr("192.0.2.201:443"), 8).unwrap();
    for (to, l) in [
        ("192.0.2.201:443", exact),
        ("192.0.2.203:443", port_443),
        ("192.0.2.200:80", port_80),
        ("192.0.2.201:80", port_80),
        ("192.0.2.200:444", one_ip),
        ("192.0.2.202:444", all),
    ] {
        let (_, s) = open(&mut p, addr(to), l);
        assert_eq!(p.b.tuple(s).unwrap().local, addr(to));
    }
}

#[test]
fn closing_the_catch_all_listener_brings_back_the_reset_for_closed_ports() {
    let mut p = Pair::with_configs(config(CLIENT_IP), proxy());
    let l = p.b.listen_all(ANY, 8).unwrap();
    assert_eq!(p.b.listen_all(ANY, 8), Err(Error::Usage(UsageError::AddrInUse)));
    // Port 0 stays invalid for `listen`: every port is `listen_all`'s.
    assert_eq!(p.b.listen(SocketAddr::new(SERVER_IP, 0), 1), Err(Error::Usage(UsageError::InvalidAddress)));
    open(&mut p, addr("192.0.2.200:443"), l);
    p.b.close_listener(l).unwrap();
    // RFC 9293 3.10.7.1: a SYN to a port nobody listens on is answered with a RST.
    let c = p.a.connect(p.now, addr("192.0.2.200:444")).unwrap();
    p.drive_until(100, |p| p.a.state(c) == State::Closed);
    let rst = p.segs(Dir::BtoA).iter().filter(|g| g.flags.contains(TcpFlags::RST)).count();
    assert_eq!(rst, 1);
    // And a catch-all may be opened again.
    let again = p.b.listen_all(ANY, 8).unwrap();
    open(&mut p, addr("192.0.2.200:445"), again);
}

#[test]
fn with_any_address_connect_from_opens_from_an_address_not_configured() {
    // The proxy's other side: a connection opened with its client's address as the
    // source (here towards a plain server, which answers it as any client).
    let a = Config { any_address: true, ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(a, config(SERVER_IP));
    let l = p.b.listen(server_addr(), 8).unwrap();
    let from = addr("192.0.2.99:5555");
    let c = p.a.connect_from(p.now, from, server_addr()).unwrap();
    let mut s = None;
    p.drive_until(100, |p| {
        s = s.or_else(|| p.b.accept(l));
        s.is_some() && p.a.state(c) == State::Established
    });
    let s = s.unwrap();
    assert_eq!(p.b.tuple(s).unwrap().remote, from);
    exchange(&mut p, c, s);
    // Without it, that source is refused (RFC 9293 3.9.1.1, MUST-43).
    let mut plain = Pair::new();
    assert_eq!(
        plain.a.connect_from(plain.now, from, server_addr()),
        Err(Error::Usage(UsageError::InvalidAddress))
    );
}

#[test]
fn over_ipv6_a_catch_all_on_the_unspecified_address_takes_any_v6_destination_and_port() {
    let (client, server): (IpAddr, IpAddr) = ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
    let mut p = Pair::with_configs(config(client), Config { any_address: true, ..config(server) });
    let v4_only = p.b.listen_all(ANY, 8).unwrap();
    let l = p.b.listen_all(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 8).unwrap();
    for to in ["[2001:db8::77]:443", "[2001:db8:1::5]:8080"] {
        let (c, s) = open(&mut p, addr(to), l);
        assert_eq!(p.b.tuple(s).unwrap().local, addr(to));
        exchange(&mut p, c, s);
    }
    assert_eq!(p.b.accept(v4_only), None, "the IPv4 catch-all takes no IPv6 connection");
}
