//! The state × segment table of RFC 9293 3.10.7.4, part 3: TIME-WAIT, which synack keeps
//! as a compact record in the stack (stack/timewait.rs) once the connection's buffers
//! and timers are gone.
//!
//! Design decisions checked here: a RST never ends TIME-WAIT (RFC 1337, `rfc1337` on by
//! default); a SYN beyond the old RCV.NXT opens a new connection when a listener exists
//! (RFC 6191, and RFC 9293 3.10.7.4 fourth step: "a legitimate new connection attempt
//! (e.g., in the case of TIME-WAIT)"); a retransmitted FIN is ACKed and restarts 2×MSL.

mod common;

use common::inject::*;
use synack::{Config, Duration, Event, State};

use State::*;

fn rfc1337_off() -> Config {
    Config { rfc1337: false, ..inject_config() }
}

/// TIME-WAIT with no listener left on the port.
fn time_wait_without_listener() -> Peer {
    let mut p = Peer::time_wait();
    p.stack.close_listener(p.listener.take().expect("listener")).expect("close listener");
    p
}

#[track_caller]
fn assert_still_time_wait(p: &Peer) {
    p.assert_state(TimeWait);
    assert_eq!(p.stack.time_wait_count(), 1);
}

// ----- the 2×MSL timer ------------------------------------------------------------------

#[test]
fn time_wait_lasts_two_msl_then_closes() {
    // 3.10.7.4, eighth, FIN-WAIT-2: "Enter the TIME-WAIT state. Start the time-wait
    // timer"; 3.10.8, TIME-WAIT TIMEOUT: "If the time-wait timeout expires on a
    // connection, delete the TCB, enter the CLOSED state, and return."
    let mut p = Peer::time_wait();
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
    assert_silent(&p.advance(TWO_MSL.saturating_sub(Duration::from_micros(1))));
    assert_still_time_wait(&p);
    assert_silent(&p.advance(Duration::from_micros(1)));
    p.assert_state(Closed);
    assert_eq!(p.stack.time_wait_count(), 0);
    assert_eq!(p.stack.poll_timeout(), None, "no timer left behind");
}

#[test]
fn retransmitted_fin_in_time_wait_is_acked_and_restarts_two_msl() {
    // 3.10.7.4, fifth, TIME-WAIT: "The only thing that can arrive in this state is a
    // retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL timeout."
    let mut p = Peer::time_wait();
    let first_deadline = p.now + TWO_MSL;
    assert_silent(&p.advance(Duration::from_secs(40)));
    p.feed_gets_ack(p.seg(FA).seq(p.nxt.wrapping_sub(1)));
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL), "2×MSL restarted");
    // Past the first deadline the record is still there ...
    assert_silent(&p.advance(TWO_MSL.saturating_sub(Duration::from_secs(1))));
    assert!(p.now > first_deadline);
    assert_still_time_wait(&p);
    // ... until 2×MSL after the retransmission.
    assert_silent(&p.advance(Duration::from_secs(1)));
    p.assert_state(Closed);
}

#[test]
fn retransmitted_fin_with_text_in_time_wait_is_acked_and_restarts_two_msl() {
    // The remote may repeat its last data together with the FIN: the segment ends at the
    // old RCV.NXT and is the same retransmission of the remote FIN (3.10.7.4, fifth).
    let mut p = Peer::time_wait();
    assert_silent(&p.advance(Duration::from_secs(10)));
    p.feed_gets_ack(p.seg(FA | P).seq(p.nxt.wrapping_sub(4)).data(b"789"));
    assert_eq!(p.time_wait_deadline(), Some(p.now + TWO_MSL));
}

#[test]
fn out_of_order_fin_in_time_wait_is_ignored() {
    // A FIN beyond RCV.NXT is not the remote's FIN (already received): 3.10.7.4, seventh,
    // TIME-WAIT: "Ignore the segment text"; it neither answers nor restarts the timer.
    let mut p = Peer::time_wait();
    let deadline = p.time_wait_deadline();
    p.feed_silent(p.seg(FA).seq(p.nxt.wrapping_add(5)));
    assert_eq!(p.time_wait_deadline(), deadline);
    assert_still_time_wait(&p);
}

// ----- RST (RFC 1337) -----------------------------------------------------------------------

#[test]
fn rst_at_rcv_nxt_does_not_end_time_wait_rfc1337() {
    // RFC 1337 ("TIME-WAIT Assassination Hazards") fix (F1): "Ignore RST segments in
    // TIME-WAIT state." synack's default, instead of 3.10.7.4 second: "TIME-WAIT STATE: If
    // the RST bit is set, then enter the CLOSED state, delete the TCB, and return."
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(R));
    p.feed_silent(p.seg(RA));
    assert_still_time_wait(&p);
}

#[test]
fn rst_in_window_is_ignored_in_time_wait_rfc1337() {
    // RFC 1337: "Ignore RST segments in TIME-WAIT state" - no challenge ACK either.
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(R).seq(p.nxt.wrapping_add(10)));
    assert_still_time_wait(&p);
}

#[test]
fn rst_outside_the_window_is_silently_dropped_in_time_wait() {
    // 3.10.7.4, second, 1): "If the RST bit is set and the sequence number is outside the
    // current receive window, silently drop the segment."
    for mut p in [Peer::time_wait(), Peer::time_wait_with(rfc1337_off())] {
        p.feed_silent(p.seg(R).seq(p.nxt.wrapping_add(p.stack_wnd)));
        p.feed_silent(p.seg(R).seq(p.nxt.wrapping_sub(1)));
        assert_still_time_wait(&p);
    }
}

#[test]
fn rst_at_rcv_nxt_ends_time_wait_when_rfc1337_is_off() {
    // 3.10.7.4, second, 2): "If the RST bit is set and the sequence number exactly matches
    // the next expected sequence number (RCV.NXT), then TCP endpoints MUST reset the
    // connection"; TIME-WAIT: "enter the CLOSED state, delete the TCB, and return."
    let mut p = Peer::time_wait_with(rfc1337_off());
    p.feed_silent(p.seg(R));
    p.assert_state(Closed);
    assert_eq!(p.stack.time_wait_count(), 0);
}

#[test]
fn rst_in_window_but_not_at_rcv_nxt_gets_challenge_ack_in_time_wait_when_rfc1337_is_off() {
    // 3.10.7.4, second, 3): "If the RST bit is set and the sequence number does not
    // exactly match the next expected sequence value, yet is within the current receive
    // window, TCP endpoints MUST send an acknowledgment (challenge ACK):
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"
    let mut p = Peer::time_wait_with(rfc1337_off());
    p.feed_gets_ack(p.seg(R).seq(p.nxt.wrapping_add(1)));
    assert_still_time_wait(&p);
    assert_eq!(p.stack.stats().challenge_acks, 1);
}

// ----- SYN ------------------------------------------------------------------------------

#[test]
fn syn_beyond_rcv_nxt_in_time_wait_opens_a_new_connection_when_listening() {
    // 3.10.7.4, fourth: a SYN in TIME-WAIT "may be ... a legitimate new connection attempt
    // (e.g., in the case of TIME-WAIT)"; RFC 1122 4.2.2.13 / RFC 6191: a new SYN whose
    // sequence number is above the old RCV.NXT may reopen the connection. The listener
    // answers as in LISTEN (3.10.7.2): <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    let mut p = Peer::time_wait();
    let new_iss = p.nxt.wrapping_add(100_000);
    let synack = only(p.feed(Seg::new(S, new_iss, 0).mss(1460)));
    assert_eq!(synack.flags, SA);
    assert_eq!(synack.ack, new_iss.wrapping_add(1));
    assert_eq!(p.stack.time_wait_count(), 0, "the old incarnation is forgotten");
    // The old handle sees its connection closed; the 4-tuple belongs to the new one.
    assert_eq!(p.handle_state(), Closed);
    p.conn = None;
    p.assert_state(SynReceived);
    // The new incarnation completes its handshake.
    let seg = Seg::new(A, new_iss.wrapping_add(1), synack.seq.wrapping_add(1));
    p.feed_silent(seg);
    p.assert_state(Established);
    assert!(p.stack.accept(p.listener.expect("listener")).is_some());
}

#[test]
fn connection_reopened_from_time_wait_starts_above_the_old_snd_nxt() {
    // RFC 1122 4.2.2.13, the condition for accepting a new SYN in TIME-WAIT: the TCP "(1)
    // assigns its initial sequence number for the new connection to be larger than the
    // largest sequence number it used on the previous connection incarnation" - otherwise
    // old duplicates of our data could fall into the new connection's window. Here the
    // clock has not moved, so the clock-driven ISN alone would repeat the old ISS.
    let mut p = Peer::time_wait();
    let old_snd_nxt = p.seen;
    let synack = only(p.feed(Seg::new(S, p.nxt.wrapping_add(1), 0)));
    assert_eq!(synack.flags, SA);
    let ahead = synack.seq.wrapping_sub(old_snd_nxt) as i32;
    assert!(ahead > 0, "new ISS {} is not above the old SND.NXT {}", synack.seq, old_snd_nxt);
    // Once the clock has moved well past the old sequence space, the ISN is the clock's
    // own again (RFC 9293 3.4.1), not a fixed offset from the old connection.
    let mut q = Peer::time_wait();
    q.advance(Duration::from_secs(59));
    let later = only(q.feed(Seg::new(S, q.nxt.wrapping_add(1), 0)));
    let clock_ahead = later.seq.wrapping_sub(q.stack_iss);
    assert_eq!(clock_ahead, (59_000_000 / 4) as u32, "M(t) of 3.4.1 ticks every 4 µs");
}

#[test]
fn syn_beyond_rcv_nxt_in_time_wait_without_listener_gets_ack() {
    // Without a listener there is nothing to reopen: 3.10.7.4, fourth, "TCP endpoints MUST
    // send a "challenge ACK" to the remote peer: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>" (or,
    // beyond the window, the ACK of the first step).
    let mut p = time_wait_without_listener();
    p.feed_gets_ack(Seg::new(S, p.nxt.wrapping_add(3), 0));
    p.feed_gets_ack(Seg::new(S, p.nxt.wrapping_add(100_000), 0));
    assert_still_time_wait(&p);
}

#[test]
fn old_syn_in_time_wait_gets_ack_even_when_listening() {
    // A SYN at or below the old RCV.NXT may be an old duplicate: it does not reopen
    // (RFC 1122 4.2.2.13 (1)) and gets the ACK of 3.10.7.4: "If the SYN is not in the
    // window, ... an ACK would have been sent in the first step"; at RCV.NXT the
    // challenge ACK of the fourth step.
    let mut p = Peer::time_wait();
    p.feed_gets_ack(Seg::new(S, REMOTE_ISS, 0));
    p.feed_gets_ack(Seg::new(S, p.nxt, 0));
    assert_still_time_wait(&p);
}

#[test]
fn syn_ack_in_time_wait_gets_challenge_ack() {
    // 3.10.7.4, fourth: "if the SYN bit is set, irrespective of the sequence number, TCP
    // endpoints MUST send a "challenge ACK""
    let mut p = Peer::time_wait();
    p.feed_gets_ack(p.seg(SA));
    p.feed_gets_ack(p.seg(SA).seq(p.nxt.wrapping_add(100_000)));
    assert_still_time_wait(&p);
}

// ----- ACK ------------------------------------------------------------------------------

#[test]
fn bare_ack_at_rcv_nxt_in_time_wait_is_ignored() {
    // 3.10.7.4, fifth, TIME-WAIT: "The only thing that can arrive in this state is a
    // retransmission of the remote FIN"; an acceptable ACK needs no answer.
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(A));
    assert_still_time_wait(&p);
}

#[test]
fn acceptable_ack_in_window_but_not_at_rcv_nxt_in_time_wait_is_ignored() {
    // 3.10.7.4, first, Table 6: a zero-length segment with "RCV.NXT =< SEG.SEQ <
    // RCV.NXT+RCV.WND" is acceptable; nothing in TIME-WAIT answers it.
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(A).seq(p.nxt.wrapping_add(100)));
    assert_still_time_wait(&p);
}

#[test]
fn duplicate_ack_in_time_wait_is_ignored() {
    // 3.10.7.4, fifth: "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be
    // ignored."
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(A).ack(p.seen.wrapping_sub(3)));
    assert_still_time_wait(&p);
}

#[test]
fn ack_of_unsent_data_in_time_wait_gets_ack() {
    // 3.10.7.4, fifth: "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then
    // send an ACK, drop the segment, and return."
    let mut p = Peer::time_wait();
    p.feed_gets_ack(p.seg(A).ack(p.seen.wrapping_add(1)));
    assert_still_time_wait(&p);
}

#[test]
fn ack_older_than_max_snd_wnd_in_time_wait_gets_ack_rfc5961() {
    // 3.10.7.4, fifth: "All incoming segments whose ACK value doesn't satisfy the above
    // condition MUST be discarded and an ACK sent back."
    let mut p = Peer::time_wait();
    p.feed_gets_ack(p.seg(A).ack(p.seen.wrapping_sub(u32::from(REMOTE_WINDOW) + 1)));
    assert_still_time_wait(&p);
}

#[test]
fn segment_without_ack_bit_in_time_wait_is_dropped() {
    // 3.10.7.4, fifth: "if the ACK bit is off, drop the segment and return"
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(P).data(b"x"));
    assert_still_time_wait(&p);
}

// ----- text -------------------------------------------------------------------------------

#[test]
fn old_duplicate_data_in_time_wait_gets_ack() {
    // 3.10.7.4, first: "If an incoming segment is not acceptable, an acknowledgment should
    // be sent in reply"
    let mut p = Peer::time_wait();
    p.feed_gets_ack(p.seg(PA).seq(p.nxt.wrapping_sub(8)).data(b"stale"));
    assert_still_time_wait(&p);
}

#[test]
fn data_beyond_the_window_in_time_wait_gets_ack() {
    // 3.10.7.4, first: "an acknowledgment should be sent in reply"
    let mut p = Peer::time_wait();
    p.feed_gets_ack(p.seg(PA).seq(p.nxt.wrapping_add(p.stack_wnd)).data(b"far"));
    assert_still_time_wait(&p);
}

#[test]
fn data_in_window_in_time_wait_is_ignored() {
    // 3.10.7.4, seventh, TIME-WAIT: "This should not occur since a FIN has been received
    // from the remote side. Ignore the segment text."
    let mut p = Peer::time_wait();
    p.feed_silent(p.seg(PA).data(b"after fin"));
    p.feed_silent(p.seg(PA).seq(p.nxt.wrapping_add(5)).data(b"ooo"));
    assert_still_time_wait(&p);
}

// ----- the application's view -------------------------------------------------------------

#[test]
fn handle_in_time_wait_reads_end_of_stream_and_sees_closed_after_two_msl() {
    // 3.10.3, TIME-WAIT: RECEIVE returns "error: connection closing" (synack: Ok(0), end
    // of stream); 3.10.6: "Return "state = TIME-WAIT""; after 2×MSL the handle reads
    // CLOSED.
    let mut p = Peer::time_wait();
    let mut buf = [0u8; 4];
    assert_eq!(p.stack.recv(p.c(), &mut buf), Ok(0));
    assert_eq!(p.stack.info(p.c()).map(|i| i.state), Ok(TimeWait));
    p.advance(TWO_MSL);
    assert_eq!(p.handle_state(), Closed);
    let changed = Event::StateChanged { conn: p.c(), from: TimeWait, to: Closed };
    assert!(p.events.contains(&changed), "{:?}", p.events);
}

// ----- the compact record: IPv4 and IPv6 tuples, timestamps ------------------------------

/// The compact record keeps an IPv4 4-tuple packed and any other in a side table, and of
/// the timestamps only TS.Recent: a retransmitted FIN in TIME-WAIT is answered as the
/// connection answered the first one, on the connection's own timestamp clock (RFC 7323
/// 3.2: timestamps on every non-RST segment once negotiated), for both families.
#[test]
fn ipv4_and_ipv6_records_answer_a_retransmitted_fin_with_the_connection_s_timestamps() {
    use common::flow_helpers::{RawPeer, RawSeg};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use synack::wire::{TcpOptions, Timestamps};
    use synack::SeqNum;

    fn ts(seg: &RawSeg) -> Timestamps {
        seg.hdr.options.timestamps.expect("timestamps on every segment")
    }

    let v6 = |last| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last));
    let v4 = |last| IpAddr::V4(Ipv4Addr::new(192, 0, 2, last));
    for (server, client) in [(v4(2), v4(1)), (v6(2), v6(1))] {
        let local = SocketAddr::new(server, 80);
        let mut r = RawPeer::new(common::config(server), local, SocketAddr::new(client, 40_000));
        let l = r.stack.listen(local, 8).expect("listen");
        let seg = |r: &RawPeer, flags, ack: Option<SeqNum>, val, ecr| {
            let mut h = r.hdr(r.snd_nxt, ack, flags, 65_535);
            h.options = TcpOptions { timestamps: Some(Timestamps { val, ecr }), ..TcpOptions::NONE };
            h
        };
        // Handshake with timestamps.
        let h = seg(&r, S, None, 100, 0);
        let synack = r.send(h, &[]).into_iter().find(|s| s.flags() == SA).expect("SYN-ACK");
        r.snd_nxt += 1;
        r.rcv_nxt = synack.seq() + 1;
        let h = seg(&r, A, Some(r.rcv_nxt), 101, ts(&synack).val);
        r.send(h, &[]);
        let s = r.stack.accept(l).expect("established");
        // The stack closes first; the peer acknowledges its FIN and sends its own.
        r.stack.close(s).expect("close");
        let fin = r.poll().into_iter().find(|s| s.flags().fin()).expect("FIN");
        r.rcv_nxt = fin.seq() + 1;
        let peer_fin = seg(&r, FA, Some(r.rcv_nxt), 102, ts(&fin).val);
        let first = only_seg(r.send(peer_fin, &[]));
        assert_eq!(r.stack.time_wait_count(), 1, "{server}");
        assert_eq!(r.stack.poll_timeout(), Some(r.now + TWO_MSL), "{server}");
        assert_eq!(ts(&first).ecr, 102);

        assert!(r.advance(Duration::from_secs(10)).is_empty());
        let mut again = peer_fin;
        again.options.timestamps = Some(Timestamps { val: 103, ecr: ts(&fin).val });
        let second = only_seg(r.send(again, &[]));
        assert_eq!((second.flags(), second.seq(), second.ack()), (first.flags(), first.seq(), first.ack()));
        assert_eq!(ts(&second).val.wrapping_sub(ts(&first).val), 10_000, "{server}: the connection's clock");
        assert_eq!(ts(&second).ecr, 102, "{server}: TS.Recent as the connection left it");
        assert_eq!(r.stack.poll_timeout(), Some(r.now + TWO_MSL), "{server}: 2×MSL restarted");

        assert!(r.advance(TWO_MSL).is_empty());
        assert_eq!(r.stack.time_wait_count(), 0, "{server}");
        assert_eq!(r.stack.poll_timeout(), None, "{server}");
    }

    fn only_seg(mut segs: Vec<RawSeg>) -> RawSeg {
        assert_eq!(segs.len(), 1, "{segs:?}");
        segs.remove(0)
    }
}
