//! The load generator for the end-to-end benchmarks: raw TCP on a single-threaded tokio
//! runtime (pin it to its own core with `taskset`), its own HTTP upgrade, pre-built masked
//! frames, and every echoed byte checked.
//!
//! ```text
//! load --target 127.0.0.1:9001 --mode echo --connections 100 --size 20 --inflight 1 \
//!      --duration 5 --warmup 1 --server-pid PID [--raw] [--compression] [--label NAME]
//! load --mode connrate --connections 32 ...     # connect + upgrade + close per second
//! load --mode idle --connections 10000 ...      # server RSS per idle connection
//! load --mode broadcast --connections 1000 ...  # one sender, N receivers, deliveries/s
//! ```
//!
//! Prints a human summary on stderr and one JSON object on stdout. Exits non-zero when an
//! echo did not match, a connection failed, or a connection stalled past the drain time.
//!
//! - `echo`: N connections each keep K messages in flight (`--inflight`); a reply is
//!   checked byte for byte against what was sent (after inflating it with
//!   `--compression`). Messages/s, p50/p99/p999 latency (queue to last byte back), and with
//!   `--server-pid` the server's CPU time (utime + stime from `/proc/PID/stat`) per echoed
//!   message, all over the window after `--warmup`. `--raw` speaks no WebSocket: the same
//!   frame bytes are sent and expected back unchanged (for `raw_tcp_echo`).
//! - `connrate`: N workers loop connect, upgrade, close handshake, RST (linger 0, so no
//!   TIME_WAIT pile-up); reports cycles/s and cycle latency.
//! - `idle`: opens N connections, upgrades them, and reports the growth of the server's
//!   `VmRSS` per connection.
//! - `broadcast`: N receivers and one sender, which keeps K `broadcast:` messages in flight
//!   (counted by its own copies coming back); reports deliveries/s over all receivers and
//!   checks each receiver sees every message, in order.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use ws_proto::deflate::{Decompressor, DeflateConfig, DeflateParams, compress_once};
use ws_proto::{CloseCode, Flags, Frame, Opcode, Role};

fn main() {
    let opts = Opts::parse();
    let runtime = ws_benches::current_thread_runtime();
    let result = runtime.block_on(async {
        match opts.mode.as_str() {
            "echo" => echo(&opts).await,
            "connrate" => connrate(&opts).await,
            "idle" => idle(&opts).await,
            "broadcast" => broadcast(&opts).await,
            other => Err(format!("unknown --mode {other}")),
        }
    });
    match result {
        Ok(report) => {
            eprintln!("{}", report.summary());
            println!("{}", report.json(&opts));
            if report.failed() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("load: {e}");
            println!("{}", Report::error(e).json(&opts));
            std::process::exit(2);
        }
    }
}

/// Command-line options.
#[derive(Debug, Clone)]
struct Opts {
    target: SocketAddr,
    mode: String,
    connections: usize,
    size: usize,
    inflight: usize,
    duration: f64,
    warmup: f64,
    server_pid: Option<u32>,
    raw: bool,
    compression: bool,
    binary: bool,
    label: String,
    server: String,
    scenario: String,
}

impl Opts {
    fn parse() -> Opts {
        let mut o = Opts {
            target: "127.0.0.1:9001".parse().expect("default address"),
            mode: "echo".into(),
            connections: 100,
            size: 20,
            inflight: 1,
            duration: 5.0,
            warmup: 1.0,
            server_pid: None,
            raw: false,
            compression: false,
            binary: false,
            label: String::new(),
            server: String::new(),
            scenario: String::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| usage(&format!("{arg} needs a value")));
            match arg.as_str() {
                "--target" => o.target = value().parse().unwrap_or_else(|_| usage("--target ADDR")),
                "--mode" => o.mode = value(),
                "--connections" => o.connections = num(&value()),
                "--size" => o.size = num(&value()),
                "--inflight" => o.inflight = num::<usize>(&value()).max(1),
                "--duration" => o.duration = num(&value()),
                "--warmup" => o.warmup = num(&value()),
                "--server-pid" => o.server_pid = Some(num(&value())),
                "--label" => o.label = value(),
                "--server" => o.server = value(),
                "--scenario" => o.scenario = value(),
                "--raw" => o.raw = true,
                "--compression" => o.compression = true,
                "--binary" => o.binary = true,
                "-h" | "--help" => usage(""),
                other => usage(&format!("unknown argument {other}")),
            }
        }
        o
    }
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "{msg}\nusage: load --target ADDR --mode echo|connrate|idle|broadcast [--connections N] [--size BYTES] \
         [--inflight K] [--duration S] [--warmup S] [--server-pid PID] [--raw] [--compression] [--binary] \
         [--server NAME] [--scenario NAME] [--label TEXT]"
    );
    std::process::exit(2)
}

/// What a run measured.
#[derive(Debug, Default)]
struct Report {
    /// Messages (echo), cycles (connrate) or deliveries (broadcast) per second.
    rate: f64,
    /// Messages counted in the window.
    count: u64,
    /// Messages (or cycles, deliveries) over the whole run, warm-up and drain included.
    total: u64,
    /// Payload bytes per second, one direction.
    bytes_per_sec: f64,
    latency: Option<Latency>,
    /// Server CPU (user + system) over the window, seconds.
    server_cpu: Option<f64>,
    /// Server CPU per counted message, nanoseconds.
    server_cpu_per_msg_ns: Option<f64>,
    /// The user-space part of that (the rest is the kernel's, mostly TCP), nanoseconds.
    server_user_per_msg_ns: Option<f64>,
    server_rss_before: Option<u64>,
    server_rss_after: Option<u64>,
    rss_per_conn: Option<f64>,
    /// Broadcast: messages the sender got back per second.
    sent_rate: Option<f64>,
    /// zlib-rs raw deflate + inflate of the same messages, ns per message, on this core,
    /// through one warm deflate stream.
    zlib_ns_per_msg: Option<f64>,
    /// The same through one deflate stream per connection, taking turns.
    zlib_states_ns_per_msg: Option<f64>,
    compression_negotiated: Option<bool>,
    /// The load generator's CPU use over the window (1.0 = its whole core).
    load_cpu_util: Option<f64>,
    /// Everything else on the machine over the window, in cores (0 = a quiet machine).
    others_cpu_util: Option<f64>,
    mismatches: u64,
    errors: u64,
    stalled: u64,
    first_error: Option<String>,
    window: f64,
}

#[derive(Debug, Clone, Copy)]
struct Latency {
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
}

impl Report {
    fn error(e: String) -> Report {
        Report { errors: 1, first_error: Some(e), ..Report::default() }
    }

    fn failed(&self) -> bool {
        self.mismatches > 0 || self.errors > 0 || self.stalled > 0
    }

    fn summary(&self) -> String {
        let mut s = format!("rate {:.0}/s over {:.2} s ({} counted)", self.rate, self.window, self.count);
        if self.bytes_per_sec > 0.0 {
            s += &format!(", {:.1} MB/s each way", self.bytes_per_sec / 1e6);
        }
        if let Some(l) = self.latency {
            s += &format!(", latency p50 {:.0} µs p99 {:.0} µs p99.9 {:.0} µs", l.p50_us, l.p99_us, l.p999_us);
        }
        if let (Some(cpu), Some(per)) = (self.server_cpu, self.server_cpu_per_msg_ns) {
            s += &format!(", server CPU {:.0}% = {:.0} ns/msg", 100.0 * cpu / self.window.max(1e-9), per);
        }
        if let Some(user) = self.server_user_per_msg_ns {
            s += &format!(" (user {user:.0})");
        }
        if let Some(own) = self.load_cpu_util {
            s += &format!(", load generator CPU {:.0}%", 100.0 * own);
        }
        if let Some(others) = self.others_cpu_util {
            s += &format!(", others {:.0}%", 100.0 * others);
        }
        if let Some(per) = self.rss_per_conn {
            s += &format!(", server RSS +{per:.0} B/connection");
        }
        if let Some(z) = self.zlib_ns_per_msg {
            s += &format!(", zlib deflate+inflate {z:.0} ns/msg");
        }
        if let Some(z) = self.zlib_states_ns_per_msg {
            s += &format!(" (one stream per connection: {z:.0})");
        }
        if self.failed() {
            s += &format!(
                "; FAILED: {} mismatches, {} errors, {} stalled; first: {}",
                self.mismatches,
                self.errors,
                self.stalled,
                self.first_error.as_deref().unwrap_or("-")
            );
        }
        s
    }

    fn json(&self, o: &Opts) -> String {
        let mut f = vec![
            format!("\"server\":{}", jstr(&o.server)),
            format!("\"scenario\":{}", jstr(&o.scenario)),
            format!("\"label\":{}", jstr(&o.label)),
            format!("\"mode\":{}", jstr(&o.mode)),
            format!("\"connections\":{}", o.connections),
            format!("\"size\":{}", o.size),
            format!("\"inflight\":{}", o.inflight),
            format!("\"raw\":{}", o.raw),
            format!("\"compression\":{}", o.compression),
            format!("\"window_s\":{}", jnum(self.window)),
            format!("\"rate\":{}", jnum(self.rate)),
            format!("\"count\":{}", self.count),
            format!("\"total\":{}", self.total),
            format!("\"bytes_per_sec\":{}", jnum(self.bytes_per_sec)),
            format!("\"mismatches\":{}", self.mismatches),
            format!("\"errors\":{}", self.errors),
            format!("\"stalled\":{}", self.stalled),
            format!("\"ok\":{}", !self.failed()),
        ];
        if let Some(l) = self.latency {
            f.push(format!("\"p50_us\":{}", jnum(l.p50_us)));
            f.push(format!("\"p99_us\":{}", jnum(l.p99_us)));
            f.push(format!("\"p999_us\":{}", jnum(l.p999_us)));
            f.push(format!("\"max_us\":{}", jnum(l.max_us)));
        }
        let opt = |f: &mut Vec<String>, k: &str, v: Option<f64>| {
            if let Some(v) = v {
                f.push(format!("\"{k}\":{}", jnum(v)));
            }
        };
        opt(&mut f, "server_cpu_s", self.server_cpu);
        opt(&mut f, "server_cpu_ns_per_msg", self.server_cpu_per_msg_ns);
        opt(&mut f, "server_user_ns_per_msg", self.server_user_per_msg_ns);
        opt(&mut f, "server_cpu_util", self.server_cpu.map(|c| c / self.window.max(1e-9)));
        opt(&mut f, "rss_before", self.server_rss_before.map(|v| v as f64));
        opt(&mut f, "rss_after", self.server_rss_after.map(|v| v as f64));
        opt(&mut f, "rss_per_conn", self.rss_per_conn);
        opt(&mut f, "sent_rate", self.sent_rate);
        opt(&mut f, "zlib_ns_per_msg", self.zlib_ns_per_msg);
        opt(&mut f, "zlib_states_ns_per_msg", self.zlib_states_ns_per_msg);
        opt(&mut f, "load_cpu_util", self.load_cpu_util);
        opt(&mut f, "others_cpu_util", self.others_cpu_util);
        if let Some(c) = self.compression_negotiated {
            f.push(format!("\"compression_negotiated\":{c}"));
        }
        if let Some(e) = &self.first_error {
            f.push(format!("\"first_error\":{}", jstr(e)));
        }
        format!("{{{}}}", f.join(","))
    }
}

fn jstr(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if (c as u32) < 0x20 => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn jnum(v: f64) -> String {
    if v.is_finite() { format!("{v:.3}") } else { "null".into() }
}

// ---------------------------------------------------------------------------------------
// Server observation through /proc.

/// utime + stime of every thread of `pid`, in seconds.
fn server_cpu(pid: Option<u32>) -> Option<f64> {
    cpu_times(pid).map(|t| t.total)
}

/// A process's CPU time so far, in seconds: all of it, and the user-space part.
#[derive(Clone, Copy)]
struct CpuTimes {
    total: f64,
    user: f64,
}

/// utime and stime of every thread of `pid`, read together.
fn cpu_times(pid: Option<u32>) -> Option<CpuTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(CpuTimes { total: (utime + stime) as f64 / clock_ticks(), user: utime as f64 / clock_ticks() })
}

/// CPU time the whole machine spent busy (all cores, every process), in seconds.
fn machine_busy() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total - idle) as f64 / clock_ticks())
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux this runs on (USER_HZ is fixed for /proc).
fn clock_ticks() -> f64 {
    100.0
}

/// The server's resident set, bytes.
fn server_rss(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

// ---------------------------------------------------------------------------------------
// Messages and frames.

/// The pre-built messages of a run: what is sent, and what must come back.
struct Corpus {
    /// Wire bytes of each message as the client sends it (masked; compressed with RSV1
    /// under `--compression`).
    frames: Vec<Vec<u8>>,
    /// The payload each echo must carry (after inflating).
    payloads: Vec<Vec<u8>>,
    opcode: Opcode,
}

/// Distinct messages per connection, sent in turn, so an echo of the wrong message shows.
const DISTINCT: usize = 16;

impl Corpus {
    fn new(size: usize, binary: bool, compression: bool) -> Corpus {
        let opcode = if binary { Opcode::Binary } else { Opcode::Text };
        let mut frames = Vec::new();
        let mut payloads = Vec::new();
        for i in 0..DISTINCT {
            let payload = message(size, i as u32);
            let key = [0x5a ^ i as u8, 0x13, 0xc7, 0x2e ^ (i as u8).wrapping_mul(7)];
            let frame = if compression {
                let mut frame = Frame::new(opcode, compress_once(&payload, 15, 6));
                frame.flags = Flags::FIN.with(Flags::RSV1, true);
                frame
            } else {
                Frame::new(opcode, payload.clone())
            };
            frames.push(frame.pack_masked(key).to_vec());
            payloads.push(payload);
        }
        Corpus { frames, payloads, opcode }
    }
}

/// `len` bytes of ASCII text, JSON-like (so it compresses as chat or ticker messages do);
/// each `seed` gives a different message.
fn message(len: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut x = 0x2545_f491_u32 ^ seed.wrapping_mul(0x9e37_79b9);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.extend_from_slice(
            format!(
                "{{\"id\":{},\"user\":\"u{}\",\"px\":{}.{:02},\"ok\":true}}",
                x % 100_000,
                x % 97,
                x % 1000,
                x % 100
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

/// Streaming checker of what a server sends back: frames are parsed as bytes arrive, and
/// each payload byte is compared with the expected message at once (or, compressed,
/// collected and compared after inflating), so a 1 MiB echo is never buffered whole.
struct Checker {
    raw: bool,
    state: RxState,
    header: Vec<u8>,
    /// The message being received: its index in the corpus and bytes matched so far.
    expect: usize,
    offset: usize,
    compressed: bool,
    opcode: u8,
    /// FIN of the frame whose payload is being received.
    fin: bool,
    zbuf: Vec<u8>,
    inflated: BytesMut,
    decompressor: Option<Decompressor>,
}

enum RxState {
    Header,
    Payload(u64),
}

/// What a piece of received data completed.
enum Rx {
    /// A whole message, equal to the one expected.
    Message,
    /// The server's close frame.
    Close,
}

impl Checker {
    fn new(raw: bool, decompressor: Option<Decompressor>) -> Checker {
        Checker {
            raw,
            state: RxState::Header,
            header: Vec::with_capacity(14),
            expect: 0,
            offset: 0,
            compressed: false,
            opcode: 0,
            fin: false,
            zbuf: Vec::new(),
            inflated: BytesMut::new(),
            decompressor,
        }
    }

    /// Feeds received bytes, calling `done` for each message or close frame completed.
    fn feed(&mut self, corpus: &Corpus, mut data: &[u8], mut done: impl FnMut(Rx)) -> Result<(), String> {
        if self.raw {
            while !data.is_empty() {
                let frame = &corpus.frames[self.expect % DISTINCT];
                let take = (frame.len() - self.offset).min(data.len());
                if data[..take] != frame[self.offset..self.offset + take] {
                    return Err(format!("raw echo differs at byte {} of message {}", self.offset, self.expect));
                }
                data = &data[take..];
                self.offset += take;
                if self.offset == frame.len() {
                    self.offset = 0;
                    self.expect += 1;
                    done(Rx::Message);
                }
            }
            return Ok(());
        }
        while !data.is_empty() {
            match self.state {
                RxState::Header => {
                    // Gather the 2-byte start, then the rest of the header.
                    let need = if self.header.len() < 2 { 2 } else { header_len(&self.header) };
                    let take = (need - self.header.len()).min(data.len());
                    self.header.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.header.len() < 2 || self.header.len() < header_len(&self.header) {
                        continue;
                    }
                    let (fin, rsv1, opcode, len) = parse_header(&self.header)?;
                    self.header.clear();
                    if opcode >= 8 {
                        if opcode == 8 {
                            done(Rx::Close);
                            return Ok(());
                        }
                        return Err(format!("unexpected control frame opcode {opcode}"));
                    }
                    if opcode != 0 {
                        self.opcode = opcode;
                        self.compressed = rsv1;
                        self.offset = 0;
                        self.zbuf.clear();
                    }
                    self.state = RxState::Payload(len);
                    self.fin = fin;
                    if len == 0 {
                        self.end_frame(corpus, fin, &mut done)?;
                    }
                }
                RxState::Payload(remaining) => {
                    let take = (remaining.min(data.len() as u64)) as usize;
                    let (piece, rest) = data.split_at(take);
                    data = rest;
                    if self.compressed {
                        self.zbuf.extend_from_slice(piece);
                    } else {
                        let want = &corpus.payloads[self.expect % DISTINCT];
                        if want.get(self.offset..self.offset + take) != Some(piece) {
                            return Err(format!("echo differs at byte {} of message {}", self.offset, self.expect));
                        }
                    }
                    self.offset += take;
                    let remaining = remaining - take as u64;
                    self.state = RxState::Payload(remaining);
                    if remaining == 0 {
                        self.end_frame(corpus, self.fin, &mut done)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn end_frame(&mut self, corpus: &Corpus, fin: bool, done: &mut impl FnMut(Rx)) -> Result<(), String> {
        self.state = RxState::Header;
        if !fin {
            return Ok(());
        }
        let want = &corpus.payloads[self.expect % DISTINCT];
        if self.opcode != corpus.opcode as u8 {
            return Err(format!("echo has opcode {}, sent {}", self.opcode, corpus.opcode as u8));
        }
        if self.compressed {
            let d = self.decompressor.as_mut().ok_or("compressed echo without negotiated compression")?;
            self.inflated.clear();
            d.decompress(&self.zbuf, true, &mut self.inflated, 1 << 30).map_err(|e| format!("inflate: {e}"))?;
            if self.inflated[..] != want[..] {
                return Err(format!("inflated echo of message {} differs", self.expect));
            }
        } else if self.offset != want.len() {
            return Err(format!("echo of message {} has {} bytes, sent {}", self.expect, self.offset, want.len()));
        }
        self.expect += 1;
        done(Rx::Message);
        Ok(())
    }
}

/// The length of the header whose first bytes (at least 2) are in `h`.
fn header_len(h: &[u8]) -> usize {
    let mask = if h[1] & 0x80 != 0 { 4 } else { 0 };
    2 + mask
        + match h[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        }
}

/// (fin, rsv1, opcode, payload length) of a whole server header.
fn parse_header(h: &[u8]) -> Result<(bool, bool, u8, u64), String> {
    if h[1] & 0x80 != 0 {
        return Err("server frame is masked".into());
    }
    if h[0] & 0x30 != 0 {
        return Err("RSV2/RSV3 set".into());
    }
    let len = match h[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        127 => u64::from_be_bytes(h[2..10].try_into().map_err(|_| "header")?),
        n => u64::from(n),
    };
    Ok((h[0] & 0x80 != 0, h[0] & 0x40 != 0, h[0] & 0x0f, len))
}

// ---------------------------------------------------------------------------------------
// Connecting.

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn offer_config() -> DeflateConfig {
    // Every client message is compressed on its own (pre-built), which is what
    // client_no_context_takeover declares.
    DeflateConfig { client_no_context_takeover: true, ..DeflateConfig::default() }
}

/// Connects and upgrades; returns the stream and the inflater for the server's messages
/// when compression was agreed.
async fn connect(o: &Opts) -> Result<(TcpStream, Option<Decompressor>), String> {
    let stream = TcpStream::connect(o.target).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    if o.raw {
        return Ok((stream, None));
    }
    upgrade(stream, o.target, o.compression).await
}

async fn upgrade(
    mut stream: TcpStream,
    target: SocketAddr,
    compression: bool,
) -> Result<(TcpStream, Option<Decompressor>), String> {
    let offered = offer_config();
    let mut request = format!(
        "GET /bench HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if compression {
        request += &format!("Sec-WebSocket-Extensions: {}\r\n", DeflateParams::offer(&offered));
    }
    request += "\r\n";
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("send upgrade: {e}"))?;
    let mut buf = Vec::with_capacity(512);
    loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.map_err(|e| format!("read upgrade: {e}"))?;
        if n == 0 {
            return Err("server closed during the upgrade".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf).map_err(|e| format!("bad upgrade response: {e}"))? {
            httparse::Status::Partial => continue,
            httparse::Status::Complete(len) => {
                if response.code != Some(101) {
                    return Err(format!("upgrade answered {:?}", response.code));
                }
                if len != buf.len() {
                    return Err("bytes after the 101 response before any message was sent".into());
                }
                let accept = ws_proto::handshake::accept_key(KEY);
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .filter(|h| h.name.eq_ignore_ascii_case(name))
                        .filter_map(|h| std::str::from_utf8(h.value).ok())
                        .collect::<Vec<_>>()
                };
                if header("sec-websocket-accept").first() != Some(&accept.as_str()) {
                    return Err("wrong Sec-WebSocket-Accept".into());
                }
                let extensions = header("sec-websocket-extensions");
                let params =
                    DeflateParams::from_response(&extensions, &offered).map_err(|e| format!("extensions: {e}"))?;
                let decompressor = params.map(|p| Decompressor::new(&p, Role::Client));
                return Ok((stream, decompressor));
            }
        }
    }
}

/// Opens `n` connections, at most `CONNECT_PARALLEL` handshakes at a time.
async fn connect_all(o: &Opts, n: usize) -> Result<Vec<(TcpStream, Option<Decompressor>)>, String> {
    let gate = Arc::new(Semaphore::new(CONNECT_PARALLEL));
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let gate = gate.clone();
        let o = o.clone();
        handles.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            tokio::time::timeout(Duration::from_secs(30), connect(&o))
                .await
                .map_err(|_| "upgrade timed out".to_string())?
        }));
    }
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.map_err(|e| e.to_string())??);
    }
    Ok(out)
}

/// Handshakes in progress at once: below the listen backlogs (std's 128).
const CONNECT_PARALLEL: usize = 64;

// ---------------------------------------------------------------------------------------
// Echo.

/// Counters shared by the connection tasks (one thread, but tasks must be `Send`).
#[derive(Default)]
struct Shared {
    received: AtomicU64,
    mismatches: AtomicU64,
    errors: AtomicU64,
}

/// What a connection task hands back.
#[derive(Default)]
struct ConnResult {
    latencies_ns: Vec<u32>,
    error: Option<String>,
}

async fn echo(o: &Opts) -> Result<Report, String> {
    let corpus = Arc::new(Corpus::new(o.size, o.binary, o.compression));
    let conns = connect_all(o, o.connections).await?;
    let negotiated = conns.first().map(|(_, d)| d.is_some());
    if o.compression && negotiated != Some(true) {
        return Err("--compression: the server did not agree to permessage-deflate".into());
    }
    let (zlib, zlib_states) = if o.compression {
        (Some(zlib_calibration(&corpus, 1, 1)), Some(zlib_calibration(&corpus, o.connections, o.inflight)))
    } else {
        (None, None)
    };
    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let t_start = start + Duration::from_secs_f64(o.warmup);
    let t_end = t_start + Duration::from_secs_f64(o.duration);
    let mut handles = Vec::new();
    for (i, (stream, decompressor)) in conns.into_iter().enumerate() {
        let corpus = corpus.clone();
        let shared = shared.clone();
        let checker = Checker::new(o.raw, decompressor);
        let inflight = o.inflight;
        handles.push(tokio::spawn(async move {
            echo_conn(stream, checker, corpus, shared, inflight, i, (t_start, t_end)).await
        }));
    }
    let w = window(o, &shared.received, t_start, t_end).await;
    let drain_deadline = t_end + Duration::from_secs(10);
    let mut latencies = Vec::new();
    let mut report = Report {
        zlib_ns_per_msg: zlib,
        zlib_states_ns_per_msg: zlib_states,
        compression_negotiated: negotiated,
        ..Report::default()
    };
    for h in handles {
        match tokio::time::timeout_at(drain_deadline.into(), h).await {
            Ok(Ok(r)) => {
                latencies.extend_from_slice(&r.latencies_ns);
                if let Some(e) = r.error {
                    report.first_error.get_or_insert(e);
                }
            }
            Ok(Err(e)) => {
                report.errors += 1;
                report.first_error.get_or_insert(e.to_string());
            }
            Err(_) => report.stalled += 1,
        }
    }
    report.mismatches = shared.mismatches.load(Ordering::Relaxed);
    report.total = shared.received.load(Ordering::Relaxed);
    report.errors += shared.errors.load(Ordering::Relaxed);
    w.fill(&mut report, o);
    report.bytes_per_sec = report.rate * o.size as f64;
    report.latency = percentiles(&mut latencies);
    Ok(report)
}

/// Samples the message counter and the server's CPU at the window's start and end.
async fn window(o: &Opts, counter: &AtomicU64, t_start: Instant, t_end: Instant) -> Window {
    tokio::time::sleep_until(t_start.into()).await;
    let me = Some(std::process::id());
    let (c0, cpu0, own0, all0, i0) =
        (counter.load(Ordering::Relaxed), cpu_times(o.server_pid), server_cpu(me), machine_busy(), Instant::now());
    tokio::time::sleep_until(t_end.into()).await;
    let (c1, cpu1, own1, all1, i1) =
        (counter.load(Ordering::Relaxed), cpu_times(o.server_pid), server_cpu(me), machine_busy(), Instant::now());
    let server = cpu0.zip(cpu1);
    let cpu = server.map(|(a, b)| b.total - a.total);
    let own_cpu = own0.zip(own1).map(|(a, b)| b - a);
    let all = all0.zip(all1).map(|(a, b)| b - a);
    Window {
        count: c1 - c0,
        cpu,
        user: server.map(|(a, b)| b.user - a.user),
        own_cpu,
        others_cpu: all.map(|a| (a - cpu.unwrap_or(0.0) - own_cpu.unwrap_or(0.0)).max(0.0)),
        secs: (i1 - i0).as_secs_f64(),
    }
}

struct Window {
    count: u64,
    cpu: Option<f64>,
    /// The user-space part of `cpu`.
    user: Option<f64>,
    /// This load generator's own CPU over the window: near 1.0 means it, not the server,
    /// may be the limit.
    own_cpu: Option<f64>,
    /// CPU the rest of the machine used meanwhile: other people's work on these two cores.
    others_cpu: Option<f64>,
    secs: f64,
}

impl Window {
    fn fill(&self, r: &mut Report, _o: &Opts) {
        r.count = self.count;
        r.window = self.secs;
        r.rate = self.count as f64 / self.secs;
        r.server_cpu = self.cpu;
        r.load_cpu_util = self.own_cpu.map(|c| c / self.secs);
        r.others_cpu_util = self.others_cpu.map(|c| c / self.secs);
        let per_msg = |c: f64| c * 1e9 / self.count as f64;
        r.server_cpu_per_msg_ns = self.cpu.filter(|_| self.count > 0).map(per_msg);
        r.server_user_per_msg_ns = self.user.filter(|_| self.count > 0).map(per_msg);
    }
}

/// Keeps `inflight` messages outstanding on one connection until `t_end`, then drains.
async fn echo_conn(
    stream: TcpStream,
    mut checker: Checker,
    corpus: Arc<Corpus>,
    shared: Arc<Shared>,
    inflight: usize,
    conn_index: usize,
    (t_start, t_end): (Instant, Instant),
) -> ConnResult {
    let mut result = ConnResult::default();
    let mut sent_at: VecDeque<Instant> = VecDeque::with_capacity(inflight);
    // Frames queued for writing: (corpus index, bytes already written).
    let mut out: VecDeque<(usize, usize)> = VecDeque::with_capacity(inflight);
    let mut next = conn_index % DISTINCT;
    // Received messages' frames are matched in order: start the checker where we start.
    checker.expect = next;
    let mut buf = vec![0u8; 64 * 1024];
    let mut sending = true;
    let now = Instant::now();
    for _ in 0..inflight {
        out.push_back((next % DISTINCT, 0));
        next += 1;
        sent_at.push_back(now);
    }
    let outcome: Result<(), String> = async {
        loop {
            if !out.is_empty() {
                write_some(&stream, &corpus, &mut out)?;
            }
            if sent_at.is_empty() && !sending {
                return Ok(());
            }
            let interest = if out.is_empty() { Interest::READABLE } else { Interest::READABLE | Interest::WRITABLE };
            let ready = stream.ready(interest).await.map_err(|e| e.to_string())?;
            if !ready.is_readable() {
                continue;
            }
            loop {
                let n = match stream.try_read(&mut buf) {
                    Ok(0) => return Err("server closed the connection".into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.to_string()),
                };
                let now = Instant::now();
                let mut completed = 0usize;
                let mut closed = false;
                checker.feed(&corpus, &buf[..n], |rx| match rx {
                    Rx::Message => completed += 1,
                    Rx::Close => closed = true,
                })?;
                if closed {
                    return Err("server sent a close frame".into());
                }
                for _ in 0..completed {
                    let at = sent_at.pop_front().ok_or("an echo nobody asked for")?;
                    shared.received.fetch_add(1, Ordering::Relaxed);
                    if now >= t_start && now < t_end {
                        result.latencies_ns.push((now - at).as_nanos().min(u128::from(u32::MAX)) as u32);
                    }
                    if sending && now < t_end {
                        out.push_back((next % DISTINCT, 0));
                        next += 1;
                        sent_at.push_back(now);
                    } else {
                        sending = false;
                    }
                }
                if n < buf.len() {
                    break;
                }
            }
            if Instant::now() >= t_end {
                sending = false;
            }
        }
    }
    .await;
    if let Err(e) = outcome {
        if e.contains("differs") || e.contains("opcode") || e.contains("has ") {
            shared.mismatches.fetch_add(1, Ordering::Relaxed);
        } else {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        result.error = Some(e);
    }
    result
}

/// Writes queued frames with vectored writes until done or the socket is full.
fn write_some(stream: &TcpStream, corpus: &Corpus, out: &mut VecDeque<(usize, usize)>) -> Result<(), String> {
    while !out.is_empty() {
        let slices: Vec<IoSlice<'_>> =
            out.iter().take(64).map(|&(i, at)| IoSlice::new(&corpus.frames[i][at..])).collect();
        let mut written = match stream.try_write_vectored(&slices) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        while written > 0 {
            let Some(front) = out.front_mut() else { break };
            let left = corpus.frames[front.0].len() - front.1;
            if written >= left {
                written -= left;
                out.pop_front();
            } else {
                front.1 += written;
                written = 0;
            }
        }
    }
    Ok(())
}

fn percentiles(ns: &mut [u32]) -> Option<Latency> {
    if ns.is_empty() {
        return None;
    }
    ns.sort_unstable();
    let at = |q: f64| f64::from(ns[((ns.len() - 1) as f64 * q).round() as usize]) / 1000.0;
    Some(Latency { p50_us: at(0.5), p99_us: at(0.99), p999_us: at(0.999), max_us: at(1.0) })
}

/// Raw zlib-rs (flate2) doing what a compressing echo server does per message, with the
/// parameters this client negotiates: inflate the client's message with a state reset after
/// each (client_no_context_takeover: a server can share one, warm), and deflate the echo
/// with context takeover, sync flush, tail stripped. ns per message.
///
/// With `states` = 1 every echo goes through one warm deflate stream. A server keeps a
/// deflate stream per connection (several hundred KiB each), so with `states` = the
/// connection count the streams take turns, `batch` messages (those in flight) each: the
/// same work with state that has gone cold meanwhile.
fn zlib_calibration(corpus: &Corpus, states: usize, batch: usize) -> f64 {
    let mut deflates: Vec<Compress> =
        (0..states.max(1)).map(|_| Compress::new_with_window_bits(Compression::new(6), false, 15)).collect();
    let mut inflate = Decompress::new_with_window_bits(false, 15);
    let compressed: Vec<Vec<u8>> = corpus
        .payloads
        .iter()
        .map(|p| {
            let mut c = compress_once(p, 15, 6).to_vec();
            c.extend_from_slice(&[0, 0, 0xff, 0xff]);
            c
        })
        .collect();
    let max = corpus.payloads.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(max + max / 8 + 64);
    let mut plain = Vec::with_capacity(max + 64);
    let batch = batch.max(1);
    // Message `m` of stream `d` is payload `(d + m) % DISTINCT`, as connection `d` sends
    // them: what its window holds from earlier messages decides how much deflate can match.
    let mut sent = vec![0usize; deflates.len()];
    let mut run = |count: usize| {
        for i in 0..count {
            let d = (i / batch) % deflates.len();
            let (Some(deflate), Some(m)) = (deflates.get_mut(d), sent.get_mut(d)) else { return };
            let k = (d + *m) % DISTINCT;
            *m += 1;
            plain.clear();
            let before = inflate.total_in();
            while ((inflate.total_in() - before) as usize) < compressed[k].len() {
                let at = (inflate.total_in() - before) as usize;
                let _ = inflate.decompress_vec(&compressed[k][at..], &mut plain, FlushDecompress::Sync);
                if plain.len() == plain.capacity() {
                    plain.reserve(max);
                }
            }
            inflate.reset(false);
            out.clear();
            let before = deflate.total_in();
            loop {
                let at = (deflate.total_in() - before) as usize;
                let _ = deflate.compress_vec(&plain[at..], &mut out, FlushCompress::Sync);
                if out.len() < out.capacity() {
                    break;
                }
                out.reserve(max);
            }
            std::hint::black_box(&out);
        }
    };
    // Every stream has done some work (its memory is allocated and touched) before timing.
    let rounds = states.max(1) * batch;
    run(rounds.max(64));
    let count = (4_000_000 / (max + 64)).clamp(200, 20_000).max(2 * rounds);
    let t = Instant::now();
    run(count);
    t.elapsed().as_nanos() as f64 / count as f64
}

// ---------------------------------------------------------------------------------------
// Connection rate.

async fn connrate(o: &Opts) -> Result<Report, String> {
    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let t_start = start + Duration::from_secs_f64(o.warmup);
    let t_end = t_start + Duration::from_secs_f64(o.duration);
    let mut handles = Vec::new();
    for _ in 0..o.connections {
        let o = o.clone();
        let shared = shared.clone();
        handles.push(tokio::spawn(async move {
            let mut r = ConnResult::default();
            let frame = Frame::close(CloseCode::NORMAL, "").pack_masked([1, 2, 3, 4]).to_vec();
            let probe = Frame::text("ping").pack_masked([9, 8, 7, 6]).to_vec();
            while Instant::now() < t_end {
                let began = Instant::now();
                let cycle = tokio::time::timeout(Duration::from_secs(10), one_cycle(&o, &frame, &probe)).await;
                match cycle {
                    Ok(Ok(())) => {
                        let now = Instant::now();
                        shared.received.fetch_add(1, Ordering::Relaxed);
                        if now >= t_start && now < t_end {
                            r.latencies_ns.push((now - began).as_nanos().min(u128::from(u32::MAX)) as u32);
                        }
                    }
                    Ok(Err(e)) => {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                        r.error.get_or_insert(e);
                    }
                    Err(_) => {
                        shared.errors.fetch_add(1, Ordering::Relaxed);
                        r.error.get_or_insert("cycle timed out".into());
                    }
                }
            }
            r
        }));
    }
    let w = window(o, &shared.received, t_start, t_end).await;
    let mut latencies = Vec::new();
    let mut report = Report::default();
    for h in handles {
        match tokio::time::timeout_at((t_end + Duration::from_secs(15)).into(), h).await {
            Ok(Ok(r)) => {
                latencies.extend_from_slice(&r.latencies_ns);
                if let Some(e) = r.error {
                    report.first_error.get_or_insert(e);
                }
            }
            Ok(Err(e)) => {
                report.errors += 1;
                report.first_error.get_or_insert(e.to_string());
            }
            Err(_) => report.stalled += 1,
        }
    }
    report.errors += shared.errors.load(Ordering::Relaxed);
    w.fill(&mut report, o);
    report.latency = percentiles(&mut latencies);
    Ok(report)
}

/// Connect, upgrade, close handshake (or, `--raw`, one echo), then reset the connection.
async fn one_cycle(o: &Opts, close: &[u8], probe: &[u8]) -> Result<(), String> {
    let (mut stream, _) = connect(o).await?;
    #[expect(deprecated, reason = "linger 0 is wanted: drop sends RST (no TIME_WAIT), which never blocks")]
    let _ = stream.set_linger(Some(Duration::ZERO));
    let expect = if o.raw { probe } else { close };
    stream.write_all(expect).await.map_err(|e| format!("write: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            // A server may close TCP right after its close frame; what came must be one.
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if o.raw && got.len() >= probe.len() {
            break;
        }
        if !o.raw && got.len() >= 2 && got.len() >= 2 + usize::from(got[1] & 0x7f) {
            break;
        }
    }
    if o.raw {
        if got != probe {
            return Err("raw echo differs".into());
        }
    } else if got.first().map(|b| b & 0x0f) != Some(8) {
        return Err("no close frame in answer to ours".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Idle memory.

async fn idle(o: &Opts) -> Result<Report, String> {
    let before = server_rss(o.server_pid);
    let began = Instant::now();
    let conns = connect_all(o, o.connections).await?;
    let connect_secs = began.elapsed().as_secs_f64();
    // Let the server finish whatever accepting left behind.
    tokio::time::sleep(Duration::from_secs_f64(o.warmup.max(1.0))).await;
    let after = server_rss(o.server_pid);
    let mut report = Report {
        count: conns.len() as u64,
        window: connect_secs,
        rate: conns.len() as f64 / connect_secs,
        server_rss_before: before,
        server_rss_after: after,
        ..Report::default()
    };
    if let (Some(b), Some(a)) = (before, after) {
        report.rss_per_conn = Some((a as f64 - b as f64) / conns.len().max(1) as f64);
    }
    // Everyone still there? A server that dropped idle connections would flatter itself.
    let mut buf = [0u8; 64];
    for (stream, _) in &conns {
        match stream.try_read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(0) => report.errors += 1,
            Ok(_) => {}
            Err(_) => report.errors += 1,
        }
    }
    if report.errors > 0 {
        report.first_error = Some(format!("{} idle connections were closed by the server", report.errors));
    }
    drop(conns);
    Ok(report)
}

// ---------------------------------------------------------------------------------------
// Broadcast.

async fn broadcast(o: &Opts) -> Result<Report, String> {
    // Receivers first, then the sender: every one is established before the first message.
    let mut conns = connect_all(o, o.connections + 1).await?;
    // benches/callgrind.sh starts counting the server's instructions at this line.
    eprintln!("connected {}", conns.len());
    let (sender, _) = conns.pop().ok_or("no sender")?;
    let size = o.size.max(24);
    let make = Broadcasts { body: Arc::new(message(size, 7)) };
    let shared = Arc::new(Shared::default());
    let sent_back = Arc::new(AtomicU64::new(0));
    let t_start = Instant::now() + Duration::from_secs_f64(o.warmup);
    let t_end = t_start + Duration::from_secs_f64(o.duration);
    let mut handles = Vec::new();
    for (stream, _) in conns {
        let shared = shared.clone();
        let make = make.clone();
        handles.push(tokio::spawn(async move { receiver(stream, shared, make, size, t_end).await }));
    }
    let sender_task = {
        let sent_back = sent_back.clone();
        let inflight = o.inflight;
        tokio::spawn(async move { broadcast_sender(sender, sent_back, make, inflight, t_end).await })
    };
    let sent0 = Arc::new(AtomicU64::new(0));
    let w = {
        // The sender's own count over the same window gives broadcast messages/s.
        let (sent_back, start_count) = (sent_back.clone(), sent0.clone());
        let t = tokio::spawn(async move {
            tokio::time::sleep_until(t_start.into()).await;
            start_count.store(sent_back.load(Ordering::Relaxed), Ordering::Relaxed);
            tokio::time::sleep_until(t_end.into()).await;
            sent_back.load(Ordering::Relaxed)
        });
        let w = window(o, &shared.received, t_start, t_end).await;
        let sent1 = t.await.map_err(|e| e.to_string())?;
        (w, sent1 - sent0.load(Ordering::Relaxed))
    };
    let (w, sent_in_window) = w;
    let mut report = Report { sent_rate: Some(sent_in_window as f64 / w.secs), ..Report::default() };
    match tokio::time::timeout_at((t_end + Duration::from_secs(10)).into(), sender_task).await {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(e))) => {
            report.errors += 1;
            report.first_error = Some(format!("sender: {e}"));
        }
        _ => report.stalled += 1,
    }
    for h in handles {
        match tokio::time::timeout_at((t_end + Duration::from_secs(10)).into(), h).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                if e.contains("differs") || e.contains("gap") {
                    report.mismatches += 1;
                } else {
                    report.errors += 1;
                }
                report.first_error.get_or_insert(e);
            }
            Ok(Err(e)) => {
                report.errors += 1;
                report.first_error.get_or_insert(e.to_string());
            }
            Err(_) => report.stalled += 1,
        }
    }
    w.fill(&mut report, o);
    report.bytes_per_sec = report.rate * size as f64;
    report.total = shared.received.load(Ordering::Relaxed);
    Ok(report)
}

/// The broadcast messages: number n is `broadcast:`, n in 12 digits, then filler.
#[derive(Clone)]
struct Broadcasts {
    body: Arc<Vec<u8>>,
}

impl Broadcasts {
    fn message(&self, n: u64) -> Vec<u8> {
        let mut m = b"broadcast:".to_vec();
        m.extend_from_slice(format!("{n:012}").as_bytes());
        m.extend_from_slice(&self.body[m.len()..]);
        m
    }

    /// The sequence number of `payload` if it is exactly `message(n)` for some `n` (and
    /// `size` bytes long).
    fn sequence(&self, payload: &[u8], size: usize) -> Option<u64> {
        let digits = payload.get(10..22)?;
        let whole = payload.len() == size
            && payload.starts_with(b"broadcast:")
            && digits.iter().all(u8::is_ascii_digit)
            && payload.get(22..) == self.body.get(22..size);
        whole.then(|| digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
    }
}

/// Sends `broadcast:` messages, `inflight` at a time, each released by its own copy coming
/// back; returns how many came back.
async fn broadcast_sender(
    mut stream: TcpStream,
    back: Arc<AtomicU64>,
    make: Broadcasts,
    inflight: usize,
    t_end: Instant,
) -> Result<u64, String> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut next = 0u64;
    let mut expect = 0u64;
    let mut rx = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut batch = Vec::new();
    for _ in 0..inflight {
        batch.extend_from_slice(&Frame::text(make.message(next)).pack_masked(key));
        next += 1;
    }
    stream.write_all(&batch).await.map_err(|e| e.to_string())?;
    while expect < next {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("server closed the sender".into());
        }
        rx.extend_from_slice(&buf[..n]);
        batch.clear();
        let mut at = 0;
        while let Some((payload, len)) = split_frame(&rx[at..]) {
            if payload != make.message(expect).as_slice() {
                return Err(format!("sender's copy of message {expect} differs"));
            }
            at += len;
            expect += 1;
            back.fetch_add(1, Ordering::Relaxed);
            if Instant::now() < t_end {
                batch.extend_from_slice(&Frame::text(make.message(next)).pack_masked(key));
                next += 1;
            }
        }
        rx.drain(..at);
        if !batch.is_empty() {
            stream.write_all(&batch).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(expect)
}

/// Counts and checks what one receiver gets: every message, in order, none twice.
async fn receiver(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    make: Broadcasts,
    size: usize,
    t_end: Instant,
) -> Result<(), String> {
    let mut rx = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut expect: Option<u64> = None;
    loop {
        let read = tokio::time::timeout_at((t_end + Duration::from_millis(1500)).into(), stream.read(&mut buf)).await;
        let n = match read {
            Err(_) => return Ok(()), // quiet after the end: done
            Ok(Ok(0)) => return Err("server closed a receiver".into()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.to_string()),
        };
        rx.extend_from_slice(&buf[..n]);
        let mut at = 0;
        let mut received = 0;
        while let Some((payload, len)) = split_frame(&rx[at..]) {
            // Byte for byte what `Broadcasts::message` makes, checked without building it
            // (at millions of deliveries per second the load generator's own work counts).
            let n = make.sequence(payload, size).ok_or("broadcast message differs")?;
            if let Some(e) = expect
                && n != e
            {
                return Err(format!("gap: expected message {e}, got {n}"));
            }
            expect = Some(n + 1);
            at += len;
            received += 1;
        }
        shared.received.fetch_add(received, Ordering::Relaxed);
        rx.drain(..at);
    }
}

/// A whole unmasked, unfragmented frame at the start of `buf`: (payload, frame length).
fn split_frame(buf: &[u8]) -> Option<(&[u8], usize)> {
    if buf.len() < 2 {
        return None;
    }
    let hl = header_len(buf);
    if buf.len() < hl {
        return None;
    }
    let (_, _, _, len) = parse_header(&buf[..hl]).ok()?;
    let total = hl + usize::try_from(len).ok()?;
    (buf.len() >= total).then(|| (&buf[hl..total], total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_is_recognised_byte_for_byte() {
        let size = 64;
        let make = Broadcasts { body: Arc::new(message(size, 7)) };
        for n in [0, 1, 42, 999_999_999_999] {
            let m = make.message(n);
            assert_eq!(make.sequence(&m, size), Some(n));
            for at in 0..m.len() {
                let mut bad = m.clone();
                bad[at] ^= 0x01;
                // A changed digit is another message's number, which the gap check catches.
                assert_ne!(make.sequence(&bad, size), Some(n), "byte {at} changed");
            }
            assert_eq!(make.sequence(&m[..size - 1], size), None);
        }
    }
}
