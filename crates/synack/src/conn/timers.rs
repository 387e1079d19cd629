//! Timeouts of one connection (RFC 9293 3.10.8; RFC 6298 5; 3.8.6.1; 3.8.6.3).

use super::{Conn, Ctx, Outcome};
use crate::error::ConnError;
use crate::state::State;
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
        if self.fire(ctx, rto_kind) {
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
            if self.retries > ctx.cfg.max_retries {
                self.close_with(ctx, Some(ConnError::TimedOut));
                return Outcome::Closed;
            }
            self.probe_due = true;
            self.rtt.back_off();
            let at = ctx.now + self.rtt.rto();
            self.set_timer(ctx, TimerKind::Persist, at);
        }
        if self.fire(ctx, TimerKind::Keepalive) && self.state == State::FinWait2 {
            // An orphaned connection waited long enough for the peer's FIN.
            self.close_with(ctx, Some(ConnError::TimedOut));
            return Outcome::Closed;
        }
        Outcome::None
    }

    /// RFC 6298 5.4-5.6 and RFC 9293 3.8.3 (R2: give up).
    fn on_retransmission_timeout(&mut self, ctx: &mut Ctx<'_>) -> Outcome {
        let limit = match self.state {
            State::SynSent | State::SynReceived => ctx.cfg.syn_retries,
            _ => ctx.cfg.max_retries,
        };
        if self.retries >= limit {
            // "close the connection" after R2; a passive embryo just disappears.
            if self.state == State::SynReceived && self.listener.is_some() {
                self.cancel_all_timers(ctx);
                return Outcome::Discard;
            }
            self.close_with(ctx, Some(ConnError::TimedOut));
            return Outcome::Closed;
        }
        self.retries += 1;
        // 5.5: back off the timer; 5.4: retransmit the earliest unacknowledged segment.
        self.rtt.back_off();
        self.rtt_probe = None;
        match self.state {
            State::SynSent | State::SynReceived => {
                self.need_syn = true;
                self.syn_timed_out = true;
            }
            _ => {
                self.cc.on_rto(self.flight());
                self.probe_on_rto();
                self.sack_on_rto();
                // Go back to SND.UNA: the segment there is sent at once, even into a
                // zero window (it then doubles as the window probe of 3.8.6.1), and
                // everything after it follows as the collapsed congestion window allows.
                self.snd_next = self.snd_una;
                self.retransmit_una = true;
            }
        }
        // 5.6: "Start the retransmission timer, such that it expires after RTO seconds
        // (for the value of RTO after the doubling operation outlined in 5.5)." (No PTO
        // in RTO recovery, RFC 8985 7.2: `probe_timeout` says so.)
        self.arm_retransmission_timer(ctx, true);
        Outcome::None
    }
}
