//! The ceiling: a TCP echo with no WebSocket at all. Each read is written straight back
//! (one write per wake-up), on a single-threaded tokio runtime like the servers under test.
//!
//! `raw_tcp_echo --listen 127.0.0.1:9001` prints `listening` once it accepts connections.

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

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}
