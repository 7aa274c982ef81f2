//! The tracker's one background worker: a plain thread that takes batches from the queue and
//! delivers them with the blocking driver, so it works with or without an async runtime.
//!
//! Retries: replies Splunk marks as passing (408, 429, 5xx, HEC's busy codes) are retried by
//! the call itself, after their `Retry-After` or a capped exponential backoff with jitter;
//! failures below HTTP (refused or dropped connections, time-outs) by the worker, with the same
//! backoff. A batch is sent again only when it was not acknowledged: a reply that says it was
//! stored ends it. When a connection drops after Splunk stored a batch but before its reply,
//! the batch is sent again (at least once, as every HEC client). A batch refused as invalid
//! (400) or for its credentials (401, 403) is reported and given up, never retried forever.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use spoor_proto::hec::{Hec, parse_event_reply};
use spoor_proto::rest::{SubmitTarget, parse_submit_receipt};
use spoor_proto::{Action, Call, Machine, RetryPolicy, Service};

use super::queue::{Batch, Queue};
use crate::Error;

/// Asks the worker to give up: set at a shutdown past its time.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    set: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Stop {
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.wake.notify_all();
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, or less if told to stop; `true` when told to stop.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while !self.is_set() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = self
                .wake
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        self.is_set()
    }
}

/// Where batches go.
#[derive(Debug)]
pub(crate) enum Transport {
    /// The HTTP Event Collector: envelopes one after another.
    Hec(Hec),
    /// `receivers/simple`: lines joined by newlines.
    Simple(SubmitTarget),
}

/// Called with each batch given up, and why.
pub(crate) type OnError = Arc<dyn Fn(&Error, usize) + Send + Sync>;

/// The worker's settings.
pub(crate) struct Worker {
    pub(crate) queue: Arc<Queue>,
    pub(crate) stop: Arc<Stop>,
    pub(crate) client: spoor_splunk::blocking::Client,
    pub(crate) transport: Transport,
    pub(crate) batch_events: usize,
    pub(crate) batch_bytes: usize,
    pub(crate) interval: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) on_error: Option<OnError>,
}

impl Worker {
    /// Delivers batches until the queue is closed and empty.
    pub(crate) fn run(self) {
        let mut jitter = Jitter::new();
        while let Some(batch) = self
            .queue
            .take(self.batch_events, self.batch_bytes, self.interval)
        {
            let n = batch.events.len();
            let sent = self.deliver(&batch, &mut jitter);
            self.queue.settle(n, sent);
        }
    }

    /// Sends one batch until it is acknowledged, refused for good, or the worker is stopped.
    fn deliver(&self, batch: &Batch, jitter: &mut Jitter) -> bool {
        let mut failures = 0;
        loop {
            if self.stop.is_set() {
                return false;
            }
            let result = self.send_once(batch);
            let error = match result {
                Ok(()) => return true,
                Err(error) => error,
            };
            if self.stop.is_set() {
                return false;
            }
            if !passing(&error) {
                self.report(&Error::Splunk(error), batch.events.len());
                return false;
            }
            self.queue.count_retry();
            let delay = self.retry.backoff(failures, jitter.next());
            failures = failures.saturating_add(1);
            if self.stop.sleep(delay) {
                return false;
            }
        }
    }

    fn send_once(&self, batch: &Batch) -> Result<(), spoor_proto::Error> {
        match &self.transport {
            Transport::Hec(hec) => {
                let body = batch.events.concat();
                let mut hec = hec.clone();
                hec.set_retry_policy(self.retry);
                let call = hec.call(hec.event_request(body)?, parse_event_reply);
                self.client.run(&mut self.watched(call)).map(drop)
            }
            Transport::Simple(target) => {
                let lines = batch
                    .events
                    .iter()
                    .map(|e| std::str::from_utf8(e).unwrap_or_default());
                let mut service: Service = self.client.service();
                service.set_retry_policy(self.retry);
                let request = service.submit_request(target, lines)?;
                let call = Call::new(service, request, parse_submit_receipt);
                self.client.run(&mut self.watched(call)).map(drop)
            }
        }
    }

    fn watched<M: Machine>(&self, inner: M) -> Watched<'_, M> {
        Watched {
            inner,
            queue: &self.queue,
            stop: &self.stop,
            last_wait: None,
        }
    }

    fn report(&self, error: &Error, events: usize) {
        if let Some(on_error) = &self.on_error {
            // The caller's callback must not take the worker down with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                on_error(error, events);
            }));
        }
    }
}

/// Whether a failure may pass if the batch is sent again.
fn passing(error: &spoor_proto::Error) -> bool {
    use spoor_proto::Error as E;
    match error {
        E::Transport { .. } | E::Timeout { .. } => true,
        E::Api { status, .. } | E::Hec { status, .. } => {
            RetryPolicy::is_retryable(*status) && *status != StatusCode::NOT_IMPLEMENTED
        }
        _ => false,
    }
}

/// A call watched by the worker: its retries are counted, and its waits cut short when the
/// worker is told to stop.
struct Watched<'a, M> {
    inner: M,
    queue: &'a Queue,
    stop: &'a Stop,
    last_wait: Option<Instant>,
}

/// The longest a watched call sleeps before looking at the stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(50);

impl<M: Machine> Machine for Watched<'_, M> {
    type Output = M::Output;

    fn poll(&mut self, now: Instant) -> Action<M::Output> {
        let stopped = || {
            Action::Done(Err(spoor_proto::Error::Timeout {
                what: "delivery before the tracker's shutdown",
                limit: Duration::ZERO,
            }))
        };
        match self.inner.poll(now) {
            // An answer already in is kept, stopped or not: an acknowledged batch is sent.
            done @ Action::Done(_) => done,
            _ if self.stop.is_set() => stopped(),
            Action::Wait(until) => {
                if self.last_wait != Some(until) {
                    self.last_wait = Some(until);
                    self.queue.count_retry();
                }
                Action::Wait(until.min(now + STOP_CHECK))
            }
            other => other,
        }
    }

    fn handle_response(&mut self, response: http::Response<Vec<u8>>, now: Instant) {
        self.inner.handle_response(response, now);
    }

    fn handle_transport_error(&mut self, error: spoor_proto::Error, now: Instant) {
        self.inner.handle_transport_error(error, now);
    }

    fn service(&self) -> &Service {
        self.inner.service()
    }
}

/// A small xorshift generator for backoff jitter; seeded from the clock.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self(u64::from(nanos) | 1)
    }

    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_passes() {
        assert!(passing(&spoor_proto::Error::transport(
            std::io::Error::other("reset")
        )));
        let api = |status| spoor_proto::Error::Api {
            status,
            messages: Vec::new(),
        };
        assert!(passing(&api(StatusCode::SERVICE_UNAVAILABLE)));
        assert!(passing(&api(StatusCode::TOO_MANY_REQUESTS)));
        assert!(!passing(&api(StatusCode::BAD_REQUEST)));
        assert!(!passing(&api(StatusCode::UNAUTHORIZED)));
    }

    #[test]
    fn stop_cuts_a_sleep_short() {
        let stop = Arc::new(Stop::default());
        let s = Arc::clone(&stop);
        let t = std::thread::spawn(move || s.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        stop.set();
        assert!(t.join().unwrap());
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut j = Jitter::new();
        assert!((0..1000).map(|_| j.next()).all(|x| (0.0..1.0).contains(&x)));
    }
}
