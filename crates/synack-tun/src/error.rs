//! The crate's one error type, [`TunError`], and the exit status it maps to.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a TUN run could not start or did not finish.
#[derive(Debug)]
#[non_exhaustive]
pub enum TunError {
    /// `/dev/net/tun` does not exist (no `tun` driver, or a container without the
    /// device node). Exit status 2.
    NoTunDevice,
    /// The process may not create or configure a TUN device: it lacks
    /// `CAP_NET_ADMIN`. Exit status 2.
    PermissionDenied,
    /// A command-line value that cannot be used (an application name, an address).
    /// Exit status 2.
    InvalidArgument(String),
    /// Creating, configuring, reading or writing the device failed.
    Device {
        /// What was being done ("create", "read", "write", "wait").
        op: &'static str,
        /// The system's error.
        source: io::Error,
    },
    /// An output file (`--pcap`, `--json`) could not be created or written.
    Output {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// Installing the SIGINT/SIGTERM handler failed.
    Signal(io::Error),
    /// The stack refused an API call (address in use, ...).
    Stack(synack::Error),
    /// The connection failed: refused, reset or timed out.
    Connection(synack::ConnError),
    /// The run did not complete within its time bound.
    Timeout(&'static str),
}

impl TunError {
    /// The process exit status the CLI should use: 2 for a missing device, a missing
    /// privilege or a bad argument (the run could not start), 1 for anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            TunError::NoTunDevice | TunError::PermissionDenied | TunError::InvalidArgument(_) => 2,
            _ => 1,
        }
    }

    /// Whether the environment lacks what a TUN run needs (the device node or
    /// `CAP_NET_ADMIN`), as opposed to a failure of the run itself.
    pub fn is_environment(&self) -> bool {
        matches!(self, TunError::NoTunDevice | TunError::PermissionDenied)
    }

    pub(crate) fn device(op: &'static str, source: io::Error) -> TunError {
        TunError::Device { op, source }
    }

    pub(crate) fn output(path: &std::path::Path, source: io::Error) -> TunError {
        TunError::Output { path: path.to_path_buf(), source }
    }
}

impl fmt::Display for TunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunError::NoTunDevice => {
                write!(f, "/dev/net/tun is missing: this system has no TUN driver (load the `tun` module or run where the device exists)")
            }
            TunError::PermissionDenied => {
                write!(f, "creating a TUN device needs CAP_NET_ADMIN and access to /dev/net/tun: run as root (or grant the capability)")
            }
            TunError::InvalidArgument(s) => write!(f, "invalid argument: {s}"),
            TunError::Device { op, source } => write!(f, "TUN device {op} failed: {source}"),
            TunError::Output { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            TunError::Signal(e) => write!(f, "cannot install the SIGINT/SIGTERM handler: {e}"),
            TunError::Stack(e) => write!(f, "{e}"),
            TunError::Connection(e) => write!(f, "{e}"),
            TunError::Timeout(what) => write!(f, "timed out: {what}"),
        }
    }
}

impl std::error::Error for TunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TunError::Device { source, .. } | TunError::Output { source, .. } => Some(source),
            TunError::Signal(e) => Some(e),
            TunError::Stack(e) => Some(e),
            TunError::Connection(e) => Some(e),
            _ => None,
        }
    }
}

impl From<synack::Error> for TunError {
    fn from(e: synack::Error) -> Self {
        match e {
            synack::Error::Conn(c) => TunError::Connection(c),
            other => TunError::Stack(other),
        }
    }
}
