//! The terminal ladder diagram: one column per host (the active opener on the left),
//! time flowing down, each segment an arrow from its sender to its receiver.
//!
//! ```text
//!  t(ms)   client 10.0.0.1:49152                            server 10.0.0.2:80
//!      0   connect()
//!      0   [SYN-SENT]     ---- S  seq=100 win=65535 --------->
//!     10                                                       [SYN-RECEIVED]
//!     10                  <--- S. seq=300 ack=101 win=65535 --
//! ```
//!
//! Rows are laid out in trace order; events at the same instant share a row when they
//! use different columns. A segment a link lost ends in `X` halfway across; marks in
//! parentheses tell retransmissions `(retx)`, link duplicates `(dup)` and damage
//! `(corrupt)`. Before a connection leaves TIME-WAIT for CLOSED a `:  2×MSL = … ms` line
//! shows the wait. The output depends only on the trace and the options.

use crate::analysis::{self, fmt_ms, fmt_ms_grouped, Host, SendInfo};
use crate::model::{Event, TraceLine};

/// How to draw the ladder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LadderOptions {
    /// Colour with ANSI escape sequences (for a terminal); plain text otherwise.
    pub color: bool,
    /// Show sequence and acknowledgment numbers relative to each side's ISN (the `seq`
    /// of its first SYN), as tcpdump does; raw 32-bit numbers otherwise.
    pub relative_seq: bool,
    /// Show the TCP options of each segment (`<mss 1460,sackOK,...>`).
    pub show_opts: bool,
    /// Host names to place first, left to right; the other hosts follow (the one that
    /// sent the first SYN, then in order of appearance).
    pub hosts: Vec<String>,
}

/// What a piece of text is, for colouring.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Header,
    Time,
    State,
    App,
    Right,
    Left,
    Retx,
    Lost,
    Note,
}

impl Style {
    fn ansi(self) -> Option<&'static str> {
        match self {
            Style::Header => Some("\x1b[1m"),
            Style::Time | Style::Note => Some("\x1b[2m"),
            Style::State => Some("\x1b[1;36m"),
            Style::App => Some("\x1b[32m"),
            Style::Right => Some("\x1b[34m"),
            Style::Left => Some("\x1b[35m"),
            Style::Retx => Some("\x1b[33m"),
            Style::Lost => Some("\x1b[1;31m"),
        }
    }
}

/// One piece of a row.
#[derive(Clone, Debug)]
enum Item {
    /// A note (state, app call) in a host's column.
    Note { host: usize, text: String, style: Style },
    /// A segment from one host to another.
    Arrow { from: usize, to: usize, label: String, lost: bool, style: Style },
}

impl Item {
    /// A segment from host `from` to host `to`: an arrow between their columns, or a
    /// note in the host's own column when a host sends to itself (a connection to one
    /// of its own addresses), which has no gap to draw an arrow across.
    fn segment(from: usize, to: usize, label: String, lost: bool, style: Style) -> Item {
        if from == to {
            let text = format!("{label} -> itself{}", if lost { " (lost)" } else { "" });
            return Item::Note { host: from, text, style };
        }
        Item::Arrow { from, to, label, lost, style }
    }

    /// The slots it takes: `2*i` is host `i`'s note column, `2*i+1` the gap to its right.
    fn slots(&self) -> (usize, usize) {
        match self {
            Item::Note { host, .. } => (2 * host, 2 * host),
            Item::Arrow { from, to, .. } => {
                let (lo, hi) = if from < to { (*from, *to) } else { (*to, *from) };
                (2 * lo + 1, 2 * hi - 1)
            }
        }
    }
}

/// A row: a time and its items, or an untimed annotation line.
#[derive(Clone, Debug)]
enum Row {
    At { t_us: u64, items: Vec<Item> },
    Gap { host: usize, text: String },
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

fn note_text(line: &TraceLine) -> Option<(String, Style)> {
    match &line.event {
        Event::State(s) => Some((format!("[{}]", s.to), Style::State)),
        Event::App(a) => {
            let text = match a.call.as_str() {
                "send" | "recv" => format!("{}({})", a.call, a.bytes),
                _ => format!("{}()", a.call),
            };
            Some((text, Style::App))
        }
        _ => None,
    }
}

fn marks(si: &SendInfo, retransmit: bool) -> String {
    let mut m = String::new();
    for (on, text) in [(retransmit, " (retx)"), (si.dup, " (dup)"), (si.corrupt, " (corrupt)")] {
        if on {
            m.push_str(text);
        }
    }
    m
}

/// Lays the trace out into rows.
fn build_rows(lines: &[TraceLine], hosts: &[Host], opts: &LadderOptions) -> Vec<Row> {
    let flows = analysis::flows(lines, hosts);
    let mut inbound = vec![None; lines.len()];
    for b in &flows.inbound {
        inbound[b.line] = Some((b.from, b.to));
    }
    let isns = analysis::isn_table(lines);
    let tw_ends = analysis::time_wait_ends(lines);
    let host_idx = |name: &str| hosts.iter().position(|h| h.name == name);
    let mut rows: Vec<Row> = Vec::new();
    let push = |rows: &mut Vec<Row>, t_us: u64, item: Item| {
        if let Some(Row::At { t_us: t, items }) = rows.last_mut() {
            if *t == t_us && items.iter().all(|i| !overlaps(i.slots(), item.slots())) {
                items.push(item);
                return;
            }
        }
        rows.push(Row::At { t_us, items: vec![item] });
    };
    for (i, line) in lines.iter().enumerate() {
        if let Some((_, wait)) = tw_ends.iter().find(|(k, _)| *k == i) {
            if let Some(h) = line.host().and_then(host_idx) {
                rows.push(Row::Gap { host: h, text: format!(":  2×MSL = {} ms", fmt_ms_grouped(*wait)) });
            }
        }
        if let Some((text, style)) = note_text(line) {
            if let Some(h) = line.host().and_then(host_idx) {
                push(&mut rows, line.t_us, Item::Note { host: h, text, style });
            }
            continue;
        }
        if let (Some((from, to)), Some(seg)) = (inbound[i], line.seg()) {
            // From an unobserved peer: drawn when it arrived.
            let label = analysis::seg_label_rel(seg, &isns, opts.relative_seq, opts.show_opts);
            let style = if to < from { Style::Left } else { Style::Right };
            push(&mut rows, line.t_us, Item::segment(from, to, label, false, style));
            continue;
        }
        let Event::Send(s) = &line.event else { continue };
        let Some(si) = flows.send_of[i].map(|k| &flows.sends[k]) else { continue };
        let label = analysis::seg_label_rel(&s.seg, &isns, opts.relative_seq, opts.show_opts)
            + &marks(si, s.retransmit);
        let style = if si.dropped.is_some() {
            Style::Lost
        } else if s.retransmit {
            Style::Retx
        } else if si.to.is_some_and(|to| to < si.from) {
            Style::Left
        } else {
            Style::Right
        };
        let item = match si.to {
            Some(to) => Item::segment(si.from, to, label, si.dropped.is_some(), style),
            None => Item::Note { host: si.from, text: format!("{label} -> {}", s.seg.dst), style },
        };
        push(&mut rows, line.t_us, item);
    }
    rows
}

/// A line of output being assembled: text placed at columns, each with a style.
struct Canvas {
    pieces: Vec<(usize, String, Style)>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas { pieces: Vec::new() }
    }

    fn put(&mut self, col: usize, text: String, style: Style) {
        self.pieces.push((col, text, style));
    }

    fn render(mut self, color: bool) -> String {
        self.pieces.sort_by_key(|p| p.0);
        let mut out = String::new();
        let mut at = 0;
        for (col, text, style) in self.pieces {
            let text = text.trim_end();
            if text.is_empty() {
                continue;
            }
            while at < col {
                out.push(' ');
                at += 1;
            }
            match style.ansi().filter(|_| color) {
                Some(code) => {
                    out.push_str(code);
                    out.push_str(text);
                    out.push_str("\x1b[0m");
                }
                None => out.push_str(text),
            }
            at += text.chars().count();
        }
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Draws an arrow of `len` columns carrying `label`, pointing right or left, ending in
/// `X` halfway across (or just past the label) when `lost`.
fn arrow(label: &str, len: usize, right: bool, lost: bool) -> String {
    let lw = width(label);
    if lost {
        let x_at = (len / 2).max(5 + lw + 3).min(len.saturating_sub(1));
        if right {
            // "---- LABEL --X" from the left end.
            let dashes = x_at.saturating_sub(5 + lw + 1);
            format!("---- {label} {}X{}", "-".repeat(dashes), " ".repeat(len.saturating_sub(x_at + 1)))
        } else {
            // "X-- LABEL ----" ending at the right end.
            let dashes = x_at.saturating_sub(5 + lw + 1);
            format!("{}X{} {label} ----", " ".repeat(len.saturating_sub(x_at + 1)), "-".repeat(dashes))
        }
    } else {
        let fill = len.saturating_sub(5 + lw + 1 + 2);
        if right {
            format!("---- {label} {}->", "-".repeat(fill))
        } else {
            format!("<--- {label} {}--", "-".repeat(fill))
        }
    }
}

/// Renders the ladder diagram of `lines` (one trace, in time order; lines out of order
/// are stably sorted by time first) as text, one row per line, each ending in `\n`.
///
/// Hosts are the trace's `host` values; each column is headed by the host's name and
/// the `ip:port` of its first segment. Receptions (`recv`), timers and link deliveries
/// draw nothing of their own: a segment's arrow is drawn at its send time, marked by
/// what the links did to it. A peer whose own events the trace lacks (the kernel on
/// the far side of a TUN device) gets a column named by its IP address; its segments
/// are drawn when they arrived.
pub fn render_ladder(lines: &[TraceLine], opts: &LadderOptions) -> String {
    let lines = &*analysis::in_time_order(lines);
    let hosts = analysis::hosts(lines, &opts.hosts);
    let rows = build_rows(lines, &hosts, opts);
    let n = hosts.len();

    // Column widths.
    let time_w = rows
        .iter()
        .filter_map(|r| match r {
            Row::At { t_us, .. } => Some(width(&fmt_ms(*t_us))),
            Row::Gap { .. } => None,
        })
        .max()
        .unwrap_or(0)
        .max(5);
    let mut note_w = vec![1usize; n];
    let mut arrow_w = 30usize;
    for row in &rows {
        let Row::At { items, .. } = row else { continue };
        for item in items {
            match item {
                Item::Note { host, text, .. } => note_w[*host] = note_w[*host].max(width(text) + 1),
                Item::Arrow { from, to, label, .. } => {
                    // Spread over the gaps (and notes) it crosses.
                    let span = from.abs_diff(*to);
                    let needed = 5 + width(label) + 4;
                    arrow_w = arrow_w.max(needed.div_ceil(span.max(1)));
                }
            }
        }
    }
    let headers: Vec<String> = hosts
        .iter()
        .map(|h| match &h.endpoint {
            Some(ep) if !h.observed => ep.clone(),
            Some(ep) => format!("{} {}", h.name, ep),
            None => h.name.clone(),
        })
        .collect();
    for (i, hd) in headers.iter().enumerate().take(n.saturating_sub(1)) {
        arrow_w = arrow_w.max((width(hd) + 3).saturating_sub(note_w[i] + 2));
    }
    let gap_w = arrow_w + 2;
    let x0 = 1 + time_w + 3;
    let mut note_x = Vec::with_capacity(n);
    let mut x = x0;
    for w in &note_w {
        note_x.push(x);
        x += w + gap_w;
    }
    // An arrow between hosts lo < hi spans from the gap after lo to the gap before hi.
    let span = |lo: usize, hi: usize| -> (usize, usize) {
        let start = note_x[lo] + note_w[lo] + 1;
        let end = note_x[hi] - 1;
        (start, end.saturating_sub(start))
    };

    let mut out = String::new();
    let mut header = Canvas::new();
    header.put(1, format!("{:>time_w$}", "t(ms)"), Style::Header);
    for (i, hd) in headers.into_iter().enumerate() {
        header.put(note_x[i], hd, Style::Header);
    }
    out.push_str(&header.render(opts.color));
    out.push('\n');

    for row in rows {
        let mut c = Canvas::new();
        match row {
            Row::Gap { host, text } => c.put(note_x[host], text, Style::Note),
            Row::At { t_us, items } => {
                c.put(1, format!("{:>time_w$}", fmt_ms(t_us)), Style::Time);
                for item in items {
                    match item {
                        Item::Note { host, text, style } => c.put(note_x[host], text, style),
                        Item::Arrow { from, to, label, lost, style } => {
                            let (start, len) = span(from.min(to), from.max(to));
                            c.put(start, arrow(&label, len, from < to, lost), style);
                        }
                    }
                }
            }
        }
        out.push_str(&c.render(opts.color));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrows_fill_their_length_and_point_the_right_way() {
        let r = arrow("S  seq=1", 30, true, false);
        assert_eq!(width(&r), 30);
        assert!(r.starts_with("---- S  seq=1 ") && r.ends_with("->"));
        let l = arrow("S. seq=1", 30, false, false);
        assert_eq!(width(&l), 30);
        assert!(l.starts_with("<--- S. seq=1 ") && l.ends_with("--"));
    }

    #[test]
    fn a_lost_arrow_ends_in_a_cross_halfway() {
        let r = arrow(".  seq=1", 40, true, false);
        assert_eq!(r.find('>'), Some(39));
        let lost = arrow(".  seq=1", 40, true, true);
        assert_eq!(lost.trim_end(), "---- .  seq=1 ------X");
        assert_eq!(lost.find('X'), Some(20));
        let lost_left = arrow(".  seq=1", 40, false, true);
        assert_eq!(lost_left.find('X'), Some(19));
        assert!(lost_left.ends_with("X------ .  seq=1 ----"));
    }
}
