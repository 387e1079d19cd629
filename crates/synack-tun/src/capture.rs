//! What a run leaves behind: a pcapng capture of every datagram that crossed the device
//! (`--pcap`) and the stack's trace as JSON Lines (`--json`, DESIGN.md "The trace").

use crate::error::TunError;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness};
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use synack::TraceRecord;
use synack_viz::TraceLine;

/// `if_tsresol` = 9: timestamps in nanoseconds (pcap-file writes `as_nanos()` raw).
const TSRESOL_NANOS: u8 = 9;
/// pcapng `epb_flags` direction bits (pcapng spec, "epb_flags").
const DIR_INBOUND: u32 = 0b01;
const DIR_OUTBOUND: u32 = 0b10;

/// Which way a captured datagram crossed the device, from synack's side.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    /// Read from the device: the kernel sent it to synack.
    ToStack,
    /// Written to the device: synack sent it to the kernel.
    ToKernel,
}

/// A pcapng file being written, one LINKTYPE_RAW interface named after the device.
pub(crate) struct PcapSink {
    path: PathBuf,
    writer: PcapNgWriter<BufWriter<File>>,
    /// Wall-clock time of the run's origin, so packets carry real timestamps.
    epoch: Duration,
    packets: u64,
}

impl PcapSink {
    pub(crate) fn create(path: &Path, ifname: &str) -> Result<PcapSink, TunError> {
        let file = File::create(path).map_err(|e| TunError::output(path, e))?;
        let section = SectionHeaderBlock {
            endianness: Endianness::Little,
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed("synack-tun"))],
            ..Default::default()
        };
        let pcap_err = |e: pcap_file::PcapError| TunError::output(path, io::Error::other(e));
        let mut writer =
            PcapNgWriter::with_section_header(BufWriter::new(file), section).map_err(pcap_err)?;
        let interface = InterfaceDescriptionBlock {
            linktype: DataLink::RAW,
            snaplen: 0xFFFF,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(ifname.to_string())),
                InterfaceDescriptionOption::IfTsResol(TSRESOL_NANOS),
            ],
        };
        writer.write_pcapng_block(interface).map_err(pcap_err)?;
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Ok(PcapSink { path: path.to_path_buf(), writer, epoch, packets: 0 })
    }

    /// Record one datagram seen `at` (time since the run's origin).
    pub(crate) fn record(
        &mut self,
        at: Duration,
        dir: Direction,
        data: &[u8],
        comment: Option<&str>,
    ) -> Result<(), TunError> {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let flags = match dir {
            Direction::ToStack => DIR_INBOUND,
            Direction::ToKernel => DIR_OUTBOUND,
        };
        let mut options = vec![EnhancedPacketOption::Flags(flags)];
        if let Some(c) = comment {
            options.push(EnhancedPacketOption::Comment(Cow::Owned(c.to_string())));
        }
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: self.epoch + at,
            original_len: len,
            data: Cow::Borrowed(data),
            options,
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|e| TunError::output(&self.path, io::Error::other(e)))?;
        self.packets += 1;
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<(), TunError> {
        self.writer.get_mut().flush().map_err(|e| TunError::output(&self.path, e))
    }
}

/// A JSON Lines trace being written, one line per core trace record, host `synack`.
pub(crate) struct JsonSink {
    path: PathBuf,
    writer: BufWriter<File>,
    lines: u64,
}

impl JsonSink {
    pub(crate) fn create(path: &Path) -> Result<JsonSink, TunError> {
        let file = File::create(path).map_err(|e| TunError::output(path, e))?;
        Ok(JsonSink { path: path.to_path_buf(), writer: BufWriter::new(file), lines: 0 })
    }

    /// Write one core trace record as a line of host `synack`.
    pub(crate) fn record(&mut self, rec: &TraceRecord) -> Result<(), TunError> {
        self.record_line(&TraceLine::from_core("synack", rec))
    }

    /// Write one trace line.
    pub(crate) fn record_line(&mut self, line: &TraceLine) -> Result<(), TunError> {
        synack_viz::jsonl::write_line(&mut self.writer, line).map_err(|e| TunError::output(&self.path, e))?;
        self.lines += 1;
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> Result<(), TunError> {
        self.writer.flush().map_err(|e| TunError::output(&self.path, e))
    }
}
