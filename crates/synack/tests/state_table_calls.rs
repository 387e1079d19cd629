//! The CLOSE (RFC 9293 3.10.4) and ABORT (3.10.5) calls in every state, on one stack
//! driven by a fake remote (`common::inject`).
//!
//! synack's calls: `close` is CLOSE that also releases the handle, `shutdown` is CLOSE
//! keeping the handle (a half-close), `abort` is ABORT, `close_listener` is CLOSE (and
//! ABORT) of a passive OPEN.

mod common;

use common::inject::*;
use synack::{CloseReason, ConnError, Duration, Error, Event, State, UsageError};

use State::*;

// ----- CLOSE ------------------------------------------------------------------------------

#[test]
fn close_of_a_listener_deletes_it_and_later_syns_meet_closed() {
    // 3.10.4, LISTEN: "Any outstanding RECEIVEs are returned with "error: closing"
    // responses. Delete TCB, enter CLOSED state, and return." Then 3.10.7.1 applies:
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    let mut p = Peer::listen();
    p.stack.close_listener(p.listener.take().expect("listener")).expect("close");
    assert_seg(&only(p.feed(Seg::new(S, 1000, 0))), RA, 0, 1001);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn close_of_a_listener_resets_its_syn_received_connections() {
    // Closing the listener takes its not-yet-accepted connections with it; for one in
    // SYN-RECEIVED that is ABORT, 3.10.5: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>".
    let mut p = Peer::syn_received();
    p.stack.close_listener(p.listener.take().expect("listener")).expect("close");
    assert_seg(&only(p.flush()), R, p.seen, 0);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn close_in_syn_sent_deletes_the_tcb_without_a_segment() {
    // 3.10.4, SYN-SENT: "Delete the TCB and return "error: closing" responses to any
    // queued SENDs, or RECEIVEs."
    let mut p = Peer::syn_sent();
    p.stack.close(p.c()).expect("close");
    assert_silent(&p.flush());
    p.assert_state(Closed);
    assert_eq!(p.stack.connection_count(), 0);
    // No TCB: a late SYN,ACK meets CLOSED (3.10.7.1): <SEQ=SEG.ACK><CTL=RST>.
    assert_seg(&only(p.feed(Seg::new(SA, REMOTE_ISS, p.seen))), R, p.seen, 0);
    // And no timer retransmits the SYN.
    assert_silent(&p.advance(Duration::from_secs(10)));
}

#[test]
fn close_in_syn_received_queues_the_fin_until_established() {
    // 3.10.4, SYN-RECEIVED: "If no SENDs have been issued and there is no pending data to
    // send, then form a FIN segment and send it, and enter FIN-WAIT-1 state; otherwise,
    // queue for processing after entering ESTABLISHED state." synack always queues: the
    // FIN follows the ACK of its SYN.
    let mut p = Peer::syn_received_active();
    p.stack.shutdown(p.c()).expect("shutdown");
    assert_silent(&p.flush());
    p.assert_state(SynReceived);
    // The handshake completes; the queued FIN goes out: <SEQ=SND.NXT><ACK=RCV.NXT>.
    let fin = only(p.feed(p.seg(A)));
    assert_seg(&fin, FA, p.stack_iss.wrapping_add(1), p.nxt);
    p.assert_state(FinWait1);
    p.feed_silent(p.seg(A));
    p.assert_state(FinWait2);
}

#[test]
fn close_in_established_sends_fin_and_enters_fin_wait_1() {
    // 3.10.4, ESTABLISHED: "Queue this until all preceding SENDs have been segmentized,
    // then form a FIN segment and send it. In any case, enter FIN-WAIT-1 state."
    let mut p = Peer::established();
    p.stack.shutdown(p.c()).expect("shutdown");
    assert_seg(&only(p.flush()), FA, p.acked, p.nxt);
    p.assert_state(FinWait1);
}

#[test]
fn close_in_established_sends_the_fin_after_pending_data() {
    // 3.10.4, ESTABLISHED: "Queue this until all preceding SENDs have been segmentized" -
    // with the remote's window closed the data waits, and the FIN waits behind it.
    let mut p = Peer::established();
    p.feed_silent(p.seg(A).win(0));
    assert_eq!(p.stack.send(p.c(), b"queued"), Ok(6));
    p.stack.shutdown(p.c()).expect("shutdown");
    assert_silent(&p.flush());
    p.assert_state(FinWait1);
    let outs = p.feed(p.seg(A));
    let seq = p.acked;
    let data: Vec<u8> = outs.iter().flat_map(|o| o.payload.clone()).collect();
    assert_eq!(data, b"queued");
    let last = outs.last().expect("segments");
    assert!(last.flags.fin(), "{outs:?}");
    assert_eq!(
        last.seq.wrapping_add(last.payload.len() as u32),
        seq.wrapping_add(6),
        "the FIN follows the data"
    );
    assert_eq!(outs.iter().filter(|o| o.flags.fin()).count(), 1);
}

#[test]
fn close_again_in_fin_wait_1_and_fin_wait_2_sends_no_second_fin() {
    // 3.10.4, FIN-WAIT-1 / FIN-WAIT-2: "Strictly speaking, this is an error and should
    // receive an "error: connection closing" response. An "ok" response would be
    // acceptable, too, as long as a second FIN is not emitted". synack answers ok.
    let mut p = Peer::fin_wait_1();
    assert_eq!(p.stack.shutdown(p.c()), Ok(()));
    assert_silent(&p.flush());
    p.assert_state(FinWait1);
    let mut p = Peer::fin_wait_2();
    assert_eq!(p.stack.shutdown(p.c()), Ok(()));
    assert_silent(&p.flush());
    p.assert_state(FinWait2);
}

#[test]
fn close_in_close_wait_sends_fin_and_enters_last_ack() {
    // 3.10.4, CLOSE-WAIT: "Queue this request until all preceding SENDs have been
    // segmentized; then send a FIN segment, enter LAST-ACK state."
    let mut p = Peer::close_wait();
    p.stack.shutdown(p.c()).expect("shutdown");
    assert_seg(&only(p.flush()), FA, p.acked, p.nxt);
    p.assert_state(LastAck);
}

#[test]
fn close_again_in_closing_last_ack_and_time_wait_changes_nothing() {
    // 3.10.4, CLOSING / LAST-ACK / TIME-WAIT: "Respond with "error: connection closing"."
    // synack's shutdown is idempotent once the FIN is queued (as the RFC allows for
    // FIN-WAIT-1 and FIN-WAIT-2): it answers ok, and what matters holds - no second FIN,
    // no change of state.
    for (mut p, st) in
        [(Peer::closing(), Closing), (Peer::last_ack(), LastAck), (Peer::time_wait(), TimeWait)]
    {
        assert_eq!(p.stack.shutdown(p.c()), Ok(()), "{st}");
        assert_silent(&p.flush());
        p.assert_state(st);
    }
}

#[test]
fn close_releasing_the_handle_in_established_finishes_the_close_alone() {
    // 3.10.4, ESTABLISHED: FIN and FIN-WAIT-1; the stack then completes the close and
    // TIME-WAIT without the application (Figure 5).
    let mut p = Peer::established();
    let c = p.c();
    p.stack.close(c).expect("close");
    p.conn = None;
    assert_seg(&only(p.flush()), FA, p.acked, p.nxt);
    p.feed_silent(p.seg(A));
    p.assert_state(FinWait2);
    assert_seg(&only(p.feed(p.seg(FA))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(TimeWait);
    assert_eq!(p.stack.state(c), Closed, "the released handle reads CLOSED");
    assert_eq!(p.stack.connection_count(), 0, "only the compact TIME-WAIT record is left");
    assert_eq!(p.stack.time_wait_count(), 1);
}

#[test]
fn close_of_a_released_handle_is_an_error() {
    // 3.10.4, CLOSED: "Otherwise, return "error: connection does not exist"."
    let mut p = Peer::established();
    p.stack.abort(p.c()).expect("abort");
    assert_eq!(p.stack.close(p.c()), Err(Error::Usage(UsageError::UnknownConnection)));
    assert_eq!(p.stack.abort(p.c()), Err(Error::Usage(UsageError::UnknownConnection)));
}

// ----- ABORT ------------------------------------------------------------------------------

#[test]
fn abort_in_syn_sent_closes_without_a_segment() {
    // 3.10.5, SYN-SENT: "All queued SENDs and RECEIVEs should be given "connection reset"
    // notification. Delete the TCB, enter CLOSED state, and return."
    let mut p = Peer::syn_sent();
    p.stack.abort(p.c()).expect("abort");
    assert_silent(&p.flush());
    p.assert_state(Closed);
    assert_eq!(p.stack.connection_count(), 0);
    assert_silent(&p.advance(Duration::from_secs(10)));
}

/// ABORT in a state that sends <SEQ=SND.NXT><CTL=RST>.
#[track_caller]
fn abort_sends_rst_at_snd_nxt(mut p: Peer) {
    // 3.10.5, SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT: "Send a reset
    // segment: <SEQ=SND.NXT><CTL=RST>" ... "Delete the TCB, enter CLOSED state, and
    // return."
    let c = p.c();
    p.stack.abort(c).expect("abort");
    assert_seg(&only(p.flush()), R, p.seen, 0);
    p.assert_state(Closed);
    assert_eq!(p.stack.connection_count(), 0);
    assert!(p.events.contains(&Event::Closed { conn: c, reason: CloseReason::Error(ConnError::Aborted) }));
    // The TCB is gone: the remote's next segment meets CLOSED (3.10.7.1) or the
    // listener (3.10.7.2), which answer alike: <SEQ=SEG.ACK><CTL=RST>.
    assert_seg(&only(p.feed(p.seg(A))), R, p.seen, 0);
    // No timer of the dead connection fires.
    assert_silent(&p.advance(Duration::from_secs(120)));
}

#[test]
fn abort_in_syn_received_sends_rst_at_snd_nxt() {
    abort_sends_rst_at_snd_nxt(Peer::syn_received_active());
}

#[test]
fn abort_in_established_sends_rst_at_snd_nxt() {
    abort_sends_rst_at_snd_nxt(Peer::established());
}

#[test]
fn abort_in_fin_wait_1_sends_rst_at_snd_nxt() {
    abort_sends_rst_at_snd_nxt(Peer::fin_wait_1());
}

#[test]
fn abort_in_fin_wait_2_sends_rst_at_snd_nxt() {
    abort_sends_rst_at_snd_nxt(Peer::fin_wait_2());
}

#[test]
fn abort_in_close_wait_sends_rst_at_snd_nxt() {
    abort_sends_rst_at_snd_nxt(Peer::close_wait());
}

#[test]
fn abort_in_established_flushes_unsent_and_unacknowledged_data() {
    // 3.10.5: "all segments queued for transmission (except for the RST formed above) or
    // retransmission should be flushed."
    let mut p = Peer::established();
    stack_sends_unacked(&mut p);
    p.feed_silent(p.seg(A).ack(p.acked).win(0));
    assert_eq!(p.stack.send(p.c(), b"never sent"), Ok(10));
    p.stack.abort(p.c()).expect("abort");
    assert_seg(&only(p.flush()), R, p.seen, 0);
    assert_silent(&p.advance(Duration::from_secs(120)));
}

fn stack_sends_unacked(p: &mut Peer) {
    assert_eq!(p.stack.send(p.c(), b"in flight"), Ok(9));
    only(p.flush());
}

#[test]
fn abort_in_closing_and_last_ack_closes_without_rst() {
    // 3.10.5, CLOSING / LAST-ACK / TIME-WAIT: "Respond with "ok" and delete the TCB, enter
    // CLOSED state, and return." No RST.
    for mut p in [Peer::closing(), Peer::last_ack()] {
        let c = p.c();
        assert_eq!(p.stack.abort(c), Ok(()));
        assert_silent(&p.flush());
        p.assert_state(Closed);
        assert_eq!(p.stack.connection_count(), 0);
        // The TCB is gone: a retransmitted FIN meets CLOSED (3.10.7.1) or the listener
        // (3.10.7.2), which answer alike: <SEQ=SEG.ACK><CTL=RST>.
        let fin = p.seg(FA).seq(p.nxt.wrapping_sub(1)).ack(p.acked);
        assert_seg(&only(p.feed(fin)), R, p.acked, 0);
        assert_silent(&p.advance(Duration::from_secs(120)));
    }
}

#[test]
fn abort_in_time_wait_releases_the_handle_and_the_record_keeps_guarding() {
    // 3.10.5, TIME-WAIT: "Respond with "ok" and delete the TCB, enter CLOSED state, and
    // return." No RST; the handle reads CLOSED at once. synack keeps its compact TIME-WAIT
    // record until 2×MSL, as after CLOSE: a retransmitted FIN is still acknowledged
    // (3.10.7.4, fifth, TIME-WAIT) and the trace shows TIME-WAIT -> CLOSED once, at expiry.
    let mut p = Peer::time_wait();
    let c = p.c();
    let events_before = p.events.len();
    assert_eq!(p.stack.abort(c), Ok(()));
    assert_silent(&p.flush());
    p.conn = None;
    assert_eq!(p.stack.state(c), Closed);
    assert_eq!(p.stack.connection_count(), 0);
    assert_eq!(&p.events[events_before..], &[], "the released handle gets no further events");
    p.assert_state(TimeWait);
    p.feed_gets_ack(p.seg(FA).seq(p.nxt.wrapping_sub(1)));
    p.advance(TWO_MSL);
    p.assert_state(Closed);
    let closes = p
        .trace
        .iter()
        .filter(|r| matches!(r.ev, synack::TraceEvent::State { from: TimeWait, to: Closed, .. }))
        .count();
    assert_eq!(closes, 1, "TIME-WAIT ends once");
}
