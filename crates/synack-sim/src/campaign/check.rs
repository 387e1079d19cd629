//! The invariants of a campaign case, checked on the trace and the hosts' results.
//!
//! 1. Each side read exactly a prefix of what its peer sent: the first `n` bytes of the
//!    peer's pattern, nothing lost, duplicated, reordered or damaged within them.
//! 2. Either every byte was delivered (each side sent all it meant to and the peer read
//!    all of it), or the connection reported an explained error on both sides: reset,
//!    timed out, refused; in a case that aborts, aborted too (the side that aborts, or
//!    its peer, whose stack resets when data comes after its close). A side that never
//!    had a connection (its handshake never completed there) explains itself when its
//!    peer reports an error.
//! 3. Every connection of both hosts ended CLOSED (an embryo may go back to LISTEN).
//! 4. No connection, TIME-WAIT record or timer was left when the run ended, and the run
//!    ended within the longest timer of a quiet network after the last segment.
//! 5. Each TIME-WAIT lasted exactly 2×MSL after its last (re)start.
//! 6. A side that did not fail ran all its steps.

use super::{CampaignExpect, CloseOrder};
use crate::app::pattern_byte;
use crate::check::{check_time_wait, fmt_ms, outcome_name, story_of, Ctx};
use crate::result::{final_states, is_listener};
use crate::rng::{fnv1a, FNV_OFFSET};
use synack::{CloseReason, ConnError, State};
use synack_viz::Event;

/// The FNV-1a hash of the first `n` bytes of `host`'s pattern (what its application
/// sends).
fn pattern_prefix_hash(host: &str, n: u64) -> u64 {
    let key = fnv1a(FNV_OFFSET, host.as_bytes());
    let mut hash = FNV_OFFSET;
    let mut chunk = [0u8; 4096];
    let mut i = 0;
    while i < n {
        let k = (n - i).min(chunk.len() as u64) as usize;
        for (j, b) in chunk[..k].iter_mut().enumerate() {
            *b = pattern_byte(key, i + j as u64);
        }
        hash = fnv1a(hash, &chunk[..k]);
        i += k as u64;
    }
    hash
}

/// What one side's connection did.
struct SideView {
    name: String,
    /// Its connection reached ESTABLISHED.
    connected: bool,
    outcome: Option<CloseReason>,
}

impl SideView {
    fn error(&self) -> Option<ConnError> {
        match self.outcome {
            Some(CloseReason::Error(e)) => Some(e),
            _ => None,
        }
    }
}

pub(crate) fn check(e: &CampaignExpect, ctx: &Ctx<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if ctx.hosts.len() != 2 {
        return vec![format!("a campaign case has 2 hosts, this one {}", ctx.hosts.len())];
    }
    let sides: Vec<SideView> = (0..2)
        .map(|h| {
            let story = story_of(ctx.trace, ctx.names[h]);
            SideView {
                name: ctx.names[h].to_string(),
                connected: story.is_some_and(|s| s.states.iter().any(|(_, st)| *st == State::Established)),
                outcome: ctx.hosts[h].outcome,
            }
        })
        .collect();

    // 1. Exact prefixes.
    for (s, r) in [(0, 1), (1, 0)] {
        let (sender, receiver) = (&ctx.hosts[s], &ctx.hosts[r]);
        if receiver.bytes_received > sender.bytes_sent {
            out.push(format!(
                "{}: read {} bytes, more than the {} {} sent",
                receiver.name, receiver.bytes_received, sender.bytes_sent, sender.name
            ));
        } else if pattern_prefix_hash(&sender.name, receiver.bytes_received) != receiver.received_hash {
            out.push(format!(
                "{}: the {} bytes read are not the first {} bytes {} sent (bytes lost, duplicated, \
                 reordered or damaged)",
                receiver.name, receiver.bytes_received, receiver.bytes_received, sender.name
            ));
        }
    }

    // 2. Delivered in full, or explained on both sides.
    // The FINs are not part of this: a side that closes first releases its handle
    // before the peer's FIN comes, and a side waiting for the FIN has a step on it.
    let complete_dir = |s: usize, r: usize| {
        ctx.hosts[s].bytes_sent == e.intended[s] && ctx.hosts[r].bytes_received == ctx.hosts[s].bytes_sent
    };
    let complete = complete_dir(0, 1) && complete_dir(1, 0);
    let aborter = match e.order {
        CloseOrder::Abort(side) => Some(side),
        _ => None,
    };
    for side in &sides {
        // Only a case that aborts may end aborted: the side that aborts, or its peer,
        // which closes while the aborting side still sends, and resets when data comes
        // after its CLOSE (RFC 1122 4.2.2.13: "its TCP SHOULD send a RST to show that
        // data was lost").
        if side.error() == Some(ConnError::Aborted) && aborter.is_none() {
            out.push(format!("{}: the connection ended aborted, but no side was to abort", side.name));
        }
        if side.connected && side.outcome.is_none() {
            out.push(format!(
                "{}: the connection ended without telling its application (no Closed event)",
                side.name
            ));
        }
    }
    if let Some(a) = aborter {
        let (ab, peer) = (&sides[a.index()], &sides[a.peer().index()]);
        if ab.connected && ab.error().is_none() {
            out.push(format!(
                "{}: was to abort, but its connection ended {}",
                ab.name,
                outcome_name(ab.outcome)
            ));
        }
        if peer.connected
            && !matches!(peer.error(), Some(ConnError::Reset | ConnError::TimedOut | ConnError::Aborted))
        {
            out.push(format!(
                "{}: its peer aborted, but its connection ended {} (expected reset, timed-out, or aborted \
                 for data after its close)",
                peer.name,
                outcome_name(peer.outcome)
            ));
        }
    } else if !complete {
        let progress = |s: usize, r: usize| {
            format!(
                "{}->{} {}/{} bytes{}",
                ctx.names[s],
                ctx.names[r],
                ctx.hosts[r].bytes_received,
                e.intended[s],
                if ctx.hosts[r].eof { " and FIN" } else { "" }
            )
        };
        let explained = |v: &SideView| {
            matches!(v.error(), Some(ConnError::Reset | ConnError::TimedOut | ConnError::Refused))
        };
        for (h, side) in sides.iter().enumerate() {
            let peer = &sides[1 - h];
            let ok = explained(side) || (!side.connected && explained(peer));
            if !ok {
                out.push(format!(
                    "{}: the exchange is incomplete ({}, {}), yet its connection ended {} with no \
                     explained error",
                    side.name,
                    progress(0, 1),
                    progress(1, 0),
                    if side.connected {
                        outcome_name(side.outcome)
                    } else {
                        "without ever being established"
                    }
                ));
            }
        }
    }

    // 3. CLOSED everywhere (as the trace tells).
    for name in &ctx.names {
        for (conn, st) in final_states(ctx.trace, name) {
            if is_listener(&conn) {
                continue;
            }
            // An embryo the listener gave up goes back to LISTEN.
            if st != State::Closed && st != State::Listen {
                out.push(format!("{name}: {conn} ended in {st}, not CLOSED"));
            }
        }
    }

    // 4. Nothing left behind.
    for h in ctx.hosts {
        if h.connections_left > 0 {
            out.push(format!(
                "{}: {} connection(s) still held when the run ended",
                h.name, h.connections_left
            ));
        }
        if h.time_wait_left > 0 {
            out.push(format!("{}: {} TIME-WAIT record(s) left when the run ended", h.name, h.time_wait_left));
        }
        if let Some(at) = h.timer_left_us {
            out.push(format!("{}: a timer still armed when the run ended (due at {})", h.name, fmt_ms(at)));
        }
    }
    let last_segment = ctx
        .trace
        .iter()
        .rev()
        .find(|l| matches!(l.event, Event::Send(_) | Event::Recv(_)) || l.link_event().is_some())
        .map(|l| l.t_us);
    let end = ctx.trace.last().map(|l| l.t_us);
    if let (Some(seg), Some(end)) = (last_segment, end) {
        if end - seg > e.quiet.as_micros() {
            out.push(format!(
                "the run went on for {} after the last segment, longer than any timer of a quiet \
                 network ({})",
                fmt_ms(end - seg),
                fmt_ms(e.quiet.as_micros())
            ));
        }
    }

    // 5. TIME-WAIT lasted 2×MSL.
    for h in 0..2 {
        out.extend(check_time_wait(ctx, h, None).0);
    }

    // 6. Every step ran on a side that did not fail.
    for (h, side) in sides.iter().enumerate() {
        let failed = side.error().is_some_and(|e| e != ConnError::Aborted);
        let never = !side.connected && sides[1 - h].error().is_some();
        if !failed && !never {
            for step in &ctx.hosts[h].unfinished_steps {
                out.push(format!("{}: {step} never ran or never finished", side.name));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_hash_of_no_bytes_is_the_fnv_offset_and_grows_with_the_bytes() {
        assert_eq!(pattern_prefix_hash("client", 0), FNV_OFFSET);
        let key = fnv1a(FNV_OFFSET, b"client");
        let bytes: Vec<u8> = (0..10_000).map(|i| pattern_byte(key, i)).collect();
        assert_eq!(pattern_prefix_hash("client", 10_000), fnv1a(FNV_OFFSET, &bytes));
        assert_ne!(pattern_prefix_hash("client", 9_999), pattern_prefix_hash("client", 10_000));
    }
}
