//! Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4).
//!
//! "It is essential to remember that the actual sequence number space is finite, though
//! very large. This space ranges from 0 to 2^32 - 1. Since the space is finite, all
//! arithmetic dealing with sequence numbers must be performed modulo 2^32." (3.4)
//!
//! Comparisons use the signed difference, so they are meaningful for numbers less than
//! 2^31 apart, which TCP's window rules guarantee.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// The raw 32-bit value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// `self < other` in sequence space.
    pub fn lt(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) < 0
    }

    /// `self <= other` in sequence space.
    pub fn le(self, other: SeqNum) -> bool {
        (self.0.wrapping_sub(other.0) as i32) <= 0
    }

    /// `self > other` in sequence space.
    pub fn gt(self, other: SeqNum) -> bool {
        other.lt(self)
    }

    /// `self >= other` in sequence space.
    pub fn ge(self, other: SeqNum) -> bool {
        other.le(self)
    }

    /// `lo <= self < hi` in sequence space (a half-open window).
    pub fn in_window(self, lo: SeqNum, hi: SeqNum) -> bool {
        lo.le(self) && self.lt(hi)
    }

    /// The later of two sequence numbers.
    pub fn max(self, other: SeqNum) -> SeqNum {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    /// The earlier of two sequence numbers.
    pub fn min(self, other: SeqNum) -> SeqNum {
        if self.lt(other) {
            self
        } else {
            other
        }
    }

    /// Compare in sequence space.
    pub fn seq_cmp(self, other: SeqNum) -> Ordering {
        (self.0.wrapping_sub(other.0) as i32).cmp(&0)
    }

    /// The distance from `earlier` to `self` as an unsigned count, or 0 if `earlier` is
    /// later than `self`.
    pub fn since(self, earlier: SeqNum) -> u32 {
        let d = self.0.wrapping_sub(earlier.0) as i32;
        if d < 0 {
            0
        } else {
            d as u32
        }
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    fn add(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }
}

impl AddAssign<u32> for SeqNum {
    fn add_assign(&mut self, n: u32) {
        self.0 = self.0.wrapping_add(n);
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    fn sub(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }
}

impl Sub<SeqNum> for SeqNum {
    type Output = i32;
    /// The signed distance `self - other`.
    fn sub(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comparisons_hold_across_the_wrap() {
        let a = SeqNum(u32::MAX - 10);
        let b = a + 20; // wraps to 9
        assert_eq!(b.0, 9);
        assert!(a.lt(b));
        assert!(b.gt(a));
        assert!(a.le(a) && a.ge(a));
        assert_eq!(b - a, 20);
        assert_eq!(a - b, -20);
        assert_eq!(b.since(a), 20);
        assert_eq!(a.since(b), 0);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }

    #[test]
    fn in_window_is_half_open_and_wraps() {
        let lo = SeqNum(u32::MAX - 1);
        let hi = lo + 4;
        assert!(lo.in_window(lo, hi));
        assert!(SeqNum(0).in_window(lo, hi));
        assert!(SeqNum(1).in_window(lo, hi));
        assert!(!hi.in_window(lo, hi));
        assert!(!(lo - 1).in_window(lo, hi));
        // An empty window contains nothing.
        assert!(!lo.in_window(lo, lo));
    }

    proptest! {
        #[test]
        fn adding_a_positive_offset_below_2_31_is_always_later(x: u32, n in 1u32..(1 << 31)) {
            let a = SeqNum(x);
            prop_assert!(a.lt(a + n));
            prop_assert!((a + n).gt(a));
            prop_assert_eq!((a + n) - a, n as i32);
            prop_assert_eq!((a + n).since(a), n);
            prop_assert_eq!((a + n) - n, a);
        }
    }
}
