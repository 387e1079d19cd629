//! Replays the `scenario_toml` fuzz corpus and every input that once crashed it
//! (`fuzz/corpus/scenario_toml/`, `fuzz/regressions/scenario_toml/` at the repository
//! root) through the harness the cargo-fuzz target runs (`fuzzing/scenario_toml.rs`),
//! so that a fixed crash stays fixed on every `cargo test`, without libFuzzer.

#[path = "fuzzing/scenario_toml.rs"]
mod scenario_toml;

use std::path::{Path, PathBuf};

/// Every file of `fuzz/<kind>/scenario_toml/`, sorted (none when the directory does
/// not exist: git keeps no empty directory of regressions).
fn inputs(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join("scenario_toml");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect(),
        Err(e) if kind == "regressions" && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let files = inputs(kind);
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let res = std::panic::catch_unwind(|| scenario_toml::scenario_toml(&bytes));
        assert!(res.is_ok(), "fuzz input {} fails again", path.display());
    }
    files.len()
}

#[test]
fn scenario_toml_corpus_and_regressions_replay_cleanly() {
    let corpus = replay("corpus");
    let regressions = replay("regressions");
    assert!(corpus >= 3, "the scenario_toml corpus is checked in ({corpus} files)");
    eprintln!("scenario_toml: {corpus} corpus inputs, {regressions} regressions");
}

/// The harness is a checker: it must reject what it exists to catch.
#[test]
fn the_examples_pass_the_harness_and_a_two_line_message_fails_it() {
    // Every example parses, runs and renders.
    for example in ["custom.toml", "loss-recovery.toml", "keepalive.toml", "half-open.toml", "ecn.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
        let bytes = std::fs::read(&path).expect("example");
        scenario_toml::scenario_toml(&bytes);
    }
    // Refusals must be one line: an error carrying a newline is caught.
    let res = std::panic::catch_unwind(|| scenario_toml::assert_one_line("two\nlines"));
    assert!(res.is_err(), "a two-line message must be rejected");
}
