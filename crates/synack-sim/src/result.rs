//! What a run produces: the trace, each host's end state and delivered bytes, and the
//! scenario's check.

use crate::link::LinkStats;
use std::net::IpAddr;
use synack::{CloseReason, StackStats, State};
use synack_viz::{Event, TraceLine};

/// One host at the end of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct HostResult {
    /// The host's name.
    pub name: String,
    /// Its address.
    pub addr: IpAddr,
    /// The last state of every connection and listener in the host's trace, in order of
    /// first appearance: (`conn` as the trace writes it, state).
    pub final_states: Vec<(String, State)>,
    /// Bytes the application handed to `send` and the stack took.
    pub bytes_sent: u64,
    /// FNV-1a hash of those bytes, in order.
    pub sent_hash: u64,
    /// Bytes the application read.
    pub bytes_received: u64,
    /// FNV-1a hash of those bytes, in order.
    pub received_hash: u64,
    /// Whether the application read the end of the stream (the peer's FIN).
    pub eof: bool,
    /// How the application's connection ended (`None`: it did not end, or ended by the
    /// application's own `close`/`abort` releasing the handle first).
    pub outcome: Option<CloseReason>,
    /// Application calls that failed, described (`step 3 (send): connection reset`).
    pub app_errors: Vec<String>,
    /// Steps that never ran or never finished, described.
    pub unfinished_steps: Vec<String>,
    /// The stack's counters (checksum failures, RSTs sent, retransmissions, ...).
    pub stats: StackStats,
    /// Connections the stack still held when the run ended
    /// ([`synack::Stack::connection_count`]).
    pub connections_left: usize,
    /// TIME-WAIT records the stack still held when the run ended
    /// ([`synack::Stack::time_wait_count`]).
    pub time_wait_left: usize,
    /// The stack's next deadline when the run ended ([`synack::Stack::poll_timeout`]),
    /// microseconds; `None` when no timer was armed.
    pub timer_left_us: Option<u64>,
}

impl HostResult {
    /// The final state of the host's first connection (listeners aside), if it had one.
    pub fn final_state(&self) -> Option<State> {
        self.final_states.iter().find(|(c, _)| !is_listener(c)).map(|(_, s)| *s)
    }
}

/// The result of [`crate::run`].
#[derive(Clone, Debug)]
pub struct SimResult {
    /// The scenario's name.
    pub scenario: String,
    /// The seed the run used.
    pub seed: u64,
    /// Every event of every host and link, in time order.
    pub trace: Vec<TraceLine>,
    /// Each host at the end, in declaration order.
    pub hosts: Vec<HostResult>,
    /// The scenario's check: `Ok` or the differences from the expected story.
    pub check: Result<(), Vec<String>>,
    /// Virtual time when the run ended, microseconds.
    pub end_us: u64,
    /// Events processed.
    pub events: u64,
    /// What each link did (faults injected), in the scenario's link order.
    pub links: Vec<LinkStats>,
}

impl SimResult {
    /// The host named `name`.
    pub fn host(&self, name: &str) -> Option<&HostResult> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.check.is_ok()
    }

    /// How the data segments sent over `link` (`"SENDER->RECEIVER"`) fared, counted
    /// from the trace. See [`Retransmissions`].
    pub fn retransmissions(&self, link: &str) -> Retransmissions {
        retransmissions(&self.trace, link)
    }
}

/// The data segments one host sent over one link: how many the link lost, how many
/// the sender sent again, and how many of those repeated data the receiver already
/// had ([`SimResult::retransmissions`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retransmissions {
    /// Data segments the link lost (`drop` events).
    pub lost: u64,
    /// Data segments the sender marked as retransmissions (`send` events).
    pub retransmitted: u64,
    /// Of those, the ones whose sequence number the link had already delivered intact
    /// (a datagram the link damaged reached the receiver only to fail its checksum):
    /// retransmissions the receiver did not need.
    pub needless: u64,
    /// Expiries of the sender's retransmission timer (`rto` fire events; a tail loss
    /// probe's timeout shares that timer and counts too).
    pub timeouts: u64,
}

/// [`SimResult::retransmissions`] over `trace`.
fn retransmissions(trace: &[TraceLine], link: &str) -> Retransmissions {
    let sender = link.split("->").next().unwrap_or_default();
    let mut delivered = std::collections::HashSet::new();
    let mut damaged = std::collections::HashSet::new();
    let mut out = Retransmissions::default();
    for line in trace {
        match &line.event {
            Event::Corrupt(d) if d.link == link => {
                damaged.extend(d.packet_id);
            }
            Event::Deliver(d)
                if d.link == link
                    && d.seg.len > 0
                    && !d.packet_id.is_some_and(|id| damaged.contains(&id)) =>
            {
                delivered.insert(d.seg.seq);
            }
            Event::Drop(d) if d.link == link && d.seg.len > 0 => out.lost += 1,
            Event::Send(s) if s.host == sender && s.seg.len > 0 && s.retransmit => {
                out.retransmitted += 1;
                out.needless += u64::from(delivered.contains(&s.seg.seq));
            }
            Event::Timer(t) if t.host == sender && t.timer == "rto" && t.action == "fire" => {
                out.timeouts += 1
            }
            _ => {}
        }
    }
    out
}

/// Whether a trace `conn` names a listener (`IP:PORT-0.0.0.0:0`).
pub(crate) fn is_listener(conn: &str) -> bool {
    conn.ends_with("-0.0.0.0:0") || conn.ends_with("-[::]:0")
}

/// The last state of each connection of `host` in `trace`.
pub(crate) fn final_states(trace: &[TraceLine], host: &str) -> Vec<(String, State)> {
    let mut out: Vec<(String, State)> = Vec::new();
    for line in trace {
        let Event::State(s) = &line.event else { continue };
        if s.host != host {
            continue;
        }
        let Some(to) = State::from_name(&s.to) else { continue };
        match out.iter_mut().find(|(c, _)| *c == s.conn) {
            Some(entry) => entry.1 = to,
            None => out.push((s.conn.clone(), to)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_viz::{LinkEvent, Seg, SendEvent, TimerEvent};

    fn seg(seq: u32, len: u32) -> Seg {
        Seg {
            src: "192.0.2.2:80".into(),
            dst: "192.0.2.1:50000".into(),
            flags: ".".into(),
            seq,
            ack: 1,
            len,
            win: 100,
            opts: Vec::new(),
        }
    }

    fn line(event: Event) -> TraceLine {
        TraceLine { t_us: 0, event }
    }

    fn send(host: &str, seq: u32, len: u32, retransmit: bool) -> TraceLine {
        line(Event::Send(SendEvent {
            host: host.into(),
            conn: String::new(),
            seg: seg(seq, len),
            retransmit,
            packet_id: None,
            packet: None,
        }))
    }

    fn link(link: &str, seq: u32, len: u32) -> LinkEvent {
        LinkEvent { link: link.into(), seg: seg(seq, len), packet_id: None }
    }

    #[test]
    fn retransmissions_count_losses_and_the_resends_the_receiver_did_not_need() {
        let s2c = "server->client";
        let trace = vec![
            send("server", 1000, 100, false),
            line(Event::Deliver(link(s2c, 1000, 100))),
            send("server", 1100, 100, false),
            line(Event::Drop(link(s2c, 1100, 100))),
            line(Event::Timer(TimerEvent {
                host: "server".into(),
                conn: String::new(),
                timer: "rto".into(),
                action: "fire".into(),
                at_us: 0,
            })),
            // Both again: the first had arrived, the second had not.
            send("server", 1000, 100, true),
            send("server", 1100, 100, true),
            line(Event::Deliver(link(s2c, 1100, 100))),
            // A third segment, damaged on the way: delivered, but it failed the
            // receiver's checksum, so its resend was needed.
            send("server", 1200, 100, false),
            line(Event::Corrupt(LinkEvent { packet_id: Some(7), ..link(s2c, 1200, 100) })),
            line(Event::Deliver(LinkEvent { packet_id: Some(7), ..link(s2c, 1200, 100) })),
            send("server", 1200, 100, true),
            // Not counted: a pure ACK retransmitted, the other direction's drops and
            // another host's resends.
            send("server", 1200, 0, true),
            line(Event::Drop(link("client->server", 1, 100))),
            send("client", 1000, 100, true),
        ];
        let got = retransmissions(&trace, s2c);
        assert_eq!(got, Retransmissions { lost: 1, retransmitted: 3, needless: 1, timeouts: 1 });
        assert_eq!(retransmissions(&trace, "client->server").lost, 1);
    }
}
