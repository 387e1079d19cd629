//! The urgent mechanism, RFC 9293 3.8.5: "new applications SHOULD NOT employ the TCP
//! urgent mechanism (SHLD-13). However, TCP implementations MUST still include support
//! for the urgent mechanism (MUST-30)."
//!
//! The urgent data stays in line: it is read with the rest of the stream, and the
//! urgent pointer only says where it ends (RFC 6093 recommends exactly that; the
//! "out-of-band" byte of the BSD socket API is not TCP's). The pointer points to the
//! octet following the urgent data (MUST-62), on both sides.

use super::{Conn, Ctx};
use crate::error::Error;
use crate::event::Event;
use crate::seq::SeqNum;
use crate::state::State;
use crate::wire::{TcpFlags, TcpHeader};

impl Conn {
    /// SEND with the urgent flag (RFC 9293 3.10.2): `data` is queued as [`Conn::send`]
    /// queues it, and its last octet ends the urgent data: "If the urgent flag is set,
    /// then SND.UP <- SND.NXT and set the urgent pointer in the outgoing segments" (with
    /// SND.NXT there the end of what SEND has queued). When only part of `data` fits,
    /// the urgent data ends with that part.
    pub(crate) fn send_urgent(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Result<usize, Error> {
        let n = self.send(ctx, data)?;
        if n > 0 {
            self.snd_up = Some(self.snd_una + self.syn_unacked() + self.tx.len() as u32);
        }
        Ok(n)
    }

    /// Mark an outgoing segment as urgent while SND.UP lies beyond it: the URG bit, and
    /// the urgent field that "must be added to the segment sequence number to yield
    /// the urgent pointer" (3.8.5). A pointer further than the 16-bit field reaches is
    /// sent as 65535, the furthest it can say; the exact one follows in later
    /// segments. Once SND.UNA has reached SND.UP, the urgent data is acknowledged and
    /// SND.UP is dropped. (Out of line: a sender of urgent data is rare, and the header
    /// of every segment only tests whether there is one.)
    #[cold]
    #[inline(never)]
    pub(super) fn mark_urgent(&mut self, hdr: &mut TcpHeader) {
        let Some(up) = self.snd_up else { return };
        if !self.snd_una.lt(up) {
            self.snd_up = None;
            return;
        }
        if hdr.seq.lt(up) {
            hdr.flags |= TcpFlags::URG;
            hdr.urgent = up.since(hdr.seq).min(u32::from(u16::MAX)) as u16;
        }
    }

    /// "Sixth, check the URG bit" (3.10.7.4), for ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2:
    /// "If the URG bit is set, RCV.UP <- max(RCV.UP,SEG.UP), and signal the user that
    /// the remote side has urgent data if the urgent pointer (RCV.UP) is in advance of
    /// the data consumed. If the user has already been signaled (or is still in the
    /// "urgent mode") for this continuous sequence of urgent data, do not signal the
    /// user again." MUST-32 says when to signal: "whenever it receives an urgent
    /// pointer and there was previously no pending urgent data, or whenever the urgent
    /// pointer advances in the data stream" - so [`Event::Urgent`] is raised when
    /// RCV.UP moves forward and lies beyond what the application has read.
    ///
    /// In CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT: "This should not occur since a
    /// FIN has been received from the remote side. Ignore the URG."
    pub(crate) fn on_urgent(&mut self, ctx: &mut Ctx<'_>, seg_seq: SeqNum, seg_up: u16) {
        if !matches!(self.state, State::Established | State::FinWait1 | State::FinWait2) {
            return;
        }
        let up = seg_seq + u32::from(seg_up);
        let consumed = self.read_seq();
        // A pointer the application has read past says nothing any more (and, left
        // behind by 2^31 octets, would compare wrongly): only a pending one counts.
        let pending = self.rcv_up.filter(|u| u.gt(consumed));
        if pending.is_some_and(|u| !up.gt(u)) {
            return;
        }
        self.rcv_up = Some(up);
        if up.gt(consumed) && self.known_to_app() && ctx.cfg.error_reports {
            ctx.sinks.events.push_back(Event::Urgent(ctx.id));
        }
    }

    /// The octets of urgent data the application has not read yet: "a way for the
    /// application to learn how much urgent data remains to be read from the
    /// connection" (MUST-33). Zero when there is none (the connection is in "normal
    /// mode").
    pub(crate) fn urgent_pending(&self) -> u32 {
        let consumed = self.read_seq();
        self.rcv_up.filter(|u| u.gt(consumed)).map_or(0, |u| u.since(consumed))
    }

    /// The sequence number of the next octet the application reads: RCV.NXT less what
    /// waits in the receive buffer (and less the peer's FIN, once reached, which holds
    /// a sequence number but no octet).
    fn read_seq(&self) -> SeqNum {
        let fin = u32::from(self.peer_fin_reached());
        SeqNum(self.rcv_nxt.raw().wrapping_sub(self.rx.readable() as u32).wrapping_sub(fin))
    }
}
