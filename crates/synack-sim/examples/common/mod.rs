//! What the download tables (`loss_table`, `reorder_table`) share: running a variant of
//! `lossy-download.toml` over eight seeds and summing what its server's link saw.

use synack::StackStats;
use synack_sim::{run, Retransmissions, Scenario, SimOptions};

/// The scenario the tables vary.
pub(crate) const LOSSY: &str = include_str!("../lossy-download.toml");

/// Seeds per cell.
pub(crate) const SEEDS: u64 = 8;

/// The `q` quantile of the sorted `times` (NaN when empty).
pub(crate) fn quantile(times: &[f64], q: f64) -> f64 {
    let i = ((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1));
    times.get(i).copied().unwrap_or(f64::NAN)
}

/// Runs `text` (a variant of [`LOSSY`]) over seeds 1 to `seeds` ([`SEEDS`] for most
/// tables), printing progress as `label`: the server->client link's figures and the
/// server's counters summed, and the times until the client had every byte (it sees
/// the server's FIN), sorted, in seconds. Exits on a scenario or run error.
pub(crate) fn run_seeds(text: &str, label: &str, seeds: u64) -> (Retransmissions, Vec<f64>, StackStats) {
    let sc = match Scenario::from_toml_str(text) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("lossy-download.toml: {e}");
            std::process::exit(2);
        }
    };
    let mut total = Retransmissions::default();
    let mut stats = StackStats::default();
    let mut times = Vec::new();
    for seed in 1..=seeds {
        eprint!("\r{label}: seed {seed}/{seeds}");
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
        if let Some(server) = r.host("server") {
            stats.loss_probes += server.stats.loss_probes;
            stats.reorder_timeouts += server.stats.reorder_timeouts;
        }
        let done = r.trace.iter().find_map(|l| match &l.event {
            synack_viz::Event::State(s) if s.host == "client" && s.to == "CLOSE-WAIT" => Some(l.t_us),
            _ => None,
        });
        times.extend(done);
    }
    eprint!("\r");
    times.sort_unstable();
    (total, times.iter().map(|&t| t as f64 / 1e6).collect(), stats)
}

/// A probability written as in the scenario, as a percentage.
pub(crate) fn pct(p: &str) -> f64 {
    p.parse::<f64>().unwrap_or(0.0) * 100.0
}
