// Compression (RFC 7692), server side: `websocket_compression` negotiates it, and
// `Flags::COMPRESS` compresses a push (sent plain to clients that did not agree).

use ws::{Flags, Frame, Opcode, Server, Settings};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.set(Settings { websocket_compression: true, ..Settings::default() });
    server.on_message(|server: &Server, frame: Frame| {
        let _ = server.push_with(frame.fd, "Hello Swoole", Opcode::Text, Flags::FIN | Flags::COMPRESS);
        // or send the client's frame back as it came: `server.push_frame(frame.fd, frame)`
    });
    server.start()
}
