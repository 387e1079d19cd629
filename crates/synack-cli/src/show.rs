//! `synack show`: draw a trace saved as JSON Lines (by `sim --json`, `demo`, or
//! `tun ... --json`, where the peer is the kernel).

use crate::output::DrawArgs;
use crate::{CliError, ColorChoice};
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use synack_viz::ladder::{render_ladder, LadderOptions};

/// Arguments of `synack show`.
#[derive(clap::Args, Debug)]
pub(crate) struct ShowArgs {
    /// The trace: JSON Lines as `--json` writes them (DESIGN.md, "The trace").
    #[arg(value_name = "TRACE.jsonl")]
    trace: PathBuf,
    #[command(flatten)]
    draw: DrawArgs,
    /// Colour the ladder.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Do not print the ladder.
    #[arg(long, short)]
    quiet: bool,
}

/// `synack show`.
pub(crate) fn run(args: &ShowArgs) -> Result<ExitCode, CliError> {
    let path = &args.trace;
    let file =
        std::fs::File::open(path).map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    let trace = synack_viz::read_jsonl(BufReader::new(file))
        .map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    if trace.is_empty() {
        return Err(CliError(format!("{}: no trace lines", path.display())));
    }
    if !args.quiet {
        let opts = LadderOptions { color: args.color.enabled(), ..LadderOptions::default() };
        print!("{}", render_ladder(&trace, &opts));
    }
    // Titled by the file's name: a long directory would run off the drawing.
    let name =
        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    args.draw.write(&trace, &format!("synack show {name}"))?;
    Ok(ExitCode::SUCCESS)
}
