//! The table of Proportional Rate Reduction (README, "Using the core"): downloads with
//! the server's `prr` off and on (RFC 6937 and RFC 9937, `Config::prr`), for CUBIC and
//! Reno, over eight seeds each: datagrams lost, retransmissions, retransmission
//! timeouts (and loss probes; not RACK's reordering timer, which shares the timer's
//! slot), all summed, and the median time until the client had
//! every byte. The paths: `examples/lossy-download.toml` (4 MB over 20 Mbit/s, 40 ms)
//! through a drop-tail bottleneck queue (the losses of a queue overflowing come in
//! bursts) and over random loss; and a long fat path with sparse losses (16 MB over
//! 100 Mbit/s, 80 ms, one datagram in 2,000 lost, 16 MiB socket buffers, as in
//! `tests/cubic.rs`), the case PRR was designed for.
//!
//! `cargo run --release -p synack-sim --example prr_table` (about a minute)

mod common;

fn main() {
    println!("| path | congestion control | without PRR | with PRR |");
    println!("|---|---|---|---|");
    // (router buffer in bytes, if any; random loss)
    let paths = [
        (Some(50_000), "0"),
        (Some(100_000), "0"),
        (Some(100_000), "0.01"),
        (None, "0.02"),
        (None, "0.05"),
        (None, "0.10"),
        (None, "0.20"),
    ];
    for cc in ["cubic", "reno"] {
        let row = |name: &str, text: &str| {
            let cells: Vec<String> = [false, true]
                .iter()
                .map(|&prr| {
                    let text = text.replace(
                        "congestion_control = \"cubic\"",
                        &format!("congestion_control = \"{cc}\"\nprr = {prr}"),
                    );
                    let label = format!("{name} {cc} prr={prr}");
                    let (total, times, stats) = common::run_seeds(&text, &label, common::SEEDS);
                    // The retransmission timer's expiries, RACK's reordering timer's
                    // (which shares its slot) left out.
                    format!(
                        "{} lost, {} resent, {} timeouts, {:.2} s",
                        total.lost,
                        total.retransmitted,
                        total.timeouts.saturating_sub(stats.reorder_timeouts),
                        common::quantile(&times, 0.5)
                    )
                })
                .collect();
            println!("| {name} | {cc} | {} | {} |", cells[0], cells[1]);
        };
        let long_fat = common::LOSSY
            .replace("loss = 0.10", "loss = 0.0005")
            .replace("delay_ms = 20", "delay_ms = 40")
            .replace("bandwidth_bps = 20000000", "bandwidth_bps = 100000000")
            .replace("= 1048576", "= 16777216")
            .replace("bytes = 4000000", "bytes = 16000000");
        row("16 MB, 100 Mbit/s, 80 ms, 0.05% loss", &long_fat);
        for (queue, loss) in paths {
            let mut link = format!("loss = {loss}");
            let mut name = match loss {
                "0" => "no loss".to_string(),
                _ => format!("{:.0}% loss", common::pct(loss)),
            };
            if let Some(q) = queue {
                link += &format!("\nqueue_bytes = {q}");
                name = format!("queue {} KB, {name}", q / 1000);
            }
            row(&name, &common::LOSSY.replace("loss = 0.10", &link));
        }
    }
}
