//! Any bytes into `synack::wire::parse`; what parses must round-trip through `emit`.
//! The harness is shared with `crates/synack/tests/fuzz_replay.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/synack/tests/common/fuzz_harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::wire_parse(data);
});
