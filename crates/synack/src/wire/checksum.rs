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
fn fold64(mut acc: u64) -> u32 {
    // Each step strictly shrinks a value above 0xFFFF, so this terminates after at
    // most four rounds.
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    // `acc <= 0xFFFF` here.
    acc as u32
}

/// Add `w` to `acc` in one's-complement arithmetic on 64 bits (end-around carry).
#[inline(always)]
fn add64(acc: u64, w: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(w);
    // When the add overflowed, `s <= u64::MAX - 1`, so adding the carry cannot overflow.
    s + u64::from(carry)
}

/// Sum `data` (as if it started at an even offset) into the 64-bit accumulator.
#[inline(always)]
fn sum_into(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&c[..8]);
        b.copy_from_slice(&c[8..]);
        acc = add64(acc, u64::from_be_bytes(a));
        acc = add64(acc, u64::from_be_bytes(b));
    }
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        acc = add64(acc, u64::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = words.remainder() {
        // RFC 1071 4.1: an odd trailing byte is padded with a zero byte on its right.
        acc = add64(acc, u64::from(*last) << 8);
    }
    acc
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
pub fn checksum_partial(data: &[u8], initial: u32) -> u32 {
    fold64(sum_into(u64::from(initial), data))
}

/// The one's-complement sum of the TCP pseudo-header (RFC 9293 3.1, "Checksum"; for IPv6
/// RFC 8200 8.1): source and destination addresses, the protocol number and the
/// upper-layer length (`len`, TCP header plus data), folded to 16 bits.
///
/// For IPv4 the length is a 16-bit field, for IPv6 a 32-bit one; both are summed the
/// same way (the high half of an IPv4 length is zero). Mixed address families are
/// summed as given; callers reject them before.
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, protocol: u8, len: u32) -> u32 {
    let mut acc = u64::from(protocol) + u64::from(len >> 16) + u64::from(len & 0xFFFF);
    for addr in [src, dst] {
        acc = match addr {
            IpAddr::V4(a) => sum_into(acc, &a.octets()),
            IpAddr::V6(a) => sum_into(acc, &a.octets()),
        };
    }
    fold64(acc)
}

/// Fold a one's-complement sum to 16 bits and complement it: the value to store in a
/// checksum field (RFC 1071 1; RFC 9293 3.1). A datagram whose sum *including* its
/// checksum field finishes to 0 is intact.
pub fn checksum_finish(sum: u32) -> u16 {
    // `fold64` returns a value <= 0xFFFF.
    !(fold64(u64::from(sum)) as u16)
}

/// Copy `src` into `dst` (which must have the same length; otherwise only the common
/// prefix is copied and summed) while summing it, fused in one pass.
///
/// `odd_offset` says whether `src` starts on an odd offset of the message being
/// summed; the piece's sum is then byte-swapped (RFC 1071 2(B)) before being added to
/// `initial`. Returns the new partial sum, folded to 16 bits.
pub(crate) fn copy_and_sum(dst: &mut [u8], src: &[u8], initial: u32, odd_offset: bool) -> u32 {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut acc = 0u64;
    let mut d16 = dst.chunks_exact_mut(16);
    let mut s16 = src.chunks_exact(16);
    for (d, s) in (&mut d16).zip(&mut s16) {
        d.copy_from_slice(s);
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&s[..8]);
        b.copy_from_slice(&s[8..]);
        acc = add64(acc, u64::from_be_bytes(a));
        acc = add64(acc, u64::from_be_bytes(b));
    }
    let (d_rest, s_rest) = (d16.into_remainder(), s16.remainder());
    d_rest.copy_from_slice(s_rest);
    let piece = fold64(sum_into(acc, s_rest));
    let piece = if odd_offset {
        u32::from((piece as u16).swap_bytes())
    } else {
        piece
    };
    fold64(u64::from(initial) + u64::from(piece))
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
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
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
                let data: Vec<u8> = (0..len)
                    .map(|i| fill ^ (i as u8).wrapping_mul(37))
                    .collect();
                assert_eq!(
                    checksum_finish(checksum_partial(&data, 0)),
                    reference(&data),
                    "len {len} fill {fill:#x}"
                );
                let ones = vec![0xffu8; len];
                assert_eq!(
                    checksum_finish(checksum_partial(&ones, 0)),
                    reference(&ones)
                );
            }
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
        assert_eq!(
            checksum_finish(s),
            checksum_finish(checksum_partial(&[0xff; 64], 0))
        );
    }

    #[test]
    fn copy_and_sum_handles_pieces_at_odd_offsets() {
        let data: Vec<u8> = (0..97u8)
            .map(|i| i.wrapping_mul(91).wrapping_add(7))
            .collect();
        let whole = checksum_finish(checksum_partial(&data, 0));
        for split in 0..data.len() {
            let mut out = vec![0u8; data.len()];
            let (o1, o2) = out.split_at_mut(split);
            let s = copy_and_sum(o1, &data[..split], 0, false);
            let s = copy_and_sum(o2, &data[split..], s, split % 2 == 1);
            assert_eq!(checksum_finish(s), whole, "split at {split}");
            assert_eq!(out, data);
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
        assert_eq!(
            pseudo_header_sum(src.into(), dst.into(), 6, 300),
            checksum_partial(&manual, 0)
        );
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
        assert_eq!(
            pseudo_header_sum(src.into(), dst.into(), 6, len),
            checksum_partial(&manual, 0)
        );
    }
}
