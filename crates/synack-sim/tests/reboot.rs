//! The `reboot` call: a host crashes and restarts, its stack forgetting every
//! connection without a word. What the peer then sees is RFC 9293 3.5.1's half-open
//! connection: discovered when the rebooted side opens again (Figure 9), when the
//! other side sends (Figure 10), or by the other side's keep-alive probe (3.8.4).

mod common;

use common::{sends, transitions};
use synack_sim::{run, Scenario, SimOptions, SimResult};
use synack_viz::Seg;

/// A client (with a fixed port) and a server at 10 ms, the request and the answer
/// exchanged, then whatever `steps` adds.
fn after_exchange(host_keys: &str, steps: &str) -> SimResult {
    let text = format!(
        r#"
[[host]]
name = "client"
[[host]]
name = "server"
{host_keys}
[[link]]
link = "client<->server"
delay_ms = 10
[[step]]
host = "server"
call = "listen"
port = 80
[[step]]
host = "server"
call = "accept"
on = "accepted"
[[step]]
host = "server"
call = "recv"
[[step]]
host = "server"
call = "send"
text = "world"
on = "received"
received = 5
[[step]]
host = "client"
call = "connect"
to = "server:80"
local_port = 40000
at_ms = 0
[[step]]
host = "client"
call = "send"
text = "hello"
on = "connected"
[[step]]
host = "client"
call = "recv"
{steps}
"#
    );
    let sc = Scenario::from_toml_str(&text).expect("valid scenario");
    run(&sc, &SimOptions::default()).expect("the run ends")
}

/// Segments `host` sent at `from_us` or later, in order.
fn sent_after<'r>(r: &'r SimResult, host: &str, from_us: u64) -> Vec<&'r Seg> {
    sends(&r.trace, host).into_iter().filter(|(t, _)| *t >= from_us).map(|(_, s)| &s.seg).collect()
}

/// The last segment `host` sent before `until_us`.
fn last_sent_before<'r>(r: &'r SimResult, host: &str, until_us: u64) -> &'r Seg {
    let before = sends(&r.trace, host).into_iter().rfind(|(t, _)| *t < until_us);
    &before.expect("sent something").1.seg
}

#[test]
fn the_half_open_example_follows_rfc_9293_figure_9() {
    let sc = Scenario::from_toml_str(include_str!("../examples/half-open.toml")).expect("parses");
    let r = run(&sc, &SimOptions::default()).expect("ends");
    assert_eq!(r.check, Ok(()));
    // Before the reboot: what the server expects next and what it would send next.
    let rcv_nxt = last_sent_before(&r, "server", 1_000_000).ack;
    let server_nxt = last_sent_before(&r, "client", 1_000_000).ack;
    // 3. SYN-SENT --> <SEQ=400><CTL=SYN>
    let client = sent_after(&r, "client", 1_000_000);
    assert_eq!(client[0].flags, "S");
    assert_ne!(client[0].seq.wrapping_add(1), rcv_nxt, "a fresh ISN, outside the old window");
    // 4. <-- <SEQ=300><ACK=100><CTL=ACK> (the server's SND.NXT and RCV.NXT)
    let server = sent_after(&r, "server", 1_000_000);
    assert_eq!((server[0].flags.as_str(), server[0].seq, server[0].ack), (".", server_nxt, rcv_nxt));
    // 5. SYN-SENT --> <SEQ=100><CTL=RST>
    assert_eq!((client[1].flags.as_str(), client[1].seq), ("R", rcv_nxt));
    // 6. the server aborts; 7. the SYN again, and this time a SYN,ACK.
    let aborted = transitions(&r.trace, "server")
        .into_iter()
        .find(|(t, from, to)| *t > 1_000_000 && from == "ESTABLISHED" && to == "CLOSED")
        .expect("the server's old connection closed");
    assert_eq!(client[2].flags, "S");
    assert_eq!(client[2].seq, client[0].seq, "the same SYN, retransmitted");
    assert_eq!(server[1].flags, "S.");
    assert!(aborted.0 < 3_000_000, "aborted at {} us, before the SYN's retransmission", aborted.0);
    assert_eq!(
        r.host("server").and_then(|h| h.outcome),
        Some(synack::CloseReason::Error(synack::ConnError::Reset))
    );
}

#[test]
fn data_sent_to_a_rebooted_host_is_answered_with_rst_as_in_figure_10() {
    let r = after_exchange(
        "",
        r#"
[[step]]
host = "client"
call = "reboot"
at_ms = 1000
[[step]]
host = "server"
call = "send"
text = "more"
at_ms = 2000
"#,
    );
    // 2. <-- <SEQ=300><ACK=100><DATA=10><CTL=ACK>; 3. --> <SEQ=100><CTL=RST>
    let data = sent_after(&r, "server", 2_000_000);
    assert_eq!((data[0].flags.as_str(), data[0].len), ("P.", 4));
    let rst = sent_after(&r, "client", 1_000_000);
    assert_eq!(rst.len(), 1, "{rst:?}");
    assert_eq!((rst[0].flags.as_str(), rst[0].seq), ("R", data[0].ack), "SEQ taken from the ACK field");
    assert_eq!(
        r.host("server").and_then(|h| h.outcome),
        Some(synack::CloseReason::Error(synack::ConnError::Reset))
    );
    let closed = transitions(&r.trace, "server")
        .into_iter()
        .find(|(_, from, to)| from == "ESTABLISHED" && to == "CLOSED");
    assert!(closed.as_ref().is_some_and(|(t, ..)| *t > 2_000_000), "{closed:?}");
}

#[test]
fn keepalive_finds_a_rebooted_peer_by_its_rst() {
    let r = after_exchange(
        "keepalive_idle_ms = 5000\nkeepalive_interval_ms = 1000\nkeepalive_probes = 3",
        r#"
[[step]]
host = "client"
call = "reboot"
at_ms = 1000
"#,
    );
    // The server's first probe, 5 s after the client's last ACK, meets a host that
    // no longer knows the connection: its RST ends it (no more probes).
    let probes = sent_after(&r, "server", 1_000_000);
    assert_eq!(probes.len(), 1, "one probe: {probes:?}");
    assert_eq!(probes[0].len, 0);
    let rst = sent_after(&r, "client", 1_000_000);
    assert_eq!((rst.len(), rst[0].flags.as_str(), rst[0].seq), (1, "R", probes[0].ack));
    assert_eq!(
        r.host("server").and_then(|h| h.outcome),
        Some(synack::CloseReason::Error(synack::ConnError::Reset))
    );
    assert_eq!(r.host("server").map(|h| h.stats.keepalive_drops), Some(0), "reset, not timed out");
}

#[test]
fn a_rebooted_host_forgets_listeners_and_time_wait_and_sends_nothing_for_them() {
    // The client closes first and sits in TIME-WAIT; then both hosts reboot. The trace
    // shows each connection and the listener going to CLOSED, nothing is sent, and
    // a new SYN to the rebooted server is refused (no listener any more).
    let r = after_exchange(
        "",
        r#"
[[step]]
host = "client"
call = "close"
on = "received"
received = 5
[[step]]
host = "server"
call = "close"
on = "peer-fin"
[[step]]
host = "client"
call = "reboot"
at_ms = 1000
[[step]]
host = "server"
call = "reboot"
at_ms = 1000
[[step]]
host = "client"
call = "connect"
to = "server:80"
at_ms = 2000
"#,
    );
    let closed_at_reboot = |host: &str| -> Vec<String> {
        transitions(&r.trace, host)
            .into_iter()
            .filter(|(t, ..)| *t == 1_000_000)
            .map(|(_, from, _)| from)
            .collect()
    };
    assert_eq!(closed_at_reboot("client"), ["TIME-WAIT"]);
    assert_eq!(closed_at_reboot("server"), ["LISTEN"]);
    let after: Vec<&Seg> =
        sent_after(&r, "client", 1_000_000).into_iter().chain(sent_after(&r, "server", 1_000_000)).collect();
    assert!(after.iter().all(|s| s.flags == "S" || s.flags == "R."), "only the SYN and its RST: {after:?}");
    assert_eq!(
        r.host("client").and_then(|h| h.outcome),
        Some(synack::CloseReason::Error(synack::ConnError::Refused))
    );
    assert_eq!(r.host("client").map(|h| h.time_wait_left), Some(0));
}
