//! Two stacks in one process, joined by a list of datagrams, moving 8 MiB from a
//! client to a server whose application lends its buffer to
//! `Stack::handle_packet_into`: the data is copied once, from each datagram straight
//! into that buffer, instead of into the receive buffer and out again by `recv`.
//!
//! ```sh
//! cargo run --release -p synack --example direct_receive
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use synack::{Config, Error, Instant, RecvInto, Stack, State};

const TOTAL: usize = 8 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client_ip = "192.0.2.1".parse()?;
    let server_ip = "192.0.2.2".parse()?;
    let server: SocketAddr = "192.0.2.2:80".parse()?;
    let mut a = Stack::new(Config { addresses: vec![client_ip], ..Config::default() });
    let mut b = Stack::new(Config { addresses: vec![server_ip], ..Config::default() });
    let listener = b.listen(server, 1)?;
    // Datagrams in flight towards b (index 1) and towards a (index 0). The clock
    // stands still: nothing here waits for a timer.
    let mut wire: [VecDeque<Vec<u8>>; 2] = [VecDeque::new(), VecDeque::new()];
    let now = Instant::ZERO;
    let mut frame = vec![0u8; 1500];

    let c = a.connect(now, server)?;
    let mut s = None;
    let data: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
    let (mut sent, mut received) = (0, Vec::with_capacity(TOTAL));
    let (mut direct, mut copied) = (0usize, 0usize);
    let mut space = vec![0u8; 256 * 1024];
    let mut buf = vec![0u8; 64 * 1024];

    while received.len() < TOTAL {
        // The client writes what fits and sends what it may.
        if a.state(c) == State::Established && sent < TOTAL {
            match a.send(c, &data[sent..]) {
                Ok(n) => sent += n,
                Err(Error::WouldBlock) => {}
                Err(e) => return Err(e.into()),
            }
        }
        while let Some(tx) = a.poll_transmit(now, &mut frame) {
            wire[1].push_back(frame[..tx.len].to_vec());
        }
        // The server takes in everything, its application's buffer lent once the
        // connection is accepted.
        s = s.or_else(|| b.accept(listener));
        match s {
            Some(conn) => {
                let mut into = RecvInto::new(conn, &mut space);
                for d in wire[1].drain(..) {
                    b.handle_packet_into(now, &d, &mut into);
                }
                direct += into.filled();
                received.extend_from_slice(into.data());
                // Then whatever took the ordinary way.
                while let Ok(n @ 1..) = b.recv(conn, &mut buf) {
                    copied += n;
                    received.extend_from_slice(&buf[..n]);
                }
            }
            None => {
                for d in wire[1].drain(..) {
                    b.handle_packet(now, &d);
                }
            }
        }
        while let Some(tx) = b.poll_transmit(now, &mut frame) {
            wire[0].push_back(frame[..tx.len].to_vec());
        }
        for d in wire[0].drain(..) {
            a.handle_packet(now, &d);
        }
        while a.poll_event().is_some() || b.poll_event().is_some() {}
    }
    if received != data {
        return Err("the stream arrived damaged".into());
    }
    println!(
        "{} bytes delivered: {direct} straight into the application's buffer, {copied} through recv",
        received.len()
    );
    Ok(())
}
