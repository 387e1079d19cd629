//! The Internet checksum (RFC 1071) as used by IPv4 (RFC 791) and TCP (RFC 9293 3.1).
//!
//! The sum is the 16-bit one's-complement sum of the data taken as big-endian 16-bit
//! words. It is computed here 64 bits at a time with an end-around carry, which gives
//! the same result because 2^16 = 1 modulo 2^16 - 1 (RFC 1071 2(C), "parallel
//! summation"), and folded to 16 bits at the end of every call.
//!
//! # Summing in pieces
//!
//! [`checksum_partial`] returns a partial sum folded to 16 bits (a value `<= 0xFFFF`),
//! which can be fed back as `initial` for the next piece, or added to other partial sums
//! (a handful of such `u32`s can be added without overflow) before
//! [`checksum_finish`].
//!
//! Every piece is summed as if it started on an even offset, so **only the last piece
//! may have an odd length**. A piece that starts on an odd offset of the whole data has
//! its bytes in swapped positions inside the 16-bit words; by the byte-order
//! independence of the sum (RFC 1071 2(B)) its correct contribution is the byte-swapped
//! partial sum of the piece taken on its own. The crate-internal `copy_and_sum` does
//! exactly that, so [`super::emit`] accepts payload pieces of any length.

use std::net::IpAddr;

/// Fold a 64-bit accumulator of one's-complement sums to 16 bits (end-around carry).
///
/// Four fixed steps instead of a loop (speed: no branch). Each step keeps the value
/// modulo 2^16 - 1 and never turns a non-zero value into zero; the bounds after each
/// step are 2^33 - 2, 0x2FFFE, 0x10001 and 0xFFFF. So the result is 0 only for 0, and
/// otherwise the one value of 1..=0xFFFF congruent to `acc`.
#[inline]
pub(crate) fn fold64(acc: u64) -> u32 {
    let acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
    let acc = (acc & 0xFFFF) + (acc >> 16);
    let acc = (acc & 0xFFFF) + (acc >> 16);
    let acc = (acc & 0xFFFF) + (acc >> 16);
    // `acc <= 0xFFFF` here.
    acc as u32
}

/// One native-endian 32-bit word.
#[inline(always)]
fn ne_word(c: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(c);
    u64::from(u32::from_ne_bytes(w))
}

/// The sum of `data` taken as native-endian 32-bit words (an odd tail padded with zero
/// bytes on its right), not folded.
///
/// Fast path (speed): the bytes are summed in the machine's own byte order, 32-bit
/// words into 64-bit accumulators, so no word ever needs a byte swap and no add needs
/// the carry of the one before: the loop has no dependency chain and the compiler
/// vectorises it (eight independent lanes per 32-byte block). This is RFC 1071 2(B)
/// ("byte order independence": the sum of byte-swapped words is the byte-swapped sum)
/// and 2(C) ("parallel summation": 2^16 = 1 modulo 2^16 - 1, so 32-bit words summed
/// into a wider accumulator fold to the same 16-bit sum). Each lane gains less than
/// 2^32 per block, so 2^32 blocks (128 GiB) cannot overflow it: more than any slice
/// the stack sums. [`sum_be`] swaps the result once.
#[inline(always)]
fn sum_ne(data: &[u8]) -> u64 {
    let mut lanes = [0u64; 8];
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane += ne_word(&b[4 * i..4 * i + 4]);
        }
    }
    // Eight lanes below 2^61 each (see above): their sum cannot overflow either.
    let mut acc: u64 = lanes.iter().sum();
    let mut words = blocks.remainder().chunks_exact(4);
    for w in &mut words {
        acc += ne_word(w);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        // RFC 1071 4.1: an odd trailing byte is padded with a zero byte on its right;
        // padding the last word with zero bytes after the data keeps every byte in its
        // place within the 16-bit words (the tail starts at an even offset).
        let mut w = [0u8; 4];
        w[..rest.len()].copy_from_slice(rest);
        acc += u64::from(u32::from_ne_bytes(w));
    }
    acc
}

/// A native-endian sum from [`sum_ne`] as an (unfolded) sum in network byte order,
/// below 2^41.
///
/// Speed: no fold and no byte swap. Swapping the bytes of a folded 16-bit sum is a
/// rotation by 8 bits, which modulo 2^16 - 1 is a multiplication by 2^8 (as 2^16 = 1):
/// so on a little-endian machine the sum, first reduced below 2^33 (2^32 = 1 as well),
/// is shifted left by 8 instead. The value stays congruent to the big-endian sum and is
/// zero only if that is.
#[inline(always)]
fn ne_to_be(acc: u64) -> u64 {
    let acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
    if cfg!(target_endian = "little") {
        acc << 8
    } else {
        acc
    }
}

/// The one's-complement sum of `data` (as if it started at an even offset) in network
/// byte order, unfolded: below 2^41, so that a handful of such sums can be added before
/// one [`fold64`].
#[inline]
pub(crate) fn sum_be(data: &[u8]) -> u64 {
    ne_to_be(sum_ne(data))
}

/// The sum of a 20-byte header without options (IPv4 or TCP) taken as five
/// native-endian 32-bit words, unfolded (below 2^35): [`sum_ne`] of it.
///
/// Speed: no loop. Each word is congruent to the sum of its 16-bit halves modulo
/// 2^16 - 1 (RFC 1071 2(C)), so the five are added whole; the general sum's set-up
/// costs more than the five adds.
#[inline(always)]
pub(crate) fn sum20_ne(h: &[u8; 20]) -> u64 {
    let w = |i: usize| u64::from(u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]));
    w(0) + w(4) + w(8) + w(12) + w(16)
}

/// [`sum20_ne`] in network byte order, unfolded: [`sum_be`] of the header.
#[inline(always)]
pub(crate) fn sum20_be(h: &[u8; 20]) -> u64 {
    ne_to_be(sum20_ne(h))
}

/// Add `data` to the running one's-complement sum `initial` (RFC 1071).
///
/// `initial` may be any `u32` (0 to start, or the result of an earlier call, or of
/// [`pseudo_header_sum`]). The result is folded to 16 bits (`<= 0xFFFF`); pass it to
/// [`checksum_finish`] to get the checksum field.
///
/// `data` is taken as starting on an even byte offset: when summing consecutive pieces
/// of one message, only the last piece may have an odd length (see the module
/// documentation for pieces that start on an odd offset).
///
/// Speed: on x86-64 processors with AVX2, data of 64 bytes or more is summed with the
/// AVX2 loop of the crate-internal `avx2` module.
#[inline]
pub fn checksum_partial(data: &[u8], initial: u32) -> u32 {
    fold64(u64::from(initial) + sum_be_long(data))
}

/// [`sum_be`] for payloads and whole segments, which may be long: on x86-64 processors
/// with AVX2, data of 64 bytes or more goes to the AVX2 loop (out of line, see
/// [`sum_be_blocks`]); shorter data is summed here, inline, as [`sum_be`] does. Headers
/// use [`sum_be`] (or [`sum20_be`]) directly: no length test, no dispatch.
#[inline(always)]
pub(crate) fn sum_be_long(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 64 {
        return sum_be_blocks(data);
    }
    sum_be(data)
}

/// [`sum_be_long`] of data of 64 bytes or more: the whole 64-byte blocks with the AVX2
/// loop when the processor has it (16-bit words, congruent to [`sum_ne`]'s 32-bit words
/// by RFC 1071 2(C)), the rest with [`sum_ne`]; [`sum_be`] otherwise.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
fn sum_be_blocks(data: &[u8]) -> u64 {
    if let Some(simd) = super::avx2::detected() {
        let (sum, done) = super::avx2::sum_blocks(simd, data);
        // Below 2^47 + 2^35 for any slice below 4 GiB: `ne_to_be` takes it.
        return ne_to_be(sum + sum_ne(&data[done..]));
    }
    sum_be(data)
}

/// Copy `src` into `dst` and add the copied bytes to the running one's-complement sum
/// `initial`, in one pass: [`checksum_partial`] of `src`, with the copy on the way.
///
/// `dst` must be as long as `src`; otherwise only the common prefix is copied and
/// summed. The same rules as for [`checksum_partial`] apply: `initial` may be any `u32`,
/// the result is folded to 16 bits, and `src` is taken as starting on an even offset.
/// This is the loop the stack copies payloads with (into outgoing datagrams and into
/// receive buffers); a driver that moves payload between its own buffers and frames can
/// use it to the same end.
#[inline]
pub fn copy_with_checksum(dst: &mut [u8], src: &[u8], initial: u32) -> u32 {
    fold64(u64::from(initial) + copy_and_sum(dst, src, false))
}

/// The pseudo-header sum of [`pseudo_header_sum`], unfolded (below 2^36).
///
/// Speed: always inlined. Left to the compiler it stayed a call on both the receive
/// path (`parse_unverified`) and the send path (`emit_two`), each passing the two
/// addresses through memory and matching their families again, where the caller has
/// just matched them.
#[inline(always)]
pub(crate) fn pseudo_header_sum64(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u64 {
    let mut acc = u64::from(protocol) + u64::from(len >> 16) + u64::from(len & 0xFFFF);
    for addr in [src, dst] {
        // An address taken as big-endian 32-bit words: each word is congruent to the
        // sum of its two 16-bit halves modulo 2^16 - 1 (RFC 1071 2(C)).
        acc += match addr {
            IpAddr::V4(a) => u64::from(a.to_bits()),
            IpAddr::V6(a) => {
                let x = a.to_bits();
                (x as u64 >> 32)
                    + (x as u64 & 0xFFFF_FFFF)
                    + ((x >> 96) as u64)
                    + ((x >> 64) as u64 & 0xFFFF_FFFF)
            }
        };
    }
    acc
}

/// The one's-complement sum of the TCP pseudo-header (RFC 9293 3.1, "Checksum"; for IPv6
/// RFC 8200 8.1): source and destination addresses, the protocol number and the
/// upper-layer length (`len`, TCP header plus data), folded to 16 bits.
///
/// For IPv4 the length is a 16-bit field, for IPv6 a 32-bit one; both are summed the
/// same way (the high half of an IPv4 length is zero). Mixed address families are
/// summed as given; callers reject them before.
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u32 {
    fold64(pseudo_header_sum64(src, dst, protocol, len))
}

/// Fold a one's-complement sum to 16 bits and complement it: the value to store in a
/// checksum field (RFC 1071 1; RFC 9293 3.1). A datagram whose sum *including* its
/// checksum field finishes to 0 is intact.
#[inline]
pub fn checksum_finish(sum: u32) -> u16 {
    // `fold64` returns a value <= 0xFFFF.
    !(fold64(u64::from(sum)) as u16)
}

/// Copy `src` into `dst` (which must have the same length; otherwise only the common
/// prefix is copied and summed) and return the sum of the piece in network byte order,
/// unfolded (below 2^41), ready to be added to the sums of the other pieces.
///
/// `odd_offset` says whether `src` starts on an odd offset of the message being
/// summed: its bytes then sit in swapped positions of the message's 16-bit words, and
/// its sum is byte-swapped (RFC 1071 2(B)) — which cancels the swap from native order on
/// a little-endian machine.
///
/// Speed: one pass (see [`copy_sum_ne`]): every byte is loaded once, stored once and
/// added once, instead of a `memcpy` followed by a second pass over the copy.
#[inline]
pub(crate) fn copy_and_sum(dst: &mut [u8], src: &[u8], odd_offset: bool) -> u64 {
    let acc = copy_sum_ne(dst, src);
    let acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
    // Shifting by 8 is the byte swap (see `ne_to_be`): needed once for native to
    // network order on little-endian machines, once for an odd offset; twice is none.
    if cfg!(target_endian = "little") != odd_offset {
        acc << 8
    } else {
        acc
    }
}

/// [`sum_ne`] of `src` while copying it into `dst` (only the common prefix of the two
/// is copied and summed).
///
/// Hand-rolled for speed: each 64-byte block is loaded once as four native-endian
/// 128-bit words, stored from those same words, and summed from them: the low and the
/// high 32-bit half of each of their 64-bit halves go into their own 64-bit lanes (16
/// independent lanes, no carries between them; the halves are the native 32-bit words
/// of [`sum_ne`], so the total is the same). The compiler keeps the block in vector
/// registers, so the copy costs a store per 16 bytes on top of the sum, not a second
/// pass. (With the block taken as eight 64-bit words, some builds lowered the stores
/// as a separate copy that loads the block again: 88 more instructions per 1460-byte
/// segment, depending on unrelated code.)
///
/// Measured on the bench machine (x86-64 baseline, SSE2) for a 1460-byte
/// segment: about as fast as the sum alone, where `memcpy` followed by the sum took
/// about 1.4 to 1.8 times as long. Each lane gains less than 2^32 per block: for any
/// slice below 4 GiB (the stack copies at most 64 KiB at a time) the lanes stay below
/// 2^58 and their total below 2^63.
///
/// On x86-64 processors with AVX2, slices of 64 bytes or more take the AVX2 loop of
/// `super::avx2` for their whole 64-byte blocks instead (about 1.7 times as fast); its
/// sum is of 16-bit words, which is congruent to this one (RFC 1071 2(C)) and below
/// 2^47 for any slice below 4 GiB.
///
/// Never inlined: compiled once, its code no longer depends on where it is inlined.
/// Inlined into the send and the receive path, each copy's compilation moved with
/// unrelated edits elsewhere (once +40% instructions in the send path's loop, +5% for
/// a whole bulk run). The call costs about 20 instructions per 1460-byte segment.
#[inline(never)]
fn copy_sum_ne(dst: &mut [u8], src: &[u8]) -> u64 {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    #[cfg(target_arch = "x86_64")]
    if n >= 64 {
        if let Some(simd) = super::avx2::detected() {
            // Speed: the loop's 32-byte stores go to aligned addresses. A payload sits
            // 40 or 52 bytes into a datagram, and every other store straddled two
            // cache lines. Measured on an Intel Xeon, 1,460 bytes at a time between a
            // 256 KiB ring and a datagram's offset 40: 33 GB/s each way before, 39
            // and 41 GB/s with this (44 when the destination is aligned already;
            // `memcpy` 64). The head before the first aligned address is copied and
            // summed here, when it keeps the loop on the message's 16-bit word
            // boundaries (an even length; `copy_sum_blocks` checks); the result does
            // not depend on the address.
            let head = (32 - dst.as_ptr() as usize % 32) % 32;
            let (sum, done) = super::avx2::copy_sum_blocks(simd, dst, src, head);
            if done == n {
                // (Speed: the usual case, any even length; the rest below is a call of
                // `memcpy` and a pass of the portable sum over nothing, some 30
                // instructions.)
                return sum;
            }
            let (dst, src) = (&mut dst[done..], &src[done..]);
            dst.copy_from_slice(src);
            return sum + sum_ne(src);
        }
    }
    copy_sum_portable(dst, src)
}

/// The portable loop of [`copy_sum_ne`]: `dst` and `src` have the same length.
#[inline(always)]
fn copy_sum_portable(dst: &mut [u8], src: &[u8]) -> u64 {
    let mut lo = [0u64; 8];
    let mut hi = [0u64; 8];
    let mut d = dst.chunks_exact_mut(64);
    let mut s = src.chunks_exact(64);
    for (db, sb) in (&mut d).zip(&mut s) {
        let mut words = [0u128; 4];
        for (w, c) in words.iter_mut().zip(sb.chunks_exact(16)) {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            *w = u128::from_ne_bytes(b);
        }
        for (c, w) in db.chunks_exact_mut(16).zip(&words) {
            c.copy_from_slice(&w.to_ne_bytes());
        }
        for (i, w) in words.iter().enumerate() {
            let (a, b) = (*w as u64, (*w >> 64) as u64);
            lo[2 * i] += a & 0xFFFF_FFFF;
            hi[2 * i] += a >> 32;
            lo[2 * i + 1] += b & 0xFFFF_FFFF;
            hi[2 * i + 1] += b >> 32;
        }
    }
    let (dr, sr) = (d.into_remainder(), s.remainder());
    dr.copy_from_slice(sr);
    // Sixteen lanes below 2^58 each, plus a tail below 2^35: no overflow.
    lo.iter().sum::<u64>() + hi.iter().sum::<u64>() + sum_ne(sr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The obvious 16-bit-at-a-time reference (RFC 1071 4.1).
    fn reference(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        let mut i = 0;
        while i + 1 < data.len() {
            sum += u32::from(u16::from_be_bytes([data[i], data[i + 1]]));
            i += 2;
        }
        if i < data.len() {
            sum += u32::from(data[i]) << 8;
        }
        while sum > 0xFFFF {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn copy_with_checksum_copies_and_sums_like_checksum_partial() {
        for len in [0usize, 1, 2, 63, 64, 65, 1460, 1461] {
            let src: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(151) ^ 0x5a).collect();
            let mut dst = vec![0u8; len];
            let got = copy_with_checksum(&mut dst, &src, 0x1234);
            assert_eq!(dst, src, "len {len}");
            assert_eq!(got, checksum_partial(&src, 0x1234), "len {len}");
            assert_eq!(checksum_finish(got), checksum_finish(checksum_partial(&src, 0x1234)));
        }
        // A shorter destination takes (and sums) the common prefix only.
        let src = [1u8, 2, 3, 4];
        let mut dst = [0u8; 2];
        assert_eq!(copy_with_checksum(&mut dst, &src, 0), checksum_partial(&src[..2], 0));
        assert_eq!(dst, [1, 2]);
    }

    #[test]
    fn rfc1071_worked_example_sums_to_ddf2() {
        // RFC 1071 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum_partial(&data, 0), 0xddf2);
        assert_eq!(checksum_finish(checksum_partial(&data, 0)), !0xddf2);
    }

    #[test]
    fn known_ipv4_header_checksum_verifies_and_recomputes() {
        // A classic example header (Wikipedia "IPv4 header checksum"), checksum b861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
            0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum_finish(checksum_partial(&hdr, 0)), 0);
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(checksum_finish(checksum_partial(&zeroed, 0)), 0xb861);
    }

    #[test]
    fn odd_length_pads_last_byte_on_the_right() {
        assert_eq!(checksum_partial(&[0xab], 0), 0xab00);
        assert_eq!(checksum_partial(&[0x12, 0x34, 0xab], 0), 0x1234 + 0xab00);
    }

    #[test]
    fn wide_loop_matches_reference_for_every_length_and_all_ones() {
        // All-0xff data stresses the carries of the 64-bit accumulator.
        for fill in [0x00u8, 0x01, 0x80, 0xff] {
            for len in 0..200 {
                let data: Vec<u8> = (0..len).map(|i| fill ^ (i as u8).wrapping_mul(37)).collect();
                assert_eq!(
                    checksum_finish(checksum_partial(&data, 0)),
                    reference(&data),
                    "len {len} fill {fill:#x}"
                );
                let ones = vec![0xffu8; len];
                assert_eq!(checksum_finish(checksum_partial(&ones, 0)), reference(&ones));
            }
        }
    }

    #[test]
    fn native_word_sum_matches_reference_at_any_alignment_and_length() {
        // The vectorised loop works on 32-byte blocks of native-endian words; slices that
        // start anywhere in memory and end anywhere must still sum as RFC 1071 says.
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in 0..8 {
            for len in [0, 1, 31, 32, 33, 63, 64, 65, 1459, 1460, 1461, 4096, 65_535, 65_536] {
                let piece = &data[start..start + len];
                assert_eq!(
                    checksum_finish(checksum_partial(piece, 0)),
                    reference(piece),
                    "start {start} len {len}"
                );
            }
        }
    }

    #[test]
    fn fold_is_the_end_around_carry_sum() {
        // The loop the fixed steps replace.
        fn slow(mut acc: u64) -> u32 {
            while acc > 0xFFFF {
                acc = (acc & 0xFFFF) + (acc >> 16);
            }
            acc as u32
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let edges = [0, 1, 0xFFFF, 0x1_0000, 0x1_FFFE, 0xFFFF_FFFF, 0x1_0000_0000, u64::MAX, u64::MAX - 1];
        for v in edges.into_iter().chain((0..10_000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x >> (x % 64)
        })) {
            assert_eq!(fold64(v), slow(v), "{v:#x}");
        }
    }

    #[test]
    fn even_chunks_chain_through_initial() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let whole = checksum_partial(&data, 0);
        let a = checksum_partial(&data[..64], 0);
        let b = checksum_partial(&data[64..530], a);
        let c = checksum_partial(&data[530..], b);
        assert_eq!(checksum_finish(c), checksum_finish(whole));
    }

    #[test]
    fn large_initial_value_does_not_overflow() {
        let s = checksum_partial(&[0xff; 64], u32::MAX);
        assert!(s <= 0xFFFF);
        // u32::MAX = 0xFFFF * 0x10001, i.e. a one's-complement zero: adds nothing.
        assert_eq!(checksum_finish(s), checksum_finish(checksum_partial(&[0xff; 64], 0)));
    }

    #[test]
    fn copy_and_sum_handles_pieces_at_odd_offsets() {
        let data: Vec<u8> = (0..97u8).map(|i| i.wrapping_mul(91).wrapping_add(7)).collect();
        let whole = checksum_finish(checksum_partial(&data, 0));
        for split in 0..data.len() {
            let mut out = vec![0u8; data.len()];
            let (o1, o2) = out.split_at_mut(split);
            let s = copy_and_sum(o1, &data[..split], false);
            let s = s + copy_and_sum(o2, &data[split..], split % 2 == 1);
            assert_eq!(checksum_finish(fold64(s)), whole, "split at {split}");
            assert_eq!(out, data);
        }
    }

    #[test]
    fn portable_copy_loop_matches_reference_wherever_the_processor_has_avx2() {
        // `copy_sum_ne` takes the AVX2 loop on processors that have it, so the tests
        // above may never run the portable loop; this one calls it directly.
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for start in [0, 1, 5] {
            for len in [0, 1, 63, 64, 65, 1459, 1460, 65_535] {
                let src = &data[start..start + len];
                let mut out = vec![0u8; len];
                let sum = copy_sum_portable(&mut out, src);
                assert_eq!(checksum_finish(fold64(ne_to_be(sum))), reference(src), "start {start} len {len}");
                assert_eq!(out, src);
            }
        }
    }

    /// The fused loop aligns its stores to 32 bytes, copying and summing the head
    /// before the first aligned address apart: every address residue, with heads of
    /// both parities and pieces just long enough for the loop, gives the copy and the
    /// sum of the plain reference.
    #[test]
    fn fused_copy_and_sum_is_exact_at_every_destination_address() {
        let data: Vec<u8> = (0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
        let mut out = vec![0u8; 512];
        for shift in 0..64 {
            for len in [63, 64, 65, 94, 95, 96, 97, 127, 128, 129, 200, 201, 300] {
                out.fill(0x5A);
                let got = copy_and_sum(&mut out[shift..shift + len], &data[..len], false);
                assert_eq!(&out[shift..shift + len], &data[..len], "shift {shift} len {len}");
                assert!(out[..shift].iter().chain(&out[shift + len..]).all(|&b| b == 0x5A));
                assert_eq!(checksum_finish(fold64(got)), reference(&data[..len]), "shift {shift} len {len}");
            }
        }
    }

    proptest::proptest! {
        /// The one-pass copy and sum equals a plain copy followed by the reference sum,
        /// for any length (odd ones included), any alignment of source and destination
        /// in memory, and either offset parity.
        #[test]
        fn fused_copy_and_sum_equals_copy_then_checksum(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
            src_shift in 0usize..16,
            dst_shift in 0usize..64,
            odd in proptest::prelude::any::<bool>(),
        ) {
            let mut src = vec![0u8; src_shift];
            src.extend_from_slice(&data);
            let src = &src[src_shift..];
            let mut out = vec![0xA5u8; dst_shift + data.len() + 8];
            let got = copy_and_sum(&mut out[dst_shift..dst_shift + data.len()], src, odd);
            proptest::prop_assert_eq!(&out[dst_shift..dst_shift + data.len()], &data[..]);
            proptest::prop_assert!(out[..dst_shift].iter().chain(&out[dst_shift + data.len()..]).all(|&b| b == 0xA5));
            // At an odd offset the piece's bytes sit one position later in the message:
            // sum it behind a zero byte.
            let want = if odd {
                let mut shifted = vec![0u8];
                shifted.extend_from_slice(&data);
                reference(&shifted)
            } else {
                reference(&data)
            };
            proptest::prop_assert_eq!(checksum_finish(fold64(got)), want);
        }
    }

    #[test]
    fn pseudo_header_ipv4_matches_manual_layout() {
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let mut manual = Vec::new();
        manual.extend_from_slice(&src.octets());
        manual.extend_from_slice(&dst.octets());
        manual.extend_from_slice(&[0, 6, 0x01, 0x2c]);
        assert_eq!(pseudo_header_sum(src.into(), dst.into(), 6, 300), checksum_partial(&manual, 0));
    }

    #[test]
    fn pseudo_header_ipv6_matches_manual_layout() {
        let src: Ipv6Addr = "2001:db8::1".parse().expect("literal");
        let dst: Ipv6Addr = "fe80::ffff:1234".parse().expect("literal");
        let len = 0x0001_2345u32;
        let mut manual = Vec::new();
        manual.extend_from_slice(&src.octets());
        manual.extend_from_slice(&dst.octets());
        manual.extend_from_slice(&len.to_be_bytes());
        manual.extend_from_slice(&[0, 0, 0, 6]);
        assert_eq!(pseudo_header_sum(src.into(), dst.into(), 6, len), checksum_partial(&manual, 0));
    }
}
