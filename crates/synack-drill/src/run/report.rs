//! Outcomes of script runs, their one-line-per-script text form and their JSON form.

use std::fmt;
use std::path::PathBuf;

/// How one script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every event happened as the script says.
    Pass,
    /// The first event that did not happen as the script says.
    Fail {
        /// 1-based script line of the event.
        line: u32,
        /// What differed (`flags`, `ack`, `options`, `timing`, `errno`, `state`, ...).
        what: String,
        /// What the script expected, in script syntax where possible.
        expected: String,
        /// What the stack did instead.
        actual: String,
    },
    /// The script was not run to the end because it needs something the runner or
    /// synack does not provide; never counted as a pass.
    Skip {
        /// Why, naming the construct (and its line when there is one).
        reason: String,
    },
}

impl Outcome {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Skip { .. } => "SKIP",
        }
    }

    /// Whether this is [`Outcome::Pass`].
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass)
    }

    /// Whether this is [`Outcome::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, Outcome::Fail { .. })
    }

    /// Whether this is [`Outcome::Skip`].
    pub fn is_skip(&self) -> bool {
        matches!(self, Outcome::Skip { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pass => f.write_str("PASS"),
            Outcome::Fail { line, what, expected, actual } => {
                write!(f, "FAIL line {line}: {what}: expected {expected}, actual {actual}")
            }
            Outcome::Skip { reason } => write!(f, "SKIP {reason}"),
        }
    }
}

/// The outcome of one script file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    /// The script's path as given (or found under a given directory).
    pub path: PathBuf,
    /// How it ended.
    pub outcome: Outcome,
}

impl fmt::Display for ScriptResult {
    /// One line: `PASS path`, `FAIL path line N: ...` or `SKIP path: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.outcome {
            Outcome::Pass => write!(f, "PASS {path}"),
            Outcome::Fail { line, what, expected, actual } => {
                write!(f, "FAIL {path}:{line}: {what}: expected {expected}, actual {actual}")
            }
            Outcome::Skip { reason } => write!(f, "SKIP {path}: {reason}"),
        }
    }
}

/// The results of a run over many scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One entry per script, in the order run (sorted by path within a directory).
    pub results: Vec<ScriptResult>,
}

impl Report {
    /// Scripts that passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_pass()).count()
    }

    /// Scripts that failed.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_fail()).count()
    }

    /// Scripts that were skipped.
    pub fn skipped(&self) -> usize {
        self.results.iter().filter(|r| r.outcome.is_skip()).count()
    }

    /// The closing line: exactly `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed, {} skipped", self.passed(), self.failed(), self.skipped())
    }

    /// The process exit status the CLI should use: 0 when nothing failed (or when
    /// `allow_fail`), 1 otherwise.
    pub fn exit_code(&self, allow_fail: bool) -> i32 {
        if allow_fail || self.failed() == 0 {
            0
        } else {
            1
        }
    }

    /// The same content as the text form, as one JSON object:
    /// `{"results":[{"path":..,"outcome":"PASS"|"FAIL"|"SKIP", "line":..,"what":..,
    /// "expected":..,"actual":.., "reason":..}],"passed":N,"failed":N,"skipped":N}`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"results\":[");
        for (i, r) in self.results.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"path\":");
            push_json_str(&mut out, &r.path.display().to_string());
            out.push_str(",\"outcome\":");
            push_json_str(&mut out, r.outcome.label());
            match &r.outcome {
                Outcome::Pass => {}
                Outcome::Fail { line, what, expected, actual } => {
                    out.push_str(&format!(",\"line\":{line},\"what\":"));
                    push_json_str(&mut out, what);
                    out.push_str(",\"expected\":");
                    push_json_str(&mut out, expected);
                    out.push_str(",\"actual\":");
                    push_json_str(&mut out, actual);
                }
                Outcome::Skip { reason } => {
                    out.push_str(",\"reason\":");
                    push_json_str(&mut out, reason);
                }
            }
            out.push('}');
        }
        out.push_str(&format!(
            "],\"passed\":{},\"failed\":{},\"skipped\":{}}}",
            self.passed(),
            self.failed(),
            self.skipped()
        ));
        out
    }
}

impl fmt::Display for Report {
    /// One line per script, then the closing `N passed, N failed, N skipped` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            writeln!(f, "{r}")?;
        }
        writeln!(f, "{}", self.summary())
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escapes).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            results: vec![
                ScriptResult { path: "a.pkt".into(), outcome: Outcome::Pass },
                ScriptResult {
                    path: "b.pkt".into(),
                    outcome: Outcome::Fail {
                        line: 7,
                        what: "flags".into(),
                        expected: "> S. 0:0(0) ack 1".into(),
                        actual: "R. 0:0(0) ack 1".into(),
                    },
                },
                ScriptResult {
                    path: "c.pkt".into(),
                    outcome: Outcome::Skip { reason: "line 3: \"x\"".into() },
                },
            ],
        }
    }

    #[test]
    fn text_form_has_one_line_per_script_and_the_closing_counts() {
        let text = sample().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "PASS a.pkt");
        assert!(lines[1].starts_with("FAIL b.pkt:7: flags: expected > S. 0:0(0) ack 1, actual R."));
        assert!(lines[2].starts_with("SKIP c.pkt: line 3"));
        assert_eq!(lines[3], "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn json_form_escapes_strings_and_carries_the_counts() {
        let json = sample().to_json();
        assert!(json.contains("\"reason\":\"line 3: \\\"x\\\"\""), "{json}");
        assert!(json.contains("\"line\":7"), "{json}");
        assert!(json.ends_with("\"passed\":1,\"failed\":1,\"skipped\":1}"), "{json}");
    }

    #[test]
    fn exit_code_is_zero_only_without_failures_unless_allowed() {
        let r = sample();
        assert_eq!(r.exit_code(false), 1);
        assert_eq!(r.exit_code(true), 0);
        assert_eq!(Report::default().exit_code(false), 0);
    }
}
