// Sending a ping: the server answers every message with a ping frame (the client's
// WebSocket stack answers with a pong). Try it with `--example ping_client`.

use ws::{Frame, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.on_message(|server: &Server, frame: Frame| {
        let _ = server.push_frame(frame.fd, Frame::ping(""));
    });
    server.start()
}
