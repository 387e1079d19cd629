//! Handles, events and status reports the stack hands to the application.

use crate::error::ConnError;
use crate::state::State;
use crate::time::Duration;
use crate::trace::FourTuple;
use std::collections::VecDeque;

/// A connection handle. Stale handles (released connections) are detected by their
/// generation and rejected, never confused with a newer connection in the same slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ConnId {
    /// A small number identifying the handle in logs.
    pub fn index(self) -> u32 {
        self.index
    }
}

/// A listener handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ListenerId(pub(crate) u32);

/// Why a connection reached CLOSED.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CloseReason {
    /// Both FINs exchanged and acknowledged (and TIME-WAIT, if ours, handed over).
    Normal,
    /// The connection failed.
    Error(ConnError),
}

/// Something the application may want to react to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Event {
    /// An active open completed: the connection is ESTABLISHED.
    Connected(ConnId),
    /// A passively opened connection is ESTABLISHED and waiting in `listener`'s accept
    /// queue.
    Accepted {
        /// The listener whose queue holds it.
        listener: ListenerId,
        /// The connection `accept` will return.
        conn: ConnId,
    },
    /// Data (or the peer's FIN) became available to `recv`.
    Readable(ConnId),
    /// Send-buffer space became available after `send` found it full.
    Writable(ConnId),
    /// The peer sent FIN: after the buffered data, `recv` returns `Ok(0)`.
    PeerFin(ConnId),
    /// The connection reached CLOSED (or handed over to TIME-WAIT).
    Closed {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: CloseReason,
    },
    /// An ICMP or ICMPv6 error arrived about a segment the connection sent and has
    /// not seen acknowledged (RFC 9293 3.9.1.8 and 3.9.2.2; the checks of RFC 5927 4.1).
    /// A soft error leaves the connection as it is (MUST-56); a hard one during the
    /// opening is followed by [`Event::Closed`] with [`ConnError::Unreachable`]. A
    /// "too big" message is not reported: Path MTU Discovery acts on it.
    IcmpError {
        /// The connection.
        conn: ConnId,
        /// What the message said.
        error: crate::error::IcmpError,
    },
    /// The peer's urgent pointer arrived or moved forward, beyond what the application
    /// has read (RFC 9293 3.8.5, MUST-32): [`Stack::urgent_pending`](crate::Stack::urgent_pending)
    /// tells how many octets of urgent data remain to be read. The urgent data is
    /// read in line, with `recv`.
    Urgent(ConnId),
    /// One segment of the connection (its SYN too) has been retransmitted by the
    /// retransmission timer
    /// [`Config::report_after_retries`](crate::Config::report_after_retries) times
    /// without being acknowledged (R1 of RFC 9293 3.8.3: "TCP implementations SHOULD
    /// inform the application of the delivery problem ... when R1 is reached and
    /// before R2 (SHLD-9)"). Raised once per stall; the connection goes on
    /// retransmitting until its limit (R2, [`Stack::set_retry_limit`](crate::Stack::set_retry_limit)).
    /// A driver that routes can take it as the "negative advice" RFC 1122 3.3.1.4
    /// describes (MUST-20): the path may be dead.
    DeliveryProblem {
        /// The connection.
        conn: ConnId,
        /// Retransmissions so far of the segment.
        retransmissions: u32,
    },
    /// The connection changed state.
    StateChanged {
        /// The connection.
        conn: ConnId,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// The event queue was full ([`Config::max_events`](crate::Config::max_events)) and
    /// the `lost` events that followed the previous one were dropped; the events after
    /// this one came once there was room again. The application missed news of its
    /// connections: it should look at them again (`Stack::accept`, `Stack::state`,
    /// `Stack::recv`, `Stack::info`) rather than wait for their events.
    Overflow {
        /// Events dropped.
        lost: u64,
    },
}

/// The application's event queue, bounded by
/// [`Config::max_events`](crate::Config::max_events): an application that never drains
/// it must not grow memory without end, and a peer's traffic raises events (a readable
/// connection, an accepted one, a state change).
///
/// Once the queue is full, a new event is dropped and counted in an [`Event::Overflow`]
/// at the back of the queue, where the gap is: the events that follow while the queue
/// stays full are counted in the same report, and once the application has made room,
/// new events queue behind it. So the application gets every event it does get in
/// order, and learns of each gap where it was. The queue holds at most one event more
/// than the bound (the report).
///
/// Speed: taking an event is a plain `VecDeque::pop_front` (a driver polls after every
/// step, mostly finding the queue empty); queueing one costs a comparison with the
/// bound.
#[derive(Debug)]
pub(crate) struct EventQueue {
    queue: VecDeque<Event>,
    /// `Config::max_events`.
    max: usize,
}

impl EventQueue {
    /// An empty queue holding at most `max` events (and a report of dropped ones).
    pub(crate) fn new(max: usize) -> Self {
        EventQueue { queue: VecDeque::new(), max }
    }

    /// Queue `e`, or count it lost when the queue is full.
    #[inline(always)]
    pub(crate) fn push_back(&mut self, e: Event) {
        if self.queue.len() < self.max {
            self.queue.push_back(e);
        } else {
            self.lose();
        }
    }

    /// Count one dropped event in the report at the back of the queue, starting one
    /// when the last queued event is not a report.
    #[cold]
    #[inline(never)]
    fn lose(&mut self) {
        match self.queue.back_mut() {
            Some(Event::Overflow { lost }) => *lost = lost.saturating_add(1),
            _ => self.queue.push_back(Event::Overflow { lost: 1 }),
        }
    }

    /// The oldest event.
    #[inline(always)]
    pub(crate) fn pop_front(&mut self) -> Option<Event> {
        self.queue.pop_front()
    }
}

/// A connection's status (RFC 9293 3.10.6, STATUS).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConnInfo {
    /// The 4-tuple from our view.
    pub tuple: FourTuple,
    /// Current state.
    pub state: State,
    /// Smoothed RTT (RFC 6298), `None` before the first sample.
    pub srtt: Option<Duration>,
    /// RTT variance.
    pub rttvar: Duration,
    /// Current retransmission timeout, with backoff.
    pub rto: Duration,
    /// Bytes sent and not yet acknowledged (SND.NXT - SND.UNA).
    pub bytes_in_flight: u32,
    /// The peer's window (scaled): SND.WND.
    pub send_window: u32,
    /// The window we offer: RCV.WND.
    pub recv_window: u32,
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow-start threshold, bytes.
    pub ssthresh: u32,
    /// Effective send MSS.
    pub mss: u16,
    /// The MSS this end announces in its SYN (when [`Config::mss_option`](crate::Config::mss_option)
    /// is on): the MTU less the IP and TCP headers, capped by
    /// [`Stack::set_mss_limit`](crate::Stack::set_mss_limit).
    pub announced_mss: u16,
    /// Segments retransmitted so far.
    pub retransmissions: u64,
    /// DupThresh (RFC 6675 2): how many segments' worth of data SACKed above a hole
    /// deem it lost. 3, until the connection sees the network deliver a segment after
    /// data sent later (reordering); then how far that was, in segments (at most 64),
    /// and back to 3 after a timeout that a lower threshold would have avoided.
    pub reordering: u32,
    /// Bytes queued to send (not yet acknowledged), including in flight.
    pub send_queue: u32,
    /// Bytes received and waiting for `recv`.
    pub recv_queue: u32,
    /// The last ICMP or ICMPv6 error reported for the connection (RFC 9293 3.9.2.2:
    /// "make the information available to the application", SHLD-25), as
    /// [`Event::IcmpError`] reported it.
    pub icmp_error: Option<crate::error::IcmpError>,
    /// The Differentiated Services Codepoint of the connection's segments (RFC 9293
    /// 3.9.1.9).
    pub dscp: u8,
    /// The TTL (IPv4) or hop limit (IPv6) of the connection's segments
    /// ([`Config::ttl`](crate::Config::ttl), or `Stack::set_ttl`).
    pub ttl: u8,
    /// Whether the connection uses Explicit Congestion Notification (RFC 3168): both
    /// SYNs agreed to it ([`Config::ecn`](crate::Config::ecn)).
    pub ecn: bool,
    /// Window scaling (RFC 7323 2), when in use: the shift applied to the peer's window
    /// fields and the one applied to ours. Like `sack` and `timestamps`, this is what
    /// the SYNs agreed once the handshake is done (before, what ours offer).
    pub window_scale: Option<(u8, u8)>,
    /// Whether SACK is in use (RFC 2018: both SYNs carried SACK-permitted).
    pub sack: bool,
    /// Whether timestamps are in use (RFC 7323 3: both SYNs carried them).
    pub timestamps: bool,
    /// Whether Nagle's algorithm is on ([`Stack::set_nagle`](crate::Stack::set_nagle)).
    pub nagle: bool,
    /// The congestion control the connection runs
    /// ([`Stack::set_congestion_control`](crate::Stack::set_congestion_control)).
    pub congestion_control: crate::CongestionControl,
    /// Whether keep-alive is on (RFC 9293 3.8.4; [`Stack::set_keepalive`](crate::Stack::set_keepalive)).
    pub keepalive: bool,
    /// The keep-alive timings the connection uses when it is on: its own
    /// ([`Stack::set_keepalive_timings`](crate::Stack::set_keepalive_timings), or its
    /// listener's) or [`Config::keepalive`](crate::Config::keepalive)'s.
    pub keepalive_timings: crate::Keepalive,
    /// The send buffer's size, bytes ([`Config::send_buffer`](crate::Config::send_buffer),
    /// or [`Stack::set_send_buffer`](crate::Stack::set_send_buffer)'s).
    pub send_buffer: u32,
    /// The receive buffer's size, bytes: the largest window the connection offers
    /// ([`Config::recv_buffer`](crate::Config::recv_buffer), or
    /// [`Stack::set_recv_buffer`](crate::Stack::set_recv_buffer)'s).
    pub recv_buffer: u32,
}

/// Stack-wide counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StackStats {
    /// Datagrams that failed to parse (including bad checksums).
    pub malformed: u64,
    /// Of those, TCP or IP checksum failures.
    pub bad_checksum: u64,
    /// Segments received for no connection or listener.
    pub no_connection: u64,
    /// RSTs sent.
    pub rst_sent: u64,
    /// SYNs dropped because a listener's queue was full.
    pub syn_dropped: u64,
    /// Segments dropped as unacceptable (RFC 9293 3.10.7.4 first check).
    pub unacceptable: u64,
    /// Segments dropped by PAWS (RFC 7323 5.3 R1: a timestamp older than TS.Recent)
    /// and answered with an ACK; not counted in `unacceptable`.
    pub paws_rejected: u64,
    /// Segments silently dropped because timestamps were negotiated and they carried
    /// none (RFC 7323 3.2; RSTs excepted).
    pub missing_timestamps: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Challenge ACKs not sent because the stack's per-second budget
    /// ([`crate::Config::challenge_ack_limit`], RFC 5961 7) was spent.
    pub challenge_acks_suppressed: u64,
    /// SYN,ACKs sent with a SYN cookie instead of creating a half-open connection.
    pub syn_cookies_sent: u64,
    /// ACKs whose cookie was valid (a connection was created from it, unless the
    /// accept queue or `max_connections` was full: see `listen_overflows`).
    pub syn_cookies_validated: u64,
    /// ACKs checked for a cookie and found forged, stale or mangled (answered with a
    /// RST as any ACK to a listener, RFC 9293 3.10.7.2).
    pub syn_cookies_rejected: u64,
    /// Handshakes completed by the peer (a valid cookie) that found the accept queue
    /// full or `max_connections` reached, and were dropped without an answer.
    pub listen_overflows: u64,
    /// Half-open connections dropped to make room for a handshake completed with a
    /// valid SYN cookie when they filled the backlog (RFC 4987 3.4).
    pub half_open_recycled: u64,
    /// TIME-WAIT records recycled because `max_time_wait` was reached.
    pub time_wait_recycled: u64,
    /// Control segments dropped because the output queue was full.
    pub control_dropped: u64,
    /// Segments retransmitted, all connections.
    pub retransmissions: u64,
    /// Tail loss probes sent (RFC 8985 7), all connections.
    pub loss_probes: u64,
    /// Expiries of RACK's reordering timer (RFC 8985 6.3) that deemed a segment lost
    /// and started fast recovery ([`Config::rack_reorder_timer`](crate::Config::rack_reorder_timer)),
    /// all connections.
    pub reorder_timeouts: u64,
    /// Acknowledgments carrying a D-SACK block (RFC 2883): the peer reporting a segment
    /// it received twice, most often a retransmission it did not need (a late original,
    /// reordering, a spurious timeout) or a duplicate the network made. RFC 3708's
    /// count of duplicate notifications, all connections.
    pub dsacks_received: u64,
    /// Fast recoveries found spurious and undone: the first acknowledgment of the
    /// retransmitted segment came sooner after the retransmission than any round trip
    /// the connection measured, so it was the original's, delayed by reordering; the
    /// congestion window and ssthresh went back to their values before the recovery
    /// (RFC 4015, RFC 9438 4.9), all connections. Also those proven spurious by
    /// D-SACKs ([`StackStats::recoveries_undone_by_dsack`]).
    pub recoveries_undone: u64,
    /// Of [`StackStats::recoveries_undone`], those the peer proved spurious by
    /// reporting every one of their retransmissions as a duplicate (D-SACK, RFC 2883;
    /// the detection of RFC 3708), all connections.
    pub recoveries_undone_by_dsack: u64,
    /// Retransmission timeouts F-RTO found spurious (RFC 5682, [`crate::Config::frto`]):
    /// after the timeout, data that was never retransmitted was acknowledged, so the
    /// resend of the window was skipped and ssthresh restored, all connections.
    pub spurious_timeouts: u64,
    /// Keep-alive probes sent (RFC 9293 3.8.4), all connections.
    pub keepalive_probes: u64,
    /// Connections closed as timed out because their peer answered none of
    /// `Keepalive::probes` keep-alive probes.
    pub keepalive_drops: u64,
    /// ICMP and ICMPv6 errors acted on: reported to the application, ending an
    /// opening connection, or lowering a path MTU (RFC 9293 3.9.2.2).
    pub icmp_errors: u64,
    /// ICMP and ICMPv6 messages not acted on: malformed or failing the checksum, not
    /// an error TCP acts on (Source Quench: MUST-55), for no connection, or quoting a
    /// sequence number outside SND.UNA..SND.NXT (RFC 5927 4.1).
    pub icmp_ignored: u64,
    /// Path MTU reductions from "fragmentation needed" and Packet Too Big messages
    /// (RFC 1191, RFC 8201), all connections.
    pub pmtu_reductions: u64,
    /// IP fragments received (each counted once, whatever became of it).
    pub fragments: u64,
    /// Datagrams reassembled from fragments and processed as any other.
    pub reassembled: u64,
    /// Datagrams whose reassembly was abandoned: an overlapping, inconsistent or
    /// excess fragment, the memory budget, or the time limit
    /// ([`crate::Config::reassembly_timeout`]). Fragments that cannot be read at all are
    /// counted in `malformed` instead.
    pub reassembly_failed: u64,
    /// ICMP and ICMPv6 Echo Requests answered (RFC 1122 3.2.2.6, RFC 4443 4.1).
    pub echo_replies: u64,
    /// Segments silently discarded because they came from an address no host can have
    /// or went to a multicast or broadcast one (RFC 9293 3.9.2.3, MUST-57, MUST-63).
    pub invalid_address: u64,
    /// Congestion windows reduced in response to an ECN-Echo (RFC 3168 6.1.2), all
    /// connections.
    pub ecn_reductions: u64,
    /// Segments that arrived marked CE (Congestion Experienced, RFC 3168 5) on
    /// connections using ECN.
    pub ecn_ce_received: u64,
}

impl core::fmt::Display for StackStats {
    /// The counters that are not zero, as `name=value` separated by spaces (`none` when
    /// every one is zero), for a driver's summary line.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Destructured, so that a counter added to the struct cannot be left out here.
        let StackStats {
            malformed,
            bad_checksum,
            no_connection,
            rst_sent,
            syn_dropped,
            unacceptable,
            paws_rejected,
            missing_timestamps,
            challenge_acks,
            challenge_acks_suppressed,
            syn_cookies_sent,
            syn_cookies_validated,
            syn_cookies_rejected,
            listen_overflows,
            half_open_recycled,
            time_wait_recycled,
            control_dropped,
            retransmissions,
            loss_probes,
            reorder_timeouts,
            dsacks_received,
            recoveries_undone,
            recoveries_undone_by_dsack,
            spurious_timeouts,
            keepalive_probes,
            keepalive_drops,
            icmp_errors,
            icmp_ignored,
            pmtu_reductions,
            fragments,
            reassembled,
            reassembly_failed,
            echo_replies,
            invalid_address,
            ecn_reductions,
            ecn_ce_received,
        } = *self;
        let mut any = false;
        for (name, value) in [
            ("malformed", malformed),
            ("bad_checksum", bad_checksum),
            ("no_connection", no_connection),
            ("rst_sent", rst_sent),
            ("syn_dropped", syn_dropped),
            ("unacceptable", unacceptable),
            ("paws_rejected", paws_rejected),
            ("missing_timestamps", missing_timestamps),
            ("challenge_acks", challenge_acks),
            ("challenge_acks_suppressed", challenge_acks_suppressed),
            ("syn_cookies_sent", syn_cookies_sent),
            ("syn_cookies_validated", syn_cookies_validated),
            ("syn_cookies_rejected", syn_cookies_rejected),
            ("listen_overflows", listen_overflows),
            ("half_open_recycled", half_open_recycled),
            ("time_wait_recycled", time_wait_recycled),
            ("control_dropped", control_dropped),
            ("retransmissions", retransmissions),
            ("loss_probes", loss_probes),
            ("reorder_timeouts", reorder_timeouts),
            ("dsacks_received", dsacks_received),
            ("recoveries_undone", recoveries_undone),
            ("recoveries_undone_by_dsack", recoveries_undone_by_dsack),
            ("spurious_timeouts", spurious_timeouts),
            ("keepalive_probes", keepalive_probes),
            ("keepalive_drops", keepalive_drops),
            ("icmp_errors", icmp_errors),
            ("icmp_ignored", icmp_ignored),
            ("pmtu_reductions", pmtu_reductions),
            ("fragments", fragments),
            ("reassembled", reassembled),
            ("reassembly_failed", reassembly_failed),
            ("echo_replies", echo_replies),
            ("invalid_address", invalid_address),
            ("ecn_reductions", ecn_reductions),
            ("ecn_ce_received", ecn_ce_received),
        ] {
            if value != 0 {
                if any {
                    f.write_str(" ")?;
                }
                write!(f, "{name}={value}")?;
                any = true;
            }
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::StackStats;

    #[test]
    fn stats_print_only_the_counters_that_are_not_zero() {
        assert_eq!(StackStats::default().to_string(), "none");
        let s = StackStats { rst_sent: 2, retransmissions: 17, keepalive_drops: 1, ..StackStats::default() };
        assert_eq!(s.to_string(), "rst_sent=2 retransmissions=17 keepalive_drops=1");
        let first = StackStats { malformed: 1, ..StackStats::default() };
        assert_eq!(first.to_string(), "malformed=1");
    }
}
