//! `synack sim campaign`: many seeds × random fault mixes, each a checked connection
//! lifecycle; a failing seed prints the command that replays it with its ladder.

use crate::output::{write_json, write_pcap};
use crate::{CliError, ColorChoice};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use synack_sim::campaign::{Campaign, CampaignReport, FaultCounts, Progress};
use synack_viz::ladder::{render_ladder, LadderOptions};

/// The most seeds `--ladder` prints ladders for.
const MAX_LADDERS: u64 = 20;

/// The modes of `synack sim` that are not one scenario.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum SimMode {
    /// Many seeds, each a connection lifecycle over random faults, checked.
    ///
    /// Each seed is a full connection lifecycle (data both ways, a random closing order)
    /// over its own random mix of loss, duplication, reordering, corruption and delay
    /// spikes, checked against the invariants: bytes delivered exactly once and in order
    /// or an explained error on both sides, both ends CLOSED, nothing left after 2×MSL.
    /// Ends with `N passed, N failed`; exit status 1 when a seed fails, and each failing
    /// seed prints the command that replays it with its ladder.
    Campaign(CampaignArgs),
    /// A SYN flood against a listener while legitimate clients connect.
    ///
    /// Spoofed SYNs from random addresses of 192.0.2.0/24: do the legitimate clients
    /// that connect meanwhile all get in, and does the server's state stay bounded?
    /// Prints a report; exit status 1 when the goal is missed.
    SynFlood(crate::hostile::FloodArgs),
    /// A blind attacker forging RST, SYN and data into established connections.
    ///
    /// The off-path attacker guesses sequence numbers (at random, and a share inside the
    /// window) against connections carrying data both ways: are any disrupted? Prints a
    /// report; exit status 1 when one is.
    BlindAttacker(crate::hostile::AttackArgs),
}

/// Arguments of `synack sim campaign`.
#[derive(clap::Args, Debug)]
pub(crate) struct CampaignArgs {
    /// How many seeds to run (at least 1).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    seeds: String,
    /// The first seed.
    #[arg(long, value_name = "S", default_value = "1", allow_hyphen_values = true)]
    from: String,
    /// Threads to run seeds on (the report is the same for any number).
    #[arg(long, value_name = "J", default_value = "1", allow_hyphen_values = true)]
    jobs: String,
    /// Print each seed's case, ladder and verdict (for replaying a few seeds).
    #[arg(long)]
    ladder: bool,
    /// With a single seed: write its trace as JSON Lines to F.
    #[arg(long, value_name = "F")]
    json: Option<PathBuf>,
    /// With a single seed: write every segment sent as pcapng to F.
    #[arg(long, value_name = "F")]
    pcap: Option<PathBuf>,
    /// Run every case over links narrower than its hosts' MTU (1500, 1280 or 1000
    /// bytes), which answer bigger datagrams with ICMP "fragmentation needed": Path MTU
    /// Discovery (RFC 1191) under the same faults. Cases whose hosts use 576 bytes run
    /// as they are.
    #[arg(long)]
    narrow_links: bool,
    /// Run every case with Explicit Congestion Notification (RFC 3168): the client
    /// asks for it, and the links mark CE instead of losing what their random loss
    /// picks when it is ECN-capable (SYNs, ACKs and retransmissions are still lost).
    #[arg(long)]
    ecn: bool,
    /// Give every connection of every case this user timeout (RFC 9293 3.10.8,
    /// `Config::user_timeout`): a side whose data stays unacknowledged that long under
    /// the faults gives up with a timeout, which the invariants accept as explained.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    user_timeout: Option<u64>,
    /// Run every case with CUBIC (RFC 9438) as both hosts' congestion control instead
    /// of Reno.
    #[arg(long)]
    cubic: bool,
    /// Run every case through a bottleneck each way: 0.5 to 50 Mbit/s with a router's
    /// buffer of 2 to 64 datagrams that drops what overflows it (drop-tail), on top of
    /// the case's faults: runs of losses at once, as slow start meets in a real queue.
    #[arg(long)]
    bottleneck: bool,
    /// Colour the ladder.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// A whole number for `--option`, within `min..=max`, or a one-line error.
pub(crate) fn number(option: &str, text: &str, min: u64, max: u64) -> Result<u64, CliError> {
    match text.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(CliError(format!("--{option} {v}: expected a whole number from {min} to {max}"))),
        Err(_) => Err(CliError(format!("--{option} {text:?}: expected a whole number from {min} to {max}"))),
    }
}

/// The command that replays `seed` of `campaign` alone, with its ladder.
pub(crate) fn replay_command(seed: u64, campaign: &Campaign) -> String {
    let narrow = if campaign.narrow_links { " --narrow-links" } else { "" };
    let ecn = if campaign.ecn { " --ecn" } else { "" };
    let ut = campaign
        .user_timeout
        .map_or(String::new(), |t| format!(" --user-timeout {}", t.as_micros() / 1_000_000));
    let cubic = if campaign.cubic { " --cubic" } else { "" };
    let bottleneck = if campaign.bottleneck { " --bottleneck" } else { "" };
    format!("synack sim campaign --seeds 1 --from {seed}{narrow}{ecn}{ut}{cubic}{bottleneck} --ladder")
}

impl CampaignArgs {
    /// The campaign these arguments ask for.
    fn campaign(&self, from: u64, seeds: u64, jobs: usize) -> Campaign {
        Campaign {
            from,
            seeds,
            jobs,
            narrow_links: self.narrow_links,
            ecn: self.ecn,
            user_timeout: self.user_timeout.map(synack::Duration::from_secs),
            cubic: self.cubic,
            bottleneck: self.bottleneck,
        }
    }
}

/// Run a mode of `synack sim`.
pub(crate) fn run_mode(mode: &SimMode) -> Result<ExitCode, CliError> {
    match mode {
        SimMode::Campaign(args) => run(args),
        SimMode::SynFlood(args) => crate::hostile::flood(args),
        SimMode::BlindAttacker(args) => crate::hostile::attack(args),
    }
}

fn run(args: &CampaignArgs) -> Result<ExitCode, CliError> {
    let seeds = number("seeds", &args.seeds, 1, u64::MAX)?;
    let from = number("from", &args.from, 0, u64::MAX)?;
    let jobs = number("jobs", &args.jobs, 1, 256)? as usize;
    if from.checked_add(seeds - 1).is_none() {
        return Err(CliError(format!("--from {from} --seeds {seeds}: the seeds run past {}", u64::MAX)));
    }
    if (args.json.is_some() || args.pcap.is_some()) && seeds != 1 {
        return Err(CliError("--json and --pcap write one seed's trace: use them with --seeds 1".into()));
    }
    if args.ladder && seeds > MAX_LADDERS {
        return Err(CliError(format!(
            "--ladder prints one ladder per seed: use it with at most {MAX_LADDERS} seeds"
        )));
    }
    if args.ladder || args.json.is_some() || args.pcap.is_some() {
        return replay(args, from, seeds);
    }
    let started = Instant::now();
    let step = (seeds / 20).max(1);
    let mut progress = |p: &Progress| {
        if seeds >= 100 && (p.done % step == 0 || p.done == p.total) {
            eprintln!(
                "campaign: {}/{} seeds ({}%), {} failed, {:.1} s",
                p.done,
                p.total,
                p.done * 100 / p.total,
                p.failed,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let campaign = args.campaign(from, seeds, jobs);
    let report = campaign.run(&mut progress);
    print!("{}", report_text(&report, &campaign, started.elapsed().as_secs_f64()));
    Ok(if report.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn faults_line(f: &FaultCounts) -> String {
    let mut marks = if f.ce_marks > 0 { format!(", ce_marks={}", f.ce_marks) } else { String::new() };
    if f.overflows > 0 {
        marks.push_str(&format!(", overflows={}", f.overflows));
    }
    format!(
        "drops={}, dups={}, reorders={}, corruptions={}, spikes={}{marks}",
        f.drops, f.dups, f.reorders, f.corruptions, f.spikes
    )
}

/// ` (seeds 3, 17)` (the first ten), or nothing.
fn seeds_list(seeds: &[u64]) -> String {
    if seeds.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = seeds.iter().take(10).map(u64::to_string).collect();
    let more = if seeds.len() > 10 { ", ..." } else { "" };
    format!(" (seeds {}{more})", shown.join(", "))
}

/// The closing report: each failure with its replay command, the summary lines, and
/// the plain `N passed, N failed` line last.
fn report_text(r: &CampaignReport, campaign: &Campaign, secs: f64) -> String {
    let mut out = String::new();
    for f in &r.failures {
        out += &format!("FAIL {}\n", f.case);
        for reason in &f.reasons {
            out += &format!("  - {reason}\n");
        }
        out += &format!("  replay: {}\n", replay_command(f.seed, campaign));
    }
    let last = r.from.saturating_add(r.seeds.saturating_sub(1));
    out += &format!(
        "campaign: {} seeds ({}..={}), {} failed, faults injected: {} ({} datagrams carried)\n",
        r.seeds,
        r.from,
        last,
        r.failures.len(),
        faults_line(&r.faults),
        r.faults.datagrams
    );
    out += &format!(
        "campaign: {} closed normally with every byte delivered both ways, {} aborted as planned, {} ended \
         in a timeout or reset caused by losses{}; {} retransmissions ({} of data the peer already \
         held; {} fast recoveries undone as reordering, {} of them by D-SACK, {} timeouts found \
         spurious), {} damaged \
         datagrams caught by checksums, {:.1} h of virtual time in {:.1} s\n",
        r.delivered,
        r.aborted,
        r.network_errors.len(),
        seeds_list(&r.network_errors),
        r.retransmissions,
        r.needless_retransmissions,
        r.recoveries_undone,
        r.recoveries_undone_by_dsack,
        r.spurious_timeouts,
        r.bad_checksums,
        r.virtual_us as f64 / 3.6e9,
        secs
    );
    out += &format!(
        "campaign: the longest case, seed {}, took {:.1} min of virtual time\n",
        r.longest.0,
        r.longest.1 as f64 / 6e7
    );
    out += &format!("{} passed, {} failed\n", r.passed, r.failures.len());
    out
}

/// `--ladder` (and `--json`, `--pcap`): run each seed alone and show it.
fn replay(args: &CampaignArgs, from: u64, seeds: u64) -> Result<ExitCode, CliError> {
    let mut failed = 0u64;
    let campaign = args.campaign(from, seeds, 1);
    for seed in from..=from.saturating_add(seeds - 1) {
        let run = campaign.case(seed).run();
        if args.ladder {
            println!("{}", run.case.describe());
            let opts = LadderOptions { color: args.color.enabled(), ..LadderOptions::default() };
            print!("{}", render_ladder(&run.result.trace, &opts));
            println!("\nfaults injected: {}", faults_line(&run.faults()));
        }
        if let Some(f) = &args.json {
            write_json(f, &run.result.trace)?;
        }
        if let Some(f) = &args.pcap {
            write_pcap(f, &run.result.trace)?;
        }
        match &run.verdict {
            Ok(()) => println!("check: campaign seed {seed}: every invariant holds"),
            Err(reasons) => {
                failed += 1;
                println!("check: campaign seed {seed}: FAILED");
                for r in reasons {
                    println!("  - {r}");
                }
            }
        }
    }
    println!("{} passed, {failed} failed", seeds - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use synack_sim::campaign::Failure;

    #[test]
    fn a_failed_seed_is_reported_with_its_reasons_and_the_command_that_replays_it() {
        let r = CampaignReport {
            from: 4700,
            seeds: 20,
            passed: 19,
            failures: vec![Failure {
                seed: 4711,
                case: "seed 4711: a case".into(),
                reasons: vec!["server: 1 TIME-WAIT record(s) left when the run ended".into()],
            }],
            ..CampaignReport::default()
        };
        let plain = Campaign::new(4700, 20, 1);
        let text = report_text(&r, &plain, 1.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FAIL seed 4711: a case");
        assert_eq!(lines[1], "  - server: 1 TIME-WAIT record(s) left when the run ended");
        assert_eq!(lines[2], "  replay: synack sim campaign --seeds 1 --from 4711 --ladder");
        assert!(lines[3].starts_with("campaign: 20 seeds (4700..=4719), 1 failed, faults injected: drops=0"));
        assert_eq!(lines.last(), Some(&"19 passed, 1 failed"));
        // A narrow-link campaign's failure replays with the same links.
        let narrow = report_text(&r, &Campaign { narrow_links: true, ..plain }, 1.0);
        assert_eq!(
            narrow.lines().nth(2),
            Some("  replay: synack sim campaign --seeds 1 --from 4711 --narrow-links --ladder")
        );
        // So does an ECN campaign's.
        let ecn = report_text(&r, &Campaign { narrow_links: true, ecn: true, ..plain }, 1.0);
        assert_eq!(
            ecn.lines().nth(2),
            Some("  replay: synack sim campaign --seeds 1 --from 4711 --narrow-links --ecn --ladder")
        );
        // And a user-timeout campaign's, with its timeout.
        let ut = Campaign { user_timeout: Some(synack::Duration::from_secs(20)), ..plain };
        assert_eq!(
            report_text(&r, &ut, 1.0).lines().nth(2),
            Some("  replay: synack sim campaign --seeds 1 --from 4711 --user-timeout 20 --ladder")
        );
        // And a CUBIC campaign's.
        assert_eq!(
            report_text(&r, &Campaign { cubic: true, ..plain }, 1.0).lines().nth(2),
            Some("  replay: synack sim campaign --seeds 1 --from 4711 --cubic --ladder")
        );
        // And a bottleneck campaign's.
        assert_eq!(
            report_text(&r, &Campaign { bottleneck: true, ..plain }, 1.0).lines().nth(2),
            Some("  replay: synack sim campaign --seeds 1 --from 4711 --bottleneck --ladder")
        );
    }

    #[test]
    fn numbers_are_checked_against_their_range_in_one_line() {
        assert_eq!(number("seeds", "12", 1, 100).ok(), Some(12));
        let e = number("seeds", "0", 1, 100).err().map(|e| e.0);
        assert_eq!(e.as_deref(), Some("--seeds 0: expected a whole number from 1 to 100"));
        let e = number("jobs", "two", 1, 256).err().map(|e| e.0);
        assert_eq!(e.as_deref(), Some("--jobs \"two\": expected a whole number from 1 to 256"));
    }
}
