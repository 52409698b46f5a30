//! The connection's timers: a fixed table keyed by [`Timer`], earliest first.

use std::time::Instant;

/// The timers a connection runs. `poll_timeout` reports the earliest armed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// The opening handshake must finish (`handshake_timeout`).
    Handshake,
    /// The close handshake must finish once a close frame was sent (`close_timeout`).
    Close,
    /// Nothing arrived for `idle_timeout` (the reference's `heartbeat_idle_time`).
    Idle,
    /// Nothing arrived for `ping_interval`: send a ping to see whether the peer lives.
    Ping,
}

impl Timer {
    const ALL: [Timer; 4] = [Timer::Handshake, Timer::Close, Timer::Idle, Timer::Ping];

    fn index(self) -> usize {
        match self {
            Timer::Handshake => 0,
            Timer::Close => 1,
            Timer::Idle => 2,
            Timer::Ping => 3,
        }
    }
}

/// Deadlines by timer; `None` when a timer is not armed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers([Option<Instant>; 4]);

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(slot) = self.0.get_mut(timer.index()) {
            *slot = Some(at);
        }
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.0.get_mut(timer.index()) {
            *slot = None;
        }
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; 4];
    }

    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// The first timer (in table order) whose deadline is at or before `now`.
    pub(crate) fn expired(&self, now: Instant) -> Option<Timer> {
        Timer::ALL.into_iter().find(|t| self.0.get(t.index()).copied().flatten().is_some_and(|at| at <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_and_expired() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        assert_eq!(timers.earliest(), None);
        timers.set(Timer::Idle, t0 + Duration::from_secs(5));
        timers.set(Timer::Handshake, t0 + Duration::from_secs(2));
        assert_eq!(timers.earliest(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(timers.expired(t0), None);
        assert_eq!(timers.expired(t0 + Duration::from_secs(3)), Some(Timer::Handshake));
        timers.stop(Timer::Handshake);
        assert_eq!(timers.expired(t0 + Duration::from_secs(3)), None);
        assert_eq!(timers.expired(t0 + Duration::from_secs(5)), Some(Timer::Idle));
    }
}
