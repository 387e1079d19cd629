//! Attacks at scale, scaled down for `cargo test`: a SYN flood against a listener and a
//! blind attacker against established connections. Each goal is also shown missed
//! when the defence is off, so that the checks are known to see a failure.

use std::sync::OnceLock;
use synack::{Duration, SynCookies};
use synack_sim::hostile::{run_attack, run_flood, AttackConfig, FloodConfig, FloodReport};

fn small_flood(syn_cookies: SynCookies) -> FloodConfig {
    FloodConfig { spoofed_syns: 5_000, clients: 10, syn_cookies, ..FloodConfig::default() }
}

/// The scaled-down flood with SYN cookies, run once for the tests that look at it.
fn defended_flood() -> &'static FloodReport {
    static REPORT: OnceLock<FloodReport> = OnceLock::new();
    REPORT.get_or_init(|| run_flood(&small_flood(SynCookies::WhenFull), None))
}

fn small_attack() -> AttackConfig {
    AttackConfig { connections: 10, duration: Duration::from_secs(1), ..AttackConfig::default() }
}

#[test]
fn every_legitimate_client_gets_in_during_a_syn_flood() {
    let r = defended_flood();
    assert_eq!(r.problems(), Vec::<String>::new());
    assert!(r.clients.iter().all(|c| c.accepted && c.completed), "{:?}", r.clients);
    assert!(r.server.syn_cookies_sent > 4_000, "{:?}", r.server);
    assert!(r.server.syn_cookies_validated >= 9, "the clients came in through cookies: {:?}", r.server);
}

#[test]
fn the_server_stays_bounded_under_a_syn_flood_and_drains_afterwards() {
    let r = defended_flood();
    assert!(r.peak_connections <= r.connection_bound(), "{} > {}", r.peak_connections, r.connection_bound());
    assert!(r.peak_connections >= r.config.backlog, "the flood filled the SYN queue");
    assert_eq!(r.left, (0, 0, false));
    assert!(r.replies_to_spoofed >= 5_000, "the network drops the replies to spoofed sources");
    assert!(!r.unfinished);
}

#[test]
fn a_bigger_flood_holds_no_more_connections() {
    let small = defended_flood();
    let big = run_flood(&FloodConfig { spoofed_syns: 10_000, ..small_flood(SynCookies::WhenFull) }, None);
    assert_eq!(big.problems(), Vec::<String>::new());
    assert_eq!(big.peak_connections, small.peak_connections);
}

#[test]
fn without_syn_cookies_the_flood_locks_legitimate_clients_out() {
    let r = run_flood(&small_flood(SynCookies::Off), None);
    let problems = r.problems();
    assert!(problems.iter().any(|p| p.contains("did not complete their exchange")), "{problems:?}");
    assert!(r.server.syn_dropped > 0);
}

#[test]
fn no_connection_is_disrupted_by_a_blind_attacker() {
    let r = run_attack(&small_attack());
    assert_eq!(r.problems(), Vec::<String>::new());
    assert_eq!(r.injected.total(), 1_000);
    assert!(r.injected.rst > 0 && r.injected.syn > 0 && r.injected.data > 0);
    assert!(r.injected.in_window > 50, "{:?}", r.injected);
    assert!(r.client.challenge_acks + r.server.challenge_acks > 0, "RFC 5961 answered the in-window guesses");
    assert!(r.bytes_delivered > 0);
}

#[test]
fn no_connection_is_disrupted_without_timestamps_either() {
    let r = run_attack(&AttackConfig { timestamps: false, in_window: 0.5, ..small_attack() });
    assert_eq!(r.problems(), Vec::<String>::new());
    assert_eq!((r.client.paws_rejected, r.server.paws_rejected), (0, 0), "no timestamps, no PAWS");
}

#[test]
fn without_rfc_5961_the_blind_attacker_resets_connections() {
    let r = run_attack(&AttackConfig { rfc5961: false, timestamps: false, in_window: 0.5, ..small_attack() });
    assert!(!r.disrupted.is_empty(), "an RFC 793 stack falls to in-window RSTs and SYNs");
    assert!(r.disrupted.iter().any(|(_, what)| what.contains("reset")), "{:?}", r.disrupted);
}
