//! Payload masking (RFC 6455 §5.3): a word-at-a-time fast path beside the scalar reference.

/// XORs `buf` with `key`, as if `buf` started `offset` bytes into the payload.
///
/// The offset lets a payload be unmasked in pieces as it arrives. Masking is its own
/// inverse. Works a 32-byte block at a time (the compiler turns the block into SIMD), then
/// finishes byte by byte; always gives the same bytes as [`apply_mask_scalar`].
///
/// # Example
/// ```
/// use ws_proto::mask::{apply_mask, apply_mask_scalar};
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut a = *b"Hello, masking!";
/// let mut b = a;
/// apply_mask(&mut a, key, 0);
/// apply_mask_scalar(&mut b, key, 0);
/// assert_eq!(a, b);
/// apply_mask(&mut a, key, 0);
/// assert_eq!(&a, b"Hello, masking!");
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for chunk in block.chunks_exact_mut(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
        }
    }
    // Each block and word is a multiple of 4 bytes long, so every tail starts at key phase 0.
    let mut words = blocks.into_remainder().chunks_exact_mut(4);
    let quad = u32::from_ne_bytes(key);
    for word in &mut words {
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(word);
        word.copy_from_slice(&(u32::from_ne_bytes(bytes) ^ quad).to_ne_bytes());
    }
    for (byte, k) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// The reference: one byte at a time, `buf[i] ^= key[(offset + i) % 4]`.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (byte, k) in buf.iter_mut().zip(key.iter().cycle().skip(offset % 4)) {
        *byte ^= k;
    }
}

/// The key as seen from `offset` bytes into the payload: `key` rotated left by
/// `offset % 4` bytes (one rotate of a word, not a call into the slice rotation).
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // In little-endian order the first byte is the lowest: the bytes move down.
    let bits = (offset % 4) as u32 * 8;
    u32::from_le_bytes(key).rotate_right(bits).to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_equals_scalar(data in proptest::collection::vec(any::<u8>(), 0..300), key: [u8; 4], offset in 0usize..16, skip in 0usize..8) {
            let skip = skip.min(data.len());
            let mut fast = data.clone();
            let mut slow = data.clone();
            // An unaligned start exercises every alignment of the fast path.
            apply_mask(&mut fast[skip..], key, offset);
            apply_mask_scalar(&mut slow[skip..], key, offset);
            prop_assert_eq!(&fast, &slow);
        }

        #[test]
        fn pieces_equal_whole(data in proptest::collection::vec(any::<u8>(), 0..200), key: [u8; 4], cut in 0usize..200) {
            let cut = cut.min(data.len());
            let mut whole = data.clone();
            apply_mask(&mut whole, key, 0);
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, key, 0);
            apply_mask(b, key, cut);
            prop_assert_eq!(whole, pieces);
        }
    }

    #[test]
    fn rfc6455_5_7_masked_hello() {
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }
}
