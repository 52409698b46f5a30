//! Peer: an echo server on tokio-websockets, single-threaded, as the crate's own
//! `echo_server` example (`next()`, then `send()`, which flushes).
//!
//! `peer_tokio_websockets --listen 127.0.0.1:9001` prints `listening` once it accepts
//! connections.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_websockets::{Limits, ServerBuilder};

fn main() -> std::io::Result<()> {
    let addr = ws_benches::listen_arg();
    ws_benches::current_thread_runtime().block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(echo(stream));
        }
    })
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok((_request, mut ws)) = ServerBuilder::new()
        .limits(Limits::default().max_payload_len(Some(ws_benches::MAX_MESSAGE)))
        .accept(stream)
        .await
    else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}
