//! A connection's response to an ICMP or ICMPv6 error about a segment it sent (RFC 9293
//! 3.9.2.2), and Path MTU Discovery (RFC 1191 for IPv4, RFC 8201 for IPv6).

use super::input::Outcome;
use super::{Conn, Ctx};
use crate::error::{ConnError, IcmpError};
use crate::event::Event;
use crate::seq::SeqNum;
use crate::state::State;
use crate::wire::icmp::IcmpAction;

/// The smallest path MTU an IPv4 "fragmentation needed" message may set: 576 bytes,
/// the datagram every host must accept (RFC 791 3.1, RFC 1122 3.3.3). RFC 1191 3 allows
/// estimates down to 68, but a forged message could then shrink every segment to a few
/// bytes (RFC 5927 7.2); since synack always sets DF, a path narrower than 576 is not
/// served.
pub(crate) const MIN_PMTU_V4: u32 = 576;
/// The smallest IPv6 path MTU: "a node MUST NOT reduce its estimate of the Path MTU
/// below the IPv6 minimum link MTU" (RFC 8201 4), 1280 bytes (RFC 8200 5).
pub(crate) const MIN_PMTU_V6: u32 = 1280;

impl Conn {
    /// An ICMP or ICMPv6 error quoting a segment of this connection with sequence
    /// number `seq`: `None` when it is ignored (the quoted sequence number has no
    /// segment in flight, or the message does not apply in this state); otherwise what
    /// follows, as after a segment.
    ///
    /// RFC 5927 4.1 first: "TCP SHOULD check that the TCP sequence number contained in
    /// the payload of the ICMP error message is within the range SND.UNA =< SEG.SEQ <
    /// SND.NXT." An attacker who does not see the connection cannot then forge an
    /// error for it blindly; and an error about a segment already acknowledged says
    /// nothing about the path now.
    pub(crate) fn on_icmp(&mut self, ctx: &mut Ctx<'_>, action: IcmpAction, seq: SeqNum) -> Option<Outcome> {
        if !(self.snd_una.le(seq) && seq.lt(self.snd_nxt)) {
            return None;
        }
        let opening = matches!(self.state, State::SynSent | State::SynReceived);
        match action {
            IcmpAction::TooBig(mtu) => {
                // A SYN or SYN,ACK is never too big for the smallest MTU; the MSS is
                // settled by the handshake.
                if opening || !self.reduce_path_mtu(mtu) {
                    return None;
                }
                ctx.sinks.stats.pmtu_reductions += 1;
                Some(Outcome::None)
            }
            IcmpAction::Hard(error) if opening => {
                self.report_icmp(ctx, error);
                // "TCP implementations SHOULD abort the connection (SHLD-26)."
                if self.state == State::SynReceived && self.listener.is_some() {
                    // A passive embryo returns to LISTEN as it does on a RST (3.10.7.4
                    // second check): the application never knew it.
                    self.cancel_all_timers(ctx);
                    return Some(Outcome::Discard);
                }
                self.close_with(ctx, Some(ConnError::Unreachable(error)));
                Some(Outcome::Closed)
            }
            // Synchronized: a hard error is reported as a soft one. RFC 9293 3.9.2.2
            // notes that "some implementations do not abort connections when an ICMP
            // hard error is received for a connection that is in any of the
            // synchronized states"; RFC 5927 7 recommends it, as such an error
            // is more likely forged than true once the peer has answered.
            IcmpAction::Hard(error) | IcmpAction::Soft(error) => {
                // "a TCP implementation MUST NOT abort the connection (MUST-56), and it
                // SHOULD make the information available to the application (SHLD-25)."
                self.report_icmp(ctx, error);
                Some(Outcome::None)
            }
        }
    }

    /// Keep `error` for `ConnInfo::icmp_error` and raise [`Event::IcmpError`], unless
    /// the connection is a passive one not yet in its listener's accept queue (the
    /// application does not know it).
    fn report_icmp(&mut self, ctx: &mut Ctx<'_>, error: IcmpError) {
        self.last_icmp = Some(error);
        if self.known_to_app() && ctx.cfg.error_reports {
            ctx.sinks.events.push_back(Event::IcmpError { conn: ctx.id, error });
        }
    }

    /// Path MTU Discovery: the path carries datagrams of at most `mtu` bytes. The MSS
    /// goes down to fit (never up: RFC 1191 6.3, RFC 8201 4 "a node MUST NOT increase
    /// its estimate of the Path MTU in response to the contents of a Packet Too Big
    /// message") and not below what [`MIN_PMTU_V4`] and [`MIN_PMTU_V6`] carry. Returns
    /// whether it went down.
    ///
    /// The segments in flight that no longer fit were dropped by the router that
    /// answered, so sending goes back to SND.UNA at once, in segments of the new size
    /// (RFC 1191 6.5: "the TCP layer should ... retransmit"), without the congestion
    /// response or the timer backoff of a timeout: nothing was lost to congestion.
    fn reduce_path_mtu(&mut self, mtu: u32) -> bool {
        let v6 = self.tuple.remote.is_ipv6();
        let (ip_header, floor) = if v6 { (40, MIN_PMTU_V6) } else { (20, MIN_PMTU_V4) };
        // Eff.snd.MSS = min(SendMSS+20, MMS_S) - TCPhdrsize - IPoptionsize (3.7.1), with
        // MMS_S the largest datagram the path carries less the IP header.
        let mss = mtu.max(floor) - ip_header - 20 - u32::from(self.ts_option_len());
        let Ok(mss) = u16::try_from(mss) else { return false };
        if !self.lower_mss(mss) {
            return false;
        }
        // Sent again from SND.UNA, as after a timeout but for the congestion state (see
        // above).
        self.resend_from_una();
        true
    }
}
