//! pcapng capture of a trace: one Enhanced Packet Block per `send` line that carries the
//! datagram's bytes, on one LINKTYPE_RAW interface (IPv4 and IPv6 datagrams as they are),
//! with microsecond timestamps (`if_tsresol` = 6) taken from `t_us`.
//!
//! A packet that a link dropped, duplicated or damaged carries a packet comment
//! (`opt_comment`) saying so, e.g. `dropped by link client->server`; Wireshark shows it
//! under "Packet comments" and filters it with `frame.comment`.

use crate::analysis;
use crate::model::{Event, TraceLine};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::{DataLink, Endianness, PcapError};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

/// The `if_tsresol` written: 10^-6 s, one unit per microsecond.
const TSRESOL_MICROS: u8 = 6;

/// One packet read back from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Timestamp in microseconds (as the trace's `t_us`).
    pub t_us: u64,
    /// The captured bytes: one IP datagram.
    pub data: Vec<u8>,
    /// The packet comment, if any (several are joined with `"; "`).
    pub comment: Option<String>,
}

/// Why a capture could not be written or read.
#[derive(Debug)]
#[non_exhaustive]
pub enum PcapngError {
    /// The pcap-file crate failed (I/O or a malformed file).
    Pcap(PcapError),
    /// A packet is larger than a pcapng block can say (over 4 GiB).
    PacketTooLarge(usize),
    /// A packet names an interface the file never described.
    UnknownInterface(u32),
}

impl fmt::Display for PcapngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapngError::Pcap(e) => write!(f, "pcapng: {e}"),
            PcapngError::PacketTooLarge(n) => write!(f, "pcapng: packet of {n} bytes is too large"),
            PcapngError::UnknownInterface(i) => write!(f, "pcapng: packet on undescribed interface {i}"),
        }
    }
}

impl std::error::Error for PcapngError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PcapngError::Pcap(e) => Some(e),
            _ => None,
        }
    }
}

impl From<PcapError> for PcapngError {
    fn from(e: PcapError) -> Self {
        PcapngError::Pcap(e)
    }
}

/// The comment for each `send` line (by index) that a link dropped, duplicated or
/// damaged: `dropped by link client->server`, ...
pub(crate) fn send_comments(lines: &[TraceLine]) -> HashMap<usize, String> {
    let hosts = analysis::hosts(lines, &[]);
    let mut out = HashMap::new();
    for si in analysis::flows(lines, &hosts).sends {
        let link = si.link.as_deref().unwrap_or("?");
        let mut parts = Vec::new();
        if si.dropped.is_some() {
            parts.push(format!("dropped by link {link}"));
        }
        if si.dup {
            parts.push(format!("duplicated by link {link}"));
        }
        if si.corrupt {
            parts.push(format!("corrupted by link {link}"));
        }
        if !parts.is_empty() {
            out.insert(si.line, parts.join("; "));
        }
    }
    out
}

/// Writes the capture of `lines`: every `send` line with packet bytes, in time order
/// (trace order among equal times). Returns the number of packets written.
pub fn write_pcapng<W: Write>(w: W, lines: &[TraceLine]) -> Result<usize, PcapngError> {
    let lines = &*analysis::in_time_order(lines);
    let comments = send_comments(lines);
    let section = SectionHeaderBlock {
        endianness: Endianness::Little,
        options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed("synack"))],
        ..Default::default()
    };
    let mut writer = PcapNgWriter::with_section_header(w, section)?;
    let interface = InterfaceDescriptionBlock {
        linktype: DataLink::RAW,
        snaplen: 0xFFFF,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Borrowed("synack")),
            InterfaceDescriptionOption::IfTsResol(TSRESOL_MICROS),
        ],
    };
    writer.write_pcapng_block(interface)?;
    let mut count = 0;
    for (i, line) in lines.iter().enumerate() {
        let Event::Send(send) = &line.event else { continue };
        let Some(bytes) = &send.packet else { continue };
        let len = u32::try_from(bytes.len()).map_err(|_| PcapngError::PacketTooLarge(bytes.len()))?;
        let options = comments
            .get(&i)
            .map(|c| EnhancedPacketOption::Comment(Cow::Borrowed(c.as_str())))
            .into_iter()
            .collect();
        // pcap-file writes `timestamp.as_nanos()` as the raw count of `if_tsresol` units;
        // with microsecond units the raw count must be `t_us`.
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(line.t_us),
            original_len: len,
            data: Cow::Borrowed(bytes.as_slice()),
            options,
        };
        writer.write_pcapng_block(block)?;
        count += 1;
    }
    writer.get_mut().flush().map_err(PcapError::IoError)?;
    Ok(count)
}

/// Microseconds from a raw timestamp in `if_tsresol` units.
fn raw_to_micros(raw: u128, tsresol: u8) -> u64 {
    let exp = u32::from(tsresol & 0x7F);
    let us = if tsresol & 0x80 == 0 {
        // 10^-exp seconds per unit.
        if exp >= 6 {
            raw / 10u128.saturating_pow(exp - 6)
        } else {
            raw.saturating_mul(10u128.saturating_pow(6 - exp))
        }
    } else {
        // 2^-exp seconds per unit.
        raw.saturating_mul(1_000_000) >> exp.min(127)
    };
    u64::try_from(us).unwrap_or(u64::MAX)
}

/// Reads a capture back: every Enhanced Packet Block, with its time in microseconds
/// (whatever the interface's `if_tsresol`), its bytes and its comments.
pub fn read_pcapng<R: Read>(r: R) -> Result<Vec<CapturedPacket>, PcapngError> {
    let mut reader = PcapNgReader::new(r)?;
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        let Block::EnhancedPacket(epb) = block? else { continue };
        let raw = epb.timestamp.as_nanos();
        let iface = epb.interface_id;
        let data = epb.data.to_vec();
        let comments: Vec<String> = epb
            .options
            .iter()
            .filter_map(|o| match o {
                EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                _ => None,
            })
            .collect();
        let idb = usize::try_from(iface)
            .ok()
            .and_then(|i| reader.interfaces().get(i))
            .ok_or(PcapngError::UnknownInterface(iface))?;
        let tsresol = idb
            .options
            .iter()
            .find_map(|o| match o {
                InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                _ => None,
            })
            .unwrap_or(TSRESOL_MICROS);
        out.push(CapturedPacket {
            t_us: raw_to_micros(raw, tsresol),
            data,
            comment: if comments.is_empty() { None } else { Some(comments.join("; ")) },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_timestamps_convert_for_any_resolution() {
        assert_eq!(raw_to_micros(1_500, 6), 1_500);
        assert_eq!(raw_to_micros(1_500_000, 9), 1_500);
        assert_eq!(raw_to_micros(15, 4), 1_500);
        assert_eq!(raw_to_micros(1 << 20, 0x80 | 20), 1_000_000);
    }
}
