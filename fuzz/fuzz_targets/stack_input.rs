//! A stack holding a connection in every state, fed datagrams, time and application
//! calls decoded from the input: no panic, limits and memory bounded. The harness is
//! shared with `crates/synack/tests/fuzz_replay.rs`; this target adds the heap check,
//! through a counting global allocator.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "counting_alloc.rs"]
mod counting_alloc;
#[path = "../../crates/synack/tests/common/fuzz_harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::stack_input(data, counting_alloc::allocated);
});
