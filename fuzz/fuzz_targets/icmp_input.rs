//! `stack_input` with ICMP and ICMPv6 errors about its connections among the
//! operations (RFC 9293 3.9.2.2, Path MTU Discovery): no panic, limits and memory
//! bounded. The harness is shared with `crates/synack/tests/fuzz_replay.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "counting_alloc.rs"]
mod counting_alloc;
#[path = "../../crates/synack/tests/common/fuzz_harness.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::icmp_input(data, counting_alloc::allocated);
});
