//! The TUN device: created with `tun-rs` (no `unsafe` here), non-blocking, and waited on
//! with a `poll` that a [`StopHandle`] can interrupt from another thread or a signal
//! handler thread.
//!
//! # Offloads
//!
//! With [`DeviceConfig::offload`] (the default) the device is opened with
//! `IFF_VNET_HDR` and the kernel's TCP segmentation offloads (`TUN_F_CSUM`,
//! `TUN_F_TSO4`, `TUN_F_TSO6`), as wireguard-go opens its devices:
//! - **kernel to synack**: one read can carry a whole TSO burst of the kernel's (up to
//!   64 KiB); `tun-rs` splits it into the segments the kernel would have sent, each
//!   with its checksum computed, before synack sees them;
//! - **synack to kernel**: the datagrams of one output batch go to `tun-rs`'s
//!   coalescing (GRO) table, which joins consecutive segments of one connection into
//!   one write the kernel takes as one large segment.
//!
//! synack's stack sees, and the capture records, ordinary MTU-sized datagrams either
//! way: the offload changes how many system calls carry them, nothing else. Without
//! the offload each datagram is one read or one write.

use crate::error::TunError;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tun_rs::{DeviceBuilder, GROTable, InterruptEvent, SyncDevice, VIRTIO_NET_HDR_LEN};

/// Where the device node lives on Linux.
const TUN_NODE: &str = "/dev/net/tun";

/// How to create the TUN device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Interface name (at most 15 bytes), e.g. `synack0`.
    pub name: String,
    /// The kernel's own address on the interface (`--peer`).
    pub kernel_addr: Ipv4Addr,
    /// Prefix length of the kernel's address; the whole prefix routes into the device.
    pub prefix: u8,
    /// Interface MTU.
    pub mtu: u16,
    /// Ask for the kernel's TCP segmentation offloads (see the module documentation).
    /// A kernel that refuses them gets a device without; `TunStack::offload` says
    /// which it is.
    pub offload: bool,
}

/// Whether a wait ended because the device became readable, the time ran out, or a
/// [`StopHandle`] fired.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Wake {
    Readable,
    TimedOut,
    Stopped,
}

/// Stops a running event loop from any thread: sets a flag and wakes the loop's wait.
#[derive(Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    event: Arc<InterruptEvent>,
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle").field("stopped", &self.is_stopped()).finish()
    }
}

impl StopHandle {
    /// Ask the loop to stop; it closes its connections with FINs and returns.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // A failed write to the wake-up pipe only delays the stop to the next wake.
        let _ = self.event.trigger();
    }

    /// Wake the loop's wait without stopping it (it looks at the stack again: an
    /// application call may have moved its next deadline).
    pub(crate) fn wake(&self) {
        let _ = self.event.trigger();
    }

    /// Whether [`StopHandle::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// An open TUN device, non-blocking.
pub(crate) struct TunDevice {
    dev: SyncDevice,
    stop: StopHandle,
    name: String,
}

impl TunDevice {
    /// Create the device, give the kernel its address and bring the link up.
    pub(crate) fn create(cfg: &DeviceConfig) -> Result<TunDevice, TunError> {
        if !Path::new(TUN_NODE).exists() {
            return Err(TunError::NoTunDevice);
        }
        if cfg.name.is_empty() || cfg.name.len() > 15 || cfg.name.contains(['/', ' ', '\0']) {
            return Err(TunError::InvalidArgument(format!(
                "device name {:?} must be 1 to 15 bytes without '/' or spaces",
                cfg.name
            )));
        }
        if cfg.prefix > 32 {
            return Err(TunError::InvalidArgument(format!("prefix length {} exceeds 32", cfg.prefix)));
        }
        let build = |offload: bool| {
            DeviceBuilder::new()
                .name(cfg.name.clone())
                .ipv4(cfg.kernel_addr, cfg.prefix, None)
                .mtu(cfg.mtu)
                .packet_information(false)
                .offload(offload)
                .enable(true)
                .build_sync()
        };
        let dev = match build(cfg.offload) {
            // A kernel without the offload ioctls (or a sandbox that filters them) still
            // gets a working device, one datagram per system call.
            Err(e)
                if cfg.offload
                    && e.kind() != io::ErrorKind::PermissionDenied
                    && Path::new(TUN_NODE).exists() =>
            {
                build(false)
            }
            other => other,
        }
        .map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => TunError::PermissionDenied,
            io::ErrorKind::NotFound if !Path::new(TUN_NODE).exists() => TunError::NoTunDevice,
            _ => TunError::device("create", e),
        })?;
        dev.set_nonblocking(true).map_err(|e| TunError::device("create", e))?;
        let event = InterruptEvent::new().map_err(|e| TunError::device("create", e))?;
        let stop = StopHandle { flag: Arc::new(AtomicBool::new(false)), event: Arc::new(event) };
        let name = dev.name().unwrap_or_else(|_| cfg.name.clone());
        Ok(TunDevice { dev, stop, name })
    }

    /// Whether the device runs with the kernel's TCP offloads (see the module
    /// documentation).
    pub(crate) fn offload(&self) -> bool {
        self.dev.tcp_gso()
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Wait until the device is readable, `timeout` passed, or a stop was requested.
    /// A stop wakes one wait only (the wake-up pipe is drained); the flag stays set for
    /// [`StopHandle::is_stopped`], so a loop can go on waiting while it shuts down.
    pub(crate) fn wait(&self, timeout: Duration) -> Result<Wake, TunError> {
        match self.dev.wait_readable_intr_timeout(&self.stop.event, Some(timeout)) {
            Ok(()) => Ok(Wake::Readable),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(Wake::TimedOut),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                if self.stop.event.is_trigger() {
                    self.stop.event.reset().map_err(|e| TunError::device("wait", e))?;
                    Ok(Wake::Stopped)
                } else {
                    // EINTR from a signal delivered to this thread: just look again.
                    Ok(Wake::TimedOut)
                }
            }
            Err(e) => Err(TunError::device("wait", e)),
        }
    }

    /// Read what one system call brings into `bufs` (each at least the device's MTU
    /// long, the first [`RX_FIRST_LEN`]), with their lengths in `sizes`: one datagram,
    /// or with the offload the segments of one of the kernel's TSO bursts. `raw` holds
    /// the read as it came (at least [`RX_RAW_LEN`] bytes). The count of datagrams,
    /// `None` when nothing is waiting.
    pub(crate) fn recv_batch(
        &self,
        raw: &mut [u8],
        bufs: &mut [Vec<u8>],
        sizes: &mut [usize],
    ) -> Result<Option<usize>, TunError> {
        match self.dev.recv_multiple(raw, bufs, sizes, 0) {
            Ok(n) => Ok(Some(n)),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(None),
            Err(e) => Err(TunError::device("read", e)),
        }
    }

    /// Write the datagrams of `bufs`, each starting [`TX_HEADROOM`] bytes into its
    /// buffer and running to its end; with the offload, `tun-rs` joins consecutive
    /// segments of one connection first (`gro` is its table, kept between calls).
    /// Returns whether every write was taken: a full device queue, or a datagram the
    /// kernel cannot route or parse, loses what it carried, as a network would, and
    /// the stack recovers by retransmission.
    pub(crate) fn send_batch(
        &self,
        gro: &mut GROTable,
        bufs: &mut [bytes::BytesMut],
    ) -> Result<bool, TunError> {
        match self.dev.send_multiple(gro, bufs, TX_HEADROOM) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted | io::ErrorKind::InvalidInput
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(TunError::device("write", e)),
        }
    }
}

/// The bytes before each datagram in a write buffer: room for the virtio header the
/// offload puts first (unused without it).
pub(crate) const TX_HEADROOM: usize = VIRTIO_NET_HDR_LEN;
/// The size of the buffer one read lands in: the virtio header and the largest datagram.
pub(crate) const RX_RAW_LEN: usize = VIRTIO_NET_HDR_LEN + 65_536;
/// The first of the buffers a read is split into takes a datagram that needs no split
/// whole, so it must hold the largest.
pub(crate) const RX_FIRST_LEN: usize = 65_536;
