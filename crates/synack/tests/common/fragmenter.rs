//! Cutting a datagram into IP fragments, for the pair harness (`Fate::Fragment`) and
//! the fuzz harness (which includes this file by path).

/// `d` (an IPv4 datagram without IP options, or an IPv6 one without extension
/// headers) cut into IP fragments carrying at most `max` bytes of its payload each (a
/// multiple of 8, at least 8), with identification `id` (RFC 791 3.2; RFC 8200 4.5, a
/// Fragment header after the fixed header). Written byte by byte here, apart from the
/// code under test.
pub fn ip_fragments(d: &[u8], max: usize, id: u32) -> Vec<Vec<u8>> {
    let unit = (max / 8).max(1) * 8;
    let v6 = d[0] >> 4 == 6;
    let header = if v6 { 40 } else { usize::from(d[0] & 0x0F) * 4 };
    let payload = &d[header..];
    let mut out = Vec::new();
    let mut off = 0;
    while off < payload.len() || (off == 0 && payload.is_empty()) {
        let end = (off + unit).min(payload.len());
        let more = end < payload.len();
        let mut f = d[..header].to_vec();
        if v6 {
            let next = f[6];
            f[6] = 44;
            let om = (off as u16) | u16::from(more);
            f.extend_from_slice(&[next, 0]);
            f.extend_from_slice(&om.to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&payload[off..end]);
            let plen = (f.len() - 40) as u16;
            f[4..6].copy_from_slice(&plen.to_be_bytes());
        } else {
            f.extend_from_slice(&payload[off..end]);
            let total = f.len() as u16;
            f[2..4].copy_from_slice(&total.to_be_bytes());
            f[4..6].copy_from_slice(&(id as u16).to_be_bytes());
            let flags = (off / 8) as u16 | if more { 0x2000 } else { 0 };
            f[6..8].copy_from_slice(&flags.to_be_bytes());
            f[10..12].copy_from_slice(&[0, 0]);
            let mut sum = 0u32;
            for w in f[..header].chunks(2) {
                sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            f[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        }
        out.push(f);
        if !more {
            break;
        }
        off = end;
    }
    out
}
