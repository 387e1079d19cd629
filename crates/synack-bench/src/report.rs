//! Medians and the one-line-per-workload output format:
//! `bench=NAME unit=U synack=MEDIAN smoltcp=MEDIAN ratio=R runs=N`.
//!
//! `ratio` is always "above 1 means synack is better": synack/smoltcp where larger is
//! better (throughput, rates), smoltcp/synack where smaller is better (time,
//! instructions, memory). A figure that could not be measured prints as `na`.
//!
//! Timed workloads add `pair_ratio=P` after `runs`: the median of the ratios of each
//! synack run to the smoltcp run right after it. The runs alternate, so the two runs of a
//! pair share the machine's load of that moment; on a shared machine whose speed drifts
//! from one second to the next, that cancels much of the drift the ratio of the two
//! medians keeps. `pair_range=LO..HI` follows it: the lowest and the highest of those
//! per-pair ratios, so that a reader sees how far one run's figure can be trusted.

/// Which direction is better for a figure.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Better {
    /// Throughput, rates.
    Higher,
    /// Time, instructions, bytes.
    Lower,
}

/// The median of the values (the mean of the middle two for an even count); `None`
/// when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}

/// A figure with precision suited to its size.
pub(crate) fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "na".to_string(),
        Some(x) if !x.is_finite() => "na".to_string(),
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// The ratio oriented so that above 1 favours synack.
pub(crate) fn ratio(synack: Option<f64>, smoltcp: Option<f64>, better: Better) -> Option<f64> {
    let (s, m) = (synack?, smoltcp?);
    let r = match better {
        Better::Higher => s / m,
        Better::Lower => m / s,
    };
    r.is_finite().then_some(r)
}

/// The median of the per-pair ratios (run `i` of synack against run `i` of smoltcp),
/// oriented as [`ratio`]; `None` without pairs or when the two lists differ in length.
pub(crate) fn pair_ratio(synack: &[f64], smoltcp: &[f64], better: Better) -> Option<f64> {
    if synack.len() != smoltcp.len() {
        return None;
    }
    let pairs: Vec<f64> =
        synack.iter().zip(smoltcp).filter_map(|(&s, &m)| ratio(Some(s), Some(m), better)).collect();
    median(&pairs)
}

/// The lowest and the highest of the per-pair ratios of [`pair_ratio`]; `None` under
/// the same conditions.
pub(crate) fn pair_range(synack: &[f64], smoltcp: &[f64], better: Better) -> Option<(f64, f64)> {
    if synack.len() != smoltcp.len() {
        return None;
    }
    synack.iter().zip(smoltcp).filter_map(|(&s, &m)| ratio(Some(s), Some(m), better)).fold(None, |acc, r| {
        Some(match acc {
            None => (r, r),
            Some((lo, hi)) => (r.min(lo), r.max(hi)),
        })
    })
}

/// One result line (without trailing newline).
pub(crate) struct Line<'a> {
    /// Workload name.
    pub(crate) name: &'a str,
    /// Unit of the figures.
    pub(crate) unit: &'a str,
    /// synack's median.
    pub(crate) synack: Option<f64>,
    /// smoltcp's median.
    pub(crate) smoltcp: Option<f64>,
    /// Which direction is better.
    pub(crate) better: Better,
    /// Runs per stack.
    pub(crate) runs: usize,
    /// [`pair_ratio`], for workloads timed in alternating runs.
    pub(crate) pair_ratio: Option<f64>,
    /// [`pair_range`], printed after the pair ratio.
    pub(crate) pair_range: Option<(f64, f64)>,
    /// Extra `key=value` fields appended after the standard ones.
    pub(crate) extra: String,
}

impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = match ratio(self.synack, self.smoltcp, self.better) {
            Some(r) => format!("{r:.2}"),
            None => "na".to_string(),
        };
        write!(
            f,
            "bench={} unit={} synack={} smoltcp={} ratio={} runs={}",
            self.name,
            self.unit,
            fmt_value(self.synack),
            fmt_value(self.smoltcp),
            r,
            self.runs
        )?;
        if let Some(p) = self.pair_ratio {
            write!(f, " pair_ratio={p:.2}")?;
            if let Some((lo, hi)) = self.pair_range {
                write!(f, " pair_range={lo:.2}..{hi:.2}")?;
            }
        }
        if !self.extra.is_empty() {
            write!(f, " {}", self.extra)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn ratio_above_one_always_favours_synack() {
        assert_eq!(ratio(Some(4.0), Some(2.0), Better::Higher), Some(2.0));
        assert_eq!(ratio(Some(100.0), Some(400.0), Better::Lower), Some(4.0));
        assert_eq!(ratio(Some(1.0), None, Better::Lower), None);
    }

    #[test]
    fn line_has_the_fields_in_order_and_na_for_missing_figures() {
        let l = Line {
            name: "rss_1m_idle",
            unit: "MiB",
            synack: Some(612.25),
            smoltcp: None,
            better: Better::Lower,
            runs: 1,
            pair_ratio: None,
            pair_range: None,
            extra: "conns=1000000".into(),
        };
        assert_eq!(
            l.to_string(),
            "bench=rss_1m_idle unit=MiB synack=612.2 smoltcp=na ratio=na runs=1 conns=1000000"
        );
    }

    #[test]
    fn pair_ratio_pairs_each_synack_run_with_its_smoltcp_run() {
        // The machine runs at 1x, 10x and 100x speed during the three pairs; synack is
        // half as fast as smoltcp in each. The ratio of the medians says 0.5 too, but
        // pairing the wrong runs would not.
        let (sy, sm) = ([1.0, 10.0, 100.0], [2.0, 20.0, 200.0]);
        assert_eq!(pair_ratio(&sy, &sm, Better::Higher), Some(0.5));
        // The same medians, paired differently: the pairs say 0.005, 5 and 5.
        let shuffled = [200.0, 2.0, 20.0];
        assert_eq!(pair_ratio(&sy, &shuffled, Better::Higher), Some(5.0));
        assert_eq!(ratio(median(&sy), median(&shuffled), Better::Higher), Some(0.5));
    }

    #[test]
    fn pair_ratio_is_oriented_like_ratio_and_needs_equal_counts() {
        // Time per segment: lower is better, so smoltcp/synack.
        assert_eq!(pair_ratio(&[100.0, 300.0], &[200.0, 600.0], Better::Lower), Some(2.0));
        assert_eq!(pair_ratio(&[1.0, 2.0], &[1.0], Better::Higher), None);
        assert_eq!(pair_ratio(&[], &[], Better::Higher), None);
    }

    #[test]
    fn line_prints_pair_ratio_after_runs() {
        let l = Line {
            name: "bulk_1500",
            unit: "Gbit/s",
            synack: Some(30.0),
            smoltcp: Some(20.0),
            better: Better::Higher,
            runs: 5,
            pair_ratio: Some(1.456),
            pair_range: Some((1.2, 1.704)),
            extra: String::new(),
        };
        assert_eq!(
            l.to_string(),
            "bench=bulk_1500 unit=Gbit/s synack=30.0 smoltcp=20.0 ratio=1.50 runs=5 pair_ratio=1.46 \
             pair_range=1.20..1.70"
        );
    }

    #[test]
    fn pair_range_is_the_lowest_and_highest_pair_ratio() {
        // Pairs of 0.5, 2 and 1 (synack/smoltcp); as times (lower is better) 2, 0.5, 1.
        let (sy, sm) = ([1.0, 8.0, 3.0], [2.0, 4.0, 3.0]);
        assert_eq!(pair_range(&sy, &sm, Better::Higher), Some((0.5, 2.0)));
        assert_eq!(pair_range(&sy, &sm, Better::Lower), Some((0.5, 2.0)));
        assert_eq!(pair_range(&[1.0], &[4.0], Better::Lower), Some((4.0, 4.0)));
        assert_eq!(pair_range(&[1.0, 2.0], &[1.0], Better::Higher), None);
        assert_eq!(pair_range(&[], &[], Better::Higher), None);
    }
}
