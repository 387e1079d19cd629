//! The sender's SACK scoreboard (RFC 2018 5, RFC 6675 4): which octets above SND.UNA
//! the peer reported holding, so that loss recovery retransmits the holes between
//! them instead of one hole per round trip. With it, what tells reordering from loss:
//! a DupThresh that rises with the reordering the connection has seen
//! ([`SackRecovery::reordering`]), and the undoing of a fast recovery that proves
//! spurious (`undo.rs`).
//!
//! Bounded: at most [`RANGES`] ranges, in a vector allocated when a connection first
//! sees a SACK block (never on the path of a connection without loss). Once it is
//! full a new range above them all is dropped, and one below pushes the highest
//! out, which only makes recovery less precise (never wrong: SACK information is
//! advisory, and the data stays queued until cumulatively acknowledged, RFC 2018 8).
//!
//! How many: a router's drop-tail queue overflowing under slow start drops every
//! other segment of a round, as many holes as half the window. With 6 ranges (this
//! board's size until the simulator modelled such queues) a CUBIC sender on a
//! 20 Mbit/s, 20 ms path with a 150 KB buffer saw the holes past the sixth range
//! only as SND.UNA reached them, one per round trip, and took 8.1 s for 8 MB with
//! 5,831 datagrams dropped; with 32 ranges 3.4 s and 36. With 128, a Reno sender
//! on a 60 ms path with a 300 KB buffer still lost track of SACKed segments past the
//! 128th range and sent 389 of them again (760 losses, 1,149 retransmissions); with
//! 1,024 (and a receiver holding as many islands, `Config::max_ooo_ranges`) its 302
//! losses took 302 retransmissions (`tests/hystart.rs` in the simulator). 1,024
//! ranges cost at most 8 KiB per connection in loss recovery; the board is searched
//! by bisection, and its walks (IsLost, NextSeg) run once per ACK.

use super::cc::Prior;
use super::prr::Prr;
use super::undo::Undo;
use super::{Conn, Ctx};
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::wire::{SackBlock, TcpHeader};

/// SACKed ranges kept at most. (The unit tests run the board with 6, so that the
/// random checks against the reference model reach the limit.)
#[cfg(not(test))]
const RANGES: usize = 1024;
#[cfg(test)]
const RANGES: usize = 6;

/// RFC 6675 2: "DupThresh: The number of duplicate acknowledgments required to trigger
/// a retransmission" - 3, where a connection starts and where it stays until it sees
/// the network reorder its segments ([`SackRecovery::reordering`]).
pub(crate) const DUP_THRESH: u32 = 3;

/// The highest DupThresh a connection raises its own to, in segments. Beyond a
/// flight's worth of segments a higher one only leaves every loss to the
/// retransmission timer. (Linux bounds its reordering metric the same way, at 300 by
/// default. The campaign's 2,000 seeds gave the same figures with 64 and with 300.)
const MAX_REORDERING: u32 = 64;

/// What one walk of the board for RFC 6675's pipe finds ([`Scoreboard::pipe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pipe {
    /// The pipe: octets estimated in flight.
    pub(crate) bytes: u32,
    /// Where the holes deemed lost end, if any is: the start of the range above the
    /// highest of them (IsLost holds for a prefix of the holes, so this only rises as
    /// more is deemed lost).
    pub(crate) lost_end: Option<SeqNum>,
    /// The octets SACKed ([`Scoreboard::sacked_bytes`]).
    pub(crate) sacked: u32,
}

/// Disjoint SACKed ranges above SND.UNA, sorted by sequence number, never adjacent
/// (adjacent ones are merged).
#[derive(Debug, Clone, Default)]
pub(crate) struct Scoreboard {
    ranges: Vec<(SeqNum, SeqNum)>,
}

impl Scoreboard {
    fn ranges(&self) -> &[(SeqNum, SeqNum)] {
        &self.ranges
    }

    /// Whether no octet is SACKed.
    pub(crate) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// SND.UNA moved to `una`: drop what it covers. Returns whether the receiver
    /// reneged: SND.UNA stopped at or inside a range it had SACKed, so it discarded
    /// data it had reported holding (RFC 2018 8: "the data receiver is permitted to
    /// discard data in its queue that has not been acknowledged to the data sender,
    /// even if the data has already been reported in a SACK option"). A receiver
    /// holding every octet of a range and everything below SND.UNA would have
    /// acknowledged the whole range. The board is then cleared: none of it can be
    /// trusted.
    pub(crate) fn advance(&mut self, una: SeqNum) -> bool {
        self.ranges.retain(|&(_, r)| una.lt(r));
        if self.ranges.first().is_some_and(|&(l, _)| l.le(una)) {
            self.ranges.clear();
            return true;
        }
        false
    }

    /// The first octet at or after `seq` that is not SACKed, and the start of the
    /// SACKed range above it, if any: what a resend from `seq` may send before it
    /// reaches data the receiver holds.
    pub(crate) fn unsacked_from(&self, seq: SeqNum) -> (SeqNum, Option<SeqNum>) {
        let i = self.ranges.partition_point(|&(_, r)| r.le(seq));
        match self.ranges.get(i) {
            Some(&(l, r)) if l.le(seq) => (r, self.ranges.get(i + 1).map(|&(l, _)| l)),
            Some(&(l, _)) => (seq, Some(l)),
            None => (seq, None),
        }
    }

    /// [`Scoreboard::merge`], telling only whether the blocks brought news.
    #[cfg(test)]
    pub(crate) fn update(&mut self, blocks: &[SackBlock], una: SeqNum, nxt: SeqNum) -> bool {
        self.merge(blocks, una, nxt).is_some()
    }

    /// Merge the blocks of one ACK; only blocks within (`una`, `nxt`] count (a D-SACK,
    /// RFC 2883, reports data below SND.UNA; a block beyond SND.NXT is bogus). Returns
    /// the lowest octet they reported that was not SACKed before, if any: whether
    /// there is one is RFC 6675 2's "DupAck: A segment that arrives carrying a SACK
    /// block that identifies previously unacknowledged and un-SACKed octets between
    /// HighACK and HighData", and where it lies shows reordering
    /// ([`SackRecovery::saw_late_delivery`]).
    ///
    /// The edges are measured as distances from `una` rather than compared pairwise:
    /// sequence-space comparison is not transitive across more than 2^31 ("comparisons
    /// use the signed difference, so they are meaningful for numbers less than 2^31
    /// apart", RFC 9293 3.4), so a peer's `left` after SND.UNA, `right` after `left`
    /// and `right` not after SND.NXT could still put `right` before SND.UNA - a range
    /// outside the flight.
    pub(crate) fn merge(&mut self, blocks: &[SackBlock], una: SeqNum, nxt: SeqNum) -> Option<SeqNum> {
        let flight = nxt.since(una);
        let mut lowest: Option<SeqNum> = None;
        for b in blocks {
            // `since` is 0 for an edge before SND.UNA: the left edge is clipped there (a
            // D-SACK overlapping SND.UNA), a right edge there leaves nothing.
            let (l, r) = (b.left.since(una), b.right.since(una));
            if l >= r || r > flight {
                continue;
            }
            if let Some(new) = self.insert(una + l, una + r) {
                lowest = Some(lowest.map_or(new, |o| if new.lt(o) { new } else { o }));
            }
        }
        lowest
    }

    /// One past the highest SACKed octet (RFC 8985's RACK.fack is the send time of
    /// the segment holding it), if any.
    pub(crate) fn high_sacked(&self) -> Option<SeqNum> {
        self.ranges.last().map(|&(_, r)| r)
    }

    /// Add `[l, r)`, merging with overlapping or adjacent ranges. Returns the lowest
    /// octet in it that was not SACKed before, if any.
    fn insert(&mut self, l: SeqNum, r: SeqNum) -> Option<SeqNum> {
        // The ranges that touch [l, r): from the first ending at or after `l` (a
        // binary search: the ranges are sorted and disjoint) to the last starting at or
        // before `r`. Those before and after stay as they are.
        let first = self.ranges.partition_point(|&(_, b)| b.lt(l));
        // Ranges are merged, so known octets lie within a single range: that one.
        let low = match self.ranges.get(first) {
            Some(&(a, b)) if a.le(l) && r.le(b) => return None,
            // `l` is SACKed already: the first new octet is the end of its range (not
            // SACKed: ranges never touch), below `r` since the range does not hold it.
            Some(&(a, b)) if a.le(l) => b,
            _ => l,
        };
        let touching = self.ranges[first..].iter().take_while(|&&(a, _)| !r.lt(a)).count();
        let end = first + touching;
        let (mut l, mut r) = (l, r);
        if touching > 0 {
            l = l.min(self.ranges[first].0);
            r = r.max(self.ranges[end - 1].1);
        }
        if touching == 0 && self.ranges.len() >= RANGES {
            if first == self.ranges.len() {
                // Full, and above every range: dropped.
                return None;
            }
            // Full: the highest range falls off (the lowest holes matter most).
            self.ranges.pop();
        }
        self.ranges.splice(first..end, [(l, r)]);
        Some(low)
    }

    /// RFC 6675 4, IsLost(SeqNum): "This routine returns whether the given sequence
    /// number is considered to be lost. The routine returns true when either DupThresh
    /// discontiguous SACKed sequences have arrived above 'SeqNum' or more than
    /// (DupThresh - 1) * SMSS bytes with sequence numbers greater than 'SeqNum' have
    /// been SACKed."
    ///
    /// The part of a range that straddles `seq` counts with its octets above it.
    /// `thresh` is the connection's DupThresh ([`SackRecovery::reordering`]).
    pub(crate) fn is_lost(&self, seq: SeqNum, mss: u32, thresh: u32) -> bool {
        let above = self.ranges().iter().filter(|&&(_, r)| seq.lt(r));
        let (count, bytes) =
            above.fold((0u32, 0u32), |(c, b), &(l, r)| (c + 1, b.saturating_add(r.since(l.max(seq)))));
        count >= thresh || bytes > (thresh - 1).saturating_mul(mss)
    }

    /// How many octets are SACKed.
    pub(crate) fn sacked_bytes(&self) -> u32 {
        self.ranges.iter().fold(0u32, |n, &(l, r)| n.saturating_add(r.since(l)))
    }

    /// RFC 6675 4, SetPipe: "an estimate of the number of octets that are currently in
    /// transit", counted over "each octet 'S1' in the sequence space between HighACK
    /// and HighData that has not been SACKed: (a) If IsLost (S1) returns false: Pipe is
    /// incremented by 1 octet. ... (b) If S1 <= HighRxt: Pipe is incremented by 1
    /// octet." HighACK is `una`, HighData `nxt` (one past the highest octet sent) and
    /// `high_rxt` one past the highest retransmitted, so (b) holds below it.
    ///
    /// One pass over the holes, as in [`Scoreboard::next_lost_hole`]: every octet of
    /// the hole below range `i` has the same ranges above it, so IsLost is decided
    /// once per hole; the hole above the highest range has nothing SACKed above it.
    ///
    /// The same walk also gives where the lost holes end and how much is SACKed
    /// ([`Pipe`]).
    pub(crate) fn pipe(&self, una: SeqNum, nxt: SeqNum, high_rxt: SeqNum, mss: u32, thresh: u32) -> Pipe {
        let rxt_end = if una.lt(high_rxt) { high_rxt } else { una };
        let retransmitted = |from: SeqNum, to: SeqNum| {
            if from.lt(rxt_end) {
                (if to.lt(rxt_end) { to } else { rxt_end }).since(from)
            } else {
                0
            }
        };
        let sacked = self.sacked_bytes();
        let mut above = sacked;
        let mut pipe = 0u32;
        let mut lost_end = None;
        let mut seq = una;
        for (i, &(l, r)) in self.ranges.iter().enumerate() {
            if seq.lt(l) {
                let count = (self.ranges.len() - i) as u32;
                let lost = count >= thresh || above > (thresh - 1).saturating_mul(mss);
                if lost {
                    lost_end = Some(l);
                } else {
                    pipe = pipe.saturating_add(l.since(seq));
                }
                pipe = pipe.saturating_add(retransmitted(seq, l));
            }
            above = above.saturating_sub(r.since(l));
            if seq.lt(r) {
                seq = r;
            }
        }
        if seq.lt(nxt) {
            pipe = pipe.saturating_add(nxt.since(seq)).saturating_add(retransmitted(seq, nxt));
        }
        Pipe { bytes: pipe, lost_end, sacked }
    }

    /// Whether `seq` lies in a SACKed range.
    pub(crate) fn is_sacked(&self, seq: SeqNum) -> bool {
        self.ranges().iter().any(|&(l, r)| l.le(seq) && seq.lt(r))
    }

    /// The first hole at or after `from` that IsLost deems lost (RFC 6675 4, NextSeg
    /// rule 1): its start and length (at most `mss`, up to the next SACKed range).
    ///
    /// One pass: a hole below range `i` has the ranges from `i` on entirely above it,
    /// so IsLost is their count and octets, kept as the walk goes.
    pub(crate) fn next_lost_hole(&self, from: SeqNum, mss: u32, thresh: u32) -> Option<(SeqNum, u32)> {
        let mut above = self.sacked_bytes();
        let mut seq = from;
        for (i, &(l, r)) in self.ranges.iter().enumerate() {
            if seq.lt(l) {
                let count = (self.ranges.len() - i) as u32;
                if count < thresh && above <= (thresh - 1).saturating_mul(mss) {
                    return None;
                }
                return Some((seq, l.since(seq).min(mss)));
            }
            above = above.saturating_sub(r.since(l));
            seq = seq.max(r);
        }
        None
    }
}

/// A connection's SACK-based recovery state, boxed in the connection once the peer
/// first reports SACKed data.
#[derive(Debug, Clone)]
pub(crate) struct SackRecovery {
    /// What the peer reported SACKed above SND.UNA.
    pub(super) board: Scoreboard,
    /// HighRxt (RFC 6675 2): one past the highest octet retransmitted; holes below it
    /// are not retransmitted again before a timeout.
    high_rxt: SeqNum,
    /// A hole the scoreboard deems lost, to retransmit next (RFC 6675 4, NextSeg).
    pub(super) rxt_hole: Option<(SeqNum, u32)>,
    /// SND.NXT when the segment at SND.UNA was last retransmitted in fast recovery:
    /// data sent after it being SACKed shows that retransmission lost too.
    pub(super) una_rxt_mark: Option<SeqNum>,
    /// The connection's DupThresh, in segments: [`DUP_THRESH`] until the network is
    /// seen to reorder, then how far: the most segments' worth of data sent after an
    /// octet that arrived before it did ([`SackRecovery::saw_late_delivery`]), at most
    /// [`MAX_REORDERING`]. Loss detection waits for that much: [`Scoreboard::is_lost`]
    /// and the duplicate ACK count. RFC 6675 fixes DupThresh at 3 and notes that
    /// later work adapts it to reordering (RFC 4653; RFC 8985 replaces the count with
    /// a reordering window in time, which needs each segment's send time). Like
    /// Linux's reordering metric, this takes a count of segments from what the SACK
    /// and the cumulative ACK prove arrived out of order.
    reordering: u32,
    /// Whether the connection has seen the network reorder its segments (RFC 8985's
    /// RACK.reordering_seen): set with [`SackRecovery::raise_reordering`], never
    /// cleared. Until then a retransmission is deemed lost as soon as data sent after
    /// it is SACKed ([`SackRecovery::resent_and_lost`]).
    reordering_seen: bool,
    /// One past the highest octet retransmitted while the scoreboard existed (SND.NXT
    /// at its creation if the connection had retransmitted before): an octet below it
    /// that arrives may be its retransmission, which proves no reordering; one at or
    /// above it is an original that arrived late.
    rxt_max: SeqNum,
    /// The fast recovery under way, while it may still prove spurious
    /// (`conn/undo.rs`).
    pub(super) undo: Option<Undo>,
    /// Our timestamp clock when the latest fast recovery began (with timestamps in
    /// use), which its first retransmission carries: an ACK that echoes an older TSval
    /// was sent for an original (RFC 3522's Eifel detection;
    /// [`Conn::sack_ack_echoes_original`]).
    pub(super) rxt_tsval: Option<u32>,
    /// The Proportional Rate Reduction of the latest fast recovery (`conn/prr.rs`).
    pub(super) prr: Option<Prr>,
}

impl SackRecovery {
    /// `low`, never retransmitted, arrived after data sent after it, up to `fack` (one
    /// past the highest octet SACKed before): the network reordered it by about
    /// `fack - low` octets. RFC 8985 6.2, paraphrased: a segment is deemed delivered
    /// out of order when it was never retransmitted and data sent after it had been
    /// delivered first. DupThresh rises to that many segments (rounded up): a hole
    /// that deep arriving late is then not deemed lost (`Scoreboard::is_lost` wants
    /// more than DupThresh - 1 segments SACKed above it).
    fn saw_late_delivery(&mut self, low: SeqNum, fack: SeqNum, mss: u32) {
        if low.lt(fack) && !low.lt(self.rxt_max) {
            self.raise_reordering(low, fack, mss);
        }
    }

    /// Data from `late` arrived after data up to `reach` had: DupThresh rises to that
    /// many segments (rounded up, at most [`MAX_REORDERING`]), never falls here.
    pub(super) fn raise_reordering(&mut self, late: SeqNum, reach: SeqNum, mss: u32) {
        let degree = reach.since(late).div_ceil(mss.max(1)).min(MAX_REORDERING);
        self.reordering = self.reordering.max(degree);
        self.reordering_seen = true;
    }

    /// Whether the connection has seen reordering (RACK.reord, RFC 8985 6.2).
    pub(super) fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// Whether a retransmission sent when SND.NXT was `mark` was lost too. RACK's
    /// rule (RFC 8985 6.2, paraphrased): a segment is lost once a segment sent after
    /// it has been delivered and a reordering window has passed since, and the window
    /// is zero in loss recovery on a connection that has not seen reordering. Every
    /// octet at or above `mark` was first sent after the retransmission, so one of
    /// them SACKed is that proof; the scoreboard keeps no send times, so the window
    /// is either zero or, once reordering was seen, DupThresh's count of segments
    /// SACKed above `mark` (IsLost, RFC 6675 4) stands in for it.
    fn resent_and_lost(&self, mark: SeqNum, mss: u32) -> bool {
        if self.reordering_seen {
            self.is_lost(mark, mss)
        } else {
            self.board.high_sacked().is_some_and(|h| mark.lt(h))
        }
    }

    /// RFC 6675's pipe ([`Scoreboard::pipe`]) with this connection's HighRxt and
    /// DupThresh, SND.UNA at `una` and SND.NXT at `nxt`, except for the segment at
    /// SND.UNA once fast recovery has sent it again (or is about to:
    /// `retransmit_pending`). That is the segment a partial ACK shows lost (RFC 6582
    /// 3.2 step 5), or whose retransmission more SACKs showed lost too
    /// ([`Conn::una_retransmission_lost`]); IsLost may not deem it lost yet (too little
    /// SACKed above it), and SetPipe would then count its original as in flight as
    /// well as its retransmission. Here the original counts as lost, and its latest
    /// retransmission as in flight once it has left and until it is deemed lost in turn.
    pub(super) fn pipe(&self, una: SeqNum, nxt: SeqNum, mss: u32, retransmit_pending: bool) -> Pipe {
        if self.una_rxt_mark.is_none() || !una.lt(nxt) {
            return self.board.pipe(una, nxt, self.high_rxt, mss, self.reordering);
        }
        let (_, sacked) = self.board.unsacked_from(una);
        let mut end = una + mss.min(nxt.since(una));
        if let Some(l) = sacked.filter(|l| l.lt(end)) {
            end = l;
        }
        let rest = self.board.pipe(end, nxt, self.high_rxt, mss, self.reordering);
        let resent = if retransmit_pending || !una.lt(self.high_rxt) {
            0
        } else {
            (if self.high_rxt.lt(end) { self.high_rxt } else { end }).since(una)
        };
        Pipe { bytes: rest.bytes.saturating_add(resent), ..rest }
    }

    /// IsLost (RFC 6675 4) with this connection's DupThresh.
    fn is_lost(&self, seq: SeqNum, mss: u32) -> bool {
        self.board.is_lost(seq, mss, self.reordering)
    }

    /// Everything from `una` on is to be sent again (after a timeout, or when the
    /// receiver reneged): nothing counts as retransmitted until it has been.
    fn forget_retransmissions(&mut self, una: SeqNum) {
        self.undo = None;
        self.high_rxt = una;
        self.rxt_hole = None;
        self.una_rxt_mark = None;
    }
}

impl Conn {
    /// Merge the SACK blocks of an acceptable ACK into the scoreboard (SND.UNA already
    /// updated). Returns whether they reported octets not SACKed before.
    ///
    /// Size: the common ACK carries no block and returns at the first test; the merge
    /// is out of line so that the callers' hot code stays contiguous (an ACK-only
    /// lifecycle never runs it).
    #[inline]
    pub(super) fn sack_update(&mut self, hdr: &TcpHeader) -> bool {
        let blocks = hdr.options.sack_blocks();
        if !self.options.sack_ok || blocks.is_empty() {
            return false;
        }
        self.sack_merge(blocks)
    }

    /// The merge of [`Conn::sack_update`]: the scoreboard is created on the first block.
    /// Octets newly SACKed below the highest SACKed before, never retransmitted,
    /// show reordering ([`SackRecovery::saw_late_delivery`]).
    #[inline(never)]
    fn sack_merge(&mut self, blocks: &[SackBlock]) -> bool {
        let (una, nxt, mss) = (self.snd_una, self.snd_nxt, u32::from(self.mss));
        // What went out before the board existed may have been retransmitted.
        let rxt_max = if self.retransmissions > 0 { nxt } else { una };
        let s = self.sack.get_or_insert_with(|| {
            Box::new(SackRecovery {
                board: Scoreboard::default(),
                high_rxt: una,
                rxt_hole: None,
                una_rxt_mark: None,
                reordering: DUP_THRESH,
                reordering_seen: false,
                rxt_max,
                undo: None,
                rxt_tsval: None,
                prr: None,
            })
        });
        let fack = s.board.high_sacked();
        let Some(low) = s.board.merge(blocks, una, nxt) else { return false };
        if let Some(fack) = fack {
            s.saw_late_delivery(low, fack, mss);
        }
        true
    }

    /// DupThresh (RFC 6675 2): 3, or higher once the connection has seen reordering
    /// ([`SackRecovery::reordering`]).
    #[inline]
    pub(super) fn dup_thresh(&self) -> u32 {
        self.sack.as_deref().map_or(DUP_THRESH, |s| s.reordering)
    }

    /// SND.UNA moved to `una`: the scoreboard forgets what it covers.
    ///
    /// Size: a connection that never saw a SACK block has no scoreboard and returns at
    /// the test; the update is out of line (see [`Conn::sack_update`]).
    /// `prior` is SND.UNA before the ACK.
    #[inline]
    pub(super) fn sack_on_new_ack(&mut self, ctx: &mut Ctx<'_>, prior: SeqNum, hdr: &TcpHeader) {
        if self.sack.is_some() {
            self.sack_advance(ctx, prior, hdr);
        }
    }

    /// The update of [`Conn::sack_on_new_ack`]. A receiver that reneged
    /// ([`Scoreboard::advance`]) while a resend from SND.UNA skips what the board
    /// held (after a timeout, [`Conn::skip_sacked`]) has that resend start again from
    /// SND.UNA, as if the board had been cleared at the timeout: the octets it
    /// skipped may be the very ones discarded.
    ///
    /// The hole at `prior` (SND.UNA before the ACK) below SACKed data is now
    /// acknowledged: if it was never retransmitted, its original arrived after that
    /// data did ([`SackRecovery::saw_late_delivery`]). First, the ACK may show the fast
    /// recovery under way spurious ([`Conn::sack_check_spurious`]).
    #[inline(never)]
    fn sack_advance(&mut self, ctx: &mut Ctx<'_>, prior: SeqNum, hdr: &TcpHeader) {
        let una = hdr.ack;
        self.sack_check_spurious(ctx, hdr);
        let mss = u32::from(self.mss);
        if let Some(s) = self.sack.as_deref_mut() {
            if let Some(fack) = s.board.high_sacked() {
                s.saw_late_delivery(prior, fack, mss);
            }
            let reneged = s.board.advance(una);
            s.una_rxt_mark = None;
            if reneged {
                s.forget_retransmissions(una);
                if self.snd_next.lt(self.snd_nxt) {
                    self.snd_next = una;
                }
            }
        }
    }

    /// Whether SACK recovery already retransmitted the segment at SND.UNA (it lies
    /// below HighRxt), so a partial ACK should move on to the next hole instead.
    pub(super) fn sack_retransmitted_una(&self) -> bool {
        self.sack.as_deref().is_some_and(|s| self.snd_una.lt(s.high_rxt) && !s.board.is_empty())
    }

    /// Whether the peer has SACKed data above SND.UNA.
    pub(super) fn sack_holds_data(&self) -> bool {
        self.options.sack_ok && self.sack.as_deref().is_some_and(|s| !s.board.is_empty())
    }

    /// SND.UNA may have been deemed lost by the scoreboard before the third duplicate
    /// ACK (RFC 6675 5).
    pub(super) fn sack_says_una_lost(&self) -> bool {
        self.sack
            .as_deref()
            .is_some_and(|s| !s.board.is_empty() && s.is_lost(self.snd_una, u32::from(self.mss)))
    }

    /// Fast recovery began (the congestion state has entered it): fast retransmit of
    /// SND.UNA (RFC 5681 3.2 step 2), every hole from SND.UNA up open to retransmission
    /// (HighRxt = SND.UNA), and no loss probe while it lasts (RFC 8985 7.2).
    ///
    /// HighRxt stays where it is if the recovery before this one already retransmitted
    /// past SND.UNA: it had resent holes beyond its recovery point, and ended when
    /// SND.UNA reached that point with those retransmissions still on their way; this
    /// one does not send them a second time. (In the simulator, CUBIC through a
    /// 300 KB drop-tail buffer on a 60 ms path sent 119 segments a third time when a
    /// new recovery reset HighRxt.) SND.UNA itself is sent again all the same: under
    /// heavy random loss its earlier retransmission is as likely lost as not, and
    /// waiting for the proof cost more timeouts than the one duplicate it may be.
    ///
    /// `prior` is the congestion state before it, kept while the recovery may still
    /// prove spurious ([`Conn::sack_check_spurious`]). ([`Conn::enter_fast_recovery`]
    /// when the congestion state has not entered it yet.)
    pub(super) fn begin_fast_recovery(&mut self, ctx: &mut Ctx<'_>, prior: Prior) {
        let una = self.snd_una;
        let tsval = self.options.ts_ok.then(|| self.options.ts_clock(ctx.now));
        if let Some(s) = self.sack.as_deref_mut() {
            if !una.lt(s.high_rxt) {
                s.high_rxt = una;
            }
            s.rxt_tsval = tsval;
            // Only a segment never retransmitted before can tell its original's ACK
            // from its retransmission's by time: an earlier retransmission may be
            // what arrives.
            s.undo = (!una.lt(s.rxt_max)).then(|| Undo::new(una, prior));
        }
        self.prr_begin(ctx.cfg.prr);
        self.probe_on_recovery(ctx);
        self.retransmit_una_in_recovery();
    }

    /// Fast recovery starts now, by the scoreboard rather than the duplicate ACK count:
    /// the congestion state enters it (RFC 5681 3.2 steps 2-3), then
    /// [`Conn::begin_fast_recovery`].
    pub(super) fn enter_fast_recovery(&mut self, ctx: &mut Ctx<'_>) {
        let prior = self.cc.enter_recovery(self.snd_nxt, self.flight());
        self.begin_fast_recovery(ctx, prior);
    }

    /// Fast recovery retransmits the segment at SND.UNA (fast retransmit, a partial
    /// ACK, or a lost retransmission).
    pub(super) fn retransmit_una_in_recovery(&mut self) {
        self.retransmit_una = true;
        if let Some(s) = self.sack.as_deref_mut() {
            s.una_rxt_mark = Some(self.snd_nxt);
        }
    }

    /// A partial ACK brought SND.UNA to a segment that recovery has already
    /// retransmitted as a hole: from now on, data sent after this ACK that is SACKed
    /// while SND.UNA is not shows that retransmission lost too
    /// ([`Conn::una_retransmission_lost`]), as for a fast retransmit. (The mark is
    /// later than the retransmission, so the proof comes a little late but is sound.)
    /// Without it a lost retransmission of a hole waited for the retransmission timer:
    /// a slow start overflowing a drop-tail queue drops retransmissions too, and each
    /// one left there cost an RTO and a new slow start.
    pub(super) fn sack_watch_una_resend(&mut self) {
        let nxt = self.snd_nxt;
        if let Some(s) = self.sack.as_deref_mut() {
            s.una_rxt_mark.get_or_insert(nxt);
        }
    }

    /// In fast recovery, whether the last retransmission of SND.UNA was lost too: data
    /// sent after it is SACKed ([`SackRecovery::resent_and_lost`]: RACK's detection
    /// of lost retransmissions, RFC 8985 6.2, by sequence numbers where it compares
    /// send times).
    pub(super) fn una_retransmission_lost(&self) -> bool {
        self.sack
            .as_deref()
            .is_some_and(|s| s.una_rxt_mark.is_some_and(|mark| s.resent_and_lost(mark, u32::from(self.mss))))
    }

    /// In fast recovery, queue the first hole above HighRxt that the scoreboard deems
    /// lost (RFC 6675 4, NextSeg rule 1: "the first unSACKed sequence number 'S2' ...
    /// greater than HighRxt ... and IsLost (S2) returns true"). One per ACK that brings
    /// news, so retransmissions stay clocked by departures.
    pub(super) fn sack_next_retransmission(&mut self) {
        let (una, mss, recovering) = (self.snd_una, u32::from(self.mss), self.cc.in_recovery());
        if let Some(s) = self.sack.as_deref_mut().filter(|s| recovering && !s.board.is_empty()) {
            s.rxt_hole = s.board.next_lost_hole(s.high_rxt.max(una), mss, s.reordering);
        }
    }

    /// Whether the peer SACKed the last octet of the current tail loss probe.
    pub(super) fn probe_sacked(&self) -> bool {
        let Some(end) = self.lp.end else { return false };
        self.sack.as_deref().is_some_and(|s| s.board.is_sacked(end - 1))
    }

    /// Whether a hole retransmission is queued (for `wants_output`).
    #[inline]
    pub(super) fn sack_hole_due(&self) -> bool {
        self.sack.as_deref().is_some_and(|s| s.rxt_hole.is_some())
    }

    /// The queued hole retransmission, if any.
    pub(super) fn take_sack_hole(&mut self) -> Option<(SeqNum, u32)> {
        self.sack.as_deref_mut().and_then(|s| s.rxt_hole.take())
    }

    /// A retransmission of `[seq, end)` left: HighRxt follows. The first of a fast
    /// recovery is its SND.UNA's, timed for [`Conn::sack_check_spurious`] (after a
    /// second, time proves nothing); each is recorded for
    /// [`Conn::dsack_check_spurious`].
    ///
    /// In a PRR recovery the retransmission spends its budget, and while budget is
    /// left the next hole the scoreboard deems lost is queued (RFC 6675 5 step (C):
    /// "If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit one or more segments",
    /// NextSeg's rule 1 first).
    pub(super) fn sack_retransmitted(&mut self, seq: SeqNum, end: SeqNum, now: Instant) {
        let Some(s) = self.sack.as_deref_mut() else { return };
        if let Some(u) = s.undo.as_mut() {
            u.retransmitted(seq, now);
        }
        if s.high_rxt.lt(end) {
            s.high_rxt = end;
        }
        if s.rxt_max.lt(end) {
            s.rxt_max = end;
        }
        if self.prr_sent(end.since(seq)) && self.cc.cwnd > self.flight() {
            self.sack_next_retransmission();
        }
    }

    /// The retransmission timer expired outside fast recovery with enough SACKed above
    /// SND.UNA that DupThresh 3 would have deemed it lost: a DupThresh raised for
    /// reordering held the repair of a real loss back until the timer. It returns to 3
    /// (as Linux's reordering metric does when a timeout finds that many SACKed).
    pub(super) fn sack_reordering_on_rto(&mut self) {
        let (una, mss, recovering) = (self.snd_una, u32::from(self.mss), self.cc.in_recovery());
        if let Some(s) = self.sack.as_deref_mut() {
            if s.reordering > DUP_THRESH && !recovering && s.board.is_lost(una, mss, DUP_THRESH) {
                s.reordering = DUP_THRESH;
            }
        }
    }

    /// The retransmission timer expired: forget the scoreboard (RFC 2018 8: the
    /// receiver may have reneged) and any recovery in progress.
    pub(super) fn sack_on_rto(&mut self) {
        let una = self.snd_una;
        if let Some(s) = self.sack.as_deref_mut() {
            // Everything from SND.UNA not SACKed goes again (go-back-N).
            s.forget_retransmissions(una);
        }
    }

    /// A resend from SND.UNA after a timeout (SND.NXT below the highest sequence
    /// sent, [`Conn::resend_from_una`]) skips what the receiver holds: moves SND.NXT
    /// past a SACKed range it has reached (no further than `data_end`, where the FIN
    /// goes), and returns where the next SACKed range starts, which the segment must
    /// not reach.
    ///
    /// The board outlives the timeout. RFC 2018 8 has the sender turn off its SACKed
    /// bits after a timeout (a SHOULD), since the receiver may have reneged; RFC 6675
    /// 5.1 notes the view since then that SACK information may be kept across a
    /// timeout where reneging is detected, and asks the sender to use all the SACK
    /// information that arrives in the recovery after it; RFC 8985 6.3 deems only
    /// un-SACKed segments lost when the timer fires. (Paraphrased: neither text is in
    /// `../shared`.) Reneging is detected here ([`Scoreboard::advance`]), and RFC 2018
    /// 8's MUST holds: the segment at SND.UNA is resent whether or not it is SACKed
    /// (`retransmit_una`). Without this, one timeout in slow start resent a whole
    /// window the receiver held: in the simulator, 4 MB over a 20 Mbit/s, 40 ms path
    /// with 2% random loss, one run sent 275 segments the client already had.
    ///
    /// Size: out of line and cold, so that `pick_data`, which every segment goes
    /// through, keeps only the test.
    #[cold]
    #[inline(never)]
    pub(super) fn skip_sacked(&mut self, data_end: SeqNum) -> Option<SeqNum> {
        let s = self.sack.as_deref()?;
        let (next, stop) = s.board.unsacked_from(self.snd_next);
        self.snd_next = if data_end.lt(next) { data_end } else { next };
        stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(l: u32, r: u32) -> SackBlock {
        SackBlock { left: SeqNum(l), right: SeqNum(r) }
    }

    #[test]
    fn blocks_merge_and_report_only_new_octets() {
        let mut s = Scoreboard::default();
        assert!(s.update(&[b(2000, 3000)], SeqNum(1000), SeqNum(9000)));
        assert!(!s.update(&[b(2000, 3000)], SeqNum(1000), SeqNum(9000)), "nothing new");
        assert!(s.update(&[b(3000, 4000), b(6000, 7000)], SeqNum(1000), SeqNum(9000)));
        assert_eq!(s.ranges(), &[(SeqNum(2000), SeqNum(4000)), (SeqNum(6000), SeqNum(7000))]);
        assert!(s.update(&[b(1500, 6500)], SeqNum(1000), SeqNum(9000)));
        assert_eq!(s.ranges(), &[(SeqNum(1500), SeqNum(7000))]);
    }

    #[test]
    fn dsack_and_bogus_blocks_are_ignored() {
        let mut s = Scoreboard::default();
        assert!(!s.update(&[b(500, 1000)], SeqNum(1000), SeqNum(9000)), "D-SACK below SND.UNA");
        assert!(!s.update(&[b(8000, 9500)], SeqNum(1000), SeqNum(9000)), "beyond SND.NXT");
        assert!(!s.update(&[b(3000, 3000)], SeqNum(1000), SeqNum(9000)), "empty");
        assert!(s.is_empty());
    }

    #[test]
    fn a_block_ending_more_than_2_31_after_its_start_is_ignored() {
        // Found by `the_board_matches_a_reference_model`: `left` is after SND.UNA,
        // `right` after `left` and not after SND.NXT - pairwise - yet `right` lies
        // before SND.UNA. The board took a range of 600 million octets, outside the
        // flight, and reported it as news (an RFC 6675 DupAck).
        let mut s = Scoreboard::default();
        let una = SeqNum(3_131_500_878);
        assert!(!s.update(&[b(383_129_094, 984_017_231)], una, una));
        assert!(!s.update(&[b(383_129_094, 984_017_231)], una, una + 1000));
        assert!(s.is_empty());
        // Either edge 2^31 away from SND.UNA is before it: a left edge clips to it.
        assert!(!s.update(&[b(una.0, una.0.wrapping_add(1 << 31))], una, una + 1000));
        assert!(s.update(&[b(una.0.wrapping_add(1 << 31), una.0 + 10)], una, una + 1000));
        assert_eq!(s.ranges(), &[(una, una + 10)]);
    }

    #[test]
    fn advancing_una_drops_the_ranges_below_it() {
        let mut s = Scoreboard::default();
        s.update(&[b(2000, 3000), b(4000, 5000)], SeqNum(1000), SeqNum(9000));
        assert!(!s.advance(SeqNum(1500)), "a hole below the ranges: no reneging");
        assert_eq!(s.ranges(), &[(SeqNum(2000), SeqNum(3000)), (SeqNum(4000), SeqNum(5000))]);
        assert!(!s.advance(SeqNum(3500)));
        assert_eq!(s.ranges(), &[(SeqNum(4000), SeqNum(5000))]);
        assert!(!s.advance(SeqNum(5000)));
        assert!(s.is_empty());
    }

    #[test]
    fn una_stopping_at_or_inside_a_sacked_range_means_the_receiver_reneged() {
        // RFC 2018 8: a receiver may discard data it SACKed. One that held [2000, 3000)
        // and everything below 2000 would have acknowledged 3000.
        for una in [2000, 2500, 2999] {
            let mut s = Scoreboard::default();
            s.update(&[b(2000, 3000), b(4000, 5000)], SeqNum(1000), SeqNum(9000));
            assert!(s.advance(SeqNum(una)), "SND.UNA {una}");
            assert!(s.is_empty(), "SND.UNA {una}: nothing SACKed is trusted any more");
        }
    }

    #[test]
    fn a_resend_skips_sacked_ranges_and_stops_short_of_the_next() {
        let mut s = Scoreboard::default();
        s.update(&[b(2000, 3000), b(4000, 5000)], SeqNum(1000), SeqNum(9000));
        assert_eq!(s.unsacked_from(SeqNum(1000)), (SeqNum(1000), Some(SeqNum(2000))));
        assert_eq!(s.unsacked_from(SeqNum(2000)), (SeqNum(3000), Some(SeqNum(4000))));
        assert_eq!(s.unsacked_from(SeqNum(2999)), (SeqNum(3000), Some(SeqNum(4000))));
        assert_eq!(s.unsacked_from(SeqNum(3500)), (SeqNum(3500), Some(SeqNum(4000))));
        assert_eq!(s.unsacked_from(SeqNum(4500)), (SeqNum(5000), None));
        assert_eq!(s.unsacked_from(SeqNum(6000)), (SeqNum(6000), None));
    }

    #[test]
    fn a_full_board_keeps_the_lowest_ranges() {
        let mut s = Scoreboard::default();
        for i in 0..RANGES as u32 + 4 {
            s.update(&[b(10_000 + i * 2000, 11_000 + i * 2000)], SeqNum(1000), SeqNum(100_000));
        }
        assert_eq!(s.ranges().len(), RANGES);
        assert_eq!(s.ranges()[0], (SeqNum(10_000), SeqNum(11_000)));
        // A lower range still gets in, pushing the highest out.
        assert!(s.update(&[b(2000, 3000)], SeqNum(1000), SeqNum(100_000)));
        assert_eq!(s.ranges()[0], (SeqNum(2000), SeqNum(3000)));
        assert_eq!(s.ranges().len(), RANGES);
        // A range above them all does not.
        assert!(!s.update(&[b(90_000, 91_000)], SeqNum(1000), SeqNum(100_000)));
    }

    #[test]
    fn is_lost_needs_three_ranges_or_more_than_two_segments_above() {
        let mut s = Scoreboard::default();
        s.update(&[b(2000, 4000)], SeqNum(1000), SeqNum(9000));
        assert!(!s.is_lost(SeqNum(1000), 1000, DUP_THRESH), "exactly 2 SMSS above is not more than 2");
        s.update(&[b(4000, 4001)], SeqNum(1000), SeqNum(9000));
        assert!(s.is_lost(SeqNum(1000), 1000, DUP_THRESH));
        let mut t = Scoreboard::default();
        t.update(&[b(2000, 2100), b(3000, 3100), b(4000, 4100)], SeqNum(1000), SeqNum(9000));
        assert!(t.is_lost(SeqNum(1000), 1000, DUP_THRESH), "three discontiguous ranges");
        assert!(!t.is_lost(SeqNum(2500), 1000, DUP_THRESH), "two above");
        let mut u = Scoreboard::default();
        u.update(&[b(2000, 6000)], SeqNum(1000), SeqNum(9000));
        assert!(u.is_lost(SeqNum(2500), 1000, DUP_THRESH), "3500 octets of a straddling range lie above");
        assert!(!u.is_lost(SeqNum(4000), 1000, DUP_THRESH), "2000 above: not more than 2 SMSS");
    }

    #[test]
    fn next_lost_hole_walks_the_holes_in_order() {
        let mut s = Scoreboard::default();
        s.update(&[b(2000, 3000), b(4000, 5000), b(6000, 9000)], SeqNum(1000), SeqNum(9000));
        assert_eq!(s.next_lost_hole(SeqNum(1000), 1000, DUP_THRESH), Some((SeqNum(1000), 1000)));
        assert_eq!(s.next_lost_hole(SeqNum(2000), 1000, DUP_THRESH), Some((SeqNum(3000), 1000)));
        assert_eq!(s.next_lost_hole(SeqNum(3500), 300, DUP_THRESH), Some((SeqNum(3500), 300)));
        assert_eq!(s.next_lost_hole(SeqNum(5000), 1000, DUP_THRESH), Some((SeqNum(5000), 1000)));
        assert_eq!(s.next_lost_hole(SeqNum(6000), 1000, DUP_THRESH), None, "no hole above the last range");
        assert!(s.is_sacked(SeqNum(4500)) && !s.is_sacked(SeqNum(5500)) && !s.is_sacked(SeqNum(9000)));
    }

    // ----- a randomised check against a reference model -----------------------------

    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Octets in flight at most, so that the model stays small.
    const MAX_FLIGHT: u64 = 320;

    /// One end of a SACK block as the hostile peer picks it.
    #[derive(Clone, Copy, Debug)]
    enum End {
        /// An offset from SND.UNA: below it (D-SACK), within the flight, or beyond
        /// SND.NXT.
        Rel(i32),
        /// SND.NXT exactly.
        Nxt,
        /// Anywhere in the sequence space (wrapped, 2^31 away, ...).
        Abs(u32),
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// The blocks of one ACK (empty, reversed, overlapping: whatever arrives).
        Update(Vec<(End, End)>),
        /// SND.UNA moves up by this much (capped at SND.NXT).
        Advance(u16),
        /// New data goes out: SND.NXT moves up (capped at `MAX_FLIGHT` in flight).
        Send(u16),
        /// `next_lost_hole(from, mss, thresh)` with `from` this far above SND.UNA.
        Hole(u16, u32, u32),
    }

    fn end() -> impl Strategy<Value = End> {
        prop_oneof![
            6 => (-80i32..(MAX_FLIGHT as i32 + 80)).prop_map(End::Rel),
            1 => Just(End::Nxt),
            1 => Just(End::Rel(0)),
            1 => any::<u32>().prop_map(End::Abs),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => proptest::collection::vec((end(), end()), 0..=4).prop_map(Op::Update),
            1 => (0u16..120).prop_map(Op::Advance),
            2 => (0u16..200).prop_map(Op::Send),
            2 => (0u16..340, 1u32..80, DUP_THRESH..8).prop_map(|(f, m, t)| Op::Hole(f, m, t)),
        ]
    }

    /// The reference: the set of SACKed octets, as offsets from the first SND.UNA.
    struct Model {
        base: u32,
        una: u64,
        nxt: u64,
        sacked: BTreeSet<u64>,
    }

    impl Model {
        fn seq(&self, off: u64) -> SeqNum {
            SeqNum(self.base.wrapping_add(off as u32))
        }

        /// Maximal runs of SACKed octets, lowest first, as offsets `[l, r)`.
        fn runs(&self) -> Vec<(u64, u64)> {
            let mut out: Vec<(u64, u64)> = Vec::new();
            for &o in &self.sacked {
                match out.last_mut() {
                    Some(last) if last.1 == o => last.1 = o + 1,
                    _ => out.push((o, o + 1)),
                }
            }
            out
        }

        /// One block: clipped to SND.UNA below, ignored if empty or beyond SND.NXT;
        /// then only the lowest `RANGES` runs are kept. Whether an octet became SACKed.
        fn block(&mut self, left: SeqNum, right: SeqNum) -> bool {
            let una = self.seq(self.una);
            // Offsets in sequence space, signed: RFC 9293 3.4 comparisons.
            let off = |x: SeqNum| i64::from(x.0.wrapping_sub(una.0) as i32);
            let (lo, hi) = (off(left).max(0), off(right));
            let flight = (self.nxt - self.una) as i64;
            if lo >= hi || hi > flight {
                return false;
            }
            let before = self.sacked.clone();
            for o in lo..hi {
                self.sacked.insert(self.una + o as u64);
            }
            for (l, r) in self.runs().into_iter().skip(RANGES) {
                for o in l..r {
                    self.sacked.remove(&o);
                }
            }
            self.sacked.difference(&before).next().is_some()
        }

        fn is_lost(&self, s: u64, mss: u32, thresh: u32) -> bool {
            let above: Vec<(u64, u64)> = self.runs().into_iter().filter(|&(_, r)| r > s).collect();
            let bytes: u64 = above.iter().map(|&(l, r)| r - l.max(s)).sum();
            above.len() >= thresh as usize || bytes > u64::from((thresh - 1) * mss)
        }

        /// IsLost as in [`Model::is_lost`], with the runs listed once: for the walks
        /// over every octet below.
        fn lost_test(&self, mss: u32, thresh: u32) -> impl Fn(u64) -> bool {
            let runs = self.runs();
            move |s: u64| {
                let above = runs.iter().filter(|&&(_, r)| r > s);
                let (n, bytes) = above.fold((0usize, 0u64), |(n, b), &(l, r)| (n + 1, b + r - l.max(s)));
                n >= thresh as usize || bytes > u64::from((thresh - 1) * mss)
            }
        }

        /// RFC 6675's SetPipe, octet by octet, as its text reads.
        fn pipe(&self, high_rxt: u64, mss: u32, thresh: u32) -> u32 {
            let is_lost = self.lost_test(mss, thresh);
            (self.una..self.nxt)
                .filter(|o| !self.sacked.contains(o))
                .map(|o| u32::from(!is_lost(o)) + u32::from(o < high_rxt))
                .sum()
        }

        /// One past the highest unSACKed octet IsLost deems lost: the first SACKed
        /// octet above it.
        fn lost_end(&self, mss: u32, thresh: u32) -> Option<u64> {
            let is_lost = self.lost_test(mss, thresh);
            let top = (self.una..self.nxt).rev().find(|&o| !self.sacked.contains(&o) && is_lost(o))?;
            self.sacked.range(top..).next().copied()
        }

        /// The first unSACKed octet at or above `o`, and the first SACKed one above
        /// that.
        fn unsacked_from(&self, o: u64) -> (u64, Option<u64>) {
            let first = (o..).find(|x| !self.sacked.contains(x)).unwrap_or(o);
            (first, self.sacked.range(first..).next().copied())
        }

        /// The first unSACKed octet at or above `from` with SACKed data above it, if
        /// IsLost holds for it: its offset and the hole's length up to `mss`.
        fn next_lost_hole(&self, from: u64, mss: u32, thresh: u32) -> Option<(u64, u32)> {
            let top = self.sacked.iter().next_back()?;
            let s = (from..*top).find(|o| !self.sacked.contains(o))?;
            if !self.is_lost(s, mss, thresh) {
                return None;
            }
            let end = (s..*top).find(|o| self.sacked.contains(o)).unwrap_or(*top);
            Some((s, ((end - s) as u32).min(mss)))
        }
    }

    fn check(board: &Scoreboard, m: &Model) -> Result<(), TestCaseError> {
        let (una, nxt) = (m.seq(m.una), m.seq(m.nxt));
        let got = board.ranges();
        prop_assert!(got.len() <= RANGES, "{} ranges", got.len());
        for w in got.windows(2) {
            // Sorted, disjoint and not adjacent (adjacent ranges are merged).
            prop_assert!(w[0].1.lt(w[1].0), "ranges {:?} not sorted, disjoint, apart", got);
        }
        for &(l, r) in got {
            prop_assert!(l.lt(r), "empty or reversed range {:?}", (l, r));
            prop_assert!(una.le(l) && r.le(nxt), "range {:?} outside [{una:?}, {nxt:?}]", (l, r));
        }
        let want: Vec<(SeqNum, SeqNum)> = m.runs().into_iter().map(|(l, r)| (m.seq(l), m.seq(r))).collect();
        prop_assert_eq!(got, &want[..], "the board holds exactly the model's octets");
        prop_assert_eq!(board.is_empty(), want.is_empty());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Random SACK block sets from a hostile peer (wrapped sequence numbers, blocks
        /// beyond SND.NXT, below SND.UNA, overlapping, empty, reversed) interleaved with
        /// SND.UNA and SND.NXT moving: the board is exactly the reference model's set of
        /// SACKed octets, within its invariants; `update` reports news exactly when an
        /// octet became SACKed; `next_lost_hole` names a lost unSACKed hole in bounds.
        #[test]
        fn the_board_matches_a_reference_model(
            base in prop_oneof![any::<u32>(), (0u32..2000).prop_map(|d| 0u32.wrapping_sub(d))],
            flight in 0u64..=MAX_FLIGHT,
            ops in proptest::collection::vec(op(), 1..40),
        ) {
            let mut board = Scoreboard::default();
            let mut m = Model { base, una: 0, nxt: flight, sacked: BTreeSet::new() };
            for op in ops {
                match op {
                    Op::Update(ends) => {
                        let una = m.seq(m.una);
                        let resolve = |e: End| match e {
                            End::Rel(d) => SeqNum(una.0.wrapping_add(d as u32)),
                            End::Nxt => m.seq(m.nxt),
                            End::Abs(x) => SeqNum(x),
                        };
                        let blocks: Vec<SackBlock> = ends
                            .iter()
                            .map(|&(l, r)| SackBlock { left: resolve(l), right: resolve(r) })
                            .collect();
                        let before = m.sacked.clone();
                        let news = blocks.iter().fold(false, |n, b| m.block(b.left, b.right) | n);
                        let low = board.merge(&blocks, una, m.seq(m.nxt));
                        let got = low.is_some();
                        prop_assert_eq!(got, news, "update({:?}) news", blocks);
                        // The same, from the outside: news iff an octet is SACKed now
                        // that was not before; and `merge` names the lowest of them (or
                        // one lower still that a later block pushed off a full board).
                        let lowest = m.sacked.difference(&before).next().map(|&o| m.seq(o));
                        prop_assert_eq!(got, lowest.is_some());
                        if let (Some(low), Some(lowest)) = (low, lowest) {
                            prop_assert!(low.le(lowest), "merge says {:?}, lowest new {:?}", low, lowest);
                            prop_assert!(!board.is_sacked(low) || low == lowest, "{:?} was SACKed before", low);
                        }
                    }
                    Op::Advance(n) => {
                        m.una = (m.una + u64::from(n)).min(m.nxt);
                        let una = m.una;
                        m.sacked.retain(|&o| o >= una);
                        // SND.UNA on a SACKed octet: the receiver reneged, nothing
                        // SACKed is trusted any more.
                        let reneged = m.sacked.contains(&una);
                        if reneged {
                            m.sacked.clear();
                        }
                        prop_assert_eq!(board.advance(m.seq(m.una)), reneged, "advance(+{})", n);
                    }
                    Op::Send(n) => m.nxt = (m.nxt + u64::from(n)).min(m.una + MAX_FLIGHT),
                    Op::Hole(f, mss, thresh) => {
                        let from = m.una + u64::from(f).min(m.nxt - m.una);
                        let got = board.next_lost_hole(m.seq(from), mss, thresh);
                        let want = m.next_lost_hole(from, mss, thresh).map(|(s, n)| (m.seq(s), n));
                        prop_assert_eq!(got, want, "next_lost_hole(+{}, {}, {})", from - m.una, mss, thresh);
                        if let Some((s, n)) = got {
                            let off = u64::from(s.0.wrapping_sub(m.seq(0).0));
                            prop_assert!(off >= from && off >= m.una && n >= 1 && n <= mss);
                            prop_assert!(off + u64::from(n) <= m.nxt, "hole beyond SND.NXT");
                            prop_assert!((off..off + u64::from(n)).all(|o| !m.sacked.contains(&o)));
                            prop_assert!(board.is_lost(s, mss, thresh));
                        }
                        // SetPipe with HighRxt at `from` (below SND.UNA when `f` is 0
                        // and SND.UNA has moved: then nothing counts as retransmitted).
                        let high_rxt = if f == 0 { 0 } else { from };
                        let got = board.pipe(m.seq(m.una), m.seq(m.nxt), m.seq(high_rxt), mss, thresh);
                        prop_assert_eq!(got.bytes, m.pipe(high_rxt, mss, thresh), "pipe(HighRxt +{})", from - m.una);
                        let want = m.lost_end(mss, thresh).map(|o| m.seq(o));
                        prop_assert_eq!(got.lost_end, want, "the end of the lost holes");
                        prop_assert_eq!(got.sacked as usize, m.sacked.len());
                        prop_assert_eq!(board.sacked_bytes() as usize, m.sacked.len());
                        // IsLost and the resend's skip at SND.UNA, `from`, and either
                        // side of every range edge.
                        let edges = m.runs().into_iter().flat_map(|(l, r)| [l.saturating_sub(1), l, r - 1, r]);
                        for o in [m.una, from].into_iter().chain(edges).filter(|&o| o >= m.una) {
                            let (got, want) = (board.is_lost(m.seq(o), mss, thresh), m.is_lost(o, mss, thresh));
                            prop_assert_eq!(got, want, "is_lost(+{}, {}, {})", o - m.una, mss, thresh);
                            let (got, want) = (board.unsacked_from(m.seq(o)), m.unsacked_from(o));
                            let want = (m.seq(want.0), want.1.map(|x| m.seq(x)));
                            prop_assert_eq!(got, want, "unsacked_from(+{})", o - m.una);
                        }
                    }
                }
                check(&board, &m)?;
                // SetPipe after every step, where the count of ranges decides IsLost
                // (large segments) and where the octets do (one-octet segments).
                for (mss, thresh) in [(1000, DUP_THRESH), (1000, DUP_THRESH + 1), (1, DUP_THRESH)] {
                    let high_rxt = m.una + (m.nxt - m.una) / 2;
                    let got = board.pipe(m.seq(m.una), m.seq(m.nxt), m.seq(high_rxt), mss, thresh);
                    prop_assert_eq!(got.bytes, m.pipe(high_rxt, mss, thresh), "pipe({}, {})", mss, thresh);
                    prop_assert_eq!(got.lost_end, m.lost_end(mss, thresh).map(|o| m.seq(o)));
                }
            }
        }
    }
}
