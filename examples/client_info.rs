// Telling WebSocket clients apart with `get_client_info` (the reference's
// `isset($client['websocket_status'])`).

use ws::{Frame, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.on_message(|server: &Server, frame: Frame| match server.get_client_info(frame.fd) {
        Some(info) if info.websocket_status.is_some() => {
            println!(
                "fd{} is a WebSocket connection from {} ({:?})",
                frame.fd, info.remote_addr, info.websocket_status
            );
        }
        _ => println!("fd{} is not a WebSocket connection", frame.fd),
    });
    server.start()
}
