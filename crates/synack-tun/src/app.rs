//! The server applications of `synack tun serve`: `echo`, `discard`, `source:N` and
//! `http`, each run on every accepted connection by a [`Server`].

use crate::driver::TunStack;
use crate::error::TunError;
use crate::pattern::{fill_pattern, Sha256Counter};
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use synack::{ConnError, ConnId, Error, ListenerId};

/// Bytes an application reads or writes per call.
const CHUNK: usize = 64 * 1024;
/// Echo stops reading while this much is waiting to be echoed (backpressure).
const ECHO_BACKLOG: usize = 256 * 1024;
/// Largest HTTP request head accepted.
const MAX_REQUEST: usize = 16 * 1024;

/// What a [`Server`] does with each connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum App {
    /// Send back every byte received; close after the peer's FIN.
    Echo,
    /// Read and hash everything; report bytes and SHA-256; close after the peer's FIN.
    Discard,
    /// Send this many bytes of the deterministic pattern ([`crate::pattern`]), then
    /// close (anything received is read and dropped).
    Source(u64),
    /// Answer `GET /bytes/N` with `N` bytes of the pattern (with `Content-Length`),
    /// then close.
    Http,
}

impl App {
    /// The name as `--app` spells it.
    pub fn name(self) -> &'static str {
        match self {
            App::Echo => "echo",
            App::Discard => "discard",
            App::Source(_) => "source",
            App::Http => "http",
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            App::Source(n) => write!(f, "source:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for App {
    type Err = String;

    /// `echo`, `discard`, `source:N` (N bytes, suffixes as [`parse_size`]) or `http`.
    fn from_str(s: &str) -> Result<App, String> {
        match s {
            "echo" => Ok(App::Echo),
            "discard" => Ok(App::Discard),
            "http" => Ok(App::Http),
            _ => match s.strip_prefix("source:") {
                Some(n) => parse_size(n).map(App::Source),
                None => Err(format!("unknown app {s:?}: expected echo, discard, source:N or http")),
            },
        }
    }
}

/// A byte count: decimal digits, optionally followed by `K`, `M` or `G` (binary
/// multiples: `10M` is 10 MiB). `_` separators are allowed.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (digits, mult) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t.as_str(), 1),
    };
    let n: u64 = digits.parse().map_err(|_| format!("{s:?} is not a byte count (e.g. 1048576, 64K, 10M)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

/// How a served connection ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConnEnd {
    /// The application finished and closed (our FIN follows the data).
    Closed,
    /// The server was stopped while the connection was open; it was closed.
    Shutdown,
    /// The connection failed (reset by the peer, timed out).
    Failed(ConnError),
}

/// What happened on one served connection: printed by `serve`, one line each.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConnReport {
    /// The kernel's endpoint.
    pub peer: SocketAddr,
    /// The destination the client connected to, on a server with a catch-all
    /// listener ([`Server::listen_all`]); `None` on one that listens on one port.
    pub to: Option<SocketAddr>,
    /// The application that ran.
    pub app: App,
    /// Bytes received.
    pub bytes_in: u64,
    /// SHA-256 (hex) of the bytes received.
    pub sha256_in: String,
    /// Bytes sent (accepted by the stack).
    pub bytes_out: u64,
    /// The HTTP request line, for `http`.
    pub request: Option<String>,
    /// How it ended.
    pub end: ConnEnd,
}

impl fmt::Display for ConnReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} {}: received {} bytes sha256 {}, sent {} bytes",
            self.peer,
            self.to.map(|to| format!(" to {to}")).unwrap_or_default(),
            self.app.name(),
            self.bytes_in,
            self.sha256_in,
            self.bytes_out
        )?;
        if let Some(r) = &self.request {
            write!(f, ", request {r:?}")?;
        }
        match self.end {
            ConnEnd::Closed => write!(f, ", closed"),
            ConnEnd::Shutdown => write!(f, ", closed at shutdown"),
            ConnEnd::Failed(e) => write!(f, ", failed: {e}"),
        }
    }
}

/// One connection's application state.
#[derive(Debug)]
struct AppConn {
    id: ConnId,
    peer: SocketAddr,
    /// [`ConnReport::to`].
    to: Option<SocketAddr>,
    rx: Sha256Counter,
    sent: u64,
    /// Bytes waiting to be sent, from `out_off`.
    out: Vec<u8>,
    out_off: usize,
    /// Pattern bytes still to generate, and the pattern offset of the next one.
    body_left: u64,
    body_off: u64,
    /// HTTP: the request head so far; `responded` once the answer is queued.
    req: Vec<u8>,
    request_line: Option<String>,
    responded: bool,
    peer_fin: bool,
    error: Option<ConnError>,
}

impl AppConn {
    fn new(id: ConnId, peer: SocketAddr, to: Option<SocketAddr>, app: App) -> AppConn {
        let body_left = match app {
            App::Source(n) => n,
            _ => 0,
        };
        AppConn {
            id,
            peer,
            to,
            rx: Sha256Counter::new(),
            sent: 0,
            out: Vec::new(),
            out_off: 0,
            body_left,
            body_off: 0,
            req: Vec::new(),
            request_line: None,
            responded: false,
            peer_fin: false,
            error: None,
        }
    }

    fn pending_out(&self) -> usize {
        self.out.len() - self.out_off
    }

    /// Read what the stack holds, up to the application's backpressure limit.
    fn read(&mut self, tun: &mut TunStack, app: App, buf: &mut [u8]) {
        while !self.peer_fin && self.error.is_none() {
            if app == App::Echo && self.pending_out() >= ECHO_BACKLOG {
                break;
            }
            match tun.stack_mut().recv(self.id, buf) {
                Ok(0) => self.peer_fin = true,
                Ok(n) => {
                    let data = &buf[..n];
                    self.rx.update(data);
                    match app {
                        App::Echo => self.out.extend_from_slice(data),
                        App::Http if !self.responded => self.request_bytes(data),
                        _ => {}
                    }
                }
                Err(Error::Conn(e)) => self.error = Some(e),
                Err(_) => break,
            }
        }
    }

    /// HTTP: collect the request head; answer once it is complete.
    fn request_bytes(&mut self, data: &[u8]) {
        self.req.extend_from_slice(data);
        let Some(end) = self.req.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.req.len() > MAX_REQUEST {
                self.respond(431, "Request Header Fields Too Large", None);
            }
            return;
        };
        let head = String::from_utf8_lossy(&self.req[..end]).into_owned();
        let line = head.lines().next().unwrap_or("").to_string();
        self.request_line = Some(line.clone());
        let mut parts = line.split_ascii_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if method != "GET" {
            self.respond(405, "Method Not Allowed", None);
            return;
        }
        match target.strip_prefix("/bytes/").map(|n| n.parse::<u64>()) {
            Some(Ok(n)) => self.respond(200, "OK", Some(n)),
            Some(Err(_)) => self.respond(400, "Bad Request", None),
            None => self.respond(404, "Not Found", None),
        }
    }

    fn respond(&mut self, code: u16, reason: &str, body: Option<u64>) {
        let len = body.unwrap_or(reason.len() as u64 + 1);
        let head = format!(
            "HTTP/1.1 {code} {reason}\r\nServer: synack\r\nContent-Type: {}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            if body.is_some() { "application/octet-stream" } else { "text/plain" }
        );
        self.out.extend_from_slice(head.as_bytes());
        match body {
            Some(n) => self.body_left = n,
            None => {
                self.out.extend_from_slice(reason.as_bytes());
                self.out.push(b'\n');
            }
        }
        self.responded = true;
        self.req = Vec::new();
    }

    /// Send pending bytes and pattern bytes while the stack takes them.
    fn write(&mut self, tun: &mut TunStack) {
        while self.error.is_none() {
            if self.pending_out() == 0 {
                self.out.clear();
                self.out_off = 0;
                if self.body_left == 0 {
                    return;
                }
                let n = usize::try_from(self.body_left).unwrap_or(CHUNK).min(CHUNK);
                self.out.resize(n, 0);
                fill_pattern(self.body_off, &mut self.out);
                self.body_off += n as u64;
                self.body_left -= n as u64;
            }
            match tun.stack_mut().send(self.id, &self.out[self.out_off..]) {
                Ok(n) => {
                    self.out_off += n;
                    self.sent += n as u64;
                    if n == 0 {
                        return;
                    }
                }
                Err(Error::Conn(e)) => self.error = Some(e),
                Err(_) => return,
            }
        }
    }

    /// Whether the application is done with the connection and may close it.
    fn finished(&self, app: App) -> bool {
        let all_sent = self.pending_out() == 0 && self.body_left == 0;
        match app {
            App::Echo => self.peer_fin && all_sent,
            App::Discard => self.peer_fin,
            App::Source(_) => all_sent,
            App::Http => (self.responded && all_sent) || (self.peer_fin && !self.responded),
        }
    }

    fn report(&self, app: App, end: ConnEnd) -> ConnReport {
        ConnReport {
            peer: self.peer,
            to: self.to,
            app,
            bytes_in: self.rx.bytes(),
            sha256_in: self.rx.hex(),
            bytes_out: self.sent,
            request: self.request_line.clone(),
            end,
        }
    }
}

/// A listener plus the application run on each connection it accepts. Many
/// connections at once; call [`Server::pump`] after every [`TunStack::step`].
#[derive(Debug)]
pub struct Server {
    listener: Option<ListenerId>,
    local: SocketAddr,
    app: App,
    conns: Vec<AppConn>,
    reports: VecDeque<ConnReport>,
    accepted: u64,
    buf: Vec<u8>,
}

impl Server {
    /// Listen on synack's address, `port`, and run `app` on each connection.
    pub fn listen(tun: &mut TunStack, port: u16, app: App) -> Result<Server, TunError> {
        let local = SocketAddr::new(IpAddr::V4(tun.addr()), port);
        let listener = tun.stack_mut().listen(local, 0)?;
        Ok(Server::with_listener(listener, local, app))
    }

    /// Listen on every port of every address (`Stack::listen_all`), and run `app` on
    /// each connection: a transparent proxy's endpoint. Addresses other than synack's
    /// own are taken when the stack was opened with `Config::any_address`. Each
    /// [`ConnReport`] names the destination its client chose.
    pub fn listen_all(tun: &mut TunStack, app: App) -> Result<Server, TunError> {
        let local = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
        let listener = tun.stack_mut().listen_all(local.ip(), 0)?;
        Ok(Server::with_listener(listener, local, app))
    }

    fn with_listener(listener: ListenerId, local: SocketAddr, app: App) -> Server {
        Server {
            listener: Some(listener),
            local,
            app,
            conns: Vec::new(),
            reports: VecDeque::new(),
            accepted: 0,
            buf: vec![0; CHUNK],
        }
    }

    /// The stack's listener, until the server stops listening.
    pub fn listener(&self) -> Option<synack::ListenerId> {
        self.listener
    }

    /// The listening endpoint.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Connections the application still runs.
    pub fn active(&self) -> usize {
        self.conns.len()
    }

    /// The report of a finished connection, oldest first.
    pub fn poll_report(&mut self) -> Option<ConnReport> {
        self.reports.pop_front()
    }

    /// Drain the stack's events, accept new connections and let the application read
    /// and write on every connection; close those it finished with. An ICMP error,
    /// urgent data or a delivery problem on a connection is told on standard error
    /// (RFC 9293 3.9.1.8: the application learns of ICMP errors; 3.8.5: of urgent data;
    /// 3.8.3: of a segment retransmitted R1 times).
    pub fn pump(&mut self, tun: &mut TunStack) {
        while let Some(ev) = tun.stack_mut().poll_event() {
            let peer = |c| tun.stack().tuple(c).map(|t| t.remote.to_string()).unwrap_or_default();
            match ev {
                synack::Event::IcmpError { conn, error } => {
                    eprintln!("synack: {}: ICMP: {error}", peer(conn))
                }
                synack::Event::DeliveryProblem { conn, retransmissions } => {
                    eprintln!(
                        "synack: {}: no acknowledgment after {retransmissions} retransmissions (still trying)",
                        peer(conn)
                    );
                }
                synack::Event::Urgent(conn) => {
                    let n = tun.stack().urgent_pending(conn).unwrap_or(0);
                    eprintln!("synack: {}: urgent data, {n} byte(s) to read", peer(conn));
                }
                _ => {}
            }
        }
        if let Some(l) = self.listener {
            while let Some(id) = tun.stack_mut().accept(l) {
                let tuple = tun.stack().tuple(id);
                let peer = tuple.map(|t| t.remote).unwrap_or(self.local);
                // A catch-all listener's connections each arrived at a destination of
                // their own.
                let to = tuple.ok().map(|t| t.local).filter(|_| self.local.port() == 0);
                self.accepted += 1;
                self.conns.push(AppConn::new(id, peer, to, self.app));
            }
        }
        let app = self.app;
        let mut buf = std::mem::take(&mut self.buf);
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            c.read(tun, app, &mut buf);
            c.write(tun);
            // Reading again after writing lets echo drain what backpressure held back.
            if app == App::Echo {
                c.read(tun, app, &mut buf);
                c.write(tun);
            }
            if c.error.is_none() {
                if let Some(e) = tun.stack().error(c.id) {
                    c.error = Some(e);
                }
            }
            let end = match c.error {
                Some(e) => Some(ConnEnd::Failed(e)),
                None if c.finished(app) => Some(ConnEnd::Closed),
                None => None,
            };
            if let Some(end) = end {
                let c = self.conns.swap_remove(i);
                // Releases the handle; after a failure the connection is already CLOSED.
                let _ = tun.stack_mut().close(c.id);
                self.reports.push_back(c.report(app, end));
            } else {
                i += 1;
            }
        }
        self.buf = buf;
    }

    /// Stop listening and close every connection (FIN after the data already queued).
    pub fn shutdown(&mut self, tun: &mut TunStack) {
        if let Some(l) = self.listener.take() {
            let _ = tun.stack_mut().close_listener(l);
        }
        let app = self.app;
        for c in self.conns.drain(..) {
            let _ = tun.stack_mut().close(c.id);
            self.reports.push_back(c.report(app, ConnEnd::Shutdown));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_parse_and_print_back() {
        for s in ["echo", "discard", "http", "source:1048576"] {
            assert_eq!(s.parse::<App>().expect("valid").to_string(), s);
        }
        assert_eq!("source:10M".parse::<App>(), Ok(App::Source(10 << 20)));
        assert!("source:".parse::<App>().is_err());
        assert!("chargen".parse::<App>().is_err());
    }

    #[test]
    fn sizes_accept_binary_suffixes_and_reject_garbage() {
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("10m"), Ok(10 << 20));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
