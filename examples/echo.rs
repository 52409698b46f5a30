// The echo server every adapter ships (benchmarks and conformance runs depend on it).
//
// `cargo run --release -p ws-tokio --example echo -- --listen 127.0.0.1:9001` (likewise
// `-p ws-async-std`, `-p ws-smol`).
//
// Prints a line containing `listening` once it accepts connections, echoes every text and
// binary message unchanged (compressed when the connection negotiated compression, whether
// or not the message arrived compressed), and pushes a text message starting with
// `broadcast:` to every open connection instead, framed once (and compressed once, for the
// connections whose agreement allows a shared compressed message).
// Flags: `--listen ADDR` (default 127.0.0.1:9501), `--workers N`, `--compression`,
// `--max-message-size BYTES` (default 64 MiB; also the frame limit), `--subprotocol NAME`
// (agreed when a client offers it; beyond API.md's contract). Stops cleanly on
// SIGINT/SIGTERM (close 1001 to every client).

use std::net::SocketAddr;

use ws::{Flags, Frame, Opcode, Server, Settings};

fn main() -> Result<(), ws::Error> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 9501).into();
    let mut settings = Settings { package_max_length: 64 << 20, max_frame_size: 64 << 20, ..Settings::default() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--listen" => listen = value().parse().map_err(|_| ws::Error::InvalidAddress(arg.clone()))?,
            "--workers" => settings.worker_num = value().parse().unwrap_or(settings.worker_num),
            "--compression" => settings.websocket_compression = true,
            "--subprotocol" => settings.websocket_subprotocol = Some(value()),
            "--max-message-size" => {
                let size = value().parse().unwrap_or(settings.package_max_length);
                settings.package_max_length = size;
                settings.max_frame_size = size;
            }
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    // Room for a whole echoed message behind one being written.
    settings.buffer_output_size = settings.buffer_output_size.max(settings.package_max_length.saturating_mul(2));

    // With Flags::COMPRESS a push is compressed on connections that negotiated
    // permessage-deflate and sent plain on the others.
    let flags = Flags::FIN.with(Flags::COMPRESS, settings.websocket_compression);
    let server = Server::new(listen.ip().to_string(), listen.port());
    server.set(settings);
    server.on_message(move |server: &Server, frame: Frame| {
        if frame.opcode == Opcode::Text && frame.data.starts_with(b"broadcast:") {
            server.broadcast(frame.data, Opcode::Text, flags);
        } else {
            let _ = server.push_with(frame.fd, frame.data, frame.opcode, flags);
        }
    });
    // Timers made before start run once the listener is bound.
    server.after(0, |server| {
        if let Some(addr) = server.local_addr() {
            println!("listening on {addr}");
        }
    });
    server.start()
}
