//! Randomised end-to-end properties on a pair of stacks: seeded loss, duplication,
//! reordering and delay on both directions (handshake and closing segments included),
//! random amounts of data both ways, random receive buffers and reading patterns, and a
//! random closing order (client first, server first, simultaneous).
//!
//! Invariants: every byte arrives exactly once and in order (RFC 9293 3.4: "the
//! receiving TCP ... eliminates duplicates and orders the segments"); both ends reach
//! CLOSED or report an error; and once the network is idle (after 2×MSL) no connection,
//! timer or TIME-WAIT record is left (3.4.2, 3.10.7.4).
//!
//! Every run is bounded in steps, so a bug fails instead of hanging.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use proptest::prelude::*;
use synack::{ConnId, Duration, Error, Stack, State};

#[derive(Clone, Copy, Debug)]
enum CloseOrder {
    ClientFirst,
    ServerFirst,
    Simultaneous,
}

#[derive(Clone, Debug)]
struct Scenario {
    seed: u64,
    /// Per-mille probabilities, applied to every segment in both directions.
    loss: u32,
    dup: u32,
    reorder: u32,
    max_extra_delay_ms: u64,
    up: usize,
    down: usize,
    write_chunk: usize,
    recv_buffer: u32,
    read_every: usize,
    order: CloseOrder,
    nagle: bool,
    delayed_ack: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        any::<u64>(),
        (0u32..200, 0u32..100, 0u32..200, 1u64..300),
        (0usize..64_000, 0usize..64_000, 1usize..6000),
        prop_oneof![Just(2048u32), Just(8192), Just(65_536)],
        1usize..4,
        prop_oneof![
            Just(CloseOrder::ClientFirst),
            Just(CloseOrder::ServerFirst),
            Just(CloseOrder::Simultaneous)
        ],
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                seed,
                (loss, dup, reorder, delay),
                (up, down, write_chunk),
                recv_buffer,
                read_every,
                order,
                (nagle, delayed_ack),
            )| {
                Scenario {
                    seed,
                    loss,
                    dup,
                    reorder,
                    max_extra_delay_ms: delay,
                    up,
                    down,
                    write_chunk,
                    recv_buffer,
                    read_every,
                    order,
                    nagle,
                    delayed_ack,
                }
            },
        )
}

/// One side of the conversation as its application sees it.
struct Side {
    conn: Option<ConnId>,
    out: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
    eof: bool,
    shut: bool,
    released: bool,
    reached_closed: bool,
    error: Option<synack::ConnError>,
}

impl Side {
    fn new(out: Vec<u8>) -> Self {
        Side {
            conn: None,
            out,
            sent: 0,
            got: Vec::new(),
            eof: false,
            shut: false,
            released: false,
            reached_closed: false,
            error: None,
        }
    }

    fn all_queued(&self) -> bool {
        self.sent == self.out.len()
    }

    /// Write, read, and notice the end of the connection.
    fn pump(&mut self, stack: &mut Stack, chunk: usize, read: bool) {
        let Some(c) = self.conn.filter(|_| !self.released) else { return };
        while !self.shut && self.sent < self.out.len() {
            let end = (self.sent + chunk).min(self.out.len());
            match stack.send(c, &self.out[self.sent..end]) {
                Ok(n) => self.sent += n,
                Err(Error::WouldBlock) => break,
                Err(_) => break,
            }
        }
        if read && !self.eof {
            let mut buf = [0u8; 1500];
            loop {
                match stack.recv(c, &mut buf) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.got.extend_from_slice(&buf[..n]),
                    Err(_) => break,
                }
            }
        }
        if let Some(e) = stack.error(c) {
            self.error = Some(e);
        }
        if stack.state(c) == State::Closed {
            self.reached_closed = true;
        }
    }

    /// Half-close, once the connection is synchronized (an application closes after
    /// `Connected`; CLOSE in SYN-SENT would abandon the connection, 3.10.4).
    fn shutdown(&mut self, stack: &mut Stack) {
        let c = self.conn.filter(|&c| !self.shut && !self.released && stack.state(c).is_synchronized());
        if let Some(c) = c {
            self.shut = true;
            let _ = stack.shutdown(c);
        }
    }

    /// Give the handle back once the connection is over (CLOSED after TIME-WAIT, or
    /// failed), or when the peer failed and nothing more can come.
    fn maybe_release(&mut self, stack: &mut Stack, peer_failed: bool) {
        let Some(c) = self.conn.filter(|_| !self.released) else { return };
        if self.reached_closed || self.error.is_some() || peer_failed {
            self.released = true;
            stack.close(c).unwrap();
        }
    }
}

fn run(sc: &Scenario) -> Result<(), TestCaseError> {
    let delayed_ack = if sc.delayed_ack { Some(Duration::from_millis(40)) } else { None };
    let ca = synack::Config { trace: false, nagle: sc.nagle, delayed_ack, ..config(CLIENT_IP) };
    let cb = synack::Config {
        trace: false,
        recv_buffer: sc.recv_buffer,
        nagle: sc.nagle,
        delayed_ack,
        ..config(SERVER_IP)
    };
    let mut p = Pair::with_configs(ca, cb);
    let mut rng = Rng(sc.seed | 1);
    let (loss, dup, reorder, max_delay) = (sc.loss, sc.dup, sc.reorder, sc.max_extra_delay_ms);
    p.rule = Box::new(move |_| {
        let r = (rng.next() % 1000) as u32;
        if r < loss {
            Fate::Drop
        } else if r < loss + dup {
            Fate::Duplicate
        } else if r < loss + dup + reorder {
            Fate::Delay(Duration::from_millis(1 + rng.next() % max_delay))
        } else {
            Fate::Deliver
        }
    });
    let l = p.b.listen(server_addr(), 4).unwrap();
    let mut client = Side::new(pattern(sc.up, (sc.seed % 251) as u8));
    let mut server = Side::new(pattern(sc.down, (sc.seed % 241) as u8 ^ 0x55));
    client.conn = Some(p.a.connect(p.now, server_addr()).unwrap());
    let mut idle = false;
    let mut idle_steps = 0;
    for step in 0..300_000usize {
        if server.conn.is_none() {
            server.conn = p.b.accept(l);
        }
        let read = step % sc.read_every == 0;
        client.pump(&mut p.a, sc.write_chunk, read);
        server.pump(&mut p.b, sc.write_chunk, read);
        // Closing order: a side half-closes once it queued all its data and, unless it
        // goes first, once it saw the other side's FIN.
        match sc.order {
            CloseOrder::ClientFirst => {
                if client.all_queued() {
                    client.shutdown(&mut p.a);
                }
                if server.all_queued() && server.eof {
                    server.shutdown(&mut p.b);
                }
            }
            CloseOrder::ServerFirst => {
                if server.all_queued() && server.conn.is_some() {
                    server.shutdown(&mut p.b);
                }
                if client.all_queued() && client.eof {
                    client.shutdown(&mut p.a);
                }
            }
            CloseOrder::Simultaneous => {
                if client.all_queued() && server.all_queued() && server.conn.is_some() {
                    client.shutdown(&mut p.a);
                    server.shutdown(&mut p.b);
                }
            }
        }
        let (cf, sf) = (client.error.is_some(), server.error.is_some());
        client.maybe_release(&mut p.a, sf);
        server.maybe_release(&mut p.b, cf);
        if client.error.is_some() && server.conn.is_none() && client.released {
            // The handshake never completed: nothing to accept, the listener may still
            // hold an embryo that times out on its own.
            server.released = true;
        }
        if p.step() {
            idle_steps = 0;
        } else {
            // Idle: stop once the applications have nothing left to do either (the
            // last TIME-WAIT expiry lets them release their handles first).
            if client.released && server.released {
                idle = true;
                break;
            }
            idle_steps += 1;
            if idle_steps > 3 {
                break;
            }
        }
    }
    prop_assert!(
        idle,
        "not finished (t={:?}, client {:?} {:?}, server {:?} {:?}) in {:?}",
        p.now,
        client.conn.map(|c| p.a.state(c)),
        client.error,
        server.conn.map(|c| p.b.state(c)),
        server.error,
        sc
    );
    // Every handle was released, and both ends reached CLOSED or reported an error (a
    // side whose peer failed may give its handle up first; the stack then finishes on
    // its own, which the emptiness checks below verify).
    prop_assert!(client.released && server.released, "handles held: {:?}", sc);
    let failed = client.error.is_some() || server.error.is_some();
    prop_assert!(client.reached_closed || failed, "client: {:?}", sc);
    prop_assert!(server.conn.is_none() || server.reached_closed || failed, "server: {:?}", sc);
    // Bytes: exactly once, in order; complete unless a side reported an error.
    prop_assert!(
        sc.up >= server.got.len() && client.out[..server.got.len()] == server.got[..],
        "up stream corrupt"
    );
    prop_assert!(
        sc.down >= client.got.len() && server.out[..client.got.len()] == client.got[..],
        "down stream corrupt"
    );
    if !failed {
        prop_assert_eq!(server.got.len(), sc.up, "up stream incomplete");
        prop_assert_eq!(client.got.len(), sc.down, "down stream incomplete");
    }
    if std::env::var_os("PROPS_VERBOSE").is_some() {
        eprintln!(
            "t={:?} up={}/{} down={}/{} errors={:?}/{:?} rtx={} {:?}",
            p.now,
            server.got.len(),
            sc.up,
            client.got.len(),
            sc.down,
            client.error,
            server.error,
            p.a.stats().retransmissions + p.b.stats().retransmissions,
            sc.order
        );
    }
    // Nothing is left behind once the network is idle.
    p.b.close_listener(l).unwrap();
    for (name, s) in [("client", &p.a), ("server", &p.b)] {
        prop_assert_eq!(s.connection_count(), 0, "{} connections left", name);
        prop_assert_eq!(s.time_wait_count(), 0, "{} TIME-WAIT records left", name);
        prop_assert_eq!(s.poll_timeout(), None, "{} timer left", name);
    }
    Ok(())
}

proptest! {
    // 128 cases by default (about a second in a debug build); PROPS_CASES=n for a campaign.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPS_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(128),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    /// Random faults on both directions never lose, duplicate or reorder a byte, and
    /// every run ends with both stacks empty.
    #[test]
    fn random_faults_deliver_every_byte_once_in_order_and_leave_nothing_behind(sc in scenario()) {
        run(&sc)?;
    }
}

/// A few fixed heavy cases, so that the worst mixes run on every build.
#[test]
fn heavy_loss_duplication_and_reordering_in_every_closing_order() {
    for (i, order) in
        [CloseOrder::ClientFirst, CloseOrder::ServerFirst, CloseOrder::Simultaneous].into_iter().enumerate()
    {
        let sc = Scenario {
            seed: 0x5eed + i as u64,
            loss: 150,
            dup: 100,
            reorder: 200,
            max_extra_delay_ms: 120,
            up: 40_000,
            down: 30_000,
            write_chunk: 3000,
            recv_buffer: 8192,
            read_every: 2,
            order,
            nagle: i != 1,
            delayed_ack: i != 2,
        };
        run(&sc).unwrap();
    }
}
