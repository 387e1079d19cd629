//! Parse errors.

use std::fmt;

/// An error found while reading a script, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
    /// What went wrong.
    pub kind: ErrorKind,
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `/* ... */` comment is never closed.
    UnterminatedComment,
    /// A `"..."` string is never closed on its line.
    UnterminatedString,
    /// A backquoted shell command is never closed.
    UnterminatedShell,
    /// A `%{ ... }%` block is never closed.
    UnterminatedPython,
    /// Something other than what the grammar allows here.
    Unexpected {
        /// What the parser was looking for.
        expected: String,
        /// What it found instead.
        found: String,
    },
    /// A number that does not fit the field it is used for.
    NumberOutOfRange {
        /// What the number is (e.g. `window`).
        what: &'static str,
        /// The number as written.
        text: String,
    },
    /// A time with more than microsecond precision or otherwise malformed.
    InvalidTime(String),
    /// `start:end(len)` with `end - start != len`.
    InconsistentSeq {
        /// Start sequence number.
        start: u32,
        /// End sequence number.
        end: u32,
        /// Stated payload length.
        len: u32,
    },
    /// A letter that is not a TCP flag.
    UnknownFlag(char),
    /// A blocking time `a...b` on something other than a system call.
    BlockingTimeNotSyscall,
    /// A `#` directive this parser does not know.
    UnknownDirective(String),
    /// `#else`/`#endif` without `#ifdef`, or `#ifdef` without `#endif`.
    UnbalancedDirective(String),
    /// Brackets nested deeper than the limit (given).
    NestingTooDeep(usize),
}

impl ParseError {
    pub(crate) fn new(line: u32, col: u32, kind: ErrorKind) -> Self {
        Self { line, col, kind }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnterminatedComment => write!(f, "unterminated `/* */` comment"),
            ErrorKind::UnterminatedString => write!(f, "unterminated string literal"),
            ErrorKind::UnterminatedShell => write!(f, "unterminated backquoted shell command"),
            ErrorKind::UnterminatedPython => write!(f, "unterminated `%{{ }}%` python block"),
            ErrorKind::Unexpected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::NumberOutOfRange { what, text } => {
                write!(f, "{what} `{text}` is out of range")
            }
            ErrorKind::InvalidTime(text) => write!(
                f,
                "invalid time `{text}` (use seconds with at most 6 decimals, e.g. `0.100` or `+0.1`)"
            ),
            ErrorKind::InconsistentSeq { start, end, len } => write!(
                f,
                "inconsistent sequence range {start}:{end}({len}): end - start must equal the length"
            ),
            ErrorKind::UnknownFlag(c) => {
                write!(f, "`{c}` is not a TCP flag (use S, F, R, P, U, E, W, `.` or `-`)")
            }
            ErrorKind::BlockingTimeNotSyscall => {
                write!(f, "a blocking time `start...end` is only allowed on system calls")
            }
            ErrorKind::UnknownDirective(d) => write!(f, "unknown directive `#{d}`"),
            ErrorKind::UnbalancedDirective(msg) => write!(f, "{msg}"),
            ErrorKind::NestingTooDeep(max) => {
                write!(f, "brackets nested more than {max} deep")
            }
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.kind)
    }
}

impl std::error::Error for ParseError {}
