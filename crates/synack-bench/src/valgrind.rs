//! Counting under `valgrind --tool=callgrind`: the figures that do not drift with the
//! machine's load.
//!
//! The benchmark runs itself again as a child under callgrind, with collection switched
//! on only inside one `#[inline(never)]` function (`--toggle-collect`), and reads the
//! totals of the events callgrind wrote. With `cache_and_code`, callgrind also
//! simulates the caches (`--cache-sim=yes`: `I1mr` are level-1 instruction cache
//! misses, with the cache geometry valgrind reads from this CPU) and writes the cost of
//! every instruction (`--dump-instr=yes`), from which [`Counts::hot_code_bytes`] finds
//! the code a unit of work runs through.

use std::path::Path;

/// What one child run counted.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    /// The unit count the child printed (`KEY=N` on stdout: segments, lifecycles).
    pub(crate) units: f64,
    /// Event totals, in callgrind's order (`Ir` first).
    events: Vec<(String, f64)>,
    /// Distinct 64-byte code lines holding an instruction run at least once per two
    /// units, and those instructions (with `cache_and_code`).
    hot: Option<HotCode>,
    /// The output file's path while it exists (removed by `Drop`).
    file: std::path::PathBuf,
}

impl Counts {
    /// The total of `event` (`Ir`, `I1mr`, ...) per unit.
    pub(crate) fn per_unit(&self, event: &str) -> Option<f64> {
        let total = self.events.iter().find(|(e, _)| e == event)?.1;
        (self.units > 0.0).then(|| total / self.units)
    }

    /// The code one unit of work runs through: bytes of the distinct 64-byte cache lines
    /// that hold an instruction executed at least once per two units (so: code every
    /// unit, or every other one, fetches), with `cache_and_code`. When this exceeds the
    /// level-1 instruction cache, each unit evicts code the next one needs again.
    pub(crate) fn hot_code_bytes(&self) -> Option<f64> {
        self.hot.map(|h| (h.lines * CODE_LINE) as f64)
    }

    /// The distinct instructions one unit of work runs at least once per two units
    /// (with `cache_and_code`): how much code it goes through, whatever the layout.
    /// (Two stacks that run as many instructions per unit differ here when one runs a
    /// little code many times and the other much code a few times each.)
    pub(crate) fn hot_instructions(&self) -> Option<f64> {
        self.hot.map(|h| h.instructions as f64)
    }

    /// The callgrind output file (for `callgrind_annotate`).
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }
}

impl Drop for Counts {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// Bytes of a cache line (x86-64, and valgrind's simulated caches here).
const CODE_LINE: usize = 64;

/// Run this binary under callgrind with `child_args`, collecting only inside functions
/// matching `func` (a callgrind glob), and read back the unit count the child prints
/// as `unit_key=N`. `None` where valgrind is missing, the child failed, or its output
/// could not be read.
pub(crate) fn callgrind(
    func: &str,
    child_args: &[&str],
    unit_key: &str,
    cache_and_code: bool,
) -> Option<Counts> {
    let yes_no = if cache_and_code { "yes" } else { "no" };
    let exe = std::env::current_exe().ok()?;
    let tag: String = func.chars().filter(char::is_ascii_alphanumeric).collect();
    let file = std::env::temp_dir().join(format!("synack-bench-{tag}-{}.out", std::process::id()));
    let res = std::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--cache-sim={yes_no}"))
        .arg(format!("--dump-instr={yes_no}"))
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={func}"))
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(&exe)
        .args(child_args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok();
    let text = std::fs::read_to_string(&file).ok();
    let mut counts = Counts { units: 0.0, events: Vec::new(), hot: None, file };
    let res = res?;
    if !res.status.success() {
        return None;
    }
    let stdout = String::from_utf8_lossy(&res.stdout);
    let prefix = format!("{unit_key}=");
    let units: f64 = stdout
        .lines()
        .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix(prefix.as_str())))?
        .parse()
        .ok()?;
    let text = text?;
    counts.events = parse_totals(&text)?;
    counts.units = units;
    if cache_and_code {
        counts.hot = hot_code(&text, units / 2.0);
    }
    Some(counts)
}

/// The code a callgrind output ran through ([`hot_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HotCode {
    /// Distinct [`CODE_LINE`]-byte lines holding such instructions.
    pub(crate) lines: usize,
    /// Distinct instructions.
    pub(crate) instructions: usize,
}

/// The distinct instructions executed at least `min_count` times, and the distinct
/// [`CODE_LINE`]-byte code lines holding them, from a callgrind output written with
/// `--dump-instr=yes` (`positions: instr line`). `None` when the output has no
/// instruction positions or a cost line does not parse.
///
/// The format (valgrind's "Callgrind Format Specification"): a cost line gives the
/// instruction address, the source line and the event counts, `Ir` first; positions
/// may be absolute (`0x...`), relative to the previous cost line (`+N`, `-N`) or the same
/// (`*`). A cost line right after `calls=` is the inclusive cost of that call, not the
/// instruction's own, and is skipped. Addresses are per object file (`ob=`), so the
/// lines are counted per object.
fn hot_code(text: &str, min_count: f64) -> Option<HotCode> {
    let positions = text.lines().find_map(|l| l.strip_prefix("positions:"))?;
    if positions.split_whitespace().next() != Some("instr") {
        return None;
    }
    let mut per_instr: std::collections::HashMap<(&str, u64), f64> = std::collections::HashMap::new();
    let (mut object, mut last, mut after_call) = ("", 0u64, false);
    for l in text.lines() {
        let Some(first) = l.bytes().next() else { continue };
        if let Some(ob) = l.strip_prefix("ob=") {
            // `(id) name` the first time, `(id)` after: the id names the object.
            object = ob.split(')').next().unwrap_or(ob);
            continue;
        }
        if l.starts_with("calls=") {
            after_call = true;
            continue;
        }
        if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*')) {
            continue;
        }
        let mut cols = l.split_whitespace();
        let addr = cols.next()?;
        last = if let Some(hex) = addr.strip_prefix("0x") {
            u64::from_str_radix(hex, 16).ok()?
        } else if let Some(d) = addr.strip_prefix('+') {
            last.checked_add(d.parse().ok()?)?
        } else if let Some(d) = addr.strip_prefix('-') {
            last.checked_sub(d.parse().ok()?)?
        } else if addr == "*" {
            last
        } else {
            addr.parse().ok()?
        };
        if std::mem::take(&mut after_call) {
            continue;
        }
        let _line = cols.next()?;
        // No event column: a cost line of zero (callgrind omits trailing zeros).
        let ir: f64 = match cols.next() {
            Some(v) => v.parse().ok()?,
            None => 0.0,
        };
        *per_instr.entry((object, last)).or_default() += ir;
    }
    let hot: Vec<(&str, u64)> =
        per_instr.into_iter().filter(|&(_, ir)| ir >= min_count && ir > 0.0).map(|(k, _)| k).collect();
    let lines: std::collections::HashSet<(&str, u64)> =
        hot.iter().map(|&(ob, addr)| (ob, addr / CODE_LINE as u64)).collect();
    Some(HotCode { lines: lines.len(), instructions: hot.len() })
}

/// The `events:` header and the `totals:` (or `summary:`) line of a callgrind output,
/// paired up.
fn parse_totals(text: &str) -> Option<Vec<(String, f64)>> {
    let names = text.lines().find_map(|l| l.strip_prefix("events:"))?.split_whitespace();
    let values =
        text.lines().find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))?;
    let values: Option<Vec<f64>> = values.split_whitespace().map(|v| v.parse().ok()).collect();
    let values = values?;
    let pairs: Vec<(String, f64)> = names.map(str::to_string).zip(values).collect();
    (!pairs.is_empty()).then_some(pairs)
}

#[cfg(test)]
mod tests {
    use super::{hot_code, parse_totals, HotCode};

    fn hot_code_lines(text: &str, min: f64) -> Option<usize> {
        hot_code(text, min).map(|h| h.lines)
    }

    /// A callgrind output with instruction positions: object 1 runs instructions at
    /// 0x1000 (20 times), 0x1004 (+4, 20), 0x1040 (+60, 20: the next 64-byte line) and
    /// 0x1080 (once); the line after `calls=` (at 0x1008, the call's inclusive cost of
    /// 500) is not an instruction's own cost; object 2 runs 0x1000 (20 times), its own
    /// line.
    const SAMPLE: &str = "version: 1\npositions: instr line\nevents: Ir I1mr\n\
        ob=(1) /bin/a\nfl=(1) a.rs\nfn=(1) f\n0x1000 3 20 1\n+4 +1 20\n\
        cfn=(2) g\ncalls=20 0x2000 9\n+4 * 500\n+56 0 20\n+64 2 1\n\
        ob=(2) /lib/b.so\nfn=(3) h\n0x1000 1 20\nsummary: 581 1\n";

    #[test]
    fn hot_code_lines_counts_distinct_lines_per_object_above_the_threshold() {
        // Lines run at least 10 times: 0x1000 (two instructions), 0x1040, and object
        // 2's 0x1000: three. The call's 500 does not make 0x1008 hot (it is not even a
        // new line, but a threshold of 100 shows it is not counted).
        assert_eq!(hot_code_lines(SAMPLE, 10.0), Some(3));
        assert_eq!(hot_code_lines(SAMPLE, 100.0), Some(0));
        // Everything run at least once: the 0x1080 line too.
        assert_eq!(hot_code_lines(SAMPLE, 1.0), Some(4));
    }

    #[test]
    fn hot_code_counts_the_instructions_too() {
        // Run at least 10 times: 0x1000 and 0x1004 (one line), 0x1040, object 2's
        // 0x1000: four instructions in three lines; at least once, 0x1080 as well.
        assert_eq!(hot_code(SAMPLE, 10.0), Some(HotCode { lines: 3, instructions: 4 }));
        assert_eq!(hot_code(SAMPLE, 1.0), Some(HotCode { lines: 4, instructions: 5 }));
        assert_eq!(hot_code(SAMPLE, 100.0), Some(HotCode { lines: 0, instructions: 0 }));
    }

    #[test]
    fn hot_code_lines_rejects_outputs_without_instruction_positions() {
        assert_eq!(hot_code_lines("events: Ir\nfn=(1) f\n3 20\n", 1.0), None);
        assert_eq!(hot_code_lines("positions: line\nevents: Ir\n3 20\n", 1.0), None);
        assert_eq!(hot_code_lines("positions: instr line\nevents: Ir\n0xZZ 3 20\n", 1.0), None);
        assert_eq!(hot_code_lines("positions: instr line\nevents: Ir\n0x10 3 many\n", 1.0), None);
    }

    #[test]
    fn totals_pair_with_event_names() {
        let text = "version: 1\nevents: Ir Dr Dw I1mr\nfn=x\n0x1 1 2\nsummary: 100 20 10 7\n";
        let got = parse_totals(text).expect("parsed");
        assert_eq!(got[0], ("Ir".to_string(), 100.0));
        assert_eq!(got[3], ("I1mr".to_string(), 7.0));
    }

    #[test]
    fn output_without_totals_is_rejected() {
        assert!(parse_totals("events: Ir\nfn=x\n").is_none());
        assert!(parse_totals("summary: 5\n").is_none());
        assert!(parse_totals("events: Ir\nsummary: five\n").is_none());
    }
}
