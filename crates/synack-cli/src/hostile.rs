//! `synack sim syn-flood` and `synack sim blind-attacker`: attacks at scale, each
//! printing a report and exiting with status 1 when its goal is missed.

use crate::campaign::number;
use crate::CliError;
use std::process::ExitCode;
use std::time::Instant;
use synack::{Duration, StackStats, SynCookies};
use synack_sim::hostile::{run_attack, run_flood, AttackConfig, FloodConfig, SERVER};

/// Arguments of `synack sim syn-flood`.
#[derive(clap::Args, Debug)]
pub(crate) struct FloodArgs {
    /// Spoofed SYNs, from random addresses of 192.0.2.0/24 and random ports.
    #[arg(long, value_name = "N", default_value = "100000", allow_hyphen_values = true)]
    syns: String,
    /// How long the flood lasts, in seconds (the SYNs are spread evenly).
    #[arg(long, value_name = "S", default_value = "10", allow_hyphen_values = true)]
    seconds: String,
    /// Legitimate clients connecting while the flood goes on.
    #[arg(long, value_name = "N", default_value = "100", allow_hyphen_values = true)]
    clients: String,
    /// The listener's backlog.
    #[arg(long, value_name = "N", default_value = "128", allow_hyphen_values = true)]
    backlog: String,
    /// The server's SYN cookies: off, when-full or always.
    #[arg(long, value_name = "MODE", default_value = "when-full")]
    syn_cookies: String,
    /// Seed of the spoofed addresses, ports and sequence numbers.
    #[arg(long, value_name = "S", default_value = "1", allow_hyphen_values = true)]
    seed: String,
}

/// Arguments of `synack sim blind-attacker`.
#[derive(clap::Args, Debug)]
pub(crate) struct AttackArgs {
    /// Established connections carrying data both ways.
    #[arg(long, value_name = "N", default_value = "100", allow_hyphen_values = true)]
    connections: String,
    /// Forged segments per second (RST, SYN and data, in equal shares).
    #[arg(long, value_name = "N", default_value = "1000", allow_hyphen_values = true)]
    rate: String,
    /// How long the attack lasts, in seconds.
    #[arg(long, value_name = "S", default_value = "10", allow_hyphen_values = true)]
    seconds: String,
    /// Share (0 to 1) of guesses placed inside the victim's receive window; the rest
    /// are uniformly random over the 2^32 sequence numbers.
    #[arg(long, value_name = "P", default_value = "0.1", allow_hyphen_values = true)]
    in_window: String,
    /// Whether the hosts negotiate TCP timestamps (on or off); with them, forged
    /// segments must also get past PAWS.
    #[arg(long, value_name = "ON|OFF", default_value = "on")]
    timestamps: String,
    /// Whether the hosts defend with RFC 5961 challenge ACKs (on or off); off shows
    /// what the attack does to an RFC 793 stack.
    #[arg(long, value_name = "ON|OFF", default_value = "on")]
    rfc5961: String,
    /// Seed of the attacker's guesses.
    #[arg(long, value_name = "S", default_value = "1", allow_hyphen_values = true)]
    seed: String,
}

fn cookies(text: &str) -> Result<SynCookies, CliError> {
    match text {
        "off" => Ok(SynCookies::Off),
        "when-full" => Ok(SynCookies::WhenFull),
        "always" => Ok(SynCookies::Always),
        other => Err(CliError(format!("--syn-cookies {other:?}: expected off, when-full or always"))),
    }
}

fn on_off(option: &str, text: &str) -> Result<bool, CliError> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(CliError(format!("--{option} {other:?}: expected on or off"))),
    }
}

fn share(option: &str, text: &str) -> Result<f64, CliError> {
    match text.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(CliError(format!("--{option} {text:?}: expected a number from 0 to 1"))),
    }
}

/// Peak resident set size of this process (Linux), bytes.
fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_micros() as f64 / 1000.0)
}

fn stats_line(s: &StackStats) -> String {
    format!(
        "syn_cookies_sent={} syn_cookies_validated={} syn_cookies_rejected={} syn_dropped={} \
         half_open_recycled={} listen_overflows={} rst_sent={} challenge_acks={} \
         challenge_acks_suppressed={} unacceptable={} paws_rejected={} missing_timestamps={} \
         retransmissions={} control_dropped={}",
        s.syn_cookies_sent,
        s.syn_cookies_validated,
        s.syn_cookies_rejected,
        s.syn_dropped,
        s.half_open_recycled,
        s.listen_overflows,
        s.rst_sent,
        s.challenge_acks,
        s.challenge_acks_suppressed,
        s.unacceptable,
        s.paws_rejected,
        s.missing_timestamps,
        s.retransmissions,
        s.control_dropped
    )
}

fn verdict(name: &str, problems: &[String]) -> ExitCode {
    if problems.is_empty() {
        println!("{name}: goal met");
        ExitCode::SUCCESS
    } else {
        println!("{name}: goal MISSED");
        for p in problems {
            println!("  - {p}");
        }
        ExitCode::from(1)
    }
}

/// `synack sim syn-flood`.
pub(crate) fn flood(args: &FloodArgs) -> Result<ExitCode, CliError> {
    let cfg = FloodConfig {
        spoofed_syns: number("syns", &args.syns, 0, 100_000_000)?,
        duration: Duration::from_secs(number("seconds", &args.seconds, 1, 3600)?),
        clients: number("clients", &args.clients, 1, 10_000)? as usize,
        backlog: number("backlog", &args.backlog, 1, 1 << 20)? as usize,
        syn_cookies: cookies(&args.syn_cookies)?,
        seed: number("seed", &args.seed, 0, u64::MAX)?,
        ..FloodConfig::default()
    };
    let started = Instant::now();
    let r = run_flood(&cfg, None);
    let secs = started.elapsed().as_secs_f64();
    let per_s = cfg.spoofed_syns as f64 / (cfg.duration.as_micros() as f64 / 1e6);
    println!(
        "syn-flood: {} spoofed SYNs over {} s ({per_s:.0}/s) from 192.0.2.0/24 against {SERVER} (backlog {}, \
         SYN cookies {}), {} legitimate clients connecting meanwhile",
        cfg.spoofed_syns,
        cfg.duration.as_micros() / 1_000_000,
        cfg.backlog,
        args.syn_cookies,
        cfg.clients
    );
    let mut hs: Vec<Duration> = r.clients.iter().filter_map(|c| c.handshake).collect();
    hs.sort();
    let accepted = r.clients.iter().filter(|c| c.accepted).count();
    let completed = r.clients.iter().filter(|c| c.completed).count();
    println!(
        "legitimate clients: {} connected, {accepted} accepted, {completed} completed their exchange \
         (handshake median {}, max {})",
        hs.len(),
        hs.get(hs.len() / 2).map_or("-".into(), |d| ms(*d)),
        hs.last().map_or("-".into(), |d| ms(*d))
    );
    println!(
        "server peak: {} connections (bound: backlog + clients = {}), {} TIME-WAIT records; heap bytes \
         are measured by `cargo run --release -p synack-sim --example syn_flood_heap`",
        r.peak_connections,
        r.connection_bound(),
        r.peak_time_wait
    );
    println!("server counters: {}", stats_line(&r.server));
    println!("network: {} replies to spoofed sources dropped (no such host)", r.replies_to_spoofed);
    println!(
        "end: quiet at {:.1} s of virtual time: {} connections, {} TIME-WAIT records, {}; {:.1} s of real \
         time{}",
        r.end.as_micros() as f64 / 1e6,
        r.left.0,
        r.left.1,
        if r.left.2 { "a timer armed" } else { "no timer" },
        secs,
        peak_rss().map_or(String::new(), |b| format!(", process peak RSS {}", mib(b)))
    );
    Ok(verdict("syn-flood", &r.problems()))
}

/// `synack sim blind-attacker`.
pub(crate) fn attack(args: &AttackArgs) -> Result<ExitCode, CliError> {
    let cfg = AttackConfig {
        connections: number("connections", &args.connections, 1, 10_000)? as usize,
        rate: number("rate", &args.rate, 1, 1_000_000)?,
        duration: Duration::from_secs(number("seconds", &args.seconds, 1, 3600)?),
        in_window: share("in-window", &args.in_window)?,
        timestamps: on_off("timestamps", &args.timestamps)?,
        rfc5961: on_off("rfc5961", &args.rfc5961)?,
        seed: number("seed", &args.seed, 0, u64::MAX)?,
        ..AttackConfig::default()
    };
    let started = Instant::now();
    let r = run_attack(&cfg);
    let secs = started.elapsed().as_secs_f64();
    let i = &r.injected;
    println!(
        "blind-attacker: {} forged segments ({}/s for {} s) into {} established connections carrying data \
         both ways ({} B every {} each way)",
        i.total(),
        cfg.rate,
        cfg.duration.as_micros() / 1_000_000,
        r.established,
        cfg.chunk,
        ms(cfg.interval)
    );
    println!(
        "forged: {} RST, {} SYN, {} data; {} of them in-window guesses ({:.0}%), the rest uniformly random; \
         timestamps {}, RFC 5961 {}",
        i.rst,
        i.syn,
        i.data,
        i.in_window,
        cfg.in_window * 100.0,
        if cfg.timestamps {
            "on (forged TSvals: the peer's latest when in-window, else random)"
        } else {
            "off"
        },
        if cfg.rfc5961 { "on" } else { "off" }
    );
    println!(
        "connections: {} disrupted of {}; {} bytes delivered intact",
        r.disrupted.len(),
        r.established,
        r.bytes_delivered
    );
    println!("server counters: {}", stats_line(&r.server));
    println!("client counters: {}", stats_line(&r.client));
    println!(
        "end: quiet at {:.1} s of virtual time, {} connections and {} TIME-WAIT records left; {:.1} s of real time",
        r.end.as_micros() as f64 / 1e6,
        r.left.0,
        r.left.1,
        secs
    );
    Ok(verdict("blind-attacker", &r.problems()))
}
