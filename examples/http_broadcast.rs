// HTTP on the same port triggers a broadcast: `GET /?message=hi` pushes "hi" to every open
// WebSocket, iterating `connections()` as the reference does.

use ws::{Frame, Request, Response, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.on_open(|_server: &Server, request: &Request| {
        println!("server: handshake success with fd{}", request.fd);
    });
    server.on_message(|server: &Server, frame: Frame| {
        println!("receive from {}:{:?},opcode:{:?},fin:{}", frame.fd, frame.data, frame.opcode, frame.finish);
        let _ = server.push(frame.fd, "this is server");
    });
    server.on_close(|_server, fd| println!("client {fd} closed"));
    let pusher = server.clone();
    server.on_request(move |request: &Request, response: &mut Response| {
        let message = request.get("message").unwrap_or_default();
        let mut pushed = 0;
        for fd in pusher.connections() {
            // Only open WebSockets can take a push.
            if pusher.is_established(fd) && pusher.push(fd, message.clone()).is_ok() {
                pushed += 1;
            }
        }
        // (`pusher.broadcast(..)` does the same and frames the message once.)
        response.set_body(format!("pushed to {pushed} connections\n"));
    });
    server.start()
}
