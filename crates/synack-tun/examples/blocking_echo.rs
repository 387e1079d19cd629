//! An echo server written as plain blocking Rust over synack, with a thread per
//! connection, as one would with `std::net::TcpListener`:
//!
//! ```sh
//! sudo cargo run -p synack-tun --example blocking_echo     # synack at 192.0.2.2:7000
//! printf 'hello\n' | nc -N 192.0.2.2 7000                  # from the kernel's side
//! ```
//!
//! It needs `/dev/net/tun` and `CAP_NET_ADMIN` (it creates the device `synack0`).

use std::io::{Read, Write};
use std::net::Shutdown;

fn main() {
    if let Err(e) = run() {
        eprintln!("blocking_echo: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let opts = synack_tun::TunOptions::new("synack0", "192.0.2.2".parse()?, "192.0.2.1".parse()?)?;
    let net = synack_tun::TunNet::start(&opts)?;
    let listener = net.listen(7000)?;
    eprintln!("echoing on {}", listener.local_addr());
    for stream in listener.incoming() {
        let mut s = stream?;
        std::thread::spawn(move || {
            let peer = s.peer_addr();
            let mut buf = [0u8; 16 * 1024];
            let mut total = 0usize;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        total += n;
                    }
                    Err(e) => {
                        eprintln!("{peer}: {e}");
                        return;
                    }
                }
            }
            let _ = s.shutdown(Shutdown::Write);
            eprintln!("{peer}: echoed {total} bytes");
        });
    }
    Ok(())
}
