// Compression (RFC 7692), client side: offer it, push compressed, read the answer. Run
// `--example compression_server` first.

use ws::{Client, ClientSettings, Flags, Opcode};
use ws_proto::server::Runtime;

fn main() -> Result<(), ws::Error> {
    let mut client = Client::new("127.0.0.1", 9501);
    client.set(ClientSettings { websocket_compression: true, ..ClientSettings::default() });
    // No server here starts a runtime: the client runs on its adapter's own.
    runtime_of(&client).block_on(1, async move {
        client.upgrade("/").await?;
        println!("compression agreed: {}", client.is_compressed());
        client.push_with("Hello Swoole", Opcode::Text, Flags::FIN | Flags::COMPRESS).await?;
        let frame = client.recv().await?;
        println!("received {:?} (compressed: {})", frame.data, frame.flags.contains(Flags::COMPRESS));
        client.close().await
    })?
}

// The runtime a client of this adapter runs on (`ws::Tokio`, `ws::AsyncStd`, `ws::Smol`).
fn runtime_of<R: Runtime + Default>(_client: &ws_proto::server::Client<R>) -> R {
    R::default()
}
