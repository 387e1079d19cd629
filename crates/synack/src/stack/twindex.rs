//! The TIME-WAIT table's index: ring positions by 32-bit keyed hash, with lazy
//! deletion (see [`super::twtable`] for the ring).
//!
//! - Buckets of one cache line: 12 one-byte tags, 12 ring positions and a horizon.
//!   A record's home bucket is a multiply-shift of its hash (any bucket count works),
//!   its tag 8 other bits of it (never 0: tag 0 is an empty slot).
//! - An entry is live only while its position is inside the ring's window
//!   (`head..tail`): the ring is a FIFO, so when the front record is recycled or expires
//!   its entry goes stale without the index being touched (recycling at the TIME-WAIT
//!   limit then costs no cache miss here). A stale slot is a free one for an insertion.
//! - Linear probing over buckets. A bucket's horizon is the newest position of any
//!   entry that had to go past it (while it was full): a lookup goes on to the next
//!   bucket only while that position is inside the window. Positions only grow, so the
//!   newest tells for all; a record moved to the back (restart) raises the horizons of
//!   the buckets its entry is past.
//! - Positions wrap (`u32`). An entry or horizon is never older than the window's head
//!   at the last rebuild (the *epoch*), and the table rebuilds before the tail gets
//!   2^31 past it, so a stale position can never wrap back into the window.
//! - Size: 64 bytes per 12 slots, at a load of 1/2 to 2/3 (see the table's
//!   `LOAD_MAX`): 8.0 to 10.7 bytes per record (a SwissTable of `u32`: 5.7 to 11.4).
//!   Not fuller: under FIFO turnover at the record limit, a load of 3/5 to 4/5 let
//!   clusters grow until a lookup of an absent 4-tuple read 6.4 buckets on average and
//!   compared 0.26 records, each a cache miss; at this load, 1.2 buckets and 0.036
//!   records (the table's test
//!   `lookups_at_the_limit_read_about_one_bucket_and_almost_no_record`).
//!   Like the SwissTable it replaces, it shrinks only when a compaction finds it four
//!   times too large.

/// Slots per bucket.
pub(super) const SLOTS: usize = 12;

/// One cache line of the index.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Bucket {
    /// 0: empty; otherwise the tag of the entry (see [`tag`]).
    tags: [u8; SLOTS],
    /// The ring position of each entry.
    pos: [u32; SLOTS],
    /// The newest position of an entry that went past this bucket.
    horizon: u32,
}

/// Every byte 1.
const ONES: u64 = 0x0101_0101_0101_0101;
/// Every byte's top bit.
const TOPS: u64 = 0x8080_8080_8080_8080;
/// Every byte's other bits.
const LOWS: u64 = !TOPS;
/// The top bits of the bytes of the second tag word that are tags.
const HI_TOPS: u64 = 0x8080_8080;

/// The zero bytes of `x`, as their top bits, exactly (no carry crosses a byte: the low 7
/// bits plus 0x7f fit in it). (Speed: 12 tags tested in a few instructions.)
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOWS) + LOWS) | x) & TOPS
}

impl Bucket {
    /// The tags as two words (the second's top half is not tags: see [`HI_TOPS`]).
    #[inline]
    fn tag_words(&self) -> (u64, u64) {
        let [a, b, c, d, e, f, g, h, i, j, k, l] = self.tags;
        let lo = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
        let hi = u64::from_le_bytes([i, j, k, l, 0, 0, 0, 0]);
        (lo, hi)
    }

    /// The slots holding `tag`, as the top bit of byte `slot` of a `u128`.
    #[inline]
    fn matching(&self, tag: u8) -> u128 {
        let (lo, hi) = self.tag_words();
        let t = u64::from(tag) * ONES;
        u128::from(zero_bytes(lo ^ t)) | u128::from(zero_bytes(hi ^ t) & HI_TOPS) << 64
    }

    /// The first empty slot.
    #[inline]
    fn empty_slot(&self) -> Option<usize> {
        let (lo, hi) = self.tag_words();
        let m = u128::from(zero_bytes(lo)) | u128::from(zero_bytes(hi) & HI_TOPS) << 64;
        (m != 0).then(|| slot_of(m))
    }

    /// A slot free for a new entry: empty or stale.
    #[inline]
    fn free_slot(&self, w: Window) -> Option<usize> {
        if let Some(slot) = self.empty_slot() {
            return Some(slot);
        }
        let mut m = 0u32;
        for (i, &p) in self.pos.iter().enumerate() {
            m |= u32::from(!w.holds(p)) << i;
        }
        (m != 0).then(|| m.trailing_zeros() as usize)
    }
}

/// The slot of the lowest bit of a mask from [`Bucket::matching`].
#[inline]
fn slot_of(m: u128) -> usize {
    (m.trailing_zeros() / 8) as usize
}

/// The ring's window: the positions of its records (and tombstones).
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    head: u32,
    len: u32,
}

impl Window {
    pub(super) fn new(head: u32, tail: u32) -> Self {
        Window { head, len: tail.wrapping_sub(head) }
    }

    #[inline]
    pub(super) fn holds(self, pos: u32) -> bool {
        pos.wrapping_sub(self.head) < self.len
    }
}

/// Where an entry sits in the index.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Loc {
    bucket: usize,
    slot: usize,
}

/// The tag of a hash: its low 8 bits (the bucket comes mostly from the high ones),
/// never 0.
#[inline]
fn tag(hash: u32) -> u8 {
    (hash as u8).max(1)
}

/// A hint to the processor to bring `bucket`'s cache line in, without waiting for it.
///
/// A plain read would do the same but stall: the processor retires instructions in
/// order, so a read that misses the cache holds up everything after it once its
/// reorder buffer is full (measured: the miss then showed in `Stack::connect` instead
/// of in the lookup). The prefetch instruction retires at once. It reads nothing
/// into the program and cannot fault, which is why `pulp` offers it as a safe call.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch(bucket: &Bucket) {
    if let Some(sse) = pulp::core_arch::x86::Sse::try_new() {
        sse._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>((bucket as *const Bucket).cast());
    }
}

/// Elsewhere, no hint: the lookup pays for its miss itself.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn prefetch(_bucket: &Bucket) {}

/// Ring positions by hash: see the module documentation.
#[derive(Debug)]
pub(super) struct TwIndex {
    buckets: Vec<Bucket>,
    /// The window's head at the last rebuild.
    epoch: u32,
    /// Tests: buckets looked at by [`TwIndex::find`].
    #[cfg(test)]
    pub(super) buckets_read: std::cell::Cell<u64>,
}

impl TwIndex {
    pub(super) fn new() -> Self {
        TwIndex {
            buckets: Vec::new(),
            epoch: 0,
            #[cfg(test)]
            buckets_read: std::cell::Cell::new(0),
        }
    }

    /// Entries it can hold.
    pub(super) fn slots(&self) -> usize {
        self.buckets.len() * SLOTS
    }

    /// Buckets it has.
    pub(super) fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Bytes allocated.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.buckets.capacity() * size_of::<Bucket>()
    }

    /// Start loading the home bucket of `hash` into the cache, so that a lookup of it
    /// soon after finds it there (see `Stack::pick_port`). Changes nothing.
    #[inline]
    pub(super) fn warm(&self, hash: u32) {
        if let Some(bucket) = self.buckets.get(self.home(hash)) {
            prefetch(bucket);
        }
    }

    #[inline]
    fn home(&self, hash: u32) -> usize {
        ((u64::from(hash) * self.buckets.len() as u64) >> 32) as usize
    }

    #[inline]
    fn next(&self, b: usize) -> usize {
        if b + 1 == self.buckets.len() {
            0
        } else {
            b + 1
        }
    }

    /// The live entry with `hash` whose position `matches` says is the one sought.
    #[inline]
    pub(super) fn find(&self, hash: u32, w: Window, mut matches: impl FnMut(u32) -> bool) -> Option<Loc> {
        let n = self.buckets.len();
        if n == 0 {
            return None;
        }
        let tag = tag(hash);
        let mut b = self.home(hash);
        // Bounded, whatever the horizons say (they cannot all be inside the window
        // while the load limit holds).
        for _ in 0..n {
            let bucket = &self.buckets[b];
            #[cfg(test)]
            self.buckets_read.set(self.buckets_read.get() + 1);
            let mut m = bucket.matching(tag);
            while m != 0 {
                let slot = slot_of(m);
                m &= m - 1;
                let p = bucket.pos[slot];
                if w.holds(p) && matches(p) {
                    return Some(Loc { bucket: b, slot });
                }
            }
            if !w.holds(bucket.horizon) {
                return None;
            }
            b = self.next(b);
        }
        None
    }

    /// The position of the entry at `loc`.
    pub(super) fn pos(&self, loc: Loc) -> u32 {
        self.buckets[loc.bucket].pos[loc.slot]
    }

    /// Remove the entry at `loc` (its record is going); returns its position.
    pub(super) fn take(&mut self, loc: Loc) -> u32 {
        let bucket = &mut self.buckets[loc.bucket];
        bucket.tags[loc.slot] = 0;
        bucket.pos[loc.slot]
    }

    /// Add the entry of the record at `pos`, the newest position of window `w`; false if
    /// no slot is free (the caller keeps the load low enough that this does not happen).
    pub(super) fn insert(&mut self, hash: u32, pos: u32, w: Window) -> bool {
        debug_assert!(pos == w.head.wrapping_add(w.len).wrapping_sub(1), "not the newest position");
        self.file(hash, pos, |bucket| bucket.free_slot(w))
    }

    /// [`TwIndex::insert`] into an index just [`reset`](TwIndex::reset): no entry is
    /// stale, the positions come in order.
    pub(super) fn insert_fresh(&mut self, hash: u32, pos: u32) -> bool {
        self.file(hash, pos, Bucket::empty_slot)
    }

    /// File `pos` under `hash` in the first slot `free` offers, from the home bucket on,
    /// raising the horizon of every bucket passed.
    #[inline(always)]
    fn file(&mut self, hash: u32, pos: u32, free: impl Fn(&Bucket) -> Option<usize>) -> bool {
        let mut b = self.home(hash);
        for _ in 0..self.buckets.len() {
            let bucket = &mut self.buckets[b];
            if let Some(slot) = free(bucket) {
                bucket.tags[slot] = tag(hash);
                bucket.pos[slot] = pos;
                return true;
            }
            bucket.horizon = pos;
            b = self.next(b);
        }
        false
    }

    /// The record of the entry at `loc` (filed under `hash`) moved to `pos`, the newest
    /// position.
    pub(super) fn move_to(&mut self, loc: Loc, hash: u32, pos: u32) {
        self.buckets[loc.bucket].pos[loc.slot] = pos;
        let mut b = self.home(hash);
        while b != loc.bucket {
            self.buckets[b].horizon = pos;
            b = self.next(b);
        }
    }

    /// Empty the index and give it `buckets` buckets, for the window starting at `head`
    /// (the caller then inserts every record, oldest first).
    pub(super) fn reset(&mut self, buckets: usize, head: u32) {
        let empty = Bucket { tags: [0; SLOTS], pos: [0; SLOTS], horizon: head.wrapping_sub(1) };
        if buckets == self.buckets.len() {
            self.buckets.fill(empty);
        } else {
            // Release the old one first: a lower peak.
            self.buckets = Vec::new();
            self.buckets = vec![empty; buckets];
        }
        self.epoch = head;
    }

    /// Whether a position as new as `tail - 1` needs a rebuild first: positions since the
    /// last rebuild would span 2^31 (see the module documentation).
    #[inline]
    pub(super) fn too_old(&self, tail: u32) -> bool {
        tail.wrapping_sub(self.epoch) >= 1 << 31
    }

    /// Test support: check every entry inside window `w` against `hash_of` (the stored
    /// hash of the live record at a position, `None` for a tombstone), and that a lookup
    /// can reach it through the horizons; returns how many there are.
    #[cfg(test)]
    pub(super) fn check(&self, w: Window, hash_of: impl Fn(u32) -> Option<u32>) -> usize {
        let mut n = 0;
        for (b, bucket) in self.buckets.iter().enumerate() {
            // No position or horizon older than the epoch (the wrap guard).
            assert!(
                bucket.horizon.wrapping_add(1).wrapping_sub(self.epoch) < 1 << 31,
                "horizon before the epoch"
            );
            for slot in 0..SLOTS {
                let p = bucket.pos[slot];
                if bucket.tags[slot] == 0 {
                    continue;
                }
                assert!(p.wrapping_sub(self.epoch) < 1 << 31, "position before the epoch");
                if !w.holds(p) {
                    continue;
                }
                n += 1;
                let hash = hash_of(p).unwrap_or_else(|| panic!("entry in bucket {b} at a tombstone ({p})"));
                assert_eq!(bucket.tags[slot], tag(hash), "tag of the entry at {p}");
                // Every bucket from its home to its own lets a lookup through.
                let mut c = self.home(hash);
                while c != b {
                    let h = self.buckets[c].horizon;
                    assert!(
                        w.holds(h) && h.wrapping_sub(w.head) >= p.wrapping_sub(w.head),
                        "bucket {c}: horizon {h} hides the entry at {p} in bucket {b}"
                    );
                    c = self.next(c);
                }
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_one_cache_line() {
        assert_eq!(size_of::<Bucket>(), 64);
        assert_eq!(align_of::<Bucket>(), 64);
    }

    #[test]
    fn tag_masks_are_exact() {
        // Tags next to one another that a borrow or carry could confuse.
        let values = [0u8, 1, 2, 0x7f, 0x80, 0x81, 0xfe, 0xff];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..20_000 {
            let mut b = Bucket { tags: [0; SLOTS], pos: [0; SLOTS], horizon: 0 };
            for t in &mut b.tags {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *t = if round % 2 == 0 { values[(x % 8) as usize] } else { x as u8 };
            }
            for tag in values.into_iter().chain([x as u8]) {
                let want: Vec<usize> = (0..SLOTS).filter(|&i| b.tags[i] == tag).collect();
                let mut got = Vec::new();
                let mut m = b.matching(tag);
                while m != 0 {
                    got.push(slot_of(m));
                    m &= m - 1;
                }
                assert_eq!(got, want, "{:?} {tag}", b.tags);
            }
            assert_eq!(b.empty_slot(), b.tags.iter().position(|&t| t == 0));
        }
    }
}
