//! Explicit Congestion Notification for one connection (RFC 3168 6.1), which "A TCP
//! endpoint SHOULD implement" (RFC 9293 3.8.2, SHLD-8).
//!
//! - Negotiation (6.1.1): an "ECN-setup SYN" carries ECE and CWR, an "ECN-setup
//!   SYN-ACK" ECE alone. A listener answers an ECN-setup SYN with an ECN-setup SYN-ACK
//!   unless `Config::ecn` is off; an active opener sends ECN-setup SYNs with
//!   `Ecn::Active`, the first `Config::ecn_setup_retries` retransmissions included.
//!   The connection uses ECN once each side has sent one and received the other, and
//!   only if it sent no plain SYN: a host "MUST NOT set ECT on data packets unless it
//!   has sent at least one ECN-setup SYN or ECN-setup SYN-ACK packet, and has received
//!   at least one ECN-setup SYN or ECN-setup SYN-ACK packet, and has sent no
//!   non-ECN-setup SYN or non-ECN-setup SYN-ACK packet."
//! - Sending (6.1.2, 6.1.4, 6.1.5): new data goes out as ECT(0); SYNs, pure ACKs,
//!   retransmissions and window probes as not-ECT.
//! - Receiving (6.1.3): a CE mark makes every following ACK carry ECE, until a segment
//!   with CWR arrives; a segment outside the receive window changes neither (6.1.5).
//! - Responding (6.1.2): an ACK with ECE halves the congestion window as a loss would,
//!   at most once per window of data, and the next new data segment carries CWR. With
//!   a window of one segment already, the retransmission timer restarts and holds
//!   what is sent next until it expires.
//!
//! Size: a connection without ECN pays one test of [`Conn::ecn`] per segment in and
//! out; everything here is out of line.

use super::{Conn, Ctx, Outcome};
use crate::wire::{TcpFlags, TcpHeader, ECN_CE, ECN_ECT0};

/// Our SYN is an ECN-setup SYN (active open with `Ecn::Active`, until it falls back to
/// a plain SYN, after which the connection cannot use ECN: the bits are then all 0).
pub(crate) const OFFER: u8 = 1;
/// ECN is in use: negotiated, or (passive side) the peer asked and our SYN,ACK agrees.
pub(crate) const ON: u8 = 4;
/// A CE mark arrived and no CWR since: our ACKs carry ECE.
pub(crate) const ECHO: u8 = 8;
/// We reduced the congestion window: the next new data segment carries CWR.
pub(crate) const SEND_CWR: u8 = 16;
/// An echo came with a congestion window of one segment: nothing more is sent until
/// the retransmission timer, restarted then, expires (6.1.2; [`Conn::ecn_hold`]).
pub(crate) const HOLD: u8 = 32;

impl Conn {
    /// Active open with `Ecn::Active`: our SYN asks for ECN.
    pub(crate) fn ecn_offer(&mut self) {
        self.ecn = OFFER;
    }

    /// A listener's new connection, from a SYN with these flags: an ECN-setup SYN
    /// (ECE and CWR) is accepted, and the SYN,ACK will say so (6.1.1: "If a host has
    /// received an ECN-setup SYN packet, then it MAY send an ECN-setup SYN-ACK
    /// packet").
    pub(crate) fn ecn_accept_syn(&mut self, flags: TcpFlags) {
        if flags.contains(TcpFlags::ECE | TcpFlags::CWR) {
            self.ecn = ON;
        }
    }

    /// Our SYN is about to be sent for the `n`th time (0: the first): past
    /// `retries` retransmissions it goes without ECE and CWR (6.1.1.1), and the
    /// connection cannot use ECN any more (it "has sent ... non-ECN-setup SYN").
    #[cold]
    #[inline(never)]
    pub(crate) fn ecn_syn_attempt(&mut self, n: u32, retries: u32) {
        if n > retries {
            self.ecn &= !OFFER;
        }
    }

    /// SYN-SENT received a SYN with these flags, our SYNs having been ECN-setup SYNs
    /// (and none plain: the caller tests `self.ecn != 0`, which a fallback to a plain
    /// SYN clears): ECN is on when it is an ECN-setup SYN-ACK (ECE without CWR),
    /// or, in a simultaneous open, an ECN-setup SYN (ECE and CWR), which our SYN,ACK
    /// then answers as an ECN-setup SYN-ACK (6.1.1: a host that has received an
    /// ECN-setup SYN "MAY send an ECN-setup SYN-ACK packet"). Anything else ends the
    /// offer without ECN.
    #[cold]
    #[inline(never)]
    pub(crate) fn ecn_syn_received(&mut self, flags: TcpFlags) {
        let ecn_bits = flags.0 & (TcpFlags::ECE.0 | TcpFlags::CWR.0);
        let setup = if flags.ack() { TcpFlags::ECE.0 } else { TcpFlags::ECE.0 | TcpFlags::CWR.0 };
        self.ecn = if self.ecn == OFFER && ecn_bits == setup { ON } else { 0 };
    }

    /// The ECN flags of an outgoing segment whose other flags are `flags` (the caller
    /// tests `self.ecn != 0` first).
    #[cold]
    #[inline(never)]
    pub(crate) fn ecn_flags(&self, flags: TcpFlags) -> TcpFlags {
        if flags.syn() {
            if flags.ack() {
                // 6.1.1: the ECN-setup SYN-ACK, "with the ECE flag set but the CWR flag
                // not set".
                if self.ecn & ON != 0 {
                    return flags | TcpFlags::ECE;
                }
            } else if self.ecn & OFFER != 0 {
                // 6.1.1: the ECN-setup SYN, "with the ECE and CWR flags set".
                return flags | TcpFlags::ECE | TcpFlags::CWR;
            }
            return flags;
        }
        // 6.1.3: "the TCP data receiver sets the ECN-Echo flag in the TCP header of the
        // subsequent ACK packet", and on every ACK until a CWR arrives.
        if flags.ack() && self.ecn & ECHO != 0 {
            return flags | TcpFlags::ECE;
        }
        flags
    }

    /// A segment of new data is going out with header `hdr`: its codepoint, ECT(0)
    /// when the connection uses ECN (not-ECT otherwise), and CWR on the first one after
    /// a window reduction (6.1.2: "the TCP source sets the CWR flag in the TCP header
    /// of the first new data packet sent after the window reduction").
    /// Retransmissions, SYNs, pure ACKs and window probes do not come here: they go
    /// out not-ECT, without CWR (6.1.1, 6.1.4, 6.1.5, 6.1.6).
    #[cold]
    #[inline(never)]
    pub(crate) fn ecn_new_data(&mut self, hdr: &mut TcpHeader) -> u8 {
        if self.ecn & ON == 0 {
            return 0;
        }
        if self.ecn & SEND_CWR != 0 {
            self.ecn &= !SEND_CWR;
            hdr.flags |= TcpFlags::CWR;
        }
        ECN_ECT0
    }

    /// [`Conn::on_segment`] on a connection that uses ECN, the segment having arrived
    /// with the IP codepoint `codepoint`: the receiver's echo (6.1.3), then the
    /// segment's own processing, then the sender's response to an echo (6.1.2).
    #[cold]
    #[inline(never)]
    pub(crate) fn on_segment_ecn(
        &mut self,
        ctx: &mut Ctx<'_>,
        hdr: &TcpHeader,
        payload: &[u8],
        codepoint: u8,
    ) -> Outcome {
        let fl = hdr.flags;
        let seg_len = payload.len() as u32 + u32::from(fl.fin());
        // 6.1.5: "the TCP data receiver SHOULD ignore the ECN field on arriving data
        // packets that are outside of the receiver's current window"; so does its CWR
        // here (a segment outside the window cannot end the echo, as RFC 5961 keeps
        // such segments from acting), and its ECE below.
        let in_window = !fl.syn() && !fl.rst() && self.acceptable(hdr.seq, seg_len);
        if in_window {
            // "the data receiver continues to set the ECE flag in ACK packets until it
            // receives a CWR packet", and a CE mark on the same segment sets it again.
            if fl.contains(TcpFlags::CWR) {
                self.ecn &= !ECHO;
            }
            if codepoint == ECN_CE {
                self.ecn |= ECHO;
                ctx.sinks.stats.ecn_ce_received += 1;
            }
        }
        let (flight, cwnd, una) = (self.flight(), self.cc.cwnd, self.snd_una);
        let out = self.on_segment_inner(ctx, hdr, payload);
        if self.ecn & HOLD != 0 && self.timers.rto.is_none() {
            // The ACK of everything in flight stopped the timer of a hold (RFC 6298
            // 5.2): the hold is over, and the next timer armed is not its own.
            self.ecn &= !HOLD;
        }
        // An echo counts on an acceptable ACK: in the window, neither older than SND.UNA
        // (a duplicate from the past, RFC 9293 3.10.7.4: "it can be ignored") nor beyond
        // SND.NXT.
        let echo = out == Outcome::None
            && in_window
            && fl.contains(TcpFlags::ECE | TcpFlags::ACK)
            && una.le(hdr.ack)
            && hdr.ack.le(self.snd_nxt)
            && self.state.is_synchronized();
        // (In a loss recovery the window was reduced already, and its inflation by
        // duplicate ACKs is the recovery's own.)
        if echo && !self.cc.in_recovery() {
            // "the TCP sender SHOULD NOT increase the congestion window in response to
            // the receipt of an ECN-Echo ACK packet", and 6.1.2: "the value of the
            // congestion window is bounded below by a value of one MSS". (The window
            // before this ACK can be below it: PRR's budget, which the recovery's last
            // retransmission spent, when this ACK ends the recovery. Kept at zero, no
            // new segment could ever carry the CWR that ends the peer's echo, and
            // each echo would hold the sender again: a connection stalled for good.)
            self.cc.cwnd = self.cc.cwnd.min(cwnd).max(u32::from(self.mss));
            // "TCP should not react to congestion indications more than once every
            // window of data": an echo reduces the window once the ACKs have gone
            // beyond the data that was in flight at the last reduction (its SND.NXT).
            if self.ecn_recover.lt(self.snd_una) {
                self.cc.on_ecn_echo(flight);
                self.sack_forget_undo();
                self.ecn_recover = self.snd_nxt;
                self.ecn |= SEND_CWR;
                ctx.sinks.stats.ecn_reductions += 1;
            }
            if self.cc.at_one_segment() {
                self.ecn_hold(ctx);
            }
        }
        out
    }

    /// An echo with a congestion window of one segment (6.1.2): "the value of the
    /// congestion window is bounded below by a value of one MSS. ... It is necessary to
    /// still reduce the sending rate of the TCP sender even further ... the sending TCP
    /// MUST reset the retransmit timer on receiving the ECN-Echo packet when the
    /// congestion window is one. The sending TCP will then be able to send a new packet
    /// only when the retransmit timer expires." The timer restarts as a plain RTO (not
    /// a loss probe), and while [`HOLD`] is set the send window is shut
    /// (`Conn::send_window_edge`). The hold ends when that timer expires
    /// ([`Conn::ecn_hold_expired`]) or when an ACK of everything in flight stops it
    /// (RFC 6298 5.2; [`Conn::on_segment_ecn`]): what was in flight got through.
    fn ecn_hold(&mut self, ctx: &mut Ctx<'_>) {
        self.ecn |= HOLD;
        let at = ctx.now + self.rtt.rto();
        self.fill_rto_slot(ctx, at, false, false);
    }

    /// The retransmission timer expired with an echo's hold on: the hold ends, and
    /// with nothing outstanding the expiry is only that (true: no retransmission, no
    /// backoff); with data outstanding it is a retransmission timeout as any other.
    #[cold]
    #[inline(never)]
    pub(crate) fn ecn_hold_expired(&mut self) -> bool {
        self.ecn &= !HOLD;
        self.snd_una == self.snd_nxt
    }
}
