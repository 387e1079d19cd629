//! System calls, mapped onto the [`synack::Stack`] API.
//!
//! | call | stack |
//! |---|---|
//! | `socket` | a descriptor, nothing in the stack yet |
//! | `bind(fd, ..., ...)` | the local address, port 8080 |
//! | `listen` | [`synack::Stack::listen`] |
//! | `accept` | [`synack::Stack::accept`], blocking until a connection is queued |
//! | `connect` | [`synack::Stack::connect`] (or `connect_from` when bound); `EINPROGRESS` when non-blocking, else blocks until ESTABLISHED or failure |
//! | `read`/`recv` | [`synack::Stack::recv`] (`MSG_PEEK` reads the queue length without consuming) |
//! | `write`/`send` | [`synack::Stack::send`], blocking until everything is queued |
//! | `shutdown` | [`synack::Stack::shutdown`] for `SHUT_WR`; `SHUT_RD` is the socket layer's |
//! | `close` | [`synack::Stack::close`] / [`synack::Stack::close_listener`] |
//! | `fcntl` | `F_GETFL`/`F_SETFL` with `O_NONBLOCK` |
//! | `getsockopt` | `SO_ERROR`, `SO_RCVBUF`, `SO_SNDBUF`, `TCP_MAXSEG`, `TCP_NODELAY`, `TCP_KEEPINIT`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` |
//! | `setsockopt` | `SO_REUSEADDR`/`SO_REUSEPORT` (no-ops), `TCP_MAXSEG`, `SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`, `IP_TOS`, `IPV6_TCLASS`, `IP_TTL`, `IPV6_UNICAST_HOPS` (any time), and before the stack starts `SO_RCVBUF`, `SO_SNDBUF`, `TCP_NODELAY`, `TCP_NOOPT`, `TCP_KEEPINIT` |
//!
//! Anything else skips the script with the call's name.

use super::engine::{Runner, Step, Stop, CONNECT_PORT, LOCAL_PORT};
use super::sockets::{Attempt, Call, Kind, Pending, Ret, Socket};
use crate::ast::{Event, Expr, SyscallSpec, TimeSpec};
use std::net::SocketAddr;
use synack::{Error, Instant, UsageError};

impl Runner {
    /// Runs one system call line.
    pub(crate) fn syscall(&mut self, ev: &Event, s: &SyscallSpec) -> Step {
        let line = ev.line;
        let end = match ev.time {
            TimeSpec::Blocking { end, .. } => self.point(end),
            _ => self.now,
        };
        let ret = match s.name.as_str() {
            "socket" => self.sys_socket(line, s)?,
            "bind" => self.sys_bind(line, s)?,
            "listen" => self.sys_listen(line, s)?,
            "close" => self.sys_close(line, s)?,
            "shutdown" => self.sys_shutdown(line, s)?,
            "fcntl" => self.sys_fcntl(line, s)?,
            "getsockopt" => self.sys_getsockopt(line, s)?,
            "setsockopt" => self.sys_setsockopt(line, s)?,
            "accept" => {
                let fd = self.fd_arg(line, s)?;
                return self.maybe_blocking(ev, s, fd, Call::Accept, None, end);
            }
            "connect" => match self.sys_connect(line, s)? {
                Some(ret) => ret,
                None => {
                    let fd = self.fd_arg(line, s)?;
                    return self.maybe_blocking(ev, s, fd, Call::Connect, Some(false), end);
                }
            },
            "read" | "recv" => {
                let fd = self.fd_arg(line, s)?;
                let len = self.len_arg(line, s)?;
                let flags = self.flags_arg(line, s)?;
                let peek = flags & 2 != 0;
                let dontwait = flags & self.platform.msg_dontwait != 0;
                if flags & !(2 | self.platform.msg_dontwait) != 0 {
                    return Err(Stop::skip(
                        line,
                        format!("{}() flags {flags:#x} are not supported by the runner", s.name),
                    ));
                }
                return self.maybe_blocking(
                    ev,
                    s,
                    fd,
                    Call::Read { len, peek },
                    dontwait.then_some(true),
                    end,
                );
            }
            "write" | "send" => {
                let fd = self.fd_arg(line, s)?;
                let len = self.len_arg(line, s)?;
                let flags = self.flags_arg(line, s)?;
                let dontwait = flags & self.platform.msg_dontwait != 0;
                if flags & !self.platform.msg_dontwait != 0 {
                    return Err(Stop::skip(
                        line,
                        format!("{}() flags {flags:#x} are not supported by the runner", s.name),
                    ));
                }
                let call = Call::Write { left: len, total: len };
                return self.maybe_blocking(ev, s, fd, call, dontwait.then_some(true), end);
            }
            other => {
                return Err(Stop::skip(
                    line,
                    format!("system call {other}() is not supported by the runner"),
                ));
            }
        };
        self.drain()?;
        self.returned(&s.name, line, end, &s.ret, &ret)
    }

    /// Runs a call that blocks unless the socket is non-blocking: when it cannot
    /// finish now it waits in virtual time (see [`Pending`]). `nonblock` overrides the
    /// socket's mode (`MSG_DONTWAIT`, or a blocking `connect` already started).
    fn maybe_blocking(
        &mut self,
        ev: &Event,
        s: &SyscallSpec,
        fd: i64,
        mut call: Call,
        nonblock: Option<bool>,
        end: u64,
    ) -> Step {
        let nonblock = match nonblock {
            Some(n) => n,
            None => self.socks.get(&fd).is_some_and(|x| x.nonblock),
        };
        let attempt = self.attempt(fd, &mut call, nonblock)?;
        if matches!(call, Call::Accept | Call::Read { .. } | Call::Write { .. }) {
            if let Some(Kind::Conn(_)) = self.socks.get(&fd).map(|x| x.kind) {
                self.current_fd = Some(fd);
            }
        }
        match attempt {
            Attempt::Done(ret) => {
                self.drain()?;
                self.returned(&s.name, ev.line, end, &s.ret, &ret)
            }
            Attempt::Block => {
                self.pending = Some(Pending {
                    line: ev.line,
                    name: s.name.clone(),
                    fd,
                    call,
                    end,
                    expect: s.ret.clone(),
                });
                self.drain()
            }
        }
    }

    // ----- arguments ---------------------------------------------------------------

    fn arg<'a>(&self, line: u32, s: &'a SyscallSpec, i: usize) -> Step<&'a Expr> {
        s.args
            .get(i)
            .ok_or_else(|| Stop::skip(line, format!("script error: {}() needs argument {}", s.name, i + 1)))
    }

    fn int_arg(&self, line: u32, s: &SyscallSpec, i: usize) -> Step<i64> {
        let e = self.arg(line, s, i)?;
        self.eval_int(e).ok_or_else(|| {
            Stop::skip(line, format!("argument {} of {}() is not understood by the runner", i + 1, s.name))
        })
    }

    fn fd_arg(&self, line: u32, s: &SyscallSpec) -> Step<i64> {
        self.int_arg(line, s, 0)
    }

    fn len_arg(&self, line: u32, s: &SyscallSpec) -> Step<usize> {
        let n = self.int_arg(line, s, 2)?;
        usize::try_from(n).map_err(|_| Stop::skip(line, format!("script error: length {n} of {}()", s.name)))
    }

    fn flags_arg(&self, line: u32, s: &SyscallSpec) -> Step<i64> {
        if s.args.len() < 4 {
            return Ok(0);
        }
        self.int_arg(line, s, 3)
    }

    fn ident_arg<'a>(&self, line: u32, s: &'a SyscallSpec, i: usize) -> Step<&'a str> {
        self.arg(line, s, i)?.as_ident().ok_or_else(|| {
            Stop::skip(line, format!("script error: argument {} of {}() should be a name", i + 1, s.name))
        })
    }

    /// Address arguments: only `...` (the runner's own addresses) is understood.
    fn ellipsis_arg(&self, line: u32, s: &SyscallSpec, i: usize) -> Step {
        match s.args.get(i) {
            None | Some(Expr::Ellipsis) => Ok(()),
            Some(_) => Err(Stop::skip(
                line,
                format!("explicit address arguments of {}() are not supported by the runner", s.name),
            )),
        }
    }

    // ----- the calls -----------------------------------------------------------------

    fn sys_socket(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let domain = s.args.first().and_then(Expr::as_ident);
        match domain {
            None | Some("AF_INET" | "PF_INET" | "AF_INET6" | "PF_INET6") => {}
            Some(d) => {
                return Err(Stop::skip(line, format!("socket domain {d} is not supported by the runner")))
            }
        }
        let ty = self.ident_arg(line, s, 1)?;
        if ty != "SOCK_STREAM" {
            return Err(Stop::skip(line, format!("socket type {ty}: synack is TCP only")));
        }
        match s.args.get(2) {
            Some(Expr::Ident(p)) if p == "IPPROTO_TCP" => {}
            Some(Expr::Int(0)) | None => {}
            Some(p) => {
                return Err(Stop::skip(line, format!("socket protocol {p:?} is not supported by synack")))
            }
        }
        let fd = self.free_fd();
        self.socks.insert(fd, Socket::new(Kind::Fresh));
        Ok(Ret::Val(fd))
    }

    fn sys_bind(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        self.ellipsis_arg(line, s, 1)?;
        let addr = SocketAddr::new(self.local_ip, LOCAL_PORT);
        let Some(sock) = self.socks.get_mut(&fd) else { return Ok(Ret::Errno("EBADF")) };
        if sock.bound.is_some() || sock.kind != Kind::Fresh {
            return Ok(Ret::Errno("EINVAL"));
        }
        sock.bound = Some(addr);
        Ok(Ret::Val(0))
    }

    fn sys_listen(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let backlog = self.int_arg(line, s, 1)?;
        let Some(sock) = self.socks.get(&fd) else { return Ok(Ret::Errno("EBADF")) };
        match sock.kind {
            Kind::Listener(_) => return Ok(Ret::Val(0)),
            Kind::Conn(_) => return Ok(Ret::Errno("EINVAL")),
            Kind::Fresh => {}
        }
        let addr = sock.bound.unwrap_or(SocketAddr::new(self.local_ip, LOCAL_PORT));
        let (mss_limit, dscp, ttl) = (sock.mss_limit, sock.dscp, sock.ttl);
        let keep = self.keep_of(sock);
        // A backlog of 0 still admits one connection on BSD and Linux; synack's 0
        // means "the default", so pass at least 1.
        let backlog = usize::try_from(backlog.max(1)).unwrap_or(1);
        match self.stack_now().listen(addr, backlog) {
            Ok(l) => {
                if let Some(mss) = mss_limit {
                    // Checked when it was set (`set_maxseg`).
                    let _ = self.stack_now().set_listener_mss_limit(l, mss);
                }
                if let Some(dscp) = dscp {
                    // Six bits, from `set_tos`: always valid.
                    let _ = self.stack_now().set_listener_dscp(l, dscp);
                }
                if let Some(ttl) = ttl {
                    // Not 0, from `set_ttl`: always valid.
                    let _ = self.stack_now().set_listener_ttl(l, ttl);
                }
                if keep != (self.cfg.keepalive.is_some(), self.cfg.keepalive.unwrap_or_default()) {
                    // Checked when they were set (`set_keep`).
                    let _ = self.stack_now().set_listener_keepalive(l, keep.0.then_some(keep.1));
                }
                if let Some(sock) = self.socks.get_mut(&fd) {
                    sock.kind = Kind::Listener(l);
                    sock.bound = Some(addr);
                }
                Ok(Ret::Val(0))
            }
            Err(Error::Usage(UsageError::AddrInUse)) => Ok(Ret::Errno("EADDRINUSE")),
            Err(_) => Ok(Ret::Errno("EINVAL")),
        }
    }

    /// `Some` when `connect` returns at once, `None` when it blocks.
    fn sys_connect(&mut self, line: u32, s: &SyscallSpec) -> Step<Option<Ret>> {
        let fd = self.fd_arg(line, s)?;
        self.ellipsis_arg(line, s, 1)?;
        let Some(sock) = self.socks.get(&fd).cloned() else { return Ok(Some(Ret::Errno("EBADF"))) };
        match sock.kind {
            Kind::Fresh => {}
            Kind::Listener(_) => return Ok(Some(Ret::Errno("EINVAL"))),
            Kind::Conn(c) => {
                let st = self.conn_state(c);
                return Ok(Some(if st.is_synchronized() {
                    Ret::Errno("EISCONN")
                } else if st == synack::State::Closed {
                    Ret::Errno(self.take_error(fd).unwrap_or("ECONNABORTED"))
                } else {
                    Ret::Errno("EALREADY")
                }));
            }
        }
        let remote = SocketAddr::new(self.remote_ip, CONNECT_PORT);
        let now = Instant::from_micros(self.now);
        let res = match sock.bound {
            Some(local) => self.stack_now().connect_from(now, local, remote),
            None => self.stack_now().connect(now, remote),
        };
        let c = match res {
            Ok(c) => c,
            Err(Error::Usage(UsageError::AddrInUse)) => return Ok(Some(Ret::Errno("EADDRINUSE"))),
            Err(Error::Usage(UsageError::PortsExhausted)) => return Ok(Some(Ret::Errno("EADDRNOTAVAIL"))),
            Err(_) => return Ok(Some(Ret::Errno("EINVAL"))),
        };
        if let Some(mss) = sock.mss_limit {
            // Before the SYN is written (`poll_transmit`), so that it announces the
            // limit; checked when it was set (`set_maxseg`).
            let _ = self.stack_now().set_mss_limit(c, mss);
        }
        if let Some(dscp) = sock.dscp {
            // Before the SYN is written, so that it carries the field too (six bits,
            // from `set_tos`: always valid).
            let _ = self.stack_now().set_dscp(c, dscp);
        }
        if let Some(ttl) = sock.ttl {
            // Before the SYN is written, likewise (not 0, from `set_ttl`).
            let _ = self.stack_now().set_ttl(c, ttl);
        }
        // SO_KEEPALIVE and TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT set before
        // `connect` (checked when they were set, `set_keep`).
        if let Some(t) = sock.keep_timings {
            let _ = self.stack_now().set_keepalive_timings(c, t);
        }
        if sock.keepalive.is_some() {
            let on = self.keep_of(&sock).0;
            let _ = self.stack_now().set_keepalive(c, on);
        }
        if let Ok(t) = self.stack_now().tuple(c) {
            self.active = Some((t.local, t.remote));
        }
        if let Some(sock) = self.socks.get_mut(&fd) {
            sock.kind = Kind::Conn(c);
        }
        self.current_fd = Some(fd);
        if sock.nonblock {
            return Ok(Some(Ret::Errno("EINPROGRESS")));
        }
        Ok(None)
    }

    fn sys_close(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let Some(sock) = self.socks.remove(&fd) else { return Ok(Ret::Errno("EBADF")) };
        if self.current_fd == Some(fd) {
            self.current_fd = None;
        }
        match sock.kind {
            Kind::Fresh => {}
            Kind::Listener(l) => {
                let _ = self.stack_now().close_listener(l);
            }
            Kind::Conn(c) => {
                let _ = self.stack_now().close(c);
            }
        }
        Ok(Ret::Val(0))
    }

    fn sys_shutdown(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let how = self.int_arg(line, s, 1)?;
        let Some(sock) = self.socks.get(&fd) else { return Ok(Ret::Errno("EBADF")) };
        let Kind::Conn(c) = sock.kind else { return Ok(Ret::Errno("ENOTCONN")) };
        let (rd, wr) = match how {
            0 => (true, false),
            1 => (false, true),
            2 => (true, true),
            _ => return Ok(Ret::Errno("EINVAL")),
        };
        if self.conn_state(c) == synack::State::Closed {
            return Ok(Ret::Errno("ENOTCONN"));
        }
        if wr {
            if let Err(e) = self.stack_now().shutdown(c) {
                return Ok(Ret::Errno(match e {
                    Error::Usage(UsageError::InvalidState(_)) => "ENOTCONN",
                    _ => "EINVAL",
                }));
            }
        }
        if let Some(sock) = self.socks.get_mut(&fd) {
            sock.rd_shut |= rd;
            sock.wr_shut |= wr;
        }
        Ok(Ret::Val(0))
    }

    fn sys_fcntl(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let cmd = self.ident_arg(line, s, 1)?;
        let o_nonblock = self.platform.o_nonblock;
        let flags = match cmd {
            "F_SETFL" => Some(self.int_arg(line, s, 2)?),
            "F_GETFL" => None,
            other => return Err(Stop::skip(line, format!("fcntl {other} is not supported by the runner"))),
        };
        let Some(sock) = self.socks.get_mut(&fd) else { return Ok(Ret::Errno("EBADF")) };
        Ok(match flags {
            Some(f) => {
                sock.nonblock = f & o_nonblock != 0;
                Ret::Val(0)
            }
            None => Ret::Val(2 | if sock.nonblock { o_nonblock } else { 0 }),
        })
    }

    fn sys_getsockopt(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let level = self.ident_arg(line, s, 1)?;
        let name = self.ident_arg(line, s, 2)?;
        if !self.socks.contains_key(&fd) {
            return Ok(Ret::Errno("EBADF"));
        }
        let value: i64 = match (level, name) {
            ("SOL_SOCKET", "SO_ERROR") => match self.take_error(fd) {
                Some(e) => self.platform.errno(e).unwrap_or(-1),
                None => 0,
            },
            ("SOL_SOCKET", "SO_RCVBUF") => self.buffer_size(fd, true),
            ("SOL_SOCKET", "SO_SNDBUF") => self.buffer_size(fd, false),
            ("IPPROTO_TCP", "TCP_MAXSEG") => self.maxseg(fd),
            ("IPPROTO_TCP", "TCP_NODELAY") => i64::from(!self.cfg.nagle),
            ("IPPROTO_IP", "IP_TTL") | ("IPPROTO_IPV6", "IPV6_UNICAST_HOPS") => self.ttl(fd),
            // Seconds, as FreeBSD reports it; 0 when there is no limit.
            ("IPPROTO_TCP", "TCP_KEEPINIT") => {
                self.cfg.connect_timeout.map_or(0, |d| (d.as_micros() / 1_000_000) as i64)
            }
            // Seconds, and a count: the connection's (`ConnInfo::keepalive_timings`),
            // or what a socket not yet connected will give it.
            ("IPPROTO_TCP", "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT") => {
                let ka = self.keep_timings(fd);
                match name {
                    "TCP_KEEPIDLE" => (ka.idle.as_millis() / 1000) as i64,
                    "TCP_KEEPINTVL" => (ka.interval.as_millis() / 1000) as i64,
                    _ => i64::from(ka.probes),
                }
            }
            _ => return Err(Stop::skip(line, format!("getsockopt {name} is not supported by the runner"))),
        };
        let want = match s.args.get(3) {
            Some(Expr::Ellipsis) | None => None,
            Some(Expr::Array(items)) if items.len() == 1 && items[0] == Expr::Ellipsis => None,
            Some(e) => Some(self.eval_int(e).ok_or_else(|| {
                Stop::skip(line, format!("getsockopt {name} value `{e:?}` is not understood by the runner"))
            })?),
        };
        if let Some(want) = want {
            if want != value {
                let stop =
                    Stop::fail(line, "getsockopt value", format!("{name} [{want}]"), format!("[{value}]"));
                self.syscall_mismatch(stop)?;
            }
        }
        Ok(Ret::Val(0))
    }

    /// SO_RCVBUF / SO_SNDBUF: the configured buffer, rounded up to a multiple of the
    /// connection's MSS once it is known on platforms that do so.
    fn buffer_size(&self, fd: i64, recv: bool) -> i64 {
        let size = i64::from(if recv { self.cfg.recv_buffer } else { self.cfg.send_buffer });
        let Some(sock) = self.socks.get(&fd) else { return size };
        let Kind::Conn(c) = sock.kind else { return size };
        if !self.platform.round_buffers_to_mss || !sock.mss_known {
            return size;
        }
        match self.stack.as_ref().and_then(|st| st.info(c).ok()) {
            Some(info) if info.mss > 0 => {
                let mss = i64::from(info.mss);
                (size + mss - 1) / mss * mss
            }
            _ => size,
        }
    }

    fn maxseg(&self, fd: i64) -> i64 {
        let known = self.socks.get(&fd).and_then(|s| match s.kind {
            Kind::Conn(c) if s.mss_known => self.stack.as_ref().and_then(|st| st.info(c).ok()),
            _ => None,
        });
        match known {
            Some(info) => i64::from(info.mss),
            // RFC 9293 3.7.1: the default send MSS is 536 (1220 for IPv6).
            None if self.ipv6 => 1220,
            None => 536,
        }
    }

    /// `TCP_MAXSEG`: the socket's MSS limit, at once for a connection or listener, at
    /// `connect` or `listen` for a fresh socket. A value synack refuses (below 64
    /// bytes, or beyond 16 bits) is `EINVAL`, as on Linux and FreeBSD.
    fn set_maxseg(&mut self, fd: i64, value: i64) -> Ret {
        let Ok(mss) = u16::try_from(value) else { return Ret::Errno("EINVAL") };
        let Some(sock) = self.socks.get_mut(&fd) else { return Ret::Errno("EBADF") };
        let res = match sock.kind {
            Kind::Fresh if mss >= synack::Stack::MIN_MSS_LIMIT => {
                sock.mss_limit = Some(mss);
                Ok(())
            }
            Kind::Fresh => Err(()),
            Kind::Conn(c) => self.stack_now().set_mss_limit(c, mss).map_err(drop),
            Kind::Listener(l) => self.stack_now().set_listener_mss_limit(l, mss).map_err(drop),
        };
        match res {
            Ok(()) => Ret::Val(0),
            Err(()) => Ret::Errno("EINVAL"),
        }
    }

    /// `IP_TOS` (IPv4) and `IPV6_TCLASS` (IPv6): the Differentiated Services field of
    /// the socket's segments (RFC 9293 3.9.1.9, MUST-48 and SHLD-21), at once for a
    /// connection or listener, at `connect` or `listen` for a fresh socket. The upper
    /// six bits are the DSCP (RFC 2474); the two ECN bits are the stack's to set (RFC
    /// 3168 6.1.1: ECT on new data once ECN is negotiated), so a value's are ignored,
    /// as FreeBSD and Linux ignore them on a TCP socket with ECN in use. A value
    /// outside 0 to 255 is `EINVAL`.
    fn set_tos(&mut self, fd: i64, value: i64) -> Ret {
        let Ok(tos) = u8::try_from(value) else { return Ret::Errno("EINVAL") };
        let dscp = tos >> 2;
        let Some(sock) = self.socks.get_mut(&fd) else { return Ret::Errno("EBADF") };
        let res = match sock.kind {
            Kind::Fresh => {
                sock.dscp = Some(dscp);
                Ok(())
            }
            Kind::Conn(c) => self.stack_now().set_dscp(c, dscp),
            Kind::Listener(l) => self.stack_now().set_listener_dscp(l, dscp),
        };
        match res {
            Ok(()) => Ret::Val(0),
            Err(_) => Ret::Errno("EINVAL"),
        }
    }

    /// `IP_TTL` (IPv4) and `IPV6_UNICAST_HOPS` (IPv6): the TTL or hop limit of the
    /// socket's segments (RFC 9293 3.9.1.1, MUST-49), at once for a connection or
    /// listener, at `connect` or `listen` for a fresh socket. -1 is the default
    /// (`Config::ttl`), as Linux and FreeBSD take it for `IPV6_UNICAST_HOPS`; 1 to 255
    /// are taken as they are, anything else is `EINVAL`.
    fn set_ttl(&mut self, fd: i64, value: i64) -> Ret {
        let ttl = match value {
            -1 => self.cfg.ttl,
            v => match u8::try_from(v).ok().filter(|&t| t > 0) {
                Some(t) => t,
                None => return Ret::Errno("EINVAL"),
            },
        };
        let Some(sock) = self.socks.get_mut(&fd) else { return Ret::Errno("EBADF") };
        let res = match sock.kind {
            Kind::Fresh => Ok(()),
            Kind::Conn(c) => self.stack_now().set_ttl(c, ttl),
            Kind::Listener(l) => self.stack_now().set_listener_ttl(l, ttl),
        };
        match res {
            Ok(()) => {
                if let Some(sock) = self.socks.get_mut(&fd) {
                    sock.ttl = Some(ttl);
                }
                Ret::Val(0)
            }
            Err(_) => Ret::Errno("EINVAL"),
        }
    }

    /// The TTL of socket `fd`: its connection's, or the one it has been given, or the
    /// configured one.
    fn ttl(&self, fd: i64) -> i64 {
        let Some(sock) = self.socks.get(&fd) else { return i64::from(self.cfg.ttl) };
        let conn = match sock.kind {
            Kind::Conn(c) => self.stack.as_ref().and_then(|st| st.info(c).ok()).map(|i| i.ttl),
            Kind::Fresh | Kind::Listener(_) => None,
        };
        i64::from(conn.or(sock.ttl).unwrap_or(self.cfg.ttl))
    }

    /// Keep-alive as a socket not yet connected gives it to its connection, or a
    /// listener to the connections it accepts: on or off, and the timings. On when
    /// the configuration has it on for every connection (FreeBSD's always_keepalive)
    /// or `SO_KEEPALIVE` asked for it.
    fn keep_of(&self, sock: &Socket) -> (bool, synack::Keepalive) {
        let on = self.cfg.keepalive.is_some() || sock.keepalive == Some(true);
        (on, sock.keep_timings.unwrap_or(self.cfg.keepalive.unwrap_or_default()))
    }

    /// The keep-alive timings of socket `fd`: its connection's, or those it will give.
    fn keep_timings(&self, fd: i64) -> synack::Keepalive {
        let Some(sock) = self.socks.get(&fd) else { return self.cfg.keepalive.unwrap_or_default() };
        match sock.kind {
            Kind::Conn(c) => match self.stack.as_ref().and_then(|st| st.info(c).ok()) {
                Some(info) => info.keepalive_timings,
                None => self.keep_of(sock).1,
            },
            Kind::Fresh | Kind::Listener(_) => self.keep_of(sock).1,
        }
    }

    /// `SO_KEEPALIVE` (on when non-zero), `TCP_KEEPIDLE` and `TCP_KEEPINTVL` (seconds,
    /// at least 1) and `TCP_KEEPCNT` (1 to 255): at once for a connection
    /// (`Stack::set_keepalive`, `Stack::set_keepalive_timings`) or a listener
    /// (`Stack::set_listener_keepalive`), at `connect` or `listen` for a fresh socket.
    /// A value out of range is `EINVAL`.
    fn set_keep(&mut self, fd: i64, name: &str, value: i64) -> Ret {
        let mut ka = self.keep_timings(fd);
        match name {
            "SO_KEEPALIVE" => {}
            "TCP_KEEPIDLE" | "TCP_KEEPINTVL" => {
                let Some(secs) = u64::try_from(value).ok().filter(|&v| v >= 1) else {
                    return Ret::Errno("EINVAL");
                };
                let d = synack::Duration::from_secs(secs);
                if name == "TCP_KEEPIDLE" {
                    ka.idle = d;
                } else {
                    ka.interval = d;
                }
            }
            _ => match u8::try_from(value).ok().filter(|&v| v >= 1) {
                Some(n) => ka.probes = n,
                None => return Ret::Errno("EINVAL"),
            },
        }
        let Some(sock) = self.socks.get_mut(&fd) else { return Ret::Errno("EBADF") };
        if name == "SO_KEEPALIVE" {
            sock.keepalive = Some(value != 0);
        } else {
            sock.keep_timings = Some(ka);
        }
        let sock = sock.clone();
        let (on, timings) = self.keep_of(&sock);
        let res = match sock.kind {
            Kind::Fresh => Ok(()),
            Kind::Conn(c) if name == "SO_KEEPALIVE" => self.stack_now().set_keepalive(c, on),
            Kind::Conn(c) => self.stack_now().set_keepalive_timings(c, ka),
            Kind::Listener(l) => self.stack_now().set_listener_keepalive(l, on.then_some(timings)),
        };
        match res {
            Ok(()) => Ret::Val(0),
            Err(_) => Ret::Errno("EINVAL"),
        }
    }

    fn sys_setsockopt(&mut self, line: u32, s: &SyscallSpec) -> Step<Ret> {
        let fd = self.fd_arg(line, s)?;
        let name = self.ident_arg(line, s, 2)?;
        let started = self.stack.is_some();
        match name {
            "SO_REUSEADDR" | "SO_REUSEPORT" | "SO_RCVBUF" | "SO_SNDBUF" | "TCP_NODELAY" | "TCP_NOOPT"
            | "TCP_KEEPINIT" | "TCP_MAXSEG" | "SO_KEEPALIVE" | "TCP_KEEPIDLE" | "TCP_KEEPINTVL"
            | "TCP_KEEPCNT" | "IP_TOS" | "IPV6_TCLASS" | "IP_TTL" | "IPV6_UNICAST_HOPS" => {}
            other => return Err(Stop::skip(line, format!("setsockopt {other} is not supported by synack"))),
        }
        if !self.socks.contains_key(&fd) {
            return Ok(Ret::Errno("EBADF"));
        }
        let value = self.int_arg(line, s, 3)?;
        if name == "TCP_MAXSEG" {
            return Ok(self.set_maxseg(fd, value));
        }
        if matches!(name, "IP_TOS" | "IPV6_TCLASS") {
            return Ok(self.set_tos(fd, value));
        }
        if matches!(name, "IP_TTL" | "IPV6_UNICAST_HOPS") {
            return Ok(self.set_ttl(fd, value));
        }
        if matches!(name, "SO_KEEPALIVE" | "TCP_KEEPIDLE" | "TCP_KEEPINTVL" | "TCP_KEEPCNT") {
            return Ok(self.set_keep(fd, name, value));
        }
        match name {
            "SO_RCVBUF" | "SO_SNDBUF" | "TCP_NODELAY" | "TCP_NOOPT" | "TCP_KEEPINIT" if started => {
                let why =
                    format!("setsockopt {name} after the stack started (synack's settings are per stack)");
                return Err(Stop::skip(line, why));
            }
            "SO_RCVBUF" => self.cfg.recv_buffer = u32::try_from(value.max(1)).unwrap_or(u32::MAX),
            "SO_SNDBUF" => self.cfg.send_buffer = u32::try_from(value.max(1)).unwrap_or(u32::MAX),
            "TCP_NODELAY" => self.cfg.nagle = value == 0,
            // FreeBSD's TCP_KEEPINIT (seconds): how long an open may take.
            "TCP_KEEPINIT" => {
                let secs = u64::try_from(value).unwrap_or(0);
                self.cfg.connect_timeout = (secs > 0).then(|| synack::Duration::from_secs(secs));
            }
            // FreeBSD's TCP_NOOPT: SYNs without options, and none negotiated.
            "TCP_NOOPT" => {
                let on = value == 0;
                (self.cfg.mss_option, self.cfg.window_scaling, self.cfg.sack, self.cfg.timestamps) =
                    (on, on, on, on);
            }
            // SO_REUSEADDR / SO_REUSEPORT: synack lets a port be listened on again
            // whatever connections remain; nothing to set.
            _ => {}
        }
        Ok(Ret::Val(0))
    }
}
