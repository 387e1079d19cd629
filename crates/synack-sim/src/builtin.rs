//! The built-in scenarios of DESIGN.md ("Built-in scenarios") and `demo`.
//!
//! Every one has two hosts, `client` at 192.0.2.1 and `server` at 192.0.2.2 (port 80),
//! joined by links of 10 ms each way. Steps are tied to events (connected, accepted,
//! the peer's FIN) rather than to fixed times where it matters, so that the stories
//! survive a different `delay` option.

use crate::scenario::{
    Action, LinkParams, Payload, RuleAction, RuleSpec, Scenario, SegMatch, Story, Target, When, SERVER_PORT,
};
use synack::Duration;

/// The built-in scenarios: name and one-line description, in the order DESIGN.md lists
/// them, then `demo`.
const BUILTINS: &[(&str, &str)] = &[
    ("handshake", "SYN, SYN-ACK, ACK; both ESTABLISHED"),
    ("close", "the client closes first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2×MSL, CLOSED; server CLOSE-WAIT, LAST-ACK, CLOSED"),
    ("server-close", "the server closes first: it waits in TIME-WAIT; the client goes CLOSE-WAIT, LAST-ACK"),
    ("half-close", "the client sends FIN; the server keeps sending data, then closes"),
    ("lost-final-ack", "the last ACK is lost; the server retransmits its FIN; the client, in TIME-WAIT, ACKs again and restarts 2×MSL"),
    ("lost-syn", "the SYN is lost once; the client retransmits it after the initial RTO"),
    ("lost-synack", "the SYN-ACK is lost once; retransmission recovers"),
    ("lost-ack", "the handshake's ACK is lost; the server retransmits its SYN-ACK and the client ACKs again"),
    ("simultaneous-open", "both send SYN; SYN-SENT -> SYN-RECEIVED -> ESTABLISHED on both"),
    ("simultaneous-close", "both send FIN; FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both"),
    ("refused", "SYN to a port with no listener gets RST; connect fails as refused"),
    ("reset", "an abort mid-transfer; the peer sees the reset"),
    ("transfer", "100 000 bytes over a lossy link (5% each way), delivered exactly, then closed"),
    ("demo", "handshake, a small request and response, the client closes first, TIME-WAIT for 2×MSL, both CLOSED"),
];

/// The built-in scenarios: `(name, one-line description)`.
pub fn builtin_names() -> &'static [(&'static str, &'static str)] {
    BUILTINS
}

/// The built-in scenario `name`, or `None` if there is none by that name.
pub fn builtin(name: &str) -> Option<Scenario> {
    let description = BUILTINS.iter().find(|(n, _)| *n == name)?.1;
    let story = match name {
        "handshake" => Story::Handshake,
        "close" => Story::Close,
        "server-close" => Story::ServerClose,
        "half-close" => Story::HalfClose,
        "lost-final-ack" => Story::LostFinalAck,
        "lost-syn" => Story::LostSyn,
        "lost-synack" => Story::LostSynAck,
        "lost-ack" => Story::LostAck,
        "simultaneous-open" => Story::SimultaneousOpen,
        "simultaneous-close" => Story::SimultaneousClose,
        "refused" => Story::Refused,
        "reset" => Story::Reset,
        "transfer" => Story::Transfer,
        "demo" => Story::Demo,
        _ => return None,
    };
    let mut sc = Scenario::client_server(name, description, story);
    build(&mut sc, story);
    Some(sc)
}

const NOW: Duration = Duration::ZERO;
const CLIENT_LINK: usize = 0;
const SERVER_LINK: usize = 1;
/// The request and response of `demo`.
const REQUEST: &str = "GET / HTTP/1.0\r\n\r\n";
const RESPONSE: &str = "HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Server: listen on port 80, accept, read everything.
fn server_accepts(sc: &mut Scenario) {
    sc.step("server", When::Previous, NOW, Action::Listen { port: SERVER_PORT, backlog: 8 })
        .step("server", When::Accepted, NOW, Action::Accept)
        .step("server", When::Previous, NOW, Action::Recv);
}

/// Client: connect to the server's port 80 at once.
fn client_connects(sc: &mut Scenario) {
    let to = Target::Host(1, SERVER_PORT);
    sc.step("client", When::At(NOW), NOW, Action::Connect { to, local_port: None });
}

fn drop_rule(matcher: SegMatch, after: Option<SegMatch>) -> RuleSpec {
    RuleSpec { matcher, after, nth: 1, times: 1, action: RuleAction::Drop }
}

fn on_link(link: usize, flags: &str) -> SegMatch {
    SegMatch { link: Some(link), flags: Some(flags.into()), ..SegMatch::default() }
}

/// The close of `close`, `lost-final-ack` and `demo`'s end: the client closes, the
/// server closes 100 ms after the client's FIN.
fn client_closes_first(sc: &mut Scenario, client_when: When, client_delay: Duration) {
    sc.step("client", client_when, client_delay, Action::Close);
    sc.step("server", When::PeerFin, ms(100), Action::Close);
}

fn build(sc: &mut Scenario, story: Story) {
    match story {
        Story::Handshake | Story::LostSyn | Story::LostSynAck | Story::LostAck => {
            server_accepts(sc);
            client_connects(sc);
            let rule = match story {
                Story::LostSyn => Some(on_link(CLIENT_LINK, "S")),
                Story::LostSynAck => Some(on_link(SERVER_LINK, "S.")),
                Story::LostAck => Some(SegMatch { payload: Some(false), ..on_link(CLIENT_LINK, ".") }),
                _ => None,
            };
            if let Some(m) = rule {
                sc.rule(drop_rule(m, None));
            }
        }
        Story::Close | Story::LostFinalAck => {
            server_accepts(sc);
            client_connects(sc);
            client_closes_first(sc, When::Connected, ms(100));
            if story == Story::LostFinalAck {
                // The client's first pure ACK after the server's FIN: its final ACK.
                let ack = SegMatch { payload: Some(false), ..on_link(CLIENT_LINK, ".") };
                let after =
                    SegMatch { link: Some(SERVER_LINK), has: Some("F".into()), ..SegMatch::default() };
                sc.rule(drop_rule(ack, Some(after)));
            }
        }
        Story::ServerClose => {
            server_accepts(sc);
            sc.step("server", When::Previous, ms(100), Action::Close);
            client_connects(sc);
            sc.step("client", When::Previous, NOW, Action::Recv);
            sc.step("client", When::PeerFin, ms(100), Action::Close);
        }
        Story::HalfClose => {
            server_accepts(sc);
            sc.step("server", When::PeerFin, ms(50), Action::Send(Payload::Pattern(4000)));
            sc.step("server", When::Previous, ms(50), Action::Close);
            client_connects(sc);
            sc.step("client", When::Previous, NOW, Action::Recv);
            sc.step("client", When::Connected, ms(100), Action::Shutdown);
        }
        Story::SimultaneousOpen => {
            let c = Action::Connect { to: Target::Host(1, SERVER_PORT), local_port: Some(49152) };
            let s = Action::Connect { to: Target::Host(0, 49152), local_port: Some(SERVER_PORT) };
            sc.step("client", When::At(NOW), NOW, c);
            sc.step("server", When::At(NOW), NOW, s);
        }
        Story::SimultaneousClose => {
            server_accepts(sc);
            client_connects(sc);
            // Both close at 200 ms, but never before their connection is up.
            sc.step("client", When::Connected, NOW, Action::Recv);
            sc.step("client", When::At(ms(200)), NOW, Action::Close);
            sc.step("server", When::At(ms(200)), NOW, Action::Close);
        }
        Story::Refused => client_connects(sc),
        Story::Reset => {
            server_accepts(sc);
            client_connects(sc);
            sc.step("client", When::Connected, NOW, Action::Send(Payload::Pattern(65_536)));
            sc.step("client", When::Previous, ms(15), Action::Abort);
        }
        Story::Transfer => {
            for l in &mut sc.links {
                l.params = LinkParams { loss: 0.05, ..LinkParams::default() };
            }
            server_accepts(sc);
            sc.step("server", When::PeerFin, NOW, Action::Close);
            client_connects(sc);
            sc.step("client", When::Connected, NOW, Action::Send(Payload::Pattern(100_000)));
            sc.step("client", When::Previous, NOW, Action::Close);
        }
        Story::Demo => {
            server_accepts(sc);
            sc.step(
                "server",
                When::Received(REQUEST.len() as u64),
                NOW,
                Action::Send(Payload::Text(RESPONSE.into())),
            );
            client_connects(sc);
            sc.step("client", When::Connected, NOW, Action::Send(Payload::Text(REQUEST.into())));
            sc.step("client", When::Previous, NOW, Action::Recv);
            client_closes_first(sc, When::Received(RESPONSE.len() as u64), NOW);
        }
    }
}
