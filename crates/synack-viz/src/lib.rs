//! synack-viz: makes a TCP connection's life visible.
//!
//! - [`model`]: the trace line of DESIGN.md "The trace" ([`TraceLine`]), built from the
//!   core's [`synack::TraceRecord`] or by the simulator for link events;
//! - [`jsonl`]: JSON Lines, written and read back;
//! - [`ladder`]: the terminal ladder diagram;
//! - [`svg`]: the same ladder as SVG, arrows sloping with the link delay;
//! - [`pcapng`]: the capture of every sent datagram, for Wireshark;
//! - [`seqgraph`]: the time-sequence graph of a transfer as SVG (sequence numbers
//!   over time: segments, retransmissions, losses, ACKs, SACK blocks, timeouts).

#![forbid(unsafe_code)]

mod analysis;
pub mod jsonl;
pub mod ladder;
pub mod model;
pub mod pcapng;
pub mod seqgraph;
pub mod svg;

pub use jsonl::{parse_jsonl, read_jsonl, to_jsonl_string, write_jsonl, JsonlError};
pub use ladder::{render_ladder, LadderOptions};
pub use model::{
    AppEvent, Event, LinkEvent, LinkEventKind, RecvEvent, Seg, SendEvent, StateEvent, TimerEvent, TraceLine,
};
pub use pcapng::{read_pcapng, write_pcapng, CapturedPacket, PcapngError};
pub use seqgraph::{render_seqgraph, SeqGraphError, SeqGraphOptions};
pub use svg::{render_svg, SvgOptions};
