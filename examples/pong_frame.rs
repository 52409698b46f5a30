// `open_websocket_pong_frame`: pongs reach `on_message`.

use ws::{Frame, Opcode, Server, Settings};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.set(Settings { open_websocket_pong_frame: true, ..Settings::default() });
    server.on_message(|_server: &Server, frame: Frame| {
        if frame.opcode == Opcode::Pong {
            println!("Pong frame received: Code {:?}", frame.opcode);
        } else {
            println!("Message received: {:?}", frame.data);
        }
    });
    server.start()
}
