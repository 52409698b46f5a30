//! The opening handshake (RFC 6455 §4) and plain HTTP/1.1 for `on_request`.
//!
//! Sans-IO like the rest of the crate: the parsers take whatever bytes have arrived and
//! answer `Ok(None)` until a whole head is there, and the encoders append to a buffer.
//!
//! - Server role: [`parse_request`] then [`validate_upgrade`], [`select_protocol`], and
//!   [`Response::switching_protocols`] or [`Response::reject`].
//! - Client role: [`ClientRequest::encode`], then [`parse_response`] and
//!   [`verify_response`].
//!
//! # Example
//! ```
//! use ws_proto::handshake::{
//!     ClientRequest, HttpLimits, Response, parse_request, parse_response, select_protocol,
//!     validate_upgrade, verify_response,
//! };
//!
//! let limits = HttpLimits::default();
//! let client = ClientRequest::new("example.com", "/chat", [7; 16]).protocol("chat");
//!
//! // Server: parse and validate the upgrade, pick a subprotocol, answer 101.
//! let head = parse_request(&client.encode(None), &limits).unwrap().unwrap();
//! let upgrade = validate_upgrade(&head.request).unwrap();
//! let protocol = select_protocol(&upgrade.protocols, &["chat".to_string()]);
//! let response = Response::switching_protocols(&upgrade, protocol.as_deref(), None);
//!
//! // Client: parse the 101 and check it.
//! let (parsed, _head_len) = parse_response(&response.to_bytes(), &limits).unwrap().unwrap();
//! assert_eq!(verify_response(&parsed, &client).unwrap().as_deref(), Some("chat"));
//! ```

mod client;
mod headers;
mod key;
mod request;
mod response;

pub use client::{ClientRequest, parse_response, verify_response};
pub use key::{WEBSOCKET_GUID, accept_key};
pub use request::{HttpLimits, Request, RequestHead, Upgrade, parse_request, select_protocol, validate_upgrade};
pub use response::Response;

use crate::error::HandshakeError;
use headers::{HeaderList, same_ignoring_case};

/// Whether any of `values` (each a comma-separated list, RFC 9110 §5.6.1) holds `token`,
/// compared ASCII case-insensitively.
fn has_token<'a>(mut values: impl Iterator<Item = &'a str>, token: &str) -> bool {
    values.any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|t| same_ignoring_case(trim_ows_bytes(t), token.as_bytes()))
    })
}

/// Whether `s` is a non-empty token (RFC 9110 §5.6.2), as a header name must be.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` may stand as a header value: no CR, LF or NUL (RFC 9110 §5.5), so that no
/// caller-supplied string can end the header line and smuggle another one in.
fn is_field_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0'))
}

/// Whether `name: value` can be written as one header line: the name a token, the value
/// free of line breaks. Logs a refusal at `debug` (the name only, never the value).
fn is_valid_header(name: &str, value: &str) -> bool {
    let valid = is_token(name) && is_field_value(value);
    if !valid {
        tracing::debug!(name = %name.escape_debug(), "refused a header with an invalid name or value");
    }
    valid
}

/// Lower-cased name and trimmed value of each header httparse found.
///
/// # Errors
/// [`HandshakeError::Malformed`] for a value that is not UTF-8: this crate hands headers
/// out as `&str`, and no header the handshake reads may hold anything else.
fn collect_headers(headers: &[httparse::Header<'_>]) -> Result<HeaderList, HandshakeError> {
    let bytes = headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut list = HeaderList::with_capacity(headers.len(), bytes);
    for h in headers {
        let value = std::str::from_utf8(h.value).map_err(|_| HandshakeError::Malformed("header value is not UTF-8"))?;
        list.push_lowercase(h.name, trim_ows(value));
    }
    Ok(list)
}

/// `s` without the optional whitespace (space and tab) around it (RFC 9110 §5.5).
fn trim_ows(s: &str) -> &str {
    let (start, end) = ows_bounds(s.as_bytes());
    // Space and tab are single bytes: both cuts fall between characters.
    s.get(start..end).unwrap_or_default()
}

/// `bytes` without the optional whitespace around it.
fn trim_ows_bytes(bytes: &[u8]) -> &[u8] {
    let (start, end) = ows_bounds(bytes);
    bytes.get(start..end).unwrap_or_default()
}

/// Where `bytes` starts and ends without the optional whitespace around it.
fn ows_bounds(bytes: &[u8]) -> (usize, usize) {
    let start = bytes.iter().position(|b| !is_ows(*b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_ows(*b)).map_or(start, |last| last + 1);
    (start, end)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The handshake error for an httparse error (other than too many headers).
fn malformed(err: httparse::Error, limits: &HttpLimits) -> HandshakeError {
    HandshakeError::Malformed(match err {
        httparse::Error::TooManyHeaders => return HandshakeError::TooManyHeaders { limit: limits.max_headers },
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "unsupported HTTP version",
    })
}

/// Runs `parse` over at most `max_head_size` bytes of `buf` with a header array of
/// `max_headers` entries, and applies the head-size rule shared by requests and responses.
///
/// Only the first `max_head_size` bytes are ever scanned, so a client that dribbles a
/// head byte by byte costs bounded work per call, and once that many bytes are buffered
/// without a complete head the answer is an error, not `Ok(None)`.
fn parse_head<T>(
    buf: &[u8],
    limits: &HttpLimits,
    parse: impl for<'b> FnOnce(&'b [u8], &mut [httparse::Header<'b>]) -> Result<Option<T>, HandshakeError>,
) -> Result<Option<T>, HandshakeError> {
    let window = buf.get(..limits.max_head_size).unwrap_or(buf);
    // The default limit fits on the stack; larger limits take one allocation per call.
    let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut heap;
    let headers: &mut [httparse::Header<'_>] = match stack.get_mut(..limits.max_headers) {
        Some(headers) => headers,
        None => {
            heap = vec![httparse::EMPTY_HEADER; limits.max_headers];
            &mut heap
        }
    };
    match parse(window, headers)? {
        Some(parsed) => Ok(Some(parsed)),
        None if buf.len() >= limits.max_head_size => Err(HandshakeError::HeadTooLarge { limit: limits.max_head_size }),
        None => Ok(None),
    }
}

/// Header slots kept on the stack by [`parse_head`]; the default `max_headers`.
const STACK_HEADERS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_case_insensitively_in_lists() {
        assert!(has_token(["keep-alive, Upgrade"].into_iter(), "upgrade"));
        assert!(has_token(["close", " UPGRADE "].into_iter(), "upgrade"));
        assert!(!has_token(["upgraded"].into_iter(), "upgrade"));
        assert!(!has_token(std::iter::empty(), "upgrade"));
    }

    #[test]
    fn header_names_must_be_tokens_and_values_single_line() {
        assert!(is_token("X-Custom_1"));
        assert!(!is_token(""));
        assert!(!is_token("Bad Name"));
        assert!(!is_token("a:b"));
        assert!(is_field_value("any text, even \"quoted\""));
        assert!(!is_field_value("a\r\nSet-Cookie: x"));
        assert!(!is_field_value("a\nb"));
        assert!(!is_field_value("a\0b"));
    }

    #[test]
    fn ows_is_trimmed_but_inner_space_kept() {
        assert_eq!(trim_ows(" \ta b\t "), "a b");
        assert_eq!(trim_ows(" é \t"), "é");
        assert_eq!(trim_ows(" \t "), "");
        assert_eq!(trim_ows(""), "");
    }
}
