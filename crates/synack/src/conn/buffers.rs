//! Byte buffers of one connection: the send ring (which is also the retransmission
//! queue) and the receive ring with out-of-order reassembly.
//!
//! Both allocate their storage on first use, so an idle connection that never moved
//! data costs no buffer memory, and both are bounded by the configured size.

use crate::seq::SeqNum;

/// A fixed-capacity byte ring. Storage is allocated on first write.
#[derive(Debug)]
pub(crate) struct Ring {
    buf: Vec<u8>,
    cap: usize,
    head: usize,
    len: usize,
}

impl Ring {
    pub(crate) fn new(cap: usize) -> Self {
        Ring { buf: Vec::new(), cap, head: 0, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    pub(crate) fn free(&self) -> usize {
        self.cap - self.len
    }

    fn ensure_storage(&mut self) {
        if self.buf.len() != self.cap {
            self.buf.resize(self.cap, 0);
        }
    }

    /// Give the storage back when empty (idle connections hold no buffers).
    pub(crate) fn release_if_empty(&mut self) {
        if self.len == 0 && !self.buf.is_empty() {
            self.buf = Vec::new();
            self.head = 0;
        }
    }

    /// Write `data` at byte offset `off` past the current end (0 = append position),
    /// without changing `len`. The caller guarantees `len + off + data.len() <= cap`.
    pub(crate) fn write_at(&mut self, off: usize, data: &[u8]) {
        if data.is_empty() || self.len + off + data.len() > self.cap {
            return;
        }
        self.ensure_storage();
        let start = (self.head + self.len + off) % self.cap;
        let first = data.len().min(self.cap - start);
        self.buf[start..start + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        if rest > 0 {
            self.buf[..rest].copy_from_slice(&data[first..]);
        }
    }

    /// Append as much of `data` as fits; returns the count.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        self.write_at(0, &data[..n]);
        self.len += n;
        n
    }

    /// Extend `len` over bytes already written with `write_at`.
    pub(crate) fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.cap);
    }

    /// Drop `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        if self.cap > 0 {
            self.head = (self.head + n) % self.cap;
        }
        // The head is not reset when the ring empties: out-of-order bytes of the
        // receive side may be stored beyond the end.
        self.len -= n;
    }

    /// The bytes in `[off, off + n)` of the contents, as up to two slices.
    pub(crate) fn slices(&self, off: usize, n: usize) -> (&[u8], &[u8]) {
        let n = n.min(self.len.saturating_sub(off));
        if n == 0 || self.buf.is_empty() {
            return (&[], &[]);
        }
        let start = (self.head + off) % self.cap;
        let first = n.min(self.cap - start);
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
}

/// At most this many duplicate ACKs are owed at once (a batch of out-of-order segments
/// larger than this is answered with this many).
const MAX_DUP_ACKS_OWED: u16 = 256;

impl RecvBuffer {
    pub(crate) fn new(cap: usize, max_ranges: usize) -> Self {
        RecvBuffer { ring: Ring::new(cap), ooo: Vec::new(), max_ranges, dup_acks_owed: 0 }
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
    #[cfg(test)]
    pub(crate) fn ooo_ranges(&self) -> &[(SeqNum, SeqNum)] {
        &self.ooo
    }

    /// Store `data` starting at sequence `seq`, where `rcv_nxt` is the next expected
    /// sequence number and `seq >= rcv_nxt`. The caller has trimmed the data to the
    /// receive window. Returns how far RCV.NXT advances (0 for an out-of-order segment
    /// or when the range table is full).
    pub(crate) fn insert(&mut self, rcv_nxt: SeqNum, seq: SeqNum, data: &[u8]) -> u32 {
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
        self.ring.write_at(0, data);
        // In order: advance over this segment and any held ranges it now reaches.
        let mut new_nxt = end;
        let mut merged = 0;
        for &(s, e) in &self.ooo {
            if s.le(new_nxt) {
                new_nxt = new_nxt.max(e);
                merged += 1;
            } else {
                break;
            }
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

    fn add_range(&mut self, s: SeqNum, e: SeqNum) -> bool {
        // Find the insertion point and merge overlapping or adjacent neighbours.
        let mut i = 0;
        while i < self.ooo.len() && self.ooo[i].1.lt(s) {
            i += 1;
        }
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
    fn ring_allocates_lazily_and_releases_when_empty() {
        let mut r = Ring::new(1024);
        assert_eq!(r.buf.capacity(), 0);
        r.push(b"x");
        assert_eq!(r.buf.len(), 1024);
        r.consume(1);
        r.release_if_empty();
        assert_eq!(r.buf.capacity(), 0);
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
    fn data_beyond_free_space_is_refused() {
        let mut rb = RecvBuffer::new(8, 4);
        assert_eq!(rb.insert(SeqNum(0), SeqNum(4), b"12345"), 0);
        assert!(!rb.has_gaps());
    }
}
