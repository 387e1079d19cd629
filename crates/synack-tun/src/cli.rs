//! The command-line surface: clap argument structs for `synack tun serve` and
//! `synack tun connect`, and the entry points the CLI calls.

use crate::app::{parse_size, App, ConnReport, Server};
use crate::client::{run_client, ClientLimits, ClientMode, ConnectReport};
use crate::device::StopHandle;
use crate::driver::{TunOptions, TunStack};
use crate::error::TunError;
use clap::{ArgGroup, Args, Subcommand};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;
use synack::Keepalive;

/// How long `serve` waits, after SIGINT/SIGTERM, for its FINs to be acknowledged.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// `synack tun ...`: run synack on a Linux TUN device against the kernel's TCP.
#[derive(Subcommand, Clone, Debug)]
pub enum TunCommand {
    /// Run a synack server that kernel clients (curl, nc, python) connect to.
    Serve(ServeArgs),
    /// Connect synack as a client to a kernel server.
    Connect(ConnectArgs),
}

/// The device and the addresses on both sides of it.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct DeviceArgs {
    /// Name of the TUN device to create.
    #[arg(long, default_value = "synack0")]
    pub dev: String,
    /// synack's address (kernel packets to it go into the device).
    #[arg(long, default_value = "192.0.2.2")]
    pub addr: Ipv4Addr,
    /// The kernel's address on the device; the device gets PEER/24.
    #[arg(long, default_value = "192.0.2.1")]
    pub peer: Ipv4Addr,
    /// Device MTU.
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u16).range(576..))]
    pub mtu: u16,
    /// Open the device without the kernel's TCP segmentation offloads: one datagram per
    /// read and per write. With them (the default, when the kernel agrees) a read can
    /// bring a whole burst of the kernel's segments and a write can carry several of
    /// synack's; the stack and the capture see the same datagrams either way.
    #[arg(long)]
    pub no_offload: bool,
    /// Write every datagram that crossed the device to this pcapng file (LINKTYPE_RAW).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Write the stack's trace to this file as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// TCP keep-alive on every connection (RFC 9293 3.8.4; off without this option):
    /// `IDLE[:INTERVAL[:PROBES]]` in seconds, e.g. 60 or 60:10:5. A probe goes out once
    /// nothing was received for IDLE seconds and no sent data is outstanding, then
    /// every INTERVAL seconds (default 75) until answered; after PROBES unanswered
    /// probes (default 9) the connection is closed as timed out.
    #[arg(long, value_name = "IDLE[:INTERVAL[:PROBES]]", value_parser = parse_keepalive)]
    pub keepalive: Option<Keepalive>,
    /// The Differentiated Services Codepoint of every connection's segments (RFC 2474,
    /// RFC 9293 3.9.1.9), 0 to 63: 46 is expedited forwarding, 0 (the default) best
    /// effort.
    #[arg(long, value_name = "DSCP", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=63))]
    pub dscp: u8,
    /// The TTL of every datagram synack sends (`Config::ttl`, RFC 9293 3.9.1.1:
    /// MUST-49), 1 to 255.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u8).range(1..))]
    pub ttl: u8,
    /// Explicit Congestion Notification (RFC 3168): `passive` (the default, as Linux's
    /// `tcp_ecn=2`) agrees when the peer's SYN asks, `active` asks in our SYNs too,
    /// `off` never uses it.
    #[arg(long, value_enum, default_value_t = EcnArg::Passive)]
    pub ecn: EcnArg,
    /// Congestion control: `reno` (the default; RFC 5681 with NewReno recovery) or
    /// `cubic` (RFC 9438, the default of Linux, Windows and Apple's stacks).
    #[arg(long, value_enum, default_value_t = CcArg::Reno)]
    pub congestion_control: CcArg,
    /// Leave CUBIC's initial slow start standard: no HyStart++ (RFC 9406), which is on
    /// by default and ends slow start when the round-trip time starts to grow
    /// (`Config::hystart`).
    #[arg(long)]
    pub no_hystart: bool,
    /// Every connection's send buffer: bytes the application may queue, unsent or
    /// unacknowledged (`Config::send_buffer`), e.g. 65536, 64K or 4M. Storage grows
    /// with the data, up to this.
    #[arg(long, value_name = "BYTES", default_value = "256K", value_parser = parse_buffer_size)]
    pub send_buffer: u32,
    /// Every connection's receive buffer: the largest window it offers
    /// (`Config::recv_buffer`; the window-scale shift of its SYNs follows, RFC 7323
    /// 2.3), e.g. 65536, 64K or 4M. Storage grows with the data, up to this.
    #[arg(long, value_name = "BYTES", default_value = "256K", value_parser = parse_buffer_size)]
    pub recv_buffer: u32,
}

/// The largest buffer `--send-buffer` and `--recv-buffer` take: 1 GiB, the largest
/// window scaling can offer (RFC 7323 2.3: 65535 << 14).
pub(crate) const MAX_BUFFER: u32 = 1 << 30;

/// Parse a buffer size (`parse_size`'s forms: 65536, 64K, 4M), 1 byte to 1 GiB.
pub(crate) fn parse_buffer_size(s: &str) -> Result<u32, String> {
    match crate::parse_size(s)? {
        0 => Err(format!("{s:?}: a buffer holds at least 1 byte")),
        n => u32::try_from(n)
            .ok()
            .filter(|&n| n <= MAX_BUFFER)
            .ok_or_else(|| format!("{s:?}: at most 1G (the largest window TCP can offer)")),
    }
}

/// `--congestion-control`: [`synack::CongestionControl`] on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CcArg {
    /// Reno with NewReno recovery.
    Reno,
    /// CUBIC.
    Cubic,
}

impl From<CcArg> for synack::CongestionControl {
    fn from(a: CcArg) -> Self {
        match a {
            CcArg::Reno => synack::CongestionControl::Reno,
            CcArg::Cubic => synack::CongestionControl::Cubic,
        }
    }
}

/// `--ecn`: [`synack::Ecn`] on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcnArg {
    /// Never.
    Off,
    /// When the peer asks.
    Passive,
    /// Ask, and agree.
    Active,
}

impl From<EcnArg> for synack::Ecn {
    fn from(a: EcnArg) -> Self {
        match a {
            EcnArg::Off => synack::Ecn::Off,
            EcnArg::Passive => synack::Ecn::Passive,
            EcnArg::Active => synack::Ecn::Active,
        }
    }
}

/// Parse `IDLE[:INTERVAL[:PROBES]]` (seconds, seconds, a count), the missing parts
/// from [`Keepalive::default`].
pub fn parse_keepalive(s: &str) -> Result<Keepalive, String> {
    let form = "expected IDLE[:INTERVAL[:PROBES]], e.g. 60 or 60:10:5";
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() > 3 {
        return Err(format!("{s:?}: too many parts; {form}"));
    }
    let secs = |what: &str, t: &str| -> Result<synack::Duration, String> {
        match t.trim().parse::<u32>() {
            Ok(0) => Err(format!("{s:?}: {what} must be at least 1 second")),
            Ok(n) => Ok(synack::Duration::from_secs(u64::from(n))),
            Err(_) => Err(format!("{s:?}: {what} {t:?} is not a whole number of seconds; {form}")),
        }
    };
    let mut ka = Keepalive { idle: secs("IDLE", parts[0])?, ..Keepalive::default() };
    if let Some(t) = parts.get(1) {
        ka.interval = secs("INTERVAL", t)?;
    }
    if let Some(t) = parts.get(2) {
        ka.probes = match t.trim().parse::<u8>() {
            Ok(n) if n < Keepalive::MIN_PROBES => {
                return Err(format!(
                    "{s:?}: PROBES must be at least {} (one lost ACK must not close a connection, RFC 9293 MUST-29)",
                    Keepalive::MIN_PROBES
                ))
            }
            Ok(n) => n,
            Err(_) => return Err(format!("{s:?}: PROBES {t:?} is not a count from {} to 255; {form}", Keepalive::MIN_PROBES)),
        };
    }
    Ok(ka)
}

impl DeviceArgs {
    /// The [`TunOptions`] these arguments describe (stack keyed with OS entropy).
    pub fn options(&self) -> Result<TunOptions, TunError> {
        let mut o = TunOptions::new(&self.dev, self.addr, self.peer)?;
        o.device.mtu = self.mtu;
        o.device.offload = !self.no_offload;
        o.pcap = self.pcap.clone();
        o.json = self.json.clone();
        o.stack.keepalive = self.keepalive;
        o.stack.dscp = self.dscp;
        o.stack.ttl = self.ttl;
        o.stack.ecn = self.ecn.into();
        o.stack.congestion_control = self.congestion_control.into();
        o.stack.hystart = !self.no_hystart;
        o.stack.send_buffer = self.send_buffer;
        o.stack.recv_buffer = self.recv_buffer;
        Ok(o)
    }
}

/// `synack tun serve`.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct ServeArgs {
    /// Device and addresses.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// TCP port to listen on at synack's address.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Serve every port of every address the kernel routes into the device, not
    /// `--port` at `--addr` alone: a transparent proxy's endpoint (`Config::any_address`
    /// and `Stack::listen_all`). Each report line names the destination the client
    /// connected to (`PEER to DEST`).
    #[arg(long, conflicts_with = "port")]
    pub transparent: bool,
    /// What to do with each connection: echo, discard (print bytes and SHA-256),
    /// source:N (send N pattern bytes, then close; K/M/G suffixes) or http (answers
    /// GET /bytes/N).
    #[arg(long, default_value = "echo", value_parser = clap::value_parser!(App))]
    pub app: App,
    /// Abort a connection when data it sent stays unacknowledged for this many seconds
    /// (`Stack::set_listener_user_timeout`, RFC 9293 3.10.8, like TCP_USER_TIMEOUT;
    /// without it, a connection gives up after 15 retransmissions, R2).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub user_timeout: Option<u64>,
    /// Cap the MSS of every connection at this many bytes: announced in the SYN,ACK,
    /// and no larger segment sent (`Stack::set_listener_mss_limit`, like TCP_MAXSEG on
    /// a listening socket; without it, the MTU less the headers).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(64..))]
    pub mss: Option<u16>,
}

/// `synack tun connect`.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
#[command(group(ArgGroup::new("mode").required(true).args(["send", "recv"])))]
pub struct ConnectArgs {
    /// The kernel server, IP:PORT.
    pub remote: SocketAddrV4,
    /// Device and addresses.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Send N bytes of the deterministic pattern (K/M/G suffixes), close, and print
    /// their SHA-256.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub send: Option<u64>,
    /// Receive until the server closes; print the byte count and SHA-256.
    #[arg(long)]
    pub recv: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,
    /// Give up the connection attempt if it is not established within this many
    /// seconds (`Config::connect_timeout`; without it the SYN is retransmitted for
    /// three minutes, RFC 9293 3.8.3, or until `--timeout`).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: Option<u64>,
    /// Abort the connection when data (or the SYN or FIN) sent stays unacknowledged
    /// for this many seconds (`Stack::set_user_timeout`, RFC 9293 3.10.8, like
    /// TCP_USER_TIMEOUT; without it, the connection gives up after 15
    /// retransmissions, R2).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub user_timeout: Option<u64>,
    /// Cap the connection's MSS at this many bytes: announced in the SYN, and no larger
    /// segment sent (`Stack::set_mss_limit`, like TCP_MAXSEG; without it, the MTU less
    /// the headers).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(64..))]
    pub mss: Option<u16>,
}

impl ConnectArgs {
    /// The client's limits: `--timeout` for the whole run, `--user-timeout` for the
    /// connection.
    fn limits(&self) -> ClientLimits {
        ClientLimits {
            total: Duration::from_secs(self.timeout),
            user_timeout: self.user_timeout.map(Duration::from_secs),
            mss_limit: self.mss,
            ..ClientLimits::default()
        }
    }

    fn mode(&self) -> ClientMode {
        match self.send {
            Some(n) => ClientMode::Send(n),
            None => ClientMode::Recv,
        }
    }
}

/// Run on SIGINT or SIGTERM: stop the loop. Dropping the guard removes the handlers'
/// thread.
struct SignalGuard {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SignalGuard {
    fn install(stop: StopHandle) -> Result<SignalGuard, TunError> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(TunError::Signal)?;
        let handle = signals.handle();
        let thread = std::thread::Builder::new()
            .name("synack-signals".into())
            .spawn(move || {
                for _ in signals.forever() {
                    stop.stop();
                }
            })
            .map_err(TunError::Signal)?;
        Ok(SignalGuard { handle, thread: Some(thread) })
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `synack tun serve`: create the device, listen at `--addr`:`--port` (with
/// `--transparent`, on every port of every address), run the application on every
/// connection and print one [`ConnReport`] line per connection,
/// until SIGINT/SIGTERM, which closes the open connections with FINs; then the stack's
/// counters that are not zero, on standard error.
pub fn serve(args: &ServeArgs) -> Result<(), TunError> {
    let mut opts = args.device.options()?;
    opts.stack.any_address = args.transparent;
    let mut tun = TunStack::open(&opts)?;
    let stop = tun.stop_handle();
    let _signals = SignalGuard::install(stop.clone())?;
    let mut server = if args.transparent {
        Server::listen_all(&mut tun, args.app)?
    } else {
        Server::listen(&mut tun, args.port, args.app)?
    };
    if let Some(l) = server.listener() {
        if let Some(secs) = args.user_timeout {
            let t = synack::Duration::from(Duration::from_secs(secs));
            tun.stack_mut().set_listener_user_timeout(l, Some(t))?;
        }
        if let Some(mss) = args.mss {
            tun.stack_mut().set_listener_mss_limit(l, mss)?;
        }
    }
    let on =
        if args.transparent { "every address and port".to_string() } else { server.local_addr().to_string() };
    eprintln!(
        "synack: serving {} on {on} via {} (kernel side {}/24); Ctrl-C to stop",
        args.app,
        tun.device_name(),
        args.device.peer
    );
    let res = run_server(&mut tun, &mut server, &stop, |r| println!("{r}"));
    eprintln!("synack: stack counters: {}", tun.stack().stats());
    res
}

/// The serve loop over an open device: step, pump the server, report; after `stop`,
/// close everything and give the FINs two seconds to be acknowledged.
pub fn run_server(
    tun: &mut TunStack,
    server: &mut Server,
    stop: &StopHandle,
    mut on_report: impl FnMut(&ConnReport),
) -> Result<(), TunError> {
    let mut grace: Option<std::time::Instant> = None;
    loop {
        tun.step(Duration::from_millis(500))?;
        server.pump(tun);
        if stop.is_stopped() && grace.is_none() {
            server.shutdown(tun);
            grace = Some(std::time::Instant::now() + SHUTDOWN_GRACE);
        }
        while let Some(r) = server.poll_report() {
            on_report(&r);
        }
        if let Some(g) = grace {
            if tun.stack().connection_count() == 0 || std::time::Instant::now() >= g {
                break;
            }
        }
    }
    tun.flush()
}

/// `synack tun connect`: create the device, connect to the kernel server, send or
/// receive, close. The caller prints the report; the stack's counters that are not
/// zero go to standard error.
pub fn connect(args: &ConnectArgs) -> Result<ConnectReport, TunError> {
    let mut opts = args.device.options()?;
    opts.stack.connect_timeout = args.connect_timeout.map(Duration::from_secs).map(synack::Duration::from);
    let mut tun = TunStack::open(&opts)?;
    let _signals = SignalGuard::install(tun.stop_handle())?;
    let res = run_client(&mut tun, SocketAddr::V4(args.remote), args.mode(), args.limits());
    eprintln!("synack: stack counters: {}", tun.stack().stats());
    res
}

/// Run a `synack tun` subcommand, printing its results on stdout.
pub fn run(cmd: &TunCommand) -> Result<(), TunError> {
    match cmd {
        TunCommand::Serve(a) => serve(a),
        TunCommand::Connect(a) => {
            let report = connect(a)?;
            println!("{report}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        cmd: TunCommand,
    }

    #[test]
    fn serve_arguments_parse_with_defaults() {
        let cli = Cli::try_parse_from(["t", "serve", "--dev", "tun7", "--port", "80", "--app", "source:1M"])
            .expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        assert_eq!(a.device.dev, "tun7");
        assert_eq!(a.device.addr, Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(a.device.peer, Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(a.port, 80);
        assert_eq!(a.app, App::Source(1 << 20));
        assert!(Cli::try_parse_from(["t", "serve", "--app", "nope"]).is_err());
        assert!(!a.transparent);
    }

    #[test]
    fn the_ttl_is_64_unless_given_and_never_0() {
        let cli = Cli::try_parse_from(["t", "serve"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        assert_eq!(a.device.ttl, 64);
        let cli = Cli::try_parse_from(["t", "serve", "--ttl", "5"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        assert_eq!(a.device.options().expect("options").stack.ttl, 5);
        assert!(Cli::try_parse_from(["t", "serve", "--ttl", "0"]).is_err());
        assert!(Cli::try_parse_from(["t", "serve", "--ttl", "256"]).is_err());
    }

    #[test]
    fn transparent_serving_takes_every_port_so_a_port_is_refused() {
        let cli = Cli::try_parse_from(["t", "serve", "--transparent"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        assert!(a.transparent);
        assert!(Cli::try_parse_from(["t", "serve", "--transparent", "--port", "80"]).is_err());
    }

    #[test]
    fn connect_needs_exactly_one_of_send_and_recv() {
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:9000", "--send", "10M"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect expected") };
        assert_eq!(a.mode(), ClientMode::Send(10 << 20));
        assert!(Cli::try_parse_from(["t", "connect", "192.0.2.1:9000"]).is_err());
        assert!(Cli::try_parse_from(["t", "connect", "192.0.2.1:9000", "--send", "1", "--recv"]).is_err());
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:9000", "--recv", "--pcap", "x.pcapng"])
            .expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect expected") };
        assert_eq!(a.mode(), ClientMode::Recv);
        assert_eq!(a.device.pcap, Some(PathBuf::from("x.pcapng")));
        assert_eq!(a.device.keepalive, None, "keep-alive is off unless asked for");
    }

    #[test]
    fn keepalive_takes_idle_then_interval_then_probes_and_defaults_the_rest() {
        let secs = synack::Duration::from_secs;
        let d = Keepalive::default();
        assert_eq!(parse_keepalive("60"), Ok(Keepalive { idle: secs(60), ..d }));
        assert_eq!(parse_keepalive("60:10"), Ok(Keepalive { idle: secs(60), interval: secs(10), ..d }));
        assert_eq!(
            parse_keepalive(" 60:10:5 "),
            Ok(Keepalive { idle: secs(60), interval: secs(10), probes: 5 })
        );
        let cli = Cli::try_parse_from(["t", "serve", "--keepalive", "30:5:3"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        let o = a.device.options().expect("options");
        assert_eq!(o.stack.keepalive, Some(Keepalive { idle: secs(30), interval: secs(5), probes: 3 }));
    }

    #[test]
    fn ecn_reaches_the_stack_and_is_passive_unless_asked() {
        let opts = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).expect("valid");
            let TunCommand::Connect(a) = cli.cmd else { panic!("connect expected") };
            a.device.options().expect("options").stack.ecn
        };
        assert_eq!(opts(&["t", "connect", "192.0.2.1:9", "--send", "1"]), synack::Ecn::Passive);
        assert_eq!(
            opts(&["t", "connect", "192.0.2.1:9", "--send", "1", "--ecn", "active"]),
            synack::Ecn::Active
        );
        assert_eq!(opts(&["t", "connect", "192.0.2.1:9", "--send", "1", "--ecn", "off"]), synack::Ecn::Off);
        assert!(Cli::try_parse_from(["t", "serve", "--ecn", "sometimes"]).is_err());
    }

    #[test]
    fn dscp_reaches_the_stack_and_takes_six_bits() {
        let cli = Cli::try_parse_from(["t", "serve", "--dscp", "46"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve expected") };
        assert_eq!(a.device.options().expect("options").stack.dscp, 46);
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:9", "--send", "1"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect expected") };
        assert_eq!(a.device.options().expect("options").stack.dscp, 0, "best effort unless asked for");
        assert!(Cli::try_parse_from(["t", "serve", "--dscp", "64"]).is_err());
    }

    #[test]
    fn connect_timeout_reaches_the_stack_and_refuses_zero() {
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.connect_timeout, None, "off unless asked for");
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv", "--connect-timeout", "5"])
            .expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.connect_timeout, Some(5));
        let zero = ["t", "connect", "192.0.2.1:80", "--recv", "--connect-timeout", "0"];
        assert!(Cli::try_parse_from(zero).is_err());
    }

    #[test]
    fn mss_limits_reach_the_client_and_the_server_and_refuse_below_64() {
        let cli =
            Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv", "--mss", "536"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.limits().mss_limit, Some(536));
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.limits().mss_limit, None, "the MTU's unless asked for");
        let cli = Cli::try_parse_from(["t", "serve", "--mss", "1200"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve") };
        assert_eq!(a.mss, Some(1200));
        assert!(Cli::try_parse_from(["t", "serve", "--mss", "63"]).is_err());
        assert!(Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv", "--mss", "63"]).is_err());
    }

    #[test]
    fn serve_takes_a_user_timeout_and_refuses_zero() {
        let cli = Cli::try_parse_from(["t", "serve"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve") };
        assert_eq!(a.user_timeout, None, "off unless asked for");
        let cli = Cli::try_parse_from(["t", "serve", "--user-timeout", "9"]).expect("valid");
        let TunCommand::Serve(a) = cli.cmd else { panic!("serve") };
        assert_eq!(a.user_timeout, Some(9));
        assert!(Cli::try_parse_from(["t", "serve", "--user-timeout", "0"]).is_err());
    }

    #[test]
    fn user_timeout_reaches_the_client_and_refuses_zero() {
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv"]).expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.limits().user_timeout, None, "off unless asked for");
        let cli = Cli::try_parse_from(["t", "connect", "192.0.2.1:80", "--recv", "--user-timeout", "7"])
            .expect("valid");
        let TunCommand::Connect(a) = cli.cmd else { panic!("connect") };
        assert_eq!(a.limits().user_timeout, Some(Duration::from_secs(7)));
        assert_eq!(a.limits().total, Duration::from_secs(120));
        let zero = ["t", "connect", "192.0.2.1:80", "--recv", "--user-timeout", "0"];
        assert!(Cli::try_parse_from(zero).is_err());
    }

    #[test]
    fn congestion_control_is_reno_unless_cubic_is_asked_for() {
        let cc = |args: &[&str]| {
            let mut all = vec!["t", "serve"];
            all.extend_from_slice(args);
            let TunCommand::Serve(a) = Cli::try_parse_from(all).expect("valid").cmd else { panic!("serve") };
            a.device.options().expect("options").stack.congestion_control
        };
        assert_eq!(cc(&[]), synack::CongestionControl::Reno);
        assert_eq!(cc(&["--congestion-control", "cubic"]), synack::CongestionControl::Cubic);
        assert!(Cli::try_parse_from(["t", "serve", "--congestion-control", "vegas"]).is_err());
    }

    #[test]
    fn hystart_is_on_unless_switched_off() {
        let hystart = |args: &[&str]| {
            let mut all = vec!["t", "serve", "--congestion-control", "cubic"];
            all.extend_from_slice(args);
            let TunCommand::Serve(a) = Cli::try_parse_from(all).expect("valid").cmd else { panic!("serve") };
            a.device.options().expect("options").stack.hystart
        };
        assert!(hystart(&[]), "Config's default");
        assert!(!hystart(&["--no-hystart"]));
    }

    #[test]
    fn buffer_sizes_take_byte_counts_with_units_and_refuse_zero_and_beyond_1_gib() {
        let o = |args: &[&str]| {
            let mut all = vec!["t", "connect", "192.0.2.1:80", "--send", "1"];
            all.extend_from_slice(args);
            match Cli::try_parse_from(all).map(|c| c.cmd) {
                Ok(TunCommand::Connect(a)) => Ok(a.device.options().expect("options").stack),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.to_string()),
            }
        };
        let d = o(&[]).expect("defaults");
        assert_eq!((d.send_buffer, d.recv_buffer), (256 * 1024, 256 * 1024), "TunOptions::new's");
        let c = o(&["--send-buffer", "64K", "--recv-buffer", "4M"]).expect("valid");
        assert_eq!((c.send_buffer, c.recv_buffer), (65_536, 4 << 20));
        assert_eq!(o(&["--recv-buffer", "1G"]).map(|c| c.recv_buffer), Ok(1 << 30));
        for bad in ["0", "1G1", "2G", "lots", "1.5M"] {
            let err = o(&["--recv-buffer", bad]).expect_err(bad);
            assert!(err.contains("--recv-buffer"), "{bad}: {err}");
        }
        assert!(parse_buffer_size("0").is_err_and(|e| e.contains("at least 1 byte")));
        assert!(parse_buffer_size("2G").is_err_and(|e| e.contains("at most 1G")));
    }

    #[test]
    fn keepalive_rejects_zero_and_malformed_values_with_a_reason() {
        for (bad, why) in [
            ("", "not a whole number"),
            ("0", "at least 1 second"),
            ("60:0", "INTERVAL must be at least 1 second"),
            ("60:10:0", "PROBES must be at least 2"),
            ("60:10:1", "PROBES must be at least 2"),
            ("60:10:256", "not a count"),
            ("1h", "not a whole number"),
            ("60:10:5:1", "too many parts"),
            ("-5", "not a whole number"),
        ] {
            let err = parse_keepalive(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(Cli::try_parse_from(["t", "serve", "--keepalive", "0"]).is_err());
    }
}
