//! Inbound ICMP lines (`< [a:b(n)] icmp unreachable frag_needed mtu 1500`): an ICMP
//! message from the remote host about a TCP segment the stack sent, which synack acts on
//! as RFC 9293 3.9.2.2 says (the core's `wire/icmp.rs`, `conn/icmp.rs`).
//!
//! As packetdrill builds it: the quoted segment goes from the stack to the remote, its
//! sequence numbers relative to the stack's ISN (0 when the line gives none), and the
//! message quotes its IP header and its TCP header (more than the "first 64 bits of
//! the original datagram's data" RFC 792 requires).

use super::engine::{Runner, Step, Stop};
use super::wire::{self, Inbound};
use crate::ast::{Event, IcmpSpec, SeqSpec};
use synack::wire::emit_icmp;
use synack::Instant;

/// packetdrill's names of ICMP types (RFC 792, RFC 950 for the address masks).
const TYPES: [(&str, u8); 13] = [
    ("echo_reply", 0),
    ("unreachable", 3),
    ("source_quench", 4),
    ("redirect", 5),
    ("echo_request", 8),
    ("time_exceeded", 11),
    ("parameter_problem", 12),
    ("timestamp_request", 13),
    ("timestamp_reply", 14),
    ("information_request", 15),
    ("information_reply", 16),
    ("address_mask_request", 17),
    ("address_mask_reply", 18),
];

/// packetdrill's names of Destination Unreachable codes (RFC 792, RFC 1122, RFC 1812).
const UNREACHABLE_CODES: [&str; 16] = [
    "net_unreachable",
    "host_unreachable",
    "protocol_unreachable",
    "port_unreachable",
    "frag_needed",
    "source_route_failed",
    "net_unknown",
    "host_unknown",
    "source_host_isolated",
    "net_prohibited",
    "host_prohibited",
    "net_unreachable_for_tos",
    "host_unreachable_for_tos",
    "packet_filtered",
    "precedence_violation",
    "precedence_cutoff",
];

/// A name or `PREFIX_N` (`type_3`, `code_255`).
fn named_or_numbered<'a>(
    word: &str,
    prefix: &str,
    mut names: impl Iterator<Item = (&'a str, u8)>,
) -> Option<u8> {
    match word.strip_prefix(prefix).and_then(|n| n.parse().ok()) {
        Some(n) => Some(n),
        None => names.find(|&(name, _)| name == word).map(|(_, v)| v),
    }
}

/// The ICMP type and code of a line.
fn type_and_code(spec: &IcmpSpec) -> Result<(u8, u8), String> {
    let kind = named_or_numbered(&spec.type_name, "type_", TYPES.iter().copied())
        .ok_or_else(|| format!("unknown ICMP type `{}`", spec.type_name))?;
    let code = match &spec.code_name {
        None => 0,
        Some(c) => {
            let names = UNREACHABLE_CODES.iter().copied().zip(0u8..).filter(|_| kind == 3);
            named_or_numbered(c, "code_", names).ok_or_else(|| format!("unknown ICMP code `{c}`"))?
        }
    };
    Ok((kind, code))
}

impl Runner {
    /// Injects an inbound ICMP line.
    pub(crate) fn inject_icmp(&mut self, ev: &Event, spec: &IcmpSpec) -> Step {
        let (kind, code) =
            type_and_code(spec).map_err(|e| Stop::skip(ev.line, format!("script error: {e}")))?;
        // The quoted segment: from the stack (the inbound line's destination) to the
        // remote (its source).
        let (remote, local) = self.inbound_endpoints();
        if !remote.is_ipv4() {
            return Err(Stop::skip(ev.line, "ICMPv6 lines are not supported by the runner"));
        }
        let (start, len) = match spec.quoted_seq {
            Some(SeqSpec::Range { start, len, .. }) => (start, len),
            Some(SeqSpec::Any { len }) => (0, len),
            None => (0, 0),
        };
        // The stack's own segment as it sent it, by the builder of inbound lines (its
        // IPv4 total length counts the payload); quoted up to the end of its TCP header.
        let quoted = wire::build(&Inbound {
            src: local,
            dst: remote,
            flags: 0x10,
            seq: self.local_isn.unwrap_or(0).wrapping_add(start),
            ack: 0,
            win: 0,
            urg: 0,
            options: Vec::new(),
            payload_len: len as usize,
            ttl: 64,
            tos: 0,
        })
        .map_err(|e| Stop::skip(ev.line, format!("script error: {e}")))?;
        // The second word: the next-hop MTU of "fragmentation needed" (RFC 1191 4).
        let mtu = spec.mtu.unwrap_or(0).min(u32::from(u16::MAX));
        let mut datagram = vec![0u8; 20 + 8 + 40];
        let n = emit_icmp(&mut datagram, remote.ip(), local.ip(), 64, (kind, code), mtu, &quoted[..40])
            .map_err(|e| Stop::skip(ev.line, format!("script error: {e}")))?;
        datagram.truncate(n);
        let now = Instant::from_micros(self.now);
        self.stack().handle_packet(now, &datagram);
        self.drain()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(t: &str, c: Option<&str>) -> IcmpSpec {
        IcmpSpec { type_name: t.into(), code_name: c.map(Into::into), mtu: None, quoted_seq: None }
    }

    #[test]
    fn names_and_numbers_give_the_type_and_code() {
        assert_eq!(type_and_code(&spec("unreachable", Some("frag_needed"))), Ok((3, 4)));
        assert_eq!(type_and_code(&spec("unreachable", Some("precedence_cutoff"))), Ok((3, 15)));
        assert_eq!(type_and_code(&spec("unreachable", Some("code_255"))), Ok((3, 255)));
        assert_eq!(type_and_code(&spec("source_quench", None)), Ok((4, 0)));
        assert_eq!(type_and_code(&spec("type_255", Some("code_0"))), Ok((255, 0)));
        assert!(type_and_code(&spec("no_such_type", None)).is_err());
        // Unreachable's code names belong to it alone.
        assert!(type_and_code(&spec("time_exceeded", Some("frag_needed"))).is_err());
    }
}
