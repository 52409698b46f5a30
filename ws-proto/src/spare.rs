//! Per-thread spares: emptied buffers and queues kept for the next user on the same thread,
//! so that the hot paths (packing small frames, a connection's mailbox) reuse memory instead
//! of allocating it, while an idle connection holds none.

use std::cell::RefCell;
use std::thread::LocalKey;

/// The last spare kept in `spares`, if any (none while the thread is being torn down).
pub(crate) fn pop<T: 'static>(spares: &'static LocalKey<RefCell<Vec<T>>>) -> Option<T> {
    spares.try_with(|spare| spare.try_borrow_mut().ok()?.pop()).ok().flatten()
}

/// Keeps `value` in `spares` unless it already holds `max`; else drops it.
pub(crate) fn push<T: 'static>(spares: &'static LocalKey<RefCell<Vec<T>>>, value: T, max: usize) {
    let _ = spares.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut()
            && spare.len() < max
        {
            spare.push(value);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static KEPT: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn keeps_at_most_max_and_gives_back_the_last() {
        for n in 0..5 {
            push(&KEPT, n, 3);
        }
        assert_eq!(pop(&KEPT), Some(2));
        assert_eq!(pop(&KEPT), Some(1));
        assert_eq!(pop(&KEPT), Some(0));
        assert_eq!(pop(&KEPT), None);
    }
}
