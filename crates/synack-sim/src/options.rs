//! Run options: the seed and the overrides a user may put on any scenario.

use crate::error::SimError;
use synack::Duration;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 1;

/// The longest delay, jitter or MSL an option may ask for (one hour).
pub const MAX_OPTION_DURATION: Duration = Duration::from_secs(3600);

/// How to run a scenario. Every `Some` overrides the scenario's own value on every link
/// (loss, delay, jitter, dup, reorder) or host (msl).
///
/// ```
/// use synack_sim::SimOptions;
/// let opts = SimOptions { seed: 7, loss: Some(0.05), ..SimOptions::default() };
/// assert!(opts.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Seeds the links' faults and the hosts' ISN/port secrets: same seed, same trace.
    pub seed: u64,
    /// Probability in `0..=1` that a link loses a datagram.
    pub loss: Option<f64>,
    /// One-way delay of every link.
    pub delay: Option<Duration>,
    /// Random extra delay, uniform in `0..=jitter`, per datagram.
    pub jitter: Option<Duration>,
    /// Probability in `0..=1` that a link delivers a datagram twice.
    pub dup: Option<f64>,
    /// Probability in `0..=1` that a link holds a datagram back so later ones overtake
    /// it.
    pub reorder: Option<f64>,
    /// Maximum segment lifetime of every host (TIME-WAIT lasts 2×MSL).
    pub msl: Option<Duration>,
    /// Bound on processed events (the scenario's own bound otherwise).
    pub max_events: Option<u64>,
    /// Bound on virtual time (the scenario's own bound otherwise).
    pub max_time: Option<Duration>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: DEFAULT_SEED,
            loss: None,
            delay: None,
            jitter: None,
            dup: None,
            reorder: None,
            msl: None,
            max_events: None,
            max_time: None,
        }
    }
}

fn probability(option: &'static str, p: Option<f64>) -> Result<(), SimError> {
    match p {
        Some(v) if !(v.is_finite() && (0.0..=1.0).contains(&v)) => Err(SimError::InvalidOption {
            option,
            value: v.to_string(),
            expected: "a probability between 0 and 1",
        }),
        _ => Ok(()),
    }
}

fn duration(option: &'static str, d: Option<Duration>, allow_zero: bool) -> Result<(), SimError> {
    match d {
        Some(v) if v > MAX_OPTION_DURATION => {
            Err(SimError::InvalidOption { option, value: format!("{v}"), expected: "at most one hour" })
        }
        Some(v) if !allow_zero && v == Duration::ZERO => {
            Err(SimError::InvalidOption { option, value: format!("{v}"), expected: "a positive duration" })
        }
        _ => Ok(()),
    }
}

impl SimOptions {
    /// Checks every value: probabilities within `0..=1`, durations at most an hour, an
    /// MSL above zero, bounds above zero.
    pub fn validate(&self) -> Result<(), SimError> {
        probability("loss", self.loss)?;
        probability("dup", self.dup)?;
        probability("reorder", self.reorder)?;
        duration("delay", self.delay, true)?;
        duration("jitter", self.jitter, true)?;
        duration("msl", self.msl, false)?;
        if self.max_events == Some(0) {
            return Err(SimError::InvalidOption {
                option: "max_events",
                value: "0".into(),
                expected: "at least one event",
            });
        }
        if self.max_time == Some(Duration::ZERO) {
            return Err(SimError::InvalidOption {
                option: "max_time",
                value: "0ms".into(),
                expected: "a positive duration",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_outside_zero_one_are_rejected_by_name() {
        for (opts, name) in [
            (SimOptions { loss: Some(1.5), ..SimOptions::default() }, "loss"),
            (SimOptions { dup: Some(-0.1), ..SimOptions::default() }, "dup"),
            (SimOptions { reorder: Some(f64::NAN), ..SimOptions::default() }, "reorder"),
        ] {
            match opts.validate() {
                Err(SimError::InvalidOption { option, .. }) => assert_eq!(option, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(SimOptions { loss: Some(1.0), dup: Some(0.0), ..SimOptions::default() }.validate().is_ok());
    }

    #[test]
    fn zero_msl_and_huge_delays_are_rejected() {
        let zero = SimOptions { msl: Some(Duration::ZERO), ..SimOptions::default() };
        assert!(matches!(zero.validate(), Err(SimError::InvalidOption { option: "msl", .. })));
        let huge = SimOptions { delay: Some(Duration::from_secs(7200)), ..SimOptions::default() };
        assert!(matches!(huge.validate(), Err(SimError::InvalidOption { option: "delay", .. })));
    }
}
