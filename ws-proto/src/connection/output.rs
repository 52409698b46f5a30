//! Queued output: frame headers beside payload `Bytes`, drained without copying.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::frame::FrameHeader;

/// Bytes waiting to be written to the transport.
///
/// `Output` implements [`bytes::Buf`]: an adapter passes [`Buf::chunks_vectored`] to a
/// vectored write and then calls [`Buf::advance`] with the number of bytes written. Large
/// payloads are queued as the `Bytes` they came in (never copied again); frames with small
/// payloads are packed, header and payload together, into one contiguous buffer so that
/// many small messages go out in a few slices. An empty `Output` holds no allocation beyond
/// its queue's.
///
/// The common case, small frames written out in full, allocates nothing: they are packed
/// into `packed`, ahead of the queue, with a buffer that comes from the thread's spare
/// buffers and goes back there once written, for the next connection with something to
/// write.
#[derive(Debug, Default)]
pub struct Output {
    /// Small frames packed together; written before `chunks`, and used only while `chunks`
    /// is empty, so that order is kept.
    packed: BytesMut,
    chunks: VecDeque<Chunk>,
    len: usize,
}

#[derive(Debug)]
enum Chunk {
    /// A header (up to 14 bytes, of which `head_pos` are written) and a shared payload.
    Frame { head: [u8; FrameHeader::MAX_LEN], head_len: u8, head_pos: u8, payload: Bytes },
    /// Contiguous bytes: small frames packed together, or an HTTP response.
    Packed(BytesMut),
    /// Shared bytes sent as they are.
    Raw(Bytes),
}

impl Output {
    /// The number of bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops everything queued and frees the queue.
    pub fn clear(&mut self) {
        self.len = 0;
        if self.chunks.capacity() > 0 {
            self.chunks.clear();
            spare::put_queue(std::mem::take(&mut self.chunks));
        }
        if self.packed.capacity() > 0 {
            spare::put(std::mem::take(&mut self.packed));
        }
    }

    /// Queues a chunk, with a queue from the thread's spares if this output has none.
    fn push_chunk(&mut self, chunk: Chunk) {
        if self.chunks.capacity() == 0 {
            self.chunks = spare::take_queue();
        }
        self.chunks.push_back(chunk);
    }

    #[inline]
    pub(crate) fn push_frame(&mut self, header: &FrameHeader, payload: Bytes) {
        let mut head = [0; FrameHeader::MAX_LEN];
        let head_len = header.encode(&mut head);
        self.len += head_len + payload.len();
        if payload.len() <= PACK_LIMIT {
            self.push_packed([head.get(..head_len).unwrap_or_default(), &payload]);
        } else {
            // head_len <= 14 always fits a u8.
            self.push_chunk(Chunk::Frame { head, head_len: head_len as u8, head_pos: 0, payload });
        }
    }

    pub(crate) fn push_raw(&mut self, bytes: Bytes) {
        self.len += bytes.len();
        if bytes.len() <= PACK_LIMIT {
            self.push_packed([&bytes, &[]]);
        } else if !bytes.is_empty() {
            self.push_chunk(Chunk::Raw(bytes));
        }
    }

    /// [`push_raw`](Output::push_raw) for bytes that stay with the caller (a broadcast's
    /// frame, queued on every receiver): cloned only if queued by reference.
    pub(crate) fn push_raw_ref(&mut self, bytes: &Bytes) {
        self.len += bytes.len();
        if bytes.len() <= PACK_LIMIT {
            self.push_packed([bytes, &[]]);
        } else if !bytes.is_empty() {
            self.push_chunk(Chunk::Raw(bytes.clone()));
        }
    }

    /// Appends `parts` after everything queued: to `packed` while nothing else is queued,
    /// else to the packed chunk at the back, starting one if there is none.
    fn push_packed(&mut self, parts: [&[u8]; 2]) {
        let need = parts[0].len() + parts[1].len();
        let buf = if self.chunks.is_empty() {
            if self.packed.capacity() == 0 {
                self.packed = spare::take();
            }
            &mut self.packed
        } else if let Some(Chunk::Packed(buf)) = self.chunks.back_mut() {
            buf
        } else {
            self.push_chunk(Chunk::Packed(BytesMut::with_capacity(need.max(PACK_INITIAL))));
            match self.chunks.back_mut() {
                Some(Chunk::Packed(buf)) => buf,
                _ => return,
            }
        };
        if buf.capacity() == 0 {
            buf.reserve(need.max(PACK_INITIAL));
        }
        parts.iter().for_each(|part| buf.put_slice(part));
    }
}

impl Buf for Output {
    fn remaining(&self) -> usize {
        self.len
    }

    fn chunk(&self) -> &[u8] {
        if !self.packed.is_empty() {
            return &self.packed;
        }
        match self.chunks.front() {
            None => &[],
            Some(chunk) => chunk.first_slice(),
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        cnt = cnt.min(self.len);
        self.len -= cnt;
        let in_packed = cnt.min(self.packed.len());
        if in_packed == self.packed.len() {
            // Written out: keep the buffer at the start of its allocation.
            self.packed.clear();
        } else {
            self.packed.advance(in_packed);
        }
        cnt -= in_packed;
        if self.len == 0 {
            spare::put(std::mem::take(&mut self.packed));
        }
        while cnt > 0 {
            let Some(front) = self.chunks.front_mut() else { break };
            cnt = front.advance(cnt);
            if front.is_done() {
                self.chunks.pop_front();
            }
        }
        while self.chunks.front().is_some_and(Chunk::is_done) {
            self.chunks.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        if !self.packed.is_empty() {
            let Some(slot) = dst.get_mut(n) else { return n };
            *slot = IoSlice::new(&self.packed);
            n += 1;
        }
        for chunk in &self.chunks {
            for slice in chunk.slices() {
                if slice.is_empty() {
                    continue;
                }
                let Some(slot) = dst.get_mut(n) else { return n };
                *slot = IoSlice::new(slice);
                n += 1;
            }
        }
        n
    }
}

impl Chunk {
    fn first_slice(&self) -> &[u8] {
        let [first, second] = self.slices();
        if first.is_empty() { second } else { first }
    }

    fn slices(&self) -> [&[u8]; 2] {
        match self {
            Chunk::Frame { head, head_len, head_pos, payload } => {
                [head.get(usize::from(*head_pos)..usize::from(*head_len)).unwrap_or_default(), payload]
            }
            Chunk::Packed(buf) => [buf, &[]],
            Chunk::Raw(bytes) => [bytes, &[]],
        }
    }

    /// Consumes up to `cnt` bytes; returns what is left of `cnt`.
    fn advance(&mut self, cnt: usize) -> usize {
        match self {
            Chunk::Frame { head_len, head_pos, payload, .. } => {
                let in_head = usize::from(*head_len - *head_pos).min(cnt);
                *head_pos += in_head as u8; // in_head <= 14
                let in_payload = (cnt - in_head).min(payload.len());
                payload.advance(in_payload);
                cnt - in_head - in_payload
            }
            Chunk::Packed(buf) => {
                let n = cnt.min(buf.len());
                buf.advance(n);
                cnt - n
            }
            Chunk::Raw(bytes) => {
                let n = cnt.min(bytes.len());
                bytes.advance(n);
                cnt - n
            }
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Chunk::Frame { head_len, head_pos, payload, .. } => head_pos == head_len && payload.is_empty(),
            Chunk::Packed(buf) => buf.is_empty(),
            Chunk::Raw(bytes) => bytes.is_empty(),
        }
    }
}

/// Packing buffers kept per thread between writes.
mod spare {
    use super::*;
    use crate::spare::{pop, push};

    thread_local! {
        /// The buffer given back last. Most outputs are written whole within the wake-up
        /// that queued them, so one buffer goes round between the connections of a thread:
        /// a `Cell` serves that round with no borrow flag and no list (BENCHMARKS.md, item
        /// 20); the list below holds the others.
        pub(super) static HOT: Cell<Option<BytesMut>> = const { Cell::new(None) };
        pub(super) static SPARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
        pub(super) static QUEUES: RefCell<Vec<VecDeque<Chunk>>> = const { RefCell::new(Vec::new()) };
    }

    /// An empty chunk queue: a spare one if the thread has one.
    pub(super) fn take_queue() -> VecDeque<Chunk> {
        pop(&QUEUES).unwrap_or_default()
    }

    /// Keeps an emptied chunk queue (no larger than a few frames' worth) for the next
    /// `take_queue`.
    pub(super) fn put_queue(queue: VecDeque<Chunk>) {
        if queue.capacity() > 0 && queue.capacity() <= QUEUE_MAX && queue.is_empty() {
            push(&QUEUES, queue, SPARE_LEN);
        }
    }

    /// An empty buffer: a spare one if the thread has one, else none yet (`reserve`
    /// allocates).
    pub(super) fn take() -> BytesMut {
        HOT.try_with(Cell::take).ok().flatten().or_else(|| pop(&SPARE)).unwrap_or_default()
    }

    /// Keeps an emptied buffer for the next `take`, if it is not too large and the thread
    /// keeps few enough.
    pub(super) fn put(mut buf: BytesMut) {
        if buf.capacity() == 0 {
            return;
        }
        buf.clear();
        // Moves a buffer that was partly written back to the start of its allocation,
        // which only this `BytesMut` uses: packed bytes are only lent to writes, never
        // split off.
        if (buf.capacity() >= PACK_INITIAL || buf.try_reclaim(PACK_INITIAL)) && buf.capacity() <= SPARE_MAX {
            // Into the hot slot; the one it held, if any, joins the list.
            if let Ok(Some(previous)) = HOT.try_with(|hot| hot.replace(Some(buf))) {
                push(&SPARE, previous, SPARE_LEN);
            }
        }
    }

    /// Spares kept per thread in each list (and one packing buffer in the hot slot): one
    /// serves a worker whose writes go out whole; more serve connections whose output
    /// waits on a full socket.
    const SPARE_LEN: usize = 16;
    /// A buffer that grew past this (a burst of pipelined frames) is freed, not kept.
    pub(super) const SPARE_MAX: usize = 64 * 1024;
    /// Nor is a queue that grew past this many chunks.
    const QUEUE_MAX: usize = 64;
}

/// Payloads up to this many bytes are copied next to their header instead of being queued
/// as separate `Bytes`, so that a connection's output is often one slice, written with a
/// plain `send`. Measured on loopback TCP (2026-12-02): a `writev` of a 4-byte header and
/// a 1-2 KiB payload costs 150-290 ns more than copying both into one buffer and `send`ing
/// it; level at 4 KiB; from 8 KiB on, the copy costs more (BENCHMARKS.md, item 11).
const PACK_LIMIT: usize = 2048;
/// The first allocation of a packed chunk.
const PACK_INITIAL: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Opcode;

    fn header(len: usize) -> FrameHeader {
        FrameHeader { fin: true, rsv: 0, opcode: Opcode::Binary, mask: None, payload_len: len as u64 }
    }

    fn drain_in_steps(out: &mut Output, step: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while out.has_remaining() {
            let mut slices = [IoSlice::new(&[]); 8];
            let n = out.chunks_vectored(&mut slices);
            let mut take = step;
            let mut written = 0;
            for s in &slices[..n] {
                let k = s.len().min(take);
                all.extend_from_slice(&s[..k]);
                take -= k;
                written += k;
                if take == 0 {
                    break;
                }
            }
            out.advance(written);
        }
        all
    }

    #[test]
    fn drains_in_any_step_size() {
        for step in [1, 3, 14, 100, 1 << 20] {
            let mut out = Output::default();
            let big = Bytes::from(vec![7u8; 3000]);
            out.push_frame(&header(5), Bytes::from_static(b"hello"));
            out.push_frame(&header(3000), big.clone());
            out.push_raw(Bytes::from_static(b"raw"));
            let mut expected = vec![0x82, 5];
            expected.extend_from_slice(b"hello");
            expected.extend_from_slice(&[0x82, 126, 0x0b, 0xb8]);
            expected.extend_from_slice(&big);
            expected.extend_from_slice(b"raw");
            assert_eq!(out.len(), expected.len());
            assert_eq!(drain_in_steps(&mut out, step), expected, "step {step}");
            assert!(out.is_empty());
        }
    }

    /// Pushes of every kind between partial writes come out in the order pushed.
    #[test]
    fn pushes_between_partial_writes_keep_their_order() {
        let mut out = Output::default();
        let mut expected = Vec::new();
        let mut written = Vec::new();
        let mut seed = 12345u32;
        for round in 0..2000u32 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let n = (seed >> 8) as usize;
            match n % 4 {
                0 | 1 => {
                    let len = [0, 5, 100, PACK_LIMIT, PACK_LIMIT + 1, 3 * PACK_LIMIT][n % 6];
                    let payload = Bytes::from(vec![round as u8; len]);
                    let mut head = [0; FrameHeader::MAX_LEN];
                    let head_len = header(len).encode(&mut head);
                    expected.extend_from_slice(&head[..head_len]);
                    expected.extend_from_slice(&payload);
                    out.push_frame(&header(len), payload);
                }
                2 => {
                    let bytes = Bytes::from(vec![!(round as u8); n % (3 * PACK_LIMIT)]);
                    expected.extend_from_slice(&bytes);
                    out.push_raw(bytes);
                }
                _ => {
                    let step = n % 700;
                    written.extend_from_slice(&drain_in_steps_upto(&mut out, step));
                }
            }
            assert_eq!(out.len(), expected.len() - written.len());
        }
        written.extend_from_slice(&drain_in_steps(&mut out, 1 << 20));
        assert_eq!(written, expected);
    }

    fn drain_in_steps_upto(out: &mut Output, limit: usize) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = out.chunks_vectored(&mut slices);
        let mut all = Vec::new();
        for s in &slices[..n] {
            let k = s.len().min(limit - all.len());
            all.extend_from_slice(&s[..k]);
        }
        out.advance(all.len());
        all
    }

    /// Packing buffers this thread keeps: the hot slot's and the list's.
    fn spare_len() -> usize {
        let hot = spare::HOT.with(|hot| {
            let buf = hot.take();
            let kept = buf.is_some();
            hot.set(buf);
            kept
        });
        spare::SPARE.with(|s| s.borrow().len()) + usize::from(hot)
    }

    fn one_small_frame() -> Output {
        let mut out = Output::default();
        out.push_frame(&header(20), Bytes::from_static(&[1; 20]));
        out
    }

    #[test]
    fn buffers_given_back_in_a_row_are_all_kept_and_reused() {
        let mut outputs: Vec<Output> = (0..3).map(|_| one_small_frame()).collect();
        let before = spare_len();
        let buffers: Vec<usize> = outputs.iter().map(|out| out.packed.as_ptr() as usize).collect();
        for out in &mut outputs {
            out.advance(22);
        }
        assert_eq!(spare_len(), before + 3, "each kept: one in the hot slot, the others in the list");
        let again: Vec<Output> = (0..3).map(|_| one_small_frame()).collect();
        assert_eq!(spare_len(), before);
        for out in &again {
            assert!(buffers.contains(&(out.packed.as_ptr() as usize)), "a kept buffer, not a new one");
        }
    }

    #[test]
    fn a_written_out_packing_buffer_serves_the_next_output() {
        let mut first = one_small_frame();
        let before = spare_len();
        first.advance(22);
        assert_eq!(spare_len(), before + 1, "given back once written");
        assert_eq!(first.packed.capacity(), 0, "an empty output holds no buffer");
        let _second = one_small_frame();
        assert_eq!(spare_len(), before, "taken by the next output");
        // A buffer that grew large is freed rather than kept.
        let mut big = Output::default();
        for _ in 0..spare::SPARE_MAX / 22 + 1 {
            big.push_frame(&header(20), Bytes::from_static(&[3; 20]));
        }
        big.clear();
        assert_eq!(spare_len(), before);
    }

    #[test]
    fn a_cleared_queue_serves_the_next_output() {
        let queues = || spare::QUEUES.with(|q| q.borrow().len());
        let before = queues();
        let mut first = Output::default();
        let len = PACK_LIMIT + 1;
        first.push_frame(&header(len), Bytes::from(vec![1; len]));
        first.clear();
        assert_eq!(first.chunks.capacity(), 0, "a cleared output holds no queue");
        assert_eq!(queues(), before + 1);
        let mut second = Output::default();
        second.push_raw(Bytes::from(vec![2; len]));
        assert_eq!(queues(), before);
        assert_eq!(drain_in_steps(&mut second, 100), vec![2; len]);
    }

    #[test]
    fn small_frames_pack_into_one_slice() {
        let mut out = Output::default();
        for _ in 0..16 {
            out.push_frame(&header(20), Bytes::from_static(&[1; 20]));
        }
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.chunks_vectored(&mut slices), 1);
        assert_eq!(slices[0].len(), 16 * 22);
    }
}
