//! Addresses and ports shared by every workload (TEST-NET-1, never routed).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client side of every pair.
pub(crate) const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// The server side of every pair.
pub(crate) const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// The bulk-transfer server port.
pub(crate) const BULK_PORT: u16 = 5001;
/// The port the idle connections of `churn_10k_idle` and the memory workloads use.
pub(crate) const IDLE_PORT: u16 = 8080;
/// First of the server ports the churn workloads rotate over.
pub(crate) const CHURN_PORT_BASE: u16 = 10_000;
/// How many server ports churn rotates over. A stack that keeps TIME-WAIT (synack, for
/// 2×MSL) cannot reuse a 4-tuple meanwhile; 64 ports × 16,384 ephemeral ports give it
/// room for a million, so no workload runs out of tuples.
pub(crate) const CHURN_PORTS: u16 = 64;

/// A server endpoint.
pub(crate) fn server(port: u16) -> SocketAddr {
    SocketAddr::new(SERVER, port)
}

/// The churn server port of lifecycle `i`.
pub(crate) fn churn_port(i: u64) -> u16 {
    CHURN_PORT_BASE + (i % u64::from(CHURN_PORTS)) as u16
}
