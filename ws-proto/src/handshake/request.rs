//! The server side: HTTP/1.1 request heads (RFC 9112), and the upgrade checks of
//! RFC 6455 §4.2.1.

use bytes::Bytes;

use super::key::is_valid_key;
use super::{HeaderList, collect_headers, has_token, malformed, parse_head};
use crate::error::HandshakeError;
use crate::frame::Fd;

/// A parsed HTTP/1.1 request: a WebSocket upgrade, or plain HTTP for `on_request` (the
/// reference's `Swoole\Http\Request`).
///
/// Header names are stored lower-cased and values trimmed, in arrival order with repeats
/// kept; every lookup by name is ASCII case-insensitive.
///
/// # Example
/// ```
/// use ws_proto::handshake::{HttpLimits, parse_request};
/// let raw = b"GET /chat?room=a%20b HTTP/1.1\r\nHost: example.com\r\nX-Tag: 1\r\nx-tag: 2\r\n\r\n";
/// let req = parse_request(raw, &HttpLimits::default()).unwrap().unwrap().request;
/// assert_eq!(req.path, "/chat");
/// assert_eq!(req.get("room").as_deref(), Some("a b"));
/// assert_eq!(req.header("HOST"), Some("example.com"));
/// assert_eq!(req.header_all("X-Tag").collect::<Vec<_>>(), ["1", "2"]);
/// assert!(req.keep_alive());
/// assert!(!req.is_websocket_upgrade());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The connection the request came in on; `Fd::default()` until the server sets it.
    pub fd: Fd,
    /// The method, as sent (methods are case-sensitive, RFC 9110 §9.1).
    pub method: String,
    /// The request target up to the `?`, not decoded.
    pub path: String,
    /// The raw query after the `?`, not decoded; empty when there is none.
    pub query_string: String,
    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// The body: the `Content-Length` bytes after the head, filled in by the connection.
    pub body: Bytes,
    headers: HeaderList,
}

impl Request {
    /// A request from the parts another HTTP stack parsed (hyper or axum: the method, the
    /// request target, the header map), for `Server::upgrade_response` and
    /// `Server::serve_upgraded` (feature `server`). `target` is split at its first `?` into `path` and `query_string`;
    /// header names are lower-cased and values trimmed, as the parser does. A header whose
    /// name or value holds a line break or NUL is left out (no HTTP stack accepts one).
    /// HTTP/1.1, no body.
    ///
    /// # Example
    /// ```
    /// use ws_proto::handshake::{Request, validate_upgrade};
    /// let request = Request::from_parts("GET", "/chat?room=1", [
    ///     ("Host", "example.com"),
    ///     ("Upgrade", "websocket"),
    ///     ("Connection", "Upgrade"),
    ///     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("Sec-WebSocket-Version", "13"),
    /// ]);
    /// assert_eq!((request.path.as_str(), request.get("room").as_deref()), ("/chat", Some("1")));
    /// assert_eq!(request.header("sec-websocket-version"), Some("13"));
    /// assert!(validate_upgrade(&request).is_ok());
    /// ```
    pub fn from_parts<N: AsRef<str>, V: AsRef<str>>(
        method: impl Into<String>,
        target: &str,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let clean = |s: &str| !s.contains(['\r', '\n', '\0']);
        let mut list = HeaderList::default();
        for (name, value) in headers {
            let (name, value) = (name.as_ref(), value.as_ref());
            if clean(name) && clean(value) {
                list.push_lowercase(name.trim(), value.trim());
            }
        }
        Request {
            fd: Fd::default(),
            method: method.into(),
            path: path.to_owned(),
            query_string: query.to_owned(),
            version: 1,
            body: Bytes::new(),
            headers: list,
        }
    }

    /// The first value of header `name` (ASCII case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.first(name)
    }

    /// Every value of header `name` (ASCII case-insensitive), in arrival order; a header
    /// sent on several lines yields one item per line, a comma-separated list is not split.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.all(name)
    }

    /// Every header as (lower-case name, trimmed value), in arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter()
    }

    /// The query string as percent-decoded (name, value) pairs, in order and with repeats.
    ///
    /// As in HTML forms (`application/x-www-form-urlencoded`), `+` decodes to a space. A
    /// pair without `=` has an empty value, empty pairs (`a=1&&b=2`) are skipped, a `%` not
    /// followed by two hex digits stays as it is, and bytes that do not decode to UTF-8
    /// become U+FFFD.
    pub fn query(&self) -> Vec<(String, String)> {
        self.query_string
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect()
    }

    /// The decoded value of query parameter `key` (the reference's `$request->get['key']`).
    ///
    /// When the key repeats, the last value wins, as in PHP.
    pub fn get(&self, key: &str) -> Option<String> {
        self.query().into_iter().rev().find(|(name, _)| name == key).map(|(_, value)| value)
    }

    /// Whether the client attempts a WebSocket upgrade: an `Upgrade` header lists the
    /// `websocket` token (ASCII case-insensitive, RFC 6455 §4.2.1 item 3).
    ///
    /// This only routes the request; [`validate_upgrade`] decides whether the attempt is
    /// valid, and a request that fails it is answered with [`Response::reject`] rather than
    /// handed to `on_request`.
    ///
    /// [`Response::reject`]: super::Response::reject
    pub fn is_websocket_upgrade(&self) -> bool {
        has_token(self.header_all("upgrade"), "websocket")
    }

    /// Whether the connection stays open after the response (RFC 9112 §9.3): for HTTP/1.1
    /// unless `Connection` lists `close`, for HTTP/1.0 only if it lists `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if has_token(self.header_all("connection"), "close") {
            false
        } else if self.version >= 1 {
            true
        } else {
            has_token(self.header_all("connection"), "keep-alive")
        }
    }
}

/// Bounds on an HTTP head and body, checked while parsing so that a peer cannot make the
/// parser buffer more than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// The largest head (request or status line, headers, blank line) in bytes; 16 KiB by
    /// default.
    pub max_head_size: usize,
    /// The most header fields; 64 by default.
    pub max_headers: usize,
    /// The largest request body (`Content-Length`) in bytes; 2 MiB by default.
    pub max_body_size: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits { max_head_size: 16 * 1024, max_headers: 64, max_body_size: 2 * 1024 * 1024 }
    }
}

/// A parsed request head, with where the head ends and how long the body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The request; its `body` is empty (the caller fills it from the next `body_len`
    /// bytes).
    pub request: Request,
    /// Length of the head in bytes, blank line included: the body (or, after a 101, the
    /// first frame) starts at this offset.
    pub head_len: usize,
    /// The body length from `Content-Length`, 0 when absent; at most
    /// [`HttpLimits::max_body_size`].
    pub body_len: usize,
}

/// A validated WebSocket upgrade request: what the server needs to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The `Sec-WebSocket-Key`, as sent (base64 of 16 bytes).
    pub key: String,
    /// The subprotocols offered in `Sec-WebSocket-Protocol`, in the client's order of
    /// preference.
    pub protocols: Vec<String>,
    /// The raw `Sec-WebSocket-Extensions` values, one per header line, in order (empty
    /// lines dropped); the deflate module parses them.
    pub extensions: Vec<String>,
}

/// Parses an HTTP/1.1 request head from the bytes received so far.
///
/// Incremental: `Ok(None)` while the head is incomplete and shorter than
/// [`HttpLimits::max_head_size`]; call again with more bytes. Bytes after the head (a body,
/// a pipelined request) are left alone: the head ends at [`RequestHead::head_len`].
///
/// # Errors
/// - [`HandshakeError::HeadTooLarge`] once `max_head_size` bytes are buffered without a
///   complete head, even if the head is still incomplete.
/// - [`HandshakeError::TooManyHeaders`] for more than `max_headers` header fields.
/// - [`HandshakeError::Malformed`] for invalid HTTP, an HTTP version other than 1.0 or 1.1,
///   a header value that is not UTF-8, more than one `Host` (RFC 9112 §3.2), or a
///   `Content-Length` that is not a number or conflicts with another (RFC 9112 §6.3).
/// - [`HandshakeError::UnsupportedTransferEncoding`] for any `Transfer-Encoding`.
/// - [`HandshakeError::BodyTooLarge`] for a `Content-Length` over `max_body_size`.
///
/// # Example
/// ```
/// use ws_proto::handshake::{HttpLimits, parse_request};
/// let raw = b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nx=1";
/// let limits = HttpLimits::default();
/// assert_eq!(parse_request(&raw[..20], &limits), Ok(None));
/// let head = parse_request(raw, &limits).unwrap().unwrap();
/// assert_eq!((head.head_len, head.body_len), (raw.len() - 3, 3));
/// ```
pub fn parse_request(buf: &[u8], limits: &HttpLimits) -> Result<Option<RequestHead>, HandshakeError> {
    parse_head(buf, limits, |window, headers| {
        let mut parsed = httparse::Request::new(headers);
        let head_len = match parsed.parse(window) {
            Ok(httparse::Status::Complete(head_len)) => head_len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(err) => return Err(malformed(err, limits)),
        };
        // httparse fills all three whenever it reports a complete head.
        let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version) else {
            return Err(HandshakeError::Malformed("incomplete request line"));
        };
        let (path, query_string) = target.split_once('?').unwrap_or((target, ""));
        let request = Request {
            fd: Fd::default(),
            method: method.to_owned(),
            path: path.to_owned(),
            query_string: query_string.to_owned(),
            version,
            body: Bytes::new(),
            headers: collect_headers(parsed.headers)?,
        };
        // RFC 9112 §3.2: a request with more than one Host is answered with 400.
        if request.header_all("host").nth(1).is_some() {
            return Err(HandshakeError::Malformed("more than one Host header"));
        }
        let body_len = body_len(&request, limits)?;
        Ok(Some(RequestHead { request, head_len, body_len }))
    })
}

/// Checks a request against the opening-handshake rules of RFC 6455 §4.2.1, in the order
/// the RFC lists them, and extracts what the response needs.
///
/// # Errors
/// The first rule broken: [`HandshakeError::MethodNotGet`], [`HandshakeError::HttpVersion`],
/// [`HandshakeError::MissingHost`], [`HandshakeError::MissingUpgrade`],
/// [`HandshakeError::MissingConnectionUpgrade`], [`HandshakeError::InvalidKey`] (missing,
/// repeated, or not 16 bytes of base64), [`HandshakeError::UnsupportedVersion`] (answered
/// with 426 by [`Response::reject`]).
///
/// [`Response::reject`]: super::Response::reject
pub fn validate_upgrade(req: &Request) -> Result<Upgrade, HandshakeError> {
    // §4.2.1 item 1: an HTTP/1.1 or higher GET.
    if req.method != "GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if req.version < 1 {
        return Err(HandshakeError::HttpVersion);
    }
    // Item 2: a Host header (more than one was already refused by the parser).
    if req.header("host").is_none() {
        return Err(HandshakeError::MissingHost);
    }
    // Item 3: Upgrade lists "websocket"; item 4: Connection lists "Upgrade".
    if !req.is_websocket_upgrade() {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(req.header_all("connection"), "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // Item 5: exactly one Sec-WebSocket-Key, base64 of 16 bytes.
    let mut keys = req.header_all("sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) if is_valid_key(key) => key,
        _ => return Err(HandshakeError::InvalidKey),
    };
    // Item 6: Sec-WebSocket-Version 13, the only version this server speaks (§4.4).
    let mut versions = req.header_all("sec-websocket-version");
    if !matches!((versions.next(), versions.next()), (Some("13"), None)) {
        return Err(HandshakeError::UnsupportedVersion);
    }
    // Item 8: subprotocols, possibly over several header lines (§11.3.4).
    let protocols = req
        .header_all("sec-websocket-protocol")
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    // Item 9: extensions, parsed by the deflate module.
    let extensions = req.header_all("sec-websocket-extensions").filter(|v| !v.is_empty()).map(str::to_owned).collect();
    Ok(Upgrade { key: key.to_owned(), protocols, extensions })
}

/// Picks the subprotocol to answer with: the first of the server's `supported` list (in the
/// server's order of preference) that the client `offered`.
///
/// Matching is exact and case-sensitive, as subprotocol tokens are (RFC 6455 §4.1). `None`
/// when nothing matches: the server then omits `Sec-WebSocket-Protocol` (§4.2.2).
///
/// # Example
/// ```
/// use ws_proto::handshake::select_protocol;
/// let offered = ["v1.chat".to_string(), "v2.chat".to_string()];
/// let supported = ["v2.chat".to_string(), "v1.chat".to_string()];
/// assert_eq!(select_protocol(&offered, &supported).as_deref(), Some("v2.chat"));
/// assert_eq!(select_protocol(&offered, &["V1.CHAT".to_string()]), None);
/// ```
pub fn select_protocol(offered: &[String], supported: &[String]) -> Option<String> {
    supported.iter().find(|p| offered.contains(p)).cloned()
}

/// The body length a request declares, after the framing rules of RFC 9112 §6.
fn body_len(req: &Request, limits: &HttpLimits) -> Result<usize, HandshakeError> {
    // RFC 9112 §6.1: only Content-Length framing is implemented, so any transfer coding is
    // refused; this also rules out Transfer-Encoding/Content-Length smuggling.
    if req.header("transfer-encoding").is_some() {
        return Err(HandshakeError::UnsupportedTransferEncoding);
    }
    // RFC 9110 §8.6 / RFC 9112 §6.3 item 5: repeated or listed lengths must all agree.
    let mut declared: Option<u64> = None;
    for item in req.header_all("content-length").flat_map(|v| v.split(',')) {
        let item = item.trim();
        // `u64::from_str` alone would also take a leading '+'.
        if item.is_empty() || !item.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HandshakeError::Malformed("invalid Content-Length"));
        }
        let len = item.parse::<u64>().map_err(|_| HandshakeError::Malformed("invalid Content-Length"))?;
        if declared.is_some_and(|first| first != len) {
            return Err(HandshakeError::Malformed("conflicting Content-Length"));
        }
        declared = Some(len);
    }
    match usize::try_from(declared.unwrap_or(0)) {
        Ok(len) if len <= limits.max_body_size => Ok(len),
        _ => Err(HandshakeError::BodyTooLarge { limit: limits.max_body_size }),
    }
}

/// Decodes `%XX` escapes and `+` (a space in form encoding); anything else is kept.
fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let [first, tail @ ..] = rest {
        if let (b'%', [hi, lo, after @ ..]) = (*first, tail) {
            if let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) {
                out.push(hi << 4 | lo);
                rest = after;
                continue;
            }
        }
        out.push(if *first == b'+' { b' ' } else { *first });
        rest = tail;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of one hex digit.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn from_parts_normalises_like_the_parser_and_drops_unsafe_headers() {
        let request = super::Request::from_parts(
            "GET",
            "/a/b",
            [("X-Name ", " value "), ("X-Split", "a\r\nInjected: yes"), ("Host", "h")],
        );
        assert_eq!((request.path.as_str(), request.query_string.as_str()), ("/a/b", ""));
        assert_eq!(request.headers().collect::<Vec<_>>(), [("x-name", "value"), ("host", "h")]);
        assert_eq!(request.header("injected"), None);
    }

    use super::*;

    fn parse(raw: &str) -> Result<Option<RequestHead>, HandshakeError> {
        parse_request(raw.as_bytes(), &HttpLimits::default())
    }

    fn request(raw: &str) -> Request {
        parse(raw).unwrap().unwrap().request
    }

    #[test]
    fn request_line_and_headers_are_split_out() {
        let raw = "PUT /a/b?x=1&y HTTP/1.0\r\nHost: h\r\nX-Multi:  one \r\nx-multi: two\r\n\r\nbody";
        let head = parse(raw).unwrap().unwrap();
        assert_eq!(head.head_len, raw.len() - 4);
        assert_eq!(head.body_len, 0);
        let req = head.request;
        assert_eq!((req.method.as_str(), req.path.as_str(), req.query_string.as_str()), ("PUT", "/a/b", "x=1&y"));
        assert_eq!(req.version, 0);
        assert_eq!(req.fd, Fd::default());
        assert_eq!(req.header("x-MULTI"), Some("one"));
        assert_eq!(req.header_all("X-Multi").collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(req.headers().collect::<Vec<_>>(), [("host", "h"), ("x-multi", "one"), ("x-multi", "two")]);
        assert_eq!(req.header("absent"), None);
    }

    #[test]
    fn incomplete_head_is_none() {
        assert_eq!(parse("GET / HTTP/1.1\r\nHost: h\r\n"), Ok(None));
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn query_is_percent_decoded_with_plus_as_space() {
        let req = request("GET /chat?message=hello%20world&x=a+b&flag&&bad=%zz%4&x=last HTTP/1.1\r\n\r\n");
        assert_eq!(
            req.query(),
            [
                ("message".into(), "hello world".into()),
                ("x".into(), "a b".into()),
                ("flag".into(), String::new()),
                ("bad".into(), "%zz%4".into()),
                ("x".into(), "last".into()),
            ]
        );
        assert_eq!(req.get("message").as_deref(), Some("hello world"));
        assert_eq!(req.get("x").as_deref(), Some("last"));
        assert_eq!(req.get("missing"), None);
        assert_eq!(percent_decode("%E4%BD%A0%ff"), "你\u{fffd}");
    }

    #[test]
    fn keep_alive_follows_version_and_connection() {
        assert!(request("GET / HTTP/1.1\r\n\r\n").keep_alive());
        assert!(!request("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive());
        assert!(!request("GET / HTTP/1.0\r\n\r\n").keep_alive());
        assert!(request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
        assert!(!request("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive());
    }

    #[test]
    fn websocket_attempt_is_seen_in_any_upgrade_token() {
        assert!(request("GET / HTTP/1.1\r\nUpgrade: h2c, WebSocket\r\n\r\n").is_websocket_upgrade());
        assert!(!request("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n").is_websocket_upgrade());
        assert!(!request("GET / HTTP/1.1\r\n\r\n").is_websocket_upgrade());
    }

    #[test]
    fn content_length_sets_body_len() {
        assert_eq!(parse("POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n").unwrap().unwrap().body_len, 12);
        // Identical repeats and lists are one length (RFC 9110 §8.6).
        let same = "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n";
        assert_eq!(parse(same).unwrap().unwrap().body_len, 5);
    }

    #[test]
    fn bad_content_length_is_malformed() {
        for value in ["+5", "-1", "5 5", "", "0x10", "5,", "99999999999999999999999"] {
            let raw = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
            assert!(matches!(parse(&raw), Err(HandshakeError::Malformed(_))), "{value:?}");
        }
        let conflict = "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(parse(conflict), Err(HandshakeError::Malformed("conflicting Content-Length")));
    }

    #[test]
    fn body_over_the_limit_is_refused_from_the_header() {
        let limits = HttpLimits { max_body_size: 10, ..HttpLimits::default() };
        let ok = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n";
        assert_eq!(parse_request(ok, &limits).unwrap().unwrap().body_len, 10);
        let big = b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n";
        assert_eq!(parse_request(big, &limits), Err(HandshakeError::BodyTooLarge { limit: 10 }));
    }

    #[test]
    fn transfer_encoding_is_refused_with_411() {
        let raw = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(parse(raw), Err(HandshakeError::UnsupportedTransferEncoding));
        assert_eq!(HandshakeError::UnsupportedTransferEncoding.status(), 411);
    }

    #[test]
    fn repeated_host_is_malformed() {
        let raw = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
        assert_eq!(parse(raw), Err(HandshakeError::Malformed("more than one Host header")));
    }

    #[test]
    fn invalid_http_is_malformed() {
        assert!(matches!(parse("GET / HTTP/2.0\r\n\r\n"), Err(HandshakeError::Malformed(_))));
        assert!(matches!(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), Err(HandshakeError::Malformed(_))));
        let latin1 = b"GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n";
        assert_eq!(
            parse_request(latin1, &HttpLimits::default()),
            Err(HandshakeError::Malformed("header value is not UTF-8"))
        );
    }

    #[test]
    fn head_limit_holds_for_incomplete_heads_only_past_the_limit() {
        let limits = HttpLimits { max_head_size: 64, ..HttpLimits::default() };
        let head = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        // A complete head within the limit, followed by a long body, is fine.
        let mut with_body = head.to_vec();
        with_body.extend_from_slice(&[b'x'; 1000]);
        assert_eq!(parse_request(&with_body, &limits).unwrap().unwrap().head_len, head.len());
        // An incomplete head of exactly the limit is refused.
        let mut dribble = b"GET / HTTP/1.1\r\nX: ".to_vec();
        dribble.resize(63, b'a');
        assert_eq!(parse_request(&dribble, &limits), Ok(None));
        dribble.push(b'a');
        assert_eq!(parse_request(&dribble, &limits), Err(HandshakeError::HeadTooLarge { limit: 64 }));
    }

    #[test]
    fn header_count_limit_holds() {
        let limits = HttpLimits { max_headers: 2, ..HttpLimits::default() };
        assert!(parse_request(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", &limits).unwrap().is_some());
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &limits),
            Err(HandshakeError::TooManyHeaders { limit: 2 })
        );
        // Over the stack array's size, the parser falls back to the heap.
        let many = HttpLimits { max_headers: 100, ..HttpLimits::default() };
        let mut raw = String::from("GET / HTTP/1.1\r\n");
        for i in 0..100 {
            raw.push_str(&format!("H{i}: {i}\r\n"));
        }
        raw.push_str("\r\n");
        assert_eq!(parse_request(raw.as_bytes(), &many).unwrap().unwrap().request.headers().count(), 100);
    }

    #[test]
    fn upgrade_collects_protocols_and_extensions() {
        let req = request(concat!(
            "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
            "Sec-WebSocket-Protocol: chat, , superchat\r\nSec-WebSocket-Protocol: v3\r\n",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            "Sec-WebSocket-Extensions: x-other\r\n\r\n",
        ));
        let upgrade = validate_upgrade(&req).unwrap();
        assert_eq!(upgrade.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(upgrade.protocols, ["chat", "superchat", "v3"]);
        assert_eq!(upgrade.extensions, ["permessage-deflate; client_max_window_bits", "x-other"]);
    }

    #[test]
    fn server_preference_decides_the_protocol() {
        let offered: Vec<String> = vec!["a".into(), "b".into()];
        assert_eq!(select_protocol(&offered, &["b".into(), "a".into()]).as_deref(), Some("b"));
        assert_eq!(select_protocol(&offered, &["c".into(), "a".into()]).as_deref(), Some("a"));
        assert_eq!(select_protocol(&offered, &["A".into()]), None);
        assert_eq!(select_protocol(&[], &["a".into()]), None);
        assert_eq!(select_protocol(&offered, &[]), None);
    }
}
