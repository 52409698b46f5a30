//! Hostile clients on real sockets: slow and oversized handshakes, frame headers claiming
//! absurd lengths, a compression bomb, invalid UTF-8 in the middle of a long message, mass
//! connect-and-drop, a client that never reads, and a ping flood. Each case checks that the
//! server answers as the RFC says, stops early, and keeps its memory bounded.
//!
//! Memory is the resident set of the whole test process (the server runs in it), read from
//! `/proc/self/status` (Linux; elsewhere the memory checks are skipped). The peak is taken
//! from `VmHWM` after resetting it through `/proc/self/clear_refs`, so a brief allocation
//! that was freed again still counts. Cases that measure memory or open many sockets run
//! one at a time (`heavy()`); the bounds leave room for the rest of the suite running
//! alongside, and are far below what the attack would cost a server that did not resist it.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ws_proto::deflate::DeflateParams;
use ws_proto::server::{PushError, Runtime, Server, Settings};
use ws_proto::{Flags, FrameHeader, Opcode};

use crate::{Log, Raw, TestServer, eventually, upgrade_request};

const MIB: u64 = 1 << 20;
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn echo<R: Runtime>(server: &Server<R>) {
    server.on_message(|server, frame| {
        let _ = server.push_frame(frame.fd, frame);
    });
}

/// Serializes the cases that measure the process's memory or open thousands of sockets.
fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A field of `/proc/self/status`, in bytes (`None` off Linux).
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line.get(field.len()..)?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The process's resident memory from a starting point on.
struct Rss {
    start: Option<u64>,
    /// Whether `VmHWM` was reset at the start (so the peak is this span's).
    peak_reset: bool,
}

impl Rss {
    fn start() -> Rss {
        let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Rss { start: status_bytes("VmRSS:"), peak_reset }
    }

    /// Growth of the peak since the start (of the current size when the peak could not be
    /// reset), in bytes; `None` when it cannot be read.
    fn peak_growth(&self) -> Option<u64> {
        let field = if self.peak_reset { "VmHWM:" } else { "VmRSS:" };
        Some(status_bytes(field)?.saturating_sub(self.start?))
    }

    /// Growth of the current size since the start, in bytes (negative: shrank).
    fn growth(&self) -> Option<i64> {
        Some(status_bytes("VmRSS:")? as i64 - self.start? as i64)
    }

    /// Asserts the peak grew by less than `bound` bytes, and returns the growth.
    fn assert_peak_below(&self, what: &str, bound: u64) -> Option<u64> {
        let growth = self.peak_growth()?;
        assert!(growth < bound, "{what}: resident memory grew by {} MiB (bound {} MiB)", growth / MIB, bound / MIB);
        Some(growth)
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "n/a".into(), |b| format!("{:.1} MiB", b as f64 / MIB as f64))
}

/// A masked frame header with any 64-bit length, encoded by hand so that lengths the codec
/// refuses (the top bit set) can be sent too.
fn frame_head(first: u8, len: u64) -> Vec<u8> {
    let mut head = vec![first];
    match len {
        0..=125 => head.push(0x80 | len as u8),
        126..=0xffff => {
            head.push(0x80 | 126);
            head.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            head.push(0x80 | 127);
            head.extend_from_slice(&len.to_be_bytes());
        }
    }
    head.extend_from_slice(&KEY);
    head
}

/// `payload` masked with [`KEY`], starting at `offset` bytes into the frame's payload.
fn masked(payload: &[u8], offset: usize) -> Vec<u8> {
    payload.iter().enumerate().map(|(i, b)| b ^ KEY[(offset + i) % 4]).collect()
}

/// A whole masked frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = frame_head(first, payload.len() as u64);
    bytes.extend_from_slice(&masked(payload, 0));
    bytes
}

const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const PING: u8 = 0x9;

/// Reads until EOF (or a reset) and returns what came; panics on the read timeout.
fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => return got,
            Err(e) => panic!("read failed (timeout?) after {} bytes: {e}", got.len()),
        }
    }
}

// ---- 1. a dribbled handshake ----

/// A handshake dribbled one byte every 200 ms is cut off at handshake_timeout (1 s): the
/// server answers 408 (or just closes) long before the request could have ended.
pub fn hostile_dribbled_handshake_is_cut_at_handshake_timeout<R: Runtime + Default>() {
    let timeout = Duration::from_secs(1);
    let settings = Settings { handshake_timeout: Some(timeout), ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let padding = "p".repeat(100);
    let request = upgrade_request("/", &[("X-Padding", &padding)]).into_bytes();
    let whole = Duration::from_millis(200) * request.len() as u32;
    let started = Instant::now();
    let mut raw = Raw::connect(test.addr);
    let mut writer = raw.stream.try_clone().expect("clone");
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let dribbler = {
        let (stop, sent) = (stop.clone(), sent.clone());
        std::thread::spawn(move || {
            for byte in request {
                if stop.load(Ordering::Relaxed) || writer.write_all(&[byte]).is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let answer = read_to_eof(&mut raw.stream);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    dribbler.join().expect("dribbler");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    let sent = sent.load(Ordering::Relaxed);
    eprintln!("dribble: closed after {elapsed:?} and {sent} bytes; the whole request takes {whole:?}");
    assert!(elapsed >= timeout - Duration::from_millis(100), "cut before handshake_timeout: {elapsed:?}");
    assert!(elapsed < timeout + Duration::from_secs(3), "not cut at handshake_timeout: {elapsed:?}");
    // About 5 of its 261 bytes; 30 allows for a slow machine.
    assert!(sent < 30, "the server waited for {sent} bytes");
    eventually("connection table empty", || test.server.connections().is_empty());
}

// ---- 2. oversized headers ----

/// 64 KiB of headers: 431 (or 400) and the connection closed, whether the head ends or
/// never does; the server stops reading at its head limit, so a client streaming header
/// lines without end gets a reset instead of feeding it 256 MiB.
pub fn hostile_64_kib_of_headers_are_rejected_and_closed<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let line = format!("X-Filler: {}\r\n", "h".repeat(1000));
    let rejected = |answer: &[u8]| {
        let answer = String::from_utf8_lossy(answer);
        assert!(answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 400"), "{answer}");
    };

    // A complete request with 64 KiB of headers.
    let mut raw = Raw::connect(test.addr);
    let mut request = upgrade_request("/", &[]);
    request.truncate(request.len() - 2);
    while request.len() < 64 * 1024 {
        request.push_str(&line);
    }
    request.push_str("\r\n");
    // The server may reset the connection before the whole head is written.
    let _ = raw.stream.write_all(request.as_bytes());
    rejected(&read_to_eof(&mut raw.stream));

    // A head that never ends, written by another thread until the server cuts it off.
    let mut raw = Raw::connect(test.addr);
    let mut writer = raw.stream.try_clone().expect("clone");
    writer.set_write_timeout(Some(Duration::from_secs(5))).expect("write timeout");
    let attempt = 256 * MIB as usize;
    let flood = std::thread::spawn(move || {
        let mut chunk = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        let mut written = 0;
        while written < attempt {
            if let Err(error) = writer.write_all(&chunk) {
                return (written, Some(error.kind()));
            }
            written += chunk.len();
            chunk = line.repeat(16).into_bytes();
        }
        (written, None)
    });
    let started = Instant::now();
    rejected(&read_to_eof(&mut raw.stream));
    let closed_after = started.elapsed();
    let (written, error) = flood.join().expect("flood");
    eprintln!("endless head: 431 and EOF after {closed_after:?}; the writer got {error:?} after {written} bytes");
    assert!(
        matches!(error, Some(ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)),
        "the server kept reading an endless head: {written} bytes written, {error:?}"
    );
    // Loopback socket buffers hold a few MiB; everything past them was refused.
    assert!((written as u64) < 64 * MIB, "{written} bytes written");
    eventually("connection table empty", || test.server.connections().is_empty());
}

// ---- 3. a frame header claiming 2^63 bytes ----

/// Frame headers claiming 2^63 - 1 bytes close with 1009, and 2^63 (the top bit, which
/// RFC 6455 §5.2 forbids) with 1002, before any payload and without allocating: also with
/// max_frame_size unlimited (the message limit catches it), on a continuation, and on a
/// ping (1002: control frames carry at most 125 bytes).
pub fn hostile_frame_header_claiming_2_pow_63_closes_without_allocating<R: Runtime + Default>() {
    let _heavy = heavy();
    let plain = TestServer::<R>::start(Settings::default(), echo);
    let unlimited_frames =
        Settings { max_frame_size: usize::MAX, package_max_length: MIB as usize, ..Settings::default() };
    let unlimited = TestServer::<R>::start(unlimited_frames, echo);
    // Warm up both servers (worker threads, buffers) before measuring.
    for test in [&plain, &unlimited] {
        let mut raw = test.raw();
        raw.send_text("warm");
        assert_eq!(&raw.data_frame().data[..], b"warm");
    }
    let huge = (1u64 << 63) - 1;
    let cases: [(&str, &TestServer<R>, Vec<u8>, u16); 6] = [
        ("binary 2^63-1", &plain, frame_head(FIN | BINARY, huge), 1009),
        ("binary 2^63", &plain, frame_head(FIN | BINARY, 1 << 63), 1002),
        ("text 2^63-1, max_frame_size unlimited", &unlimited, frame_head(FIN | TEXT, huge), 1009),
        ("binary 2^63, max_frame_size unlimited", &unlimited, frame_head(FIN | BINARY, 1 << 63), 1002),
        (
            "continuation 2^63-1 after 5 bytes, max_frame_size unlimited",
            &unlimited,
            [frame(TEXT, b"hello"), frame_head(FIN | CONTINUATION, huge)].concat(),
            1009,
        ),
        ("ping 2^63-1", &plain, frame_head(FIN | PING, huge), 1002),
    ];
    let rss = Rss::start();
    for (what, test, bytes, code) in cases {
        let mut raw = test.raw();
        raw.write(&bytes);
        // A few payload bytes after the header change nothing.
        let _ = raw.stream.write_all(&masked(&[0u8; 64], 0));
        assert_eq!(raw.close_code(), Some(code), "{what}");
        raw.expect_eof();
    }
    let growth = rss.assert_peak_below("headers claiming 2^63 bytes", 16 * MIB);
    eprintln!("2^63 headers: peak resident growth {} (bound 16 MiB)", mib(growth));
}

// ---- 4. a compression bomb ----

/// A permessage-deflate payload (RFC 7692 §7.2.1: ending in a flush whose `00 00 ff ff`
/// is left off) inflating to `1 + 258 * runs` zero bytes, written by hand (RFC 1951) so
/// that the client holds nothing but the result: one block with dynamic Huffman codes in
/// which the literal zero takes 2 bits, "length 258" 1 bit and "distance 1" 1 bit, so each
/// 258 zeros cost 2 bits (a ratio of 1032, as zlib reaches on zeros).
fn zero_bomb(runs: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        len: u32,
    }
    impl Bits {
        /// Header fields and extra bits: least significant bit first.
        fn put(&mut self, value: u32, bits: u32) {
            self.acc |= value << self.len;
            self.len += bits;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes: most significant bit first.
        fn code(&mut self, code: u32, bits: u32) {
            self.put(code.reverse_bits() >> (32 - bits), bits);
        }
    }
    let mut bits = Bits { out: Vec::with_capacity(runs / 4 + 64), acc: 0, len: 0 };
    bits.put(0, 1); // BFINAL 0
    bits.put(2, 2); // BTYPE 10: dynamic Huffman codes
    bits.put(286 - 257, 5); // HLIT: literal/length codes 0..=285
    bits.put(0, 5); // HDIST: one distance code
    bits.put(18 - 4, 4); // HCLEN: 18 code length codes, in the order below
    // Code length code lengths: 18 (a run of zeros) takes 1 bit (code 0), 1 and 2 take 2
    // bits (codes 10 and 11).
    for symbol in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        bits.put(
            match symbol {
                18 => 1,
                1 | 2 => 2,
                _ => 0,
            },
            3,
        );
    }
    // Literal/length code lengths: 0 and 256 take 2 bits (codes 10, 11), 285 one (code 0);
    // then the distance code: 0 takes one bit (code 0).
    bits.code(0b11, 2); // length 2 for literal 0
    bits.code(0, 1); // 18: 11 + 127 zeros (1..=138)
    bits.put(127, 7);
    bits.code(0, 1); // 18: 11 + 106 zeros (139..=255)
    bits.put(106, 7);
    bits.code(0b11, 2); // length 2 for end of block (256)
    bits.code(0, 1); // 18: 11 + 17 zeros (257..=284)
    bits.put(17, 7);
    bits.code(0b10, 2); // length 1 for length 258 (285)
    bits.code(0b10, 2); // length 1 for distance 1 (distance code 0)
    bits.code(0b10, 2); // literal 0
    for _ in 0..runs {
        bits.code(0, 1); // length 258
        bits.code(0, 1); // distance 1
    }
    bits.code(0b11, 2); // end of block
    // The flush: an empty stored block, whose LEN and NLEN (00 00 ff ff) the receiver adds.
    bits.put(0, 3);
    if bits.len > 0 {
        bits.put(0, 8 - bits.len);
    }
    bits.out
}

/// A 64 KiB permessage-deflate message inflating to 64 MiB, with package_max_length 1 MiB:
/// closed with 1009 and the server's memory grows by a few MiB, not 64; sent as one
/// frame, then fragmented.
pub fn hostile_compression_bomb_closes_with_1009_and_memory_stays_bounded<R: Runtime + Default>() {
    let _heavy = heavy();
    let limit = MIB as usize;
    let inflated = 64 * MIB as usize;
    let settings = Settings { websocket_compression: true, package_max_length: limit, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let offer = [("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")];
    let connect = || {
        let mut raw = Raw::connect(test.addr);
        raw.write(upgrade_request("/", &offer).as_bytes());
        let head = raw.read_response();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let values: Vec<&str> = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, value)| value.trim())
            .collect();
        assert!(DeflateParams::from_own_response(&values).is_some(), "permessage-deflate agreed: {head}");
        raw
    };
    // Warm up: a small compressed message round trip.
    let mut raw = connect();
    raw.send_text("warm");
    assert_eq!(&raw.data_frame().data[..], b"warm");
    drop(raw);

    let bomb = zero_bomb((inflated - 1) / 258);
    eprintln!(
        "bomb: {} bytes inflating to {} MiB, limit {} MiB",
        bomb.len(),
        inflated as u64 / MIB,
        limit as u64 / MIB
    );
    let rss = Rss::start();
    // One frame.
    let mut raw = connect();
    let _ = raw.stream.write_all(&frame(FIN | RSV1 | BINARY, &bomb));
    assert_eq!(raw.close_code(), Some(1009), "one frame");
    raw.expect_eof();
    // Sixteen fragments.
    let mut raw = connect();
    let pieces: Vec<&[u8]> = bomb.chunks(bomb.len().div_ceil(16)).collect();
    for (i, piece) in pieces.iter().enumerate() {
        let fin = if i + 1 == pieces.len() { FIN } else { 0 };
        let first = if i == 0 { RSV1 | TEXT } else { CONTINUATION };
        if raw.stream.write_all(&frame(fin | first, piece)).is_err() {
            break;
        }
    }
    assert_eq!(raw.close_code(), Some(1009), "fragments");
    raw.expect_eof();
    let growth = rss.assert_peak_below("a 64 MiB compression bomb", 24 * MIB);
    eprintln!("bomb: peak resident growth {} (bound 24 MiB, the bomb inflates to 64 MiB)", mib(growth));
    eventually("connection table empty", || test.server.connections().is_empty());
}

// ---- 5. invalid UTF-8 in the middle of a long message ----

/// Invalid UTF-8 in the middle of a long fragmented text message closes with 1007 as soon
/// as it arrives: the rest of the message is never sent, so a server waiting for its end
/// would never answer. In the first fragment, in a later one, in the middle of a frame
/// whose payload has not all arrived, split across fragments, and as a UTF-16 surrogate.
pub fn hostile_invalid_utf8_mid_message_closes_with_1007_at_once<R: Runtime + Default>() {
    let test = TestServer::<R>::start(Settings::default(), echo);
    let text = |len: usize, bad: &[u8]| {
        let mut payload = vec![b'a'; len];
        payload.splice(len / 2..len / 2 + bad.len(), bad.iter().copied());
        payload
    };
    let valid = vec![b'v'; 32 * 1024];
    let partial_frame = {
        // A 1 MiB frame of which only the first 4 KiB, with 0xff at 2 KiB, are sent.
        let mut bytes = frame_head(FIN | TEXT, MIB);
        bytes.extend_from_slice(&masked(&text(4096, &[0xff]), 0));
        bytes
    };
    let cases: [(&str, Vec<u8>); 5] = [
        ("0xff in the first fragment", frame(TEXT, &text(32 * 1024, &[0xff]))),
        (
            "0xc0 in the third fragment",
            [frame(TEXT, &valid), frame(CONTINUATION, &valid), frame(CONTINUATION, &text(32 * 1024, &[0xc0, 0x80]))]
                .concat(),
        ),
        ("0xff in a frame not yet received whole", partial_frame),
        (
            "a sequence cut by a fragment boundary",
            [frame(TEXT, &[&valid[..], &[0xe2, 0x82]].concat()), frame(CONTINUATION, b"A more text")].concat(),
        ),
        (
            "a surrogate in the second fragment",
            [frame(TEXT, &valid), frame(CONTINUATION, &text(32 * 1024, &[0xed, 0xa0, 0x80]))].concat(),
        ),
    ];
    for (what, bytes) in cases {
        let mut raw = test.raw();
        raw.stream.set_read_timeout(Some(Duration::from_secs(3))).expect("read timeout");
        let started = Instant::now();
        raw.write(&bytes);
        assert_eq!(raw.close_code(), Some(1007), "{what}");
        let elapsed = started.elapsed();
        raw.expect_eof();
        eprintln!("utf-8: {what}: 1007 after {elapsed:?}");
    }
    eventually("connection table empty", || test.server.connections().is_empty());
}

// ---- 6. ten thousand dropped connections ----

/// 10,000 upgraded connections (and 1,000 half-done handshakes) dropped without a close,
/// 500 at a time (half of them in the middle of a frame): the connection table empties,
/// the counters add up, and resident memory returns to where it was after the first two
/// batches.
pub fn hostile_ten_thousand_dropped_connections_leave_nothing_behind<R: Runtime + Default>() {
    let _heavy = heavy();
    const BATCHES: usize = 20;
    const BATCH: usize = 500;
    const HALF_OPEN: usize = 50;
    const GROUP: usize = 50;
    let test = TestServer::<R>::start(Settings::default(), echo);
    let server = test.server.clone();
    let request = upgrade_request("/", &[]);
    let mut rss = None;
    let started = Instant::now();
    for batch in 0..BATCHES {
        let mut open = Vec::with_capacity(BATCH + HALF_OPEN);
        // Connect in groups, pipelining the upgrades, within the listen backlog.
        for _ in 0..BATCH / GROUP {
            let mut group: Vec<TcpStream> = (0..GROUP).map(|_| Raw::connect(test.addr).stream).collect();
            for stream in &mut group {
                stream.write_all(request.as_bytes()).expect("write upgrade");
            }
            for (i, stream) in group.iter_mut().enumerate() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    stream.read_exact(&mut byte).expect("read 101");
                    head.push(byte[0]);
                }
                assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
                if i % 2 == 0 {
                    // Half a frame header: a 16-bit length that never comes.
                    stream.write_all(&[FIN | TEXT, 0x80 | 126]).expect("write");
                }
            }
            open.extend(group);
        }
        for _ in 0..HALF_OPEN {
            let mut stream = Raw::connect(test.addr).stream;
            stream.write_all(&request.as_bytes()[..40]).expect("write");
            open.push(stream);
        }
        eventually("every connection accepted", || server.connections().len() == BATCH + HALF_OPEN);
        drop(open);
        eventually("the dropped connections are gone", || server.connections().is_empty());
        if batch == 1 {
            // Two batches warm the server's threads, table shards and allocator.
            rss = Some(Rss::start());
        }
    }
    let elapsed = started.elapsed();
    let stats = server.stats();
    let total = (BATCHES * (BATCH + HALF_OPEN)) as u64;
    assert_eq!(stats.connection_num, 0);
    assert_eq!(stats.accept_count, total, "{stats:?}");
    assert_eq!(stats.close_count, total, "{stats:?}");
    assert_eq!(stats.websocket_count, (BATCHES * BATCH) as u64, "{stats:?}");
    assert_eq!(stats.rejected_count, 0, "{stats:?}");
    let rss = rss.expect("measured");
    let growth = rss.growth();
    if let Some(growth) = growth {
        // 9,000 connections after the baseline: a leak of 1 KiB each would pass 8 MiB.
        assert!(growth < 8 * MIB as i64, "resident memory grew by {growth} bytes over 9,000 connections");
    }
    eprintln!(
        "10,000 drops: {total} connections in {elapsed:?}; {stats:?}; after the warm-up, resident growth {:.1} MiB (bound 8 MiB), peak {}",
        growth.unwrap_or(0) as f64 / MIB as f64,
        mib(rss.peak_growth()),
    );
}

// ---- 7. a client that never reads ----

/// Pushes to a client that never reads fail with BufferFull once buffer_output_size
/// (1 MiB) is queued: 1 GiB of fresh 64 KiB payloads pushed from another thread is
/// refused past the queue and the socket buffers, with memory bounded; from inside
/// `on_message` (where nothing can drain meanwhile) the queue stops at 1 MiB (less a frame).
pub fn hostile_client_that_never_reads_gets_buffer_full<R: Runtime + Default>() {
    let _heavy = heavy();
    let limit = MIB as usize;
    let chunk = 64 * 1024;
    let log = Log::default();
    let settings = Settings { buffer_output_size: limit, ..Settings::default() };
    let in_callback = log.clone();
    let test = TestServer::<R>::start(settings, move |server| {
        server.on_message(move |server, frame| {
            if &frame.data[..] != b"go" {
                let _ = server.push_frame(frame.fd, frame);
                return;
            }
            let mut accepted = 0;
            for i in 0..16 * 1024 {
                match server.push_with(frame.fd, vec![i as u8; chunk], Opcode::Binary, Flags::FIN) {
                    Ok(()) => accepted += chunk,
                    Err(PushError::BufferFull { data, .. }) if data.len() == chunk => {
                        in_callback.push(format!("full after {accepted}"));
                        return;
                    }
                    Err(other) => {
                        in_callback.push(format!("unexpected {other:?}"));
                        return;
                    }
                }
            }
            in_callback.push("never full");
        });
    });
    let server = test.server.clone();
    let mut other = test.raw();
    other.send_text("warm");
    assert_eq!(&other.data_frame().data[..], b"warm");

    let rss = Rss::start();
    let _silent = test.raw();
    eventually("established", || server.connections().len() == 2);
    let fd = *server.connections().iter().max().expect("fd");
    let (mut accepted, mut refused) = (0u64, 0u64);
    let mut first_full = None;
    for i in 0..16 * 1024 {
        // A fresh payload each time: a queue without bound would hold all of them.
        match server.push_with(fd, vec![i as u8; chunk], Opcode::Binary, Flags::FIN) {
            Ok(()) => accepted += chunk as u64,
            Err(PushError::BufferFull { fd: full_fd, data }) => {
                assert_eq!((full_fd, data.len()), (fd, chunk));
                refused += 1;
                first_full.get_or_insert(accepted);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let first_full = first_full.expect("BufferFull within 1 GiB of pushes");
    let growth = rss.assert_peak_below("pushing 1 GiB to a client that never reads", 64 * MIB);
    // The 1 MiB queue plus what the loopback socket buffers took.
    assert!(accepted < 48 * MIB, "accepted {accepted} bytes");
    // A broadcast skips the full connection.
    assert_eq!(server.broadcast_to([fd], vec![b'b'; chunk], Opcode::Binary, Flags::FIN), 0);
    assert!(server.exist(fd));
    other.send_text("still serving");
    assert_eq!(&other.data_frame().data[..], b"still serving");

    // The fast path: inside on_message nothing drains, so the queue stops at the limit.
    let mut silent = test.raw();
    silent.send_text("go");
    let entries = log.wait(|entries| !entries.is_empty());
    let in_callback: usize = entries[0].strip_prefix("full after ").expect("BufferFull").parse().expect("number");
    // Frame headers count too: the last chunk that fits may be one short of the limit.
    assert!(in_callback <= limit && in_callback + 2 * chunk > limit, "{entries:?}");
    eprintln!(
        "never reads: first BufferFull after {} KiB, then {} KiB accepted in all and {refused} pushes refused of 16384 (1 GiB); peak resident growth {} (bound 64 MiB); in on_message BufferFull after {} KiB",
        first_full / 1024,
        accepted / 1024,
        mib(growth),
        in_callback / 1024
    );
}

// ---- 8. a ping flood ----

/// Counts pongs with `len`-byte payloads from a stream until `want` or EOF; panics on any
/// other frame or on the read timeout.
fn count_pongs(stream: &mut TcpStream, want: usize, len: usize) -> usize {
    let mut buf = Vec::with_capacity(128 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut pongs = 0;
    while pongs < want {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return pongs,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => return pongs,
            Err(e) => panic!("read failed after {pongs} pongs: {e}"),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut at = 0;
        while let Some((header, head_len)) = FrameHeader::decode(&buf[at..]).expect("valid frame") {
            let end = at + head_len + header.payload_len as usize;
            if end > buf.len() {
                break;
            }
            if header.opcode == Opcode::Close {
                return pongs;
            }
            assert_eq!((header.opcode, header.payload_len as usize), (Opcode::Pong, len), "after {pongs} pongs");
            pongs += 1;
            at = end;
        }
        buf.drain(..at);
    }
    pongs
}

/// 500,000 pings of 125 bytes (65 MB), written without reading the pongs until the writer
/// stalls or is done: the server stops reading while its queue (256 KiB) is full, so memory
/// stays bounded (a server queueing every pong holds 63 MB), and a second client is served
/// meanwhile; once the flooder reads, every ping is answered (or the connection is cut).
pub fn hostile_ping_flood_is_answered_or_cut_with_memory_bounded<R: Runtime + Default>() {
    ping_flood::<R>(256 * 1024);
}

/// The same flood with a 1 GiB `buffer_output_size`: reading still pauses once 1 MiB of
/// output waits (a server that reads on up to the limit queues every pong: 57 MiB of
/// growth, measured before the pause existed).
pub fn hostile_ping_flood_pauses_reading_whatever_the_output_limit<R: Runtime + Default>() {
    ping_flood::<R>(1 << 30);
}

fn ping_flood<R: Runtime + Default>(buffer_output_size: usize) {
    let _heavy = heavy();
    const PINGS: usize = 500_000;
    const PER_WRITE: usize = 1000;
    let payload = [b'p'; 125];
    let settings = Settings { buffer_output_size, ..Settings::default() };
    let test = TestServer::<R>::start(settings, echo);
    let mut other = test.raw();
    other.send_text("warm");
    assert_eq!(&other.data_frame().data[..], b"warm");

    let rss = Rss::start();
    let mut raw = test.raw();
    raw.stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    let mut writer = raw.stream.try_clone().expect("clone");
    let chunk = frame(FIN | PING, &payload).repeat(PER_WRITE);
    let progress = Arc::new(AtomicUsize::new(0));
    let flood = {
        let progress = progress.clone();
        std::thread::spawn(move || {
            for round in 0..PINGS / PER_WRITE {
                if let Err(error) = writer.write_all(&chunk) {
                    return (round * PER_WRITE, Some(error.kind()));
                }
                progress.fetch_add(PER_WRITE, Ordering::Relaxed);
            }
            (PINGS, None)
        })
    };
    // Let the flood run until the writer stalls (the server stopped reading) or is done (a
    // server reading without bound would have queued every pong by then).
    let flood_started = Instant::now();
    let mut seen = usize::MAX;
    while !flood.is_finished() && flood_started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(200));
        let now = progress.load(Ordering::Relaxed);
        if now == seen {
            break;
        }
        seen = now;
    }
    let (stalled_at, stalled_after) = (progress.load(Ordering::Relaxed), flood_started.elapsed());
    let started = Instant::now();
    other.send_text("still serving");
    assert_eq!(&other.data_frame().data[..], b"still serving");
    let served_in = started.elapsed();
    let during = rss.peak_growth();
    let started = Instant::now();
    let pongs = count_pongs(&mut raw.stream, PINGS, payload.len());
    let (written, error) = flood.join().expect("flood");
    let drained_in = started.elapsed();
    let growth = rss.assert_peak_below("a flood of 500,000 pings", 32 * MIB);
    eprintln!(
        "ping flood: the writer stalled after {stalled_at} pings ({stalled_after:?}); {written} pings written ({error:?}), {pongs} pongs; the other client served in {served_in:?} mid-flood; pongs read in {drained_in:?}; peak resident growth {} mid-flood, {} in all (bound 32 MiB)",
        mib(during),
        mib(growth)
    );
    if pongs < PINGS {
        // Cut: the connection must be closed, not left half-served.
        raw.expect_eof();
    } else {
        assert_eq!((written, error), (PINGS, None));
        other.send_text("after");
        assert_eq!(&other.data_frame().data[..], b"after");
    }
}
