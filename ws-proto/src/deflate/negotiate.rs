//! Negotiation (RFC 7692 §5, §7.1): parsing `Sec-WebSocket-Extensions`, the server's choice
//! among offers, the client's offer and its check of the response.

use std::borrow::Cow;
use std::fmt;

use crate::error::HandshakeError;

/// Preferences for permessage-deflate, built from the server's `Settings` or the client's
/// `ClientSettings`.
///
/// Window sizes are base-2 logarithms (RFC 7692 §7.1.2); values outside 8–15 are clamped
/// into that range wherever the config is used, and `level` is clamped to 0–9.
///
/// # Example
/// ```
/// use ws_proto::deflate::{DeflateConfig, DeflateParams};
/// let config = DeflateConfig { client_no_context_takeover: true, ..DeflateConfig::default() };
/// let (params, response) =
///     DeflateParams::negotiate(&["permessage-deflate; client_max_window_bits"], &config).unwrap();
/// assert_eq!(response, "permessage-deflate; client_no_context_takeover");
/// assert!(params.client_no_context_takeover());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    /// zlib compression level, 0 (store) to 9 (best). The default, 6, is zlib's own default
    /// (`Z_DEFAULT_COMPRESSION`), the level the reference uses.
    pub level: u32,
    /// zlib `memLevel`, 1–9 (default 8). Advisory: flate2 does not expose it, and its zlib-rs
    /// backend always uses 8 (see the [module docs](super) for what a state costs).
    pub mem_level: u8,
    /// The largest window the server may compress with (default 15).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with (default 15).
    pub client_max_window_bits: u8,
    /// Ask that the server reset its compressor after each message (default false).
    pub server_no_context_takeover: bool,
    /// Ask that the client reset its compressor after each message (default false).
    pub client_no_context_takeover: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 6,
            mem_level: 8,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        }
    }
}

/// The permessage-deflate parameters both ends agreed (RFC 7692 §7.1). Exists only in valid
/// form: window bits are within 8–15.
///
/// [`Display`](fmt::Display) writes the parameters as an extension header value, the form
/// a server sends in its response.
///
/// # Example
/// ```
/// use ws_proto::deflate::DeflateParams;
/// let params = DeflateParams::new(10, 15).unwrap().with_server_no_context_takeover(true);
/// assert_eq!(params.to_string(), "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
/// assert!(DeflateParams::new(16, 15).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
}

impl DeflateParams {
    /// Parameters with the given windows and context takeover in both directions; `None`
    /// when a window is outside 8–15.
    pub fn new(server_max_window_bits: u8, client_max_window_bits: u8) -> Option<DeflateParams> {
        let valid = WINDOW_BITS.contains(&server_max_window_bits) && WINDOW_BITS.contains(&client_max_window_bits);
        valid.then_some(DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits,
            client_max_window_bits,
        })
    }

    /// Server: chooses among the client's offers, one `Sec-WebSocket-Extensions` value per
    /// element of `offers`, and returns the agreed parameters with the response header value.
    ///
    /// Every permessage-deflate offer is tried in order; other extensions are ignored. An
    /// offer with an unknown, repeated or out-of-range parameter, a value on a parameter that
    /// takes none, or broken syntax is declined and the next one tried (RFC 7692 §5.1). An
    /// accepted offer is answered (§7.1) with:
    ///
    /// - `server_no_context_takeover` when offered or when `config` asks for it;
    /// - `client_no_context_takeover` when `config` asks for it, and also whenever the client
    ///   offered it (§7.1.1.2: a promise it makes anyway; agreeing lets our decompressor keep
    ///   no state between messages);
    /// - `server_max_window_bits=min(offered, ours)`, or `=ours` when not offered and ours is
    ///   under 15;
    /// - `client_max_window_bits=min(offered or 15, ours)` when the client offered the
    ///   parameter and that is under 15. An offer without it is declined when our
    ///   `client_max_window_bits` is under 15, since the client cannot be limited.
    ///
    /// `None` when no offer is acceptable: the handshake goes on without compression.
    pub fn negotiate(offers: &[&str], config: &DeflateConfig) -> Option<(DeflateParams, String)> {
        for (index, element) in offers.iter().flat_map(|value| parse_list(value)).enumerate() {
            let Ok(extension) = element else {
                tracing::debug!(index, "declined a malformed extension offer");
                continue;
            };
            if !extension.name.eq_ignore_ascii_case(EXTENSION_NAME) {
                continue;
            }
            let agreed = RawParams::parse(&extension.params).and_then(|raw| raw.accept(config));
            match agreed {
                Some(params) => return Some((params, params.to_string())),
                None => tracing::debug!(index, "declined a permessage-deflate offer"),
            }
        }
        None
    }

    /// Client: the `Sec-WebSocket-Extensions` value to offer for `config`.
    ///
    /// It always carries `client_max_window_bits` (with our limit as value when under 15), so
    /// that the server may shrink our window, and `server_max_window_bits` and the
    /// no-context-takeover parameters as `config` asks.
    ///
    /// # Example
    /// ```
    /// use ws_proto::deflate::{DeflateConfig, DeflateParams};
    /// let config = DeflateConfig { server_max_window_bits: 10, ..DeflateConfig::default() };
    /// assert_eq!(
    ///     DeflateParams::offer(&config),
    ///     "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
    /// );
    /// ```
    pub fn offer(config: &DeflateConfig) -> String {
        let mut offer = String::from(EXTENSION_NAME);
        if config.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if config.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        let server_bits = clamp_window_bits(config.server_max_window_bits);
        if server_bits < MAX_WINDOW_BITS {
            offer.push_str(&format!("; server_max_window_bits={server_bits}"));
        }
        offer.push_str("; client_max_window_bits");
        let client_bits = clamp_window_bits(config.client_max_window_bits);
        if client_bits < MAX_WINDOW_BITS {
            offer.push_str(&format!("={client_bits}"));
        }
        offer
    }

    /// Client: checks the server's `Sec-WebSocket-Extensions` values against what
    /// [`DeflateParams::offer`] offered for `offered` (RFC 7692 §7.1).
    ///
    /// `Ok(None)` when the server accepted no extension. For our own direction the result
    /// may be stricter than the response: we compress with at most the window we offered and
    /// without context takeover if `offered` asked for that, both always allowed.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidExtension`] for an extension other than permessage-deflate,
    /// more than one, broken syntax, an unknown or repeated parameter, a value out of range
    /// or missing, `server_max_window_bits` missing or above the value we offered, or
    /// `server_no_context_takeover` missing when we asked for it.
    pub fn from_response(values: &[&str], offered: &DeflateConfig) -> Result<Option<DeflateParams>, HandshakeError> {
        let mut agreed = None;
        for element in values.iter().flat_map(|value| parse_list(value)) {
            let extension = element.map_err(|Malformed| HandshakeError::InvalidExtension)?;
            if !extension.name.eq_ignore_ascii_case(EXTENSION_NAME) || agreed.is_some() {
                return Err(HandshakeError::InvalidExtension);
            }
            let raw = RawParams::parse(&extension.params).ok_or(HandshakeError::InvalidExtension)?;
            let params = raw.into_response_params().ok_or(HandshakeError::InvalidExtension)?;
            // §7.1.2.1: a limit we offered must be answered with the same or a smaller value.
            let offered_server_bits = clamp_window_bits(offered.server_max_window_bits);
            if offered_server_bits < MAX_WINDOW_BITS
                && (raw.server_max_window_bits.is_none() || params.server_max_window_bits > offered_server_bits)
            {
                return Err(HandshakeError::InvalidExtension);
            }
            // §7.1.1.1: a server accepting server_no_context_takeover must echo it.
            if offered.server_no_context_takeover && !params.server_no_context_takeover {
                return Err(HandshakeError::InvalidExtension);
            }
            // Our offer always carries client_max_window_bits, so any valid value may come back.
            agreed = Some(DeflateParams {
                client_no_context_takeover: params.client_no_context_takeover || offered.client_no_context_takeover,
                client_max_window_bits: params
                    .client_max_window_bits
                    .min(clamp_window_bits(offered.client_max_window_bits)),
                ..params
            });
        }
        Ok(agreed)
    }

    /// Server: what a response header we are about to send (for example one written by a
    /// custom `on_handshake`) agrees to. `None` when the values hold no permessage-deflate,
    /// more than one, invalid parameters or broken syntax; other extensions are ignored.
    pub fn from_own_response(values: &[&str]) -> Option<DeflateParams> {
        let mut agreed = None;
        for element in values.iter().flat_map(|value| parse_list(value)) {
            let extension = element.ok()?;
            if !extension.name.eq_ignore_ascii_case(EXTENSION_NAME) {
                continue;
            }
            if agreed.is_some() {
                return None;
            }
            agreed = Some(RawParams::parse(&extension.params)?.into_response_params()?);
        }
        agreed
    }

    /// `self` with `server_no_context_takeover` set or cleared.
    #[must_use]
    pub fn with_server_no_context_takeover(self, on: bool) -> DeflateParams {
        DeflateParams { server_no_context_takeover: on, ..self }
    }

    /// `self` with `client_no_context_takeover` set or cleared.
    #[must_use]
    pub fn with_client_no_context_takeover(self, on: bool) -> DeflateParams {
        DeflateParams { client_no_context_takeover: on, ..self }
    }

    /// Whether the server resets its compressor after each message.
    pub fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Whether the client resets its compressor after each message.
    pub fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The server's largest compression window, as a base-2 logarithm (8–15).
    pub fn server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The client's largest compression window, as a base-2 logarithm (8–15).
    pub fn client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }
}

impl Default for DeflateParams {
    /// RFC 7692's defaults: 15-bit windows and context takeover in both directions.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXTENSION_NAME)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if self.server_max_window_bits < MAX_WINDOW_BITS {
            write!(f, "; server_max_window_bits={}", self.server_max_window_bits)?;
        }
        if self.client_max_window_bits < MAX_WINDOW_BITS {
            write!(f, "; client_max_window_bits={}", self.client_max_window_bits)?;
        }
        Ok(())
    }
}

/// `bits` clamped into the range RFC 7692 §7.1.2 allows.
pub(super) fn clamp_window_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// The parameters of one permessage-deflate element, checked for syntax, duplicates and
/// range but not yet against either side's rules.
#[derive(Debug, Default, Clone, Copy)]
struct RawParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

impl RawParams {
    /// `None` for an unknown or repeated parameter, a value where none is allowed, a missing
    /// `server_max_window_bits` value, or window bits that are not 8–15 without leading zeros.
    fn parse(params: &[Param<'_>]) -> Option<RawParams> {
        let mut raw = RawParams::default();
        let mut seen = [false; 4];
        for (name, value) in params {
            let (index, known) = PARAMS.iter().enumerate().find(|(_, known)| name.eq_ignore_ascii_case(known))?;
            let seen = seen.get_mut(index)?;
            if std::mem::replace(seen, true) {
                return None; // RFC 7692 §7: a parameter appears at most once
            }
            match *known {
                "server_no_context_takeover" if value.is_none() => raw.server_no_context_takeover = true,
                "client_no_context_takeover" if value.is_none() => raw.client_no_context_takeover = true,
                "server_max_window_bits" => raw.server_max_window_bits = Some(parse_window_bits(value.as_deref()?)?),
                "client_max_window_bits" => {
                    raw.client_max_window_bits = Some(match value.as_deref() {
                        Some(value) => Some(parse_window_bits(value)?),
                        None => None,
                    });
                }
                _ => return None,
            }
        }
        Some(raw)
    }

    /// The server's answer to this offer under `config`, or `None` to decline it.
    fn accept(self, config: &DeflateConfig) -> Option<DeflateParams> {
        let our_server_bits = clamp_window_bits(config.server_max_window_bits);
        let our_client_bits = clamp_window_bits(config.client_max_window_bits);
        let client_max_window_bits = match self.client_max_window_bits {
            // §7.1.2.2: without the parameter in the offer the response may not limit the client.
            None if our_client_bits < MAX_WINDOW_BITS => return None,
            None => MAX_WINDOW_BITS,
            Some(offered) => offered.unwrap_or(MAX_WINDOW_BITS).min(our_client_bits),
        };
        Some(DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover || config.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover || config.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS).min(our_server_bits),
            client_max_window_bits,
        })
    }

    /// The parameters a response states; `None` when `client_max_window_bits` has no value
    /// (§7.1.2.2: a response must give one).
    fn into_response_params(self) -> Option<DeflateParams> {
        let client_max_window_bits = match self.client_max_window_bits {
            None => MAX_WINDOW_BITS,
            Some(value) => value?,
        };
        Some(DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            client_max_window_bits,
        })
    }
}

/// Window bits: a decimal 8–15 without leading zeros (RFC 7692 §7.1.2.1).
fn parse_window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits = value.parse::<u8>().ok()?;
    WINDOW_BITS.contains(&bits).then_some(bits)
}

/// One extension parameter: its name and, unquoted, its value.
type Param<'a> = (&'a str, Option<Cow<'a, str>>);

/// One element of an extension list (RFC 6455 §9.1).
#[derive(Debug)]
struct Extension<'a> {
    name: &'a str,
    params: Vec<Param<'a>>,
}

/// An element of an extension list with broken syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Malformed;

/// Splits one `Sec-WebSocket-Extensions` value into its elements (RFC 6455 §9.1, with
/// RFC 7230's token, quoted-string and empty list elements). A malformed element becomes an
/// `Err` and parsing resumes after the next comma outside quotes.
fn parse_list(value: &str) -> Vec<Result<Extension<'_>, Malformed>> {
    let mut cursor = Cursor { text: value, pos: 0 };
    let mut elements = Vec::new();
    loop {
        cursor.skip_whitespace();
        match cursor.peek() {
            None => break,
            Some(b',') => cursor.pos += 1, // RFC 7230 §7: empty elements are ignored
            Some(_) => {
                let element = cursor.extension();
                if element.is_err() {
                    cursor.skip_past_comma();
                }
                elements.push(element);
            }
        }
    }
    elements
}

/// A position in a header value; every method stays on char boundaries because it only
/// steps over ASCII bytes.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// One extension up to and including its terminating comma (or the end).
    fn extension(&mut self) -> Result<Extension<'a>, Malformed> {
        let name = self.token().ok_or(Malformed)?;
        let mut params = Vec::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                None => return Ok(Extension { name, params }),
                Some(b',') => {
                    self.pos += 1;
                    return Ok(Extension { name, params });
                }
                Some(b';') => {
                    self.pos += 1;
                    self.skip_whitespace();
                    let param = self.token().ok_or(Malformed)?;
                    self.skip_whitespace();
                    let value = if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.skip_whitespace();
                        let value = match self.peek() {
                            Some(b'"') => self.quoted_string()?,
                            _ => Cow::Borrowed(self.token().ok_or(Malformed)?),
                        };
                        Some(value)
                    } else {
                        None
                    };
                    params.push((param, value));
                }
                Some(_) => return Err(Malformed),
            }
        }
    }

    /// A quoted-string, unescaped (RFC 7230 §3.2.6); the cursor is on its opening quote.
    fn quoted_string(&mut self) -> Result<Cow<'a, str>, Malformed> {
        self.pos += 1;
        let start = self.pos;
        let mut unescaped: Option<String> = None;
        loop {
            let c = self.next_char().ok_or(Malformed)?;
            match c {
                '"' => break,
                '\\' => {
                    let escaped = self.next_char().ok_or(Malformed)?;
                    let done = self.text.get(start..self.pos - 1 - escaped.len_utf8()).ok_or(Malformed)?;
                    unescaped.get_or_insert_with(|| done.to_owned()).push(escaped);
                }
                c if c == '\t' || c == ' ' || !c.is_ascii_control() => {
                    if let Some(unescaped) = unescaped.as_mut() {
                        unescaped.push(c);
                    }
                }
                _ => return Err(Malformed),
            }
        }
        // The value must still be a token once unescaped (RFC 6455 §9.1).
        let value = match unescaped {
            Some(unescaped) => Cow::Owned(unescaped),
            None => Cow::Borrowed(self.text.get(start..self.pos - 1).ok_or(Malformed)?),
        };
        if value.is_empty() || !value.bytes().all(is_tchar) {
            return Err(Malformed);
        }
        Ok(value)
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).filter(|token| !token.is_empty())
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips to just past the next comma outside a quoted-string (or to the end).
    fn skip_past_comma(&mut self) {
        let mut quoted = false;
        while let Some(c) = self.next_char() {
            match c {
                '"' => quoted = !quoted,
                '\\' if quoted => {
                    self.next_char();
                }
                ',' if !quoted => return,
                _ => {}
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.text.get(self.pos..)?.chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }
}

/// RFC 7230 §3.2.6 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest LZ77 window a peer may agree to, as a base-2 logarithm (RFC 7692 §7.1.2.1).
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest LZ77 window, and the default, as a base-2 logarithm (RFC 7692 §7.1.2.1).
pub const MAX_WINDOW_BITS: u8 = 15;

const WINDOW_BITS: std::ops::RangeInclusive<u8> = MIN_WINDOW_BITS..=MAX_WINDOW_BITS;

/// The parameters RFC 7692 §7.1 defines, in the order of `RawParams::parse`'s `seen`.
const PARAMS: [&str; 4] =
    ["server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits", "client_max_window_bits"];

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = (String, Vec<(String, Option<String>)>);

    fn names(value: &str) -> Vec<Result<Owned, Malformed>> {
        parse_list(value)
            .into_iter()
            .map(|element| {
                element.map(|ext| {
                    let params = ext.params.into_iter().map(|(n, v)| (n.to_owned(), v.map(Cow::into_owned))).collect();
                    (ext.name.to_owned(), params)
                })
            })
            .collect()
    }

    #[test]
    fn parses_tokens_quoted_strings_and_empty_elements() {
        let parsed = names(" , a; x=1 ;y, b;z=\"1\\0\",,c ");
        assert_eq!(
            parsed,
            vec![
                Ok(("a".into(), vec![("x".into(), Some("1".into())), ("y".into(), None)])),
                Ok(("b".into(), vec![("z".into(), Some("10".into()))])),
                Ok(("c".into(), vec![])),
            ]
        );
    }

    #[test]
    fn malformed_element_is_skipped_to_next_comma() {
        let parsed = names("a; =1, b; x=\"un,closed\" junk, c; q=\"x y\", d, e; f=\"");
        let expected = vec![Err(Malformed), Err(Malformed), Err(Malformed), Ok(("d".into(), vec![])), Err(Malformed)];
        assert_eq!(parsed, expected); // "x y" is not a token once unquoted
    }

    #[test]
    fn window_bits_need_no_leading_zero() {
        assert_eq!(parse_window_bits("9"), Some(9));
        assert_eq!(parse_window_bits("09"), None);
        assert_eq!(parse_window_bits("+9"), None);
        assert_eq!(parse_window_bits("7"), None);
        assert_eq!(parse_window_bits("16"), None);
        assert_eq!(parse_window_bits("300"), None);
    }
}
