//! What the download tables (`loss_table`, `reorder_table`) share: running a variant of
//! `lossy-download.toml` over eight seeds and summing what its server's link saw.

use synack_sim::{run, Retransmissions, Scenario, SimOptions};

/// The scenario the tables vary.
pub(crate) const LOSSY: &str = include_str!("../lossy-download.toml");

/// Seeds per cell.
const SEEDS: u64 = 8;

/// Runs `text` (a variant of [`LOSSY`]) over the seeds, printing progress as `label`:
/// the server->client link's figures summed, and the median time until the client had
/// every byte (it sees the server's FIN), in seconds. Exits on a scenario or run error.
pub(crate) fn run_seeds(text: &str, label: &str) -> (Retransmissions, f64) {
    let sc = match Scenario::from_toml_str(text) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("lossy-download.toml: {e}");
            std::process::exit(2);
        }
    };
    let mut total = Retransmissions::default();
    let mut times = Vec::new();
    for seed in 1..=SEEDS {
        eprint!("\r{label}: seed {seed}/{SEEDS}");
        let r = match run(&sc, &SimOptions { seed, ..SimOptions::default() }) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("\n{label} seed {seed}: {e}");
                std::process::exit(1);
            }
        };
        let c = r.retransmissions("server->client");
        total.lost += c.lost;
        total.retransmitted += c.retransmitted;
        total.needless += c.needless;
        total.timeouts += c.timeouts;
        let done = r.trace.iter().find_map(|l| match &l.event {
            synack_viz::Event::State(s) if s.host == "client" && s.to == "CLOSE-WAIT" => Some(l.t_us),
            _ => None,
        });
        times.extend(done);
    }
    eprint!("\r");
    times.sort_unstable();
    let median = times.get(times.len() / 2).map_or(f64::NAN, |&t| t as f64 / 1e6);
    (total, median)
}

/// A probability written as in the scenario, as a percentage.
pub(crate) fn pct(p: &str) -> f64 {
    p.parse::<f64>().unwrap_or(0.0) * 100.0
}
