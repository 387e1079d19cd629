//! Simulation campaigns: a slice of seeds keeps every invariant, a seed replays exactly,
//! and the campaign's check fails on wrong results and traces (a lost or changed byte,
//! a TIME-WAIT or connection left behind, a connection not CLOSED, an unexplained
//! error, a timer left armed).

use synack::{CloseReason, ConnError};
use synack_sim::campaign::{Campaign, Case, CaseRun, CloseOrder, Side};
use synack_sim::HostResult;
use synack_viz::{Event, TraceLine};

/// The seeds `cargo test` runs (CI runs more through the CLI).
const SLICE: u64 = 50;

fn check(run: &CaseRun, trace: &[TraceLine], hosts: &[HostResult]) -> Result<(), Vec<String>> {
    run.case.scenario().check_trace(trace, hosts, &run.case.options())
}

fn assert_reports(res: Result<(), Vec<String>>, needle: &str) {
    let diffs = res.expect_err("the tampered result must fail the campaign's check");
    assert!(diffs.iter().any(|d| d.contains(needle)), "no {needle:?} in {diffs:#?}");
}

/// The first seed from 1 on whose case matches `want` and passed.
fn passing_case(want: impl Fn(&Case) -> bool) -> CaseRun {
    (1..500)
        .map(Case::from_seed)
        .filter(|c| want(c))
        .map(|c| c.run())
        .find(CaseRun::passed)
        .expect("a passing case of that kind among the first seeds")
}

fn client_first_with_data_both_ways() -> CaseRun {
    passing_case(|c| c.order == CloseOrder::ClientFirst && c.client_bytes > 100 && c.server_bytes > 100)
}

fn is_state(l: &TraceLine, host: &str, from: &str, to: &str) -> bool {
    matches!(&l.event, Event::State(s) if s.host == host && s.from == from && s.to == to)
}

#[test]
fn a_slice_of_seeds_keeps_every_invariant() {
    let report = Campaign::new(1, SLICE, 2).run(&mut |_| {});
    assert_eq!(report.failures, Vec::new());
    assert_eq!(report.passed, SLICE);
    assert_eq!(report.delivered + report.aborted + report.network_errors.len() as u64, SLICE);
    assert!(report.delivered > 0 && report.aborted > 0, "{report:?}");
    let f = report.faults;
    assert!(f.drops > 0 && f.dups > 0 && f.reorders > 0 && f.corruptions > 0 && f.spikes > 0, "{f:?}");
    assert!(report.bad_checksums > 0, "corrupted datagrams are caught by the checksums");
    // Reordering and delay spikes are among the faults: some recoveries prove spurious.
    assert!(report.recoveries_undone > 0 && report.spurious_timeouts > 0, "{report:?}");
}

#[test]
fn narrowed_cases_find_the_path_mtu_and_keep_every_invariant() {
    // `--narrow-links`: links narrower than the hosts' MTU answer full-sized segments
    // with ICMP "fragmentation needed" (RFC 1191); the same faults go on.
    let mut reductions = 0;
    let mut narrowed = 0;
    for seed in 1..=60 {
        let case = Case::from_seed(seed).narrowed();
        narrowed += u64::from(case.link_mtu.is_some());
        let run = case.run();
        assert!(run.passed(), "seed {seed}: {:?}", run.verdict);
        reductions += run.result.hosts.iter().map(|h| h.stats.pmtu_reductions).sum::<u64>();
    }
    // Most cases keep the default 1500-byte MTU, so most are narrowed; and Path MTU
    // Discovery is what got their data through.
    assert!(narrowed > 30, "{narrowed} of 60 cases narrowed");
    assert!(reductions > 30, "{reductions} path MTU reductions in 60 cases");
    // A narrowed case's faults stay those of its seed, and its links are narrower than
    // both hosts; a case whose hosts use 576 bytes is not narrowed.
    for seed in 1..=60 {
        let (plain, narrow) = (Case::from_seed(seed), Case::from_seed(seed).narrowed());
        assert_eq!((&plain.client_to_server, plain.link_mtu), (&narrow.client_to_server, None));
        let host = narrow.client_stack.mtu.min(narrow.server_stack.mtu);
        match narrow.link_mtu {
            Some(m) => assert!(m < host, "seed {seed}: link {m} for hosts of {host}"),
            None => assert_eq!(host, 576, "seed {seed}"),
        }
    }
}

#[test]
fn ecn_cases_keep_every_invariant_and_trade_losses_for_marks() {
    // `--ecn`: the client asks for ECN (RFC 3168) and the links mark CE what their
    // random loss picks when it is ECN-capable. Same seeds, same faults drawn: the
    // marks replace losses of new data, and the stacks answer them without
    // retransmitting.
    let plain = Campaign::new(1, SLICE, 2).run(&mut |_| {});
    let ecn = Campaign { ecn: true, ..Campaign::new(1, SLICE, 2) }.run(&mut |_| {});
    assert_eq!(ecn.failures, Vec::new());
    assert_eq!(ecn.passed, SLICE);
    assert_eq!(plain.faults.ce_marks, 0);
    assert!(ecn.faults.ce_marks > 100, "{:?}", ecn.faults);
    assert!(ecn.faults.drops < plain.faults.drops, "{:?} against {:?}", ecn.faults, plain.faults);
    assert!(
        ecn.retransmissions < plain.retransmissions,
        "{} against {}",
        ecn.retransmissions,
        plain.retransmissions
    );
    // The marks reached the stacks and were answered: echoes and reductions.
    let mut echoed = false;
    for seed in 1..=SLICE {
        let run = Case::from_seed(seed).with_ecn().run();
        let stats = |name: &str| run.result.hosts.iter().find(|h| h.name == name).map(|h| h.stats);
        let (client, server) = (stats("client").expect("client"), stats("server").expect("server"));
        echoed |= client.ecn_reductions > 0 && server.ecn_ce_received > 0;
        assert_eq!(Case::from_seed(seed).with_ecn().client_to_server, Case::from_seed(seed).client_to_server);
    }
    assert!(echoed, "no case both marked the client's data and saw the client respond");
}

/// Seeds that once stalled with `--ecn` (found by `sim campaign --seeds 100000 --ecn`,
/// 67 of them): a PRR recovery's last retransmission spent its budget, leaving cwnd
/// at zero; the ACK that ended the recovery carried an ECN echo, and "SHOULD NOT
/// increase the congestion window" kept the zero. No new segment could then carry
/// CWR, the peer echoed on, and each echo held the sender again (RFC 3168 6.1.2) - a
/// connection stalled for the rest of the run. The window is now bounded below by one
/// MSS, as 6.1.2 says.
#[test]
fn ecn_cases_where_an_echo_ended_a_recovery_finish() {
    for seed in [1376, 2498, 3485, 4515, 7487] {
        let run = Case::from_seed(seed).with_ecn().run();
        assert!(run.passed(), "seed {seed}: {:?}", run.verdict);
    }
}

#[test]
fn the_report_does_not_depend_on_the_number_of_threads() {
    let one = Campaign::new(100, 12, 1).run(&mut |_| {});
    let three = Campaign::new(100, 12, 3).run(&mut |_| {});
    assert_eq!(one, three);
}

#[test]
fn progress_is_reported_after_every_seed() {
    let mut seen = Vec::new();
    Campaign::new(7, 4, 1).run(&mut |p| seen.push((p.done, p.total)));
    assert_eq!(seen, vec![(1, 4), (2, 4), (3, 4), (4, 4)]);
}

#[test]
fn a_seed_replays_the_same_case_and_the_same_trace() {
    let a = Case::from_seed(4711).run();
    let b = Case::from_seed(4711).run();
    assert_eq!(a.case, b.case);
    assert_eq!(a.result.trace, b.result.trace);
    assert_eq!(a.result.hosts, b.result.hosts);
}

#[test]
fn every_closing_order_passes() {
    for order in [
        CloseOrder::ClientFirst,
        CloseOrder::ServerFirst,
        CloseOrder::Simultaneous,
        CloseOrder::HalfClose,
        CloseOrder::Abort(Side::Client),
        CloseOrder::Abort(Side::Server),
    ] {
        let run = passing_case(|c| c.order == order);
        assert!(run.passed(), "{order}: {:?}", run.verdict);
    }
}

#[test]
fn a_half_close_delivers_the_data_sent_after_the_fin() {
    let run = passing_case(|c| c.order == CloseOrder::HalfClose && c.after_fin_bytes > 1000);
    let client = run.result.host("client").expect("client");
    assert_eq!(client.bytes_received, run.case.server_bytes + run.case.after_fin_bytes);
    assert!(client.eof, "the client read the server's FIN after the data");
}

#[test]
fn an_abort_ends_in_an_error_on_both_sides() {
    for side in [Side::Client, Side::Server] {
        let run = passing_case(|c| c.order == CloseOrder::Abort(side) && c.client_bytes > 1000);
        for h in &run.result.hosts {
            assert!(matches!(h.outcome, Some(CloseReason::Error(_))), "{}: {:?}", h.name, h.outcome);
        }
        let peer = run.result.host(side.peer().name()).expect("peer");
        assert!(
            matches!(
                peer.outcome,
                Some(CloseReason::Error(ConnError::Reset | ConnError::TimedOut | ConnError::Aborted))
            ),
            "{:?}",
            peer.outcome
        );
    }
}

#[test]
fn the_untouched_result_passes_the_check() {
    let run = client_first_with_data_both_ways();
    assert_eq!(check(&run, &run.result.trace, &run.result.hosts), Ok(()));
}

#[test]
fn a_lost_byte_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let mut hosts = run.result.hosts.clone();
    hosts[1].bytes_received -= 1;
    assert_reports(check(&run, &run.result.trace, &hosts), "server: the exchange is incomplete");
    assert_reports(check(&run, &run.result.trace, &hosts), "are not the first");
}

#[test]
fn a_changed_or_extra_byte_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let mut hosts = run.result.hosts.clone();
    hosts[0].received_hash ^= 1;
    assert_reports(check(&run, &run.result.trace, &hosts), "client: the");
    let mut hosts = run.result.hosts.clone();
    hosts[0].bytes_received += 1;
    assert_reports(check(&run, &run.result.trace, &hosts), "more than the");
}

#[test]
fn a_time_wait_left_behind_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let mut hosts = run.result.hosts.clone();
    hosts[0].time_wait_left = 1;
    assert_reports(check(&run, &run.result.trace, &hosts), "client: 1 TIME-WAIT record(s) left");
    // The trace that never leaves TIME-WAIT tells the same.
    let trace: Vec<TraceLine> =
        run.result.trace.iter().filter(|l| !is_state(l, "client", "TIME-WAIT", "CLOSED")).cloned().collect();
    assert_reports(check(&run, &trace, &run.result.hosts), "ended in TIME-WAIT, not CLOSED");
}

#[test]
fn a_connection_not_closed_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let trace: Vec<TraceLine> =
        run.result.trace.iter().filter(|l| !is_state(l, "server", "LAST-ACK", "CLOSED")).cloned().collect();
    assert_reports(check(&run, &trace, &run.result.hosts), "ended in LAST-ACK, not CLOSED");
    let mut hosts = run.result.hosts.clone();
    hosts[1].connections_left = 1;
    assert_reports(check(&run, &run.result.trace, &hosts), "server: 1 connection(s) still held");
}

#[test]
fn a_timer_left_armed_or_a_run_that_never_goes_quiet_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let mut hosts = run.result.hosts.clone();
    hosts[1].timer_left_us = Some(3_600_000_000);
    assert_reports(check(&run, &run.result.trace, &hosts), "server: a timer still armed");
    // The last line (TIME-WAIT's end, 60 s after the last segment) ten minutes later
    // than it was, or 17 s later: past the bound of 76 s (keep-alive's 75 s interval
    // and a second). 15 s later is within it.
    for (later_us, fails) in [(600_000_000, true), (17_000_000, true), (15_000_000, false)] {
        let mut trace = run.result.trace.clone();
        if let Some(last) = trace.last_mut() {
            last.t_us += later_us;
        }
        // (Moving TIME-WAIT's end also breaks TIME-WAIT's own checks; only the quiet
        // bound's report is looked at here.)
        let reasons = check(&run, &trace, &run.result.hosts).err().unwrap_or_default();
        let quiet = reasons.iter().any(|r| r.contains("after the last segment"));
        assert_eq!(quiet, fails, "{later_us}: {reasons:?}");
    }
}

#[test]
fn an_error_on_one_side_only_fails_the_check() {
    let run = client_first_with_data_both_ways();
    let mut hosts = run.result.hosts.clone();
    hosts[1].bytes_received /= 2;
    hosts[0].outcome = Some(CloseReason::Error(ConnError::Reset));
    assert_reports(check(&run, &run.result.trace, &hosts), "server: the exchange is incomplete");
    let res = check(&run, &run.result.trace, &hosts);
    assert!(
        !res.expect_err("fails").iter().any(|d| d.starts_with("client: the exchange is incomplete")),
        "the side that reports the reset explains itself"
    );
}

#[test]
fn a_peer_that_never_learns_of_the_abort_fails_the_check() {
    let run = passing_case(|c| c.order == CloseOrder::Abort(Side::Client));
    let mut hosts = run.result.hosts.clone();
    hosts[1].outcome = Some(CloseReason::Normal);
    assert_reports(
        check(&run, &run.result.trace, &hosts),
        "server: its peer aborted, but its connection ended normal",
    );
}

#[test]
fn user_timeout_cases_keep_every_invariant_and_give_up_where_r2_kept_trying() {
    // `--user-timeout`: every connection gets the user timeout (RFC 9293 3.10.8). Same
    // seeds, same faults: where losses hold data unacknowledged for 5 s a side now
    // gives up with `TimedOut`, an explained outcome, where R2 alone kept it trying.
    let plain = Campaign::new(1, SLICE, 2).run(&mut |_| {});
    let ut = synack::Duration::from_secs(5);
    let timed = Campaign { user_timeout: Some(ut), ..Campaign::new(1, SLICE, 2) }.run(&mut |_| {});
    assert_eq!(timed.failures, Vec::new());
    assert_eq!(timed.passed, SLICE);
    assert!(
        timed.network_errors.len() > plain.network_errors.len(),
        "{:?} against {:?}",
        timed.network_errors,
        plain.network_errors
    );
    // (Giving up sends nothing, as after R2: a peer with nothing outstanding learns of
    // it from its keep-alive, two hours on, so these cases run longer, not shorter.)
    assert!(Case::from_seed(1).with_user_timeout(ut).describe().ends_with("; user timeout 5000 ms"));
}

#[test]
fn cubic_cases_keep_every_invariant() {
    // `--cubic`: both hosts run CUBIC (RFC 9438). Same seeds, same case: every
    // invariant holds, and the runs differ from Reno's (the windows, and with them the
    // datagrams the random faults fall on).
    let plain = Campaign::new(1, SLICE, 2).run(&mut |_| {});
    let cubic = Campaign { cubic: true, ..Campaign::new(1, SLICE, 2) }.run(&mut |_| {});
    assert_eq!(cubic.failures, Vec::new());
    assert_eq!(cubic.passed, SLICE);
    assert_ne!(cubic.retransmissions, plain.retransmissions, "CUBIC was in effect");
    assert!(Case::from_seed(1).with_cubic().describe().ends_with("; CUBIC"));
}

#[test]
fn bottleneck_cases_overflow_router_buffers_and_keep_every_invariant() {
    // `--bottleneck`: each direction through 0.5 to 50 Mbit/s and a drop-tail buffer
    // of 2 to 64 datagrams, on top of the case's faults. Every invariant holds, and
    // the buffers do overflow (runs of losses at once, which found three faults in
    // loss recovery: `tests/hystart.rs`).
    let r = Campaign { bottleneck: true, ..Campaign::new(1, SLICE, 2) }.run(&mut |_| {});
    assert_eq!(r.failures, Vec::new());
    assert_eq!(r.passed, SLICE);
    assert!(r.faults.overflows > 0, "{:?}", r.faults);
    assert!(r.faults.overflows <= r.faults.drops, "overflows are drops too");
    // The bottleneck is the seed's, drawn apart from the rest of the case.
    let case = Case::from_seed(7).with_bottleneck();
    let [(cb, cq), (sb, sq)] = case.bottleneck.expect("a bottleneck");
    for (bits, buffer) in [(cb, cq), (sb, sq)] {
        assert!((500_000..=50_000_000).contains(&bits), "{bits}");
        let mtu = usize::from(case.client_stack.mtu.max(case.server_stack.mtu));
        assert!((2 * mtu..=64 * mtu).contains(&buffer), "{buffer} against {mtu}");
    }
    assert_eq!(Case { bottleneck: None, ..case.clone() }, Case::from_seed(7));
    assert_eq!(case, Case::from_seed(7).with_bottleneck(), "deterministic");
    assert!(case.describe().contains("; bottlenecks client->server"), "{}", case.describe());
    // Without one, no buffer drops anything.
    assert_eq!(Campaign::new(1, SLICE, 2).run(&mut |_| {}).faults.overflows, 0);
}
