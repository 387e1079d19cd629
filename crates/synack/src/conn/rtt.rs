//! Round-trip time estimation and the retransmission timeout (RFC 6298).

use crate::time::{Duration, Instant};

/// RFC 6298 state: SRTT, RTTVAR and the current RTO (with backoff applied).
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    /// The RTO computed from the estimates, before backoff.
    base_rto: Duration,
    /// Doublings applied since the last new acknowledgment (RFC 6298 5.5).
    backoff: u32,
    min: Duration,
    max: Duration,
}

/// Clock granularity G of RFC 6298 2.2; the core's clock is microseconds but drivers
/// may wake up later, so a millisecond is a realistic granularity.
const GRANULARITY: Duration = Duration::from_millis(1);

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        // RFC 6298 2.1: "Until a round-trip time (RTT) measurement has been made ...
        // the sender SHOULD set RTO <- 1 second" (configurable here).
        RttEstimator { srtt: None, rttvar: Duration::ZERO, base_rto: initial, backoff: 0, min, max }
    }

    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    pub(crate) fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// The current RTO including exponential backoff, clamped to [min, max].
    pub(crate) fn rto(&self) -> Duration {
        // 2.4 clamps the computed value; 5.5 doubles the RTO that results.
        let rto = self.base_rto.max(self.min);
        if self.backoff == 0 {
            // Speed: the usual case (asked on every data segment sent, for the PTO),
            // without the multiplication and its overflow test.
            return rto.min(self.max);
        }
        let shift = self.backoff.min(20);
        rto.saturating_mul(1u64 << shift).min(self.max)
    }

    /// Take a sample (RFC 6298 2.2 and 2.3). Karn's rule is the caller's: only
    /// segments never retransmitted are timed.
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let r = rtt.as_micros();
        match self.srtt {
            None => {
                // 2.2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max(G, K*RTTVAR)
                self.srtt = Some(rtt);
                self.rttvar = Duration::from_micros(r / 2);
            }
            Some(srtt) => {
                // 2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4
                //      SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8
                let s = srtt.as_micros();
                let diff = s.abs_diff(r);
                let var = (3 * self.rttvar.as_micros() + diff) / 4;
                self.rttvar = Duration::from_micros(var);
                self.srtt = Some(Duration::from_micros((7 * s + r) / 8));
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        let k_var = self.rttvar.saturating_mul(4);
        self.base_rto = srtt.saturating_add(k_var.max(GRANULARITY));
        // 5.7: a new RTT sample after backoff collapses the backoff.
        self.backoff = 0;
    }

    /// 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")."
    pub(crate) fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
    }

    /// A new acknowledgment arrived: keep the backoff only until the next sample (RFC
    /// 6298 5.7 lets the RTO fall back after new data is acknowledged).
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }

    /// Start over from `rto` with no estimate (RFC 6298 5.7, after a SYN timed out).
    pub(crate) fn reinitialize(&mut self, rto: Duration) {
        self.srtt = None;
        self.rttvar = Duration::ZERO;
        self.base_rto = rto;
        self.backoff = 0;
    }

    /// When a timed segment sent at `sent` is acknowledged at `now`.
    pub(crate) fn sample_between(&mut self, sent: Instant, now: Instant) {
        self.sample(now.saturating_since(sent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est() -> RttEstimator {
        RttEstimator::new(Duration::from_secs(1), Duration::from_millis(200), Duration::from_secs(60))
    }

    #[test]
    fn initial_rto_is_one_second_before_any_sample() {
        assert_eq!(est().rto(), Duration::from_secs(1));
    }

    #[test]
    fn first_sample_sets_srtt_and_half_rttvar() {
        // RFC 6298 2.2: RTO = R + 4 * R/2 = 3R.
        let mut e = est();
        e.sample(Duration::from_millis(100));
        assert_eq!(e.srtt(), Some(Duration::from_millis(100)));
        assert_eq!(e.rttvar(), Duration::from_millis(50));
        assert_eq!(e.rto(), Duration::from_millis(300));
    }

    #[test]
    fn later_samples_use_the_eighth_and_quarter_gains() {
        let mut e = est();
        e.sample(Duration::from_millis(100));
        e.sample(Duration::from_millis(200));
        // RTTVAR = 3/4*50 + 1/4*100 = 62.5 ms; SRTT = 7/8*100 + 1/8*200 = 112.5 ms
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn backoff_doubles_and_is_capped_at_the_maximum() {
        let mut e = est();
        e.back_off();
        assert_eq!(e.rto(), Duration::from_secs(2));
        for _ in 0..10 {
            e.back_off();
        }
        assert_eq!(e.rto(), Duration::from_secs(60));
        e.reset_backoff();
        assert_eq!(e.rto(), Duration::from_secs(1));
    }

    #[test]
    fn rto_never_goes_below_the_minimum() {
        let mut e = est();
        e.sample(Duration::from_millis(1));
        assert_eq!(e.rto(), Duration::from_millis(200));
    }
}
