//! synack as a client of a kernel server: `synack tun connect IP:PORT (--send N | --recv)`.

use crate::driver::TunStack;
use crate::error::TunError;
use crate::pattern::{fill_pattern, Sha256Counter};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use synack::{ConnId, Error, Event, State};

/// Bytes handed to `send` per call.
const CHUNK: usize = 64 * 1024;
/// How long a loop step may sleep when nothing is due.
const STEP: Duration = Duration::from_millis(200);

/// What the client does once connected.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientMode {
    /// Send this many bytes of the deterministic pattern, then close.
    Send(u64),
    /// Receive until the server's FIN, then close.
    Recv,
}

/// The outcome of a client run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConnectReport {
    /// synack's endpoint.
    pub local: SocketAddr,
    /// The kernel server's endpoint.
    pub remote: SocketAddr,
    /// The mode that ran.
    pub mode: ClientMode,
    /// Bytes sent (all acknowledged by the server when the report is `Ok`).
    pub bytes_sent: u64,
    /// SHA-256 (hex) of the bytes sent.
    pub sha256_sent: String,
    /// Bytes received.
    pub bytes_received: u64,
    /// SHA-256 (hex) of the bytes received.
    pub sha256_received: String,
    /// The connection's state when the run ended (TIME-WAIT after an active close,
    /// CLOSED after a passive one).
    pub final_state: State,
    /// Wall-clock time from SYN to the end of the run.
    pub elapsed: Duration,
    /// Whether the handshake agreed on ECN (RFC 3168; [`synack::ConnInfo::ecn`]).
    pub ecn: bool,
}

impl fmt::Display for ConnectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            ClientMode::Send(_) => write!(f, "sent {} bytes sha256 {}", self.bytes_sent, self.sha256_sent)?,
            ClientMode::Recv => {
                write!(f, "received {} bytes sha256 {}", self.bytes_received, self.sha256_received)?
            }
        }
        let secs = self.elapsed.as_secs_f64();
        let bytes = self.bytes_sent.max(self.bytes_received) as f64;
        write!(
            f,
            " ({} -> {}, {:.3} s, {:.1} MB/s, {}ended in {})",
            self.local,
            self.remote,
            secs,
            if secs > 0.0 { bytes / secs / 1e6 } else { 0.0 },
            if self.ecn { "ECN, " } else { "" },
            self.final_state
        )
    }
}

/// How long each phase of a client run may take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClientLimits {
    /// The whole run, from SYN to the end of the close.
    pub total: Duration,
    /// After our data is acknowledged (send) or the server's FIN arrived (recv): how
    /// long to wait for the rest of the close before reporting anyway.
    pub linger: Duration,
    /// The connection's user timeout (`Stack::set_user_timeout`, RFC 9293 3.10.8): give
    /// up when what was sent stays unacknowledged this long. `None`: R2 alone.
    pub user_timeout: Option<Duration>,
    /// The connection's MSS limit (`Stack::set_mss_limit`, like TCP_MAXSEG): announced
    /// in the SYN, and no larger segment sent. `None`: the MTU's.
    pub mss_limit: Option<u16>,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            total: Duration::from_secs(120),
            linger: Duration::from_secs(5),
            user_timeout: None,
            mss_limit: None,
        }
    }
}

/// Connect to `remote`, run `mode` and close; every wait is bounded by `limits`.
///
/// Errors: [`TunError::Connection`] when the connection is refused, reset or times out,
/// [`TunError::Timeout`] when `limits.total` passes first.
pub fn run_client(
    tun: &mut TunStack,
    remote: SocketAddr,
    mode: ClientMode,
    limits: ClientLimits,
) -> Result<ConnectReport, TunError> {
    let started = std::time::Instant::now();
    let deadline = started + limits.total;
    let now = tun.now();
    let c = tun.stack_mut().connect(now, remote)?;
    // Both before the SYN goes out (the next flush): the open is bounded by the user
    // timeout too, and the SYN announces the MSS limit.
    if let Some(t) = limits.user_timeout {
        tun.stack_mut().set_user_timeout(c, Some(synack::Duration::from(t)))?;
    }
    if let Some(mss) = limits.mss_limit {
        tun.stack_mut().set_mss_limit(c, mss)?;
    }
    let local = tun.stack().tuple(c).map(|t| t.local)?;
    let result = drive(tun, c, mode, deadline, limits.linger);
    match result {
        Ok((tx, rx, ecn)) => {
            let final_state = tun.stack().state(c);
            // Release the handle; an active close goes on in TIME-WAIT inside the stack.
            let _ = tun.stack_mut().close(c);
            tun.flush()?;
            Ok(ConnectReport {
                local,
                remote,
                mode,
                bytes_sent: tx.bytes(),
                sha256_sent: tx.hex(),
                bytes_received: rx.bytes(),
                sha256_received: rx.hex(),
                final_state,
                elapsed: started.elapsed(),
                ecn,
            })
        }
        Err(e) => {
            if tun.stack().error(c).is_none() {
                let _ = tun.stack_mut().abort(c);
            } else {
                let _ = tun.stack_mut().close(c);
            }
            tun.flush()?;
            Err(e)
        }
    }
}

fn check(
    tun: &TunStack,
    c: ConnId,
    deadline: std::time::Instant,
    what: &'static str,
) -> Result<(), TunError> {
    if let Some(e) = tun.stack().error(c) {
        return Err(TunError::Connection(e));
    }
    if std::time::Instant::now() >= deadline {
        return Err(TunError::Timeout(what));
    }
    Ok(())
}

/// Drain the stack's events; true if `Connected(c)` was among them. An ICMP error
/// about the connection is told on standard error as it comes (RFC 9293 3.9.1.8: the
/// application learns of it; a soft one does not end the connection, MUST-56), and so
/// is a delivery problem (3.8.3, R1 reached).
fn drain_events(tun: &mut TunStack, c: ConnId) -> bool {
    let mut connected = false;
    while let Some(ev) = tun.stack_mut().poll_event() {
        match ev {
            Event::Connected(id) if id == c => connected = true,
            Event::IcmpError { conn, error } if conn == c => {
                let what = if tun.stack().error(c).is_some() { "" } else { " (still trying)" };
                eprintln!("synack: ICMP: {error}{what}");
            }
            // RFC 9293 3.8.3: the application is told when R1 is reached (SHLD-9).
            Event::DeliveryProblem { conn, retransmissions } if conn == c => {
                eprintln!("synack: no acknowledgment after {retransmissions} retransmissions (still trying)");
            }
            _ => {}
        }
    }
    connected
}

/// Read whatever is there; returns true at end of stream. The bytes are hashed where
/// they lie in the receive buffer (`recv_with`), not copied out first.
fn read_all(tun: &mut TunStack, c: ConnId, rx: &mut Sha256Counter) -> Result<bool, TunError> {
    loop {
        let res = tun.stack_mut().recv_with(c, |data| {
            rx.update(data);
            data.len()
        });
        match res {
            // `recv_with` consumed everything it showed: 0 is the end of the stream.
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(Error::WouldBlock) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}

fn drive(
    tun: &mut TunStack,
    c: ConnId,
    mode: ClientMode,
    deadline: std::time::Instant,
    linger: Duration,
) -> Result<(Sha256Counter, Sha256Counter, bool), TunError> {
    let stop = tun.stop_handle();
    // Handshake.
    loop {
        tun.step(STEP)?;
        let connected = drain_events(tun, c);
        if connected || tun.stack().state(c) != State::SynSent {
            break;
        }
        check(tun, c, deadline, "waiting for the handshake")?;
        if stop.is_stopped() {
            return Err(TunError::Timeout("stopped before the handshake completed"));
        }
    }
    check(tun, c, deadline, "waiting for the handshake")?;
    let ecn = tun.stack().info(c).is_ok_and(|i| i.ecn);
    let mut tx = Sha256Counter::new();
    let mut rx = Sha256Counter::new();
    let mut eof = false;
    match mode {
        ClientMode::Send(total) => {
            let mut off = 0u64;
            let mut chunk: Vec<u8> = Vec::new();
            let mut chunk_off = 0usize;
            let mut shut = false;
            loop {
                // Queue as much of the pattern as the send buffer takes.
                while off < total && !stop.is_stopped() {
                    if chunk_off == chunk.len() {
                        let n = usize::try_from(total - off).unwrap_or(CHUNK).min(CHUNK);
                        chunk.resize(n, 0);
                        fill_pattern(off, &mut chunk);
                        chunk_off = 0;
                    }
                    match tun.stack_mut().send(c, &chunk[chunk_off..]) {
                        Ok(n) => {
                            tx.update(&chunk[chunk_off..chunk_off + n]);
                            chunk_off += n;
                            off += n as u64;
                        }
                        Err(Error::WouldBlock) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                if (off == total || stop.is_stopped()) && !shut {
                    tun.stack_mut().shutdown(c)?;
                    shut = true;
                }
                eof |= read_all(tun, c, &mut rx)?;
                // Our FIN is acknowledged (and so is every byte before it).
                if shut && matches!(tun.stack().state(c), State::FinWait2 | State::TimeWait | State::Closed) {
                    break;
                }
                check(tun, c, deadline, "sending")?;
                tun.step(STEP)?;
                drain_events(tun, c);
            }
            // Wait a little for the server's FIN so the close completes (TIME-WAIT).
            let until = std::time::Instant::now() + linger;
            while !eof && std::time::Instant::now() < until.min(deadline) && tun.stack().error(c).is_none() {
                tun.step(STEP.min(until.saturating_duration_since(std::time::Instant::now())))?;
                drain_events(tun, c);
                eof |= read_all(tun, c, &mut rx)?;
            }
        }
        ClientMode::Recv => {
            while !eof {
                eof = read_all(tun, c, &mut rx)?;
                if eof {
                    break;
                }
                check(tun, c, deadline, "receiving")?;
                if stop.is_stopped() {
                    break;
                }
                tun.step(STEP)?;
                drain_events(tun, c);
            }
            // Passive close: CLOSE-WAIT -> LAST-ACK -> CLOSED once our FIN is acked.
            tun.stack_mut().shutdown(c)?;
            let until = std::time::Instant::now() + linger;
            while !matches!(tun.stack().state(c), State::Closed | State::TimeWait)
                && std::time::Instant::now() < until.min(deadline)
            {
                tun.step(STEP.min(until.saturating_duration_since(std::time::Instant::now())))?;
                drain_events(tun, c);
                read_all(tun, c, &mut rx)?;
            }
        }
    }
    if let Some(e) = tun.stack().error(c) {
        return Err(TunError::Connection(e));
    }
    Ok((tx, rx, ecn))
}
