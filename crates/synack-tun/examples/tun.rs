//! `synack tun` without the rest of the CLI: `cargo run -p synack-tun --example tun --
//! serve --app http --port 8080`.

use clap::Parser;
use synack_tun::TunCommand;

/// Run synack on a TUN device against the kernel's TCP.
#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    cmd: TunCommand,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = synack_tun::run(&cli.cmd) {
        eprintln!("synack: {e}");
        std::process::exit(e.exit_code());
    }
}
