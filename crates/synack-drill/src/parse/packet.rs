//! Packet lines.

use super::lexer::Tok;
use super::Parser;
use crate::ast::{
    Direction, EcnCodepoint, IcmpSpec, IpField, PacketBody, PacketSpec, SeqSpec, TcpFlags, TcpOption,
    TcpOptions, TcpSegment, UdpEncap, UnsupportedPacket,
};
use crate::error::{ErrorKind, ParseError};

/// Protocol words that may follow the direction and that this parser
/// records as [`PacketBody::Unsupported`] instead of rejecting.
const OTHER_PROTOCOLS: &[&str] = &["udp", "udplite", "sctp", "gre", "mpls", "icmpv6", "ipv4", "ipv6", "raw"];

impl Parser<'_> {
    pub(super) fn packet(&mut self) -> Result<PacketSpec, ParseError> {
        let dir_tok = self.bump();
        let direction = match dir_tok.tok {
            Tok::Punct('<') => Direction::Inbound,
            _ => Direction::Outbound,
        };
        let mut ecn = None;
        let mut ip_fields = Vec::new();
        let mut quoted_seq = None;
        loop {
            if self.peek_is_punct('[') {
                let open = self.bump();
                if self.peek().tok == Tok::Ident {
                    let t = self.bump();
                    ecn = Some(EcnCodepoint::from_word(self.text(&t)));
                } else if matches!(self.peek().tok, Tok::Num | Tok::Ellipsis) {
                    quoted_seq = Some(self.seq_spec()?.0);
                } else {
                    return Err(self
                        .unexpected("an ECN codepoint (`noecn`, `ect0`, `ect1`, `ce`) or a sequence range"));
                }
                self.expect_punct(']').map_err(|_| {
                    let what = format!("`]` closing the `[` at {}:{}", open.line, open.col);
                    self.unexpected(&what)
                })?;
            } else if self.peek_is_punct('(') {
                self.bump();
                loop {
                    ip_fields.push(self.ip_field()?);
                    if self.peek_is_punct(',') {
                        self.bump();
                    } else {
                        break;
                    }
                }
                self.expect_punct(')').map_err(|_| self.unexpected("`,` or `)`"))?;
            } else {
                break;
            }
        }
        let t = self.peek().clone();
        let word = if t.tok == Tok::Ident { self.text(&t) } else { "" };
        let body = if word == "icmp" {
            PacketBody::Icmp(self.icmp(quoted_seq)?)
        } else if OTHER_PROTOCOLS.contains(&word) {
            PacketBody::Unsupported(self.unsupported()?)
        } else if quoted_seq.is_some() {
            return Err(self.unexpected_at(&t, "`icmp` after a quoted sequence range"));
        } else {
            PacketBody::Tcp(self.tcp_segment()?)
        };
        Ok(PacketSpec { direction, ecn, ip_fields, body })
    }

    fn ip_field(&mut self) -> Result<IpField, ParseError> {
        let name_tok = self.expect_ident("an IP header field (`ttl`, `tos`, `class`, `hlim`)")?;
        let name = self.text(&name_tok);
        Ok(match name {
            "ttl" => IpField::Ttl(self.number("TTL")?),
            "tos" => IpField::Tos(self.number("TOS")?),
            "class" => IpField::TrafficClass(self.number("traffic class")?),
            "hlim" => IpField::HopLimit(self.number("hop limit")?),
            "flowlabel" => {
                let v: u32 = self.number("flow label")?;
                if v >= 1 << 20 {
                    let kind = ErrorKind::NumberOutOfRange { what: "flow label", text: v.to_string() };
                    return Err(ParseError::new(name_tok.line, name_tok.col, kind));
                }
                IpField::FlowLabel(v)
            }
            other => {
                let name = other.to_owned();
                IpField::Other { name, value: self.number("IP header field")? }
            }
        })
    }

    /// Consumes the rest of the line after a protocol word.
    fn unsupported(&mut self) -> Result<UnsupportedPacket, ParseError> {
        let proto = self.bump();
        let protocol = self.text(&proto).to_owned();
        let mut end = proto.end;
        while !matches!(self.peek().tok, Tok::Newline | Tok::Eof) {
            end = self.bump().end;
        }
        let raw = self.src.get(proto.end..end).unwrap_or("").trim().to_owned();
        Ok(UnsupportedPacket { protocol, raw })
    }

    fn icmp(&mut self, quoted_seq: Option<SeqSpec>) -> Result<IcmpSpec, ParseError> {
        self.bump();
        let ty = self.expect_ident("an ICMP type (e.g. `unreachable`, `echo_request`)")?;
        let type_name = self.text(&ty).to_owned();
        let mut code_name = None;
        if self.peek().tok == Tok::Ident && !self.peek_is_word("mtu") {
            let t = self.bump();
            code_name = Some(self.text(&t).to_owned());
        }
        let mut mtu = None;
        if self.peek_is_word("mtu") {
            self.bump();
            mtu = Some(self.number("MTU")?);
        }
        let mut spec = IcmpSpec { type_name, code_name, mtu, quoted_seq };
        if spec.quoted_seq.is_none() && self.peek_is_punct('[') {
            self.bump();
            spec.quoted_seq = Some(self.seq_spec()?.0);
            self.expect_punct(']')?;
        }
        Ok(spec)
    }

    fn tcp_segment(&mut self) -> Result<TcpSegment, ParseError> {
        let flags = self.tcp_flags()?;
        let (seq, absolute_seq) = self.seq_spec()?;
        let mut seg = TcpSegment {
            flags,
            seq,
            absolute_seq,
            ack: None,
            win: None,
            urg: None,
            options: None,
            udp_encap: None,
        };
        loop {
            let t = self.peek().clone();
            if t.tok != Tok::Ident {
                break;
            }
            let word = self.text(&t);
            let dup = match word {
                "ack" => seg.ack.is_some(),
                "win" => seg.win.is_some(),
                "urg" => seg.urg.is_some(),
                _ => {
                    let expected = "`ack`, `win`, `urg`, `<options>` or end of line";
                    return Err(self.unexpected_at(&t, expected));
                }
            };
            if dup {
                return Err(self.unexpected_at(&t, "each of `ack`, `win`, `urg` at most once"));
            }
            self.bump();
            match word {
                "ack" => seg.ack = Some(self.number("ack number")?),
                "win" => seg.win = Some(self.number("window")?),
                _ => seg.urg = Some(self.number("urgent pointer")?),
            }
        }
        if self.peek_is_punct('<') {
            seg.options = Some(self.tcp_options()?);
        }
        if self.peek_is_punct('/') {
            self.bump();
            self.expect_word("udp")?;
            self.expect_punct('(')?;
            let src_port = self.number("UDP port")?;
            self.expect_punct('>')?;
            let dst_port = self.number("UDP port")?;
            self.expect_punct(')')?;
            seg.udp_encap = Some(UdpEncap { src_port, dst_port });
        }
        Ok(seg)
    }

    fn tcp_flags(&mut self) -> Result<TcpFlags, ParseError> {
        let t = self.peek().clone();
        let mut flags = TcpFlags::default();
        match t.tok {
            Tok::Punct('-') => {
                self.bump();
            }
            Tok::Punct('.') => {
                self.bump();
                flags.ack = true;
            }
            Tok::Ident => {
                self.bump();
                for (i, c) in self.text(&t).chars().enumerate() {
                    if !flags.set_letter(c) {
                        let col = t.col.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
                        return Err(ParseError::new(t.line, col, ErrorKind::UnknownFlag(c)));
                    }
                }
                let next = self.peek().clone();
                if next.tok == Tok::Punct('.') && next.start == t.end {
                    self.bump();
                    flags.ack = true;
                }
            }
            _ => {
                return Err(self.unexpected_at(
                    &t,
                    "TCP flags (e.g. `S`, `S.`, `.`, `F.`, `-`), `icmp` or a protocol name",
                ));
            }
        }
        Ok(flags)
    }

    /// `start:end(len)` or `...(len)`, plus an optional trailing `!`.
    fn seq_spec(&mut self) -> Result<(SeqSpec, bool), ParseError> {
        let t = self.peek().clone();
        let seq = match t.tok {
            Tok::Ellipsis => {
                self.bump();
                SeqSpec::Any { len: self.paren_len()? }
            }
            Tok::Num => {
                let start: u32 = self.number("sequence number")?;
                self.expect_punct(':')?;
                let end: u32 = self.number("sequence number")?;
                let len = self.paren_len()?;
                if end.wrapping_sub(start) != len {
                    let kind = ErrorKind::InconsistentSeq { start, end, len };
                    return Err(ParseError::new(t.line, t.col, kind));
                }
                SeqSpec::Range { start, end, len }
            }
            _ => return Err(self.unexpected_at(&t, "a sequence range `start:end(len)` or `...(len)`")),
        };
        let absolute = self.peek_is_punct('!');
        if absolute {
            self.bump();
        }
        Ok((seq, absolute))
    }

    fn paren_len(&mut self) -> Result<u32, ParseError> {
        self.expect_punct('(')?;
        let len = self.number("payload length")?;
        self.expect_punct(')')?;
        Ok(len)
    }

    fn tcp_options(&mut self) -> Result<TcpOptions, ParseError> {
        self.bump();
        if self.peek().tok == Tok::Ellipsis {
            self.bump();
            self.expect_punct('>')?;
            return Ok(TcpOptions::Any);
        }
        let mut list = Vec::new();
        if self.peek_is_punct('>') {
            self.bump();
            return Ok(TcpOptions::List(list));
        }
        loop {
            list.push(self.tcp_option()?);
            if self.peek_is_punct(',') {
                self.bump();
            } else if self.peek_is_punct('>') {
                self.bump();
                return Ok(TcpOptions::List(list));
            } else {
                return Err(self.unexpected("`,` or `>` in the TCP option list"));
            }
        }
    }

    fn tcp_option(&mut self) -> Result<TcpOption, ParseError> {
        let t = self.expect_ident("a TCP option (e.g. `mss 1460`, `nop`, `sackOK`)")?;
        let name = self.text(&t);
        Ok(match name {
            "nop" => TcpOption::Nop,
            "eol" => TcpOption::Eol,
            "sackOK" => TcpOption::SackPermitted,
            "mss" => TcpOption::Mss(self.number("MSS")?),
            "wscale" => TcpOption::WindowScale(self.number("window scale")?),
            "TS" => {
                self.expect_word("val")?;
                let val = self.number("TSval")?;
                self.expect_word("ecr")?;
                let ecr = self.number("TSecr")?;
                TcpOption::Timestamp { val, ecr }
            }
            "sack" => {
                let mut blocks = Vec::new();
                while self.peek().tok == Tok::Num {
                    let left = self.number("SACK edge")?;
                    self.expect_punct(':')?;
                    let right = self.number("SACK edge")?;
                    blocks.push((left, right));
                }
                TcpOption::Sack(blocks)
            }
            "md5" => {
                let v = self.expect_ident("`valid` or `invalid` after `md5`")?;
                match self.text(&v) {
                    "valid" => TcpOption::Md5 { valid: true },
                    "invalid" => TcpOption::Md5 { valid: false },
                    _ => return Err(self.unexpected_at(&v, "`valid` or `invalid` after `md5`")),
                }
            }
            other => {
                let name = other.to_owned();
                let mut end = t.end;
                while !matches!(self.peek().tok, Tok::Punct(',' | '>') | Tok::Newline | Tok::Eof) {
                    end = self.bump().end;
                }
                let raw = self.src.get(t.start..end).unwrap_or("").to_owned();
                TcpOption::Unknown { name, raw }
            }
        })
    }
}
