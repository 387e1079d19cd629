//! Property tests of the wire codec: no panics on any input, emit/parse round trips,
//! checksum and truncation detection, and a cross-check in both directions against
//! `etherparse` as an independent implementation.

// Everything lives in `mod wire` so that `cargo test -p synack wire` selects it.
mod wire {
    use etherparse::{NetSlice, PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice};
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use synack::wire::{
        emit, emit_len, parse, parse_ip, parse_tcp, SackBlock, TcpFlags, TcpHeader, TcpOptions, Timestamps,
        WireError,
    };
    use synack::SeqNum;

    // ---------------------------------------------------------------------------------------
    // Strategies

    fn addr_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<[u8; 4]>())
                .prop_map(|(a, b)| (Ipv4Addr::from(a).into(), Ipv4Addr::from(b).into())),
            (any::<[u8; 16]>(), any::<[u8; 16]>())
                .prop_map(|(a, b)| (Ipv6Addr::from(a).into(), Ipv6Addr::from(b).into())),
        ]
    }

    fn options() -> impl Strategy<Value = TcpOptions> {
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
        )
            .prop_map(|(mss, window_scale, sack_permitted, ts, sack)| {
                let mut o = TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    timestamps: ts.map(|(val, ecr)| Timestamps { val, ecr }),
                    ..TcpOptions::NONE
                };
                for (slot, &(l, r)) in o.sack.iter_mut().zip(&sack) {
                    *slot = SackBlock { left: SeqNum(l), right: SeqNum(r) };
                }
                o.sack_len = sack.len() as u8;
                o
            })
    }

    fn header() -> impl Strategy<Value = TcpHeader> {
        (
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
            options(),
        )
            .prop_map(|(sp, dp, seq, ack, flags, window, urgent, options)| TcpHeader {
                src_port: sp,
                dst_port: dp,
                seq: SeqNum(seq),
                ack: SeqNum(ack),
                flags: TcpFlags(flags),
                window,
                urgent,
                options,
            })
    }

    /// A payload and two split points: the payload is handed to `emit` in three pieces (of
    /// any parity, possibly empty).
    fn payload() -> impl Strategy<Value = (Vec<u8>, usize, usize)> {
        proptest::collection::vec(any::<u8>(), 0..1500).prop_flat_map(|p| {
            let n = p.len();
            (Just(p), 0..=n, 0..=n).prop_map(|(p, a, b)| (p, a.min(b), a.max(b)))
        })
    }

    // ---------------------------------------------------------------------------------------
    // Independent models (deliberately not sharing code with the crate)

    /// What the options look like after emit + parse: the SACK blocks that fit in the 40
    /// option bytes next to the other options (Linux layout, each 4-byte aligned).
    fn expected_options(o: &TcpOptions) -> TcpOptions {
        let mut used: usize = 0;
        if o.mss.is_some() {
            used += 4;
        }
        if o.timestamps.is_some() {
            used += 12; // SACK-permitted rides in the two bytes otherwise used by NOPs
        } else if o.sack_permitted {
            used += 4;
        }
        if o.window_scale.is_some() {
            used += 4;
        }
        // NOP NOP kind len = 4 bytes, then 8 per block.
        let fit = (40 - used).saturating_sub(4) / 8;
        let n = usize::from(o.sack_len).min(4).min(fit);
        let mut e = *o;
        e.sack_len = n as u8;
        for b in e.sack.iter_mut().skip(n) {
            *b = SackBlock::default();
        }
        e.unknown = 0;
        e
    }

    /// tcpdump-like strings from the raw option bytes, in wire order.
    fn tcpdump_from_bytes(mut opts: &[u8]) -> Vec<String> {
        let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let mut out = Vec::new();
        while !opts.is_empty() {
            let kind = opts[0];
            if kind == 0 {
                break;
            }
            if kind == 1 {
                out.push("nop".to_string());
                opts = &opts[1..];
                continue;
            }
            let len = usize::from(opts[1]);
            let body = &opts[2..len];
            match kind {
                2 => out.push(format!("mss {}", u16::from_be_bytes([body[0], body[1]]))),
                3 => out.push(format!("wscale {}", body[0])),
                4 => out.push("sackOK".to_string()),
                5 => {
                    for b in body.chunks(8) {
                        out.push(format!("sack {}:{}", be32(&b[..4]), be32(&b[4..])));
                    }
                }
                8 => out.push(format!("TS val {} ecr {}", be32(body), be32(&body[4..]))),
                k => out.push(format!("unknown-{k}")),
            }
            opts = &opts[len..];
        }
        out
    }

    fn emit_vec(
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        h: &TcpHeader,
        pieces: &[&[u8]],
    ) -> Result<Vec<u8>, WireError> {
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        let mut buf = vec![0u8; emit_len(src, h, len)];
        let n = emit(&mut buf, src, dst, ttl, h, pieces)?;
        assert_eq!(n, buf.len(), "emit_len agrees with emit");
        Ok(buf)
    }

    fn ip_header_len(a: IpAddr) -> usize {
        if a.is_ipv4() {
            20
        } else {
            40
        }
    }

    fn flags_from_etherparse(t: &etherparse::TcpHeader) -> TcpFlags {
        let mut f = TcpFlags::NONE;
        for (on, bit) in [
            (t.fin, TcpFlags::FIN),
            (t.syn, TcpFlags::SYN),
            (t.rst, TcpFlags::RST),
            (t.psh, TcpFlags::PSH),
            (t.ack, TcpFlags::ACK),
            (t.urg, TcpFlags::URG),
            (t.ece, TcpFlags::ECE),
            (t.cwr, TcpFlags::CWR),
        ] {
            if on {
                f |= bit;
            }
        }
        f
    }

    /// Decode etherparse's view of the options into our type.
    fn options_from_etherparse(
        it: impl Iterator<Item = Result<TcpOptionElement, etherparse::TcpOptionReadError>>,
    ) -> TcpOptions {
        let mut o = TcpOptions::NONE;
        for e in it {
            match e.expect("etherparse accepts the options we emit") {
                TcpOptionElement::Noop => {}
                TcpOptionElement::MaximumSegmentSize(m) => o.mss = Some(m),
                TcpOptionElement::WindowScale(w) => o.window_scale = Some(w),
                TcpOptionElement::SelectiveAcknowledgementPermitted => o.sack_permitted = true,
                TcpOptionElement::Timestamp(val, ecr) => o.timestamps = Some(Timestamps { val, ecr }),
                TcpOptionElement::SelectiveAcknowledgement(first, rest) => {
                    let blocks: Vec<(u32, u32)> =
                        std::iter::once(first).chain(rest.iter().flatten().copied()).collect();
                    o.sack = [SackBlock::default(); 4];
                    for (slot, &(l, r)) in o.sack.iter_mut().zip(&blocks) {
                        *slot = SackBlock { left: SeqNum(l), right: SeqNum(r) };
                    }
                    o.sack_len = blocks.len() as u8;
                }
            }
        }
        o
    }

    // ---------------------------------------------------------------------------------------
    // No panics on any input

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic_any_parser(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            (src, dst) in addr_pair(),
        ) {
            let _ = parse(&bytes);
            let _ = parse_ip(&bytes);
            let _ = parse_tcp(src, dst, &bytes);
        }

        #[test]
        fn arbitrary_bytes_with_a_plausible_ip_header_never_panic(
            v6 in any::<bool>(),
            ihl in 0u8..16,
            proto in prop_oneof![Just(6u8), any::<u8>()],
            mut bytes in proptest::collection::vec(any::<u8>(), 40..300),
        ) {
            // Steer the random bytes past the first checks so deeper code runs.
            if v6 {
                bytes[0] = 0x60;
                let plen = (bytes.len() - 40) as u16;
                bytes[4..6].copy_from_slice(&plen.to_be_bytes());
                bytes[6] = proto;
            } else {
                bytes[0] = 0x40 | ihl;
                let total = bytes.len() as u16;
                bytes[2..4].copy_from_slice(&total.to_be_bytes());
                bytes[6] &= 0x40;
                bytes[7] = 0;
                bytes[9] = proto;
            }
            let _ = parse(&bytes);
            let _ = parse_ip(&bytes);
        }

        /// Random TCP segments with a *valid* checksum, so the option parser and the data
        /// offset checks see arbitrary input. Whatever parses must be self-consistent.
        #[test]
        fn random_segments_with_valid_checksum_never_panic_and_stay_in_bounds(
            (src, dst) in addr_pair(),
            doff in 0u8..16,
            mut seg in proptest::collection::vec(any::<u8>(), 20..120),
            option_soup in proptest::collection::vec(
                prop_oneof![Just(0u8), Just(1), Just(2), Just(3), Just(4), Just(5), Just(8),
                            Just(10), Just(18), any::<u8>()], 0..40),
        ) {
            let n = option_soup.len().min(seg.len() - 20);
            seg[20..20 + n].copy_from_slice(&option_soup[..n]);
            seg[12] = (doff << 4) | (seg[12] & 0x0f);
            fix_tcp_checksum(src, dst, &mut seg);
            match parse_tcp(src, dst, &seg) {
                Ok((h, data)) => {
                    let hlen = usize::from(doff) * 4;
                    prop_assert!(hlen >= 20);
                    prop_assert_eq!(data, &seg[hlen..]);
                    prop_assert!(usize::from(h.options.sack_len) <= 4);
                }
                Err(e) => prop_assert!(matches!(
                    e,
                    WireError::BadOption | WireError::BadHeaderLength
                ), "unexpected {:?}", e),
            }
        }

        #[test]
        fn mutated_valid_datagrams_never_panic(
            (src, dst) in addr_pair(),
            h in header(),
            (p, _, _) in payload(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut buf = emit_vec(src, dst, 64, &h, &[&p]).expect("emit");
            for (i, v) in edits {
                let i = i.index(buf.len());
                buf[i] = v;
            }
            let _ = parse(&buf);
        }
    }

    fn fix_tcp_checksum(src: IpAddr, dst: IpAddr, seg: &mut [u8]) {
        seg[16] = 0;
        seg[17] = 0;
        let sum = synack::wire::pseudo_header_sum(src, dst, 6, seg.len() as u32)
            + synack::wire::checksum_partial(seg, 0);
        let c = synack::wire::checksum_finish(sum);
        seg[16..18].copy_from_slice(&c.to_be_bytes());
    }

    // ---------------------------------------------------------------------------------------
    // Round trips, checksums, truncation

    proptest! {
        #[test]
        fn emit_then_parse_round_trips_ipv4_and_ipv6(
            (src, dst) in addr_pair(),
            ttl in any::<u8>(),
            h in header(),
            (p, a, b) in payload(),
        ) {
            let buf = emit_vec(src, dst, ttl, &h, &[&p[..a], &p[a..b], &p[b..]]).expect("emit");
            let pkt = parse(&buf).expect("what we emit parses");
            prop_assert_eq!(pkt.src, src);
            prop_assert_eq!(pkt.dst, dst);
            prop_assert_eq!(pkt.ttl, ttl);
            prop_assert_eq!(pkt.payload, &p[..]);
            let mut want = h;
            want.options = expected_options(&h.options);
            prop_assert_eq!(pkt.tcp, want);
        }

        #[test]
        fn tcpdump_strings_follow_the_emitted_byte_order(h in header(), (src, dst) in addr_pair()) {
            let buf = emit_vec(src, dst, 1, &h, &[]).expect("emit");
            let ip = ip_header_len(src);
            let hlen = usize::from(buf[ip + 12] >> 4) * 4;
            prop_assert_eq!((hlen - 20) % 4, 0);
            prop_assert!(hlen <= 60);
            let from_bytes = tcpdump_from_bytes(&buf[ip + 20..ip + hlen]);
            prop_assert_eq!(h.options.to_tcpdump_strings(), from_bytes);
        }

        #[test]
        fn a_flipped_payload_byte_gives_bad_tcp_checksum(
            (src, dst) in addr_pair(),
            h in header(),
            p in proptest::collection::vec(any::<u8>(), 1..600),
            at in any::<prop::sample::Index>(),
            xor in 1u8..=255,
        ) {
            let mut buf = emit_vec(src, dst, 64, &h, &[&p]).expect("emit");
            let i = buf.len() - p.len() + at.index(p.len());
            buf[i] ^= xor;
            prop_assert_eq!(parse(&buf).map(|p| p.tcp), Err(WireError::BadTcpChecksum));
        }

        #[test]
        fn a_flipped_tcp_header_byte_gives_bad_tcp_checksum(
            (src, dst) in addr_pair(),
            h in header(),
            at in any::<prop::sample::Index>(),
            xor in 1u8..=255,
        ) {
            let mut buf = emit_vec(src, dst, 64, &h, &[b"x"]).expect("emit");
            let ip = ip_header_len(src);
            let i = ip + at.index(buf.len() - ip);
            buf[i] ^= xor;
            prop_assert_eq!(parse(&buf).map(|p| p.tcp), Err(WireError::BadTcpChecksum));
        }

        #[test]
        fn truncation_at_every_length_is_an_error(
            (src, dst) in addr_pair(),
            h in header(),
            p in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let buf = emit_vec(src, dst, 64, &h, &[&p]).expect("emit");
            for k in 0..buf.len() {
                prop_assert_eq!(parse(&buf[..k]).map(|p| p.tcp), Err(WireError::Truncated), "k={}", k);
            }
            // The TCP segment cut inside its header is always rejected (past the header a
            // cut could in principle keep a valid checksum, so only "no panic" there).
            let seg = &buf[ip_header_len(src)..];
            let hlen = usize::from(seg[12] >> 4) * 4;
            for k in 0..seg.len() {
                let r = parse_tcp(src, dst, &seg[..k]);
                if k < hlen {
                    prop_assert!(r.is_err(), "k={}", k);
                }
            }
        }

        #[test]
        fn emit_into_any_short_buffer_is_buffer_too_small(
            (src, dst) in addr_pair(),
            h in header(),
            p in proptest::collection::vec(any::<u8>(), 0..64),
            short in any::<prop::sample::Index>(),
        ) {
            let need = emit_len(src, &h, p.len());
            let mut buf = vec![0u8; short.index(need)];
            prop_assert_eq!(emit(&mut buf, src, dst, 64, &h, &[&p]), Err(WireError::BufferTooSmall));
        }

        // -----------------------------------------------------------------------------------
        // etherparse as an oracle

        #[test]
        fn etherparse_accepts_what_we_emit_with_the_same_fields_and_checksums(
            (src, dst) in addr_pair(),
            ttl in any::<u8>(),
            h in header(),
            (p, a, _) in payload(),
        ) {
            let buf = emit_vec(src, dst, ttl, &h, &[&p[..a], &p[a..]]).expect("emit");
            let sliced = SlicedPacket::from_ip(&buf).expect("etherparse accepts our datagram");
            match (sliced.net.as_ref().expect("net"), src, dst) {
                (NetSlice::Ipv4(v4), IpAddr::V4(s), IpAddr::V4(d)) => {
                    let ih = v4.header();
                    prop_assert_eq!(ih.source_addr(), s);
                    prop_assert_eq!(ih.destination_addr(), d);
                    prop_assert_eq!(ih.ttl(), ttl);
                    prop_assert_eq!(ih.protocol(), etherparse::IpNumber::TCP);
                    prop_assert!(ih.dont_fragment());
                    prop_assert_eq!(ih.identification(), 0);
                    prop_assert_eq!(usize::from(ih.total_len()), buf.len());
                    prop_assert_eq!(ih.header_checksum(), ih.to_header().calc_header_checksum());
                }
                (NetSlice::Ipv6(v6), IpAddr::V6(s), IpAddr::V6(d)) => {
                    let ih = v6.header();
                    prop_assert_eq!(ih.source_addr(), s);
                    prop_assert_eq!(ih.destination_addr(), d);
                    prop_assert_eq!(ih.hop_limit(), ttl);
                    prop_assert_eq!(ih.next_header(), etherparse::IpNumber::TCP);
                    prop_assert_eq!(usize::from(ih.payload_length()), buf.len() - 40);
                }
                (net, _, _) => prop_assert!(false, "wrong family {:?}", net),
            }
            let Some(TransportSlice::Tcp(t)) = sliced.transport.as_ref() else {
                return Err(TestCaseError::fail("etherparse found no TCP"));
            };
            let th = t.to_header();
            prop_assert_eq!(th.source_port, h.src_port);
            prop_assert_eq!(th.destination_port, h.dst_port);
            prop_assert_eq!(th.sequence_number, h.seq.0);
            prop_assert_eq!(th.acknowledgment_number, h.ack.0);
            prop_assert_eq!(flags_from_etherparse(&th), h.flags);
            prop_assert!(!th.ns);
            prop_assert_eq!(th.window_size, h.window);
            prop_assert_eq!(th.urgent_pointer, h.urgent);
            prop_assert_eq!(t.payload(), &p[..]);
            prop_assert_eq!(options_from_etherparse(t.options_iterator()), expected_options(&h.options));
            let theirs = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => t.calc_checksum_ipv4(s.octets(), d.octets()),
                (IpAddr::V6(s), IpAddr::V6(d)) => t.calc_checksum_ipv6(s.octets(), d.octets()),
                _ => unreachable!("families match"),
            }
            .expect("length fits");
            prop_assert_eq!(t.checksum(), theirs);
        }

        #[test]
        fn what_etherparse_builds_parses_to_the_same_fields(
            (src, dst) in addr_pair(),
            ttl in any::<u8>(),
            (sp, dp, seq, ack, window, urgent) in
                (any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>(), any::<u16>(), any::<u16>()),
            flags in any::<u8>(),
            ns in any::<bool>(),
            elements in proptest::collection::vec(prop_oneof![
                Just(TcpOptionElement::Noop),
                any::<u16>().prop_map(TcpOptionElement::MaximumSegmentSize),
                any::<u8>().prop_map(TcpOptionElement::WindowScale),
                Just(TcpOptionElement::SelectiveAcknowledgementPermitted),
                (any::<u32>(), any::<u32>()).prop_map(|(a, b)| TcpOptionElement::Timestamp(a, b)),
                ((any::<u32>(), any::<u32>()), proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=3))
                    .prop_map(|(first, rest)| {
                        let mut r = [None; 3];
                        for (slot, v) in r.iter_mut().zip(rest) { *slot = Some(v); }
                        TcpOptionElement::SelectiveAcknowledgement(first, r)
                    }),
            ], 0..6),
            unknown in proptest::collection::vec(
                (prop_oneof![6u8..=7, 9u8..=255], proptest::collection::vec(any::<u8>(), 0..6)),
                0..3),
            p in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            // Unknown options first (etherparse cannot encode them), then etherparse's own
            // encoding of the known ones, which it pads with EOL.
            let mut raw = Vec::new();
            for (kind, body) in &unknown {
                raw.push(*kind);
                raw.push(2 + body.len() as u8);
                raw.extend_from_slice(body);
            }
            let known = etherparse::TcpOptions::try_from_elements(&elements);
            prop_assume!(known.is_ok());
            raw.extend_from_slice(known.expect("checked").as_slice());
            prop_assume!(raw.len() <= 40);

            let mut th = etherparse::TcpHeader::new(sp, dp, seq, window);
            th.acknowledgment_number = ack;
            th.urgent_pointer = urgent;
            th.ns = ns;
            th.fin = flags & 0x01 != 0;
            th.syn = flags & 0x02 != 0;
            th.rst = flags & 0x04 != 0;
            th.psh = flags & 0x08 != 0;
            th.ack = flags & 0x10 != 0;
            th.urg = flags & 0x20 != 0;
            th.ece = flags & 0x40 != 0;
            th.cwr = flags & 0x80 != 0;
            th.set_options_raw(&raw).expect("fits in 40 bytes");

            let builder = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), ttl),
                (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), ttl),
                _ => unreachable!("families match"),
            };
            let mut bytes = Vec::new();
            builder.tcp_header(th.clone()).write(&mut bytes, &p).expect("etherparse writes");

            let pkt = parse(&bytes).expect("we accept what etherparse builds");
            prop_assert_eq!(pkt.src, src);
            prop_assert_eq!(pkt.dst, dst);
            prop_assert_eq!(pkt.ttl, ttl);
            prop_assert_eq!(pkt.payload, &p[..]);
            prop_assert_eq!(pkt.tcp.src_port, sp);
            prop_assert_eq!(pkt.tcp.dst_port, dp);
            prop_assert_eq!(pkt.tcp.seq, SeqNum(seq));
            prop_assert_eq!(pkt.tcp.ack, SeqNum(ack));
            prop_assert_eq!(pkt.tcp.flags, TcpFlags(flags));
            prop_assert_eq!(pkt.tcp.window, window);
            prop_assert_eq!(pkt.tcp.urgent, urgent);
            let mut want = options_from_etherparse(elements.iter().cloned().map(Ok));
            want.unknown = unknown.len() as u8;
            prop_assert_eq!(pkt.tcp.options, want);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Fixed examples

    #[test]
    fn linux_like_syn_emits_the_expected_bytes_and_tcpdump_strings() {
        let h = TcpHeader {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNum(1000),
            ack: SeqNum(0),
            flags: TcpFlags::SYN,
            window: 64240,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some(Timestamps { val: 1, ecr: 0 }),
                ..TcpOptions::NONE
            },
        };
        let src: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
        let dst: IpAddr = Ipv4Addr::new(10, 0, 0, 2).into();
        let buf = emit_vec(src, dst, 64, &h, &[]).expect("emit");
        assert_eq!(buf.len(), 60);
        assert_eq!(
            h.options.to_tcpdump_strings(),
            ["mss 1460", "sackOK", "TS val 1 ecr 0", "nop", "wscale 7"]
        );
        assert_eq!(tcpdump_from_bytes(&buf[40..60]), h.options.to_tcpdump_strings());
        // Checked against etherparse's own checksum.
        let t = etherparse::TcpSlice::from_slice(&buf[20..]).expect("tcp");
        assert_eq!(t.checksum(), t.calc_checksum_ipv4([10, 0, 0, 1], [10, 0, 0, 2]).expect("fits"));
    }
}
