//! Errors, grouped by who is at fault.
//!
//! - [`crate::wire::WireError`]: malformed input (counted and dropped by the stack);
//! - [`UsageError`]: the application misused the API;
//! - [`ConnError`]: a connection's outcome (refused, reset, timed out);
//! - [`Error::WouldBlock`]: nothing can be done now; try again after an event.
//!
//! Protocol violations by the peer are answered on the wire (RST, challenge ACK) and
//! counted in [`crate::StackStats`]; they never reach the application as errors except
//! as the outcome they cause.

use crate::state::State;
use core::fmt;

/// The application misused the API.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum UsageError {
    /// The connection handle is unknown or was released.
    UnknownConnection,
    /// The listener handle is unknown or was closed.
    UnknownListener,
    /// The local address is already listening, or the 4-tuple is in use.
    AddrInUse,
    /// The stack owns no address of the remote's family.
    NoLocalAddress,
    /// Every ephemeral port towards that remote is in use (or in TIME-WAIT).
    PortsExhausted,
    /// `max_connections` reached.
    ConnectionLimit,
    /// The call is not valid in this state (e.g. SEND after CLOSE: "connection
    /// closing", RFC 9293 3.10.2).
    InvalidState(State),
    /// An address that cannot be used (unspecified remote, port 0, ...).
    InvalidAddress,
    /// An argument outside its range (a DSCP above 63, ...).
    InvalidValue,
}

/// How a connection ended, when it did not end normally.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum ConnError {
    /// Our SYN was answered by a RST ("connection refused", RFC 9293 3.10.7.3).
    Refused,
    /// The peer reset the connection ("connection reset", 3.10.7.4).
    Reset,
    /// Retransmissions went unanswered past the limit (RFC 9293 3.8.3, R2).
    TimedOut,
    /// The application aborted the connection.
    Aborted,
    /// An ICMP or ICMPv6 hard error ended the connection while it was being opened
    /// (RFC 9293 3.9.2.2, "TCP implementations SHOULD abort the connection (SHLD-26)";
    /// 3.8.3: "An attempt to open a TCP connection could fail with ... an ICMP Port
    /// Unreachable").
    Unreachable(IcmpError),
}

/// What an ICMP (RFC 792) or ICMPv6 (RFC 4443) error message said about the path to
/// the peer, as reported with [`crate::Event::IcmpError`] (RFC 9293 3.9.1.8: the
/// conditions reported to the application "MUST include: ICMP error message arrived").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum IcmpError {
    /// Destination Unreachable: network unreachable or unknown (ICMP codes 0, 6, 11),
    /// no route or beyond the source's scope (ICMPv6 codes 0, 2). Soft.
    NetworkUnreachable,
    /// Destination Unreachable: host unreachable or unknown (ICMP codes 1, 7, 8, 12),
    /// address unreachable (ICMPv6 code 3). Soft.
    HostUnreachable,
    /// Destination Unreachable: protocol unreachable (ICMP code 2). Hard.
    ProtocolUnreachable,
    /// Destination Unreachable: port unreachable (ICMP code 3, ICMPv6 code 4). Hard.
    PortUnreachable,
    /// Destination Unreachable: source route failed (ICMP code 5). Soft.
    SourceRouteFailed,
    /// Destination Unreachable: communication administratively prohibited or refused
    /// by precedence (ICMP codes 9, 10, 13-15; ICMPv6 codes 1, 5, 6). Soft.
    Prohibited,
    /// Time Exceeded (in transit or in reassembly). Soft.
    TimeExceeded,
    /// Parameter Problem. Soft.
    ParameterProblem,
}

impl fmt::Display for IcmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IcmpError::NetworkUnreachable => "network unreachable",
            IcmpError::HostUnreachable => "host unreachable",
            IcmpError::ProtocolUnreachable => "protocol unreachable",
            IcmpError::PortUnreachable => "port unreachable",
            IcmpError::SourceRouteFailed => "source route failed",
            IcmpError::Prohibited => "communication administratively prohibited",
            IcmpError::TimeExceeded => "time exceeded in transit",
            IcmpError::ParameterProblem => "parameter problem",
        })
    }
}

/// Any error the stack API returns.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The application misused the API.
    Usage(UsageError),
    /// The connection failed.
    Conn(ConnError),
    /// Not now: no data to read / no buffer space to write.
    WouldBlock,
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

impl From<ConnError> for Error {
    fn from(e: ConnError) -> Self {
        Error::Conn(e)
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::UnknownConnection => write!(f, "unknown or released connection handle"),
            UsageError::UnknownListener => write!(f, "unknown or closed listener handle"),
            UsageError::AddrInUse => write!(f, "address already in use"),
            UsageError::NoLocalAddress => write!(f, "no local address of the remote's family"),
            UsageError::PortsExhausted => write!(f, "no free ephemeral port"),
            UsageError::ConnectionLimit => write!(f, "connection limit reached"),
            UsageError::InvalidState(s) => write!(f, "not allowed in state {s}"),
            UsageError::InvalidAddress => write!(f, "invalid address"),
            UsageError::InvalidValue => write!(f, "value out of range"),
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Refused => write!(f, "connection refused"),
            ConnError::Reset => write!(f, "connection reset"),
            ConnError::TimedOut => write!(f, "connection timed out"),
            ConnError::Aborted => write!(f, "connection aborted"),
            ConnError::Unreachable(e) => write!(f, "destination unreachable (ICMP: {e})"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(e) => write!(f, "usage error: {e}"),
            Error::Conn(e) => write!(f, "{e}"),
            Error::WouldBlock => write!(f, "operation would block"),
        }
    }
}

impl std::error::Error for UsageError {}
impl std::error::Error for ConnError {}
impl std::error::Error for IcmpError {}
impl std::error::Error for Error {}
