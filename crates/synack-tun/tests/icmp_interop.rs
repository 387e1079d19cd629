//! ICMP from the Linux kernel acting as a router (RFC 9293 3.9.2.2): synack's TUN
//! device is the kernel's link to synack, and the kernel forwards between it and the
//! rest of the namespace. Each test runs in a network namespace of its own (see
//! `support`); every address is in 192.0.2.0/24 and nothing leaves the namespaces.
//!
//! - Path MTU Discovery (RFC 1191): a second namespace, the "far" host, sits behind a
//!   veth link whose near end carries at most 1000 bytes. synack sends 1500-byte
//!   datagrams with DF set; the kernel drops them and answers "fragmentation needed,
//!   MTU 1000". Without acting on that, the connection would stall until it timed out.
//! - A soft error: a route of type `unreachable` makes the kernel answer each SYN with
//!   "host unreachable", which must not end the connection (MUST-56).
//! - IP reassembly (RFC 1122 3.3.2): the kernel fragments a datagram larger than the
//!   device's MTU, and synack puts it together again.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::*;
use synack_tun::pattern::pattern_sha256;
use synack_tun::{run_client, ClientLimits, ClientMode, TunError};

const MIB: u64 = 1 << 20;
const LIMIT: Duration = Duration::from_secs(120);

/// The far host, behind the narrow link.
const FAR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 130);
/// The router's (the test namespace's kernel) end of the narrow link.
const ROUTER_NEAR_FAR: &str = "192.0.2.129/25";
/// The near end's MTU: the narrowest link on the path.
const NARROW_MTU: &str = "1000";

/// Start the far host: a python sink in a network namespace of its own, joined to this
/// one by a veth pair (the far end 1500 bytes, the near end [`NARROW_MTU`]), routed
/// through this namespace's kernel.
fn far_host_behind_a_narrow_link() -> Peer {
    enable_forwarding();
    let mut far =
        Peer::spawn("far", "unshare", &["-n", "python3", "-u", "-c", PY_SINK_SERVER, "0.0.0.0", "9100"]);
    assert!(far.wait_line("listening", Duration::from_secs(10)).is_some(), "the far sink did not start");
    let pid = far.pid().to_string();
    run_ok("ip", &["link", "add", "narrow0", "mtu", NARROW_MTU, "type", "veth", "peer", "name", "far0"]);
    run_ok("ip", &["link", "set", "far0", "netns", &pid]);
    run_ok("ip", &["addr", "add", ROUTER_NEAR_FAR, "dev", "narrow0"]);
    run_ok("ip", &["link", "set", "narrow0", "up"]);
    let inside = |args: &[&str]| {
        let mut all = vec!["-t", pid.as_str(), "-n", "ip"];
        all.extend_from_slice(args);
        run_ok("nsenter", &all);
    };
    inside(&["link", "set", "lo", "up"]);
    inside(&["addr", "add", "192.0.2.130/25", "dev", "far0"]);
    inside(&["link", "set", "far0", "up"]);
    inside(&["route", "add", "default", "via", "192.0.2.129"]);
    far
}

#[test]
fn path_mtu_discovery_gets_a_transfer_through_a_narrow_link() {
    let name = "path_mtu_discovery_gets_a_transfer_through_a_narrow_link";
    in_netns(name, &["python3", "nsenter"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let mut far = far_host_behind_a_narrow_link();
        let n = MIB;
        let limits = ClientLimits {
            total: Duration::from_secs(60),
            linger: Duration::from_secs(2),
            user_timeout: None,
            mss_limit: None,
        };
        let remote = SocketAddr::new(IpAddr::V4(FAR), 9100);
        let report =
            run_client(&mut tun, remote, ClientMode::Send(n), limits).expect("the transfer completes");
        drive(&mut tun, Duration::from_secs(10), "far sink exit", |_| far.exited().is_some());
        far.assert_success();
        assert_eq!(report.sha256_sent, pattern_sha256(n));
        assert_eq!(far.line("received"), Some(format!("received {n} {}", report.sha256_sent)));
        let stats = tun.stack().stats();
        assert!(stats.pmtu_reductions >= 1, "no path MTU reduction: {stats}");
        // Every segment synack sent after the first reduction fits the narrow link: at
        // most 1000 bytes less the IP and TCP headers and the timestamps option the
        // kernel negotiates (RFC 7323), 948 bytes of data. Before it, full-size ones
        // (1448) went out. The trace shows the segments' lengths.
        let fits = 1000 - 20 - 20 - 12;
        let lens: Vec<u32> = trace_of(name)
            .iter()
            .filter_map(|l| match &l.event {
                synack_viz::Event::Send(s) => Some(s.seg.len),
                _ => None,
            })
            .collect();
        let first = lens.iter().position(|&l| l > 0 && l <= fits).expect("segments that fit the narrow link");
        assert!(lens[..first].iter().any(|&l| l > fits), "full-size segments went first: {lens:?}");
        assert!(lens[first..].iter().all(|&l| l <= fits), "a segment too big after the reduction: {lens:?}");
        say(&format!("{name}: {report}; stack counters: {stats}"));
    });
}

#[test]
fn host_unreachable_from_the_kernel_is_a_soft_error() {
    // RFC 9293 3.9.2.2: Destination Unreachable code 1 is a soft error; "a TCP
    // implementation MUST NOT abort the connection (MUST-56)". The SYN is sent again
    // until the client's own time limit.
    let name = "host_unreachable_from_the_kernel_is_a_soft_error";
    in_netns(name, &[], LIMIT, || {
        let mut tun = open_tun(name, true);
        enable_forwarding();
        run_ok("ip", &["route", "add", "unreachable", "192.0.2.200/32"]);
        let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)), 80);
        let limits = ClientLimits {
            total: Duration::from_secs(4),
            linger: Duration::from_secs(1),
            user_timeout: None,
            mss_limit: None,
        };
        match run_client(&mut tun, remote, ClientMode::Send(1), limits) {
            Err(TunError::Timeout(_)) => {}
            other => panic!("expected the client's own time limit, got {other:?}"),
        }
        let stats = tun.stack().stats();
        assert!(stats.icmp_errors >= 2, "the SYN and a retransmission each drew an error: {stats}");
        assert!(stats.retransmissions >= 1, "the SYN was sent again: {stats}");
    });
}

/// Send one UDP datagram of `argv[2]` bytes to `argv[1]`:9 from a socket that lets the
/// kernel fragment it (`IP_MTU_DISCOVER` = 10, `IP_PMTUDISC_DONT` = 0: no DF).
const PY_UDP_FRAGMENTED: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)
s.sendto(b"x" * int(sys.argv[2]), (sys.argv[1], 9))
print("sent")
"#;

#[test]
fn a_datagram_the_kernel_fragments_is_reassembled() {
    // 3,000 bytes of UDP over the 1500-byte device: 1480 + 1480 + 48 bytes of payload.
    // Once whole it is UDP, which synack drops (no UDP), but it was whole: RFC 1122
    // 3.3.2, "The IP layer MUST implement reassembly of IP datagrams".
    let name = "a_datagram_the_kernel_fragments_is_reassembled";
    in_netns(name, &["python3"], LIMIT, || {
        let mut tun = open_tun(name, true);
        let mut py = Peer::python("udp", PY_UDP_FRAGMENTED, &[&SYNACK.to_string(), "3000"]);
        drive(&mut tun, Duration::from_secs(10), "the datagram reassembled", |t| {
            t.stack().stats().reassembled >= 1
        });
        drive(&mut tun, Duration::from_secs(10), "the sender's exit", |_| py.exited().is_some());
        py.assert_success();
        let stats = tun.stack().stats();
        assert_eq!((stats.fragments, stats.reassembled, stats.reassembly_failed), (3, 1, 0), "{stats}");
        say(&format!("{name}: stack counters: {stats}"));
    });
}
