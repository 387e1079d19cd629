//! Bytes <-> types: IPv4/IPv6 datagrams carrying TCP, TCP header and options, checksums.
//!
//! Parsing is hand-written rather than delegated to `etherparse`: the per-segment input
//! path must be zero-copy (the payload is a borrowed slice of the caller's buffer) and
//! must skip unknown TCP options by their length, where `etherparse` reports an error.
//! `etherparse` is still used in the tests, as an independent oracle for both directions.
//!
//! Nothing here panics on any input: every malformed datagram is a typed [`WireError`].

#[cfg(target_arch = "x86_64")]
mod avx2;
mod checksum;
mod frag;
pub(crate) mod icmp;
pub use icmp::emit_icmp;
pub(crate) use icmp::icmp_message;
mod ip;
mod plain;
mod tcp;
mod template;

#[cfg(test)]
pub(crate) use checksum::sum_be;
pub use checksum::{checksum_finish, checksum_partial, copy_with_checksum, pseudo_header_sum};
pub(crate) use checksum::{copy_and_sum, fold64, sum_be_long};
pub(crate) use frag::{emit_piece, parse_fragment, reassembled, Fragment};
pub(crate) use ip::v4_flow_words;
pub use ip::{
    mark_ce, parse_ip, IpDatagram, ECN_CE, ECN_ECT0, ECN_MASK, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
};
pub(crate) use plain::{parse_plain_v4, PlainV4};
pub(crate) use tcp::emit_two;
pub(crate) use tcp::parse_unverified;
pub use tcp::{emit, emit_len, parse, parse_tcp};

/// The IP header fields the stack chooses for each datagram it sends: the TTL / hop
/// limit, and the Differentiated Services field: the DSCP in the high six bits (RFC
/// 2474), set by the application per connection (RFC 9293 3.9.1.9, MUST-48), and the
/// two ECN bits of RFC 3168, ECT(0) on the new data of a connection that negotiated
/// ECN (`Conn::ecn_new_data`) and zero on everything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpOut {
    pub(crate) ttl: u8,
    pub(crate) ds: u8,
}
pub(crate) use template::Template;

use crate::seq::SeqNum;
use core::fmt;
use std::net::IpAddr;

/// The TCP control bits (RFC 9293 3.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: no more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN: synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST: reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH: push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK: acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// URG: urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECE: ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// CWR: congestion window reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// No flag set.
    pub const NONE: TcpFlags = TcpFlags(0);

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// SYN set?
    pub const fn syn(self) -> bool {
        self.0 & 0x02 != 0
    }
    /// FIN set?
    pub const fn fin(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// RST set?
    pub const fn rst(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// ACK set?
    pub const fn ack(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// PSH set?
    pub const fn psh(self) -> bool {
        self.0 & 0x08 != 0
    }
    /// URG set?
    pub const fn urg(self) -> bool {
        self.0 & 0x20 != 0
    }
}

impl core::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}

impl core::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, o: TcpFlags) {
        self.0 |= o.0;
    }
}

impl fmt::Display for TcpFlags {
    /// Flags as tcpdump prints them: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, `FP.`, ...
    /// (S, F, P, R, U, E, W in that order, then `.` for ACK; `none` when empty).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = heapless_flags(*self);
        if s.is_empty() {
            s.push_str("none");
        }
        f.write_str(&s)
    }
}

fn heapless_flags(fl: TcpFlags) -> String {
    let mut s = String::with_capacity(8);
    for (bit, c) in [
        (TcpFlags::SYN, 'S'),
        (TcpFlags::FIN, 'F'),
        (TcpFlags::PSH, 'P'),
        (TcpFlags::RST, 'R'),
        (TcpFlags::URG, 'U'),
        (TcpFlags::ECE, 'E'),
        (TcpFlags::CWR, 'W'),
        (TcpFlags::ACK, '.'),
    ] {
        if fl.contains(bit) {
            s.push(c);
        }
    }
    s
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One SACK block (RFC 2018), raw sequence numbers: left edge inclusive, right exclusive.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNum,
    /// Sequence number just past the block.
    pub right: SeqNum,
}

/// TCP timestamps option (RFC 7323 3).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Timestamps {
    /// TSval.
    pub val: u32,
    /// TSecr.
    pub ecr: u32,
}

/// How [`emit`] lays the options out on the wire: which order, and what pads them.
///
/// RFC 9293 3.2 leaves both open ("Options may occupy space at the end of the TCP
/// header ... the end of the option list ... may not coincide with the end of the TCP
/// header"), and RFC 7323 Appendix A only recommends aligning the timestamps. Peers
/// must accept any layout; tests that compare segments byte for byte with a given
/// system (packetdrill scripts) need that system's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[non_exhaustive]
pub enum OptionLayout {
    /// Linux's `tcp_options_write`: every option 4-byte aligned by NOPs; MSS;
    /// SACK-permitted with timestamps (or NOP NOP before either alone); NOP window
    /// scale; NOP NOP SACK. A SYN reads `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`.
    #[default]
    Linux,
    /// FreeBSD's `tcp_addoptions`: MSS; window scale after one NOP; SACK-permitted;
    /// timestamps aligned to 2 mod 4 by NOPs; SACK aligned the same way; the list ends
    /// with EOL and is padded with zero bytes to a multiple of 4. A SYN reads `mss
    /// 1460,nop,wscale 6,sackOK,TS val 1 ecr 0`; a SYN,ACK answering `mss,sackOK` reads
    /// `mss 1460,sackOK,eol,eol`.
    Bsd,
}

/// The TCP options synack understands. Unknown options are skipped by their length on
/// input (their count is kept) and never emitted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2), only meaningful on SYNs.
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), only meaningful on SYNs.
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// Timestamps (kind 8).
    pub timestamps: Option<Timestamps>,
    /// SACK blocks (kind 5); only the first `sack_len` are valid.
    pub sack: [SackBlock; 4],
    /// Number of valid entries in `sack`.
    pub sack_len: u8,
    /// Number of options of unknown kind skipped while parsing.
    pub unknown: u8,
    /// How [`emit`] lays these options out. Not a property of the options themselves:
    /// parsing always yields [`OptionLayout::Linux`] (the default), whatever the bytes'
    /// order was.
    pub layout: OptionLayout,
}

impl TcpOptions {
    /// No options at all.
    pub const NONE: TcpOptions = TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        timestamps: None,
        sack: [SackBlock { left: SeqNum(0), right: SeqNum(0) }; 4],
        sack_len: 0,
        unknown: 0,
        layout: OptionLayout::Linux,
    };

    /// The valid SACK blocks.
    pub fn sack_blocks(&self) -> &[SackBlock] {
        &self.sack[..usize::from(self.sack_len.min(4))]
    }

    /// Whether no option is present.
    pub fn is_empty(&self) -> bool {
        self.mss.is_none()
            && self.window_scale.is_none()
            && !self.sack_permitted
            && self.timestamps.is_none()
            && self.sack_len == 0
    }

    /// The options as tcpdump prints them, in emission order: `mss 1460`, `sackOK`,
    /// `TS val 1 ecr 0`, `nop`, `wscale 7`, `sack 1:100` ... (`nop` and, in the BSD
    /// layout, `eol` entries are the padding [`emit`] writes).
    pub fn to_tcpdump_strings(&self) -> Vec<String> {
        tcp::options_tcpdump(self)
    }
}

/// A parsed (or to-be-emitted) TCP header, options decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TcpHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNum,
    /// Acknowledgment number (meaningful when ACK is set).
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// Raw (unscaled) window field.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
}

/// A parsed IP datagram carrying one TCP segment. Borrowed from the input buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// IP source address.
    pub src: IpAddr,
    /// IP destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The ECN field of the IP header (RFC 3168 5; see [`IpDatagram::ecn`]).
    pub ecn: u8,
    /// The TCP header.
    pub tcp: TcpHeader,
    /// The TCP payload.
    pub payload: &'a [u8],
}

/// Why a datagram could not be parsed or emitted. Malformed input, never a panic.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than the headers it claims.
    Truncated,
    /// IP version is neither 4 nor 6.
    BadVersion(u8),
    /// IPv4 IHL below 5, total length inconsistent, or TCP data offset below 5 / past
    /// the end.
    BadHeaderLength,
    /// A fragment (MF set or non-zero offset): not a datagram by itself. The stack
    /// reassembles fragments (`Config::max_reassembly_bytes`); [`parse_ip`] and the
    /// other parsers here take whole datagrams only.
    Fragmented,
    /// IPv4 header checksum wrong.
    BadIpChecksum,
    /// TCP checksum wrong.
    BadTcpChecksum,
    /// The datagram does not carry TCP (the protocol / next-header number).
    NotTcp(u8),
    /// An option's length byte is invalid (0, 1, past the header, or wrong for its kind).
    BadOption,
    /// An IPv6 extension header synack cannot honour (a routing header still to
    /// follow, hop-by-hop after another header, a chain of more than eight).
    UnsupportedExtension(u8),
    /// The output buffer is too small for the datagram.
    BufferTooSmall,
    /// Source and destination address families differ.
    AddressFamilyMismatch,
    /// The options do not fit in 40 bytes, or the datagram exceeds 65535 bytes.
    TooLong,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated => write!(f, "datagram truncated"),
            WireError::BadVersion(v) => write!(f, "IP version {v} is not 4 or 6"),
            WireError::BadHeaderLength => write!(f, "inconsistent header length"),
            WireError::Fragmented => write!(f, "IP fragment, not a whole datagram"),
            WireError::BadIpChecksum => write!(f, "bad IPv4 header checksum"),
            WireError::BadTcpChecksum => write!(f, "bad TCP checksum"),
            WireError::NotTcp(p) => write!(f, "protocol {p} is not TCP"),
            WireError::BadOption => write!(f, "malformed TCP option"),
            WireError::UnsupportedExtension(h) => write!(f, "IPv6 extension header {h} not honoured"),
            WireError::BufferTooSmall => write!(f, "output buffer too small"),
            WireError::AddressFamilyMismatch => write!(f, "source and destination address families differ"),
            WireError::TooLong => write!(f, "options or datagram too long"),
        }
    }
}

impl std::error::Error for WireError {}
