//! The load side of the fan-out bench (`ws-cluster/bench.sh`): many raw WebSocket
//! connections on one single-threaded tokio runtime, spread round-robin over one or more
//! `fanout_server` nodes, and one publisher among them (the first connection, on the first
//! node).
//!
//! ```sh
//! cargo run --release -p ws-cluster --example fanout_client -- \
//!     --connect 127.0.0.1:9601,127.0.0.1:9602 --subscribers 10000 --rounds 200 --burst 100
//! ```
//!
//! 1. Opens `--subscribers` connections (at most 64 handshakes in flight) and waits for
//!    every `subscribed`; then publishes warm-up messages until one reaches every
//!    subscriber (a node joins a topic's Redis channel in the background).
//! 2. **Latency:** `--rounds` publishes one after the other; for each, the time from
//!    sending `publish:` to the moment the last subscriber has the message.
//! 3. **Throughput:** `--burst` publishes written at once; delivered messages per second is
//!    `burst × subscribers` over the time until the last subscriber has the last one.
//!
//! Prints one line of `key=value` pairs (times in milliseconds). The publisher is also a
//! subscriber, and its hop to the server is part of every time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Notify, Semaphore, oneshot};

/// What every connection task shares with the driver.
struct State {
    /// Subscribers in the run.
    subscribers: u32,
    /// Connections that got `subscribed`.
    ready: AtomicUsize,
    /// Per message number: how many subscribers have it.
    counts: Vec<AtomicU32>,
    /// Per message number: nanoseconds since `start` when the last subscriber got it
    /// (0: not yet).
    done: Vec<AtomicU64>,
    /// Frames received in all.
    frames: AtomicU64,
    /// The clock's origin.
    start: Instant,
    /// Woken when a connection is ready or a message is complete.
    wake: Notify,
}

impl State {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
    }
}

/// Command-line settings.
struct Options {
    connect: Vec<String>,
    subscribers: u32,
    rounds: u32,
    burst: u32,
    size: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = Options { connect: Vec::new(), subscribers: 10_000, rounds: 200, burst: 100, size: 64 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--connect" => options.connect = value.split(',').map(str::to_owned).collect(),
            "--subscribers" => options.subscribers = value.parse()?,
            "--rounds" => options.rounds = value.parse()?,
            "--burst" => options.burst = value.parse()?,
            "--size" => options.size = value.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if options.connect.is_empty() || options.subscribers == 0 {
        return Err("--connect ADDR[,ADDR...] and --subscribers N > 0 are needed".into());
    }
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(run(options))
}

/// Warm-up messages tried before giving up on reaching every subscriber.
const WARMUPS: u32 = 20;

async fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let messages = (WARMUPS + options.rounds + options.burst) as usize;
    let state = Arc::new(State {
        subscribers: options.subscribers,
        ready: AtomicUsize::new(0),
        counts: (0..messages).map(|_| AtomicU32::new(0)).collect(),
        done: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        frames: AtomicU64::new(0),
        start: Instant::now(),
        wake: Notify::new(),
    });

    // Connect.
    let started = Instant::now();
    let handshakes = Arc::new(Semaphore::new(64));
    let (writer_tx, writer_rx) = oneshot::channel();
    let mut writer_tx = Some(writer_tx);
    for i in 0..options.subscribers {
        let addr = options.connect[i as usize % options.connect.len()].clone();
        let state = state.clone();
        let handshakes = handshakes.clone();
        let publisher = writer_tx.take();
        tokio::spawn(async move {
            if let Err(error) = connection(&addr, &state, &handshakes, publisher).await {
                eprintln!("connection {i} to {addr}: {error}");
                std::process::exit(2);
            }
        });
    }
    let mut writer: OwnedWriteHalf = writer_rx.await?;
    wait_for(&state, Duration::from_secs(120), || state.ready.load(Ordering::Relaxed) == options.subscribers as usize)
        .await
        .map_err(|()| format!("only {} of {} subscribed", state.ready.load(Ordering::Relaxed), options.subscribers))?;
    let connect_s = started.elapsed().as_secs_f64();

    // Warm up until a message reaches every subscriber.
    let mut seq = 0;
    loop {
        if seq == WARMUPS {
            return Err("no warm-up message reached every subscriber".into());
        }
        writer.write_all(&publish_frame(seq, options.size)).await?;
        let n = seq as usize;
        if wait_for(&state, Duration::from_secs(2), || state.done[n].load(Ordering::Relaxed) != 0).await.is_ok() {
            break;
        }
        seq += 1;
    }
    let first = WARMUPS;

    // Latency: one publish at a time.
    let mut latencies = Vec::with_capacity(options.rounds as usize);
    for round in 0..options.rounds {
        let n = (first + round) as usize;
        let sent = state.now();
        writer.write_all(&publish_frame(first + round, options.size)).await?;
        wait_for(&state, Duration::from_secs(10), || state.done[n].load(Ordering::Relaxed) != 0).await.map_err(
            |()| format!("message {n} reached {} subscribers only", state.counts[n].load(Ordering::Relaxed)),
        )?;
        latencies.push(state.done[n].load(Ordering::Relaxed) - sent);
    }
    latencies.sort_unstable();

    // Throughput: a burst written at once.
    let first_burst = first + options.rounds;
    let burst: Vec<u8> = (0..options.burst).flat_map(|i| publish_frame(first_burst + i, options.size)).collect();
    let frames_before = state.frames.load(Ordering::Relaxed);
    let sent = state.now();
    writer.write_all(&burst).await?;
    let range = first_burst as usize..(first_burst + options.burst) as usize;
    wait_for(&state, Duration::from_secs(60), || range.clone().all(|n| state.done[n].load(Ordering::Relaxed) != 0))
        .await
        .map_err(|()| "the burst did not reach every subscriber".to_owned())?;
    let last = range.clone().map(|n| state.done[n].load(Ordering::Relaxed)).max().unwrap_or(sent);
    let burst_s = (last - sent) as f64 / 1e9;
    let delivered = u64::from(options.burst) * u64::from(options.subscribers);
    let lost = (state.frames.load(Ordering::Relaxed) - frames_before).saturating_sub(delivered);

    let ms = |nanos: u64| nanos as f64 / 1e6;
    let pct = |p: f64| ms(latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1]);
    println!(
        "nodes={} subscribers={} size={} connect_s={connect_s:.1} rounds={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} \
         burst={} burst_ms={:.1} delivered_per_s={:.0} extra_frames={lost}",
        options.connect.len(),
        options.subscribers,
        options.size,
        options.rounds,
        pct(0.50),
        pct(0.99),
        ms(*latencies.last().unwrap_or(&0)),
        options.burst,
        burst_s * 1e3,
        delivered as f64 / burst_s,
    );
    std::process::exit(0) // the connections' tasks are not worth a clean close
}

/// Waits until `done()` holds, or `timeout` passes (`Err`).
async fn wait_for(state: &State, timeout: Duration, done: impl Fn() -> bool) -> Result<(), ()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        if tokio::time::timeout_at(deadline, state.wake.notified()).await.is_err() {
            return if done() { Ok(()) } else { Err(()) };
        }
    }
    Ok(())
}

/// A masked text frame `publish:<seq>xxxx…`, the payload `size` bytes long (at least the
/// digits).
fn publish_frame(seq: u32, size: usize) -> Vec<u8> {
    let mut payload = format!("publish:{seq}").into_bytes();
    payload.resize(payload.len().max(8 + size), b'x');
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).expect("--size below 64 KiB").to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// One subscriber: upgrade, then count every message it receives. The publisher hands
/// its writing half to the driver.
async fn connection(
    addr: &str,
    state: &State,
    handshakes: &Semaphore,
    publisher: Option<oneshot::Sender<OwnedWriteHalf>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let permit = handshakes.acquire().await?;
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    writer.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let head = loop {
        if reader.read_buf(&mut buf).await? == 0 {
            return Err("closed during the upgrade".into());
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    if !buf.starts_with(b"HTTP/1.1 101") {
        return Err(format!("upgrade refused: {}", String::from_utf8_lossy(&buf[..head])).into());
    }
    buf.drain(..head);
    drop(permit);
    // Keep the writing half open (dropping it would send FIN), or give it away.
    let _writer = match publisher {
        Some(tx) => {
            tx.send(writer).map_err(|_| "driver gone")?;
            None
        }
        None => Some(writer),
    };
    loop {
        let mut at = 0;
        while let Some((opcode, start, end)) = frame_at(&buf[at..]) {
            let payload = &buf[at + start..at + end];
            match opcode {
                0x1 => message(state, payload),
                0x8 => return Err("the server closed the connection".into()),
                _ => {}
            }
            at += end;
        }
        buf.drain(..at);
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        if reader.read_buf(&mut buf).await? == 0 {
            return Err("the server closed the connection".into());
        }
    }
}

/// The first whole (unmasked, server-sent) frame in `buf`: opcode, payload start and end.
fn frame_at(buf: &[u8]) -> Option<(u8, usize, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, start) = match b1 & 0x7f {
        126 => (u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize, 4),
        127 => (usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?, 10),
        n => (n as usize, 2),
    };
    (buf.len() >= start + len).then_some((b0 & 0x0f, start, start + len))
}

/// A text message: `subscribed`, or a published message numbered by its leading digits.
fn message(state: &State, payload: &[u8]) {
    if payload == b"subscribed" {
        state.ready.fetch_add(1, Ordering::Relaxed);
        state.wake.notify_one();
        return;
    }
    state.frames.fetch_add(1, Ordering::Relaxed);
    let digits = payload.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(n) = std::str::from_utf8(&payload[..digits]).ok().and_then(|s| s.parse::<usize>().ok()) else {
        return;
    };
    if let Some(count) = state.counts.get(n)
        && count.fetch_add(1, Ordering::Relaxed) + 1 == state.subscribers
    {
        state.done[n].store(state.now(), Ordering::Relaxed);
        state.wake.notify_one();
    }
}
