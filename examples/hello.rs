// The reference's first example: log opens and messages, answer every message.
//
// `cargo run -p ws-tokio --example hello` (or `-p ws-async-std`, `-p ws-smol`), then connect
// to ws://127.0.0.1:9501/.

use ws::{Frame, Request, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("0.0.0.0", 9501);
    server.on_open(|_server: &Server, req: &Request| {
        println!("server: handshake success with fd{}", req.fd);
    });
    server.on_message(|server: &Server, frame: Frame| {
        println!("receive from {}:{:?},opcode:{:?},fin:{}", frame.fd, frame.data, frame.opcode, frame.finish);
        let _ = server.push(frame.fd, "this is server");
    });
    server.on_close(|_server, fd| println!("client {fd} closed"));
    server.start() // blocks; Err(..) if on_message was never set
}
