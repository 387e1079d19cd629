//! The calls waiting, by what they wait for.
//!
//! A call that cannot finish leaves a waker under the connection (or listener) it
//! waits for: an async call its task's, a blocking call one that unparks its thread. The stack says what changed through its events
//! (`synack::Event`), each about one connection: data or a FIN became readable, room
//! in the send buffer, a state change, an error, the end. Every event about a
//! connection wakes all the tasks waiting for it (a reader and a writer may both be),
//! and they look again. So a call waiting on a quiet connection is never woken, however
//! busy the others are: the cost of a round of the driver is the events it saw, not
//! the calls waiting.
//!
//! Events that are about no one connection (the queue overflowed and events were
//! lost, or a kind this code does not know) wake every task, as does the end of the
//! driver; a call woken for nothing finds nothing new and waits again.

use std::collections::HashMap;
use std::task::Waker;
use synack::{ConnId, Event, ListenerId};

/// What a task waits for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum Key {
    /// Something about this connection: data, room, its opening, its end.
    Conn(ConnId),
    /// A connection in this listener's accept queue.
    Listener(ListenerId),
}

/// The wakers left by waiting tasks.
#[derive(Debug, Default)]
pub(super) struct Wakers {
    waiting: HashMap<Key, Vec<Waker>>,
}

impl Wakers {
    /// Leave `waker` under `key`, once (a task polled again with the same waker is
    /// not listed twice).
    pub(super) fn register(&mut self, key: Key, waker: &Waker) {
        let list = self.waiting.entry(key).or_default();
        if !list.iter().any(|w| w.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    /// Drop the wakers under `key` (its socket is gone) without waking them.
    pub(super) fn forget(&mut self, key: Key) {
        self.waiting.remove(&key);
    }

    /// Wake the tasks `e` concerns.
    pub(super) fn on_event(&mut self, e: &Event) {
        match key_of(e) {
            Some(key) => self.wake(key),
            None => self.wake_all(),
        }
    }

    /// Wake every waiting task.
    pub(super) fn wake_all(&mut self) {
        for (_, list) in self.waiting.drain() {
            list.into_iter().for_each(Waker::wake);
        }
    }

    /// How many tasks wait (for the tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.waiting.values().map(Vec::len).sum()
    }

    fn wake(&mut self, key: Key) {
        if let Some(list) = self.waiting.remove(&key) {
            list.into_iter().for_each(Waker::wake);
        }
    }
}

/// Whom an event concerns; `None`: possibly anyone.
fn key_of(e: &Event) -> Option<Key> {
    let c = match *e {
        Event::Accepted { listener, .. } => return Some(Key::Listener(listener)),
        Event::Connected(c)
        | Event::Readable(c)
        | Event::Writable(c)
        | Event::PeerFin(c)
        | Event::Urgent(c)
        | Event::Closed { conn: c, .. }
        | Event::IcmpError { conn: c, .. }
        | Event::DeliveryProblem { conn: c, .. }
        | Event::StateChanged { conn: c, .. } => c,
        // The queue overflowed (`Event::Overflow`: news of some connections was
        // lost), or an event this code does not know.
        _ => return None,
    };
    Some(Key::Conn(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker counting its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (Arc::clone(&c), Waker::from(c))
    }

    fn woken(c: &Counter) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    /// Two real connection handles and a listener, from a stack that never runs.
    fn handles() -> (ConnId, ConnId, ListenerId) {
        let ip: std::net::IpAddr = "192.0.2.2".parse().expect("address");
        let mut stack = synack::Stack::new(synack::Config { addresses: vec![ip], ..Default::default() });
        let now = synack::Instant::ZERO;
        let a = stack.connect(now, "192.0.2.1:80".parse().expect("address")).expect("connect");
        let b = stack.connect(now, "192.0.2.1:81".parse().expect("address")).expect("connect");
        let l = stack.listen("192.0.2.2:7".parse().expect("address"), 4).expect("listen");
        (a, b, l)
    }

    #[test]
    fn an_event_wakes_only_the_tasks_waiting_for_its_connection() {
        let (a, b, l) = handles();
        let mut w = Wakers::default();
        let (reader_a, wa) = counter();
        let (writer_a, wa2) = counter();
        let (reader_b, wb) = counter();
        let (acceptor, wl) = counter();
        w.register(Key::Conn(a), &wa);
        w.register(Key::Conn(a), &wa2);
        w.register(Key::Conn(b), &wb);
        w.register(Key::Listener(l), &wl);
        w.on_event(&Event::Readable(a));
        assert_eq!((woken(&reader_a), woken(&writer_a)), (1, 1), "both of a's tasks");
        assert_eq!((woken(&reader_b), woken(&acceptor)), (0, 0), "no one else");
        // Woken once: a's tasks must register again to be woken again.
        w.on_event(&Event::Writable(a));
        assert_eq!((woken(&reader_a), woken(&writer_a)), (1, 1));
        // The end of b, and a connection for the listener.
        w.on_event(&Event::Closed { conn: b, reason: synack::CloseReason::Normal });
        w.on_event(&Event::Accepted { listener: l, conn: a });
        assert_eq!((woken(&reader_b), woken(&acceptor)), (1, 1));
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn a_task_polled_again_is_listed_once_and_forgotten_with_its_socket() {
        let (a, b, _) = handles();
        let mut w = Wakers::default();
        let (task, waker) = counter();
        w.register(Key::Conn(a), &waker);
        w.register(Key::Conn(a), &waker);
        assert_eq!(w.len(), 1);
        w.forget(Key::Conn(a));
        w.on_event(&Event::PeerFin(a));
        assert_eq!(woken(&task), 0, "forgotten, not woken");
        // An event about another connection leaves it waiting.
        w.register(Key::Conn(a), &waker);
        w.on_event(&Event::StateChanged { conn: b, from: synack::State::SynSent, to: synack::State::Closed });
        assert_eq!((woken(&task), w.len()), (0, 1));
    }

    #[test]
    fn lost_events_and_the_end_wake_every_task() {
        let (a, b, l) = handles();
        let mut w = Wakers::default();
        let (ta, wa) = counter();
        let (tb, wb) = counter();
        let (tl, wl) = counter();
        w.register(Key::Conn(a), &wa);
        w.register(Key::Conn(b), &wb);
        w.register(Key::Listener(l), &wl);
        w.on_event(&Event::Overflow { lost: 3 });
        assert_eq!((woken(&ta), woken(&tb), woken(&tl)), (1, 1, 1));
        w.register(Key::Conn(a), &wa);
        w.wake_all();
        assert_eq!((woken(&ta), w.len()), (2, 0));
    }
}
