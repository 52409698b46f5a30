//! RFC 7692 (permessage-deflate): the worked examples of §7.2.3, negotiation tables for
//! both roles, round trips under every parameter combination, and decompression bombs.

use bytes::BytesMut;
use proptest::prelude::*;
use ws_proto::deflate::{Compressor, Decompressor, DeflateConfig, DeflateParams, compress_once};
use ws_proto::{HandshakeError, ProtocolError, Role};

const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn params(server_bits: u8, client_bits: u8, server_nct: bool, client_nct: bool) -> DeflateParams {
    DeflateParams::new(server_bits, client_bits)
        .unwrap()
        .with_server_no_context_takeover(server_nct)
        .with_client_no_context_takeover(client_nct)
}

/// Inflates one message given as payload pieces (the last one with `fin`).
fn inflate(decompressor: &mut Decompressor, pieces: &[&[u8]], limit: usize) -> Result<Vec<u8>, ProtocolError> {
    let mut out = BytesMut::new();
    for (i, piece) in pieces.iter().enumerate() {
        decompressor.decompress(piece, i + 1 == pieces.len(), &mut out, limit)?;
    }
    Ok(out.to_vec())
}

fn compress(compressor: &mut Compressor, data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    compressor.compress(data, true, &mut out);
    out.to_vec()
}

// ---- §7.2.3: the worked examples ----

#[test]
fn rfc7692_7_2_3_1_hello() {
    let p = DeflateParams::default();
    assert_eq!(compress(&mut Compressor::new(&p, Role::Server, 6, 8), b"Hello"), HELLO);
    assert_eq!(&compress_once(b"Hello", 15, 6)[..], HELLO);
    assert_eq!(inflate(&mut Decompressor::new(&p, Role::Client), &[&HELLO], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_1_hello_fragmented() {
    // The same payload sent as two frames: f2 48 cd | c9 c9 07 00.
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
    assert_eq!(inflate(&mut decompressor, &[&HELLO[..3], &HELLO[3..]], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_2_shared_window() {
    let p = DeflateParams::default();
    let mut compressor = Compressor::new(&p, Role::Server, 6, 8);
    assert_eq!(compress(&mut compressor, b"Hello"), HELLO);
    assert_eq!(compress(&mut compressor, b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
    let mut decompressor = Decompressor::new(&p, Role::Client);
    assert_eq!(inflate(&mut decompressor, &[&HELLO], 5).unwrap(), b"Hello");
    assert_eq!(inflate(&mut decompressor, &[&[0xf2, 0x00, 0x11, 0x00, 0x00]], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_2_no_context_takeover_repeats_the_first_payload() {
    let p = params(15, 15, true, true);
    let mut compressor = Compressor::new(&p, Role::Server, 6, 8);
    let mut decompressor = Decompressor::new(&p, Role::Client);
    for _ in 0..3 {
        assert_eq!(compress(&mut compressor, b"Hello"), HELLO);
        assert_eq!(inflate(&mut decompressor, &[&HELLO], 5).unwrap(), b"Hello");
        assert!(!compressor.has_state() && !decompressor.has_state());
    }
}

#[test]
fn rfc7692_7_2_3_3_no_compression_block() {
    let payload = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
    assert_eq!(inflate(&mut decompressor, &[&payload], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_4_bfinal_block() {
    // With the trailing 00 the RFC adds, and without it; each time the stream ends and the
    // next message starts a new one, also with context takeover.
    let with_trailer = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
    for payload in [&with_trailer[..], &with_trailer[..7], &with_trailer[..]] {
        assert_eq!(inflate(&mut decompressor, &[payload], 5).unwrap(), b"Hello");
        assert_eq!(inflate(&mut decompressor, &[&HELLO], 5).unwrap(), b"Hello");
    }
    assert_eq!(inflate(&mut decompressor, &[&with_trailer[..7], &[]], 5).unwrap(), b"Hello");
    assert_eq!(inflate(&mut decompressor, &[&HELLO], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_5_two_deflate_blocks() {
    let payload = [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
    assert_eq!(inflate(&mut decompressor, &[&payload], 5).unwrap(), b"Hello");
    for split in 0..payload.len() {
        let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
        let (head, tail) = payload.split_at(split);
        assert_eq!(inflate(&mut decompressor, &[head, tail], 5).unwrap(), b"Hello");
    }
}

#[test]
fn rfc7692_7_2_3_6_empty_fragment() {
    let p = DeflateParams::default();
    let mut compressor = Compressor::new(&p, Role::Client, 6, 8);
    let (mut first, mut last) = (BytesMut::new(), BytesMut::new());
    compressor.compress(b"Hello", false, &mut first);
    compressor.compress(b"", true, &mut last);
    assert!(first.ends_with(&[0x00, 0x00, 0xff, 0xff]));
    assert_eq!(&last[..], [0x00]);
    let mut decompressor = Decompressor::new(&p, Role::Server);
    assert_eq!(inflate(&mut decompressor, &[&first, &last], 5).unwrap(), b"Hello");
    assert_eq!(inflate(&mut decompressor, &[&compress(&mut compressor, b"Hello")], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_1_empty_message_is_one_zero_byte() {
    let p = DeflateParams::default();
    let mut compressor = Compressor::new(&p, Role::Server, 6, 8);
    assert_eq!(compress(&mut compressor, b""), [0x00]);
    assert_eq!(&compress_once(b"", 15, 6)[..], [0x00]);
    let mut decompressor = Decompressor::new(&p, Role::Client);
    assert_eq!(inflate(&mut decompressor, &[&[0x00]], 0).unwrap(), b"");
    assert_eq!(inflate(&mut decompressor, &[&HELLO], 5).unwrap(), b"Hello");
}

#[test]
fn rfc7692_8_corrupt_data_is_invalid() {
    // BTYPE 11 is reserved; a distance before the start of the window; a bad stored length.
    for payload in [&[0xff_u8, 0xff, 0xff][..], &[0x02, 0x02, 0x00], &[0x00, 0x05, 0x00, 0xfb, 0xff, 0x48]] {
        let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
        assert_eq!(
            inflate(&mut decompressor, &[payload], 100),
            Err(ProtocolError::InvalidCompressedData),
            "{payload:02x?}"
        );
    }
}

// ---- limits and bombs ----

#[test]
fn bomb_stops_at_the_limit_without_growing_memory() {
    const LIMIT: usize = 1 << 20;
    let zeros = vec![0u8; 10 << 20];
    let bomb = compress_once(&zeros, 15, 9);
    assert!(bomb.len() < 16 * 1024, "bomb of {} bytes", bomb.len());
    for chunk in [bomb.len(), 1024, 7] {
        let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Server);
        let mut out = BytesMut::new();
        let mut result = Ok(());
        let pieces: Vec<&[u8]> = bomb.chunks(chunk).collect();
        for (i, piece) in pieces.iter().enumerate() {
            result = decompressor.decompress(piece, i + 1 == pieces.len(), &mut out, LIMIT);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ProtocolError::MessageTooBig { limit: LIMIT }));
        assert_eq!(out.len(), LIMIT);
        assert!(out.capacity() <= 2 * (LIMIT + 64 * 1024), "capacity {}", out.capacity());
    }
}

#[test]
fn limit_counts_the_whole_message_across_pieces() {
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let wire = compress_once(&data, 15, 6);
    let pieces: Vec<&[u8]> = wire.chunks(100).collect();
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Client);
    assert_eq!(inflate(&mut decompressor, &pieces, 2999), Err(ProtocolError::MessageTooBig { limit: 2999 }));
    let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Client);
    assert_eq!(inflate(&mut decompressor, &pieces, 3000).unwrap(), data);
    // The count starts again with each message.
    assert_eq!(inflate(&mut decompressor, &[&compress_once(&data, 15, 6)], 3000).unwrap(), data);
}

// ---- §7.1: the server's choice among offers ----

/// One row: the offer header values, the server config, and the response (or a decline).
macro_rules! negotiate {
    ($($name:ident: [$($offer:expr),* $(,)?], $config:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let offers: &[&str] = &[$($offer),*];
            let expected: Option<&str> = $expected;
            let result = DeflateParams::negotiate(offers, &$config);
            assert_eq!(result.as_ref().map(|(_, response)| response.as_str()), expected, "offers {offers:?}");
            if let Some((params, response)) = result {
                assert_eq!(DeflateParams::from_own_response(&[&response]), Some(params));
                assert_eq!(params.to_string(), response);
            }
        }
    )*};
}

fn default() -> DeflateConfig {
    DeflateConfig::default()
}

fn server_nct() -> DeflateConfig {
    DeflateConfig { server_no_context_takeover: true, ..default() }
}

fn client_nct() -> DeflateConfig {
    DeflateConfig { client_no_context_takeover: true, ..default() }
}

fn server_bits(bits: u8) -> DeflateConfig {
    DeflateConfig { server_max_window_bits: bits, ..default() }
}

fn client_bits(bits: u8) -> DeflateConfig {
    DeflateConfig { client_max_window_bits: bits, ..default() }
}

negotiate! {
    offer_plain: ["permessage-deflate"], default() => Some("permessage-deflate");
    offer_none: [], default() => None;
    offer_other_extension_only: ["x-webkit-deflate-frame"], default() => None;
    offer_case_insensitive: ["PerMessage-Deflate; Server_No_Context_Takeover"], default()
        => Some("permessage-deflate; server_no_context_takeover");
    offer_whitespace: ["  permessage-deflate ;\tclient_max_window_bits = 10 , "], default()
        => Some("permessage-deflate; client_max_window_bits=10");
    offer_client_bits_without_value: ["permessage-deflate; client_max_window_bits"], default()
        => Some("permessage-deflate");
    offer_client_bits_10: ["permessage-deflate; client_max_window_bits=10"], default()
        => Some("permessage-deflate; client_max_window_bits=10");
    offer_client_bits_quoted: ["permessage-deflate; client_max_window_bits=\"10\""], default()
        => Some("permessage-deflate; client_max_window_bits=10");
    offer_client_bits_quoted_escaped: ["permessage-deflate; client_max_window_bits=\"1\\0\""], default()
        => Some("permessage-deflate; client_max_window_bits=10");
    offer_client_bits_8: ["permessage-deflate; client_max_window_bits=8"], default()
        => Some("permessage-deflate; client_max_window_bits=8");
    offer_server_bits_10: ["permessage-deflate; server_max_window_bits=10"], default()
        => Some("permessage-deflate; server_max_window_bits=10");
    offer_server_bits_quoted_8: ["permessage-deflate; server_max_window_bits=\"8\""], default()
        => Some("permessage-deflate; server_max_window_bits=8");
    offer_server_nct: ["permessage-deflate; server_no_context_takeover"], default()
        => Some("permessage-deflate; server_no_context_takeover");
    offer_client_nct_is_agreed: ["permessage-deflate; client_no_context_takeover"], default()
        => Some("permessage-deflate; client_no_context_takeover");
    offer_everything: [
        "permessage-deflate; client_max_window_bits=12; server_max_window_bits=9; \
         client_no_context_takeover; server_no_context_takeover"
    ], default() => Some(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9; client_max_window_bits=12"
    );

    decline_server_bits_without_value: ["permessage-deflate; server_max_window_bits"], default() => None;
    decline_server_bits_7: ["permessage-deflate; server_max_window_bits=7"], default() => None;
    decline_server_bits_16: ["permessage-deflate; server_max_window_bits=16"], default() => None;
    decline_server_bits_leading_zero: ["permessage-deflate; server_max_window_bits=09"], default() => None;
    decline_server_bits_not_a_number: ["permessage-deflate; server_max_window_bits=ten"], default() => None;
    decline_client_bits_7: ["permessage-deflate; client_max_window_bits=7"], default() => None;
    decline_client_bits_16: ["permessage-deflate; client_max_window_bits=\"16\""], default() => None;
    decline_client_bits_empty_quotes: ["permessage-deflate; client_max_window_bits=\"\""], default() => None;
    decline_value_on_server_nct: ["permessage-deflate; server_no_context_takeover=1"], default() => None;
    decline_value_on_client_nct: ["permessage-deflate; client_no_context_takeover=\"x\""], default() => None;
    decline_duplicate_server_nct: ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
        default() => None;
    decline_duplicate_client_bits: ["permessage-deflate; client_max_window_bits; client_max_window_bits=10"],
        default() => None;
    decline_duplicate_server_bits: ["permessage-deflate; server_max_window_bits=10; server_max_window_bits=10"],
        default() => None;
    decline_unknown_param: ["permessage-deflate; foo"], default() => None;
    decline_unknown_param_with_value: ["permessage-deflate; max_window_bits=10"], default() => None;
    decline_trailing_semicolon: ["permessage-deflate;"], default() => None;
    decline_unterminated_quote: ["permessage-deflate; client_max_window_bits=\"10"], default() => None;
    decline_quoted_non_token: ["permessage-deflate; client_max_window_bits=\"1 0\""], default() => None;

    first_declined_second_accepted: [
        "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits"
    ], default() => Some("permessage-deflate");
    first_declined_in_another_header: [
        "x-foo, permessage-deflate; bogus",
        "permessage-deflate; server_no_context_takeover",
    ], default() => Some("permessage-deflate; server_no_context_takeover");
    malformed_with_quoted_comma_then_accepted: [
        "permessage-deflate; x=\"a,b\", permessage-deflate; client_max_window_bits=9"
    ], default() => Some("permessage-deflate; client_max_window_bits=9");
    first_acceptable_wins: [
        "permessage-deflate; client_max_window_bits=9, permessage-deflate"
    ], default() => Some("permessage-deflate; client_max_window_bits=9");
    all_declined: ["permessage-deflate; a, permessage-deflate; b", "permessage-deflate; c"], default() => None;

    config_server_nct: ["permessage-deflate"], server_nct() => Some("permessage-deflate; server_no_context_takeover");
    config_client_nct: ["permessage-deflate"], client_nct() => Some("permessage-deflate; client_no_context_takeover");
    config_server_bits_not_offered: ["permessage-deflate"], server_bits(10)
        => Some("permessage-deflate; server_max_window_bits=10");
    config_server_bits_offered_larger: ["permessage-deflate; server_max_window_bits=12"], server_bits(10)
        => Some("permessage-deflate; server_max_window_bits=10");
    config_server_bits_offered_smaller: ["permessage-deflate; server_max_window_bits=9"], server_bits(10)
        => Some("permessage-deflate; server_max_window_bits=9");
    config_client_bits_not_offered: ["permessage-deflate"], client_bits(10) => None;
    config_client_bits_offered_without_value: ["permessage-deflate; client_max_window_bits"], client_bits(10)
        => Some("permessage-deflate; client_max_window_bits=10");
    config_client_bits_offered_larger: ["permessage-deflate; client_max_window_bits=12"], client_bits(10)
        => Some("permessage-deflate; client_max_window_bits=10");
    config_client_bits_offered_smaller: ["permessage-deflate; client_max_window_bits=9"], client_bits(10)
        => Some("permessage-deflate; client_max_window_bits=9");
    config_client_bits_second_offer: ["permessage-deflate", "permessage-deflate; client_max_window_bits"],
        client_bits(10) => Some("permessage-deflate; client_max_window_bits=10");
    config_out_of_range_is_clamped: ["permessage-deflate"], server_bits(4) => Some("permessage-deflate; server_max_window_bits=8");
}

#[test]
fn negotiated_params_follow_the_response() {
    let (p, _) = DeflateParams::negotiate(
        &["permessage-deflate; server_max_window_bits=9; client_max_window_bits=12; client_no_context_takeover"],
        &server_nct(),
    )
    .unwrap();
    assert_eq!(p, params(9, 12, true, true));
}

// ---- §7.1: the client's offer and its check of the response ----

#[test]
fn offer_from_config() {
    assert_eq!(DeflateParams::offer(&default()), "permessage-deflate; client_max_window_bits");
    let all = DeflateConfig {
        server_max_window_bits: 9,
        client_max_window_bits: 12,
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..default()
    };
    assert_eq!(
        DeflateParams::offer(&all),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; \
         client_max_window_bits=12"
    );
}

/// One row: the server's response header values, what the client offered, and the result.
macro_rules! response {
    ($($name:ident: [$($value:expr),* $(,)?], $offered:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let values: &[&str] = &[$($value),*];
            let expected: Result<Option<DeflateParams>, HandshakeError> = $expected;
            assert_eq!(DeflateParams::from_response(values, &$offered), expected, "response {values:?}");
        }
    )*};
}

const INVALID: Result<Option<DeflateParams>, HandshakeError> = Err(HandshakeError::InvalidExtension);

response! {
    response_none: [], default() => Ok(None);
    response_empty_value: [""], default() => Ok(None);
    response_plain: ["permessage-deflate"], default() => Ok(Some(params(15, 15, false, false)));
    response_server_nct: ["permessage-deflate; server_no_context_takeover"], default()
        => Ok(Some(params(15, 15, true, false)));
    response_client_nct: ["permessage-deflate; client_no_context_takeover"], default()
        => Ok(Some(params(15, 15, false, true)));
    response_client_bits: ["permessage-deflate; client_max_window_bits=10"], default()
        => Ok(Some(params(15, 10, false, false)));
    response_client_bits_quoted: ["permessage-deflate; client_max_window_bits=\"8\""], default()
        => Ok(Some(params(15, 8, false, false)));
    response_server_bits_unasked: ["permessage-deflate; server_max_window_bits=10"], default()
        => Ok(Some(params(10, 15, false, false)));
    response_everything: [
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; \
         client_max_window_bits=12"
    ], default() => Ok(Some(params(9, 12, true, true)));

    response_other_extension: ["x-webkit-deflate-frame"], default() => INVALID;
    response_other_extension_too: ["permessage-deflate, x-foo"], default() => INVALID;
    response_two_in_one_value: ["permessage-deflate, permessage-deflate"], default() => INVALID;
    response_two_values: ["permessage-deflate", "permessage-deflate"], default() => INVALID;
    response_client_bits_without_value: ["permessage-deflate; client_max_window_bits"], default() => INVALID;
    response_client_bits_7: ["permessage-deflate; client_max_window_bits=7"], default() => INVALID;
    response_server_bits_16: ["permessage-deflate; server_max_window_bits=16"], default() => INVALID;
    response_server_bits_without_value: ["permessage-deflate; server_max_window_bits"], default() => INVALID;
    response_unknown_param: ["permessage-deflate; foo"], default() => INVALID;
    response_duplicate: ["permessage-deflate; server_no_context_takeover; server_no_context_takeover"], default()
        => INVALID;
    response_value_on_nct: ["permessage-deflate; client_no_context_takeover=1"], default() => INVALID;
    response_malformed: ["permessage-deflate; "], default() => INVALID;

    response_omits_asked_server_bits: ["permessage-deflate"], server_bits(10) => INVALID;
    response_raises_asked_server_bits: ["permessage-deflate; server_max_window_bits=11"], server_bits(10) => INVALID;
    response_meets_asked_server_bits: ["permessage-deflate; server_max_window_bits=10"], server_bits(10)
        => Ok(Some(params(10, 15, false, false)));
    response_lowers_asked_server_bits: ["permessage-deflate; server_max_window_bits=9"], server_bits(10)
        => Ok(Some(params(9, 15, false, false)));
    response_omits_asked_server_nct: ["permessage-deflate"], server_nct() => INVALID;
    response_echoes_asked_server_nct: ["permessage-deflate; server_no_context_takeover"], server_nct()
        => Ok(Some(params(15, 15, true, false)));
    response_omits_offered_client_nct: ["permessage-deflate"], client_nct() => Ok(Some(params(15, 15, false, true)));
    response_omits_offered_client_bits: ["permessage-deflate"], client_bits(10)
        => Ok(Some(params(15, 10, false, false)));
    response_raises_offered_client_bits: ["permessage-deflate; client_max_window_bits=12"], client_bits(10)
        => Ok(Some(params(15, 10, false, false)));
}

#[test]
fn own_response() {
    assert_eq!(DeflateParams::from_own_response(&[]), None);
    assert_eq!(DeflateParams::from_own_response(&["x-foo"]), None);
    assert_eq!(DeflateParams::from_own_response(&["x-foo, permessage-deflate"]), Some(params(15, 15, false, false)));
    assert_eq!(
        DeflateParams::from_own_response(&[
            "permessage-deflate; client_max_window_bits=10; server_no_context_takeover"
        ]),
        Some(params(15, 10, true, false))
    );
    assert_eq!(DeflateParams::from_own_response(&["permessage-deflate; client_max_window_bits"]), None);
    assert_eq!(DeflateParams::from_own_response(&["permessage-deflate", "permessage-deflate"]), None);
    assert_eq!(DeflateParams::from_own_response(&["permessage-deflate; foo"]), None);
}

// ---- properties ----

fn any_params() -> impl Strategy<Value = DeflateParams> {
    (8u8..=15, 8u8..=15, any::<bool>(), any::<bool>()).prop_map(|(s, c, snct, cnct)| params(s, c, snct, cnct))
}

fn any_message() -> impl Strategy<Value = Vec<u8>> {
    const WORDS: &[&str] = &["Hello", " ", "world", "{\"id\":", "42", "}", "\n", "permessage-deflate", "aaaaaaaa"];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2000),
        prop::collection::vec(0u8..3, 0..6000),
        prop::collection::vec(prop::sample::select(WORDS), 0..400).prop_map(|words| words.concat().into_bytes()),
    ]
}

/// Splits `data` at the given points (sorted, deduplicated), always into at least one piece.
fn split<'a>(data: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(data.len() + 1)).collect();
    points.sort_unstable();
    points.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points {
        pieces.push(&data[start..point]);
        start = point;
    }
    pieces.push(&data[start..]);
    pieces
}

type Cuts = Vec<prop::sample::Index>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip_under_every_parameter_combination(
        p in any_params(),
        sender_is_server in any::<bool>(),
        level in 0u32..=9,
        messages in prop::collection::vec((any_message(), prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            prop::collection::vec(any::<prop::sample::Index>(), 0..6)), 1..5),
    ) {
        let (sender, receiver) = if sender_is_server { (Role::Server, Role::Client) } else { (Role::Client, Role::Server) };
        let mut compressor = Compressor::new(&p, sender, level, 8);
        let mut decompressor = Decompressor::new(&p, receiver);
        for (message, send_cuts, receive_cuts) in &messages {
            let send_cuts: &Cuts = send_cuts;
            let pieces = split(message, send_cuts);
            let mut wire = BytesMut::new();
            for (i, piece) in pieces.iter().enumerate() {
                compressor.compress(piece, i + 1 == pieces.len(), &mut wire);
            }
            prop_assert_eq!(compressor.has_state(), compressor.has_context_takeover());
            let chunks = split(&wire, receive_cuts);
            let inflated = inflate(&mut decompressor, &chunks, message.len());
            prop_assert_eq!(inflated.as_deref(), Ok(&message[..]));
            let peer_nct = if sender_is_server { p.server_no_context_takeover() } else { p.client_no_context_takeover() };
            if peer_nct {
                prop_assert!(!decompressor.has_state());
            }
        }
    }

    #[test]
    fn compress_once_matches_a_compressor_without_context_takeover(
        message in any_message(),
        bits in 8u8..=15,
        level in 0u32..=9,
    ) {
        let p = params(bits, bits, true, true);
        let mut compressor = Compressor::new(&p, Role::Server, level, 8);
        let once = compress_once(&message, bits, level);
        prop_assert_eq!(&compress(&mut compressor, &message)[..], &once[..]);
        prop_assert_eq!(&compress(&mut compressor, &message)[..], &once[..]);
        let inflated = inflate(&mut Decompressor::new(&p, Role::Client), &[&once], message.len());
        prop_assert_eq!(inflated.as_deref(), Ok(&message[..]));
    }

    #[test]
    fn arbitrary_input_inflates_within_the_limit_or_fails(
        input in prop::collection::vec(any::<u8>(), 0..512),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        limit in 0usize..4096,
        p in any_params(),
    ) {
        let mut decompressor = Decompressor::new(&p, Role::Server);
        let chunks = split(&input, &cuts);
        let mut out = BytesMut::new();
        for (i, chunk) in chunks.iter().enumerate() {
            if decompressor.decompress(chunk, i + 1 == chunks.len(), &mut out, limit).is_err() {
                break;
            }
            prop_assert!(out.len() <= limit);
        }
        prop_assert!(out.len() <= limit);
    }

    #[test]
    fn own_offer_is_always_agreed_alike(
        client in any_config(),
        server in any_config(),
    ) {
        let offer = DeflateParams::offer(&client);
        let agreed = DeflateParams::negotiate(&[&offer], &server);
        prop_assert!(agreed.is_some(), "offer {} declined", offer);
        if let Some((server_params, response)) = agreed {
            prop_assert_eq!(DeflateParams::from_response(&[&response], &client), Ok(Some(server_params)));
        }
    }

    #[test]
    fn negotiation_never_panics(offer in "[a-z_=;,\" \\\\0-9-]{0,80}", response in "[a-z_=;,\" 0-9-]{0,80}") {
        let _ = DeflateParams::negotiate(&[&offer, "permessage-deflate; client_max_window_bits=\"9\""], &default());
        let _ = DeflateParams::from_response(&[&response], &default());
        let _ = DeflateParams::from_own_response(&[&response]);
    }
}

fn any_config() -> impl Strategy<Value = DeflateConfig> {
    (8u8..=15, 8u8..=15, any::<bool>(), any::<bool>()).prop_map(|(s, c, snct, cnct)| DeflateConfig {
        server_max_window_bits: s,
        client_max_window_bits: c,
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        ..default()
    })
}
