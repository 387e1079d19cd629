//! The socket layer the scripts talk to: file descriptors over listeners and
//! connections, pending errors, non-blocking mode, and system calls that block in
//! virtual time until the stack lets them finish.

use super::engine::{secs, Runner, Step, Stop};
use crate::ast::{Expr, SyscallReturn};
use synack::{ConnError, ConnId, Error, ListenerId, State, UsageError};

/// What a descriptor refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `socket()` done; not listening or connected yet.
    Fresh,
    /// Listening.
    Listener(ListenerId),
    /// A connection (connecting, connected or finished).
    Conn(ConnId),
}

/// One socket descriptor.
#[derive(Debug, Clone)]
pub(crate) struct Socket {
    pub(crate) kind: Kind,
    pub(crate) bound: Option<std::net::SocketAddr>,
    pub(crate) nonblock: bool,
    /// The connection's error was reported (SO_ERROR, read or write): it is reported
    /// once, as a BSD socket's `so_error` is.
    pub(crate) error_taken: bool,
    pub(crate) rd_shut: bool,
    pub(crate) wr_shut: bool,
    /// The connection learned the peer's MSS (its handshake progressed past SYN-SENT).
    pub(crate) mss_known: bool,
    /// `TCP_MAXSEG` set before `connect` or `listen`, applied by them
    /// (`Stack::set_mss_limit`, `Stack::set_listener_mss_limit`).
    pub(crate) mss_limit: Option<u16>,
    /// The DSCP of `IP_TOS` or `IPV6_TCLASS` set before `connect` or `listen`, applied
    /// by them (`Stack::set_dscp`, `Stack::set_listener_dscp`).
    pub(crate) dscp: Option<u8>,
    /// The TTL of `IP_TTL` or `IPV6_UNICAST_HOPS` set on a socket not yet connected or
    /// on a listener, applied by `connect` or `listen` (`Stack::set_ttl`,
    /// `Stack::set_listener_ttl`) and read back by `getsockopt`.
    pub(crate) ttl: Option<u8>,
    /// `SO_KEEPALIVE` of a socket not yet connected or listening, when set.
    pub(crate) keepalive: Option<bool>,
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT` of a socket not yet connected,
    /// or of a listener (whose connections take them), when set: the rest are the
    /// configured ones.
    pub(crate) keep_timings: Option<synack::Keepalive>,
}

impl Socket {
    pub(crate) fn new(kind: Kind) -> Socket {
        Socket {
            kind,
            bound: None,
            nonblock: false,
            error_taken: false,
            rd_shut: false,
            wr_shut: false,
            mss_known: false,
            mss_limit: None,
            dscp: None,
            ttl: None,
            keepalive: None,
            keep_timings: None,
        }
    }
}

/// A system call's result: a value or `-1` with an errno name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ret {
    Val(i64),
    Errno(&'static str),
}

impl std::fmt::Display for Ret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ret::Val(v) => write!(f, "= {v}"),
            Ret::Errno(e) => write!(f, "= -1 {e}"),
        }
    }
}

/// The outcome of trying a call that may block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    Done(Ret),
    Block,
}

/// What a blocked call is waiting to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    Accept,
    Connect,
    Read { len: usize, peek: bool },
    Write { left: usize, total: usize },
}

/// A call blocked in virtual time.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) line: u32,
    pub(crate) name: String,
    pub(crate) fd: i64,
    pub(crate) call: Call,
    /// When it is expected to return (the end of `start...end`, else its start).
    pub(crate) end: u64,
    pub(crate) expect: SyscallReturn,
}

/// The errno a failed connection reports.
pub(crate) fn conn_errno(e: ConnError) -> &'static str {
    match e {
        ConnError::Refused => "ECONNREFUSED",
        ConnError::Reset => "ECONNRESET",
        ConnError::TimedOut => "ETIMEDOUT",
        ConnError::Aborted => "ECONNABORTED",
        _ => "EIO",
    }
}

impl Runner {
    /// The lowest free descriptor from 3.
    pub(crate) fn free_fd(&self) -> i64 {
        let mut fd = 3;
        while self.socks.contains_key(&fd) {
            fd += 1;
        }
        fd
    }

    /// The connection's error, reported once.
    pub(crate) fn take_error(&mut self, fd: i64) -> Option<&'static str> {
        let s = self.socks.get(&fd)?;
        let Kind::Conn(c) = s.kind else { return None };
        if s.error_taken {
            return None;
        }
        let e = self.stack.as_ref()?.error(c)?;
        if let Some(s) = self.socks.get_mut(&fd) {
            s.error_taken = true;
        }
        Some(conn_errno(e))
    }

    /// Marks sockets whose connection got past SYN-SENT (the peer's MSS is known).
    pub(crate) fn note_mss_known(&mut self) {
        let Some(stack) = self.stack.as_ref() else { return };
        for s in self.socks.values_mut() {
            if let Kind::Conn(c) = s.kind {
                if !s.mss_known && !matches!(stack.state(c), State::SynSent | State::Closed) {
                    s.mss_known = true;
                }
            }
        }
    }

    // ----- calls that may block ---------------------------------------------------

    pub(crate) fn attempt(&mut self, fd: i64, call: &mut Call, nonblock: bool) -> Step<Attempt> {
        match call {
            Call::Accept => self.attempt_accept(fd, nonblock),
            Call::Connect => Ok(self.attempt_connected(fd)),
            Call::Read { len, peek } => Ok(self.attempt_read(fd, *len, *peek, nonblock)),
            Call::Write { left, total } => Ok(self.attempt_write(fd, left, *total, nonblock)),
        }
    }

    fn attempt_accept(&mut self, fd: i64, nonblock: bool) -> Step<Attempt> {
        let Some(s) = self.socks.get(&fd) else { return Ok(Attempt::Done(Ret::Errno("EBADF"))) };
        let Kind::Listener(l) = s.kind else { return Ok(Attempt::Done(Ret::Errno("EINVAL"))) };
        let inherit = self.platform.freebsd_states && s.nonblock;
        match self.stack_now().accept(l) {
            Some(c) => {
                let new = self.free_fd();
                let mut sock = Socket::new(Kind::Conn(c));
                sock.nonblock = inherit;
                sock.mss_known = true;
                self.socks.insert(new, sock);
                self.current_fd = Some(new);
                Ok(Attempt::Done(Ret::Val(new)))
            }
            None if nonblock => Ok(Attempt::Done(Ret::Errno("EAGAIN"))),
            None => Ok(Attempt::Block),
        }
    }

    /// A blocking `connect` returns once the handshake finished or failed.
    fn attempt_connected(&mut self, fd: i64) -> Attempt {
        let Some(Kind::Conn(c)) = self.socks.get(&fd).map(|s| s.kind) else {
            return Attempt::Done(Ret::Errno("EBADF"));
        };
        let state = self.conn_state(c);
        if state.is_synchronized() {
            return Attempt::Done(Ret::Val(0));
        }
        if state == State::Closed {
            return Attempt::Done(match self.take_error(fd) {
                Some(e) => Ret::Errno(e),
                None => Ret::Errno("ECONNABORTED"),
            });
        }
        Attempt::Block
    }

    fn attempt_read(&mut self, fd: i64, len: usize, peek: bool, nonblock: bool) -> Attempt {
        let Some(s) = self.socks.get(&fd) else { return Attempt::Done(Ret::Errno("EBADF")) };
        let Kind::Conn(c) = s.kind else { return Attempt::Done(Ret::Errno("ENOTCONN")) };
        if s.rd_shut {
            return Attempt::Done(Ret::Val(0));
        }
        if peek {
            let queued =
                self.stack.as_ref().and_then(|st| st.info(c).ok()).map_or(0, |i| i.recv_queue as usize);
            if queued > 0 {
                return Attempt::Done(Ret::Val(queued.min(len) as i64));
            }
            if let Some(e) = self.take_error(fd) {
                return Attempt::Done(Ret::Errno(e));
            }
            return match self.conn_state(c) {
                State::CloseWait | State::LastAck | State::Closing | State::TimeWait | State::Closed => {
                    Attempt::Done(Ret::Val(0))
                }
                _ if nonblock => Attempt::Done(Ret::Errno("EAGAIN")),
                _ => Attempt::Block,
            };
        }
        let mut buf = vec![0u8; len.min(1 << 24)];
        match self.stack_now().recv(c, &mut buf) {
            Ok(n) => Attempt::Done(Ret::Val(n as i64)),
            Err(Error::WouldBlock) if nonblock => Attempt::Done(Ret::Errno("EAGAIN")),
            Err(Error::WouldBlock) => Attempt::Block,
            Err(Error::Conn(_)) => match self.take_error(fd) {
                Some(e) => Attempt::Done(Ret::Errno(e)),
                None => Attempt::Done(Ret::Val(0)),
            },
            Err(_) => Attempt::Done(Ret::Errno("ENOTCONN")),
        }
    }

    fn attempt_write(&mut self, fd: i64, left: &mut usize, total: usize, nonblock: bool) -> Attempt {
        let Some(s) = self.socks.get(&fd) else { return Attempt::Done(Ret::Errno("EBADF")) };
        let Kind::Conn(c) = s.kind else { return Attempt::Done(Ret::Errno("ENOTCONN")) };
        if s.wr_shut {
            return Attempt::Done(Ret::Errno("EPIPE"));
        }
        let zeros = vec![0u8; (*left).min(1 << 16)];
        while *left > 0 {
            let chunk = (*left).min(zeros.len());
            match self.stack_now().send(c, &zeros[..chunk]) {
                Ok(0) => break,
                Ok(n) => *left -= n.min(*left),
                Err(Error::WouldBlock) => break,
                Err(Error::Conn(_)) => {
                    return Attempt::Done(Ret::Errno(self.take_error(fd).unwrap_or("EPIPE")));
                }
                Err(Error::Usage(UsageError::InvalidState(st))) => {
                    let e = match st {
                        State::SynSent | State::SynReceived | State::Listen => "ENOTCONN",
                        _ => self.take_error(fd).unwrap_or("EPIPE"),
                    };
                    return Attempt::Done(Ret::Errno(e));
                }
                Err(_) => return Attempt::Done(Ret::Errno("EPIPE")),
            }
        }
        if *left == 0 {
            return Attempt::Done(Ret::Val(total as i64));
        }
        if nonblock {
            let done = total - *left;
            return Attempt::Done(if done > 0 { Ret::Val(done as i64) } else { Ret::Errno("EAGAIN") });
        }
        Attempt::Block
    }

    /// Tries to finish the blocked call; checks its result and time when it does.
    /// Whether it finished.
    pub(crate) fn try_complete(&mut self) -> Step<bool> {
        let Some(mut p) = self.pending.take() else { return Ok(false) };
        match self.attempt(p.fd, &mut p.call, false)? {
            Attempt::Block => {
                self.pending = Some(p);
                Ok(false)
            }
            Attempt::Done(ret) => {
                self.returned(&p.name, p.line, p.end, &p.expect, &ret)?;
                Ok(true)
            }
        }
    }

    /// Lets virtual time run until the blocked call returns; a failure if it is still
    /// blocked past its expected return time plus the tolerance.
    pub(crate) fn wait_pending(&mut self) -> Step {
        let Some(p) = self.pending.as_ref() else { return Ok(()) };
        let deadline = p.end.saturating_add(self.tolerance);
        while self.pending.is_some() && self.step_timer(deadline)? {}
        if let Some(p) = self.pending.take() {
            self.now = self.now.max(deadline);
            let expected = format!("{}() {} at {}", p.name, expect_text(&p.expect), secs(p.end));
            return Err(Stop::fail(
                p.line,
                "blocked call",
                expected,
                format!("still blocked at {}", secs(deadline)),
            ));
        }
        Ok(())
    }

    /// Checks a returned call: its value and errno, and that it returned when the
    /// script says (`start...end`).
    pub(crate) fn returned(
        &mut self,
        name: &str,
        line: u32,
        end: u64,
        expect: &SyscallReturn,
        ret: &Ret,
    ) -> Step {
        let tol = self.tolerance;
        if self.now.abs_diff(end) > tol && !self.ignore.contains(&super::Check::Timing) {
            let expected = format!("{name}() returning at {}±{}ms", secs(end), tol / 1000);
            let actual = format!("returned {ret} at {}", secs(self.now));
            return self.syscall_mismatch(Stop::fail(line, "timing", expected, actual));
        }
        self.check_ret(name, line, expect, ret)
    }

    /// Compares a call's result with the script's `= value [ERRNO]`.
    pub(crate) fn check_ret(&mut self, name: &str, line: u32, expect: &SyscallReturn, ret: &Ret) -> Step {
        let ok = match (&expect.errno, ret) {
            (Some(want), Ret::Errno(got)) => {
                let (a, b) = (self.platform.errno(want), self.platform.errno(got));
                want == got || (a.is_some() && a == b)
            }
            (Some(_), Ret::Val(_)) => false,
            (None, Ret::Errno(_)) => false,
            (None, Ret::Val(v)) => match &expect.value {
                Expr::Ellipsis => true,
                e => match self.eval_int(e) {
                    Some(want) => want == *v,
                    None => {
                        return Err(Stop::skip(
                            line,
                            format!("return value `{e:?}` of {name}() is not understood by the runner"),
                        ))
                    }
                },
            },
        };
        if ok {
            return Ok(());
        }
        let what =
            if matches!(ret, Ret::Errno(_)) || expect.errno.is_some() { "errno" } else { "return value" };
        let stop = Stop::fail(line, what, format!("{name}() {}", expect_text(expect)), format!("{ret}"));
        self.syscall_mismatch(stop)
    }

    /// With `--non_fatal=syscall` a system call mismatch does not end the script.
    pub(crate) fn syscall_mismatch(&mut self, stop: Stop) -> Step {
        if self.non_fatal_syscall {
            Ok(())
        } else {
            Err(stop)
        }
    }

    /// An integer expression: a literal, a constant name, or `a | b`.
    pub(crate) fn eval_int(&self, e: &Expr) -> Option<i64> {
        match e {
            Expr::Int(v) => Some(*v),
            Expr::Ident(n) => self.platform.constant(n),
            Expr::BitOr(items) => items.iter().try_fold(0i64, |acc, x| Some(acc | self.eval_int(x)?)),
            Expr::Array(items) if items.len() == 1 => self.eval_int(&items[0]),
            _ => None,
        }
    }
}

/// `= -1 EINPROGRESS` / `= 3` / `= ...`.
pub(crate) fn expect_text(r: &SyscallReturn) -> String {
    let v = match &r.value {
        Expr::Int(v) => v.to_string(),
        Expr::Ellipsis => "...".into(),
        Expr::Ident(n) => n.clone(),
        other => format!("{other:?}"),
    };
    match &r.errno {
        Some(e) => format!("= {v} {e}"),
        None => format!("= {v}"),
    }
}
