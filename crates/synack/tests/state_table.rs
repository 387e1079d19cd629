//! The state × segment table of RFC 9293 3.10.7, part 1: the fixtures themselves, CLOSED
//! (3.10.7.1), LISTEN (3.10.7.2), SYN-SENT (3.10.7.3) and SYN-RECEIVED, passive and
//! active (3.10.7.4). The synchronized states are in `state_table_sync.rs`, TIME-WAIT in
//! `state_table_time_wait.rs`, the CLOSE and ABORT calls in `state_table_calls.rs`.
//!
//! Each test drives one stack with hand-made segments from a fake remote
//! (`common::inject`) and checks the exact answer (flags, seq, ack) and the resulting
//! state, quoting the sentence of RFC 9293 it checks.

mod common;

use common::inject::*;
use synack::{CloseReason, ConnError, Duration, Event, State};

use State::*;

// ----- the fixtures ---------------------------------------------------------------------

#[test]
fn every_fixture_puts_the_connection_in_its_state() {
    for st in State::ALL {
        let p = Peer::in_state(st);
        match st {
            // LISTEN belongs to the listener, not to the 4-tuple.
            Listen => {
                assert!(p.listener.is_some());
                assert_eq!(p.stack.connection_count(), 0);
            }
            _ => p.assert_state(st),
        }
    }
    Peer::syn_received_active().assert_state(SynReceived);
    Peer::established_active().assert_state(Established);
}

#[test]
fn fixture_sequence_numbers_cross_the_wrap() {
    // The remote's ten bytes run from 2^32 - 7 past zero: every test below exercises
    // sequence arithmetic modulo 2^32 (RFC 9293 3.4).
    let p = Peer::established();
    assert!(p.nxt < REMOTE_ISS, "RCV.NXT wrapped: {:#x}", p.nxt);
}

// ----- CLOSED (3.10.7.1) ------------------------------------------------------------------

/// One segment to a 4-tuple without connection or listener, and the RST it must get.
#[track_caller]
fn closed_answer(seg: Seg) -> Option<Out> {
    let mut p = Peer::closed();
    let outs = p.feed(seg);
    assert_eq!(p.stack.connection_count(), 0, "CLOSED creates nothing");
    assert!(outs.len() <= 1, "{outs:?}");
    outs.into_iter().next()
}

#[test]
fn syn_in_closed_gets_rst_ack_with_seq_zero_acking_the_syn() {
    // 3.10.7.1: "If the ACK bit is off, sequence number zero is used,
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
    let out = closed_answer(Seg::new(S, 1000, 0)).expect("a RST");
    assert_seg(&out, RA, 0, 1001);
}

#[test]
fn syn_with_data_in_closed_gets_rst_acking_syn_and_data() {
    // 3.10.7.1: "<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>" where SEG.LEN counts the SYN
    // and the text; "all data in the incoming segment is discarded".
    let out = closed_answer(Seg::new(S, 1000, 0).data(b"hello")).expect("a RST");
    assert_seg(&out, RA, 0, 1006);
    assert!(out.payload.is_empty());
}

#[test]
fn syn_ack_in_closed_gets_rst_at_seg_ack() {
    // 3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    let out = closed_answer(Seg::new(SA, 1000, 5000)).expect("a RST");
    assert_seg(&out, R, 5000, 0);
}

#[test]
fn ack_in_closed_gets_rst_at_seg_ack() {
    // 3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    let out = closed_answer(Seg::new(A, 1000, 0x8000_0001)).expect("a RST");
    assert_seg(&out, R, 0x8000_0001, 0);
}

#[test]
fn data_with_ack_in_closed_gets_rst_at_seg_ack() {
    // 3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    let out = closed_answer(Seg::new(PA, 1000, 7).data(b"data")).expect("a RST");
    assert_seg(&out, R, 7, 0);
}

#[test]
fn data_without_ack_in_closed_gets_rst_ack_covering_the_text() {
    // 3.10.7.1: "If the ACK bit is off, sequence number zero is used,
    // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
    let out = closed_answer(Seg::new(P, u32::MAX - 1, 0).data(b"abcd")).expect("a RST");
    assert_seg(&out, RA, 0, 2);
}

#[test]
fn fin_without_ack_in_closed_gets_rst_ack_covering_the_fin() {
    // 3.10.7.1: SEG.LEN counts the FIN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    let out = closed_answer(Seg::new(F, 1000, 0)).expect("a RST");
    assert_seg(&out, RA, 0, 1001);
}

#[test]
fn fin_ack_in_closed_gets_rst_at_seg_ack() {
    // 3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    let out = closed_answer(Seg::new(FA, 1000, 4242)).expect("a RST");
    assert_seg(&out, R, 4242, 0);
}

#[test]
fn rst_in_closed_is_discarded() {
    // 3.10.7.1: "An incoming segment containing a RST is discarded."
    assert_eq!(closed_answer(Seg::new(R, 1000, 0)), None);
    assert_eq!(closed_answer(Seg::new(RA, 1000, 5000)), None);
    assert_eq!(closed_answer(Seg::new(RA, 1000, 5000).data(b"x")), None);
}

#[test]
fn segment_to_a_port_without_listener_is_answered_as_closed() {
    // 3.10.7.1 applies to every 4-tuple without a TCB, even when another port listens.
    let mut p = Peer::closed();
    p.stack.listen(std::net::SocketAddr::new(LOCAL_IP, 81), 8).expect("listen");
    assert_seg(&only(p.feed(Seg::new(S, 1000, 0))), RA, 0, 1001);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn connection_reset_to_closed_answers_later_segments_with_rst() {
    // Once a RST moved the connection to CLOSED ("delete the TCB"), 3.10.7.1 applies:
    // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>", even while the handle is held.
    let mut p = Peer::established();
    p.feed_silent(p.seg(R));
    p.assert_state(Closed);
    assert_seg(&only(p.feed(p.seg(PA).data(b"late"))), R, p.seen, 0);
}

// ----- LISTEN (3.10.7.2) ------------------------------------------------------------------

#[test]
fn rst_in_listen_is_ignored() {
    // 3.10.7.2: "An incoming RST should be ignored. Return."
    let mut p = Peer::listen();
    p.feed_silent(Seg::new(R, 1000, 0));
    p.feed_silent(Seg::new(RA, 1000, 5000));
    p.feed_silent(Seg::new(R | S, 1000, 0));
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn ack_in_listen_gets_rst_at_seg_ack() {
    // 3.10.7.2: "Any acknowledgment is bad if it arrives on a connection still in the
    // LISTEN state. An acceptable reset segment should be formed for any arriving
    // ACK-bearing segment. The RST should be formatted as follows: <SEQ=SEG.ACK><CTL=RST>"
    let mut p = Peer::listen();
    assert_seg(&only(p.feed(Seg::new(A, 1000, 5000))), R, 5000, 0);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn syn_ack_in_listen_gets_rst_at_seg_ack() {
    // 3.10.7.2, second: the ACK check comes before the SYN check: <SEQ=SEG.ACK><CTL=RST>
    let mut p = Peer::listen();
    assert_seg(&only(p.feed(Seg::new(SA, 1000, 777))), R, 777, 0);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn data_and_fin_with_ack_in_listen_get_rst_at_seg_ack() {
    // 3.10.7.2: "An acceptable reset segment should be formed for any arriving
    // ACK-bearing segment."
    let mut p = Peer::listen();
    assert_seg(&only(p.feed(Seg::new(PA, 1000, 31).data(b"x"))), R, 31, 0);
    assert_seg(&only(p.feed(Seg::new(FA, 1000, 32))), R, 32, 0);
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn data_or_fin_without_ack_in_listen_is_dropped() {
    // 3.10.7.2, fourth: "Any other control or data-bearing segment (not containing SYN)
    // must have an ACK ... Drop the segment and return."
    let mut p = Peer::listen();
    p.feed_silent(Seg::new(P, 1000, 0).data(b"x"));
    p.feed_silent(Seg::new(F, 1000, 0));
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn syn_in_listen_is_answered_with_syn_ack_and_enters_syn_received() {
    // 3.10.7.2, third: "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should
    // be selected and a SYN segment sent of the form: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    // ... The connection state should be changed to SYN-RECEIVED."
    let mut p = Peer::listen();
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
    assert_eq!(synack.flags, SA);
    assert_eq!(synack.ack, REMOTE_ISS.wrapping_add(1));
    assert_eq!(synack.opts.mss, Some(1460), "our MSS is announced on the SYN (3.7.1)");
    assert_eq!(synack.opts.window_scale, None, "no scaling unless the peer offered it (RFC 7323 1.3)");
    p.assert_state(SynReceived);
    assert_eq!(p.stack.connection_count(), 1);
    // Not yet acceptable: the connection is invisible to the application.
    assert!(p.events.iter().all(|e| !matches!(e, Event::Accepted { .. })));
    assert_eq!(p.stack.accept(p.listener.expect("listener")), None);
}

#[test]
fn syn_with_text_in_listen_acknowledges_only_the_syn() {
    // 3.10.7.2: "any other control or text should be queued for processing later".
    // synack (like Linux without TCP Fast Open) does not keep text carried by a SYN: the
    // SYN,ACK acknowledges only the SYN (<ACK=RCV.NXT> with RCV.NXT = SEG.SEQ+1), so the
    // peer retransmits the text after the handshake. Nothing is lost.
    let mut p = Peer::listen();
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).data(b"early")));
    assert_eq!(synack.flags, SA);
    assert_eq!(synack.ack, REMOTE_ISS.wrapping_add(1));
}

// ----- SYN-SENT (3.10.7.3) ----------------------------------------------------------------

#[test]
fn acceptable_syn_ack_in_syn_sent_establishes_and_is_acked() {
    // 3.10.7.3, fourth: "If SND.UNA > ISS (our SYN has been ACKed), change the connection
    // state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and
    // send it."
    let mut p = Peer::syn_sent();
    let ack = only(p.feed(Seg::new(SA, REMOTE_ISS, p.seen).mss(1460)));
    assert_seg(&ack, A, p.stack_iss.wrapping_add(1), REMOTE_ISS.wrapping_add(1));
    p.assert_state(Established);
    assert!(p.events.contains(&Event::Connected(p.c())));
}

#[test]
fn syn_ack_in_syn_sent_sets_the_send_window_unscaled() {
    // 3.10.7.3, fourth, with RFC 7323 2.2: "The window field in a segment where the SYN
    // bit is set (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled." SND.WND <- SEG.WND.
    let mut p = Peer::syn_sent();
    let mut synack = Seg::new(SA, REMOTE_ISS, p.seen).win(3000);
    synack.opts.window_scale = Some(2);
    only(p.feed(synack));
    assert_eq!(p.stack.info(p.c()).map(|i| i.send_window), Ok(3000));
}

#[test]
fn syn_ack_acking_iss_in_syn_sent_gets_rst_at_seg_ack() {
    // 3.10.7.3, first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
    // RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST> and
    // discard the segment."
    let mut p = Peer::syn_sent();
    assert_seg(&only(p.feed(Seg::new(SA, REMOTE_ISS, p.stack_iss))), R, p.stack_iss, 0);
    p.assert_state(SynSent);
}

#[test]
fn syn_ack_acking_beyond_snd_nxt_in_syn_sent_gets_rst_at_seg_ack() {
    // 3.10.7.3, first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset"
    let mut p = Peer::syn_sent();
    let bad = p.seen.wrapping_add(1);
    assert_seg(&only(p.feed(Seg::new(SA, REMOTE_ISS, bad))), R, bad, 0);
    p.assert_state(SynSent);
}

#[test]
fn bare_ack_with_bad_ack_in_syn_sent_gets_rst_at_seg_ack() {
    // 3.10.7.3, first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset"
    let mut p = Peer::syn_sent();
    let bad = p.stack_iss.wrapping_sub(100);
    assert_seg(&only(p.feed(Seg::new(A, REMOTE_ISS, bad))), R, bad, 0);
    p.assert_state(SynSent);
}

#[test]
fn acceptable_ack_without_syn_in_syn_sent_is_dropped() {
    // 3.10.7.3: "Fifth, if neither of the SYN or RST bits is set, then drop the segment
    // and return."
    let mut p = Peer::syn_sent();
    p.feed_silent(Seg::new(A, REMOTE_ISS, p.seen));
    p.feed_silent(Seg::new(PA, REMOTE_ISS, p.seen).data(b"early"));
    p.assert_state(SynSent);
}

#[test]
fn fin_in_syn_sent_is_dropped() {
    // 3.10.7.4, eighth: "Do not process the FIN if the state is CLOSED, LISTEN, or
    // SYN-SENT since the SEG.SEQ cannot be validated; drop the segment and return."
    let mut p = Peer::syn_sent();
    p.feed_silent(Seg::new(FA, REMOTE_ISS, p.seen));
    p.feed_silent(Seg::new(F, REMOTE_ISS, 0));
    p.assert_state(SynSent);
}

#[test]
fn syn_in_syn_sent_enters_syn_received_and_sends_syn_ack() {
    // 3.10.7.3, fourth: "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it."
    let mut p = Peer::syn_sent();
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0)));
    assert_seg(&synack, SA, p.stack_iss, REMOTE_ISS.wrapping_add(1));
    p.assert_state(SynReceived);
}

#[test]
fn text_on_a_syn_in_syn_sent_is_queued_until_established_then_delivered() {
    // 3.10.7.3, fourth, simultaneous open: "If there are other controls or text in the
    // segment, queue them for processing after the ESTABLISHED state has been reached,
    // return." The SYN,ACK acknowledges the SYN alone; nothing is readable before
    // ESTABLISHED.
    let mut p = Peer::syn_sent();
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).data(b"early")));
    assert_seg(&synack, SA, p.stack_iss, REMOTE_ISS.wrapping_add(1));
    p.assert_state(SynReceived);
    assert_eq!(p.recv_queue(), 0, "queued, not delivered");
    assert!(p.read_all().is_empty());
    // The remote's ACK of our SYN, at the sequence number after its text. The text is
    // then processed as in-order text is (seventh step) and acknowledged (these
    // fixtures do not delay ACKs).
    let after_text = REMOTE_ISS.wrapping_add(6);
    let ack = only(p.feed(Seg::new(A, after_text, p.stack_iss.wrapping_add(1))));
    assert_seg(&ack, A, p.stack_iss.wrapping_add(1), after_text);
    p.assert_state(Established);
    assert!(p.events.contains(&Event::Readable(p.c())), "{:?}", p.events);
    assert_eq!(p.read_all(), b"early");
}

#[test]
fn text_queued_from_a_syn_in_syn_sent_is_acknowledged_like_other_text() {
    // With delayed ACKs (RFC 9293 3.8.6.3) the queued text waits for the timer like any
    // in-order text, or rides on the next segment sent.
    let cfg = synack::Config { delayed_ack: Some(Duration::from_millis(200)), ..inject_config() };
    let mut p = Peer::syn_sent_with(cfg);
    only(p.feed(Seg::new(S, REMOTE_ISS, 0).data(b"early")));
    let after_text = REMOTE_ISS.wrapping_add(6);
    assert_silent(&p.feed(Seg::new(A, after_text, p.stack_iss.wrapping_add(1))));
    p.assert_state(Established);
    let ack = only(p.advance(Duration::from_millis(200)));
    assert_seg(&ack, A, p.stack_iss.wrapping_add(1), after_text);
}

#[test]
fn fin_on_a_syn_in_syn_sent_is_queued_until_established_then_closes_the_stream() {
    // 3.10.7.3, fourth: the FIN is one of the "other controls" queued with the text;
    // once ESTABLISHED it is processed after the text (eighth step: "advance RCV.NXT
    // over the FIN, and send an acknowledgment for the FIN", then CLOSE-WAIT).
    let mut p = Peer::syn_sent();
    let synack = only(p.feed(Seg::new(S | F, REMOTE_ISS, 0).data(b"bye")));
    assert_seg(&synack, SA, p.stack_iss, REMOTE_ISS.wrapping_add(1));
    p.assert_state(SynReceived);
    let after_text = REMOTE_ISS.wrapping_add(4);
    let ack = only(p.feed(Seg::new(A, after_text, p.stack_iss.wrapping_add(1))));
    assert_seg(&ack, A, p.stack_iss.wrapping_add(1), after_text.wrapping_add(1));
    p.assert_state(CloseWait);
    assert_eq!(p.read_all(), b"bye");
    assert_eq!(p.stack.recv(p.c(), &mut [0u8; 8]), Ok(0), "end of stream after the text");
}

#[test]
fn rst_with_acceptable_ack_in_syn_sent_closes_as_refused() {
    // 3.10.7.3, second: "If the ACK was acceptable, then signal to the user "error:
    // connection reset", drop the segment, enter CLOSED state, delete TCB, and return."
    // synack reports this as `Refused` (the peer refused the SYN, ECONNREFUSED).
    let mut p = Peer::syn_sent();
    p.feed_silent(Seg::new(RA, 0, p.seen));
    p.assert_state(Closed);
    assert_eq!(p.stack.error(p.c()), Some(ConnError::Refused));
    assert!(p
        .events
        .contains(&Event::Closed { conn: p.c(), reason: CloseReason::Error(ConnError::Refused) }));
}

#[test]
fn rst_without_ack_in_syn_sent_is_dropped() {
    // 3.10.7.3, second: "Otherwise (no ACK), drop the segment and return."
    let mut p = Peer::syn_sent();
    p.feed_silent(Seg::new(R, REMOTE_ISS, 0));
    p.assert_state(SynSent);
}

#[test]
fn rst_with_unacceptable_ack_in_syn_sent_is_dropped_without_rst() {
    // 3.10.7.3, first: "send a reset (unless the RST bit is set, if so drop the segment
    // and return)"
    let mut p = Peer::syn_sent();
    p.feed_silent(Seg::new(RA, 0, p.stack_iss));
    p.feed_silent(Seg::new(RA, 0, p.seen.wrapping_add(9)));
    p.assert_state(SynSent);
}

#[test]
fn syn_ack_with_text_in_syn_sent_delivers_it_and_acks_it() {
    // 3.10.7.3, fourth: "If there are other controls or text in the segment, then
    // continue processing at the sixth step under Section 3.10.7.4"; seventh step: "Send
    // an acknowledgment of the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::syn_sent();
    let outs = p.feed(Seg::new(SA, REMOTE_ISS, p.seen).data(b"hello"));
    assert_seg(&only(outs), A, p.seen, REMOTE_ISS.wrapping_add(6));
    p.assert_state(Established);
    assert_eq!(p.read_all(), b"hello");
}

#[test]
fn syn_ack_with_fin_in_syn_sent_goes_to_close_wait() {
    // 3.10.7.3 continues at 3.10.7.4; eighth: "advance RCV.NXT over the FIN, and send an
    // acknowledgment for the FIN" and, ESTABLISHED: "Enter the CLOSE-WAIT state."
    let mut p = Peer::syn_sent();
    let outs = p.feed(Seg::new(SA | F, REMOTE_ISS, p.seen));
    assert_seg(&only(outs), A, p.seen, REMOTE_ISS.wrapping_add(2));
    p.assert_state(CloseWait);
}

// ----- SYN-RECEIVED, passive (3.10.7.4) ---------------------------------------------------

#[test]
fn acceptable_ack_in_syn_received_establishes_and_queues_for_accept() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
    // ESTABLISHED state and continue processing"
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(A));
    p.assert_state(Established);
    let l = p.listener.expect("listener");
    assert!(p.events.iter().any(|e| matches!(e, Event::Accepted { listener, .. } if *listener == l)));
    assert_eq!(p.stack.accept_queue_len(l), 1);
}

#[test]
fn ack_completing_the_handshake_sets_the_send_window() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "enter ESTABLISHED state and continue processing with
    // the variables below set to: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <-
    // SEG.ACK"
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(A).win(1234));
    p.conn = p.stack.accept(p.listener.expect("listener"));
    assert_eq!(p.stack.info(p.c()).map(|i| i.send_window), Ok(1234));
}

#[test]
fn ack_of_nothing_new_in_syn_received_gets_rst_at_seg_ack() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable,
    // form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it." (SEG.ACK = SND.UNA = ISS)
    let mut p = Peer::syn_received();
    assert_seg(&only(p.feed(p.seg(A).ack(p.stack_iss))), R, p.stack_iss, 0);
    p.assert_state(SynReceived);
}

#[test]
fn ack_of_unsent_data_in_syn_received_gets_rst_at_seg_ack() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable,
    // form a reset segment <SEQ=SEG.ACK><CTL=RST>"
    let mut p = Peer::syn_received();
    let bad = p.seen.wrapping_add(1000);
    assert_seg(&only(p.feed(p.seg(A).ack(bad))), R, bad, 0);
    p.assert_state(SynReceived);
}

#[test]
fn ack_far_below_iss_in_syn_received_gets_rst_at_seg_ack() {
    // 3.10.7.4, fifth, SYN-RECEIVED: an ACK below ISS is "not acceptable":
    // <SEQ=SEG.ACK><CTL=RST>
    let mut p = Peer::syn_received();
    let old = p.stack_iss.wrapping_sub(50_000);
    assert_seg(&only(p.feed(p.seg(A).ack(old))), R, old, 0);
    p.assert_state(SynReceived);
}

#[test]
fn data_with_acceptable_ack_in_syn_received_establishes_and_delivers() {
    // 3.10.7.4: SYN-RECEIVED enters ESTABLISHED on the ACK, then, seventh, "Send an
    // acknowledgment of the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::syn_received();
    let ack = only(p.feed(p.seg(PA).data(b"GET /")));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(5));
    p.assert_state(Established);
    p.conn = p.stack.accept(p.listener.expect("listener"));
    assert_eq!(p.read_all(), b"GET /");
}

#[test]
fn out_of_order_data_in_syn_received_establishes_and_gets_duplicate_ack() {
    // 3.10.7.4, first: "Segments with higher beginning sequence numbers SHOULD be held
    // for later processing (SHLD-31)"; RFC 5681 4.2: "A TCP receiver SHOULD send an
    // immediate duplicate ACK when an out-of-order segment arrives."
    let mut p = Peer::syn_received();
    let ack = only(p.feed(p.seg(PA).seq(p.nxt.wrapping_add(3)).data(b"def")));
    assert_seg(&ack, A, p.seen, p.nxt);
    p.assert_state(Established);
    let ack = only(p.feed(p.seg(PA).data(b"abc")));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(6));
    p.conn = p.stack.accept(p.listener.expect("listener"));
    assert_eq!(p.read_all(), b"abcdef");
}

#[test]
fn old_data_in_syn_received_gets_ack_and_stays() {
    // 3.10.7.4, first: "If an incoming segment is not acceptable, an acknowledgment
    // should be sent in reply ... <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::syn_received();
    p.feed_gets_ack(p.seg(PA).seq(p.nxt.wrapping_sub(4)).data(b"old!"));
    p.assert_state(SynReceived);
}

#[test]
fn data_beyond_the_window_in_syn_received_gets_ack_and_stays() {
    // 3.10.7.4, first: a segment starting at RCV.NXT+RCV.WND is not acceptable: "an
    // acknowledgment should be sent in reply"
    let mut p = Peer::syn_received();
    let edge = p.nxt.wrapping_add(p.stack_wnd);
    p.feed_gets_ack(p.seg(PA).seq(edge).data(b"far"));
    p.assert_state(SynReceived);
}

#[test]
fn data_without_ack_in_syn_received_is_dropped() {
    // 3.10.7.4, fifth: "if the ACK bit is off, drop the segment and return"
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(P).data(b"noack"));
    p.assert_state(SynReceived);
}

#[test]
fn fin_with_acceptable_ack_in_syn_received_goes_to_close_wait() {
    // 3.10.7.4, eighth: "SYN-RECEIVED STATE, ESTABLISHED STATE: Enter the CLOSE-WAIT
    // state." after "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN"
    let mut p = Peer::syn_received();
    assert_seg(&only(p.feed(p.seg(FA))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(CloseWait);
}

#[test]
fn out_of_order_fin_in_syn_received_establishes_and_gets_duplicate_ack() {
    // 3.10.7.4, first: segments beyond RCV.NXT "SHOULD be held for later processing";
    // RFC 5681 4.2: an immediate duplicate ACK for an out-of-order segment.
    let mut p = Peer::syn_received();
    let ack = only(p.feed(p.seg(FA).seq(p.nxt.wrapping_add(2))));
    assert_seg(&ack, A, p.seen, p.nxt);
    p.assert_state(Established);
    let ack = only(p.feed(p.seg(PA).data(b"hi")));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(3));
    p.assert_state(CloseWait);
}

#[test]
fn duplicate_syn_in_syn_received_makes_the_stack_resend_its_syn_ack() {
    // A retransmission of the SYN that created the connection (SEG.SEQ = IRS) means the
    // SYN,ACK was lost: synack repeats it, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (3.10.7.2),
    // rather than an ACK the peer in SYN-SENT would answer with a RST (3.10.7.3, first).
    let mut p = Peer::syn_received();
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
    assert_seg(&synack, SA, p.stack_iss, REMOTE_ISS.wrapping_add(1));
    p.assert_state(SynReceived);
}

#[test]
fn new_syn_in_window_returns_passive_syn_received_to_listen() {
    // 3.10.7.4, fourth, SYN-RECEIVED: "If the connection was initiated with a passive
    // OPEN, then return this connection to the LISTEN state and return."
    let mut p = Peer::syn_received();
    p.feed_silent(Seg::new(S, p.nxt.wrapping_add(100), 0));
    assert_eq!(p.stack.connection_count(), 0);
    // The listener still listens: a fresh SYN starts over.
    assert_eq!(only(p.feed(Seg::new(S, 1, 0))).flags, SA);
    assert_eq!(p.stack.connection_count(), 1);
}

#[test]
fn syn_ack_in_window_returns_passive_syn_received_to_listen() {
    // 3.10.7.4, fourth: the SYN bit decides, with or without ACK: "return this connection
    // to the LISTEN state and return."
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(SA).seq(p.nxt.wrapping_add(1)));
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn rst_at_rcv_nxt_returns_passive_syn_received_to_listen_silently() {
    // 3.10.7.4, second, SYN-RECEIVED: "If this connection was initiated with a passive
    // OPEN (i.e., came from the LISTEN state), then return this connection to LISTEN state
    // and return. The user need not be informed."
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(R));
    assert_eq!(p.stack.connection_count(), 0);
    assert!(p.events.iter().all(|e| !matches!(e, Event::Accepted { .. } | Event::Closed { .. })));
    assert_eq!(only(p.feed(Seg::new(S, 1, 0))).flags, SA, "the listener still listens");
}

#[test]
fn rst_in_window_but_not_at_rcv_nxt_gets_challenge_ack_in_syn_received() {
    // 3.10.7.4, second, 3): "If the RST bit is set and the sequence number does not
    // exactly match the next expected sequence value, yet is within the current receive
    // window, TCP endpoints MUST send an acknowledgment (challenge ACK):
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::syn_received();
    p.feed_gets_ack(p.seg(R).seq(p.nxt.wrapping_add(1)));
    p.assert_state(SynReceived);
    assert_eq!(p.stack.stats().challenge_acks, 1);
}

#[test]
fn rst_outside_the_window_is_silently_dropped_in_syn_received() {
    // 3.10.7.4, second, 1): "If the RST bit is set and the sequence number is outside the
    // current receive window, silently drop the segment."
    let mut p = Peer::syn_received();
    p.feed_silent(p.seg(R).seq(p.nxt.wrapping_add(p.stack_wnd)));
    p.feed_silent(p.seg(R).seq(p.nxt.wrapping_sub(1)));
    p.assert_state(SynReceived);
}

// ----- SYN-RECEIVED, active: simultaneous open (3.10.7.4, Figure 8) -----------------------

#[test]
fn syn_ack_in_active_syn_received_establishes() {
    // Figure 8, line 6: "ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED".
    // The peer's SYN,ACK repeats its SYN (at IRS, already received: 3.10.7.4, first, "only
    // the new parts are processed") and acknowledges ours: SYN-RECEIVED, "If SND.UNA <
    // SEG.ACK =< SND.NXT, then enter ESTABLISHED state". Our own SYN,ACK (line 5) already
    // acknowledges the peer's SYN, so nothing more is sent.
    let mut p = Peer::syn_received_active();
    p.feed_silent(Seg::new(SA, REMOTE_ISS, p.seen));
    p.assert_state(Established);
    assert!(p.events.contains(&Event::Connected(p.c())));
    // And the connection works: in-order data is accepted at RCV.NXT = IRS + 1.
    assert_seg(&only(p.feed(p.seg(PA).data(b"x"))), A, p.seen, p.nxt.wrapping_add(1));
}

#[test]
fn syn_ack_with_bad_ack_in_active_syn_received_gets_ack_and_stays() {
    // The SYN,ACK at IRS whose ACK does not acknowledge our SYN is an old duplicate:
    // 3.10.7.4, first, "If an incoming segment is not acceptable, an acknowledgment should
    // be sent in reply".
    let mut p = Peer::syn_received_active();
    p.feed_gets_ack(Seg::new(SA, REMOTE_ISS, p.stack_iss));
    p.assert_state(SynReceived);
}

#[test]
fn acceptable_ack_in_active_syn_received_establishes_and_signals_connected() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
    // ESTABLISHED state"
    let mut p = Peer::syn_received_active();
    p.feed_silent(p.seg(A));
    p.assert_state(Established);
    assert!(p.events.contains(&Event::Connected(p.c())));
}

#[test]
fn duplicate_syn_in_active_syn_received_resends_the_syn_ack() {
    // As in the passive case: the SYN at IRS is repeated, so is our SYN,ACK
    // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (3.10.7.3, fourth).
    let mut p = Peer::syn_received_active();
    assert_seg(&only(p.feed(Seg::new(S, REMOTE_ISS, 0))), SA, p.stack_iss, p.nxt);
    p.assert_state(SynReceived);
}

#[test]
fn new_syn_in_window_gets_challenge_ack_in_active_syn_received() {
    // 3.10.7.4, fourth, SYN-RECEIVED: "Otherwise, handle per the directions for
    // synchronized states below": "TCP endpoints MUST send a "challenge ACK" to the remote
    // peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::syn_received_active();
    p.feed_gets_ack(Seg::new(S, p.nxt.wrapping_add(10), 0));
    p.assert_state(SynReceived);
    assert_eq!(p.stack.stats().challenge_acks, 1);
}

#[test]
fn rst_at_rcv_nxt_in_active_syn_received_closes_as_refused() {
    // 3.10.7.4, second, SYN-RECEIVED: "If this connection was initiated with an active
    // OPEN (i.e., came from SYN-SENT state), then the connection was refused; signal the
    // user "connection refused". ... enter the CLOSED state and delete the TCB"
    let mut p = Peer::syn_received_active();
    p.feed_silent(p.seg(R));
    p.assert_state(Closed);
    assert_eq!(p.stack.error(p.c()), Some(ConnError::Refused));
}

#[test]
fn bad_ack_in_active_syn_received_gets_rst_at_seg_ack() {
    // 3.10.7.4, fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable,
    // form a reset segment <SEQ=SEG.ACK><CTL=RST> and send it."
    let mut p = Peer::syn_received_active();
    let bad = p.seen.wrapping_add(5);
    assert_seg(&only(p.feed(p.seg(A).ack(bad))), R, bad, 0);
    p.assert_state(SynReceived);
}
