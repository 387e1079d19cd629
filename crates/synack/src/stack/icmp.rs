//! ICMP and ICMPv6 in: errors to the connection they name (RFC 9293 3.9.2.2, "TCP
//! implementations MUST act on an ICMP error message passed up from the IP layer,
//! directing it to the connection that created the error (MUST-54)"), and Echo
//! Requests answered (RFC 1122 3.2.2.6, RFC 4443 4.1).

use super::Stack;
use crate::conn::{IcmpOut, Outgoing, MAX_CONTROL_QUEUE};
use crate::wire::icmp::parse_icmp_error;
use crate::wire::{
    checksum_finish, checksum_partial, icmp_message, pseudo_header_sum, IpDatagram, IPPROTO_ICMPV6,
};
use core::hash::BuildHasher;
use std::net::IpAddr;

/// ICMP Echo Request and Echo Reply types (RFC 792).
const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;
/// ICMPv6 Echo Request and Echo Reply types (RFC 4443 4.1, 4.2).
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

impl Stack {
    /// An ICMP or ICMPv6 datagram (`ip`, parsed, its protocol one of the two): an
    /// error about a segment of one of our connections is handed to it
    /// (`Conn::on_icmp`); anything else is counted in `icmp_ignored` and dropped.
    /// (Out of line and cold: never on the path of a TCP segment.)
    #[cold]
    #[inline(never)]
    pub(super) fn icmp_input(&mut self, ip: &IpDatagram<'_>) {
        if self.echo_request(ip) {
            return;
        }
        match self.icmp_act(ip) {
            Some(()) => self.sinks.stats.icmp_errors += 1,
            None => self.sinks.stats.icmp_ignored += 1,
        }
    }

    /// Answer `ip` if it is an Echo Request to us, and say whether it was one (answered,
    /// or dropped for want of room). RFC 1122 3.2.2.6: "Every host MUST implement an ICMP
    /// Echo server function that receives Echo Requests and sends corresponding Echo
    /// Replies"; RFC 4443 4.1, likewise for ICMPv6. The reply:
    /// - comes from the address the request was sent to: "The IP source address in an
    ///   ICMP Echo Reply MUST be the same as the specific-destination address ... of the
    ///   corresponding ICMP Echo Request message" (RFC 1122 3.2.2.6; RFC 4443 4.2 says
    ///   the same of a unicast request);
    /// - carries the identifier, sequence number and data unchanged: "Data received in
    ///   an ICMP Echo Request MUST be entirely included in the resulting Echo Reply"
    ///   (RFC 1122 3.2.2.6), "returned entirely and unmodified" (RFC 4443 4.2), so a
    ///   reply larger than the MTU leaves in fragments (`Stack::transmit_icmp`).
    ///
    /// Not answered (false, and then counted in `icmp_ignored`): a bad checksum (RFC
    /// 1122 3.2.2: silently discarded), a request for another host or from an address
    /// no host can have, a code other than 0, or any request when
    /// [`crate::Config::max_echo_reply_bytes`] is 0. IPv4 options of the request (Record
    /// Route, Timestamp; RFC 1122 3.2.2.6 SHOULDs) are not reflected: the reply has
    /// none.
    fn echo_request(&mut self, ip: &IpDatagram<'_>) -> bool {
        let (request, reply) =
            if ip.src.is_ipv4() { (ECHO_REQUEST, ECHO_REPLY) } else { (ECHO_REQUEST_V6, ECHO_REPLY_V6) };
        let msg = ip.payload;
        let Some(head) = msg.first_chunk::<8>() else { return false };
        if head[0] != request || head[1] != 0 || self.cfg.max_echo_reply_bytes == 0 {
            return false;
        }
        if !self.addressed_here(ip.dst) || !super::input::valid_endpoints(ip.src, ip.dst) {
            return false;
        }
        let pseudo = match ip.src {
            IpAddr::V4(_) => 0,
            IpAddr::V6(_) => pseudo_header_sum(ip.src, ip.dst, IPPROTO_ICMPV6, msg.len() as u32),
        };
        if checksum_finish(checksum_partial(msg, pseudo)) != 0 {
            return false;
        }
        if self.icmp_queued + msg.len() > self.cfg.max_echo_reply_bytes {
            self.sinks.stats.control_dropped += 1;
            return true;
        }
        let rest = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        // (Always a message: the request's own size and addresses fit one.)
        if let Some(out) = icmp_message(ip.dst, ip.src, (reply, 0), rest, &msg[8..]) {
            if self.queue_icmp(ip.dst, ip.src, out) {
                self.sinks.stats.echo_replies += 1;
            }
        }
        true
    }

    /// Put the ICMP message `msg` from `src` to `dst` in the control queue; false when
    /// the bounded queue is full and it was dropped (counted in `control_dropped`, as a
    /// control segment would be).
    pub(super) fn queue_icmp(&mut self, src: IpAddr, dst: IpAddr, msg: Vec<u8>) -> bool {
        if self.sinks.control.len() >= MAX_CONTROL_QUEUE {
            self.sinks.stats.control_dropped += 1;
            return false;
        }
        // The Identification of its fragments, should it need any: a keyed hash of a
        // count, unpredictable to others (RFC 7739 for IPv6; RFC 6864 4.1 asks only
        // that it not repeat too soon between the same addresses, which 2^16 values of
        // a hash do not promise for IPv4, nor any way of choosing 16 bits).
        self.icmp_ids += 1;
        let id = self.keys.hash_one(("fragment id", self.icmp_ids)) as u32;
        self.icmp_queued += msg.len();
        let m = IcmpOut { src, dst, msg, id, sent: 0 };
        self.sinks.control.push_back(Outgoing::Icmp(Box::new(m)));
        true
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
