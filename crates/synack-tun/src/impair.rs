//! Userspace link impairment at the device boundary: loss, delay and reordering with
//! the semantics of `tc qdisc ... netem loss L% delay D reorder R%`, for kernels built
//! without `sch_netem` (and for deterministic, seeded runs).
//!
//! Each datagram is lost with probability `loss`; of the rest, a fraction `reorder` is
//! passed on at once and the others are held for `delay`, so the immediate ones
//! overtake those held (netem's reordering needs a delay to have any effect, too).
//! With `ecn` (netem's `ecn`), a datagram chosen to be lost is marked CE instead when
//! it is ECN-capable, as a router with active queue management does (RFC 3168 5), and
//! goes on.
//!
//! With `rate_bps` the direction is a bottleneck (netem's `rate`): datagrams leave one
//! after the other at that rate, then wait `delay`, in order (no reordering), and with
//! `queue_bytes` the bytes waiting for the wire are bounded: what would exceed it is
//! dropped (drop-tail, like netem's `limit` counted in bytes).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// Impairment parameters for one direction.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct Impairment {
    /// Probability in `[0, 1]` that a datagram is lost.
    pub loss: f64,
    /// How long datagrams that are not reordered are held.
    pub delay: Duration,
    /// Probability in `[0, 1]` that a datagram skips the delay (and so overtakes).
    pub reorder: f64,
    /// Seed of the random decisions: the same seed, the same decisions.
    pub seed: u64,
    /// Mark instead of dropping what is ECN-capable (netem's `ecn`): a datagram chosen
    /// to be lost whose ECN field is ECT(0) or ECT(1) gets CE and goes on.
    pub ecn: bool,
    /// A bottleneck of this many bits per second (0: none).
    pub rate_bps: u64,
    /// The bottleneck's buffer, in bytes waiting for the wire (0: unbounded).
    pub queue_bytes: usize,
}

impl Impairment {
    /// netem's `loss 5% delay 5ms reorder 10%`, the interop tests' lossy link.
    pub fn netem_like(seed: u64) -> Impairment {
        Impairment {
            loss: 0.05,
            delay: Duration::from_millis(5),
            reorder: 0.10,
            seed,
            ecn: false,
            rate_bps: 0,
            queue_bytes: 0,
        }
    }

    /// A bottleneck of `rate_bps` with a drop-tail buffer of `queue_bytes` and `delay`
    /// after it, and no random loss: what is lost, the buffer's overflow loses.
    pub fn bottleneck(rate_bps: u64, queue_bytes: usize, delay: Duration) -> Impairment {
        Impairment { loss: 0.0, delay, reorder: 0.0, seed: 0, ecn: false, rate_bps, queue_bytes }
    }
}

/// What the impairment did with a datagram.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    /// Lost.
    Drop,
    /// Passed on now.
    Pass,
    /// Held until the given time (microseconds since the run's origin).
    Hold(u64),
}

/// One direction's impairment state.
#[derive(Debug)]
pub(crate) struct Impairer {
    params: Impairment,
    rng: u64,
    seq: u64,
    held: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
    /// Datagrams marked CE instead of dropped (`Impairment::ecn`).
    pub(crate) marked: u64,
    /// When the bottleneck's wire is free again (microseconds; `Impairment::rate_bps`).
    busy_until: u64,
}

impl Impairer {
    pub(crate) fn new(params: Impairment) -> Impairer {
        Impairer {
            params,
            rng: params.seed ^ 0x5DEE_CE66_D1CE_5EED,
            seq: 0,
            held: BinaryHeap::new(),
            marked: 0,
            busy_until: 0,
        }
    }

    /// A uniform number in `[0, 1)` (xorshift64*).
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = if x == 0 { 0x9E37_79B9_7F4A_7C15 } else { x };
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (r >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decide the fate of a datagram offered at `now_us` (marking it CE in place
    /// instead of dropping it, with `Impairment::ecn`); held datagrams are kept.
    pub(crate) fn offer(&mut self, now_us: u64, pkt: &mut [u8]) -> Verdict {
        if self.uniform() < self.params.loss {
            if !(self.params.ecn && synack::wire::mark_ce(pkt)) {
                return Verdict::Drop;
            }
            self.marked += 1;
        }
        let delay = u64::try_from(self.params.delay.as_micros()).unwrap_or(u64::MAX);
        let at = if self.params.rate_bps > 0 {
            let rate = u128::from(self.params.rate_bps);
            let waiting = u128::from(self.busy_until.saturating_sub(now_us)) * rate / 8_000_000;
            if self.params.queue_bytes > 0 && waiting + pkt.len() as u128 > self.params.queue_bytes as u128 {
                return Verdict::Drop;
            }
            let wire = u64::try_from((pkt.len() as u128 * 8_000_000).div_ceil(rate)).unwrap_or(u64::MAX);
            self.busy_until = self.busy_until.max(now_us).saturating_add(wire);
            self.busy_until.saturating_add(delay)
        } else {
            if delay == 0 || self.uniform() < self.params.reorder {
                return Verdict::Pass;
            }
            now_us.saturating_add(delay)
        };
        self.seq += 1;
        self.held.push(Reverse((at, self.seq, pkt.to_vec())));
        Verdict::Hold(at)
    }

    /// When the next held datagram is due.
    pub(crate) fn next_release(&self) -> Option<u64> {
        self.held.peek().map(|Reverse((t, _, _))| *t)
    }

    /// The next held datagram due at `now_us`, if any.
    pub(crate) fn release(&mut self, now_us: u64) -> Option<Vec<u8>> {
        match self.held.peek() {
            Some(Reverse((t, _, _))) if *t <= now_us => self.held.pop().map(|Reverse((_, _, p))| p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_close_to_the_parameters_and_held_packets_come_back_in_order() {
        let mut imp = Impairer::new(Impairment::netem_like(7));
        let (mut dropped, mut passed, mut held) = (0, 0, 0);
        for i in 0..10_000u64 {
            match imp.offer(i, &mut i.to_le_bytes()) {
                Verdict::Drop => dropped += 1,
                Verdict::Pass => passed += 1,
                Verdict::Hold(at) => {
                    assert_eq!(at, i + 5_000);
                    held += 1;
                }
            }
        }
        assert!((400..600).contains(&dropped), "{dropped}");
        assert!((800..1100).contains(&passed), "{passed}");
        assert_eq!(imp.release(5_000 - 1), None);
        let mut last = None;
        let mut released = 0;
        while let Some(p) = imp.release(u64::MAX) {
            let mut w = [0u8; 8];
            w.copy_from_slice(&p);
            let i = u64::from_le_bytes(w);
            assert!(last.is_none_or(|l| l < i));
            last = Some(i);
            released += 1;
        }
        assert_eq!(released, held);
    }

    /// An IPv4 TCP header (20 bytes, checksum valid) with the ECN field `ecn`.
    fn v4(ecn: u8) -> Vec<u8> {
        let mut h = vec![0x45, ecn, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
        let c = synack::wire::checksum_finish(synack::wire::checksum_partial(&h, 0));
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h
    }

    #[test]
    fn with_ecn_the_datagrams_chosen_to_be_lost_are_marked_when_ect_and_dropped_otherwise() {
        let params = Impairment {
            loss: 0.2,
            delay: Duration::ZERO,
            reorder: 0.0,
            seed: 3,
            ecn: true,
            rate_bps: 0,
            queue_bytes: 0,
        };
        let (mut plain, mut ect) = (Impairer::new(params), Impairer::new(params));
        let (mut drops, mut marks) = (0, 0);
        for i in 0..1_000 {
            // The same seed makes the same choices for both streams.
            let mut a = v4(0);
            let mut b = v4(0b10);
            let va = plain.offer(i, &mut a);
            let vb = ect.offer(i, &mut b);
            if va == Verdict::Drop {
                drops += 1;
                assert_eq!(vb, Verdict::Pass);
                assert_eq!(b[1] & 0b11, 0b11);
                marks += 1;
            } else {
                assert_eq!(b[1] & 0b11, 0b10);
            }
        }
        assert!((150..250).contains(&drops), "{drops}");
        assert_eq!((ect.marked, marks), (drops, drops));
        assert_eq!(plain.marked, 0);
    }

    #[test]
    fn a_bottleneck_paces_datagrams_in_order_and_drops_what_overflows_its_buffer() {
        // 8 Mbit/s: 1,000 bytes take 1 ms on the wire; 2,500 bytes of buffer; 10 ms
        // after the wire.
        let mut imp = Impairer::new(Impairment::bottleneck(8_000_000, 2_500, Duration::from_millis(10)));
        let mut d = vec![0u8; 1_000];
        assert_eq!(imp.offer(0, &mut d), Verdict::Hold(11_000));
        assert_eq!(imp.offer(0, &mut d), Verdict::Hold(12_000), "behind the first");
        assert_eq!(imp.offer(0, &mut d), Verdict::Drop, "3,000 bytes would wait");
        // After 1 ms one has left: room for another.
        assert_eq!(imp.offer(1_000, &mut d), Verdict::Hold(13_000));
        // An idle wire sends at once.
        assert_eq!(imp.offer(50_000, &mut d), Verdict::Hold(61_000));
    }
}
