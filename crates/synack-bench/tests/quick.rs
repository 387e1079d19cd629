//! The quick mode end to end: every workload prints its line with the standard fields.
//! This checks the shape of the output, never a speed.

use std::process::Command;

const WORKLOADS: &[&str] = &[
    "bulk_1500",
    "bulk_65535",
    "bulk_1500_ring",
    "bulk_1500_in_place",
    "churn",
    "churn_instr",
    "churn_code",
    "churn_hot_instr",
    "churn_phase_handshake",
    "churn_phase_request",
    "churn_phase_response",
    "churn_phase_client_close",
    "churn_phase_server_close",
    "churn_phase_handshake_instr",
    "churn_phase_handshake_code",
    "churn_phase_request_instr",
    "churn_phase_request_code",
    "churn_phase_response_instr",
    "churn_phase_response_code",
    "churn_phase_client_close_instr",
    "churn_phase_client_close_code",
    "churn_phase_server_close_instr",
    "churn_phase_server_close_code",
    "churn_10k_idle",
    "mem_idle_conn",
    "mem_time_wait",
    "rss_1m_idle",
    "segment_cost",
    "segment_cost_instr",
    "memcpy_limit",
    "copy_floor",
];

/// The workloads timed in alternating runs of the two stacks.
const TIMED: &[&str] = &[
    "bulk_1500",
    "bulk_65535",
    "bulk_1500_ring",
    "bulk_1500_in_place",
    "churn",
    "churn_phase_handshake",
    "churn_phase_request",
    "churn_phase_response",
    "churn_phase_client_close",
    "churn_phase_server_close",
    "churn_10k_idle",
    "segment_cost",
    "copy_floor",
];
const FIELDS: &[&str] = &["bench", "unit", "synack", "smoltcp", "ratio", "runs"];

fn is_figure(v: &str) -> bool {
    v == "na" || v.parse::<f64>().is_ok_and(|x| x.is_finite() && x >= 0.0)
}

#[test]
fn quick_mode_prints_one_well_formed_line_per_workload() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .arg("--quick")
        .output()
        .expect("the benchmark binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "synack-bench --quick failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bench=")).collect();
    assert_eq!(lines.len(), WORKLOADS.len(), "one line per workload:\n{stdout}");
    for (line, name) in lines.iter().zip(WORKLOADS) {
        let kv: Vec<(&str, &str)> =
            line.split_whitespace().map(|f| f.split_once('=').expect("key=value fields")).collect();
        let keys: Vec<&str> = kv.iter().map(|(k, _)| *k).take(FIELDS.len()).collect();
        assert_eq!(keys, FIELDS, "fields in order: {line}");
        assert_eq!(kv[0].1, *name, "workload order: {line}");
        assert!(!kv[1].1.is_empty(), "a unit: {line}");
        for (k, v) in &kv[2..5] {
            assert!(is_figure(v), "{k} must be a figure or na: {line}");
        }
        assert!(kv[5].1.parse::<usize>().is_ok(), "runs is a count: {line}");
        // Workloads timed in alternating runs carry the median of the per-pair ratios
        // right after `runs`.
        if TIMED.contains(name) {
            assert_eq!(kv.get(6).map(|(k, _)| *k), Some("pair_ratio"), "pair_ratio after runs: {line}");
            assert!(kv[6].1.parse::<f64>().is_ok_and(|r| r > 0.0), "pair_ratio is a ratio: {line}");
            // Then the lowest and highest pair ratio, around the median.
            assert_eq!(kv.get(7).map(|(k, _)| *k), Some("pair_range"), "pair_range next: {line}");
            let range = kv[7].1.split_once("..").map(|(lo, hi)| (lo.parse::<f64>(), hi.parse::<f64>()));
            let Some((Ok(lo), Ok(hi))) = range else { panic!("pair_range is LO..HI: {line}") };
            let median = kv[6].1.parse::<f64>().unwrap_or(f64::NAN);
            assert!(lo <= median && median <= hi, "the median lies in the range: {line}");
        } else {
            assert!(!line.contains("pair_ratio="), "only timed workloads have a pair ratio: {line}");
        }
    }
    // Figures that every machine can measure are present (the smoltcp side of
    // rss_1m_idle and the callgrind counts may be `na`).
    for line in &lines {
        let counted = ["segment_cost_instr", "churn_instr", "churn_code"]
            .iter()
            .any(|b| line.contains(&format!("bench={b} ")))
            || line.contains("tool=callgrind");
        if line.contains("bench=rss_1m_idle") || counted {
            assert!(!line.contains("synack=na") || counted, "{line}");
            continue;
        }
        assert!(!line.contains("=na "), "measured on both stacks: {line}");
    }
}

#[test]
fn code_probe_runs_in_churn_and_is_reported() {
    // The largest probe: its jump lands at the start of the NOP run (a wrong offset
    // would crash the run).
    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .args(["--quick", "--only", "churn", "--no-callgrind", "--code-probe-kib", "64"])
        .output()
        .expect("the benchmark binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find(|l| l.starts_with("bench=churn ")).expect("the churn line");
    assert!(line.contains(" code_probe_kib=64 "), "{line}");
    let alone = line.split_whitespace().find_map(|f| f.strip_prefix("probe_alone_ns="));
    assert!(alone.and_then(|v| v.parse::<f64>().ok()).is_some_and(|v| v > 0.0), "{line}");
}

#[test]
fn code_probe_beyond_its_nop_run_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .args(["--only", "churn", "--code-probe-kib", "65"])
        .output()
        .expect("the benchmark binary runs");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("code-probe-kib"));
}

#[test]
fn unknown_workload_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .args(["--only", "no_such_bench"])
        .output()
        .expect("the benchmark binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));
}

#[test]
fn unknown_stack_of_a_profiling_child_is_a_usage_error() {
    // The hidden profiling options name a stack; a wrong name used to panic.
    for option in ["--callgrind-child", "--churn-stack"] {
        let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
            .args([option, "no_such_stack"])
            .output()
            .expect("the benchmark binary runs");
        assert_eq!(out.status.code(), Some(2), "{option} is a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("possible values: synack, smoltcp"), "{option}: {err}");
        assert!(!err.contains("panicked"), "{option}: {err}");
    }
}

#[test]
fn zero_runs_and_zero_bulk_bytes_are_refused() {
    for args in [&["--runs", "0"][..], &["--bulk-bytes", "0", "--only", "bulk_1500"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
            .args(args)
            .output()
            .expect("the benchmark binary runs");
        assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid value '0'"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing measured");
    }
}

#[test]
fn time_wait_cap_reaches_the_churn_lines_and_zero_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .args(["--quick", "--only", "churn", "--no-callgrind", "--churn-time-wait-cap", "16"])
        .output()
        .expect("the benchmark binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let churn = stdout.lines().find(|l| l.starts_with("bench=churn ")).expect("a churn line");
    assert!(churn.ends_with(" time_wait_cap=16"), "{churn}");

    let out = Command::new(env!("CARGO_BIN_EXE_synack-bench"))
        .args(["--only", "churn", "--churn-time-wait-cap", "0"])
        .output()
        .expect("the benchmark binary runs");
    assert_eq!(out.status.code(), Some(2), "a cap of 0 is a usage error");
    assert!(out.stdout.is_empty(), "nothing measured");
}
