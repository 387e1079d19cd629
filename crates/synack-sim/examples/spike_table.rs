//! The table of delay spikes (README, "Using the core"): `examples/lossy-download.toml`
//! with the server's link stalling now and then (every datagram it carries meanwhile
//! waits), with and without 1% random loss, over eight seeds, for a server without
//! and with F-RTO (RFC 5682, `Config::frto`): retransmissions, those of data the
//! client already held, and the median time until the client had every byte. A
//! stall longer than the RTO fires the timer with nothing lost; without F-RTO the
//! server then resends the window the client is about to receive.
//!
//! `cargo run --release -p synack-sim --example spike_table`

mod common;

fn main() {
    println!("| stalls | for | loss | without F-RTO | with F-RTO |");
    println!("|---|---|---|---|---|");
    for (spike, delay_ms) in [("0.001", 500), ("0.002", 500), ("0.002", 1000), ("0.005", 300)] {
        for loss in ["0", "0.01"] {
            let link = format!("loss = {loss}\nspike = {spike}\nspike_delay_ms = {delay_ms}");
            let cells: Vec<String> = [false, true]
                .iter()
                .map(|&frto| {
                    let text = common::LOSSY.replace("loss = 0.10", &link).replace(
                        "congestion_control = \"cubic\"",
                        &format!("congestion_control = \"cubic\"\nfrto = {frto}"),
                    );
                    let label = format!("{spike} {delay_ms} ms {loss} frto={frto}");
                    let (total, times, _) = common::run_seeds(&text, &label, common::SEEDS);
                    let median = common::quantile(&times, 0.5);
                    format!("{}, {}, {median:.2} s", total.retransmitted, total.needless)
                })
                .collect();
            println!(
                "| {:.1}% | {delay_ms} ms | {:.0}% | {} | {} |",
                common::pct(spike),
                common::pct(loss),
                cells[0],
                cells[1]
            );
        }
    }
}
