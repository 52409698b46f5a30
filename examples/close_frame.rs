// `open_websocket_close_frame`: close frames reach `on_message` (with code and reason);
// the server completes the close handshake afterwards.

use ws::{Frame, Opcode, Server, Settings};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.set(Settings { open_websocket_close_frame: true, ..Settings::default() });
    server.on_message(|_server: &Server, frame: Frame| {
        if frame.opcode == Opcode::Close {
            println!("Close frame received: Code {:?} Reason {}", frame.code(), frame.reason());
        } else {
            println!("Message received: {:?}", frame.data);
        }
    });
    server.on_close(|_server, _fd| {});
    server.start()
}
