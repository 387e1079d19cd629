//! ICMP and ICMPv6 errors in: to the connection they name (RFC 9293 3.9.2.2, "TCP
//! implementations MUST act on an ICMP error message passed up from the IP layer,
//! directing it to the connection that created the error (MUST-54)").

use super::Stack;
use crate::wire::icmp::parse_icmp_error;
use crate::wire::IpDatagram;

impl Stack {
    /// An ICMP or ICMPv6 datagram (`ip`, parsed, its protocol one of the two): an
    /// error about a segment of one of our connections is handed to it
    /// (`Conn::on_icmp`); anything else is counted in `icmp_ignored` and dropped.
    /// (Out of line and cold: never on the path of a TCP segment.)
    #[cold]
    #[inline(never)]
    pub(super) fn icmp_input(&mut self, ip: &IpDatagram<'_>) {
        match self.icmp_act(ip) {
            Some(()) => self.sinks.stats.icmp_errors += 1,
            None => self.sinks.stats.icmp_ignored += 1,
        }
    }

    /// [`Stack::icmp_input`]'s work: `None` when nothing was done.
    fn icmp_act(&mut self, ip: &IpDatagram<'_>) -> Option<()> {
        if !self.addressed_here(ip.dst) {
            return None;
        }
        let msg = parse_icmp_error(ip).ok()?;
        // "The necessary demultiplexing information can be found in the IP header
        // contained within the ICMP message": the quoted segment went from us (its
        // source) to the peer. A connection in TIME-WAIT has nothing in flight.
        let (local, remote) = (msg.local, msg.remote);
        let idx =
            self.by_tuple.lookup_parts(local.ip(), local.port(), remote.ip(), remote.port(), &self.slots)?;
        let outcome = self.with_conn(idx, |c, ctx| c.on_icmp(ctx, msg.action, msg.seq))??;
        // (A lower path MTU leaves `Outcome::None`: the connection is queued to resend.)
        self.after_conn(idx, outcome);
        Some(())
    }
}
