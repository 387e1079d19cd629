//! Helpers for the data-path, flow-control and stack-API tests: establishing a pair,
//! pumping a transfer with a bounded number of steps, decoding the options of logged
//! segments, and a handcrafted peer (`RawPeer`) that speaks raw segments to one stack so
//! that tests can send exactly the segments a real stack would never send.

use super::{Dir, Pair, Seg, CLIENT_IP};
use std::net::{IpAddr, SocketAddr};
use synack::wire::{self, TcpFlags, TcpHeader, TcpOptions};
use synack::{ConnId, Duration, Error, Event, Instant, ListenerId, SeqNum, Stack, State};

impl Pair {
    /// Send whatever both stacks have to send now, without advancing the clock.
    pub fn flush(&mut self) {
        self.collect();
    }

    /// Listen on the server, connect from the client and accept: (client, server).
    pub fn establish_with_backlog(&mut self, backlog: usize) -> (ConnId, ConnId, ListenerId) {
        let l = self.b.listen(super::server_addr(), backlog).expect("listen");
        let c = self.a.connect(self.now, super::server_addr()).expect("connect");
        self.drive_until(200, |p| p.a.state(c) == State::Established && p.b.accept_queue_len(l) > 0);
        let s = self.b.accept(l).expect("accept");
        (c, s, l)
    }

    /// Like [`Pair::establish_with_backlog`] with a backlog of 8.
    pub fn establish(&mut self) -> (ConnId, ConnId) {
        let (c, s, _) = self.establish_with_backlog(8);
        (c, s)
    }

    /// Segments with payload in one direction.
    pub fn data_segs(&self, dir: Dir) -> Vec<Seg> {
        self.log.iter().filter(|s| s.dir == dir && s.len > 0).cloned().collect()
    }
}

/// Everything `recv` returns now (stops at WouldBlock, end of stream or error).
pub fn recv_all(stack: &mut Stack, c: ConnId) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stack.recv(c, &mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Every event queued on a stack.
pub fn events(stack: &mut Stack) -> Vec<Event> {
    std::iter::from_fn(|| stack.poll_event()).collect()
}

/// The TCP header of a logged segment (options included).
pub fn header(seg: &Seg) -> TcpHeader {
    wire::parse(&seg.bytes).expect("logged segments parse").tcp
}

/// The options of a logged segment.
pub fn options(seg: &Seg) -> TcpOptions {
    header(seg).options
}

/// Send `body` over `tx` (on the side `dir` starts from) to `rx` on the other side,
/// while the receiving application reads everything at every step. Returns the bytes
/// received. Fails (rather than hangs) when the transfer is not done within `max_steps`.
pub fn transfer(p: &mut Pair, dir: Dir, tx: ConnId, rx: ConnId, body: &[u8], max_steps: usize) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::with_capacity(body.len());
    for _ in 0..max_steps {
        let (src, dst) = if dir == Dir::AtoB { (&mut p.a, &mut p.b) } else { (&mut p.b, &mut p.a) };
        while sent < body.len() {
            match src.send(tx, &body[sent..]) {
                Ok(n) => sent += n,
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("send failed: {e}"),
            }
        }
        got.extend(recv_all(dst, rx));
        if got.len() >= body.len() {
            return got;
        }
        assert!(p.step(), "network idle at {} of {} bytes", got.len(), body.len());
    }
    panic!("transfer incomplete after {max_steps} steps: {} of {} bytes", got.len(), body.len());
}

/// A segment a [`RawPeer`] received from the stack.
#[derive(Clone, Debug)]
pub struct RawSeg {
    pub t: Instant,
    pub hdr: TcpHeader,
    pub payload: Vec<u8>,
}

impl RawSeg {
    pub fn flags(&self) -> TcpFlags {
        self.hdr.flags
    }
    pub fn seq(&self) -> SeqNum {
        self.hdr.seq
    }
    pub fn ack(&self) -> SeqNum {
        self.hdr.ack
    }
    /// Sequence space the segment occupies (payload + SYN + FIN).
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.hdr.flags.syn()) + u32::from(self.hdr.flags.fin())
    }
}

/// A handcrafted TCP peer facing one stack: the test writes every segment by hand and
/// sees every segment the stack answers with, on the stack's own virtual clock.
pub struct RawPeer {
    pub stack: Stack,
    pub now: Instant,
    /// The peer's own address (segments come from here).
    pub peer: SocketAddr,
    /// The stack's endpoint.
    pub local: SocketAddr,
    /// Everything the stack sent, in order.
    pub received: Vec<RawSeg>,
    /// The peer's next sequence number.
    pub snd_nxt: SeqNum,
    /// What the peer acknowledges.
    pub rcv_nxt: SeqNum,
}

impl RawPeer {
    /// A peer at `peer` facing a stack built from `cfg` whose endpoint is `local`.
    pub fn new(cfg: synack::Config, local: SocketAddr, peer: SocketAddr) -> Self {
        RawPeer {
            stack: Stack::new(cfg),
            now: Instant::ZERO,
            peer,
            local,
            received: Vec::new(),
            snd_nxt: SeqNum(1_000_000),
            rcv_nxt: SeqNum(0),
        }
    }

    /// A header from the peer to the stack.
    pub fn hdr(&self, seq: SeqNum, ack: Option<SeqNum>, flags: TcpFlags, window: u16) -> TcpHeader {
        TcpHeader {
            src_port: self.peer.port(),
            dst_port: self.local.port(),
            seq,
            ack: ack.unwrap_or(SeqNum(0)),
            flags: if ack.is_some() { flags | TcpFlags::ACK } else { flags },
            window,
            urgent: 0,
            options: TcpOptions::NONE,
        }
    }

    /// The datagram carrying `hdr` and `payload`.
    pub fn datagram(&self, hdr: &TcpHeader, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; 65_600];
        let n = wire::emit(&mut buf, self.peer.ip(), self.local.ip(), 64, hdr, &[payload]).expect("emit");
        buf.truncate(n);
        buf
    }

    /// Deliver a segment to the stack and collect what it answers right away.
    pub fn send(&mut self, hdr: TcpHeader, payload: &[u8]) -> Vec<RawSeg> {
        let d = self.datagram(&hdr, payload);
        self.stack.handle_packet(self.now, &d);
        self.poll()
    }

    /// A data segment at the peer's `snd_nxt` acknowledging `rcv_nxt` (advances
    /// `snd_nxt`).
    pub fn send_data(&mut self, payload: &[u8], window: u16) -> Vec<RawSeg> {
        let h = self.hdr(self.snd_nxt, Some(self.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH, window);
        self.snd_nxt += payload.len() as u32;
        self.send(h, payload)
    }

    /// Data at an arbitrary sequence number (out of order, overlapping, duplicate).
    pub fn send_data_at(&mut self, seq: SeqNum, payload: &[u8], window: u16) -> Vec<RawSeg> {
        let h = self.hdr(seq, Some(self.rcv_nxt), TcpFlags::ACK, window);
        self.send(h, payload)
    }

    /// A bare ACK of `ack` advertising `window`.
    pub fn send_ack(&mut self, ack: SeqNum, window: u16) -> Vec<RawSeg> {
        let h = self.hdr(self.snd_nxt, Some(ack), TcpFlags::ACK, window);
        self.send(h, &[])
    }

    /// Drain the stack's output.
    pub fn poll(&mut self) -> Vec<RawSeg> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_600];
        while let Some(tx) = self.stack.poll_transmit(self.now, &mut buf) {
            let p = wire::parse(&buf[..tx.len]).expect("stack emitted an unparsable datagram");
            assert_eq!(p.dst, self.peer.ip(), "a segment for someone else");
            let seg = RawSeg { t: self.now, hdr: p.tcp, payload: p.payload.to_vec() };
            self.received.push(seg.clone());
            out.push(seg);
        }
        out
    }

    /// Move the clock to `t`, running the stack's timers on the way (at each deadline).
    /// Returns what the stack sent meanwhile.
    pub fn advance_to(&mut self, t: Instant) -> Vec<RawSeg> {
        let mut out = Vec::new();
        for _ in 0..100_000 {
            match self.stack.poll_timeout() {
                Some(d) if d <= t => {
                    self.now = self.now.max(d);
                    self.stack.handle_timeout(self.now);
                    out.extend(self.poll());
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        self.stack.handle_timeout(self.now);
        out.extend(self.poll());
        out
    }

    /// Advance the clock by `d`.
    pub fn advance(&mut self, d: Duration) -> Vec<RawSeg> {
        let t = self.now + d;
        self.advance_to(t)
    }

    /// Open a connection to the stack (which must listen on `local`) with a SYN carrying
    /// `opts`; completes the handshake with `window` and returns the SYN-ACK and the
    /// accepted connection.
    pub fn connect_in(&mut self, l: ListenerId, opts: TcpOptions, window: u16) -> (RawSeg, ConnId) {
        let mut syn = self.hdr(self.snd_nxt, None, TcpFlags::SYN, window);
        syn.options = opts;
        let out = self.send(syn, &[]);
        let synack = out.into_iter().find(|s| s.flags() == TcpFlags::SYN | TcpFlags::ACK).expect("a SYN-ACK");
        assert_eq!(synack.ack(), self.snd_nxt + 1);
        self.snd_nxt += 1;
        self.rcv_nxt = synack.seq() + 1;
        self.send_ack(self.rcv_nxt, window);
        let c = self.stack.accept(l).expect("the handshake completed");
        (synack, c)
    }

    /// Acknowledge everything received so far with `window`.
    pub fn ack_all(&mut self, window: u16) -> Vec<RawSeg> {
        self.rcv_nxt = self.highest_received();
        self.send_ack(self.rcv_nxt, window)
    }

    /// One past the highest sequence number the stack sent.
    pub fn highest_received(&self) -> SeqNum {
        self.received.iter().fold(self.rcv_nxt, |m, s| m.max(s.seq() + s.seg_len()))
    }

    /// The payload bytes the stack sent in `[from, to)` of its sequence space, as the
    /// union of everything received (retransmissions included).
    pub fn stream(&self, from: SeqNum, len: usize) -> Vec<Option<u8>> {
        let mut out = vec![None; len];
        for s in &self.received {
            for (i, b) in s.payload.iter().enumerate() {
                let off = (s.seq() + i as u32).since(from) as usize;
                if (s.seq() + i as u32).ge(from) && off < len {
                    out[off] = Some(*b);
                }
            }
        }
        out
    }
}

/// The server endpoint a raw peer talks to.
pub fn raw_server(cfg: synack::Config) -> (RawPeer, ListenerId) {
    let local = super::server_addr();
    let peer = SocketAddr::new(CLIENT_IP, 40_000);
    let mut r = RawPeer::new(cfg, local, peer);
    let l = r.stack.listen(local, 64).expect("listen");
    (r, l)
}

/// A config for a stack at `ip` (trace on).
pub fn cfg(ip: IpAddr) -> synack::Config {
    super::config(ip)
}

/// Options carrying only an MSS.
pub fn mss_opt(mss: u16) -> TcpOptions {
    TcpOptions { mss: Some(mss), ..TcpOptions::NONE }
}
