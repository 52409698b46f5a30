//! Large message buffers, kept per thread and reused once the message they held is gone.
//!
//! A received message is handed out as `Bytes`, so its buffer is freed when the last
//! receiver drops it (for an echo, once the echo is written). For large messages that is
//! slow: glibc returns a freed buffer of a megabyte to the kernel (`madvise`), or trims the
//! top of its heap after a burst of smaller ones, and the next message faults in and zeroes
//! every page again, which measured ~45% of the server's CPU per echo of a 1 MiB message.
//! Instead, a message whose buffer reaches [`POOLED_MIN`] is split off a pooled
//! `BytesMut`, and that `BytesMut` goes back to the pool: once the message's `Bytes` are
//! dropped, `try_reclaim` reuses the whole allocation with no copy and no fault. A pooled
//! buffer whose message is still held elsewhere is simply skipped.
//!
//! Memory is bounded: at most [`POOL_BYTES`] of capacity per thread, and a buffer is reused
//! only for a message of at least an eighth of its size, so a small message never pins a
//! large allocation. An idle connection holds nothing here.

use std::cell::RefCell;

use bytes::BytesMut;

thread_local! {
    /// Emptied message buffers, each with the size of its whole allocation.
    static POOL: RefCell<Vec<(BytesMut, usize)>> = const { RefCell::new(Vec::new()) };
}

/// Makes room in `buf` for `additional` more bytes, from a pooled buffer when the message
/// becomes large; otherwise as `BytesMut::reserve` does.
pub(super) fn reserve(buf: &mut BytesMut, additional: usize) {
    let need = buf.len().saturating_add(additional);
    if need >= POOLED_MIN
        && let Some(mut pooled) = take(need, usize::MAX)
    {
        pooled.extend_from_slice(buf);
        *buf = pooled;
        return;
    }
    buf.reserve(additional);
}

/// As [`reserve`], but first takes from the pool a buffer with room for the whole frame (up
/// to `frame_end` bytes of the message) when the `arrived` bytes make the frame header's
/// claim plausible: the buffer is at most [`CLAIM_TRUST`] times what arrived. Growing as
/// bytes arrive copies what came so far at every doubling (a 1 MiB message read 64 KiB at
/// a time was copied ~180 KiB over two fresh allocations before it reached a pooled
/// buffer); now the rest lands in place. A claim never allocates: only memory the pool
/// already keeps is taken, and a peer that announces a large frame and stops holds at most
/// `CLAIM_TRUST` times what it sent.
pub(super) fn reserve_for_frame(buf: &mut BytesMut, additional: usize, frame_end: usize, arrived: usize) {
    let need = buf.len().saturating_add(additional);
    if need >= POOLED_MIN
        && frame_end > need
        && let Some(mut pooled) = take(frame_end, arrived.saturating_mul(CLAIM_TRUST))
    {
        pooled.extend_from_slice(buf);
        *buf = pooled;
        return;
    }
    reserve(buf, additional);
}

/// Ends a message: returns its bytes, and keeps a large buffer for the next message.
pub(super) fn finish(mut buf: BytesMut) -> bytes::Bytes {
    let whole = buf.capacity();
    if whole < POOLED_MIN {
        return buf.freeze();
    }
    let message = buf.split().freeze();
    put(buf, whole);
    message
}

/// Makes room for a read in a thread's read buffer, off which
/// [`Connection::receive_buf`](super::Connection::receive_buf) splits large messages:
/// keeps it while it has [`READ_ROOM_MIN`] to spare, moves it back to the front of its
/// allocation once nothing split off it is held, and otherwise leaves it to the pool (to
/// be reused once those messages are gone) and takes another of [`READ_BUF_SIZE`].
#[cfg(feature = "server")]
#[inline]
pub(crate) fn ready_read_buf(slot: &mut Option<BytesMut>) -> &mut BytesMut {
    let buf = slot.get_or_insert_with(|| BytesMut::with_capacity(READ_BUF_SIZE));
    if buf.capacity() - buf.len() < READ_ROOM_MIN {
        renew_read_buf(buf);
    }
    buf
}

/// Gives `buf`, short of room, its whole allocation back if nothing split off it is held,
/// or else swaps it for another.
#[cfg(feature = "server")]
#[cold]
fn renew_read_buf(buf: &mut BytesMut) {
    if !buf.try_reclaim(READ_BUF_SIZE) {
        // Only a buffer of exactly this size: a larger one would let a message split off it
        // pin more than eight times its size.
        let next = take_exact(READ_BUF_SIZE).unwrap_or_else(|| BytesMut::with_capacity(READ_BUF_SIZE));
        put(std::mem::replace(buf, next), READ_BUF_SIZE);
    }
}

/// An empty buffer whose allocation is exactly `whole` bytes and unused now.
#[cfg(feature = "server")]
fn take_exact(whole: usize) -> Option<BytesMut> {
    POOL.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let index = pool.iter_mut().position(|(b, w)| *w == whole && b.try_reclaim(whole))?;
        Some(pool.swap_remove(index).0)
    })
    .ok()
    .flatten()
}

/// An empty buffer with room for `need` bytes, the whole of an allocation of at most
/// `max_whole` bytes that nobody else uses now.
fn take(need: usize, max_whole: usize) -> Option<BytesMut> {
    POOL.try_with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        let index = pool.iter_mut().position(|(b, whole)| {
            // Asking for the whole allocation: `try_reclaim` moves the (empty) buffer to
            // its front, copying nothing, only once the message split off it was dropped
            // (the allocation is unique). A spare tail beside a message still held is
            // never taken, so that `whole` stays exactly what a buffer pins.
            need <= *whole && *whole / 8 <= need && *whole <= max_whole && b.try_reclaim(*whole)
        })?;
        Some(pool.swap_remove(index).0)
    })
    .ok()
    .flatten()
}

/// Keeps `buf` (an emptied message buffer whose allocation is `whole` bytes) if the
/// per-thread budget allows.
fn put(buf: BytesMut, whole: usize) {
    let _ = POOL.try_with(|pool| {
        let Ok(mut pool) = pool.try_borrow_mut() else { return };
        if pool.len() < POOL_LEN && held(&pool).saturating_add(whole) <= POOL_BYTES {
            pool.push((buf, whole));
        }
    });
}

fn held(pool: &[(BytesMut, usize)]) -> usize {
    pool.iter().map(|(_, whole)| whole).sum()
}

/// Messages whose buffer reaches this size take it from the pool. Not much larger: with
/// 16 KiB messages pipelined, fresh buffers made glibc grow and trim the top of its heap
/// over and over (page faults and zeroing were ~15% of the server's CPU; 64 KiB here gave
/// 13.5 µs of server CPU per echo, 8 KiB 9.1 µs, `benches/run.sh` echo-16KiB-c200-k16).
pub(super) const POOLED_MIN: usize = 8 * 1024;
/// A thread's read buffer (see [`ready_read_buf`]): a message split off it is at least
/// [`POOLED_MIN`], an eighth of it.
#[cfg(feature = "server")]
const READ_BUF_SIZE: usize = 64 * 1024;
/// Less room than this left in the read buffer and the next read starts a new one.
#[cfg(feature = "server")]
const READ_ROOM_MIN: usize = 16 * 1024;
/// A frame's claimed size is trusted with a pooled buffer of at most this many times the
/// bytes of its message that arrived (a 1 MiB frame: from 32 KiB on).
const CLAIM_TRUST: usize = 32;
/// Buffers kept per thread: enough for a worker whose connections have a large message
/// each in flight at once (the 1 MiB benchmark runs 10 connections on one worker; with 4
/// buffers, a third of its messages still faulted in fresh pages).
const POOL_LEN: usize = 16;
/// Capacity kept per thread, all buffers together: what a worker keeps after a burst of
/// large messages, at most.
const POOL_BYTES: usize = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_len() -> usize {
        POOL.with(|pool| pool.borrow().len())
    }

    fn clear() {
        POOL.with(|pool| pool.borrow_mut().clear());
    }

    /// 16 KiB messages pipelined made glibc grow and trim its heap for every burst when
    /// they were not pooled (see `POOLED_MIN`).
    #[test]
    fn a_16_kib_message_buffer_is_reused() {
        clear();
        let mut buf = BytesMut::new();
        reserve(&mut buf, 16 * 1024 + 100);
        buf.extend_from_slice(&[1; 16 * 1024]);
        let message = finish(buf);
        let first = message.as_ptr();
        assert_eq!(pool_len(), 1, "kept in the pool");
        drop(message);
        let mut next = BytesMut::new();
        reserve(&mut next, 16 * 1024);
        assert_eq!(pool_len(), 0, "taken from the pool");
        assert_eq!(next.as_ptr(), first, "the allocation is reused");
    }

    #[test]
    fn a_dropped_large_message_gives_its_allocation_to_the_next() {
        clear();
        let mut buf = BytesMut::new();
        reserve(&mut buf, 100_000);
        buf.extend_from_slice(&[7; 100_000]);
        let message = finish(buf);
        let first = message.as_ptr();
        assert_eq!(pool_len(), 1);
        drop(message);
        let mut next = BytesMut::new();
        reserve(&mut next, 90_000);
        assert_eq!(next.as_ptr(), first, "the allocation is reused");
        assert_eq!(pool_len(), 0);
    }

    #[test]
    fn a_held_message_is_never_overwritten() {
        clear();
        let mut buf = BytesMut::new();
        reserve(&mut buf, 100_000);
        buf.extend_from_slice(&[1; 100_000]);
        let held = finish(buf);
        let mut next = BytesMut::new();
        reserve(&mut next, 100_000);
        assert_eq!(pool_len(), 1, "the held message's buffer stays in the pool, unused");
        next.extend_from_slice(&[2; 100_000]);
        let second = finish(next);
        assert!(held.iter().all(|&b| b == 1));
        assert!(second.iter().all(|&b| b == 2));
    }

    #[test]
    fn the_kept_capacity_is_bounded() {
        clear();
        let messages: Vec<_> = (0..10)
            .map(|_| {
                let mut buf = BytesMut::new();
                reserve(&mut buf, 3 * 1024 * 1024);
                buf.extend_from_slice(&[0; 16]);
                finish(buf)
            })
            .collect();
        let kept = POOL.with(|pool| held(&pool.borrow()));
        assert!(pool_len() <= POOL_LEN);
        assert!(kept <= POOL_BYTES, "{kept}");
        drop(messages);
    }

    /// What the driver does with the thread's read buffer: reads `n` bytes into it, splits
    /// a message of `message` bytes off the front (as `Connection::receive_buf` does) and
    /// consumes the rest.
    #[cfg(feature = "server")]
    fn read_and_split(slot: &mut Option<BytesMut>, n: usize, message: usize) -> bytes::Bytes {
        let buf = ready_read_buf(slot);
        assert!(buf.capacity() >= READ_ROOM_MIN);
        buf.extend_from_slice(&vec![9; n]);
        let taken = buf.split_to(message).freeze();
        buf.clear();
        taken
    }

    #[cfg(feature = "server")]
    #[test]
    fn the_read_buffer_is_reused_in_place_while_nothing_split_off_it_is_held() {
        clear();
        let mut slot = None;
        let first = ready_read_buf(&mut slot).as_ptr();
        // Sixty reads of 1 KiB, each split off and dropped at once: the buffer walks
        // forward, then returns to the front of the same allocation once short of room.
        let mut returned = false;
        for i in 0..60 {
            let at = ready_read_buf(&mut slot).as_ptr() as usize;
            assert!((first as usize..first as usize + READ_BUF_SIZE).contains(&at), "read {i}: another allocation");
            returned |= i > 0 && at == first as usize;
            drop(read_and_split(&mut slot, 1024, 1024));
        }
        assert!(returned, "back to the front of the allocation");
        assert_eq!(pool_len(), 0);
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_held_message_moves_reads_to_another_buffer_and_its_own_returns_once_dropped() {
        clear();
        let mut slot = None;
        let first = ready_read_buf(&mut slot).as_ptr();
        let held = read_and_split(&mut slot, 60 * 1024, 60 * 1024);
        assert_eq!(held.as_ptr(), first);
        // Too little room left, and the allocation is shared: another buffer, the old one
        // parked in the pool.
        let second = ready_read_buf(&mut slot).as_ptr();
        assert_ne!(second, first);
        assert_eq!(pool_len(), 1);
        // Still held: using up the second buffer cannot take the first back.
        drop(read_and_split(&mut slot, 60 * 1024, 60 * 1024));
        let third = ready_read_buf(&mut slot).as_ptr();
        assert_eq!(third, second, "the second was free again and reused in place");
        assert!(held.iter().all(|&b| b == 9), "the held message is untouched");
        let kept = read_and_split(&mut slot, 60 * 1024, 60 * 1024);
        drop(held);
        // Now the first is free: taken back from the pool, no new allocation.
        assert_eq!(ready_read_buf(&mut slot).as_ptr(), first);
        drop(kept);
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_larger_pooled_buffer_never_becomes_the_read_buffer() {
        clear();
        // A 512 KiB message buffer in the pool: a message split off it as a read buffer
        // could pin 64 times its size.
        let mut big = BytesMut::new();
        reserve(&mut big, 512 * 1024);
        drop(finish(big));
        assert_eq!(pool_len(), 1);
        let mut slot = None;
        let held = read_and_split(&mut slot, 60 * 1024, 60 * 1024);
        // The first read buffer is held: the next is a fresh one of 64 KiB.
        assert_eq!(ready_read_buf(&mut slot).capacity(), READ_BUF_SIZE);
        assert!(POOL.with(|pool| pool.borrow().iter().any(|(_, whole)| *whole == 512 * 1024)));
        drop(held);
    }

    #[test]
    fn a_frame_takes_a_pooled_buffer_whole_only_when_what_arrived_makes_its_claim_plausible() {
        clear();
        let mut big = BytesMut::new();
        reserve(&mut big, 1024 * 1024);
        let pooled = big.as_ptr();
        drop(finish(big));
        // 1 KiB of a frame that claims 1 MiB: grown by what came, the pooled buffer left.
        let mut doubtful = BytesMut::new();
        reserve_for_frame(&mut doubtful, 16 * 1024, 1024 * 1024, 1024);
        assert_ne!(doubtful.as_ptr(), pooled);
        assert!(doubtful.capacity() < 1024 * 1024);
        assert_eq!(pool_len(), 1);
        // 40 KiB of it came: the pooled buffer takes the whole frame, and what came with it.
        let mut plausible = BytesMut::new();
        plausible.extend_from_slice(&[3; 40 * 1024]);
        reserve_for_frame(&mut plausible, 40 * 1024, 1024 * 1024, 40 * 1024);
        assert_eq!(plausible.as_ptr(), pooled);
        assert!(plausible.capacity() >= 1024 * 1024);
        assert!(plausible.iter().all(|&b| b == 3) && plausible.len() == 40 * 1024);
        assert_eq!(pool_len(), 0);
        // A claim never allocates: with nothing pooled, the buffer grows by what came.
        let mut fresh = BytesMut::new();
        reserve_for_frame(&mut fresh, 40 * 1024, 1024 * 1024, 40 * 1024);
        assert!(fresh.capacity() < 1024 * 1024, "{}", fresh.capacity());
    }

    #[test]
    fn small_messages_and_small_needs_stay_out_of_the_pool() {
        clear();
        let mut small = BytesMut::new();
        reserve(&mut small, 1000);
        small.extend_from_slice(&[0; 1000]);
        drop(finish(small));
        assert_eq!(pool_len(), 0);
        // A 4 MiB buffer is not reused for a 100 KiB message (it would pin 4 MiB).
        let mut big = BytesMut::new();
        reserve(&mut big, 4 * 1024 * 1024);
        drop(finish(big));
        assert_eq!(pool_len(), 1);
        let mut modest = BytesMut::new();
        reserve(&mut modest, 100 * 1024);
        assert!(modest.capacity() < 1024 * 1024);
        assert_eq!(pool_len(), 1);
    }
}
