//! The stack's lookup tables: connections by 4-tuple, listeners by local endpoint.
//!
//! The connection tables are hash maps keyed by the stack's secret
//! ([`crate::Config::secret`]): an attacker who does not know it cannot choose 4-tuples
//! that all land in one bucket and turn every lookup into a linear scan (hash flooding).
//! The hash is SipHash-1-3, the keyed PRF the standard library's `HashMap` uses by
//! default. The listener table, whose keys only the application chooses, uses a cheap
//! unkeyed hash ([`LocalHash`]).
//!
//! Speed: the derived `Hash` of a [`FourTuple`] feeds SipHash a dozen short pieces
//! (enum tags, addresses, ports) through its byte-buffering path, about 280 instructions
//! per lookup. Here the tuple is first packed into a [`FlowKey`] of whole 64-bit words
//! (two for IPv4, five for IPv6) that go through SipHash one compression each, without
//! any buffering. The connection table also remembers the last connection found: a
//! stream of segments for one connection skips the hash altogether.

use super::Slot;
use crate::isn::{sip13_words, sip_compress, sip_finish, sip_init};
use crate::trace::FourTuple;
use core::hash::{BuildHasher, Hash, Hasher};
use hashbrown::HashTable;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Domain separation of the table keys from the other uses of the secret.
const DOMAIN_TABLES: u64 = 0x666c_6f77_7461_626c;

/// A 4-tuple or a local endpoint packed into 64-bit words for hashing and comparison.
///
/// IPv4 4-tuple: `[local ip << 32 | remote ip, local port << 16 | remote port | tag]`.
/// Other 4-tuples: each address as 128 bits, then the ports and the tag. The tag (bits
/// 32 and up of the ports word) records the families, so that no two tuples share a
/// key. A local endpoint: `[ip << 32 | port << 16 | 1]` for IPv4, `[ip (two words),
/// port | tag]` for IPv6.
#[derive(Clone, Copy, Debug)]
pub(super) struct FlowKey {
    w: [u64; 5],
    /// Words in use (the rest are zero).
    n: u8,
}

impl PartialEq for FlowKey {
    /// Speed: five word compares, no branch and no `memcmp` call (which the derived
    /// comparison of the array becomes). Unused words are zero, and `n` follows from the
    /// tag, so comparing every word is comparing the keys.
    #[inline]
    fn eq(&self, o: &FlowKey) -> bool {
        let (a, b) = (&self.w, &o.w);
        ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0
    }
}

impl Eq for FlowKey {}

/// Tag bits: a 4-tuple of two IPv4 endpoints.
const TAG_V4_TUPLE: u64 = 1 << 32;
/// Tag bits: a 4-tuple of 128-bit addresses; bit 34 / 35 mark an IPv4 local / remote.
const TAG_WIDE_TUPLE: u64 = 1 << 33;
/// Tag bits: a local endpoint (listener).
const TAG_LOCAL: u64 = 1 << 36;

fn ip_bits(ip: IpAddr) -> (u128, u64) {
    match ip {
        IpAddr::V4(a) => (u128::from(a.to_bits()), 1),
        IpAddr::V6(a) => (a.to_bits(), 0),
    }
}

impl FlowKey {
    /// The key of a connection.
    #[inline]
    pub(super) fn tuple(t: &FourTuple) -> Self {
        if let (SocketAddr::V4(l), SocketAddr::V4(r)) = (&t.local, &t.remote) {
            return Self::v4(l.ip(), l.port(), r.ip(), r.port());
        }
        Self::wide_tuple(t)
    }

    /// The key of the connection (local, local_port) - (remote, remote_port).
    ///
    /// (Inlined whole: with the other families out of line here too, the receive path,
    /// which builds keys from the segment's addresses, kept copies of them in memory on
    /// its IPv4 path: 16 more instructions per segment in `segment_cost`.)
    #[inline]
    pub(super) fn parts(local: IpAddr, local_port: u16, remote: IpAddr, remote_port: u16) -> Self {
        if let (IpAddr::V4(l), IpAddr::V4(r)) = (local, remote) {
            return Self::v4(&l, local_port, &r, remote_port);
        }
        let ports = u64::from(local_port) << 16 | u64::from(remote_port);
        let (l, l4) = ip_bits(local);
        let (r, r4) = ip_bits(remote);
        let tag = TAG_WIDE_TUPLE | l4 << 34 | r4 << 35;
        FlowKey { w: [(l >> 64) as u64, l as u64, (r >> 64) as u64, r as u64, ports | tag], n: 5 }
    }

    /// [`FlowKey::parts`] with the other families out of line.
    ///
    /// Size: for the ephemeral port search, which runs once per connection: only the
    /// IPv4 packing sits in its (inlined) body.
    #[inline]
    pub(super) fn parts_v4_inline(local: IpAddr, local_port: u16, remote: IpAddr, remote_port: u16) -> Self {
        if let (IpAddr::V4(l), IpAddr::V4(r)) = (local, remote) {
            return Self::v4(&l, local_port, &r, remote_port);
        }
        Self::wide_parts(local, local_port, remote, remote_port)
    }

    /// [`FlowKey::parts`], out of line (see [`FlowKey::parts_v4_inline`]).
    #[cold]
    #[inline(never)]
    fn wide_parts(local: IpAddr, local_port: u16, remote: IpAddr, remote_port: u16) -> Self {
        Self::parts(local, local_port, remote, remote_port)
    }

    /// The key of a 4-tuple of two IPv4 endpoints.
    #[inline(always)]
    fn v4(l: &Ipv4Addr, local_port: u16, r: &Ipv4Addr, remote_port: u16) -> Self {
        let ports = u64::from(local_port) << 16 | u64::from(remote_port);
        let ips = u64::from(l.to_bits()) << 32 | u64::from(r.to_bits());
        FlowKey { w: [ips, ports | TAG_V4_TUPLE, 0, 0, 0], n: 2 }
    }

    /// The key of any other 4-tuple.
    ///
    /// Size: out of line, so that the copies of [`FlowKey::tuple`] inlined on the IPv4
    /// paths of every connection's setup and teardown carry only the IPv4 packing.
    #[cold]
    #[inline(never)]
    fn wide_tuple(t: &FourTuple) -> Self {
        Self::parts(t.local.ip(), t.local.port(), t.remote.ip(), t.remote.port())
    }

    /// The key of the same 4-tuple with local port `port` (speed: the ephemeral port
    /// search varies only the port).
    #[inline]
    pub(super) fn with_local_port(mut self, port: u16) -> Self {
        // The ports word: the last word in use (see the type's documentation).
        let i = if self.n == 2 { 1 } else { 4 };
        self.w[i] = self.w[i] & !(0xffff << 16) | u64::from(port) << 16;
        self
    }

    /// An IPv4 4-tuple as the TIME-WAIT records pack it: local address, remote address,
    /// local port << 16 | remote port; `None` for any other 4-tuple.
    #[inline]
    pub(super) fn v4_words(&self) -> Option<[u32; 3]> {
        (self.n == 2).then(|| [(self.w[0] >> 32) as u32, self.w[0] as u32, self.w[1] as u32])
    }

    /// The key of a local endpoint.
    #[inline]
    pub(super) fn local(a: &SocketAddr) -> Self {
        let port = u64::from(a.port());
        match a.ip() {
            // The address fills the high half; the port and a marker bit the low one.
            IpAddr::V4(ip) => {
                FlowKey { w: [u64::from(ip.to_bits()) << 32 | port << 16 | 1, 0, 0, 0, 0], n: 1 }
            }
            IpAddr::V6(ip) => {
                let b = ip.to_bits();
                FlowKey { w: [(b >> 64) as u64, b as u64, port | TAG_LOCAL, 0, 0], n: 3 }
            }
        }
    }
}

impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One whole-word write per word in use (see the module documentation).
        for &w in &self.w[..usize::from(self.n)] {
            state.write_u64(w);
        }
    }
}

/// SipHash-1-3 (Aumasson and Bernstein) keyed by the stack's secret, for the tables.
///
/// The state is compressed word by word as the words come; `write` accepts any bytes
/// (buffering a partial word), and any sequence of writes hashes like one write of their
/// concatenation, so the output is standard SipHash-1-3 of the bytes written (integers
/// in little-endian order) — checked against the `siphasher` crate in the tests.
#[derive(Clone, Copy, Debug)]
pub(super) struct FlowHasher {
    v: [u64; 4],
    /// Bytes written so far.
    len: u64,
    /// A partial word (its low `len % 8` bytes).
    tail: u64,
}

impl FlowHasher {
    fn new(k0: u64, k1: u64) -> Self {
        FlowHasher { v: sip_init(k0, k1), len: 0, tail: 0 }
    }

    /// One message word (see [`sip_compress`]).
    #[inline(always)]
    fn compress(&mut self, m: u64) {
        sip_compress(&mut self.v, m);
    }
}

impl Hasher for FlowHasher {
    #[inline]
    fn write_u64(&mut self, w: u64) {
        let used = (self.len % 8) as u32;
        self.len += 8;
        if used == 0 {
            self.compress(w);
        } else {
            // Complete the partial word with the low bytes of `w`; its high bytes start
            // the next one.
            let m = self.tail | w << (8 * used);
            self.compress(m);
            self.tail = w >> (64 - 8 * used);
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let used = (self.len % 8) as u32;
            self.tail |= u64::from(b) << (8 * used);
            self.len += 1;
            if used == 7 {
                let m = self.tail;
                self.tail = 0;
                self.compress(m);
            }
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut v = self.v;
        sip_compress(&mut v, self.tail | (self.len & 0xff) << 56);
        sip_finish(v)
    }
}

/// The keys of [`FlowHasher`], derived from the stack's secret.
#[derive(Clone, Copy, Debug)]
pub(super) struct FlowKeys {
    k0: u64,
    k1: u64,
}

impl FlowKeys {
    pub(super) fn new(secret: &[u8; 16]) -> Self {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&secret[..8]);
        b.copy_from_slice(&secret[8..]);
        FlowKeys { k0: u64::from_le_bytes(a) ^ DOMAIN_TABLES, k1: u64::from_le_bytes(b) }
    }

    /// The keyed hash of `key` (what `hash_one` gives).
    ///
    /// Speed: never inlined, so the SipHash rounds exist once in the code; each inlined
    /// copy at the half-dozen call sites cost instruction cache for every connection's
    /// setup and teardown (see the `churn_instr` benchmark's I1 misses).
    #[inline(never)]
    pub(super) fn hash_key(&self, key: &FlowKey) -> u64 {
        if key.n == 2 {
            // Speed: the two words of an IPv4 4-tuple, then the length byte of 16 bytes
            // (what `hash_one` does, without its per-word buffering test), through the
            // SipHash body the ISNs use too (size: one copy of the rounds in the code).
            return sip13_words(self.k0, self.k1, &[key.w[0], key.w[1], 16 << 56]);
        }
        self.hash_one(key)
    }
}

impl BuildHasher for FlowKeys {
    type Hasher = FlowHasher;
    #[inline]
    fn build_hasher(&self) -> FlowHasher {
        FlowHasher::new(self.k0, self.k1)
    }
}

/// A connection key with its keyed hash, computed once.
///
/// Speed: the connection table hashes each key with SipHash once, when it is built;
/// the index itself then only uses the stored hash, so a key looked up, inserted and
/// removed again costs one SipHash, not three.
#[derive(Clone, Copy, Debug)]
pub(super) struct HashedKey {
    key: FlowKey,
    hash: u64,
}

impl HashedKey {
    /// The keyed SipHash of the key (the TIME-WAIT table hashes with the same keys: see
    /// `TimeWaitTable::contains_hashed`).
    #[inline]
    pub(super) fn sip(&self) -> u64 {
        self.hash
    }

    /// The key.
    #[inline]
    pub(super) fn key(&self) -> &FlowKey {
        &self.key
    }

    /// The key of `t`, hashed with `keys`.
    #[cfg(test)]
    pub(super) fn of(keys: &FlowKeys, t: &FourTuple) -> Self {
        let key = FlowKey::tuple(t);
        HashedKey { key, hash: keys.hash_key(&key) }
    }
}

/// One entry of the connection index: the slot of a connection and 32 bits of the
/// keyed hash of its 4-tuple.
#[derive(Clone, Copy, Debug)]
struct ConnEntry {
    hash: u32,
    slot: u32,
}

/// The hash the connection index files an entry under, from 32 bits of the keyed
/// SipHash (the bits it keeps beside the entry): repeated in both halves so that the
/// SwissTable's bucket bits (low) and tag bits (top 7) both come from them.
#[inline(always)]
fn stored_hash(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

/// The 4-tuple of the connection in slot `slot`, if there is one.
#[inline(always)]
fn slot_tuple(slots: &[Slot], slot: u32) -> Option<&FourTuple> {
    slots.get(slot as usize).and_then(|s| s.conn.as_deref()).map(|c| &c.tuple)
}

/// Connections by 4-tuple (slot indices), remembering the last key it handled.
///
/// Size: the index stores only the slot and 32 bits of the keyed hash (8 bytes an
/// entry, not a 64-byte key and value); a probe compares the hash bits, then the key
/// with the 4-tuple of the connection in that slot (which the caller reads right
/// after anyway). Removal needs no key comparison at all: a slot is filed under its
/// own 4-tuple only, so the entry of that hash and slot is the one. The hash bits are
/// keyed SipHash bits, as in the TIME-WAIT index: a peer still cannot aim its tuples
/// at one bucket. (It replaced a `HashMap` of 48-byte keys whose copies and compares
/// inside the map's code ran on every connection's setup and teardown. Measured:
/// `mem_idle_conn` 810.5 -> 721.6 bytes; the churn lifecycle's hot code about the
/// same, 650 lines, and +0.4% instructions, mostly the read of the slot's tuple.)
#[derive(Debug)]
pub(super) struct ConnTable {
    index: HashTable<ConnEntry>,
    keys: FlowKeys,
    /// The last key looked up, inserted or removed, and whether (and where) the map
    /// holds it: always exact, since every change of the map sets it to the key
    /// changed.
    ///
    /// Speed: the segments of one connection come in runs, and a connection's key is
    /// typically looked up (a miss for a SYN), inserted, then found segment after
    /// segment, and finally removed (twice over when it is closed and then released):
    /// each step after the first reuses the hash, or skips the map altogether.
    ///
    /// Before the first key: [`NO_KEY`], equal to no key (size: no `Option` to test at
    /// each use).
    last: (HashedKey, Option<u32>),
}

/// The all-zero key: no 4-tuple has it (the last word of every 4-tuple key holds its
/// family tag).
const NO_KEY: HashedKey = HashedKey { key: FlowKey { w: [0; 5], n: 0 }, hash: 0 };

impl ConnTable {
    pub(super) fn new(keys: FlowKeys) -> Self {
        ConnTable { index: HashTable::new(), keys, last: (NO_KEY, None) }
    }

    /// The key of `t`, hashed (or the remembered one, if it is that key).
    ///
    /// Speed: a caller that needs the key for several steps (look up, check the
    /// TIME-WAIT table, insert or remove) builds it once here and passes it on to the
    /// `*_hashed` methods.
    ///
    /// Size: never inlined; inlined, the packing of the tuple (a match on both address
    /// families) was repeated at each of its callers on the setup and teardown paths
    /// (`after_conn_event` held three copies).
    #[inline(never)]
    pub(super) fn key(&self, t: &FourTuple) -> HashedKey {
        self.hashed_inline(FlowKey::tuple(t))
    }

    /// `key`, hashed (or the remembered one, if it is that key).
    ///
    /// Size: never inlined; inlined, the comparison with the remembered key and the
    /// copies of the 56-byte result were repeated at each of its callers on the setup
    /// and teardown paths.
    #[inline(never)]
    pub(super) fn hashed(&self, key: FlowKey) -> HashedKey {
        self.hashed_inline(key)
    }

    /// The body of [`ConnTable::hashed`].
    #[inline(always)]
    fn hashed_inline(&self, key: FlowKey) -> HashedKey {
        if self.last.0.key == key {
            return self.last.0;
        }
        HashedKey { key, hash: self.keys.hash_key(&key) }
    }

    /// What the remembered entry says about `key`, if it is that key.
    #[inline]
    fn remembered(&self, key: &FlowKey) -> Option<Option<u32>> {
        (self.last.0.key == *key).then_some(self.last.1)
    }

    /// The slot of the connection with this 4-tuple, remembering the answer.
    #[cfg(test)]
    pub(super) fn lookup(&mut self, t: &FourTuple, slots: &[Slot]) -> Option<u32> {
        self.lookup_key(FlowKey::tuple(t), slots)
    }

    /// The slot of the connection from the addresses and ports of a segment,
    /// remembering the answer (speed: no [`FourTuple`] to build first).
    #[inline]
    pub(super) fn lookup_parts(
        &mut self,
        local: IpAddr,
        local_port: u16,
        remote: IpAddr,
        remote_port: u16,
        slots: &[Slot],
    ) -> Option<u32> {
        if let (IpAddr::V4(l), IpAddr::V4(r), (k, v)) = (local, remote, &self.last) {
            // Speed: a segment of the connection looked up last (the common case) is
            // recognised from two words, without building the whole key. `n == 2`
            // only for a key of two IPv4 endpoints, whose other words are zero, so
            // this compares the keys exactly.
            let ips = u64::from(l.to_bits()) << 32 | u64::from(r.to_bits());
            let ports = u64::from(local_port) << 16 | u64::from(remote_port) | TAG_V4_TUPLE;
            if k.key.n == 2 && k.key.w[0] == ips && k.key.w[1] == ports {
                return *v;
            }
        }
        self.lookup_key(FlowKey::parts(local, local_port, remote, remote_port), slots)
    }

    /// [`ConnTable::lookup_parts`] for an IPv4 segment whose addresses and ports are
    /// given as read from the datagram (see `wire::v4_flow_words`): `ips` the
    /// destination (local) address above the source, `ports` the TCP header's first
    /// word (source port above destination port).
    ///
    /// Speed: the caller reads these from the datagram's bytes, not from the packet it
    /// has just parsed. That packet is written field by field, and the remembered-key
    /// test read two of its fields with one load, which the processor cannot forward
    /// from two stores: `perf annotate` put 18% of `handle_packet_into`'s own samples
    /// in `bulk_1500` on that load.
    #[inline]
    pub(super) fn lookup_v4_words(&mut self, ips: u64, ports: u32, slots: &[Slot]) -> Option<u32> {
        let local = Ipv4Addr::from_bits((ips >> 32) as u32);
        let remote = Ipv4Addr::from_bits(ips as u32);
        let (remote_port, local_port) = ((ports >> 16) as u16, ports as u16);
        self.lookup_parts(IpAddr::V4(local), local_port, IpAddr::V4(remote), remote_port, slots)
    }

    #[inline(never)]
    fn lookup_key(&mut self, key: FlowKey, slots: &[Slot]) -> Option<u32> {
        if let Some(v) = self.remembered(&key) {
            return v;
        }
        let k = HashedKey { key, hash: self.keys.hash_key(&key) };
        let v = self.find(&k, slots);
        self.last = (k, v);
        v
    }

    /// The slot filed under `k`: the hash bits match, and so does the 4-tuple of the
    /// connection in the slot.
    #[inline(never)]
    fn find(&self, k: &HashedKey, slots: &[Slot]) -> Option<u32> {
        let h = k.hash as u32;
        let hit = self.index.find(stored_hash(h), |e| {
            e.hash == h && slot_tuple(slots, e.slot).is_some_and(|t| FlowKey::tuple(t) == k.key)
        });
        hit.map(|e| e.slot)
    }

    /// The slot of the connection with the key from [`ConnTable::key`], remembering the
    /// answer.
    #[inline]
    pub(super) fn lookup_hashed(&mut self, k: HashedKey, slots: &[Slot]) -> Option<u32> {
        if let Some(v) = self.remembered(&k.key) {
            return v;
        }
        let v = self.find(&k, slots);
        self.last = (k, v);
        v
    }

    /// File slot `idx` under its 4-tuple `t`, which the table must not hold (the
    /// callers have looked it up and found no connection).
    pub(super) fn insert(&mut self, t: FourTuple, idx: u32) {
        let k = self.key(&t);
        self.insert_hashed(k, idx);
    }

    /// [`ConnTable::insert`] of a key from [`ConnTable::key`].
    pub(super) fn insert_hashed(&mut self, k: HashedKey, idx: u32) {
        self.last = (k, Some(idx));
        let hash = k.hash as u32;
        self.index.insert_unique(stored_hash(hash), ConnEntry { hash, slot: idx }, |e| stored_hash(e.hash));
    }

    /// Remove the entry for `t` if it is slot `idx` (one lookup).
    ///
    /// Size: never inlined, for the same reason as [`ConnTable::key`].
    #[inline(never)]
    pub(super) fn remove_if(&mut self, t: &FourTuple, idx: u32) {
        let k = self.key(t);
        self.remove_if_hashed(k, idx);
    }

    /// [`ConnTable::remove_if`] of a key from [`ConnTable::key`].
    ///
    /// (Never inlined: one copy of the index's removal for its three callers.)
    #[inline(never)]
    pub(super) fn remove_if_hashed(&mut self, k: HashedKey, idx: u32) {
        // A slot is filed under its own 4-tuple only (the callers pass the tuple of the
        // connection in slot `idx`): the entry of this hash and slot is its entry.
        // (Size: no look at the remembered key first; this probe compares no keys.)
        let hash = k.hash as u32;
        if let Ok(e) = self.index.find_entry(stored_hash(hash), |e| e.slot == idx && e.hash == hash) {
            e.remove();
            self.last = (k, None);
        }
    }
}

/// A map keyed by 4-tuple with the tables' hasher (the owners of TIME-WAIT records),
/// offering the `HashMap` methods its users need.
#[derive(Debug)]
pub(super) struct TupleMap<V> {
    map: HashMap<FlowKey, V, FlowKeys>,
}

impl<V> TupleMap<V> {
    pub(super) fn new(keys: FlowKeys) -> Self {
        TupleMap { map: HashMap::with_hasher(keys) }
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn get(&self, t: &FourTuple) -> Option<&V> {
        self.map.get(&FlowKey::tuple(t))
    }

    pub(super) fn insert(&mut self, t: FourTuple, v: V) -> Option<V> {
        self.map.insert(FlowKey::tuple(&t), v)
    }

    pub(super) fn remove(&mut self, t: &FourTuple) -> Option<V> {
        self.map.remove(&FlowKey::tuple(t))
    }
}

/// The hasher of the listener table: unkeyed, a folded multiply per word.
///
/// Safe without the secret: hash flooding needs the attacker to choose the keys stored,
/// and the listeners' local endpoints are chosen by the application ([`Stack::listen`]),
/// never by a peer. A peer only chooses which endpoint a segment looks up, which costs
/// one probe sequence whatever it picks. (The 4-tuple tables, whose keys a peer does
/// choose, keep the keyed SipHash.)
///
/// Speed: a SYN's listener lookup hashes one word (IPv4) in a few instructions instead
/// of a SipHash (about 170).
///
/// [`Stack::listen`]: super::Stack::listen
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LocalHash;

/// See [`LocalHash`].
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LocalHasher(u64);

impl LocalHasher {
    /// Mix one word in: the full 128-bit product of (state ^ word) and an odd constant,
    /// its halves folded, so that every input bit reaches the low (bucket) and the high
    /// (tag) bits of the hash.
    #[inline(always)]
    fn mix(&mut self, w: u64) {
        let p = u128::from(self.0 ^ w) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for LocalHasher {
    #[inline]
    fn write_u64(&mut self, w: u64) {
        self.mix(w);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `FlowKey`s are hashed here, through `write_u64`; take anything else in
        // rather than lose it.
        for &b in bytes {
            self.mix(u64::from(b));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for LocalHash {
    type Hasher = LocalHasher;
    #[inline]
    fn build_hasher(&self) -> LocalHasher {
        LocalHasher(0)
    }
}

/// Listeners by local endpoint.
#[derive(Debug)]
pub(super) struct ListenerTable {
    map: HashMap<FlowKey, u32, LocalHash>,
}

impl ListenerTable {
    pub(super) fn new() -> Self {
        ListenerTable { map: HashMap::with_hasher(LocalHash) }
    }

    pub(super) fn get(&self, a: &SocketAddr) -> Option<&u32> {
        self.map.get(&FlowKey::local(a))
    }

    pub(super) fn contains_key(&self, a: &SocketAddr) -> bool {
        self.map.contains_key(&FlowKey::local(a))
    }

    pub(super) fn insert(&mut self, a: SocketAddr, idx: u32) -> Option<u32> {
        self.map.insert(FlowKey::local(&a), idx)
    }

    pub(super) fn remove(&mut self, a: &SocketAddr) -> Option<u32> {
        self.map.remove(&FlowKey::local(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Conn;
    use crate::seq::SeqNum;
    use crate::Config;
    use siphasher::sip::SipHasher13;
    use std::collections::HashSet;
    use std::net::Ipv6Addr;

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    fn v6(last: u16, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last)), port)
    }

    #[test]
    fn flow_hasher_is_siphash_1_3_of_the_bytes_written() {
        let (k0, k1) = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let data: Vec<u8> = (0..64u8).collect();
        for len in 0..data.len() {
            let mut reference = SipHasher13::new_with_keys(k0, k1);
            reference.write(&data[..len]);
            let mut ours = FlowHasher::new(k0, k1);
            ours.write(&data[..len]);
            assert_eq!(ours.finish(), reference.finish(), "len {len}");
        }
        // Whole words, also after an odd number of bytes.
        for lead in 0..8 {
            let mut reference = SipHasher13::new_with_keys(k0, k1);
            let mut ours = FlowHasher::new(k0, k1);
            reference.write(&data[..lead]);
            ours.write(&data[..lead]);
            for w in [0x0123_4567_89ab_cdefu64, u64::MAX, 0, 42] {
                reference.write(&w.to_le_bytes());
                ours.write_u64(w);
            }
            assert_eq!(ours.finish(), reference.finish(), "lead {lead}");
        }
    }

    #[test]
    fn hash_key_is_the_hash_of_the_key() {
        let keys = FlowKeys::new(&[0x5a; 16]);
        for (l, r) in [(v4([192, 0, 2, 1], 80), v4([192, 0, 2, 2], 5000)), (v6(1, 80), v6(2, 443))] {
            for key in [
                FlowKey::tuple(&FourTuple { local: l, remote: r }),
                FlowKey::tuple(&FourTuple { local: l, remote: v6(9, 1) }),
                FlowKey::local(&l),
            ] {
                assert_eq!(keys.hash_key(&key), keys.hash_one(key));
            }
        }
    }

    #[test]
    fn keys_depend_on_the_secret() {
        let key =
            FlowKey::tuple(&FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 2], 5000) });
        let a = FlowKeys::new(&[1; 16]).hash_one(key);
        let b = FlowKeys::new(&[2; 16]).hash_one(key);
        assert_ne!(a, b);
        assert_eq!(a, FlowKeys::new(&[1; 16]).hash_one(key));
    }

    #[test]
    fn distinct_tuples_and_endpoints_have_distinct_keys() {
        let eps = [
            v4([192, 0, 2, 1], 80),
            v4([192, 0, 2, 1], 81),
            v4([192, 0, 2, 2], 80),
            v6(1, 80),
            v6(2, 80),
            v6(1, 81),
        ];
        let mut tuples = HashSet::new();
        let mut keys = Vec::new();
        for &l in &eps {
            for &r in &eps {
                tuples.insert((l, r));
                keys.push(FlowKey::tuple(&FourTuple { local: l, remote: r }));
            }
            keys.push(FlowKey::local(&l));
        }
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(tuples.len() + eps.len(), keys.len());
    }

    #[test]
    fn addresses_differing_in_any_one_bit_have_distinct_keys() {
        let base = 0xC000_0201u32;
        let remote = v4([198, 51, 100, 7], 443);
        for bit in 0..32 {
            let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(base)), 80);
            let b = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(base ^ (1 << bit))), 80);
            assert_ne!(FlowKey::local(&a), FlowKey::local(&b), "bit {bit}");
            assert_ne!(
                FlowKey::tuple(&FourTuple { local: a, remote }),
                FlowKey::tuple(&FourTuple { local: b, remote }),
                "bit {bit}"
            );
            assert_ne!(
                FlowKey::tuple(&FourTuple { local: remote, remote: a }),
                FlowKey::tuple(&FourTuple { local: remote, remote: b }),
                "bit {bit}"
            );
        }
        for bit in 0..16 {
            let a = v4([192, 0, 2, 1], 0x8001);
            let b = v4([192, 0, 2, 1], 0x8001 ^ (1 << bit));
            assert_ne!(FlowKey::local(&a), FlowKey::local(&b), "port bit {bit}");
            assert_ne!(
                FlowKey::tuple(&FourTuple { local: a, remote }),
                FlowKey::tuple(&FourTuple { local: b, remote }),
                "port bit {bit}"
            );
        }
    }

    #[test]
    fn the_lookup_cache_never_outlives_a_change() {
        let t = FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 2], 5000) };
        let conn = || Some(Box::new(Conn::new(&Config::default(), t, SeqNum(0))));
        let slots: Vec<Slot> = (0..10).map(|_| Slot { generation: 0, conn: conn() }).collect();
        let mut table = ConnTable::new(FlowKeys::new(&[0; 16]));
        assert_eq!(table.lookup(&t, &slots), None);
        table.insert(t, 7);
        assert_eq!(table.lookup(&t, &slots), Some(7));
        assert_eq!(table.lookup(&t, &slots), Some(7));
        table.remove_if(&t, 7);
        assert_eq!(table.lookup(&t, &slots), None);
        table.insert(t, 9);
        assert_eq!(table.lookup(&t, &slots), Some(9));
        table.remove_if(&t, 8);
        assert_eq!(table.lookup(&t, &slots), Some(9));
        table.remove_if(&t, 9);
        assert_eq!(table.lookup(&t, &slots), None);
    }

    /// An IPv4 datagram from `remote` to `local` (a bare ACK), as it arrives.
    fn datagram_to(local: SocketAddr, remote: SocketAddr) -> Vec<u8> {
        let hdr = crate::wire::TcpHeader {
            src_port: remote.port(),
            dst_port: local.port(),
            seq: SeqNum(1),
            ack: SeqNum(2),
            flags: crate::wire::TcpFlags::ACK,
            window: 100,
            urgent: 0,
            options: crate::wire::TcpOptions::NONE,
        };
        let mut buf = vec![0u8; 60];
        let n = crate::wire::emit(&mut buf, remote.ip(), local.ip(), 64, &hdr, &[]).expect("fits");
        buf.truncate(n);
        buf
    }

    #[test]
    fn the_lookup_from_datagram_words_finds_what_the_tuple_lookup_finds() {
        let keys = FlowKeys::new(&[5; 16]);
        let t = FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 2], 5000) };
        // The same endpoints with the ports or the addresses the other way round, and
        // a different remote port: each is another connection, or none.
        let swapped_ports = FourTuple { local: v4([192, 0, 2, 1], 5000), remote: v4([192, 0, 2, 2], 80) };
        let swapped_addrs = FourTuple { local: v4([192, 0, 2, 2], 80), remote: v4([192, 0, 2, 1], 5000) };
        let other_port = FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 2], 5001) };
        let all = [t, swapped_ports, swapped_addrs, other_port];
        let slots: Vec<Slot> = all
            .iter()
            .map(|&u| Slot {
                generation: 0,
                conn: Some(Box::new(Conn::new(&Config::default(), u, SeqNum(0)))),
            })
            .collect();
        let mut table = ConnTable::new(keys);
        table.insert(t, 0);
        table.insert(swapped_ports, 1);
        table.insert(swapped_addrs, 2);
        // `other_port` has no entry.
        for warm in all {
            for (i, u) in all.iter().enumerate() {
                // Remember `warm` first, so that both the remembered-key test and the
                // full lookup are exercised, hit and miss.
                let _ = table.lookup(&warm, &slots);
                let d = datagram_to(u.local, u.remote);
                let (ips, ports) = crate::wire::v4_flow_words(&d).expect("IPv4 with ports");
                let want = (i < 3).then_some(i as u32);
                assert_eq!(table.lookup_v4_words(ips, ports, &slots), want, "{u:?} after {warm:?}");
            }
        }
    }

    #[test]
    fn datagram_words_are_none_for_ipv6_and_short_input() {
        let d = datagram_to(v6(1, 80), v6(2, 5000));
        assert!(crate::wire::parse(&d).is_ok());
        assert_eq!(crate::wire::v4_flow_words(&d), None);
        let d = datagram_to(v4([192, 0, 2, 1], 80), v4([192, 0, 2, 2], 5000));
        assert!(crate::wire::v4_flow_words(&d).is_some());
        assert_eq!(crate::wire::v4_flow_words(&d[..23]), None);
        assert_eq!(crate::wire::v4_flow_words(&[]), None);
    }

    #[test]
    fn lookups_compare_the_tuple_of_the_slot() {
        let keys = FlowKeys::new(&[3; 16]);
        let tuples: Vec<FourTuple> = (0..200u16)
            .map(|i| FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 2], 1000 + i) })
            .chain((0..50).map(|i| FourTuple { local: v6(1, 80), remote: v6(2, 2000 + i) }))
            .collect();
        let mut slots: Vec<Slot> = tuples
            .iter()
            .map(|&t| Slot {
                generation: 0,
                conn: Some(Box::new(Conn::new(&Config::default(), t, SeqNum(0)))),
            })
            .collect();
        let mut table = ConnTable::new(keys);
        for (i, &t) in tuples.iter().enumerate() {
            table.insert(t, i as u32);
        }
        // Fresh tables (no remembered key) see the same.
        let fresh = |table: &ConnTable| ConnTable { index: table.index.clone(), keys, last: (NO_KEY, None) };
        for (i, t) in tuples.iter().enumerate() {
            assert_eq!(fresh(&table).lookup(t, &slots), Some(i as u32));
        }
        let other = FourTuple { local: v4([192, 0, 2, 1], 80), remote: v4([192, 0, 2, 3], 1000) };
        assert_eq!(fresh(&table).lookup(&other, &slots), None);
        // Remove every other one; a slot emptied without removal matches nothing.
        for (i, t) in tuples.iter().enumerate().step_by(2) {
            table.remove_if(t, i as u32);
        }
        slots[1].conn = None;
        for (i, t) in tuples.iter().enumerate() {
            let want = (i % 2 == 1 && i != 1).then_some(i as u32);
            assert_eq!(fresh(&table).lookup(t, &slots), want, "{i}");
        }
    }
}
