//! SYN cookies (RFC 4987 3.6): answering a SYN without keeping any state.
//!
//! RFC 4987 3.6: "SYN cookies ... allow the server to avoid storing any state when a
//! SYN is received ... the server encodes the state it would normally keep in the
//! sequence number it places in the SYN-ACK, and the ACK that completes the handshake
//! echoes it back (plus one)". The listener answers a SYN with a SYN,ACK whose ISS is
//! the cookie; when an ACK arrives for a 4-tuple that has no connection, the listener
//! checks whether SEG.ACK - 1 is a cookie it could have made for SEG.SEQ - 1 and, if so,
//! creates the connection directly from the ACK (passing through SYN-RECEIVED in the
//! same step) and queues it for `accept`.
//!
//! # The cookie
//!
//! ```text
//!  31                                       3   2   1   0
//! +-------------------------------------------+---+-------+
//! |  MAC(tuple, peer ISN, counter, MSS index) | c |  MSS  |   then bits 2..0 are
//! |  top 29 bits                              |   | index |   XORed with a mask
//! +-------------------------------------------+---+-------+
//! ```
//!
//! - the MAC is the keyed SipHash of [`crate::isn`] under [`crate::Config::secret`]
//!   (its own domain) over the 4-tuple, the peer's ISN, the full time counter and the
//!   MSS index: a blind attacker must guess 29 bits per forged ACK, and a cookie cannot
//!   be moved to another 4-tuple, another peer ISN or another MSS;
//! - `c` is the low bit of the time counter (one tick every [`COOKIE_PERIOD`], 64 s):
//!   a cookie is valid while the counter is the one it was made in or the next, so it
//!   lives between 64 and 128 s (Linux: `MAX_SYNCOOKIE_AGE` 2 minutes);
//! - the MSS index picks the largest value of a small table ([`MSS_TABLE_V4`],
//!   [`MSS_TABLE_V6`]) that does not exceed the peer's MSS option (RFC 9293 3.7.1: the
//!   default of 536 or 1220 without one), so we never send larger segments than the
//!   peer accepts;
//! - the three low bits are XORed with a keyed hash of the 4-tuple and peer ISN, so the
//!   whole ISS looks random (RFC 6528 / RFC 9293 3.4.1: ISNs must not be predictable).
//!
//! # The other options, in the timestamps
//!
//! Options the SYN carried other than the MSS do not fit in the 32 bits. When the SYN
//! carries timestamps (and the configuration has them on), the cookie SYN,ACK offers
//! timestamps back, and the six low bits of its TSval hold the rest of what the
//! connection must agree on ([`KeptOptions`]): the peer's window shift (or none),
//! SACK-permitted, and whether it was an ECN-setup SYN that the configuration takes.
//! The SYN,ACK offers those too (our shift, SACK-permitted, ECE), and the peer's ACK
//! echoes the TSval in its TSecr (RFC 7323 3.2 and 4.3), which brings them back. The
//! TSval is the connection's own timestamp clock with those bits in place of its low
//! bits, moved back by 64 when that put it ahead, so the connection's later TSvals never
//! go backwards from it. A TSecr no SYN,ACK of ours could have sent (later than the
//! clock, or older than a cookie lives) rejects the ACK. The bits are not covered by the
//! MAC: a peer that changes them changes only its own connection's options, which it
//! chose in its SYN anyway.
//!
//! Without timestamps in the SYN there is nowhere to keep them: the cookie SYN,ACK then
//! offers **no window scaling, no SACK and no ECN**, and the connection runs with
//! 16-bit windows both ways (at most 65,535 bytes in flight). Either way the MSS is
//! rounded down to the table, and text on the SYN is dropped (the peer retransmits it,
//! as RFC 9293 3.10.7.2 allows). A peer whose MSS is below the table's smallest entry
//! cannot be served by a cookie: its SYN takes the ordinary path, or is dropped while
//! the SYN queue is full.

use super::{ConnId, ListenerId, Stack};
use crate::config::{Config, Ecn};
use crate::conn::{control_header, rcv_wscale_for, ts_before, ts_clock_of, Outcome};
use crate::isn::KeyedState;
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::{Duration, Instant};
use crate::trace::FourTuple;
use crate::wire::{TcpFlags, TcpHeader, TcpOptions, Timestamps};
use core::hash::{BuildHasher, Hash, Hasher};
use std::collections::VecDeque;

/// One tick of the cookie's time counter. A cookie is valid in its own period and the
/// next one.
pub(crate) const COOKIE_PERIOD: Duration = Duration::from_secs(64);

/// MSS values an IPv4 cookie can carry (Linux's `msstab`): the default of RFC 9293
/// 3.7.1, a tunnelled path, and the usual Ethernet values with and without options.
pub(crate) const MSS_TABLE_V4: [u16; 4] = [536, 1300, 1440, 1460];
/// MSS values an IPv6 cookie can carry: the IPv6 default of RFC 9293 3.7.1 (1280 - 60),
/// a tunnelled path, Ethernet with extension headers or options, plain Ethernet.
pub(crate) const MSS_TABLE_V6: [u16; 4] = [1220, 1380, 1420, 1440];

/// Domain separation of the cookie's MAC and mask from the other uses of the secret.
const DOMAIN_MAC: u64 = 0x636f_6f6b_0001;
const DOMAIN_MASK: u64 = 0x636f_6f6b_0002;

/// The low bits of a cookie SYN,ACK's TSval that carry the SYN's other options
/// ([`KeptOptions`]).
const TS_BITS_MASK: u32 = 0x3f;
/// In those bits: the peer's window shift (0 to 14), or this value for none.
const TS_NO_WINDOW_SCALE: u32 = 0xf;
const TS_SACK: u32 = 1 << 4;
const TS_ECN: u32 = 1 << 5;

/// The options of a SYN, besides the MSS, that a cookie keeps when the SYN carried
/// timestamps: the cookie SYN,ACK offers them and hides them in the low six bits of
/// its TSval, which the peer echoes in the TSecr of its ACK (RFC 7323 3.2: every
/// segment carries the TSopt once both SYNs did).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct KeptOptions {
    /// The peer's window shift (RFC 7323 2.2), capped at 14, when both sides scale.
    window_scale: Option<u8>,
    /// SACK-permitted (RFC 2018 2) in both SYNs.
    sack: bool,
    /// An ECN-setup SYN (RFC 3168 6.1.1: ECE and CWR) to a stack that takes ECN.
    ecn: bool,
}

impl KeptOptions {
    /// What of `syn`'s options the configuration agrees to (as for a half-open
    /// connection: `Conn::apply_syn_options`, `Conn::ecn_accept_syn`).
    fn of_syn(cfg: &Config, syn: &TcpHeader) -> Self {
        KeptOptions {
            window_scale: syn.options.window_scale.filter(|_| cfg.window_scaling).map(|w| w.min(14)),
            sack: cfg.sack && syn.options.sack_permitted,
            ecn: cfg.ecn != Ecn::Off && syn.flags.contains(TcpFlags::ECE | TcpFlags::CWR),
        }
    }

    fn bits(self) -> u32 {
        let ws = self.window_scale.map_or(TS_NO_WINDOW_SCALE, u32::from);
        ws | if self.sack { TS_SACK } else { 0 } | if self.ecn { TS_ECN } else { 0 }
    }

    fn from_bits(bits: u32) -> Self {
        let ws = bits & TS_NO_WINDOW_SCALE;
        KeptOptions {
            window_scale: (ws <= 14).then_some(ws as u8),
            sack: bits & TS_SACK != 0,
            ecn: bits & TS_ECN != 0,
        }
    }

    /// The TSval carrying these options for a connection whose timestamp clock reads
    /// `clock`: the clock with its low bits replaced, and moved one step of 64 back if
    /// that put it ahead, so that the connection's later TSvals, read from the clock,
    /// never go backwards from it (RFC 7323 5.4: "the timestamp clock ... must be ...
    /// monotone non-decreasing").
    fn stamp(self, clock: u32) -> u32 {
        let val = (clock & !TS_BITS_MASK) | self.bits();
        if ts_before(clock, val) {
            val.wrapping_sub(TS_BITS_MASK + 1)
        } else {
            val
        }
    }
}

/// The keys of the cookies, when the last one was sent, and each listener's half-open
/// connections oldest first.
#[derive(Clone, Debug)]
pub(super) struct SynCookieJar {
    mac_key: KeyedState,
    mask_key: KeyedState,
    /// When the last cookie SYN,ACK was queued: in [`crate::SynCookies::WhenFull`] mode
    /// ACKs are only checked for cookies while one could still be valid.
    last_sent: Option<Instant>,
    /// Per listener (by index), the half-open connections it created, oldest first.
    /// Entries of connections since established or gone are skipped lazily and
    /// compacted away, so each list stays within about twice `max_syn_queue`.
    half_open: Vec<VecDeque<ConnId>>,
}

/// What became of an ACK checked for a cookie.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum CookieVerdict {
    /// No cookie could be outstanding: the ACK is an ordinary bad ACK to a listener.
    NotChecked,
    /// Forged, stale or mangled.
    Rejected,
    /// Valid, and a connection now exists.
    Accepted,
    /// Valid, but the accept queue or the connection table is full: dropped.
    Overflow,
}

fn counter(now: Instant) -> u64 {
    now.as_micros() / COOKIE_PERIOD.as_micros()
}

fn mss_table(tuple: &FourTuple) -> &'static [u16; 4] {
    if tuple.remote.is_ipv6() {
        &MSS_TABLE_V6
    } else {
        &MSS_TABLE_V4
    }
}

impl SynCookieJar {
    pub(super) fn new(secret: &[u8; 16]) -> Self {
        SynCookieJar {
            mac_key: KeyedState::new(secret, DOMAIN_MAC),
            mask_key: KeyedState::new(secret, DOMAIN_MASK),
            last_sent: None,
            half_open: Vec::new(),
        }
    }

    fn mac(&self, tuple: &FourTuple, peer_isn: SeqNum, counter: u64, mss_index: u32) -> u32 {
        let mut h = self.mac_key.build_hasher();
        tuple.hash(&mut h);
        peer_isn.0.hash(&mut h);
        counter.hash(&mut h);
        mss_index.hash(&mut h);
        (h.finish() >> 32) as u32
    }

    fn mask(&self, tuple: &FourTuple, peer_isn: SeqNum) -> u32 {
        let mut h = self.mask_key.build_hasher();
        tuple.hash(&mut h);
        peer_isn.0.hash(&mut h);
        h.finish() as u32 & 0b111
    }

    /// The cookie (our ISS) answering a SYN with sequence number `peer_isn` and MSS
    /// `peer_mss` at `now`, or `None` if the MSS is below the table.
    pub(super) fn make(
        &self,
        now: Instant,
        tuple: &FourTuple,
        peer_isn: SeqNum,
        peer_mss: u16,
    ) -> Option<SeqNum> {
        let table = mss_table(tuple);
        let index = table.iter().rposition(|&m| m <= peer_mss)? as u32;
        let c = counter(now);
        let data = ((c as u32 & 1) << 2) | index;
        let mac = self.mac(tuple, peer_isn, c, index) & !0b111;
        Some(SeqNum(mac | (data ^ self.mask(tuple, peer_isn))))
    }

    /// The MSS encoded in `cookie` if it is one we made at most one period ago for this
    /// 4-tuple and peer ISN.
    pub(super) fn check(
        &self,
        now: Instant,
        tuple: &FourTuple,
        peer_isn: SeqNum,
        cookie: SeqNum,
    ) -> Option<u16> {
        let data = (cookie.0 ^ self.mask(tuple, peer_isn)) & 0b111;
        let index = data & 0b11;
        let now_c = counter(now);
        // The counter the cookie was made in: this period or the previous one.
        let c = if (now_c & 1) as u32 == data >> 2 { now_c } else { now_c.checked_sub(1)? };
        let mac = self.mac(tuple, peer_isn, c, index) & !0b111;
        if mac != cookie.0 & !0b111 {
            return None;
        }
        mss_table(tuple).get(index as usize).copied()
    }

    /// Whether an ACK arriving at a listener at `now` should be checked for a cookie.
    fn may_hold_cookie(&self, now: Instant, always: bool) -> bool {
        always || self.last_sent.is_some_and(|t| now.saturating_since(t) < COOKIE_PERIOD.saturating_mul(2))
    }
}

impl Stack {
    /// Answer a SYN to listener with a cookie SYN,ACK, keeping no state: RFC 9293
    /// 3.10.7.2's "<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>" with ISS = the cookie and
    /// RCV.NXT = SEG.SEQ + 1. Returns false (nothing sent) when the peer's MSS cannot be
    /// encoded, the cookie would not lie above `iss_floor` (the SND.NXT of a TIME-WAIT
    /// incarnation this SYN reopens, RFC 1122 4.2.2.13), or the output queue is full.
    pub(super) fn send_syn_cookie(
        &mut self,
        tuple: FourTuple,
        hdr: &TcpHeader,
        iss_floor: Option<SeqNum>,
        inherit: super::Inherited,
    ) -> bool {
        let ipv6 = tuple.remote.is_ipv6();
        // RFC 9293 3.7.1: without an MSS option the peer accepts 536 (IPv4) or 1220 (IPv6).
        let peer_mss = hdr.options.mss.unwrap_or(if ipv6 { MSS_TABLE_V6[0] } else { MSS_TABLE_V4[0] });
        let Some(iss) = self.cookies.make(self.now, &tuple, hdr.seq, peer_mss) else { return false };
        if iss_floor.is_some_and(|old| iss.le(old)) {
            return false;
        }
        // The window of a SYN is never scaled (RFC 7323 2.2), and no scaling is offered.
        let window = inherit.recv_buffer.min(65535) as u16;
        let mut h = control_header(&tuple, iss, Some(hdr.seq + 1), TcpFlags::SYN, window);
        if self.cfg.mss_option {
            h.options.mss = Some(self.cfg.announced_mss(ipv6).min(inherit.mss_limit));
        }
        h.options.layout = self.cfg.option_layout;
        // RFC 7323 3.2: a TSopt in the SYN,ACK "only if it received a TSopt in the
        // initial <SYN>"; then the other options ride in its TSval (`KeptOptions`).
        if let Some(ts) = hdr.options.timestamps.filter(|_| self.cfg.timestamps) {
            let kept = KeptOptions::of_syn(&self.cfg, hdr);
            let clock = ts_clock_of(&self.cfg, &tuple, self.now);
            h.options.timestamps = Some(Timestamps { val: kept.stamp(clock), ecr: ts.val });
            h.options.window_scale =
                kept.window_scale.map(|_| rcv_wscale_for(&self.cfg, inherit.recv_buffer));
            h.options.sack_permitted = kept.sack;
            if kept.ecn {
                // RFC 3168 6.1.1: an ECN-setup SYN-ACK has ECE set, CWR clear.
                h.flags |= TcpFlags::ECE;
            }
        }
        // The field the connection this SYN,ACK may become will have (the listener's,
        // `Stack::set_listener_dscp`), as a SYN,ACK of a half-open connection carries it.
        if !self.push_control_ip(tuple, h, inherit.ip) {
            return false;
        }
        self.cookies.last_sent = Some(self.now);
        self.sinks.stats.syn_cookies_sent += 1;
        true
    }

    /// An ACK (no SYN, no RST) that found listener `l` and no connection: the third
    /// segment of a cookie handshake, if SEG.ACK - 1 is a valid cookie for SEG.SEQ - 1.
    pub(super) fn cookie_ack(
        &mut self,
        l: ListenerId,
        tuple: FourTuple,
        hdr: &TcpHeader,
        payload: &[u8],
    ) -> CookieVerdict {
        let always = self.cfg.syn_cookies == crate::config::SynCookies::Always;
        if self.cfg.syn_cookies == crate::config::SynCookies::Off
            || !self.cookies.may_hold_cookie(self.now, always)
        {
            return CookieVerdict::NotChecked;
        }
        let iss = hdr.ack - 1;
        let irs = hdr.seq - 1;
        let Some(mss) = self.cookies.check(self.now, &tuple, irs, iss) else {
            self.sinks.stats.syn_cookies_rejected += 1;
            return CookieVerdict::Rejected;
        };
        let Some((kept, ts)) = self.cookie_timestamps(&tuple, hdr) else {
            self.sinks.stats.syn_cookies_rejected += 1;
            return CookieVerdict::Rejected;
        };
        self.sinks.stats.syn_cookies_validated += 1;
        // RFC 4987 3.6 leaves the listen queue's limits in force: a full accept queue
        // (or connection table) drops the completed handshake, as Linux does. The peer
        // believes it is connected; its next segment (or retransmission) that still
        // starts at IRS + 1 retries the cookie.
        let Some(Some(listener)) = self.listeners.get(l.0 as usize) else { return CookieVerdict::Overflow };
        let accept_full = listener.accept_queue.len() >= listener.backlog;
        let backlog_full = listener.accept_queue.len() + listener.embryonic >= listener.backlog;
        let inherit = listener.inherit;
        // The half-open connections that fill the backlog (or the connection table) are
        // what a SYN flood leaves behind, and their peers have proven nothing; this one
        // has proven it receives at its address. RFC 4987 3.4: "Once the entire backlog
        // is exhausted, some implementations allow incoming SYNs to overwrite the oldest
        // half-open TCB entry" - the oldest one makes room. Without this, a flood that
        // fills the backlog with half-open connections before the SYN queue (backlog <
        // max_syn_queue, as by default) would shut every cookie out for their lifetime.
        if accept_full
            || ((backlog_full || self.live_conns >= self.cfg.max_connections)
                && !self.recycle_oldest_half_open(l))
        {
            self.sinks.stats.listen_overflows += 1;
            return CookieVerdict::Overflow;
        }
        // The TCB the SYN would have created (3.10.7.2: "Set RCV.NXT to SEG.SEQ+1, IRS
        // is set to SEG.SEQ ... SND.NXT is set to ISS+1 and SND.UNA to ISS"), with the
        // SYN,ACK counted as sent; RCV.WND is the window that SYN,ACK announced.
        let window = inherit.recv_buffer.min(65535);
        let (id, conn) = self.alloc_passive(tuple, iss, l, &inherit);
        conn.irs = irs;
        conn.rcv_nxt = irs + 1;
        conn.rcv_adv = conn.rcv_nxt + window;
        conn.snd_una = iss;
        conn.snd_nxt = iss + 1;
        conn.snd_next = iss + 1;
        conn.snd_wnd = u32::from(hdr.window);
        conn.max_snd_wnd = conn.snd_wnd;
        conn.snd_wl1 = irs;
        conn.syn_sent_count = 1;
        if kept.ecn {
            conn.ecn_accept_syn(TcpFlags::ECE | TcpFlags::CWR);
        }
        self.by_tuple.insert(tuple, id.index);
        if let Some(Some(listener)) = self.listeners.get_mut(l.0 as usize) {
            listener.embryonic += 1;
        }
        // The options both SYNs carried: the cookie SYN,ACK offered those the TSecr
        // brings back, and none without timestamps (RFC 7323 2.2 and 3.2, RFC 2018 2:
        // each is in effect only when both SYNs carry it).
        let opts = TcpOptions {
            mss: Some(mss),
            window_scale: kept.window_scale,
            sack_permitted: kept.sack,
            timestamps: ts,
            ..TcpOptions::NONE
        };
        let out = self.with_conn(id.index, |c, ctx| {
            c.apply_syn_options(ctx, &opts);
            c.set_state(ctx, State::SynReceived);
            // SYN-RECEIVED, fifth step: "If SND.UNA < SEG.ACK =< SND.NXT, then enter
            // ESTABLISHED state and continue processing" - the same code as for a
            // SYN-RECEIVED connection with state, text and FIN included.
            // (With timestamps, the first RTT sample comes from a later ACK: the
            // TSval echoed here was moved back by up to 63 ms to carry the options,
            // and `apply_syn_options` put the sampling mark at SND.NXT, which this ACK
            // does not pass.)
            c.on_segment(ctx, hdr, payload, 0)
        });
        let out = out.unwrap_or(Outcome::Discard);
        let still_embryonic = self
            .slots
            .get(id.index as usize)
            .and_then(|s| s.conn.as_deref())
            .is_some_and(|c| c.state == State::SynReceived);
        // The ACK was checked above to lie in (SND.UNA, SND.NXT] and SEG.SEQ = RCV.NXT,
        // so the connection is ESTABLISHED (or further); should it not be, an embryo
        // with no SYN,ACK to retransmit must not linger.
        self.after_conn(id.index, if still_embryonic { Outcome::Discard } else { out });
        CookieVerdict::Accepted
    }

    /// The options a cookie ACK brings back in the TSecr of its timestamps, with those
    /// timestamps: none without them (the cookie SYN,ACK then offered none). `None`
    /// when the TSecr cannot be the echo of a cookie SYN,ACK's TSval: later than the
    /// connection's timestamp clock, or older than a cookie lives (two periods, and
    /// the 63 ms a stamp is moved back by).
    fn cookie_timestamps(
        &self,
        tuple: &FourTuple,
        hdr: &TcpHeader,
    ) -> Option<(KeptOptions, Option<Timestamps>)> {
        let none = KeptOptions { window_scale: None, sack: false, ecn: false };
        let Some(ts) = hdr.options.timestamps.filter(|_| self.cfg.timestamps) else {
            return Some((none, None));
        };
        let age = ts_clock_of(&self.cfg, tuple, self.now).wrapping_sub(ts.ecr);
        let oldest = COOKIE_PERIOD.saturating_mul(2).as_millis() + u64::from(TS_BITS_MASK);
        if u64::from(age) > oldest {
            return None;
        }
        Some((KeptOptions::from_bits(ts.ecr & TS_BITS_MASK), Some(ts)))
    }

    /// Remember a half-open connection of listener `l`, for
    /// [`Stack::recycle_oldest_half_open`].
    pub(super) fn note_half_open(&mut self, l: ListenerId, id: ConnId) {
        let i = l.0 as usize;
        if self.cookies.half_open.len() <= i {
            self.cookies.half_open.resize_with(i + 1, VecDeque::new);
        }
        let limit = self.cfg.max_syn_queue.saturating_mul(2).saturating_add(16);
        let slots = &self.slots;
        let Some(list) = self.cookies.half_open.get_mut(i) else { return };
        if list.len() >= limit {
            // Amortised: a compaction leaves at most the live half-open connections
            // (<= max_syn_queue), so the next one is at least max_syn_queue pushes away.
            list.retain(|&c| is_half_open_of(slots, c, l));
        }
        list.push_back(id);
    }

    /// Drop the oldest half-open connection of listener `l` (silently, as when it is
    /// "returned to LISTEN"); false if it has none.
    fn recycle_oldest_half_open(&mut self, l: ListenerId) -> bool {
        loop {
            let Some(list) = self.cookies.half_open.get_mut(l.0 as usize) else { return false };
            let Some(c) = list.pop_front() else { return false };
            if !is_half_open_of(&self.slots, c, l) {
                continue;
            }
            self.with_conn(c.index, |conn, ctx| conn.cancel_all_timers(ctx));
            self.after_conn(c.index, Outcome::Discard);
            self.sinks.stats.half_open_recycled += 1;
            return true;
        }
    }
}

/// Whether `c` still is a half-open (SYN-RECEIVED, not yet queued) connection of `l`.
fn is_half_open_of(slots: &[super::Slot], c: ConnId, l: ListenerId) -> bool {
    slots
        .get(c.index as usize)
        .filter(|s| s.generation == c.generation)
        .and_then(|s| s.conn.as_deref())
        .is_some_and(|conn| {
            conn.listener == Some(l) && !conn.queued_for_accept && conn.state == State::SynReceived
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), port),
        }
    }

    fn jar() -> SynCookieJar {
        SynCookieJar::new(&[9; 16])
    }

    #[test]
    fn kept_options_round_trip_through_the_low_bits_of_the_tsval() {
        let all = [None, Some(0), Some(7), Some(14)].into_iter().flat_map(|ws| {
            [(false, false), (true, false), (false, true), (true, true)].map(|(sack, ecn)| KeptOptions {
                window_scale: ws,
                sack,
                ecn,
            })
        });
        for kept in all {
            for clock in [0u32, 63, 64, 1_000_000, u32::MAX - 10, u32::MAX] {
                let val = kept.stamp(clock);
                assert_eq!(KeptOptions::from_bits(val & TS_BITS_MASK), kept, "{clock}");
                // Never ahead of the clock, and less than 64 ms behind it.
                let behind = clock.wrapping_sub(val);
                assert!(behind < 64, "{kept:?} at {clock}: {val}");
            }
        }
    }

    const T0: Instant = Instant::from_millis(1_000_000);

    #[test]
    fn a_cookie_checks_for_its_tuple_and_isn_and_yields_the_table_mss() {
        let j = jar();
        for (peer_mss, expect) in
            [(536, 536), (1000, 536), (1300, 1300), (1459, 1440), (1460, 1460), (9000, 1460)]
        {
            let c = j.make(T0, &tuple(1), SeqNum(77), peer_mss).expect("encodable");
            assert_eq!(j.check(T0, &tuple(1), SeqNum(77), c), Some(expect), "peer mss {peer_mss}");
        }
    }

    #[test]
    fn a_cookie_does_not_check_for_another_tuple_isn_or_value() {
        let j = jar();
        let c = j.make(T0, &tuple(1), SeqNum(77), 1460).expect("encodable");
        assert_eq!(j.check(T0, &tuple(2), SeqNum(77), c), None);
        assert_eq!(j.check(T0, &tuple(1), SeqNum(78), c), None);
        assert_eq!(SynCookieJar::new(&[8; 16]).check(T0, &tuple(1), SeqNum(77), c), None);
        // Every single-bit change of the cookie is caught (the low bits too: they change
        // the counter or the MSS index the MAC covers).
        for bit in 0..32 {
            assert_eq!(j.check(T0, &tuple(1), SeqNum(77), SeqNum(c.0 ^ (1 << bit))), None, "bit {bit}");
        }
    }

    #[test]
    fn a_cookie_lives_between_one_and_two_periods() {
        let j = jar();
        let start = Instant::from_micros(counter(T0) * COOKIE_PERIOD.as_micros());
        let c = j.make(start, &tuple(1), SeqNum(5), 1460).expect("encodable");
        let last = Instant::from_micros(start.as_micros() + 2 * COOKIE_PERIOD.as_micros() - 1);
        assert_eq!(j.check(last, &tuple(1), SeqNum(5), c), Some(1460));
        assert_eq!(j.check(start + COOKIE_PERIOD.saturating_mul(2), &tuple(1), SeqNum(5), c), None);
        // Made at the end of a period, it still lives a full period more.
        let late = Instant::from_micros(start.as_micros() + COOKIE_PERIOD.as_micros() - 1);
        let c = j.make(late, &tuple(1), SeqNum(5), 1460).expect("encodable");
        assert_eq!(j.check(late + COOKIE_PERIOD, &tuple(1), SeqNum(5), c), Some(1460));
    }

    #[test]
    fn an_mss_below_the_table_cannot_be_encoded() {
        assert_eq!(jar().make(T0, &tuple(1), SeqNum(5), 535), None);
        let v6 = FourTuple {
            local: SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80),
            remote: SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 1),
        };
        assert_eq!(jar().make(T0, &v6, SeqNum(5), 1219), None);
        let c = jar().make(T0, &v6, SeqNum(5), 1400).expect("encodable");
        assert_eq!(jar().check(T0, &v6, SeqNum(5), c), Some(1380));
    }

    #[test]
    fn cookies_look_random_in_every_bit() {
        // The low bits are masked: over many tuples each bit of the ISS is set about half
        // the time, not fixed by the counter or the MSS index.
        let j = jar();
        let mut ones = [0u32; 32];
        let n = 2000;
        for p in 0..n {
            let c = j.make(T0, &tuple(p as u16), SeqNum(1), 1460).expect("encodable");
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += (c.0 >> bit) & 1;
            }
        }
        for (bit, &count) in ones.iter().enumerate() {
            assert!((800..1200).contains(&count), "bit {bit} set {count} times of {n}");
        }
    }
}
