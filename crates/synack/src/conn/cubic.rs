//! CUBIC (RFC 9438): the congestion avoidance of [`crate::CongestionControl::Cubic`].
//!
//! Slow start, fast retransmit and NewReno fast recovery stay as for Reno (`cc.rs`):
//! CUBIC "does not make any change to the fast recovery and retransmit of TCP" (RFC
//! 9438 4.2). What changes is the growth of the window in congestion avoidance, a
//! cubic function of the time since the last congestion event (Eq. 1), and the
//! multiplicative decrease, by beta_cubic = 0.7 instead of Reno's 0.5 (4.6).
//!
//! Windows are kept in bytes and converted to segments of the sender's MSS for the
//! formulas, which RFC 9438 writes in segments and seconds. The arithmetic is in
//! `f64`: no allocation, no clock (the caller passes `now`), deterministic.

use crate::time::{Duration, Instant};

/// C, in segments per second cubed: the value RFC 9438 recommends, 0.4.
const C: f64 = 0.4;
/// beta_cubic, the multiplicative decrease factor: the value RFC 9438 recommends, 0.7.
pub(crate) const BETA: f64 = 0.7;
/// alpha_cubic, the Reno-friendly estimate's additive increase (RFC 9438 4.3:
/// 3 * (1 - beta_cubic) / (1 + beta_cubic)), so that its average rate matches Reno's
/// with beta 0.5.
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// The state of one CUBIC sender: its curve, and the curve it was on before the
/// retransmission timeout that may yet prove spurious.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cubic {
    /// The curve the window follows now.
    pub(crate) curve: Curve,
    /// The curve before the first timeout of the episode in progress, for
    /// [`Cubic::undo_timeout`] (RFC 9438 4.9: "a CUBIC implementation SHOULD save the
    /// current value of the following variables before the congestion window
    /// reduction": W_max, K, epoch_start, W_est).
    before_timeout: Option<Curve>,
}

/// CUBIC's state between congestion events.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Curve {
    /// W_max: the window just before the last reduction (bytes; 0 before any).
    w_max: f64,
    /// W_last_max, for fast convergence (RFC 9438 4.7).
    w_last_max: f64,
    /// cwnd_prior: the window when ssthresh was last set (alpha_cubic goes to 1 once
    /// W_est reaches it, 4.3).
    cwnd_prior: f64,
    /// The current congestion avoidance stage: its start, K (seconds) and the plateau
    /// W_max it climbs to (bytes); `None` until the first ACK of the stage.
    epoch: Option<Epoch>,
    /// W_est: the window a Reno sender would have now (bytes, 4.3).
    w_est: f64,
    /// The last reduction was a retransmission timeout (4.8: the next stage starts
    /// with K = 0 and W_max at its own start).
    after_timeout: bool,
    /// HyStart++ (RFC 9406), during the initial slow start only (RFC 9438 4.10);
    /// `cc.rs` drops it at the first congestion event or when it ends slow start.
    pub(crate) hystart: Option<super::hystart::HyStart>,
}

#[derive(Debug, Clone, Copy)]
struct Epoch {
    start: Instant,
    k: f64,
    plateau: f64,
}

impl Cubic {
    /// A sender before any congestion event, in slow start under `hystart` if given.
    pub(crate) fn new(hystart: Option<super::hystart::HyStart>) -> Self {
        Cubic { curve: Curve { hystart, ..Curve::default() }, before_timeout: None }
    }

    /// A congestion event other than a timeout ([`Curve::on_congestion`]).
    pub(crate) fn on_congestion(&mut self, cwnd: u32) {
        self.curve.on_congestion(cwnd);
    }

    /// A retransmission timeout with the window at `cwnd` bytes (RFC 9438 4.8): a
    /// congestion event after which the first congestion avoidance stage has K = 0
    /// and W_max = the window at its start. The curve of before is kept for
    /// [`Cubic::undo_timeout`] unless `keep_saved`: a later timeout of the same
    /// episode, whose first one saved the curve worth going back to.
    pub(crate) fn on_timeout(&mut self, cwnd: u32, keep_saved: bool) {
        if !keep_saved || self.before_timeout.is_none() {
            self.before_timeout = Some(self.curve);
        }
        self.curve.on_congestion(cwnd);
        self.curve.after_timeout = true;
    }

    /// The timeout [`Cubic::on_timeout`] noted was spurious (F-RTO, RFC 5682): back to
    /// the curve of before it, W_max, K, the stage's start and W_est, as RFC 9438 4.9
    /// has it: "Once a spurious congestion event is detected, CUBIC SHOULD restore the
    /// original values of above mentioned variables as follows if the current cwnd is
    /// lower than prior_cwnd."
    ///
    /// Here without that condition: F-RTO's step 2b has just let the window reach the
    /// flight plus two segments, about prior_cwnd and often above it, and detects a
    /// spurious timeout within two round trips of it, never "long after a spurious
    /// loss event" when, as the RFC goes on, "the current cwnd is already higher than
    /// prior_cwnd" from growth of its own. (With the condition, measured on a
    /// download through a drop-tail queue with delay spikes, not one of 14 spurious
    /// timeouts restored the curve.)
    pub(crate) fn undo_timeout(&mut self) {
        if let Some(before) = self.before_timeout.take() {
            self.curve = before;
        }
    }

    /// The window after an ACK in congestion avoidance ([`Curve::on_ack`]).
    pub(crate) fn on_ack(&mut self, cwnd: u32, acked: u32, mss: u32, now: Instant, rtt: Duration) -> u32 {
        self.curve.on_ack(cwnd, acked, mss, now, rtt)
    }
}

impl Curve {
    /// A congestion event (three duplicate ACKs or SACK loss, an ECN-Echo, a loss a
    /// probe repaired) with the window at `cwnd` bytes, before the reduction the
    /// caller makes with [`BETA`]. RFC 9438 4.6 and 4.7: W_max is the window before the
    /// reduction, lowered further ("fast convergence") when it is below the previous
    /// W_max: "if (W_max < W_last_max) { W_last_max = W_max; W_max = W_max * (1 +
    /// beta_cubic) / 2 } else { W_last_max = W_max }". The next congestion avoidance
    /// stage starts afresh.
    fn on_congestion(&mut self, cwnd: u32) {
        let cwnd = f64::from(cwnd);
        self.cwnd_prior = cwnd;
        if cwnd < self.w_last_max {
            self.w_last_max = cwnd;
            self.w_max = cwnd * (1.0 + BETA) / 2.0;
        } else {
            self.w_last_max = cwnd;
            self.w_max = cwnd;
        }
        self.epoch = None;
        self.after_timeout = false;
        self.hystart = None;
    }

    /// The window after an ACK of `acked` new bytes in congestion avoidance, from
    /// `cwnd` bytes, at `now`, with the smoothed RTT `rtt` and segments of `mss` bytes.
    fn on_ack(&mut self, cwnd: u32, acked: u32, mss: u32, now: Instant, rtt: Duration) -> u32 {
        let mss = f64::from(mss.max(1));
        let cwnd_b = f64::from(cwnd);
        let epoch = match self.epoch {
            Some(e) => e,
            None => {
                // The stage begins: Eq. 2, K = cubic_root((W_max - cwnd_epoch) / C), with
                // cwnd_epoch the window at the start of the stage and the windows in
                // segments; a window already at or above W_max
                // (no congestion event yet, or after a timeout, 4.8) climbs from here
                // with K = 0.
                let (k, plateau) = if self.after_timeout || self.w_max <= cwnd_b {
                    (0.0, cwnd_b)
                } else {
                    (((self.w_max - cwnd_b) / mss / C).cbrt(), self.w_max)
                };
                self.w_est = cwnd_b;
                let e = Epoch { start: now, k, plateau };
                self.epoch = Some(e);
                e
            }
        };
        let t = now.saturating_since(epoch.start).as_micros() as f64 / 1e6;
        let rtt = rtt.as_micros() as f64 / 1e6;
        // Eq. 1 in bytes: W_cubic(t) = C * (t - K)^3 + W_max.
        let w_cubic = |t: f64| (C * (t - epoch.k).powi(3)) * mss + epoch.plateau;
        // 4.3: W_est = W_est + alpha_cubic * segments_acked / cwnd, with alpha_cubic 1
        // once W_est has reached cwnd_prior.
        let alpha = if self.w_est >= self.cwnd_prior { 1.0 } else { ALPHA };
        self.w_est += alpha * f64::from(acked) * mss / cwnd_b.max(1.0);
        let next = if w_cubic(t) < self.w_est {
            // The Reno-friendly region (4.3): "cwnd SHOULD be set to W_est".
            self.w_est
        } else {
            // The concave and convex regions (4.4, 4.5): the target is W_cubic(t + RTT),
            // kept between cwnd and 1.5 * cwnd (4.2: "the lower and upper bounds ...
            // ensure that CUBIC's congestion window increase rate is non-decreasing
            // and is less than the increase rate of slow start"), and "cwnd MUST be
            // incremented by (target - cwnd) / cwnd for each received new ACK" (per
            // segment acknowledged).
            let target = w_cubic(t + rtt).clamp(cwnd_b, 1.5 * cwnd_b);
            cwnd_b + (target - cwnd_b) * f64::from(acked) / cwnd_b.max(1.0)
        };
        // Never below what it was in congestion avoidance, never past u32.
        next.max(cwnd_b).min(f64::from(u32::MAX)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;

    /// Drive congestion avoidance for `secs` seconds from `cwnd`: each RTT, one ACK
    /// per segment of the window. The window (in segments) at the end of each RTT.
    fn run(c: &mut Cubic, mut cwnd: u32, rtt_ms: u64, secs: u64, start: Instant) -> Vec<f64> {
        let rtt = Duration::from_millis(rtt_ms);
        let mut out = Vec::new();
        let mut now = start;
        while now.saturating_since(start) < Duration::from_secs(secs) {
            for _ in 0..cwnd / MSS {
                cwnd = c.on_ack(cwnd, MSS, MSS, now, rtt);
            }
            out.push(f64::from(cwnd) / f64::from(MSS));
            now += rtt;
        }
        out
    }

    #[test]
    fn after_a_loss_the_window_climbs_back_to_w_max_at_k_concave_then_convex() {
        // W_max 100 segments, cwnd 70 after the reduction: K = cbrt(30 / 0.4) = 4.22 s.
        let mut c = Cubic::default();
        c.on_congestion(100 * MSS);
        let start = Instant::from_millis(1000);
        // A long RTT, so that the Reno-friendly estimate stays below the curve.
        let w = run(&mut c, 70 * MSS, 100, 8, start);
        let at = |secs: f64| w[(secs * 10.0) as usize - 1];
        // At K the window is back at W_max (the target looks one RTT ahead).
        assert!((at(4.2) - 100.0).abs() < 2.0, "{}", at(4.2));
        // Concave before K: growth per second falls off as it nears W_max...
        let (g1, g2, g3) = (at(1.0) - 70.0, at(2.0) - at(1.0), at(4.0) - at(3.0));
        assert!(g1 > g2 && g2 > g3, "{g1} {g2} {g3}");
        // ... and convex after it: growth speeds up again.
        let (g5, g6, g7) = (at(5.0) - at(4.0), at(6.0) - at(5.0), at(7.0) - at(6.0));
        assert!(g5 < g6 && g6 < g7, "{g5} {g6} {g7}");
        // Eq. 1 at t = 6 s (plus one RTT ahead): 0.4 * (6.1 - 4.22)^3 + 100 = 102.6.
        assert!((at(6.0) - 102.6).abs() < 1.5, "{}", at(6.0));
    }

    #[test]
    fn with_a_short_rtt_the_window_follows_the_reno_friendly_estimate() {
        // RTT 1 ms, W_max 20: W_cubic barely moves in 0.2 s, where Reno would gain
        // alpha_cubic (0.53) segments per RTT.
        let mut c = Cubic::default();
        c.on_congestion(20 * MSS);
        let w = run(&mut c, 14 * MSS, 1, 1, Instant::from_millis(5));
        let after_100 = w[99];
        // Reno-like linear growth: about 0.53 segments per RTT at first, then 1 once
        // W_est passes cwnd_prior (20): well above the curve's 20.
        assert!(after_100 > 60.0 && after_100 < 130.0, "{after_100}");
        let per_rtt = w[199] - w[198];
        assert!((per_rtt - 1.0).abs() < 0.2, "one segment per RTT past cwnd_prior: {per_rtt}");
    }

    #[test]
    fn the_window_grows_at_most_half_again_per_rtt() {
        // Far below a large W_max, W_cubic(t + RTT) is much larger: the target is capped
        // at 1.5 * cwnd, less than slow start's doubling (4.2).
        let mut c = Cubic::default();
        c.on_congestion(10_000 * MSS);
        let w = run(&mut c, 10 * MSS, 500, 3, Instant::from_millis(5));
        for pair in w.windows(2) {
            assert!(pair[1] <= pair[0] * 1.5 + 1.0, "{pair:?}");
        }
        assert!(w[3] > 20.0, "it does grow fast: {w:?}");
    }

    #[test]
    fn fast_convergence_lowers_w_max_when_the_window_was_already_shrinking() {
        // 4.7: a second event below the first W_max releases bandwidth: W_max becomes
        // W * (1 + beta) / 2.
        let mut c = Cubic::default();
        c.on_congestion(100 * MSS);
        assert_eq!(c.curve.w_max, 100_000.0);
        c.on_congestion(80 * MSS);
        assert_eq!(c.curve.w_max, 80_000.0 * 0.85);
        assert_eq!(c.curve.w_last_max, 80_000.0);
        // A later event above W_last_max is taken as it is.
        c.on_congestion(90 * MSS);
        assert_eq!((c.curve.w_max, c.curve.w_last_max), (90_000.0, 90_000.0));
    }

    #[test]
    fn after_a_timeout_the_stage_starts_with_k_zero_from_its_own_window() {
        // 4.8: K = 0 and W_max = the window at the start of the stage: convex growth
        // from there, not a climb back to the old W_max.
        // (An RTT of 500 ms, where the curve outgrows the Reno-friendly estimate.)
        let mut c = Cubic::default();
        c.on_timeout(100 * MSS, false);
        let w = run(&mut c, 30 * MSS, 500, 6, Instant::from_millis(5));
        // At 2 s: 0.4 * 2.5^3 + 30 = 36; climbing back to the old W_max (K = 5.6 s)
        // would have reached 88.
        assert!(w[3] < 45.0, "no climb towards 100: {}", w[3]);
        let (g1, g2, g3) = (w[5] - w[3], w[7] - w[5], w[9] - w[7]);
        assert!(g1 < g2 && g2 < g3, "convex from the start: {g1} {g2} {g3}");
    }
}
