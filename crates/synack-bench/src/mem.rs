//! Memory: `mem_idle_conn`, `mem_time_wait` (bytes counted by the global allocator) and
//! `rss_1m_idle` (peak RSS of a child process).
//!
//! Bytes are what the program asked the allocator for (malloc's own per-block overhead
//! is not included), measured as the growth of live bytes across the step, so they
//! include each stack's share of growing tables (slot vectors, hash maps, heaps,
//! socket sets) as allocated at that point.

use crate::alloc::{live_bytes, peak_rss};
use crate::churn::{self, SmolChurn, SyChurn};
use crate::{net, smol, sy};
use std::net::{IpAddr, Ipv4Addr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{Duration, Instant, SeqNum, Stack};

/// Connections opened per warm-up (one batch of `open_idle`), so that the link's
/// buffer pool and the batch vectors are at their size before counting starts.
const WARM: usize = 256;

/// Bytes per idle established connection endpoint on synack: `n` connections between
/// two stacks, so the growth is divided by 2n. Buffers as allocated while idle (synack
/// allocates them on first use, so none).
pub(crate) fn idle_conn_synack(n: usize) -> f64 {
    let mut pair = sy::Pair::new(1500, churn::BUFFER);
    let l = pair.b.listen(net::server(net::IDLE_PORT), n + WARM).expect("listen");
    let warm = pair.open_idle(l, net::server(net::IDLE_PORT), WARM);
    pair.idle_for(Duration::from_secs(1));
    let mut conns = Vec::with_capacity(n);
    let base = live_bytes();
    conns.extend(pair.open_idle(l, net::server(net::IDLE_PORT), n));
    pair.idle_for(Duration::from_secs(1));
    let grown = live_bytes() as f64 - base as f64;
    drop((warm, conns));
    grown / (2 * n) as f64
}

/// Bytes per idle established connection endpoint on smoltcp (its sockets own their
/// buffers from creation on: 2 × [`churn::BUFFER`] each).
pub(crate) fn idle_conn_smoltcp(n: usize) -> f64 {
    let mut pair = smol::Pair::new(1500);
    let warm = pair.open_idle(net::IDLE_PORT, 1024, WARM, churn::BUFFER);
    pair.idle_for(smoltcp::time::Duration::from_secs(1));
    let mut conns = Vec::with_capacity(n);
    let base = live_bytes();
    conns.extend(pair.open_idle(net::IDLE_PORT, 1024 + WARM as u16, n, churn::BUFFER));
    pair.idle_for(smoltcp::time::Duration::from_secs(1));
    let grown = live_bytes() as f64 - base as f64;
    drop((warm, conns));
    grown / (2 * n) as f64
}

/// Bytes per TIME-WAIT entry on synack: `n` lifecycles one after the other leave `n`
/// TIME-WAIT records at the client. Between lifecycles virtual time moves 2 s so that
/// no timer of the finished connections lingers in the timer heap (MSL is raised so
/// that the records themselves stay).
pub(crate) fn time_wait_synack(n: usize) -> f64 {
    let mut churn = SyChurn::with_msl(synack::Duration::from_secs(1_000_000));
    churn.lifecycle();
    churn.pair().idle_for(Duration::from_secs(2));
    let base = live_bytes();
    for _ in 0..n {
        churn.lifecycle();
        churn.pair().idle_for(Duration::from_secs(2));
    }
    let tw = churn.pair().a.time_wait_count();
    assert!(tw > n, "synack kept {tw} TIME-WAIT records for {n} lifecycles");
    (live_bytes() as f64 - base as f64) / n as f64
}

/// Bytes per TIME-WAIT entry on smoltcp: the entry is the client socket itself, left
/// in its TIME-WAIT state (a fresh client socket per lifecycle). The clock only moves
/// when the pair waits for a timer.
pub(crate) fn time_wait_smoltcp(n: usize) -> f64 {
    let mut churn = SmolChurn::new(0);
    // smoltcp ends TIME-WAIT after 10 s of its clock; a slow machine must not see the
    // first entries expire before the last is made.
    churn.pair().clock.freeze();
    churn.lifecycle(true);
    let base = live_bytes();
    for _ in 0..n {
        churn.lifecycle(true);
    }
    let grown = live_bytes() as f64 - base as f64;
    let p = churn.pair();
    let tw =
        p.a.sockets
            .iter()
            .filter(|(_, s)| match s {
                smoltcp::socket::Socket::Tcp(t) => t.state() == smoltcp::socket::tcp::State::TimeWait,
                #[allow(unreachable_patterns)]
                _ => false,
            })
            .count();
    assert!(tw >= n, "smoltcp kept {tw} sockets in TIME-WAIT for {n} lifecycles");
    grown / n as f64
}

/// What the `rss_1m_idle` child reports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RssReport {
    /// Connections established.
    pub(crate) conns: usize,
    /// Peak RSS before the first connection, bytes.
    pub(crate) base: u64,
    /// Peak RSS at the end, bytes.
    pub(crate) peak: u64,
    /// Live allocated bytes at the end.
    pub(crate) live: u64,
}

/// The child side of `rss_1m_idle`: one synack server stack takes `n` connections from
/// a stateless synthetic client (SYN, then ACK of the SYN-ACK, from distinct
/// addresses and ports), the application accepts each and keeps its handle, and the
/// connections stay idle. Prints the report line.
pub(crate) fn rss_child(n: usize) {
    let base = peak_rss().unwrap_or(0);
    let mut server = Stack::new(sy::config(net::SERVER, 1500, churn::BUFFER));
    let l = server.listen(net::server(net::IDLE_PORT), 1024).expect("listen");
    let mut ids = Vec::with_capacity(n);
    let mut inp = vec![0u8; 1500];
    let mut out = vec![0u8; 1500];
    let now = Instant::from_micros(1_000);
    for i in 0..n {
        let src = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + (i / 60_000) as u8));
        let sport = 1024 + (i % 60_000) as u16;
        let mut hdr = TcpHeader {
            src_port: sport,
            dst_port: net::IDLE_PORT,
            seq: SeqNum(1),
            ack: SeqNum(0),
            flags: TcpFlags::SYN,
            window: 65535,
            urgent: 0,
            options: TcpOptions { mss: Some(1460), window_scale: Some(7), ..TcpOptions::NONE },
        };
        let len = wire::emit(&mut inp, src, net::SERVER, 64, &hdr, &[]).expect("emit SYN");
        server.handle_packet(now, &inp[..len]);
        let tx = server.poll_transmit(now, &mut out).expect("SYN-ACK");
        let iss = wire::parse(&out[..tx.len]).expect("parse SYN-ACK").tcp.seq;
        while server.poll_transmit(now, &mut out).is_some() {}
        hdr.seq = SeqNum(2);
        hdr.ack = SeqNum(iss.0.wrapping_add(1));
        hdr.flags = TcpFlags::ACK;
        hdr.window = 512;
        hdr.options = TcpOptions::NONE;
        let len = wire::emit(&mut inp, src, net::SERVER, 64, &hdr, &[]).expect("emit ACK");
        server.handle_packet(now, &inp[..len]);
        while server.poll_transmit(now, &mut out).is_some() {}
        ids.push(server.accept(l).expect("accepted"));
        while server.poll_event().is_some() {}
    }
    // Idle: every timer left from the handshakes runs out.
    server.handle_timeout(now + Duration::from_secs(10));
    while server.poll_transmit(now, &mut out).is_some() {}
    while server.poll_event().is_some() {}
    assert_eq!(server.connection_count(), n, "every connection established");
    let r = RssReport { conns: n, base, peak: peak_rss().unwrap_or(0), live: live_bytes() as u64 };
    println!("rss_child conns={} base={} peak={} live={}", r.conns, r.base, r.peak, r.live);
    drop(ids);
}

/// Run [`rss_child`] in a fresh process (so that nothing else this process did counts
/// in its peak) and parse its report.
pub(crate) fn rss_1m_idle(n: usize) -> Option<RssReport> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe).args(["--rss-child", &n.to_string()]).output().ok()?;
    if !out.status.success() {
        eprintln!("rss child failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("rss_child "))?;
    let field = |k: &str| -> Option<u64> {
        line.split_whitespace().find_map(|f| f.strip_prefix(k)?.strip_prefix('='))?.parse().ok()
    };
    Some(RssReport {
        conns: field("conns")? as usize,
        base: field("base")?,
        peak: field("peak")?,
        live: field("live")?,
    })
}
