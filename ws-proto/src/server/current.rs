//! Per-thread state of the driver: the read scratch buffer, and the connection whose
//! callback is running ("current"), so that a push to it from inside its own callback goes
//! straight into its `Connection`, with no lock and no wake-up.

use std::cell::{Cell, RefCell};

use bytes::{Bytes, BytesMut};

use crate::connection::{Connection, ready_read_buf};
use crate::frame::Fd;

/// A connection parked in the thread while one of its callbacks runs.
pub(crate) struct Parked {
    /// Which server (the address of its shared state).
    pub(crate) server: usize,
    pub(crate) fd: Fd,
    pub(crate) conn: Box<Connection>,
    /// `defer`red closures, run by the driver after the callback.
    pub(crate) deferred: Vec<Box<dyn FnOnce() + Send>>,
    /// `close(fd)` was called: drop the connection once the output is written.
    pub(crate) close_now: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<Parked>> = const { RefCell::new(None) };
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static READ_BUF: RefCell<Option<BytesMut>> = const { RefCell::new(None) };
    /// Where and how long the text message whose `on_message` runs on this thread is, when
    /// it is large (see [`CheckedText`]).
    static CHECKED_TEXT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// A received text message, checked to be UTF-8 when it came, marked as such while its
/// `on_message` runs on this thread: a push or broadcast of these very bytes (an echo, or
/// a chat message passed on) is not checked again. The mark is the bytes' address and
/// length; the guard holds a reference to them, so that nothing else can be written there
/// until it drops, and the mark goes with it (a panicking callback included).
pub(crate) struct CheckedText {
    _text: Bytes,
    previous: (usize, usize),
}

impl CheckedText {
    /// Marks `text` if it is large enough for a second check to cost more than the mark:
    /// taking a reference to a small message's bytes may allocate (they are not shared yet),
    /// and checking them costs less.
    #[inline]
    pub(crate) fn mark(text: &Bytes) -> Option<CheckedText> {
        (text.len() >= CHECKED_TEXT_MIN).then(|| CheckedText::mark_large(text))
    }

    fn mark_large(text: &Bytes) -> CheckedText {
        let previous = CHECKED_TEXT.with(|mark| mark.replace((text.as_ptr() as usize, text.len())));
        CheckedText { _text: text.clone(), previous }
    }
}

impl Drop for CheckedText {
    fn drop(&mut self) {
        CHECKED_TEXT.with(|mark| mark.set(self.previous));
    }
}

/// Whether `data` are exactly the bytes of a marked text message: known to be UTF-8.
#[inline]
pub(crate) fn is_checked_text(data: &[u8]) -> bool {
    data.len() >= CHECKED_TEXT_MIN && CHECKED_TEXT.with(|mark| mark.get() == (data.as_ptr() as usize, data.len()))
}

/// Whether `data` is UTF-8: known for the bytes of a marked text, checked for any others.
#[inline]
pub(crate) fn is_utf8(data: &[u8]) -> bool {
    is_checked_text(data) || crate::utf8::is_valid(data)
}

/// From this size a text message is marked (see [`CheckedText`]).
const CHECKED_TEXT_MIN: usize = 4 * 1024;

/// Parks `parked` in this thread while `f` runs, and hands it back. `None` only if `f`
/// somehow took it (it cannot: nothing else removes it).
#[inline]
pub(crate) fn with_parked(parked: Parked, f: impl FnOnce()) -> Option<Parked> {
    let previous = CURRENT.with(|current| current.replace(Some(parked)));
    f();
    CURRENT.with(|current| std::mem::replace(&mut *current.borrow_mut(), previous))
}

/// Runs `f` on the parked connection `fd` of `server`, if that is the one whose callback
/// is running on this thread.
pub(crate) fn with_current<T>(server: usize, fd: Option<Fd>, f: impl FnOnce(&mut Parked) -> T) -> Option<T> {
    CURRENT.with(|current| {
        let mut current = current.try_borrow_mut().ok()?;
        let parked = current.as_mut()?;
        (parked.server == server && fd.is_none_or(|fd| parked.fd == fd)).then(|| f(parked))
    })
}

/// The fd of the connection of `server` whose callback is running on this thread, if any.
pub(crate) fn parked_fd(server: usize) -> Option<Fd> {
    CURRENT.with(|current| {
        let current = current.try_borrow().ok()?;
        current.as_ref().filter(|parked| parked.server == server).map(|parked| parked.fd)
    })
}

/// Runs `f` with this thread's read buffer (`SCRATCH_SIZE` bytes, allocated once per
/// thread): connections read into it and keep only what they must, so an idle connection
/// holds no read buffer.
pub(crate) fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.try_borrow_mut().ok()?;
        if scratch.is_empty() {
            scratch.resize(SCRATCH_SIZE, 0);
        }
        Some(f(&mut scratch))
    })
}

/// Runs `f` with this thread's read buffer for streams that read into spare capacity
/// (`Stream::poll_read_buf`): empty, with room for a read; large messages are split off
/// it (`Connection::receive_buf`), so it is replaced once used up (see
/// `connection::pool::ready_read_buf`). `f` returns `None` when the stream cannot read
/// that way: the buffer is then let go, as this thread's streams never will. `None` while
/// the buffer is in use further up the stack.
pub(crate) fn with_read_buf<T>(f: impl FnOnce(&mut BytesMut) -> Option<T>) -> Option<Option<T>> {
    READ_BUF.with(|slot| {
        let mut slot = slot.try_borrow_mut().ok()?;
        let outcome = f(ready_read_buf(&mut slot));
        if outcome.is_none() {
            *slot = None;
        }
        Some(outcome)
    })
}

/// The per-thread read buffer.
pub(crate) const SCRATCH_SIZE: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_very_bytes_of_a_marked_text_are_known_checked() {
        let text = Bytes::from("é".repeat(CHECKED_TEXT_MIN));
        let copy = Bytes::copy_from_slice(&text);
        assert!(!is_checked_text(&text));
        let mark = CheckedText::mark(&text);
        assert!(mark.is_some());
        assert!(is_checked_text(&text));
        assert!(is_checked_text(&text.clone()), "the same bytes through another handle");
        assert!(!is_checked_text(&copy), "equal bytes elsewhere");
        assert!(!is_checked_text(&text.slice(..text.len() - 1)), "a prefix may cut a character");
        assert!(!is_checked_text(&text.slice(1..)), "so may a suffix");
        drop(mark);
        assert!(!is_checked_text(&text), "the mark goes with the guard");
    }

    #[test]
    fn small_texts_are_not_marked_and_marks_nest() {
        let small = Bytes::from("a".repeat(CHECKED_TEXT_MIN - 1));
        assert!(CheckedText::mark(&small).is_none());
        assert!(!is_checked_text(&small));
        let outer = Bytes::from("a".repeat(CHECKED_TEXT_MIN));
        let inner = Bytes::from("b".repeat(CHECKED_TEXT_MIN));
        let outer_mark = CheckedText::mark(&outer);
        {
            let _inner_mark = CheckedText::mark(&inner);
            assert!(is_checked_text(&inner));
        }
        assert!(is_checked_text(&outer), "the outer mark is back");
        drop(outer_mark);
        assert!(!is_checked_text(&outer));
    }

    #[test]
    fn a_panicking_callback_leaves_no_mark() {
        let text = Bytes::from("a".repeat(CHECKED_TEXT_MIN));
        let seen = text.clone();
        let result = std::panic::catch_unwind(move || {
            let _mark = CheckedText::mark(&text);
            panic!("callback failed");
        });
        assert!(result.is_err());
        assert!(!is_checked_text(&seen));
    }
}
