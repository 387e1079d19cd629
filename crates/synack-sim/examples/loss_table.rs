//! The table of loss recovery on a lossy path (README, "Using the core"): for CUBIC and
//! Reno at 2%, 5%, 10% and 20% random loss, `examples/lossy-download.toml` over eight
//! seeds: datagrams lost, retransmissions, retransmissions of data the client already
//! held (all summed), and the median time until the client had every byte.
//!
//! `cargo run --release -p synack-sim --example loss_table`

use synack_sim::{run, Retransmissions, Scenario, SimOptions};

const LOSSY: &str = include_str!("lossy-download.toml");
const SEEDS: u64 = 8;

fn main() {
    println!("| loss | congestion control | lost | retransmitted | needless | median time |");
    println!("|---|---|---|---|---|---|");
    for cc in ["cubic", "reno"] {
        for loss in ["0.02", "0.05", "0.10", "0.20"] {
            let text = LOSSY
                .replace("loss = 0.10", &format!("loss = {loss}"))
                .replace("congestion_control = \"cubic\"", &format!("congestion_control = \"{cc}\""));
            let sc = match Scenario::from_toml_str(&text) {
                Ok(sc) => sc,
                Err(e) => {
                    eprintln!("lossy-download.toml: {e}");
                    std::process::exit(2);
                }
            };
            let mut total = Retransmissions::default();
            let mut times = Vec::new();
            for seed in 1..=SEEDS {
                eprint!("\r{cc} {loss}: seed {seed}/{SEEDS}");
                let r = match run(&sc, &SimOptions { seed, ..SimOptions::default() }) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("\n{cc} {loss} seed {seed}: {e}");
                        std::process::exit(1);
                    }
                };
                let c = r.retransmissions("server->client");
                total.lost += c.lost;
                total.retransmitted += c.retransmitted;
                total.needless += c.needless;
                // The client has every byte when it sees the server's FIN.
                let done = r.trace.iter().find_map(|l| match &l.event {
                    synack_viz::Event::State(s) if s.host == "client" && s.to == "CLOSE-WAIT" => Some(l.t_us),
                    _ => None,
                });
                times.extend(done);
            }
            eprint!("\r");
            times.sort_unstable();
            let median = times.get(times.len() / 2).map_or(f64::NAN, |&t| t as f64 / 1e6);
            println!(
                "| {:.0}% | {cc} | {} | {} | {} | {median:.1} s |",
                loss.parse::<f64>().unwrap_or(0.0) * 100.0,
                total.lost,
                total.retransmitted,
                total.needless
            );
        }
    }
}
