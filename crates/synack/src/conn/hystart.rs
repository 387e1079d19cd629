//! HyStart++ (RFC 9406): CUBIC's initial slow start (RFC 9438 4.10 has CUBIC use it),
//! which leaves slow start when the round-trip time starts to grow, before the queue
//! it is filling overflows, instead of at the first loss.
//!
//! Rounds are counted in sequence space (RFC 9406 4.2): a round ends when the ACK of
//! `windowEnd`, the SND.NXT of the round's start, arrives. Each round keeps the least
//! RTT its ACKs showed. Once a round has at least `N_RTT_SAMPLE` samples, a minimum
//! that grew by `RttThresh` over the previous round's (the previous round's eighth,
//! kept between 4 and 16 ms) ends standard slow start: the window then grows a
//! quarter as fast (Conservative Slow Start, CSS) for up to `CSS_ROUNDS` rounds. If
//! the RTT falls back below the minimum that started CSS, the rise was a false alarm
//! and slow start resumes; if CSS lasts its rounds, the connection enters congestion
//! avoidance with ssthresh at the window reached. A loss or an ECN mark ends it all
//! (the caller drops this state), and later slow starts are standard ones: RFC 9406
//! applies it to the initial slow start only.
//!
//! The RFC's text is not in this repository (`../shared` holds RFC 9293 only): the
//! constants below are its recommended values, and the comments paraphrase it.

use crate::seq::SeqNum;
use crate::time::Duration;

/// The least RTT increase that counts as a rise (RFC 9406 4.3: MIN_RTT_THRESH).
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
/// The most a rise has to be (MAX_RTT_THRESH).
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
/// The rise threshold is the last round's minimum RTT over this (MIN_RTT_DIVISOR).
const MIN_RTT_DIVISOR: u64 = 8;
/// RTT samples a round needs before its minimum is trusted (N_RTT_SAMPLE).
const N_RTT_SAMPLE: u32 = 8;
/// CSS grows the window this many times slower than slow start (CSS_GROWTH_DIVISOR).
const CSS_GROWTH_DIVISOR: u32 = 4;
/// Rounds of CSS before congestion avoidance (CSS_ROUNDS).
const CSS_ROUNDS: u32 = 5;
/// The most segments one ACK may grow the window by in slow start: L, 8 for a
/// sender that does not pace (RFC 9406 4.2; RFC 3465's limit).
pub(crate) const L: u32 = 8;

/// What the slow start does with an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Growth {
    /// Standard slow start: the window grows by min(N, L * SMSS).
    Standard,
    /// Conservative Slow Start: by a quarter of that.
    Conservative,
    /// CSS lasted its rounds: congestion avoidance from here (ssthresh = cwnd).
    Done,
}

/// The state of HyStart++ during a connection's initial slow start.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HyStart {
    /// windowEnd: the round ends when an ACK covers it; `None` before the first ACK.
    window_end: Option<SeqNum>,
    /// lastRoundMinRTT; `None` is the RFC's infinity.
    last_round_min: Option<Duration>,
    /// currentRoundMinRTT.
    current_round_min: Option<Duration>,
    /// rttSampleCount: samples this round.
    samples: u32,
    /// cssBaselineMinRtt: the minimum RTT that started CSS; `Some` while in CSS.
    css_baseline: Option<Duration>,
    /// Rounds ended since CSS began.
    css_rounds: u32,
    /// The RTT sample of the ACK about to be processed ([`HyStart::note_rtt`]).
    pending: Option<Duration>,
}

impl HyStart {
    /// The ACK being processed gave this RTT sample (from its timestamps, or the timed
    /// segment it acknowledges).
    pub(crate) fn note_rtt(&mut self, rtt: Duration) {
        self.pending = Some(self.pending.map_or(rtt, |p| p.min(rtt)));
    }

    /// An ACK of new data up to `ack` in slow start, with SND.NXT at `snd_nxt`: how the
    /// window grows for it.
    pub(crate) fn on_ack(&mut self, ack: SeqNum, snd_nxt: SeqNum) -> Growth {
        // A round ends when windowEnd is acknowledged; the next one runs to what has
        // been sent by now.
        if self.window_end.is_none_or(|end| !ack.lt(end)) {
            self.window_end = Some(snd_nxt);
            self.last_round_min = self.current_round_min;
            self.current_round_min = None;
            self.samples = 0;
            if self.css_baseline.is_some() {
                self.css_rounds += 1;
                if self.css_rounds >= CSS_ROUNDS {
                    return Growth::Done;
                }
            }
        }
        if let Some(rtt) = self.pending.take() {
            self.current_round_min = Some(self.current_round_min.map_or(rtt, |m| m.min(rtt)));
            self.samples += 1;
        }
        let enough = self.samples >= N_RTT_SAMPLE;
        match (self.css_baseline, self.current_round_min) {
            // CSS: an RTT back below the one that started it was a false alarm; slow
            // start resumes.
            (Some(baseline), Some(current)) if enough && current < baseline => {
                self.css_baseline = None;
                Growth::Standard
            }
            (Some(_), _) => Growth::Conservative,
            (None, Some(current)) if enough => match self.last_round_min {
                Some(last) if current >= last + rtt_thresh(last) => {
                    self.css_baseline = Some(current);
                    self.css_rounds = 0;
                    Growth::Conservative
                }
                _ => Growth::Standard,
            },
            (None, _) => Growth::Standard,
        }
    }
}

/// RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT / MIN_RTT_DIVISOR,
/// MAX_RTT_THRESH)).
fn rtt_thresh(last_round_min: Duration) -> Duration {
    let eighth = Duration::from_micros(last_round_min.as_micros() / MIN_RTT_DIVISOR);
    eighth.min(MAX_RTT_THRESH).max(MIN_RTT_THRESH)
}

/// The window's growth for an ACK of `acked` bytes: min(N, L * SMSS), a quarter of
/// that in CSS.
pub(crate) fn increase(growth: Growth, acked: u32, mss: u32) -> u32 {
    let full = acked.min(L.saturating_mul(mss));
    match growth {
        Growth::Standard => full,
        Growth::Conservative => full / CSS_GROWTH_DIVISOR,
        Growth::Done => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: u32 = 1000;
    /// Segments in flight, and so ACKs per round.
    const W: u32 = 10;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// ACKs of one segment each with W segments in flight, every ACK of round k
    /// showing the RTT `rtts_ms[k]` (the first ACK opens the first round, which ends
    /// when the SND.NXT of that moment is acknowledged: rounds of W ACKs). The growth
    /// each ACK got, round by round.
    fn run(rtts_ms: &[u64]) -> (HyStart, Vec<Vec<Growth>>) {
        let mut h = HyStart::default();
        let mut a = 1;
        let rounds = rtts_ms
            .iter()
            .map(|&rtt| {
                (0..W)
                    .map(|_| {
                        h.note_rtt(ms(rtt));
                        let g = h.on_ack(SeqNum(a * MSS), SeqNum((a + W) * MSS));
                        a += 1;
                        g
                    })
                    .collect()
            })
            .collect();
        (h, rounds)
    }

    fn all(g: &[Growth], want: Growth) -> bool {
        g.iter().all(|&x| x == want)
    }

    #[test]
    fn a_steady_rtt_keeps_standard_slow_start() {
        let (_, g) = run(&[100; 6]);
        assert!(g.iter().all(|r| all(r, Growth::Standard)), "{g:?}");
        // A rise smaller than RttThresh (100 ms / 8 = 12.5 ms) is no signal either.
        let (_, g) = run(&[100, 100, 112, 112]);
        assert!(g.iter().all(|r| all(r, Growth::Standard)), "{g:?}");
    }

    #[test]
    fn an_rtt_rise_past_the_threshold_enters_css_at_the_eighth_sample_of_a_round() {
        // 100 ms / 8 = 12.5 ms: 113 ms is a rise.
        let (_, g) = run(&[100, 100, 113]);
        assert!(all(&g[0], Growth::Standard) && all(&g[1], Growth::Standard));
        assert!(all(&g[2][..7], Growth::Standard), "fewer than N_RTT_SAMPLE samples: {:?}", g[2]);
        assert!(all(&g[2][7..], Growth::Conservative), "{:?}", g[2]);
    }

    #[test]
    fn the_threshold_is_an_eighth_of_the_rtt_kept_between_4_and_16_ms() {
        assert_eq!(rtt_thresh(ms(8)), ms(4));
        assert_eq!(rtt_thresh(ms(80)), ms(10));
        assert_eq!(rtt_thresh(ms(400)), ms(16));
        // On a short path a rise must be 4 ms: 10 to 13 ms is none, 10 to 14 ms is one.
        let (_, g) = run(&[10, 10, 13]);
        assert!(all(&g[2], Growth::Standard), "{:?}", g[2]);
        let (_, g) = run(&[10, 10, 14]);
        assert_eq!(g[2][7], Growth::Conservative, "{:?}", g[2]);
        // On a long one 16 ms at most: 400 to 416 ms is one.
        let (_, g) = run(&[400, 400, 416]);
        assert_eq!(g[2][7], Growth::Conservative, "{:?}", g[2]);
    }

    #[test]
    fn css_grows_a_quarter_as_fast_and_ends_in_congestion_avoidance_after_its_rounds() {
        assert_eq!(increase(Growth::Standard, 2 * MSS, MSS), 2 * MSS);
        assert_eq!(increase(Growth::Standard, 20 * MSS, MSS), L * MSS, "at most L segments");
        assert_eq!(increase(Growth::Conservative, 2 * MSS, MSS), MSS / 2);
        assert_eq!(increase(Growth::Done, 2 * MSS, MSS), 0);
        // CSS starts in round 2 and the RTT stays up: rounds 3 to 6 are CSS, and the
        // first ACK of round 7, the fifth round to end since CSS began, ends it.
        let (h, g) = run(&[100, 100, 120, 120, 120, 120, 120, 120]);
        assert!(all(&g[2][7..], Growth::Conservative));
        for r in &g[3..7] {
            assert!(all(r, Growth::Conservative), "{r:?}");
        }
        assert_eq!(g[7][0], Growth::Done, "{:?}", g[7]);
        assert_eq!(h.css_rounds, CSS_ROUNDS);
    }

    #[test]
    fn an_rtt_back_below_the_baseline_resumes_slow_start() {
        // CSS starts at 120 ms; the next round sees 110 ms: a false alarm. (Nor is
        // 110 ms a rise over the 120 ms round before it.)
        let (h, g) = run(&[100, 100, 120, 110, 110]);
        assert!(all(&g[3][..7], Growth::Conservative), "{:?}", g[3]);
        assert!(all(&g[3][7..], Growth::Standard), "{:?}", g[3]);
        assert!(all(&g[4], Growth::Standard), "{:?}", g[4]);
        assert!(h.css_baseline.is_none());
    }

    #[test]
    fn without_rtt_samples_slow_start_stays_standard() {
        // No timestamps: at most one sample per round (the timed segment), never
        // eight, so no rise can be seen, however large.
        let mut h = HyStart::default();
        for r in 0..20u32 {
            h.note_rtt(ms(100 + 50 * u64::from(r)));
            for i in 0..W {
                let a = r * W + i + 1;
                assert_eq!(h.on_ack(SeqNum(a * MSS), SeqNum((a + W) * MSS)), Growth::Standard);
            }
        }
    }
}
