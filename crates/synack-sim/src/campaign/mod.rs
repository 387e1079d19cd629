//! Randomised simulation campaigns: many seeds, each a full connection lifecycle over
//! its own mix of network faults, each checked against the same invariants.
//!
//! A seed draws a [`Case`]: per direction a fault mix (loss up to 30%, duplication,
//! reordering, corruption, delay spikes, delay and jitter), data both ways with random
//! sizes, and a [`CloseOrder`] (client first, server first, simultaneous, half-close
//! with data after the FIN, abort by either side). The case runs as an ordinary
//! scenario of the simulator, so a failing seed replays with its trace and ladder. Its
//! check (see `check.rs`) asserts:
//!
//! - every byte delivered exactly once and in order (the prefix a side read is
//!   compared with what its peer sent), or an explained error (reset, timed out,
//!   refused, one's own abort) reported on both sides;
//! - both ends CLOSED;
//! - no connection, TIME-WAIT record or timer left once the network went quiet for
//!   2×MSL (and the other longest timers);
//! - TIME-WAIT lasting exactly 2×MSL, every state change an edge of RFC 9293 Figure 5,
//!   no failed application call.
//!
//! ```
//! use synack_sim::campaign::Campaign;
//! let report = Campaign::new(1, 3, 1).run(&mut |_| {});
//! assert_eq!(report.passed, 3, "{:?}", report.failures);
//! ```

mod case;
pub(crate) mod check;

pub use case::{
    Case, CloseOrder, DirectionFaults, Side, StackKnobs, MAX_AFTER_FIN_BYTES, MAX_BYTES, MAX_CASE_TIME,
    MAX_LOSS,
};

use crate::error::SimError;
use crate::options::SimOptions;
use crate::result::SimResult;
use std::ops::AddAssign;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use synack::{CloseReason, Duration, StackStats};

/// What the check of a campaign case needs to know beyond the trace.
#[derive(Clone, Debug)]
pub(crate) struct CampaignExpect {
    pub(crate) order: CloseOrder,
    /// Bytes each side means to send: `[client, server]`.
    pub(crate) intended: [u64; 2],
    /// How long the run may go on after its last segment.
    pub(crate) quiet: Duration,
}

/// Faults the links injected, summed over links (and over cases).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Datagrams lost.
    pub drops: u64,
    /// Datagrams delivered twice.
    pub dups: u64,
    /// Datagrams overtaken by later ones.
    pub reorders: u64,
    /// Datagrams damaged (caught by the checksum).
    pub corruptions: u64,
    /// Delay spikes (link stalls).
    pub spikes: u64,
    /// Datagrams marked CE instead of lost ([`Case::with_ecn`]).
    pub ce_marks: u64,
    /// Datagrams a full router buffer dropped ([`Case::with_bottleneck`]; also counted
    /// in `drops`).
    pub overflows: u64,
    /// Datagrams the links carried.
    pub datagrams: u64,
}

impl AddAssign for FaultCounts {
    fn add_assign(&mut self, o: FaultCounts) {
        self.drops += o.drops;
        self.dups += o.dups;
        self.reorders += o.reorders;
        self.corruptions += o.corruptions;
        self.spikes += o.spikes;
        self.ce_marks += o.ce_marks;
        self.overflows += o.overflows;
        self.datagrams += o.datagrams;
    }
}

impl FaultCounts {
    /// The faults of one run.
    pub fn of(result: &SimResult) -> FaultCounts {
        let mut f = FaultCounts::default();
        for l in &result.links {
            f += FaultCounts {
                drops: l.lost + l.dropped,
                dups: l.duplicated,
                reorders: l.reordered,
                corruptions: l.corrupted,
                spikes: l.spikes,
                ce_marks: l.marked,
                overflows: l.overflowed,
                datagrams: l.carried,
            };
        }
        f
    }
}

/// How a case's connection ended, for the campaign's tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every byte both ways delivered, both connections closed normally.
    Delivered,
    /// A side aborted, as the case's closing order said, and the peer saw it.
    Aborted,
    /// Losses defeated the connection or its close: a side timed out, or was reset
    /// because its peer had given up first (an orphaned FIN-WAIT-2 timed out, or
    /// TIME-WAIT ended before a FIN retransmitted after lost ACKs came), and the check
    /// found it explained.
    NetworkError,
}

/// One case, run and checked.
#[derive(Clone, Debug)]
pub struct CaseRun {
    /// The case.
    pub case: Case,
    /// What the simulator recorded (up to the bound, if the run did not end).
    pub result: SimResult,
    /// Why the run stopped before its end (a timer that never stops, too many events),
    /// if it did.
    pub stopped: Option<SimError>,
    /// `Ok`, or every invariant that failed, in words.
    pub verdict: Result<(), Vec<String>>,
}

impl CaseRun {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.verdict.is_ok()
    }

    /// The faults the links injected.
    pub fn faults(&self) -> FaultCounts {
        FaultCounts::of(&self.result)
    }

    /// How the connection ended (meaningful when the case passed).
    pub fn ending(&self) -> Ending {
        let hosts = &self.result.hosts;
        let delivered = hosts.len() == 2
            && hosts.iter().all(|h| h.outcome == Some(CloseReason::Normal))
            && hosts[0].bytes_received == hosts[1].bytes_sent
            && hosts[1].bytes_received == hosts[0].bytes_sent;
        if delivered {
            Ending::Delivered
        } else if matches!(self.case.order, CloseOrder::Abort(_)) {
            Ending::Aborted
        } else {
            Ending::NetworkError
        }
    }
}

impl Case {
    /// The run options of the case: its seed, nothing overridden.
    pub fn options(&self) -> SimOptions {
        SimOptions { seed: self.seed, ..SimOptions::default() }
    }

    /// Run the case and check it.
    pub fn run(&self) -> CaseRun {
        let sc = self.scenario();
        let opts = self.options();
        let (result, stopped) = crate::engine::Engine::new(&sc, &opts).run_to_end(&opts);
        let mut problems = Vec::new();
        if let Some(e) = &stopped {
            problems.push(format!("the run did not end: {e}"));
        }
        if let Err(diffs) = &result.check {
            problems.extend(diffs.iter().cloned());
        }
        let verdict = if problems.is_empty() { Ok(()) } else { Err(problems) };
        CaseRun { case: self.clone(), result, stopped, verdict }
    }
}

/// A failed seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The seed (replay it alone to see its ladder).
    pub seed: u64,
    /// The case on one line.
    pub case: String,
    /// Every invariant that failed.
    pub reasons: Vec<String>,
}

/// Where a campaign stands, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Seeds run so far.
    pub done: u64,
    /// Seeds to run.
    pub total: u64,
    /// Seeds failed so far.
    pub failed: u64,
}

/// The outcome of a campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CampaignReport {
    /// The first seed.
    pub from: u64,
    /// Seeds run.
    pub seeds: u64,
    /// Seeds whose every invariant held.
    pub passed: u64,
    /// The others, by seed.
    pub failures: Vec<Failure>,
    /// Passed seeds whose bytes were all delivered both ways.
    pub delivered: u64,
    /// Passed seeds where a side aborted as the case said.
    pub aborted: u64,
    /// Passed seeds where losses defeated the connection or its close (a timeout, or a
    /// reset after the peer gave up), in order.
    pub network_errors: Vec<u64>,
    /// Faults injected, all seeds.
    pub faults: FaultCounts,
    /// Segments retransmitted, all seeds and hosts.
    pub retransmissions: u64,
    /// Data segments retransmitted whose sequence number the link had already
    /// delivered to the peer, all seeds and both directions
    /// ([`crate::SimResult::retransmissions`]): what recovery sent that the peer did not
    /// need. A delay spike or reordering makes some of them unavoidable; a rise shows
    /// recovery repeating what the receiver holds.
    pub needless_retransmissions: u64,
    /// Fast recoveries the stacks found spurious and undone (reordering), all seeds
    /// (`StackStats::recoveries_undone`).
    pub recoveries_undone: u64,
    /// Of those, the ones the peer proved spurious by D-SACKs for every retransmission,
    /// all seeds (`StackStats::recoveries_undone_by_dsack`).
    pub recoveries_undone_by_dsack: u64,
    /// Retransmission timeouts F-RTO found spurious (delay spikes), all seeds
    /// (`StackStats::spurious_timeouts`).
    pub spurious_timeouts: u64,
    /// Datagrams dropped by the stacks as damaged (bad checksum), all seeds.
    pub bad_checksums: u64,
    /// Virtual time simulated, all seeds, microseconds.
    pub virtual_us: u64,
    /// The case that took the most virtual time: (seed, microseconds).
    pub longest: (u64, u64),
}

/// A campaign: `seeds` seeds from `from` on, run on `jobs` threads. The report does not
/// depend on `jobs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Campaign {
    /// The first seed.
    pub from: u64,
    /// How many seeds.
    pub seeds: u64,
    /// Threads to run them on (at least one).
    pub jobs: usize,
    /// Run every case [`Case::narrowed`]: over links narrower than its hosts' MTU.
    pub narrow_links: bool,
    /// Run every case [`Case::with_ecn`]: with ECN, over links that mark CE.
    pub ecn: bool,
    /// Run every case [`Case::with_user_timeout`] with this timeout.
    pub user_timeout: Option<synack::Duration>,
    /// Run every case [`Case::with_cubic`]: CUBIC on both hosts.
    pub cubic: bool,
    /// Run every case [`Case::with_bottleneck`]: through a router's buffer each way.
    pub bottleneck: bool,
}

/// What a worker hands back for one seed.
struct Done {
    seed: u64,
    failure: Option<Failure>,
    ending: Ending,
    faults: FaultCounts,
    retransmissions: u64,
    needless: u64,
    undone: u64,
    undone_by_dsack: u64,
    spurious: u64,
    bad_checksums: u64,
    virtual_us: u64,
}

fn run_one(campaign: Campaign, seed: u64) -> Done {
    let run = campaign.case(seed).run();
    let failure = match &run.verdict {
        Ok(()) => None,
        Err(reasons) => Some(Failure { seed, case: run.case.describe(), reasons: reasons.clone() }),
    };
    // One stack counter, summed over the hosts.
    let total = |counter: fn(&StackStats) -> u64| run.result.hosts.iter().map(|h| counter(&h.stats)).sum();
    Done {
        seed,
        failure,
        ending: run.ending(),
        faults: run.faults(),
        retransmissions: total(|s| s.retransmissions),
        needless: ["client->server", "server->client"]
            .into_iter()
            .map(|link| run.result.retransmissions(link).needless)
            .sum(),
        undone: total(|s| s.recoveries_undone),
        undone_by_dsack: total(|s| s.recoveries_undone_by_dsack),
        spurious: total(|s| s.spurious_timeouts),
        bad_checksums: total(|s| s.bad_checksum),
        virtual_us: run.result.end_us,
    }
}

impl Campaign {
    /// `seeds` seeds from `from` on `jobs` threads, every case as [`Case::from_seed`]
    /// draws it (no narrow links, ECN, user timeout, CUBIC or bottleneck: set those
    /// fields after).
    pub fn new(from: u64, seeds: u64, jobs: usize) -> Campaign {
        Campaign {
            from,
            seeds,
            jobs,
            narrow_links: false,
            ecn: false,
            user_timeout: None,
            cubic: false,
            bottleneck: false,
        }
    }

    /// The case this campaign runs for `seed`: [`Case::from_seed`], narrowed, with ECN,
    /// CUBIC, a bottleneck and a user timeout as the campaign says.
    pub fn case(&self, seed: u64) -> Case {
        let case = Case::from_seed(seed);
        let case = if self.narrow_links { case.narrowed() } else { case };
        let case = if self.ecn { case.with_ecn() } else { case };
        let case = if self.cubic { case.with_cubic() } else { case };
        let case = if self.bottleneck { case.with_bottleneck() } else { case };
        match self.user_timeout {
            Some(t) => case.with_user_timeout(t),
            None => case,
        }
    }

    /// Run every seed; `progress` is called after each one, on the calling thread.
    pub fn run(&self, progress: &mut dyn FnMut(&Progress)) -> CampaignReport {
        let mut report = CampaignReport { from: self.from, seeds: self.seeds, ..CampaignReport::default() };
        let next = AtomicU64::new(0);
        let (tx, rx) = mpsc::channel::<Done>();
        let jobs = self.jobs.max(1).min(usize::try_from(self.seeds).unwrap_or(usize::MAX).max(1));
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                let tx = tx.clone();
                let next = &next;
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= self.seeds {
                        break;
                    }
                    if tx.send(run_one(*self, self.from.wrapping_add(i))).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            for (i, d) in rx.into_iter().enumerate() {
                let done = i as u64 + 1;
                report.faults += d.faults;
                report.retransmissions += d.retransmissions;
                report.needless_retransmissions += d.needless;
                report.recoveries_undone += d.undone;
                report.recoveries_undone_by_dsack += d.undone_by_dsack;
                report.spurious_timeouts += d.spurious;
                report.bad_checksums += d.bad_checksums;
                report.virtual_us += d.virtual_us;
                // The earliest seed among equals, whatever order the threads finish in.
                if (d.virtual_us, std::cmp::Reverse(d.seed))
                    > (report.longest.1, std::cmp::Reverse(report.longest.0))
                {
                    report.longest = (d.seed, d.virtual_us);
                }
                match d.failure {
                    Some(f) => report.failures.push(f),
                    None => {
                        report.passed += 1;
                        match d.ending {
                            Ending::Delivered => report.delivered += 1,
                            Ending::Aborted => report.aborted += 1,
                            Ending::NetworkError => report.network_errors.push(d.seed),
                        }
                    }
                }
                let p = Progress { done, total: self.seeds, failed: report.failures.len() as u64 };
                progress(&p);
            }
        });
        report.failures.sort_by_key(|f| f.seed);
        report.network_errors.sort_unstable();
        report
    }
}
