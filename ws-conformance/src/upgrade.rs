//! The HTTP/1.1 upgrade (RFC 6455 §4) over a blocking socket: reading the head, and
//! `ws_proto::handshake` for everything else (encoding, parsing, checking, the accept key).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use ws_proto::handshake::{
    ClientRequest, HttpLimits, Request, Response, Upgrade, parse_request, parse_response, validate_upgrade,
    verify_response,
};

/// What the server answered to our upgrade.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeResponse {
    /// Every `Sec-WebSocket-Extensions` value.
    pub(crate) extensions: Vec<String>,
    /// Bytes read past the response head (the first frames).
    pub(crate) leftover: Vec<u8>,
}

/// A client's upgrade request, as the server side sees it.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeRequest {
    /// The request (path, query, headers).
    pub(crate) request: Request,
    /// What the 101 needs.
    pub(crate) upgrade: Upgrade,
    /// Bytes read past the request head.
    pub(crate) leftover: Vec<u8>,
}

/// Sends the upgrade request and reads and verifies the 101 response.
pub(crate) fn client(
    stream: &mut TcpStream,
    host: &str,
    path: &str,
    key: [u8; 16],
    offer: Option<&str>,
    until: Instant,
) -> Result<UpgradeResponse, String> {
    let req = ClientRequest::new(host, path, key);
    stream.write_all(&req.encode(offer)).map_err(|e| format!("writing the upgrade request: {e}"))?;
    let limits = HttpLimits::default();
    let mut buf = Vec::new();
    loop {
        match parse_response(&buf, &limits) {
            Ok(Some((res, head_len))) => {
                verify_response(&res, &req).map_err(|e| format!("{e} (status {})", res.status()))?;
                let extensions = res.header_all("sec-websocket-extensions").map(str::to_string).collect();
                let leftover = buf.split_off(head_len.min(buf.len()));
                return Ok(UpgradeResponse { extensions, leftover });
            }
            Ok(None) => read_more(stream, &mut buf, until)?,
            Err(e) => return Err(format!("malformed HTTP response: {e}")),
        }
    }
}

/// Reads and validates a client's upgrade request; a bad one is answered with 400 or 426.
pub(crate) fn read_request(stream: &mut TcpStream, until: Instant) -> Result<UpgradeRequest, String> {
    let limits = HttpLimits::default();
    let mut buf = Vec::new();
    loop {
        match parse_request(&buf, &limits) {
            Ok(Some(head)) => {
                let upgrade = match validate_upgrade(&head.request) {
                    Ok(u) => u,
                    Err(e) => {
                        let _ = stream.write_all(&Response::reject(&e).to_bytes());
                        return Err(format!("bad upgrade request: {e}"));
                    }
                };
                let leftover = buf.split_off(head.head_len.min(buf.len()));
                return Ok(UpgradeRequest { request: head.request, upgrade, leftover });
            }
            Ok(None) => read_more(stream, &mut buf, until)?,
            Err(e) => {
                let _ = stream.write_all(&Response::reject(&e).to_bytes());
                return Err(format!("malformed HTTP request: {e}"));
            }
        }
    }
}

/// Answers an upgrade request with 101, without subprotocol, with `extensions` as the
/// `Sec-WebSocket-Extensions` value when given.
pub(crate) fn accept(stream: &mut TcpStream, req: &UpgradeRequest, extensions: Option<&str>) -> Result<(), String> {
    let res = Response::switching_protocols(&req.upgrade, None, extensions);
    stream.write_all(&res.to_bytes()).map_err(|e| format!("writing the 101 response: {e}"))
}

/// Reads more bytes of an HTTP head before `until`.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, until: Instant) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out reading the HTTP head".into());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => return Err("connection closed during the HTTP handshake".into()),
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                return Ok(());
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("reading the HTTP head: {e}")),
        }
    }
}
