//! The funnel's, the retention's, the top users' and the timeline's direct paths against the
//! generic path: random events
//! (few instants, so many rows share a time; few users; properties some steps filter on),
//! random funnels (2 to 10 steps, filters, windows, breakdowns) and retentions (each period),
//! with random filters and time windows, each answered both ways, rows compared exactly.
//!
//! The generic answer is the same query with a `fields - …` of a field no row has after it,
//! which changes nothing but that the query is no longer the builder's shape. That the direct
//! path takes the builders' queries is checked too, so the comparison is not between two runs
//! of the generic path.

use std::time::Duration;

use proptest::prelude::*;
use spoor_event::{Event, Key, Value};
use spoor_spl::ast::{Aggregate, Command, FieldPattern, Fields, FieldsMode, Function, Query};
use spoor_spl::build::{self, Funnel, Index, OverTime, Period, Retention, Split, Stat, Step};
use spoor_spl::filter::Filter as PropertyFilter;
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::search::filter::exact_wheres;
use crate::{Engine, EventMeta, Window};

const START: OffsetDateTime = datetime!(2028-01-30 22:00 UTC);
const APPLICATIONS: &[&str] = &["shop", "shop", "shop", "Shop", "blog"];
const EVENTS: &[&str] = &["a", "b", "c", "d"];
const USERS: &[&str] = &["u1", "u2", "u3", "U1", "u 4", "u5", "9", "10"];
const FILTERS: &[&str] = &[
    "plan=pro",
    "plan!=pro",
    "plan=pro|free",
    "plan=*",
    "plan!=*",
    "amount<5",
    "amount>=2",
    "amount<=-1",
    "amount>2.5",
    "amount=3",
    "note=*",
    "nokey=x",
    "nokey!=*",
];

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(&["pro", "free", "Pro", ""][..]).prop_map(|s| Value::String(s.into())),
        (-1i64..10).prop_map(Value::Int),
        Just(Value::Float(2.5)),
        Just(Value::String("x".into())),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// Events at one of 60 instants `spacing` apart, some a microsecond or half a second off.
fn events() -> impl Strategy<Value = Vec<Event>> {
    let spacing = prop::sample::select(&[600i64, 4 * 3600, 36 * 3600][..]);
    let event = (
        prop::sample::select(APPLICATIONS),
        prop::sample::select(EVENTS),
        prop::option::weighted(0.9, prop::sample::select(USERS)),
        0..60i64,
        prop::sample::select(&[0i64, 0, 0, 1, 500_000][..]),
        prop::collection::btree_map(
            prop::sample::select(&["plan", "amount", "note"][..]),
            value(),
            0..3,
        ),
    );
    (spacing, prop::collection::vec(event, 0..300)).prop_map(|(spacing, events)| {
        events
            .into_iter()
            .map(|(app, name, user, slot, micros, properties)| {
                let time = START
                    + time::Duration::seconds(slot * spacing)
                    + time::Duration::microseconds(micros);
                let mut builder = Event::builder(app, name, time);
                for (key, value) in properties {
                    builder = builder.property(key, value);
                }
                if let Some(user) = user {
                    builder = builder.distinct_id(user);
                }
                builder.build().expect("a valid event")
            })
            .collect()
    })
}

/// Mostly none, else one or two.
fn filters() -> impl Strategy<Value = Vec<PropertyFilter>> {
    let filter = prop::sample::select(FILTERS).prop_map(|f| f.parse().expect("a filter"));
    prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(filter, 1..3),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (prop::sample::select(EVENTS), filters()).prop_map(|(event, filters)| {
        filters
            .into_iter()
            .fold(Step::new(event), |step, f| step.filter(f))
    })
}

fn window() -> impl Strategy<Value = Window> {
    let instant = (-2..62i64).prop_map(|slot| START + time::Duration::minutes(slot * 37 * 11));
    prop_oneof![
        Just(Window::default()),
        (instant.clone(), instant).prop_map(|(a, b)| Window {
            earliest: Some(a.min(b)),
            latest: Some(a.max(b) + time::Duration::seconds(1)),
        }),
    ]
}

fn any_window() -> TimeWindow {
    TimeWindow::new(TimeModifier::Now, TimeModifier::Now)
}

fn index() -> Index {
    Index::new("analytics").expect("an index name")
}

fn funnel() -> impl Strategy<Value = Query> {
    let steps = prop_oneof![
        4 => prop::collection::vec(step(), 2..=4),
        1 => prop::collection::vec(step(), 10..=10),
    ];
    let within = prop::sample::select(&[60u64, 1200, 5 * 3600, 2 * 86_400, 90 * 86_400][..]);
    let breakdown = prop::option::of(prop::sample::select(&["plan", "amount", "nokey"][..]));
    (
        prop::sample::select(APPLICATIONS),
        steps,
        within,
        breakdown,
        filters(),
    )
        .prop_map(|(app, steps, within, breakdown, filters)| {
            let mut funnel = Funnel::new(steps, Duration::from_secs(within)).expect("a funnel");
            if let Some(key) = breakdown {
                funnel = funnel.breakdown(Key::new(key).expect("a key"));
            }
            build::funnel(&index(), app, &funnel, &filters, any_window())
                .query()
                .clone()
        })
}

fn retention() -> impl Strategy<Value = Query> {
    (
        prop::sample::select(APPLICATIONS),
        step(),
        step(),
        prop::sample::select(&Period::ALL[..]),
        filters(),
    )
        .prop_map(|(app, start, back, period, filters)| {
            let question = Retention {
                start,
                back,
                period,
            };
            build::retention(&index(), app, &question, &filters, any_window())
                .query()
                .clone()
        })
}

fn top_users() -> impl Strategy<Value = Query> {
    (
        prop::sample::select(APPLICATIONS),
        prop::option::of(prop::sample::select(EVENTS)),
        1..6u32,
        filters(),
    )
        .prop_map(|(app, event, top, filters)| {
            let top = std::num::NonZeroU32::new(top).expect("not zero");
            build::top_users(&index(), app, event, top, &filters, any_window())
                .query()
                .clone()
        })
}

fn timeline() -> impl Strategy<Value = Query> {
    (
        prop::sample::select(APPLICATIONS),
        prop::sample::select(USERS),
        1..8u32,
        filters(),
    )
        .prop_map(|(app, user, count, filters)| {
            let count = std::num::NonZeroU32::new(count).expect("not zero");
            build::user_events(&index(), app, user, count, &filters, any_window())
                .query()
                .clone()
        })
}

/// Whether `query` goes the way it should over a sorted index: a funnel and a retention always
/// the direct way (the `where` of their filters is decided by code), the top users and a
/// timeline when their filters are exact as search terms and `where` comparisons (else they
/// go the generic way either way).
fn as_expected(query: &Query) -> bool {
    let (_, commands) = exact_wheres(&query.commands);
    if matches!(
        commands,
        [Command::WhereExpr(_), Command::Stats(_), Command::Sort(_)]
            | [Command::WhereExpr(_), Command::Head(_)]
    ) {
        return true;
    }
    super::funnel::recognises(commands)
        || super::retention::recognises(commands)
        || matches!(
            commands,
            [Command::Stats(_), Command::Sort(_)]
                | [Command::Head(_)]
                | [Command::Stats(_)]
                | [Command::Timechart(_)]
        )
        || matches!(commands, [Command::Timechart(chart), ..] if matches!(
            chart.aggregation.aggregate,
            Aggregate::Apply { function: Function::Sum, .. }
        ))
}

/// `query` with a command that changes nothing, so that it goes the generic way: after it, or
/// before its chart (a chart right after the search is aggregated from the columns whatever
/// follows it).
fn generic(query: &Query) -> Query {
    let mut query = query.clone();
    let nothing = Command::Fields(Fields {
        mode: FieldsMode::Remove,
        fields: vec![FieldPattern::new("spoor_generic_path").expect("a pattern")],
    });
    match query
        .commands
        .iter()
        .position(|c| matches!(c, Command::Timechart(_)))
    {
        Some(chart) => query.commands.insert(chart, nothing),
        None => query.commands.push(nothing),
    }
    query
}

fn check(events: &[Event], sorted: bool, queries: &[(Query, Window)]) -> Result<(), TestCaseError> {
    check_opened(events, sorted, false, queries)
}

/// [`check`], the store reopened after the events were stored when `reopen` (its columns are
/// then read back and shrunk, a column of one value stored as that one code).
fn check_opened(
    events: &[Event],
    sorted: bool,
    reopen: bool,
    queries: &[(Query, Window)],
) -> Result<(), TestCaseError> {
    let dir = std::env::temp_dir().join(format!(
        "spoor-direct-differential-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut engine, _) = Engine::open(&dir).expect("opens");
    engine.store().create_index("analytics").expect("index");
    engine
        .store()
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("props");
    let mut events = events.to_vec();
    if sorted {
        events.sort_by_key(Event::time);
    }
    let mut text = Vec::new();
    spoor_event::encode_lines(&events, &mut text);
    if !events.is_empty() {
        let meta = EventMeta::new("spoor", "app", "web-1");
        let text = std::str::from_utf8(&text).expect("UTF-8");
        engine
            .ingest("analytics", &meta, text, START)
            .expect("ingests");
    }
    if reopen {
        drop(engine);
        engine = Engine::open(&dir).expect("reopens").0;
    }
    let result = (|| {
        for (query, window) in queries {
            prop_assert!(as_expected(query), "not taken: {}", query);
            let direct = engine.search(query, window);
            let generic = engine.search(&generic(query), window);
            match (direct, generic) {
                (Ok(direct), Ok(generic)) => {
                    prop_assert_eq!(direct, generic, "\nquery: {}\nwindow: {:?}", query, window);
                }
                (direct, generic) => prop_assert_eq!(
                    direct.map_err(|e| e.to_string()).err(),
                    generic.map_err(|e| e.to_string()).err(),
                    "\nquery: {}",
                    query
                ),
            }
        }
        Ok(())
    })();
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(48))]

    #[test]
    fn funnels_and_retentions_agree_with_the_generic_path(
        events in events(),
        sorted in prop::bool::weighted(0.9),
        queries in prop::collection::vec(
            (
                prop_oneof![2 => funnel(), 2 => retention(), 1 => top_users(), 1 => timeline()],
                window(),
            ),
            1..6,
        ),
    ) {
        check(&events, sorted, &queries)?;
    }
}

#[test]
fn every_period_and_a_ten_step_funnel_are_taken() {
    let steps = (0..10).map(|i| Step::new(EVENTS[i % 4]).filter("plan=pro|free".parse().unwrap()));
    let funnel = Funnel::new(steps, Duration::from_secs(3_600))
        .unwrap()
        .breakdown(Key::new("plan").unwrap());
    let filters: Vec<PropertyFilter> =
        vec!["amount<5".parse().unwrap(), "plan=pro".parse().unwrap()];
    assert!(as_expected(
        build::funnel(&index(), "shop", &funnel, &filters, any_window()).query()
    ));
    for period in Period::ALL {
        let question = Retention {
            start: Step::new("a"),
            back: Step::new("b").filter("note!=*".parse().unwrap()),
            period,
        };
        assert!(as_expected(
            build::retention(&index(), "shop", &question, &[], any_window()).query()
        ));
    }
}

/// Over more rows than one thread takes (two threads, half the users each for the funnel, half
/// the window each for the retention and the counts), on the benchmark's generated events.
#[test]
fn two_threads_agree_with_the_generic_path() {
    use crate::generate::{Generator, Spec};
    let spec = Spec {
        users: 2_000,
        ..Spec::benchmark(140_000, START)
    };
    let events: Vec<Event> = Generator::new(spec).collect();
    let steps = ["page_view", "add_to_cart", "purchase"].map(Step::new);
    let funnel = Funnel::new(steps, Duration::from_secs(86_400)).expect("a funnel");
    let by_plan = funnel.clone().breakdown(Key::new("plan").expect("a key"));
    let retention = |period| Retention {
        start: Step::new("signup"),
        back: Step::new("login"),
        period,
    };
    let top = std::num::NonZeroU32::new(5).expect("not zero");
    let queries: Vec<(Query, Window)> = [
        build::funnel(&index(), "shop", &funnel, &[], any_window()),
        build::funnel(&index(), "shop", &by_plan, &[], any_window()),
        build::retention(
            &index(),
            "shop",
            &retention(Period::Week),
            &[],
            any_window(),
        ),
        build::retention(&index(), "shop", &retention(Period::Day), &[], any_window()),
        build::top_users(&index(), "shop", None, top, &[], any_window()),
    ]
    .into_iter()
    .map(|q| (q.query().clone(), Window::default()))
    .collect();
    check(&events, true, &queries).expect("the same rows both ways");
}

/// A chart's sums over two threads, by day and hour, whole and by a property, as the rows' own
/// path gives them (numbers in quarters, so that a sum is exact in any order).
#[test]
fn sums_over_two_threads_agree_with_the_generic_path() {
    let plans = ["pro", "free", "team"];
    let events: Vec<Event> = (0..150_000i64)
        .map(|i| {
            let time = START + time::Duration::seconds(i * 5);
            let amount = Value::Float((i % 997) as f64 / 4.0 - 7.25);
            Event::builder("shop", "purchase", time)
                .property("amount", amount)
                .property("plan", plans[(i % 3) as usize])
                .distinct_id(format!("u{}", i % 50))
                .build()
                .expect("a valid event")
        })
        .collect();
    let amount = Key::new("amount").expect("a key");
    let queries: Vec<(Query, Window)> = [
        OverTime::new(spoor_spl::ast::Span::DAY)
            .event("purchase")
            .split(Split::None),
        OverTime::new(spoor_spl::ast::Span::HOUR).event("purchase"),
        OverTime::new(spoor_spl::ast::Span::DAY)
            .event("purchase")
            .split(Split::Property(Key::new("plan").expect("a key"))),
    ]
    .iter()
    .map(|over| {
        let q = build::numbers(
            &index(),
            "shop",
            over,
            &amount,
            Stat::Sum,
            &[],
            any_window(),
        );
        (q.query().clone(), Window::default())
    })
    .collect();
    check(&events, true, &queries).expect("the same sums both ways");
}

/// Counts with conditions on fields of one value in every row (once reopened, each stored as
/// that one code) that keep every row or none, whole and by a field, over more rows than one thread takes, as
/// the rows' own path gives them.
#[test]
fn conditions_on_a_field_of_one_value_agree_with_the_generic_path() {
    let events: Vec<Event> = (0..140_000i64)
        .map(|i| {
            let time = START + time::Duration::seconds(i * 7);
            Event::builder(
                APPLICATIONS[(i % 5) as usize],
                EVENTS[(i % 4) as usize],
                time,
            )
            .build()
            .expect("a valid event")
        })
        .collect();
    let queries: Vec<(Query, Window)> = [
        "search index=analytics host=web-1 | stats count by event",
        "search index=analytics host=web-2 | stats count by event",
        "search index=analytics host!=web-1 application=shop | stats count",
        "search index=analytics sourcetype=spoor application=shop | stats count",
        "search index=analytics sourcetype=spoor application=blog | timechart span=1h count by event",
        "search index=analytics sourcetype=other application=shop | timechart span=1h count by event",
        "search index=analytics application=shop | stats count by host",
        "search index=analytics application=blog | timechart span=1h count by sourcetype",
    ]
    .iter()
    .map(|q| (q.parse().expect("a query"), Window::default()))
    .collect();
    check_opened(&events, true, true, &queries).expect("the same counts both ways");
}

/// Counts by a field of more values than a byte codes (each group shown, some rows without the
/// field), under conditions of a byte, whole and charted with and without the rows lacking it,
/// over more rows than one thread takes, as the rows' own path gives them.
#[test]
fn groups_of_a_field_of_many_values_agree_with_the_generic_path() {
    let events: Vec<Event> = (0..140_000i64)
        .map(|i| {
            let time = START + time::Duration::seconds(i * 7);
            let builder = Event::builder(
                APPLICATIONS[(i % 5) as usize],
                EVENTS[(i / 5 % 4) as usize],
                time,
            );
            // 700 users, and one event in eleven without one.
            let builder = if i % 11 == 0 {
                builder
            } else {
                builder.distinct_id(format!("user-{}", i * 7919 % 700))
            };
            builder.build().expect("a valid event")
        })
        .collect();
    let queries: Vec<(Query, Window)> = [
        "search index=analytics application=shop | stats count by distinct_id",
        "search index=analytics application=blog event=b | stats count, dc(event) by distinct_id",
        "search index=analytics | stats count by distinct_id",
        "search index=analytics application=shop | timechart span=1d count by distinct_id",
        "search index=analytics application=shop | timechart span=1d usenull=false limit=0 count by distinct_id",
    ]
    .iter()
    .map(|q| (q.parse().expect("a query"), Window::default()))
    .collect();
    check(&events, true, &queries).expect("the same counts both ways");
}
