//! The opening handshake end to end: RFC 6455 §1.3 and §4 vectors, a rejection table, the
//! client/server round trip, and incremental parsing under any split.

use proptest::prelude::*;
use ws_proto::HandshakeError;
use ws_proto::handshake::{
    ClientRequest, HttpLimits, Response, accept_key, parse_request, parse_response, select_protocol, validate_upgrade,
    verify_response,
};

/// The example request of RFC 6455 §1.3.
const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
    Host: server.example.com\r\n\
    Upgrade: websocket\r\n\
    Connection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Origin: http://example.com\r\n\
    Sec-WebSocket-Protocol: chat, superchat\r\n\
    Sec-WebSocket-Version: 13\r\n\
    \r\n";

/// A valid upgrade with `line` removed (matched by header name prefix) and `extra` added.
fn request_with(remove: &[&str], extra: &str) -> String {
    let mut out = String::new();
    for line in RFC_REQUEST.split_inclusive("\r\n") {
        if !remove.iter().any(|name| line.to_ascii_lowercase().starts_with(&name.to_ascii_lowercase())) {
            out.push_str(line);
        }
    }
    // Put `extra` before the blank line.
    out.truncate(out.len() - 2);
    out.push_str(extra);
    out.push_str("\r\n");
    out
}

/// Parses and validates `raw` as a server would.
fn upgrade(raw: &str) -> Result<ws_proto::handshake::Upgrade, HandshakeError> {
    let head = parse_request(raw.as_bytes(), &HttpLimits::default())?.expect("complete head");
    validate_upgrade(&head.request)
}

#[test]
fn rfc6455_1_3_accept_key() {
    assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn rfc6455_1_3_example_request_is_accepted() {
    let head = parse_request(RFC_REQUEST.as_bytes(), &HttpLimits::default()).unwrap().unwrap();
    assert_eq!(head.head_len, RFC_REQUEST.len());
    assert_eq!(head.body_len, 0);
    assert_eq!(head.request.header("origin"), Some("http://example.com"));
    assert!(head.request.is_websocket_upgrade());
    let upgrade = validate_upgrade(&head.request).unwrap();
    assert_eq!(upgrade.protocols, ["chat", "superchat"]);
    let protocol = select_protocol(&upgrade.protocols, &["chat".to_string()]);
    let res = Response::switching_protocols(&upgrade, protocol.as_deref(), None);
    assert_eq!(
        &res.to_bytes()[..],
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
    );
}

/// One row per malformed (or borderline) upgrade: the request, the expected outcome, and
/// for errors the HTTP status of the rejection.
macro_rules! upgrade_table {
    ($($name:ident: $raw:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let expected: Result<(), (HandshakeError, u16)> = $expected;
            let got = upgrade(&$raw);
            match expected {
                Ok(()) => assert!(got.is_ok(), "expected success, got {got:?}"),
                Err((err, status)) => {
                    assert_eq!(got, Err(err.clone()));
                    assert_eq!(err.status(), status);
                    let res = Response::reject(&err);
                    assert_eq!(res.status(), status);
                    assert_eq!(res.header_value("connection"), Some("close"));
                    let text = String::from_utf8(res.to_bytes().to_vec()).unwrap();
                    assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
                    assert!(text.ends_with(&format!("{err}\n")), "{text}");
                    // RFC 6455 §4.4: a 426 names the versions the server speaks.
                    assert_eq!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"), status == 426, "{text}");
                }
            }
        }
    )*};
}

upgrade_table! {
    reject_post: RFC_REQUEST.replacen("GET", "POST", 1) => Err((HandshakeError::MethodNotGet, 400));
    reject_lowercase_get: RFC_REQUEST.replacen("GET", "get", 1) => Err((HandshakeError::MethodNotGet, 400));
    reject_http_1_0: RFC_REQUEST.replacen("HTTP/1.1", "HTTP/1.0", 1) => Err((HandshakeError::HttpVersion, 400));
    reject_no_host: request_with(&["host:"], "") => Err((HandshakeError::MissingHost, 400));
    reject_no_upgrade: request_with(&["upgrade:"], "") => Err((HandshakeError::MissingUpgrade, 400));
    reject_upgrade_h2c: request_with(&["upgrade:"], "Upgrade: h2c\r\n") => Err((HandshakeError::MissingUpgrade, 400));
    accept_upgrade_in_a_list: request_with(&["upgrade:"], "Upgrade: h2c, WebSocket\r\n") => Ok(());
    reject_no_connection: request_with(&["connection:"], "") => Err((HandshakeError::MissingConnectionUpgrade, 400));
    reject_connection_without_upgrade:
        request_with(&["connection:"], "Connection: keep-alive\r\n") => Err((HandshakeError::MissingConnectionUpgrade, 400));
    accept_connection_keep_alive_upgrade: request_with(&["connection:"], "Connection: keep-alive, Upgrade\r\n") => Ok(());
    accept_connection_on_two_lines:
        request_with(&["connection:"], "Connection: keep-alive\r\nConnection: upgrade\r\n") => Ok(());
    reject_key_missing: request_with(&["sec-websocket-key:"], "") => Err((HandshakeError::InvalidKey, 400));
    reject_key_of_15_bytes: request_with(&["sec-websocket-key:"], "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2Rl\r\n")
        => Err((HandshakeError::InvalidKey, 400));
    reject_key_of_17_bytes: request_with(&["sec-websocket-key:"], "Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZmc=\r\n")
        => Err((HandshakeError::InvalidKey, 400));
    reject_key_not_base64: request_with(&["sec-websocket-key:"], "Sec-WebSocket-Key: not base64 at all!!!!!\r\n")
        => Err((HandshakeError::InvalidKey, 400));
    reject_two_keys: request_with(&[], "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
        => Err((HandshakeError::InvalidKey, 400));
    reject_version_8: request_with(&["sec-websocket-version:"], "Sec-WebSocket-Version: 8\r\n")
        => Err((HandshakeError::UnsupportedVersion, 426));
    reject_version_missing: request_with(&["sec-websocket-version:"], "")
        => Err((HandshakeError::UnsupportedVersion, 426));
    reject_version_list: request_with(&["sec-websocket-version:"], "Sec-WebSocket-Version: 13, 8\r\n")
        => Err((HandshakeError::UnsupportedVersion, 426));
    reject_two_hosts: request_with(&[], "Host: other.example.com\r\n")
        => Err((HandshakeError::Malformed("more than one Host header"), 400));
    reject_chunked: request_with(&[], "Transfer-Encoding: chunked\r\n")
        => Err((HandshakeError::UnsupportedTransferEncoding, 411));
    reject_too_many_headers: request_with(&[], &"X-Filler: 1\r\n".repeat(60))
        => Err((HandshakeError::TooManyHeaders { limit: 64 }, 431));
    accept_64_headers: request_with(&[], &"X-Filler: 1\r\n".repeat(57)) => Ok(());
}

#[test]
fn head_over_the_limit_fails_even_while_incomplete() {
    let limits = HttpLimits::default();
    // 64 KiB of one header, no blank line: the client could keep dribbling forever.
    let mut raw = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
    raw.resize(64 * 1024, b'a');
    let err = parse_request(&raw, &limits).unwrap_err();
    assert_eq!(err, HandshakeError::HeadTooLarge { limit: 16 * 1024 });
    assert_eq!(err.status(), 431);
    assert_eq!(Response::reject(&err).status(), 431);
    // The same holds the moment the limit is reached, and not a byte before.
    assert_eq!(parse_request(&raw[..16 * 1024], &limits), Err(HandshakeError::HeadTooLarge { limit: 16 * 1024 }));
    assert_eq!(parse_request(&raw[..16 * 1024 - 1], &limits), Ok(None));
}

#[test]
fn query_string_is_decoded() {
    let raw = "GET /chat?message=hello%20world&x=a+b HTTP/1.1\r\nHost: h\r\n\r\n";
    let req = parse_request(raw.as_bytes(), &HttpLimits::default()).unwrap().unwrap().request;
    assert_eq!(req.path, "/chat");
    assert_eq!(req.query_string, "message=hello%20world&x=a+b");
    assert_eq!(req.get("message").as_deref(), Some("hello world"));
    assert_eq!(req.get("x").as_deref(), Some("a b"));
    assert_eq!(req.query(), [("message".to_string(), "hello world".to_string()), ("x".into(), "a b".into())]);
}

#[test]
fn plain_http_request_has_a_body_length() {
    let raw = b"POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    let head = parse_request(raw, &HttpLimits::default()).unwrap().unwrap();
    assert!(!head.request.is_websocket_upgrade());
    assert_eq!(raw.get(head.head_len..head.head_len + head.body_len), Some(&b"hello"[..]));
}

fn client() -> ClientRequest {
    ClientRequest::new("localhost:9501", "/chat?room=1", *b"0123456789abcdef")
        .protocol("v2.chat")
        .protocol("v1.chat")
        .header("Origin", "http://localhost")
}

/// Server side of the round trip: what the client's bytes get back.
fn serve(request_bytes: &[u8], supported: &[String], extensions: Option<&str>) -> Response {
    let head = parse_request(request_bytes, &HttpLimits::default()).unwrap().unwrap();
    assert_eq!(head.head_len, request_bytes.len());
    let upgrade = validate_upgrade(&head.request).unwrap();
    let protocol = select_protocol(&upgrade.protocols, supported);
    Response::switching_protocols(&upgrade, protocol.as_deref(), extensions)
}

#[test]
fn client_and_server_agree() {
    let req = client();
    let bytes = req.encode(Some("permessage-deflate; client_max_window_bits"));
    let head = parse_request(&bytes, &HttpLimits::default()).unwrap().unwrap();
    assert_eq!(head.request.path, "/chat");
    assert_eq!(head.request.get("room").as_deref(), Some("1"));
    assert_eq!(head.request.header("host"), Some("localhost:9501"));
    assert_eq!(head.request.header("origin"), Some("http://localhost"));
    let upgrade = validate_upgrade(&head.request).unwrap();
    assert_eq!(upgrade.key, req.key());
    assert_eq!(upgrade.protocols, ["v2.chat", "v1.chat"]);
    assert_eq!(upgrade.extensions, ["permessage-deflate; client_max_window_bits"]);

    // The server prefers v1.chat, so that is the answer.
    let res = serve(&bytes, &["v1.chat".into(), "v2.chat".into()], Some("permessage-deflate"));
    let mut wire = res.to_bytes().to_vec();
    wire.extend_from_slice(b"\x81\x02hi"); // a first frame right behind the head
    let (parsed, head_len) = parse_response(&wire, &HttpLimits::default()).unwrap().unwrap();
    assert_eq!(wire.get(head_len..), Some(&b"\x81\x02hi"[..]));
    assert_eq!(parsed.header_value("sec-websocket-extensions"), Some("permessage-deflate"));
    assert_eq!(verify_response(&parsed, &req), Ok(Some("v1.chat".to_string())));

    // No overlap: no protocol header, and the client accepts that.
    let res = serve(&bytes, &["other".into()], None);
    let (parsed, _) = parse_response(&res.to_bytes(), &HttpLimits::default()).unwrap().unwrap();
    assert_eq!(parsed.header_value("sec-websocket-protocol"), None);
    assert_eq!(verify_response(&parsed, &req), Ok(None));
}

/// Encodes `res`, parses it back as a client would, and verifies it against `req`.
fn client_verdict(res: &Response, req: &ClientRequest) -> Result<Option<String>, HandshakeError> {
    let (parsed, _) = parse_response(&res.to_bytes(), &HttpLimits::default())?.expect("complete head");
    verify_response(&parsed, req)
}

#[test]
fn client_rejects_a_wrong_accept() {
    let req = client();
    let other = ClientRequest::new("localhost:9501", "/chat", *b"fedcba9876543210").protocol("v2.chat");
    let res = serve(&other.encode(None), &["v2.chat".into()], None);
    assert_eq!(client_verdict(&res, &req), Err(HandshakeError::InvalidAccept));
}

#[test]
fn client_rejects_an_unexpected_protocol() {
    let req = client();
    let mut res = serve(&req.encode(None), &[], None);
    res.set_header("Sec-WebSocket-Protocol", "v3.chat");
    assert_eq!(client_verdict(&res, &req), Err(HandshakeError::UnexpectedProtocol));
}

#[test]
fn client_rejects_a_200() {
    let req = client();
    let mut res = serve(&req.encode(None), &[], None);
    res.set_status(200);
    assert_eq!(client_verdict(&res, &req), Err(HandshakeError::UnexpectedStatus(200)));
    let mut plain = Response::new(200);
    plain.set_body("<html>");
    assert_eq!(client_verdict(&plain, &req), Err(HandshakeError::UnexpectedStatus(200)));
}

proptest! {
    /// Any split of a valid upgrade into two pieces: the prefix alone is incomplete, and the
    /// whole parses the same however it arrived.
    #[test]
    fn any_split_parses_the_same(
        nonce in any::<[u8; 16]>(),
        path in "/[a-z0-9/]{0,20}(\\?[a-z0-9=&%+]{0,20})?",
        protocols in proptest::collection::vec("[a-z][a-z0-9.]{0,8}", 0..4),
        extra in proptest::collection::vec(("X-[A-Za-z]{1,8}", "[ -~]{0,20}"), 0..5),
        split in any::<prop::sample::Index>(),
    ) {
        let mut req = ClientRequest::new("example.com:8080", path, nonce);
        for p in &protocols {
            req = req.protocol(p.clone());
        }
        for (name, value) in &extra {
            req = req.header(name.clone(), value.clone());
        }
        let bytes = req.encode(Some("permessage-deflate"));
        let limits = HttpLimits::default();
        let whole = parse_request(&bytes, &limits).unwrap().unwrap();
        prop_assert_eq!(whole.head_len, bytes.len());
        prop_assert!(validate_upgrade(&whole.request).is_ok());

        let at = split.index(bytes.len());
        let (prefix, _) = bytes.split_at(at);
        prop_assert_eq!(parse_request(prefix, &limits), Ok(None));
        let mut buf = prefix.to_vec();
        buf.extend_from_slice(&bytes[at..]);
        prop_assert_eq!(parse_request(&buf, &limits), Ok(Some(whole.clone())));
        // Bytes after the head do not change it.
        buf.extend_from_slice(b"\x81\x80trailing");
        prop_assert_eq!(parse_request(&buf, &limits), Ok(Some(whole)));
    }

    /// Feeding the response head one split at a time behaves the same way.
    #[test]
    fn any_split_of_the_101_parses_the_same(nonce in any::<[u8; 16]>(), split in any::<prop::sample::Index>()) {
        let req = ClientRequest::new("h", "/", nonce).protocol("chat");
        let head = parse_request(&req.encode(None), &HttpLimits::default()).unwrap().unwrap();
        let upgrade = validate_upgrade(&head.request).unwrap();
        let wire = Response::switching_protocols(&upgrade, Some("chat"), None).to_bytes();
        let at = split.index(wire.len());
        prop_assert_eq!(parse_response(&wire[..at], &HttpLimits::default()), Ok(None));
        let (parsed, head_len) = parse_response(&wire, &HttpLimits::default()).unwrap().unwrap();
        prop_assert_eq!(head_len, wire.len());
        prop_assert_eq!(verify_response(&parsed, &req), Ok(Some("chat".to_string())));
    }
}
