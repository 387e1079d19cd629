//! The parser must never panic, whatever the input, and its positions must
//! stay inside the input.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use synack_drill::parse_script;

/// Used as a seed when the shared corpus is not present.
const SAMPLE: &str = r#"--ip_version=ipv4
--tolerance_usecs=75000
/* block comment */
 0.00 `sysctl -w net.inet.tcp.sack.enable=1`
+0.00 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.00 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0.00 connect(3, {sin_family=AF_INET, sin_port=htons(8080)}, 16) = -1 EINPROGRESS (Operation now in progress)
+0.00 > S  0:0(0)       win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0>
+0.10 < (ttl 64) S. 0:0(0) ack 1 win 32767 <mss 1460,sackOK,eol,eol>
+0.00 > [ect0] . 1:1(0) ack 1 win 65535 <nop,nop,sack 1:2 3:4>/udp(1 > 9811)
#ifdef FreeBSD
+0.00 %{ assert tcpi_state == TCPI_ESTABLISHED }%
#endif
0.000...0.100 accept(3, ..., ...) = 4
0.1~0.2 < icmp unreachable frag_needed mtu 1500
* > R. ...(0)! ack 2 win 0 <...>
+0 close(3) = 0 // done
"#;

/// Real scripts to mutate: the corpus when present, else [`SAMPLE`].
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = vec![SAMPLE.to_owned()];
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for path in entries.flatten().map(|e| e.path()) {
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "pkt") {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        out.push(text);
                    }
                }
            }
        }
        out
    })
}

/// Parses `src` and checks that any reported position lies within it.
fn check(src: &str) -> Result<(), TestCaseError> {
    let lines = u32::try_from(src.split('\n').count()).unwrap_or(u32::MAX);
    match parse_script(src) {
        Ok(script) => {
            for e in &script.events {
                prop_assert!(e.line >= 1 && e.line <= e.end_line && e.end_line <= lines);
            }
        }
        Err(e) => {
            prop_assert!(e.line >= 1 && e.line <= lines, "{e} (input has {lines} lines)");
            prop_assert!(e.col >= 1);
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

/// One edit of a script, on character positions (taken modulo the length).
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Fragments that exercise the grammar's edges.
    let fragment = prop_oneof![
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("{".to_owned()),
        Just("`".to_owned()),
        Just("%{".to_owned()),
        Just("}%".to_owned()),
        Just("/*".to_owned()),
        Just("\"".to_owned()),
        Just("...".to_owned()),
        Just("\n".to_owned()),
        Just("#ifdef X\n".to_owned()),
        Just("#endif\n".to_owned()),
        Just("--".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("-".to_owned()),
        Just("!".to_owned()),
        Just("~".to_owned()),
        Just("é\u{0}\u{feff}".to_owned()),
        "\\PC{0,6}",
    ];
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(p, n)| Edit::Delete(p, n)),
        (any::<usize>(), fragment).prop_map(|(p, s)| Edit::Insert(p, s)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Edit::Duplicate(p, n)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match e {
            Edit::Delete(p, n) => {
                let start = p % len;
                let end = (start + n).min(chars.len());
                if start < end {
                    chars.drain(start..end);
                }
            }
            Edit::Insert(p, s) => {
                let at = (p % len).min(chars.len());
                chars.splice(at..at, s.chars());
            }
            Edit::Duplicate(p, n) => {
                let start = (p % len).min(chars.len());
                let end = (start + n).min(chars.len());
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, copy);
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC*") {
        check(&s)?;
    }

    #[test]
    fn script_alphabet_soup_never_panics(
        s in "[ \\n0-9.+*~<>SFRPUEW:()\\[\\]{},=|`%#\"a-z_-]{0,200}"
    ) {
        check(&s)?;
    }

    #[test]
    fn mutated_real_scripts_never_panic(
        pick in any::<usize>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let seeds = seeds();
        let base = &seeds[pick % seeds.len()];
        check(&apply(base, &edits))?;
    }
}

#[test]
fn every_line_of_every_seed_can_be_truncated() {
    // Cutting a script after any character must not panic either.
    for text in seeds().iter().take(8) {
        let mut cut = String::new();
        for c in text.chars() {
            cut.push(c);
            if c == ' ' || c == '\n' || c == '(' || c == '<' {
                let _ = parse_script(&cut);
            }
        }
    }
}
