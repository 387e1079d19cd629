//! Medians and the one-line-per-workload output format:
//! `bench=NAME unit=U synack=MEDIAN smoltcp=MEDIAN ratio=R runs=N`.
//!
//! `ratio` is always "above 1 means synack is better": synack/smoltcp where larger is
//! better (throughput, rates), smoltcp/synack where smaller is better (time,
//! instructions, memory). A figure that could not be measured prints as `na`.

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
            extra: "conns=1000000".into(),
        };
        assert_eq!(
            l.to_string(),
            "bench=rss_1m_idle unit=MiB synack=612.2 smoltcp=na ratio=na runs=1 conns=1000000"
        );
    }
}
