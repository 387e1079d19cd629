//! The SVG ladder: well-formed XML, a cross where a segment was lost, arrows sloping
//! down with the link delay, state bands in order, and TIME-WAIT's 2×MSL cut out of
//! the time axis instead of stretching the picture.

mod common;

use common::*;
use synack_viz::{render_svg, SvgOptions, TraceLine};

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG is not well-formed XML: {e}\n{svg}"))
}

fn num(n: roxmltree::Node<'_, '_>, attr: &str) -> f64 {
    n.attribute(attr).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no numeric {attr} on {n:?}"))
}

fn with_class<'a, 'i>(doc: &'a roxmltree::Document<'i>, class: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').any(|k| k == class)))
        .collect()
}

#[test]
fn the_svg_is_well_formed_and_sized() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert!(num(root, "width") > 600.0);
    // Sixty seconds of TIME-WAIT must not make it sixty seconds tall.
    assert!(num(root, "height") < 1200.0, "height {}", num(root, "height"));
}

#[test]
fn a_lost_segment_stops_halfway_under_a_cross() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let crosses = with_class(&doc, "cross");
    assert_eq!(crosses.len(), 1, "one lost segment, one cross");
    let lost = with_class(&doc, "lost");
    let lost: Vec<_> = lost.iter().filter(|n| n.tag_name().name() == "line").collect();
    assert_eq!(lost.len(), 1);
    let lifelines: Vec<f64> = with_class(&doc, "lifeline").iter().map(|n| num(*n, "x1")).collect();
    assert_eq!(lifelines.len(), 2);
    let mid = (lifelines[0] + lifelines[1]) / 2.0;
    assert!((num(*lost[0], "x2") - mid).abs() < 1.0, "stops at the middle of the gap");
    assert!(lost[0].attribute("marker-end").is_none(), "no arrowhead on a lost segment");
}

#[test]
fn delivered_arrows_slope_down_to_the_receiver() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let arrows = with_class(&doc, "arrow");
    assert_eq!(arrows.len(), 9, "one arrow per send line");
    for a in arrows {
        assert!(num(a, "y2") > num(a, "y1") + 10.0, "arrow {a:?} does not slope down");
    }
}

#[test]
fn retransmissions_are_dashed_in_their_own_colour() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let retx = with_class(&doc, "retx");
    assert_eq!(retx.len(), 1);
    assert!(retx[0].attribute("stroke-dasharray").is_some());
    let plain = with_class(&doc, "arrow").into_iter().find(|n| n.attribute("class") == Some("arrow"));
    assert_ne!(retx[0].attribute("stroke"), plain.and_then(|n| n.attribute("stroke")));
    let labels: Vec<&str> = with_class(&doc, "label").iter().filter_map(|n| n.text()).collect();
    assert!(labels.contains(&"S. seq=300 ack=101 win=65535 (retx)"), "{labels:?}");
}

#[test]
fn time_wait_is_a_labelled_break_in_the_axis() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let breaks: Vec<&str> = with_class(&doc, "break").iter().filter_map(|n| n.text()).collect();
    assert!(breaks.contains(&"TIME-WAIT: 2×MSL = 60 000 ms"), "{breaks:?}");
    // The axis still tells the true time of the last row.
    assert!(doc.descendants().any(|n| n.text() == Some("61310.5")));
}

#[test]
fn state_bands_follow_each_host_through_its_states() {
    let svg = render_svg(&lossy_handshake_and_close(), &SvgOptions::default());
    let doc = parse(&svg);
    let lifelines: Vec<f64> = with_class(&doc, "lifeline").iter().map(|n| num(*n, "x1")).collect();
    let client: Vec<&str> = with_class(&doc, "state")
        .iter()
        .filter(|n| (num(**n, "x") - lifelines[0]).abs() < 1.0)
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(client, ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
    let bands = with_class(&doc, "band");
    assert_eq!(bands.len(), 12, "six bands per host");
    let apps: Vec<&str> = with_class(&doc, "app").iter().filter_map(|n| n.text()).collect();
    assert_eq!(apps, ["listen()", "connect()", "close()", "close()"]);
}

#[test]
fn names_and_titles_are_escaped() {
    let mut lines = lossy_handshake_and_close();
    for l in &mut lines {
        if let synack_viz::Event::State(s) = &mut l.event {
            if s.host == "client" {
                s.host = "<a&b>".into();
            }
        }
    }
    let svg =
        render_svg(&lines, &SvgOptions { title: Some("\"quoted\" & <tagged>".into()), ..Default::default() });
    let doc = parse(&svg);
    assert!(doc.descendants().any(|n| n.text() == Some("<a&b>")));
    assert!(doc.descendants().any(|n| n.text() == Some("\"quoted\" & <tagged>")));
}

#[test]
fn duplicates_and_damage_are_drawn() {
    let data = seg(C, S, "P.", 101, 301, 100);
    let ack = seg(S, C, ".", 301, 201, 0);
    let lines = vec![
        send(0, "client", C_CONN, data.clone(), false),
        TraceLine::dup(0, "client->server", data.clone()),
        recv(10_000, "server", S_CONN, data.clone()),
        send(10_000, "server", S_CONN, ack.clone(), false),
        recv(10_000, "server", S_CONN, data),
        TraceLine::corrupt(15_000, "server->client", ack),
    ];
    let svg = render_svg(&lines, &SvgOptions::default());
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "dup").len(), 1);
    assert_eq!(with_class(&doc, "corrupt").len(), 1);
    assert_eq!(with_class(&doc, "cross").len(), 1, "the damaged segment is crossed out");
}

#[test]
fn an_empty_trace_is_still_a_valid_picture() {
    let svg = render_svg(&[], &SvgOptions::default());
    parse(&svg);
}

#[test]
fn a_peer_without_a_trace_of_its_own_is_drawn_without_bands() {
    let lines: Vec<TraceLine> =
        lossy_handshake_and_close().into_iter().filter(|l| l.host() == Some("server")).collect();
    let svg = render_svg(&lines, &SvgOptions::default());
    let doc = parse(&svg);
    let lifelines: Vec<f64> = with_class(&doc, "lifeline").iter().map(|n| num(*n, "x1")).collect();
    assert_eq!(lifelines.len(), 2);
    let arrows = with_class(&doc, "arrow");
    // 4 segments the server sent, 4 it received from the peer.
    assert_eq!(arrows.len(), 8);
    // Arrows reach the peer's bare lifeline, none is lost.
    assert!(arrows
        .iter()
        .all(|a| (num(*a, "x1") - lifelines[0]).abs() < 2.0 || (num(*a, "x2") - lifelines[0]).abs() < 2.0));
    assert!(with_class(&doc, "cross").is_empty());
    assert!(with_class(&doc, "band").iter().all(|b| num(*b, "x") > lifelines[0]));
}
