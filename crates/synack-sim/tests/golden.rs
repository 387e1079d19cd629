//! Golden text ladders: each built-in scenario's ladder (plain text, default seed) is
//! compared with `tests/golden/NAME.txt`. Regenerate with `SYNACK_UPDATE_GOLDEN=1`.

mod common;

use common::*;
use std::path::PathBuf;
use synack_viz::{render_ladder, LadderOptions};

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden").join(format!("{name}.txt"))
}

#[test]
fn ladders_match_the_golden_files() {
    let update = std::env::var("SYNACK_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let opts = LadderOptions { hosts: vec!["client".into(), "server".into()], ..LadderOptions::default() };
    let mut stale = Vec::new();
    for name in names() {
        let ladder = render_ladder(&run_default(name).trace, &opts);
        assert!(!ladder.contains('\x1b'), "{name}: plain text has no colour");
        let path = golden_path(name);
        if update {
            std::fs::write(&path, &ladder).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == ladder => {}
            Ok(want) => {
                let line = want.lines().zip(ladder.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
                stale
                    .push(format!("{name}: differs from line {line}\n--- golden\n{want}\n--- now\n{ladder}"));
            }
            Err(e) => stale.push(format!("{name}: {}: {e}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "golden ladders are stale (SYNACK_UPDATE_GOLDEN=1 to regenerate):\n{}",
        stale.join("\n")
    );
}
