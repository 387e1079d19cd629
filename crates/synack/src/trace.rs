//! Typed trace events: the single source for logs, ladder diagrams, JSON and golden
//! tests (DESIGN.md, "The trace").
//!
//! The stack records them only when [`crate::Config::trace`] is on; they are drained with
//! [`crate::Stack::poll_trace`]. A record holds no heap data, so tracing a segment
//! allocates nothing beyond the queue's amortised growth.

use crate::state::State;
use crate::time::Instant;
use crate::wire::{TcpFlags, TcpOptions};
use core::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// A connection's identity from one host's own view: local and remote endpoints.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct FourTuple {
    /// Our address and port.
    pub local: SocketAddr,
    /// The peer's address and port (`0.0.0.0:0` for a listener).
    pub remote: SocketAddr,
}

impl FourTuple {
    /// The tuple of a listener: the local endpoint, no remote.
    pub fn listener(local: SocketAddr) -> Self {
        FourTuple { local, remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0) }
    }
}

impl fmt::Display for FourTuple {
    /// `LOCAL_IP:PORT-REMOTE_IP:PORT`, as the trace's `conn` field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.local, self.remote)
    }
}

/// A summary of one TCP segment, as the trace's `seg` object.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SegmentSummary {
    /// IP source and TCP source port.
    pub src: SocketAddr,
    /// IP destination and TCP destination port.
    pub dst: SocketAddr,
    /// Control bits.
    pub flags: TcpFlags,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number (0 when ACK is not set, as on the wire).
    pub ack: u32,
    /// Payload length in bytes.
    pub len: u32,
    /// Raw window field.
    pub win: u16,
    /// Options carried.
    pub opts: TcpOptions,
}

/// An application call on the stack (the trace's `app.call`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AppCall {
    /// Passive OPEN.
    Listen,
    /// Active OPEN.
    Connect,
    /// A connection taken from the accept queue.
    Accept,
    /// SEND.
    Send,
    /// RECEIVE.
    Recv,
    /// Half-close (queue our FIN).
    Shutdown,
    /// CLOSE.
    Close,
    /// ABORT.
    Abort,
}

impl AppCall {
    /// The name as the trace writes it.
    pub const fn name(self) -> &'static str {
        match self {
            AppCall::Listen => "listen",
            AppCall::Connect => "connect",
            AppCall::Accept => "accept",
            AppCall::Send => "send",
            AppCall::Recv => "recv",
            AppCall::Shutdown => "shutdown",
            AppCall::Close => "close",
            AppCall::Abort => "abort",
        }
    }
}

/// Which timer (the trace's `timer.timer`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimerKind {
    /// Retransmission timeout on data or FIN (RFC 6298).
    Rto,
    /// The 2×MSL wait in TIME-WAIT.
    TimeWait,
    /// Delayed acknowledgment (RFC 9293 3.8.6.3).
    DelayedAck,
    /// Zero-window probing (RFC 9293 3.8.6.1).
    Persist,
    /// Keep-alive (RFC 9293 3.8.4).
    Keepalive,
    /// Retransmission of SYN or SYN-ACK.
    Syn,
}

impl TimerKind {
    /// The name as the trace writes it.
    pub const fn name(self) -> &'static str {
        match self {
            TimerKind::Rto => "rto",
            TimerKind::TimeWait => "time-wait",
            TimerKind::DelayedAck => "delayed-ack",
            TimerKind::Persist => "persist",
            TimerKind::Keepalive => "keepalive",
            TimerKind::Syn => "syn",
        }
    }
}

/// What happened to a timer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TimerAction {
    /// Armed (or re-armed) to expire at `at`.
    Set,
    /// Expired.
    Fire,
    /// Disarmed before expiring.
    Cancel,
}

impl TimerAction {
    /// The name as the trace writes it.
    pub const fn name(self) -> &'static str {
        match self {
            TimerAction::Set => "set",
            TimerAction::Fire => "fire",
            TimerAction::Cancel => "cancel",
        }
    }
}

/// One thing that happened inside a stack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum TraceEvent {
    /// A connection changed state.
    State {
        /// The connection.
        conn: FourTuple,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A segment left the stack (from `poll_transmit`).
    Send {
        /// The connection (or the tuple a RST answers).
        conn: FourTuple,
        /// The segment.
        seg: SegmentSummary,
        /// Whether it repeats sequence space sent before (SYN, data or FIN).
        retransmit: bool,
    },
    /// A valid segment reached the stack (from `handle_packet`).
    Recv {
        /// The connection it was addressed to, from our view.
        conn: FourTuple,
        /// The segment.
        seg: SegmentSummary,
    },
    /// The application called the stack.
    App {
        /// The connection (a listener's tuple for `listen`).
        conn: FourTuple,
        /// Which call.
        call: AppCall,
        /// Bytes moved (send/recv), else 0.
        bytes: usize,
    },
    /// A timer was set, fired or cancelled.
    Timer {
        /// The connection.
        conn: FourTuple,
        /// Which timer.
        timer: TimerKind,
        /// What happened.
        action: TimerAction,
        /// The deadline (for `set` and `fire`; the old deadline for `cancel`).
        at: Instant,
    },
}

/// A trace event with the time it happened.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TraceRecord {
    /// When.
    pub t: Instant,
    /// What.
    pub ev: TraceEvent,
}
