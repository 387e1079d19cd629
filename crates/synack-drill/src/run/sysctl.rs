//! `sysctl` settings of the scripts, mapped onto [`Config`].
//!
//! Every setting the corpus uses is listed here with what it means for synack:
//!
//! - mapped: the value changes a [`Config`] field (buffers, RTO, delayed ACK, MSL,
//!   window scaling and its shift, timestamps, SACK);
//! - inert: the value describes the platform's default and synack has nothing to
//!   configure (flushing the host cache, ECN left at its default, ...).
//!   Where synack then behaves differently from the platform, the script's packets show
//!   it and the script fails: the difference is never hidden;
//! - unsupported: the value asks for a mode synack cannot be put in (RFC 793 RST or
//!   SYN processing instead of RFC 5961, dropping SYN+FIN, UDP encapsulation, ...). The
//!   script is skipped with that reason.
//!
//! A name not listed is not understood: the script is skipped.

use synack::{Config, Duration, Ecn, SynCookies};

/// Applies `name=value` to `cfg`. `Err` holds the reason to skip the script.
pub(crate) fn apply(cfg: &mut Config, name: &str, value: &str) -> Result<(), String> {
    let value = value.trim_matches('"');
    let int = || -> Result<i64, String> {
        value.parse::<i64>().map_err(|_| format!("sysctl {name}={value}: value is not an integer"))
    };
    let unsupported = |why: &str| -> Result<(), String> { Err(format!("sysctl {name}={value}: {why}")) };
    match name {
        // ----- mapped ----------------------------------------------------------
        "net.inet.tcp.recvspace" => cfg.recv_buffer = positive_u32(name, value)?,
        "net.inet.tcp.sendspace" => cfg.send_buffer = positive_u32(name, value)?,
        // RFC 1323/7323 extensions: 0 none, 1 window scaling and timestamps, 2 window
        // scaling only, 3 timestamps only (FreeBSD's `V_tcp_do_rfc1323`).
        "net.inet.tcp.rfc1323" => {
            let v = int()?;
            if !(0..=3).contains(&v) {
                return unsupported("FreeBSD knows 0 to 3");
            }
            cfg.window_scaling = v == 1 || v == 2;
            cfg.timestamps = v == 1 || v == 3;
        }
        "net.inet.tcp.rexmit_initial" => cfg.rto_initial = millis(name, value)?,
        // FreeBSD's RTO is at least rexmit_min plus the 200 ms slop (see rexmit_slop).
        "net.inet.tcp.rexmit_min" => cfg.rto_min = millis(name, value)? + Duration::from_millis(200),
        "net.inet.tcp.msl" => cfg.msl = millis(name, value)?,
        "net.inet.tcp.delacktime" => {
            let d = millis(name, value)?;
            cfg.delayed_ack = if d == Duration::ZERO { None } else { Some(d) };
        }
        "net.ipv4.tcp_rmem" => {
            // "min default max": the default is what a new socket gets.
            let mut parts = value.split_whitespace();
            let default =
                parts.nth(1).ok_or_else(|| format!("sysctl {name}={value}: expected three numbers"))?;
            cfg.recv_buffer = positive_u32(name, default)?;
        }
        "net.ipv4.tcp_wmem" => {
            let mut parts = value.split_whitespace();
            let default =
                parts.nth(1).ok_or_else(|| format!("sysctl {name}={value}: expected three numbers"))?;
            cfg.send_buffer = positive_u32(name, default)?;
        }

        // ----- inert at these values, unsupported otherwise ------------------------
        // No host cache in synack: nothing to flush.
        "net.inet.tcp.hostcache.purgenow" => {}
        // The largest socket buffer; FreeBSD derives the window-scale shift it offers
        // from it (`tcp_connect`, `syncache_add`): the smallest shift, at most 14, for
        // which 65535 << shift reaches it.
        "kern.ipc.maxsockbuf" => cfg.window_shift = Some(freebsd_window_shift(positive_u64(name, value)?)),
        // 0: answer segments to closed ports with RST, as synack does.
        "net.inet.tcp.blackhole" => {
            if int()? != 0 {
                return unsupported("synack always answers segments for no connection with RST");
            }
        }
        // SACK (RFC 2018): offered on SYNs and answered when non-zero (the default).
        "net.inet.tcp.sack.enable" => cfg.sack = int()? != 0,
        // ECN (RFC 3168): 0 never; 1 ask for it on our SYNs and accept it; 2 (the
        // default) accept it when the peer asks.
        "net.inet.tcp.ecn.enable" => {
            cfg.ecn = match int()? {
                0 => Ecn::Off,
                1 => Ecn::Active,
                2 => Ecn::Passive,
                _ => return unsupported("net.inet.tcp.ecn.enable takes 0, 1 or 2"),
            }
        }
        // SYN retransmissions that still ask for ECN before the rest go without.
        "net.inet.tcp.ecn.maxretries" => {
            cfg.ecn_setup_retries = value
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("sysctl {name}={value}: expected a non-negative integer"))?
        }
        // RFC 5961 switches: 0 (FreeBSD's default) applies RFC 5961, 1 the RFC 793
        // processing that RFC 9293 3.10.7.4 also describes.
        "net.inet.tcp.insecure_rst" => cfg.rfc5961_rst = int()? == 0,
        "net.inet.tcp.insecure_syn" => cfg.rfc5961_syn = int()? == 0,
        // 0: process SYN+FIN segments like RFC 9293 says; 1 drops them.
        "net.inet.tcp.drop_synfin" => cfg.drop_syn_fin = int()? != 0,
        // FreeBSD adds 200 ms of slop to every RTO; synack has no such knob (the
        // default 200 is accepted and shows in retransmission timing).
        "net.inet.tcp.rexmit_slop" => {
            if int()? != 200 {
                return unsupported("synack has no RTO slop setting");
            }
        }
        // 0 (default): SYN retransmissions keep their options, as synack's do.
        "net.inet.tcp.rexmit_drop_options" => {
            if int()? != 0 {
                return unsupported("synack never drops options from retransmitted SYNs");
            }
        }
        // Connection-establishment timeout in ms (FreeBSD's default 75 s): how long an
        // active open may take, `Config::connect_timeout`.
        "net.inet.tcp.keepinit" => {
            let ms = u64::try_from(int()?).map_err(|_| format!("sysctl {name}={value}: negative"))?;
            cfg.connect_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        }
        // Keep-alive timings of every socket that sets none of its own (FreeBSD's
        // keepidle and keepintvl in ms, keepcnt a count): `Config::keepalive`, on for
        // every connection as FreeBSD's always_keepalive (1 by default) has it.
        "net.inet.tcp.keepidle" | "net.inet.tcp.keepintvl" => {
            let d = millis(name, value)?;
            if d == Duration::ZERO {
                return unsupported("a zero keep-alive time");
            }
            let ka = cfg.keepalive.get_or_insert_with(Default::default);
            if name == "net.inet.tcp.keepidle" {
                ka.idle = d;
            } else {
                ka.interval = d;
            }
        }
        "net.inet.tcp.keepcnt" => {
            let n = u8::try_from(int()?).map_err(|_| format!("sysctl {name}={value}: not 0 to 255"))?;
            cfg.keepalive.get_or_insert_with(Default::default).probes = n;
        }
        // SYN cookies: FreeBSD sends them when its SYN cache overflows (1, the
        // default), as synack's `SynCookies::WhenFull` does when the SYN queue is full;
        // 0 never. `syncookies_only` answers every SYN with one (`SynCookies::Always`).
        "net.inet.tcp.syncookies" => {
            if cfg.syn_cookies != SynCookies::Always {
                cfg.syn_cookies = if int()? != 0 { SynCookies::WhenFull } else { SynCookies::Off };
            }
        }
        "net.inet.tcp.syncookies_only" => {
            if int()? != 0 {
                cfg.syn_cookies = SynCookies::Always;
            } else if cfg.syn_cookies == SynCookies::Always {
                cfg.syn_cookies = SynCookies::WhenFull;
            }
        }
        // TCP over UDP (RFC 6951 style): port 0 is off.
        "net.inet.tcp.udp_tunneling_port" | "net.inet.tcp.udp_tunneling_overhead" => {
            if int()? != 0 {
                return unsupported("synack does not encapsulate TCP in UDP");
            }
        }
        "net.inet.tcp.tolerate_missing_ts" => {
            int()?;
        }
        _ => return Err(format!("sysctl {name} is not understood by the runner")),
    }
    Ok(())
}

/// FreeBSD's window-scale shift for a `kern.ipc.maxsockbuf` of `sb_max`: "while
/// (wscale < TCP_MAX_WINSHIFT && (TCP_MAXWIN << wscale) < sb_max) wscale++".
pub(crate) fn freebsd_window_shift(sb_max: u64) -> u8 {
    let mut shift = 0u8;
    while shift < 14 && (65535u64 << shift) < sb_max {
        shift += 1;
    }
    shift
}

fn positive_u64(name: &str, value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!("sysctl {name}={value}: expected a positive integer")),
    }
}

fn positive_u32(name: &str, value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(format!("sysctl {name}={value}: expected a positive integer")),
    }
}

fn millis(name: &str, value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("sysctl {name}={value}: expected milliseconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_and_timers_are_mapped() {
        let mut cfg = Config::default();
        assert_eq!(apply(&mut cfg, "net.inet.tcp.recvspace", "65536"), Ok(()));
        assert_eq!(apply(&mut cfg, "net.inet.tcp.rexmit_initial", "1000"), Ok(()));
        assert_eq!(apply(&mut cfg, "net.inet.tcp.delacktime", "0"), Ok(()));
        assert_eq!(cfg.recv_buffer, 65536);
        assert_eq!(cfg.rto_initial, Duration::from_secs(1));
        assert_eq!(cfg.delayed_ack, None);
    }

    #[test]
    fn modes_synack_lacks_are_reasons_to_skip() {
        let mut cfg = Config::default();
        let err = apply(&mut cfg, "net.inet.tcp.rexmit_slop", "0");
        assert!(err.is_err_and(|e| e.contains("slop")));
        assert!(apply(&mut cfg, "net.inet.tcp.insecure_rst", "1").is_ok());
        assert!(!cfg.rfc5961_rst);
        assert!(apply(&mut cfg, "net.inet.tcp.insecure_rst", "0").is_ok());
        assert!(cfg.rfc5961_rst);
        assert!(apply(&mut cfg, "net.inet.tcp.insecure_syn", "1").is_ok());
        assert!(!cfg.rfc5961_syn);
        assert!(apply(&mut cfg, "net.inet.tcp.drop_synfin", "1").is_ok());
        assert!(cfg.drop_syn_fin);
        assert!(apply(&mut cfg, "net.inet.tcp.no_such_thing", "1").is_err());
        assert!(apply(&mut cfg, "net.inet.tcp.recvspace", "lots").is_err());
    }

    #[test]
    fn keepinit_and_syn_cookies_map_to_the_stack() {
        let mut cfg = Config::default();
        assert_eq!(apply(&mut cfg, "net.inet.tcp.keepinit", "75000"), Ok(()));
        assert_eq!(cfg.connect_timeout, Some(Duration::from_secs(75)));
        assert_eq!(apply(&mut cfg, "net.inet.tcp.keepinit", "0"), Ok(()));
        assert_eq!(cfg.connect_timeout, None);
        assert!(apply(&mut cfg, "net.inet.tcp.keepinit", "-1").is_err());
        assert_eq!(apply(&mut cfg, "net.inet.tcp.syncookies", "0"), Ok(()));
        assert_eq!(cfg.syn_cookies, SynCookies::Off);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.syncookies_only", "1"), Ok(()));
        assert_eq!(cfg.syn_cookies, SynCookies::Always);
        // `syncookies` does not undo `syncookies_only`; turning that off does.
        assert_eq!(apply(&mut cfg, "net.inet.tcp.syncookies", "1"), Ok(()));
        assert_eq!(cfg.syn_cookies, SynCookies::Always);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.syncookies_only", "0"), Ok(()));
        assert_eq!(cfg.syn_cookies, SynCookies::WhenFull);
    }

    #[test]
    fn keepidle_keepintvl_and_keepcnt_set_every_connection_s_keep_alive() {
        let mut cfg = Config::default();
        assert_eq!(apply(&mut cfg, "net.inet.tcp.keepidle", "15000"), Ok(()));
        let want = synack::Keepalive { idle: Duration::from_secs(15), ..Default::default() };
        assert_eq!(cfg.keepalive, Some(want));
        assert_eq!(apply(&mut cfg, "net.inet.tcp.keepintvl", "2500"), Ok(()));
        assert_eq!(apply(&mut cfg, "net.inet.tcp.keepcnt", "3"), Ok(()));
        let want = synack::Keepalive { interval: Duration::from_millis(2500), probes: 3, ..want };
        assert_eq!(cfg.keepalive, Some(want));
        for bad in [("keepidle", "0"), ("keepintvl", "-5"), ("keepcnt", "256"), ("keepcnt", "x")] {
            let name = format!("net.inet.tcp.{}", bad.0);
            assert!(apply(&mut cfg, &name, bad.1).is_err(), "{bad:?}");
        }
        assert_eq!(cfg.keepalive, Some(want), "unchanged by what was refused");
    }

    #[test]
    fn rfc1323_sack_and_maxsockbuf_map_to_the_option_switches() {
        let mut cfg = Config::default();
        assert_eq!(apply(&mut cfg, "net.inet.tcp.rfc1323", "0"), Ok(()));
        assert!(!cfg.window_scaling && !cfg.timestamps);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.rfc1323", "3"), Ok(()));
        assert!(!cfg.window_scaling && cfg.timestamps);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.rfc1323", "2"), Ok(()));
        assert!(cfg.window_scaling && !cfg.timestamps);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.rfc1323", "1"), Ok(()));
        assert!(cfg.window_scaling && cfg.timestamps);
        assert!(apply(&mut cfg, "net.inet.tcp.rfc1323", "4").is_err());
        assert_eq!(apply(&mut cfg, "net.inet.tcp.sack.enable", "0"), Ok(()));
        assert!(!cfg.sack);
        assert_eq!(apply(&mut cfg, "net.inet.tcp.sack.enable", "1"), Ok(()));
        assert!(cfg.sack);
        // FreeBSD's default 2 MB gives 6; the largest value 14; 65535 itself 0.
        assert_eq!(apply(&mut cfg, "kern.ipc.maxsockbuf", "2097152"), Ok(()));
        assert_eq!(cfg.window_shift, Some(6));
        assert_eq!(apply(&mut cfg, "kern.ipc.maxsockbuf", "4294967295"), Ok(()));
        assert_eq!(cfg.window_shift, Some(14));
        assert_eq!(freebsd_window_shift(65535), 0);
        assert_eq!(freebsd_window_shift(65536), 1);
        assert_eq!(freebsd_window_shift(131070), 1);
    }

    #[test]
    fn linux_rmem_sets_the_default_buffer() {
        let mut cfg = Config::default();
        assert_eq!(apply(&mut cfg, "net.ipv4.tcp_rmem", "\"4096 87380 6291456\""), Ok(()));
        assert_eq!(cfg.recv_buffer, 87380);
    }
}
