//! The state × segment table of RFC 9293 3.10.7.4, part 2: the synchronized states
//! ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK (TIME-WAIT is in
//! `state_table_time_wait.rs`).
//!
//! The rules every synchronized state shares (sequence check, RST, SYN, ACK range) are
//! generated once per state by `shared_rules!`, so a test reads
//! `fin_wait_1::rst_in_window_but_not_at_rcv_nxt_gets_challenge_ack`. What differs
//! between states (acceptable ACK, text, FIN) follows, state by state.

mod common;

use common::inject::*;
use synack::{CloseReason, ConnError, Duration, Event, State};

use State::*;

/// The stack sends `data` on the fixture's connection; returns the segment.
#[track_caller]
fn stack_sends(p: &mut Peer, data: &[u8]) -> Out {
    assert_eq!(p.stack.send(p.c(), data), Ok(data.len()));
    let out = only(p.flush());
    assert_eq!(out.payload, data);
    out
}

#[track_caller]
fn flight(p: &Peer) -> u32 {
    p.stack.info(p.c()).map(|i| i.bytes_in_flight).expect("info")
}

/// The rules of 3.10.7.4 that apply alike in every synchronized state before TIME-WAIT.
macro_rules! shared_rules {
    ($name:ident, $fixture:path, $state:expr) => {
        mod $name {
            use super::*;

            const STATE: State = $state;

            fn fixture() -> Peer {
                $fixture()
            }

            #[test]
            fn syn_in_window_gets_challenge_ack() {
                // 3.10.7.4, fourth: "RFC 5961 recommends that in these synchronized
                // states, if the SYN bit is set, irrespective of the sequence number, TCP
                // endpoints MUST send a "challenge ACK" to the remote peer:
                // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" ... "and stop processing further."
                let mut p = fixture();
                p.feed_gets_ack(Seg::new(S, p.nxt.wrapping_add(3), 0));
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().challenge_acks, 1);
            }

            #[test]
            fn syn_ack_in_window_gets_challenge_ack() {
                // 3.10.7.4, fourth: "if the SYN bit is set, irrespective of the sequence
                // number, TCP endpoints MUST send a "challenge ACK""
                let mut p = fixture();
                p.feed_gets_ack(p.seg(SA).seq(p.nxt.wrapping_add(1)));
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().challenge_acks, 1);
            }

            #[test]
            fn old_syn_below_the_window_gets_ack() {
                // 3.10.7.4, fourth: "If the SYN is not in the window, this step would not
                // be reached and an ACK would have been sent in the first step (sequence
                // number check)." That ACK is RFC 5961 4.2's challenge ACK ("if the SYN
                // bit is set, irrespective of the sequence number"), so it is counted as
                // one and drawn from the challenge-ACK budget (tests/hostile.rs).
                let mut p = fixture();
                p.feed_gets_ack(Seg::new(S, REMOTE_ISS, 0));
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().unacceptable, 1);
                assert_eq!(p.stack.stats().challenge_acks, 1);
            }

            #[test]
            fn ack_of_unsent_data_gets_ack_and_is_dropped() {
                // 3.10.7.4, fifth, ESTABLISHED (and the states that do "the same
                // processing"): "If the ACK acks something not yet sent (SEG.ACK >
                // SND.NXT), then send an ACK, drop the segment, and return."
                let mut p = fixture();
                p.feed_gets_ack(p.seg(A).ack(p.seen.wrapping_add(1)));
                p.assert_state(STATE);
            }

            #[test]
            fn ack_older_than_max_snd_wnd_gets_ack_rfc5961() {
                // 3.10.7.4, fifth: "the ACK value is acceptable only if it is in the range
                // of ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments
                // whose ACK value doesn't satisfy the above condition MUST be discarded and
                // an ACK sent back."
                let mut p = fixture();
                let too_old = p.acked.wrapping_sub(u32::from(REMOTE_WINDOW) + 1);
                p.feed_gets_ack(p.seg(A).ack(too_old));
                p.assert_state(STATE);
                // At the edge of the range the ACK is acceptable (an old duplicate).
                let edge = p.acked.wrapping_sub(u32::from(REMOTE_WINDOW));
                p.feed_silent(p.seg(A).ack(edge));
            }

            #[test]
            fn duplicate_ack_is_ignored() {
                // 3.10.7.4, fifth: "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can
                // be ignored."
                let mut p = fixture();
                p.feed_silent(p.seg(A).ack(p.acked));
                p.feed_silent(p.seg(A).ack(p.acked.wrapping_sub(5)));
                p.assert_state(STATE);
            }

            #[test]
            fn old_duplicate_data_gets_ack() {
                // 3.10.7.4, first: a segment wholly below RCV.NXT fails the test of Table
                // 6: "If an incoming segment is not acceptable, an acknowledgment should be
                // sent in reply ... <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
                let mut p = fixture();
                let before = p.stack.info(p.c()).map(|i| i.recv_queue);
                p.feed_gets_ack(p.seg(PA).seq(p.nxt.wrapping_sub(8)).data(b"stale"));
                assert_eq!(p.stack.info(p.c()).map(|i| i.recv_queue), before, "nothing delivered");
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().unacceptable, 1);
            }

            #[test]
            fn data_beyond_the_window_gets_ack() {
                // 3.10.7.4, first: "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND" fails at the
                // right edge: "an acknowledgment should be sent in reply"
                let mut p = fixture();
                let edge = p.nxt.wrapping_add(p.stack_wnd);
                p.feed_gets_ack(p.seg(PA).seq(edge).data(b"far"));
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().unacceptable, 1);
            }

            #[test]
            fn segment_without_ack_bit_is_dropped() {
                // 3.10.7.4, fifth: "if the ACK bit is off, drop the segment and return"
                let mut p = fixture();
                p.feed_silent(p.seg(P).data(b"noack"));
                p.feed_silent(p.seg(F));
                p.assert_state(STATE);
            }

            #[test]
            fn rst_at_rcv_nxt_closes_the_connection() {
                // 3.10.7.4, second, 2): "If the RST bit is set and the sequence number
                // exactly matches the next expected sequence number (RCV.NXT), then TCP
                // endpoints MUST reset the connection in the manner prescribed below
                // according to the connection state." Every one of these states ends in
                // "Enter the CLOSED state, delete the TCB, and return."
                let mut p = fixture();
                p.feed_silent(p.seg(R));
                p.assert_state(Closed);
                assert_eq!(p.stack.error(p.c()), Some(ConnError::Reset));
                let closed = Event::Closed { conn: p.c(), reason: CloseReason::Error(ConnError::Reset) };
                assert!(p.events.contains(&closed), "{:?}", p.events);
                // The TCB is gone: the next segment meets CLOSED (3.10.7.1) or the
                // listener (3.10.7.2), which answer alike: <SEQ=SEG.ACK><CTL=RST>.
                assert_seg(&only(p.feed(p.seg(A))), R, p.seen, 0);
            }

            #[test]
            fn rst_with_ack_at_rcv_nxt_closes_the_connection() {
                // 3.10.7.4, second, 2): the ACK bit does not matter to the RST check.
                let mut p = fixture();
                p.feed_silent(p.seg(RA));
                p.assert_state(Closed);
            }

            #[test]
            fn rst_in_window_but_not_at_rcv_nxt_gets_challenge_ack() {
                // 3.10.7.4, second, 3): "If the RST bit is set and the sequence number does
                // not exactly match the next expected sequence value, yet is within the
                // current receive window, TCP endpoints MUST send an acknowledgment
                // (challenge ACK): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
                let mut p = fixture();
                p.feed_gets_ack(p.seg(R).seq(p.nxt.wrapping_add(1)));
                let last = p.nxt.wrapping_add(p.stack_wnd - 1);
                p.feed_gets_ack(p.seg(R).seq(last));
                p.assert_state(STATE);
                assert_eq!(p.stack.stats().challenge_acks, 2);
            }

            #[test]
            fn rst_outside_the_window_is_silently_dropped() {
                // 3.10.7.4, second, 1): "If the RST bit is set and the sequence number is
                // outside the current receive window, silently drop the segment."
                let mut p = fixture();
                p.feed_silent(p.seg(R).seq(p.nxt.wrapping_add(p.stack_wnd)));
                p.feed_silent(p.seg(R).seq(p.nxt.wrapping_sub(1)));
                p.feed_silent(p.seg(RA).seq(p.nxt.wrapping_add(0x4000_0000)));
                p.assert_state(STATE);
            }
        }
    };
}

shared_rules!(established, Peer::established, Established);
shared_rules!(fin_wait_1, Peer::fin_wait_1, FinWait1);
shared_rules!(fin_wait_2, Peer::fin_wait_2, FinWait2);
shared_rules!(close_wait, Peer::close_wait, CloseWait);
shared_rules!(closing, Peer::closing, Closing);
shared_rules!(last_ack, Peer::last_ack, LastAck);

/// Text and FIN in the states that still receive (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
macro_rules! receiving_rules {
    ($name:ident, $fixture:path, $state:expr) => {
        mod $name {
            use super::*;

            const STATE: State = $state;

            fn fixture() -> Peer {
                $fixture()
            }

            #[test]
            fn data_in_window_is_delivered_and_acked() {
                // 3.10.7.4, seventh: "Once the TCP endpoint takes responsibility for the
                // data, it advances RCV.NXT over the data accepted ... Send an
                // acknowledgment of the form: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
                let mut p = fixture();
                // In FIN-WAIT-1 the remote does not acknowledge our FIN here (that would
                // move on to FIN-WAIT-2).
                let ack = only(p.feed(p.seg(PA).ack(p.acked).data(b"more")));
                assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(4));
                assert_eq!(p.read_all(), b"more");
                p.assert_state(STATE);
            }

            #[test]
            fn out_of_order_data_is_held_and_gets_duplicate_ack() {
                // 3.10.7.4, first: "Segments with higher beginning sequence numbers SHOULD
                // be held for later processing (SHLD-31)." RFC 5681 4.2: "A TCP receiver
                // SHOULD send an immediate duplicate ACK when an out-of-order segment
                // arrives."
                let mut p = fixture();
                p.feed_gets_ack(p.seg(PA).ack(p.acked).seq(p.nxt.wrapping_add(3)).data(b"def"));
                assert_eq!(p.recv_queue(), 0, "held, not readable");
                // Filling the gap delivers both: "further processing is done in SEG.SEQ
                // order".
                let ack = only(p.feed(p.seg(PA).ack(p.acked).data(b"abc")));
                assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(6));
                assert_eq!(p.read_all(), b"abcdef");
                p.assert_state(STATE);
            }

            #[test]
            fn data_straddling_rcv_nxt_delivers_only_the_new_part() {
                // 3.10.7.4, first: "If a segment's contents straddle the boundary between
                // old and new, only the new parts are processed."
                let mut p = fixture();
                let start = p.nxt.wrapping_sub(3);
                let ack = only(p.feed(p.seg(PA).ack(p.acked).seq(start).data(b"789new")));
                assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(3));
                assert_eq!(p.read_all(), b"new");
            }

            #[test]
            fn out_of_order_fin_is_held_and_gets_duplicate_ack() {
                // 3.10.7.4, first: segments beyond RCV.NXT "SHOULD be held for later
                // processing"; RFC 5681 4.2 asks for an immediate duplicate ACK.
                let mut p = fixture();
                p.feed_gets_ack(p.seg(FA).seq(p.nxt.wrapping_add(2)).ack(p.acked));
                p.assert_state(STATE);
                // The gap fills: the FIN is reached and acknowledged.
                let ack = only(p.feed(p.seg(PA).data(b"xy").ack(p.acked)));
                assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(3));
                assert!(p.events.contains(&Event::PeerFin(p.c())));
                assert_ne!(p.state(), STATE);
            }
        }
    };
}

receiving_rules!(established_receiving, Peer::established, Established);
receiving_rules!(fin_wait_1_receiving, Peer::fin_wait_1, FinWait1);
receiving_rules!(fin_wait_2_receiving, Peer::fin_wait_2, FinWait2);

/// Text and FIN after the peer's FIN (CLOSE-WAIT, CLOSING, LAST-ACK).
macro_rules! fin_received_rules {
    ($name:ident, $fixture:path, $state:expr) => {
        mod $name {
            use super::*;

            const STATE: State = $state;

            fn fixture() -> Peer {
                $fixture()
            }

            #[test]
            fn data_in_window_is_ignored() {
                // 3.10.7.4, seventh, CLOSE-WAIT, CLOSING, LAST-ACK: "This should not occur
                // since a FIN has been received from the remote side. Ignore the segment
                // text."
                let mut p = fixture();
                // (Not acknowledging our FIN in CLOSING and LAST-ACK, which would end them.)
                p.feed_silent(p.seg(PA).ack(p.acked).data(b"after fin"));
                p.feed_silent(p.seg(PA).ack(p.acked).seq(p.nxt.wrapping_add(3)).data(b"ooo"));
                assert_eq!(p.recv_queue(), 0);
                p.assert_state(STATE);
            }

            #[test]
            fn retransmitted_fin_gets_ack_and_state_is_kept() {
                // The FIN at RCV.NXT - 1 was already received: 3.10.7.4, first, "If an
                // incoming segment is not acceptable, an acknowledgment should be sent in
                // reply"; eighth: "Remain in the CLOSE-WAIT / CLOSING / LAST-ACK state."
                let mut p = fixture();
                p.feed_gets_ack(p.seg(FA).seq(p.nxt.wrapping_sub(1)).ack(p.acked));
                p.assert_state(STATE);
            }

            #[test]
            fn second_fin_beyond_the_first_is_ignored() {
                // 3.10.7.4, eighth: "Remain in the CLOSE-WAIT / CLOSING / LAST-ACK state."
                let mut p = fixture();
                p.feed_silent(p.seg(FA).ack(p.acked));
                p.assert_state(STATE);
            }
        }
    };
}

fin_received_rules!(close_wait_fin_received, Peer::close_wait, CloseWait);
fin_received_rules!(closing_fin_received, Peer::closing, Closing);
fin_received_rules!(last_ack_fin_received, Peer::last_ack, LastAck);

// ----- ESTABLISHED ------------------------------------------------------------------------

#[test]
fn acceptable_ack_in_established_frees_the_retransmission_queue() {
    // 3.10.7.4, fifth, ESTABLISHED: "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <-
    // SEG.ACK. Any segments on the retransmission queue that are thereby entirely
    // acknowledged are removed."
    let mut p = Peer::established();
    stack_sends(&mut p, b"reply");
    assert_eq!(flight(&p), 5);
    p.feed_silent(p.seg(A).ack(p.acked.wrapping_add(2)));
    assert_eq!(flight(&p), 3, "partially acknowledged");
    p.feed_silent(p.seg(A));
    assert_eq!(flight(&p), 0);
    p.assert_state(Established);
}

#[test]
fn fin_in_established_enters_close_wait_and_is_acked() {
    // 3.10.7.4, eighth: "If the FIN bit is set, signal the user "connection closing" ...
    // advance RCV.NXT over the FIN, and send an acknowledgment for the FIN." ESTABLISHED:
    // "Enter the CLOSE-WAIT state."
    let mut p = Peer::established();
    assert_seg(&only(p.feed(p.seg(FA))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(CloseWait);
    assert!(p.events.contains(&Event::PeerFin(p.c())));
    let mut buf = [0u8; 8];
    assert_eq!(p.stack.recv(p.c(), &mut buf), Ok(0), "end of stream after the FIN");
}

#[test]
fn fin_with_text_in_established_delivers_the_text_then_closes_the_stream() {
    // 3.10.7.4, seventh then eighth: the text is accepted, then "advance RCV.NXT over the
    // FIN": the ACK covers both. "FIN implies PUSH for any segment text not yet delivered".
    let mut p = Peer::established();
    assert_seg(&only(p.feed(p.seg(FA | P).data(b"bye"))), A, p.seen, p.nxt.wrapping_add(4));
    p.assert_state(CloseWait);
    assert_eq!(p.read_all(), b"bye");
}

#[test]
fn ack_of_unsent_data_drops_the_text_it_carries() {
    // 3.10.7.4, fifth: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then
    // send an ACK, drop the segment, and return." The text is not delivered.
    let mut p = Peer::established();
    p.feed_gets_ack(p.seg(PA).ack(p.seen.wrapping_add(10)).data(b"spoof"));
    assert_eq!(p.recv_queue(), 0);
}

#[test]
fn too_old_ack_drops_the_text_it_carries_rfc5961() {
    // 3.10.7.4, fifth (RFC 5961 5): "All incoming segments whose ACK value doesn't satisfy
    // the above condition MUST be discarded and an ACK sent back." The blind data
    // injection this prevents is exactly such text.
    let mut p = Peer::established();
    let too_old = p.acked.wrapping_sub(u32::from(REMOTE_WINDOW) + 100);
    p.feed_gets_ack(p.seg(PA).ack(too_old).data(b"inject"));
    assert_eq!(p.recv_queue(), 0);
}

#[test]
fn duplicate_ack_still_delivers_its_text() {
    // 3.10.7.4, fifth: a duplicate ACK "can be ignored" - the ACK, not the segment: the
    // seventh step still processes the text.
    let mut p = Peer::established();
    let ack = only(p.feed(p.seg(PA).ack(p.acked.wrapping_sub(3)).data(b"text")));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(4));
    assert_eq!(p.read_all(), b"text");
}

#[test]
fn newer_segment_updates_the_send_window_and_older_does_not() {
    // 3.10.7.4, fifth: "If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =<
    // SEG.ACK)), set SND.WND <- SEG.WND ... The check here prevents using old segments to
    // update the window."
    let mut p = Peer::established();
    let wnd = |p: &Peer| p.stack.info(p.c()).map(|i| i.send_window).expect("info");
    p.feed_silent(p.seg(A).win(5000));
    assert_eq!(wnd(&p), 5000);
    // An out-of-order segment is newer (SND.WL1 < SEG.SEQ): its window is taken.
    p.feed_gets_ack(p.seg(PA).seq(p.nxt.wrapping_add(3)).data(b"def").win(6000));
    assert_eq!(wnd(&p), 6000);
    // The segment it overtook is older (SEG.SEQ < SND.WL1): its text is taken, its window
    // is not.
    assert_seg(&only(p.feed(p.seg(PA).data(b"abc").win(100))), A, p.seen, p.nxt.wrapping_add(6));
    assert_eq!(wnd(&p), 6000);
}

#[test]
fn text_beyond_the_receive_buffer_is_trimmed() {
    // 3.10.7.4, first: the segment begins in the window, so it is acceptable (Table 6);
    // seventh: "Data from segments can be moved into buffers until either the buffer is
    // full or the segment is empty." RCV.NXT advances over what fits; the rest is for the
    // sender to retransmit.
    let mut p = Peer::established();
    let big = vec![b'w'; RECV_BUFFER as usize + 3];
    let ack = only(p.feed(p.seg(PA).data(&big)));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(RECV_BUFFER));
    assert_eq!(ack.win, 0, "the buffer is full");
    assert_eq!(p.recv_queue(), RECV_BUFFER);
}

#[test]
fn retransmitted_syn_ack_in_active_established_gets_ack() {
    // The remote lost our ACK of its SYN,ACK and repeats it. At IRS it fails the
    // acceptability test (3.10.7.4, first): "an acknowledgment should be sent in reply"
    // - the ACK the remote is waiting for.
    let mut p = Peer::established_active();
    p.feed_gets_ack(Seg::new(SA, REMOTE_ISS, p.stack_iss.wrapping_add(1)));
    p.assert_state(Established);
}

#[test]
fn zero_window_still_accepts_a_valid_ack() {
    // 3.10.7.4, first: "If the RCV.WND is zero, no segments will be acceptable, but special
    // allowance should be made to accept valid ACKs, URGs, and RSTs."
    let mut p = Peer::established();
    // Fill the receive buffer; the application does not read.
    let chunk = vec![b'z'; 1024];
    for _ in 0..(RECV_BUFFER as usize / chunk.len()) {
        only(p.feed(p.seg(PA).data(&chunk)));
        p.nxt = p.nxt.wrapping_add(chunk.len() as u32);
    }
    assert_eq!(p.stack_wnd, 0, "the stack advertises a zero window");
    stack_sends(&mut p, b"ping");
    assert_eq!(flight(&p), 4);
    // A window probe carrying one byte and acknowledging our data: the text is refused,
    // the ACK is taken.
    let ack = only(p.feed(p.seg(PA).data(b"!")));
    assert_seg(&ack, A, p.seen, p.nxt);
    assert_eq!(ack.win, 0);
    assert_eq!(flight(&p), 0, "the ACK in the zero window was processed");
    assert_eq!(p.recv_queue(), RECV_BUFFER);
    // A RST at RCV.NXT is acceptable in a zero window too (Table 6: SEG.SEQ = RCV.NXT).
    p.feed_silent(p.seg(R));
    p.assert_state(Closed);
}

#[test]
fn zero_window_ack_above_rcv_nxt_is_not_acceptable() {
    // 3.10.7.4, first, Table 6: with a zero window only SEG.SEQ = RCV.NXT is acceptable;
    // otherwise "an acknowledgment should be sent in reply" and nothing else happens.
    let mut p = Peer::established();
    let chunk = vec![b'z'; RECV_BUFFER as usize];
    only(p.feed(p.seg(PA).data(&chunk)));
    p.nxt = p.nxt.wrapping_add(RECV_BUFFER);
    stack_sends(&mut p, b"ping");
    p.feed_gets_ack(p.seg(A).seq(p.nxt.wrapping_add(1)));
    assert_eq!(flight(&p), 4, "the ACK of an unacceptable segment is not processed");
}

// ----- FIN-WAIT-1 -------------------------------------------------------------------------

#[test]
fn ack_of_our_fin_in_fin_wait_1_enters_fin_wait_2() {
    // 3.10.7.4, fifth, FIN-WAIT-1: "In addition to the processing for the ESTABLISHED
    // state, if the FIN segment is now acknowledged, then enter FIN-WAIT-2 and continue
    // processing in that state."
    let mut p = Peer::fin_wait_1();
    p.feed_silent(p.seg(A));
    p.assert_state(FinWait2);
}

#[test]
fn ack_of_data_but_not_fin_keeps_fin_wait_1() {
    // 3.10.7.4, fifth, FIN-WAIT-1: only "if the FIN segment is now acknowledged".
    let mut p = Peer::established();
    stack_sends(&mut p, b"last");
    p.stack.shutdown(p.c()).expect("shutdown");
    let fin = only(p.flush());
    assert_seg(&fin, FA, p.acked.wrapping_add(4), p.nxt);
    p.feed_silent(p.seg(A).ack(p.acked.wrapping_add(4)));
    p.assert_state(FinWait1);
    assert_eq!(flight(&p), 1, "the FIN is still outstanding");
    p.feed_silent(p.seg(A));
    p.assert_state(FinWait2);
}

#[test]
fn fin_not_acking_ours_in_fin_wait_1_enters_closing() {
    // 3.10.7.4, eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment),
    // then enter TIME-WAIT ...; otherwise, enter the CLOSING state."
    let mut p = Peer::fin_wait_1();
    assert_seg(&only(p.feed(p.seg(FA).ack(p.acked))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(Closing);
}

#[test]
fn fin_acking_ours_in_fin_wait_1_enters_time_wait() {
    // 3.10.7.4, eighth, FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment),
    // then enter TIME-WAIT, start the time-wait timer, turn off the other timers"
    let mut p = Peer::fin_wait_1();
    assert_seg(&only(p.feed(p.seg(FA))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(TimeWait);
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
}

// ----- FIN-WAIT-2 -------------------------------------------------------------------------

#[test]
fn ack_in_fin_wait_2_keeps_fin_wait_2() {
    // 3.10.7.4, fifth, FIN-WAIT-2: "In addition to the processing for the ESTABLISHED
    // state, if the retransmission queue is empty, the user's CLOSE can be acknowledged
    // ("ok") but do not delete the TCB."
    let mut p = Peer::fin_wait_2();
    p.feed_silent(p.seg(A).win(4000));
    p.assert_state(FinWait2);
    assert_eq!(flight(&p), 0);
}

#[test]
fn fin_in_fin_wait_2_enters_time_wait_and_is_acked() {
    // 3.10.7.4, eighth, FIN-WAIT-2: "Enter the TIME-WAIT state. Start the time-wait timer,
    // turn off the other timers." with "send an acknowledgment for the FIN".
    let mut p = Peer::fin_wait_2();
    assert_seg(&only(p.feed(p.seg(FA))), A, p.seen, p.nxt.wrapping_add(1));
    p.assert_state(TimeWait);
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
    let deadline = p.now + TWO_MSL;
    assert_silent(&p.advance(Duration::from_secs(5)));
    assert_eq!(p.stack.poll_timeout(), Some(deadline), "no other timer runs");
}

// ----- CLOSE-WAIT -------------------------------------------------------------------------

#[test]
fn acceptable_ack_in_close_wait_frees_the_retransmission_queue() {
    // 3.10.7.4, fifth, CLOSE-WAIT: "Do the same processing as for the ESTABLISHED state."
    let mut p = Peer::close_wait();
    stack_sends(&mut p, b"still talking");
    p.feed_silent(p.seg(A));
    assert_eq!(flight(&p), 0);
    p.assert_state(CloseWait);
}

// ----- CLOSING ----------------------------------------------------------------------------

#[test]
fn ack_of_our_fin_in_closing_enters_time_wait() {
    // 3.10.7.4, fifth, CLOSING: "In addition to the processing for the ESTABLISHED state,
    // if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore
    // the segment."
    let mut p = Peer::closing();
    p.feed_silent(p.seg(A));
    p.assert_state(TimeWait);
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
}

#[test]
fn ack_not_covering_our_fin_in_closing_is_ignored() {
    // 3.10.7.4, fifth, CLOSING: "otherwise, ignore the segment."
    let mut p = Peer::closing();
    p.feed_silent(p.seg(A).ack(p.acked));
    p.assert_state(Closing);
}

// ----- LAST-ACK ---------------------------------------------------------------------------

#[test]
fn ack_of_our_fin_in_last_ack_closes_normally() {
    // 3.10.7.4, fifth, LAST-ACK: "The only thing that can arrive in this state is an
    // acknowledgment of our FIN. If our FIN is now acknowledged, delete the TCB, enter the
    // CLOSED state, and return."
    let mut p = Peer::last_ack();
    p.feed_silent(p.seg(A));
    p.assert_state(Closed);
    assert_eq!(p.stack.error(p.c()), None);
    assert!(p.events.contains(&Event::Closed { conn: p.c(), reason: CloseReason::Normal }));
    assert_eq!(p.stack.time_wait_count(), 0, "the side that closes second skips TIME-WAIT");
    // The heap may still hold the cancelled retransmission deadline ("waking early is
    // harmless"); once it passes, no timer is left behind.
    assert_silent(&p.advance(Duration::from_secs(5)));
    assert_eq!(p.stack.poll_timeout(), None, "no timer left behind");
}

#[test]
fn ack_not_covering_our_fin_in_last_ack_is_ignored() {
    // 3.10.7.4, fifth, LAST-ACK: only "If our FIN is now acknowledged".
    let mut p = Peer::last_ack();
    p.feed_silent(p.seg(A).ack(p.acked));
    p.assert_state(LastAck);
}
