//! Datagram output and timers: `poll_transmit`, `poll_timeout`, `handle_timeout`.

use super::input::summarize;
use super::Stack;
use crate::conn::{Control, Ctx, IcmpOut, OutSegment, Outgoing, Sinks};
use crate::event::ConnId;
use crate::time::Instant;
use crate::trace::{FourTuple, TraceEvent};
use crate::wire::{self, IpOut, TcpHeader};
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

/// A blank description (length 0, unspecified IPv4 addresses): what the `sent` slice
/// of [`Stack::poll_transmit_many`] may start as, since the call overwrites each entry
/// it writes a datagram for.
impl Default for Transmit {
    fn default() -> Self {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        Transmit { len: 0, src: unspecified, dst: unspecified }
    }
}

impl Stack {
    /// Write the next datagram to send into `buf` (which should hold at least the MTU)
    /// and describe it, or return `None` when nothing is waiting. Call until `None`
    /// after every input, application call or timeout.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.advance(now);
        // Speed: a driver calls this until `None` after every event; the final call
        // costs two length checks, not a full function frame.
        if self.sinks.control.is_empty() && self.tx_queue.is_empty() {
            return None;
        }
        // Send-side header prediction first when the last data segment began a run.
        // (Size: both branches end in a call, so this function keeps no frame of its
        // own; with the prediction's call and a fallback here it had one, 20
        // instructions on every call.)
        if self.sinks.run_hint && self.sinks.control.is_empty() {
            return self.transmit_hinted(buf);
        }
        self.transmit_next(buf)
    }

    /// The next datagram by send-side header prediction ([`Stack::transmit_run`] for
    /// one buffer), or by [`Stack::transmit_next`] when the prediction does not hold
    /// (nothing changed) or the predicted segment did not fit (lost, as on the full
    /// path, whose loop then sends the next one).
    #[inline(never)]
    fn transmit_hinted(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        let mut sent = [Transmit::default()];
        if self.transmit_run(&mut [&mut *buf], &mut sent) == 1 {
            return Some(sent[0]);
        }
        self.transmit_next(buf)
    }

    /// [`Stack::poll_transmit`] for several datagrams at once: writes into `bufs[0]`,
    /// `bufs[1]`, ... exactly what as many calls of `poll_transmit` would write, until
    /// nothing waits or either slice runs out, with `sent[i]` describing `bufs[i]`.
    /// Returns how many datagrams were written (the first that many of each slice).
    ///
    /// Speed: a run of full-sized segments of one connection - a bulk sender's burst -
    /// is written in one loop that finds the connection once, where each call of
    /// `poll_transmit` finds it again (like `sendmmsg` against `send`).
    pub fn poll_transmit_many(
        &mut self,
        now: Instant,
        bufs: &mut [&mut [u8]],
        sent: &mut [Transmit],
    ) -> usize {
        self.advance(now);
        let max = bufs.len().min(sent.len());
        let mut n = 0;
        while n < max {
            if self.sinks.control.is_empty() {
                if self.tx_queue.is_empty() {
                    break;
                }
                if self.sinks.run_hint {
                    let k = self.transmit_run(&mut bufs[n..max], &mut sent[n..max]);
                    n += k;
                    if k > 0 {
                        continue;
                    }
                }
            }
            let (Some(buf), Some(tx)) = (bufs.get_mut(n), sent.get_mut(n)) else { break };
            match self.transmit_next(buf) {
                Some(t) => *tx = t,
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Send-side header prediction
    /// ([`Conn::predict_segment`](crate::conn::Conn::predict_segment)) for the
    /// connection at the head of the output queue, when no control segment waits (the
    /// caller's test): while that connection is in the middle of a run of full-sized
    /// segments, its next ones into `bufs` (and `sent`, as long), each exactly as
    /// [`Stack::transmit_next`] would write it. Returns how many were written.
    ///
    /// Stops after a segment that left a stale timer on the heap (the heap is then
    /// pruned, as `transmit_next` would), and at one that does not fit its buffer:
    /// that one is lost, as on the full path, whose loop then sends the next one into
    /// the same buffer - which the caller's `transmit_next` does.
    ///
    /// Speed: skips the general choice of what to send (`pick_data`'s other cases) and
    /// the output queue's handling (the connection stays queued, since data remains
    /// behind each segment, which `wants_output` would report), and writes the
    /// headers from the last segment's, patched (`wire::Template`). Size (instruction
    /// cache): out of line.
    #[inline(never)]
    fn transmit_run(&mut self, bufs: &mut [&mut [u8]], sent: &mut [Transmit]) -> usize {
        let front = self.tx_queue.front().and_then(|&i| Some((i, self.slots.get_mut(i as usize)?)));
        let Some((idx, slot)) = front else {
            self.sinks.run_hint = false;
            return 0;
        };
        let generation = slot.generation;
        let Some(conn) = slot.conn.as_deref_mut() else {
            self.sinks.run_hint = false;
            return 0;
        };
        let (src, dst) = (conn.tuple.local.ip(), conn.tuple.remote.ip());
        let mut ctx = Ctx {
            now: self.now,
            cfg: &self.cfg,
            id: ConnId { index: idx, generation },
            sinks: &mut self.sinks,
        };
        let mut n = 0;
        let mut stale = false;
        // The segment just sent, which the next one is patched from (speed: see
        // `Conn::predict_next_in_run`).
        let mut seg = OutSegment::EMPTY;
        for (buf, tx) in bufs.iter_mut().zip(sent.iter_mut()) {
            let patched = if n == 0 { None } else { conn.predict_next_in_run(&mut ctx, &mut seg) };
            let timers_moved = match patched {
                Some(moved) => moved,
                None => {
                    seg = OutSegment::EMPTY;
                    if !conn.predict_segment(&mut ctx, &mut seg) {
                        self.sinks.run_hint = false;
                        break;
                    }
                    true
                }
            };
            // (Unmoved timers leave the heap as the last segment left it, not stale.)
            if timers_moved {
                stale = super::arm_timer(&mut self.timers, conn, idx, generation);
            }
            let (a, b) = conn.tx.slices(seg.payload_off, seg.payload_len);
            let ip = IpOut { ds: conn.ip.ds | seg.ecn, ..conn.ip };
            let Ok(len) = self.template.emit((idx, generation), buf, src, dst, ip, &seg.hdr, a, b) else {
                break;
            };
            if ctx.cfg.trace {
                trace_send(&mut *ctx.sinks, ctx.now, &conn.tuple, &seg.hdr, seg.payload_len, false);
            }
            *tx = Transmit { len, src, dst };
            n += 1;
            if stale {
                break;
            }
        }
        if stale {
            self.prune_timers();
        }
        n
    }

    /// The work of [`Stack::poll_transmit`] when something may be waiting.
    ///
    /// Size (instruction cache): control segments (RSTs, TIME-WAIT's ACK) and the
    /// connections' segments go through one inlined copy of `emit_two`, rather than
    /// the control path calling the general `wire::emit`, a second copy of the same
    /// code (measured on `churn`: 739 -> 710 hot code lines, I1 misses 635 -> 526 per
    /// lifecycle, with the trace moved out of line as well).
    #[inline(never)]
    fn transmit_next(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        loop {
            // Speed: the segment is written in place by `next_segment`, not returned, and
            // used where it lies (references, not copies of the header and tuple).
            let ctl: Control;
            let mut seg: OutSegment;
            let (tuple, hdr, ip, a, b, stale, is_control, len, retransmit) =
                if let Some(c) = self.sinks.control.pop_front() {
                    ctl = match c {
                        Outgoing::Segment(c) => c,
                        Outgoing::Icmp(m) => return self.transmit_icmp(buf, m),
                    };
                    (&ctl.tuple, &ctl.hdr, ctl.ip, &[][..], &[][..], false, true, 0, false)
                } else {
                    let &idx = self.tx_queue.front()?;
                    let Some(slot) = self.slots.get_mut(idx as usize) else {
                        self.tx_queue.pop_front();
                        continue;
                    };
                    let generation = slot.generation;
                    let Some(conn) = slot.conn.as_deref_mut() else {
                        self.tx_queue.pop_front();
                        continue;
                    };
                    // Speed: no `wants_output` test first. A connection is queued only when it
                    // wanted output (`Stack::schedule`), and one that no longer does gets `false`
                    // from `next_segment` with nothing changed (its contract), and leaves the
                    // queue below: the test would only repeat, for every segment sent, what
                    // `next_segment` finds out anyway.
                    let mut ctx = Ctx {
                        now: self.now,
                        cfg: &self.cfg,
                        id: ConnId { index: idx, generation },
                        sinks: &mut self.sinks,
                    };
                    seg = OutSegment::EMPTY;
                    let some = conn.next_segment(&mut ctx, &mut seg);
                    // Sending may have armed the retransmission or persist timer (pushed now) or
                    // stopped the delayed ACK (the heap top may then be stale).
                    let stale = super::arm_timer(&mut self.timers, conn, idx, generation);
                    if !some {
                        conn.in_tx_queue = false;
                        self.tx_queue.pop_front();
                        if stale {
                            self.prune_timers();
                        }
                        continue;
                    };
                    if self.tx_queue.len() == 1 && !conn.wants_output() {
                        // That was the last segment of the only connection queued: leave the queue
                        // at once, so that the driver's next call (the one that returns `None`)
                        // finds it empty (speed: that call then costs two length checks). Only
                        // when alone: with others queued, leaving now rather than on the next
                        // call could put it behind them, should it want to send again before.
                        conn.in_tx_queue = false;
                        self.tx_queue.pop_front();
                    }
                    let (a, b) = conn.tx.slices(seg.payload_off, seg.payload_len);
                    (
                        &conn.tuple,
                        &seg.hdr,
                        IpOut { ds: conn.ip.ds | seg.ecn, ..conn.ip },
                        a,
                        b,
                        stale,
                        false,
                        seg.payload_len,
                        seg.retransmit,
                    )
                };
            let (src, dst) = (tuple.local.ip(), tuple.remote.ip());
            let res = wire::emit_two(buf, src, dst, ip, hdr, a, b);
            if self.cfg.trace && res.is_ok() {
                trace_send(&mut self.sinks, self.now, tuple, hdr, len, retransmit);
            }
            if stale {
                self.prune_timers();
            }
            match res {
                Ok(len) => return Some(Transmit { len, src, dst }),
                // A control segment that does not fit is dropped, and so is the rest of the
                // poll.
                Err(_) if is_control => return None,
                // A buffer too small loses the segment as the network might; the
                // retransmission timer recovers it.
                Err(_) => continue,
            }
        }
    }

    /// The earliest instant at which [`Stack::handle_timeout`] has work to do: the one
    /// earliest deadline of every connection timer, TIME-WAIT record and datagram
    /// being reassembled, or `None` when nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.timers.peek().map(|Reverse((t, _, _))| *t);
        let tw = self.time_wait.next_deadline();
        let first = match (conn, tw) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.reasm.next_deadline() {
            Some(r) => Some(first.map_or(r, |t| t.min(r))),
            None => first,
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
        // Reassemblies out of time (RFC 8200 4.5, RFC 1122 3.3.2).
        self.expire_reassembly();
    }

    /// Abandon the reassemblies out of time, and tell the source of each whose first
    /// fragment had arrived. RFC 1122 3.3.2 (d): "If this timeout expires, the
    /// partially-reassembled datagram MUST be discarded and an ICMP Time Exceeded
    /// message sent to the source host (if fragment zero has been received)"; RFC 8200
    /// 4.5: "an ICMP Time Exceeded -- Fragment Reassembly Time Exceeded message should be
    /// sent to the source of that fragment". (Type 11 code 1, RFC 792; ICMPv6 type 3
    /// code 1, RFC 4443 3.3.) At most [`crate::stack::reasm::MAX_PENDING`] datagrams are
    /// pending, so a timeout sends no more messages than that.
    fn expire_reassembly(&mut self) {
        let mut expired = Vec::new();
        self.reasm.expire(self.now, |ours, theirs, quoted| {
            let kind = if ours.is_ipv4() { (11, 1) } else { (3, 1) };
            if let Some(msg) = wire::icmp_message(ours, theirs, kind, 0, quoted) {
                expired.push((ours, theirs, msg));
            }
        });
        for (ours, theirs, msg) in expired {
            self.queue_icmp(ours, theirs, msg);
        }
        self.sinks.stats.reassembly_failed += self.reasm.take_failed();
    }

    /// Write the next datagram of the ICMP or ICMPv6 message `m` into `buf`: the whole
    /// message, or its next fragment when it is larger than the MTU (or `buf`), in which
    /// case `m` goes back to the front of the control queue until its last fragment is
    /// out. Dropped, like a control segment, when not even a fragment fits. Cold: only
    /// Echo Replies and a reassembly's Time Exceeded.
    #[cold]
    #[inline(never)]
    fn transmit_icmp(&mut self, buf: &mut [u8], mut m: Box<IcmpOut>) -> Option<Transmit> {
        let limit = buf.len().min(usize::from(self.cfg.mtu));
        let protocol = if m.src.is_ipv4() { wire::IPPROTO_ICMP } else { wire::IPPROTO_ICMPV6 };
        let piece =
            wire::emit_piece(&mut buf[..limit], (m.src, m.dst), self.cfg.ttl, protocol, m.id, &m.msg, m.sent);
        let (src, dst) = (m.src, m.dst);
        let len = match piece {
            Ok((len, carried)) if m.sent + carried < m.msg.len() => {
                m.sent += carried;
                self.sinks.control.push_front(Outgoing::Icmp(m));
                len
            }
            done => {
                self.icmp_queued -= m.msg.len();
                done.ok()?.0
            }
        };
        Some(Transmit { len, src, dst })
    }
}

/// Record a segment sent (out of line and cold: only with `Config::trace` on, and kept
/// out of the body of `transmit_next`).
#[cold]
#[inline(never)]
fn trace_send(
    sinks: &mut Sinks,
    t: Instant,
    tuple: &FourTuple,
    hdr: &TcpHeader,
    len: usize,
    retransmit: bool,
) {
    let seg = summarize(tuple.local, tuple.remote, hdr, len);
    sinks.record(t, TraceEvent::Send { conn: *tuple, seg, retransmit });
}
