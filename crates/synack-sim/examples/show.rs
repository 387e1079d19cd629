//! Prints the ladder and check of a scenario: `cargo run --example show NAME|FILE.toml [SEED]`.
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "demo".into());
    let seed = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(synack_sim::DEFAULT_SEED);
    let sc = if name.ends_with(".toml") {
        let text = std::fs::read_to_string(&name).unwrap_or_default();
        match synack_sim::Scenario::from_toml_str(&text) {
            Ok(sc) => sc,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(2);
            }
        }
    } else if let Some(sc) = synack_sim::builtin(&name) {
        sc
    } else {
        eprintln!("no built-in scenario {name}");
        std::process::exit(2);
    };
    let opts = synack_sim::SimOptions { seed, ..synack_sim::SimOptions::default() };
    match synack_sim::run(&sc, &opts) {
        Ok(r) => {
            print!("{}", synack_viz::render_ladder(&r.trace, &synack_viz::LadderOptions::default()));
            println!("check: {:?}", r.check);
            for h in &r.hosts {
                println!("{h:?}");
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
}
