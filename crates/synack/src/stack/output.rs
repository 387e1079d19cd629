//! Datagram output and timers: `poll_transmit`, `poll_timeout`, `handle_timeout`.

use super::input::summarize;
use super::Stack;
use crate::time::Instant;
use crate::trace::TraceEvent;
use crate::wire;
use std::cmp::Reverse;
use std::net::IpAddr;

/// A datagram written by [`Stack::poll_transmit`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
    /// IP source.
    pub src: IpAddr,
    /// IP destination (for routing).
    pub dst: IpAddr,
}

impl Stack {
    /// Write the next datagram to send into `buf` (which should hold at least the MTU)
    /// and describe it, or return `None` when nothing is waiting. Call until `None`
    /// after every input, application call or timeout.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.advance(now);
        let ttl = self.cfg.ttl;
        if let Some(c) = self.control.pop_front() {
            let len = match wire::emit(buf, c.tuple.local.ip(), c.tuple.remote.ip(), ttl, &c.hdr, &[]) {
                Ok(n) => n,
                Err(_) => return None,
            };
            if self.cfg.trace {
                let seg = summarize(c.tuple.local, c.tuple.remote, &c.hdr, 0);
                self.trace(TraceEvent::Send { conn: c.tuple, seg, retransmit: false });
            }
            return Some(Transmit { len, src: c.tuple.local.ip(), dst: c.tuple.remote.ip() });
        }
        while let Some(&idx) = self.tx_queue.front() {
            let seg = self.with_conn(idx, |c, ctx| c.next_segment(ctx)).flatten();
            let Some(seg) = seg else {
                self.tx_queue.pop_front();
                if let Some(c) = self.slots.get_mut(idx as usize).and_then(|s| s.conn.as_deref_mut()) {
                    c.in_tx_queue = false;
                }
                self.schedule_timer_only(idx);
                continue;
            };
            self.schedule_timer_only(idx);
            let conn = self.slots.get(idx as usize).and_then(|s| s.conn.as_deref())?;
            let tuple = conn.tuple;
            let (a, b) = conn.tx.slices(seg.payload_off, seg.payload_len);
            let res = wire::emit(buf, tuple.local.ip(), tuple.remote.ip(), ttl, &seg.hdr, &[a, b]);
            let len = match res {
                Ok(n) => n,
                // A buffer too small loses the segment as the network might; the
                // retransmission timer recovers it.
                Err(_) => continue,
            };
            if self.cfg.trace {
                let s = summarize(tuple.local, tuple.remote, &seg.hdr, seg.payload_len);
                self.trace(TraceEvent::Send { conn: tuple, seg: s, retransmit: seg.retransmit });
            }
            return Some(Transmit { len, src: tuple.local.ip(), dst: tuple.remote.ip() });
        }
        None
    }

    /// Put the connection's deadline in the heap without queueing it for output.
    fn schedule_timer_only(&mut self, idx: u32) {
        let Some(slot) = self.slots.get_mut(idx as usize) else { return };
        let generation = slot.generation;
        let Some(conn) = slot.conn.as_deref_mut() else { return };
        if let Some(d) = conn.deadline() {
            if conn.heap_deadline.is_none_or(|h| d < h) {
                conn.heap_deadline = Some(d);
                self.timers.push(Reverse((d, idx, generation)));
            }
        }
        self.prune_timers();
    }

    /// The earliest instant at which [`Stack::handle_timeout`] has work to do: the one
    /// earliest deadline of every connection timer and TIME-WAIT record, or `None` when
    /// nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.timers.peek().map(|Reverse((t, _, _))| *t);
        let tw = self.time_wait.next_deadline();
        match (conn, tw) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
        while let Some(&Reverse((t, idx, generation))) = self.timers.peek() {
            if t > self.now {
                break;
            }
            self.timers.pop();
            let Some(slot) = self.slots.get_mut(idx as usize) else { continue };
            if slot.generation != generation {
                continue;
            }
            let Some(conn) = slot.conn.as_deref_mut() else { continue };
            if conn.heap_deadline != Some(t) {
                continue;
            }
            conn.heap_deadline = None;
            if let Some(out) = self.with_conn(idx, |c, ctx| c.on_timeout(ctx)) {
                self.after_conn(idx, out);
            }
        }
        self.expire_time_wait();
        self.prune_timers();
    }
}
