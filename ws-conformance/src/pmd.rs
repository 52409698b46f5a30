//! permessage-deflate (RFC 7692) for the suite's client side: the offers cases make, the
//! check of the server's answer, and a codec; all on `ws_proto::deflate`.

use bytes::BytesMut;
use ws_proto::Role;
use ws_proto::deflate::{Compressor, Decompressor, DeflateConfig, DeflateParams};

/// A permessage-deflate offer: a [`DeflateConfig`] as [`DeflateParams::offer`] writes it,
/// optionally without its `client_max_window_bits` parameter.
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
}

/// The client side's codec for one connection.
#[derive(Debug)]
pub struct Codec {
    params: DeflateParams,
    compressor: Compressor,
    decompressor: Decompressor,
}

impl Codec {
    /// A codec for the client side of `params`.
    pub fn client(params: DeflateParams) -> Codec {
        Codec {
            params,
            compressor: Compressor::new(&params, Role::Client, 6, 8),
            decompressor: Decompressor::new(&params, Role::Client),
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

    /// Inflates one whole message from the server, with at most `limit` bytes out.
    ///
    /// # Errors
    /// A description when the data does not inflate with the agreed window, or inflates past
    /// `limit`.
    pub fn decompress(&mut self, data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut out = BytesMut::new();
        self.decompressor.decompress(data, true, &mut out, limit).map_err(|e| e.to_string())?;
        Ok(out.to_vec())
    }
}

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

    #[test]
    fn codec_round_trip_rfc_7692_7_2_3_1() {
        let mut c = Codec::client(DeflateParams::default());
        assert_eq!(c.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100).unwrap(), b"Hello");
        assert_eq!(c.compress(b"Hello"), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    }
}
