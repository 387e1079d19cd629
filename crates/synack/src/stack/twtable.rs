//! The TIME-WAIT table: compact records in deadline order, found by 4-tuple.
//!
//! Every TIME-WAIT deadline is "now + 2×MSL" (RFC 9293 3.10.7.4: entering TIME-WAIT
//! and each restart by a retransmitted FIN "restart the 2 MSL timeout"), the stack's
//! clock only moves forward and MSL is fixed for the life of a stack. A record set or
//! restarted later therefore never expires earlier, and the records can sit in one
//! FIFO in deadline order:
//!
//! - the records live in a ring of fixed-size chunks, oldest at the front; expiry and
//!   recycling at the TIME-WAIT limit take the front, and [`TimeWaitTable::next_deadline`]
//!   is the front's deadline (exact, as `poll_timeout` needs);
//! - a restart moves the record to the back, leaving a tombstone at its old place;
//!   removal by 4-tuple leaves a tombstone too. Tombstones at the front go at once, and
//!   when they outnumber the live records (and a chunk's worth) the ring is compacted,
//!   so the ring never holds more than about twice the live records, whatever a peer's
//!   FINs do;
//! - a hash index of ring positions ([`TwIndex`]: buckets of one cache line, 12
//!   positions each) finds a record by 4-tuple, with the same keyed SipHash of the
//!   packed tuple as the other tables (a hostile peer chooses the tuples; see
//!   [`FlowKeys`]). Its entries are deleted lazily: an entry whose position has left
//!   the ring's window is free, so recycling or expiring the front record touches no
//!   index memory (at the TIME-WAIT limit, every new record recycles one);
//! - next to each record the ring keeps 32 bits of that hash (the index is keyed by
//!   them, see [`index_hash`]). Speed: when the index is rebuilt (growth, compaction), a
//!   record's hash is read from a dense array (16 to a cache line) instead of being
//!   computed again from the record (a random read of 44 bytes and a SipHash each);
//!   this costs 4 bytes per record.
//!
//! A record is [`size_of::<Entry>()`](Entry) = 44 bytes: an IPv4 4-tuple packed into 12
//! bytes, or for any other 4-tuple the index of the tuple in a side table (the rarer
//! path); the sequence variables, windows and TS.Recent; the deadline. The timestamp
//! clock offset is not kept: it is a keyed hash of the 4-tuple, computed again when an
//! ACK is sent. Nor is the owner (the slot of a connection whose handle the
//! application still holds): owned records are rare and each has a whole connection
//! behind it, so they are listed in a separate map.

use super::table::{FlowKey, FlowKeys, HashedKey, TupleMap};
use super::twindex::{TwIndex, Window, SLOTS};
use crate::seq::SeqNum;
use crate::time::Instant;
use crate::trace::FourTuple;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Records per chunk of the ring. A chunk is 3 KiB: what a table holding any record
/// keeps at least; beyond the tombstones, the ring wastes only the unused parts of its
/// first and last chunks.
const CHUNK: usize = 64;

/// One chunk of the ring: the records, and the index hash bits of each (see the module
/// documentation).
#[derive(Debug)]
struct Chunk {
    entries: [Entry; CHUNK],
    hashes: [u32; CHUNK],
}

/// The hash the index files a record under, from the keyed SipHash of its 4-tuple's
/// [`FlowKey`]: its low 32 bits (kept next to the record).
#[inline]
fn index_hash(sip: u64) -> u32 {
    sip as u32
}

/// The index's load limit: at most 2 live records per 3 slots...
const LOAD_MAX: (usize, usize) = (2, 3);
/// ...and a rebuild sizes it for 1 per 2 (growth by a third: at most 64 / 12 × 2 =
/// 10.7 index bytes per record, at least 8.0). Why not fuller: see `twindex`.
const LOAD_REBUILT: (usize, usize) = (1, 2);

/// Entry flag: a tombstone (the record moved or went).
const DEAD: u8 = 1;
/// Entry flag: the 4-tuple is in the side table (not two IPv4 endpoints).
const WIDE: u8 = 2;
/// Entry flag: the connection negotiated timestamps (RFC 7323 3.2).
const TS: u8 = 4;

/// What a TIME-WAIT record holds, unpacked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct TimeWaitRecord {
    /// SND.NXT (= SND.UNA: our FIN is acknowledged).
    pub(super) snd_nxt: SeqNum,
    pub(super) rcv_nxt: SeqNum,
    /// RCV.WND as last advertised, in bytes (for the acceptability test, Table 6).
    pub(super) rcv_wnd: u32,
    /// MAX.SND.WND (RFC 5961 5, for the ACK range check).
    pub(super) max_snd_wnd: u32,
    /// When 2×MSL runs out.
    pub(super) deadline: Instant,
    /// The window field of our ACKs.
    pub(super) window: u16,
    /// TS.Recent, when the connection negotiated timestamps (RFC 7323 3.2).
    pub(super) ts_recent: Option<u32>,
    /// The connection's Differentiated Services field, for its ACKs (RFC 9293 3.9.1.9).
    pub(super) ds: u8,
}

impl TimeWaitRecord {
    /// RFC 9293 3.10.7.4, first step, Table 6 (the same test a full connection applies).
    pub(super) fn acceptable(&self, seq: SeqNum, seg_len: u32) -> bool {
        let (nxt, wnd) = (self.rcv_nxt, self.rcv_wnd);
        match (seg_len, wnd) {
            (0, 0) => seq == nxt,
            (0, _) => seq.in_window(nxt, nxt + wnd),
            (_, 0) => false,
            (_, _) => seq.in_window(nxt, nxt + wnd) || (seq + (seg_len - 1)).in_window(nxt, nxt + wnd),
        }
    }
}

/// One record as the ring stores it. Only 4-byte fields, so that nothing pads it.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// IPv4 4-tuple: local address, remote address, local port << 16 | remote port.
    /// Otherwise (flag [`WIDE`]): the index in the side table, then zeros.
    key: [u32; 3],
    snd_nxt: u32,
    rcv_nxt: u32,
    rcv_wnd: u32,
    max_snd_wnd: u32,
    /// TS.Recent (meaningful with flag [`TS`]).
    ts_recent: u32,
    /// The deadline's microseconds, low and high halves.
    deadline: [u32; 2],
    window: u16,
    flags: u8,
    /// The Differentiated Services field (in the byte the layout had spare).
    ds: u8,
}

impl Entry {
    const VACANT: Entry = Entry {
        key: [0; 3],
        snd_nxt: 0,
        rcv_nxt: 0,
        rcv_wnd: 0,
        max_snd_wnd: 0,
        ts_recent: 0,
        deadline: [0; 2],
        window: 0,
        flags: DEAD,
        ds: 0,
    };

    fn dead(&self) -> bool {
        self.flags & DEAD != 0
    }

    fn deadline(&self) -> Instant {
        Instant::from_micros(u64::from(self.deadline[1]) << 32 | u64::from(self.deadline[0]))
    }

    fn set_deadline(&mut self, t: Instant) {
        let us = t.as_micros();
        self.deadline = [us as u32, (us >> 32) as u32];
    }

    fn record(&self) -> TimeWaitRecord {
        TimeWaitRecord {
            snd_nxt: SeqNum(self.snd_nxt),
            rcv_nxt: SeqNum(self.rcv_nxt),
            rcv_wnd: self.rcv_wnd,
            max_snd_wnd: self.max_snd_wnd,
            deadline: self.deadline(),
            window: self.window,
            ts_recent: (self.flags & TS != 0).then_some(self.ts_recent),
            ds: self.ds,
        }
    }
}

fn unpack_v4(k: &[u32; 3]) -> FourTuple {
    FourTuple {
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::from_bits(k[0])), (k[2] >> 16) as u16),
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::from_bits(k[1])), k[2] as u16),
    }
}

/// The records in deadline order: a ring of chunks addressed by sequence numbers that
/// only grow (wrapping; the ring never holds anywhere near 2^32 entries).
#[derive(Debug)]
struct Ring {
    chunks: VecDeque<Box<Chunk>>,
    /// The sequence number of `chunks[0].entries[0]`.
    base: u32,
    /// The first entry (a live one, unless the ring is empty).
    head: u32,
    /// One past the last entry.
    tail: u32,
    /// 4-tuples other than IPv4, by the index an entry's key holds.
    wide: Vec<FourTuple>,
    /// Free indices of `wide`.
    wide_free: Vec<u32>,
}

impl Ring {
    fn entry(&self, seq: u32) -> &Entry {
        let off = seq.wrapping_sub(self.base) as usize;
        &self.chunks[off / CHUNK].entries[off % CHUNK]
    }

    fn entry_mut(&mut self, seq: u32) -> &mut Entry {
        let off = seq.wrapping_sub(self.base) as usize;
        &mut self.chunks[off / CHUNK].entries[off % CHUNK]
    }

    /// The index hash of the entry at `seq` (see [`index_hash`]).
    fn hash(&self, seq: u32) -> u32 {
        let off = seq.wrapping_sub(self.base) as usize;
        self.chunks[off / CHUNK].hashes[off % CHUNK]
    }

    /// Store the entry at `seq` with its index hash.
    fn set(&mut self, seq: u32, e: Entry, hash: u32) {
        let off = seq.wrapping_sub(self.base) as usize;
        let chunk = &mut self.chunks[off / CHUNK];
        chunk.entries[off % CHUNK] = e;
        chunk.hashes[off % CHUNK] = hash;
    }

    /// The window of positions the index may point into.
    fn window(&self) -> Window {
        Window::new(self.head, self.tail)
    }

    fn tuple(&self, e: &Entry) -> FourTuple {
        if e.flags & WIDE != 0 {
            self.wide[e.key[0] as usize]
        } else {
            unpack_v4(&e.key)
        }
    }

    /// Whether the entry at `seq` is the live record of the 4-tuple with `key` (`v4` its
    /// packed form, if it is an IPv4 one). (The index never points at a tombstone inside
    /// the window; refusing one is a second guard.)
    fn matches(&self, seq: u32, key: &FlowKey, v4: Option<[u32; 3]>) -> bool {
        let e = self.entry(seq);
        match v4 {
            Some(k) => e.flags & (WIDE | DEAD) == 0 && e.key == k,
            None => e.flags & (WIDE | DEAD) == WIDE && FlowKey::tuple(&self.wide[e.key[0] as usize]) == *key,
        }
    }

    /// Append `e`, filed in the index under `hash` (an [`index_hash`]).
    fn push(&mut self, e: Entry, hash: u32) -> u32 {
        let off = self.tail.wrapping_sub(self.base) as usize;
        if off == self.chunks.len() * CHUNK {
            self.chunks.push_back(Box::new(Chunk { entries: [Entry::VACANT; CHUNK], hashes: [0; CHUNK] }));
        }
        let seq = self.tail;
        self.set(seq, e, hash);
        self.tail = seq.wrapping_add(1);
        seq
    }

    /// Drop the tombstones at the front (and the chunks left behind); returns how many.
    fn trim(&mut self) -> usize {
        let mut n = 0;
        while self.head != self.tail && self.entry(self.head).dead() {
            self.head = self.head.wrapping_add(1);
            n += 1;
            self.release_front_chunk();
        }
        n
    }

    fn release_front_chunk(&mut self) {
        if self.head.wrapping_sub(self.base) as usize >= CHUNK {
            self.chunks.pop_front();
            self.base = self.base.wrapping_add(CHUNK as u32);
        }
    }

    fn wide_insert(&mut self, t: FourTuple) -> u32 {
        match self.wide_free.pop() {
            Some(i) => {
                self.wide[i as usize] = t;
                i
            }
            None => {
                self.wide.push(t);
                (self.wide.len() - 1) as u32
            }
        }
    }
}

/// Every TIME-WAIT record: see the module documentation.
#[derive(Debug)]
pub(super) struct TimeWaitTable {
    keys: FlowKeys,
    /// The ring position of each live record, by keyed hash of its 4-tuple.
    index: TwIndex,
    ring: Ring,
    live: usize,
    /// Tombstones between the ring's head and tail.
    dead: usize,
    /// The front's deadline, kept at hand for `poll_timeout`, which drivers call after
    /// every input.
    next: Option<Instant>,
    /// The slot of the connection behind a record whose handle the application still
    /// holds.
    owners: TupleMap<u32>,
}

impl TimeWaitTable {
    pub(super) fn new(keys: FlowKeys) -> Self {
        TimeWaitTable {
            keys,
            index: TwIndex::new(),
            ring: Ring {
                chunks: VecDeque::new(),
                base: 0,
                head: 0,
                tail: 0,
                wide: Vec::new(),
                wide_free: Vec::new(),
            },
            live: 0,
            dead: 0,
            next: None,
            owners: TupleMap::new(keys),
        }
    }

    /// Records held.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// The index hash of `key` (see [`index_hash`]).
    fn hash(keys: &FlowKeys, key: &FlowKey) -> u32 {
        index_hash(keys.hash_key(key))
    }

    /// The ring position of the record of `t`.
    fn find(&self, t: &FourTuple) -> Option<u32> {
        if self.live == 0 {
            // Speed: no hash for an empty table (a host that never closes first).
            return None;
        }
        let key = FlowKey::tuple(t);
        self.find_hashed(&key, Self::hash(&self.keys, &key))
    }

    /// [`TimeWaitTable::find`] with the 4-tuple's key and hash computed.
    fn find_hashed(&self, key: &FlowKey, hash: u32) -> Option<u32> {
        self.locate(key, hash).map(|loc| self.index.pos(loc))
    }

    /// Where the index holds the position of the record of `key` (with `hash`).
    #[inline]
    fn locate(&self, key: &FlowKey, hash: u32) -> Option<super::twindex::Loc> {
        let v4 = key.v4_words();
        let ring = &self.ring;
        self.index.find(hash, ring.window(), |s| ring.matches(s, key, v4))
    }

    pub(super) fn contains(&self, t: &FourTuple) -> bool {
        self.find(t).is_some()
    }

    /// [`TimeWaitTable::contains`] given `t`'s key and its keyed SipHash with this
    /// table's keys (speed: the connection table computed both already, with the same
    /// keys: `ConnTable::key`).
    pub(super) fn contains_hashed(&self, t: &FourTuple, k: &HashedKey) -> bool {
        debug_assert!(*k.key() == FlowKey::tuple(t), "the key of another 4-tuple");
        self.contains_key(k)
    }

    /// Bring the index bucket where a lookup of `k` starts into the cache, ahead of
    /// that lookup ([`TimeWaitTable::contains_key`]); changes nothing.
    pub(super) fn warm(&self, k: &HashedKey) {
        if self.live != 0 {
            self.index.warm(index_hash(k.sip()));
        }
    }

    /// [`TimeWaitTable::contains_hashed`] without the 4-tuple (speed: the ephemeral port
    /// search builds only keys).
    pub(super) fn contains_key(&self, k: &HashedKey) -> bool {
        if self.live == 0 {
            return false;
        }
        let key = k.key();
        let hash = index_hash(k.sip());
        debug_assert_eq!(hash, Self::hash(&self.keys, key), "a hash with other keys");
        self.find_hashed(key, hash).is_some()
    }

    /// The record of `t`, with the 4-tuple as it was inserted.
    pub(super) fn get(&self, t: &FourTuple) -> Option<(FourTuple, TimeWaitRecord)> {
        self.find(t).map(|s| {
            let e = self.ring.entry(s);
            (self.ring.tuple(e), e.record())
        })
    }

    /// The slot of the connection whose handle the application still holds.
    pub(super) fn owner(&self, t: &FourTuple) -> Option<u32> {
        if self.owners.len() == 0 {
            return None;
        }
        self.owners.get(t).copied()
    }

    /// The application released the handle of the connection in `slot`.
    pub(super) fn disown(&mut self, t: &FourTuple, slot: u32) {
        if self.owner(t) == Some(slot) {
            self.owners.remove(t);
        }
    }

    /// The earliest deadline of all (the front's: the ring is in deadline order).
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.next
    }

    /// Add the record of `t`, replacing any, at the back: its deadline must be at least
    /// every other's (see the module documentation).
    #[cfg(test)]
    pub(super) fn insert(&mut self, t: FourTuple, rec: TimeWaitRecord, owner: Option<u32>) {
        let k = HashedKey::of(&self.keys, &t);
        self.insert_hashed(&t, &k, rec, owner);
    }

    /// Add the record of `t`, replacing any, at the back (its deadline must be at least
    /// every other's), given `t`'s key and its keyed SipHash with this table's keys
    /// (speed: the connection table just removed `t`, with the same keys:
    /// `ConnTable::key`).
    pub(super) fn insert_hashed(
        &mut self,
        t: &FourTuple,
        k: &HashedKey,
        rec: TimeWaitRecord,
        owner: Option<u32>,
    ) {
        let key = k.key();
        debug_assert!(*key == FlowKey::tuple(t), "the key of another 4-tuple");
        let v4 = key.v4_words();
        let hash = index_hash(k.sip());
        debug_assert_eq!(hash, Self::hash(&self.keys, key), "a hash with other keys");
        if let Some(loc) = self.locate(key, hash) {
            let seq = self.index.take(loc);
            self.bury(seq);
        }
        debug_assert!(
            self.live == 0 || self.ring.entry(self.ring.tail.wrapping_sub(1)).deadline() <= rec.deadline,
            "TIME-WAIT deadlines must come in order"
        );
        let (packed, flags) = match v4 {
            Some(k) => (k, 0),
            None => ([self.ring.wide_insert(*t), 0, 0], WIDE),
        };
        let mut e = Entry {
            key: packed,
            snd_nxt: rec.snd_nxt.0,
            rcv_nxt: rec.rcv_nxt.0,
            rcv_wnd: rec.rcv_wnd,
            max_snd_wnd: rec.max_snd_wnd,
            ts_recent: rec.ts_recent.unwrap_or(0),
            deadline: [0; 2],
            window: rec.window,
            flags: flags | if rec.ts_recent.is_some() { TS } else { 0 },
            ds: rec.ds,
        };
        e.set_deadline(rec.deadline);
        let seq = self.ring.push(e, hash);
        self.live += 1;
        if self.live * LOAD_MAX.1 > self.index.slots() * LOAD_MAX.0
            || self.index.too_old(self.ring.tail)
            || !self.index.insert(hash, seq, self.ring.window())
        {
            // Grow (or start again from the ring's window: see `TwIndex`); the record
            // just pushed is filed with the others.
            self.rebuild(Self::buckets_for(self.live));
        }
        self.next = Some(self.ring.entry(self.ring.head).deadline());
        if let Some(slot) = owner {
            self.owners.insert(*t, slot);
        }
    }

    /// Restart the 2×MSL timer of `t`'s record: its deadline becomes `deadline`, at least
    /// every other's, and the record moves to the back.
    pub(super) fn restart(&mut self, t: &FourTuple, deadline: Instant) {
        let key = FlowKey::tuple(t);
        let hash = Self::hash(&self.keys, &key);
        let Some(loc) = self.locate(&key, hash) else {
            return;
        };
        let old = self.index.pos(loc);
        if old == self.ring.tail.wrapping_sub(1) {
            // Already the last: it stays in order where it is.
            self.ring.entry_mut(old).set_deadline(deadline);
            self.tidy();
            return;
        }
        let mut e = *self.ring.entry(old);
        e.set_deadline(deadline);
        self.ring.entry_mut(old).flags |= DEAD;
        let seq = self.ring.push(e, hash);
        self.dead += 1;
        if self.index.too_old(self.ring.tail) {
            self.rebuild(self.index.buckets());
        } else {
            // The entry now points at the back: the buckets it went past must let
            // lookups through as long as it lives.
            self.index.move_to(loc, hash, seq);
        }
        self.tidy();
    }

    /// Remove the record of `t`; returns it with its owner.
    pub(super) fn remove(&mut self, t: &FourTuple) -> Option<(TimeWaitRecord, Option<u32>)> {
        let key = FlowKey::tuple(t);
        let loc = self.locate(&key, Self::hash(&self.keys, &key))?;
        let seq = self.index.take(loc);
        let (_, rec, owner) = self.bury(seq);
        Some((rec, owner))
    }

    /// Make the live entry at `seq`, already out of the index (or at the front: its entry
    /// goes stale as the head moves past it), a tombstone; returns its 4-tuple, record
    /// and owner.
    fn bury(&mut self, seq: u32) -> (FourTuple, TimeWaitRecord, Option<u32>) {
        let e = *self.ring.entry(seq);
        let tuple = self.ring.tuple(&e);
        if e.flags & WIDE != 0 {
            self.ring.wide_free.push(e.key[0]);
        }
        self.ring.entry_mut(seq).flags |= DEAD;
        self.live -= 1;
        self.dead += 1;
        let owner = self.owner(&tuple);
        if owner.is_some() {
            self.owners.remove(&tuple);
        }
        self.tidy();
        (tuple, e.record(), owner)
    }

    /// Remove the front record (the earliest deadline) if `due` says so.
    fn pop_front_if(
        &mut self,
        due: impl FnOnce(Instant) -> bool,
    ) -> Option<(FourTuple, TimeWaitRecord, Option<u32>)> {
        if self.live == 0 {
            return None;
        }
        let head = self.ring.head;
        let e = self.ring.entry(head);
        if !due(e.deadline()) {
            return None;
        }
        // Nothing to do in the index: `bury` moves the head past the record, which
        // makes its entry stale (see `TwIndex`).
        Some(self.bury(head))
    }

    /// Remove and return the next record whose deadline is at or before `now`.
    pub(super) fn pop_expired(&mut self, now: Instant) -> Option<(FourTuple, TimeWaitRecord, Option<u32>)> {
        self.pop_front_if(|d| d <= now)
    }

    /// Remove the record with the earliest deadline (recycling under pressure).
    pub(super) fn pop_oldest(&mut self) -> Option<(FourTuple, TimeWaitRecord, Option<u32>)> {
        self.pop_front_if(|_| true)
    }

    /// Keep the front live and the tombstones fewer than the live records (or than a
    /// chunk's worth): amortised O(1) per tombstone. Call after every change but an
    /// insertion.
    fn tidy(&mut self) {
        self.dead -= self.ring.trim();
        if self.dead >= CHUNK && self.dead > self.live {
            self.compact();
        }
        self.next = (self.live > 0).then(|| self.ring.entry(self.ring.head).deadline());
    }

    /// Close the gaps the tombstones leave, keeping the order, and release the chunks
    /// emptied.
    fn compact(&mut self) {
        let ring = &mut self.ring;
        let mut w = ring.head;
        let mut r = ring.head;
        while r != ring.tail {
            let e = *ring.entry(r);
            if !e.dead() {
                if r != w {
                    let hash = ring.hash(r);
                    ring.set(w, e, hash);
                }
                w = w.wrapping_add(1);
            }
            r = r.wrapping_add(1);
        }
        ring.tail = w;
        self.dead = 0;
        let used = ring.tail.wrapping_sub(ring.base) as usize;
        ring.chunks.truncate(used.div_ceil(CHUNK).max(1));
        // The records moved to lower positions: file them again (compaction is rare and
        // already touches every record). Keep the index's size unless it is now too
        // large for the records left.
        let buckets = self.index.buckets();
        let fit = Self::buckets_for(self.live);
        self.rebuild(if buckets > 4 * fit { fit } else { buckets });
    }

    /// The index buckets for `n` records after a rebuild (see [`LOAD_REBUILT`]).
    fn buckets_for(n: usize) -> usize {
        (n * LOAD_REBUILT.1).div_ceil(LOAD_REBUILT.0 * SLOTS).max(1)
    }

    /// Give the index `buckets` buckets and file every live record again, oldest first,
    /// from the hashes the ring keeps.
    fn rebuild(&mut self, buckets: usize) {
        let ring = &self.ring;
        self.index.reset(buckets, ring.head);
        // Speed: without tombstones, only the dense hashes are read.
        let clean = self.dead == 0;
        let mut s = ring.head;
        while s != ring.tail {
            let off = s.wrapping_sub(ring.base) as usize;
            let (chunk, first) = (&ring.chunks[off / CHUNK], off % CHUNK);
            let n = (CHUNK - first).min(ring.tail.wrapping_sub(s) as usize);
            for k in first..first + n {
                if clean || !chunk.entries[k].dead() {
                    // Filed in position order, each the newest so far.
                    let filed = self.index.insert_fresh(chunk.hashes[k], s.wrapping_add((k - first) as u32));
                    debug_assert!(filed, "an index sized for its records is full");
                }
            }
            s = s.wrapping_add(n as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v4(i: u32) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 80),
            remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::from_bits(0xC633_6400 + (i >> 16))), i as u16),
        }
    }

    fn v6(i: u32) -> FourTuple {
        FourTuple {
            local: SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)), 80),
            remote: SocketAddr::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, (i >> 16) as u16, i as u16)),
                443,
            ),
        }
    }

    fn rec(i: u32, deadline: u64) -> TimeWaitRecord {
        TimeWaitRecord {
            snd_nxt: SeqNum(i.wrapping_mul(7)),
            rcv_nxt: SeqNum(i.wrapping_mul(13)),
            rcv_wnd: 65535 + i,
            max_snd_wnd: 1 << 20 | i,
            deadline: Instant::from_micros(deadline),
            window: i as u16,
            ts_recent: (i % 2 == 0).then_some(i ^ 0xdead_beef),
            ds: (i as u8) << 2,
        }
    }

    fn table() -> TimeWaitTable {
        TimeWaitTable::new(FlowKeys::new(&[7; 16]))
    }

    /// A table holding the records of `v4(i)` for `i` in `0..n`, deadline `i`.
    fn filled(n: u32) -> TimeWaitTable {
        let mut t = table();
        for i in 0..n {
            t.insert(v4(i), rec(i, u64::from(i)), None);
        }
        t
    }

    /// Every live record is found where the index says, every index entry inside the
    /// ring's window is a live record's (with its hash, reachable through the horizons),
    /// the front is live, and the counts add up.
    fn check(t: &TimeWaitTable) {
        let ring = &t.ring;
        let mut live = 0;
        let mut dead = 0;
        let mut last = Instant::ZERO;
        let mut s = ring.head;
        while s != ring.tail {
            let e = ring.entry(s);
            if e.dead() {
                dead += 1;
            } else {
                live += 1;
                assert!(e.deadline() >= last, "deadline order");
                last = e.deadline();
                assert_eq!(t.find(&ring.tuple(e)), Some(s));
                // The hash kept next to the record is the one its 4-tuple gives.
                assert_eq!(ring.hash(s), TimeWaitTable::hash(&t.keys, &FlowKey::tuple(&ring.tuple(e))));
            }
            s = s.wrapping_add(1);
        }
        assert_eq!((live, dead), (t.live, t.dead));
        let filed = t.index.check(ring.window(), |p| (!ring.entry(p).dead()).then(|| ring.hash(p)));
        assert_eq!(filed, t.live, "index entries inside the window");
        assert!(t.live * LOAD_MAX.1 <= t.index.slots() * LOAD_MAX.0, "index load");
        assert!(t.live == 0 || !ring.entry(ring.head).dead());
        assert_eq!(t.next, (t.live > 0).then(|| ring.entry(ring.head).deadline()));
        assert!(ring.chunks.len() * CHUNK >= ring.tail.wrapping_sub(ring.base) as usize);
    }

    #[test]
    fn the_entry_stays_small() {
        // The figure mem_time_wait counts on it: grow it only knowingly.
        assert!(size_of::<Entry>() <= 44, "Entry is {} bytes", size_of::<Entry>());
    }

    #[test]
    fn ipv4_and_ipv6_records_are_found_and_given_back() {
        let mut t = table();
        for i in 0..600 {
            let tuple = if i % 3 == 0 { v6(i) } else { v4(i) };
            t.insert(tuple, rec(i, u64::from(i)), None);
        }
        check(&t);
        assert_eq!(t.len(), 600);
        for i in 0..600 {
            let (a, b) = if i % 3 == 0 { (v6(i), v4(i)) } else { (v4(i), v6(i)) };
            assert_eq!(t.get(&a), Some((a, rec(i, u64::from(i)))), "{i}");
            assert!(!t.contains(&b), "{i}");
        }
        // An IPv6 tuple differing only in its scope id is the same 4-tuple, as for the
        // other tables.
        let mut scoped = v6(3);
        if let SocketAddr::V6(a) = &mut scoped.remote {
            a.set_scope_id(9);
        }
        assert!(t.contains(&scoped));
        for i in (0..600).step_by(2) {
            let tuple = if i % 3 == 0 { v6(i) } else { v4(i) };
            assert_eq!(t.remove(&tuple).map(|(r, _)| r), Some(rec(i, u64::from(i))));
            assert!(!t.contains(&tuple));
            assert_eq!(t.remove(&tuple), None);
        }
        check(&t);
        assert_eq!(t.len(), 300);
        // Freed side-table slots are used again.
        let wide = t.ring.wide.len();
        t.insert(v6(10_000), rec(1, 1000), None);
        assert_eq!(t.ring.wide.len(), wide);
        assert!(t.contains(&v6(10_000)));
        check(&t);
    }

    #[test]
    fn expiry_is_fifo_and_follows_restarted_deadlines() {
        let mut t = table();
        for i in 0..10 {
            t.insert(v4(i), rec(i, 100 + u64::from(i)), None);
        }
        assert_eq!(t.next_deadline(), Some(Instant::from_micros(100)));
        // Restart the first and a middle one: they move behind the others.
        t.restart(&v4(0), Instant::from_micros(120));
        t.restart(&v4(5), Instant::from_micros(121));
        check(&t);
        assert_eq!(t.next_deadline(), Some(Instant::from_micros(101)));
        assert_eq!(t.get(&v4(5)).map(|(_, r)| r.deadline), Some(Instant::from_micros(121)));
        // The last one restarted stays in place.
        t.restart(&v4(5), Instant::from_micros(122));
        check(&t);
        let mut order = Vec::new();
        while let Some((tuple, r, _)) = t.pop_expired(Instant::from_micros(109)) {
            order.push((tuple, r.deadline.as_micros()));
        }
        let expect: Vec<_> = [1, 2, 3, 4, 6, 7, 8, 9].iter().map(|&i| (v4(i), 100 + u64::from(i))).collect();
        assert_eq!(order, expect);
        assert_eq!(t.next_deadline(), Some(Instant::from_micros(120)));
        assert!(t.pop_expired(Instant::from_micros(119)).is_none());
        assert_eq!(t.pop_expired(Instant::from_micros(200)).map(|(x, _, _)| x), Some(v4(0)));
        assert_eq!(
            t.pop_expired(Instant::from_micros(200)).map(|(x, r, _)| (x, r.deadline)),
            Some((v4(5), Instant::from_micros(122)))
        );
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.len(), 0);
        check(&t);
    }

    #[test]
    fn the_oldest_is_recycled_first() {
        let mut t = filled(5);
        t.restart(&v4(0), Instant::from_micros(10));
        assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(1)));
        t.remove(&v4(2));
        assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(3)));
        assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(4)));
        assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(0)));
        assert!(t.pop_oldest().is_none());
        check(&t);
    }

    #[test]
    fn owners_follow_their_records() {
        let mut t = table();
        t.insert(v4(1), rec(1, 1), Some(7));
        t.insert(v6(2), rec(2, 2), Some(8));
        t.insert(v4(3), rec(3, 3), None);
        assert_eq!(t.owner(&v4(1)), Some(7));
        t.disown(&v6(2), 9);
        assert_eq!(t.owner(&v6(2)), Some(8));
        t.disown(&v6(2), 8);
        assert_eq!(t.owner(&v6(2)), None);
        t.restart(&v4(1), Instant::from_micros(5));
        assert_eq!(t.pop_oldest().map(|(x, _, o)| (x, o)), Some((v6(2), None)));
        assert_eq!(t.remove(&v4(1)).map(|(_, o)| o), Some(Some(7)));
        assert_eq!(t.owner(&v4(1)), None);
        assert_eq!(t.pop_oldest().map(|(x, _, o)| (x, o)), Some((v4(3), None)));
    }

    #[test]
    fn inserting_over_a_record_replaces_it() {
        let mut t = table();
        for i in 0..200 {
            t.insert(v4(i), rec(i, 10), (i % 3 == 0).then_some(i));
            t.insert(v6(i), rec(i, 10), (i % 3 == 0).then_some(i + 1000));
        }
        for i in (0..200).step_by(7) {
            // A new record of the same 4-tuple, with another owner or none.
            t.insert(v4(i), rec(i + 1, 20), (i % 2 == 0).then_some(5000 + i));
            t.insert(v6(i), rec(i + 2, 20), None);
            check(&t);
        }
        assert_eq!(t.len(), 400);
        for i in (0..200).step_by(7) {
            assert_eq!(t.get(&v4(i)).map(|(_, r)| r), Some(rec(i + 1, 20)));
            assert_eq!(t.get(&v6(i)).map(|(_, r)| r), Some(rec(i + 2, 20)));
            assert_eq!(t.owner(&v4(i)), (i % 2 == 0).then_some(5000 + i));
            assert_eq!(t.owner(&v6(i)), None);
        }
        assert_eq!(t.get(&v4(1)).map(|(_, r)| r), Some(rec(1, 10)));
        assert_eq!(t.owner(&v4(3)), Some(3));
        // The replaced records are gone: the oldest now are the first untouched ones.
        assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(1)));
    }

    #[test]
    fn restarts_cannot_grow_the_ring_without_bound() {
        let n = 1000;
        let mut t = filled(n);
        // A FIN storm: every record restarted over and over, the oldest first.
        let mut now = u64::from(n);
        for round in 0..20 {
            for i in 0..n {
                let i = (i + round * 37) % n;
                now += 1;
                t.restart(&v4(i), Instant::from_micros(now));
            }
            check(&t);
            let slots = t.ring.chunks.len() * CHUNK;
            assert!(slots <= 2 * n as usize + 3 * CHUNK, "round {round}: {slots} slots");
        }
        assert_eq!(t.len(), n as usize);
        // Removals in the middle are compacted too, and the chunks go back.
        for i in (0..n).filter(|i| i % 4 != 0) {
            assert!(t.remove(&v4(i)).is_some());
        }
        check(&t);
        assert!(t.ring.chunks.len() * CHUNK <= 2 * (n as usize / 4) + 3 * CHUNK);
        while t.pop_oldest().is_some() {}
        check(&t);
        assert!(t.ring.chunks.len() <= 1);
    }

    #[test]
    fn sequence_numbers_may_wrap() {
        let mut t = table();
        t.ring.base = u32::MAX - 300;
        t.ring.head = t.ring.base;
        t.ring.tail = t.ring.base;
        for i in 0..1000 {
            t.insert(v4(i), rec(i, u64::from(i)), None);
            if i % 3 == 0 {
                t.pop_oldest();
            }
        }
        check(&t);
        for i in 0..1000 {
            t.restart(&v4(i), Instant::from_micros(5000 + u64::from(i)));
        }
        check(&t);
        while t.pop_oldest().is_some() {}
        check(&t);
    }

    #[test]
    fn recycling_at_a_fixed_count_keeps_the_index_size() {
        let n = 5000;
        let mut t = filled(n);
        check(&t);
        let bytes = t.index.bytes();
        // Recycle twenty times the table: every new record takes the oldest's place.
        let mut gone = Vec::new();
        for i in n..21 * n {
            gone.push(t.pop_oldest().map(|(x, _, _)| x).unwrap());
            t.insert(v4(i), rec(i, u64::from(i)), None);
            if i % 7 == 0 {
                // Some restarts and removals on the way.
                t.restart(&v4(i - n / 2), Instant::from_micros(u64::from(i)));
            }
            if i % 4999 == 0 {
                check(&t);
            }
        }
        check(&t);
        assert_eq!(t.index.bytes(), bytes, "the index grew while recycling");
        assert_eq!(t.len(), n as usize);
        // Each tuple was inserted once: those recycled are gone, the others are there.
        for x in &gone {
            assert!(!t.contains(x), "{x:?}");
        }
        assert_eq!((0..21 * n).filter(|&i| t.contains(&v4(i))).count(), n as usize);
    }

    #[test]
    fn a_recycled_tuple_can_come_back_and_go() {
        let mut t = table();
        for i in 0..300 {
            t.insert(v4(i), rec(i, 1), None);
            t.insert(v6(i), rec(i, 1), None);
        }
        for i in 0..100 {
            assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v4(i)));
            assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v6(i)));
        }
        check(&t);
        for i in 0..100 {
            assert!(!t.contains(&v4(i)) && !t.contains(&v6(i)));
            t.insert(v4(i), rec(i + 1, 2), None);
            t.insert(v6(i), rec(i + 2, 2), Some(i));
        }
        check(&t);
        for i in 0..100 {
            assert_eq!(t.get(&v4(i)), Some((v4(i), rec(i + 1, 2))));
            assert_eq!(t.remove(&v6(i)), Some((rec(i + 2, 2), Some(i))));
            assert_eq!(t.remove(&v4(i)).map(|(r, _)| r), Some(rec(i + 1, 2)));
            assert!(!t.contains(&v4(i)) && !t.contains(&v6(i)));
        }
        check(&t);
        assert_eq!(t.len(), 400);
    }

    #[test]
    fn stale_positions_cannot_wrap_back_into_the_window() {
        let mut t = table();
        for i in 0..500 {
            t.insert(v4(i), rec(i, 1), None);
        }
        // The index still holds stale entries at positions 0..500.
        while t.pop_oldest().is_some() {}
        let jump = |t: &mut TimeWaitTable, to: u32| {
            assert_eq!(t.len(), 0);
            t.ring.base = to;
            t.ring.head = to;
            t.ring.tail = to;
        };
        // The ring moves on by 2^31 positions (as if many records came and went)...
        jump(&mut t, 500 + (1 << 31));
        t.insert(v4(10_000), rec(0, 2), None);
        check(&t);
        t.pop_oldest();
        // ...and by as many again, back to the positions of the stale entries.
        jump(&mut t, 0);
        for i in 0..500 {
            t.insert(v4(1000 + i), rec(i, 3), None);
        }
        check(&t);
        for i in 0..500 {
            assert!(!t.contains(&v4(i)));
            assert_eq!(t.get(&v4(1000 + i)), Some((v4(1000 + i), rec(i, 3))));
        }
    }

    #[test]
    fn ipv6_records_recycle_through_the_side_table() {
        let mut t = table();
        let n = 2000;
        for i in 0..n {
            t.insert(v6(i), rec(i, 1), None);
        }
        let bytes = t.index.bytes();
        for i in n..10 * n {
            assert_eq!(t.pop_oldest().map(|(x, _, _)| x), Some(v6(i - n)));
            t.insert(v6(i), rec(i, 1), None);
            assert!(t.contains(&v6(i)) && !t.contains(&v6(i - n)));
        }
        check(&t);
        assert_eq!(t.index.bytes(), bytes);
        assert_eq!(t.ring.wide.len(), n as usize, "side-table slots are used again");
        for i in 9 * n..10 * n {
            assert_eq!(t.get(&v6(i)), Some((v6(i), rec(i, 1))));
        }
    }

    /// Index bytes per record at the churn's TIME-WAIT limit, after recycling four
    /// times that: at most 64 / 12 × 2 = 10.7 (see [`LOAD_REBUILT`]), and no more
    /// than after filling (`--nocapture` prints them; about 4 s in a debug build).
    #[test]
    fn recycling_at_the_limit_keeps_the_index_under_eleven_bytes_a_record() {
        for n in [262_144u32, 300_000] {
            let mut t = filled(n);
            let after_filling = t.index.bytes();
            for i in n..5 * n {
                t.pop_oldest();
                t.insert(v4(i), rec(i, u64::from(i)), None);
            }
            check(&t);
            let b = t.index.bytes();
            println!(
                "records={n} index_bytes={b} per_record={:.2} (after filling: {after_filling})",
                b as f64 / f64::from(n)
            );
            assert_eq!(b, after_filling, "recycling grew the index");
            assert!(b as f64 <= 10.7 * f64::from(n), "{b} bytes for {n} records");
        }
    }

    /// The lookup `Stack::pick_port` makes for every new connection, of a 4-tuple not
    /// in TIME-WAIT, in a table recycling at its limit: it should read the one bucket
    /// `TwIndex::warm` brought in, and almost never a record (each one a read far into
    /// the ring, a cache miss). At a load of 3/5 to 4/5 this read 6.4 buckets and
    /// compared 0.26 records per lookup (1.2 and 0.036 now).
    #[test]
    fn lookups_at_the_limit_read_about_one_bucket_and_almost_no_record() {
        let n = 262_144u32;
        let mut t = filled(n);
        for i in n..4 * n {
            t.pop_oldest();
            t.insert(v4(i), rec(i, u64::from(i)), None);
        }
        t.index.buckets_read.set(0);
        let lookups = 100_000u32;
        // The lookup `contains` makes, counting the records it compares.
        let mut records = 0u64;
        for i in 0..lookups {
            let key = FlowKey::tuple(&v4(4 * n + i));
            let (ring, v4) = (&t.ring, key.v4_words());
            let found = t.index.find(TimeWaitTable::hash(&t.keys, &key), ring.window(), |s| {
                records += 1;
                ring.matches(s, &key, v4)
            });
            assert!(found.is_none());
        }
        let buckets = t.index.buckets_read.get();
        let (per_bucket, per_record) =
            (buckets as f64 / f64::from(lookups), records as f64 / f64::from(lookups));
        println!("buckets per lookup {per_bucket:.3}, records compared per lookup {per_record:.4}");
        assert!(per_bucket < 1.5, "{per_bucket:.3} buckets per lookup");
        assert!(per_record < 0.06, "{per_record:.4} records compared per lookup");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32, bool),
        Restart(u32, bool),
        Remove(u32, bool),
        PopOldest,
        PopExpired(u64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let tuple = (0u32..400, proptest::bool::weighted(0.2));
        prop_oneof![
            8 => tuple.clone().prop_map(|(i, w)| Op::Insert(i, w)),
            3 => tuple.clone().prop_map(|(i, w)| Op::Restart(i, w)),
            1 => tuple.prop_map(|(i, w)| Op::Remove(i, w)),
            1 => Just(Op::PopOldest),
            1 => (0u64..200).prop_map(Op::PopExpired),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// The table against a model: a list in deadline order.
        #[test]
        fn the_table_behaves_as_a_list_in_deadline_order(ops in proptest::collection::vec(op(), 1..700)) {
            let mut t = table();
            let mut model: Vec<(FourTuple, TimeWaitRecord)> = Vec::new();
            let tuple = |i: u32, w: bool| if w { v6(i) } else { v4(i) };
            for (now, op) in (1u64..).zip(ops) {
                match op {
                    Op::Insert(i, w) => {
                        let x = tuple(i, w);
                        let r = rec(i ^ now as u32, now);
                        t.insert(x, r, None);
                        model.retain(|(y, _)| *y != x);
                        model.push((x, r));
                    }
                    Op::Restart(i, w) => {
                        let x = tuple(i, w);
                        t.restart(&x, Instant::from_micros(now));
                        if let Some(at) = model.iter().position(|(y, _)| *y == x) {
                            let (_, mut r) = model.remove(at);
                            r.deadline = Instant::from_micros(now);
                            model.push((x, r));
                        }
                    }
                    Op::Remove(i, w) => {
                        let x = tuple(i, w);
                        let expect = model.iter().position(|(y, _)| *y == x).map(|at| model.remove(at).1);
                        proptest::prop_assert_eq!(t.remove(&x).map(|(r, _)| r), expect);
                    }
                    Op::PopOldest => {
                        let expect = (!model.is_empty()).then(|| model.remove(0));
                        proptest::prop_assert_eq!(t.pop_oldest().map(|(x, r, _)| (x, r)), expect);
                    }
                    Op::PopExpired(back) => {
                        let limit = Instant::from_micros(now.saturating_sub(back));
                        let due = model.first().is_some_and(|(_, r)| r.deadline <= limit);
                        let expect = due.then(|| model.remove(0));
                        proptest::prop_assert_eq!(t.pop_expired(limit).map(|(x, r, _)| (x, r)), expect);
                    }
                }
                check(&t);
                proptest::prop_assert_eq!(t.len(), model.len());
                proptest::prop_assert_eq!(t.next_deadline(), model.first().map(|(_, r)| r.deadline));
            }
            for (x, r) in &model {
                proptest::prop_assert_eq!(t.get(x), Some((*x, *r)));
            }
            for i in 0..400 {
                for w in [false, true] {
                    let x = tuple(i, w);
                    proptest::prop_assert_eq!(t.contains(&x), model.iter().any(|(y, _)| *y == x));
                }
            }
        }
    }
}
