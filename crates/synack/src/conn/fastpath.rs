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
    ///   updated" runs as `update_send_window` in both cases. ESTABLISHED adds nothing
    ///   to the ACK processing (our FIN, if queued, matters only from FIN-WAIT-1 on).
    /// - "Sixth, check the URG bit": not set.
    /// - "Seventh, process the segment text": in ESTABLISHED, with the application
    ///   still reading (no RST for data after CLOSE, RFC 9293 3.6) and nothing held
    ///   out of order, the text is stored by `process_text` itself.
    /// - "Eighth, check the FIN bit": not set, and no FIN held from earlier (checked),
    ///   so there is no FIN to reach.
    #[inline]
    pub(super) fn fast_path(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> bool {
        // The prediction. Cheapest and likeliest to fail first.
        if hdr.flags.0 & PREDICTED_FLAGS_MASK != TcpFlags::ACK.0
            || hdr.seq != self.rcv_nxt
            || self.state != State::Established
            || self.peer_fin.is_some()
            || !hdr.options.sack_blocks().is_empty()
            || !self.paws_surely_passes(hdr)
        {
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
            self.update_send_window(ctx, hdr, wnd);
            return true;
        }
        // The next in-order data, acknowledging nothing new, that fits.
        if ack != self.snd_una
            || self.app_closed
            || self.rx.has_gaps()
            || payload.len() > self.rcv_wnd() as usize
            // Speed: RCV.WND (`advertised_window`) is at least RCV.ADV - RCV.NXT, so it
            // can be zero only when the advertised edge is RCV.NXT.
            || (self.rcv_adv == self.rcv_nxt && self.advertised_window() == 0)
        {
            return false;
        }
        self.timestamps_update(ctx, hdr);
        self.update_send_window(ctx, hdr, wnd);
        // "Seventh, process the segment text", by the full path's own step: nothing
        // is trimmed (the text starts at RCV.NXT and fits) and no gap is filled.
        self.process_text(ctx, hdr.seq, payload);
        true
    }
}
