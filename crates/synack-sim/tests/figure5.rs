//! Every state change in the JSON traces is an edge of RFC 9293 Figure 5, and the state
//! sequences read back from JSON tell each scenario's story.

mod common;

use common::*;
use synack::State;
use synack_sim::figure5::{is_allowed, is_error_edge, is_figure5_edge, validate, FIGURE5_EDGES};
use synack_viz::{jsonl, Event};

#[test]
fn every_builtin_trace_read_back_from_json_follows_figure_5() {
    for name in names() {
        for seed in [1, 2, 3] {
            let r = run_with(name, &synack_sim::SimOptions { seed, ..synack_sim::SimOptions::default() });
            let json = jsonl::to_jsonl_string(&r.trace);
            let back = jsonl::parse_jsonl(&json).expect("the JSON parses");
            assert_eq!(validate(&back), Ok(()), "{name} seed {seed}");
        }
    }
}

#[test]
fn the_state_sequences_in_the_json_tell_the_stories() {
    let open_c = ["CLOSED", "SYN-SENT", "ESTABLISHED"];
    let open_s = ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"];
    let cat = |a: &[&str], b: &[&str]| strs(&[a, b].concat());
    let active_close = ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"];
    let passive_close = ["CLOSE-WAIT", "LAST-ACK", "CLOSED"];
    let simul = ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"];
    let expected: Vec<(&str, Vec<String>, Vec<String>)> = vec![
        ("handshake", strs(&open_c), strs(&open_s)),
        ("lost-syn", strs(&open_c), strs(&open_s)),
        ("lost-synack", strs(&open_c), strs(&open_s)),
        ("lost-ack", strs(&open_c), strs(&open_s)),
        ("close", cat(&open_c, &active_close), cat(&open_s, &passive_close)),
        ("demo", cat(&open_c, &active_close), cat(&open_s, &passive_close)),
        ("lost-final-ack", cat(&open_c, &active_close), cat(&open_s, &passive_close)),
        ("half-close", cat(&open_c, &active_close), cat(&open_s, &passive_close)),
        ("server-close", cat(&open_c, &passive_close), cat(&open_s, &active_close)),
        ("simultaneous-close", cat(&open_c, &simul), cat(&open_s, &simul)),
        (
            "simultaneous-open",
            strs(&["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]),
            strs(&["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]),
        ),
        ("refused", strs(&["CLOSED", "SYN-SENT", "CLOSED"]), vec![]),
        ("reset", cat(&open_c, &["CLOSED"]), cat(&open_s, &["CLOSED"])),
    ];
    for (name, client, server) in expected {
        let back = jsonl::parse_jsonl(&jsonl::to_jsonl_string(&run_default(name).trace)).expect("parses");
        assert_eq!(states(&back, "client"), client, "{name}: client");
        assert_eq!(states(&back, "server"), server, "{name}: server");
    }
}

#[test]
fn the_validator_knows_the_figure_and_its_notes() {
    assert_eq!(FIGURE5_EDGES.len(), 21);
    assert!(is_figure5_edge(State::FinWait1, State::TimeWait), "note 2");
    assert!(is_figure5_edge(State::Listen, State::SynReceived));
    assert!(is_figure5_edge(State::SynSent, State::SynReceived));
    assert!(is_figure5_edge(State::SynReceived, State::Listen), "note 1");
    assert!(!is_figure5_edge(State::Established, State::Closed));
    assert!(is_error_edge(State::Established, State::Closed), "reset or abort");
    let mut allowed = 0;
    for a in State::ALL {
        for b in State::ALL {
            allowed += usize::from(is_allowed(a, b));
        }
    }
    // 21 drawn edges, plus X -> CLOSED for the 10 states that are not CLOSED, less the
    // 4 of those already drawn (LISTEN, SYN-SENT, LAST-ACK, TIME-WAIT).
    assert_eq!(allowed, 21 + 10 - 4);
}

#[test]
fn the_validator_rejects_a_bogus_edge_and_a_broken_chain() {
    let r = run_default("close");
    let mut bogus = r.trace.clone();
    let i = bogus
        .iter()
        .position(|l| matches!(&l.event, Event::State(s) if s.host == "server" && s.to == "CLOSE-WAIT"))
        .expect("CLOSE-WAIT");
    if let Event::State(s) = &mut bogus[i].event {
        s.to = "TIME-WAIT".into();
    }
    let errors = validate(&bogus).expect_err("ESTABLISHED -> TIME-WAIT is no edge");
    assert!(errors.iter().any(|e| e.contains("ESTABLISHED -> TIME-WAIT is not an edge")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("leaves CLOSE-WAIT but was in TIME-WAIT")), "{errors:?}");

    let mut misspelt = r.trace.clone();
    if let Event::State(s) = &mut misspelt[i].event {
        s.to = "CLOSE_WAIT".into();
    }
    assert!(validate(&misspelt).is_err());
}
