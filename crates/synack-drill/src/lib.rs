//! Reader for the packetdrill script language, as used by the FreeBSD TCP
//! test suite and the packetdrill test collections.
//!
//! [`parse_script`] turns a script into a typed [`Script`]: header options
//! plus a list of [`Event`]s, each with its source line, its [`TimeSpec`]
//! and an [`EventKind`] (packet, system call, python block or shell command).
//! The [`run`] module executes scripts against a synack [`synack::Stack`] on a
//! virtual clock: [`run_paths`] runs files and directories and returns a [`Report`]
//! with one [`Outcome`] per script.
//!
//! ```
//! use synack_drill::{parse_script, ast::EventKind};
//!
//! let script = parse_script(
//!     "--tolerance_usecs=75000\n\
//!      0.0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
//!      +0.1 < S 0:0(0) win 32767 <mss 1460,sackOK>\n",
//! )?;
//! assert_eq!(script.options[0].name, "tolerance_usecs");
//! assert_eq!(script.events[1].line, 3);
//! assert!(matches!(script.events[1].kind, EventKind::Packet(_)));
//! # Ok::<(), synack_drill::ParseError>(())
//! ```

pub mod ast;
mod error;
mod parse;
pub mod run;

pub use ast::{Event, EventKind, Script, TimeSpec};
pub use error::{ErrorKind, ParseError};
pub use run::{
    run_file, run_parsed, run_paths, run_script, DrillOptions, Outcome, Profile, Report, ScriptResult,
};

/// Parses a whole packetdrill script.
///
/// Never panics; on malformed input returns the first error found, with its
/// 1-based line and column.
pub fn parse_script(text: &str) -> Result<Script, ParseError> {
    parse::parse_script(text)
}
