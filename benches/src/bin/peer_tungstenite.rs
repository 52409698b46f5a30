//! Peer: an echo server on tokio-tungstenite, single-threaded, echoing text and binary
//! messages as the crate's own examples do (`next()`, then `send()`, which flushes).
//!
//! `peer_tungstenite --listen 127.0.0.1:9001` prints `listening` once it accepts connections.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
    let config = WebSocketConfig::default()
        .max_message_size(Some(ws_benches::MAX_MESSAGE))
        .max_frame_size(Some(ws_benches::MAX_MESSAGE));
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    while let Some(Ok(message)) = ws.next().await {
        if message.is_text() || message.is_binary() {
            if ws.send(message).await.is_err() {
                return;
            }
        } else if message.is_close() {
            // tungstenite queued the close reply; flush it out.
            let _ = ws.flush().await;
        }
    }
}
