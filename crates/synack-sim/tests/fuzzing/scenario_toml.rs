//! The `scenario_toml` fuzz harness, shared by `fuzz/fuzz_targets/scenario_toml.rs`
//! and `tests/fuzz_replay.rs`: any bytes as a custom scenario file.
//!
//! Checks: parsing never panics, and a refusal is one line naming what is wrong;
//! a scenario that parses runs, within bounds on events and virtual time, to an
//! outcome or a typed limit error, never a panic; every difference its check reports
//! is one line; the stacks' state changes stay RFC 9293 Figure 5 edges; the trace
//! round-trips through the JSON Lines contract, and the ladder and the SVG render it.

use synack_sim::{run, Scenario, SimError, SimOptions};

/// Events per run: enough for the examples (a few thousand), small enough for the
/// fuzzer to try many files a second.
const MAX_EVENTS: u64 = 20_000;
/// Virtual time per run.
const MAX_TIME: synack::Duration = synack::Duration::from_secs(600);

/// Run one input through the parser and, if it parses, the simulator.
pub(crate) fn scenario_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sc = match Scenario::from_toml_str(text) {
        Ok(sc) => sc,
        Err(e) => {
            assert_one_line(&e.to_string());
            return;
        }
    };
    let opts = SimOptions { max_events: Some(MAX_EVENTS), max_time: Some(MAX_TIME), ..SimOptions::default() };
    let result = match run(&sc, &opts) {
        Ok(r) => r,
        Err(SimError::EventLimit { .. } | SimError::TimeLimit { .. }) => return,
        Err(e) => panic!("a parsed scenario failed to run: {e}"),
    };
    if let Err(diffs) = &result.check {
        for d in diffs {
            assert_one_line(d);
        }
        // The engine's own transitions must be RFC 9293 Figure 5 edges whatever the
        // scenario asked for; only the scenario's expectations may differ.
        assert!(!diffs.iter().any(|d| d.starts_with("Figure 5")), "the stacks left Figure 5: {diffs:?}");
    }
    let mut jsonl = Vec::new();
    synack_viz::write_jsonl(&mut jsonl, &result.trace).expect("the trace serialises");
    let text = String::from_utf8(jsonl).expect("JSON Lines are UTF-8");
    let back = synack_viz::parse_jsonl(&text).expect("the trace parses back");
    // (In-memory `Unknown` lines are never written.)
    let written =
        result.trace.iter().filter(|l| !matches!(l.event, synack_viz::Event::Unknown { .. })).count();
    assert_eq!(back.len(), written, "every line round-trips");
    let ladder = synack_viz::render_ladder(&result.trace, &synack_viz::LadderOptions::default());
    assert!(result.trace.is_empty() || !ladder.is_empty());
    let svg = synack_viz::render_svg(&result.trace, &synack_viz::SvgOptions::default());
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "an SVG document");
}

/// Messages for people are one non-empty line.
pub(crate) fn assert_one_line(msg: &str) {
    assert!(!msg.is_empty() && !msg.contains('\n'), "not one line: {msg:?}");
}
