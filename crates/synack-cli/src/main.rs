//! `synack`: the command-line face of the synack TCP stack.
//!
//! Every subcommand is a thin layer: it parses arguments, calls a library crate and
//! prints. Errors are one line on stderr and exit status 2; a scenario whose check
//! failed exits with status 1.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;

mod campaign;
mod drill;
mod hostile;
mod output;
mod show;
mod sim;

/// synack: a userspace TCP stack (RFC 9293) you can watch.
///
/// Exit status: 0 on success, 1 when a scenario's check failed, 2 on bad input.
#[derive(Parser, Debug)]
#[command(name = "synack", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Watch one TCP connection live its whole life on a simulated network.
    ///
    /// Handshake, a request and a response, the client closes first, TIME-WAIT, CLOSED.
    /// Prints the ladder diagram and writes DIR/demo.svg, DIR/demo.pcapng and
    /// DIR/demo.jsonl. Needs no root and no network.
    Demo(DemoArgs),
    /// Run a scenario on the simulated network and check its outcome.
    ///
    /// NAME is a built-in scenario (see `synack scenarios`) or a TOML file. Prints the
    /// ladder; exit status 1 when the scenario's check fails, 2 on bad input.
    Sim(sim::SimArgs),
    /// Run packetdrill scripts against synack and report PASS, FAIL or SKIP per script.
    ///
    /// Ends with `N passed, N failed, N skipped`; exit status 1 when a script failed
    /// (unless --allow-fail).
    Drill(drill::DrillArgs),
    /// Draw a trace saved as JSON Lines: the ladder, and on request its SVG and the
    /// time-sequence graph.
    ///
    /// Reads what `sim --json`, `demo` and `tun ... --json` write. Prints the ladder;
    /// --svg and --seqgraph write the drawings as `sim` does.
    Show(show::ShowArgs),
    /// Run synack on a Linux TUN device against the kernel's TCP (needs root).
    #[command(subcommand)]
    Tun(synack_tun::TunCommand),
    /// List the built-in scenarios, one per line.
    Scenarios {
        /// Print only the names (for scripts).
        #[arg(long)]
        names: bool,
    },
}

/// When to colour the terminal ladder.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    pub(crate) fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

#[derive(clap::Args, Debug)]
struct DemoArgs {
    /// Directory for demo.svg, demo.pcapng and demo.jsonl (created if missing).
    #[arg(long, value_name = "DIR", default_value = "synack-out")]
    out: std::path::PathBuf,
    /// Colour the ladder.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// What went wrong, for the one-line error message.
#[derive(Debug)]
pub(crate) struct CliError(pub(crate) String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => sim::demo(&args.out, args.color),
        Command::Sim(args) => sim::run(&args),
        Command::Drill(args) => drill::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Tun(cmd) => match synack_tun::run(&cmd) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("synack: error: {e}");
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1));
            }
        },
        Command::Scenarios { names } => {
            sim::list(names);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(CliError(msg)) => {
            eprintln!("synack: error: {msg}");
            ExitCode::from(2)
        }
    }
}
