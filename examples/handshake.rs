// A custom handshake (`on_handshake`): the application validates the key and writes the
// 101 itself. `on_open` is not called then; `defer` runs the open logic once the 101 is out.

use ws::{Frame, Request, Response, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.on_message(|server: &Server, frame: Frame| {
        let _ = server.push(frame.fd, frame.data);
    });
    let deferring = server.clone();
    server.on_handshake(move |request: &Request, response: &mut Response| {
        // The key must be 16 bytes in base64: 22 characters, the last one of [AQgw], then "==".
        let Some(key) = request.header("sec-websocket-key") else { return false };
        let valid = key.len() == 24
            && key.ends_with("==")
            && key.bytes().take(22).all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
            && matches!(key.as_bytes().get(21), Some(b'A' | b'Q' | b'g' | b'w'));
        if !valid {
            return false;
        }
        response.set_status(101);
        response
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", ws::accept_key(key))
            .header("Sec-WebSocket-Version", "13");
        if let Some(protocol) = request.header("sec-websocket-protocol") {
            // Answer with the first protocol offered.
            let first = protocol.split(',').next().unwrap_or_default().trim();
            response.header("Sec-WebSocket-Protocol", first);
        }
        let fd = request.fd;
        deferring.defer(move |server| {
            println!("Client connected");
            let _ = server.push(fd, "hello, welcome\n");
        });
        true
    });
    server.start()
}
