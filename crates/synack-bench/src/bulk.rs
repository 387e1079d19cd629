//! `bulk_1500` and `bulk_65535`: one connection, client to server, as fast as the CPU
//! allows; Gbit/s of application data delivered.
//!
//! Each round: the sender takes in the ACKs waiting for it, its application copies as
//! much as fits into the send buffer, the sender emits everything it may; the receiver
//! takes in every datagram, its application copies everything out, the receiver emits
//! its ACKs. Both stacks get exactly the same rounds. The receiving application checks
//! the data it gets against the pattern sent (a sample of each read, or every byte with
//! `verify_all`).
//!
//! How the applications copy ([`Api`]): through their own buffers with each stack's
//! ordinary calls; or, for the receiving application of synack, with its buffer lent
//! to `Stack::handle_packet_into` for the round, so that the data is copied once, from
//! the datagram into it (smoltcp has no such call and copies out of its receive buffer
//! as before); or in place, in the stacks' own buffers.

use crate::stopwatch::Stopwatch;
use crate::{smol, sy};
use std::time::Duration;
use synack::{Error, RecvInto};

/// Send and receive buffers of both stacks (the 256 KiB).
pub(crate) const BUFFER: usize = 256 * 1024;
/// The application's write size.
const CHUNK: usize = 64 * 1024;
/// The receiving application's buffer: one receive buffer's worth, so that a round's
/// data fits in one read on both stacks.
const READ: usize = BUFFER;
/// Length of the data pattern; odd, so a misplaced segment cannot look right.
const PATTERN: usize = (1 << 20) + 7;

/// What one bulk run does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Params {
    /// Link MTU on both stacks.
    pub(crate) mtu: usize,
    /// Bytes to move (the run also stops at `limit`).
    pub(crate) total: u64,
    /// Wall-clock limit.
    pub(crate) limit: Duration,
    /// Compare every received byte instead of a sample of each read.
    pub(crate) verify_all: bool,
    /// How the applications move the data.
    pub(crate) api: Api,
}

/// How the applications copy data in and out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Api {
    /// Through their own buffers: `send` and `recv` (smoltcp: `send_slice`,
    /// `recv_slice`), as the issue's `bulk_*` workloads require.
    Copy,
    /// As [`Api::Copy`], but synack's receiving application lends its buffer to
    /// `Stack::handle_packet_into` while the round's datagrams come in, and reads
    /// with `recv` only what did not go there. smoltcp's application copies as in
    /// [`Api::Copy`] (it has no such call).
    Direct,
    /// In place: the applications write into the send buffer and read from the receive
    /// buffer where the bytes lie (synack's `send_with`/`recv_with`, smoltcp's closure
    /// `send`/`recv`), so the receiving application copies nothing out.
    InPlace,
}

/// The bytes the sending application writes: stream offset `i` carries `pattern[i %
/// PATTERN]`. Stored twice over so that any chunk is one contiguous slice.
pub(crate) struct Pattern {
    data: Vec<u8>,
}

impl Pattern {
    /// The pattern (a xorshift sequence).
    pub(crate) fn new() -> Self {
        let mut x: u32 = 0x9e37_79b9;
        let mut data: Vec<u8> = (0..PATTERN)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 7) as u8
            })
            .collect();
        data.extend_from_within(..CHUNK);
        Pattern { data }
    }

    /// `len` (at most [`CHUNK`]) bytes of the stream from offset `off`.
    pub(crate) fn at(&self, off: u64, len: usize) -> &[u8] {
        let start = (off % PATTERN as u64) as usize;
        &self.data[start..start + len.min(CHUNK)]
    }

    /// Check bytes received at stream offset `off` (any length).
    fn check(&self, off: u64, got: &[u8], all: bool) {
        let ok = if all {
            // Reads in place can be longer than `at` gives at once.
            got.chunks(CHUNK).enumerate().all(|(i, c)| c == self.at(off + (i * CHUNK) as u64, c.len()))
        } else {
            let n = got.len().min(16);
            let tail = got.len() - n;
            got[..n] == self.at(off, n)[..] && got[tail..] == self.at(off + tail as u64, n)[..]
        };
        assert!(ok, "bulk: corrupted data at stream offset {off}");
    }
}

/// Throughput in Gbit/s.
fn gbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 * 8.0 / elapsed.as_secs_f64() / 1e9
}

/// One bulk run on synack; Gbit/s.
pub(crate) fn run_synack(p: &Params, pat: &Pattern) -> f64 {
    let mut pair = sy::Pair::new(p.mtu, BUFFER);
    let (c, s) = pair.establish_bulk("bulk connection");
    let mut rbuf = vec![0u8; READ];
    let (mut spares_a, mut spares_b) = (sy::Spares::new(&pair.link), sy::Spares::new(&pair.link));
    let (mut sent, mut recvd) = (0u64, 0u64);
    let start = Stopwatch::start();
    while recvd < p.total && start.wall() < p.limit {
        let now = pair.now();
        let sy::Pair { a, b, link, .. } = &mut pair;
        sy::service(a, now);
        sy::service(b, now);
        let mut moved = sy::ingress(a, link, 0, now);
        while sent < p.total {
            let n = (p.total - sent).min(CHUNK as u64) as usize;
            let res = if p.api == Api::InPlace {
                a.send_with(c, |space| {
                    let k = space.len().min(n);
                    space[..k].copy_from_slice(pat.at(sent, k));
                    k
                })
            } else {
                a.send(c, pat.at(sent, n))
            };
            match res {
                Ok(k) => {
                    sent += k as u64;
                    moved += 1;
                }
                Err(Error::WouldBlock) => break,
                Err(e) => panic!("synack send: {e}"),
            }
        }
        moved += sy::egress_many(a, link, 1, now, &mut spares_a);
        if p.api == Api::Direct {
            let mut into = RecvInto::new(s, &mut rbuf);
            moved += sy::ingress_into(b, link, 1, now, &mut into);
            if into.filled() > 0 {
                pat.check(recvd, into.data(), p.verify_all);
                recvd += into.filled() as u64;
            }
        } else {
            moved += sy::ingress(b, link, 1, now);
        }
        loop {
            let res = if p.api == Api::InPlace {
                b.recv_with(s, |data| {
                    pat.check(recvd, data, p.verify_all);
                    data.len()
                })
            } else {
                b.recv(s, &mut rbuf).inspect(|&k| pat.check(recvd, &rbuf[..k], p.verify_all))
            };
            match res {
                Ok(0) | Err(Error::WouldBlock) => break,
                Ok(k) => {
                    recvd += k as u64;
                    moved += 1;
                }
                Err(e) => panic!("synack recv: {e}"),
            }
        }
        moved += sy::egress_many(b, link, 0, now, &mut spares_b);
        if moved == 0 && !pair.advance_to_timer() {
            panic!("synack bulk stalled at {recvd} bytes");
        }
    }
    gbps(recvd, start.elapsed())
}

/// One bulk run on smoltcp; Gbit/s.
pub(crate) fn run_smoltcp(p: &Params, pat: &Pattern) -> f64 {
    let mut pair = smol::Pair::new(p.mtu);
    let (c, s) = pair.establish_bulk(BUFFER, "bulk connection");
    let mut rbuf = vec![0u8; READ];
    let (mut sent, mut recvd) = (0u64, 0u64);
    let start = Stopwatch::start();
    while recvd < p.total && start.wall() < p.limit {
        let now = pair.now();
        let smol::Pair { a, b, link, .. } = &mut pair;
        let mut moved = a.ingress(link, 0, now);
        let sock = a.tcp(c);
        while sent < p.total {
            let n = (p.total - sent).min(CHUNK as u64) as usize;
            let res = if p.api == Api::InPlace {
                sock.send(|space| {
                    let k = space.len().min(n);
                    space[..k].copy_from_slice(pat.at(sent, k));
                    (k, k)
                })
            } else {
                sock.send_slice(pat.at(sent, n))
            };
            match res {
                Ok(0) => break,
                Ok(k) => {
                    sent += k as u64;
                    moved += 1;
                }
                Err(e) => panic!("smoltcp send: {e}"),
            }
        }
        moved += a.egress(link, 0, now);
        moved += b.ingress(link, 1, now);
        let sock = b.tcp(s);
        loop {
            let res = if p.api == Api::InPlace {
                sock.recv(|data| {
                    pat.check(recvd, data, p.verify_all);
                    (data.len(), data.len())
                })
            } else {
                sock.recv_slice(&mut rbuf).inspect(|&k| pat.check(recvd, &rbuf[..k], p.verify_all))
            };
            match res {
                Ok(0) => break,
                Ok(k) => {
                    recvd += k as u64;
                    moved += 1;
                }
                Err(e) => panic!("smoltcp recv: {e}"),
            }
        }
        moved += b.egress(link, 1, now);
        if moved == 0 && !pair.advance_to_timer() {
            panic!("smoltcp bulk stalled at {recvd} bytes");
        }
    }
    gbps(recvd, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(mtu: usize, api: Api) -> Params {
        Params { mtu, total: 3 << 20, limit: Duration::from_secs(60), verify_all: true, api }
    }

    #[test]
    fn both_stacks_deliver_every_byte_with_every_api() {
        let pat = Pattern::new();
        for api in [Api::Copy, Api::Direct, Api::InPlace] {
            for mtu in [1500, 65535] {
                let p = small(mtu, api);
                for (stack, gbps) in [("synack", run_synack(&p, &pat)), ("smoltcp", run_smoltcp(&p, &pat))] {
                    assert!(gbps.is_finite() && gbps > 0.0, "{stack} mtu {mtu} {api:?}: {gbps}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "corrupted data at stream offset 1000")]
    fn the_receivers_check_fails_on_bytes_from_the_wrong_offset() {
        let pat = Pattern::new();
        let shifted = pat.at(1001, 100).to_vec();
        pat.check(1000, &shifted, true);
    }

    #[test]
    fn the_full_check_covers_reads_longer_than_a_chunk() {
        let pat = Pattern::new();
        let long: Vec<u8> = (0..3 * CHUNK as u64 + 5).map(|i| pat.at(777 + i, 1)[0]).collect();
        pat.check(777, &long, true);
        let mut bad = long.clone();
        bad[2 * CHUNK + 3] ^= 0x10;
        let caught = std::panic::catch_unwind(|| pat.check(777, &bad, true));
        assert!(caught.is_err(), "a wrong byte in the third chunk of a read must fail the check");
    }

    #[test]
    #[should_panic(expected = "corrupted data")]
    fn the_sampled_check_sees_a_wrong_last_byte() {
        let pat = Pattern::new();
        let mut got = pat.at(0, 5000).to_vec();
        got[4999] ^= 1;
        pat.check(0, &got, false);
    }
}
