//! The server side of the fan-out bench (`ws-cluster/bench.sh`): every WebSocket
//! connection is subscribed to the topic `fanout` when it opens and told so with a text
//! message `subscribed`; a text message `publish:<payload>` from any connection publishes
//! `<payload>` to the topic (on every node, with `--redis`).
//!
//! ```sh
//! cargo run --release -p ws-cluster --example fanout_server -- --listen 127.0.0.1:9601 \
//!     [--redis redis://127.0.0.1:6379/] [--workers N]
//! ```
//!
//! Prints `fanout node <id> listening on <addr>` once it accepts; stops on SIGINT/SIGTERM.

use std::net::SocketAddr;

use ws_tokio::{Frame, Opcode, Request, Server, Settings};

/// The topic every connection joins.
const TOPIC: &str = "fanout";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = ([127, 0, 0, 1], 9601).into();
    let mut redis = None;
    let mut settings = Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--listen" => listen = value.parse()?,
            "--redis" => redis = Some(value),
            "--workers" => settings.worker_num = value.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let server = Server::new(listen.ip().to_string(), listen.port());
    server.set(settings);
    let broker = match redis {
        Some(url) => {
            let broker = ws_cluster::RedisBroker::new(ws_cluster::RedisOptions::new(url))?;
            server.set_broker(broker.clone())?;
            Some(broker)
        }
        None => None,
    };
    server.on_open(|server: &Server, request: &Request| {
        if server.subscribe(request.fd, TOPIC).is_ok() {
            let _ = server.push(request.fd, "subscribed");
        }
    });
    server.on_message(|server: &Server, frame: Frame| {
        if frame.opcode == Opcode::Text
            && let Some(payload) = frame.data.strip_prefix(b"publish:")
        {
            server.publish(TOPIC, frame.data.slice_ref(payload));
        }
    });
    server.after(0, |server| {
        if let Some(addr) = server.local_addr() {
            println!("fanout node {} listening on {addr}", server.node_id());
        }
    });
    let result = server.start();
    if let Some(broker) = broker {
        broker.stop();
    }
    Ok(result?)
}
