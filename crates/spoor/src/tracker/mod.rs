//! The Tracker: what an application embeds to log events.
//!
//! `track` checks and encodes the event in the caller's thread and queues it, with no I/O;
//! one background worker sends batches (see [`TrackerBuilder`] for the defaults). The queue is
//! bounded, and what happens when it is full is a stated policy ([`OnFull`]); every event ends
//! counted in [`Stats`]: sent, dropped (never queued) or failed (given up).

mod queue;
mod worker;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use spoor_event::HecMeta;
use spoor_event::{Event, Value};
use spoor_proto::form::Form;
use spoor_proto::hec::{DEFAULT_BATCH_CAP, Hec};
use spoor_proto::rest::SubmitTarget;
use spoor_proto::{Config, RetryPolicy};
use time::OffsetDateTime;

use crate::{DEFAULT_INDEX, Error};
use queue::{Queue, Refused};
use worker::{OnError, Stop, Transport, Worker};

/// The sourcetype spoor's events are stored under unless told otherwise.
pub const DEFAULT_SOURCETYPE: &str = "spoor";

/// What `track` does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFull {
    /// Drop the new event: `track` returns [`Error::QueueFull`] at once, the event is counted
    /// in [`Stats::dropped`] and given to the `on_drop` callback. The default.
    DropNewest,
    /// Wait up to this long for room, then drop as above.
    Block(Duration),
}

/// What a tracker has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Events queued now.
    pub queued: u64,
    /// Events delivered and acknowledged.
    pub sent: u64,
    /// Sends repeated after a passing failure.
    pub retried: u64,
    /// Events never queued because the queue was full.
    pub dropped: u64,
    /// Events given up: refused as invalid or unauthorised, or still unsent at a shutdown's
    /// deadline.
    pub failed: u64,
}

type OnDrop = Arc<dyn Fn(&Event) + Send + Sync>;

/// A tracker's settings, with documented defaults.
#[must_use]
pub struct TrackerBuilder {
    config: Config,
    application: String,
    index: String,
    sourcetype: String,
    host: Option<String>,
    source: Option<String>,
    queue_capacity: usize,
    batch_events: usize,
    batch_bytes: usize,
    interval: Duration,
    on_full: OnFull,
    on_drop: Option<OnDrop>,
    on_error: Option<OnError>,
    retry: RetryPolicy,
    drop_timeout: Duration,
}

impl std::fmt::Debug for TrackerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerBuilder")
            .field("application", &self.application)
            .field("index", &self.index)
            .field("sourcetype", &self.sourcetype)
            .field("queue_capacity", &self.queue_capacity)
            .field("batch_events", &self.batch_events)
            .field("batch_bytes", &self.batch_bytes)
            .field("interval", &self.interval)
            .field("on_full", &self.on_full)
            .finish_non_exhaustive()
    }
}

impl TrackerBuilder {
    /// The index (default [`DEFAULT_INDEX`], `spoor`); a name Splunk refuses fails
    /// [`build`](Self::build). Read it back with [`Retriever::with_index`](crate::Retriever::with_index)
    /// (the crate's documentation has both at work).
    ///
    /// ```
    /// use spoor::Tracker;
    ///
    /// let config = spoor_proto::ConfigBuilder::new().build()?;
    /// let tracker = Tracker::builder(&config, "shop").index("sample_analytics").build()?;
    /// assert!(Tracker::builder(&config, "shop").index("Sample").build().is_err());
    /// # drop(tracker);
    /// # Ok::<(), spoor::Error>(())
    /// ```
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.index = index.into();
        self
    }

    /// The sourcetype (default [`DEFAULT_SOURCETYPE`], `spoor`).
    pub fn sourcetype(mut self, sourcetype: impl Into<String>) -> Self {
        self.sourcetype = sourcetype.into();
        self
    }

    /// The events' host (default: Splunk's, the client's address).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The events' source (default: Splunk's).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Events the queue holds at most (default 10,000).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events.max(1);
        self
    }

    /// Events a batch holds at most (default 5,000; the byte limit usually comes first).
    pub fn batch_events(mut self, events: usize) -> Self {
        self.batch_events = events.max(1);
        self
    }

    /// Bytes a batch holds at most (default 900,000, under HEC's 1 MB request limit).
    pub fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// How long the oldest queued event waits for its batch to fill (default 1 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// What `track` does when the queue is full (default [`OnFull::DropNewest`]).
    pub fn on_full(mut self, policy: OnFull) -> Self {
        self.on_full = policy;
        self
    }

    /// Called (in the caller's thread) with each event dropped because the queue was full.
    pub fn on_drop(mut self, callback: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Arc::new(callback));
        self
    }

    /// Called (in the worker's thread) with each batch given up, its error and its size.
    pub fn on_error(mut self, callback: impl Fn(&Error, usize) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Arc::new(callback));
        self
    }

    /// The backoff between sends of a batch (default: 200 ms doubling to 30 s, with jitter,
    /// `Retry-After` honoured up to 5 minutes). Its `max_retries` is ignored: a batch is sent
    /// until it is acknowledged or refused for good.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long dropping the last handle waits to deliver what is queued (default 5 s).
    pub fn drop_timeout(mut self, timeout: Duration) -> Self {
        self.drop_timeout = timeout;
        self
    }

    /// Starts the tracker and its worker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for an index Splunk refuses, [`Error::Splunk`] when the
    /// configuration cannot make a client.
    pub fn build(self) -> Result<Tracker, Error> {
        spoor_spl::build::Index::new(&self.index).map_err(|e| Error::InvalidName(e.to_string()))?;
        let client = spoor_splunk::blocking::Client::new(&self.config)?;
        let transport = match self.config.hec() {
            Some(hec) => Transport::Hec(Hec::new(hec)?),
            None => Transport::Simple(SubmitTarget {
                index: Some(self.index.clone()),
                sourcetype: Some(self.sourcetype.clone()),
                source: self.source.clone(),
                host: self.host.clone(),
            }),
        };
        let hec = matches!(transport, Transport::Hec(_));
        let queue = Arc::new(Queue::new(self.queue_capacity));
        let stop = Arc::new(Stop::default());
        let mut retry = self.retry;
        retry.max_retries = u32::MAX;
        let worker = Worker {
            queue: Arc::clone(&queue),
            stop: Arc::clone(&stop),
            client,
            transport,
            batch_events: self.batch_events,
            batch_bytes: self.batch_bytes,
            interval: self.interval,
            retry,
            on_error: self.on_error,
        };
        let thread = std::thread::Builder::new()
            .name("spoor-tracker".to_owned())
            .spawn(move || worker.run())
            .map_err(|e| Error::Splunk(spoor_proto::Error::transport(e)))?;
        Ok(Tracker {
            inner: Arc::new(Inner {
                queue,
                stop,
                thread: Mutex::new(Some(thread)),
                config: self.config,
                application: self.application,
                index: self.index,
                sourcetype: self.sourcetype,
                host: self.host,
                source: self.source,
                hec,
                on_full: self.on_full,
                on_drop: self.on_drop,
                drop_timeout: self.drop_timeout,
            }),
        })
    }
}

/// Logs events of one application to Splunk (or spoor's engine), in the background.
///
/// Cheap to clone: clones share one queue and worker. When the last one is dropped, what is
/// queued is delivered for up to the `drop_timeout` (default 5 s); call
/// [`shutdown`](Self::shutdown) to choose the wait and learn what was left.
///
/// ```no_run
/// use std::time::Duration;
/// use spoor::Tracker;
///
/// let config = spoor_splunk::load_config(&spoor_proto::ConfigBuilder::new())?;
/// let tracker = Tracker::new(&config, "shop")?;
/// tracker.setup()?; // once: the index and the sourcetype's props
/// tracker.track("purchase", Some("u42"), [("plan", "pro"), ("coupon", "XMAS")])?;
/// tracker.shutdown(Duration::from_secs(5))?;
/// # Ok::<(), spoor::Error>(())
/// ```
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("application", &self.inner.application)
            .field("index", &self.inner.index)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct Inner {
    queue: Arc<Queue>,
    stop: Arc<Stop>,
    thread: Mutex<Option<JoinHandle<()>>>,
    config: Config,
    application: String,
    index: String,
    sourcetype: String,
    host: Option<String>,
    source: Option<String>,
    hec: bool,
    on_full: OnFull,
    on_drop: Option<OnDrop>,
    drop_timeout: Duration,
}

impl Tracker {
    /// A tracker with every default (see [`TrackerBuilder`]): HEC when the configuration has
    /// an HEC token, else `receivers/simple` with the login.
    ///
    /// # Errors
    ///
    /// As [`TrackerBuilder::build`].
    pub fn new(config: &Config, application: impl Into<String>) -> Result<Self, Error> {
        Self::builder(config, application).build()
    }

    /// A tracker's settings, to change before [`build`](TrackerBuilder::build).
    pub fn builder(config: &Config, application: impl Into<String>) -> TrackerBuilder {
        TrackerBuilder {
            config: config.clone(),
            application: application.into(),
            index: DEFAULT_INDEX.to_owned(),
            sourcetype: DEFAULT_SOURCETYPE.to_owned(),
            host: None,
            source: None,
            queue_capacity: 10_000,
            batch_events: 5_000,
            batch_bytes: DEFAULT_BATCH_CAP,
            interval: Duration::from_secs(1),
            on_full: OnFull::DropNewest,
            on_drop: None,
            on_error: None,
            retry: RetryPolicy::default(),
            drop_timeout: Duration::from_secs(5),
        }
    }

    /// Creates the index and the sourcetype's `props.conf` stanza (spoor's settings), or
    /// leaves them as they are when they exist. Tracking does not need it where they exist.
    ///
    /// # Errors
    ///
    /// [`Error::SetupDenied`] when the login may not create them, [`Error::Splunk`] otherwise.
    pub fn setup(&self) -> Result<(), Error> {
        let client = spoor_splunk::blocking::Client::new(&self.inner.config)?;
        setup_result(
            &self.inner,
            client
                .create_index(&self.inner.index, &Form::new())
                .map(drop),
        )?;
        setup_result(
            &self.inner,
            client.props(&self.inner.sourcetype, &props_form()),
        )
    }

    /// Logs `name` for `distinct_id` with `properties`, at the time of the call.
    ///
    /// Checked and queued without I/O; delivered by the worker.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEvent`] for a key or value Splunk would change (nothing queued),
    /// [`Error::QueueFull`] when the queue stayed full, [`Error::ShutDown`] after a shutdown.
    pub fn track<K, V>(
        &self,
        name: &str,
        distinct_id: Option<&str>,
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        self.track_at(name, distinct_id, properties, OffsetDateTime::now_utc())
    }

    /// As [`track`](Self::track), at a time of the caller's.
    ///
    /// # Errors
    ///
    /// As [`track`](Self::track).
    pub fn track_at<K, V>(
        &self,
        name: &str,
        distinct_id: Option<&str>,
        properties: impl IntoIterator<Item = (K, V)>,
        time: OffsetDateTime,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        let inner = &*self.inner;
        let mut builder =
            Event::builder(inner.application.as_str(), name, time).properties(properties);
        if let Some(id) = distinct_id {
            builder = builder.distinct_id(id);
        }
        let event = builder.build()?;
        inner.queue(std::slice::from_ref(&event))
    }

    /// Queues events made by the caller, of any application and at any time, all or none:
    /// when the queue has no room for all of them (after the [`OnFull`] wait), none is queued
    /// and each is counted dropped. For a service that takes events from others, such as the
    /// dashboard's `/api/track`.
    ///
    /// ```no_run
    /// use spoor::{Event, Tracker};
    ///
    /// let config = spoor_splunk::load_config(&spoor_proto::ConfigBuilder::new())?;
    /// let tracker = Tracker::new(&config, "intake")?;
    /// let now = time::OffsetDateTime::now_utc();
    /// let events = [
    ///     Event::builder("shop", "login", now).distinct_id("u1").build()?,
    ///     Event::builder("blog", "read", now).property("slug", "hello").build()?,
    /// ];
    /// tracker.track_events(&events)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::QueueFull`] when the queue had no room for them all, [`Error::ShutDown`] after
    /// a shutdown.
    pub fn track_events(&self, events: &[Event]) -> Result<(), Error> {
        self.inner.queue(events)
    }

    /// Waits until every event tracked before the call is delivered (or given up), at most
    /// `timeout`. The worker sends at once rather than waiting for its interval.
    ///
    /// # Errors
    ///
    /// [`Error::FlushTimeout`] with the events still pending when the time is up.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.inner.queue.flush(timeout) {
            Ok(())
        } else {
            Err(Error::FlushTimeout {
                pending: self.inner.queue.len(),
            })
        }
    }

    /// Stops taking events, delivers what is queued for at most `timeout`, then stops the
    /// worker; what is still undelivered then is given up (counted as failed). Later calls
    /// to `track` return [`Error::ShutDown`].
    ///
    /// # Errors
    ///
    /// [`Error::FlushTimeout`] naming the events given up.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        self.inner.shutdown(timeout)
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        let state = self.inner.queue.lock();
        Stats {
            queued: state.accepted - state.settled - state.abandoned,
            sent: state.sent,
            retried: state.retried,
            dropped: state.dropped,
            failed: state.failed,
        }
    }
}

impl Inner {
    /// Encodes `events` for the transport and queues them, all or none.
    fn queue(&self, events: &[Event]) -> Result<(), Error> {
        let encoded = events
            .iter()
            .map(|event| {
                let mut bytes = Vec::with_capacity(192);
                if self.hec {
                    let meta = HecMeta {
                        index: Some(&self.index),
                        sourcetype: Some(&self.sourcetype),
                        host: self.host.as_deref(),
                        source: self.source.as_deref(),
                    };
                    event.encode_hec(&meta, &mut bytes);
                } else {
                    event.encode_line(&mut bytes);
                }
                bytes
            })
            .collect();
        let block = match self.on_full {
            OnFull::DropNewest => None,
            OnFull::Block(wait) => Some(wait),
        };
        match self.queue.push(encoded, block) {
            Ok(()) => Ok(()),
            Err(Refused::Closed) => Err(Error::ShutDown),
            Err(Refused::Full) => {
                if let Some(on_drop) = &self.on_drop {
                    events.iter().for_each(|event| on_drop(event));
                }
                Err(Error::QueueFull)
            }
        }
    }

    fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let failed_before = self.queue.lock().failed;
        self.queue.close();
        if !self.queue.flush(timeout) {
            self.stop.set();
            self.queue.abandon();
        }
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // The worker ends at once unless a request is in flight, which it gives up at its
            // next step; past a short grace it is left to end by itself (its request's own
            // time limit), so a shutdown never waits much past its timeout.
            let grace = Instant::now() + STOP_GRACE;
            while !thread.is_finished() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
        // Given up during this shutdown, or still unconfirmed in a request left in flight.
        let state = self.queue.lock();
        // (Events given up behind a batch in flight count once, among the failed.)
        let unsettled = state.accepted - state.settled - state.abandoned;
        let undelivered = state.failed - failed_before + unsettled;
        drop(state);
        if undelivered == 0 {
            Ok(())
        } else {
            Err(Error::FlushTimeout {
                pending: usize::try_from(undelivered).unwrap_or(usize::MAX),
            })
        }
    }
}

/// How long a shutdown past its timeout waits for the worker to notice.
const STOP_GRACE: Duration = Duration::from_millis(500);

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.shutdown(self.drop_timeout);
    }
}

fn props_form() -> Form {
    let mut form = Form::new();
    for (key, value) in spoor_event::props::SETTINGS {
        form.push(*key, *value);
    }
    form
}

/// A setup call's result: 409 (exists) is fine; 401/403 say the login lacks the rights.
fn setup_result(inner: &Inner, result: Result<(), spoor_proto::Error>) -> Result<(), Error> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.status() == Some(http::StatusCode::CONFLICT) => Ok(()),
        Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(401 | 403)) => {
            Err(Error::SetupDenied(format!(
                "the login may not create index {:?} or sourcetype {:?} (splunk answered {e}); ask an admin to create them, tracking works once they exist",
                inner.index, inner.sourcetype
            )))
        }
        Err(e) => Err(Error::Splunk(e)),
    }
}

/// The tracker for async programs: `track` is the same (it never waits on I/O), `setup`,
/// `flush` and `shutdown` are async. Its worker is the same plain thread.
///
/// Call [`shutdown`](Self::shutdown) before dropping the last handle: dropping it delivers
/// what is queued too, but waits (up to the drop timeout) in the dropping thread.
#[derive(Debug, Clone)]
pub struct AsyncTracker {
    tracker: Tracker,
}

impl AsyncTracker {
    /// A tracker with every default (see [`TrackerBuilder`]).
    ///
    /// # Errors
    ///
    /// As [`TrackerBuilder::build`].
    pub fn new(config: &Config, application: impl Into<String>) -> Result<Self, Error> {
        Ok(Self::from(Tracker::new(config, application)?))
    }

    /// As [`Tracker::setup`], over the async driver.
    ///
    /// # Errors
    ///
    /// As [`Tracker::setup`].
    pub async fn setup(&self) -> Result<(), Error> {
        let inner = &self.tracker.inner;
        let client = spoor_splunk::tokio::Client::new(&inner.config)?;
        setup_result(
            inner,
            client
                .create_index(&inner.index, &Form::new())
                .await
                .map(drop),
        )?;
        setup_result(inner, client.props(&inner.sourcetype, &props_form()).await)
    }

    /// As [`Tracker::track`].
    ///
    /// # Errors
    ///
    /// As [`Tracker::track`].
    pub fn track<K, V>(
        &self,
        name: &str,
        distinct_id: Option<&str>,
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        self.tracker.track(name, distinct_id, properties)
    }

    /// As [`Tracker::track_at`].
    ///
    /// # Errors
    ///
    /// As [`Tracker::track`].
    pub fn track_at<K, V>(
        &self,
        name: &str,
        distinct_id: Option<&str>,
        properties: impl IntoIterator<Item = (K, V)>,
        time: OffsetDateTime,
    ) -> Result<(), Error>
    where
        K: Into<String>,
        V: Into<Value>,
    {
        self.tracker.track_at(name, distinct_id, properties, time)
    }

    /// As [`Tracker::track_events`].
    ///
    /// # Errors
    ///
    /// As [`Tracker::track_events`].
    pub fn track_events(&self, events: &[Event]) -> Result<(), Error> {
        self.tracker.track_events(events)
    }

    /// As [`Tracker::flush`], without blocking the runtime's threads.
    ///
    /// # Errors
    ///
    /// As [`Tracker::flush`].
    pub async fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let tracker = self.tracker.clone();
        blocking(move || tracker.flush(timeout)).await
    }

    /// As [`Tracker::shutdown`], without blocking the runtime's threads.
    ///
    /// # Errors
    ///
    /// As [`Tracker::shutdown`].
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), Error> {
        let tracker = self.tracker.clone();
        blocking(move || tracker.shutdown(timeout)).await
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.tracker.stats()
    }
}

impl From<Tracker> for AsyncTracker {
    fn from(tracker: Tracker) -> Self {
        Self { tracker }
    }
}

async fn blocking(f: impl FnOnce() -> Result<(), Error> + Send + 'static) -> Result<(), Error> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or(Err(Error::ShutDown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_says_when_rights_are_missing_and_accepts_what_exists() {
        let config = Config::builder()
            .username("u")
            .password("p")
            .build()
            .unwrap();
        let tracker = Tracker::builder(&config, "shop")
            .drop_timeout(Duration::ZERO)
            .build()
            .unwrap();
        let api = |status: u16| spoor_proto::Error::Api {
            status: http::StatusCode::from_u16(status).unwrap(),
            messages: Vec::new(),
        };
        assert!(setup_result(&tracker.inner, Err(api(409))).is_ok());
        let denied = setup_result(&tracker.inner, Err(api(403))).unwrap_err();
        assert!(matches!(denied, Error::SetupDenied(_)));
        assert!(denied.to_string().contains("ask an admin"), "{denied}");
        assert!(matches!(
            setup_result(&tracker.inner, Err(api(500))),
            Err(Error::Splunk(_))
        ));
    }
}
