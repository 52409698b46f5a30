//! HTTP responses: the 101 of RFC 6455 §4.2.2, rejections (§4.2.1, §4.4), and the
//! responses an application builds in `on_request`.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use super::key::accept_key;
use super::request::Upgrade;
use super::{HeaderList, is_valid_header};
use crate::error::HandshakeError;

/// An HTTP/1.1 response: status, headers in order, body (the reference's
/// `Swoole\Http\Response`).
///
/// Header names keep the case they were given with; lookups are ASCII case-insensitive.
/// Names must be tokens and values may not hold CR, LF or NUL: [`Response::header`] and
/// [`Response::set_header`] ignore anything else, so an application cannot smuggle extra
/// headers or a second response through a value.
///
/// # Example
/// ```
/// use ws_proto::handshake::Response;
/// let mut res = Response::new(200);
/// res.header("Content-Type", "text/plain").header("Set-Cookie", "a=1").header("Set-Cookie", "b=2");
/// res.header("X-Evil", "x\r\nSet-Cookie: admin=1"); // refused
/// res.set_body("hello");
/// assert_eq!(res.header_all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
/// assert_eq!(res.header_value("x-evil"), None);
/// assert_eq!(
///     &res.to_bytes()[..],
///     b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\
///       Content-Length: 5\r\n\r\nhello"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: HeaderList,
    body: Bytes,
}

impl Response {
    /// A response with `status`, no headers and an empty body.
    ///
    /// A status outside 100–999 cannot be written on a status line;
    /// [`encode`](Response::encode) sends 500 instead.
    pub fn new(status: u16) -> Response {
        Response { status, headers: HeaderList::default(), body: Bytes::new() }
    }

    /// The 101 Switching Protocols for a validated upgrade (RFC 6455 §4.2.2 item 5):
    /// `Upgrade: websocket`, `Connection: Upgrade`, `Sec-WebSocket-Accept`, and
    /// `Sec-WebSocket-Protocol` / `Sec-WebSocket-Extensions` when given.
    ///
    /// `protocol` should come from [`select_protocol`](super::select_protocol) and
    /// `extensions` from the deflate negotiation; a value holding CR, LF or NUL is left out.
    ///
    /// # Example
    /// ```
    /// use ws_proto::handshake::{Response, Upgrade};
    /// let upgrade = Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==".into(), protocols: vec![], extensions: vec![] };
    /// let res = Response::switching_protocols(&upgrade, Some("chat"), None);
    /// assert_eq!(res.status(), 101);
    /// assert_eq!(res.header_value("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    /// assert_eq!(res.header_value("sec-websocket-protocol"), Some("chat"));
    /// ```
    pub fn switching_protocols(upgrade: &Upgrade, protocol: Option<&str>, extensions: Option<&str>) -> Response {
        let mut res = Response::new(101);
        // Constant names, and values that are constants or base64: valid as they are.
        res.headers.push("Upgrade", "websocket");
        res.headers.push("Connection", "Upgrade");
        res.headers.push("Sec-WebSocket-Accept", &accept_key(&upgrade.key));
        if let Some(protocol) = protocol {
            res.header("Sec-WebSocket-Protocol", protocol);
        }
        if let Some(extensions) = extensions {
            res.header("Sec-WebSocket-Extensions", extensions);
        }
        res
    }

    /// The rejection of a failed handshake or request: status [`HandshakeError::status`],
    /// `Sec-WebSocket-Version: 13` on a 426 (RFC 6455 §4.4), `Connection: close`, and a
    /// one-line `text/plain` body naming the error.
    ///
    /// # Example
    /// ```
    /// use ws_proto::HandshakeError;
    /// use ws_proto::handshake::Response;
    /// let res = Response::reject(&HandshakeError::UnsupportedVersion);
    /// assert_eq!(res.status(), 426);
    /// assert_eq!(res.header_value("sec-websocket-version"), Some("13"));
    /// assert_eq!(res.header_value("connection"), Some("close"));
    /// ```
    pub fn reject(err: &HandshakeError) -> Response {
        let mut res = Response::new(err.status());
        if res.status == 426 {
            // RFC 6455 §4.4: name the versions this server understands.
            res.header("Sec-WebSocket-Version", "13");
        }
        res.header("Connection", "close").header("Content-Type", "text/plain; charset=utf-8");
        res.set_body(format!("{err}\n"));
        res
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// Adds a header, keeping any with the same name (for `Set-Cookie` and the like).
    ///
    /// A name that is not a token (RFC 9110 §5.6.2) or a value holding CR, LF or NUL
    /// (RFC 9110 §5.5) is ignored and logged at `debug`.
    pub fn header(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        if is_valid_header(name, value) {
            self.headers.push(name, value);
        }
        self
    }

    /// Replaces every header named `name` (ASCII case-insensitive) with this one.
    ///
    /// An invalid name or value (see [`Response::header`]) is ignored and the existing
    /// headers are kept.
    pub fn set_header(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        if is_valid_header(name, value) {
            self.remove_header(name);
            self.headers.push(name, value);
        }
        self
    }

    /// Removes every header named `name` (ASCII case-insensitive).
    pub fn remove_header(&mut self, name: &str) -> &mut Self {
        if self.headers.first(name).is_some() {
            self.headers.retain(|n, _| !n.eq_ignore_ascii_case(name));
        }
        self
    }

    /// Sets the body. `Content-Length` follows it unless the application set one.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (ASCII case-insensitive), if any.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.first(name)
    }

    /// Every value of header `name` (ASCII case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.all(name)
    }

    /// Every header as (name, value), in order, names as given.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Appends the response to `out`: the status line with the standard reason phrase, the
    /// headers, `Content-Length`, a blank line and the body.
    ///
    /// RFC 9110 §6.4.1, §8.6: a 1xx, 204 or 304 has no body and no `Content-Length`, so
    /// for those the body is not written: after a 101 the next bytes are WebSocket frames.
    /// Every other status gets `Content-Length` of the body unless the application set one.
    pub fn encode(&self, out: &mut BytesMut) {
        let status = if (100..=999).contains(&self.status) { self.status } else { 500 };
        let bodiless = matches!(status, 100..=199 | 204 | 304);
        let reason = reason_phrase(status);
        let lines = self.headers.lines();
        out.reserve(36 + reason.len() + lines.len() + if bodiless { 0 } else { self.body.len() });
        out.put_slice(b"HTTP/1.1 ");
        // Three digits (checked above).
        out.put_slice(&[b'0' + (status / 100) as u8, b'0' + (status / 10 % 10) as u8, b'0' + (status % 10) as u8]);
        out.put_u8(b' ');
        out.put_slice(reason.as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(lines.as_bytes());
        if !bodiless {
            if self.header_value("content-length").is_none() {
                // Writing to a BytesMut cannot fail.
                let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
            }
            out.put_slice(b"\r\n");
            out.put_slice(&self.body);
        } else {
            out.put_slice(b"\r\n");
        }
    }

    /// The encoded response (see [`Response::encode`]).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }

    /// A response parsed off the wire: headers as received, without the checks of
    /// [`Response::header`] (httparse already refused what those would).
    pub(super) fn from_parts(status: u16, headers: HeaderList) -> Response {
        Response { status, headers, body: Bytes::new() }
    }
}

impl Default for Response {
    /// An empty 200 OK.
    fn default() -> Self {
        Response::new(200)
    }
}

/// The standard reason phrase (RFC 9110 §15), or "" for a status it does not define (the
/// reason phrase may be empty, RFC 9112 §4).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(res: &Response) -> String {
        String::from_utf8(res.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn rfc6455_1_3_switching_protocols() {
        let upgrade =
            Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==".into(), protocols: vec!["chat".into()], extensions: vec![] };
        let res = Response::switching_protocols(&upgrade, Some("chat"), Some("permessage-deflate"));
        assert_eq!(
            encoded(&res),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        );
    }

    #[test]
    fn switching_protocols_without_options_has_no_extra_headers() {
        let upgrade = Upgrade { key: "dGhlIHNhbXBsZSBub25jZQ==".into(), protocols: vec![], extensions: vec![] };
        let res = Response::switching_protocols(&upgrade, None, None);
        assert_eq!(res.headers().count(), 3);
        assert_eq!(res.header_value("sec-websocket-protocol"), None);
        assert_eq!(res.header_value("sec-websocket-extensions"), None);
    }

    #[test]
    fn bodiless_statuses_get_no_length_and_no_body() {
        for status in [101, 204, 304] {
            let mut res = Response::new(status);
            res.set_body("must not be sent");
            let text = encoded(&res);
            assert!(!text.contains("Content-Length"), "{text}");
            assert!(text.ends_with("\r\n\r\n"), "{text}");
        }
    }

    #[test]
    fn content_length_is_added_unless_set() {
        let mut res = Response::new(404);
        res.set_body("nope");
        assert_eq!(encoded(&res), "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
        res.set_header("content-length", "4");
        assert_eq!(encoded(&res), "HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope");
        assert_eq!(encoded(&Response::default()), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn unknown_status_has_empty_reason_and_invalid_status_becomes_500() {
        assert!(encoded(&Response::new(599)).starts_with("HTTP/1.1 599 \r\n"));
        assert!(encoded(&Response::new(1000)).starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        assert!(encoded(&Response::new(42)).starts_with("HTTP/1.1 500 "));
    }

    #[test]
    fn header_injection_is_refused() {
        let mut res = Response::new(200);
        res.header("X-A", "1\r\nSet-Cookie: admin=1")
            .header("X-B", "1\nx")
            .header("X-C\r\nSet-Cookie", "1")
            .header("X D", "1")
            .header("", "1")
            .header("X-Ok", "fine");
        assert_eq!(res.headers().collect::<Vec<_>>(), [("X-Ok", "fine")]);
        res.set_header("x-ok", "bad\r\n");
        assert_eq!(res.header_value("X-OK"), Some("fine"));
    }

    #[test]
    fn set_header_replaces_case_insensitively_and_remove_removes() {
        let mut res = Response::new(200);
        res.header("X-Tag", "1").header("x-tag", "2").header("Other", "o");
        res.set_header("X-TAG", "3");
        assert_eq!(res.headers().collect::<Vec<_>>(), [("Other", "o"), ("X-TAG", "3")]);
        res.remove_header("x-tag");
        assert_eq!(res.header_value("x-tag"), None);
        res.set_status(201);
        assert_eq!(res.status(), 201);
    }

    #[test]
    fn rejection_names_the_error_and_closes() {
        let res = Response::reject(&HandshakeError::MissingHost);
        assert_eq!(res.status(), 400);
        assert_eq!(res.header_value("connection"), Some("close"));
        assert_eq!(res.header_value("sec-websocket-version"), None);
        assert_eq!(&res.body()[..], b"missing Host header\n");
        let text = encoded(&res);
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(text.contains("Content-Length: 20\r\n"), "{text}");

        let res = Response::reject(&HandshakeError::UnsupportedVersion);
        assert!(encoded(&res).starts_with("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn encode_appends() {
        let mut out = BytesMut::from(&b"before"[..]);
        Response::new(204).encode(&mut out);
        assert_eq!(&out[..], b"beforeHTTP/1.1 204 No Content\r\n\r\n");
    }
}
