//! The `synack` binary end to end: outputs, exit statuses and error messages.

use std::path::PathBuf;
use std::process::{Command, Output};

fn synack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_synack")).args(args).output().expect("run synack")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synack-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn demo_prints_the_ladder_and_writes_svg_pcapng_and_jsonl() {
    let dir = tmpdir("demo");
    let out = synack(&["demo", "--out", dir.to_str().expect("utf-8 path"), "--color", "never"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for needle in [
        "[SYN-SENT]",
        "[ESTABLISHED]",
        "[FIN-WAIT-1]",
        "[FIN-WAIT-2]",
        "[TIME-WAIT]",
        "[CLOSE-WAIT]",
        "[LAST-ACK]",
        "2×MSL",
        "check: demo: as expected",
    ] {
        assert!(stdout.contains(needle), "demo output lacks {needle}:\n{stdout}");
    }
    assert!(!stdout.contains('\u{1b}'), "--color never prints no escape codes");
    let svg = std::fs::read_to_string(dir.join("demo.svg")).expect("demo.svg");
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"));
    let json = std::fs::read_to_string(dir.join("demo.jsonl")).expect("demo.jsonl");
    let trace = synack_viz::parse_jsonl(&json).expect("valid JSON Lines");
    let pcap = synack_viz::read_pcapng(std::fs::File::open(dir.join("demo.pcapng")).expect("pcapng"))
        .expect("valid pcapng");
    // The capture holds exactly the segments of the `send` events, in order.
    let sends: Vec<_> = trace.iter().filter(|l| l.ev() == "send").collect();
    assert_eq!(pcap.len(), sends.len());
    for (pkt, line) in pcap.iter().zip(&sends) {
        assert_eq!(pkt.t_us, line.t_us);
        let seg = synack_viz::Seg::from_ip_packet(&pkt.data).expect("capture holds TCP/IP packets");
        assert!(seg.same_as(line.seg().expect("send lines carry a segment")), "{seg:?} vs {:?}", line.seg());
    }
}

#[test]
fn every_builtin_scenario_runs_and_passes_its_check() {
    let list = synack(&["scenarios", "--names"]);
    assert!(list.status.success());
    let names = text(&list.stdout);
    let names: Vec<&str> = names.lines().collect();
    assert!(names.len() >= 14, "{names:?}");
    for name in names {
        let out = synack(&["sim", name, "--quiet"]);
        assert!(out.status.success(), "{name}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("as expected"));
    }
}

#[test]
fn the_same_seed_gives_identical_json_and_another_seed_differs() {
    let dir = tmpdir("seed");
    let run = |seed: &str, file: &str| {
        let f = dir.join(file);
        let out =
            synack(&["sim", "transfer", "--quiet", "--seed", seed, "--json", f.to_str().expect("utf-8")]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::read(f).expect("json written")
    };
    let a = run("7", "a.jsonl");
    let b = run("7", "b.jsonl");
    let c = run("8", "c.jsonl");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn bad_input_gets_one_line_errors_and_exit_status_2() {
    for (args, needle) in [
        (vec!["sim", "no-such-scenario"], "unknown scenario"),
        (vec!["sim", "close", "--loss", "2"], "loss"),
        (vec!["sim", "close", "--delay=-5"], "delay"),
        (vec!["sim", "/nonexistent/x.toml"], "cannot read"),
        (vec!["sim", "close", "--seed", "banana"], "invalid value"),
        (
            vec!["sim", "transfer", "--seqgraph", "/dev/null", "--seqgraph-time", "5..1"],
            "FROM must come before TO",
        ),
        (vec!["sim", "transfer", "--seqgraph", "/dev/null", "--seqgraph-time", "5"], "not FROM..TO"),
        (vec!["sim", "transfer", "--seqgraph-time", "1..5"], "--seqgraph"),
        (
            vec!["sim", "transfer", "--quiet", "--seqgraph", "/dev/null", "--seqgraph-from", "nobody"],
            "no host named",
        ),
        (vec!["sim", "handshake", "--quiet", "--seqgraph", "/dev/null"], "no segment with data"),
    ] {
        let out = synack(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn malformed_toml_is_a_one_line_error_with_status_2() {
    let dir = tmpdir("toml");
    let f = dir.join("bad.toml");
    std::fs::write(&f, "name = \"x\"\n[[host]\nname = 3\n").expect("write");
    let out = synack(&["sim", f.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_scenario_whose_expectation_is_wrong_fails_with_status_1() {
    // The example scenario with a wrong expected state sequence: the check must say so.
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../synack-sim/examples/custom.toml");
    let text_in = std::fs::read_to_string(&example).expect("example scenario");
    let expected = r#""FIN-WAIT-2", "TIME-WAIT""#;
    assert!(text_in.contains(expected), "the example expects the client to pass FIN-WAIT-2 then TIME-WAIT");
    let wrong = text_in.replacen(expected, r#""FIN-WAIT-2", "CLOSING""#, 1);
    let dir = tmpdir("wrong");
    let f = dir.join("wrong.toml");
    std::fs::write(&f, wrong).expect("write");
    let out = synack(&["sim", f.to_str().expect("utf-8"), "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("NOT as expected"));
    let ok = synack(&["sim", example.to_str().expect("utf-8"), "--quiet"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
}

/// The README shows the demo's ladder and `docs/demo.svg`: keep both true to the code.
/// `SYNACK_UPDATE_GOLDEN=1` rewrites them.
#[test]
fn readme_ladder_and_docs_svg_match_what_the_demo_prints() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tmpdir("readme");
    let out = synack(&["demo", "--out", dir.to_str().expect("utf-8"), "--color", "never"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let ladder = stdout.split("\n\n").next().expect("the ladder comes first").trim_end().to_string();
    let svg = std::fs::read_to_string(dir.join("demo.svg")).expect("demo.svg");

    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let (begin, end) = ("<!-- demo-ladder:begin -->\n```text\n", "\n```\n<!-- demo-ladder:end -->");
    let start = readme.find(begin).expect("README has the demo ladder block") + begin.len();
    let stop = readme[start..].find(end).expect("the block is closed") + start;
    if updating_golden() {
        let updated = format!("{}{}{}", &readme[..start], ladder, &readme[stop..]);
        std::fs::write(&readme_path, updated).expect("rewrite README");
    } else {
        assert_eq!(
            &readme[start..stop],
            ladder,
            "README's demo ladder is stale (SYNACK_UPDATE_GOLDEN=1 rewrites it)"
        );
    }
    golden(&root.join("docs/demo.svg"), &svg);
}

/// `SYNACK_UPDATE_GOLDEN` is set: the golden files are rewritten, not compared.
fn updating_golden() -> bool {
    std::env::var_os("SYNACK_UPDATE_GOLDEN").is_some()
}

/// The golden file at `path` holds exactly `fresh` (or is rewritten with it, see
/// [`updating_golden`]).
fn golden(path: &std::path::Path, fresh: &str) {
    if updating_golden() {
        std::fs::write(path, fresh).expect("rewrite the golden file");
        return;
    }
    let kept = std::fs::read_to_string(path).expect("the golden file");
    assert!(kept == fresh, "{} is stale (SYNACK_UPDATE_GOLDEN=1 rewrites it)", path.display());
}

/// `--seqgraph` draws the time-sequence graph of the busiest sender; `--seqgraph-time`
/// zooms on a stretch of it.
#[test]
fn sim_draws_the_time_sequence_graph_and_zooms_on_request() {
    let dir = tmpdir("seqgraph");
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../synack-sim/examples/loss-recovery.toml");
    let example = example.to_str().expect("utf-8");
    let (all, zoom) = (dir.join("all.svg"), dir.join("zoom.svg"));
    for (file, extra) in [(&all, vec![]), (&zoom, vec!["--seqgraph-time", "100..200"])] {
        let mut args = vec!["sim", example, "--quiet", "--seqgraph", file.to_str().expect("utf-8")];
        args.extend(extra);
        let out = synack(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let (all, zoom) =
        (std::fs::read_to_string(all).expect("svg"), std::fs::read_to_string(zoom).expect("svg"));
    assert!(all.starts_with("<svg") && all.contains("time-sequence graph"));
    let count = |svg: &str, class: &str| svg.matches(&format!("class=\"{class}\"")).count();
    // The example loses two segments of one window and the last one: three crosses,
    // three retransmissions; the zoom on 100 to 200 ms keeps the tail's loss and repair.
    assert_eq!((count(&all, "drop"), count(&all, "seg rtx")), (3, 3));
    assert_eq!((count(&zoom, "drop"), count(&zoom, "seg rtx")), (1, 1));
    assert!(count(&zoom, "seg new") < count(&all, "seg new"));
}

/// The README shows `docs/seqgraph.svg`, drawn by the command it gives: keep the two
/// identical. `SYNACK_UPDATE_GOLDEN=1` rewrites the file.
#[test]
fn readme_seqgraph_matches_what_sim_draws() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("crates/synack-sim/examples/lossy-download.toml");
    let svg = tmpdir("readme-seqgraph").join("seqgraph.svg");
    let args = [
        "sim",
        example.to_str().expect("utf-8"),
        "--quiet",
        "--seqgraph",
        svg.to_str().expect("utf-8"),
        "--seqgraph-time",
        "15850..16200",
    ];
    let out = synack(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawn = std::fs::read_to_string(&svg).expect("drawn");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(
        readme.contains("--seqgraph docs/seqgraph.svg --seqgraph-time 15850..16200"),
        "the README's command"
    );
    golden(&root.join("docs/seqgraph.svg"), &drawn);
}

/// `synack show` draws a trace saved by `--json` as `sim` drew it live: the same
/// ladder, the same time-sequence graph but for its title.
#[test]
fn show_draws_a_saved_trace_as_sim_drew_it() {
    let dir = tmpdir("show");
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../synack-sim/examples/loss-recovery.toml");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_string();
    let (json, live, later) = (path("t.jsonl"), path("live.svg"), path("later.svg"));
    let sim = synack(&[
        "sim",
        example.to_str().expect("utf-8"),
        "--color",
        "never",
        "--json",
        &json,
        "--seqgraph",
        &live,
    ]);
    assert!(sim.status.success(), "{}", text(&sim.stderr));
    let show =
        synack(&["show", &json, "--color", "never", "--seqgraph", &later, "--svg", &path("ladder.svg")]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let sim_ladder = text(&sim.stdout).split("\n\ncheck:").next().expect("the ladder").to_string();
    assert_eq!(text(&show.stdout).trim_end(), sim_ladder.trim_end());
    let body = |f: &str| {
        let svg = std::fs::read_to_string(f).expect("svg");
        svg.lines().filter(|l| !l.contains("time-sequence graph</text>")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(body(&live), body(&later));
    assert!(std::fs::read_to_string(path("ladder.svg")).expect("svg").starts_with("<svg"));
    // Errors: a missing file, a line that is not a trace line, an empty file.
    std::fs::write(dir.join("bad.jsonl"), "{\"t_us\": 1}\n").expect("write");
    std::fs::write(dir.join("empty.jsonl"), "\n").expect("write");
    for (file, needle) in [
        (path("missing.jsonl"), "cannot read"),
        (path("bad.jsonl"), "line 1"),
        (path("empty.jsonl"), "no trace lines"),
    ] {
        let out = synack(&["show", &file]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        assert!(text(&out.stderr).contains(needle), "{file}: {}", text(&out.stderr));
    }
}

/// `sim --stats` prints each host's counters that are not zero after the verdict;
/// without it, none.
#[test]
fn sim_stats_prints_each_hosts_counters() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("crates/synack-sim/examples/lossy-download.toml");
    let example = example.to_str().expect("utf-8");
    let out = synack(&["sim", example, "--quiet", "--stats"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("stats: ")).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("stats: client: "), "{stdout}");
    // 10% of the server's datagrams are lost: it retransmits, and probes.
    assert!(lines[1].starts_with("stats: server: retransmissions="), "{stdout}");
    assert!(lines[1].contains(" loss_probes="), "{stdout}");
    let plain = synack(&["sim", example, "--quiet"]);
    assert!(!text(&plain.stdout).contains("stats: "), "{}", text(&plain.stdout));
}
