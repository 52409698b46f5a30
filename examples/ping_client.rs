// Sending a ping from the client and receiving the pong (any of the servers here answers
// pings automatically, e.g. `--example hello`).

use ws::{Client, Frame, Opcode};
use ws_proto::server::Runtime;

fn main() -> Result<(), ws::Error> {
    let mut client = Client::new("127.0.0.1", 9501);
    // No server here starts a runtime: the client runs on its adapter's own.
    runtime_of(&client).block_on(1, async move {
        client.upgrade("/").await?;
        client.push_frame(Frame::ping("")).await?;
        let pong = client.recv().await?;
        println!("{}", pong.opcode == Opcode::Pong);
        client.close().await
    })?
}

// The runtime a client of this adapter runs on (`ws::Tokio`, `ws::AsyncStd`, `ws::Smol`).
fn runtime_of<R: Runtime + Default>(_client: &ws_proto::server::Client<R>) -> R {
    R::default()
}
