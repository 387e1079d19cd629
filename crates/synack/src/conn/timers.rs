//! Timeouts of one connection (RFC 9293 3.10.8; RFC 6298 5; 3.8.6.1; 3.8.6.3).

use super::{Conn, Ctx, Outcome};
use crate::error::ConnError;
use crate::event::Event;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::trace::{TimerAction, TimerKind};

impl Conn {
    fn fire(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) -> bool {
        let slot = self.timers.slot(kind);
        match *slot {
            Some(at) if at <= ctx.now => {
                *slot = None;
                self.timers.after_cancel(at);
                self.trace_timer(ctx, kind, TimerAction::Fire, at);
                true
            }
            _ => false,
        }
    }

    /// Run every timer that is due at `ctx.now`.
    pub(crate) fn on_timeout(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        let rto_kind = self.rto_kind();
        // (An ECN echo's hold that expires with nothing outstanding only ends the hold,
        // RFC 3168 6.1.2: new data may go.)
        if self.fire(ctx, rto_kind) && !(self.ecn & super::ecn::HOLD != 0 && self.ecn_hold_expired()) {
            if self.past_give_up(ctx.now) {
                // What was sent is still unacknowledged at the deadline. While opening,
                // `Config::connect_timeout` (RFC 9293 3.8.3: "The application can close
                // the connection (i.e., give up on the open attempt) sooner"); or the
                // user timeout (3.10.8, USER TIMEOUT: "For any state if the user
                // timeout expires, flush all queues, signal the user "error: connection
                // aborted due to user timeout" ... delete the TCB, enter the CLOSED
                // state").
                self.close_with(ctx, Some(ConnError::TimedOut));
                return Outcome::Closed;
            }
            if self.lp.reorder {
                // RACK's reordering timer, not an RTO (RFC 8985 6.3, `probe.rs`).
                self.on_reorder_timeout(ctx);
                return Outcome::None;
            }
            if self.lp.armed {
                // A probe timeout, not an RTO (RFC 8985 7.3, `probe.rs`).
                self.on_probe_timeout(ctx);
                return Outcome::None;
            }
            let out = self.on_retransmission_timeout(ctx);
            if out != Outcome::None {
                return out;
            }
        }
        if self.fire(ctx, TimerKind::DelayedAck) {
            // 3.8.6.3: the delayed ACK is due.
            self.ack_now = true;
        }
        if self.fire(ctx, TimerKind::Persist) {
            // 3.8.6.1: probe the zero window, backing off exponentially. "The
            // transmitting host SHOULD send the first zero-window probe when a zero
            // window has existed for the retransmission timeout period".
            self.retries += 1;
            // The user timeout ends a wait behind a closed window too, answered probes
            // or not: the application's own limit on undelivered data (3.9.1), where
            // TCP itself "MUST allow the connection to stay open (MUST-37)".
            if self.past_give_up(ctx.now) || self.retries > self.r2(ctx.cfg) {
                self.close_with(ctx, Some(ConnError::TimedOut));
                return Outcome::Closed;
            }
            self.probe_due = true;
            self.rtt.back_off();
            let at = self.clamp_to_give_up(ctx.now, ctx.now + self.rtt.rto());
            self.set_timer(ctx, TimerKind::Persist, at);
        }
        // (The keep-alive deadline, read before it fires: it dates the last probe.)
        let keepalive_at = self.timers.fin_wait2;
        if self.fire(ctx, TimerKind::Keepalive) {
            if self.state == State::FinWait2 && self.app_closed {
                // An orphaned connection waited long enough for the peer's FIN.
                self.close_with(ctx, Some(ConnError::TimedOut));
                return Outcome::Closed;
            }
            if let Some(at) = keepalive_at {
                return self.on_keepalive_timeout(ctx, at);
            }
        }
        Outcome::None
    }

    /// Whether keep-alive runs in `state`: ESTABLISHED and CLOSE-WAIT, and FIN-WAIT-2
    /// while the application still holds the connection (a half-close: our FIN is
    /// acknowledged, and only the peer's data and FIN can come). In the other states our
    /// FIN is unacknowledged (the retransmission timer watches the peer), the orphaned
    /// FIN-WAIT-2's own limit uses the timer slot keep-alive shares, or the connection is
    /// not synchronized. (Without FIN-WAIT-2, a half-closed connection whose peer gave
    /// up while every ACK of its data was lost waited for ever: campaign seed 1694606.)
    fn keepalive_state(&self, state: State) -> bool {
        match state {
            State::Established | State::CloseWait => true,
            State::FinWait2 => !self.app_closed,
            _ => false,
        }
    }

    /// The keep-alive timings in force: the connection's own, or the configured ones
    /// (the defaults of [`crate::Keepalive`] when none are).
    pub(crate) fn keepalive_timings(&self, cfg: &crate::Config) -> crate::Keepalive {
        match self.ka_timings.as_deref() {
            Some(own) => *own,
            None => cfg.keepalive.unwrap_or_default(),
        }
    }

    /// Start keep-alive's idle time (RFC 9293 3.8.4).
    fn arm_keepalive(&mut self, ctx: &mut Ctx<'_>) {
        self.ka_probes = 0;
        let at = ctx.now + self.keepalive_timings(ctx.cfg).idle;
        self.set_timer(ctx, TimerKind::Keepalive, at);
    }

    /// Stop keep-alive's timer.
    fn stop_keepalive(&mut self, ctx: &mut Ctx<'_>) {
        self.ka_probes = 0;
        self.cancel_timer(ctx, TimerKind::Keepalive);
    }

    /// In FIN-WAIT-2 with the application gone (it closed before or after our FIN was
    /// acknowledged), nobody will read: bound the wait for the peer's FIN by
    /// `fin_wait2_timeout`, in the timer slot keep-alive used while the application
    /// held the connection.
    pub(crate) fn limit_orphaned_fin_wait2(&mut self, ctx: &mut Ctx<'_>) {
        self.ka_probes = 0;
        let at = ctx.now + ctx.cfg.fin_wait2_timeout;
        self.set_timer(ctx, TimerKind::Keepalive, at);
    }

    /// Keep-alive starts and stops with the states it runs in (see
    /// [`Conn::keepalive_state`]); `Conn::set_state` calls this when keep-alive is on.
    #[inline(never)]
    pub(super) fn keepalive_on_state(&mut self, ctx: &mut Ctx<'_>, from: State, to: State) {
        match (self.keepalive_state(from), self.keepalive_state(to)) {
            (false, true) => self.arm_keepalive(ctx),
            (true, false) => self.stop_keepalive(ctx),
            _ => {}
        }
    }

    /// Turn keep-alive on or off for this connection (MUST-24), arming or stopping its
    /// timer when the connection is in a state it runs in.
    pub(crate) fn set_keepalive(&mut self, ctx: &mut Ctx<'_>, on: bool) {
        if on == self.keepalive {
            return;
        }
        self.keepalive = on;
        if self.keepalive_state(self.state) {
            if on {
                self.arm_keepalive(ctx);
            } else {
                self.stop_keepalive(ctx);
            }
        }
    }

    /// Give this connection keep-alive timings of its own (RFC 9293 3.8.4: the idle
    /// "interval MUST be configurable (MUST-27)"), whether keep-alive is on or not.
    /// While it runs and no probe is out, the idle time is measured again from the
    /// last segment received: the first probe is due `idle` after it, or at once if
    /// that is past. While probing, the next probe keeps its time; the new interval
    /// and count apply from it on.
    #[inline(never)]
    pub(crate) fn set_keepalive_timings(&mut self, ctx: &mut Ctx<'_>, timings: crate::Keepalive) {
        match self.ka_timings.as_deref_mut() {
            Some(own) => *own = timings,
            None => self.ka_timings = Some(Box::new(timings)),
        }
        if self.keepalive && self.keepalive_state(self.state) && self.ka_probes == 0 {
            let at = (self.last_rx + timings.idle).max(ctx.now);
            self.set_timer(ctx, TimerKind::Keepalive, at);
        }
    }

    /// The keep-alive timer, due at `at`, fired (RFC 9293 3.8.4): "Keep-alive packets
    /// MUST only be sent when no sent data is outstanding, and no data or acknowledgment
    /// packets have been received for the connection within an interval (MUST-26)." A
    /// probe is the zero-window probe's segment, <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>,
    /// which lies before the peer's window, so that any live peer answers it with an ACK
    /// (3.10.7.4, first step); a peer that lost the connection answers with a RST.
    /// Every segment received since the last probe counts as an answer; after `probes`
    /// unanswered ones the connection is closed as timed out.
    #[inline(never)]
    fn on_keepalive_timeout(&mut self, ctx: &mut Ctx<'_>, at: Instant) -> Outcome {
        if !self.keepalive || !self.keepalive_state(self.state) {
            return Outcome::None;
        }
        let ka = self.keepalive_timings(ctx.cfg);
        let now = ctx.now;
        // While probing, the timer was set `interval` after the last probe went out:
        // anything received since then answered it. (Speed: derived here, so that the
        // receive path only notes the time of each segment.)
        if self.ka_probes > 0 && self.last_rx + ka.interval >= at {
            self.ka_probes = 0;
        }
        if self.tx.len() > 0 || self.snd_una != self.snd_nxt {
            // Data outstanding or waiting: the retransmission and persist timers watch the
            // peer (R2 closes a dead connection); look again after another idle time.
            self.ka_probes = 0;
            self.set_timer(ctx, TimerKind::Keepalive, now + ka.idle);
            return Outcome::None;
        }
        if self.ka_probes == 0 {
            let due = self.last_rx + ka.idle;
            if now < due {
                self.set_timer(ctx, TimerKind::Keepalive, due);
                return Outcome::None;
            }
        }
        // MUST-29: a keep-alive mechanism "MUST NOT interpret failure to respond to any
        // specific probe as a dead connection": at least two probes.
        if self.ka_probes >= ka.probes.max(crate::Keepalive::MIN_PROBES) {
            ctx.sinks.stats.keepalive_drops += 1;
            self.close_with(ctx, Some(ConnError::TimedOut));
            return Outcome::Closed;
        }
        self.ka_probes += 1;
        ctx.sinks.stats.keepalive_probes += 1;
        self.probe_due = true;
        self.set_timer(ctx, TimerKind::Keepalive, now + ka.interval);
        Outcome::None
    }

    /// Go back to SND.UNA (go-back-N, RFC 6298 5.4): the segment there is sent at once,
    /// even into a zero window (it then doubles as the window probe of 3.8.6.1), and the
    /// rest after it. What was sent is forgotten as lost (no RTT sample from it, by
    /// Karn's rule), except what the SACK scoreboard shows the receiver holds, which
    /// the resend skips ([`Conn::skip_sacked`]). After a timeout, and after a path MTU
    /// reduction (`conn/icmp.rs`).
    pub(super) fn resend_from_una(&mut self) {
        self.rtt_probe = None;
        // With timestamps the ACK of a resent segment echoes the resend's TSval, an
        // unambiguous RTT sample (RFC 7323 4.1; RFC 6298 3: "The only case when TCP can
        // safely take RTT samples from retransmitted segments is when the TCP timestamp
        // option is employed"): the first ACK of new data after this takes one, and
        // that sample collapses the backoff (RFC 6298 5). Without timestamps Karn's
        // rule waits for data never retransmitted.
        self.options.restart_ts_sampling(self.snd_una);
        self.sack_on_rto();
        self.snd_next = self.snd_una;
        self.retransmit_una = true;
    }

    /// Whether the resend from SND.UNA after a retransmission timeout is under way:
    /// SND.UNA is below the SND.NXT of the last timeout (RFC 8985 7.2's "RTO
    /// recovery", `LossProbe::rto_recover`).
    ///
    /// Duplicate ACKs are then not counted (`Conn::process_ack`). RFC 6582 4
    /// ("Handling Duplicate Acknowledgments after a Timeout", paraphrased: its text is
    /// not in `../shared`):
    /// each timeout records the highest sequence number sent so far in `recover`;
    /// duplicate ACKs that do not cover more than it come from the resend repeating
    /// what the receiver already holds, not from new congestion, and by its 3.2 step 1
    /// they start no fast retransmit and leave ssthresh alone. The resend, in slow
    /// start, repairs that window's losses. (Before this, such duplicates started a
    /// fast recovery, which set cwnd from the whole window outstanding at the timeout:
    /// the window the timeout had collapsed was back at once, and the resend ran at
    /// it. In the simulator, 4 MB over a 20 Mbit/s, 40 ms path with 10% random loss,
    /// eight seeds: 20,620 retransmissions for 4,261 losses, 8,060 of them of data the
    /// client already held.)
    pub(super) fn in_rto_recovery(&self) -> bool {
        self.lp.rto_recover.is_some_and(|r| self.snd_una.lt(r))
    }

    /// Set the user timeout (see `Stack::set_user_timeout`); `None` stops it. A clock
    /// already running (something sent waits for its acknowledgment) keeps its start,
    /// and an armed retransmission timer is brought forward to the new deadline.
    pub(crate) fn set_user_timeout(&mut self, ctx: &mut Ctx<'_>, timeout: Option<Duration>) {
        let timeout = timeout.unwrap_or(Duration::ZERO);
        if !matches!(self.state, State::SynSent | State::SynReceived) {
            // Synchronized: the deadline is the clock's start plus the timeout. (While
            // opening it is the open's own, `Config::connect_timeout`, and the user
            // timeout is measured from now, by `give_up_clamp` below.)
            self.give_up_at = if self.give_up_at == Instant::ZERO || timeout == Duration::ZERO {
                Instant::ZERO
            } else {
                let started = self.give_up_at.as_micros().saturating_sub(self.user_timeout.as_micros());
                Instant::from_micros(started) + timeout
            };
        }
        self.user_timeout = timeout;
        // Re-arm an armed retransmission timer (not a loss probe's, which re-arms the
        // RTO when it fires), or the persist timer of data waiting behind a closed
        // window: the clock starts if it was not running.
        let armed = match (self.timers.rto, self.timers.persist) {
            (Some(at), _) if !self.lp.armed => Some((self.rto_kind(), at)),
            (_, Some(at)) => Some((TimerKind::Persist, at)),
            _ => None,
        };
        if let Some((kind, at)) = armed {
            let clamped = self.give_up_clamp(ctx.now, at);
            if clamped != at {
                self.set_timer(ctx, kind, clamped);
            }
        }
    }

    /// RFC 6298 5.4-5.6 and RFC 9293 3.8.3 (R1: report; R2: give up).
    fn on_retransmission_timeout(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        if self.retries >= self.r2(ctx.cfg) {
            // "close the connection" after R2; a passive embryo just disappears.
            if self.state == State::SynReceived && self.listener.is_some() {
                self.cancel_all_timers(ctx);
                return Outcome::Discard;
            }
            self.close_with(ctx, Some(ConnError::TimedOut));
            return Outcome::Closed;
        }
        self.retries += 1;
        if self.retries == ctx.cfg.report_after_retries && self.known_to_app() && ctx.cfg.error_reports {
            // RFC 9293 3.8.3: "TCP implementations SHOULD inform the application of the
            // delivery problem ... when R1 is reached and before R2 (SHLD-9)", SYNs
            // included (MUST-22). The event is also the "negative advice" to the IP
            // layer (MUST-20): the driver, which routes, gets it.
            ctx.sinks
                .events
                .push_back(Event::DeliveryProblem { conn: ctx.id, retransmissions: self.retries });
        }
        // 5.5: back off the timer; 5.4: retransmit the earliest unacknowledged segment.
        self.rtt.back_off();
        match self.state {
            State::SynSent | State::SynReceived => {
                self.rtt_probe = None;
                self.need_syn = true;
                self.syn_timed_out = true;
            }
            _ => {
                self.sack_reordering_on_rto();
                // A timeout while F-RTO still waits for the first ACK after an earlier
                // one continues that one's episode (a spike longer than two RTOs).
                let same_episode = self.lp.frto == super::frto::Frto::First;
                let ssthresh = self.cc.ssthresh;
                self.cc.on_rto(self.flight(), same_episode);
                self.probe_on_rto();
                // Everything after SND.UNA follows as the collapsed congestion window
                // allows - unless F-RTO finds the timeout spurious.
                self.resend_from_una();
                self.frto_on_rto(ctx, same_episode, ssthresh);
            }
        }
        // 5.6: "Start the retransmission timer, such that it expires after RTO seconds
        // (for the value of RTO after the doubling operation outlined in 5.5)." (No PTO
        // in RTO recovery, RFC 8985 7.2: `probe_timeout` says so.)
        self.arm_retransmission_timer(ctx, true);
        Outcome::None
    }
}
