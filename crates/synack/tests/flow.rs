//! The data path and flow control, end to end: segmentation and MSS (RFC 9293 3.7,
//! 3.7.1), window scaling (RFC 7323), zero windows and persist probing (3.8.6.1), silly
//! window syndrome avoidance (3.8.6.2), delayed ACKs (3.8.6.3), Nagle (3.7.4), fast
//! retransmit (RFC 5681 3.2, RFC 6582), retransmission timeouts and Karn's rule (RFC
//! 6298), and reassembly of out-of-order, duplicated and overlapping segments within
//! bounded memory (3.10.7.4, seventh step).

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use synack::wire::{TcpFlags, TcpOptions};
use synack::{
    Config, CongestionControl, ConnId, Duration, Instant, SeqNum, State, TimerAction, TimerKind, TraceEvent,
};

fn big_buffers(ip: IpAddr) -> Config {
    Config { recv_buffer: 256 * 1024, send_buffer: 256 * 1024, ..config(ip) }
}

fn timer_fires(trace: &[synack::TraceRecord], kind: TimerKind) -> Vec<Instant> {
    trace
        .iter()
        .filter_map(|r| match r.ev {
            TraceEvent::Timer { timer, action: TimerAction::Fire, .. } if timer == kind => Some(r.t),
            _ => None,
        })
        .collect()
}

// ----- 3.7.1 MSS --------------------------------------------------------------------

/// RFC 9293 3.7.1 (MUST-16): the effective send MSS is the smaller of the peer's MSS
/// and what our own IP layer allows; each side announces its MTU minus 40.
#[test]
fn mss_is_the_smaller_of_both_announcements_in_both_directions() {
    // Without timestamps, whose 12 bytes in every segment would come off the MSS (RFC
    // 9293 3.7.1; tests/options.rs checks that case).
    let ca = Config { mtu: 1000, timestamps: false, ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(ca, Config { timestamps: false, ..config(SERVER_IP) });
    let (c, s) = p.establish();
    assert_eq!(options(&p.log[0]).mss, Some(960), "the client announces 1000 - 40");
    assert_eq!(options(&p.log[1]).mss, Some(1460), "the server announces 1500 - 40");
    assert_eq!(p.a.info(c).unwrap().mss, 960);
    assert_eq!(p.b.info(s).unwrap().mss, 960);

    let up = pattern(30_000, 1);
    assert_eq!(transfer(&mut p, Dir::AtoB, c, s, &up, 10_000), up);
    let down = pattern(30_000, 2);
    assert_eq!(transfer(&mut p, Dir::BtoA, s, c, &down, 10_000), down);
    for dir in [Dir::AtoB, Dir::BtoA] {
        let max = p.data_segs(dir).iter().map(|s| s.len).max().unwrap();
        assert_eq!(max, 960, "{dir:?}: full-sized segments carry exactly the effective MSS");
    }
}

/// RFC 9293 3.7.1 (MUST-15): "If an MSS Option is not received at connection setup, TCP
/// implementations MUST assume a default send MSS of 536 (576 - 40) for IPv4".
#[test]
fn peer_without_mss_option_is_sent_segments_of_at_most_536_bytes() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let (synack, s) = r.connect_in(l, TcpOptions::NONE, 65_535);
    assert_eq!(synack.hdr.options.mss, Some(1460), "we still announce our own MSS");
    assert_eq!(synack.hdr.options.window_scale, None, "no window scale unless the SYN offered it");
    assert_eq!(r.stack.info(s).unwrap().mss, 536);
    r.stack.send(s, &pattern(3000, 3)).unwrap();
    let segs = r.poll();
    let lens: Vec<_> = segs.iter().map(|s| s.payload.len()).collect();
    assert!(!lens.is_empty());
    assert!(lens.iter().all(|&n| n == 536), "full segments of 536 bytes, the rest held by Nagle: {lens:?}");
}

/// RFC 9293 3.7.1 (MUST-15): "... or 1220 (1280 - 60) for IPv6".
#[test]
fn ipv6_peer_without_mss_option_is_sent_segments_of_at_most_1220_bytes() {
    let server = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));
    let client = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let local = SocketAddr::new(server, 80);
    let mut r = RawPeer::new(config(server), local, SocketAddr::new(client, 40_000));
    let l = r.stack.listen(local, 8).unwrap();
    let (synack, s) = r.connect_in(l, TcpOptions::NONE, 65_535);
    assert_eq!(synack.hdr.options.mss, Some(1440), "1500 - 40 (IPv6) - 20 (TCP)");
    assert_eq!(r.stack.info(s).unwrap().mss, 1220);
    r.stack.send(s, &pattern(5000, 3)).unwrap();
    let lens: Vec<_> = r.poll().iter().map(|s| s.payload.len()).collect();
    assert!(!lens.is_empty() && lens.iter().all(|&n| n == 1220), "{lens:?}");
}

// ----- RFC 7323 window scaling ------------------------------------------------------

/// RFC 7323 2.2-2.3: both SYNs carry the shift (3 for 256 KiB), the windows of the SYNs
/// themselves are not scaled, and every later window field is the free space >> 3.
#[test]
fn window_scale_is_negotiated_both_ways_and_applied_after_the_syns() {
    let mut p = Pair::with_configs(big_buffers(CLIENT_IP), big_buffers(SERVER_IP));
    let (c, s) = p.establish();
    let (syn, synack, third) = (&p.log[0], &p.log[1], &p.log[2]);
    assert_eq!(options(syn).window_scale, Some(3));
    assert_eq!(options(synack).window_scale, Some(3));
    assert_eq!((syn.win, synack.win), (65_535, 65_535), "a SYN's window is never scaled");
    assert_eq!(third.win, ((256 * 1024) >> 3) as u16, "the first scaled window: 256 KiB >> 3");
    assert_eq!(p.b.info(s).unwrap().send_window, 256 * 1024);
    // The server's first segment after the handshake carries a scaled window too.
    p.b.send(s, b"hi").unwrap();
    p.drive_until(100, |p| p.a.info(c).unwrap().recv_queue == 2);
    assert_eq!(p.a.info(c).unwrap().send_window, 256 * 1024);
}

/// Run a 3 MiB transfer with the sender limited only by the peer's window; returns the
/// largest flight seen and checks that the sender never overran the scaled window.
fn bulk_flight(ca: Config, cb: Config) -> u32 {
    let ca = Config { congestion_control: CongestionControl::None, ..ca };
    let mut p = Pair::with_configs(ca, cb);
    let (c, s) = p.establish();
    let ws =
        options(&p.log[1]).window_scale.filter(|_| options(&p.log[0]).window_scale.is_some()).unwrap_or(0);
    let body = pattern(3 << 20, 9);
    let mut sent = 0;
    let mut got = Vec::new();
    let mut max_flight = 0;
    for _ in 0..20_000 {
        if sent < body.len() {
            if let Ok(n) = p.a.send(c, &body[sent..]) {
                sent += n;
            }
        }
        got.extend(recv_all(&mut p.b, s));
        max_flight = max_flight.max(p.a.info(c).unwrap().bytes_in_flight);
        if got.len() == body.len() {
            break;
        }
        assert!(p.step());
    }
    assert!(got == body, "byte-exact");
    // The sender never sent beyond the right edge the receiver announced (the SYN-ACK's
    // window is not scaled, every later one is).
    let mut edge = p.log[1].ack.wrapping_add(u32::from(p.log[1].win));
    for seg in &p.log[2..] {
        match seg.dir {
            Dir::BtoA => edge = edge.max(seg.ack.wrapping_add(u32::from(seg.win) << ws)),
            Dir::AtoB if seg.len > 0 => {
                assert!(seg.seq.wrapping_add(seg.len as u32) <= edge, "data beyond the window at {:?}", seg.t)
            }
            _ => {}
        }
    }
    assert_eq!(p.b.stats().unacceptable, 0, "nothing arrived outside the window");
    max_flight
}

/// RFC 7323 1.1: without scaling no more than 65,535 bytes can be in flight; with a
/// 256 KiB window the bulk transfer keeps several times that much in flight.
#[test]
fn scaled_256k_window_keeps_more_than_64k_in_flight_and_is_never_overrun() {
    let flight = bulk_flight(big_buffers(CLIENT_IP), big_buffers(SERVER_IP));
    assert!(flight > 200 * 1024, "flight {flight} with a 256 KiB scaled window");
}

/// RFC 7323 2.2: scaling is in effect only when both SYNs carry the option; a peer that
/// does not offer it is never sent more than 65,535 bytes.
#[test]
fn window_scaling_is_off_unless_both_sides_offer_it() {
    let ca = Config { window_scaling: false, ..big_buffers(CLIENT_IP) };
    let mut p = Pair::with_configs(ca.clone(), big_buffers(SERVER_IP));
    p.establish();
    assert_eq!(options(&p.log[0]).window_scale, None);
    assert_eq!(options(&p.log[1]).window_scale, None, "the SYN-ACK does not offer scaling unasked");
    let flight = bulk_flight(ca, big_buffers(SERVER_IP));
    assert!(flight <= 65_535, "flight {flight} without scaling");
    assert!(flight > 60_000, "the whole unscaled window is used: {flight}");
}

/// RFC 7323 2.3: "If a Window Scale option is received with a shift.cnt value larger
/// than 14, the TCP SHOULD log the error but MUST use 14 instead of the specified value."
#[test]
fn peer_window_scale_above_14_is_used_as_14() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let opts = TcpOptions { mss: Some(1460), window_scale: Some(15), ..TcpOptions::NONE };
    let (synack, s) = r.connect_in(l, opts, 65_535);
    assert!(synack.hdr.options.window_scale.is_some());
    r.send_ack(r.rcv_nxt, 3);
    assert_eq!(r.stack.info(s).unwrap().send_window, 3 << 14);
}

// ----- 3.8.6.1 zero windows ---------------------------------------------------------

/// Fill a server with an 8 KiB receive buffer whose application does not read.
fn stalled_receiver(ca: Config) -> (Pair, ConnId, ConnId, Vec<u8>) {
    let cb = Config { recv_buffer: 8192, ..config(SERVER_IP) };
    let mut p = Pair::with_configs(ca, cb);
    let (c, s) = p.establish();
    let body = pattern(40_000, 5);
    assert_eq!(p.a.send(c, &body), Ok(40_000));
    p.drive_until(1000, |p| {
        p.b.info(s).unwrap().recv_queue == 8192 && p.a.info(c).unwrap().bytes_in_flight == 0
    });
    (p, c, s, body)
}

/// RFC 9293 3.8.6.1: the sender stops at a zero window and probes it, "SHOULD send the
/// first zero-window probe when a zero window has existed for the retransmission timeout
/// period (SHLD-29) ... and SHOULD increase exponentially the interval between
/// successive probes (SHLD-30)". When the application reads, a window update goes out at
/// once and the transfer completes byte-exact.
#[test]
fn zero_window_stops_the_sender_and_probes_back_off_until_the_app_reads() {
    let (mut p, c, s, body) = stalled_receiver(config(CLIENT_IP));
    let zero_at =
        p.log.iter().find(|g| g.dir == Dir::BtoA && g.win == 0).map(|g| g.t).expect("a zero window");
    let rto = p.a.info(c).unwrap().rto;
    let sent_before = p.data_segs(Dir::AtoB).iter().map(|g| g.len).sum::<usize>();
    assert_eq!(sent_before, 8192, "nothing beyond the offered window");
    let until = p.now + Duration::from_secs(20);
    p.drive_until_time(until, 1000);

    assert_eq!(p.data_segs(Dir::AtoB).iter().map(|g| g.len).sum::<usize>(), 8192, "the sender stopped");
    let probes: Vec<Instant> =
        p.segs(Dir::AtoB).iter().filter(|g| g.t > zero_at && g.len == 0).map(|g| g.t).collect();
    assert!(probes.len() >= 4, "probes: {probes:?}");
    // Each probe is answered with the (still zero) window.
    for t in probes.iter().filter(|t| **t + p.delay <= p.now) {
        assert!(p.segs(Dir::BtoA).iter().any(|g| g.t == *t + p.delay && g.win == 0));
    }
    // The first probe after about one RTO (the zero window is seen one link delay after it
    // is sent), then doubling intervals.
    let first = probes[0] - zero_at;
    assert!(first >= rto && first <= rto + p.delay + Duration::from_millis(1), "first probe after {first:?}");
    let gaps: Vec<Duration> = probes.windows(2).map(|w| w[1] - w[0]).collect();
    for w in gaps.windows(2) {
        assert_eq!(w[1], w[0].saturating_mul(2), "exponential backoff: {gaps:?}");
    }
    assert_eq!(p.a.state(c), State::Established);

    // The application reads a little: no window update (SWS avoidance, 3.8.6.2.2).
    let mut buf = vec![0u8; 100];
    assert_eq!(p.b.recv(s, &mut buf), Ok(100));
    let n_log = p.log.len();
    p.flush();
    assert_eq!(p.log.len(), n_log, "no window update for 100 bytes");
    // It reads everything: the window update goes out at once.
    let mut got = buf.clone();
    got.extend(recv_all(&mut p.b, s));
    p.flush();
    let update = p.log[n_log..].iter().find(|g| g.dir == Dir::BtoA).expect("a window update");
    assert_eq!(update.t, p.now);
    assert!(u32::from(update.win) << 1 >= 8192 - 1, "the whole buffer is offered again: {}", update.win);
    p.drive_until(10_000, |p| {
        got.extend(recv_all(&mut p.b, s));
        got.len() == body.len()
    });
    assert!(got == body, "byte-exact after the stall");
}

/// RFC 9293 3.8.6.1 (MUST-37): "As long as the receiving TCP peer continues to send
/// acknowledgments in response to the probe segments, the sending TCP peer MUST allow
/// the connection to stay open." Probes answered for 30 minutes never time out, even
/// with a retry limit of 3.
#[test]
fn answered_zero_window_probes_never_time_the_connection_out() {
    let ca = Config { max_retries: 3, ..config(CLIENT_IP) };
    let (mut p, c, s, body) = stalled_receiver(ca);
    let until = p.now + Duration::from_secs(30 * 60);
    p.drive_until_time(until, 10_000);
    assert_eq!(p.a.state(c), State::Established, "error: {:?}", p.a.error(c));
    let probes = p.segs(Dir::AtoB).iter().filter(|g| g.len == 0 && g.t > Instant::from_millis(1000)).count();
    assert!(probes > 10, "{probes} probes");
    // The probe interval is capped at RTO max (RFC 6298 2.5).
    let mut got = Vec::new();
    p.drive_until(100_000, |p| {
        got.extend(recv_all(&mut p.b, s));
        got.len() == body.len()
    });
    assert!(got == body);
}

/// RFC 9293 3.8.6 (MUST-34, MUST-35): a sender "MUST be robust against window
/// shrinking" and "If the window shrinks to zero, the TCP implementation MUST probe it in
/// the standard way". Here the peer acknowledges part of the flight with a zero window and
/// loses the rest: the retransmission timer fires with nothing sendable, and the sender
/// must fall back to probing instead of going silent.
#[test]
fn window_shrunk_to_zero_with_data_in_flight_is_still_probed() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let (_, s) = r.connect_in(l, mss_opt(1000), 65_535);
    let body = pattern(8000, 4);
    r.stack.send(s, &body).unwrap();
    let first = r.poll();
    assert!(first.len() >= 4, "a flight of several segments");
    let base = r.rcv_nxt;
    // Acknowledge two segments with a zero window; the rest is "lost".
    r.send_ack(base + 2000, 0);
    let later = r.advance(Duration::from_secs(20));
    assert!(later.len() >= 3, "the sender keeps probing the zero window: {later:?}");
    assert!(r.stack.poll_timeout().is_some(), "a timer still runs");
    // The window opens (in answer to a probe): everything unacknowledged is resent.
    r.send_ack(base + 2000, 65_535);
    for _ in 0..50 {
        r.advance(Duration::from_millis(300));
        let hi = r.highest_received();
        r.rcv_nxt = hi;
        r.send_ack(hi, 65_535);
    }
    let stream: Vec<u8> =
        r.stream(base, body.len()).into_iter().map(|b| b.expect("every byte sent")).collect();
    assert!(stream == body);
    assert_eq!(r.stack.info(s).unwrap().bytes_in_flight, 0);
}

// ----- 3.8.6.2 silly window syndrome ------------------------------------------------

/// RFC 9293 3.8.6.2.2: the receiver keeps RCV.NXT+RCV.WND fixed until the window can
/// grow by min(RCV.BUFF/2, Eff.snd.MSS); it never offers a tiny window.
#[test]
fn receiver_never_advertises_tiny_window_increments() {
    let cb = Config { recv_buffer: 16_384, ..config(SERVER_IP) };
    let mut p = Pair::with_configs(config(CLIENT_IP), cb);
    let (c, s) = p.establish();
    let body = pattern(60_000, 6);
    let mut sent = p.a.send(c, &body).unwrap();
    p.drive_until(1000, |p| p.b.info(s).unwrap().recv_queue == 16_384);
    let start = p.log.len();
    let mut got = Vec::new();
    // The application reads in dribbles of 200 bytes.
    let mut buf = [0u8; 200];
    for _ in 0..400 {
        if let Ok(n) = p.b.recv(s, &mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
        if sent < body.len() {
            sent += p.a.send(c, &body[sent..]).unwrap_or(0);
        }
        p.flush();
        if got.len() == body.len() || !p.step() {
            break;
        }
    }
    got.extend(recv_all(&mut p.b, s));
    assert!(got == body[..got.len()], "in order");
    // The right edge RCV.NXT + RCV.WND only ever advances by at least
    // min(RCV.BUFF / 2, Eff.snd.MSS) = 1460 bytes, and a closed window reopens by at least
    // as much. (16 KiB needs no scaling: the field is in bytes.)
    let mut edges: Vec<u32> = Vec::new();
    let mut last_win = None;
    for g in p.log[start..].iter().filter(|g| g.dir == Dir::BtoA) {
        if last_win == Some(0) && g.win > 0 {
            assert!(g.win >= 1460, "a zero window reopened by only {} bytes at {:?}", g.win, g.t);
        }
        last_win = Some(g.win);
        let edge = g.ack.wrapping_add(u32::from(g.win));
        if edges.last() != Some(&edge) {
            edges.push(edge);
        }
    }
    assert!(edges.len() > 3, "the window moved: {edges:?}");
    for w in edges.windows(2) {
        let step = w[1].wrapping_sub(w[0]);
        assert!((1460..1 << 31).contains(&step), "the right edge moved by {} bytes", step as i32);
    }
}

/// RFC 9293 3.8.6.2.1: a sender does not fill a window smaller than
/// min(MSS, Max(SND.WND)/2) at once; only "the override timeout" sends it.
#[test]
fn sender_fills_a_tiny_window_only_after_the_override_timeout() {
    let (mut r, l) = raw_server(cfg(SERVER_IP));
    let (_, s) = r.connect_in(l, mss_opt(1460), 65_535);
    r.stack.send(s, &pattern(1460 * 3, 2)).unwrap();
    let first = r.poll();
    assert_eq!(first.len(), 3);
    // Acknowledge everything but offer only 100 bytes; then queue more data.
    let t0 = r.now;
    assert!(r.ack_all(100).is_empty());
    r.stack.send(s, &pattern(5000, 3)).unwrap();
    assert!(r.poll().is_empty(), "no 100-byte segment right away");
    let later = r.advance(Duration::from_secs(2));
    let seg = later.iter().find(|g| !g.payload.is_empty()).expect("the override timeout sends");
    assert_eq!(seg.payload.len(), 100, "exactly the usable window");
    assert!(seg.t - t0 >= r.stack.info(s).unwrap().rto.min(Duration::from_millis(200)));
}

// ----- 3.8.6.3 delayed ACK ----------------------------------------------------------

fn raw_receiver(cfg_b: Config) -> (RawPeer, ConnId) {
    let (mut r, l) = raw_server(cfg_b);
    let (_, s) = r.connect_in(l, mss_opt(1460), 65_535);
    (r, s)
}

fn acks(segs: &[RawSeg]) -> Vec<SeqNum> {
    segs.iter().filter(|g| g.payload.is_empty() && g.flags().ack()).map(|g| g.ack()).collect()
}

/// RFC 9293 3.8.6.3: "An ACK SHOULD be generated for at least every second full-sized
/// segment", and a lone segment is acknowledged when the delayed-ACK timer (40 ms here)
/// runs out.
#[test]
fn every_second_full_segment_is_acked_at_once_and_a_lone_one_after_the_delay() {
    let (mut r, _s) = raw_receiver(cfg(SERVER_IP));
    let base = r.snd_nxt;
    assert!(acks(&r.send_data(&[1; 1460], 65_535)).is_empty(), "the first segment waits");
    assert_eq!(acks(&r.send_data(&[2; 1460], 65_535)), vec![base + 2920], "the second is ACKed at once");
    assert!(acks(&r.send_data(&[3; 1460], 65_535)).is_empty());
    assert!(acks(&r.advance(Duration::from_millis(39))).is_empty());
    let late = r.advance(Duration::from_millis(1));
    assert_eq!(acks(&late), vec![base + 4380], "ACKed when the 40 ms delay ends");
}

/// RFC 9293 3.8.6.3 (MUST-40): "the delay MUST be less than 0.5 seconds", whatever the
/// configuration asks for.
#[test]
fn delayed_ack_never_waits_more_than_half_a_second() {
    let c = Config { delayed_ack: Some(Duration::from_secs(3)), ..cfg(SERVER_IP) };
    let (mut r, _s) = raw_receiver(c);
    let t0 = r.now;
    r.send_data(&[1; 100], 65_535);
    let out = r.advance(Duration::from_secs(3));
    let ack = out.iter().find(|g| g.payload.is_empty()).expect("an ACK");
    assert!(ack.t - t0 < Duration::from_millis(500), "ACK after {:?}", ack.t - t0);
}

/// With delayed ACKs disabled every segment is acknowledged at once.
#[test]
fn without_delayed_ack_every_segment_is_acked_at_once() {
    let c = Config { delayed_ack: None, ..cfg(SERVER_IP) };
    let (mut r, _s) = raw_receiver(c);
    let base = r.snd_nxt;
    assert_eq!(acks(&r.send_data(&[1; 10], 65_535)), vec![base + 10]);
    assert_eq!(acks(&r.send_data(&[1; 10], 65_535)), vec![base + 20]);
}

/// The peer's FIN at its `snd_nxt` (advances it over the FIN).
fn send_fin(r: &mut RawPeer) -> Vec<RawSeg> {
    let h = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::FIN | TcpFlags::ACK, 65_535);
    r.snd_nxt += 1;
    r.send(h, &[])
}

/// RFC 9293 3.10.7.4 (eighth step): "send an acknowledgment for the FIN" - which may wait
/// like any ACK (RFC 1122 4.2.3.2; `Config::delay_fin_ack`). An application that closes
/// within the delay sends one FIN,ACK that acknowledges the peer's FIN: three segments
/// close the connection.
#[test]
fn the_ack_of_a_fin_waits_and_rides_on_the_applications_fin() {
    let (mut r, s) = raw_receiver(cfg(SERVER_IP));
    let fin_at = r.snd_nxt;
    assert!(send_fin(&mut r).is_empty(), "the ACK of the FIN waits");
    assert_eq!(r.stack.state(s), State::CloseWait);
    let mut buf = [0u8; 8];
    assert_eq!(r.stack.recv(s, &mut buf), Ok(0), "the application sees the end of the stream");
    assert!(r.advance(Duration::from_millis(20)).is_empty());
    r.stack.close(s).unwrap();
    let out = r.poll();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].flags(), TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!(out[0].ack(), fin_at + 1, "the FIN,ACK acknowledges the peer's FIN");
    // Nothing else goes when the delay would have ended; the ACK of our FIN ends it
    // (LAST-ACK to CLOSED).
    assert!(r.advance(Duration::from_millis(30)).is_empty());
    assert_eq!(r.stack.connection_count(), 1);
    assert!(r.send_ack(out[0].seq() + 1, 65_535).is_empty());
    assert_eq!(r.stack.connection_count(), 0);
}

/// An application that does not close in time gets the FIN acknowledged when the
/// delayed-ACK timer (40 ms here) runs out, as for a lone data segment.
#[test]
fn a_fin_the_application_does_not_answer_is_acked_when_the_delay_ends() {
    let (mut r, s) = raw_receiver(cfg(SERVER_IP));
    let fin_at = r.snd_nxt;
    assert!(send_fin(&mut r).is_empty());
    assert!(acks(&r.advance(Duration::from_millis(39))).is_empty());
    assert_eq!(acks(&r.advance(Duration::from_millis(1))), vec![fin_at + 1]);
    assert_eq!(r.stack.state(s), State::CloseWait);
}

/// With `Config::delay_fin_ack` off (FreeBSD's way), or no delayed ACKs at all, the FIN
/// is acknowledged at once; so is a FIN that completes our own close (FIN-WAIT-2 to
/// TIME-WAIT): no FIN of ours is left to carry it.
#[test]
fn a_fin_is_acked_at_once_without_delay_fin_ack_and_after_our_own_fin() {
    for c in
        [Config { delay_fin_ack: false, ..cfg(SERVER_IP) }, Config { delayed_ack: None, ..cfg(SERVER_IP) }]
    {
        let (mut r, s) = raw_receiver(c);
        let fin_at = r.snd_nxt;
        assert_eq!(acks(&send_fin(&mut r)), vec![fin_at + 1]);
        assert_eq!(r.stack.state(s), State::CloseWait);
    }
    let (mut r, s) = raw_receiver(cfg(SERVER_IP));
    r.stack.close(s).unwrap();
    let fin = r.poll();
    assert_eq!(fin[0].flags(), TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!(fin.len(), 1);
    assert!(r.send_ack(fin[0].seq() + 1, 65_535).is_empty());
    assert_eq!(r.stack.time_wait_count(), 0, "FIN-WAIT-2");
    let fin_at = r.snd_nxt;
    assert_eq!(acks(&send_fin(&mut r)), vec![fin_at + 1]);
    assert_eq!(r.stack.time_wait_count(), 1);
}

/// RFC 5681 4.2 (cited by RFC 9293 3.8.6.3): "A TCP receiver SHOULD send an immediate
/// duplicate ACK when an out-of-order segment arrives" and an immediate ACK when a
/// segment fills the gap.
#[test]
fn out_of_order_segments_and_gap_fillers_are_acked_at_once() {
    let (mut r, _s) = raw_receiver(cfg(SERVER_IP));
    let base = r.snd_nxt;
    let data = pattern(3000, 1);
    assert_eq!(acks(&r.send_data_at(base + 1000, &data[1000..2000], 65_535)), vec![base]);
    assert_eq!(acks(&r.send_data_at(base + 2000, &data[2000..3000], 65_535)), vec![base]);
    assert_eq!(acks(&r.send_data_at(base, &data[..1000], 65_535)), vec![base + 3000]);
}

// ----- 3.7.4 Nagle ------------------------------------------------------------------

/// Write 1 byte, then ten 10-byte writes, flushing after each; returns the payload
/// sizes of the client's data segments.
fn small_writes(ca: Config) -> Vec<(Instant, usize)> {
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let (c, s) = p.establish();
    let start = p.log.len();
    p.a.send(c, b"x").unwrap();
    p.flush();
    for i in 0..10u8 {
        p.a.send(c, &[b'a' + i; 10]).unwrap();
        p.flush();
    }
    p.drive_until(200, |p| p.b.info(s).unwrap().recv_queue == 101);
    let mut expect = b"x".to_vec();
    for i in 0..10u8 {
        expect.extend_from_slice(&[b'a' + i; 10]);
    }
    assert_eq!(recv_all(&mut p.b, s), expect);
    p.log[start..].iter().filter(|g| g.dir == Dir::AtoB && g.len > 0).map(|g| (g.t, g.len)).collect()
}

/// RFC 9293 3.7.4: "If there is unacknowledged data (i.e., SND.NXT > SND.UNA), then the
/// sending TCP endpoint buffers all user data (regardless of the PSH bit) until the
/// outstanding data has been acknowledged".
#[test]
fn nagle_coalesces_small_writes_while_data_is_in_flight() {
    let segs = small_writes(config(CLIENT_IP));
    assert_eq!(segs.iter().map(|s| s.1).collect::<Vec<_>>(), vec![1, 100]);
    // The second goes out when the (delayed) ACK of the first returns.
    assert_eq!(segs[1].0 - segs[0].0, Duration::from_millis(10 + 40 + 10));
}

/// RFC 9293 3.7.4 (MUST-17): "there MUST be a way for an application to disable the
/// Nagle algorithm": with `nagle = false` every small write leaves at once.
#[test]
fn nagle_off_sends_every_small_write_at_once() {
    let segs = small_writes(Config { nagle: false, ..config(CLIENT_IP) });
    assert_eq!(segs.iter().map(|s| s.1).collect::<Vec<_>>(), [vec![1], vec![10; 10]].concat());
    assert!(segs.iter().all(|s| s.0 == segs[0].0), "all at the same instant");
}

// ----- RFC 5681 / 6582 fast retransmit ----------------------------------------------

/// RFC 5681 3.2: "The TCP sender SHOULD use the "fast retransmit" algorithm to detect
/// and repair loss, based on incoming duplicate ACKs ... after receiving 3 duplicate
/// ACKs". One segment lost mid-stream is repaired well before the RTO. (Without
/// RACK's reordering timer, which on this short path would deem the segment lost
/// before the third duplicate: `tests/recovery.rs` tests it.)
#[test]
fn one_lost_segment_is_fast_retransmitted_after_three_duplicate_acks() {
    let ca = Config { rack_reorder_timer: false, ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let (c, s) = p.establish();
    let mut n = 0;
    let mut lost_seq = None;
    p.rule = Box::new(move |g| {
        if g.dir == Dir::AtoB && g.len > 0 {
            n += 1;
            if n == 20 && lost_seq.is_none() {
                lost_seq = Some(g.seq);
                return Fate::Drop;
            }
        }
        Fate::Deliver
    });
    let body = pattern(300_000, 8);
    assert!(transfer(&mut p, Dir::AtoB, c, s, &body, 20_000) == body);
    let lost = p.dropped[0].clone();
    let rtx = p.data_segs(Dir::AtoB).into_iter().find(|g| g.seq == lost.seq && g.t > lost.t).expect("resent");
    let dupacks = p.segs(Dir::BtoA).iter().filter(|g| g.ack == lost.seq && g.t < rtx.t && g.len == 0).count();
    assert!(dupacks >= 4, "an ACK then 3 duplicates before the retransmission: {dupacks}");
    let rto = Duration::from_millis(200);
    assert!(rtx.t - lost.t < rto, "repaired after {:?}, sooner than the RTO", rtx.t - lost.t);
    assert!(timer_fires(&p.trace_a, TimerKind::Rto).is_empty(), "the RTO never fired");
    let info = p.a.info(c).unwrap();
    assert_eq!(info.retransmissions, 1);
    assert!(info.ssthresh < u32::MAX, "the loss halved the window (RFC 5681 3.2 step 2)");
}

/// A sender (the stack) with a 4-segment initial window facing a raw receiver that
/// lost the first segment: returns the peer, the connection, and the four segments.
fn four_in_flight(limited_transmit: bool) -> (RawPeer, ConnId, Vec<RawSeg>) {
    let mut cfg_b = cfg(SERVER_IP);
    cfg_b.initial_window = 4;
    cfg_b.limited_transmit = limited_transmit;
    let (mut r, l) = raw_server(cfg_b);
    let (_, s) = r.connect_in(l, mss_opt(1000), 65_535);
    r.stack.send(s, &pattern(20_000, 3)).unwrap();
    let first = r.poll();
    assert_eq!(first.iter().map(|g| g.payload.len()).collect::<Vec<_>>(), [1000; 4], "cwnd = 4 SMSS");
    (r, s, first)
}

/// RFC 3042 2 (and RFC 5681 3.2 step 1): "a TCP sender SHOULD send a new data segment in
/// response to each of the first two duplicate acknowledgments that arrive at the
/// sender", when the receiver's window allows and the flight stays within cwnd plus 2
/// SMSS; the third duplicate ACK then triggers fast retransmit.
#[test]
fn first_two_duplicate_acks_each_release_one_new_segment_and_the_third_retransmits() {
    let (mut r, s, first) = four_in_flight(true);
    let una = first[0].seq();
    let end = first[3].seq() + 1000;
    let after1 = r.send_ack(una, 65_535);
    assert_eq!(after1.len(), 1, "one new segment for the first duplicate ACK: {after1:?}");
    assert_eq!((after1[0].seq(), after1[0].payload.len()), (end, 1000));
    let after2 = r.send_ack(una, 65_535);
    assert_eq!(after2.len(), 1, "one new segment for the second duplicate ACK");
    assert_eq!((after2[0].seq(), after2[0].payload.len()), (end + 1000, 1000));
    let after3 = r.send_ack(una, 65_535);
    assert_eq!(after3.len(), 1, "the third duplicate ACK retransmits, nothing more: {after3:?}");
    assert_eq!((after3[0].seq(), after3[0].payload.len()), (una, 1000), "fast retransmit of SND.UNA");
    // RFC 5681 3.2 step 2: ssthresh comes from the FlightSize without the segments sent
    // by Limited Transmit: max(4000 / 2, 2 * SMSS).
    assert_eq!(r.stack.info(s).unwrap().ssthresh, 2000);
}

/// RFC 3042 2: "the receiver's advertised window allows" - a duplicate ACK whose window
/// leaves no room sends nothing new (and a window change makes it no duplicate).
#[test]
fn limited_transmit_respects_the_receiver_window() {
    let (mut r, _s, first) = four_in_flight(true);
    let una = first[0].seq();
    // Shrink the window to exactly the flight (not a duplicate: the window changed).
    assert!(r.send_ack(una, 4000).is_empty());
    assert!(r.send_ack(una, 4000).is_empty(), "a duplicate ACK, but the window is full");
    assert!(r.send_ack(una, 4000).is_empty(), "second duplicate ACK, window still full");
}

/// Limited Transmit can be switched off (`Config::limited_transmit`): then the first
/// two duplicate ACKs send nothing, as plain RFC 5681 fast retransmit.
#[test]
fn without_limited_transmit_duplicate_acks_send_nothing_until_the_third() {
    let (mut r, _s, first) = four_in_flight(false);
    let una = first[0].seq();
    assert!(r.send_ack(una, 65_535).is_empty());
    assert!(r.send_ack(una, 65_535).is_empty());
    // The third retransmits SND.UNA first; the inflated cwnd (ssthresh + 3 SMSS = 5000
    // bytes, RFC 5681 3.2 step 3) then lets one new segment follow (step 5).
    let rtx = r.send_ack(una, 65_535);
    assert_eq!(rtx[0].seq(), una);
    assert_eq!(rtx.len(), 2, "{rtx:?}");
}

/// Sends 4 segments with an initial window of 2 and the first segment lost; returns
/// how often the retransmission timer fired.
fn rto_fires_after_first_of_two_lost(limited_transmit: bool) -> usize {
    let mut ca = config(CLIENT_IP);
    ca.initial_window = 2;
    ca.limited_transmit = limited_transmit;
    // The duplicate ACKs alone, without RACK's reordering timer, which would deem the
    // first segment lost sooner (`tests/recovery.rs`).
    ca.rack_reorder_timer = false;
    // Unscaled, the receiver's first ACK announces the window its SYN,ACK did, so it
    // counts as a duplicate (RFC 5681 2 (e): "the advertised window in the incoming
    // acknowledgment equals the advertised window in the last incoming acknowledgment").
    let mut cb = config(SERVER_IP);
    cb.window_scaling = false;
    let mut p = Pair::with_configs(ca, cb);
    let (c, s) = p.establish();
    let mut n = 0;
    p.rule = Box::new(move |g| {
        if g.dir == Dir::AtoB && g.len > 0 {
            n += 1;
            if n == 1 {
                return Fate::Drop;
            }
        }
        Fate::Deliver
    });
    let body = pattern(4 * 1460, 5);
    assert!(transfer(&mut p, Dir::AtoB, c, s, &body, 20_000) == body);
    timer_fires(&p.trace_a, TimerKind::Rto).len()
}

/// RFC 3042 1: with a small window a loss leaves too few segments behind it for three
/// duplicate ACKs. With a window of 2 and the first segment lost, each duplicate ACK
/// releases one new segment, whose duplicate ACK releases the next, until the third
/// triggers fast retransmit: no retransmission timeout.
#[test]
fn small_window_loss_is_repaired_by_fast_retransmit_thanks_to_limited_transmit() {
    assert_eq!(rto_fires_after_first_of_two_lost(true), 0);
}

/// The same loss without Limited Transmit: one duplicate ACK only, so the timer must
/// repair it (which shows the test above can fail).
#[test]
fn small_window_loss_needs_the_rto_without_limited_transmit() {
    assert!(rto_fires_after_first_of_two_lost(false) >= 1);
}

// ----- RFC 6298 RTO -----------------------------------------------------------------

/// RFC 6298 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")"; 5.4: the
/// earliest unacknowledged segment is retransmitted; a new acknowledgment ends the
/// backoff.
#[test]
fn rto_backs_off_exponentially_and_collapses_after_an_ack() {
    // Without tail loss probes, whose probe would come first (tests/loss_probe.rs).
    let no_tlp = |ip| Config { tail_loss_probe: false, ..config(ip) };
    let mut p = Pair::with_configs(no_tlp(CLIENT_IP), no_tlp(SERVER_IP));
    let (c, s) = p.establish();
    let rto0 = p.a.info(c).unwrap().rto;
    assert_eq!(rto0, Duration::from_millis(200), "srtt 20 ms + 4*10 ms, clamped to the 200 ms minimum");
    let mut drops = 0;
    p.rule = Box::new(move |g| {
        if g.dir == Dir::AtoB && g.len > 0 && drops < 5 {
            drops += 1;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.a.send(c, b"hello").unwrap();
    p.drive_until(1000, |p| p.b.info(s).unwrap().recv_queue == 5);
    let sends: Vec<Instant> = p.data_segs(Dir::AtoB).iter().map(|g| g.t).collect();
    assert_eq!(sends.len(), 6);
    let gaps: Vec<Duration> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    let expect: Vec<Duration> = (0..5).map(|i| rto0.saturating_mul(1 << i)).collect();
    assert_eq!(gaps, expect);
    assert!(p.data_segs(Dir::AtoB).iter().all(|g| g.seq == sends_seq(&p)), "the same segment each time");
    assert_eq!(p.a.info(c).unwrap().retransmissions, 5);
    p.drive_until(100, |p| p.a.info(c).unwrap().bytes_in_flight == 0);
    assert_eq!(p.a.info(c).unwrap().rto, rto0, "the backoff ends with the acknowledgment");
}

fn sends_seq(p: &Pair) -> u32 {
    p.data_segs(Dir::AtoB)[0].seq
}

/// RFC 6298 3 (Karn's algorithm): "RTT samples MUST NOT be made using segments that
/// were retransmitted". The retransmitted segment's ACK leaves SRTT and RTTVAR as they
/// were; the next fresh segment is timed again.
#[test]
fn retransmitted_segment_gives_no_rtt_sample() {
    // Without timestamps: with them, the echoed TSval tells the retransmission's ACK
    // from the original's and RFC 7323 4 lets it give a sample (tests/options.rs).
    let no_ts = |ip| Config { timestamps: false, ..config(ip) };
    let mut p = Pair::with_configs(no_ts(CLIENT_IP), no_ts(SERVER_IP));
    let (c, s) = p.establish();
    let before = p.a.info(c).unwrap();
    assert_eq!(before.srtt, Some(Duration::from_millis(20)));
    let mut dropped = false;
    p.rule = Box::new(move |g| {
        if g.dir == Dir::AtoB && g.len > 0 && !dropped {
            dropped = true;
            Fate::Drop
        } else {
            Fate::Deliver
        }
    });
    p.a.send(c, b"ping").unwrap();
    p.flush();
    p.drive_until(1000, |p| p.a.info(c).unwrap().bytes_in_flight == 0);
    let after = p.a.info(c).unwrap();
    assert_eq!(after.retransmissions, 1);
    assert_eq!((after.srtt, after.rttvar), (before.srtt, before.rttvar), "no sample from the retransmission");
    recv_all(&mut p.b, s);
    p.a.send(c, b"pong").unwrap();
    p.flush();
    p.drive_until(1000, |p| p.a.info(c).unwrap().bytes_in_flight == 0);
    assert_ne!(p.a.info(c).unwrap().srtt, before.srtt, "a fresh segment is timed");
}

// ----- 3.10.7.4 reassembly, bounded memory ------------------------------------------

/// RFC 9293 3.10.7.4 (seventh step) and 3.3.1: segments beyond RCV.NXT are held, only
/// "new parts" of overlapping segments are used, duplicates change nothing; the result
/// is byte-exact.
#[test]
fn out_of_order_duplicated_and_overlapping_segments_reassemble_byte_exact() {
    let c = Config { recv_buffer: 4096, ..cfg(SERVER_IP) };
    let (mut r, s) = raw_receiver(c);
    let base = r.snd_nxt;
    let data = pattern(4000, 11);
    let pieces: [(usize, usize); 11] = [
        (1000, 1500),
        (200, 700),
        (1200, 2200),
        (1000, 1500),
        (3000, 4000),
        (2100, 3100),
        (0, 300),
        (0, 300),
        (250, 1100),
        (3500, 4000),
        (0, 4000),
    ];
    for (a, b) in pieces {
        r.send_data_at(base + a as u32, &data[a..b], 65_535);
        let info = r.stack.info(s).unwrap();
        assert!(info.recv_queue <= 4096);
    }
    let acked = r.received.iter().rev().find(|g| g.flags().ack()).map(|g| g.ack()).unwrap();
    assert_eq!(acked, base + 4000);
    assert!(recv_all(&mut r.stack, s) == data);
}

/// The receive buffer never holds more than its configured size: data beyond the
/// offered window is dropped (and answered with an ACK showing the window), never
/// stored.
#[test]
fn receive_buffer_never_exceeds_its_configured_size() {
    let c = Config { recv_buffer: 4096, ..cfg(SERVER_IP) };
    let (mut r, s) = raw_receiver(c);
    let base = r.snd_nxt;
    let data = pattern(10_000, 12);
    for chunk in data.chunks(1000) {
        let out = r.send_data(chunk, 65_535);
        assert!(r.stack.info(s).unwrap().recv_queue <= 4096);
        let _ = out;
    }
    // Far beyond the window, and out of order beyond it.
    r.send_data_at(base + 50_000, &data[..1000], 65_535);
    r.send_data_at(base + 4500, &data[4500..5500], 65_535);
    r.advance(Duration::from_millis(100));
    let info = r.stack.info(s).unwrap();
    assert_eq!(info.recv_queue, 4096);
    assert_eq!(info.recv_window, 0);
    let last = r.received.last().unwrap();
    assert_eq!((last.ack(), last.hdr.window), (base + 4096, 0));
    assert!(recv_all(&mut r.stack, s) == data[..4096]);
    // After the read, retransmitting the rest completes the stream.
    let mut off = 4096;
    while off < data.len() {
        let end = (off + 1000).min(data.len());
        r.send_data_at(base + off as u32, &data[off..end], 65_535);
        off = end;
    }
    let mut got = data[..4096].to_vec();
    got.extend(recv_all(&mut r.stack, s));
    // The window may not have reopened for every byte yet; read and resend until done.
    for _ in 0..20 {
        if got.len() == data.len() {
            break;
        }
        let off = got.len();
        let end = (off + 1000).min(data.len());
        r.send_data_at(base + off as u32, &data[off..end], 65_535);
        got.extend(recv_all(&mut r.stack, s));
    }
    assert!(got == data);
}

/// `max_ooo_ranges` bounds the out-of-order islands kept: further islands are dropped
/// (the sender retransmits them), never stored.
#[test]
fn out_of_order_ranges_are_bounded_by_max_ooo_ranges() {
    let c = Config { max_ooo_ranges: 4, ..cfg(SERVER_IP) };
    let (mut r, s) = raw_receiver(c);
    let base = r.snd_nxt;
    let data = pattern(2000, 13);
    // Ten islands [100k+100, 100k+200) for k = 0..10.
    for k in 0..10u32 {
        let a = (200 * k + 100) as usize;
        r.send_data_at(base + a as u32, &data[a..a + 100], 65_535);
    }
    // Fill every gap in order: the first four islands join, the fifth was never kept.
    for k in 0..10u32 {
        let a = (200 * k) as usize;
        r.send_data_at(base + a as u32, &data[a..a + 100], 65_535);
    }
    let ack = r.received.last().unwrap().ack();
    assert_eq!(ack, base + 900, "islands beyond the fourth were dropped");
    // Resend everything: complete and byte-exact.
    r.send_data_at(base, &data, 65_535);
    assert!(recv_all(&mut r.stack, s) == data);
}

/// Reordering and duplication on a live pair: every 7th segment arrives 15 ms late,
/// every 5th twice; the stream is byte-exact.
#[test]
fn reordered_and_duplicated_stream_is_delivered_byte_exact() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    let mut n = 0u32;
    p.rule = Box::new(move |g| {
        n += 1;
        if g.len > 0 && n % 7 == 0 {
            Fate::Delay(Duration::from_millis(15))
        } else if n % 5 == 0 {
            Fate::Duplicate
        } else {
            Fate::Deliver
        }
    });
    let body = pattern(200_000, 14);
    assert!(transfer(&mut p, Dir::AtoB, c, s, &body, 20_000) == body);
    let back = pattern(50_000, 15);
    assert!(transfer(&mut p, Dir::BtoA, s, c, &back, 20_000) == back);
    assert!(p.b.stats().unacceptable > 0 || p.a.stats().unacceptable > 0, "duplicates were seen");
}
