//! The table of RACK's reordering timer (README, "Using the core"): downloads with the
//! server's `rack_reorder_timer` off and on (RFC 8985 6.2 and 6.3,
//! `Config::rack_reorder_timer`), CUBIC, over `examples/lossy-download.toml`'s path
//! (20 Mbit/s, 40 ms) with random loss: the 4 MB download over eight seeds, and a
//! 30 kB one (21 segments, the size of a small web object) over 200 seeds. Each cell:
//! retransmissions, expiries of the server's retransmission timer (which the loss
//! probe's timeout and the reordering timer share) and of those the reordering
//! timer's, and the median and 90th-percentile time until the client had every byte.
//!
//! A loss with too little data SACKed above it for three duplicate ACKs - near the
//! end of a flight, or in a small one - waits for the loss probe's timeout (two round
//! trips after the last send) or the RTO without the timer, and a quarter of the
//! minimum RTT after the SACK with it.
//!
//! `cargo run --release -p synack-sim --example rack_table` (about a minute)

mod common;

fn main() {
    println!("| download | loss | without the reordering timer | with it |");
    println!("|---|---|---|---|");
    for (bytes, seeds) in [(4_000_000u64, common::SEEDS), (30_000, 200)] {
        for loss in ["0.02", "0.05", "0.10"] {
            let cells: Vec<String> = [false, true]
                .iter()
                .map(|&on| {
                    let text = common::LOSSY
                        .replace("loss = 0.10", &format!("loss = {loss}"))
                        .replace("bytes = 4000000", &format!("bytes = {bytes}"))
                        .replace(
                            "congestion_control = \"cubic\"",
                            &format!("congestion_control = \"cubic\"\nrack_reorder_timer = {on}"),
                        );
                    let label = format!("{bytes} B {loss} rack={on}");
                    let (total, times, stats) = common::run_seeds(&text, &label, seeds);
                    format!(
                        "{} resent, {} expiries ({} reordering), {:.3} s, {:.3} s",
                        total.retransmitted,
                        total.timeouts,
                        stats.reorder_timeouts,
                        common::quantile(&times, 0.5),
                        common::quantile(&times, 0.9)
                    )
                })
                .collect();
            let size = if bytes >= 1_000_000 {
                format!("{} MB", bytes / 1_000_000)
            } else {
                format!("{} kB", bytes / 1000)
            };
            println!("| {size} | {:.0}% | {} | {} |", common::pct(loss), cells[0], cells[1]);
        }
    }
}
