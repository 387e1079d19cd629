//! Telling a spurious fast recovery from a real one, and undoing it: the congestion
//! state it reduced goes back to what it was (RFC 4015's response), and DupThresh
//! rises to the reordering it showed. Three detections, each paraphrased from an RFC
//! whose text is not in `../shared`:
//! - time (RFC 8985 6.2): the ACK of the retransmitted segment comes sooner than any
//!   round trip could bring it ([`Conn::sack_check_spurious`]);
//! - timestamps (RFC 3522, Eifel): that ACK echoes the original's TSval, not the
//!   retransmission's ([`SackRecovery::echoes_original`]); the same test keeps a
//!   partial ACK for a late original from resending the window
//!   ([`Conn::sack_ack_echoes_original`]);
//! - D-SACKs (RFC 3708): the peer reports every retransmission of the recovery as a
//!   duplicate ([`Conn::dsack_check_spurious`]).
//!
//! The record lives in the connection's boxed [`SackRecovery`], so a connection that
//! never saw a SACK block carries none of it.

use super::cc::Prior;
use super::options::echoes_before;
use super::scoreboard::SackRecovery;
use super::{Conn, Ctx};
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use crate::wire::TcpHeader;

/// A fast recovery that may still prove spurious, with what it needs to be undone:
/// by an early ACK while it has retransmitted nothing but the segment at its SND.UNA
/// ([`Conn::sack_check_spurious`]), or once the peer has reported every one of its
/// retransmissions as a duplicate ([`Conn::dsack_check_spurious`]).
#[derive(Debug, Clone)]
pub(super) struct Undo {
    /// SND.UNA when it began: the segment retransmitted first.
    una: SeqNum,
    /// When that retransmission left (`None`: not yet).
    sent: Option<Instant>,
    /// When its latest retransmission left.
    last: Option<Instant>,
    /// Where the first ACK covering `una` found the data SACKed above it (`None`:
    /// none came yet): how deep the reordering was, if the recovery was spurious.
    reach: Option<SeqNum>,
    /// Its retransmissions not yet reported as duplicates.
    resent: Resent,
    /// The congestion state before the recovery reduced it.
    prior: Prior,
}

impl Undo {
    /// The record of a fast recovery that begins at SND.UNA `una` with the congestion
    /// state `prior`.
    pub(super) fn new(una: SeqNum, prior: Prior) -> Self {
        Undo { una, sent: None, last: None, reach: None, resent: Resent::default(), prior }
    }

    /// A retransmission from `seq` left at `now`. The first is the one the time test
    /// of [`Conn::sack_check_spurious`] measures from.
    pub(super) fn retransmitted(&mut self, seq: SeqNum, now: Instant) {
        self.sent.get_or_insert(now);
        self.last = Some(now);
        self.resent.push(seq);
    }

    /// Whether an ACK at `now` came sooner after the first retransmission than
    /// `min_rtt`, the smallest round trip measured (or before it left at all).
    fn sooner_than_a_round_trip(&self, now: Instant, min_rtt: Option<Duration>) -> bool {
        match (self.sent, min_rtt) {
            (None, _) => true,
            (Some(sent), Some(min)) => now.saturating_since(sent) < min,
            (Some(_), None) => false,
        }
    }
}

/// Retransmissions a recovery may undo by D-SACK at most. One that retransmits more
/// was not reordering: that many holes at once are losses.
const UNDO_RESENT: usize = 16;

/// The start of each retransmission of a recovery that the peer has not reported as
/// a duplicate yet, in the order they left (a segment sent again twice is there
/// twice). RFC 3708 (paraphrased; its text is not in `../shared`) detects a spurious
/// retransmission by the D-SACK (RFC 2883) it draws: the receiver got the segment twice.
/// A recovery all of whose retransmissions drew one was not needed at all.
#[derive(Debug, Clone, Default)]
struct Resent {
    starts: [SeqNum; UNDO_RESENT],
    len: u8,
    /// Retransmissions recorded, reported or not (at most [`UNDO_RESENT`] + 1).
    total: u8,
    /// More retransmissions than [`UNDO_RESENT`]: no longer undoable.
    overflow: bool,
}

impl Resent {
    /// A retransmission from `seq` left.
    fn push(&mut self, seq: SeqNum) {
        self.total = self.total.saturating_add(1);
        match self.starts.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = seq;
                self.len += 1;
            }
            None => self.overflow = true,
        }
    }

    /// A D-SACK reported `[left, right)` received twice: one retransmission of each
    /// segment starting there is accounted for. (One only: a segment sent three times
    /// that drew one D-SACK arrived twice, which may have been its two
    /// retransmissions.)
    fn report(&mut self, left: SeqNum, right: SeqNum) {
        let mut done = [SeqNum(0); UNDO_RESENT];
        let mut n = 0;
        let mut i = 0;
        while i < usize::from(self.len) {
            let seq = self.starts[i];
            if left.le(seq) && seq.lt(right) && !done[..n].contains(&seq) {
                done[n] = seq;
                n += 1;
                self.starts.copy_within(i + 1..usize::from(self.len), i);
                self.len -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// Whether every retransmission recorded has been reported a duplicate.
    fn all_reported(&self) -> bool {
        self.len == 0 && !self.overflow
    }
}

impl SackRecovery {
    /// Whether the ACK `hdr` was sent for a segment sent before the latest
    /// fast recovery's first retransmission left. RFC 3522's Eifel detection
    /// (paraphrased; its text is not in `../shared`): an ACK of a retransmitted segment
    /// that echoes a timestamp older than the one the retransmission carried was sent
    /// for the original - the receiver echoes the TSval of the segment that filled its
    /// hole (RFC 7323 4.3).
    pub(super) fn echoes_original(&self, hdr: &TcpHeader) -> bool {
        self.rxt_tsval.is_some_and(|v| echoes_before(hdr, v))
    }
}

impl Conn {
    /// Count an acceptable ACK whose first SACK block is a D-SACK (RFC 2883 4,
    /// paraphrased: the first block reports the duplicate segment that triggered the
    /// ACK; data below the cumulative ACK lies below it, and a duplicate of data queued
    /// above it lies within the second block, which reports that larger block). RFC
    /// 3708 2 counts such reports to tell how many retransmissions were not needed.
    ///
    /// Each one may complete the proof that a fast recovery was spurious
    /// ([`Conn::dsack_check_spurious`]).
    ///
    /// Size: the common ACK carries no block and returns at the test.
    #[inline]
    pub(super) fn count_dsack(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        let blocks = hdr.options.sack_blocks();
        if let (true, Some(first)) = (self.options.sack_ok, blocks.first()) {
            let below_ack = first.right.le(hdr.ack);
            let within_second =
                blocks.get(1).is_some_and(|b| b.left.le(first.left) && first.right.le(b.right));
            if first.left.lt(first.right) && (below_ack || within_second) {
                ctx.sinks.stats.dsacks_received += 1;
                if self.sack.as_deref().is_some_and(|s| s.undo.is_some()) {
                    self.dsack_check_spurious(ctx, first.left, first.right, hdr.ack);
                }
            }
        }
    }

    /// A D-SACK reported `[left, right)` received twice, on an ACK of `ack`, while a
    /// fast recovery may still prove spurious: the retransmissions it covers are
    /// accounted for, and once every retransmission of the recovery is, none was
    /// needed (RFC 3708's detection, paraphrased: a retransmission the receiver
    /// reports as a duplicate was spurious). The recovery is then undone as
    /// [`Conn::sack_check_spurious`] undoes one (RFC 4015).
    ///
    /// Bounds:
    /// - Only retransmissions count: a D-SACK for a segment sent once (a duplicate the
    ///   network made) accounts for none.
    /// - A D-SACK comes about a round trip after the retransmission it reports. One
    ///   that comes more than an RTO after the recovery's last retransmission ends the
    ///   record instead: the window has lived on since, and a copy the network made
    ///   could complete a proof that no round trip of D-SACKs did.
    /// - Anything else that reduces the window ends the record too: a timeout
    ///   ([`SackRecovery::forget_retransmissions`]), an ECN-Echo
    ///   ([`Conn::sack_forget_undo`]). A tail loss probe that retransmitted is one of
    ///   the record's retransmissions like any other: if it repaired a loss it draws no
    ///   D-SACK, and the record never completes.
    ///
    /// A copy the network made of a retransmission whose original was lost draws a
    /// D-SACK too, which this cannot tell from a late original's (RFC 3708 notes the
    /// same limit). Eifel detection would, but a D-SACK echoes whichever copy came
    /// last.
    #[cold]
    #[inline(never)]
    fn dsack_check_spurious(&mut self, ctx: &mut Ctx<'_>, left: SeqNum, right: SeqNum, ack: SeqNum) {
        let rto = self.rtt.rto();
        let Some(s) = self.sack.as_deref_mut() else { return };
        let Some(u) = s.undo.as_mut() else { return };
        if u.last.is_some_and(|last| ctx.now.saturating_since(last) > rto) {
            s.undo = None;
            return;
        }
        u.resent.report(left, right);
        if u.sent.is_none() || !u.resent.all_reported() {
            return;
        }
        let Some(u) = s.undo.take() else { return };
        self.undo_recovery(ctx, u.una, u.reach.unwrap_or(ack), u.prior);
        ctx.sinks.stats.recoveries_undone_by_dsack += 1;
    }

    /// A reduction of the window outside fast recovery (an ECN-Echo): the recovery
    /// before it can no longer be undone, for that would undo this one too.
    pub(super) fn sack_forget_undo(&mut self) {
        if let Some(s) = self.sack.as_deref_mut() {
            s.undo = None;
        }
    }

    /// The ACK `hdr` is the first to cover the segment fast recovery retransmitted
    /// first, and nothing else was retransmitted since: if it came sooner after that
    /// retransmission than the smallest round trip measured (or before it left), it
    /// acknowledges the original, which the network delayed past the data behind it.
    /// RFC 8985 6.2 (paraphrased) takes an ACK that comes sooner than the minimum RTT
    /// after a retransmission for the original's; RFC 3522 detects the same with
    /// timestamps. The recovery was spurious: it is undone (RFC 4015), with
    /// DupThresh raised to the depth of that reordering. Without this, NewReno's
    /// partial ACK rule (RFC 6582 3.2 step 5) resends the rest of the window one
    /// segment per ACK as its originals arrive: in the simulator, a download on which
    /// 1% of segments were held back 5 ms sent 19,528 needless retransmissions in
    /// eight runs of 2,760 segments (`examples/reorder_table.rs`).
    pub(super) fn sack_check_spurious(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        let (una, min_rtt) = (hdr.ack, self.rtt.min_rtt());
        let Some(s) = self.sack.as_deref_mut() else { return };
        // Eifel detection ([`SackRecovery::echoes_original`]) tells late originals
        // from repairs however late they come, where the time test only sees those
        // that come sooner than a round trip.
        let echoes_original = s.echoes_original(hdr);
        let Some(u) = s.undo.as_mut().filter(|u| u.reach.is_none() && u.una.lt(una)) else { return };
        let early = u.resent.total <= 1 && (echoes_original || u.sooner_than_a_round_trip(ctx.now, min_rtt));
        let reach = s.board.high_sacked().filter(|f| una.lt(*f)).unwrap_or(una);
        if !early {
            // Not proven spurious by time: D-SACKs may still prove it
            // ([`Conn::dsack_check_spurious`]), and this is how deep the reordering was.
            u.reach = Some(reach);
            return;
        }
        let Some(u) = s.undo.take() else { return };
        self.undo_recovery(ctx, u.una, reach, u.prior);
    }

    /// Undo the fast recovery that began at `una` with the congestion state `prior`:
    /// it was reordering, data up to `reach` arriving before `una` did. DupThresh rises
    /// to that depth, nothing more is retransmitted for the recovery, and the window
    /// and ssthresh return to their values before it (RFC 4015, `Congestion::undo`).
    fn undo_recovery(&mut self, ctx: &mut Ctx<'_>, una: SeqNum, reach: SeqNum, prior: Prior) {
        let mss = u32::from(self.mss);
        if let Some(s) = self.sack.as_deref_mut() {
            s.raise_reordering(una, reach, mss);
            s.rxt_hole = None;
            s.una_rxt_mark = None;
        }
        self.retransmit_una = false;
        self.cc.undo(prior);
        ctx.sinks.stats.recoveries_undone += 1;
    }

    /// Whether the ACK `hdr` was sent for an original segment sent before
    /// the fast recovery's first retransmission: it echoes an older timestamp than
    /// that retransmission carried (RFC 3522's Eifel detection, paraphrased). Such an
    /// ACK shows late data arriving, not a repair: a partial ACK of that kind is no
    /// evidence that the segment at the new SND.UNA was lost (RFC 6582 3.2 step 5's
    /// inference assumes the ACK answers the retransmission).
    pub(super) fn sack_ack_echoes_original(&self, hdr: &TcpHeader) -> bool {
        self.sack.as_deref().is_some_and(|s| s.echoes_original(hdr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3708's accounting: each D-SACK accounts for one retransmission of each
    /// segment it covers, so a segment sent again twice needs two.
    #[test]
    fn each_dsack_accounts_for_one_retransmission_of_each_segment_it_covers() {
        let mut r = Resent::default();
        for seq in [0, 4000, 0] {
            r.push(SeqNum(seq));
        }
        r.report(SeqNum(0), SeqNum(5000));
        assert!(!r.all_reported(), "the second resend of 0 is unaccounted for");
        assert_eq!(&r.starts[..usize::from(r.len)], &[SeqNum(0)]);
        r.report(SeqNum(1000), SeqNum(4000));
        assert!(!r.all_reported(), "a block that covers no start accounts for nothing");
        r.report(SeqNum(0), SeqNum(1000));
        assert!(r.all_reported());
        assert_eq!(r.total, 3);
    }

    #[test]
    fn more_retransmissions_than_the_record_holds_are_never_all_reported() {
        let mut r = Resent::default();
        for k in 0..=UNDO_RESENT as u32 {
            r.push(SeqNum(k * 1000));
        }
        r.report(SeqNum(0), SeqNum(100_000));
        assert!(!r.all_reported());
    }
}
