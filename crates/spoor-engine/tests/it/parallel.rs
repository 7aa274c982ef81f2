//! Large windows are filtered, gathered and aggregated (or aggregated straight from the
//! columns) in halves on two threads, and a store is replayed in two runs of segments whose
//! indexes are then joined. The other tests use small
//! data sets, so this one checks those paths: every question of the retriever over enough
//! generated events to split, stored in many small segments, answered by the reopened engine
//! as the reference evaluator answers it.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use spoor_engine::generate::{Generator, Spec};
use spoor_engine::{Engine, EventMeta, Record, StoreOptions, Window};
use spoor_event::Key;
use spoor_spl::ast::Span;
use spoor_spl::build::{self, Index, OverTime, Split};
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use time::macros::datetime;

use crate::reference;
use crate::support::TempDir;

/// More than twice the engine's threshold for splitting work over two threads.
const EVENTS: usize = 300_000;

#[test]
fn split_work_gives_the_reference_answers() {
    let dir = TempDir::new("parallel");
    let end = datetime!(2028-06-01 0:00 UTC);
    // Small segments, so the replay has many to share between its two runs.
    let options = StoreOptions::default().segment_bytes(1 << 20);
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("opens");
    engine.store().create_index("analytics").expect("index");
    engine
        .store()
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("props");
    let meta = EventMeta::new("spoor", "generated", "localhost");
    let events: Vec<_> = Generator::new(Spec::benchmark(EVENTS, end)).collect();
    for chunk in events.chunks(10_000) {
        let mut body = Vec::new();
        spoor_event::encode_lines(chunk, &mut body);
        let text = String::from_utf8(body).expect("UTF-8");
        engine
            .ingest("analytics", &meta, &text, end)
            .expect("ingests");
    }
    drop(engine);

    let mut records: Vec<Record> = Vec::new();
    let (store, _) = spoor_engine::Store::open(dir.path(), |_, r| records.push(r)).expect("reads");
    let props: BTreeMap<_, _> = store.props();
    let indexes = store.indexes();
    drop(store);
    let segments = std::fs::read_dir(dir.path().join("indexes").join("analytics"))
        .expect("index folder")
        .count();
    assert!(segments > 20, "only {segments} segments");
    let (engine, report) = Engine::open_with(dir.path(), &options).expect("reopens");
    assert_eq!(report.records, EVENTS as u64);

    let index = Index::new("analytics").expect("name");
    let any = TimeWindow::new(TimeModifier::Now, TimeModifier::Now);
    let key = Key::new("browser").expect("key");
    let questions = [
        build::applications(&index, &[], any),
        build::events(&index, "shop", &[], any),
        build::properties(&index, "shop", Some("page_view"), &[], any),
        build::properties(&index, "shop", None, &[], any),
        build::property_values(
            &index,
            "shop",
            Some("page_view"),
            &key,
            NonZeroU32::new(5),
            &[],
            any,
        ),
        build::property_values(&index, "shop", None, &key, NonZeroU32::new(5), &[], any),
        build::events_over_time(&index, "shop", &OverTime::new(Span::DAY), &[], any),
        build::events_over_time(
            &index,
            "shop",
            &OverTime::new(Span::WEEK)
                .event("page_view")
                .split(Split::Property(key.clone()))
                .limit(3),
            &[],
            any,
        ),
        build::unique_users_over_time(&index, "shop", None, Span::MONTH, &[], any),
    ];
    let windows = [
        Window::default(),
        Window {
            earliest: Some(datetime!(2028-04-10 0:00 UTC)),
            latest: Some(datetime!(2028-05-20 0:00 UTC)),
        },
    ];
    // Events read back from their (joined) locations, from both runs' segments: an hour early
    // in the data and an hour late.
    for (text, hour) in [
        (
            "search index=analytics | sort limit=40 +_time | fields _raw, _time",
            datetime!(2028-03-05 10:00 UTC),
        ),
        (
            "search index=analytics | head 40 | fields _raw, _time",
            datetime!(2028-05-25 10:00 UTC),
        ),
    ] {
        let query = spoor_spl::parse(text).expect("parses");
        let window = Window {
            earliest: Some(hour),
            latest: Some(hour + time::Duration::hours(1)),
        };
        let expected = reference::evaluate(&records, &props, &indexes, &query, &window);
        assert_eq!(expected.rows.len(), 40);
        assert_eq!(
            engine.search(&query, &window).expect("searches"),
            expected,
            "{text}"
        );
    }
    // Aggregations read straight from the columns, over codes of each width (a byte for most
    // fields, two for `page`'s 400 values, four for the users, none for the one host, source
    // and sourcetype), dense and sparse (the rare `amount`, `currency` and `coupon`), with the
    // NULL and OTHER series; and columns of one value through the frame.
    let aggregations = [
        "search index=analytics host=localhost | stats count, dc(sourcetype) by source",
        "search index=analytics sourcetype=spoor | stats sum(analytics_prop__items) by host",
        "search index=analytics | stats count, count(analytics_prop__page), dc(analytics_prop__page), dc(distinct_id) by analytics_prop__country",
        "search index=analytics application=shop | stats count, dc(analytics_prop__amount) by analytics_prop__currency",
        "search index=analytics NOT event=login | stats dc(distinct_id) by analytics_prop__page",
        "search index=analytics | stats count(analytics_prop__coupon), dc(analytics_prop__amount)",
        "search index=analytics | timechart span=1w limit=4 dc(distinct_id) by event",
        "search index=analytics | timechart span=1d usenull=false count(analytics_prop__coupon) by analytics_prop__currency",
        "search index=analytics event=purchase | timechart span=1d limit=2 count by analytics_prop__plan",
    ]
    .map(|text| spoor_spl::parse(text).expect("parses"));
    let questions = questions.iter().map(|q| q.query()).chain(&aggregations);
    for query in questions {
        for window in &windows {
            let expected = reference::evaluate(&records, &props, &indexes, query, window);
            let actual = engine.search(query, window).expect("searches");
            assert_eq!(actual, expected, "{query} over {window:?}");
        }
    }
}
