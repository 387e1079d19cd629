//! A directional link: delay, jitter, loss, duplication, reordering, corruption,
//! delay spikes, bandwidth (serialization delay, FIFO) with a bounded buffer, MTU and
//! outages.
//!
//! Every datagram draws the same fixed set of random numbers from the link's own
//! stream, whatever the link's settings: a link's faults depend only on the seed, the
//! link's name and the datagrams it carried before. Delay spikes draw from a second
//! stream of their own, so that adding them changed no earlier run.

use crate::rng::{fnv1a, SimRng, FNV_OFFSET};
use crate::scenario::LinkParams;
use synack::{Duration, Instant};

/// How long after the original a duplicate arrives, before jitter.
const DUP_GAP: Duration = Duration::from_millis(1);

/// What the rules decided for a datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleEffect {
    pub(crate) drop: bool,
    pub(crate) delay: Duration,
    pub(crate) duplicate: bool,
}

/// Why a link lost a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropCause {
    Rule,
    Mtu,
    /// Handed to the link during one of its outages.
    Down,
    /// The FIFO's buffer was full (drop-tail).
    Queue,
    Loss,
}

/// What the link does with one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fate {
    pub(crate) dropped: Option<DropCause>,
    /// When each copy arrives (empty if dropped, two if duplicated).
    pub(crate) arrivals: Vec<Instant>,
    pub(crate) duplicated: bool,
    pub(crate) corrupted: bool,
}

/// What a link did to the datagrams it carried during a run: the faults it injected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// The link's name (`client->server`).
    pub name: String,
    /// Datagrams handed to the link.
    pub carried: u64,
    /// Datagrams lost to the link's random loss.
    pub lost: u64,
    /// Datagrams dropped by a rule, for exceeding the MTU, while the link was down or
    /// when its buffer was full (these are also counted in `overflowed`).
    pub dropped: u64,
    /// Datagrams dropped because the link's FIFO held `queue_bytes` already.
    pub overflowed: u64,
    /// Datagrams delivered twice.
    pub duplicated: u64,
    /// Datagrams held back so that later ones overtook them.
    pub reordered: u64,
    /// Datagrams damaged (one bit flipped; their checksum fails).
    pub corrupted: u64,
    /// Datagrams the random loss picked that were marked CE instead, being
    /// ECN-capable (RFC 3168 5; a link with `ecn_marks`).
    pub marked: u64,
    /// Delay spikes (stalls of the link) that started.
    pub spikes: u64,
    /// Datagrams held up by a delay spike.
    pub spiked: u64,
}

/// A link at run time.
#[derive(Debug)]
pub(crate) struct LinkRt {
    pub(crate) name: String,
    pub(crate) to: usize,
    params: LinkParams,
    rng: SimRng,
    /// The delay spikes' own stream.
    spike_rng: SimRng,
    /// When the link finishes serializing what it was given (FIFO).
    busy_until: Instant,
    /// The end of the current delay spike, if one is under way.
    stall_until: Instant,
    pub(crate) stats: LinkStats,
}

impl LinkRt {
    /// The router's answer to a datagram this link dropped for its MTU: ICMP
    /// "fragmentation needed" or ICMPv6 Packet Too Big. `None` when the link sends no
    /// ICMP.
    pub(crate) fn too_big_reply(&self, dropped: &[u8]) -> Option<Vec<u8>> {
        let mtu = self.params.mtu.filter(|_| self.params.icmp)?;
        crate::icmp::too_big(dropped, mtu)
    }
}

/// Separates the delay spikes' stream from the link's main stream.
const SPIKE_STREAM: u64 = 0x7370_696b_6573;

impl LinkRt {
    pub(crate) fn new(name: String, to: usize, params: LinkParams, seed: u64) -> LinkRt {
        let stream = fnv1a(FNV_OFFSET, name.as_bytes());
        let rng = SimRng::new(seed, stream);
        let spike_rng = SimRng::new(seed, stream ^ SPIKE_STREAM);
        let stats = LinkStats { name: name.clone(), ..LinkStats::default() };
        LinkRt {
            name,
            to,
            params,
            rng,
            spike_rng,
            busy_until: Instant::ZERO,
            stall_until: Instant::ZERO,
            stats,
        }
    }

    /// Bytes waiting in the FIFO at `now`: what the wire has yet to send, from when it
    /// will be free.
    fn backlog(&self, now: Instant) -> usize {
        if self.busy_until <= now || self.params.bandwidth_bps == 0 {
            return 0;
        }
        let us = u128::from(self.busy_until.saturating_since(now).as_micros());
        usize::try_from(us * u128::from(self.params.bandwidth_bps) / 8_000_000).unwrap_or(usize::MAX)
    }

    /// Serialization time of `len` bytes at the link's bandwidth.
    fn serialization(&self, len: usize) -> Duration {
        if self.params.bandwidth_bps == 0 {
            return Duration::ZERO;
        }
        let bits = (len as u128) * 8 * 1_000_000;
        let us = bits.div_ceil(u128::from(self.params.bandwidth_bps));
        Duration::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// Decide the fate of `bytes` sent at `now`, damaging them in place when the link
    /// corrupts them.
    pub(crate) fn carry(&mut self, now: Instant, bytes: &mut [u8], rule: RuleEffect) -> Fate {
        let p = &self.params;
        // The fixed draws.
        let u_loss = self.rng.unit();
        let u_corrupt = self.rng.unit();
        let u_dup = self.rng.unit();
        let u_reorder = self.rng.unit();
        let jitter = Duration::from_micros(self.rng.up_to(p.jitter.as_micros()));
        let dup_jitter = Duration::from_micros(self.rng.up_to(p.jitter.as_micros()));
        let pick = self.rng.next_u64();
        let u_spike = self.spike_rng.unit();
        self.stats.carried += 1;
        if u_spike < p.spike && now >= self.stall_until {
            self.stall_until = now + p.spike_delay;
            self.stats.spikes += 1;
        }

        let dropped = if rule.drop {
            Some(DropCause::Rule)
        } else if p.mtu.is_some_and(|m| bytes.len() > m) {
            Some(DropCause::Mtu)
        } else if p.down.iter().any(|&(from, to)| now >= Instant::ZERO + from && now < Instant::ZERO + to) {
            Some(DropCause::Down)
        } else if p.queue_bytes.is_some_and(|q| self.backlog(now) + bytes.len() > q) {
            Some(DropCause::Queue)
        } else if u_loss < p.loss {
            if p.ecn_marks && synack::wire::mark_ce(bytes) {
                self.stats.marked += 1;
                None
            } else {
                Some(DropCause::Loss)
            }
        } else {
            None
        };
        match dropped {
            Some(DropCause::Loss) => self.stats.lost += 1,
            Some(DropCause::Queue) => {
                self.stats.dropped += 1;
                self.stats.overflowed += 1;
            }
            Some(_) => self.stats.dropped += 1,
            None => {}
        }
        if matches!(dropped, Some(DropCause::Mtu | DropCause::Queue)) {
            // Never put on the wire.
            return Fate { dropped, arrivals: Vec::new(), duplicated: false, corrupted: false };
        }
        let start = if self.busy_until > now { self.busy_until } else { now };
        let done = start + self.serialization(bytes.len());
        self.busy_until = done;
        if dropped.is_some() {
            return Fate { dropped, arrivals: Vec::new(), duplicated: false, corrupted: false };
        }
        let mut arrival = done + p.delay + jitter + rule.delay;
        if u_reorder < p.reorder {
            let extra = p.reorder_delay.unwrap_or(if p.delay > Duration::from_millis(1) {
                p.delay
            } else {
                Duration::from_millis(1)
            });
            arrival += extra;
            self.stats.reordered += 1;
        }
        if self.stall_until > now {
            let after_stall = self.stall_until + p.delay + jitter;
            if after_stall > arrival {
                arrival = after_stall;
            }
            self.stats.spiked += 1;
        }
        let corrupted = u_corrupt < p.corrupt && corrupt(bytes, pick);
        let duplicated = rule.duplicate || u_dup < p.dup;
        self.stats.corrupted += u64::from(corrupted);
        self.stats.duplicated += u64::from(duplicated);
        let mut arrivals = vec![arrival];
        if duplicated {
            arrivals.push(arrival + DUP_GAP + dup_jitter);
        }
        Fate { dropped: None, arrivals, duplicated, corrupted }
    }
}

/// Flip one bit of the TCP segment in the IP datagram `bytes` (in the sequence or
/// acknowledgment number, or the payload), so that its checksum fails while its
/// structure still parses. A one-bit change alters the one's-complement sum by ±2^k
/// with k < 16, which is never 0 mod 0xffff: the damage is always detected.
pub(crate) fn corrupt(bytes: &mut [u8], pick: u64) -> bool {
    let Some(&first) = bytes.first() else { return false };
    let tcp = match first >> 4 {
        4 => usize::from(first & 0x0f) * 4,
        6 => 40,
        _ => return false,
    };
    let Some(&off_byte) = bytes.get(tcp + 12) else { return false };
    let data = tcp + usize::from(off_byte >> 4) * 4;
    let payload = bytes.len().saturating_sub(data);
    let candidates = 8 + payload;
    let k = (pick % candidates as u64) as usize;
    let at = if k < 8 { tcp + 4 + k } else { data + (k - 8) };
    let bit = ((pick >> 32) % 8) as u32;
    match bytes.get_mut(at) {
        Some(b) => {
            *b ^= 1 << bit;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> LinkParams {
        LinkParams { delay: Duration::from_millis(10), ..LinkParams::default() }
    }

    #[test]
    fn a_clean_link_delivers_once_after_its_delay() {
        let mut l = LinkRt::new("a->b".into(), 1, params(), 1);
        let mut bytes = vec![0x45u8; 60];
        let f = l.carry(Instant::from_millis(5), &mut bytes, RuleEffect::default());
        assert_eq!(f.arrivals, vec![Instant::from_millis(15)]);
        assert_eq!(f.dropped, None);
    }

    #[test]
    fn bandwidth_serializes_datagrams_in_fifo_order() {
        let p = LinkParams { bandwidth_bps: 8_000_000, ..params() };
        let mut l = LinkRt::new("a->b".into(), 1, p, 1);
        let mut bytes = vec![0u8; 1000]; // 1 ms at 8 Mbit/s
        let a = l.carry(Instant::ZERO, &mut bytes, RuleEffect::default());
        let b = l.carry(Instant::ZERO, &mut bytes, RuleEffect::default());
        assert_eq!(a.arrivals, vec![Instant::from_millis(11)]);
        assert_eq!(b.arrivals, vec![Instant::from_millis(12)]);
    }

    #[test]
    fn oversize_datagrams_are_dropped_by_the_mtu() {
        let p = LinkParams { mtu: Some(576), ..params() };
        let mut l = LinkRt::new("a->b".into(), 1, p, 1);
        let mut bytes = vec![0u8; 577];
        assert_eq!(l.carry(Instant::ZERO, &mut bytes, RuleEffect::default()).dropped, Some(DropCause::Mtu));
    }

    #[test]
    fn a_delay_spike_holds_every_datagram_until_the_stall_ends_in_order() {
        let p = LinkParams { spike: 1.0, spike_delay: Duration::from_millis(500), ..params() };
        let mut l = LinkRt::new("a->b".into(), 1, p, 1);
        let mut bytes = vec![0u8; 40];
        let a = l.carry(Instant::ZERO, &mut bytes, RuleEffect::default());
        let b = l.carry(Instant::from_millis(100), &mut bytes, RuleEffect::default());
        // The stall started at 0 ends at 500 ms; both arrive 10 ms later, in order.
        assert_eq!(a.arrivals, vec![Instant::from_millis(510)]);
        assert_eq!(b.arrivals, vec![Instant::from_millis(510)]);
        let c = l.carry(Instant::from_millis(600), &mut bytes, RuleEffect::default());
        assert_eq!(c.arrivals, vec![Instant::from_millis(1110)], "a new spike starts after the first");
        assert_eq!((l.stats.spikes, l.stats.spiked, l.stats.carried), (2, 3, 3));
    }

    #[test]
    fn a_full_buffer_drops_the_tail_and_makes_room_as_the_wire_drains() {
        // 8 Mbit/s: a 1,000-byte datagram takes 1 ms on the wire. The buffer holds
        // 2,500 bytes: the one being sent and one and a half behind it.
        let p = LinkParams { bandwidth_bps: 8_000_000, queue_bytes: Some(2_500), ..params() };
        let mut l = LinkRt::new("a->b".into(), 1, p, 1);
        let mut bytes = vec![0u8; 1_000];
        let at = |l: &mut LinkRt, ms: u64, bytes: &mut Vec<u8>| {
            l.carry(Instant::from_millis(ms), bytes, RuleEffect::default())
        };
        let first = at(&mut l, 0, &mut bytes);
        let second = at(&mut l, 0, &mut bytes);
        assert_eq!((first.dropped, second.dropped), (None, None), "1,000 then 2,000 bytes waiting");
        let third = at(&mut l, 0, &mut bytes);
        assert_eq!(third.dropped, Some(DropCause::Queue), "3,000 bytes would not fit");
        assert!(third.arrivals.is_empty());
        // The dropped one took no time on the wire: the wire is free at 2 ms.
        assert_eq!(second.arrivals, vec![Instant::from_millis(12)]);
        // At 1 ms one datagram has left: 1,000 bytes wait, and another fits.
        let fourth = at(&mut l, 1, &mut bytes);
        assert_eq!(fourth.arrivals, vec![Instant::from_millis(13)]);
        assert_eq!((l.stats.overflowed, l.stats.dropped, l.stats.lost), (1, 1, 0));
    }

    #[test]
    fn rules_drop_delay_and_duplicate() {
        let mut l = LinkRt::new("a->b".into(), 1, params(), 1);
        let mut bytes = vec![0u8; 40];
        let d = l.carry(Instant::ZERO, &mut bytes, RuleEffect { drop: true, ..RuleEffect::default() });
        assert_eq!(d.dropped, Some(DropCause::Rule));
        let e = RuleEffect { delay: Duration::from_secs(3), duplicate: true, ..RuleEffect::default() };
        let f = l.carry(Instant::ZERO, &mut bytes, e);
        assert_eq!(f.arrivals, vec![Instant::from_millis(3010), Instant::from_millis(3011)]);
    }
}
