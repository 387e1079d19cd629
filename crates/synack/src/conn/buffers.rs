//! Byte buffers of one connection: the send ring (which is also the retransmission
//! queue) and the receive ring with out-of-order reassembly.
//!
//! Both allocate their storage on first use, so an idle connection that never moved
//! data costs no buffer memory, and both are bounded by the configured size.

use crate::seq::SeqNum;
use crate::wire::{copy_and_sum, sum_be_long};

/// Smallest storage a ring allocates on first use. Small enough to stay in the
/// allocator's per-thread cache and cheap to zero, so a connection that moves a few
/// bytes (a request, a response) never touches its full capacity.
const MIN_STORAGE: usize = 1024;

/// At most this many storages of [`MIN_STORAGE`] bytes wait in a stack's spare list
/// ([`Ring::release_into`], [`Ring::adopt_from`]).
pub(crate) const MAX_SPARE_STORAGE: usize = 16;

/// A fixed-capacity byte ring. Storage is allocated on first write and grows (doubling)
/// up to the capacity as the contents need it.
///
/// Speed: a connection that moves little data never allocates its whole buffer, nothing
/// is ever zeroed but the gaps left by out-of-order writes, and positions wrap with a
/// conditional subtraction instead of a division.
///
/// Layout: positions wrap at `size`, the storage allocated; `buf` holds the bytes written
/// so far (its length grows up to `size` as writes reach further, so that fresh storage
/// needs no zeroing). Every byte stored — including bytes written beyond `len` with
/// [`Ring::write_at`] (out-of-order data of the receive side) — lies within `size` bytes
/// of the head and at a position below `buf.len()`; as long as `buf.len() < size` no
/// write has wrapped, so the contents run from the head up to `buf.len()`. Growing keeps
/// every byte at the same offset from the head.
#[derive(Debug)]
pub(crate) struct Ring {
    /// The bytes written so far; capacity `size`.
    buf: Vec<u8>,
    /// The storage size positions wrap at (0 until the first write).
    size: usize,
    cap: usize,
    /// Position of the first byte (`< size` once allocated).
    head: usize,
    len: usize,
}

impl Ring {
    pub(crate) fn new(cap: usize) -> Self {
        Ring { buf: Vec::new(), size: 0, cap, head: 0, len: 0 }
    }

    /// Whether the ring holds an allocation.
    #[inline]
    pub(crate) fn holds_storage(&self) -> bool {
        self.buf.capacity() != 0
    }

    /// Become `Ring::new(cap)`, for a ring that holds no storage
    /// ([`Ring::holds_storage`] false): plain stores, no drop of the old storage.
    #[inline]
    pub(crate) fn reset(&mut self, cap: usize) {
        debug_assert!(!self.holds_storage());
        self.buf.clear();
        self.size = 0;
        self.cap = cap;
        self.head = 0;
        self.len = 0;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Room left: none when the capacity was set below what the ring holds
    /// ([`Ring::set_capacity`]).
    pub(crate) fn free(&self) -> usize {
        self.cap.saturating_sub(self.len)
    }

    /// Change the capacity. Below what the ring holds, nothing is lost: it takes no
    /// more until it has drained below the new capacity. Storage already allocated
    /// beyond it stays until the ring is empty and gives it up (writes never reach
    /// past `cap` bytes from the head, so they never need it).
    pub(crate) fn set_capacity(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// `pos` (less than twice the storage size) wrapped into the storage.
    #[inline(always)]
    fn wrap(&self, pos: usize) -> usize {
        if pos >= self.size {
            pos - self.size
        } else {
            pos
        }
    }

    /// Make the storage hold at least `extent <= cap` bytes from the head.
    #[inline]
    fn ensure_storage(&mut self, extent: usize) {
        if extent > self.size {
            self.grow(extent);
        }
    }

    #[cold]
    fn grow(&mut self, extent: usize) {
        let size = extent.next_power_of_two().max(2 * self.size).max(MIN_STORAGE).min(self.cap);
        let mut buf = Vec::with_capacity(size);
        // Lay the contents out from the head. When the old storage was written all
        // through, the bytes before the head continue the contents (they wrapped);
        // otherwise nothing wrapped and the contents end at `buf.len()`.
        buf.extend_from_slice(&self.buf[self.head..]);
        if self.buf.len() == self.size {
            buf.extend_from_slice(&self.buf[..self.head]);
        }
        self.buf = buf;
        self.size = size;
        self.head = 0;
    }

    /// Give the storage back when empty (idle connections hold no buffers). The stack
    /// uses [`Ring::release_into`], which does the same and keeps the block for reuse.
    #[cfg(test)]
    pub(crate) fn release_if_empty(&mut self) {
        if self.len == 0 && self.size != 0 {
            self.buf = Vec::new();
            self.size = 0;
            self.head = 0;
        }
    }

    /// Give the storage back when empty (idle connections hold no buffers), keeping
    /// storage of the minimum size in `spare` for the next ring that needs some.
    ///
    /// Speed: short connections (a request, a response) allocate and free the minimum
    /// storage for each ring, and a block of that size is a slow path of the allocator;
    /// the spare list (at most [`MAX_SPARE_STORAGE`] blocks per stack) turns both into
    /// a push and a pop.
    ///
    /// Size: the test inlined, the release out of line: one copy of it serves the half
    /// dozen places a connection gives its storage up (each short connection runs
    /// several of them).
    #[inline]
    pub(crate) fn release_into(&mut self, spare: &mut Vec<Vec<u8>>) {
        if self.len == 0 && self.size != 0 {
            self.release_storage(spare);
        }
    }

    /// The release of [`Ring::release_into`], on an empty ring with storage.
    #[inline(never)]
    fn release_storage(&mut self, spare: &mut Vec<Vec<u8>>) {
        let mut buf = core::mem::take(&mut self.buf);
        self.size = 0;
        self.head = 0;
        if buf.capacity() == MIN_STORAGE && spare.len() < MAX_SPARE_STORAGE {
            buf.clear();
            spare.push(buf);
        }
    }

    /// Before writing into a ring that has no storage yet: take a spare block of the
    /// minimum size, if there is one (what the first write would allocate).
    #[inline]
    pub(crate) fn adopt_from(&mut self, spare: &mut Vec<Vec<u8>>) {
        if self.size == 0 && self.cap >= MIN_STORAGE {
            if let Some(buf) = spare.pop() {
                // The state `grow` leaves on an empty ring: nothing written, head at 0.
                self.buf = buf;
                self.size = MIN_STORAGE;
                self.head = 0;
            }
        }
    }

    /// Store `data` at position `pos`, with `pos + data.len() <= size`.
    #[inline]
    fn put(&mut self, pos: usize, data: &[u8]) {
        let end = pos + data.len();
        let written = self.buf.len();
        if pos == written {
            // Speed: appending to the part written so far (every write on a ring's first
            // lap: a short connection's only one) is one copy, without the empty copy
            // (a call of `memcpy`) the split below would make first.
            self.buf.extend_from_slice(data);
        } else if end <= written {
            self.buf[pos..end].copy_from_slice(data);
        } else if pos < written {
            let (old, new) = data.split_at(written - pos);
            self.buf[pos..].copy_from_slice(old);
            // Within the capacity (`size`): no reallocation.
            self.buf.extend_from_slice(new);
        } else {
            // Out-of-order data beyond anything written: zero the gap only.
            self.buf.resize(pos, 0);
            self.buf.extend_from_slice(data);
        }
    }

    /// Write `data` at byte offset `off` past the current end (0 = append position),
    /// without changing `len`. The caller guarantees `len + off + data.len() <= cap`.
    ///
    /// Speed: a write at the end of what the storage holds that does not wrap (every
    /// in-order write of a ring's first lap: a short connection's only ones) is one
    /// append, inlined into the callers; everything else is
    /// [`Ring::write_at_general`].
    #[inline]
    pub(crate) fn write_at(&mut self, off: usize, data: &[u8]) {
        let pos = self.head + self.len + off;
        // `pos + data.len() <= size <= cap`: within what the caller guarantees.
        if !data.is_empty() && pos == self.buf.len() && pos + data.len() <= self.size {
            self.buf.extend_from_slice(data);
            return;
        }
        self.write_at_general(off, data);
    }

    /// [`Ring::write_at`] with storage to allocate or grow, a wrap, or a gap.
    #[inline(never)]
    fn write_at_general(&mut self, off: usize, data: &[u8]) {
        let extent = self.len + off + data.len();
        if data.is_empty() || extent > self.cap {
            return;
        }
        self.ensure_storage(extent);
        let pos = self.head + self.len + off;
        if pos >= self.size && self.buf.len() < self.size {
            // Out-of-order data landing past the end of the storage, before the
            // contents reached it: write the storage through first (zeroing the gap), so
            // that "not written through" keeps meaning "nothing wrapped".
            self.buf.resize(self.size, 0);
        }
        // head < size and len + off < size: one subtraction wraps.
        let start = self.wrap(pos);
        let first = data.len().min(self.size - start);
        let (a, b) = data.split_at(first);
        self.put(start, a);
        if !b.is_empty() {
            // `a` reached the end of the storage, so everything before is written.
            self.put(0, b);
        }
    }

    /// Copy `data` to the append position without changing `len` (like
    /// `write_at(0, data)`), summing it on the way: returns the one's-complement sum of
    /// `data` as [`sum_be_long`] gives it (unfolded, network order, `data` taken as starting
    /// on an even offset). `None`, with nothing written, when the storage does not
    /// already hold `len + data.len()` bytes (growing it is left to the ordinary path).
    ///
    /// Bytes written here are not contents until [`Ring::commit`]: a caller that finds
    /// the sum wrong simply does not commit them, and the ring's contents are as before.
    pub(crate) fn stage_with_sum(&mut self, data: &[u8]) -> Option<u64> {
        if self.len + data.len() > self.size {
            return None;
        }
        // head < size and len <= size: one subtraction wraps.
        let start = self.wrap(self.head + self.len);
        if start > self.buf.len() {
            // Cannot happen (without out-of-order data nothing lies past the written
            // part); refuse rather than leave a gap.
            return None;
        }
        let first = data.len().min(self.size - start);
        let (a, b) = data.split_at(first);
        let mut sum = self.put_with_sum(start, a, false);
        if !b.is_empty() {
            // `a` reached the end of the storage, so everything before is written. `b`
            // starts at offset `first` of `data`: odd when `first` is.
            sum += self.put_with_sum(0, b, first % 2 == 1);
        }
        Some(sum)
    }

    /// [`Ring::put`] with the sum of [`copy_and_sum`] (`pos <= buf.len()`).
    fn put_with_sum(&mut self, pos: usize, data: &[u8], odd_offset: bool) -> u64 {
        let end = pos + data.len();
        let written = self.buf.len();
        if end <= written {
            return copy_and_sum(&mut self.buf[pos..end], data, odd_offset);
        }
        let split = written.saturating_sub(pos).min(data.len());
        let (old, new) = data.split_at(split);
        let mut sum = copy_and_sum(&mut self.buf[pos..pos + old.len()], old, odd_offset);
        // Storage never written yet (the first lap only): appended within the capacity,
        // then summed in place.
        self.buf.extend_from_slice(new);
        let tail = sum_be_long(&self.buf[written..]);
        // `new` starts `split` bytes into this piece.
        sum += if (split % 2 == 1) != odd_offset { tail << 8 } else { tail };
        sum
    }

    /// Append as much of `data` as fits; returns the count.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        self.write_at(0, &data[..n]);
        self.len += n;
        n
    }

    /// Append in place: `fill` gets the free space that follows the contents
    /// contiguously in the storage and returns how many bytes it wrote there (clamped to
    /// the space); those become contents. Returns the count. Storage is allocated or
    /// grown (doubling, as for [`Ring::push`]) only when the contents fill it; space
    /// never written before is zeroed once before it is handed out. Only for rings
    /// written at the end alone (the send side: no out-of-order data).
    pub(crate) fn append_with(&mut self, fill: impl FnOnce(&mut [u8]) -> usize) -> usize {
        if self.free() == 0 {
            return 0;
        }
        if self.len == self.size {
            self.ensure_storage(self.len + 1);
        }
        // head < size and len < size: one subtraction wraps.
        let end = self.head + self.len;
        let (start, stop) = if end < self.size { (end, self.size) } else { (end - self.size, self.head) };
        if self.buf.len() < stop {
            self.buf.resize(stop, 0);
        }
        let n = fill(&mut self.buf[start..stop]).min(stop - start);
        self.len += n;
        n
    }

    /// Consume in place: `take` gets the contents that lie contiguously from the front
    /// (up to the end of the storage; the rest follows on the next call) and returns how
    /// many bytes it used (clamped); those are consumed. Returns the count.
    pub(crate) fn consume_with(&mut self, take: impl FnOnce(&[u8]) -> usize) -> usize {
        let (front, _) = self.slices(0, self.len);
        let n = take(front).min(front.len());
        self.consume(n);
        n
    }

    /// Extend `len` over bytes already written with `write_at`.
    pub(crate) fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.cap);
    }

    /// Drop `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        // n <= len <= storage size, so one subtraction wraps.
        self.head = self.wrap(self.head + n);
        // The head is not reset when the ring empties: out-of-order bytes of the
        // receive side may be stored beyond the end.
        self.len -= n;
    }

    /// The bytes in `[off, off + n)` of the contents, as up to two slices.
    pub(crate) fn slices(&self, off: usize, n: usize) -> (&[u8], &[u8]) {
        let n = n.min(self.len.saturating_sub(off));
        if n == 0 || self.size == 0 {
            return (&[], &[]);
        }
        // off < len <= storage size.
        let start = self.wrap(self.head + off);
        let first = n.min(self.size - start);
        (&self.buf[start..start + first], &self.buf[..n - first])
    }

    /// Copy from the front into `out` and consume; returns the count.
    pub(crate) fn pop_into(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len);
        let (a, b) = self.slices(0, n);
        out[..a.len()].copy_from_slice(a);
        out[a.len()..a.len() + b.len()].copy_from_slice(b);
        self.consume(n);
        n
    }

    /// Bytes of storage allocated (for tests).
    #[cfg(test)]
    pub(crate) fn storage(&self) -> usize {
        self.size
    }
}

/// The receive side: in-order bytes waiting for the application, plus out-of-order
/// ranges already stored at their place in the ring (RFC 9293 3.10.7.4, seventh step:
/// segments beyond RCV.NXT are held "for later processing").
#[derive(Debug)]
pub(crate) struct RecvBuffer {
    pub(crate) ring: Ring,
    /// Out-of-order ranges `[start, end)` beyond RCV.NXT, sorted, disjoint, not adjacent.
    ooo: Vec<(SeqNum, SeqNum)>,
    max_ranges: usize,
    /// Duplicate ACKs owed: one per out-of-order segment since the last ACK went out.
    dup_acks_owed: u16,
    /// A segment's data already copied, not yet committed: its first sequence number,
    /// its length, and whether it went to the application's own buffer
    /// ([`RecvBuffer::stage_direct`]) instead of the ring's append position
    /// ([`RecvBuffer::stage`]).
    staged: Option<(SeqNum, usize, bool)>,
}

/// At most this many duplicate ACKs are owed at once (a batch of out-of-order segments
/// larger than this is answered with this many).
const MAX_DUP_ACKS_OWED: u16 = 256;

impl RecvBuffer {
    pub(crate) fn new(cap: usize, max_ranges: usize) -> Self {
        RecvBuffer { ring: Ring::new(cap), ooo: Vec::new(), max_ranges, dup_acks_owed: 0, staged: None }
    }

    /// Whether the buffer holds an allocation (ring or out-of-order list).
    #[inline]
    pub(crate) fn holds_storage(&self) -> bool {
        self.ring.holds_storage() || self.ooo.capacity() != 0
    }

    /// Become `RecvBuffer::new(cap, max_ranges)`, for a buffer that holds no storage
    /// ([`RecvBuffer::holds_storage`] false): plain stores, no drop of the old storage.
    #[inline]
    pub(crate) fn reset(&mut self, cap: usize, max_ranges: usize) {
        debug_assert!(!self.holds_storage());
        self.ring.reset(cap);
        self.ooo.clear();
        self.max_ranges = max_ranges;
        self.dup_acks_owed = 0;
        self.staged = None;
    }

    /// Bytes waiting for the application.
    pub(crate) fn readable(&self) -> usize {
        self.ring.len()
    }

    /// Whether out-of-order data is held.
    pub(crate) fn has_gaps(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// Duplicate ACKs still owed to the sender.
    ///
    /// RFC 5681 4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an
    /// out-of-order segment arrives." A driver may hand the stack a whole batch of
    /// datagrams before it polls for output; counting the out-of-order arrivals (instead
    /// of a single "ACK now" flag) still yields one duplicate ACK per segment, which the
    /// sender needs to count three of them (RFC 5681 3.2).
    pub(crate) fn dup_acks_owed(&self) -> u16 {
        self.dup_acks_owed
    }

    /// One ACK-bearing segment went out.
    pub(crate) fn ack_sent(&mut self) {
        self.dup_acks_owed = self.dup_acks_owed.saturating_sub(1);
    }

    /// The out-of-order ranges held (for SACK and tests).
    pub(crate) fn ooo_ranges(&self) -> &[(SeqNum, SeqNum)] {
        &self.ooo
    }

    /// Copy the data of a segment that starts at RCV.NXT (`seq`) to where it will go,
    /// summing it on the way, before anything else of the segment is looked at: see
    /// `Stack::handle_packet`. Returns the sum (as [`Ring::stage_with_sum`]), or `None`
    /// with nothing written when this is not the simple case — out-of-order data held
    /// (it could lie where the copy goes), no room, or storage still to grow.
    ///
    /// Until [`RecvBuffer::insert`] commits them, the copied bytes are not contents:
    /// a segment found corrupt, or refused for any reason, leaves the buffer's contents,
    /// and so RCV.NXT, as they were. Call [`RecvBuffer::unstage`] once the segment is
    /// done with.
    pub(crate) fn stage(&mut self, seq: SeqNum, data: &[u8]) -> Option<u64> {
        if !self.ooo.is_empty() || data.len() > self.ring.free() {
            return None;
        }
        let sum = self.ring.stage_with_sum(data)?;
        self.staged = Some((seq, data.len(), false));
        Some(sum)
    }

    /// [`RecvBuffer::stage`] into the application's buffer `dest` instead of the ring:
    /// RFC 9293 3.10.7.4, "Once in the ESTABLISHED state, it is possible to deliver
    /// segment data to user RECEIVE buffers." Only when the ring holds nothing at all
    /// (no readable bytes, nothing out of order), so that the application's buffer gets
    /// the stream's next bytes, and only when the segment fits both `dest` and the ring's
    /// free space (the window the peer was given): data beyond it goes the ordinary way.
    ///
    /// As with [`RecvBuffer::stage`], the copy is not delivered until
    /// [`RecvBuffer::insert`] commits it; then RCV.NXT moves over it and the ring stays
    /// empty (so the bytes RCV.NXT moved over without entering the ring are the ones
    /// delivered).
    pub(crate) fn stage_direct(&mut self, seq: SeqNum, data: &[u8], dest: &mut [u8]) -> Option<u64> {
        if !self.ooo.is_empty() || self.ring.len() != 0 || data.len() > self.ring.free() {
            return None;
        }
        let dest = dest.get_mut(..data.len())?;
        let sum = copy_and_sum(dest, data, false);
        self.staged = Some((seq, data.len(), true));
        Some(sum)
    }

    /// In-order data at RCV.NXT, with nothing held out of order, was taken in without
    /// staging (`Conn::text_delivered_direct`): what [`RecvBuffer::insert`] does for
    /// it besides placing the bytes (no duplicate ACK is owed any more).
    #[inline(always)]
    pub(crate) fn took_in_order(&mut self) {
        debug_assert!(self.ooo.is_empty() && self.staged.is_none());
        self.dup_acks_owed = 0;
    }

    /// Forget a staged segment (the bytes copied stay as uncommitted storage).
    pub(crate) fn unstage(&mut self) {
        self.staged = None;
    }

    /// Store `data` starting at sequence `seq`, where `rcv_nxt` is the next expected
    /// sequence number and `seq >= rcv_nxt`. The caller has trimmed the data to the
    /// receive window. Returns how far RCV.NXT advances (0 for an out-of-order segment
    /// or when the range table is full).
    ///
    /// Speed: the common case, the next in-order data with nothing held out of order,
    /// is a straight line inlined into the callers (the receive fast path among them);
    /// everything else is [`RecvBuffer::insert_general`].
    #[inline]
    pub(crate) fn insert(&mut self, rcv_nxt: SeqNum, seq: SeqNum, data: &[u8]) -> u32 {
        if data.is_empty() || seq != rcv_nxt || !self.ooo.is_empty() || data.len() > self.ring.free() {
            return self.insert_general(rcv_nxt, seq, data);
        }
        // What `insert_general` does at offset 0 with no range held: the staged copy
        // or a write; RCV.NXT advances by this segment alone and no duplicate ACK is
        // owed.
        self.dup_acks_owed = 0;
        match self.take_staged(seq, data.len()) {
            // In the application's buffer already: delivered, nothing enters the ring.
            Some(true) => return data.len() as u32,
            Some(false) => {}
            None => self.ring.write_at(0, data),
        }
        self.ring.commit(data.len());
        data.len() as u32
    }

    /// Whether data of `len` bytes at `seq` was staged already (the same first sequence
    /// number, a prefix of what was staged), and if so whether into the application's
    /// buffer (`Some(true)`) or at the ring's append position (`Some(false)`); the
    /// staged copy is spent either way.
    #[inline(always)]
    fn take_staged(&mut self, seq: SeqNum, len: usize) -> Option<bool> {
        self.staged.take().filter(|&(s, n, _)| s == seq && len <= n).map(|(_, _, direct)| direct)
    }

    /// [`RecvBuffer::insert`] for everything but in-order data with nothing held out of
    /// order.
    #[inline(never)]
    fn insert_general(&mut self, rcv_nxt: SeqNum, seq: SeqNum, data: &[u8]) -> u32 {
        if data.is_empty() {
            return 0;
        }
        let off = seq.since(rcv_nxt) as usize;
        if off + data.len() > self.ring.free() {
            // Outside the window: the caller should have trimmed. Refuse rather than
            // overwrite readable bytes.
            return 0;
        }
        let end = seq + data.len() as u32;
        if off > 0 {
            self.dup_acks_owed = (self.dup_acks_owed + 1).min(MAX_DUP_ACKS_OWED);
            if !self.add_range(seq, end) {
                return 0;
            }
            self.ring.write_at(off, data);
            return 0;
        }
        // Data staged at this very place is there already. (A direct copy cannot reach
        // here - it needs an empty ring and no range held - but if it did, the ring gets
        // the bytes: the application's copy was never reported.)
        if self.take_staged(seq, data.len()) != Some(false) {
            self.ring.write_at(0, data);
        }
        // In order: advance over this segment and any held ranges it now reaches.
        self.advance_over_held(rcv_nxt, end)
    }

    /// RCV.NXT moves from `rcv_nxt` to `reached` (the end of contents just written) and
    /// on over every held range that then touches it: those bytes become contents.
    /// Returns how far it moved.
    fn advance_over_held(&mut self, rcv_nxt: SeqNum, reached: SeqNum) -> u32 {
        let mut new_nxt = reached;
        let mut merged = 0;
        for &(s, e) in &self.ooo {
            if !s.le(new_nxt) {
                break;
            }
            new_nxt = new_nxt.max(e);
            merged += 1;
        }
        self.ooo.drain(..merged);
        if self.ooo.is_empty() {
            // Every gap is filled: one cumulative ACK replaces the duplicates owed.
            self.dup_acks_owed = 0;
        }
        let adv = new_nxt.since(rcv_nxt);
        self.ring.commit(adv as usize);
        adv
    }

    /// Hold `data`, which starts at RCV.NXT (`rcv_nxt`), without delivering it: the text
    /// of a SYN received in SYN-SENT, which RFC 9293 3.10.7.3 queues "for processing
    /// after the ESTABLISHED state has been reached". The bytes go where in-order data
    /// would, as a held range that begins at RCV.NXT itself, until
    /// [`RecvBuffer::release_held`]. Only into an empty buffer, at most its free space;
    /// returns how many bytes are held.
    pub(crate) fn hold_at_next(&mut self, rcv_nxt: SeqNum, data: &[u8]) -> usize {
        if self.ring.len() != 0 || !self.ooo.is_empty() {
            return 0;
        }
        let data = &data[..data.len().min(self.ring.free())];
        if data.is_empty() || !self.add_range(rcv_nxt, rcv_nxt + data.len() as u32) {
            return 0;
        }
        self.ring.write_at(0, data);
        data.len()
    }

    /// Deliver what [`RecvBuffer::hold_at_next`] held at `rcv_nxt`, with any held range
    /// it reaches; returns how far RCV.NXT advances (0 when nothing is held there).
    pub(crate) fn release_held(&mut self, rcv_nxt: SeqNum) -> u32 {
        self.advance_over_held(rcv_nxt, rcv_nxt)
    }

    fn add_range(&mut self, s: SeqNum, e: SeqNum) -> bool {
        // Find the insertion point (the ranges are sorted and disjoint: a binary
        // search, as a list of many islands is appended to one segment at a time) and
        // merge overlapping or adjacent neighbours.
        let i = self.ooo.partition_point(|&(_, b)| b.lt(s));
        let mut ns = s;
        let mut ne = e;
        let mut j = i;
        while j < self.ooo.len() && self.ooo[j].0.le(ne) {
            ns = ns.min(self.ooo[j].0);
            ne = ne.max(self.ooo[j].1);
            j += 1;
        }
        if i == j && self.ooo.len() >= self.max_ranges {
            return false;
        }
        self.ooo.splice(i..j, core::iter::once((ns, ne)));
        true
    }

    /// Forget everything held (on reset).
    pub(crate) fn clear(&mut self) {
        self.ooo.clear();
        self.staged = None;
        self.dup_acks_owed = 0;
        let n = self.ring.len();
        self.ring.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps_and_returns_two_slices() {
        let mut r = Ring::new(8);
        assert_eq!(r.push(b"abcdef"), 6);
        r.consume(4);
        assert_eq!(r.push(b"ghijkl"), 6);
        assert_eq!(r.push(b"zz"), 0, "full ring accepts nothing");
        let (a, b) = r.slices(0, 8);
        assert_eq!([a, b].concat(), b"efghijkl");
        let (a, b) = r.slices(3, 2);
        assert_eq!([a, b].concat(), b"hi");
        let mut out = [0u8; 5];
        assert_eq!(r.pop_into(&mut out), 5);
        assert_eq!(&out, b"efghi");
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn append_with_offers_the_contiguous_free_space_and_clamps_what_it_is_told() {
        let mut r = Ring::new(8);
        r.push(b"abcdef");
        r.consume(4);
        // Contents "ef" at positions 4 and 5 of 8-byte storage: the space after them
        // runs to the end of the storage (2 bytes), the rest wraps to the front.
        let mut offered = 0;
        let n = r.append_with(|space| {
            offered = space.len();
            space.copy_from_slice(b"gh");
            usize::MAX
        });
        assert_eq!((offered, n), (2, 2), "a fill claiming more than offered counts the offer");
        let n = r.append_with(|space| {
            offered = space.len();
            space[..3].copy_from_slice(b"ijk");
            3
        });
        assert_eq!((offered, n), (4, 3));
        let (a, b) = r.slices(0, r.len());
        assert_eq!([a, b].concat(), b"efghijk");
        assert_eq!(r.append_with(|_| 0), 0);
        assert_eq!(r.len(), 7);
        assert_eq!(r.append_with(|s| s.len()), 1);
        assert_eq!(r.append_with(|_| panic!("a full ring offers no space")), 0);
    }

    #[test]
    fn append_with_allocates_and_grows_only_when_the_contents_fill_the_storage() {
        let mut r = Ring::new(64 * 1024);
        let mut offered = Vec::new();
        while r.free() > 0 {
            r.append_with(|s| {
                offered.push(s.len());
                s.fill(0xAB);
                s.len()
            });
        }
        // 1 KiB first, then doubling; each call is offered what the growth added.
        assert_eq!(offered, [1024, 1024, 2048, 4096, 8192, 16384, 32768]);
        assert!(r.slices(0, r.len()).0.iter().all(|&b| b == 0xAB));
    }

    #[test]
    fn consume_with_reads_the_front_in_place_up_to_the_wrap() {
        let mut r = Ring::new(8);
        r.push(b"abcdef");
        r.consume(4);
        r.push(b"ghijkl");
        let mut seen = Vec::new();
        let n = r.consume_with(|front| {
            seen = front.to_vec();
            1
        });
        assert_eq!((n, seen.as_slice()), (1, &b"efgh"[..]), "the front up to the end of storage");
        assert_eq!(r.consume_with(|f| f.len() + 100), 3, "clamped to what was offered");
        assert_eq!(r.consume_with(|f| f.len()), 4);
        assert_eq!(r.len(), 0);
        assert_eq!(r.consume_with(|f| f.len()), 0);
    }

    proptest::proptest! {
        /// Any mix of `push`, `append_with`, `consume` and `consume_with` keeps the same
        /// contents as a plain queue of bytes.
        #[test]
        fn in_place_calls_keep_the_ring_equal_to_a_byte_queue(
            cap in 1usize..5000,
            ops in proptest::collection::vec((0u8..4, 0usize..3000), 1..60),
        ) {
            let mut r = Ring::new(cap);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0u8;
            for (op, k) in ops {
                match op {
                    0 => {
                        let data: Vec<u8> = (0..k).map(|i| next.wrapping_add(i as u8)).collect();
                        let n = r.push(&data);
                        proptest::prop_assert_eq!(n, k.min(cap - model.len()));
                        model.extend(&data[..n]);
                    }
                    1 => {
                        let n = r.append_with(|space| {
                            let w = k.min(space.len());
                            for (i, b) in space[..w].iter_mut().enumerate() {
                                *b = next.wrapping_add(i as u8);
                            }
                            k
                        });
                        proptest::prop_assert!(n <= k && model.len() + n <= cap);
                        proptest::prop_assert!(n > 0 || k == 0 || model.len() == cap, "space offered");
                        model.extend((0..n).map(|i| next.wrapping_add(i as u8)));
                    }
                    2 => {
                        r.consume(k);
                        model.drain(..k.min(model.len()));
                    }
                    _ => {
                        let mut front = Vec::new();
                        let n = r.consume_with(|f| {
                            front = f.to_vec();
                            k
                        });
                        proptest::prop_assert!(n <= k && n <= front.len());
                        proptest::prop_assert!(!front.is_empty() || model.is_empty());
                        let want: Vec<u8> = model.iter().take(front.len()).copied().collect();
                        proptest::prop_assert_eq!(&front, &want);
                        model.drain(..n);
                    }
                }
                next = next.wrapping_add(97);
                let (a, b) = r.slices(0, r.len());
                proptest::prop_assert_eq!([a, b].concat(), model.iter().copied().collect::<Vec<u8>>());
            }
        }
    }

    #[test]
    fn ring_allocates_lazily_and_releases_when_empty() {
        let mut r = Ring::new(1024);
        assert_eq!(r.buf.capacity(), 0);
        r.push(b"x");
        assert_eq!(r.storage(), 1024);
        assert!(r.buf.capacity() >= 1024);
        r.consume(1);
        r.release_if_empty();
        assert_eq!(r.buf.capacity(), 0);
    }

    #[test]
    fn ring_storage_starts_small_and_grows_to_the_capacity() {
        let mut r = Ring::new(64 * 1024);
        r.push(b"x");
        assert_eq!(r.storage(), MIN_STORAGE, "a byte does not zero 64 KiB");
        let big = vec![7u8; 5000];
        r.push(&big);
        assert_eq!(r.storage(), 8192, "doubles past what is needed");
        let rest = vec![9u8; r.free()];
        r.push(&rest);
        assert_eq!(r.storage(), 64 * 1024, "never beyond the capacity");
        assert_eq!(r.len(), 64 * 1024);
    }

    #[test]
    fn growing_a_wrapped_ring_keeps_every_byte_at_its_offset() {
        // Fill the minimal storage so that the contents wrap, then force a growth.
        let mut r = Ring::new(16 * 1024);
        let a: Vec<u8> = (0..MIN_STORAGE).map(|i| i as u8).collect();
        r.push(&a);
        r.consume(MIN_STORAGE - 100);
        let b: Vec<u8> = (0..600).map(|i| (i * 7) as u8).collect();
        r.push(&b); // wraps inside the 1 KiB storage
        assert_eq!(r.storage(), MIN_STORAGE);
        let c: Vec<u8> = (0..3000).map(|i| (i * 13) as u8).collect();
        r.push(&c); // grows
        assert!(r.storage() > MIN_STORAGE);
        let mut out = vec![0u8; r.len()];
        r.pop_into(&mut out);
        let want: Vec<u8> = [&a[MIN_STORAGE - 100..], &b[..], &c[..]].concat();
        assert_eq!(out, want);
    }

    #[test]
    fn out_of_order_bytes_beyond_the_end_survive_growth() {
        // Receive side: bytes written past `len` (a hole before them) must still be
        // there, at the same sequence offset, once the ring has grown and the hole fills.
        let mut rb = RecvBuffer::new(64 * 1024, 8);
        let base = SeqNum(1_000);
        let mut nxt = base;
        // Move the head off zero inside the small storage first.
        assert_eq!(rb.insert(nxt, nxt, &[1u8; 700]), 700);
        nxt += 700;
        let mut sink = [0u8; 700];
        rb.ring.pop_into(&mut sink);
        // An island 500 bytes ahead, within the 1 KiB storage and wrapping in it.
        let island: Vec<u8> = (0..300).map(|i| (i * 3 + 1) as u8).collect();
        assert_eq!(rb.insert(nxt, nxt + 500, &island), 0);
        // A second island far ahead forces growth while the first one is held.
        let far: Vec<u8> = (0..200).map(|i| (i * 5 + 2) as u8).collect();
        assert_eq!(rb.insert(nxt, nxt + 6_000, &far), 0);
        assert!(rb.ring.storage() > MIN_STORAGE);
        // Fill both holes.
        let hole1: Vec<u8> = (0..500).map(|i| (i * 11) as u8).collect();
        assert_eq!(rb.insert(nxt, nxt, &hole1), 800);
        let gap: Vec<u8> = (0..5_200).map(|i| (i * 17) as u8).collect();
        assert_eq!(rb.insert(nxt + 800, nxt + 800, &gap), 5_400);
        let mut out = vec![0u8; 6_200];
        assert_eq!(rb.ring.pop_into(&mut out), 6_200);
        let want: Vec<u8> = [&hole1[..], &island[..], &gap[..], &far[..]].concat();
        assert_eq!(out, want);
    }

    /// A small deterministic generator for the model tests.
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn send_ring_matches_a_queue_model_through_growth_and_wrap() {
        for seed in 1..40u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let cap = [100, 1000, 3000, 5000, 64 * 1024][seed as usize % 5];
            let mut r = Ring::new(cap);
            let mut model = std::collections::VecDeque::new();
            let mut next = 0u8;
            for _ in 0..400 {
                match rng.below(3) {
                    0 | 1 => {
                        let data: Vec<u8> = (0..rng.below(2 * MIN_STORAGE))
                            .map(|_| {
                                next = next.wrapping_add(1);
                                next
                            })
                            .collect();
                        let n = r.push(&data);
                        assert_eq!(n, data.len().min(cap - model.len()));
                        model.extend(&data[..n]);
                    }
                    _ => {
                        let n = rng.below(model.len() + 1);
                        r.consume(n);
                        model.drain(..n);
                        if model.is_empty() && rng.below(4) == 0 {
                            r.release_if_empty();
                        }
                    }
                }
                assert_eq!(r.len(), model.len());
                let off = rng.below(model.len() + 1);
                let n = rng.below(model.len() - off + 1);
                let (a, b) = r.slices(off, n);
                let want: Vec<u8> = model.iter().skip(off).take(n).copied().collect();
                assert_eq!([a, b].concat(), want, "seed {seed}");
            }
        }
    }

    #[test]
    fn receive_buffer_matches_a_stream_model_with_random_reordering() {
        for seed in 1..40u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
            let cap = [700, 2000, 5000, 64 * 1024][seed as usize % 4];
            let max_seg = [64, 300, 1460][seed as usize % 3];
            let mut rb = RecvBuffer::new(cap, 8);
            let stream: Vec<u8> =
                (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
            let base = SeqNum(u32::MAX - 3_000); // across the sequence wrap
            let (mut nxt, mut delivered, mut out) = (0usize, 0usize, Vec::new());
            for _ in 0..3_000 {
                if rng.below(3) == 0 {
                    // The application reads some.
                    let mut buf = vec![0u8; rng.below(3 * max_seg)];
                    let n = rb.ring.pop_into(&mut buf);
                    out.extend_from_slice(&buf[..n]);
                    delivered += n;
                    continue;
                }
                // A segment somewhere in the window (as the connection trims it).
                let window = cap - (nxt - delivered);
                if window == 0 {
                    continue;
                }
                let off = match rng.below(4) {
                    0 | 1 => 0,
                    2 => rng.below(window.min(4 * max_seg)),
                    _ => rng.below(window),
                };
                let len = rng.below(window - off).min(max_seg) + 1;
                let len = len.min(window - off);
                let at = nxt + off;
                if at + len > stream.len() {
                    break;
                }
                let adv = rb.insert(base + nxt as u32, base + at as u32, &stream[at..at + len]);
                nxt += adv as usize;
                assert_eq!(rb.readable(), nxt - delivered, "seed {seed}");
            }
            let mut rest = vec![0u8; rb.readable()];
            rb.ring.pop_into(&mut rest);
            out.extend_from_slice(&rest);
            assert_eq!(out, &stream[..out.len()], "seed {seed}");
            assert_eq!(out.len(), nxt);
        }
    }

    #[test]
    fn out_of_order_segments_are_reassembled_when_the_gap_fills() {
        let mut rb = RecvBuffer::new(64, 4);
        let base = SeqNum(u32::MAX - 5); // across the wrap
        assert_eq!(rb.insert(base, base + 10, b"KLMNO"), 0);
        assert_eq!(rb.insert(base, base + 5, b"FGHIJ"), 0);
        assert_eq!(rb.ooo_ranges(), &[(base + 5, base + 15)]);
        assert_eq!(rb.insert(base, base, b"ABCDE"), 15);
        assert!(!rb.has_gaps());
        let mut out = [0u8; 15];
        rb.ring.pop_into(&mut out);
        assert_eq!(&out, b"ABCDEFGHIJKLMNO");
    }

    #[test]
    fn overlapping_and_duplicate_out_of_order_data_merges() {
        let mut rb = RecvBuffer::new(64, 4);
        let b = SeqNum(1000);
        rb.insert(b, b + 4, b"EFGH");
        rb.insert(b, b + 6, b"GHIJ");
        rb.insert(b, b + 4, b"EFGH");
        assert_eq!(rb.ooo_ranges(), &[(b + 4, b + 10)]);
        // An in-order segment overlapping the held range.
        assert_eq!(rb.insert(b, b, b"ABCDEF"), 10);
        let mut out = [0u8; 10];
        rb.ring.pop_into(&mut out);
        assert_eq!(&out, b"ABCDEFGHIJ");
    }

    #[test]
    fn range_table_is_bounded_and_refuses_new_islands_when_full() {
        let mut rb = RecvBuffer::new(100, 2);
        let b = SeqNum(0);
        rb.insert(b, b + 10, b"a");
        rb.insert(b, b + 20, b"b");
        rb.insert(b, b + 30, b"c"); // a third island: refused
        assert_eq!(rb.ooo_ranges().len(), 2);
        // Extending an existing island is still allowed.
        rb.insert(b, b + 11, b"x");
        assert_eq!(rb.ooo_ranges(), &[(b + 10, b + 12), (b + 20, b + 21)]);
    }

    #[test]
    fn each_out_of_order_segment_owes_one_duplicate_ack_until_the_gap_fills() {
        // RFC 5681 4.2: one immediate duplicate ACK per out-of-order segment.
        let mut rb = RecvBuffer::new(100, 4);
        let b = SeqNum(0);
        rb.insert(b, b + 10, b"aa");
        rb.insert(b, b + 20, b"bb");
        rb.insert(b, b + 20, b"bb");
        assert_eq!(rb.dup_acks_owed(), 3);
        rb.ack_sent();
        assert_eq!(rb.dup_acks_owed(), 2);
        // Filling only the first gap keeps the rest owed; filling all clears them.
        rb.insert(b, b, b"0123456789");
        assert_eq!(rb.dup_acks_owed(), 2);
        rb.insert(b + 12, b + 12, b"01234567");
        assert_eq!(rb.dup_acks_owed(), 0);
        assert!(!rb.has_gaps());
    }

    #[test]
    fn staged_bytes_are_summed_and_become_contents_only_when_committed() {
        use crate::wire::{fold64, sum_be};
        // Wrapping at the end of the storage, with first pieces of odd and even length.
        for (consumed, len) in [(0usize, 1461usize), (1000, 1461), (1001, 1460), (1023, 999), (1, 1)] {
            let mut rb = RecvBuffer::new(2048, 4);
            let base = SeqNum(7);
            let lead = vec![1u8; 2048 - 1 - consumed.max(1)];
            assert_eq!(rb.insert(base, base, &lead), lead.len() as u32);
            let mut sink = vec![0u8; consumed];
            rb.ring.pop_into(&mut sink);
            let nxt = base + lead.len() as u32;
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + consumed) as u8).collect();
            let room = rb.ring.free();
            let staged = rb.stage(nxt, &data[..len.min(room)]);
            let Some(sum) = staged else {
                assert!(len > room, "refused only without room");
                continue;
            };
            let data = &data[..len.min(room)];
            assert_eq!(fold64(sum), fold64(sum_be(data)), "consumed {consumed} len {len}");
            // Not contents yet; forgetting the staging leaves the buffer as it was.
            let readable = rb.readable();
            rb.unstage();
            assert_eq!(rb.readable(), readable);
            // Staged again and committed by the in-order insert: exactly these bytes.
            assert!(rb.stage(nxt, data).is_some());
            assert_eq!(rb.insert(nxt, nxt, data), data.len() as u32);
            let mut out = vec![0u8; rb.readable()];
            rb.ring.pop_into(&mut out);
            assert_eq!(&out[out.len() - data.len()..], data);
        }
    }

    #[test]
    fn staging_is_refused_with_out_of_order_data_held_or_storage_to_grow() {
        let mut rb = RecvBuffer::new(64 * 1024, 4);
        let b = SeqNum(0);
        rb.insert(b, b, b"x");
        assert!(rb.stage(b + 1, &[0u8; 4000]).is_none(), "the storage would have to grow");
        rb.insert(b + 1, b + 100, b"island");
        assert!(rb.stage(b + 1, b"yy").is_none(), "out-of-order data may lie where it goes");
    }

    #[test]
    fn data_beyond_free_space_is_refused() {
        let mut rb = RecvBuffer::new(8, 4);
        assert_eq!(rb.insert(SeqNum(0), SeqNum(4), b"12345"), 0);
        assert!(!rb.has_gaps());
    }
}
