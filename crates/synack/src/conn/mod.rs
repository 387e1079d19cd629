//! One TCP connection: its transmission control block (RFC 9293 3.3.1) and the
//! application calls on it (3.10.1 - 3.10.6). Segment arrival is in `input.rs`,
//! segment output in `output.rs`, timeouts in `timers.rs`.

mod buffers;
mod cc;
mod cubic;
mod ecn;
mod fastpath;
mod frto;
mod hystart;
mod icmp;
mod input;
mod options;
mod output;
mod probe;
mod prr;
mod rtt;
mod scoreboard;
mod timers;
mod undo;
mod urgent;

pub(crate) use buffers::Ring;
pub(crate) use input::Outcome;
pub(crate) use options::{ts_before, ts_clock_of, TimeWaitStamp};
pub(crate) use output::OutSegment;

use crate::config::Config;
use crate::error::{ConnError, Error, UsageError};
use crate::event::{CloseReason, ConnId, ConnInfo, Event, ListenerId, StackStats};
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::trace::{FourTuple, TimerAction, TimerKind, TraceEvent, TraceRecord};
use crate::wire::{IpOut, TcpFlags, TcpHeader, TcpOptions};
use buffers::RecvBuffer;
use cc::Congestion;
use rtt::RttEstimator;
use std::collections::VecDeque;

/// A segment with no payload that the stack sends on behalf of a connection that may no
/// longer exist (RST after ABORT, RST answering a bad ACK, TIME-WAIT's ACK).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Control {
    pub(crate) tuple: FourTuple,
    pub(crate) hdr: TcpHeader,
    /// The IP fields: the connection's TTL and Differentiated Services field, or the
    /// stack's TTL and 0 for the stack's own.
    pub(crate) ip: IpOut,
}

/// What the stack sends of its own, outside any connection's send logic, in order.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A control segment.
    Segment(Control),
    /// An ICMP or ICMPv6 message (boxed: rare, and the queue's entries stay the size
    /// of a control segment).
    Icmp(Box<IcmpOut>),
}

/// An ICMP or ICMPv6 message the stack sends: the Time Exceeded of a reassembly out of
/// time (RFC 1122 3.3.2, RFC 8200 4.5), or an Echo Reply (RFC 1122 3.2.2.6, RFC 4443
/// 4.2), which may leave in fragments.
#[derive(Debug)]
pub(crate) struct IcmpOut {
    /// Our address (the one the datagram that caused it was for).
    pub(crate) src: std::net::IpAddr,
    /// The source of that datagram.
    pub(crate) dst: std::net::IpAddr,
    /// The whole message, ICMP header and checksum included (`wire::icmp_message`).
    pub(crate) msg: Vec<u8>,
    /// The Identification of its fragments, if it needs any.
    pub(crate) id: u32,
    /// Bytes of `msg` already sent in earlier fragments.
    pub(crate) sent: usize,
}

/// Everything a connection may touch besides itself while handling one event.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) cfg: &'a Config,
    pub(crate) id: ConnId,
    /// Where the connection's output goes, shared by the whole stack.
    ///
    /// Speed: one reference, not one per queue, so building a `Ctx` (at every segment
    /// and application call) stores four fields rather than nine.
    pub(crate) sinks: &'a mut Sinks,
}

/// The stack-wide queues and counters a connection writes to (see [`Ctx::sinks`]).
#[derive(Debug)]
pub(crate) struct Sinks {
    pub(crate) trace: VecDeque<TraceRecord>,
    pub(crate) events: crate::event::EventQueue,
    pub(crate) control: VecDeque<Outgoing>,
    pub(crate) stats: StackStats,
    /// The stack-wide challenge-ACK budget (RFC 5961 7).
    pub(crate) challenge: crate::ratelimit::ChallengeAckLimiter,
    /// Ring storage released by connections, for the next ring that needs some
    /// ([`Ring::release_into`]).
    pub(crate) spare: Vec<Vec<u8>>,
    /// Bytes delivered into the application's buffer during the current
    /// `Stack::handle_packet_into` (see `RecvBuffer::stage_direct`).
    pub(crate) delivered_direct: u32,
    /// Set when a connection sent new data and still has more than a full segment's
    /// worth to send: the stack's next output tries send-side header prediction first
    /// (`Stack::transmit_run`, which clears it when the prediction does not hold).
    pub(crate) run_hint: bool,
}

impl Sinks {
    /// Append a trace record: the one place every trace event is written (callers test
    /// `Config::trace` first). Out of line and cold (size): the hot code of the callers
    /// keeps only that test and a jump.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(&mut self, t: Instant, ev: TraceEvent) {
        self.trace.push_back(TraceRecord { t, ev });
    }
}

/// Maximum control segments queued stack-wide; beyond it they are dropped and counted
/// (a flood of segments must not grow memory).
pub(crate) const MAX_CONTROL_QUEUE: usize = 1024;

impl Ctx<'_> {
    /// Record a trace event when tracing is on.
    ///
    /// Always inlined (speed): with `Config::trace` off, the compiler then drops the
    /// construction of the event along with the push, so tracing costs one test.
    ///
    /// Size: the recording itself ([`Sinks::record`]) is out of line and cold, so that
    /// the hot code of its callers keeps only the test and a jump (the event is built in
    /// the cold block).
    #[inline(always)]
    pub(crate) fn trace(&mut self, ev: TraceEvent) {
        if self.cfg.trace {
            self.sinks.record(self.now, ev);
        }
    }

    /// Queue a control segment (RST or bare ACK) for `tuple`, with the connection's
    /// IP fields `ip`: its Differentiated Services field (RFC 9293 3.9.1.9, SHLD-22)
    /// and TTL.
    pub(crate) fn send_control(&mut self, tuple: FourTuple, ip: IpOut, hdr: TcpHeader) {
        if self.sinks.control.len() >= MAX_CONTROL_QUEUE {
            self.sinks.stats.control_dropped += 1;
            return;
        }
        if hdr.flags.rst() {
            self.sinks.stats.rst_sent += 1;
        }
        self.sinks.control.push_back(Outgoing::Segment(Control { tuple, hdr, ip }));
    }
}

/// A bare header for a control segment.
pub(crate) fn control_header(
    tuple: &FourTuple,
    seq: SeqNum,
    ack: Option<SeqNum>,
    flags: TcpFlags,
    window: u16,
) -> TcpHeader {
    TcpHeader {
        src_port: tuple.local.port(),
        dst_port: tuple.remote.port(),
        seq,
        ack: ack.unwrap_or(SeqNum(0)),
        flags: if ack.is_some() { flags | TcpFlags::ACK } else { flags },
        window,
        urgent: 0,
        options: TcpOptions::NONE,
    }
}

/// The four timers a connection may run.
///
/// Read the slots freely; change them only through [`Conn::set_timer`],
/// [`Conn::cancel_timer`], `Conn::arm_retransmission_timer` and the timeout handler,
/// which keep `earliest` up to date.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timers {
    /// Retransmission (of SYN, SYN-ACK, data or FIN).
    pub(crate) rto: Option<Instant>,
    /// Delayed ACK.
    pub(crate) delack: Option<Instant>,
    /// Zero-window probe.
    pub(crate) persist: Option<Instant>,
    /// FIN-WAIT-2 limit for connections the application has closed.
    pub(crate) fin_wait2: Option<Instant>,
    /// The earliest of the four, kept whenever one changes ([`Timers::after_set`]).
    ///
    /// Speed: the stack asks for a connection's deadline several times per segment
    /// (timer heap upkeep); timers change far less often than that.
    earliest: Option<Instant>,
}

impl Timers {
    /// The slot of a timer kind.
    pub(crate) fn slot(&mut self, kind: TimerKind) -> &mut Option<Instant> {
        match kind {
            TimerKind::Rto | TimerKind::Syn => &mut self.rto,
            TimerKind::DelayedAck => &mut self.delack,
            TimerKind::Persist => &mut self.persist,
            TimerKind::Keepalive | TimerKind::TimeWait => &mut self.fin_wait2,
        }
    }

    /// Keep `earliest` after a slot that held `old` was set to `at`.
    ///
    /// Size: a full [`Timers::refresh`] (about 20 instructions) was inlined at every
    /// timer change, half a dozen of them on each connection's lifecycle. The earliest
    /// deadline only needs recomputing when the slot that held it moves later; otherwise
    /// it is `at` or stays. (The recomputation is out of line.) Measured on the churn
    /// benchmark: 631 -> 627 hot code lines, I1 misses 404 -> 373 and instructions
    /// 23323 -> 23459 per lifecycle (the out-of-line recompute runs on most cancels);
    /// bulk_1500 +0.24%.
    #[inline(always)]
    pub(crate) fn after_set(&mut self, old: Option<Instant>, at: Instant) {
        match self.earliest {
            Some(e) if e < at => {
                if old == Some(e) {
                    self.refresh();
                }
            }
            // No timer ran, or `at` comes first.
            _ => self.earliest = Some(at),
        }
    }

    /// Keep `earliest` after the slot that held `old` was cleared: only clearing the
    /// earliest deadline changes it (see [`Timers::after_set`]).
    #[inline(always)]
    pub(crate) fn after_cancel(&mut self, old: Instant) {
        if self.earliest == Some(old) {
            self.refresh();
        }
    }

    /// Recompute `earliest` after a slot changed.
    #[inline(never)]
    pub(crate) fn refresh(&mut self) {
        // Speed: plain integer minimum (no branches), an absent timer counting as the
        // latest instant; `any` keeps a timer set at that very instant.
        let at = |t: Option<Instant>| t.map_or(u64::MAX, Instant::as_micros);
        let slots = [self.rto, self.delack, self.persist, self.fin_wait2];
        let min = at(slots[0]).min(at(slots[1])).min(at(slots[2]).min(at(slots[3])));
        let any = slots.iter().any(Option::is_some);
        self.earliest = any.then_some(Instant::from_micros(min));
    }
}

/// One connection's transmission control block.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) tuple: FourTuple,
    pub(crate) state: State,
    /// The listener this connection came from (passive OPEN), until accepted.
    pub(crate) listener: Option<ListenerId>,
    /// Whether the connection sits in its listener's accept queue or was accepted.
    pub(crate) queued_for_accept: bool,

    // Send sequence space (RFC 9293 3.3.1, Figure 4).
    pub(crate) iss: SeqNum,
    /// SND.UNA: oldest unacknowledged sequence number.
    pub(crate) snd_una: SeqNum,
    /// SND.NXT in the RFC's sense: one past the highest sequence number ever sent.
    pub(crate) snd_nxt: SeqNum,
    /// Where the next (re)transmission starts; below `snd_nxt` after a timeout
    /// (go-back-N, RFC 6298 5.4 and RFC 5681 3.1).
    pub(crate) snd_next: SeqNum,
    /// SND.WND, already scaled.
    pub(crate) snd_wnd: u32,
    /// MAX.SND.WND (RFC 5961 5).
    pub(crate) max_snd_wnd: u32,
    pub(crate) snd_wl1: SeqNum,
    pub(crate) snd_wl2: SeqNum,
    /// Shift applied to the peer's window field (RFC 7323 2.3).
    pub(crate) snd_wscale: u8,
    /// Effective send MSS (RFC 9293 3.7.1).
    pub(crate) mss: u16,
    /// The application's cap on the MSS this end announces and on the segments it
    /// sends (`Stack::set_mss_limit`, like `TCP_MAXSEG`); `u16::MAX` when none.
    pub(crate) mss_limit: u16,
    /// ssthresh before the timeout F-RTO watches, what a spurious one restores
    /// (`conn/frto.rs`), in segments of `mss`, `u16::MAX` for that many or more. (In
    /// segments so that it fits the control block's padding: the size stays 744.)
    pub(crate) frto_ssthresh: u16,
    /// Our timestamp clock when the timeout F-RTO watches fired (with timestamps in
    /// use): an ACK of the retransmission that echoes an older TSval was sent for the
    /// original (Eifel detection, `conn/frto.rs`).
    pub(crate) frto_tsval: u32,

    // Receive sequence space.
    pub(crate) irs: SeqNum,
    /// RCV.NXT.
    pub(crate) rcv_nxt: SeqNum,
    /// The right edge we advertised last: RCV.NXT + RCV.WND must not move left (3.8.6).
    pub(crate) rcv_adv: SeqNum,
    /// Shift we apply to our window field.
    pub(crate) rcv_wscale: u8,
    /// Window scaling is in effect (or, before the peer's SYN, offered by us).
    pub(crate) ws_enabled: bool,
    /// The peer's FIN, seen but not yet reached (it lies beyond a gap).
    pub(crate) peer_fin: Option<SeqNum>,
    /// SACK and timestamps: negotiation, TS.Recent, the SACK blocks to report
    /// (`options.rs`).
    pub(crate) options: options::ConnOptions,

    pub(crate) tx: Ring,
    pub(crate) rx: RecvBuffer,

    /// Our FIN's sequence number, fixed when the application asks for it (CLOSE or
    /// shutdown): no data can be queued after it.
    pub(crate) fin: Option<SeqNum>,
    /// The application called CLOSE: it will not read again and releases the handle
    /// once the connection is done.
    pub(crate) app_closed: bool,
    /// SYN (or SYN-ACK) must be (re)sent.
    pub(crate) need_syn: bool,
    /// Our SYN has been acknowledged.
    pub(crate) syn_acked: bool,
    /// The SYN (or SYN-ACK) retransmission timer expired at least once (RFC 6298 5.7).
    pub(crate) syn_timed_out: bool,
    /// How many times our SYN was sent (retransmissions are marked as such). (Size:
    /// 16 bits, saturating, leave room in the control block for the TTL.)
    pub(crate) syn_sent_count: u16,
    /// An ACK must go out now (not delayed).
    pub(crate) ack_now: bool,
    /// Fast retransmit (or a NewReno partial ACK) asks for the segment at SND.UNA.
    pub(crate) retransmit_una: bool,
    /// A zero-window probe is due.
    pub(crate) probe_due: bool,
    /// Full-sized segments received since our last ACK (3.8.6.3: ACK every second one).
    pub(crate) unacked_segments: u32,
    /// `send` found the buffer full: raise Writable when space opens.
    pub(crate) want_writable: bool,
    /// RCV.UP (RFC 9293 3.8.5): one past the last octet of urgent data the peer
    /// pointed at (MUST-62), once it sent any (`urgent.rs`).
    pub(crate) rcv_up: Option<SeqNum>,
    /// SND.UP: one past the last octet of urgent data the application queued, until
    /// it is acknowledged (`urgent.rs`).
    pub(crate) snd_up: Option<SeqNum>,
    /// The IP fields of the connection's segments: the Differentiated Services field
    /// (RFC 9293 3.9.1.9: "The application layer MUST be able to specify the
    /// Differentiated Services field for segments that are sent on a connection
    /// (MUST-48)"; the ECN bits are added per segment) and the TTL or hop limit
    /// (`Config::ttl`, or `Stack::set_ttl`, like `IP_TTL`; MUST-49 asks only that it
    /// be configurable).
    pub(crate) ip: IpOut,
    /// The last ICMP error reported (`ConnInfo::icmp_error`).
    pub(crate) last_icmp: Option<crate::error::IcmpError>,
    /// Readable was raised and `recv` has not drained the buffer since.
    pub(crate) readable_raised: bool,

    pub(crate) rtt: RttEstimator,
    /// The segment being timed (Karn's rule: never a retransmitted one).
    pub(crate) rtt_probe: Option<(SeqNum, Instant)>,
    pub(crate) cc: Congestion,
    /// Tail loss probe state (RFC 8985 7, `probe.rs`).
    pub(crate) lp: probe::LossProbe,
    /// SACK-based recovery state (RFC 6675, `scoreboard.rs`), allocated when the peer
    /// first reports SACKed data: most connections never lose a segment, and an idle
    /// connection should stay small.
    pub(crate) sack: Option<Box<scoreboard::SackRecovery>>,
    /// Consecutive retransmission timeouts (or unanswered probes) without progress.
    pub(crate) retries: u32,
    pub(crate) retransmissions: u64,

    pub(crate) timers: Timers,
    /// The earliest deadline this connection has in the stack's timer heap.
    pub(crate) heap_deadline: Option<Instant>,
    /// Whether the connection is in the stack's transmit queue.
    pub(crate) in_tx_queue: bool,
    /// How the connection ended, once CLOSED.
    pub(crate) error: Option<ConnError>,
    /// Keep-alive is on for this connection (RFC 9293 3.8.4; `timers.rs`).
    pub(crate) keepalive: bool,
    /// Keep-alive probes sent and not answered (as of the last time its timer fired).
    pub(crate) ka_probes: u8,
    /// This connection's own keep-alive timings (`Stack::set_keepalive_timings`, or
    /// its listener's), or `None` for [`Config::keepalive`]'s (the defaults of
    /// [`crate::Keepalive`] when it is `None`). (Size: boxed, 8 bytes, since few
    /// connections have their own; see [`Conn::keepalive_timings`].)
    pub(crate) ka_timings: Option<Box<crate::Keepalive>>,
    /// Nagle's algorithm on this connection (RFC 9293 3.7.4: "there MUST be a way for
    /// an application to disable the Nagle algorithm on an individual connection
    /// (MUST-17)"); [`Config::nagle`] at the start.
    pub(crate) nagle: bool,
    /// R2 of this connection (RFC 9293 3.8.3, MUST-21), as [`Conn::set_retry_limit`]
    /// stores it: 0 for [`Config::syn_retries`] and [`Config::max_retries`], otherwise
    /// the limit plus one. (Size: a plain number beside the other small fields keeps
    /// the control block at its size; an `Option<u32>` took 8 more bytes.)
    pub(crate) retry_limit: u32,
    /// When the last segment arrived (acceptable or not, its checksum verified): what
    /// keep-alive measures idleness from.
    pub(crate) last_rx: Instant,
    /// When the connection gives up (`ConnError::TimedOut`) if what it sent is still
    /// unacknowledged: while opening, the open's deadline ([`Config::connect_timeout`]),
    /// or the user timeout's ([`Conn::user_timeout`]) if earlier; once synchronized,
    /// the user timeout's, from when the oldest unacknowledged data began to wait.
    /// [`Instant::ZERO`] for none (size: an `Option` took 8 more bytes; a deadline is
    /// never at 0, see `Stack::open_active` and `Conn::give_up_clamp`).
    pub(crate) give_up_at: Instant,
    /// The user timeout (RFC 9293 3.10.8; `Stack::set_user_timeout`), or
    /// [`Duration::ZERO`](crate::time::Duration::ZERO) for none.
    pub(crate) user_timeout: crate::time::Duration,
    /// Explicit Congestion Notification (RFC 3168): the `ecn::` bits, 0 on a
    /// connection that neither asked for it nor negotiated it (`ecn.rs`).
    pub(crate) ecn: u8,
    /// The SND.NXT of the last response to an ECN-Echo: a later ECE answers the same
    /// window of data until an ACK goes beyond it (RFC 3168 6.1.2).
    pub(crate) ecn_recover: SeqNum,
}

impl Conn {
    /// A new connection in CLOSED, ready for an active or passive open.
    pub(crate) fn new(cfg: &Config, tuple: FourTuple, iss: SeqNum) -> Self {
        let mss = cfg.announced_mss(tuple.remote.is_ipv6());
        let rcv_wscale = initial_rcv_wscale(cfg);
        Conn {
            tuple,
            state: State::Closed,
            listener: None,
            queued_for_accept: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_next: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNum(0),
            snd_wl2: iss,
            snd_wscale: 0,
            mss,
            mss_limit: u16::MAX,
            frto_ssthresh: 0,
            frto_tsval: 0,
            irs: SeqNum(0),
            rcv_nxt: SeqNum(0),
            rcv_adv: SeqNum(0),
            rcv_wscale,
            ws_enabled: cfg.window_scaling,
            peer_fin: None,
            tx: Ring::new(cfg.send_buffer as usize),
            rx: RecvBuffer::new(recv_capacity(cfg), cfg.max_ooo_ranges),
            fin: None,
            app_closed: false,
            need_syn: false,
            syn_acked: false,
            syn_timed_out: false,
            syn_sent_count: 0,
            ack_now: false,
            retransmit_una: false,
            probe_due: false,
            unacked_segments: 0,
            want_writable: false,
            rcv_up: None,
            snd_up: None,
            ip: IpOut { ttl: cfg.ttl, ds: cfg.ds_field() },
            last_icmp: None,
            readable_raised: false,
            rtt: RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max),
            rtt_probe: None,
            cc: Congestion::new(
                cfg.congestion_control,
                u32::from(mss),
                cfg.initial_window,
                cfg.limited_transmit,
                cfg.hystart,
            ),
            lp: probe::LossProbe::default(),
            sack: None,
            retries: 0,
            retransmissions: 0,
            timers: Timers::default(),
            heap_deadline: None,
            in_tx_queue: false,
            error: None,
            keepalive: cfg.keepalive.is_some(),
            ka_probes: 0,
            ka_timings: None,
            nagle: cfg.nagle,
            retry_limit: 0,
            last_rx: Instant::ZERO,
            give_up_at: Instant::ZERO,
            user_timeout: crate::time::Duration::ZERO,
            ecn: 0,
            ecn_recover: iss,
            options: options::ConnOptions::new(cfg, &tuple),
        }
    }

    /// Make this (released) connection exactly what [`Conn::new`] returns, in place.
    ///
    /// Speed: the stack reuses the boxes of released connections; constructing a new
    /// `Conn` and moving it into a box costs a copy of the whole struct (several hundred
    /// bytes) and the drop of the old value, where this writes each field once where it
    /// lies. The destructuring names every field, so a field added to `Conn` without
    /// being set here does not compile, and a test checks that both give the same value.
    pub(crate) fn reinit(&mut self, cfg: &Config, tuple: FourTuple, iss: SeqNum) {
        // Size: storage the box may still hold (none after `release_buffers`, only a
        // SACK scoreboard) goes first, out of line; the resets below are then plain
        // stores, with no drop code (and no calls) between them, which the compiler
        // merges. (`reinit` was 20 hot code lines of each connection's setup.)
        if self.tx.holds_storage()
            || self.rx.holds_storage()
            || self.sack.is_some()
            || self.ka_timings.is_some()
        {
            self.drop_storage();
        }
        let mss = cfg.announced_mss(tuple.remote.is_ipv6());
        let rcv_wscale = initial_rcv_wscale(cfg);
        let Conn {
            tuple: c_tuple,
            state,
            listener,
            queued_for_accept,
            iss: c_iss,
            snd_una,
            snd_nxt,
            snd_next,
            snd_wnd,
            max_snd_wnd,
            snd_wl1,
            snd_wl2,
            snd_wscale,
            mss: c_mss,
            mss_limit,
            frto_ssthresh,
            frto_tsval,
            irs,
            rcv_nxt,
            rcv_adv,
            rcv_wscale: c_rcv_wscale,
            ws_enabled,
            peer_fin,
            options,
            tx,
            rx,
            fin,
            app_closed,
            need_syn,
            syn_acked,
            syn_timed_out,
            syn_sent_count,
            ack_now,
            retransmit_una,
            probe_due,
            unacked_segments,
            want_writable,
            rcv_up,
            snd_up,
            ip,
            last_icmp,
            readable_raised,
            rtt,
            rtt_probe,
            cc,
            lp,
            sack,
            retries,
            retransmissions,
            timers,
            heap_deadline,
            in_tx_queue,
            error,
            keepalive,
            ka_probes,
            ka_timings,
            nagle,
            retry_limit,
            last_rx,
            give_up_at,
            user_timeout,
            ecn,
            ecn_recover,
        } = self;
        *c_tuple = tuple;
        *state = State::Closed;
        *listener = None;
        *queued_for_accept = false;
        *c_iss = iss;
        *snd_una = iss;
        *snd_nxt = iss;
        *snd_next = iss;
        *snd_wnd = 0;
        *max_snd_wnd = 0;
        *snd_wl1 = SeqNum(0);
        *snd_wl2 = iss;
        *snd_wscale = 0;
        *c_mss = mss;
        *mss_limit = u16::MAX;
        *frto_ssthresh = 0;
        *frto_tsval = 0;
        *irs = SeqNum(0);
        *rcv_nxt = SeqNum(0);
        *rcv_adv = SeqNum(0);
        *c_rcv_wscale = rcv_wscale;
        *ws_enabled = cfg.window_scaling;
        *peer_fin = None;
        tx.reset(cfg.send_buffer as usize);
        rx.reset(recv_capacity(cfg), cfg.max_ooo_ranges);
        *fin = None;
        *app_closed = false;
        *need_syn = false;
        *syn_acked = false;
        *syn_timed_out = false;
        *syn_sent_count = 0;
        *ack_now = false;
        *retransmit_una = false;
        *probe_due = false;
        *unacked_segments = 0;
        *want_writable = false;
        *rcv_up = None;
        *snd_up = None;
        *ip = IpOut { ttl: cfg.ttl, ds: cfg.ds_field() };
        *last_icmp = None;
        *readable_raised = false;
        *rtt = RttEstimator::new(cfg.rto_initial, cfg.rto_min, cfg.rto_max);
        *rtt_probe = None;
        let (iw, lt) = (cfg.initial_window, cfg.limited_transmit);
        *cc = Congestion::new(cfg.congestion_control, u32::from(mss), iw, lt, cfg.hystart);
        *lp = probe::LossProbe::default();
        // (`sack` is `None`: see the start.)
        debug_assert!(sack.is_none());
        *retries = 0;
        *retransmissions = 0;
        *timers = Timers::default();
        *heap_deadline = None;
        *in_tx_queue = false;
        *error = None;
        *keepalive = cfg.keepalive.is_some();
        *ka_probes = 0;
        // (`ka_timings` is `None`: see the start.)
        debug_assert!(ka_timings.is_none());
        *nagle = cfg.nagle;
        *retry_limit = 0;
        *last_rx = Instant::ZERO;
        *give_up_at = Instant::ZERO;
        *user_timeout = crate::time::Duration::ZERO;
        *ecn = 0;
        *ecn_recover = iss;
        *options = options::ConnOptions::new(cfg, &tuple);
    }

    /// The storage [`Conn::reinit`] must not find: rings, out-of-order list, SACK
    /// scoreboard, keep-alive timings, dropped.
    #[cold]
    #[inline(never)]
    fn drop_storage(&mut self) {
        self.drop_buffers();
        self.sack = None;
        self.ka_timings = None;
    }

    /// Give up the send and receive storage of a released connection: blocks of the
    /// minimum size go to `spare` (see [`Ring::release_into`]), the rest is freed.
    ///
    /// Size: an empty ring has just given its storage up; only storage still held
    /// (bytes unsent or unread, an out-of-order list) is dropped, out of line. The rest
    /// of the released control block is left as it is: [`Conn::reinit`] sets every
    /// field before the box is used again.
    pub(crate) fn release_buffers(&mut self, spare: &mut Vec<Vec<u8>>) {
        self.tx.release_into(spare);
        self.rx.ring.release_into(spare);
        if self.tx.holds_storage() || self.rx.holds_storage() {
            self.drop_buffers();
        }
    }

    /// The storage [`Conn::release_buffers`] could not pass on, dropped.
    #[cold]
    #[inline(never)]
    fn drop_buffers(&mut self) {
        self.tx = Ring::new(0);
        self.rx = RecvBuffer::new(0, 0);
    }

    /// Change state, recording it (trace and event).
    ///
    /// Size: never inlined; it is called from a dozen places, and inlined copies
    /// (small once the trace is out of line) spread over the code of every lifecycle.
    #[inline(never)]
    pub(crate) fn set_state(&mut self, ctx: &mut Ctx<'_>, to: State) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        if ctx.cfg.trace {
            ctx.trace(TraceEvent::State { conn: self.tuple, from, to });
        }
        if self.keepalive {
            self.keepalive_on_state(ctx, from, to);
        }
        if self.known_to_app() {
            ctx.sinks.events.push_back(Event::StateChanged { conn: ctx.id, from, to });
        }
    }

    /// Retransmissions of one segment before the connection gives up (R2, RFC 9293
    /// 3.8.3): the application's limit for this connection, or the configured one for
    /// the current state (SYN and SYN,ACK, or everything else; MUST-23 asks at least
    /// 3 minutes of SYN retransmission).
    pub(crate) fn r2(&self, cfg: &Config) -> u32 {
        match self.retry_limit {
            0 => match self.state {
                State::SynSent | State::SynReceived => cfg.syn_retries,
                _ => cfg.max_retries,
            },
            n => n - 1,
        }
    }

    /// The MSS this end announces in its SYN (RFC 9293 3.7.1: "The MSS value to be
    /// sent in an MSS Option should be equal to the effective MTU minus the fixed IP
    /// and TCP headers"), lowered to the application's limit if it set one.
    pub(crate) fn own_mss(&self, cfg: &Config) -> u16 {
        cfg.announced_mss(self.tuple.remote.is_ipv6()).min(self.mss_limit)
    }

    /// Cap the MSS at `limit` (see [`Conn::mss_limit`]): the MSS announced by a SYN
    /// not yet sent, and at once the size of the segments sent once the SYNs are
    /// exchanged (Eff.snd.MSS, RFC 9293 3.7.1, is then at most the limit less the
    /// timestamp option's bytes, as for the negotiated MSS).
    pub(crate) fn set_mss_limit(&mut self, limit: u16) {
        self.mss_limit = limit;
        // Once the peer's SYN is in, its options were applied (`apply_syn_options`).
        if !matches!(self.state, State::Closed | State::Listen | State::SynSent) {
            self.lower_mss(limit.saturating_sub(self.ts_option_len()).max(1));
        }
    }

    /// The bytes of options every segment carries (the timestamps, once negotiated),
    /// which come off the MSS (RFC 9293 3.7.1).
    pub(crate) fn ts_option_len(&self) -> u16 {
        if self.options.ts_ok {
            options::TS_OPTION_LEN
        } else {
            0
        }
    }

    /// Lower Eff.snd.MSS to `mss` (never raise it), with the congestion window's unit;
    /// whether it went down.
    pub(crate) fn lower_mss(&mut self, mss: u16) -> bool {
        if mss >= self.mss {
            return false;
        }
        self.mss = mss;
        self.cc.reduce_mss(u32::from(mss));
        true
    }

    /// Set R2 for this connection (see [`Conn::r2`]).
    pub(crate) fn set_retry_limit(&mut self, limit: crate::config::RetryLimit) {
        use crate::config::RetryLimit;
        self.retry_limit = match limit {
            RetryLimit::Config => 0,
            RetryLimit::After(n) => n.saturating_add(1),
            RetryLimit::Never => u32::MAX,
        };
    }

    /// Whether the application knows the connection, and so gets its events: not a
    /// passive one still waiting to join its listener's accept queue (embryonic
    /// connections are invisible to the application).
    #[inline]
    pub(crate) fn known_to_app(&self) -> bool {
        self.listener.is_none() || self.queued_for_accept
    }

    /// The timer kind used for the retransmission timer in the current state.
    pub(crate) fn rto_kind(&self) -> TimerKind {
        match self.state {
            State::SynSent | State::SynReceived => TimerKind::Syn,
            _ => TimerKind::Rto,
        }
    }

    // Speed: small and called on every segment; inlined so that codegen-unit
    // partitioning does not leave it out of line in some builds.
    #[inline]
    pub(crate) fn set_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind, at: Instant) {
        let old = self.timers.slot(kind).replace(at);
        self.timers.after_set(old, at);
        self.trace_timer(ctx, kind, TimerAction::Set, at);
    }

    /// Record a timer event when tracing is on.
    ///
    /// Size: inlined at every timer change, so only the test and a call stay there; the
    /// event (a copy of the tuple, built in a stack frame that the callers then needed
    /// for it alone) is built out of line in [`Conn::record_timer`]. (Churn: 645 -> 641
    /// hot code lines, 55 fewer instructions per lifecycle.)
    #[inline(always)]
    pub(crate) fn trace_timer(&self, ctx: &mut Ctx<'_>, timer: TimerKind, action: TimerAction, at: Instant) {
        if ctx.cfg.trace {
            self.record_timer(ctx, timer, action, at);
        }
    }

    /// The recording of [`Conn::trace_timer`].
    #[cold]
    #[inline(never)]
    fn record_timer(&self, ctx: &mut Ctx<'_>, timer: TimerKind, action: TimerAction, at: Instant) {
        ctx.sinks.record(ctx.now, TraceEvent::Timer { conn: self.tuple, timer, action, at });
    }

    // Speed: small and called on every segment; inlined so that codegen-unit
    // partitioning does not leave it out of line in some builds.
    #[inline]
    pub(crate) fn cancel_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        if let Some(at) = self.timers.slot(kind).take() {
            self.timers.after_cancel(at);
            self.trace_timer(ctx, kind, TimerAction::Cancel, at);
        }
    }

    /// Cancel every timer (closing, entering TIME-WAIT), tracing each one cancelled.
    ///
    /// Speed: nothing to do when no timer runs (`earliest` is `None` exactly then), and
    /// `earliest` is cleared once rather than recomputed after each cancelled slot.
    ///
    /// Size: without tracing, the slots are cleared all at once; the per-slot walk that
    /// traces each cancellation is out of line.
    pub(crate) fn cancel_all_timers(&mut self, ctx: &mut Ctx<'_>) {
        if self.timers.earliest.is_none() {
            return;
        }
        if ctx.cfg.trace {
            self.trace_cancel_all_timers(ctx);
        }
        // Every slot (`Timers::slot` of each kind) and `earliest`.
        self.timers = Timers::default();
    }

    /// The trace of [`Conn::cancel_all_timers`]: each running timer's cancellation.
    #[cold]
    #[inline(never)]
    fn trace_cancel_all_timers(&mut self, ctx: &mut Ctx<'_>) {
        let k = self.rto_kind();
        for kind in [k, TimerKind::DelayedAck, TimerKind::Persist, TimerKind::Keepalive] {
            if let Some(at) = *self.timers.slot(kind) {
                self.trace_timer(ctx, kind, TimerAction::Cancel, at);
            }
        }
    }

    /// The earliest of this connection's deadlines.
    #[inline]
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.timers.earliest
    }

    /// RCV.WND: free receive buffer space (3.8: "the window ... indicates an allowed
    /// number of octets that the sender may transmit before receiving further
    /// permission").
    pub(crate) fn rcv_wnd(&self) -> u32 {
        (self.rx.ring.capacity() - self.rx.readable()) as u32
    }

    /// Bytes sent and not acknowledged.
    pub(crate) fn flight(&self) -> u32 {
        self.snd_nxt.since(self.snd_una)
    }

    /// The sequence number one past the last byte the application queued.
    pub(crate) fn data_end(&self) -> SeqNum {
        if let Some(f) = self.fin {
            return f;
        }
        self.snd_una + self.syn_unacked() + self.tx.len() as u32
    }

    /// 1 while our SYN occupies the send space (not yet acknowledged), else 0.
    pub(crate) fn syn_unacked(&self) -> u32 {
        u32::from(!self.syn_acked)
    }

    /// The sequence number of our FIN, if the application asked for it.
    pub(crate) fn fin_seq(&self) -> Option<SeqNum> {
        self.fin
    }

    /// Whether the application asked for our FIN.
    pub(crate) fn fin_queued(&self) -> bool {
        self.fin.is_some()
    }

    fn queue_fin(&mut self) {
        if self.fin.is_none() {
            self.fin = Some(self.data_end());
        }
    }

    /// Whether our FIN has been sent and acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_una.gt(f))
    }

    /// Move to CLOSED with `error` (None for a normal close), flushing everything.
    pub(crate) fn close_with(&mut self, ctx: &mut Ctx<'_>, error: Option<ConnError>) {
        self.cancel_all_timers(ctx);
        let consumed = self.tx.len();
        self.tx.consume(consumed);
        self.tx.release_into(&mut ctx.sinks.spare);
        if error.is_some() {
            self.rx.clear();
        }
        if self.rx.readable() == 0 {
            self.rx.clear();
            self.rx.ring.release_into(&mut ctx.sinks.spare);
        }
        self.error = error;
        self.set_state(ctx, State::Closed);
        if self.known_to_app() {
            let reason = error.map_or(CloseReason::Normal, CloseReason::Error);
            ctx.sinks.events.push_back(Event::Closed { conn: ctx.id, reason });
        }
    }

    /// Whether the application may still pass data to `send`.
    fn send_allowed(&self) -> Result<(), Error> {
        if let Some(e) = self.error {
            return Err(e.into());
        }
        if self.fin.is_some() || !self.state.can_send() {
            // 3.10.2: "If the user ... has already CLOSEd, return "error: connection
            // closing" and do not service request."
            return Err(UsageError::InvalidState(self.state).into());
        }
        Ok(())
    }

    /// SEND (RFC 9293 3.10.2). In SYN-SENT and SYN-RECEIVED the data is queued "for
    /// transmission after entering ESTABLISHED state".
    pub(crate) fn send(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Result<usize, Error> {
        self.send_allowed()?;
        if data.is_empty() {
            return Ok(0);
        }
        if self.tx.free() > 0 {
            self.tx.adopt_from(&mut ctx.sinks.spare);
        }
        let n = self.tx.push(data);
        if n < data.len() {
            // The buffer is full (this call filled it, or it already was): the
            // application will wait for space, so promise it an Event::Writable.
            self.want_writable = true;
        }
        if n == 0 {
            return Err(Error::WouldBlock);
        }
        Ok(n)
    }

    /// SEND in place: `fill` writes into the send buffer's contiguous free space and
    /// returns how many bytes it wrote, which are queued as [`Conn::send`] queues them.
    pub(crate) fn send_with(
        &mut self,
        ctx: &mut Ctx<'_>,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, Error> {
        self.send_allowed()?;
        if self.tx.free() == 0 {
            self.want_writable = true;
            return Err(Error::WouldBlock);
        }
        self.tx.adopt_from(&mut ctx.sinks.spare);
        let n = self.tx.append_with(fill);
        if self.tx.free() == 0 {
            // Filled: as for a short `send`, the application will wait for space.
            self.want_writable = true;
        }
        Ok(n)
    }

    /// RECEIVE (RFC 9293 3.10.3). Ok(0) once the peer's FIN has been reached and the
    /// buffer is empty.
    pub(crate) fn recv(&mut self, ctx: &mut Ctx<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let empty = out.is_empty();
        self.read_front(ctx, empty, |ring| ring.pop_into(out))
    }

    /// RECEIVE in place: `take` reads the received bytes that lie contiguously at the
    /// front of the receive buffer and returns how many it used, which are consumed as
    /// [`Conn::recv`] consumes them. `take` is called only with data.
    pub(crate) fn recv_with(
        &mut self,
        ctx: &mut Ctx<'_>,
        take: impl FnOnce(&[u8]) -> usize,
    ) -> Result<usize, Error> {
        self.read_front(ctx, false, |ring| ring.consume_with(take))
    }

    /// The body of RECEIVE: the end-of-stream, error and would-block answers when
    /// nothing is readable (`empty`: the caller asked for nothing, answered `Ok(0)`);
    /// otherwise `read` takes bytes from the front of the ring, and the window that
    /// opened is announced when it should be.
    ///
    /// Speed: a reader that polls often mostly finds nothing; that answer is a few tests
    /// inlined into the caller, and only a read goes to [`Conn::read_some`] (which saves
    /// the registers the read and the window update need).
    #[inline(always)]
    fn read_front(
        &mut self,
        ctx: &mut Ctx<'_>,
        empty: bool,
        read: impl FnOnce(&mut Ring) -> usize,
    ) -> Result<usize, Error> {
        if self.rx.readable() == 0 {
            self.readable_raised = false;
            if let Some(e) = self.error {
                return Err(e.into());
            }
            if self.peer_fin_reached() || empty {
                return Ok(0);
            }
            return match self.state {
                State::Closed => Ok(0),
                _ => Err(Error::WouldBlock),
            };
        }
        self.read_some(ctx, read)
    }

    /// [`Conn::read_front`] with something readable.
    #[inline(never)]
    fn read_some(
        &mut self,
        ctx: &mut Ctx<'_>,
        read: impl FnOnce(&mut Ring) -> usize,
    ) -> Result<usize, Error> {
        let before = self.rcv_wnd();
        let n = read(&mut self.rx.ring);
        if self.rx.readable() == 0 {
            self.readable_raised = false;
            // The storage is kept while the peer may still send: giving it back on every
            // drain would allocate (and zero) the whole buffer again for the very next
            // segment of a reader that keeps up. Once the peer's FIN is reached nothing
            // more can arrive, and the storage goes.
            if !self.rx.has_gaps() && self.peer_fin_reached() {
                self.rx.ring.release_into(&mut ctx.sinks.spare);
            }
        }
        self.window_opened(before);
        Ok(n)
    }

    /// The receive window was `before` and may have opened (data read, or a larger
    /// receive buffer). Receiver SWS avoidance (3.8.6.2.2): announce it when it grew
    /// by at least min(RCV.BUFF / 2, Eff.snd.MSS) beyond the edge last advertised.
    #[inline(always)]
    fn window_opened(&mut self, before: u32) {
        if self.state.can_receive() {
            let advertised = self.rcv_adv.since(self.rcv_nxt);
            // Only what the window field can carry counts: space beyond 65535 <<
            // Rcv.Wind.Shift (RFC 7323 2.3) cannot be announced, and an update that
            // repeats the same field is a useless ACK.
            let now_wnd = self.rcv_wnd().min(65535 << self.rcv_wscale);
            let threshold = (self.rx.ring.capacity() as u32 / 2).min(u32::from(self.mss));
            if now_wnd.saturating_sub(advertised) >= threshold && now_wnd > before.min(advertised) {
                self.ack_now = true;
            }
        }
    }

    /// Set the send buffer's size (`Stack::set_send_buffer`): at once, whatever is
    /// queued (below it, `send` takes nothing until the queue drains below the size).
    pub(crate) fn set_send_buffer(&mut self, bytes: u32) {
        self.tx.set_capacity(bytes as usize);
    }

    /// Whether the receive window (and the window-scale shift) may have been
    /// announced: anything but an active open whose SYN has not gone out yet. (A
    /// simultaneous open's SYN,ACK counts its sends from 0 again, after our SYN.)
    pub(crate) fn window_announced(&self) -> bool {
        !(self.state == State::SynSent && self.syn_sent_count == 0)
    }

    /// Size the receive buffer before anything is announced: the capacity, and the
    /// window-scale shift our SYN or SYN,ACK offers.
    pub(crate) fn size_recv_buffer(&mut self, sizing: RecvSizing) {
        self.rx.ring.set_capacity(sizing.capacity);
        self.rcv_wscale = sizing.shift;
    }

    /// Set the receive buffer's size (`Stack::set_recv_buffer`). Before the window
    /// is announced, any size, and the window-scale shift our SYN or SYN,ACK offers
    /// follows it as [`Config::recv_buffer`] sets it for every connection. After, only
    /// a larger one: a smaller buffer would withdraw window already offered (RFC 9293
    /// 3.8.6: shrinking the window "is strongly discouraged"). Returns whether it was
    /// taken.
    pub(crate) fn set_recv_buffer(&mut self, cfg: &Config, bytes: u32) -> bool {
        if !self.window_announced() {
            self.size_recv_buffer(RecvSizing::new(cfg, bytes));
            return true;
        }
        let cap = capped_recv_buffer(cfg, bytes);
        if cap < self.rx.ring.capacity() {
            return false;
        }
        let before = self.rcv_wnd();
        self.rx.ring.set_capacity(cap);
        self.window_opened(before);
        true
    }

    /// Whether RCV.NXT has passed the peer's FIN.
    pub(crate) fn peer_fin_reached(&self) -> bool {
        matches!(self.state, State::CloseWait | State::Closing | State::LastAck | State::TimeWait)
            || (self.state == State::Closed && self.error.is_none())
    }

    /// CLOSE or shutdown (RFC 9293 3.10.4): queue our FIN behind the data.
    pub(crate) fn shutdown(&mut self, ctx: &mut Ctx<'_>) -> Result<Outcome, Error> {
        match self.state {
            // "delete the TCB and return "error: closing" responses to any queued SENDs"
            State::SynSent | State::Closed | State::Listen => {
                if self.state != State::Closed {
                    self.close_with(ctx, None);
                }
                Ok(Outcome::Closed)
            }
            // "If no SENDs have been issued and there is no pending data to send, then
            // form a FIN segment and send it, and enter FIN-WAIT-1 state; otherwise,
            // queue for processing after entering ESTABLISHED state." synack always
            // queues: the FIN follows the handshake's completion.
            State::SynReceived => {
                self.queue_fin();
                Ok(Outcome::None)
            }
            // "Queue this until all preceding SENDs have been segmentized, then form a
            // FIN segment and send it. In any case, enter FIN-WAIT-1 state."
            State::Established => {
                self.queue_fin();
                self.set_state(ctx, State::FinWait1);
                Ok(Outcome::None)
            }
            // "Queue this request until all preceding SENDs have been segmentized; then
            // send a FIN segment, enter LAST-ACK state."
            State::CloseWait => {
                self.queue_fin();
                self.set_state(ctx, State::LastAck);
                Ok(Outcome::None)
            }
            // "Strictly speaking, this is an error and should receive an "error:
            // connection closing" response."
            s => {
                if self.fin.is_some() {
                    Ok(Outcome::None)
                } else {
                    Err(UsageError::InvalidState(s).into())
                }
            }
        }
    }

    /// ABORT (RFC 9293 3.10.5).
    pub(crate) fn abort(&mut self, ctx: &mut Ctx<'_>) {
        match self.state {
            // "Send a reset segment: <SEQ=SND.NXT><CTL=RST>"
            State::SynReceived
            | State::Established
            | State::FinWait1
            | State::FinWait2
            | State::CloseWait => {
                let hdr = control_header(&self.tuple, self.snd_nxt, None, TcpFlags::RST, 0);
                ctx.send_control(self.tuple, self.ip, hdr);
            }
            _ => {}
        }
        // TIME-WAIT: "Respond with "ok" and delete the TCB" - the application's part of
        // it. The stack's compact TIME-WAIT record keeps guarding the 4-tuple until 2×MSL
        // (as after CLOSE) and records TIME-WAIT -> CLOSED when it expires.
        if !matches!(self.state, State::Closed | State::TimeWait) {
            self.close_with(ctx, Some(ConnError::Aborted));
        }
    }

    /// STATUS (RFC 9293 3.10.6).
    pub(crate) fn info(&self, cfg: &Config) -> ConnInfo {
        ConnInfo {
            tuple: self.tuple,
            state: self.state,
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.rtt.rto(),
            bytes_in_flight: self.flight(),
            send_window: self.snd_wnd,
            recv_window: self.rcv_wnd(),
            cwnd: self.cc.cwnd,
            ssthresh: self.cc.ssthresh,
            mss: self.mss,
            announced_mss: self.own_mss(cfg),
            retransmissions: self.retransmissions,
            reordering: self.dup_thresh(),
            send_queue: self.tx.len() as u32,
            recv_queue: self.rx.readable() as u32,
            icmp_error: self.last_icmp,
            dscp: self.ip.ds >> 2,
            ttl: self.ip.ttl,
            ecn: self.ecn & ecn::ON != 0,
            window_scale: self.ws_enabled.then_some((self.snd_wscale, self.rcv_wscale)),
            sack: self.options.sack_ok,
            timestamps: self.options.ts_ok,
            nagle: self.nagle,
            congestion_control: self.cc.kind(),
            keepalive: self.keepalive,
            keepalive_timings: self.keepalive_timings(cfg),
            send_buffer: self.tx.capacity() as u32,
            recv_buffer: self.rx.ring.capacity() as u32,
        }
    }
}

/// The receive buffer is capped by what window scaling can announce.
fn recv_capacity(cfg: &Config) -> usize {
    capped_recv_buffer(cfg, cfg.recv_buffer)
}

/// A receive buffer's capacity and the window-scale shift offered for it, as
/// [`Config::recv_buffer`] sizes them for every connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecvSizing {
    capacity: usize,
    shift: u8,
}

impl RecvSizing {
    pub(crate) fn new(cfg: &Config, bytes: u32) -> Self {
        RecvSizing { capacity: capped_recv_buffer(cfg, bytes), shift: rcv_wscale_for(cfg, bytes) }
    }
}

/// A receive buffer of `bytes`, capped by what window scaling can announce.
fn capped_recv_buffer(cfg: &Config, bytes: u32) -> usize {
    let max = if cfg.window_scaling { 1usize << 30 } else { 65535 };
    (bytes as usize).min(max)
}

/// The smallest shift that lets a 16-bit field announce `buf` bytes (RFC 7323 2.3:
/// at most 14).
pub(crate) fn window_shift(buf: u32) -> u8 {
    let mut s = 0u8;
    while s < 14 && (buf >> s) > 65535 {
        s += 1;
    }
    s
}

/// The receive window shift a new connection offers: none without window scaling, the
/// configured one, or the one its receive buffer needs.
pub(crate) fn initial_rcv_wscale(cfg: &Config) -> u8 {
    rcv_wscale_for(cfg, cfg.recv_buffer)
}

/// The window-scale shift offered for a receive buffer of `recv_buffer` bytes.
pub(crate) fn rcv_wscale_for(cfg: &Config, recv_buffer: u32) -> u8 {
    match (cfg.window_scaling, cfg.window_shift) {
        (false, _) => 0,
        // RFC 7323 2.3: "the shift count MUST be limited to 14".
        (true, Some(shift)) => shift.min(14),
        (true, None) => window_shift(recv_buffer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shift_is_the_smallest_that_fits_sixteen_bits() {
        assert_eq!(window_shift(65535), 0);
        assert_eq!(window_shift(65536), 1);
        assert_eq!(window_shift(256 * 1024), 3);
        assert_eq!(window_shift(u32::MAX), 14);
    }

    #[test]
    fn reinit_gives_what_new_gives() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
        let v4 = FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 40000),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80),
        };
        let v6 = FourTuple {
            local: SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 40001),
            remote: SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)), 443),
        };
        let a = Config::default();
        let b = Config {
            window_scaling: true,
            window_shift: Some(20),
            sack: false,
            timestamps: false,
            send_buffer: 4096,
            recv_buffer: 1 << 20,
            ..Config::default()
        };
        for (c1, t1, c2, t2) in [(&a, v4, &b, v6), (&b, v6, &a, v4), (&a, v4, &a, v4)] {
            let mut conn = Conn::new(c1, t1, SeqNum(1));
            // A used connection: state, sequence space, flags, timers, buffers.
            conn.state = State::TimeWait;
            conn.listener = Some(ListenerId(3));
            conn.queued_for_accept = true;
            conn.snd_nxt = SeqNum(99);
            conn.rcv_nxt = SeqNum(77);
            conn.peer_fin = Some(SeqNum(76));
            conn.fin = Some(SeqNum(98));
            conn.app_closed = true;
            conn.ack_now = true;
            conn.syn_sent_count = 2;
            conn.retries = 4;
            conn.retransmissions = 5;
            conn.heap_deadline = Some(Instant::from_millis(9));
            conn.in_tx_queue = true;
            conn.error = Some(ConnError::Reset);
            conn.release_buffers(&mut Vec::new());
            conn.reinit(c2, t2, SeqNum(7));
            assert_eq!(format!("{conn:?}"), format!("{:?}", Conn::new(c2, t2, SeqNum(7))));
        }
    }

    #[test]
    fn incremental_earliest_matches_a_full_recompute() {
        // `after_set` and `after_cancel` against `refresh`, over a pseudo-random walk of
        // sets and cancels with many equal deadlines.
        let kinds = [TimerKind::Rto, TimerKind::DelayedAck, TimerKind::Persist, TimerKind::Keepalive];
        let mut t = Timers::default();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let kind = kinds[(x % 4) as usize];
            if (x >> 8) % 3 == 0 {
                if let Some(at) = t.slot(kind).take() {
                    t.after_cancel(at);
                }
            } else {
                let at = Instant::from_micros((x >> 16) % 8);
                let old = t.slot(kind).replace(at);
                t.after_set(old, at);
            }
            let mut full = t;
            full.refresh();
            assert_eq!(t.earliest, full.earliest);
        }
    }

    /// The control block is what an idle connection costs besides its buffers (the
    /// `mem_idle_conn` benchmark; the target is 1 KiB all told). This fails when it
    /// grows, so that growth is a decision. (680 -> 696 bytes for RCV.UP and SND.UP,
    /// the urgent mechanism RFC 9293 3.8.5 requires, MUST-30; two flags beside plain
    /// numbers instead of two `Option`s came to the same size. 696 -> 704 for the
    /// Differentiated Services field, MUST-48: one byte, and alignment. 704 -> 712 for
    /// ECN, RFC 3168, SHLD-8: its flags, and the SND.NXT that bounds a window's one
    /// response; `mem_idle_conn` 745.6 -> 753.6 bytes. 712 -> 720 for the deadline of
    /// `Config::connect_timeout`: `mem_idle_conn` 753.6 -> 761.6. 720 -> 728 for the
    /// user timeout, RFC 9293 3.10.8 (the deadline is the connect timeout's, shared);
    /// the MSS limit fitted in the padding before it. 728 -> 736 for a connection's
    /// own keep-alive timings, MUST-27, boxed since few connections have them. 736 ->
    /// 744 for CUBIC's state, RFC 9438, boxed: only CUBIC connections fill it. 744 ->
    /// 752 for the timestamp of the timeout F-RTO watches, Eifel detection at its step
    /// 2 (RFC 3522): 4 bytes, which no padding had left. 752 -> 760 for the bytes
    /// acknowledged in Reno's congestion avoidance, RFC 5681 3.1's RECOMMENDED byte
    /// counting: 4 bytes, and alignment.)
    #[test]
    fn control_block_stays_small() {
        assert!(size_of::<Conn>() <= 760, "Conn is {} bytes", size_of::<Conn>());
    }
}
