// The reference's object-style server: the server handle is a field, and the request
// callback reaches every connection through it.

use ws::{Frame, Request, Response, Server};

struct WebSocketServer {
    server: Server,
}

impl WebSocketServer {
    fn new() -> Self {
        let server = Server::new("127.0.0.1", 9501);
        server.on_open(|_server: &Server, request: &Request| {
            println!("server: handshake success with fd{}", request.fd);
        });
        server.on_message(|server: &Server, frame: Frame| {
            println!("receive from {}:{:?},opcode:{:?},fin:{}", frame.fd, frame.data, frame.opcode, frame.finish);
            let _ = server.push(frame.fd, "this is server");
        });
        server.on_close(|_server, fd| println!("client {fd} closed"));
        let this = server.clone();
        server.on_request(move |request: &Request, _response: &mut Response| {
            let message = request.get("message").unwrap_or_default();
            for fd in this.connections() {
                if this.is_established(fd) {
                    let _ = this.push(fd, message.clone());
                }
            }
        });
        WebSocketServer { server }
    }

    fn start(&self) -> Result<(), ws::Error> {
        self.server.start()
    }
}

fn main() -> Result<(), ws::Error> {
    WebSocketServer::new().start()
}
