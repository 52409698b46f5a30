//! `parse_request` + `validate_upgrade` on arbitrary bytes under tight, fuzzed `HttpLimits`.
//!
//! Input: two bytes choosing the limits, then the request bytes.
//!
//! Invariants:
//! - a parsed head never exceeds `max_head_size` nor the input, its body length never
//!   exceeds `max_body_size`, and `Ok(None)` only while under `max_head_size`;
//! - parsing is incremental: the head alone parses to the same result, and its strict
//!   prefixes to `Ok(None)` (so dribbling a head byte by byte changes nothing);
//! - an accepted upgrade gives a 101 that the client side (`parse_response`,
//!   `verify_response` with a `ClientRequest` holding the same key and the offered
//!   subprotocols, `DeflateParams::from_response`) accepts, with the same subprotocol and
//!   deflate parameters as the server's own view (`from_own_response`);
//! - every rejection encodes to a response that parses back with its status and body.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use ws_proto::HandshakeError;
use ws_proto::deflate::{DeflateConfig, DeflateParams};
use ws_proto::handshake::{
    ClientRequest, HttpLimits, Response, accept_key, parse_request, parse_response, select_protocol, validate_upgrade,
    verify_response,
};

fuzz_target!(|input: &[u8]| {
    let [a, b, data @ ..] = input else { return };
    let limits = HttpLimits {
        max_head_size: 32 + usize::from(*a) * 8,
        max_headers: 1 + usize::from(*b % 16),
        max_body_size: usize::from(*b / 16) * 64,
    };
    let head = match parse_request(data, &limits) {
        Ok(Some(head)) => head,
        Ok(None) => {
            assert!(data.len() < limits.max_head_size, "Ok(None) with {} bytes buffered", data.len());
            return;
        }
        Err(error) => {
            check_rejection(&error);
            return;
        }
    };
    assert!(head.head_len <= limits.max_head_size, "head of {} bytes over the limit", head.head_len);
    assert!(head.head_len <= data.len());
    assert!(head.body_len <= limits.max_body_size);
    assert!(head.request.headers().count() <= limits.max_headers);
    assert!(head.request.body.is_empty());
    // Incremental: the head alone is the same head; a strict prefix is not yet a head.
    assert_eq!(parse_request(&data[..head.head_len], &limits).as_ref(), Ok(&Some(head.clone())));
    for cut in [head.head_len - 1, head.head_len / 2] {
        assert_eq!(parse_request(&data[..cut], &limits), Ok(None), "prefix of {cut} bytes");
    }

    let upgrade = match validate_upgrade(&head.request) {
        Ok(upgrade) => upgrade,
        Err(error) => {
            assert!(
                !matches!(error, HandshakeError::MethodNotGet) || head.request.method != "GET",
                "a GET refused as not GET"
            );
            check_rejection(&error);
            return;
        }
    };
    assert_eq!(head.request.method, "GET");
    assert!(head.request.is_websocket_upgrade());

    // The client that would have sent this: same nonce, the offered subprotocols that are
    // tokens (a server only ever supports tokens).
    let nonce: [u8; 16] = STANDARD
        .decode(&upgrade.key)
        .ok()
        .and_then(|n| n.try_into().ok())
        .expect("validate_upgrade accepted a key that is not base64 of 16 bytes");
    let client = upgrade
        .protocols
        .iter()
        .fold(ClientRequest::new("example.com", "/", nonce), |client, p| client.protocol(p.clone()));
    assert_eq!(client.key(), upgrade.key);
    let chosen = select_protocol(&upgrade.protocols, client.protocols());
    let offers: Vec<&str> = upgrade.extensions.iter().map(String::as_str).collect();
    let deflate = DeflateParams::negotiate(&offers, &DeflateConfig::default());
    let response =
        Response::switching_protocols(&upgrade, chosen.as_deref(), deflate.as_ref().map(|(_, header)| header.as_str()));
    let bytes = response.to_bytes();

    let (parsed, len) =
        parse_response(&bytes, &HttpLimits::default()).expect("our 101 must parse").expect("our 101 must be complete");
    assert_eq!(len, bytes.len(), "a 101 has no body");
    assert_eq!(parsed.status(), 101);
    assert_eq!(parsed.header_all("sec-websocket-accept").collect::<Vec<_>>(), [accept_key(&upgrade.key)]);
    assert_eq!(verify_response(&parsed, &client), Ok(chosen.clone()));
    let values: Vec<&str> = parsed.header_all("sec-websocket-extensions").collect();
    let server_view = DeflateParams::from_own_response(&values);
    let client_view = DeflateParams::from_response(&values, &DeflateConfig::default());
    match &deflate {
        Some((params, _)) => {
            assert_eq!(server_view, Some(*params));
            assert_eq!(client_view, Ok(Some(*params)));
        }
        None => {
            assert_eq!(server_view, None);
            assert_eq!(client_view, Ok(None));
        }
    }
});

/// A rejection encodes to a response that parses back with its status and whole body.
fn check_rejection(error: &HandshakeError) {
    let bytes = Response::reject(error).to_bytes();
    let (parsed, head_len) = parse_response(&bytes, &HttpLimits::default())
        .expect("our rejection must parse")
        .expect("our rejection must be complete");
    assert_eq!(parsed.status(), error.status());
    let body_len: usize = parsed.header_value("content-length").and_then(|v| v.parse().ok()).expect("Content-Length");
    assert_eq!(head_len + body_len, bytes.len());
}
