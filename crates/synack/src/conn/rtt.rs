//! Round-trip time estimation and the retransmission timeout (RFC 6298).

use crate::time::Duration;

/// RFC 6298 state: SRTT, RTTVAR and the current RTO (with backoff applied).
// Speed: the RTO and the loss-probe timeout are asked on every data segment sent (the
// PTO is restarted by each, RFC 8985 7.2) but change only with a sample, a backoff or a
// reinitialisation, so both are kept computed. (The base RTO before backoff, wanted
// only when backing off, is recomputed from SRTT and RTTVAR then, which keeps the
// control block's size.)
#[derive(Debug, Clone)]
pub(crate) struct RttEstimator {
    /// SRTT once `sampled`; before that, the initial RTO (RFC 6298 2.1).
    srtt_or_initial: Duration,
    rttvar: Duration,
    min: Duration,
    max: Duration,
    /// The current RTO: [`RttEstimator::compute_rto`].
    rto: Duration,
    /// The PTO with more than one segment in flight, min(max(2*SRTT, 10 ms), RTO), when
    /// `sampled`.
    pto_many: Duration,
    /// Doublings applied since the last new acknowledgment (RFC 6298 5.5; saturates,
    /// and only the first 20 count). 16 bits, so that `min_rtt_us` fits in the
    /// estimator's padding.
    backoff: u16,
    /// An RTT sample has been taken: SRTT is known.
    sampled: bool,
    /// The smallest RTT sample, microseconds (`u32::MAX` before the first; saturated):
    /// RFC 8985's RACK.min_RTT, over the connection's life.
    min_rtt_us: u32,
}

/// Clock granularity G of RFC 6298 2.2; the core's clock is microseconds but drivers
/// may wake up later, so a millisecond is a realistic granularity.
const GRANULARITY: Duration = Duration::from_millis(1);

/// "WCDelAckT stands for worst case delayed ACK timer" (RFC 8985 7.2), added to the PTO
/// when only one segment is in flight and the receiver may be holding its ACK back.
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);

/// A floor under 2×SRTT on very short paths, so that a probe does not race ACKs that
/// are merely scheduled late by the host (Linux uses 10 ms as well).
const MIN_PTO: Duration = Duration::from_millis(10);

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        // RFC 6298 2.1: "Until a round-trip time (RTT) measurement has been made ...
        // the sender SHOULD set RTO <- 1 second" (configurable here).
        let mut e = RttEstimator {
            srtt_or_initial: initial,
            rttvar: Duration::ZERO,
            min,
            max,
            rto: Duration::ZERO,
            pto_many: Duration::ZERO,
            backoff: 0,
            sampled: false,
            min_rtt_us: u32::MAX,
        };
        e.refresh();
        e
    }

    /// Recompute the RTO and the PTO after their inputs changed.
    fn refresh(&mut self) {
        self.rto = self.compute_rto();
        if self.sampled {
            // RFC 8985 7.2: "PTO = 2*SRTT" with more than one segment in flight, and
            // "PTO = min(PTO, RTO)".
            self.pto_many = self.srtt_or_initial.saturating_mul(2).max(MIN_PTO).min(self.rto);
        }
    }

    /// The probe timeout of RFC 8985 7.2 (without its preconditions, which are the
    /// caller's), or `None` without an RTT sample. "If FlightSize is equal to one
    /// segment ... PTO = 2*SRTT + WCDelAckT; otherwise PTO = 2*SRTT", and "PTO =
    /// min(PTO, RTO)". With `one_in_flight` that is min(max(2*SRTT, 10 ms) + WCDelAckT,
    /// RTO), equal to min(`pto_many` + WCDelAckT, RTO) also where `pto_many` was clamped
    /// to the RTO (both are then the RTO).
    #[inline(always)]
    pub(crate) fn pto(&self, one_in_flight: bool) -> Option<Duration> {
        if !self.sampled {
            return None;
        }
        if one_in_flight {
            return Some(self.pto_many.saturating_add(WORST_CASE_DELAYED_ACK).min(self.rto));
        }
        Some(self.pto_many)
    }

    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.sampled.then_some(self.srtt_or_initial)
    }

    /// SRTT, or before the first sample the value it starts from.
    #[inline]
    pub(crate) fn srtt_or_initial(&self) -> Duration {
        self.srtt_or_initial
    }

    pub(crate) fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// The smallest RTT measured, `None` before the first sample.
    pub(crate) fn min_rtt(&self) -> Option<Duration> {
        (self.min_rtt_us != u32::MAX).then(|| Duration::from_micros(u64::from(self.min_rtt_us)))
    }

    /// The current RTO including exponential backoff, clamped to [min, max].
    #[inline]
    pub(crate) fn rto(&self) -> Duration {
        self.rto
    }

    /// The RTO before backoff: the initial RTO, or "RTO <- SRTT + max (G, K*RTTVAR)"
    /// with K = 4 (RFC 6298 2.2 and 2.3).
    fn base_rto(&self) -> Duration {
        if !self.sampled {
            return self.srtt_or_initial;
        }
        let k_var = self.rttvar.saturating_mul(4);
        self.srtt_or_initial.saturating_add(k_var.max(GRANULARITY))
    }

    fn compute_rto(&self) -> Duration {
        // 2.4 clamps the computed value; 5.5 doubles the RTO that results.
        let shift = self.backoff.min(20);
        self.base_rto().max(self.min).saturating_mul(1u64 << shift).min(self.max)
    }

    /// Take a sample (RFC 6298 2.2 and 2.3). Karn's rule is the caller's: only
    /// segments never retransmitted are timed.
    ///
    /// Size: never inlined. A connection samples about once per round trip, and the
    /// handshake and the data path (`ack_syn`, `ack_new_data`, the timestamp option)
    /// each had a copy of this arithmetic and of `refresh` inlined.
    #[inline(never)]
    pub(crate) fn sample(&mut self, rtt: Duration) {
        let r = rtt.as_micros();
        if !self.sampled {
            // 2.2: SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max(G, K*RTTVAR)
            self.sampled = true;
            self.srtt_or_initial = rtt;
            self.rttvar = Duration::from_micros(r / 2);
        } else {
            // 2.3: RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4
            //      SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8
            let s = self.srtt_or_initial.as_micros();
            let diff = s.abs_diff(r);
            let var = (3 * self.rttvar.as_micros() + diff) / 4;
            self.rttvar = Duration::from_micros(var);
            self.srtt_or_initial = Duration::from_micros((7 * s + r) / 8);
        }
        // (Saturated below u32::MAX, which stands for no sample.)
        self.min_rtt_us = self.min_rtt_us.min(r.min(u64::from(u32::MAX - 1)) as u32);
        // (The RTO of 2.2 and 2.3 is `base_rto`, computed by `refresh`.)
        // 5.7: a new RTT sample after backoff collapses the backoff.
        self.backoff = 0;
        self.refresh();
    }

    /// 5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")."
    pub(crate) fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1);
        self.refresh();
    }

    /// Start over from `rto` with no estimate (RFC 6298 5.7, after a SYN timed out).
    pub(crate) fn reinitialize(&mut self, rto: Duration) {
        self.sampled = false;
        self.srtt_or_initial = rto;
        self.rttvar = Duration::ZERO;
        self.backoff = 0;
        self.refresh();
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
        // Only a new sample collapses the backoff (RFC 6298 5; Karn's algorithm).
        e.sample(Duration::from_millis(100));
        assert!(e.rto() < Duration::from_secs(1), "{:?}", e.rto());
    }

    #[test]
    fn rto_never_goes_below_the_minimum() {
        let mut e = est();
        e.sample(Duration::from_millis(1));
        assert_eq!(e.rto(), Duration::from_millis(200));
    }
}
