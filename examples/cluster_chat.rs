// The chat example on several nodes sharing one Redis, shared by every adapter (each
// adapter's examples/cluster_chat.rs includes this file after `use ws_<runtime> as ws;`).
//
//   redis-server --port 6379 --save '' --appendonly no &
//   cargo run -p ws-tokio --example cluster_chat -- --listen 127.0.0.1:9501 &
//   cargo run -p ws-tokio --example cluster_chat -- --listen 127.0.0.1:9502 &
//
// then open http://127.0.0.1:9501/ and http://127.0.0.1:9502/: a line typed on one page
// appears on the other, served by the other node. Every browser subscribes to the topic
// `chat`; a line is published once to the topic, framed (and compressed, where the
// agreement allows) once on each node. Ids are cluster-wide (`node:fd`). `/bye` asks the
// node that holds the connection to disconnect it (4000). "online" counts this node's
// connections. See docs/cluster.md for running nodes behind a load balancer.
//
// Flags: `--listen ADDR` (default 127.0.0.1:9501), `--redis URL` (default
// redis://127.0.0.1:6379/).

use std::net::SocketAddr;

use ws::{Fd, Flags, Frame, Opcode, Request, Response, Server, Settings};

const PAGE: &str = include_str!("chat.html");
/// The topic every browser joins.
const ROOM: &str = "chat";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 9501).into();
    let mut redis = "redis://127.0.0.1:6379/".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().unwrap_or_default();
                listen = value.parse().map_err(|_| ws::Error::InvalidAddress(value))?;
            }
            "--redis" => redis = args.next().unwrap_or(redis),
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    let server = Server::new(listen.ip().to_string(), listen.port());
    server.set(Settings { websocket_compression: true, ..Settings::default() });
    // The broker connects (and reconnects) in the background: the chat works on this
    // node even while Redis is away.
    let broker = ws_cluster::RedisBroker::new(ws_cluster::RedisOptions::new(redis))?;
    server.set_broker(broker.clone())?;

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
        let id = server.cluster_id(request.fd);
        let online = online(server, None);
        let _ = server.push(request.fd, format!(r#"{{"type":"welcome","id":"{id}","online":{online}}}"#));
        // Announced to everyone else (it joins the topic right after).
        server.publish(ROOM, format!(r#"{{"type":"join","id":"{id}","online":{online}}}"#));
        let _ = server.subscribe(request.fd, ROOM);
    });
    server.on_message(|server: &Server, frame: Frame| {
        if frame.opcode != Opcode::Text {
            return;
        }
        let text = String::from_utf8_lossy(&frame.data);
        if text == "/bye" {
            // By cluster id, as any node could: here it is this one.
            let _ = server.disconnect_to(server.cluster_id(frame.fd), 4000, "bye");
            return;
        }
        let from = server.cluster_id(frame.fd);
        let message = format!(r#"{{"type":"message","from":"{from}","text":{}}}"#, json_string(&text));
        if let Err((error, _)) = server.publish_checked(ROOM, message, Opcode::Text, Flags::FIN | Flags::COMPRESS) {
            let _ = server.push(
                frame.fd,
                format!(r#"{{"type":"message","from":"server","text":"not sent to the other nodes: {error}"}}"#),
            );
        }
    });
    server.on_close(|server: &Server, fd: Fd| {
        let id = server.cluster_id(fd);
        let online = online(server, Some(fd));
        server.publish(ROOM, format!(r#"{{"type":"leave","id":"{id}","online":{online}}}"#));
    });
    server.after(0, |server| {
        if let Some(addr) = server.local_addr() {
            println!("cluster chat node {} listening on {addr}: open http://{addr}/ in a browser", server.node_id());
        }
    });
    let result = server.start();
    broker.stop(); // leave the cluster: the registration goes at once
    Ok(result?)
}

include!("support/chat.rs");
