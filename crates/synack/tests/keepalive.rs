//! TCP keep-alive, RFC 9293 3.8.4 (and RFC 1122 4.2.3.6): off by default, on or off
//! per connection, a probe only after the idle time with nothing outstanding, probes
//! that carry SEQ = SND.NXT - 1, and a dead peer detected after the unanswered probes.
//! Each test drives one stack by hand ([`RawPeer`]) on its virtual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use synack::wire::TcpFlags;
use synack::{ConnError, ConnId, Duration, Event, Keepalive, ListenerId, State};

const WINDOW: u16 = 65_535;

/// Short timings for the tests (any configurable value is allowed; the default is
/// two hours, MUST-28).
fn timings() -> Keepalive {
    Keepalive { idle: Duration::from_secs(600), interval: Duration::from_secs(10), probes: 3 }
}

/// A server stack with keep-alive configured as `ka`, and an established, accepted
/// connection from the raw peer.
fn established(ka: Option<Keepalive>) -> (RawPeer, ListenerId, ConnId) {
    let (mut r, l) = raw_server(synack::Config { keepalive: ka, ..cfg(SERVER_IP) });
    let (_, c) = r.connect_in(l, mss_opt(1460), WINDOW);
    r.poll();
    (r, l, c)
}

/// The keep-alive probes among `segs`: no payload, no SYN/FIN/RST, SEQ one below the
/// stack's SND.NXT (`snd_nxt`, which the peer knows as its RCV.NXT).
fn probes(segs: &[RawSeg], snd_nxt: synack::SeqNum) -> usize {
    segs.iter()
        .filter(|s| s.payload.is_empty() && s.flags() == TcpFlags::ACK && s.seq() == snd_nxt - 1)
        .count()
}

fn closed_reason(r: &mut RawPeer, c: ConnId) -> Option<synack::CloseReason> {
    let mut reason = None;
    while let Some(e) = r.stack.poll_event() {
        if let Event::Closed { conn, reason: why } = e {
            if conn == c {
                reason = Some(why);
            }
        }
    }
    reason
}

#[test]
fn keepalive_is_off_by_default_and_an_idle_connection_stays_silent() {
    // "they MUST default to off (MUST-25)"
    let (mut r, _, c) = established(None);
    let out = r.advance(Duration::from_secs(3 * 3600));
    assert!(out.is_empty(), "an idle connection without keep-alive sends nothing: {out:?}");
    assert_eq!(r.stack.state(c), State::Established);
    assert_eq!(r.stack.poll_timeout(), None, "no timer runs");
}

#[test]
fn default_idle_time_is_two_hours() {
    // "This interval MUST be configurable (MUST-27) and MUST default to no less than
    // two hours (MUST-28)."
    assert_eq!(Keepalive::default().idle, Duration::from_secs(7200));
}

#[test]
fn probe_goes_out_after_the_idle_time_with_seq_snd_nxt_minus_one() {
    let (mut r, _, c) = established(Some(timings()));
    let snd_nxt = r.rcv_nxt;
    let before = r.advance(Duration::from_secs(599));
    assert_eq!(probes(&before, snd_nxt), 0, "nothing before the idle time: {before:?}");
    let out = r.advance(Duration::from_secs(2));
    assert_eq!(out.len(), 1, "one probe: {out:?}");
    assert_eq!(probes(&out, snd_nxt), 1, "<SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>: {out:?}");
    assert_eq!(out[0].ack(), r.snd_nxt, "it acknowledges RCV.NXT");
    assert_eq!(r.stack.state(c), State::Established);
}

#[test]
fn answered_probe_keeps_the_connection_and_restarts_the_idle_time() {
    let (mut r, _, c) = established(Some(timings()));
    let snd_nxt = r.rcv_nxt;
    let out = r.advance(Duration::from_secs(601));
    assert_eq!(probes(&out, snd_nxt), 1);
    // The peer answers the old sequence number with an ACK (3.10.7.4, first step).
    r.send_ack(r.rcv_nxt, WINDOW);
    let later = r.advance(Duration::from_secs(590));
    assert_eq!(probes(&later, snd_nxt), 0, "no probe within the idle time after the answer: {later:?}");
    let next = r.advance(Duration::from_secs(11));
    assert_eq!(probes(&next, snd_nxt), 1, "the next probe after a full idle time: {next:?}");
    assert_eq!(r.stack.state(c), State::Established);
    let stats = r.stack.stats();
    assert_eq!((stats.keepalive_probes, stats.keepalive_drops), (2, 0), "two probes counted, no drop");
}

#[test]
fn any_received_segment_postpones_the_probe() {
    let (mut r, _, c) = established(Some(timings()));
    let snd_nxt = r.rcv_nxt;
    r.advance(Duration::from_secs(500));
    let mut buf = [0u8; 16];
    r.send_data(b"hello", WINDOW);
    assert_eq!(r.stack.recv(c, &mut buf).unwrap(), 5);
    let out = r.advance(Duration::from_secs(400));
    assert_eq!(probes(&out, snd_nxt), 0, "idle counts from the last segment received: {out:?}");
    let out = r.advance(Duration::from_secs(201));
    assert_eq!(probes(&out, snd_nxt), 1, "{out:?}");
}

#[test]
fn unanswered_probes_close_the_connection_as_timed_out() {
    let ka = timings();
    let (mut r, _, c) = established(Some(ka));
    let snd_nxt = r.rcv_nxt;
    let out = r.advance(Duration::from_secs(600 + 3 * 10 + 1));
    assert_eq!(probes(&out, snd_nxt), usize::from(ka.probes), "{out:?}");
    assert_eq!(r.stack.error(c), Some(ConnError::TimedOut));
    assert!(matches!(closed_reason(&mut r, c), Some(synack::CloseReason::Error(ConnError::TimedOut))));
    assert_eq!(r.stack.poll_timeout(), None, "nothing left running");
    let stats = r.stack.stats();
    assert_eq!((stats.keepalive_probes, stats.keepalive_drops), (u64::from(ka.probes), 1));
}

#[test]
fn one_lost_ack_never_closes_a_connection_whatever_the_probe_count() {
    // RFC 9293 3.8.4: "ACK segments that contain no data are not reliably transmitted by
    // TCP. Consequently, if a keep-alive mechanism is implemented it MUST NOT interpret
    // failure to respond to any specific probe as a dead connection (MUST-29)." A probe
    // count of 0 or 1 still sends two probes before giving up.
    for asked in [0, 1] {
        let ka = Keepalive { probes: asked, ..timings() };
        let (mut r, _, c) = established(Some(ka));
        let snd_nxt = r.rcv_nxt;
        let out = r.advance(Duration::from_secs(600 + 2 * 10 + 1));
        assert_eq!(probes(&out, snd_nxt), 2, "probes: {asked}: {out:?}");
        assert_eq!(r.stack.error(c), Some(ConnError::TimedOut), "probes: {asked}");
    }
}

#[test]
fn a_peer_that_lost_the_connection_answers_the_probe_with_rst() {
    // The half-open connection the campaign's seed 298386 left behind: the peer has
    // forgotten the connection, and answers the probe as CLOSED answers an ACK
    // (3.10.7.1): <SEQ=SEG.ACK><CTL=RST>.
    let (mut r, _, c) = established(Some(timings()));
    let out = r.advance(Duration::from_secs(601));
    let probe = out.first().expect("a probe").clone();
    let rst = r.hdr(probe.ack(), None, TcpFlags::RST, 0);
    r.send(rst, &[]);
    assert_eq!(r.stack.error(c), Some(ConnError::Reset));
}

#[test]
fn no_probe_while_sent_data_is_outstanding() {
    // "Keep-alive packets MUST only be sent when no sent data is outstanding (MUST-26)":
    // the retransmission timer watches the peer then. (An idle time well inside the
    // retransmissions' R2, which ends the connection after about 500 s here.)
    let ka = Keepalive { idle: Duration::from_secs(100), ..timings() };
    let (mut r, _, c) = established(Some(ka));
    r.stack.send(c, b"unacknowledged").unwrap();
    let first = r.poll();
    assert_eq!(first.len(), 1);
    let out = r.advance(Duration::from_secs(300));
    assert!(out.len() > 5, "retransmissions: {out:?}");
    assert!(out.iter().all(|s| s.payload == b"unacknowledged"), "only retransmissions: {out:?}");
    assert_eq!(r.stack.state(c), State::Established, "keep-alive did not end it");
}

#[test]
fn keepalive_can_be_turned_on_and_off_per_connection() {
    // "MUST allow them to be turned on or off for each TCP connection (MUST-24)"
    let (mut r, _, c) = established(None);
    let snd_nxt = r.rcv_nxt;
    r.stack.set_keepalive(c, true).unwrap();
    let out = r.advance(Duration::from_secs(7201));
    assert_eq!(probes(&out, snd_nxt), 1, "on with the default timings: {out:?}");
    r.send_ack(r.rcv_nxt, WINDOW);
    r.stack.set_keepalive(c, false).unwrap();
    let out = r.advance(Duration::from_secs(5 * 3600));
    assert!(out.is_empty(), "off again: {out:?}");
    assert_eq!(r.stack.state(c), State::Established);

    let (mut r, _, c) = established(Some(timings()));
    r.stack.set_keepalive(c, false).unwrap();
    assert!(r.advance(Duration::from_secs(3600)).is_empty());
}

/// The stack half-closes `c` and the peer acknowledges its FIN: FIN-WAIT-2, with the
/// application still holding the connection (it may read more). Returns the stack's
/// SND.NXT (one past its FIN).
fn half_closed(r: &mut RawPeer, c: ConnId) -> synack::SeqNum {
    r.stack.shutdown(c).unwrap();
    let fin = r.poll().into_iter().find(|s| s.flags().contains(TcpFlags::FIN)).expect("our FIN");
    let snd_nxt = fin.seq() + 1;
    r.send_ack(snd_nxt, WINDOW);
    assert_eq!(r.stack.state(c), State::FinWait2);
    snd_nxt
}

#[test]
fn a_half_closed_connection_in_fin_wait_2_is_probed_and_a_dead_peer_times_it_out() {
    // Campaign seed 1694606: the client half-closed and waited for the rest of the
    // server's data; the server gave up after its retransmissions (every ACK of them
    // lost) and closed without a word. With keep-alive only in ESTABLISHED and
    // CLOSE-WAIT, the client waited in FIN-WAIT-2 for ever.
    let ka = timings();
    let (mut r, _, c) = established(Some(ka));
    let snd_nxt = half_closed(&mut r, c);
    let before = r.advance(Duration::from_secs(599));
    assert_eq!(probes(&before, snd_nxt), 0, "{before:?}");
    let out = r.advance(Duration::from_secs(2 + 3 * 10));
    // <SEQ=SND.NXT-1>: the sequence number of our FIN, which the peer has acknowledged.
    assert_eq!(probes(&out, snd_nxt), usize::from(ka.probes), "{out:?}");
    assert_eq!(r.stack.error(c), Some(ConnError::TimedOut));
    assert!(matches!(closed_reason(&mut r, c), Some(synack::CloseReason::Error(ConnError::TimedOut))));
    assert_eq!(r.stack.stats().keepalive_drops, 1);
}

#[test]
fn a_probe_answered_in_fin_wait_2_keeps_the_half_closed_connection() {
    let (mut r, _, c) = established(Some(timings()));
    let snd_nxt = half_closed(&mut r, c);
    let out = r.advance(Duration::from_secs(601));
    assert_eq!(probes(&out, snd_nxt), 1, "{out:?}");
    r.send_ack(snd_nxt, WINDOW);
    r.advance(Duration::from_secs(500));
    assert_eq!(r.stack.state(c), State::FinWait2, "still waiting for the peer's data and FIN");
    // The peer's data still arrives and is read: the half-close is intact.
    r.send_data(b"late", WINDOW);
    let mut buf = [0u8; 8];
    assert_eq!(r.stack.recv(c, &mut buf).unwrap(), 4);
}

#[test]
fn closing_a_half_closed_connection_trades_keep_alive_for_the_fin_wait_2_limit() {
    // Once the application closes, nobody reads: the orphaned FIN-WAIT-2 is bounded by
    // `fin_wait2_timeout` (60 s by default), not by keep-alive's idle time and probes.
    let (mut r, _, c) = established(Some(timings()));
    let snd_nxt = half_closed(&mut r, c);
    r.advance(Duration::from_secs(30));
    r.stack.close(c).unwrap();
    let out = r.advance(Duration::from_secs(59));
    assert_eq!(probes(&out, snd_nxt), 0, "{out:?}");
    assert_eq!(r.stack.connection_count(), 1, "still waiting for the peer's FIN");
    let out = r.advance(Duration::from_secs(2));
    assert_eq!(probes(&out, snd_nxt), 0, "no probe from an orphan: {out:?}");
    assert_eq!(r.stack.connection_count(), 0, "released after the FIN-WAIT-2 limit");
    assert_eq!(r.stack.stats().keepalive_probes, 0);
}

/// When the probes among `segs` went out, from `start`, in whole seconds.
fn probe_times(segs: &[RawSeg], snd_nxt: synack::SeqNum, start: synack::Instant) -> Vec<u64> {
    segs.iter()
        .filter(|s| s.payload.is_empty() && s.flags() == TcpFlags::ACK && s.seq() == snd_nxt - 1)
        .map(|s| s.t.saturating_since(start).as_millis() / 1000)
        .collect()
}

#[test]
fn a_connection_s_own_timings_replace_the_configured_ones() {
    // "This interval MUST be configurable (MUST-27)", and keep-alive "MUST" be
    // possible to turn "on or off for each TCP connection (MUST-24)": one connection's
    // timings, like TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT, on a stack whose
    // connections have none configured.
    let (mut r, _, c) = established(None);
    let (snd_nxt, start) = (r.rcv_nxt, r.now);
    let own = Keepalive { idle: Duration::from_secs(40), interval: Duration::from_secs(5), probes: 4 };
    r.stack.set_keepalive_timings(c, own).unwrap();
    let info = r.stack.info(c).unwrap();
    assert_eq!((info.keepalive, info.keepalive_timings), (false, own), "set, still off");
    assert!(r.advance(Duration::from_secs(3600)).is_empty(), "timings alone do not turn it on");

    let (mut r, _, c) = established(None);
    let (snd_nxt2, start2) = (r.rcv_nxt, r.now);
    assert_eq!((snd_nxt2, start2), (snd_nxt, start), "the same start as the first");
    r.stack.set_keepalive_timings(c, own).unwrap();
    r.stack.set_keepalive(c, true).unwrap();
    assert!(r.stack.info(c).unwrap().keepalive);
    let out = r.advance(Duration::from_secs(40 + 4 * 5 + 1));
    assert_eq!(probe_times(&out, snd_nxt, start), [40, 45, 50, 55], "{out:?}");
    assert_eq!(r.stack.error(c), Some(ConnError::TimedOut), "after the fourth goes unanswered");
}

#[test]
fn timings_given_while_idle_count_from_the_last_segment_received() {
    // Set at 100 s on a connection that received nothing since 0 s: an idle time of
    // 200 s brings the probe forward to 200 s (not 300 s); one of 50 s is past, so the
    // probe goes at once; one of 1000 s puts it off from the configured 600 s.
    for (idle, first) in [(200, 200), (50, 100), (1000, 1000)] {
        let (mut r, _, c) = established(Some(timings()));
        let (snd_nxt, start) = (r.rcv_nxt, r.now);
        assert!(r.advance(Duration::from_secs(100)).is_empty());
        let own = Keepalive { idle: Duration::from_secs(idle), ..timings() };
        r.stack.set_keepalive_timings(c, own).unwrap();
        let out = r.advance(Duration::from_secs(first - 100));
        assert_eq!(probe_times(&out, snd_nxt, start), [first], "idle {idle} s: {out:?}");
        assert_eq!(r.stack.state(c), State::Established);
    }
}

#[test]
fn timings_given_while_probing_apply_from_the_next_probe() {
    // Configured: probes 10 s apart, three of them. At the first probe (600 s) the
    // connection's own timings become 20 s and two: the second probe keeps its time
    // (610 s), the rest follow the new ones (the connection closes at 630 s, when the
    // second has gone unanswered for 20 s).
    let (mut r, _, c) = established(Some(timings()));
    let (snd_nxt, start) = (r.rcv_nxt, r.now);
    let out = r.advance(Duration::from_secs(600));
    assert_eq!(probe_times(&out, snd_nxt, start), [600]);
    let own = Keepalive { idle: Duration::from_secs(600), interval: Duration::from_secs(20), probes: 2 };
    r.stack.set_keepalive_timings(c, own).unwrap();
    let out = r.advance(Duration::from_secs(29));
    assert_eq!(probe_times(&out, snd_nxt, start), [610], "{out:?}");
    assert_eq!(r.stack.state(c), State::Established, "at 629 s");
    r.advance(Duration::from_secs(1));
    assert_eq!(r.stack.error(c), Some(ConnError::TimedOut), "at 630 s");
}

#[test]
fn a_listener_s_keepalive_goes_to_the_connections_it_accepts() {
    // As SO_KEEPALIVE and TCP_KEEPIDLE on a listening socket: on with the listener's
    // timings though the stack has none configured, with a SYN queue and with SYN
    // cookies (the cookie's connection is made at the handshake's ACK).
    let own = Keepalive { idle: Duration::from_secs(30), interval: Duration::from_secs(3), probes: 2 };
    for cookies in [synack::SynCookies::Off, synack::SynCookies::Always] {
        let (mut r, l) = raw_server(synack::Config { syn_cookies: cookies, ..cfg(SERVER_IP) });
        r.stack.set_listener_keepalive(l, Some(own)).unwrap();
        let (_, c) = r.connect_in(l, mss_opt(1460), WINDOW);
        r.poll();
        let (snd_nxt, start) = (r.rcv_nxt, r.now);
        let info = r.stack.info(c).unwrap();
        assert_eq!((info.keepalive, info.keepalive_timings), (true, own), "{cookies:?}");
        let out = r.advance(Duration::from_secs(30 + 2 * 3 + 1));
        assert_eq!(probe_times(&out, snd_nxt, start), [30, 33], "{cookies:?}: {out:?}");
        assert_eq!(r.stack.error(c), Some(ConnError::TimedOut), "{cookies:?}");
    }
    // Off on the listener, though configured for the stack: its connections stay
    // silent.
    let (mut r, l) = raw_server(synack::Config { keepalive: Some(timings()), ..cfg(SERVER_IP) });
    r.stack.set_listener_keepalive(l, None).unwrap();
    let (_, c) = r.connect_in(l, mss_opt(1460), WINDOW);
    r.poll();
    assert!(!r.stack.info(c).unwrap().keepalive);
    assert!(r.advance(Duration::from_secs(3600)).is_empty());
}

#[test]
fn a_released_connection_s_timings_do_not_pass_to_the_next_one() {
    // Control blocks are reused: a connection with timings of its own, once released,
    // leaves the next connection with the configured ones.
    let (mut r, l, c) = established(Some(timings()));
    let own = Keepalive { idle: Duration::from_secs(5), ..timings() };
    r.stack.set_keepalive_timings(c, own).unwrap();
    r.stack.abort(c).unwrap();
    r.poll();
    assert_eq!(r.stack.connection_count(), 0);
    r.snd_nxt += 100_000;
    let (_, next) = r.connect_in(l, mss_opt(1460), WINDOW);
    assert_eq!(next.index(), c.index(), "the same slot");
    assert_eq!(r.stack.info(next).unwrap().keepalive_timings, timings());
}

#[test]
fn keepalive_timings_without_an_idle_time_or_interval_are_refused() {
    let (mut r, l, c) = established(None);
    let usage = |e| matches!(e, synack::Error::Usage(synack::UsageError::InvalidValue));
    for bad in
        [Keepalive { idle: Duration::ZERO, ..timings() }, Keepalive { interval: Duration::ZERO, ..timings() }]
    {
        assert!(r.stack.set_keepalive_timings(c, bad).is_err_and(usage), "{bad:?}");
        assert!(r.stack.set_listener_keepalive(l, Some(bad)).is_err_and(usage), "{bad:?}");
    }
    assert_eq!(r.stack.info(c).unwrap().keepalive_timings, Keepalive::default(), "unchanged");
    r.stack.abort(c).unwrap();
    assert!(r.stack.set_keepalive_timings(c, timings()).is_err(), "a stale handle");
    r.stack.close_listener(l).unwrap();
    assert!(r.stack.set_listener_keepalive(l, None).is_err(), "a closed listener");
}
