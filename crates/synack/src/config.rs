//! Every knob of a [`crate::Stack`], with sane defaults.
//!
//! Randomness enters the core only through [`Config::secret`]: it keys the ISN generator
//! (RFC 9293 3.4.1), ephemeral-port selection (RFC 6056) and the hash maps.

use crate::time::Duration;
pub use crate::wire::OptionLayout;
use std::net::IpAddr;

/// Which congestion control the sender runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum CongestionControl {
    /// None: the sender is limited by the peer's window only. Fast retransmit still runs.
    None,
    /// Reno with NewReno recovery (RFC 5681, RFC 6582).
    Reno,
    /// CUBIC (RFC 9438), the default of Linux, Windows and Apple's stacks: the window
    /// grows in congestion avoidance as a cubic function of the time since the last
    /// congestion event (fast far below the last window before it, flat near it,
    /// probing beyond it), never slower than Reno would (the Reno-friendly region), and
    /// a congestion event reduces it to 0.7 of the flight rather than half. Slow start,
    /// fast retransmit and NewReno recovery are Reno's.
    Cubic,
}

/// Explicit Congestion Notification (RFC 3168), which "A TCP endpoint SHOULD implement"
/// (RFC 9293 3.8.2, SHLD-8): whether a connection negotiates it.
///
/// On a connection that negotiated it, new data goes out with the ECT(0) codepoint, a
/// router may mark it CE instead of dropping it, the receiver echoes the mark with ECE
/// on its ACKs until the sender's CWR, and the sender halves its congestion window as
/// for a loss, once per window of data (`conn/ecn.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub enum Ecn {
    /// Never: SYNs ask for nothing and an ECN-setup SYN gets a plain SYN,ACK.
    Off,
    /// When the peer asks: an ECN-setup SYN (ECE and CWR set) gets an ECN-setup
    /// SYN,ACK (ECE set), but our own SYNs ask for nothing. The default, as Linux's
    /// (`net.ipv4.tcp_ecn = 2`) and FreeBSD's (`net.inet.tcp.ecn.enable = 2`): a host
    /// that takes part only when asked cannot be hurt by a middlebox that drops
    /// ECN-setup SYNs.
    #[default]
    Passive,
    /// Ask too: our SYNs are ECN-setup SYNs for the first
    /// [`Config::ecn_setup_retries`] retransmissions, then plain (RFC 3168 6.1.1.1).
    Active,
}

/// R2 of one connection (RFC 9293 3.8.3: "An application MUST (MUST-21) be able to set
/// the value for R2 for a particular connection. For example, an interactive
/// application might set R2 to "infinity", giving the user control over when to
/// disconnect."), for [`Stack::set_retry_limit`](crate::Stack::set_retry_limit).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum RetryLimit {
    /// [`Config::syn_retries`] while opening, [`Config::max_retries`] after.
    #[default]
    Config,
    /// Give up after this many retransmissions of one segment (or unanswered
    /// zero-window probes), whatever the state.
    After(u32),
    /// Never give up: the application closes or aborts when it wants.
    Never,
}

/// When a listener answers a SYN with a SYN cookie (RFC 4987 3.6) instead of keeping a
/// half-open connection.
///
/// A cookie SYN,ACK carries all the state the listener needs in its ISS: a keyed MAC of
/// the 4-tuple, the peer's ISN and a coarse time counter, plus an index into a small
/// table of MSS values. Nothing is stored; the connection is created, directly in
/// ESTABLISHED, when the ACK that echoes the cookie arrives. What cannot be encoded is
/// lost: the cookie SYN,ACK offers only an MSS, so a connection opened by a cookie runs
/// **without window scaling** (windows of at most 65,535 bytes each way), without SACK
/// and without timestamps, and its MSS is rounded down to the table's nearest value.
/// (Linux hides window scale and SACK-permitted in the TSval of a timestamped cookie
/// SYN,ACK; synack's cookies do not, yet.)
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum SynCookies {
    /// Never: a SYN that finds the SYN queue full is dropped (the peer retransmits).
    Off,
    /// Only while the listener's SYN queue (`max_syn_queue`, or the backlog it shares
    /// with the accept queue) is full, or `max_connections` is reached: a SYN flood then
    /// costs no memory, and every other SYN gets a full half-open connection with
    /// window scaling. ACKs are checked for cookies only within two cookie periods
    /// (64-128 s) of the last cookie sent, like Linux's `tcp_syncookies = 1`.
    WhenFull,
    /// For every SYN (Linux's `tcp_syncookies = 2`; for tests and for servers under
    /// permanent attack).
    Always,
}

/// Stack configuration. Build one with [`Config::default`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Config {
    /// The secret keying ISNs, port selection and hashing. Pass fresh entropy in
    /// production; a fixed value makes runs reproducible.
    pub secret: [u8; 16],
    /// The addresses this stack owns; `connect` picks the first of the remote's family.
    /// Datagrams to other addresses are dropped, unless the list is empty or
    /// [`Config::any_address`] is set.
    pub addresses: Vec<IpAddr>,
    /// Take segments addressed to any IP address, not only [`Config::addresses`], and
    /// let [`Stack::connect_from`](crate::Stack::connect_from) open from any local
    /// address: what Linux's `IP_TRANSPARENT` gives a socket. With a catch-all
    /// listener ([`Stack::listen_all`](crate::Stack::listen_all)) this makes a
    /// transparent proxy or a VPN endpoint of a stack on a TUN device: it accepts the
    /// connections the device carries, whatever their destination, each accepted
    /// connection's local address being the destination its client chose. Off by
    /// default.
    pub any_address: bool,
    /// Link MTU, from which the MSS we announce is derived (RFC 9293 3.7.1).
    pub mtu: u16,
    /// Receive buffer per connection, bytes (the largest window we offer).
    pub recv_buffer: u32,
    /// Send buffer per connection, bytes.
    pub send_buffer: u32,
    /// Announce our MSS in the MSS option of our SYNs and SYN,ACKs (RFC 9293 3.7.1:
    /// "TCP implementations SHOULD send an MSS option in every SYN segment when its
    /// receive MSS differs from the default 536 for IPv4 or 1220 for IPv6 (SHLD-5)",
    /// and "MAY send it always (MAY-3)", which synack does). Off, the peer sends
    /// segments of at most that default. With `window_scaling`, `sack` and
    /// `timestamps` off too, synack's SYNs carry no option at all, as FreeBSD's
    /// `TCP_NOOPT` makes them: a peer without options, for testing another stack.
    pub mss_option: bool,
    /// Offer window scaling (RFC 7323 2) on our SYNs and accept it on the peer's.
    pub window_scaling: bool,
    /// The window-scale shift we offer (RFC 7323 2.2), capped at 14. `None`: the
    /// smallest shift that lets the window field announce the whole receive buffer.
    /// Systems derive it from other limits (Linux from its largest receive buffer, 7
    /// by default; FreeBSD from `kern.ipc.maxsockbuf`, 6 by default).
    pub window_shift: Option<u8>,
    /// Offer SACK-permitted (RFC 2018) on our SYNs and answer it on a SYN,ACK when the
    /// peer offered it. When both sides did, ACKs report out-of-order data in SACK
    /// blocks, and the peer's blocks drive loss recovery (RFC 6675: duplicate ACKs
    /// counted by new SACK information, every hole deemed lost retransmitted within
    /// the round trip).
    pub sack: bool,
    /// Offer timestamps (RFC 7323 3) on our SYNs and answer them when the peer offered
    /// them. When negotiated, every segment but RSTs carries them, PAWS (RFC 7323 5)
    /// guards the receive side and the echoed values give RTT samples.
    pub timestamps: bool,
    /// How emitted segments lay their options out (order and padding).
    pub option_layout: OptionLayout,
    /// Initial retransmission timeout (RFC 6298 2.1: 1 s).
    pub rto_initial: Duration,
    /// Lower bound on the RTO (RFC 6298 2.4 says 1 s; Linux uses 200 ms).
    pub rto_min: Duration,
    /// Upper bound on the RTO (RFC 6298 2.5: at least 60 s).
    pub rto_max: Duration,
    /// How long an active open may take: a connection still in SYN-SENT (or
    /// SYN-RECEIVED, after a simultaneous open) this long after `connect` gives up with
    /// `ConnError::TimedOut`, at that instant, whatever `syn_retries` would still
    /// allow. RFC 9293 3.8.3 asks that SYNs be retransmitted for at least 3 minutes
    /// (MUST-23), and adds: "The application can close the connection (i.e., give up
    /// on the open attempt) sooner, of course"; this is that, without the application
    /// keeping a timer of its own (FreeBSD's `TCP_KEEPINIT`). `None` by default.
    pub connect_timeout: Option<Duration>,
    /// The user timeout (RFC 9293 3.10.8) of every new connection: active opens from
    /// `connect`, and passive ones from a new listener once established (see
    /// `Stack::set_user_timeout`, `Stack::set_listener_user_timeout`, which change it
    /// for one connection or listener). `None` (the default) leaves R2 alone; a zero
    /// duration counts as `None`.
    pub user_timeout: Option<Duration>,
    /// Retransmissions of a SYN or SYN-ACK before giving up (R2 for SYNs, RFC 9293
    /// 3.8.3): 7 by default, which with the initial RTO of 1 s, doubled and capped at
    /// 60 s, retransmits at 1, 3, 7, 15, 31, 63 and 123 s and gives up at 183 s. (Six,
    /// Linux's default, gave up at 123 s.) "R2 for a SYN segment MUST be set
    /// large enough to provide retransmission of the segment for at least 3 minutes
    /// (MUST-23)." [`Stack::set_retry_limit`](crate::Stack::set_retry_limit) sets a
    /// connection's own.
    pub syn_retries: u32,
    /// Retransmissions of data or FIN before giving up with TimedOut (R2, RFC 9293
    /// 3.8.3; "at least 100 seconds", SHLD-11: 15 from an RTO of 200 ms, doubled and
    /// capped at 60 s, take about 8.7 minutes).
    pub max_retries: u32,
    /// Retransmissions of one segment after which the application gets
    /// [`Event::DeliveryProblem`](crate::Event::DeliveryProblem) (R1, RFC 9293 3.8.3:
    /// "The value of R1 SHOULD correspond to at least 3 retransmissions, at the current
    /// RTO (SHLD-10)"); 3 by default, 0 for never.
    pub report_after_retries: u32,
    /// Whether the application gets the asynchronous reports of RFC 9293 3.9.1.8: ICMP
    /// errors ([`Event::IcmpError`](crate::Event::IcmpError)), excessive retransmission
    /// ([`Event::DeliveryProblem`](crate::Event::DeliveryProblem)) and urgent pointer
    /// advances ([`Event::Urgent`](crate::Event::Urgent)). "An application program that
    /// does not want to receive such ERROR_REPORT calls SHOULD be able to effectively
    /// disable these calls (SHLD-20)": `false` raises none of them (on by default).
    /// `ConnInfo::icmp_error` and `Stack::urgent_pending` still answer when asked.
    pub error_reports: bool,
    /// Maximum segment lifetime; TIME-WAIT lasts 2×MSL (RFC 9293 3.4.2).
    pub msl: Duration,
    /// Delayed-ACK timeout, `None` to ACK every segment at once (RFC 9293 3.8.6.3:
    /// MUST be under 0.5 s).
    pub delayed_ack: Option<Duration>,
    /// Delay the ACK of a FIN that takes the connection from ESTABLISHED to CLOSE-WAIT
    /// like a data segment's (with `delayed_ack` on). An application told of the end
    /// of the stream usually closes at once, and its FIN then carries that ACK: the
    /// close takes three segments instead of four, as on Linux's interactive
    /// connections. RFC 9293 3.10.7.4 says to "send an acknowledgment for the FIN", and
    /// RFC 1122 4.2.3.2 lets any ACK wait (MUST-40: under 0.5 s). On by default; off
    /// acknowledges the FIN at once, as FreeBSD does.
    pub delay_fin_ack: bool,
    /// Nagle's algorithm (RFC 9293 3.7.4); on by default.
    pub nagle: bool,
    /// Congestion control.
    pub congestion_control: CongestionControl,
    /// Initial congestion window, in segments (RFC 6928).
    pub initial_window: u32,
    /// Limited Transmit (RFC 3042): each of the first two duplicate ACKs releases one
    /// new segment beyond the congestion window, so that a small window still collects
    /// the three duplicate ACKs fast retransmit needs. On by default.
    pub limited_transmit: bool,
    /// HyStart++ (RFC 9406) in CUBIC's initial slow start (RFC 9438 4.10): slow start
    /// ends when the round-trip time rises, before the bottleneck's queue overflows,
    /// rather than at the first loss. It needs RTT samples from most ACKs, which the
    /// timestamp option (RFC 7323, [`Config::timestamps`]) gives; without it a
    /// connection samples once per round trip, too few for HyStart++ to judge, and
    /// its slow start only takes HyStart++'s growth rule (up to 8 segments per ACK
    /// rather than 1). On by default; no effect on Reno.
    pub hystart: bool,
    /// Tail loss probes (RFC 8985 7): about two round trips after the last ACK, with
    /// data outstanding, send one segment (new data, or the last segment again) rather
    /// than wait for the retransmission timeout. A lost ACK at the end of a flight then
    /// costs a few round trips instead of an RTO and a collapsed window. On by default,
    /// as in Linux; packetdrill profiles for stacks without it turn it off.
    pub tail_loss_probe: bool,
    /// RACK's reordering timer (RFC 8985 6.2 and 6.3): when the peer SACKs data sent
    /// after a segment it has not acknowledged, but too little for RFC 6675's IsLost
    /// (DupThresh segments' worth), the segment is deemed lost once a reordering window
    /// has passed - a quarter of the minimum RTT, or SRTT once the connection has seen
    /// reordering - and fast recovery retransmits it. Without it such a hole waits for
    /// the loss probe's timeout (about two round trips after the last send) or the
    /// RTO: the case of a loss near the end of a flight, or in a small one. Needs SACK
    /// and an RTT sample. On by default, as RACK is in Linux.
    pub rack_reorder_timer: bool,
    /// F-RTO (RFC 5682): after a retransmission timeout, retransmit SND.UNA alone, then
    /// send new data rather than resend the window; if the ACKs that follow acknowledge
    /// data that was never retransmitted, the timeout was spurious (a delay spike, not
    /// a loss) and the resend is skipped (`StackStats::spurious_timeouts`), with ssthresh
    /// back to its value before the timeout. A real timeout costs a round trip more
    /// before the resend. With timestamps, the first ACK of the retransmission shows a
    /// spurious timeout at once when it echoes the original's TSval (Eifel detection,
    /// RFC 3522), with or without new data to send. On by default, as in Linux.
    pub frto: bool,
    /// Proportional Rate Reduction (RFC 6937, with RFC 9937's bound) in SACK-based
    /// fast recovery: each ACK releases data in proportion to what it reports
    /// delivered, so that the flight falls smoothly to ssthresh over the recovery's
    /// round trip (and, when more was lost than the reduction asks, climbs back
    /// towards it no faster than what is delivered, plus a segment on ACKs that show
    /// no further loss), rather than RFC 5681's window inflation, which after a
    /// reduction sends nothing new for half a round trip. Connections without SACK
    /// recover as RFC 6582 says either way. On by default, as in Linux and FreeBSD;
    /// it costs time at heavy random loss (5% and more, README "Proportional Rate
    /// Reduction").
    pub prr: bool,
    /// Default listen backlog when `listen` is given 0.
    pub default_backlog: usize,
    /// Maximum half-open (SYN-RECEIVED) connections per listener. Past it (or past the
    /// share of the listen backlog the accept queue leaves), SYNs get SYN cookies or,
    /// with [`SynCookies::Off`], are dropped.
    pub max_syn_queue: usize,
    /// Maximum connections (every state but TIME-WAIT records) in the stack.
    pub max_connections: usize,
    /// Maximum TIME-WAIT records; past it the oldest is recycled.
    pub max_time_wait: usize,
    /// Explicit Congestion Notification (RFC 3168): [`Ecn::Passive`] by default.
    pub ecn: Ecn,
    /// With [`Ecn::Active`], how many retransmissions of our SYN still ask for ECN
    /// before the rest go without (RFC 3168 6.1.1.1: a host that "receives no reply to
    /// an ECN-setup SYN within the normal SYN retransmission timeout interval MAY
    /// resend the SYN and any subsequent SYN retransmissions with CWR and ECE
    /// cleared", in case a middlebox drops ECN-setup SYNs). 1 by default, as FreeBSD's
    /// `net.inet.tcp.ecn.maxretries`.
    pub ecn_setup_retries: u32,
    /// Maximum events waiting for [`Stack::poll_event`](crate::Stack::poll_event).
    /// Past it new events are dropped, and the application finds one
    /// [`Event::Overflow`](crate::Event::Overflow) saying how many where they would
    /// have been: an application that never drains the queue does not grow memory
    /// without end. 65,536 by default (16 bytes each: 1 MiB at most).
    pub max_events: usize,
    /// Maximum out-of-order ranges kept per connection; further ones are dropped.
    /// RFC 9293 3.10.7.4: "Segments with higher beginning sequence numbers SHOULD be
    /// held for later processing (SHLD-31)". The data lies in the receive buffer
    /// whatever this is; a range costs 8 bytes of list. 1,024 by default: a router's
    /// buffer overflowing drops every other segment of a round, one range per
    /// segment that arrived, and with 32 (the default before) a receiver dropped
    /// what came past the 32nd island, which the sender then sent again (in the
    /// simulator, 8 MB through a 20 Mbit/s bottleneck with a 300 KB buffer and a
    /// 60 ms round trip, CUBIC with HyStart++: 157 retransmissions for 83 datagrams
    /// lost; 83 for 83 with 256 or more; Reno: 302 for 302 with 1,024).
    pub max_ooo_ranges: usize,
    /// Bytes of IP fragments held for reassembly (RFC 1122 3.3.2: "The IP layer MUST
    /// implement reassembly of IP datagrams"; RFC 8200 4.5 for IPv6), all datagrams
    /// together: any datagram up to 65,535 bytes is reassembled while it fits, the
    /// oldest pending ones are abandoned to make room. 256 KiB by default; 0 turns
    /// reassembly off (fragments are then counted as malformed and dropped). Beyond
    /// it, at most 64 datagrams are pending, each with up to 4 KiB of bookkeeping (256
    /// fragments). See `stack/reasm.rs` for overlaps, duplicates and limits.
    pub max_reassembly_bytes: usize,
    /// Bytes of ICMP and ICMPv6 Echo Replies waiting to be sent, at most: the echo
    /// responder of RFC 1122 3.2.2.6 ("Every host MUST implement an ICMP Echo server
    /// function that receives Echo Requests and sends corresponding Echo Replies") and
    /// RFC 4443 4.1 for IPv6. A request that would go past it is dropped (counted in
    /// `StackStats::control_dropped`). The reply carries the request's data whole, in
    /// fragments when it is larger than the MTU (a reassembled request of up to 65,535
    /// bytes). 128 KiB by default; 0 turns the responder off (requests are then counted
    /// in `icmp_ignored`).
    pub max_echo_reply_bytes: usize,
    /// How long a datagram's fragments are held from the first one's arrival before
    /// the datagram is abandoned: 60 s by default (RFC 8200 4.5: "within 60 seconds of
    /// the reception of the first-arriving fragment"; RFC 1122 3.3.2 recommends 60 to
    /// 120 s).
    pub reassembly_timeout: Duration,
    /// First and last ephemeral port (RFC 6335: 49152-65535).
    pub ephemeral_ports: (u16, u16),
    /// TTL / hop limit of emitted datagrams (RFC 9293 3.9.2: "MUST be configurable",
    /// MUST-49): of the stack's own segments, and of new connections and listeners,
    /// whose own `Stack::set_ttl` and `Stack::set_listener_ttl` change.
    pub ttl: u8,
    /// The Differentiated Services Codepoint (RFC 2474, six bits: 0 to 63; higher bits
    /// are ignored) of new connections' segments; `Stack::set_dscp` changes one
    /// connection's (RFC 9293 3.9.1.9, MUST-48, SHLD-21). The default, 0, is best
    /// effort. A new listener takes it (`Stack::set_listener_dscp` changes one, for its
    /// SYN,ACKs, SYN cookie ones included, and its connections). A connection's
    /// TIME-WAIT record keeps its field for its ACKs; RSTs for no connection carry 0.
    pub dscp: u8,
    /// How long an orphaned connection (closed by the application) may wait in
    /// FIN-WAIT-2 for the peer's FIN.
    pub fin_wait2_timeout: Duration,
    /// TCP keep-alive (RFC 9293 3.8.4) for every new connection, with these timings;
    /// `None` (the default: "they MUST default to off", MUST-25) leaves it off.
    /// `Stack::set_keepalive` turns it on or off for one connection (MUST-24).
    pub keepalive: Option<Keepalive>,
    /// RFC 1337: a RST does not end TIME-WAIT early.
    pub rfc1337: bool,
    /// RFC 5961 3.2 for RST: only a RST at exactly RCV.NXT resets; one elsewhere in the
    /// window gets a challenge ACK. Off: RFC 793 processing, any in-window RST resets
    /// (RFC 9293 3.10.7.4, second step, for stacks that do not follow RFC 5961).
    pub rfc5961_rst: bool,
    /// RFC 5961 4.2 for SYN: a SYN in a synchronized state gets a challenge ACK. Off: RFC
    /// 793 processing, an in-window SYN resets the connection (RFC 9293 3.10.7.4,
    /// fourth step, last paragraph).
    pub rfc5961_syn: bool,
    /// Drop segments carrying both SYN and FIN without processing them (a common
    /// firewall-style hardening; RFC 9293 itself processes them).
    pub drop_syn_fin: bool,
    /// Record [`crate::TraceRecord`]s for [`crate::Stack::poll_trace`]. Off by default.
    /// The trace is complete by design (the JSON trace, ladders and checks read every
    /// record), so its queue has no bound: a stack that traces must have its trace
    /// drained, as the simulator, `synack tun` and the conformance runner do after
    /// every step. (The event queue, which every application gets, is bounded:
    /// [`Config::max_events`].)
    pub trace: bool,
    /// Challenge ACKs (RFC 5961 3.2, 4.2, 5.2) the whole stack may send per second;
    /// beyond it they are suppressed and counted. RFC 5961 7: "An implementation SHOULD
    /// include an ACK throttling mechanism to be conservative ... such a limit SHOULD be
    /// configurable". To close the side channel of a predictable global budget
    /// (CVE-2016-5696: an off-path attacker counting the challenge ACKs it can still
    /// trigger learns whether some connection spent one), each second's budget is drawn
    /// between half the limit and the limit by a keyed hash of the second. 0 sends none.
    pub challenge_ack_limit: u32,
    /// When listeners answer SYNs with SYN cookies (RFC 4987 3.6).
    pub syn_cookies: SynCookies,
    /// Header prediction: the common segments of a bulk transfer in ESTABLISHED (the
    /// next in-order data, or an ACK of new data) take a short path that ends in
    /// exactly the state, events, timers and output of the full RFC 9293 3.10.7.4
    /// processing (see `conn/fastpath.rs`); and on output, a full-sized segment of new
    /// data with more queued behind it is chosen by a short path and written from the
    /// last one's headers, patched (`Conn::predict_segment`, `wire/template.rs`). A
    /// received datagram of the usual shape (IPv4 without options, TCP without options
    /// or with the timestamps alone) for a known connection is also parsed and
    /// dispatched without the general machinery (`wire::parse_plain_v4`). On by
    /// default; off forces every segment through the full processing, which the
    /// differential tests compare against.
    pub header_prediction: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secret: *b"synack-default!!",
            addresses: Vec::new(),
            any_address: false,
            mtu: 1500,
            recv_buffer: 64 * 1024,
            send_buffer: 64 * 1024,
            mss_option: true,
            window_scaling: true,
            window_shift: None,
            sack: true,
            timestamps: true,
            option_layout: OptionLayout::Linux,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            connect_timeout: None,
            user_timeout: None,
            syn_retries: 7,
            max_retries: 15,
            report_after_retries: 3,
            error_reports: true,
            msl: Duration::from_secs(30),
            delayed_ack: Some(Duration::from_millis(40)),
            delay_fin_ack: true,
            nagle: true,
            congestion_control: CongestionControl::Reno,
            initial_window: 10,
            limited_transmit: true,
            hystart: true,
            tail_loss_probe: true,
            rack_reorder_timer: true,
            frto: true,
            prr: true,
            default_backlog: 128,
            max_syn_queue: 1024,
            max_connections: 1 << 20,
            max_time_wait: 1 << 18,
            max_events: 1 << 16,
            ecn: Ecn::Passive,
            ecn_setup_retries: 1,
            max_ooo_ranges: 1024,
            max_reassembly_bytes: 1 << 18,
            max_echo_reply_bytes: 1 << 17,
            reassembly_timeout: Duration::from_secs(60),
            ephemeral_ports: (49152, 65535),
            ttl: 64,
            dscp: 0,
            fin_wait2_timeout: Duration::from_secs(60),
            keepalive: None,
            rfc1337: true,
            rfc5961_rst: true,
            rfc5961_syn: true,
            drop_syn_fin: false,
            trace: false,
            // Linux's tcp_challenge_ack_limit from 4.7 to 5.19 (after CVE-2016-5696 and
            // before per-socket limits replaced it): about 54 KB/s of ACKs at most, far
            // above what honest peers need (one per restarted or confused peer) and far
            // below a flood's rate.
            challenge_ack_limit: 1000,
            syn_cookies: SynCookies::WhenFull,
            header_prediction: true,
        }
    }
}

impl Config {
    /// The Differentiated Services field byte for [`Config::dscp`] ([`ds_field`]).
    pub(crate) fn ds_field(&self) -> u8 {
        ds_field(self.dscp)
    }

    /// The MSS we announce for a peer of this address family: MTU minus fixed IP and TCP
    /// headers (RFC 9293 3.7.1, RFC 879): "The MSS value to be sent in an MSS Option
    /// should be equal to the effective MTU minus the fixed IP and TCP headers." No
    /// floor but 1 (a zero MSS would let no data through): a link with an MTU of 72
    /// announces 32, as FreeBSD does.
    pub fn announced_mss(&self, ipv6: bool) -> u16 {
        let ip = if ipv6 { 40 } else { 20 };
        self.mtu.saturating_sub(ip + 20).max(1)
    }
}

/// The Differentiated Services field byte for a DSCP (RFC 2474): the codepoint in the
/// high six bits (higher bits of `dscp` ignored), the two ECN bits zero.
pub(crate) fn ds_field(dscp: u8) -> u8 {
    (dscp & 0x3f) << 2
}

/// Keep-alive timings (RFC 9293 3.8.4). A keep-alive probe is sent only when nothing
/// was received for `idle` and no sent data is outstanding (MUST-26); it carries
/// SEQ = SND.NXT - 1, which the peer answers with an ACK. After `probes` probes
/// `interval` apart go unanswered, the connection is closed with
/// [`ConnError::TimedOut`](crate::ConnError::TimedOut).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Time without any segment received before the first probe: "MUST default to no
    /// less than two hours" (MUST-28).
    pub idle: Duration,
    /// Time between unanswered probes (75 s by default, as in Linux and BSD).
    pub interval: Duration,
    /// Unanswered probes before the connection is declared dead (9 by default). At
    /// least 2: "It is extremely important to remember that ACK segments that contain
    /// no data are not reliably transmitted by TCP. Consequently, if a keep-alive
    /// mechanism is implemented it MUST NOT interpret failure to respond to any
    /// specific probe as a dead connection (MUST-29)." 0 and 1 count as 2.
    pub probes: u8,
}

impl Keepalive {
    /// The fewest unanswered probes that close a connection: [`Keepalive::probes`]
    /// below it counts as this (MUST-29).
    pub const MIN_PROBES: u8 = 2;
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive { idle: Duration::from_secs(2 * 3600), interval: Duration::from_secs(75), probes: 9 }
    }
}
