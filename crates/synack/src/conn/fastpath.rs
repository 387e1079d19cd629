//! Header prediction: the receive fast path for the two segments a bulk transfer is
//! made of (Van Jacobson's "header prediction", the fast path of BSD's `tcp_input` and
//! of Linux's `tcp_rcv_established`).
//!
//! In ESTABLISHED, a segment that carries only ACK (and perhaps PSH), starts at RCV.NXT,
//! carries no SACK blocks and, when timestamps are in use, a TSval no older than
//! TS.Recent, is one of:
//! - a pure ACK of new data (SND.UNA < SEG.ACK =< SND.NXT, no text), on the sender;
//! - the next in-order data (SEG.ACK = SND.UNA, no new acknowledgment) that fits in the
//!   receive buffer, with nothing held out of order and no FIN, on the receiver.
//!
//! For those, most of RFC 9293 3.10.7.4's checks are decided by the prediction itself;
//! [`Conn::fast_path`] skips them and runs only the steps that do something, through
//! the same functions the full processing uses (`input.rs`), in the same order. The
//! resulting state, events, timers and output are therefore exactly those of the full
//! processing - which `tests/fastpath.rs` checks by running the same traffic with
//! [`crate::Config::header_prediction`] on and off. Every other segment, and every
//! prediction that fails, goes the full way with nothing changed.
//!
//! When the application lent its buffer (`Stack::handle_packet_into`) and the receive
//! buffer is empty, the next in-order data is predicted before anything else is done
//! with the segment ([`Conn::predicts_direct`]): the stack then copies the text into
//! the application's buffer, verifies the checksum and processes the segment
//! ([`Conn::commit_direct`]) in one go, the receive express path.

use super::{Conn, Ctx};
use crate::state::State;
use crate::wire::{TcpFlags, TcpHeader};

/// The flags a predicted segment may carry: ACK, and PSH, which synack's receive side
/// does not act on either way (RFC 9293 3.9.1.3: "A TCP receiver MAY pass a received
/// PSH bit to the application layer via the PUSH flag in the interface (MAY-17), but
/// it is not required"; synack makes data readable as it arrives).
const PREDICTED_FLAGS_MASK: u8 = !TcpFlags::PSH.0;

impl Conn {
    /// Process `hdr` by header prediction if it is one of the predicted segments (see
    /// the module documentation) and return true; return false, having changed
    /// nothing, for every other segment.
    ///
    /// Which steps of RFC 9293 3.10.7.4 ("Otherwise", ESTABLISHED) are short-cut, and
    /// why their result is the one the full processing (`on_segment_synchronized`)
    /// reaches:
    /// - RFC 7323 5.3 R1 (PAWS, before the first step): `paws_surely_passes` accepts
    ///   only segments with no timestamps negotiated, or SEG.TSval >= TS.Recent, for
    ///   which `paws_rejects` returns false and changes nothing.
    /// - "First, check sequence number": SEG.SEQ = RCV.NXT. A zero-length segment is
    ///   then acceptable whatever RCV.WND (Table 6: "SEG.SEQ = RCV.NXT" for a zero
    ///   window, "RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND" otherwise); one with text is
    ///   when RCV.WND > 0, which is checked. No trimming is needed: the text starts at
    ///   RCV.NXT and fits in the free buffer (checked). The RFC 7323 updates that
    ///   follow an acceptable segment run as in the full processing
    ///   (`timestamps_update`).
    /// - "Second, check the RST bit", "Fourth, check the SYN bit": neither is set.
    ///   ("Third, check the security": not processed by synack, either way.)
    /// - "Fifth, check the ACK field": ACK is set; the state is ESTABLISHED, not
    ///   SYN-RECEIVED; SEG.ACK =< SND.NXT and the RFC 5961 5 lower bound hold
    ///   (checked). For an ACK of new data, "If SND.UNA < SEG.ACK =< SND.NXT, then set
    ///   SND.UNA <- SEG.ACK ..." runs as `ack_new_data`; no SACK blocks and no recovery
    ///   in progress mean no partial-ACK retransmission (checked). For text with
    ///   SEG.ACK = SND.UNA there is nothing to acknowledge, and no duplicate ACK: RFC
    ///   5681 2 counts only segments that carry no data, RFC 6675 2 only those with
    ///   SACK blocks. "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be
    ///   updated" runs in both cases, and RACK's reordering timer is looked at as
    ///   after every ACK: both in `finish_ack`, as on the full path. ESTABLISHED adds nothing
    ///   to the ACK processing (our FIN, if queued, matters only from FIN-WAIT-1 on).
    /// - "Sixth, check the URG bit": not set.
    /// - "Seventh, process the segment text": in ESTABLISHED, with the application
    ///   still reading (no RST for data after CLOSE, RFC 9293 3.6) and nothing held
    ///   out of order, the text is stored by `process_text` itself.
    /// - "Eighth, check the FIN bit": not set, and no FIN held from earlier (checked),
    ///   so there is no FIN to reach.
    #[inline]
    pub(super) fn fast_path(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> bool {
        if !self.predicted(hdr) {
            return false;
        }
        let ack = hdr.ack;
        // SND.UNA - MAX.SND.WND =< SEG.ACK (RFC 5961 5), as the full processing tests it.
        let lowest = self.snd_una - self.max_snd_wnd.max(1);
        if !ack.le(self.snd_nxt) || ack.lt(lowest) {
            return false;
        }
        let wnd = u32::from(hdr.window) << self.snd_wscale;
        if payload.is_empty() {
            // A pure ACK of new data, outside recovery.
            if !self.snd_una.lt(ack) || self.cc.in_recovery() {
                return false;
            }
            self.timestamps_update(ctx, hdr);
            self.ack_new_data(ctx, hdr);
            self.finish_ack(ctx, hdr, wnd);
            return true;
        }
        if !self.next_data_fits(hdr, payload.len()) {
            return false;
        }
        self.timestamps_update(ctx, hdr);
        self.finish_ack(ctx, hdr, wnd);
        // "Seventh, process the segment text", by the full path's own step: nothing
        // is trimmed (the text starts at RCV.NXT and fits) and no gap is filled.
        self.process_text(ctx, hdr.seq, payload);
        true
    }

    /// The prediction both kinds of predicted segment share: ACK (perhaps PSH) alone,
    /// SEG.SEQ = RCV.NXT, ESTABLISHED, no FIN of the peer held, no SACK blocks, and PAWS
    /// surely passed. Cheapest and likeliest to fail first.
    #[inline(always)]
    fn predicted(&self, hdr: &TcpHeader) -> bool {
        hdr.flags.0 & PREDICTED_FLAGS_MASK == TcpFlags::ACK.0
            && hdr.seq == self.rcv_nxt
            && self.state == State::Established
            && self.peer_fin.is_none()
            && hdr.options.sack_blocks().is_empty()
            && self.paws_surely_passes(hdr)
    }

    /// For a [`Conn::predicted`] segment with `len` bytes of text: whether it is the next
    /// in-order data, acknowledging nothing new (SEG.ACK = SND.UNA, which also meets
    /// the bounds `fast_path` checks first), that fits.
    #[inline(always)]
    fn next_data_fits(&self, hdr: &TcpHeader, len: usize) -> bool {
        !(hdr.ack != self.snd_una
            || self.app_closed
            || self.rx.has_gaps()
            || len > self.rcv_wnd() as usize
            // Speed: RCV.WND (`advertised_window`) is at least RCV.ADV - RCV.NXT, so it
            // can be zero only when the advertised edge is RCV.NXT.
            || (self.rcv_adv == self.rcv_nxt && self.advertised_window() == 0))
    }

    /// Header prediction for a segment whose text may go straight into a buffer of
    /// `room` bytes the application lent (`Stack::handle_packet_into`): true when the
    /// segment is the next in-order data of [`Conn::fast_path`] (acknowledging nothing
    /// new) and the receive buffer holds nothing, so that the text is the stream's next
    /// bytes for the application (the condition of `RecvBuffer::stage_direct`), and it
    /// fits `room`. Changes nothing.
    #[inline(always)]
    pub(crate) fn predicts_direct(&self, hdr: &TcpHeader, len: usize, room: usize) -> bool {
        len <= room && self.rx.readable() == 0 && self.predicts_in_order(hdr, len)
    }

    /// Process a [`Conn::predicts_direct`] segment whose `len` bytes of text the caller
    /// has copied into the application's buffer and whose checksum it has verified:
    /// what [`Conn::fast_path`] does for it when the copy was staged
    /// (`RecvBuffer::stage_direct`), step by step, without the staging.
    /// `tests/fastpath.rs` compares the two.
    #[inline(always)]
    pub(crate) fn commit_direct(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, len: usize) {
        self.commit_predicted(ctx, hdr);
        self.text_delivered_direct(ctx, len);
    }

    /// Header prediction for a segment whose text goes into the receive buffer
    /// (`Stack::handle_packet`): true when the segment is the next in-order data of
    /// [`Conn::fast_path`] (acknowledging nothing new) with room for it, the condition
    /// under which the text is staged at the buffer's append position
    /// (`RecvBuffer::stage`). Changes nothing.
    #[inline(always)]
    pub(crate) fn predicts_in_order(&self, hdr: &TcpHeader, len: usize) -> bool {
        // (Room: `next_data_fits` checks RCV.WND, which is the buffer's free space.)
        len != 0 && self.predicted(hdr) && self.next_data_fits(hdr, len)
    }

    /// Process a [`Conn::predicts_in_order`] segment whose `len` bytes of text the caller
    /// has staged at the receive buffer's append position (`Ring::stage_with_sum`) and
    /// whose checksum it has verified: what [`Conn::fast_path`] does for it when the
    /// copy was staged by `RecvBuffer::stage`, step by step, without the staging's
    /// bookkeeping. `tests/fastpath.rs` compares the two.
    #[inline(always)]
    pub(crate) fn commit_in_order(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, len: usize) {
        self.commit_predicted(ctx, hdr);
        self.text_staged_in_order(ctx, len);
    }

    /// The steps before the text that `fast_path` runs for the next in-order data:
    /// the RFC 7323 updates, the send window and RACK's reordering timer.
    #[inline(always)]
    fn commit_predicted(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        // (As `on_segment` notes every segment for keep-alive.)
        self.last_rx = ctx.now;
        self.timestamps_update(ctx, hdr);
        let wnd = u32::from(hdr.window) << self.snd_wscale;
        self.finish_ack(ctx, hdr, wnd);
    }
}
