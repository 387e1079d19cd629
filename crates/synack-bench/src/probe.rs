//! `--code-probe-kib`: more code in every churn lifecycle, to measure what the size of
//! the code a lifecycle runs through costs on this machine.
//!
//! A lifecycle of either stack runs through tens of KiB of distinct code (`churn_code`),
//! about as much as a level-1 instruction cache holds, so each lifecycle evicts code the
//! next one needs again. The probe adds `kib` KiB of 8-byte NOPs to both stacks' lifecycles
//! alike (in the middle, between `response` and `client_close`): a lifecycle that slows
//! by more than the NOPs take alone ([`probe_alone_ns`]) paid for the code they evicted.
//!
//! The NOPs are inline assembly, so this module allows `unsafe` (the only other module
//! that does is the counting allocator): the block only jumps forward into a run of NOPs
//! and falls through at its end. It reads and writes no memory, uses no stack, and
//! leaves the flags as they were.

#![allow(unsafe_code)]

/// The largest probe: the NOP run's length.
pub(crate) const MAX_KIB: u64 = 64;

/// Run the last `kib` KiB (at most [`MAX_KIB`]) of a run of NOPs.
#[inline(never)]
pub(crate) fn run(kib: u64) {
    let skip = (MAX_KIB - kib.min(MAX_KIB)) * 1024;
    // SAFETY: the jump lands on an 8-byte NOP boundary of the run below (`skip` is a
    // multiple of 1024, at most the run's length), and execution falls through the NOPs
    // to the end of the block. No memory, stack or flags are touched.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!(
            "lea {t}, [rip + 2f]",
            "add {t}, {skip}",
            "jmp {t}",
            ".p2align 6",
            "2:",
            ".rept 8192",
            ".byte 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00",
            ".endr",
            t = out(reg) _,
            skip = in(reg) skip,
            options(nomem, nostack, preserves_flags),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = skip;
}

/// Nanoseconds one [`run`] of `kib` KiB takes alone, in a loop (its code then stays in
/// the cache): what a probed lifecycle pays for the NOPs themselves.
pub(crate) fn probe_alone_ns(kib: u64) -> f64 {
    const N: u32 = 200_000;
    let start = std::time::Instant::now();
    for _ in 0..N {
        run(std::hint::black_box(kib));
    }
    start.elapsed().as_nanos() as f64 / f64::from(N)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_size_runs_through_to_the_end() {
        // Each entry point (a wrong one would crash), and sizes beyond the run clamped.
        for kib in 0..=MAX_KIB + 2 {
            run(kib);
        }
    }
}
