//! Funnels and retention, blocking and async, against answers computed plainly from the events
//! stored ([`reference`]): random events with many ties and repeated names, random steps with
//! random filters, random windows.

pub(crate) mod reference;

use std::time::Duration;

use proptest::prelude::*;
use spoor::answer::{FunnelReport, RetentionReport};
use spoor::{AsyncRetriever, Event, Filter, Funnel, Period, Retention, Retriever, Window};
use time::OffsetDateTime;
use time::macros::datetime;

use super::Backend;

/// The funnels' events are within an hour of this.
const START: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
/// The retention's events are within months of this, all in the past (periods that have not
/// begun are not listed, so a window ending in the future would end now).
const RETENTION_START: OffsetDateTime = datetime!(2026-03-01 00:00 UTC);
/// Funnel events fall on half minutes over 45 minutes: many at one instant.
const HALF_MINUTES: u32 = 90;
/// Retention events fall on 4-hour marks over 130 days (past three month ends).
const MARKS: u32 = 130 * 6;

const NAMES: [&str; 3] = ["a", "b", "c"];
const PLANS: [&str; 3] = ["free", "pro", "Pro"];

/// The filters a step or a question may have: the text, and what it means.
const FILTERS: [(&str, reference::Test); 6] = [
    ("plan=pro", |e| {
        reference::text(e, "plan").as_deref() == Some("pro")
    }),
    ("plan!=pro", |e| {
        reference::text(e, "plan").is_some_and(|p| p != "pro")
    }),
    ("plan=free|Pro", |e| {
        matches!(reference::text(e, "plan").as_deref(), Some("free" | "Pro"))
    }),
    ("n>=2", |e| {
        reference::text(e, "n").is_some_and(|n| n.parse::<f64>().is_ok_and(|n| n >= 2.0))
    }),
    ("plan=*", |e| e.property("plan").is_some()),
    ("plan!=*", |e| e.property("plan").is_none()),
];

/// The conversion windows tried, in seconds.
const WITHIN: [u64; 5] = [60, 90, 300, 1_800, 7_200];

#[derive(Debug, Clone)]
struct Spec {
    user: Option<u8>,
    name: u8,
    at: u32,
    plan: Option<u8>,
    n: Option<u8>,
}

fn spec(marks: u32) -> impl Strategy<Value = Spec> {
    (
        proptest::option::weighted(0.95, 0u8..6),
        0u8..3,
        0..marks,
        proptest::option::of(0u8..3),
        proptest::option::of(1u8..4),
    )
        .prop_map(|(user, name, at, plan, n)| Spec {
            user,
            name,
            at,
            plan,
            n,
        })
}

fn event(application: &str, s: &Spec, start: OffsetDateTime, unit: time::Duration) -> Event {
    let mut b = Event::builder(application, NAMES[usize::from(s.name)], start + unit * s.at);
    if let Some(u) = s.user {
        b = b.distinct_id(format!("u{u}"));
    }
    if let Some(p) = s.plan {
        b = b.property("plan", PLANS[usize::from(p)]);
    }
    if let Some(n) = s.n {
        b = b.property("n", i64::from(n));
    }
    b.build().expect("valid event")
}

/// A step as the retriever takes it and as the reference reads it.
fn step(name: u8, filter: Option<usize>) -> (spoor::Step, reference::Step) {
    let event = NAMES[usize::from(name)];
    let filters: Vec<usize> = filter.into_iter().collect();
    let asked = filters.iter().fold(spoor::Step::new(event), |s, &f| {
        s.filter(FILTERS[f].0.parse().expect("a filter"))
    });
    let plain = reference::Step {
        event: event.to_owned(),
        tests: filters.iter().map(|&f| FILTERS[f].1).collect(),
    };
    (asked, plain)
}

/// A question: its steps (name, filter), the filter on every event, the window (in units from
/// the start of its events, `None`: all time), and the funnel's conversion window and breakdown or the
/// retention's period.
#[derive(Debug, Clone)]
struct Question {
    steps: Vec<(u8, Option<usize>)>,
    filter: Option<usize>,
    window: Option<(u32, u32)>,
    within: usize,
    breakdown: bool,
    period: usize,
}

fn question(steps: std::ops::Range<usize>, marks: u32) -> impl Strategy<Value = Question> {
    let window = proptest::option::weighted(0.7, (0..marks, 0..marks))
        .prop_map(|w| w.map(|(a, b)| (a.min(b), a.max(b) + 1)));
    (
        proptest::collection::vec(
            (0u8..3, proptest::option::weighted(0.4, 0..FILTERS.len())),
            steps,
        ),
        proptest::option::weighted(0.2, 0..FILTERS.len()),
        window,
        0..WITHIN.len(),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(
            |(steps, filter, window, within, breakdown, period)| Question {
                steps,
                filter,
                window,
                within,
                breakdown,
                period,
            },
        )
}

/// The retriever's window, and the reference's.
fn windows(
    q: &Question,
    start: OffsetDateTime,
    unit: time::Duration,
) -> (Window, Option<(OffsetDateTime, OffsetDateTime)>) {
    match q.window {
        Some((a, b)) => {
            let bounds = (start + unit * a, start + unit * b);
            (
                Window::between(bounds.0, bounds.1).expect("a window"),
                Some(bounds),
            )
        }
        None => (Window::AllTime, None),
    }
}

fn filters(q: &Question) -> (Vec<Filter>, Vec<reference::Test>) {
    let asked = q
        .filter
        .map(|f| FILTERS[f].0.parse().expect("a filter"))
        .into_iter()
        .collect();
    (asked, q.filter.map(|f| FILTERS[f].1).into_iter().collect())
}

/// A funnel question, asked and answered plainly.
struct FunnelCase {
    funnel: Funnel,
    filters: Vec<Filter>,
    window: Window,
    expected: FunnelReport,
}

fn funnel_case(events: &[Event], q: &Question) -> FunnelCase {
    let unit = time::Duration::seconds(30);
    let (asked, plain): (Vec<_>, Vec<_>) = q.steps.iter().map(|&(n, f)| step(n, f)).unzip();
    let within = Duration::from_secs(WITHIN[q.within]);
    let mut funnel = Funnel::new(asked, within).expect("a funnel");
    let key = q.breakdown.then_some("plan");
    if let Some(key) = key {
        funnel = funnel.breakdown(key.parse().expect("a key"));
    }
    let (filters, tests) = filters(q);
    let (window, bounds) = windows(q, START, unit);
    let users = reference::by_user(events, "f", bounds, &tests);
    FunnelCase {
        funnel,
        filters,
        window,
        expected: reference::funnel(&users, &plain, within, key),
    }
}

/// A retention question, asked and answered plainly.
struct RetentionCase {
    question: Retention,
    filters: Vec<Filter>,
    window: Window,
    expected: RetentionReport,
}

fn retention_case(events: &[Event], q: &Question) -> RetentionCase {
    let unit = time::Duration::hours(4);
    let period = [Period::Day, Period::Week, Period::Month][q.period];
    let (start, start_plain) = step(q.steps[0].0, q.steps[0].1);
    let (back, back_plain) = step(q.steps[1].0, q.steps[1].1);
    let (filters, tests) = filters(q);
    let (window, bounds) = windows(q, RETENTION_START, unit);
    let users = reference::by_user(events, "r", bounds, &tests);
    let end = bounds.map(|(_, end)| end.min(OffsetDateTime::now_utc()));
    RetentionCase {
        question: Retention {
            start,
            back,
            period,
        },
        filters,
        window,
        expected: reference::retention(&users, &start_plain, &back_plain, period, end),
    }
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(8))]

    /// Both retrievers answer funnels and retention as the plain reference.
    #[test]
    fn funnels_and_retention_equal_the_reference(
        funnel_specs in proptest::collection::vec(spec(HALF_MINUTES), 0..250),
        retention_specs in proptest::collection::vec(spec(MARKS), 0..250),
        funnels in proptest::collection::vec(question(2..6, HALF_MINUTES), 3),
        retentions in proptest::collection::vec(question(2..3, MARKS), 3),
        v2 in any::<bool>(),
    ) {
        let backend = Backend::start(if v2 { "9.4.0" } else { "8.2.0" });
        let half_minute = time::Duration::seconds(30);
        let mut events: Vec<Event> =
            funnel_specs.iter().map(|s| event("f", s, START, half_minute)).collect();
        let four_hours = time::Duration::hours(4);
        events.extend(retention_specs.iter().map(|s| event("r", s, RETENTION_START, four_hours)));
        backend.store("spoor", &events);
        let funnels: Vec<FunnelCase> = funnels.iter().map(|q| funnel_case(&events, q)).collect();
        let retentions: Vec<RetentionCase> =
            retentions.iter().map(|q| retention_case(&events, q)).collect();

        let config = backend.config(false);
        let blocking = Retriever::new(&config).unwrap();
        for (i, c) in funnels.iter().enumerate() {
            let got = blocking.funnel("f", &c.funnel, &c.filters, &c.window).unwrap();
            prop_assert_eq!(&got, &c.expected, "funnel {}: {:?}", i, c.funnel);
        }
        for (i, c) in retentions.iter().enumerate() {
            let got = blocking.retention("r", &c.question, &c.filters, &c.window).unwrap();
            prop_assert_eq!(&got, &c.expected, "retention {}: {:?}", i, c.question);
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let r = AsyncRetriever::new(&config).unwrap();
            r.connect().await.unwrap();
            for c in &funnels {
                let got = r.funnel("f", &c.funnel, &c.filters, &c.window).await.unwrap();
                assert_eq!(got, c.expected, "{:?}", c.funnel);
            }
            for c in &retentions {
                let got = r.retention("r", &c.question, &c.filters, &c.window).await.unwrap();
                assert_eq!(got, c.expected, "{:?}", c.question);
            }
        });
    }
}
