//! Tail loss probe (RFC 8985 7): when the last segments of a flight, or the ACKs for
//! them, are lost, no duplicate ACKs come back and only the retransmission timer would
//! notice - at least 200 ms later, after which the window collapses to one segment. A
//! probe timeout (PTO) of about two round trips comes first and sends one segment
//! (new data, or the last segment again) so that the ACK it elicits starts the normal
//! recovery instead.
//!
//! The PTO shares the retransmission timer's slot (the trace shows it as the `rto`
//! timer, set earlier than an RTO would be): RFC 8985 7.3 re-arms the RTO once the
//! probe is out, so the two never run at once.

use super::{Conn, Ctx};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::trace::TimerAction;
use crate::wire::TcpHeader;

/// The loss-probe state of one sender.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LossProbe {
    /// The retransmission timer's slot holds a PTO, not an RTO.
    pub(crate) armed: bool,
    /// The retransmission timer's slot holds RACK's reordering timer
    /// ([`Conn::rack_arm_reorder_timer`]), not a PTO or an RTO.
    pub(crate) reorder: bool,
    /// A probe is due from `next_segment`.
    pub(crate) send: bool,
    /// "TLP.end_seq": SND.NXT after the probe went out, while the episode lasts.
    pub(crate) end: Option<SeqNum>,
    /// The probe retransmitted the segment starting here (rather than sending new
    /// data); a D-SACK for it shows the loss was only apparent.
    pub(crate) retransmitted: Option<SeqNum>,
    /// SND.NXT when the retransmission timer last expired: no probes until the ACKs pass
    /// it ("RTO recovery", RFC 8985 7.2), nor fast recovery (`Conn::in_rto_recovery`).
    pub(crate) rto_recover: Option<SeqNum>,
    /// F-RTO's step after a timeout (RFC 5682, `conn/frto.rs`).
    pub(crate) frto: super::frto::Frto,
}

impl Conn {
    /// The probe timeout, when a probe may be scheduled now (RFC 8985 7.2): "The sender
    /// SHOULD start or restart a loss probe PTO timer after transmitting new data ...
    /// or upon receiving an ACK that cumulatively acknowledges new data, unless it is
    /// already in fast recovery, RTO recovery, or the sender has segments delivered out
    /// of order (i.e., RACK.segs_sacked is not zero). These conditions are excluded
    /// because they are addressed by similar mechanisms, like ... the RACK reordering
    /// timer" - so the last holds only where that timer runs
    /// (`Config::rack_reorder_timer`); and one probe per episode. Without an RTT
    /// sample there is no PTO (the RTO alone runs).
    // Speed: on every data segment sent (through `arm_retransmission_timer`).
    #[inline(always)]
    pub(super) fn probe_timeout(&self, ctx: &Ctx<'_>) -> Option<Duration> {
        if !ctx.cfg.tail_loss_probe
            || matches!(self.state, State::SynSent | State::SynReceived)
            || self.lp.end.is_some()
            || self.lp.rto_recover.is_some()
            || self.cc.in_recovery()
            || (ctx.cfg.rack_reorder_timer && self.sack_holds_data())
        {
            return None;
        }
        // "If FlightSize is equal to one segment ... PTO = 2*SRTT + WCDelAckT; otherwise
        // PTO = 2*SRTT", and "PTO = min(PTO, RTO)" - both precomputed by the estimator
        // (speed: they change only with a sample or a backoff).
        self.rtt.pto(self.flight() <= u32::from(self.mss))
    }

    /// Start the retransmission timer - as a PTO where a probe is allowed - when it is
    /// not running, or always when `restart` (RFC 6298 5.1 and 5.3; RFC 8985 7.2).
    ///
    /// Size: never inlined. The data path (`transmit_next`) had its own inlined copy
    /// besides this one, which the SYN path runs: one copy instead of two measured
    /// transmit_next 89 -> 82 hot lines for +1 here, instructions per churn lifecycle
    /// 23337 -> 23320, bulk_1500 +0.1% (the call, once the trace was out of line and
    /// this function needed no stack frame, costs little).
    #[inline(never)]
    pub(super) fn arm_retransmission_timer(&mut self, ctx: &mut Ctx<'_>, restart: bool) {
        if !restart && self.timers.rto.is_some() {
            return;
        }
        let (delay, probe) = match self.probe_timeout(ctx) {
            Some(pto) => (pto, true),
            None => (self.rtt.rto(), false),
        };
        let at = self.clamp_to_give_up(ctx.now, ctx.now + delay);
        if self.timers.rto == Some(at) && self.lp.armed == probe && !self.lp.reorder {
            // Speed: a burst of segments at one instant restarts the PTO to the same
            // deadline; only the first needs the timer upkeep (and the trace record).
            return;
        }
        // (Any other deadline replaces RACK's reordering timer.)
        self.fill_rto_slot(ctx, at, probe, false);
    }

    /// Put `at` in the retransmission timer's slot, which then holds a PTO (`probe`),
    /// RACK's reordering timer (`reorder`) or an RTO (neither).
    ///
    /// Size: the slot is the same for every kind, so only the trace asks which
    /// (`set_timer` with `rto_kind` had the compiler copy the whole timer upkeep into a
    /// branch per kind).
    #[inline(always)]
    pub(super) fn fill_rto_slot(&mut self, ctx: &mut Ctx<'_>, at: Instant, probe: bool, reorder: bool) {
        (self.lp.armed, self.lp.reorder) = (probe, reorder);
        let old = self.timers.rto.replace(at);
        self.timers.after_set(old, at);
        if ctx.cfg.trace {
            self.trace_timer(ctx, self.rto_kind(), TimerAction::Set, at);
        }
    }

    /// A deadline `at` for the retransmission or persist timer, brought forward to the
    /// instant the connection gives up if that is earlier ([`Conn::give_up_clamp`]).
    /// (Speed: the test inlined, the work out of line; most connections have neither
    /// a user timeout nor an open's deadline.)
    #[inline]
    pub(super) fn clamp_to_give_up(&mut self, now: Instant, at: Instant) -> Instant {
        if self.give_up_at != Instant::ZERO || self.user_timeout != Duration::ZERO {
            self.give_up_clamp(now, at)
        } else {
            at
        }
    }

    /// Whether the connection's give-up deadline has come (see [`Conn::give_up_at`]).
    pub(super) fn past_give_up(&self, now: Instant) -> bool {
        self.give_up_at != Instant::ZERO && now >= self.give_up_at
    }

    /// Start the user timeout's clock if it is not running (nothing sent was waiting
    /// for an acknowledgment until now), keep the earlier of it and an open's deadline,
    /// and bring the timer's deadline `at` forward to the instant the connection gives
    /// up, so that it gives up then rather than at the next retransmission.
    #[cold]
    #[inline(never)]
    pub(super) fn give_up_clamp(&mut self, now: Instant, at: Instant) -> Instant {
        if self.user_timeout != Duration::ZERO {
            // (Never at 0, which stands for none.)
            let d = (now + self.user_timeout).max(Instant::from_micros(1));
            if self.give_up_at == Instant::ZERO || d < self.give_up_at {
                self.give_up_at = d;
            }
        }
        if self.give_up_at == Instant::ZERO {
            return at;
        }
        at.min(self.give_up_at)
    }

    /// The PTO expired (RFC 8985 7.3): ask `next_segment` for a probe, which also
    /// re-arms the RTO ("the sender MUST re-arm the RTO timer, not the PTO timer").
    ///
    /// Unless the peer has SACKed data above SND.UNA: then the hole at SND.UNA was sent
    /// before data that was delivered, and at least a PTO (two round trips) ago - lost
    /// by RACK's rule (RFC 8985 6.2, paraphrased: a segment is lost once one sent after
    /// it has been delivered and a round trip plus the reordering window has passed
    /// since it was sent), which with RACK would have started recovery already. Fast
    /// recovery starts now and retransmits it. A probe would resend the last segment,
    /// which the peer may already hold (one needless retransmission), or send new
    /// data, and recovery would wait a round trip for the probe's ACK.
    pub(super) fn on_probe_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.lp.armed = false;
        if self.snd_una == self.snd_nxt || self.probe_timeout(ctx).is_none() {
            // Nothing outstanding, or recovery began meanwhile: back to a plain RTO.
            self.arm_retransmission_timer(ctx, true);
            return;
        }
        if self.sack_holds_data() {
            self.enter_fast_recovery(ctx);
            self.arm_retransmission_timer(ctx, true);
            return;
        }
        self.lp.send = true;
        ctx.sinks.stats.loss_probes += 1;
    }

    /// RACK's reordering timer (RFC 8985 6.2 step 5, paraphrased: a segment sent
    /// before one that has been delivered is lost once RACK.rtt plus the reordering
    /// window has passed since it was sent; for one whose time has not come yet, a
    /// timer is set for the rest), armed after an ACK that leaves data SACKed above the
    /// hole at SND.UNA outside recovery, too little for IsLost (RFC 6675 4, DupThresh
    /// segments' worth, which starts recovery at once). The caller has checked that the
    /// connection keeps a scoreboard.
    ///
    /// Without per-segment send times the hole's deadline is bounded from above: the
    /// hole was sent no later than the data SACKed above it, and that data no later
    /// than this ACK's arrival minus its round trip (RACK.rtt), so "sent + RACK.rtt +
    /// window" comes at most one window from now. The timer runs one window from now:
    /// never earlier than RACK would deem the hole lost, and just as early when the
    /// hole and the data SACKed above it left together (one flight, one instant).
    ///
    /// The window (step 4): RACK.min_RTT / 4 on a connection that has seen no
    /// reordering; once it has, SRTT, step 4's upper bound (synack does not grow the
    /// window with D-SACKs, as step 4's multiplier does, but starts where it ends). The
    /// slot's PTO or RTO gives way only to an earlier deadline; after the timer, the
    /// RTO runs ([`Conn::on_reorder_timeout`]).
    #[inline(never)]
    pub(super) fn rack_arm_reorder_timer(&mut self, ctx: &mut Ctx<'_>) {
        if !ctx.cfg.rack_reorder_timer
            || self.lp.reorder
            || self.cc.in_recovery()
            || self.lp.rto_recover.is_some()
            || self.ecn & super::ecn::HOLD != 0
            || self.snd_una == self.snd_nxt
            || !self.sack_holds_data()
        {
            return;
        }
        let Some(current) = self.timers.rto else { return };
        let window = match self.sack.as_deref().map(|s| s.reordering_seen()) {
            Some(true) => self.rtt.srtt(),
            _ => self.rtt.min_rtt().map(|m| Duration::from_micros(m.as_micros() / 4)),
        };
        let Some(window) = window else { return };
        let at = self.clamp_to_give_up(ctx.now, ctx.now + window);
        if at >= current {
            return;
        }
        self.fill_rto_slot(ctx, at, false, true);
    }

    /// RACK's reordering timer expired (RFC 8985 6.3): the hole at SND.UNA, still
    /// missing below SACKed data, is deemed lost, and fast recovery begins with its
    /// retransmission (RFC 6675 5, as when IsLost deems it lost); then the RTO runs.
    pub(super) fn on_reorder_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.lp.reorder = false;
        if self.snd_una != self.snd_nxt && !self.cc.in_recovery() && self.sack_holds_data() {
            ctx.sinks.stats.reorder_timeouts += 1;
            self.enter_fast_recovery(ctx);
        }
        self.arm_retransmission_timer(ctx, true);
    }

    /// The probe itself, which opens the episode (TLP.end_seq, set before the segment
    /// goes out so that the timer armed with it is an RTO): "If a previously unsent
    /// segment exists AND the receive window allows new data to be sent: Transmit that
    /// new segment ... Otherwise: Retransmit the last segment" (RFC 8985 7.3). Returns
    /// `(seq, len, fin, retransmit)`; the congestion window does not apply (one
    /// segment, in place of an ACK that did not come).
    pub(super) fn take_probe(&mut self) -> Option<(SeqNum, u32, bool, bool)> {
        if !std::mem::take(&mut self.lp.send) || self.snd_una == self.snd_nxt {
            return None;
        }
        let mss = u32::from(self.mss);
        let data_end = self.snd_una + self.tx.len() as u32;
        let window_edge = self.snd_una + self.snd_wnd;
        let unsent = data_end.since(self.snd_nxt);
        let allowed = window_edge.since(self.snd_nxt).min(unsent).min(mss);
        let probe = if self.snd_next == self.snd_nxt && allowed > 0 && self.snd_nxt.lt(window_edge) {
            let fin = self.fin.is_some_and(|f| f == self.snd_nxt + allowed);
            self.lp.end = Some(self.snd_nxt + allowed + u32::from(fin));
            (self.snd_nxt, allowed, fin, false)
        } else {
            // The last segment: up to one MSS of data before SND.NXT, and our FIN if it
            // is out.
            let fin = self.fin.is_some_and(|f| f.lt(self.snd_nxt));
            let data_top = self.snd_nxt - u32::from(fin);
            let len = data_top.since(self.snd_una).min(mss);
            let seq = data_top - len;
            self.lp.retransmitted = Some(seq);
            self.lp.end = Some(self.snd_nxt);
            (seq, len, fin, true)
        };
        Some(probe)
    }

    /// An ACK of new data (RFC 8985 7.4): ends RTO recovery and TLP episodes it passes.
    /// A probe that retransmitted the last segment and is acknowledged without a D-SACK
    /// (RFC 2883) for it repaired a real loss: "If the TLP sender does not receive such
    /// an indication before the end of the TLP recovery episode, then it MUST trigger a
    /// congestion control response equivalent to a fast recovery" (7.4.2).
    ///
    /// In RTO recovery, F-RTO (`conn/frto.rs`) sees the ACK first; `prior` is SND.UNA
    /// before it.
    pub(super) fn probe_on_new_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        hdr: &TcpHeader,
        flight_before: u32,
        prior: SeqNum,
    ) {
        let ack = hdr.ack;
        if let Some(r) = self.lp.rto_recover {
            if self.lp.frto != super::frto::Frto::Off {
                self.frto_on_new_ack(ctx, hdr, prior, flight_before);
            }
            if r.le(ack) {
                // Everything sent before the timeout is acknowledged: nothing is left
                // to resend, and F-RTO has nothing left to decide (RFC 5682 step 2a).
                self.lp.rto_recover = None;
                self.lp.frto = super::frto::Frto::Off;
            }
        }
        let Some(end) = self.lp.end else { return };
        if ack.lt(end) {
            return;
        }
        self.lp.end = None;
        if let Some(seq) = self.lp.retransmitted.take() {
            // A D-SACK is the first SACK block, reporting data below the cumulative ACK
            // (RFC 2883 4).
            let dsack = hdr
                .options
                .sack_blocks()
                .first()
                .is_some_and(|b| b.right.le(ack) && b.left.le(seq) && seq.lt(b.right));
            if !dsack {
                self.cc.on_probe_repaired_loss(flight_before);
            }
        }
    }

    /// Fast recovery began: no probe may be scheduled in it (RFC 8985 7.2), so a
    /// pending PTO becomes the RTO, counted from now (and so does RACK's reordering
    /// timer, whose work recovery has taken over).
    pub(super) fn probe_on_recovery(&mut self, ctx: &mut Ctx<'_>) {
        if self.lp.armed || self.lp.reorder {
            self.arm_retransmission_timer(ctx, true);
        }
    }

    /// The retransmission timer expired: no probes until everything sent so far is
    /// acknowledged, and any episode is over.
    pub(super) fn probe_on_rto(&mut self) {
        self.lp = LossProbe { rto_recover: Some(self.snd_nxt), ..LossProbe::default() };
    }
}
