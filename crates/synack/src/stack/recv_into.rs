//! [`RecvInto`]: the application's own buffer, lent to [`Stack::handle_packet_into`]
//! so that a connection's next in-order data is copied into it straight from the
//! datagram.
//!
//! [`Stack::handle_packet_into`]: super::Stack::handle_packet_into

use crate::event::ConnId;

/// A buffer of the application's for one connection's next bytes: a RECEIVE call
/// posted before the data arrives (RFC 9293 3.10.3, 3.10.7.4: "it is possible to
/// deliver segment data to user RECEIVE buffers").
///
/// The first [`RecvInto::filled`] bytes of the buffer are data the connection
/// delivered, in stream order; the rest is free space, which may hold scratch bytes
/// (the copy of a segment that then failed its checksum, for one).
#[derive(Debug)]
pub struct RecvInto<'a> {
    pub(super) conn: ConnId,
    pub(super) buf: &'a mut [u8],
    pub(super) filled: usize,
}

impl<'a> RecvInto<'a> {
    /// An empty buffer for `conn`'s data.
    pub fn new(conn: ConnId, buf: &'a mut [u8]) -> Self {
        RecvInto { conn, buf, filled: 0 }
    }

    /// The connection whose data this buffer takes.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Bytes delivered so far.
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// The bytes delivered so far.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// Free space left (a segment is delivered here only if all of it fits).
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.filled
    }

    /// Forget the bytes delivered (the application has used them): the whole buffer is
    /// free again.
    pub fn clear(&mut self) {
        self.filled = 0;
    }
}
