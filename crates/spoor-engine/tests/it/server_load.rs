//! The server under load: 16 clients ingesting (`receivers/simple` and HEC, blocking and async
//! drivers) and 4 searching, all at once, for 30 seconds (`SPOOR_SERVER_LOAD_SECS` sets another
//! length). No call may fail, counts seen while it runs never go down, and at the end every
//! acknowledged event is found exactly once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use spoor_proto::Config;
use spoor_proto::form::Form;
use spoor_proto::hec::Batch;
use spoor_proto::rest::SubmitTarget;
use spoor_proto::search::{ExportItem, SearchParams};

use crate::server_support::{Blocking, Driver, Harness, Tokio};

/// How long the load runs: the 30 seconds unless `SPOOR_SERVER_LOAD_SECS` says.
const LOAD_SECS: u64 = 30;
const INGESTERS: usize = 16;
const SEARCHERS: usize = 4;
/// Events per request.
const BATCH: usize = 25;

fn load_time() -> Duration {
    let secs = std::env::var("SPOOR_SERVER_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(LOAD_SECS);
    Duration::from_secs(secs)
}

/// Sends batches until `until`; returns how many events were acknowledged.
fn ingest<D: Driver>(config: &Config, client: usize, until: Instant) -> u64 {
    let driver = D::connect(config);
    let target = SubmitTarget {
        index: Some("load".to_owned()),
        sourcetype: Some("load".to_owned()),
        ..SubmitTarget::default()
    };
    let mut acked = 0u64;
    while Instant::now() < until {
        let events: Vec<String> = (acked..acked + BATCH as u64)
            .map(|seq| format!("load client=c{client} seq={seq}"))
            .collect();
        if client.is_multiple_of(2) {
            let lines: Vec<&str> = events.iter().map(String::as_str).collect();
            let receipt = driver.submit(&target, &lines).expect("submit under load");
            assert_eq!(receipt.index, "load");
        } else {
            let mut body = Vec::new();
            for event in &events {
                let envelope =
                    serde_json::json!({"event": event, "index": "load", "sourcetype": "load"});
                body.extend_from_slice(envelope.to_string().as_bytes());
            }
            driver
                .hec_send(Batch {
                    body,
                    events: events.len(),
                })
                .expect("hec under load");
        }
        acked += BATCH as u64;
    }
    acked
}

/// Searches until `until`, every count at least the one before; returns how many searches ran.
fn search<D: Driver>(config: &Config, searcher: usize, until: Instant) -> usize {
    let driver = D::connect(config);
    let mut last = 0u64;
    let mut runs = 0;
    while Instant::now() < until {
        let count = if searcher == 0 {
            // The export stream, too.
            let items = driver
                .export("search index=load | stats count", &SearchParams::default())
                .expect("export under load");
            items
                .iter()
                .find_map(|i| match i {
                    ExportItem::Row(row) => row.get_str("count").map(str::to_owned),
                    ExportItem::Message(_) => None,
                })
                .expect("a count")
        } else {
            let found = driver
                .search("search index=load | stats count", SearchParams::default())
                .expect("search under load");
            found.rows[0].get_str("count").expect("count").to_owned()
        };
        let count: u64 = count.parse().expect("a number");
        assert!(count >= last, "the count went down from {last} to {count}");
        last = count;
        runs += 1;
    }
    runs
}

#[test]
fn server_under_load_keeps_every_acknowledged_event_once() {
    let harness = Harness::start("srv-load");
    let config = harness.config();
    let setup = Blocking::connect(&config);
    setup.create_index("load", &Form::new()).expect("index");
    let mut keys = Form::new();
    keys.push("SHOULD_LINEMERGE", "false");
    setup.props("load", &keys).expect("props");

    let started = Arc::new(Barrier::new(INGESTERS + SEARCHERS));
    let failed = Arc::new(AtomicBool::new(false));
    let length = load_time();
    let spawn = |role: usize| {
        let config = config.clone();
        let started = Arc::clone(&started);
        let failed = Arc::clone(&failed);
        std::thread::spawn(move || {
            started.wait();
            let until = Instant::now() + length;
            let done = std::panic::catch_unwind(|| {
                // Half the clients on each driver.
                match (role < INGESTERS, role % 4 < 2) {
                    (true, true) => ingest::<Blocking>(&config, role, until),
                    (true, false) => ingest::<Tokio>(&config, role, until),
                    (false, true) => search::<Blocking>(&config, role - INGESTERS, until) as u64,
                    (false, false) => search::<Tokio>(&config, role - INGESTERS, until) as u64,
                }
            });
            if done.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            done
        })
    };
    let threads: Vec<_> = (0..INGESTERS + SEARCHERS).map(spawn).collect();
    let outcomes: Vec<u64> = threads
        .into_iter()
        .map(|t| t.join().expect("thread").expect("no error under load"))
        .collect();
    assert!(!failed.load(Ordering::SeqCst));
    let acked: BTreeMap<String, u64> = outcomes[..INGESTERS]
        .iter()
        .enumerate()
        .map(|(client, n)| (format!("c{client}"), *n))
        .collect();
    assert!(
        outcomes[INGESTERS..].iter().all(|runs| *runs > 0),
        "every searcher ran"
    );
    assert!(
        acked.values().all(|n| *n > 0),
        "every client got something in"
    );

    // Every acknowledged event, exactly once: per client, as many events as distinct
    // sequence numbers, and as many as were acknowledged.
    let found = setup
        .search(
            "search index=load | stats dc(seq) as distinct count by client",
            SearchParams::default(),
        )
        .expect("final search");
    let counted: BTreeMap<String, (u64, u64)> = found
        .rows
        .iter()
        .map(|row| {
            let n = |f: &str| row.get_str(f).expect(f).parse::<u64>().expect("a number");
            (
                row.get_str("client").expect("client").to_owned(),
                (n("count"), n("distinct")),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u64, u64)> =
        acked.iter().map(|(c, n)| (c.clone(), (*n, *n))).collect();
    assert_eq!(counted, expected);
    let total: u64 = acked.values().sum();
    let summary = harness.engine.index_summary("load").expect("the index");
    assert_eq!(summary.events, total);
}
