// `Frame::pack` with `send`: a frame packed by hand and written as raw bytes, outside the
// connection's own framing (the reference's `Server::pack` + `$serv->send`).

use ws::{Frame, Server};

fn main() -> Result<(), ws::Error> {
    let server = Server::new("127.0.0.1", 9501);
    server.on_open(|server: &Server, request| {
        let _ = server.send(request.fd, Frame::text("hello world\n").pack());
    });
    server.on_message(|server: &Server, frame: Frame| {
        // Any frame, packed once, can be written to any connection as bytes.
        let packed = Frame::binary(frame.data).pack();
        let _ = server.send(frame.fd, packed);
        // And unpacked again:
        if let Ok(unpacked) = Frame::unpack(&Frame::text("hello").pack()) {
            println!("unpacked {:?} {:?}", unpacked.opcode, unpacked.data);
        }
    });
    server.start()
}
