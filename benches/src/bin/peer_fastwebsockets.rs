//! Peer: an echo server on fastwebsockets, single-threaded, as the crate's own
//! `echo_server` example (`FragmentCollector`, `read_frame`, `write_frame`). The opening
//! handshake is done here with httparse (fastwebsockets leaves it to hyper or the caller);
//! only the frames after it are fastwebsockets'.
//!
//! `peer_fastwebsockets --listen 127.0.0.1:9001` prints `listening` once it accepts
//! connections.

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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

async fn echo(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    if handshake(&mut stream).await.is_none() {
        return;
    }
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_max_message_size(ws_benches::MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let Ok(frame) = ws.read_frame().await else { return };
        let opcode = frame.opcode;
        if opcode == OpCode::Close {
            return;
        }
        if matches!(opcode, OpCode::Text | OpCode::Binary) && ws.write_frame(frame).await.is_err() {
            return;
        }
    }
}

/// Reads the upgrade request and answers 101. The client sends nothing more before the
/// response, so no frame bytes are left behind in the buffer.
async fn handshake(stream: &mut TcpStream) -> Option<()> {
    let mut buf = Vec::with_capacity(1024);
    let key = loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf).ok()? {
            httparse::Status::Partial => continue,
            httparse::Status::Complete(_) => {
                let key = request.headers.iter().find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))?;
                break std::str::from_utf8(key.value).ok()?.to_owned();
            }
        }
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        ws_proto::handshake::accept_key(&key)
    );
    stream.write_all(response.as_bytes()).await.ok()
}
