//! `memcpy_limit`: the physical ceiling `bulk_*` is measured against. The same bytes a
//! bulk run moves, in segment-sized pieces (1460 bytes, the MSS of `bulk_1500`), copied
//! with plain `copy_from_slice` twice (application buffer to a 256 KiB "wire" ring, ring
//! to the receiving application's buffer) plus one Internet-checksum pass over each
//! piece (synack's own `checksum_partial`). No stack does less work than this.

use crate::bulk::{Params, Pattern};
use crate::stopwatch::Stopwatch;
use std::hint::black_box;
use synack::wire::checksum_partial;

const PIECE: usize = 1460;
const RING: usize = 256 * 1024;
const APP: usize = 64 * 1024;

/// Gbit/s moved through two copies and a checksum, stopping at `p.total` bytes or
/// `p.limit`.
pub(crate) fn run(p: &Params, pat: &Pattern) -> f64 {
    let mut ring = vec![0u8; RING];
    let mut app = vec![0u8; APP];
    let mut moved = 0u64;
    let mut sum = 0u32;
    let (mut r, mut w) = (0usize, 0usize);
    let start = Stopwatch::start();
    while moved < p.total && start.wall() < p.limit {
        // One application-sized chunk at a time, as the bulk runs read and write.
        let mut left = APP.min((p.total - moved) as usize);
        while left > 0 {
            let n = left.min(PIECE);
            if r + n > RING {
                r = 0;
            }
            if w + n > APP {
                w = 0;
            }
            ring[r..r + n].copy_from_slice(pat.at(moved, n));
            sum = checksum_partial(black_box(&ring[r..r + n]), sum);
            app[w..w + n].copy_from_slice(&ring[r..r + n]);
            black_box(&mut app);
            r += n;
            w += n;
            moved += n as u64;
            left -= n;
        }
    }
    black_box(sum);
    moved as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9
}
