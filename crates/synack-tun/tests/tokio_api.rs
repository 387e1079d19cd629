//! The async sockets of `synack_tun::tokio` (`TcpListener`, `TcpStream`, in the manner
//! of `tokio::net`) against the Linux kernel's TCP, in a network namespace of the
//! test's own (see `support`; every address is in 192.0.2.0/24 and nothing leaves the
//! namespace). The application here is tokio tasks on a multi-threaded runtime; the
//! kernel side is python.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;
use synack_tun::tokio::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(120);

/// A runtime of two worker threads (the machine's cores), as an application would
/// have.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

#[test]
fn a_tokio_echo_server_serves_many_concurrent_kernel_clients() {
    // An accept loop spawning a task per connection, each copying its reading half
    // into its writing half: 32 kernel clients at once, 128 KiB each, every byte
    // echoed back in order, on two worker threads.
    in_netns("a_tokio_echo_server_serves_many_concurrent_kernel_clients", &["python3"], LIMIT, || {
        const CLIENTS: usize = 32;
        let net = start_net();
        let rt = runtime();
        let listener = rt.block_on(TcpListener::bind(&net, 7400)).expect("bind");
        assert_eq!(listener.local_addr(), SocketAddr::new(SYNACK.into(), 7400));
        let server = rt.spawn(async move {
            let mut tasks = Vec::new();
            for _ in 0..CLIENTS {
                let (stream, peer) = listener.accept().await.expect("accept");
                assert_eq!(stream.peer_addr(), peer);
                tasks.push(tokio::spawn(async move {
                    let (mut rd, mut wr) = stream.into_split();
                    let n = tokio::io::copy(&mut rd, &mut wr).await.expect("copy");
                    wr.shutdown().await.expect("shutdown");
                    n
                }));
            }
            let mut echoed = Vec::new();
            for t in tasks {
                echoed.push(t.await.expect("task"));
            }
            echoed
        });
        let args = [&SYNACK.to_string()[..], "7400", &CLIENTS.to_string(), "131072"];
        let mut py = Peer::python("clients", PY_CONCURRENT_ECHO, &args);
        let done = py.wait_line("done", Duration::from_secs(90)).expect("the clients finished");
        assert_eq!(done, format!("done ok={CLIENTS} bad=0"));
        let echoed = rt.block_on(server).expect("server");
        assert_eq!(echoed, vec![131_072; CLIENTS]);
        finished(&mut py);
    });
}

#[test]
fn a_tokio_client_writes_and_reads_at_once_through_a_kernel_echo_server() {
    // One task writes 4 MiB and half-closes while another reads the echo until EOF;
    // what comes back is what went out.
    let name = "a_tokio_client_writes_and_reads_at_once_through_a_kernel_echo_server";
    in_netns(name, &["python3"], LIMIT, || {
        let net = start_net();
        let mut py = Peer::python("echo", PY_ECHO_SERVER, &[&KERNEL.to_string(), "7500"]);
        py.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let remote = SocketAddr::new(KERNEL.into(), 7500);
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let back = runtime().block_on(async {
            let stream = TcpStream::connect(&net, remote).await.expect("connect");
            assert_eq!(stream.peer_addr(), remote);
            assert_eq!(stream.local_addr().ip(), std::net::IpAddr::from(SYNACK));
            let (mut rd, mut wr) = stream.into_split();
            let sent = data.clone();
            let writer = tokio::spawn(async move {
                for chunk in sent.chunks(100_000) {
                    wr.write_all(chunk).await.expect("write");
                }
                wr.shutdown().await.expect("shutdown");
                // A second shutdown is no error, as with a kernel socket.
                wr.shutdown().await.expect("shutdown again");
            });
            let mut back = Vec::with_capacity(data.len());
            rd.read_to_end(&mut back).await.expect("read to the end");
            writer.await.expect("writer");
            back
        });
        assert_eq!(back.len(), data.len());
        assert!(back == data, "the echo differs from what was sent");
        finished(&mut py);
    });
}

#[test]
fn pending_async_calls_end_in_errors_timeouts_or_a_stop_never_hang() {
    let name = "pending_async_calls_end_in_errors_timeouts_or_a_stop_never_hang";
    in_netns(name, &["python3"], LIMIT, || {
        let net = start_net();
        let rt = runtime();
        // A port nobody listens on: the kernel's RST (RFC 9293 3.10.7.3).
        let err =
            rt.block_on(TcpStream::connect(&net, SocketAddr::new(KERNEL.into(), 9))).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // A peer that never answers: tokio's timeout drops the pending connect, and
        // that aborts the opening (no connection is left in SYN-SENT).
        let black_hole = SocketAddr::new("192.0.2.77".parse().expect("address"), 80);
        let t = Instant::now();
        let r = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(700), TcpStream::connect(&net, black_hole)).await
        });
        assert!(r.is_err(), "timed out");
        assert!(t.elapsed() >= Duration::from_millis(700), "{:?}", t.elapsed());
        assert_eq!(net.with_stack(|s| s.connection_count()).expect("stack"), 0, "the opening was aborted");
        // A silent peer: a read waits, costing (the driver thread included) next to
        // nothing: no event about the connection, so no wake-up.
        let mut py = Peer::python("silent", PY_SILENT_SERVER, &[&KERNEL.to_string(), "7600"]);
        py.wait_line("listening", Duration::from_secs(10)).expect("the server listens");
        let mut stream =
            rt.block_on(TcpStream::connect(&net, SocketAddr::new(KERNEL.into(), 7600))).expect("connect");
        let cpu = cpu_time();
        let r = rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), stream.read(&mut [0u8; 16])).await
        });
        assert!(r.is_err(), "nothing to read: {r:?}");
        let used = cpu_time() - cpu;
        assert!(used < Duration::from_millis(200), "{used:?} of CPU time in a 1 s wait");
        assert_eq!(stream.info().expect("info").state, synack::State::Established);
        assert!(!stream.nodelay().expect("nodelay"), "Nagle is on by default");
        stream.set_nodelay(true).expect("set_nodelay");
        assert!(stream.nodelay().expect("nodelay") && !stream.info().expect("info").nagle);
        // A read still waiting when the network stops ends in an error at once.
        let reader = rt.spawn(async move {
            let r = stream.read(&mut [0u8; 16]).await;
            (r, stream)
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(!reader.is_finished(), "the read waits for data");
        let t = Instant::now();
        net.stop();
        let (r, mut stream) = rt.block_on(reader).expect("reader");
        let err = r.expect_err("stopped");
        assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
        assert!(err.to_string().contains("no longer running"), "{err}");
        assert!(t.elapsed() < Duration::from_secs(5), "woken by the stop, {:?}", t.elapsed());
        assert!(rt.block_on(stream.write(b"x")).is_err());
    });
}
