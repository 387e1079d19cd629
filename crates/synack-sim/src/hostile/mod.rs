//! Hostile networks at scale: a SYN flood against a listener ([`run_flood`]) and a
//! blind off-path attacker against established connections ([`run_attack`]).
//!
//! Both run on a lean network of their own (many stacks, tracing off, one fixed delay,
//! routing by destination address) rather than on the scenario engine: a run injects
//! tens of thousands of forged datagrams, whose ladder would tell nothing. Forged
//! datagrams carry any source address; replies to addresses no host owns are dropped
//! by the network, as replies to spoofed sources are on the Internet.
//!
//! Addresses: the server is 198.51.100.1:80 (TEST-NET-2), legitimate clients
//! 203.0.113.0/24 (TEST-NET-3, then 198.18.0.0/15), spoofed sources 192.0.2.0/24
//! (TEST-NET-1).
//!
//! ```
//! use synack_sim::hostile::{run_flood, FloodConfig};
//! let cfg = FloodConfig { spoofed_syns: 500, clients: 3, ..FloodConfig::default() };
//! let report = run_flood(&cfg, None);
//! assert!(report.problems().is_empty(), "{:?}", report.problems());
//! ```

mod attacker;
mod flood;
mod net;

pub use attacker::{run_attack, AttackConfig, AttackReport, Injected};
pub use flood::{run_flood, ClientOutcome, FloodConfig, FloodReport};
pub use net::HeapProbe;

use crate::app::pattern_byte;
use crate::rng::{fnv1a, FNV_OFFSET};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::{ConnId, Error, Stack};

/// The attacked server: 198.51.100.1, port 80.
pub const SERVER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)), 80);

/// The address of legitimate client `i`: 203.0.113.1 to .254, then 198.18.0.0/15.
pub fn client_ip(i: usize) -> IpAddr {
    if i < 254 {
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + i as u8))
    } else {
        let k = i - 254;
        IpAddr::V4(Ipv4Addr::new(198, 18 + ((k >> 16) & 1) as u8, (k >> 8) as u8, k as u8))
    }
}

/// `n` bytes of the pattern `key`.
pub(crate) fn pattern(key: u64, n: u64) -> Vec<u8> {
    pattern_from(key, 0, n)
}

/// Bytes `from..from + n` of the pattern `key`.
pub(crate) fn pattern_from(key: u64, from: u64, n: u64) -> Vec<u8> {
    (from..from + n).map(|i| pattern_byte(key, i)).collect()
}

/// The FNV-1a hash of the first `n` bytes of the pattern `key`.
pub(crate) fn pattern_hash(key: u64, n: u64) -> u64 {
    fnv1a(FNV_OFFSET, &pattern(key, n))
}

/// Bytes read from a connection: how many, their hash, and whether the stream ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DigestRx {
    pub(crate) len: u64,
    pub(crate) hash: u64,
    pub(crate) eof: bool,
}

impl Default for DigestRx {
    fn default() -> Self {
        DigestRx { len: 0, hash: FNV_OFFSET, eof: false }
    }
}

impl DigestRx {
    /// Read everything available; returns whether the stream ended (now or before).
    pub(crate) fn read_all(&mut self, stack: &mut Stack, c: ConnId) -> bool {
        let mut buf = [0u8; 16 * 1024];
        while !self.eof {
            match stack.recv(c, &mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.len += n as u64;
                    self.hash = fnv1a(self.hash, &buf[..n]);
                }
                Err(Error::WouldBlock) | Err(_) => break,
            }
        }
        self.eof
    }

    /// Whether exactly `len` bytes hashing to `hash` were read.
    pub(crate) fn matches(&self, len: u64, hash: u64) -> bool {
        self.len == len && self.hash == hash
    }
}
