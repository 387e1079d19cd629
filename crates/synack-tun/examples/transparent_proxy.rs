//! A transparent proxy over synack: every TCP connection the kernel routes into the
//! TUN device, whatever its destination, is terminated by synack and relayed over the
//! kernel's own TCP to the same port on an upstream host (127.0.0.1 unless given):
//!
//! ```sh
//! sudo unshare -n bash                                       # a throwaway namespace
//! ip link set lo up
//! python3 -m http.server 8000 --bind 127.0.0.1 &             # the upstream
//! cargo run -p synack-tun --example transparent_proxy &      # synack0, 192.0.2.0/24
//! curl http://192.0.2.77:8000/                               # any address in the prefix
//! ```
//!
//! Each connection prints `CLIENT -> DESTINATION relayed to UPSTREAM`, then the bytes
//! relayed each way. The destination is the accepted stream's local address
//! (`Config::any_address` with `TunNet::listen_all`). It needs `/dev/net/tun` and
//! `CAP_NET_ADMIN` (it creates the device `synack0`).

use std::io;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

fn main() {
    if let Err(e) = run() {
        eprintln!("transparent_proxy: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let upstream: IpAddr = match std::env::args().nth(1) {
        Some(a) => a.parse().map_err(|e| format!("upstream host {a:?}: {e}"))?,
        None => "127.0.0.1".parse()?,
    };
    let mut opts = synack_tun::TunOptions::new("synack0", "192.0.2.2".parse()?, "192.0.2.1".parse()?)?;
    opts.stack.any_address = true;
    let net = synack_tun::TunNet::start(&opts)?;
    let listener = net.listen_all()?;
    eprintln!("relaying every connection into synack0 (192.0.2.0/24) to {upstream}, same port");
    for stream in listener.incoming() {
        let s = stream?;
        let to = SocketAddr::new(upstream, s.local_addr().port());
        std::thread::spawn(move || {
            let (from, dest) = (s.peer_addr(), s.local_addr());
            match relay(s, to) {
                Ok((up, down)) => println!("{from} -> {dest}: {up} bytes up, {down} bytes down"),
                Err(e) => eprintln!("{from} -> {dest}: {e}"),
            }
        });
    }
    Ok(())
}

/// Connect to `to` and copy both ways until each side has sent its FIN; the bytes
/// copied (client to upstream, upstream to client).
fn relay(client: synack_tun::TcpStream, to: SocketAddr) -> io::Result<(u64, u64)> {
    let up = TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
    println!("{} -> {} relayed to {to}", client.peer_addr(), client.local_addr());
    let (mut client_rd, mut up_wr) = (client.try_clone()?, up.try_clone()?);
    let upward = std::thread::spawn(move || -> io::Result<u64> {
        let n = io::copy(&mut client_rd, &mut up_wr)?;
        up_wr.shutdown(Shutdown::Write)?;
        Ok(n)
    });
    let (mut up_rd, mut client_wr) = (up, client);
    let down = io::copy(&mut up_rd, &mut client_wr)?;
    client_wr.shutdown(Shutdown::Write)?;
    let up = upward.join().map_err(|_| io::Error::other("the upward copy panicked"))??;
    Ok((up, down))
}
