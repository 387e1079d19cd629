//! The table of reordering (README, "Using the core"): `examples/lossy-download.toml`
//! with a share of the server's datagrams held back so that later ones overtake them,
//! with and without 1% random loss, over eight seeds: retransmissions, those of data
//! the client already held, and the median time until the client had every byte.
//! A sender that takes reordering for loss retransmits needlessly and cuts its
//! window each time; one whose DupThresh follows the reordering it has seen
//! (`ConnInfo::reordering`) and that undoes a recovery an early ACK or the peer's
//! D-SACKs show spurious (`StackStats::recoveries_undone`) waits instead. The 60 ms
//! rows hold segments back longer than the 40 ms round trip: their retransmissions
//! arrive first, and only the D-SACKs of the late originals tell.
//!
//! `cargo run --release -p synack-sim --example reorder_table`

mod common;

fn main() {
    println!("| held back | by | loss | retransmitted | needless | median time |");
    println!("|---|---|---|---|---|---|");
    for (reorder, delay_ms) in
        [("0.01", 5), ("0.05", 5), ("0.05", 20), ("0.20", 5), ("0.01", 60), ("0.05", 60)]
    {
        for loss in ["0", "0.01"] {
            let link = format!("loss = {loss}\nreorder = {reorder}\nreorder_delay_ms = {delay_ms}");
            let text = common::LOSSY.replace("loss = 0.10", &link);
            let label = format!("{reorder} {delay_ms} ms {loss}");
            let (total, times, _) = common::run_seeds(&text, &label, common::SEEDS);
            let median = common::quantile(&times, 0.5);
            println!(
                "| {:.0}% | {delay_ms} ms | {:.0}% | {} | {} | {median:.2} s |",
                common::pct(reorder),
                common::pct(loss),
                total.retransmitted,
                total.needless
            );
        }
    }
}
