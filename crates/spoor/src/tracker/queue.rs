//! The tracker's bounded queue of encoded events, shared by the callers (who push) and the
//! worker (who takes batches and settles them).
//!
//! Every event pushed gets a number; the worker settles events in that order (sent, or given
//! up), so "everything pushed before now is settled" is one comparison, which is what `flush`
//! waits for.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the callers and the worker share.
#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    /// Signals the worker: an event came, a flush was asked for, or the tracker closed.
    work: Condvar,
    /// Signals callers: room was made, or events were settled.
    progress: Condvar,
    capacity: usize,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    events: VecDeque<Vec<u8>>,
    bytes: usize,
    /// When the oldest queued event came.
    oldest: Option<Instant>,
    /// Events ever accepted (each one's number is its position in this count).
    pub(crate) accepted: u64,
    /// Events settled: sent, or given up (failed).
    pub(crate) settled: u64,
    /// A flush wants everything up to this number sent now.
    flush_to: u64,
    /// Events of the batch the worker is sending (`0`: none).
    in_flight: usize,
    /// Events given up while a batch was in flight: settled after it, as they came after it.
    pub(crate) abandoned: u64,
    pub(crate) closed: bool,
    pub(crate) sent: u64,
    pub(crate) retried: u64,
    pub(crate) dropped: u64,
    pub(crate) failed: u64,
}

/// Why a push did not queue the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Full,
    Closed,
}

/// A batch taken by the worker: the events, and how many.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) events: Vec<Vec<u8>>,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every update of the state is complete before the lock is released, so a panic in
        // another holder leaves it consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `events`, all or none: when there is no room for all of them, waits up to
    /// `block` for it (no wait for `None`), then refuses them all. A batch larger than the
    /// queue is always refused.
    pub(crate) fn push(
        &self,
        events: Vec<Vec<u8>>,
        block: Option<Duration>,
    ) -> Result<(), Refused> {
        let n = events.len();
        if n == 0 {
            return Ok(());
        }
        let mut state = self.lock();
        let full = |state: &State| state.events.len() + n > self.capacity;
        if let Some(wait) = block
            && full(&state)
            && n <= self.capacity
        {
            let deadline = Instant::now().checked_add(wait);
            while full(&state) && !state.closed {
                let left = left_until(deadline);
                if left.is_zero() {
                    break;
                }
                state = self
                    .progress
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        if state.closed {
            return Err(Refused::Closed);
        }
        if full(&state) {
            state.dropped += n as u64;
            return Err(Refused::Full);
        }
        let wake = state.events.is_empty();
        for event in events {
            state.bytes += event.len();
            state.events.push_back(event);
        }
        state.accepted += n as u64;
        if state.oldest.is_none() {
            state.oldest = Some(Instant::now());
        }
        drop(state);
        if wake {
            self.work.notify_one();
        }
        Ok(())
    }

    /// Waits until a batch is due (`max_events` or `max_bytes` reached, the oldest event has
    /// waited `interval`, a flush asks, or the tracker closed), then takes it. `None` when the
    /// tracker is closed and empty.
    pub(crate) fn take(
        &self,
        max_events: usize,
        max_bytes: usize,
        interval: Duration,
    ) -> Option<Batch> {
        let mut state = self.lock();
        loop {
            if state.events.is_empty() {
                if state.closed {
                    return None;
                }
                state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let due = state.events.len() >= max_events
                || state.bytes >= max_bytes
                || state.closed
                || state.flush_to > state.settled
                || state.oldest.is_some_and(|t| t.elapsed() >= interval);
            if due {
                break;
            }
            let waited = state.oldest.map_or(Duration::ZERO, |t| t.elapsed());
            let left = interval.saturating_sub(waited);
            state = self
                .work
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let mut events = Vec::new();
        let mut bytes = 0;
        while let Some(next) = state.events.front() {
            if !events.is_empty() && (events.len() >= max_events || bytes + next.len() > max_bytes)
            {
                break;
            }
            bytes += next.len();
            let next = state.events.pop_front().unwrap_or_default();
            events.push(next);
        }
        state.bytes -= bytes;
        state.in_flight = events.len();
        state.oldest = if state.events.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        drop(state);
        self.progress.notify_all();
        Some(Batch { events })
    }

    /// Records the end of a batch: `sent` or not.
    pub(crate) fn settle(&self, events: usize, sent: bool) {
        let mut state = self.lock();
        state.settled += events as u64 + state.abandoned;
        state.abandoned = 0;
        state.in_flight = 0;
        if sent {
            state.sent += events as u64;
        } else {
            state.failed += events as u64;
        }
        drop(state);
        self.progress.notify_all();
    }

    pub(crate) fn count_retry(&self) {
        self.lock().retried += 1;
    }

    /// Waits until every event accepted so far is settled, at most `timeout`; `false` if
    /// some are still pending then.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        let target = state.accepted;
        state.flush_to = state.flush_to.max(target);
        self.work.notify_one();
        while state.settled < target {
            let left = left_until(deadline);
            if left.is_zero() {
                return false;
            }
            state = self
                .progress
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Stops taking events; the worker sends what is queued, then ends.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
        self.progress.notify_all();
    }

    /// Gives up the events still queued (counted as failed), for a shutdown past its time.
    pub(crate) fn abandon(&self) -> usize {
        let mut state = self.lock();
        let left = state.events.len();
        state.events.clear();
        state.bytes = 0;
        state.oldest = None;
        // Settled in order: after the batch in flight, if there is one.
        if state.in_flight == 0 {
            state.settled += left as u64;
        } else {
            state.abandoned += left as u64;
        }
        state.failed += left as u64;
        drop(state);
        self.progress.notify_all();
        left
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().events.len()
    }
}

/// Time left until `deadline`; a deadline past the clock's range (`None`) never comes.
fn left_until(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::from_secs(3600), |d| {
        d.saturating_duration_since(Instant::now())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_queued_whole_or_not_at_all() {
        let q = Queue::new(5);
        q.push(vec![vec![1]; 3], None).unwrap();
        assert_eq!(q.push(vec![vec![2]; 3], None), Err(Refused::Full));
        assert_eq!(q.len(), 3, "nothing of a refused batch is queued");
        assert_eq!(q.lock().dropped, 3);
        assert_eq!(q.lock().accepted, 3);
        q.push(vec![vec![3]; 2], None).unwrap();
        assert_eq!(q.len(), 5);
        // Larger than the queue: refused without waiting.
        let q = Queue::new(2);
        let started = Instant::now();
        assert_eq!(
            q.push(vec![vec![1]; 3], Some(Duration::from_secs(5))),
            Err(Refused::Full)
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn abandoned_events_settle_after_the_batch_in_flight() {
        let q = Queue::new(10);
        for i in 0..3u8 {
            q.push(vec![vec![i]], None).unwrap();
        }
        q.close();
        let batch = q.take(1, 100, Duration::ZERO).unwrap();
        assert_eq!(batch.events.len(), 1);
        assert_eq!(q.abandon(), 2);
        // The batch in flight came first: nothing is settled until it is.
        assert!(!q.flush(Duration::from_millis(5)));
        q.settle(1, true);
        assert!(q.flush(Duration::ZERO));
        let s = q.lock();
        assert_eq!((s.sent, s.failed, s.settled, s.abandoned), (1, 2, 3, 0));
    }

    #[test]
    fn waiting_for_ever_does_not_overflow() {
        let q = Queue::new(1);
        q.push(vec![vec![1]], Some(Duration::MAX)).unwrap();
        q.close();
        assert_eq!(
            q.push(vec![vec![2]], Some(Duration::MAX)),
            Err(Refused::Closed)
        );
        q.take(1, 100, Duration::ZERO).unwrap();
        q.settle(1, true);
        assert!(q.flush(Duration::MAX));
    }

    #[test]
    fn full_queue_drops_exactly_and_counts() {
        let q = Queue::new(2);
        assert_eq!(q.push(vec![vec![1]], None), Ok(()));
        assert_eq!(q.push(vec![vec![2]], None), Ok(()));
        assert_eq!(q.push(vec![vec![3]], None), Err(Refused::Full));
        let started = Instant::now();
        assert_eq!(
            q.push(vec![vec![4]], Some(Duration::from_millis(30))),
            Err(Refused::Full)
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(q.lock().dropped, 2);
        q.close();
        assert_eq!(q.push(vec![vec![5]], None), Err(Refused::Closed));
    }

    #[test]
    fn batches_respect_count_and_bytes_and_flush_waits_for_settling() {
        let q = Queue::new(100);
        for i in 0..5u8 {
            q.push(vec![vec![i; 10]], None).unwrap();
        }
        q.close();
        let b = q.take(2, 1000, Duration::from_secs(60)).unwrap();
        assert_eq!(b.events.len(), 2);
        let b2 = q.take(10, 25, Duration::from_secs(60)).unwrap();
        assert_eq!(b2.events.len(), 2, "bytes cap");
        q.settle(4, true);
        assert!(!q.flush(Duration::from_millis(10)));
        let b3 = q.take(10, 1000, Duration::from_secs(60)).unwrap();
        assert_eq!(b3.events.len(), 1);
        q.settle(1, false);
        assert!(q.flush(Duration::from_millis(10)));
        assert!(q.take(10, 1000, Duration::from_secs(60)).is_none());
        let s = q.lock();
        assert_eq!((s.sent, s.failed), (4, 1));
    }
}
