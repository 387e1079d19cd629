//! Development driver: `cargo run -p synack-drill --example drill -- [--profile P]
//! [--strict] [--json] PATH...` prints one line per script and the closing counts.

use std::path::PathBuf;
use synack_drill::{run_paths, DrillOptions, Profile};

fn main() {
    let mut opts = DrillOptions::default();
    let mut paths = Vec::new();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--profile" => {
                let name = args.next().unwrap_or_default();
                match Profile::from_name(&name) {
                    Some(p) => opts.profile = p,
                    None => {
                        eprintln!("unknown profile `{name}`");
                        std::process::exit(2);
                    }
                }
            }
            "--strict" => opts.strict = true,
            "--define" => opts.defines.push(args.next().unwrap_or_default()),
            "--json" => json = true,
            "--ignore" => {
                let name = args.next().unwrap_or_default();
                opts.ignore.extend(name.split(',').filter_map(synack_drill::run::Check::from_name));
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let report = run_paths(&paths, &opts);
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    std::process::exit(report.exit_code(false));
}
