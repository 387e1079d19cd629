//! Packet events: building inbound segments from script lines and comparing outbound
//! segments with them, as packetdrill does.
//!
//! Sequence numbers: the script's inbound `seq` and outbound `ack` values are offsets
//! from the remote ISN ([`REMOTE_ISN`]); outbound `seq` and inbound `ack` values are
//! offsets from the stack's ISN, learned from its SYN or SYN-ACK. A `!` after the
//! sequence part (`0:0(0)!`) makes the outbound sequence number absolute: the FreeBSD
//! suite uses it on `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>` answers, whose
//! sequence number is 0 whatever the ISN (RFC 9293 3.10.7.1).

use super::engine::{secs, Runner, Step, Stop, REMOTE_ISN};
use super::wire::{self, Actual, Inbound, RawOpt};
use super::Check;
use crate::ast::{
    Direction, EcnCodepoint, Event, IpField, PacketBody, PacketSpec, SeqSpec, TcpFlags, TcpOption,
    TcpOptions, TcpSegment, TimeSpec,
};
use synack::Instant;

/// Default window of an inbound segment whose line gives none.
const DEFAULT_INBOUND_WINDOW: u16 = 65535;
/// Default TTL / hop limit of inbound datagrams.
const DEFAULT_TTL: u8 = 64;

impl Runner {
    // ----- inbound ----------------------------------------------------------------

    /// Injects an inbound (`<`) segment.
    pub(crate) fn inject(&mut self, ev: &Event, p: &PacketSpec) -> Step {
        if let PacketBody::Icmp(icmp) = &p.body {
            return self.inject_icmp(ev, icmp);
        }
        let seg = self.tcp_of(ev, p)?;
        if seg.udp_encap.is_some() {
            return Err(Stop::skip(ev.line, "TCP over UDP encapsulation is not supported by synack"));
        }
        let (src, dst) = self.inbound_endpoints();
        let seq = match seg.seq {
            SeqSpec::Range { start, .. } if seg.absolute_seq => start,
            SeqSpec::Range { start, .. } => REMOTE_ISN.wrapping_add(start),
            SeqSpec::Any { .. } => {
                return Err(Stop::skip(ev.line, "script error: an inbound segment needs a sequence number"))
            }
        };
        let local_isn = self.local_isn.unwrap_or(0);
        let ack = seg.ack.map_or(0, |a| local_isn.wrapping_add(a));
        let mut options = Vec::new();
        match &seg.options {
            None => {}
            Some(TcpOptions::Any) => {
                return Err(Stop::skip(ev.line, "script error: `<...>` options on an inbound segment"));
            }
            Some(TcpOptions::List(list)) => {
                for o in list {
                    options.push(self.inbound_option(ev.line, o)?);
                }
            }
        }
        let (ttl, tos) = ip_fields(ev.line, p)?;
        let inbound = Inbound {
            src,
            dst,
            flags: flag_bits(&seg.flags),
            seq,
            ack,
            win: seg.win.unwrap_or(DEFAULT_INBOUND_WINDOW),
            urg: seg.urg.unwrap_or(0),
            options,
            payload_len: seg.seq.len() as usize,
            ttl: ttl.unwrap_or(DEFAULT_TTL),
            tos: tos.unwrap_or(0),
        };
        let bytes = wire::build(&inbound).map_err(|e| Stop::skip(ev.line, format!("script error: {e}")))?;
        let now = Instant::from_micros(self.now);
        self.stack().handle_packet(now, &bytes);
        self.drain()
    }

    fn inbound_option(&self, line: u32, o: &TcpOption) -> Step<RawOpt> {
        let local_isn = self.local_isn.unwrap_or(0);
        Ok(match o {
            TcpOption::Nop => RawOpt::Nop,
            TcpOption::Eol => RawOpt::Eol,
            TcpOption::Mss(m) => RawOpt::Mss(*m),
            TcpOption::WindowScale(s) => RawOpt::WindowScale(*s),
            TcpOption::SackPermitted => RawOpt::SackPermitted,
            TcpOption::Sack(blocks) => RawOpt::Sack(
                blocks
                    .iter()
                    .map(|(l, r)| (local_isn.wrapping_add(*l), local_isn.wrapping_add(*r)))
                    .collect(),
            ),
            TcpOption::Timestamp { val, ecr } => {
                // The script's TSecr echoes a TSval of the script's outbound lines:
                // translate it to the stack's clock.
                let ecr = match self.ts_map {
                    Some((script, live)) if *ecr != 0 => live.wrapping_add(ecr.wrapping_sub(script)),
                    _ => *ecr,
                };
                RawOpt::Timestamp { val: *val, ecr }
            }
            TcpOption::Md5 { .. } => {
                return Err(Stop::skip(line, "TCP-MD5 signatures are not supported by synack"))
            }
            TcpOption::Unknown { raw, .. } => {
                return Err(Stop::skip(line, format!("TCP option `{raw}` is not understood by the runner")))
            }
        })
    }

    fn tcp_of<'p>(&self, ev: &Event, p: &'p PacketSpec) -> Step<&'p TcpSegment> {
        match &p.body {
            PacketBody::Tcp(t) => Ok(t),
            // (An inbound one is injected by `inject_icmp`.)
            PacketBody::Icmp(_) => Err(Stop::skip(
                ev.line,
                "outbound ICMP is not checked (synack sends it only for a reassembly out of time)",
            )),
            PacketBody::Unsupported(u) => {
                Err(Stop::skip(ev.line, format!("{} packets are not supported by synack", u.protocol)))
            }
        }
    }

    // ----- outbound ---------------------------------------------------------------

    /// Matches an outbound (`>`) line against the next segment the stack sends.
    pub(crate) fn expect_outbound(&mut self, ev: &Event, p: &PacketSpec) -> Step {
        let seg = self.tcp_of(ev, p)?;
        if seg.udp_encap.is_some() {
            return Err(Stop::skip(ev.line, "TCP over UDP encapsulation is not supported by synack"));
        }
        if let Some(TcpOptions::List(list)) = &seg.options {
            for o in list {
                match o {
                    TcpOption::Md5 { .. } => {
                        return Err(Stop::skip(ev.line, "TCP-MD5 signatures are not supported by synack"))
                    }
                    TcpOption::Unknown { raw, .. } => {
                        return Err(Stop::skip(
                            ev.line,
                            format!("TCP option `{raw}` is not understood by the runner"),
                        ))
                    }
                    _ => {}
                }
            }
        }
        let tol = self.tolerance;
        let prev = self.prev_event;
        let (expected_at, lo, hi) = match ev.time {
            TimeSpec::At(t) => {
                let t = self.point(t);
                (Some(t), t.saturating_sub(tol), t.saturating_add(tol))
            }
            TimeSpec::Unspecified => {
                (Some(self.base), self.base.saturating_sub(tol), self.base.saturating_add(tol))
            }
            TimeSpec::Range { start, end } => {
                let (a, b) = (self.point(start), self.point(end));
                (None, a.saturating_sub(tol), b.saturating_add(tol))
            }
            TimeSpec::Wildcard => (None, 0, self.now.saturating_add(WILDCARD_LIMIT)),
            TimeSpec::Blocking { .. } => {
                return Err(Stop::skip(ev.line, "script error: blocking time on a packet"))
            }
        };
        let expected_text = format!("{} at {}", format_expected(p, seg), when(expected_at, lo, hi));
        let hi = if self.ignore.contains(&Check::Timing) { hi.saturating_add(LOOKAHEAD) } else { hi };
        let Some(first) = self.next_segment(hi)? else {
            // Say what came instead, if anything does.
            let late = self.next_segment(hi.saturating_add(LOOKAHEAD))?;
            let actual = match late {
                Some(a) => format!("{} at {} (late)", self.describe(&a), secs(a.t)),
                None => "no segment".into(),
            };
            return Err(Stop::fail(ev.line, "missing segment", expected_text, actual));
        };
        let mut actual = first;
        // packetdrill merges consecutive segments up to the scripted length.
        let want = seg.seq.len();
        // Only data segments merge: a pure ACK before the data is a segment of its own.
        while actual.payload_len > 0 && actual.payload_len < want {
            let Some(next) = self.peek_segment(hi)? else { break };
            let contiguous = next.seq
                == actual.seq.wrapping_add(actual.payload_len).wrapping_add(syn_fin(&actual))
                && next.ack == actual.ack
                && next.payload_len > 0
                && actual.flags & 0x03 == 0;
            if !contiguous || actual.payload_len + next.payload_len > want {
                break;
            }
            self.outq.pop_front();
            actual.payload_len += next.payload_len;
            actual.flags |= next.flags;
            actual.win = next.win;
        }
        // The stack's ISN, from its SYN.
        if actual.flags & 0x02 != 0 && !seg.absolute_seq {
            let start = seg.seq.start().unwrap_or(0);
            self.local_isn = Some(actual.seq.wrapping_sub(start));
        }
        if actual.t < lo && !self.ignore.contains(&Check::Timing) {
            // Sent before the previous event: a segment the script does not expect.
            let (what, note) = if actual.t < prev {
                ("unexpected segment", "before the previous event")
            } else {
                ("timing", "early")
            };
            let a = format!("{} at {} ({note})", self.describe(&actual), secs(actual.t));
            return Err(Stop::fail(ev.line, what, expected_text, a));
        }
        if let Err(what) = self.compare(p, seg, &actual) {
            let a = format!("{} at {}", self.describe(&actual), secs(actual.t));
            return Err(Stop::fail(ev.line, &what, expected_text, a));
        }
        if self.ts_map.is_none() {
            self.learn_ts(seg, &actual);
        }
        // Later relative times count from when the segment was actually sent.
        self.base = actual.t;
        Ok(())
    }

    /// The next segment sent by `limit`, running timers as needed; taken from the queue.
    fn next_segment(&mut self, limit: u64) -> Step<Option<Actual>> {
        let seg = self.peek_segment(limit)?;
        if seg.is_some() {
            self.outq.pop_front();
        }
        Ok(seg)
    }

    /// The next segment sent by `limit`, left in the queue.
    fn peek_segment(&mut self, limit: u64) -> Step<Option<Actual>> {
        loop {
            if let Some(a) = self.outq.front() {
                return Ok(Some(a.clone()));
            }
            if !self.step_timer(limit)? {
                return Ok(None);
            }
        }
    }

    fn learn_ts(&mut self, seg: &TcpSegment, actual: &Actual) {
        let Some(TcpOptions::List(list)) = &seg.options else { return };
        let script = list.iter().find_map(|o| match o {
            TcpOption::Timestamp { val, .. } => Some(*val),
            _ => None,
        });
        let live = actual.options.iter().find_map(|o| match o {
            RawOpt::Timestamp { val, .. } => Some(*val),
            _ => None,
        });
        if let (Some(s), Some(l)) = (script, live) {
            self.ts_map = Some((s, l));
        }
    }

    /// Compares the fields packetdrill compares; `Err` names the first that differs.
    fn compare(&self, p: &PacketSpec, seg: &TcpSegment, a: &Actual) -> Result<(), String> {
        if flag_bits(&seg.flags) != a.flags {
            return Err("flags".into());
        }
        if let SeqSpec::Range { start, .. } = seg.seq {
            let want = if seg.absolute_seq { start } else { self.local_isn.unwrap_or(0).wrapping_add(start) };
            if want != a.seq {
                return Err("seq".into());
            }
        }
        if seg.seq.len() != a.payload_len {
            return Err("length".into());
        }
        if let Some(ack) = seg.ack {
            if REMOTE_ISN.wrapping_add(ack) != a.ack {
                return Err("ack".into());
            }
        }
        if seg.win.is_some_and(|w| w != a.win) && !self.ignore.contains(&Check::Window) {
            return Err("win".into());
        }
        if seg.urg.is_some_and(|u| u != a.urg) {
            return Err("urg".into());
        }
        let options_ok = match &seg.options {
            _ if self.ignore.contains(&Check::Options) => true,
            Some(TcpOptions::Any) => true,
            None => a.options.is_empty(),
            Some(TcpOptions::List(list)) => {
                list.len() == a.options.len()
                    && list.iter().zip(&a.options).all(|(e, x)| self.same_option(e, x))
            }
        };
        if !options_ok {
            return Err("options".into());
        }
        for f in &p.ip_fields {
            let ok = match f {
                IpField::Ttl(v) | IpField::HopLimit(v) => *v == a.ttl,
                IpField::Tos(v) | IpField::TrafficClass(v) => *v == a.tos,
                _ => true,
            };
            if !ok {
                return Err("ip header".into());
            }
        }
        if let Some(ecn) = &p.ecn {
            let bits = a.tos & 0x03;
            let ok = match ecn {
                EcnCodepoint::NotEct => bits == 0,
                EcnCodepoint::Ect1 => bits == 1,
                EcnCodepoint::Ect0 => bits == 2,
                EcnCodepoint::Ce => bits == 3,
                EcnCodepoint::Ect01 => bits == 1 || bits == 2,
                EcnCodepoint::Other(_) => false,
            };
            if !ok {
                return Err("ecn".into());
            }
        }
        Ok(())
    }

    /// One option against its expectation. TSval is not compared (packetdrill checks
    /// it only with `--tcp_ts_tick_usecs`); TSecr is.
    fn same_option(&self, e: &TcpOption, a: &RawOpt) -> bool {
        match (e, a) {
            (TcpOption::Nop, RawOpt::Nop) | (TcpOption::Eol, RawOpt::Eol) => true,
            (TcpOption::SackPermitted, RawOpt::SackPermitted) => true,
            (TcpOption::Mss(x), RawOpt::Mss(y)) => x == y,
            (TcpOption::WindowScale(x), RawOpt::WindowScale(y)) => x == y,
            (TcpOption::Sack(x), RawOpt::Sack(y)) => {
                x.len() == y.len()
                    && x.iter().zip(y).all(|((l, r), (al, ar))| {
                        REMOTE_ISN.wrapping_add(*l) == *al && REMOTE_ISN.wrapping_add(*r) == *ar
                    })
            }
            (TcpOption::Timestamp { ecr, .. }, RawOpt::Timestamp { ecr: aecr, .. }) => ecr == aecr,
            _ => false,
        }
    }

    /// An actual segment in script syntax, numbers relative like the script's.
    pub(crate) fn describe(&self, a: &Actual) -> String {
        let isn = self.local_isn.unwrap_or(0);
        let seq = a.seq.wrapping_sub(isn);
        let mut s =
            format!("{} {}:{}({})", flag_text(a.flags), seq, seq.wrapping_add(a.payload_len), a.payload_len);
        if a.flags & 0x10 != 0 {
            s.push_str(&format!(" ack {}", a.ack.wrapping_sub(REMOTE_ISN)));
        }
        s.push_str(&format!(" win {}", a.win));
        if !a.options.is_empty() {
            let opts: Vec<String> = a.options.iter().map(raw_opt_text).collect();
            s.push_str(&format!(" <{}>", opts.join(",")));
        }
        s
    }
}

/// How far past the window the runner looks for a late segment (for the message only).
const LOOKAHEAD: u64 = 120_000_000;
/// How long a `*` outbound line waits for its segment.
const WILDCARD_LIMIT: u64 = 600_000_000;

fn when(at: Option<u64>, lo: u64, hi: u64) -> String {
    match at {
        Some(t) => format!("{}±{}ms", secs(t), (hi - t) / 1000),
        None => format!("[{}, {}]", secs(lo), secs(hi)),
    }
}

/// SYN and FIN each take one sequence number.
fn syn_fin(a: &Actual) -> u32 {
    u32::from(a.flags & 0x02 != 0) + u32::from(a.flags & 0x01 != 0)
}

/// TTL and TOS/traffic class from the line's `(ttl N, tos N)` prefix and `[ect0]`.
fn ip_fields(line: u32, p: &PacketSpec) -> Step<(Option<u8>, Option<u8>)> {
    let mut ttl = None;
    let mut tos = None;
    for f in &p.ip_fields {
        match f {
            IpField::Ttl(v) | IpField::HopLimit(v) => ttl = Some(*v),
            IpField::Tos(v) | IpField::TrafficClass(v) => tos = Some(*v),
            IpField::FlowLabel(_) => {}
            IpField::Other { name, .. } => {
                return Err(Stop::skip(line, format!("IP field `{name}` is not understood by the runner")))
            }
        }
    }
    if let Some(ecn) = &p.ecn {
        let bits = match ecn {
            EcnCodepoint::NotEct => 0,
            EcnCodepoint::Ect1 => 1,
            EcnCodepoint::Ect0 | EcnCodepoint::Ect01 => 2,
            EcnCodepoint::Ce => 3,
            EcnCodepoint::Other(w) => {
                return Err(Stop::skip(line, format!("ECN codepoint `{w}` is not understood by the runner")))
            }
        };
        tos = Some((tos.unwrap_or(0) & !0x03) | bits);
    }
    Ok((ttl, tos))
}

/// The header's flag byte.
pub(crate) fn flag_bits(f: &TcpFlags) -> u8 {
    let mut b = 0;
    for (set, bit) in [
        (f.fin, 0x01),
        (f.syn, 0x02),
        (f.rst, 0x04),
        (f.psh, 0x08),
        (f.ack, 0x10),
        (f.urg, 0x20),
        (f.ece, 0x40),
        (f.cwr, 0x80),
    ] {
        if set {
            b |= bit;
        }
    }
    b
}

/// Flags as scripts write them: `S.`, `F.`, `P.`, `R`, `SEW`, `-` for none.
pub(crate) fn flag_text(b: u8) -> String {
    let mut s = String::new();
    for (bit, c) in
        [(0x02, 'S'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P'), (0x20, 'U'), (0x40, 'E'), (0x80, 'W')]
    {
        if b & bit != 0 {
            s.push(c);
        }
    }
    if b & 0x10 != 0 {
        s.push('.');
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

fn raw_opt_text(o: &RawOpt) -> String {
    match o {
        RawOpt::Eol => "eol".into(),
        RawOpt::Nop => "nop".into(),
        RawOpt::Mss(m) => format!("mss {m}"),
        RawOpt::WindowScale(s) => format!("wscale {s}"),
        RawOpt::SackPermitted => "sackOK".into(),
        RawOpt::Sack(b) => {
            let blocks: Vec<String> = b
                .iter()
                .map(|(l, r)| format!("{}:{}", l.wrapping_sub(REMOTE_ISN), r.wrapping_sub(REMOTE_ISN)))
                .collect();
            format!("sack {}", blocks.join(" "))
        }
        RawOpt::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        RawOpt::Other { kind, data } => format!("kind {kind} len {}", data.len() + 2),
    }
}

fn option_text(o: &TcpOption) -> String {
    match o {
        TcpOption::Nop => "nop".into(),
        TcpOption::Eol => "eol".into(),
        TcpOption::Mss(m) => format!("mss {m}"),
        TcpOption::WindowScale(s) => format!("wscale {s}"),
        TcpOption::SackPermitted => "sackOK".into(),
        TcpOption::Sack(b) => {
            let blocks: Vec<String> = b.iter().map(|(l, r)| format!("{l}:{r}")).collect();
            format!("sack {}", blocks.join(" "))
        }
        TcpOption::Timestamp { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOption::Md5 { valid } => format!("md5 {}", if *valid { "valid" } else { "invalid" }),
        TcpOption::Unknown { raw, .. } => raw.clone(),
    }
}

/// A packet line re-printed from its parsed form (normalised spacing).
pub(crate) fn format_expected(p: &PacketSpec, seg: &TcpSegment) -> String {
    let dir = if p.direction == Direction::Outbound { ">" } else { "<" };
    let mut s = format!("{dir} {}", flag_text(flag_bits(&seg.flags)));
    match seg.seq {
        SeqSpec::Range { start, end, len } => s.push_str(&format!(" {start}:{end}({len})")),
        SeqSpec::Any { len } => s.push_str(&format!(" ...({len})")),
    }
    if seg.absolute_seq {
        s.push('!');
    }
    if let Some(a) = seg.ack {
        s.push_str(&format!(" ack {a}"));
    }
    if let Some(w) = seg.win {
        s.push_str(&format!(" win {w}"));
    }
    match &seg.options {
        None => {}
        Some(TcpOptions::Any) => s.push_str(" <...>"),
        Some(TcpOptions::List(l)) => {
            let opts: Vec<String> = l.iter().map(option_text).collect();
            s.push_str(&format!(" <{}>", opts.join(",")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_like_scripts() {
        assert_eq!(flag_text(0x12), "S.");
        assert_eq!(flag_text(0x04), "R");
        assert_eq!(flag_text(0x11), "F.");
        assert_eq!(flag_text(0x18), "P.");
        assert_eq!(flag_text(0xc2), "SEW");
        assert_eq!(flag_text(0), "-");
    }

    #[test]
    fn flag_bits_follow_the_header_layout() {
        let f = TcpFlags { syn: true, ack: true, ..TcpFlags::default() };
        assert_eq!(flag_bits(&f), 0x12);
    }
}
