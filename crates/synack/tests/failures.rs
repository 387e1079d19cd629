//! Connection failures (RFC 9293 3.8.3) and the per-connection controls RFC 9293 asks
//! an application to have: R1 and the report of a delivery problem, R2 for SYNs and
//! for data and its setting per connection, and Nagle's algorithm per connection
//! (3.7.4). Each test drives one stack with hand-made segments from a fake remote
//! (`common::inject`) on a virtual clock.

mod common;

use common::inject::*;
use synack::{CloseReason, ConnError, Duration, Event, Instant, RetryLimit, State};

/// Run the stack's timers, one deadline after another, for `d` of virtual time or until
/// it has none; every segment it sent on the way, with the time it was sent.
fn run_timers(p: &mut Peer, d: Duration) -> Vec<(Instant, Out)> {
    let until = p.now + d;
    let mut sent = Vec::new();
    while let Some(t) = p.stack.poll_timeout() {
        if t > until {
            break;
        }
        let outs = p.advance(t - p.now);
        sent.extend(outs.into_iter().map(|o| (p.now, o)));
    }
    sent
}

fn delivery_problems(p: &Peer) -> Vec<u32> {
    p.events
        .iter()
        .filter_map(|e| match e {
            Event::DeliveryProblem { conn, retransmissions } if *conn == p.c() => Some(*retransmissions),
            _ => None,
        })
        .collect()
}

fn timed_out(p: &Peer) -> bool {
    p.events.contains(&Event::Closed { conn: p.c(), reason: CloseReason::Error(ConnError::TimedOut) })
}

const HOUR: Duration = Duration::from_secs(3600);

/// The fixtures' configuration without tail loss probes (RFC 8985), so that every
/// retransmission below is one of the retransmission timer, which R1 and R2 count.
fn rto_only() -> synack::Config {
    synack::Config { tail_loss_probe: false, ..inject_config() }
}

#[test]
fn an_unanswered_syn_is_retransmitted_for_at_least_three_minutes_by_default() {
    // 3.8.3: "R2 for a SYN segment MUST be set large enough to provide retransmission
    // of the segment for at least 3 minutes (MUST-23)."
    let mut p = Peer::syn_sent();
    let sent = run_timers(&mut p, HOUR);
    let syns: Vec<u64> = sent.iter().filter(|(_, o)| o.flags == S).map(|(t, _)| t.as_millis()).collect();
    // RFC 6298 2.1, 5.5 and 2.5: 1 s, doubled at each timeout, at most 60 s.
    assert_eq!(syns, [1_000, 3_000, 7_000, 15_000, 31_000, 63_000, 123_000]);
    p.assert_state(State::Closed);
    assert!(timed_out(&p));
    assert_eq!(p.now.as_millis(), 183_000, "the open gives up after three minutes");
}

#[test]
fn the_application_learns_of_a_delivery_problem_after_three_retransmissions() {
    // 3.8.3: "The value of R1 SHOULD correspond to at least 3 retransmissions, at the
    // current RTO (SHLD-10)"; "TCP implementations SHOULD inform the application of
    // the delivery problem ... when R1 is reached and before R2 (SHLD-9)".
    let mut p = Peer::established_with(rto_only());
    assert_eq!(p.stack.send(p.c(), b"lost"), Ok(4));
    only(p.flush());
    let mut retransmitted = 0;
    while retransmitted < 6 {
        let t = p.stack.poll_timeout().expect("the retransmission timer");
        let outs = p.advance(t - p.now);
        retransmitted += outs.iter().filter(|o| o.payload == b"lost").count();
        let told = delivery_problems(&p);
        match retransmitted {
            0..=2 => assert!(told.is_empty(), "told after {retransmitted}: {told:?}"),
            // Once, at R1, while the connection goes on trying.
            _ => assert_eq!(told, [3], "after {retransmitted} retransmissions"),
        }
    }
    p.assert_state(State::Established);
    // Progress ends the stall; the next one is reported again. (The RTO keeps its
    // backoff until a fresh RTT sample, RFC 6298 5: the next stall's timeouts come
    // slowly.)
    p.feed_silent(Seg::new(A, p.nxt, p.seen));
    assert_eq!(p.stack.send(p.c(), b"again"), Ok(5));
    only(p.flush());
    run_timers(&mut p, Duration::from_secs(600));
    assert_eq!(delivery_problems(&p), [3, 3]);
}

#[test]
fn a_connect_timeout_ends_the_open_attempt_at_that_instant() {
    // Config::connect_timeout; RFC 9293 3.8.3: "The application can close the
    // connection (i.e., give up on the open attempt) sooner, of course."
    let cfg = synack::Config { connect_timeout: Some(Duration::from_secs(5)), ..inject_config() };
    let mut p = Peer::syn_sent_with(cfg.clone());
    let sent = run_timers(&mut p, HOUR);
    let syns: Vec<u64> = sent.iter().filter(|(_, o)| o.flags == S).map(|(t, _)| t.as_millis()).collect();
    assert_eq!(syns, [1_000, 3_000], "the SYNs of 1 and 3 s; the next would be at 7 s");
    p.assert_state(State::Closed);
    assert!(timed_out(&p));
    assert_eq!(p.now.as_millis(), 5_000, "given up at 5 s, not at a retransmission");
    assert!(sent.iter().all(|(t, _)| t.as_millis() < 5_000), "nothing sent when giving up");
    // An open that completes in time is not touched by it.
    let mut p = Peer::syn_sent_with(cfg);
    p.now += Duration::from_secs(2);
    let ack = only(p.feed(Seg::new(SA, REMOTE_ISS, p.seen).mss(1460)));
    assert_eq!(ack.flags, A);
    run_timers(&mut p, Duration::from_secs(60));
    p.assert_state(State::Established);
}

#[test]
fn an_unanswered_syn_is_reported_as_a_delivery_problem_too() {
    // 3.8.3: "SYN retransmissions MUST be handled in the general way just described for
    // data retransmissions, including notification of the application layer."
    let mut p = Peer::syn_sent();
    run_timers(&mut p, Duration::from_secs(8));
    assert_eq!(delivery_problems(&p), [3], "after the SYNs of 1, 3 and 7 s");
    p.assert_state(State::SynSent);
}

#[test]
fn no_delivery_problem_is_reported_when_r1_is_zero() {
    let cfg = synack::Config { report_after_retries: 0, ..inject_config() };
    let mut p = Peer::syn_sent_with(cfg);
    run_timers(&mut p, HOUR);
    assert!(timed_out(&p));
    assert!(delivery_problems(&p).is_empty());
}

#[test]
fn an_application_can_set_r2_for_one_connection() {
    // 3.8.3: "An application MUST (MUST-21) be able to set the value for R2 for a
    // particular connection."
    let mut p = Peer::established_with(rto_only());
    p.stack.set_retry_limit(p.c(), RetryLimit::After(2)).expect("set R2");
    assert_eq!(p.stack.send(p.c(), b"lost"), Ok(4));
    only(p.flush());
    let sent = run_timers(&mut p, HOUR);
    let retransmissions = sent.iter().filter(|(_, o)| o.payload == b"lost").count();
    assert_eq!(retransmissions, 2);
    p.assert_state(State::Closed);
    assert!(timed_out(&p));
}

#[test]
fn an_application_can_set_r2_to_never_and_close_when_it_wants() {
    // 3.8.3: "For example, an interactive application might set R2 to "infinity",
    // giving the user control over when to disconnect."
    let cfg = synack::Config { max_retries: 2, ..rto_only() };
    let mut p = Peer::established_with(cfg);
    p.stack.set_retry_limit(p.c(), RetryLimit::Never).expect("set R2");
    assert_eq!(p.stack.send(p.c(), b"lost"), Ok(4));
    only(p.flush());
    // Ten hours: far beyond the configured two retransmissions.
    let sent = run_timers(&mut p, Duration::from_secs(10 * 3600));
    let retransmissions = sent.iter().filter(|(_, o)| o.payload == b"lost").count();
    assert!(retransmissions > 500, "{retransmissions} retransmissions");
    p.assert_state(State::Established);
    // The user disconnects.
    p.stack.abort(p.c()).expect("abort");
    p.flush();
    assert!(!timed_out(&p));
    // And back to the configured limit: a fresh connection's default.
    let mut q = Peer::established_with(synack::Config { max_retries: 2, ..rto_only() });
    q.stack.set_retry_limit(q.c(), RetryLimit::Never).expect("set R2");
    q.stack.set_retry_limit(q.c(), RetryLimit::Config).expect("set R2");
    assert_eq!(q.stack.send(q.c(), b"lost"), Ok(4));
    only(q.flush());
    run_timers(&mut q, HOUR);
    assert!(timed_out(&q), "two retransmissions, then TimedOut");
}

#[test]
fn nagle_can_be_turned_off_for_one_connection() {
    // 3.7.4: "there MUST be a way for an application to disable the Nagle algorithm on
    // an individual connection (MUST-17)."
    let mut p = Peer::established();
    assert_eq!(p.stack.send(p.c(), b"a"), Ok(1));
    assert_eq!(only(p.flush()).payload, b"a");
    // Nagle (on by default): a short segment waits while data is unacknowledged.
    assert_eq!(p.stack.send(p.c(), b"b"), Ok(1));
    assert_silent(&p.flush());
    // Off: what waited goes at once, and so does the next short write.
    p.stack.set_nagle(p.c(), false).expect("set_nagle");
    assert_eq!(only(p.flush()).payload, b"b");
    assert_eq!(p.stack.send(p.c(), b"c"), Ok(1));
    assert_eq!(only(p.flush()).payload, b"c");
    // On again: the next short write waits for the ACK.
    p.stack.set_nagle(p.c(), true).expect("set_nagle");
    assert_eq!(p.stack.send(p.c(), b"d"), Ok(1));
    assert_silent(&p.flush());
    let d = only(p.feed(Seg::new(A, p.nxt, p.seen)));
    assert_eq!(d.payload, b"d");
}

#[test]
fn per_connection_settings_refuse_an_unknown_connection() {
    let mut p = Peer::established();
    let c = p.c();
    p.stack.abort(c).expect("abort");
    p.flush();
    assert!(p.stack.set_nagle(c, false).is_err());
    assert!(p.stack.set_retry_limit(c, RetryLimit::Never).is_err());
}

#[test]
fn a_window_shrunk_to_zero_under_data_in_flight_is_probed_while_the_peer_answers() {
    // 3.8.6: "If the window shrinks to zero, the TCP implementation MUST probe it in the
    // standard way (MUST-35)", and the sender "SHOULD NOT time out the connection if
    // data beyond the right window edge is not acknowledged (SHLD-17)"; 3.8.6.1: "As
    // long as the receiving TCP peer continues to send acknowledgments in response to
    // the probe segments, the sending TCP peer MUST allow the connection to stay open
    // (MUST-37)." (Before this was handled, the retransmissions into the closed window
    // counted towards R2 and the connection timed out after 522 s of answered probes.)
    let cfg = synack::Config { max_retries: 3, ..rto_only() };
    let mut p = Peer::established_with(cfg);
    let una = p.acked;
    assert_eq!(p.stack.send(p.c(), &[7u8; 4000]), Ok(4000));
    let first = p.flush();
    assert!(first.len() >= 2, "{first:?}");
    // The peer takes the first segment, then its window closes on the rest.
    let partial = una.wrapping_add(first[0].payload.len() as u32);
    p.feed(Seg::new(A, p.nxt, partial).win(0));
    let mut answered = 0;
    let end = p.now + Duration::from_secs(2 * 3600);
    while p.now < end {
        let t = p.stack.poll_timeout().expect("a timer: the window is probed");
        for _ in p.advance(t - p.now) {
            p.feed(Seg::new(A, p.nxt, partial).win(0));
            answered += 1;
        }
        assert_eq!(p.handle_state(), State::Established, "after {answered} answered probes");
    }
    assert!(answered > 3, "more answered probes than R2 allows unanswered: {answered}");
    assert!(!timed_out(&p));
    // The window opens: the rest is sent again as the (collapsed) congestion window
    // allows, from the next retransmission on, and all of it is acknowledged.
    let end = una.wrapping_add(4000);
    let mut acked = partial;
    let mut outs = p.feed(Seg::new(A, p.nxt, acked).win(10_000));
    for _ in 0..50 {
        if acked == end {
            break;
        }
        if outs.is_empty() {
            let t = p.stack.poll_timeout().expect("the retransmission timer");
            outs = p.advance(t - p.now);
            continue;
        }
        for o in std::mem::take(&mut outs) {
            if o.seq == acked {
                acked = acked.wrapping_add(o.payload.len() as u32);
            }
        }
        outs = p.feed(Seg::new(A, p.nxt, acked).win(10_000));
    }
    assert_eq!(acked, end, "everything acknowledged");
    assert_eq!(p.handle_state(), State::Established);
}

#[test]
fn the_backed_off_rto_is_kept_until_a_fresh_rtt_sample() {
    // Karn's algorithm (RFC 9293 3.8.1, MUST-18; RFC 6298 5 and 3): no RTT sample comes
    // from a retransmitted segment, and the backed-off RTO stays until "a new RTT
    // measurement is obtained (which can only happen when new data has been sent and
    // acknowledged)", which then may collapse it. Timestamps off: with them every ACK
    // would give a sample.
    let cfg = synack::Config { timestamps: false, ..rto_only() };
    let mut p = Peer::established_with(cfg);
    let rto = |p: &Peer| p.stack.info(p.c()).expect("info").rto;
    let base = rto(&p);
    assert_eq!(p.stack.send(p.c(), b"lost"), Ok(4));
    only(p.flush());
    let t = p.stack.poll_timeout().expect("the retransmission timer");
    assert_eq!(only(p.advance(t - p.now)).payload, b"lost");
    assert_eq!(rto(&p), base.saturating_mul(2), "backed off (RFC 6298 5.5)");
    // The ACK of the retransmission: no sample, and the backoff stays.
    p.feed_silent(Seg::new(A, p.nxt, p.seen));
    assert_eq!(rto(&p), base.saturating_mul(2), "kept: the ACK is ambiguous");
    // New data, acknowledged: a fresh sample, and the RTO is computed again.
    assert_eq!(p.stack.send(p.c(), b"new"), Ok(3));
    only(p.flush());
    p.now += synack::Duration::from_millis(10);
    p.feed_silent(Seg::new(A, p.nxt, p.seen));
    assert!(rto(&p) < base.saturating_mul(2), "collapsed by the sample: {:?}", rto(&p));
}

/// a sends 10,000 bytes to b; the first transmission of every data segment but the
/// first is lost. Returns a's RTO before the loss, and its RTO just after the ACK of the
/// first resend (SND.UNA past the second segment), in the middle of the recovery.
fn rto_after_one_timeout(timestamps: bool) -> (Duration, Duration) {
    use common::{Dir, Fate, Pair};
    let cfg = |ip| synack::Config { timestamps, tail_loss_probe: false, ..common::config(ip) };
    let mut p = Pair::with_configs(cfg(common::CLIENT_IP), cfg(common::SERVER_IP));
    let (c, _s) = p.establish();
    let before = p.a.info(c).expect("info").rto;
    let mut seen = std::collections::BTreeSet::new();
    p.rule = Box::new(move |g| {
        if g.dir == Dir::AtoB && g.len > 0 && seen.insert(g.seq) && seen.len() > 1 {
            return Fate::Drop;
        }
        Fate::Deliver
    });
    assert_eq!(p.a.send(c, &[5u8; 10_000]), Ok(10_000));
    let mss = u32::from(p.a.info(c).expect("info").mss);
    for _ in 0..10_000 {
        p.step();
        let i = p.a.info(c).expect("info");
        if i.retransmissions >= 1 && i.send_queue <= 10_000 - 2 * mss {
            return (before, i.rto);
        }
    }
    panic!("the first resend was never acknowledged");
}

#[test]
fn with_timestamps_the_ack_of_a_resend_is_a_sample_that_ends_the_backoff() {
    // RFC 6298 3: "The only case when TCP can safely take RTT samples from
    // retransmitted segments is when the TCP timestamp option is employed, since the
    // timestamp option removes the ambiguity regarding which instance of the data
    // segment triggered the acknowledgment." The sample collapses the backoff (RFC
    // 6298 5) at once, in the middle of the recovery; without timestamps Karn's rule
    // keeps it.
    let (before, after) = rto_after_one_timeout(true);
    assert!(after < before.saturating_mul(2), "collapsed: {before:?} then {after:?}");
    let (before, after) = rto_after_one_timeout(false);
    assert!(after >= before.saturating_mul(2), "kept until a fresh sample: {before:?} then {after:?}");
}

// ----- the user timeout (RFC 9293 3.10.8) ----------------------------------------------

/// Run the timers for `d` (as `run_timers`) until the connection closes as timed out:
/// when it did. Giving up sends nothing, at one expiry of a timer (not a round of
/// backoffs at that instant until R2): anything else at that instant fails the test.
fn closed_at(p: &mut Peer, d: Duration) -> Option<Instant> {
    closed_at_answering(p, d, |_, _| {})
}

/// [`closed_at`], with `answer` given what the stack sent at each expiry before (a
/// peer that answers its probes).
fn closed_at_answering(
    p: &mut Peer,
    d: Duration,
    mut answer: impl FnMut(&mut Peer, Vec<Out>),
) -> Option<Instant> {
    let until = p.now + d;
    while let Some(t) = p.stack.poll_timeout() {
        if t > until {
            break;
        }
        let outs = p.advance(t - p.now);
        if timed_out(p) {
            assert!(outs.is_empty(), "sent while giving up: {outs:?}");
            let fires = p
                .trace
                .iter()
                .filter(|r| r.t == p.now)
                .filter(|r| {
                    matches!(r.ev, synack::TraceEvent::Timer { action: synack::TimerAction::Fire, .. })
                })
                .count();
            assert_eq!(fires, 1, "one expiry gives up");
            return Some(p.now);
        }
        answer(p, outs);
    }
    None
}

#[test]
fn a_user_timeout_aborts_a_connection_whose_data_stays_unacknowledged_at_that_instant() {
    // 3.10.8, USER TIMEOUT: "For any state if the user timeout expires, flush all
    // queues, signal the user "error: connection aborted due to user timeout" ...
    // enter the CLOSED state."
    let mut p = Peer::established_with(rto_only());
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(10))).expect("set");
    let t0 = p.now;
    assert_eq!(p.stack.send(p.c(), b"lost"), Ok(4));
    only(p.flush());
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(10)), "at 10 s, not at an RTO");
    p.assert_state(State::Closed);
    // The retransmissions of the timer before 10 s, and none more when giving up.
    let rtos: Vec<u64> = p
        .trace
        .iter()
        .filter(|r| matches!(r.ev, synack::TraceEvent::Send { retransmit: true, .. }))
        .map(|r| (r.t - t0).as_millis())
        .collect();
    assert!(!rtos.is_empty() && rtos.iter().all(|&ms| ms < 10_000), "{rtos:?}");
    assert_eq!(p.stack.stats().retransmissions, rtos.len() as u64);
    // One expiry of the timer at 10 s gives up (no round of backoffs at that instant
    // until R2).
    let fires_at_10s = p
        .trace
        .iter()
        .filter(|r| r.t == t0 + Duration::from_secs(10))
        .filter(|r| matches!(r.ev, synack::TraceEvent::Timer { action: synack::TimerAction::Fire, .. }))
        .count();
    assert_eq!(fires_at_10s, 1);
    // Without it, the same loss leaves the connection trying (R2 is 15).
    let mut q = Peer::established_with(rto_only());
    assert_eq!(q.stack.send(q.c(), b"lost"), Ok(4));
    only(q.flush());
    assert_eq!(closed_at(&mut q, Duration::from_secs(60)), None);
    q.assert_state(State::Established);
}

#[test]
fn an_acknowledgment_of_new_data_starts_the_user_timeout_again() {
    let cfg = synack::Config { nagle: false, ..rto_only() };
    let mut p = Peer::established_with(cfg);
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(5))).expect("set");
    let t0 = p.now;
    let una = p.seen;
    p.stack.send(p.c(), b"a").unwrap();
    assert_eq!(only(p.flush()).payload, b"a");
    p.stack.send(p.c(), b"b").unwrap();
    assert_eq!(only(p.flush()).payload, b"b");
    // 4 s later the peer takes "a" only: "b" has 5 s from then.
    assert_eq!(closed_at(&mut p, Duration::from_secs(4)), None);
    p.now = t0 + Duration::from_secs(4);
    p.feed(Seg::new(A, p.nxt, una.wrapping_add(1)));
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(9)));
}

#[test]
fn a_user_timeout_set_or_changed_while_data_waits() {
    // Set while "lost" already waits (for 3 s): it counts from the call.
    let mut p = Peer::established_with(rto_only());
    let t0 = p.now;
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    assert_eq!(closed_at(&mut p, Duration::from_secs(3)), None);
    p.now = t0 + Duration::from_secs(3);
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(5))).expect("set");
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(8)));
    // Changed while running: the clock keeps its start (10 s, then 4 s, from t0).
    let mut p = Peer::established_with(rto_only());
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(10))).expect("set");
    let t0 = p.now;
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    assert_eq!(closed_at(&mut p, Duration::from_secs(2)), None);
    p.now = t0 + Duration::from_secs(2);
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(4))).expect("set");
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(4)));
    // Taken away: only R2 is left.
    let mut p = Peer::established_with(rto_only());
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(4))).expect("set");
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    p.stack.set_user_timeout(p.c(), None).expect("unset");
    assert_eq!(closed_at(&mut p, Duration::from_secs(60)), None);
    p.assert_state(State::Established);
}

/// An established connection whose peer takes every byte sent so far (what its
/// window allowed) and closes its window on the rest of 20,000 queued, with nothing left in
/// flight, then answers every zero-window probe with the window still closed;
/// `user_timeout` set from the start, or `late` (3 s after the window closed). When it
/// closed as timed out within an hour, from when the window closed.
fn closed_behind_a_closed_window(user_timeout: Option<Duration>, late: bool) -> Option<Duration> {
    let cfg = synack::Config { nagle: false, ..rto_only() };
    let mut p = Peer::established_with(cfg);
    if !late {
        p.stack.set_user_timeout(p.c(), user_timeout).expect("set");
    }
    assert_eq!(p.stack.send(p.c(), &[7u8; 20_000]), Ok(20_000));
    let sent: usize = p.flush().iter().map(|o| o.payload.len()).sum();
    assert!(sent > 0 && sent <= usize::from(REMOTE_WINDOW), "{sent}");
    let taken = p.acked.wrapping_add(sent as u32);
    p.feed(Seg::new(A, p.nxt, taken).win(0));
    assert_eq!(p.stack.info(p.c()).map(|i| i.bytes_in_flight), Ok(0));
    // The peer answers every probe with the window still closed.
    let answer = move |p: &mut Peer, outs: Vec<Out>| {
        for _ in outs {
            p.feed(Seg::new(A, p.nxt, taken).win(0));
        }
    };
    let t0 = p.now;
    if late {
        assert_eq!(closed_at_answering(&mut p, Duration::from_secs(3), answer), None);
        p.now = t0 + Duration::from_secs(3);
        p.stack.set_user_timeout(p.c(), user_timeout).expect("set");
    }
    let closed = closed_at_answering(&mut p, HOUR, answer).map(|t| t - t0);
    if closed.is_none() {
        assert_eq!(p.handle_state(), State::Established);
    }
    closed
}

#[test]
fn a_user_timeout_ends_a_connection_whose_data_waits_behind_a_window_kept_closed() {
    // RFC 9293 3.9.1: the user timeout is "for all data submitted to TCP. If data is
    // not successfully delivered to the destination within the timeout period, the TCP
    // endpoint will abort the connection." Data that waits behind a closed window is
    // not delivered: 5 s after the window closed on it (the last acknowledgment of new
    // data), answered probes or not. Without a user timeout, 3.8.6.1 holds: "As long as
    // the receiving TCP peer continues to send acknowledgments in response to the probe
    // segments, the sending TCP peer MUST allow the connection to stay open (MUST-37)".
    let five = Some(Duration::from_secs(5));
    assert_eq!(closed_behind_a_closed_window(five, false), Some(Duration::from_secs(5)));
    assert_eq!(closed_behind_a_closed_window(None, false), None, "open an hour later");
    // Set while the data waits (3 s after the window closed): from the call.
    assert_eq!(closed_behind_a_closed_window(five, true), Some(Duration::from_secs(8)));
}

#[test]
fn a_user_timeout_ends_an_open_and_the_earlier_of_it_and_the_connect_timeout_wins() {
    let mut p = Peer::syn_sent();
    let t0 = p.now;
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(2))).expect("set");
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(2)));
    let cfg = synack::Config { connect_timeout: Some(Duration::from_secs(5)), ..inject_config() };
    let mut p = Peer::syn_sent_with(cfg.clone());
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(20))).expect("set");
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(5)));
    // Once the open is done, the connect timeout is no more, and the user timeout
    // runs only while data waits: from the send at 1 s, 20 s.
    let mut p = Peer::syn_sent_with(cfg);
    p.stack.set_user_timeout(p.c(), Some(Duration::from_secs(20))).expect("set");
    p.now += Duration::from_millis(500);
    assert_eq!(only(p.feed(Seg::new(SA, REMOTE_ISS, p.seen).mss(1460))).flags, A);
    assert_eq!(closed_at(&mut p, Duration::from_millis(500)), None);
    p.now = t0 + Duration::from_secs(1);
    p.stack.send(p.c(), b"lost").unwrap();
    assert_eq!(only(p.flush()).payload, b"lost");
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(21)));
}

#[test]
fn a_zero_user_timeout_or_an_unknown_connection_is_refused() {
    let mut p = Peer::established();
    let c = p.c();
    assert_eq!(
        p.stack.set_user_timeout(c, Some(Duration::ZERO)),
        Err(synack::Error::Usage(synack::UsageError::InvalidValue))
    );
    p.stack.abort(c).expect("abort");
    p.flush();
    assert!(p.stack.set_user_timeout(c, Some(Duration::from_secs(1))).is_err());
}

#[test]
fn a_listener_user_timeout_is_given_to_its_connections_once_established() {
    // The listener's timeout, set before the SYN arrives: the half-open connection keeps
    // its SYN,ACK retransmissions (no abort at 2 s), and once established its data
    // gets 2 s.
    let mut p = Peer::listen_with(rto_only());
    let l = p.listener.expect("listener");
    p.stack.set_listener_user_timeout(l, Some(Duration::from_secs(2))).expect("set");
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
    p.stack_iss = synack.seq;
    p.nxt = REMOTE_ISS.wrapping_add(1);
    let retransmitted = run_timers(&mut p, Duration::from_secs(4));
    assert!(retransmitted.iter().any(|(t, o)| o.flags == SA && t.as_millis() > 2_000), "{retransmitted:?}");
    p.seen = synack.seq.wrapping_add(1);
    assert_silent(&p.feed(p.seg(A)));
    p.conn = Some(p.stack.accept(l).expect("accepted"));
    let t0 = p.now;
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(2)));
    // Refusals.
    assert_eq!(
        p.stack.set_listener_user_timeout(l, Some(Duration::ZERO)),
        Err(synack::Error::Usage(synack::UsageError::InvalidValue))
    );
    p.stack.close_listener(l).expect("close");
    assert!(p.stack.set_listener_user_timeout(l, None).is_err());
}

#[test]
fn a_configured_user_timeout_applies_to_active_and_passive_connections() {
    let cfg = synack::Config { user_timeout: Some(Duration::from_secs(3)), ..rto_only() };
    // Active: the SYN's clock runs from the open (the SYN at 0 s, again at 1 s).
    let mut p = Peer::syn_sent_with(cfg.clone());
    let t0 = p.now;
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(3)));
    // Passive: from the listener, once established.
    let mut p = Peer::established_with(cfg.clone());
    let t0 = p.now;
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    assert_eq!(closed_at(&mut p, HOUR), Some(t0 + Duration::from_secs(3)));
    // A zero duration counts as none.
    let mut p = Peer::established_with(synack::Config { user_timeout: Some(Duration::ZERO), ..rto_only() });
    p.stack.send(p.c(), b"lost").unwrap();
    only(p.flush());
    assert_eq!(closed_at(&mut p, Duration::from_secs(60)), None);
}
