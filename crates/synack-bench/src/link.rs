//! The in-memory link between the two stacks of a pair, and the clock both see.
//!
//! The link is two FIFO queues of datagrams (one per direction) and a pool of
//! fixed-size packet buffers, so that moving a datagram allocates nothing once the
//! pool is warm. Both stacks use the same link: synack writes into a pooled buffer
//! with `poll_transmit`, smoltcp through its `phy::TxToken`.

use std::cell::RefCell;
use std::collections::VecDeque;

/// A clock that runs with wall time but never makes the pair wait: when both stacks are
/// idle and only a timer can make progress, it jumps forward to that timer.
///
/// Both stacks therefore see time pass at least as fast as real time (so TIME-WAIT and
/// delayed ACKs behave as in a real process), and a benchmark never sleeps.
#[derive(Debug)]
pub(crate) struct Clock {
    start: std::time::Instant,
    skipped_us: u64,
    last_us: u64,
    frozen: bool,
}

impl Clock {
    /// A clock starting at zero, running with wall time.
    pub(crate) fn new() -> Self {
        Clock { start: std::time::Instant::now(), skipped_us: 0, last_us: 0, frozen: false }
    }

    /// A clock that moves only by [`Clock::skip_to`] (deterministic runs, callgrind).
    pub(crate) fn frozen() -> Self {
        Clock { frozen: true, ..Clock::new() }
    }

    /// Stop following wall time from now on (the current reading is kept).
    pub(crate) fn freeze(&mut self) {
        let now = self.now_us();
        self.frozen = true;
        self.skipped_us = now;
    }

    /// Microseconds since the start; never goes backwards.
    pub(crate) fn now_us(&mut self) -> u64 {
        let wall = if self.frozen { 0 } else { self.start.elapsed().as_micros() as u64 };
        let t = wall + self.skipped_us;
        if t > self.last_us {
            self.last_us = t;
        }
        self.last_us
    }

    /// The latest reading (of [`Clock::now_us`] or [`Clock::skip_to`]), without reading
    /// the wall clock again.
    pub(crate) fn last_us(&self) -> u64 {
        self.last_us
    }

    /// Jump forward to `t_us` if it is in the future.
    pub(crate) fn skip_to(&mut self, t_us: u64) {
        let now = self.now_us();
        if t_us > now {
            self.skipped_us += t_us - now;
            self.last_us = t_us;
        }
    }
}

/// One datagram in flight.
#[derive(Debug)]
pub(crate) struct Packet {
    /// A pooled buffer of the link's MTU.
    pub(crate) buf: Box<[u8]>,
    /// Bytes used.
    pub(crate) len: usize,
}

/// Two queues (index = the side that will receive) and the buffer pool.
#[derive(Debug)]
pub(crate) struct Link {
    queues: [RefCell<VecDeque<Packet>>; 2],
    pool: RefCell<Vec<Box<[u8]>>>,
    mtu: usize,
}

impl Link {
    /// An empty link carrying datagrams of up to `mtu` bytes.
    pub(crate) fn new(mtu: usize) -> Self {
        Link {
            queues: [RefCell::new(VecDeque::new()), RefCell::new(VecDeque::new())],
            pool: RefCell::new(Vec::new()),
            mtu,
        }
    }

    /// The link MTU.
    pub(crate) fn mtu(&self) -> usize {
        self.mtu
    }

    /// A buffer of `mtu` bytes from the pool (allocated when the pool is empty).
    #[inline(always)]
    pub(crate) fn take_buf(&self) -> Box<[u8]> {
        self.pool.borrow_mut().pop().unwrap_or_else(|| vec![0u8; self.mtu].into_boxed_slice())
    }

    /// Return a buffer to the pool.
    #[inline(always)]
    pub(crate) fn give_back(&self, buf: Box<[u8]>) {
        self.pool.borrow_mut().push(buf);
    }

    /// Queue a datagram for side `to`.
    #[inline(always)]
    pub(crate) fn push(&self, to: usize, buf: Box<[u8]>, len: usize) {
        self.queues[to].borrow_mut().push_back(Packet { buf, len });
    }

    /// The next datagram for side `side`.
    #[inline(always)]
    pub(crate) fn pop(&self, side: usize) -> Option<Packet> {
        self.queues[side].borrow_mut().pop_front()
    }

    /// Datagrams waiting for side `side`.
    pub(crate) fn pending(&self, side: usize) -> usize {
        self.queues[side].borrow().len()
    }
}
