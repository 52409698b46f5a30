//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.1, §4.2.2).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// The GUID a server appends to the client's key before hashing (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`: base64 of the SHA-1 of the
/// key followed by [`WEBSOCKET_GUID`] (RFC 6455 §4.2.2 item 5.4).
///
/// The key is used as given (already trimmed by the parser); it is not decoded here.
///
/// # Example
/// ```
/// // The worked example of RFC 6455 §1.3.
/// use ws_proto::handshake::accept_key;
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// Whether `key` is base64 (with padding) of exactly 16 bytes (RFC 6455 §4.2.1 item 5).
pub(super) fn is_valid_key(key: &str) -> bool {
    // 16 bytes are 24 base64 characters; anything longer is refused before decoding.
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|nonce| nonce.len() == KEY_LEN)
}

/// The `Sec-WebSocket-Key` for a 16-byte nonce (RFC 6455 §4.1 item 7).
pub(super) fn encode_key(nonce: &[u8; KEY_LEN]) -> String {
    STANDARD.encode(nonce)
}

/// Length of the decoded `Sec-WebSocket-Key` nonce (RFC 6455 §4.1 item 7).
pub(super) const KEY_LEN: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_1_3_accept_key() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn keys_must_decode_to_16_bytes() {
        assert!(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(&encode_key(&[0xff; 16])));
        assert!(!is_valid_key(&STANDARD.encode([1u8; 15])));
        assert!(!is_valid_key(&STANDARD.encode([1u8; 17])));
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ")); // padding missing
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZ!=="));
        assert!(!is_valid_key(""));
    }

    #[test]
    fn encoded_key_round_trips() {
        let nonce = *b"0123456789abcdef";
        assert_eq!(STANDARD.decode(encode_key(&nonce)).unwrap(), nonce);
    }
}
