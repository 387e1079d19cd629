//! `synack sim campaign`, `synack sim syn-flood` and `synack sim blind-attacker` end to
//! end: summaries, replays, exit statuses and one-line errors.

use std::process::{Command, Output};

fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Exit status 2 and one line on stderr naming `needle`.
fn assert_usage_error(args: &[&str], needle: &str) {
    let out = synack(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line expected, got {stderr:?}");
    assert!(stderr.starts_with("synack: error: ") && stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn a_campaign_ends_with_its_summary_and_the_plain_passed_failed_line() {
    let out = synack(&["sim", "campaign", "--seeds", "5", "--from", "1"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("campaign: 5 seeds (1..=5), 0 failed, faults injected: drops="), "{stdout}");
    assert!(stdout.contains("dups=") && stdout.contains("reorders=") && stdout.contains("corruptions="));
    assert_eq!(stdout.lines().last(), Some("5 passed, 0 failed"));
}

#[test]
fn a_long_campaign_reports_progress_on_stderr() {
    let out = synack(&["sim", "campaign", "--seeds", "100", "--from", "1", "--jobs", "2"]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().filter(|l| l.starts_with("campaign: ")).count(), 20, "{stderr}");
    assert!(stderr.contains("campaign: 5/100 seeds (5%), 0 failed"), "{stderr}");
    assert!(text(&out.stdout).ends_with("100 passed, 0 failed\n"));
}

#[test]
fn a_seed_replays_with_its_case_ladder_and_verdict() {
    let out = synack(&["sim", "campaign", "--seeds", "1", "--from", "4711", "--ladder", "--color", "never"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for needle in ["seed 4711: client->server", "[ESTABLISHED]", "[TIME-WAIT]", "faults injected: drops="] {
        assert!(stdout.contains(needle), "no {needle:?} in:\n{stdout}");
    }
    assert!(stdout.contains("check: campaign seed 4711: every invariant holds"));
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));
}

#[test]
fn bad_campaign_arguments_are_one_line_errors_with_status_2() {
    assert_usage_error(&["sim", "campaign", "--seeds", "0"], "--seeds 0");
    assert_usage_error(&["sim", "campaign", "--seeds", "ten"], "--seeds \"ten\"");
    assert_usage_error(&["sim", "campaign", "--seeds", "-3"], "--seeds \"-3\"");
    assert_usage_error(&["sim", "campaign", "--seeds", "3", "--from", "x"], "--from");
    assert_usage_error(&["sim", "campaign", "--seeds", "3", "--jobs", "0"], "--jobs 0");
    assert_usage_error(&["sim", "campaign", "--seeds", "2", "--from", "18446744073709551615"], "run past");
    assert_usage_error(&["sim", "campaign", "--seeds", "21", "--ladder"], "--ladder");
    assert_usage_error(&["sim", "campaign", "--seeds", "2", "--json", "t.jsonl"], "--seeds 1");
}

#[test]
fn scenarios_still_run_by_name_beside_the_modes() {
    let out = synack(&["sim", "close", "--quiet"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("check: close: as expected"));
}

#[test]
fn a_scaled_down_syn_flood_meets_its_goal() {
    let out = synack(&["sim", "syn-flood", "--syns", "2000", "--clients", "5"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("5 accepted, 5 completed their exchange"), "{stdout}");
    assert!(stdout.contains("syn-flood: goal met"));
}

#[test]
fn a_syn_flood_without_cookies_misses_its_goal_with_status_1() {
    let out = synack(&["sim", "syn-flood", "--syns", "2000", "--clients", "3", "--syn-cookies", "off"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("syn-flood: goal MISSED"));
}

#[test]
fn a_scaled_down_blind_attack_disrupts_nothing() {
    let out = synack(&["sim", "blind-attacker", "--connections", "5", "--seconds", "1"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("connections: 0 disrupted of 5"), "{stdout}");
    assert!(stdout.contains("blind-attacker: goal met"));
}

#[test]
fn a_blind_attack_on_stacks_without_rfc_5961_misses_its_goal_with_status_1() {
    let args = ["sim", "blind-attacker", "--connections", "5", "--seconds", "1", "--rfc5961", "off"];
    let out = synack(&[&args[..], &["--timestamps", "off", "--in-window", "0.5"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("blind-attacker: goal MISSED"));
}

#[test]
fn bad_attack_arguments_are_one_line_errors_with_status_2() {
    assert_usage_error(&["sim", "syn-flood", "--syn-cookies", "maybe"], "--syn-cookies");
    assert_usage_error(&["sim", "syn-flood", "--clients", "0"], "--clients 0");
    assert_usage_error(&["sim", "blind-attacker", "--in-window", "2"], "--in-window");
    assert_usage_error(&["sim", "blind-attacker", "--rate", "0"], "--rate 0");
    assert_usage_error(&["sim", "blind-attacker", "--timestamps", "yes"], "--timestamps");
}
