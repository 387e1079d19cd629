//! One connection's congestion control (`Stack::set_congestion_control`, like Linux's
//! `TCP_CONGESTION`) and a listener's (`Stack::set_listener_congestion_control`):
//! Reno (RFC 5681) or CUBIC (RFC 9438), told apart by what a loss does to ssthresh,
//! half of the flight for Reno and 0.7 of it for CUBIC.

mod common;

use common::inject::*;
use synack::{Config, CongestionControl, Error, SynCookies, UsageError};

fn config(cc: CongestionControl) -> Config {
    Config { congestion_control: cc, nagle: false, ..inject_config() }
}

/// The application sends 7,300 bytes (five segments); the remote acknowledges none
/// of them three times over: fast retransmit (RFC 5681 3.2). The ssthresh it set.
fn ssthresh_after_three_duplicate_acks(p: &mut Peer) -> u32 {
    assert_eq!(p.stack.send(p.c(), &[7; 7300]), Ok(7300));
    assert_eq!(p.flush().len(), 5);
    for _ in 0..3 {
        p.feed(Seg::new(A, p.nxt, p.acked));
    }
    p.stack.info(p.c()).expect("info").ssthresh
}

/// A listener with `cc` of its own on a stack configured `cfg`, and a connection it
/// accepted (from its SYN queue, or from a SYN cookie when the configuration says).
fn accepted_from_listener(cfg: Config, cc: CongestionControl) -> Peer {
    let mut p = Peer::listen_with(cfg);
    let l = p.listener.expect("listener");
    p.stack.set_listener_congestion_control(l, cc).expect("set");
    let synack = only(p.feed(Seg::new(S, REMOTE_ISS, 0).mss(1460)));
    p.stack_iss = synack.seq;
    p.acked = synack.seq;
    p.nxt = REMOTE_ISS.wrapping_add(1);
    assert_silent(&p.feed(p.seg(A)));
    p.acked = p.seen;
    p.conn = Some(p.stack.accept(l).expect("accepted"));
    p
}

#[test]
fn a_connection_switched_to_cubic_reduces_by_three_tenths_where_reno_halves() {
    // RFC 9438 4.6: ssthresh = flight_size * beta_cubic (0.7); RFC 5681 3.2 step 2:
    // FlightSize / 2.
    let mut reno = Peer::established_with(config(CongestionControl::Reno));
    assert_eq!(reno.stack.info(reno.c()).expect("info").congestion_control, CongestionControl::Reno);
    assert_eq!(ssthresh_after_three_duplicate_acks(&mut reno), 3650);

    let mut cubic = Peer::established_with(config(CongestionControl::Reno));
    cubic.stack.set_congestion_control(cubic.c(), CongestionControl::Cubic).expect("set");
    assert_eq!(cubic.stack.info(cubic.c()).expect("info").congestion_control, CongestionControl::Cubic);
    assert_eq!(ssthresh_after_three_duplicate_acks(&mut cubic), 5110);

    // And back: Reno's half again.
    let mut back = Peer::established_with(config(CongestionControl::Cubic));
    back.stack.set_congestion_control(back.c(), CongestionControl::Reno).expect("set");
    assert_eq!(ssthresh_after_three_duplicate_acks(&mut back), 3650);
}

#[test]
fn a_listener_s_congestion_control_goes_to_its_connections() {
    for cookies in [SynCookies::Off, SynCookies::Always] {
        let cfg = Config { syn_cookies: cookies, ..config(CongestionControl::Reno) };
        let mut p = accepted_from_listener(cfg, CongestionControl::Cubic);
        assert_eq!(
            p.stack.info(p.c()).expect("info").congestion_control,
            CongestionControl::Cubic,
            "{cookies:?}"
        );
        assert_eq!(ssthresh_after_three_duplicate_acks(&mut p), 5110, "{cookies:?}");
    }
}

#[test]
fn no_congestion_control_is_refused_either_way() {
    let invalid = |e: Error| matches!(e, Error::Usage(UsageError::InvalidValue));
    let mut p = Peer::established_with(config(CongestionControl::Reno));
    assert!(p.stack.set_congestion_control(p.c(), CongestionControl::None).is_err_and(invalid));
    let l = p.listener.expect("listener");
    assert!(p.stack.set_listener_congestion_control(l, CongestionControl::None).is_err_and(invalid));
    // A stack without congestion control has no window to carry over.
    let mut q = Peer::established_with(config(CongestionControl::None));
    assert!(q.stack.set_congestion_control(q.c(), CongestionControl::Cubic).is_err_and(invalid));
    assert_eq!(q.stack.info(q.c()).expect("info").congestion_control, CongestionControl::None);
}
