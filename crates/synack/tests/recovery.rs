//! Loss recovery beyond RFC 5681's fast retransmit:
//! - tail loss probes (RFC 8985 7): with data outstanding and no ACK for about two
//!   round trips, one segment goes out - new data if the window allows, else the last
//!   segment again - before the retransmission timeout would fire;
//! - SACK-based recovery (RFC 6675): duplicate ACKs counted by the SACK information
//!   they bring, loss inferred from the scoreboard, and every hole it deems lost
//!   retransmitted within the round trip.

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use synack::wire::{SackBlock, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use synack::{Config, ConnId, Duration, Instant, SeqNum};

const SRTT: Duration = Duration::from_millis(20);
/// 2*SRTT, in microseconds.
const PTO_US: u64 = 40_000;
/// The RTO after one 20 ms sample: SRTT + 4*RTTVAR = 60 ms, raised to the 200 ms floor.
const RTO_US: u64 = 200_000;

/// `us` microseconds after `t0`.
fn at(t0: Instant, us: u64) -> Instant {
    t0 + Duration::from_micros(us)
}

/// A stack (the sender) whose connection measured exactly one RTT sample of `SRTT` on
/// its SYN,ACK; the peer announced MSS 1000 and SACK-permitted.
fn sender(cfg_b: Config) -> (RawPeer, ConnId) {
    sender_with(cfg_b, TcpFlags::SYN)
}

/// [`sender`] whose peer's SYN carries `syn_flags` (with ECE and CWR: ECN, RFC 3168
/// 6.1.1).
fn sender_with(cfg_b: Config, syn_flags: TcpFlags) -> (RawPeer, ConnId) {
    let (mut r, l) = raw_server(cfg_b);
    let mut syn = r.hdr(r.snd_nxt, None, syn_flags, 65_535);
    syn.options = TcpOptions { mss: Some(1000), sack_permitted: true, ..TcpOptions::NONE };
    let out = r.send(syn, &[]);
    let synack = out.iter().find(|s| s.flags().syn() && s.flags().ack()).expect("SYN,ACK").clone();
    r.snd_nxt += 1;
    r.rcv_nxt = synack.seq() + 1;
    r.advance(SRTT);
    r.send_ack(r.rcv_nxt, 65_535);
    let c = r.stack.accept(l).unwrap();
    assert_eq!(r.stack.info(c).unwrap().srtt, Some(SRTT));
    (r, c)
}

/// Neither loss probes nor RACK's reordering timer: a loss that IsLost does not see
/// waits for the RTO, whose handling the tests with this configuration check.
fn no_tlp() -> Config {
    Config { tail_loss_probe: false, rack_reorder_timer: false, ..cfg(SERVER_IP) }
}

/// Sends `n` bytes at once and returns the time they left and the segments.
fn send_now(r: &mut RawPeer, c: ConnId, n: usize) -> (Instant, Vec<RawSeg>) {
    r.stack.send(c, &pattern(n, 1)).unwrap();
    (r.now, r.poll())
}

/// RFC 8985 7.2-7.3: the PTO is 2*SRTT when more than one segment is in flight; on
/// expiry with no new data to send, "retransmit the last segment". The RTO (200 ms
/// here) is re-armed after the probe and only then retransmits SND.UNA.
#[test]
fn unacknowledged_flight_gets_a_probe_of_its_last_segment_after_two_round_trips() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, flight) = send_now(&mut r, c, 3000);
    assert_eq!(flight.len(), 3);
    assert!(r.advance_to(at(t0, PTO_US - 1)).is_empty(), "nothing before 2*SRTT");
    let probe = r.advance_to(at(t0, PTO_US));
    assert_eq!(probe.len(), 1, "one probe: {probe:?}");
    assert_eq!((probe[0].seq(), probe[0].payload.len()), (flight[2].seq(), 1000), "the last segment");
    assert_eq!(r.stack.stats().loss_probes, 1);
    let rto = r.stack.info(c).unwrap().rto;
    assert_eq!(rto, Duration::from_micros(RTO_US), "the probe did not back the RTO off");
    assert!(r.advance_to(at(t0, PTO_US + RTO_US - 1)).is_empty());
    let rtx = r.advance_to(at(t0, PTO_US + RTO_US));
    assert_eq!(rtx.len(), 1);
    assert_eq!(rtx[0].seq(), flight[0].seq(), "the RTO retransmits SND.UNA");
    assert_eq!(r.stack.stats().loss_probes, 1, "one probe per episode");
}

/// RFC 8985 7.3: "If a previously unsent segment exists AND the receive window allows
/// new data to be sent: Transmit that new segment" - beyond the congestion window.
#[test]
fn probe_sends_new_data_when_the_receive_window_allows_it() {
    let (mut r, c) = sender(Config { initial_window: 2, ..cfg(SERVER_IP) });
    let (t0, flight) = send_now(&mut r, c, 5000);
    assert_eq!(flight.len(), 2, "cwnd = 2 segments");
    let cwnd = r.stack.info(c).unwrap().cwnd;
    let probe = r.advance_to(at(t0, PTO_US));
    assert_eq!(probe.len(), 1);
    assert_eq!((probe[0].seq(), probe[0].payload.len()), (flight[1].seq() + 1000, 1000), "new data");
    assert_eq!(r.stack.info(c).unwrap().cwnd, cwnd, "sending the probe leaves cwnd alone");
    assert_eq!(r.stack.info(c).unwrap().retransmissions, 0);
}

/// Without tail loss probes (`Config::tail_loss_probe = false`) the first repair is the
/// RTO's, at 200 ms - which shows the tests above can fail.
#[test]
fn without_loss_probes_the_first_retransmission_waits_for_the_rto() {
    let (mut r, c) = sender(no_tlp());
    let (t0, flight) = send_now(&mut r, c, 3000);
    assert!(r.advance_to(at(t0, RTO_US - 1)).is_empty());
    let rtx = r.advance_to(at(t0, RTO_US));
    assert_eq!(rtx[0].seq(), flight[0].seq());
    assert_eq!(r.stack.stats().loss_probes, 0);
}

/// RFC 8985 7.2: with one segment in flight the receiver may be delaying its ACK, so
/// "PTO = 2*SRTT + WCDelAckT" (200 ms), capped by the RTO: the probe comes no earlier
/// than the RTO would, but it is a probe (no backoff, no window collapse).
#[test]
fn single_segment_in_flight_waits_for_a_worst_case_delayed_ack_before_probing() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, _) = send_now(&mut r, c, 1000);
    assert!(r.advance_to(at(t0, RTO_US - 1)).is_empty());
    let probe = r.advance_to(at(t0, RTO_US));
    assert_eq!(probe.len(), 1);
    assert_eq!(r.stack.stats().loss_probes, 1);
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.rto, Duration::from_micros(RTO_US), "not backed off");
    assert_eq!(info.cwnd, 10 * 1000, "not collapsed");
}

/// Probes the last of 3 segments, then acknowledges everything - with a D-SACK block
/// for the probe's bytes when `dsack`.
fn probe_then_ack(dsack: bool) -> (RawPeer, ConnId) {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, flight) = send_now(&mut r, c, 3000);
    let probe = r.advance_to(at(t0, PTO_US));
    let last = flight[2].seq();
    assert_eq!(probe[0].seq(), last);
    let mut h = r.hdr(r.snd_nxt, Some(last + 1000), TcpFlags::ACK, 65_535);
    if dsack {
        h.options.sack[0] = SackBlock { left: last, right: last + 1000 };
        h.options.sack_len = 1;
    }
    r.send(h, &[]);
    (r, c)
}

/// RFC 8985 7.4.2: a probe that retransmitted the last segment and is acknowledged with
/// no D-SACK for it repaired a real loss: "it MUST trigger a congestion control response
/// equivalent to a fast recovery" - ssthresh = max(FlightSize / 2, 2*SMSS), cwnd at most
/// that.
#[test]
fn probe_that_repaired_a_loss_reduces_the_window_like_fast_recovery() {
    let (r, c) = probe_then_ack(false);
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.ssthresh, 2000);
    assert!(info.cwnd <= 2000, "cwnd {}", info.cwnd);
}

/// RFC 8985 7.4.1 with RFC 2883: a D-SACK for the probe's retransmission shows the
/// original arrived (only its ACK was lost): no congestion response.
#[test]
fn probe_reported_as_duplicate_by_dsack_leaves_the_window_alone() {
    let (r, c) = probe_then_ack(true);
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.ssthresh, u32::MAX);
    assert!(info.cwnd >= 10 * 1000, "cwnd {}", info.cwnd);
}

// ----- RFC 6675 SACK-based recovery -----------------------------------------------

/// An ACK of `una` (no progress) with SACK blocks `[(from, to)]` given in segments of
/// 1000 bytes above `una`, and window `win`.
fn sack_ack(r: &mut RawPeer, una: SeqNum, blocks: &[(u32, u32)], win: u16) -> Vec<RawSeg> {
    let mut h = r.hdr(r.snd_nxt, Some(una), TcpFlags::ACK, win);
    for (i, &(a, b)) in blocks.iter().enumerate() {
        h.options.sack[i] = SackBlock { left: una + a * 1000, right: una + b * 1000 };
    }
    h.options.sack_len = blocks.len() as u8;
    r.send(h, &[])
}

/// [`sack_ack`] handed to the stack without polling it: what it would send stays
/// queued (both ACKs arrived before the application polled).
fn sack_ack_unpolled(r: &mut RawPeer, una: SeqNum, blocks: &[(u32, u32)]) {
    let mut h = r.hdr(r.snd_nxt, Some(una), TcpFlags::ACK, 65_535);
    for (i, &(a, b)) in blocks.iter().enumerate() {
        h.options.sack[i] = SackBlock { left: una + a * 1000, right: una + b * 1000 };
    }
    h.options.sack_len = blocks.len() as u8;
    let d = r.datagram(&h, &[]);
    r.stack.handle_packet(r.now, &d);
}

fn retransmitted(segs: &[RawSeg], una: SeqNum) -> Vec<u32> {
    segs.iter()
        .filter(|g| g.seq().lt(una + 10_000) && !g.payload.is_empty())
        .map(|g| g.seq().since(una) / 1000)
        .collect()
}

/// Ten segments out, the 1st and 4th lost; the peer's duplicate ACKs SACK the others
/// one by one and change their window each time (as Linux does). Returns which
/// segments (by index) the stack retransmitted after each ACK.
fn two_holes(cfg_b: Config) -> Vec<Vec<u32>> {
    let (mut r, c) = sender(cfg_b);
    let (_, flight) = send_now(&mut r, c, 10_000);
    assert_eq!(flight.len(), 10);
    let una = flight[0].seq();
    let acks: [&[(u32, u32)]; 4] = [&[(1, 3)], &[(4, 5), (1, 3)], &[(4, 6), (1, 3)], &[(4, 7), (1, 3)]];
    acks.iter()
        .enumerate()
        .map(|(i, b)| retransmitted(&sack_ack(&mut r, una, b, 60_000 - i as u16), una))
        .collect()
}

/// RFC 6675 2: "an ACK which carries new SACK data is counted as a duplicate
/// acknowledgment ... even if it ... changes the receiver's advertised window"; 5: with
/// fewer than DupThresh duplicate ACKs, "if IsLost (HighACK + 1) returns true" recovery
/// starts; 4, NextSeg rule 1: the next hole IsLost deems lost is retransmitted in the
/// same round trip - here the 4th segment as soon as more than 2 SMSS above it are
/// SACKed, with no partial ACK in between.
/// RFC 8985 7.2: no probe is scheduled in fast recovery - a PTO that was pending when
/// recovery began gives way to the RTO.
#[test]
fn recovery_turns_a_pending_probe_timeout_into_the_rto() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, flight) = send_now(&mut r, c, 10_000);
    let una = flight[0].seq();
    assert_eq!(r.stack.poll_timeout(), Some(at(t0, PTO_US)), "a PTO after the flight");
    r.advance_to(at(t0, 10_000));
    sack_ack(&mut r, una, &[(1, 3)], 65_535);
    sack_ack(&mut r, una, &[(4, 5), (1, 3)], 65_535);
    assert_eq!(r.stack.poll_timeout(), Some(at(t0, 10_000 + RTO_US)), "recovery: the RTO, from now");
}

#[test]
fn sack_recovery_retransmits_every_lost_hole_within_the_round_trip() {
    let rtx = two_holes(cfg(SERVER_IP));
    assert_eq!(rtx, vec![vec![], vec![0], vec![], vec![3]], "after each duplicate ACK");
}

/// Without SACK (the peer did not offer it, so its blocks mean nothing) the window
/// changes make those ACKs no duplicates by RFC 5681 2's definition: nothing is
/// retransmitted - which shows the test above can fail.
#[test]
fn without_sack_acks_that_change_the_window_are_no_duplicates() {
    let rtx = two_holes(Config { sack: false, ..cfg(SERVER_IP) });
    assert_eq!(rtx, vec![Vec::<u32>::new(); 4]);
}

/// A flight of `bytes` (more than the window holds), all but its first segment
/// SACKed: IsLost(SND.UNA), recovery, SND.UNA retransmitted; duplicate ACKs until
/// cwnd lets new data out (RFC 5681 3.2 step 4), then the segments sent after the
/// retransmission SACKed one by one, the retransmission never arriving. Returns, for
/// each of those three ACKs, whether SND.UNA went out again.
fn lost_una_retransmission(r: &mut RawPeer, c: ConnId, bytes: usize) -> [bool; 3] {
    let (_, flight) = send_now(r, c, bytes);
    let (una, f) = (flight[0].seq(), flight.len() as u32);
    assert_eq!(retransmitted(&sack_ack(r, una, &[(1, f)], 65_535), una), vec![0]);
    let mut new = Vec::new();
    for _ in 0..5 {
        new = r.send_ack(una, 65_535);
        if !new.is_empty() {
            break;
        }
    }
    assert_eq!(new.len(), 1, "new data once cwnd exceeds the flight");
    assert_eq!(new[0].seq(), una + f * 1000);
    let rtx_before = r.stack.info(c).unwrap().retransmissions;
    let resent = [1, 2, 3].map(|k| retransmitted(&sack_ack(r, una, &[(1, f + k)], 65_535), una).contains(&0));
    let rtx = r.stack.info(c).unwrap().retransmissions;
    assert_eq!(rtx, rtx_before + resent.iter().filter(|&&x| x).count() as u64);
    resent
}

/// RACK's detection of lost retransmissions (RFC 8985 6.2, paraphrased: a segment is
/// lost once one sent after it was delivered and the reordering window has passed;
/// the window is zero in recovery on a connection that has seen no reordering). The
/// first segment sent after SND.UNA's retransmission is SACKed while SND.UNA is not:
/// the retransmission was lost too, and SND.UNA goes out again at once - not after
/// DupThresh segments (RFC 6675's IsLost), which a small window under loss may never
/// send, nor at the RTO.
#[test]
fn lost_retransmission_of_snd_una_is_resent_once_data_sent_after_it_is_sacked() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    assert_eq!(lost_una_retransmission(&mut r, c, 20_000), [true, false, false]);
}

/// Once the connection has seen reordering, data sent after the retransmission may
/// simply have overtaken it: the retransmission is deemed lost only when DupThresh
/// segments' worth is SACKed above it (here DupThresh is 9 after a late first
/// segment, so none of the three ACKs), as RFC 6675's IsLost would.
#[test]
fn after_reordering_a_lost_retransmission_waits_for_dupthresh_segments_sent_after_it() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = new_window(&mut r, c);
    late_first_segment(&mut r, una);
    assert_eq!(r.stack.info(c).unwrap().reordering, 9);
    ack_all(&mut r, c, una);
    assert_eq!(lost_una_retransmission(&mut r, c, 40_000), [false, false, false]);
}

/// Three segments out, the 2nd lost: after one round trip the peer acknowledges the
/// 1st and SACKs the 3rd, the one duplicate ACK it can send (500 more bytes wait
/// behind Nagle). Returns the peer, the connection, the hole's sequence number and
/// the time of that ACK.
fn hole_below_one_sacked_segment(cfg_b: Config) -> (RawPeer, ConnId, SeqNum, Instant) {
    let (mut r, c) = sender(cfg_b);
    let (t0, flight) = send_now(&mut r, c, 3000);
    assert_eq!(flight.len(), 3);
    let una = flight[0].seq();
    r.stack.send(c, &pattern(500, 2)).unwrap();
    assert!(r.poll().is_empty());
    r.advance_to(at(t0, 20_000));
    r.send_ack(una + 1000, 65_535);
    let dup = sack_ack(&mut r, una + 1000, &[(1, 2)], 65_535);
    assert!(dup.is_empty(), "one duplicate ACK, too little for IsLost: no recovery yet");
    let now = r.now;
    (r, c, una + 1000, now)
}

/// The hole is retransmitted at `t` and not before, as the first of fast recovery's
/// segments, with no loss probe sent.
fn hole_resent_at(r: &mut RawPeer, c: ConnId, hole: SeqNum, t: Instant) {
    assert!(r.advance_to(Instant::from_micros(t.as_micros() - 1)).is_empty(), "nothing before {t:?}");
    let out = r.advance_to(t);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!((out[0].seq(), out[0].payload.len()), (hole, 1000), "the hole, retransmitted");
    assert!(r.stack.info(c).unwrap().ssthresh < u32::MAX, "fast recovery");
    assert_eq!(r.stack.stats().loss_probes, 0, "no probe");
}

/// RACK (RFC 8985 6.2, paraphrased: a segment sent before one that was delivered is
/// lost once RACK.rtt plus the reordering window has passed since it was sent; 6.3:
/// until then the reordering timer waits). The hole and the segment SACKed above it
/// left together, one round trip (20 ms, the minimum RTT) before the SACK: the hole
/// is deemed lost a quarter of the minimum RTT later (5 ms), not at the loss probe's
/// timeout two round trips after the last send.
#[test]
fn a_hole_below_too_little_sacked_data_for_islost_is_resent_a_quarter_of_min_rtt_after_the_sack() {
    let (mut r, c, hole, t) = hole_below_one_sacked_segment(cfg(SERVER_IP));
    assert_eq!(r.stack.poll_timeout(), Some(t + Duration::from_millis(5)));
    hole_resent_at(&mut r, c, hole, t + Duration::from_millis(5));
    assert_eq!(r.stack.stats().reorder_timeouts, 1);
    assert_eq!(r.stack.poll_timeout(), Some(r.now + Duration::from_micros(RTO_US)), "then the RTO (6.3)");
}

/// Four segments sent, and one round trip (20 ms, the minimum RTT) later. Returns the
/// peer, the connection and the first segment's sequence number.
fn four_segments_a_round_trip_ago() -> (RawPeer, ConnId, SeqNum) {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, flight) = send_now(&mut r, c, 4000);
    assert_eq!(flight.len(), 4);
    r.advance_to(at(t0, 20_000));
    (r, c, flight[0].seq())
}

/// Reordering, not loss: the "lost" segment arrives within the window, and its ACK
/// (of new data, RFC 6298 5.3) ends the reordering timer: nothing is retransmitted,
/// and the slot holds the loss probe's timeout again (RFC 8985 7.2), which sends a
/// probe of the last segment when it goes unacknowledged.
#[test]
fn a_hole_filled_within_the_reordering_window_is_not_retransmitted() {
    let (mut r, c, una) = four_segments_a_round_trip_ago();
    r.send_ack(una + 1000, 65_535);
    assert!(sack_ack(&mut r, una + 1000, &[(1, 2)], 65_535).is_empty());
    let t = r.now;
    assert_eq!(r.stack.poll_timeout(), Some(t + Duration::from_millis(5)), "the reordering timer");
    r.advance_to(t + Duration::from_millis(4));
    assert!(r.send_ack(una + 3000, 65_535).is_empty(), "the late segment filled the hole");
    // (One segment in flight: the PTO allows for a delayed ACK and comes with the RTO.)
    let probe = r.advance(Duration::from_micros(RTO_US));
    assert_eq!(probe.len(), 1, "{probe:?}");
    assert_eq!(probe[0].seq(), una + 3000, "a probe of the last segment");
    let info = r.stack.info(c).unwrap();
    assert_eq!((info.retransmissions, info.ssthresh), (1, u32::MAX), "the probe only, no recovery");
    assert_eq!((r.stack.stats().loss_probes, r.stack.stats().reorder_timeouts), (1, 0));
}

/// RFC 8985 6.2 runs on every ACK, not only on those with SACK blocks. Here an ACK
/// acknowledges new data but SACKs nothing (RFC 2018 8 lets a receiver discard what it
/// SACKed) while data SACKed before still sits above the hole. The ACK of new data
/// restarts the retransmission timer (RFC 6298 5.3); then the reordering timer runs
/// one window from this ACK, and the window is SRTT, because the 1st segment, sent
/// before the SACKed 3rd, was delivered after it: reordering (step 3). Header
/// prediction takes this ACK (`Conn::fast_path`), with the same result as the full
/// processing.
#[test]
fn an_ack_of_new_data_without_sack_blocks_keeps_the_reordering_timer_for_the_hole_below_sacked_data() {
    let (mut r, c, una) = four_segments_a_round_trip_ago();
    assert!(sack_ack(&mut r, una, &[(2, 3)], 65_535).is_empty(), "one duplicate ACK: no recovery");
    assert_eq!(r.stack.poll_timeout(), Some(r.now + Duration::from_millis(5)), "the reordering timer");
    r.advance(Duration::from_millis(2));
    assert!(r.send_ack(una + 1000, 65_535).is_empty());
    let srtt = r.stack.info(c).unwrap().srtt.unwrap();
    assert!(srtt < Duration::from_micros(RTO_US), "earlier than the RTO the ACK restarted");
    let t = r.now + srtt;
    assert_eq!(r.stack.poll_timeout(), Some(t), "SRTT from the ACK of new data");
    hole_resent_at(&mut r, c, una + 1000, t);
}

/// The ACK a small data segment of the peer's carries runs RFC 8985 6.2 too. A SACK
/// arrives when a window from it (SRTT, after reordering) reaches past the loss
/// probe's timeout, so the slot keeps the PTO; new data then moves the slot further
/// out: the PTO gives way to the RTO (RFC 8985 7.2: no probe is scheduled while
/// SACKed segments are outstanding, which the reordering timer covers). The peer's next
/// segment, 10 bytes of data that acknowledge nothing new, brings the reordering timer
/// back, a window from its arrival. Header prediction takes that segment
/// (`Conn::fast_path`; too short for the receive express path), with the same result
/// as the full processing.
#[test]
fn the_ack_on_the_peers_data_brings_the_reordering_timer_forward() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = after_reordering_three_out_and_the_first_acked(&mut r, c);
    let pto = r.stack.poll_timeout().expect("the PTO");
    let srtt = r.stack.info(c).unwrap().srtt.unwrap();
    r.advance_to(Instant::from_micros(pto.as_micros() - srtt.as_micros() + 1000));
    assert!(sack_ack(&mut r, una + 1000, &[(1, 2)], 65_535).is_empty(), "SACKs the 3rd segment");
    assert_eq!(r.stack.poll_timeout(), Some(pto), "a window from the SACK ends after the PTO");
    let (_, new) = send_now(&mut r, c, 1000);
    assert_eq!((new.len(), new[0].seq()), (1, una + 3000), "new data");
    let rto = r.now + Duration::from_micros(RTO_US);
    assert_eq!(r.stack.poll_timeout(), Some(rto), "the RTO, not a PTO");
    r.advance(Duration::from_millis(1));
    let h = r.hdr(r.snd_nxt, Some(una + 1000), TcpFlags::ACK, 65_535);
    r.send(h, &pattern(10, 7));
    r.snd_nxt += 10;
    let t = r.now + srtt;
    assert_eq!(r.stack.poll_timeout(), Some(t), "the reordering timer, a window from the data's ACK");
    hole_resent_at(&mut r, c, una + 1000, t);
}

/// A connection that has seen reordering (a late original) sends three segments, and
/// a round trip later the first is acknowledged. Returns the first's sequence number.
fn after_reordering_three_out_and_the_first_acked(r: &mut RawPeer, c: ConnId) -> SeqNum {
    let una = new_window(r, c);
    late_first_segment(r, una);
    ack_all(r, c, una);
    let (_, flight) = send_now(r, c, 3000);
    let una = flight[0].seq();
    r.advance(Duration::from_millis(20));
    assert!(r.send_ack(una + 1000, 65_535).is_empty());
    una
}

/// Once the connection has seen reordering (a late original, as in the tests below)
/// the window is RFC 8985 6.2 step 4's upper bound, SRTT, not a quarter of the
/// minimum RTT.
#[test]
fn after_reordering_the_window_is_srtt() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = after_reordering_three_out_and_the_first_acked(&mut r, c);
    assert!(sack_ack(&mut r, una + 1000, &[(1, 2)], 65_535).is_empty());
    let srtt = r.stack.info(c).unwrap().srtt.unwrap();
    let t = r.now + srtt;
    assert_eq!(r.stack.poll_timeout(), Some(t));
    hole_resent_at(&mut r, c, una + 1000, t);
}

/// Without the reordering timer (`Config::rack_reorder_timer = false`) the hole waits
/// for the loss probe's timeout, two round trips after the last send (which shows the
/// tests above can fail). There RACK's rule holds at last - the hole was sent before
/// data that was delivered, two round trips ago - and the PTO starts fast recovery
/// and retransmits the hole, rather than sending a probe (the 500 bytes queued, or
/// the 3rd segment again, which the peer holds) and waiting a round trip for its ACK.
#[test]
fn without_the_reordering_timer_the_hole_waits_for_the_probe_timeout() {
    let cfg_b = Config { rack_reorder_timer: false, ..cfg(SERVER_IP) };
    let (mut r, c, hole, t) = hole_below_one_sacked_segment(cfg_b);
    // (The PTO restarted with the ACK of new data at `t`, RFC 8985 7.2.)
    hole_resent_at(&mut r, c, hole, t + Duration::from_micros(PTO_US));
    assert_eq!(r.stack.stats().reorder_timeouts, 0);
}

// ----- After a retransmission timeout ----------------------------------------------

/// A 10-segment flight whose ACKs are all lost, so that the RTO fires and resends
/// SND.UNA; then the peer acknowledges that segment (slow start: cwnd two segments).
/// Returns the peer, the connection, SND.UNA at the start, and what that ACK sent.
fn timed_out(cfg_b: Config, sacked: Option<(u32, u32)>) -> (RawPeer, ConnId, SeqNum, Vec<RawSeg>) {
    let (mut r, c) = sender(cfg_b);
    let (t0, flight) = send_now(&mut r, c, 10_000);
    assert_eq!(flight.len(), 10);
    let una = flight[0].seq();
    if let Some((a, b)) = sacked {
        // One duplicate ACK reporting octets [a, b) above SND.UNA: too little for IsLost
        // (RFC 6675 4), so no recovery starts before the timeout.
        let mut h = r.hdr(r.snd_nxt, Some(una), TcpFlags::ACK, 65_535);
        h.options.sack[0] = SackBlock { left: una + a, right: una + b };
        h.options.sack_len = 1;
        assert!(r.send(h, &[]).is_empty(), "no recovery before the timeout");
    }
    let rtx = r.advance_to(at(t0, RTO_US));
    assert_eq!(retransmitted(&rtx, una), vec![0], "RFC 6298 5.4: the timeout resends SND.UNA");
    assert_eq!(r.stack.info(c).unwrap().cwnd, 1000, "RFC 5681 3.1: the loss window");
    let out = r.send_ack(una + 1000, 65_535);
    (r, c, una, out)
}

/// (offset from `una`, length) of each data segment.
fn spans(segs: &[RawSeg], una: SeqNum) -> Vec<(u32, usize)> {
    segs.iter().filter(|g| !g.payload.is_empty()).map(|g| (g.seq().since(una), g.payload.len())).collect()
}

/// RFC 6582 4 (Handling Duplicate Acknowledgments after a Timeout): the timeout
/// records the highest sequence number sent; duplicate ACKs that do not cover more
/// than it come from the resend repeating what the receiver holds, and by 3.2 step 1
/// start no fast retransmit and leave ssthresh alone. Nor do they release Limited
/// Transmit, which sends "previously unsent data" (RFC 3042 2). Once an ACK covers the
/// timeout's point, three duplicates start fast recovery again.
#[test]
fn after_a_timeout_duplicate_acks_below_its_snd_nxt_start_no_fast_recovery() {
    let cfg_b = Config { sack: false, congestion_control: synack::CongestionControl::Reno, ..no_tlp() };
    let (mut r, c, una, out) = timed_out(cfg_b, None);
    assert_eq!(spans(&out, una), vec![(1000, 1000), (2000, 1000)], "slow start, from SND.UNA on");
    let before = r.stack.info(c).unwrap();
    for i in 0..3 {
        let out = r.send_ack(una + 1000, 65_535);
        assert!(
            out.is_empty(),
            "duplicate {}: no fast retransmit, no limited transmit: {:?}",
            i + 1,
            spans(&out, una)
        );
    }
    let after = r.stack.info(c).unwrap();
    assert_eq!(
        (after.cwnd, after.ssthresh),
        (before.cwnd, before.ssthresh),
        "no second reduction, no inflation"
    );
    assert_eq!(after.retransmissions, before.retransmissions);
    // The rest of the window is acknowledged: the timeout's point is covered. New
    // data, then three duplicates: fast retransmit.
    r.send_ack(una + 10_000, 65_535);
    let (_, fresh) = send_now(&mut r, c, 4000);
    let first = fresh.first().expect("new data").seq();
    assert_eq!(first, una + 10_000);
    let rtx: Vec<RawSeg> = (0..3).flat_map(|_| r.send_ack(first, 65_535)).collect();
    assert!(rtx.iter().any(|g| g.seq() == first && !g.payload.is_empty()), "fast retransmit: {rtx:?}");
}

/// The same with SACK: after a timeout, a duplicate ACK whose blocks make the
/// scoreboard deem SND.UNA lost (RFC 6675 5) starts no fast recovery either while it
/// does not cover the timeout's SND.NXT.
#[test]
fn after_a_timeout_sack_that_deems_snd_una_lost_starts_no_fast_recovery() {
    let cfg_b = Config { congestion_control: synack::CongestionControl::Reno, ..no_tlp() };
    let (mut r, c, una, out) = timed_out(cfg_b, None);
    assert_eq!(spans(&out, una), vec![(1000, 1000), (2000, 1000)]);
    let before = r.stack.info(c).unwrap();
    // Four segments SACKed above SND.UNA: IsLost (more than 2 SMSS above it).
    let out = sack_ack(&mut r, una + 1000, &[(2, 6)], 65_535);
    assert!(out.is_empty(), "no fast retransmit: {:?}", spans(&out, una));
    let after = r.stack.info(c).unwrap();
    assert_eq!(
        (after.cwnd, after.ssthresh),
        (before.cwnd, before.ssthresh),
        "no second reduction, no inflation"
    );
}

/// After a timeout the resend from SND.UNA skips what the receiver SACKed before it
/// (RFC 6675 5.1: use the SACK information in the recovery after an RTO; RFC 8985 6.3:
/// only un-SACKed segments are deemed lost), and a segment stops where SACKed data
/// begins. RFC 2018 8's MUST is kept: SND.UNA itself went out first (`timed_out`).
#[test]
fn after_a_timeout_the_resend_skips_what_the_receiver_sacked() {
    let (_, _, una, out) = timed_out(no_tlp(), Some((2500, 4000)));
    assert_eq!(spans(&out, una), vec![(1000, 1000), (2000, 500)], "up to the SACKed octets, not into them");
}

/// A receiver may discard data it SACKed (RFC 2018 8). SND.UNA stopping at the start of
/// a SACKed range shows it did: the board is dropped, and the resend that skipped the
/// range starts again from SND.UNA.
#[test]
fn a_receiver_that_reneged_on_sacked_data_gets_it_resent() {
    let (mut r, _, una, out) = timed_out(no_tlp(), Some((2500, 4000)));
    assert_eq!(spans(&out, una), vec![(1000, 1000), (2000, 500)]);
    // Both arrived, but the ACK stops at 2500: [2500, 4000) was discarded.
    let out = r.send_ack(una + 2500, 65_535);
    assert_eq!(spans(&out, una).first(), Some(&(2500, 1000)), "from SND.UNA again: {out:?}");
}

/// RFC 2883 4: a D-SACK is the first SACK block, reporting a segment received twice:
/// below the cumulative ACK, or within the second block (a duplicate of data queued
/// above it). RFC 3708 counts them; `StackStats::dsacks_received` does. Ordinary SACK
/// blocks are not counted.
#[test]
fn dsack_blocks_are_counted_and_ordinary_sack_blocks_are_not() {
    let (mut r, c) = sender(no_tlp());
    let (_, flight) = send_now(&mut r, c, 6000);
    let una = flight[0].seq();
    let dsacks = |r: &RawPeer| r.stack.stats().dsacks_received;
    // Ordinary blocks: above the ACK, the first not within the second.
    sack_ack(&mut r, una, &[(2, 3)], 65_535);
    sack_ack(&mut r, una, &[(4, 5), (2, 3)], 65_535);
    assert_eq!(dsacks(&r), 0);
    // A duplicate of data queued above the ACK: the first block within the second.
    sack_ack(&mut r, una, &[(2, 3), (2, 5)], 65_535);
    assert_eq!(dsacks(&r), 1);
    // A duplicate below the cumulative ACK (here the first segment, reported once the
    // ACK has passed it).
    let mut h = r.hdr(r.snd_nxt, Some(una + 1000), TcpFlags::ACK, 65_535);
    h.options.sack[0] = SackBlock { left: una, right: una + 1000 };
    h.options.sack_len = 1;
    r.send(h, &[]);
    assert_eq!(dsacks(&r), 2);
    assert!(r.stack.stats().to_string().contains("dsacks_received=2"));
}

// ----- Reordering: DupThresh follows what the connection saw -----------------------

/// Sends a window of ten 1000-byte segments; returns its first sequence number.
fn new_window(r: &mut RawPeer, c: ConnId) -> SeqNum {
    let (_, segs) = send_now(r, c, 10_000);
    assert_eq!(segs.len(), 10, "{segs:?}");
    segs[0].seq()
}

/// Acknowledges the whole window [`new_window`] sent from `una`.
fn ack_all(r: &mut RawPeer, c: ConnId, una: SeqNum) {
    r.send_ack(una + 10_000, 65_535);
    assert_eq!(r.stack.info(c).unwrap().bytes_in_flight, 0);
}

/// The first segment of the window arrives after segments 5 and 8: the peer SACKs
/// [5, 6) and then [8, 9) too (two ranges, 2 SMSS, not enough for IsLost, RFC 6675 4),
/// and then the first segment's arrival moves the cumulative ACK past it. Returns what
/// the stack sent on the way.
fn late_first_segment(r: &mut RawPeer, una: SeqNum) -> Vec<RawSeg> {
    let mut out = sack_ack(r, una, &[(5, 6)], 65_535);
    out.extend(sack_ack(r, una, &[(8, 9), (5, 6)], 65_535));
    out.extend(sack_ack(r, una + 1000, &[(8, 9), (5, 6)], 65_535));
    out
}

/// The first segment of the window is delivered after the next four: one duplicate
/// ACK per segment SACKed. Returns the segments (by index) retransmitted.
fn reordered_by_four(r: &mut RawPeer, una: SeqNum) -> Vec<u32> {
    let blocks: [&[(u32, u32)]; 4] = [&[(1, 2)], &[(1, 3)], &[(1, 4)], &[(1, 5)]];
    blocks.iter().flat_map(|b| retransmitted(&sack_ack(r, una, b, 65_535), una)).collect()
}

/// DupThresh 3 (RFC 6675 2) takes a segment overtaken by three others for lost: the
/// baseline the tests below change.
#[test]
fn a_segment_overtaken_by_four_is_retransmitted_under_the_default_dupthresh() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = new_window(&mut r, c);
    assert_eq!(r.stack.info(c).unwrap().reordering, 3);
    assert_eq!(reordered_by_four(&mut r, una), vec![0], "spurious fast retransmit");
}

/// RFC 8985 6.2 (paraphrased): a segment that was never retransmitted and is delivered
/// after data sent after it shows reordering. The first segment arrived after the
/// ninth: DupThresh becomes 9 segments, and in the next window a segment overtaken by
/// four is waited for, not retransmitted.
#[test]
fn a_late_original_raises_dupthresh_and_the_next_reordering_costs_no_retransmission() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = new_window(&mut r, c);
    let out = late_first_segment(&mut r, una);
    assert!(retransmitted(&out, una).is_empty(), "nothing deemed lost: {out:?}");
    assert_eq!(r.stack.info(c).unwrap().reordering, 9, "the first segment was 9 segments late");
    ack_all(&mut r, c, una);
    let una = new_window(&mut r, c);
    assert_eq!(reordered_by_four(&mut r, una), Vec::<u32>::new());
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.retransmissions, 0);
    assert_eq!(info.ssthresh, u32::MAX, "no recovery, no reduction");
}

/// The cumulative ACK of a hole that was retransmitted a round trip before proves
/// nothing (the retransmission may be what arrived): DupThresh stays 3. (No congestion control, so
/// that the recovery leaves the next window whole.)
#[test]
fn a_hole_filled_after_its_retransmission_is_no_evidence_of_reordering() {
    let (mut r, c) = sender(Config { congestion_control: synack::CongestionControl::None, ..cfg(SERVER_IP) });
    let una = new_window(&mut r, c);
    assert_eq!(reordered_by_four(&mut r, una), vec![0]);
    // A round trip later, as the retransmission's ACK would come (sooner, it would
    // prove the recovery spurious: the tests below).
    r.advance_to(r.now + SRTT);
    sack_ack(&mut r, una + 1000, &[(1, 5)], 65_535);
    assert_eq!(r.stack.info(c).unwrap().reordering, 3);
    ack_all(&mut r, c, una);
    let una = new_window(&mut r, c);
    assert_eq!(reordered_by_four(&mut r, una), vec![0]);
}

/// Octets SACKed below the highest SACKed ones show reordering as the cumulative ACK
/// does: segment 2 reported after segment 7, never retransmitted, was 6 segments late.
#[test]
fn a_late_original_reported_by_sack_raises_dupthresh_too() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = new_window(&mut r, c);
    sack_ack(&mut r, una, &[(7, 8)], 65_535);
    sack_ack(&mut r, una, &[(2, 3), (7, 8)], 65_535);
    assert_eq!(r.stack.info(c).unwrap().reordering, 6, "7 * 1000 + 1000 - 2 * 1000 = 6 segments");
}

/// A timeout that finds SND.UNA's hole with more than 2 SMSS SACKed above it, outside
/// fast recovery, is a loss the raised DupThresh kept from being repaired: back to 3.
#[test]
fn a_timeout_that_dupthresh_3_would_have_avoided_brings_it_back_to_3() {
    let (mut r, c) = sender(no_tlp());
    let una = new_window(&mut r, c);
    late_first_segment(&mut r, una);
    assert_eq!(r.stack.info(c).unwrap().reordering, 9);
    ack_all(&mut r, c, una);
    let una = new_window(&mut r, c);
    assert!(reordered_by_four(&mut r, una).is_empty());
    let rtx = r.advance_to(r.now + Duration::from_micros(RTO_US));
    assert_eq!(retransmitted(&rtx, una), vec![0], "the timeout repairs it");
    assert_eq!(r.stack.info(c).unwrap().reordering, 3);
}

// ----- Spurious fast recovery: undone (RFC 4015, RFC 8985 6.2) ---------------------

/// A window of ten; the first segment is overtaken by three (DupThresh 3): fast
/// retransmit of it. Returns the peer, the connection, SND.UNA, the time of the
/// retransmission and cwnd, ssthresh before it.
fn spurious_start(cfg_b: Config) -> (RawPeer, ConnId, SeqNum, Instant, (u32, u32)) {
    spurious_start_with(cfg_b, TcpFlags::SYN)
}

fn spurious_start_with(cfg_b: Config, syn: TcpFlags) -> (RawPeer, ConnId, SeqNum, Instant, (u32, u32)) {
    let (mut r, c) = sender_with(cfg_b, syn);
    let una = new_window(&mut r, c);
    let info = r.stack.info(c).unwrap();
    let before = (info.cwnd, info.ssthresh);
    sack_ack(&mut r, una, &[(1, 2)], 65_535);
    sack_ack(&mut r, una, &[(1, 3)], 65_535);
    let rtx = sack_ack(&mut r, una, &[(1, 4)], 65_535);
    assert_eq!(retransmitted(&rtx, una), vec![0], "fast retransmit");
    let info = r.stack.info(c).unwrap();
    assert!(info.ssthresh < before.1 && info.cwnd < before.0, "recovery reduced the window");
    let t = r.now;
    (r, c, una, t, before)
}

/// RFC 8985 6.2: an ACK of a retransmitted segment that comes sooner than the minimum
/// RTT after the retransmission acknowledges the original. Here 1 ms after it, with
/// 20 ms the only RTT measured: the recovery was reordering, not loss, and is undone
/// (RFC 4015: the window and ssthresh as they were). The rest of the window, still on
/// its way, is then acknowledged segment by segment without one more retransmission
/// (RFC 6582's partial ACKs would have resent each), and DupThresh has risen.
#[test]
fn a_fast_retransmit_acknowledged_sooner_than_any_round_trip_is_undone() {
    let (mut r, c, una, t, before) = spurious_start(cfg(SERVER_IP));
    r.advance_to(t + Duration::from_millis(1));
    let mut out = sack_ack(&mut r, una + 4000, &[], 65_535);
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.ssthresh, before.1, "undone");
    assert!(info.cwnd >= before.0, "undone: cwnd {} (then grown by the ACK)", info.cwnd);
    assert_eq!(r.stack.stats().recoveries_undone, 1);
    assert!(info.reordering >= 4, "DupThresh {}", info.reordering);
    for k in 5..=10 {
        out.extend(r.send_ack(una + k * 1000, 65_535));
    }
    assert_eq!(retransmitted(&out, una), Vec::<u32>::new());
    assert_eq!(r.stack.info(c).unwrap().retransmissions, 1);
}

/// The same ACK a round trip after the retransmission may be the retransmission's: the
/// recovery stands, and the next partial ACK resends SND.UNA (RFC 6582 3.2 step 5) -
/// which shows the test above can fail. With PRR (RFC 6937) as without: the partial
/// ACK shows the segment at SND.UNA lost, so it leaves the pipe (4 segments, below
/// ssthresh 5) and PRR's slow-start bound releases a segment for it at once.
#[test]
fn a_fast_retransmit_acknowledged_a_round_trip_later_stands() {
    for prr in [false, true] {
        let (mut r, c, una, t, before) = spurious_start(Config { prr, ..cfg(SERVER_IP) });
        r.advance_to(t + SRTT);
        sack_ack(&mut r, una + 4000, &[], 65_535);
        let info = r.stack.info(c).unwrap();
        assert_ne!((info.cwnd, info.ssthresh), before);
        assert_eq!(r.stack.stats().recoveries_undone, 0);
        let out = r.send_ack(una + 5000, 65_535);
        assert_eq!(retransmitted(&out, una), vec![5], "partial ACK: SND.UNA again (PRR {prr})");
    }
}

/// A recovery that has retransmitted a second segment is not undone by the early ACK
/// of the first: the second may have repaired a real loss.
#[test]
fn a_recovery_that_retransmitted_more_than_snd_una_is_not_undone() {
    let (mut r, c, una, t, before) = spurious_start(cfg(SERVER_IP));
    // Segments 5 to 9 SACKed too: the hole at 4 is deemed lost and resent.
    let out = sack_ack(&mut r, una, &[(5, 10), (1, 4)], 65_535);
    assert_eq!(retransmitted(&out, una), vec![4], "{out:?}");
    r.advance_to(t + Duration::from_millis(1));
    sack_ack(&mut r, una + 4000, &[(5, 10)], 65_535);
    let info = r.stack.info(c).unwrap();
    assert_ne!((info.cwnd, info.ssthresh), before);
    assert_eq!(r.stack.stats().recoveries_undone, 0);
}

/// A segment already sent twice (here the original and a loss probe) before its fast
/// retransmit: an ACK of it soon after the fast retransmit may be the probe's, so it
/// proves nothing and the recovery stands.
#[test]
fn a_fast_retransmit_of_a_segment_sent_twice_before_is_not_undone_by_an_early_ack() {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let (t0, first) = send_now(&mut r, c, 1000);
    let una = first[0].seq();
    let probe = r.advance_to(at(t0, RTO_US));
    assert_eq!(probe.iter().map(RawSeg::seq).collect::<Vec<_>>(), vec![una], "the probe resends it");
    let (_, more) = send_now(&mut r, c, 4000);
    assert_eq!(more.len(), 4);
    sack_ack(&mut r, una, &[(1, 2)], 65_535);
    sack_ack(&mut r, una, &[(1, 3)], 65_535);
    assert_eq!(retransmitted(&sack_ack(&mut r, una, &[(1, 4)], 65_535), una), vec![0]);
    let t = r.now;
    r.advance_to(t + Duration::from_millis(1));
    sack_ack(&mut r, una + 4000, &[], 65_535);
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    assert!(r.stack.info(c).unwrap().ssthresh < u32::MAX, "the recovery's reduction stands");
}

/// A window of ten, the first segment overtaken by three: the third duplicate ACK
/// starts fast recovery, and the fast retransmit waits in the stack, unpolled.
fn fast_retransmit_queued() -> (RawPeer, ConnId, SeqNum) {
    let (mut r, c) = sender(cfg(SERVER_IP));
    let una = new_window(&mut r, c);
    sack_ack(&mut r, una, &[(1, 2)], 65_535);
    sack_ack(&mut r, una, &[(1, 3)], 65_535);
    sack_ack_unpolled(&mut r, una, &[(1, 4)]);
    (r, c, una)
}

/// The ACK of the segment may even come before its fast retransmit has left (both
/// arrive before the application polls): the recovery is undone and nothing is
/// retransmitted at all - neither that segment nor, in its place, the new SND.UNA.
#[test]
fn a_recovery_acknowledged_before_its_retransmission_left_is_undone_and_resends_nothing() {
    let (mut r, c, una) = fast_retransmit_queued();
    let out = r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().recoveries_undone, 1);
    assert!(out.iter().all(|g| g.payload.is_empty() || !g.seq().lt(una + 10_000)), "{out:?}");
    assert_eq!(r.stack.info(c).unwrap().retransmissions, 0);
}

// ----- Undo by D-SACK (RFC 3708, RFC 4015) ------------------------------------------

/// An ACK of `ack` whose first block is a D-SACK (RFC 2883 4) for segments `[a, b)`
/// of 1000 bytes above `una`.
fn dsack(r: &mut RawPeer, una: SeqNum, ack: SeqNum, (a, b): (u32, u32)) -> Vec<RawSeg> {
    let mut h = r.hdr(r.snd_nxt, Some(ack), TcpFlags::ACK, 65_535);
    h.options.sack[0] = SackBlock { left: una + a * 1000, right: una + b * 1000 };
    h.options.sack_len = 1;
    r.send(h, &[])
}

/// [`spurious_start`], then segments 5 to 9 SACKed: the hole at 4 is resent too. The
/// originals of 0 and 4 then arrive a round trip after the fast retransmit (too late
/// for the early-ACK test) and the whole window is acknowledged. Returns the peer, the
/// connection, SND.UNA at the start and cwnd, ssthresh before the recovery.
fn two_resends_acknowledged_late(cfg_b: Config) -> (RawPeer, ConnId, SeqNum, (u32, u32)) {
    two_resends_acknowledged_late_with(cfg_b, TcpFlags::SYN)
}

fn two_resends_acknowledged_late_with(cfg_b: Config, syn: TcpFlags) -> (RawPeer, ConnId, SeqNum, (u32, u32)) {
    let (mut r, c, una, t, before) = spurious_start_with(cfg_b, syn);
    let out = sack_ack(&mut r, una, &[(5, 10), (1, 4)], 65_535);
    assert_eq!(retransmitted(&out, una), vec![4], "{out:?}");
    r.advance_to(t + SRTT);
    r.send_ack(una + 10_000, 65_535);
    assert_eq!(r.stack.stats().recoveries_undone, 0, "not early: the recovery stands");
    let info = r.stack.info(c).unwrap();
    assert!(info.ssthresh < before.1, "reduced");
    (r, c, una, before)
}

/// RFC 3708: once the peer has reported every retransmission of a recovery as a
/// duplicate (D-SACK, RFC 2883), none of them was needed - the originals all arrived,
/// late. The recovery is undone as RFC 4015 responds to a spurious retransmission:
/// cwnd and ssthresh return to their values before it. Here after both resends are
/// reported, one ACK each, after the recovery has ended.
#[test]
fn a_recovery_whose_every_retransmission_the_peer_reports_duplicate_is_undone() {
    let (mut r, c, una, before) = two_resends_acknowledged_late(cfg(SERVER_IP));
    let reduced = r.stack.info(c).unwrap().ssthresh;
    // More data goes out and is acknowledged meanwhile.
    let (_, more) = send_now(&mut r, c, 2000);
    assert_eq!(more.len(), 2);
    r.send_ack(una + 12_000, 65_535);
    dsack(&mut r, una, una + 12_000, (0, 1));
    assert_eq!(r.stack.stats().recoveries_undone, 0, "the resend of 4 may have repaired a loss");
    assert_eq!(r.stack.info(c).unwrap().ssthresh, reduced);
    dsack(&mut r, una, una + 12_000, (4, 5));
    let info = r.stack.info(c).unwrap();
    assert_eq!(r.stack.stats().recoveries_undone, 1);
    assert_eq!(r.stack.stats().recoveries_undone_by_dsack, 1);
    assert_eq!(info.ssthresh, before.1, "undone");
    assert!(info.cwnd >= before.0, "undone: cwnd {} before {}", info.cwnd, before.0);
    // Segment 0 arrived after segments 1 to 9 (all SACKed when its ACK came): DupThresh
    // follows that depth, not how far the ACKs had gone when the D-SACKs came.
    assert_eq!(info.reordering, 10, "DupThresh");
}

/// The counterpart: a D-SACK for one resend only, or for a segment that was never
/// resent (a duplicate the network made), proves nothing about the other resend,
/// which may have repaired a real loss: the recovery stands.
#[test]
fn dsacks_for_part_of_the_resends_or_for_data_never_resent_leave_the_recovery_standing() {
    let (mut r, c, una, _) = two_resends_acknowledged_late(cfg(SERVER_IP));
    let reduced = (r.stack.info(c).unwrap().ssthresh, r.stack.stats().dsacks_received);
    dsack(&mut r, una, una + 10_000, (0, 1));
    dsack(&mut r, una, una + 10_000, (2, 3));
    dsack(&mut r, una, una + 10_000, (0, 1));
    assert_eq!(r.stack.stats().dsacks_received, reduced.1 + 3, "all three counted as D-SACKs");
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    assert_eq!(r.stack.info(c).unwrap().ssthresh, reduced.0);
}

/// A D-SACK that comes before the recovery has retransmitted anything (here for
/// segment 2, which the network duplicated) has no retransmission to account for and
/// proves nothing: the recovery stands.
#[test]
fn a_dsack_before_the_recovery_retransmitted_anything_proves_nothing() {
    let (mut r, c, una) = fast_retransmit_queued();
    sack_ack_unpolled(&mut r, una, &[(2, 3), (1, 4)]);
    assert_eq!(r.stack.stats().dsacks_received, 1);
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    let info = r.stack.info(c).unwrap();
    assert!(info.ssthresh < u32::MAX, "the recovery's reduction stands");
    assert_eq!(retransmitted(&r.poll(), una), vec![0], "and retransmits");
}

/// D-SACKs come about a round trip after the resend they report. Ones that come more
/// than an RTO after the recovery's last retransmission belong to no recovery the
/// sender still remembers: the window that was reduced then has lived on since.
#[test]
fn dsacks_that_come_more_than_an_rto_after_the_last_resend_undo_nothing() {
    let (mut r, c, una, _) = two_resends_acknowledged_late(cfg(SERVER_IP));
    let reduced = r.stack.info(c).unwrap().ssthresh;
    dsack(&mut r, una, una + 10_000, (0, 1));
    r.advance(Duration::from_micros(RTO_US + 10_000));
    dsack(&mut r, una, una + 10_000, (4, 5));
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    assert_eq!(r.stack.info(c).unwrap().ssthresh, reduced);
}

/// A reduction after the recovery (here an RTO) is not the recovery's to undo: a
/// D-SACK that completes the recovery's proof afterwards leaves the window alone.
#[test]
fn a_timeout_after_the_recovery_forgets_it_and_dsacks_then_undo_nothing() {
    let (mut r, c, una, _) = two_resends_acknowledged_late(no_tlp());
    dsack(&mut r, una, una + 10_000, (0, 1));
    let (t1, more) = send_now(&mut r, c, 2000);
    assert_eq!(more.len(), 2);
    let rtx = r.advance_to(at(t1, RTO_US));
    assert_eq!(spans(&rtx, una), vec![(10_000, 1000)], "the timeout");
    let after = r.stack.info(c).unwrap();
    assert_eq!(after.cwnd, 1000, "the timeout's loss window");
    dsack(&mut r, una, una + 10_000, (4, 5));
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    let info = r.stack.info(c).unwrap();
    assert_eq!((info.cwnd, info.ssthresh), (after.cwnd, after.ssthresh));
}

/// An ECN-Echo after the recovery (RFC 3168 6.1.2) reduces the window again: that
/// reduction is not the recovery's to undo, so a D-SACK that completes the recovery's
/// proof afterwards leaves the window alone. (Without the echo, the same D-SACK undoes
/// it: `a_recovery_whose_every_retransmission_the_peer_reports_duplicate_is_undone`.)
#[test]
fn an_ecn_echo_after_the_recovery_forgets_it_and_dsacks_then_undo_nothing() {
    let ecn = TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR;
    let (mut r, c, una, _) = two_resends_acknowledged_late_with(cfg(SERVER_IP), ecn);
    assert!(r.stack.info(c).unwrap().ecn, "ECN negotiated");
    dsack(&mut r, una, una + 10_000, (0, 1));
    let (_, more) = send_now(&mut r, c, 2000);
    assert_eq!(more.len(), 2);
    let echo = r.hdr(r.snd_nxt, Some(una + 11_000), TcpFlags::ACK | TcpFlags::ECE, 65_535);
    r.send(echo, &[]);
    assert_eq!(r.stack.stats().ecn_reductions, 1);
    let after = r.stack.info(c).unwrap();
    dsack(&mut r, una, una + 11_000, (4, 5));
    assert_eq!(r.stack.stats().recoveries_undone, 0);
    let info = r.stack.info(c).unwrap();
    assert_eq!((info.cwnd, info.ssthresh), (after.cwnd, after.ssthresh));
}

// ----- Eifel detection: the echoed timestamp tells which copy arrived (RFC 3522) ------

/// The peer's TSval, constant (PAWS passes: never older than TS.Recent).
const PEER_TSVAL: u32 = 7_000;

/// `h` with the peer's timestamps, echoing `ecr`.
fn ts(mut h: TcpHeader, ecr: u32) -> TcpHeader {
    h.options.timestamps = Some(Timestamps { val: PEER_TSVAL, ecr });
    h
}

/// The TSval a segment the stack sent carries.
fn tsval(g: &RawSeg) -> u32 {
    g.hdr.options.timestamps.expect("timestamps in use").val
}

/// [`sender`] with timestamps negotiated (RFC 7323): every segment of the peer carries
/// them.
fn ts_sender(cfg_b: Config) -> (RawPeer, ConnId) {
    let (mut r, l) = raw_server(cfg_b);
    let mut syn = r.hdr(r.snd_nxt, None, TcpFlags::SYN, 65_535);
    // MSS 1012: 1000 bytes of data per segment beside the 12 of the timestamps option.
    syn.options = TcpOptions {
        mss: Some(1012),
        sack_permitted: true,
        timestamps: Some(Timestamps { val: PEER_TSVAL, ecr: 0 }),
        ..TcpOptions::NONE
    };
    let out = r.send(syn, &[]);
    let synack = out.iter().find(|g| g.flags().syn()).expect("SYN,ACK").clone();
    r.snd_nxt += 1;
    r.rcv_nxt = synack.seq() + 1;
    r.advance(SRTT);
    let ack = ts(r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::ACK, 65_535), tsval(&synack));
    r.send(ack, &[]);
    let c = r.stack.accept(l).unwrap();
    assert!(r.stack.info(c).unwrap().timestamps);
    (r, c)
}

/// An ACK of `ack` with SACK blocks in segments above `una`, echoing `ecr`.
fn ts_sack_ack(r: &mut RawPeer, una: SeqNum, ack: SeqNum, blocks: &[(u32, u32)], ecr: u32) -> Vec<RawSeg> {
    let mut h = ts(r.hdr(r.snd_nxt, Some(ack), TcpFlags::ACK, 65_535), ecr);
    for (i, &(a, b)) in blocks.iter().enumerate() {
        h.options.sack[i] = SackBlock { left: una + a * 1000, right: una + b * 1000 };
    }
    h.options.sack_len = blocks.len() as u8;
    r.send(h, &[])
}

/// A window of ten (TSval A), then, a round trip later, the first segment overtaken
/// by three: its fast retransmit (TSval B, later than A). `before` is how the stack
/// had sent that segment already (none, or a loss probe). Returns the peer, the
/// connection, SND.UNA, A and B.
fn ts_fast_retransmit(cfg_b: Config, probed_before: bool) -> (RawPeer, ConnId, SeqNum, u32, u32) {
    let (mut r, c) = ts_sender(cfg_b);
    let (una, a) = if probed_before {
        let (t0, first) = send_now(&mut r, c, 1000);
        let probe = r.advance_to(at(t0, RTO_US));
        assert_eq!(probe.iter().map(RawSeg::seq).collect::<Vec<_>>(), vec![first[0].seq()], "a probe");
        let (_, more) = send_now(&mut r, c, 9000);
        assert_eq!(more.len(), 9);
        (first[0].seq(), tsval(&more[0]))
    } else {
        let (_, flight) = send_now(&mut r, c, 10_000);
        (flight[0].seq(), tsval(&flight[0]))
    };
    r.advance(SRTT);
    ts_sack_ack(&mut r, una, una, &[(1, 2)], a);
    ts_sack_ack(&mut r, una, una, &[(1, 3)], a);
    let rtx = ts_sack_ack(&mut r, una, una, &[(1, 4)], a);
    assert_eq!(retransmitted(&rtx, una), vec![0], "fast retransmit");
    let b = tsval(&rtx[0]);
    assert!(a < b, "{a} {b}");
    (r, c, una, a, b)
}

/// RFC 3522: the ACK that covers the retransmitted segment echoes the original's TSval
/// (the receiver echoes the segment that filled its hole, RFC 7323 4.3): the original
/// arrived, late, and the recovery is undone - here a whole round trip after the
/// retransmission, too late for the time test. Echoing the retransmission's TSval,
/// the same ACK leaves the recovery standing.
#[test]
fn an_ack_echoing_the_original_timestamp_undoes_the_recovery_however_late() {
    for (echo_original, undone) in [(true, 1), (false, 0)] {
        let (mut r, _, una, a, b) = ts_fast_retransmit(cfg(SERVER_IP), false);
        r.advance(SRTT + SRTT);
        ts_sack_ack(&mut r, una, una + 4000, &[], if echo_original { a } else { b });
        assert_eq!(r.stack.stats().recoveries_undone, undone, "echoing the original: {echo_original}");
    }
}

/// RFC 6582 3.2 step 5 resends the segment at SND.UNA on a partial ACK: it takes the
/// ACK for the retransmission's, so the next hole must be lost too. A partial ACK that
/// echoes a timestamp from before the recovery's first retransmission answers an
/// original instead - late data, no repair - and the segment at the new SND.UNA, sent
/// after it, may well be on its way: it is not resent. (The segment here had been
/// sent twice before, by a loss probe, so the recovery cannot be undone and stays.)
/// Without PRR: this is about which segment the partial ACK marks, not when it
/// leaves, and here PRR's budget (RFC 6937) would hold the resend until the next ACK
/// (the pipe, five segments, is not below ssthresh, five).
#[test]
fn a_partial_ack_echoing_an_original_resends_nothing() {
    for (echo, resent) in [("original", vec![]), ("retransmission", vec![4])] {
        let (mut r, _, una, a, b) = ts_fast_retransmit(Config { prr: false, ..cfg(SERVER_IP) }, true);
        r.advance(SRTT);
        let ecr = if echo == "original" { a } else { b };
        let out = ts_sack_ack(&mut r, una, una + 4000, &[], ecr);
        assert_eq!(r.stack.stats().recoveries_undone, 0);
        assert_eq!(retransmitted(&out, una), resent, "echoing the {echo}");
    }
}

// ----- F-RTO: a spurious timeout skips the resend (RFC 5682) -----------------------

/// Ten segments in flight and ten more queued; no ACK comes (a delay spike, or loss),
/// and the RTO fires: SND.UNA alone is retransmitted (RFC 5682 step 1). Returns the
/// peer, the connection and SND.UNA.
fn frto_timed_out(cfg_b: Config) -> (RawPeer, ConnId, SeqNum) {
    let (mut r, c) = sender(cfg_b);
    let (flight, _) = time_out(&mut r, c, 20_000, false);
    (r, c, flight[0].seq())
}

/// `bytes` sent at once (the initial window of ten segments in flight, the rest
/// queued), the application's side closed too if `shutdown`, then no ACK until the
/// RTO fires and resends SND.UNA alone (RFC 5682 step 1). Returns the flight and
/// the retransmission.
fn time_out(r: &mut RawPeer, c: ConnId, bytes: usize, shutdown: bool) -> (Vec<RawSeg>, Vec<RawSeg>) {
    let (t0, flight) = send_now(r, c, bytes);
    assert_eq!(flight.len(), 10, "the initial window");
    if shutdown {
        r.stack.shutdown(c).unwrap();
        assert_eq!(r.stack.state(c), synack::State::FinWait1);
    }
    let una = flight[0].seq();
    let rtx = r.advance_to(at(t0, RTO_US));
    assert_eq!(spans(&rtx, una), vec![(0, 1000)], "the timeout resends SND.UNA alone");
    (flight, rtx)
}

/// RFC 5682 steps 2b and 3b. The first ACK after the timeout covers the retransmitted
/// segment and more: two new segments go out instead of a resend from SND.UNA. The
/// second ACK acknowledges data that was never retransmitted: the originals were
/// only late, the timeout was spurious, and the rest of the window is not resent.
#[test]
fn after_a_spurious_timeout_f_rto_sends_new_data_and_resends_nothing() {
    let (mut r, c, una) = frto_timed_out(no_tlp());
    let out = r.send_ack(una + 2000, 65_535);
    assert_eq!(spans(&out, una), vec![(10_000, 1000), (11_000, 1000)], "two new segments");
    let mut out = r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    for k in 5..=12 {
        out.extend(r.send_ack(una + k * 1000, 65_535));
    }
    assert!(spans(&out, una).iter().all(|&(off, _)| off >= 12_000), "new data only: {:?}", spans(&out, una));
    assert_eq!(r.stack.info(c).unwrap().retransmissions, 1, "the timeout's one");
}

/// The first segment is lost and its repair waits in a long queue behind the other
/// nine, so the timer fires while they are still on their way: duplicate ACKs SACKing
/// them (one more each) arrive at step 2, before the ACK of the retransmission, then
/// the ACK that the repair brings covers all four. Returns the segments sent after
/// each of those ACKs.
fn dupacks_at_step_2(cfg_b: Config) -> (RawPeer, SeqNum, Vec<Vec<RawSeg>>) {
    let sack = cfg_b.sack;
    let (mut r, _, una) = frto_timed_out(cfg_b);
    let mut sent: Vec<Vec<RawSeg>> = (2..=4)
        .map(|k| if sack { sack_ack(&mut r, una, &[(1, k)], 65_535) } else { r.send_ack(una, 65_535) })
        .collect();
    sent.push(r.send_ack(una + 4000, 65_535));
    (r, una, sent)
}

/// RFC 5682 3, the SACK-enhanced F-RTO (paraphrased: its text is not in `../shared`):
/// duplicate ACKs that arrive before the ACK of the segment the timeout retransmitted
/// update the scoreboard, and F-RTO stays at step 2 waiting for that ACK. Here they
/// come from originals sent before the timeout and still arriving, so when the ACK of
/// the repair comes, F-RTO goes on to step 2b (two new segments, not the resend of
/// segments 4 and 5, which are on their way), and the next ACK of originals shows the
/// timeout spurious.
#[test]
fn with_sack_duplicate_acks_before_the_ack_of_the_retransmission_leave_f_rto_waiting() {
    let (mut r, una, sent) = dupacks_at_step_2(no_tlp());
    assert!(sent[..3].iter().all(Vec::is_empty), "nothing sent on the duplicates: {sent:?}");
    assert_eq!(spans(&sent[3], una), vec![(10_000, 1000), (11_000, 1000)], "step 2b: two new segments");
    let out = r.send_ack(una + 6000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert!(spans(&out, una).iter().all(|&(off, _)| off >= 12_000), "new data only: {:?}", spans(&out, una));
}

/// Without SACK, F-RTO is RFC 5682 2.1's basic algorithm: a duplicate ACK at step 2
/// ends it (step 2a), and the ACK of the retransmission resumes the resend from SND.UNA
/// in slow start - which shows the test above can fail.
#[test]
fn without_sack_a_duplicate_ack_at_step_2_makes_the_recovery_conventional() {
    let (r, una, sent) = dupacks_at_step_2(Config { sack: false, ..no_tlp() });
    assert_eq!(spans(&sent[3], una), vec![(4000, 1000), (5000, 1000)], "the resend from SND.UNA");
    assert_eq!(r.stack.stats().spurious_timeouts, 0);
}

/// A sender that wrote its data and closed its side is in FIN-WAIT-1 while the data
/// still goes out (RFC 9293 3.10.4: the FIN waits "until all preceding SENDs have been
/// segmentized"), as a server is that writes a whole response and closes. F-RTO works
/// there as in ESTABLISHED: two new segments at step 2b, the timeout found spurious.
#[test]
fn f_rto_works_after_the_application_closed_with_data_still_queued() {
    let (mut r, c) = sender(no_tlp());
    let (flight, _) = time_out(&mut r, c, 20_000, true);
    let una = flight[0].seq();
    let out = r.send_ack(una + 2000, 65_535);
    assert_eq!(spans(&out, una), vec![(10_000, 1000), (11_000, 1000)], "step 2b: two new segments");
    let out = r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert!(spans(&out, una).iter().all(|&(off, _)| off >= 12_000), "new data only: {:?}", spans(&out, una));
}

/// [`frto_timed_out`] with timestamps: ten segments in flight (TSval `a`), `queued`
/// bytes more behind them, and the timeout's retransmission of SND.UNA (TSval `b`,
/// later). Returns the peer, the connection, SND.UNA, `a` and `b`.
fn ts_timed_out(queued: usize) -> (RawPeer, ConnId, SeqNum, u32, u32) {
    let (mut r, c) = ts_sender(no_tlp());
    let (flight, rtx) = time_out(&mut r, c, 10_000 + queued, false);
    let (una, a, b) = (flight[0].seq(), tsval(&flight[0]), tsval(&rtx[0]));
    assert!(b > a);
    (r, c, una, a, b)
}

/// Eifel detection at F-RTO's step 2 (RFC 3522, paraphrased): the first ACK of the
/// retransmitted segment echoes the TSval of the originals, so they arrived and the
/// timeout was spurious - found at once, a round trip before step 3 would find it.
/// Nothing is resent; new data follows, and ssthresh is back.
#[test]
fn an_ack_of_the_timeouts_retransmission_echoing_the_original_shows_it_spurious_at_once() {
    let (mut r, c, una, a, _) = ts_timed_out(10_000);
    let out = ts_sack_ack(&mut r, una, una + 4000, &[], a);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert_eq!(r.stack.info(c).unwrap().ssthresh, u32::MAX, "the ssthresh of before the timeout");
    let mut sent = spans(&out, una);
    sent.extend(spans(&ts_sack_ack(&mut r, una, una + 6000, &[], a), una));
    assert!(sent.iter().all(|&(off, _)| off >= 10_000), "new data only: {sent:?}");
}

/// Eifel reads the ACK of the retransmitted segment, not an earlier one: an ACK of half
/// of it, echoing the originals' TSval, is an ACK sent before the timeout's
/// retransmission could arrive (step 2a: the recovery stays conventional).
#[test]
fn an_ack_of_part_of_the_timeouts_retransmission_proves_nothing() {
    let (mut r, _, una, a, _) = ts_timed_out(10_000);
    ts_sack_ack(&mut r, una, una + 500, &[], a);
    assert_eq!(r.stack.stats().spurious_timeouts, 0);
    let out = ts_sack_ack(&mut r, una, una + 2000, &[], a);
    assert_eq!(spans(&out, una).first(), Some(&(2000, 1000)), "the resend from SND.UNA: {out:?}");
}

/// The same ACK echoing the retransmission's own TSval: the retransmission filled the
/// hole, so Eifel proves nothing, and F-RTO goes on to step 2b as before.
#[test]
fn an_ack_echoing_the_timeouts_retransmission_leaves_f_rto_at_step_2b() {
    let (mut r, _, una, _, b) = ts_timed_out(10_000);
    let out = ts_sack_ack(&mut r, una, una + 4000, &[], b);
    assert_eq!(r.stack.stats().spurious_timeouts, 0);
    assert_eq!(spans(&out, una), vec![(10_000, 1000), (11_000, 1000)], "step 2b: two new segments");
}

/// With nothing more to send, step 2b cannot run and basic F-RTO would resend from
/// SND.UNA: data the receiver holds. Eifel detection still finds the timeout spurious,
/// and nothing goes again.
#[test]
fn eifel_detection_finds_a_spurious_timeout_with_no_new_data_to_send() {
    let (mut r, _, una, a, b) = ts_timed_out(0);
    let out = ts_sack_ack(&mut r, una, una + 4000, &[], a);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert!(spans(&out, una).is_empty(), "nothing resent: {:?}", spans(&out, una));
    // Without the proof, the resend from SND.UNA: what the test above avoids.
    let (mut r, _, una, _, b2) = ts_timed_out(0);
    assert_eq!(b2, b);
    let out = ts_sack_ack(&mut r, una, una + 4000, &[], b);
    assert_eq!(spans(&out, una), vec![(4000, 1000), (5000, 1000)], "slow start from SND.UNA");
}

/// The response to a spurious timeout: ssthresh returns to its value before the
/// timeout halved it (RFC 4015's restoring of the congestion state; Linux does the
/// same). Here the connection was in slow start, ssthresh unbounded.
#[test]
fn a_timeout_f_rto_finds_spurious_gives_back_the_ssthresh_it_halved() {
    let (mut r, c, una) = frto_timed_out(no_tlp());
    assert!(r.stack.info(c).unwrap().ssthresh < u32::MAX, "the timeout halved it");
    r.send_ack(una + 2000, 65_535);
    r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert_eq!(r.stack.info(c).unwrap().ssthresh, u32::MAX);
}

/// The same with a finite ssthresh, set by a fast recovery before: the spurious
/// timeout gives back that one, not more.
#[test]
fn a_spurious_timeout_after_a_recovery_gives_back_the_recoverys_ssthresh() {
    let (mut r, c, una, t, _) = spurious_start(no_tlp());
    r.advance_to(t + SRTT);
    r.send_ack(una + 10_000, 65_535);
    let ssthresh = r.stack.info(c).unwrap().ssthresh;
    assert!(ssthresh < u32::MAX, "{ssthresh}");
    // Slow start up to that ssthresh: four ACKs of one segment each.
    r.stack.send(c, &pattern(20_000, 1)).unwrap();
    r.poll();
    for k in 1..=4 {
        r.send_ack(una + 10_000 + k * 1000, 65_535);
    }
    let (t1, una) = (r.now, una + 14_000);
    assert!(r.stack.info(c).unwrap().bytes_in_flight >= 4000);
    let rtx = r.advance_to(at(t1, RTO_US));
    assert_eq!(spans(&rtx, una), vec![(0, 1000)], "the timeout");
    assert!(r.stack.info(c).unwrap().ssthresh < ssthresh, "halved");
    r.send_ack(una + 2000, 65_535);
    r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    assert_eq!(r.stack.info(c).unwrap().ssthresh, ssthresh);
}

/// RFC 5682 step 3a: when the second ACK is a duplicate (the new segments arrived above
/// a hole), the timeout was real: the resend from SND.UNA starts, with a window of at
/// most three segments.
#[test]
fn after_a_real_timeout_f_rto_resends_from_snd_una_once_a_duplicate_ack_comes() {
    let (mut r, c, una) = frto_timed_out(no_tlp());
    let out = r.send_ack(una + 1000, 65_535);
    assert_eq!(spans(&out, una), vec![(10_000, 1000), (11_000, 1000)]);
    let out = sack_ack(&mut r, una + 1000, &[(9, 10)], 65_535);
    assert_eq!(spans(&out, una).first(), Some(&(1000, 1000)), "the resend from SND.UNA: {out:?}");
    assert!(r.stack.info(c).unwrap().cwnd <= 3000);
    assert_eq!(r.stack.stats().spurious_timeouts, 0);
    assert!(r.stack.info(c).unwrap().ssthresh < u32::MAX, "a real timeout's ssthresh stays halved");
}

/// Step 2b needs new data to send: with nothing queued beyond the window, the
/// recovery is the conventional one (slow start from SND.UNA).
#[test]
fn without_new_data_to_send_the_timeout_recovery_is_the_conventional_one() {
    let (mut r, c) = sender(no_tlp());
    let (flight, _) = time_out(&mut r, c, 10_000, false);
    let una = flight[0].seq();
    let out = r.send_ack(una + 1000, 65_535);
    assert_eq!(spans(&out, una), vec![(1000, 1000), (2000, 1000)], "slow start from SND.UNA");
}

/// `Config::frto` off: the resend from SND.UNA at once, new data queued or not -
/// which shows the tests above can fail.
#[test]
fn with_f_rto_off_the_first_ack_after_a_timeout_resumes_the_resend() {
    let (mut r, _, una) = frto_timed_out(Config { frto: false, ..no_tlp() });
    let out = r.send_ack(una + 2000, 65_535);
    assert_eq!(spans(&out, una), vec![(2000, 1000), (3000, 1000)]);
}

/// A delay spike longer than two RTOs: the timer fires again while F-RTO waits for its
/// first ACK (the RTO backed off, SND.UNA resent once more). F-RTO goes on, and the late
/// ACKs still show the timeout spurious.
#[test]
fn f_rto_survives_a_second_timeout_in_the_same_spike() {
    let (mut r, c, una) = frto_timed_out(no_tlp());
    let rtx = r.advance(Duration::from_micros(2 * RTO_US));
    assert_eq!(spans(&rtx, una), vec![(0, 1000)], "the second timeout, backed off");
    assert_eq!(spans(&r.send_ack(una + 2000, 65_535), una), vec![(10_000, 1000), (11_000, 1000)]);
    r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    let ssthresh = r.stack.info(c).unwrap().ssthresh;
    assert_eq!(ssthresh, u32::MAX, "the ssthresh of before the first timeout, not the second's");
}

/// Once the timeout is found spurious, RTO recovery is over (RFC 5682 3b sets
/// "recover" to SND.UNA): duplicate ACKs for the rest of the old window count again,
/// and three start a fast retransmit (they would be ignored as the resend's echoes,
/// RFC 6582 4, while RTO recovery lasted).
#[test]
fn after_a_spurious_timeout_duplicate_acks_start_fast_recovery_again() {
    let (mut r, _, una) = frto_timed_out(no_tlp());
    r.send_ack(una + 2000, 65_535);
    r.send_ack(una + 4000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 1);
    let rtx: Vec<RawSeg> =
        [(5, 6), (5, 7), (5, 8)].iter().flat_map(|&b| sack_ack(&mut r, una + 4000, &[b], 65_535)).collect();
    assert_eq!(retransmitted(&rtx, una), vec![4], "fast retransmit of SND.UNA");
}

/// Step 2a: a first ACK that does not cover all the timeout retransmitted (here half
/// the segment), or that covers everything sent before the timeout, leaves the
/// recovery conventional: no new segments in place of the resend, no verdict.
#[test]
fn a_first_ack_of_part_of_the_retransmission_or_of_everything_leaves_the_recovery_conventional() {
    let (mut r, _, una) = frto_timed_out(no_tlp());
    r.send_ack(una + 500, 65_535);
    let out = r.send_ack(una + 2000, 65_535);
    assert_eq!(spans(&out, una).first(), Some(&(2000, 1000)), "the resend from SND.UNA: {out:?}");
    let (mut r, c, una) = frto_timed_out(no_tlp());
    r.send_ack(una + 10_000, 65_535);
    r.send_ack(una + 11_000, 65_535);
    assert_eq!(r.stack.stats().spurious_timeouts, 0, "everything was acknowledged at once");
    // And F-RTO is over: a duplicate ACK now is an ordinary one (no window cut to 3
    // segments, no resend from SND.UNA).
    let cwnd = r.stack.info(c).unwrap().cwnd;
    let out = sack_ack(&mut r, una + 11_000, &[(12, 13)], 65_535);
    assert!(spans(&out, una).iter().all(|&(off, _)| off >= 13_000), "{:?}", spans(&out, una));
    assert!(r.stack.info(c).unwrap().cwnd >= cwnd, "cwnd {cwnd} kept");
}

// ----- Proportional Rate Reduction (RFC 6937) --------------------------------------

/// Twenty segments in flight (initial window 20, Limited Transmit off so that only
/// recovery sends) and ten more queued; the peer's ACKs then SACK, one segment more
/// each, the segments from `first_sacked` on. Returns, for each ACK k = 1, 2, ... (by
/// index k - 1), the segments sent in answer, as offsets from SND.UNA in segments.
fn sacked_one_by_one(prr: bool, first_sacked: u32) -> Vec<Vec<u32>> {
    sacked_one_by_one_with(Config { prr, ..cfg(SERVER_IP) }, first_sacked)
}

fn sacked_one_by_one_with(cfg_b: Config, first_sacked: u32) -> Vec<Vec<u32>> {
    let cfg_b = Config { initial_window: 20, limited_transmit: false, ..cfg_b };
    let (mut r, c) = sender(cfg_b);
    let (_, flight) = send_now(&mut r, c, 30_000);
    assert_eq!(flight.len(), 20);
    let una = flight[0].seq();
    (first_sacked + 1..=20)
        .map(|top| {
            let out = sack_ack(&mut r, una, &[(first_sacked, top)], 65_535);
            out.iter().filter(|g| !g.payload.is_empty()).map(|g| g.seq().since(una) / 1000).collect()
        })
        .collect()
}

/// RFC 6937 3.1's first example, one segment lost from a window of 20 (Reno: ssthresh
/// 10, RecoverFS 20). The third duplicate ACK starts recovery with the fast
/// retransmit, which spends PRR's first budget. From then on, while the pipe is above
/// ssthresh, "sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out": half a
/// segment per segment delivered, so one new segment for every second ACK (ACKs 7, 9,
/// 11; ACK 13 finds the pipe at ssthresh and sends nothing). Below it, PRR-SSRB:
/// "sndcnt = MIN(ssthresh - pipe, limit)", one segment per ACK, holding the pipe at
/// ssthresh (ACKs 14 to 19). The recovery ends with ten segments in flight: ssthresh,
/// "as close as possible" (RFC 6937 1).
///
/// Without PRR, RFC 5681's inflated window (ssthresh + 3, then one more per duplicate
/// ACK) sends nothing until it passes the flight of 20, at ACK 11, then one per ACK:
/// the same ten segments, but the first half of the round trip silent and the second
/// a burst.
#[test]
fn prr_spreads_the_reduction_of_a_single_loss_over_the_round_trip() {
    let none: Vec<u32> = vec![];
    let mut want = vec![none.clone(); 19];
    want[2] = vec![0];
    for (k, seg) in [(7, 20), (9, 21), (11, 22), (14, 23), (15, 24), (16, 25), (17, 26), (18, 27), (19, 28)] {
        want[k - 1] = vec![seg];
    }
    assert_eq!(sacked_one_by_one(true, 1), want, "PRR");
    // Half a segment's budget waits for the next ACK rather than sending half a
    // segment (sender SWS avoidance, RFC 9293 3.8.6.2.1), with or without Nagle's
    // algorithm.
    let no_nagle = sacked_one_by_one_with(Config { nagle: false, ..cfg(SERVER_IP) }, 1);
    assert_eq!(no_nagle, want, "PRR without Nagle");
    let mut want = vec![none; 19];
    want[2] = vec![0];
    for k in 11..=19 {
        want[k - 1] = vec![k as u32 + 9];
    }
    assert_eq!(sacked_one_by_one(false, 1), want, "RFC 5681 and 6675 without PRR");
}

/// RFC 6937 3.1's second example, a burst: the first ten segments of the twenty lost.
/// When recovery starts (the third ACK) the pipe, seven segments above the holes, is
/// already below ssthresh (ten). While duplicate ACKs keep coming, PRR only conserves
/// packets, "MAX(prr_delivered - prr_out, DeliveredData)": one hole per ACK, as
/// without PRR. Then the retransmissions are acknowledged: partial ACKs that advance
/// SND.UNA and show no further loss, on which RFC 9937 allows the Slow Start Reduction
/// Bound's extra segment. The first sends the last two holes at once, the second two
/// new segments; from the third the pipe is at ssthresh and each ACK sends one.
///
/// Without PRR the window inflated by every duplicate ACK (RFC 5681 3.2: ssthresh + 3,
/// then one more each: 20) and deflated by each partial ACK less one segment (RFC 6582
/// 3.2 step 5) lets one new segment go per partial ACK, beside the one hole per ACK:
/// the last two holes take two ACKs, each with a new segment, and the repair ends an
/// ACK later.
#[test]
fn prr_conserves_packets_while_losses_come_to_light_and_catches_up_on_safe_acks() {
    let run = |prr: bool| {
        let cfg_b = Config { prr, initial_window: 20, limited_transmit: false, ..cfg(SERVER_IP) };
        let (mut r, c) = sender(cfg_b);
        let (_, flight) = send_now(&mut r, c, 30_000);
        assert_eq!(flight.len(), 20);
        let una = flight[0].seq();
        let segs = |out: Vec<RawSeg>| -> Vec<u32> {
            out.iter().filter(|g| !g.payload.is_empty()).map(|g| g.seq().since(una) / 1000).collect()
        };
        let mut sent: Vec<Vec<u32>> =
            (11..=20).map(|top| segs(sack_ack(&mut r, una, &[(10, top)], 65_535))).collect();
        for k in 1..=4u32 {
            sent.push(segs(sack_ack(&mut r, una + k * 1000, &[(10 - k, 20 - k)], 65_535)));
        }
        // Then a partial ACK that also SACKs 21 to 23 above a new hole at 20, now deemed
        // lost: no safe ACK, no extra segment. The next partial ACK shows nothing new
        // lost, and has it again.
        for k in 5..=6u32 {
            sent.push(segs(sack_ack(&mut r, una + k * 1000, &[(10 - k, 20 - k), (21 - k, 24 - k)], 65_535)));
        }
        let info = r.stack.info(c).unwrap();
        (sent, info.ssthresh)
    };
    let (prr, ssthresh) = run(true);
    assert_eq!(ssthresh, 10_000);
    let mut want: Vec<Vec<u32>> = vec![vec![], vec![], vec![0]];
    want.extend((1..8).map(|h| vec![h]));
    want.extend([vec![8, 9], vec![20, 21], vec![22], vec![23]]);
    // 5th partial ACK: the pipe is 5 (the resends of 5 to 9), MAX(prr_delivered -
    // prr_out, DeliveredData) is the 4 segments it reported: the hole and 3 new ones.
    // 6th: pipe 8, the 1 delivered plus the safe ACK's 1.
    want.extend([vec![20, 24, 25, 26], vec![27, 28]]);
    assert_eq!(prr, want, "PRR");
    let (plain, _) = run(false);
    assert_eq!(plain[..10], want[..10], "the duplicate ACKs, without PRR");
    assert_eq!(
        plain[10..14],
        [vec![8, 20], vec![9, 21], vec![22], vec![23]],
        "the partial ACKs, without PRR"
    );
}

/// The segment at SND.UNA after a partial ACK had been retransmitted as a hole, and
/// that retransmission was lost. Data sent after the partial ACK and SACKed while
/// SND.UNA is not shows it (as for a fast retransmit's retransmission, RFC 8985 6.2's
/// rule with sequence numbers for send times): the first such segment SACKed, on a
/// connection that has seen no reordering, sends SND.UNA again at once, not at the
/// retransmission timeout.
#[test]
fn a_lost_retransmission_of_a_hole_is_resent_once_later_data_is_sacked() {
    for prr in [false, true] {
        let cfg_b = Config { prr, initial_window: 20, limited_transmit: false, ..cfg(SERVER_IP) };
        let (mut r, c) = sender(cfg_b);
        let (_, flight) = send_now(&mut r, c, 40_000);
        assert_eq!(flight.len(), 20);
        let una = flight[0].seq();
        let segs = |out: &[RawSeg]| -> Vec<u32> {
            out.iter().filter(|g| !g.payload.is_empty()).map(|g| g.seq().since(una) / 1000).collect()
        };
        // Segments 0 and 4 lost; the others SACKed one by one.
        let mut sent = Vec::new();
        for top in [2, 3, 4] {
            sent.extend(segs(&sack_ack(&mut r, una, &[(1, top)], 65_535)));
        }
        for top in 6..=20 {
            sent.extend(segs(&sack_ack(&mut r, una, &[(5, top), (1, 4)], 65_535)));
        }
        assert_eq!(sent[..2], [0, 4], "PRR {prr}: the fast retransmit, then the hole: {sent:?}");
        // 0's retransmission arrives: a partial ACK up to 4, whose retransmission is lost.
        let mark = 20 + sent.iter().filter(|&&s| s >= 20).count() as u32;
        let after = segs(&sack_ack(&mut r, una + 4000, &[(1, 16)], 65_535));
        assert_eq!(after, vec![mark], "PRR {prr}: new data after the partial ACK");
        // The ACKs then SACK what was sent up to the partial ACK and, one more each
        // time, what was sent after it: the first of those proves 4's resend lost.
        let resent_at = (1..=4u32).find(|j| {
            let out = segs(&sack_ack(&mut r, una + 4000, &[(1, mark - 4 + j)], 65_535));
            out.contains(&4)
        });
        assert_eq!(resent_at, Some(1), "PRR {prr}");
    }
}

// ----- ECN after a PRR recovery ----------------------------------------------------

/// RFC 3168 6.1.2: "the TCP sender SHOULD NOT increase the congestion window in
/// response to the receipt of an ECN-Echo ACK packet", and "the value of the
/// congestion window is bounded below by a value of one MSS". A PRR recovery of a
/// lone segment spends its budget on the fast retransmit (cwnd = the flight, one
/// segment, minus the retransmission: zero); the ACK that ends the recovery carries an
/// echo. The window stays at one MSS, not zero, so the next new segment can leave
/// (after the echo's hold, 6.1.2) carrying the CWR that ends the peer's echo.
#[test]
fn an_echo_that_ends_a_prr_recovery_leaves_one_segment_of_window_and_new_data_carries_cwr() {
    let (mut r, c) = sender_with(cfg(SERVER_IP), TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR);
    assert!(r.stack.info(c).unwrap().ecn, "ECN negotiated");
    // A SACK block once (the 3rd of 3 segments while the 1st and 2nd are late) gives
    // the connection its scoreboard, which PRR needs; then everything arrives.
    let (_, flight) = send_now(&mut r, c, 3000);
    let una = flight[0].seq();
    sack_ack(&mut r, una, &[(2, 3)], 65_535);
    r.send_ack(una + 3000, 65_535);
    // One segment out; three duplicate ACKs: fast recovery, the segment resent.
    let (_, one) = send_now(&mut r, c, 1000);
    assert_eq!(one.len(), 1);
    let una = one[0].seq();
    let resent: Vec<RawSeg> = (0..3).flat_map(|_| r.send_ack(una, 65_535)).collect();
    assert_eq!(retransmitted(&resent, una), vec![0], "fast retransmit");
    // The echo ends the recovery.
    r.stack.send(c, &pattern(1000, 3)).unwrap();
    let echo = r.hdr(r.snd_nxt, Some(una + 1000), TcpFlags::ACK | TcpFlags::ECE, 65_535);
    r.send(echo, &[]);
    let info = r.stack.info(c).unwrap();
    assert_eq!(info.cwnd, 1000, "bounded below by one MSS: {info:?}");
    // Held until the retransmission timer expires (the window is one segment), then
    // the new segment goes, with CWR.
    let out = r.advance(Duration::from_micros(RTO_US));
    let first =
        out.iter().find(|g| !g.payload.is_empty()).map(|g| (g.seq(), g.flags().contains(TcpFlags::CWR)));
    assert_eq!(first, Some((una + 1000, true)), "the new segment, with CWR");
}
