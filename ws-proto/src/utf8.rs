//! Incremental UTF-8 validation that fails at the first invalid byte (RFC 6455 §8.1).

/// Validates a text message piece by piece as it arrives.
///
/// A code point split across pieces (frames, fragments or reads) is valid; an invalid
/// sequence is reported by the [`Utf8Validator::feed`] call whose piece contains it, not at
/// the end of the message. The validator holds at most three carried bytes.
///
/// # Example
/// ```
/// use ws_proto::utf8::Utf8Validator;
/// let euro = "€".as_bytes(); // e2 82 ac
/// let mut v = Utf8Validator::default();
/// assert!(v.feed(&euro[..1]).is_ok());
/// assert!(v.feed(&euro[1..]).is_ok());
/// assert!(v.finish().is_ok());
///
/// let mut v = Utf8Validator::default();
/// assert!(v.feed(&[b'a', 0xff]).is_err()); // fails now, not at the end
/// ```
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    carry: [u8; 4],
    carry_len: u8,
}

/// Whether `bytes` is UTF-8: the check every whole text (a message, a reason, a push)
/// goes through.
///
/// `simdutf8` hands inputs under 64 bytes to `std::str::from_utf8`; for those, an ASCII
/// scan a word at a time comes first, which settles the common short message in a few
/// instructions.
///
/// # Example
/// ```
/// assert!(ws_proto::utf8::is_valid("hello, κόσμε".as_bytes()));
/// assert!(!ws_proto::utf8::is_valid(&[b'a', 0xff]));
/// ```
#[inline]
pub fn is_valid(bytes: &[u8]) -> bool {
    (bytes.len() < SHORT && bytes.is_ascii()) || simdutf8::basic::from_utf8(bytes).is_ok()
}

/// Below this length `simdutf8` falls back to the standard library.
const SHORT: usize = 64;

/// Invalid UTF-8 was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct Utf8Error;

impl Utf8Validator {
    /// Checks the next piece of the text.
    ///
    /// # Errors
    /// [`Utf8Error`] as soon as the bytes seen so far cannot start any valid text; the
    /// validator is then spent.
    #[inline]
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), Utf8Error> {
        if self.carry_len > 0 {
            // Complete the carried code point one byte at a time (at most three).
            while self.carry_len > 0 {
                let Some((&byte, rest)) = piece.split_first() else { return Ok(()) };
                piece = rest;
                let len = usize::from(self.carry_len);
                if let Some(slot) = self.carry.get_mut(len) {
                    *slot = byte;
                }
                self.carry_len += 1;
                let carried = self.carry.get(..=len).ok_or(Utf8Error)?;
                match simdutf8::compat::from_utf8(carried) {
                    Ok(_) => self.carry_len = 0,
                    Err(e) if e.error_len().is_some() => return Err(Utf8Error),
                    Err(_) => {} // still incomplete
                }
            }
        }
        // The fast check first; the slower one that tells where it failed only on failure.
        if is_valid(piece) {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(piece) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Utf8Error),
            Err(e) => {
                // An incomplete code point at the end: carry it (at most three bytes).
                let tail = piece.get(e.valid_up_to()..).ok_or(Utf8Error)?;
                let slot = self.carry.get_mut(..tail.len()).ok_or(Utf8Error)?;
                slot.copy_from_slice(tail);
                self.carry_len = tail.len() as u8; // tail.len() <= 3 by the check above
                Ok(())
            }
        }
    }

    /// Ends the text.
    ///
    /// # Errors
    /// [`Utf8Error`] when the text ends inside a code point.
    #[inline]
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let incomplete = self.carry_len > 0;
        self.carry_len = 0;
        if incomplete { Err(Utf8Error) } else { Ok(()) }
    }

    /// Whether the validator holds part of a code point.
    pub fn is_mid_code_point(&self) -> bool {
        self.carry_len > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_split(bytes: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
        let mut v = Utf8Validator::default();
        let mut at = 0;
        for &cut in cuts {
            let cut = cut.clamp(at, bytes.len());
            v.feed(&bytes[at..cut])?;
            at = cut;
        }
        v.feed(&bytes[at..])?;
        v.finish()
    }

    proptest! {
        #[test]
        fn is_valid_agrees_with_std(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,80}") {
            prop_assert_eq!(is_valid(&bytes), std::str::from_utf8(&bytes).is_ok());
            prop_assert!(is_valid(text.as_bytes()));
            // Invalid after a long ASCII run, on either side of the short-input limit.
            for len in [0, 7, 8, 62, 63, 64, 65] {
                let mut bad = vec![b'a'; len];
                bad.push(0x80);
                prop_assert!(!is_valid(&bad));
            }
        }

        #[test]
        fn agrees_with_std(bytes in proptest::collection::vec(any::<u8>(), 0..64), mut cuts in proptest::collection::vec(0usize..64, 0..8)) {
            cuts.sort_unstable();
            prop_assert_eq!(check_split(&bytes, &cuts).is_ok(), std::str::from_utf8(&bytes).is_ok());
        }

        #[test]
        fn valid_text_any_split(s in "\\PC{0,40}", mut cuts in proptest::collection::vec(0usize..200, 0..8)) {
            cuts.sort_unstable();
            prop_assert!(check_split(s.as_bytes(), &cuts).is_ok());
        }
    }

    #[test]
    fn every_single_byte_split() {
        let text = "κόσμε 𝄞 €".as_bytes();
        let mut v = Utf8Validator::default();
        for b in text {
            v.feed(std::slice::from_ref(b)).unwrap();
        }
        v.finish().unwrap();
    }

    #[test]
    fn fails_fast_on_first_invalid_piece() {
        let mut v = Utf8Validator::default();
        v.feed("κόσμε".as_bytes()).unwrap();
        // 0xed 0xa0 0x80 is a UTF-16 surrogate: invalid as soon as the second byte arrives.
        v.feed(&[0xed]).unwrap();
        assert_eq!(v.feed(&[0xa0]), Err(Utf8Error));
    }

    #[test]
    fn truncated_at_end() {
        let mut v = Utf8Validator::default();
        v.feed(&[0xe2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(Utf8Error));
    }
}
