//! The runner: executes parsed scripts against a [`synack::Stack`] on a virtual clock.
//!
//! The model is packetdrill's. The stack under test owns the local address (192.0.2.1,
//! or 2001:db8::1 for `--ip_version=ipv6`); the script plays the remote host
//! (192.0.2.2 / 2001:db8::2). Script times are seconds with microsecond precision on
//! a clock that starts at 0; `+t` is relative to the previous event (after an outbound
//! segment, to when it was actually sent; after `start...end`, to `start`). For each
//! event:
//!
//! - `<` lines are built into IP datagrams (options byte for byte as written) and fed
//!   to [`synack::Stack::handle_packet`];
//! - `>` lines take the next datagram the stack sent and compare flags, sequence and
//!   acknowledgment numbers (remapped through the learned ISNs; `0:0(0)!` is an
//!   absolute sequence number), payload length, the window when given, the options in
//!   order (unless `<...>`; no list means no options; TSval is not compared, TSecr
//!   is) and the send time within `--tolerance_usecs` (default 4 ms); consecutive data
//!   segments are merged up to the scripted length;
//! - system calls map onto the stack API (see the table in the `syscalls` module);
//!   blocking calls wait in virtual time and must return when `start...end` says;
//! - `sysctl` lines configure the stack through the [`Profile`] (see the `sysctl`
//!   module for each setting); `sockstat` checks count connection states from the
//!   stack's trace; `tcpi_state` assertions read [`synack::Stack::state`].
//!
//! Sent segments queue up in order and each `>` line takes the next one, so a segment
//! the script does not mention fails the next `>` line. Segments left over after the
//! last event are ignored, as packetdrill ignores them, except under
//! [`DrillOptions::strict`], where every segment sent until the last event (plus the
//! tolerance) must be matched. Anything the runner does not understand skips the
//! script with the reason; nothing is silently passed. `SYNACK_DRILL_DEBUG=1` prints
//! every segment the stack sends.

mod engine;
pub mod expectations;
mod icmp;
mod packets;
mod profile;
mod report;
mod shell;
mod sockets;
mod syscalls;
mod sysctl;
mod wire;

pub use profile::Profile;
pub use report::{Outcome, Report, ScriptResult};

use crate::ast::Script;
use engine::{Runner, Stop};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// How to run scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillOptions {
    /// The script family's assumptions.
    pub profile: Profile,
    /// Fail on segments the stack sends that no `>` line expects.
    pub strict: bool,
    /// Overrides the scripts' `--tolerance_usecs`.
    pub tolerance_usecs: Option<u64>,
    /// The `#ifdef` symbols to define instead of the profile's (empty: the profile's).
    /// The FreeBSD suite's `#ifdef STANDARD` branches hold what RFC 9293 prescribes
    /// where FreeBSD differs; `["STANDARD"]` with the `freebsd` profile runs those.
    pub defines: Vec<String>,
    /// Diagnostic aid: checks to leave out, to see what else a script checks when the
    /// stack differs in one known way. Results obtained with it are not conformance
    /// results; the CLI should not offer it without saying so.
    pub ignore: Vec<Check>,
}

/// A check that [`DrillOptions::ignore`] can leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The TCP options of outbound segments.
    Options,
    /// The window field of outbound segments.
    Window,
    /// When outbound segments are sent.
    Timing,
}

impl Check {
    /// Parses `options`, `win` or `timing`.
    pub fn from_name(name: &str) -> Option<Check> {
        match name {
            "options" => Some(Check::Options),
            "win" | "window" => Some(Check::Window),
            "timing" => Some(Check::Timing),
            _ => None,
        }
    }
}

impl Default for DrillOptions {
    /// The `rfc` profile, not strict.
    fn default() -> Self {
        DrillOptions {
            profile: Profile::Rfc,
            strict: false,
            tolerance_usecs: None,
            defines: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl DrillOptions {
    /// Options for `profile`, otherwise the defaults.
    pub fn with_profile(profile: Profile) -> Self {
        DrillOptions { profile, ..DrillOptions::default() }
    }
}

impl From<Stop> for Outcome {
    fn from(stop: Stop) -> Outcome {
        match stop {
            Stop::Fail { line, what, expected, actual } => Outcome::Fail { line, what, expected, actual },
            Stop::Skip(reason) => Outcome::Skip { reason },
        }
    }
}

/// Runs one script given as text. Never panics: a script the parser rejects is
/// skipped with the parse error, and a panic inside the stack is reported as a
/// failure.
pub fn run_script(text: &str, opts: &DrillOptions) -> Outcome {
    match crate::parse_script(text) {
        Ok(script) => run_parsed(&script, opts),
        Err(e) => Outcome::Skip { reason: format!("syntax the runner does not accept: {e}") },
    }
}

/// Runs one parsed script.
pub fn run_parsed(script: &Script, opts: &DrillOptions) -> Outcome {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut runner = Runner::new(script, opts)?;
        runner.run()
    }));
    match result {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(stop)) => stop.into(),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Fail { line: 0, what: "panic".into(), expected: "no panic".into(), actual: msg }
        }
    }
}

/// Runs one script file.
pub fn run_file(path: &Path, opts: &DrillOptions) -> ScriptResult {
    let outcome = match std::fs::read_to_string(path) {
        Ok(text) => run_script(&text, opts),
        Err(e) => Outcome::Fail {
            line: 0,
            what: "io".into(),
            expected: "a readable script".into(),
            actual: e.to_string(),
        },
    };
    ScriptResult { path: path.to_path_buf(), outcome }
}

/// Runs files and directories (every `*.pkt` below a directory, sorted by path).
pub fn run_paths(paths: &[PathBuf], opts: &DrillOptions) -> Report {
    let mut report = Report::default();
    for p in paths {
        for file in script_files(p) {
            report.results.push(run_file(&file, opts));
        }
    }
    report
}

/// `path` itself when it is not a directory, else every `*.pkt` below it, sorted.
pub fn script_files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    collect(path, &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "pkt") {
            out.push(path);
        }
    }
}
