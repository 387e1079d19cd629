//! The pcapng capture: one packet per `send` line with bytes, read back exactly, with
//! comments on the packets the links dropped, duplicated or damaged; and, where tshark
//! is installed, Wireshark's own verdict on it.

mod common;

use common::*;
use std::process::Command;
use synack_viz::{read_pcapng, write_pcapng, CapturedPacket, Event, Seg, TraceLine};

fn capture(lines: &[TraceLine]) -> Vec<u8> {
    let mut buf = Vec::new();
    write_pcapng(&mut buf, lines).expect("write pcapng");
    buf
}

fn expected_packets(lines: &[TraceLine]) -> Vec<(u64, Vec<u8>)> {
    lines
        .iter()
        .filter_map(|l| match &l.event {
            Event::Send(s) => s.packet.clone().map(|p| (l.t_us, p)),
            _ => None,
        })
        .collect()
}

#[test]
fn capture_reads_back_every_sent_datagram_with_its_time_and_comment() {
    let lines = with_packets(lossy_handshake_and_close());
    let sent = expected_packets(&lines);
    assert_eq!(sent.len(), 9);
    let bytes = capture(&lines);
    let got = read_pcapng(bytes.as_slice()).expect("read pcapng");
    let want: Vec<CapturedPacket> = sent
        .into_iter()
        .map(|(t_us, data)| CapturedPacket {
            t_us,
            comment: (t_us == 20_500 && data.len() == 40)
                .then(|| "dropped by link client->server".to_string()),
            data,
        })
        .collect();
    assert_eq!(got, want);
    // The sub-millisecond time survives (microsecond resolution).
    assert!(got.iter().any(|p| p.t_us == 1_310_500));
}

#[test]
fn send_lines_without_bytes_are_not_captured() {
    let mut lines = with_packets(lossy_handshake_and_close());
    if let Event::Send(s) = &mut lines[4].event {
        s.packet = None;
    }
    let got = read_pcapng(capture(&lines).as_slice()).expect("read pcapng");
    assert_eq!(got.len(), 8);
    assert_eq!(got[0].t_us, 10_000, "the SYN at 0 had no bytes");
}

#[test]
fn link_events_match_sends_by_segment_when_there_are_no_packet_ids() {
    let data = seg(C, S, "P.", 101, 301, 100);
    let ack = seg(S, C, ".", 301, 201, 0);
    let lines = with_packets(vec![
        send(1_000, "client", C_CONN, data.clone(), false),
        TraceLine::dup(1_000, "client->server", data.clone()),
        send(1_000, "server", S_CONN, ack.clone(), false),
        TraceLine::corrupt(1_200, "server->client", ack.clone()),
        send(900_000, "client", C_CONN, data.clone(), true),
        TraceLine::drop(900_000, "client->server", data),
    ]);
    let got = read_pcapng(capture(&lines).as_slice()).expect("read pcapng");
    let comments: Vec<Option<&str>> = got.iter().map(|p| p.comment.as_deref()).collect();
    assert_eq!(
        comments,
        vec![
            Some("duplicated by link client->server"),
            Some("corrupted by link server->client"),
            Some("dropped by link client->server"),
        ]
    );
}

#[test]
fn a_packet_id_names_the_dropped_packet_among_identical_segments() {
    let ack = seg(C, S, ".", 101, 301, 0);
    let lines = with_packets(vec![
        send(0, "client", C_CONN, ack.clone(), false).with_packet_id(10),
        send(5_000, "client", C_CONN, ack.clone(), false).with_packet_id(11),
        TraceLine::drop(6_000, "client->server", ack).with_packet_id(10),
    ]);
    let got = read_pcapng(capture(&lines).as_slice()).expect("read pcapng");
    assert_eq!(got[0].comment.as_deref(), Some("dropped by link client->server"));
    assert_eq!(got[1].comment, None);
}

#[test]
fn the_emitted_bytes_parse_back_to_the_traced_segment() {
    for line in with_packets(lossy_handshake_and_close()) {
        if let Event::Send(s) = &line.event {
            let bytes = s.packet.as_deref().expect("packet");
            assert_eq!(Seg::from_ip_packet(bytes).as_ref(), Some(&s.seg));
        }
    }
    assert_eq!(Seg::from_ip_packet(&[0x45, 0, 0]), None);
}

fn ipv6_trace() -> Vec<TraceLine> {
    let syn = seg("[2001:db8::1]:40000", "[2001:db8::2]:443", "S", 7, 0, 0);
    let data = seg("[2001:db8::1]:40000", "[2001:db8::2]:443", "P.", 8, 99, 5);
    with_packets(vec![
        send(0, "client", "[2001:db8::1]:40000-[2001:db8::2]:443", syn, false),
        send(1_000, "client", "[2001:db8::1]:40000-[2001:db8::2]:443", data, false),
    ])
}

#[test]
fn ipv6_datagrams_share_the_raw_ip_interface() {
    let lines = ipv6_trace();
    let got = read_pcapng(capture(&lines).as_slice()).expect("read pcapng");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data[0] >> 4, 6);
    assert_eq!(got[1].data.len(), 40 + 20 + 5);
}

#[test]
fn wireshark_finds_valid_checksums_and_the_drop_comment() {
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("skipped: tshark is not installed (apt-get install tshark to run this check)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("synack-viz-pcapng-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, lines) in
        [("v4.pcapng", with_packets(lossy_handshake_and_close())), ("v6.pcapng", ipv6_trace())]
    {
        let path = dir.join(name);
        std::fs::write(&path, capture(&lines)).expect("write capture");
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&path)
            .args(["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"])
            .args(["-T", "fields", "-E", "separator=|"])
            .args(["-e", "frame.time_relative", "-e", "ip.checksum.status", "-e", "tcp.checksum.status"])
            .args([
                "-e",
                "tcp.flags.str",
                "-e",
                "_ws.malformed",
                "-e",
                "_ws.expert.severity",
                "-e",
                "frame.comment",
            ])
            .output()
            .expect("run tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        assert_eq!(rows.len(), expected_packets(&lines).len(), "{text}");
        for row in &rows {
            assert_eq!(row.len(), 7, "{text}");
            // Checksum status 1 is "Good" (0 bad, 2 unverified); IPv6 has no header checksum.
            if name == "v4.pcapng" {
                assert_eq!(row[1], "1", "IP checksum not good in {row:?}");
            }
            assert_eq!(row[2], "1", "TCP checksum not good in {row:?}");
            assert_eq!(row[4], "", "malformed packet: {row:?}");
            // Expert severities at warning (0x00600000) or above mean trouble; the chat
            // level (SYN/FIN notes) is fine.
            for sev in row[5].split(',').filter(|s| !s.is_empty()) {
                let sev: u32 = sev.parse().unwrap_or(u32::MAX);
                assert!(sev < 0x0060_0000, "expert warning in {row:?}");
            }
        }
        if name == "v4.pcapng" {
            assert!(rows[2][6].contains("dropped by link client->server"), "{text}");
            assert_eq!(rows[2][0], "0.020500000", "{text}");
            assert_eq!(rows.iter().filter(|r| !r[6].is_empty()).count(), 1, "{text}");
        }
    }
    if std::env::var_os("SYNACK_VIZ_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
