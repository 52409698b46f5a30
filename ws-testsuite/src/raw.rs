//! A raw WebSocket client over a blocking `std::net::TcpStream`, for sending exactly the
//! bytes a case needs (malformed ones included) and reading exactly what comes back.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ws_proto::frame::FrameHeader;
use ws_proto::{Fd, Flags, Frame, Opcode};

/// A blocking client with a read timeout of 5 s.
#[derive(Debug)]
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects.
    ///
    /// # Panics
    /// When connecting fails.
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw { stream, buf: Vec::new() }
    }

    /// Connects and upgrades `path` with `headers` added; asserts a 101.
    ///
    /// # Panics
    /// When the server answers anything else.
    pub fn upgrade(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Raw {
        let mut raw = Raw::connect(addr);
        raw.write(upgrade_request(path, headers).as_bytes());
        let head = raw.read_response();
        assert!(head.starts_with("HTTP/1.1 101"), "expected 101, got {head:?}");
        raw
    }

    /// Writes bytes.
    ///
    /// # Panics
    /// When the write fails.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends one masked frame.
    pub fn send(&mut self, opcode: Opcode, payload: &[u8], fin: bool) {
        let frame = Frame { fd: Fd::default(), data: payload.to_vec().into(), opcode, finish: fin, flags: Flags::NONE };
        self.write(&frame.pack_masked([0x37, 0xfa, 0x21, 0x3d]));
    }

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) {
        self.send(Opcode::Text, text.as_bytes(), true);
    }

    /// Reads an HTTP response: the head, and the body when `Content-Length` says so.
    ///
    /// # Panics
    /// On timeout or EOF before the head ends.
    pub fn read_response(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end + 4]).into_owned();
                let body_len = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + body_len {
                    assert!(self.fill(), "EOF inside a response body");
                }
                let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + body_len]).into_owned();
                self.buf.drain(..end + 4 + body_len);
                return head + &body;
            }
            assert!(self.fill(), "EOF before a response head: {:?}", String::from_utf8_lossy(&self.buf));
        }
    }

    /// The next frame, or `None` at EOF.
    ///
    /// # Panics
    /// On timeout or a frame that does not decode.
    pub fn try_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((header, len)) = FrameHeader::decode(&self.buf).expect("valid frame header") {
                let total = len + header.payload_len as usize;
                if self.buf.len() >= total {
                    let frame = Frame::unpack(&self.buf[..total]).expect("frame");
                    self.buf.drain(..total);
                    return Some(frame);
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// The next frame.
    ///
    /// # Panics
    /// At EOF or on timeout.
    pub fn frame(&mut self) -> Frame {
        self.try_frame().expect("a frame before EOF")
    }

    /// The next data frame, skipping pings and pongs.
    pub fn data_frame(&mut self) -> Frame {
        loop {
            let frame = self.frame();
            if !matches!(frame.opcode, Opcode::Ping | Opcode::Pong) {
                return frame;
            }
        }
    }

    /// Reads until a close frame and returns its code (`None` for an empty close).
    ///
    /// # Panics
    /// When EOF comes first.
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            let frame = self.frame();
            if frame.opcode == Opcode::Close {
                return frame.code().map(u16::from);
            }
        }
    }

    /// Asserts the server closes the TCP connection (skipping any frames before).
    ///
    /// # Panics
    /// On timeout.
    pub fn expect_eof(&mut self) {
        while self.fill() {}
    }

    /// Reads more; `false` at EOF (or a reset).
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => false,
            Err(e) => panic!("read failed (timeout?): {e}"),
        }
    }
}

/// A valid upgrade request for `path`, with `headers` added.
pub fn upgrade_request(path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}
