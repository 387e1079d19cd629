//! Each check fails on a wrong trace: a missing state line, a short TIME-WAIT, a
//! missing retransmission, wrong bytes.

mod common;

use common::*;
use synack_sim::SimOptions;
use synack_viz::{Event, TraceLine};

fn check(name: &str, trace: &[TraceLine], r: &synack_sim::SimResult) -> Result<(), Vec<String>> {
    scenario(name).check_trace(trace, &r.hosts, &SimOptions::default())
}

fn is_state(l: &TraceLine, host: &str, from: &str, to: &str) -> bool {
    matches!(&l.event, Event::State(s) if s.host == host && s.from == from && s.to == to)
}

fn assert_reports(res: Result<(), Vec<String>>, needle: &str) {
    let diffs = res.expect_err("the tampered trace must fail its check");
    assert!(diffs.iter().any(|d| d.contains(needle)), "no {needle:?} in {diffs:#?}");
}

#[test]
fn the_untouched_trace_passes_check_trace() {
    for name in names() {
        let r = run_default(name);
        assert_eq!(check(name, &r.trace, &r), Ok(()), "{name}");
    }
}

#[test]
fn removing_any_state_line_of_a_connection_fails_every_check() {
    for name in names() {
        let r = run_default(name);
        let state_lines: Vec<usize> = r
            .trace
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(&l.event, Event::State(s) if !s.conn.ends_with("-0.0.0.0:0")))
            .map(|(i, _)| i)
            .collect();
        assert!(!state_lines.is_empty(), "{name}");
        for i in state_lines {
            let mut t = r.trace.clone();
            let removed = t.remove(i);
            assert!(check(name, &t, &r).is_err(), "{name}: removing {removed:?} went unnoticed");
        }
    }
}

#[test]
fn removing_fin_wait_2_is_reported_as_a_story_difference() {
    let r = run_default("close");
    let t: Vec<TraceLine> =
        r.trace.iter().filter(|l| !is_state(l, "client", "FIN-WAIT-1", "FIN-WAIT-2")).cloned().collect();
    assert_reports(check("close", &t, &r), "client: expected FIN-WAIT-2 after FIN-WAIT-1, got TIME-WAIT");
}

#[test]
fn a_short_time_wait_is_reported() {
    for (name, host) in [
        ("close", "client"),
        ("server-close", "server"),
        ("demo", "client"),
        ("simultaneous-close", "server"),
    ] {
        let r = run_default(name);
        let mut t = r.trace.clone();
        let end = t.iter().position(|l| is_state(l, host, "TIME-WAIT", "CLOSED")).expect("TIME-WAIT ends");
        // Leave TIME-WAIT one second early (still in time order).
        t[end].t_us -= 1_000_000;
        let end_line = t.remove(end);
        let at = t.iter().position(|l| l.t_us > end_line.t_us).unwrap_or(t.len());
        t.insert(at, end_line);
        assert_reports(check(name, &t, &r), &format!("{host}: TIME-WAIT lasted 59000 ms"));
    }
}

#[test]
fn a_missing_retransmitted_fin_is_reported() {
    let r = run_default("lost-final-ack");
    let t: Vec<TraceLine> = r
        .trace
        .iter()
        .filter(|l| !matches!(&l.event, Event::Send(s) if s.host == "server" && s.retransmit && s.seg.flags.contains('F')))
        .cloned()
        .collect();
    assert_eq!(t.len() + 1, r.trace.len());
    assert_reports(check("lost-final-ack", &t, &r), "server: FIN was not retransmitted");
}

#[test]
fn a_time_wait_without_restart_is_reported_in_lost_final_ack() {
    let r = run_default("lost-final-ack");
    // Keep only the first 2×MSL timer set of the client.
    let mut seen = false;
    let t: Vec<TraceLine> = r
        .trace
        .iter()
        .filter(|l| match &l.event {
            Event::Timer(tm) if tm.host == "client" && tm.timer == "time-wait" && tm.action == "set" => {
                let keep = !seen;
                seen = true;
                keep
            }
            _ => true,
        })
        .cloned()
        .collect();
    assert_reports(check("lost-final-ack", &t, &r), "client: 2×MSL was not restarted");
}

#[test]
fn missing_losses_and_retransmissions_are_reported() {
    for (name, needle) in [
        ("lost-syn", "client->server: no SYN was lost"),
        ("lost-synack", "server->client: no SYN-ACK was lost"),
        ("lost-ack", "client->server: the handshake's ACK was not lost"),
        ("lost-final-ack", "client->server: the final ACK was not lost"),
    ] {
        let r = run_default(name);
        let t: Vec<TraceLine> = r.trace.iter().filter(|l| l.ev() != "drop").cloned().collect();
        assert_reports(check(name, &t, &r), needle);
    }
    let r = run_default("lost-syn");
    let t: Vec<TraceLine> =
        r.trace.iter().filter(|l| !matches!(&l.event, Event::Send(s) if s.retransmit)).cloned().collect();
    assert_reports(check("lost-syn", &t, &r), "client: SYN was not retransmitted");
}

#[test]
fn wrong_bytes_are_reported() {
    for (name, host) in [("transfer", "server"), ("demo", "client"), ("half-close", "client")] {
        let r = run_default(name);
        let k = r.hosts.iter().position(|h| h.name == host).expect("host");
        let mut hosts = r.hosts.clone();
        hosts[k].received_hash ^= 1;
        let res = scenario(name).check_trace(&r.trace, &hosts, &SimOptions::default());
        assert_reports(res, &format!("{host}: the "));
        hosts[k].received_hash ^= 1;
        hosts[k].bytes_received -= 1;
        let res = scenario(name).check_trace(&r.trace, &hosts, &SimOptions::default());
        assert_reports(res, &format!("{host}: read "));
    }
}

#[test]
fn a_missing_rst_or_outcome_is_reported() {
    let r = run_default("refused");
    let t: Vec<TraceLine> =
        r.trace.iter().filter(|l| l.seg().is_none_or(|s| !s.flags.contains('R'))).cloned().collect();
    assert_reports(check("refused", &t, &r), "server: sent no RST");
    let mut hosts = r.hosts.clone();
    hosts[0].outcome = None;
    assert_reports(
        scenario("refused").check_trace(&r.trace, &hosts, &SimOptions::default()),
        "expected refused",
    );

    let r = run_default("reset");
    let mut hosts = r.hosts.clone();
    hosts[1].outcome = Some(synack::CloseReason::Normal);
    assert_reports(
        scenario("reset").check_trace(&r.trace, &hosts, &SimOptions::default()),
        "server: the connection ended normal, expected reset",
    );
}

#[test]
fn a_bogus_transition_is_reported_as_a_figure_5_violation() {
    let r = run_default("close");
    let mut t = r.trace.clone();
    let i = t.iter().position(|l| is_state(l, "client", "FIN-WAIT-2", "TIME-WAIT")).expect("FIN-WAIT-2");
    if let Event::State(s) = &mut t[i].event {
        s.from = "ESTABLISHED".into();
    }
    assert_reports(check("close", &t, &r), "ESTABLISHED -> TIME-WAIT is not an edge of RFC 9293 Figure 5");
}
