//! [`TunStack`]: one synack [`Stack`] joined to one TUN device, and the event loop step
//! that drives it by the core's contract (see `synack::Stack`): feed every datagram read
//! from the device to `handle_packet`, run `handle_timeout`, write everything
//! `poll_transmit` produces to the device, and sleep until the device is readable or
//! the stack's `poll_timeout` deadline, whichever comes first.
//!
//! `now` is the monotonic clock (`std::time::Instant`) since the `TunStack` was opened,
//! in microseconds: the core reads no clock, this crate does.

use crate::capture::{Direction, JsonSink, PcapSink};
use crate::device::{DeviceConfig, StopHandle, TunDevice, Wake, RX_FIRST_LEN, RX_RAW_LEN, TX_HEADROOM};
use crate::error::TunError;
use crate::impair::{Impairer, Impairment, Verdict};
use bytes::BytesMut;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use synack::wire::{parse_ip, IPPROTO_ICMP, IPPROTO_TCP};
use synack::{Config, Instant, Stack, Transmit};
use synack_viz::{Seg, TraceLine};
use tun_rs::GROTable;

/// Datagram buffers offered to `Stack::poll_transmit_many` per call (each of the stack's
/// MTU): a burst of full-sized segments is then written in one loop, each segment
/// patched from the one before (the stack's send-side run), instead of one
/// `poll_transmit` call per datagram.
const TX_BATCH: usize = 16;
/// Datagrams gathered before they are written: with the offload, the consecutive
/// segments of one connection among them go to the kernel in one write (a multiple of
/// [`TX_BATCH`]).
const TX_QUEUE: usize = 4 * TX_BATCH;
/// Buffers one read can be split into: a TSO burst of the kernel's is at most 64 KiB,
/// 122 segments at the smallest MSS an IPv4 peer may announce (536).
const RX_SPLIT: usize = 128;
/// Datagrams read per step before the stack gets to answer them.
const READ_BATCH: usize = 256;
/// Link names in the JSON trace for datagrams the userspace impairment dropped.
const LINK_TO_STACK: &str = "kernel->synack";
const LINK_TO_KERNEL: &str = "synack->kernel";

/// Everything needed to open a [`TunStack`].
#[derive(Clone, Debug)]
pub struct TunOptions {
    /// The device and the kernel's side of it.
    pub device: DeviceConfig,
    /// synack's own address (inside the device's prefix, not the kernel's).
    pub addr: Ipv4Addr,
    /// The stack's configuration. `addresses` is replaced by `[addr]`, `mtu` by the
    /// device's, and `trace` is switched on when `json` is set.
    pub stack: Config,
    /// Write a pcapng capture of every datagram that crossed the device here.
    pub pcap: Option<PathBuf>,
    /// Write the stack's trace as JSON Lines here (DESIGN.md, "The trace").
    pub json: Option<PathBuf>,
}

impl TunOptions {
    /// Options for device `dev` with the kernel at `peer`/24 and synack at `addr`, MTU
    /// 1500, the default stack configuration keyed with fresh OS entropy, with 256 KiB
    /// send and receive buffers (the kernel peer is a few microseconds away but fast).
    pub fn new(dev: &str, addr: Ipv4Addr, peer: Ipv4Addr) -> Result<TunOptions, TunError> {
        let stack = Config {
            secret: random_secret()?,
            recv_buffer: 256 * 1024,
            send_buffer: 256 * 1024,
            ..Config::default()
        };
        Ok(TunOptions {
            device: DeviceConfig {
                name: dev.to_string(),
                kernel_addr: peer,
                prefix: 24,
                mtu: 1500,
                offload: true,
            },
            addr,
            stack,
            pcap: None,
            json: None,
        })
    }
}

/// 16 bytes from the operating system's random source, for [`Config::secret`].
pub fn random_secret() -> Result<[u8; 16], TunError> {
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret)
        .map_err(|e| TunError::device("create", std::io::Error::other(format!("OS random source: {e}"))))?;
    Ok(secret)
}

/// Counters of the device side of a run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TunStats {
    /// Datagrams read from the device.
    pub packets_in: u64,
    /// Reads that returned data: as many as `packets_in` without the offload, fewer
    /// when the kernel's TSO bursts came whole (see `DeviceConfig::offload`). (Writes
    /// are counted by the kernel: the device's `rx_packets` in `ip -s link`.)
    pub device_reads: u64,
    /// Datagrams written to the device.
    pub packets_out: u64,
    /// Bytes read from the device.
    pub bytes_in: u64,
    /// Bytes written to the device.
    pub bytes_out: u64,
    /// Datagrams neither TCP nor ICMP, nor fragments (UDP, ...), not given to the stack.
    /// (The stack's own counters, `Stack::stats`, count the rest: `echo_replies` for
    /// the pings it answers.)
    pub ignored: u64,
    /// Datagrams the userspace impairment dropped (both directions).
    pub impaired_drops: u64,
    /// Datagrams the userspace impairment marked CE instead of dropping them
    /// (`Impairment::ecn`, both directions).
    pub impaired_marks: u64,
    /// Writes the device refused (queue full); the stack retransmits what they
    /// carried. With the offload one write may carry several datagrams.
    pub write_drops: u64,
}

/// A free write buffer for datagrams of up to `mtu` bytes. Its capacity is that of the
/// largest write, because `tun-rs` coalesces into the buffers it is given and declines
/// to where that would take a reallocation; pages the coalescing never reaches are
/// never touched.
fn tx_buffer(mtu: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(2 * TX_HEADROOM + usize::from(u16::MAX));
    b.resize(TX_HEADROOM + mtu, 0);
    b
}

/// A synack [`Stack`] on a TUN device, and the loop step that drives it.
pub struct TunStack {
    dev: Arc<TunDevice>,
    stack: Stack,
    addr: Ipv4Addr,
    origin: std::time::Instant,
    /// One read as it came (the virtio header and the datagram, or a TSO burst).
    rx_raw: Vec<u8>,
    /// The datagrams of one read, and their lengths.
    rx: Vec<Vec<u8>>,
    rx_sizes: Vec<usize>,
    /// Write buffers, each [`TX_HEADROOM`] bytes and then one datagram of up to the MTU.
    /// The first `tx_ready` hold datagrams to write (each buffer as long as its
    /// datagram); the others are free, at full length.
    tx: Vec<BytesMut>,
    tx_ready: usize,
    /// `tun-rs`'s coalescing table, kept between writes (its memory is reused).
    gro: GROTable,
    mtu: usize,
    pcap: Option<PcapSink>,
    json: Option<JsonSink>,
    to_stack: Option<Impairer>,
    to_kernel: Option<Impairer>,
    stats: TunStats,
}

impl std::fmt::Debug for TunStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunStack")
            .field("device", &self.dev.name())
            .field("addr", &self.addr)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TunStack {
    /// Create the device (kernel address, MTU, link up), the capture files and the
    /// stack. Fails with [`TunError::NoTunDevice`] or [`TunError::PermissionDenied`]
    /// when the environment does not allow a TUN device.
    pub fn open(opts: &TunOptions) -> Result<TunStack, TunError> {
        if opts.addr == opts.device.kernel_addr {
            return Err(TunError::InvalidArgument(format!(
                "synack's address {} must differ from the kernel's",
                opts.addr
            )));
        }
        let prefix = u32::from(opts.device.prefix.min(32));
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        if u32::from(opts.addr) & mask != u32::from(opts.device.kernel_addr) & mask {
            return Err(TunError::InvalidArgument(format!(
                "synack's address {} is outside {}/{}, so the kernel would not route it into the device",
                opts.addr, opts.device.kernel_addr, opts.device.prefix
            )));
        }
        let dev = Arc::new(TunDevice::create(&opts.device)?);
        let pcap = match &opts.pcap {
            Some(p) => Some(PcapSink::create(p, dev.name())?),
            None => None,
        };
        let json = match &opts.json {
            Some(p) => Some(JsonSink::create(p)?),
            None => None,
        };
        let mut cfg = opts.stack.clone();
        cfg.addresses = vec![IpAddr::V4(opts.addr)];
        cfg.mtu = opts.device.mtu;
        cfg.trace = cfg.trace || json.is_some();
        Ok(TunStack {
            dev,
            stack: Stack::new(cfg),
            addr: opts.addr,
            origin: std::time::Instant::now(),
            rx_raw: vec![0; RX_RAW_LEN],
            rx: (0..RX_SPLIT)
                .map(|i| vec![0; if i == 0 { RX_FIRST_LEN } else { usize::from(opts.device.mtu) }])
                .collect(),
            rx_sizes: vec![0; RX_SPLIT],
            tx: (0..TX_QUEUE).map(|_| tx_buffer(usize::from(opts.device.mtu))).collect(),
            tx_ready: 0,
            gro: GROTable::new(),
            mtu: usize::from(opts.device.mtu),
            pcap,
            json,
            to_stack: None,
            to_kernel: None,
            stats: TunStats::default(),
        })
    }

    /// The current time as the stack counts it: microseconds of the monotonic clock
    /// since [`TunStack::open`].
    pub fn now(&self) -> Instant {
        self.clock().0
    }

    /// The stack.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The stack, for application calls (`listen`, `connect`, `send`, ...). Their
    /// output goes out at the next [`TunStack::step`] or [`TunStack::flush`].
    pub fn stack_mut(&mut self) -> &mut Stack {
        &mut self.stack
    }

    /// The interface name the kernel gave the device.
    pub fn device_name(&self) -> &str {
        self.dev.name()
    }

    /// Whether the device runs with the kernel's TCP segmentation offloads
    /// (`DeviceConfig::offload`, and a kernel that agreed).
    pub fn offload(&self) -> bool {
        self.dev.offload()
    }

    /// synack's address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// A handle that stops the loop from another thread (or a signal thread): it wakes
    /// a [`TunStack::step`] blocked in its wait.
    pub fn stop_handle(&self) -> StopHandle {
        self.dev.stop_handle()
    }

    /// Device-side counters.
    pub fn stats(&self) -> TunStats {
        let marked = |i: &Option<Impairer>| i.as_ref().map_or(0, |i| i.marked);
        TunStats { impaired_marks: marked(&self.to_stack) + marked(&self.to_kernel), ..self.stats }
    }

    /// Impair datagrams read from the device before the stack sees them (`to_stack`),
    /// and datagrams the stack sends before they are written (`to_kernel`): a
    /// userspace stand-in for `tc netem` on kernels without it. `None` turns it off.
    pub fn set_impairment(&mut self, to_stack: Option<Impairment>, to_kernel: Option<Impairment>) {
        self.to_stack = to_stack.map(Impairer::new);
        self.to_kernel = to_kernel.map(Impairer::new);
    }

    /// One turn of the event loop: send what the application queued, sleep until a
    /// datagram arrives, the stack's next deadline, a held (impaired) datagram is due,
    /// `max_wait` passed or a stop was requested; then feed what was read, run the
    /// timers and send the answers. Afterwards drain `stack_mut().poll_event()`.
    pub fn step(&mut self, max_wait: Duration) -> Result<(), TunError> {
        let sleep = self.prepare_wait(max_wait)?;
        let wake = if sleep.is_zero() { Wake::Readable } else { self.dev.wait(sleep)? };
        self.after_wait(wake)
    }

    /// The first half of [`TunStack::step`]: send what the application queued, and say
    /// how long the loop may sleep (at most `max_wait`) before the stack's next
    /// deadline or a held datagram is due; zero when one is due now.
    pub(crate) fn prepare_wait(&mut self, max_wait: Duration) -> Result<Duration, TunError> {
        self.output()?;
        let now = self.now().as_micros();
        let mut deadline = now.saturating_add(u64::try_from(max_wait.as_micros()).unwrap_or(u64::MAX));
        if let Some(t) = self.next_deadline() {
            deadline = deadline.min(t);
        }
        Ok(Duration::from_micros(deadline.saturating_sub(now)))
    }

    /// When the loop must look at the stack next (microseconds of [`TunStack::now`]):
    /// the stack's deadline or a held datagram's release, if any.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let pending = [
            self.stack.poll_timeout().map(Instant::as_micros),
            self.to_stack.as_ref().and_then(Impairer::next_release),
            self.to_kernel.as_ref().and_then(Impairer::next_release),
        ];
        pending.into_iter().flatten().min()
    }

    /// The second half of [`TunStack::step`], after a wait that ended with `wake`: feed
    /// what was read, run the timers and send the answers.
    pub(crate) fn after_wait(&mut self, wake: Wake) -> Result<(), TunError> {
        if wake != Wake::Stopped {
            self.read_batch()?;
        }
        let now = self.now();
        self.release_held(now)?;
        self.stack.handle_timeout(now);
        self.output()
    }

    /// The device, to wait on without holding the `TunStack` (`crate::net`'s driver
    /// thread waits while application threads use the stack).
    pub(crate) fn device(&self) -> Arc<TunDevice> {
        Arc::clone(&self.dev)
    }

    /// Send everything the stack has to send and write out the trace and capture.
    pub fn flush(&mut self) -> Result<(), TunError> {
        self.output()?;
        if let Some(p) = &mut self.pcap {
            p.flush()?;
        }
        if let Some(j) = &mut self.json {
            j.flush()?;
        }
        Ok(())
    }

    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// One reading of the clock, as the stack counts time and as the capture does.
    fn clock(&self) -> (Instant, Duration) {
        let at = self.elapsed();
        (Instant::from_micros(u64::try_from(at.as_micros()).unwrap_or(u64::MAX)), at)
    }

    /// Read and hand on up to [`READ_BATCH`] datagrams (more when the last read was a
    /// TSO burst), or what is waiting.
    fn read_batch(&mut self) -> Result<(), TunError> {
        let mut rx = std::mem::take(&mut self.rx);
        let result = self.read_into(&mut rx);
        self.rx = rx;
        result
    }

    fn read_into(&mut self, rx: &mut [Vec<u8>]) -> Result<(), TunError> {
        let mut read = 0;
        while read < READ_BATCH {
            let Some(n) = self.dev.recv_batch(&mut self.rx_raw, rx, &mut self.rx_sizes)? else { break };
            self.stats.device_reads += 1;
            read += n.max(1);
            // The datagrams of one read arrived together: one clock reading for them.
            let clock = self.clock();
            for i in 0..n {
                let len = self.rx_sizes.get(i).copied().unwrap_or(0);
                if let Some(pkt) = rx.get_mut(i).and_then(|b| b.get_mut(..len)) {
                    self.input(pkt, clock)?;
                }
            }
        }
        Ok(())
    }

    /// A datagram read from the device at the time of `clock`: capture it, impair it,
    /// hand it on.
    fn input(&mut self, pkt: &mut [u8], (now, at): (Instant, Duration)) -> Result<(), TunError> {
        self.stats.packets_in += 1;
        self.stats.bytes_in += pkt.len() as u64;
        let verdict = match &mut self.to_stack {
            Some(imp) => imp.offer(now.as_micros(), pkt),
            None => Verdict::Pass,
        };
        let comment =
            (verdict == Verdict::Drop).then_some("dropped by synack-tun impairment (kernel->synack)");
        if let Some(p) = &mut self.pcap {
            p.record(at, Direction::ToStack, pkt, comment)?;
        }
        match verdict {
            Verdict::Pass => {
                self.deliver(now, pkt);
                Ok(())
            }
            Verdict::Drop => self.note_impaired_drop(now, LINK_TO_STACK, pkt),
            Verdict::Hold(_) => Ok(()),
        }
    }

    /// Hand a datagram to the stack: TCP, ICMP (errors about its connections, and
    /// Echo Requests, which the core answers: RFC 1122 3.2.2.6) and IP fragments (which
    /// it reassembles). Anything else is counted as ignored.
    fn deliver(&mut self, now: Instant, pkt: &[u8]) {
        match parse_ip(pkt) {
            Ok(ip) if ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_ICMP => {
                self.stats.ignored += 1;
            }
            // TCP, ICMP, a fragment, or not even IP the core could parse (which it counts
            // as malformed).
            _ => self.stack.handle_packet(now, pkt),
        }
    }

    fn release_held(&mut self, now: Instant) -> Result<(), TunError> {
        while let Some(pkt) = self.to_stack.as_mut().and_then(|i| i.release(now.as_micros())) {
            self.deliver(now, &pkt);
        }
        while let Some(pkt) = self.to_kernel.as_mut().and_then(|i| i.release(now.as_micros())) {
            if self.tx_ready == TX_QUEUE {
                self.write_queued()?;
            }
            let Some(b) = self.tx.get_mut(self.tx_ready) else { break };
            b.truncate(TX_HEADROOM);
            b.extend_from_slice(&pkt);
            self.enqueue(self.tx_ready, self.elapsed())?;
        }
        Ok(())
    }

    /// Queue the datagram in `tx[i]` (at or after `tx_ready`, as long as its datagram)
    /// for writing, as written at `at`: capture it, count it, and move it to
    /// `tx[tx_ready]`.
    fn enqueue(&mut self, i: usize, at: Duration) -> Result<(), TunError> {
        let Some(pkt) = self.tx.get(i).and_then(|b| b.get(TX_HEADROOM..)) else { return Ok(()) };
        if let Some(p) = &mut self.pcap {
            p.record(at, Direction::ToKernel, pkt, None)?;
        }
        self.stats.packets_out += 1;
        self.stats.bytes_out += pkt.len() as u64;
        self.tx.swap(self.tx_ready, i);
        self.tx_ready += 1;
        Ok(())
    }

    /// Send at once what an application call made the stack want to send.
    pub(crate) fn send_queued(&mut self) -> Result<(), TunError> {
        self.output()
    }

    /// Everything the stack wants to send, then its trace records.
    fn output(&mut self) -> Result<(), TunError> {
        let mut sent = [Transmit::default(); TX_BATCH];
        loop {
            if self.tx_ready + TX_BATCH > TX_QUEUE {
                self.write_queued()?;
            }
            let (now, at) = self.clock();
            let base = self.tx_ready;
            let n = {
                let Some(free) = self.tx.get_mut(base..base + TX_BATCH) else { break };
                let Ok(free) = <&mut [BytesMut; TX_BATCH]>::try_from(free) else { break };
                let mut slices = free.each_mut().map(|b| &mut b[TX_HEADROOM..]);
                self.stack.poll_transmit_many(now, &mut slices, &mut sent)
            };
            let result = sent
                .iter()
                .take(n)
                .enumerate()
                .try_for_each(|(j, t)| self.transmit(base + j, t.len, (now, at)));
            // What the impairment held or dropped (or an error left) is free again.
            for b in self.tx.iter_mut().take(base + n).skip(self.tx_ready) {
                b.resize(TX_HEADROOM + self.mtu, 0);
            }
            result?;
            if n < TX_BATCH {
                break;
            }
        }
        self.write_queued()?;
        self.drain_trace()
    }

    /// Write the queued datagrams (`tx[..tx_ready]`) and free their buffers.
    fn write_queued(&mut self) -> Result<(), TunError> {
        if self.tx_ready == 0 {
            return Ok(());
        }
        let queued = self.tx.get_mut(..self.tx_ready).unwrap_or_default();
        let taken = self.dev.send_batch(&mut self.gro, queued);
        for b in queued.iter_mut() {
            // Coalescing may have grown a buffer past one datagram: its capacity stays.
            b.resize(TX_HEADROOM + self.mtu, 0);
        }
        self.tx_ready = 0;
        if !taken? {
            self.stats.write_drops += 1;
        }
        Ok(())
    }

    /// Write the stack's pending trace records (or discard them without `--json`).
    fn drain_trace(&mut self) -> Result<(), TunError> {
        if let Some(j) = &mut self.json {
            while let Some(rec) = self.stack.poll_trace() {
                j.record(&rec)?;
            }
        } else {
            while self.stack.poll_trace().is_some() {}
        }
        Ok(())
    }

    /// The datagram of `len` bytes synack wrote into `tx[i]` (at or after `tx_ready`)
    /// at the time of `clock`: impair it, and queue it for writing (it moves to
    /// `tx[tx_ready]`).
    fn transmit(&mut self, i: usize, len: usize, (now, at): (Instant, Duration)) -> Result<(), TunError> {
        let Some(buf) = self.tx.get_mut(i) else { return Ok(()) };
        buf.truncate(TX_HEADROOM + len);
        let pkt = &mut buf[TX_HEADROOM..];
        let verdict = self.to_kernel.as_mut().map_or(Verdict::Pass, |imp| imp.offer(now.as_micros(), pkt));
        match verdict {
            Verdict::Pass => self.enqueue(i, at),
            Verdict::Hold(_) => Ok(()),
            Verdict::Drop => {
                if let Some(p) = &mut self.pcap {
                    p.record(
                        at,
                        Direction::ToKernel,
                        pkt,
                        Some("dropped by synack-tun impairment (synack->kernel), not written"),
                    )?;
                }
                let pkt = pkt.to_vec();
                self.note_impaired_drop(now, LINK_TO_KERNEL, &pkt)
            }
        }
    }

    fn note_impaired_drop(&mut self, now: Instant, link: &str, pkt: &[u8]) -> Result<(), TunError> {
        self.stats.impaired_drops += 1;
        // Keep the trace in time order: the stack's records so far come first.
        self.drain_trace()?;
        if let (Some(j), Some(seg)) = (&mut self.json, Seg::from_ip_packet(pkt)) {
            j.record_line(&TraceLine::drop(now.as_micros(), link, seg))?;
        }
        Ok(())
    }
}

impl Drop for TunStack {
    fn drop(&mut self) {
        // Best effort: a run that ends by error still leaves its capture readable.
        let _ = self.flush();
    }
}
