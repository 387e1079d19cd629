//! Loss recovery after a retransmission timeout, on a lossy path
//! (`examples/lossy-download.toml`): the resend from SND.UNA that follows the timeout
//! repeats little the receiver already holds. Two rules make it so:
//! - duplicate ACKs that do not cover the timeout's SND.NXT start no fast recovery
//!   (RFC 6582 4): before, such a recovery set the window from everything outstanding
//!   at the timeout, undoing the collapse the timeout had just made;
//! - the SACK scoreboard outlives the timeout, and the resend skips what it holds
//!   (RFC 6675 5.1, RFC 8985 6.3), with reneging detected (RFC 2018 8).

use synack_sim::{run, Retransmissions, Scenario, SimOptions};

/// The example: 4 MB from a CUBIC server over 20 Mbit/s, 40 ms round trip, 10% of
/// the server's datagrams lost.
const LOSSY: &str = include_str!("../examples/lossy-download.toml");

/// The server's retransmissions as the trace shows them, and the D-SACKs it received.
fn counts(seed: u64) -> (Retransmissions, u64) {
    let sc = Scenario::from_toml_str(LOSSY).expect("valid scenario");
    let r = run(&sc, &SimOptions { seed, ..SimOptions::default() }).expect("the run ends");
    assert!(r.passed(), "seed {seed}: {:?}", r.check);
    assert_eq!(r.host("client").expect("client").bytes_received, 4_000_000, "seed {seed}: every byte");
    let dsacks = r.host("server").expect("server").stats.dsacks_received;
    (r.retransmissions("server->client"), dsacks)
}

#[test]
fn after_timeouts_the_sender_resends_little_the_client_already_holds() {
    // Every seed times out several times. Measured: 2,453 losses, 2,531
    // retransmissions, 72 of them needless, over the eight seeds. Before both rules:
    // 4,261 losses, 20,620 retransmissions, 8,060 needless; with the first rule alone,
    // 2,479 losses, 2,767 retransmissions, 298 needless.
    let mut total = Retransmissions::default();
    let mut dsacks = 0;
    for seed in 1..=8 {
        let (c, d) = counts(seed);
        eprintln!("seed {seed}: {c:?}, {d} D-SACKs");
        dsacks += d;
        assert!(c.timeouts > 0, "seed {seed}: the path exercises the timeout");
        total.lost += c.lost;
        total.retransmitted += c.retransmitted;
        total.needless += c.needless;
        total.timeouts += c.timeouts;
    }
    eprintln!("total: {total:?}, {dsacks} D-SACKs");
    assert!(total.needless * 20 <= total.lost, "at most 5% as many needless as lost: {total:?}");
    // The stack's own count agrees with the trace's, within 30%: the client reports in
    // a D-SACK (RFC 2883) each segment it receives twice. That is each needless
    // retransmission the path does not lose (it loses a tenth, and none of the ACKs),
    // and also a retransmission sent while the copy before it was still on its way,
    // which the trace's count does not call needless (measured: 78 D-SACKs for 72).
    let (lo, hi) = (total.needless * 7 / 10, total.needless * 13 / 10);
    assert!((lo..=hi).contains(&dsacks), "{dsacks} D-SACKs, {total:?}");
    assert!(total.retransmitted <= total.lost + total.lost / 10, "{total:?}");
}

/// The time-sequence graph of such a run (`synack sim ... --seqgraph`) draws exactly
/// the retransmissions, losses and timeouts the trace holds: the picture and the
/// counts above agree.
#[test]
fn the_time_sequence_graph_draws_every_retransmission_loss_and_timeout() {
    let sc = Scenario::from_toml_str(LOSSY).expect("valid scenario");
    let r = run(&sc, &SimOptions { seed: 1, ..SimOptions::default() }).expect("the run ends");
    let c = r.retransmissions("server->client");
    let svg =
        synack_viz::render_seqgraph(&r.trace, &synack_viz::SeqGraphOptions::default()).expect("a graph");
    let drawn = |class: &str| svg.matches(&format!("class=\"{class}\"")).count() as u64;
    assert_eq!(drawn("seg rtx"), c.retransmitted);
    assert_eq!(drawn("drop"), c.lost);
    assert_eq!(drawn("rto"), c.timeouts);
    assert!(drawn("seg new") > 2_700, "every segment of 4 MB: {}", drawn("seg new"));
}

/// The same download over a link that stalls now and then (`spike`: 0.2% of datagrams
/// stall it for 500 ms, no loss), with F-RTO (RFC 5682, `Config::frto`) on the server
/// and without. A stall longer than the RTO fires the timer with nothing lost: without
/// F-RTO the server resends the window the client is about to receive; with it, the
/// ACKs of data never resent show the timeout spurious and the resend is skipped.
/// Measured over these four seeds: 1,605 retransmissions without (1,597 of them
/// needless) after 27 timer expiries, 4 with, and 4 timeouts found spurious (the other
/// expiries are the backed-off timer firing again within the same stall).
#[test]
fn f_rto_finds_the_timeouts_of_delay_spikes_spurious_and_skips_the_resend() {
    let stalls = LOSSY.replace("loss = 0.10", "loss = 0\nspike = 0.002\nspike_delay_ms = 500");
    let run_with = |frto: bool| {
        let text = stalls.replace(
            "congestion_control = \"cubic\"",
            &format!("congestion_control = \"cubic\"\nfrto = {frto}"),
        );
        let sc = Scenario::from_toml_str(&text).expect("valid scenario");
        let (mut total, mut spurious) = (Retransmissions::default(), 0);
        for seed in 1..=4 {
            let r = run(&sc, &SimOptions { seed, ..SimOptions::default() }).expect("the run ends");
            assert!(r.passed(), "seed {seed}: {:?}", r.check);
            assert!(r.links.iter().any(|l| l.spikes > 0), "seed {seed}: the link stalls");
            let c = r.retransmissions("server->client");
            total.retransmitted += c.retransmitted;
            total.needless += c.needless;
            total.timeouts += c.timeouts;
            spurious += r.host("server").expect("server").stats.spurious_timeouts;
        }
        eprintln!("frto={frto}: {total:?}, {spurious} found spurious");
        (total, spurious)
    };
    let (without, none) = run_with(false);
    let (with, spurious) = run_with(true);
    assert_eq!(none, 0);
    assert!(without.timeouts > 0 && without.needless * 2 > without.retransmitted, "{without:?}");
    assert!(spurious > 0, "F-RTO found no timeout spurious");
    assert!(with.retransmitted * 20 < without.retransmitted, "{with:?} against {without:?}");
}
