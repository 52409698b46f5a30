//! A reference echo server (strict RFC 6455, no extensions) with switchable faults.
//!
//! Strict, it passes every case of families 1–10; each [`Fault`] breaks one rule, so the
//! suite can be shown to fail the cases that test it. Blocking, a thread per connection.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ws_proto::utf8::Utf8Validator;
use ws_proto::{CloseCode, CloseFrame, FrameHeader, Opcode};

use crate::upgrade;
use crate::wire::OutFrame;

/// A rule the server can be told to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Accept frames with RSV bits set (and echo them) instead of failing with 1002.
    IgnoreRsv,
    /// Never validate UTF-8 in text messages or close reasons.
    SkipUtf8,
    /// Echo any close payload back unchecked, invalid codes included.
    EchoAnyCloseCode,
}

impl Fault {
    /// Parses `rsv`, `utf8` or `close-code`.
    pub fn parse(name: &str) -> Option<Fault> {
        match name {
            "rsv" => Some(Fault::IgnoreRsv),
            "utf8" => Some(Fault::SkipUtf8),
            "close-code" => Some(Fault::EchoAnyCloseCode),
            _ => None,
        }
    }
}

/// A running echo server; dropping it stops accepting and joins the accept thread.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Binds `listen` (e.g. `127.0.0.1:0`) and serves in the background.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub fn spawn(listen: &str, faults: &[Fault]) -> std::io::Result<EchoServer> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let faults = faults.to_vec();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(&listener, &faults, &flag));
        Ok(EchoServer { addr, stop, thread: Some(thread) })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the process ends.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: &TcpListener, faults: &[Fault], stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let faults = faults.to_vec();
        std::thread::spawn(move || {
            let _ = Conn::new(stream, faults).run();
        });
    }
}

struct Conn {
    stream: TcpStream,
    faults: Vec<Fault>,
    buf: Vec<u8>,
    /// The message being received: its opcode and payload so far.
    message: Option<(Opcode, Vec<u8>)>,
    utf8: Utf8Validator,
}

/// What ends a connection: a code to fail with, or a normal close.
enum End {
    Fail(u16),
    Closed,
    Io,
}

impl Conn {
    fn new(stream: TcpStream, faults: Vec<Fault>) -> Conn {
        Conn { stream, faults, buf: Vec::new(), message: None, utf8: Utf8Validator::default() }
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    fn run(mut self) -> std::io::Result<()> {
        let _ = self.stream.set_nodelay(true);
        let req = upgrade::read_request(&mut self.stream, Instant::now() + IDLE).map_err(std::io::Error::other)?;
        upgrade::accept(&mut self.stream, &req, None).map_err(std::io::Error::other)?;
        self.buf = req.leftover;
        self.stream.set_read_timeout(Some(IDLE))?;
        match self.frames() {
            End::Fail(code) => {
                self.send(&OutFrame::close(code, b""))?;
                self.drain_until_close();
            }
            End::Closed | End::Io => {}
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        Ok(())
    }

    /// Reads and answers frames until the connection ends. A text payload is checked as it
    /// arrives, so invalid UTF-8 fails the connection before the frame is complete.
    fn frames(&mut self) -> End {
        loop {
            let (header, n) = match FrameHeader::decode(&self.buf) {
                Ok(Some(h)) => h,
                Ok(None) => match self.fill() {
                    true => continue,
                    false => return End::Io,
                },
                Err(e) => return End::Fail(e.close_code().as_u16()),
            };
            if let Some(code) = self.check_header(&header) {
                return End::Fail(code);
            }
            self.buf.drain(..n);
            let Ok(len) = usize::try_from(header.payload_len) else { return End::Fail(1009) };
            if len > MAX_MESSAGE {
                return End::Fail(1009);
            }
            let text = self.is_text(&header);
            let mut payload = Vec::with_capacity(len);
            while payload.len() < len {
                if self.buf.is_empty() && !self.fill() {
                    return End::Io;
                }
                let take = (len - payload.len()).min(self.buf.len());
                let mut piece: Vec<u8> = self.buf.drain(..take).collect();
                if let Some(key) = header.mask {
                    ws_proto::mask::apply_mask(&mut piece, key, payload.len());
                }
                if text && self.utf8.feed(&piece).is_err() {
                    return End::Fail(1007);
                }
                payload.extend_from_slice(&piece);
            }
            match self.on_frame(&header, payload) {
                Ok(()) => {}
                Err(end) => return end,
            }
        }
    }

    fn check_header(&mut self, h: &FrameHeader) -> Option<u16> {
        if h.rsv != 0 && !self.has(Fault::IgnoreRsv) {
            return Some(1002);
        }
        if h.mask.is_none() {
            // RFC 6455 §5.1: a server fails on an unmasked client frame.
            return Some(1002);
        }
        match (h.opcode, &self.message) {
            (Opcode::Continuation, None) => Some(1002),
            (Opcode::Text | Opcode::Binary, Some(_)) => Some(1002),
            (Opcode::Text, None) => {
                self.utf8 = Utf8Validator::default();
                None
            }
            _ => None,
        }
    }

    fn is_text(&self, h: &FrameHeader) -> bool {
        if self.has(Fault::SkipUtf8) {
            return false;
        }
        match h.opcode {
            Opcode::Text => true,
            Opcode::Continuation => matches!(self.message, Some((Opcode::Text, _))),
            _ => false,
        }
    }

    fn on_frame(&mut self, h: &FrameHeader, payload: Vec<u8>) -> Result<(), End> {
        match h.opcode {
            Opcode::Ping => self.send(&OutFrame::pong(payload)).map_err(|_| End::Io),
            Opcode::Pong => Ok(()),
            Opcode::Close => Err(self.on_close(payload)),
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let (opcode, mut data) = self.message.take().unwrap_or((h.opcode, Vec::new()));
                if data.len() + payload.len() > MAX_MESSAGE {
                    return Err(End::Fail(1009));
                }
                data.extend_from_slice(&payload);
                if !h.fin {
                    self.message = Some((opcode, data));
                    return Ok(());
                }
                if opcode == Opcode::Text && !self.has(Fault::SkipUtf8) && self.utf8.finish().is_err() {
                    return Err(End::Fail(1007));
                }
                self.send(&OutFrame::new(u8::from(opcode), data)).map_err(|_| End::Io)
            }
            _ => Err(End::Fail(1002)),
        }
    }

    fn on_close(&mut self, payload: Vec<u8>) -> End {
        if self.has(Fault::EchoAnyCloseCode) {
            let _ = self.send(&OutFrame::new(crate::wire::op::CLOSE, payload.get(..2).unwrap_or_default().to_vec()));
            return End::Closed;
        }
        let parsed = match CloseFrame::parse(&payload) {
            Err(ws_proto::ProtocolError::InvalidUtf8) if self.has(Fault::SkipUtf8) => CloseFrame {
                code: payload.get(..2).and_then(|c| CloseCode::try_from(u16::from_be_bytes([c[0], c[1]])).ok()),
                reason: String::new(),
            },
            Err(e) => return End::Fail(e.close_code().as_u16()),
            Ok(c) => c,
        };
        let reply = match parsed.code {
            Some(code) => OutFrame::close(code.as_u16(), b""),
            None => OutFrame::new(crate::wire::op::CLOSE, Vec::new()),
        };
        let _ = self.send(&reply);
        End::Closed
    }

    fn send(&mut self, frame: &OutFrame) -> std::io::Result<()> {
        self.stream.write_all(&frame.encode(None))
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                true
            }
        }
    }

    /// After sending a close: wait (briefly) for the peer's close, then let TCP go.
    fn drain_until_close(&mut self) {
        let until = Instant::now() + Duration::from_secs(2);
        let _ = self.stream.set_read_timeout(Some(Duration::from_millis(100)));
        let mut chunk = [0u8; 16 * 1024];
        while Instant::now() < until {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => {
                    // Any close frame (0x88 first byte) from the peer ends the wait.
                    if chunk.get(..n).is_some_and(|c| c.contains(&0x88)) {
                        return;
                    }
                }
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
    }
}

/// How long a connection may sit idle.
const IDLE: Duration = Duration::from_secs(60);
/// The largest message the reference server echoes.
const MAX_MESSAGE: usize = 32 * 1024 * 1024;
