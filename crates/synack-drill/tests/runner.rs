//! The runner against hand-written scripts: they pass as written, and every
//! alteration of what the stack is expected to do makes them fail (or, for constructs
//! the runner does not know, skip). A runner that cannot fail is worthless.

use synack_drill::{run_script, DrillOptions, Outcome, Profile};

/// A passive open, data both ways, an active close and TIME-WAIT, with state checks.
const PASSIVE: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
+0.1 < S 0:0(0) win 65535 <mss 1460,nop,wscale 2>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 1>
+0 `sockstat -4 -P tcp -p 8080 -s | grep -c SYN_RCVD | grep 1`
+0.1 < . 1:1(0) ack 1 win 16384
+0 accept(3, ..., ...) = 4
+0 fcntl(4, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 %{ assert tcpi_state == TCPI_ESTABLISHED }%
+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0.1 < P. 1:101(100) ack 1 win 16384
+0.04 > . 1:1(0) ack 101
+0 read(4, ..., 1000) = 100
+0 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
+0 write(4, ..., 50) = 50
+0 > P. 1:51(50) ack 101
+0.1 < . 101:101(0) ack 51 win 16384
+0 close(4) = 0
+0 > F. 51:51(0) ack 101
+0.1 < F. 101:101(0) ack 52 win 16384
+0 > . 52:52(0) ack 102
+0 `sockstat -4 -P tcp -s | grep -c TIME_WAIT | grep 1`
+0 close(3) = 0
";

/// An active open with a SYN retransmission, Nagle holding a small segment, and a
/// reset reported through SO_ERROR.
const ACTIVE: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 1>
+0 %{ assert tcpi_state == TCPI_SYN_SENT }%
+1.0 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1100 ecr 0,nop,wscale 1>
+0.1 < S. 0:0(0) ack 1 win 8192 <mss 1000>
+0 > . 1:1(0) ack 1
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0 write(3, ..., 1500) = 1500
+0 > . 1:1001(1000) ack 1
+0.1 < . 1:1(0) ack 1001 win 8192
+0 > P. 1001:1501(500) ack 1
+0.1 < . 1:1(0) ack 1501 win 8192
+0.1 < R 1:1(0) win 0
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0
+0 read(3, ..., 100) = 0
+0 close(3) = 0
";

/// Blocking accept and read complete in virtual time when the segments arrive.
const BLOCKING: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
0.100...0.200 accept(3, ..., ...) = 4
0.100 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
0.200 < . 1:1(0) ack 1 win 65535
0.300...0.500 read(4, ..., 1000) = 10
0.500 < P. 1:11(10) ack 1 win 65535
0.540 > . 1:1(0) ack 11
";

/// A blocking connect refused by a RST; the error is reported once.
const REFUSED: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
0.100...0.200 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)
0.100 > S 0:0(0) <...>
0.200 < R. 0:0(0) ack 1 win 0
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0 close(3) = 0
";

/// Two full-sized segments sent back to back, expected as one (merging).
const MERGE: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1000>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 2000) = 2000
+0 > P. 1:2001(2000) ack 1
+0.1 < . 1:1(0) ack 2001 win 65535
";

/// A blocking connect that TCP_KEEPINIT (`Config::connect_timeout`) gives up after
/// 2 s: the SYNs of 0 and 1 s, then ETIMEDOUT at 2.1 s (the call began at 0.1 s).
const KEEPINIT: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPINIT, [2], 4) = 0
0.100...2.100 connect(3, ..., ...) = -1 ETIMEDOUT (Operation timed out)
0.100 > S 0:0(0) <...>
1.100 > S 0:0(0) <...>
3.000 close(3) = 0
";

/// TCP_MAXSEG (`Stack::set_mss_limit`): refused below 64 bytes; set before `connect`,
/// the SYN announces it and the segments sent keep to it though the peer announced
/// 1460.
const MAXSEG: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [10], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [1100], 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 65535 <mss 1100,sackOK,TS val 100 ecr 0,nop,wscale 1>
+0.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1
+0 getsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [1100], [4]) = 0
+0 write(3, ..., 2500) = 2500
+0 > . 1:1101(1100) ack 1
+0 > . 1101:2201(1100) ack 1
+0 > P. 2201:2501(300) ack 1
+0.1 < . 1:1(0) ack 2501 win 65535
";

/// TCP_MAXSEG on a listener (`Stack::set_listener_mss_limit`): its SYN,ACKs announce it.
const MAXSEG_LISTENER: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [700], 4) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win 65535 <mss 700>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, IPPROTO_TCP, TCP_MAXSEG, [700], [4]) = 0
";

/// SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT set before `connect`
/// (`Stack::set_keepalive`, `Stack::set_keepalive_timings`): an idle time of 0 is
/// refused; the first probe (SEQ = SND.NXT - 1) 5 s after the handshake, answered;
/// the next 5 s after that answer, then two more 2 s apart; unanswered, the
/// connection times out 2 s after the third.
const KEEPALIVE: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [0], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [5], 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPINTVL, [2], 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPCNT, [3], 4) = 0
+0 getsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [5], [4]) = 0
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 65535 <...>
+0.1 < S. 0:0(0) ack 1 win 65535 <mss 1460>
+0 > . 1:1(0) ack 1
+0 getsockopt(3, IPPROTO_TCP, TCP_KEEPCNT, [3], [4]) = 0
+5 > . 0:0(0) ack 1
+0.1 < . 1:1(0) ack 1 win 65535
+5 > . 0:0(0) ack 1
+2 > . 0:0(0) ack 1
+2 > . 0:0(0) ack 1
+2 getsockopt(3, SOL_SOCKET, SO_ERROR, [ETIMEDOUT], [4]) = 0
";

/// Keep-alive set on a listener (`Stack::set_listener_keepalive`): the connection it
/// accepts has its timings and sends its first probe 3 s after the handshake.
const KEEPALIVE_LISTENER: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_KEEPIDLE, [3], 4) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, IPPROTO_TCP, TCP_KEEPIDLE, [3], [4]) = 0
+0 getsockopt(4, IPPROTO_TCP, TCP_KEEPINTVL, [75], [4]) = 0
+3 > . 0:0(0) ack 1
";

/// IP_TOS set on a socket before `listen` (`Stack::set_listener_dscp`), then changed on
/// the accepted connection (`Stack::set_dscp`, RFC 9293 3.9.1.9, MUST-48 and SHLD-21):
/// the SYN,ACK and the first data carry CS1, the data after the change EF. A value
/// beyond a byte is refused.
const TOS: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_IP, IP_TOS, [IPTOS_DSCP_CS1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
+0 > (tos 0x20) S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 100) = 100
+0 > (tos 0x20) P. 1:101(100) ack 1
+0.1 < . 1:1(0) ack 101 win 65535
+0 setsockopt(4, IPPROTO_IP, IP_TOS, [IPTOS_DSCP_EF], 4) = 0
+0 write(4, ..., 100) = 100
+0 > (tos 0xb8) P. 101:201(100) ack 1
+0.1 < . 1:1(0) ack 201 win 65535
+0 setsockopt(4, IPPROTO_IP, IP_TOS, [256], 4) = -1 EINVAL (Invalid argument)
";

/// IP_TTL set on a socket before `listen` (`Stack::set_listener_ttl`), then changed on
/// the accepted connection (`Stack::set_ttl`), and read back: the SYN,ACK and the first
/// data carry TTL 4, the data after the change 6. 0 and a value beyond a byte are
/// refused; -1 is the default again.
const TTL: &str = "\
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, IPPROTO_IP, IP_TTL, [0], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, IPPROTO_IP, IP_TTL, [4], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 1460>
+0 > (ttl 4) S. 0:0(0) ack 1 win 65535 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, IPPROTO_IP, IP_TTL, [4], [4]) = 0
+0 write(4, ..., 100) = 100
+0 > (ttl 4) P. 1:101(100) ack 1
+0.1 < . 1:1(0) ack 101 win 65535
+0 setsockopt(4, IPPROTO_IP, IP_TTL, [6], 4) = 0
+0 write(4, ..., 100) = 100
+0 > (ttl 6) P. 101:201(100) ack 1
+0.1 < . 1:1(0) ack 201 win 65535
+0 setsockopt(4, IPPROTO_IP, IP_TTL, [0], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(4, IPPROTO_IP, IP_TTL, [256], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(4, IPPROTO_IP, IP_TTL, [-1], 4) = 0
+0 getsockopt(4, IPPROTO_IP, IP_TTL, [64], [4]) = 0
";

fn run(script: &str, strict: bool) -> Outcome {
    let opts = DrillOptions { strict, ..DrillOptions::with_profile(Profile::Rfc) };
    run_script(script, &opts)
}

/// `base` with `from` replaced by `to` (which must occur).
fn altered(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "`{from}` is not in the script");
    base.replacen(from, to, 1)
}

/// Asserts a failure at `line` on `what`.
fn assert_fails(outcome: Outcome, line: u32, what: &str) {
    match &outcome {
        Outcome::Fail { line: l, what: w, .. } if *l == line && w == what => {}
        other => panic!("expected a `{what}` failure at line {line}, got {other}"),
    }
}

fn assert_skips(outcome: Outcome, needle: &str) {
    match &outcome {
        Outcome::Skip { reason } if reason.contains(needle) => {}
        other => panic!("expected a skip mentioning `{needle}`, got {other}"),
    }
}

#[test]
fn hand_written_scripts_pass_as_written() {
    for (name, script) in [
        ("passive", PASSIVE),
        ("active", ACTIVE),
        ("blocking", BLOCKING),
        ("merge", MERGE),
        ("keepinit", KEEPINIT),
        ("maxseg", MAXSEG),
        ("maxseg on a listener", MAXSEG_LISTENER),
        ("keep-alive", KEEPALIVE),
        ("keep-alive on a listener", KEEPALIVE_LISTENER),
        ("IP_TOS", TOS),
        ("IP_TTL", TTL),
    ] {
        assert_eq!(run(script, false), Outcome::Pass, "{name}");
        assert_eq!(run(script, true), Outcome::Pass, "{name} under --strict");
    }
}

#[test]
fn a_wrong_flag_fails() {
    let s = altered(PASSIVE, "+0 > F. 51:51(0) ack 101", "+0 > R. 51:51(0) ack 101");
    assert_fails(run(&s, false), 24, "flags");
    let s = altered(PASSIVE, "+0 > S. 0:0(0) ack 1", "+0 > S 0:0(0) ack 1");
    assert_fails(run(&s, false), 9, "flags");
}

#[test]
fn a_wrong_ack_fails() {
    let s = altered(PASSIVE, "+0.04 > . 1:1(0) ack 101", "+0.04 > . 1:1(0) ack 100");
    assert_fails(run(&s, false), 17, "ack");
}

#[test]
fn a_wrong_sequence_number_or_length_fails() {
    let s = altered(PASSIVE, "+0 > P. 1:51(50) ack 101", "+0 > P. 2:52(50) ack 101");
    assert_fails(run(&s, false), 21, "seq");
    let s = altered(PASSIVE, "+0 > P. 1:51(50) ack 101", "+0 > P. 1:50(49) ack 101");
    assert_fails(run(&s, false), 21, "length");
}

#[test]
fn wrong_window_or_options_fail() {
    let s = altered(PASSIVE, "> S. 0:0(0) ack 1 win 65535", "> S. 0:0(0) ack 1 win 65534");
    assert_fails(run(&s, false), 9, "win");
    let s = altered(PASSIVE, "<mss 1460,nop,wscale 1>", "<mss 1460,nop,wscale 2>");
    assert_fails(run(&s, false), 9, "options");
    let s = altered(PASSIVE, "<mss 1460,nop,wscale 1>", "<mss 1460,wscale 1,nop>");
    assert_fails(run(&s, false), 9, "options");
    // No option list means no options.
    let s = altered(PASSIVE, " win 65535 <mss 1460,nop,wscale 1>", " win 65535");
    assert_fails(run(&s, false), 9, "options");
    // `<...>` accepts any.
    let s = altered(PASSIVE, " win 65535 <mss 1460,nop,wscale 1>", " win 65535 <...>");
    assert_eq!(run(&s, false), Outcome::Pass);
}

#[test]
fn a_missing_segment_fails() {
    // The stack sends one ACK for the data, not two.
    let s =
        altered(PASSIVE, "+0.04 > . 1:1(0) ack 101\n", "+0.04 > . 1:1(0) ack 101\n+0 > . 1:1(0) ack 101\n");
    assert_fails(run(&s, false), 18, "missing segment");
    // Without the peer's FIN there is no final ACK.
    let s = altered(PASSIVE, "+0.1 < F. 101:101(0) ack 52 win 16384\n", "");
    assert_fails(run(&s, false), 25, "missing segment");
}

#[test]
fn a_segment_at_the_wrong_time_fails() {
    // The delayed ACK comes after 40 ms, not at once ...
    let s = altered(PASSIVE, "+0.04 > . 1:1(0) ack 101", "+0 > . 1:1(0) ack 101");
    assert_fails(run(&s, false), 17, "missing segment");
    // ... nor 100 ms later.
    let s = altered(PASSIVE, "+0.04 > . 1:1(0) ack 101", "+0.14 > . 1:1(0) ack 101");
    assert_fails(run(&s, false), 17, "timing");
    // The SYN is retransmitted after 1 s, not 2 s.
    let s = altered(ACTIVE, "+1.0 > S 0:0(0)", "+2.0 > S 0:0(0)");
    assert_fails(run(&s, false), 7, "timing");
}

#[test]
fn an_unexpected_segment_fails_before_an_expected_one() {
    // The script forgets the ACK of the data: the next `>` line sees it.
    let s = altered(PASSIVE, "+0.04 > . 1:1(0) ack 101\n", "+0.04 read(4, ..., 0) = 0\n");
    match run(&s, false) {
        Outcome::Fail { line: 21, what, .. } if what == "flags" || what == "unexpected segment" => {}
        other => panic!("expected a failure at line 21, got {other}"),
    }
}

#[test]
fn an_extra_segment_at_the_end_fails_only_under_strict() {
    let s = altered(PASSIVE, "+0 > . 52:52(0) ack 102\n", "");
    assert_eq!(run(&s, false), Outcome::Pass);
    assert_fails(run(&s, true), 27, "unexpected segment");
}

#[test]
fn a_wrong_state_assertion_fails() {
    let s = altered(PASSIVE, "tcpi_state == TCPI_ESTABLISHED", "tcpi_state == TCPI_CLOSE_WAIT");
    assert_fails(run(&s, false), 14, "state");
    let s = altered(PASSIVE, "grep -c TIME_WAIT | grep 1", "grep -c TIME_WAIT | grep 0");
    assert_fails(run(&s, false), 27, "state");
    let s = altered(PASSIVE, "grep -c SYN_RCVD | grep 1", "grep -c SYN_RCVD | grep 2");
    assert_fails(run(&s, false), 10, "state");
    let s = altered(ACTIVE, "TCPI_SYN_SENT", "TCPI_ESTABLISHED");
    assert_fails(run(&s, false), 6, "state");
}

#[test]
fn a_wrong_errno_or_return_value_fails() {
    let s = altered(PASSIVE, "+0 read(4, ..., 1000) = -1 EAGAIN", "+0 read(4, ..., 1000) = -1 ECONNRESET");
    assert_fails(run(&s, false), 19, "errno");
    let s = altered(ACTIVE, "[ECONNRESET]", "[ECONNREFUSED]");
    assert_fails(run(&s, false), 17, "getsockopt value");
    let s = altered(PASSIVE, "+0 accept(3, ..., ...) = 4", "+0 accept(3, ..., ...) = 5");
    assert_fails(run(&s, false), 12, "return value");
    let s = altered(ACTIVE, "= -1 EINPROGRESS", "= 0");
    assert_fails(run(&s, false), 4, "errno");
    // EWOULDBLOCK and EAGAIN are the same number.
    let s = altered(
        PASSIVE,
        "= -1 EAGAIN (Resource temporarily unavailable)\n+0 write",
        "= -1 EWOULDBLOCK\n+0 write",
    );
    assert_eq!(run(&s, false), Outcome::Pass);
}

#[test]
fn blocking_calls_must_return_when_the_script_says() {
    // The read returns at 0.5 s when the data arrives, not at 0.4 s.
    let s = altered(BLOCKING, "0.300...0.500 read", "0.300...0.400 read");
    assert_fails(run(&s, false), 9, "timing");
    // Without the data the read never returns.
    let s = altered(BLOCKING, "0.500 < P. 1:11(10) ack 1 win 65535\n0.540 > . 1:1(0) ack 11\n", "");
    assert_fails(run(&s, false), 9, "blocked call");
}

#[test]
fn a_refused_connect_reports_its_error_once() {
    let s = altered(REFUSED, "= -1 ECONNREFUSED", "= -1 ECONNRESET");
    assert_fails(run(&s, false), 3, "errno");
    let s = altered(REFUSED, "SO_ERROR, [0]", "SO_ERROR, [ECONNREFUSED]");
    assert_fails(run(&s, false), 6, "getsockopt value");
    // A RST that does not acknowledge the SYN is ignored: the connect keeps blocking.
    let s = altered(REFUSED, "< R. 0:0(0) ack 1", "< R. 0:0(0) ack 7");
    assert_fails(run(&s, false), 3, "blocked call");
}

#[test]
fn segments_merge_only_up_to_the_scripted_length() {
    let s = altered(
        MERGE,
        "+0 > P. 1:2001(2000) ack 1",
        "+0 > . 1:1001(1000) ack 1\n+0 > P. 1001:2001(1000) ack 1",
    );
    assert_eq!(run(&s, false), Outcome::Pass);
    let s = altered(MERGE, "+0 > P. 1:2001(2000) ack 1", "+0 > P. 1:2501(2500) ack 1");
    assert_fails(run(&s, false), 10, "length");
}

#[test]
fn ifdef_branches_follow_the_profile() {
    let s = altered(
        PASSIVE,
        "+0.04 > . 1:1(0) ack 101\n",
        "#ifdef STANDARD\n+0.04 > . 1:1(0) ack 101\n#endif\n#ifdef FreeBSD\n+0.04 > R 1:1(0)\n#endif\n",
    );
    assert_eq!(run(&s, false), Outcome::Pass);
}

#[test]
fn what_the_runner_does_not_understand_is_skipped_never_passed() {
    assert_skips(run(&altered(PASSIVE, "+0 close(3) = 0", "+0 `ls /tmp`"), false), "shell command `ls /tmp`");
    assert_skips(run(&altered(PASSIVE, "+0 close(3) = 0", "+0 %{ print(tcpi_rto) }%"), false), "python");
    let s = altered(PASSIVE, "+0 bind", "+0 `sysctl -w net.inet.tcp.no_such_knob=1`\n+0 bind");
    assert_skips(run(&s, false), "net.inet.tcp.no_such_knob");
    let s = altered(PASSIVE, "+0 bind", "+0 `sysctl -w net.inet.tcp.rexmit_slop=0`\n+0 bind");
    assert_skips(run(&s, false), "slop");
    let s = altered(PASSIVE, "+0 bind", "+0 setsockopt(3, IPPROTO_TCP, TCP_FASTOPEN, [1], 4) = 0\n+0 bind");
    assert_skips(run(&s, false), "TCP_FASTOPEN");
    // TCP_NOOPT is understood: the SYN,ACK the script expects with options comes without.
    let s = altered(PASSIVE, "+0 bind", "+0 setsockopt(3, IPPROTO_TCP, TCP_NOOPT, [1], 4) = 0\n+0 bind");
    assert_fails(run(&s, false), 10, "options");
    assert_skips(run(&altered(PASSIVE, "+0 close(3) = 0", "+0 splice(3, 4) = 0"), false), "splice");
    assert_skips(run("0 > icmp unreachable port_unreachable\n", false), "ICMP");
    assert_skips(run("--udp_encapsulation=tcp\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", false), "UDP");
    assert_skips(
        run("0 socket(..., SOCK_STREAM IPPROTO_TCP) = 3\n", false),
        "syntax the runner does not accept",
    );
}

/// A passive open with a large MSS, a 4,000-byte write in one segment, then an ICMP
/// "fragmentation needed" about it: RFC 1191 Path MTU Discovery.
const PMTU: &str = "\
--mtu=9000
--tolerance_usecs=10000
0.000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0.1 < S 0:0(0) win 65535 <mss 8960,nop,wscale 2>
+0 > S. 0:0(0) ack 1 <...>
+0.1 < . 1:1(0) ack 1 win 16384
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 4000) = 4000
+0 > P. 1:4001(4000) ack 1
+0.05 < [1:4001(4000)] icmp unreachable frag_needed mtu 1500
+0 > . 1:1461(1460) ack 1
+0 > . 1461:2921(1460) ack 1
+0 > P. 2921:4001(1080) ack 1
+0.1 < . 1:1(0) ack 4001 win 16384
";

#[test]
fn an_icmp_line_reaches_the_stack_and_path_mtu_discovery_follows() {
    // RFC 9293 3.9.2.2 and RFC 1191: the quoted segment is the stack's own, its
    // sequence numbers relative to the stack's ISN, as packetdrill writes them.
    assert_eq!(run(PMTU, false), Outcome::Pass);
    // Each change below makes the first segment after the ICMP line (line 13) differ.
    // Segments of another size:
    let s = altered(PMTU, "+0 > . 1:1461(1460) ack 1", "+0 > . 1:1001(1000) ack 1");
    assert!(matches!(run(&s, false), Outcome::Fail { line: 13, .. }), "{}", run(&s, false));
    // Another MTU: the stack's segments are 1,260 bytes, not the script's 1,460.
    let s = altered(PMTU, "frag_needed mtu 1500", "frag_needed mtu 1300");
    assert!(matches!(run(&s, false), Outcome::Fail { line: 13, .. }), "{}", run(&s, false));
    // Quoting data the stack never sent (RFC 5927 4.1): ignored, so nothing is resent.
    let s = altered(PMTU, "[1:4001(4000)] icmp", "[9001:9002(1)] icmp");
    assert!(matches!(run(&s, false), Outcome::Fail { line: 13, .. }), "{}", run(&s, false));
    // A type the runner does not know is the script's error.
    assert_skips(run(&altered(PMTU, "icmp unreachable", "icmp no_such_type"), false), "unknown ICMP type");
}

#[test]
fn freebsd_sysctls_configure_the_stack() {
    // The receive space becomes the SYN's window (and SO_RCVBUF).
    let script = "\
0 `sysctl -w net.inet.tcp.recvspace=16384`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [16384], [4]) = 0
+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) win 16384 <...>
";
    let opts = DrillOptions::with_profile(Profile::Freebsd);
    assert_eq!(run_script(script, &opts), Outcome::Pass);
    let wrong = script.replace("win 16384", "win 65535");
    assert!(run_script(&wrong, &opts).is_fail());
}

#[test]
fn a_wrong_mss_limit_fails() {
    // The SYN and the SYN,ACK announce the limit, not the link's 1460.
    let s = altered(MAXSEG, "> S 0:0(0) win 65535 <mss 1100,", "> S 0:0(0) win 65535 <mss 1460,");
    assert_fails(run(&s, false), 8, "options");
    let s = altered(MAXSEG_LISTENER, "<mss 700>", "<mss 1460>");
    assert_fails(run(&s, false), 7, "options");
    // The segments keep to it.
    let s = altered(MAXSEG, "+0 > . 1:1101(1100) ack 1", "+0 > . 1:1461(1460) ack 1");
    assert_fails(run(&s, false), 13, "length");
    // A limit below 64 bytes is refused.
    let s = altered(MAXSEG, "[10], 4) = -1 EINVAL (Invalid argument)", "[10], 4) = 0");
    assert_fails(run(&s, false), 3, "errno");
    let s = altered(MAXSEG_LISTENER, "TCP_MAXSEG, [700], [4]) = 0", "TCP_MAXSEG, [1460], [4]) = 0");
    assert_fails(run(&s, false), 10, "getsockopt value");
}

#[test]
fn wrong_keepalive_timings_fail() {
    // A probe due earlier or later than the timings say.
    let s = altered(KEEPALIVE, "+5 > . 0:0(0) ack 1\n+0.1", "+4 > . 0:0(0) ack 1\n+0.1");
    assert_fails(run(&s, false), 15, "missing segment");
    let s = altered(KEEPALIVE, "+2 > . 0:0(0) ack 1", "+3 > . 0:0(0) ack 1");
    assert_fails(run(&s, false), 18, "timing");
    let s = altered(KEEPALIVE_LISTENER, "+3 > . 0:0(0) ack 1", "+4 > . 0:0(0) ack 1");
    assert_fails(run(&s, false), 13, "timing");
    // A probe carries SEQ = SND.NXT - 1.
    let s = altered(KEEPALIVE, "+5 > . 0:0(0) ack 1\n+0.1", "+5 > . 1:1(0) ack 1\n+0.1");
    assert_fails(run(&s, false), 15, "seq");
    // A fourth probe where the count is three.
    let s = altered(
        KEEPALIVE,
        "+2 getsockopt(3, SOL_SOCKET, SO_ERROR, [ETIMEDOUT], [4]) = 0",
        "+2 > . 0:0(0) ack 1",
    );
    assert_fails(run(&s, false), 20, "missing segment");
    // The values read back, and the zero idle time refused.
    let s = altered(KEEPALIVE, "TCP_KEEPCNT, [3], [4]) = 0", "TCP_KEEPCNT, [9], [4]) = 0");
    assert_fails(run(&s, false), 14, "getsockopt value");
    let s = altered(KEEPALIVE_LISTENER, "TCP_KEEPIDLE, [3], [4]) = 0", "TCP_KEEPIDLE, [7200], [4]) = 0");
    assert_fails(run(&s, false), 11, "getsockopt value");
    let s = altered(KEEPALIVE, "[0], 4) = -1 EINVAL (Invalid argument)", "[0], 4) = 0");
    assert_fails(run(&s, false), 3, "errno");
    // Without SO_KEEPALIVE, no probe comes.
    let s = altered(KEEPALIVE, "SO_KEEPALIVE, [1]", "SO_KEEPALIVE, [0]");
    assert_fails(run(&s, false), 15, "missing segment");
}

#[test]
fn a_wrong_tos_fails() {
    // The listener's segments carry the socket's field, not the default 0.
    let s = altered(TOS, "> (tos 0x20) S.", "> (tos 0x00) S.");
    assert_fails(run(&s, false), 7, "ip header");
    let s = altered(TOS, "+0 setsockopt(3, IPPROTO_IP, IP_TOS, [IPTOS_DSCP_CS1], 4) = 0\n", "");
    assert_fails(run(&s, false), 6, "ip header");
    // The change on the connection takes effect at once.
    let s = altered(TOS, "> (tos 0xb8) P.", "> (tos 0x20) P.");
    assert_fails(run(&s, false), 15, "ip header");
    let s = altered(TOS, "[256], 4) = -1 EINVAL (Invalid argument)", "[256], 4) = 0");
    assert_fails(run(&s, false), 17, "errno");
    // Before `connect`: the SYN carries it too.
    let active = altered(
        ACTIVE,
        "+0 connect(3",
        "+0 setsockopt(3, IPPROTO_IP, IP_TOS, [IPTOS_DSCP_AF41], 4) = 0\n+0 connect(3",
    );
    let syn = "+0 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 1>";
    let tos_syn = "+0 > (tos 0x88) S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 1>";
    assert_eq!(run(&altered(&active, syn, tos_syn), false), Outcome::Pass);
    assert_fails(run(&altered(ACTIVE, syn, tos_syn), false), 5, "ip header");
}

#[test]
fn a_wrong_ttl_fails() {
    // The listener's segments carry the socket's TTL, not the default 64.
    let s = altered(TTL, "> (ttl 4) S.", "> (ttl 64) S.");
    assert_fails(run(&s, false), 8, "ip header");
    let s = altered(TTL, "+0 setsockopt(3, IPPROTO_IP, IP_TTL, [4], 4) = 0\n", "");
    assert_fails(run(&s, false), 7, "ip header");
    // The change on the connection takes effect at once.
    let s = altered(TTL, "> (ttl 6) P.", "> (ttl 4) P.");
    assert_fails(run(&s, false), 17, "ip header");
    // 0 is refused on a socket not yet listening as on a connection.
    let s = altered(
        TTL,
        "(3, IPPROTO_IP, IP_TTL, [0], 4) = -1 EINVAL (Invalid argument)",
        "(3, IPPROTO_IP, IP_TTL, [0], 4) = 0",
    );
    assert_fails(run(&s, false), 3, "errno");
    let s = altered(
        TTL,
        "(4, IPPROTO_IP, IP_TTL, [0], 4) = -1 EINVAL (Invalid argument)",
        "(4, IPPROTO_IP, IP_TTL, [0], 4) = 0",
    );
    assert_fails(run(&s, false), 19, "errno");
    // getsockopt reads the connection's.
    let s = altered(TTL, "IP_TTL, [4], [4])", "IP_TTL, [64], [4])");
    assert_fails(run(&s, false), 11, "getsockopt value");
    let s = altered(TTL, "IP_TTL, [64], [4])", "IP_TTL, [6], [4])");
    assert_fails(run(&s, false), 22, "getsockopt value");
    // Before `connect`: the SYN carries it too.
    let active =
        altered(ACTIVE, "+0 connect(3", "+0 setsockopt(3, IPPROTO_IP, IP_TTL, [9], 4) = 0\n+0 connect(3");
    let syn = "+0 > S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 1>";
    let ttl_syn = "+0 > (ttl 9) S 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 1>";
    assert_eq!(run(&altered(&active, syn, ttl_syn), false), Outcome::Pass);
    assert_fails(run(&altered(ACTIVE, syn, ttl_syn), false), 5, "ip header");
}
