//! The time-sequence graph of one direction of a connection's data, as SVG: time runs
//! right, sequence numbers (relative to the sender's ISN) run up. Where the ladder
//! shows every segment as an arrow, this graph shows a whole transfer at once:
//! slow start as a curve that steepens, a loss as a gap that a red retransmission
//! later fills, a timeout as a dashed line followed by a resend from SND.UNA.
//!
//! What it draws, from the trace lines of the sending host:
//! - each data segment sent, as an upright bar from its first to its last sequence
//!   number at the time it left (class `seg new`, dark blue; a retransmission `seg rtx`,
//!   red), with a cross on the bar when a link lost it (`drop`, red) or delivered it
//!   damaged, for the receiver's checksum to discard (`damaged`, orange);
//! - the acknowledgments the sender received, as a step line (`ack`, green), and the
//!   right edge of the window they offered, ACK plus the scaled window (`win`, olive);
//! - the SACK blocks each acknowledgment carried, as short violet bars at its time
//!   (`sack`);
//! - each expiry of the retransmission timer, as a dashed upright line (`rto`): a loss
//!   probe's timeout shares that timer and shows the same way.
//!
//! [`SeqGraphOptions::time_us`] zooms on a stretch of time: a whole transfer of
//! thousands of segments shows its shape, a zoom of a few round trips each segment.

use crate::analysis::{self, fmt_ms};
use crate::model::{Event, Seg, TraceLine};
use crate::svg::esc;
use std::collections::HashMap;
use std::fmt::{self, Write as _};

/// How to draw the time-sequence graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqGraphOptions {
    /// A title drawn above the graph.
    pub title: Option<String>,
    /// The host whose data to draw; `None`: the host and connection that sent the most
    /// payload bytes.
    pub sender: Option<String>,
    /// Only this stretch of time, in microseconds since the start of the trace (both
    /// ends included): a zoom on one episode. `None`: the whole transfer.
    pub time_us: Option<(u64, u64)>,
}

/// Why there is no graph to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeqGraphError {
    /// No host of the trace sent a segment with payload (or not the one asked for, or
    /// not in the time asked for). A trace recorded on the receiving side only, such
    /// as `synack tun`'s of a kernel sender, holds no sent data.
    NoData,
    /// [`SeqGraphOptions::sender`] names no host of the trace.
    UnknownSender(String),
}

impl fmt::Display for SeqGraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqGraphError::NoData => {
                write!(f, "no segment with data (from the host and in the time asked for): no time-sequence graph to draw")
            }
            SeqGraphError::UnknownSender(h) => write!(f, "no host named {h:?} in the trace"),
        }
    }
}

impl std::error::Error for SeqGraphError {}

const W: f64 = 1000.0;
const H: f64 = 600.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 84.0;

/// One data segment as drawn.
struct Bar {
    t_us: u64,
    lo: i64,
    hi: i64,
    retransmit: bool,
    dropped: bool,
    /// Delivered damaged: the receiver's checksum discarded it.
    damaged: bool,
}

/// One acknowledgment the sender received.
struct Ack {
    t_us: u64,
    ack: i64,
    edge: i64,
    sacks: Vec<(i64, i64)>,
}

/// Whose events a graph is drawn from: a host's connection, and whether the host sent
/// the data (else it received it, from a peer the trace does not observe).
#[derive(Clone, Copy)]
struct View<'a> {
    host: &'a str,
    conn: &'a str,
    sending: bool,
}

impl<'a> View<'a> {
    /// A segment of the data, from the view's host's events: what it sent (with the
    /// retransmission flag) or what it received.
    fn data(&self, ev: &'a Event) -> Option<(&'a Seg, bool)> {
        match ev {
            Event::Send(s) if self.sending && s.host == self.host && s.conn == self.conn => {
                Some((&s.seg, s.retransmit))
            }
            Event::Recv(r) if !self.sending && r.host == self.host && r.conn == self.conn => {
                Some((&r.seg, false))
            }
            _ => None,
        }
    }

    /// A segment going the other way: the acknowledgments.
    fn acks(&self, ev: &'a Event) -> Option<&'a Seg> {
        match ev {
            Event::Recv(r) if self.sending && r.host == self.host && r.conn == self.conn => Some(&r.seg),
            Event::Send(s) if !self.sending && s.host == self.host && s.conn == self.conn => Some(&s.seg),
            _ => None,
        }
    }
}

/// Renders the time-sequence graph of one sender's data in `lines` (one trace; lines
/// out of order are stably sorted by time first) as a standalone SVG document.
///
/// The data sent by the host [`SeqGraphOptions::sender`] names, or by default by the
/// host and connection that sent the most. A trace in which no host sent data but one
/// received it (`synack tun` receiving from the kernel) is drawn from the receiver:
/// each segment at the time it arrived (one that arrives again is drawn as a
/// retransmission), and the ACKs it sent; the sender's losses and timer are unknown.
pub fn render_seqgraph(lines: &[TraceLine], opts: &SeqGraphOptions) -> Result<String, SeqGraphError> {
    let lines = &*analysis::in_time_order(lines);
    if let Some(h) = &opts.sender {
        if !lines.iter().any(|l| l.host() == Some(h.as_str())) {
            return Err(SeqGraphError::UnknownSender(h.clone()));
        }
    }
    let view = busiest(lines, opts.sender.as_deref(), true)
        .map(|(host, conn)| View { host, conn, sending: true })
        .or_else(|| {
            let received = busiest(lines, None, false).filter(|_| opts.sender.is_none());
            received.map(|(host, conn)| View { host, conn, sending: false })
        })
        .ok_or(SeqGraphError::NoData)?;
    // What the links did to each segment: known only for a sender's own segments.
    let flows = view.sending.then(|| analysis::flows(lines, &analysis::hosts(lines, &[])));

    // Sequence numbers relative to the first after the data sender's SYN (as tcpdump
    // and Wireshark). The window of the ACKs is scaled by the shift their sender's SYN
    // announced, when both SYNs offered scaling (RFC 7323 2.2); never that of a SYN.
    let syn_of = |data_side: bool| {
        lines.iter().find_map(|l| {
            let seg = if data_side { view.data(&l.event).map(|(s, _)| s) } else { view.acks(&l.event) };
            seg.filter(|s| s.flags.contains('S'))
        })
    };
    let (data_syn, ack_syn) = (syn_of(true), syn_of(false));
    let first_data =
        lines.iter().find_map(|l| view.data(&l.event).filter(|(s, _)| s.len > 0).map(|(s, _)| s.seq));
    let base = data_syn.map_or(first_data.unwrap_or(0), |s| s.seq.wrapping_add(1));
    let rel = |x: u32| i64::from(x.wrapping_sub(base) as i32);
    let shift = window_shift(data_syn, ack_syn);
    let ack_of = |t_us: u64, seg: &Seg, sacks: bool| {
        let ack = rel(seg.ack);
        let edge = ack + (i64::from(seg.win) << if seg.flags.contains('S') { 0 } else { shift });
        Ack { t_us, ack, edge, sacks: if sacks { sack_blocks(seg, &rel) } else { Vec::new() } }
    };

    let mut bars = Vec::new();
    let mut acks: Vec<Ack> = Vec::new();
    let mut timeouts = Vec::new();
    let mut arrived = std::collections::HashSet::new();
    let (from, to) = opts.time_us.unwrap_or((0, u64::MAX));
    for (i, line) in lines.iter().enumerate() {
        if line.t_us > to {
            break;
        }
        let ack_seg = view.acks(&line.event).filter(|s| s.flags.contains('.'));
        if line.t_us < from {
            // Before the zoom: only the last acknowledgment, where the ACK line starts,
            // and what had arrived.
            if let Some(seg) = ack_seg {
                acks.clear();
                acks.push(ack_of(from, seg, false));
            }
            if let Some((seg, _)) = view.data(&line.event).filter(|_| !view.sending) {
                arrived.insert((seg.seq, seg.len));
            }
            continue;
        }
        if let Some((seg, retransmit)) = view.data(&line.event).filter(|(s, _)| s.len > 0) {
            let lo = rel(seg.seq);
            let fate = flows.as_ref().and_then(|f| f.send_of[i].map(|k| &f.sends[k]));
            let dropped = fate.is_some_and(|si| si.dropped.is_some());
            let damaged = fate.is_some_and(|si| si.corrupt) && !dropped;
            let retransmit = if view.sending { retransmit } else { !arrived.insert((seg.seq, seg.len)) };
            bars.push(Bar { t_us: line.t_us, lo, hi: lo + i64::from(seg.len), retransmit, dropped, damaged });
        } else if let Some(seg) = ack_seg {
            acks.push(ack_of(line.t_us, seg, true));
        } else if let Event::Timer(t) = &line.event {
            let mine = t.host == view.host && t.conn == view.conn;
            if view.sending && mine && t.timer == "rto" && t.action == "fire" {
                timeouts.push(line.t_us);
            }
        }
    }
    if bars.is_empty() {
        return Err(SeqGraphError::NoData);
    }
    Ok(draw(opts, view, &bars, &acks, &timeouts))
}

/// The (host, connection) that sent (`sent`; else received) the most payload bytes,
/// of `host` if given.
fn busiest<'a>(lines: &'a [TraceLine], host: Option<&str>, sent: bool) -> Option<(&'a str, &'a str)> {
    let mut bytes: HashMap<(&str, &str), u64> = HashMap::new();
    let mut order = Vec::new();
    for line in lines {
        let (h, conn, seg) = match &line.event {
            Event::Send(s) if sent => (s.host.as_str(), s.conn.as_str(), &s.seg),
            Event::Recv(r) if !sent => (r.host.as_str(), r.conn.as_str(), &r.seg),
            _ => continue,
        };
        if seg.len == 0 || host.is_some_and(|want| want != h) {
            continue;
        }
        let n = bytes.entry((h, conn)).or_insert(0);
        if *n == 0 {
            order.push((h, conn));
        }
        *n += u64::from(seg.len);
    }
    // The first of the busiest, in order of appearance (deterministic).
    let most = bytes.values().copied().max()?;
    order.into_iter().find(|k| bytes[k] == most)
}

/// The shift of the window field in the acknowledgments: the `wscale` their sender's
/// SYN announced, when the data sender's SYN offered scaling too (RFC 7323 2.2), else
/// none.
fn window_shift(data_syn: Option<&Seg>, ack_syn: Option<&Seg>) -> u32 {
    let offered = data_syn.is_some_and(|s| s.opts.iter().any(|o| o.starts_with("wscale ")));
    let theirs =
        ack_syn.and_then(|s| s.opts.iter().find_map(|o| o.strip_prefix("wscale ")?.parse::<u32>().ok()));
    match (offered, theirs) {
        (true, Some(n)) => n.min(14),
        _ => 0,
    }
}

/// The SACK blocks of a segment's options (`sack L:R`), relative.
fn sack_blocks(seg: &Seg, rel: &impl Fn(u32) -> i64) -> Vec<(i64, i64)> {
    seg.opts
        .iter()
        .filter_map(|o| {
            let (l, r) = o.strip_prefix("sack ")?.split_once(':')?;
            Some((rel(l.parse().ok()?), rel(r.parse().ok()?)))
        })
        .collect()
}

/// A round step of about `span / target`: 1, 2 or 5 times a power of ten.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let unit = [1.0, 2.0, 5.0, 10.0].into_iter().find(|m| m * mag >= raw).unwrap_or(10.0);
    unit * mag
}

/// The multiples of `step` from `lo` to `hi`, at most 40 of them. (Counted, not
/// summed: far from zero, as times read from a file may be, adding a small step to a
/// large float can leave it unchanged, and a loop that sums would never end.)
fn ticks(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let first = (lo / step).ceil();
    (0..40).map(move |k| (first + f64::from(k)) * step).take_while(move |&v| v <= hi)
}

/// A byte count for an axis label: `0`, `500`, `1.5k`, `20k`, `1.25M`, `1.645M`.
/// Ticks are multiples of 1, 2 or 5 bytes times a power of ten, so six decimals of
/// the unit hold every digit a tick has (and round away float noise); the zeros after
/// the last digit are dropped.
fn fmt_bytes(v: f64) -> String {
    // (A tick at zero may come out of the arithmetic as -0.)
    let v = if v.abs() < 0.5 { 0.0 } else { v };
    let (n, unit) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{n:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

/// A time for an axis label: milliseconds below ten seconds of span, else seconds.
fn fmt_time(us: f64, in_s: bool) -> String {
    if in_s {
        let s = format!("{:.3}", us / 1e6);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        fmt_ms(us.max(0.0) as u64)
    }
}

fn draw(opts: &SeqGraphOptions, view: View<'_>, bars: &[Bar], acks: &[Ack], timeouts: &[u64]) -> String {
    let (host, conn) = (view.host, view.conn);
    // The plotted ranges: every bar, acknowledgment and SACK block; the window's edge
    // is drawn but does not stretch the scale (it runs far ahead of the data).
    let times =
        bars.iter().map(|b| b.t_us).chain(acks.iter().map(|a| a.t_us)).chain(timeouts.iter().copied());
    let (t_lo, t_hi) = times.fold((u64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let seqs = bars
        .iter()
        .flat_map(|b| [b.lo, b.hi])
        .chain(acks.iter().map(|a| a.ack))
        .chain(acks.iter().flat_map(|a| a.sacks.iter().flat_map(|&(l, r)| [l, r])));
    let (s_lo, s_hi) = seqs.fold((i64::MAX, i64::MIN), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let t_span = (t_hi.saturating_sub(t_lo)).max(1) as f64;
    let (t0, t1) = (t_lo as f64 - t_span * 0.02, t_hi as f64 + t_span * 0.02);
    let s_span = (s_hi - s_lo).max(1) as f64;
    let (y0, y1) = (s_lo as f64 - s_span * 0.02, s_hi as f64 + s_span * 0.04);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    // (Far from zero the padding can vanish in rounding, and with it the span: never
    // divide by nothing.)
    let x = |t: u64| LEFT + (t as f64 - t0) / (t1 - t0).max(1e-9) * pw;
    let y = |s: i64| TOP + ph - (s as f64 - y0) / (y1 - y0) * ph;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="monospace" font-size="11">
<style>
.seg{{stroke-width:1.4;fill:none}} .new{{stroke:#1f3b8c}} .rtx{{stroke:#d62728}}
.drop{{stroke:#d62728;stroke-width:1.6}} .damaged{{stroke:#ff7f0e;stroke-width:1.6}} .ack{{stroke:#2ca02c;fill:none;stroke-width:1.2}}
.win{{stroke:#a89f1a;fill:none;stroke-width:1}} .sack{{stroke:#8e44ad;stroke-width:2}}
.rto{{stroke:#555;stroke-dasharray:4 3}} .grid{{stroke:#e4e4e4}} .axis{{stroke:#333}}
</style>
<rect width="{W}" height="{H}" fill="white"/>
"#
    );
    let verb = if view.sending { "sent" } else { "received" };
    let title = opts.title.clone().unwrap_or_else(|| format!("time-sequence graph: data {verb} by {host}"));
    let _ =
        writeln!(out, r#"<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{}</text>"#, esc(&title));
    let _ = writeln!(out, r#"<text x="{LEFT}" y="40" fill="dimgray">{}</text>"#, esc(conn));

    // Grid, ticks and labels.
    let in_s = t_span >= 10e6;
    let t_step = nice_step(t1 - t0, 10.0);
    for t in ticks(t0, t1, t_step) {
        let xt = LEFT + (t - t0) / (t1 - t0) * pw;
        let _ = writeln!(
            out,
            r#"<line class="grid" x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{:.1}"/><text x="{xt:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + ph,
            TOP + ph + 16.0,
            fmt_time(t, in_s)
        );
    }
    let s_step = nice_step(y1 - y0, 8.0);
    for s in ticks(y0, y1, s_step) {
        let ys = TOP + ph - (s - y0) / (y1 - y0) * ph;
        let _ = writeln!(
            out,
            r#"<line class="grid" x1="{LEFT}" y1="{ys:.1}" x2="{:.1}" y2="{ys:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT + pw,
            LEFT - 6.0,
            ys + 4.0,
            fmt_bytes(s)
        );
    }
    let _ = writeln!(
        out,
        r#"<rect class="axis" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none"/>
<text x="{:.1}" y="{:.1}" text-anchor="middle">time ({})</text>
<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">sequence number (bytes after the ISN)</text>
<defs><clipPath id="plot"><rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/></clipPath></defs>
<g clip-path="url(#plot)">"#,
        LEFT + pw / 2.0,
        TOP + ph + 34.0,
        if in_s { "s" } else { "ms" },
        TOP + ph / 2.0
    );

    // The window's edge and the acknowledgment line, as steps.
    for (class, value) in [("win", (|a: &Ack| a.edge) as fn(&Ack) -> i64), ("ack", |a: &Ack| a.ack)] {
        let mut d = String::new();
        for (k, a) in acks.iter().enumerate() {
            if k == 0 {
                let _ = write!(d, "M{:.1} {:.1}", x(a.t_us), y(value(a)));
            } else {
                let _ = write!(d, "H{:.1}V{:.1}", x(a.t_us), y(value(a)));
            }
        }
        if let Some(last) = acks.last() {
            let _ = write!(d, "H{:.1}", x(t_hi).max(x(last.t_us)));
            let _ = writeln!(out, r#"<path class="{class}" d="{d}"/>"#);
        }
    }
    for a in acks {
        for &(l, r) in &a.sacks {
            let _ = writeln!(
                out,
                r#"<line class="sack" x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}"/>"#,
                x(a.t_us) + 2.0,
                y(l),
                y(r)
            );
        }
    }
    // Each expiry is labelled with the trace's timer name, unless the label would run
    // into the one before.
    let mut labelled_at = f64::NEG_INFINITY;
    for &t in timeouts {
        let xt = x(t);
        let _ =
            writeln!(out, r#"<line class="rto" x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{:.1}"/>"#, TOP + ph);
        if xt - labelled_at >= 28.0 {
            labelled_at = xt;
            let _ =
                writeln!(out, r#"<text x="{:.1}" y="{:.1}" fill="dimgray">rto</text>"#, xt + 3.0, TOP + 12.0);
        }
    }
    // The segments: an I-beam each, and a cross on those lost or damaged.
    for b in bars {
        let (xb, ylo, yhi) = (x(b.t_us), y(b.lo), y(b.hi));
        let kind = if b.retransmit { "rtx" } else { "new" };
        let _ = writeln!(
            out,
            r#"<path class="seg {kind}" d="M{xb:.1} {ylo:.1}V{yhi:.1}M{:.1} {ylo:.1}h4M{:.1} {yhi:.1}h4"/>"#,
            xb - 2.0,
            xb - 2.0
        );
        if b.dropped || b.damaged {
            let ym = (ylo + yhi) / 2.0;
            let class = if b.dropped { "drop" } else { "damaged" };
            let _ = writeln!(
                out,
                r#"<path class="{class}" d="M{:.1} {:.1}l8 8M{:.1} {:.1}l8 -8"/>"#,
                xb - 4.0,
                ym - 4.0,
                xb - 4.0,
                ym + 4.0
            );
        }
    }
    out.push_str("</g>\n");

    // The legend, under the axis label.
    let ly = H - 22.0;
    let (new_label, rtx_label, ack_label) = if view.sending {
        ("sent", "retransmitted", "ACK received")
    } else {
        ("arrived", "arrived again", "ACK sent")
    };
    let items: [(&str, &str, &str); 8] = [
        ("seg new", "M0 -6V6", new_label),
        ("seg rtx", "M0 -6V6", rtx_label),
        ("drop", "M-4 -4l8 8M-4 4l8 -8", "lost on a link"),
        ("damaged", "M-4 -4l8 8M-4 4l8 -8", "damaged on a link"),
        ("ack", "M-8 4H0V-4H8", ack_label),
        ("win", "M-8 4H0V-4H8", "window edge"),
        ("sack", "M0 -6V6", "SACK block"),
        ("rto", "M0 -8V8", "timer expired"),
    ];
    let mut lx = LEFT + 8.0;
    // A receiver's trace knows neither losses nor the sender's timer.
    for (class, d, label) in
        items.into_iter().filter(|(c, _, _)| view.sending || !matches!(*c, "drop" | "damaged" | "rto"))
    {
        let _ = writeln!(
            out,
            r#"<g transform="translate({lx:.1} {ly:.1})"><path class="{class} legend" d="{d}"/></g><text x="{:.1}" y="{:.1}">{label}</text>"#,
            lx + 12.0,
            ly + 4.0
        );
        lx += 24.0 + label.len() as f64 * 6.7;
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RecvEvent, SendEvent, TimerEvent};

    const SERVER: &str = "192.0.2.2:80";
    const CLIENT: &str = "192.0.2.1:50000";
    const CONN: &str = "192.0.2.2:80-192.0.2.1:50000";

    fn seg(flags: &str, seq: u32, ack: u32, len: u32, win: u16, opts: &[&str]) -> Seg {
        Seg {
            src: SERVER.into(),
            dst: CLIENT.into(),
            flags: flags.into(),
            seq,
            ack,
            len,
            win,
            opts: opts.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn send(t: u64, s: Seg, retransmit: bool) -> TraceLine {
        let ev = SendEvent {
            host: "server".into(),
            conn: CONN.into(),
            seg: s,
            retransmit,
            packet_id: None,
            packet: None,
        };
        TraceLine::new(t, Event::Send(ev))
    }

    /// A segment from the client as the server received it.
    fn recv(t: u64, flags: &str, ack: u32, win: u16, opts: &[&str]) -> TraceLine {
        let mut s = seg(flags, 1, ack, 0, win, opts);
        std::mem::swap(&mut s.src, &mut s.dst);
        TraceLine::new(t, Event::Recv(RecvEvent { host: "server".into(), conn: CONN.into(), seg: s }))
    }

    fn fire(t: u64) -> TraceLine {
        let ev = TimerEvent {
            host: "server".into(),
            conn: CONN.into(),
            timer: "rto".into(),
            action: "fire".into(),
            at_us: t,
        };
        TraceLine::new(t, Event::Timer(ev))
    }

    /// The server's SYN,ACK (ISN 999), three segments of 100 bytes of which the link
    /// loses the second, a SACK of the third, a timeout, the second again, its ACK.
    fn trace() -> Vec<TraceLine> {
        vec![
            recv(0, "S", 0, 1000, &["mss 1460", "wscale 3"]),
            send(0, seg("S.", 999, 1, 0, 1000, &["mss 1460", "wscale 2"]), false),
            recv(10_000, ".", 1000, 100, &[]),
            send(20_000, seg(".", 1000, 1, 100, 1000, &[]), false),
            send(20_000, seg(".", 1100, 1, 100, 1000, &[]), false),
            TraceLine::drop(20_000, "server->client", seg(".", 1100, 1, 100, 1000, &[])),
            send(20_000, seg("P.", 1200, 1, 100, 1000, &[]), false),
            recv(30_000, ".", 1100, 100, &[]),
            recv(30_000, ".", 1100, 100, &["sack 1200:1300"]),
            fire(230_000),
            send(230_000, seg(".", 1100, 1, 100, 1000, &[]), true),
            recv(240_000, ".", 1300, 100, &[]),
        ]
    }

    /// The drawn elements whose class is exactly `class` (the legend's carry one more).
    fn count(svg: &str, class: &str) -> usize {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        doc.descendants().filter(|n| n.attribute("class") == Some(class)).count()
    }

    /// The vertical extent (top, bottom) of the I-beam of every drawn segment, in order.
    fn beams(svg: &str) -> Vec<(f64, f64)> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        doc.descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c == "seg new" || c == "seg rtx"))
            .map(|n| {
                // "M{x} {y_lo}V{y_hi}...": the first move and the vertical line.
                let d = n.attribute("d").expect("a path");
                let lo: f64 = d[1..]
                    .split(['V', 'M', 'h'])
                    .next()
                    .and_then(|p| p.split(' ').nth(1))
                    .and_then(|v| v.parse().ok())
                    .expect("y_lo");
                let hi: f64 = d
                    .split('V')
                    .nth(1)
                    .and_then(|p| p.split('M').next())
                    .and_then(|v| v.parse().ok())
                    .expect("y_hi");
                (hi, lo)
            })
            .collect()
    }

    #[test]
    fn segments_retransmissions_losses_sacks_and_timeouts_are_each_drawn_once() {
        let svg = render_seqgraph(&trace(), &SeqGraphOptions::default()).expect("a graph");
        assert_eq!(count(&svg, "seg new"), 3);
        assert_eq!(count(&svg, "seg rtx"), 1);
        assert_eq!(count(&svg, "drop"), 1);
        assert_eq!(count(&svg, "sack"), 1);
        assert_eq!(count(&svg, "rto"), 1);
        assert_eq!(count(&svg, "ack"), 1);
        assert_eq!(count(&svg, "win"), 1);
        assert!(svg.contains(CONN), "the connection is named");
    }

    #[test]
    fn a_segment_the_link_damaged_gets_a_cross_of_its_own() {
        let mut t = trace();
        // The third segment (1200) arrives damaged: the receiver's checksum drops it.
        let at =
            t.iter().position(|l| matches!(&l.event, Event::Send(s) if s.seg.seq == 1200)).expect("sent");
        t.insert(at + 1, TraceLine::corrupt(20_000, "server->client", seg("P.", 1200, 1, 100, 1000, &[])));
        let svg = render_seqgraph(&t, &SeqGraphOptions::default()).expect("a graph");
        assert_eq!((count(&svg, "drop"), count(&svg, "damaged")), (1, 1));
        assert!(svg.contains(">damaged on a link<"));
    }

    #[test]
    fn higher_sequence_numbers_are_drawn_higher_and_a_retransmission_where_the_original_was() {
        let svg = render_seqgraph(&trace(), &SeqGraphOptions::default()).expect("a graph");
        let b = beams(&svg);
        assert_eq!(b.len(), 4);
        // SVG's y grows downwards: each segment's top above its bottom, each new one
        // above the one before, 100 bytes each the same height.
        for (top, bottom) in &b {
            assert!(top < bottom, "{b:?}");
        }
        assert!(b[1].1 <= b[0].0 + 0.11 && b[2].1 <= b[1].0 + 0.11, "stacked upwards: {b:?}");
        assert!(((b[0].1 - b[0].0) - (b[2].1 - b[2].0)).abs() < 0.2, "{b:?}");
        assert_eq!(b[3], b[1], "the retransmission repeats the lost segment's place");
    }

    #[test]
    fn the_window_is_scaled_only_when_both_syns_offered_scaling() {
        let (ours, theirs) =
            (seg("S.", 999, 1, 0, 1000, &["mss 1460", "wscale 2"]), seg("S", 0, 0, 0, 1, &["wscale 3"]));
        assert_eq!(window_shift(Some(&ours), Some(&theirs)), 3, "the ACK sender's shift");
        let plain = seg("S.", 999, 1, 0, 1000, &["mss 1460"]);
        assert_eq!(window_shift(Some(&plain), Some(&theirs)), 0, "the data sender's SYN did not offer it");
        assert_eq!(window_shift(Some(&ours), None), 0, "no SYN of the ACK sender in the trace");
    }

    #[test]
    fn a_zoom_keeps_what_happened_in_it() {
        let opts = SeqGraphOptions { time_us: Some((100_000, 300_000)), ..SeqGraphOptions::default() };
        let svg = render_seqgraph(&trace(), &opts).expect("a graph");
        assert_eq!((count(&svg, "seg new"), count(&svg, "seg rtx"), count(&svg, "rto")), (0, 1, 1));
        assert_eq!(count(&svg, "sack"), 0, "the SACK came before the zoom");
        assert_eq!(count(&svg, "ack"), 1, "the ACK line starts from the last ACK before it");
        let none = SeqGraphOptions { time_us: Some((500_000, 600_000)), ..SeqGraphOptions::default() };
        assert_eq!(render_seqgraph(&trace(), &none), Err(SeqGraphError::NoData));
    }

    /// A trace of the receiving side only (`synack tun` receiving from the kernel): the
    /// client's view of three segments from an unobserved server, the second of which
    /// arrives twice, and the ACKs it sent (its own SYN announced a shift of 4).
    #[test]
    fn a_receivers_trace_is_drawn_from_what_arrived_and_the_acks_it_sent() {
        const CC: &str = "192.0.2.1:50000-192.0.2.2:80";
        let arrive = |t: u64, flags: &str, seq: u32, len: u32, opts: &[&str]| {
            let ev = RecvEvent {
                host: "client".into(),
                conn: CC.into(),
                seg: seg(flags, seq, 1, len, 1000, opts),
            };
            TraceLine::new(t, Event::Recv(ev))
        };
        let ack = |t: u64, flags: &str, ack: u32, win: u16, opts: &[&str]| {
            let mut s = seg(flags, 1, ack, 0, win, opts);
            std::mem::swap(&mut s.src, &mut s.dst);
            let ev = SendEvent {
                host: "client".into(),
                conn: CC.into(),
                seg: s,
                retransmit: false,
                packet_id: None,
                packet: None,
            };
            TraceLine::new(t, Event::Send(ev))
        };
        let t = vec![
            ack(0, "S", 0, 1000, &["wscale 4"]),
            arrive(10_000, "S.", 999, 0, &["wscale 2"]),
            ack(10_000, ".", 1000, 64, &[]),
            arrive(20_000, ".", 1000, 100, &[]),
            arrive(20_000, ".", 1100, 100, &[]),
            ack(20_000, ".", 1200, 64, &[]),
            arrive(30_000, ".", 1100, 100, &[]),
            ack(30_000, ".", 1200, 64, &["sack 1100:1200"]),
            arrive(40_000, "P.", 1200, 100, &[]),
            ack(40_000, ".", 1300, 64, &[]),
        ];
        let svg = render_seqgraph(&t, &SeqGraphOptions::default()).expect("a graph");
        assert!(svg.contains("data received by client"), "the receiver's view");
        assert_eq!((count(&svg, "seg new"), count(&svg, "seg rtx")), (3, 1), "the second arrival again");
        assert_eq!((count(&svg, "ack"), count(&svg, "win"), count(&svg, "sack")), (1, 1, 1));
        assert_eq!((count(&svg, "drop"), count(&svg, "drop legend"), count(&svg, "rto legend")), (0, 0, 0));
        assert!(
            svg.contains(">arrived again<") && svg.contains(">ACK sent<"),
            "the legend says what is drawn"
        );
        // The window of the client's ACKs is scaled by its own shift: 64 << 4.
        let (ours, theirs) =
            (seg("S.", 999, 1, 0, 1000, &["wscale 2"]), seg("S", 0, 0, 0, 1000, &["wscale 4"]));
        assert_eq!(window_shift(Some(&ours), Some(&theirs)), 4);
        // Asked for the sender by name: it is not in the trace.
        let named = SeqGraphOptions { sender: Some("server".into()), ..SeqGraphOptions::default() };
        assert_eq!(render_seqgraph(&t, &named), Err(SeqGraphError::UnknownSender("server".into())));
    }

    #[test]
    fn times_far_from_zero_still_get_a_bounded_axis() {
        // A trace read from a file may say anything: here three segments sent 2 us
        // apart, 2^53 microseconds (285 years) in, where floats are 2 apart: the axis
        // step for that span (0.5) added to a time leaves it unchanged, and a loop
        // summing the steps never ended.
        let far: Vec<TraceLine> = trace()
            .into_iter()
            .filter(|l| l.t_us == 20_000)
            .map(|l| {
                let late = matches!(&l.event, Event::Send(s) if s.seg.seq == 1200);
                TraceLine { t_us: (1 << 53) + if late { 4 } else { 0 }, ..l }
            })
            .collect();
        let svg = render_seqgraph(&far, &SeqGraphOptions::default()).expect("a graph");
        assert!(count(&svg, "grid") <= 80, "{} grid lines", count(&svg, "grid"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "every coordinate a number");
        // All at one instant that far out: the span rounds to nothing.
        let instant: Vec<TraceLine> = far.iter().cloned().map(|l| TraceLine { t_us: 1 << 53, ..l }).collect();
        let svg = render_seqgraph(&instant, &SeqGraphOptions::default()).expect("a graph");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "every coordinate a number");
        assert_eq!(count(&svg, "seg new"), 3);
        assert_eq!(ticks(0.0, 10.0, 1.0).count(), 11);
        assert_eq!(ticks(0.5, 3.0, 1.0).collect::<Vec<_>>(), vec![1.0, 2.0, 3.0]);
    }

    /// Every tick of a zoomed axis gets a label of its own: ticks 5 kB apart above
    /// 1 MB once read 1.62M, 1.62M, 1.63M, 1.63M.
    #[test]
    fn axis_labels_keep_the_digits_that_tell_neighbouring_ticks_apart() {
        let labels: Vec<String> = ticks(1_615_000.0, 1_650_000.0, 5_000.0).map(fmt_bytes).collect();
        assert_eq!(labels, ["1.615M", "1.62M", "1.625M", "1.63M", "1.635M", "1.64M", "1.645M", "1.65M"]);
        assert_eq!(fmt_bytes(1_500.0), "1.5k");
        assert_eq!(fmt_bytes(930_000.0), "930k");
        assert_eq!(fmt_bytes(-0.0), "0");
        assert_eq!(fmt_bytes(0.1 * 3.0 * 1e6), "300k", "float noise rounds away");
    }

    #[test]
    fn no_data_and_unknown_senders_are_errors() {
        let handshake: Vec<TraceLine> = trace().into_iter().take(3).collect();
        assert_eq!(render_seqgraph(&handshake, &SeqGraphOptions::default()), Err(SeqGraphError::NoData));
        let client = SeqGraphOptions { sender: Some("client".into()), ..SeqGraphOptions::default() };
        assert_eq!(render_seqgraph(&trace(), &client), Err(SeqGraphError::UnknownSender("client".into())));
        assert!(SeqGraphError::NoData.to_string().contains("no segment with data"));
    }
}
