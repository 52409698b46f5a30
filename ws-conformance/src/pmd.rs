//! permessage-deflate (RFC 7692) for the client side of the suite: offers, checking the
//! server's answer against the offer, and the codec.
//!
//! TEMPORARY codec on flate2: replaced by `ws_proto::deflate` once that module lands.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// `client_max_window_bits` in an offer (RFC 7692 §7.1.2.2): absent, bare, or with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBits {
    /// Not offered: the server must not send the parameter.
    Absent,
    /// Offered without a value: the server may pick 8–15.
    Any,
    /// Offered with a value: the server may pick up to it.
    Max(u8),
}

/// A permessage-deflate offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// `server_no_context_takeover`.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`.
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits[=N]`.
    pub client_max_window_bits: ClientBits,
}

impl Offer {
    /// The plain offer: `permessage-deflate` with no parameter.
    pub const PLAIN: Offer = Offer {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: None,
        client_max_window_bits: ClientBits::Absent,
    };

    /// The `Sec-WebSocket-Extensions` value.
    pub fn header(&self) -> String {
        let mut s = String::from("permessage-deflate");
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={bits}"));
        }
        match self.client_max_window_bits {
            ClientBits::Absent => {}
            ClientBits::Any => s.push_str("; client_max_window_bits"),
            ClientBits::Max(bits) => s.push_str(&format!("; client_max_window_bits={bits}")),
        }
        s
    }
}

/// What the server agreed to (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The server resets its compression context after each message.
    pub server_no_context_takeover: bool,
    /// We reset ours after each message.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window (8–15).
    pub server_max_window_bits: u8,
    /// Our LZ77 window (8–15).
    pub client_max_window_bits: u8,
}

impl Agreed {
    /// Checks the server's `Sec-WebSocket-Extensions` values against our offer.
    ///
    /// Returns `Ok(None)` when the server declined the extension.
    ///
    /// # Errors
    /// A description of the first rule of RFC 7692 §7.1 the response breaks: an extension
    /// we did not offer, a parameter repeated, unknown or out of range, a window larger than
    /// offered, `client_max_window_bits` we did not offer.
    pub fn from_response(values: &[String], offer: &Offer) -> Result<Option<Agreed>, String> {
        let elements: Vec<&str> = values.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut agreed = None;
        for element in elements.into_iter().filter(|e| !e.is_empty()) {
            let mut parts = element.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            if !name.eq_ignore_ascii_case("permessage-deflate") {
                return Err(format!("server accepted extension {name:?}, which we did not offer"));
            }
            if agreed.is_some() {
                return Err("server accepted permessage-deflate twice".into());
            }
            agreed = Some(parse_params(parts, offer)?);
        }
        Ok(agreed)
    }
}

fn parse_params<'a>(params: impl Iterator<Item = &'a str>, offer: &Offer) -> Result<Agreed, String> {
    let mut seen: Vec<String> = Vec::new();
    let mut a = Agreed {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    for param in params.filter(|p| !p.is_empty()) {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"'))),
            None => (param.to_ascii_lowercase(), None),
        };
        if seen.contains(&key) {
            return Err(format!("parameter {key} repeated (RFC 7692 §7.1)"));
        }
        seen.push(key.clone());
        let bits = |v: Option<&str>| -> Result<u8, String> {
            match v.and_then(|v| v.parse::<u8>().ok()) {
                Some(b @ 8..=15) => Ok(b),
                _ => Err(format!("{key} needs a value 8..15, got {v:?}")),
            }
        };
        match (key.as_str(), value) {
            ("server_no_context_takeover", None) => a.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => a.client_no_context_takeover = true,
            ("server_max_window_bits", v) => {
                let b = bits(v)?;
                if let Some(max) = offer.server_max_window_bits
                    && b > max
                {
                    return Err(format!("server_max_window_bits={b} above our offer of {max} (RFC 7692 §7.1.2.1)"));
                }
                a.server_max_window_bits = b;
            }
            ("client_max_window_bits", v) => {
                let b = bits(v)?;
                match offer.client_max_window_bits {
                    ClientBits::Absent => {
                        return Err("client_max_window_bits sent though we did not offer it (RFC 7692 §7.1.2.2)".into());
                    }
                    ClientBits::Max(max) if b > max => {
                        return Err(format!("client_max_window_bits={b} above our offer of {max}"));
                    }
                    _ => {}
                }
                a.client_max_window_bits = b;
            }
            (other, v) => return Err(format!("unknown or malformed parameter {other} = {v:?} (RFC 7692 §7.1)")),
        }
    }
    if offer.server_max_window_bits.is_some() && !seen.iter().any(|k| k == "server_max_window_bits") {
        // RFC 7692 §7.1.2.1: accepting the offer means echoing the parameter (same or smaller).
        return Err("server accepted our server_max_window_bits offer without the parameter (RFC 7692 §7.1.2.1)".into());
    }
    if offer.server_no_context_takeover && !a.server_no_context_takeover {
        // RFC 7692 §7.1.1.1: accepting the offer means including the parameter.
        return Err("server accepted our offer without server_no_context_takeover (RFC 7692 §7.1.1.1)".into());
    }
    Ok(a)
}

/// The client side's codec for one connection.
pub struct Codec {
    agreed: Agreed,
    compress: Compress,
    decompress: Decompress,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").field("agreed", &self.agreed).finish_non_exhaustive()
    }
}

impl Codec {
    /// A codec for the client side of an agreement.
    pub fn client(agreed: Agreed) -> Codec {
        // zlib cannot deflate with a 256-byte window; 9 is its smallest (RFC 7692 §7.1.2.2 note).
        let ours = agreed.client_max_window_bits.max(9);
        Codec {
            agreed,
            compress: Compress::new_with_window_bits(Compression::default(), false, ours),
            decompress: Decompress::new_with_window_bits(false, agreed.server_max_window_bits.max(9)),
        }
    }

    /// The agreement.
    pub fn agreed(&self) -> Agreed {
        self.agreed
    }

    /// Compresses one message (RFC 7692 §7.2.1: sync flush, the last four bytes removed).
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start_in = self.compress.total_in();
        loop {
            let done = (self.compress.total_in() - start_in) as usize;
            let input = data.get(done..).unwrap_or_default();
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before_out = self.compress.total_out();
            if self.compress.compress_vec(input, &mut out, FlushCompress::Sync).is_err() {
                break;
            }
            let consumed_all = (self.compress.total_in() - start_in) as usize == data.len();
            if consumed_all && out.len() < out.capacity() && self.compress.total_out() >= before_out {
                break;
            }
        }
        if out.ends_with(&[0, 0, 0xff, 0xff]) {
            out.truncate(out.len() - 4);
        }
        if self.agreed.client_no_context_takeover {
            self.compress.reset();
        }
        out
    }

    /// Inflates one message from the server, with at most `limit` bytes out.
    ///
    /// # Errors
    /// A description when the data is not a valid DEFLATE stream or inflates past `limit`.
    pub fn decompress(&mut self, data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
        let mut input = data.to_vec();
        input.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(data.len() * 4 + 64);
        let start_in = self.decompress.total_in();
        loop {
            let done = (self.decompress.total_in() - start_in) as usize;
            let rest = input.get(done..).unwrap_or_default();
            if out.capacity() - out.len() < 1024 {
                out.reserve(out.capacity().max(4096));
            }
            let status = self
                .decompress
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .map_err(|e| format!("invalid DEFLATE data: {e}"))?;
            if out.len() > limit {
                return Err(format!("inflates past {limit} bytes"));
            }
            if status == Status::StreamEnd {
                // RFC 7692 §7.2.3.4 allows a block with BFINAL set; the stream starts anew.
                self.decompress.reset(false);
                return Ok(out);
            }
            let consumed_all = (self.decompress.total_in() - start_in) as usize == input.len();
            if consumed_all && out.len() < out.capacity() {
                break;
            }
        }
        if self.agreed.server_no_context_takeover {
            // Reset so a server that keeps its context despite agreeing not to is caught.
            self.decompress.reset(false);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7692_7_2_3_1_hello() {
        let agreed = Agreed::from_response(&["permessage-deflate".into()], &Offer::PLAIN).unwrap().unwrap();
        let mut c = Codec::client(agreed);
        let out = c.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 1000).unwrap();
        assert_eq!(out, b"Hello");
        let packed = c.compress(b"Hello");
        let mut d = Codec::client(agreed);
        assert_eq!(d.decompress(&packed, 1000).unwrap(), b"Hello");
    }

    #[test]
    fn response_checks() {
        let offer = Offer { server_max_window_bits: Some(10), ..Offer::PLAIN };
        let check = |v: &str| Agreed::from_response(&[v.to_string()], &offer);
        assert!(check("permessage-deflate; server_max_window_bits=10").unwrap().is_some());
        assert!(check("permessage-deflate; server_max_window_bits=11").is_err());
        assert!(check("permessage-deflate").is_err());
        assert!(check("permessage-deflate; server_max_window_bits=9; client_max_window_bits=9").is_err());
        assert!(check("x-webkit-deflate-frame").is_err());
        assert!(Agreed::from_response(&[], &offer).unwrap().is_none());
    }
}
