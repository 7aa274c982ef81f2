//! The Tracker end to end: tracked events answer every question as the reference does; a
//! backend that goes away, or answers with faults, loses and duplicates nothing; a full queue
//! drops exactly what it says.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use spoor::{AsyncRetriever, AsyncTracker, OnFull, Retriever, Tracker, Window};
use spoor_event::{Event, Value};

use super::Backend;
use super::proxy::{Fault, Proxy};
use super::retriever::{check_async, check_blocking, event, expected, spec, window};

/// Tracks `events` with their own times and properties.
fn track_all(tracker: &Tracker, events: &[Event]) {
    for e in events {
        let props: Vec<(String, Value)> = e
            .properties()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
            .collect();
        tracker
            .track_at(e.name(), e.distinct_id(), props, e.time())
            .expect("tracked");
    }
}

fn tracker_for(config: &spoor_proto::Config, application: &str) -> Tracker {
    Tracker::builder(config, application)
        .interval(Duration::from_millis(20))
        .batch_events(64)
        .build()
        .expect("tracker")
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(4))]

    /// Events tracked (through HEC or `receivers/simple`, blocking or async) answer every
    /// question as the plain reference computed from them.
    #[test]
    fn tracked_events_answer_as_the_reference(
        specs in proptest::collection::vec(spec(), 1..300),
        hec in any::<bool>(),
        asynchronous in any::<bool>(),
    ) {
        let backend = Backend::start("9.4.0");
        let config = backend.config(hec);
        let events: Vec<Event> = specs.iter().map(event).collect();
        let exp = expected(&events, window().1);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        // One tracker per application, as applications embed them.
        for app in 0..3 {
            let name = format!("app-{app}");
            let mine: Vec<Event> = events.iter().filter(|e| e.application() == name).cloned().collect();
            let tracker = tracker_for(&config, &name);
            if asynchronous {
                let tracker = AsyncTracker::from(tracker);
                runtime.block_on(tracker.setup()).unwrap();
                for e in &mine {
                    let props: Vec<(String, Value)> = e.properties().iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect();
                    tracker.track_at(e.name(), e.distinct_id(), props, e.time()).unwrap();
                }
                runtime.block_on(tracker.shutdown(Duration::from_secs(30))).unwrap();
                prop_assert_eq!(tracker.stats().sent, mine.len() as u64);
            } else {
                tracker.setup().unwrap();
                track_all(&tracker, &mine);
                tracker.flush(Duration::from_secs(30)).unwrap();
                prop_assert_eq!(tracker.stats().sent, mine.len() as u64);
            }
        }
        let retriever = Retriever::new(&config).unwrap();
        check_blocking(&retriever, &exp, &[]);
        runtime.block_on(async {
            let r = AsyncRetriever::new(&config).unwrap();
            check_async(&r, &exp, &[]).await;
        });
    }
}

/// How many `login` events of `app` the backend holds, over all time.
fn stored(backend: &Backend, hec: bool, app: &str) -> u64 {
    let r = Retriever::new(&backend.config(hec)).unwrap();
    r.events(app, &[], &Window::AllTime)
        .unwrap()
        .iter()
        .map(|e| e.events)
        .sum()
}

#[test]
fn invalid_events_are_refused_at_the_call() {
    let backend = Backend::start("9.4.0");
    let tracker = tracker_for(&backend.config(true), "shop");
    let err = tracker
        .track("login", None, [("bad key", "x")])
        .unwrap_err();
    assert!(matches!(err, spoor::Error::InvalidEvent(_)), "{err}");
    let err = tracker.track("login", None, [("n", f64::NAN)]).unwrap_err();
    assert!(matches!(err, spoor::Error::InvalidEvent(_)));
    assert_eq!(tracker.stats().queued, 0);
}

#[test]
fn a_backend_down_for_ten_seconds_loses_and_duplicates_nothing() {
    for hec in [true, false] {
        let mut backend = Backend::start("9.4.0");
        let config = backend.config(hec);
        let tracker = Tracker::builder(&config, "shop")
            .interval(Duration::from_millis(10))
            .batch_events(50)
            .retry(spoor_proto::RetryPolicy {
                max_delay: Duration::from_millis(500),
                ..spoor_proto::RetryPolicy::default()
            })
            .build()
            .unwrap();
        tracker.setup().unwrap();
        let mut n: i64 = 0;
        for _ in 0..500 {
            tracker.track("login", Some("u"), [("i", n)]).unwrap();
            n += 1;
        }
        tracker.flush(Duration::from_secs(10)).unwrap();
        backend.stop();
        let down = Instant::now();
        while down.elapsed() < Duration::from_secs(10) {
            tracker.track("login", Some("u"), [("i", n)]).unwrap();
            n += 1;
            std::thread::sleep(Duration::from_millis(2));
            if n % 4_000 == 0 {
                break; // stay within the queue's bound
            }
        }
        let remaining = Duration::from_secs(10).saturating_sub(down.elapsed());
        std::thread::sleep(remaining);
        backend.resume();
        tracker.flush(Duration::from_secs(30)).unwrap();
        let stats = tracker.stats();
        let n = n as u64;
        assert_eq!(
            (stats.sent, stats.dropped, stats.failed),
            (n, 0, 0),
            "{stats:?}"
        );
        assert!(stats.retried > 0);
        assert_eq!(stored(&backend, hec, "shop"), n, "hec={hec}");
    }
}

#[test]
fn faults_between_tracker_and_backend_lose_and_duplicate_nothing() {
    for hec in [true, false] {
        let backend = Backend::start("9.4.0");
        Tracker::new(&backend.config(hec), "setup")
            .unwrap()
            .setup()
            .unwrap();
        let script = [
            Fault::Unavailable,
            Fault::TooMany,
            Fault::Drop,
            Fault::Delay(Duration::from_millis(300)),
            Fault::Pass,
            Fault::Drop,
            Fault::Unavailable,
            Fault::Pass,
        ]
        .repeat(3);
        let proxy = Proxy::start(backend.addr(), script);
        let config = backend.config_at(proxy.addr(), hec);
        let tracker = Tracker::builder(&config, "shop")
            .interval(Duration::from_millis(5))
            .batch_events(25)
            .retry(spoor_proto::RetryPolicy {
                base_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(200),
                ..spoor_proto::RetryPolicy::default()
            })
            .build()
            .unwrap();
        for i in 0..400 {
            tracker.track("login", Some("u"), [("i", i)]).unwrap();
        }
        tracker.shutdown(Duration::from_secs(60)).unwrap();
        let stats = tracker.stats();
        assert_eq!(
            (stats.sent, stats.failed, stats.dropped),
            (400, 0, 0),
            "{stats:?}"
        );
        let faults = proxy
            .counts
            .lock()
            .unwrap()
            .iter()
            .filter(|f| !matches!(f, Fault::Pass | Fault::Delay(_)))
            .count();
        assert!(faults >= 10, "the script ran ({faults} faults)");
        assert!(stats.retried >= faults as u64, "{stats:?}");
        assert_eq!(stored(&backend, hec, "shop"), 400, "hec={hec}");
    }
}

#[test]
fn a_full_queue_drops_exactly_and_never_waits_past_the_policy() {
    // Nothing listens at the backend's address: every batch waits for retries.
    let backend = Backend::start("9.4.0");
    let config = backend.config(true);
    drop(backend);
    let dropped_seen = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&dropped_seen);
    let tracker = Tracker::builder(&config, "shop")
        .queue_capacity(100)
        .batch_events(10_000)
        .interval(Duration::from_secs(3600))
        .on_drop(move |_| {
            seen.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap();
    for i in 0..250 {
        let result = tracker.track("login", None, [("i", i)]);
        assert_eq!(result.is_err(), i >= 100, "event {i}");
    }
    let stats = tracker.stats();
    assert_eq!((stats.queued, stats.dropped), (100, 150));
    assert_eq!(dropped_seen.load(Ordering::Relaxed), 150);

    let blocking = Tracker::builder(&config, "shop")
        .queue_capacity(10)
        .batch_events(10_000)
        .interval(Duration::from_secs(3600))
        .on_full(OnFull::Block(Duration::from_millis(50)))
        .drop_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut longest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let _ = blocking.track("login", None, [("i", i)]);
        longest = longest.max(started.elapsed());
    }
    assert_eq!(blocking.stats().dropped, 10);
    assert!(longest < Duration::from_millis(250), "waited {longest:?}");
    assert!(longest >= Duration::from_millis(50));

    let started = Instant::now();
    let err = tracker.shutdown(Duration::from_millis(200)).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(err, spoor::Error::FlushTimeout { pending: 100 }),
        "{err}"
    );
    assert_eq!(tracker.stats().failed, 100);
    assert!(matches!(
        tracker.track("login", None, [("i", 0)]),
        Err(spoor::Error::ShutDown)
    ));
}

#[test]
fn a_batch_refused_as_invalid_is_reported_and_not_retried() {
    for hec in [true, false] {
        let backend = Backend::start("9.4.0");
        let reported = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&reported);
        // No setup: the index does not exist, so every batch is refused (HEC's code 7, or 404).
        let tracker = Tracker::builder(&backend.config(hec), "shop")
            .index("nope")
            .interval(Duration::from_millis(5))
            .on_error(move |err, events| {
                assert!(matches!(err, spoor::Error::Splunk(_)), "{err}");
                seen.fetch_add(events as u64, Ordering::Relaxed);
            })
            .build()
            .unwrap();
        for i in 0..30 {
            tracker.track("login", None, [("i", i)]).unwrap();
        }
        tracker.flush(Duration::from_secs(10)).unwrap();
        let stats = tracker.stats();
        assert_eq!(
            (stats.sent, stats.failed, stats.retried),
            (0, 30, 0),
            "{stats:?}"
        );
        assert_eq!(reported.load(Ordering::Relaxed), 30);
    }
}
