//! Errors: a scenario that cannot be built ([`ScenarioError`]) and a run that cannot
//! start or finish ([`SimError`]). Every message is one line naming the problem.

use std::fmt::{self, Write as _};

/// Text from a scenario file inside a message, its control characters escaped (`\n`,
/// `\u{1b}`), so that the message stays one line and cannot drive the terminal.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_debug())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// A custom scenario (TOML) is malformed or asks for something impossible.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The text is not valid TOML, or does not fit the format (unknown key, wrong type,
    /// unknown value of an enumerated key).
    Toml {
        /// The 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong, on one line.
        message: String,
    },
    /// The scenario declares no host.
    NoHosts,
    /// Two hosts share a name or an address.
    DuplicateHost {
        /// The name or address used twice.
        name: String,
    },
    /// A name that is no host of the scenario.
    UnknownHost {
        /// Where it was used (`link #1`, `step #3`, ...).
        context: String,
        /// The name given.
        name: String,
    },
    /// An address, endpoint or link name that does not parse.
    BadAddress {
        /// Where it was used.
        context: String,
        /// The text given.
        value: String,
    },
    /// A probability outside `0..=1` (or not a number).
    Probability {
        /// Which field (`link client->server: loss`).
        field: String,
        /// The value given.
        value: f64,
    },
    /// A duration that is negative, not finite or absurdly long.
    Duration {
        /// Which field.
        field: String,
        /// The value given, in milliseconds.
        value: f64,
    },
    /// A number outside what it may be (an MTU of 10, a port of 0, ...).
    OutOfRange {
        /// Which field.
        field: String,
        /// What was given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// TCP flags written other than as tcpdump prints them (`S`, `S.`, `F.`, `R.` ...).
    BadFlags {
        /// Where.
        context: String,
        /// The text given.
        value: String,
    },
    /// A state name other than RFC 9293's spelling (`FIN-WAIT-1`, ...).
    BadState {
        /// Where.
        context: String,
        /// The text given.
        value: String,
    },
    /// A field the entry needs is missing.
    MissingField {
        /// Where.
        context: String,
        /// The missing field.
        field: &'static str,
    },
    /// Fields that contradict each other.
    Conflict {
        /// Where.
        context: String,
        /// What contradicts what.
        message: String,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Toml { line: Some(l), message } => write!(f, "line {l}: {}", Shown(message)),
            ScenarioError::Toml { line: None, message } => write!(f, "{}", Shown(message)),
            ScenarioError::NoHosts => write!(f, "the scenario has no [[host]]"),
            ScenarioError::DuplicateHost { name } => write!(f, "host `{}` is declared twice", Shown(name)),
            ScenarioError::UnknownHost { context, name } => {
                write!(f, "{}: no host is named `{}`", Shown(context), Shown(name))
            }
            ScenarioError::BadAddress { context, value } => {
                write!(f, "{}: cannot parse `{}`", Shown(context), Shown(value))
            }
            ScenarioError::Probability { field, value } => {
                write!(f, "{}: probability {value} is not between 0 and 1", Shown(field))
            }
            ScenarioError::Duration { field, value } => {
                write!(f, "{}: {value} ms is not a duration (need a finite number >= 0)", Shown(field))
            }
            ScenarioError::OutOfRange { field, value, allowed } => {
                write!(f, "{}: {} is out of range ({allowed})", Shown(field), Shown(value))
            }
            ScenarioError::BadFlags { context, value } => {
                write!(
                    f,
                    "{}: `{}` is not TCP flags as tcpdump prints them (S, S., ., P., F., R, R., ...)",
                    Shown(context),
                    Shown(value)
                )
            }
            ScenarioError::BadState { context, value } => {
                write!(
                    f,
                    "{}: `{}` is not an RFC 9293 state name (CLOSED, SYN-SENT, FIN-WAIT-1, ...)",
                    Shown(context),
                    Shown(value)
                )
            }
            ScenarioError::MissingField { context, field } => {
                write!(f, "{}: missing `{field}`", Shown(context))
            }
            ScenarioError::Conflict { context, message } => {
                write!(f, "{}: {}", Shown(context), Shown(message))
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A run could not start (bad options) or did not finish within its bounds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SimError {
    /// An option of [`crate::SimOptions`] has an impossible value.
    InvalidOption {
        /// The option (`loss`, `delay`, ...).
        option: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The scenario is invalid.
    Scenario(ScenarioError),
    /// More events than the run's bound: something keeps the network busy.
    EventLimit {
        /// The bound.
        limit: u64,
        /// Virtual time reached, microseconds.
        t_us: u64,
    },
    /// The next event lies past the run's bound on virtual time.
    TimeLimit {
        /// The bound, microseconds.
        limit_us: u64,
        /// When the next event was due, microseconds.
        next_us: u64,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::InvalidOption { option, value, expected } => {
                write!(f, "option {option}: {value} is invalid (expected {expected})")
            }
            SimError::Scenario(e) => write!(f, "scenario: {e}"),
            SimError::EventLimit { limit, t_us } => write!(
                f,
                "the run did not settle: {limit} events processed by t={} ms (raise max_events?)",
                t_us / 1000
            ),
            SimError::TimeLimit { limit_us, next_us } => write!(
                f,
                "the run did not settle within {} ms of virtual time (next event at {} ms; raise max_time?)",
                limit_us / 1000,
                next_us / 1000
            ),
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimError::Scenario(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ScenarioError> for SimError {
    fn from(e: ScenarioError) -> Self {
        SimError::Scenario(e)
    }
}
