//! Sending a ping from the client and receiving the pong (any of the servers here answers
//! pings automatically, e.g. `--example hello`).

use ws_tokio::{Client, Frame, Opcode};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ws_tokio::Error> {
    let mut client = Client::new("127.0.0.1", 9501);
    client.upgrade("/").await?;
    client.push_frame(Frame::ping("")).await?;
    let pong = client.recv().await?;
    println!("{}", pong.opcode == Opcode::Pong);
    client.close().await
}
