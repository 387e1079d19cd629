//! What the diagrams need to know about a trace beyond its lines: which hosts there are
//! and in what order, who each segment went to, what the links did to it, when it
//! arrived, and how long each TIME-WAIT lasted.

use crate::model::{ip_of, Event, LinkEventKind, Seg, TraceLine};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

/// The lines in time order: as given when they already are (the contract), else
/// stably sorted by `t_us` (a driver that merged its hosts' traces loosely).
pub(crate) fn in_time_order(lines: &[TraceLine]) -> Cow<'_, [TraceLine]> {
    if lines.windows(2).all(|w| w[0].t_us <= w[1].t_us) {
        Cow::Borrowed(lines)
    } else {
        let mut sorted = lines.to_vec();
        sorted.sort_by_key(|l| l.t_us);
        Cow::Owned(sorted)
    }
}

/// One host of the trace (a column of the ladder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    /// Its name, as the trace's `host` field.
    pub(crate) name: String,
    /// The endpoint shown beside the name (`ip:port` of its first segment or connection).
    pub(crate) endpoint: Option<String>,
    /// Every IP address the host is seen using.
    pub(crate) ips: Vec<String>,
    /// Whether the trace holds the host's own events (false for a peer seen only as
    /// the address of the observed hosts' segments).
    pub(crate) observed: bool,
}

/// What happened to one `send` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendInfo {
    /// Index of the `send` line in the trace.
    pub(crate) line: usize,
    /// Index of the sending host.
    pub(crate) from: usize,
    /// Index of the receiving host, when it is known.
    pub(crate) to: Option<usize>,
    /// When a link lost it.
    pub(crate) dropped: Option<u64>,
    /// Whether a link duplicated it.
    pub(crate) dup: bool,
    /// Whether a link damaged it.
    pub(crate) corrupt: bool,
    /// The line where the receiver got it (its `recv` line, or the link's `deliver`).
    pub(crate) arrival: Option<usize>,
    /// The line where the receiver got the link's duplicate.
    pub(crate) dup_arrival: Option<usize>,
    /// The name of the link that dropped, duplicated, damaged or delivered it.
    pub(crate) link: Option<String>,
}

/// The `host` of a line's connection endpoint `LOCAL-REMOTE`: the local part.
fn conn_local(conn: &str) -> &str {
    conn.split_once('-').map_or(conn, |(l, _)| l)
}

fn conn_is_listener(conn: &str) -> bool {
    conn.split_once('-').is_some_and(|(_, r)| r.ends_with(":0"))
}

/// The hosts of `lines`, ordered: those named in `order` first (in that order), then
/// the host that sent the first pure SYN (the active opener goes left), then the rest
/// in order of first appearance.
///
/// A peer address that no host of the trace owns (the kernel on the far side of a TUN
/// device, an address nobody answers) becomes an unobserved host named by its IP: its
/// segments are known only from the observed side.
pub(crate) fn hosts(lines: &[TraceLine], order: &[String]) -> Vec<Host> {
    let mut list: Vec<Host> = Vec::new();
    for line in lines {
        let Some(name) = line.host() else { continue };
        let idx = match list.iter().position(|h| h.name == name) {
            Some(i) => i,
            None => {
                list.push(Host { name: name.to_string(), endpoint: None, ips: Vec::new(), observed: true });
                list.len() - 1
            }
        };
        let host = &mut list[idx];
        let mut add_ip = |ip: &str| {
            if !ip.is_empty() && !host.ips.iter().any(|i| i == ip) {
                host.ips.push(ip.to_string());
            }
        };
        match &line.event {
            Event::Send(s) => {
                add_ip(s.seg.src_ip());
                add_ip(ip_of(conn_local(&s.conn)));
                if host.endpoint.is_none() {
                    host.endpoint = Some(s.seg.src.clone());
                }
            }
            Event::Recv(r) => {
                add_ip(r.seg.dst_ip());
                add_ip(ip_of(conn_local(&r.conn)));
            }
            Event::State(e) => add_ip(ip_of(conn_local(&e.conn))),
            Event::App(e) => add_ip(ip_of(conn_local(&e.conn))),
            Event::Timer(e) => add_ip(ip_of(conn_local(&e.conn))),
            _ => {}
        }
    }
    // Hosts that never sent: show a connection's local endpoint, a listener's last.
    for host in &mut list {
        if host.endpoint.is_some() {
            continue;
        }
        let conns =
            lines.iter().filter(|l| l.host() == Some(host.name.as_str())).filter_map(|l| match &l.event {
                Event::State(e) => Some(e.conn.as_str()),
                Event::App(e) => Some(e.conn.as_str()),
                Event::Recv(e) => Some(e.conn.as_str()),
                Event::Timer(e) => Some(e.conn.as_str()),
                _ => None,
            });
        let mut listener = None;
        for c in conns {
            if conn_is_listener(c) {
                listener.get_or_insert(c);
            } else {
                host.endpoint = Some(conn_local(c).to_string());
                break;
            }
        }
        if host.endpoint.is_none() {
            host.endpoint = listener.map(|c| conn_local(c).to_string());
        }
    }
    // Peers nobody owns; and who sent the first pure SYN.
    let mut syn_sender: Option<String> = None;
    for line in lines {
        let (peer, syn) = match &line.event {
            Event::Send(s) => {
                if syn_sender.is_none() && s.seg.flags == "S" {
                    syn_sender = Some(s.host.clone());
                }
                (&s.seg.dst, false)
            }
            Event::Recv(r) => (&r.seg.src, r.seg.flags == "S"),
            _ => continue,
        };
        let ip = ip_of(peer);
        let owner = host_of_ip(&list, ip);
        let owner = match owner {
            Some(i) => i,
            None => {
                list.push(Host {
                    name: ip.to_string(),
                    endpoint: Some(peer.clone()),
                    ips: vec![ip.to_string()],
                    observed: false,
                });
                list.len() - 1
            }
        };
        if syn && syn_sender.is_none() && !list[owner].observed {
            syn_sender = Some(list[owner].name.clone());
        }
    }
    let mut ordered = Vec::with_capacity(list.len());
    for name in order.iter().map(String::as_str).chain(syn_sender.as_deref()) {
        if let Some(i) = list.iter().position(|h| h.name == name) {
            ordered.push(list.remove(i));
        }
    }
    ordered.extend(list);
    ordered
}

/// The index of the host using `ip`.
fn host_of_ip(hosts: &[Host], ip: &str) -> Option<usize> {
    hosts.iter().position(|h| h.ips.iter().any(|i| i == ip))
}

/// The receiving host of `seg` sent by host `from`: by destination address, else by the
/// link's name, else the only other host.
fn receiver(hosts: &[Host], from: usize, seg: &Seg, link: Option<&str>) -> Option<usize> {
    if let Some(i) = host_of_ip(hosts, seg.dst_ip()).filter(|&i| i != from) {
        return Some(i);
    }
    if let Some((_, to)) = link.and_then(|l| l.split_once("->")) {
        if let Some(i) = hosts.iter().position(|h| h.name == to) {
            return Some(i);
        }
    }
    if hosts.len() == 2 {
        return Some(1 - from);
    }
    None
}

/// A segment an observed host received from an unobserved one: known by its `recv`
/// line only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inbound {
    /// Index of the `recv` line.
    pub(crate) line: usize,
    /// Index of the (unobserved) sending host.
    pub(crate) from: usize,
    /// Index of the receiving host.
    pub(crate) to: usize,
}

/// The segments of a trace: every `send` line with what became of it, the segments
/// from unobserved peers, and for each line the send it is the arrival of.
pub(crate) struct Flows {
    /// The `send` lines, in trace order.
    pub(crate) sends: Vec<SendInfo>,
    /// `recv` lines of segments from unobserved hosts.
    pub(crate) inbound: Vec<Inbound>,
    /// Per line: the index in `sends` of the segment this line is an arrival of.
    pub(crate) arrival_of: Vec<Option<usize>>,
    /// Per line: the index in `sends` of its `send` line.
    pub(crate) send_of: Vec<Option<usize>>,
}

/// Identity of a segment on the wire for matching a send with its receptions.
type SegKey<'a> = (usize, &'a str, &'a str, &'a str, u32, u32, u32, u16);

fn seg_key(to: usize, s: &Seg) -> SegKey<'_> {
    (to, &s.src, &s.dst, &s.flags, s.seq, s.ack, s.len, s.win)
}

/// Every `send` line of `lines` with what became of it.
pub(crate) fn flows(lines: &[TraceLine], hosts: &[Host]) -> Flows {
    let mut out: Vec<SendInfo> = Vec::new();
    let mut send_of = vec![None; lines.len()];
    let mut by_packet: HashMap<u64, usize> = HashMap::new();
    for (i, line) in lines.iter().enumerate() {
        if let Event::Send(s) = &line.event {
            let Some(from) = hosts.iter().position(|h| h.name == s.host) else { continue };
            if let Some(id) = s.packet_id {
                by_packet.entry(id).or_insert(out.len());
            }
            send_of[i] = Some(out.len());
            out.push(SendInfo {
                line: i,
                from,
                to: None,
                dropped: None,
                dup: false,
                corrupt: false,
                arrival: None,
                dup_arrival: None,
                link: None,
            });
        }
    }
    // Link events: by packet id, else the latest earlier send of the same segment not
    // yet marked with this kind.
    let mut links: Vec<Option<&str>> = vec![None; out.len()];
    let mut delivered: Vec<Vec<usize>> = vec![Vec::new(); out.len()];
    let mut sent_before = 0;
    for (li, line) in lines.iter().enumerate() {
        if send_of[li].is_some() {
            sent_before += 1;
        }
        let Some((kind, ev)) = line.link_event() else { continue };
        let by_id = ev.packet_id.and_then(|id| by_packet.get(&id).copied());
        let found = by_id.or_else(|| {
            out[..sent_before].iter().rposition(|si| {
                let marked = match kind {
                    LinkEventKind::Drop => si.dropped.is_some(),
                    LinkEventKind::Dup => si.dup,
                    LinkEventKind::Corrupt => si.corrupt,
                    LinkEventKind::Deliver => false,
                };
                !marked && lines[si.line].seg().is_some_and(|s| s.same_as(&ev.seg))
            })
        });
        let Some(k) = found else { continue };
        links[k].get_or_insert(ev.link.as_str());
        match kind {
            LinkEventKind::Drop => out[k].dropped = Some(line.t_us),
            LinkEventKind::Dup => out[k].dup = true,
            LinkEventKind::Corrupt => out[k].corrupt = true,
            LinkEventKind::Deliver => delivered[k].push(li),
        }
    }
    for (k, si) in out.iter_mut().enumerate() {
        if let Some(seg) = lines[si.line].seg() {
            si.to = receiver(hosts, si.from, seg, links[k]);
        }
        si.link = links[k].map(str::to_string);
    }
    // Receptions, first in first out per segment identity and receiver.
    let mut recvs: HashMap<SegKey<'_>, VecDeque<usize>> = HashMap::new();
    let mut inbound = Vec::new();
    for (j, line) in lines.iter().enumerate() {
        let Event::Recv(r) = &line.event else { continue };
        let Some(to) = hosts.iter().position(|h| h.name == r.host) else { continue };
        match host_of_ip(hosts, r.seg.src_ip()) {
            Some(from) if !hosts[from].observed => inbound.push(Inbound { line: j, from, to }),
            _ => recvs.entry(seg_key(to, &r.seg)).or_default().push_back(j),
        }
    }
    // A segment damaged on the way is discarded by the receiver's checksum check: no
    // `recv` is its; only the link's delivery tells when it arrived. A duplicate claims
    // a second reception. The link's `deliver` lines are the fallback.
    let mut arrival_of = vec![None; lines.len()];
    for (k, si) in out.iter_mut().enumerate() {
        if si.dropped.is_some() {
            continue;
        }
        let mut found = Vec::new();
        if let (Some(to), Some(seg), false) = (si.to, lines[si.line].seg(), si.corrupt) {
            if let Some(queue) = recvs.get_mut(&seg_key(to, seg)) {
                while queue.front().is_some_and(|&j| j < si.line) {
                    queue.pop_front();
                }
                let wanted = if si.dup { 2 } else { 1 };
                while found.len() < wanted {
                    match queue.pop_front() {
                        Some(j) => found.push(j),
                        None => break,
                    }
                }
            }
        }
        let n_found = found.len();
        let mut arrivals = found.into_iter().chain(delivered[k].iter().copied().skip(n_found));
        si.arrival = arrivals.next();
        if si.dup {
            si.dup_arrival = arrivals.next();
        }
        for a in [si.arrival, si.dup_arrival].into_iter().flatten() {
            arrival_of[a] = Some(k);
        }
    }
    Flows { sends: out, inbound, arrival_of, send_of }
}

/// For each `state` line leaving TIME-WAIT for CLOSED: its index and the 2×MSL wait in
/// microseconds, from the time-wait timer's last `set` (its `at_us` minus its time),
/// else from the time the connection entered TIME-WAIT.
pub(crate) fn time_wait_ends(lines: &[TraceLine]) -> Vec<(usize, u64)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Event::State(st) = &line.event else { continue };
        if st.from != "TIME-WAIT" || st.to != "CLOSED" {
            continue;
        }
        let earlier = lines[..i].iter().rev();
        let mut wait = None;
        for prev in earlier {
            match &prev.event {
                Event::Timer(tm)
                    if tm.host == st.host
                        && tm.conn == st.conn
                        && tm.timer == "time-wait"
                        && tm.action == "set" =>
                {
                    wait = Some(tm.at_us.saturating_sub(prev.t_us));
                    break;
                }
                Event::State(p) if p.host == st.host && p.conn == st.conn && p.to == "TIME-WAIT" => {
                    wait = Some(line.t_us.saturating_sub(prev.t_us));
                    break;
                }
                _ => {}
            }
        }
        if let Some(w) = wait {
            out.push((i, w));
        }
    }
    out
}

/// Milliseconds with just the precision needed: `100`, `10.5`, `0.125`, `7.001`.
pub(crate) fn fmt_ms(us: u64) -> String {
    let ms = us / 1000;
    let frac = us % 1000;
    if frac == 0 {
        return ms.to_string();
    }
    let f = format!("{frac:03}");
    format!("{ms}.{}", f.trim_end_matches('0'))
}

/// Milliseconds with thousands grouped by spaces: `60 000`, `1 234.5`.
pub(crate) fn fmt_ms_grouped(us: u64) -> String {
    let s = fmt_ms(us);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s, None),
    };
    let digits: Vec<char> = int.chars().collect();
    let mut grouped = String::new();
    for (k, c) in digits.iter().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(*c);
    }
    match frac {
        Some(f) => format!("{grouped}.{f}"),
        None => grouped,
    }
}

/// The short text of a segment: `F. seq=101 ack=301 len=5 win=65535`, the flags padded
/// to two columns; `len` only when non-zero, `ack` only when ACK is set.
pub(crate) fn seg_label(seg: &Seg, seq_base: u32, ack_base: u32, show_opts: bool) -> String {
    let mut s = format!("{:<2} seq={}", seg.flags, seg.seq.wrapping_sub(seq_base));
    if seg.flags.contains('.') {
        s.push_str(&format!(" ack={}", seg.ack.wrapping_sub(ack_base)));
    }
    if seg.len > 0 {
        s.push_str(&format!(" len={}", seg.len));
    }
    s.push_str(&format!(" win={}", seg.win));
    if show_opts && !seg.opts.is_empty() {
        s.push_str(&format!(" <{}>", seg.opts.join(",")));
    }
    s
}

/// Per-direction initial sequence numbers, for relative numbering as tcpdump does it:
/// the `seq` of the first SYN each source sent.
pub(crate) fn isn_table(lines: &[TraceLine]) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = Vec::new();
    for line in lines {
        if let Event::Send(s) = &line.event {
            if s.seg.flags.contains('S') && !out.iter().any(|(src, _)| *src == s.seg.src) {
                out.push((s.seg.src.clone(), s.seg.seq));
            }
        }
    }
    out
}

/// The label of `seg` with relative numbers when `relative` (and the ISNs are known).
pub(crate) fn seg_label_rel(seg: &Seg, isns: &[(String, u32)], relative: bool, show_opts: bool) -> String {
    let find = |ep: &str| isns.iter().find(|(src, _)| src == ep).map(|(_, isn)| *isn);
    let (sb, ab) = if relative { (find(&seg.src).unwrap_or(0), find(&seg.dst).unwrap_or(0)) } else { (0, 0) };
    seg_label(seg, sb, ab, show_opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_show_only_needed_decimals() {
        assert_eq!(fmt_ms(100_000), "100");
        assert_eq!(fmt_ms(10_500), "10.5");
        assert_eq!(fmt_ms(125), "0.125");
        assert_eq!(fmt_ms_grouped(60_000_000), "60 000");
        assert_eq!(fmt_ms_grouped(1_234_500), "1 234.5");
        assert_eq!(fmt_ms_grouped(999_000), "999");
    }
}
