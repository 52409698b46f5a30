//! permessage-deflate (RFC 7692) for both sides of the suite: the offers cases make to
//! servers and the check of a server's answer, the answer made to a client's offer in server
//! mode, and a codec; all on `ws_proto::deflate`.

use bytes::BytesMut;
use ws_proto::Role;
use ws_proto::deflate::{Compressor, Decompressor, DeflateConfig, DeflateParams};

/// The permessage-deflate parameters a case is about.
///
/// Against a server it is an offer: a [`DeflateConfig`] as [`DeflateParams::offer`] writes
/// it, optionally without its `client_max_window_bits` parameter. Against a client (server
/// mode) the same config is what we agree to as far as the client's offer allows (see
/// [`Offer::answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// What to ask for.
    pub config: DeflateConfig,
    /// Whether to send `client_max_window_bits` (bare when the config's client window is
    /// 15). Without it the server must not send the parameter back (RFC 7692 §7.1.2.2).
    pub client_max_window_bits: bool,
}

impl Offer {
    /// The offer for `config`, with `client_max_window_bits`.
    pub fn new(config: DeflateConfig) -> Offer {
        Offer { config, client_max_window_bits: true }
    }

    /// The same offer without `client_max_window_bits`.
    #[must_use]
    pub fn without_client_bits(mut self) -> Offer {
        self.client_max_window_bits = false;
        self
    }

    /// The `Sec-WebSocket-Extensions` value.
    pub fn header(&self) -> String {
        let mut offer = DeflateParams::offer(&self.config);
        if !self.client_max_window_bits
            && let Some(at) = offer.find("; client_max_window_bits")
        {
            offer.truncate(at);
        }
        offer
    }

    /// Checks the server's `Sec-WebSocket-Extensions` values against this offer (RFC 7692
    /// §7.1), with [`DeflateParams::from_response`] and the one rule it cannot know: no
    /// `client_max_window_bits` when we did not offer it.
    ///
    /// # Errors
    /// A description of what the response breaks.
    pub fn check_response(&self, values: &[String]) -> Result<Option<DeflateParams>, String> {
        if !self.client_max_window_bits
            && values.iter().any(|v| v.to_ascii_lowercase().contains("client_max_window_bits"))
        {
            return Err("server sent client_max_window_bits, which we did not offer (RFC 7692 §7.1.2.2)".into());
        }
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        DeflateParams::from_response(&values, &self.config).map_err(|e| format!("{e} (RFC 7692 §7.1)"))
    }

    /// Server mode: answers a client's `Sec-WebSocket-Extensions` values with this config's
    /// parameters, as far as the client's offer allows, with [`DeflateParams::negotiate`]:
    /// `server_no_context_takeover`, `client_no_context_takeover` and
    /// `server_max_window_bits` are ours to add (RFC 7692 §7.1.1.1, §7.1.1.2, §7.1.2.1; a
    /// smaller `server_max_window_bits` offered by the client wins), `client_max_window_bits`
    /// only when the client offered the parameter (§7.1.2.2): without it the client's window
    /// stays unlimited and the answer says so.
    ///
    /// `None` when the client offered no permessage-deflate we can accept.
    pub fn answer(&self, offers: &[String]) -> Option<Answer> {
        let offers: Vec<&str> = offers.iter().map(String::as_str).collect();
        if let Some((params, header)) = DeflateParams::negotiate(&offers, &self.config) {
            return Some(Answer { params, header, note: None });
        }
        if self.config.client_max_window_bits >= MAX_WINDOW_BITS {
            return None;
        }
        let relaxed = DeflateConfig { client_max_window_bits: MAX_WINDOW_BITS, ..self.config.clone() };
        let (params, header) = DeflateParams::negotiate(&offers, &relaxed)?;
        let note = format!(
            "the client did not offer client_max_window_bits, so its window cannot be limited to {} bits \
             (RFC 7692 §7.1.2.2)",
            self.config.client_max_window_bits
        );
        Some(Answer { params, header, note: Some(note) })
    }
}

/// What server mode agrees to: see [`Offer::answer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The agreed parameters.
    pub params: DeflateParams,
    /// The `Sec-WebSocket-Extensions` value of our 101.
    pub header: String,
    /// What of the case's parameters the client's offer did not allow, if anything.
    pub note: Option<String>,
}

/// Our codec for one connection: we compress with our side's parameters and inflate the
/// peer's messages with the peer's.
#[derive(Debug)]
pub struct Codec {
    params: DeflateParams,
    role: Role,
    compressor: Compressor,
    decompressor: Decompressor,
}

impl Codec {
    /// A codec for the client side of `params` (judging a server).
    pub fn client(params: DeflateParams) -> Codec {
        Codec::new(params, Role::Client)
    }

    /// A codec for the server side of `params` (judging a client).
    pub fn server(params: DeflateParams) -> Codec {
        Codec::new(params, Role::Server)
    }

    fn new(params: DeflateParams, role: Role) -> Codec {
        Codec {
            params,
            role,
            compressor: Compressor::new(&params, role, 6, 8),
            decompressor: Decompressor::new(&params, role),
        }
    }

    /// The agreed parameters.
    pub fn params(&self) -> DeflateParams {
        self.params
    }

    /// Compresses one whole message (RFC 7692 §7.2.1). With an agreed 8-bit window the
    /// result is stored blocks (zlib cannot deflate with 256 bytes), valid but not smaller.
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        self.compressor.compress(data, true, &mut out);
        out.to_vec()
    }

    /// The window the peer may compress with, in bits (RFC 7692 §7.1.2).
    pub fn peer_window_bits(&self) -> u8 {
        match self.role {
            Role::Client => self.params.server_max_window_bits(),
            Role::Server => self.params.client_max_window_bits(),
        }
    }

    /// Whether the peer must compress each message without the previous ones (RFC 7692
    /// §7.1.1).
    pub fn peer_no_context_takeover(&self) -> bool {
        match self.role {
            Role::Client => self.params.server_no_context_takeover(),
            Role::Server => self.params.client_no_context_takeover(),
        }
    }

    /// Inflates one whole message from the peer with the peer's agreed parameters, with at
    /// most `limit` bytes out. Without context takeover in the peer's direction inflation
    /// starts from an empty window, so a message that refers to an earlier one fails.
    ///
    /// A window larger than agreed goes unnoticed: zlib only rejects distances beyond what
    /// its window holds, and `ws_proto`'s backend (zlib-rs) always keeps 32 KiB of it,
    /// whatever the window bits. Checking the peer's window needs a stricter inflater.
    ///
    /// # Errors
    /// A description when the data does not inflate with the agreed parameters, or inflates
    /// past `limit`.
    pub fn decompress(&mut self, data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut out = BytesMut::new();
        self.decompressor.decompress(data, true, &mut out, limit).map_err(|e| self.explain(&e))?;
        Ok(out.to_vec())
    }

    fn explain(&self, error: &ws_proto::ProtocolError) -> String {
        let side = if self.role == Role::Client { "server" } else { "client" };
        let bits = self.peer_window_bits();
        let takeover =
            if self.peer_no_context_takeover() { format!(", {side}_no_context_takeover") } else { String::new() };
        format!("{error} (inflated as agreed: {side}_max_window_bits={bits}{takeover}; RFC 7692 §7.1, §7.2.2)")
    }
}

/// The largest window, and the default (RFC 7692 §7.1.2).
const MAX_WINDOW_BITS: u8 = 15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_without_client_bits() {
        let offer = Offer::new(DeflateConfig { server_no_context_takeover: true, ..DeflateConfig::default() });
        assert_eq!(offer.header(), "permessage-deflate; server_no_context_takeover; client_max_window_bits");
        let bare = offer.clone().without_client_bits();
        assert_eq!(bare.header(), "permessage-deflate; server_no_context_takeover");
        let ok = "permessage-deflate; server_no_context_takeover".to_string();
        let bad = "permessage-deflate; server_no_context_takeover; client_max_window_bits=10".to_string();
        assert!(bare.check_response(std::slice::from_ref(&ok)).unwrap().is_some());
        assert!(bare.check_response(std::slice::from_ref(&bad)).is_err());
        assert!(offer.check_response(&[bad]).unwrap().is_some());
        assert!(offer.check_response(&["permessage-deflate".into()]).is_err());
        assert!(offer.check_response(&[]).unwrap().is_none());
    }

    fn client_offer(header: &str) -> Vec<String> {
        vec![header.to_string()]
    }

    #[test]
    fn answers_a_client_offer_with_the_case_parameters() {
        let ours = "permessage-deflate; client_max_window_bits";
        let plain = Offer::new(DeflateConfig::default()).answer(&client_offer(ours)).unwrap();
        assert_eq!(
            (plain.header.as_str(), plain.params, plain.note),
            ("permessage-deflate", DeflateParams::default(), None)
        );

        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let all = Offer::new(config.clone()).answer(&client_offer(ours)).unwrap();
        assert_eq!(
            all.header,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; \
             client_max_window_bits=10"
        );
        assert!(all.note.is_none());

        // Without client_max_window_bits in the offer the client's window stays 15.
        let limited = Offer::new(config).answer(&client_offer("permessage-deflate")).unwrap();
        assert_eq!(limited.params.client_max_window_bits(), 15);
        assert!(!limited.header.contains("client_max_window_bits"));
        assert!(limited.note.unwrap().contains("client_max_window_bits"));

        // A smaller server window offered by the client wins.
        let small = Offer::new(DeflateConfig { server_max_window_bits: 12, ..DeflateConfig::default() })
            .answer(&client_offer("permessage-deflate; server_max_window_bits=10"))
            .unwrap();
        assert_eq!(small.params.server_max_window_bits(), 10);

        assert!(Offer::new(DeflateConfig::default()).answer(&[]).is_none());
        assert!(Offer::new(DeflateConfig::default()).answer(&client_offer("x-webkit-deflate-frame")).is_none());
        assert!(Offer::new(DeflateConfig::default()).answer(&client_offer("permessage-deflate; foo")).is_none());
    }

    /// One whole message from a client's compressor.
    fn client_compress(compressor: &mut Compressor, data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        compressor.compress(data, true, &mut out);
        out.to_vec()
    }

    #[test]
    fn server_codec_inflates_what_a_client_compresses() {
        let params = DeflateParams::new(10, 11).unwrap().with_client_no_context_takeover(true);
        let mut client = Compressor::new(&params, Role::Client, 6, 8);
        let mut server = Codec::server(params);
        let text = b"the quick brown fox jumps over the lazy dog; the quick brown fox".repeat(100);
        for _ in 0..3 {
            let packed = client_compress(&mut client, &text);
            assert_eq!(server.decompress(&packed, 1 << 20).unwrap(), text);
        }
        // And the client inflates what the server codec compresses.
        let mut inflate = Decompressor::new(&params, Role::Client);
        let mut out = BytesMut::new();
        inflate.decompress(&server.compress(&text), true, &mut out, 1 << 20).unwrap();
        assert_eq!(&out[..], &text[..]);
    }

    #[test]
    fn catches_a_client_that_keeps_context_against_client_no_context_takeover() {
        let agreed = DeflateParams::default().with_client_no_context_takeover(true);
        let mut client = Compressor::new(&DeflateParams::default(), Role::Client, 6, 8);
        let mut server = Codec::server(agreed);
        let text = crate::cases::binary_payload(4096);
        let first = client_compress(&mut client, &text);
        assert_eq!(server.decompress(&first, 1 << 20).unwrap(), text);
        let second = client_compress(&mut client, &text);
        let error = server.decompress(&second, 1 << 20).unwrap_err();
        assert!(error.contains("client_no_context_takeover"), "{error}");
    }

    #[test]
    fn codec_round_trip_rfc_7692_7_2_3_1() {
        let mut c = Codec::client(DeflateParams::default());
        assert_eq!(c.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100).unwrap(), b"Hello");
        assert_eq!(c.compress(b"Hello"), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    }
}
