// An echo client for `ws-conformance serve`, which judges clients the way the Autobahn
// fuzzing server does: it asks `/getCaseCount`, then for each case connects to
// `/runCase?case=N&agent=NAME` and echoes every message until the server closes, then asks
// `/updateReports?agent=NAME` so the server writes the report.
//
// `cargo run -p ws-tokio --example conformance_client -- --server 127.0.0.1:9002 --agent ws-tokio`
//
// Flags: `--server HOST:PORT` (default 127.0.0.1:9002), `--agent NAME` (default `ws`),
// `--compression` (offer permessage-deflate).

use ws::{Client, ClientSettings, Opcode};
use ws_proto::server::Runtime;

fn main() -> Result<(), ws::Error> {
    let (mut host, mut port, mut agent, mut compression) = (String::from("127.0.0.1"), 9002, String::from("ws"), false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--server" => {
                let value = args.next().unwrap_or_default();
                let (h, p) = value.rsplit_once(':').ok_or_else(|| ws::Error::InvalidAddress(value.clone()))?;
                host = h.to_owned();
                port = p.parse().map_err(|_| ws::Error::InvalidAddress(value.clone()))?;
            }
            "--agent" => agent = args.next().unwrap_or(agent),
            "--compression" => compression = true,
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    let settings =
        ClientSettings { websocket_compression: compression, max_message_size: 64 << 20, ..ClientSettings::default() };
    let probe = Client::new(host.clone(), port);
    runtime_of(&probe).block_on(1, async move {
        let mut counter = Client::new(host.clone(), port);
        counter.upgrade("/getCaseCount").await?;
        let count: usize = String::from_utf8_lossy(&counter.recv().await?.data).trim().parse().unwrap_or(0);
        println!("{count} cases");
        let _ = counter.close().await;
        for case in 1..=count {
            let mut client = Client::new(host.clone(), port);
            client.set(settings.clone());
            if let Err(error) = client.upgrade(&format!("/runCase?case={case}&agent={agent}")).await {
                eprintln!("case {case}: upgrade failed: {error}");
                continue;
            }
            // Echo data messages until the server ends the case; a protocol error from the
            // server ends it too (the judge checks how we closed).
            while let Ok(frame) = client.recv().await {
                if matches!(frame.opcode, Opcode::Text | Opcode::Binary) && client.push_frame(frame).await.is_err() {
                    break;
                }
            }
        }
        let mut reports = Client::new(host, port);
        reports.upgrade(&format!("/updateReports?agent={agent}")).await?;
        let _ = reports.recv().await;
        Ok(())
    })?
}

// The runtime a client of this adapter runs on (`ws::Tokio`, `ws::AsyncStd`, `ws::Smol`).
fn runtime_of<R: Runtime + Default>(_client: &ws_proto::server::Client<R>) -> R {
    R::default()
}
