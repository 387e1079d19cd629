//! Configuration switches between RFC 9293's two readings (RFC 5961 on or off), SYN+FIN
//! dropping, and the SHOULD/MUST rules on CLOSE with unread data (3.6), a FIN at
//! RCV.NXT in TIME-WAIT (3.10.7.4) and the RTO after a SYN timeout (RFC 6298 5.7).

mod common;

use common::inject::*;
use synack::{Config, ConnError, Duration, Error, State, UsageError};

fn cfg(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = inject_config();
    f(&mut c);
    c
}

#[test]
fn without_rfc5961_an_in_window_rst_not_at_rcv_nxt_resets_established() {
    // RFC 9293 3.10.7.4, second step: the RFC 5961 checks apply "for stacks implementing
    // the protection"; otherwise an in-window RST resets ("Enter the CLOSED state").
    let mut p = Peer::established_with(cfg(|c| c.rfc5961_rst = false));
    assert_silent(&p.feed(p.seg(R).seq(p.nxt.wrapping_add(10))));
    p.assert_state(State::Closed);
    assert_eq!(p.stack.error(p.c()), Some(ConnError::Reset));
}

#[test]
fn with_rfc5961_the_same_rst_gets_a_challenge_ack() {
    let mut p = Peer::established();
    let out = only(p.feed(p.seg(R).seq(p.nxt.wrapping_add(10))));
    assert_seg(&out, A, p.seen, p.nxt);
    p.assert_state(State::Established);
}

#[test]
fn without_rfc5961_an_in_window_syn_resets_established_with_rst_ack() {
    // "If the SYN is in the window it is an error: send a reset, ... enter the CLOSED
    // state". The reset carries <SEQ=SND.NXT><ACK=RCV.NXT>.
    let mut p = Peer::established_with(cfg(|c| c.rfc5961_syn = false));
    let out = only(p.feed(p.seg(S).seq(p.nxt.wrapping_add(100))));
    assert_seg(&out, RA, p.seen, p.nxt);
    p.assert_state(State::Closed);
    assert_eq!(p.stack.error(p.c()), Some(ConnError::Reset));
}

#[test]
fn drop_syn_fin_drops_a_syn_fin_segment_before_listen_sees_it() {
    let mut on = Peer::listen_with(cfg(|c| c.drop_syn_fin = true));
    assert_silent(&on.feed(Seg::new(S | F, REMOTE_ISS, 0)));
    assert_eq!(on.stack.connection_count(), 0);
    // Off (the default), LISTEN processes the SYN and answers SYN,ACK.
    let mut off = Peer::listen();
    let out = only(off.feed(Seg::new(S | F, REMOTE_ISS, 0)));
    assert_eq!(out.flags, SA);
}

#[test]
fn fin_at_rcv_nxt_in_time_wait_is_acked_and_restarts_two_msl() {
    // 3.10.7.4, eighth step, TIME-WAIT: "Remain in the TIME-WAIT state. Restart the 2
    // MSL time-wait timeout", after sending "an acknowledgment for the FIN".
    let mut p = Peer::time_wait();
    assert_silent(&p.advance(Duration::from_secs(10)));
    let out = only(p.feed(p.seg(FA).seq(p.nxt)));
    assert_seg(&out, A, p.seen, p.nxt);
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
}

#[test]
fn close_with_unread_data_resets_instead_of_sending_fin() {
    // RFC 9293 3.6: "If such a host issues a CLOSE call while received data is still
    // pending in TCP ... its TCP SHOULD send a RST to show that data was lost (SHLD-3)".
    let mut p = Peer::established();
    let _ = p.feed(p.seg(PA).data(REMOTE_DATA));
    assert!(p.recv_queue() > 0);
    let c = p.c();
    p.stack.close(c).expect("close");
    let outs = p.flush();
    assert!(outs.iter().any(|o| o.flags.rst()), "{outs:?}");
    assert!(!outs.iter().any(|o| o.flags.fin()), "{outs:?}");
    assert_eq!(p.stack.connection_count(), 0);
}

#[test]
fn close_after_reading_everything_sends_fin() {
    let mut p = Peer::established();
    let _ = p.feed(p.seg(PA).data(REMOTE_DATA));
    assert_eq!(p.read_all(), REMOTE_DATA);
    let c = p.c();
    p.stack.close(c).expect("close");
    let outs = p.flush();
    assert!(outs.iter().any(|o| o.flags.fin()) && !outs.iter().any(|o| o.flags.rst()), "{outs:?}");
}

#[test]
fn data_arriving_after_close_is_answered_with_rst() {
    // RFC 9293 3.6: "... or if new data is received after CLOSE is called, its TCP SHOULD
    // send a RST to show that data was lost (SHLD-3)."
    let mut p = Peer::established();
    let c = p.c();
    p.stack.close(c).expect("close");
    let _ = p.flush();
    let out = only(p.feed(p.seg(PA).data(REMOTE_DATA)));
    assert!(out.flags.rst(), "{out:?}");
    assert_eq!(p.stack.connection_count(), 0);
    assert_eq!(p.stack.send(c, b"x"), Err(Error::Usage(UsageError::UnknownConnection)));
}

#[test]
fn rto_is_three_seconds_after_the_syn_timed_out() {
    // RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment ..., the RTO
    // MUST be re-initialized to 3 seconds when data transmission begins".
    let mut p = Peer::syn_sent();
    let retx = p.advance(Duration::from_secs(1));
    assert_eq!(only(retx).flags, S, "the SYN is retransmitted after the initial RTO");
    let _ = p.feed(Seg::new(SA, REMOTE_ISS, p.stack_iss.wrapping_add(1)));
    p.assert_state(State::Established);
    assert_eq!(p.stack.info(p.c()).expect("info").rto, Duration::from_secs(3));
}

#[test]
fn rto_stays_at_the_measured_value_when_the_syn_was_not_retransmitted() {
    let mut p = Peer::syn_sent();
    let _ = p.advance(Duration::from_millis(100));
    let _ = p.feed(Seg::new(SA, REMOTE_ISS, p.stack_iss.wrapping_add(1)));
    p.assert_state(State::Established);
    assert!(p.stack.info(p.c()).expect("info").rto < Duration::from_secs(1));
}
