//! Core behaviour the simulator exposed that disagrees with RFC 9293 or with the trace
//! contract, kept as regression tests now that the core is fixed.

use synack_sim::{figure5, run, Scenario, SimOptions};
use synack_viz::Event;

/// Every SYN-ACK is lost: the server's embryonic connection gives up after its SYN-ACK
/// retries. RFC 9293 3.10.7.4 (and note 1 of Figure 5) returns such a connection to
/// LISTEN ("The user need not be informed"), but the trace, "the single source for logs,
/// diagrams, JSON", must still show that the TCB left SYN-RECEIVED.
const SYN_ACKS_LOST: &str = r#"
[[host]]
name = "client"
[[host]]
name = "server"
[[rule]]
link = "server->client"
flags = "S."
times = 0
action = "drop"
[[step]]
host = "server"
call = "listen"
port = 80
[[step]]
host = "client"
call = "connect"
to = "server:80"
"#;

#[test]

fn a_discarded_embryonic_connection_leaves_syn_received_in_the_trace() {
    let sc = Scenario::from_toml_str(SYN_ACKS_LOST).expect("valid");
    let r = run(&sc, &SimOptions::default()).expect("ends");
    assert_eq!(figure5::validate(&r.trace), Ok(()));
    let server = r.host("server").expect("server");
    let embryo = server.final_states.iter().find(|(c, _)| !c.ends_with("-0.0.0.0:0")).expect("an embryo");
    assert_ne!(
        embryo.1,
        synack::State::SynReceived,
        "{embryo:?}: the run ended with it still in SYN-RECEIVED"
    );
    let left = r
        .trace
        .iter()
        .any(|l| matches!(&l.event, Event::State(s) if s.host == "server" && s.from == "SYN-RECEIVED"));
    assert!(left, "no state line leaves SYN-RECEIVED");
}
