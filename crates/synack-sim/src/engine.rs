//! The simulator proper: a virtual clock that jumps to the next event (a datagram's
//! arrival, a stack's timeout, an application's step), hosts driven by the stack's
//! contract, and the trace collected in time order.

use crate::app::AppRt;
use crate::check;
use crate::error::SimError;
use crate::link::LinkRt;
use crate::link::{DropCause, RuleEffect};
use crate::options::SimOptions;
use crate::result::{final_states, HostResult, SimResult};
use crate::rng::{fnv1a, splitmix64, FNV_OFFSET};
use crate::rules::{Rules, SegView};
use crate::scenario::{LinkParams, Scenario};
use std::collections::BTreeMap;
use std::net::IpAddr;
use synack::{Config, Instant, Stack, State};
use synack_viz::{Event, Seg, TraceLine};

/// A datagram on its way.
#[derive(Debug)]
struct Flight {
    /// The link carrying it (to the host at its end).
    link: usize,
    id: u64,
    bytes: Vec<u8>,
    /// The segment, for the trace's `deliver` line; `None` for an ICMP message, which
    /// the trace (TCP segments only, a fixed contract) does not show.
    seg: Option<Seg>,
}

#[derive(Debug)]
struct HostRt {
    name: String,
    stack: Stack,
    app: AppRt,
}

/// One run of one scenario.
pub(crate) struct Engine<'a> {
    sc: &'a Scenario,
    now: Instant,
    hosts: Vec<HostRt>,
    ips: Vec<IpAddr>,
    links: Vec<LinkRt>,
    rules: Rules,
    /// Arrivals by (time, order sent): FIFO among equal times.
    queue: BTreeMap<(Instant, u64), Flight>,
    order: u64,
    next_packet: u64,
    trace: Vec<TraceLine>,
    events: u64,
    max_events: u64,
    max_time: Instant,
    buf: Vec<u8>,
}

/// The stack configuration of a host for a run.
pub(crate) fn host_config(base: &Config, ip: IpAddr, name: &str, opts: &SimOptions) -> Config {
    let mut cfg = base.clone();
    cfg.addresses = vec![ip];
    cfg.trace = true;
    let mut s = opts.seed ^ fnv1a(FNV_OFFSET, name.as_bytes());
    let a = splitmix64(&mut s);
    let b = splitmix64(&mut s);
    cfg.secret[..8].copy_from_slice(&a.to_le_bytes());
    cfg.secret[8..].copy_from_slice(&b.to_le_bytes());
    if let Some(msl) = opts.msl {
        cfg.msl = msl;
    }
    cfg
}

/// A link's parameters with the options' overrides.
pub(crate) fn link_params(base: &LinkParams, opts: &SimOptions) -> LinkParams {
    let mut p = base.clone();
    if let Some(v) = opts.loss {
        p.loss = v;
    }
    if let Some(v) = opts.delay {
        p.delay = v;
    }
    if let Some(v) = opts.jitter {
        p.jitter = v;
    }
    if let Some(v) = opts.dup {
        p.dup = v;
    }
    if let Some(v) = opts.reorder {
        p.reorder = v;
    }
    p
}

impl<'a> Engine<'a> {
    pub(crate) fn new(sc: &'a Scenario, opts: &SimOptions) -> Engine<'a> {
        let hosts = sc
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let steps = sc
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.host == i)
                    .map(|(k, s)| (k, s.clone()))
                    .collect();
                HostRt {
                    name: h.name.clone(),
                    stack: Stack::new(host_config(&h.cfg, h.ip, &h.name, opts)),
                    app: AppRt::new(&h.name, h.ip, steps, sc.release_on_error),
                }
            })
            .collect();
        let links = sc
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| LinkRt::new(sc.link_name(i), l.to, link_params(&l.params, opts), opts.seed))
            .collect();
        Engine {
            sc,
            now: Instant::ZERO,
            hosts,
            ips: sc.hosts.iter().map(|h| h.ip).collect(),
            links,
            rules: Rules::new(&sc.rules),
            queue: BTreeMap::new(),
            order: 0,
            next_packet: 1,
            trace: Vec::new(),
            events: 0,
            max_events: opts.max_events.unwrap_or(sc.max_events),
            max_time: Instant::ZERO + opts.max_time.unwrap_or(sc.max_time),
            buf: vec![0u8; 65_536],
        }
    }

    /// Run to the end: until nothing is in flight, no timer is armed and no step is
    /// due at a known time.
    pub(crate) fn run(self, opts: &SimOptions) -> Result<SimResult, SimError> {
        match self.run_to_end(opts) {
            (_, Some(e)) => Err(e),
            (result, None) => Ok(result),
        }
    }

    /// Like [`Engine::run`], but a run stopped by its bounds still returns what
    /// happened up to then (the trace, and the hosts as they were), with the error.
    pub(crate) fn run_to_end(mut self, opts: &SimOptions) -> (SimResult, Option<SimError>) {
        let stop = self.run_loop().err();
        (self.finish(opts), stop)
    }

    fn run_loop(&mut self) -> Result<(), SimError> {
        self.settle()?;
        while let Some(next) = self.next_event() {
            if next > self.max_time {
                return Err(SimError::TimeLimit {
                    limit_us: self.max_time.as_micros(),
                    next_us: next.as_micros(),
                });
            }
            if next > self.now {
                self.now = next;
            }
            self.step()?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), SimError> {
        self.events += 1;
        if self.events > self.max_events {
            return Err(SimError::EventLimit { limit: self.max_events, t_us: self.now.as_micros() });
        }
        Ok(())
    }

    fn next_event(&self) -> Option<Instant> {
        let packet = self.queue.keys().next().map(|k| k.0);
        let timers = self.hosts.iter().filter_map(|h| h.stack.poll_timeout());
        let apps = self.hosts.iter().filter_map(|h| h.app.next_wake(self.now));
        packet.into_iter().chain(timers).chain(apps).min()
    }

    /// Process everything due at `now`.
    fn step(&mut self) -> Result<(), SimError> {
        // Bring every stack's clock to `now` (nothing is waiting to be sent, so this
        // only advances them), so that application calls are recorded at `now`.
        for h in 0..self.hosts.len() {
            self.flush(h);
        }
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let flight = entry.remove();
            self.tick()?;
            let to = self.links[flight.link].to;
            if let Some(seg) = flight.seg {
                let line = TraceLine::deliver(self.now.as_micros(), &self.links[flight.link].name, seg);
                self.trace.push(line.with_packet_id(flight.id));
            }
            self.hosts[to].stack.handle_packet(self.now, &flight.bytes);
            self.pull_trace(to);
            self.settle()?;
        }
        for h in 0..self.hosts.len() {
            if self.hosts[h].stack.poll_timeout().is_some_and(|t| t <= self.now) {
                self.tick()?;
                self.hosts[h].stack.handle_timeout(self.now);
                self.pull_trace(h);
            }
        }
        self.settle()
    }

    /// Let every host react at `now` (output, events, application steps) until none
    /// has anything left to do. Steps due at the same instant run one at a time, in
    /// the order the scenario lists them.
    fn settle(&mut self) -> Result<(), SimError> {
        loop {
            self.tick()?;
            let mut progress = false;
            for h in 0..self.hosts.len() {
                // The stack's own reaction to input or timeouts leaves first, then the
                // application sees the events.
                progress |= self.flush(h);
                let now = self.now;
                let host = &mut self.hosts[h];
                while let Some(ev) = host.stack.poll_event() {
                    progress = true;
                    host.app.on_event(now, ev, &mut host.stack);
                }
                progress |= host.app.resume_pending(now, &mut host.stack);
                self.pull_trace(h);
                progress |= self.flush(h);
            }
            let now = self.now;
            let due = (0..self.hosts.len()).filter_map(|h| self.hosts[h].app.due(now).map(|k| (k, h))).min();
            if let Some((_, h)) = due {
                progress = true;
                if self.hosts[h].app.reboot_due() {
                    self.reboot(h);
                }
                let host = &mut self.hosts[h];
                host.app.run_due(now, &mut host.stack, &self.ips);
                self.pull_trace(h);
                self.flush(h);
            }
            if !progress {
                return Ok(());
            }
        }
    }

    /// Host `h` crashes and restarts: a fresh stack of the same configuration takes
    /// the old one's place, which sends nothing more. The trace shows every connection
    /// and listener it held (TIME-WAIT included) going to CLOSED at this instant.
    fn reboot(&mut self, h: usize) {
        let t = self.now.as_micros();
        let name = self.hosts[h].name.clone();
        for (conn, state) in final_states(&self.trace, &name) {
            if state != State::Closed {
                self.trace.push(TraceLine::state(t, &name, &conn, state.name(), State::Closed.name()));
            }
        }
        let cfg = self.hosts[h].stack.config().clone();
        self.hosts[h].stack = Stack::new(cfg);
    }

    /// Move the trace records of host `h` into the trace.
    fn pull_trace(&mut self, h: usize) {
        let host = &mut self.hosts[h];
        while let Some(rec) = host.stack.poll_trace() {
            self.trace.push(TraceLine::from_core(&host.name, &rec));
        }
    }

    /// Send everything host `h` has to send. Returns whether it sent anything.
    fn flush(&mut self, h: usize) -> bool {
        let mut any = false;
        while let Some(tx) = self.hosts[h].stack.poll_transmit(self.now, &mut self.buf) {
            any = true;
            let bytes = self.buf[..tx.len].to_vec();
            let id = self.next_packet;
            self.next_packet += 1;
            let start = self.trace.len();
            self.pull_trace(h);
            let send_line =
                (start..self.trace.len()).rev().find(|&i| matches!(self.trace[i].event, Event::Send(_)));
            let seg = match send_line {
                Some(i) => {
                    let line = self.trace[i].clone().with_packet_id(id).with_packet(bytes.clone());
                    let seg = line.seg().cloned();
                    self.trace[i] = line;
                    seg
                }
                None => Seg::from_ip_packet(&bytes),
            };
            if let Some(seg) = seg {
                self.route(h, tx.dst, bytes, id, seg);
            }
        }
        any
    }

    /// Put a datagram of host `from` on the link to the host owning `dst`.
    fn route(&mut self, from: usize, dst: IpAddr, mut bytes: Vec<u8>, id: u64, seg: Seg) {
        let t = self.now.as_micros();
        let to = self.ips.iter().position(|ip| *ip == dst);
        let Some(li) = to.and_then(|to| self.sc.link_index(from, to)) else {
            // No host or no link there: the datagram goes nowhere.
            let name = format!(
                "{}->{}",
                self.hosts[from].name,
                to.map_or(dst.to_string(), |i| self.hosts[i].name.clone())
            );
            self.trace.push(TraceLine::drop(t, &name, seg).with_packet_id(id));
            return;
        };
        let effect = self.rules.apply(&SegView { link: li, flags: &seg.flags, payload: seg.len > 0 });
        let link = &mut self.links[li];
        let fate = link.carry(self.now, &mut bytes, effect);
        if let Some(cause) = fate.dropped {
            // Too big for the link: its router tells the sender (Path MTU Discovery).
            let reply = (cause == DropCause::Mtu).then(|| link.too_big_reply(&bytes)).flatten();
            self.trace.push(TraceLine::drop(t, &link.name, seg).with_packet_id(id));
            if let Some(icmp) = reply {
                self.icmp_back(li, from, id, icmp);
            }
            return;
        }
        if fate.corrupted {
            self.trace.push(TraceLine::corrupt(t, &link.name, seg.clone()).with_packet_id(id));
        }
        if fate.duplicated {
            self.trace.push(TraceLine::dup(t, &link.name, seg.clone()).with_packet_id(id));
        }
        for at in fate.arrivals {
            let flight = Flight { link: li, id, bytes: bytes.clone(), seg: Some(seg.clone()) };
            self.queue.insert((at, self.order), flight);
            self.order += 1;
        }
    }

    /// Send the ICMP message `icmp` from link `li`'s router (at the link's entry, where
    /// the datagram was refused) back to host `to` over the reverse link, with its
    /// faults: an ICMP message can be lost, duplicated, damaged or delayed like any
    /// datagram. (Every ordered pair of hosts has a link, so the reverse one exists.)
    fn icmp_back(&mut self, li: usize, to: usize, id: u64, mut icmp: Vec<u8>) {
        let Some(bi) = self.sc.link_index(self.links[li].to, to) else { return };
        let fate = self.links[bi].carry(self.now, &mut icmp, RuleEffect::default());
        for at in fate.arrivals {
            let flight = Flight { link: bi, id, bytes: icmp.clone(), seg: None };
            self.queue.insert((at, self.order), flight);
            self.order += 1;
        }
    }

    fn finish(self, opts: &SimOptions) -> SimResult {
        let hosts: Vec<HostResult> = self
            .hosts
            .iter()
            .zip(&self.ips)
            .map(|(h, ip)| HostResult {
                name: h.name.clone(),
                addr: *ip,
                final_states: final_states(&self.trace, &h.name),
                bytes_sent: h.app.sent,
                sent_hash: h.app.sent_hash,
                bytes_received: h.app.received,
                received_hash: h.app.received_hash,
                eof: h.app.eof,
                outcome: h.app.outcome,
                app_errors: h.app.errors.clone(),
                unfinished_steps: h.app.unfinished(),
                stats: h.stack.stats(),
                connections_left: h.stack.connection_count(),
                time_wait_left: h.stack.time_wait_count(),
                timer_left_us: h.stack.poll_timeout().map(Instant::as_micros),
            })
            .collect();
        let check = check::check(self.sc, &self.trace, &hosts, opts);
        SimResult {
            scenario: self.sc.name.clone(),
            seed: opts.seed,
            trace: self.trace,
            hosts,
            check,
            end_us: self.now.as_micros(),
            events: self.events,
            links: self.links.iter().map(|l| l.stats.clone()).collect(),
        }
    }
}
