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

impl Bucket {
    /// The slots holding `tag`, as bits.
    #[inline]
    fn matching(&self, tag: u8) -> u32 {
        let mut m = 0;
        for (i, &t) in self.tags.iter().enumerate() {
            m |= u32::from(t == tag) << i;
        }
        m
    }

    /// A slot free for a new entry: empty or stale.
    #[inline]
    fn free_slot(&self, w: Window) -> Option<usize> {
        (0..SLOTS).find(|&i| self.tags[i] == 0 || !w.holds(self.pos[i]))
    }
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

/// Ring positions by hash: see the module documentation.
#[derive(Debug)]
pub(super) struct TwIndex {
    buckets: Vec<Bucket>,
    /// The window's head at the last rebuild.
    epoch: u32,
}

impl TwIndex {
    pub(super) fn new() -> Self {
        TwIndex { buckets: Vec::new(), epoch: 0 }
    }

    /// Entries it can hold.
    pub(super) fn slots(&self) -> usize {
        self.buckets.len() * SLOTS
    }

    /// Bytes allocated.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.buckets.capacity() * size_of::<Bucket>()
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
            let mut m = bucket.matching(tag);
            while m != 0 {
                let slot = m.trailing_zeros() as usize;
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

    /// Remove the entry at `loc` (its record is going).
    pub(super) fn clear(&mut self, loc: Loc) {
        self.buckets[loc.bucket].tags[loc.slot] = 0;
    }

    /// Add the entry of the record at `pos`, the newest position of window `w`; false if
    /// no slot is free (the caller keeps the load low enough that this does not happen).
    pub(super) fn insert(&mut self, hash: u32, pos: u32, w: Window) -> bool {
        debug_assert!(pos == w.head.wrapping_add(w.len).wrapping_sub(1), "not the newest position");
        let mut b = self.home(hash);
        for _ in 0..self.buckets.len() {
            let bucket = &mut self.buckets[b];
            if let Some(slot) = bucket.free_slot(w) {
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
}
