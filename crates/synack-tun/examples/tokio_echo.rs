//! An echo server of tokio tasks over synack, a task per connection, as one would
//! write it with `tokio::net::TcpListener`:
//!
//! ```sh
//! sudo cargo run -p synack-tun --example tokio_echo        # synack at 192.0.2.2:7000
//! printf 'hello\n' | nc -N 192.0.2.2 7000                  # from the kernel's side
//! ```
//!
//! It needs `/dev/net/tun` and `CAP_NET_ADMIN` (it creates the device `synack0`).

use synack_tun::tokio::TcpListener;
use tokio::io::AsyncWriteExt;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("tokio_echo: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let opts = synack_tun::TunOptions::new("synack0", "192.0.2.2".parse()?, "192.0.2.1".parse()?)?;
    let net = synack_tun::TunNet::start(&opts)?;
    let listener = TcpListener::bind(&net, 7000).await?;
    eprintln!("echoing on {}", listener.local_addr());
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let (mut rd, mut wr) = stream.into_split();
            match tokio::io::copy(&mut rd, &mut wr).await {
                Ok(total) => {
                    let _ = wr.shutdown().await;
                    eprintln!("{peer}: echoed {total} bytes");
                }
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}
