//! Every `.pkt` script of the shared conformance corpus must parse.
//!
//! The corpus lives outside the repository, at `<workspace>/../shared/conformance`.
//! When it is missing the test prints a notice and passes, unless
//! `SYNACK_REQUIRE_CORPUS=1` is set.

use std::path::{Path, PathBuf};

use synack_drill::ast::{EcnCodepoint, PacketBody, TcpOption, TcpOptions};
use synack_drill::{parse_script, EventKind, Script, TimeSpec};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

fn collect_pkt(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_pkt(&path, out);
        } else if path.extension().is_some_and(|e| e == "pkt") {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_script_parses() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        let msg = format!("conformance corpus not found at {}", dir.display());
        if std::env::var("SYNACK_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
            panic!("{msg} (SYNACK_REQUIRE_CORPUS=1)");
        }
        eprintln!("NOTE: {msg}; skipping (set SYNACK_REQUIRE_CORPUS=1 to make this fail)");
        return;
    }
    let mut files = Vec::new();
    collect_pkt(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .pkt files under {}", dir.display());

    let mut failures = Vec::new();
    let mut stats = Stats::default();
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        match parse_script(&text) {
            Ok(script) => {
                for problem in check_script(&text, &script, &mut stats) {
                    failures.push(format!("{}:{problem}", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}:{e}", path.display())),
        }
    }
    eprintln!(
        "checked {} corpus scripts: {} events ({} packets, {} syscalls, {} python, {} shell; \
         {} sysctl settings, {} sockstat checks, {} guarded events)",
        files.len(),
        stats.events,
        stats.packets,
        stats.syscalls,
        stats.python,
        stats.shell,
        stats.sysctl_settings,
        stats.sockstat_checks,
        stats.guarded
    );
    assert!(
        failures.is_empty(),
        "{} problems in {} scripts:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[derive(Default)]
struct Stats {
    events: usize,
    packets: usize,
    syscalls: usize,
    python: usize,
    shell: usize,
    sysctl_settings: usize,
    sockstat_checks: usize,
    guarded: usize,
}

/// Semantic checks beyond "it parses": every construct the corpus uses is
/// recognised into a typed node, and every event's line is the line where
/// that event is written. Returns `line:col: problem` strings.
fn check_script(text: &str, script: &Script, stats: &mut Stats) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for ev in &script.events {
        stats.events += 1;
        if !ev.guards.is_empty() {
            stats.guarded += 1;
        }
        let src = lines.get(ev.line as usize - 1).map_or("", |l| l.trim_start());
        let starts_ok = match ev.time {
            TimeSpec::Unspecified => src.starts_with('`') || src.starts_with("%{"),
            TimeSpec::Wildcard => src.starts_with('*'),
            _ => src.starts_with(|c: char| c == '+' || c.is_ascii_digit()),
        };
        if !starts_ok {
            problems.push(format!("{}:1: event does not start on its line: `{src}`", ev.line));
        }
        match &ev.kind {
            EventKind::Packet(p) => {
                stats.packets += 1;
                match &p.body {
                    PacketBody::Tcp(t) => {
                        if let Some(TcpOptions::List(opts)) = &t.options {
                            for o in opts {
                                if let TcpOption::Unknown { raw, .. } = o {
                                    problems.push(format!("{}:1: unknown TCP option `{raw}`", ev.line));
                                }
                            }
                        }
                    }
                    PacketBody::Icmp(_) => {}
                    PacketBody::Unsupported(u) => {
                        problems.push(format!("{}:1: unsupported packet `{}`", ev.line, u.protocol));
                    }
                }
                if matches!(p.ecn, Some(EcnCodepoint::Other(_))) {
                    problems.push(format!("{}:1: unknown ECN codepoint", ev.line));
                }
            }
            EventKind::Syscall(_) => stats.syscalls += 1,
            EventKind::Python(b) => {
                stats.python += 1;
                if !b.fully_recognised() {
                    problems.push(format!("{}:1: python not recognised: {:?}", ev.line, b.raw));
                }
            }
            EventKind::Shell(c) => {
                stats.shell += 1;
                let raw = c.raw.trim_start();
                let settings = c.sysctl_settings();
                stats.sysctl_settings += settings.len();
                if raw.starts_with("sysctl") && (settings.is_empty() || !c.is_only_sysctl()) {
                    problems.push(format!("{}:1: sysctl not recognised: `{raw}`", ev.line));
                }
                if raw.starts_with("sockstat") {
                    if c.sockstat_check().is_some() {
                        stats.sockstat_checks += 1;
                    } else {
                        problems.push(format!("{}:1: sockstat not recognised: `{raw}`", ev.line));
                    }
                }
            }
        }
    }
    problems
}
