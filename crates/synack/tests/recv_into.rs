//! Delivery straight into the application's buffer (`Stack::handle_packet_into`,
//! `RecvInto`): RFC 9293 3.10.7.4, seventh step, "Once in the ESTABLISHED state, it is
//! possible to deliver segment data to user RECEIVE buffers."
//!
//! The application must get exactly the stream it gets through the receive buffer and
//! `Stack::recv`: the same bytes, in order, each once; nothing from a segment that fails
//! its checksum; nothing ahead of a gap. What changes is where the bytes land, and so
//! the window: bytes already in the application's buffer take no room in the receive
//! buffer.

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use std::net::SocketAddr;
use synack::wire::TcpFlags;
use synack::{ConnId, Error, Event, ListenerId, RecvInto, SeqNum, Stack, State};

/// The window the raw peer advertises.
const WIN: u16 = 60_000;

/// A listening server stack (no window scaling: the window field is the window) and
/// the raw peer facing it.
fn listening() -> (RawPeer, ListenerId) {
    let mut c = cfg(SERVER_IP);
    c.window_scaling = false;
    raw_server(c)
}

/// [`listening`] with one accepted connection from the raw peer.
fn server() -> (RawPeer, ConnId) {
    let (mut peer, l) = listening();
    let (_, conn) = peer.connect_in(l, mss_opt(1460), WIN);
    events(&mut peer.stack);
    (peer, conn)
}

/// Where the raw peer speaks from and its sequence numbers: one connection's side.
type Side = (SocketAddr, SeqNum, SeqNum);

/// [`listening`] with two accepted connections from two ports of the raw peer, and the
/// peer's side of each (restore one with [`speak_as`] to send on it).
fn two_connections() -> (RawPeer, [(ConnId, Side); 2]) {
    let (mut peer, l) = listening();
    let (_, c1) = peer.connect_in(l, mss_opt(1460), WIN);
    let first = (peer.peer, peer.snd_nxt, peer.rcv_nxt);
    peer.peer = SocketAddr::new(CLIENT_IP, 40_001);
    peer.snd_nxt = SeqNum(7_000_000);
    let (_, c2) = peer.connect_in(l, mss_opt(1460), WIN);
    let second = (peer.peer, peer.snd_nxt, peer.rcv_nxt);
    (peer, [(c1, first), (c2, second)])
}

/// Make the raw peer speak as `side`.
fn speak_as(peer: &mut RawPeer, side: Side) {
    (peer.peer, peer.snd_nxt, peer.rcv_nxt) = side;
}

/// Hand `payload` (at the peer's next sequence number, PSH and `extra` flags) to the
/// stack through `handle_packet_into`; returns the bytes it added to `into`.
fn data_into(peer: &mut RawPeer, into: &mut RecvInto<'_>, payload: &[u8], extra: TcpFlags) -> usize {
    let h = peer.hdr(peer.snd_nxt, Some(peer.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH | extra, WIN);
    peer.snd_nxt += payload.len() as u32 + u32::from(extra.fin());
    let d = peer.datagram(&h, payload);
    peer.stack.handle_packet_into(peer.now, &d, into)
}

/// Everything `recv` has for `c` right now (stops at `WouldBlock` or end of stream).
fn drain(stack: &mut Stack, c: ConnId) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 700];
    while let Ok(n @ 1..) = stack.recv(c, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn in_order_data_lands_in_the_applications_buffer_and_leaves_the_window_open() {
    let (mut peer, c) = server();
    let body = pattern(3000, 1);
    let mut space = vec![0u8; 4096];
    let mut into = RecvInto::new(c, &mut space);
    for chunk in body.chunks(1000) {
        assert_eq!(data_into(&mut peer, &mut into, chunk, TcpFlags::NONE), chunk.len());
    }
    assert_eq!(into.data(), &body[..]);
    assert_eq!(into.remaining(), 4096 - 3000);
    // Delivered: nothing is left to read, and no Readable event announces anything.
    assert_eq!(peer.stack.recv(c, &mut [0u8; 10]), Err(Error::WouldBlock));
    assert!(!events(&mut peer.stack).iter().any(|e| matches!(e, Event::Readable(_))));
    // "it must also acknowledge the receipt of the data": the ACK covers all of it and
    // announces the whole receive buffer, which the data never occupied.
    let out = peer.poll();
    let ack = out.last().expect("an ACK for the data");
    assert_eq!(ack.ack(), peer.snd_nxt);
    assert_eq!(u32::from(ack.hdr.window), peer.stack.config().recv_buffer.min(65_535));
}

#[test]
fn the_same_data_through_the_receive_buffer_narrows_the_window_instead() {
    // The contrast that shows where the bytes went: handle_packet keeps them in the
    // receive buffer until `recv`, and the window shrinks by them meanwhile.
    let (mut peer, c) = server();
    let body = pattern(3000, 1);
    for chunk in body.chunks(1000) {
        let h = peer.hdr(peer.snd_nxt, Some(peer.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH, WIN);
        peer.snd_nxt += chunk.len() as u32;
        let d = peer.datagram(&h, chunk);
        peer.stack.handle_packet(peer.now, &d);
    }
    let out = peer.poll();
    let ack = out.last().expect("an ACK for the data");
    assert_eq!(ack.ack(), peer.snd_nxt);
    assert_eq!(u32::from(ack.hdr.window), peer.stack.config().recv_buffer.min(65_535) - 3000);
    assert_eq!(drain(&mut peer.stack, c), body);
}

#[test]
fn a_corrupt_segment_delivers_nothing_and_its_retransmission_does() {
    let (mut peer, c) = server();
    let body = pattern(1200, 2);
    let h = peer.hdr(peer.snd_nxt, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
    let good = peer.datagram(&h, &body);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    let mut space = vec![0u8; 2000];
    let mut into = RecvInto::new(c, &mut space);
    assert_eq!(peer.stack.handle_packet_into(peer.now, &bad, &mut into), 0);
    assert_eq!(into.filled(), 0, "a segment that fails the checksum delivers nothing");
    assert_eq!(peer.stack.stats().bad_checksum, 1);
    assert!(peer.poll().is_empty(), "nor is it acknowledged");
    assert_eq!(peer.stack.handle_packet_into(peer.now, &good, &mut into), body.len());
    assert_eq!(into.data(), &body[..]);
    assert_eq!(peer.stack.recv(c, &mut [0u8; 10]), Err(Error::WouldBlock));
}

#[test]
fn in_order_data_in_the_lent_buffer_replaces_the_duplicate_acks_owed_with_one_ack() {
    // A receiver that holds nothing out of order (`max_ooo_ranges` 0) drops segments
    // beyond RCV.NXT, and owes one duplicate ACK for each (RFC 5681 4.2). When the
    // next in-order data comes in the same batch, before any ACK went out, one
    // cumulative ACK replaces them, wherever the data lands.
    let mut c = cfg(SERVER_IP);
    c.window_scaling = false;
    c.max_ooo_ranges = 0;
    let (mut peer, l) = raw_server(c);
    let (_, conn) = peer.connect_in(l, mss_opt(1460), WIN);
    events(&mut peer.stack);
    let body = pattern(3000, 4);
    let mut space = vec![0u8; 4096];
    let mut into = RecvInto::new(conn, &mut space);
    let first = peer.snd_nxt;
    for k in [2u32, 1] {
        let h = peer.hdr(first + 1000 * k, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
        let d = peer.datagram(&h, &body[1000 * k as usize..1000 * (k as usize + 1)]);
        assert_eq!(peer.stack.handle_packet_into(peer.now, &d, &mut into), 0, "dropped, not delivered");
    }
    assert_eq!(data_into(&mut peer, &mut into, &body[..1000], TcpFlags::NONE), 1000);
    let out = peer.poll();
    assert_eq!(out.len(), 1, "one ACK, not the two duplicates owed before the data: {out:?}");
    assert_eq!(out[0].ack(), first + 1000);
}

#[test]
fn data_that_does_not_fit_waits_in_the_receive_buffer_and_keeps_its_place_in_the_stream() {
    let (mut peer, c) = server();
    let body = pattern(1500, 3);
    let mut space = vec![0u8; 1000];
    let mut into = RecvInto::new(c, &mut space);
    // 600 fit; the next 600 do not (400 left), so they wait in the receive buffer.
    assert_eq!(data_into(&mut peer, &mut into, &body[..600], TcpFlags::NONE), 600);
    assert_eq!(data_into(&mut peer, &mut into, &body[600..1200], TcpFlags::NONE), 0);
    assert!(events(&mut peer.stack).contains(&Event::Readable(c)));
    let first = into.data().to_vec();
    into.clear();
    // The application's buffer is free again, but bytes wait ahead of the next
    // segment's: it must queue behind them, not jump the queue.
    assert_eq!(data_into(&mut peer, &mut into, &body[1200..], TcpFlags::NONE), 0);
    let rest = drain(&mut peer.stack, c);
    assert_eq!([first, rest].concat(), body);
    // With the receive buffer drained, delivery goes straight to the buffer again.
    let more = pattern(100, 4);
    assert_eq!(data_into(&mut peer, &mut into, &more, TcpFlags::NONE), 100);
    assert_eq!(into.data(), &more[..]);
}

#[test]
fn data_beyond_a_gap_is_held_and_never_delivered_ahead_of_it() {
    let (mut peer, c) = server();
    let body = pattern(2000, 5);
    let start = peer.snd_nxt;
    let mut space = vec![0u8; 4000];
    let mut into = RecvInto::new(c, &mut space);
    // The second half first: out of order, held for later (3.10.7.4, seventh step).
    let h = peer.hdr(start + 1000, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
    let d = peer.datagram(&h, &body[1000..]);
    assert_eq!(peer.stack.handle_packet_into(peer.now, &d, &mut into), 0);
    // The first half fills the gap; with data held, it joins the receive buffer.
    let h = peer.hdr(start, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
    let d = peer.datagram(&h, &body[..1000]);
    assert_eq!(peer.stack.handle_packet_into(peer.now, &d, &mut into), 0);
    assert_eq!(drain(&mut peer.stack, c), body);
    assert_eq!(into.filled(), 0);
}

#[test]
fn a_buffer_lent_for_one_connection_takes_no_other_connections_data() {
    let (mut peer, [(c1, first), (c2, _)]) = two_connections();
    let mut space = vec![0u8; 2000];
    let mut into = RecvInto::new(c1, &mut space);
    let body = pattern(500, 6);
    assert_eq!(data_into(&mut peer, &mut into, &body, TcpFlags::NONE), 0);
    assert_eq!(drain(&mut peer.stack, c2), body);
    speak_as(&mut peer, first);
    assert_eq!(data_into(&mut peer, &mut into, &body, TcpFlags::NONE), 500);
    assert_eq!(into.data(), &body[..]);
}

#[test]
fn connection_of_picks_each_datagrams_buffer_when_several_connections_receive() {
    let (mut peer, [(c1, mut first), (c2, mut second)]) = two_connections();
    // Datagrams of both connections, interleaved.
    let (body1, body2) = (pattern(3000, 12), pattern(3000, 13));
    let mut datagrams = Vec::new();
    for (a, b) in body1.chunks(1000).zip(body2.chunks(1000)) {
        for (side, chunk) in [(&mut first, a), (&mut second, b)] {
            speak_as(&mut peer, *side);
            let h = peer.hdr(peer.snd_nxt, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
            datagrams.push(peer.datagram(&h, chunk));
            side.1 += chunk.len() as u32;
        }
    }
    let (mut space1, mut space2) = (vec![0u8; 4000], vec![0u8; 4000]);
    let mut into1 = RecvInto::new(c1, &mut space1);
    let mut into2 = RecvInto::new(c2, &mut space2);
    for d in &datagrams {
        let into = match peer.stack.connection_of(d) {
            Some(c) if c == c1 => &mut into1,
            Some(c) if c == c2 => &mut into2,
            other => panic!("a datagram of neither connection: {other:?}"),
        };
        assert_eq!(peer.stack.handle_packet_into(peer.now, d, into), 1000);
    }
    assert_eq!(into1.data(), &body1[..]);
    assert_eq!(into2.data(), &body2[..]);
}

#[test]
fn connection_of_names_only_connections_whose_handle_the_application_holds() {
    let (mut peer, l) = listening();
    // A handshake the application has not accepted yet.
    let syn = peer.hdr(peer.snd_nxt, None, TcpFlags::SYN, WIN);
    let d = peer.datagram(&syn, &[]);
    assert_eq!(peer.stack.connection_of(&d), None, "no connection yet");
    let out = peer.send(syn, &[]);
    let synack = out.iter().find(|s| s.flags() == TcpFlags::SYN | TcpFlags::ACK).expect("a SYN-ACK");
    peer.snd_nxt += 1;
    peer.rcv_nxt = synack.seq() + 1;
    peer.send_ack(peer.rcv_nxt, WIN);
    let h = peer.hdr(peer.snd_nxt, Some(peer.rcv_nxt), TcpFlags::ACK, WIN);
    let data = peer.datagram(&h, b"hello");
    assert_eq!(peer.stack.connection_of(&data), None, "not accepted yet");
    let conn = peer.stack.accept(l).expect("accepted");
    assert_eq!(peer.stack.connection_of(&data), Some(conn));
    // Not TCP, not even IP.
    let mut udp = data.clone();
    udp[9] = 17;
    assert_eq!(peer.stack.connection_of(&udp), None);
    assert_eq!(peer.stack.connection_of(&[0x45, 0, 0]), None);
    assert_eq!(peer.stack.connection_of(&[]), None);
    // Released by the application.
    peer.stack.close(conn).unwrap();
    assert_eq!(peer.stack.connection_of(&data), None, "closed by the application");
}

#[test]
fn a_released_handle_takes_nothing_from_the_connection_that_reuses_its_slot() {
    let (mut peer, old) = server();
    peer.stack.abort(old).unwrap();
    peer.poll();
    // The peer opens a new connection from another port; the slot is reused.
    peer.peer = SocketAddr::new(CLIENT_IP, 40_002);
    peer.snd_nxt = SeqNum(5_000_000);
    let listener = peer.stack.listen(SocketAddr::new(SERVER_IP, 82), 4).unwrap();
    peer.local = SocketAddr::new(SERVER_IP, 82);
    let (_, new) = peer.connect_in(listener, mss_opt(1460), WIN);
    assert_eq!(new.index(), old.index(), "precondition: the new connection reuses the slot");
    assert_ne!(new, old);
    let mut space = vec![0u8; 2000];
    let mut into = RecvInto::new(old, &mut space);
    let body = pattern(300, 7);
    assert_eq!(data_into(&mut peer, &mut into, &body, TcpFlags::NONE), 0);
    assert_eq!(drain(&mut peer.stack, new), body);
}

#[test]
fn data_with_fin_is_delivered_and_the_end_of_stream_reported() {
    let (mut peer, c) = server();
    let body = pattern(800, 8);
    let mut space = vec![0u8; 1000];
    let mut into = RecvInto::new(c, &mut space);
    assert_eq!(data_into(&mut peer, &mut into, &body, TcpFlags::FIN), 800);
    assert_eq!(into.data(), &body[..]);
    // "Eighth, check the FIN bit": "signal the user "connection closing"".
    let ev = events(&mut peer.stack);
    assert!(ev.contains(&Event::PeerFin(c)), "{ev:?}");
    assert!(ev.contains(&Event::Readable(c)), "the application learns of the end: {ev:?}");
    assert_eq!(peer.stack.recv(c, &mut [0u8; 10]), Ok(0));
    assert_eq!(peer.stack.state(c), State::CloseWait);
    let out = peer.poll();
    assert_eq!(out.last().expect("an ACK").ack(), peer.snd_nxt, "data and FIN acknowledged");
}

#[test]
fn direct_delivery_is_traced_as_the_receive_it_stands_for() {
    let (mut peer, c) = server();
    while peer.stack.poll_trace().is_some() {}
    let mut space = vec![0u8; 1000];
    let mut into = RecvInto::new(c, &mut space);
    data_into(&mut peer, &mut into, &pattern(321, 9), TcpFlags::NONE);
    let recvs: Vec<usize> = std::iter::from_fn(|| peer.stack.poll_trace())
        .filter_map(|r| match r.ev {
            synack::TraceEvent::App { call: synack::AppCall::Recv, bytes, .. } => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(recvs, [321]);
}

mod over_a_hostile_link {
    use super::*;
    use proptest::prelude::*;
    use synack::Duration;

    /// One transfer from `a` to `b` over a link that drops, duplicates and delays
    /// segments, `b`'s application taking its data through a lent buffer of `space`
    /// bytes (and the receive buffer for what does not go there). Returns what `b`'s
    /// application read, in order, and whether it saw the end of the stream.
    fn transfer(
        seed: u64,
        loss: f64,
        dup: f64,
        jitter_ms: u64,
        space: usize,
        body: &[u8],
    ) -> (Vec<u8>, bool) {
        let mut p = Pair::new();
        // The handshake first, over a clean link: with the losses below, every
        // SYN,ACK retransmission and every ACK of it can be lost (one case in the
        // proptest regressions), and the server then gives the embryonic connection
        // up while the client, which has nothing to send yet, waits as established.
        let (ca, cb) = p.establish();
        let mut rng = Rng(seed | 1);
        p.rule = Box::new(move |_| {
            if rng.chance(loss) {
                Fate::Drop
            } else if rng.chance(dup) {
                Fate::Duplicate
            } else if jitter_ms > 0 && rng.chance(0.3) {
                Fate::Delay(Duration::from_millis(rng.next() % jitter_ms))
            } else {
                Fate::Deliver
            }
        });
        p.direct_b = Some(DirectApp { conn: cb, buf: vec![0u8; space], filled: 0 });
        let (mut off, mut got, mut eof, mut closed) = (0usize, Vec::new(), false, false);
        let mut app_rng = Rng(seed.rotate_left(17) | 1);
        let mut idle = false;
        for _ in 0..200_000 {
            if off < body.len() {
                if let Ok(n) = p.a.send(ca, &body[off..]) {
                    off += n;
                }
            } else if !closed {
                p.a.close(ca).unwrap();
                closed = true;
            }
            // The application sometimes leaves its buffer full for a while; when it
            // takes the bytes there, it then reads what waits in the receive buffer.
            if idle || app_rng.chance(0.7) {
                let d = p.direct_b.as_mut().unwrap();
                got.extend_from_slice(&d.buf[..d.filled]);
                d.filled = 0;
                let mut buf = [0u8; 977];
                loop {
                    match p.b.recv(cb, &mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(_) => break,
                    }
                }
            }
            if eof || idle {
                break;
            }
            // Once the network is idle, the application reads one last time.
            idle = !p.step();
        }
        (got, eof)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the link does and however big the lent buffer, the application
        /// reads the whole stream, in order, each byte once, then the end of it.
        #[test]
        fn the_application_reads_exactly_the_stream_sent(
            seed in any::<u64>(),
            loss in prop_oneof![Just(0.0), 0.0..0.2f64],
            dup in prop_oneof![Just(0.0), 0.0..0.1f64],
            jitter_ms in prop_oneof![Just(0u64), 1u64..40],
            space in prop_oneof![1usize..3000, 3000usize..200_000],
            len in 1usize..150_000,
        ) {
            let body = pattern(len, seed as u8);
            let (got, eof) = transfer(seed, loss, dup, jitter_ms, space, &body);
            prop_assert!(eof, "no end of stream after {} of {} bytes", got.len(), body.len());
            prop_assert_eq!(got.len(), body.len());
            prop_assert!(got == body, "the stream read differs from the stream sent");
        }
    }

    #[test]
    fn most_bytes_go_straight_to_a_buffer_the_application_keeps_empty() {
        // The property above holds even if nothing ever went straight to the
        // application's buffer; this shows the buffer is used when it can be.
        let mut p = Pair::new();
        let (ca, cb) = p.establish();
        p.direct_b = Some(DirectApp { conn: cb, buf: vec![0u8; 256 * 1024], filled: 0 });
        let body = pattern(100_000, 11);
        let mut off = 0;
        let mut got = Vec::new();
        while got.len() < body.len() {
            if let Ok(n) = p.a.send(ca, &body[off..]) {
                off += n;
            }
            assert!(p.step(), "stalled at {} bytes", got.len());
            let d = p.direct_b.as_mut().unwrap();
            got.extend_from_slice(&d.buf[..d.filled]);
            d.filled = 0;
            assert_eq!(p.b.recv(cb, &mut [0u8; 10]), Err(Error::WouldBlock), "nothing took the other way");
        }
        assert_eq!(got, body);
    }
}
