//! Any bytes as a custom scenario file for `synack sim`: parsed, and when it parses,
//! run within bounds, checked and rendered. The harness is shared with
//! `crates/synack-sim/tests/fuzz_replay.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/synack-sim/tests/fuzzing/scenario_toml.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::scenario_toml(data);
});
