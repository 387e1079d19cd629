//! SEGMENT ARRIVES for a connection that exists (RFC 9293 3.10.7.3 and 3.10.7.4).
//!
//! CLOSED and LISTEN (3.10.7.1, 3.10.7.2) are handled by the stack, which owns the
//! listeners; TIME-WAIT by the stack's compact TIME-WAIT table.

use super::{control_header, Conn, Ctx};
use crate::error::ConnError;
use crate::event::Event;
use crate::seq::SeqNum;
use crate::state::State;
use crate::trace::TimerKind;
use crate::wire::{TcpFlags, TcpHeader};

/// What the stack must do after a connection handled a segment or a timer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
    /// Nothing beyond sending what the connection now wants to send.
    None,
    /// The connection reached ESTABLISHED (a passive one joins the accept queue).
    Established,
    /// The connection reached CLOSED.
    Closed,
    /// The connection reached TIME-WAIT: hand it to the compact table.
    TimeWait,
    /// A passively opened connection died before it was established ("return this
    /// connection to LISTEN state"): forget it silently.
    Discard,
}

impl Conn {
    /// A segment arrived for this connection. (The options of the peer's SYN are
    /// applied in `options.rs`.)
    ///
    /// `codepoint` is the ECN field of the segment's IP header (RFC 3168 5), which a
    /// connection using ECN acts on (`ecn.rs`).
    #[inline(always)]
    pub(crate) fn on_segment(
        &mut self,
        ctx: &mut Ctx<'_>,
        hdr: &TcpHeader,
        payload: &[u8],
        codepoint: u8,
    ) -> Outcome {
        if self.ecn & super::ecn::ON != 0 {
            return self.on_segment_ecn(ctx, hdr, payload, codepoint);
        }
        self.on_segment_inner(ctx, hdr, payload)
    }

    /// [`Conn::on_segment`] without ECN's part.
    pub(super) fn on_segment_inner(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> Outcome {
        // Anything received answers keep-alive's probes and restarts its idle time (RFC
        // 9293 3.8.4; `timers.rs` reads it when its timer fires).
        self.last_rx = ctx.now;
        // Header prediction (`fastpath.rs`): the common segments of a bulk transfer,
        // with exactly the result of the full processing below.
        if self.state == State::Established && ctx.cfg.header_prediction && self.fast_path(ctx, hdr, payload)
        {
            return Outcome::None;
        }
        match self.state {
            State::SynSent => self.on_segment_syn_sent(ctx, hdr, payload),
            State::Closed | State::Listen | State::TimeWait => Outcome::None,
            _ => self.on_segment_synchronized(ctx, hdr, payload),
        }
    }

    /// The receive fast path's first half (see `Stack::handle_packet`): when a segment
    /// that may carry the next in-order data arrives, copy its payload to the append
    /// position of the receive buffer and return the payload's checksum sum, before
    /// the segment has been verified or looked at any further. `None` (nothing copied)
    /// outside the simple case: a synchronized state that accepts data, no SYN or RST,
    /// SEG.SEQ = RCV.NXT, the application still reading, no out-of-order data held,
    /// room for all of it.
    ///
    /// This changes no state of the connection: the bytes become contents only if the
    /// segment passes the checksum and then every check of RFC 9293 3.10.7.4 that
    /// ordinary processing makes, when `Conn::process_text` commits them (and finds
    /// them in place instead of copying them). RFC 9293 3.10.7.4 orders the checks
    /// ("First, check sequence number" ...); a corrupt segment reaches none of them.
    pub(crate) fn stage_payload(&mut self, hdr: &TcpHeader, payload: &[u8]) -> Option<u64> {
        if !self.may_stage(hdr, payload) {
            return None;
        }
        self.rx.stage(hdr.seq, payload)
    }

    /// [`Conn::stage_payload`] with the application's buffer lent to
    /// `Stack::handle_packet_into`: the copy goes there when the receive buffer is
    /// empty ([`RecvBuffer::stage_direct`](super::buffers::RecvBuffer::stage_direct)),
    /// to the receive buffer otherwise.
    pub(crate) fn stage_payload_into(
        &mut self,
        hdr: &TcpHeader,
        payload: &[u8],
        dest: &mut [u8],
    ) -> Option<u64> {
        if !self.may_stage(hdr, payload) {
            return None;
        }
        self.rx.stage_direct(hdr.seq, payload, dest).or_else(|| self.rx.stage(hdr.seq, payload))
    }

    /// Whether the segment may carry the next in-order data for the application (see
    /// [`Conn::stage_payload`]).
    #[inline(always)]
    fn may_stage(&self, hdr: &TcpHeader, payload: &[u8]) -> bool {
        !(payload.is_empty()
            || !self.state.can_receive()
            || self.app_closed
            || hdr.flags.syn()
            || hdr.flags.rst()
            || hdr.seq != self.rcv_nxt)
    }

    /// RFC 9293 3.10.7.3, SYN-SENT STATE.
    fn on_segment_syn_sent(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> Outcome {
        let fl = hdr.flags;
        // "First, check the ACK bit"
        let mut ack_ok = false;
        if fl.ack() {
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
            // set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>"
            if hdr.ack.le(self.iss) || hdr.ack.gt(self.snd_nxt) {
                if !fl.rst() {
                    let h = control_header(&self.tuple, hdr.ack, None, TcpFlags::RST, 0);
                    ctx.send_control(self.tuple, self.ip, h);
                }
                return Outcome::None;
            }
            // "If SND.UNA < SEG.ACK =< SND.NXT, then the ACK is acceptable."
            ack_ok = self.snd_una.lt(hdr.ack) && hdr.ack.le(self.snd_nxt);
        }
        // "Second, check the RST bit": "If the ACK was acceptable, then signal to the
        // user "error: connection reset", drop the segment, enter CLOSED state, delete
        // TCB, and return. Otherwise (no ACK), drop the segment and return."
        if fl.rst() {
            if ack_ok {
                self.close_with(ctx, Some(ConnError::Refused));
                return Outcome::Closed;
            }
            return Outcome::None;
        }
        // "Fourth, check the SYN bit"
        if !fl.syn() {
            // "Fifth, if neither of the SYN or RST bits is set, then drop the segment"
            return Outcome::None;
        }
        if self.ecn != 0 {
            // RFC 3168 6.1.1: the SYN,ACK agrees to ECN or not.
            self.ecn_syn_received(fl);
        }
        // "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ."
        self.irs = hdr.seq;
        self.rcv_nxt = hdr.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        self.apply_syn_options(ctx, &hdr.options);
        // The window of a SYN is never scaled (RFC 7323 2.2).
        self.snd_wnd = u32::from(hdr.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = hdr.seq;
        self.snd_wl2 = hdr.ack;
        if ack_ok {
            // "SND.UNA should be advanced to equal SEG.ACK"
            self.ack_syn(ctx, hdr.ack);
            // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to
            // ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and
            // send it."
            self.set_state(ctx, State::Established);
            ctx.sinks.events.push_back(Event::Connected(ctx.id));
            self.ack_now = true;
            // "If there are other controls or text in the segment, then continue
            // processing at the sixth step under Section 3.10.7.4"
            let out = self.process_text_and_fin(ctx, hdr.seq + 1, payload, fl.fin());
            if out != Outcome::None {
                return out;
            }
            return Outcome::Established;
        }
        // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
        // <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." (simultaneous open)
        self.set_state(ctx, State::SynReceived);
        self.need_syn = true;
        // The SYN,ACK reuses ISS but is a new segment, not a retransmission of our SYN.
        self.syn_sent_count = 0;
        // "If there are other controls or text in the segment, queue them for processing
        // after the ESTABLISHED state has been reached, return."
        if !payload.is_empty() || fl.fin() {
            self.queue_syn_text(ctx, payload, fl.fin());
        }
        Outcome::None
    }

    /// Queue the text and FIN of a SYN received in SYN-SENT until ESTABLISHED (RFC 9293
    /// 3.10.7.3; [`Conn::release_syn_text`] processes them). The text is held in the
    /// receive buffer at RCV.NXT, not delivered nor acknowledged (the SYN,ACK
    /// acknowledges the SYN alone), as much of it as fits the window; the FIN is
    /// remembered where it lies, as a FIN beyond a gap is, if all the text fitted.
    ///
    /// (A listener does not do this: a half-open connection of its own has no receive
    /// buffer yet, like a SYN cache entry, and the peer sends the text again.)
    #[cold]
    #[inline(never)]
    fn queue_syn_text(&mut self, ctx: &mut Ctx<'_>, payload: &[u8], fin: bool) {
        self.rx.ring.adopt_from(&mut ctx.sinks.spare);
        let fits = payload.len().min(self.rcv_wnd() as usize);
        let held = self.rx.hold_at_next(self.rcv_nxt, &payload[..fits]);
        if fin && held == payload.len() {
            self.peer_fin = Some(self.rcv_nxt + held as u32);
        }
    }

    /// On reaching ESTABLISHED from SYN-RECEIVED: the text queued by
    /// [`Conn::queue_syn_text`] is processed, as in-order data is (3.10.7.4, seventh
    /// step): RCV.NXT moves over it, the application can read it and the ACK is
    /// scheduled. A queued FIN is then reached by the segment's own processing (eighth
    /// step).
    #[cold]
    #[inline(never)]
    fn release_syn_text(&mut self, ctx: &mut Ctx<'_>) {
        let adv = self.rx.release_held(self.rcv_nxt);
        if adv == 0 {
            return;
        }
        self.advance_rcv_nxt(adv);
        if self.rx.readable() != 0 {
            self.raise_readable(ctx);
        }
        self.schedule_ack(ctx);
    }

    /// Our SYN is acknowledged by `ack` (SND.UNA < ack <= SND.NXT).
    fn ack_syn(&mut self, ctx: &mut Ctx<'_>, ack: SeqNum) {
        self.syn_acked = true;
        self.snd_una = ack;
        if self.snd_next.lt(ack) {
            self.snd_next = ack;
        }
        self.take_rtt_sample(ctx, ack);
        self.retries = 0;
        // The open is done: its deadline with it (a user timeout starts again with the
        // next data to wait for an acknowledgment).
        self.give_up_at = crate::time::Instant::ZERO;
        self.cancel_timer(ctx, TimerKind::Syn);
        if self.syn_timed_out {
            // RFC 6298 5.7: "If the timer expires awaiting the ACK of a SYN segment and
            // the TCP implementation is using an RTO less than 3 seconds, the RTO MUST be
            // re-initialized to 3 seconds when data transmission begins (i.e., after the
            // three-way handshake completes)."
            self.rtt.reinitialize(crate::time::Duration::from_secs(3));
        }
    }

    fn take_rtt_sample(&mut self, ctx: &mut Ctx<'_>, ack: SeqNum) {
        if let Some((seq, sent)) = self.rtt_probe {
            if seq.le(ack) {
                let rtt = ctx.now.saturating_since(sent);
                self.rtt.sample(rtt);
                self.cc.note_rtt(rtt);
                self.rtt_probe = None;
            }
        }
    }

    /// RCV.WND for the acceptability test. It is the window we advertised (the part of
    /// the buffer "advertised to sender", 3.8.6.2.2), edge held back by receiver SWS
    /// avoidance included - except where the window field could not carry RCV.WND at
    /// all: 16 bits shifted by Rcv.Wind.Shift (RFC 7323 2.2; a SYN's window is never
    /// scaled) cap the field at 65535 << shift, and a larger free buffer (65,700 bytes
    /// without window scaling) is announced truncated. The window "indicates the range
    /// of sequence numbers the sender of the window (the data receiver) is currently
    /// prepared to accept" (3.8.6): there it is the free buffer space, of which the
    /// field shows what fits. Never less than the edge already advertised (3.8.6: no
    /// shrinking).
    ///
    /// A half-open connection a listener created (passive SYN-RECEIVED) keeps to its
    /// SYN,ACK's window: like a SYN cache entry (RFC 4987 3.3) it has no receive buffer
    /// of its own yet and has promised nothing beyond that window.
    // Speed: small, and on the header-prediction fast path.
    #[inline(always)]
    pub(super) fn advertised_window(&self) -> u32 {
        let advertised = self.rcv_adv.since(self.rcv_nxt);
        if self.state == State::SynReceived && self.listener.is_some() {
            return advertised;
        }
        let free = self.rcv_wnd();
        let field_max = 65535u32 << self.rcv_wscale;
        if free > field_max {
            advertised.max(free)
        } else {
            advertised
        }
    }

    /// Table 6 of RFC 9293 3.10.7.4.
    pub(super) fn acceptable(&self, seq: SeqNum, seg_len: u32) -> bool {
        let wnd = self.advertised_window();
        let nxt = self.rcv_nxt;
        match (seg_len, wnd) {
            (0, 0) => seq == nxt,
            (0, _) => seq.in_window(nxt, nxt + wnd),
            (_, 0) => false,
            (_, _) => seq.in_window(nxt, nxt + wnd) || (seq + (seg_len - 1)).in_window(nxt, nxt + wnd),
        }
    }

    /// Send a challenge ACK (RFC 5961 3.2, 4.2, 5.2), <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>,
    /// if the stack's budget allows. RFC 5961 7: "An implementation SHOULD include an ACK
    /// throttling mechanism to be conservative." A suppressed challenge ACK leaves the
    /// segment dropped all the same: the peer that really lost its state retries (its
    /// RST or SYN is repeated), an attacker gains nothing.
    fn challenge_ack(&mut self, ctx: &mut Ctx<'_>) {
        if ctx.sinks.challenge.allow(ctx.now) {
            ctx.sinks.stats.challenge_acks += 1;
            self.ack_now = true;
        } else {
            ctx.sinks.stats.challenge_acks_suppressed += 1;
        }
    }

    /// RFC 9293 3.10.7.4, "Otherwise" (every state from SYN-RECEIVED on).
    fn on_segment_synchronized(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> Outcome {
        let fl = hdr.flags;
        if fl.syn() && self.state == State::SynReceived {
            if let Some(out) = self.syn_in_syn_received(ctx, hdr, payload) {
                return out;
            }
        }
        let seg_len = payload.len() as u32 + u32::from(fl.syn()) + u32::from(fl.fin());
        let mut payload = payload;
        let mut fin = fl.fin();

        // RFC 7323 5.3 R1 (PAWS) and 3.2 (timestamps missing), before the window test.
        if self.paws_rejects(ctx, hdr, payload.len()) {
            return Outcome::None;
        }

        // "First, check sequence number"
        if !self.acceptable(hdr.seq, seg_len) {
            if let Some(out) = self.on_unacceptable(ctx, hdr, payload.len()) {
                return out;
            }
            // The zero-window allowance: only the zero-length segment at RCV.NXT is
            // processed further.
            payload = &[];
            fin = false;
        }
        // RFC 7323 5.3 R3 and 4.1: TS.Recent and the RTT sample of an acceptable segment.
        self.timestamps_update(ctx, hdr);

        // "Second, check the RST bit", then "Fourth, check the SYN bit" (out of line,
        // size: an ordinary exchange never runs them).
        if fl.rst() {
            return self.on_rst_in_window(ctx, hdr);
        }
        if fl.syn() {
            return self.on_syn_in_window(ctx);
        }

        // "Fifth, check the ACK field": "if the ACK bit is off, drop the segment and
        // return"
        if !fl.ack() {
            return Outcome::None;
        }
        let mut outcome = Outcome::None;
        if self.state == State::SynReceived {
            // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
            // processing with the variables below set to: SND.WND <- SEG.WND,
            // SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK"
            if self.snd_una.lt(hdr.ack) && hdr.ack.le(self.snd_nxt) {
                self.ack_syn(ctx, hdr.ack);
                self.snd_wnd = u32::from(hdr.window) << self.snd_wscale;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = hdr.seq;
                self.snd_wl2 = hdr.ack;
                self.set_state(ctx, State::Established);
                if self.listener.is_none() {
                    ctx.sinks.events.push_back(Event::Connected(ctx.id));
                    if self.rx.has_gaps() {
                        // Text a SYN brought in SYN-SENT (simultaneous open), queued
                        // until now.
                        self.release_syn_text(ctx);
                    }
                }
                if self.fin_queued() {
                    // A CLOSE issued in SYN-RECEIVED was queued until ESTABLISHED
                    // (3.10.4).
                    self.set_state(ctx, State::FinWait1);
                }
                outcome = Outcome::Established;
            } else {
                // "If the segment acknowledgment is not acceptable, form a reset segment
                // <SEQ=SEG.ACK><CTL=RST> and send it."
                let h = control_header(&self.tuple, hdr.ack, None, TcpFlags::RST, 0);
                ctx.send_control(self.tuple, self.ip, h);
                return Outcome::None;
            }
        }

        // RFC 5961 5: "the ACK value is acceptable only if it is in the range of
        // ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT)"; otherwise discard and ACK.
        // Both ends of the range answer with a challenge ACK, under the same budget
        // (RFC 5961 7): a blind attacker guessing ACK numbers must not get one ACK out
        // per guess.
        if hdr.ack.gt(self.snd_nxt) {
            // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an
            // ACK, drop the segment, and return."
            self.challenge_ack(ctx);
            return outcome;
        }
        if hdr.ack.lt(self.snd_una - self.max_snd_wnd.max(1)) {
            self.challenge_ack(ctx);
            return outcome;
        }
        self.process_ack(ctx, hdr, payload.len(), fin);

        // Per-state additions to the ESTABLISHED processing of the ACK.
        if self.fin_acked() {
            match self.state {
                // "if the FIN segment is now acknowledged, then enter FIN-WAIT-2 and
                // continue processing in that state."
                State::FinWait1 => {
                    self.set_state(ctx, State::FinWait2);
                    if self.app_closed {
                        self.limit_orphaned_fin_wait2(ctx);
                    }
                }
                // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"
                State::Closing => {
                    self.enter_time_wait(ctx);
                    return Outcome::TimeWait;
                }
                // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED
                // state, and return."
                State::LastAck => {
                    self.close_with(ctx, None);
                    return Outcome::Closed;
                }
                _ => {}
            }
        }

        // "Sixth, check the URG bit" (`urgent.rs`); the urgent data itself is delivered
        // in line with the rest.
        if fl.urg() {
            self.on_urgent(ctx, hdr.seq, hdr.urgent);
        }
        let text_seq = hdr.seq;
        let out = self.process_text_and_fin(ctx, text_seq, payload, fin);
        if out != Outcome::None {
            return out;
        }
        outcome
    }

    /// A SYN in SYN-RECEIVED that is not an error: a retransmission of the peer's SYN,
    /// or the SYN,ACK of a simultaneous open. `None` for any other segment. Out of line
    /// (size): an ordinary handshake never runs it.
    #[cold]
    #[inline(never)]
    fn syn_in_syn_received(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload: &[u8]) -> Option<Outcome> {
        let fl = hdr.flags;
        // A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost: repeat it
        // rather than answer with a bare ACK the peer in SYN-SENT would drop.
        if !fl.ack() && !fl.rst() && hdr.seq == self.irs {
            self.need_syn = true;
            return Some(Outcome::None);
        }
        // Simultaneous open, Figure 8 line 6: "ESTABLISHED <-- <SEQ=300><ACK=101>
        // <CTL=SYN,ACK> <-- SYN-RECEIVED". The peer's SYN,ACK repeats its SYN, which we
        // already hold ("If a segment's contents straddle the boundary between old and
        // new, only the new parts are processed"): trim the SYN and go on with the rest,
        // whose ACK of our SYN takes SYN-RECEIVED to ESTABLISHED (fifth step). Without the
        // trim the whole segment would fail Table 6 and the handshake would need an extra
        // exchange of ACKs.
        if self.listener.is_none()
            && fl.ack()
            && !fl.rst()
            && hdr.seq == self.irs
            && self.snd_una.lt(hdr.ack)
            && hdr.ack.le(self.snd_nxt)
        {
            let mut trimmed = *hdr;
            trimmed.flags = TcpFlags(fl.0 & !TcpFlags::SYN.0);
            trimmed.seq = hdr.seq + 1;
            if self.need_syn {
                // Our SYN,ACK was due again: the ACK alone now does its job.
                self.need_syn = false;
                self.ack_now = true;
            }
            return Some(self.on_segment_synchronized(ctx, &trimmed, payload));
        }
        None
    }

    /// "Second, check the RST bit", for a RST that passed the sequence check, with the
    /// RFC 5961 checks: the sequence number is in the window (the test before); only an
    /// exact match resets.
    #[inline(never)]
    fn on_rst_in_window(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) -> Outcome {
        if hdr.seq != self.rcv_nxt && ctx.cfg.rfc5961_rst {
            // "3) ... TCP endpoints MUST send an acknowledgment (challenge ACK)"
            self.challenge_ack(ctx);
            return Outcome::None;
        }
        // Without RFC 5961, any RST that passed the sequence check resets.
        self.on_reset(ctx)
    }

    /// "Fourth, check the SYN bit", for a SYN that passed the sequence check.
    #[cold]
    #[inline(never)]
    fn on_syn_in_window(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        if self.state == State::SynReceived && self.listener.is_some() {
            // "If the connection was initiated with a passive OPEN, then return this
            // connection to the LISTEN state and return."
            self.cancel_all_timers(ctx);
            return Outcome::Discard;
        }
        if !ctx.cfg.rfc5961_syn {
            // "For implementations that do not follow RFC 5961, the original behavior
            // described in RFC 793 follows in this paragraph. If the SYN is in the
            // window it is an error: send a reset, any outstanding RECEIVEs and SEND
            // should receive "reset" responses, all segment queues should be flushed,
            // the user should also receive an unsolicited general "connection reset"
            // signal, enter the CLOSED state, delete the TCB, and return." (The
            // sequence check above let only an in-window SYN through.)
            let h = control_header(&self.tuple, self.snd_nxt, Some(self.rcv_nxt), TcpFlags::RST, 0);
            ctx.send_control(self.tuple, self.ip, h);
            self.close_with(ctx, Some(ConnError::Reset));
            return Outcome::Closed;
        }
        // "RFC 5961 recommends that in these synchronized states, if the SYN bit is
        // set, irrespective of the sequence number, TCP endpoints MUST send a
        // "challenge ACK""
        self.challenge_ack(ctx);
        Outcome::None
    }

    /// The first step's answer to a segment that is not acceptable (Table 6). `None`
    /// when the RCV.WND = 0 allowance applies: the caller goes on with the zero-length
    /// segment at RCV.NXT (text and FIN trimmed). Out of line (size): an exchange
    /// without loss or reordering never runs it.
    #[cold]
    #[inline(never)]
    fn on_unacceptable(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload_len: usize) -> Option<Outcome> {
        let fl = hdr.flags;
        ctx.sinks.stats.unacceptable += 1;
        if !fl.syn() && hdr.seq == self.rcv_nxt && self.advertised_window() == 0 {
            // "If the RCV.WND is zero, no segments will be acceptable, but special
            // allowance should be made to accept valid ACKs, URGs, and RSTs." The
            // text and FIN lie beyond the zero window: trim them ("tailor actual
            // segments to fit this assumption by trimming off any portions that lie
            // outside the window (including SYN and FIN)") and process what remains,
            // the zero-length segment at RCV.NXT. The refused text is answered with an
            // ACK, as an unacceptable segment would be.
            self.ack_now = true;
            return None;
        }
        // "If an incoming segment is not acceptable, an acknowledgment should be
        // sent in reply (unless the RST bit is set, if so drop the segment and
        // return)"
        if fl.syn() && !fl.rst() && ctx.cfg.rfc5961_syn && self.state != State::SynReceived {
            // RFC 5961 4.2: "if the SYN bit is set, irrespective of the sequence
            // number, TCP MUST send an ACK (also referred to as challenge ACK)" -
            // and challenge ACKs share the stack's budget (RFC 5961 7), so a
            // flood of SYNs outside the window cannot draw an ACK each.
            self.challenge_ack(ctx);
            return Some(Outcome::None);
        }
        if !fl.rst() {
            self.ack_now = true;
            let end = hdr.seq + payload_len as u32;
            if end.le(self.rcv_nxt) {
                // Old data received again: a D-SACK block says so (RFC 2883 4).
                self.dsack_note(hdr.seq, end);
            }
        }
        Some(Outcome::None)
    }

    /// RST accepted in a synchronized state or SYN-RECEIVED.
    fn on_reset(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        match self.state {
            State::SynReceived if self.listener.is_some() => {
                // "return this connection to LISTEN state and return. The user need not
                // be informed."
                self.cancel_all_timers(ctx);
                Outcome::Discard
            }
            State::SynReceived => {
                // "If this connection was initiated with an active OPEN ... the
                // connection was refused; signal the user "connection refused"."
                self.close_with(ctx, Some(ConnError::Refused));
                Outcome::Closed
            }
            // "any outstanding RECEIVEs and SEND should receive "reset" responses. All
            // segment queues should be flushed. ... Enter the CLOSED state, delete the
            // TCB, and return." CLOSING and LAST-ACK: "enter the CLOSED state, delete the
            // TCB, and return" (the application learns it as a reset too).
            _ => {
                self.close_with(ctx, Some(ConnError::Reset));
                Outcome::Closed
            }
        }
    }

    /// The ESTABLISHED-state processing of an acceptable ACK (3.10.7.4, fifth step).
    ///
    /// Speed: inlined into its one caller. Left to LLVM, it stopped being inlined when
    /// F-RTO's (cold) Eifel check was added elsewhere in the ACK path, and a `churn`
    /// lifecycle ran 106 instructions more (callgrind) for the call and the spills.
    #[inline(always)]
    fn process_ack(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload_len: usize, fin: bool) {
        let ack = hdr.ack;
        let wnd = u32::from(hdr.window) << self.snd_wscale;
        let window_changed = wnd != self.snd_wnd;
        self.count_dsack(ctx, hdr);
        if self.snd_una.lt(ack) {
            self.ack_new_data(ctx, hdr);
        } else if ack == self.snd_una && self.flight() > 0 {
            // A duplicate acknowledgment: RFC 5681 2's (no data, same window), or RFC
            // 6675 2's, "a segment that arrives carrying a SACK block that identifies
            // previously unacknowledged and un-SACKed octets" - whatever its window,
            // which some receivers (Linux among them) change from ACK to ACK.
            //
            // In the resend after a timeout they are not counted at all
            // (`Conn::in_rto_recovery`): they start no fast recovery, SACK-based or not,
            // and release no Limited Transmit, which is for "previously unsent data"
            // (RFC 3042 2) where that resend sends old data. Their SACK blocks still
            // update the scoreboard, which the resend skips.
            let new_sack = self.sack_update(hdr);
            let duplicate = new_sack || (payload_len == 0 && !fin && !window_changed);
            if duplicate && self.lp.frto != super::frto::Frto::Off {
                self.frto_on_dupack();
            }
            if duplicate && !self.in_rto_recovery() {
                if let Some(prior) = self.cc.on_dupack(self.snd_nxt, self.flight(), self.dup_thresh()) {
                    self.begin_fast_recovery(ctx, prior);
                } else if !self.cc.in_recovery()
                    && new_sack
                    && (self.sack_says_una_lost() || self.probe_sacked())
                {
                    // The scoreboard deems SND.UNA lost (RFC 6675 5), or the tail loss
                    // probe, sent at least two round trips after SND.UNA, arrived while
                    // SND.UNA did not. That is RACK's time-based rule (RFC 8985 6: a
                    // segment is deemed lost once one sent sufficiently later has been
                    // delivered), which RFC 8985 7 relies on to turn the ACK of a probe
                    // into fast recovery.
                    self.enter_fast_recovery(ctx);
                } else if new_sack && self.cc.in_recovery() && self.una_retransmission_lost() {
                    self.retransmit_una_in_recovery();
                } else if new_sack {
                    self.sack_next_retransmission();
                }
                self.prr_on_ack(0);
            }
        }
        self.finish_ack(ctx, hdr, wnd);
    }

    /// The last steps of every ACK's processing, on the full path and the fast one
    /// (`fastpath.rs`) alike, so that neither can take one without the other: the send
    /// window update, and RFC 8985 6.2's look at the scoreboard - data SACKed above a
    /// hole that IsLost does not yet deem lost starts RACK's reordering timer
    /// (`probe.rs`). Any ACK can find that, including one that SACKs nothing itself,
    /// such as the ACK of a full-sized data segment, which has no room for SACK blocks.
    /// (Speed: a connection that never saw a SACK block keeps no scoreboard and stops
    /// at the test.)
    #[inline(always)]
    pub(super) fn finish_ack(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, wnd: u32) {
        self.update_send_window(ctx, hdr, wnd);
        if self.sack.is_some() {
            self.rack_arm_reorder_timer(ctx);
        }
    }

    /// The new-data branch of the fifth step's ESTABLISHED processing (SND.UNA < SEG.ACK
    /// =< SND.NXT, checked by the caller), shared with the header-prediction fast path
    /// (`fastpath.rs`).
    pub(super) fn ack_new_data(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        let ack = hdr.ack;
        // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments
        // on the retransmission queue that are thereby entirely acknowledged are
        // removed."
        let prior = self.snd_una;
        let acked = ack.since(prior);
        let flight_before = self.flight();
        let fin_part = u32::from(self.fin.is_some_and(|f| ack.gt(f)));
        let data_acked = acked.saturating_sub(fin_part) as usize;
        self.tx.consume(data_acked);
        self.snd_una = ack;
        if self.snd_next.lt(ack) {
            self.snd_next = ack;
        }
        // Karn's algorithm (MUST-18; RFC 6298 5): the backed-off RTO stays until a
        // fresh RTT sample, which `take_rtt_sample` takes only from a segment never
        // retransmitted (or from the timestamps); the ACK of a retransmission does not
        // collapse it.
        self.take_rtt_sample(ctx, ack);
        self.retries = 0;
        // Progress: a user timeout's clock starts again with the data still waiting,
        // when the timer is re-armed below (`Conn::give_up_clamp`). (Synchronized, the
        // deadline is only ever the user timeout's: the open's went with the SYN's ACK.)
        self.give_up_at = crate::time::Instant::ZERO;
        self.sack_on_new_ack(ctx, prior, hdr);
        self.sack_update(hdr);
        let srtt = self.rtt.srtt_or_initial();
        if self.cc.on_new_ack(ack, acked, flight_before, ctx.now, srtt, self.snd_nxt) {
            // RFC 6582 3.2 step 5: a partial ACK retransmits the first unacknowledged
            // segment - unless SACK recovery already did (it lies below HighRxt):
            // then the next hole the scoreboard deems lost, and that retransmission
            // is watched like a fast retransmit's ([`Conn::sack_watch_una_resend`]).
            if self.sack_retransmitted_una() {
                self.sack_watch_una_resend();
                self.sack_next_retransmission();
            } else if self.sack_ack_echoes_original(hdr) {
                self.sack_next_retransmission();
            } else {
                self.retransmit_una_in_recovery();
            }
            self.prr_on_ack(acked);
        }
        self.probe_on_new_ack(ctx, hdr, flight_before, prior);
        // RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart
        // (as a loss probe timeout where RFC 8985 7.2 allows one).
        if self.snd_una == self.snd_nxt {
            let k = self.rto_kind();
            (self.lp.armed, self.lp.reorder) = (false, false);
            self.cancel_timer(ctx, k);
        } else {
            self.arm_retransmission_timer(ctx, true);
        }
        if self.want_writable && self.tx.free() > 0 && self.fin.is_none() {
            self.want_writable = false;
            ctx.sinks.events.push_back(Event::Writable(ctx.id));
        }
        if self.tx.len() == 0 {
            self.tx.release_into(&mut ctx.sinks.spare);
        }
    }

    /// The send window update of the fifth step (SND.UNA =< SEG.ACK =< SND.NXT checked
    /// by the caller or here), through [`Conn::finish_ack`]. `wnd` is SEG.WND scaled.
    // Speed: small, and on the header-prediction fast path.
    #[inline(always)]
    fn update_send_window(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, wnd: u32) {
        let ack = hdr.ack;
        // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If
        // (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND
        // <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
        if self.snd_una.le(ack)
            && (self.snd_wl1.lt(hdr.seq) || (self.snd_wl1 == hdr.seq && self.snd_wl2.le(ack)))
        {
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = hdr.seq;
            self.snd_wl2 = ack;
            let persisting = self.timers.persist.is_some();
            if persisting || wnd == 0 {
                // 3.8.6.1 (MUST-37): "As long as the receiving TCP peer continues to send
                // acknowledgments in response to the probe segments, the sending TCP peer
                // MUST allow the connection to stay open": an answered probe is progress.
                // The probes are the persist timer's, or, when the window shrank to zero
                // under data in flight, the retransmission timer's resends (3.8.6: the
                // sender "SHOULD NOT time out the connection if data beyond the right
                // window edge is not acknowledged", SHLD-17).
                self.retries = 0;
                if persisting && wnd > 0 {
                    self.cancel_timer(ctx, TimerKind::Persist);
                }
            }
        }
    }

    /// Seventh and eighth steps: segment text and FIN. `seq` is the sequence number of
    /// the first payload byte.
    fn process_text_and_fin(&mut self, ctx: &mut Ctx<'_>, seq: SeqNum, payload: &[u8], fin: bool) -> Outcome {
        if self.app_closed && self.state.can_receive() && (payload.len() as u32) > self.rcv_nxt.since(seq) {
            // New data after CLOSE: nobody will read it. RFC 9293 3.6: "if new data is
            // received after CLOSE is called, its TCP SHOULD send a RST to show that data
            // was lost (SHLD-3)". <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>
            let h = control_header(&self.tuple, self.snd_nxt, Some(self.rcv_nxt), TcpFlags::RST, 0);
            ctx.send_control(self.tuple, self.ip, h);
            self.close_with(ctx, Some(ConnError::Aborted));
            return Outcome::Closed;
        }
        if !payload.is_empty() && self.state.can_receive() {
            self.process_text(ctx, seq, payload);
        }
        if fin && self.peer_fin.is_none() {
            let f = seq + payload.len() as u32;
            // Accept the FIN only inside the window (it could not be trimmed away).
            if f.in_window(self.rcv_nxt, self.rcv_nxt + self.advertised_window().max(1)) {
                self.peer_fin = Some(f);
            }
        }
        let out = self.maybe_reach_fin(ctx);
        if fin && self.state.can_receive() {
            // The FIN was not reached: it lies beyond a gap and is "held for later
            // processing" (first step, SHLD-31). RFC 5681 4.2: "A TCP receiver SHOULD send
            // an immediate duplicate ACK when an out-of-order segment arrives" - a bare
            // FIN beyond RCV.NXT is one, and the ACK tells the sender where the gap is.
            self.ack_now = true;
        }
        out
    }

    pub(super) fn process_text(&mut self, ctx: &mut Ctx<'_>, seq: SeqNum, payload: &[u8]) {
        // Trim what lies before RCV.NXT ("only the new parts are processed") and beyond
        // the window.
        let (mut seq, mut data) = (seq, payload);
        if seq.lt(self.rcv_nxt) {
            let skip = (self.rcv_nxt.since(seq) as usize).min(data.len());
            // The old part is a duplicate: RFC 2883 4, reported in a D-SACK block.
            self.dsack_below_rcv_nxt(seq, data.len());
            data = &data[skip..];
            seq = self.rcv_nxt;
        }
        let room = (self.rcv_wnd() as usize).saturating_sub(seq.since(self.rcv_nxt) as usize);
        data = &data[..data.len().min(room)];
        if data.is_empty() {
            self.ack_now = true;
            return;
        }
        self.rx.ring.adopt_from(&mut ctx.sinks.spare);
        let had_gaps = self.rx.has_gaps();
        let readable = self.rx.readable();
        let adv = self.rx.insert(self.rcv_nxt, seq, data);
        if adv == 0 {
            // Out of order (held for later) or dropped: RFC 5681 4.2 "A TCP receiver
            // SHOULD send an immediate duplicate ACK when an out-of-order segment
            // arrives." With SACK, it reports the block (RFC 2018 4).
            self.sack_note(seq, seq + data.len() as u32);
            self.ack_now = true;
            return;
        }
        self.advance_rcv_nxt(adv);
        // What RCV.NXT moved over without entering the receive buffer went straight
        // into the application's buffer (`RecvBuffer::stage_direct`): delivered, the
        // window left open, nothing to read.
        ctx.sinks.delivered_direct += adv - (self.rx.readable() - readable) as u32;
        if self.app_closed {
            // Nobody will read: keep the window open and drop the bytes.
            let n = self.rx.readable();
            self.rx.ring.consume(n);
        } else if self.rx.readable() != 0 {
            self.raise_readable(ctx);
        }
        // RFC 5681 4.2: ACK at once when the segment fills a gap.
        if had_gaps {
            self.ack_now = true;
            return;
        }
        self.schedule_ack(ctx);
    }

    /// "Seventh, process the segment text" for `len` bytes at RCV.NXT that fit the
    /// window, with nothing held out of order and the receive buffer empty, which the
    /// caller has put into the application's buffer (`Conn::commit_direct`): what
    /// [`Conn::process_text`] does when it finds them staged there
    /// (`RecvBuffer::stage_direct`). RCV.NXT moves over them, they take no room in the
    /// receive buffer, nothing becomes readable, and the ACK is scheduled.
    #[inline(always)]
    pub(super) fn text_delivered_direct(&mut self, ctx: &mut Ctx<'_>, len: usize) {
        self.rx.ring.adopt_from(&mut ctx.sinks.spare);
        self.advance_in_order(len);
        self.schedule_ack(ctx);
    }

    /// "Seventh, process the segment text" for `len` bytes at RCV.NXT that fit the
    /// window, with nothing held out of order, which the caller has staged at the
    /// receive buffer's append position (`Conn::commit_in_order`): what
    /// [`Conn::process_text`] does when it finds them staged there
    /// (`RecvBuffer::stage`). They become the buffer's contents, RCV.NXT moves over
    /// them, the application hears once that there is something to read, and the ACK
    /// is scheduled. (No spare storage is adopted: the staging needed storage.)
    #[inline(always)]
    pub(super) fn text_staged_in_order(&mut self, ctx: &mut Ctx<'_>, len: usize) {
        self.rx.ring.commit(len);
        self.advance_in_order(len);
        self.raise_readable(ctx);
        self.schedule_ack(ctx);
    }

    /// RCV.NXT moves over `len` bytes of in-order data taken in without staging
    /// bookkeeping (no duplicate ACK is owed any more).
    #[inline(always)]
    fn advance_in_order(&mut self, len: usize) {
        self.rx.took_in_order();
        self.advance_rcv_nxt(len as u32);
    }

    /// RCV.NXT moves `by` octets; the advertised edge RCV.NXT + RCV.WND never falls
    /// behind it.
    #[inline(always)]
    fn advance_rcv_nxt(&mut self, by: u32) {
        self.rcv_nxt += by;
        if self.rcv_adv.lt(self.rcv_nxt) {
            self.rcv_adv = self.rcv_nxt;
        }
    }

    /// Tell the application there is something to read (or the end of the stream),
    /// once until `recv` has emptied the buffer (`Event::Readable` is edge-triggered).
    #[inline(always)]
    fn raise_readable(&mut self, ctx: &mut Ctx<'_>) {
        if !self.readable_raised {
            self.readable_raised = true;
            ctx.sinks.events.push_back(Event::Readable(ctx.id));
        }
    }

    /// Delayed ACK (3.8.6.3): "an ACK SHOULD be generated for at least every second
    /// full-sized segment ... and MUST be generated within 0.5 seconds".
    // Speed: small, and on the header-prediction fast path.
    #[inline(always)]
    pub(super) fn schedule_ack(&mut self, ctx: &mut Ctx<'_>) {
        self.unacked_segments += 1;
        match ctx.cfg.delayed_ack {
            Some(d) if self.unacked_segments < 2 => {
                if self.timers.delack.is_none() {
                    // MUST-40: "the delay MUST be less than 0.5 seconds", whatever the
                    // configuration asks for.
                    let at = ctx.now + d.min(crate::time::Duration::from_micros(499_999));
                    self.set_timer(ctx, TimerKind::DelayedAck, at);
                }
            }
            _ => self.ack_now = true,
        }
    }

    /// "Eighth, check the FIN bit": reached once RCV.NXT arrives at the peer's FIN.
    pub(crate) fn maybe_reach_fin(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        let Some(f) = self.peer_fin else { return Outcome::None };
        if f != self.rcv_nxt || !self.state.can_receive() {
            return Outcome::None;
        }
        // "signal the user "connection closing" and return any pending RECEIVEs with
        // same message, advance RCV.NXT over the FIN, and send an acknowledgment for
        // the FIN." In ESTABLISHED that acknowledgment may wait like any other
        // (`Config::delay_fin_ack`): the application's FIN usually carries it.
        self.advance_rcv_nxt(1);
        if self.state == State::Established && ctx.cfg.delay_fin_ack {
            self.schedule_ack(ctx);
        } else {
            self.ack_now = true;
        }
        ctx.sinks.events.push_back(Event::PeerFin(ctx.id));
        if !self.app_closed {
            self.raise_readable(ctx);
        }
        match self.state {
            // "ESTABLISHED STATE: Enter the CLOSE-WAIT state."
            State::Established | State::SynReceived => {
                self.set_state(ctx, State::CloseWait);
                Outcome::None
            }
            // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT,
            // start the time-wait timer, turn off the other timers; otherwise, enter the
            // CLOSING state."
            State::FinWait1 if self.fin_acked() => {
                self.enter_time_wait(ctx);
                Outcome::TimeWait
            }
            State::FinWait1 => {
                self.set_state(ctx, State::Closing);
                Outcome::None
            }
            // "FIN-WAIT-2 STATE: Enter the TIME-WAIT state. Start the time-wait timer,
            // turn off the other timers."
            State::FinWait2 => {
                self.enter_time_wait(ctx);
                Outcome::TimeWait
            }
            _ => Outcome::None,
        }
    }

    /// Enter TIME-WAIT: every timer of the full connection stops; the stack starts the
    /// 2×MSL timer on the compact record that replaces it.
    fn enter_time_wait(&mut self, ctx: &mut Ctx<'_>) {
        self.cancel_all_timers(ctx);
        self.set_state(ctx, State::TimeWait);
    }
}
