//! CUBIC (RFC 9438) against Reno on the path it was made for: a long, fast link with
//! rare random losses. Each loss halves Reno's window, which then grows back by one
//! segment per round trip; CUBIC gives up less (0.7) and climbs back in a time that
//! does not depend on the round trip. The same seed gives both the same losses until
//! their windows part, so the comparison is deterministic.

mod common;

use common::reached_ms;
use synack_sim::{run, Scenario, SimOptions, SimResult};

/// 16 MB from the server to the client over 40 ms each way (an 80 ms round trip) at
/// 100 Mbit/s, with one datagram in 2,000 of the data direction lost; 16 MiB buffers,
/// so that the windows, not the buffers, limit the sender.
fn long_fat_path(cc: &str) -> String {
    format!(
        r#"
[[host]]
name = "client"
recv_buffer = 16777216
send_buffer = 16777216
[[host]]
name = "server"
recv_buffer = 16777216
send_buffer = 16777216
congestion_control = "{cc}"
[[link]]
link = "client<->server"
delay_ms = 40
[[link]]
link = "server->client"
delay_ms = 40
bandwidth_bps = 100000000
loss = 0.0005
"#
    ) + &common::download_steps(16_000_000)
}

/// Run the path with the server's congestion control `cc` and seed `seed`: the result,
/// and when (ms) the client had every byte and the server's FIN (CLOSE-WAIT).
fn transfer(cc: &str, seed: u64) -> (SimResult, u64) {
    let sc = Scenario::from_toml_str(&long_fat_path(cc)).expect("valid scenario");
    let r = run(&sc, &SimOptions { seed, ..SimOptions::default() }).expect("the run ends");
    let client = r.host("client").expect("client");
    assert_eq!(client.bytes_received, 16_000_000, "{cc}, seed {seed}: every byte");
    let done = reached_ms(&r.trace, "client", "CLOSE-WAIT").expect("the client reached CLOSE-WAIT");
    (r, done)
}

#[test]
fn cubic_moves_a_long_fat_lossy_path_faster_than_reno() {
    // Three seeds, the same losses for both until their windows part. At 100 Mbit/s
    // the 16 MB take at least 1.3 s; each loss costs Reno far more than CUBIC.
    for seed in [1, 2, 3] {
        let (reno, reno_ms) = transfer("reno", seed);
        let (cubic, cubic_ms) = transfer("cubic", seed);
        let losses = |r: &SimResult| r.trace.iter().filter(|l| l.ev() == "drop").count();
        assert!(losses(&reno) >= 3 && losses(&cubic) >= 3, "seed {seed}: the path loses");
        eprintln!(
            "seed {seed}: reno {reno_ms} ms ({} drops), cubic {cubic_ms} ms ({} drops)",
            losses(&reno),
            losses(&cubic)
        );
        assert!(
            cubic_ms * 5 < reno_ms * 4,
            "seed {seed}: cubic {cubic_ms} ms is not a fifth faster than reno {reno_ms} ms"
        );
    }
}

#[test]
fn the_congestion_control_knob_is_checked() {
    let bad = long_fat_path("vegas");
    let err = Scenario::from_toml_str(&bad).expect_err("unknown");
    assert!(err.to_string().contains("congestion_control"), "{err}");
    assert!(err.to_string().contains("cubic"), "{err}");
}
