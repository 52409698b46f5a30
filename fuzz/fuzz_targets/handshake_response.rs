//! `parse_response` + `verify_response` (+ `DeflateParams::from_response`) on arbitrary
//! bytes, as a client that sent the RFC 6455 §1.3 sample nonce.
//!
//! Input: one byte choosing the limits, one choosing the offered subprotocols and the
//! client's deflate config, then the response bytes. The nonce is fixed so that seeds (and
//! the fuzzer, by copying) can hold the right `Sec-WebSocket-Accept`.
//!
//! Invariants:
//! - a parsed head never exceeds `max_head_size` nor the input; `Ok(None)` only while
//!   under it; the head alone parses alike and its strict prefixes are `Ok(None)`;
//! - a verified response is a 101 with `Upgrade: websocket`, `Connection: Upgrade`,
//!   exactly one accept equal to the nonce's, and a subprotocol only if offered;
//! - deflate parameters accepted by `from_response` honour what the client offered
//!   (window limits, no-context-takeover requests) and agree with the server's own reading
//!   of the same header (`from_own_response`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{DeflateConfig, DeflateParams, MAX_WINDOW_BITS, MIN_WINDOW_BITS};
use ws_proto::handshake::{ClientRequest, HttpLimits, accept_key, parse_response, verify_response};

/// "the sample nonce" (RFC 6455 §1.3): key dGhlIHNhbXBsZSBub25jZQ==,
/// accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
const NONCE: [u8; 16] = *b"the sample nonce";
const PROTOCOLS: [&str; 3] = ["chat", "superchat", "v2.json"];

fuzz_target!(|input: &[u8]| {
    let [a, b, data @ ..] = input else { return };
    let limits = HttpLimits {
        max_head_size: 32 + usize::from(*a) * 8,
        max_headers: 1 + usize::from(*a % 16),
        ..HttpLimits::default()
    };
    let client = PROTOCOLS
        .iter()
        .enumerate()
        .filter(|(i, _)| b & (1 << i) != 0)
        .fold(ClientRequest::new("server.example.com", "/chat", NONCE), |c, (_, p)| c.protocol(*p));
    let bits = [15, 15, 10, 8];
    let config = DeflateConfig {
        server_no_context_takeover: b & 0x08 != 0,
        client_no_context_takeover: b & 0x10 != 0,
        server_max_window_bits: bits[usize::from(b >> 5 & 3)],
        client_max_window_bits: bits[usize::from(b >> 6 & 3)] + (b >> 7), // 16 and 9: clamped or not
        ..DeflateConfig::default()
    };

    let (response, head_len) = match parse_response(data, &limits) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            assert!(data.len() < limits.max_head_size, "Ok(None) with {} bytes buffered", data.len());
            return;
        }
        Err(_) => return,
    };
    assert!(head_len <= limits.max_head_size && head_len <= data.len());
    assert!(response.headers().count() <= limits.max_headers);
    assert!(response.body().is_empty());
    assert_eq!(
        parse_response(&data[..head_len], &limits).map(|r| r.map(|(r, n)| (r.status(), n))),
        Ok(Some((response.status(), head_len)))
    );
    assert_eq!(parse_response(&data[..head_len - 1], &limits), Ok(None));

    let values: Vec<&str> = response.header_all("sec-websocket-extensions").collect();
    let agreed = DeflateParams::from_response(&values, &config);
    if let Ok(Some(params)) = agreed {
        let clamp = |b: u8| b.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        for bits in [params.server_max_window_bits(), params.client_max_window_bits()] {
            assert!((MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits));
        }
        assert!(params.client_max_window_bits() <= clamp(config.client_max_window_bits));
        assert!(params.server_max_window_bits() <= clamp(config.server_max_window_bits));
        assert!(!config.server_no_context_takeover || params.server_no_context_takeover());
        assert!(!config.client_no_context_takeover || params.client_no_context_takeover());
        let own = DeflateParams::from_own_response(&values).expect("the server's view of an accepted header");
        assert_eq!(own.server_max_window_bits(), params.server_max_window_bits());
        assert_eq!(own.server_no_context_takeover(), params.server_no_context_takeover());
        assert!(own.client_max_window_bits() >= params.client_max_window_bits());
    }

    let Ok(protocol) = verify_response(&response, &client) else { return };
    assert_eq!(response.status(), 101);
    let lists = |name: &'static str, token: &str| {
        response.header_all(name).any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    assert!(lists("upgrade", "websocket"));
    assert!(lists("connection", "upgrade"));
    assert_eq!(response.header_all("sec-websocket-accept").collect::<Vec<_>>(), [accept_key(client.key())]);
    match protocol {
        Some(p) => {
            assert!(client.protocols().contains(&p));
            assert_eq!(response.header_all("sec-websocket-protocol").collect::<Vec<_>>(), [p.as_str()]);
        }
        None => assert_eq!(response.header_value("sec-websocket-protocol"), None),
    }
});
