//! Counting under `valgrind --tool=callgrind`: the figures that do not drift with the
//! machine's load.
//!
//! The benchmark runs itself again as a child under callgrind, with collection switched
//! on only inside one `#[inline(never)]` function (`--toggle-collect`), and reads the
//! totals of the events callgrind wrote. With `cache_sim`, callgrind also simulates the
//! caches (`--cache-sim=yes`: `I1mr` are level-1 instruction cache misses, with the
//! cache geometry valgrind reads from this CPU).

use std::path::Path;

/// What one child run counted.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    /// The unit count the child printed (`KEY=N` on stdout: segments, lifecycles).
    pub(crate) units: f64,
    /// Event totals, in callgrind's order (`Ir` first).
    events: Vec<(String, f64)>,
    /// The output file's path while it exists (removed by `Drop`).
    file: std::path::PathBuf,
}

impl Counts {
    /// The total of `event` (`Ir`, `I1mr`, ...) per unit.
    pub(crate) fn per_unit(&self, event: &str) -> Option<f64> {
        let total = self.events.iter().find(|(e, _)| e == event)?.1;
        (self.units > 0.0).then(|| total / self.units)
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

/// Run this binary under callgrind with `child_args`, collecting only inside functions
/// matching `func` (a callgrind glob), and read back the unit count the child prints
/// as `unit_key=N`. `None` where valgrind is missing, the child failed, or its output
/// could not be read.
pub(crate) fn callgrind(func: &str, child_args: &[&str], unit_key: &str, cache_sim: bool) -> Option<Counts> {
    let exe = std::env::current_exe().ok()?;
    let tag: String = func.chars().filter(char::is_ascii_alphanumeric).collect();
    let file = std::env::temp_dir().join(format!("synack-bench-{tag}-{}.out", std::process::id()));
    let res = std::process::Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--cache-sim={}", if cache_sim { "yes" } else { "no" }))
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={func}"))
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(&exe)
        .args(child_args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok();
    let text = std::fs::read_to_string(&file).ok();
    let mut counts = Counts { units: 0.0, events: Vec::new(), file };
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
    counts.events = parse_totals(&text?)?;
    counts.units = units;
    Some(counts)
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
    use super::parse_totals;

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
