//! The JSON Lines trace: the exact field names and values of DESIGN.md "The trace" for
//! every event kind, the round trip, and typed errors that name the bad line.

mod common;

use common::*;
use std::net::SocketAddr;
use synack::wire::{TcpFlags, TcpOptions, Timestamps};
use synack::{
    AppCall, FourTuple, Instant, SegmentSummary, State, TimerAction, TimerKind, TraceEvent, TraceRecord,
};
use synack_viz::{jsonl, parse_jsonl, to_jsonl_string, write_jsonl, Event, JsonlError, TraceLine};

fn json(line: &TraceLine) -> String {
    jsonl::to_json(line).expect("serializable line")
}

#[test]
fn state_line_has_host_conn_from_to() {
    assert_eq!(
        json(&state(1_500, "server", LISTENER, "CLOSED", "LISTEN")),
        r#"{"t_us":1500,"ev":"state","host":"server","conn":"10.0.0.2:80-0.0.0.0:0","from":"CLOSED","to":"LISTEN"}"#
    );
}

#[test]
fn send_line_has_seg_and_retransmit_but_never_the_packet() {
    let line = send(0, "client", C_CONN, seg(C, S, "S", 100, 0, 0), true)
        .with_packet_id(7)
        .with_packet(vec![1, 2, 3]);
    assert_eq!(
        json(&line),
        r#"{"t_us":0,"ev":"send","host":"client","conn":"10.0.0.1:49152-10.0.0.2:80","seg":{"src":"10.0.0.1:49152","dst":"10.0.0.2:80","flags":"S","seq":100,"ack":0,"len":0,"win":65535,"opts":["mss 1460"]},"retransmit":true}"#
    );
}

#[test]
fn recv_line_has_host_conn_seg() {
    assert_eq!(
        json(&recv(10_000, "server", S_CONN, seg(C, S, "P.", 4_294_967_295, 301, 5))),
        r#"{"t_us":10000,"ev":"recv","host":"server","conn":"10.0.0.2:80-10.0.0.1:49152","seg":{"src":"10.0.0.1:49152","dst":"10.0.0.2:80","flags":"P.","seq":4294967295,"ack":301,"len":5,"win":65535,"opts":[]}}"#
    );
}

#[test]
fn link_lines_have_link_and_seg_under_their_own_ev() {
    let s = seg(S, C, "F.", 301, 102, 0);
    let body = r#""link":"server->client","seg":{"src":"10.0.0.2:80","dst":"10.0.0.1:49152","flags":"F.","seq":301,"ack":102,"len":0,"win":65535,"opts":[]}}"#;
    let cases = [
        (TraceLine::drop(5, "server->client", s.clone()).with_packet_id(3), "drop"),
        (TraceLine::dup(5, "server->client", s.clone()), "dup"),
        (TraceLine::corrupt(5, "server->client", s.clone()), "corrupt"),
        (TraceLine::deliver(5, "server->client", s), "deliver"),
    ];
    for (line, ev) in cases {
        assert_eq!(json(&line), format!(r#"{{"t_us":5,"ev":"{ev}",{body}"#));
    }
}

#[test]
fn app_line_has_host_conn_call_bytes() {
    assert_eq!(
        json(&app(42, "client", C_CONN, "send", 1_000)),
        r#"{"t_us":42,"ev":"app","host":"client","conn":"10.0.0.1:49152-10.0.0.2:80","call":"send","bytes":1000}"#
    );
}

#[test]
fn timer_line_has_host_conn_timer_action_at_us() {
    assert_eq!(
        json(&timer(1_310_500, "client", C_CONN, "time-wait", "set", 61_310_500)),
        r#"{"t_us":1310500,"ev":"timer","host":"client","conn":"10.0.0.1:49152-10.0.0.2:80","timer":"time-wait","action":"set","at_us":61310500}"#
    );
}

fn tuple(local: &str, remote: &str) -> FourTuple {
    FourTuple { local: local.parse().expect("local"), remote: remote.parse().expect("remote") }
}

fn summary(src: &str, dst: &str, flags: TcpFlags, opts: TcpOptions) -> SegmentSummary {
    let src: SocketAddr = src.parse().expect("src");
    let dst: SocketAddr = dst.parse().expect("dst");
    SegmentSummary { src, dst, flags, seq: 300, ack: 101, len: 0, win: 29200, opts }
}

#[test]
fn core_records_become_contract_lines() {
    let conn = tuple(S, C);
    let mut mss = TcpOptions::NONE;
    mss.mss = Some(1460);
    let synack = summary(S, C, TcpFlags::SYN | TcpFlags::ACK, mss);
    let rec = |t: u64, ev: TraceEvent| TraceRecord { t: Instant::from_micros(t), ev };
    let cases = [
        (
            rec(10_000, TraceEvent::State { conn, from: State::Listen, to: State::SynReceived }),
            r#"{"t_us":10000,"ev":"state","host":"server","conn":"10.0.0.2:80-10.0.0.1:49152","from":"LISTEN","to":"SYN-RECEIVED"}"#,
        ),
        (
            rec(10_000, TraceEvent::Send { conn, seg: synack, retransmit: false }),
            r#"{"t_us":10000,"ev":"send","host":"server","conn":"10.0.0.2:80-10.0.0.1:49152","seg":{"src":"10.0.0.2:80","dst":"10.0.0.1:49152","flags":"S.","seq":300,"ack":101,"len":0,"win":29200,"opts":["mss 1460"]},"retransmit":false}"#,
        ),
        (
            rec(9_000, TraceEvent::Recv { conn, seg: synack }),
            r#"{"t_us":9000,"ev":"recv","host":"server","conn":"10.0.0.2:80-10.0.0.1:49152","seg":{"src":"10.0.0.2:80","dst":"10.0.0.1:49152","flags":"S.","seq":300,"ack":101,"len":0,"win":29200,"opts":["mss 1460"]}}"#,
        ),
        (
            rec(
                0,
                TraceEvent::App {
                    conn: FourTuple::listener(S.parse().expect("addr")),
                    call: AppCall::Listen,
                    bytes: 0,
                },
            ),
            r#"{"t_us":0,"ev":"app","host":"server","conn":"10.0.0.2:80-0.0.0.0:0","call":"listen","bytes":0}"#,
        ),
        (
            rec(
                1,
                TraceEvent::Timer {
                    conn,
                    timer: TimerKind::DelayedAck,
                    action: TimerAction::Cancel,
                    at: Instant::from_millis(40),
                },
            ),
            r#"{"t_us":1,"ev":"timer","host":"server","conn":"10.0.0.2:80-10.0.0.1:49152","timer":"delayed-ack","action":"cancel","at_us":40000}"#,
        ),
    ];
    for (rec, want) in cases {
        assert_eq!(json(&TraceLine::from_core("server", &rec)), want);
    }
}

#[test]
fn core_options_print_as_the_core_formats_them() {
    let mut o = TcpOptions::NONE;
    o.mss = Some(1460);
    o.sack_permitted = true;
    o.window_scale = Some(7);
    o.timestamps = Some(Timestamps { val: 1, ecr: 0 });
    let s = summary("[2001:db8::2]:443", "[2001:db8::1]:40000", TcpFlags::SYN, o);
    let conn = tuple("[2001:db8::2]:443", "[2001:db8::1]:40000");
    let rec = TraceRecord { t: Instant::ZERO, ev: TraceEvent::Send { conn, seg: s, retransmit: false } };
    let line = TraceLine::from_core("server", &rec);
    let Event::Send(send) = &line.event else { panic!("not a send line: {line:?}") };
    assert_eq!(send.seg.opts, o.to_tcpdump_strings());
    assert!(send.seg.opts.iter().any(|x| x == "wscale 7"));
    assert_eq!(send.seg.src, "[2001:db8::2]:443");
    assert_eq!(send.seg.flags, "S");
    assert_eq!(send.conn, "[2001:db8::2]:443-[2001:db8::1]:40000");
}

#[test]
fn a_trace_round_trips_through_json_lines() {
    let lines = with_packets(lossy_handshake_and_close());
    let mut buf = Vec::new();
    write_jsonl(&mut buf, &lines).expect("write");
    let text = String::from_utf8(buf).expect("utf-8");
    assert_eq!(text, to_jsonl_string(&lines));
    assert_eq!(text.lines().count(), lines.len());
    assert!(text.ends_with("}\n"));
    let back = parse_jsonl(&text).expect("read back");
    let mut stripped = lines.clone();
    stripped.iter_mut().for_each(TraceLine::strip_packet_data);
    assert_ne!(stripped, lines, "the packets were in memory only");
    assert_eq!(back, stripped);
    // Every line starts with t_us then ev, in time order as given.
    for (l, text) in back.iter().zip(text.lines()) {
        assert!(text.starts_with(&format!(r#"{{"t_us":{},"ev":"{}","#, l.t_us, l.ev())), "{text}");
    }
}

#[test]
fn unknown_core_events_are_not_written() {
    let lines = vec![
        TraceLine::new(0, Event::Unknown { host: "client".into(), debug: "Something".into() }),
        state(1, "client", C_CONN, "CLOSED", "SYN-SENT"),
    ];
    let text = to_jsonl_string(&lines);
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains(r#""ev":"state""#));
}

#[test]
fn reading_skips_blank_lines_and_names_the_bad_one() {
    let good = json(&app(0, "client", C_CONN, "connect", 0));
    let text = format!("{good}\n\n{good}\n{{\"t_us\":5,\"ev\":\"teleport\",\"host\":\"x\"}}\n");
    let err = parse_jsonl(&text).expect_err("unknown ev");
    assert!(matches!(err, JsonlError::Parse { line: 4, .. }), "{err:?}");
    assert!(err.to_string().starts_with("line 4: "), "{err}");

    let missing = r#"{"t_us":5,"ev":"state","host":"x","conn":"c","from":"CLOSED"}"#;
    let err = parse_jsonl(&format!("{good}\n{missing}")).expect_err("missing field");
    assert_eq!(err.line(), 2);

    let err = parse_jsonl("{\"t_us\":-1,\"ev\":\"app\"").expect_err("garbage");
    assert_eq!(err.line(), 1);

    assert_eq!(parse_jsonl(&format!("{good}\n\n")).expect("blank lines").len(), 1);
}

#[test]
fn reading_rejects_out_of_range_numbers() {
    let big_seq = r#"{"t_us":0,"ev":"recv","host":"h","conn":"c","seg":{"src":"a:1","dst":"b:2","flags":".","seq":4294967296,"ack":0,"len":0,"win":0,"opts":[]}}"#;
    assert!(parse_jsonl(big_seq).is_err());
}
