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
pub(crate) fn initial_sequence(key: &KeyedState, now: Instant, tuple: &FourTuple) -> u32 {
    let f = key.hash_one(tuple) as u32;
    let m = (now.as_micros() / 4) as u32;
    m.wrapping_add(f)
}

/// RFC 6056 Algorithm 3 ("simple hash-based port selection"): the search for a free
/// port starts at an offset that is a keyed hash of (local IP, remote endpoint).
pub(crate) fn port_offset(key: &KeyedState, local_ip: std::net::IpAddr, remote: SocketAddr) -> u32 {
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
