//! One test per language construct, through the public API.

use synack_drill::ast::{
    CmpOp, Direction, EcnCodepoint, Expr, Guard, IpField, PacketBody, PacketSpec, PyComparison, PyStmt,
    SeqSpec, StateValue, SyscallSpec, TcpFlags, TcpOption, TcpOptions, TcpSegment, TcpState, TimePoint,
    UdpEncap,
};
use synack_drill::{parse_script, EventKind, Script, TimeSpec};

fn parse(src: &str) -> Script {
    match parse_script(src) {
        Ok(s) => s,
        Err(e) => panic!("parse failed at {e}\n--- script ---\n{src}"),
    }
}

/// Parses a one-event script and returns that event's kind.
fn only(src: &str) -> EventKind {
    let s = parse(src);
    assert_eq!(s.events.len(), 1, "{s:#?}");
    s.events.into_iter().next().map(|e| e.kind).expect("one event")
}

fn packet(src: &str) -> PacketSpec {
    match only(src) {
        EventKind::Packet(p) => p,
        other => panic!("not a packet: {other:?}"),
    }
}

fn tcp(src: &str) -> TcpSegment {
    match packet(src).body {
        PacketBody::Tcp(t) => t,
        other => panic!("not TCP: {other:?}"),
    }
}

fn syscall(src: &str) -> SyscallSpec {
    match only(src) {
        EventKind::Syscall(s) => s,
        other => panic!("not a syscall: {other:?}"),
    }
}

fn id(s: &str) -> Expr {
    Expr::Ident(s.into())
}

#[test]
fn header_options_and_comments() {
    let s = parse(
        "// leading comment\n/* block\n   comment */\n--ip_version=ipv4\n--tolerance_usecs=75000 // why\n--verbose\n",
    );
    assert!(s.events.is_empty());
    let names: Vec<_> = s.options.iter().map(|o| (o.line, o.name.as_str())).collect();
    assert_eq!(names, [(4, "ip_version"), (5, "tolerance_usecs"), (6, "verbose")]);
    assert_eq!(s.option("tolerance_usecs").and_then(|o| o.value_u64()), Some(75_000));
    assert_eq!(s.option("verbose").map(|o| o.value.clone()), Some(None));
}

#[test]
fn time_forms() {
    let s = parse(
        "0.100 close(3) = 0\n+0.1 close(3) = 0\n+ 2 close(3) = 0\n0.1~0.2 close(3) = 0\n\
         +0~+0.1 close(3) = 0\n* close(3) = 0\n0.000...0.100 accept(3, ..., ...) = 4\n",
    );
    let times: Vec<TimeSpec> = s.events.iter().map(|e| e.time).collect();
    assert_eq!(
        times,
        [
            TimeSpec::At(TimePoint::absolute(100_000)),
            TimeSpec::At(TimePoint::relative(100_000)),
            TimeSpec::At(TimePoint::relative(2_000_000)),
            TimeSpec::Range { start: TimePoint::absolute(100_000), end: TimePoint::absolute(200_000) },
            TimeSpec::Range { start: TimePoint::relative(0), end: TimePoint::relative(100_000) },
            TimeSpec::Wildcard,
            TimeSpec::Blocking { start: TimePoint::absolute(0), end: TimePoint::absolute(100_000) },
        ]
    );
    let lines: Vec<u32> = s.events.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn tcp_flags_and_sequence() {
    let t = tcp("+0 < S. 0:0(0) ack 1 win 32767\n");
    assert_eq!(t.flags, TcpFlags { syn: true, ack: true, ..TcpFlags::default() });
    assert_eq!(t.seq, SeqSpec::Range { start: 0, end: 0, len: 0 });
    assert_eq!((t.ack, t.win, t.urg, t.options), (Some(1), Some(32767), None, None));

    let t = tcp("+0 > P. 1:1001(1000) ack 1\n");
    assert!(t.flags.psh && t.flags.ack && !t.flags.syn);
    assert_eq!(t.seq.len(), 1000);

    let t = tcp("+0 > SEW 0:0(0) win 65535\n");
    assert!(t.flags.syn && t.flags.ece && t.flags.cwr && !t.flags.ack);
    assert_eq!(tcp("+0 < . 1:1(0) ack 1 win 5\n").flags, TcpFlags { ack: true, ..TcpFlags::default() });
    assert_eq!(tcp("+0 < - 0:0(0) win 5\n").flags, TcpFlags::default());
    assert!(tcp("+0 < U. 1:1 (0) ack 1 urg 3 win 5\n").urg == Some(3));
    // Sequence numbers wrap around 2^32.
    let t = tcp("+0 < . 4294967295:9(10) ack 1\n");
    assert_eq!(t.seq, SeqSpec::Range { start: u32::MAX, end: 9, len: 10 });
}

#[test]
fn wildcard_and_absolute_sequence() {
    let t = tcp("+0 > S. ...(0) ack 65537 win 65535\n");
    assert_eq!(t.seq, SeqSpec::Any { len: 0 });
    assert_eq!(t.seq.start(), None);
    let t = tcp("+0 > R. 0:0(0)! ack 2 win 0\n");
    assert!(t.absolute_seq);
    assert!(!tcp("+0 > R. 0:0(0) ack 2 win 0\n").absolute_seq);
}

#[test]
fn tcp_option_list() {
    let t = tcp(
        "+0 > S 0:0(0) win 65535 <mss 1460,nop,wscale 6,sackOK,TS val 100 ecr 0,sack 1:2 3:4,eol, md5 valid,FO abc>\n",
    );
    let want = vec![
        TcpOption::Mss(1460),
        TcpOption::Nop,
        TcpOption::WindowScale(6),
        TcpOption::SackPermitted,
        TcpOption::Timestamp { val: 100, ecr: 0 },
        TcpOption::Sack(vec![(1, 2), (3, 4)]),
        TcpOption::Eol,
        TcpOption::Md5 { valid: true },
        TcpOption::Unknown { name: "FO".into(), raw: "FO abc".into() },
    ];
    assert_eq!(t.options, Some(TcpOptions::List(want)));
    assert_eq!(tcp("+0 > S. 0:0(0) ack 1 <...>\n").options, Some(TcpOptions::Any));
    assert_eq!(tcp("+0 > S. 0:0(0) ack 1 <>\n").options, Some(TcpOptions::List(vec![])));
}

#[test]
fn ip_prefixes_and_udp_encapsulation() {
    let p = packet("+0 < [ect0] (tos 0x2, ttl 64) . 1:1(0) ack 1 win 5 <nop,nop,md5 valid>/udp(1 > 9811)\n");
    assert_eq!(p.direction, Direction::Inbound);
    assert_eq!(p.ecn, Some(EcnCodepoint::Ect0));
    assert_eq!(p.ip_fields, [IpField::Tos(2), IpField::Ttl(64)]);
    let PacketBody::Tcp(t) = p.body else { panic!("not tcp") };
    assert_eq!(t.udp_encap, Some(UdpEncap { src_port: 1, dst_port: 9811 }));

    let p = packet("+0 >[noecn] (hlim 5) (class 0xe0) P. 1:11(10) ack 1\n");
    assert_eq!(p.direction, Direction::Outbound);
    assert_eq!(p.ecn, Some(EcnCodepoint::NotEct));
    assert_eq!(p.ip_fields, [IpField::HopLimit(5), IpField::TrafficClass(0xe0)]);
}

#[test]
fn icmp_and_unsupported_protocols() {
    let p = packet("0.250 < [1:14601(14600)] icmp unreachable frag_needed mtu 1500\n");
    let PacketBody::Icmp(i) = p.body else { panic!("not icmp") };
    assert_eq!(i.type_name, "unreachable");
    assert_eq!(i.code_name.as_deref(), Some("frag_needed"));
    assert_eq!(i.mtu, Some(1500));
    assert_eq!(i.quoted_seq, Some(SeqSpec::Range { start: 1, end: 14601, len: 14600 }));

    let p = packet("0.3 < icmp echo_request\n");
    let PacketBody::Icmp(i) = p.body else { panic!("not icmp") };
    assert_eq!((i.type_name.as_str(), i.code_name, i.mtu), ("echo_request", None, None));

    let p = packet("+0 < udp (1472)\n");
    let PacketBody::Unsupported(u) = p.body else { panic!("not unsupported") };
    assert_eq!((u.protocol.as_str(), u.raw.as_str()), ("udp", "(1472)"));
}

#[test]
fn syscall_arguments() {
    let s = syscall("+0 fcntl(3, F_SETFL, O_RDWR | O_NONBLOCK) = 0\n");
    assert_eq!(s.name, "fcntl");
    assert_eq!(s.args, [Expr::Int(3), id("F_SETFL"), Expr::BitOr(vec![id("O_RDWR"), id("O_NONBLOCK")])]);
    assert_eq!(s.ret.value, Expr::Int(0));

    let s = syscall("+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0\n");
    assert_eq!(s.args[3], Expr::Array(vec![id("ECONNRESET")]));

    let s = syscall(
        "+0 connect(3, {sin_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0\n",
    );
    let field = |name: &str, value: Expr| Expr::Field { name: name.into(), value: Box::new(value) };
    let call = |name: &str, arg: Expr| Expr::Call { name: name.into(), args: vec![arg] };
    assert_eq!(
        s.args[1],
        Expr::Struct(vec![
            field("sin_family", id("AF_INET")),
            field("sin_port", call("htons", Expr::Int(8080))),
            field("sin_addr", call("inet_addr", Expr::Str("192.0.2.1".into()))),
        ])
    );
    let s = syscall("+0 write (4, \"a\\\"b\\n\", 4) = 4\n");
    assert_eq!(s.args[1], Expr::Str("a\"b\n".into()));
    assert_eq!(syscall("+0 getpid() = 0x1F\n").ret.value, Expr::Int(31));
}

#[test]
fn syscall_return_forms() {
    let s = syscall("+0 connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)\n");
    assert_eq!(s.args, [Expr::Int(3), Expr::Ellipsis, Expr::Ellipsis]);
    assert_eq!(s.ret.value.as_int(), Some(-1));
    assert_eq!(s.ret.errno.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(s.ret.note.as_deref(), Some("Connection refused"));

    let s = syscall("+0 fcntl(3, F_GETFL) = 0x02 (flags O_RDWR)\n");
    assert_eq!(
        (s.ret.value.as_int(), s.ret.errno, s.ret.note.as_deref()),
        (Some(2), None, Some("flags O_RDWR"))
    );
    // A comment glued to the value.
    assert_eq!(syscall("+0 close(3) = 0// done\n").ret.value, Expr::Int(0));
}

#[test]
fn multiline_syscall_arguments() {
    let s = parse(
        "+0 setsockopt(3, SOL_SOCKET,\n    SO_LINGER, {l_onoff=1,\n l_linger=0}, 8) = 0\n+0 close(3) = 0\n",
    );
    assert_eq!(s.events.len(), 2);
    assert_eq!((s.events[0].line, s.events[0].end_line), (1, 3));
    assert_eq!(s.events[1].line, 4);
}

#[test]
fn python_blocks() {
    let EventKind::Python(b) = only("+0 %{ assert tcpi_state == TCPI_ESTABLISHED }%\n") else {
        panic!("not python")
    };
    let states: Vec<_> = b.state_assertions().collect();
    assert_eq!(states, [(CmpOp::Eq, &StateValue::Named(TcpState::Established))]);

    let EventKind::Python(b) = only("+0 %{ assert tcpi_state == 2 }%\n") else { panic!() };
    assert_eq!(b.state_assertions().next(), Some((CmpOp::Eq, &StateValue::Number(2))));
    assert_eq!(TcpState::from_freebsd_number(2), Some(TcpState::SynSent));

    let s = parse("+0 %{\nassert tcpi_rto == 3000000\nprint(tcpi_rto)\n}%\n+0 close(3) = 0\n");
    let EventKind::Python(b) = &s.events[0].kind else { panic!() };
    assert_eq!((s.events[0].line, s.events[0].end_line, s.events[1].line), (1, 4, 5));
    assert!(
        matches!(&b.statements[0], PyStmt::Assert(c) if matches!(&c[0], PyComparison::Field { field, .. } if field == "tcpi_rto"))
    );
    assert_eq!(b.statements[1], PyStmt::Raw("print(tcpi_rto)".into()));
    assert!(!b.fully_recognised());
}

#[test]
fn shell_commands_and_sysctl_helper() {
    let s = parse(
        "   `kldload x; echo 'a\n   b' | setkey -c`\n 0.00 `sysctl -w net.inet.tcp.sack.enable=1`\n\
         +0 `sysctl -q a.b=1 c.d=x && sysctl -n e.f; ls`\n+0 `sockstat -4 -P tcp -s -p 8080 | grep -c SYN_RCVD | grep 1`\n",
    );
    let shells: Vec<_> = s
        .events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Shell(c) => (e.line, e.end_line, e.time, c.clone()),
            other => panic!("not shell: {other:?}"),
        })
        .collect();
    assert_eq!((shells[0].0, shells[0].1, shells[0].2), (1, 2, TimeSpec::Unspecified));
    assert_eq!(shells[0].3.raw, "kldload x; echo 'a\n   b' | setkey -c");
    assert!(shells[0].3.sysctl_settings().is_empty());

    let set = shells[1].3.sysctl_settings();
    assert_eq!(set.len(), 1);
    assert_eq!((set[0].name.as_str(), set[0].value_i64()), ("net.inet.tcp.sack.enable", Some(1)));
    assert!(shells[1].3.is_only_sysctl());

    let names: Vec<_> = shells[2].3.sysctl_settings().into_iter().map(|s| (s.name, s.value)).collect();
    assert_eq!(names, [("a.b".into(), "1".into()), ("c.d".into(), "x".into())]);
    assert!(!shells[2].3.is_only_sysctl());

    let check = shells[3].3.sockstat_check().expect("sockstat recognised");
    assert_eq!((check.state.as_str(), check.count, check.port), ("SYN_RCVD", Some(1), Some(8080)));
}

#[test]
fn conditional_sections() {
    let s = parse(
        "+0 close(1) = 0\n#ifdef FreeBSD\n+0 close(2) = 0\n#else\n+0 close(3) = 0\n#endif\n\
         #ifndef Linux\n+0 close(4) = 0\n#endif\n",
    );
    let guards: Vec<&[Guard]> = s.events.iter().map(|e| e.guards.as_slice()).collect();
    let g = |sym: &str, d: bool| Guard { symbol: sym.into(), when_defined: d };
    assert_eq!(
        guards,
        [&[][..], &[g("FreeBSD", true)][..], &[g("FreeBSD", false)][..], &[g("Linux", false)][..]]
    );
    let active: Vec<u32> = s.active_events(&["FreeBSD"]).map(|e| e.line).collect();
    assert_eq!(active, [1, 3, 8]);
    let active: Vec<u32> = s.active_events(&["Linux"]).map(|e| e.line).collect();
    assert_eq!(active, [1, 5]);
}

#[test]
fn commented_out_events_are_ignored() {
    let s = parse("/* 0.300 %{ assert tcpi_snd_cwnd == 7 }% */\n// 0.1 close(3) = 0\n0.2 close(3) = 0\n");
    assert_eq!(s.events.len(), 1);
    assert_eq!(s.events[0].line, 3);
}

#[test]
fn crlf_line_endings() {
    let s = parse("--mtu=1500\r\n0.1 close(3) = 0\r\n+0 > . 1:1(0) ack 1\r\n");
    assert_eq!(s.option("mtu").and_then(|o| o.value_u64()), Some(1500));
    assert_eq!(s.events.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3]);
}
