//! Timing that other processes on a shared machine do not disturb much.
//!
//! Rates are computed from the benchmark thread's own on-CPU time (the first field of
//! `/proc/thread-self/schedstat`, in nanoseconds), so that time the thread spent
//! waiting for a core while other processes ran does not count. Where that file cannot
//! be read, wall time is used instead. Run lengths (the "5 s" limits) are wall time.

use std::time::{Duration, Instant};

/// The benchmark thread's on-CPU time, if the kernel reports it.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Whether rates are computed from on-CPU time on this machine.
pub(crate) fn uses_cpu_time() -> bool {
    thread_cpu().is_some_and(|d| d > Duration::ZERO)
}

/// A started measurement.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    /// Start measuring.
    pub(crate) fn start() -> Self {
        Stopwatch { cpu: thread_cpu(), wall: Instant::now() }
    }

    /// Wall time since the start (for run limits).
    pub(crate) fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// The time to divide work by: on-CPU time since the start, or wall time.
    pub(crate) fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => self.wall.elapsed(),
        }
    }
}
