//! Every question of the Retriever, blocking and async, against answers computed plainly from
//! the events stored.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor::answer::{
    Application, Chart, EventCount, Property, Summary, Totals, UserCount, UserEvent, ValueCount,
};
use spoor::{AsyncRetriever, OverTime, Page, Retriever, Span, Split, Stat, Window};
use spoor_event::{Event, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::Backend;

const START: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
const DAYS: i64 = 5;

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    app: u8,
    event: u8,
    user: Option<u8>,
    minute: i64,
    plan: Option<u8>,
    seats: Option<u8>,
}

pub(crate) fn spec() -> impl Strategy<Value = Spec> {
    (
        0u8..3,
        0u8..4,
        proptest::option::weighted(0.9, 0u8..12),
        0i64..DAYS * 24 * 60,
        proptest::option::of(0u8..4),
        proptest::option::of(1u8..4),
    )
        .prop_map(|(app, event, user, minute, plan, seats)| Spec {
            app,
            event,
            user,
            minute,
            plan,
            seats,
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
        b = b.property("plan", ["free", "pro", "Pro", "<team>"][usize::from(p)]);
    }
    if let Some(n) = s.seats {
        b = b.property("seats", Value::Int(i64::from(n)));
    }
    b.build().expect("valid event")
}

/// Counts and distinct users by a key.
fn counts<K: Ord + Clone>(
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

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

pub(crate) struct Expected {
    applications: Vec<Application>,
    events: Vec<EventCount>,
    properties: Vec<Property>,
    plans: Vec<ValueCount>,
    /// Over all events of `app-0`, not only `ev 0`.
    all_properties: Vec<Property>,
    all_plans: Vec<ValueCount>,
    by_event_total: u64,
    by_event_days: usize,
    users_per_day: Vec<u64>,
    /// Of `app-0`, and of every application, beside the window of the same length before.
    summary_app0: Summary,
    summary_all: Summary,
    /// `app-0`'s users with the most events, the most first (ties by id).
    top_users: Vec<UserCount>,
    /// `u1`'s events in `app-0`, newest first (ties sorted, as the check sorts them).
    u1_timeline: Vec<UserEvent>,
    /// `app-0`'s `seats` per day: sum, avg, min, max of the numbers (`None`: no number).
    seats_per_day: Vec<[Option<f64>; 4]>,
}

/// Events and distinct users in `[from, to)`, of `app` (all when `None`).
fn totals(
    events: &[Event],
    app: Option<&str>,
    (from, to): (OffsetDateTime, OffsetDateTime),
) -> Totals {
    let inside: Vec<&Event> = events
        .iter()
        .filter(|e| e.time() >= from && e.time() < to && app.is_none_or(|a| e.application() == a))
        .collect();
    let users: BTreeSet<&str> = inside.iter().filter_map(|e| e.distinct_id()).collect();
    Totals {
        events: inside.len() as u64,
        unique_users: users.len() as u64,
    }
}

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
        for key in ["plan", "seats"] {
            let distinct: BTreeSet<String> = events
                .iter()
                .filter_map(|e| e.property(key))
                .map(value_text)
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
            |e| value_text(e.property("plan").expect("filtered")),
        )
        .into_iter()
        .map(|(value, (count, _))| ValueCount { value, count })
        .collect();
        plans.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        plans
    };
    let days = ((window.1 - window.0).whole_days()) as usize;
    let mut users_per_day = vec![BTreeSet::new(); days];
    for e in &app0 {
        let day = ((e.time() - window.0).whole_days()) as usize;
        if let Some(u) = e.distinct_id() {
            users_per_day[day].insert(u.to_owned());
        }
    }
    Expected {
        applications,
        events: events_,
        properties: properties(&ev0),
        plans: plans(&ev0),
        all_properties: properties(&app0),
        all_plans: plans(&app0),
        by_event_total: app0.len() as u64,
        by_event_days: days,
        users_per_day: users_per_day.iter().map(|s| s.len() as u64).collect(),
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
        seats_per_day: {
            let mut days_seats: Vec<Vec<f64>> = vec![Vec::new(); days];
            for e in &app0 {
                if let Some(Value::Int(n)) = e.property("seats") {
                    let day = ((e.time() - window.0).whole_days()) as usize;
                    days_seats[day].push(*n as f64);
                }
            }
            days_seats
                .iter()
                .map(|v| {
                    if v.is_empty() {
                        return [None; 4];
                    }
                    let sum: f64 = v.iter().sum();
                    [
                        Some(sum),
                        Some(sum / v.len() as f64),
                        v.iter().copied().reduce(f64::min),
                        v.iter().copied().reduce(f64::max),
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
                            .map(|(k, v)| (k.as_str().to_owned(), value_text(v)))
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

fn check_chart_days(chart: &Chart, days: usize) {
    check_chart_times(&chart.times, days);
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

pub(crate) fn check_blocking(r: &Retriever, exp: &Expected) {
    let (w, _) = window();
    assert_eq!(r.applications(&[], &w).unwrap(), exp.applications);
    assert_eq!(r.summary(Some("app-0"), &[], &w).unwrap(), exp.summary_app0);
    assert_eq!(r.summary(None, &[], &w).unwrap(), exp.summary_all);
    let all_time = r.summary(Some("app-0"), &[], &Window::AllTime).unwrap();
    assert_eq!(all_time.previous, None, "nothing before all time");
    assert_eq!(
        r.top_users("app-0", None, None, &[], &w).unwrap(),
        exp.top_users
    );
    assert_eq!(
        r.top_users("app-0", None, NonZeroU32::new(2), &[], &w)
            .unwrap(),
        exp.top_users.iter().take(2).cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        whole_timeline(|page| r.timeline("app-0", "u1", page, &[], &w).unwrap()),
        exp.u1_timeline
    );
    for (i, stat) in [Stat::Sum, Stat::Avg, Stat::Min, Stat::Max]
        .into_iter()
        .enumerate()
    {
        let chart = r
            .numbers(
                "app-0",
                &OverTime::new(Span::DAY).split(Split::None),
                "seats",
                stat,
                &[],
                &w,
            )
            .unwrap();
        check_chart_times(&chart.times, exp.by_event_days);
        let want: Vec<Option<f64>> = exp.seats_per_day.iter().map(|d| d[i]).collect();
        let got: Vec<Option<f64>> = chart
            .series
            .iter()
            .find(|s| s.name == "value")
            .map(|s| s.values.clone())
            .unwrap_or_else(|| vec![None; want.len()]);
        assert_eq!(got.len(), want.len(), "{stat:?}");
        for (g, w) in got.iter().zip(&want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!(
                    (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{stat:?}: {got:?} {want:?}"
                ),
                (g, w) => assert_eq!(g, w, "{stat:?}: {got:?} {want:?}"),
            }
        }
    }
    // Split by event, summed: every event's seats counted once.
    let by_event = r
        .numbers(
            "app-0",
            &OverTime::new(Span::DAY).limit(0),
            "seats",
            Stat::Sum,
            &[],
            &w,
        )
        .unwrap();
    let total: f64 = by_event
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .sum();
    let want: f64 = exp.seats_per_day.iter().filter_map(|d| d[0]).sum();
    assert!((total - want).abs() < 1e-9, "{total} {want}");
    assert_eq!(r.events("app-0", &[], &w).unwrap(), exp.events);
    assert_eq!(
        r.properties("app-0", Some("ev 0"), &[], &w).unwrap(),
        exp.properties
    );
    assert_eq!(
        r.values("app-0", Some("ev 0"), "plan", None, &[], &w)
            .unwrap(),
        exp.plans
    );
    let top1 = r
        .values("app-0", Some("ev 0"), "plan", NonZeroU32::new(1), &[], &w)
        .unwrap();
    assert_eq!(top1, exp.plans.iter().take(1).cloned().collect::<Vec<_>>());
    // No event: over all events of the application, as the original's `property` alone.
    assert_eq!(
        r.properties("app-0", None, &[], &w).unwrap(),
        exp.all_properties
    );
    assert_eq!(
        r.values("app-0", None, "plan", None, &[], &w).unwrap(),
        exp.all_plans
    );
    let by_plan_all = r
        .events_over_time(
            "app-0",
            &OverTime::new(Span::DAY)
                .split(Split::Property("plan".parse().unwrap()))
                .limit(0),
            &[],
            &w,
        )
        .unwrap();
    for value in &exp.all_plans {
        assert_eq!(
            by_plan_all
                .series(&value.value)
                .map(|s| s.values.iter().sum::<u64>()),
            Some(value.count),
            "the series of {} over all events",
            value.value
        );
    }
    let by_event = r
        .events_over_time("app-0", &OverTime::new(Span::DAY), &[], &w)
        .unwrap();
    check_chart_days(&by_event, exp.by_event_days);
    assert_eq!(by_event.total(), exp.by_event_total);
    let users = r
        .unique_users_over_time("app-0", None, Span::DAY, &[], &w)
        .unwrap();
    check_chart_days(&users, exp.by_event_days);
    assert_eq!(
        users
            .series("unique_users")
            .map(|s| s.values.clone())
            .unwrap_or_default(),
        exp.users_per_day
    );
    let by_plan = r
        .events_over_time(
            "app-0",
            &OverTime::new(Span::DAY)
                .event("ev 0")
                .split(Split::Property("plan".parse().unwrap()))
                .limit(2),
            &[],
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

pub(crate) async fn check_async(r: &AsyncRetriever, exp: &Expected) {
    let (w, _) = window();
    assert_eq!(r.applications(&[], &w).await.unwrap(), exp.applications);
    assert_eq!(
        r.summary(Some("app-0"), &[], &w).await.unwrap(),
        exp.summary_app0
    );
    assert_eq!(r.summary(None, &[], &w).await.unwrap(), exp.summary_all);
    assert_eq!(
        r.top_users("app-0", None, None, &[], &w).await.unwrap(),
        exp.top_users
    );
    let mut first = r
        .timeline("app-0", "u1", Page::new(0, 1000).unwrap(), &[], &w)
        .await
        .unwrap();
    assert!(!first.more);
    for event in &mut first.events {
        event.properties.sort();
    }
    sort_timeline(&mut first.events);
    assert_eq!(first.events, exp.u1_timeline);
    assert_eq!(r.events("app-0", &[], &w).await.unwrap(), exp.events);
    assert_eq!(
        r.properties("app-0", Some("ev 0"), &[], &w).await.unwrap(),
        exp.properties
    );
    assert_eq!(
        r.values("app-0", Some("ev 0"), "plan", None, &[], &w)
            .await
            .unwrap(),
        exp.plans
    );
    assert_eq!(
        r.properties("app-0", None, &[], &w).await.unwrap(),
        exp.all_properties
    );
    assert_eq!(
        r.values("app-0", None, "plan", None, &[], &w)
            .await
            .unwrap(),
        exp.all_plans
    );
    let users = r
        .unique_users_over_time("app-0", None, Span::DAY, &[], &w)
        .await
        .unwrap();
    assert_eq!(
        users
            .series("unique_users")
            .map(|s| s.values.clone())
            .unwrap_or_default(),
        exp.users_per_day
    );
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
        check_blocking(&blocking, &exp);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let r = AsyncRetriever::new(&config).unwrap();
            r.connect().await.unwrap();
            check_async(&r, &exp).await;
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
