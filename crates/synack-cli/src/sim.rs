//! `synack demo`, `synack sim` and `synack scenarios`.

use crate::output::{write_json, write_pcap, write_svg};
use crate::{CliError, ColorChoice};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use synack::Duration;
use synack_sim::{builtin, builtin_names, Scenario, SimOptions, SimResult};
use synack_viz::ladder::{render_ladder, LadderOptions};

/// Arguments of `synack sim`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct SimArgs {
    /// Modes other than one scenario: `campaign`, `syn-flood`, `blind-attacker`.
    #[command(subcommand)]
    mode: Option<Box<crate::campaign::SimMode>>,
    /// A built-in scenario name (`synack scenarios` lists them) or a TOML file.
    #[arg(value_name = "NAME|FILE.toml", required = true)]
    scenario: Option<String>,
    /// Seed of the simulation: the same seed gives the same trace, byte for byte.
    #[arg(long, default_value_t = synack_sim::DEFAULT_SEED)]
    seed: u64,
    /// Probability (0 to 1) that a link loses a segment.
    #[arg(long, value_name = "P")]
    loss: Option<f64>,
    /// One-way link delay in milliseconds.
    #[arg(long, value_name = "MS")]
    delay: Option<f64>,
    /// Random extra delay per segment, up to MS milliseconds.
    #[arg(long, value_name = "MS")]
    jitter: Option<f64>,
    /// Probability (0 to 1) that a link duplicates a segment.
    #[arg(long, value_name = "P")]
    dup: Option<f64>,
    /// Probability (0 to 1) that a link reorders a segment.
    #[arg(long, value_name = "P")]
    reorder: Option<f64>,
    /// Maximum segment lifetime in milliseconds (TIME-WAIT lasts 2×MSL).
    #[arg(long, value_name = "MS")]
    msl: Option<f64>,
    #[command(flatten)]
    draw: crate::output::DrawArgs,
    /// Write every segment sent as pcapng to F (opens in Wireshark).
    #[arg(long, value_name = "F")]
    pcap: Option<PathBuf>,
    /// Write the trace as JSON Lines to F.
    #[arg(long, value_name = "F")]
    json: Option<PathBuf>,
    /// Colour the ladder.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Do not print the ladder (only the check's verdict).
    #[arg(long, short)]
    quiet: bool,
    /// After the verdict, print each host's stack counters that are not zero:
    /// retransmissions, loss probes, D-SACKs received, fast recoveries undone as
    /// reordering, timeouts found spurious (F-RTO), checksum failures, ...
    #[arg(long)]
    stats: bool,
}

fn millis(option: &str, ms: Option<f64>) -> Result<Option<Duration>, CliError> {
    match ms {
        None => Ok(None),
        Some(v) if (0.0..=3_600_000.0).contains(&v) => Ok(Some(Duration::from_micros((v * 1000.0) as u64))),
        Some(v) => Err(CliError(format!("--{option} {v}: expected milliseconds between 0 and 3600000"))),
    }
}

fn load(spec: &str) -> Result<Scenario, CliError> {
    if let Some(sc) = builtin(spec) {
        return Ok(sc);
    }
    let path = Path::new(spec);
    let looks_like_file = path.extension().is_some_and(|e| e == "toml") || path.exists();
    if !looks_like_file {
        let names: Vec<&str> = builtin_names().iter().map(|(n, _)| *n).collect();
        return Err(CliError(format!("unknown scenario `{spec}` (built-in: {})", names.join(", "))));
    }
    let text = std::fs::read_to_string(path).map_err(|e| CliError(format!("cannot read {spec}: {e}")))?;
    Scenario::from_toml_str(&text).map_err(|e| CliError(format!("{spec}: {e}")))
}

fn ladder(result: &SimResult, color: ColorChoice) -> String {
    let opts = LadderOptions { color: color.enabled(), ..LadderOptions::default() };
    render_ladder(&result.trace, &opts)
}

/// `synack sim`.
pub(crate) fn run(args: &SimArgs) -> Result<ExitCode, CliError> {
    if let Some(mode) = args.mode.as_deref() {
        return crate::campaign::run_mode(mode);
    }
    let spec =
        args.scenario.as_deref().ok_or_else(|| CliError("a scenario name or file is required".into()))?;
    let scenario = load(spec)?;
    let opts = SimOptions {
        seed: args.seed,
        loss: args.loss,
        delay: millis("delay", args.delay)?,
        jitter: millis("jitter", args.jitter)?,
        dup: args.dup,
        reorder: args.reorder,
        msl: millis("msl", args.msl)?,
        ..SimOptions::default()
    };
    let result = synack_sim::run(&scenario, &opts)?;
    if !args.quiet {
        print!("{}", ladder(&result, args.color));
    }
    args.draw.write(&result.trace, &format!("synack sim {} --seed {}", scenario.name(), args.seed))?;
    if let Some(f) = &args.pcap {
        write_pcap(f, &result.trace)?;
    }
    if let Some(f) = &args.json {
        write_json(f, &result.trace)?;
    }
    let code = verdict(&result, scenario.name());
    if args.stats {
        for h in &result.hosts {
            println!("stats: {}: {}", h.name, h.stats);
        }
    }
    Ok(code)
}

fn verdict(result: &SimResult, name: &str) -> ExitCode {
    match &result.check {
        Ok(()) => {
            println!("\ncheck: {name}: as expected (seed {})", result.seed);
            ExitCode::SUCCESS
        }
        Err(diffs) => {
            println!("\ncheck: {name}: NOT as expected (seed {}):", result.seed);
            for d in diffs {
                println!("  - {d}");
            }
            ExitCode::from(1)
        }
    }
}

/// `synack demo`.
pub(crate) fn demo(out: &Path, color: ColorChoice) -> Result<ExitCode, CliError> {
    let scenario = builtin("demo").ok_or_else(|| CliError("the demo scenario is missing".into()))?;
    let result = synack_sim::run(&scenario, &SimOptions::default())?;
    print!("{}", ladder(&result, color));
    let svg = out.join("demo.svg");
    let pcap = out.join("demo.pcapng");
    let json = out.join("demo.jsonl");
    write_svg(&svg, &result.trace, "synack demo: the life of one TCP connection")?;
    let packets = write_pcap(&pcap, &result.trace)?;
    write_json(&json, &result.trace)?;
    println!();
    println!(
        "wrote {} (ladder), {} ({packets} packets, opens in Wireshark), {} (trace)",
        svg.display(),
        pcap.display(),
        json.display()
    );
    Ok(verdict(&result, "demo"))
}

/// `synack scenarios`.
pub(crate) fn list(names_only: bool) {
    let width = builtin_names().iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, desc) in builtin_names() {
        if names_only {
            println!("{name}");
        } else {
            println!("{name:width$}  {desc}");
        }
    }
}
