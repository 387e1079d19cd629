//! SEND and RECEIVE in place (`Stack::send_with`, `Stack::recv_with`): the application
//! writes into the send buffer and reads from the receive buffer where the bytes lie.
//! The calls must be SEND and RECEIVE of RFC 9293 3.10.2 and 3.10.3 in every respect
//! but the copy: the same segments on the wire, the same window announcements, the same
//! answers at the edges (nothing to read, end of stream, a full buffer, a closed
//! connection).

#![allow(clippy::unwrap_used)]

mod common;

use common::flow_helpers::*;
use common::*;
use synack::{ConnId, Error, Event, Stack, State, UsageError};

/// How one side's application writes and reads.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Api {
    /// `send` and `recv` through the application's own buffers.
    Copy,
    /// `send_with` and `recv_with`.
    InPlace,
}

/// Queue up to `n` bytes of `data` from `*off`; returns how many were queued.
fn write(stack: &mut Stack, c: ConnId, api: Api, data: &[u8], off: &mut usize, n: usize) -> usize {
    let end = (*off + n).min(data.len());
    let start = *off;
    match api {
        Api::Copy => {
            if let Ok(k) = stack.send(c, &data[start..end]) {
                *off += k;
            }
        }
        // The space offered is contiguous, so a wrapped buffer takes two calls for what
        // one `send` queues.
        Api::InPlace => {
            while *off < end {
                let want = &data[*off..end];
                let got = stack.send_with(c, |space| {
                    let k = space.len().min(want.len());
                    space[..k].copy_from_slice(&want[..k]);
                    k
                });
                match got {
                    Ok(k) if k > 0 => *off += k,
                    _ => break,
                }
            }
        }
    }
    *off - start
}

/// Read up to `n` bytes into `out`; returns how many were read.
fn read(stack: &mut Stack, c: ConnId, api: Api, out: &mut Vec<u8>, n: usize) -> usize {
    match api {
        Api::Copy => {
            let mut buf = vec![0u8; n];
            let k = stack.recv(c, &mut buf).unwrap_or(0);
            out.extend_from_slice(&buf[..k]);
            k
        }
        Api::InPlace => {
            let mut total = 0;
            while total < n {
                let got = stack.recv_with(c, |front| {
                    let k = front.len().min(n - total);
                    out.extend_from_slice(&front[..k]);
                    k
                });
                match got {
                    Ok(k) if k > 0 => total += k,
                    _ => break,
                }
            }
            total
        }
    }
}

/// A transfer of `len` bytes from `a` to `b` through small buffers (so that both rings
/// wrap many times), the applications writing `wsize` and reading `rsize` bytes per
/// step. Returns the bytes received and the datagrams both ways.
fn transfer(api: Api, len: usize, wsize: usize, rsize: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let ca = synack::Config { send_buffer: 3000, ..config(CLIENT_IP) };
    let cb = synack::Config { recv_buffer: 5000, ..config(SERVER_IP) };
    let mut p = Pair::with_configs(ca, cb);
    let (c, s) = p.establish();
    let data = pattern(len, 7);
    let (mut off, mut got) = (0, Vec::new());
    for _ in 0..200_000 {
        let moved = write(&mut p.a, c, api, &data, &mut off, wsize) + read(&mut p.b, s, api, &mut got, rsize);
        if got.len() == len || (!p.step() && moved == 0) {
            break;
        }
    }
    (got, p.log.iter().map(|s| s.bytes.clone()).collect())
}

/// RFC 9293 3.10.2 and 3.10.3: in-place calls queue and consume exactly what `send` and
/// `recv` of the same sizes would, so the two runs put the same datagrams on the wire
/// (the same segmentation and the same window updates, 3.8.6.2.2), and every byte
/// arrives in order.
#[test]
fn in_place_io_puts_the_same_segments_on_the_wire_as_send_and_recv() {
    for (wsize, rsize) in [(1000, 700), (2999, 4999), (1, 4096), (4096, 1)] {
        let len = if wsize == 1 || rsize == 1 { 20_000 } else { 200_000 };
        let (got_copy, wire_copy) = transfer(Api::Copy, len, wsize, rsize);
        let (got_in_place, wire_in_place) = transfer(Api::InPlace, len, wsize, rsize);
        assert!(got_copy == pattern(len, 7), "send/recv delivered the stream ({wsize}, {rsize})");
        assert!(got_in_place == got_copy, "in place delivered the stream ({wsize}, {rsize})");
        assert_eq!(wire_in_place.len(), wire_copy.len(), "datagram count ({wsize}, {rsize})");
        assert!(wire_in_place == wire_copy, "the same datagrams ({wsize}, {rsize})");
    }
}

/// RFC 9293 3.10.3: with nothing queued RECEIVE waits (would block) and `take` is not
/// called; after the peer's FIN and the last byte it reports the end of the stream;
/// a released handle is refused.
#[test]
fn recv_with_answers_like_recv_without_data() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    let never = |_: &[u8]| -> usize { panic!("take is called only with data") };
    assert_eq!(p.b.recv_with(s, never), Err(Error::WouldBlock));
    p.a.send(c, b"last words").unwrap();
    p.a.shutdown(c).unwrap();
    p.drive_until(100, |p| p.b.state(s) == State::CloseWait);
    let mut seen = Vec::new();
    let n = p.b.recv_with(s, |front| {
        seen.extend_from_slice(front);
        front.len()
    });
    assert_eq!((n, seen.as_slice()), (Ok(10), &b"last words"[..]));
    assert_eq!(p.b.recv_with(s, never), Ok(0), "end of stream");
    assert_eq!(p.b.recv(s, &mut [0u8; 4]), Ok(0), "and recv agrees");
    p.b.close(s).unwrap();
    assert_eq!(p.b.recv_with(s, never), Err(Error::Usage(UsageError::UnknownConnection)));
}

/// A `take` that uses nothing consumes nothing: the bytes stay for the next call.
#[test]
fn recv_with_consumes_only_what_take_used() {
    let mut p = Pair::new();
    let (c, s) = p.establish();
    p.a.send(c, b"abcdef").unwrap();
    p.drive_until(100, |p| p.b.info(s).unwrap().recv_queue == 6);
    assert_eq!(p.b.recv_with(s, |_| 0), Ok(0));
    assert_eq!(p.b.recv_with(s, |f| f.len().min(2)), Ok(2));
    assert_eq!(p.b.info(s).unwrap().recv_queue, 4);
    assert_eq!(recv_all(&mut p.b, s), b"cdef");
}

/// RFC 9293 3.10.2: SEND on a full buffer would block, and an Event::Writable follows
/// once the peer's ACKs free space; SEND after our FIN is refused as `send` refuses it.
#[test]
fn send_with_answers_like_send_at_the_edges() {
    let ca = synack::Config { send_buffer: 4096, ..config(CLIENT_IP) };
    let mut p = Pair::with_configs(ca, config(SERVER_IP));
    let (c, s) = p.establish();
    events(&mut p.a);
    // The storage is allocated as it fills (1 KiB, then doubling): the space comes in
    // pieces, and all 4 KiB of it before the buffer is full.
    let mut offers = Vec::new();
    while let Ok(n) = p.a.send_with(c, |space| {
        space.fill(b'x');
        space.len()
    }) {
        offers.push(n);
    }
    assert_eq!(offers, [1024, 1024, 2048]);
    let never = |_: &mut [u8]| -> usize { panic!("a full buffer offers no space") };
    assert_eq!(p.a.send_with(c, never), Err(Error::WouldBlock));
    let mut seen = Vec::new();
    p.drive_until(100, |p| {
        seen.extend(events(&mut p.a));
        seen.contains(&Event::Writable(c))
    });
    let more = p.a.send_with(c, |space| {
        space[..3].copy_from_slice(b"abc");
        3
    });
    assert_eq!(more, Ok(3));
    p.drive_until(200, |p| p.b.info(s).unwrap().recv_queue == 4099);
    assert_eq!(recv_all(&mut p.b, s), [&[b'x'; 4096][..], b"abc"].concat());
    p.a.shutdown(c).unwrap();
    let refused = p.a.send_with(c, |_| 1);
    assert_eq!(refused, p.a.send(c, b"late"));
    assert!(matches!(refused, Err(Error::Usage(UsageError::InvalidState(_)))), "{refused:?}");
}
