//! `synack tun serve` and `synack tun connect` as a user runs them: the binary itself,
//! with the README's arguments, against the kernel's TCP in a network namespace of the
//! test's own (see `support`, shared with synack-tun's interop tests; every address is
//! in 192.0.2.0/24 and nothing leaves the namespace). The library underneath has its
//! own interop tests; these check what only the binary does: its arguments, what it
//! prints on standard output and standard error, its exit status, the files it writes
//! and its shutdown on SIGINT.

#[path = "../../synack-tun/tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::*;
use synack_tun::pattern::pattern_sha256;

const LIMIT: Duration = Duration::from_secs(90);
const MIB: u64 = 1 << 20;

/// The binary under test.
fn synack() -> &'static str {
    env!("CARGO_BIN_EXE_synack")
}

/// Start `synack ARGS` as a child of the namespace.
fn spawn_synack(args: &[&str]) -> Peer {
    Peer::spawn("synack", synack(), args)
}

/// `synack show TRACE --seqgraph GRAPH`: the graph it drew.
fn show_seqgraph(trace: &std::path::Path, graph: &std::path::Path) -> String {
    let out = Command::new(synack())
        .arg("show")
        .arg(trace)
        .args(["--quiet", "--seqgraph"])
        .arg(graph)
        .output()
        .expect("run synack show");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(graph).expect("the graph was written")
}

/// The first line `p` printed that contains `needle`, waiting up to `limit` for it.
fn wait_containing(p: &mut Peer, needle: &str, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        if let Some(l) = p.poll_lines().iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        assert!(Instant::now() < end, "no line with {needle:?} within {limit:?}: {:?}", p.poll_lines());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Send SIGINT, as Ctrl-C does, and wait for the exit.
fn interrupt(p: &mut Peer) {
    run_ok("kill", &["-INT", &p.pid().to_string()]);
    wait_exit(p, Duration::from_secs(10));
}

fn wait_exit(p: &mut Peer, limit: Duration) {
    let end = Instant::now() + limit;
    while p.exited().is_none() {
        assert!(Instant::now() < end, "synack did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The SHA-256 of a file, by `sha256sum` (as the README checks the download).
fn sha256sum(path: &std::path::Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string()
}

#[test]
fn serve_answers_curl_prints_a_report_and_stops_cleanly_on_sigint() {
    // The README's first example, step by step.
    let name = "serve_answers_curl_prints_a_report_and_stops_cleanly_on_sigint";
    in_netns(name, &["curl", "sha256sum"], LIMIT, || {
        let dir = artifacts(name);
        let (pcap, json, body) = (dir.join("serve.pcapng"), dir.join("serve.jsonl"), dir.join("body.bin"));
        let _ = std::fs::remove_file(&body);
        let mut server = spawn_synack(&[
            "tun",
            "serve",
            "--dev",
            DEV,
            "--addr",
            "192.0.2.2",
            "--peer",
            "192.0.2.1",
            "--port",
            "8080",
            "--app",
            "http",
            "--pcap",
            pcap.to_str().expect("utf-8 path"),
            "--json",
            json.to_str().expect("utf-8 path"),
        ]);
        wait_for_device(&mut server);
        let url = format!("http://192.0.2.2:8080/bytes/{MIB}");
        let body_path = body.to_str().expect("utf-8 path");
        run_ok("curl", &["-sS", "--max-time", "30", "-o", body_path, &url]);
        let digest = sha256sum(&body);
        assert_eq!(digest, pattern_sha256(MIB), "the body is the pattern synack serves");
        // One report line per connection on standard output, once it is closed.
        let report = server.wait_line("192.0.2.1:", Duration::from_secs(10)).expect("a report line");
        assert!(report.contains(" http: received "), "{report}");
        // The body and the response header before it.
        let sent = number_after(&report, "sent ").expect("a byte count sent");
        assert!(sent > MIB && sent < MIB + 512, "{report}");
        assert!(report.contains("request \"GET /bytes/1048576 HTTP/1.1\""), "{report}");
        assert!(report.ends_with(", closed"), "{report}");
        interrupt(&mut server);
        let err = server.stderr();
        assert!(server.exited().is_some_and(|s| s.success()), "exit status after SIGINT; stderr:\n{err}");
        assert!(err.contains("synack: serving http on 192.0.2.2:8080 via synack0"), "{err}");
        assert!(err.contains("synack: stack counters: "), "counters at exit:\n{err}");
        // The capture is pcapng (a Section Header Block first) and the trace is the
        // DESIGN.md JSON contract, showing the connection from LISTEN to its end.
        let bytes = std::fs::read(&pcap).expect("the capture was written");
        assert_eq!(bytes.get(..4), Some(&[0x0A, 0x0D, 0x0D, 0x0A][..]), "pcapng section header");
        let text = std::fs::read_to_string(&json).expect("the trace was written");
        let lines = synack_viz::parse_jsonl(&text).expect("the trace parses");
        let states = transitions(&lines, "");
        assert!(states.iter().any(|s| s == "LISTEN>SYN-RECEIVED"), "{states:?}");
        assert!(states.iter().any(|s| s == "SYN-RECEIVED>ESTABLISHED"), "{states:?}");
        assert!(states.iter().any(|s| s.starts_with("ESTABLISHED>")), "a close: {states:?}");
        // `synack show` draws the download's time-sequence graph from that trace: every
        // segment of the body, and the kernel's ACKs as the line under them.
        let svg = show_seqgraph(&json, &dir.join("serve-seqgraph.svg"));
        let bars = svg.matches("class=\"seg new\"").count();
        assert!(bars as u64 >= MIB / 1460, "{bars} segments drawn for {MIB} bytes");
        assert_eq!(svg.matches("class=\"ack\"").count(), 1, "the ACK line");
    });
}

#[test]
fn serve_transparent_answers_curl_at_any_address_and_names_each_destination() {
    // `--transparent`: one server for every address and port the kernel routes into
    // the device (a transparent proxy's endpoint). Neither address below is synack's.
    let name = "serve_transparent_answers_curl_at_any_address_and_names_each_destination";
    in_netns(name, &["curl"], LIMIT, || {
        // (The device and addresses are the defaults: synack0, 192.0.2.2, 192.0.2.1.)
        let mut server = spawn_synack(&["tun", "serve", "--transparent", "--app", "http"]);
        wait_for_device(&mut server);
        for (dest, n) in [("192.0.2.77:8000", 1000), ("192.0.2.88:9999", 10)] {
            let url = format!("http://{dest}/bytes/{n}");
            let out =
                Command::new("curl").args(["-sS", "--max-time", "20", &url]).output().expect("run curl");
            assert!(out.status.success(), "curl {url}: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.stdout.len(), n, "{url}");
            let report = wait_containing(&mut server, &format!(" to {dest} "), Duration::from_secs(10));
            assert!(report.starts_with("192.0.2.1:"), "{report}");
            assert!(report.contains(&format!(" to {dest} http: received ")), "{report}");
            assert!(report.contains(&format!("request \"GET /bytes/{n} HTTP/1.1\"")), "{report}");
        }
        interrupt(&mut server);
        let err = server.stderr();
        assert!(server.exited().is_some_and(|s| s.success()), "exit status after SIGINT; stderr:\n{err}");
        assert!(err.contains("synack: serving http on every address and port via synack0"), "{err}");
    });
}

#[test]
fn serve_with_an_mss_limit_announces_it_and_keeps_to_it() {
    // `serve --mss 536` (Stack::set_listener_mss_limit): the SYN,ACK to curl announces
    // 536, and the 64 KiB body goes in segments of at most 536 bytes less options.
    let name = "serve_with_an_mss_limit_announces_it_and_keeps_to_it";
    in_netns(name, &["curl", "sha256sum"], LIMIT, || {
        let dir = artifacts(name);
        let (json, body) = (dir.join("serve.jsonl"), dir.join("body.bin"));
        let _ = std::fs::remove_file(&body);
        let json_path = json.to_str().expect("utf-8 path");
        let mut server = spawn_synack(&[
            "tun", "serve", "--dev", DEV, "--app", "http", "--mss", "536", "--json", json_path,
        ]);
        wait_for_device(&mut server);
        let body_path = body.to_str().expect("utf-8 path");
        run_ok("curl", &["-sS", "--max-time", "30", "-o", body_path, "http://192.0.2.2:8080/bytes/65536"]);
        assert_eq!(sha256sum(&body), pattern_sha256(65_536));
        server.wait_line("192.0.2.1:", Duration::from_secs(10)).expect("a report line");
        interrupt(&mut server);
        let text = std::fs::read_to_string(&json).expect("the trace was written");
        let sent = sent_segments(synack_viz::parse_jsonl(&text).expect("the trace parses"));
        let synack = sent.iter().find(|s| s.flags == "S.").expect("the SYN,ACK");
        assert!(synack.opts.iter().any(|o| o == "mss 536"), "{:?}", synack.opts);
        let largest = sent.iter().map(|s| s.len).max().unwrap_or(0);
        assert!((1..=536).contains(&largest), "largest segment {largest}");
    });
}

/// The number that follows `prefix` in `line`.
fn number_after(line: &str, prefix: &str) -> Option<u64> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[test]
fn connect_sends_to_a_kernel_server_and_prints_the_same_count_and_digest() {
    // The README's client example: a Python sink prints what it received, the binary
    // what it sent, and the two agree.
    let name = "connect_sends_to_a_kernel_server_and_prints_the_same_count_and_digest";
    in_netns(name, &["python3"], LIMIT, || {
        // The sink listens on every address, so that it is ready before the device (and
        // its address 192.0.2.1) exists.
        let mut sink = Peer::python("sink", PY_SINK_SERVER, &["0.0.0.0", "9100"]);
        assert!(sink.wait_line("listening", Duration::from_secs(10)).is_some(), "the sink did not start");
        let mut client =
            spawn_synack(&["tun", "connect", "192.0.2.1:9100", "--send", "10M", "--timeout", "60"]);
        wait_exit(&mut client, Duration::from_secs(60));
        wait_exit(&mut sink, Duration::from_secs(10));
        client.assert_success();
        let err = client.stderr();
        sink.assert_success();
        let n = 10 * MIB;
        let digest = pattern_sha256(n);
        let report = client.line("sent ").expect("the client's report");
        assert!(report.starts_with(&format!("sent {n} bytes sha256 {digest} (192.0.2.2:")), "{report}");
        assert!(report.contains("-> 192.0.2.1:9100"), "{report}");
        assert_eq!(sink.line("received"), Some(format!("received {n} {digest}")));
        assert!(err.contains("synack: stack counters: "), "counters at exit:\n{err}");
    });
}

/// Listen on every address; accept one; send N zero bytes; close. (Every address: it
/// is ready before the device and its address exist.)
const PY_ZEROS_SERVER: &str = r#"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", port)); ls.listen(8); ls.settimeout(60)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(60)
c.sendall(bytes(n)); c.close(); ls.close()
print("sent", n, flush=True)
"#;

#[test]
fn connect_receives_from_a_kernel_server_and_show_draws_the_receivers_graph() {
    // `tun connect --recv --json`: the kernel sends, synack receives; its trace holds
    // what arrived and the ACKs synack sent, and `synack show --seqgraph` draws the
    // transfer from that side.
    let name = "connect_receives_from_a_kernel_server_and_show_draws_the_receivers_graph";
    in_netns(name, &["python3"], LIMIT, || {
        let dir = artifacts(name);
        let (json, graph) = (dir.join("recv.jsonl"), dir.join("recv-seqgraph.svg"));
        let n = 2 * MIB;
        let mut source = Peer::python("source", PY_ZEROS_SERVER, &["9102", &n.to_string()]);
        assert!(source.wait_line("listening", Duration::from_secs(10)).is_some(), "the source did not start");
        let json_path = json.to_str().expect("utf-8 path");
        let mut client = spawn_synack(&[
            "tun",
            "connect",
            "192.0.2.1:9102",
            "--recv",
            "--timeout",
            "60",
            "--json",
            json_path,
        ]);
        wait_exit(&mut client, Duration::from_secs(60));
        wait_exit(&mut source, Duration::from_secs(10));
        client.assert_success();
        source.assert_success();
        let report = client.line("received ").expect("the client's report");
        assert!(report.starts_with(&format!("received {n} bytes")), "{report}");
        let svg = show_seqgraph(&json, &graph);
        assert!(svg.contains("time-sequence graph"), "titled");
        assert!(svg.contains(">arrived<") && svg.contains(">ACK sent<"), "drawn from the receiver");
        let bars = svg.matches("class=\"seg new\"").count() as u64;
        // Each arrival is at most an MSS (1460 bytes here): at least n / 1460 of them.
        assert!(bars >= n / 1460, "{bars} segments drawn for {n} bytes");
        assert_eq!(svg.matches("class=\"ack\"").count(), 1, "synack's ACK line");
    });
}

#[test]
fn connect_to_a_closed_port_says_connection_refused_and_fails() {
    let name = "connect_to_a_closed_port_says_connection_refused_and_fails";
    in_netns(name, &[], LIMIT, || {
        let mut client = spawn_synack(&["tun", "connect", "192.0.2.1:9", "--send", "1", "--timeout", "20"]);
        wait_exit(&mut client, Duration::from_secs(30));
        let status = client.exited().expect("exited");
        let err = client.stderr();
        assert!(!status.success(), "a refused connection is a failure; stderr:\n{err}");
        assert!(err.contains("synack: error: ") && err.contains("connection refused"), "{err}");
        assert!(client.poll_lines().is_empty(), "no report on standard output");
    });
}

#[test]
fn connect_prints_each_icmp_error_and_keeps_trying_until_its_timeout() {
    // RFC 9293 3.9.2.2: "host unreachable" is a soft error (MUST-56): the binary tells
    // it on standard error as it arrives and goes on retransmitting its SYN until its
    // own `--timeout`.
    let name = "connect_prints_each_icmp_error_and_keeps_trying_until_its_timeout";
    in_netns(name, &[], LIMIT, || {
        enable_forwarding();
        run_ok("ip", &["route", "add", "unreachable", "192.0.2.200/32"]);
        let mut client = spawn_synack(&["tun", "connect", "192.0.2.200:80", "--send", "1", "--timeout", "4"]);
        wait_exit(&mut client, Duration::from_secs(20));
        let status = client.exited().expect("exited");
        let err = client.stderr();
        assert!(!status.success(), "{err}");
        let told = err.lines().filter(|l| *l == "synack: ICMP: host unreachable (still trying)").count();
        assert!(told >= 2, "the SYN and a retransmission each drew an error, each told:\n{err}");
        assert!(err.contains("synack: error: timed out"), "it ends at its own timeout:\n{err}");
        let counters = err.lines().find(|l| l.starts_with("synack: stack counters: ")).expect("counters");
        assert!(counters.contains(&format!("icmp_errors={told}")), "{counters}");
    });
}

#[test]
fn connect_tells_of_a_delivery_problem_after_three_unanswered_syns() {
    // RFC 9293 3.8.3: the application is told when R1 (three retransmissions) is
    // reached, SYNs included (SHLD-9, MUST-22), and the open goes on. The kernel of
    // this namespace does not forward: a SYN to another address on the device is
    // dropped without an answer.
    let name = "connect_tells_of_a_delivery_problem_after_three_unanswered_syns";
    in_netns(name, &[], LIMIT, || {
        let mut client = spawn_synack(&["tun", "connect", "192.0.2.77:80", "--send", "1", "--timeout", "9"]);
        wait_exit(&mut client, Duration::from_secs(30));
        let err = client.stderr();
        let told: Vec<&str> = err.lines().filter(|l| l.contains("no acknowledgment")).collect();
        assert_eq!(told, ["synack: no acknowledgment after 3 retransmissions (still trying)"], "{err}");
        assert!(err.contains("synack: error: timed out"), "it ends at its own timeout:\n{err}");
    });
}

/// `synack tun connect` with `option 2` to an address that never answers (this
/// namespace's kernel does not forward): the stack gives the open up at 2 s, after the
/// SYN of 1 s and before the one of 3 s, long before the tool's own `--timeout`.
fn unanswered_open_gives_up_at_2_s(name: &str, option: &str) {
    in_netns(name, &[], LIMIT, || {
        let args = ["tun", "connect", "192.0.2.77:80", "--send", "1", "--timeout", "20", option, "2"];
        let mut client = spawn_synack(&args);
        wait_exit(&mut client, Duration::from_secs(30));
        let status = client.exited().expect("exited");
        let err = client.stderr();
        assert!(!status.success(), "{err}");
        assert!(err.contains("synack: error: connection timed out"), "the stack's own timeout:\n{err}");
        let counters = err.lines().find(|l| l.starts_with("synack: stack counters: ")).expect("counters");
        assert!(counters.split(' ').any(|w| w == "retransmissions=1"), "one SYN retransmitted: {counters}");
    });
}

#[test]
fn connect_timeout_gives_up_an_unanswered_open_at_its_deadline() {
    // `--connect-timeout` (Config::connect_timeout).
    let name = "connect_timeout_gives_up_an_unanswered_open_at_its_deadline";
    unanswered_open_gives_up_at_2_s(name, "--connect-timeout");
}

#[test]
fn user_timeout_bounds_an_unanswered_open_too() {
    // `--user-timeout` (Stack::set_user_timeout, RFC 9293 3.10.8), set before the SYN
    // goes out: the SYN stays unacknowledged for 2 s.
    unanswered_open_gives_up_at_2_s("user_timeout_bounds_an_unanswered_open_too", "--user-timeout");
}

/// Connect with a small receive buffer, ask for 10 MiB and never read: the kernel's
/// window closes, and synack's zero-window probes are answered without taking their
/// byte. Prints "asked" after the request, holds the connection for 12 s.
const PY_STALLED_READER: &str = r#"
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(30)
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"GET /bytes/10485760 HTTP/1.1\r\nHost: synack\r\n\r\n")
print("asked", flush=True)
time.sleep(12)
s.close()
"#;

/// Inside a test's namespace: `serve --app http` and a kernel client that stops
/// reading, with `extra` options. How long after the request the report line of the
/// connection came, if within 8 s, and the line.
fn serve_to_a_stalled_reader(extra: &[&str]) -> Option<(Duration, String)> {
    let mut args = vec!["tun", "serve", "--port", "8080", "--app", "http"];
    args.extend_from_slice(extra);
    let mut server = spawn_synack(&args);
    wait_for_device(&mut server);
    let mut py = Peer::python("kernel", PY_STALLED_READER, &["192.0.2.2", "8080"]);
    py.wait_line("asked", Duration::from_secs(10)).expect("the client connected and asked");
    let asked = Instant::now();
    let found = server.wait_line("192.0.2.1:", Duration::from_secs(8)).map(|l| (asked.elapsed(), l));
    interrupt(&mut server);
    found
}

#[test]
fn serve_user_timeout_aborts_a_connection_whose_reader_stalled() {
    // `serve --user-timeout 2` (Stack::set_listener_user_timeout, RFC 9293 3.10.8):
    // the response waits undelivered behind the kernel's closed window, and the
    // zero-window probes are answered: aborted 2 s after the last acknowledgment of
    // new data (3.9.1: "If data is not successfully delivered to the destination
    // within the timeout period, the TCP endpoint will abort the connection").
    // Without the option, the answered probes keep it open (3.8.6.1, MUST-37) and no
    // report comes.
    let name = "serve_user_timeout_aborts_a_connection_whose_reader_stalled";
    in_netns(name, &["python3"], LIMIT, || {
        let (after, line) = serve_to_a_stalled_reader(&["--user-timeout", "2"]).expect("a report within 8 s");
        assert!(line.ends_with(", failed: connection timed out"), "{line}");
        assert!(after >= Duration::from_secs(2), "not before the user timeout: {after:?}");
        assert_eq!(serve_to_a_stalled_reader(&[]), None, "no report without the option");
    });
}

/// Connect; send "hello", then "!" as out-of-band data (URG); close.
const PY_URGENT_SENDER: &str = r#"
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"hello")
time.sleep(0.3)
s.send(b"!", socket.MSG_OOB)
time.sleep(0.3)
s.close()
print("done", flush=True)
"#;

#[test]
fn serve_tells_urgent_data_on_standard_error() {
    // RFC 9293 3.8.5: the application is told when urgent data arrives (MUST-31); the
    // binary's application is the terminal.
    let name = "serve_tells_urgent_data_on_standard_error";
    in_netns(name, &["python3"], LIMIT, || {
        let mut server = spawn_synack(&["tun", "serve", "--port", "7800", "--app", "discard"]);
        wait_for_device(&mut server);
        let mut py = Peer::python("kernel", PY_URGENT_SENDER, &["192.0.2.2", "7800"]);
        wait_exit(&mut py, Duration::from_secs(20));
        py.assert_success();
        let report = server.wait_line("192.0.2.1:", Duration::from_secs(10)).expect("a report line");
        // `printf 'hello!' | sha256sum`: the urgent octet is read in line.
        let hello = "ce06092fb948d9ffac7d1a376e404b26b7575bcc11ee05a4615fef4fec3a308b";
        assert!(report.contains(&format!(" discard: received 6 bytes sha256 {hello}")), "{report}");
        interrupt(&mut server);
        let err = server.stderr();
        let urgent: Vec<&str> = err.lines().filter(|l| l.contains("urgent data")).collect();
        assert_eq!(urgent.len(), 1, "one urgent signal:\n{err}");
        assert!(urgent[0].starts_with("synack: 192.0.2.1:"), "{}", urgent[0]);
        assert!(urgent[0].ends_with(": urgent data, 1 byte(s) to read"), "{}", urgent[0]);
    });
}
