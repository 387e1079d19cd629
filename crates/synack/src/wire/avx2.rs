//! The copy-and-checksum loop, and the checksum loop without the copy, with AVX2,
//! chosen at run time on x86-64 processors that have it (virtually every x86-64 server
//! and desktop since 2013–2015).
//!
//! Why it exists (speed): the portable loop in `checksum` is compiled for the x86-64
//! baseline (SSE2, 16-byte registers) and needs about 34 instructions per 64-byte block;
//! it is limited by its 16-byte stores. This loop moves 32 bytes per load and store
//! and sums with three instructions per 32 bytes: 13 instructions per 64-byte block.
//! Measured on the bench machine for a 1,460-byte segment in cache: 1.7 to 1.8 times
//! as fast as the portable loop. The loop without the copy ([`sum_blocks`]) serves the
//! payload sums that copy nothing (`checksum::sum_be_long`): the public
//! `checksum_partial` and `parse_tcp`, and the stack's unstaged segments.
//!
//! The crate forbids `unsafe`; the `pulp` crate provides the run-time feature check
//! and safe wrappers of the intrinsics (a `V3` value proves that the processor has
//! AVX2, so calling them is sound).
//!
//! # The sum
//!
//! RFC 1071 2(B)/(C): the one's-complement sum may be taken over native-endian 16-bit
//! words and in any grouping, as long as the carries are kept. `vpmaddwd` multiplies
//! *signed* 16-bit words pairwise and adds each pair into a 32-bit lane; with a
//! multiplier of 1 it adds adjacent words. To make the words unsigned, each is first
//! XORed with 0x8000, which maps `u` to the signed value `u - 32768`; the 32,768 taken
//! from each word is added back at the end, so the result is the exact sum of the
//! words, not just a congruent one. A lane gains at most 65,536 in magnitude per
//! block, so it cannot overflow within [`BLOCKS_PER_ROUND`] blocks; longer inputs are
//! summed in rounds.

use pulp::x86::V3;
use std::arch::x86_64::__m256i;
use std::sync::OnceLock;

/// 64-byte blocks summed before the 32-bit lanes are emptied into the 64-bit total:
/// each lane changes by at most 65,536 per block, so 16,384 blocks (1 MiB) stay far
/// below 2^31.
const BLOCKS_PER_ROUND: usize = 16_384;

/// The processor's AVX2 capability, checked once per process (a CPUID result, not
/// I/O: it never changes while the process runs).
pub(super) fn detected() -> Option<V3> {
    static V3_CAP: OnceLock<Option<V3>> = OnceLock::new();
    *V3_CAP.get_or_init(V3::try_new)
}

/// Copy the whole 64-byte blocks of `src` into `dst` (which must be as long) and
/// return the exact sum of the copied bytes taken as native-endian 16-bit words, and
/// the number of bytes copied: a multiple of 64 (the caller copies the rest), or all
/// of them when the length is even and at least 64 (see [`tail_block`]).
///
/// With `head` (even, below 32, and at least 64 bytes left after it), the first
/// `head` bytes go first, as one load, one store and a masked sum
/// ([`head_block`]), and the blocks start after them: the caller picks the head that
/// brings `dst` to an aligned address, so that the blocks' stores never straddle two
/// cache lines. The count returned then includes the head.
pub(super) fn copy_sum_blocks(simd: V3, dst: &mut [u8], src: &[u8], head: usize) -> (u64, usize) {
    simd.vectorize(Blocks { simd, dst, src, head })
}

/// [`copy_sum_blocks`] as the closure `V3::vectorize` compiles with AVX2 enabled.
struct Blocks<'a> {
    simd: V3,
    dst: &'a mut [u8],
    src: &'a [u8],
    head: usize,
}

impl pulp::NullaryFnOnce for Blocks<'_> {
    type Output = (u64, usize);

    #[inline(always)]
    fn call(self) -> (u64, usize) {
        let Blocks { simd, dst, src, head } = self;
        let n = src.len().min(dst.len());
        let head_sum = if head % 2 == 0 && head < 32 && n >= head + 64 {
            head_block(simd, dst, src, head)
        } else {
            None
        };
        let (head_sum, start) = head_sum.map_or((0, 0), |sum| (sum, head));
        let (sum, done) = self::blocks(simd, &mut dst[start..n], &src[start..n]);
        (sum + head_sum, done + start)
    }
}

/// Copy the first 32 bytes of `src` into `dst` and return the exact sum of the first
/// `head` of them taken as native-endian 16-bit words (`src` holds at least 64 bytes,
/// `dst` at least 32). The bytes after the head are copied too, with the values the
/// block loop then writes again.
#[inline(always)]
fn head_block(simd: V3, dst: &mut [u8], src: &[u8], head: usize) -> Option<u64> {
    let halves: [__m256i; 2] = pulp::cast(*src.first_chunk::<64>()?);
    *dst.first_chunk_mut::<32>()? = pulp::cast(halves[0]);
    let mask = HEAD_MASK.get(32 - head.min(32)..)?;
    Some(corrected(masked_total(simd, halves, mask), 1))
}

/// The block loop of [`copy_sum_blocks`] over `src` and `dst` (as long as each
/// other).
#[inline(always)]
fn blocks(simd: V3, dst: &mut [u8], src: &[u8]) -> (u64, usize) {
    let n = src.len().min(dst.len());
    let (src_blocks, _) = pulp::as_arrays::<64, u8>(&src[..n]);
    let (dst_blocks, _) = pulp::as_arrays_mut::<64, u8>(&mut dst[..n]);
    let blocks = src_blocks.len();
    let mut total: i64 = 0;
    for (d, s) in dst_blocks[..blocks].chunks_mut(BLOCKS_PER_ROUND).zip(src_blocks.chunks(BLOCKS_PER_ROUND)) {
        // Two accumulators: the two halves of a block do not wait for each other.
        let mut acc: [__m256i; 2] = pulp::cast([0u32; 16]);
        for (db, sb) in d.iter_mut().zip(s) {
            let halves: [__m256i; 2] = pulp::cast(*sb);
            *db = pulp::cast(halves);
            add_block(simd, &mut acc, halves);
        }
        total += lane_total(acc);
    }
    // The last 64 bytes, when the tail goes as one more block: the tail and, before
    // it, bytes of the last whole block, copied again (the same values).
    let last = tail_len(n).and_then(|_| {
        let s = src[n - 64..n].first_chunk::<64>()?;
        let d = dst[n - 64..n].first_chunk_mut::<64>()?;
        let halves: [__m256i; 2] = pulp::cast(*s);
        *d = pulp::cast(halves);
        Some(halves)
    });
    finish(simd, total, blocks, n, last)
}

/// The result of the loops for an `n`-byte slice whose `blocks` whole blocks gave the
/// flipped-word `total`: with the tail taken as one more block when [`tail_len`] says so
/// (`last`, the slice's last 64 bytes), or left to the caller.
#[inline(always)]
fn finish(simd: V3, total: i64, blocks: usize, n: usize, last: Option<[__m256i; 2]>) -> (u64, usize) {
    match (tail_len(n), last) {
        (Some(r), Some(halves)) => (corrected(total + tail_block(simd, halves, r), blocks + 1), n),
        _ => (corrected(total, blocks), blocks * 64),
    }
}

/// The length of the tail after the whole blocks of an `n`-byte slice, when the loops
/// take it as one more block (see [`tail_block`]): `n` even, at least 64, and not a
/// multiple of 64.
#[inline(always)]
fn tail_len(n: usize) -> Option<usize> {
    let r = n % 64;
    (n >= 64 && r != 0 && n % 2 == 0).then_some(r)
}

/// `N` bytes, 0xFF from `lo` up to `hi` and zero elsewhere: the masks a block is
/// cut with.
const fn band<const N: usize>(lo: usize, hi: usize) -> [u8; N] {
    let mut m = [0u8; N];
    let mut i = lo;
    while i < hi {
        m[i] = 0xFF;
        i += 1;
    }
    m
}

/// `TAIL_MASK[r..r + 64]` keeps the last `r` bytes of a block and zeroes the others.
static TAIL_MASK: [u8; 128] = band(64, 128);

/// `HEAD_MASK[32 - h..96 - h]` keeps the first `h` bytes of a block (`h` at most 32)
/// and zeroes the others.
static HEAD_MASK: [u8; 96] = band(0, 32);

/// The flipped-word total (see [`corrected`]; it counts as one block) of the last `r`
/// bytes of `halves`, the last 64 bytes of a slice; the bytes before them, already
/// summed as part of the last whole block, are zeroed first.
///
/// Speed: the tail of a 1,460-byte segment (52 bytes) otherwise took a call of
/// `memcpy` and the portable sum, about 80 instructions, where this is about 15. The
/// block starts `n - 64` bytes into the slice, an even offset only for an even `n`, so
/// only then do its 16-bit words line up with the slice's; an odd length goes the old
/// way.
#[inline(always)]
fn tail_block(simd: V3, halves: [__m256i; 2], r: usize) -> i64 {
    masked_total(simd, halves, TAIL_MASK.get(r..).unwrap_or_default())
}

/// The flipped-word total (see [`corrected`]; it counts as one block) of the bytes of
/// `halves` that the first 64 bytes of `mask` keep (a short mask keeps none).
#[inline(always)]
fn masked_total(simd: V3, halves: [__m256i; 2], mask: &[u8]) -> i64 {
    let avx2 = simd.avx2;
    let mask: [__m256i; 2] = pulp::cast(mask.first_chunk::<64>().copied().unwrap_or([0; 64]));
    let kept = [avx2._mm256_and_si256(halves[0], mask[0]), avx2._mm256_and_si256(halves[1], mask[1])];
    let mut acc: [__m256i; 2] = pulp::cast([0u32; 16]);
    add_block(simd, &mut acc, kept);
    lane_total(acc)
}

/// Sum the whole 64-byte blocks of `data` (no copy): the exact sum of their bytes taken
/// as native-endian 16-bit words, and the number of bytes summed: a multiple of 64 (the
/// caller sums the rest), or all of them when the length is even and at least 64 (see
/// [`tail_block`]).
pub(super) fn sum_blocks(simd: V3, data: &[u8]) -> (u64, usize) {
    simd.vectorize(SumBlocks { simd, data })
}

/// [`sum_blocks`] as the closure `V3::vectorize` compiles with AVX2 enabled.
struct SumBlocks<'a> {
    simd: V3,
    data: &'a [u8],
}

impl pulp::NullaryFnOnce for SumBlocks<'_> {
    type Output = (u64, usize);

    #[inline(always)]
    fn call(self) -> (u64, usize) {
        let SumBlocks { simd, data } = self;
        let (blocks, _) = pulp::as_arrays::<64, u8>(data);
        let mut total: i64 = 0;
        for round in blocks.chunks(BLOCKS_PER_ROUND) {
            let mut acc: [__m256i; 2] = pulp::cast([0u32; 16]);
            for b in round {
                add_block(simd, &mut acc, pulp::cast(*b));
            }
            total += lane_total(acc);
        }
        let n = data.len();
        let last = tail_len(n).and_then(|_| data[n - 64..].first_chunk::<64>()).map(|b| pulp::cast(*b));
        finish(simd, total, blocks.len(), n, last)
    }
}

/// Add the two 32-byte halves of a block to the two accumulators (see the module
/// documentation for the sign flip).
#[inline(always)]
fn add_block(simd: V3, acc: &mut [__m256i; 2], halves: [__m256i; 2]) {
    let avx2 = simd.avx2;
    let flip: __m256i = pulp::cast([0x8000u16; 16]);
    let ones: __m256i = pulp::cast([1u16; 16]);
    for (a, h) in acc.iter_mut().zip(halves) {
        let words = avx2._mm256_madd_epi16(avx2._mm256_xor_si256(h, flip), ones);
        *a = avx2._mm256_add_epi32(*a, words);
    }
}

/// The sum of the sixteen 32-bit lanes of a round.
#[inline(always)]
fn lane_total(acc: [__m256i; 2]) -> i64 {
    let lanes: [i32; 16] = pulp::cast(acc);
    lanes.iter().map(|&l| i64::from(l)).sum()
}

/// The exact word sum of `blocks` blocks from the total of their flipped words: give
/// back the 32,768 taken from each of the 32 words of every block.
#[inline(always)]
fn corrected(total: i64, blocks: usize) -> u64 {
    (total + (blocks as i64) * 32 * 32_768) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact sum of native-endian 16-bit words (the length is even here).
    fn word_sum(data: &[u8]) -> u64 {
        data.chunks_exact(2).map(|w| u64::from(u16::from_ne_bytes([w[0], w[1]]))).sum()
    }

    /// The bytes the loops take: every byte of an even length from 64 on (the tail as a
    /// masked block), the whole blocks otherwise.
    fn covered(len: usize) -> usize {
        if len >= 64 && len % 2 == 0 {
            len
        } else {
            len / 64 * 64
        }
    }

    #[test]
    fn tails_of_every_length_are_copied_and_summed_exactly() {
        let Some(simd) = simd_or_skip("tails_of_every_length_are_copied_and_summed_exactly") else {
            return;
        };
        let data: Vec<u8> = (0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1).collect();
        for start in [0, 1, 6] {
            for len in 60..=260 {
                let src = &data[start..start + len];
                let mut out = vec![0u8; len + 2];
                let (sum, done) = copy_sum_blocks(simd, &mut out[1..=len], src, 0);
                assert_eq!(done, covered(len), "start {start} len {len}");
                assert_eq!(sum, word_sum(&src[..done]), "start {start} len {len}");
                assert_eq!(&out[1..=done], &src[..done], "start {start} len {len}");
                assert!(out[1 + done..].iter().chain(&out[..1]).all(|&b| b == 0), "start {start} len {len}");
                assert_eq!(sum_blocks(simd, src), (sum, done), "start {start} len {len}");
            }
        }
    }

    /// The AVX2 capability, or `None` after saying why the test cannot run.
    fn simd_or_skip(test: &str) -> Option<V3> {
        let simd = detected();
        if simd.is_none() {
            eprintln!(
                "{test}: skipped, this processor has no AVX2 (the portable loop is tested in `checksum`)"
            );
        }
        simd
    }

    #[test]
    fn blocks_are_copied_and_summed_exactly_at_any_alignment() {
        let Some(simd) = simd_or_skip("blocks_are_copied_and_summed_exactly_at_any_alignment") else {
            return;
        };
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for start in [0, 1, 7, 16, 33] {
            for len in [0, 63, 64, 65, 127, 128, 1460, 1500, 4096, 65_535] {
                let src = &data[start..start + len];
                let mut out = vec![0x5Au8; len + 3];
                let (sum, done) = copy_sum_blocks(simd, &mut out[1..=len], src, 0);
                assert_eq!(done, covered(len), "start {start} len {len}");
                assert_eq!(sum, word_sum(&src[..done]), "start {start} len {len}");
                assert_eq!(&out[1..=done], &src[..done]);
                // Nothing past the blocks, and nothing outside `dst`, is written.
                assert!(out[1 + done..].iter().chain(&out[..1]).all(|&b| b == 0x5A));
            }
        }
    }

    #[test]
    fn blocks_are_summed_exactly_without_a_copy() {
        let Some(simd) = simd_or_skip("blocks_are_summed_exactly_without_a_copy") else { return };
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for start in [0, 1, 7, 33] {
            for len in [0, 63, 64, 65, 1460, 65_535] {
                let piece = &data[start..start + len];
                let (sum, done) = sum_blocks(simd, piece);
                assert_eq!(done, covered(len), "start {start} len {len}");
                assert_eq!(sum, word_sum(&piece[..done]), "start {start} len {len}");
            }
        }
    }

    #[test]
    fn lanes_do_not_overflow_on_long_extreme_inputs() {
        let Some(simd) = simd_or_skip("lanes_do_not_overflow_on_long_extreme_inputs") else { return };
        // 0xFFFF words are the largest signed values after the flip and 0x0000 the most
        // negative; 3 MiB spans several rounds of `BLOCKS_PER_ROUND` blocks.
        let len = 3 << 20;
        for fill in [0x00u8, 0xFF, 0x80, 0x7F] {
            let src = vec![fill; len];
            let mut out = vec![0u8; len];
            let (sum, done) = copy_sum_blocks(simd, &mut out, &src, 0);
            assert_eq!(done, len);
            assert_eq!(sum, word_sum(&src), "fill {fill:#x}");
            assert_eq!(out, src);
            assert_eq!(sum_blocks(simd, &src), (sum, len), "fill {fill:#x}");
        }
    }
}
