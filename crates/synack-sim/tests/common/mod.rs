//! Helpers shared by the tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

use synack_sim::{builtin, builtin_names, run, Scenario, SimOptions, SimResult};
use synack_viz::{Event, SendEvent, TraceLine};

/// Every built-in scenario's name.
pub fn names() -> Vec<&'static str> {
    builtin_names().iter().map(|(n, _)| *n).collect()
}

pub fn scenario(name: &str) -> Scenario {
    builtin(name).unwrap_or_else(|| panic!("no built-in {name}"))
}

pub fn run_with(name: &str, opts: &SimOptions) -> SimResult {
    run(&scenario(name), opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn run_default(name: &str) -> SimResult {
    run_with(name, &SimOptions::default())
}

/// The state names (`from` of the first line, then every `to`) of `host`'s first
/// connection, listeners aside.
pub fn states(trace: &[TraceLine], host: &str) -> Vec<String> {
    let mut conn: Option<String> = None;
    let mut out = Vec::new();
    for line in trace {
        let Event::State(s) = &line.event else { continue };
        if s.host != host || s.conn.ends_with("-0.0.0.0:0") {
            continue;
        }
        match &conn {
            None => {
                conn = Some(s.conn.clone());
                out.push(s.from.clone());
                out.push(s.to.clone());
            }
            Some(c) if *c == s.conn => out.push(s.to.clone()),
            Some(_) => {}
        }
    }
    out
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The segments `host` sent, each with the time it was sent, in order.
pub fn sends<'t>(trace: &'t [TraceLine], host: &str) -> Vec<(u64, &'t SendEvent)> {
    trace
        .iter()
        .filter_map(|l| match &l.event {
            Event::Send(s) if s.host == host => Some((l.t_us, s)),
            _ => None,
        })
        .collect()
}

/// Every state change of `host`, any connection: (time, from, to).
pub fn transitions(trace: &[TraceLine], host: &str) -> Vec<(u64, String, String)> {
    trace
        .iter()
        .filter_map(|l| match &l.event {
            Event::State(s) if s.host == host => Some((l.t_us, s.from.clone(), s.to.clone())),
            _ => None,
        })
        .collect()
}

/// When (ms) `host` first reached `state`, any connection.
pub fn reached_ms(trace: &[TraceLine], host: &str, state: &str) -> Option<u64> {
    transitions(trace, host).into_iter().find(|(_, _, to)| to == state).map(|(t, _, _)| t / 1000)
}

/// The steps of a download, as scenario TOML to follow a scenario's hosts and links:
/// the server listens on port 80, accepts, sends `bytes` and closes; the client
/// connects, reads everything, and closes at the server's FIN.
pub fn download_steps(bytes: u64) -> String {
    format!(
        r#"
[[step]]
host = "server"
call = "listen"
port = 80
[[step]]
host = "server"
call = "accept"
on = "accepted"
[[step]]
host = "server"
call = "send"
bytes = {bytes}
[[step]]
host = "server"
call = "close"
[[step]]
host = "client"
call = "connect"
to = "server:80"
[[step]]
host = "client"
call = "recv"
on = "connected"
[[step]]
host = "client"
call = "close"
on = "peer-fin"
"#
    )
}
