//! synack-tun: run the synack stack on a Linux TUN device, against the kernel's own TCP.
//!
//! The kernel sees a point-to-point interface with its address (`--peer`, a /24 of
//! TEST-NET-1 by default); synack owns another address of that prefix (`--addr`).
//! Every datagram the kernel routes into the device is read here and fed to the
//! sans-IO [`synack::Stack`]; every datagram the stack emits is written back.
//!
//! Layers, from low to high:
//! - [`TunStack`]: the device plus the stack, and [`TunStack::step`], one turn of the
//!   event loop (wait for a datagram or the stack's deadline, feed, run timers, send).
//!   The stack answers pings to synack's address (the core's echo responder, IP
//!   fragments reassembled); datagrams neither TCP nor ICMP are ignored.
//! - [`Server`] (an [`App`] on every accepted connection) and [`run_client`].
//! - [`TunNet`]: the stack driven by a thread of its own, with blocking sockets in the
//!   manner of `std::net` ([`TcpListener`], [`TcpStream`]: `std::io::Read` and
//!   `Write`) for applications written as plain threads, and [`tokio`]'s async ones
//!   (`AsyncRead`, `AsyncWrite`) for tokio tasks (the `tokio` feature, on by default).
//! - [`serve`] and [`connect`], the `synack tun serve|connect` commands, with their clap
//!   argument structs [`ServeArgs`] and [`ConnectArgs`].
//!
//! No `unsafe` here: the device ioctls and `poll` live in the `tun-rs` crate.
//! Creating a TUN device needs `/dev/net/tun` and `CAP_NET_ADMIN`; without them the
//! entry points fail with [`TunError::NoTunDevice`] or [`TunError::PermissionDenied`],
//! whose [`TunError::exit_code`] is 2.

mod app;
mod capture;
mod cli;
mod client;
mod device;
mod driver;
mod error;
mod impair;
mod net;
pub mod pattern;

pub use app::{parse_size, App, ConnEnd, ConnReport, Server};
pub use cli::{
    connect, parse_keepalive, run, run_server, serve, ConnectArgs, DeviceArgs, ServeArgs, TunCommand,
};
pub use client::{run_client, ClientLimits, ClientMode, ConnectReport};
pub use device::{DeviceConfig, StopHandle};
pub use driver::{random_secret, TunOptions, TunStack, TunStats};
pub use error::TunError;
pub use impair::Impairment;
#[cfg(feature = "tokio")]
pub use net::tokio;
pub use net::{TcpListener, TcpStream, TunNet};
