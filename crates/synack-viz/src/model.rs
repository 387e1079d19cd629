//! The trace line model: one [`TraceLine`] per line of the JSON Lines trace.
//!
//! The serialized form is the contract of DESIGN.md, "The trace", which other tools read;
//! it must not drift. Every line is one JSON object whose first two keys are `t_us`
//! (microseconds since the start of the run) and `ev` (the event kind):
//!
//! | ev | fields |
//! |---|---|
//! | `state` | `host`, `conn`, `from`, `to` (RFC state names) |
//! | `send` / `recv` | `host`, `conn`, `seg`, and on `send` `retransmit` (bool) |
//! | `drop` / `dup` / `corrupt` / `deliver` | `link` ("client->server"), `seg` |
//! | `app` | `host`, `conn`, `call`, `bytes` |
//! | `timer` | `host`, `conn`, `timer`, `action`, `at_us` |
//!
//! Besides the serialized fields, `send` lines and link events carry in-memory data the
//! simulator fills and the pcapng writer uses: a `packet_id` naming one IP datagram on
//! its way through the links, and on `send` lines the exact datagram bytes. Neither is
//! ever written to JSON.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use synack::{SegmentSummary, TraceEvent, TraceRecord};

/// One line of the trace: when, and what.
///
/// Serializes to `{"t_us":…,"ev":"…",…}` with the event's fields after `ev`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLine {
    /// Microseconds since the start of the run (virtual or real).
    pub t_us: u64,
    /// The event; its kind is the `ev` key.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened, tagged by the `ev` key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Event {
    /// A connection changed state (`ev: "state"`).
    State(StateEvent),
    /// A host's stack sent a segment (`ev: "send"`).
    Send(SendEvent),
    /// A host's stack accepted a segment (`ev: "recv"`).
    Recv(RecvEvent),
    /// A link lost a segment (`ev: "drop"`).
    Drop(LinkEvent),
    /// A link duplicated a segment (`ev: "dup"`).
    Dup(LinkEvent),
    /// A link damaged a segment (`ev: "corrupt"`).
    Corrupt(LinkEvent),
    /// A link handed a segment to the receiving host (`ev: "deliver"`).
    Deliver(LinkEvent),
    /// An application called the stack (`ev: "app"`).
    App(AppEvent),
    /// A timer was set, fired or cancelled (`ev: "timer"`).
    Timer(TimerEvent),
    /// A core event kind this crate does not know yet (the core's enum is
    /// non-exhaustive). Holds the host and a debug rendering of the event. It is never
    /// written to JSON (serializing it is an error; [`crate::jsonl`] skips it) and the
    /// diagrams ignore it.
    #[serde(skip)]
    Unknown {
        /// The host it happened on.
        host: String,
        /// `Debug` text of the core event.
        debug: String,
    },
}

/// A `state` event: `host`, `conn`, `from`, `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEvent {
    /// The host's name ("client", "server", ...).
    pub host: String,
    /// `LOCAL_IP:PORT-REMOTE_IP:PORT` from the host's own view.
    pub conn: String,
    /// Previous state, as RFC 9293 spells it (`SYN-SENT`, ...).
    pub from: String,
    /// New state, as RFC 9293 spells it.
    pub to: String,
}

/// A `send` event: `host`, `conn`, `seg`, `retransmit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEvent {
    /// The sending host.
    pub host: String,
    /// The connection, from the sender's view.
    pub conn: String,
    /// The segment.
    pub seg: Seg,
    /// Whether it repeats sequence space sent before.
    pub retransmit: bool,
    /// In memory only: the simulator's identifier of this datagram, shared with the link
    /// events that happen to it.
    #[serde(skip)]
    pub packet_id: Option<u64>,
    /// In memory only: the exact IP datagram bytes, for the pcapng capture.
    #[serde(skip)]
    pub packet: Option<Vec<u8>>,
}

/// A `recv` event: `host`, `conn`, `seg`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecvEvent {
    /// The receiving host.
    pub host: String,
    /// The connection, from the receiver's view.
    pub conn: String,
    /// The segment.
    pub seg: Seg,
}

/// A link event (`drop`, `dup`, `corrupt`, `deliver`): `link`, `seg`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEvent {
    /// The link's name, `"SENDER->RECEIVER"` (e.g. `"client->server"`).
    pub link: String,
    /// The segment it happened to.
    pub seg: Seg,
    /// In memory only: the datagram it happened to (the `packet_id` of its `send` line).
    #[serde(skip)]
    pub packet_id: Option<u64>,
}

/// An `app` event: `host`, `conn`, `call`, `bytes`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppEvent {
    /// The calling host.
    pub host: String,
    /// The connection (a listener's tuple for `listen`).
    pub conn: String,
    /// `listen`, `connect`, `accept`, `send`, `recv`, `shutdown`, `close` or `abort`.
    pub call: String,
    /// Bytes moved (send/recv), else 0.
    pub bytes: u64,
}

/// A `timer` event: `host`, `conn`, `timer`, `action`, `at_us`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerEvent {
    /// The host.
    pub host: String,
    /// The connection.
    pub conn: String,
    /// `rto`, `time-wait`, `delayed-ack`, `persist`, `keepalive` or `syn`.
    pub timer: String,
    /// `set`, `fire` or `cancel`.
    pub action: String,
    /// The deadline, microseconds since the start (the old deadline for `cancel`).
    pub at_us: u64,
}

/// A TCP segment as the trace shows it (the `seg` object).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Seg {
    /// Source, `"ip:port"` (`"[v6]:port"` for IPv6).
    pub src: String,
    /// Destination, `"ip:port"`.
    pub dst: String,
    /// Control bits as tcpdump prints them: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, ...
    pub flags: String,
    /// Raw 32-bit sequence number.
    pub seq: u32,
    /// Raw 32-bit acknowledgment number.
    pub ack: u32,
    /// Payload bytes.
    pub len: u32,
    /// Raw window field.
    pub win: u16,
    /// Options as tcpdump prints them: `mss 1460`, `sackOK`, `wscale 7`, ...
    pub opts: Vec<String>,
}

/// The kind of a link event.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum LinkEventKind {
    /// The link lost the segment.
    Drop,
    /// The link delivered the segment twice.
    Dup,
    /// The link damaged the segment.
    Corrupt,
    /// The link handed the segment to the receiver.
    Deliver,
}

impl LinkEventKind {
    /// The `ev` value: `drop`, `dup`, `corrupt` or `deliver`.
    pub const fn name(self) -> &'static str {
        match self {
            LinkEventKind::Drop => "drop",
            LinkEventKind::Dup => "dup",
            LinkEventKind::Corrupt => "corrupt",
            LinkEventKind::Deliver => "deliver",
        }
    }
}

impl Seg {
    /// The trace form of the core's segment summary.
    pub fn from_summary(s: &SegmentSummary) -> Seg {
        Seg {
            src: s.src.to_string(),
            dst: s.dst.to_string(),
            flags: s.flags.to_string(),
            seq: s.seq,
            ack: s.ack,
            len: s.len,
            win: s.win,
            opts: s.opts.to_tcpdump_strings(),
        }
    }

    /// The trace form of the TCP segment in an IP datagram (as a link carries it), or
    /// `None` if the bytes do not parse as TCP over IPv4/IPv6 (checksums included).
    pub fn from_ip_packet(bytes: &[u8]) -> Option<Seg> {
        let p = synack::wire::parse(bytes).ok()?;
        Some(Seg {
            src: SocketAddr::new(p.src, p.tcp.src_port).to_string(),
            dst: SocketAddr::new(p.dst, p.tcp.dst_port).to_string(),
            flags: p.tcp.flags.to_string(),
            seq: p.tcp.seq.raw(),
            ack: if p.tcp.flags.ack() { p.tcp.ack.raw() } else { 0 },
            len: u32::try_from(p.payload.len()).unwrap_or(u32::MAX),
            win: p.tcp.window,
            opts: p.tcp.options.to_tcpdump_strings(),
        })
    }

    /// Whether `other` is the same segment on the wire as far as the trace can tell:
    /// equal addresses, flags, numbers and window (options are not compared).
    pub fn same_as(&self, other: &Seg) -> bool {
        self.src == other.src
            && self.dst == other.dst
            && self.flags == other.flags
            && self.seq == other.seq
            && self.ack == other.ack
            && self.len == other.len
            && self.win == other.win
    }

    /// The IP address part of `src` (without the port or IPv6 brackets).
    pub fn src_ip(&self) -> &str {
        ip_of(&self.src)
    }

    /// The IP address part of `dst` (without the port or IPv6 brackets).
    pub fn dst_ip(&self) -> &str {
        ip_of(&self.dst)
    }
}

/// The IP part of `"ip:port"` or `"[v6]:port"`; the whole string if it has no port.
pub(crate) fn ip_of(endpoint: &str) -> &str {
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match endpoint.rsplit_once(':') {
        Some((ip, _)) => ip,
        None => endpoint,
    }
}

impl TraceLine {
    /// A line at `t_us` holding `event`.
    pub fn new(t_us: u64, event: Event) -> TraceLine {
        TraceLine { t_us, event }
    }

    /// The trace line of a core trace record, recorded by the stack of `host`.
    ///
    /// A core event kind unknown to this crate becomes [`Event::Unknown`], which is never
    /// serialized.
    pub fn from_core(host: &str, rec: &TraceRecord) -> TraceLine {
        let host = host.to_string();
        let event = match rec.ev {
            TraceEvent::State { conn, from, to } => Event::State(StateEvent {
                host,
                conn: conn.to_string(),
                from: from.name().to_string(),
                to: to.name().to_string(),
            }),
            TraceEvent::Send { conn, seg, retransmit } => Event::Send(SendEvent {
                host,
                conn: conn.to_string(),
                seg: Seg::from_summary(&seg),
                retransmit,
                packet_id: None,
                packet: None,
            }),
            TraceEvent::Recv { conn, seg } => {
                Event::Recv(RecvEvent { host, conn: conn.to_string(), seg: Seg::from_summary(&seg) })
            }
            TraceEvent::App { conn, call, bytes } => Event::App(AppEvent {
                host,
                conn: conn.to_string(),
                call: call.name().to_string(),
                bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
            }),
            TraceEvent::Timer { conn, timer, action, at } => Event::Timer(TimerEvent {
                host,
                conn: conn.to_string(),
                timer: timer.name().to_string(),
                action: action.name().to_string(),
                at_us: at.as_micros(),
            }),
            other => Event::Unknown { host, debug: format!("{other:?}") },
        };
        TraceLine { t_us: rec.t.as_micros(), event }
    }

    /// A link event line: `kind` happened at `t_us` on `link` (e.g. `"client->server"`)
    /// to `seg`.
    pub fn link(t_us: u64, kind: LinkEventKind, link: &str, seg: Seg) -> TraceLine {
        let ev = LinkEvent { link: link.to_string(), seg, packet_id: None };
        let event = match kind {
            LinkEventKind::Drop => Event::Drop(ev),
            LinkEventKind::Dup => Event::Dup(ev),
            LinkEventKind::Corrupt => Event::Corrupt(ev),
            LinkEventKind::Deliver => Event::Deliver(ev),
        };
        TraceLine { t_us, event }
    }

    /// A `state` line: `host`'s connection `conn` went from `from` to `to` (RFC state
    /// names) at `t_us`.
    pub fn state(t_us: u64, host: &str, conn: &str, from: &str, to: &str) -> TraceLine {
        let ev = StateEvent { host: host.into(), conn: conn.into(), from: from.into(), to: to.into() };
        TraceLine { t_us, event: Event::State(ev) }
    }

    /// A `drop` line: `link` lost `seg` at `t_us`.
    pub fn drop(t_us: u64, link: &str, seg: Seg) -> TraceLine {
        TraceLine::link(t_us, LinkEventKind::Drop, link, seg)
    }

    /// A `dup` line: `link` duplicated `seg` at `t_us`.
    pub fn dup(t_us: u64, link: &str, seg: Seg) -> TraceLine {
        TraceLine::link(t_us, LinkEventKind::Dup, link, seg)
    }

    /// A `corrupt` line: `link` damaged `seg` at `t_us`.
    pub fn corrupt(t_us: u64, link: &str, seg: Seg) -> TraceLine {
        TraceLine::link(t_us, LinkEventKind::Corrupt, link, seg)
    }

    /// A `deliver` line: `link` handed `seg` to its receiver at `t_us`.
    pub fn deliver(t_us: u64, link: &str, seg: Seg) -> TraceLine {
        TraceLine::link(t_us, LinkEventKind::Deliver, link, seg)
    }

    /// Sets the in-memory packet id of a `send` line or a link event (no effect on
    /// other kinds).
    #[must_use]
    pub fn with_packet_id(mut self, id: u64) -> TraceLine {
        match &mut self.event {
            Event::Send(s) => s.packet_id = Some(id),
            Event::Drop(l) | Event::Dup(l) | Event::Corrupt(l) | Event::Deliver(l) => l.packet_id = Some(id),
            _ => {}
        }
        self
    }

    /// Sets the in-memory IP datagram bytes of a `send` line (no effect on other kinds).
    #[must_use]
    pub fn with_packet(mut self, bytes: Vec<u8>) -> TraceLine {
        if let Event::Send(s) = &mut self.event {
            s.packet = Some(bytes);
        }
        self
    }

    /// Removes the in-memory packet ids and bytes, leaving what JSON carries.
    pub fn strip_packet_data(&mut self) {
        match &mut self.event {
            Event::Send(s) => {
                s.packet_id = None;
                s.packet = None;
            }
            Event::Drop(l) | Event::Dup(l) | Event::Corrupt(l) | Event::Deliver(l) => l.packet_id = None,
            _ => {}
        }
    }

    /// The `ev` value of this line (`"state"`, `"send"`, ...; `"unknown"` for
    /// [`Event::Unknown`]).
    pub fn ev(&self) -> &'static str {
        match &self.event {
            Event::State(_) => "state",
            Event::Send(_) => "send",
            Event::Recv(_) => "recv",
            Event::Drop(_) => "drop",
            Event::Dup(_) => "dup",
            Event::Corrupt(_) => "corrupt",
            Event::Deliver(_) => "deliver",
            Event::App(_) => "app",
            Event::Timer(_) => "timer",
            Event::Unknown { .. } => "unknown",
        }
    }

    /// The host of a host event (`state`, `send`, `recv`, `app`, `timer`); `None` for
    /// link events.
    pub fn host(&self) -> Option<&str> {
        match &self.event {
            Event::State(e) => Some(&e.host),
            Event::Send(e) => Some(&e.host),
            Event::Recv(e) => Some(&e.host),
            Event::App(e) => Some(&e.host),
            Event::Timer(e) => Some(&e.host),
            Event::Unknown { host, .. } => Some(host),
            Event::Drop(_) | Event::Dup(_) | Event::Corrupt(_) | Event::Deliver(_) => None,
        }
    }

    /// The segment of a `send`, `recv` or link event.
    pub fn seg(&self) -> Option<&Seg> {
        match &self.event {
            Event::Send(e) => Some(&e.seg),
            Event::Recv(e) => Some(&e.seg),
            Event::Drop(l) | Event::Dup(l) | Event::Corrupt(l) | Event::Deliver(l) => Some(&l.seg),
            _ => None,
        }
    }

    /// The link event's kind and body, if this is one.
    pub fn link_event(&self) -> Option<(LinkEventKind, &LinkEvent)> {
        match &self.event {
            Event::Drop(l) => Some((LinkEventKind::Drop, l)),
            Event::Dup(l) => Some((LinkEventKind::Dup, l)),
            Event::Corrupt(l) => Some((LinkEventKind::Corrupt, l)),
            Event::Deliver(l) => Some((LinkEventKind::Deliver, l)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_of_strips_ports_and_brackets() {
        assert_eq!(ip_of("10.0.0.1:80"), "10.0.0.1");
        assert_eq!(ip_of("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(ip_of("10.0.0.1"), "10.0.0.1");
    }
}
