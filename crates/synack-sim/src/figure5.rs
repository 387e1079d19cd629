//! A validator of state transitions against RFC 9293 Figure 5.
//!
//! Figure 5 draws these edges (every one is accepted by [`is_figure5_edge`]):
//!
//! ```text
//! CLOSED       -> LISTEN         passive OPEN
//! CLOSED       -> SYN-SENT       active OPEN, snd SYN
//! LISTEN       -> CLOSED         CLOSE
//! LISTEN       -> SYN-RECEIVED   rcv SYN, snd SYN,ACK
//! LISTEN       -> SYN-SENT       SEND, snd SYN
//! SYN-SENT     -> CLOSED         CLOSE
//! SYN-SENT     -> SYN-RECEIVED   rcv SYN, snd SYN,ACK (simultaneous open)
//! SYN-SENT     -> ESTABLISHED    rcv SYN,ACK, snd ACK
//! SYN-RECEIVED -> LISTEN         rcv RST (note 1)
//! SYN-RECEIVED -> ESTABLISHED    rcv ACK of SYN
//! SYN-RECEIVED -> FIN-WAIT-1     CLOSE, snd FIN
//! ESTABLISHED  -> FIN-WAIT-1     CLOSE, snd FIN
//! ESTABLISHED  -> CLOSE-WAIT     rcv FIN, snd ACK
//! FIN-WAIT-1   -> FIN-WAIT-2     rcv ACK of FIN
//! FIN-WAIT-1   -> CLOSING        rcv FIN, snd ACK
//! FIN-WAIT-1   -> TIME-WAIT      rcv FIN with the ACK of our FIN (note 2)
//! FIN-WAIT-2   -> TIME-WAIT      rcv FIN, snd ACK
//! CLOSE-WAIT   -> LAST-ACK       CLOSE, snd FIN
//! CLOSING      -> TIME-WAIT      rcv ACK of FIN
//! LAST-ACK     -> CLOSED         rcv ACK of FIN
//! TIME-WAIT    -> CLOSED         timeout = 2 MSL
//! ```
//!
//! The figure "is only a summary" and leaves out error handling. The RFC's text adds one
//! family of edges, accepted by [`is_error_edge`]: any state but CLOSED may go straight
//! to CLOSED on ABORT (3.10.5), on an acceptable RST (3.10.7.3, 3.10.7.4) or when
//! retransmissions give up (3.8.3, R2). Nothing else is allowed.

use synack::State;
use synack_viz::{Event, TraceLine};

use State::*;

/// The edges drawn in Figure 5, notes 1 and 2 included.
pub const FIGURE5_EDGES: [(State, State); 21] = [
    (Closed, Listen),
    (Closed, SynSent),
    (Listen, Closed),
    (Listen, SynReceived),
    (Listen, SynSent),
    (SynSent, Closed),
    (SynSent, SynReceived),
    (SynSent, Established),
    (SynReceived, Listen),
    (SynReceived, Established),
    (SynReceived, FinWait1),
    (Established, FinWait1),
    (Established, CloseWait),
    (FinWait1, FinWait2),
    (FinWait1, Closing),
    (FinWait1, TimeWait),
    (FinWait2, TimeWait),
    (CloseWait, LastAck),
    (Closing, TimeWait),
    (LastAck, Closed),
    (TimeWait, Closed),
];

/// Whether `from -> to` is drawn in Figure 5.
pub fn is_figure5_edge(from: State, to: State) -> bool {
    FIGURE5_EDGES.contains(&(from, to))
}

/// Whether `from -> to` is an error edge of the RFC text: ABORT, RST or giving up,
/// straight to CLOSED from any other state.
pub fn is_error_edge(from: State, to: State) -> bool {
    to == Closed && from != Closed
}

/// Whether `from -> to` is allowed: a Figure 5 edge or an error edge.
pub fn is_allowed(from: State, to: State) -> bool {
    is_figure5_edge(from, to) || is_error_edge(from, to)
}

/// Checks every `state` line of `trace`: the names are RFC 9293's, the edge is allowed,
/// and each connection's line starts where its previous one ended (a connection's
/// first line, or the first after CLOSED, starts from CLOSED or LISTEN). Returns every
/// violation, described.
pub fn validate(trace: &[TraceLine]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    // (host, conn) -> last state.
    let mut last: Vec<((&str, &str), State)> = Vec::new();
    for line in trace {
        let Event::State(s) = &line.event else { continue };
        let at = format!("t={} us, {} {}", line.t_us, s.host, s.conn);
        let (Some(from), Some(to)) = (State::from_name(&s.from), State::from_name(&s.to)) else {
            errors.push(format!("{at}: `{}` -> `{}` is not a pair of RFC 9293 state names", s.from, s.to));
            continue;
        };
        if !is_allowed(from, to) {
            errors.push(format!("{at}: {from} -> {to} is not an edge of RFC 9293 Figure 5"));
        }
        let key = (s.host.as_str(), s.conn.as_str());
        match last.iter_mut().find(|(k, _)| *k == key) {
            Some((_, prev)) => {
                let fresh = *prev == Closed && matches!(from, Closed | Listen);
                if from != *prev && !fresh {
                    errors.push(format!("{at}: leaves {from} but was in {prev}"));
                }
                *prev = to;
            }
            None => {
                if !matches!(from, Closed | Listen) {
                    errors.push(format!("{at}: first transition leaves {from}, not CLOSED or LISTEN"));
                }
                last.push((key, to));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_and_the_syn_received_edges_are_edges() {
        assert!(is_figure5_edge(FinWait1, TimeWait));
        assert!(is_figure5_edge(Listen, SynReceived));
        assert!(is_figure5_edge(SynSent, SynReceived));
        assert!(is_figure5_edge(SynReceived, Listen));
    }

    #[test]
    fn bogus_edges_are_rejected() {
        for (a, b) in
            [(Established, TimeWait), (Closed, Established), (FinWait2, Closing), (TimeWait, Established)]
        {
            assert!(!is_allowed(a, b), "{a} -> {b}");
        }
        assert!(!is_allowed(Closed, Closed));
        assert!(is_allowed(Established, Closed), "reset or abort");
    }
}
