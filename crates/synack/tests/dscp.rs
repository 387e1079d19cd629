//! The IP fields a connection chooses. The Differentiated Services field, RFC 9293 3.9.1.9: "The application layer MUST be
//! able to specify the Differentiated Services field for segments that are sent on a
//! connection (MUST-48)"; it "SHOULD be able to change the Differentiated Services field
//! during the connection lifetime (SHLD-21)", and the TCP "SHOULD pass the current
//! Differentiated Services field value without change to the IP layer" (SHLD-22). And
//! the TTL: "The TTL value used to send TCP segments MUST be configurable (MUST-49)",
//! per stack (`Config::ttl`) and, as `IP_TTL` sets it per socket, per connection and
//! per listener (`Stack::set_ttl`, `Stack::set_listener_ttl`).

mod common;

use common::inject::*;
use std::net::{IpAddr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{Config, Error, Instant, SeqNum, Stack, Transmit, UsageError};

/// EF, expedited forwarding (RFC 3246): DSCP 46, the field 0xb8.
const EF: u8 = 46;

/// The datagrams the stack sends now, one `poll_transmit` at a time or in batches of
/// `batch` (`poll_transmit_many`, whose runs of data segments reuse the last headers).
fn datagrams(stack: &mut Stack, batch: Option<usize>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    match batch {
        None => {
            let mut buf = vec![0u8; 65536];
            while let Some(tx) = stack.poll_transmit(Instant::ZERO, &mut buf) {
                out.push(buf[..tx.len].to_vec());
            }
        }
        Some(k) => loop {
            let mut bufs = vec![vec![0u8; 2048]; k];
            let mut slices: Vec<&mut [u8]> = bufs.iter_mut().map(|b| &mut b[..]).collect();
            let mut sent = vec![Transmit::default(); k];
            let n = stack.poll_transmit_many(Instant::ZERO, &mut slices, &mut sent);
            out.extend(bufs.iter().zip(&sent).take(n).map(|(b, tx)| b[..tx.len].to_vec()));
            if n < k {
                break;
            }
        },
    }
    out
}

/// The Differentiated Services field of an IPv4 or IPv6 datagram.
fn ds(d: &[u8]) -> u8 {
    match d[0] >> 4 {
        4 => d[1],
        _ => (d[0] << 4) | (d[1] >> 4),
    }
}

#[test]
fn the_default_is_best_effort() {
    let mut p = Peer::established();
    assert_eq!(p.stack.send(p.c(), b"hello"), Ok(5));
    let out = datagrams(&mut p.stack, None);
    assert!(!out.is_empty());
    assert!(out.iter().all(|d| ds(d) == 0), "{:?}", out.iter().map(|d| ds(d)).collect::<Vec<_>>());
}

#[test]
fn the_configured_codepoint_marks_every_segment_of_a_connection() {
    // From the SYN,ACK on: data, pure ACKs, and the RST of an abort.
    let cfg = Config { dscp: EF, ..inject_config() };
    let mut p = Peer::listen_with(cfg);
    p.inject(&Seg::new(S, REMOTE_ISS, 0).mss(1460));
    let synack = datagrams(&mut p.stack, None);
    assert_eq!(synack.iter().map(|d| ds(d)).collect::<Vec<_>>(), [0xb8]);
    p.stack_iss = wire::parse(&synack[0]).expect("SYN,ACK").tcp.seq.raw();
    p.seen = p.stack_iss.wrapping_add(1);
    p.nxt = REMOTE_ISS.wrapping_add(1);
    p.inject(&p.seg(A));
    let c = p.stack.accept(p.listener.expect("listener")).expect("accepted");
    assert_eq!(p.stack.send(c, b"data"), Ok(4));
    p.inject(&p.seg(PA).data(b"in"));
    p.stack.abort(c).expect("abort");
    let out = datagrams(&mut p.stack, None);
    let flags: Vec<TcpFlags> = out.iter().map(|d| wire::parse(d).expect("parses").tcp.flags).collect();
    assert!(flags.iter().any(|f| f.rst()), "{flags:?}");
    assert!(out.iter().all(|d| ds(d) == 0xb8), "{:?}", out.iter().map(|d| ds(d)).collect::<Vec<_>>());
}

#[test]
fn changing_the_codepoint_marks_the_next_segments_one_at_a_time_and_in_runs() {
    // SHLD-21. In a run of `poll_transmit_many`, segments after the first are written
    // from the previous one's headers: the new field must not be left behind.
    for batch in [None, Some(8)] {
        let mut p = Peer::established();
        assert_eq!(p.stack.send(p.c(), &[1u8; 4000]), Ok(4000));
        assert!(datagrams(&mut p.stack, batch).iter().all(|d| ds(d) == 0));
        p.acked = p.seen;
        assert_eq!(p.stack.info(p.c()).map(|i| i.dscp), Ok(0));
        p.stack.set_dscp(p.c(), EF).expect("set");
        assert_eq!(p.stack.info(p.c()).map(|i| i.dscp), Ok(EF), "STATUS reports it");
        assert_eq!(p.stack.send(p.c(), &[2u8; 4000]), Ok(4000));
        p.inject(&p.seg(A).ack(p.stack_iss.wrapping_add(1 + 10 + 4000)));
        let out = datagrams(&mut p.stack, batch);
        assert!(out.len() >= 2, "{batch:?}: {} datagrams", out.len());
        assert!(out.iter().all(|d| ds(d) == 0xb8), "{batch:?}");
        p.stack.set_dscp(p.c(), 0).expect("set");
        assert_eq!(p.stack.send(p.c(), b"x"), Ok(1));
        p.inject(&p.seg(A).ack(p.stack_iss.wrapping_add(1 + 10 + 8000)));
        assert!(datagrams(&mut p.stack, batch).iter().all(|d| ds(d) == 0), "{batch:?}");
    }
}

#[test]
fn a_codepoint_needs_six_bits() {
    let mut p = Peer::established();
    assert_eq!(p.stack.set_dscp(p.c(), 64), Err(Error::Usage(UsageError::InvalidValue)));
    assert_eq!(p.stack.set_dscp(p.c(), 63), Ok(()));
}

#[test]
fn ipv6_carries_it_in_the_traffic_class() {
    let us: IpAddr = "2001:db8::2".parse().expect("v6");
    let mut s = Stack::new(Config { addresses: vec![us], dscp: EF, ..Config::default() });
    s.connect(Instant::ZERO, SocketAddr::new("2001:db8::1".parse().expect("v6"), 80)).expect("connect");
    let syn = datagrams(&mut s, None);
    assert_eq!(syn.iter().map(|d| ds(d)).collect::<Vec<_>>(), [0xb8]);
    assert_eq!(syn[0][0], 0x6b, "version 6, the field's high nibble");
}

#[test]
fn time_wait_acks_keep_the_connections_codepoint() {
    // The compact TIME-WAIT record keeps the field: the ACK of a retransmitted FIN
    // (3.10.7.4, fifth step) is still the connection's segment.
    let mut p = Peer::time_wait_with(Config { dscp: EF, ..inject_config() });
    p.inject(&p.seg(FA).seq(p.nxt.wrapping_sub(1)));
    let out = datagrams(&mut p.stack, None);
    assert_eq!(out.len(), 1, "the ACK of the FIN");
    assert_eq!(ds(&out[0]), 0xb8);
}

#[test]
fn a_syn_cookie_carries_the_configured_codepoint() {
    // Under SynCookies::Always no half-open connection is made; the SYN,ACK is still
    // the first segment of the connection it may become.
    let cfg = Config { dscp: EF, syn_cookies: synack::SynCookies::Always, ..inject_config() };
    let mut p = Peer::listen_with(cfg);
    p.inject(&Seg::new(S, REMOTE_ISS, 0).mss(1460));
    assert_eq!(p.stack.connection_count(), 0, "a cookie, not a connection");
    let out = datagrams(&mut p.stack, None);
    assert_eq!(out.iter().map(|d| ds(d)).collect::<Vec<_>>(), [0xb8]);
    assert_eq!(p.stack.stats().syn_cookies_sent, 1);
}

#[test]
fn the_stacks_own_segments_carry_best_effort() {
    // A RST for no connection belongs to no application's connection.
    let mut s = Stack::new(Config { addresses: vec![LOCAL_IP], dscp: EF, ..Config::default() });
    let hdr = TcpHeader {
        src_port: 40000,
        dst_port: 81,
        seq: SeqNum(1),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 1000,
        urgent: 0,
        options: TcpOptions::NONE,
    };
    let mut buf = vec![0u8; 100];
    let n = wire::emit(&mut buf, REMOTE_IP, LOCAL_IP, 64, &hdr, &[]).expect("emit");
    s.handle_packet(Instant::ZERO, &buf[..n]);
    let out = datagrams(&mut s, None);
    assert_eq!(out.len(), 1);
    assert_eq!(ds(&out[0]), 0);
}

#[test]
fn the_configured_ttl_is_on_every_datagram() {
    // RFC 9293 3.9.2 (MUST-49): "The TTL value used to send TCP segments MUST be
    // configurable." The IPv4 TTL is byte 8 of the header, and the IPv6 hop limit
    // byte 7.
    let mut p = Peer::established_with(Config { ttl: 7, ..inject_config() });
    assert_eq!(p.stack.send(p.c(), b"hello"), Ok(5));
    let mut out = datagrams(&mut p.stack, None);
    p.stack.close(p.c()).expect("close");
    out.extend(datagrams(&mut p.stack, None));
    assert!(out.len() >= 2);
    assert!(out.iter().all(|d| d[8] == 7), "{:?}", out.iter().map(|d| d[8]).collect::<Vec<_>>());
    let mut default = Peer::established();
    assert_eq!(default.stack.send(default.c(), b"x"), Ok(1));
    assert!(datagrams(&mut default.stack, None).iter().all(|d| d[8] == 64), "64 by default");
}

#[test]
fn a_listeners_codepoint_marks_its_syn_acks_and_its_connections() {
    // A passive OPEN's SYN,ACK goes out before the application has a handle: the
    // listener carries the field for it (and for the connection after it).
    for cookies in [synack::SynCookies::Off, synack::SynCookies::Always] {
        let mut p = Peer::listen_with(Config { syn_cookies: cookies, ..inject_config() });
        let l = p.listener.expect("listener");
        p.stack.set_listener_dscp(l, EF).expect("set");
        p.inject(&Seg::new(S, REMOTE_ISS, 0).mss(1460));
        let synack = datagrams(&mut p.stack, None);
        assert_eq!(synack.iter().map(|d| ds(d)).collect::<Vec<_>>(), [0xb8], "{cookies:?}");
        let parsed = wire::parse(&synack[0]).expect("parses");
        p.stack_iss = parsed.tcp.seq.0;
        p.seen = p.stack_iss.wrapping_add(1);
        p.nxt = REMOTE_ISS.wrapping_add(1);
        p.inject(&p.seg(A));
        let c = p.stack.accept(l).expect("accepted");
        assert_eq!(p.stack.info(c).expect("info").dscp, EF, "{cookies:?}");
        assert_eq!(p.stack.send(c, b"hello"), Ok(5));
        let out = datagrams(&mut p.stack, None);
        assert_eq!(out.iter().map(|d| ds(d)).collect::<Vec<_>>(), [0xb8], "{cookies:?}");
    }
    // Another listener keeps the configured field (best effort here).
    let mut p = Peer::listen_with(inject_config());
    p.inject(&Seg::new(S, REMOTE_ISS, 0).mss(1460));
    assert_eq!(datagrams(&mut p.stack, None).iter().map(|d| ds(d)).collect::<Vec<_>>(), [0]);
    let l = p.listener.expect("listener");
    assert_eq!(p.stack.set_listener_dscp(l, 64), Err(Error::Usage(UsageError::InvalidValue)));
    p.stack.close_listener(l).expect("close");
    assert_eq!(p.stack.set_listener_dscp(l, EF), Err(Error::Usage(UsageError::UnknownListener)));
}

/// The TTL of an IPv4 datagram (byte 8 of its header).
fn ttl(d: &[u8]) -> u8 {
    d[8]
}

#[test]
fn setting_a_connections_ttl_changes_its_next_segments_one_at_a_time_and_in_runs() {
    // In a run of `poll_transmit_many`, segments after the first are written from the
    // previous one's headers: the new TTL must not be left behind.
    for batch in [None, Some(8)] {
        let mut p = Peer::established();
        assert_eq!(p.stack.send(p.c(), &[1u8; 4000]), Ok(4000));
        assert!(datagrams(&mut p.stack, batch).iter().all(|d| ttl(d) == 64), "{batch:?}");
        p.acked = p.seen;
        assert_eq!(p.stack.info(p.c()).map(|i| i.ttl), Ok(64));
        p.stack.set_ttl(p.c(), 9).expect("set");
        assert_eq!(p.stack.info(p.c()).map(|i| i.ttl), Ok(9), "STATUS reports it");
        assert_eq!(p.stack.send(p.c(), &[2u8; 4000]), Ok(4000));
        p.inject(&p.seg(A).ack(p.stack_iss.wrapping_add(1 + 10 + 4000)));
        let out = datagrams(&mut p.stack, batch);
        assert!(out.len() >= 2, "{batch:?}: {} datagrams", out.len());
        assert!(
            out.iter().all(|d| ttl(d) == 9),
            "{batch:?}: {:?}",
            out.iter().map(|d| ttl(d)).collect::<Vec<_>>()
        );
        assert_eq!(p.stack.set_ttl(p.c(), 0), Err(Error::Usage(UsageError::InvalidValue)));
    }
}

#[test]
fn a_connections_rst_and_the_ack_that_enters_time_wait_carry_its_ttl_and_the_record_the_stacks() {
    // Control segments sent for a connection are its own: the RST of an abort...
    let mut p = Peer::established();
    p.stack.set_ttl(p.c(), 9).expect("set");
    p.stack.abort(p.c()).expect("abort");
    let out = datagrams(&mut p.stack, None);
    assert_eq!(
        out.iter().map(|d| (ttl(d), wire::parse(d).expect("parses").tcp.flags.rst())).collect::<Vec<_>>(),
        [(9, true)]
    );
    // ... and the ACK of the FIN that takes it to TIME-WAIT. The compact record that
    // answers a retransmitted FIN afterwards keeps no TTL: the stack's (as Linux's
    // TIME-WAIT sockets answer with the default one).
    let mut p = Peer::fin_wait_2_with(Config { ttl: 50, ..inject_config() });
    p.stack.set_ttl(p.c(), 9).expect("set");
    p.inject(&p.seg(FA));
    assert_eq!(datagrams(&mut p.stack, None).iter().map(|d| ttl(d)).collect::<Vec<_>>(), [9]);
    p.nxt = p.nxt.wrapping_add(1);
    p.inject(&p.seg(FA).seq(p.nxt.wrapping_sub(1)));
    assert_eq!(datagrams(&mut p.stack, None).iter().map(|d| ttl(d)).collect::<Vec<_>>(), [50]);
}

#[test]
fn a_listeners_ttl_is_on_its_syn_acks_and_its_connections() {
    for cookies in [synack::SynCookies::Off, synack::SynCookies::Always] {
        let mut p = Peer::listen_with(Config { syn_cookies: cookies, ..inject_config() });
        let l = p.listener.expect("listener");
        p.stack.set_listener_ttl(l, 200).expect("set");
        p.inject(&Seg::new(S, REMOTE_ISS, 0).mss(1460));
        let synack = datagrams(&mut p.stack, None);
        assert_eq!(synack.iter().map(|d| ttl(d)).collect::<Vec<_>>(), [200], "{cookies:?}");
        p.stack_iss = wire::parse(&synack[0]).expect("parses").tcp.seq.0;
        p.seen = p.stack_iss.wrapping_add(1);
        p.nxt = REMOTE_ISS.wrapping_add(1);
        p.inject(&p.seg(A));
        let c = p.stack.accept(l).expect("accepted");
        assert_eq!(p.stack.info(c).expect("info").ttl, 200, "{cookies:?}");
        assert_eq!(p.stack.send(c, b"hello"), Ok(5));
        assert_eq!(datagrams(&mut p.stack, None).iter().map(|d| ttl(d)).collect::<Vec<_>>(), [200]);
    }
    let mut p = Peer::listen_with(inject_config());
    let l = p.listener.expect("listener");
    assert_eq!(p.stack.set_listener_ttl(l, 0), Err(Error::Usage(UsageError::InvalidValue)));
    p.stack.close_listener(l).expect("close");
    assert_eq!(p.stack.set_listener_ttl(l, 9), Err(Error::Usage(UsageError::UnknownListener)));
}
