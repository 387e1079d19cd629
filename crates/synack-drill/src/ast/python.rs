//! `%{ ... }%` python blocks and the `tcpi_*` assertions recognised in them.

/// A `%{ ... }%` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonBlock {
    /// The text between `%{` and `}%`, verbatim.
    pub raw: String,
    /// The block split into statements; see [`PyStmt`].
    pub statements: Vec<PyStmt>,
}

impl PythonBlock {
    /// Every `tcpi_state` comparison in the block's assertions.
    pub fn state_assertions(&self) -> impl Iterator<Item = (CmpOp, &StateValue)> {
        self.statements
            .iter()
            .filter_map(|s| match s {
                PyStmt::Assert(cmps) => Some(cmps),
                PyStmt::Raw(_) => None,
            })
            .flatten()
            .filter_map(|c| match c {
                PyComparison::State { op, state } => Some((*op, state)),
                PyComparison::Field { .. } => None,
            })
    }

    /// Whether every statement was recognised (no [`PyStmt::Raw`]).
    pub fn fully_recognised(&self) -> bool {
        self.statements.iter().all(|s| matches!(s, PyStmt::Assert(_)))
    }
}

/// One statement of a python block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyStmt {
    /// `assert c1 and c2 and ...` where each `c` compares a `tcpi_*` field;
    /// the list holds the conjuncts in order.
    Assert(Vec<PyComparison>),
    /// Anything else, verbatim (trimmed). A block with compound statements
    /// (`if ...:`, indented lines) is kept as a single `Raw` statement.
    Raw(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// Applies the operator.
    pub fn holds<T: PartialOrd>(self, lhs: T, rhs: T) -> bool {
        match self {
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
        }
    }
}

/// One recognised comparison in an assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyComparison {
    /// `tcpi_state OP value`.
    State {
        /// The operator.
        op: CmpOp,
        /// The state compared against.
        state: StateValue,
    },
    /// `tcpi_FIELD OP expr` for any other field.
    Field {
        /// The field name as written, e.g. `tcpi_rto`.
        field: String,
        /// The operator.
        op: CmpOp,
        /// The right-hand side.
        value: PyExpr,
    },
}

/// The right-hand side of a `tcpi_state` comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateValue {
    /// A `TCPI_*` name that maps to a known state.
    Named(TcpState),
    /// A bare number. Its meaning depends on the platform the script was
    /// written for (see [`TcpState::from_freebsd_number`] and
    /// [`TcpState::from_linux_number`]).
    Number(i64),
    /// Any other name, verbatim.
    Other(String),
}

/// A TCP connection state (RFC 9293 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    /// CLOSED
    Closed,
    /// LISTEN
    Listen,
    /// SYN-SENT
    SynSent,
    /// SYN-RECEIVED
    SynReceived,
    /// ESTABLISHED
    Established,
    /// CLOSE-WAIT
    CloseWait,
    /// FIN-WAIT-1
    FinWait1,
    /// CLOSING
    Closing,
    /// LAST-ACK
    LastAck,
    /// FIN-WAIT-2
    FinWait2,
    /// TIME-WAIT
    TimeWait,
}

impl TcpState {
    /// Maps a `TCPI_*` name; accepts the FreeBSD spellings
    /// (`TCPI_SYN_RECEIVED`, `TCPI_FIN_WAIT_1`, `TCPI_CLOSED`) and the Linux
    /// ones (`TCPI_SYN_RECV`, `TCPI_FIN_WAIT1`, `TCPI_CLOSE`).
    pub fn from_tcpi_name(name: &str) -> Option<Self> {
        let state = match name.strip_prefix("TCPI_")? {
            "CLOSED" | "CLOSE" => Self::Closed,
            "LISTEN" => Self::Listen,
            "SYN_SENT" => Self::SynSent,
            "SYN_RECEIVED" | "SYN_RECV" => Self::SynReceived,
            "ESTABLISHED" => Self::Established,
            "CLOSE_WAIT" => Self::CloseWait,
            "FIN_WAIT_1" | "FIN_WAIT1" => Self::FinWait1,
            "CLOSING" => Self::Closing,
            "LAST_ACK" => Self::LastAck,
            "FIN_WAIT_2" | "FIN_WAIT2" => Self::FinWait2,
            "TIME_WAIT" => Self::TimeWait,
            _ => return None,
        };
        Some(state)
    }

    /// Maps FreeBSD's `TCPS_*` numbering (0 = CLOSED ... 10 = TIME_WAIT).
    pub fn from_freebsd_number(n: i64) -> Option<Self> {
        const ORDER: [TcpState; 11] = [
            TcpState::Closed,
            TcpState::Listen,
            TcpState::SynSent,
            TcpState::SynReceived,
            TcpState::Established,
            TcpState::CloseWait,
            TcpState::FinWait1,
            TcpState::Closing,
            TcpState::LastAck,
            TcpState::FinWait2,
            TcpState::TimeWait,
        ];
        usize::try_from(n).ok().and_then(|i| ORDER.get(i)).copied()
    }

    /// Maps Linux's `TCP_*` numbering (1 = ESTABLISHED ... 11 = CLOSING;
    /// 12 `TCP_NEW_SYN_RECV` maps to SYN-RECEIVED).
    pub fn from_linux_number(n: i64) -> Option<Self> {
        let state = match n {
            1 => Self::Established,
            2 => Self::SynSent,
            3 | 12 => Self::SynReceived,
            4 => Self::FinWait1,
            5 => Self::FinWait2,
            6 => Self::TimeWait,
            7 => Self::Closed,
            8 => Self::CloseWait,
            9 => Self::LastAck,
            10 => Self::Listen,
            11 => Self::Closing,
            _ => return None,
        };
        Some(state)
    }
}

/// A small integer expression on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyExpr {
    /// An integer literal.
    Int(i64),
    /// A name, e.g. `TCPI_OPT_SACK`.
    Name(String),
    /// A binary operation.
    Binary {
        /// The operator.
        op: PyBinOp,
        /// Left operand.
        lhs: Box<PyExpr>,
        /// Right operand.
        rhs: Box<PyExpr>,
    },
}

impl PyExpr {
    /// Evaluates the expression, resolving names with `lookup`. Returns
    /// `None` for an unknown name, overflow or division by zero.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<i64>) -> Option<i64> {
        match self {
            PyExpr::Int(v) => Some(*v),
            PyExpr::Name(n) => lookup(n),
            PyExpr::Binary { op, lhs, rhs } => {
                let (a, b) = (lhs.eval(lookup)?, rhs.eval(lookup)?);
                match op {
                    PyBinOp::BitOr => Some(a | b),
                    PyBinOp::BitAnd => Some(a & b),
                    PyBinOp::Add => a.checked_add(b),
                    PyBinOp::Sub => a.checked_sub(b),
                    PyBinOp::Mul => a.checked_mul(b),
                    PyBinOp::FloorDiv => {
                        // Python rounds towards negative infinity.
                        let q = a.checked_div(b)?;
                        let inexact = a.checked_rem(b)? != 0;
                        Some(if inexact && ((a < 0) != (b < 0)) { q - 1 } else { q })
                    }
                }
            }
        }
    }
}

/// Operators understood in [`PyExpr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyBinOp {
    /// `|`
    BitOr,
    /// `&`
    BitAnd,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `//`
    FloorDiv,
}
