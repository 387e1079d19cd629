//! The applications: per host, a list of steps run one after another. A step waits for
//! its trigger (a time, a delay after the previous step, or an event of the host's
//! connection), then makes its call; `accept` and `send` may block and resume on the
//! stack's events.
//!
//! Each host holds at most one listener and one connection. Once `recv` ran, the host
//! reads everything as it arrives, counting the bytes and hashing them; `send` sends a
//! deterministic byte pattern (or a text), retrying on `Writable` when the send buffer
//! is full.
//!
//! With `release_on_error` (simulation campaigns), an application whose connection
//! fails (reset, timed out, refused) releases its handle and gives up its remaining
//! steps, as a real application would.

use crate::rng::{fnv1a, splitmix64, FNV_OFFSET};
use crate::scenario::{Action, Payload, StepSpec, Target, When};
use std::net::{IpAddr, SocketAddr};
use synack::{CloseReason, ConnId, Error, Event, Instant, ListenerId, Stack};

/// Largest slice handed to one `send` call.
const SEND_CHUNK: u64 = 64 * 1024;

/// Byte `i` of a host's pattern stream.
pub(crate) fn pattern_byte(key: u64, i: u64) -> u8 {
    let mut s = key ^ (i / 8).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (splitmix64(&mut s) >> ((i % 8) * 8)) as u8
}

/// A step that started and waits to finish.
#[derive(Debug)]
enum Pending {
    Accept,
    Send { data: SendData, off: u64, len: u64, buf: SendBuf, urgent: bool },
}

/// The bytes of a blocked `send` from `at` on, made once and reused while the stack's
/// buffer is full (making them anew on every retry cost more than the whole run).
#[derive(Debug, Default)]
struct SendBuf {
    at: u64,
    bytes: Vec<u8>,
}

#[derive(Debug)]
enum SendData {
    Pattern { base: u64 },
    Text(Vec<u8>),
}

/// How a started step went.
enum Started {
    Done,
    Blocked(Pending),
}

/// One host's application at run time.
#[derive(Debug)]
pub(crate) struct AppRt {
    ip: IpAddr,
    /// (scenario-wide order, step).
    steps: Vec<(usize, StepSpec)>,
    cursor: usize,
    /// When the previous step completed (0 for the first).
    armed_at: Instant,
    pending: Option<Pending>,
    pub(crate) listener: Option<ListenerId>,
    pub(crate) conn: Option<ConnId>,
    reading: bool,
    pub(crate) eof: bool,
    connected_at: Option<Instant>,
    accepted_at: Option<Instant>,
    peer_fin_at: Option<Instant>,
    closed_at: Option<Instant>,
    /// How the connection ended, when it did.
    pub(crate) outcome: Option<CloseReason>,
    /// Events of connections not yet accepted: replayed on `accept`.
    early: Vec<(ConnId, Instant, Event)>,
    pub(crate) received: u64,
    pub(crate) received_hash: u64,
    /// (time, total read) after every read that moved bytes.
    recv_log: Vec<(Instant, u64)>,
    pub(crate) sent: u64,
    pub(crate) sent_hash: u64,
    pattern_key: u64,
    pattern_pos: u64,
    pub(crate) errors: Vec<String>,
    release_on_error: bool,
    /// The application released its handle (close, abort, or after a failure).
    released: bool,
    /// The connection failed and the application gave up its remaining steps.
    gave_up: bool,
}

impl AppRt {
    pub(crate) fn new(
        host: &str,
        ip: IpAddr,
        steps: Vec<(usize, StepSpec)>,
        release_on_error: bool,
    ) -> AppRt {
        AppRt {
            ip,
            steps,
            cursor: 0,
            armed_at: Instant::ZERO,
            pending: None,
            listener: None,
            conn: None,
            reading: false,
            eof: false,
            connected_at: None,
            accepted_at: None,
            peer_fin_at: None,
            closed_at: None,
            outcome: None,
            early: Vec::new(),
            received: 0,
            received_hash: FNV_OFFSET,
            recv_log: Vec::new(),
            sent: 0,
            sent_hash: FNV_OFFSET,
            pattern_key: fnv1a(FNV_OFFSET, host.as_bytes()),
            pattern_pos: 0,
            errors: Vec::new(),
            release_on_error,
            released: false,
            gave_up: false,
        }
    }

    /// With `release_on_error`: the connection failed, so release the handle and give
    /// up the remaining steps.
    fn give_up(&mut self, stack: &mut Stack) {
        if !self.release_on_error || self.gave_up {
            return;
        }
        self.gave_up = true;
        self.pending = None;
        self.reading = false;
        if let Some(c) = self.conn.filter(|_| !self.released) {
            self.released = true;
            // Releasing a failed connection's handle cannot fail but for a stale
            // handle, which the flag above rules out.
            let _ = stack.close(c);
        }
    }

    /// A call failed: a connection error ends the application's work when
    /// `release_on_error` is set; anything else is recorded as an application error.
    fn call_failed(&mut self, what: &str, e: Error, stack: &mut Stack) {
        match e {
            Error::Conn(ce) if self.release_on_error => {
                self.outcome.get_or_insert(CloseReason::Error(ce));
                self.give_up(stack);
            }
            _ => self.fail(what, e),
        }
    }

    /// Whether the step due now is a reboot (the engine replaces the stack first).
    pub(crate) fn reboot_due(&self) -> bool {
        self.steps.get(self.cursor).is_some_and(|(_, s)| s.action == Action::Reboot)
    }

    /// The host rebooted: every handle, every pending call and the current
    /// connection's triggers are gone. What was read and sent stays counted; the
    /// outcome is the next connection's.
    fn forget(&mut self) {
        self.pending = None;
        self.listener = None;
        self.conn = None;
        self.reading = false;
        self.eof = false;
        self.connected_at = None;
        self.accepted_at = None;
        self.peer_fin_at = None;
        self.closed_at = None;
        self.outcome = None;
        self.early.clear();
        self.released = false;
    }

    /// Steps not completed at the end of the run, described.
    pub(crate) fn unfinished(&self) -> Vec<String> {
        self.steps.iter().skip(self.cursor).map(|(i, s)| describe(*i, s)).collect()
    }

    /// When the current step's trigger is met, if it is known yet.
    fn wake(&self, step: &StepSpec) -> Option<Instant> {
        let base = match step.when {
            When::Previous => Some(self.armed_at),
            When::At(d) => Some(Instant::ZERO + d),
            When::Connected => self.connected_at,
            When::Accepted => self.accepted_at,
            When::PeerFin => self.peer_fin_at,
            When::Closed => self.closed_at,
            When::Received(0) => Some(self.armed_at),
            When::Received(n) => self.recv_log.iter().find(|(_, total)| *total >= n).map(|(t, _)| *t),
        }?;
        let t = base + step.delay;
        Some(if t > self.armed_at { t } else { self.armed_at })
    }

    /// The next instant at which a step is due, if one waits on time alone.
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        if self.pending.is_some() || self.gave_up {
            return None;
        }
        self.steps.get(self.cursor).and_then(|(_, s)| self.wake(s)).filter(|t| *t > now)
    }

    /// Take note of a stack event. Returns whether anything was read.
    pub(crate) fn on_event(&mut self, now: Instant, ev: Event, stack: &mut Stack) -> bool {
        let of_ours = |c: ConnId| self.conn == Some(c);
        match ev {
            Event::Accepted { .. } => {
                self.accepted_at.get_or_insert(now);
            }
            Event::Connected(c) if of_ours(c) => {
                self.connected_at.get_or_insert(now);
            }
            Event::PeerFin(c) if of_ours(c) => {
                self.peer_fin_at.get_or_insert(now);
            }
            Event::Closed { conn, reason } if of_ours(conn) => {
                self.closed_at.get_or_insert(now);
                self.outcome.get_or_insert(reason);
                if matches!(reason, CloseReason::Error(_)) {
                    self.give_up(stack);
                }
            }
            Event::Readable(c) if of_ours(c) => return self.read_all(now, stack),
            Event::Connected(c) | Event::PeerFin(c) => self.early.push((c, now, ev)),
            Event::Closed { conn, .. } => self.early.push((conn, now, ev)),
            _ => {}
        }
        false
    }

    /// Read everything available, if reading is on.
    fn read_all(&mut self, now: Instant, stack: &mut Stack) -> bool {
        let Some(c) = self.conn.filter(|_| self.reading && !self.eof) else { return false };
        let mut buf = [0u8; 16 * 1024];
        let mut moved = false;
        loop {
            match stack.recv(c, &mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return true;
                }
                Ok(n) => {
                    self.received += n as u64;
                    self.received_hash = fnv1a(self.received_hash, &buf[..n]);
                    self.recv_log.push((now, self.received));
                    moved = true;
                }
                Err(_) => return moved,
            }
        }
    }

    /// Go on with a blocked step (after events). Returns whether anything happened.
    pub(crate) fn resume_pending(&mut self, now: Instant, stack: &mut Stack) -> bool {
        let Some(p) = self.pending.take() else { return false };
        match self.resume(p, stack) {
            (Started::Done, _) => {
                self.complete(now);
                true
            }
            (Started::Blocked(p), moved) => {
                self.pending = Some(p);
                moved
            }
        }
    }

    /// The scenario-wide index of the step due at `now`, if one is.
    pub(crate) fn due(&self, now: Instant) -> Option<usize> {
        if self.pending.is_some() || self.gave_up {
            return None;
        }
        let (order, step) = self.steps.get(self.cursor)?;
        self.wake(step).filter(|t| *t <= now).map(|_| *order)
    }

    /// Start the step due at `now` (see [`AppRt::due`]).
    pub(crate) fn run_due(&mut self, now: Instant, stack: &mut Stack, hosts: &[IpAddr]) {
        let Some((_, step)) = self.steps.get(self.cursor).cloned() else { return };
        match self.start(now, &step.action, stack, hosts) {
            Started::Done => self.complete(now),
            Started::Blocked(p) => {
                self.pending = Some(p);
                // An accept or send that can go on at once does.
                self.resume_pending(now, stack);
            }
        }
    }

    fn complete(&mut self, now: Instant) {
        self.cursor += 1;
        self.armed_at = now;
    }

    fn fail(&mut self, what: &str, e: impl std::fmt::Display) {
        let n = self.steps.get(self.cursor).map_or(0, |(i, _)| i + 1);
        self.errors.push(format!("step {n} ({what}): {e}"));
    }

    fn start(&mut self, now: Instant, action: &Action, stack: &mut Stack, hosts: &[IpAddr]) -> Started {
        match action {
            Action::Listen { port, backlog } => match stack.listen(SocketAddr::new(self.ip, *port), *backlog)
            {
                Ok(l) => self.listener = Some(l),
                Err(e) => self.fail("listen", e),
            },
            Action::Connect { to, local_port } => {
                let remote = match *to {
                    Target::Host(h, port) => SocketAddr::new(hosts.get(h).copied().unwrap_or(self.ip), port),
                    Target::Addr(a) => a,
                };
                let res = match local_port {
                    Some(p) => stack.connect_from(now, SocketAddr::new(self.ip, *p), remote),
                    None => stack.connect(now, remote),
                };
                match res {
                    Ok(c) => self.conn = Some(c),
                    Err(e) => self.call_failed("connect", e, stack),
                }
            }
            Action::Accept => {
                if self.listener.is_none() {
                    self.fail("accept", "no listener");
                } else {
                    return Started::Blocked(Pending::Accept);
                }
            }
            Action::Send(payload) | Action::SendUrgent(payload) => {
                let urgent = matches!(action, Action::SendUrgent(_));
                if self.conn.is_none() {
                    self.fail("send", "no connection");
                    return Started::Done;
                }
                let (data, len) = match payload {
                    Payload::Pattern(n) => {
                        let base = self.pattern_pos;
                        self.pattern_pos += n;
                        (SendData::Pattern { base }, *n)
                    }
                    Payload::Text(t) => (SendData::Text(t.as_bytes().to_vec()), t.len() as u64),
                };
                return Started::Blocked(Pending::Send {
                    data,
                    off: 0,
                    len,
                    buf: SendBuf::default(),
                    urgent,
                });
            }
            Action::Recv => {
                self.reading = true;
                self.read_all(now, stack);
            }
            Action::Reboot => self.forget(),
            Action::Shutdown | Action::Close | Action::Abort => {
                let Some(c) = self.conn else {
                    self.fail(action.name(), "no connection");
                    return Started::Done;
                };
                let res = match action {
                    Action::Shutdown => stack.shutdown(c),
                    Action::Close => stack.close(c),
                    _ => stack.abort(c),
                };
                if !matches!(action, Action::Shutdown) {
                    // The handle is released: nothing more is read.
                    self.reading = false;
                    self.released = true;
                }
                if let Err(e) = res {
                    self.call_failed(action.name(), e, stack);
                }
            }
        }
        Started::Done
    }

    /// Go on with a blocked step; the flag tells whether bytes moved.
    fn resume(&mut self, p: Pending, stack: &mut Stack) -> (Started, bool) {
        match p {
            Pending::Accept => {
                let Some(l) = self.listener else { return (Started::Done, false) };
                match stack.accept(l) {
                    Some(c) => {
                        self.conn = Some(c);
                        self.replay_early(c);
                        if matches!(self.outcome, Some(CloseReason::Error(_))) {
                            // It failed before the application took it.
                            self.give_up(stack);
                        }
                        (Started::Done, true)
                    }
                    None => (Started::Blocked(Pending::Accept), false),
                }
            }
            Pending::Send { data, mut off, len, mut buf, urgent } => {
                let Some(c) = self.conn else { return (Started::Done, false) };
                let mut moved = false;
                while off < len {
                    // Each call is offered the next SEND_CHUNK bytes (or the rest), as
                    // many as the stack takes; `buf` holds up to two chunks' worth.
                    let n = (len - off).min(SEND_CHUNK);
                    if off < buf.at || off + n > buf.at + buf.bytes.len() as u64 {
                        let end = (off + 2 * SEND_CHUNK).min(len);
                        buf.at = off;
                        buf.bytes = match &data {
                            SendData::Pattern { base } => {
                                (off..end).map(|i| pattern_byte(self.pattern_key, base + i)).collect()
                            }
                            SendData::Text(t) => t[off as usize..end as usize].to_vec(),
                        };
                    }
                    let from = (off - buf.at) as usize;
                    let chunk = &buf.bytes[from..from + n as usize];
                    let res = if urgent { stack.send_urgent(c, chunk) } else { stack.send(c, chunk) };
                    match res {
                        Ok(0) | Err(Error::WouldBlock) => {
                            return (Started::Blocked(Pending::Send { data, off, len, buf, urgent }), moved);
                        }
                        Ok(k) => {
                            self.sent += k as u64;
                            self.sent_hash = fnv1a(self.sent_hash, &chunk[..k]);
                            off += k as u64;
                            moved = true;
                        }
                        Err(e) => {
                            self.call_failed("send", e, stack);
                            return (Started::Done, moved);
                        }
                    }
                }
                (Started::Done, moved)
            }
        }
    }

    fn replay_early(&mut self, c: ConnId) {
        let early = std::mem::take(&mut self.early);
        for (id, t, ev) in early {
            if id != c {
                continue;
            }
            match ev {
                Event::Connected(_) => {
                    self.connected_at.get_or_insert(t);
                }
                Event::PeerFin(_) => {
                    self.peer_fin_at.get_or_insert(t);
                }
                Event::Closed { reason, .. } => {
                    self.closed_at.get_or_insert(t);
                    self.outcome.get_or_insert(reason);
                }
                _ => {}
            }
        }
    }
}

/// `step 3 (client: send, on peer-fin)`.
pub(crate) fn describe(i: usize, s: &StepSpec) -> String {
    let when = match s.when {
        When::Previous => "after the previous step".to_string(),
        When::At(d) => format!("at {} ms", d.as_millis()),
        When::Connected => "on connected".into(),
        When::Accepted => "on accepted".into(),
        When::PeerFin => "on peer-fin".into(),
        When::Received(n) => format!("on received {n} bytes"),
        When::Closed => "on closed".into(),
    };
    format!("step {} ({}, {when})", i + 1, s.action.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_is_deterministic_and_differs_per_key() {
        let a: Vec<u8> = (0..64).map(|i| pattern_byte(1, i)).collect();
        let b: Vec<u8> = (0..64).map(|i| pattern_byte(1, i)).collect();
        let c: Vec<u8> = (0..64).map(|i| pattern_byte(2, i)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
