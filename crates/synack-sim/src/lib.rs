//! synack-sim: a deterministic network simulator for synack, and the built-in scenarios
//! that show a TCP connection's life.
//!
//! - A network of named hosts, each a [`synack::Stack`] with tracing on, joined by
//!   directional links (`"client->server"`) with delay, jitter, loss, duplication,
//!   reordering, corruption, delay spikes, bandwidth and MTU.
//! - A virtual clock that jumps to the next event: a datagram's arrival, a stack's
//!   [`synack::Stack::poll_timeout`], an application's step.
//! - A seeded RNG of its own: the same seed gives a byte-identical trace.
//! - Rules acting on chosen segments ("drop the first FIN from the server").
//! - Applications scripted as small step machines (listen, connect, accept, send,
//!   recv, shutdown, close, abort), triggered by time or by the connection's events.
//! - The trace: every core trace record of every host, as [`synack_viz::TraceLine`]s,
//!   with each sent datagram's bytes and a packet id shared by the link events that
//!   happen to it.
//! - Scenarios with their own check: the built-ins ([`builtin_names`], [`builtin()`]) and
//!   custom ones from TOML ([`Scenario::from_toml_str`]; `examples/custom.toml`).
//! - Randomised campaigns ([`campaign`]): many seeds, each a full lifecycle over its own
//!   mix of faults (loss, duplication, reordering, corruption, delay spikes), checked
//!   against the same invariants; a failing seed replays with its trace.
//! - Attacks at scale ([`hostile`]): a SYN flood against a listener and a blind
//!   attacker against established connections, on a lean network of many hosts that
//!   carries datagrams with spoofed sources.
//!
//! ```
//! let sc = synack_sim::builtin("close").expect("a built-in");
//! let res = synack_sim::run(&sc, &synack_sim::SimOptions::default()).expect("the run ends");
//! assert!(res.check.is_ok(), "{:?}", res.check);
//! ```

#![forbid(unsafe_code)]

mod app;
mod builtin;
pub mod campaign;
mod check;
mod custom;
mod engine;
mod error;
pub mod figure5;
pub mod hostile;
mod icmp;
mod link;
mod options;
mod result;
mod rng;
mod rules;
mod scenario;

pub use builtin::{builtin, builtin_names};
pub use error::{ScenarioError, SimError};
pub use link::LinkStats;
pub use options::{SimOptions, DEFAULT_SEED, MAX_OPTION_DURATION};
pub use result::{HostResult, Retransmissions, SimResult};
pub use scenario::{
    Scenario, CLIENT_IP, DEFAULT_DELAY, DEFAULT_MAX_EVENTS, DEFAULT_MAX_TIME, SERVER_IP, SERVER_PORT,
};

use synack_viz::TraceLine;

/// Runs `scenario` with `opts` until nothing is left to do, then checks the outcome.
///
/// Errors only when the options are invalid or the run exceeds its bounds (events or
/// virtual time); a failed check is reported in [`SimResult::check`].
pub fn run(scenario: &Scenario, opts: &SimOptions) -> Result<SimResult, SimError> {
    opts.validate()?;
    engine::Engine::new(scenario, opts).run(opts)
}

impl Scenario {
    /// Runs the scenario's check on a trace and host results (for instance a trace
    /// read back from JSON, or altered on purpose), with the options of the run.
    pub fn check_trace(
        &self,
        trace: &[TraceLine],
        hosts: &[HostResult],
        opts: &SimOptions,
    ) -> Result<(), Vec<String>> {
        check::check(self, trace, hosts, opts)
    }
}
