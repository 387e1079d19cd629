//! Explicit Congestion Notification (RFC 3168), which "A TCP endpoint SHOULD
//! implement" (RFC 9293 3.8.2, SHLD-8): the negotiation in the SYNs (6.1.1), the
//! codepoints of what the stack sends (6.1.2, 6.1.4, 6.1.5), the receiver's echo of a
//! congestion mark (6.1.3) and the sender's response to the echo (6.1.2). Each test
//! drives one stack with hand-made segments from a fake remote (`common::inject`).

mod common;

use common::inject::*;
use synack::wire::{TcpFlags, ECN_CE, ECN_ECT0};
use synack::{Config, CongestionControl, Duration, Ecn, State};

const E: TcpFlags = TcpFlags::ECE;
const W: TcpFlags = TcpFlags::CWR;

/// An "ECN-setup SYN packet": "a SYN packet with the ECE and CWR flags set" (6.1.1).
fn ecn_setup_syn() -> Seg {
    Seg::new(S | E | W, REMOTE_ISS, 0).mss(1460)
}

/// ESTABLISHED by a passive open whose SYN was `syn`, accepted: returns the peer and
/// the flags of the stack's SYN,ACK.
fn passive_open(cfg: Config, syn: Seg) -> (Peer, TcpFlags) {
    let mut p = Peer::listen_with(cfg);
    let synack = only(p.feed(syn));
    assert_eq!(synack.ecn, 0, "6.1.1: no ECT on a SYN,ACK: {synack:?}");
    p.stack_iss = synack.seq;
    p.acked = synack.seq;
    p.nxt = REMOTE_ISS.wrapping_add(1);
    assert_silent(&p.feed(p.seg(A)));
    p.acked = p.seen;
    let l = p.listener.expect("listener");
    p.conn = Some(p.stack.accept(l).expect("accepted"));
    p.assert_state(State::Established);
    (p, synack.flags)
}

/// A connection that negotiated ECN (passive side), ACKs not delayed.
fn ecn_connection(cfg: Config) -> Peer {
    let (p, flags) = passive_open(cfg, ecn_setup_syn());
    assert_eq!(flags, SA | E);
    assert!(p.stack.info(p.c()).expect("info").ecn);
    p
}

/// The remote sends `data` (marked with `codepoint`, with `extra` flags), acknowledging
/// no more than before; returns the stack's answer.
fn remote_sends(p: &mut Peer, data: &[u8], codepoint: u8, extra: TcpFlags) -> Out {
    let seg = p.seg(PA | extra).ack(p.acked).data(data).ecn(codepoint);
    let out = only(p.feed(seg));
    p.nxt = p.nxt.wrapping_add(data.len() as u32);
    assert_eq!(p.read_all(), data);
    out
}

/// The application sends `data`; returns the segments that leave.
fn app_sends(p: &mut Peer, data: &[u8]) -> Vec<Out> {
    assert_eq!(p.stack.send(p.c(), data), Ok(data.len()));
    p.flush()
}

/// Reno, and no Nagle: every `send` goes out at once.
fn reno() -> Config {
    Config { congestion_control: CongestionControl::Reno, nagle: false, ..inject_config() }
}

#[test]
fn an_ecn_setup_syn_gets_an_ecn_setup_syn_ack_by_default() {
    // 6.1.1: the SYN-ACK "with the ECE flag set but the CWR flag not set".
    let (_, flags) = passive_open(inject_config(), ecn_setup_syn());
    assert_eq!(flags, SA | E);
}

#[test]
fn a_syn_without_both_ece_and_cwr_gets_a_plain_syn_ack() {
    // Only ECE and CWR together make an ECN-setup SYN; "If a host has received an
    // ECN-setup SYN packet, then it MAY send an ECN-setup SYN-ACK packet. Otherwise, it
    // MUST NOT send an ECN-setup SYN-ACK packet."
    for flags in [S, S | E, S | W] {
        let (_, answer) = passive_open(inject_config(), Seg::new(flags, REMOTE_ISS, 0).mss(1460));
        assert_eq!(answer, SA, "{flags}");
    }
}

#[test]
fn with_ecn_off_an_ecn_setup_syn_gets_a_plain_syn_ack_and_data_goes_not_ect() {
    let cfg = Config { ecn: Ecn::Off, ..inject_config() };
    let (mut p, flags) = passive_open(cfg, ecn_setup_syn());
    assert_eq!(flags, SA);
    assert!(!p.stack.info(p.c()).expect("info").ecn);
    let data = only(app_sends(&mut p, b"hello"));
    assert_eq!(data.ecn, 0);
}

#[test]
fn active_ecn_asks_in_its_syn_and_its_first_retransmission_then_sends_plain_syns() {
    // 6.1.1.1: after an unanswered ECN-setup SYN the host "MAY resend the SYN and any
    // subsequent SYN retransmissions with CWR and ECE cleared"; ecn_setup_retries = 1
    // keeps the first retransmission an ECN-setup SYN (FreeBSD's maxretries).
    let cfg = Config { ecn: Ecn::Active, ..inject_config() };
    let mut p = Peer::with_config(cfg);
    p.conn = Some(p.stack.connect_from(p.now, local(), remote()).expect("connect"));
    let mut syns = vec![only(p.flush())];
    for _ in 0..2 {
        let t = p.stack.poll_timeout().expect("the SYN timer");
        syns.extend(p.advance(t - p.now));
    }
    let flags: Vec<TcpFlags> = syns.iter().map(|s| s.flags).collect();
    assert_eq!(flags, [S | E | W, S | E | W, S]);
    assert!(syns.iter().all(|s| s.ecn == 0), "6.1.1: no ECT on SYNs: {syns:?}");
}

/// SYN-SENT with `Ecn::Active` (`retries` ECN-setup retransmissions), having sent
/// `syns` SYNs, answered by a SYN,ACK with `flags`: ESTABLISHED.
fn active_open(retries: u32, syns: usize, flags: TcpFlags) -> Peer {
    let cfg = Config { ecn: Ecn::Active, ecn_setup_retries: retries, ..inject_config() };
    let mut p = Peer::with_config(cfg);
    p.conn = Some(p.stack.connect_from(p.now, local(), remote()).expect("connect"));
    let mut sent = p.flush();
    while sent.len() < syns {
        let t = p.stack.poll_timeout().expect("the SYN timer");
        sent.extend(p.advance(t - p.now));
    }
    p.stack_iss = sent[0].seq;
    let ack = only(p.feed(Seg::new(flags, REMOTE_ISS, p.stack_iss.wrapping_add(1)).mss(1460)));
    p.nxt = REMOTE_ISS.wrapping_add(1);
    p.acked = p.seen;
    assert_seg(&ack, A, p.seen, p.nxt);
    p.assert_state(State::Established);
    p
}

#[test]
fn an_ecn_setup_syn_ack_to_an_ecn_setup_syn_turns_ecn_on_for_new_data() {
    let mut p = active_open(1, 1, SA | E);
    let data = only(app_sends(&mut p, b"hello"));
    assert_eq!(data.ecn, ECN_ECT0, "{data:?}");
}

#[test]
fn a_plain_or_malformed_syn_ack_leaves_ecn_off() {
    // A SYN-ACK with CWR too is not an ECN-setup SYN-ACK ("with the ECE flag set but the
    // CWR flag not set").
    for flags in [SA, SA | E | W, SA | W] {
        let mut p = active_open(1, 1, flags);
        let data = only(app_sends(&mut p, b"hello"));
        assert_eq!(data.ecn, 0, "{flags}: {data:?}");
    }
}

#[test]
fn after_a_plain_syn_an_ecn_setup_syn_ack_does_not_turn_ecn_on() {
    // 6.1.1: a host "MUST NOT set ECT on data packets unless it has sent at least one
    // ECN-setup SYN or ECN-setup SYN-ACK packet, and has received at least one ECN-setup
    // SYN or ECN-setup SYN-ACK packet, and has sent no non-ECN-setup SYN or
    // non-ECN-setup SYN-ACK packet." With no ECN-setup retransmission, the second SYN
    // is plain; the peer's answer to the first still says ECE.
    let mut p = active_open(0, 2, SA | E);
    let data = only(app_sends(&mut p, b"hello"));
    assert_eq!(data.ecn, 0, "{data:?}");
}

#[test]
fn new_data_goes_ect0_and_acks_and_retransmissions_not_ect() {
    // 6.1.4: pure ACKs "MUST be sent with the not-ECT codepoint"; 6.1.5: no ECT on
    // retransmitted data.
    let mut p = ecn_connection(inject_config());
    let data = only(app_sends(&mut p, b"hello"));
    assert_eq!((data.ecn, data.flags), (ECN_ECT0, PA));
    let ack = remote_sends(&mut p, b"x", 0, TcpFlags::NONE);
    assert_eq!(ack.payload.len(), 0);
    assert_eq!(ack.ecn, 0, "{ack:?}");
    let t = p.stack.poll_timeout().expect("the retransmission timer");
    let again = only(p.advance(t - p.now));
    assert_eq!(again.payload, b"hello");
    assert_eq!(again.ecn, 0, "{again:?}");
}

#[test]
fn a_ce_mark_is_echoed_on_every_ack_until_the_peer_sends_cwr() {
    // 6.1.3: "When TCP receives a CE data packet at the destination end-system, the TCP
    // data receiver sets the ECN-Echo flag in the TCP header of the subsequent ACK
    // packet"; it "continues to set the ECE flag in ACK packets until it receives a CWR
    // packet".
    let mut p = ecn_connection(inject_config());
    assert_eq!(remote_sends(&mut p, b"a", 0, TcpFlags::NONE).flags, A);
    assert_eq!(remote_sends(&mut p, b"b", ECN_CE, TcpFlags::NONE).flags, A | E);
    assert_eq!(remote_sends(&mut p, b"c", ECN_ECT0, TcpFlags::NONE).flags, A | E);
    // Data the application sends meanwhile carries the echo too (any ACK).
    let data = only(app_sends(&mut p, b"z"));
    assert_eq!(data.flags, PA | E);
    assert_eq!(remote_sends(&mut p, b"d", ECN_ECT0, W).flags, A);
    assert_eq!(remote_sends(&mut p, b"e", ECN_ECT0, TcpFlags::NONE).flags, A);
    // CWR and a new CE mark on the same segment: the echo starts again.
    assert_eq!(remote_sends(&mut p, b"f", ECN_CE, W).flags, A | E);
    assert_eq!(p.stack.stats().ecn_ce_received, 2);
}

#[test]
fn without_ecn_a_ce_mark_and_an_ece_are_ignored() {
    let mut p = Peer::established_with(reno());
    assert_eq!(remote_sends(&mut p, b"a", ECN_CE, TcpFlags::NONE).flags, A);
    let cwnd = p.stack.info(p.c()).expect("info").cwnd;
    let data = only(app_sends(&mut p, b"hello"));
    assert_eq!(data.ecn, 0);
    assert_silent(&p.feed(p.seg(A | E)));
    p.acked = p.seen;
    assert!(p.stack.info(p.c()).expect("info").cwnd >= cwnd);
    assert_eq!(p.stack.stats().ecn_reductions, 0);
    assert_eq!(p.stack.stats().ecn_ce_received, 0);
}

/// ACK everything the stack sent, with `flags` besides ACK.
fn ack_all(p: &mut Peer, flags: TcpFlags) -> Vec<Out> {
    let outs = p.feed(p.seg(A | flags));
    p.acked = p.seen;
    outs
}

#[test]
fn an_echo_halves_the_window_once_per_window_and_the_next_new_data_carries_cwr() {
    // 6.1.2: "The indication of congestion should be treated just as a congestion loss
    // in non-ECN-Capable TCP. That is, the TCP source halves the congestion window
    // "cwnd" and reduces the slow start threshold "ssthresh"", "TCP should not react to
    // congestion indications more than once every window of data", and "the TCP source
    // sets the CWR flag in the TCP header of the first new data packet sent after the
    // window reduction".
    let mut p = ecn_connection(reno());
    let c = p.c();
    let sent = app_sends(&mut p, &[7; 7300]);
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(sent.iter().all(|s| s.ecn == ECN_ECT0 && !s.flags.contains(W)), "{sent:?}");
    let before = p.stack.info(c).expect("info");
    assert_eq!(before.bytes_in_flight, 7300);

    // An echo acknowledging the first segment: ssthresh = max(FlightSize / 2, 2*SMSS)
    // with the 7,300 bytes in flight, cwnd down to it, not grown by the ACK.
    let first_end = p.acked.wrapping_add(1460);
    assert_silent(&p.feed(p.seg(A | E).ack(first_end)));
    let after = p.stack.info(c).expect("info");
    assert_eq!((after.ssthresh, after.cwnd), (3650, 3650), "{after:?}");
    assert_eq!(p.stack.stats().ecn_reductions, 1);

    // More echoes for the same window of data (sent before the reduction): no second
    // reduction, and no growth.
    assert_silent(&p.feed(p.seg(A | E).ack(first_end.wrapping_add(1460))));
    assert_eq!(p.stack.info(c).expect("info").cwnd, 3650);
    assert_eq!(p.stack.stats().ecn_reductions, 1);

    // Everything acknowledged (no echo): new data, the first segment carrying CWR,
    // the others not (taken several at a time, as a bulk sender's driver does: the
    // segments after the first are patched from it).
    assert_silent(&ack_all(&mut p, TcpFlags::NONE));
    p.batch = Some(8);
    let next = app_sends(&mut p, &[8; 3600]);
    p.batch = None;
    assert_eq!(next.len(), 3, "{next:?}");
    assert!(next[0].flags.contains(W), "{next:?}");
    assert!(next[1..].iter().all(|s| !s.flags.contains(W)), "{next:?}");
    assert!(next.iter().all(|s| s.ecn == ECN_ECT0));

    // An echo acknowledging data sent after the reduction: a new window, a new
    // reduction (3,600 bytes in flight: ssthresh 1,800, at least 2*SMSS).
    assert_silent(&ack_all(&mut p, E));
    let again = p.stack.info(c).expect("info");
    assert_eq!(p.stack.stats().ecn_reductions, 2);
    assert_eq!(again.ssthresh, 2 * 1460);
    assert!(again.cwnd <= 2 * 1460, "{again:?}");
}

#[test]
fn an_old_or_out_of_window_ack_with_ece_reduces_nothing() {
    let mut p = ecn_connection(reno());
    let c = p.c();
    let start = p.acked;
    app_sends(&mut p, &[5; 3000]);
    assert_silent(&ack_all(&mut p, TcpFlags::NONE));
    let cwnd = p.stack.info(c).expect("info").cwnd;
    // An old ACK (below SND.UNA) with ECE: ignored.
    assert_silent(&p.feed(p.seg(A | E).ack(start.wrapping_add(1460))));
    // ECE on a segment outside the receive window: answered with an ACK, nothing else.
    let outside = p.seg(A | E).seq(p.nxt.wrapping_add(100_000));
    assert_eq!(only(p.feed(outside)).flags, A);
    assert_eq!(p.stack.stats().ecn_reductions, 0);
    assert_eq!(p.stack.info(c).expect("info").cwnd, cwnd);
    // A duplicate ACK of SND.UNA with ECE, in the window: the echo of a new window.
    assert_silent(&p.feed(p.seg(A | E)));
    assert_eq!(p.stack.stats().ecn_reductions, 1);
}

#[test]
fn without_congestion_control_an_echo_still_gets_cwr() {
    // The window stays unbounded, but the peer must learn that the sender responded,
    // or it echoes for ever.
    let mut p = ecn_connection(Config {
        congestion_control: CongestionControl::None,
        nagle: false,
        ..inject_config()
    });
    app_sends(&mut p, b"one");
    assert_silent(&ack_all(&mut p, E));
    let data = only(app_sends(&mut p, b"two"));
    assert!(data.flags.contains(W), "{data:?}");
    let data = only(app_sends(&mut p, b"three"));
    assert!(!data.flags.contains(W), "{data:?}");
}

#[test]
fn outside_the_window_a_ce_mark_or_a_cwr_changes_nothing() {
    // 6.1.5: "the TCP data receiver SHOULD ignore the ECN field on arriving data packets
    // that are outside of the receiver's current window"; a CWR from outside it does
    // not end an echo either.
    let mut p = ecn_connection(inject_config());
    remote_sends(&mut p, b"abc", 0, TcpFlags::NONE);
    // An old duplicate, marked: the duplicate ACK carries no echo.
    let old = p.seg(PA).seq(p.nxt.wrapping_sub(3)).ack(p.acked).data(b"abc").ecn(ECN_CE);
    let dup = only(p.feed(old));
    assert_eq!(dup.flags, A, "{dup:?}");
    // Echoing now; an old duplicate with CWR does not stop it.
    assert_eq!(remote_sends(&mut p, b"d", ECN_CE, TcpFlags::NONE).flags, A | E);
    let old = p.seg(PA | W).seq(p.nxt.wrapping_sub(1)).ack(p.acked).data(b"d");
    assert_eq!(only(p.feed(old)).flags, A | E);
    assert_eq!(remote_sends(&mut p, b"e", 0, TcpFlags::NONE).flags, A | E);
}

#[test]
fn an_idle_timeout_retransmission_after_an_echo_goes_without_cwr() {
    // 6.1.5: no ECT on retransmitted data; and CWR waits for "the first new data packet
    // sent after the window reduction" (6.1.2).
    let mut p = ecn_connection(reno());
    app_sends(&mut p, b"one");
    app_sends(&mut p, b"two");
    // Echo for the first segment only: the second is still in flight.
    assert_silent(&p.feed(p.seg(A | E).ack(p.acked.wrapping_add(3))));
    p.acked = p.acked.wrapping_add(3);
    p.now += Duration::from_secs(2);
    p.stack.handle_timeout(p.now);
    let again = p.flush();
    assert!(!again.is_empty());
    assert!(again.iter().all(|s| !s.flags.contains(W) && s.ecn == 0), "{again:?}");
}

#[test]
fn cwr_goes_on_the_first_segment_of_a_burst_only() {
    // A bulk sender's burst after the reduction: several full segments at once, taken
    // several at a time by the driver (the segments after the first of a run are
    // patched from it); CWR is on the first alone.
    let mut p = ecn_connection(reno());
    p.batch = Some(16);
    let first = app_sends(&mut p, &[9; 40_000]);
    assert!(first.len() >= 6, "{first:?}");
    // Everything acknowledged with an echo, and a window that lets a burst out.
    let burst = p.feed(p.seg(A | E).win(65_535));
    p.acked = p.seen;
    assert_eq!(p.stack.stats().ecn_reductions, 1);
    assert!(burst.len() >= 3, "{burst:?}");
    assert!(burst[0].flags.contains(W), "{burst:?}");
    assert!(burst[1..].iter().all(|s| !s.flags.contains(W)), "{burst:?}");
}

/// A transfer of `len` bytes from a client with `client_ecn` to a server with the
/// default (passive) ECN, Reno on both, through a link whose router is congested for
/// every 25th data segment from the client (`Fate::MarkCe`: marked when ECN-capable,
/// dropped otherwise). Returns the pair once the server has read everything.
fn congested_transfer(client_ecn: Ecn, len: usize) -> common::Pair {
    use common::{config, flow_helpers::recv_all, Dir, Fate, Pair, CLIENT_IP, SERVER_IP};
    let reno = |ip| Config { congestion_control: CongestionControl::Reno, ..config(ip) };
    let mut p = Pair::with_configs(Config { ecn: client_ecn, ..reno(CLIENT_IP) }, reno(SERVER_IP));
    let mut data_segments = 0;
    p.rule = Box::new(move |s| {
        if s.dir == Dir::AtoB && s.len > 0 {
            data_segments += 1;
            if data_segments % 25 == 0 {
                return Fate::MarkCe;
            }
        }
        Fate::Deliver
    });
    let (c, s) = p.establish();
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..100_000 {
        if sent < data.len() {
            sent += p.a.send(c, &data[sent..]).unwrap_or(0);
        }
        got.extend(recv_all(&mut p.b, s));
        if got.len() == data.len() {
            break;
        }
        assert!(p.step(), "the transfer stalled at {} of {len} bytes", got.len());
    }
    assert_eq!(got, data);
    p
}

#[test]
fn a_congested_router_slows_an_ecn_sender_without_losing_a_segment() {
    // The point of RFC 3168: the router's congestion signal reaches the sender as a
    // mark, echoed back, instead of as a loss to be repaired.
    let p = congested_transfer(Ecn::Active, 300_000);
    let (a, b) = (p.a.stats(), p.b.stats());
    assert!(p.dropped.is_empty(), "{:?}", p.dropped);
    assert_eq!(a.retransmissions, 0);
    assert!(b.ecn_ce_received >= 5, "{b}");
    assert!(a.ecn_reductions >= 1, "{a}");
    use common::Dir;
    let cwr = p.log.iter().filter(|s| s.dir == Dir::AtoB && s.flags.contains(W)).count();
    let ece = p.log.iter().filter(|s| s.dir == Dir::BtoA && s.flags.contains(E)).count();
    assert!(cwr >= 1 && ece >= 1, "cwr {cwr}, ece {ece}");
    // Every data segment the client sent first went out ECT(0), every retransmission
    // (none here) and every pure ACK not-ECT.
    for s in p.log.iter().filter(|s| s.dir == Dir::AtoB && s.len > 0) {
        assert_eq!(s.bytes[1] & 0b11, ECN_ECT0, "{s:?}");
    }
    for s in p.log.iter().filter(|s| s.dir == Dir::BtoA && s.len == 0) {
        assert_eq!(s.bytes[1] & 0b11, 0, "{s:?}");
    }
}

#[test]
fn without_ecn_the_same_congestion_costs_losses_and_retransmissions() {
    // The control experiment: the same router drops what it cannot mark.
    let p = congested_transfer(Ecn::Off, 300_000);
    let (a, b) = (p.a.stats(), p.b.stats());
    assert!(!p.dropped.is_empty());
    assert!(a.retransmissions >= p.dropped.len() as u64, "{a}");
    assert_eq!((a.ecn_reductions, b.ecn_ce_received), (0, 0));
}

#[test]
fn an_echo_at_a_window_of_one_segment_holds_new_data_until_the_retransmission_timer_expires() {
    // 6.1.2: "the sending TCP MUST reset the retransmit timer on receiving the
    // ECN-Echo packet when the congestion window is one. The sending TCP will then be
    // able to send a new packet only when the retransmit timer expires."
    let mut p = ecn_connection(Config { initial_window: 1, ..reno() });
    let c = p.c();
    assert_eq!(only(app_sends(&mut p, &[1; 1460])).payload.len(), 1460);
    assert!(app_sends(&mut p, &[2; 1460]).is_empty(), "a window of one segment, full");
    // The echo acknowledges the segment: the window stays one segment, and the second
    // one, which the ACK would have let go, waits.
    p.now += Duration::from_millis(100);
    assert_silent(&ack_all(&mut p, E));
    assert_eq!(p.stack.info(c).expect("info").cwnd, 1460);
    let deadline = p.stack.poll_timeout().expect("the retransmission timer, restarted");
    assert!(deadline >= p.now + Duration::from_millis(200), "{deadline:?} from {:?}", p.now);
    p.now = synack::Instant::from_micros(deadline.as_micros() - 1_000);
    p.stack.handle_timeout(p.now);
    assert!(p.flush().is_empty(), "nothing before the timer expires");
    // At the timer: the new segment, with CWR, and no retransmission.
    p.now = deadline;
    p.stack.handle_timeout(p.now);
    let next = only(p.flush());
    assert_eq!((next.payload.len(), next.seq), (1460, p.acked), "{next:?}");
    assert!(next.flags.contains(W) && next.ecn == ECN_ECT0, "{next:?}");
    assert_eq!(p.stack.stats().retransmissions, 0);
    // With a window larger than one segment the same echo holds nothing (the first
    // test above lets data go as soon as it is acknowledged).
    let mut p = ecn_connection(Config { initial_window: 2, ..reno() });
    assert_eq!(app_sends(&mut p, &[1; 2920]).len(), 2);
    app_sends(&mut p, &[2; 1460]);
    assert_eq!(ack_all(&mut p, E).len(), 1, "the next segment goes at once");
}

#[test]
fn a_hold_ended_early_by_an_ack_of_everything_leaves_nothing_behind() {
    // A hold set with data still in flight (after a retransmission timeout the window
    // is one segment, not the flight): the ACK of everything stops the retransmission
    // timer (RFC 6298 5.2), which ends the hold. New data then flows as the window
    // allows, and the next timer it arms is not mistaken for the hold's.
    // (No tail loss probe: the first timer is the RTO.)
    let mut p = ecn_connection(Config { initial_window: 3, tail_loss_probe: false, ..reno() });
    let c = p.c();
    assert_eq!(app_sends(&mut p, &[1; 4380]).len(), 3);
    // The retransmission timeout: the window collapses to one segment.
    p.now = p.stack.poll_timeout().expect("the RTO");
    p.stack.handle_timeout(p.now);
    assert_eq!(p.flush().len(), 1, "the first segment again");
    // An echo for the first segment: the window stays at one segment, two in flight.
    let first_end = p.acked.wrapping_add(1460);
    assert_silent(&p.feed(p.seg(A | E).ack(first_end)));
    let info = p.stack.info(c).expect("info");
    assert_eq!((info.cwnd, info.bytes_in_flight), (1460, 2920), "{info:?}");
    // Everything acknowledged: the hold is over, and new data goes at once, as much as
    // the window allows, without waiting for a timer.
    p.now += Duration::from_millis(10);
    assert_silent(&ack_all(&mut p, TcpFlags::NONE));
    let cwnd = p.stack.info(c).expect("info").cwnd;
    let sent = app_sends(&mut p, &[2; 5840]);
    assert_eq!(sent.len() as u32, cwnd / 1460, "cwnd {cwnd}: {sent:?}");
    assert!(sent.len() >= 2, "{sent:?}");
}
