//! The stack: connections demultiplexed by 4-tuple, listeners with backlogs, ephemeral
//! ports, ISNs, the TIME-WAIT table, timers and events.
//!
//! # Driving contract
//!
//! The stack is sans-IO. The driver owns the clock and the network:
//!
//! 1. Feed every received IP datagram to [`Stack::handle_packet`] (or to
//!    [`Stack::handle_packet_into`], which may place a connection's data straight into
//!    the application's buffer). That includes ICMP and ICMPv6 messages: the stack acts
//!    on the errors about its connections (RFC 9293 3.9.2.2, Path MTU Discovery) and
//!    counts the rest.
//! 2. After any input, application call or timeout, call [`Stack::poll_transmit`]
//!    until it returns `None`, sending each datagram it writes (or
//!    [`Stack::poll_transmit_many`], which fills several buffers per call, until it
//!    fills fewer than it was given).
//! 3. Sleep until [`Stack::poll_timeout`] (or the next datagram), then call
//!    [`Stack::handle_timeout`].
//! 4. Drain [`Stack::poll_event`] (and [`Stack::poll_trace`] when tracing).
//!
//! Time only moves forward: every `now` must be at least the previous one (an earlier
//! value is treated as the latest seen). Application calls use the latest `now`.
//! Handles stay valid until the application releases them with [`Stack::close`] or
//! [`Stack::abort`], even after the connection reached CLOSED.

mod cookies;
mod icmp;
mod input;
mod output;
mod reasm;
mod recv_into;
mod table;
mod timewait;
mod twindex;
mod twtable;

pub use output::Transmit;
pub use recv_into::RecvInto;

use crate::config::{Config, RetryLimit};
use crate::conn::{Conn, Ctx, Outcome, Sinks};
use crate::error::{Error, UsageError};
use crate::event::{ConnId, ConnInfo, Event, ListenerId, StackStats};
use crate::isn::{initial_sequence, port_offset, KeyedState};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::trace::{AppCall, FourTuple, TraceEvent, TraceRecord};
use crate::wire::IpOut;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use table::{ConnTable, FlowKey, FlowKeys, HashedKey, ListenerTable};
use twtable::TimeWaitTable;

/// A slot of the connection slab.
#[derive(Debug)]
struct Slot {
    generation: u32,
    conn: Option<Box<Conn>>,
}

/// How many freed connection boxes the stack keeps for reuse.
///
/// Speed: a short connection allocates its `Conn` (600 bytes) and frees it again within
/// microseconds; reusing a box saves an allocation and a free per connection. The boxes
/// kept hold no buffer storage (see [`Stack::free_slot`]), so they cost at most a few
/// kilobytes.
const MAX_SPARE_CONNS: usize = 16;

/// A passive OPEN: a local endpoint, its backlog and its accept queue.
#[derive(Debug)]
struct Listener {
    local: SocketAddr,
    backlog: usize,
    /// Established connections waiting for `accept`.
    accept_queue: VecDeque<ConnId>,
    /// Connections in SYN-RECEIVED.
    embryonic: usize,
    /// What its connections start with.
    inherit: Inherited,
}

/// The per-connection settings a listener gives the connections it makes (RFC 9293
/// 3.9.1.1: the passive OPEN's parameters).
#[derive(Clone, Copy, Debug)]
pub(super) struct Inherited {
    /// [`Stack::set_listener_mss_limit`]; `u16::MAX` when none.
    pub(super) mss_limit: u16,
    /// The IP fields of its SYN,ACKs and connections: the Differentiated Services
    /// field ([`Stack::set_listener_dscp`]; [`Config::dscp`]'s at `listen`) and the
    /// TTL ([`Stack::set_listener_ttl`]; [`Config::ttl`] at `listen`).
    pub(super) ip: IpOut,
    /// [`Stack::set_listener_user_timeout`] ([`Config::user_timeout`]'s at `listen`),
    /// given when established; zero when none.
    pub(super) user_timeout: Duration,
    /// Keep-alive ([`Stack::set_listener_keepalive`]; [`Config::keepalive`] at
    /// `listen`): on with these timings, or off.
    pub(super) keepalive: Option<crate::Keepalive>,
    /// Buffer sizes ([`Stack::set_listener_send_buffer`] and
    /// [`Stack::set_listener_recv_buffer`]; [`Config::send_buffer`] and
    /// [`Config::recv_buffer`] at `listen`).
    pub(super) send_buffer: u32,
    pub(super) recv_buffer: u32,
    /// [`Stack::set_listener_congestion_control`] ([`Config::congestion_control`] at
    /// `listen`).
    pub(super) congestion_control: crate::CongestionControl,
}

/// `Err(InvalidValue)` unless `ok`: the per-connection and per-listener settings
/// checks of their argument.
fn valid(ok: bool) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(UsageError::InvalidValue.into())
    }
}

/// Whether a connection running `from` may be switched to `to`: between Reno and
/// CUBIC only (an unlimited window has no ssthresh or window to carry over).
fn cc_switchable(from: crate::CongestionControl, to: crate::CongestionControl) -> bool {
    use crate::CongestionControl as Cc;
    from != Cc::None && to != Cc::None
}

/// Keep-alive timings that make sense: an idle time and an interval (a zero interval
/// would send every probe at one instant).
fn keepalive_timings_valid(ka: &crate::Keepalive) -> bool {
    ka.idle > Duration::ZERO && ka.interval > Duration::ZERO
}

/// The timer heap: (deadline, slot, generation), earliest first. Stale entries are
/// skipped lazily (see [`Stack::prune_timers`]).
type TimerHeap = BinaryHeap<Reverse<(Instant, u32, u32)>>;

/// Put the connection's deadline in the heap if it is earlier than the entry it already
/// has there (a later or cancelled deadline leaves the old entry, pruned lazily).
///
/// Returns whether the connection's heap entry is now stale (its deadline moved later or
/// went away): only then can the top of the heap have become stale, and
/// [`Stack::prune_timers`] is needed to keep `poll_timeout` exact. (Speed: most segments
/// leave the deadline where it was.)
#[inline]
fn arm_timer(timers: &mut TimerHeap, conn: &mut Conn, idx: u32, generation: u32) -> bool {
    let d = conn.deadline();
    if let Some(d) = d {
        if conn.heap_deadline.is_none_or(|h| d < h) {
            conn.heap_deadline = Some(d);
            timers.push(Reverse((d, idx, generation)));
            return false;
        }
    }
    conn.heap_deadline != d
}

/// [`Stack::schedule`] for the connection `conn` in slot `idx` of `generation`, which
/// the caller holds already: queue it for output if it may have something to send,
/// and put its deadline in the timer heap. Returns true when the heap's top may be
/// stale (the caller then prunes it).
#[inline(always)]
fn schedule_conn(
    tx_queue: &mut VecDeque<u32>,
    timers: &mut TimerHeap,
    conn: &mut Conn,
    idx: u32,
    generation: u32,
) -> bool {
    if !conn.in_tx_queue && conn.wants_output() {
        conn.in_tx_queue = true;
        tx_queue.push_back(idx);
    }
    arm_timer(timers, conn, idx, generation)
}

/// The endpoints of an active OPEN: both specified, of one family, and the remote one
/// a host's (not a multicast or broadcast address: TCP is point to point, and the
/// peer could never answer from it, RFC 9293 3.9.2.3).
fn check_endpoints(local: SocketAddr, remote: SocketAddr) -> Result<(), Error> {
    if remote.port() == 0 || remote.ip().is_unspecified() || local.port() == 0 || local.ip().is_unspecified()
    {
        return Err(UsageError::InvalidAddress.into());
    }
    if !is_host_address(remote.ip()) {
        return Err(UsageError::InvalidAddress.into());
    }
    if local.is_ipv4() != remote.is_ipv4() {
        return Err(UsageError::InvalidAddress.into());
    }
    Ok(())
}

/// Whether `ip` can be one host's address: not unspecified, not multicast, not the
/// IPv4 limited broadcast (RFC 1122 3.2.1.3 (a), (c), (d); the directed broadcast of a
/// subnet needs the subnet's mask, which TCP does not know).
pub(super) fn is_host_address(ip: IpAddr) -> bool {
    !ip.is_unspecified() && !ip.is_multicast() && ip != IpAddr::V4(std::net::Ipv4Addr::BROADCAST)
}

/// A TCP stack: many connections and listeners over the addresses in its
/// [`Config`]. See the module documentation for the driving contract.
#[derive(Debug)]
pub struct Stack {
    cfg: Config,
    now: Instant,
    keys: KeyedState,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    /// Freed connection boxes, reused by [`Stack::alloc_slot`]. (The boxes themselves
    /// are what is kept: each becomes a slot's `Box<Conn>` again without allocating.)
    #[allow(clippy::vec_box)]
    spare_conns: Vec<Box<Conn>>,
    live_conns: usize,
    /// Demultiplexing: O(1) in the number of connections.
    by_tuple: ConnTable,
    listeners: Vec<Option<Listener>>,
    by_local: ListenerTable,
    /// Catch-all listeners open ([`Stack::listen_all`]): while there are none, a SYN
    /// that no listener takes costs two lookups, not four.
    catch_all: u32,
    /// Segments to any destination address are taken: [`Config::any_address`], or no
    /// [`Config::addresses`] configured. (Derived once, for the per-segment address
    /// check; `connect_from` reads `Config::any_address` itself, since an empty
    /// address list lets no local address be chosen.)
    any_destination: bool,
    time_wait: TimeWaitTable,
    /// Connection deadlines.
    timers: TimerHeap,
    /// Connections that may have something to send.
    tx_queue: VecDeque<u32>,
    /// The headers of the last segment sent by send-side header prediction, patched
    /// for the next one of the same connection (`wire/template.rs`). Boxed: its 150
    /// bytes, used only by bulk senders, stay out of the way of the fields every call
    /// reads.
    template: Box<crate::wire::Template>,
    /// The queues and counters connections write to (trace, events, control segments,
    /// stats, the challenge-ACK budget, spare ring storage), lent to them whole in a
    /// [`Ctx`].
    sinks: Sinks,
    port_counter: u32,
    /// The last RFC 6056 offset computed, with its (local address, remote endpoint) as
    /// the key of the 4-tuple with local port 0.
    ///
    /// Speed: the offset is a pure function of these (and the secret), and a client
    /// typically opens connection after connection to the same server: this saves the
    /// keyed hash (and its code in the instruction cache) on each of them. (Kept as a
    /// key, the comparison is five word compares, not a match of address families.)
    last_port_offset: Option<(FlowKey, u32)>,
    /// The key (hashed) of the first port the next connection to the same remote
    /// endpoint will try; see [`Stack::pick_port`].
    next_port_key: Option<HashedKey>,
    /// SYN cookies (RFC 4987 3.6): the key and when the last one was sent.
    cookies: cookies::SynCookieJar,
    /// IP datagrams being reassembled from their fragments.
    reasm: reasm::Reassembly,
    /// A reassembled datagram is being processed: a fragment inside it is not taken
    /// (no reassembly within a reassembly).
    reassembling: bool,
    /// Bytes of the ICMP messages in the control queue (`IcmpOut::msg`), which bounds
    /// the Echo Replies waiting ([`Config::max_echo_reply_bytes`]).
    icmp_queued: usize,
    /// ICMP messages given an Identification for their fragments so far.
    icmp_ids: u64,
}

impl Stack {
    /// A stack with the given configuration.
    pub fn new(cfg: Config) -> Self {
        let keys = KeyedState::new(&cfg.secret, 0x6973_6e00);
        Stack {
            time_wait: TimeWaitTable::new(FlowKeys::new(&cfg.secret)),
            now: Instant::ZERO,
            keys,
            slots: Vec::new(),
            free_slots: Vec::new(),
            spare_conns: Vec::new(),
            live_conns: 0,
            by_tuple: ConnTable::new(FlowKeys::new(&cfg.secret)),
            listeners: Vec::new(),
            by_local: ListenerTable::new(),
            catch_all: 0,
            any_destination: cfg.any_address || cfg.addresses.is_empty(),
            timers: BinaryHeap::new(),
            tx_queue: VecDeque::new(),
            template: Box::default(),
            sinks: Sinks {
                trace: VecDeque::new(),
                events: crate::event::EventQueue::new(cfg.max_events),
                control: VecDeque::new(),
                stats: StackStats::default(),
                // RFC 5961 7: the challenge ACKs the stack may still send this second.
                challenge: crate::ratelimit::ChallengeAckLimiter::new(&cfg.secret, cfg.challenge_ack_limit),
                spare: Vec::new(),
                delivered_direct: 0,
                run_hint: false,
            },
            port_counter: 0,
            last_port_offset: None,
            next_port_key: None,
            cookies: cookies::SynCookieJar::new(&cfg.secret),
            reasm: reasm::Reassembly::new(cfg.max_reassembly_bytes, cfg.reassembly_timeout),
            reassembling: false,
            icmp_queued: 0,
            icmp_ids: 0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Stack-wide counters.
    pub fn stats(&self) -> StackStats {
        self.sinks.stats
    }

    /// Connections held (every state but compact TIME-WAIT records).
    pub fn connection_count(&self) -> usize {
        self.live_conns
    }

    /// TIME-WAIT records held.
    pub fn time_wait_count(&self) -> usize {
        self.time_wait.len()
    }

    /// The next application event, if any.
    ///
    /// Speed: `#[inline]` so that a driver in another crate draining the queue (called
    /// after every step, mostly finding it empty) tests the queue's length in place
    /// instead of calling here and returning the event through memory.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.sinks.events.pop_front()
    }

    /// The next trace record, if tracing is on.
    pub fn poll_trace(&mut self) -> Option<TraceRecord> {
        self.sinks.trace.pop_front()
    }

    fn advance(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// Record a trace event when tracing is on (always inlined, the recording out of
    /// line and cold: see `Ctx::trace`).
    #[inline(always)]
    fn trace(&mut self, ev: TraceEvent) {
        if self.cfg.trace {
            self.sinks.record(self.now, ev);
        }
    }

    fn app_trace(&mut self, conn: FourTuple, call: AppCall, bytes: usize) {
        self.trace(TraceEvent::App { conn, call, bytes });
    }

    /// Borrow a connection together with the context it needs.
    fn with_conn<R>(&mut self, idx: u32, f: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> R) -> Option<R> {
        let slot = self.slots.get_mut(idx as usize)?;
        let generation = slot.generation;
        let conn = slot.conn.as_deref_mut()?;
        let mut ctx = Ctx {
            now: self.now,
            cfg: &self.cfg,
            id: ConnId { index: idx, generation },
            sinks: &mut self.sinks,
        };
        Some(f(conn, &mut ctx))
    }

    fn conn(&self, id: ConnId) -> Result<&Conn, Error> {
        match self.slots.get(id.index as usize) {
            // A handle given up with CLOSE is released even while the stack still
            // finishes the connection (FIN-WAIT, LAST-ACK, ...).
            Some(Slot { generation, conn: Some(c) }) if *generation == id.generation && !c.app_closed => {
                Ok(c)
            }
            _ => Err(UsageError::UnknownConnection.into()),
        }
    }

    fn check(&self, id: ConnId) -> Result<u32, Error> {
        self.conn(id).map(|_| id.index)
    }

    /// A slot holding `Conn::new(&self.cfg, tuple, iss)`, and that connection.
    ///
    /// Speed: a spare box is reinitialised where it lies ([`Conn::reinit`]) rather than
    /// overwritten with a connection built elsewhere (a copy of the whole struct).
    fn alloc_slot(&mut self, tuple: FourTuple, iss: SeqNum) -> (ConnId, &mut Conn) {
        self.live_conns += 1;
        let boxed = match self.spare_conns.pop() {
            Some(mut b) => {
                b.reinit(&self.cfg, tuple, iss);
                b
            }
            None => Box::new(Conn::new(&self.cfg, tuple, iss)),
        };
        let (id, slot) = if let Some(idx) = self.free_slots.pop() {
            let slot = &mut self.slots[idx as usize];
            (ConnId { index: idx, generation: slot.generation }, slot)
        } else {
            let idx = self.slots.len() as u32;
            self.slots.push(Slot { generation: 0, conn: None });
            (ConnId { index: idx, generation: 0 }, &mut self.slots[idx as usize])
        };
        (id, slot.conn.insert(boxed))
    }

    /// [`Stack::alloc_slot`] for a connection of listener `l`, in LISTEN, with what
    /// the listener gives its connections (`inherit`): the SYN (or the SYN cookie's
    /// ACK) is processed next. The user timeout waits for ESTABLISHED
    /// ([`Stack::on_established`]): a half-open connection is bounded by
    /// [`Config::syn_retries`].
    ///
    /// Speed: what the listener has as configured is what `alloc_slot` gave already;
    /// only what differs (a receive buffer with its window shift, a congestion
    /// control, keep-alive timings) costs more than a store. Inlined into its two
    /// callers (size: a `churn` lifecycle runs through 702 code lines with it inlined,
    /// 709 with a call, 703 with the two copies it replaced).
    #[inline(always)]
    pub(super) fn alloc_passive(
        &mut self,
        tuple: FourTuple,
        iss: SeqNum,
        l: ListenerId,
        inherit: &Inherited,
    ) -> (ConnId, &mut Conn) {
        let recv_sizing = (inherit.recv_buffer != self.cfg.recv_buffer)
            .then(|| crate::conn::RecvSizing::new(&self.cfg, inherit.recv_buffer));
        let own_cc = Some(inherit.congestion_control).filter(|&cc| cc != self.cfg.congestion_control);
        let own_keepalive = inherit.keepalive.filter(|&ka| Some(ka) != self.cfg.keepalive);
        let (id, conn) = self.alloc_slot(tuple, iss);
        conn.state = State::Listen;
        conn.listener = Some(l);
        conn.mss_limit = inherit.mss_limit;
        conn.ip = inherit.ip;
        conn.keepalive = inherit.keepalive.is_some();
        conn.set_send_buffer(inherit.send_buffer);
        if let Some(sizing) = recv_sizing {
            conn.size_recv_buffer(sizing);
        }
        if let Some(cc) = own_cc {
            conn.cc.switch(cc);
        }
        if let Some(ka) = own_keepalive {
            // (Keep-alive is not armed before ESTABLISHED: nothing to re-arm.)
            conn.ka_timings = Some(Box::new(ka));
        }
        (id, conn)
    }

    fn free_slot(&mut self, idx: u32) {
        self.free_slot_listed(idx, true);
    }

    /// [`Stack::free_slot`]; `listed` false when the caller has just removed the
    /// connection from the connection table (speed: no second removal).
    fn free_slot_listed(&mut self, idx: u32, listed: bool) {
        if let Some(slot) = self.slots.get_mut(idx as usize) {
            if let Some(conn) = slot.conn.take() {
                if listed {
                    self.by_tuple.remove_if(&conn.tuple, idx);
                }
                // Only a connection still in TIME-WAIT can own a record (its state turns
                // CLOSED when the record goes): skip the lookup for every other one.
                if conn.state == State::TimeWait && !conn.app_closed {
                    self.time_wait.disown(&conn.tuple, idx);
                }
                slot.generation = slot.generation.wrapping_add(1);
                // The template is keyed by slot and generation; generations wrap, so a
                // freed slot's headers must not wait for a later connection to match.
                self.template.forget(idx);
                self.free_slots.push(idx);
                self.live_conns -= 1;
                let mut conn = conn;
                // Keep the box, not the buffers: the storage the rings still hold goes
                // now (to the spare blocks, or back to the allocator), as it would
                // have with the connection.
                conn.release_buffers(&mut self.sinks.spare);
                if self.spare_conns.len() < MAX_SPARE_CONNS {
                    self.spare_conns.push(conn);
                }
            }
        }
        self.prune_timers();
    }

    /// Act on what a connection reported, then queue it for output and re-arm its
    /// timer. Leaves the timer heap exact (see [`Stack::prune_timers`]).
    ///
    /// Speed: inlined for the common outcome (nothing to act on: schedule only); the
    /// others go to [`Stack::after_conn_event`], out of line.
    #[inline(always)]
    fn after_conn(&mut self, idx: u32, outcome: Outcome) {
        match outcome {
            Outcome::None => self.schedule(idx),
            other => self.after_conn_event(idx, other),
        }
    }

    /// [`Stack::after_conn`] for an outcome other than `Outcome::None`.
    #[inline(never)]
    fn after_conn_event(&mut self, idx: u32, outcome: Outcome) {
        match outcome {
            Outcome::None => self.schedule(idx),
            Outcome::Established => {
                self.on_established(idx);
                self.schedule(idx);
            }
            Outcome::Closed => {
                let Some(slot) = self.slots.get(idx as usize) else { return };
                let Some(conn) = slot.conn.as_deref() else { return };
                let tuple = conn.tuple;
                let embryonic = conn.listener.is_some() && !conn.queued_for_accept;
                let release = conn.app_closed || embryonic;
                if let Some(l) = conn.listener.filter(|_| embryonic) {
                    self.listener_embryo_gone(l);
                }
                self.by_tuple.remove_if(&tuple, idx);
                // Closing cancelled every timer of the connection: prune (`free_slot`
                // does, when it releases the connection).
                if release {
                    self.free_slot_listed(idx, false);
                } else {
                    self.prune_timers();
                }
            }
            Outcome::Discard => {
                let Some(conn) = self.slots.get(idx as usize).and_then(|s| s.conn.as_deref()) else { return };
                let (tuple, from, listener) = (conn.tuple, conn.state, conn.listener);
                if let Some(l) = listener {
                    self.listener_embryo_gone(l);
                }
                // RFC 9293 3.10.7.4: "return this connection to LISTEN state" — the
                // trace shows the embryo's end (Figure 5, note 1).
                let to = if listener
                    .is_some_and(|l| self.listeners.get(l.0 as usize).is_some_and(Option::is_some))
                {
                    State::Listen
                } else {
                    State::Closed
                };
                self.trace(TraceEvent::State { conn: tuple, from, to });
                self.free_slot(idx);
            }
            Outcome::TimeWait => {
                // Entering TIME-WAIT cancelled the connection's timers (it prunes).
                self.enter_time_wait(idx);
            }
        }
    }

    /// Queue the connection for output if it may have something to send, and put its
    /// deadline in the timer heap.
    fn schedule(&mut self, idx: u32) {
        let Some(slot) = self.slots.get_mut(idx as usize) else { return };
        let generation = slot.generation;
        let Some(conn) = slot.conn.as_deref_mut() else { return };
        if schedule_conn(&mut self.tx_queue, &mut self.timers, conn, idx, generation) {
            self.prune_timers();
        }
    }

    /// Drop stale entries (cancelled or postponed timers, released connections) from
    /// the top of the timer heap, so that [`Stack::poll_timeout`] is exactly the earliest
    /// live deadline rather than an early, spurious wake-up. Each entry is popped at most
    /// once, and a postponed deadline replaces its entry once: amortised O(log n).
    ///
    /// Entries below the top may be stale (a deadline that moved later or went away):
    /// only the top decides `poll_timeout`, and each entry is checked when it gets there.
    /// A connection's deadline that moves earlier is pushed at once ([`arm_timer`]). Call
    /// after anything that may have moved a connection's deadline later or released a
    /// connection; the TIME-WAIT records keep their own deadlines, always exact
    /// ([`TimeWaitTable::next_deadline`]).
    ///
    /// Speed: the top is read with `peek`, and `peek_mut` taken only to move a postponed
    /// entry: a `PeekMut` runs its (out-of-line) drop on every path, even the common
    /// one where the top is live and nothing changes.
    pub(super) fn prune_timers(&mut self) {
        while let Some(&Reverse((t, idx, generation))) = self.timers.peek() {
            let conn = self
                .slots
                .get_mut(idx as usize)
                .filter(|s| s.generation == generation)
                .and_then(|s| s.conn.as_deref_mut());
            let Some(conn) = conn else {
                self.timers.pop();
                continue;
            };
            if conn.heap_deadline != Some(t) {
                // A superseded entry: the connection's live entry is another one.
                self.timers.pop();
                continue;
            }
            match conn.deadline() {
                Some(d) if d == t => break,
                Some(d) => {
                    // Postponed (or, defensively, brought forward): the entry moves to
                    // `d` in place, one sift instead of a pop and a push.
                    conn.heap_deadline = Some(d);
                    if let Some(mut top) = self.timers.peek_mut() {
                        *top = Reverse((d, idx, generation));
                    }
                }
                None => {
                    conn.heap_deadline = None;
                    self.timers.pop();
                }
            }
        }
    }

    /// A passively opened connection reached ESTABLISHED: into its listener's accept
    /// queue. The caller ([`Stack::after_conn_event`]) schedules it afterwards.
    fn on_established(&mut self, idx: u32) {
        let Some(slot) = self.slots.get_mut(idx as usize) else { return };
        let generation = slot.generation;
        let Some(conn) = slot.conn.as_deref_mut() else { return };
        let Some(l) = conn.listener else { return };
        if conn.queued_for_accept {
            return;
        }
        conn.queued_for_accept = true;
        let id = ConnId { index: idx, generation };
        match self.listeners.get_mut(l.0 as usize).and_then(|l| l.as_mut()) {
            Some(listener) => {
                // Nothing of ours waits for an acknowledgment yet (the SYN,ACK was just
                // acknowledged): the clock starts with the first data sent.
                conn.user_timeout = listener.inherit.user_timeout;
                listener.embryonic = listener.embryonic.saturating_sub(1);
                listener.accept_queue.push_back(id);
                self.sinks.events.push_back(Event::Accepted { listener: l, conn: id });
                // (Its caller schedules the connection: speed, not twice.)
            }
            None => {
                // The listener was closed meanwhile: nobody will accept this one.
                let _ = self.abort(id);
            }
        }
    }

    fn listener_embryo_gone(&mut self, l: ListenerId) {
        if let Some(Some(listener)) = self.listeners.get_mut(l.0 as usize) {
            listener.embryonic = listener.embryonic.saturating_sub(1);
        }
    }

    // ----- passive and active OPEN ------------------------------------------------

    /// Passive OPEN (RFC 9293 3.10.1): accept connections to `local` (an unspecified IP
    /// listens on every address). At most `backlog` connections wait for `accept` or are
    /// still completing their handshake (0 means the configured default). With
    /// [`crate::config::SynCookies::Off`], SYNs beyond it are dropped, not answered, and
    /// succeed on retransmission once `accept` makes room; with the default
    /// `WhenFull`, a full SYN queue answers with SYN cookies (RFC 4987) instead, and a
    /// full accept queue still drops.
    pub fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, Error> {
        if local.port() == 0 {
            return Err(UsageError::InvalidAddress.into());
        }
        self.open_listener(local, backlog)
    }

    /// Passive OPEN on every port: accept connections to any port of `ip` (an
    /// unspecified IP: of every address the stack takes, all of them with
    /// [`Config::any_address`]). A listener on the port itself, [`Stack::listen`]'s,
    /// takes precedence; of two catch-all listeners, the one on the address. Each
    /// accepted connection's local address (`ConnInfo::tuple`'s `local`) is the one its
    /// client connected to: the original destination a transparent proxy forwards to.
    /// A second catch-all listener on the same IP is [`UsageError::AddrInUse`]. The
    /// backlog is [`Stack::listen`]'s.
    pub fn listen_all(&mut self, ip: IpAddr, backlog: usize) -> Result<ListenerId, Error> {
        let l = self.open_listener(SocketAddr::new(ip, 0), backlog)?;
        self.catch_all += 1;
        Ok(l)
    }

    /// [`Stack::listen`] and [`Stack::listen_all`]: a listener on `local` (port 0:
    /// every port).
    fn open_listener(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenerId, Error> {
        if self.by_local.contains_key(&local) {
            return Err(UsageError::AddrInUse.into());
        }
        let backlog = if backlog == 0 { self.cfg.default_backlog } else { backlog };
        let user_timeout = self.cfg.user_timeout.unwrap_or(Duration::ZERO);
        let inherit = Inherited {
            mss_limit: u16::MAX,
            ip: IpOut { ttl: self.cfg.ttl, ds: self.cfg.ds_field() },
            user_timeout,
            keepalive: self.cfg.keepalive,
            send_buffer: self.cfg.send_buffer,
            recv_buffer: self.cfg.recv_buffer,
            congestion_control: self.cfg.congestion_control,
        };
        let listener = Listener { local, backlog, accept_queue: VecDeque::new(), embryonic: 0, inherit };
        let idx = match self.listeners.iter().position(|l| l.is_none()) {
            Some(i) => {
                self.listeners[i] = Some(listener);
                i
            }
            None => {
                self.listeners.push(Some(listener));
                self.listeners.len() - 1
            }
        } as u32;
        self.by_local.insert(local, idx);
        let tuple = FourTuple::listener(local);
        self.app_trace(tuple, AppCall::Listen, 0);
        self.trace(TraceEvent::State { conn: tuple, from: State::Closed, to: State::Listen });
        Ok(ListenerId(idx))
    }

    /// Stop listening. Connections not yet accepted are reset.
    pub fn close_listener(&mut self, l: ListenerId) -> Result<(), Error> {
        let listener = self
            .listeners
            .get_mut(l.0 as usize)
            .and_then(|x| x.take())
            .ok_or(Error::Usage(UsageError::UnknownListener))?;
        self.by_local.remove(&listener.local);
        if listener.local.port() == 0 {
            self.catch_all -= 1;
        }
        let tuple = FourTuple::listener(listener.local);
        self.app_trace(tuple, AppCall::Close, 0);
        self.trace(TraceEvent::State { conn: tuple, from: State::Listen, to: State::Closed });
        for id in listener.accept_queue {
            let _ = self.abort(id);
        }
        // Embryonic connections of this listener: reset them too.
        let embryos: Vec<u32> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.conn.as_deref().filter(|c| c.listener == Some(l) && !c.queued_for_accept).map(|_| i as u32)
            })
            .collect();
        for idx in embryos {
            let generation = self.slots[idx as usize].generation;
            let _ = self.abort(ConnId { index: idx, generation });
        }
        Ok(())
    }

    /// Take an established connection from the listener's accept queue.
    pub fn accept(&mut self, l: ListenerId) -> Option<ConnId> {
        let listener = self.listeners.get_mut(l.0 as usize)?.as_mut()?;
        let id = listener.accept_queue.pop_front()?;
        // The handle's check (`Stack::conn`) and the borrow in one look at the slot.
        let conn = match self.slots.get_mut(id.index as usize) {
            Some(Slot { generation, conn: Some(c) }) if *generation == id.generation && !c.app_closed => c,
            _ => return None,
        };
        conn.listener = None;
        if self.cfg.trace {
            let tuple = conn.tuple;
            self.app_trace(tuple, AppCall::Accept, 0);
        }
        Some(id)
    }

    /// How many connections wait in the listener's accept queue.
    pub fn accept_queue_len(&self, l: ListenerId) -> usize {
        self.listeners.get(l.0 as usize).and_then(|x| x.as_ref()).map_or(0, |l| l.accept_queue.len())
    }

    /// Active OPEN (RFC 9293 3.10.1) from an ephemeral port of our address of the
    /// remote's family. The port is chosen per RFC 6056 Algorithm 3 and never reuses a
    /// 4-tuple that is open or in TIME-WAIT.
    pub fn connect(&mut self, now: Instant, remote: SocketAddr) -> Result<ConnId, Error> {
        self.advance(now);
        let local_ip = self
            .cfg
            .addresses
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == remote.is_ipv4())
            .ok_or(Error::Usage(UsageError::NoLocalAddress))?;
        let (port, key) = self.pick_port(local_ip, remote)?;
        let local = SocketAddr::new(local_ip, port);
        check_endpoints(local, remote)?;
        // `pick_port` checked that the 4-tuple is free.
        self.open_active(FourTuple { local, remote }, key)
    }

    /// Active OPEN from a chosen local endpoint (simultaneous open needs fixed ports on
    /// both sides). The local address must be one of [`Config::addresses`]
    /// ([`UsageError::InvalidAddress`] otherwise), or any with [`Config::any_address`]
    /// (a transparent proxy opening its side with its client's address).
    pub fn connect_from(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnId, Error> {
        self.advance(now);
        check_endpoints(local, remote)?;
        // RFC 9293 3.9.1.1: the "local IP address" parameter (MUST-43) names one of
        // the host's addresses; segments from any other would carry a source address
        // the host does not have.
        if !self.cfg.any_address && !self.cfg.addresses.contains(&local.ip()) {
            return Err(UsageError::InvalidAddress.into());
        }
        let tuple = FourTuple { local, remote };
        let key = self.by_tuple.key(&tuple);
        if self.by_tuple.lookup_hashed(key, &self.slots).is_some()
            || self.time_wait.contains_hashed(&tuple, &key)
        {
            return Err(UsageError::AddrInUse.into());
        }
        self.open_active(tuple, key)
    }

    /// Active OPEN of a 4-tuple known to be free (`key` is its key in the tables).
    fn open_active(&mut self, tuple: FourTuple, key: HashedKey) -> Result<ConnId, Error> {
        if self.live_conns >= self.cfg.max_connections {
            return Err(UsageError::ConnectionLimit.into());
        }
        let iss = SeqNum(initial_sequence(&self.keys, self.now, &tuple));
        let ecn = self.cfg.ecn == crate::config::Ecn::Active;
        // (Never at 0, which stands for none: a timeout of 0 at time 0 is 1 µs.)
        let give_up_at = match self.cfg.connect_timeout {
            Some(d) => (self.now + d).max(Instant::from_micros(1)),
            None => Instant::ZERO,
        };
        let user_timeout = self.cfg.user_timeout.unwrap_or(Duration::ZERO);
        let (id, conn) = self.alloc_slot(tuple, iss);
        conn.need_syn = true;
        conn.give_up_at = give_up_at;
        // (`Config::user_timeout`: its clock starts when the SYN's timer is armed.)
        conn.user_timeout = user_timeout;
        if ecn {
            conn.ecn_offer();
        }
        self.by_tuple.insert_hashed(key, id.index);
        self.app_trace(tuple, AppCall::Connect, 0);
        self.with_conn(id.index, |c, ctx| c.set_state(ctx, State::SynSent));
        self.schedule(id.index);
        Ok(id)
    }

    /// A free ephemeral port for (local_ip, remote), with the key of the 4-tuple.
    fn pick_port(&mut self, local_ip: IpAddr, remote: SocketAddr) -> Result<(u16, HashedKey), Error> {
        let (lo, hi) = self.cfg.ephemeral_ports;
        if lo == 0 || hi < lo {
            return Err(UsageError::PortsExhausted.into());
        }
        let num = u32::from(hi - lo) + 1;
        // The key of (local_ip, 0, remote): each candidate port's key is this one with the
        // port set. (Speed: no `FourTuple` or `SocketAddr` to build per candidate.)
        let base = FlowKey::parts_v4_inline(local_ip, 0, remote.ip(), remote.port());
        let offset = match self.last_port_offset {
            Some((k, offset)) if k == base => offset,
            _ => {
                let offset = port_offset(&self.keys, local_ip, remote);
                self.last_port_offset = Some((base, offset));
                offset
            }
        };
        let mut ready = self.next_port_key.take();
        for i in 0..num {
            let port = lo + (offset.wrapping_add(self.port_counter).wrapping_add(i) % num) as u16;
            // (Speed: the key is built and hashed once for both tables, which use the
            // same keys, and for the insertion that follows.)
            let want = base.with_local_port(port);
            let key = match ready.take() {
                Some(k) if *k.key() == want => k,
                _ => self.by_tuple.hashed(want),
            };
            if self.by_tuple.lookup_hashed(key, &self.slots).is_none() && !self.time_wait.contains_key(&key) {
                // RFC 6056 3.3.3: "next_ephemeral = next_ephemeral + 1" per connection.
                self.port_counter = self.port_counter.wrapping_add(i + 1);
                // Speed: the next connection to the same remote endpoint tries the next
                // port first. Its key is hashed now, and the TIME-WAIT index bucket it
                // will look in starts loading now (a prefetch, `TwIndex::warm`): on a
                // host that closes first that index is megabytes, and the lookup below
                // missed the cache on nearly every connection (`perf` on churn: 8.5% of
                // the time in `TwIndex::find` under `connect`; 2.0% for all of
                // `TwIndex::find` with this and the index's lower load). By the next
                // `connect` the bucket is in the cache, and the key's hash is not
                // computed twice. A connection to another endpoint in between only
                // wastes the one hash.
                let next = lo + (offset.wrapping_add(self.port_counter) % num) as u16;
                let next_key = self.by_tuple.hashed(base.with_local_port(next));
                self.time_wait.warm(&next_key);
                self.next_port_key = Some(next_key);
                return Ok((port, key));
            }
        }
        Err(UsageError::PortsExhausted.into())
    }

    // ----- SEND, RECEIVE, CLOSE, ABORT, STATUS -------------------------------------

    /// SEND (RFC 9293 3.10.2): queue bytes; returns how many fit in the send buffer.
    /// `Err(WouldBlock)` when it is full (an [`Event::Writable`] follows).
    pub fn send(&mut self, c: ConnId, data: &[u8]) -> Result<usize, Error> {
        self.app_io(c, AppCall::Send, |conn, ctx| conn.send(ctx, data))
    }

    /// SEND with the urgent flag (RFC 9293 3.10.2, 3.8.5): queue bytes as [`Stack::send`]
    /// does, and mark the last of them as the end of urgent data. Every segment sent
    /// before that point is acknowledged carries URG and the urgent pointer (the
    /// sequence number of the octet after the urgent data, MUST-62); the peer reads the
    /// data in line. RFC 9293: "new applications SHOULD NOT employ the TCP urgent
    /// mechanism (SHLD-13)" - it is here for the applications that still do.
    pub fn send_urgent(&mut self, c: ConnId, data: &[u8]) -> Result<usize, Error> {
        self.app_io(c, AppCall::Send, |conn, ctx| conn.send_urgent(ctx, data))
    }

    /// Set the Differentiated Services Codepoint (RFC 2474; six bits, 0 to 63) of the
    /// connection's segments from now on (RFC 9293 3.9.1.9: "The application layer MUST
    /// be able to specify the Differentiated Services field for segments that are sent
    /// on a connection (MUST-48)", and "SHOULD be able to change the Differentiated
    /// Services field during the connection lifetime (SHLD-21)"). [`Config::dscp`] is every new connection's. A
    /// value above 63 is [`UsageError::InvalidValue`].
    pub fn set_dscp(&mut self, c: ConnId, dscp: u8) -> Result<(), Error> {
        valid(dscp <= 63)?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.ip.ds = crate::config::ds_field(dscp));
        Ok(())
    }

    /// Set the TTL (IPv4) or hop limit (IPv6) of the connection's segments from now
    /// on, as `IP_TTL` or `IPV6_UNICAST_HOPS` does for a socket ([`Config::ttl`] is
    /// every new connection's; RFC 9293 3.9.1.1: "The TTL value used to send TCP
    /// segments MUST be configurable (MUST-49)"). Its TIME-WAIT record, once it has
    /// one, answers with the stack's, as Linux's TIME-WAIT sockets do. 0, which no
    /// router forwards, is [`UsageError::InvalidValue`].
    pub fn set_ttl(&mut self, c: ConnId, ttl: u8) -> Result<(), Error> {
        valid(ttl > 0)?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.ip.ttl = ttl);
        // The send-side run keeps the IP header of its last segment, TTL included
        // (`wire::Template`): the next one is written in full.
        self.template.forget(idx);
        Ok(())
    }

    /// Turn Nagle's algorithm off (or on again) for one connection (RFC 9293 3.7.4:
    /// "there MUST be a way for an application to disable the Nagle algorithm on an
    /// individual connection (MUST-17)"), like `TCP_NODELAY`. [`Config::nagle`] is
    /// every new connection's.
    pub fn set_nagle(&mut self, c: ConnId, on: bool) -> Result<(), Error> {
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.nagle = on);
        self.schedule(idx);
        Ok(())
    }

    /// Set how many retransmissions of one segment this connection makes before it
    /// gives up with [`ConnError::TimedOut`](crate::ConnError::TimedOut) (R2, RFC 9293 3.8.3: "An application MUST
    /// (MUST-21) be able to set the value for R2 for a particular connection"), from
    /// now on: [`RetryLimit::Never`] keeps it trying until the application closes it.
    pub fn set_retry_limit(&mut self, c: ConnId, limit: RetryLimit) -> Result<(), Error> {
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.set_retry_limit(limit));
        Ok(())
    }

    /// Set the user timeout of one connection (RFC 9293 3.9.1.1: OPEN and SEND take
    /// one, and "If a timeout is specified, the current user timeout for this connection
    /// is changed to the new one"), like `TCP_USER_TIMEOUT`: when something sent (SYN,
    /// data or FIN) stays unacknowledged for `timeout`, the connection is aborted with
    /// [`ConnError::TimedOut`](crate::ConnError::TimedOut) (3.10.8, USER TIMEOUT), at that instant (the
    /// retransmission timer is brought forward to it) and whatever R2 would allow. The
    /// clock runs while something sent waits for its acknowledgment, or data waits
    /// behind a closed window (3.9.1: "If data is not successfully delivered to the
    /// destination within the timeout period, the TCP endpoint will abort the
    /// connection"): it starts when the first of it is sent or the window closes on
    /// it (at this call, if it already waits) and starts again with every
    /// acknowledgment of new data. Changing the timeout keeps a running clock's start.
    /// A peer that answers zero-window probes without taking data does not stop it:
    /// the application's explicit limit, where RFC 9293 3.8.6.1 would otherwise keep
    /// such a connection open (MUST-37), as Linux's `TCP_USER_TIMEOUT`. While opening,
    /// [`Config::connect_timeout`] applies too, whichever ends first (and taking the
    /// user timeout away does not give back an open the time it already cut off).
    /// `None` (the default) leaves only R2 ([`Stack::set_retry_limit`]). A zero timeout is
    /// [`UsageError::InvalidValue`].
    pub fn set_user_timeout(&mut self, c: ConnId, timeout: Option<Duration>) -> Result<(), Error> {
        valid(timeout != Some(Duration::ZERO))?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, ctx| conn.set_user_timeout(ctx, timeout));
        self.schedule(idx);
        Ok(())
    }

    /// [`Stack::set_dscp`] for every connection this listener makes from now on, and
    /// for their SYN,ACKs (SYN cookie ones included), which go out before the
    /// application has a handle to set it on: RFC 9293 3.9.1.9, MUST-48, for passive
    /// opens. [`Config::dscp`] is a new listener's. A value above 63 is
    /// [`UsageError::InvalidValue`].
    pub fn set_listener_dscp(&mut self, l: ListenerId, dscp: u8) -> Result<(), Error> {
        valid(dscp <= 63)?;
        self.inherited(l)?.ip.ds = crate::config::ds_field(dscp);
        Ok(())
    }

    /// [`Stack::set_ttl`] for every connection this listener makes from now on, and
    /// for their SYN,ACKs (SYN cookie ones included). [`Config::ttl`] is a new
    /// listener's. 0 is [`UsageError::InvalidValue`].
    pub fn set_listener_ttl(&mut self, l: ListenerId, ttl: u8) -> Result<(), Error> {
        valid(ttl > 0)?;
        self.inherited(l)?.ip.ttl = ttl;
        Ok(())
    }

    /// [`Stack::set_user_timeout`] for every connection this listener accepts from now
    /// on, from the moment it is established (a half-open connection is bounded by
    /// [`Config::syn_retries`] and the SYN queue, as before).
    pub fn set_listener_user_timeout(
        &mut self,
        l: ListenerId,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        valid(timeout != Some(Duration::ZERO))?;
        self.inherited(l)?.user_timeout = timeout.unwrap_or(Duration::ZERO);
        Ok(())
    }

    /// Keep-alive (RFC 9293 3.8.4) for every connection this listener accepts from
    /// now on: on with these timings from the moment each is established, or off
    /// (`None`), like `SO_KEEPALIVE` and `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and
    /// `TCP_KEEPCNT` on a listening socket. [`Config::keepalive`] is a new listener's.
    /// Timings [`Stack::set_keepalive_timings`] refuses are refused here too.
    pub fn set_listener_keepalive(
        &mut self,
        l: ListenerId,
        keepalive: Option<crate::Keepalive>,
    ) -> Result<(), Error> {
        valid(keepalive.is_none_or(|ka| keepalive_timings_valid(&ka)))?;
        self.inherited(l)?.keepalive = keepalive;
        Ok(())
    }

    /// [`Stack::set_send_buffer`] for every connection this listener makes from now
    /// on, like `SO_SNDBUF` on a listening socket. [`Config::send_buffer`] is a new
    /// listener's. Zero is [`UsageError::InvalidValue`].
    pub fn set_listener_send_buffer(&mut self, l: ListenerId, bytes: u32) -> Result<(), Error> {
        valid(bytes > 0)?;
        self.inherited(l)?.send_buffer = bytes;
        Ok(())
    }

    /// [`Stack::set_recv_buffer`] for every connection this listener makes from now
    /// on, like `SO_RCVBUF` on a listening socket: their SYN,ACKs (SYN cookie ones
    /// included) offer its window and the window-scale shift that carries it.
    /// [`Config::recv_buffer`] is a new listener's. Zero is
    /// [`UsageError::InvalidValue`].
    pub fn set_listener_recv_buffer(&mut self, l: ListenerId, bytes: u32) -> Result<(), Error> {
        valid(bytes > 0)?;
        self.inherited(l)?.recv_buffer = bytes;
        Ok(())
    }

    /// [`Stack::set_congestion_control`] for every connection this listener makes from
    /// now on. [`Config::congestion_control`] is a new listener's. As there,
    /// [`CongestionControl::None`](crate::CongestionControl::None) is
    /// [`UsageError::InvalidValue`] either way.
    pub fn set_listener_congestion_control(
        &mut self,
        l: ListenerId,
        cc: crate::CongestionControl,
    ) -> Result<(), Error> {
        valid(cc_switchable(self.cfg.congestion_control, cc))?;
        self.inherited(l)?.congestion_control = cc;
        Ok(())
    }

    /// What listener `l` gives its connections, to change.
    fn inherited(&mut self, l: ListenerId) -> Result<&mut Inherited, Error> {
        self.listeners
            .get_mut(l.0 as usize)
            .and_then(Option::as_mut)
            .map(|listener| &mut listener.inherit)
            .ok_or(Error::Usage(UsageError::UnknownListener))
    }

    /// The smallest MSS limit [`Stack::set_mss_limit`] takes: 64 bytes, the floor synack
    /// also puts under a peer's MSS option (smaller segments would be mostly headers).
    pub const MIN_MSS_LIMIT: u16 = 64;

    /// Cap the maximum segment size of one connection at `mss`, like `TCP_MAXSEG`: the
    /// MSS option of its SYN (if not sent yet: call this before the `poll_transmit`
    /// that follows `connect`) announces at most `mss`, and it sends no segment with
    /// more than `mss` bytes of data, whatever the peer announced. Without a limit, the
    /// MSS announced is the MTU less the IP and TCP headers (RFC 9293 3.7.1), and the
    /// segments sent are at most the smaller of that and the peer's MSS (Eff.snd.MSS).
    /// Useful where a path carries less than the MTU (a tunnel) and path MTU discovery
    /// cannot tell. A limit below [`Stack::MIN_MSS_LIMIT`] is [`UsageError::InvalidValue`].
    pub fn set_mss_limit(&mut self, c: ConnId, mss: u16) -> Result<(), Error> {
        valid(mss >= Self::MIN_MSS_LIMIT)?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.set_mss_limit(mss));
        Ok(())
    }

    /// [`Stack::set_mss_limit`] for every connection this listener accepts from now
    /// on (their SYN,ACKs announce at most `mss`, cookie SYN,ACKs included), as
    /// `TCP_MAXSEG` on a listening socket.
    pub fn set_listener_mss_limit(&mut self, l: ListenerId, mss: u16) -> Result<(), Error> {
        valid(mss >= Self::MIN_MSS_LIMIT)?;
        self.inherited(l)?.mss_limit = mss;
        Ok(())
    }

    /// How many octets of urgent data the peer sent that the application has not read
    /// yet (RFC 9293 3.8.5, MUST-33); 0 when none is pending. [`Event::Urgent`] says when
    /// this grows.
    pub fn urgent_pending(&self, c: ConnId) -> Result<u32, Error> {
        self.conn(c).map(Conn::urgent_pending)
    }

    /// RECEIVE (RFC 9293 3.10.3): copy received bytes out. `Ok(0)` after the peer's FIN
    /// (end of stream); `Err(WouldBlock)` when nothing is there yet.
    pub fn recv(&mut self, c: ConnId, buf: &mut [u8]) -> Result<usize, Error> {
        self.app_io(c, AppCall::Recv, |conn, ctx| conn.recv(ctx, buf))
    }

    /// SEND in place (RFC 9293 3.10.2 without the copy from a caller's buffer): `fill`
    /// gets free space of the send buffer to write into and returns how many bytes it
    /// wrote; those are queued exactly as [`Stack::send`] queues them, and the count is
    /// returned.
    ///
    /// The space is the part that follows the queued bytes contiguously, so it may be
    /// less than all the free space when the buffer wraps: call again while it returns
    /// the full length of the space it offered. `Err(WouldBlock)` when the buffer is
    /// full (an [`Event::Writable`] follows, as it does once this call fills it).
    /// Errors as for [`Stack::send`].
    ///
    /// For relays (a proxy writing what it reads from one place straight into the
    /// stack) this saves the copy through an intermediate buffer.
    pub fn send_with(&mut self, c: ConnId, fill: impl FnOnce(&mut [u8]) -> usize) -> Result<usize, Error> {
        self.app_io(c, AppCall::Send, |conn, ctx| conn.send_with(ctx, fill))
    }

    /// RECEIVE in place (RFC 9293 3.10.3 without the copy into a caller's buffer):
    /// `take` reads received bytes where they lie in the receive buffer and returns how
    /// many it used; those are consumed exactly as [`Stack::recv`] consumes them (the
    /// window they free is announced the same way), and the count is returned.
    ///
    /// `take` sees the bytes that lie contiguously at the front of the buffer, so it may
    /// see less than all that is readable when the buffer wraps: call again for the rest.
    /// `take` is called only with data. Without data: `Ok(0)` at the end of the stream
    /// (after the peer's FIN), `Err(WouldBlock)` while more may come, and the
    /// connection's error, as for [`Stack::recv`].
    pub fn recv_with(&mut self, c: ConnId, take: impl FnOnce(&[u8]) -> usize) -> Result<usize, Error> {
        self.app_io(c, AppCall::Recv, |conn, ctx| conn.recv_with(ctx, take))
    }

    /// The body of SEND and RECEIVE in both forms: `io` moves the bytes; a count it
    /// returns is traced as the application call `call`, and the connection is queued
    /// for output and its timers re-armed (acknowledgments and window updates may be
    /// due, or new data may go out).
    fn app_io(
        &mut self,
        c: ConnId,
        call: AppCall,
        io: impl FnOnce(&mut Conn, &mut Ctx<'_>) -> Result<usize, Error>,
    ) -> Result<usize, Error> {
        // The handle's check and the borrow in one look at the slot (speed: the same
        // test as `Stack::conn`, without a second lookup for `with_conn`).
        let idx = c.index;
        let (res, nothing_to_read) = match self.slots.get_mut(idx as usize) {
            Some(Slot { generation, conn: Some(conn) })
                if *generation == c.generation && !conn.app_closed =>
            {
                // RECEIVE with nothing readable answers (end of stream, would block, the
                // error) without touching what output or timers depend on.
                let nothing_to_read = call == AppCall::Recv && conn.rx.readable() == 0;
                let mut ctx = Ctx { now: self.now, cfg: &self.cfg, id: c, sinks: &mut self.sinks };
                (io(conn, &mut ctx), nothing_to_read)
            }
            _ => return Err(UsageError::UnknownConnection.into()),
        };
        if let Ok(n) = res {
            if self.cfg.trace {
                let tuple = self.conn(c)?.tuple;
                self.app_trace(tuple, call, n);
            }
            // Speed: a RECEIVE that found nothing to read (its `Ok(0)` at the end of the
            // stream) changed nothing to schedule.
            if !nothing_to_read {
                self.schedule(idx);
            }
        }
        res
    }

    /// Turn TCP keep-alive (RFC 9293 3.8.4) on or off for one connection: "MUST allow
    /// them to be turned on or off for each TCP connection (MUST-24)". New connections
    /// start with it on exactly when [`Config::keepalive`] is set, whose timings apply
    /// (the defaults of [`crate::Keepalive`] when it is not).
    pub fn set_keepalive(&mut self, c: ConnId, on: bool) -> Result<(), Error> {
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, ctx| conn.set_keepalive(ctx, on));
        self.schedule(idx);
        Ok(())
    }

    /// Give one connection keep-alive timings of its own (RFC 9293 3.8.4: the idle
    /// "interval MUST be configurable (MUST-27)"), like `TCP_KEEPIDLE`,
    /// `TCP_KEEPINTVL` and `TCP_KEEPCNT`; [`Stack::set_keepalive`] turns keep-alive on
    /// or off. They apply at once: while keep-alive runs and no probe is out, the
    /// first probe is due `idle` after the last segment received (at once if that is
    /// past); while probing, the next probe keeps its time and the new interval and
    /// count apply from it on. A zero `idle` or `interval` is
    /// [`UsageError::InvalidValue`]; `probes` below [`crate::Keepalive::MIN_PROBES`]
    /// counts as that (MUST-29). [`ConnInfo::keepalive_timings`] reports them.
    pub fn set_keepalive_timings(&mut self, c: ConnId, timings: crate::Keepalive) -> Result<(), Error> {
        valid(keepalive_timings_valid(&timings))?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, ctx| conn.set_keepalive_timings(ctx, timings));
        self.schedule(idx);
        Ok(())
    }

    /// Set the size of one connection's send buffer (bytes the application may queue:
    /// unsent and unacknowledged data), like `SO_SNDBUF`, at once and whatever is
    /// queued: below what is queued, nothing is lost, and `send` takes nothing until
    /// the queue drains below the new size. [`Config::send_buffer`] is every new
    /// connection's. Zero is [`UsageError::InvalidValue`]. Storage is allocated as the
    /// data needs it, never the whole buffer up front.
    pub fn set_send_buffer(&mut self, c: ConnId, bytes: u32) -> Result<(), Error> {
        valid(bytes > 0)?;
        let idx = self.check(c)?;
        self.with_conn(idx, |conn, _| conn.set_send_buffer(bytes));
        Ok(())
    }

    /// Set the size of one connection's receive buffer, the largest window it offers
    /// (RFC 9293 3.8.6: RCV.BUFF), like `SO_RCVBUF`. Between `connect` and the
    /// `poll_transmit` that sends the SYN, any size, and the window-scale shift the SYN
    /// offers follows it (RFC 7323 2.3), as [`Config::recv_buffer`] sets both for every
    /// connection. After that, only a larger size: a smaller one would take back
    /// window already offered (3.8.6: shrinking the window "is strongly discouraged")
    /// and is [`UsageError::InvalidValue`], as is zero. A larger one opens the window
    /// at once (an update goes out when it opens by enough, 3.8.6.2.2), up to what the
    /// window field and the shift agreed can carry. Storage is allocated as the data
    /// needs it.
    pub fn set_recv_buffer(&mut self, c: ConnId, bytes: u32) -> Result<(), Error> {
        valid(bytes > 0)?;
        let idx = self.check(c)?;
        let taken = self.with_conn(idx, |conn, ctx| conn.set_recv_buffer(ctx.cfg, bytes));
        valid(taken == Some(true))?;
        self.schedule(idx);
        Ok(())
    }

    /// Set one connection's congestion control, like Linux's `TCP_CONGESTION`: Reno
    /// (RFC 5681 with NewReno recovery) or CUBIC (RFC 9438), at any time. The window,
    /// ssthresh and any recovery in progress stay; a connection switched to CUBIC
    /// grows from the window it has until a congestion event gives it a W_max (and
    /// still in its initial slow start, runs the rest of it under HyStart++ when
    /// [`Config::hystart`](crate::Config::hystart) is on).
    /// [`CongestionControl::None`](crate::CongestionControl::None) (unlimited, for tests
    /// and benchmarks) is [`UsageError::InvalidValue`] either way: as the target, or on
    /// a connection that has it. [`ConnInfo::congestion_control`] reports it.
    pub fn set_congestion_control(&mut self, c: ConnId, cc: crate::CongestionControl) -> Result<(), Error> {
        let idx = self.check(c)?;
        let ok = self.with_conn(idx, |conn, _| {
            let ok = cc_switchable(conn.cc.kind(), cc);
            if ok {
                conn.cc.switch(cc);
            }
            ok
        });
        valid(ok == Some(true))
    }

    /// Half-close: queue our FIN after the data already sent (CLOSE of RFC 9293 3.10.4
    /// without giving up the handle). The connection keeps receiving until the peer's
    /// FIN.
    pub fn shutdown(&mut self, c: ConnId) -> Result<(), Error> {
        let idx = self.check(c)?;
        let tuple = self.conn(c)?.tuple;
        self.app_trace(tuple, AppCall::Shutdown, 0);
        let out = self.with_conn(idx, |conn, ctx| conn.shutdown(ctx)).unwrap_or(Ok(Outcome::None))?;
        self.after_conn(idx, out);
        Ok(())
    }

    /// CLOSE (RFC 9293 3.10.4): send our FIN after pending data and release the
    /// handle; the stack finishes the close (and TIME-WAIT) on its own. If received data
    /// was never read, the connection is reset instead (RFC 9293 3.6: "If such a host
    /// issues a CLOSE call while received data is still pending in TCP, or if new data
    /// is received after CLOSE is called, its TCP SHOULD send a RST to show that data
    /// was lost (SHLD-3)").
    pub fn close(&mut self, c: ConnId) -> Result<(), Error> {
        // (The handle is checked by `Stack::conn` just below.)
        let idx = c.index;
        let (tuple, state, unread) = {
            let conn = self.conn(c)?;
            (conn.tuple, conn.state, conn.rx.readable())
        };
        if matches!(state, State::Closed | State::TimeWait) {
            self.app_trace(tuple, AppCall::Close, 0);
            self.free_slot(idx);
            return Ok(());
        }
        if unread > 0 && state.is_synchronized() {
            return self.abort(c);
        }
        self.app_trace(tuple, AppCall::Close, 0);
        let out = self
            .with_conn(idx, |conn, ctx| {
                conn.app_closed = true;
                let n = conn.rx.readable();
                conn.rx.ring.consume(n);
                let out = match conn.shutdown(ctx) {
                    Ok(o) => o,
                    // Already closing (FIN sent): just release the handle at the end.
                    Err(_) => Outcome::None,
                };
                if conn.state == State::FinWait2 {
                    // Orphaned in FIN-WAIT-2 after an earlier shutdown (keep-alive, if on,
                    // ran until now).
                    conn.limit_orphaned_fin_wait2(ctx);
                }
                out
            })
            .unwrap_or(Outcome::None);
        self.after_conn(idx, out);
        Ok(())
    }

    /// ABORT (RFC 9293 3.10.5): reset the connection and release the handle.
    pub fn abort(&mut self, c: ConnId) -> Result<(), Error> {
        let idx = self.check(c)?;
        let (tuple, listener, queued) = {
            let conn = self.conn(c)?;
            (conn.tuple, conn.listener, conn.queued_for_accept)
        };
        self.app_trace(tuple, AppCall::Abort, 0);
        self.with_conn(idx, |conn, ctx| conn.abort(ctx));
        if let Some(l) = listener {
            if !queued {
                self.listener_embryo_gone(l);
            } else if let Some(Some(lst)) = self.listeners.get_mut(l.0 as usize) {
                lst.accept_queue.retain(|x| *x != c);
            }
        }
        self.free_slot(idx);
        Ok(())
    }

    /// The connection's state (CLOSED for a released handle).
    pub fn state(&self, c: ConnId) -> State {
        match self.conn(c) {
            Ok(conn) if conn.state == State::TimeWait && !self.time_wait.contains(&conn.tuple) => {
                State::Closed
            }
            Ok(conn) => conn.state,
            Err(_) => State::Closed,
        }
    }

    /// STATUS (RFC 9293 3.10.6).
    pub fn info(&self, c: ConnId) -> Result<ConnInfo, Error> {
        let mut info = self.conn(c)?.info(&self.cfg);
        info.state = self.state(c);
        Ok(info)
    }

    /// The 4-tuple of a connection.
    pub fn tuple(&self, c: ConnId) -> Result<FourTuple, Error> {
        Ok(self.conn(c)?.tuple)
    }

    /// Why the connection failed, if it did.
    pub fn error(&self, c: ConnId) -> Option<crate::error::ConnError> {
        self.conn(c).ok().and_then(|conn| conn.error)
    }
}
