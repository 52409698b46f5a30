// The chat example, shared by every adapter (each adapter's examples/chat.rs includes this
// file after `use ws_<runtime> as ws;`).
//
// `cargo run -p ws-tokio --example chat`, then open http://127.0.0.1:9501/ in two browser
// windows. The page is served over `on_request` on the same port as the WebSocket; every
// line typed is relayed to every connected browser with `connections` and one broadcast,
// as the reference's HTTP-broadcast example does. Joins and leaves are announced; the page
// shows the permessage-deflate parameters its browser agreed. Typing `/bye` asks the
// server to `disconnect(fd, 4000, "bye")`.
//
// Flags: `--listen ADDR` (default 127.0.0.1:9501).

use std::net::SocketAddr;

use ws::{Fd, Flags, Frame, Opcode, Request, Response, Server, Settings};

const PAGE: &str = include_str!("chat.html");

fn main() -> Result<(), ws::Error> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 9501).into();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().unwrap_or_default();
                listen = value.parse().map_err(|_| ws::Error::InvalidAddress(value))?;
            }
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    let server = Server::new(listen.ip().to_string(), listen.port());
    server.set(Settings { websocket_compression: true, ..Settings::default() });

    server.on_request(|request: &Request, response: &mut Response| {
        if request.path == "/" {
            response.set_header("Content-Type", "text/html; charset=utf-8");
            response.set_body(PAGE);
        } else {
            response.set_status(404);
            response.set_body("not found");
        }
    });
    server.on_open(|server: &Server, request: &Request| {
        let online = online(server, None);
        let _ = server.push(request.fd, format!(r#"{{"type":"welcome","id":{},"online":{online}}}"#, request.fd));
        announce(server, request.fd, format!(r#"{{"type":"join","id":{},"online":{online}}}"#, request.fd));
    });
    server.on_message(|server: &Server, frame: Frame| {
        if frame.opcode != Opcode::Text {
            return;
        }
        let text = String::from_utf8_lossy(&frame.data);
        if text == "/bye" {
            let _ = server.disconnect(frame.fd, 4000, "bye");
            return;
        }
        let message = format!(r#"{{"type":"message","from":{},"text":{}}}"#, frame.fd, json_string(&text));
        // Framed (and compressed, where the agreement allows) once for every receiver.
        let everyone: Vec<Fd> = server.connections().into_iter().filter(|fd| server.is_established(*fd)).collect();
        server.broadcast_to(everyone, message, Opcode::Text, Flags::FIN | Flags::COMPRESS);
    });
    server.on_close(|server: &Server, fd: Fd| {
        let online = online(server, Some(fd));
        announce(server, fd, format!(r#"{{"type":"leave","id":{fd},"online":{online}}}"#));
    });
    server.after(0, |server| {
        if let Some(addr) = server.local_addr() {
            println!("chat listening on {addr}: open http://{addr}/ in a browser");
        }
    });
    server.start()
}

/// Tells every open connection but `about` what happened to it.
fn announce(server: &Server, about: Fd, json: String) {
    let others: Vec<Fd> =
        server.connections().into_iter().filter(|fd| *fd != about && server.is_established(*fd)).collect();
    server.broadcast_to(others, json, Opcode::Text, Flags::FIN | Flags::COMPRESS);
}

include!("support/chat.rs");
