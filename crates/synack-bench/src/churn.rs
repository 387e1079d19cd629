//! `churn` and `churn_10k_idle`: complete connection lifecycles per second, one after
//! the other: connect, three-way handshake, one byte each way, four-way close started
//! by the client.
//!
//! TIME-WAIT, as each stack handles it:
//! - synack: the client's connection becomes a compact TIME-WAIT record kept for 2×MSL
//!   (60 s with the default MSL, on a clock that runs with wall time); the ephemeral
//!   port selection never reuses a 4-tuple in TIME-WAIT; past `max_time_wait` records
//!   (262,144) the oldest is recycled. A lifecycle is complete when the client's
//!   connection is in TIME-WAIT and the server's is CLOSED and released.
//! - smoltcp: TIME-WAIT is a state of the socket itself (10 s, fixed). smoltcp lets
//!   `connect` reuse a socket in TIME-WAIT (it resets it), and that is what its
//!   application does: the client socket goes straight from TIME-WAIT to the next
//!   SYN-SENT, the server socket from CLOSED back to LISTEN. A lifecycle is complete when
//!   the client socket is in TIME-WAIT and the server socket is CLOSED.
//!
//! Both stacks see the same traffic: the server port changes every 16,384 lifecycles
//! (over 64 ports) and the client port increments.

use crate::stopwatch::Stopwatch;
use crate::{net, smol, sy, StackName};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use std::time::{Duration, Instant};
use synack::{ConnId, ListenerId, State};

/// Send and receive buffers for churn and the idle connections (synack's default).
pub(crate) const BUFFER: usize = 64 * 1024;
/// Client ports the smoltcp application cycles through (like synack's ephemeral range).
const EPHEMERAL: u64 = 16_384;
/// First local port of smoltcp's idle connections (below the ephemeral range).
const IDLE_FIRST_PORT: u16 = 1_024;

/// synack churn state: the pair, one listener per churn port, the idle connections.
pub(crate) struct SyChurn {
    pair: sy::Pair,
    listeners: Vec<ListenerId>,
    _idle: Vec<(ConnId, ConnId)>,
    base: (usize, usize),
    next: u64,
    /// KiB of [`crate::probe`] code run in every lifecycle.
    probe_kib: u64,
}

impl SyChurn {
    /// A pair with `idle` idle established connections; `time_wait_cap` replaces
    /// synack's default `max_time_wait` (262,144 records) on both stacks.
    pub(crate) fn new(idle: usize, time_wait_cap: Option<usize>) -> Self {
        let (mut a, mut b) = (sy::config(net::CLIENT, 1500, BUFFER), sy::config(net::SERVER, 1500, BUFFER));
        if let Some(cap) = time_wait_cap {
            (a.max_time_wait, b.max_time_wait) = (cap, cap);
        }
        Self::build(idle, sy::Pair::with_configs(a, b, 1500))
    }

    /// A pair without idle connections whose stacks use this MSL.
    pub(crate) fn with_msl(msl: synack::Duration) -> Self {
        let a = synack::Config { msl, ..sy::config(net::CLIENT, 1500, BUFFER) };
        let b = synack::Config { msl, ..sy::config(net::SERVER, 1500, BUFFER) };
        Self::build(0, sy::Pair::with_configs(a, b, 1500))
    }

    fn build(idle: usize, mut pair: sy::Pair) -> Self {
        let listeners = (0..net::CHURN_PORTS)
            .map(|k| pair.b.listen(net::server(net::CHURN_PORT_BASE + k), 0).expect("listen"))
            .collect();
        let l = pair.b.listen(net::server(net::IDLE_PORT), idle.max(1)).expect("listen");
        let idle = pair.open_idle(l, net::server(net::IDLE_PORT), idle);
        pair.idle_for(synack::Duration::from_secs(1));
        let base = (pair.a.connection_count(), pair.b.connection_count());
        SyChurn { pair, listeners, _idle: idle, base, next: 0, probe_kib: 0 }
    }

    /// Run `kib` KiB of probe code in the middle of every lifecycle ([`crate::probe`]).
    pub(crate) fn with_code_probe(self, kib: u64) -> Self {
        SyChurn { probe_kib: kib, ..self }
    }

    /// One complete lifecycle.
    pub(crate) fn lifecycle(&mut self) {
        self.lifecycle_with(&mut |_| {});
    }

    /// One complete lifecycle, calling `lap` as each [`PHASES`] entry ends (with its
    /// index). Always inlined, so that [`SyChurn::lifecycle`]'s empty `lap` leaves no
    /// trace in the `churn` figures. Each phase is a function of its own, never
    /// inlined (as smoltcp's are), so that callgrind can count each one alone
    /// (`churn_phase_*_instr`, `churn_phase_*_code`).
    #[inline(always)]
    fn lifecycle_with(&mut self, lap: &mut impl FnMut(usize)) {
        let i = self.next;
        self.next += 1;
        let port = block_port(i);
        let l = self.listeners[usize::from(port - net::CHURN_PORT_BASE)];
        let (c, s) = self.handshake(port, l);
        lap(0);
        self.request(c, s);
        lap(1);
        self.response(c, s);
        lap(2);
        if self.probe_kib > 0 {
            crate::probe::run(self.probe_kib);
        }
        self.client_close(c, s);
        lap(3);
        self.server_close(c, s);
        lap(4);
    }

    /// [`PHASES`]: `handshake`.
    #[inline(never)]
    fn handshake(&mut self, port: u16, l: ListenerId) -> (ConnId, ConnId) {
        let p = &mut self.pair;
        // The time of the last step, not a fresh clock reading: smoltcp's `connect` takes
        // no time, and a fresh reading here cost synack's harness one clock read (some
        // 23 ns) per lifecycle more than smoltcp's, which reads the clock five times.
        let now = p.last_now();
        let c = p.a.connect(now, net::server(port)).expect("synack churn connect");
        let mut s = None;
        p.settle("churn handshake", |p| {
            s = s.or_else(|| p.b.accept(l));
            s.is_some() && p.a.state(c) == State::Established
        });
        (c, s.expect("accepted"))
    }

    /// [`PHASES`]: `request`.
    #[inline(never)]
    fn request(&mut self, c: ConnId, s: ConnId) {
        let p = &mut self.pair;
        let mut one = [0u8; 1];
        p.a.send(c, b"q").expect("send");
        p.settle("churn request", |p| matches!(p.b.recv(s, &mut one), Ok(1)));
    }

    /// [`PHASES`]: `response`.
    #[inline(never)]
    fn response(&mut self, c: ConnId, s: ConnId) {
        let p = &mut self.pair;
        let mut one = [0u8; 1];
        p.b.send(s, b"r").expect("send");
        p.settle("churn response", |p| matches!(p.a.recv(c, &mut one), Ok(1)));
    }

    /// [`PHASES`]: `client_close`.
    #[inline(never)]
    fn client_close(&mut self, c: ConnId, s: ConnId) {
        let p = &mut self.pair;
        let mut one = [0u8; 1];
        p.a.close(c).expect("close");
        p.settle("churn peer FIN", |p| matches!(p.b.recv(s, &mut one), Ok(0)));
    }

    /// [`PHASES`]: `server_close`.
    #[inline(never)]
    fn server_close(&mut self, _c: ConnId, s: ConnId) {
        let p = &mut self.pair;
        p.b.close(s).expect("close");
        let (ca, cb) = self.base;
        p.settle("churn close", |p| p.a.connection_count() == ca && p.b.connection_count() == cb);
    }

    /// Lifecycles per second over `dur`.
    pub(crate) fn run(&mut self, dur: Duration) -> f64 {
        rate(dur, || self.lifecycle())
    }

    /// Mean wall time of each of the [`PHASES`] over lifecycles run for `dur`.
    pub(crate) fn run_phases(&mut self, dur: Duration) -> [f64; PHASES.len()] {
        time_phases(dur, |mut lap| self.lifecycle_with(&mut lap))
    }

    /// The pair (for the memory workloads).
    pub(crate) fn pair(&mut self) -> &mut sy::Pair {
        &mut self.pair
    }
}

/// smoltcp churn state: the pair, the two reused sockets, the idle connections.
pub(crate) struct SmolChurn {
    pair: smol::Pair,
    client: SocketHandle,
    server: SocketHandle,
    next: u64,
    /// KiB of [`crate::probe`] code run in every lifecycle.
    probe_kib: u64,
}

impl SmolChurn {
    /// A pair with `idle` idle established connections (their sockets come first in
    /// each socket set; the two churn sockets are added after them).
    pub(crate) fn new(idle: usize) -> Self {
        let mut pair = smol::Pair::new(1500);
        pair.open_idle(net::IDLE_PORT, IDLE_FIRST_PORT, idle, BUFFER);
        pair.idle_for(smoltcp::time::Duration::from_secs(1));
        let client = pair.a.add_socket(BUFFER);
        let server = pair.b.add_socket(BUFFER);
        SmolChurn { pair, client, server, next: 0, probe_kib: 0 }
    }

    /// Run `kib` KiB of probe code in the middle of every lifecycle ([`crate::probe`]).
    pub(crate) fn with_code_probe(self, kib: u64) -> Self {
        SmolChurn { probe_kib: kib, ..self }
    }

    /// One complete lifecycle; `fresh_client` opens a new client socket instead of
    /// reusing the one in TIME-WAIT (the memory workload keeps them).
    pub(crate) fn lifecycle(&mut self, fresh_client: bool) {
        self.lifecycle_with(fresh_client, &mut |_| {});
    }

    /// [`SmolChurn::lifecycle`], calling `lap` as each [`PHASES`] entry ends (as
    /// [`SyChurn`]'s does, with each phase a function of its own likewise).
    #[inline(always)]
    fn lifecycle_with(&mut self, fresh_client: bool, lap: &mut impl FnMut(usize)) {
        let i = self.next;
        self.next += 1;
        let port = block_port(i);
        let lport = 49_152 + (i % EPHEMERAL) as u16;
        if fresh_client {
            self.client = self.pair.a.add_socket(BUFFER);
        }
        self.handshake(port, lport);
        lap(0);
        self.request();
        lap(1);
        self.response();
        lap(2);
        if self.probe_kib > 0 {
            crate::probe::run(self.probe_kib);
        }
        self.client_close();
        lap(3);
        self.server_close();
        lap(4);
    }

    /// [`PHASES`]: `handshake`.
    #[inline(never)]
    fn handshake(&mut self, port: u16, lport: u16) {
        let (c, s, p) = (self.client, self.server, &mut self.pair);
        p.b.tcp(s).listen(port).expect("smoltcp listen");
        let remote = smoltcp::wire::IpEndpoint::new(smol::ip(net::SERVER), port);
        let cx = p.a.iface.context();
        p.a.sockets.get_mut::<tcp::Socket>(c).connect(cx, remote, lport).expect("smoltcp churn connect");
        p.settle("churn handshake", |p| {
            p.a.tcp(c).state() == tcp::State::Established && p.b.tcp(s).state() == tcp::State::Established
        });
    }

    /// [`PHASES`]: `request`.
    #[inline(never)]
    fn request(&mut self) {
        let (c, s, p) = (self.client, self.server, &mut self.pair);
        let mut one = [0u8; 1];
        p.a.tcp(c).send_slice(b"q").expect("send");
        p.settle("churn request", |p| matches!(p.b.tcp(s).recv_slice(&mut one), Ok(1)));
    }

    /// [`PHASES`]: `response`.
    #[inline(never)]
    fn response(&mut self) {
        let (c, s, p) = (self.client, self.server, &mut self.pair);
        let mut one = [0u8; 1];
        p.b.tcp(s).send_slice(b"r").expect("send");
        p.settle("churn response", |p| matches!(p.a.tcp(c).recv_slice(&mut one), Ok(1)));
    }

    /// [`PHASES`]: `client_close`.
    #[inline(never)]
    fn client_close(&mut self) {
        let (c, s, p) = (self.client, self.server, &mut self.pair);
        p.a.tcp(c).close();
        p.settle("churn peer FIN", |p| p.b.tcp(s).state() == tcp::State::CloseWait);
    }

    /// [`PHASES`]: `server_close`.
    #[inline(never)]
    fn server_close(&mut self) {
        let (c, s, p) = (self.client, self.server, &mut self.pair);
        p.b.tcp(s).close();
        p.settle("churn close", |p| {
            p.b.tcp(s).state() == tcp::State::Closed && p.a.tcp(c).state() == tcp::State::TimeWait
        });
    }

    /// Lifecycles per second over `dur`.
    pub(crate) fn run(&mut self, dur: Duration) -> f64 {
        rate(dur, || self.lifecycle(false))
    }

    /// Mean wall time of each of the [`PHASES`] over lifecycles run for `dur`.
    pub(crate) fn run_phases(&mut self, dur: Duration) -> [f64; PHASES.len()] {
        time_phases(dur, |mut lap| self.lifecycle_with(false, &mut lap))
    }

    /// The pair (for the memory workloads).
    pub(crate) fn pair(&mut self) -> &mut smol::Pair {
        &mut self.pair
    }
}

/// Profiling: 1,000 lifecycles of `stack` to warm up, then `n` more inside
/// `churn_lifecycles_synack` / `churn_lifecycles_smoltcp` (not inlined, so that
/// `valgrind --tool=callgrind --toggle-collect=churn_lifecycles_*` counts exactly them).
/// The clock is frozen after the pair is built (it moves only to jump to a timer), so
/// that a slow run (under valgrind) sees no timer fire that a fast one would not.
pub(crate) fn profile(stack: StackName, n: u64, time_wait_cap: Option<usize>) {
    const WARM_UP: u64 = 1_000;
    match stack {
        StackName::Synack => {
            let mut c = SyChurn::new(0, time_wait_cap);
            c.pair.clock.freeze();
            for _ in 0..WARM_UP {
                c.lifecycle();
            }
            churn_lifecycles_synack(&mut c, n);
        }
        StackName::Smoltcp => {
            let mut c = SmolChurn::new(0);
            c.pair.clock.freeze();
            for _ in 0..WARM_UP {
                c.lifecycle(false);
            }
            churn_lifecycles_smoltcp(&mut c, n);
        }
    }
    // `calls`: how many times each phase function ran, warm-up included (what
    // `callgrind_phase` divides by: its collection is on in every call).
    println!("lifecycles={n} calls={}", n + WARM_UP);
}

/// Instructions and level-1 instruction cache misses per lifecycle of `stack` under
/// callgrind with its cache simulation (`n` lifecycles after the warm-up of
/// [`profile`]); `None` where valgrind is missing or failed.
pub(crate) fn callgrind(
    stack: StackName,
    n: u64,
    time_wait_cap: Option<usize>,
) -> Option<crate::valgrind::Counts> {
    let func = format!("*churn_lifecycles_{}*", stack.name());
    profile_under_callgrind(&func, stack, n, time_wait_cap, "lifecycles")
}

/// Instructions and code of one of the [`PHASES`] of `stack` under callgrind, per
/// lifecycle: the phase's own function is where collection is on, in the
/// `n` lifecycles of [`profile`] and its warm-up alike. `None` where valgrind is
/// missing or failed.
pub(crate) fn callgrind_phase(
    stack: StackName,
    phase: &str,
    n: u64,
    time_wait_cap: Option<usize>,
) -> Option<crate::valgrind::Counts> {
    let owner = match stack {
        StackName::Synack => "SyChurn",
        StackName::Smoltcp => "SmolChurn",
    };
    profile_under_callgrind(&format!("*{owner}::{phase}"), stack, n, time_wait_cap, "calls")
}

/// [`profile`] of `stack` (`n` lifecycles) as a child under callgrind, collecting in
/// the functions `func` matches, per `unit` the child prints (`lifecycles`, `calls`).
fn profile_under_callgrind(
    func: &str,
    stack: StackName,
    n: u64,
    time_wait_cap: Option<usize>,
    unit: &str,
) -> Option<crate::valgrind::Counts> {
    let mut args = vec!["--churn-lifecycles".to_string(), n.to_string(), "--churn-stack".to_string()];
    args.push(stack.name().to_string());
    if let Some(cap) = time_wait_cap {
        args.extend(["--churn-time-wait-cap".to_string(), cap.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::valgrind::callgrind(func, &args, unit, true)
}

#[inline(never)]
fn churn_lifecycles_synack(c: &mut SyChurn, n: u64) {
    (0..n).for_each(|_| c.lifecycle());
}

#[inline(never)]
fn churn_lifecycles_smoltcp(c: &mut SmolChurn, n: u64) {
    (0..n).for_each(|_| c.lifecycle(false));
}

/// The server port of lifecycle `i`: one port for 16,384 lifecycles, then the next.
fn block_port(i: u64) -> u16 {
    net::churn_port(i / EPHEMERAL)
}

/// The parts of a lifecycle that `churn_phases` times, in order, each from the end of
/// the one before (the first from the `connect` call):
/// - `handshake`: `connect`, the three-way handshake, `accept` on the server;
/// - `request`: the client's byte, until the server application has read it;
/// - `response`: the server's byte, until the client application has read it;
/// - `client_close`: the client's close, until the server application reads the end
///   of the stream;
/// - `server_close`: the server's close, until the client is in TIME-WAIT and the
///   server's connection is CLOSED (and, in synack, both are released).
pub(crate) const PHASES: [&str; 5] = ["handshake", "request", "response", "client_close", "server_close"];

/// Run lifecycles (`lifecycle(lap)`, which calls `lap(k)` as phase `k` ends) for `dur`
/// of wall time; the mean nanoseconds of each phase. Wall time, read with `Instant` at
/// each phase's end: each phase includes one clock reading (some 20 ns on a VM with a
/// TSC clock source), on both stacks alike.
fn time_phases(dur: Duration, mut lifecycle: impl FnMut(&mut dyn FnMut(usize))) -> [f64; PHASES.len()] {
    let start = Instant::now();
    let mut sums = [Duration::ZERO; PHASES.len()];
    let mut n = 0u64;
    while start.elapsed() < dur {
        let mut last = Instant::now();
        lifecycle(&mut |k| {
            let now = Instant::now();
            if let Some(s) = sums.get_mut(k) {
                *s += now - last;
            }
            last = now;
        });
        n += 1;
    }
    sums.map(|s| s.as_nanos() as f64 / n.max(1) as f64)
}

/// Run `f` repeatedly for `dur` of wall time; calls per second of on-CPU time.
fn rate(dur: Duration, mut f: impl FnMut()) -> f64 {
    let start = Stopwatch::start();
    let mut n = 0u64;
    loop {
        for _ in 0..8 {
            f();
        }
        n += 8;
        if start.wall() >= dur {
            return n as f64 / start.elapsed().as_secs_f64();
        }
    }
}
