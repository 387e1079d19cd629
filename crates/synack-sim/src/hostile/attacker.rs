//! A blind (off-path) attacker: it knows the 4-tuples of established connections (the
//! worst case: ports are often predictable) but sees none of their segments, and
//! injects RSTs, SYNs and data segments with guessed sequence numbers into both ends.
//!
//! Most guesses are uniformly random over the 2^32 sequence space. A share of them
//! (`in_window`) is placed inside the victim's receive window, as if the attacker had
//! been lucky: a blind guess lands there with odds of about window / 2^32 (1 in 65,536
//! for a 64 KiB window), so even a small share is far luckier than real life. An
//! in-window guess is never the exact next sequence number (a 1 in 2^32 hit that RFC
//! 5961 3.2 must honour), and the acknowledgment number of injected data stays a blind
//! guess, as a blind attacker's would be.
//!
//! RFC 5961 is the defence: an in-window RST or any SYN draws a challenge ACK instead
//! of a reset (3.2, 4.2), data whose acknowledgment is outside the acceptable range is
//! dropped (5.2), and out-of-window segments are dropped with a plain ACK.
//!
//! The connections carry data both ways throughout; a connection is disrupted when it
//! did not end normally on both sides or a side read other bytes than the peer sent.

use super::net::Net;
use super::{client_ip, pattern_from, DigestRx, SERVER};
use crate::rng::{fnv1a, splitmix64, SimRng, FNV_OFFSET};
use std::collections::HashMap;
use std::net::SocketAddr;
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions, Timestamps};
use synack::{CloseReason, Config, ConnId, Duration, Event, Instant, SeqNum, StackStats};

/// What the attack does.
#[derive(Clone, Debug, PartialEq)]
pub struct AttackConfig {
    /// Established connections between one client host and the server, carrying data.
    pub connections: usize,
    /// Forged segments per second.
    pub rate: u64,
    /// How long the attack lasts (it starts at 1 s, once the connections carry data).
    pub duration: Duration,
    /// Share of guesses placed inside the victim's receive window (0 to 1).
    pub in_window: f64,
    /// Bytes each side of each connection writes every `interval` while the attack
    /// goes on (and one second beyond).
    pub chunk: u64,
    /// How often each side writes.
    pub interval: Duration,
    /// Whether the hosts negotiate timestamps (RFC 7323, on by default in synack).
    /// With them, a forged segment must carry a TSval that passes PAWS: the attacker
    /// puts a random one on blind guesses and the peer's latest on in-window guesses.
    /// Without them, RFC 5961 alone stands between the attacker and the connections.
    pub timestamps: bool,
    /// Whether the hosts defend with RFC 5961 (3.2 for RST, 4.2 for SYN), as synack
    /// does by default. Off, they process RSTs and SYNs as RFC 793 did, and a lucky
    /// in-window guess resets the connection: the attack's check must then see it.
    pub rfc5961: bool,
    /// Seeds the attacker's guesses and the hosts' secrets.
    pub seed: u64,
}

impl Default for AttackConfig {
    /// 1,000 forged segments per second for 10 s against 100 connections, 10% of the
    /// guesses in-window; each side writes 500 bytes every 100 ms.
    fn default() -> Self {
        AttackConfig {
            connections: 100,
            rate: 1_000,
            duration: Duration::from_secs(10),
            in_window: 0.1,
            chunk: 500,
            interval: Duration::from_millis(100),
            timestamps: true,
            rfc5961: true,
            seed: 1,
        }
    }
}

/// Forged segments sent, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// RSTs.
    pub rst: u64,
    /// SYNs.
    pub syn: u64,
    /// Data segments (64 bytes, ACK set).
    pub data: u64,
    /// Of all those, the guesses placed inside the receive window.
    pub in_window: u64,
}

impl Injected {
    /// Every forged segment.
    pub fn total(&self) -> u64 {
        self.rst + self.syn + self.data
    }
}

/// The result of an attack.
#[derive(Clone, Debug, PartialEq)]
pub struct AttackReport {
    /// What was run.
    pub config: AttackConfig,
    /// What the attacker sent.
    pub injected: Injected,
    /// Connections established before the attack.
    pub established: usize,
    /// Disrupted connections: (client port, what happened).
    pub disrupted: Vec<(u16, String)>,
    /// Bytes delivered intact, all connections, both ways.
    pub bytes_delivered: u64,
    /// The client's counters at the end.
    pub client: StackStats,
    /// The server's counters at the end.
    pub server: StackStats,
    /// Connections and TIME-WAIT records left at the end, both hosts.
    pub left: (usize, usize),
    /// Virtual time when everything was quiet.
    pub end: Instant,
}

impl AttackReport {
    /// Every way the goal (no connection disrupted) was missed; empty when met.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .disrupted
            .iter()
            .map(|(port, what)| format!("connection from port {port}: {what}"))
            .collect();
        if self.established < self.config.connections {
            out.push(format!(
                "only {} of {} connections were established before the attack",
                self.established, self.config.connections
            ));
        }
        if self.left != (0, 0) {
            out.push(format!(
                "{} connection(s) and {} TIME-WAIT record(s) left at the end",
                self.left.0, self.left.1
            ));
        }
        out
    }
}

/// When the attack starts.
const ATTACK_START: Duration = Duration::from_secs(1);
/// When the applications start writing.
const DATA_START: Duration = Duration::from_millis(500);
/// Bytes of each forged data segment.
const FORGED_LEN: usize = 64;
/// How long a run may go on (virtual time).
const MAX_TIME: Duration = Duration::from_secs(3600);

/// One side of one connection.
#[derive(Default)]
struct End {
    conn: Option<ConnId>,
    sent: u64,
    sent_hash: u64,
    rx: DigestRx,
    outcome: Option<CloseReason>,
    shut: bool,
    closed: bool,
}

impl End {
    fn new() -> End {
        End { sent_hash: FNV_OFFSET, ..End::default() }
    }
}

/// A connection: its client port and both ends (0: client, 1: server).
struct Pair {
    port: u16,
    ends: [End; 2],
}

fn host_config(addr: std::net::IpAddr, seed: u64) -> Config {
    let mut cfg = Config { addresses: vec![addr], ..Config::default() };
    let mut s = seed ^ fnv1a(FNV_OFFSET, addr.to_string().as_bytes());
    cfg.secret[..8].copy_from_slice(&splitmix64(&mut s).to_le_bytes());
    cfg.secret[8..].copy_from_slice(&splitmix64(&mut s).to_le_bytes());
    cfg
}

/// The pattern one end of connection `k` writes.
fn key(k: usize, side: usize) -> u64 {
    (3 << 32) + 2 * k as u64 + side as u64
}

/// Run the attack.
pub fn run_attack(cfg: &AttackConfig) -> AttackReport {
    let mut net = Net::new(Duration::from_millis(10));
    net.seen = Some(HashMap::new());
    let client_addr = client_ip(0);
    let mut configs = [host_config(client_addr, cfg.seed), host_config(SERVER.ip(), cfg.seed)];
    for c in &mut configs {
        c.timestamps = cfg.timestamps;
        c.rfc5961_rst = cfg.rfc5961;
        c.rfc5961_syn = cfg.rfc5961;
    }
    let [client_cfg, server_cfg] = configs;
    let nodes = [net.add(client_cfg, None), net.add(server_cfg, None)];
    let listener = net.call(nodes[1], |s, _| s.listen(SERVER, cfg.connections.max(1) + 16)).ok();
    let mut pairs: Vec<Pair> = (0..cfg.connections)
        .map(|_| {
            let c = net.call(nodes[0], |s, now| s.connect(now, SERVER)).ok();
            let port = c.and_then(|c| net.stack(nodes[0]).tuple(c).ok()).map_or(0, |t| t.local.port());
            let mut client = End::new();
            client.conn = c;
            Pair { port, ends: [client, End::new()] }
        })
        .collect();
    let by_port: HashMap<u16, usize> = pairs.iter().enumerate().map(|(i, p)| (p.port, i)).collect();
    let mut rng = SimRng::new(cfg.seed, fnv1a(FNV_OFFSET, b"blind-attacker"));
    let mut injected = Injected::default();
    let total = cfg.rate.saturating_mul(cfg.duration.as_micros()) / 1_000_000;
    let inject_at =
        |k: u64| Instant::ZERO + ATTACK_START + Duration::from_micros(k * 1_000_000 / cfg.rate.max(1));
    let stop_writing = Instant::ZERO + ATTACK_START + cfg.duration + Duration::from_secs(1);
    let interval = if cfg.interval > Duration::ZERO { cfg.interval } else { Duration::from_millis(100) };
    let mut next_write = Instant::ZERO + DATA_START;
    let mut shut_down = false;
    let mut forged = vec![0u8; 256];
    let mut sent = 0u64;
    loop {
        let next_inject = (sent < total).then(|| inject_at(sent));
        let next_app = (!shut_down).then_some(next_write);
        let Some(t) = [net.next_event(), next_inject, next_app].into_iter().flatten().min() else { break };
        if t > Instant::ZERO + MAX_TIME {
            break;
        }
        net.advance(t);
        while sent < total && inject_at(sent) <= t {
            sent += 1;
            if let Some(n) =
                forge(&net, &pairs, client_addr, cfg.in_window, &mut rng, &mut injected, &mut forged)
            {
                net.inject(&forged[..n]);
            }
        }
        if !shut_down && next_write <= t {
            let last = next_write >= stop_writing;
            for (k, p) in pairs.iter_mut().enumerate() {
                for (side, (node, end)) in nodes.iter().zip(&mut p.ends).enumerate() {
                    write(&mut net, *node, end, key(k, side), cfg.chunk);
                }
                if last {
                    if let Some(c) = p.ends[0].conn.filter(|_| p.ends[0].outcome.is_none()) {
                        p.ends[0].shut = true;
                        net.call(nodes[0], |s, _| s.shutdown(c)).ok();
                    }
                }
            }
            shut_down = last;
            next_write += interval;
        }
        loop {
            let touched = net.take_touched();
            if touched.is_empty() {
                break;
            }
            for node in touched {
                let side = usize::from(node == nodes[1]);
                events(&mut net, node, side, listener, &mut pairs, &by_port);
            }
        }
    }
    let mut disrupted = Vec::new();
    let mut bytes_delivered = 0;
    for p in &pairs {
        let [c, s] = &p.ends;
        let mut what = Vec::new();
        if c.conn.is_none() || s.conn.is_none() {
            what.push("never established".to_string());
        }
        for (name, e) in [("client", c), ("server", s)] {
            if e.outcome != Some(CloseReason::Normal) {
                what.push(format!("{name} ended {}", crate::check::outcome_name(e.outcome)));
            }
        }
        for (from, to, name) in [(c, s, "client->server"), (s, c, "server->client")] {
            if to.rx.len != from.sent || to.rx.hash != from.sent_hash {
                what.push(if to.rx.len == from.sent {
                    format!("{name}: the {} bytes read differ from those sent", to.rx.len)
                } else {
                    format!("{name}: {} bytes read of {} sent", to.rx.len, from.sent)
                });
            } else {
                bytes_delivered += from.sent;
            }
        }
        if !what.is_empty() {
            disrupted.push((p.port, what.join("; ")));
        }
    }
    let (cs, ss) = (net.stack(nodes[0]), net.stack(nodes[1]));
    AttackReport {
        config: cfg.clone(),
        injected,
        established: pairs.iter().filter(|p| p.ends[1].conn.is_some()).count(),
        disrupted,
        bytes_delivered,
        client: cs.stats(),
        server: ss.stats(),
        left: (cs.connection_count() + ss.connection_count(), cs.time_wait_count() + ss.time_wait_count()),
        end: net.now(),
    }
}

/// One end writes its next chunk (as much as the stack takes), unless it is done.
fn write(net: &mut Net<'_>, node: usize, e: &mut End, key: u64, chunk: u64) {
    let Some(c) = e.conn.filter(|_| !e.shut && !e.closed && e.outcome.is_none()) else { return };
    let data = pattern_from(key, e.sent, chunk);
    if let Ok(n) = net.call(node, |s, _| s.send(c, &data)) {
        e.sent += n as u64;
        e.sent_hash = fnv1a(e.sent_hash, &data[..n]);
    }
}

/// The applications: the server accepts; both read everything; the server closes on
/// the client's FIN (the client shuts down when the writing stops), the client closes
/// on the server's.
fn events(
    net: &mut Net<'_>,
    node: usize,
    side: usize,
    listener: Option<synack::ListenerId>,
    pairs: &mut [Pair],
    by_port: &HashMap<u16, usize>,
) {
    while let Some(ev) = net.poll_event(node) {
        let of = |net: &Net<'_>, pairs: &[Pair], c: ConnId| -> Option<usize> {
            let idx = pairs.iter().position(|p| p.ends[side].conn == Some(c));
            idx.or_else(|| {
                let t = net.stack(node).tuple(c).ok()?;
                let port = if side == 0 { t.local.port() } else { t.remote.port() };
                by_port.get(&port).copied()
            })
        };
        match ev {
            Event::Accepted { .. } => {
                let Some(l) = listener else { continue };
                while let Some(c) = net.call(node, |s, _| s.accept(l)) {
                    if let Some(k) = of(net, pairs, c) {
                        pairs[k].ends[1].conn = Some(c);
                    }
                }
            }
            Event::Readable(c) | Event::PeerFin(c) => {
                let Some(k) = of(net, pairs, c) else { continue };
                let e = &mut pairs[k].ends[side];
                let eof = net.call(node, |s, _| e.rx.read_all(s, c));
                if eof && !e.closed {
                    e.closed = true;
                    net.call(node, |s, _| s.close(c)).ok();
                }
            }
            Event::Closed { conn, reason } => {
                let Some(k) = of(net, pairs, conn) else { continue };
                let e = &mut pairs[k].ends[side];
                e.outcome.get_or_insert(reason);
                if !e.closed {
                    e.closed = true;
                    net.call(node, |s, _| s.close(conn)).ok();
                }
            }
            _ => {}
        }
    }
}

/// Forge one segment into `buf`: a random connection, a random end, a random kind, a
/// blind or in-window sequence number. Returns its length.
fn forge(
    net: &Net<'_>,
    pairs: &[Pair],
    client_addr: std::net::IpAddr,
    in_window: f64,
    rng: &mut SimRng,
    injected: &mut Injected,
    buf: &mut [u8],
) -> Option<usize> {
    let p = pairs.get(rng.up_to(pairs.len().saturating_sub(1) as u64) as usize)?;
    let client = SocketAddr::new(client_addr, p.port);
    // The forged segment claims to come from the victim's peer.
    let (src, dst) = if rng.unit() < 0.5 { (client, SERVER) } else { (SERVER, client) };
    let kind = rng.up_to(2);
    let lucky = rng.unit() < in_window;
    let seen = net.seen.as_ref().and_then(|m| m.get(&(src, dst)).copied());
    let seq = if lucky {
        // Inside the window: beyond what the peer sent so far, never the exact next
        // sequence number.
        seen.map_or(SeqNum(0), |s| s.snd_nxt) + (1 + rng.up_to(16_383) as u32)
    } else {
        SeqNum(rng.next_u64() as u32)
    };
    // A TSval that passes PAWS when lucky (the peer's latest), else a random one
    // (which passes half the time); none when the connection has no timestamps.
    let ts_val = seen.and_then(|s| s.ts_val).map(|v| if lucky { v } else { rng.next_u64() as u32 });
    injected.in_window += u64::from(lucky);
    let (flags, payload): (TcpFlags, &[u8]) = match kind {
        0 => {
            injected.rst += 1;
            (TcpFlags::RST, &[])
        }
        1 => {
            injected.syn += 1;
            (TcpFlags::SYN, &[])
        }
        _ => {
            injected.data += 1;
            (TcpFlags(TcpFlags::ACK.0 | TcpFlags::PSH.0), &[0xa5; FORGED_LEN])
        }
    };
    let hdr = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack: if flags.ack() { SeqNum(rng.next_u64() as u32) } else { SeqNum(0) },
        flags,
        window: 65535,
        urgent: 0,
        options: TcpOptions {
            mss: flags.syn().then_some(1460),
            timestamps: ts_val.map(|val| Timestamps { val, ecr: 0 }),
            ..TcpOptions::NONE
        },
    };
    wire::emit(buf, src.ip(), dst.ip(), 64, &hdr, &[payload]).ok()
}
