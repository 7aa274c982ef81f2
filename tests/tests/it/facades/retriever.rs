//! Every question of the Retriever, blocking and async, against answers computed plainly from
//! the events stored.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor::answer::{
    Application, Chart, EventCount, NumberChart, Property, Series, Summary, Totals, UserCount,
    UserEvent, ValueCount,
};
use spoor::{AsyncRetriever, Filter, OverTime, Page, Retriever, Span, Split, Stat, Window};
use spoor_event::{Event, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::Backend;
use super::journeys::reference;

const START: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
const DAYS: i64 = 5;

/// The plans events have: mixed case, spaces, and the characters a filter's text escapes (`|`,
/// `\`, `*`) or SPL quotes (`"`).
pub(crate) const PLANS: [&str; 10] = [
    "free",
    "pro",
    "Pro",
    "<team>",
    "a|b",
    r"a\b",
    "*",
    " pro",
    "Free Trial",
    r#"a"b"#,
];

/// The amounts events have: numbers of each kind, and text that is a number or not as Splunk
/// reads it ([`reference::number`]).
fn amount(i: u8) -> Value {
    match i {
        0 => Value::Int(3),
        1 => Value::Int(-2),
        2 => Value::Int(10),
        3 => Value::Float(2.5),
        4 => Value::Float(-0.5),
        5 => Value::Float(1000.0),
        6 => Value::from("7"),
        7 => Value::from(" 8 "),
        8 => Value::from("1e1"),
        9 => Value::from("+4"),
        10 => Value::from("3x"),
        11 => Value::from("abc"),
        12 => Value::from("1.2.3"),
        13 => Value::from("-"),
        14 => Value::from("inf"),
        _ => Value::Bool(true),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    app: u8,
    event: u8,
    user: Option<u8>,
    minute: i64,
    plan: Option<u8>,
    amount: Option<u8>,
}

pub(crate) fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..3,
        0u8..4,
        proptest::option::weighted(0.9, 0u8..12),
        0i64..DAYS * 24 * 60,
        proptest::option::of(0..PLANS.len() as u8),
        proptest::option::of(0u8..16),
    )
        .prop_map(|(app, event, user, minute, plan, amount)| Spec {
            app,
            event,
            user,
            minute,
            plan,
            amount,
        })
}

pub(crate) fn event(s: &Spec) -> Event {
    let mut b = Event::builder(
        format!("app-{}", s.app),
        format!("ev {}", s.event),
        START + Duration::minutes(s.minute),
    );
    if let Some(u) = s.user {
        b = b.distinct_id(format!("u{u}"));
    }
    if let Some(p) = s.plan {
        b = b.property("plan", PLANS[usize::from(p)]);
    }
    if let Some(n) = s.amount {
        b = b.property("amount", amount(n));
    }
    b.build().expect("valid event")
}

/// Counts and distinct users by a key.
pub(crate) fn counts<K: Ord + Clone>(
    events: &[&Event],
    key: impl Fn(&Event) -> K,
) -> BTreeMap<K, (u64, BTreeSet<String>)> {
    let mut out: BTreeMap<K, (u64, BTreeSet<String>)> = BTreeMap::new();
    for e in events {
        let slot = out.entry(key(e)).or_default();
        slot.0 += 1;
        if let Some(u) = e.distinct_id() {
            slot.1.insert(u.to_owned());
        }
    }
    out
}

pub(crate) struct Expected {
    applications: Vec<Application>,
    events: Vec<EventCount>,
    properties: Vec<Property>,
    plans: Vec<ValueCount>,
    /// Over all events of `app-0`, not only `ev 0`.
    all_properties: Vec<Property>,
    all_plans: Vec<ValueCount>,
    /// `app-0`'s events per day, by event, and by `plan` (every value).
    by_event: Chart,
    by_plan_all: Chart,
    by_event_days: usize,
    /// `app-0`'s unique users per day.
    users: Chart,
    /// Of `app-0`, and of every application, beside the window of the same length before.
    summary_app0: Summary,
    summary_all: Summary,
    /// `app-0`'s users with the most events, the most first (ties by id).
    top_users: Vec<UserCount>,
    /// `u1`'s events in `app-0`, newest first (ties sorted, as the check sorts them).
    u1_timeline: Vec<UserEvent>,
    /// `app-0`'s `amount` per day: sum, avg, min, max, median of the values that are numbers
    /// ([`reference::number`]; `None`: no number).
    amounts_per_day: Vec<[Option<f64>; 5]>,
}

/// Events and distinct users in `[from, to)`, of `app` (all when `None`).
fn totals<'e>(
    events: impl IntoIterator<Item = &'e Event>,
    app: Option<&str>,
    (from, to): (OffsetDateTime, OffsetDateTime),
) -> Totals {
    let inside: Vec<&Event> = events
        .into_iter()
        .filter(|e| e.time() >= from && e.time() < to && app.is_none_or(|a| e.application() == a))
        .collect();
    let users: BTreeSet<&str> = inside.iter().filter_map(|e| e.distinct_id()).collect();
    Totals {
        events: inside.len() as u64,
        unique_users: users.len() as u64,
    }
}

/// A chart of `events` per day of `window`: one series per `key` (events without one left out),
/// by name.
fn daily_chart(
    events: &[&Event],
    (from, to): (OffsetDateTime, OffsetDateTime),
    key: impl Fn(&Event) -> Option<String>,
) -> Chart {
    let days = (to - from).whole_days() as usize;
    let mut series: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in events {
        if let Some(name) = key(e) {
            let day = (e.time() - from).whole_days() as usize;
            series.entry(name).or_insert_with(|| vec![0; days])[day] += 1;
        }
    }
    Chart {
        span: Span::DAY,
        times: (0..days).map(|i| from + Duration::days(i as i64)).collect(),
        series: series
            .into_iter()
            .map(|(name, values)| Series { name, values })
            .collect(),
    }
}

/// What every question asks of `events` (all of them: the caller leaves out what its filters
/// would) over `window` (whole days, a day or more after the events start).
pub(crate) fn expected(events: &[Event], window: (OffsetDateTime, OffsetDateTime)) -> Expected {
    // The window of the same length before (the events start a day before the window).
    let previous = (window.0 - (window.1 - window.0), window.0);
    let inside: Vec<&Event> = events
        .iter()
        .filter(|e| e.time() >= window.0 && e.time() < window.1)
        .collect();
    let applications = counts(&inside, |e| e.application().to_owned())
        .into_iter()
        .map(|(name, (events, users))| Application {
            name,
            events,
            unique_users: users.len() as u64,
        })
        .collect();
    let app0: Vec<&Event> = inside
        .iter()
        .copied()
        .filter(|e| e.application() == "app-0")
        .collect();
    let events_ = counts(&app0, |e| e.name().to_owned())
        .into_iter()
        .map(|(name, (events, users))| EventCount {
            name,
            events,
            unique_users: users.len() as u64,
        })
        .collect();
    let ev0: Vec<&Event> = app0
        .iter()
        .copied()
        .filter(|e| e.name() == "ev 0")
        .collect();
    let properties = |events: &[&Event]| {
        let mut properties = Vec::new();
        for key in ["amount", "plan"] {
            let distinct: BTreeSet<String> = events
                .iter()
                .filter_map(|e| reference::text(e, key))
                .collect();
            if !distinct.is_empty() {
                properties.push(Property {
                    key: key.to_owned(),
                    distinct_values: distinct.len() as u64,
                });
            }
        }
        properties
    };
    let plans = |events: &[&Event]| {
        let mut plans: Vec<ValueCount> = counts(
            &events
                .iter()
                .copied()
                .filter(|e| e.property("plan").is_some())
                .collect::<Vec<_>>(),
            |e| reference::text(e, "plan").expect("filtered"),
        )
        .into_iter()
        .map(|(value, (count, _))| ValueCount { value, count })
        .collect();
        plans.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        plans
    };
    let days = ((window.1 - window.0).whole_days()) as usize;
    let mut users_per_day = vec![BTreeSet::<&str>::new(); days];
    for e in &app0 {
        let day = ((e.time() - window.0).whole_days()) as usize;
        if let Some(u) = e.distinct_id() {
            users_per_day[day].insert(u);
        }
    }
    Expected {
        applications,
        events: events_,
        properties: properties(&ev0),
        plans: plans(&ev0),
        all_properties: properties(&app0),
        all_plans: plans(&app0),
        by_event: daily_chart(&app0, window, |e| Some(e.name().to_owned())),
        by_plan_all: daily_chart(&app0, window, |e| reference::text(e, "plan")),
        by_event_days: days,
        users: Chart {
            series: vec![Series {
                name: "unique_users".to_owned(),
                values: users_per_day.iter().map(|s| s.len() as u64).collect(),
            }],
            ..daily_chart(&[], window, |_| None)
        },
        summary_app0: Summary {
            current: totals(events, Some("app-0"), window),
            previous: Some(totals(events, Some("app-0"), previous)),
        },
        summary_all: Summary {
            current: totals(events, None, window),
            previous: Some(totals(events, None, previous)),
        },
        top_users: {
            let mut users: Vec<UserCount> = counts(
                &app0
                    .iter()
                    .copied()
                    .filter(|e| e.distinct_id().is_some())
                    .collect::<Vec<_>>(),
                |e| e.distinct_id().expect("filtered").to_owned(),
            )
            .into_iter()
            .map(|(distinct_id, (events, _))| UserCount {
                distinct_id,
                events,
            })
            .collect();
            users.sort_by(|a, b| {
                b.events
                    .cmp(&a.events)
                    .then(a.distinct_id.cmp(&b.distinct_id))
            });
            users
        },
        amounts_per_day: {
            let mut amounts: Vec<Vec<f64>> = vec![Vec::new(); days];
            for e in &app0 {
                let amount = reference::text(e, "amount");
                if let Some(n) = amount.as_deref().and_then(reference::number) {
                    let day = ((e.time() - window.0).whole_days()) as usize;
                    amounts[day].push(n);
                }
            }
            amounts
                .into_iter()
                .map(|v| {
                    if v.is_empty() {
                        return [None; 5];
                    }
                    let sum: f64 = v.iter().sum();
                    [
                        Some(sum),
                        Some(sum / v.len() as f64),
                        v.iter().copied().reduce(f64::min),
                        v.iter().copied().reduce(f64::max),
                        reference::median_by(v, f64::total_cmp),
                    ]
                })
                .collect()
        },
        u1_timeline: {
            let mut timeline: Vec<UserEvent> = app0
                .iter()
                .filter(|e| e.distinct_id() == Some("u1"))
                .map(|e| UserEvent {
                    time: e.time(),
                    name: e.name().to_owned(),
                    properties: {
                        let mut p: Vec<(String, String)> = e
                            .properties()
                            .iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.to_string()))
                            .collect();
                        p.sort();
                        p
                    },
                })
                .collect();
            sort_timeline(&mut timeline);
            timeline
        },
    }
}

/// Newest first; events at the same instant in a fixed order (the store's order for ties is
/// not part of the answer).
fn sort_timeline(timeline: &mut [UserEvent]) {
    timeline.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.properties.cmp(&b.properties))
    });
}

/// Every page of `u1`'s timeline, joined, properties and ties sorted.
fn whole_timeline(mut page_of: impl FnMut(Page) -> spoor::answer::Timeline) -> Vec<UserEvent> {
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let page = page_of(Page::new(offset, 7).expect("a page"));
        assert!(page.events.len() <= 7);
        let more = page.more;
        let got = page.events.len() as u32;
        for mut event in page.events {
            event.properties.sort();
            all.push(event);
        }
        if !more {
            break;
        }
        assert_eq!(got, 7, "a page before the last is full");
        offset += got;
    }
    let newest_first = all.windows(2).all(|w| w[0].time >= w[1].time);
    assert!(newest_first, "pages run newest first");
    sort_timeline(&mut all);
    all
}

fn check_chart_times(times: &[OffsetDateTime], days: usize) {
    assert_eq!(times.len(), days, "one bucket a day, empty ones kept");
    for (i, t) in times.iter().enumerate() {
        assert_eq!(*t, START + Duration::days(i as i64 + 1));
    }
}

pub(crate) fn window() -> (Window, (OffsetDateTime, OffsetDateTime)) {
    let (from, to) = (START + Duration::days(1), START + Duration::days(DAYS));
    (Window::between(from, to).expect("window"), (from, to))
}

/// The statistics [`Expected::amounts_per_day`] holds, in its order.
const STATS: [Stat; 5] = [Stat::Sum, Stat::Avg, Stat::Min, Stat::Max, Stat::Median];

/// The unsplit chart of `amount`'s `STATS[i]` against the expected days (sums and averages to
/// rounding; the others exact).
fn check_numbers(chart: &NumberChart, exp: &Expected, i: usize) {
    let stat = STATS[i];
    check_chart_times(&chart.times, exp.by_event_days);
    let want: Vec<Option<f64>> = exp.amounts_per_day.iter().map(|d| d[i]).collect();
    let got: Vec<Option<f64>> = chart
        .series
        .iter()
        .find(|s| s.name == "value")
        .map(|s| s.values.clone())
        .unwrap_or_else(|| vec![None; want.len()]);
    assert_eq!(got.len(), want.len(), "{stat:?}");
    for (g, w) in got.iter().zip(&want) {
        match (g, w) {
            (Some(g), Some(w)) if matches!(stat, Stat::Sum | Stat::Avg) => assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{stat:?}: {got:?} {want:?}"
            ),
            (g, w) => assert_eq!(g, w, "{stat:?}: {got:?} {want:?}"),
        }
    }
}

/// The chart of `amount`'s sum split by event: every event's number counted once.
fn check_sum_by_event(chart: &NumberChart, exp: &Expected) {
    let total: f64 = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .sum();
    let want: f64 = exp.amounts_per_day.iter().filter_map(|d| d[0]).sum();
    assert!(
        (total - want).abs() < 1e-9 * want.abs().max(1.0),
        "{total} {want}"
    );
}

fn unsplit() -> OverTime {
    OverTime::new(Span::DAY).split(Split::None)
}

fn by_plan() -> OverTime {
    OverTime::new(Span::DAY)
        .split(Split::Property("plan".parse().expect("a key")))
        .limit(0)
}

pub(crate) fn check_blocking(r: &Retriever, exp: &Expected, filters: &[Filter]) {
    let (w, _) = window();
    assert_eq!(r.applications(filters, &w).unwrap(), exp.applications);
    assert_eq!(
        r.summary(Some("app-0"), filters, &w).unwrap(),
        exp.summary_app0
    );
    assert_eq!(r.summary(None, filters, &w).unwrap(), exp.summary_all);
    let all_time = r.summary(Some("app-0"), filters, &Window::AllTime).unwrap();
    assert_eq!(all_time.previous, None, "nothing before all time");
    assert_eq!(
        r.top_users("app-0", None, None, filters, &w).unwrap(),
        exp.top_users
    );
    assert_eq!(
        r.top_users("app-0", None, NonZeroU32::new(2), filters, &w)
            .unwrap(),
        exp.top_users.iter().take(2).cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        whole_timeline(|page| r.timeline("app-0", "u1", page, filters, &w).unwrap()),
        exp.u1_timeline
    );
    for (i, stat) in STATS.into_iter().enumerate() {
        let chart = r.numbers("app-0", &unsplit(), "amount", stat, filters, &w);
        check_numbers(&chart.unwrap(), exp, i);
    }
    let by_event = OverTime::new(Span::DAY).limit(0);
    let chart = r.numbers("app-0", &by_event, "amount", Stat::Sum, filters, &w);
    check_sum_by_event(&chart.unwrap(), exp);
    assert_eq!(r.events("app-0", filters, &w).unwrap(), exp.events);
    assert_eq!(
        r.properties("app-0", Some("ev 0"), filters, &w).unwrap(),
        exp.properties
    );
    assert_eq!(
        r.values("app-0", Some("ev 0"), "plan", None, filters, &w)
            .unwrap(),
        exp.plans
    );
    let top1 = r
        .values(
            "app-0",
            Some("ev 0"),
            "plan",
            NonZeroU32::new(1),
            filters,
            &w,
        )
        .unwrap();
    assert_eq!(top1, exp.plans.iter().take(1).cloned().collect::<Vec<_>>());
    // No event: over all events of the application, as the original's `property` alone.
    assert_eq!(
        r.properties("app-0", None, filters, &w).unwrap(),
        exp.all_properties
    );
    assert_eq!(
        r.values("app-0", None, "plan", None, filters, &w).unwrap(),
        exp.all_plans
    );
    let chart = r.events_over_time("app-0", &by_plan(), filters, &w);
    assert_eq!(chart.unwrap(), exp.by_plan_all);
    let chart = r.events_over_time("app-0", &OverTime::new(Span::DAY), filters, &w);
    assert_eq!(chart.unwrap(), exp.by_event);
    let users = r.unique_users_over_time("app-0", None, Span::DAY, filters, &w);
    assert_eq!(users.unwrap(), exp.users);
    let by_plan = r
        .events_over_time(
            "app-0",
            &OverTime::new(Span::DAY)
                .event("ev 0")
                .split(Split::Property("plan".parse().unwrap()))
                .limit(2),
            filters,
            &w,
        )
        .unwrap();
    let plan_total: u64 = exp.plans.iter().map(|p| p.count).sum();
    assert_eq!(
        by_plan.total(),
        plan_total,
        "cut series are summed into OTHER"
    );
    assert!(by_plan.series.len() <= 3);
}

pub(crate) async fn check_async(r: &AsyncRetriever, exp: &Expected, filters: &[Filter]) {
    let (w, _) = window();
    assert_eq!(r.applications(filters, &w).await.unwrap(), exp.applications);
    assert_eq!(
        r.summary(Some("app-0"), filters, &w).await.unwrap(),
        exp.summary_app0
    );
    assert_eq!(r.summary(None, filters, &w).await.unwrap(), exp.summary_all);
    assert_eq!(
        r.top_users("app-0", None, None, filters, &w).await.unwrap(),
        exp.top_users
    );
    let mut first = r
        .timeline("app-0", "u1", Page::new(0, 1000).unwrap(), filters, &w)
        .await
        .unwrap();
    assert!(!first.more);
    for event in &mut first.events {
        event.properties.sort();
    }
    sort_timeline(&mut first.events);
    assert_eq!(first.events, exp.u1_timeline);
    for (i, stat) in STATS.into_iter().enumerate() {
        let chart = r
            .numbers("app-0", &unsplit(), "amount", stat, filters, &w)
            .await;
        check_numbers(&chart.unwrap(), exp, i);
    }
    let by_event = OverTime::new(Span::DAY).limit(0);
    let chart = r.numbers("app-0", &by_event, "amount", Stat::Sum, filters, &w);
    check_sum_by_event(&chart.await.unwrap(), exp);
    assert_eq!(r.events("app-0", filters, &w).await.unwrap(), exp.events);
    assert_eq!(
        r.properties("app-0", Some("ev 0"), filters, &w)
            .await
            .unwrap(),
        exp.properties
    );
    assert_eq!(
        r.values("app-0", Some("ev 0"), "plan", None, filters, &w)
            .await
            .unwrap(),
        exp.plans
    );
    assert_eq!(
        r.properties("app-0", None, filters, &w).await.unwrap(),
        exp.all_properties
    );
    assert_eq!(
        r.values("app-0", None, "plan", None, filters, &w)
            .await
            .unwrap(),
        exp.all_plans
    );
    let chart = r.events_over_time("app-0", &by_plan(), filters, &w).await;
    assert_eq!(chart.unwrap(), exp.by_plan_all);
    let chart = r
        .events_over_time("app-0", &OverTime::new(Span::DAY), filters, &w)
        .await;
    assert_eq!(chart.unwrap(), exp.by_event);
    let users = r.unique_users_over_time("app-0", None, Span::DAY, filters, &w);
    assert_eq!(users.await.unwrap(), exp.users);
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(6))]

    /// Both retrievers, over the v1 and the v2 search API, answer as the plain reference.
    #[test]
    fn answers_equal_the_reference(specs in proptest::collection::vec(spec(), 1..400), v2 in any::<bool>()) {
        let backend = Backend::start(if v2 { "9.4.0" } else { "8.2.0" });
        let events: Vec<Event> = specs.iter().map(event).collect();
        backend.store("spoor", &events);
        let exp = expected(&events, window().1);
        let config = backend.config(false);
        let blocking = Retriever::new(&config).unwrap();
        blocking.connect().unwrap();
        check_blocking(&blocking, &exp, &[]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let r = AsyncRetriever::new(&config).unwrap();
            r.connect().await.unwrap();
            check_async(&r, &exp, &[]).await;
        });
    }
}

#[test]
fn all_time_reads_every_row_past_the_page_size() {
    let backend = Backend::start("9.4.0");
    let events: Vec<Event> = (0..250)
        .map(|i| {
            Event::builder(format!("app-{i:03}"), "open", START + Duration::minutes(i))
                .distinct_id("u")
                .build()
                .unwrap()
        })
        .collect();
    backend.store("spoor", &events);
    let r = Retriever::new(&backend.config(false)).unwrap();
    let apps = r.applications(&[], &Window::AllTime).unwrap();
    assert_eq!(apps.len(), 250, "no silent cap at Splunk's 100 rows");
    assert!(apps.iter().all(|a| a.events == 1 && a.unique_users == 1));
    assert!(matches!(
        r.values(
            "app-000",
            Some("open"),
            "bad key!",
            None,
            &[],
            &Window::AllTime
        ),
        Err(spoor::Error::InvalidName(_))
    ));
}

/// `min` and `max` of a bucket without a number: none, as the other statistics say (Splunk's
/// `min` and `max`, and the engine's, give the least or greatest text there instead); numbers
/// win over text where a bucket has both.
#[test]
fn min_and_max_without_a_number_are_none() {
    let backend = Backend::start("9.4.0");
    let at = |day: i64, amount: &str| {
        Event::builder("app-0", "ev 0", START + Duration::hours(day * 24 + 1))
            .property("amount", amount)
            .build()
            .unwrap()
    };
    let events = [at(1, "-"), at(2, "abc"), at(2, "5"), at(3, "7"), at(3, "x")];
    backend.store("spoor", &events);
    let r = Retriever::new(&backend.config(false)).unwrap();
    let (w, _) = window();
    for stat in [Stat::Min, Stat::Max] {
        let chart = r.numbers("app-0", &unsplit(), "amount", stat, &[], &w);
        let values: Vec<Vec<Option<f64>>> = chart
            .unwrap()
            .series
            .into_iter()
            .map(|s| s.values)
            .collect();
        assert_eq!(values, [[None, Some(5.0), Some(7.0), None]], "{stat:?}");
    }
}
