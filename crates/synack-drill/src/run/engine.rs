//! The runner's event loop on the virtual clock.
//!
//! The stack under test owns the local address; the script injects segments from the
//! remote one. Time starts at 0 and only moves forward: before each event the clock is
//! advanced to the event's time, running every stack timer due on the way and queueing
//! every datagram the stack sends with its send time. An outbound (`>`) event takes the
//! next queued datagram; inbound events, system calls and shell lines run at their time.

use super::profile::Platform;
use super::sockets::{Pending, Socket};
use super::wire::{self, Actual};
use super::DrillOptions;
use crate::ast::{Event, EventKind, Script, TimeBase, TimePoint, TimeSpec};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use synack::{Config, Instant, Stack, State, TraceEvent};

/// packetdrill's default `--tolerance_usecs`.
pub(crate) const DEFAULT_TOLERANCE_US: u64 = 4_000;
/// The port `bind(fd, ..., ...)` gives (packetdrill's default local port).
pub(crate) const LOCAL_PORT: u16 = 8080;
/// The script's port when it opens connections to the stack.
pub(crate) const REMOTE_PORT: u16 = 47_001;
/// The port `connect(fd, ..., ...)` connects to.
pub(crate) const CONNECT_PORT: u16 = 8080;
/// The remote ISN: script sequence numbers of inbound segments are offsets from it.
pub(crate) const REMOTE_ISN: u32 = 0x5eed_0000;
/// Bounds on work per script, so that no script can hang the runner.
const MAX_STEPS: u64 = 2_000_000;
const MAX_QUEUED: usize = 100_000;

/// Why a script stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A mismatch.
    Fail {
        /// Script line.
        line: u32,
        /// What differed.
        what: String,
        /// What the script expected.
        expected: String,
        /// What happened.
        actual: String,
    },
    /// Something the runner or synack does not provide.
    Skip(String),
}

impl Stop {
    pub(crate) fn fail(
        line: u32,
        what: &str,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Stop {
        Stop::Fail { line, what: what.to_string(), expected: expected.into(), actual: actual.into() }
    }

    pub(crate) fn skip(line: u32, reason: impl std::fmt::Display) -> Stop {
        Stop::Skip(format!("line {line}: {reason}"))
    }
}

/// Result of one step of the runner.
pub(crate) type Step<T = ()> = Result<T, Stop>;

/// Formats microseconds as seconds, `1.234567s`.
pub(crate) fn secs(us: u64) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}

/// One script run.
pub(crate) struct Runner {
    pub(crate) events: Vec<Event>,
    /// Index of the event being run.
    pub(crate) idx: usize,
    /// Line of the event being run (for failures found while the clock moves).
    pub(crate) line: u32,
    pub(crate) platform: Platform,
    pub(crate) strict: bool,
    pub(crate) ignore: Vec<super::Check>,
    pub(crate) tolerance: u64,
    pub(crate) non_fatal_syscall: bool,
    pub(crate) cfg: Config,
    pub(crate) stack: Option<Stack>,
    pub(crate) ipv6: bool,
    pub(crate) local_ip: IpAddr,
    pub(crate) remote_ip: IpAddr,
    /// Virtual time, microseconds.
    pub(crate) now: u64,
    /// Base of relative event times: the previous event's time.
    pub(crate) base: u64,
    /// The clock when the event before the current one finished.
    pub(crate) prev_event: u64,
    /// Datagrams sent and not yet matched.
    pub(crate) outq: VecDeque<Actual>,
    pub(crate) socks: BTreeMap<i64, Socket>,
    /// The socket python blocks inspect: the connection used last.
    pub(crate) current_fd: Option<i64>,
    /// Learned from the stack's SYN or SYN-ACK.
    pub(crate) local_isn: Option<u32>,
    /// The connection `connect` opened last: inbound segments go to it.
    pub(crate) active: Option<(SocketAddr, SocketAddr)>,
    /// Every connection's state by 4-tuple, from the stack's trace.
    pub(crate) states: HashMap<(SocketAddr, SocketAddr), State>,
    pub(crate) pending: Option<Pending>,
    /// (script TS val, live TS val) from the first matched outbound timestamp.
    pub(crate) ts_map: Option<(u32, u32)>,
    steps: u64,
    buf: Vec<u8>,
    /// `SYNACK_DRILL_DEBUG=1`: print every segment the stack sends.
    debug: bool,
}

impl Runner {
    /// Prepares a run of `script`; `Err` when a header option cannot be honoured.
    pub(crate) fn new(script: &Script, opts: &DrillOptions) -> Step<Runner> {
        let defines: Vec<&str> = if opts.defines.is_empty() {
            opts.profile.defines().to_vec()
        } else {
            opts.defines.iter().map(String::as_str).collect()
        };
        let events: Vec<Event> = script.active_events(&defines).cloned().collect();
        let mut cfg = opts.profile.base_config();
        let mut ipv6 = false;
        let mut tolerance = DEFAULT_TOLERANCE_US;
        let mut non_fatal_syscall = false;
        for o in &script.options {
            let value = o.value.as_deref().unwrap_or("");
            match o.name.as_str() {
                "ip_version" => match value {
                    "ipv4" | "ipv4-mapped-ipv6" => ipv6 = false,
                    "ipv6" => ipv6 = true,
                    v => {
                        return Err(Stop::skip(
                            o.line,
                            format!("--ip_version={v} is not understood by the runner"),
                        ))
                    }
                },
                "tolerance_usecs" => {
                    tolerance = o.value_u64().ok_or_else(|| {
                        Stop::skip(o.line, "script error: --tolerance_usecs needs a number")
                    })?;
                }
                "mtu" => {
                    cfg.mtu = value.parse::<u16>().map_err(|_| {
                        Stop::skip(o.line, format!("--mtu={value}: synack's MTU is a 16-bit number"))
                    })?;
                }
                "non_fatal" => non_fatal_syscall = value.split(',').any(|w| w.trim() == "syscall"),
                "udp_encapsulation" => {
                    return Err(Stop::skip(o.line, "TCP over UDP encapsulation is not supported by synack"));
                }
                "tcp_md5_secret" => {
                    return Err(Stop::skip(o.line, "TCP-MD5 signatures are not supported by synack"))
                }
                // Addresses and ports are the runner's choice (192.0.2.0/24); the
                // scripts never see them in what is compared.
                "local_ip" | "remote_ip" | "gateway_ip" | "netmask_ip" | "bind_port" | "connect_port"
                | "speed" | "verbose" | "dry_run" | "tcp_ts_tick_usecs" | "wire_client" | "wire_server" => {}
                other => {
                    return Err(Stop::skip(
                        o.line,
                        format!("header option --{other} is not understood by the runner"),
                    ));
                }
            }
        }
        if let Some(t) = opts.tolerance_usecs {
            tolerance = t;
        }
        let (local_ip, remote_ip) = if ipv6 {
            let l = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
            let r = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
            (IpAddr::V6(l), IpAddr::V6(r))
        } else {
            (IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)))
        };
        cfg.addresses = vec![local_ip];
        Ok(Runner {
            events,
            idx: 0,
            line: 0,
            platform: opts.profile.platform(),
            strict: opts.strict,
            ignore: opts.ignore.clone(),
            tolerance,
            non_fatal_syscall,
            cfg,
            stack: None,
            ipv6,
            local_ip,
            remote_ip,
            now: 0,
            base: 0,
            prev_event: 0,
            outq: VecDeque::new(),
            socks: BTreeMap::new(),
            current_fd: None,
            local_isn: None,
            active: None,
            states: HashMap::new(),
            pending: None,
            ts_map: None,
            steps: 0,
            buf: vec![0u8; 70_000],
            debug: std::env::var_os("SYNACK_DRILL_DEBUG").is_some_and(|v| v == "1"),
        })
    }

    /// Runs every event, then the end-of-script checks.
    pub(crate) fn run(&mut self) -> Step {
        let mut last_end = 0;
        for i in 0..self.events.len() {
            self.idx = i;
            let ev = self.events[i].clone();
            self.line = ev.line;
            self.prev_event = last_end;
            self.event(&ev)?;
            last_end = self.now;
        }
        self.finish()
    }

    fn event(&mut self, ev: &Event) -> Step {
        if let EventKind::Packet(p) = &ev.kind {
            if p.direction == crate::ast::Direction::Outbound {
                return self.expect_outbound(ev, p);
            }
        }
        let t = match ev.time {
            TimeSpec::At(p) | TimeSpec::Range { start: p, .. } | TimeSpec::Blocking { start: p, .. } => {
                self.point(p)
            }
            TimeSpec::Unspecified => self.base,
            TimeSpec::Wildcard => self.now,
        };
        self.advance_to(t)?;
        if matches!(ev.kind, EventKind::Syscall(_)) {
            self.wait_pending()?;
        }
        self.base = t;
        match &ev.kind {
            EventKind::Packet(p) => self.inject(ev, p),
            EventKind::Syscall(s) => self.syscall(ev, s),
            EventKind::Shell(cmd) => self.shell(ev, cmd),
            EventKind::Python(block) => self.python(ev, block),
        }
    }

    /// After the last event: a blocked call must have returned; under `--strict` no
    /// segment sent by then (or within the tolerance after it) may be left unmatched.
    fn finish(&mut self) -> Step {
        self.wait_pending()?;
        if !self.strict {
            return Ok(());
        }
        let line = self.events.last().map_or(0, |e| e.line);
        self.advance_to(self.now.saturating_add(self.tolerance))?;
        if let Some(a) = self.outq.front() {
            let actual = format!("{} at {}", self.describe(a), secs(a.t));
            return Err(Stop::fail(line, "unexpected segment", "no further segment (--strict)", actual));
        }
        Ok(())
    }

    /// The absolute time of a time point.
    pub(crate) fn point(&self, p: TimePoint) -> u64 {
        match p.base {
            TimeBase::Absolute => p.usecs,
            TimeBase::Relative => self.base.saturating_add(p.usecs),
        }
    }

    // ----- the stack and the clock -------------------------------------------------

    /// The stack, built on first use from the configuration the script set up.
    pub(crate) fn stack(&mut self) -> &mut Stack {
        if self.stack.is_none() {
            let cfg = self.platform.stack_config(&self.cfg, self.ipv6);
            self.stack = Some(Stack::new(cfg));
        }
        self.stack.get_or_insert_with(|| Stack::new(Config::default()))
    }

    /// The stack with its clock at `now`, ready for an application call.
    pub(crate) fn stack_now(&mut self) -> &mut Stack {
        let now = Instant::from_micros(self.now);
        let stack = self.stack();
        stack.handle_timeout(now);
        stack
    }

    /// Moves the clock to `t`, running the stack's timers due on the way.
    pub(crate) fn advance_to(&mut self, t: u64) -> Step {
        while self.step_timer(t)? {}
        self.now = self.now.max(t);
        Ok(())
    }

    /// Runs the stack's next timer if it is due by `limit`; whether one ran.
    pub(crate) fn step_timer(&mut self, limit: u64) -> Step<bool> {
        let Some(stack) = self.stack.as_mut() else { return Ok(false) };
        let Some(deadline) = stack.poll_timeout() else { return Ok(false) };
        let at = deadline.as_micros().max(self.now);
        if at > limit {
            return Ok(false);
        }
        stack.handle_timeout(Instant::from_micros(at));
        self.now = at;
        self.bump_steps()?;
        self.drain()?;
        Ok(true)
    }

    fn bump_steps(&mut self) -> Step {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Stop::fail(
                self.line,
                "runaway",
                "the stack to go idle",
                format!("more than {MAX_STEPS} timer wake-ups or datagrams"),
            ));
        }
        Ok(())
    }

    /// Collects what the stack sent and how its connections' states changed, then
    /// lets a blocked system call complete if it can.
    pub(crate) fn drain(&mut self) -> Step {
        loop {
            self.collect()?;
            // A call that completes may queue output (a blocked write): collect it at
            // the same instant.
            if !self.try_complete()? {
                return Ok(());
            }
        }
    }

    fn collect(&mut self) -> Step {
        let now = self.now;
        let Some(stack) = self.stack.as_mut() else { return Ok(()) };
        let mut sent = Vec::new();
        while let Some(tx) = stack.poll_transmit(Instant::from_micros(now), &mut self.buf) {
            let bytes = self.buf.get(..tx.len).unwrap_or_default();
            sent.push(wire::parse(bytes, now));
            if sent.len() > MAX_QUEUED {
                break;
            }
        }
        while let Some(rec) = stack.poll_trace() {
            if let TraceEvent::State { conn, to, .. } = rec.ev {
                let key = (conn.local, conn.remote);
                // An embryonic connection "returned to LISTEN" is gone.
                if to == State::Closed || (to == State::Listen && conn.remote.port() != 0) {
                    self.states.remove(&key);
                } else {
                    self.states.insert(key, to);
                }
            }
        }
        while stack.poll_event().is_some() {}
        for s in sent {
            self.bump_steps()?;
            match s {
                Ok(a) => {
                    if self.debug {
                        eprintln!("drill: {} sent {}", secs(a.t), self.describe(&a));
                    }
                    self.outq.push_back(a)
                }
                Err(e) => {
                    return Err(Stop::fail(self.line, "malformed segment", "a well-formed TCP datagram", e))
                }
            }
        }
        if self.outq.len() > MAX_QUEUED {
            return Err(Stop::fail(
                self.line,
                "runaway",
                "a bounded number of segments",
                "a flood of segments",
            ));
        }
        self.note_mss_known();
        Ok(())
    }

    /// The state of a connection as the stack reports it.
    pub(crate) fn conn_state(&self, c: synack::ConnId) -> State {
        self.stack.as_ref().map_or(State::Closed, |s| s.state(c))
    }

    /// Whether any event after the current one does more than clean up (close a
    /// socket, run `sysctl`s or `tcpdrop`): settings changed at the very end cannot
    /// influence the run.
    pub(crate) fn only_cleanup_follows(&self) -> bool {
        self.events.iter().skip(self.idx + 1).all(|e| match &e.kind {
            EventKind::Syscall(s) => s.name == "close",
            EventKind::Shell(c) => c.is_only_sysctl() || c.raw.trim().starts_with("tcpdrop"),
            _ => false,
        })
    }

    /// The endpoints an inbound segment travels between: to the connection `connect`
    /// opened, else from the script's port to the listening port.
    pub(crate) fn inbound_endpoints(&self) -> (SocketAddr, SocketAddr) {
        match self.active {
            Some((local, remote)) => (remote, local),
            None => {
                (SocketAddr::new(self.remote_ip, REMOTE_PORT), SocketAddr::new(self.local_ip, LOCAL_PORT))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_print_with_microseconds() {
        assert_eq!(secs(1_500_000), "1.500000s");
        assert_eq!(secs(7), "0.000007s");
    }
}
