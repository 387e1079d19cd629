//! One connection's buffer sizes (`Stack::set_send_buffer`, `Stack::set_recv_buffer`)
//! and a listener's (`Stack::set_listener_send_buffer`,
//! `Stack::set_listener_recv_buffer`), like `SO_SNDBUF` and `SO_RCVBUF`: the send buffer
//! bounds what `send` takes, at once; the receive buffer is the window offered (RFC
//! 9293 3.8.6, RCV.BUFF), sized freely until the SYN goes out and only grown after it
//! (shrinking the window "is strongly discouraged"). Each test drives one stack by hand
//! ([`RawPeer`]) on its virtual clock.

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use std::net::SocketAddr;
use synack::wire::{TcpFlags, TcpOptions};
use synack::{ConnId, Error, UsageError};

const WINDOW: u16 = 65_535;

fn invalid(e: Error) -> bool {
    matches!(e, Error::Usage(UsageError::InvalidValue))
}

/// A server stack built from `c` and an established, accepted connection from the
/// raw peer, which offered window scaling (shift 7) so that the stack's shift is in
/// effect.
fn established(c: synack::Config) -> (RawPeer, synack::ListenerId, ConnId) {
    let (mut r, l) = raw_server(c);
    let opts = TcpOptions { window_scale: Some(7), ..mss_opt(1460) };
    let (_, c) = r.connect_in(l, opts, WINDOW);
    r.poll();
    (r, l, c)
}

#[test]
fn the_send_buffer_bounds_what_send_takes_at_once() {
    // (Nagle off, so that every byte queued goes out at once.)
    let (mut r, _, c) = established(synack::Config { send_buffer: 65_536, nagle: false, ..cfg(SERVER_IP) });
    r.stack.set_send_buffer(c, 1000).unwrap();
    assert_eq!(r.stack.info(c).unwrap().send_buffer, 1000);
    assert_eq!(r.stack.send(c, &[7u8; 5000]).unwrap(), 1000, "1000 bytes of 5000");
    assert!(matches!(r.stack.send(c, b"x"), Err(Error::WouldBlock)), "full");
    // Larger: room at once, though the first 1000 bytes are still unacknowledged.
    r.stack.set_send_buffer(c, 3000).unwrap();
    assert_eq!(r.stack.send(c, &[7u8; 5000]).unwrap(), 2000);
    // Smaller than what is queued: nothing is lost, and nothing more is taken...
    let sent: usize = r.poll().iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 3000, "what was queued still goes out");
    r.stack.set_send_buffer(c, 500).unwrap();
    assert!(matches!(r.stack.send(c, b"x"), Err(Error::WouldBlock)));
    // ... until the queue drains below it.
    r.rcv_nxt = r.highest_received();
    r.send_ack(r.rcv_nxt, WINDOW);
    assert_eq!(r.stack.send(c, &[7u8; 5000]).unwrap(), 500);
}

#[test]
fn a_receive_buffer_set_before_the_syn_sizes_the_window_and_shift_it_offers() {
    // RFC 7323 2.3: the shift is the smallest that lets the window field carry the
    // buffer: 1 MiB needs 5 (65535 << 4 is just short of it).
    let local = SocketAddr::new(SERVER_IP, 80);
    let peer = SocketAddr::new(CLIENT_IP, 40_000);
    let c = synack::Config { recv_buffer: 8192, window_scaling: true, window_shift: None, ..cfg(SERVER_IP) };
    for (size, shift, field) in [(1 << 20, 5, 65_535), (4096, 0, 4096)] {
        let mut r = RawPeer::new(c.clone(), local, peer);
        let conn = r.stack.connect_from(r.now, local, peer).unwrap();
        r.stack.set_recv_buffer(conn, size).unwrap();
        let syn = r.poll();
        assert_eq!(syn.len(), 1);
        assert_eq!(syn[0].hdr.options.window_scale, Some(shift), "{size}");
        assert_eq!(syn[0].hdr.window, field, "a SYN's window is never scaled: {size}");
        // The SYN,ACK agrees to scaling: the window is the buffer, scaled.
        r.rcv_nxt = syn[0].seq() + 1;
        let mut h = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::SYN, WINDOW);
        h.options = TcpOptions { window_scale: Some(2), ..mss_opt(1460) };
        r.snd_nxt += 1;
        let ack = r.send(h, &[]);
        let ack = ack.last().expect("the handshake's ACK");
        assert_eq!(u32::from(ack.hdr.window) << shift, size.min(65_535 << shift), "{size}");
        assert_eq!(r.stack.info(conn).unwrap().recv_buffer, size);
    }
}

#[test]
fn after_the_syn_a_receive_buffer_only_grows_and_growing_announces_the_room() {
    // 4096 bytes and shift 0 (set by the configuration); the peer fills the window
    // and the application reads nothing: the window is closed.
    let c = synack::Config { recv_buffer: 4096, window_shift: Some(0), delayed_ack: None, ..cfg(SERVER_IP) };
    let (mut r, _, conn) = established(c);
    let out = r.send_data(&[1u8; 4096], WINDOW);
    assert_eq!(out.last().map(|s| s.hdr.window), Some(0), "{out:?}");
    // Smaller: refused, window already offered is never taken back.
    assert!(r.stack.set_recv_buffer(conn, 2048).is_err_and(invalid));
    assert_eq!(r.stack.info(conn).unwrap().recv_buffer, 4096, "unchanged");
    // Larger: the room is announced at once (3.8.6.2.2: it opened by more than an MSS).
    r.stack.set_recv_buffer(conn, 12_288).unwrap();
    let update = r.poll();
    assert_eq!(update.len(), 1, "one window update: {update:?}");
    assert_eq!((update[0].hdr.window, update[0].ack()), (8192, r.snd_nxt));
    // And the peer may fill it.
    r.send_data(&[2u8; 8192], WINDOW);
    assert_eq!(r.stack.info(conn).unwrap().recv_queue, 12_288);
    // As large again: nothing changes, nothing is sent.
    r.stack.set_recv_buffer(conn, 12_288).unwrap();
    assert!(r.poll().is_empty());
}

#[test]
fn a_receive_buffer_grown_beyond_what_the_window_field_carries_offers_what_it_can() {
    // Without window scaling the field carries 65535 at most (RFC 7323 2.3).
    let c = synack::Config { recv_buffer: 16_384, window_scaling: false, ..cfg(SERVER_IP) };
    let (mut r, _, conn) = established(c);
    r.stack.set_recv_buffer(conn, 1 << 20).unwrap();
    let update = r.poll();
    assert_eq!(update.last().map(|s| s.hdr.window), Some(65_535), "{update:?}");
}

#[test]
fn a_listener_s_buffers_go_to_its_connections_and_its_syn_acks() {
    // The configuration's receive buffer is 8192 (shift 0 offered); the listener's
    // 1 MiB is offered by its SYN,ACK (shift 5), from a SYN queue and from a SYN
    // cookie alike (the cookie's connection is made at the handshake's ACK).
    for cookies in [synack::SynCookies::Off, synack::SynCookies::Always] {
        let c = synack::Config {
            recv_buffer: 8192,
            send_buffer: 65_536,
            window_shift: None,
            syn_cookies: cookies,
            delayed_ack: None,
            ..cfg(SERVER_IP)
        };
        let (mut r, l) = raw_server(c);
        r.stack.set_listener_recv_buffer(l, 1 << 20).unwrap();
        r.stack.set_listener_send_buffer(l, 1500).unwrap();
        // Timestamps in the SYN: a cookie SYN,ACK offers window scaling only with them,
        // and its TSval comes back in the ACK's TSecr.
        let ts = |val, ecr| Some(synack::wire::Timestamps { val, ecr });
        let mut syn = r.hdr(r.snd_nxt, None, TcpFlags::SYN, WINDOW);
        syn.options = TcpOptions { window_scale: Some(7), timestamps: ts(1, 0), ..mss_opt(1460) };
        let synack = r.send(syn, &[]).pop().expect("a SYN,ACK");
        let tsval = synack.hdr.options.timestamps.map_or(0, |t| t.val);
        r.snd_nxt += 1;
        r.rcv_nxt = synack.seq() + 1;
        let mut ack = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::ACK, WINDOW);
        ack.options.timestamps = ts(2, tsval);
        r.send(ack, &[]);
        let conn = r.stack.accept(l).expect("the handshake completed");
        assert_eq!(synack.hdr.options.window_scale, Some(5), "{cookies:?}");
        assert_eq!(synack.hdr.window, 65_535, "{cookies:?}");
        let info = r.stack.info(conn).unwrap();
        assert_eq!((info.recv_buffer, info.send_buffer), (1 << 20, 1500), "{cookies:?}");
        assert_eq!(info.window_scale, Some((7, 5)), "{cookies:?}");
        // The whole buffer is offered, scaled (in units of 32 bytes).
        let mut h = r.hdr(r.snd_nxt, Some(r.rcv_nxt), TcpFlags::ACK | TcpFlags::PSH, WINDOW);
        h.options.timestamps = ts(3, tsval);
        r.snd_nxt += 1000;
        let ack = r.send(h, &[3u8; 1000]);
        let ack = ack.last().map(|s| u32::from(s.hdr.window) << 5);
        assert_eq!(ack, Some(((1 << 20) - 1000) >> 5 << 5), "{cookies:?}");
        assert_eq!(r.stack.send(conn, &[4u8; 4000]).unwrap(), 1500, "{cookies:?}");
    }
}

#[test]
fn zero_sizes_stale_handles_and_closed_listeners_are_refused() {
    let (mut r, l, c) = established(cfg(SERVER_IP));
    assert!(r.stack.set_send_buffer(c, 0).is_err_and(invalid));
    assert!(r.stack.set_recv_buffer(c, 0).is_err_and(invalid));
    assert!(r.stack.set_listener_send_buffer(l, 0).is_err_and(invalid));
    assert!(r.stack.set_listener_recv_buffer(l, 0).is_err_and(invalid));
    r.stack.abort(c).unwrap();
    assert!(r.stack.set_send_buffer(c, 100).is_err());
    assert!(r.stack.set_recv_buffer(c, 1 << 20).is_err());
    r.stack.close_listener(l).unwrap();
    assert!(r.stack.set_listener_recv_buffer(l, 100).is_err());
}

#[test]
fn a_simultaneous_open_has_announced_its_window_with_its_syn() {
    // Our SYN went out (window and shift offered); the peer's SYN crossed it, and
    // our SYN,ACK is a new segment (RFC 9293 3.10.7.3): the buffer may grow, not
    // shrink, and the shift stays the one the SYN offered.
    let local = SocketAddr::new(SERVER_IP, 80);
    let peer = SocketAddr::new(CLIENT_IP, 40_000);
    let c = synack::Config { recv_buffer: 65_536, window_shift: None, ..cfg(SERVER_IP) };
    let mut r = RawPeer::new(c, local, peer);
    let conn = r.stack.connect_from(r.now, local, peer).unwrap();
    let syn = r.poll().pop().expect("our SYN");
    let mut h = r.hdr(r.snd_nxt, None, TcpFlags::SYN, WINDOW);
    h.options = TcpOptions { window_scale: Some(2), ..mss_opt(1460) };
    r.snd_nxt += 1;
    // Before the SYN,ACK goes out (it has not been counted as sent yet).
    let d = r.datagram(&h, &[]);
    r.stack.handle_packet(r.now, &d);
    assert_eq!(r.stack.state(conn), synack::State::SynReceived);
    assert!(r.stack.set_recv_buffer(conn, 4096).is_err_and(invalid));
    r.stack.set_recv_buffer(conn, 1 << 20).unwrap();
    let synack = r.poll().pop().expect("our SYN,ACK");
    assert!(synack.flags().syn() && synack.flags().ack());
    assert_eq!(synack.hdr.options.window_scale, syn.hdr.options.window_scale);
    assert_eq!(r.stack.info(conn).unwrap().window_scale.map(|w| w.1), syn.hdr.options.window_scale);
}
