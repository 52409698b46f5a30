//! Compression (RFC 7692), client side: offer it, push compressed, read the answer. Run
//! `--example compression_server` first.

use ws_tokio::{Client, ClientSettings, Flags, Opcode};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ws_tokio::Error> {
    let mut client = Client::new("127.0.0.1", 9501);
    client.set(ClientSettings { websocket_compression: true, ..ClientSettings::default() });
    client.upgrade("/").await?;
    println!("compression agreed: {}", client.is_compressed());
    client.push_with("Hello Swoole", Opcode::Text, Flags::FIN | Flags::COMPRESS).await?;
    let frame = client.recv().await?;
    println!("received {:?} (compressed: {})", frame.data, frame.flags.contains(Flags::COMPRESS));
    client.close().await
}
