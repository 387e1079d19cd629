//! Harness of the interop tests: a fresh network namespace per test (the test binary
//! re-executed under `unshare -n`), a TUN device in it, kernel-side peers (curl,
//! python) as child processes, and bounded waits everywhere.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use synack_tun::{ConnReport, Impairment, Server, TunOptions, TunStack};

/// Set in the re-executed child: the name of the test to run for real.
const CHILD_ENV: &str = "SYNACK_INTEROP_NETNS_CHILD";
/// The child prints this when the test body returned, so the parent knows it ran.
const DONE_MARK: &str = "SYNACK-INTEROP-BODY-DONE";

/// synack's address.
pub(crate) const SYNACK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The kernel's address on the device.
pub(crate) const KERNEL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The device name inside each namespace.
pub(crate) const DEV: &str = "synack0";

/// Write to stderr past libtest's capture, so skip reasons always show.
pub(crate) fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn have(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why this environment cannot run the interop tests, if it cannot.
fn missing(tools: &[&str]) -> Option<String> {
    if effective_uid() != Some(0) {
        return Some("not running as root (a TUN device and a network namespace need it)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing".into());
    }
    if !have("unshare", &["-n", "true"]) {
        return Some("`unshare -n` does not work here (no unshare(1) or no CLONE_NEWNET)".into());
    }
    if !have("ip", &["-V"]) {
        return Some("iproute2's `ip` is not installed".into());
    }
    for t in tools {
        let ok = match *t {
            "python3" => have("python3", &["-c", "pass"]),
            "curl" => have("curl", &["--version"]),
            "ss" => have("ss", &["-V"]),
            other => have(other, &["--version"]),
        };
        if !ok {
            return Some(format!("`{t}` is not installed"));
        }
    }
    None
}

/// Run `body` inside a network namespace of its own. In the parent, re-execute this
/// test alone under `unshare -n` and check it passed; skip (or fail, with
/// SYNACK_REQUIRE_NETNS=1) when the environment cannot.
pub(crate) fn in_netns(name: &str, tools: &[&str], limit: Duration, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        let started = Instant::now();
        let _ = Command::new("ip").args(["link", "set", "lo", "up"]).status();
        body();
        say(&format!("{DONE_MARK} {name} in {:.2} s", started.elapsed().as_secs_f64()));
        return;
    }
    if let Some(why) = missing(tools) {
        if std::env::var("SYNACK_REQUIRE_NETNS").as_deref() == Ok("1") {
            panic!("SYNACK_REQUIRE_NETNS=1 but interop test {name} cannot run: {why}");
        }
        say(&format!("skipped interop test {name}: {why}"));
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new("unshare")
        .arg("-n")
        .arg(&exe)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unshare -n");
    let out = collect(child.stdout.take());
    let err = collect(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the namespaced test") {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    println!("--- {name} (in its own network namespace) stdout:\n{out}\n--- stderr:\n{err}");
    match status {
        None => panic!("interop test {name} did not finish within {limit:?}"),
        Some(s) => {
            assert!(s.success(), "interop test {name} failed in its namespace ({s}); output above");
            assert!(
                err.contains(DONE_MARK) || out.contains(DONE_MARK),
                "interop test {name} did not run in its namespace (filter matched nothing?)"
            );
            let line = err.lines().chain(out.lines()).find(|l| l.contains(DONE_MARK)).unwrap_or("");
            say(&format!("interop {name}: passed ({})", line.trim_start_matches(DONE_MARK).trim()));
        }
    }
}

fn collect<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = r {
            let mut bytes = Vec::new();
            let _ = r.read_to_end(&mut bytes);
            s = String::from_utf8_lossy(&bytes).into_owned();
        }
        s
    })
}

/// Where a test leaves its capture and trace: under the target directory.
pub(crate) fn artifacts(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop").join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Whether every test should write a capture (SYNACK_INTEROP_CAPTURE=1).
pub(crate) fn capture_all() -> bool {
    std::env::var("SYNACK_INTEROP_CAPTURE").as_deref() == Ok("1")
}

/// Open the TUN device with synack at 192.0.2.2 and the kernel at 192.0.2.1/24. With
/// `capture`, a pcapng and a JSON trace go to [`artifacts`].
pub(crate) fn open_tun(name: &str, capture: bool) -> TunStack {
    open_tun_with(name, capture, |_| {})
}

/// [`open_tun`] with the options changed by `edit` before the device opens.
pub(crate) fn open_tun_with(name: &str, capture: bool, edit: impl FnOnce(&mut TunOptions)) -> TunStack {
    let mut opts = TunOptions::new(DEV, SYNACK, KERNEL).expect("options");
    opts.stack.recv_buffer = 256 * 1024;
    opts.stack.send_buffer = 256 * 1024;
    if capture || capture_all() {
        let dir = artifacts(name);
        opts.pcap = Some(dir.join("capture.pcapng"));
        opts.json = Some(dir.join("trace.jsonl"));
        say(&format!("{name}: capture and trace in {}", dir.display()));
    }
    edit(&mut opts);
    TunStack::open(&opts).expect("open the TUN device inside the namespace")
}

/// The JSON trace written by a capturing [`open_tun`].
pub(crate) fn trace_of(name: &str) -> Vec<synack_viz::TraceLine> {
    let text = std::fs::read_to_string(artifacts(name).join("trace.jsonl")).expect("trace written");
    synack_viz::parse_jsonl(&text).expect("trace parses as the DESIGN.md contract")
}

/// The segments a trace's host sent (its `send` lines), in order.
pub(crate) fn sent_segments(lines: Vec<synack_viz::TraceLine>) -> Vec<synack_viz::Seg> {
    lines
        .into_iter()
        .filter_map(|l| match l.event {
            synack_viz::Event::Send(s) => Some(s.seg),
            _ => None,
        })
        .collect()
}

/// The state transitions of the connection `conn` in a trace, as "FROM>TO".
pub(crate) fn transitions(lines: &[synack_viz::TraceLine], conn_suffix: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| match &l.event {
            synack_viz::Event::State(s) if s.conn.ends_with(conn_suffix) => {
                Some(format!("{}>{}", s.from, s.to))
            }
            _ => None,
        })
        .collect()
}

/// Impair the link like `tc qdisc add dev synack0 root netem loss 5% delay 5ms
/// reorder 10%` on the kernel side: with netem when the kernel has it, else with
/// synack-tun's userspace impairment of the kernel->synack direction (what netem on the
/// kernel's egress does). With `both_ways`, synack's own datagrams are impaired too
/// (userspace, the same parameters), so synack's retransmissions are exercised.
/// Returns a description.
pub(crate) fn lossy_link(tun: &mut TunStack, seed: u64, both_ways: bool) -> String {
    let netem = Command::new("tc")
        .args(["qdisc", "add", "dev", DEV, "root", "netem", "loss", "5%", "delay", "5ms", "reorder", "10%"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let to_stack = (!netem).then(|| Impairment::netem_like(seed));
    let to_kernel = both_ways.then(|| Impairment::netem_like(seed ^ 0xABCD));
    tun.set_impairment(to_stack, to_kernel);
    let what = match (netem, both_ways) {
        (true, false) => "tc netem loss 5% delay 5ms reorder 10% on the kernel's egress".to_string(),
        (true, true) => {
            "tc netem on the kernel's egress + userspace impairment of synack's egress".to_string()
        }
        (false, false) => {
            "no sch_netem in this kernel: userspace impairment (loss 5%, delay 5ms, reorder 10%) \
                           of kernel->synack"
                .to_string()
        }
        (false, true) => {
            "no sch_netem in this kernel: userspace impairment (loss 5%, delay 5ms, reorder 10%) \
                          in both directions"
                .to_string()
        }
    };
    say(&format!("lossy link: {what}"));
    what
}

/// A bounded wait: `check` panics with `what` once the time is up.
pub(crate) struct Deadline {
    end: Instant,
    what: String,
}

impl Deadline {
    pub(crate) fn new(limit: Duration, what: &str) -> Deadline {
        Deadline { end: Instant::now() + limit, what: what.to_string() }
    }

    pub(crate) fn check(&self) {
        assert!(Instant::now() < self.end, "timed out: {}", self.what);
    }

    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.end
    }
}

/// A kernel-side sink: listen on HOST PORT (the arguments), accept one connection,
/// read to EOF, print "received N SHA", close.
pub(crate) const PY_SINK_SERVER: &str = r#"
import socket, sys, hashlib
host, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port)); ls.listen(8); ls.settimeout(60)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(60)
h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d:
        break
    h.update(d); n += len(d)
print("received", n, h.hexdigest(), flush=True)
c.close(); ls.close()
"#;

/// A kernel-side program (curl, python) running in the namespace.
pub(crate) struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    status: Option<ExitStatus>,
}

impl Peer {
    pub(crate) fn spawn(name: &str, prog: &str, args: &[&str]) -> Peer {
        let mut child = Command::new(prog)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = collect(child.stderr.take());
        let stdin = child.stdin.take();
        Peer {
            name: name.into(),
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
            stderr: Some(stderr),
            status: None,
        }
    }

    /// The process id (for `nsenter` and `ip link set ... netns`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A python3 script with arguments.
    pub(crate) fn python(name: &str, script: &str, args: &[&str]) -> Peer {
        let mut all = vec!["-u", "-c", script];
        all.extend_from_slice(args);
        Peer::spawn(name, "python3", &all)
    }

    /// Lines printed so far, without waiting.
    pub(crate) fn poll_lines(&mut self) -> &[String] {
        while let Ok(l) = self.lines.try_recv() {
            println!("[{}] {l}", self.name);
            self.seen.push(l);
        }
        &self.seen
    }

    /// The first line printed that starts with `prefix`, if printed yet.
    pub(crate) fn line(&mut self, prefix: &str) -> Option<String> {
        self.poll_lines().iter().find(|l| l.starts_with(prefix)).cloned()
    }

    /// Block (briefly) for a line, for peers that answer without the stack's help.
    pub(crate) fn wait_line(&mut self, prefix: &str, limit: Duration) -> Option<String> {
        let end = Instant::now() + limit;
        loop {
            if let Some(l) = self.line(prefix) {
                return Some(l);
            }
            match self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(l) => {
                    println!("[{}] {l}", self.name);
                    self.seen.push(l);
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    pub(crate) fn send_stdin(&mut self, text: &str) {
        if let Some(s) = &mut self.stdin {
            s.write_all(text.as_bytes()).expect("write to the peer's stdin");
            s.flush().expect("flush the peer's stdin");
        }
    }

    /// The exit status, once it exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Everything it wrote to stderr (after it exited).
    pub(crate) fn stderr(&mut self) -> String {
        self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }

    /// After exit: take every line still in the pipe (the reader thread ends at EOF).
    fn drain_lines(&mut self) {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            match self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(l) => {
                    println!("[{}] {l}", self.name);
                    self.seen.push(l);
                }
                Err(_) => return,
            }
        }
    }

    /// Require a successful exit; print its stderr otherwise.
    pub(crate) fn assert_success(&mut self) {
        let status = self.exited().expect("peer still running");
        self.drain_lines();
        if !status.success() {
            let err = self.stderr();
            panic!("{} failed ({status}); stderr:\n{err}", self.name);
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Step the loop until `done` or the deadline (which fails the test).
pub(crate) fn drive(
    tun: &mut TunStack,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut TunStack) -> bool,
) {
    let dl = Deadline::new(limit, what);
    loop {
        tun.step(Duration::from_millis(10)).expect("event loop step");
        if done(tun) {
            return;
        }
        dl.check();
    }
}

/// Step the loop and pump the server until `done` or the deadline; returns the
/// server's connection reports collected meanwhile.
pub(crate) fn serve_until(
    tun: &mut TunStack,
    server: &mut Server,
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&mut TunStack, &[ConnReport]) -> bool,
) -> Vec<ConnReport> {
    let dl = Deadline::new(limit, what);
    let mut reports = Vec::new();
    loop {
        tun.step(Duration::from_millis(10)).expect("event loop step");
        server.pump(tun);
        while let Some(r) = server.poll_report() {
            println!("server: {r}");
            reports.push(r);
        }
        if done(tun, &reports) {
            return reports;
        }
        dl.check();
    }
}

/// Run a setup command (`ip`, `nsenter`, ...) and fail the test, with its output, if
/// it fails.
pub(crate) fn run_ok(prog: &str, args: &[&str]) {
    let out = Command::new(prog).args(args).output().unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    assert!(
        out.status.success(),
        "{prog} {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Let this namespace's kernel forward IPv4 between its interfaces (a router).
pub(crate) fn enable_forwarding() {
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("enable IPv4 forwarding in the namespace");
}

/// `ss -tan` output (kernel sockets of this namespace).
pub(crate) fn ss() -> String {
    let out = Command::new("ss").args(["-tan"]).output().expect("run ss");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `ss -tan` state of the kernel socket from `KERNEL:port` to `SYNACK:remote_port`.
pub(crate) fn kernel_socket_state(local_port: u16, remote_port: u16) -> Option<String> {
    let local = format!("{KERNEL}:{local_port}");
    let remote = format!("{SYNACK}:{remote_port}");
    ss().lines()
        .find(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 5 && f[3] == local && f[4] == remote
        })
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
}

/// SHA-256 hex of a file's contents and its length.
pub(crate) fn file_sha256(path: &Path) -> (u64, String) {
    let data = std::fs::read(path).expect("read downloaded file");
    (data.len() as u64, synack_tun::pattern::sha256_hex(&data))
}

/// K clients at once against echo: each sends its own bytes, half-closes and checks
/// that exactly those bytes come back. Prints "done ok=K bad=0".
pub(crate) const PY_CONCURRENT_ECHO: &str = r#"
import socket, sys, threading, random
host, port, k, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
barrier = threading.Barrier(k); results = [None] * k
def client(i):
    data = random.Random(i).randbytes(size)
    try:
        barrier.wait(timeout=30)
        s = socket.create_connection((host, port), timeout=60)
        out = bytearray()
        def reader():
            while True:
                d = s.recv(65536)
                if not d:
                    break
                out.extend(d)
        t = threading.Thread(target=reader); t.start()
        s.sendall(data); s.shutdown(socket.SHUT_WR)
        t.join(60); s.close()
        results[i] = bytes(out) == data
    except Exception as e:
        print("client", i, "error", repr(e), flush=True)
        results[i] = False
threads = [threading.Thread(target=client, args=(i,)) for i in range(k)]
for t in threads: t.start()
for t in threads: t.join(90)
print("done ok=%d bad=%d" % (sum(1 for r in results if r), sum(1 for r in results if not r)), flush=True)
"#;

/// A `TunNet` (the stack driven by a thread of its own) on the namespace's device.
pub(crate) fn start_net() -> synack_tun::TunNet {
    let opts = TunOptions::new(DEV, SYNACK, KERNEL).expect("options");
    synack_tun::TunNet::start(&opts).expect("open the TUN device inside the namespace")
}

/// Wait (up to 20 s) for a kernel-side peer to exit, and require success.
pub(crate) fn finished(p: &mut Peer) {
    let dl = Deadline::new(Duration::from_secs(20), "the kernel-side peer to exit");
    while p.exited().is_none() {
        dl.check();
        std::thread::sleep(Duration::from_millis(20));
    }
    p.assert_success();
}

/// CPU time this process has used so far (user and system, all threads), from
/// `/proc/self/stat` in clock ticks of 10 ms.
pub(crate) fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // The fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<u64> = rest.split(' ').map(|f| f.parse().unwrap_or(0)).collect();
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th here.
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

/// Listen on the port given; accept one; echo every byte back until EOF; close.
/// Prints "listening" once it listens.
pub(crate) const PY_ECHO_SERVER: &str = r#"
import socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept(); c.settimeout(60)
while True:
    d = c.recv(65536)
    if not d:
        break
    c.sendall(d)
c.close(); ls.close()
"#;

/// Listen on the port given; accept one and hold it without a word for 20 s.
pub(crate) const PY_SILENT_SERVER: &str = r#"
import socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(1)
print("listening", flush=True)
c, _ = ls.accept()
time.sleep(20)
"#;

/// Wait until the kernel side of `synack0` carries its address: the program `server`
/// has opened the device and configured it (it need print nothing before).
pub(crate) fn wait_for_device(server: &mut Peer) {
    let dl = Deadline::new(Duration::from_secs(10), "synack0 to come up with 192.0.2.1");
    loop {
        let out = Command::new("ip").args(["-o", "addr", "show", "dev", DEV]).output().expect("run ip");
        if String::from_utf8_lossy(&out.stdout).contains("192.0.2.1/24") {
            return;
        }
        if let Some(status) = server.exited() {
            panic!("the program exited before its device came up ({status}): {}", server.stderr());
        }
        dl.check();
        std::thread::sleep(Duration::from_millis(20));
    }
}
