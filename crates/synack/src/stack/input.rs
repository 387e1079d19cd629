//! Datagram input: parse, demultiplex, and the CLOSED and LISTEN states of RFC 9293
//! 3.10.7.1 and 3.10.7.2.

use super::cookies::CookieVerdict;
use super::table::HashedKey;
use super::timewait::TimeWaitVerdict;
use super::{reasm, ListenerId, RecvInto, Stack};
use crate::config::SynCookies;
use crate::conn::{control_header, Control, Ctx, Outgoing, MAX_CONTROL_QUEUE};
use crate::event::ConnId;
use crate::isn::initial_sequence;
use crate::seq::SeqNum;
use crate::state::State;
use crate::time::Instant;
use crate::trace::{FourTuple, SegmentSummary, TraceEvent};
use crate::wire::{self, IpOut, Packet, TcpFlags, TcpHeader, WireError};
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

/// The smallest datagram `Stack::handle_packet` tries on its express path into the
/// receive buffer (`Stack::express`): bulk data, not the requests and responses of
/// short connections. Measured on `churn` (1-byte exchanges) with every payload tried: 314
/// more instructions and 832 more bytes of code per lifecycle. (A datagram of 296 bytes
/// carries 256 of payload behind plain IPv4 and TCP headers.)
const EXPRESS_RING_MIN: usize = 296;

/// The trace's view of a segment.
pub(crate) fn summarize(src: SocketAddr, dst: SocketAddr, hdr: &TcpHeader, len: usize) -> SegmentSummary {
    SegmentSummary {
        src,
        dst,
        flags: hdr.flags,
        seq: hdr.seq.raw(),
        ack: if hdr.flags.ack() { hdr.ack.raw() } else { 0 },
        len: len as u32,
        win: hdr.window,
        opts: hdr.options,
    }
}

/// How [`Stack::input`] parsed a datagram, for what follows the checksum.
enum Parsed<'p, 'a> {
    /// The general way: dispatched by [`Stack::dispatch`].
    General(&'p Packet<'a>),
    /// [`wire::parse_plain_v4`], for the connection in this slot (the `Some` of the
    /// `idx` that goes with it, kept unwrapped: a test of `idx` there cost 256 bytes
    /// of hot code in `churn`).
    Plain(&'p wire::PlainV4<'a>, u32),
}

/// The 4-tuple of a received packet, seen from this end.
///
/// Size: the IPv4 case inline, any other out of line (a SYN to a listener builds the
/// tuple in `handle_packet`: the general form was two matches on the address family).
#[inline(always)]
fn tuple_of(pkt: &Packet<'_>) -> FourTuple {
    if let (IpAddr::V4(d), IpAddr::V4(s)) = (pkt.dst, pkt.src) {
        return FourTuple {
            local: SocketAddr::V4(SocketAddrV4::new(d, pkt.tcp.dst_port)),
            remote: SocketAddr::V4(SocketAddrV4::new(s, pkt.tcp.src_port)),
        };
    }
    wide_tuple_of(pkt)
}

/// [`tuple_of`] for the other families.
#[cold]
#[inline(never)]
fn wide_tuple_of(pkt: &Packet<'_>) -> FourTuple {
    FourTuple {
        local: SocketAddr::new(pkt.dst, pkt.tcp.dst_port),
        remote: SocketAddr::new(pkt.src, pkt.tcp.src_port),
    }
}

/// RFC 9293 3.9.2.3: "An incoming SYN with an invalid source address MUST be ignored
/// either by TCP or by the IP layer (MUST-63)"; "A TCP implementation MUST silently
/// discard an incoming SYN segment that is addressed to a broadcast or multicast address
/// (MUST-57)", and "this guidance is applicable to all incoming segments, not just
/// SYNs". Invalid sources (RFC 1122 3.2.1.3): unspecified, multicast, the limited
/// broadcast, and a loopback address arriving for an address that is not one (it
/// "MUST NOT appear outside a host"). Only segments of no connection are checked: a
/// connection's peer is a host address by construction (`check_endpoints`, and these
/// checks before a listener takes a SYN).
#[inline(always)]
pub(super) fn valid_endpoints(src: IpAddr, dst: IpAddr) -> bool {
    super::is_host_address(src) && super::is_host_address(dst) && (!src.is_loopback() || dst.is_loopback())
}

/// The unspecified address of `ip`'s family: a listener there takes every address.
fn unspecified(ip: IpAddr) -> IpAddr {
    if ip.is_ipv4() {
        IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
    }
}

impl Stack {
    /// Queue a control segment (RST, bare ACK, cookie SYN,ACK) not tied to a live
    /// connection; false when the bounded queue is full and it was dropped.
    pub(super) fn push_control(&mut self, tuple: FourTuple, hdr: TcpHeader) -> bool {
        self.push_control_ds(tuple, hdr, 0)
    }

    /// [`Stack::push_control`] with a Differentiated Services field: a TIME-WAIT
    /// record's, whose connection chose it (RFC 9293 3.9.1.9). The TTL is the stack's
    /// (`Config::ttl`): a record does not keep its connection's, as Linux's TIME-WAIT
    /// sockets do not.
    pub(super) fn push_control_ds(&mut self, tuple: FourTuple, hdr: TcpHeader, ds: u8) -> bool {
        self.push_control_ip(tuple, hdr, IpOut { ttl: self.cfg.ttl, ds })
    }

    /// [`Stack::push_control`] with the IP fields of a connection, or of the listener
    /// answering for one.
    pub(super) fn push_control_ip(&mut self, tuple: FourTuple, hdr: TcpHeader, ip: IpOut) -> bool {
        if self.sinks.control.len() >= MAX_CONTROL_QUEUE {
            self.sinks.stats.control_dropped += 1;
            return false;
        }
        if hdr.flags.rst() {
            self.sinks.stats.rst_sent += 1;
        }
        self.sinks.control.push_back(Outgoing::Segment(Control { tuple, hdr, ip }));
        true
    }

    /// The listener that takes a segment of no connection, sent to `tuple.local`.
    /// The most specific listener wins: the address and port, then the port on every
    /// address, then every port of the address, then every port of every address (the
    /// last two are [`Stack::listen_all`]'s, looked up only while one is open).
    ///
    /// Size: inlined into its callers as it was before catch-all listeners, which
    /// are looked up out of line. Churn, callgrind, instructions per lifecycle: 22,251
    /// before them; 22,284 with the whole lookup in a function of its own; 22,269 so.
    #[inline(always)]
    pub(super) fn find_listener(&self, tuple: &FourTuple) -> Option<ListenerId> {
        let any = SocketAddr::new(unspecified(tuple.local.ip()), tuple.local.port());
        match self.by_local.get(&tuple.local).or_else(|| self.by_local.get(&any)) {
            Some(&i) => Some(ListenerId(i)),
            None if self.catch_all > 0 => self.find_catch_all(tuple.local.ip()),
            None => None,
        }
    }

    /// [`Stack::find_listener`]'s catch-all listeners: on `ip`, then on every address.
    #[cold]
    #[inline(never)]
    fn find_catch_all(&self, ip: IpAddr) -> Option<ListenerId> {
        let on_ip = self.by_local.get(&SocketAddr::new(ip, 0));
        on_ip.or_else(|| self.by_local.get(&SocketAddr::new(unspecified(ip), 0))).map(|&i| ListenerId(i))
    }

    /// Process one received IP datagram. Malformed datagrams (bad checksums included)
    /// are counted in [`crate::StackStats`] and dropped; nothing a peer sends can make
    /// this panic.
    pub fn handle_packet(&mut self, now: Instant, datagram: &[u8]) {
        self.input(now, datagram, None);
    }

    /// [`Stack::handle_packet`], delivering `into`'s connection's next in-order data
    /// straight into the application's buffer that `into` holds: RFC 9293 3.10.7.4,
    /// "Once in the ESTABLISHED state, it is possible to deliver segment data to user
    /// RECEIVE buffers."
    ///
    /// The payload is copied (and summed for the checksum on the way) into the free
    /// part of `into`'s buffer, once, instead of into the receive buffer and later
    /// out of it by [`Stack::recv`]. That happens only when the connection's receive
    /// buffer is empty (nothing readable, nothing held out of order), so that the bytes
    /// are the stream's next ones, and when the whole payload fits in `into` and in the
    /// window. The bytes count as delivered only once the segment has passed the
    /// checksum and every check of RFC 9293 3.10.7.4; [`RecvInto::filled`] then grows
    /// by their number, RCV.NXT moves over them, and they are acknowledged as any
    /// others. No [`crate::Event::Readable`] is raised for them (there is nothing left
    /// to read); a FIN still raises it, and [`Stack::recv`] then returns `Ok(0)`.
    ///
    /// Everything else - other connections, data that does not fit, a segment after
    /// data that already waits in the receive buffer - is processed as
    /// [`Stack::handle_packet`] processes it, so the application reads the receive
    /// buffer as usual after the bytes `into` got. Returns the bytes this datagram
    /// added to `into`.
    pub fn handle_packet_into(&mut self, now: Instant, datagram: &[u8], into: &mut RecvInto<'_>) -> usize {
        let free = into.buf.get_mut(into.filled..).unwrap_or_default();
        let n = self.input(now, datagram, Some((into.conn, free)));
        into.filled += n;
        n
    }

    /// The connection a received datagram is for, when the application holds its
    /// handle: to pick which of its buffers to lend to [`Stack::handle_packet_into`]
    /// when several connections receive. Only the addresses and ports are read; nothing
    /// is verified and nothing changes. `None` for anything else (not TCP, unreadable,
    /// no connection, a connection not yet accepted or already closed by the
    /// application), which the application then hands to [`Stack::handle_packet`].
    pub fn connection_of(&mut self, datagram: &[u8]) -> Option<ConnId> {
        let ip = wire::parse_ip(datagram).ok()?;
        if ip.protocol != wire::IPPROTO_TCP {
            return None;
        }
        let ports = ip.payload.first_chunk::<4>()?;
        let src_port = u16::from_be_bytes([ports[0], ports[1]]);
        let dst_port = u16::from_be_bytes([ports[2], ports[3]]);
        let idx = self.by_tuple.lookup_parts(ip.dst, dst_port, ip.src, src_port, &self.slots)?;
        let slot = self.slots.get(idx as usize)?;
        let conn = slot.conn.as_deref()?;
        // Accepted (a passive open keeps its listener until `accept`) and not released.
        (conn.listener.is_none() && !conn.app_closed)
            .then_some(ConnId { index: idx, generation: slot.generation })
    }

    /// The body of [`Stack::handle_packet`] and [`Stack::handle_packet_into`]; returns
    /// the bytes delivered into `dest`. Inlined into both, so that the first keeps no
    /// trace of `dest`.
    #[inline(always)]
    fn input(&mut self, now: Instant, datagram: &[u8], dest: Option<(ConnId, &mut [u8])>) -> usize {
        self.advance(now);
        // The usual datagram (IPv4 without IP options, see [`wire::parse_plain_v4`])
        // skips the general parse and the general dispatch; what it goes through after
        // them is the same (`verify_and_process`, `admits`, `trace_recv`,
        // `conn_segment` for a connection's; the checksum and `Stack::unconnected` for
        // one of no connection, a SYN for a listener say). With
        // `Config::header_prediction` off, everything goes the general way, which
        // `tests/fastpath.rs` compares against.
        //
        // Speed: the general way builds a `Packet` (two `IpAddr`s, a `TcpHeader`
        // with its options) in memory and reads it back. Measured with callgrind:
        // instructions per lifecycle in `churn` 24,170 -> 24,050, per segment in
        // `segment_cost` 2,636 -> 2,599 and in `bulk_1500` -31; with the lookup's fix,
        // this function's own `perf` samples in `bulk_1500` went from 0.36 to 0.24 times
        // those of the copy loop.
        let plain = if self.cfg.header_prediction { wire::parse_plain_v4(datagram) } else { None };
        let plain_idx =
            plain.as_ref().and_then(|p| self.by_tuple.lookup_v4_words(p.ips, p.ports, &self.slots));
        let mut dest = dest;
        // The receive express path. Into the receive buffer only for bulk data: the
        // length test keeps short segments, and so short connections, off it.
        if let (Some(p), Some(i)) = (&plain, plain_idx) {
            if dest.is_some() || datagram.len() >= EXPRESS_RING_MIN {
                let lent = dest.as_mut().map(|(id, buf)| (*id, &mut **buf));
                if let Some(n) = self.express(p, i, lent) {
                    return n;
                }
            }
        }
        // (Size: one call of `verify_and_process`, at the end, serves both ways.)
        let general;
        let (hdr, payload, header_sum, idx, how) = match (&plain, plain_idx) {
            (Some(p), Some(i)) => (&p.tcp, p.payload, p.sum, Some(i), Parsed::Plain(p, i)),
            (Some(p), None) => {
                self.plain_unconnected(p);
                return 0;
            }
            (None, _) => {
                // Parse and verify the checksums (RFC 9293 3.1, RFC 791 3.1), as
                // [`wire::parse`] does, with the same errors; find the connection of the
                // 4-tuple (the slot, if any). When the segment may carry that
                // connection's next in-order data, its payload is copied into the
                // connection's receive buffer on the way and summed while copied
                // ([`Conn::stage_payload`]).
                //
                // Speed: the payload is read once, where verifying first and copying
                // later reads it twice; and the parsed datagram stays where it was
                // parsed (it is borrowed, never moved, from here on). Correctness: the
                // copy lands beyond the buffer's contents and is committed only by the
                // ordinary processing of the verified segment, so a segment that fails
                // the checksum changes nothing (it is dropped before any step of RFC
                // 9293 3.10.7 sees it).
                // Speed: the parsed packet is borrowed where `parse_unverified` returned
                // it; taken out of the `Result` by value it was copied (some 150 bytes)
                // once more.
                general = wire::parse_unverified(datagram);
                let (pkt, header_sum) = match &general {
                    Ok((p, s)) => (p, *s),
                    Err(WireError::NotTcp(wire::IPPROTO_ICMP | wire::IPPROTO_ICMPV6)) => {
                        // An ICMP or ICMPv6 message (its IP header is intact: only then
                        // is the protocol read).
                        if let Ok(ip) = wire::parse_ip(datagram) {
                            self.icmp_input(&ip);
                        }
                        return 0;
                    }
                    Err(WireError::Fragmented) => {
                        self.fragment(datagram);
                        return 0;
                    }
                    Err(_) => {
                        // Report exactly what the full parse reports (its checks come in
                        // another order).
                        match wire::parse(datagram) {
                            Ok(pkt) => {
                                let idx = self.by_tuple.lookup_parts(
                                    pkt.dst,
                                    pkt.tcp.dst_port,
                                    pkt.src,
                                    pkt.tcp.src_port,
                                    &self.slots,
                                );
                                self.dispatch(&pkt, idx);
                            }
                            Err(e) => self.count_malformed(e),
                        }
                        return 0;
                    }
                };
                // (Speed: looked up from the segment's fields; the 4-tuple is only built
                // for the rarer segments of no connection.)
                let idx = match wire::v4_flow_words(datagram) {
                    Some((ips, ports)) => self.by_tuple.lookup_v4_words(ips, ports, &self.slots),
                    None => self.by_tuple.lookup_parts(
                        pkt.dst,
                        pkt.tcp.dst_port,
                        pkt.src,
                        pkt.tcp.src_port,
                        &self.slots,
                    ),
                };
                (&pkt.tcp, pkt.payload, header_sum, idx, Parsed::General(pkt))
            }
        };
        self.verify_and_process(hdr, payload, header_sum, idx, dest, how)
    }

    /// The receive express path: the next in-order data of the connection in slot `idx`
    /// (a plain datagram, see [`wire::parse_plain_v4`]), predicted before anything else
    /// is done with it, then copied and summed on the way, its checksum verified (RFC
    /// 9293 3.1), and the segment processed as header prediction processes it; `None`,
    /// with nothing changed, for any other datagram, which then goes the ordinary way.
    ///
    /// Where the text goes:
    /// - with `lent` (the buffer the application lent to [`Stack::handle_packet_into`]
    ///   for the connection `id`): into it, when the receive buffer is empty
    ///   ([`Conn::predicts_direct`](crate::conn::Conn::predicts_direct),
    ///   `Conn::commit_direct`); returns the bytes delivered;
    /// - without: to the receive buffer's append position, staged, then made its
    ///   contents ([`Conn::predicts_in_order`](crate::conn::Conn::predicts_in_order),
    ///   `Conn::commit_in_order`); returns 0, and refuses a buffer whose storage must
    ///   grow first.
    ///
    /// A corrupt segment is counted and dropped (`Some(0)`): the bytes copied lie
    /// beyond what the application was given or the buffer holds.
    ///
    /// The ordinary way reaches the same result for these segments with the same
    /// steps: staging the copy (`Conn::stage_payload_into`, `Conn::stage_payload`),
    /// verifying, the address check (`Stack::admits`), the trace of the segment, the
    /// connection's processing by `Conn::on_segment` through header prediction,
    /// committing the staged copy, scheduling output, the trace of a delivery. This
    /// takes only the steps that do something for them, in the same order.
    /// `tests/fastpath.rs` compares the two (`Config::header_prediction` off takes
    /// neither this nor the prediction).
    ///
    /// Speed, measured with callgrind (10,000 segments): into a lent buffer,
    /// `handle_packet_into` went from 1,075 to 851 instructions per segment in
    /// `bulk_1500` (about 430 of them the copy and sum); into the receive buffer,
    /// `segment_cost_instr` (`handle_packet` and `recv`) from 2,555 to 2,373 and
    /// `bulk_1500_ring` from 5,040 to 4,882 per segment for the whole run. With every
    /// payload tried into the receive buffer, `churn` (1-byte exchanges) ran 314 more
    /// instructions and 832 more bytes of code per lifecycle: hence
    /// [`EXPRESS_RING_MIN`].
    #[inline(always)]
    fn express(
        &mut self,
        p: &wire::PlainV4<'_>,
        idx: u32,
        lent: Option<(ConnId, &mut [u8])>,
    ) -> Option<usize> {
        let (hdr, len) = (&p.tcp, p.payload.len());
        // Addressed to this host (as `Stack::admits`; one that is not is counted there).
        // A congestion mark is for `Conn::on_segment` to see (RFC 3168 6.1.3).
        if !self.addressed_here(p.dst()) || p.ecn == wire::ECN_CE {
            return None;
        }
        let slot = self.slots.get_mut(idx as usize)?;
        let generation = slot.generation;
        // A lent buffer serves only the connection it was lent for (the same slot and
        // generation).
        if lent.as_ref().is_some_and(|(id, _)| id.index != idx || id.generation != generation) {
            return None;
        }
        let conn = slot.conn.as_deref_mut()?;
        let direct = lent.is_some();
        let sum = match lent {
            Some((_, buf)) => {
                if !conn.predicts_direct(hdr, len, buf.len()) {
                    return None;
                }
                wire::copy_and_sum(buf.get_mut(..len)?, p.payload, false)
            }
            None => {
                if !conn.predicts_in_order(hdr, len) {
                    return None;
                }
                conn.rx.ring.stage_with_sum(p.payload)?
            }
        };
        if wire::fold64(p.sum + sum) != 0xFFFF {
            self.count_malformed(WireError::BadTcpChecksum);
            return Some(0);
        }
        let mut conn = conn;
        if self.cfg.trace {
            self.trace_recv(p.tuple(), hdr, len);
            conn = self.slots.get_mut(idx as usize)?.conn.as_deref_mut()?;
        }
        let id = ConnId { index: idx, generation };
        let mut ctx = Ctx { now: self.now, cfg: &self.cfg, id, sinks: &mut self.sinks };
        if direct {
            conn.commit_direct(&mut ctx, hdr, len);
        } else {
            conn.commit_in_order(&mut ctx, hdr, len);
        }
        // (`Stack::schedule`, with the connection at hand.)
        if super::schedule_conn(&mut self.tx_queue, &mut self.timers, conn, idx, generation) {
            self.prune_timers();
        }
        if !direct {
            return Some(0);
        }
        if self.cfg.trace {
            self.trace_direct(Some(idx), len);
        }
        Some(len)
    }

    /// Whether `dst` is one of this host's addresses (any, when none is configured or
    /// with [`crate::Config::any_address`]): the first check of [`Stack::admits`],
    /// which counts what it refuses.
    #[inline(always)]
    pub(super) fn addressed_here(&self, dst: std::net::IpAddr) -> bool {
        let addrs = &self.cfg.addresses;
        addrs.first() == Some(&dst) || self.any_destination || addrs.contains(&dst)
    }

    /// The part of [`Stack::input`] both ways through it share, once the segment is
    /// parsed and its connection's slot `idx` (if any) found: stage the payload when it
    /// may be the connection's next data, verify the TCP checksum (`header_sum` is the
    /// pseudo-header and header part), and process the verified segment as `parsed`
    /// says. Returns the bytes delivered into `dest`.
    #[inline(always)]
    fn verify_and_process(
        &mut self,
        hdr: &TcpHeader,
        payload: &[u8],
        header_sum: u64,
        idx: Option<u32>,
        dest: Option<(ConnId, &mut [u8])>,
        parsed: Parsed<'_, '_>,
    ) -> usize {
        let lent = dest.is_some();
        let slot = idx.and_then(|i| self.slots.get_mut(i as usize));
        let staged = match dest {
            None => slot.and_then(|s| s.conn.as_deref_mut()).and_then(|c| c.stage_payload(hdr, payload)),
            // The application's buffer serves only the connection it was lent for (the
            // same slot and generation: a released handle's buffer takes nothing from a
            // new connection in its slot).
            Some((id, buf)) => slot.and_then(|s| {
                let mine = id.generation == s.generation && Some(id.index) == idx;
                let c = s.conn.as_deref_mut()?;
                if mine {
                    c.stage_payload_into(hdr, payload, buf)
                } else {
                    c.stage_payload(hdr, payload)
                }
            }),
        };
        let sum = header_sum + staged.unwrap_or_else(|| wire::sum_be_long(payload));
        if wire::fold64(sum) != 0xFFFF {
            self.unstage(idx, staged.is_some());
            self.count_malformed(WireError::BadTcpChecksum);
            return 0;
        }
        match parsed {
            Parsed::General(pkt) => self.dispatch(pkt, idx),
            Parsed::Plain(p, i) => {
                if self.admits(p.dst(), &p.tcp) {
                    if self.cfg.trace {
                        self.trace_recv(p.tuple(), &p.tcp, p.payload.len());
                    }
                    self.conn_segment(i, &p.tcp, p.payload, p.ecn);
                }
            }
        }
        // Whatever became of the segment, its staged copy is spent.
        self.unstage(idx, staged.is_some());
        if !lent {
            return 0;
        }
        let delivered = core::mem::take(&mut self.sinks.delivered_direct) as usize;
        if delivered != 0 && self.cfg.trace {
            self.trace_direct(idx, delivered);
        }
        delivered
    }

    /// Trace bytes delivered into the application's buffer as the RECEIVE they stand
    /// for.
    #[cold]
    #[inline(never)]
    fn trace_direct(&mut self, idx: Option<u32>, bytes: usize) {
        let tuple =
            idx.and_then(|i| self.slots.get(i as usize)).and_then(|s| s.conn.as_deref()).map(|c| c.tuple);
        if let Some(tuple) = tuple {
            self.app_trace(tuple, crate::trace::AppCall::Recv, bytes);
        }
    }

    /// An IP fragment (RFC 791 3.2, RFC 8200 4.5): held for reassembly
    /// (`stack/reasm.rs`) and, when it completes its datagram, that datagram processed
    /// as [`Stack::handle_packet`] processes any (also under
    /// [`Stack::handle_packet_into`]: its data then goes to the receive buffer, as for
    /// "everything else" there). Cold: a TCP peer with Path MTU Discovery sends no
    /// fragments.
    #[cold]
    #[inline(never)]
    fn fragment(&mut self, datagram: &[u8]) {
        self.sinks.stats.fragments += 1;
        if self.cfg.max_reassembly_bytes == 0 || self.reassembling {
            self.count_malformed(WireError::Fragmented);
            return;
        }
        let f = match wire::parse_fragment(datagram) {
            Ok(f) => f,
            Err(e) => {
                self.count_malformed(e);
                return;
            }
        };
        let outcome = self.reasm.add(self.now, &f);
        // Abandoned: this fragment's datagram, or older ones to make room.
        self.sinks.stats.reassembly_failed += self.reasm.take_failed();
        if let reasm::Outcome::Whole(d) = outcome {
            self.sinks.stats.reassembled += 1;
            self.reassembling = true;
            let now = self.now;
            self.handle_packet(now, &d);
            self.reassembling = false;
        }
    }

    /// A datagram was dropped as malformed (bad checksums included).
    fn count_malformed(&mut self, e: WireError) {
        self.sinks.stats.malformed += 1;
        if matches!(e, WireError::BadTcpChecksum | WireError::BadIpChecksum) {
            self.sinks.stats.bad_checksum += 1;
        }
    }

    /// Forget the staged copy of a segment's payload, if one was made.
    #[inline]
    fn unstage(&mut self, idx: Option<u32>, staged: bool) {
        if let Some(idx) = idx.filter(|_| staged) {
            if let Some(c) = self.slots.get_mut(idx as usize).and_then(|s| s.conn.as_deref_mut()) {
                c.rx.unstage();
            }
        }
    }

    /// The checks a verified segment passes before any state sees it: addressed to this
    /// host, and not a SYN+FIN that `Config::drop_syn_fin` drops. Counts the segments
    /// it refuses.
    #[inline(always)]
    fn admits(&mut self, dst: std::net::IpAddr, hdr: &TcpHeader) -> bool {
        // (Speed: a host with one address compares it alone.)
        if !self.addressed_here(dst) {
            // Not addressed to us.
            self.sinks.stats.no_connection += 1;
            return false;
        }
        if self.cfg.drop_syn_fin && hdr.flags.syn() && hdr.flags.fin() {
            // Config::drop_syn_fin: a SYN+FIN is dropped before any state sees it.
            self.sinks.stats.malformed += 1;
            return false;
        }
        true
    }

    /// Trace a received segment of `tuple` (tracing is on).
    #[cold]
    #[inline(never)]
    fn trace_recv(&mut self, tuple: FourTuple, hdr: &TcpHeader, payload_len: usize) {
        let seg = summarize(tuple.remote, tuple.local, hdr, payload_len);
        self.trace(TraceEvent::Recv { conn: tuple, seg });
    }

    /// A verified, admitted segment for the connection in slot `idx`.
    #[inline(always)]
    fn conn_segment(&mut self, idx: u32, hdr: &TcpHeader, payload: &[u8], codepoint: u8) {
        let out = self.with_conn(idx, |c, ctx| c.on_segment(ctx, hdr, payload, codepoint));
        if let Some(out) = out {
            self.after_conn(idx, out);
        }
    }

    /// Everything after parsing: address checks, demultiplexing, and the segment's
    /// processing by its connection, the TIME-WAIT table, a listener or CLOSED.
    /// `conn` is the slot the 4-tuple maps to (looked up by the caller).
    #[inline(always)]
    fn dispatch(&mut self, pkt: &Packet<'_>, conn: Option<u32>) {
        // (Speed: the header is borrowed, not copied out of the parsed datagram.)
        let hdr = &pkt.tcp;
        let Some(idx) = conn else {
            return self.unconnected(pkt.dst, tuple_of(pkt), hdr, pkt.payload);
        };
        if !self.admits(pkt.dst, hdr) {
            return;
        }
        if self.cfg.trace {
            self.trace_recv(tuple_of(pkt), hdr, pkt.payload.len());
        }
        self.conn_segment(idx, hdr, pkt.payload, pkt.ecn);
    }

    /// A plain datagram ([`wire::parse_plain_v4`]) of no connection (a SYN for a
    /// listener, a segment for TIME-WAIT or CLOSED): its checksum verified (RFC 9293
    /// 3.1), then [`Stack::unconnected`]. Nothing is staged for such a segment, and
    /// nothing delivered into a lent buffer.
    ///
    /// Size: out of line, and apart from `verify_and_process`, whose code serves the
    /// connections' segments (one more case there cost `bulk_1500` some 13 instructions
    /// per segment, callgrind).
    #[inline(never)]
    fn plain_unconnected(&mut self, p: &wire::PlainV4<'_>) {
        if wire::fold64(p.sum + wire::sum_be_long(p.payload)) != 0xFFFF {
            self.count_malformed(WireError::BadTcpChecksum);
            return;
        }
        self.unconnected(p.dst(), p.tuple(), &p.tcp, p.payload);
    }

    /// A verified segment of no connection, addressed to `dst` (its 4-tuple seen from
    /// here is `tuple`): the address checks, then the TIME-WAIT table, a listener or
    /// CLOSED.
    ///
    /// Size: out of line, one body for both parses (a connection's first SYN comes this
    /// way).
    #[inline(never)]
    fn unconnected(&mut self, dst: IpAddr, tuple: FourTuple, hdr: &TcpHeader, payload: &[u8]) {
        if !valid_endpoints(tuple.remote.ip(), dst) {
            self.sinks.stats.invalid_address += 1;
            return;
        }
        if !self.admits(dst, hdr) {
            return;
        }
        if self.cfg.trace {
            self.trace_recv(tuple, hdr, payload.len());
        }
        let mut iss_floor = None;
        // (Speed: the lookup that found no connection left the hash in the table; the
        // key serves the TIME-WAIT check and a listener's insertion.)
        let key = self.by_tuple.key(&tuple);
        if self.time_wait.contains_hashed(&tuple, &key) {
            let verdict = self.time_wait_segment(tuple, hdr, payload.len());
            match verdict {
                TimeWaitVerdict::Done => return,
                TimeWaitVerdict::Reopen { old_snd_nxt } => iss_floor = Some(old_snd_nxt),
            }
        }
        match self.find_listener(&tuple) {
            Some(l) => self.listen_segment(l, tuple, key, hdr, payload, iss_floor),
            None => self.closed_segment(tuple, hdr, payload.len()),
        }
    }

    /// RFC 9293 3.10.7.1, CLOSED: "An incoming segment not containing a RST causes a RST
    /// to be sent in response."
    fn closed_segment(&mut self, tuple: FourTuple, hdr: &TcpHeader, payload_len: usize) {
        self.sinks.stats.no_connection += 1;
        // "An incoming segment containing a RST is discarded."
        if hdr.flags.rst() {
            return;
        }
        let h = if hdr.flags.ack() {
            // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
            control_header(&tuple, hdr.ack, None, TcpFlags::RST, 0)
        } else {
            // "If the ACK bit is off, sequence number zero is used,
            // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
            let seg_len = payload_len as u32 + u32::from(hdr.flags.syn()) + u32::from(hdr.flags.fin());
            control_header(&tuple, SeqNum(0), Some(hdr.seq + seg_len), TcpFlags::RST, 0)
        };
        self.push_control(tuple, h);
    }

    /// The listener answered a SYN that reopens the 4-tuple from TIME-WAIT (`iss_floor`
    /// is set): the old incarnation's record goes.
    fn reopened_from_time_wait(&mut self, tuple: FourTuple, iss_floor: Option<SeqNum>) {
        if iss_floor.is_some() {
            self.remove_time_wait(tuple);
        }
    }

    /// RFC 9293 3.10.7.2, LISTEN. `key` is the 4-tuple's key in the tables; `iss_floor`
    /// is the SND.NXT of a previous incarnation of the 4-tuple when the SYN reopens it
    /// from TIME-WAIT.
    fn listen_segment(
        &mut self,
        l: ListenerId,
        tuple: FourTuple,
        key: HashedKey,
        hdr: &TcpHeader,
        payload: &[u8],
        iss_floor: Option<SeqNum>,
    ) {
        let fl = hdr.flags;
        // "First, check for a RST: An incoming RST segment could not be valid since it
        // could not have been sent in response to anything sent by this incarnation of
        // the connection. An incoming RST should be ignored."
        if fl.rst() {
            return;
        }
        // "Second, check for an ACK: Any acknowledgment is bad if it arrives on a
        // connection still in the LISTEN state. An acceptable reset segment should be
        // formed for any arriving ACK-bearing segment. The RST should be formatted as
        // follows: <SEQ=SEG.ACK><CTL=RST>"
        // Unless it completes a handshake the listener answered with a SYN cookie (RFC
        // 4987 3.6): that ACK creates the connection the SYN did not.
        if fl.ack() {
            if !fl.syn() {
                match self.cookie_ack(l, tuple, hdr, payload) {
                    CookieVerdict::Accepted | CookieVerdict::Overflow => return,
                    CookieVerdict::NotChecked | CookieVerdict::Rejected => {}
                }
            }
            let h = control_header(&tuple, hdr.ack, None, TcpFlags::RST, 0);
            self.push_control(tuple, h);
            return;
        }
        // "Fourth, other data or control: ... drop the segment and return."
        if !fl.syn() {
            return;
        }
        // "Third, check for a SYN". A full accept queue drops the SYN without an
        // answer; the peer retransmits. Half-open connections count against the backlog
        // too: each of them joins the accept queue once established, which must never
        // hold more than `backlog`. When the SYN queue is full (or always, as
        // configured), a SYN cookie answers instead of a half-open connection (RFC 4987
        // 3.6); without cookies the SYN is dropped.
        let Some(Some(listener)) = self.listeners.get(l.0 as usize) else { return };
        let inherit = listener.inherit;
        if listener.accept_queue.len() >= listener.backlog {
            self.sinks.stats.syn_dropped += 1;
            return;
        }
        let syn_queue_full = listener.accept_queue.len() + listener.embryonic >= listener.backlog
            || listener.embryonic >= self.cfg.max_syn_queue
            || self.live_conns >= self.cfg.max_connections;
        let cookie = match self.cfg.syn_cookies {
            SynCookies::Always => true,
            SynCookies::WhenFull => syn_queue_full,
            _ => false,
        };
        if cookie && self.send_syn_cookie(tuple, hdr, iss_floor, inherit) {
            self.reopened_from_time_wait(tuple, iss_floor);
            return;
        }
        if syn_queue_full {
            // A TIME-WAIT record this SYN would have reopened stays in place.
            self.sinks.stats.syn_dropped += 1;
            return;
        }
        self.reopened_from_time_wait(tuple, iss_floor);
        // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, and any other control or text
        // should be queued for processing later. ISS should be selected and a SYN
        // segment sent of the form: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set
        // to ISS+1 and SND.UNA to ISS. The connection state should be changed to
        // SYN-RECEIVED." Text on the SYN is not kept: the peer retransmits it.
        let mut iss = SeqNum(initial_sequence(&self.keys, self.now, &tuple));
        if let Some(old) = iss_floor.filter(|old| iss.le(*old)) {
            // RFC 1122 4.2.2.13: a TCP may reopen a connection from TIME-WAIT if it "(1)
            // assigns its initial sequence number for the new connection to be larger
            // than the largest sequence number it used on the previous connection
            // incarnation". The clock-driven ISN has not got there yet: start a maximum
            // unscaled window beyond the old SND.NXT (as Linux does: tw_snd_nxt + 65535 +
            // 2).
            iss = old + 65537;
        }
        let ecn = self.cfg.ecn != crate::config::Ecn::Off;
        let (id, conn) = self.alloc_passive(tuple, iss, l, &inherit);
        conn.irs = hdr.seq;
        conn.rcv_nxt = hdr.seq + 1;
        conn.rcv_adv = conn.rcv_nxt;
        conn.snd_wnd = u32::from(hdr.window);
        conn.max_snd_wnd = conn.snd_wnd;
        conn.snd_wl1 = hdr.seq;
        conn.need_syn = true;
        if ecn {
            conn.ecn_accept_syn(hdr.flags);
        }
        self.by_tuple.insert_hashed(key, id.index);
        if let Some(Some(listener)) = self.listeners.get_mut(l.0 as usize) {
            listener.embryonic += 1;
        }
        self.note_half_open(l, id);
        let opts = hdr.options;
        self.with_conn(id.index, |c, ctx| {
            c.apply_syn_options(ctx, &opts);
            c.set_state(ctx, State::SynReceived);
        });
        self.schedule(id.index);
    }
}
