//! What a scenario is made of: hosts, links, rules, the applications' steps and the
//! expected outcome. Built-in scenarios are assembled in code ([`crate::builtin()`]),
//! custom ones from TOML ([`Scenario::from_toml_str`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use synack::{Config, Duration, State};

/// The client's address in built-in scenarios (TEST-NET-1).
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// The server's address in built-in scenarios (TEST-NET-1).
pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// The server's port in built-in scenarios.
pub const SERVER_PORT: u16 = 80;
/// The one-way delay of a link unless told otherwise.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(10);
/// The default bound on processed events.
pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000;
/// The default bound on virtual time (one hour).
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(3600);

/// A simulated network and the applications on it, with the outcome it should have.
///
/// Get one from [`crate::builtin()`] or [`Scenario::from_toml_str`], run it with
/// [`crate::run`].
#[derive(Clone, Debug)]
pub struct Scenario {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) hosts: Vec<HostSpec>,
    pub(crate) links: Vec<LinkSpec>,
    pub(crate) rules: Vec<RuleSpec>,
    pub(crate) steps: Vec<StepSpec>,
    pub(crate) expect: Expect,
    pub(crate) max_events: u64,
    pub(crate) max_time: Duration,
    /// When a host's connection fails (reset, timed out, refused), its application
    /// releases the handle and gives up its remaining steps, as a real application
    /// would, instead of waiting for triggers that will never come.
    pub(crate) release_on_error: bool,
}

/// A host: a name, an address and its stack's configuration (tracing, the secret and
/// the address list are filled in at run time).
#[derive(Clone, Debug)]
pub(crate) struct HostSpec {
    pub(crate) name: String,
    pub(crate) ip: IpAddr,
    pub(crate) cfg: Config,
}

/// What a link does to the datagrams it carries.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LinkParams {
    pub(crate) delay: Duration,
    pub(crate) jitter: Duration,
    pub(crate) loss: f64,
    pub(crate) dup: f64,
    pub(crate) reorder: f64,
    pub(crate) corrupt: f64,
    /// Bits per second; 0 means no serialization delay.
    pub(crate) bandwidth_bps: u64,
    /// The bytes the link's FIFO may hold waiting for the wire (a router's buffer):
    /// a datagram that would take it past this is dropped (drop-tail). `None`: no
    /// limit. Only with a bandwidth, which makes datagrams wait.
    pub(crate) queue_bytes: Option<usize>,
    /// Datagrams longer than this are dropped; `None`: no limit.
    pub(crate) mtu: Option<usize>,
    /// Whether a datagram dropped for the MTU is answered, as a router answers it, with
    /// ICMP "fragmentation needed" (IPv4 with DF, RFC 1191 4) or ICMPv6 Packet Too Big
    /// (RFC 8201), which the sender receives after the link's delay. `false`: a Path
    /// MTU Discovery black hole (a router whose ICMP is filtered).
    pub(crate) icmp: bool,
    /// Extra delay of a reordered datagram; `None`: the link's delay (at least 1 ms).
    pub(crate) reorder_delay: Option<Duration>,
    /// Probability in `0..=1` that a datagram starts a delay spike: the link stalls for
    /// `spike_delay`, and every datagram it carries meanwhile (this one included)
    /// arrives no earlier than the stall's end plus the link's delay, in order.
    pub(crate) spike: f64,
    /// How long a delay spike stalls the link.
    pub(crate) spike_delay: Duration,
    /// Outages: from each start to each end (times since the run's start), the link
    /// is down and loses every datagram handed to it.
    pub(crate) down: Vec<(Duration, Duration)>,
    /// A router with active queue management (RFC 3168 5, netem's `ecn`): a datagram
    /// the random loss picks is marked CE and delivered instead when it is
    /// ECN-capable (ECT); any other is lost as before.
    pub(crate) ecn_marks: bool,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            delay: DEFAULT_DELAY,
            jitter: Duration::ZERO,
            loss: 0.0,
            dup: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            bandwidth_bps: 0,
            queue_bytes: None,
            mtu: None,
            icmp: true,
            reorder_delay: None,
            spike: 0.0,
            spike_delay: Duration::ZERO,
            down: Vec::new(),
            ecn_marks: false,
        }
    }
}

/// A directional link `from -> to` (host indices).
#[derive(Clone, Debug)]
pub(crate) struct LinkSpec {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) params: LinkParams,
}

/// Which segments a rule (or its `after` condition) looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SegMatch {
    /// The link index; `None`: any link.
    pub(crate) link: Option<usize>,
    /// Exact flags as tcpdump prints them (`F.`).
    pub(crate) flags: Option<String>,
    /// Flag letters that must all be present (`F`).
    pub(crate) has: Option<String>,
    /// With payload (`true`) or without (`false`).
    pub(crate) payload: Option<bool>,
}

/// What a rule does to the segments it picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleAction {
    Drop,
    Delay(Duration),
    Duplicate,
}

/// A rule: act on the `nth` (1-based) segment matching, `times` times in a row (0: every
/// one from the nth on), counting only once a segment matching `after` was sent.
#[derive(Clone, Debug)]
pub(crate) struct RuleSpec {
    pub(crate) matcher: SegMatch,
    pub(crate) after: Option<SegMatch>,
    pub(crate) nth: u32,
    pub(crate) times: u32,
    pub(crate) action: RuleAction,
}

/// What a step waits for (after the previous step of its host completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// Right after the previous step.
    Previous,
    /// At this virtual time since the start.
    At(Duration),
    /// The host's active open completed.
    Connected,
    /// A connection waits in the host's accept queue.
    Accepted,
    /// The peer's FIN arrived.
    PeerFin,
    /// The host has read at least this many bytes.
    Received(u64),
    /// The host's connection reached CLOSED (or TIME-WAIT handed over).
    Closed,
}

/// Bytes an application sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// This many bytes of the host's deterministic pattern.
    Pattern(u64),
    /// This text.
    Text(String),
}

/// Where `connect` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A host of the scenario, and a port.
    Host(usize, u16),
    /// Any address.
    Addr(SocketAddr),
}

/// An application call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Listen {
        port: u16,
        backlog: usize,
    },
    Connect {
        to: Target,
        local_port: Option<u16>,
    },
    Accept,
    Send(Payload),
    /// SEND with the urgent flag (`Stack::send_urgent`, RFC 9293 3.8.5): the bytes are
    /// urgent data. Traced as `send`.
    SendUrgent(Payload),
    Recv,
    Shutdown,
    Close,
    Abort,
    /// The host crashes and comes back at once: its stack loses every connection,
    /// listener and TIME-WAIT record without sending a thing, and the application
    /// forgets its handles (RFC 9293 3.5.2, half-open connections).
    Reboot,
}

impl Action {
    /// The call's name, as the trace spells it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::Listen { .. } => "listen",
            Action::Connect { .. } => "connect",
            Action::Accept => "accept",
            Action::Send(_) | Action::SendUrgent(_) => "send",
            Action::Recv => "recv",
            Action::Shutdown => "shutdown",
            Action::Close => "close",
            Action::Abort => "abort",
            Action::Reboot => "reboot",
        }
    }
}

/// One step of a host's application.
#[derive(Clone, Debug)]
pub(crate) struct StepSpec {
    pub(crate) host: usize,
    pub(crate) when: When,
    /// Extra wait after `when` is met.
    pub(crate) delay: Duration,
    pub(crate) action: Action,
}

/// The story a built-in scenario tells; its check compares the trace with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Story {
    Handshake,
    Close,
    ServerClose,
    HalfClose,
    LostFinalAck,
    LostSyn,
    LostSynAck,
    LostAck,
    SimultaneousOpen,
    SimultaneousClose,
    Refused,
    Reset,
    Transfer,
    Demo,
}

/// What a custom scenario expects (every part optional).
#[derive(Clone, Debug, Default)]
pub(crate) struct CustomExpect {
    /// Per host: the state sequence of its first connection.
    pub(crate) states: Vec<(usize, Vec<State>)>,
    /// Per host: bytes its application read.
    pub(crate) received: Vec<(usize, u64)>,
    /// Every byte read equals the bytes its peer sent (two hosts).
    pub(crate) intact: bool,
    /// Per host: how its connection ended (`normal`, `refused`, `reset`, `timed-out`,
    /// `aborted`).
    pub(crate) outcome: Vec<(usize, String)>,
}

/// The check a scenario carries.
#[derive(Clone, Debug)]
pub(crate) enum Expect {
    Story(Story),
    Custom(CustomExpect),
    /// The invariants of a simulation campaign's case ([`crate::campaign`]).
    Campaign(crate::campaign::CampaignExpect),
}

impl Scenario {
    /// The scenario's name (`close`, or the TOML's `name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A one-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The hosts' names, in declaration order.
    pub fn host_names(&self) -> Vec<&str> {
        self.hosts.iter().map(|h| h.name.as_str()).collect()
    }

    /// The name of link `i`: `"FROM->TO"`.
    pub(crate) fn link_name(&self, i: usize) -> String {
        let l = &self.links[i];
        format!("{}->{}", self.hosts[l.from].name, self.hosts[l.to].name)
    }

    /// Index of the host named `name`.
    pub(crate) fn host_index(&self, name: &str) -> Option<usize> {
        self.hosts.iter().position(|h| h.name == name)
    }

    /// Index of the link `from -> to`.
    pub(crate) fn link_index(&self, from: usize, to: usize) -> Option<usize> {
        self.links.iter().position(|l| l.from == from && l.to == to)
    }

    /// The stack configuration of a host as the scenario defines it (before options).
    pub(crate) fn base_config() -> Config {
        Config::default()
    }

    /// A two-host scenario: `client` at [`CLIENT_IP`] and `server` at [`SERVER_IP`],
    /// joined both ways by links of [`DEFAULT_DELAY`], with no steps yet.
    pub(crate) fn client_server(name: &str, description: &str, story: Story) -> Scenario {
        let hosts = vec![
            HostSpec { name: "client".into(), ip: CLIENT_IP, cfg: Scenario::base_config() },
            HostSpec { name: "server".into(), ip: SERVER_IP, cfg: Scenario::base_config() },
        ];
        let links = vec![
            LinkSpec { from: 0, to: 1, params: LinkParams::default() },
            LinkSpec { from: 1, to: 0, params: LinkParams::default() },
        ];
        Scenario {
            name: name.into(),
            description: description.into(),
            hosts,
            links,
            rules: Vec::new(),
            steps: Vec::new(),
            expect: Expect::Story(story),
            max_events: DEFAULT_MAX_EVENTS,
            max_time: DEFAULT_MAX_TIME,
            release_on_error: false,
        }
    }

    /// Appends a step for `host` (by name; built-ins only use existing names).
    pub(crate) fn step(&mut self, host: &str, when: When, delay: Duration, action: Action) -> &mut Self {
        let host = self.host_index(host).unwrap_or(0);
        self.steps.push(StepSpec { host, when, delay, action });
        self
    }

    /// Appends a rule.
    pub(crate) fn rule(&mut self, rule: RuleSpec) -> &mut Self {
        self.rules.push(rule);
        self
    }
}
