//! A SYN flood: spoofed SYNs from random addresses of 192.0.2.0/24 and random ports
//! hammer a listener while legitimate clients connect, each sending a request and
//! reading a response before closing. The listener's replies to the spoofed sources go
//! nowhere (no host owns those addresses), as on a real network.
//!
//! The goal: every legitimate client gets in and completes its exchange, and the
//! server's state stays bounded (connections at most its backlog plus the clients),
//! then drains to nothing (no connection, no TIME-WAIT record, no timer).

use super::net::{HeapProbe, Net};
use super::{client_ip, pattern, pattern_hash, DigestRx, SERVER};
use crate::rng::{fnv1a, SimRng, FNV_OFFSET};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{CloseReason, Config, ConnId, Duration, Event, Instant, SeqNum, StackStats, SynCookies};

/// What the flood does.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodConfig {
    /// Spoofed SYNs sent, evenly spread over `duration`.
    pub spoofed_syns: u64,
    /// How long the flood lasts.
    pub duration: Duration,
    /// Legitimate clients, each on its own host, connecting one after another while the
    /// flood goes on.
    pub clients: usize,
    /// Bytes each client sends.
    pub request_bytes: u64,
    /// Bytes the server answers each request with.
    pub response_bytes: u64,
    /// The listener's backlog.
    pub backlog: usize,
    /// The server's SYN cookie policy.
    pub syn_cookies: SynCookies,
    /// Seeds the spoofed addresses, ports and sequence numbers, and the hosts' secrets.
    pub seed: u64,
}

impl Default for FloodConfig {
    /// 100,000 spoofed SYNs over 10 s (10,000 per second) against a backlog of 128,
    /// 100 legitimate clients, SYN cookies when the SYN queue is full.
    fn default() -> Self {
        FloodConfig {
            spoofed_syns: 100_000,
            duration: Duration::from_secs(10),
            clients: 100,
            request_bytes: 1_000,
            response_bytes: 4_000,
            backlog: 128,
            syn_cookies: SynCookies::WhenFull,
            seed: 1,
        }
    }
}

/// What happened to one legitimate client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOutcome {
    /// The client's address.
    pub addr: IpAddr,
    /// From `connect` to ESTABLISHED, if it got there.
    pub handshake: Option<Duration>,
    /// The server accepted it.
    pub accepted: bool,
    /// Request and response arrived whole and intact, and both ends closed normally.
    pub completed: bool,
    /// How the client's connection ended.
    pub outcome: Option<CloseReason>,
}

/// The result of a flood.
#[derive(Clone, Debug, PartialEq)]
pub struct FloodReport {
    /// What was run.
    pub config: FloodConfig,
    /// Each legitimate client.
    pub clients: Vec<ClientOutcome>,
    /// Most connections the server held at once (its listener aside).
    pub peak_connections: usize,
    /// Most TIME-WAIT records the server held at once.
    pub peak_time_wait: usize,
    /// Most heap bytes the server stack owned at once, if a probe measured them.
    pub peak_heap_bytes: Option<i64>,
    /// Heap bytes the server stack owned at the end, if measured.
    pub final_heap_bytes: Option<i64>,
    /// The server's counters at the end.
    pub server: StackStats,
    /// Datagrams the network dropped because no host owns their destination: the
    /// server's replies to spoofed sources.
    pub replies_to_spoofed: u64,
    /// Connections, TIME-WAIT records and armed timers the server had at the end.
    pub left: (usize, usize, bool),
    /// Virtual time when everything was quiet.
    pub end: Instant,
    /// The run hit its time bound before going quiet.
    pub unfinished: bool,
}

impl FloodReport {
    /// The bound on the server's connections: its backlog plus the clients.
    pub fn connection_bound(&self) -> usize {
        self.config.backlog + self.config.clients
    }

    /// Every way the goal was missed, in words; empty when it was met.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let failed: Vec<String> =
            self.clients.iter().filter(|c| !c.completed).map(|c| c.addr.to_string()).collect();
        if !failed.is_empty() {
            out.push(format!(
                "{} of {} legitimate clients did not complete their exchange: {}",
                failed.len(),
                self.clients.len(),
                failed.join(", ")
            ));
        }
        if self.peak_connections > self.connection_bound() {
            out.push(format!(
                "the server held {} connections at once, above its backlog plus the clients ({})",
                self.peak_connections,
                self.connection_bound()
            ));
        }
        let (conns, tw, timer) = self.left;
        if conns > 0 || tw > 0 || timer {
            out.push(format!(
                "the server still had {conns} connection(s), {tw} TIME-WAIT record(s){} at the end",
                if timer { " and an armed timer" } else { "" }
            ));
        }
        if self.unfinished {
            out.push(format!("the run did not go quiet within {}", MAX_TIME));
        }
        out
    }
}

/// How long a flood run may go on (virtual time).
const MAX_TIME: Duration = Duration::from_secs(3600);

/// One legitimate client's state.
struct Client {
    node: usize,
    start: Instant,
    conn: Option<ConnId>,
    connected_at: Option<Instant>,
    rx: DigestRx,
    outcome: Option<CloseReason>,
    closed_by_app: bool,
}

/// The server application's view of one accepted connection.
struct Served {
    client: usize,
    rx: DigestRx,
    responded: bool,
    closed: bool,
    outcome: Option<CloseReason>,
}

/// The pattern of client `i`'s request.
fn request_key(i: usize) -> u64 {
    (1 << 32) + i as u64
}

/// The pattern of the server's response to client `i`.
fn response_key(i: usize) -> u64 {
    (2 << 32) + i as u64
}

fn spoofed_syn(rng: &mut SimRng, buf: &mut [u8]) -> usize {
    let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + rng.up_to(253) as u8));
    let hdr = TcpHeader {
        src_port: 1024 + rng.up_to(65535 - 1024) as u16,
        dst_port: SERVER.port(),
        seq: SeqNum(rng.next_u64() as u32),
        ack: SeqNum(0),
        flags: TcpFlags::SYN,
        window: 65535,
        urgent: 0,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: (rng.unit() < 0.5).then_some(7),
            ..TcpOptions::NONE
        },
    };
    wire::emit(buf, src, SERVER.ip(), 64, &hdr, &[]).unwrap_or(0)
}

fn host_config(ip: IpAddr, seed: u64) -> Config {
    let mut cfg = Config { addresses: vec![ip], ..Config::default() };
    let mut s = seed ^ fnv1a(FNV_OFFSET, ip.to_string().as_bytes());
    let a = crate::rng::splitmix64(&mut s);
    let b = crate::rng::splitmix64(&mut s);
    cfg.secret[..8].copy_from_slice(&a.to_le_bytes());
    cfg.secret[8..].copy_from_slice(&b.to_le_bytes());
    cfg
}

/// Run a SYN flood. With `heap`, the server stack's heap is measured through it (a
/// counting global allocator of the calling program; nothing else may allocate on
/// other threads meanwhile).
pub fn run_flood(cfg: &FloodConfig, heap: Option<HeapProbe<'_>>) -> FloodReport {
    let mut net = Net::new(Duration::from_millis(10));
    let mut server_cfg = host_config(SERVER.ip(), cfg.seed);
    server_cfg.syn_cookies = cfg.syn_cookies;
    let server = net.add(server_cfg, heap);
    let mut clients: Vec<Client> = (0..cfg.clients)
        .map(|i| {
            let node = net.add(host_config(client_ip(i), cfg.seed), None);
            // Spread over the flood: the first shortly after it starts, the last
            // shortly before it ends.
            let start = Instant::ZERO
                + Duration::from_micros(
                    cfg.duration.as_micros() * (2 * i as u64 + 1) / (2 * cfg.clients as u64),
                );
            Client {
                node,
                start,
                conn: None,
                connected_at: None,
                rx: DigestRx::default(),
                outcome: None,
                closed_by_app: false,
            }
        })
        .collect();
    let by_node: HashMap<usize, usize> = clients.iter().enumerate().map(|(i, c)| (c.node, i)).collect();
    let listener = net.call(server, |s, _| s.listen(SERVER, cfg.backlog));
    let mut served: HashMap<ConnId, Served> = HashMap::new();
    let mut rng = SimRng::new(cfg.seed, fnv1a(FNV_OFFSET, b"syn-flood"));
    let mut syn = vec![0u8; 128];
    let mut sent_syns = 0u64;
    let mut started = 0usize;
    let mut peak_connections = 0;
    let mut peak_time_wait = 0;
    let syn_at = |k: u64| {
        Instant::ZERO + Duration::from_micros(cfg.duration.as_micros() * k / cfg.spoofed_syns.max(1))
    };
    let mut unfinished = false;
    loop {
        let next_syn = (sent_syns < cfg.spoofed_syns).then(|| syn_at(sent_syns));
        let next_client = clients.get(started).map(|c| c.start);
        let Some(t) = [net.next_event(), next_syn, next_client].into_iter().flatten().min() else { break };
        if t > Instant::ZERO + MAX_TIME {
            unfinished = true;
            break;
        }
        net.advance(t);
        while sent_syns < cfg.spoofed_syns && syn_at(sent_syns) <= t {
            let n = spoofed_syn(&mut rng, &mut syn);
            net.inject(&syn[..n]);
            sent_syns += 1;
        }
        while let Some(c) = clients.get_mut(started).filter(|c| c.start <= t) {
            c.conn = net.call(c.node, |s, now| s.connect(now, SERVER)).ok();
            started += 1;
        }
        // Let the applications react until nothing more happens at this instant.
        loop {
            let touched = net.take_touched();
            if touched.is_empty() {
                break;
            }
            for node in touched {
                if node == server {
                    serve(&mut net, server, listener.as_ref().ok().copied(), &mut served, &by_node, cfg);
                } else if let Some(&i) = by_node.get(&node) {
                    client_events(&mut net, i, &mut clients[i], cfg);
                }
            }
        }
        let s = net.stack(server);
        peak_connections = peak_connections.max(s.connection_count());
        peak_time_wait = peak_time_wait.max(s.time_wait_count());
    }
    let outcomes = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let srv = served.values().find(|s| s.client == i);
            let response = pattern_hash(response_key(i), cfg.response_bytes);
            let request = pattern_hash(request_key(i), cfg.request_bytes);
            let completed = c.rx.matches(cfg.response_bytes, response)
                && c.outcome == Some(CloseReason::Normal)
                && srv.is_some_and(|s| {
                    s.rx.matches(cfg.request_bytes, request) && s.outcome == Some(CloseReason::Normal)
                });
            ClientOutcome {
                addr: client_ip(i),
                handshake: c.connected_at.map(|t| t.saturating_since(c.start)),
                accepted: srv.is_some(),
                completed,
                outcome: c.outcome,
            }
        })
        .collect();
    let s = net.stack(server);
    FloodReport {
        config: cfg.clone(),
        clients: outcomes,
        peak_connections,
        peak_time_wait,
        peak_heap_bytes: net.heap().map(|h| h.1),
        final_heap_bytes: net.heap().map(|h| h.0),
        server: s.stats(),
        replies_to_spoofed: net.unroutable,
        left: (s.connection_count(), s.time_wait_count(), s.poll_timeout().is_some()),
        end: net.now(),
        unfinished,
    }
}

/// The server application: accept everything, read each request whole, answer it,
/// close on the client's FIN.
fn serve(
    net: &mut Net<'_>,
    server: usize,
    listener: Option<synack::ListenerId>,
    served: &mut HashMap<ConnId, Served>,
    by_node: &HashMap<usize, usize>,
    cfg: &FloodConfig,
) {
    while let Some(ev) = net.poll_event(server) {
        match ev {
            Event::Accepted { .. } => {
                let Some(l) = listener else { continue };
                while let Some(c) = net.call(server, |s, _| s.accept(l)) {
                    let remote = net.stack(server).tuple(c).map(|t| t.remote.ip()).ok();
                    let client = remote
                        .and_then(|ip| by_node.iter().find(|(_, &i)| client_ip(i) == ip).map(|(_, &i)| i))
                        .unwrap_or(usize::MAX);
                    served.insert(
                        c,
                        Served {
                            client,
                            rx: DigestRx::default(),
                            responded: false,
                            closed: false,
                            outcome: None,
                        },
                    );
                }
            }
            Event::Readable(c) | Event::PeerFin(c) => {
                let Some(sv) = served.get_mut(&c) else { continue };
                let eof = net.call(server, |s, _| sv.rx.read_all(s, c));
                if !sv.responded && sv.rx.len >= cfg.request_bytes {
                    sv.responded = true;
                    let data = pattern(response_key(sv.client), cfg.response_bytes);
                    net.call(server, |s, _| s.send(c, &data)).ok();
                }
                if eof && !sv.closed {
                    sv.closed = true;
                    net.call(server, |s, _| s.close(c)).ok();
                }
            }
            Event::Closed { conn, reason } => {
                if let Some(sv) = served.get_mut(&conn) {
                    sv.outcome.get_or_insert(reason);
                }
            }
            _ => {}
        }
    }
}

/// A legitimate client: send the request once connected, read the response, close.
fn client_events(net: &mut Net<'_>, i: usize, c: &mut Client, cfg: &FloodConfig) {
    while let Some(ev) = net.poll_event(c.node) {
        match ev {
            Event::Connected(id) if Some(id) == c.conn => {
                c.connected_at = Some(net.now());
                let data = pattern(request_key(i), cfg.request_bytes);
                net.call(c.node, |s, _| s.send(id, &data)).ok();
            }
            Event::Readable(id) | Event::PeerFin(id) if Some(id) == c.conn && !c.closed_by_app => {
                net.call(c.node, |s, _| c.rx.read_all(s, id));
                if c.rx.len >= cfg.response_bytes {
                    c.closed_by_app = true;
                    net.call(c.node, |s, _| s.close(id)).ok();
                }
            }
            Event::Closed { conn, reason } if Some(conn) == c.conn => {
                c.outcome.get_or_insert(reason);
                if !c.closed_by_app {
                    // A failed connection: release the handle.
                    c.closed_by_app = true;
                    net.call(c.node, |s, _| s.close(conn)).ok();
                }
            }
            _ => {}
        }
    }
}
