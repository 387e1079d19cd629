//! The packetdrill corpus against the checked-in expectations.
//!
//! Every script listed as passing in `expectations.toml` must still pass; the per-
//! directory counts are printed. The corpus lives outside the repository, at
//! `<workspace>/../shared/conformance`: when it is missing the tests print why and
//! pass, unless `SYNACK_REQUIRE_CORPUS=1`.
//!
//! `SYNACK_UPDATE_EXPECTATIONS=1` rewrites the pass lists of `expectations.toml` from
//! this run (the documented differences are kept).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use synack_drill::run::expectations::{failed_scripts, Expectations, Suite};
use synack_drill::{run_paths, Outcome, Report};

/// The directories the runner must handle completely: none of their scripts may be
/// skipped for syntax or constructs the runner lacks.
const TARGETS: [&str; 2] = ["freebsd-tcp-testsuite/state-event-engine", "freebsd-tcp-testsuite/snd-syn"];

const HEADER: &str = "\
# Conformance expectations for the packetdrill runner (crates/synack-drill).
#
# [[suite]]: a corpus directory (relative to ../shared/conformance), the profile its
# scripts run with, and the scripts (relative to the directory) that pass today. The
# test tests/conformance.rs fails when one of them does not pass; .ci/run runs it with
# SYNACK_REQUIRE_CORPUS=1. Regenerate the lists with
#   SYNACK_UPDATE_EXPECTATIONS=1 cargo test -p synack-drill --test conformance
#
# [[difference]]: why a script fails: the stack it was written for (freebsd = ...,
# linux = ...) chose differently from RFC 9293 (or the RFC it cites) and synack keeps
# to the RFC, or the script contradicts itself (script = ...). Every failing script of
# every suite is named by one; tests/conformance.rs checks that, and that each one
# named still fails.
";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

fn expectations_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("expectations.toml")
}

/// Whether the corpus is there; panics when it is missing and required.
fn corpus_present() -> bool {
    let dir = corpus_dir();
    if dir.is_dir() {
        return true;
    }
    let msg = format!("conformance corpus not found at {}", dir.display());
    if std::env::var("SYNACK_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{msg} (SYNACK_REQUIRE_CORPUS=1)");
    }
    eprintln!("NOTE: {msg}; skipping (set SYNACK_REQUIRE_CORPUS=1 to make this fail)");
    false
}

fn expectations() -> Expectations {
    match Expectations::load(&expectations_path()) {
        Ok(e) => e,
        Err(e) => panic!("cannot read the expectations: {e}"),
    }
}

/// Every suite's report, computed once per test binary.
fn reports() -> &'static [(Suite, Report)] {
    static REPORTS: OnceLock<Vec<(Suite, Report)>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let root = corpus_dir();
        expectations()
            .suites
            .into_iter()
            .map(|suite| {
                let report = run_paths(&[root.join(&suite.dir)], &suite.options());
                (suite, report)
            })
            .collect()
    })
}

#[test]
fn scripts_listed_as_passing_still_pass() {
    if !corpus_present() {
        return;
    }
    let root = corpus_dir();
    let mut regressions = Vec::new();
    let mut updated = expectations();
    for (suite, report) in reports() {
        eprintln!("{:<62} {}", suite.label(), report.summary());
        regressions.extend(suite.regressions(report, &root));
        let new = suite.new_passes(report, &root);
        if !new.is_empty() {
            eprintln!("  {} newly passing (add them to expectations.toml): {}", new.len(), new.join(", "));
        }
        if let Some(s) = updated.suites.iter_mut().find(|s| s.dir == suite.dir && s.defines == suite.defines)
        {
            s.pass = report
                .results
                .iter()
                .filter(|r| r.outcome.is_pass())
                .filter_map(|r| r.path.strip_prefix(root.join(&suite.dir)).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
        }
    }
    if std::env::var("SYNACK_UPDATE_EXPECTATIONS").is_ok_and(|v| v == "1") {
        std::fs::write(expectations_path(), updated.render(HEADER)).expect("write expectations.toml");
        eprintln!("rewrote {}", expectations_path().display());
        return;
    }
    assert!(
        regressions.is_empty(),
        "{} scripts listed as passing in expectations.toml do not pass:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
}

#[test]
fn target_directories_never_skip_for_what_the_runner_lacks() {
    if !corpus_present() {
        return;
    }
    let mut lacking = Vec::new();
    for (suite, report) in reports().iter().filter(|(s, _)| TARGETS.contains(&s.dir.as_str())) {
        assert!(!report.results.is_empty(), "no scripts under {}", suite.dir);
        for r in &report.results {
            if let Outcome::Skip { reason } = &r.outcome {
                if reason.contains("runner") || reason.contains("script error") {
                    lacking.push(format!("{}: {reason}", r.path.display()));
                }
            }
        }
    }
    assert!(lacking.is_empty(), "skipped for the runner's gaps:\n{}", lacking.join("\n"));
}

#[test]
fn every_target_directory_has_a_suite_and_differences_name_real_scripts() {
    if !corpus_present() {
        return;
    }
    let e = expectations();
    for t in TARGETS {
        assert!(e.suites.iter().any(|s| s.dir == t), "expectations.toml has no suite for {t}");
    }
    for d in &e.differences {
        assert!(d.rfc.starts_with("RFC "), "a difference must cite its RFC section: {d:?}");
        for s in &d.scripts {
            assert!(corpus_dir().join(s).is_file(), "difference names a missing script: {s}");
        }
    }
}

#[test]
fn every_failing_script_has_a_documented_reason() {
    if !corpus_present() {
        return;
    }
    let (root, e) = (corpus_dir(), expectations());
    let mut unexplained = Vec::new();
    for (suite, report) in reports() {
        for s in e.unexplained_failures(report, &root) {
            unexplained.push(format!("{s} [{}]", suite.label()));
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} failing scripts have no [[difference]] in expectations.toml saying why:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}

#[test]
fn every_documented_reason_still_names_a_failing_script() {
    if !corpus_present() {
        return;
    }
    let root = corpus_dir();
    let failed: BTreeSet<String> = reports().iter().flat_map(|(_, r)| failed_scripts(r, &root)).collect();
    let stale = expectations().stale_explanations(&failed);
    assert!(
        stale.is_empty(),
        "scripts a [[difference]] explains no longer fail in any suite (remove them):\n{}",
        stale.join("\n")
    );
}
