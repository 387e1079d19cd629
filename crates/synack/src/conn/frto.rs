//! F-RTO (RFC 5682): telling a spurious retransmission timeout from a real one. A
//! delay spike longer than the RTO fires the timer with nothing lost; the sender then
//! resends the whole window from SND.UNA, segments the receiver holds or is about to
//! get. F-RTO retransmits only SND.UNA, and when the ACK of that comes back sends new
//! data instead of resending: if the next ACK acknowledges data that was never
//! retransmitted, the originals were only late, and the resend is skipped.
//!
//! RFC 5682's text is not in `../shared`; the steps below paraphrase its section 2.1
//! (the basic algorithm, which needs no TCP option) and, where the connection uses
//! SACK, the one difference of its section 3 (the SACK-enhanced algorithm) that
//! synack takes: duplicate ACKs at step 2 (below). With timestamps, Eifel detection
//! (RFC 3522) decides step 2 by itself when the ACK echoes an original's TSval.

use super::options::echoes_before;
use super::{Conn, Ctx};
use crate::seq::SeqNum;
use crate::wire::TcpHeader;

/// Where a sender stands in F-RTO.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frto {
    /// Not in F-RTO: no timeout, or its recovery is the conventional one.
    #[default]
    Off,
    /// Step 1 done (the timeout retransmitted SND.UNA): waiting for the first ACK.
    First,
    /// Step 2b done (new data sent in place of the resend): waiting for the second.
    Second,
}

impl Conn {
    /// Step 1, at a retransmission timeout (after the conventional response, which
    /// retransmits SND.UNA and points the resend at it): F-RTO watches the ACKs that
    /// follow. Only at the first timeout of an episode, or at the next ones while step
    /// 2 still waits for its ACK (`same_episode`: F-RTO was at step 1 when the timer
    /// fired, a delay spike longer than two RTOs), in whatever synchronized state the
    /// timer fired: whether there is new data to send is step 2's question, not the
    /// state's. The states after our CLOSE may still have data to send: CLOSE queues
    /// the FIN behind it (RFC 9293 3.10.4, CLOSE in ESTABLISHED: "Queue this until all
    /// preceding SENDs have been segmentized, then form a FIN segment and send it. In
    /// any case, enter FIN-WAIT-1 state"), so a server that writes a whole response and
    /// closes spends the transfer in FIN-WAIT-1 (or LAST-ACK). (F-RTO used to be
    /// limited to ESTABLISHED and CLOSE-WAIT, and such a server went back to SND.UNA
    /// on every timeout.)
    ///
    /// `ssthresh` is the one the timeout halved, kept for the response to a spurious
    /// timeout (step 3b) - unless a timeout before it in the same episode had halved it
    /// already: the first one's is kept then (as CUBIC keeps the first one's curve,
    /// `Congestion::on_rto`).
    pub(super) fn frto_on_rto(&mut self, ctx: &Ctx<'_>, same_episode: bool, ssthresh: u32) {
        let episode = self.retries == 1 || same_episode;
        self.lp.frto = if ctx.cfg.frto && episode { Frto::First } else { Frto::Off };
        if !same_episode {
            let segments = ssthresh / u32::from(self.mss.max(1));
            self.frto_ssthresh = u16::try_from(segments).unwrap_or(u16::MAX);
            self.frto_tsval = self.options.ts_clock(ctx.now);
        }
    }

    /// The ssthresh [`Conn::frto_on_rto`] kept, back in bytes (`u32::MAX`, no
    /// threshold, for `u16::MAX` segments or more).
    fn frto_prior_ssthresh(&self) -> u32 {
        match self.frto_ssthresh {
            u16::MAX => u32::MAX,
            segments => u32::from(segments) * u32::from(self.mss),
        }
    }

    /// Bytes queued and never sent.
    fn unsent(&self) -> u32 {
        (self.snd_una + self.tx.len() as u32).since(self.snd_nxt)
    }

    /// A new ACK, `hdr` (SND.UNA was `prior`, the flight `flight_before`), while F-RTO
    /// watches.
    ///
    /// Step 2 (the first ACK): (a) if it does not acknowledge all that the timeout
    /// retransmitted, the recovery stays the conventional one (resend from SND.UNA in
    /// slow start). (If it covers everything sent before the timeout, RTO recovery and
    /// F-RTO end with it: `Conn::probe_on_new_ack`.) If it does and echoes an
    /// original's timestamp ([`Conn::frto_echoes_original`]), the timeout was
    /// spurious: the response of step 3b, at once, with the window step 2b would have
    /// opened. (b) Otherwise send up
    /// to two new segments instead of resending. Congestion control allows it, as RFC
    /// 5682 notes: the sender only chooses other segments than the two slow start
    /// would resend now. Without new data or window for it, the recovery is the
    /// conventional one, as in (a).
    ///
    /// Step 3 (the second ACK), if it acknowledges more data: data that was not
    /// retransmitted after the timeout arrived, so the timeout was spurious. The
    /// resend is skipped, and RTO recovery ends (RFC 5682's "recover" set to SND.UNA).
    /// The response keeps the window that let the two new segments out (the flight
    /// plus two segments, about the window before the timeout), and ssthresh returns
    /// to its value before the timeout: nothing was lost, so nothing calls for a lower
    /// one. (RFC 5682 leaves the response to a spurious timeout open; RFC 4015's
    /// restores the congestion state the timeout reduced, and Linux undoes its
    /// reduction the same way.) Slow start then regains the window in a round trip or
    /// two, where the halved ssthresh left congestion avoidance to regain it a segment
    /// per round trip. (A duplicate ACK here is [`Conn::frto_on_dupack`].)
    #[cold]
    #[inline(never)]
    pub(super) fn frto_on_new_ack(
        &mut self,
        ctx: &mut Ctx<'_>,
        hdr: &TcpHeader,
        prior: SeqNum,
        flight_before: u32,
    ) {
        let (ack, mss) = (hdr.ack, u32::from(self.mss));
        match self.lp.frto {
            Frto::Off => {}
            Frto::First => {
                let resent_all = ack.since(prior) >= mss.min(flight_before);
                let spurious = resent_all && self.frto_echoes_original(hdr);
                let window_edge = self.snd_una + self.snd_wnd;
                if !spurious && (!resent_all || self.unsent() == 0 || !self.snd_nxt.lt(window_edge)) {
                    self.lp.frto = Frto::Off;
                    return;
                }
                // Step 2b, or its window after Eifel's verdict: no resend, room for two
                // new segments beyond the flight.
                self.snd_next = self.snd_nxt;
                self.cc.allow_beyond_flight(self.flight(), 2);
                if spurious {
                    self.frto_spurious(ctx);
                } else {
                    self.lp.frto = Frto::Second;
                }
            }
            Frto::Second => self.frto_spurious(ctx),
        }
    }

    /// Eifel detection ([`echoes_before`]), with timestamps in use: an ACK of the
    /// retransmitted segment that echoes a TSval older than our clock at the timeout
    /// was sent for the original, or for a retransmission sent before the timer fired.
    fn frto_echoes_original(&self, hdr: &TcpHeader) -> bool {
        self.options.ts_ok && echoes_before(hdr, self.frto_tsval)
    }

    /// The timeout was spurious: RTO recovery ends (RFC 5682's "recover" set to
    /// SND.UNA), and ssthresh (and CUBIC's curve) return to their values before it.
    fn frto_spurious(&mut self, ctx: &mut Ctx<'_>) {
        self.lp.frto = Frto::Off;
        self.lp.rto_recover = None;
        self.cc.undo_timeout(self.frto_prior_ssthresh());
        ctx.sinks.stats.spurious_timeouts += 1;
    }

    /// A duplicate ACK while F-RTO watches (its SACK blocks, if any, are in the
    /// scoreboard already).
    ///
    /// At step 2, before the ACK of the segment the timeout retransmitted: without
    /// SACK, step 2a of the basic algorithm, the conventional recovery goes on. With
    /// SACK, section 3's step 2 (paraphrased): duplicate ACKs that arrive before that
    /// ACK update the scoreboard, and F-RTO stays at step 2, waiting for it. Such
    /// duplicates are the echoes of data sent before the timeout and still arriving,
    /// the very sign of a timer that fired early; the basic algorithm cannot tell them
    /// from the duplicates of a resend. (Measured: on the long fat path of the README's
    /// PRR table, seed 6, an unbounded queue held a fast retransmission behind some
    /// 460 ms of data and the timer fired; the queue's duplicates ended basic F-RTO,
    /// and the resend from SND.UNA sent some 860 segments the receiver was about to
    /// get. With this rule: 4 retransmissions in all, and the timeout found spurious.)
    ///
    /// Step 3a: the new data sent at step 2b did not move SND.UNA, so the timeout
    /// was real: the resend from SND.UNA starts, in slow start with a window of no more
    /// than three segments (what slow start would have reached in the two round trips
    /// since the timeout).
    #[cold]
    #[inline(never)]
    pub(super) fn frto_on_dupack(&mut self) {
        match self.lp.frto {
            Frto::First if self.options.sack_ok => return,
            Frto::Second => {
                self.cc.limit_window(3 * u32::from(self.mss));
                self.snd_next = self.snd_una;
            }
            Frto::First | Frto::Off => {}
        }
        self.lp.frto = Frto::Off;
    }
}
