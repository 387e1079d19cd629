//! TIME-WAIT as compact records (RFC 9293 3.4.2, 3.10.7.4).
//!
//! A connection entering TIME-WAIT gives up its buffers and timers; what remains is a
//! record of a few dozen bytes (see [`super::twtable`]): the 4-tuple, SND.NXT, RCV.NXT,
//! the advertised window, MAX.SND.WND and the 2×MSL deadline - enough to run the steps
//! of 3.10.7.4 on any segment. It answers a retransmitted FIN with an ACK and restarts
//! the 2×MSL timer, then is forgotten.

use super::twtable::TimeWaitRecord;
use super::Stack;
use crate::conn::{control_header, ts_before, TimeWaitStamp};
use crate::event::Event;
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::trace::{FourTuple, TimerAction, TimerKind, TraceEvent};
use crate::wire::{TcpFlags, TcpHeader};

/// What to do with a segment that hit a TIME-WAIT record.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum TimeWaitVerdict {
    /// Handled (answered or dropped).
    Done,
    /// A new SYN may open a new connection: hand it to the listener, whose new ISS must
    /// lie above the old connection's SND.NXT, and which removes the record when it
    /// answers the SYN.
    Reopen {
        /// SND.NXT of the incarnation that was in TIME-WAIT.
        old_snd_nxt: SeqNum,
    },
}

impl Stack {
    /// Replace the connection in `idx`, now in TIME-WAIT, by a compact record. Leaves
    /// the timer heap exact (see [`Stack::prune_timers`]).
    pub(super) fn enter_time_wait(&mut self, idx: u32) {
        let now = self.now;
        let two_msl = self.cfg.msl.saturating_mul(2);
        let Some(slot) = self.slots.get_mut(idx as usize) else { return self.prune_timers() };
        let generation = slot.generation;
        // Size: the connection leaves its slot for the steps below (and goes back before
        // the slot is looked at again), so that its 4-tuple is used where it lies. A
        // copy of the tuple kept across calls on the stack was split into a dozen
        // pieces and put together again for each use (9 hot code lines of a `churn`
        // lifecycle).
        let Some(conn) = slot.conn.take() else { return self.prune_timers() };
        // The peer's FIN is received: no more data can come, so receiver SWS avoidance
        // (RFC 9293 3.8.6.2.2) has nothing left to protect and the window is the actual
        // free space, as `Conn::window_field` announces it after a FIN (never less than
        // the edge already advertised).
        let rcv_wnd = conn.rcv_wnd().max(conn.rcv_adv.since(conn.rcv_nxt));
        let window = (rcv_wnd >> conn.rcv_wscale).min(65535) as u16;
        let stamp = conn.time_wait_stamp();
        // The record keeps TS.Recent only; the rest of the stamp follows from the
        // configuration and the 4-tuple.
        debug_assert_eq!(stamp, stamp.map(|ts| TimeWaitStamp::rebuild(&self.cfg, &conn.tuple, ts.recent())));
        let record = TimeWaitRecord {
            snd_nxt: conn.snd_nxt,
            rcv_nxt: conn.rcv_nxt,
            rcv_wnd,
            max_snd_wnd: conn.max_snd_wnd,
            deadline: now + two_msl,
            window,
            ts_recent: stamp.map(|ts| ts.recent()),
            ds: conn.ip.ds,
        };
        let owner = (!conn.app_closed).then_some(idx);
        let ack_due = conn.ack_now;
        let release = conn.app_closed;
        // (Speed: one key for the removal here and the insertion below.)
        let key = self.by_tuple.key(&conn.tuple);
        self.by_tuple.remove_if_hashed(key, idx);
        if ack_due {
            // The ACK of the peer's FIN.
            let mut h =
                control_header(&conn.tuple, record.snd_nxt, Some(record.rcv_nxt), TcpFlags::ACK, window);
            if let Some(ts) = stamp {
                ts.stamp(&mut h, now);
            }
            // (With the connection's TTL: it is still at hand.)
            self.push_control_ip(conn.tuple, h, conn.ip);
        }
        self.sinks.events.push_back(Event::Closed {
            conn: crate::event::ConnId { index: idx, generation },
            reason: crate::event::CloseReason::Normal,
        });
        // A bounded table: past `max_time_wait` records, the one closest to the end of
        // its 2×MSL goes first (the front of the FIFO).
        if self.time_wait.len() >= self.cfg.max_time_wait {
            if let Some((old, _, _)) = self.time_wait.pop_oldest() {
                self.sinks.stats.time_wait_recycled += 1;
                self.trace(TraceEvent::State { conn: old, from: State::TimeWait, to: State::Closed });
            }
        }
        // RFC 9293 3.6.1: "When a connection is closed actively, it MUST linger in the
        // TIME-WAIT state for a time 2xMSL (Maximum Segment Lifetime) (MUST-13)." Every
        // deadline is now + 2×MSL, so the record joins the back of the FIFO.
        self.time_wait.insert_hashed(&conn.tuple, &key, record, owner);
        self.trace(TraceEvent::Timer {
            conn: conn.tuple,
            timer: TimerKind::TimeWait,
            action: TimerAction::Set,
            at: record.deadline,
        });
        let mut conn = conn;
        conn.ack_now = false;
        if let Some(slot) = self.slots.get_mut(idx as usize) {
            slot.conn = Some(conn);
        }
        // The connection's timers are cancelled: prune the heap (`free_slot` does, when
        // it releases the connection).
        if release {
            self.free_slot_listed(idx, false);
        } else {
            self.prune_timers();
        }
    }

    /// A segment for a 4-tuple in TIME-WAIT: RFC 9293 3.10.7.4 step by step, on the
    /// compact record, with two departures decided for synack: RFC 1337 (a RST never ends
    /// TIME-WAIT unless `rfc1337` is off) and the reopening of the connection by a new SYN
    /// (RFC 6191).
    pub(super) fn time_wait_segment(
        &mut self,
        tuple: FourTuple,
        hdr: &TcpHeader,
        payload_len: usize,
    ) -> TimeWaitVerdict {
        let now = self.now;
        let two_msl = self.cfg.msl.saturating_mul(2);
        let rfc1337 = self.cfg.rfc1337;
        let has_listener = self.find_listener(&tuple).is_some();
        let Some((stored, rec)) = self.time_wait.get(&tuple) else { return TimeWaitVerdict::Done };
        let fl = hdr.flags;
        let mut ack_hdr = control_header(&tuple, rec.snd_nxt, Some(rec.rcv_nxt), TcpFlags::ACK, rec.window);
        if let Some(recent) = rec.ts_recent {
            // The clock offset of the connection: a hash of its 4-tuple as it was stored
            // (an IPv6 scope id included).
            TimeWaitStamp::rebuild(&self.cfg, &stored, recent).stamp(&mut ack_hdr, now);
        }
        let seg_len = payload_len as u32 + u32::from(fl.syn()) + u32::from(fl.fin());
        let acceptable = rec.acceptable(hdr.seq, seg_len);
        let rec_rcv_nxt = rec.rcv_nxt;
        // The connection's Differentiated Services field, on every ACK it sends.
        let ds = rec.ds;

        // RFC 6191 2 (RFC 9293 3.6: "Use Timestamps to reduce TIME-WAIT", SHLD-4): when
        // the old incarnation used timestamps and the new one will, a SYN whose TSval
        // is newer than the last one seen (TS.Recent) is a new incarnation, whatever
        // its sequence number: PAWS keeps the old one's segments out of it.
        let newer_timestamp = self.cfg.timestamps
            && rec
                .ts_recent
                .is_some_and(|recent| hdr.options.timestamps.is_some_and(|ts| ts_before(recent, ts.val)));
        if fl.syn() && !fl.ack() && !fl.rst() && has_listener && (hdr.seq.gt(rec.rcv_nxt) || newer_timestamp)
        {
            // Fourth step: a SYN in TIME-WAIT "may be either a legitimate new connection
            // attempt (e.g., in the case of TIME-WAIT), ...". RFC 6191 / RFC 1122 4.2.2.13:
            // a SYN whose sequence number lies beyond the old connection's RCV.NXT, or
            // with timestamps a newer TSval, may start a new incarnation; the listener
            // takes it.
            // The record stays until the listener answers (a half-open connection or a
            // SYN cookie): a SYN the listener drops must not end TIME-WAIT.
            let old_snd_nxt = rec.snd_nxt;
            return TimeWaitVerdict::Reopen { old_snd_nxt };
        }

        let seg_end = hdr.seq + seg_len;
        if fl.fin() && !fl.syn() && !fl.rst() && seg_end == rec.rcv_nxt {
            // Fifth step, TIME-WAIT: "The only thing that can arrive in this state is a
            // retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL
            // timeout."
            self.ack_and_restart_two_msl(tuple, (ack_hdr, ds), now + two_msl);
            return TimeWaitVerdict::Done;
        }

        // "First, check sequence number": "If an incoming segment is not acceptable, an
        // acknowledgment should be sent in reply (unless the RST bit is set, if so drop
        // the segment and return)". RFC 5961 3.2, 1): a RST outside the window is
        // silently dropped.
        if !acceptable {
            if !fl.rst() {
                self.sinks.stats.unacceptable += 1;
                self.push_control_ds(tuple, ack_hdr, ds);
            }
            return TimeWaitVerdict::Done;
        }

        // "Second, check the RST bit"
        if fl.rst() {
            // RFC 1337 ("TIME-WAIT Assassination Hazards"), fix F1: "Ignore RST segments
            // in TIME-WAIT state", so that an old duplicate cannot cut the 2×MSL wait
            // short. Without it, RFC 9293 with RFC 5961 3.2:
            if !rfc1337 {
                if hdr.seq == rec.rcv_nxt {
                    // 2) "If the RST bit is set and the sequence number exactly matches
                    // the next expected sequence number (RCV.NXT) ..." TIME-WAIT: "enter
                    // the CLOSED state, delete the TCB, and return."
                    self.remove_time_wait(tuple);
                } else {
                    // 3) "... yet is within the current receive window, TCP endpoints
                    // MUST send an acknowledgment (challenge ACK)"
                    self.challenge_ack(tuple, (ack_hdr, ds));
                }
            }
            return TimeWaitVerdict::Done;
        }

        // "Fourth, check the SYN bit": "RFC 5961 recommends that in these synchronized
        // states, if the SYN bit is set, irrespective of the sequence number, TCP
        // endpoints MUST send a "challenge ACK" to the remote peer"
        if fl.syn() {
            self.challenge_ack(tuple, (ack_hdr, ds));
            return TimeWaitVerdict::Done;
        }

        // "Fifth, check the ACK field": "if the ACK bit is off, drop the segment and
        // return". RFC 5961 5: "the ACK value is acceptable only if it is in the range of
        // ((SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT). All incoming segments whose ACK
        // value doesn't satisfy the above condition MUST be discarded and an ACK sent
        // back." (SND.UNA = SND.NXT here: our FIN is acknowledged.)
        if !fl.ack() {
            return TimeWaitVerdict::Done;
        }
        if hdr.ack.gt(rec.snd_nxt) || hdr.ack.lt(rec.snd_nxt - rec.max_snd_wnd.max(1)) {
            self.challenge_ack(tuple, (ack_hdr, ds));
            return TimeWaitVerdict::Done;
        }

        // Eighth step, TIME-WAIT: an acceptable FIN is acknowledged and "Remain in the
        // TIME-WAIT state. Restart the 2 MSL time-wait timeout." RCV.NXT stays where it
        // is: the remote's FIN was already received, so this one cannot be new. Only a FIN
        // that sits at RCV.NXT reaches this step; one beyond it would be "held for later
        // processing" (first step) and is ignored with its text.
        if fl.fin() && hdr.seq + payload_len as u32 == rec_rcv_nxt {
            self.ack_and_restart_two_msl(tuple, (ack_hdr, ds), now + two_msl);
            return TimeWaitVerdict::Done;
        }
        // Otherwise nothing: a duplicate ACK "can be ignored"; seventh step, TIME-WAIT:
        // "Ignore the segment text".
        TimeWaitVerdict::Done
    }

    /// A challenge ACK from a TIME-WAIT record (RFC 5961 3.2, 4.2, 5.2), within the
    /// stack-wide budget of RFC 5961 7 shared with the full connections.
    fn challenge_ack(&mut self, tuple: FourTuple, (ack_hdr, ds): (TcpHeader, u8)) {
        if self.sinks.challenge.allow(self.now) {
            self.sinks.stats.challenge_acks += 1;
            self.push_control_ds(tuple, ack_hdr, ds);
        } else {
            self.sinks.stats.challenge_acks_suppressed += 1;
        }
    }

    /// Answer a FIN in TIME-WAIT: ACK it and restart the 2×MSL timer to `deadline`.
    fn ack_and_restart_two_msl(
        &mut self,
        tuple: FourTuple,
        (ack_hdr, ds): (TcpHeader, u8),
        deadline: Instant,
    ) {
        self.time_wait.restart(&tuple, deadline);
        self.push_control_ds(tuple, ack_hdr, ds);
        self.trace(TraceEvent::Timer {
            conn: tuple,
            timer: TimerKind::TimeWait,
            action: TimerAction::Set,
            at: deadline,
        });
    }

    pub(super) fn remove_time_wait(&mut self, tuple: FourTuple) {
        if let Some((rec, owner)) = self.time_wait.remove(&tuple) {
            self.trace(TraceEvent::Timer {
                conn: tuple,
                timer: TimerKind::TimeWait,
                action: TimerAction::Cancel,
                at: rec.deadline,
            });
            self.trace(TraceEvent::State { conn: tuple, from: State::TimeWait, to: State::Closed });
            self.time_wait_closed(owner);
        }
    }

    /// Let a still-held handle see CLOSED.
    fn time_wait_closed(&mut self, owner: Option<u32>) {
        if let Some(idx) = owner {
            if let Some(slot) = self.slots.get_mut(idx as usize) {
                let generation = slot.generation;
                if let Some(conn) = slot.conn.as_deref_mut() {
                    conn.state = State::Closed;
                    self.sinks.events.push_back(Event::StateChanged {
                        conn: crate::event::ConnId { index: idx, generation },
                        from: State::TimeWait,
                        to: State::Closed,
                    });
                }
            }
        }
    }

    /// Forget TIME-WAIT records whose 2×MSL has passed.
    pub(super) fn expire_time_wait(&mut self) {
        while let Some((tuple, rec, owner)) = self.time_wait.pop_expired(self.now) {
            self.trace(TraceEvent::Timer {
                conn: tuple,
                timer: TimerKind::TimeWait,
                action: TimerAction::Fire,
                at: rec.deadline,
            });
            self.trace(TraceEvent::State { conn: tuple, from: State::TimeWait, to: State::Closed });
            self.time_wait_closed(owner);
        }
    }
}
