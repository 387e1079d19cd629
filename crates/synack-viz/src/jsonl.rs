//! JSON Lines: one [`TraceLine`] object per line, in the order given (time order).
//!
//! Writing skips [`Event::Unknown`] lines, which the contract has no form for. Reading
//! skips blank lines and reports the first bad line by its 1-based number.

use crate::model::{Event, TraceLine};
use std::fmt;
use std::io::{self, BufRead, Write};

/// Why a JSON Lines trace could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum JsonlError {
    /// Reading failed at the given line (1-based).
    Io {
        /// Line number, counting from 1.
        line: usize,
        /// The I/O error.
        source: io::Error,
    },
    /// The given line (1-based) is not a trace line of the contract.
    Parse {
        /// Line number, counting from 1.
        line: usize,
        /// What was wrong with it.
        source: serde_json::Error,
    },
}

impl JsonlError {
    /// The 1-based number of the offending line.
    pub fn line(&self) -> usize {
        match self {
            JsonlError::Io { line, .. } | JsonlError::Parse { line, .. } => *line,
        }
    }
}

impl fmt::Display for JsonlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonlError::Io { line, source } => write!(f, "line {line}: read error: {source}"),
            JsonlError::Parse { line, source } => write!(f, "line {line}: not a trace line: {source}"),
        }
    }
}

impl std::error::Error for JsonlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JsonlError::Io { source, .. } => Some(source),
            JsonlError::Parse { source, .. } => Some(source),
        }
    }
}

/// The JSON object of one line, without a newline; `None` for [`Event::Unknown`].
pub fn to_json(line: &TraceLine) -> Option<String> {
    if matches!(line.event, Event::Unknown { .. }) {
        return None;
    }
    serde_json::to_string(line).ok()
}

/// Writes one line (object and `\n`); [`Event::Unknown`] lines write nothing.
pub fn write_line<W: Write>(w: &mut W, line: &TraceLine) -> io::Result<()> {
    match to_json(line) {
        Some(json) => {
            w.write_all(json.as_bytes())?;
            w.write_all(b"\n")
        }
        None => Ok(()),
    }
}

/// Writes `lines` as JSON Lines, in the order given.
pub fn write_jsonl<W: Write>(mut w: W, lines: &[TraceLine]) -> io::Result<()> {
    for line in lines {
        write_line(&mut w, line)?;
    }
    w.flush()
}

/// `lines` as a JSON Lines string.
pub fn to_jsonl_string(lines: &[TraceLine]) -> String {
    let mut out = String::new();
    for json in lines.iter().filter_map(to_json) {
        out.push_str(&json);
        out.push('\n');
    }
    out
}

/// Parses one line of JSON.
pub fn parse_line(text: &str) -> Result<TraceLine, serde_json::Error> {
    serde_json::from_str(text)
}

/// Reads a JSON Lines trace; blank lines are skipped.
pub fn read_jsonl<R: BufRead>(r: R) -> Result<Vec<TraceLine>, JsonlError> {
    let mut out = Vec::new();
    for (i, text) in r.lines().enumerate() {
        let line = i + 1;
        let text = text.map_err(|source| JsonlError::Io { line, source })?;
        if text.trim().is_empty() {
            continue;
        }
        out.push(parse_line(&text).map_err(|source| JsonlError::Parse { line, source })?);
    }
    Ok(out)
}

/// Parses a JSON Lines trace held in a string.
pub fn parse_jsonl(text: &str) -> Result<Vec<TraceLine>, JsonlError> {
    read_jsonl(text.as_bytes())
}
