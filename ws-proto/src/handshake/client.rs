//! The client side of the opening handshake (RFC 6455 §4.1): the request, and the checks
//! on the server's response.

use std::fmt::Write as _;

use bytes::Bytes;

use super::key::{KEY_LEN, accept_key, encode_key};
use super::response::Response;
use super::{collect_headers, has_token, is_field_value, is_token, is_valid_header, malformed, parse_head};
use crate::error::HandshakeError;
use crate::handshake::HttpLimits;

/// A client's opening handshake request (RFC 6455 §4.1), built up and then encoded.
///
/// # Example
/// ```
/// use ws_proto::handshake::ClientRequest;
/// let req = ClientRequest::new("example.com:8080", "/chat?room=1", *b"the sample nonce")
///     .protocol("chat")
///     .header("Origin", "http://example.com");
/// assert_eq!(req.key(), "dGhlIHNhbXBsZSBub25jZQ==");
/// let bytes = req.encode(Some("permessage-deflate"));
/// assert!(bytes.starts_with(b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    host: String,
    path: String,
    key: String,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `path` (with its query) on `host`, with the nonce `key`.
    ///
    /// `host` is sent as the `Host` header as given, so it carries `:port` when the port is
    /// not the default (RFC 6455 §4.1 item 4). An empty `path` becomes `/`, and one not
    /// starting with `/` gets one. The nonce must be random and fresh for each connection
    /// (§4.1 item 7); it comes from the caller so that this crate needs no randomness.
    /// Spaces, control characters and non-ASCII bytes in `host` or `path` are
    /// percent-encoded, so neither can break the request line or add a header.
    pub fn new(host: impl Into<String>, path: impl Into<String>, key: [u8; KEY_LEN]) -> ClientRequest {
        let path = escape_unsafe(&path.into());
        let path = if path.starts_with('/') { path } else { format!("/{path}") };
        ClientRequest {
            host: escape_unsafe(&host.into()),
            path,
            key: encode_key(&key),
            protocols: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Offers subprotocol `p` in `Sec-WebSocket-Protocol`, after those already offered.
    ///
    /// A subprotocol must be a token (RFC 6455 §4.1 item 10) and offered once; anything
    /// else is ignored and logged at `debug`.
    #[must_use]
    pub fn protocol(mut self, p: impl Into<String>) -> Self {
        let p = p.into();
        if is_token(&p) && !self.protocols.contains(&p) {
            self.protocols.push(p);
        } else {
            tracing::debug!(protocol = %p.escape_debug(), "refused an invalid or repeated subprotocol");
        }
        self
    }

    /// Adds an extra header (`Origin`, `Authorization`, cookies, ...) after the handshake's
    /// own.
    ///
    /// Ignored, and logged at `debug`: a name that is not a token, a value holding CR, LF
    /// or NUL, and the headers this type writes itself (`Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Key`, `-Version`, `-Protocol`, `-Extensions`): use
    /// [`protocol`](ClientRequest::protocol) and the `extensions` of
    /// [`encode`](ClientRequest::encode) instead.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if HANDSHAKE_HEADERS.iter().any(|own| own.eq_ignore_ascii_case(&name)) {
            tracing::debug!(name = %name, "refused an extra header the handshake writes itself");
        } else if is_valid_header(&name, &value) {
            self.headers.push((name, value));
        }
        self
    }

    /// The same request with another nonce (a [`Connection`](crate::connection::Connection)
    /// draws its own from its configured entropy).
    #[must_use]
    pub fn with_key(mut self, key: [u8; KEY_LEN]) -> Self {
        self.key = encode_key(&key);
        self
    }

    /// The `Sec-WebSocket-Key`: base64 of the 16-byte nonce.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered, in order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The `Host` header value.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The request target: path and query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The request head (RFC 6455 §4.1): `GET path HTTP/1.1`, `Host`, `Upgrade: websocket`,
    /// `Connection: Upgrade`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`,
    /// `Sec-WebSocket-Protocol` when any was offered, `Sec-WebSocket-Extensions` when
    /// `extensions` is `Some`, then the extra headers.
    ///
    /// `extensions` is the offer from the deflate module; one holding CR, LF or NUL is left
    /// out (logged at `debug`).
    pub fn encode(&self, extensions: Option<&str>) -> Bytes {
        let mut head = String::with_capacity(192 + self.path.len() + self.headers.len() * 32);
        // Writing to a String cannot fail.
        let _ = write!(
            head,
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.path, self.host, self.key
        );
        if !self.protocols.is_empty() {
            let _ = write!(head, "Sec-WebSocket-Protocol: {}\r\n", self.protocols.join(", "));
        }
        match extensions {
            Some(offer) if is_field_value(offer) => {
                let _ = write!(head, "Sec-WebSocket-Extensions: {offer}\r\n");
            }
            Some(_) => tracing::debug!("refused an extensions offer holding a line break"),
            None => {}
        }
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        Bytes::from(head)
    }
}

/// Parses the server's response head from the bytes received so far.
///
/// Incremental like [`parse_request`](super::parse_request): `Ok(None)` while the head is
/// incomplete and shorter than [`HttpLimits::max_head_size`]. Returns the response
/// (without body) and the head's length: after a 101, WebSocket frames start there.
///
/// # Errors
/// [`HandshakeError::HeadTooLarge`], [`HandshakeError::TooManyHeaders`], and
/// [`HandshakeError::Malformed`] for invalid HTTP or a header value that is not UTF-8.
pub fn parse_response(buf: &[u8], limits: &HttpLimits) -> Result<Option<(Response, usize)>, HandshakeError> {
    parse_head(buf, limits, |window, headers| {
        let mut parsed = httparse::Response::new(headers);
        let head_len = match parsed.parse(window) {
            Ok(httparse::Status::Complete(head_len)) => head_len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(err) => return Err(malformed(err, limits)),
        };
        // httparse fills the code whenever it reports a complete head.
        let Some(status) = parsed.code else {
            return Err(HandshakeError::Malformed("incomplete status line"));
        };
        Ok(Some((Response::from_parts(status, collect_headers(parsed.headers)?), head_len)))
    })
}

/// Checks the server's response against RFC 6455 §4.1 (the client's items 1 to 6, but for
/// extensions) and returns the subprotocol the server chose, if any.
///
/// Extensions are left to the deflate module, which knows what was offered.
///
/// # Errors
/// - [`HandshakeError::UnexpectedStatus`]: the status is not 101.
/// - [`HandshakeError::MissingUpgrade`]: `Upgrade` does not name `websocket`.
/// - [`HandshakeError::MissingConnectionUpgrade`]: `Connection` does not list `Upgrade`.
/// - [`HandshakeError::InvalidAccept`]: `Sec-WebSocket-Accept` missing, repeated, or not
///   the accept key of `req`'s key.
/// - [`HandshakeError::UnexpectedProtocol`]: a `Sec-WebSocket-Protocol` that the client
///   did not offer, or more than one value.
pub fn verify_response(res: &Response, req: &ClientRequest) -> Result<Option<String>, HandshakeError> {
    // §4.1 items 1-3 of the response checks: 101, Upgrade: websocket, Connection: Upgrade.
    if res.status() != 101 {
        return Err(HandshakeError::UnexpectedStatus(res.status()));
    }
    if !has_token(res.header_all("upgrade"), "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(res.header_all("connection"), "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // Item 4: exactly one Sec-WebSocket-Accept, the hash of our key.
    let mut accepts = res.header_all("sec-websocket-accept");
    match (accepts.next(), accepts.next()) {
        (Some(accept), None) if accept == accept_key(req.key()) => {}
        _ => return Err(HandshakeError::InvalidAccept),
    }
    // Item 6: a subprotocol only if offered, and only one.
    let mut protocols = res.header_all("sec-websocket-protocol");
    match (protocols.next(), protocols.next()) {
        (None, _) => Ok(None),
        (Some(chosen), None) if req.protocols().iter().any(|p| p == chosen) => Ok(Some(chosen.to_owned())),
        _ => Err(HandshakeError::UnexpectedProtocol),
    }
}

/// `s` with space, control and non-ASCII bytes percent-encoded, everything else kept.
fn escape_unsafe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Headers [`ClientRequest::encode`] writes itself, so extra headers may not repeat them.
const HANDSHAKE_HEADERS: [&str; 7] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
];

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: [u8; 16] = *b"the sample nonce";

    fn ok_response(req: &ClientRequest) -> Response {
        let mut res = Response::new(101);
        res.header("Upgrade", "WebSocket")
            .header("Connection", "upgrade")
            .header("Sec-WebSocket-Accept", accept_key(req.key()));
        res
    }

    #[test]
    fn request_head_is_exact() {
        let req = ClientRequest::new("example.com", "/chat", NONCE)
            .protocol("chat")
            .protocol("superchat")
            .header("Origin", "http://example.com");
        assert_eq!(
            &req.encode(Some("permessage-deflate"))[..],
            b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\
              Origin: http://example.com\r\n\r\n"
        );
        let bare = ClientRequest::new("h", "", NONCE).encode(None);
        assert!(bare.starts_with(b"GET / HTTP/1.1\r\n"));
        assert!(!bare.windows(22).any(|w| w == b"Sec-WebSocket-Protocol"));
        assert!(!bare.windows(24).any(|w| w == b"Sec-WebSocket-Extensions"));
    }

    #[test]
    fn host_and_path_cannot_break_the_head() {
        let req = ClientRequest::new("h\r\nX: 1", "chat room\r\n?q=é", NONCE);
        assert_eq!(req.host(), "h%0D%0AX:%201");
        assert_eq!(req.path(), "/chat%20room%0D%0A?q=%C3%A9");
        let req = ClientRequest::new("h", "/", NONCE).header("X-Evil", "a\r\nb").header("Bad Name", "v");
        assert_eq!(req.encode(None).iter().filter(|&&b| b == b'\n').count(), 7);
        assert_eq!(req.encode(Some("a\r\nInjected: 1")), req.encode(None));
    }

    #[test]
    fn invalid_or_repeated_protocols_and_own_headers_are_refused() {
        let req = ClientRequest::new("h", "/", NONCE)
            .protocol("chat")
            .protocol("chat")
            .protocol("two words")
            .protocol("a,b")
            .protocol("")
            .header("sec-websocket-protocol", "x")
            .header("HOST", "other");
        assert_eq!(req.protocols(), ["chat"]);
        assert_eq!(req.encode(None), ClientRequest::new("h", "/", NONCE).protocol("chat").encode(None));
    }

    #[test]
    fn a_valid_101_passes() {
        let req = ClientRequest::new("h", "/", NONCE).protocol("a").protocol("b");
        assert_eq!(verify_response(&ok_response(&req), &req), Ok(None));
        let mut res = ok_response(&req);
        res.header("Sec-WebSocket-Protocol", "b");
        assert_eq!(verify_response(&res, &req), Ok(Some("b".to_string())));
        let mut res = ok_response(&req);
        res.set_header("Connection", "keep-alive, Upgrade");
        assert_eq!(verify_response(&res, &req), Ok(None));
    }

    #[test]
    fn each_broken_rule_fails() {
        let req = ClientRequest::new("h", "/", NONCE).protocol("a");
        let check = |edit: &dyn Fn(&mut Response)| {
            let mut res = ok_response(&req);
            edit(&mut res);
            verify_response(&res, &req)
        };
        assert_eq!(check(&|r| r.set_status(200)), Err(HandshakeError::UnexpectedStatus(200)));
        assert_eq!(check(&|r| _ = r.remove_header("upgrade")), Err(HandshakeError::MissingUpgrade));
        assert_eq!(check(&|r| _ = r.set_header("upgrade", "h2c")), Err(HandshakeError::MissingUpgrade));
        assert_eq!(
            check(&|r| _ = r.set_header("connection", "keep-alive")),
            Err(HandshakeError::MissingConnectionUpgrade)
        );
        assert_eq!(check(&|r| _ = r.remove_header("sec-websocket-accept")), Err(HandshakeError::InvalidAccept));
        assert_eq!(
            check(&|r| _ = r.set_header("sec-websocket-accept", accept_key("AAAAAAAAAAAAAAAAAAAAAA=="))),
            Err(HandshakeError::InvalidAccept)
        );
        assert_eq!(
            check(&|r| _ = r.header("sec-websocket-accept", accept_key(req.key()))),
            Err(HandshakeError::InvalidAccept)
        );
        assert_eq!(check(&|r| _ = r.header("sec-websocket-protocol", "b")), Err(HandshakeError::UnexpectedProtocol));
        assert_eq!(check(&|r| _ = r.header("sec-websocket-protocol", "A")), Err(HandshakeError::UnexpectedProtocol));
        assert_eq!(
            check(&|r| _ = r.header("sec-websocket-protocol", "a").header("sec-websocket-protocol", "a")),
            Err(HandshakeError::UnexpectedProtocol)
        );
        let none_offered = ClientRequest::new("h", "/", NONCE);
        let mut res = ok_response(&none_offered);
        res.header("Sec-WebSocket-Protocol", "a");
        assert_eq!(verify_response(&res, &none_offered), Err(HandshakeError::UnexpectedProtocol));
    }

    #[test]
    fn response_parses_incrementally_within_limits() {
        let raw = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX: a\r\n\r\n\x81\x00";
        let limits = HttpLimits::default();
        assert_eq!(parse_response(&raw[..30], &limits), Ok(None));
        let (res, head_len) = parse_response(raw, &limits).unwrap().unwrap();
        assert_eq!((res.status(), head_len), (101, raw.len() - 2));
        assert_eq!(res.headers().collect::<Vec<_>>(), [("upgrade", "websocket"), ("x", "a")]);
        let small = HttpLimits { max_head_size: 20, ..limits };
        assert_eq!(parse_response(&raw[..20], &small), Err(HandshakeError::HeadTooLarge { limit: 20 }));
        let few = HttpLimits { max_headers: 1, ..limits };
        assert_eq!(parse_response(raw, &few), Err(HandshakeError::TooManyHeaders { limit: 1 }));
        assert!(matches!(parse_response(b"HTTP/1.1 1x1 OK\r\n\r\n", &limits), Err(HandshakeError::Malformed(_))));
    }
}
