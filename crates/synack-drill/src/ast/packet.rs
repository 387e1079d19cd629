//! Packet lines: `< S 0:0(0) win 32767 <mss 1460,sackOK>` and friends.

/// Which way a packet travels, seen from the stack under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `<`: the script injects the packet into the stack.
    Inbound,
    /// `>`: the script expects the stack to send the packet.
    Outbound,
}

/// A packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketSpec {
    /// `<` or `>`.
    pub direction: Direction,
    /// ECN codepoint from a `[ect0]`-style prefix, if any.
    pub ecn: Option<EcnCodepoint>,
    /// IP header fields from a `(ttl 64)`-style prefix, in source order.
    pub ip_fields: Vec<IpField>,
    /// The transport part.
    pub body: PacketBody,
}

/// ECN codepoint of the IP header, written in brackets after the direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EcnCodepoint {
    /// `[noecn]`: Not-ECT (00).
    NotEct,
    /// `[ect0]`: ECT(0) (10).
    Ect0,
    /// `[ect1]`: ECT(1) (01).
    Ect1,
    /// `[ect01]`: either ECT(0) or ECT(1).
    Ect01,
    /// `[ce]`: Congestion Experienced (11).
    Ce,
    /// Any other word, kept verbatim.
    Other(String),
}

impl EcnCodepoint {
    pub(crate) fn from_word(word: &str) -> Self {
        match word {
            "noecn" => Self::NotEct,
            "ect0" => Self::Ect0,
            "ect1" => Self::Ect1,
            "ect01" => Self::Ect01,
            "ce" => Self::Ce,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One IP header field from a `(name value, ...)` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpField {
    /// `ttl N` (IPv4 time to live).
    Ttl(u8),
    /// `tos N` (IPv4 type of service byte).
    Tos(u8),
    /// `class N` (IPv6 traffic class).
    TrafficClass(u8),
    /// `hlim N` (IPv6 hop limit).
    HopLimit(u8),
    /// `flowlabel N` (IPv6 flow label, 20 bits).
    FlowLabel(u32),
    /// Any other `name value` pair.
    Other {
        /// The field name.
        name: String,
        /// The value.
        value: u64,
    },
}

/// The transport part of a packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketBody {
    /// A TCP segment.
    Tcp(TcpSegment),
    /// An ICMP message (e.g. `icmp unreachable frag_needed mtu 1500`).
    Icmp(IcmpSpec),
    /// Some other protocol (UDP, SCTP, ...) this parser does not model.
    Unsupported(UnsupportedPacket),
}

/// TCP header flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    /// `S`
    pub syn: bool,
    /// `F`
    pub fin: bool,
    /// `R`
    pub rst: bool,
    /// `P`
    pub psh: bool,
    /// `.`
    pub ack: bool,
    /// `U`
    pub urg: bool,
    /// `E` (ECN-Echo)
    pub ece: bool,
    /// `W` (Congestion Window Reduced)
    pub cwr: bool,
}

impl TcpFlags {
    /// Sets the flag for one flag letter; returns `false` for an unknown
    /// letter.
    pub fn set_letter(&mut self, c: char) -> bool {
        let slot = match c {
            'S' => &mut self.syn,
            'F' => &mut self.fin,
            'R' => &mut self.rst,
            'P' => &mut self.psh,
            '.' => &mut self.ack,
            'U' => &mut self.urg,
            'E' => &mut self.ece,
            'W' => &mut self.cwr,
            _ => return false,
        };
        *slot = true;
        true
    }

    /// Whether `c` is a flag letter (`.` included).
    pub fn is_letter(c: char) -> bool {
        matches!(c, 'S' | 'F' | 'R' | 'P' | '.' | 'U' | 'E' | 'W')
    }
}

/// The sequence-number part of a TCP packet line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqSpec {
    /// `start:end(len)`, with `end == start + len` (mod 2^32).
    Range {
        /// First sequence number.
        start: u32,
        /// Sequence number after the payload.
        end: u32,
        /// Payload length in bytes.
        len: u32,
    },
    /// `...(len)`: any sequence number, payload of `len` bytes.
    Any {
        /// Payload length in bytes.
        len: u32,
    },
}

impl SeqSpec {
    /// Payload length.
    pub fn len(&self) -> u32 {
        match self {
            SeqSpec::Range { len, .. } | SeqSpec::Any { len } => *len,
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The starting sequence number, unless it is a wildcard.
    pub fn start(&self) -> Option<u32> {
        match self {
            SeqSpec::Range { start, .. } => Some(*start),
            SeqSpec::Any { .. } => None,
        }
    }
}

/// A TCP segment line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSegment {
    /// Header flags (`S.`, `F.`, `.`, `-` for none, ...).
    pub flags: TcpFlags,
    /// Sequence numbers and payload length.
    pub seq: SeqSpec,
    /// A `!` right after the sequence part. It appears in the FreeBSD suite
    /// on expected RSTs that answer a segment without ACK (e.g.
    /// `> R. 0:0(0)! ack 2`); it marks the sequence number as absolute
    /// rather than relative to the connection's initial sequence number.
    pub absolute_seq: bool,
    /// `ack N`.
    pub ack: Option<u32>,
    /// `win N`.
    pub win: Option<u16>,
    /// `urg N` (urgent pointer).
    pub urg: Option<u16>,
    /// The `<...>` option list; `None` when the line has none.
    pub options: Option<TcpOptions>,
    /// `/udp(src > dst)`: the segment is UDP-encapsulated (RFC 6951 style).
    pub udp_encap: Option<UdpEncap>,
}

/// The TCP option list of a packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptions {
    /// `<...>`: any options are acceptable (outbound) / no check.
    Any,
    /// An explicit list, in wire order.
    List(Vec<TcpOption>),
}

/// One TCP option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// `nop`
    Nop,
    /// `eol`
    Eol,
    /// `mss N`
    Mss(u16),
    /// `wscale N`
    WindowScale(u8),
    /// `sackOK`
    SackPermitted,
    /// `sack a:b c:d ...`: SACK blocks as (left edge, right edge).
    Sack(Vec<(u32, u32)>),
    /// `TS val N ecr M`
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// `md5 valid` / `md5 invalid` (TCP-MD5 signature, RFC 2385).
    Md5 {
        /// Whether the signature must be (or is generated) valid.
        valid: bool,
    },
    /// Any other option, kept as raw text (e.g. `FO abcd`, `exp ...`).
    Unknown {
        /// The first word.
        name: String,
        /// The whole option text as written.
        raw: String,
    },
}

/// `/udp(src > dst)` after a TCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEncap {
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
}

/// An ICMP packet line, e.g. `< [1:1461(1460)] icmp unreachable frag_needed mtu 1500`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpSpec {
    /// The message type word (`unreachable`, `echo_request`, `type_3`, ...).
    pub type_name: String,
    /// The code word (`frag_needed`, `port_unreachable`, `code_1`, ...).
    pub code_name: Option<String>,
    /// `mtu N` for "fragmentation needed".
    pub mtu: Option<u32>,
    /// The TCP sequence range of the quoted packet, from `[a:b(n)]`.
    pub quoted_seq: Option<SeqSpec>,
}

/// A packet of a protocol this parser does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedPacket {
    /// The protocol word, e.g. `udp` or `sctp`.
    pub protocol: String,
    /// The rest of the line after the protocol word, as written.
    pub raw: String,
}
