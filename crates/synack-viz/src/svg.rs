//! The ladder diagram as SVG, for a browser at 100 %.
//!
//! Each host is a vertical lifeline under its name and address, covered by state bands:
//! labelled boxes spanning the time the host spent in each state. Each segment is an
//! arrow from the sender's band to the receiver's, leaving at its `send` time and
//! arriving at its `recv` time, so it slopes with the link delay. A segment a link lost
//! stops halfway under a red cross; retransmissions are orange and dashed, link
//! duplicates grey and dotted.
//!
//! Time runs down on a piecewise scale: the row of each instant is placed after the
//! previous one by its time difference (at least a legible minimum), and a long idle
//! stretch — TIME-WAIT's 2×MSL above all — is cut out of the axis and drawn as a break
//! labelled with its length. The left column gives every row's true time in ms.

use crate::analysis::{self, fmt_ms, fmt_ms_grouped, Flows, Host, SendInfo};
use crate::model::{Event, TraceLine};
use geometry::{label_line, Seg2, YIndex};
use std::fmt::Write as _;

mod geometry;

/// How to draw the SVG.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SvgOptions {
    /// A title drawn above the diagram.
    pub title: Option<String>,
    /// Sequence and acknowledgment numbers relative to each side's ISN (as tcpdump).
    pub relative_seq: bool,
    /// Show the TCP options of each segment in its label.
    pub show_opts: bool,
    /// Host names to place first, left to right (see [`crate::LadderOptions::hosts`]).
    pub hosts: Vec<String>,
}

const CHAR_W: f64 = 6.7; // width of one 11 px monospace character
const BAND_W: f64 = 116.0;
const MIN_GAP: f64 = 26.0;
const DELAY_PX: f64 = 48.0; // the typical link delay, vertically
const BREAK_OVER: f64 = 240.0; // a stretch taller than this is cut out...
const BREAK_LEAD: f64 = 46.0; // ...and drawn as this much time scale (for lost arrows),
const BREAK_H: f64 = 84.0; // then the break, this tall in all
const IDLE_MAX: f64 = 60.0; // an idle stretch shorter than a break, at most this tall
const UNSEEN_DROP: f64 = 20.0; // the slope of a segment to or from an unobserved host
const TOP: f64 = 96.0;
const AXIS_X: f64 = 64.0;

/// What happens at a row, per host: at most one of each kind.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    State,
    App,
    Out,
    In,
}

/// A row: an instant, and the (host, kind) pairs it holds.
struct Row {
    t_us: u64,
    used: Vec<(usize, Kind)>,
}

/// Assigns every drawn line a row. Returns the rows and, per line, its row.
fn layout_rows(lines: &[TraceLine], hosts: &[Host], flows: &Flows) -> (Vec<Row>, Vec<Option<usize>>) {
    let mut rows: Vec<Row> = Vec::new();
    let mut row_of = vec![None; lines.len()];
    let host_idx = |name: &str| hosts.iter().position(|h| h.name == name);
    let mut inbound_to = vec![None; lines.len()];
    for b in &flows.inbound {
        inbound_to[b.line] = Some(b.to);
    }
    for (i, line) in lines.iter().enumerate() {
        let key = match &line.event {
            Event::State(s) => host_idx(&s.host).map(|h| (h, Kind::State)),
            Event::App(a) => host_idx(&a.host).map(|h| (h, Kind::App)),
            Event::Send(s) => host_idx(&s.host).map(|h| (h, Kind::Out)),
            _ => {
                flows.arrival_of[i].and_then(|k| flows.sends[k].to).or(inbound_to[i]).map(|to| (to, Kind::In))
            }
        };
        let Some(key) = key else { continue };
        let fits = rows.last().is_some_and(|r| r.t_us == line.t_us && !r.used.contains(&key));
        if !fits {
            rows.push(Row { t_us: line.t_us, used: Vec::new() });
        }
        if let Some(r) = rows.last_mut() {
            r.used.push(key);
        }
        row_of[i] = Some(rows.len() - 1);
    }
    (rows, row_of)
}

/// Vertical placement of the rows, with the breaks cut out of the axis.
struct Axis {
    y: Vec<f64>,
    /// (row index after the break, y of the break's middle).
    breaks: Vec<(usize, f64)>,
}

/// `busy[i]`: whether a segment is in flight between rows `i - 1` and `i`. An idle
/// stretch is drawn at most `IDLE_MAX` tall (the axis labels keep the true times);
/// one with a segment in flight keeps the time scale so the arrow's slope shows its
/// delay.
fn layout_axis(rows: &[Row], px_per_us: f64, top: f64, busy: &[bool]) -> Axis {
    let mut y = Vec::with_capacity(rows.len());
    let mut breaks = Vec::new();
    let mut at = top;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            let dt = row.t_us.saturating_sub(rows[i - 1].t_us);
            let h = dt as f64 * px_per_us;
            if h > BREAK_OVER {
                breaks.push((i, at + BREAK_LEAD));
                at += BREAK_H;
            } else if busy.get(i).copied().unwrap_or(false) {
                at += h.max(MIN_GAP);
            } else {
                at += h.clamp(MIN_GAP, IDLE_MAX);
            }
        }
        y.push(at);
    }
    Axis { y, breaks }
}

/// `s` as SVG text or attribute value (the time-sequence graph's too).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Fill and stroke of a state band.
fn band_colors(state: &str) -> (&'static str, &'static str) {
    match state {
        "ESTABLISHED" => ("#e2f3df", "#7bb274"),
        "LISTEN" | "SYN-SENT" | "SYN-RECEIVED" => ("#fff3cf", "#d7b450"),
        "TIME-WAIT" => ("#e7e4f7", "#8f86c9"),
        "CLOSED" => ("#eeeeee", "#9e9e9e"),
        _ => ("#fde3dc", "#d98b77"),
    }
}

/// The segment's arrow style: (stroke colour, dash pattern, marker id).
fn arrow_style(si: &SendInfo, retransmit: bool, dup: bool) -> (&'static str, &'static str, &'static str) {
    if dup {
        ("#8a8a8a", "2 3", "head-dup")
    } else if si.dropped.is_some() {
        ("#c62828", "", "")
    } else if retransmit {
        ("#e07b00", "7 4", "head-retx")
    } else {
        ("#2f4f7f", "", "head")
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// One arrow to draw.
struct Arrow {
    from: usize,
    to: usize,
    y0: f64,
    y1: f64,
    lost: bool,
    corrupt: bool,
    label: String,
    style: (&'static str, &'static str, &'static str),
}

/// Renders the ladder diagram of `lines` (one trace, in time order; lines out of order
/// are stably sorted by time first) as a standalone SVG document.
pub fn render_svg(lines: &[TraceLine], opts: &SvgOptions) -> String {
    let lines = &*analysis::in_time_order(lines);
    let hosts = analysis::hosts(lines, &opts.hosts);
    let flows = analysis::flows(lines, &hosts);
    let sends = &flows.sends;
    let isns = analysis::isn_table(lines);
    let (rows, row_of) = layout_rows(lines, &hosts, &flows);

    // Scale: the median link delay is DELAY_PX tall.
    let delays: Vec<f64> = sends
        .iter()
        .filter_map(|si| si.arrival.map(|a| lines[a].t_us.saturating_sub(lines[si.line].t_us) as f64))
        .filter(|d| *d > 0.0)
        .collect();
    let px_per_us = DELAY_PX / median(delays).unwrap_or(10_000.0);
    let top = if opts.title.is_some() { TOP + 26.0 } else { TOP };
    let mut busy = vec![false; rows.len()];
    for si in sends {
        if let (Some(r0), Some(r1)) = (row_of[si.line], si.arrival.and_then(|a| row_of[a])) {
            busy.iter_mut().take(r1 + 1).skip(r0 + 1).for_each(|b| *b = true);
        }
    }
    let axis = layout_axis(&rows, px_per_us, top, &busy);
    let y_of_line = |i: usize| row_of[i].and_then(|r| axis.y.get(r).copied());

    // Labels and arrows; an end not known yet is NAN until the typical drop is.
    let mut arrows = Vec::new();
    for si in sends {
        let Event::Send(s) = &lines[si.line].event else { continue };
        let (Some(to), Some(y0)) = (si.to, y_of_line(si.line)) else { continue };
        let base = analysis::seg_label_rel(&s.seg, &isns, opts.relative_seq, opts.show_opts);
        let mut label = base.clone();
        if s.retransmit {
            label.push_str(" (retx)");
        }
        if si.corrupt {
            label.push_str(" (corrupt)");
        }
        let y1 = si.arrival.and_then(y_of_line);
        // Unseen arrivals: at an unobserved host, or damaged with no delivery line.
        let unseen = !hosts[to].observed || si.corrupt;
        let lost = si.dropped.is_some() || (y1.is_none() && !unseen);
        arrows.push(Arrow {
            from: si.from,
            to,
            y0,
            y1: y1.unwrap_or(f64::NAN),
            lost,
            corrupt: si.corrupt,
            label,
            style: arrow_style(si, s.retransmit, false),
        });
        if let Some(y1) = si.dup_arrival.and_then(y_of_line) {
            let style = arrow_style(si, s.retransmit, true);
            arrows.push(Arrow {
                from: si.from,
                to,
                y0,
                y1,
                lost: false,
                corrupt: false,
                label: "(dup)".into(),
                style,
            });
        }
    }
    // Segments from unobserved hosts: known by their arrival only.
    for b in &flows.inbound {
        let (Some(y1), Some(seg)) = (y_of_line(b.line), lines[b.line].seg()) else { continue };
        arrows.push(Arrow {
            from: b.from,
            to: b.to,
            y0: f64::NAN,
            y1,
            lost: false,
            corrupt: false,
            label: analysis::seg_label_rel(seg, &isns, opts.relative_seq, opts.show_opts),
            style: ("#2f4f7f", "", "head"),
        });
    }
    // A lost segment falls half the typical drop of a delivered one; unseen ends are
    // drawn a typical drop away.
    let drop_px = median(
        arrows
            .iter()
            .filter(|a| !a.lost && !a.corrupt)
            .map(|a| a.y1 - a.y0)
            .filter(|d| d.is_finite())
            .collect(),
    )
    .unwrap_or(DELAY_PX);
    // The delay to or from an unobserved host is unknown: a slight slope only, which
    // stays clear of the row above or below.
    for a in &mut arrows {
        let unseen = !hosts[a.from].observed || !hosts[a.to].observed;
        let drop = if unseen { UNSEEN_DROP } else { drop_px };
        if a.lost {
            a.y1 = a.y0 + drop_px / 2.0;
        } else if a.y1.is_nan() {
            a.y1 = a.y0 + drop;
        } else if a.y0.is_nan() {
            a.y0 = a.y1 - drop;
        }
    }

    // Horizontal layout.
    let longest = arrows.iter().map(|a| a.label.chars().count()).max().unwrap_or(20) as f64;
    // A lost arrow stops halfway: its label must fit in half the gap.
    let longest_lost =
        arrows.iter().filter(|a| a.lost).map(|a| a.label.chars().count()).max().unwrap_or(0) as f64;
    // Arrows crossing the other way (simultaneous sends) keep their labels near their
    // senders: two labels side by side.
    let mut by_time = YIndex::default();
    for (k, a) in arrows.iter().enumerate() {
        by_time.insert(k, (a.y0, a.y1));
    }
    let crossed: Vec<bool> = arrows
        .iter()
        .map(|a| {
            by_time.near((a.y0, a.y1), 0.0).any(|j| {
                let b = &arrows[j];
                (b.to > b.from) != (a.to > a.from) && b.y0 < a.y1 && a.y0 < b.y1
            })
        })
        .collect();
    let crossing = crossed.contains(&true);
    let side_by_side = if crossing { longest } else { longest_lost };
    let gap = (longest * CHAR_W + 70.0).max(2.0 * side_by_side * CHAR_W + 60.0).max(360.0);
    let app_w = lines
        .iter()
        .filter_map(|l| match &l.event {
            Event::App(a) => Some(app_text(&a.call, a.bytes).chars().count() as f64 * CHAR_W + 14.0),
            _ => None,
        })
        .fold(60.0, f64::max);
    let first_x = AXIS_X + 20.0 + app_w + BAND_W / 2.0;
    let xs: Vec<f64> = (0..hosts.len()).map(|i| first_x + i as f64 * (gap + BAND_W)).collect();
    let last_x = xs.last().copied().unwrap_or(first_x);
    let width = (last_x + BAND_W / 2.0 + app_w + 20.0).max(first_x + 200.0);
    let y_end = axis.y.last().copied().unwrap_or(top) + 40.0;
    let height = y_end + 60.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"#,
        w = width,
        h = height
    );
    out.push_str(DEFS);
    let _ = writeln!(out, r##"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##);
    if let Some(title) = &opts.title {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="24" font-size="15" font-weight="bold" fill="#222">{}</text>"##,
            AXIS_X - 50.0,
            esc(title)
        );
    }

    // Time axis: a faint guide and the time of each instant.
    let _ = writeln!(
        out,
        r##"<text x="{AXIS_X:.1}" y="{:.1}" font-size="11" fill="#666" text-anchor="end">t (ms)</text>"##,
        top - 30.0
    );
    let mut last_t = None;
    for (row, y) in rows.iter().zip(&axis.y) {
        if last_t == Some(row.t_us) {
            continue;
        }
        last_t = Some(row.t_us);
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#f0f0f0"/><text x="{AXIS_X:.1}" y="{:.1}" font-size="10.5" fill="#777" text-anchor="end" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">{}</text>"##,
            AXIS_X + 6.0,
            width - 10.0,
            y + 3.5,
            fmt_ms(row.t_us)
        );
    }

    // Lifelines and host headings.
    for (h, x) in hosts.iter().zip(&xs) {
        let _ = writeln!(
            out,
            r##"<line class="lifeline" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{y_end:.1}" stroke="#9a9a9a" stroke-width="1.5"/>"##,
            top - 22.0
        );
        let _ = writeln!(
            out,
            r##"<text x="{x:.1}" y="{:.1}" font-size="15" font-weight="bold" fill="#222" text-anchor="middle">{}</text>"##,
            top - 50.0,
            esc(&h.name)
        );
        if let Some(ep) = &h.endpoint {
            let _ = writeln!(
                out,
                r##"<text x="{x:.1}" y="{:.1}" font-size="11.5" fill="#666" text-anchor="middle" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">{}</text>"##,
                top - 33.0,
                if h.observed { esc(ep) } else { format!("{} · not traced", esc(ep)) }
            );
        }
    }

    draw_bands(&mut out, lines, &hosts, &xs, &y_of_line, y_end);
    draw_breaks(&mut out, lines, &rows, &axis, &xs, width);

    // App calls, on the outer side of the host's band.
    for (i, line) in lines.iter().enumerate() {
        let Event::App(a) = &line.event else { continue };
        let (Some(h), Some(y)) = (hosts.iter().position(|h| h.name == a.host), y_of_line(i)) else {
            continue;
        };
        let (x, anchor) = if h == 0 && hosts.len() > 1 {
            (xs[h] - BAND_W / 2.0 - 8.0, "end")
        } else {
            (xs[h] + BAND_W / 2.0 + 8.0, "start")
        };
        let _ = writeln!(
            out,
            r##"<text class="app" x="{x:.1}" y="{:.1}" font-size="11" fill="#2e7d32" font-style="italic" text-anchor="{anchor}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">{}</text>"##,
            y + 4.0,
            esc(&app_text(&a.call, a.bytes))
        );
    }

    let edge: Vec<f64> = hosts.iter().map(|h| if h.observed { BAND_W / 2.0 } else { 0.0 }).collect();
    draw_arrows(&mut out, &arrows, &crossed, &xs, &edge);
    draw_legend(&mut out, y_end + 28.0);
    out.push_str("</svg>\n");
    out
}

fn app_text(call: &str, bytes: u64) -> String {
    match call {
        "send" | "recv" => format!("{call}({bytes})"),
        _ => format!("{call}()"),
    }
}

const DEFS: &str = r##"<defs>
<marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" fill="#2f4f7f"/></marker>
<marker id="head-retx" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" fill="#e07b00"/></marker>
<marker id="head-dup" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" fill="#8a8a8a"/></marker>
</defs>
"##;

/// The state bands of every host: from each state change to the host's next one.
fn draw_bands(
    out: &mut String,
    lines: &[TraceLine],
    hosts: &[Host],
    xs: &[f64],
    y_of_line: &dyn Fn(usize) -> Option<f64>,
    y_end: f64,
) {
    for (h, host) in hosts.iter().enumerate() {
        let changes: Vec<(f64, &str)> = lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| match &l.event {
                Event::State(s) if s.host == host.name => y_of_line(i).map(|y| (y, s.to.as_str())),
                _ => None,
            })
            .collect();
        for (k, (y0, state)) in changes.iter().enumerate() {
            let last = k + 1 == changes.len();
            let y1 = if last {
                if *state == "CLOSED" {
                    y0 + 20.0
                } else {
                    y_end - 8.0
                }
            } else {
                changes[k + 1].0
            };
            if y1 <= *y0 {
                continue;
            }
            let (fill, stroke) = band_colors(state);
            let _ = writeln!(
                out,
                r#"<rect class="band" x="{:.1}" y="{y0:.1}" width="{BAND_W:.1}" height="{:.1}" rx="4" fill="{fill}" stroke="{stroke}"/>"#,
                xs[h] - BAND_W / 2.0,
                y1 - y0
            );
            let _ = writeln!(
                out,
                r##"<text class="state" x="{:.1}" y="{:.1}" font-size="10.5" font-weight="bold" fill="#333" text-anchor="middle">{}</text>"##,
                xs[h],
                y0 + 14.0,
                esc(state)
            );
        }
    }
}

/// The breaks cut out of the time axis: a white strip with slanted edges across the
/// lifelines, labelled with the time left out (2×MSL where a TIME-WAIT ends).
fn draw_breaks(out: &mut String, lines: &[TraceLine], rows: &[Row], axis: &Axis, xs: &[f64], width: f64) {
    let tw_ends = analysis::time_wait_ends(lines);
    for &(r, y) in &axis.breaks {
        let (t0, t1) = (rows[r - 1].t_us, rows[r].t_us);
        let msl = tw_ends.iter().find(|(i, _)| lines[*i].t_us == t1).map(|(_, w)| *w);
        let text = match msl {
            Some(w) => format!("TIME-WAIT: 2×MSL = {} ms", fmt_ms_grouped(w)),
            None => format!("{} ms later", fmt_ms_grouped(t1.saturating_sub(t0))),
        };
        let (a, b) = (y - 7.0, y + 7.0);
        let _ = writeln!(
            out,
            r##"<path d="M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} z" fill="#ffffff"/>"##,
            AXIS_X + 6.0,
            a + 3.0,
            width - 10.0,
            a - 3.0,
            width - 10.0,
            b - 3.0,
            AXIS_X + 6.0,
            b + 3.0
        );
        for edge in [a, b] {
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#b0b0b0" stroke-dasharray="5 4"/>"##,
                AXIS_X + 6.0,
                edge + 3.0,
                width - 10.0,
                edge - 3.0
            );
        }
        let mid = match xs {
            [] => width / 2.0,
            [x] => *x,
            [first, .., last] => (first + last) / 2.0,
        };
        let _ = writeln!(
            out,
            r##"<text class="break" x="{mid:.1}" y="{:.1}" font-size="12" font-style="italic" fill="#555" text-anchor="middle">{}</text>"##,
            y + 4.0,
            esc(&text)
        );
    }
}

/// Where an arrow's line starts and ends: (x0, x1, y1). Arrows meet the state bands'
/// edges, or the lifeline of a host without bands (`edge[i]`: half the band width).
fn arrow_ends(a: &Arrow, xs: &[f64], edge: &[f64]) -> (f64, f64, f64) {
    let dir = if a.to > a.from { 1.0 } else { -1.0 };
    let x0 = xs[a.from] + dir * edge[a.from];
    let full_x1 = xs[a.to] - dir * edge[a.to];
    if a.lost && !a.corrupt {
        (x0, (x0 + full_x1) / 2.0, a.y1)
    } else {
        (x0, full_x1 - dir * 1.5, a.y1)
    }
}

fn draw_arrows(out: &mut String, arrows: &[Arrow], crossed: &[bool], xs: &[f64], edge: &[f64]) {
    let mut placed: Vec<Seg2> = Vec::new();
    let mut placed_index = YIndex::default();
    let mut line_index = YIndex::default();
    let lines: Vec<Seg2> = arrows
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let (x0, x1, y1) = arrow_ends(a, xs, edge);
            let line = Seg2 { a: (x0, a.y0), b: (x1, y1) };
            line_index.insert(k, line.y_range());
            line
        })
        .collect();
    for (k, a) in arrows.iter().enumerate() {
        let dir = if a.to > a.from { 1.0 } else { -1.0 };
        let (x0, x1, y1) = arrow_ends(a, xs, edge);
        let (stroke, dash, marker) = a.style;
        let class = match marker {
            _ if a.lost && !a.corrupt => "arrow lost",
            _ if a.corrupt => "arrow corrupt",
            "head-dup" => "arrow dup",
            "head-retx" => "arrow retx",
            _ => "arrow",
        };
        let dash_attr =
            if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let marker_attr = if marker.is_empty() || a.corrupt {
            String::new()
        } else {
            format!(r#" marker-end="url(#{marker})""#)
        };
        let _ = writeln!(
            out,
            r#"<line class="{class}" x1="{x0:.1}" y1="{:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="{stroke}" stroke-width="1.6"{dash_attr}{marker_attr}/>"#,
            a.y0
        );
        if a.lost || a.corrupt {
            let (cx, cy, s) = (x1, y1, 6.0);
            let _ = writeln!(
                out,
                r##"<path class="cross" d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}" stroke="#c62828" stroke-width="2.6" stroke-linecap="round"/>"##,
                cx - s,
                cy - s,
                cx + s,
                cy + s,
                cx - s,
                cy + s,
                cx + s,
                cy - s
            );
        }
        // The label rides along the arrow, above it (a lost arrow's under it: the
        // arrow that prompted it comes from above), at the first of a few places
        // where it overlaps no label placed before.
        let dup = a.style.2 == "head-dup";
        let len = (x1 - x0).abs().max(1.0);
        let w = a.label.chars().count() as f64 * CHAR_W;
        let near_sender = ((14.0 + w / 2.0) / len).min(0.5);
        let fractions: &[f64] = if dup {
            &[0.8, 0.65, 0.9]
        } else if a.lost {
            &[0.5]
        } else if crossed[k] {
            &[near_sender, 0.35, 0.5, 0.65, 1.0 - near_sender]
        } else {
            &[0.5, 0.35, 0.65, near_sender, 1.0 - near_sender]
        };
        let sides: [f64; 2] = if a.lost { [1.0, -1.0] } else { [-1.0, 1.0] };
        let angle = (y1 - a.y0).atan2(len).to_degrees() * dir;
        let candidates = sides.iter().flat_map(|&side| fractions.iter().map(move |&f| (f, side)));
        let mut choice = None;
        for (f, side) in candidates {
            let (cx, cy) = (x0 + (x1 - x0) * f, a.y0 + (y1 - a.y0) * f);
            let bx = label_line(cx, cy, angle, w, side);
            let free = !placed_index.near(bx.y_range(), 12.0).any(|p| placed[p].distance(&bx) < 12.0)
                && line_index.near(bx.y_range(), 7.0).all(|j| j == k || lines[j].distance(&bx) >= 7.0);
            if choice.is_none() || free {
                choice = Some((cx, cy, side, bx));
            }
            if free {
                break;
            }
        }
        let Some((cx, cy, side, bx)) = choice else { continue };
        placed_index.insert(placed.len(), bx.y_range());
        placed.push(bx);
        let fill = if stroke == "#2f4f7f" { "#1d3557" } else { stroke };
        let _ = writeln!(
            out,
            r#"<text class="label" x="{cx:.1}" y="{:.1}" font-size="11" fill="{fill}" text-anchor="middle" transform="rotate({angle:.2} {cx:.1} {cy:.1})" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace">{}</text>"#,
            if side > 0.0 { cy + 14.0 } else { cy - 5.0 },
            esc(&a.label)
        );
    }
}

fn draw_legend(out: &mut String, y: f64) {
    let items: [(&str, &str, &str, &str); 3] = [
        ("segment", "#2f4f7f", "", "head"),
        ("retransmission", "#e07b00", "7 4", "head-retx"),
        ("link duplicate", "#8a8a8a", "2 3", "head-dup"),
    ];
    let mut x = AXIS_X - 40.0;
    for (name, stroke, dash, marker) in items {
        let dash_attr =
            if dash.is_empty() { String::new() } else { format!(r#" stroke-dasharray="{dash}""#) };
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{stroke}" stroke-width="1.6"{dash_attr} marker-end="url(#{marker})"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">{name}</text>"##,
            x + 34.0,
            x + 42.0,
            y + 4.0
        );
        x += 52.0 + name.len() as f64 * 6.6 + 20.0;
    }
    let _ = writeln!(
        out,
        r##"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#c62828" stroke-width="1.6"/><path d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}" stroke="#c62828" stroke-width="2.6" stroke-linecap="round"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#555">lost by the link</text>"##,
        x + 28.0,
        x + 24.0,
        y - 5.0,
        x + 34.0,
        y + 5.0,
        x + 24.0,
        y + 5.0,
        x + 34.0,
        y - 5.0,
        x + 44.0,
        y + 4.0
    );
}
