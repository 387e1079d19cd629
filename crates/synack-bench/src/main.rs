//! `synack-bench`: every workload on synack and on smoltcp, alternating A B A B in one
//! process, one line per workload on stdout:
//!
//! ```text
//! bench=NAME unit=U synack=MEDIAN smoltcp=MEDIAN ratio=SYNACK_OVER_SMOLTCP runs=N
//! ```
//!
//! For figures where smaller is better (time, instructions, memory) the ratio is
//! smoltcp/synack, so that above 1 always favours synack. Workloads timed in alternating
//! runs add `pair_ratio=P`, the median of the per-pair ratios (see `report`), after
//! `runs`, and `pair_range=LO..HI`, the lowest and highest of them. Progress goes to
//! stderr.
//! Benchmarks print figures; nothing here asserts on wall-clock time.

#![deny(unsafe_code)]

mod alloc;
mod bulk;
mod churn;
mod floor;
mod link;
mod mem;
mod memcpy;
mod net;
mod probe;
mod report;
mod segment;
mod smol;
mod stopwatch;
mod sy;
mod valgrind;

use clap::Parser;
use report::{median, Better, Line};
use segment::Instr;
use std::time::Duration;

/// One of the two stacks, as the profiling and callgrind runs name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StackName {
    Synack,
    Smoltcp,
}

impl StackName {
    /// The name on the command line and in callgrind function globs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            StackName::Synack => "synack",
            StackName::Smoltcp => "smoltcp",
        }
    }
}

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// The workloads, in the order they run and print.
const WORKLOADS: &[&str] = &[
    "bulk_1500",
    "bulk_65535",
    "bulk_1500_ring",
    "bulk_1500_in_place",
    "churn",
    "churn_phases",
    "churn_10k_idle",
    "mem_idle_conn",
    "mem_time_wait",
    "rss_1m_idle",
    "segment_cost",
    "memcpy_limit",
    "copy_floor",
];

/// synack versus smoltcp, same workloads, same run.
#[derive(Parser, Debug)]
#[command(name = "synack-bench", version, about, long_about = None)]
struct Cli {
    /// Run everything small (CI: checks that it runs, not how fast).
    #[arg(long)]
    quick: bool,
    /// Run only these workloads (comma-separated or repeated): bulk_1500, bulk_65535,
    /// bulk_1500_ring, bulk_1500_in_place, churn, churn_phases, churn_10k_idle,
    /// mem_idle_conn, mem_time_wait, rss_1m_idle, segment_cost, memcpy_limit, copy_floor.
    #[arg(long, value_delimiter = ',', value_name = "NAME")]
    only: Vec<String>,
    /// Runs per stack, alternating synack and smoltcp [default: 5, or 1 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    runs: Option<u64>,
    /// Skip the callgrind counts (segment_cost_instr, churn_instr, churn_code,
    /// churn_hot_instr, churn_phase_*_instr, churn_phase_*_code).
    #[arg(long)]
    no_callgrind: bool,
    /// Internal: be the rss_1m_idle child with this many connections.
    #[arg(long, hide = true, value_name = "N")]
    rss_child: Option<usize>,
    /// Internal: be the callgrind child for this stack.
    #[arg(long, hide = true, value_name = "STACK", value_enum)]
    callgrind_child: Option<StackName>,
    /// Profiling: move exactly this many bytes in each bulk run (no time limit).
    #[arg(long, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    bulk_bytes: Option<u64>,
    /// Profiling: run exactly this many churn lifecycles of one stack (`--churn-stack`)
    /// after a warm-up of 1,000, the measured ones inside `churn_lifecycles_STACK` (for
    /// `valgrind --tool=callgrind --collect-atstart=no
    /// --toggle-collect='*churn_lifecycles_STACK*'`), and exit.
    #[arg(long, hide = true, value_name = "N")]
    churn_lifecycles: Option<u64>,
    /// Profiling: the stack of `--churn-lifecycles`.
    #[arg(long, hide = true, value_name = "STACK", value_enum, default_value = "synack")]
    churn_stack: StackName,
    /// synack's TIME-WAIT limit (`max_time_wait`) in churn and churn_10k_idle, instead
    /// of its default 262,144 records: shows what keeping TIME-WAIT state costs
    /// (smoltcp keeps none beyond the socket, which its churn reuses at once).
    #[arg(long, value_name = "RECORDS", value_parser = clap::value_parser!(u64).range(1..))]
    churn_time_wait_cap: Option<u64>,
    /// Run this many KiB of extra code (8-byte NOPs) in the middle of every churn and
    /// churn_phases lifecycle, of both stacks alike: how much slower a lifecycle gets,
    /// beyond what the NOPs take alone (printed as probe_alone_ns), is what the size of
    /// the code a lifecycle runs through costs on this machine (0 to 64).
    #[arg(long, value_name = "KIB", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=probe::MAX_KIB))]
    code_probe_kib: u64,
    /// Internal: segments for the callgrind child.
    #[arg(long, hide = true, default_value_t = 20_000)]
    segments: u64,
}

/// How big each workload is.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    bulk_total: u64,
    bulk_limit: Duration,
    churn_time: Duration,
    idle_conns: usize,
    mem_conns: usize,
    tw_synack: usize,
    tw_smoltcp: usize,
    rss_conns: usize,
    segments: u64,
    callgrind_segments: u64,
    callgrind_lifecycles: u64,
    verify_all: bool,
    /// A discarded bulk_1500 run per stack before the first workload (zero: none).
    warmup: Duration,
}

impl Sizes {
    fn full() -> Self {
        Sizes {
            bulk_total: 1 << 30,
            bulk_limit: Duration::from_secs(5),
            churn_time: Duration::from_millis(1500),
            idle_conns: 10_000,
            mem_conns: 10_000,
            tw_synack: 10_000,
            tw_smoltcp: 2_000,
            rss_conns: 1_000_000,
            segments: 200_000,
            callgrind_segments: 20_000,
            callgrind_lifecycles: 5_000,
            verify_all: false,
            warmup: Duration::from_secs(1),
        }
    }

    fn quick() -> Self {
        Sizes {
            bulk_total: 16 << 20,
            bulk_limit: Duration::from_millis(300),
            churn_time: Duration::from_millis(150),
            idle_conns: 1_000,
            mem_conns: 1_000,
            tw_synack: 1_000,
            tw_smoltcp: 200,
            rss_conns: 10_000,
            segments: 5_000,
            callgrind_segments: 2_000,
            callgrind_lifecycles: 500,
            verify_all: true,
            warmup: Duration::ZERO,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    if let Some(n) = cli.rss_child {
        mem::rss_child(n);
        return;
    }
    if let Some(stack) = cli.callgrind_child {
        segment::callgrind_child(stack, cli.segments);
        return;
    }
    let time_wait_cap = cli.churn_time_wait_cap.map(|c| usize::try_from(c).unwrap_or(usize::MAX));
    if let Some(n) = cli.churn_lifecycles {
        churn::profile(cli.churn_stack, n, time_wait_cap);
        return;
    }
    for name in &cli.only {
        if !WORKLOADS.contains(&name.as_str()) {
            eprintln!("synack-bench: unknown workload {name:?}; known: {}", WORKLOADS.join(", "));
            std::process::exit(2);
        }
    }
    let mut sizes = if cli.quick { Sizes::quick() } else { Sizes::full() };
    if let Some(b) = cli.bulk_bytes {
        sizes.bulk_total = b;
        sizes.bulk_limit = Duration::from_secs(3600);
    }
    // At least 1 (clap refuses 0); a count of runs fits any usize.
    let runs = cli.runs.map_or(if cli.quick { 1 } else { 5 }, |r| r as usize);
    let mut bench = Bench {
        sizes,
        runs,
        callgrind: !cli.no_callgrind,
        time_wait_cap,
        code_probe_kib: cli.code_probe_kib,
        pattern: bulk::Pattern::new(),
        bulk1500: None,
    };
    eprintln!(
        "synack-bench: {} runs per stack{}; smoltcp 0.14 (no congestion control), synack \
         CongestionControl::None; checksums on both; rates per {} time",
        runs,
        if cli.quick { ", quick sizes" } else { "" },
        if stopwatch::uses_cpu_time() { "on-CPU" } else { "wall" }
    );
    bench.warm_up();
    for name in WORKLOADS {
        if cli.only.is_empty() || cli.only.iter().any(|o| o == name) {
            bench.run(name);
        }
    }
}

/// Everything the workloads share.
struct Bench {
    sizes: Sizes,
    runs: usize,
    callgrind: bool,
    /// synack's `max_time_wait` in the churn workloads (`None`: its default).
    time_wait_cap: Option<usize>,
    /// `--code-probe-kib`.
    code_probe_kib: u64,
    pattern: bulk::Pattern,
    /// bulk_1500's medians, for memcpy_limit's percentages.
    bulk1500: Option<(f64, f64)>,
}

/// Print a result line (stdout, flushed at once so progress interleaves sensibly).
fn emit(line: Line<'_>) {
    println!("{line}");
}

impl Bench {
    /// One discarded bulk_1500 run per stack, `sizes.warmup` each. On this kind of
    /// shared VM the first seconds of a process ran slower (a full run's first
    /// bulk_1500 pairs measured 27 to 28 Gbit/s for synack, the last two 43 to 45),
    /// and the first workload's figures paid for it.
    fn warm_up(&self) {
        let limit = self.sizes.warmup;
        if limit.is_zero() {
            return;
        }
        eprintln!("warm-up: one discarded bulk_1500 run per stack, {} ms each", limit.as_millis());
        let p = bulk::Params { mtu: 1500, total: u64::MAX, limit, verify_all: false, api: bulk::Api::Direct };
        bulk::run_synack(&p, &self.pattern);
        bulk::run_smoltcp(&p, &self.pattern);
    }

    /// Alternate `a` (synack) and `b` (smoltcp) `runs` times.
    fn alternate(&self, name: &str, mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) -> Runs {
        let mut r = Runs { synack: Vec::new(), smoltcp: Vec::new() };
        for i in 0..self.runs {
            let x = a();
            eprintln!("  {name} run {}/{}: synack {}", i + 1, self.runs, report::fmt_value(Some(x)));
            r.synack.push(x);
            let y = b();
            eprintln!("  {name} run {}/{}: smoltcp {}", i + 1, self.runs, report::fmt_value(Some(y)));
            r.smoltcp.push(y);
        }
        r
    }

    fn run(&mut self, name: &str) {
        eprintln!("{name} ...");
        let s = self.sizes;
        let runs = self.runs;
        match name {
            "bulk_1500" | "bulk_65535" | "bulk_1500_ring" | "bulk_1500_in_place" => {
                let mtu = if name == "bulk_65535" { 65535 } else { 1500 };
                let p = bulk::Params {
                    mtu,
                    total: s.bulk_total,
                    limit: s.bulk_limit,
                    verify_all: s.verify_all,
                    api: match name {
                        "bulk_1500_in_place" => bulk::Api::InPlace,
                        "bulk_1500_ring" => bulk::Api::Copy,
                        _ => bulk::Api::Direct,
                    },
                };
                let pat = &self.pattern;
                let r = self.alternate(name, || bulk::run_synack(&p, pat), || bulk::run_smoltcp(&p, pat));
                let (a, b) = r.medians();
                if name == "bulk_1500" {
                    self.bulk1500 = a.zip(b);
                }
                emit(r.line(name, "Gbit/s", Better::Higher));
            }
            "churn" => {
                let t = s.churn_time;
                let r = self.alternate(
                    name,
                    || churn::SyChurn::new(0, self.time_wait_cap).with_code_probe(self.code_probe_kib).run(t),
                    || churn::SmolChurn::new(0).with_code_probe(self.code_probe_kib).run(t),
                );
                let extra =
                    format!("{}{}", self.time_wait_note(), self.probe_note()).trim_start().to_string();
                emit(Line { extra, ..r.line(name, "lifecycles/s", Better::Higher) });
                if self.callgrind {
                    self.churn_callgrind();
                }
            }
            "churn_phases" => {
                // Five figures per run: the runs alternate as in `alternate`.
                let t = s.churn_time;
                let mut r: Vec<Runs> =
                    churn::PHASES.iter().map(|_| Runs { synack: Vec::new(), smoltcp: Vec::new() }).collect();
                for i in 0..runs {
                    let a = churn::SyChurn::new(0, self.time_wait_cap)
                        .with_code_probe(self.code_probe_kib)
                        .run_phases(t);
                    let b = churn::SmolChurn::new(0).with_code_probe(self.code_probe_kib).run_phases(t);
                    eprintln!("  {name} run {}/{runs}: synack {a:.1?} smoltcp {b:.1?} ns", i + 1);
                    for (k, r) in r.iter_mut().enumerate() {
                        r.synack.push(a[k]);
                        r.smoltcp.push(b[k]);
                    }
                }
                for (phase, r) in churn::PHASES.iter().zip(&r) {
                    let bench = format!("churn_phase_{phase}");
                    let extra = format!("clock=wall{}{}", self.time_wait_note(), self.probe_note());
                    emit(Line { extra, ..r.line(&bench, "ns/lifecycle", Better::Lower) });
                }
                if self.callgrind {
                    self.churn_phases_callgrind();
                }
            }
            "churn_10k_idle" => {
                eprintln!("  opening {} idle connections in each stack", s.idle_conns);
                let mut sy = churn::SyChurn::new(s.idle_conns, self.time_wait_cap);
                let mut sm = churn::SmolChurn::new(s.idle_conns);
                let t = s.churn_time;
                let r = self.alternate(name, || sy.run(t), || sm.run(t));
                let extra = format!("idle={}{}", s.idle_conns, self.time_wait_note());
                emit(Line { extra, ..r.line(name, "lifecycles/s", Better::Higher) });
            }
            "mem_idle_conn" => {
                let a = mem::idle_conn_synack(s.mem_conns);
                let b = mem::idle_conn_smoltcp(s.mem_conns);
                let extra = format!("conns={} buffers={}", s.mem_conns, churn::BUFFER);
                emit(Line { extra, ..line(name, "bytes", Some(a), Some(b), Better::Lower, 1) });
            }
            "mem_time_wait" => {
                let a = mem::time_wait_synack(s.tw_synack);
                let b = mem::time_wait_smoltcp(s.tw_smoltcp);
                let extra = format!("entries_synack={} entries_smoltcp={}", s.tw_synack, s.tw_smoltcp);
                emit(Line { extra, ..line(name, "bytes", Some(a), Some(b), Better::Lower, 1) });
            }
            "rss_1m_idle" => {
                let r = mem::rss_1m_idle(s.rss_conns);
                let mib = r.map(|r| r.peak as f64 / (1 << 20) as f64);
                let extra = match r {
                    Some(r) => format!(
                        "conns={} base_mib={:.1} bytes_per_conn={:.0} smoltcp_note=linear_demux_and_per_socket_buffers",
                        r.conns,
                        r.base as f64 / (1 << 20) as f64,
                        (r.peak.saturating_sub(r.base)) as f64 / r.conns as f64
                    ),
                    None => format!("conns={}", s.rss_conns),
                };
                emit(Line { extra, ..line(name, "MiB", mib, None, Better::Lower, 1) });
            }
            "segment_cost" => {
                let n = s.segments;
                let r = self.alternate(
                    name,
                    || segment::run_synack(n, false).per_segment(),
                    || segment::run_smoltcp(n, false).per_segment(),
                );
                emit(r.line(name, "ns/segment", Better::Lower));
                let (ia, ib) = if self.callgrind {
                    eprintln!("  callgrind ({} segments per stack)", s.callgrind_segments);
                    (
                        segment::callgrind(StackName::Synack, s.callgrind_segments),
                        segment::callgrind(StackName::Smoltcp, s.callgrind_segments),
                    )
                } else {
                    (None, None)
                };
                let got = usize::from(ia.is_some() && ib.is_some());
                let mut extra = format!("tool=callgrind segments={}", s.callgrind_segments);
                if let (
                    Some(Instr { total: ta, memcpy: Some(ma) }),
                    Some(Instr { total: tb, memcpy: Some(mb) }),
                ) = (ia, ib)
                {
                    extra +=
                        &format!(" synack_excl_memcpy={:.0} smoltcp_excl_memcpy={:.0}", ta - ma, tb - mb);
                }
                let (ia, ib) = (ia.map(|i| i.total), ib.map(|i| i.total));
                emit(Line {
                    extra,
                    ..line("segment_cost_instr", "instr/segment", ia, ib, Better::Lower, got)
                });
            }
            "memcpy_limit" => {
                let p = s.copy_params();
                let pat = &self.pattern;
                // The same code on both sides: the spread of the two columns is the noise,
                // and a pair ratio would say nothing more.
                let (a, b) = self.alternate(name, || memcpy::run(&p, pat), || memcpy::run(&p, pat)).medians();
                let ceiling = median(&[a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)]);
                let extra = match (self.bulk1500, ceiling) {
                    (Some((x, y)), Some(c)) => {
                        format!(
                            "bulk_1500_synack_pct={:.1} bulk_1500_smoltcp_pct={:.1}",
                            100.0 * x / c,
                            100.0 * y / c
                        )
                    }
                    _ => String::new(),
                };
                emit(Line { extra, ..line(name, "Gbit/s", a, b, Better::Higher, runs) });
            }
            "copy_floor" => {
                let p = s.copy_params();
                let pat = &self.pattern;
                let r = self.alternate(
                    name,
                    || floor::run(floor::Design::FusedCopySum, &p, pat),
                    || floor::run(floor::Design::CopyThenSum, &p, pat),
                );
                let (a, b) = r.medians();
                // How close each bulk run came to its own floor, and the bulk_1500 ratio
                // synack would reach if nothing but its copies cost anything.
                let extra = match (self.bulk1500, a, b) {
                    (Some((x, y)), Some(fa), Some(fb)) => format!(
                        "bulk_1500_synack_pct_of_floor={:.1} bulk_1500_smoltcp_pct_of_floor={:.1} \
                         bulk_1500_ratio_at_synack_floor={:.2}",
                        100.0 * x / fa,
                        100.0 * y / fb,
                        fa / y
                    ),
                    _ => String::new(),
                };
                emit(Line { extra, ..r.line(name, "Gbit/s", Better::Higher) });
            }
            other => unreachable!("unknown workload {other}"),
        }
    }
}

impl Bench {
    /// ` time_wait_cap=N` for the churn lines when `--churn-time-wait-cap` changed it.
    fn time_wait_note(&self) -> String {
        self.time_wait_cap.map(|c| format!(" time_wait_cap={c}")).unwrap_or_default()
    }

    /// The `--code-probe-kib` note of the churn lines, with what the probe takes alone.
    fn probe_note(&self) -> String {
        match self.code_probe_kib {
            0 => String::new(),
            k => format!(" code_probe_kib={k} probe_alone_ns={:.1}", probe::probe_alone_ns(k)),
        }
    }

    /// `churn_instr`: instructions per lifecycle under callgrind, the figure of `churn`
    /// that does not drift, with the level-1 instruction cache misses of its cache
    /// simulation (the wall-clock rate also pays for those; the instruction count
    /// does not show them); `churn_code`, the bytes of code a lifecycle runs
    /// through ([`valgrind::Counts::hot_code_bytes`]), which is what decides those
    /// misses; and `churn_hot_instr`, the distinct instructions it runs
    /// ([`valgrind::Counts::hot_instructions`]), the same code whatever its layout.
    fn churn_callgrind(&self) {
        let n = self.sizes.callgrind_lifecycles;
        eprintln!("  callgrind with cache simulation ({n} lifecycles per stack)");
        let cap = self.time_wait_cap;
        let (a, b) =
            (churn::callgrind(StackName::Synack, n, cap), churn::callgrind(StackName::Smoltcp, n, cap));
        let per = |c: &Option<valgrind::Counts>, e: &str| c.as_ref().and_then(|c| c.per_unit(e));
        let extra = format!(
            "tool=callgrind lifecycles={n} i1_miss_synack={} i1_miss_smoltcp={}{}",
            report::fmt_value(per(&a, "I1mr")),
            report::fmt_value(per(&b, "I1mr")),
            self.time_wait_note()
        );
        let (ia, ib) = (per(&a, "Ir"), per(&b, "Ir"));
        let got = usize::from(ia.is_some() && ib.is_some());
        emit(Line { extra, ..line("churn_instr", "instr/lifecycle", ia, ib, Better::Lower, got) });
        // The code a lifecycle runs through, against a 32 KiB level-1 instruction cache.
        let code = |c: &Option<valgrind::Counts>| c.as_ref().and_then(valgrind::Counts::hot_code_bytes);
        let (ca, cb) = (code(&a), code(&b));
        let got = usize::from(ca.is_some() && cb.is_some());
        let extra = format!("tool=callgrind lifecycles={n}{}", self.time_wait_note());
        emit(Line {
            extra: extra.clone(),
            ..line("churn_code", "bytes/lifecycle", ca, cb, Better::Lower, got)
        });
        // The same code counted in instructions, whatever the layout.
        let instrs = |c: &Option<valgrind::Counts>| c.as_ref().and_then(valgrind::Counts::hot_instructions);
        let (ha, hb) = (instrs(&a), instrs(&b));
        let got = usize::from(ha.is_some() && hb.is_some());
        emit(Line { extra, ..line("churn_hot_instr", "instructions", ha, hb, Better::Lower, got) });
    }
}

impl Bench {
    /// Each of the churn [`churn::PHASES`] alone under callgrind, for both stacks: its
    /// instructions (`churn_phase_NAME_instr`) and the code it runs through
    /// (`churn_phase_NAME_code`, as `churn_code` counts it), per lifecycle.
    fn churn_phases_callgrind(&self) {
        let n = self.sizes.callgrind_lifecycles;
        eprintln!("  callgrind, each phase alone ({n} lifecycles per stack and phase)");
        let cap = self.time_wait_cap;
        for phase in churn::PHASES {
            let a = churn::callgrind_phase(StackName::Synack, phase, n, cap);
            let b = churn::callgrind_phase(StackName::Smoltcp, phase, n, cap);
            let instr = |c: &Option<valgrind::Counts>| c.as_ref().and_then(|c| c.per_unit("Ir"));
            let code = |c: &Option<valgrind::Counts>| c.as_ref().and_then(valgrind::Counts::hot_code_bytes);
            let extra = format!("tool=callgrind lifecycles={n}{}", self.time_wait_note());
            let (ia, ib) = (instr(&a), instr(&b));
            let got = usize::from(ia.is_some() && ib.is_some());
            let name = format!("churn_phase_{phase}_instr");
            emit(Line { extra: extra.clone(), ..line(&name, "instr/lifecycle", ia, ib, Better::Lower, got) });
            let (ca, cb) = (code(&a), code(&b));
            let got = usize::from(ca.is_some() && cb.is_some());
            let name = format!("churn_phase_{phase}_code");
            emit(Line { extra, ..line(&name, "bytes/lifecycle", ca, cb, Better::Lower, got) });
        }
    }
}

impl Sizes {
    /// `bulk_1500`'s bytes for the workloads that only copy them (`memcpy_limit`,
    /// `copy_floor`).
    fn copy_params(&self) -> bulk::Params {
        bulk::Params {
            mtu: 1500,
            total: self.bulk_total,
            limit: self.bulk_limit,
            verify_all: false,
            api: bulk::Api::Copy,
        }
    }
}

/// The figures of alternating runs, in run order.
struct Runs {
    synack: Vec<f64>,
    smoltcp: Vec<f64>,
}

impl Runs {
    /// The two medians.
    fn medians(&self) -> (Option<f64>, Option<f64>) {
        (median(&self.synack), median(&self.smoltcp))
    }

    /// The result line: the medians, their ratio and the pair ratio.
    fn line<'a>(&self, name: &'a str, unit: &'a str, better: Better) -> Line<'a> {
        let (a, b) = self.medians();
        Line {
            pair_ratio: report::pair_ratio(&self.synack, &self.smoltcp, better),
            pair_range: report::pair_range(&self.synack, &self.smoltcp, better),
            ..line(name, unit, a, b, better, self.synack.len())
        }
    }
}

/// A line without extra fields.
fn line<'a>(
    name: &'a str,
    unit: &'a str,
    synack: Option<f64>,
    smoltcp: Option<f64>,
    better: Better,
    runs: usize,
) -> Line<'a> {
    Line {
        name,
        unit,
        synack,
        smoltcp,
        better,
        runs,
        pair_ratio: None,
        pair_range: None,
        extra: String::new(),
    }
}
