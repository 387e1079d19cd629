//! Proportional Rate Reduction (RFC 6937, updated by RFC 9937) in SACK-based fast
//! recovery ([`crate::Config::prr`]).
//!
//! RFC 5681's fast recovery sets cwnd to ssthresh plus the three segments that left
//! and inflates it by one segment per duplicate ACK: with the flight still at the old
//! window, nothing new goes out until half a window of ACKs has come back, then one
//! segment per ACK. PRR instead lets each ACK release data in proportion to what it
//! reports delivered, RFC 6937 3:
//! "sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out" while the data in
//! flight (RFC 6675's pipe) is above ssthresh, so that the flight falls to ssthresh
//! evenly over the round trip. Below ssthresh, the reduction
//! bound: RFC 6937's "MAX(prr_delivered - prr_out, DeliveredData)", what was delivered
//! (packet conservation), plus one segment (the Slow Start Reduction Bound, "+ MSS")
//! only on an ACK that advances SND.UNA and shows no further loss, as RFC 9937 has it
//! (its text is not in `../shared`; FreeBSD's change log for it names the rules:
//! the bound's extra segment only on such "safe" ACKs, nothing released by an ACK that
//! delivers nothing). While losses keep coming to light, the flight does not grow: on
//! the simulator (`crates/synack-sim/tests/hystart.rs`), CUBIC's standard slow start
//! overflowing a 150 KB drop-tail buffer lost 1,113 datagrams and took 4.47 s with
//! RFC 6937's extra segment on every ACK, 241 and 3.40 s with RFC 9937's rule, and 350
//! and 3.40 s without PRR.
//!
//! It needs the scoreboard (pipe and DeliveredData come from the SACK information), so
//! it runs only on connections that have one; without SACK, recovery stays RFC 6582's.
//!
//! How the budget reaches the sender: synack's send gate is SND.UNA + cwnd against
//! SND.NXT (`Conn::send_window_edge`), so on each ACK cwnd becomes the flight plus
//! sndcnt (RFC 6937's "cwnd = pipe + sndcnt", with the gate's measure of the flight in
//! place of pipe): new data takes the budget as SND.NXT moves. Repairs go at once: the
//! fast retransmit, the resend of SND.UNA a partial ACK shows lost, and the one hole
//! per ACK that SACK recovery retransmits as the scoreboard deems it lost. They count in
//! "prr_out" and take their length off the budget ([`Conn::prr_sent`]), so what
//! follows them is that much smaller, and further holes go while budget is left. PRR
//! thus paces new data and never holds back the repair of a known loss, which would
//! leave the receiver's application waiting behind the hole: on
//! `examples/loss-recovery.toml`, gating the second hole by the budget delayed it a
//! round trip. A budget of part of a segment sends no short segment: new data waits
//! for sender SWS avoidance (RFC 9293 3.8.6.2.1) as always, and PRR's sums are
//! cumulative, so what one ACK leaves unspent the next one releases.

use super::scoreboard::Pipe;
use super::Conn;
use crate::config::CongestionControl;
use crate::seq::SeqNum;

/// The state of one PRR recovery (RFC 6937 3: "prr_delivered", "prr_out",
/// "RecoverFS"), kept in the connection's scoreboard box while it lasts.
#[derive(Debug, Clone)]
pub(crate) struct Prr {
    /// "RecoverFS = snd.nxt-snd.una // FlightSize at the start of recovery".
    recover_fs: u32,
    /// "prr_delivered": octets the receiver reported delivered during recovery.
    delivered: u32,
    /// "prr_out": octets sent during recovery, retransmissions included.
    out: u32,
    /// Octets SACKed as of the previous ACK: the base of "change_in(SACKd)".
    sacked: u32,
    /// SND.NXT when `out` last counted the new data sent.
    nxt: SeqNum,
    /// Where the holes deemed lost ended after the previous ACK
    /// ([`crate::conn::scoreboard::Scoreboard::pipe`]).
    lost_end: Option<SeqNum>,
}

impl Conn {
    /// Fast recovery began (`Conn::begin_fast_recovery`): RFC 6937 3's initialisation,
    /// "prr_delivered = 0", "prr_out = 0", "RecoverFS = snd.nxt-snd.una". Until the
    /// first ACK releases anything, the budget is nothing: only the fast retransmit
    /// goes.
    pub(super) fn prr_begin(&mut self, prr_on: bool) {
        if !prr_on || self.cc.kind() == CongestionControl::None {
            return;
        }
        let (flight, una, nxt, mss) = (self.flight(), self.snd_una, self.snd_nxt, u32::from(self.mss).max(1));
        let Some(s) = self.sack.as_deref_mut() else { return };
        let Pipe { sacked, lost_end, .. } = s.pipe(una, nxt, mss, false);
        s.prr = Some(Prr { recover_fs: flight.max(1), delivered: 0, out: 0, sacked, nxt, lost_end });
        self.cc.cwnd = flight;
    }

    /// An ACK in fast recovery, `acked` octets of it newly cumulatively acknowledged,
    /// after the scoreboard and the congestion state have taken it. RFC 6937 3, "On
    /// every ACK during recovery compute: DeliveredData = change_in(snd.una) +
    /// change_in(SACKd)", "prr_delivered += DeliveredData", "pipe = (RFC 6675 pipe
    /// algorithm)", then sndcnt by the proportional rule above ssthresh and the
    /// reduction bound below it (what was delivered, one segment more on a safe ACK);
    /// cwnd becomes the flight plus sndcnt (the module's notes).
    pub(super) fn prr_on_ack(&mut self, acked: u32) {
        if !self.cc.in_recovery() {
            return;
        }
        let (una, nxt, flight, mss) = (self.snd_una, self.snd_nxt, self.flight(), u32::from(self.mss).max(1));
        let ssthresh = self.cc.ssthresh;
        let Some(s) = self.sack.as_deref_mut() else { return };
        let Pipe { bytes: pipe, lost_end, sacked } = s.pipe(una, nxt, mss, self.retransmit_una);
        let Some(p) = s.prr.as_mut() else { return };
        // SACKed octets that the cumulative ACK now covers were delivered before: they
        // count once, when SACKed (a receiver that reneged makes the sum negative, and
        // nothing is delivered).
        let delivered = (u64::from(acked) + u64::from(sacked)).saturating_sub(u64::from(p.sacked));
        let delivered = u32::try_from(delivered).unwrap_or(u32::MAX);
        p.sacked = sacked;
        p.delivered = p.delivered.saturating_add(delivered);
        // "On any data transmission or retransmission: prr_out += (data sent)": the
        // new data sent since the last ACK (retransmissions count as they leave).
        p.out = p.out.saturating_add(nxt.since(p.nxt));
        p.nxt = nxt;
        // An ACK that brings more losses to light: the holes deemed lost reach
        // higher than they did after the previous ACK.
        let more_lost = lost_end.is_some_and(|e| p.lost_end.is_none_or(|before| before.lt(e)));
        p.lost_end = lost_end;
        if delivered == 0 {
            // Nothing delivered, nothing released (RFC 9937; the fast retransmit that
            // starts the recovery goes all the same).
            return;
        }
        let sndcnt = if pipe > ssthresh {
            // "Proportional Rate Reduction": sndcnt = CEIL(prr_delivered * ssthresh /
            // RecoverFS) - prr_out.
            let due = (u64::from(p.delivered) * u64::from(ssthresh)).div_ceil(u64::from(p.recover_fs));
            u32::try_from(due).unwrap_or(u32::MAX).saturating_sub(p.out)
        } else {
            // The reduction bound: "MAX(prr_delivered - prr_out, DeliveredData)", what
            // the ACKs delivered and no more (packet conservation); "+ MSS", the Slow
            // Start Reduction Bound, only on an ACK that advances SND.UNA and shows no
            // further loss (RFC 9937's safe ACK): while losses keep coming to light,
            // the flight does not grow. "Attempt to catch up, as permitted by limit":
            // sndcnt = MIN(ssthresh - pipe, limit).
            let mut limit = p.delivered.saturating_sub(p.out).max(delivered);
            if acked > 0 && !more_lost {
                limit = limit.saturating_add(mss);
            }
            (ssthresh - pipe).min(limit)
        };
        self.cc.cwnd = flight.saturating_add(sndcnt);
    }

    /// `len` octets were retransmitted: in a PRR recovery, "prr_out += (data sent)",
    /// and the budget shrinks by them (a retransmission does not move SND.NXT, which
    /// the send gate measures). Returns whether a PRR recovery counted them.
    pub(super) fn prr_sent(&mut self, len: u32) -> bool {
        if !self.cc.in_recovery() {
            return false;
        }
        let Some(p) = self.sack.as_deref_mut().and_then(|s| s.prr.as_mut()) else { return false };
        p.out = p.out.saturating_add(len);
        self.cc.cwnd = self.cc.cwnd.saturating_sub(len);
        true
    }
}
