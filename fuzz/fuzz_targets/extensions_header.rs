//! `DeflateParams::negotiate`, `from_response` and `from_own_response` on arbitrary
//! `Sec-WebSocket-Extensions` values under arbitrary (also out-of-range) configs.
//!
//! Input: three bytes, then text (lossy UTF-8): header values for the server to negotiate,
//! one per line, then a NUL, then header values for the client to check, one per line.
//! - byte 0: the server's config's window bits for the server (high nibble) and the client
//!   (low nibble), through `WINDOW_BITS` (8-15, then some out of range, which is clamped);
//! - byte 1: the same for the client's config;
//! - byte 2: server_no_context_takeover / client_no_context_takeover for the server's
//!   config (bits 0, 1) and the client's (bits 2, 3); bit 4: our own offer goes first.
//!
//! Invariants:
//! - nothing panics; agreed window bits are always 8-15;
//! - the server's agreement honours its config (windows at most its clamped limits,
//!   no-context-takeover when it asks), and its response string is `params.to_string()`
//!   and re-reads to the same params through `from_own_response`;
//! - our own client's offer (`DeflateParams::offer`) is always accepted by any server
//!   config, also after junk offers, and the client reads the response (`from_response`)
//!   to exactly the server's params;
//! - whatever `from_response` accepts honours the client's offer and agrees with the
//!   server's own reading of the same header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{DeflateConfig, DeflateParams, MAX_WINDOW_BITS, MIN_WINDOW_BITS};

fn clamp(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

fn valid(params: &DeflateParams) {
    for bits in [params.server_max_window_bits(), params.client_max_window_bits()] {
        assert!((MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits), "{params:?}");
    }
}

/// Window bits by nibble: in range, then out of range (which the config clamps).
const WINDOW_BITS: [u8; 16] = [8, 9, 10, 11, 12, 13, 14, 15, 0, 7, 16, 255, 8, 10, 15, 15];

fn config(bits: u8, flags: u8) -> DeflateConfig {
    DeflateConfig {
        server_max_window_bits: WINDOW_BITS[usize::from(bits >> 4)],
        client_max_window_bits: WINDOW_BITS[usize::from(bits & 15)],
        server_no_context_takeover: flags & 1 != 0,
        client_no_context_takeover: flags & 2 != 0,
        ..DeflateConfig::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let [server_bits, client_bits, flags, text @ ..] = data else { return };
    let server = config(*server_bits, *flags);
    let client = config(*client_bits, flags >> 2);
    let text = String::from_utf8_lossy(text);
    let (offers, responses) = text.split_once('\0').unwrap_or((&text, ""));
    let offer_refs: Vec<&str> = offers.split('\n').take(8).collect();
    let response_refs: Vec<&str> = responses.split('\n').take(8).collect();
    let own_offer_first = flags & 0x10 != 0;

    // The server on arbitrary offers.
    if let Some((params, response)) = DeflateParams::negotiate(&offer_refs, &server) {
        valid(&params);
        assert_eq!(response, params.to_string());
        assert_eq!(DeflateParams::from_own_response(&[&response]), Some(params));
        assert!(params.server_max_window_bits() <= clamp(server.server_max_window_bits));
        assert!(params.client_max_window_bits() <= clamp(server.client_max_window_bits));
        assert!(!server.server_no_context_takeover || params.server_no_context_takeover());
        assert!(!server.client_no_context_takeover || params.client_no_context_takeover());
    }

    // Our own client's offer, alone or behind the junk: always agreed, read back alike.
    let own = DeflateParams::offer(&client);
    let mut with_own: Vec<&str> = if own_offer_first { Vec::new() } else { offer_refs.clone() };
    with_own.push(&own);
    let (params, response) = DeflateParams::negotiate(&[&own], &server).expect("our own offer declined");
    assert_eq!(
        DeflateParams::from_response(&[&response], &client),
        Ok(Some(params)),
        "offer {own:?}, response {response:?}"
    );
    if let Some((first, response)) = DeflateParams::negotiate(&with_own, &server) {
        // An earlier junk offer may win; if ours did, the same check holds.
        if first == params {
            assert_eq!(DeflateParams::from_response(&[&response], &client), Ok(Some(params)));
        }
    } else {
        panic!("our own offer declined behind {offer_refs:?}");
    }

    // The client on arbitrary responses.
    let own_view = DeflateParams::from_own_response(&response_refs);
    if let Some(p) = own_view {
        valid(&p);
        assert_eq!(DeflateParams::from_own_response(&[&p.to_string()]), Some(p));
    }
    if let Ok(Some(p)) = DeflateParams::from_response(&response_refs, &client) {
        valid(&p);
        assert!(p.client_max_window_bits() <= clamp(client.client_max_window_bits));
        if clamp(client.server_max_window_bits) < MAX_WINDOW_BITS {
            assert!(p.server_max_window_bits() <= clamp(client.server_max_window_bits));
        }
        assert!(!client.server_no_context_takeover || p.server_no_context_takeover());
        assert!(!client.client_no_context_takeover || p.client_no_context_takeover());
        let own = own_view.expect("from_response accepted what from_own_response refuses");
        assert_eq!(own.server_max_window_bits(), p.server_max_window_bits());
        assert_eq!(own.server_no_context_takeover(), p.server_no_context_takeover());
        assert!(own.client_max_window_bits() >= p.client_max_window_bits());
        assert!(!own.client_no_context_takeover() || p.client_no_context_takeover());
    }
});
