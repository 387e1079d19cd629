//! Checks: does a trace tell the story the scenario expects?
//!
//! A check reads the trace (and the hosts' delivered bytes, which the trace does not
//! carry) and returns every difference in words, such as `client: expected FIN-WAIT-2
//! after FIN-WAIT-1, got CLOSING`. Every check also validates each state change against
//! RFC 9293 Figure 5 ([`crate::figure5`]) and reports failed application calls.

mod stories;

use crate::figure5;
use crate::options::SimOptions;
use crate::result::{is_listener, HostResult};
use crate::scenario::{CustomExpect, Expect, Scenario};
use synack::{CloseReason, ConnError, Duration, State};
use synack_viz::{Event, LinkEventKind, Seg, SendEvent, TraceLine};

/// What a check looks at.
pub(crate) struct Ctx<'a> {
    pub(crate) trace: &'a [TraceLine],
    pub(crate) hosts: &'a [HostResult],
    pub(crate) names: Vec<&'a str>,
    /// Per host: its MSL in this run.
    pub(crate) msl: Vec<Duration>,
    /// Per host: its initial RTO.
    pub(crate) rto_initial: Vec<Duration>,
}

/// Run the scenario's check on a trace.
pub(crate) fn check(
    sc: &Scenario,
    trace: &[TraceLine],
    hosts: &[HostResult],
    opts: &SimOptions,
) -> Result<(), Vec<String>> {
    let ctx = Ctx {
        trace,
        hosts,
        names: sc.hosts.iter().map(|h| h.name.as_str()).collect(),
        msl: sc.hosts.iter().map(|h| opts.msl.unwrap_or(h.cfg.msl)).collect(),
        rto_initial: sc.hosts.iter().map(|h| h.cfg.rto_initial).collect(),
    };
    let mut diffs = match &sc.expect {
        Expect::Story(s) => stories::check(*s, &ctx),
        Expect::Custom(e) => custom(e, &ctx),
        Expect::Campaign(e) => crate::campaign::check::check(e, &ctx),
    };
    if let Err(errors) = figure5::validate(trace) {
        diffs.extend(errors.into_iter().map(|e| format!("Figure 5: {e}")));
    }
    for h in hosts {
        diffs.extend(h.app_errors.iter().map(|e| format!("{}: {e}", h.name)));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs)
    }
}

/// Milliseconds for messages: `60000 ms`, `10.5 ms`.
pub(crate) fn fmt_ms(us: u64) -> String {
    if us % 1000 == 0 {
        format!("{} ms", us / 1000)
    } else {
        let frac = format!("{:03}", us % 1000);
        format!("{}.{} ms", us / 1000, frac.trim_end_matches('0'))
    }
}

/// The states one connection went through: the first line's `from`, then every `to`,
/// each with the time it was entered.
#[derive(Clone, Debug)]
pub(crate) struct ConnStory {
    pub(crate) conn: String,
    pub(crate) states: Vec<(u64, State)>,
}

impl ConnStory {
    /// When the connection entered `to` from `from` (first time).
    pub(crate) fn entered(&self, from: State, to: State) -> Option<u64> {
        self.states.windows(2).find(|w| w[0].1 == from && w[1].1 == to).map(|w| w[1].0)
    }

    /// When the connection first entered `st`.
    pub(crate) fn first(&self, st: State) -> Option<u64> {
        self.states.iter().skip(1).find(|(_, s)| *s == st).map(|(t, _)| *t)
    }

    fn names(&self) -> Vec<State> {
        self.states.iter().map(|(_, s)| *s).collect()
    }
}

/// The first connection of `host` (listeners aside).
pub(crate) fn story_of(trace: &[TraceLine], host: &str) -> Option<ConnStory> {
    let mut story: Option<ConnStory> = None;
    for line in trace {
        let Event::State(s) = &line.event else { continue };
        if s.host != host || is_listener(&s.conn) {
            continue;
        }
        let (Some(from), Some(to)) = (State::from_name(&s.from), State::from_name(&s.to)) else { continue };
        match &mut story {
            None => {
                story =
                    Some(ConnStory { conn: s.conn.clone(), states: vec![(line.t_us, from), (line.t_us, to)] })
            }
            Some(st) if st.conn == s.conn => st.states.push((line.t_us, to)),
            Some(_) => {}
        }
    }
    story
}

/// Compare a connection's states with the expected story; the first difference, in
/// words.
pub(crate) fn compare(host: &str, actual: Option<&ConnStory>, expected: &[State]) -> Option<String> {
    let Some(actual) = actual else {
        let story: Vec<&str> = expected.iter().map(|s| s.name()).collect();
        return Some(format!("{host}: expected a connection going {}, saw none", story.join(", ")));
    };
    let got = actual.names();
    for (i, want) in expected.iter().enumerate() {
        match got.get(i) {
            Some(g) if g == want => {}
            Some(g) if i == 0 => return Some(format!("{host}: expected to start in {want}, got {g}")),
            Some(g) => return Some(format!("{host}: expected {want} after {}, got {g}", expected[i - 1])),
            None => {
                let prev = expected[i - 1];
                return Some(format!("{host}: expected {want} after {prev}, got nothing (stayed in {prev})"));
            }
        }
    }
    if let Some(extra) = got.get(expected.len()) {
        let last = expected.last().map_or("nothing", |s| s.name());
        return Some(format!("{host}: expected nothing after {last}, got {extra}"));
    }
    None
}

/// Every `send` of `host`, with its time.
pub(crate) fn sends<'t>(
    trace: &'t [TraceLine],
    host: &'t str,
) -> impl Iterator<Item = (u64, &'t SendEvent)> + 't {
    trace.iter().filter_map(move |l| match &l.event {
        Event::Send(s) if s.host == host => Some((l.t_us, s)),
        _ => None,
    })
}

/// Every link event of `kind` on `link`, with its time.
pub(crate) fn link_events<'t>(
    trace: &'t [TraceLine],
    kind: LinkEventKind,
    link: &'t str,
) -> Vec<(u64, &'t Seg)> {
    trace
        .iter()
        .filter_map(|l| match l.link_event() {
            Some((k, ev)) if k == kind && ev.link == link => Some((l.t_us, &ev.seg)),
            _ => None,
        })
        .collect()
}

/// The time-wait timer `set` lines of `host`'s `conn`: (time, deadline).
fn time_wait_sets(trace: &[TraceLine], host: &str, conn: &str) -> Vec<(u64, u64)> {
    trace
        .iter()
        .filter_map(|l| match &l.event {
            Event::Timer(t)
                if t.host == host && t.conn == conn && t.timer == "time-wait" && t.action == "set" =>
            {
                Some((l.t_us, t.at_us))
            }
            _ => None,
        })
        .collect()
}

/// Check the TIME-WAIT of host `h`: it must end in CLOSED exactly 2×MSL after its last
/// (re)start, as its timer said. With `restarts = Some(n)` the 2×MSL must have been
/// (re)started exactly `n` times after the first, else any number of times. Returns
/// the differences and how many restarts there were.
pub(crate) fn check_time_wait(ctx: &Ctx<'_>, h: usize, restarts: Option<usize>) -> (Vec<String>, usize) {
    let host = ctx.names[h];
    let two_msl = ctx.msl[h].saturating_mul(2).as_micros();
    let mut out = Vec::new();
    let Some(story) = story_of(ctx.trace, host) else { return (out, 0) };
    let Some(entered) = story.first(State::TimeWait) else { return (out, 0) };
    let Some(closed) = story.entered(State::TimeWait, State::Closed) else { return (out, 0) };
    let sets: Vec<(u64, u64)> = time_wait_sets(ctx.trace, host, &story.conn)
        .into_iter()
        .filter(|(t, _)| *t >= entered && *t <= closed)
        .collect();
    let Some(&(last_t, last_at)) = sets.last() else {
        out.push(format!("{host}: no 2×MSL timer was set in TIME-WAIT"));
        return (out, 0);
    };
    let n_restarts = sets.len() - 1;
    if closed - last_t != two_msl {
        out.push(format!(
            "{host}: TIME-WAIT lasted {} after its last (re)start, expected 2×MSL = {}",
            fmt_ms(closed - last_t),
            fmt_ms(two_msl)
        ));
    }
    if last_at != closed {
        out.push(format!(
            "{host}: left TIME-WAIT at {} but its 2×MSL timer was due at {}",
            fmt_ms(closed),
            fmt_ms(last_at)
        ));
    }
    match restarts {
        Some(0) if n_restarts > 0 => {
            out.push(format!("{host}: 2×MSL restarted {n_restarts} time(s), expected no restart"))
        }
        Some(0) if closed - entered != two_msl => out.push(format!(
            "{host}: TIME-WAIT lasted {}, expected 2×MSL = {}",
            fmt_ms(closed - entered),
            fmt_ms(two_msl)
        )),
        Some(n) if n_restarts != n => {
            out.push(format!("{host}: 2×MSL restarted {n_restarts} time(s), expected {n}"))
        }
        _ => {}
    }
    (out, n_restarts)
}

/// The outcome name of a close reason, as custom scenarios spell it.
pub(crate) fn outcome_name(r: Option<CloseReason>) -> &'static str {
    match r {
        None => "none",
        Some(CloseReason::Normal) => "normal",
        Some(CloseReason::Error(ConnError::Refused)) => "refused",
        Some(CloseReason::Error(ConnError::Reset)) => "reset",
        Some(CloseReason::Error(ConnError::TimedOut)) => "timed-out",
        Some(CloseReason::Error(ConnError::Aborted)) => "aborted",
        Some(CloseReason::Error(_)) => "error",
    }
}

/// `receiver` read exactly what `sender` sent (count and hash).
pub(crate) fn check_delivery(ctx: &Ctx<'_>, sender: usize, receiver: usize) -> Option<String> {
    let (s, r) = (&ctx.hosts[sender], &ctx.hosts[receiver]);
    if r.bytes_received != s.bytes_sent {
        return Some(format!(
            "{}: read {} bytes, but {} sent {}",
            r.name, r.bytes_received, s.name, s.bytes_sent
        ));
    }
    if r.received_hash != s.sent_hash {
        return Some(format!(
            "{}: the {} bytes read differ from those {} sent (hash {:016x} vs {:016x})",
            r.name, r.bytes_received, s.name, r.received_hash, s.sent_hash
        ));
    }
    None
}

/// The check of a custom scenario.
fn custom(e: &CustomExpect, ctx: &Ctx<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (h, states) in &e.states {
        let story = story_of(ctx.trace, ctx.names[*h]);
        out.extend(compare(ctx.names[*h], story.as_ref(), states));
    }
    for (h, n) in &e.received {
        let got = ctx.hosts[*h].bytes_received;
        if got != *n {
            out.push(format!("{}: read {got} bytes, expected {n}", ctx.names[*h]));
        }
    }
    if e.intact && ctx.hosts.len() == 2 {
        out.extend(check_delivery(ctx, 0, 1));
        out.extend(check_delivery(ctx, 1, 0));
    }
    for (h, want) in &e.outcome {
        let got = outcome_name(ctx.hosts[*h].outcome);
        if got != want {
            out.push(format!("{}: connection ended {got}, expected {want}", ctx.names[*h]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(states: &[State]) -> ConnStory {
        ConnStory { conn: "c".into(), states: states.iter().map(|s| (0, *s)).collect() }
    }

    #[test]
    fn differences_name_the_expected_and_the_actual_state() {
        use State::*;
        let want = [Established, FinWait1, FinWait2, TimeWait];
        let got = story(&[Established, FinWait1, Closing, TimeWait]);
        assert_eq!(
            compare("client", Some(&got), &want).as_deref(),
            Some("client: expected FIN-WAIT-2 after FIN-WAIT-1, got CLOSING")
        );
        let short = story(&[Established, FinWait1]);
        assert_eq!(
            compare("client", Some(&short), &want).as_deref(),
            Some("client: expected FIN-WAIT-2 after FIN-WAIT-1, got nothing (stayed in FIN-WAIT-1)")
        );
        let long = story(&[Established, FinWait1, FinWait2, TimeWait, Closed]);
        assert_eq!(
            compare("client", Some(&long), &want).as_deref(),
            Some("client: expected nothing after TIME-WAIT, got CLOSED")
        );
        assert_eq!(compare("client", Some(&story(&want)), &want), None);
    }

    #[test]
    fn milliseconds_print_compactly() {
        assert_eq!(fmt_ms(60_000_000), "60000 ms");
        assert_eq!(fmt_ms(10_500), "10.5 ms");
    }
}
