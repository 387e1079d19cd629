//! synack: a sans-IO TCP stack following RFC 9293.
//!
//! The core reads no clock and no entropy source and does no I/O: the driver passes
//! `now` into every entry point, feeds received IP datagrams in and pulls datagrams to
//! send out. The same code runs in the simulator, over a TUN device and under the
//! packetdrill runner. See [`Stack`] for the driving contract.

#![forbid(unsafe_code)]

pub mod config;
mod conn;
pub mod error;
pub mod event;
mod isn;
mod ratelimit;
pub mod seq;
mod stack;
pub mod state;
pub mod time;
pub mod trace;
pub mod wire;

pub use config::{Config, CongestionControl, Ecn, Keepalive, OptionLayout, RetryLimit, SynCookies};
pub use error::{ConnError, Error, IcmpError, UsageError};
pub use event::{CloseReason, ConnId, ConnInfo, Event, ListenerId, StackStats};
pub use seq::SeqNum;
pub use stack::{RecvInto, Stack, Transmit};
pub use state::State;
pub use time::{Duration, Instant};
pub use trace::{AppCall, FourTuple, SegmentSummary, TimerAction, TimerKind, TraceEvent, TraceRecord};
