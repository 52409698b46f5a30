//! The per-message codec (RFC 7692 §7.2): deflate with the trailing `00 00 ff ff` removed,
//! and inflate in bounded steps.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::negotiate::{DeflateParams, MAX_WINDOW_BITS, clamp_window_bits};
use crate::Role;
use crate::error::ProtocolError;

/// Compresses the messages one endpoint sends on one connection.
///
/// With context takeover in our direction the zlib state is allocated on the first
/// compressed message and kept for the connection; without it the state comes from a
/// per-thread pool at the start of each message and goes back at its end, so nothing is
/// held between messages (see the [module docs](super)).
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use ws_proto::Role;
/// use ws_proto::deflate::{Compressor, DeflateParams};
/// let mut compressor = Compressor::new(&DeflateParams::default(), Role::Server, 6, 8);
/// let mut out = BytesMut::new();
/// compressor.compress(b"Hello", true, &mut out);
/// assert_eq!(&out[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]); // RFC 7692 §7.2.3.1
/// ```
#[derive(Debug)]
pub struct Compressor {
    state: Option<Box<Compress>>,
    /// The zlib window, 9–15.
    window_bits: u8,
    /// 0–9; 0 (stored blocks only) when the agreed window is 8 bits.
    level: u32,
    context_takeover: bool,
}

impl Compressor {
    /// A compressor for `role`'s direction under `params`: a server compresses with the
    /// `server_*` parameters, a client with the `client_*` ones. `level` is clamped to 0–9.
    /// `mem_level` is accepted for the reference's settings but has no effect: flate2 does
    /// not expose it, and its zlib-rs backend always uses 8.
    pub fn new(params: &DeflateParams, role: Role, level: u32, mem_level: u8) -> Compressor {
        let _ = mem_level;
        let (window_bits, no_context_takeover) = match role {
            Role::Server => (params.server_max_window_bits(), params.server_no_context_takeover()),
            Role::Client => (params.client_max_window_bits(), params.client_no_context_takeover()),
        };
        let (window_bits, level) = zlib_deflate_settings(window_bits, level);
        Compressor { state: None, window_bits, level, context_takeover: !no_context_takeover }
    }

    /// Compresses one piece of a message, appending it to `out`.
    ///
    /// Every piece is sync-flushed, so its bytes can go out as a frame at once. With `fin`
    /// (the message's last piece) the trailing `00 00 ff ff` is removed (RFC 7692 §7.2.1);
    /// an empty last piece after a flushed one becomes the single byte `00` (§7.2.3.6). Then,
    /// without context takeover in our direction, the state is reset and released.
    pub fn compress(&mut self, data: &[u8], fin: bool, out: &mut BytesMut) {
        let mut state = match self.state.take() {
            Some(state) => state,
            None if self.context_takeover => new_deflate(self.window_bits, self.level),
            None => pool::take_deflate(self.window_bits, self.level),
        };
        let start = out.len();
        deflate_sync(&mut state, data, out);
        if !fin {
            self.state = Some(state);
            return;
        }
        finish_message(out, start);
        if self.context_takeover {
            self.state = Some(state);
        } else {
            pool::put_deflate(self.window_bits, self.level, state);
        }
    }

    /// Whether compressing in this direction can shrink data. False when the agreed window
    /// is 8 bits, which zlib cannot deflate with, or when `level` is 0: then
    /// [`Compressor::compress`] emits stored blocks only (valid for any window, but larger
    /// than the input), and callers should send such messages uncompressed, as RFC 7692
    /// allows.
    pub fn can_compress(&self) -> bool {
        self.level > 0
    }

    /// Whether this direction keeps its LZ77 window from one message to the next. A message
    /// made by [`compress_once`] may be sent in place of [`Compressor::compress`]'s output
    /// only when this is false.
    pub fn has_context_takeover(&self) -> bool {
        self.context_takeover
    }

    /// Whether zlib state is allocated now: with context takeover after the first message,
    /// without it only in the middle of a fragmented message.
    pub fn has_state(&self) -> bool {
        self.state.is_some()
    }
}

/// Inflates the compressed messages one endpoint receives on one connection.
///
/// # Example
/// ```
/// use bytes::BytesMut;
/// use ws_proto::Role;
/// use ws_proto::deflate::{DeflateParams, Decompressor};
/// let mut decompressor = Decompressor::new(&DeflateParams::default(), Role::Client);
/// let mut out = BytesMut::new();
/// let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]; // RFC 7692 §7.2.3.1
/// decompressor.decompress(&hello[..3], false, &mut out, 1024).unwrap();
/// decompressor.decompress(&hello[3..], true, &mut out, 1024).unwrap();
/// assert_eq!(&out[..], b"Hello");
/// ```
#[derive(Debug)]
pub struct Decompressor {
    state: Option<Box<Decompress>>,
    /// The zlib window, 9–15.
    window_bits: u8,
    context_takeover: bool,
    /// Inflated bytes of the message in progress.
    message_len: usize,
    /// A BFINAL block ended the stream and nothing was fed since.
    stream_ended: bool,
}

impl Decompressor {
    /// A decompressor for what the peer of `role` sends under `params`: a server inflates
    /// with the `client_*` parameters, a client with the `server_*` ones.
    pub fn new(params: &DeflateParams, role: Role) -> Decompressor {
        let (window_bits, no_context_takeover) = match role {
            Role::Server => (params.client_max_window_bits(), params.client_no_context_takeover()),
            Role::Client => (params.server_max_window_bits(), params.server_no_context_takeover()),
        };
        // An agreed 8-bit window is inflated with 9 bits: a larger inflate window is always safe.
        let window_bits = clamp_window_bits(window_bits).max(ZLIB_MIN_WINDOW_BITS);
        Decompressor {
            state: None,
            window_bits,
            context_takeover: !no_context_takeover,
            message_len: 0,
            stream_ended: false,
        }
    }

    /// Inflates one piece (a frame's payload) of a compressed message, appending to `out`;
    /// with `fin` it also feeds the `00 00 ff ff` the sender removed (RFC 7692 §7.2.2).
    ///
    /// `limit` bounds the inflated size of the whole message, counted across this message's
    /// pieces. Inflation runs in steps of at most 64 KiB, so `out` never holds more than
    /// `limit` inflated bytes of the message (its capacity follows `BytesMut`'s growth, at
    /// most twice that). A deflate block with BFINAL set ends the stream; what follows is
    /// inflated as a new stream (§7.2.3.4). After `fin`, without context takeover in the
    /// peer's direction, the state is reset and released.
    ///
    /// # Errors
    /// [`ProtocolError::MessageTooBig`] with `limit` as soon as the message would inflate
    /// past `limit` bytes; [`ProtocolError::InvalidCompressedData`] for data that does not
    /// inflate. After an error the state is dropped and `out` keeps what was inflated before
    /// it; the connection is expected to fail.
    pub fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        let mut state = match self.state.take() {
            Some(state) => state,
            None if self.context_takeover => Box::new(Decompress::new_with_window_bits(false, self.window_bits)),
            None => pool::take_inflate(),
        };
        if let Err(error) = self.inflate(&mut state, input, fin, out, limit) {
            tracing::trace!(%error, "inflate failed");
            self.message_len = 0;
            self.stream_ended = false;
            return Err(error);
        }
        if !fin {
            self.state = Some(state);
        } else {
            self.message_len = 0;
            self.stream_ended = false;
            if self.context_takeover {
                self.state = Some(state);
            } else {
                pool::put_inflate(state);
            }
        }
        Ok(())
    }

    /// Whether zlib state is allocated now: with context takeover after the first message,
    /// without it only in the middle of a fragmented message.
    pub fn has_state(&self) -> bool {
        self.state.is_some()
    }
}

/// Compresses a whole message with fresh state and no context, as [`Compressor::compress`]
/// with `fin` would on a new connection; for example to encode a broadcast once.
///
/// The result suits every connection whose direction agreed at least `window_bits` and has
/// no context takeover ([`Compressor::has_context_takeover`] false): a receiver keeping
/// context would resolve later messages against this one, which the connection's own
/// compressor never saw. `window_bits` is clamped to 8–15 (8 gives stored blocks, see
/// [`Compressor::can_compress`]) and `level` to 0–9.
///
/// # Example
/// ```
/// let hello = ws_proto::deflate::compress_once(b"Hello", 15, 6);
/// assert_eq!(&hello[..], [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
/// ```
pub fn compress_once(data: &[u8], window_bits: u8, level: u32) -> Bytes {
    let (window_bits, level) = zlib_deflate_settings(window_bits, level);
    let mut state = pool::take_deflate(window_bits, level);
    let mut out = BytesMut::new();
    deflate_sync(&mut state, data, &mut out);
    finish_message(&mut out, 0);
    pool::put_deflate(window_bits, level, state);
    // A broadcast may be queued on many connections: don't let it pin spare capacity.
    if out.capacity() - out.len() > out.len() / 4 + 64 {
        return Bytes::copy_from_slice(&out);
    }
    out.freeze()
}

/// zlib's window and level for an agreed window: zlib cannot deflate with 8 bits (it would
/// silently use 9), so an 8-bit window gets level 0, whose stored blocks hold no distances.
fn zlib_deflate_settings(window_bits: u8, level: u32) -> (u8, u32) {
    let window_bits = clamp_window_bits(window_bits);
    let level = if window_bits < ZLIB_MIN_WINDOW_BITS { 0 } else { level.min(9) };
    (window_bits.max(ZLIB_MIN_WINDOW_BITS), level)
}

fn new_deflate(window_bits: u8, level: u32) -> Box<Compress> {
    Box::new(Compress::new_with_window_bits(Compression::new(level), false, window_bits))
}

/// Deflates all of `data` with a sync flush, appending to `out`.
fn deflate_sync(state: &mut Compress, mut data: &[u8], out: &mut BytesMut) {
    loop {
        let len = out.len();
        // Room for the input stored with block headers, plus the flush marker, in steps so
        // that a large compressible message does not leave `out` with unused capacity.
        let room = (data.len() + data.len() / 64 + 64).min(MAX_DEFLATE_STEP);
        out.resize(len + room, 0);
        let (in_before, out_before) = (state.total_in(), state.total_out());
        let status = state.compress(data, out.get_mut(len..).unwrap_or_default(), FlushCompress::Sync);
        let consumed = usize::try_from(state.total_in() - in_before).unwrap_or(usize::MAX);
        let written = usize::try_from(state.total_out() - out_before).unwrap_or(usize::MAX);
        out.truncate(len.saturating_add(written));
        data = data.get(consumed..).unwrap_or_default();
        if let Err(error) = status {
            // zlib reports errors only for misuse (a flush after Z_FINISH), never done here.
            tracing::debug!(%error, "deflate failed");
            return;
        }
        // zlib: the flush is complete once a call returns with output space left.
        if data.is_empty() && written < room {
            return;
        }
    }
}

/// Ends a message whose output started at `start`: RFC 7692 §7.2.1 removes the trailing
/// `00 00 ff ff`; an empty result (zlib emits nothing for a flush right after a flush)
/// becomes `00`, so that the receiver's appended bytes complete an empty stored block.
fn finish_message(out: &mut BytesMut, start: usize) {
    let end = out.len();
    if end >= start + SYNC_TAIL.len() && out.ends_with(&SYNC_TAIL) {
        out.truncate(end - SYNC_TAIL.len());
    }
    if out.len() == start {
        out.extend_from_slice(&[0x00]);
    }
}

impl Decompressor {
    /// Inflates `input` (and with `fin` the sync tail) into `out`, keeping the message's
    /// inflated size within `limit`.
    fn inflate(
        &mut self,
        state: &mut Decompress,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), ProtocolError> {
        let tail: &[u8] = if fin { &SYNC_TAIL } else { &[] };
        let mut step = input.len().saturating_mul(4).clamp(MIN_INFLATE_STEP, MAX_INFLATE_STEP);
        for (mut data, is_tail) in [(input, false), (tail, true)] {
            // A stream that ended exactly at the payload's end (a BFINAL block without the
            // RFC 7692 §7.2.3.4 trailing 00) needs no tail: fed to the new stream it would
            // leave that stream inside a stored block.
            if is_tail && (data.is_empty() || self.stream_ended) {
                break;
            }
            if is_tail {
                // An empty stored block: it brings no output of its own, so it gets little
                // room (a message's whole buffer would otherwise grow, and be zeroed, for it).
                step = MIN_INFLATE_STEP;
            }
            loop {
                let room = limit.saturating_sub(self.message_len).min(step);
                let (in_before, out_before) = (state.total_in(), state.total_out());
                let status = if room == 0 {
                    // At the limit: one more byte of output means the message is too big.
                    let mut probe = [0u8; 1];
                    state.decompress(data, &mut probe, FlushDecompress::None)
                } else {
                    let len = out.len();
                    out.resize(len + room, 0);
                    let status = state.decompress(data, out.get_mut(len..).unwrap_or_default(), FlushDecompress::None);
                    let written = usize::try_from(state.total_out() - out_before).unwrap_or(usize::MAX);
                    out.truncate(len.saturating_add(written));
                    status
                };
                let written = usize::try_from(state.total_out() - out_before).unwrap_or(usize::MAX);
                let consumed = usize::try_from(state.total_in() - in_before).unwrap_or(usize::MAX);
                if room == 0 && written > 0 {
                    return Err(ProtocolError::MessageTooBig { limit });
                }
                self.message_len = self.message_len.saturating_add(written);
                data = data.get(consumed..).unwrap_or_default();
                if consumed > 0 {
                    self.stream_ended = false;
                }
                match status {
                    Ok(Status::StreamEnd) => {
                        // A BFINAL block ended the stream (§7.2.3.4): what follows in the
                        // payload starts a new one; the rest of the sync tail is not needed.
                        // (reset keeps the window bits the state was made with)
                        state.reset(false);
                        self.stream_ended = true;
                        if is_tail {
                            break;
                        }
                    }
                    Ok(Status::Ok | Status::BufError) if written == 0 && consumed == 0 && !data.is_empty() => {
                        // No progress with input left: zlib would spin here.
                        return Err(ProtocolError::InvalidCompressedData);
                    }
                    Ok(Status::Ok | Status::BufError) => {}
                    Err(_) => return Err(ProtocolError::InvalidCompressedData),
                }
                // zlib: everything is out once input is used up and a call left output space.
                if data.is_empty() && written < room.max(1) {
                    break;
                }
                step = step.saturating_mul(2).min(MAX_INFLATE_STEP);
            }
        }
        Ok(())
    }
}

/// Per-thread zlib states for directions without context takeover, so that a message costs
/// a reset (clearing the hash table) rather than an allocation of several hundred KiB.
mod pool {
    use super::*;

    struct Pool {
        deflate: Vec<PooledDeflate>,
        /// One 15-bit inflate state serves every window: a larger window is always safe.
        inflate: Option<Box<Decompress>>,
    }

    struct PooledDeflate {
        window_bits: u8,
        level: u32,
        state: Box<Compress>,
    }

    thread_local! {
        static POOL: RefCell<Pool> = const { RefCell::new(Pool { deflate: Vec::new(), inflate: None }) };
    }

    /// A deflate state for `window_bits` and `level`, fresh or reset.
    pub(super) fn take_deflate(window_bits: u8, level: u32) -> Box<Compress> {
        let pooled = POOL.try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            let index = pool.deflate.iter().position(|p| p.window_bits == window_bits && p.level == level)?;
            Some(pool.deflate.swap_remove(index).state)
        });
        pooled.ok().flatten().unwrap_or_else(|| new_deflate(window_bits, level))
    }

    /// Resets `state` and keeps it for the next message on this thread.
    pub(super) fn put_deflate(window_bits: u8, level: u32, mut state: Box<Compress>) {
        state.reset();
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                if pool.deflate.len() >= MAX_POOLED_DEFLATE {
                    pool.deflate.remove(0);
                }
                pool.deflate.push(PooledDeflate { window_bits, level, state });
            }
        });
    }

    /// A 15-bit inflate state, fresh or reset.
    pub(super) fn take_inflate() -> Box<Decompress> {
        let pooled = POOL.try_with(|pool| pool.try_borrow_mut().ok()?.inflate.take());
        pooled.ok().flatten().unwrap_or_else(|| Box::new(Decompress::new_with_window_bits(false, MAX_WINDOW_BITS)))
    }

    /// Resets `state` (a 15-bit one from [`take_inflate`]) and keeps it for the next message.
    pub(super) fn put_inflate(mut state: Box<Decompress>) {
        state.reset(false);
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                pool.inflate = Some(state);
            }
        });
    }

    /// Distinct (window, level) pairs kept per thread; a server normally uses one.
    const MAX_POOLED_DEFLATE: usize = 4;
}

/// The empty stored block's tail that ends every sync flush (RFC 7692 §7.2.1).
const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The smallest window zlib deflates and inflates with (flate2 asserts 9–15).
const ZLIB_MIN_WINDOW_BITS: u8 = 9;

/// The most output one deflate call is given, in bytes.
const MAX_DEFLATE_STEP: usize = 64 * 1024;

/// The first inflate step when the input is tiny, in bytes.
const MIN_INFLATE_STEP: usize = 512;

/// The largest inflate step, in bytes: the most `out` grows by before the limit is checked.
const MAX_INFLATE_STEP: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn params(server_bits: u8, client_bits: u8, server_nct: bool, client_nct: bool) -> DeflateParams {
        DeflateParams::new(server_bits, client_bits)
            .unwrap()
            .with_server_no_context_takeover(server_nct)
            .with_client_no_context_takeover(client_nct)
    }

    /// A whole compressed message inflated in one call leaves its buffer at most ~2× its
    /// size (the buffer's own doubling): the sync tail, which inflates to nothing, used to
    /// be given the doubled step of the last pass as room (48 KB here), which grew a 16 KiB
    /// message's buffer to 71 KB (pinned while the message is held) and zeroed it.
    #[test]
    fn inflating_a_whole_message_keeps_its_buffer_near_its_size() {
        let mut text = String::new();
        let mut i = 0u32;
        while text.len() < 16 * 1024 {
            text.push_str(&format!("{{\"id\":{i},\"name\":\"user{}\",\"score\":{}}},", i * 7 % 113, i * 31 % 997));
            i += 1;
        }
        let compressed = compress_once(text.as_bytes(), 15, 6);
        assert!(compressed.len() * 4 < text.len(), "compressible enough for several steps");
        let mut decompressor = Decompressor::new(&params(15, 15, false, true), Role::Server);
        let mut out = BytesMut::new();
        decompressor.decompress(&compressed, true, &mut out, 1 << 20).unwrap();
        assert_eq!(&out[..], text.as_bytes());
        assert!(out.capacity() <= 5 * out.len() / 2, "capacity {} for {} bytes", out.capacity(), out.len());
    }

    #[test]
    fn no_context_takeover_keeps_no_state_between_messages() {
        let p = params(15, 15, true, true);
        let mut compressor = Compressor::new(&p, Role::Server, 6, 8);
        let mut decompressor = Decompressor::new(&p, Role::Client);
        let mut wire = BytesMut::new();
        compressor.compress(b"Hello, ", false, &mut wire);
        assert!(compressor.has_state());
        compressor.compress(b"world", true, &mut wire);
        assert!(!compressor.has_state());
        let mut out = BytesMut::new();
        decompressor.decompress(&wire[..3], false, &mut out, 100).unwrap();
        assert!(decompressor.has_state());
        decompressor.decompress(&wire[3..], true, &mut out, 100).unwrap();
        assert!(!decompressor.has_state());
        assert_eq!(&out[..], b"Hello, world");
    }

    #[test]
    fn context_takeover_allocates_lazily_and_keeps_state() {
        let p = params(15, 15, false, false);
        let mut compressor = Compressor::new(&p, Role::Client, 6, 8);
        assert!(!compressor.has_state());
        compressor.compress(b"Hello", true, &mut BytesMut::new());
        assert!(compressor.has_state());
    }

    #[test]
    fn eight_bit_window_sends_stored_blocks() {
        let p = params(8, 8, false, false);
        let mut compressor = Compressor::new(&p, Role::Server, 9, 8);
        assert!(!compressor.can_compress());
        let mut wire = BytesMut::new();
        compressor.compress(&[b'a'; 1000], true, &mut wire);
        assert!(wire.len() > 1000);
        let mut out = BytesMut::new();
        Decompressor::new(&p, Role::Client).decompress(&wire, true, &mut out, 1000).unwrap();
        assert_eq!(&out[..], &[b'a'; 1000][..]);
        assert!(Compressor::new(&params(9, 8, false, false), Role::Server, 6, 8).can_compress());
    }

    #[test]
    fn empty_last_piece_after_a_flushed_piece_is_one_zero_byte() {
        let p = params(15, 15, false, false);
        let mut compressor = Compressor::new(&p, Role::Server, 6, 8);
        let mut decompressor = Decompressor::new(&p, Role::Client);
        for _ in 0..2 {
            let (mut first, mut last) = (BytesMut::new(), BytesMut::new());
            compressor.compress(b"abc", false, &mut first);
            compressor.compress(b"", true, &mut last);
            assert_eq!(&last[..], [0x00]);
            let mut out = BytesMut::new();
            decompressor.decompress(&first, false, &mut out, 10).unwrap();
            decompressor.decompress(&last, true, &mut out, 10).unwrap();
            assert_eq!(&out[..], b"abc");
        }
    }

    #[test]
    fn limit_is_exact() {
        let wire = compress_once(&[7u8; 1000], 15, 6);
        let p = DeflateParams::default();
        let mut out = BytesMut::new();
        assert!(Decompressor::new(&p, Role::Server).decompress(&wire, true, &mut out, 1000).is_ok());
        assert_eq!(out.len(), 1000);
        let mut out = BytesMut::new();
        let err = Decompressor::new(&p, Role::Server).decompress(&wire, true, &mut out, 999);
        assert_eq!(err, Err(ProtocolError::MessageTooBig { limit: 999 }));
        assert_eq!(out.len(), 999);
    }
}
