//! The stack API: listen backlog and accept queue, SYN queue, ephemeral ports and
//! TIME-WAIT, connection limits, events, STATUS (`info`), handle validity, usage errors,
//! demultiplexing many connections, the single deadline of `poll_timeout`, malformed
//! input, and RSTs for segments that belong to no connection (RFC 9293 3.9.1, 3.10.1 -
//! 3.10.7.1).

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack::wire::TcpFlags;
use synack::{
    CloseReason, ConnError, ConnId, Duration, Error, Event, FourTuple, Instant, SeqNum, State, TimerAction,
    TimerKind, TraceEvent, UsageError,
};

/// Step until every client connection is ESTABLISHED, accepting on the way whenever
/// `accept` says so. Returns the accepted server connections in order.
fn accept_all(p: &mut Pair, l: synack::ListenerId, clients: &[ConnId], max_steps: usize) -> Vec<ConnId> {
    let mut accepted = Vec::new();
    for _ in 0..max_steps {
        while let Some(s) = p.b.accept(l) {
            accepted.push(s);
        }
        if accepted.len() == clients.len() && clients.iter().all(|&c| p.a.state(c) == State::Established) {
            return accepted;
        }
        assert!(p.step(), "idle with {} of {} accepted", accepted.len(), clients.len());
    }
    panic!("only {} of {} accepted after {max_steps} steps", accepted.len(), clients.len());
}

// ----- listen backlog, accept queue, SYN queue --------------------------------------

/// A server that drops SYNs it has no room for instead of answering them with SYN
/// cookies (the behaviour these tests describe).
fn no_cookies(ip: IpAddr) -> synack::Config {
    synack::Config { syn_cookies: synack::SynCookies::Off, ..config(ip) }
}

/// RFC 9293 3.10.1 (passive OPEN) and 3.10.7.2: fifty clients connecting to one
/// listening port at the same instant are all accepted, each a distinct connection.
#[test]
fn many_simultaneous_clients_on_one_listening_port_are_all_accepted() {
    let mut p = Pair::new();
    let l = p.b.listen(server_addr(), 64).unwrap();
    let clients: Vec<ConnId> = (0..50).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
    let servers = accept_all(&mut p, l, &clients, 1000);
    let remotes: HashSet<SocketAddr> = servers.iter().map(|&s| p.b.tuple(s).unwrap().remote).collect();
    let locals: HashSet<SocketAddr> = clients.iter().map(|&c| p.a.tuple(c).unwrap().local).collect();
    assert_eq!(remotes.len(), 50);
    assert_eq!(remotes, locals, "every client is accepted exactly once");
    assert_eq!(p.b.stats().syn_dropped, 0);
}

/// SYNs beyond the backlog are dropped without an answer (no SYN-ACK, no RST); the
/// clients' SYN retransmissions (RFC 6298 / RFC 9293 3.8.1) succeed once `accept`
/// drains the queue. The accept queue never holds more than the backlog. (Without SYN
/// cookies, which would answer those SYNs: `hostile.rs` covers them.)
#[test]
fn syns_beyond_the_backlog_are_dropped_unanswered_and_succeed_after_accept_drains() {
    let mut p = Pair::with_configs(config(CLIENT_IP), no_cookies(SERVER_IP));
    let l = p.b.listen(server_addr(), 4).unwrap();
    let clients: Vec<ConnId> = (0..10).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
    // Nobody accepts for 1.5 s: the first SYN of each client has arrived and every
    // client retransmitted once.
    let mut max_queue = 0;
    p.drive_until(1000, |p| {
        max_queue = max_queue.max(p.b.accept_queue_len(l));
        p.now >= Instant::from_millis(1500)
    });
    assert!(max_queue <= 4, "accept queue grew to {max_queue}");
    let established = clients.iter().filter(|&&c| p.a.state(c) == State::Established).count();
    assert_eq!(established, 4, "only the backlog completed the handshake");
    let synacks = p.segs(Dir::BtoA).iter().filter(|g| g.flags == TcpFlags::SYN | TcpFlags::ACK).count();
    assert_eq!(synacks, 4, "dropped SYNs get no SYN-ACK");
    assert!(p.segs(Dir::BtoA).iter().all(|g| !g.flags.rst()), "and no RST");
    assert!(p.b.stats().syn_dropped >= 12, "6 first SYNs and 6 retransmissions: {}", p.b.stats().syn_dropped);
    // Accepting drains the queue; the retransmitted SYNs then get through.
    let mut accepted = Vec::new();
    for _ in 0..10_000 {
        while let Some(s) = p.b.accept(l) {
            accepted.push(s);
        }
        assert!(p.b.accept_queue_len(l) <= 4);
        if accepted.len() == 10 {
            break;
        }
        assert!(p.step());
    }
    assert_eq!(accepted.len(), 10);
    assert!(clients.iter().all(|&c| p.a.state(c) == State::Established));
    assert!(clients.iter().all(|&c| p.a.error(c).is_none()));
}

/// `max_syn_queue` bounds the half-open (SYN-RECEIVED) connections of a listener; SYNs
/// beyond it are dropped and counted, and a slot frees when a handshake completes.
#[test]
fn max_syn_queue_bounds_half_open_connections() {
    let c = synack::Config { max_syn_queue: 3, ..no_cookies(SERVER_IP) };
    let (mut r, l) = raw_server(c);
    let syn_from = |r: &RawPeer, port: u16| {
        let mut h = r.hdr(SeqNum(7_000), None, TcpFlags::SYN, 65_535);
        h.src_port = port;
        h
    };
    let mut synacks = Vec::new();
    for port in 1000..1010 {
        let h = syn_from(&r, port);
        synacks.extend(r.send(h, &[]));
    }
    assert_eq!(synacks.len(), 3, "three half-open connections");
    assert!(synacks.iter().all(|g| g.flags() == TcpFlags::SYN | TcpFlags::ACK));
    assert_eq!(r.stack.stats().syn_dropped, 7);
    assert_eq!(r.stack.connection_count(), 3);
    // Complete the first handshake: a SYN queue slot frees up.
    let first = &synacks[0];
    let mut ack = r.hdr(SeqNum(7_001), Some(first.seq() + 1), TcpFlags::ACK, 65_535);
    ack.src_port = first.hdr.dst_port;
    r.send(ack, &[]);
    assert!(r.stack.accept(l).is_some());
    let h = syn_from(&r, 2000);
    let out = r.send(h, &[]);
    assert_eq!(out.len(), 1, "room again for a SYN");
    assert_eq!(out[0].flags(), TcpFlags::SYN | TcpFlags::ACK);
}

// ----- ephemeral ports and TIME-WAIT -------------------------------------------------

/// Open, use and close one connection from the client, the client closing first (so the
/// client holds the TIME-WAIT). Returns the client's local port.
fn open_and_close(p: &mut Pair, l: synack::ListenerId) -> Result<u16, Error> {
    let c = p.a.connect(p.now, server_addr())?;
    let port = p.a.tuple(c).unwrap().local.port();
    p.drive_until(200, |p| p.a.state(c) == State::Established && p.b.accept_queue_len(l) > 0);
    let s = p.b.accept(l).unwrap();
    p.a.close(c).unwrap();
    p.drive_until(200, |p| p.b.state(s) == State::CloseWait);
    p.b.close(s).unwrap();
    p.drive_until(200, |p| p.b.connection_count() == 0 && p.a.connection_count() == 0);
    Ok(port)
}

/// RFC 6056 and RFC 9293 3.4.2: `connect` never picks a port whose 4-tuple is still in
/// TIME-WAIT. A hundred connections opened and closed in a row get a hundred different
/// ports from the configured range.
#[test]
fn ephemeral_ports_never_reuse_a_tuple_in_time_wait() {
    let mut p = Pair::new();
    let l = p.b.listen(server_addr(), 8).unwrap();
    let mut ports = Vec::new();
    for _ in 0..100 {
        ports.push(open_and_close(&mut p, l).unwrap());
    }
    assert_eq!(p.a.time_wait_count(), 100, "every client tuple is in TIME-WAIT");
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), 100, "no port reused while in TIME-WAIT");
    let (lo, hi) = p.a.config().ephemeral_ports;
    assert!(ports.iter().all(|&x| (lo..=hi).contains(&x)));
}

/// Connections from one client to different servers, in turns (A, B, A, B, ...): each
/// gets the 4-tuple it reports, its segments reach it, and the servers see the ports
/// the client chose. (`connect` prepares the key of the next port for the endpoint it
/// just connected to; a connection to another endpoint must not use it.)
#[test]
fn connections_to_servers_in_turns_each_get_their_own_tuple() {
    let mut p = Pair::new();
    let ports = [SERVER_PORT, SERVER_PORT + 1, SERVER_PORT + 2];
    let listeners: Vec<_> =
        ports.iter().map(|&port| p.b.listen(SocketAddr::new(SERVER_IP, port), 8).unwrap()).collect();
    let mut seen = HashSet::new();
    for round in 0..12usize {
        let k = [0, 1, 0, 2, 2, 1][round % 6];
        let to = SocketAddr::new(SERVER_IP, ports[k]);
        let c = p.a.connect(p.now, to).unwrap();
        let t = p.a.tuple(c).unwrap();
        assert_eq!(t.remote, to);
        assert!(seen.insert(t.local.port()), "port {} chosen twice", t.local.port());
        p.drive_until(200, |p| p.a.state(c) == State::Established && p.b.accept_queue_len(listeners[k]) > 0);
        let s = p.b.accept(listeners[k]).unwrap();
        let st = p.b.tuple(s).unwrap();
        assert_eq!((st.local, st.remote), (t.remote, t.local), "round {round}");
        p.a.send(c, &[round as u8; 3]).unwrap();
        let mut got = [0u8; 8];
        p.drive_until(200, |p| p.b.recv(s, &mut got) == Ok(3));
        assert_eq!(got[..3], [round as u8; 3]);
    }
}

/// With four ephemeral ports, four closed connections in TIME-WAIT exhaust them:
/// `connect` fails with `PortsExhausted` until 2×MSL has passed.
#[test]
fn connect_reports_ports_exhausted_while_every_tuple_waits_and_works_after_two_msl() {
    let ca = synack::Config { ephemeral_ports: (50_000, 50_003), ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let l = p.b.listen(server_addr(), 8).unwrap();
    let ports: HashSet<u16> = (0..4).map(|_| open_and_close(&mut p, l).unwrap()).collect();
    assert_eq!(ports, (50_000..=50_003).collect());
    assert_eq!(p.a.connect(p.now, server_addr()), Err(Error::Usage(UsageError::PortsExhausted)));
    p.drive_idle(1000);
    assert_eq!(p.a.time_wait_count(), 0);
    assert!(open_and_close(&mut p, l).is_ok(), "ports are free again after 2×MSL");
}

/// `max_connections` limits `connect` (a usage error) and makes a listener drop SYNs.
#[test]
fn max_connections_limits_connect_and_drops_syns() {
    let ca = synack::Config { max_connections: 3, ..config(CLIENT_IP) };
    let cb = synack::Config { max_connections: 2, ..no_cookies(SERVER_IP) };
    let mut p = Pair::with_configs(ca, cb);
    let l = p.b.listen(server_addr(), 8).unwrap();
    let c: Vec<ConnId> = (0..3).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
    assert_eq!(p.a.connect(p.now, server_addr()), Err(Error::Usage(UsageError::ConnectionLimit)));
    p.flush();
    p.drive_until_time(Instant::from_millis(500), 100);
    assert_eq!(p.b.connection_count(), 2);
    assert!(p.b.stats().syn_dropped >= 1);
    let s1 = p.b.accept(l).unwrap();
    p.b.accept(l).unwrap();
    // Releasing one server connection lets the third client in (on its SYN retry).
    p.b.abort(s1).unwrap();
    p.drive_until(1000, |p| c.iter().filter(|&&x| p.a.state(x) == State::Established).count() == 2);
    let third =
        c.iter().copied().find(|&x| p.a.state(x) == State::SynSent || p.a.state(x) == State::Established);
    assert!(third.is_some());
    p.drive_until(1000, |p| p.b.accept_queue_len(l) == 1);
    // On the client, releasing a handle frees a slot for `connect`.
    p.a.abort(c[0]).unwrap();
    assert!(p.a.connect(p.now, server_addr()).is_ok());
}

// ----- events ------------------------------------------------------------------------

/// The events of a whole connection: Connected, Accepted, Readable, PeerFin and
/// Closed{Normal} (RFC 9293 3.9.1: "the TCP implementation ... signals the user").
#[test]
fn events_follow_a_connection_from_connect_to_close() {
    let mut p = Pair::new();
    let l = p.b.listen(server_addr(), 8).unwrap();
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_until(100, |p| p.b.accept_queue_len(l) == 1 && p.a.state(c) == State::Established);
    let ea = events(&mut p.a);
    assert!(ea.contains(&Event::Connected(c)), "{ea:?}");
    let eb = events(&mut p.b);
    let s = p.b.accept(l).unwrap();
    assert!(eb.contains(&Event::Accepted { listener: l, conn: s }), "{eb:?}");

    p.a.send(c, b"hello").unwrap();
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 5);
    let eb = events(&mut p.b);
    assert_eq!(eb.iter().filter(|e| **e == Event::Readable(s)).count(), 1, "{eb:?}");
    // More data before the application read: no second Readable.
    p.a.send(c, b" world").unwrap();
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 11);
    assert!(!events(&mut p.b).contains(&Event::Readable(s)));
    assert_eq!(recv_all(&mut p.b, s), b"hello world");
    // After draining, new data raises Readable again.
    p.a.send(c, b"!").unwrap();
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 1);
    assert!(events(&mut p.b).contains(&Event::Readable(s)));
    recv_all(&mut p.b, s);

    p.a.shutdown(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == State::CloseWait);
    let eb = events(&mut p.b);
    assert!(eb.contains(&Event::PeerFin(s)), "{eb:?}");
    let mut buf = [0u8; 4];
    assert_eq!(p.b.recv(s, &mut buf), Ok(0), "end of stream");
    p.b.shutdown(s).unwrap();
    p.drive_until(100, |p| p.b.state(s) == State::Closed);
    assert!(events(&mut p.b).contains(&Event::Closed { conn: s, reason: CloseReason::Normal }));
    let ea = events(&mut p.a);
    assert!(ea.contains(&Event::PeerFin(c)));
    assert!(ea.contains(&Event::Closed { conn: c, reason: CloseReason::Normal }), "{ea:?}");
}

/// `send` into a full buffer fails with WouldBlock; `Writable` follows once the peer's
/// acknowledgments free space. A short write (the buffer filled up) promises the same.
#[test]
fn writable_follows_a_full_send_buffer() {
    let ca = synack::Config { send_buffer: 4096, ..config(CLIENT_IP) };
    for short_write_only in [false, true] {
        let mut p = Pair::with_configs(ca.clone(), config(SERVER_IP));
        let (c, s) = p.establish();
        events(&mut p.a);
        assert_eq!(p.a.send(c, &pattern(10_000, 1)), Ok(4096));
        if !short_write_only {
            assert_eq!(p.a.send(c, b"more"), Err(Error::WouldBlock));
        }
        assert!(!events(&mut p.a).contains(&Event::Writable(c)));
        let mut seen = Vec::new();
        p.drive_until(100, |p| {
            seen.extend(events(&mut p.a));
            seen.contains(&Event::Writable(c))
        });
        assert!(p.a.info(c).unwrap().send_queue < 4096);
        assert!(p.a.send(c, b"more").unwrap() > 0);
        recv_all(&mut p.b, s);
    }
}

/// Closed{Error(..)} reports why: a reset (3.10.7.4), a refusal (3.10.7.3) and a
/// timeout (3.8.3, R2).
#[test]
fn closed_event_reports_reset_refused_and_timed_out() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    events(&mut p.a);
    p.b.abort(s).unwrap();
    p.drive_idle(100);
    assert!(
        events(&mut p.a).contains(&Event::Closed { conn: c, reason: CloseReason::Error(ConnError::Reset) })
    );
    assert_eq!(p.a.recv(c, &mut [0u8; 4]), Err(Error::Conn(ConnError::Reset)));

    let mut p = Pair::new();
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_idle(100);
    assert!(
        events(&mut p.a).contains(&Event::Closed { conn: c, reason: CloseReason::Error(ConnError::Refused) })
    );

    let ca = synack::Config { max_retries: 2, ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let (c, _s) = p.establish();
    p.rule = Box::new(|_| Fate::Drop);
    p.a.send(c, b"lost").unwrap();
    p.drive_until(100, |p| p.a.state(c) == State::Closed);
    assert!(events(&mut p.a)
        .contains(&Event::Closed { conn: c, reason: CloseReason::Error(ConnError::TimedOut) }));
    assert_eq!(p.a.send(c, b"x"), Err(Error::Conn(ConnError::TimedOut)));
}

// ----- STATUS ------------------------------------------------------------------------

/// RFC 9293 3.10.6 STATUS through `info()`: state, SRTT/RTTVAR/RTO (RFC 6298), bytes in
/// flight, both windows, queues and retransmissions.
#[test]
fn info_reports_rtt_rto_flight_windows_queues_and_retransmissions() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    let i = p.a.info(c).unwrap();
    assert_eq!(i.state, State::Established);
    assert_eq!(i.tuple, p.a.tuple(c).unwrap());
    // One sample of 20 ms (RFC 6298 2.2): SRTT = R, RTTVAR = R/2, RTO = max(200 ms, R + 4·R/2).
    assert_eq!(i.srtt, Some(Duration::from_millis(20)));
    assert_eq!(i.rttvar, Duration::from_millis(10));
    assert_eq!(i.rto, Duration::from_millis(200));
    assert_eq!((i.bytes_in_flight, i.send_queue, i.recv_queue, i.retransmissions), (0, 0, 0, 0));
    // Both sides offer timestamps by default: their 12 bytes in every segment come off
    // the MSS (RFC 9293 3.7.1).
    assert_eq!(i.mss, 1460 - 12);
    assert_eq!(i.recv_window, 64 * 1024);
    assert!(i.send_window >= 65_535);
    assert_eq!(i.cwnd, 10 * 1448, "RFC 6928 initial window");

    let mut dropped = false;
    p.rule = Box::new(move |g| {
        if g.len > 0 && !dropped {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.a.send(c, &[7u8; 1000]).unwrap();
    p.flush();
    let i = p.a.info(c).unwrap();
    assert_eq!((i.bytes_in_flight, i.send_queue), (1000, 1000));
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 1000);
    let j = p.b.info(s).unwrap();
    assert_eq!(j.recv_window, 64 * 1024 - 1000, "RCV.WND shrinks by what waits for the application");
    p.drive_until(100, |p| p.a.info(c).unwrap().bytes_in_flight == 0);
    let i = p.a.info(c).unwrap();
    assert_eq!((i.retransmissions, i.send_queue), (1, 0));
    assert_eq!(p.a.stats().retransmissions, 1);
}

// ----- handles and usage errors --------------------------------------------------------

/// A released handle is never confused with the newer connection that reuses its slot:
/// every call on the stale one fails with `UnknownConnection`.
#[test]
fn stale_conn_id_is_rejected_after_its_slot_is_reused() {
    let mut p = Pair::new();
    let (c, _s) = p.establish();
    p.a.abort(c).unwrap();
    let c2 = p.a.connect(p.now, server_addr()).unwrap();
    assert_eq!(c2.index(), c.index(), "the slot is reused");
    assert_ne!(c2, c);
    let unknown = Err(Error::Usage(UsageError::UnknownConnection));
    assert_eq!(p.a.send(c, b"x"), unknown);
    assert_eq!(p.a.recv(c, &mut [0u8; 1]), unknown);
    assert_eq!(p.a.shutdown(c), unknown.map(|_| ()));
    assert_eq!(p.a.close(c), unknown.map(|_| ()));
    assert_eq!(p.a.abort(c), unknown.map(|_| ()));
    assert!(p.a.info(c).is_err() && p.a.tuple(c).is_err());
    assert_eq!(p.a.state(c), State::Closed);
    assert_eq!(p.a.state(c2), State::SynSent, "the new connection is untouched");
    p.drive_until(100, |p| p.a.state(c2) == State::Established);
}

/// Misuse is a `UsageError`, never a panic: SEND after CLOSE is "connection closing"
/// (RFC 9293 3.10.2), unknown handles, duplicate listeners, bad addresses.
#[test]
fn misuse_is_reported_as_usage_errors() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    p.a.shutdown(c).unwrap();
    assert_eq!(p.a.send(c, b"late"), Err(Error::Usage(UsageError::InvalidState(State::FinWait1))));
    assert_eq!(p.a.shutdown(c), Ok(()), "a second shutdown is harmless");
    p.drive_until(100, |p| p.a.state(c) == State::FinWait2);
    assert_eq!(p.a.send(c, b"late"), Err(Error::Usage(UsageError::InvalidState(State::FinWait2))));
    p.b.close(s).unwrap();
    assert_eq!(p.b.recv(s, &mut [0u8; 1]), Err(Error::Usage(UsageError::UnknownConnection)));
    assert_eq!(p.b.close(s), Err(Error::Usage(UsageError::UnknownConnection)));

    assert_eq!(p.b.listen(server_addr(), 1), Err(Error::Usage(UsageError::AddrInUse)));
    assert_eq!(p.b.listen(SocketAddr::new(SERVER_IP, 0), 1), Err(Error::Usage(UsageError::InvalidAddress)));
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80);
    assert_eq!(p.a.connect(p.now, v6), Err(Error::Usage(UsageError::NoLocalAddress)));
    assert_eq!(
        p.a.connect(p.now, SocketAddr::new(SERVER_IP, 0)),
        Err(Error::Usage(UsageError::InvalidAddress))
    );
    let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80);
    assert_eq!(p.a.connect(p.now, unspecified), Err(Error::Usage(UsageError::InvalidAddress)));
    let t = p.a.tuple(c).unwrap();
    assert_eq!(p.a.connect_from(p.now, t.local, t.remote), Err(Error::Usage(UsageError::AddrInUse)));

    let l2 = p.b.listen(SocketAddr::new(SERVER_IP, 81), 1).unwrap();
    p.b.close_listener(l2).unwrap();
    assert_eq!(p.b.close_listener(l2), Err(Error::Usage(UsageError::UnknownListener)));
    assert_eq!(p.b.accept(l2), None);
    assert_eq!(p.b.accept_queue_len(l2), 0);
}

/// Closing a connection that already sits in FIN-WAIT-2 (after `shutdown`) orphans it;
/// the FIN-WAIT-2 limit still applies, so a peer that never sends its FIN cannot keep
/// it forever.
#[test]
fn close_in_fin_wait_2_still_bounds_the_wait_for_the_peers_fin() {
    let mut p = Pair::new();
    let (c, _s) = p.establish();
    p.a.shutdown(c).unwrap();
    p.drive_until(100, |p| p.a.state(c) == State::FinWait2);
    p.a.close(c).unwrap();
    let limit = p.now + p.a.config().fin_wait2_timeout + Duration::from_secs(1);
    p.drive_until_time(limit, 100);
    assert_eq!(p.a.connection_count(), 0, "the orphan was given up");
    assert_eq!(p.a.poll_timeout(), None);
}

// ----- demultiplexing ---------------------------------------------------------------------

/// 1,200 concurrent connections between the same two hosts and the same server port:
/// every byte reaches the right connection, in both directions.
#[test]
fn twelve_hundred_concurrent_connections_are_demultiplexed_correctly() {
    const N: usize = 1200;
    let mut p = Pair::new();
    let l = p.b.listen(server_addr(), 2 * N).unwrap();
    let clients: Vec<ConnId> = (0..N).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
    let servers = accept_all(&mut p, l, &clients, 1000);
    assert_eq!(p.a.connection_count(), N);
    assert_eq!(p.b.connection_count(), N);
    for (i, &c) in clients.iter().enumerate() {
        p.a.send(c, format!("request {i}").as_bytes()).unwrap();
    }
    // The server answers each request on the connection it came in on.
    let by_remote: HashMap<SocketAddr, ConnId> =
        servers.iter().map(|&s| (p.b.tuple(s).unwrap().remote, s)).collect();
    let mut answered = HashSet::new();
    p.drive_until(1000, |p| {
        for &s in &servers {
            let got = recv_all(&mut p.b, s);
            if !got.is_empty() {
                let text = String::from_utf8(got).unwrap();
                p.b.send(s, format!("answer to {text}").as_bytes()).unwrap();
                answered.insert(s);
            }
        }
        answered.len() == N
    });
    let mut replies: HashMap<ConnId, Vec<u8>> = HashMap::new();
    p.drive_until(1000, |p| {
        for &c in &clients {
            replies.entry(c).or_default().extend(recv_all(&mut p.a, c));
        }
        replies.values().filter(|v| !v.is_empty()).count() == N
    });
    for (i, &c) in clients.iter().enumerate() {
        assert_eq!(replies[&c], format!("answer to request {i}").as_bytes(), "connection {i}");
        let local = p.a.tuple(c).unwrap().local;
        assert!(by_remote.contains_key(&local));
    }
}

// ----- poll_timeout --------------------------------------------------------------------

/// Which timer of a connection a trace record refers to (RTO and SYN share one).
fn timer_slot(kind: TimerKind) -> u8 {
    match kind {
        TimerKind::Rto | TimerKind::Syn => 0,
        TimerKind::DelayedAck => 1,
        TimerKind::Persist => 2,
        TimerKind::Keepalive => 3,
        _ => 4,
    }
}

/// The deadlines pending on one stack, replayed from its trace.
#[derive(Default)]
struct TimerModel {
    pending: HashMap<(FourTuple, u8), Instant>,
    seen: usize,
}

impl TimerModel {
    fn update(&mut self, trace: &[synack::TraceRecord]) {
        for r in &trace[self.seen..] {
            if let TraceEvent::Timer { conn, timer, action, at } = r.ev {
                let key = (conn, timer_slot(timer));
                match action {
                    TimerAction::Set => {
                        self.pending.insert(key, at);
                    }
                    _ => {
                        self.pending.remove(&key);
                    }
                }
            }
        }
        self.seen = trace.len();
    }

    fn earliest(&self) -> Option<Instant> {
        self.pending.values().min().copied()
    }
}

/// `poll_timeout` is exactly the earliest pending deadline of the whole stack, at every
/// step of a busy run: retransmissions, delayed ACKs, persist probes, TIME-WAIT and
/// FIN-WAIT-2 limits, over many connections with losses.
#[test]
fn poll_timeout_is_always_the_one_earliest_pending_deadline() {
    let cb = synack::Config { recv_buffer: 4096, ..config(SERVER_IP) };
    let mut p = Pair::with_configs(config(CLIENT_IP), cb);
    let l = p.b.listen(server_addr(), 64).unwrap();
    let mut rng = Rng(0xdead_beef);
    p.rule = Box::new(move |_| if rng.chance(0.05) { Fate::Drop } else { Fate::Deliver });
    let clients: Vec<ConnId> = (0..20).map(|_| p.a.connect(p.now, server_addr()).unwrap()).collect();
    let (mut ma, mut mb) = (TimerModel::default(), TimerModel::default());
    let mut servers = Vec::new();
    let mut checks = 0;
    for step in 0..20_000 {
        while let Some(s) = p.b.accept(l) {
            servers.push(s);
        }
        // Clients send; the servers read only every 50th step (zero windows happen);
        // from step 400 on, everybody closes.
        for (i, &c) in clients.iter().enumerate() {
            if step < 400 && step % (i + 1) == 0 {
                let _ = p.a.send(c, &pattern(700, i as u8));
            }
            if step == 400 + i {
                let _ = p.a.close(c);
            }
        }
        for &s in &servers {
            if step % 50 == 0 || step > 400 {
                recv_all(&mut p.b, s);
            }
            if step > 450 && p.b.state(s) == State::CloseWait {
                let _ = p.b.close(s);
            }
        }
        p.flush();
        ma.update(&p.trace_a);
        mb.update(&p.trace_b);
        assert_eq!(p.a.poll_timeout(), ma.earliest(), "client at step {step} ({:?})", p.now);
        assert_eq!(p.b.poll_timeout(), mb.earliest(), "server at step {step} ({:?})", p.now);
        checks += 1;
        if !p.step() {
            break;
        }
    }
    assert!(checks > 500, "{checks}");
    assert_eq!(p.a.poll_timeout(), None);
    assert_eq!(p.b.poll_timeout(), None);
    assert_eq!(p.a.connection_count() + p.b.connection_count(), 0);
}

// ----- malformed input and segments for no connection -------------------------------

/// Datagrams with a bad checksum or cut short are counted in `stats()` and dropped:
/// no answer, no effect on the connection.
#[test]
fn bad_checksum_and_truncated_datagrams_are_counted_and_dropped() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let (_, s) = r.connect_in(l, mss_opt(1460), 65_535);
    let before = r.stack.stats();
    let hdr = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH, 65_535);
    let good = r.datagram(&hdr, b"payload");
    let mut bad_tcp = good.clone();
    let last = bad_tcp.len() - 1;
    bad_tcp[last] ^= 0x40;
    let mut bad_ip = good.clone();
    bad_ip[8] ^= 0x01; // the TTL, covered by the IPv4 header checksum
    for d in [&bad_tcp, &bad_ip] {
        r.stack.handle_packet(r.now, d);
    }
    for cut in [0, 10, 19, 20, 30, good.len() - 1] {
        r.stack.handle_packet(r.now, &good[..cut]);
    }
    assert!(r.poll().is_empty(), "malformed input is never answered");
    let after = r.stack.stats();
    assert_eq!(after.bad_checksum - before.bad_checksum, 2);
    assert_eq!(after.malformed - before.malformed, 8);
    assert_eq!(after.rst_sent, before.rst_sent);
    assert_eq!(r.stack.info(s).unwrap().recv_queue, 0, "the connection saw none of it");
    // The intact datagram goes through.
    r.stack.handle_packet(r.now, &good);
    assert_eq!(r.stack.info(s).unwrap().recv_queue, 7);
    assert_eq!(r.stack.stats().malformed, after.malformed);
}

/// RFC 9293 3.1: a segment whose checksum fails is discarded before any state sees it,
/// whether it is a connection's or of no connection: a SYN with a SYN's options and a
/// bad checksum gets no SYN-ACK from the listener and makes no connection, a corrupt
/// segment to a port nobody listens on gets no RST (3.10.7.1), and both are counted.
/// The same SYN intact is answered.
#[test]
fn corrupt_syn_to_a_listener_and_corrupt_segment_to_a_closed_port_are_dropped() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let before = r.stack.stats();
    let mut syn = r.hdr(r.snd_nxt, None, TcpFlags::SYN, 65_535);
    syn.options = synack::wire::TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        ..mss_opt(1460)
    };
    let good = r.datagram(&syn, &[]);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x01; // the last option byte, covered by the TCP checksum only
    r.stack.handle_packet(r.now, &bad);
    let closed = synack::wire::TcpHeader {
        dst_port: r.local.port() + 1,
        ..r.hdr(r.snd_nxt, None, TcpFlags::PSH, 65_535)
    };
    let mut bad_closed = r.datagram(&closed, b"x");
    let last = bad_closed.len() - 1;
    bad_closed[last] ^= 0x01;
    r.stack.handle_packet(r.now, &bad_closed);
    assert!(r.poll().is_empty(), "no SYN-ACK, no RST");
    assert_eq!(r.stack.connection_count(), 0);
    let after = r.stack.stats();
    assert_eq!(after.bad_checksum - before.bad_checksum, 2);
    assert_eq!(after.no_connection, before.no_connection);
    r.stack.handle_packet(r.now, &good);
    let out = r.poll();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags(), TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(r.stack.accept_queue_len(l), 0, "half open until the ACK");
}

/// The receive path copies an in-order payload into the receive buffer while it
/// verifies the checksum. A corrupt segment at RCV.NXT (the case that takes that path)
/// must still change nothing: no bytes become readable, RCV.NXT stays (the next ACK
/// acknowledges only what was intact), the window is as before, and the intact
/// retransmission then delivers exactly the sender's bytes — the corrupt copy left
/// behind in the buffer is overwritten, never read.
#[test]
fn corrupt_in_order_payload_leaves_buffer_and_rcv_nxt_unchanged() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let (_, s) = r.connect_in(l, mss_opt(1460), 65_535);
    // Enough unread data that the buffer's storage has grown past what the next
    // segment needs (the in-place copy only writes into storage already there).
    let first = pattern(30_000, 3);
    for piece in first.chunks(1000) {
        r.send_data(piece, 65_535);
    }
    let before = r.stack.info(s).unwrap();
    assert_eq!(before.recv_queue, 30_000);
    // Odd lengths and flipped bits at the start, middle and end of the payload.
    let second = pattern(1461, 9);
    for flip in [0usize, 700, 1460] {
        let hdr = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH, 65_535);
        let mut d = r.datagram(&hdr, &second);
        let at = d.len() - second.len() + flip;
        d[at] ^= 0x20;
        let bad = r.stack.stats().bad_checksum;
        r.stack.handle_packet(r.now, &d);
        assert_eq!(r.stack.stats().bad_checksum, bad + 1);
        assert!(r.poll().is_empty(), "a corrupt segment is not answered");
        let now = r.stack.info(s).unwrap();
        assert_eq!((now.recv_queue, now.recv_window), (before.recv_queue, before.recv_window));
    }
    // RCV.NXT did not move: the intact segment is in order and acknowledged exactly.
    let out = r.send_data(&second, 65_535);
    let acks: Vec<_> = r.advance(Duration::from_millis(600)).into_iter().chain(out).collect();
    assert!(acks.iter().any(|a| a.ack() == r.snd_nxt), "{acks:?}");
    assert!(acks.iter().all(|a| a.ack().le(r.snd_nxt)));
    let got = recv_all(&mut r.stack, s);
    assert_eq!(got, [first, second].concat());
}

/// RFC 9293 3.10.7.1: a segment for no connection is answered by a RST (<SEQ=SEG.ACK>
/// when the ACK bit is on, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>), but "An
/// incoming segment containing a RST is discarded": a RST is never answered by a RST,
/// neither in CLOSED nor in LISTEN (3.10.7.2) nor in TIME-WAIT.
#[test]
fn segment_for_no_connection_gets_a_rst_but_a_rst_is_never_answered() {
    let local = SocketAddr::new(SERVER_IP, 9);
    let mut r = RawPeer::new(cfg(SERVER_IP), local, SocketAddr::new(CLIENT_IP, 4000));
    let out = r.send(r.hdr(SeqNum(500), Some(SeqNum(9000)), TcpFlags::ACK | TcpFlags::PSH, 1000), b"hello");
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].flags(), out[0].seq()), (TcpFlags::RST, SeqNum(9000)));
    let out = r.send(r.hdr(SeqNum(500), None, TcpFlags::SYN, 1000), &[]);
    assert_eq!(out[0].flags(), TcpFlags::RST | TcpFlags::ACK);
    assert_eq!((out[0].seq(), out[0].ack()), (SeqNum(0), SeqNum(501)));
    let out = r.send(r.hdr(SeqNum(500), None, TcpFlags::FIN, 1000), b"abc");
    assert_eq!(out[0].ack(), SeqNum(504), "SEG.SEQ + SEG.LEN counts data and FIN");
    let rst_sent = r.stack.stats().rst_sent;
    assert_eq!(rst_sent, 3);
    for flags in [TcpFlags::RST, TcpFlags::RST | TcpFlags::ACK] {
        let h = r.hdr(SeqNum(500), flags.ack().then_some(SeqNum(1)), flags, 0);
        assert!(r.send(h, b"").is_empty(), "{flags:?} answered");
    }
    // A listener ignores RSTs too.
    r.stack.listen(local, 4).unwrap();
    assert!(r.send(r.hdr(SeqNum(500), None, TcpFlags::RST, 0), &[]).is_empty());
    assert_eq!(r.stack.stats().rst_sent, rst_sent);
    assert!(r.stack.stats().no_connection >= 5);

    // Between two stacks: after the server forgot the connection, a stray segment from
    // the client gets a RST; the client, in TIME-WAIT, does not answer that RST.
    let mut p = Pair::new();
    let (c, s) = p.establish();
    p.a.close(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == State::CloseWait);
    p.b.close(s).unwrap();
    p.drive_until(100, |p| p.b.connection_count() == 0 && p.a.time_wait_count() == 1);
    let stray = p.log.iter().rfind(|g| g.dir == Dir::AtoB).unwrap().bytes.clone();
    let mut data_seg = synack::wire::parse(&stray).unwrap().tcp;
    data_seg.flags = TcpFlags::ACK | TcpFlags::PSH;
    let mut buf = vec![0u8; 200];
    let n = synack::wire::emit(&mut buf, CLIENT_IP, SERVER_IP, 64, &data_seg, &[b"stray"]).unwrap();
    let n_log = p.log.len();
    p.b.handle_packet(p.now, &buf[..n]);
    p.drive_idle(1000);
    let after: Vec<_> = p.log[n_log..].to_vec();
    assert_eq!(after.len(), 1, "one RST and nothing else: {after:?}");
    assert!(after[0].flags.rst() && after[0].dir == Dir::BtoA);
}
