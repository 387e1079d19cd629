//! The connection lifecycle end to end on a pair of stacks (RFC 9293 3.5, 3.6, Figure
//! 5): handshake, both closing orders, half-close, TIME-WAIT, loss of each handshake and
//! closing segment, simultaneous open and close, refusal, abort.

mod common;

use common::*;
use synack::wire::TcpFlags;
use synack::{
    CloseReason, ConnError, ConnId, Duration, Error, Event, Instant, State, TimerAction, TimerKind,
    TraceEvent,
};

use State::*;

/// Listen on the server, connect from the client, drive to ESTABLISHED on both sides
/// and accept. Returns (client conn, server conn).
fn establish(p: &mut Pair) -> (ConnId, ConnId) {
    let l = p.b.listen(server_addr(), 8).expect("listen");
    let c = p.a.connect(p.now, server_addr()).expect("connect");
    p.drive_until(100, |p| p.a.state(c) == Established && p.b.accept_queue_len(l) == 1);
    let s = p.b.accept(l).expect("accept");
    assert_eq!(p.b.state(s), Established);
    (c, s)
}

fn recv_all(stack: &mut synack::Stack, c: ConnId) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stack.recv(c, &mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn three_way_handshake_reaches_established_on_both_sides() {
    let mut p = Pair::new();
    let (c, _s) = establish(&mut p);
    // SYN, SYN-ACK, ACK (3.5, Figure 6).
    let flags: Vec<_> = p.log.iter().take(3).map(|s| (s.dir, s.flags)).collect();
    assert_eq!(
        flags,
        vec![
            (Dir::AtoB, TcpFlags::SYN),
            (Dir::BtoA, TcpFlags::SYN | TcpFlags::ACK),
            (Dir::AtoB, TcpFlags::ACK)
        ]
    );
    let syn = &p.log[0];
    let synack = &p.log[1];
    assert_eq!(synack.ack, syn.seq.wrapping_add(1), "SYN-ACK acknowledges ISS+1");
    assert_eq!(p.log[2].ack, synack.seq.wrapping_add(1));
    assert_eq!(Pair::states(&p.trace_a), vec![Closed, SynSent, Established]);
    assert_eq!(Pair::states(&p.trace_b), vec![Listen, SynReceived, Established]);
    assert!(matches!(p.a.poll_event(), Some(Event::StateChanged { .. })));
    let evs: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(evs.contains(&Event::Connected(c)));
}

#[test]
fn client_closes_first_and_waits_two_msl_in_time_wait() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.a.send(c, b"GET /").unwrap();
    p.drive_until(100, |p| p.b.info(s).map(|i| i.recv_queue).unwrap_or(0) == 5);
    assert_eq!(recv_all(&mut p.b, s), b"GET /");
    p.b.send(s, b"200 OK").unwrap();
    p.drive_until(100, |p| p.a.info(c).map(|i| i.recv_queue).unwrap_or(0) == 6);
    assert_eq!(recv_all(&mut p.a, c), b"200 OK");

    p.a.close(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == CloseWait);
    let mut buf = [0u8; 8];
    assert_eq!(p.b.recv(s, &mut buf), Ok(0), "RECEIVE returns end of stream after the FIN");
    p.b.close(s).unwrap();
    p.drive_idle(1000);

    let a_states = Pair::states(&p.trace_a);
    assert_eq!(a_states, vec![Closed, SynSent, Established, FinWait1, FinWait2, TimeWait, Closed]);
    let b_states = Pair::states(&p.trace_b);
    assert_eq!(b_states, vec![Listen, SynReceived, Established, CloseWait, LastAck, Closed]);

    // TIME-WAIT lasts exactly 2×MSL (3.4.2; MSL = 30 s by default).
    let enter = state_time(&p.trace_a, TimeWait);
    let leave = p
        .trace_a
        .iter()
        .find(|r| matches!(r.ev, TraceEvent::State { from: TimeWait, to: Closed, .. }))
        .map(|r| r.t)
        .expect("left TIME-WAIT");
    assert_eq!(leave - enter, Duration::from_secs(60));
    assert_eq!(p.a.time_wait_count(), 0);
    assert_eq!(p.a.connection_count(), 0);
    assert_eq!(p.b.connection_count(), 0);
}

fn state_time(trace: &[synack::TraceRecord], st: State) -> Instant {
    trace
        .iter()
        .find(|r| matches!(r.ev, TraceEvent::State { to, .. } if to == st))
        .map(|r| r.t)
        .unwrap_or_else(|| panic!("never entered {st}"))
}

#[test]
fn server_closes_first_and_the_server_waits_in_time_wait() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.b.close(s).unwrap();
    p.drive_until(100, |p| p.a.state(c) == CloseWait);
    p.a.close(c).unwrap();
    p.drive_idle(1000);
    assert_eq!(
        Pair::states(&p.trace_b),
        vec![Listen, SynReceived, Established, FinWait1, FinWait2, TimeWait, Closed]
    );
    assert_eq!(Pair::states(&p.trace_a), vec![Closed, SynSent, Established, CloseWait, LastAck, Closed]);
}

#[test]
fn half_closed_server_keeps_sending_after_the_clients_fin() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.a.shutdown(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == CloseWait && p.a.state(c) == FinWait2);
    // The side that closed can still receive (3.6: "half-closed").
    let body = pattern(20_000, 3);
    let mut sent = 0;
    while sent < body.len() {
        match p.b.send(s, &body[sent..]) {
            Ok(n) => sent += n,
            Err(Error::WouldBlock) => p.step().then_some(()).expect("progress"),
            Err(e) => panic!("send failed: {e}"),
        }
    }
    assert_eq!(p.a.send(c, b"x"), Err(Error::Usage(synack::UsageError::InvalidState(FinWait2))));
    let mut got = Vec::new();
    p.drive_until(2000, |p| {
        got.extend(recv_all(&mut p.a, c));
        got.len() == body.len()
    });
    assert_eq!(got, body);
    p.b.close(s).unwrap();
    p.drive_until(100, |p| p.a.state(c) == TimeWait);
    let mut buf = [0u8; 4];
    assert_eq!(p.a.recv(c, &mut buf), Ok(0));
    p.a.close(c).unwrap();
    p.drive_idle(1000);
    assert_eq!(p.a.time_wait_count(), 0);
}

#[test]
fn lost_final_ack_makes_the_server_retransmit_fin_and_time_wait_restarts() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.a.close(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == CloseWait);
    // Drop the client's first ACK of the server's FIN.
    let mut dropped = false;
    p.rule = Box::new(move |seg| {
        if !dropped && seg.dir == Dir::AtoB && seg.flags == TcpFlags::ACK && seg.len == 0 {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.b.close(s).unwrap();
    p.drive_idle(1000);
    let server_fins: Vec<_> = p.segs(Dir::BtoA).into_iter().filter(|s| s.flags.fin()).cloned().collect();
    assert_eq!(server_fins.len(), 2, "the server retransmits its FIN");
    assert_eq!(server_fins[0].seq, server_fins[1].seq);
    let acks_after: Vec<_> = p
        .segs(Dir::AtoB)
        .into_iter()
        .filter(|s| s.flags == TcpFlags::ACK && s.t >= server_fins[0].t)
        .collect();
    assert_eq!(acks_after.len(), 2, "the client in TIME-WAIT ACKs again");
    // 2×MSL restarts at the retransmitted FIN's arrival.
    let sets: Vec<_> = p
        .trace_a
        .iter()
        .filter_map(|r| match r.ev {
            TraceEvent::Timer { timer: TimerKind::TimeWait, action: TimerAction::Set, at, .. } => {
                Some((r.t, at))
            }
            _ => None,
        })
        .collect();
    assert_eq!(sets.len(), 2);
    assert!(sets[1].0 > sets[0].0);
    assert_eq!(sets[1].1 - sets[1].0, Duration::from_secs(60));
    let closed_at = p
        .trace_a
        .iter()
        .find(|r| matches!(r.ev, TraceEvent::State { from: TimeWait, to: Closed, .. }))
        .map(|r| r.t)
        .unwrap();
    assert_eq!(closed_at, sets[1].1);
    assert_eq!(Pair::states(&p.trace_b).last(), Some(&Closed));
}

fn lose_first(flags: TcpFlags, dir: Dir) -> Rule {
    let mut done = false;
    Box::new(move |seg| {
        if !done && seg.dir == dir && seg.flags == flags && seg.len == 0 {
            done = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    })
}

#[test]
fn lost_syn_is_retransmitted_after_the_initial_rto() {
    let mut p = Pair::new();
    p.rule = lose_first(TcpFlags::SYN, Dir::AtoB);
    let (_c, _s) = establish(&mut p);
    let syns: Vec<_> = p.segs(Dir::AtoB).into_iter().filter(|s| s.flags == TcpFlags::SYN).cloned().collect();
    assert_eq!(syns.len(), 2);
    // RFC 6298 2.1: initial RTO of 1 s.
    assert_eq!(syns[1].t - syns[0].t, Duration::from_secs(1));
    assert_eq!(syns[0].seq, syns[1].seq);
}

#[test]
fn lost_syn_ack_is_recovered() {
    let mut p = Pair::new();
    p.rule = lose_first(TcpFlags::SYN | TcpFlags::ACK, Dir::BtoA);
    let (_c, _s) = establish(&mut p);
    let n = p.segs(Dir::BtoA).into_iter().filter(|s| s.flags == TcpFlags::SYN | TcpFlags::ACK).count();
    assert!(n >= 2, "SYN-ACK sent again");
}

#[test]
fn lost_third_ack_is_recovered_by_the_syn_ack_retransmission() {
    let mut p = Pair::new();
    p.rule = lose_first(TcpFlags::ACK, Dir::AtoB);
    let l = p.b.listen(server_addr(), 8).unwrap();
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_until(200, |p| p.a.state(c) == Established && p.b.accept_queue_len(l) == 1);
    let n = p.segs(Dir::BtoA).into_iter().filter(|s| s.flags == TcpFlags::SYN | TcpFlags::ACK).count();
    assert_eq!(n, 2, "the server retransmits SYN-ACK after its RTO");
}

#[test]
fn lost_third_ack_is_repaired_by_the_first_data_segment() {
    let mut p = Pair::new();
    p.rule = lose_first(TcpFlags::ACK, Dir::AtoB);
    let l = p.b.listen(server_addr(), 8).unwrap();
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_until(100, |p| p.a.state(c) == Established);
    p.a.send(c, b"hello").unwrap();
    p.drive_until(100, |p| p.b.accept_queue_len(l) == 1);
    let s = p.b.accept(l).unwrap();
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 5);
}

#[test]
fn simultaneous_open_passes_syn_received_on_both_sides() {
    let mut p = Pair::new();
    let a_addr = std::net::SocketAddr::new(CLIENT_IP, 5000);
    let b_addr = std::net::SocketAddr::new(SERVER_IP, 6000);
    let ca = p.a.connect_from(p.now, a_addr, b_addr).unwrap();
    let cb = p.b.connect_from(p.now, b_addr, a_addr).unwrap();
    p.drive_until(100, |p| p.a.state(ca) == Established && p.b.state(cb) == Established);
    for t in [&p.trace_a, &p.trace_b] {
        assert_eq!(Pair::states(t), vec![Closed, SynSent, SynReceived, Established]);
    }
}

#[test]
fn simultaneous_close_passes_closing_on_both_sides() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.a.close(c).unwrap();
    p.b.close(s).unwrap();
    p.drive_idle(1000);
    let tail = [Established, FinWait1, Closing, TimeWait, Closed];
    for t in [&p.trace_a, &p.trace_b] {
        let st = Pair::states(t);
        assert_eq!(&st[st.len() - 5..], &tail, "{st:?}");
    }
}

#[test]
fn syn_to_a_port_without_listener_is_refused_with_rst() {
    let mut p = Pair::new();
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_idle(100);
    assert_eq!(p.a.state(c), Closed);
    assert_eq!(p.a.error(c), Some(ConnError::Refused));
    let rst = p.segs(Dir::BtoA)[0].clone();
    // 3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    assert_eq!(rst.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(rst.seq, 0);
    assert_eq!(rst.ack, p.log[0].seq.wrapping_add(1));
    let evs: Vec<_> = std::iter::from_fn(|| p.a.poll_event()).collect();
    assert!(evs.contains(&Event::Closed { conn: c, reason: CloseReason::Error(ConnError::Refused) }));
    let mut buf = [0u8; 1];
    assert_eq!(p.a.recv(c, &mut buf), Err(Error::Conn(ConnError::Refused)));
}

#[test]
fn abort_mid_transfer_resets_the_peer() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    p.a.send(c, &pattern(3000, 1)).unwrap();
    p.step();
    p.a.abort(c).unwrap();
    p.drive_idle(100);
    assert_eq!(p.b.state(s), Closed);
    assert_eq!(p.b.error(s), Some(ConnError::Reset));
    assert!(p.segs(Dir::AtoB).iter().any(|s| s.flags.rst()));
    assert_eq!(p.a.connection_count(), 0);
    assert_eq!(p.a.state(c), Closed, "a released handle reads as CLOSED");
    assert_eq!(p.a.send(c, b"x"), Err(Error::Usage(synack::UsageError::UnknownConnection)));
}

#[test]
fn retransmissions_give_up_with_timed_out() {
    let mut ca = config(CLIENT_IP);
    ca.max_retries = 3;
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let (c, _s) = establish(&mut p);
    p.rule = Box::new(|_| Fate::Drop);
    p.a.send(c, b"into the void").unwrap();
    p.drive_idle(1000);
    assert_eq!(p.a.error(c), Some(ConnError::TimedOut));
    let data: Vec<_> = p.segs(Dir::AtoB).into_iter().filter(|s| s.len > 0).cloned().collect();
    // The original, one tail loss probe (RFC 8985 7.3, which is no timeout and does
    // not count toward R2), and 3 retransmissions on timeouts.
    assert_eq!(data.len(), 5, "the original, a probe and 3 retransmissions");
    assert_eq!(p.a.stats().loss_probes, 1);
    // Exponential backoff between the timeouts (RFC 6298 5.5).
    let gaps: Vec<_> = data.windows(2).map(|w| w[1].t - w[0].t).collect();
    let ms = Duration::from_millis(1);
    assert!(gaps[2] >= gaps[1].saturating_mul(2).saturating_sub(ms), "{gaps:?}");
    assert!(gaps[3] >= gaps[2].saturating_mul(2).saturating_sub(ms), "{gaps:?}");
}

#[test]
fn syn_retransmissions_give_up_with_timed_out() {
    let mut ca = config(CLIENT_IP);
    ca.syn_retries = 2;
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    p.rule = Box::new(|_| Fate::Drop);
    let c = p.a.connect(p.now, server_addr()).unwrap();
    p.drive_idle(100);
    assert_eq!(p.a.error(c), Some(ConnError::TimedOut));
    assert_eq!(p.log.len(), 3);
}

#[test]
fn one_mebibyte_survives_ten_percent_loss_byte_exact() {
    let mut p = Pair::new();
    let (c, s) = establish(&mut p);
    let mut rng = Rng(0x5eed);
    p.rule = Box::new(move |_| if rng.chance(0.10) { Fate::Drop } else { Fate::Deliver });
    let body = pattern(1 << 20, 7);
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    for _ in 0..200_000 {
        if sent < body.len() {
            if let Ok(n) = p.a.send(c, &body[sent..]) {
                sent += n;
            }
        }
        while let Ok(n) = p.b.recv(s, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == body.len() {
            break;
        }
        assert!(p.step(), "stalled at {} of {} bytes", got.len(), body.len());
    }
    assert_eq!(got.len(), body.len());
    assert!(got == body, "bytes differ");
    assert!(p.a.info(c).unwrap().retransmissions > 0);
    p.a.close(c).unwrap();
    p.drive_until(10_000, |p| p.b.state(s) == CloseWait);
    p.b.close(s).unwrap();
    p.drive_idle(100_000);
    assert_eq!(p.a.connection_count() + p.b.connection_count(), 0);
}

/// The server closes first and keeps TIME-WAIT; the client, from the same port, opens
/// again 10 ms later, its SYN's sequence number below the server's old RCV.NXT (its
/// clock-driven ISN moved less than the 2 MB it sent). Whether the server's SYN,ACK
/// answers it, and how many TIME-WAIT records the server keeps afterwards.
fn reopen_with_an_old_sequence_number(timestamps: bool) -> (bool, usize) {
    let cfg = |ip| synack::Config { timestamps, ..config(ip) };
    let mut p = Pair::with_configs(cfg(CLIENT_IP), cfg(SERVER_IP));
    let (c, s) = establish(&mut p);
    let local = p.a.tuple(c).expect("tuple").local;
    // 2 MB: far more sequence space than the clock-driven ISN advances meanwhile
    // (250,000 a second of virtual time).
    let (mut sent, mut got) = (0usize, 0usize);
    while got < 2_000_000 {
        if sent < 2_000_000 {
            sent += p.a.send(c, &[1u8; 65536][..65536.min(2_000_000 - sent)]).unwrap_or(0);
        }
        p.step();
        got += recv_all(&mut p.b, s).len();
    }
    p.b.close(s).expect("close");
    p.drive_until(1000, |p| p.a.state(c) == CloseWait);
    p.a.close(c).expect("close");
    p.drive_until(1000, |p| p.b.time_wait_count() == 1 && p.a.connection_count() == 0);
    p.now += Duration::from_millis(10);
    let c2 = p.a.connect_from(p.now, local, server_addr()).expect("the client port is free");
    // Half a second: long enough for a handshake, far shorter than TIME-WAIT (60 s).
    let until = p.now + Duration::from_millis(500);
    p.drive_until_time(until, 1000);
    let answered = p.a.state(c2) == Established;
    (answered, p.b.time_wait_count())
}

#[test]
fn a_syn_with_a_newer_timestamp_reopens_time_wait_whatever_its_sequence_number() {
    // RFC 9293 3.6: "Use Timestamps to reduce TIME-WAIT" (SHLD-4), as RFC 6191 2 says:
    // when both incarnations use timestamps, a SYN whose timestamp is newer than the
    // last one seen is honoured even when its sequence number is not above the old
    // RCV.NXT; PAWS keeps the old incarnation's segments out of the new one.
    assert_eq!(reopen_with_an_old_sequence_number(true), (true, 0));
    // Without timestamps only the sequence number can tell (RFC 1122 4.2.2.13): the
    // SYN is not taken, and TIME-WAIT stays.
    let (answered, records) = reopen_with_an_old_sequence_number(false);
    assert!(!answered && records == 1, "answered {answered}, {records} records");
}
