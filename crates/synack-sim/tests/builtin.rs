//! The built-in scenarios: each passes its own check, runs are reproducible, options
//! override and are validated, bounds end runaway runs with an error.

mod common;

use common::*;
use synack::Duration;
use synack_sim::{builtin, builtin_names, run, SimError, SimOptions};
use synack_viz::{jsonl, Event, Seg};

#[test]
fn the_builtins_are_the_scenarios_of_the_design_plus_demo() {
    assert_eq!(
        names(),
        vec![
            "handshake",
            "close",
            "server-close",
            "half-close",
            "lost-final-ack",
            "lost-syn",
            "lost-synack",
            "lost-ack",
            "simultaneous-open",
            "simultaneous-close",
            "refused",
            "reset",
            "transfer",
            "demo"
        ]
    );
    for (name, description) in builtin_names() {
        let sc = scenario(name);
        assert_eq!(sc.name(), *name);
        assert_eq!(sc.description(), *description);
        assert!(!description.is_empty() && !description.contains('\n'));
        assert_eq!(sc.host_names(), vec!["client", "server"]);
    }
    assert!(builtin("no-such-scenario").is_none());
}

#[test]
fn every_builtin_passes_its_check_with_the_default_seed() {
    for name in names() {
        let r = run_default(name);
        assert_eq!(r.check, Ok(()), "{name}");
        for h in &r.hosts {
            assert!(h.unfinished_steps.is_empty(), "{name}: {}: {:?}", h.name, h.unfinished_steps);
        }
    }
}

#[test]
fn every_builtin_passes_its_check_with_other_seeds() {
    for name in names() {
        for seed in 2..=12 {
            let r = run_with(name, &SimOptions { seed, ..SimOptions::default() });
            assert_eq!(r.check, Ok(()), "{name} seed {seed}");
        }
    }
}

#[test]
fn the_same_seed_gives_byte_identical_json() {
    for name in names() {
        for seed in [1, 99] {
            let opts = SimOptions {
                seed,
                loss: Some(0.05),
                jitter: Some(Duration::from_millis(3)),
                ..SimOptions::default()
            };
            let a = jsonl::to_jsonl_string(&run_with(name, &opts).trace);
            let b = jsonl::to_jsonl_string(&run_with(name, &opts).trace);
            assert_eq!(a, b, "{name} seed {seed}");
            assert!(!a.is_empty());
        }
    }
}

#[test]
fn different_seeds_under_loss_give_different_traces() {
    let opts = |seed| SimOptions { seed, loss: Some(0.1), ..SimOptions::default() };
    let a = run_with("transfer", &opts(1));
    let b = run_with("transfer", &opts(2));
    assert_ne!(jsonl::to_jsonl_string(&a.trace), jsonl::to_jsonl_string(&b.trace));
    let drops = |r: &synack_sim::SimResult| r.trace.iter().filter(|l| l.ev() == "drop").count();
    assert!(drops(&a) > 0 && drops(&b) > 0);
}

#[test]
fn the_trace_is_in_time_order_and_every_datagram_is_identified() {
    for name in names() {
        let r = run_default(name);
        assert!(r.trace.windows(2).all(|w| w[0].t_us <= w[1].t_us), "{name}: out of order");
        let mut ids = Vec::new();
        for line in &r.trace {
            match &line.event {
                Event::Send(s) => {
                    let id = s.packet_id.unwrap_or_else(|| panic!("{name}: send without packet id"));
                    let bytes = s.packet.as_deref().unwrap_or_else(|| panic!("{name}: send without bytes"));
                    let parsed = Seg::from_ip_packet(bytes).expect("the datagram parses");
                    assert!(parsed.same_as(&s.seg), "{name}: bytes and seg differ");
                    assert!(!ids.contains(&id), "{name}: packet id {id} reused");
                    ids.push(id);
                }
                Event::Unknown { debug, .. } => panic!("{name}: unknown core event {debug}"),
                _ => {
                    if let Some((_, ev)) = line.link_event() {
                        let id = ev.packet_id.expect("link event without packet id");
                        assert!(ids.contains(&id), "{name}: link event for unsent packet {id}");
                        assert!(ev.link == "client->server" || ev.link == "server->client", "{}", ev.link);
                    }
                }
            }
        }
        // Only the built-in addresses appear.
        for line in &r.trace {
            if let Some(seg) = line.seg() {
                for ip in [seg.src_ip(), seg.dst_ip()] {
                    assert!(ip == "192.0.2.1" || ip == "192.0.2.2", "{name}: address {ip}");
                }
                assert!(seg.src.ends_with(":80") || seg.dst.ends_with(":80"), "{name}: {seg:?}");
            }
        }
    }
}

#[test]
fn every_delivered_datagram_has_a_deliver_line_before_its_recv() {
    let r = run_default("close");
    for (i, line) in r.trace.iter().enumerate() {
        if let Event::Recv(rv) = &line.event {
            let before = &r.trace[..i];
            assert!(
                before
                    .iter()
                    .rev()
                    .any(|l| l.ev() == "deliver" && l.seg().is_some_and(|s| s.same_as(&rv.seg))),
                "recv without deliver at {}",
                line.t_us
            );
        }
    }
}

#[test]
fn transfer_is_byte_exact_under_loss() {
    for loss in [0.0, 0.02, 0.1, 0.2] {
        for seed in 1..=4 {
            let r = run_with("transfer", &SimOptions { seed, loss: Some(loss), ..SimOptions::default() });
            assert_eq!(r.check, Ok(()), "loss {loss} seed {seed}");
            let (c, s) = (r.host("client").expect("client"), r.host("server").expect("server"));
            assert_eq!(c.bytes_sent, 100_000);
            assert_eq!(s.bytes_received, 100_000);
            assert_eq!(s.received_hash, c.sent_hash);
            assert!(s.eof);
        }
    }
    let lossy = run_default("transfer");
    assert!(lossy.trace.iter().any(|l| l.ev() == "drop"), "the default transfer shows a loss");
    assert!(lossy.trace.iter().any(|l| matches!(&l.event, Event::Send(s) if s.retransmit)));
}

#[test]
fn transfer_survives_duplication_reordering_and_jitter() {
    let opts = SimOptions {
        dup: Some(0.05),
        reorder: Some(0.05),
        jitter: Some(Duration::from_millis(4)),
        ..SimOptions::default()
    };
    let r = run_with("transfer", &opts);
    assert_eq!(r.check, Ok(()));
    assert!(r.trace.iter().any(|l| l.ev() == "dup"));
}

#[test]
fn msl_and_delay_overrides_keep_the_stories() {
    let opts = SimOptions { msl: Some(Duration::from_secs(2)), ..SimOptions::default() };
    let r = run_with("close", &opts);
    assert_eq!(r.check, Ok(()));
    let tw_closed = r
        .trace
        .iter()
        .find(|l| matches!(&l.event, Event::State(s) if s.host == "client" && s.from == "TIME-WAIT"))
        .expect("TIME-WAIT ends");
    let tw_entered = r
        .trace
        .iter()
        .find(|l| matches!(&l.event, Event::State(s) if s.host == "client" && s.to == "TIME-WAIT"))
        .expect("TIME-WAIT starts");
    assert_eq!(tw_closed.t_us - tw_entered.t_us, 4_000_000, "2×MSL with MSL = 2 s");
    for name in ["handshake", "close", "server-close", "half-close", "lost-final-ack", "lost-syn", "demo"] {
        for delay in [1, 50, 80] {
            let opts = SimOptions { delay: Some(Duration::from_millis(delay)), ..SimOptions::default() };
            assert_eq!(run_with(name, &opts).check, Ok(()), "{name} delay {delay} ms");
        }
    }
}

#[test]
fn the_handshake_story_holds_under_loss() {
    for name in ["handshake", "lost-syn", "lost-synack", "lost-ack"] {
        for seed in 1..=8 {
            let r = run_with(name, &SimOptions { seed, loss: Some(0.2), ..SimOptions::default() });
            assert_eq!(r.check, Ok(()), "{name} seed {seed}");
        }
    }
}

#[test]
fn heavy_loss_makes_checks_fail_with_what_differed() {
    let mut failures = 0;
    for seed in 1..=5 {
        let r = run_with("close", &SimOptions { seed, loss: Some(0.6), ..SimOptions::default() });
        if let Err(diffs) = &r.check {
            failures += 1;
            assert!(!diffs.is_empty());
            for d in diffs {
                assert!(!d.contains('\n'), "{d}");
                assert!(
                    d.starts_with("client") || d.starts_with("server") || d.starts_with("Figure 5"),
                    "{d}"
                );
            }
        }
    }
    assert!(failures > 0, "60% loss should break the textbook close at least once");
}

#[test]
fn bad_options_are_typed_errors() {
    let sc = scenario("close");
    for (opts, name) in [
        (SimOptions { loss: Some(1.01), ..SimOptions::default() }, "loss"),
        (SimOptions { dup: Some(-1.0), ..SimOptions::default() }, "dup"),
        (SimOptions { reorder: Some(f64::INFINITY), ..SimOptions::default() }, "reorder"),
        (SimOptions { msl: Some(Duration::ZERO), ..SimOptions::default() }, "msl"),
    ] {
        match run(&sc, &opts) {
            Err(SimError::InvalidOption { option, .. }) => assert_eq!(option, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn bounds_end_the_run_with_an_error() {
    let sc = scenario("close");
    let few = SimOptions { max_events: Some(10), ..SimOptions::default() };
    assert!(matches!(run(&sc, &few), Err(SimError::EventLimit { limit: 10, .. })));
    let short = SimOptions { max_time: Some(Duration::from_secs(1)), ..SimOptions::default() };
    let err = run(&sc, &short).expect_err("TIME-WAIT lasts a minute");
    assert!(matches!(err, SimError::TimeLimit { limit_us: 1_000_000, .. }), "{err}");
    assert!(err.to_string().contains("virtual time"));
}

#[test]
fn corrupted_datagrams_are_counted_and_dropped_by_the_receiver() {
    // Every datagram on the way to the server is damaged: the handshake never completes,
    // and the server's stack counts each SYN as a checksum failure.
    let text = r#"
        [[host]]
        name = "client"
        [[host]]
        name = "server"
        [[link]]
        link = "client->server"
        corrupt = 1.0
        [[step]]
        host = "server"
        call = "listen"
        port = 80
        [[step]]
        host = "client"
        call = "connect"
        to = "server:80"
    "#;
    let sc = synack_sim::Scenario::from_toml_str(text).expect("valid");
    let r = run(&sc, &SimOptions::default()).expect("ends");
    let server = r.host("server").expect("server");
    let corrupt = r.trace.iter().filter(|l| l.ev() == "corrupt").count() as u64;
    assert!(corrupt >= 2);
    assert_eq!(server.stats.bad_checksum, corrupt);
    assert!(!r.trace.iter().any(|l| matches!(&l.event, Event::Recv(rv) if rv.host == "server")));
    assert_eq!(
        r.host("client").and_then(|c| c.final_state()),
        Some(synack::State::Closed),
        "SYN retries give up"
    );
}
