//! The checked-in expectations: which corpus scripts pass today, per directory and
//! profile, and the documented reason of every script that fails: a place where the
//! stack the script was written for (FreeBSD, Linux) chose differently from RFC 9293
//! (or the RFC it cites) and synack keeps to the RFC, or a script that contradicts
//! itself.
//!
//! ```toml
//! [[suite]]
//! dir = "freebsd-tcp-testsuite/snd-syn"   # relative to the corpus root
//! profile = "freebsd"
//! defines = ["STANDARD"]                  # optional: instead of the profile's
//! pass = ["snd-syn-with-default-options-ipv4.pkt"]  # relative to `dir`
//!
//! [[difference]]
//! scripts = ["freebsd-tcp-testsuite/state-event-engine/rcv-syn-time-wait/x.pkt"]
//! rfc = "RFC 9293 3.10.7.4"
//! freebsd = "what FreeBSD does"           # or linux = "...", or script = "..."
//! synack = "what synack does, as the RFC says"
//! ```

use super::{DrillOptions, Profile, Report};
use std::collections::BTreeSet;
use std::path::Path;

/// The whole expectations file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// One entry per corpus directory.
    pub suites: Vec<Suite>,
    /// Why each failing script fails.
    pub differences: Vec<Difference>,
}

/// A corpus directory run with one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    /// The directory, relative to the corpus root.
    pub dir: String,
    /// The profile its scripts run with.
    pub profile: Profile,
    /// `#ifdef` symbols instead of the profile's (empty: the profile's).
    pub defines: Vec<String>,
    /// Scripts (relative to `dir`) expected to pass.
    pub pass: BTreeSet<String>,
}

/// Scripts that fail for one documented reason: what they expect differs from what
/// synack does, and synack follows the RFC section named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The scripts, relative to the corpus root.
    pub scripts: Vec<String>,
    /// The RFC section synack follows.
    pub rfc: String,
    /// Whose behaviour the scripts expect.
    pub expected_by: ExpectedBy,
    /// What they expect.
    pub expected: String,
    /// What synack does.
    pub synack: String,
}

/// Whose behaviour a [`Difference`]'s scripts expect (the key of its description in
/// the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedBy {
    /// FreeBSD's (`freebsd = "..."`).
    Freebsd,
    /// Linux's (`linux = "..."`).
    Linux,
    /// Nobody's: the script contradicts itself or the platform it was written for
    /// (`script = "..."`).
    Script,
}

impl ExpectedBy {
    const ALL: [ExpectedBy; 3] = [ExpectedBy::Freebsd, ExpectedBy::Linux, ExpectedBy::Script];

    /// The key in the file.
    pub fn key(self) -> &'static str {
        match self {
            ExpectedBy::Freebsd => "freebsd",
            ExpectedBy::Linux => "linux",
            ExpectedBy::Script => "script",
        }
    }
}

impl Expectations {
    /// Reads an expectations file.
    pub fn load(path: &Path) -> Result<Expectations, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Expectations::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the TOML text.
    pub fn parse(text: &str) -> Result<Expectations, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut out = Expectations::default();
        for (i, s) in array(&table, "suite")?.iter().enumerate() {
            let t = s.as_table().ok_or(format!("suite {i} is not a table"))?;
            let dir = string(t, "dir", i)?;
            let name = string(t, "profile", i)?;
            let profile =
                Profile::from_name(&name).ok_or(format!("suite {dir}: unknown profile `{name}`"))?;
            let mut defines = Vec::new();
            for v in array(t, "defines")? {
                defines.push(
                    v.as_str().ok_or(format!("suite {dir}: `defines` holds a non-string"))?.to_string(),
                );
            }
            let mut pass = BTreeSet::new();
            for v in array(t, "pass")? {
                pass.insert(v.as_str().ok_or(format!("suite {dir}: `pass` holds a non-string"))?.to_string());
            }
            out.suites.push(Suite { dir, profile, defines, pass });
        }
        for (i, d) in array(&table, "difference")?.iter().enumerate() {
            let t = d.as_table().ok_or(format!("difference {i} is not a table"))?;
            let mut scripts = Vec::new();
            for v in array(t, "scripts")? {
                scripts.push(
                    v.as_str().ok_or(format!("difference {i}: `scripts` holds a non-string"))?.to_string(),
                );
            }
            let given: Vec<ExpectedBy> =
                ExpectedBy::ALL.into_iter().filter(|e| t.contains_key(e.key())).collect();
            let [expected_by] = given[..] else {
                return Err(format!(
                    "difference {i}: exactly one of `freebsd`, `linux` or `script` is needed"
                ));
            };
            out.differences.push(Difference {
                scripts,
                rfc: string(t, "rfc", i)?,
                expected_by,
                expected: string(t, expected_by.key(), i)?,
                synack: string(t, "synack", i)?,
            });
        }
        Ok(out)
    }

    /// The file's text: `header` (comment lines), then the suites and the
    /// differences. Parsing it gives back `self`.
    pub fn render(&self, header: &str) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = String::from(header);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        for s in &self.suites {
            out.push_str(&format!("\n[[suite]]\ndir = {}\nprofile = {}\n", q(&s.dir), q(s.profile.name())));
            if !s.defines.is_empty() {
                let d: Vec<String> = s.defines.iter().map(|d| q(d)).collect();
                out.push_str(&format!("defines = [{}]\n", d.join(", ")));
            }
            out.push_str("pass = [\n");
            for p in &s.pass {
                out.push_str(&format!("    {},\n", q(p)));
            }
            out.push_str("]\n");
        }
        for d in &self.differences {
            out.push_str(&format!(
                "\n[[difference]]\nrfc = {}\n{} = {}\nsynack = {}\nscripts = [\n",
                q(&d.rfc),
                d.expected_by.key(),
                q(&d.expected),
                q(&d.synack)
            ));
            for p in &d.scripts {
                out.push_str(&format!("    {},\n", q(p)));
            }
            out.push_str("]\n");
        }
        out
    }
}

impl Expectations {
    /// The scripts that failed in `report` (a run over `root/dir`) and that no
    /// difference names, relative to the corpus root: failures nobody has explained.
    pub fn unexplained_failures(&self, report: &Report, root: &Path) -> Vec<String> {
        let named: BTreeSet<&str> =
            self.differences.iter().flat_map(|d| d.scripts.iter().map(String::as_str)).collect();
        failed_scripts(report, root).into_iter().filter(|s| !named.contains(s.as_str())).collect()
    }

    /// The scripts a difference names that are not among `failed` (relative to the
    /// corpus root): explanations of failures that no longer happen.
    pub fn stale_explanations(&self, failed: &BTreeSet<String>) -> Vec<String> {
        self.differences
            .iter()
            .flat_map(|d| d.scripts.iter())
            .filter(|s| !failed.contains(*s))
            .cloned()
            .collect()
    }
}

/// The scripts that failed in `report`, relative to `root` (the corpus root).
pub fn failed_scripts(report: &Report, root: &Path) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, super::Outcome::Fail { .. }))
        .filter_map(|r| r.path.strip_prefix(root).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

impl Suite {
    /// The options to run this suite with.
    pub fn options(&self) -> DrillOptions {
        DrillOptions { defines: self.defines.clone(), ..DrillOptions::with_profile(self.profile) }
    }

    /// `dir [profile]` or `dir [profile, defines ...]`, for messages.
    pub fn label(&self) -> String {
        if self.defines.is_empty() {
            format!("{} [{}]", self.dir, self.profile.name())
        } else {
            format!("{} [{}, {}]", self.dir, self.profile.name(), self.defines.join(" "))
        }
    }

    /// Expected-pass scripts of this suite that did not pass in `report` (run over
    /// `root/dir`), with their outcome; listed scripts missing from the report count
    /// too.
    pub fn regressions(&self, report: &Report, root: &Path) -> Vec<String> {
        let base = root.join(&self.dir);
        let mut out = Vec::new();
        for name in &self.pass {
            let path = base.join(name);
            match report.results.iter().find(|r| r.path == path) {
                Some(r) if r.outcome.is_pass() => {}
                Some(r) => out.push(format!("{}/{name}: {}", self.dir, r.outcome)),
                None => out.push(format!("{}/{name}: not run (missing from the corpus?)", self.dir)),
            }
        }
        out
    }

    /// Scripts that passed in `report` but are not listed (candidates to add).
    pub fn new_passes(&self, report: &Report, root: &Path) -> Vec<String> {
        let base = root.join(&self.dir);
        report
            .results
            .iter()
            .filter(|r| r.outcome.is_pass())
            .filter_map(|r| r.path.strip_prefix(&base).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| !self.pass.contains(p))
            .collect()
    }
}

fn array<'a>(t: &'a toml::Table, key: &str) -> Result<&'a [toml::Value], String> {
    match t.get(key) {
        None => Ok(&[]),
        Some(toml::Value::Array(a)) => Ok(a),
        Some(_) => Err(format!("`{key}` must be an array")),
    }
}

fn string(t: &toml::Table, key: &str, i: usize) -> Result<String, String> {
    t.get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or(format!("entry {i}: `{key}` must be a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{Outcome, ScriptResult};

    const TEXT: &str = r#"
[[suite]]
dir = "a"
profile = "freebsd"
defines = ["STANDARD"]
pass = ["x.pkt", "sub/y.pkt"]

[[difference]]
scripts = ["a/z.pkt"]
rfc = "RFC 9293 3.10.7.4"
freebsd = "f"
synack = "s"
"#;

    #[test]
    fn parses_suites_and_differences() {
        let e = Expectations::parse(TEXT).expect("parses");
        assert_eq!(e.suites.len(), 1);
        assert_eq!(e.suites[0].profile, Profile::Freebsd);
        assert!(e.suites[0].pass.contains("sub/y.pkt"));
        assert_eq!(e.differences[0].rfc, "RFC 9293 3.10.7.4");
        assert_eq!(e.differences[0].scripts, vec!["a/z.pkt".to_string()]);
        let again = Expectations::parse(&e.render("# header")).expect("rendered text parses");
        assert_eq!(again, e);
        assert!(Expectations::parse("[[suite]]\ndir = \"a\"\nprofile = \"bsd\"\n").is_err());
    }

    fn fail() -> Outcome {
        Outcome::Fail { line: 1, what: "flags".into(), expected: "e".into(), actual: "a".into() }
    }

    #[test]
    fn a_failure_no_difference_names_is_unexplained_and_a_named_pass_is_stale() {
        let e = Expectations::parse(TEXT).expect("parses");
        let root = Path::new("/corpus");
        let report = Report {
            results: vec![
                ScriptResult { path: root.join("a/z.pkt"), outcome: fail() },
                ScriptResult { path: root.join("a/v.pkt"), outcome: fail() },
                ScriptResult { path: root.join("a/x.pkt"), outcome: Outcome::Pass },
                ScriptResult { path: root.join("a/s.pkt"), outcome: Outcome::Skip { reason: "r".into() } },
            ],
        };
        // a/z.pkt fails and is explained; a/v.pkt fails and is not; passes and skips
        // need no explanation.
        assert_eq!(e.unexplained_failures(&report, root), vec!["a/v.pkt".to_string()]);
        let failed: BTreeSet<String> = failed_scripts(&report, root).into_iter().collect();
        assert!(e.stale_explanations(&failed).is_empty());
        // Once a/z.pkt passes, its explanation is stale.
        let passing =
            Report { results: vec![ScriptResult { path: root.join("a/z.pkt"), outcome: Outcome::Pass }] };
        let failed: BTreeSet<String> = failed_scripts(&passing, root).into_iter().collect();
        assert_eq!(e.stale_explanations(&failed), vec!["a/z.pkt".to_string()]);
    }

    #[test]
    fn a_difference_says_whose_behaviour_the_scripts_expect_exactly_once() {
        let e = Expectations::parse(TEXT).expect("parses");
        assert_eq!(e.differences[0].expected_by, ExpectedBy::Freebsd);
        assert_eq!(e.differences[0].expected, "f");
        let linux = TEXT.replace("freebsd = \"f\"", "linux = \"l\"");
        let d = &Expectations::parse(&linux).expect("parses").differences[0];
        assert_eq!((d.expected_by, d.expected.as_str()), (ExpectedBy::Linux, "l"));
        let both = TEXT.replace("freebsd = \"f\"", "freebsd = \"f\"\nscript = \"x\"");
        assert!(Expectations::parse(&both).is_err());
        let neither = TEXT.replace("freebsd = \"f\"", "");
        assert!(Expectations::parse(&neither).is_err());
    }

    #[test]
    fn regressions_name_expected_passes_that_did_not_pass() {
        let e = Expectations::parse(TEXT).expect("parses");
        let root = Path::new("/corpus");
        let report = Report {
            results: vec![
                ScriptResult { path: root.join("a/x.pkt"), outcome: Outcome::Pass },
                ScriptResult {
                    path: root.join("a/sub/y.pkt"),
                    outcome: Outcome::Skip { reason: "r".into() },
                },
                ScriptResult { path: root.join("a/w.pkt"), outcome: Outcome::Pass },
            ],
        };
        let reg = e.suites[0].regressions(&report, root);
        assert_eq!(reg.len(), 1);
        assert!(reg[0].starts_with("a/sub/y.pkt: SKIP"), "{reg:?}");
        assert_eq!(e.suites[0].new_passes(&report, root), vec!["w.pkt".to_string()]);
    }
}
