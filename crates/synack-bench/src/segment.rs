//! `segment_cost`: the receiver's cost per in-order, full-sized data segment.
//!
//! A connection (MTU 1500, 256 KiB buffers) is set up; then, round after round, the
//! sender fills the receive window (not timed), and the receiver takes in the whole
//! batch of segments, its application reads everything, and it emits its ACKs (timed:
//! that is [`receive_batch_synack`] / [`receive_batch_smoltcp`]). The result is the
//! median over the batches of the batch's nanoseconds divided by its data segments.
//!
//! The same rounds run under `valgrind --tool=callgrind`, collecting only inside the
//! two batch functions, for instructions per segment: a figure that does not drift with
//! the machine's load. The clock is frozen there so that runs are identical.

use crate::bulk::{Pattern, BUFFER};
use crate::link::{Clock, Link};
use crate::{smol, sy, StackName};
use smoltcp::iface::SocketHandle;
use std::time::Instant;
use synack::{ConnId, Error, Stack};

/// Data segments in flight per round are bounded by the window; this is the read size.
const READ: usize = 64 * 1024;

/// The receiver's work for one batch on synack: input, application reads, ACKs.
#[inline(never)]
pub(crate) fn receive_batch_synack(
    b: &mut Stack,
    link: &Link,
    s: ConnId,
    rbuf: &mut [u8],
    now: synack::Instant,
) {
    sy::ingress(b, link, 1, now);
    loop {
        match b.recv(s, rbuf) {
            Ok(0) | Err(Error::WouldBlock) => break,
            Ok(_) => {}
            Err(e) => panic!("synack recv: {e}"),
        }
    }
    sy::egress(b, link, 0, now);
}

/// The receiver's work for one batch on smoltcp: input, application reads, ACKs.
#[inline(never)]
pub(crate) fn receive_batch_smoltcp(
    b: &mut smol::Node,
    link: &Link,
    s: SocketHandle,
    rbuf: &mut [u8],
    now: smoltcp::time::Instant,
) {
    b.ingress(link, 1, now);
    let sock = b.tcp(s);
    loop {
        match sock.recv_slice(rbuf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("smoltcp recv: {e}"),
        }
    }
    b.egress(link, 1, now);
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cost {
    /// Data segments the receiver took in.
    pub(crate) segments: u64,
    /// Nanoseconds per segment of each batch.
    batches: Vec<f64>,
}

impl Cost {
    fn add(&mut self, segments: u64, nanos: u128) {
        self.segments += segments;
        if segments > 0 {
            self.batches.push(nanos as f64 / segments as f64);
        }
    }

    /// Nanoseconds per segment: the median over the batches, so that a batch during
    /// which another process took the core does not count.
    pub(crate) fn per_segment(&self) -> f64 {
        crate::report::median(&self.batches).unwrap_or(f64::NAN)
    }
}

/// Run rounds on synack until `target` data segments were received.
pub(crate) fn run_synack(target: u64, frozen: bool) -> Cost {
    let mut pair = sy::Pair::new(1500, BUFFER);
    if frozen {
        pair.clock = Clock::frozen();
    }
    let (c, s) = pair.establish_bulk("segment_cost connection");
    let pat = Pattern::new();
    let mut rbuf = vec![0u8; READ];
    let mut sent = 0u64;
    let mut cost = Cost::default();
    while cost.segments < target {
        let now = pair.now();
        let sy::Pair { a, b, link, .. } = &mut pair;
        sy::service(a, now);
        sy::service(b, now);
        sy::ingress(a, link, 0, now);
        while let Ok(k) = a.send(c, pat.at(sent, READ)) {
            sent += k as u64;
        }
        sy::egress(a, link, 1, now);
        let batch = link.pending(1) as u64;
        let t0 = Instant::now();
        receive_batch_synack(b, link, s, &mut rbuf, now);
        cost.add(batch, t0.elapsed().as_nanos());
        if batch == 0 && !pair.advance_to_timer() {
            panic!("synack segment_cost stalled");
        }
    }
    cost
}

/// Run rounds on smoltcp until `target` data segments were received.
pub(crate) fn run_smoltcp(target: u64, frozen: bool) -> Cost {
    let mut pair = smol::Pair::new(1500);
    if frozen {
        pair.clock = Clock::frozen();
    }
    let (c, s) = pair.establish_bulk(BUFFER, "segment_cost connection");
    let pat = Pattern::new();
    let mut rbuf = vec![0u8; READ];
    let mut sent = 0u64;
    let mut cost = Cost::default();
    while cost.segments < target {
        let now = pair.now();
        let smol::Pair { a, b, link, .. } = &mut pair;
        a.ingress(link, 0, now);
        let sock = a.tcp(c);
        while let Ok(k @ 1..) = sock.send_slice(pat.at(sent, READ)) {
            sent += k as u64;
        }
        a.egress(link, 0, now);
        let batch = link.pending(1) as u64;
        let t0 = Instant::now();
        receive_batch_smoltcp(b, link, s, &mut rbuf, now);
        cost.add(batch, t0.elapsed().as_nanos());
        if batch == 0 && !pair.advance_to_timer() {
            panic!("smoltcp segment_cost stalled");
        }
    }
    cost
}

/// Instructions per segment of one stack under callgrind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Instr {
    /// Everything inside the batch function.
    pub(crate) total: f64,
    /// Of which `memcpy`/`memmove` (glibc's `rep movsb` path counts one instruction per
    /// byte under valgrind, so copies weigh more here than in cycles), when
    /// `callgrind_annotate` is there to tell.
    pub(crate) memcpy: Option<f64>,
}

/// Instructions per segment of `stack` under callgrind, when valgrind is installed:
/// runs this binary again as `--callgrind-child STACK` with collection only inside the
/// batch function. `None` where valgrind is missing or failed.
pub(crate) fn callgrind(stack: StackName, segments: u64) -> Option<Instr> {
    let func = format!("*receive_batch_{}*", stack.name());
    let n = segments.to_string();
    let counts = crate::valgrind::callgrind(
        &func,
        &["--callgrind-child", stack.name(), "--segments", &n],
        "segments",
        false,
    )?;
    let memcpy = memcpy_share(counts.file());
    Some(Instr { total: counts.per_unit("Ir")?, memcpy: memcpy.map(|m| m / counts.units) })
}

/// The self cost of glibc's memcpy/memmove in a callgrind output, via
/// `callgrind_annotate` (lines like `32,677,288 (39.40%)  ...:__memcpy_avx_unaligned_erms`).
fn memcpy_share(file: &std::path::Path) -> Option<f64> {
    let out = std::process::Command::new("callgrind_annotate").arg(file).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sum = 0.0;
    for line in text.lines().filter(|l| l.contains("__memcpy") || l.contains("__memmove")) {
        let n: String = line.split_whitespace().next()?.chars().filter(|c| c.is_ascii_digit()).collect();
        sum += n.parse::<f64>().ok()?;
    }
    Some(sum)
}

/// The child side of [`callgrind`]: run the rounds with a frozen clock and print the
/// segment count.
pub(crate) fn callgrind_child(stack: StackName, segments: u64) {
    let cost = match stack {
        StackName::Synack => run_synack(segments, true),
        StackName::Smoltcp => run_smoltcp(segments, true),
    };
    println!("segments={}", cost.segments);
}
