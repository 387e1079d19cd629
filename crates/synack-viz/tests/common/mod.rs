//! A hand-built trace shared by the tests: handshake whose final ACK is lost (the
//! server's SYN-ACK is retransmitted), then the client closes first and waits 2×MSL.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use synack::wire::{emit, TcpFlags, TcpHeader, TcpOptions};
use synack::SeqNum;
use synack_viz::{AppEvent, Event, RecvEvent, Seg, SendEvent, StateEvent, TimerEvent, TraceLine};

pub const C: &str = "10.0.0.1:49152";
pub const S: &str = "10.0.0.2:80";
pub const C_CONN: &str = "10.0.0.1:49152-10.0.0.2:80";
pub const S_CONN: &str = "10.0.0.2:80-10.0.0.1:49152";
pub const LISTENER: &str = "10.0.0.2:80-0.0.0.0:0";

pub fn seg(src: &str, dst: &str, flags: &str, seq: u32, ack: u32, len: u32) -> Seg {
    let opts = if flags.contains('S') { vec!["mss 1460".to_string()] } else { vec![] };
    Seg { src: src.into(), dst: dst.into(), flags: flags.into(), seq, ack, len, win: 65535, opts }
}

pub fn state(t_us: u64, host: &str, conn: &str, from: &str, to: &str) -> TraceLine {
    TraceLine::new(
        t_us,
        Event::State(StateEvent { host: host.into(), conn: conn.into(), from: from.into(), to: to.into() }),
    )
}

pub fn send(t_us: u64, host: &str, conn: &str, seg: Seg, retransmit: bool) -> TraceLine {
    TraceLine::new(
        t_us,
        Event::Send(SendEvent {
            host: host.into(),
            conn: conn.into(),
            seg,
            retransmit,
            packet_id: None,
            packet: None,
        }),
    )
}

pub fn recv(t_us: u64, host: &str, conn: &str, seg: Seg) -> TraceLine {
    TraceLine::new(t_us, Event::Recv(RecvEvent { host: host.into(), conn: conn.into(), seg }))
}

pub fn app(t_us: u64, host: &str, conn: &str, call: &str, bytes: u64) -> TraceLine {
    TraceLine::new(
        t_us,
        Event::App(AppEvent { host: host.into(), conn: conn.into(), call: call.into(), bytes }),
    )
}

pub fn timer(t_us: u64, host: &str, conn: &str, timer: &str, action: &str, at_us: u64) -> TraceLine {
    TraceLine::new(
        t_us,
        Event::Timer(TimerEvent {
            host: host.into(),
            conn: conn.into(),
            timer: timer.into(),
            action: action.into(),
            at_us,
        }),
    )
}

/// Client->server takes 10 ms, server->client 10.5 ms. The client's ACK of the SYN-ACK
/// is lost; the server retransmits its SYN-ACK after 1 s.
pub fn lossy_handshake_and_close() -> Vec<TraceLine> {
    let syn = seg(C, S, "S", 100, 0, 0);
    let synack = seg(S, C, "S.", 300, 101, 0);
    let ack = seg(C, S, ".", 101, 301, 0);
    let fin = seg(C, S, "F.", 101, 301, 0);
    let fin_ack = seg(S, C, ".", 301, 102, 0);
    let sfin = seg(S, C, "F.", 301, 102, 0);
    let last = seg(C, S, ".", 102, 302, 0);
    vec![
        app(0, "server", LISTENER, "listen", 0),
        state(0, "server", LISTENER, "CLOSED", "LISTEN"),
        app(0, "client", C_CONN, "connect", 0),
        state(0, "client", C_CONN, "CLOSED", "SYN-SENT"),
        send(0, "client", C_CONN, syn.clone(), false).with_packet_id(1),
        timer(0, "client", C_CONN, "syn", "set", 1_000_000),
        TraceLine::deliver(10_000, "client->server", syn.clone()).with_packet_id(1),
        recv(10_000, "server", S_CONN, syn),
        state(10_000, "server", S_CONN, "LISTEN", "SYN-RECEIVED"),
        send(10_000, "server", S_CONN, synack.clone(), false).with_packet_id(2),
        timer(10_000, "server", S_CONN, "syn", "set", 1_010_000),
        recv(20_500, "client", C_CONN, synack.clone()),
        timer(20_500, "client", C_CONN, "syn", "cancel", 1_000_000),
        state(20_500, "client", C_CONN, "SYN-SENT", "ESTABLISHED"),
        send(20_500, "client", C_CONN, ack.clone(), false).with_packet_id(3),
        TraceLine::drop(20_500, "client->server", ack.clone()).with_packet_id(3),
        timer(1_010_000, "server", S_CONN, "syn", "fire", 1_010_000),
        send(1_010_000, "server", S_CONN, synack.clone(), true).with_packet_id(4),
        recv(1_020_500, "client", C_CONN, synack),
        send(1_020_500, "client", C_CONN, ack.clone(), false).with_packet_id(5),
        recv(1_030_500, "server", S_CONN, ack),
        state(1_030_500, "server", S_CONN, "SYN-RECEIVED", "ESTABLISHED"),
        app(1_100_000, "client", C_CONN, "close", 0),
        state(1_100_000, "client", C_CONN, "ESTABLISHED", "FIN-WAIT-1"),
        send(1_100_000, "client", C_CONN, fin.clone(), false).with_packet_id(6),
        recv(1_110_000, "server", S_CONN, fin),
        state(1_110_000, "server", S_CONN, "ESTABLISHED", "CLOSE-WAIT"),
        send(1_110_000, "server", S_CONN, fin_ack.clone(), false).with_packet_id(7),
        recv(1_120_500, "client", C_CONN, fin_ack),
        state(1_120_500, "client", C_CONN, "FIN-WAIT-1", "FIN-WAIT-2"),
        app(1_300_000, "server", S_CONN, "close", 0),
        state(1_300_000, "server", S_CONN, "CLOSE-WAIT", "LAST-ACK"),
        send(1_300_000, "server", S_CONN, sfin.clone(), false).with_packet_id(8),
        recv(1_310_500, "client", C_CONN, sfin),
        state(1_310_500, "client", C_CONN, "FIN-WAIT-2", "TIME-WAIT"),
        send(1_310_500, "client", C_CONN, last.clone(), false).with_packet_id(9),
        timer(1_310_500, "client", C_CONN, "time-wait", "set", 61_310_500),
        recv(1_320_500, "server", S_CONN, last),
        state(1_320_500, "server", S_CONN, "LAST-ACK", "CLOSED"),
        timer(61_310_500, "client", C_CONN, "time-wait", "fire", 61_310_500),
        state(61_310_500, "client", C_CONN, "TIME-WAIT", "CLOSED"),
    ]
}

fn flags_of(s: &str) -> TcpFlags {
    let mut f = TcpFlags::NONE;
    for c in s.chars() {
        f |= match c {
            'S' => TcpFlags::SYN,
            'F' => TcpFlags::FIN,
            'P' => TcpFlags::PSH,
            'R' => TcpFlags::RST,
            'U' => TcpFlags::URG,
            'E' => TcpFlags::ECE,
            'W' => TcpFlags::CWR,
            '.' => TcpFlags::ACK,
            _ => TcpFlags::NONE,
        };
    }
    f
}

/// The IP datagram of `seg`, built by the core's wire emitter (valid checksums).
pub fn packet_of(seg: &Seg) -> Vec<u8> {
    let src: SocketAddr = seg.src.parse().expect("src endpoint");
    let dst: SocketAddr = seg.dst.parse().expect("dst endpoint");
    let mut options = TcpOptions::NONE;
    for o in &seg.opts {
        if let Some(mss) = o.strip_prefix("mss ") {
            options.mss = Some(mss.parse().expect("mss value"));
        }
    }
    let tcp = TcpHeader {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNum(seg.seq),
        ack: SeqNum(seg.ack),
        flags: flags_of(&seg.flags),
        window: seg.win,
        urgent: 0,
        options,
    };
    let payload = vec![0x61u8; seg.len as usize];
    let mut buf = vec![0u8; 65536];
    let n = emit(&mut buf, src.ip(), dst.ip(), 64, &tcp, &[&payload]).expect("emit");
    buf.truncate(n);
    buf
}

/// The trace with every `send` line carrying its datagram bytes.
pub fn with_packets(mut lines: Vec<TraceLine>) -> Vec<TraceLine> {
    for line in &mut lines {
        if let Event::Send(s) = &mut line.event {
            s.packet = Some(packet_of(&s.seg));
        }
    }
    lines
}
