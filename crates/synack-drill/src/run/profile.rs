//! Profiles: what a script family assumes about the host, mapped onto synack.
//!
//! A profile gives the stack's base [`Config`], the `#ifdef` symbols that are defined,
//! the platform's constants (errno numbers, `O_NONBLOCK`, `tcpi_state` numbering) and
//! socket-layer conventions the scripts observe through system calls.

use synack::{Config, Duration, OptionLayout};

/// A script family's assumptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The FreeBSD tcp-testsuite: FreeBSD's defaults (receive space 65536, send space
    /// 32768, delayed ACK 100 ms, initial RTO 1 s, window scale 6, SACK and
    /// timestamps, FreeBSD's option layout), its `sysctl` lines, `#ifdef
    /// FreeBSD`, FreeBSD errno numbers and socket-buffer rounding.
    Freebsd,
    /// Linux packetdrill scripts: MSS 1460, a 15 MB receive buffer offered with
    /// window scale 7, Linux's option layout, initial window 10, minimum RTO 200 ms,
    /// delayed ACK 40 ms; `#ifdef Linux`.
    Linux,
    /// synack's own defaults ([`Config::default`]); `#ifdef STANDARD` (the RFC branch
    /// of the FreeBSD suite's scripts).
    Rfc,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 3] = [Profile::Freebsd, Profile::Linux, Profile::Rfc];

    /// Parses `freebsd`, `linux` or `rfc`.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The profile's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Freebsd => "freebsd",
            Profile::Linux => "linux",
            Profile::Rfc => "rfc",
        }
    }

    /// The `#ifdef` symbols this profile defines.
    pub fn defines(self) -> &'static [&'static str] {
        match self {
            Profile::Freebsd => &["FreeBSD"],
            Profile::Linux => &["Linux"],
            Profile::Rfc => &["STANDARD"],
        }
    }

    /// The stack configuration before any script line applies.
    pub(crate) fn base_config(self) -> Config {
        let mut cfg = Config { secret: *b"synack-drill-isn", trace: true, ..Config::default() };
        // No tail loss probes (RFC 8985) in any profile: FreeBSD's default stack has
        // none, RFC 9293 does not include them, and the scripts time every
        // retransmission against the RTO (the Linux-sourced ones included).
        cfg.tail_loss_probe = false;
        // Nor RACK's reordering timer (RFC 8985 6.3), for the same reason: it would
        // retransmit a hole below SACKed data before the RTO the scripts expect.
        cfg.rack_reorder_timer = false;
        match self {
            Profile::Freebsd => {
                // net.inet.tcp.recvspace / sendspace defaults.
                cfg.recv_buffer = 65536;
                cfg.send_buffer = 32768;
                // net.inet.tcp.delacktime = 100 ms; rexmit_initial = 1 s; msl = 30 s.
                // FreeBSD adds rexmit_slop (200 ms) to every computed RTO and bounds it
                // below by rexmit_min (30 ms): no retransmission comes sooner than
                // 230 ms, which is synack's closest setting.
                cfg.delayed_ack = Some(Duration::from_millis(100));
                // tcp_input ACKs a FIN at once ("since we received a FIN then no more
                // input can be expected, send ACK now").
                cfg.delay_fin_ack = false;
                cfg.rto_initial = Duration::from_secs(1);
                cfg.rto_min = Duration::from_millis(230);
                cfg.msl = Duration::from_secs(30);
                cfg.initial_window = 10;
                // Options as `tcp_addoptions` lays them out; SACK and timestamps on
                // (net.inet.tcp.sack.enable = 1, rfc1323 = 1); the window-scale shift
                // from kern.ipc.maxsockbuf = 2097152.
                cfg.option_layout = OptionLayout::Bsd;
                cfg.sack = true;
                cfg.timestamps = true;
                cfg.window_shift = Some(super::sysctl::freebsd_window_shift(2_097_152));
                // net.inet.tcp.always_keepalive = 1: keep-alive on every connection,
                // SO_KEEPALIVE or not, with keepidle 2 h, keepintvl 75 s, keepcnt 8.
                cfg.keepalive = Some(synack::Keepalive { probes: 8, ..synack::Keepalive::default() });
            }
            Profile::Linux => {
                cfg.recv_buffer = 15 * 1024 * 1024;
                cfg.initial_window = 10;
                cfg.rto_min = Duration::from_millis(200);
                cfg.rto_initial = Duration::from_secs(1);
                cfg.delayed_ack = Some(Duration::from_millis(40));
                // Linux delays it only in its interactive (pingpong) mode, which the
                // scripts' short exchanges rarely reach: at once.
                cfg.delay_fin_ack = false;
                cfg.msl = Duration::from_secs(30);
                // Linux's option layout, SACK and timestamps on, and the shift Linux
                // derives from its largest receive buffer (tcp_rmem[2] = 6 MB): 7.
                cfg.option_layout = OptionLayout::Linux;
                cfg.sack = true;
                cfg.timestamps = true;
                cfg.window_shift = Some(7);
            }
            Profile::Rfc => {}
        }
        cfg
    }

    /// Platform constants for system-call arguments and results.
    pub(crate) fn platform(self) -> Platform {
        match self {
            Profile::Freebsd => Platform::FREEBSD,
            Profile::Linux | Profile::Rfc => Platform::LINUX,
        }
    }
}

/// Numbers a platform's system-call interface uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Platform {
    /// `O_NONBLOCK`.
    pub(crate) o_nonblock: i64,
    /// `MSG_DONTWAIT`.
    pub(crate) msg_dontwait: i64,
    /// Errno numbers, by name.
    errnos: &'static [(&'static str, i64)],
    /// `tcpi_state` numbers follow FreeBSD's `TCPS_*` order (else Linux's `TCP_*`).
    pub(crate) freebsd_states: bool,
    /// SO_RCVBUF/SO_SNDBUF of a connection are rounded up to a multiple of its MSS once
    /// the MSS is known (FreeBSD's `tcp_mss_update`).
    pub(crate) round_buffers_to_mss: bool,
}

/// Constants shared by both platforms.
const COMMON: &[(&str, i64)] = &[
    ("O_RDWR", 2),
    ("O_RDONLY", 0),
    ("O_WRONLY", 1),
    ("MSG_PEEK", 2),
    ("SHUT_RD", 0),
    ("SHUT_WR", 1),
    ("SHUT_RDWR", 2),
    // `tcpi_options` bits (Linux's `tcp.h`, FreeBSD's `tcp.h` alike).
    ("TCPI_OPT_TIMESTAMPS", 1),
    ("TCPI_OPT_SACK", 2),
    ("TCPI_OPT_WSCALE", 4),
    ("TCPI_OPT_ECN", 8),
    // `IP_TOS` and `IPV6_TCLASS` values: the DSCP in the upper six bits (RFC 2474,
    // class selectors; RFC 2597, assured forwarding; RFC 3246, expedited forwarding),
    // as FreeBSD's `netinet/ip.h` names them.
    ("IPTOS_DSCP_CS0", 0x00),
    ("IPTOS_DSCP_CS1", 0x20),
    ("IPTOS_DSCP_CS2", 0x40),
    ("IPTOS_DSCP_CS3", 0x60),
    ("IPTOS_DSCP_CS4", 0x80),
    ("IPTOS_DSCP_CS5", 0xa0),
    ("IPTOS_DSCP_CS6", 0xc0),
    ("IPTOS_DSCP_CS7", 0xe0),
    ("IPTOS_DSCP_AF11", 0x28),
    ("IPTOS_DSCP_AF12", 0x30),
    ("IPTOS_DSCP_AF13", 0x38),
    ("IPTOS_DSCP_AF21", 0x48),
    ("IPTOS_DSCP_AF22", 0x50),
    ("IPTOS_DSCP_AF23", 0x58),
    ("IPTOS_DSCP_AF31", 0x68),
    ("IPTOS_DSCP_AF32", 0x70),
    ("IPTOS_DSCP_AF33", 0x78),
    ("IPTOS_DSCP_AF41", 0x88),
    ("IPTOS_DSCP_AF42", 0x90),
    ("IPTOS_DSCP_AF43", 0x98),
    ("IPTOS_DSCP_EF", 0xb8),
];

const FREEBSD_ERRNOS: &[(&str, i64)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EINTR", 4),
    ("EIO", 5),
    ("EBADF", 9),
    ("ENOMEM", 12),
    ("EFAULT", 14),
    ("EINVAL", 22),
    ("EPIPE", 32),
    ("EAGAIN", 35),
    ("EWOULDBLOCK", 35),
    ("EINPROGRESS", 36),
    ("EALREADY", 37),
    ("ENOTSOCK", 38),
    ("EDESTADDRREQ", 39),
    ("EMSGSIZE", 40),
    ("EPROTOTYPE", 41),
    ("ENOPROTOOPT", 42),
    ("EOPNOTSUPP", 45),
    ("EAFNOSUPPORT", 47),
    ("EADDRINUSE", 48),
    ("EADDRNOTAVAIL", 49),
    ("ENETUNREACH", 51),
    ("ECONNABORTED", 53),
    ("ECONNRESET", 54),
    ("ENOBUFS", 55),
    ("EISCONN", 56),
    ("ENOTCONN", 57),
    ("ESHUTDOWN", 58),
    ("ETIMEDOUT", 60),
    ("ECONNREFUSED", 61),
    ("EHOSTUNREACH", 65),
];

const LINUX_ERRNOS: &[(&str, i64)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("EINTR", 4),
    ("EIO", 5),
    ("EBADF", 9),
    ("EAGAIN", 11),
    ("EWOULDBLOCK", 11),
    ("ENOMEM", 12),
    ("EFAULT", 14),
    ("EINVAL", 22),
    ("EPIPE", 32),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EOPNOTSUPP", 95),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETUNREACH", 101),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
];

impl Platform {
    const FREEBSD: Platform = Platform {
        o_nonblock: 0x4,
        msg_dontwait: 0x80,
        errnos: FREEBSD_ERRNOS,
        freebsd_states: true,
        round_buffers_to_mss: true,
    };
    const LINUX: Platform = Platform {
        o_nonblock: 0o4000,
        msg_dontwait: 0x40,
        errnos: LINUX_ERRNOS,
        freebsd_states: false,
        round_buffers_to_mss: false,
    };

    /// The configuration the stack is built with from the script's settings `cfg`
    /// (which keep the nominal values `getsockopt` reports before the handshake).
    ///
    /// FreeBSD rounds a connection's socket buffers up to a multiple of its MSS once
    /// the MSS is known (`tcp_mss_update`): with `recvspace` 65536 and MSS 1460 the
    /// receive buffer, and with it the receive window the stack accepts segments in,
    /// is 65700. synack's buffers are fixed when the stack is built, so the rounding
    /// is applied up front with the MSS synack announces (the peers of the FreeBSD
    /// suite announce the same). A receive buffer is rounded only when it is at least
    /// 65535 bytes, where the SYN's window (at most 65535) cannot show the difference.
    pub(crate) fn stack_config(&self, cfg: &Config, ipv6: bool) -> Config {
        let mut out = cfg.clone();
        if self.round_buffers_to_mss {
            let mss = u32::from(cfg.announced_mss(ipv6)).max(1);
            if cfg.recv_buffer >= 65535 {
                out.recv_buffer = cfg.recv_buffer.div_ceil(mss).saturating_mul(mss);
            }
            out.send_buffer = cfg.send_buffer.div_ceil(mss).saturating_mul(mss);
        }
        out
    }

    /// The number of an errno name (`EAGAIN` ...).
    pub(crate) fn errno(&self, name: &str) -> Option<i64> {
        self.errnos.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The value of a symbolic constant a script may use as an integer.
    pub(crate) fn constant(&self, name: &str) -> Option<i64> {
        match name {
            "O_NONBLOCK" => Some(self.o_nonblock),
            "MSG_DONTWAIT" => Some(self.msg_dontwait),
            _ => COMMON.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).or_else(|| self.errno(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_round_trip_by_name() {
        for p in Profile::ALL {
            assert_eq!(Profile::from_name(p.name()), Some(p));
        }
        assert_eq!(Profile::from_name("solaris"), None);
    }

    #[test]
    fn errno_numbers_differ_by_platform() {
        assert_eq!(Profile::Freebsd.platform().errno("EINPROGRESS"), Some(36));
        assert_eq!(Profile::Linux.platform().errno("EINPROGRESS"), Some(115));
        assert_eq!(Profile::Freebsd.platform().constant("O_NONBLOCK"), Some(4));
        assert_eq!(Profile::Linux.platform().constant("SHUT_WR"), Some(1));
    }

    #[test]
    fn freebsd_buffers_are_rounded_up_to_the_mss() {
        let cfg = Config { recv_buffer: 65536, send_buffer: 32768, ..Config::default() };
        let v4 = Profile::Freebsd.platform().stack_config(&cfg, false);
        assert_eq!((v4.recv_buffer, v4.send_buffer), (65700, 33580));
        let v6 = Profile::Freebsd.platform().stack_config(&cfg, true);
        assert_eq!(v6.recv_buffer, 66240);
        assert_eq!(Profile::Rfc.platform().stack_config(&cfg, false).recv_buffer, 65536);
        let small = Config { recv_buffer: 16384, ..Config::default() };
        assert_eq!(Profile::Freebsd.platform().stack_config(&small, false).recv_buffer, 16384);
    }

    #[test]
    fn linux_profile_offers_window_scale_seven_in_the_linux_layout() {
        // The 15 MB buffer alone would give 8; Linux offers 7.
        let cfg = Profile::Linux.base_config();
        assert_eq!(cfg.window_shift, Some(7));
        assert_eq!(cfg.option_layout, OptionLayout::Linux);
        assert!(cfg.sack && cfg.timestamps);
    }

    #[test]
    fn freebsd_profile_offers_window_scale_six_in_the_bsd_layout() {
        let cfg = Profile::Freebsd.base_config();
        assert_eq!(cfg.window_shift, Some(6));
        assert_eq!(cfg.option_layout, OptionLayout::Bsd);
        assert!(cfg.sack && cfg.timestamps);
    }
}
