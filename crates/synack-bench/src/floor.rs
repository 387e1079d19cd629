//! `copy_floor`: what the bytes alone cost each stack's design in `bulk_1500`, with no
//! per-segment work at all: the floor under which no amount of optimising the rest can
//! take a bulk run.
//!
//! Both designs move the same bytes in the same rounds as a bulk run: the sending
//! application writes 64 KiB chunks into a 256 KiB send buffer, the sender puts each
//! 1460-byte segment into its own 1500-byte frame, the receiver verifies each
//! segment's checksum and the bytes end in the receiving application's 256 KiB buffer.
//! They differ in how a segment's bytes are moved and summed:
//! - smoltcp's design: a plain copy into the frame and a checksum pass over it; a
//!   checksum pass over the frame, a plain copy into the receive buffer, and the
//!   application's copy out of it (four copies and two checksum passes per segment,
//!   counting the applications' copies);
//! - synack's design in `bulk_1500`: the copy into the frame sums the bytes as it goes
//!   (`copy_with_checksum`), and so does the copy from the frame straight into the
//!   application's buffer (`Stack::handle_packet_into`): three copies, no separate
//!   checksum pass.
//!
//! The ratio of the two floors is the most a stack with synack's copies can gain over
//! one with smoltcp's on the bytes alone.

use crate::bulk::{Params, Pattern, BUFFER};
use crate::stopwatch::Stopwatch;
use std::hint::black_box;
use synack::wire::{checksum_partial, copy_with_checksum};

/// Payload per segment (the MSS of `bulk_1500`).
const SEG: usize = 1460;
/// Frame size (the MTU of `bulk_1500`); the payload sits after 40 bytes of headers.
const FRAME: usize = 1500;
const HEADERS: usize = FRAME - SEG;
/// The sending application's write size (as in `bulk`), and the read size of the
/// copy-then-sum design's application.
const CHUNK: usize = 64 * 1024;

/// A page of memory (the distance that matters for load/store aliasing, below).
const PAGE: usize = 4096;

/// The offset into `store` (at least a page longer than needed) at which a buffer
/// starts half a page away, modulo a page, from the start of `other`.
///
/// Why: a copy between two buffers whose addresses are equal modulo 4 KiB makes every
/// load look like it depends on the store just before it ("4K aliasing"), and runs at
/// a fraction of its speed. Where the allocator put the buffers decided that: in some
/// full runs copy_floor's smoltcp column read 10 to 16 Gbit/s instead of about 50 (its
/// receive buffer and its application's buffer 16 bytes apart modulo 4 KiB, after
/// `mem_time_wait` or `memcpy_limit` had freed memory just so).
fn half_a_page_from(store: &[u8], other: &[u8]) -> usize {
    let want = (other.as_ptr() as usize + PAGE / 2) % PAGE;
    (want + PAGE - store.as_ptr() as usize % PAGE) % PAGE
}

/// How a segment's bytes are moved and summed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Design {
    /// Plain copies and separate checksum passes (smoltcp).
    CopyThenSum,
    /// Copies that sum as they go, the receiver's straight into the application's
    /// buffer (synack).
    FusedCopySum,
    /// [`Design::FusedCopySum`] with one byte of every frame flipped after it was
    /// summed: what the receiver's check must catch.
    #[cfg(test)]
    CorruptFrames,
}

/// Gbit/s of application data through `design`'s copies, stopping at `p.total` bytes
/// or `p.limit`.
pub(crate) fn run(design: Design, p: &Params, pat: &Pattern) -> f64 {
    let segs = BUFFER.div_ceil(SEG);
    let mut tx = vec![0u8; BUFFER];
    let mut rx = vec![0u8; BUFFER];
    // The copy-then-sum design's application buffer, half a page away from the receive
    // buffer it reads (see [`half_a_page_from`]).
    let mut app_store = vec![0u8; CHUNK + PAGE];
    let at = half_a_page_from(&app_store, &rx);
    let app = &mut app_store[at..at + CHUNK];
    // synack's receiving application: one buffer for the round's data.
    let mut direct = vec![0u8; BUFFER];
    let mut frames: Vec<Box<[u8]>> = (0..segs).map(|_| vec![0u8; FRAME].into_boxed_slice()).collect();
    let mut sums = vec![0u32; segs];
    let mut moved = 0u64;
    let start = Stopwatch::start();
    while moved < p.total && start.wall() < p.limit {
        // A round: one full window, as a bulk round moves once the pair is streaming.
        for (k, c) in tx.chunks_mut(CHUNK).enumerate() {
            c.copy_from_slice(pat.at(moved + (k * CHUNK) as u64, c.len()));
        }
        for ((frame, seg), sum) in frames.iter_mut().zip(tx.chunks(SEG)).zip(sums.iter_mut()) {
            let payload = &mut frame[HEADERS..HEADERS + seg.len()];
            *sum = match design {
                Design::CopyThenSum => {
                    payload.copy_from_slice(seg);
                    checksum_partial(payload, 0)
                }
                Design::FusedCopySum => copy_with_checksum(payload, seg, 0),
                #[cfg(test)]
                Design::CorruptFrames => {
                    let sum = copy_with_checksum(payload, seg, 0);
                    payload[0] ^= 0x40;
                    sum
                }
            };
        }
        // Where the receiver puts each segment: its receive buffer (smoltcp), or the
        // application's buffer itself (synack).
        let into = if design == Design::CopyThenSum { &mut rx } else { &mut direct };
        for ((frame, seg), sum) in frames.iter().zip(into.chunks_mut(SEG)).zip(&sums) {
            let payload = &frame[HEADERS..HEADERS + seg.len()];
            let got = match design {
                Design::CopyThenSum => {
                    let got = checksum_partial(payload, 0);
                    seg.copy_from_slice(payload);
                    got
                }
                _ => copy_with_checksum(seg, payload, 0),
            };
            // Verified, as a receiver must: a wrong sum would be a broken copy here.
            assert_eq!(got, *sum, "copy_floor: checksum mismatch");
        }
        if design == Design::CopyThenSum {
            // The application's reads out of the receive buffer. (In 64 KiB pieces
            // into a buffer of its own, as this workload always did: one 256 KiB
            // copy between two 256 KiB allocations, which this allocator places at
            // the same offset within a page, ran at a third of the speed.)
            for c in rx.chunks(CHUNK) {
                app[..c.len()].copy_from_slice(c);
                black_box(&mut *app);
            }
        }
        black_box(&mut direct);
        moved += BUFFER as u64;
    }
    moved as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9
}

#[cfg(test)]
mod tests {
    use super::{run, Design};
    use crate::bulk::{Params, Pattern};
    use std::time::Duration;

    fn small() -> Params {
        Params {
            mtu: 1500,
            total: 4 << 20,
            limit: Duration::from_secs(60),
            verify_all: false,
            api: crate::bulk::Api::Copy,
        }
    }

    #[test]
    fn both_designs_move_the_bytes_and_verify_them() {
        let pat = Pattern::new();
        for design in [Design::CopyThenSum, Design::FusedCopySum] {
            let gbps = run(design, &small(), &pat);
            assert!(gbps.is_finite() && gbps > 0.0, "{design:?}: {gbps}");
        }
    }

    #[test]
    fn the_application_buffer_starts_half_a_page_from_the_receive_buffer() {
        let other = vec![1u8; 3 * super::PAGE];
        for len in [10, 4096, 5000, 70_000] {
            for skew in [0, 1, 16, 2048, 4095] {
                let store = vec![0u8; len + super::PAGE];
                let other = &other[skew..];
                let at = super::half_a_page_from(&store, other);
                assert!(at < super::PAGE);
                let apart =
                    (store.as_ptr() as usize + at).wrapping_sub(other.as_ptr() as usize) % super::PAGE;
                assert_eq!(apart, super::PAGE / 2, "len {len} skew {skew}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "checksum mismatch")]
    fn a_corrupted_frame_fails_the_receivers_check() {
        run(Design::CorruptFrames, &small(), &Pattern::new());
    }
}
