//! Keyed hashing: initial sequence numbers (RFC 9293 3.4.1), ephemeral ports (RFC 6056)
//! and the hash maps' hasher. All keyed by [`crate::Config::secret`], never by an entropy
//! source of the core's own.

use crate::time::Instant;
use crate::trace::FourTuple;
use core::hash::{BuildHasher, Hash, Hasher};
use siphasher::sip::SipHasher13;
use std::net::SocketAddr;

/// A keyed SipHash-1-3 builder for the stack's hash maps: an attacker who cannot see the
/// secret cannot aim segments at one bucket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyedState {
    k0: u64,
    k1: u64,
}

impl KeyedState {
    pub(crate) fn new(secret: &[u8; 16], domain: u64) -> Self {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&secret[..8]);
        b.copy_from_slice(&secret[8..]);
        KeyedState { k0: u64::from_le_bytes(a) ^ domain, k1: u64::from_le_bytes(b) }
    }
}

/// An IPv4 address as `Hash` writes it (`write_u32` of its native-endian value) and
/// `SipHasher13` then takes it in (`to_le`).
#[inline(always)]
fn ip_word(ip: &std::net::Ipv4Addr) -> u64 {
    u64::from(u32::from_ne_bytes(ip.octets()).to_le())
}

/// A port as `Hash` writes it and `SipHasher13` takes it in.
#[inline(always)]
fn port_word(port: u16) -> u64 {
    u64::from(port.to_le())
}

/// SipHash-1-3 (Aumasson and Bernstein) with keys `k0`, `k1` of a message given as
/// little-endian words, the last one already holding the final partial word and the
/// length byte (`len << 56`), as SipHash pads the message: the value `SipHasher13`
/// gives for the same bytes (checked in the tests here and in `stack::table`).
///
/// Size: the one SipHash body of the hot paths (ISNs, port offsets and the 4-tuple
/// tables all call it), never inlined, with the message compressions in a loop (only
/// the three finalization rounds unrolled). Unrolled and inlined into
/// `initial_sequence` and `FlowKeys::hash_key`, the rounds took 17 hot 64-byte code
/// lines of a `churn` lifecycle; shared, 10 (I1 misses 635 -> 561 per lifecycle, for
/// 90 more instructions, 0.4%).
#[inline(never)]
pub(crate) fn sip13_words(k0: u64, k1: u64, msg: &[u64]) -> u64 {
    let mut v = sip_init(k0, k1);
    for &m in msg {
        sip_compress(&mut v, m);
    }
    sip_finish(v)
}

/// The SipHash state for keys `k0`, `k1` (the pieces of SipHash-1-3 that
/// [`sip13_words`] and the tables' incremental hasher share).
#[inline(always)]
pub(crate) fn sip_init(k0: u64, k1: u64) -> [u64; 4] {
    [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ]
}

/// One SipRound.
#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// One message word: one compression round (the "1" of SipHash-1-3).
#[inline(always)]
pub(crate) fn sip_compress(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    sip_round(v);
    v[0] ^= m;
}

/// The three finalization rounds (the "3"), after the last word (which carries the
/// length byte) was compressed.
#[inline(always)]
pub(crate) fn sip_finish(mut v: [u64; 4]) -> u64 {
    v[2] ^= 0xff;
    sip_round(&mut v);
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

impl KeyedState {
    /// SipHash-1-3 of a message given as whole little-endian words, the last one the
    /// final partial word with the length byte (see [`sip13_words`]).
    ///
    /// Speed: the ISN and the ephemeral-port offset of an IPv4 connection hash a fixed
    /// layout; packing it into words here skips the byte buffering of the generic
    /// `Hasher` path (about half the instructions).
    #[inline]
    fn sip13(&self, msg: &[u64]) -> u64 {
        sip13_words(self.k0, self.k1, msg)
    }
}

impl BuildHasher for KeyedState {
    type Hasher = SipHasher13;
    fn build_hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

/// ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where "M is the 4
/// microsecond timer, and F() is a pseudorandom function (PRF) of the connection's
/// identifying parameters ("localip, localport, remoteip, remoteport") and a secret key"
/// (RFC 9293 3.4.1).
///
/// Size: never inlined (the active and the passive OPEN each call it once per
/// connection; inlined, each had its own copy of the packing of the tuple).
#[inline(never)]
pub(crate) fn initial_sequence(key: &KeyedState, now: Instant, tuple: &FourTuple) -> u32 {
    let f = match (tuple.local, tuple.remote) {
        (SocketAddr::V4(l), SocketAddr::V4(r)) => {
            // The bytes the derived `Hash` of the tuple writes (checked in the tests):
            // discriminant (8) | local ip (4) | local port (2) | discriminant (8) |
            // remote ip (4) | remote port (2), 28 bytes, packed into words.
            let (il, ir) = (ip_word(l.ip()), ip_word(r.ip()));
            let (pl, pr) = (port_word(l.port()), port_word(r.port()));
            key.sip13(&[0, il | pl << 32, ir << 48, ir >> 16 | pr << 16 | 28 << 56])
        }
        _ => key.hash_one(tuple),
    } as u32;
    let m = (now.as_micros() / 4) as u32;
    m.wrapping_add(f)
}

/// RFC 6056 Algorithm 3 ("simple hash-based port selection"): the search for a free
/// port starts at an offset that is a keyed hash of (local IP, remote endpoint).
pub(crate) fn port_offset(key: &KeyedState, local_ip: std::net::IpAddr, remote: SocketAddr) -> u32 {
    if let (std::net::IpAddr::V4(l), SocketAddr::V4(r)) = (local_ip, remote) {
        // As written by the derived `Hash`s: discriminant (8) | local ip (4) |
        // discriminant (8) | remote ip (4) | remote port (2), 26 bytes.
        return key.sip13(&[0, ip_word(&l), ip_word(r.ip()) << 32, port_word(r.port()) | 26 << 56]) as u32;
    }
    let mut h = key.build_hasher();
    local_ip.hash(&mut h);
    remote.hash(&mut h);
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn tuple(port: u16) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), port),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 80),
        }
    }

    /// The generic paths the IPv4 fast paths replace.
    fn reference_isn_hash(key: &KeyedState, t: &FourTuple) -> u32 {
        key.hash_one(t) as u32
    }

    fn reference_port_offset(key: &KeyedState, local_ip: IpAddr, remote: SocketAddr) -> u32 {
        let mut h = key.build_hasher();
        local_ip.hash(&mut h);
        remote.hash(&mut h);
        h.finish() as u32
    }

    #[test]
    fn ipv4_fast_paths_hash_exactly_as_the_derived_hash() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let mut secret = [0u8; 16];
            secret[..8].copy_from_slice(&next().to_le_bytes());
            secret[8..].copy_from_slice(&next().to_le_bytes());
            let k = KeyedState::new(&secret, next());
            let r = next();
            let l = SocketAddr::new(IpAddr::V4(Ipv4Addr::from((r >> 32) as u32)), r as u16);
            let r = next();
            let rem = SocketAddr::new(IpAddr::V4(Ipv4Addr::from((r >> 32) as u32)), r as u16);
            let t = FourTuple { local: l, remote: rem };
            let now = Instant::from_micros(next() >> 20);
            let m = (now.as_micros() / 4) as u32;
            assert_eq!(initial_sequence(&k, now, &t), m.wrapping_add(reference_isn_hash(&k, &t)));
            assert_eq!(port_offset(&k, l.ip(), rem), reference_port_offset(&k, l.ip(), rem));
        }
    }

    #[test]
    fn sip13_words_is_siphash_1_3_of_the_bytes() {
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let data: Vec<u8> = (0..48u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..data.len() {
            let mut reference = SipHasher13::new_with_keys(k0, k1);
            reference.write(&data[..len]);
            // Whole words, then the partial word with the length byte.
            let whole = len / 8 * 8;
            let mut msg: Vec<u64> = data[..whole]
                .chunks(8)
                .map(|c| c.iter().rev().fold(0u64, |w, &b| w << 8 | u64::from(b)))
                .collect();
            let mut last = [0u8; 8];
            last[..len - whole].copy_from_slice(&data[whole..len]);
            last[7] = len as u8;
            msg.push(u64::from_le_bytes(last));
            assert_eq!(sip13_words(k0, k1, &msg), reference.finish(), "len {len}");
        }
    }

    #[test]
    fn isn_advances_with_the_4us_clock_for_a_fixed_tuple() {
        let k = KeyedState::new(&[7; 16], 0);
        let a = initial_sequence(&k, Instant::from_micros(0), &tuple(1000));
        let b = initial_sequence(&k, Instant::from_micros(400), &tuple(1000));
        assert_eq!(b.wrapping_sub(a), 100);
    }

    #[test]
    fn isn_depends_on_the_tuple_and_the_key() {
        let k = KeyedState::new(&[7; 16], 0);
        let k2 = KeyedState::new(&[8; 16], 0);
        let t = Instant::from_millis(5);
        let a = initial_sequence(&k, t, &tuple(1000));
        assert_ne!(a, initial_sequence(&k, t, &tuple(1001)));
        assert_ne!(a, initial_sequence(&k2, t, &tuple(1000)));
        assert_eq!(a, initial_sequence(&k, t, &tuple(1000)));
    }
}
