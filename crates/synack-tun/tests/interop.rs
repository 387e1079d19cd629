//! Interop: synack on a TUN device against the Linux kernel's TCP, each test inside a
//! network namespace of its own (only 192.0.2.0/24, nothing leaves it). Kernel peers are
//! curl and python sockets; `ss` shows the kernel's side of each close.
//!
//! Every test skips, with the reason printed, when not root or without /dev/net/tun or
//! `unshare -n`; with SYNACK_REQUIRE_NETNS=1 a skip is a failure. Every wait is bounded.
//! SYNACK_INTEROP_CAPTURE=1 writes a pcapng and a JSON trace for every test under
//! `target/tmp/interop/<test>/` (the close tests always do).
//!
//! Timings (debug build, 2 cores, two tests at a time): the whole suite takes about 50 s.
//! curl's 64 MiB download takes ~11 s. The lossy transfers are 10 MiB each way: about
//! 5 s with the kernel as sender, and 35-50 s where synack sends and its own segments
//! and the kernel's ACKs are lost too. That one is bound by Reno under 5% loss both
//! ways and by the kernel's receive window, which stays near 10 KiB over a TUN device;
//! synack recovers with SACK (RFC 6675), Limited Transmit (RFC 3042) and tail loss
//! probes (RFC 8985 7), so a lost ACK at the end of a flight no longer costs an RTO.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use support::*;
use synack::{ConnError, ConnId, Error, Keepalive, State};
use synack_tun::pattern::{pattern_sha256, Sha256Counter};
use synack_tun::{
    run_client, App, ClientLimits, ClientMode, ConnEnd, ConnectReport, Impairment, Server, TunError,
    TunOptions, TunStack, TunStats,
};

const MIB: u64 = 1 << 20;
/// Per-test bound on the namespaced child (the suite runs two at a time).
const LIMIT: Duration = Duration::from_secs(170);

// ----- kernel-side programs --------------------------------------------------------

/// Connect, send N seeded random bytes, half-close, drain, print "sent N SHA".
const PY_SENDER: &str = r#"
import socket, sys, hashlib, random
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20240601)
s = socket.create_connection((host, port), timeout=60)
h = hashlib.sha256(); left = n
while left:
    chunk = rnd.randbytes(min(left, 65536))
    s.sendall(chunk); h.update(chunk); left -= len(chunk)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
print("sent", n, h.hexdigest(), flush=True)
"#;

/// Listen; accept one; send N seeded random bytes; print "sent N SHA"; close.
const PY_SOURCE_SERVER: &str = r#"
import socket, sys, hashlib, random
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port)); ls.listen(8); ls.settimeout(60)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(60)
rnd = random.Random(99); h = hashlib.sha256(); left = n
while left:
    chunk = rnd.randbytes(min(left, 65536))
    c.sendall(chunk); h.update(chunk); left -= len(chunk)
print("sent", n, h.hexdigest(), flush=True)
c.close(); ls.close()
"#;

/// Kernel closes first: send "hello", close; print the local port first.
const PY_CLOSE_FIRST: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("port", s.getsockname()[1], flush=True)
s.sendall(b"hello")
s.close()
print("closed", flush=True)
"#;

/// Read to EOF (synack closes first), report, wait for "close" on stdin, then close.
const PY_CLOSE_SECOND: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("port", s.getsockname()[1], flush=True)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print("eof", data.decode(), flush=True)
sys.stdin.readline()
s.close()
print("closed", flush=True)
"#;

/// Connect, report the port, then sit idle until "close" arrives on stdin; close.
const PY_IDLE: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("port", s.getsockname()[1], flush=True)
sys.stdin.readline()
s.close()
print("closed", flush=True)
"#;

/// Connect; send "hello", then "!" as out-of-band data (URG); wait for urgent data
/// from synack, read its out-of-band byte, then the in-line rest; print both.
const PY_URGENT: &str = r#"
import socket, sys, select, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"hello")
time.sleep(0.2)
s.send(b"!", socket.MSG_OOB)
print("sent", flush=True)
_, _, urgent = select.select([], [], [s], 20)
print("oob", s.recv(1, socket.MSG_OOB).decode() if urgent else "none", flush=True)
data = b""
while len(data) < 3:
    d = s.recv(100)
    if not d:
        break
    data += d
print("inline", data.decode(), flush=True)
s.close()
"#;

/// Connect; on "close" from stdin send FIN at once; read to EOF; close.
const PY_CLOSE_ON_CUE: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
print("port", s.getsockname()[1], flush=True)
sys.stdin.readline()
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
s.close()
print("closed", flush=True)
"#;

/// Half-close: send a request, SHUT_WR, keep reading the answer to EOF.
const PY_HALF_CLOSE: &str = r#"
import socket, sys, hashlib
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
s.sendall(b"request")
s.shutdown(socket.SHUT_WR)
print("shut", flush=True)
h = hashlib.sha256(); n = 0
while True:
    d = s.recv(65536)
    if not d:
        break
    h.update(d); n += len(d)
s.close()
print("received", n, h.hexdigest(), flush=True)
"#;

/// Read until the connection ends; print "reset" on ECONNRESET, "eof" on FIN.
const PY_READ_UNTIL_RESET: &str = r#"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
n = 0
try:
    while True:
        d = s.recv(65536)
        if not d:
            print("eof", n, flush=True); break
        n += len(d)
        if n >= int(sys.argv[3]):
            print("got", n, flush=True)
except ConnectionResetError:
    print("reset", n, flush=True)
"#;

/// Connect and abort with SO_LINGER {on, 0}: the kernel sends RST.
const PY_ABORT: &str = r#"
import socket, sys, struct, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"about to abort")
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print("aborted", flush=True)
"#;

/// ICMP echo request to argv[1] on a raw socket; print "reply FROM" when answered.
const PY_PING: &str = r#"
import socket, struct, sys, time
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(1)
# Let the kernel fragment a request larger than the link (IP_MTU_DISCOVER = 10,
# IP_PMTUDISC_DONT = 0).
s.setsockopt(socket.IPPROTO_IP, 10, 0)
size = int(sys.argv[2]) if len(sys.argv) > 2 else 0
payload = bytes((i * 7 + i // 251) % 256 for i in range(size)) if size else b"synack-ping-" * 4
for seq in range(1, 4):
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x5a5a, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), 0x5a5a, seq) + payload
    s.sendto(pkt, (sys.argv[1], 0))
    end = time.time() + 1
    while time.time() < end:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        icmp = data[(data[0] & 15) * 4:]
        if icmp[0] == 0 and icmp[4:8] == pkt[4:8] and icmp[8:] == payload and csum(icmp) == 0:
            print("reply", addr[0], seq, flush=True)
            break
"#;

// ----- helpers ---------------------------------------------------------------------

/// curl GET /bytes/N from synack's http app; verify size and SHA-256.
fn curl_bytes(name: &str, n: u64, limit: Duration, lossy: bool) {
    let mut tun = open_tun(name, false);
    if lossy {
        lossy_link(&mut tun, n, false);
    }
    let mut server = Server::listen(&mut tun, 8080, App::Http).expect("listen");
    let out = artifacts(name).join("body");
    let _ = std::fs::remove_file(&out);
    let url = format!("http://{SYNACK}:8080/bytes/{n}");
    let out_s = out.to_string_lossy().into_owned();
    let max_time = limit.as_secs().to_string();
    let mut curl = Peer::spawn(
        "curl",
        "curl",
        &[
            "-sS",
            "--max-time",
            &max_time,
            "-o",
            &out_s,
            "-w",
            "http %{http_code} size %{size_download}\n",
            &url,
        ],
    );
    let started = std::time::Instant::now();
    let reports = serve_until(&mut tun, &mut server, limit, "curl download", |_, r| {
        curl.exited().is_some() && !r.is_empty()
    });
    let secs = started.elapsed().as_secs_f64();
    curl.assert_success();
    assert_eq!(curl.line("http"), Some(format!("http 200 size {n}")));
    let (len, sha) = file_sha256(&out);
    assert_eq!(len, n, "body size");
    assert_eq!(sha, pattern_sha256(n), "body SHA-256");
    assert_eq!(reports[0].end, ConnEnd::Closed, "server side of the connection");
    assert_eq!(reports[0].request.as_deref(), Some(format!("GET /bytes/{n} HTTP/1.1").as_str()));
    say(&format!(
        "{name}: {n} bytes in {secs:.2} s ({:.1} MB/s); device {:?}",
        n as f64 / secs / 1e6,
        tun.stats()
    ));
    let _ = std::fs::remove_file(&out);
}

/// python sends N bytes to synack's discard app; the app's report must match.
fn python_to_discard(name: &str, n: u64, limit: Duration, lossy: bool) {
    let mut tun = open_tun(name, false);
    if lossy {
        lossy_link(&mut tun, n ^ 7, false);
    }
    let mut server = Server::listen(&mut tun, 9000, App::Discard).expect("listen");
    let mut py = Peer::python("sender", PY_SENDER, &[&SYNACK.to_string(), "9000", &n.to_string()]);
    let started = std::time::Instant::now();
    let reports = serve_until(&mut tun, &mut server, limit, "python -> discard", |_, r| {
        py.exited().is_some() && !r.is_empty()
    });
    let secs = started.elapsed().as_secs_f64();
    py.assert_success();
    let line = py.line("sent").expect("sender's report");
    let r = &reports[0];
    assert_eq!(r.end, ConnEnd::Closed);
    assert_eq!(line, format!("sent {n} {}", r.sha256_in), "bytes and SHA-256 seen by discard");
    assert_eq!(r.bytes_in, n);
    say(&format!(
        "{name}: {n} bytes in {secs:.2} s ({:.1} MB/s); device {:?}",
        n as f64 / secs / 1e6,
        tun.stats()
    ));
}

/// synack connects to a python sink and sends N pattern bytes.
fn synack_sends(name: &str, n: u64, limit: Duration, lossy: bool) {
    synack_sends_with(name, n, limit, lossy, |_| {});
}

/// [`synack_sends`] with the options changed by `edit` before the device opens.
fn synack_sends_with(name: &str, n: u64, limit: Duration, lossy: bool, edit: impl FnOnce(&mut TunOptions)) {
    let mut tun = open_tun_with(name, false, edit);
    if lossy {
        lossy_link(&mut tun, n ^ 11, true);
    }
    let mut py = Peer::python("sink", PY_SINK_SERVER, &[&KERNEL.to_string(), "9100"]);
    assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
    let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9100);
    let limits =
        ClientLimits { total: limit, linger: Duration::from_secs(5), user_timeout: None, mss_limit: None };
    let report = run_client(&mut tun, remote, ClientMode::Send(n), limits).expect("synack client run");
    drive(&mut tun, Duration::from_secs(10), "python sink exit", |_| py.exited().is_some());
    py.assert_success();
    assert_eq!(report.bytes_sent, n);
    assert_eq!(report.sha256_sent, pattern_sha256(n));
    assert_eq!(py.line("received"), Some(format!("received {n} {}", report.sha256_sent)));
    assert_eq!(report.final_state, State::TimeWait, "synack closed first");
    // Every byte crossed the device, held back by the impairment's delay or not.
    let dev = tun.stats();
    assert!(dev.bytes_out > n, "{n} bytes sent, {} written: {dev:?}", dev.bytes_out);
    say(&format!("{name}: {report}; device {dev:?}"));
}

/// synack connects to a python source and receives N bytes.
fn synack_receives(name: &str, n: u64, limit: Duration, lossy: bool) {
    let mut tun = open_tun(name, false);
    if lossy {
        lossy_link(&mut tun, n ^ 13, false);
    }
    let mut py = Peer::python("source", PY_SOURCE_SERVER, &[&KERNEL.to_string(), "9200", &n.to_string()]);
    assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
    let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9200);
    let limits =
        ClientLimits { total: limit, linger: Duration::from_secs(5), user_timeout: None, mss_limit: None };
    let report = run_client(&mut tun, remote, ClientMode::Recv, limits).expect("synack client run");
    drive(&mut tun, Duration::from_secs(10), "python source exit", |_| py.exited().is_some());
    py.assert_success();
    assert_eq!(py.line("sent"), Some(format!("sent {n} {}", report.sha256_received)));
    assert_eq!(report.bytes_received, n);
    assert_eq!(report.final_state, State::Closed, "the kernel closed first; synack went through LAST-ACK");
    say(&format!("{name}: {report}; device {:?}", tun.stats()));
}

/// Accept one connection on `listener` (bounded).
fn accept_one(tun: &mut TunStack, l: synack::ListenerId) -> ConnId {
    let mut id = None;
    drive(tun, Duration::from_secs(10), "accept", |t| {
        while t.stack_mut().poll_event().is_some() {}
        id = t.stack_mut().accept(l);
        id.is_some()
    });
    id.expect("accepted")
}

/// Drain events; read what is there into `rx`; true at end of stream.
fn read_some(tun: &mut TunStack, c: ConnId, rx: &mut Sha256Counter, keep: &mut Vec<u8>) -> bool {
    while tun.stack_mut().poll_event().is_some() {}
    let mut buf = [0u8; 65536];
    loop {
        match tun.stack_mut().recv(c, &mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                rx.update(&buf[..n]);
                if keep.len() < 4096 {
                    keep.extend_from_slice(&buf[..n]);
                }
            }
            Err(Error::WouldBlock) => return false,
            Err(e) => panic!("recv failed: {e}"),
        }
    }
}

fn port_of(line: Option<String>) -> u16 {
    line.and_then(|l| l.split_whitespace().nth(1).and_then(|p| p.parse().ok()))
        .expect("peer printed its port")
}

fn listen(tun: &mut TunStack, port: u16) -> synack::ListenerId {
    tun.stack_mut().listen(SocketAddr::new(IpAddr::V4(SYNACK), port), 0).expect("listen")
}

fn contains_in_order(all: &[String], want: &[&str]) -> bool {
    let mut it = all.iter();
    want.iter().all(|w| it.any(|x| x == w))
}

// ----- kernel client -> synack server ------------------------------------------------

#[test]
fn curl_downloads_one_byte_from_synack_http() {
    in_netns("curl_downloads_one_byte_from_synack_http", &["curl"], LIMIT, || {
        curl_bytes("curl_downloads_one_byte_from_synack_http", 1, Duration::from_secs(30), false)
    });
}

#[test]
fn curl_downloads_one_mib_from_synack_http() {
    in_netns("curl_downloads_one_mib_from_synack_http", &["curl"], LIMIT, || {
        curl_bytes("curl_downloads_one_mib_from_synack_http", MIB, Duration::from_secs(30), false)
    });
}

#[test]
fn curl_downloads_64_mib_from_synack_http() {
    in_netns("curl_downloads_64_mib_from_synack_http", &["curl"], LIMIT, || {
        curl_bytes("curl_downloads_64_mib_from_synack_http", 64 * MIB, Duration::from_secs(120), false)
    });
}

#[test]
fn python_sends_10_mib_to_synack_discard() {
    in_netns("python_sends_10_mib_to_synack_discard", &["python3"], LIMIT, || {
        python_to_discard("python_sends_10_mib_to_synack_discard", 10 * MIB, Duration::from_secs(60), false)
    });
}

/// Under `SynCookies::Always` the kernel's connection is made from a cookie; the
/// kernel's SYN is timestamped (Linux's default), so the cookie SYN,ACK offers window
/// scaling, SACK and timestamps, and the kernel uses them: more than 64 KiB in flight
/// towards synack's 256 KiB buffer, and SACK blocks from synack for the losses of the
/// lossy link.
#[test]
fn a_kernel_client_let_in_by_a_syn_cookie_keeps_window_scaling_and_sack() {
    const NAME: &str = "a_kernel_client_let_in_by_a_syn_cookie_keeps_window_scaling_and_sack";
    in_netns(NAME, &["python3"], LIMIT, || {
        let n = 10 * MIB;
        let mut tun = open_tun_with(NAME, true, |o| o.stack.syn_cookies = synack::SynCookies::Always);
        lossy_link(&mut tun, n ^ 19, false);
        let mut server = Server::listen(&mut tun, 9000, App::Discard).expect("listen");
        let mut py = Peer::python("sender", PY_SENDER, &[&SYNACK.to_string(), "9000", &n.to_string()]);
        let reports =
            serve_until(&mut tun, &mut server, Duration::from_secs(120), "python -> discard", |_, r| {
                py.exited().is_some() && !r.is_empty()
            });
        py.assert_success();
        assert_eq!(py.line("sent"), Some(format!("sent {n} {}", reports[0].sha256_in)));
        assert_eq!(reports[0].bytes_in, n);
        let stack = tun.stack().stats();
        say(&format!("{NAME}: stack {stack}"));
        assert_eq!((stack.syn_cookies_sent, stack.syn_cookies_validated), (1, 1), "{stack}");
        drop(tun);
        let trace = trace_of(NAME);
        let sent: Vec<_> = trace
            .iter()
            .filter_map(|l| match &l.event {
                synack_viz::Event::Send(s) => Some(&s.seg),
                _ => None,
            })
            .collect();
        let synack = sent.iter().find(|s| s.flags == "S.").expect("a SYN,ACK");
        for opt in ["wscale", "sackOK", "TS val"] {
            assert!(synack.opts.iter().any(|o| o.starts_with(opt)), "{opt} in {:?}", synack.opts);
        }
        assert!(sent.iter().any(|s| s.opts.iter().any(|o| o.starts_with("sack "))), "SACK blocks sent");
        // Bytes the kernel had sent beyond synack's last ACK: past 65,535 only with
        // window scaling in use.
        // (Sequence-number arithmetic: a reordered segment below the ACK counts
        // negative.)
        let mut acked = None::<u32>;
        let mut most = 0i32;
        for l in &trace {
            match &l.event {
                synack_viz::Event::Send(s) if s.seg.flags.contains('.') => acked = Some(s.seg.ack),
                synack_viz::Event::Recv(r) if r.seg.len > 0 => {
                    if let Some(a) = acked {
                        most = most.max(r.seg.seq.wrapping_add(r.seg.len).wrapping_sub(a) as i32);
                    }
                }
                _ => {}
            }
        }
        say(&format!("{NAME}: at most {most} bytes beyond synack's ACK"));
        assert!(most > 65_535, "{most}");
    });
}

#[test]
fn fifty_concurrent_kernel_clients_are_echoed() {
    in_netns("fifty_concurrent_kernel_clients_are_echoed", &["python3"], LIMIT, || {
        let mut tun = open_tun("fifty_concurrent_kernel_clients_are_echoed", false);
        let mut server = Server::listen(&mut tun, 7, App::Echo).expect("listen");
        let mut py = Peer::python("clients", PY_CONCURRENT_ECHO, &[&SYNACK.to_string(), "7", "50", "65536"]);
        let mut peak = 0;
        let reports =
            serve_until(&mut tun, &mut server, Duration::from_secs(90), "50 echo clients", |t, r| {
                peak = peak.max(t.stack().connection_count());
                py.exited().is_some() && r.len() >= 50
            });
        py.assert_success();
        assert_eq!(py.line("done"), Some("done ok=50 bad=0".to_string()));
        assert_eq!(server.accepted(), 50);
        assert!(reports
            .iter()
            .all(|r| r.end == ConnEnd::Closed && r.bytes_in == 65536 && r.bytes_out == 65536));
        say(&format!("50 concurrent echo clients: peak {peak} connections open at once"));
    });
}

#[test]
fn ping_to_synack_address_is_answered() {
    in_netns("ping_to_synack_address_is_answered", &["python3"], LIMIT, || {
        let mut tun = open_tun("ping_to_synack_address_is_answered", false);
        let mut py = Peer::python("ping", PY_PING, &[&SYNACK.to_string()]);
        drive(&mut tun, Duration::from_secs(10), "ping", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("reply"), Some(format!("reply {SYNACK} 1")));
        assert!(tun.stack().stats().echo_replies >= 1);
    });
}

/// A 3,000-byte ping over the 1500-byte device: the kernel sends the request in
/// fragments, synack reassembles it (RFC 1122 3.3.2) and answers with all of its data
/// (RFC 1122 3.2.2.6), in fragments the kernel reassembles in turn.
#[test]
fn a_ping_larger_than_the_mtu_is_answered_in_fragments() {
    let name = "a_ping_larger_than_the_mtu_is_answered_in_fragments";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, false);
        let mut py = Peer::python("ping", PY_PING, &[&SYNACK.to_string(), "3000"]);
        drive(&mut tun, Duration::from_secs(10), "ping", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("reply"), Some(format!("reply {SYNACK} 1")));
        let st = tun.stack().stats();
        assert!(st.fragments >= 3 && st.reassembled >= 1 && st.echo_replies >= 1, "{st}");
        // Each reply left in three fragments (3,008 bytes of ICMP, 1,480 per piece).
        assert!(tun.stats().packets_out >= 3, "{:?}", tun.stats());
        say(&format!("3,000-byte ping answered: {st}"));
    });
}

#[test]
fn capture_holds_every_datagram_with_valid_checksums() {
    let name = "capture_holds_every_datagram_with_valid_checksums";
    in_netns(name, &["curl"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let mut server = Server::listen(&mut tun, 8080, App::Http).expect("listen");
        let url = format!("http://{SYNACK}:8080/bytes/65536");
        let mut curl = Peer::spawn("curl", "curl", &["-sS", "--max-time", "20", "-o", "/dev/null", &url]);
        serve_until(&mut tun, &mut server, Duration::from_secs(20), "curl", |_, r| {
            curl.exited().is_some() && !r.is_empty()
        });
        curl.assert_success();
        // Let the last ACKs in, then write everything out.
        drive(&mut tun, Duration::from_secs(2), "settle", |t| t.stack().connection_count() == 0);
        tun.flush().expect("flush");
        let stats = tun.stats();
        let file = artifacts(name).join("capture.pcapng");
        let packets = synack_viz::read_pcapng(std::fs::File::open(&file).expect("capture written"))
            .expect("valid pcapng");
        assert_eq!(packets.len() as u64, stats.packets_in + stats.packets_out, "{stats:?}");
        let tcp = packets.iter().filter(|p| synack::wire::parse(&p.data).is_ok()).count();
        assert!(tcp >= 50, "only {tcp} TCP datagrams with valid checksums of {}", packets.len());
        // Every TCP datagram in the capture has valid IP and TCP checksums.
        for p in &packets {
            if let Ok(ip) = synack::wire::parse_ip(&p.data) {
                if ip.protocol == synack::wire::IPPROTO_TCP {
                    synack::wire::parse(&p.data).expect("TCP datagram with valid checksums");
                }
            }
        }
        // And tshark agrees, where it is installed.
        let filter = "_ws.malformed || _ws.expert.severity >= error || tcp.checksum.status == 0 || ip.checksum.status == 0";
        let file_s = file.to_string_lossy().into_owned();
        let args =
            ["-r", &file_s, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-Y", filter];
        match std::process::Command::new("tshark").args(args).output() {
            Ok(out) => {
                assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
                let bad = String::from_utf8_lossy(&out.stdout);
                assert!(bad.trim().is_empty(), "tshark flags packets:\n{bad}");
            }
            Err(_) => say("tshark not installed: the capture was checked with synack's own parser only"),
        }
    });
}

// ----- the device's offloads ---------------------------------------------------------

/// The writes the kernel took from the device: its received-packets counter (one per
/// write, however many segments a write carried), from `/proc/net/dev`, which shows
/// the reading process's network namespace (`/sys/class/net` shows the one `/sys` was
/// mounted in).
fn kernel_rx_packets(tun: &TunStack) -> u64 {
    let text = std::fs::read_to_string("/proc/net/dev").expect("/proc/net/dev");
    let prefix = format!("{}:", tun.device_name());
    let line = text.lines().map(str::trim_start).find(|l| l.starts_with(&prefix));
    // After the name: received bytes, then received packets.
    let packets = line.and_then(|l| l[prefix.len()..].split_whitespace().nth(1)).and_then(|p| p.parse().ok());
    packets.unwrap_or_else(|| panic!("no packet count for {prefix} in /proc/net/dev:\n{text}"))
}

/// synack, as the client on `tun`, sends `n` pattern bytes to a python sink on the
/// kernel's side (`send`) or receives `n` from a python source, at `port`; both ends
/// must agree on the bytes and their SHA-256. Returns synack's report and the seconds
/// from `connect` to the end of the transfer.
fn python_transfer(tun: &mut TunStack, n: u64, send: bool, port: u16) -> (ConnectReport, f64) {
    let mut args = vec![KERNEL.to_string(), port.to_string()];
    if !send {
        args.push(n.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let script = if send { PY_SINK_SERVER } else { PY_SOURCE_SERVER };
    let mut py = Peer::python(if send { "sink" } else { "source" }, script, &args);
    assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
    let remote = SocketAddr::new(IpAddr::V4(KERNEL), port);
    let limits = ClientLimits {
        total: Duration::from_secs(60),
        linger: Duration::from_secs(5),
        user_timeout: None,
        mss_limit: None,
    };
    let mode = if send { ClientMode::Send(n) } else { ClientMode::Recv };
    let started = std::time::Instant::now();
    let report = run_client(tun, remote, mode, limits).expect("synack client run");
    let secs = started.elapsed().as_secs_f64();
    drive(tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
    py.assert_success();
    if send {
        assert_eq!(report.bytes_sent, n);
        assert_eq!(py.line("received"), Some(format!("received {n} {}", report.sha256_sent)));
    } else {
        assert_eq!(report.bytes_received, n);
        assert_eq!(py.line("sent"), Some(format!("sent {n} {}", report.sha256_received)));
    }
    (report, secs)
}

/// [`python_transfer`] with the device's offloads on or off. Returns the device's
/// counters, the kernel's count of writes, and the rate in MB/s.
fn offload_transfer(name: &str, n: u64, send: bool, offload: bool) -> (TunStats, u64, f64) {
    let mut tun = open_tun_with(name, false, |o| o.device.offload = offload);
    assert_eq!(tun.offload(), offload, "the kernel agreed to the offloads asked for");
    let (report, secs) = python_transfer(&mut tun, n, send, if send { 9100 } else { 9200 });
    if send {
        assert_eq!(report.sha256_sent, pattern_sha256(n));
    }
    let stats = tun.stats();
    let kernel_rx = kernel_rx_packets(&tun);
    let rate = n as f64 / secs / 1e6;
    say(&format!(
        "{name}: offload {offload}, synack {}: {rate:.1} MB/s; {} datagrams in {} reads, {} datagrams in {kernel_rx} writes",
        if send { "sends" } else { "receives" },
        stats.packets_in,
        stats.device_reads,
        stats.packets_out
    ));
    (stats, kernel_rx, rate)
}

/// With the offloads (the default) the kernel's TSO bursts come in whole, one read
/// for many segments, and synack's consecutive segments go out joined, one write for
/// many; the same bytes arrive either way. Without them, every datagram is one read or
/// one write, which is what shows that the counts below can tell the two apart.
#[test]
fn offload_carries_the_same_bytes_in_fewer_reads_and_writes() {
    let name = "offload_carries_the_same_bytes_in_fewer_reads_and_writes";
    in_netns(name, &["python3"], LIMIT, || {
        let n = 32 * MIB;
        let (sent, sent_writes, _) = offload_transfer(name, n, true, true);
        assert!(
            sent_writes * 4 < sent.packets_out,
            "synack's {} datagrams went out in {sent_writes} writes: not joined",
            sent.packets_out
        );
        let (received, _, _) = offload_transfer(name, n, false, true);
        assert!(
            received.device_reads * 4 < received.packets_in,
            "the kernel's {} datagrams came in {} reads: no TSO bursts",
            received.packets_in,
            received.device_reads
        );
        let (sent, sent_writes, _) = offload_transfer(name, n, true, false);
        assert_eq!(sent_writes, sent.packets_out, "without the offloads, one write per datagram");
        let (received, _, _) = offload_transfer(name, n, false, false);
        assert_eq!(received.device_reads, received.packets_in, "without the offloads, one read per datagram");
    });
}

// ----- synack client -> kernel server ------------------------------------------------

#[test]
fn synack_client_sends_10_mib_to_kernel_server() {
    in_netns("synack_client_sends_10_mib_to_kernel_server", &["python3"], LIMIT, || {
        synack_sends("synack_client_sends_10_mib_to_kernel_server", 10 * MIB, Duration::from_secs(60), false)
    });
}

#[test]
fn synack_client_receives_10_mib_from_kernel_server() {
    in_netns("synack_client_receives_10_mib_from_kernel_server", &["python3"], LIMIT, || {
        synack_receives(
            "synack_client_receives_10_mib_from_kernel_server",
            10 * MIB,
            Duration::from_secs(60),
            false,
        )
    });
}

/// ECN with the kernel (RFC 3168): synack asks for it (`Ecn::Active`) and the kernel,
/// whose `net.ipv4.tcp_ecn` is 2 in a fresh namespace, agrees. The userspace impairment
/// in the data's direction then marks CE, instead of losing, 2% of the datagrams
/// (netem's `loss 2% ecn`; what is not ECN-capable, such as pure ACKs, is lost). `send`:
/// synack sends N pattern bytes to a python sink, otherwise receives N from a python
/// source. Returns the segments of the capture's JSON trace (received, sent).
fn ecn_transfer(name: &str, n: u64, send: bool) -> (Vec<synack_viz::Seg>, Vec<synack_viz::Seg>) {
    let mut tun = open_tun_with(name, true, |o| o.stack.ecn = synack::Ecn::Active);
    let mark = Impairment {
        loss: 0.02,
        delay: Duration::ZERO,
        reorder: 0.0,
        seed: n ^ 17,
        ecn: true,
        rate_bps: 0,
        queue_bytes: 0,
    };
    if send {
        tun.set_impairment(None, Some(mark));
    } else {
        tun.set_impairment(Some(mark), None);
    }
    let (report, _) = python_transfer(&mut tun, n, send, 9300);
    let (dev, stack) = (tun.stats(), tun.stack().stats());
    say(&format!("{name}: {report}; device {dev:?}; stack {stack}"));
    assert!(report.ecn && report.to_string().contains(", ECN, ended in"), "{report}");
    assert!(dev.impaired_marks > 0, "{dev:?}");
    if send {
        // The kernel echoed the marks; synack halved its window and said so with CWR.
        assert!(stack.ecn_reductions > 0, "{stack}");
    } else {
        // Every mark reached synack on an ECN-capable data segment.
        assert_eq!(stack.ecn_ce_received, dev.impaired_marks, "{stack}; {dev:?}");
    }
    drop(tun);
    let (mut received, mut sent) = (Vec::new(), Vec::new());
    for line in trace_of(name) {
        match line.event {
            synack_viz::Event::Recv(r) => received.push(r.seg),
            synack_viz::Event::Send(s) => sent.push(s.seg),
            _ => {}
        }
    }
    (received, sent)
}

fn ece_cwr(segs: &[synack_viz::Seg]) -> (usize, usize) {
    (
        segs.iter().filter(|s| s.flags.contains('E')).count(),
        segs.iter().filter(|s| s.flags.contains('W')).count(),
    )
}

#[test]
fn ecn_marks_on_kernel_data_are_echoed_until_the_kernel_answers_with_cwr() {
    let name = "ecn_marks_on_kernel_data_are_echoed_until_the_kernel_answers_with_cwr";
    in_netns(name, &["python3"], LIMIT, || {
        let (received, sent) = ecn_transfer(name, 4 * MIB, false);
        // The handshake agreed: our ECN-setup SYN, the kernel's ECN-setup SYN-ACK.
        assert_eq!(sent.first().map(|s| s.flags.as_str()), Some("SEW"));
        assert_eq!(received.first().map(|s| s.flags.as_str()), Some("SE."));
        let (ece, _) = ece_cwr(&sent);
        let (_, cwr) = ece_cwr(&received);
        assert!(ece > 0, "synack echoed no mark");
        assert!(cwr > 0, "the kernel never answered an echo with CWR");
    });
}

#[test]
fn ecn_echoes_from_the_kernel_make_synack_reduce_and_send_cwr() {
    let name = "ecn_echoes_from_the_kernel_make_synack_reduce_and_send_cwr";
    in_netns(name, &["python3"], LIMIT, || {
        let (received, sent) = ecn_transfer(name, 4 * MIB, true);
        assert_eq!(sent.first().map(|s| s.flags.as_str()), Some("SEW"));
        assert_eq!(received.first().map(|s| s.flags.as_str()), Some("SE."));
        let (ece, _) = ece_cwr(&received);
        let (_, cwr) = ece_cwr(&sent);
        assert!(ece > 0, "the kernel echoed no mark");
        assert!(cwr > 0, "synack sent no CWR");
    });
}

#[test]
fn connect_to_closed_kernel_port_is_refused() {
    in_netns("connect_to_closed_kernel_port_is_refused", &[], LIMIT, || {
        let mut tun = open_tun("connect_to_closed_kernel_port_is_refused", true);
        let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9);
        let limits = ClientLimits {
            total: Duration::from_secs(10),
            linger: Duration::from_secs(1),
            user_timeout: None,
            mss_limit: None,
        };
        match run_client(&mut tun, remote, ClientMode::Send(1), limits) {
            Err(TunError::Connection(ConnError::Refused)) => {}
            other => panic!("expected connection refused, got {other:?}"),
        }
    });
}

// ----- closing orders ----------------------------------------------------------------

#[test]
fn kernel_closes_first_synack_passes_close_wait_and_last_ack() {
    let name = "kernel_closes_first_synack_passes_close_wait_and_last_ack";
    in_netns(name, &["python3", "ss"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7100);
        let mut py = Peer::python("kernel", PY_CLOSE_FIRST, &[&SYNACK.to_string(), "7100"]);
        let c = accept_one(&mut tun, l);
        let (mut rx, mut keep) = (Sha256Counter::new(), Vec::new());
        drive(&mut tun, Duration::from_secs(10), "kernel FIN", |t| read_some(t, c, &mut rx, &mut keep));
        assert_eq!(keep, b"hello");
        assert_eq!(tun.stack().state(c), State::CloseWait);
        tun.stack_mut().shutdown(c).expect("close from CLOSE-WAIT");
        assert_eq!(tun.stack().state(c), State::LastAck);
        drive(&mut tun, Duration::from_secs(10), "LAST-ACK -> CLOSED", |t| {
            t.stack().state(c) == State::Closed
        });
        assert_eq!(tun.stack().error(c), None);
        let port = port_of(py.wait_line("port", Duration::from_secs(5)));
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(kernel_socket_state(port, 7100).as_deref(), Some("TIME-WAIT"), "ss -tan:\n{}", ss());
        tun.stack_mut().close(c).expect("release");
        tun.flush().expect("flush");
        let t = transitions(&trace_of(name), &format!("192.0.2.1:{port}"));
        assert!(
            contains_in_order(&t, &["ESTABLISHED>CLOSE-WAIT", "CLOSE-WAIT>LAST-ACK", "LAST-ACK>CLOSED"]),
            "{t:?}"
        );
    });
}

#[test]
fn synack_closes_first_and_waits_in_time_wait() {
    let name = "synack_closes_first_and_waits_in_time_wait";
    in_netns(name, &["python3", "ss"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7200);
        let mut py = Peer::python("kernel", PY_CLOSE_SECOND, &[&SYNACK.to_string(), "7200"]);
        let c = accept_one(&mut tun, l);
        tun.stack_mut().send(c, b"bye").expect("send");
        tun.stack_mut().shutdown(c).expect("close first");
        assert_eq!(tun.stack().state(c), State::FinWait1);
        drive(&mut tun, Duration::from_secs(10), "FIN-WAIT-2 and kernel EOF", |t| {
            t.stack().state(c) == State::FinWait2 && py.line("eof").is_some()
        });
        assert_eq!(py.line("eof").as_deref(), Some("eof bye"));
        let port = port_of(py.wait_line("port", Duration::from_secs(5)));
        assert_eq!(kernel_socket_state(port, 7200).as_deref(), Some("CLOSE-WAIT"), "ss -tan:\n{}", ss());
        py.send_stdin("close\n");
        drive(&mut tun, Duration::from_secs(10), "TIME-WAIT", |t| t.stack().state(c) == State::TimeWait);
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        // The kernel went CLOSE-WAIT -> LAST-ACK -> CLOSED: once our ACK of its FIN is
        // in, it holds no socket for the connection (TIME-WAIT is ours).
        drive(&mut tun, Duration::from_secs(5), "kernel LAST-ACK -> CLOSED", |_| {
            kernel_socket_state(port, 7200).is_none()
        });
        assert_eq!(tun.stack().state(c), State::TimeWait);
        tun.stack_mut().close(c).expect("release the handle; TIME-WAIT goes on in the stack");
        assert_eq!(tun.stack().time_wait_count(), 1);
        tun.flush().expect("flush");
        let lines = trace_of(name);
        let t = transitions(&lines, &format!("192.0.2.1:{port}"));
        assert!(
            contains_in_order(
                &t,
                &["ESTABLISHED>FIN-WAIT-1", "FIN-WAIT-1>FIN-WAIT-2", "FIN-WAIT-2>TIME-WAIT"]
            ),
            "{t:?}"
        );
        // The kernel's FIN (from LAST-ACK's side) arrived and was acknowledged.
        let kernel_fin = lines.iter().any(|l| {
            l.ev() == "recv"
                && l.seg().is_some_and(|s| s.flags.contains('F') && s.src.ends_with(&format!(":{port}")))
        });
        assert!(kernel_fin, "no FIN from the kernel in the trace");
    });
}

#[test]
fn simultaneous_close_goes_through_closing_on_both_sides() {
    let name = "simultaneous_close_goes_through_closing_on_both_sides";
    in_netns(name, &["python3", "ss"], LIMIT, || {
        let mut tun = open_tun(name, true);
        // Hold synack's datagrams 150 ms on their way to the kernel, so both FINs are in
        // flight at once.
        let hold = synack_tun::Impairment {
            loss: 0.0,
            delay: Duration::from_millis(150),
            reorder: 0.0,
            seed: 1,
            ecn: false,
            rate_bps: 0,
            queue_bytes: 0,
        };
        tun.set_impairment(None, Some(hold));
        let l = listen(&mut tun, 7300);
        let mut py = Peer::python("kernel", PY_CLOSE_ON_CUE, &[&SYNACK.to_string(), "7300"]);
        let c = accept_one(&mut tun, l);
        let port = port_of(py.wait_line("port", Duration::from_secs(10)));
        // Both close now: the kernel on its cue, synack in the same breath.
        py.send_stdin("close\n");
        tun.stack_mut().shutdown(c).expect("close");
        drive(&mut tun, Duration::from_secs(10), "TIME-WAIT after CLOSING", |t| {
            t.stack().state(c) == State::TimeWait
        });
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(kernel_socket_state(port, 7300).as_deref(), Some("TIME-WAIT"), "ss -tan:\n{}", ss());
        tun.stack_mut().close(c).expect("release");
        tun.flush().expect("flush");
        let t = transitions(&trace_of(name), &format!("192.0.2.1:{port}"));
        assert!(
            contains_in_order(&t, &["ESTABLISHED>FIN-WAIT-1", "FIN-WAIT-1>CLOSING", "CLOSING>TIME-WAIT"]),
            "{t:?}"
        );
    });
}

#[test]
fn half_close_kernel_keeps_reading_after_shut_wr() {
    let name = "half_close_kernel_keeps_reading_after_shut_wr";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7400);
        let mut py = Peer::python("kernel", PY_HALF_CLOSE, &[&SYNACK.to_string(), "7400"]);
        let c = accept_one(&mut tun, l);
        let (mut rx, mut keep) = (Sha256Counter::new(), Vec::new());
        drive(&mut tun, Duration::from_secs(10), "request and FIN", |t| read_some(t, c, &mut rx, &mut keep));
        assert_eq!(keep, b"request");
        assert_eq!(tun.stack().state(c), State::CloseWait);
        // Answer with 1 MiB while half-closed.
        let total = MIB;
        let mut off = 0u64;
        let mut chunk = vec![0u8; 32 * 1024];
        drive(&mut tun, Duration::from_secs(30), "send 1 MiB in CLOSE-WAIT", |t| {
            while off < total {
                let n = chunk.len().min((total - off) as usize);
                synack_tun::pattern::fill_pattern(off, &mut chunk[..n]);
                match t.stack_mut().send(c, &chunk[..n]) {
                    Ok(k) => off += k as u64,
                    Err(Error::WouldBlock) => break,
                    Err(e) => panic!("send in CLOSE-WAIT: {e}"),
                }
            }
            while t.stack_mut().poll_event().is_some() {}
            off == total
        });
        assert_eq!(tun.stack().state(c), State::CloseWait);
        tun.stack_mut().shutdown(c).expect("close");
        drive(&mut tun, Duration::from_secs(30), "LAST-ACK -> CLOSED", |t| {
            t.stack().state(c) == State::Closed
        });
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("received"), Some(format!("received {total} {}", pattern_sha256(total))));
        tun.stack_mut().close(c).expect("release");
    });
}

#[test]
fn synack_abort_is_seen_by_kernel_as_connection_reset() {
    let name = "synack_abort_is_seen_by_kernel_as_connection_reset";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7500);
        let mut py = Peer::python("kernel", PY_READ_UNTIL_RESET, &[&SYNACK.to_string(), "7500", "1000"]);
        let c = accept_one(&mut tun, l);
        tun.stack_mut().send(c, &[7u8; 1000]).expect("send");
        drive(&mut tun, Duration::from_secs(10), "kernel read the data", |_| py.line("got").is_some());
        tun.stack_mut().abort(c).expect("abort");
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("reset"), Some("reset 1000".to_string()), "the kernel must see ECONNRESET");
        tun.flush().expect("flush");
        let rst_sent =
            trace_of(name).iter().any(|l| l.ev() == "send" && l.seg().is_some_and(|s| s.flags.contains('R')));
        assert!(rst_sent, "no RST in the trace");
    });
}

#[test]
fn kernel_abort_is_reported_as_reset() {
    let name = "kernel_abort_is_reported_as_reset";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7600);
        let mut py = Peer::python("kernel", PY_ABORT, &[&SYNACK.to_string(), "7600"]);
        let c = accept_one(&mut tun, l);
        drive(&mut tun, Duration::from_secs(10), "reset by the kernel", |t| t.stack().error(c).is_some());
        assert_eq!(tun.stack().error(c), Some(ConnError::Reset));
        let mut buf = [0u8; 64];
        // The data that came before the RST may or may not still be readable; after it,
        // the reset is reported.
        let mut last = tun.stack_mut().recv(c, &mut buf);
        while let Ok(n) = last {
            if n == 0 {
                break;
            }
            last = tun.stack_mut().recv(c, &mut buf);
        }
        assert!(matches!(last, Err(Error::Conn(ConnError::Reset))), "{last:?}");
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        tun.stack_mut().close(c).expect("release");
    });
}

// ----- the same transfers over a lossy, reordering link --------------------------------

#[test]
fn lossy_link_curl_downloads_one_mib() {
    in_netns("lossy_link_curl_downloads_one_mib", &["curl"], LIMIT, || {
        curl_bytes("lossy_link_curl_downloads_one_mib", MIB, Duration::from_secs(120), true)
    });
}

#[test]
fn lossy_link_python_sends_10_mib_to_discard() {
    in_netns("lossy_link_python_sends_10_mib_to_discard", &["python3"], LIMIT, || {
        python_to_discard(
            "lossy_link_python_sends_10_mib_to_discard",
            10 * MIB,
            Duration::from_secs(120),
            true,
        )
    });
}

/// synack's own segments are lost too here (both directions impaired), so its
/// retransmission and recovery run against the kernel's receiver.
#[test]
fn lossy_link_both_ways_synack_client_sends_10_mib() {
    in_netns("lossy_link_both_ways_synack_client_sends_10_mib", &["python3"], LIMIT, || {
        synack_sends(
            "lossy_link_both_ways_synack_client_sends_10_mib",
            10 * MIB,
            Duration::from_secs(120),
            true,
        )
    });
}

/// The same with CUBIC (RFC 9438) as synack's congestion control: every byte arrives
/// in order through the losses both ways.
#[test]
fn lossy_link_both_ways_synack_client_sends_4_mib_with_cubic() {
    let name = "lossy_link_both_ways_synack_client_sends_4_mib_with_cubic";
    in_netns(name, &["python3"], LIMIT, || {
        synack_sends_with(name, 4 * MIB, Duration::from_secs(90), true, |o| {
            o.stack.congestion_control = synack::CongestionControl::Cubic;
        })
    });
}

/// synack sends 8 MiB to a kernel sink through a drop-tail bottleneck: 20 Mbit/s with
/// a 100 KB buffer on synack's side, 20 ms each way. Returns the datagrams the buffer
/// dropped and the segments synack retransmitted.
fn synack_sends_through_a_bottleneck(name: &str, cc: synack::CongestionControl) -> (u64, u64) {
    let n = 8 * MIB;
    let mut tun = open_tun_with(name, true, |o| o.stack.congestion_control = cc);
    let delay = Impairment {
        loss: 0.0,
        delay: Duration::from_millis(20),
        reorder: 0.0,
        seed: 1,
        ecn: false,
        rate_bps: 0,
        queue_bytes: 0,
    };
    let bottleneck = Impairment::bottleneck(20_000_000, 100_000, Duration::from_millis(20));
    tun.set_impairment(Some(delay), Some(bottleneck));
    let mut py = Peer::python("sink", PY_SINK_SERVER, &[&KERNEL.to_string(), "9150"]);
    assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
    let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9150);
    let limits = ClientLimits {
        total: Duration::from_secs(90),
        linger: Duration::from_secs(5),
        user_timeout: None,
        mss_limit: None,
    };
    let report = run_client(&mut tun, remote, ClientMode::Send(n), limits).expect("synack client run");
    drive(&mut tun, Duration::from_secs(10), "python sink exit", |_| py.exited().is_some());
    py.assert_success();
    assert_eq!(py.line("received"), Some(format!("received {n} {}", pattern_sha256(n))));
    let drops = tun.stats().impaired_drops;
    drop(tun);
    let retransmitted = trace_of(name)
        .iter()
        .filter(|l| matches!(&l.event, synack_viz::Event::Send(s) if s.retransmit))
        .count() as u64;
    say(&format!("{name}: {report}; {drops} dropped by the buffer, {retransmitted} retransmitted"));
    (drops, retransmitted)
}

/// Against the kernel's receiver (its SACK blocks, its windows): the bottleneck's
/// buffer overflows, and synack retransmits about what it lost, with Reno and with
/// CUBIC under HyStart++ (the faults `crates/synack-sim/tests/hystart.rs` found in
/// simulation would show here as retransmissions of what had arrived).
#[test]
fn through_a_drop_tail_bottleneck_synack_retransmits_what_the_kernel_lost() {
    let name = "through_a_drop_tail_bottleneck_synack_retransmits_what_the_kernel_lost";
    in_netns(name, &["python3"], LIMIT, || {
        for (cc, tag) in
            [(synack::CongestionControl::Reno, "reno"), (synack::CongestionControl::Cubic, "cubic")]
        {
            let (drops, retransmitted) = synack_sends_through_a_bottleneck(&format!("{name}_{tag}"), cc);
            assert!(drops > 0, "{tag}: the buffer overflowed");
            // Measured: 48 lost and 48 or 49 retransmitted with Reno, 49 to 55 lost and one
            // or two more retransmitted with CUBIC (four runs). With the SACK scoreboard's
            // former 6 ranges, Reno: 66 retransmitted for 48 lost, 4.6 s instead of 3.8.
            assert!(
                retransmitted <= drops + drops / 10 + 3,
                "{tag}: {retransmitted} retransmitted for {drops} lost"
            );
        }
    });
}

#[test]
fn lossy_link_synack_client_receives_10_mib() {
    in_netns("lossy_link_synack_client_receives_10_mib", &["python3"], LIMIT, || {
        synack_receives("lossy_link_synack_client_receives_10_mib", 10 * MIB, Duration::from_secs(120), true)
    });
}

#[test]
fn urgent_data_crosses_to_and_from_the_kernel() {
    // RFC 9293 3.8.5: Linux points its urgent pointer at the octet after the urgent
    // data, as MUST-62 says, so RCV.UP lands after the "!"; and it takes the octet
    // before synack's pointer as the out-of-band byte its socket API hands out (the
    // "!" and "Z" are what that API sent and received as out-of-band data).
    let name = "urgent_data_crosses_to_and_from_the_kernel";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let l = listen(&mut tun, 7800);
        let mut py = Peer::python("kernel", PY_URGENT, &[&SYNACK.to_string(), "7800"]);
        let c = accept_one(&mut tun, l);
        let mut signalled = false;
        drive(&mut tun, Duration::from_secs(10), "the kernel's urgent byte", |t| {
            while let Some(ev) = t.stack_mut().poll_event() {
                signalled |= ev == synack::Event::Urgent(c);
            }
            t.stack().info(c).is_ok_and(|i| i.recv_queue == 6)
        });
        assert!(signalled, "Event::Urgent was raised");
        // RFC 9293's urgent data runs from what the application has read up to the
        // pointer: all six octets until it reads them.
        assert_eq!(tun.stack().urgent_pending(c), Ok(6));
        let mut buf = [0u8; 16];
        assert_eq!(tun.stack_mut().recv(c, &mut buf[..5]), Ok(5));
        assert_eq!(tun.stack().urgent_pending(c), Ok(1), "the urgent octet is still unread");
        assert_eq!(tun.stack_mut().recv(c, &mut buf[5..]), Ok(1));
        assert_eq!(&buf[..6], b"hello!", "urgent data is read in line");
        assert_eq!(tun.stack().urgent_pending(c), Ok(0));
        assert_eq!(tun.stack_mut().send(c, b"abc"), Ok(3));
        assert_eq!(tun.stack_mut().send_urgent(c, b"Z"), Ok(1));
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("oob"), Some("oob Z".to_string()));
        assert_eq!(py.line("inline"), Some("inline abc".to_string()));
        tun.flush().expect("flush the trace");
        let urgent_sent = trace_of(name).iter().any(
            |l| matches!(&l.event, synack_viz::Event::Send(s) if s.seg.flags.contains('U') && s.seg.len == 4),
        );
        assert!(urgent_sent, "the trace shows synack's urgent segment");
    });
}

/// RFC 9293 3.10.8 (USER TIMEOUT), `Stack::set_user_timeout`: with the path to the
/// kernel dead, synack's data stays unacknowledged and the connection gives up after
/// the user timeout of 3 s: a loss probe and a few retransmissions (the RTO backs off
/// from 200 ms: 0.2, 0.6, 1.4, 3.0 s), where R2 (15 retransmissions, backing off to a
/// minute each) would go on for many minutes.
#[test]
fn a_user_timeout_gives_up_on_a_kernel_peer_that_stops_answering() {
    let name = "a_user_timeout_gives_up_on_a_kernel_peer_that_stops_answering";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, false);
        let l = listen(&mut tun, 7710);
        let mut py = Peer::python("kernel", PY_IDLE, &[&SYNACK.to_string(), "7710"]);
        let c = accept_one(&mut tun, l);
        tun.stack_mut().set_user_timeout(c, Some(synack::Duration::from_secs(3))).expect("set");
        let dead = Impairment {
            loss: 1.0,
            delay: Duration::ZERO,
            reorder: 0.0,
            seed: 9,
            ecn: false,
            rate_bps: 0,
            queue_bytes: 0,
        };
        tun.set_impairment(Some(dead), None);
        tun.stack_mut().send(c, b"anyone there?").expect("send");
        drive(&mut tun, Duration::from_secs(20), "the user timeout gives up", |t| {
            t.stack().state(c) != State::Established
        });
        assert_eq!(tun.stack().error(c), Some(ConnError::TimedOut));
        let rexmits = tun.stack().stats().retransmissions;
        say(&format!("{name}: gave up after {rexmits} retransmissions"));
        assert!((1..=6).contains(&rexmits), "{rexmits} retransmissions");
        tun.set_impairment(None, None);
        py.send_stdin("close\n");
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        tun.stack_mut().close(c).expect("release");
        tun.flush().expect("flush");
    });
}

/// `ClientLimits::mss_limit` (`synack tun connect --mss`, `Stack::set_mss_limit`): the
/// SYN announces 536 to the kernel, which announces 1460, and 100 KiB go in segments of
/// at most 536 bytes, byte-exact.
#[test]
fn a_client_mss_limit_is_announced_to_the_kernel_and_kept() {
    let name = "a_client_mss_limit_is_announced_to_the_kernel_and_kept";
    in_netns(name, &["python3"], LIMIT, || {
        let n = 100 * 1024;
        let mut tun = open_tun(name, true);
        let mut py = Peer::python("sink", PY_SINK_SERVER, &[&KERNEL.to_string(), "9500"]);
        assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
        let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9500);
        let limits = ClientLimits { mss_limit: Some(536), ..ClientLimits::default() };
        let report = run_client(&mut tun, remote, ClientMode::Send(n), limits).expect("synack client run");
        drive(&mut tun, Duration::from_secs(10), "python sink exit", |_| py.exited().is_some());
        py.assert_success();
        assert_eq!(py.line("received"), Some(format!("received {n} {}", report.sha256_sent)));
        drop(tun);
        let sent = sent_segments(trace_of(name));
        let syn = sent.iter().find(|s| s.flags == "S").expect("the SYN");
        assert!(syn.opts.iter().any(|o| o == "mss 536"), "{:?}", syn.opts);
        let largest = sent.iter().map(|s| s.len).max().unwrap_or(0);
        say(&format!("{name}: largest segment sent {largest} bytes"));
        assert!((1..=536).contains(&largest), "{largest}");
    });
}

/// `ClientLimits::user_timeout` (`synack tun connect --user-timeout`) is set before the
/// SYN goes out, so it bounds the open too: with every answer from the kernel lost,
/// the client gives up after 2 s and one SYN retransmission (at 1 s; the next would be
/// at 3 s), not at the run's 30 s limit.
#[test]
fn a_client_user_timeout_bounds_the_open_too() {
    let name = "a_client_user_timeout_bounds_the_open_too";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, false);
        let mut py = Peer::python("sink", PY_SINK_SERVER, &[&KERNEL.to_string(), "9400"]);
        assert!(py.wait_line("listening", Duration::from_secs(10)).is_some(), "python server did not start");
        let dead = Impairment {
            loss: 1.0,
            delay: Duration::ZERO,
            reorder: 0.0,
            seed: 11,
            ecn: false,
            rate_bps: 0,
            queue_bytes: 0,
        };
        tun.set_impairment(Some(dead), None);
        let remote = SocketAddr::new(IpAddr::V4(KERNEL), 9400);
        let limits = ClientLimits {
            total: Duration::from_secs(30),
            linger: Duration::from_secs(1),
            user_timeout: Some(Duration::from_secs(2)),
            mss_limit: None,
        };
        match run_client(&mut tun, remote, ClientMode::Send(10), limits) {
            Err(TunError::Connection(ConnError::TimedOut)) => {}
            other => panic!("expected the connection to time out, got {other:?}"),
        }
        assert_eq!(tun.stack().stats().retransmissions, 1, "{}", tun.stack().stats());
    });
}

#[test]
fn keepalive_probes_are_answered_by_the_kernel_until_the_path_dies() {
    // RFC 9293 3.8.4: a probe <SEQ=SND.NXT-1><ACK=RCV.NXT> lies before the kernel's
    // window, and the kernel answers it with an ACK (3.10.7.4), which restarts the idle
    // time; once those answers are lost, the unanswered probes close the connection.
    let name = "keepalive_probes_are_answered_by_the_kernel_until_the_path_dies";
    in_netns(name, &["python3", "ss"], LIMIT, || {
        let ka = Keepalive {
            idle: synack::Duration::from_secs(1),
            interval: synack::Duration::from_secs(1),
            probes: 3,
        };
        let mut tun = open_tun_with(name, true, |o| o.stack.keepalive = Some(ka));
        let l = listen(&mut tun, 7700);
        let mut py = Peer::python("kernel", PY_IDLE, &[&SYNACK.to_string(), "7700"]);
        let c = accept_one(&mut tun, l);
        let port = port_of(py.wait_line("port", Duration::from_secs(5)));
        // More probes than `probes`: had any gone unanswered that long, the connection
        // would have closed after the third.
        drive(&mut tun, Duration::from_secs(20), "five answered probes", |t| {
            t.stack().stats().keepalive_probes >= 5 || t.stack().state(c) != State::Established
        });
        assert_eq!(tun.stack().state(c), State::Established, "the kernel answered every probe");
        assert_eq!(tun.stack().stats().keepalive_drops, 0);
        assert_eq!(kernel_socket_state(port, 7700).as_deref(), Some("ESTAB"), "ss -tan:\n{}", ss());
        // The path dies: everything from the kernel is lost from now on.
        let dead = Impairment {
            loss: 1.0,
            delay: Duration::ZERO,
            reorder: 0.0,
            seed: 7,
            ecn: false,
            rate_bps: 0,
            queue_bytes: 0,
        };
        tun.set_impairment(Some(dead), None);
        let before = tun.stack().stats().keepalive_probes;
        drive(&mut tun, Duration::from_secs(20), "keep-alive gives up", |t| {
            t.stack().state(c) != State::Established
        });
        assert_eq!(tun.stack().error(c), Some(ConnError::TimedOut));
        let stats = tun.stack().stats();
        assert_eq!(stats.keepalive_drops, 1);
        assert!(
            stats.keepalive_probes - before <= u64::from(ka.probes),
            "at most {} probes before giving up, {} sent",
            ka.probes,
            stats.keepalive_probes - before
        );
        tun.set_impairment(None, None);
        py.send_stdin("close\n");
        drive(&mut tun, Duration::from_secs(10), "python exit", |_| py.exited().is_some());
        py.assert_success();
        tun.stack_mut().close(c).expect("release");
        tun.flush().expect("flush");
        let fired = trace_of(name)
            .iter()
            .filter(|l| {
                matches!(&l.event, synack_viz::Event::Timer(t) if t.timer == "keepalive" && t.action == "fire")
            })
            .count();
        assert!(fired >= 5, "keep-alive timer firings in the trace: {fired}");
    });
}
