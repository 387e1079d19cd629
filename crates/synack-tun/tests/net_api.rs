//! The blocking sockets of `synack_tun::TunNet` (`TcpListener`, `TcpStream`, in the
//! manner of `std::net`) against the Linux kernel's TCP, in a network namespace of the
//! test's own (see `support`; every address is in 192.0.2.0/24 and nothing leaves the
//! namespace). The application here is plain blocking Rust on threads of its own; the
//! kernel side is python.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn a_blocking_echo_server_serves_concurrent_kernel_clients() {
    // `TcpListener::incoming` and a thread per connection, as with `std::net`: eight
    // kernel clients at once, 256 KiB each, every byte echoed back in order.
    in_netns("a_blocking_echo_server_serves_concurrent_kernel_clients", &["python3"], LIMIT, || {
        let net = start_net();
        let listener = net.listen(7100).expect("listen");
        assert_eq!(listener.local_addr(), SocketAddr::new(SYNACK.into(), 7100));
        let server = std::thread::spawn(move || {
            let mut workers = Vec::new();
            for stream in listener.incoming().take(8) {
                let mut s = stream.expect("accept");
                workers.push(std::thread::spawn(move || {
                    let mut buf = vec![0u8; 32 * 1024];
                    let mut echoed = 0usize;
                    loop {
                        let n = s.read(&mut buf).expect("read");
                        if n == 0 {
                            break;
                        }
                        s.write_all(&buf[..n]).expect("write");
                        echoed += n;
                    }
                    s.shutdown(Shutdown::Write).expect("shutdown");
                    echoed
                }));
            }
            workers.into_iter().map(|w| w.join().expect("worker")).collect::<Vec<_>>()
        });
        let args = [&SYNACK.to_string()[..], "7100", "8", "262144"];
        let mut py = Peer::python("clients", PY_CONCURRENT_ECHO, &args);
        let done = py.wait_line("done", Duration::from_secs(90)).expect("the clients finished");
        assert_eq!(done, "done ok=8 bad=0");
        let echoed = server.join().expect("server");
        assert_eq!(echoed, vec![262_144; 8]);
        finished(&mut py);
    });
}

#[test]
fn a_blocking_client_writes_and_reads_from_two_threads_through_a_kernel_echo_server() {
    // `TcpStream::try_clone`: one thread writes 4 MiB and half-closes while the other
    // reads the echo until EOF; what comes back is what went out.
    let name = "a_blocking_client_writes_and_reads_from_two_threads_through_a_kernel_echo_server";
    in_netns(name, &["python3"], LIMIT, || {
        let net = start_net();
        let mut py = Peer::python("echo", PY_ECHO_SERVER, &[&KERNEL.to_string(), "7200"]);
        py.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let remote = SocketAddr::new(KERNEL.into(), 7200);
        let stream = net.connect(remote).expect("connect");
        assert_eq!(stream.peer_addr(), remote);
        assert_eq!(stream.local_addr().ip(), std::net::IpAddr::from(SYNACK));
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut writer = stream.try_clone().expect("clone");
        let sent = data.clone();
        let w = std::thread::spawn(move || {
            for chunk in sent.chunks(100_000) {
                writer.write_all(chunk).expect("write");
            }
            writer.shutdown(Shutdown::Write).expect("shutdown");
        });
        let mut back = Vec::with_capacity(data.len());
        (&stream).read_to_end(&mut back).expect("read to the end");
        w.join().expect("writer");
        assert_eq!(back.len(), data.len());
        assert!(back == data, "the echo differs from what was sent");
        finished(&mut py);
    });
}

#[test]
fn refusals_read_timeouts_and_a_stopped_network_are_errors_not_hangs() {
    let name = "refusals_read_timeouts_and_a_stopped_network_are_errors_not_hangs";
    in_netns(name, &["python3"], LIMIT, || {
        let net = start_net();
        // A port nobody listens on: the kernel's RST (RFC 9293 3.10.7.3).
        let err = net.connect(SocketAddr::new(KERNEL.into(), 9)).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // A peer that never answers within the time given.
        let black_hole = SocketAddr::new("192.0.2.77".parse().expect("address"), 80);
        let t = Instant::now();
        let err = net.connect_timeout(black_hole, Duration::from_millis(700)).expect_err("no answer");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(t.elapsed() >= Duration::from_millis(700), "{:?}", t.elapsed());
        // A silent peer: a read gives up at its timeout.
        let mut py = Peer::python("silent", PY_SILENT_SERVER, &[&KERNEL.to_string(), "7300"]);
        py.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let mut stream = net.connect(SocketAddr::new(KERNEL.into(), 7300)).expect("connect");
        assert!(stream.set_read_timeout(Some(Duration::ZERO)).is_err(), "zero is refused, as in std");
        stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        let t = Instant::now();
        let err = stream.read(&mut [0u8; 16]).expect_err("nothing to read");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(t.elapsed() >= Duration::from_millis(300), "{:?}", t.elapsed());
        // Waiting costs nothing: a read blocked for 1 s leaves the process (the
        // driver thread included) nearly idle, rather than the driver and the call
        // waking each other in a loop.
        stream.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout");
        let cpu = cpu_time();
        let err = stream.read(&mut [0u8; 16]).expect_err("nothing to read");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        let used = cpu_time() - cpu;
        assert!(used < Duration::from_millis(200), "{used:?} of CPU time in a 1 s wait");
        // The stack's own view of it, and TCP_NODELAY.
        assert_eq!(stream.info().expect("info").state, synack::State::Established);
        assert!(!stream.nodelay().expect("nodelay"), "Nagle is on by default");
        stream.set_nodelay(true).expect("set_nodelay");
        assert!(stream.nodelay().expect("nodelay") && !stream.info().expect("info").nagle);
        // Once the network is stopped, calls fail at once instead of waiting for ever.
        net.stop();
        let err = stream.read(&mut [0u8; 16]).expect_err("stopped");
        assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
        assert!(err.to_string().contains("no longer running"), "{err}");
        assert!(stream.write(b"x").is_err());
    });
}

/// Voluntary context switches of thread `tid` of this process so far: one each time
/// it went to sleep (parked, blocked on a lock or in a system call).
fn voluntary_switches(tid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).expect("thread status");
    let line = status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:")).expect("the field");
    line.trim().parse().expect("a count")
}

#[test]
fn a_blocked_read_on_a_quiet_connection_sleeps_through_other_connections_traffic() {
    // A blocked call is woken by events about its own connection only: while 4 MiB
    // go back and forth on another connection (thousands of driver rounds), a thread
    // blocked reading a silent one stays asleep.
    let name = "a_blocked_read_on_a_quiet_connection_sleeps_through_other_connections_traffic";
    in_netns(name, &["python3"], LIMIT, || {
        let net = start_net();
        let mut silent = Peer::python("silent", PY_SILENT_SERVER, &[&KERNEL.to_string(), "7700"]);
        silent.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let mut echo = Peer::python("echo", PY_ECHO_SERVER, &[&KERNEL.to_string(), "7800"]);
        echo.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let mut quiet = net.connect(SocketAddr::new(KERNEL.into(), 7700)).expect("connect");
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            // "<pid>/task/<tid>": this thread's id.
            let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
            let tid = me.file_name().expect("a tid").to_string_lossy().into_owned();
            tx.send(tid).expect("send the tid");
            quiet.read(&mut [0u8; 16])
        });
        let tid = rx.recv().expect("the sleeper's tid");
        std::thread::sleep(Duration::from_millis(300));
        let before = voluntary_switches(&tid);
        let stream = net.connect(SocketAddr::new(KERNEL.into(), 7800)).expect("connect");
        let data = vec![0x5au8; 4 << 20];
        let mut writer = stream.try_clone().expect("clone");
        let sent = data.clone();
        let w = std::thread::spawn(move || {
            writer.write_all(&sent).expect("write");
            writer.shutdown(Shutdown::Write).expect("shutdown");
        });
        let mut back = Vec::with_capacity(data.len());
        (&stream).read_to_end(&mut back).expect("read to the end");
        w.join().expect("writer");
        assert!(back == data, "the echo differs from what was sent");
        // Some 2,900 segments each way, each one an event about the other connection.
        let woken = voluntary_switches(&tid) - before;
        assert!(woken < 10, "the sleeper woke {woken} times");
        // Stopping the network ends its wait.
        net.stop();
        let err = sleeper.join().expect("sleeper").expect_err("stopped");
        assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
        finished(&mut echo);
    });
}
