//! The heap the server stack owns under a SYN flood, measured by a counting global
//! allocator. This binary holds one test, so that no other test allocates on another
//! thread while the heap is measured.

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use synack::SynCookies;
use synack_sim::hostile::{run_flood, FloodConfig};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live_bytes() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

#[test]
fn the_server_heap_does_not_grow_with_the_number_of_spoofed_syns() {
    let flood = |spoofed_syns| {
        let cfg = FloodConfig {
            spoofed_syns,
            clients: 10,
            syn_cookies: SynCookies::WhenFull,
            ..FloodConfig::default()
        };
        let r = run_flood(&cfg, Some(&live_bytes));
        assert_eq!(r.problems(), Vec::<String>::new());
        (r.peak_heap_bytes.expect("measured"), r.final_heap_bytes.expect("measured"))
    };
    let (small_peak, _) = flood(2_000);
    let (big_peak, big_final) = flood(20_000);
    assert!(small_peak > 0);
    // Ten times the SYNs: the same SYN queue, hence about the same heap.
    assert!(
        big_peak < small_peak + small_peak / 4,
        "peak {big_peak} B for 20,000 SYNs, {small_peak} B for 2,000"
    );
    assert!(big_final < big_peak, "the embryos' memory is given back");
}
