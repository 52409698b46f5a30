//! Per-thread state of the driver: the read scratch buffer, and the connection whose
//! callback is running ("current"), so that a push to it from inside its own callback goes
//! straight into its `Connection`, with no lock and no wake-up.

use std::cell::RefCell;

use crate::connection::Connection;
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
}

/// Parks `parked` in this thread while `f` runs, and hands it back. `None` only if `f`
/// somehow took it (it cannot: nothing else removes it).
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

/// The per-thread read buffer.
pub(crate) const SCRATCH_SIZE: usize = 64 * 1024;
