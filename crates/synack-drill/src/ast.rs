//! Typed syntax tree of a packetdrill script.
//!
//! The tree is deliberately close to the surface syntax: it records what the
//! script says, not what it means. Interpreting relative sequence numbers,
//! evaluating symbolic constants such as `SOL_SOCKET`, or deciding which
//! `#ifdef` branch is active is left to the runner.

mod packet;
mod python;
mod shell;

pub use packet::{
    Direction, EcnCodepoint, IcmpSpec, IpField, PacketBody, PacketSpec, SeqSpec, TcpFlags, TcpOption,
    TcpOptions, TcpSegment, UdpEncap, UnsupportedPacket,
};
pub use python::{CmpOp, PyBinOp, PyComparison, PyExpr, PyStmt, PythonBlock, StateValue, TcpState};
pub use shell::{ShellCmd, SockstatCheck, SysctlSetting};

/// A whole parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Header options (`--name=value` lines), in source order.
    pub options: Vec<ScriptOption>,
    /// Events (timed lines and untimed shell/python blocks), in source order.
    pub events: Vec<Event>,
}

impl Script {
    /// Looks up the last header option called `name` (later lines override
    /// earlier ones, as on packetdrill's command line).
    pub fn option(&self, name: &str) -> Option<&ScriptOption> {
        self.options.iter().rev().find(|o| o.name == name)
    }

    /// Iterates over the events that are active when exactly the symbols in
    /// `defined` are defined (see [`Guard`]).
    pub fn active_events<'a>(&'a self, defined: &'a [&'a str]) -> impl Iterator<Item = &'a Event> {
        self.events.iter().filter(move |e| e.is_active(defined))
    }
}

/// One `--name=value` header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptOption {
    /// 1-based line of the option.
    pub line: u32,
    /// Option name without the leading `--` (e.g. `tolerance_usecs`).
    pub name: String,
    /// Text after the `=`, trimmed; `None` for a bare `--flag`.
    pub value: Option<String>,
}

impl ScriptOption {
    /// The value parsed as an unsigned integer, if it is one.
    pub fn value_u64(&self) -> Option<u64> {
        self.value.as_deref().and_then(|v| v.parse().ok())
    }
}

/// A condition from an enclosing `#ifdef NAME` / `#ifndef NAME` / `#else`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    /// The preprocessor symbol tested.
    pub symbol: String,
    /// `true` if the event is active when `symbol` is defined, `false` if it
    /// is active when `symbol` is *not* defined.
    pub when_defined: bool,
}

impl Guard {
    /// Whether this guard holds for the given set of defined symbols.
    pub fn holds(&self, defined: &[&str]) -> bool {
        defined.contains(&self.symbol.as_str()) == self.when_defined
    }
}

/// One event: a time plus an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// 1-based line where the event starts.
    pub line: u32,
    /// 1-based line where the event ends (differs from `line` for
    /// multi-line shell commands, python blocks or argument lists).
    pub end_line: u32,
    /// When the event happens.
    pub time: TimeSpec,
    /// What happens.
    pub kind: EventKind,
    /// Enclosing `#ifdef`-style conditions, outermost first; empty when the
    /// event is unconditional.
    pub guards: Vec<Guard>,
}

impl Event {
    /// Whether every guard of this event holds for `defined`.
    pub fn is_active(&self, defined: &[&str]) -> bool {
        self.guards.iter().all(|g| g.holds(defined))
    }
}

/// Whether a time point is absolute or relative to the previous event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBase {
    /// `0.100`: microseconds since the start of the script.
    Absolute,
    /// `+0.1`: microseconds after the previous event.
    Relative,
}

/// One time value, such as `0.100` or `+0.1`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimePoint {
    /// Absolute or relative.
    pub base: TimeBase,
    /// The amount, in microseconds.
    pub usecs: u64,
}

impl TimePoint {
    /// An absolute time point.
    pub const fn absolute(usecs: u64) -> Self {
        Self { base: TimeBase::Absolute, usecs }
    }

    /// A relative time point.
    pub const fn relative(usecs: u64) -> Self {
        Self { base: TimeBase::Relative, usecs }
    }
}

/// The time at the start of an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// No time given. Only accepted for shell commands and python blocks
    /// (the FreeBSD suite has untimed `` `setkey ...` `` lines); a runner
    /// should treat it as `+0`.
    Unspecified,
    /// `*`: any time.
    Wildcard,
    /// A single point such as `0.100` or `+0.1`.
    At(TimePoint),
    /// `a~b`: any time within the closed interval.
    Range {
        /// Earliest acceptable time.
        start: TimePoint,
        /// Latest acceptable time.
        end: TimePoint,
    },
    /// `a...b`: a system call that starts at `start` and blocks until `end`.
    Blocking {
        /// When the call is made.
        start: TimePoint,
        /// When the call returns.
        end: TimePoint,
    },
}

/// What an event does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A packet injected (`<`) or expected (`>`).
    Packet(PacketSpec),
    /// A system call and its expected result.
    Syscall(SyscallSpec),
    /// A `%{ ... }%` python block.
    Python(PythonBlock),
    /// A backquoted shell command.
    Shell(ShellCmd),
}

/// A system call line: `name(args) = ret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallSpec {
    /// The call's name, e.g. `setsockopt`.
    pub name: String,
    /// The arguments, in order.
    pub args: Vec<Expr>,
    /// The expected result.
    pub ret: SyscallReturn,
}

/// The expected result of a system call: `= value [ERRNO] [(note)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallReturn {
    /// The expected return value (usually an [`Expr::Int`]).
    pub value: Expr,
    /// The expected `errno` name, e.g. `EINPROGRESS`.
    pub errno: Option<String>,
    /// The free text in parentheses after the value, e.g.
    /// `Operation now in progress` or `flags O_RDWR`.
    pub note: Option<String>,
}

/// An argument or return-value expression of a system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// An integer literal (decimal or `0x` hexadecimal, possibly negative).
    Int(i64),
    /// A double-quoted string literal, with escapes resolved.
    Str(String),
    /// `...`: any value / don't care.
    Ellipsis,
    /// A symbolic name such as `SOL_SOCKET` or `ECONNRESET`.
    Ident(String),
    /// `a | b | c`.
    BitOr(Vec<Expr>),
    /// `[a, b]`: an array (or a pointer to a value, e.g. `[1]`).
    Array(Vec<Expr>),
    /// `{a, b}`: a struct; fields usually are [`Expr::Field`].
    Struct(Vec<Expr>),
    /// `name=value`, a named struct field.
    Field {
        /// The field name, e.g. `sin_family`.
        name: String,
        /// The field value.
        value: Box<Expr>,
    },
    /// `name(args)`, e.g. `htons(8080)` or `inet_addr("1.2.3.4")`.
    Call {
        /// The function name.
        name: String,
        /// The arguments.
        args: Vec<Expr>,
    },
}

impl Expr {
    /// The value if this is an integer literal.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Expr::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The name if this is a bare identifier.
    pub fn as_ident(&self) -> Option<&str> {
        match self {
            Expr::Ident(s) => Some(s),
            _ => None,
        }
    }
}
