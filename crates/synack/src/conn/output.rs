//! Deciding what a connection sends next: SYN or SYN,ACK, data (with Nagle and sender
//! SWS avoidance, RFC 9293 3.7.4 and 3.8.6.2.1), FIN, retransmissions, window probes and
//! bare ACKs.

use super::{Conn, Ctx};
use crate::seq::SeqNum;
use crate::state::State;
use crate::trace::TimerKind;
use crate::wire::{TcpFlags, TcpHeader, TcpOptions};

/// One segment to emit: the header, and which bytes of the send ring carry its payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutSegment {
    pub(crate) hdr: TcpHeader,
    /// Offset of the payload in the send ring (from SND.UNA).
    pub(crate) payload_off: usize,
    pub(crate) payload_len: usize,
    /// Whether the segment repeats sequence space sent before.
    pub(crate) retransmit: bool,
    /// The ECN codepoint of its IP header (RFC 3168 5): ECT(0) on new data of a
    /// connection using ECN, otherwise 0 (`ecn.rs`).
    pub(crate) ecn: u8,
}

/// What [`Conn::next_data`] sends: `len` bytes from `seq` (FIN after them, whether a
/// retransmission), a bare ACK with the given sequence number, or nothing.
enum Pick {
    Range(SeqNum, u32, bool, bool),
    Ack(SeqNum),
    Nothing,
}

impl OutSegment {
    /// A blank segment for [`Conn::next_segment`] to fill: no options, no payload.
    pub(crate) const EMPTY: OutSegment = OutSegment {
        hdr: TcpHeader {
            src_port: 0,
            dst_port: 0,
            seq: SeqNum(0),
            ack: SeqNum(0),
            flags: TcpFlags(0),
            window: 0,
            urgent: 0,
            options: TcpOptions::NONE,
        },
        payload_off: 0,
        payload_len: 0,
        retransmit: false,
        ecn: 0,
    };
}

impl Conn {
    /// The window field to put in an outgoing segment, updating the advertised right
    /// edge. "The total of RCV.NXT and RCV.WND should not be reduced" (3.10.7.4), and
    /// small increases are held back (receiver SWS avoidance, 3.8.6.2.2).
    fn window_field(&mut self) -> u16 {
        let actual = self.rcv_wnd();
        let current = self.rcv_adv.since(self.rcv_nxt);
        // A smaller actual window never shrinks what was offered (the edge is kept); a
        // larger one is offered only once the increase is worth it. Receiver SWS
        // avoidance exists to stop a sender from filling the window in small segments:
        // "The solution to receiver SWS is to avoid advancing the right window edge
        // RCV.NXT+RCV.WND in small increments, even if data is received from the network
        // in small segments" (3.8.6.2.2). Once the peer's FIN is received no more data
        // can arrive, so there is nothing left to protect: the window is the actual free
        // space ("RCV.WND is set to RCV.BUFF-RCV.USER"), which also keeps the FIN's
        // sequence number from shrinking the window by one. (Speed: on a sender nothing
        // arrived since the last segment, `actual == current`, and the first test
        // decides.)
        let wnd = if actual > current
            && (self.peer_fin_reached()
                || actual
                    >= current.saturating_add((self.rx.ring.capacity() as u32 / 2).min(u32::from(self.mss))))
        {
            actual
        } else {
            current
        };
        let field = (wnd >> self.rcv_wscale).min(65535);
        let edge = self.rcv_nxt + (field << self.rcv_wscale);
        if self.rcv_adv.lt(edge) {
            self.rcv_adv = edge;
        }
        field as u16
    }

    /// Fill the fixed fields of `seg`'s header. Its options stay as they are: none, in
    /// the blank [`OutSegment::EMPTY`] that every segment starts from (speed: the
    /// header is written in place, not built and copied out). Always inlined: out of
    /// line (as it went once ECN's test joined it), `churn` ran some 300 more
    /// instructions per lifecycle (callgrind).
    #[inline(always)]
    fn header(&mut self, seg: &mut OutSegment, seq: SeqNum, flags: TcpFlags) {
        let window = self.window_field();
        let hdr = &mut seg.hdr;
        hdr.src_port = self.tuple.local.port();
        hdr.dst_port = self.tuple.remote.port();
        hdr.seq = seq;
        hdr.ack = if flags.ack() { self.rcv_nxt } else { SeqNum(0) };
        hdr.flags = if self.ecn != 0 { self.ecn_flags(flags) } else { flags };
        hdr.window = window;
        if self.snd_up.is_some() {
            self.mark_urgent(hdr);
        }
    }

    /// Bookkeeping common to every segment that carries an ACK. (Inlined, speed: a few
    /// stores, cheaper than the call.)
    #[inline(always)]
    fn on_ack_sent(&mut self, ctx: &mut Ctx<'_>) {
        self.ack_now = false;
        self.rx.ack_sent();
        self.unacked_segments = 0;
        if self.timers.delack.is_some() {
            self.cancel_timer(ctx, TimerKind::DelayedAck);
        }
    }

    /// Whether [`Conn::next_segment`] may have work to do: false only when it would
    /// surely return `None` without changing anything.
    ///
    /// Speed: the stack asks this before queueing a connection for output, so that a
    /// connection with nothing to send (the common case after an ACK-only exchange)
    /// costs two loads instead of a full pass through the send logic, and after a
    /// segment, to leave the queue at once. It must stay a superset of every condition under which
    /// `next_segment` returns a segment or arms a timer:
    /// - SYN-SENT / SYN-RECEIVED: `need_syn`, or `ack_now` (the bare ACK);
    /// - synchronized states: `retransmit_una`, `probe_due`, a loss probe (`lp.send`),
    ///   a SACK hole (`rxt_hole`), `ack_now`, duplicate ACKs
    ///   owed, unsent data (`snd_next` before the end of the queued data: data to send,
    ///   or the persist timer to arm), or our FIN not yet sent (`snd_next <= FIN`).
    #[inline]
    pub(crate) fn wants_output(&self) -> bool {
        match self.state {
            State::Closed | State::Listen | State::TimeWait => false,
            State::SynSent | State::SynReceived => self.need_syn || self.ack_now,
            _ => {
                // Speed: unsent data first, the answer in a bulk transfer after every
                // segment but a burst's last (all the tests are plain reads, in any order).
                self.snd_next.lt(self.snd_una + self.tx.len() as u32)
                    || self.ack_now
                    || self.retransmit_una
                    || self.probe_due
                    || self.lp.send
                    || self.sack_hole_due()
                    || self.rx.dup_acks_owed() > 0
                    || self.fin.is_some_and(|f| self.snd_next.le(f))
            }
        }
    }

    /// The next segment this connection wants to send, if any: written into `seg`
    /// (which must be [`OutSegment::EMPTY`]) and `true`, or `false` with `seg` as it
    /// was.
    ///
    /// Inlined into its one caller; speed: the segment is built in place where the
    /// stack uses it, not returned by value through `Option`s and copied at each level.
    #[inline(always)]
    pub(crate) fn next_segment(&mut self, ctx: &mut Ctx<'_>, seg: &mut OutSegment) -> bool {
        let some = match self.state {
            State::Closed | State::Listen | State::TimeWait => false,
            State::SynSent | State::SynReceived => self.next_syn(ctx, seg),
            _ => self.next_data(ctx, seg),
        };
        // SACK-permitted, timestamps, SACK blocks and the layout (`options.rs`).
        if some {
            self.add_options(ctx, seg);
        }
        some
    }

    /// SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED), with our MSS and window scale.
    fn next_syn(&mut self, ctx: &mut Ctx<'_>, seg: &mut OutSegment) -> bool {
        if !self.need_syn {
            // A bare ACK may still be due in SYN-RECEIVED (an unacceptable segment).
            if self.state == State::SynReceived && self.ack_now && self.syn_sent_count > 0 {
                self.header(seg, self.snd_nxt, TcpFlags::ACK);
                self.on_ack_sent(ctx);
                return true;
            }
            return false;
        }
        self.need_syn = false;
        if self.ecn != 0 {
            // RFC 3168 6.1.1.1: past a few retransmissions, a plain SYN.
            self.ecn_syn_attempt(u32::from(self.syn_sent_count), ctx.cfg.ecn_setup_retries);
        }
        let flags = if self.state == State::SynSent { TcpFlags::SYN } else { TcpFlags::SYN | TcpFlags::ACK };
        self.header(seg, self.iss, flags);
        let hdr = &mut seg.hdr;
        // The window of a SYN is never scaled (RFC 7323 2.2).
        hdr.window = self.rx.ring.capacity().min(65535) as u16;
        if ctx.cfg.mss_option {
            hdr.options.mss = Some(self.own_mss(ctx.cfg));
        }
        if self.ws_enabled {
            hdr.options.window_scale = Some(self.rcv_wscale);
        }
        self.rcv_adv = self.rcv_adv.max(self.rcv_nxt + u32::from(hdr.window));
        let retransmit = self.syn_sent_count > 0;
        self.syn_sent_count = self.syn_sent_count.saturating_add(1);
        self.snd_next = self.iss + 1;
        if self.snd_nxt.lt(self.snd_next) {
            self.snd_nxt = self.snd_next;
        }
        if retransmit {
            self.rtt_probe = None;
            self.retransmissions += 1;
            ctx.sinks.stats.retransmissions += 1;
        } else {
            self.rtt_probe = Some((self.iss + 1, ctx.now));
        }
        if flags.ack() {
            self.on_ack_sent(ctx);
        }
        // RFC 6298 5.1: "Every time a packet containing data is sent (including a
        // retransmission), if the timer is not running, start it running so that it will
        // expire after RTO seconds."
        self.arm_retransmission_timer(ctx, false);
        seg.retransmit = retransmit;
        true
    }

    /// Data, FIN, retransmissions, probes and bare ACKs in the synchronized states.
    ///
    /// Speed: inlined, with one call of `range_sent` (itself inlined) for every kind of
    /// data segment, so that the whole path from the stack to `emit_two` is one frame.
    /// Size (instruction cache): `header` and `on_ack_sent` are inlined once, for data
    /// segments and bare ACKs alike, not once in each (the sequence bookkeeping of a
    /// data segment, which `header` does not read, comes first for that). Measured on
    /// `churn`: `transmit_next` 97 -> 90 hot code lines.
    #[inline(always)]
    fn next_data(&mut self, ctx: &mut Ctx<'_>, seg: &mut OutSegment) -> bool {
        let (seq, flags, sent) = match self.pick_data(ctx) {
            Pick::Range(seq, len, fin, retransmit) => {
                let data_end = self.snd_una + self.tx.len() as u32;
                let mut flags = TcpFlags::ACK;
                if len > 0 && seq + len == data_end {
                    flags |= TcpFlags::PSH;
                }
                if fin {
                    flags |= TcpFlags::FIN;
                }
                let retransmit = self.range_sent(ctx, seq, len, fin, retransmit);
                (seq, flags, Some((len, retransmit)))
            }
            Pick::Ack(seq) => (seq, TcpFlags::ACK, None),
            Pick::Nothing => return false,
        };
        self.finish_data(ctx, seg, seq, flags, sent);
        true
    }

    /// The rest of a segment of [`Conn::next_data`] once its sequence bookkeeping is
    /// done: the header, the ACK bookkeeping, and for `sent` data (`len` bytes, whether
    /// a retransmission) the timers and the payload's place in the send buffer.
    #[inline(always)]
    fn finish_data(
        &mut self,
        ctx: &mut Ctx<'_>,
        seg: &mut OutSegment,
        seq: SeqNum,
        flags: TcpFlags,
        sent: Option<(u32, bool)>,
    ) {
        self.header(seg, seq, flags);
        self.on_ack_sent(ctx);
        if let Some((len, retransmit)) = sent {
            // RFC 6298 5.1: "if the timer is not running, start it running" - and RFC 8985
            // 7.2: "start or restart a loss probe PTO timer after transmitting new data", so
            // that the PTO counts from the last transmission.
            self.arm_retransmission_timer(ctx, self.lp.armed && !retransmit);
            if self.timers.persist.is_some() {
                self.cancel_timer(ctx, TimerKind::Persist);
            }
            seg.payload_off = seq.since(self.snd_una) as usize;
            seg.payload_len = len as usize;
            seg.retransmit = retransmit;
            if self.ecn != 0 && len > 0 && !retransmit {
                seg.ecn = self.ecn_new_data(&mut seg.hdr);
            }
        }
    }

    /// The right edge of what may be sent: SND.UNA + min(SND.WND, cwnd), the congestion
    /// window widened by Limited Transmit on the first two duplicate ACKs (`cc.rs`);
    /// SND.UNA while an ECN echo holds the sender (RFC 3168 6.1.2, `ecn.rs`).
    #[inline(always)]
    fn send_window_edge(&self) -> SeqNum {
        if self.ecn & super::ecn::HOLD != 0 {
            return self.snd_una;
        }
        self.snd_una + self.snd_wnd.min(self.cc.send_window())
    }

    /// Whether more than a full-sized segment of data waits to be sent: the first
    /// condition of [`Conn::predict_segment`], cheap enough to test before calling it.
    #[inline(always)]
    pub(crate) fn has_a_full_segment_queued(&self) -> bool {
        (self.snd_una + self.tx.len() as u32).since(self.snd_next) > u32::from(self.mss)
    }

    /// Send-side header prediction: when the next segment is surely a full-sized
    /// segment of new data with more data queued behind it - the segment a bulk
    /// transfer sends over and over - write into `seg` (which must be
    /// [`OutSegment::EMPTY`]) exactly what [`Conn::next_segment`] would, with the same
    /// state changes, and return `true`; otherwise return `false` having changed
    /// nothing.
    ///
    /// Why the result is `next_segment`'s, step by step through [`Conn::pick_data`]
    /// (the checks below): no retransmission is pending (`retransmit_una`, a SACK hole,
    /// a loss probe), SND.NXT is the highest sequence number sent (not a retransmission
    /// after a timeout), and both the unsent data and the usable window hold a full MSS
    /// of it, with more data behind it, and no urgent data is pending (whose pointer
    /// the header would carry). `pick_data` then returns `mss` bytes from SND.NXT,
    /// with no FIN (the FIN, if queued, comes after the unsent data) and no PSH (the
    /// segment does not empty the queue, 3.9.1.3's "last segment"), and none of its
    /// other branches is reached. The sequence bookkeeping, header, ACK bookkeeping,
    /// timers and options then follow through the very functions `next_data` and
    /// `next_segment` call, in the same order.
    #[inline(always)]
    pub(crate) fn predict_segment(&mut self, ctx: &mut Ctx<'_>, seg: &mut OutSegment) -> bool {
        let mss = u32::from(self.mss);
        let next = self.snd_next;
        let usable = self.send_window_edge().since(next);
        if !self.has_a_full_segment_queued()
            || usable < mss
            || next != self.snd_nxt
            || !matches!(self.state, State::Established | State::CloseWait)
            || self.retransmit_una
            || self.lp.send
            || self.sack_hole_due()
            || self.snd_up.is_some()
        {
            return false;
        }
        // `pick_data`'s answer here: Pick::Range(SND.NXT, MSS, no FIN, not a
        // retransmission); `next_data` then finishes the segment as for any range.
        self.range_sent(ctx, next, mss, false, false);
        self.finish_data(ctx, seg, next, TcpFlags::ACK, Some((mss, false)));
        self.add_options(ctx, seg);
        true
    }

    /// The next segment of a run: [`Conn::predict_segment`] for the segment after `seg`,
    /// which the previous call of `predict_segment` or of this function in the same
    /// `Stack::poll_transmit_many` call wrote (nothing else has touched the connection
    /// since, and the clock has not moved). Updates `seg` in place to exactly what
    /// `predict_segment` would write into a blank one, with the same state changes,
    /// and returns whether the connection's timers may have changed (when not, the
    /// caller need not look at them); otherwise returns `None` having changed nothing
    /// (the caller then asks `predict_segment`).
    ///
    /// Why only these steps, for a full segment of new data right after another
    /// (`tests/fastpath.rs` compares the results with prediction off):
    /// - the prediction: only what sending the previous segment moved is checked again
    ///   (the data queued beyond SND.NXT and the usable window); the state, the
    ///   retransmission flags and SND.NXT = `snd_next` stay as they were;
    /// - the header: the ports, RCV.NXT, the flags and the window are those of the
    ///   previous segment (the window field once computed moves RCV.ADV to its edge,
    ///   and the same inputs give the same field again); only SEG.SEQ moves;
    /// - the ACK bookkeeping: the flags and the delayed-ACK timer were cleared by the
    ///   previous segment; only the count of duplicate ACKs owed goes down again;
    /// - the retransmission timer: restarting the PTO at the same instant with more
    ///   than one segment in flight before and after gives the same deadline, so
    ///   `arm_retransmission_timer` is called only while the flight before the segment
    ///   is one MSS or less; the persist timer was cancelled by the previous segment;
    /// - the options: the same timestamps (same clock, same TS.Recent) and the same
    ///   Last.ACK.sent; no SACK blocks, for which a full-sized segment has no room
    ///   (`Conn::add_options` puts none on it; a pending D-SACK block was taken by the
    ///   run's first segment).
    ///
    /// Speed: measured on `bulk_1500` with callgrind (10,000 segments), the sender's
    /// `transmit_run` went from 876 to 758 instructions per segment (about 470 of them
    /// the copy and sum), the whole run from 3,544 to 3,431.
    #[inline(always)]
    pub(crate) fn predict_next_in_run(&mut self, ctx: &mut Ctx<'_>, seg: &mut OutSegment) -> Option<bool> {
        let mss = u32::from(self.mss);
        let next = self.snd_next;
        if !self.has_a_full_segment_queued() || self.send_window_edge().since(next) < mss {
            return None;
        }
        debug_assert!(seg.hdr.options.sack_blocks().is_empty() && seg.payload_len == mss as usize);
        let settled = self.flight() > mss;
        self.range_sent(ctx, next, mss, false, false);
        self.rx.ack_sent();
        if !settled {
            self.arm_retransmission_timer(ctx, self.lp.armed);
        }
        seg.hdr.seq = next;
        // RFC 3168 6.1.2: CWR goes on the first new data segment after a reduction
        // only (the previous segment of the run may have been it).
        seg.hdr.flags.0 &= !TcpFlags::CWR.0;
        seg.payload_off = next.since(self.snd_una) as usize;
        Some(!settled)
    }

    /// What [`Conn::next_data`] sends.
    #[inline(always)]
    fn pick_data(&mut self, ctx: &mut Ctx<'_>) -> Pick {
        let mss = u32::from(self.mss);
        let data_end = self.snd_una + self.tx.len() as u32;

        // Fast retransmit / NewReno partial ACK: resend the segment at SND.UNA.
        if self.retransmit_una && self.snd_una.lt(self.snd_nxt) {
            self.retransmit_una = false;
            let len = data_end.since(self.snd_una).min(mss);
            let fin = self.fin.is_some_and(|f| f == self.snd_una + len);
            return Pick::Range(self.snd_una, len, fin, true);
        }
        self.retransmit_una = false;

        // SACK recovery: a hole the scoreboard deems lost (RFC 6675 4).
        if let Some((seq, len)) = self.take_sack_hole() {
            if self.snd_una.le(seq) && seq.lt(self.snd_nxt) {
                let len = len.min(data_end.since(seq));
                let fin = self.fin.is_some_and(|f| f == seq + len);
                if len > 0 || fin {
                    return Pick::Range(seq, len, fin, true);
                }
            }
        }

        // A tail loss probe (RFC 8985 7.3), outside the congestion window.
        if let Some((seq, len, fin, retransmit)) = self.take_probe() {
            return Pick::Range(seq, len, fin, retransmit);
        }

        let mut stop = None;
        if self.snd_next.lt(self.snd_nxt) && self.sack.is_some() {
            stop = self.skip_sacked(data_end);
        }
        let next = self.snd_next;
        let retransmitting = next.lt(self.snd_nxt);
        let unsent = data_end.since(next);
        let usable = self.send_window_edge().since(next);
        let mut len = unsent.min(usable).min(mss);
        if let Some(stop) = stop {
            len = len.min(stop.since(next));
        }
        if len > 0 && len < mss && !retransmitting {
            // RFC 9293 3.8.6.2.1 (sender SWS avoidance with the Nagle condition in
            // brackets): send when "(2) ... [SND.NXT = SND.UNA and] PUSHed and D <= U",
            // or "(3) ... [SND.NXT = SND.UNA and] min(D,U) >= Fs * Max(SND.WND)".
            let idle = self.snd_nxt == self.snd_una || !self.nagle;
            let all_fits = unsent <= usable;
            let big_enough = len >= self.max_snd_wnd / 2;
            if !(idle && (all_fits || big_enough)) {
                len = 0;
            }
        }
        let fin_due = self.fin.is_some_and(|f| f == next + len && (len == unsent) && !(self.fin_acked()));
        if unsent - len > mss && ctx.cfg.header_prediction {
            // More than a full segment's worth remains after this one: the next one may
            // be predicted (`Conn::predict_segment`). (Size: tested here, where the
            // counts are at hand, and only for new data.)
            ctx.sinks.run_hint = true;
        }
        if len > 0 || fin_due {
            return Pick::Range(next, len, fin_due, retransmitting);
        }

        // Nothing can be sent: a zero (or too small) window with data waiting and no
        // timer running calls for the persist timer (3.8.6.1). That includes data still
        // outstanding after a retransmission timeout found the window closed: "If the
        // window shrinks to zero, the TCP implementation MUST probe it in the standard
        // way" (3.8.6, MUST-35); otherwise the connection would wait forever. The same
        // timer is the override timeout of sender SWS avoidance (3.8.6.2.1 (4)).
        if unsent > 0 && self.timers.persist.is_none() && self.timers.rto.is_none() {
            // Data waits undelivered: a user timeout's clock runs (RFC 9293 3.9.1: "If
            // data is not successfully delivered to the destination within the timeout
            // period, the TCP endpoint will abort the connection"), from now if it was
            // not running, and the timer is brought forward to its end.
            let at = self.clamp_to_give_up(ctx.now, ctx.now + self.rtt.rto());
            self.set_timer(ctx, TimerKind::Persist, at);
        }
        if self.probe_due {
            self.probe_due = false;
            if usable > 0 && unsent > 0 {
                // The override timeout of 3.8.6.2.1 (4): send what the window allows.
                let len = unsent.min(usable).min(mss);
                return Pick::Range(next, len, false, false);
            }
            // A zero-window probe: an old sequence number that elicits an ACK carrying
            // the current window.
            return Pick::Ack(self.snd_una - 1);
        }
        // RFC 5681 4.2: one immediate duplicate ACK per out-of-order segment, even when
        // several arrived before this poll.
        if self.ack_now || self.rx.dup_acks_owed() > 0 {
            // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
            return Pick::Ack(self.snd_nxt);
        }
        Pick::Nothing
    }

    /// The sequence bookkeeping of a segment carrying `len` bytes from `seq` (and FIN
    /// after them if `fin`): SND.NXT, the flight for congestion control, Karn's rule and
    /// the RTT probe. Returns whether the segment is a retransmission. (Inlined into its
    /// one caller, [`Conn::next_data`], which finishes the segment.)
    #[inline(always)]
    fn range_sent(&mut self, ctx: &mut Ctx<'_>, seq: SeqNum, len: u32, fin: bool, retransmit: bool) -> bool {
        let end = seq + len + u32::from(fin);
        let retransmit = retransmit || seq.lt(self.snd_nxt);
        if self.snd_next.lt(end) || self.snd_next == seq {
            self.snd_next = end;
        }
        if self.snd_nxt.lt(end) {
            self.snd_nxt = end;
            self.cc.on_send(end.since(self.snd_una));
        }
        if retransmit {
            self.sack_retransmitted(seq, end, ctx.now);
            // Karn's rule: never time a retransmitted segment.
            self.rtt_probe = None;
            self.retransmissions += 1;
            ctx.sinks.stats.retransmissions += 1;
        } else if self.rtt_probe.is_none() {
            self.rtt_probe = Some((end, ctx.now));
        }
        retransmit
    }
}
