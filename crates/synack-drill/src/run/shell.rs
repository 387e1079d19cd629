//! Shell lines and python blocks: the runner understands `sysctl` settings, the
//! FreeBSD suite's `sockstat` state checks, `tcpdrop` as end-of-script cleanup and
//! `tcpi_*` assertions. Anything else skips the script, naming the line.

use super::engine::{Runner, Step, Stop};
use super::sockets::Kind;
use super::sysctl;
use crate::ast::{
    CmpOp, Event, PyComparison, PyStmt, PythonBlock, ShellCmd, SockstatCheck, StateValue, TcpState,
};
use synack::State;

impl Runner {
    /// Runs a backquoted shell line.
    pub(crate) fn shell(&mut self, ev: &Event, cmd: &ShellCmd) -> Step {
        let raw = cmd.raw.trim();
        if raw.is_empty() {
            return Ok(());
        }
        if cmd.is_only_sysctl() {
            return self.sysctls(ev, cmd);
        }
        if let Some(check) = cmd.sockstat_check() {
            return self.sockstat(ev, &check);
        }
        let words: Vec<&str> = raw.split_whitespace().collect();
        if words.first() == Some(&"tcpdrop") && self.only_cleanup_follows() {
            // Dropping connections so the next test starts clean: nothing after this
            // line can observe it (only close() and sysctl lines follow).
            return Ok(());
        }
        Err(Stop::skip(ev.line, format!("shell command `{raw}` is not understood by the runner")))
    }

    fn sysctls(&mut self, ev: &Event, cmd: &ShellCmd) -> Step {
        let settings = cmd.sysctl_settings();
        if settings.is_empty() {
            // `sysctl -n name`: a read; nothing to do.
            return Ok(());
        }
        if self.stack.is_none() {
            for s in &settings {
                sysctl::apply(&mut self.cfg, &s.name, &s.value).map_err(|e| Stop::skip(ev.line, e))?;
            }
            return Ok(());
        }
        // The stack exists: a setting is accepted only if it changes nothing the stack
        // uses, or if nothing after it can observe it (restoring defaults at the end).
        let cleanup = self.only_cleanup_follows();
        let mut cfg = self.cfg.clone();
        for s in &settings {
            if let Err(e) = sysctl::apply(&mut cfg, &s.name, &s.value) {
                if !cleanup {
                    return Err(Stop::skip(ev.line, e));
                }
            }
        }
        if !cleanup && format!("{cfg:?}") != format!("{:?}", self.cfg) {
            let names: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
            return Err(Stop::skip(
                ev.line,
                format!(
                    "sysctl {} changed after the stack started (synack's settings are per stack)",
                    names.join(" ")
                ),
            ));
        }
        Ok(())
    }

    /// `sockstat ... | grep -c STATE | grep N`: counts sockets in a state. With `grep
    /// packetdril` only the script's own descriptors count; otherwise every connection
    /// of the stack (on the `-p` port, if given) does.
    fn sockstat(&mut self, ev: &Event, check: &SockstatCheck) -> Step {
        let Some(want) = freebsd_state(&check.state) else {
            return Err(Stop::skip(
                ev.line,
                format!("sockstat state `{}` is not understood by the runner", check.state),
            ));
        };
        let own_only = ev_mentions_process(ev);
        let mut count = 0u32;
        let mut seen = Vec::new();
        for s in self.socks.values() {
            let (state, tuple) = match s.kind {
                Kind::Fresh => (State::Closed, None),
                Kind::Listener(_) => (State::Listen, None),
                Kind::Conn(c) => {
                    let t = self.stack.as_ref().and_then(|st| st.tuple(c).ok());
                    (self.conn_state(c), t.map(|t| (t.local, t.remote)))
                }
            };
            let port = s.bound.map(|b| b.port()).or(tuple.map(|t| t.0.port()));
            if let Some(t) = tuple {
                seen.push(t);
            }
            if check.port.is_some_and(|p| port != Some(p) && tuple.is_none_or(|t| t.1.port() != p)) {
                continue;
            }
            if state == want {
                count += 1;
            }
        }
        if !own_only {
            for (&(local, remote), &state) in &self.states {
                if seen.contains(&(local, remote)) || remote.port() == 0 {
                    continue;
                }
                if check.port.is_some_and(|p| local.port() != p && remote.port() != p) {
                    continue;
                }
                if state == want {
                    count += 1;
                }
            }
        }
        let ok = match check.count {
            Some(n) => n == count,
            None => count > 0,
        };
        if ok {
            return Ok(());
        }
        let expected = match check.count {
            Some(n) => format!("{n} socket(s) in {}", check.state),
            None => format!("a socket in {}", check.state),
        };
        Err(Stop::fail(ev.line, "state", expected, format!("{count}")))
    }

    /// Runs a `%{ ... }%` block: only `assert` over `tcpi_*` fields is understood.
    pub(crate) fn python(&mut self, ev: &Event, block: &PythonBlock) -> Step {
        for stmt in &block.statements {
            let cmps = match stmt {
                PyStmt::Assert(c) => c,
                PyStmt::Raw(r) => {
                    return Err(Stop::skip(ev.line, format!("python `{r}` is not understood by the runner")));
                }
            };
            for cmp in cmps {
                self.py_comparison(ev, cmp)?;
            }
        }
        Ok(())
    }

    fn py_comparison(&mut self, ev: &Event, cmp: &PyComparison) -> Step {
        match cmp {
            PyComparison::State { op, state } => {
                let want = match state {
                    StateValue::Named(s) => *s,
                    StateValue::Number(n) => {
                        let mapped = if self.platform.freebsd_states {
                            TcpState::from_freebsd_number(*n)
                        } else {
                            TcpState::from_linux_number(*n)
                        };
                        mapped.ok_or_else(|| {
                            Stop::skip(
                                ev.line,
                                format!("tcpi_state number {n} is no state on this profile's platform"),
                            )
                        })?
                    }
                    StateValue::Other(o) => {
                        return Err(Stop::skip(
                            ev.line,
                            format!("tcpi_state value `{o}` is not understood by the runner"),
                        ))
                    }
                };
                let actual = self.current_state();
                let ok = match op {
                    CmpOp::Eq => to_tcp_state(actual) == want,
                    CmpOp::Ne => to_tcp_state(actual) != want,
                    _ => {
                        return Err(Stop::skip(
                            ev.line,
                            "ordering comparisons of tcpi_state are not understood by the runner",
                        ))
                    }
                };
                if !ok {
                    return Err(Stop::fail(
                        ev.line,
                        "state",
                        format!("tcpi_state {op:?} {want:?}"),
                        actual.name(),
                    ));
                }
                Ok(())
            }
            PyComparison::Field { field, op, value } => {
                let actual = self.tcpi_field(field).ok_or_else(|| {
                    Stop::skip(ev.line, format!("{field} is not available from synack's connection info"))
                })?;
                let lookup = |n: &str| self.tcpi_field(n).or_else(|| self.platform.constant(n));
                let want = value.eval(&lookup).ok_or_else(|| {
                    Stop::skip(
                        ev.line,
                        format!("python expression for {field} is not understood by the runner"),
                    )
                })?;
                if !op.holds(actual, want) {
                    return Err(Stop::fail(
                        ev.line,
                        "tcp_info",
                        format!("{field} {op:?} {want}"),
                        actual.to_string(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The state of the socket under test: the connection used last.
    fn current_state(&self) -> State {
        let fd = self.current_fd.or_else(|| self.socks.keys().next_back().copied());
        match fd.and_then(|fd| self.socks.get(&fd)).map(|s| s.kind) {
            Some(Kind::Conn(c)) => self.conn_state(c),
            Some(Kind::Listener(_)) => State::Listen,
            _ => State::Closed,
        }
    }

    /// `tcpi_*` fields synack's [`synack::ConnInfo`] provides (Linux units).
    fn tcpi_field(&self, name: &str) -> Option<i64> {
        let fd = self.current_fd?;
        let Kind::Conn(c) = self.socks.get(&fd)?.kind else { return None };
        let info = self.stack.as_ref()?.info(c).ok()?;
        let mss = i64::from(info.mss.max(1));
        Some(match name {
            "tcpi_rto" => info.rto.as_micros() as i64,
            "tcpi_rtt" => info.srtt?.as_micros() as i64,
            "tcpi_rttvar" => info.rttvar.as_micros() as i64,
            "tcpi_snd_mss" => mss,
            "tcpi_advmss" => i64::from(info.announced_mss),
            "tcpi_snd_cwnd" => i64::from(info.cwnd) / mss,
            "tcpi_snd_ssthresh" => i64::from(info.ssthresh.min(0x7fff_ffff)) / mss,
            "tcpi_unacked" => (i64::from(info.bytes_in_flight) + mss - 1) / mss,
            "tcpi_total_retrans" => info.retransmissions as i64,
            // TCPI_OPT_TIMESTAMPS 1, TCPI_OPT_SACK 2, TCPI_OPT_WSCALE 4, TCPI_OPT_ECN 8
            // (the same bits on Linux and FreeBSD).
            "tcpi_options" => {
                i64::from(info.timestamps)
                    | i64::from(info.sack) << 1
                    | i64::from(info.window_scale.is_some()) << 2
                    | i64::from(info.ecn) << 3
            }
            _ => return None,
        })
    }
}

/// Whether the shell line filters on the packetdrill process (`grep packetdril`).
fn ev_mentions_process(ev: &Event) -> bool {
    match &ev.kind {
        crate::ast::EventKind::Shell(c) => c.raw.contains("packetdril"),
        _ => false,
    }
}

/// FreeBSD's `sockstat -s` state words.
fn freebsd_state(word: &str) -> Option<State> {
    Some(match word {
        "CLOSED" => State::Closed,
        "LISTEN" => State::Listen,
        "SYN_SENT" => State::SynSent,
        "SYN_RCVD" => State::SynReceived,
        "ESTABLISHED" => State::Established,
        "CLOSE_WAIT" => State::CloseWait,
        "FIN_WAIT_1" => State::FinWait1,
        "CLOSING" => State::Closing,
        "LAST_ACK" => State::LastAck,
        "FIN_WAIT_2" => State::FinWait2,
        "TIME_WAIT" => State::TimeWait,
        _ => return None,
    })
}

fn to_tcp_state(s: State) -> TcpState {
    match s {
        State::Closed => TcpState::Closed,
        State::Listen => TcpState::Listen,
        State::SynSent => TcpState::SynSent,
        State::SynReceived => TcpState::SynReceived,
        State::Established => TcpState::Established,
        State::FinWait1 => TcpState::FinWait1,
        State::FinWait2 => TcpState::FinWait2,
        State::CloseWait => TcpState::CloseWait,
        State::Closing => TcpState::Closing,
        State::LastAck => TcpState::LastAck,
        State::TimeWait => TcpState::TimeWait,
    }
}
