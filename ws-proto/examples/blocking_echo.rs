//! WebSocket echo over `std::net`, a thread per connection, using only ws-proto: how a
//! library author drives the sans-IO `Connection` with IO of their own.
//!
//! `cargo run -p ws-proto --example blocking_echo -- --listen 127.0.0.1:9501 [--compression]`
//!
//! Prints a `listening` line once it accepts connections, then echoes every text and
//! binary message (compressed again when it arrived compressed).

use std::io::{self, IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use ws_proto::Flags;
use ws_proto::connection::{Config, Connection, Event};
use ws_proto::deflate::DeflateConfig;

fn main() -> io::Result<()> {
    let mut listen = String::from("127.0.0.1:9501");
    let mut config = Config { max_frame_size: 64 << 20, max_message_size: 64 << 20, ..Config::default() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().unwrap_or(listen),
            "--compression" => config.deflate = Some(DeflateConfig::default()),
            other => eprintln!("ignoring unknown argument {other}"),
        }
    }
    let listener = TcpListener::bind(&listen)?;
    println!("listening on {}", listener.local_addr()?);
    let config = Arc::new(config);
    for stream in listener.incoming() {
        let stream = stream?;
        let config = config.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, config) {
                eprintln!("connection error: {e}");
            }
        });
    }
    Ok(())
}

/// Drives one connection: read, receive, handle events, write, until it is finished.
fn serve(mut stream: TcpStream, config: Arc<Config>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut conn = Connection::server(config, Instant::now());
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Request(request) => match conn.accept_response(&request) {
                    Ok(response) => {
                        let _ = conn.respond(response);
                    }
                    Err(error) => conn.reject(error),
                },
                Event::Message(message) => {
                    let flags = Flags::FIN.with(Flags::COMPRESS, message.was_compressed());
                    let _ = conn.send(message, flags);
                }
                _ => {}
            }
        }
        flush(&mut stream, &mut conn)?;
        if conn.is_finished() {
            return Ok(());
        }
        // Wake for the next deadline at the latest.
        let timeout = conn.poll_timeout().map(|at| at.saturating_duration_since(Instant::now()));
        stream.set_read_timeout(timeout.map(|t| t.max(Duration::from_millis(1))))?;
        match stream.read(&mut buf) {
            Ok(0) => conn.receive_eof(Instant::now()),
            Ok(n) => {
                // An error is also in the events (Closed) and the output (the close frame).
                let _ = conn.receive(&buf[..n], Instant::now());
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                conn.handle_timeout(Instant::now());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes everything queued, a vectored write at a time.
fn flush(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    let output = conn.output();
    while output.has_remaining() {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = output.chunks_vectored(&mut slices);
        let written = stream.write_vectored(&slices[..n])?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        output.advance(written);
    }
    Ok(())
}
