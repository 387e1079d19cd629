//! The terminal ladder: a hand-written picture of a small trace (a handshake whose
//! final ACK is lost, the SYN-ACK retransmitted, then a close with TIME-WAIT).

mod common;

use common::*;
use synack_viz::{render_ladder, LadderOptions, TraceLine};

const EXPECTED: &str = "
   t(ms)   client 10.0.0.1:49152                                       server 10.0.0.2:80
       0                                                               listen()
       0   connect()                                                   [LISTEN]
       0   [SYN-SENT]     ---- S  seq=100 win=65535 ----------------->
      10                  <--- S. seq=300 ack=101 win=65535 ---------- [SYN-RECEIVED]
    20.5   [ESTABLISHED]  ---- .  seq=101 ack=301 win=65535 --X
    1010                  <--- S. seq=300 ack=101 win=65535 (retx) ---
  1020.5                  ---- .  seq=101 ack=301 win=65535 --------->
  1030.5                                                               [ESTABLISHED]
    1100   close()
    1100   [FIN-WAIT-1]   ---- F. seq=101 ack=301 win=65535 --------->
    1110                  <--- .  seq=301 ack=102 win=65535 ---------- [CLOSE-WAIT]
  1120.5   [FIN-WAIT-2]
    1300                                                               close()
    1300                  <--- F. seq=301 ack=102 win=65535 ---------- [LAST-ACK]
  1310.5   [TIME-WAIT]    ---- .  seq=102 ack=302 win=65535 --------->
  1320.5                                                               [CLOSED]
           :  2×MSL = 60 000 ms
 61310.5   [CLOSED]
";

#[test]
fn handshake_with_a_lost_ack_and_time_wait_draws_as_expected() {
    let got = render_ladder(&lossy_handshake_and_close(), &LadderOptions::default());
    assert_eq!(got, &EXPECTED[1..], "\n--- got ---\n{got}");
}

#[test]
fn rendering_is_deterministic_and_ignores_packet_bytes() {
    let plain = render_ladder(&lossy_handshake_and_close(), &LadderOptions::default());
    let again = render_ladder(&with_packets(lossy_handshake_and_close()), &LadderOptions::default());
    assert_eq!(plain, again);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn colour_adds_only_escape_sequences() {
    let lines = lossy_handshake_and_close();
    let coloured = render_ladder(&lines, &LadderOptions { color: true, ..Default::default() });
    assert!(coloured.contains("\x1b[1;31m---- .  seq=101 ack=301 win=65535 --X\x1b[0m"), "lost arrow in red");
    assert!(coloured.contains("\x1b[1;36m[TIME-WAIT]\x1b[0m"));
    assert_eq!(strip_ansi(&coloured), render_ladder(&lines, &LadderOptions::default()));
    assert!(!render_ladder(&lines, &LadderOptions::default()).contains('\x1b'));
}

#[test]
fn relative_numbers_count_from_each_side_isn() {
    let out = render_ladder(
        &lossy_handshake_and_close(),
        &LadderOptions { relative_seq: true, ..Default::default() },
    );
    assert!(out.contains("<--- S. seq=0 ack=1 win=65535 "), "{out}");
    assert!(out.contains("---- F. seq=1 ack=1 win=65535 "), "{out}");
    assert!(out.contains("---- .  seq=2 ack=2 win=65535 "), "{out}");
}

#[test]
fn options_are_shown_on_request() {
    let out =
        render_ladder(&lossy_handshake_and_close(), &LadderOptions { show_opts: true, ..Default::default() });
    assert!(out.contains("---- S  seq=100 win=65535 <mss 1460> "), "{out}");
}

#[test]
fn host_order_can_be_chosen() {
    let opts = LadderOptions { hosts: vec!["server".into()], ..Default::default() };
    let out = render_ladder(&lossy_handshake_and_close(), &opts);
    let header = out.lines().next().unwrap_or_default();
    assert!(header.find("server").unwrap_or(usize::MAX) < header.find("client").unwrap_or(0), "{header}");
    // The client's SYN now travels right to left.
    assert!(out.contains("<--- S  seq=100 win=65535 "), "{out}");
}

#[test]
fn payload_length_duplicates_and_damage_are_marked() {
    let data = seg(C, S, "P.", 101, 301, 512);
    let ack = seg(S, C, ".", 301, 613, 0);
    let lines = vec![
        send(0, "client", C_CONN, data.clone(), false),
        TraceLine::dup(0, "client->server", data),
        send(10_125, "server", S_CONN, ack.clone(), false),
        TraceLine::corrupt(10_200, "server->client", ack),
    ];
    let out = render_ladder(&lines, &LadderOptions::default());
    assert!(out.contains("---- P. seq=101 ack=301 len=512 win=65535 (dup) "), "{out}");
    assert!(out.contains("<--- .  seq=301 ack=613 win=65535 (corrupt) "), "{out}");
    assert!(out.contains("\n 10.125 "), "sub-millisecond time: {out}");
}

#[test]
fn a_lost_segment_from_the_right_ends_in_a_cross_on_the_left() {
    let fin = seg(S, C, "F.", 301, 102, 0);
    let lines = vec![
        state(0, "client", C_CONN, "CLOSED", "SYN-SENT"),
        send(0, "client", C_CONN, seg(C, S, "S", 100, 0, 0), false),
        send(300_000, "server", S_CONN, fin.clone(), false),
        TraceLine::drop(305_000, "server->client", fin),
    ];
    let out = render_ladder(&lines, &LadderOptions::default());
    let row = out.lines().find(|l| l.contains("F.")).unwrap_or_default();
    assert!(row.trim_end().ends_with("X-- F. seq=301 ack=102 win=65535 ----"), "{out}");
    assert!(!row.contains('<'), "{out}");
}

#[test]
fn three_hosts_get_three_columns() {
    const M: &str = "10.0.0.3:53";
    let lines = vec![
        send(0, "client", "10.0.0.1:49152-10.0.0.3:53", seg(C, M, "S", 1, 0, 0), false),
        state(0, "middle", "10.0.0.3:53-0.0.0.0:0", "CLOSED", "LISTEN"),
        send(1_000, "client", C_CONN, seg(C, S, "S", 9, 0, 0), false),
        state(2_000, "server", S_CONN, "LISTEN", "SYN-RECEIVED"),
    ];
    let out = render_ladder(&lines, &LadderOptions::default());
    let rows: Vec<&str> = out.lines().collect();
    let header = rows[0];
    let (c, m, s) = (header.find("client"), header.find("middle"), header.find("server"));
    assert!(c < m && m < s, "{out}");
    let to_server = rows.iter().find(|r| r.contains("seq=9")).copied().unwrap_or_default();
    let head = to_server.find("->").unwrap_or(0);
    assert!(head > m.unwrap_or(usize::MAX) && head < s.unwrap_or(0), "{out}");
    let to_middle = rows.iter().find(|r| r.contains("seq=1 ")).copied().unwrap_or_default();
    assert!(to_middle.find("->").unwrap_or(usize::MAX) < m.unwrap_or(0), "{out}");
}

#[test]
fn an_empty_trace_draws_only_the_time_heading() {
    assert_eq!(render_ladder(&[], &LadderOptions::default()), " t(ms)\n");
}

#[test]
fn a_peer_without_a_trace_of_its_own_gets_a_column_of_its_address() {
    // Only the server's side, as a TUN run facing the kernel would record it.
    let lines: Vec<TraceLine> =
        lossy_handshake_and_close().into_iter().filter(|l| l.host() == Some("server")).collect();
    let out = render_ladder(&lines, &LadderOptions::default());
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[0], "  t(ms)   10.0.0.1:49152                                 server 10.0.0.2:80",
        "{out}"
    );
    // The peer's SYN is drawn when it arrived, from the peer's column.
    assert_eq!(rows[3], "     10     ---- S  seq=100 win=65535 -----------------> [SYN-RECEIVED]", "{out}");
    assert_eq!(rows[4], "     10     <--- S. seq=300 ack=101 win=65535 ----------", "{out}");
    assert!(out.contains("1030.5     ---- .  seq=101 ack=301 win=65535 ---------> [ESTABLISHED]"), "{out}");
}

#[test]
fn a_host_sending_to_itself_gets_a_note_in_its_column_not_an_arrow() {
    // A connection to one of the host's own addresses (a fuzzed scenario found the
    // ladder subtracting past zero on it): the segments have no gap to cross.
    const A: &str = "10.0.0.1:49152";
    const L: &str = "10.0.0.1:80";
    // The simulator names the link "solo->solo", and has none: the SYN is dropped.
    let lines = vec![
        state(0, "solo", "10.0.0.1:80-0.0.0.0:0", "CLOSED", "LISTEN"),
        send(0, "solo", "10.0.0.1:49152-10.0.0.1:80", seg(A, L, "S", 7, 0, 0), false),
        TraceLine::drop(0, "solo->solo", seg(A, L, "S", 7, 0, 0)),
        send(1_000, "solo", "10.0.0.1:49152-10.0.0.1:80", seg(A, L, "S", 7, 0, 0), true),
        TraceLine::deliver(1_000, "solo->solo", seg(A, L, "S", 7, 0, 0)),
        recv(1_000, "solo", "10.0.0.1:80-10.0.0.1:49152", seg(A, L, "S", 7, 0, 0)),
        send(1_000, "solo", "10.0.0.1:80-10.0.0.1:49152", seg(L, A, "S.", 9, 8, 0), false),
    ];
    let out = render_ladder(&lines, &LadderOptions::default());
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows.iter().any(|r| r.contains("S  seq=7 win=65535 -> itself (lost)")), "{out}");
    assert!(rows.iter().any(|r| r.contains("S  seq=7 win=65535 (retx) -> itself")), "{out}");
    assert!(!out.contains("--->") && !out.contains("<---"), "no arrows: {out}");
    let svg = synack_viz::render_svg(&lines, &synack_viz::SvgOptions::default());
    assert!(svg.contains("</svg>"), "the SVG renders too");
}
