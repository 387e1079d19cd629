//! The urgent mechanism, RFC 9293 3.8.5 ("TCP implementations MUST still include
//! support for the urgent mechanism (MUST-30)") and the sixth step of 3.10.7.4. Each test
//! drives one stack by hand (`Peer`): the remote sends segments with URG and an urgent
//! field, or reads the ones the stack sends.

mod common;

use common::inject::*;
use synack::wire::TcpFlags;
use synack::{Duration, Event};

const U: TcpFlags = TcpFlags::URG;

fn urgent_events(p: &Peer) -> usize {
    p.events.iter().filter(|e| matches!(e, Event::Urgent(c) if Some(*c) == p.conn)).count()
}

/// Read `n` bytes (or what is there) from the fixture's connection.
fn read(p: &mut Peer, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let got = p.stack.recv(p.c(), &mut buf).unwrap_or(0);
    buf.truncate(got);
    buf
}

#[test]
fn urgent_data_is_signalled_and_counted_until_it_is_read() {
    // 3.10.7.4, sixth: "RCV.UP <- max(RCV.UP,SEG.UP), and signal the user that the
    // remote side has urgent data if the urgent pointer (RCV.UP) is in advance of the
    // data consumed"; MUST-33: the application can learn "how much urgent data remains
    // to be read". The pointer is the octet after the urgent data (MUST-62): 3 here.
    let mut p = Peer::established();
    let ack = only(p.feed(p.seg(PA).urg(3).data(b"abcdef")));
    assert_seg(&ack, A, p.seen, p.nxt.wrapping_add(6));
    p.nxt = p.nxt.wrapping_add(6);
    assert_eq!(urgent_events(&p), 1);
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(3));
    // In line: the urgent octets are the stream's next ones.
    assert_eq!(read(&mut p, 2), b"ab");
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(1));
    assert_eq!(read(&mut p, 10), b"cdef");
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(0), "back in normal mode");
}

#[test]
fn the_same_pointer_is_signalled_once_and_an_advancing_one_again() {
    // "If the user has already been signaled (or is still in the "urgent mode") for
    // this continuous sequence of urgent data, do not signal the user again";
    // MUST-32: inform the application "whenever the urgent pointer advances".
    let mut p = Peer::established();
    p.feed(p.seg(PA).urg(10).data(b"abcd"));
    p.nxt = p.nxt.wrapping_add(4);
    assert_eq!(urgent_events(&p), 1);
    // The next segment points at the same octet (10 from the first one's start).
    p.feed(p.seg(PA).urg(6).data(b"efgh"));
    p.nxt = p.nxt.wrapping_add(4);
    assert_eq!(urgent_events(&p), 1, "{:?}", p.events);
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(10));
    // Then further on.
    p.feed(p.seg(PA).urg(8).data(b"ijkl"));
    assert_eq!(urgent_events(&p), 2);
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(16));
}

#[test]
fn urgent_data_still_unread_after_the_peers_fin_is_counted() {
    // The FIN takes a sequence number but is no octet to read: what remains of the
    // urgent data is the same before and after it.
    let mut p = Peer::established();
    p.feed(p.seg(PA).urg(3).data(b"abcdef"));
    p.nxt = p.nxt.wrapping_add(6);
    p.feed(p.seg(FA));
    p.assert_state(synack::State::CloseWait);
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(3));
    assert_eq!(read(&mut p, 1), b"a");
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(2));
}

#[test]
fn urg_after_the_peers_fin_is_ignored() {
    // 3.10.7.4, sixth, CLOSE-WAIT: "This should not occur since a FIN has been received
    // from the remote side. Ignore the URG."
    let mut p = Peer::close_wait();
    p.feed(p.seg(A).urg(5));
    assert_eq!(urgent_events(&p), 0);
    assert_eq!(p.stack.urgent_pending(p.c()), Ok(0));
}

#[test]
fn sent_urgent_data_carries_urg_and_a_pointer_past_its_last_octet() {
    // 3.10.2 SEND: "If the urgent flag is set, then SND.UP <- SND.NXT and set the
    // urgent pointer in the outgoing segments"; MUST-62: it points at the octet after
    // the urgent data.
    // (Nagle off: the short segments below go out at once, with data in flight.)
    let mut p = Peer::established_with(synack::Config { nagle: false, ..inject_config() });
    let start = p.seen;
    assert_eq!(p.stack.send(p.c(), b"1234"), Ok(4));
    assert_eq!(p.stack.send_urgent(p.c(), b"56"), Ok(2));
    let seg = only(p.flush());
    assert_eq!(seg.flags, PA | U, "{seg:?}");
    assert_eq!((seg.seq, seg.urgent), (start, 6));
    // Data queued after it: the segment that carries only that has no URG.
    assert_eq!(p.stack.send(p.c(), b"tail"), Ok(4));
    let after = only(p.flush());
    assert_eq!(after.seq, start.wrapping_add(6));
    assert!(!after.flags.urg(), "{after:?}");
    // The urgent segment, retransmitted, carries its pointer again.
    let again = p.advance(Duration::from_secs(2));
    let first = again.iter().find(|o| o.seq == start).expect("retransmitted");
    assert!(first.flags.urg() && first.urgent == 6, "{first:?}");
    // Once the urgent data is acknowledged, nothing carries URG any more.
    p.feed(p.seg(A).ack(start.wrapping_add(10)));
    assert_eq!(p.stack.send(p.c(), b"later"), Ok(5));
    let later = only(p.flush());
    assert!(!later.flags.urg(), "{later:?}");
}

#[test]
fn every_segment_of_long_urgent_data_points_at_its_end() {
    // A send of urgent data longer than a segment: each segment's pointer is what is
    // left to the end. Taken one at a time (`poll_transmit`) and in batches
    // (`poll_transmit_many`, whose runs patch only SEG.SEQ into the previous header
    // when sending is predicted: it must not be while urgent data is pending).
    for batch in [None, Some(16)] {
        long_urgent_data(batch);
    }
}

fn long_urgent_data(batch: Option<usize>) {
    let mut p = Peer::established();
    p.batch = batch;
    let start = p.seen;
    let end = start.wrapping_add(5000);
    assert_eq!(p.stack.send_urgent(p.c(), &[7u8; 5000]), Ok(5000));
    let mut segs = p.flush();
    // The window lets some out; the peer's ACK lets the rest follow.
    while p.seen != end {
        let more = p.feed(p.seg(A).ack(p.seen));
        assert!(!more.is_empty(), "stalled at {}", p.seen);
        segs.extend(more);
    }
    assert!(segs.len() >= 4, "{segs:?}");
    for s in segs.iter().filter(|s| !s.payload.is_empty()) {
        assert!(s.flags.urg(), "{s:?}");
        assert_eq!(u32::from(s.urgent), end.wrapping_sub(s.seq), "{s:?}");
    }
}
