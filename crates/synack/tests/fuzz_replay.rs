//! Replays the fuzz corpus and every input that once crashed a fuzz target
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/` at the repository root)
//! through the very harness the cargo-fuzz targets run (`common/fuzz_harness.rs`), so
//! that a fixed crash stays fixed on every `cargo test`, without libFuzzer.
//!
//! The heap check of the `stack_input` target needs a counting global allocator, which
//! this crate's `forbid(unsafe_code)` does not allow in a test; every other check (no
//! panic, connection / TIME-WAIT / accept-queue / buffer / output bounds, timers that
//! come to rest) runs here too.

#[path = "common/fuzz_harness.rs"]
mod fuzz_harness;

use fuzz_harness::{icmp_input, no_mem, stack_input, wire_parse, Harness, FIXTURE_STATES};
use std::path::{Path, PathBuf};
use synack::{State, SynCookies};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file of `fuzz/<kind>/<target>/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect(),
        // No crash found yet for this target: git keeps no empty directory.
        Err(e) if kind == "regressions" && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn replay(kind: &str, target: &str, run: impl Fn(&[u8])) -> usize {
    let files = inputs(kind, target);
    for (path, bytes) in &files {
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(bytes)));
        if res.is_err() {
            panic!("fuzz input {} fails again", path.display());
        }
    }
    files.len()
}

#[test]
fn wire_parse_corpus_and_regressions_replay_cleanly() {
    let corpus = replay("corpus", "wire_parse", wire_parse);
    let regressions = replay("regressions", "wire_parse", wire_parse);
    assert!(corpus >= 10, "the wire_parse corpus is checked in ({corpus} files)");
    eprintln!("wire_parse: {corpus} corpus inputs, {regressions} regressions");
}

#[test]
fn stack_input_corpus_and_regressions_replay_cleanly() {
    let run = |b: &[u8]| {
        stack_input(b, no_mem);
    };
    let corpus = replay("corpus", "stack_input", run);
    let regressions = replay("regressions", "stack_input", run);
    assert!(corpus >= 10, "the stack_input corpus is checked in ({corpus} files)");
    eprintln!("stack_input: {corpus} corpus inputs, {regressions} regressions");
}

#[test]
fn icmp_input_corpus_and_regressions_replay_cleanly() {
    let acted = std::cell::Cell::new((0, 0, 0, 0));
    let run = |b: &[u8]| {
        let s = icmp_input(b, no_mem).stats;
        let (e, i, p, r) = acted.get();
        acted.set((e + s.icmp_errors, i + s.icmp_ignored, p + s.pmtu_reductions, r + s.echo_replies));
    };
    let corpus = replay("corpus", "icmp_input", run);
    let regressions = replay("regressions", "icmp_input", run);
    assert!(corpus >= 10, "the icmp_input corpus is checked in ({corpus} files)");
    // The corpus reaches every outcome: errors acted on, errors ignored, path MTU
    // reductions and Echo Replies (the `echo-*` inputs, some answered in fragments).
    let (errors, ignored, reductions, replies) = acted.get();
    assert!(
        errors > 0 && ignored > 0 && reductions > 0 && replies > 0,
        "{errors} acted on, {ignored} ignored, {reductions} MTU, {replies} echo replies"
    );
    eprintln!(
        "icmp_input: {corpus} corpus inputs, {regressions} regressions; \
         {errors} errors acted on, {ignored} ignored, {reductions} path MTU reductions, \
         {replies} echo replies"
    );
}

/// The whole corpus again with bit 7 of the second byte set: the application lends a
/// buffer to `Stack::handle_packet_into` for every datagram's connection. The same
/// checks hold, and data lands in the lent buffer (the `lend-*` inputs, found by a fuzz
/// run with the bit, deliver into it; most older inputs send no in-order data to a
/// drained connection).
#[test]
fn the_corpus_replays_cleanly_with_a_lent_buffer() {
    let mut direct = 0;
    for (path, mut bytes) in inputs("corpus", "stack_input") {
        if bytes.len() < 2 {
            continue;
        }
        bytes[1] |= 0x80;
        let res = std::panic::catch_unwind(|| stack_input(&bytes, no_mem));
        match res {
            Ok(summary) => direct += summary.direct_bytes,
            Err(_) => panic!("fuzz input {} fails with a lent buffer", path.display()),
        }
    }
    eprintln!("stack_input corpus with a lent buffer: {direct} bytes delivered straight into it");
    assert!(direct > 0, "no corpus input delivered data into the lent buffer");
}

/// Three in-order data segments of 100 bytes to fixture 4 (ESTABLISHED, active) go
/// into the lent buffer with bit 7 set, and none without it.
#[test]
fn the_stack_harness_delivers_into_the_lent_buffer_when_the_input_asks() {
    // Configuration: window scaling; the smallest MTU and buffers. Then three times the
    // structured operation (code 2): fixture 4, ACK|PSH, SEQ = the peer's next, ACK =
    // all it saw, window 30,000, no options and "advance" (0x80), 100 bytes.
    let op = [2u8, 4, 0x18, 0, 0, 0x75, 0x30, 0x80, 100];
    let with = |sizes: u8| {
        let mut input = vec![0x08, sizes];
        for _ in 0..3 {
            input.extend_from_slice(&op);
        }
        stack_input(&input, no_mem)
    };
    assert_eq!(with(0x80).direct_bytes, 300);
    assert_eq!(with(0x00).direct_bytes, 0);
}

#[test]
fn the_stack_harness_sets_up_a_connection_in_every_state() {
    // Without this the fuzzer would explore fewer states than it claims. Trace on, so
    // that the states are read from the stack's own trace (passive SYN-RECEIVED has no
    // handle); SYN cookies off, so that the passive SYN-RECEIVED keeps state.
    // With and without the peers offering SACK (bit 6 of the second input byte).
    for (cookies, sack) in [(SynCookies::Off, false), (SynCookies::WhenFull, false), (SynCookies::Off, true)]
    {
        let cfg = synack::Config { trace: true, syn_cookies: cookies, ..fuzz_harness::fuzz_config(0x08, 0) };
        let h = Harness::with_peer_sack(cfg, no_mem, sack);
        for (i, &want) in FIXTURE_STATES.iter().enumerate() {
            assert_eq!(h.fixture_traced_state(i), want, "fixture {i} ({cookies:?}, SACK {sack})");
            if let Some(c) = h.fixture_conn(i) {
                assert_eq!(h.stack.state(c), want, "fixture {i} through its handle");
            }
        }
        assert_eq!(h.stack.time_wait_count(), 1);
        // TIME-WAIT too: the application still holds that handle.
        assert_eq!(h.stack.connection_count(), FIXTURE_STATES.len());
    }
    // Under SynCookies::Always the passive SYN-RECEIVED is a cookie: no state at all.
    let cfg =
        synack::Config { trace: true, syn_cookies: SynCookies::Always, ..fuzz_harness::fuzz_config(0x08, 0) };
    let h = Harness::new(cfg, no_mem);
    assert_eq!(h.fixture_traced_state(1), State::Closed);
    assert_eq!(h.fixture_traced_state(3), State::Established, "a cookie handshake completes");
    assert_eq!(h.stack.stats().syn_cookies_sent as usize, FIXTURE_STATES.len() - 3);
}
