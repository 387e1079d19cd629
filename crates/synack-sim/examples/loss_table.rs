//! The table of loss recovery on a lossy path (README, "Using the core"): for CUBIC and
//! Reno at 2%, 5%, 10% and 20% random loss, `examples/lossy-download.toml` over eight
//! seeds: datagrams lost, retransmissions, retransmissions of data the client already
//! held (all summed), and the median time until the client had every byte.
//!
//! `cargo run --release -p synack-sim --example loss_table`

mod common;

fn main() {
    println!("| loss | congestion control | lost | retransmitted | needless | median time |");
    println!("|---|---|---|---|---|---|");
    for cc in ["cubic", "reno"] {
        for loss in ["0.02", "0.05", "0.10", "0.20"] {
            let text = common::LOSSY
                .replace("loss = 0.10", &format!("loss = {loss}"))
                .replace("congestion_control = \"cubic\"", &format!("congestion_control = \"{cc}\""));
            let (total, times, _) = common::run_seeds(&text, &format!("{cc} {loss}"), common::SEEDS);
            let median = common::quantile(&times, 0.5);
            println!(
                "| {:.0}% | {cc} | {} | {} | {} | {median:.1} s |",
                common::pct(loss),
                total.lost,
                total.retransmitted,
                total.needless
            );
        }
    }
}
