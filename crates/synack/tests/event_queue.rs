//! The application's event queue is bounded (`Config::max_events`): an application
//! that does not drain it loses the newest events, never memory without end, and is
//! told how many it lost, in the place where they were lost (`Event::Overflow`).
//!
//! Each test runs the same exchange twice on the virtual clock, once with the default
//! bound (which it never reaches) and once with a small one, and compares the events
//! the server's application gets: the bounded run must give exactly the unbounded
//! run's events up to the bound, then one `Overflow` counting the rest.

mod common;

use common::flow_helpers::{events, recv_all};
use common::{config, server_addr, Pair, CLIENT_IP, SERVER_IP};
use synack::{ConnId, Event, State};

/// A pair whose server keeps at most `max_events` events (`None`: the default).
fn pair(max_events: Option<usize>) -> Pair {
    let mut server = config(SERVER_IP);
    if let Some(max) = max_events {
        server.max_events = max;
    }
    Pair::with_configs(config(CLIENT_IP), server)
}

/// Open a connection without taking the server's events; (client, server).
fn open(p: &mut Pair) -> (ConnId, ConnId) {
    let l = p.b.listen(server_addr(), 8).expect("listen");
    let c = p.a.connect(p.now, server_addr()).expect("connect");
    p.drive_until(100, |p| p.b.accept_queue_len(l) == 1 && p.a.state(c) == State::Established);
    let s = p.b.accept(l).expect("accept");
    (c, s)
}

/// `rounds` requests of one byte, each read by the server's application as it arrives:
/// each raises a new `Readable` on the server (the application emptied the buffer).
fn requests(p: &mut Pair, c: ConnId, s: ConnId, rounds: usize) {
    for _ in 0..rounds {
        p.a.send(c, b"x").expect("send");
        p.drive_until(100, |p| p.b.info(s).is_ok_and(|i| i.recv_queue == 1));
        assert_eq!(recv_all(&mut p.b, s), b"x");
    }
}

#[test]
fn the_default_bound_keeps_every_event_of_an_application_that_drains_late() {
    // The reference for the tests below: with the default bound nothing is lost, and
    // the exchange raises more events than the small bounds below keep: the accept,
    // then one Readable per request.
    let mut p = pair(None);
    let (c, s) = open(&mut p);
    requests(&mut p, c, s, 6);
    let got = events(&mut p.b);
    assert!(matches!(got[0], Event::Accepted { conn, .. } if conn == s), "{got:?}");
    assert_eq!(got[1..], [Event::Readable(s); 6]);
}

#[test]
fn a_full_queue_keeps_the_oldest_events_and_reports_how_many_it_dropped() {
    let mut full = pair(None);
    let (c, s) = open(&mut full);
    requests(&mut full, c, s, 6);
    let all = events(&mut full.b);

    let mut small = pair(Some(4));
    let (c, s) = open(&mut small);
    requests(&mut small, c, s, 6);
    let got = events(&mut small.b);

    let mut want = all[..4].to_vec();
    want.push(Event::Overflow { lost: (all.len() - 4) as u64 });
    assert_eq!(got, want);
    // The report is given once.
    assert_eq!(small.b.poll_event(), None);
}

#[test]
fn after_the_report_new_events_are_queued_again() {
    let mut full = pair(None);
    let (c, s) = open(&mut full);
    requests(&mut full, c, s, 6);
    events(&mut full.b);
    requests(&mut full, c, s, 2);
    let later = events(&mut full.b);

    let mut small = pair(Some(4));
    let (c, s) = open(&mut small);
    requests(&mut small, c, s, 6);
    assert!(matches!(events(&mut small.b).last(), Some(Event::Overflow { .. })));
    requests(&mut small, c, s, 2);
    assert!(later.len() <= 4, "{later:?}");
    assert_eq!(events(&mut small.b), later);
}

#[test]
fn each_gap_is_reported_where_it_was_and_later_events_queue_behind_it() {
    // Fill the queue (4) and lose one: the report joins the queue. While the queue is
    // full (the report counts), what comes is lost into the same report; once the
    // application has taken two, the next event queues behind the report, and the
    // one after, the queue full again, starts a second report.
    let mut full = pair(None);
    let (c, s) = open(&mut full);
    // The opening's events, then enough requests to overflow a queue of 4 by one.
    let opening = {
        let mut p = pair(None);
        open(&mut p);
        events(&mut p.b).len()
    };
    assert!(opening < 5, "the opening alone fills the queue: {opening}");
    let rounds = 5 - opening;
    requests(&mut full, c, s, rounds);
    let first = events(&mut full.b);
    assert_eq!(first.len(), 5, "{first:?}");
    requests(&mut full, c, s, 1);
    let while_full = events(&mut full.b);
    requests(&mut full, c, s, 2);
    let later = events(&mut full.b);
    assert_eq!((while_full.len(), later.len()), (1, 2), "{while_full:?} {later:?}");

    let mut small = pair(Some(4));
    let (c, s) = open(&mut small);
    requests(&mut small, c, s, rounds);
    // Full with its report: one more is lost into the same report.
    requests(&mut small, c, s, 1);
    assert_eq!(small.b.poll_event(), Some(first[0]));
    assert_eq!(small.b.poll_event(), Some(first[1]));
    requests(&mut small, c, s, 2);
    let want = vec![first[2], first[3], Event::Overflow { lost: 2 }, later[0], Event::Overflow { lost: 1 }];
    assert_eq!(events(&mut small.b), want);
}

#[test]
fn a_bound_of_zero_reports_only_the_count() {
    let mut full = pair(None);
    let (c, s) = open(&mut full);
    requests(&mut full, c, s, 2);
    let n = events(&mut full.b).len() as u64;

    let mut none = pair(Some(0));
    let (c, s) = open(&mut none);
    requests(&mut none, c, s, 2);
    assert_eq!(events(&mut none.b), [Event::Overflow { lost: n }]);
}
