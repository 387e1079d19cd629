//! A transparent proxy's endpoint on a TUN device, against the Linux kernel's TCP:
//! `Config::any_address` and a catch-all listener (`Stack::listen_all`) take the
//! connections the kernel routes into the device, whatever address and port they were
//! opened to, and each accepted connection knows the destination its client chose.
//! Inside a network namespace of the test's own (see `support`; every address is in
//! 192.0.2.0/24, the device's prefix, and nothing leaves the namespace).

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use support::*;
use synack::ConnId;

const LIMIT: Duration = Duration::from_secs(120);

/// For each ADDR:PORT argument after the first: connect; with a first argument of
/// "hello", send "hi ADDR:PORT" and half-close; read to the end; print "reached
/// ADDR:PORT: TEXT". Then "done".
const PY_CLIENTS: &str = r#"
import socket, sys
hello = sys.argv[1] == "hello"
for target in sys.argv[2:]:
    host, port = target.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=20)
    if hello:
        s.sendall(("hi " + target).encode())
        s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        got += b
    s.close()
    print("reached", target + ":", got.decode(), flush=True)
print("done", flush=True)
"#;

#[test]
fn a_catch_all_listener_answers_kernel_clients_at_any_address_with_their_destination() {
    const NAME: &str = "a_catch_all_listener_answers_kernel_clients_at_any_address_with_their_destination";
    in_netns(NAME, &["python3"], LIMIT, || {
        let mut tun = open_tun_with(NAME, false, |o| o.stack.any_address = true);
        let l = tun.stack_mut().listen_all(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).expect("listen_all");
        // Three destinations in the device's prefix: two addresses that are nobody's,
        // and synack's own on a port nothing listens on by itself.
        let targets = ["192.0.2.77:4242", "192.0.2.88:80", "192.0.2.2:9"];
        let mut py = Peer::python("clients", PY_CLIENTS, &["quiet", targets[0], targets[1], targets[2]]);
        let mut answered: Vec<(ConnId, SocketAddr)> = Vec::new();
        drive(&mut tun, Duration::from_secs(60), "the kernel clients answered", |t| {
            let s = t.stack_mut();
            // Each accepted connection tells its client where it arrived, and closes.
            while let Some(c) = s.accept(l) {
                let local = s.info(c).expect("accepted").tuple.local;
                s.send(c, local.to_string().as_bytes()).expect("send");
                s.close(c).expect("close");
                answered.push((c, local));
            }
            py.exited().is_some()
        });
        py.assert_success();
        assert_eq!(py.line("done"), Some("done".to_string()));
        let locals: Vec<String> = answered.iter().map(|(_, a)| a.to_string()).collect();
        assert_eq!(locals, targets, "accepted in the clients' order, each at its destination");
        for t in targets {
            assert_eq!(py.line(&format!("reached {t}:")), Some(format!("reached {t}: {t}")));
        }
        say(&format!("{NAME}: {} connections through one catch-all listener", answered.len()));
    });
}

#[test]
fn without_any_address_the_kernel_client_of_another_address_gets_no_answer() {
    // The check above is not vacuous: a stack that takes only its own address leaves
    // the SYN to 192.0.2.77 unanswered (the kernel's connect times out), while its own
    // address on any port is served by the same catch-all listener.
    const NAME: &str = "without_any_address_the_kernel_client_of_another_address_gets_no_answer";
    const PY_TRY: &str = r#"
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        s = socket.create_connection((host, int(port)), timeout=2)
        s.close()
        print("connected", target, flush=True)
    except OSError as e:
        why = "timeout" if isinstance(e, socket.timeout) else type(e).__name__
        print("failed", target, why, flush=True)
print("done", flush=True)
"#;
    in_netns(NAME, &["python3"], LIMIT, || {
        let mut tun = open_tun(NAME, false);
        let l = tun.stack_mut().listen_all(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).expect("listen_all");
        let mut py = Peer::python("clients", PY_TRY, &["192.0.2.77:4242", "192.0.2.2:9"]);
        drive(&mut tun, Duration::from_secs(30), "the kernel clients tried", |t| {
            while let Some(c) = t.stack_mut().accept(l) {
                let _ = t.stack_mut().close(c);
            }
            py.exited().is_some()
        });
        py.assert_success();
        assert_eq!(py.line("failed 192.0.2.77"), Some("failed 192.0.2.77:4242 timeout".to_string()));
        assert_eq!(py.line("connected"), Some("connected 192.0.2.2:9".to_string()));
        assert!(tun.stack().stats().no_connection >= 1);
    });
}

#[test]
fn a_blocking_listen_all_listener_gives_streams_whose_local_address_is_the_destination() {
    use std::io::{Read, Write};
    const NAME: &str = "a_blocking_listen_all_listener_gives_streams_whose_local_address_is_the_destination";
    in_netns(NAME, &["python3"], LIMIT, || {
        let mut opts = synack_tun::TunOptions::new(DEV, SYNACK, KERNEL).expect("options");
        opts.stack.any_address = true;
        let net = synack_tun::TunNet::start(&opts).expect("open the TUN device inside the namespace");
        let listener = net.listen_all().expect("listen_all");
        assert_eq!(listener.local_addr().port(), 0);
        let targets = ["192.0.2.99:7000", "192.0.2.100:22"];
        let server = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..2 {
                let (mut s, peer) = listener.accept().expect("accept");
                assert_eq!(s.peer_addr(), peer);
                let mut got = String::new();
                s.read_to_string(&mut got).expect("read to the end");
                // The echo names where the stream arrived.
                s.write_all(format!("{} from {}", got, s.local_addr()).as_bytes()).expect("write");
                seen.push(s.local_addr());
            }
            seen
        });
        let mut py = Peer::python("clients", PY_CLIENTS, &["hello", targets[0], targets[1]]);
        let seen = server.join().expect("server");
        finished(&mut py);
        let expected: Vec<SocketAddr> = targets.iter().map(|t| t.parse().unwrap()).collect();
        assert_eq!(seen, expected);
        for t in targets {
            assert_eq!(py.line(&format!("reached {t}:")), Some(format!("reached {t}: hi {t} from {t}")));
        }
    });
}

/// The `transparent_proxy` example, built beside this test (`cargo test` builds the
/// examples).
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    dir.join("examples").join("transparent_proxy")
}

#[test]
fn the_transparent_proxy_example_relays_a_kernel_client_to_its_upstream_over_the_kernel() {
    // kernel client -> 192.0.2.77:7300 (into the device) -> synack -> the example's
    // relay -> 127.0.0.1:7300 over the kernel's own TCP (an echo server) -> back.
    const NAME: &str = "the_transparent_proxy_example_relays_a_kernel_client_to_its_upstream_over_the_kernel";
    in_netns(NAME, &["python3"], LIMIT, || {
        run_ok("ip", &["link", "set", "lo", "up"]);
        let mut upstream = Peer::python("upstream", PY_ECHO_SERVER, &["127.0.0.1", "7300"]);
        upstream.wait_line("listening", Duration::from_secs(10)).expect("the upstream listens");
        let bin = example_binary();
        let mut proxy = Peer::spawn("proxy", bin.to_str().expect("utf-8 path"), &[]);
        wait_for_device(&mut proxy);
        let args = ["192.0.2.77", "7300", "1", "1048576"];
        let mut client = Peer::python("client", PY_CONCURRENT_ECHO, &args);
        let done = client.wait_line("done", Duration::from_secs(60)).expect("the client finished");
        assert_eq!(done, "done ok=1 bad=0", "1 MiB through the proxy and back");
        let line = proxy.wait_line("192.0.2.1:", Duration::from_secs(10)).expect("the proxy's line");
        assert!(line.ends_with(" -> 192.0.2.77:7300 relayed to 127.0.0.1:7300"), "{line}");
        finished(&mut upstream);
        run_ok("kill", &[&proxy.pid().to_string()]);
    });
}
