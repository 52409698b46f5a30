// `open_websocket_ping_frame`: pings reach `on_message` and the application answers them
// with a pong itself.

use ws::{Frame, Opcode, Server, Settings};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.set(Settings { open_websocket_ping_frame: true, ..Settings::default() });
    server.on_message(|server: &Server, frame: Frame| {
        if frame.opcode == Opcode::Ping {
            println!("Ping frame received: Code {:?}", frame.opcode);
            // Answer with a pong (RFC 6455 §5.5.3: echo the ping's payload).
            let _ = server.push_frame(frame.fd, Frame::pong(frame.data));
        } else {
            println!("Message received: {:?}", frame.data);
        }
    });
    server.start()
}
