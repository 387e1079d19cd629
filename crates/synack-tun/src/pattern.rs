//! Deterministic pseudo-random bytes (what `source:N`, `http` and `connect --send` put
//! on the wire) and SHA-256 helpers to check them.
//!
//! Byte `i` of the stream depends only on `i`: the 8-byte word `i / 8` run through
//! SplitMix64, little-endian. Any slice can be produced at any offset without state, so
//! a receiver can verify a transfer by hashing [`pattern`] of the same length.

use sha2::{Digest, Sha256};

/// SplitMix64's finaliser: a bijective mixer of 64-bit words.
fn mix(word: u64) -> u64 {
    let mut z = word.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fill `buf` with the stream's bytes starting at byte `offset`.
pub fn fill_pattern(offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut i = 0;
    while i < buf.len() {
        let word = mix(pos / 8).to_le_bytes();
        let start = (pos % 8) as usize;
        let take = (8 - start).min(buf.len() - i);
        buf[i..i + take].copy_from_slice(&word[start..start + take]);
        i += take;
        pos += take as u64;
    }
}

/// The first `len` bytes of the stream.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    fill_pattern(0, &mut v);
    v
}

/// Lower-case hex of a digest.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of `data`, lower-case hex (as `sha256sum` prints it).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// SHA-256 of the first `len` bytes of the stream, without holding them all.
pub fn pattern_sha256(len: u64) -> String {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < len {
        let n = buf.len().min(usize::try_from(len - off).unwrap_or(usize::MAX));
        fill_pattern(off, &mut buf[..n]);
        h.update(&buf[..n]);
        off += n as u64;
    }
    hex(&h.finalize())
}

/// A running SHA-256 with a byte count.
#[derive(Clone, Debug, Default)]
pub struct Sha256Counter {
    hasher: Sha256,
    bytes: u64,
}

impl Sha256Counter {
    /// Nothing hashed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hash `data` too.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    /// Bytes hashed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The hex digest of everything hashed so far.
    pub fn hex(&self) -> String {
        hex(&self.hasher.clone().finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_at_an_offset_matches_the_whole_stream() {
        let all = pattern(100);
        for off in 0..40 {
            let mut part = vec![0; 37];
            fill_pattern(off as u64, &mut part);
            assert_eq!(part[..], all[off..off + 37]);
        }
    }

    #[test]
    fn streamed_hash_equals_hash_of_materialised_pattern() {
        for len in [0usize, 1, 7, 8, 9, 65_536, 200_003] {
            assert_eq!(pattern_sha256(len as u64), sha256_hex(&pattern(len)));
        }
        let mut c = Sha256Counter::new();
        c.update(&pattern(10));
        assert_eq!(c.bytes(), 10);
        assert_eq!(c.hex(), sha256_hex(&pattern(10)));
    }

    #[test]
    fn empty_input_hashes_to_the_well_known_digest() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
