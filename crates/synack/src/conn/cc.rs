//! Congestion control: Reno with NewReno fast recovery (RFC 5681, RFC 6582), CUBIC's
//! congestion avoidance and decrease on top of the same recovery (RFC 9438,
//! `cubic.rs`) with HyStart++ in its initial slow start (RFC 9406, `hystart.rs`), or
//! none.

use super::cubic::{Cubic, Curve, BETA};
use super::hystart::{self, HyStart};
use crate::config::CongestionControl;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};

/// The congestion state of one sender.
#[derive(Debug, Clone)]
pub(crate) struct Congestion {
    kind: CongestionControl,
    pub(crate) cwnd: u32,
    pub(crate) ssthresh: u32,
    /// Consecutive duplicate ACKs (RFC 5681 2).
    pub(crate) dupacks: u32,
    /// NewReno "recover": the highest sequence sent when recovery began (RFC 6582 3.2).
    pub(crate) recover: Option<SeqNum>,
    mss: u32,
    /// Limited Transmit (RFC 3042) is on.
    limited_transmit: bool,
    /// Bytes sent beyond cwnd by Limited Transmit since the last new ACK: RFC 5681 3.2
    /// step 2 keeps them out of the FlightSize that sets ssthresh.
    limited_sent: u32,
    /// CUBIC's state, with [`CongestionControl::Cubic`] (boxed: 8 bytes on every other
    /// connection).
    cubic: Option<Box<Cubic>>,
    /// `Config::hystart`: CUBIC's initial slow start is HyStart++.
    hystart: bool,
    /// Reno's congestion avoidance: bytes acknowledged since cwnd last grew (RFC 5681
    /// 3.1's byte counting, RFC 3465 2.1's bytes_acked).
    ca_acked: u32,
}

/// The congestion state before a reduction: what an undo restores if the congestion
/// event turns out spurious ([`Congestion::undo`]).
#[derive(Debug, Clone)]
pub(crate) struct Prior {
    cwnd: u32,
    ssthresh: u32,
    /// CUBIC's curve (not the one a timeout keeps aside, `Cubic::undo_timeout`'s).
    cubic: Option<Curve>,
}

impl Congestion {
    pub(crate) fn new(
        kind: CongestionControl,
        mss: u32,
        initial_window: u32,
        limited_transmit: bool,
        hystart: bool,
    ) -> Self {
        let cwnd = match kind {
            CongestionControl::None => u32::MAX,
            _ => mss.saturating_mul(initial_window.max(1)),
        };
        let mut c = Congestion {
            kind,
            cwnd,
            ssthresh: u32::MAX,
            dupacks: 0,
            recover: None,
            mss,
            limited_transmit,
            limited_sent: 0,
            cubic: None,
            hystart,
            ca_acked: 0,
        };
        c.set_cubic_state();
        c
    }

    /// CUBIC's state when the algorithm is CUBIC (kept if it has one), with HyStart++
    /// while the initial slow start lasts (ssthresh still "arbitrarily high", RFC 5681
    /// 3.1); none otherwise.
    fn set_cubic_state(&mut self) {
        self.cubic = match (self.kind, self.cubic.take()) {
            (CongestionControl::Cubic, Some(c)) => Some(c),
            (CongestionControl::Cubic, None) => {
                let initial = self.hystart && self.ssthresh == u32::MAX;
                Some(Box::new(Cubic::new(initial.then(HyStart::default))))
            }
            _ => None,
        };
    }

    /// The ssthresh of a congestion event with `flight` bytes outstanding (at least two
    /// segments, RFC 5681 3.1 eq. 4): half of it for Reno, beta_cubic of it for CUBIC
    /// (RFC 9438 4.6), which also notes the window it had (W_max).
    fn reduced(&mut self, flight: u32) -> u32 {
        self.ca_acked = 0;
        if let Some(c) = self.cubic.as_deref_mut() {
            c.on_congestion(self.cwnd);
        }
        self.threshold(flight)
    }

    /// [`Congestion::reduced`]'s ssthresh, without noting the event.
    fn threshold(&self, flight: u32) -> u32 {
        let floor = 2 * self.mss;
        match self.cubic {
            Some(_) => ((f64::from(flight) * BETA) as u32).max(floor),
            None => (flight / 2).max(floor),
        }
    }

    /// The algorithm in use.
    pub(crate) fn kind(&self) -> CongestionControl {
        self.kind
    }

    /// Switch between Reno and CUBIC (the caller refuses [`CongestionControl::None`]
    /// either way): the window, ssthresh and any recovery in progress stay; CUBIC starts
    /// with no W_max, so its next congestion avoidance stage grows from the window it
    /// finds (K = 0) until a congestion event gives it one.
    ///
    /// A connection switched to CUBIC during its initial slow start runs the rest of
    /// it under HyStart++ (when configured).
    pub(crate) fn switch(&mut self, kind: CongestionControl) {
        self.kind = kind;
        self.set_cubic_state();
    }

    /// Whether HyStart++ runs (CUBIC's initial slow start, configured): it wants an
    /// RTT sample from every ACK of new data.
    #[inline]
    pub(crate) fn hystart_running(&self) -> bool {
        self.cubic.as_deref().is_some_and(|c| c.curve.hystart.is_some())
    }

    /// The ACK being processed gave this RTT sample: HyStart++ (if running) counts it.
    #[inline]
    pub(crate) fn note_rtt(&mut self, rtt: Duration) {
        if let Some(h) = self.cubic.as_deref_mut().and_then(|c| c.curve.hystart.as_mut()) {
            h.note_rtt(rtt);
        }
    }

    /// The MSS changed (after the handshake); rescale the initial window.
    pub(crate) fn set_mss(&mut self, mss: u32, initial_window: u32) {
        self.mss = mss.max(1);
        if self.kind != CongestionControl::None {
            self.cwnd = self.mss.saturating_mul(initial_window.max(1));
        }
    }

    /// The MSS went down mid-connection (Path MTU Discovery, `conn/icmp.rs`): windows
    /// grow and shrink by the new size from now on; the window itself, in bytes, stays
    /// (no congestion was signalled).
    pub(crate) fn reduce_mss(&mut self, mss: u32) {
        self.mss = mss.max(1);
    }

    fn enabled(&self) -> bool {
        self.kind != CongestionControl::None
    }

    pub(crate) fn in_recovery(&self) -> bool {
        self.recover.is_some()
    }

    /// The window is one segment, its floor (RFC 3168 6.1.2's case of an echo that
    /// cannot halve it further). Never without congestion control.
    pub(crate) fn at_one_segment(&self) -> bool {
        self.enabled() && self.cwnd <= self.mss
    }

    /// How much the sender may have in flight: cwnd, or during the first two duplicate
    /// ACKs outside recovery, cwnd plus one SMSS per duplicate ACK. RFC 3042 2: "a TCP
    /// sender SHOULD send a new data segment in response to each of the first two
    /// duplicate acknowledgments that arrive at the sender", provided "the amount of
    /// outstanding data would remain less than or equal to the congestion window plus
    /// 2*SMSS"; and "The congestion window (cwnd) MUST NOT be changed when these new
    /// segments are transmitted." (The caller also applies the receiver's window.)
    #[inline]
    pub(crate) fn send_window(&self) -> u32 {
        // (Speed: the duplicate-ACK count first, zero on nearly every call.)
        if self.dupacks > 0 && self.limited_transmit && !self.in_recovery() {
            self.cwnd.saturating_add(self.dupacks.min(2) * self.mss)
        } else {
            self.cwnd
        }
    }

    /// New data went out reaching `flight` bytes outstanding: note what of it Limited
    /// Transmit sent beyond cwnd.
    #[inline]
    pub(crate) fn on_send(&mut self, flight: u32) {
        if self.dupacks > 0 && flight > self.cwnd {
            self.limited_sent = self.limited_sent.max(flight - self.cwnd);
        }
    }

    /// New data acknowledged (`acked` bytes, up to `ack`, with SND.NXT at `snd_nxt`).
    /// Returns true when a NewReno partial ACK calls for retransmitting the next hole.
    ///
    /// Size: fast recovery's exit is out of line ([`Congestion::recovery_ack`]), so that
    /// the ACK path of a connection not in recovery stays contiguous.
    #[inline]
    pub(crate) fn on_new_ack(
        &mut self,
        ack: SeqNum,
        acked: u32,
        flight_before: u32,
        now: Instant,
        srtt: Duration,
        snd_nxt: SeqNum,
    ) -> bool {
        self.dupacks = 0;
        self.limited_sent = 0;
        if let Some(recover) = self.recover {
            return self.recovery_ack(recover, ack, acked, flight_before);
        }
        if !self.enabled() {
            return false;
        }
        if self.cwnd < self.ssthresh {
            if self.hystart_running() {
                return self.hystart_ack(ack, acked, snd_nxt);
            }
            // RFC 5681 3.1 (with RFC 3465 L=1): slow start grows by at most SMSS per ACK.
            self.cwnd = self.cwnd.saturating_add(acked.min(self.mss));
        } else if let Some(c) = self.cubic.as_deref_mut() {
            // CUBIC's congestion avoidance (RFC 9438 4.2 to 4.5).
            self.cwnd = c.on_ack(self.cwnd, acked, self.mss, now, srtt);
        } else {
            // Congestion avoidance, RFC 5681 3.1: "The RECOMMENDED way to increase cwnd
            // during congestion avoidance is to count the number of bytes that have been
            // acknowledged by ACKs for new data ... When the number of bytes acknowledged
            // reaches cwnd, then cwnd can be incremented by up to SMSS bytes." Unlike
            // the per-ACK SMSS*SMSS/cwnd of its equation (3), this grows one segment per
            // window however many segments each ACK covers (a receiver behind GRO, or
            // the kernel behind a TUN device that joins segments, ACKs fewer, larger
            // pieces).
            self.ca_acked = self.ca_acked.saturating_add(acked);
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
        }
        false
    }

    /// [`Congestion::on_new_ack`] in CUBIC's initial slow start, under HyStart++: the
    /// window grows by min(N, L * SMSS), a quarter of that in Conservative Slow Start,
    /// and once CSS has lasted its rounds, congestion avoidance begins with ssthresh
    /// set to the window reached (RFC 9406 4.2). CUBIC then starts
    /// from that window with no W_max: K = 0 and the window at the stage's start as
    /// W_max (RFC 9438 4.10; the rfc8312bis draft: "In the case when CUBIC runs the
    /// hybrid slow start ..., it may exit the first slow start without incurring any
    /// packet loss and thus W_max is undefined. In this special case, CUBIC switches
    /// to congestion avoidance and increases its congestion window size using Eq. 1,
    /// where ... K is set to 0").
    #[inline(never)]
    fn hystart_ack(&mut self, ack: SeqNum, acked: u32, snd_nxt: SeqNum) -> bool {
        let Some(c) = self.cubic.as_deref_mut() else { return false };
        let Some(h) = c.curve.hystart.as_mut() else { return false };
        let growth = h.on_ack(ack, snd_nxt);
        if growth == hystart::Growth::Done {
            c.curve.hystart = None;
            self.ssthresh = self.cwnd;
        }
        self.cwnd = self.cwnd.saturating_add(hystart::increase(growth, acked, self.mss));
        false
    }

    /// [`Congestion::on_new_ack`] in fast recovery (until `recover`).
    #[inline(never)]
    fn recovery_ack(&mut self, recover: SeqNum, ack: SeqNum, acked: u32, flight_before: u32) -> bool {
        if ack.gt(recover) || ack == recover {
            // RFC 6582 3.2 step 3, full acknowledgment: cwnd = min(ssthresh,
            // max(FlightSize, SMSS) + SMSS).
            self.recover = None;
            if self.enabled() {
                let flight = flight_before.saturating_sub(acked);
                self.cwnd = self.ssthresh.min(flight.max(self.mss).saturating_add(self.mss));
            }
            return false;
        }
        // Partial acknowledgment: deflate by the amount acked, add back one SMSS.
        if self.enabled() {
            self.cwnd = self.cwnd.saturating_sub(acked).saturating_add(self.mss);
        }
        true
    }

    /// A duplicate ACK. When it is the `thresh`th, DupThresh (fast retransmit now): 3
    /// (RFC 5681 3.2), or more on a connection that has seen reordering
    /// (`SackRecovery::reordering`), recovery begins and this returns the state before
    /// it ([`Congestion::enter_recovery`]).
    pub(crate) fn on_dupack(&mut self, snd_max: SeqNum, flight: u32, thresh: u32) -> Option<Prior> {
        self.dupacks += 1;
        if self.in_recovery() {
            // RFC 6582 3.2 step 4: inflate for each further duplicate.
            if self.enabled() {
                self.cwnd = self.cwnd.saturating_add(self.mss);
            }
            return None;
        }
        if self.dupacks >= thresh {
            return Some(self.enter_recovery(snd_max, flight));
        }
        None
    }

    /// Fast retransmit and the start of fast recovery: on the third duplicate ACK, or
    /// earlier when the SACK scoreboard already deems SND.UNA lost (RFC 6675 5: "if
    /// DupAcks < DupThresh but IsLost (HighACK + 1) returns true -- indicating at least
    /// three segments have arrived above the current cumulative acknowledgment point,
    /// which is taken to indicate loss -- go to step (4)").
    ///
    /// Returns the state before the reduction, for [`Congestion::undo`].
    pub(crate) fn enter_recovery(&mut self, snd_max: SeqNum, flight: u32) -> Prior {
        let prior =
            Prior { cwnd: self.cwnd, ssthresh: self.ssthresh, cubic: self.cubic.as_deref().map(|c| c.curve) };
        // RFC 5681 3.2 steps 2-3. Step 2: "ssthresh = max (FlightSize / 2, 2*SMSS)", and
        // "when [RFC3042] is in use, additional data sent in limited transmit MUST NOT
        // be included in this calculation." Step 3 inflates cwnd by the three segments
        // that left the network.
        if self.enabled() {
            let flight = flight.saturating_sub(self.limited_sent);
            self.ssthresh = self.reduced(flight);
            self.cwnd = self.ssthresh.saturating_add(3 * self.mss);
        }
        self.dupacks = self.dupacks.max(3);
        self.recover = Some(snd_max);
        prior
    }

    /// F-RTO's step 2b (RFC 5682): room for `segments` new segments beyond the `flight`
    /// still outstanding, which a timeout that may be spurious left in the network.
    pub(crate) fn allow_beyond_flight(&mut self, flight: u32, segments: u32) {
        if self.enabled() {
            self.cwnd = self.cwnd.max(flight.saturating_add(segments * self.mss));
        }
    }

    /// F-RTO's step 3a (RFC 5682): the timeout was real; the window is at most `bytes`.
    pub(crate) fn limit_window(&mut self, bytes: u32) {
        if self.enabled() {
            self.cwnd = self.cwnd.min(bytes);
        }
    }

    /// The fast recovery that began at `prior` was spurious: reordering, not loss.
    /// Recovery ends, cwnd returns to its value before it and ssthresh to at least its
    /// (RFC 4015 3.2, paraphrased: once the retransmission is known to be spurious,
    /// restore the congestion state it reduced), CUBIC's with them (RFC 9438 4.9: after
    /// a spurious congestion event, CUBIC may restore W_max, K and the stage it was in).
    ///
    /// Also after the recovery has ended (a D-SACK proves it spurious about a round trip
    /// after its last retransmission): cwnd then keeps whatever it has grown to since,
    /// if more.
    pub(crate) fn undo(&mut self, prior: Prior) {
        let recovering = self.recover.take().is_some();
        self.dupacks = 0;
        self.limited_sent = 0;
        if !self.enabled() {
            return;
        }
        // (In recovery, not the larger of the two windows: fast recovery's is inflated
        // by the duplicate ACKs, RFC 5681 3.2 steps 3 and 4, which only stood in for
        // segments that had left the network.)
        self.cwnd = if recovering { prior.cwnd } else { self.cwnd.max(prior.cwnd) };
        self.ssthresh = self.ssthresh.max(prior.ssthresh);
        if let (Some(now), Some(before)) = (self.cubic.as_deref_mut(), prior.cubic) {
            now.curve = before;
        }
    }

    /// A tail loss probe that retransmitted the last segment turned out to repair a real
    /// loss (RFC 8985 7.4.2): the response of a fast recovery, whose end leaves cwnd at
    /// ssthresh = max(FlightSize / 2, 2*SMSS) (RFC 5681 3.2 step 2, RFC 6582 3.2 step 3).
    pub(crate) fn on_probe_repaired_loss(&mut self, flight: u32) {
        if self.enabled() {
            self.ssthresh = self.reduced(flight);
            self.cwnd = self.cwnd.min(self.ssthresh);
        }
    }

    /// An ECN-Echo (RFC 3168 6.1.2): "The indication of congestion should be treated
    /// just as a congestion loss in non-ECN-Capable TCP", without a retransmission:
    /// ssthresh = max(FlightSize / 2, 2*SMSS) as for a loss (RFC 5681 3.2 step 2), and
    /// cwnd down to it. Called after the ACK that carried the echo has been processed,
    /// so that the ACK does not grow the window ("the TCP sender SHOULD NOT increase
    /// the congestion window in response to the receipt of an ECN-Echo ACK packet").
    pub(crate) fn on_ecn_echo(&mut self, flight: u32) {
        if self.enabled() {
            self.ssthresh = self.reduced(flight);
            self.cwnd = self.cwnd.min(self.ssthresh);
        }
    }

    /// The retransmission timer fired (RFC 5681 3.1, eq. 4; loss window of one SMSS).
    /// `same_episode`: F-RTO still waited for the first ACK after an earlier timeout,
    /// whose CUBIC curve is the one a spurious episode restores.
    pub(crate) fn on_rto(&mut self, flight: u32, same_episode: bool) {
        self.dupacks = 0;
        self.limited_sent = 0;
        self.recover = None;
        if self.enabled() {
            // RFC 9438 4.8: "CUBIC follows Reno to reduce cwnd" on a timeout, with
            // ssthresh from beta_cubic; the next stage starts with K = 0.
            if let Some(c) = self.cubic.as_deref_mut() {
                c.on_timeout(self.cwnd, same_episode);
            }
            self.ssthresh = self.threshold(flight);
            self.cwnd = self.mss;
        }
    }

    /// F-RTO found the timeout spurious (RFC 5682 step 3b): ssthresh goes back to at
    /// least `prior_ssthresh`, its value before the timeout (RFC 4015 3.2 restores
    /// the congestion state the timeout reduced), and CUBIC to the curve it was on
    /// ([`Cubic::undo_timeout`], RFC 9438 4.9). cwnd stays: the window F-RTO let the
    /// new segments out with, from which slow start regains ssthresh within a round
    /// trip or two, rather than the whole window of before at once (a burst, RFC 4015
    /// 3.2's concern).
    pub(crate) fn undo_timeout(&mut self, prior_ssthresh: u32) {
        if !self.enabled() {
            return;
        }
        self.ssthresh = self.ssthresh.max(prior_ssthresh);
        if let Some(c) = self.cubic.as_deref_mut() {
            c.undo_timeout();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Instant = Instant::ZERO;
    const RTT: Duration = Duration::from_millis(100);

    #[test]
    fn slow_start_grows_by_one_mss_per_ack_until_ssthresh() {
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 2, true, false);
        assert_eq!(c.cwnd, 2000);
        c.on_new_ack(SeqNum(1000), 1000, 2000, T0, RTT, SeqNum(u32::MAX / 2));
        assert_eq!(c.cwnd, 3000);
        c.ssthresh = 3000;
        c.on_new_ack(SeqNum(2000), 1000, 3000, T0, RTT, SeqNum(u32::MAX / 2));
        assert_eq!(c.cwnd, 3000, "congestion avoidance waits for a window's worth of bytes");
    }

    /// RFC 5681 3.1's byte counting: one SMSS once cwnd bytes are acknowledged, the
    /// remainder carried over, whether one ACK covers them or many.
    #[test]
    fn congestion_avoidance_grows_one_mss_per_window_of_bytes_acknowledged() {
        let ack = |c: &mut Congestion, una: u32, acked: u32| {
            c.on_new_ack(SeqNum(una), acked, c.cwnd, T0, RTT, SeqNum(u32::MAX / 2));
            c.cwnd
        };
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 3, true, false);
        c.ssthresh = 3000;
        assert_eq!([ack(&mut c, 1000, 1000), ack(&mut c, 2000, 1000)], [3000, 3000]);
        assert_eq!(ack(&mut c, 3000, 1000), 4000, "3,000 bytes acknowledged: one segment more");
        // A stretch ACK (one for five segments, as from a receiver behind GRO) counts
        // as much as five: equation (3) per ACK would have added 250 bytes.
        assert_eq!(ack(&mut c, 8000, 5000), 5000);
        assert_eq!(ack(&mut c, 12_000, 4000), 6000, "the 1,000 left over counted toward the next");
        // A congestion event starts the count again.
        ack(&mut c, 15_000, 3000);
        c.on_ecn_echo(6000);
        let after = c.cwnd;
        assert_eq!(ack(&mut c, 15_000 + after - 1, after - 1), after, "one byte short of a window");
    }

    #[test]
    fn third_duplicate_ack_enters_fast_recovery_and_full_ack_leaves_it() {
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 10, true, false);
        assert!(c.on_dupack(SeqNum(10_000), 10_000, 3).is_none());
        assert!(c.on_dupack(SeqNum(10_000), 10_000, 3).is_none());
        assert!(c.on_dupack(SeqNum(10_000), 10_000, 3).is_some());
        assert_eq!(c.ssthresh, 5000);
        assert_eq!(c.cwnd, 8000);
        c.on_dupack(SeqNum(10_000), 10_000, 3);
        assert_eq!(c.cwnd, 9000);
        // A partial ACK asks for another retransmission and stays in recovery.
        assert!(c.on_new_ack(SeqNum(3000), 1000, 10_000, T0, RTT, SeqNum(u32::MAX / 2)));
        assert!(c.in_recovery());
        // A full ACK leaves recovery with cwnd <= ssthresh.
        assert!(!c.on_new_ack(SeqNum(10_000), 7000, 9000, T0, RTT, SeqNum(u32::MAX / 2)));
        assert!(!c.in_recovery());
        assert_eq!(c.cwnd, 3000);
    }

    #[test]
    fn cubic_reduces_by_seven_tenths_where_reno_halves() {
        // RFC 9438 4.6: ssthresh = flight_size * beta_cubic (0.7), against RFC 5681's
        // FlightSize / 2; both then inflate by the three segments that left (3.2).
        for (kind, ssthresh) in [(CongestionControl::Reno, 5000), (CongestionControl::Cubic, 7000)] {
            let mut c = Congestion::new(kind, 1000, 10, true, false);
            for _ in 0..3 {
                c.on_dupack(SeqNum(10_000), 10_000, 3);
            }
            assert_eq!((c.ssthresh, c.cwnd), (ssthresh, ssthresh + 3000), "{kind:?}");
            // A timeout: one segment, ssthresh from the same factor.
            c.on_rto(8000, false);
            assert_eq!((c.cwnd, c.ssthresh), (1000, ssthresh * 8 / 10), "{kind:?}");
        }
    }

    #[test]
    fn cubic_congestion_avoidance_follows_the_cubic_curve_not_renos_line() {
        // A loss at 20 segments; recovery ends at ssthresh (Reno 10, CUBIC 14). Over
        // two 500 ms RTTs Reno adds about a segment per RTT (11.8); CUBIC climbs back
        // towards 20 (K = cbrt(6 / 0.4) = 2.47 s; targets one RTT ahead 17.0, then
        // 18.7, each approached by (target - cwnd) / cwnd per segment acknowledged:
        // about 17).
        let grow = |kind| {
            let mut c = Congestion::new(kind, 1000, 10, true, false);
            c.cwnd = 20_000;
            c.enter_recovery(SeqNum(20_000), 20_000);
            assert!(
                !c.on_new_ack(SeqNum(20_000), 1000, 20_000, T0, RTT, SeqNum(u32::MAX / 2)),
                "full ACK: recovery ends"
            );
            assert_eq!(c.cwnd, c.ssthresh);
            let mut now = T0;
            let rtt = Duration::from_millis(500);
            for _ in 0..2 {
                for _ in 0..c.cwnd / 1000 {
                    c.on_new_ack(SeqNum(1), 1000, c.cwnd, now, rtt, SeqNum(2));
                }
                now += rtt;
            }
            c.cwnd
        };
        let (reno, cubic) = (grow(CongestionControl::Reno), grow(CongestionControl::Cubic));
        assert!((11_500..=12_000).contains(&reno), "{reno}");
        assert!((16_500..=18_000).contains(&cubic), "{cubic}");
    }

    #[test]
    fn timeout_collapses_cwnd_to_one_segment() {
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 10, true, false);
        c.on_rto(8000, false);
        assert_eq!(c.cwnd, 1000);
        assert_eq!(c.ssthresh, 4000);
    }

    #[test]
    fn without_congestion_control_the_window_is_unbounded() {
        let mut c = Congestion::new(CongestionControl::None, 1000, 10, true, false);
        c.on_rto(8000, false);
        assert_eq!(c.cwnd, u32::MAX);
        assert!(
            c.on_dupack(SeqNum(1), 1, 3).is_some()
                || c.on_dupack(SeqNum(1), 1, 3).is_some()
                || c.on_dupack(SeqNum(1), 1, 3).is_some()
        );
    }

    /// An ACK of `acked` bytes in slow start (far below SND.NXT: no round ends).
    fn slow_start_ack(c: &mut Congestion, acked: u32) -> u32 {
        let before = c.cwnd;
        c.on_new_ack(SeqNum(1), acked, c.cwnd, T0, RTT, SeqNum(1 << 30));
        c.cwnd - before
    }

    #[test]
    fn cubic_runs_hystart_in_its_initial_slow_start_only() {
        // HyStart++'s growth: min(N, L * SMSS) per ACK, where Reno's is min(N, SMSS).
        let mut reno = Congestion::new(CongestionControl::Reno, 1000, 10, true, true);
        assert!(!reno.hystart_running(), "Reno has no HyStart++");
        assert_eq!(slow_start_ack(&mut reno, 3000), 1000);
        let mut cubic = Congestion::new(CongestionControl::Cubic, 1000, 10, true, true);
        assert!(cubic.hystart_running());
        assert_eq!(slow_start_ack(&mut cubic, 3000), 3000);
        assert_eq!(slow_start_ack(&mut cubic, 20_000), 8000, "at most L = 8 segments");
        // The first congestion event ends it; the slow start after a timeout is the
        // standard one.
        cubic.enter_recovery(SeqNum(50_000), 30_000);
        assert!(!cubic.hystart_running());
        cubic.on_rto(30_000, false);
        assert_eq!(slow_start_ack(&mut cubic, 3000), 1000);
        // Configured off: the standard slow start.
        let mut off = Congestion::new(CongestionControl::Cubic, 1000, 10, true, false);
        assert!(!off.hystart_running());
        assert_eq!(slow_start_ack(&mut off, 3000), 1000);
    }

    /// RFC 4015 and RFC 9438 4.9: undoing a spurious recovery puts back cwnd, ssthresh
    /// and CUBIC's own state (W_max, the stage, HyStart++) as they were before it.
    #[test]
    fn undo_restores_the_window_ssthresh_and_cubic_state_of_before_the_recovery() {
        let mut c = Congestion::new(CongestionControl::Cubic, 1000, 10, true, true);
        let t = Instant::ZERO + Duration::from_secs(1);
        let rtt = Duration::from_millis(50);
        // One real congestion event, then congestion avoidance: CUBIC has a W_max and a stage.
        c.enter_recovery(SeqNum(20_000), 20_000);
        c.on_new_ack(SeqNum(20_000), 1000, 10_000, t, rtt, SeqNum(30_000));
        c.on_new_ack(SeqNum(21_000), 1000, 10_000, t + rtt, rtt, SeqNum(31_000));
        let before = (c.cwnd, c.ssthresh, format!("{:?}", c.cubic));
        let prior = c.enter_recovery(SeqNum(40_000), 14_000);
        assert_ne!(format!("{:?}", c.cubic), before.2, "the event changed CUBIC's state");
        c.undo(prior);
        assert_eq!((c.cwnd, c.ssthresh, format!("{:?}", c.cubic)), before);
        assert!(!c.in_recovery());
        // The first event of a connection ended HyStart++; undone, it runs again.
        let mut first = Congestion::new(CongestionControl::Cubic, 1000, 10, true, true);
        let prior = first.enter_recovery(SeqNum(20_000), 10_000);
        assert!(!first.hystart_running());
        first.undo(prior);
        assert!(first.hystart_running());
        assert_eq!((first.cwnd, first.ssthresh), (10_000, u32::MAX));
    }

    /// Undone after it ended (by D-SACK), a recovery restores the window of before it,
    /// or keeps a larger one it has grown to since; in recovery, the prior one exactly
    /// (fast recovery's is inflated, RFC 5681 3.2 steps 3 and 4).
    #[test]
    fn undo_after_the_recovery_ended_keeps_a_window_grown_larger_since() {
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 10, true, false);
        let prior = c.enter_recovery(SeqNum(10_000), 10_000);
        c.on_new_ack(SeqNum(10_000), 10_000, 10_000, T0, RTT, SeqNum(10_000));
        assert!(!c.in_recovery());
        c.cwnd = 15_000;
        c.undo(prior.clone());
        assert_eq!(c.cwnd, 15_000);
        c.cwnd = 4_000;
        c.undo(prior.clone());
        assert_eq!(c.cwnd, 10_000);
        c.enter_recovery(SeqNum(20_000), 10_000);
        c.cwnd = 15_000;
        c.undo(prior);
        assert_eq!(c.cwnd, 10_000, "in recovery: the prior window, not the inflated one");
    }

    /// CUBIC after a loss at 20 segments, recovered (ssthresh 14), then a second in
    /// congestion avoidance: on the concave climb back towards W_max.
    fn cubic_climbing() -> Congestion {
        let mut c = Congestion::new(CongestionControl::Cubic, 1000, 10, true, false);
        c.cwnd = 20_000;
        c.enter_recovery(SeqNum(20_000), 20_000);
        c.on_new_ack(SeqNum(20_000), 1000, 20_000, T0, RTT, SeqNum(u32::MAX / 2));
        ca_rtts(&mut c, T0, 2);
        c
    }

    /// `rtts` round trips of 500 ms in congestion avoidance from `start`, one ACK per
    /// segment of the window; the window at the end of each.
    fn ca_rtts(c: &mut Congestion, start: Instant, rtts: u32) -> Vec<u32> {
        let rtt = Duration::from_millis(500);
        (0..rtts)
            .map(|k| {
                let now = start + Duration::from_millis(500 * u64::from(k));
                for _ in 0..c.cwnd / 1000 {
                    c.on_new_ack(SeqNum(1), 1000, c.cwnd, now, rtt, SeqNum(2));
                }
                c.cwnd
            })
            .collect()
    }

    /// RFC 9438 4.9: once F-RTO finds a timeout spurious, CUBIC goes back to the
    /// curve it was on (W_max, K, the stage's start, W_est): with the window regained,
    /// it grows from there exactly as if the timeout had not been, where a timeout
    /// left standing starts a new convex stage from the window (4.8, K = 0).
    #[test]
    fn a_spurious_timeout_puts_cubic_back_on_the_curve_it_was_climbing() {
        let mut calm = cubic_climbing();
        let (cwnd, ssthresh) = (calm.cwnd, calm.ssthresh);
        let later = T0 + Duration::from_secs(1);
        let mut undone = cubic_climbing();
        undone.on_rto(cwnd, false);
        assert_eq!((undone.cwnd, undone.ssthresh), (1000, cwnd * 7 / 10));
        let mut kept = undone.clone();
        undone.undo_timeout(ssthresh);
        assert_eq!(undone.ssthresh, ssthresh);
        // Slow start regains the window (set here), then congestion avoidance.
        undone.cwnd = cwnd;
        kept.cwnd = cwnd;
        kept.ssthresh = ssthresh;
        let expected = ca_rtts(&mut calm, later, 4);
        assert_eq!(ca_rtts(&mut undone, later, 4), expected);
        // The restored curve levels off below W_max (20 segments), where the loss was;
        // the timeout's convex stage, from 14 segments, has no memory of it.
        let without = ca_rtts(&mut kept, later, 4);
        assert!(expected[3] <= 20_000 && without[3] > 20_500, "{expected:?} against {without:?}");
    }

    /// A spike longer than two RTOs fires the timer again before F-RTO's first ACK: the
    /// curve to go back to is the one before the first timeout, not the one the first
    /// timeout left.
    #[test]
    fn a_second_timeout_of_the_episode_keeps_the_curve_of_before_the_first() {
        let mut calm = cubic_climbing();
        let (cwnd, ssthresh) = (calm.cwnd, calm.ssthresh);
        let mut c = cubic_climbing();
        c.on_rto(cwnd, false);
        c.on_rto(1000, true);
        c.undo_timeout(ssthresh);
        c.cwnd = cwnd;
        let later = T0 + Duration::from_secs(1);
        assert_eq!(ca_rtts(&mut c, later, 4), ca_rtts(&mut calm, later, 4));
    }

    #[test]
    fn a_switch_to_cubic_in_the_initial_slow_start_takes_hystart_along() {
        let mut c = Congestion::new(CongestionControl::Reno, 1000, 10, true, true);
        c.switch(CongestionControl::Cubic);
        assert!(c.hystart_running());
        let mut later = Congestion::new(CongestionControl::Reno, 1000, 10, true, true);
        later.on_ecn_echo(20_000);
        later.switch(CongestionControl::Cubic);
        assert!(!later.hystart_running(), "past the initial slow start");
    }

    #[test]
    fn hystart_leaving_slow_start_sets_ssthresh_to_the_window_reached() {
        // Rounds of 10 ACKs of one segment each, 10 segments in flight: 100 ms, then
        // 120 ms from the third round on (a rise past 100 / 8 ms): CSS, then after
        // its rounds, congestion avoidance with ssthresh = cwnd.
        let mut c = Congestion::new(CongestionControl::Cubic, 1000, 10, true, true);
        let mut a = 1u32;
        for round in 0..12 {
            let rtt = if round < 2 { 100 } else { 120 };
            for _ in 0..10 {
                c.note_rtt(Duration::from_millis(rtt));
                let before = c.cwnd;
                c.on_new_ack(SeqNum(a * 1000), 1000, c.cwnd, T0, RTT, SeqNum((a + 10) * 1000));
                a += 1;
                if !c.hystart_running() {
                    assert_eq!(c.ssthresh, before, "ssthresh = cwnd when CSS ends");
                    assert_eq!(c.cwnd, before, "that ACK grows nothing");
                    assert_eq!(round, 7, "CSS lasted its rounds");
                    return;
                }
            }
        }
        panic!("HyStart++ never left slow start: cwnd {}", c.cwnd);
    }
}
