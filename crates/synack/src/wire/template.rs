//! The headers of a run of data segments, written once and patched for each segment.
//!
//! A bulk sender sends segment after segment of one connection that differ, in their
//! headers, only in a few fields: the sequence number always, the acknowledgment
//! number, the window and the timestamps now and then, and the checksums. Everything
//! else - the IPv4 header (its length too, for segments of one size), the ports, the
//! data offset, the flags, the option layout - is the same. [`Template`] keeps the
//! headers of the last such segment with those fields cleared, and the checksum sum of
//! everything constant in them (the pseudo-header included: RFC 9293 3.1, "The
//! checksum also covers a pseudo-header"). The next segment of the same run is then
//! the saved bytes, five fields stored, and the sum of the constant part, those fields
//! and the payload folded once (RFC 1071 2(C): each 32-bit field is added whole).
//!
//! Speed: this replaces the field-by-field header building, byte-order conversions and
//! summing of [`super::emit_two`] for every segment of the run but the first (about
//! 140 instructions per segment of `bulk_1500`). The result is the same bytes, which
//! `tests` below check against `emit_two` for every kind of segment the template
//! takes, and the differential tests (`tests/fastpath.rs`) check through the stack.

use super::checksum::{fold64, pseudo_header_sum64, sum_be};
use super::ip::{IPPROTO_TCP, IPV4_HEADER_LEN};
use super::tcp::{copy_payload, emit_two, TCP_HEADER_LEN};
use super::{IpOut, TcpFlags, TcpHeader, WireError};
use std::net::IpAddr;

/// Offsets in the headers (IPv4 without options, then TCP: RFC 791 3.1, RFC 9293 3.1).
const DS: usize = 1;
const SEQ: usize = IPV4_HEADER_LEN + 4;
const ACK: usize = IPV4_HEADER_LEN + 8;
const WINDOW: usize = IPV4_HEADER_LEN + 14;
const CHECKSUM: usize = IPV4_HEADER_LEN + 16;
/// The longest headers a template holds: IPv4, TCP, and the timestamps option with
/// its padding (RFC 7323 3.2, 12 bytes in both layouts synack writes).
const MAX_LEN: usize = IPV4_HEADER_LEN + TCP_HEADER_LEN + 12;

/// See the module documentation. Which run the saved headers belong to is the caller's
/// `key` (synack's stack uses the connection's slot and generation: the addresses,
/// ports, TTL and option layout of one connection never change).
#[derive(Clone, Debug)]
pub(crate) struct Template {
    /// The run, or `None` before the first segment.
    key: Option<(u32, u32)>,
    /// The payload length the saved IPv4 header (total length, checksum) is for.
    payload_len: usize,
    /// Where the timestamps option's TSval is, if the segments carry one.
    tsval_at: Option<usize>,
    /// Header bytes, with the variable fields zero.
    len: usize,
    bytes: [u8; MAX_LEN],
    /// The sum of the pseudo-header and the TCP header with the variable fields zero.
    base: u64,
}

impl Default for Template {
    fn default() -> Self {
        Template { key: None, payload_len: 0, tsval_at: None, len: 0, bytes: [0; MAX_LEN], base: 0 }
    }
}

impl Template {
    /// Write the datagram `emit_two(buf, src, dst, ip, tcp, a, b)` writes, from the
    /// saved headers when `tcp` continues the run `key` with the same payload length
    /// (and timestamps or not, as before), or by [`emit_two`] otherwise, saving its
    /// headers for the next segment if it is a plain data segment (ACK only, no option
    /// but timestamps).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &mut self,
        key: (u32, u32),
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
        ip: IpOut,
        tcp: &TcpHeader,
        a: &[u8],
        b: &[u8],
    ) -> Result<usize, WireError> {
        let payload_len = a.len() + b.len();
        let ts = tcp.options.timestamps;
        // (The Differentiated Services field may change during a connection, RFC 9293
        // 3.9.1.9, SHLD-21: the saved IP header holds one value.)
        if self.key == Some(key)
            && self.bytes[DS] == ip.ds
            && self.payload_len == payload_len
            && self.tsval_at.is_some() == ts.is_some()
            && tcp.flags == TcpFlags::ACK
            && tcp.options.sack_len == 0
        {
            let total = self.len + payload_len;
            let out = buf.get_mut(..total).ok_or(WireError::BufferTooSmall)?;
            let (hdr, data) = out.split_at_mut(self.len);
            hdr.copy_from_slice(&self.bytes[..self.len]);
            let mut sum = self.base + copy_payload(data, a, b);
            sum += put32(hdr, SEQ, tcp.seq.0) + put32(hdr, ACK, tcp.ack.0);
            hdr[WINDOW..WINDOW + 2].copy_from_slice(&tcp.window.to_be_bytes());
            sum += u64::from(tcp.window);
            if let (Some(at), Some(ts)) = (self.tsval_at, ts) {
                sum += put32(hdr, at, ts.val) + put32(hdr, at + 4, ts.ecr);
            }
            let check = !(fold64(sum) as u16);
            hdr[CHECKSUM..CHECKSUM + 2].copy_from_slice(&check.to_be_bytes());
            return Ok(total);
        }
        let n = emit_two(buf, src, dst, ip, tcp, a, b)?;
        self.save(key, buf.get(..n - payload_len).unwrap_or_default(), src, dst, tcp, payload_len);
        Ok(n)
    }

    /// Forget the run of slot `slot` (any generation), if it is the one saved: the
    /// connection is gone.
    #[inline]
    pub(crate) fn forget(&mut self, slot: u32) {
        if self.key.is_some_and(|(s, _)| s == slot) {
            self.key = None;
        }
    }

    /// Keep the headers `hdr` of a segment just written for the run `key`, if the
    /// template can make the next ones from them; otherwise forget the run.
    #[cold]
    #[inline(never)]
    fn save(
        &mut self,
        key: (u32, u32),
        hdr: &[u8],
        src: IpAddr,
        dst: IpAddr,
        tcp: &TcpHeader,
        payload_len: usize,
    ) {
        self.key = None;
        if !(src.is_ipv4() && dst.is_ipv4()) {
            return;
        }
        let o = &tcp.options;
        let plain = tcp.flags == TcpFlags::ACK
            && tcp.urgent == 0
            && o.mss.is_none()
            && o.window_scale.is_none()
            && !o.sack_permitted
            && o.sack_len == 0;
        let Some(bytes) = self.bytes.get_mut(..hdr.len()) else { return };
        if !plain || hdr.len() < IPV4_HEADER_LEN + TCP_HEADER_LEN {
            return;
        }
        bytes.copy_from_slice(hdr);
        // The timestamps option, if any: kind 8, length 10 (RFC 7323 3.2), found among
        // the NOP padding of the option bytes.
        let mut tsval_at = None;
        if o.timestamps.is_some() {
            let mut i = IPV4_HEADER_LEN + TCP_HEADER_LEN;
            while i + 10 <= bytes.len() && bytes[i] == 1 {
                i += 1;
            }
            if i + 10 > bytes.len() || bytes[i] != 8 || bytes[i + 1] != 10 {
                return;
            }
            tsval_at = Some(i + 2);
        }
        for (at, n) in
            [(SEQ, 4), (ACK, 4), (WINDOW, 2), (CHECKSUM, 2)].into_iter().chain(tsval_at.map(|t| (t, 8)))
        {
            bytes[at..at + n].fill(0);
        }
        let tcp_len = hdr.len() - IPV4_HEADER_LEN + payload_len;
        self.base =
            sum_be(&bytes[IPV4_HEADER_LEN..]) + pseudo_header_sum64(src, dst, IPPROTO_TCP, tcp_len as u32);
        self.len = hdr.len();
        self.payload_len = payload_len;
        self.tsval_at = tsval_at;
        self.key = Some(key);
    }
}

/// Store `v` big-endian at `at` and return it for the sum (a 32-bit field is added
/// whole, RFC 1071 2(C)).
#[inline(always)]
fn put32(hdr: &mut [u8], at: usize, v: u32) -> u64 {
    if let Some(f) = hdr.get_mut(at..at + 4) {
        f.copy_from_slice(&v.to_be_bytes());
    }
    u64::from(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::SeqNum;
    use crate::wire::{OptionLayout, SackBlock, TcpOptions, Timestamps};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const DST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn header(seq: u32, ack: u32, window: u16, ts: Option<(u32, u32)>) -> TcpHeader {
        TcpHeader {
            src_port: 40_000,
            dst_port: 80,
            seq: SeqNum(seq),
            ack: SeqNum(ack),
            flags: TcpFlags::ACK,
            window,
            urgent: 0,
            options: TcpOptions {
                timestamps: ts.map(|(val, ecr)| Timestamps { val, ecr }),
                ..TcpOptions::NONE
            },
        }
    }

    /// The template's bytes and `emit_two`'s for the same segment, payload split at
    /// `split` (an odd split puts the second piece at an odd offset).
    fn both(
        t: &mut Template,
        key: (u32, u32),
        tcp: &TcpHeader,
        data: &[u8],
        split: usize,
    ) -> (Vec<u8>, Vec<u8>) {
        both_ds(t, key, tcp, data, split, 0)
    }

    /// [`both`] with the Differentiated Services field `ds`.
    fn both_ds(
        t: &mut Template,
        key: (u32, u32),
        tcp: &TcpHeader,
        data: &[u8],
        split: usize,
        ds: u8,
    ) -> (Vec<u8>, Vec<u8>) {
        let ip = IpOut { ttl: 64, ds };
        let (a, b) = data.split_at(split);
        let mut got = vec![0xEE; 1600];
        let n = t.emit(key, &mut got, SRC, DST, ip, tcp, a, b).unwrap();
        got.truncate(n);
        let mut want = vec![0x11; 1600];
        let m = emit_two(&mut want, SRC, DST, ip, tcp, a, b).unwrap();
        want.truncate(m);
        (got, want)
    }

    #[test]
    fn every_segment_of_a_run_is_byte_for_byte_what_emit_two_writes() {
        let data: Vec<u8> = (0..1460u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
        for ts in [None, Some((77, 0xFFFF_FFF0))] {
            for layout in [OptionLayout::Linux, OptionLayout::Bsd] {
                let mut t = Template::default();
                for i in 0..40u32 {
                    let mut tcp = header(
                        0xFFFF_0000u32.wrapping_add(i * 1460),
                        9 + i / 7,
                        65_535 - (i as u16 % 5),
                        ts.map(|(v, e)| (v + i / 3, e)),
                    );
                    tcp.options.layout = layout;
                    let len = if i % 13 == 12 { 1000 + i as usize } else { 1460 };
                    let split = [len, 0, 700, 701, 1][i as usize % 5].min(len);
                    let (got, want) = both(&mut t, (3, 1), &tcp, &data[..len], split);
                    assert_eq!(got, want, "segment {i}, timestamps {ts:?}, {layout:?}");
                }
            }
        }
    }

    #[test]
    fn a_new_differentiated_services_field_is_not_taken_from_the_saved_header() {
        // RFC 9293 3.9.1.9 (SHLD-21): the field may change during a connection; the next
        // segment carries the new value, in IPv4's second byte.
        let data = [0x33u8; 1460];
        let mut t = Template::default();
        for (i, ds) in [0u8, 0, 0xb8, 0xb8, 0x28].into_iter().enumerate() {
            let tcp = header(1000 + i as u32 * 1460, 1, 100, None);
            let (got, want) = both_ds(&mut t, (2, 1), &tcp, &data, 1460, ds);
            assert_eq!(got, want, "segment {i}");
            assert_eq!(got[1], ds, "segment {i}");
        }
    }

    #[test]
    fn a_segment_the_template_cannot_make_is_written_in_full() {
        let data = [0x5Au8; 300];
        let mut t = Template::default();
        let first = header(1000, 1, 100, None);
        assert_eq!(
            both(&mut t, (1, 1), &first, &data, 300).0,
            both(&mut Template::default(), (1, 1), &first, &data, 300).1
        );
        // Another connection, other flags, SACK blocks, timestamps appearing: each is
        // written by `emit_two` (and the bytes are still right).
        let mut fin = header(1300, 1, 100, None);
        fin.flags = TcpFlags::ACK | TcpFlags::FIN;
        let mut sack = header(1300, 1, 100, None);
        sack.options.sack[0] = SackBlock { left: SeqNum(5), right: SeqNum(9) };
        sack.options.sack_len = 1;
        for (key, tcp) in [
            ((2, 1), header(1300, 1, 100, None)),
            ((1, 1), fin),
            ((1, 1), sack),
            ((1, 1), header(1300, 1, 100, Some((1, 2)))),
        ] {
            let (got, want) = both(&mut t, key, &tcp, &data, 150);
            assert_eq!(got, want, "{tcp:?}");
        }
    }

    #[test]
    fn a_changed_field_the_template_does_not_patch_would_show() {
        // The check above can fail: a template whose saved bytes are stale (a port
        // changed under the same key, which synack never does) writes the old port.
        let data = [7u8; 100];
        let mut t = Template::default();
        let _ = both(&mut t, (1, 1), &header(1, 1, 1, None), &data, 100);
        let mut moved = header(101, 1, 1, None);
        moved.dst_port = 81;
        let (got, want) = both(&mut t, (1, 1), &moved, &data, 100);
        assert_ne!(got, want);
    }

    #[test]
    fn a_forgotten_slot_is_written_in_full_even_with_the_same_key() {
        let data = [9u8; 200];
        let mut t = Template::default();
        let _ = both(&mut t, (4, 7), &header(1, 1, 1, None), &data, 200);
        t.forget(3);
        assert_eq!(t.key, Some((4, 7)), "another slot's run stays");
        t.forget(4);
        assert_eq!(t.key, None);
        // A connection with other ports on the same slot and generation (the
        // generation wrapped) gets its own headers.
        let mut other = header(201, 1, 1, None);
        other.src_port = 1234;
        let (got, want) = both(&mut t, (4, 7), &other, &data, 200);
        assert_eq!(got, want);
    }

    #[test]
    fn ipv6_segments_and_short_buffers_take_the_full_path() {
        let mut t = Template::default();
        let tcp = header(1, 1, 1, None);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let mut buf = [0u8; 200];
        let n = t.emit((1, 1), &mut buf, v6, v6, IpOut { ttl: 64, ds: 0 }, &tcp, &[1; 50], &[]).unwrap();
        assert_eq!(n, 40 + 20 + 50);
        assert_eq!(t.key, None);
        let _ = t.emit((1, 1), &mut buf, SRC, DST, IpOut { ttl: 64, ds: 0 }, &tcp, &[1; 50], &[]).unwrap();
        assert_eq!(t.key, Some((1, 1)));
        let mut short = [0u8; 60];
        assert_eq!(
            t.emit((1, 1), &mut short, SRC, DST, IpOut { ttl: 64, ds: 0 }, &tcp, &[1; 50], &[]),
            Err(WireError::BufferTooSmall)
        );
    }
}
