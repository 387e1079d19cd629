//! The checks of the built-in scenarios: each compares the trace with its story.

use super::{check_delivery, check_time_wait, compare, link_events, outcome_name, sends, story_of, Ctx};
use crate::scenario::Story;
use synack::State::{self, *};
use synack_viz::LinkEventKind;

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// Active open: CLOSED, SYN-SENT, ESTABLISHED.
const ACTIVE: [State; 3] = [Closed, SynSent, Established];
/// Passive open: LISTEN, SYN-RECEIVED, ESTABLISHED.
const PASSIVE: [State; 3] = [Listen, SynReceived, Established];
/// The side closing first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED.
const ACTIVE_CLOSE: [State; 4] = [FinWait1, FinWait2, TimeWait, Closed];
/// The side closing second: CLOSE-WAIT, LAST-ACK, CLOSED.
const PASSIVE_CLOSE: [State; 3] = [CloseWait, LastAck, Closed];

fn cat(a: &[State], b: &[State]) -> Vec<State> {
    a.iter().chain(b).copied().collect()
}

/// Compare host `h`'s first connection with `expected`.
fn states(ctx: &Ctx<'_>, h: usize, expected: &[State], out: &mut Vec<String>) {
    let story = story_of(ctx.trace, ctx.names[h]);
    out.extend(compare(ctx.names[h], story.as_ref(), expected));
}

/// Compare with several acceptable stories; report the difference from the first.
fn states_any(ctx: &Ctx<'_>, h: usize, alternatives: &[Vec<State>], out: &mut Vec<String>) {
    let story = story_of(ctx.trace, ctx.names[h]);
    let diffs: Vec<Option<String>> =
        alternatives.iter().map(|a| compare(ctx.names[h], story.as_ref(), a)).collect();
    if diffs.iter().all(Option::is_some) {
        out.extend(diffs.into_iter().next().flatten());
    }
}

fn time_wait(ctx: &Ctx<'_>, h: usize, restarts: Option<usize>, out: &mut Vec<String>) -> usize {
    let (diffs, n) = check_time_wait(ctx, h, restarts);
    out.extend(diffs);
    n
}

fn outcome(ctx: &Ctx<'_>, h: usize, want: &str, out: &mut Vec<String>) {
    let got = outcome_name(ctx.hosts[h].outcome);
    if got != want {
        out.push(format!("{}: the connection ended {got}, expected {want}", ctx.names[h]));
    }
}

/// The sequence number of the first segment `h` sent with exactly `flags`.
fn first_seq(ctx: &Ctx<'_>, h: usize, flags: &str) -> Option<u32> {
    sends(ctx.trace, ctx.names[h]).find(|(_, s)| s.seg.flags == flags).map(|(_, s)| s.seg.seq)
}

/// Whether `h` retransmitted a segment whose flags contain `letter`.
fn retransmitted(ctx: &Ctx<'_>, h: usize, letter: char) -> bool {
    sends(ctx.trace, ctx.names[h]).any(|(_, s)| s.retransmit && s.seg.flags.contains(letter))
}

/// How many pure ACKs `h` sent acknowledging `ack`.
fn acks_of(ctx: &Ctx<'_>, h: usize, ack: u32) -> usize {
    sends(ctx.trace, ctx.names[h])
        .filter(|(_, s)| s.seg.flags == "." && s.seg.len == 0 && s.seg.ack == ack)
        .count()
}

/// Whether `link` lost a segment with exactly `flags`.
fn lost(ctx: &Ctx<'_>, link: &str, flags: &str) -> bool {
    link_events(ctx.trace, LinkEventKind::Drop, link).iter().any(|(_, seg)| seg.flags == flags)
}

/// SYN, SYN-ACK acknowledging ISS+1, ACK acknowledging the server's ISS+1.
fn handshake_segments(ctx: &Ctx<'_>, out: &mut Vec<String>) {
    let Some(iss_c) = first_seq(ctx, CLIENT, "S") else {
        out.push("client: sent no SYN".into());
        return;
    };
    let synack = sends(ctx.trace, "server").find(|(_, s)| s.seg.flags == "S.").map(|(_, s)| s.seg.clone());
    let Some(synack) = synack else {
        out.push("server: sent no SYN-ACK".into());
        return;
    };
    if synack.ack != iss_c.wrapping_add(1) {
        out.push(format!(
            "server: SYN-ACK acknowledges {}, expected the client's ISS+1 = {}",
            synack.ack,
            iss_c.wrapping_add(1)
        ));
    }
    if acks_of(ctx, CLIENT, synack.seq.wrapping_add(1)) == 0 {
        out.push(format!(
            "client: never acknowledged the SYN-ACK (no ACK of {})",
            synack.seq.wrapping_add(1)
        ));
    }
}

fn handshake_states(ctx: &Ctx<'_>, out: &mut Vec<String>) {
    states(ctx, CLIENT, &ACTIVE, out);
    states(ctx, SERVER, &PASSIVE, out);
}

/// The check of a built-in story.
pub(crate) fn check(story: Story, ctx: &Ctx<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let o = &mut out;
    match story {
        Story::Handshake => {
            handshake_states(ctx, o);
            handshake_segments(ctx, o);
        }
        Story::Close | Story::Demo => {
            states(ctx, CLIENT, &cat(&ACTIVE, &ACTIVE_CLOSE), o);
            states(ctx, SERVER, &cat(&PASSIVE, &PASSIVE_CLOSE), o);
            time_wait(ctx, CLIENT, Some(0), o);
            if story == Story::Demo {
                if ctx.hosts[CLIENT].bytes_sent == 0 || ctx.hosts[SERVER].bytes_sent == 0 {
                    o.push("no request or no response was sent".into());
                }
                o.extend(check_delivery(ctx, CLIENT, SERVER));
                o.extend(check_delivery(ctx, SERVER, CLIENT));
            }
        }
        Story::ServerClose => {
            states(ctx, CLIENT, &cat(&ACTIVE, &PASSIVE_CLOSE), o);
            states(ctx, SERVER, &cat(&PASSIVE, &ACTIVE_CLOSE), o);
            time_wait(ctx, SERVER, Some(0), o);
        }
        Story::HalfClose => half_close(ctx, o),
        Story::LostFinalAck => lost_final_ack(ctx, o),
        Story::LostSyn => {
            handshake_states(ctx, o);
            if !lost(ctx, "client->server", "S") {
                o.push("client->server: no SYN was lost".into());
            }
            let syns: Vec<u64> =
                sends(ctx.trace, "client").filter(|(_, s)| s.seg.flags == "S").map(|(t, _)| t).collect();
            let retx =
                sends(ctx.trace, "client").find(|(_, s)| s.seg.flags == "S" && s.retransmit).map(|(t, _)| t);
            match (syns.first(), retx) {
                (Some(&t0), Some(t1)) => {
                    let rto = ctx.rto_initial[CLIENT].as_micros();
                    if t1 - t0 != rto {
                        o.push(format!(
                            "client: SYN retransmitted {} after the first, expected the initial RTO = {}",
                            super::fmt_ms(t1 - t0),
                            super::fmt_ms(rto)
                        ));
                    }
                }
                _ => o.push("client: SYN was not retransmitted".into()),
            }
        }
        Story::LostSynAck => {
            handshake_states(ctx, o);
            if !lost(ctx, "server->client", "S.") {
                o.push("server->client: no SYN-ACK was lost".into());
            }
            if !retransmitted(ctx, SERVER, 'S') {
                o.push("server: SYN-ACK was not retransmitted".into());
            }
        }
        Story::LostAck => {
            handshake_states(ctx, o);
            if !lost(ctx, "client->server", ".") {
                o.push("client->server: the handshake's ACK was not lost".into());
            }
            if !retransmitted(ctx, SERVER, 'S') {
                o.push("server: SYN-ACK was not retransmitted".into());
            }
            if let Some(iss_s) = first_seq(ctx, SERVER, "S.") {
                let n = acks_of(ctx, CLIENT, iss_s.wrapping_add(1));
                if n < 2 {
                    o.push(format!("client: acknowledged the SYN-ACK {n} time(s), expected it repeated"));
                }
            }
        }
        Story::SimultaneousOpen => {
            for h in [CLIENT, SERVER] {
                states(ctx, h, &[Closed, SynSent, SynReceived, Established], o);
                let name = ctx.names[h];
                if first_seq(ctx, h, "S").is_none() || first_seq(ctx, h, "S.").is_none() {
                    o.push(format!("{name}: expected a SYN and then a SYN-ACK from it"));
                }
            }
        }
        Story::SimultaneousClose => {
            let tail = [FinWait1, Closing, TimeWait, Closed];
            states(ctx, CLIENT, &cat(&ACTIVE, &tail), o);
            states(ctx, SERVER, &cat(&PASSIVE, &tail), o);
            time_wait(ctx, CLIENT, Some(0), o);
            time_wait(ctx, SERVER, Some(0), o);
        }
        Story::Refused => refused(ctx, o),
        Story::Reset => reset(ctx, o),
        Story::Transfer => transfer(ctx, o),
    }
    out
}

fn half_close(ctx: &Ctx<'_>, o: &mut Vec<String>) {
    states(ctx, CLIENT, &cat(&ACTIVE, &ACTIVE_CLOSE), o);
    states(ctx, SERVER, &cat(&PASSIVE, &PASSIVE_CLOSE), o);
    time_wait(ctx, CLIENT, Some(0), o);
    if let Some(story) = story_of(ctx.trace, "server") {
        let from = story.entered(Established, CloseWait);
        let to = story.entered(CloseWait, LastAck).unwrap_or(u64::MAX);
        if let Some(from) = from {
            let data_after_fin =
                sends(ctx.trace, "server").filter(|(t, s)| *t >= from && *t <= to && s.seg.len > 0).count();
            if data_after_fin == 0 {
                o.push("server: sent no data in CLOSE-WAIT, after the client's FIN".into());
            }
        }
    }
    if ctx.hosts[SERVER].bytes_sent == 0 {
        o.push("server: sent no data".into());
    }
    o.extend(check_delivery(ctx, SERVER, CLIENT));
    if !ctx.hosts[CLIENT].eof {
        o.push("client: never read the end of the server's stream".into());
    }
}

fn lost_final_ack(ctx: &Ctx<'_>, o: &mut Vec<String>) {
    states(ctx, CLIENT, &cat(&ACTIVE, &ACTIVE_CLOSE), o);
    states(ctx, SERVER, &cat(&PASSIVE, &PASSIVE_CLOSE), o);
    if !lost(ctx, "client->server", ".") {
        o.push("client->server: the final ACK was not lost".into());
    }
    if !retransmitted(ctx, SERVER, 'F') {
        o.push("server: FIN was not retransmitted".into());
    }
    let fin = sends(ctx.trace, "server").find(|(_, s)| s.seg.flags.contains('F')).map(|(_, s)| s.seg.clone());
    if let Some(fin) = fin {
        let fin_ack = fin.seq.wrapping_add(fin.len).wrapping_add(1);
        let n = acks_of(ctx, CLIENT, fin_ack);
        if n < 2 {
            o.push(format!("client: acknowledged the server's FIN {n} time(s), expected the ACK repeated"));
        }
    }
    let restarts = time_wait(ctx, CLIENT, None, o);
    if restarts == 0 {
        o.push("client: 2×MSL was not restarted by the retransmitted FIN".into());
    }
}

fn refused(ctx: &Ctx<'_>, o: &mut Vec<String>) {
    states(ctx, CLIENT, &[Closed, SynSent, Closed], o);
    if let Some(s) = story_of(ctx.trace, "server") {
        o.push(format!("server: expected no connection, got {}", s.conn));
    }
    match (first_seq(ctx, CLIENT, "S"), sends(ctx.trace, "server").find(|(_, s)| s.seg.flags.contains('R'))) {
        (_, None) => o.push("server: sent no RST".into()),
        (Some(iss), Some((_, rst))) => {
            if rst.seg.flags != "R." || rst.seg.ack != iss.wrapping_add(1) {
                o.push(format!(
                    "server: answered with {} ack={}, expected R. ack={} (RFC 9293 3.10.7.1)",
                    rst.seg.flags,
                    rst.seg.ack,
                    iss.wrapping_add(1)
                ));
            }
        }
        (None, Some(_)) => {}
    }
    outcome(ctx, CLIENT, "refused", o);
}

fn reset(ctx: &Ctx<'_>, o: &mut Vec<String>) {
    states(ctx, CLIENT, &cat(&ACTIVE, &[Closed]), o);
    states(ctx, SERVER, &cat(&PASSIVE, &[Closed]), o);
    if !sends(ctx.trace, "client").any(|(_, s)| s.seg.flags.contains('R')) {
        o.push("client: sent no RST after abort".into());
    }
    outcome(ctx, SERVER, "reset", o);
    let (sent, read) = (ctx.hosts[CLIENT].bytes_sent, ctx.hosts[SERVER].bytes_received);
    if read >= sent {
        o.push(format!(
            "server: read all {sent} bytes before the reset, expected the abort to cut the transfer short"
        ));
    }
}

fn transfer(ctx: &Ctx<'_>, o: &mut Vec<String>) {
    let client_ends = [
        cat(&ACTIVE, &ACTIVE_CLOSE),
        cat(&ACTIVE, &[FinWait1, TimeWait, Closed]),
        cat(&ACTIVE, &[FinWait1, Closing, TimeWait, Closed]),
    ];
    states_any(ctx, CLIENT, &client_ends, o);
    states(ctx, SERVER, &cat(&PASSIVE, &PASSIVE_CLOSE), o);
    time_wait(ctx, CLIENT, None, o);
    if ctx.hosts[CLIENT].bytes_sent == 0 {
        o.push("client: sent no data".into());
    }
    o.extend(check_delivery(ctx, CLIENT, SERVER));
    if !ctx.hosts[SERVER].eof {
        o.push("server: never read the end of the client's stream".into());
    }
}
