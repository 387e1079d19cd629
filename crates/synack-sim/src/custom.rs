//! Custom scenarios from TOML: see [`Scenario::from_toml_str`] for the format and
//! `examples/custom.toml` for a complete example.

use crate::error::ScenarioError;
use crate::rules::valid_flags;
use crate::scenario::{
    Action, CustomExpect, Expect, HostSpec, LinkParams, LinkSpec, Payload, RuleAction, RuleSpec, Scenario,
    SegMatch, StepSpec, Target, When, DEFAULT_MAX_EVENTS, DEFAULT_MAX_TIME,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::{Duration, Keepalive, State};

/// The longest duration a scenario may name: one day.
const MAX_MS: f64 = 86_400_000.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    name: Option<String>,
    description: Option<String>,
    max_events: Option<u64>,
    max_time_ms: Option<f64>,
    #[serde(default)]
    host: Vec<HostToml>,
    #[serde(default)]
    link: Vec<LinkToml>,
    #[serde(default)]
    rule: Vec<RuleToml>,
    #[serde(default)]
    step: Vec<StepToml>,
    expect: Option<ExpectToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostToml {
    name: String,
    ip: Option<String>,
    mtu: Option<u32>,
    msl_ms: Option<f64>,
    rto_initial_ms: Option<f64>,
    rto_min_ms: Option<f64>,
    delayed_ack_ms: Option<f64>,
    nagle: Option<bool>,
    window_scaling: Option<bool>,
    recv_buffer: Option<u32>,
    send_buffer: Option<u32>,
    syn_retries: Option<u32>,
    max_retries: Option<u32>,
    keepalive_idle_ms: Option<f64>,
    keepalive_interval_ms: Option<f64>,
    keepalive_probes: Option<u32>,
    ecn: Option<String>,
    congestion_control: Option<String>,
    hystart: Option<bool>,
    frto: Option<bool>,
    prr: Option<bool>,
    rack_reorder_timer: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkToml {
    link: String,
    delay_ms: Option<f64>,
    jitter_ms: Option<f64>,
    loss: Option<f64>,
    dup: Option<f64>,
    reorder: Option<f64>,
    reorder_delay_ms: Option<f64>,
    corrupt: Option<f64>,
    spike: Option<f64>,
    spike_delay_ms: Option<f64>,
    bandwidth_bps: Option<u64>,
    queue_bytes: Option<u64>,
    mtu: Option<u32>,
    icmp: Option<bool>,
    down_ms: Option<Vec<[f64; 2]>>,
    ecn_marks: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MatchToml {
    link: Option<String>,
    flags: Option<String>,
    has: Option<String>,
    payload: Option<bool>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum ActionToml {
    Drop,
    Delay,
    Duplicate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    link: Option<String>,
    flags: Option<String>,
    has: Option<String>,
    payload: Option<bool>,
    nth: Option<u32>,
    times: Option<u32>,
    action: ActionToml,
    delay_ms: Option<f64>,
    after: Option<MatchToml>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum CallToml {
    Listen,
    Connect,
    Accept,
    Send,
    Recv,
    Shutdown,
    Close,
    Abort,
    Reboot,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum OnToml {
    Connected,
    Accepted,
    PeerFin,
    Received,
    Closed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepToml {
    host: String,
    call: CallToml,
    at_ms: Option<f64>,
    on: Option<OnToml>,
    received: Option<u64>,
    after_ms: Option<f64>,
    port: Option<u16>,
    backlog: Option<usize>,
    to: Option<String>,
    local_port: Option<u16>,
    bytes: Option<u64>,
    text: Option<String>,
    urgent: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectToml {
    #[serde(default)]
    states: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    received: BTreeMap<String, u64>,
    #[serde(default)]
    intact: bool,
    #[serde(default)]
    outcome: BTreeMap<String, String>,
}

/// Outcomes an `[expect] outcome` may name.
const OUTCOMES: [&str; 6] = ["normal", "refused", "reset", "timed-out", "aborted", "none"];

/// Text printed in the ladder's heading, the trace and every message: no control
/// characters (a newline would break a line, an escape sequence drive the terminal).
fn one_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

fn toml_error(text: &str, e: &toml::de::Error) -> ScenarioError {
    let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    let message = e.message().lines().next().unwrap_or("invalid TOML").trim().to_string();
    ScenarioError::Toml { line, message }
}

fn ms(field: impl Into<String>, v: f64) -> Result<Duration, ScenarioError> {
    if !(v.is_finite() && (0.0..=MAX_MS).contains(&v)) {
        return Err(ScenarioError::Duration { field: field.into(), value: v });
    }
    Ok(Duration::from_micros((v * 1000.0).round() as u64))
}

fn opt_ms(field: impl Into<String>, v: Option<f64>) -> Result<Option<Duration>, ScenarioError> {
    v.map(|v| ms(field, v)).transpose()
}

fn probability(field: String, v: Option<f64>, default: f64) -> Result<f64, ScenarioError> {
    match v {
        None => Ok(default),
        Some(p) if p.is_finite() && (0.0..=1.0).contains(&p) => Ok(p),
        Some(p) => Err(ScenarioError::Probability { field, value: p }),
    }
}

fn out_of_range(field: String, value: impl ToString, allowed: &'static str) -> ScenarioError {
    ScenarioError::OutOfRange { field, value: value.to_string(), allowed }
}

/// Host index of `name`, or an error naming `context`.
fn host(sc: &Scenario, context: &str, name: &str) -> Result<usize, ScenarioError> {
    sc.host_index(name)
        .ok_or_else(|| ScenarioError::UnknownHost { context: context.into(), name: name.into() })
}

/// Parse `A->B` (or `A<->B` when `both` is allowed) into link indices.
fn links_named(sc: &Scenario, context: &str, text: &str, both: bool) -> Result<Vec<usize>, ScenarioError> {
    let bad = || ScenarioError::BadAddress { context: context.into(), value: text.into() };
    let (a, b, two_way) = match text.split_once("<->") {
        Some((a, b)) if both => (a, b, true),
        Some(_) => return Err(bad()),
        None => {
            let (a, b) = text.split_once("->").ok_or_else(bad)?;
            (a, b, false)
        }
    };
    let (a, b) = (host(sc, context, a.trim())?, host(sc, context, b.trim())?);
    if a == b {
        return Err(bad());
    }
    let mut out = Vec::new();
    for (f, t) in if two_way { vec![(a, b), (b, a)] } else { vec![(a, b)] } {
        out.push(sc.link_index(f, t).ok_or_else(bad)?);
    }
    Ok(out)
}

fn seg_match(sc: &Scenario, context: &str, m: MatchToml) -> Result<SegMatch, ScenarioError> {
    let link = match &m.link {
        Some(l) => links_named(sc, context, l, false)?.first().copied(),
        None => None,
    };
    for f in m.flags.iter().chain(&m.has) {
        if !valid_flags(f) {
            return Err(ScenarioError::BadFlags { context: context.into(), value: f.clone() });
        }
    }
    Ok(SegMatch { link, flags: m.flags, has: m.has, payload: m.payload })
}

fn add_host(sc: &mut Scenario, i: usize, h: HostToml) -> Result<(), ScenarioError> {
    let ctx = format!("host `{}`", h.name);
    if h.name.is_empty()
        || h.name.contains("->")
        || h.name.contains("<->")
        || h.name.contains(':')
        || !one_line(&h.name)
        || h.name.trim() != h.name
    {
        return Err(ScenarioError::BadAddress { context: format!("host #{}", i + 1), value: h.name });
    }
    if sc.host_index(&h.name).is_some() {
        return Err(ScenarioError::DuplicateHost { name: h.name });
    }
    let ip = match &h.ip {
        Some(text) => text
            .parse::<IpAddr>()
            .map_err(|_| ScenarioError::BadAddress { context: format!("{ctx}: ip"), value: text.clone() })?,
        None => IpAddr::V4(Ipv4Addr::new(192, 0, 2, u8::try_from(i + 1).unwrap_or(254))),
    };
    if ip.is_unspecified() || sc.hosts.iter().any(|o| o.ip == ip) {
        return Err(ScenarioError::DuplicateHost { name: ip.to_string() });
    }
    let mut cfg = Scenario::base_config();
    if let Some(mtu) = h.mtu {
        cfg.mtu = u16::try_from(mtu)
            .ok()
            .filter(|m| *m >= 68)
            .ok_or_else(|| out_of_range(format!("{ctx}: mtu"), mtu, "68..=65535"))?;
    }
    if let Some(d) = opt_ms(format!("{ctx}: msl_ms"), h.msl_ms)? {
        if d == Duration::ZERO {
            return Err(out_of_range(format!("{ctx}: msl_ms"), 0, "above 0"));
        }
        cfg.msl = d;
    }
    if let Some(d) = opt_ms(format!("{ctx}: rto_initial_ms"), h.rto_initial_ms)? {
        cfg.rto_initial = d;
    }
    if let Some(d) = opt_ms(format!("{ctx}: rto_min_ms"), h.rto_min_ms)? {
        cfg.rto_min = d;
    }
    if let Some(d) = opt_ms(format!("{ctx}: delayed_ack_ms"), h.delayed_ack_ms)? {
        if d >= Duration::from_millis(500) {
            return Err(out_of_range(format!("{ctx}: delayed_ack_ms"), d, "below 500 ms (RFC 9293 3.8.6.3)"));
        }
        cfg.delayed_ack = (d > Duration::ZERO).then_some(d);
    }
    cfg.nagle = h.nagle.unwrap_or(cfg.nagle);
    cfg.hystart = h.hystart.unwrap_or(cfg.hystart);
    cfg.frto = h.frto.unwrap_or(cfg.frto);
    cfg.prr = h.prr.unwrap_or(cfg.prr);
    cfg.rack_reorder_timer = h.rack_reorder_timer.unwrap_or(cfg.rack_reorder_timer);
    cfg.window_scaling = h.window_scaling.unwrap_or(cfg.window_scaling);
    if let Some(e) = &h.ecn {
        cfg.ecn = match e.as_str() {
            "off" => synack::Ecn::Off,
            "passive" => synack::Ecn::Passive,
            "active" => synack::Ecn::Active,
            other => {
                return Err(out_of_range(
                    format!("{ctx}: ecn"),
                    format!("{other:?}"),
                    "\"off\", \"passive\" or \"active\"",
                ))
            }
        };
    }
    if let Some(c) = &h.congestion_control {
        cfg.congestion_control = match c.as_str() {
            "reno" => synack::CongestionControl::Reno,
            "cubic" => synack::CongestionControl::Cubic,
            "none" => synack::CongestionControl::None,
            other => {
                return Err(out_of_range(
                    format!("{ctx}: congestion_control"),
                    format!("{other:?}"),
                    "\"reno\", \"cubic\" or \"none\"",
                ))
            }
        };
    }
    for (name, v, slot) in [
        ("recv_buffer", h.recv_buffer, &mut cfg.recv_buffer),
        ("send_buffer", h.send_buffer, &mut cfg.send_buffer),
    ] {
        if let Some(v) = v {
            if !(1024..=1 << 30).contains(&v) {
                return Err(out_of_range(format!("{ctx}: {name}"), v, "1024..=1073741824 bytes"));
            }
            *slot = v;
        }
    }
    cfg.syn_retries = h.syn_retries.unwrap_or(cfg.syn_retries);
    cfg.max_retries = h.max_retries.unwrap_or(cfg.max_retries);
    cfg.keepalive = keepalive(&ctx, &h)?;
    sc.hosts.push(HostSpec { name: h.name, ip, cfg });
    Ok(())
}

/// The host's keep-alive (RFC 9293 3.8.4): on when any of its three keys is given,
/// the others from [`Keepalive::default`].
fn keepalive(ctx: &str, h: &HostToml) -> Result<Option<Keepalive>, ScenarioError> {
    if h.keepalive_idle_ms.is_none() && h.keepalive_interval_ms.is_none() && h.keepalive_probes.is_none() {
        return Ok(None);
    }
    let mut ka = Keepalive::default();
    for (name, v, slot) in [
        ("keepalive_idle_ms", h.keepalive_idle_ms, &mut ka.idle),
        ("keepalive_interval_ms", h.keepalive_interval_ms, &mut ka.interval),
    ] {
        if let Some(d) = opt_ms(format!("{ctx}: {name}"), v)? {
            if d == Duration::ZERO {
                return Err(out_of_range(format!("{ctx}: {name}"), 0, "above 0"));
            }
            *slot = d;
        }
    }
    if let Some(n) = h.keepalive_probes {
        ka.probes = u8::try_from(n)
            .ok()
            .filter(|n| *n >= synack::Keepalive::MIN_PROBES)
            .ok_or_else(|| out_of_range(format!("{ctx}: keepalive_probes"), n, "2..=255 (MUST-29)"))?;
    }
    Ok(Some(ka))
}

/// `down_ms = [[FROM, TO], ...]`: windows of virtual time, each FROM before its TO.
fn outages(ctx: &str, windows: &[[f64; 2]]) -> Result<Vec<(Duration, Duration)>, ScenarioError> {
    windows
        .iter()
        .map(|&[from, to]| {
            let field = format!("{ctx}: down_ms");
            let (a, b) = (ms(field.clone(), from)?, ms(field.clone(), to)?);
            if a >= b {
                return Err(out_of_range(field, format!("[{from}, {to}]"), "[from, to] with from before to"));
            }
            Ok((a, b))
        })
        .collect()
}

fn set_link(sc: &mut Scenario, l: LinkToml) -> Result<(), ScenarioError> {
    let ctx = format!("link `{}`", l.link);
    for li in links_named(sc, &ctx, &l.link, true)? {
        let d = LinkParams::default();
        let p = LinkParams {
            delay: opt_ms(format!("{ctx}: delay_ms"), l.delay_ms)?.unwrap_or(d.delay),
            jitter: opt_ms(format!("{ctx}: jitter_ms"), l.jitter_ms)?.unwrap_or(d.jitter),
            loss: probability(format!("{ctx}: loss"), l.loss, d.loss)?,
            dup: probability(format!("{ctx}: dup"), l.dup, d.dup)?,
            reorder: probability(format!("{ctx}: reorder"), l.reorder, d.reorder)?,
            corrupt: probability(format!("{ctx}: corrupt"), l.corrupt, d.corrupt)?,
            reorder_delay: opt_ms(format!("{ctx}: reorder_delay_ms"), l.reorder_delay_ms)?,
            spike: probability(format!("{ctx}: spike"), l.spike, d.spike)?,
            spike_delay: match (l.spike, opt_ms(format!("{ctx}: spike_delay_ms"), l.spike_delay_ms)?) {
                (Some(p), None) if p > 0.0 => {
                    return Err(ScenarioError::MissingField { context: ctx, field: "spike_delay_ms" })
                }
                (_, d) => d.unwrap_or(Duration::ZERO),
            },
            bandwidth_bps: l.bandwidth_bps.unwrap_or(0),
            queue_bytes: match (l.queue_bytes, l.bandwidth_bps.unwrap_or(0)) {
                (Some(_), 0) => {
                    return Err(ScenarioError::Conflict {
                        context: ctx,
                        message: "queue_bytes needs bandwidth_bps (without a bandwidth nothing waits)".into(),
                    })
                }
                (Some(q), _) if q < 68 => {
                    return Err(out_of_range(format!("{ctx}: queue_bytes"), q, "at least 68"))
                }
                (q, _) => q.map(|q| usize::try_from(q).unwrap_or(usize::MAX)),
            },
            down: outages(&ctx, l.down_ms.as_deref().unwrap_or(&[]))?,
            mtu: match l.mtu {
                Some(m) if m < 68 => return Err(out_of_range(format!("{ctx}: mtu"), m, "at least 68")),
                Some(m) => Some(m as usize),
                None => None,
            },
            icmp: l.icmp.unwrap_or(d.icmp),
            ecn_marks: l.ecn_marks.unwrap_or(d.ecn_marks),
        };
        sc.links[li].params = p;
    }
    Ok(())
}

fn add_rule(sc: &mut Scenario, i: usize, r: RuleToml) -> Result<(), ScenarioError> {
    let ctx = format!("rule #{}", i + 1);
    let action = match (r.action, r.delay_ms) {
        (ActionToml::Delay, Some(d)) => RuleAction::Delay(ms(format!("{ctx}: delay_ms"), d)?),
        (ActionToml::Delay, None) => {
            return Err(ScenarioError::MissingField { context: ctx, field: "delay_ms" })
        }
        (_, Some(_)) => {
            return Err(ScenarioError::Conflict {
                context: ctx,
                message: "delay_ms needs action = \"delay\"".into(),
            })
        }
        (ActionToml::Drop, None) => RuleAction::Drop,
        (ActionToml::Duplicate, None) => RuleAction::Duplicate,
    };
    if r.nth == Some(0) {
        return Err(out_of_range(format!("{ctx}: nth"), 0, "1 for the first match, 2 for the second, ..."));
    }
    let matcher =
        seg_match(sc, &ctx, MatchToml { link: r.link, flags: r.flags, has: r.has, payload: r.payload })?;
    let after = r.after.map(|a| seg_match(sc, &format!("{ctx}: after"), a)).transpose()?;
    sc.rules.push(RuleSpec { matcher, after, nth: r.nth.unwrap_or(1), times: r.times.unwrap_or(1), action });
    Ok(())
}

fn target(sc: &Scenario, ctx: &str, text: &str) -> Result<Target, ScenarioError> {
    let bad = || ScenarioError::BadAddress { context: format!("{ctx}: to"), value: text.into() };
    if let Some((name, port)) = text.rsplit_once(':') {
        if let Some(h) = sc.host_index(name) {
            let port: u16 = port.parse().map_err(|_| bad())?;
            if port == 0 {
                return Err(out_of_range(format!("{ctx}: to"), text, "a port above 0"));
            }
            return Ok(Target::Host(h, port));
        }
    }
    text.parse::<SocketAddr>().map(Target::Addr).map_err(|_| bad())
}

fn add_step(sc: &mut Scenario, i: usize, s: StepToml) -> Result<(), ScenarioError> {
    let ctx = format!("step #{} ({})", i + 1, s.host);
    let h = host(sc, &ctx, &s.host)?;
    let when = match (s.at_ms, s.on, s.received) {
        (Some(_), Some(_), _) => {
            return Err(ScenarioError::Conflict {
                context: ctx,
                message: "give either at_ms or on, not both".into(),
            })
        }
        (_, Some(OnToml::Received), None) => {
            return Err(ScenarioError::MissingField { context: ctx, field: "received" })
        }
        (_, on, Some(_)) if on != Some(OnToml::Received) => {
            return Err(ScenarioError::Conflict {
                context: ctx,
                message: "received needs on = \"received\"".into(),
            })
        }
        (Some(t), None, _) => When::At(ms(format!("{ctx}: at_ms"), t)?),
        (None, None, _) => When::Previous,
        (None, Some(on), n) => match on {
            OnToml::Connected => When::Connected,
            OnToml::Accepted => When::Accepted,
            OnToml::PeerFin => When::PeerFin,
            OnToml::Closed => When::Closed,
            OnToml::Received => When::Received(n.unwrap_or(0)),
        },
    };
    let delay = opt_ms(format!("{ctx}: after_ms"), s.after_ms)?.unwrap_or(Duration::ZERO);
    let unused = |field: &str, present: bool| -> Result<(), ScenarioError> {
        if present {
            return Err(ScenarioError::Conflict {
                context: ctx.clone(),
                message: format!("`{field}` does not apply to this call"),
            });
        }
        Ok(())
    };
    let call = s.call;
    let urgent = s.urgent.unwrap_or(false);
    let send = |p| if urgent { Action::SendUrgent(p) } else { Action::Send(p) };
    unused("port", s.port.is_some() && call != CallToml::Listen)?;
    unused("backlog", s.backlog.is_some() && call != CallToml::Listen)?;
    unused("to", s.to.is_some() && call != CallToml::Connect)?;
    unused("local_port", s.local_port.is_some() && call != CallToml::Connect)?;
    unused("bytes", s.bytes.is_some() && call != CallToml::Send)?;
    unused("text", s.text.is_some() && call != CallToml::Send)?;
    unused("urgent", s.urgent.is_some() && call != CallToml::Send)?;
    let action = match call {
        CallToml::Listen => {
            let port =
                s.port.ok_or_else(|| ScenarioError::MissingField { context: ctx.clone(), field: "port" })?;
            if port == 0 {
                return Err(out_of_range(format!("{ctx}: port"), 0, "1..=65535"));
            }
            Action::Listen { port, backlog: s.backlog.unwrap_or(0) }
        }
        CallToml::Connect => {
            let to =
                s.to.as_deref()
                    .ok_or_else(|| ScenarioError::MissingField { context: ctx.clone(), field: "to" })?;
            if s.local_port == Some(0) {
                return Err(out_of_range(format!("{ctx}: local_port"), 0, "1..=65535"));
            }
            let to_where = target(sc, &ctx, to)?;
            let own = match to_where {
                Target::Host(t, _) => t == h,
                Target::Addr(a) => sc.hosts.get(h).is_some_and(|me| me.ip == a.ip()),
            };
            if own {
                // The simulator joins hosts by links and has no loopback: the SYN would
                // go nowhere.
                return Err(ScenarioError::Conflict {
                    context: ctx,
                    message: format!("`{to}` is the host itself; the simulator has no loopback link"),
                });
            }
            Action::Connect { to: to_where, local_port: s.local_port }
        }
        CallToml::Send => match (s.bytes, s.text) {
            (Some(n), None) if n <= 1 << 30 => send(Payload::Pattern(n)),
            (Some(n), None) => return Err(out_of_range(format!("{ctx}: bytes"), n, "at most 1073741824")),
            (None, Some(t)) => send(Payload::Text(t)),
            (None, None) => return Err(ScenarioError::MissingField { context: ctx, field: "bytes" }),
            (Some(_), Some(_)) => {
                return Err(ScenarioError::Conflict {
                    context: ctx,
                    message: "give either bytes or text".into(),
                })
            }
        },
        CallToml::Accept => Action::Accept,
        CallToml::Recv => Action::Recv,
        CallToml::Shutdown => Action::Shutdown,
        CallToml::Close => Action::Close,
        CallToml::Abort => Action::Abort,
        CallToml::Reboot => Action::Reboot,
    };
    sc.steps.push(StepSpec { host: h, when, delay, action });
    Ok(())
}

fn expectation(sc: &Scenario, e: ExpectToml) -> Result<CustomExpect, ScenarioError> {
    let mut out = CustomExpect { intact: e.intact, ..CustomExpect::default() };
    for (name, states) in e.states {
        let ctx = format!("expect.states.{name}");
        let h = host(sc, "expect.states", &name)?;
        let parsed = states
            .iter()
            .map(|s| {
                State::from_name(s)
                    .ok_or_else(|| ScenarioError::BadState { context: ctx.clone(), value: s.clone() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.states.push((h, parsed));
    }
    for (name, n) in e.received {
        out.received.push((host(sc, "expect.received", &name)?, n));
    }
    if e.intact && sc.hosts.len() != 2 {
        return Err(ScenarioError::Conflict {
            context: "expect.intact".into(),
            message: "needs exactly two hosts".into(),
        });
    }
    for (name, o) in e.outcome {
        let h = host(sc, "expect.outcome", &name)?;
        if !OUTCOMES.contains(&o.as_str()) {
            return Err(out_of_range(
                format!("expect.outcome.{name}"),
                o,
                "normal, refused, reset, timed-out, aborted, none",
            ));
        }
        out.outcome.push((h, o));
    }
    Ok(out)
}

impl Scenario {
    /// A custom scenario from TOML text. Errors are one line naming the problem (with
    /// the line number for syntax and type errors).
    ///
    /// # Format
    ///
    /// Durations are milliseconds (`_ms`, integers or decimals), probabilities lie in
    /// `0..=1`. Unknown keys are errors.
    ///
    /// ```toml
    /// name = "my-scenario"            # optional; default "custom"
    /// description = "one line"        # optional
    /// max_events = 1000000            # optional bound on processed events
    /// max_time_ms = 3600000           # optional bound on virtual time
    ///
    /// [[host]]                        # one per host, at least one
    /// name = "client"                 # used in the trace and in links (no "->" or ":")
    /// ip = "192.0.2.1"                # optional; default 192.0.2.N for the Nth host
    /// # optional stack knobs: mtu, msl_ms, rto_initial_ms, rto_min_ms, delayed_ack_ms
    /// # (0 = ACK at once), nagle, window_scaling, recv_buffer, send_buffer,
    /// # syn_retries, max_retries; keep-alive (off unless one is given):
    /// # keepalive_idle_ms, keepalive_interval_ms, keepalive_probes; ECN (RFC 3168):
    /// # ecn = "passive" (the default: agree when asked), "active" (ask) or "off";
    /// # congestion_control = "reno" (the default), "cubic" (RFC 9438) or "none";
    /// # hystart = false: CUBIC's initial slow start without HyStart++ (RFC 9406)
    /// # frto = false: the resend after a timeout without F-RTO (RFC 5682)
    /// # prr = false: SACK recovery without Proportional Rate Reduction (RFC 6937)
    /// # rack_reorder_timer = false: no RACK reordering timer (RFC 8985 6.3)
    ///
    /// [[link]]                        # every ordered pair of hosts has a link of
    /// link = "client->server"         # 10 ms delay and no faults; a [[link]] changes
    /// delay_ms = 10                   # one direction ("a->b") or both ("a<->b")
    /// jitter_ms = 0                   # extra delay, uniform in 0..=jitter
    /// loss = 0.0                      # probability of losing a datagram
    /// dup = 0.0                       # ... of delivering it twice
    /// reorder = 0.0                   # ... of holding it back reorder_delay_ms
    /// reorder_delay_ms = 10           #     (default: the delay, at least 1 ms)
    /// corrupt = 0.0                   # ... of flipping a bit (checksum fails)
    /// spike = 0.0                     # ... of stalling the link spike_delay_ms: it
    /// spike_delay_ms = 500            #     and all it carries meanwhile wait
    /// bandwidth_bps = 0               # serialization delay, FIFO; 0 = none
    /// queue_bytes = 150000            # the FIFO's buffer: drop-tail past it;
    ///                                 #     default none (needs bandwidth_bps)
    /// mtu = 1500                      # longer datagrams are dropped; default none
    /// icmp = true                     # ... and answered with "fragmentation needed"
    ///                                 #     (Packet Too Big for IPv6); false: silently
    /// down_ms = [[1000, 5000]]        # outages: from 1 s to 5 s it loses everything
    /// ecn_marks = false               # mark CE instead of losing what is ECN-capable
    ///
    /// [[rule]]                        # act on chosen segments
    /// link = "server->client"         # optional: only this direction
    /// flags = "F."                    # optional: exactly these tcpdump flags
    /// has = "F"                       # optional: at least these flag letters
    /// payload = false                 # optional: with (true) or without payload
    /// nth = 1                         # the 1st matching segment (default 1)
    /// times = 1                       # how many in a row (default 1; 0 = all)
    /// action = "delay"                # "drop", "delay" or "duplicate"
    /// delay_ms = 3000                 # for "delay"
    /// after = { link = "client->server", has = "F" }   # optional: count only
    ///                                 # segments sent after one matching this
    ///
    /// [[step]]                        # the applications, in order per host
    /// host = "server"
    /// call = "listen"                 # listen, connect, accept, send, recv,
    /// port = 80                       # shutdown, close, abort, reboot
    /// backlog = 8                     # listen: optional (0 = stack default)
    /// # reboot: the host crashes and restarts at once; its stack forgets every
    /// #   connection without a word, the application its handles
    /// # connect: to = "server:80" (or "192.0.2.9:80"), local_port = 49152 (optional)
    /// # send: bytes = 1000 (a deterministic pattern) or text = "GET /";
    /// #   urgent = true sends them as urgent data (RFC 9293 3.8.5)
    /// # recv: from then on the host reads everything as it arrives
    /// # when: right after the previous step of the host (default), or
    /// #   at_ms = 100, or on = "connected" | "accepted" | "peer-fin" | "closed" |
    /// #   "received" (with received = N bytes); after_ms = D waits D more
    ///
    /// [expect]                        # optional: the check
    /// states = { client = ["CLOSED", "SYN-SENT", "ESTABLISHED"] }  # first 4-tuple
    /// received = { server = 1000 }    # bytes each host read
    /// intact = true                   # two hosts: each read exactly what the other sent
    /// outcome = { client = "refused" }  # normal, refused, reset, timed-out, aborted, none
    /// ```
    ///
    /// Every check also validates each state change against RFC 9293 Figure 5 and
    /// reports failed application calls.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ScenarioError> {
        let file: FileToml = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        if file.host.is_empty() {
            return Err(ScenarioError::NoHosts);
        }
        let max_time = match file.max_time_ms {
            Some(0.0) => return Err(out_of_range("max_time_ms".into(), 0, "above 0")),
            v => opt_ms("max_time_ms", v)?.unwrap_or(DEFAULT_MAX_TIME),
        };
        let max_events = match file.max_events {
            Some(0) => return Err(out_of_range("max_events".into(), 0, "at least 1")),
            v => v.unwrap_or(DEFAULT_MAX_EVENTS),
        };
        for (field, text) in [("name", &file.name), ("description", &file.description)] {
            if let Some(t) = text.as_deref().filter(|t| !one_line(t)) {
                return Err(ScenarioError::BadAddress { context: field.into(), value: t.into() });
            }
        }
        let mut sc = Scenario {
            name: file.name.unwrap_or_else(|| "custom".into()),
            description: file.description.unwrap_or_else(|| "a custom scenario".into()),
            hosts: Vec::new(),
            links: Vec::new(),
            rules: Vec::new(),
            steps: Vec::new(),
            expect: Expect::Custom(CustomExpect::default()),
            max_events,
            max_time,
            release_on_error: false,
        };
        for (i, h) in file.host.into_iter().enumerate() {
            add_host(&mut sc, i, h)?;
        }
        for from in 0..sc.hosts.len() {
            for to in 0..sc.hosts.len() {
                if from != to {
                    sc.links.push(LinkSpec { from, to, params: LinkParams::default() });
                }
            }
        }
        for l in file.link {
            set_link(&mut sc, l)?;
        }
        for (i, r) in file.rule.into_iter().enumerate() {
            add_rule(&mut sc, i, r)?;
        }
        for (i, s) in file.step.into_iter().enumerate() {
            add_step(&mut sc, i, s)?;
        }
        if let Some(e) = file.expect {
            sc.expect = Expect::Custom(expectation(&sc, e)?);
        }
        Ok(sc)
    }
}
