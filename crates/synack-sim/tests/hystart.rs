//! A path whose bottleneck has a router's buffer (drop-tail, `queue_bytes`): slow
//! start doubles the window each round trip until the buffer overflows, and loses
//! every other segment of the last round at once. Loss recovery must get through
//! hundreds of holes, and HyStart++ (RFC 9406) in CUBIC's initial slow start should
//! see the round-trip time grow as the queue builds and leave standard slow start
//! before the overflow.

mod common;

use synack_sim::{run, Scenario, SimOptions};
use synack_viz::Event;

/// 8 MB from the server (with congestion control `cc`, HyStart++ on or off) to the
/// client: `delay` ms each way, the server's side through a 20 Mbit/s bottleneck
/// with a buffer of `queue` bytes; 4 MiB socket buffers, so that the congestion
/// window, not the receiver, limits the sender.
fn bottleneck(cc: &str, hystart: bool, queue: u32, delay: u32) -> String {
    format!(
        r#"
[[host]]
name = "client"
recv_buffer = 4194304
send_buffer = 4194304
[[host]]
name = "server"
recv_buffer = 4194304
send_buffer = 4194304
congestion_control = "{cc}"
hystart = {hystart}
[[link]]
link = "client<->server"
delay_ms = {delay}
[[link]]
link = "server->client"
delay_ms = {delay}
bandwidth_bps = 20000000
queue_bytes = {queue}
"#
    ) + &common::download_steps(8_000_000)
}

/// What a run came to: datagrams the bottleneck's buffer dropped, segments the server
/// retransmitted, and when (ms) the client had every byte and the server's FIN.
#[derive(Debug)]
struct Outcome {
    overflowed: u64,
    retransmitted: u64,
    done_ms: u64,
}

fn transfer(cc: &str, hystart: bool, queue: u32, delay: u32) -> Outcome {
    let sc = Scenario::from_toml_str(&bottleneck(cc, hystart, queue, delay)).expect("valid scenario");
    let r = run(&sc, &SimOptions::default()).expect("the run ends");
    let client = r.host("client").expect("client");
    assert_eq!(client.bytes_received, 8_000_000, "{cc} (hystart {hystart}): every byte");
    let overflowed = r.links.iter().find(|l| l.name == "server->client").expect("the link").overflowed;
    let done_ms =
        common::reached_ms(&r.trace, "client", "CLOSE-WAIT").expect("the client reached CLOSE-WAIT");
    let from_server =
        |l: &&synack_viz::TraceLine| matches!(&l.event, Event::Send(s) if s.retransmit && s.host == "server");
    let retransmitted = r.trace.iter().filter(from_server).count() as u64;
    Outcome { overflowed, retransmitted, done_ms }
}

/// The paths of the tests: (buffer bytes, one-way delay ms). On the first the buffer
/// is a full bandwidth-delay product (20 Mbit/s over 20 ms: 50 KB) three times over;
/// on the second, half of one (60 ms: 150 KB) twice over.
const PATHS: [(u32, u32); 2] = [(150_000, 10), (300_000, 30)];

#[test]
fn every_sender_gets_through_a_drop_tail_overflow_near_the_line_rate() {
    // 8 MB at 20 Mbit/s take 3.2 s on the wire. Each run overflows the buffer (slow
    // start's last round at least) and recovers from hundreds of losses. With the SACK
    // scoreboard's former 6 ranges, the holes past the sixth came one per round trip:
    // CUBIC with HyStart++ took 8.1 s on the first path and 20.3 s on the second.
    for (queue, delay) in PATHS {
        for (cc, hystart) in [("reno", false), ("cubic", false), ("cubic", true)] {
            let o = transfer(cc, hystart, queue, delay);
            eprintln!("{queue} B buffer, {delay} ms: {cc} (hystart {hystart}) {o:?}");
            assert!(o.overflowed > 0, "{cc}: the buffer overflowed");
            assert!(o.done_ms < 4_200, "{cc} (hystart {hystart}), {queue} B, {delay} ms: {} ms", o.done_ms);
            // Every hole seen, every island held, no retransmission repeated: nothing
            // that arrived is sent again. (With 128 scoreboard ranges and 256 islands,
            // Reno's 760 losses on the second path took 1,149 retransmissions; with a
            // new recovery forgetting the retransmissions of the one before, CUBIC's
            // 564 took 683.)
            assert!(o.retransmitted <= o.overflowed + o.overflowed / 20, "{cc} (hystart {hystart}): {o:?}");
        }
    }
}

#[test]
fn hystart_leaves_slow_start_before_the_buffer_overflows() {
    // The same paths, CUBIC with and without HyStart++: with it, the buffer drops at
    // most half as many datagrams (measured: 36 against 263, 83 against 1,064), and
    // the transfer ends no later. Nor does it send anything twice that arrived: each
    // retransmission repairs a loss. (That needs the receiver to hold every island of
    // a round that lost every other segment, SHLD-31: with its former 32 ranges, the
    // second path's 83 losses took 157 retransmissions.)
    for (queue, delay) in PATHS {
        let standard = transfer("cubic", false, queue, delay);
        let hystart = transfer("cubic", true, queue, delay);
        eprintln!("{queue} B, {delay} ms: standard {standard:?}, hystart++ {hystart:?}");
        assert!(
            hystart.overflowed * 2 <= standard.overflowed,
            "{queue} B, {delay} ms: {} drops with HyStart++, {} without",
            hystart.overflowed,
            standard.overflowed
        );
        assert!(hystart.done_ms <= standard.done_ms, "{hystart:?} against {standard:?}");
        assert!(hystart.retransmitted <= hystart.overflowed + hystart.overflowed / 20, "{hystart:?}");
    }
}

#[test]
fn the_hystart_knob_is_a_boolean() {
    let bad = bottleneck("cubic", true, 150_000, 10).replace("hystart = true", "hystart = \"yes\"");
    let err = Scenario::from_toml_str(&bad).expect_err("not a boolean");
    assert!(err.to_string().contains("line 11") && err.to_string().contains("boolean"), "{err}");
}
