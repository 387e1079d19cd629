//! The SYN flood of `synack sim syn-flood`, with the heap the server stack owns
//! measured by a counting global allocator: the net bytes allocated inside the
//! server's calls, sampled around each of them.
//!
//! ```text
//! cargo run --release -p synack-sim --example syn_flood_heap [SPOOFED_SYNS]
//! ```
//!
//! Runs the flood at the given size (100,000 by default) and at a tenth of it, so that
//! the two peaks can be compared: a bounded server's does not grow with the flood.

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::process::ExitCode;
use synack_sim::hostile::{run_flood, FloodConfig, FloodReport};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed, process-wide.
fn live_bytes() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

fn flood(spoofed_syns: u64) -> FloodReport {
    let cfg = FloodConfig { spoofed_syns, ..FloodConfig::default() };
    run_flood(&cfg, Some(&live_bytes))
}

fn kib(bytes: Option<i64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.1} KiB", b as f64 / 1024.0))
}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let syns = match arg.as_deref().map(str::parse::<u64>) {
        None => 100_000,
        Some(Ok(n)) if n >= 10 => n,
        Some(_) => {
            eprintln!("syn_flood_heap: expected a number of spoofed SYNs, at least 10");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    for n in [syns / 10, syns] {
        let r = flood(n);
        let completed = r.clients.iter().filter(|c| c.completed).count();
        println!(
            "syn-flood {n} spoofed SYNs: {completed}/{} clients completed; server peak {} connections, {} \
             TIME-WAIT, heap peak {} (final {}); cookies sent {}, validated {}",
            r.clients.len(),
            r.peak_connections,
            r.peak_time_wait,
            kib(r.peak_heap_bytes),
            kib(r.final_heap_bytes),
            r.server.syn_cookies_sent,
            r.server.syn_cookies_validated
        );
        for p in r.problems() {
            println!("  - {p}");
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
