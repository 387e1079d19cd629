//! IP reassembly (RFC 791 3.2, RFC 1122 3.3.2, RFC 8200 4.5): fragments held until
//! their datagram is whole, within a memory budget and a time limit.
//!
//! RFC 1122 3.3.2: "The IP layer MUST implement reassembly of IP datagrams", with
//! EMTU_R, the largest datagram it can reassemble, "greater than or equal to 576"; RFC
//! 8200 4.5 for IPv6: every node "MUST be able to accept a fragmented packet that,
//! after reassembly, is as large as 1500 octets". Here any datagram up to 65,535 bytes
//! is reassembled while [`Config::max_reassembly_bytes`] holds it.
//!
//! Policy where the RFCs leave room:
//! - Overlapping fragments: RFC 5722 (for IPv6): "if one or more its constituent
//!   fragments is determined to be an overlapping fragment, the entire datagram (and
//!   any constituent fragments, including those not yet received) MUST be silently
//!   discarded". synack does that for IPv4 too, where overlaps are the tool of the
//!   attacks RFC 1858 describes. An exact duplicate (same place, same length: the
//!   network duplicated a fragment) is not an overlap: it is dropped alone.
//! - Time: RFC 8200 4.5, reassembly "must be abandoned" when it is not complete "within
//!   60 seconds of the reception of the first-arriving fragment"; RFC 1122 3.3.2 (d):
//!   "The reassembly timeout value SHOULD be a fixed value, not set from the remaining
//!   TTL." The limit is [`Config::reassembly_timeout`], 60 s by default, counted from
//!   the first fragment. When the first fragment (offset 0) had arrived, the source
//!   gets an ICMP Time Exceeded, code 1 (RFC 1122 3.3.2 (d); RFC 8200 4.5 for IPv6),
//!   quoting it (`Stack::expire_reassembly`); the datagram is counted in
//!   [`StackStats::reassembly_failed`](crate::StackStats::reassembly_failed).
//! - Memory: at most [`MAX_PENDING`] datagrams at a time and `max_reassembly_bytes` of
//!   their data; a fragment that needs more makes room by abandoning the oldest
//!   datagrams, or is dropped when its own datagram alone would exceed the budget.
//!
//! The buffers are allocated per datagram being reassembled: fragments are off the
//! fast path (a TCP sender with Path MTU Discovery sends none).
//!
//! [`Config::max_reassembly_bytes`]: crate::Config::max_reassembly_bytes
//! [`Config::reassembly_timeout`]: crate::Config::reassembly_timeout

use crate::time::{Duration, Instant};
use crate::wire::{reassembled, Fragment};
use std::net::IpAddr;

/// Datagrams reassembled at the same time, at most.
pub(crate) const MAX_PENDING: usize = 64;

/// Fragments held per datagram, at most. A 65,535-byte datagram takes about 120
/// fragments over IPv4's smallest MTU for hosts (576) and 54 over IPv6's (1280); the
/// 576 bytes every host must reassemble (RFC 1122 3.3.2) take 12 even over IPv4's
/// smallest link MTU, 68. More is the tiny-fragment abuse RFC 1858 describes, and the
/// datagram is abandoned.
pub(crate) const MAX_FRAGMENTS: usize = 256;

/// One datagram being reassembled.
#[derive(Debug)]
struct Pending {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    /// The first fragment's header, once it has arrived (see [`Fragment::header`]),
    /// with its `next_at` and `next`.
    header: Option<(Vec<u8>, usize, u8)>,
    /// The payload so far, as long as the furthest fragment's end.
    data: Vec<u8>,
    /// The fragments received, as byte ranges, sorted, none overlapping another.
    have: Vec<(usize, usize)>,
    /// The bytes they hold.
    received: usize,
    /// The payload's length, once the last fragment has arrived.
    total: Option<usize>,
    deadline: Instant,
}

impl Pending {
    fn matches(&self, f: &Fragment<'_>) -> bool {
        self.id == f.id && self.src == f.src && self.dst == f.dst
    }

    /// How `[start, end)` lies against the fragments received: only its neighbours in
    /// the sorted list can touch it.
    fn overlaps(&self, start: usize, end: usize) -> Overlap {
        let at = self.have.partition_point(|&(a, _)| a < start);
        if let Some(&(a, b)) = self.have.get(at) {
            if (a, b) == (start, end) {
                return Overlap::Duplicate;
            }
            if a < end {
                return Overlap::Yes;
            }
        }
        match at.checked_sub(1).and_then(|k| self.have.get(k)) {
            Some(&(_, b)) if b > start => Overlap::Yes,
            _ => Overlap::No,
        }
    }

    fn add_range(&mut self, start: usize, end: usize) {
        let at = self.have.partition_point(|&(a, _)| a < start);
        self.have.insert(at, (start, end));
        self.received += end - start;
    }

    /// What an ICMP Time Exceeded quotes of the first fragment, `None` when it has
    /// not arrived: IPv4, its header and the first 8 bytes of its data (RFC 792);
    /// IPv6, the fragment itself (its Unfragmentable Part, Fragment header and data),
    /// cut so that the message fits in 1,280 bytes (RFC 4443 2.4 (c)).
    fn first_fragment(&self) -> Option<Vec<u8>> {
        let (header, _, next) = self.header.as_ref()?;
        // The first fragment's data is the received range that starts at 0.
        let first_end = self.have.first().filter(|&&(a, _)| a == 0)?.1;
        let data = self.data.get(..first_end)?;
        let mut q = header.clone();
        if self.src.is_ipv6() {
            // Offset 0, M set (it was not the whole datagram), the identification.
            q.extend_from_slice(&[*next, 0, 0, 1]);
            q.extend_from_slice(&self.id.to_be_bytes());
            q.extend_from_slice(data);
            q.truncate(1280 - 40 - 8);
        } else {
            q.extend_from_slice(&data[..data.len().min(8)]);
        }
        Some(q)
    }

    fn held(&self) -> usize {
        self.data.capacity()
    }
}

#[derive(Debug)]
enum Overlap {
    No,
    Duplicate,
    Yes,
}

/// What became of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Held until its datagram is whole.
    Held,
    /// The datagram is whole: here it is, as if never fragmented.
    Whole(Vec<u8>),
    /// A copy of a fragment already held, dropped.
    Duplicate,
    /// The datagram was abandoned: an overlapping or inconsistent fragment, or one
    /// that the budget cannot hold (counted in [`Reassembly::take_failed`]).
    Abandoned,
}

/// The datagrams being reassembled.
#[derive(Debug)]
pub(crate) struct Reassembly {
    pending: Vec<Pending>,
    /// Bytes held by `pending`'s buffers.
    held: usize,
    budget: usize,
    timeout: Duration,
    /// Datagrams abandoned since [`Reassembly::take_failed`] last read the count: for
    /// a bad fragment, to make room, or out of time.
    failed: u64,
}

impl Reassembly {
    /// Nothing pending; at most `budget` bytes of data held, each datagram given
    /// `timeout` from its first fragment.
    pub(crate) fn new(budget: usize, timeout: Duration) -> Self {
        Reassembly { pending: Vec::new(), held: 0, budget, timeout, failed: 0 }
    }

    /// The earliest deadline of a pending datagram.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Datagrams pending.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// Abandon every datagram whose time is up at `now`, calling `timed_out` for each
    /// whose first fragment had arrived with (its destination, its source, what an ICMP
    /// Time Exceeded quotes of that first fragment: RFC 792, the "Internet Header + 64
    /// bits of Original Data Datagram"; RFC 4443 3.3, "As much of invoking packet as
    /// possible without the ICMPv6 packet exceeding the minimum IPv6 MTU").
    pub(crate) fn expire(&mut self, now: Instant, mut timed_out: impl FnMut(IpAddr, IpAddr, &[u8])) {
        let mut k = 0;
        while k < self.pending.len() {
            if self.pending[k].deadline > now {
                k += 1;
                continue;
            }
            let p = self.pending.remove(k);
            self.held -= p.held();
            self.failed += 1;
            if let Some(first) = p.first_fragment() {
                timed_out(p.dst, p.src, &first);
            }
        }
    }

    /// The datagrams abandoned since the last call, whatever the reason.
    pub(crate) fn take_failed(&mut self) -> u64 {
        std::mem::take(&mut self.failed)
    }

    /// Take fragment `f`, received at `now`.
    pub(crate) fn add(&mut self, now: Instant, f: &Fragment<'_>) -> Outcome {
        let (start, end) = (f.offset, f.end());
        let i = match self.pending.iter().position(|p| p.matches(f)) {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_PENDING {
                    self.abandon(0);
                }
                self.pending.push(Pending {
                    src: f.src,
                    dst: f.dst,
                    id: f.id,
                    header: None,
                    data: Vec::new(),
                    have: Vec::new(),
                    received: 0,
                    total: None,
                    deadline: now + self.timeout,
                });
                self.pending.len() - 1
            }
        };
        let p = &self.pending[i];
        match p.overlaps(start, end) {
            Overlap::Duplicate => return Outcome::Duplicate,
            Overlap::Yes => {
                self.abandon(i);
                return Outcome::Abandoned;
            }
            Overlap::No if p.have.len() >= MAX_FRAGMENTS => {
                self.abandon(i);
                return Outcome::Abandoned;
            }
            Overlap::No => {}
        }
        // The last fragment fixes the length; nothing may lie beyond it, and there is
        // only one length (RFC 791 3.2: the datagram ends with the fragment whose MF is
        // clear).
        let inconsistent = match (p.total, f.more) {
            (Some(t), false) => t != end,
            (Some(t), true) => end > t,
            (None, false) => p.have.last().is_some_and(|&(_, b)| b > end),
            (None, true) => false,
        };
        if inconsistent {
            self.abandon(i);
            return Outcome::Abandoned;
        }
        // Room for the data: from the budget, by abandoning the oldest others.
        let grow = end.saturating_sub(p.data.len());
        if grow > 0 {
            let need = p.data.len() + grow;
            if need > self.budget {
                self.abandon(i);
                return Outcome::Abandoned;
            }
            let mut i = i;
            while self.held - self.pending[i].held() + need > self.budget {
                let oldest = if i == 0 { 1 } else { 0 };
                self.abandon(oldest);
                if oldest < i {
                    i -= 1;
                }
            }
            let p = &mut self.pending[i];
            self.held -= p.held();
            p.data.reserve_exact(need - p.data.len());
            p.data.resize(need, 0);
            self.held += p.held();
            return self.fill(i, f);
        }
        self.fill(i, f)
    }

    /// Copy `f`'s data into datagram `i`, and hand the datagram over if it is whole.
    fn fill(&mut self, i: usize, f: &Fragment<'_>) -> Outcome {
        let (start, end) = (f.offset, f.end());
        let p = &mut self.pending[i];
        if let Some(dst) = p.data.get_mut(start..end) {
            dst.copy_from_slice(f.data);
        }
        p.add_range(start, end);
        if !f.more {
            p.total = Some(end);
        }
        if start == 0 {
            p.header = Some((f.header.to_vec(), f.next_at, f.next));
        }
        // Whole: the first fragment's header, the last fragment's length, and every
        // byte before it (the ranges never overlap, so their sum tells).
        let (Some((header, next_at, next)), Some(total)) = (&p.header, p.total) else {
            return Outcome::Held;
        };
        if p.received != total {
            return Outcome::Held;
        }
        let first = Fragment { header, next_at: *next_at, next: *next, ..*f };
        let whole = reassembled(&first, &p.data[..total]);
        // (`remove`, not `swap_remove`: the others stay oldest first.)
        let p = self.pending.remove(i);
        self.held -= p.held();
        Outcome::Whole(whole)
    }

    /// Drop datagram `i` and its fragments.
    fn abandon(&mut self, i: usize) {
        if i < self.pending.len() {
            let p = self.pending.remove(i);
            self.held -= p.held();
            self.failed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::parse_ip;

    const A: [u8; 4] = [192, 0, 2, 1];
    const B: [u8; 4] = [192, 0, 2, 2];

    fn frag<'a>(header: &'a [u8], id: u32, offset: usize, more: bool, data: &'a [u8]) -> Fragment<'a> {
        Fragment {
            src: IpAddr::from(A),
            dst: IpAddr::from(B),
            id,
            offset,
            more,
            header,
            next_at: 0,
            next: 0,
            data,
        }
    }

    /// A 20-byte IPv4 header for protocol 17 (its checksum is computed on reassembly).
    fn header() -> Vec<u8> {
        let mut h = vec![0x45, 0, 0, 0, 0, 1, 0x20, 0, 64, 17, 0, 0];
        h.extend_from_slice(&A);
        h.extend_from_slice(&B);
        h
    }

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn whole(o: Outcome) -> Vec<u8> {
        match o {
            Outcome::Whole(d) => d,
            other => panic!("not whole: {other:?}"),
        }
    }

    #[test]
    fn fragments_in_any_order_give_the_datagram_once_every_byte_is_there() {
        let (h, data) = (header(), payload(40));
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
            let pieces = [(0, true), (16, true), (32, false)];
            let mut out = None;
            for (n, &k) in order.iter().enumerate() {
                let (off, more) = pieces[k];
                let end = if more { off + 16 } else { 40 };
                let o = r.add(t(0), &frag(&h, 9, off, more, &data[off..end]));
                if n < 2 {
                    assert_eq!(o, Outcome::Held, "order {order:?}");
                } else {
                    out = Some(whole(o));
                }
            }
            let d = out.expect("whole");
            let ip = parse_ip(&d).expect("one datagram");
            assert_eq!(ip.payload, &data[..], "order {order:?}");
            assert_eq!(r.len(), 0, "nothing left behind");
            assert_eq!(r.held, 0);
        }
    }

    #[test]
    fn an_exact_duplicate_is_dropped_alone() {
        let (h, data) = (header(), payload(24));
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        assert_eq!(r.add(t(0), &frag(&h, 1, 0, true, &data[..16])), Outcome::Held);
        assert_eq!(r.add(t(1), &frag(&h, 1, 0, true, &data[..16])), Outcome::Duplicate);
        let d = whole(r.add(t(2), &frag(&h, 1, 16, false, &data[16..])));
        assert_eq!(parse_ip(&d).expect("whole").payload, &data[..]);
    }

    #[test]
    fn a_duplicate_of_a_fragment_between_others_is_still_a_duplicate() {
        // The network may repeat any fragment, also once its neighbours are in.
        let (h, data) = (header(), payload(40));
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        r.add(t(0), &frag(&h, 1, 0, true, &data[..16]));
        r.add(t(0), &frag(&h, 1, 16, true, &data[16..32]));
        assert_eq!(r.add(t(0), &frag(&h, 1, 0, true, &data[..16])), Outcome::Duplicate);
        assert_eq!(r.add(t(0), &frag(&h, 1, 16, true, &data[16..32])), Outcome::Duplicate);
        let d = whole(r.add(t(0), &frag(&h, 1, 32, false, &data[32..])));
        assert_eq!(parse_ip(&d).expect("whole").payload, &data[..]);
    }

    #[test]
    fn too_many_fragments_abandon_the_datagram() {
        let (h, data) = (header(), payload(8));
        let mut r = Reassembly::new(1 << 20, Duration::from_secs(60));
        for k in 0..MAX_FRAGMENTS {
            assert_eq!(r.add(t(0), &frag(&h, 1, 8 * (k + 1), true, &data)), Outcome::Held, "fragment {k}");
        }
        assert_eq!(r.add(t(0), &frag(&h, 1, 0, true, &data)), Outcome::Abandoned);
        assert_eq!((r.len(), r.held), (0, 0));
    }

    #[test]
    fn an_overlapping_fragment_abandons_the_whole_datagram() {
        // RFC 5722: the datagram, "including those not yet received", is discarded.
        let (h, data) = (header(), payload(48));
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        assert_eq!(r.add(t(0), &frag(&h, 1, 0, true, &data[..16])), Outcome::Held);
        assert_eq!(r.add(t(0), &frag(&h, 1, 8, true, &data[8..24])), Outcome::Abandoned);
        assert_eq!(r.len(), 0);
        // Overlapping the one before (not the one at the same start).
        r.add(t(0), &frag(&h, 2, 0, true, &data[..16]));
        r.add(t(0), &frag(&h, 2, 24, true, &data[24..40]));
        assert_eq!(r.add(t(0), &frag(&h, 2, 8, true, &data[8..16])), Outcome::Abandoned);
        // A fragment that covers a received one and more.
        r.add(t(0), &frag(&h, 3, 16, true, &data[16..24]));
        assert_eq!(r.add(t(0), &frag(&h, 3, 8, true, &data[8..32])), Outcome::Abandoned);
        assert_eq!(r.len(), 0);
        // What follows starts a new datagram, which the missing head keeps incomplete.
        assert_eq!(r.add(t(0), &frag(&h, 1, 16, false, &data[16..])), Outcome::Held);
    }

    #[test]
    fn inconsistent_lengths_abandon_the_datagram() {
        let (h, data) = (header(), payload(64));
        // Data beyond the last fragment's end.
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        r.add(t(0), &frag(&h, 1, 32, true, &data[32..48]));
        assert_eq!(r.add(t(0), &frag(&h, 1, 0, false, &data[..16])), Outcome::Abandoned);
        // Two different last fragments.
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        r.add(t(0), &frag(&h, 1, 32, false, &data[32..40]));
        assert_eq!(r.add(t(0), &frag(&h, 1, 16, false, &data[16..24])), Outcome::Abandoned);
    }

    #[test]
    fn datagrams_are_told_apart_by_addresses_and_identification() {
        let (h, data) = (header(), payload(16));
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        r.add(t(0), &frag(&h, 1, 0, true, &data[..8]));
        r.add(t(0), &frag(&h, 2, 0, true, &data[..8]));
        let mut other = frag(&h, 1, 8, false, &data[8..]);
        other.src = IpAddr::from([192, 0, 2, 3]);
        assert_eq!(r.add(t(0), &other), Outcome::Held, "another source's datagram");
        assert_eq!(r.len(), 3);
        assert!(matches!(r.add(t(0), &frag(&h, 2, 8, false, &data[8..])), Outcome::Whole(_)));
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn a_datagram_not_whole_in_time_is_abandoned_from_its_first_fragment() {
        let (h, data) = (header(), payload(16));
        let mut r = Reassembly::new(1 << 16, Duration::from_secs(60));
        r.add(t(1_000), &frag(&h, 1, 0, true, &data[..8]));
        assert_eq!(r.next_deadline(), Some(t(61_000)));
        // A later fragment does not move the deadline (RFC 8200 4.5).
        r.add(t(30_000), &frag(&h, 2, 0, true, &data[..8]));
        let mut told = Vec::new();
        r.expire(t(60_999), |ours, theirs, q| told.push((ours, theirs, q.to_vec())));
        assert_eq!(r.take_failed(), 0);
        r.expire(t(61_000), |ours, theirs, q| told.push((ours, theirs, q.to_vec())));
        assert_eq!(r.take_failed(), 1);
        // Its first fragment had arrived: the source is told, with that fragment's
        // header and first 8 bytes of data quoted.
        let mut quoted = h.clone();
        quoted.extend_from_slice(&data[..8]);
        assert_eq!(told, [(IpAddr::from(B), IpAddr::from(A), quoted)]);
        assert_eq!(r.next_deadline(), Some(t(90_000)));
        // The missing piece of the abandoned one now starts a datagram of its own.
        assert_eq!(r.add(t(61_001), &frag(&h, 1, 8, false, &data[8..])), Outcome::Held);
    }

    #[test]
    fn the_budget_abandons_the_oldest_datagrams_and_refuses_one_too_big_alone() {
        let h = header();
        let data = payload(1024);
        let mut r = Reassembly::new(2048, Duration::from_secs(60));
        r.add(t(0), &frag(&h, 1, 0, true, &data));
        r.add(t(1), &frag(&h, 2, 0, true, &data));
        assert_eq!(r.len(), 2);
        // A third needs room: the oldest goes, and counts as abandoned.
        r.add(t(2), &frag(&h, 3, 0, true, &data));
        assert_eq!(r.len(), 2);
        assert_eq!(r.take_failed(), 1);
        assert!(r.pending.iter().all(|p| p.id != 1), "the oldest was abandoned");
        assert!(r.held <= 2048);
        // One that alone would hold more than the budget is refused.
        assert_eq!(r.add(t(3), &frag(&h, 4, 2048, true, &data[..8])), Outcome::Abandoned);
        assert!(r.held <= 2048);
    }

    #[test]
    fn at_most_max_pending_datagrams_are_kept() {
        let (h, data) = (header(), payload(8));
        let mut r = Reassembly::new(1 << 20, Duration::from_secs(60));
        for id in 0..(MAX_PENDING as u32 + 10) {
            r.add(t(u64::from(id)), &frag(&h, id, 0, true, &data));
        }
        assert_eq!(r.len(), MAX_PENDING);
        assert!(r.pending.iter().all(|p| p.id >= 10), "the oldest made room");
        assert_eq!(r.take_failed(), 10);
    }
}
