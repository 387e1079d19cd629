//! The TCP options of one connection: what the SYNs negotiate (MSS, RFC 9293 3.7.1;
//! window scale, RFC 7323 2; SACK-permitted, RFC 2018; timestamps, RFC 7323 3), the
//! options each outgoing segment carries, the timestamp rules of the receive side
//! (TS.Recent, PAWS, RTT samples; RFC 7323 4 and 5) and the SACK blocks a receiver
//! reports (RFC 2018 4).
//!
//! As a sender, synack records the blocks it receives in a scoreboard
//! (`scoreboard.rs`) for SACK-based loss recovery (RFC 6675), but correctness never
//! depends on them: the receiver may renege (RFC 2018 8, "the data receiver is
//! permitted to discard data in its queue that has not been acknowledged to the data
//! sender, even if the data has already been reported in a SACK option"), so the
//! sender keeps everything up to the cumulative ACK. After a timeout it resends from
//! it, skipping what the scoreboard holds, and a cumulative ACK that stops inside
//! SACKed data (the receiver reneged) drops the scoreboard and starts that resend
//! again (`Conn::skip_sacked`, `Scoreboard::advance`).

use super::output::OutSegment;
use super::{Conn, Ctx};
use crate::config::{Config, OptionLayout};
use crate::isn::KeyedState;
use crate::seq::SeqNum;
use crate::time::{Duration, Instant};
use crate::trace::FourTuple;
use crate::wire::{SackBlock, TcpHeader, TcpOptions, Timestamps};
use core::hash::BuildHasher;

/// RFC 9293 3.7.1: "If an MSS Option is not received at connection setup, TCP
/// implementations MUST assume a default send MSS of 536 (576 - 40) for IPv4 or 1220
/// (1280 - 60) for IPv6 (MUST-15)."
const DEFAULT_MSS_V4: u16 = 536;
const DEFAULT_MSS_V6: u16 = 1220;
/// A floor on the peer's MSS so that a hostile SYN cannot make us emit tiny segments.
const MIN_MSS: u16 = 64;

/// Bytes the timestamps option takes in every segment once negotiated, padding
/// included (RFC 7323 Appendix A: NOP NOP TS, 12 bytes, in both layouts).
pub(crate) const TS_OPTION_LEN: u16 = 12;

/// RFC 7323 5.5: "If a connection remains idle for more than 24 days, TS.Recent is no
/// longer valid" - PAWS then no longer applies to it.
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 60 * 60);

/// SACK blocks remembered, most recent first (FreeBSD's `MAX_SACK_BLKS`); at most 4 fit
/// in a segment, 3 next to timestamps.
const SACK_LIST: usize = 6;

/// Domain separation of the timestamp offset from the other uses of the secret.
const DOMAIN_TS: u64 = 0x7473_6f66_6673_6574;

/// The option state of one connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnOptions {
    /// SACK-permitted: offered by us until the peer's SYN arrives, then whether both
    /// sides sent it (RFC 2018 2).
    pub(crate) sack_ok: bool,
    /// Timestamps: offered until the peer's SYN, then whether both sides sent them
    /// (RFC 7323 3.2: "Once TSopt has been successfully negotiated, that is both `<SYN>`
    /// and `<SYN,ACK>` contain TSopt ...").
    pub(crate) ts_ok: bool,
    /// Added to the millisecond clock to make our TSval (see [`ts_offset`]).
    ts_offset: u32,
    /// TS.Recent (RFC 7323 4.3): the timestamp echoed in TSecr.
    ts_recent: u32,
    /// When TS.Recent was last set (RFC 7323 5.5: it expires after 24 days idle).
    ts_recent_at: Instant,
    /// Last.ACK.sent (RFC 7323 4.3): "the ACK field from the last segment sent".
    last_ack_sent: SeqNum,
    /// RTT samples from timestamps are taken once per flight: from the first ACK
    /// beyond this sequence number (SND.NXT when the last sample was taken).
    ts_rtt_mark: SeqNum,
    /// The SACK blocks to report, most recent first (RFC 2018 4); the first
    /// `sack_len` are valid.
    sack: [(SeqNum, SeqNum); SACK_LIST],
    sack_len: u8,
    /// A duplicate range to report once, first, as a D-SACK block (RFC 2883).
    dsack: Option<(SeqNum, SeqNum)>,
    /// The layout of our options (from [`Config::option_layout`]).
    layout: OptionLayout,
}

/// A per-connection offset for the timestamp clock: a keyed hash of the 4-tuple (the
/// way RFC 6528 keys ISNs), so that TSvals reveal neither the host's uptime nor a
/// clock shared with other connections (the concern of RFC 7323's security
/// considerations), while successive incarnations of one 4-tuple keep a monotonic
/// clock, which PAWS across a reopened TIME-WAIT relies on (RFC 6191).
fn ts_offset(cfg: &Config, tuple: &FourTuple) -> u32 {
    KeyedState::new(&cfg.secret, DOMAIN_TS).hash_one(tuple) as u32
}

/// The timestamp clock (see [`ConnOptions::ts_clock`]) of a connection of this 4-tuple
/// at `now`, before the connection exists: what a SYN cookie's SYN,ACK stamps.
pub(crate) fn ts_clock_of(cfg: &Config, tuple: &FourTuple, now: Instant) -> u32 {
    (now.as_millis() as u32).wrapping_add(ts_offset(cfg, tuple))
}

/// `a < b` in the modulo-2^32 order of timestamps (RFC 7323 5.2: "timestamp values ...
/// are compared ... using the same modular arithmetic as sequence numbers").
pub(crate) fn ts_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Whether `hdr` echoes a timestamp older than `tsval`, the TSval a retransmission
/// carried: the receiver echoes the TSval of the segment that filled its hole (RFC 7323
/// 4.3), so such an ACK was sent for an earlier copy of the data, not for that
/// retransmission (RFC 3522's Eifel detection, paraphrased: its text is not in
/// `../shared`).
pub(crate) fn echoes_before(hdr: &TcpHeader, tsval: u32) -> bool {
    hdr.options.timestamps.is_some_and(|ts| ts_before(ts.ecr, tsval))
}

impl ConnOptions {
    /// Take the next timestamp RTT sample from the first ACK beyond `from` (after a
    /// go-back to SND.UNA: see `Conn::resend_from_una`).
    pub(crate) fn restart_ts_sampling(&mut self, from: SeqNum) {
        self.ts_rtt_mark = from;
    }

    pub(crate) fn new(cfg: &Config, tuple: &FourTuple) -> Self {
        ConnOptions {
            sack_ok: cfg.sack,
            ts_ok: cfg.timestamps,
            ts_offset: if cfg.timestamps { ts_offset(cfg, tuple) } else { 0 },
            ts_recent: 0,
            ts_recent_at: Instant::ZERO,
            last_ack_sent: SeqNum(0),
            ts_rtt_mark: SeqNum(0),
            sack: [(SeqNum(0), SeqNum(0)); SACK_LIST],
            sack_len: 0,
            dsack: None,
            layout: cfg.option_layout,
        }
    }

    /// Our timestamp clock: milliseconds of `now` plus the connection's offset (RFC
    /// 7323 5.4 wants a tick between 1 ms and 1 s).
    pub(crate) fn ts_clock(&self, now: Instant) -> u32 {
        (now.as_millis() as u32).wrapping_add(self.ts_offset)
    }

    /// Whether TS.Recent may be trusted for PAWS at `now` (RFC 7323 5.5).
    fn ts_recent_valid(&self, now: Instant) -> bool {
        now.saturating_since(self.ts_recent_at) < PAWS_IDLE
    }

    fn set_ts_recent(&mut self, val: u32, now: Instant) {
        self.ts_recent = val;
        self.ts_recent_at = now;
    }

    /// The SACK blocks held, most recent first.
    fn sack_list(&self) -> &[(SeqNum, SeqNum)] {
        &self.sack[..usize::from(self.sack_len)]
    }
}

/// What a TIME-WAIT record needs to put timestamps on its ACKs: RFC 7323 3.2 wants
/// them on every non-RST segment once negotiated, and a peer that drops segments
/// without them (as that section recommends) would otherwise never see the ACK of
/// its retransmitted FIN.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TimeWaitStamp {
    /// The connection's timestamp clock offset.
    offset: u32,
    /// TS.Recent when the connection entered TIME-WAIT.
    recent: u32,
    layout: OptionLayout,
}

impl TimeWaitStamp {
    /// The stamp of a TIME-WAIT record that kept only TS.Recent: the clock offset is
    /// the keyed hash of the 4-tuple and the layout the configuration's, as for the
    /// connection that entered TIME-WAIT ([`ConnOptions::new`]).
    pub(crate) fn rebuild(cfg: &Config, tuple: &FourTuple, recent: u32) -> Self {
        TimeWaitStamp { offset: ts_offset(cfg, tuple), recent, layout: cfg.option_layout }
    }

    /// TS.Recent when the connection entered TIME-WAIT.
    pub(crate) fn recent(&self) -> u32 {
        self.recent
    }

    /// Put the timestamps (and the layout) on an ACK sent from TIME-WAIT at `now`.
    pub(crate) fn stamp(&self, hdr: &mut TcpHeader, now: Instant) {
        let val = (now.as_millis() as u32).wrapping_add(self.offset);
        hdr.options.timestamps = Some(Timestamps { val, ecr: self.recent });
        hdr.options.layout = self.layout;
    }
}

impl Conn {
    /// The timestamps a TIME-WAIT record keeps for its ACKs, if they were negotiated.
    pub(crate) fn time_wait_stamp(&self) -> Option<TimeWaitStamp> {
        let o = &self.options;
        o.ts_ok.then_some(TimeWaitStamp { offset: o.ts_offset, recent: o.ts_recent, layout: o.layout })
    }

    /// Apply the options of the peer's SYN (or SYN,ACK): MSS (RFC 9293 3.7.1), window
    /// scale (RFC 7323 2), SACK-permitted (RFC 2018 2) and timestamps (RFC 7323 3).
    /// Each is in effect only if both sides sent it; what we did not offer (by
    /// configuration) stays off whatever the peer sent.
    pub(crate) fn apply_syn_options(&mut self, ctx: &mut Ctx<'_>, opts: &TcpOptions) {
        let ipv6 = self.tuple.remote.is_ipv6();
        let default = if ipv6 { DEFAULT_MSS_V6 } else { DEFAULT_MSS_V4 };
        let peer = opts.mss.unwrap_or(default).max(MIN_MSS);
        // Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize (3.7.1).
        // (Our own MSS includes the application's limit, `Stack::set_mss_limit`.)
        self.mss = peer.min(self.own_mss(ctx.cfg));
        // RFC 7323 2.2: scaling is in effect only if both sides sent the option; the
        // shift is capped at 14 ("use the value 14 instead of the larger value").
        match opts.window_scale {
            Some(ws) if ctx.cfg.window_scaling => {
                self.snd_wscale = ws.min(14);
                self.ws_enabled = true;
            }
            _ => {
                self.snd_wscale = 0;
                self.rcv_wscale = 0;
                self.ws_enabled = false;
            }
        }
        // RFC 2018 2: "The SACK-permitted option ... may be sent in a SYN by a TCP that
        // has been extended to receive (and presumably process) the SACK option once
        // the connection has opened."
        self.options.sack_ok = ctx.cfg.sack && opts.sack_permitted;
        // RFC 7323 3.2: "A TCP MAY send the TSopt in an initial <SYN> segment ... and MAY
        // send a TSopt in <SYN,ACK> only if it received a TSopt in the initial <SYN>
        // segment for the connection."
        match opts.timestamps {
            Some(ts) if ctx.cfg.timestamps => {
                self.options.ts_ok = true;
                // RFC 7323 4.3 (2) and 3.2: the SYN's TSval is the first TS.Recent.
                self.options.set_ts_recent(ts.val, ctx.now);
                self.options.last_ack_sent = self.rcv_nxt;
                self.options.ts_rtt_mark = self.snd_nxt;
                // RFC 9293 3.7.1: "if there are any IP or TCP Options to be sent in a
                // packet, then the sender must decrease the size of the TCP data
                // accordingly" - and the timestamps go in every segment.
                self.mss = self.mss.saturating_sub(TS_OPTION_LEN).max(1);
            }
            _ => self.options.ts_ok = false,
        }
        self.cc.set_mss(u32::from(self.mss), ctx.cfg.initial_window);
    }

    /// Put the options of an outgoing segment in place: SACK-permitted on our SYN or
    /// SYN,ACK when offered or negotiated, timestamps on every segment but RSTs when
    /// negotiated (or offered, on a SYN), SACK blocks on ACKs while out-of-order data is
    /// held, and the configured layout. The MSS and window scale of a SYN are set by
    /// its builder.
    ///
    /// Inlined into its one caller, `next_segment` (speed).
    #[inline(always)]
    pub(crate) fn add_options(&mut self, ctx: &Ctx<'_>, seg: &mut OutSegment) {
        let hdr = &mut seg.hdr;
        hdr.options.layout = self.options.layout;
        let fl = hdr.flags;
        if fl.rst() {
            return;
        }
        if fl.syn() && self.options.sack_ok {
            hdr.options.sack_permitted = true;
        }
        if self.options.ts_ok {
            // RFC 7323 3.2: "The TSecr field is valid if the ACK bit is set in the TCP
            // header. If the ACK bit is not set in the outgoing TCP header, the sender of
            // that segment SHOULD set the TSecr field to zero." 4.3 (3): "When a TSopt is
            // sent, its TSecr field is set to the current TS.Recent value."
            let ecr = if fl.ack() { self.options.ts_recent } else { 0 };
            hdr.options.timestamps = Some(Timestamps { val: self.options.ts_clock(ctx.now), ecr });
        }
        if !fl.ack() {
            return;
        }
        self.options.last_ack_sent = hdr.ack;
        if fl.syn() || !self.options.sack_ok {
            return;
        }
        // RFC 2883 4: "each duplicate contiguous sequence of data received is reported
        // in at most one D-SACK block" - taken by the first ACK that goes out.
        let dsack = self.options.dsack.take();
        if dsack.is_none() && !self.rx.has_gaps() {
            return;
        }
        // RFC 2018 4: "If sent at all, SACK options SHOULD be included in all ACKs which
        // do not ACK the highest sequence number in the data receiver's queue." On a
        // segment that carries data, only the blocks that keep it within the MSS go
        // (RFC 9293 3.7.1: the options count against the segment size; the blocks are
        // repeated on the next ACK anyway).
        let max = if seg.payload_len == 0 {
            4
        } else {
            usize::from(self.mss).saturating_sub(seg.payload_len).saturating_sub(4) / 8
        };
        let max = max.min(4);
        let rcv_nxt = self.rcv_nxt;
        let mut n = 0;
        // RFC 2883 4: "the first SACK block ... is used to report a duplicate contiguous
        // sequence of data received by the receiver in the most recent packet".
        if let Some((left, right)) = dsack.filter(|_| max > 0) {
            hdr.options.sack[0] = SackBlock { left, right };
            n = 1;
        }
        for &(left, right) in self.options.sack_list().iter().filter(|(l, _)| l.gt(rcv_nxt)).take(max - n) {
            hdr.options.sack[n] = SackBlock { left, right };
            n += 1;
        }
        hdr.options.sack_len = n as u8;
    }

    /// Data `[seq, end)` arrived again: report it in a D-SACK block on the next ACK
    /// (RFC 2883 4: "If the data receiver receives a duplicate segment ... the first
    /// SACK block ... specifies the contiguous sequence of data ... that was
    /// duplicated"). It lets the sender tell a spurious retransmission from a repair.
    pub(crate) fn dsack_note(&mut self, seq: SeqNum, end: SeqNum) {
        if self.options.sack_ok && seq.lt(end) {
            self.options.dsack = Some((seq, end));
        }
    }

    /// [`Conn::dsack_note`] for the part of `len` octets from `seq` that lies below
    /// RCV.NXT: data received before, arriving again (none when `seq` is not below it).
    pub(crate) fn dsack_below_rcv_nxt(&mut self, seq: SeqNum, len: usize) {
        let end = seq + len as u32;
        self.dsack_note(seq, if end.lt(self.rcv_nxt) { end } else { self.rcv_nxt });
    }

    /// Out-of-order data `[seq, end)` was just stored: make the block that holds it the
    /// first SACK block. RFC 2018 4: "The first SACK block (i.e., the one immediately
    /// following the kind and length fields in the option) MUST specify the contiguous
    /// block of data containing the segment which triggered this ACK ... The SACK option
    /// SHOULD be filled out by repeating the most recently reported SACK blocks ... that
    /// are not subsets of a SACK block already included in the SACK option being
    /// constructed." Blocks that RCV.NXT has since reached are dropped.
    pub(crate) fn sack_note(&mut self, seq: SeqNum, end: SeqNum) {
        if !self.options.sack_ok {
            return;
        }
        // The receive buffer merged the segment with the data around it: the block to
        // report is the whole range.
        let Some(&head) = self.rx.ooo_ranges().iter().find(|(s, e)| s.le(seq) && end.le(*e)) else {
            return;
        };
        let rcv_nxt = self.rcv_nxt;
        let o = &mut self.options;
        let mut list = [(SeqNum(0), SeqNum(0)); SACK_LIST];
        list[0] = head;
        let mut n = 1;
        for &(s, e) in &o.sack[..usize::from(o.sack_len)] {
            let covered = head.0.le(s) && e.le(head.1);
            if covered || s.le(rcv_nxt) || n == SACK_LIST {
                continue;
            }
            list[n] = (s, e);
            n += 1;
        }
        o.sack = list;
        o.sack_len = n as u8;
    }

    /// For header prediction (`fastpath.rs`): whether a non-RST segment surely passes
    /// [`Conn::paws_rejects`], which then changes nothing: timestamps are off, or the
    /// segment carries them with SEG.TSval >= TS.Recent (RFC 7323 5.3 R1 then does not
    /// apply, whether TS.Recent is valid or not). False sends the segment to the full
    /// processing.
    #[inline]
    pub(crate) fn paws_surely_passes(&self, hdr: &TcpHeader) -> bool {
        if !self.options.ts_ok {
            return true;
        }
        hdr.options.timestamps.is_some_and(|ts| !ts_before(ts.val, self.options.ts_recent))
    }

    /// RFC 7323 3.2 and 5.3 R1 for a segment in a synchronized state (or
    /// SYN-RECEIVED), before the sequence number is checked: whether to drop it. A
    /// segment without timestamps once they are negotiated is dropped silently; one
    /// whose TSval is older than TS.Recent is answered with an ACK and dropped. RSTs
    /// pass (RFC 7323 5.2: a RST is not subject to PAWS).
    ///
    /// The ACK reports the part of the dropped segment below RCV.NXT as a duplicate
    /// (D-SACK, RFC 2883 4: the receiver got that data twice, whatever it did with the
    /// second copy). The common case is a late original whose retransmission arrived
    /// first and moved TS.Recent past it: the report tells the sender its
    /// retransmission was not needed (RFC 3708), where the drop alone would hide it.
    /// (Linux reports such segments the same way.)
    pub(crate) fn paws_rejects(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader, payload_len: usize) -> bool {
        if !self.options.ts_ok || hdr.flags.rst() {
            return false;
        }
        let Some(ts) = hdr.options.timestamps else {
            // RFC 7323 3.2: "If a non-<RST> segment is received without a TSopt, a TCP
            // SHOULD silently drop the segment. A TCP MUST NOT abort a TCP connection
            // because any segment lacks an expected TSopt."
            ctx.sinks.stats.missing_timestamps += 1;
            return true;
        };
        // R1: "If there is a Timestamps option in the arriving segment, SEG.TSval <
        // TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit is
        // not set, then treat the arriving segment as not acceptable: Send an
        // acknowledgment in reply as specified in [RFC793], page 69; and drop the
        // segment."
        if ts_before(ts.val, self.options.ts_recent) && self.options.ts_recent_valid(ctx.now) {
            ctx.sinks.stats.paws_rejected += 1;
            self.ack_now = true;
            self.dsack_below_rcv_nxt(hdr.seq, payload_len);
            return true;
        }
        false
    }

    /// RFC 7323 after the segment passed the sequence number check (R2): update
    /// TS.Recent (R3, 4.3) and take an RTT sample from the echoed timestamp (4.1, RFC
    /// 6298).
    ///
    /// Speed: the test for whether there is anything to do is inlined into the callers
    /// (the receive fast path among them); the update itself is out of line.
    #[inline(always)]
    pub(crate) fn timestamps_update(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        if !self.options.ts_ok || hdr.flags.rst() || hdr.flags.syn() {
            // RFC 7323 5.2: the timestamps of a RST are not used to update state. Nor
            // are a SYN's: in a synchronized state it only draws a challenge ACK (RFC
            // 5961 4.2), and a blind one must not move TS.Recent (which PAWS would then
            // hold against the real peer).
            return;
        }
        self.timestamps_update_in_use(ctx, hdr);
    }

    /// [`Conn::timestamps_update`] with timestamps in use, on a segment that is not a
    /// RST or SYN.
    #[inline(never)]
    fn timestamps_update_in_use(&mut self, ctx: &mut Ctx<'_>, hdr: &TcpHeader) {
        let Some(ts) = hdr.options.timestamps else { return };
        // R3: "If an arriving segment satisfies SEG.TSval >= TS.Recent and SEG.SEQ <=
        // Last.ACK.sent (see Section 4.3), then record its timestamp in TS.Recent." An
        // expired TS.Recent (5.5) is replaced whatever its value.
        let newer = !ts_before(ts.val, self.options.ts_recent) || !self.options.ts_recent_valid(ctx.now);
        if newer && hdr.seq.le(self.options.last_ack_sent) {
            self.options.set_ts_recent(ts.val, ctx.now);
        }
        // RTTM (4.1): "the RTT can be computed as the difference between the current
        // time and the TSecr value" of an ACK, taken here only from ACKs of new data
        // (4.2: RTT samples from "ACKs that ... advance the left edge of the send
        // window") and once per flight, the rate RFC 6298's gains assume (RFC 7323 4.2:
        // "When multiple RTT samples are taken per RTT, the alpha and beta [gains] may
        // need to be adjusted"). Timestamps tell a retransmission's ACK from the
        // original's, so Karn's rule does not stop these samples; the timed segment of
        // RFC 6298 is not used while timestamps are on.
        let acks_new = hdr.flags.ack() && self.snd_una.lt(hdr.ack) && hdr.ack.le(self.snd_nxt);
        if !acks_new {
            return;
        }
        self.rtt_probe = None;
        // The estimator's sample is due once per flight; HyStart++ (CUBIC's initial
        // slow start, RFC 9406 4.2: the least RTT of each round) takes one from every
        // such ACK while it runs. Neither due (most ACKs of a bulk transfer): nothing
        // to compute.
        let sample_due = hdr.ack.gt(self.options.ts_rtt_mark);
        let hystart = self.cc.hystart_running();
        if ts.ecr == 0 || !(sample_due || hystart) {
            return;
        }
        let rtt_ms = self.options.ts_clock(ctx.now).wrapping_sub(ts.ecr);
        // An echo from the future or beyond the largest RTO is not ours to trust.
        if u64::from(rtt_ms) > ctx.cfg.rto_max.as_millis() {
            return;
        }
        let rtt = Duration::from_millis(u64::from(rtt_ms));
        if hystart {
            self.cc.note_rtt(rtt);
        }
        if sample_due {
            self.rtt.sample(rtt);
            self.options.ts_rtt_mark = self.snd_nxt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_modulo_two_to_the_32() {
        assert!(ts_before(1, 2));
        assert!(!ts_before(2, 2));
        assert!(ts_before(u32::MAX, 0));
        assert!(!ts_before(0, u32::MAX));
        assert!(ts_before(0, 0x7fff_ffff));
    }

    #[test]
    fn the_timestamp_offset_depends_on_the_tuple_and_the_secret() {
        let t1 = FourTuple {
            local: "192.0.2.1:1000".parse().expect("addr"),
            remote: "192.0.2.2:80".parse().expect("addr"),
        };
        let t2 = FourTuple { local: "192.0.2.1:1001".parse().expect("addr"), ..t1 };
        let cfg = Config::default();
        let other = Config { secret: [9; 16], ..Config::default() };
        assert_eq!(ts_offset(&cfg, &t1), ts_offset(&cfg, &t1));
        assert_ne!(ts_offset(&cfg, &t1), ts_offset(&cfg, &t2));
        assert_ne!(ts_offset(&cfg, &t1), ts_offset(&other, &t1));
    }
}
