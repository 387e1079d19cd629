//! Writing the artefacts of a run: SVG (ladder and time-sequence graph), pcapng and
//! JSON Lines.

use crate::CliError;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
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
    write_text(path, &svg::render_svg(trace, &opts))
}

/// Write `text` to `path` (a drawing).
fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    let mut w = create(path)?;
    w.write_all(text.as_bytes()).map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))?;
    finish(w, path)
}

/// The drawings of a trace, for `synack sim` and `synack show`.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct DrawArgs {
    /// Write the ladder as SVG to F.
    #[arg(long, value_name = "F")]
    svg: Option<PathBuf>,
    /// Write the time-sequence graph as SVG to F: sequence numbers over time, with the
    /// data one host sent, its retransmissions and losses, the ACKs and SACK blocks it
    /// got back, and its timeouts.
    #[arg(long, value_name = "F")]
    seqgraph: Option<PathBuf>,
    /// The host whose data --seqgraph draws (by default the one that sent the most).
    #[arg(long, value_name = "HOST", requires = "seqgraph")]
    seqgraph_from: Option<String>,
    /// Draw --seqgraph over this stretch only, in milliseconds: FROM..TO (e.g.
    /// 8000..8600), a zoom on one episode.
    #[arg(long, value_name = "FROM..TO", requires = "seqgraph", value_parser = parse_ms_range)]
    seqgraph_time: Option<(u64, u64)>,
}

impl DrawArgs {
    /// Write the drawings asked for, titled after `what` (the command that made the
    /// trace).
    pub(crate) fn write(&self, trace: &[TraceLine], what: &str) -> Result<(), CliError> {
        if let Some(f) = &self.svg {
            write_svg(f, trace, what)?;
        }
        if let Some(f) = &self.seqgraph {
            let opts = seqgraph::SeqGraphOptions {
                title: Some(format!("{what}: time-sequence graph")),
                sender: self.seqgraph_from.clone(),
                time_us: self.seqgraph_time,
            };
            let text = seqgraph::render_seqgraph(trace, &opts)
                .map_err(|e| CliError(format!("cannot draw {}: {e}", f.display())))?;
            write_text(f, &text)?;
        }
        Ok(())
    }
}

/// `FROM..TO` in milliseconds (decimals allowed) as microseconds, FROM before TO.
fn parse_ms_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) =
        s.split_once("..").ok_or_else(|| format!("{s:?} is not FROM..TO (milliseconds, e.g. 8000..8600)"))?;
    let us = |v: &str| -> Result<u64, String> {
        let ms: f64 = v.trim().parse().map_err(|_| format!("{v:?} is not a number of milliseconds"))?;
        if !ms.is_finite() || !(0.0..=1e12).contains(&ms) {
            return Err(format!("{v:?} ms is out of range (0 to 10^12)"));
        }
        Ok((ms * 1000.0).round() as u64)
    };
    let (from, to) = (us(a)?, us(b)?);
    if from >= to {
        return Err(format!("{s:?}: FROM must come before TO"));
    }
    Ok((from, to))
}
