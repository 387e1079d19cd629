//! Writing the artefacts of a run: SVG, pcapng and JSON Lines.

use crate::CliError;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use synack_viz::{jsonl, pcapng, seqgraph, svg, TraceLine};

fn create(path: &Path) -> Result<BufWriter<File>, CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError(format!("cannot create {}: {e}", dir.display())))?;
    }
    File::create(path)
        .map(BufWriter::new)
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
}

fn finish(mut w: BufWriter<File>, path: &Path) -> Result<(), CliError> {
    w.flush().map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
}

/// Write the trace as JSON Lines (DESIGN.md, "The trace").
pub(crate) fn write_json(path: &Path, trace: &[TraceLine]) -> Result<(), CliError> {
    let mut w = create(path)?;
    jsonl::write_jsonl(&mut w, trace)
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    finish(w, path)
}

/// Write every sent segment as pcapng (LINKTYPE_RAW), drops noted in comments.
pub(crate) fn write_pcap(path: &Path, trace: &[TraceLine]) -> Result<usize, CliError> {
    let mut w = create(path)?;
    let n = pcapng::write_pcapng(&mut w, trace)
        .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    finish(w, path)?;
    Ok(n)
}

/// Write the SVG ladder.
pub(crate) fn write_svg(path: &Path, trace: &[TraceLine], title: &str) -> Result<(), CliError> {
    let opts = svg::SvgOptions { title: Some(title.to_string()), ..svg::SvgOptions::default() };
    let text = svg::render_svg(trace, &opts);
    let mut w = create(path)?;
    w.write_all(text.as_bytes()).map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    finish(w, path)
}

/// Write the time-sequence graph of the data `sender` sent (by default the busiest
/// sender of the trace), over `time_us` (by default all of it).
pub(crate) fn write_seqgraph(
    path: &Path,
    trace: &[TraceLine],
    title: &str,
    sender: Option<&str>,
    time_us: Option<(u64, u64)>,
) -> Result<(), CliError> {
    let opts = seqgraph::SeqGraphOptions {
        title: Some(title.to_string()),
        sender: sender.map(str::to_string),
        time_us,
    };
    let text = seqgraph::render_seqgraph(trace, &opts)
        .map_err(|e| CliError(format!("cannot draw {}: {e}", path.display())))?;
    let mut w = create(path)?;
    w.write_all(text.as_bytes()).map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    finish(w, path)
}
