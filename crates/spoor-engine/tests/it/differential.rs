//! The differential test: random events ingested into an engine, random queries, and the engine's
//! results compared with the reference evaluator's ([`crate::reference`]).
//!
//! The queries are those of the `spoor-spl` builders (every one, with names from the events'
//! pools and unseen ones) and hand-built pipelines of the other commands. The generators stay
//! clear of the points the semantics leave open (the `reading:` cases of the golden tests pin
//! those), so a difference here is a difference in what the doc says:
//! - numbers are small integers and quarters, so a sum is exact in any order, and every number
//!   of a field orders the same as its text (so `sort`'s comparison stays a total order);
//! - no series is named `NULL` or `OTHER`; no window has equal ends; no span is a day or more in
//!   hours, minutes or seconds; no `NOT index=…`; `timechart` comes right after the search and
//!   its `where`, while the rows still have their `_time`.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor_engine::{Engine, EventMeta, Record, StoreOptions, Window};
use spoor_event::{Event, Key, Value};
use spoor_spl::ast::{
    Aggregation, Bin, BinSpan, BinaryOp, Command, CompareOp, Condition, Dedup, Eval, EvalFunction,
    Eventstats, Expr, Field, FieldPattern, Fields, FieldsMode, Function, Head, LogicOp, Number,
    Percentile, Query, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span, SpanUnit, Stats,
    Streamstats, Timechart, UnaryOp, Where,
};
use spoor_spl::build::{self, Funnel, Index, OverTime, Period, Retention, Split, Step};
use spoor_spl::modifier::{Relative, TimeModifier, TimeWindow};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::reference;
use crate::support::TempDir;

/// The property tests' settings, with `cases` cases by default.
fn config(cases: u32) -> ProptestConfig {
    spoor_testkit::proptest_config_with_cases(cases)
}

// ---------------------------------------------------------------------------------------------
// The pools names are drawn from

const APPLICATIONS: &[&str] = &["shop", "Shop", "blog", "café", "ärger", "ÄRGER", "a b"];
const EVENT_NAMES: &[&str] = &["login", "Login", "purchase", "view", "ëvent", "say \"hi\""];
const USERS: &[&str] = &["u1", "u2", "U1", "ü", "u 3"];
const KEYS: &[&str] = &["plan", "Plan", "seats", "amount", "note"];
const UNSEEN: &str = "unseen";

/// When the data set's events happen: from 2028-01-01, over about four months.
const START: OffsetDateTime = datetime!(2028-01-01 00:00 UTC);
const DAYS: i64 = 120;
/// Instants events often share, at bucket edges: a month's end, the leap day, midnights.
const EDGES: &[OffsetDateTime] = &[
    datetime!(2028-01-31 23:59:59.999999 UTC),
    datetime!(2028-02-01 00:00 UTC),
    datetime!(2028-02-29 00:00 UTC),
    datetime!(2028-02-29 12:34:56.5 UTC),
    datetime!(2028-03-01 00:00 UTC),
    datetime!(2028-03-05 00:00 UTC),
];
/// When lines without a time of their own arrive.
const ARRIVAL: OffsetDateTime = datetime!(2028-02-15 12:00 UTC);

/// Lines that are not spoor's, each field's numbers ordering as their text does.
const RAW_LINES: &[&str] = &[
    "GET /a status=200 user=bob",
    "POST /b status=404 user=Bob application=shop",
    "k=1 k=2 event=login",
    r#"msg="a \"b\" c" note=" x ""#,
    "nothing to see here",
    "index=fake host=evil sourcetype=x source=y",
    "plan=pro Plan=PRO seats=3",
    "distinct_id=u1 application=blog event=view",
];

fn time() -> impl Strategy<Value = OffsetDateTime> {
    prop_oneof![
        3 => (0..DAYS * 86_400, 0..1_000_000i64).prop_map(|(s, us)| START
            + Duration::seconds(s)
            + Duration::microseconds(if us % 3 == 0 { us } else { 0 })),
        1 => prop::sample::select(EDGES),
    ]
}

/// Strings that break naive quoting, or any Unicode; never `NULL` or `OTHER`.
fn hostile_string() -> BoxedStrategy<String> {
    let atom = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\t".to_owned()),
        Just("'".to_owned()),
        Just(",".to_owned()),
        Just("analytics_prop__x=\"y\"".to_owned()),
        Just("event=\"evil\"".to_owned()),
        Just("é🦀".to_owned()),
        "[a-z]{1,5}",
    ];
    prop_oneof![
        prop::collection::vec(atom, 0..6).prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
    .prop_filter("no reserved series name", |s| s != "NULL" && s != "OTHER")
    .boxed()
}

/// Property values: pool strings, hostile strings, booleans, and numbers whose text orders as
/// they do (`-1`, `0` to `9`, and quarters below 10 that are not whole).
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(&["pro", "free", "Pro", "", " spaced ", "ärger", "ÄRGER"][..])
            .prop_map(|s| Value::String(s.to_owned())),
        2 => hostile_string().prop_map(Value::String),
        2 => (-1i64..=9).prop_map(Value::Int),
        1 => prop::sample::select(&[0.25, 1.5, 2.5, 7.75][..]).prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
}

/// One line of the data set.
#[derive(Debug, Clone)]
enum Line {
    /// An event as spoor writes it.
    Spoor(Event),
    /// Another line, with a spoor timestamp, epoch seconds, or no time (it takes the arrival).
    Raw {
        text: &'static str,
        time: Option<(OffsetDateTime, bool)>,
    },
}

impl Line {
    fn text(&self) -> String {
        match self {
            Self::Spoor(event) => {
                let mut line = Vec::new();
                event.encode_line(&mut line);
                String::from_utf8(line).expect("UTF-8")
            }
            Self::Raw { text, time: None } => (*text).to_owned(),
            Self::Raw {
                text,
                time: Some((time, true)),
            } => format!("{} {text}", time.unix_timestamp()),
            Self::Raw {
                text,
                time: Some((time, false)),
            } => {
                let mut line = Vec::new();
                Event::builder("x", "y", *time)
                    .build()
                    .expect("valid")
                    .encode_line(&mut line);
                let line = String::from_utf8(line).expect("UTF-8");
                let stamp = line.split(' ').next().expect("a timestamp");
                format!("{stamp} {text}")
            }
        }
    }
}

impl Line {
    /// The time the engine gives the line.
    fn time(&self) -> OffsetDateTime {
        match self {
            Self::Spoor(event) => event.time(),
            Self::Raw { time: None, .. } => ARRIVAL,
            // Epoch seconds, whole.
            Self::Raw {
                time: Some((time, true)),
                ..
            } => *time - Duration::nanoseconds(i64::from(time.nanosecond())),
            Self::Raw {
                time: Some((time, false)),
                ..
            } => *time,
        }
    }
}

fn spoor_event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(APPLICATIONS),
        prop::sample::select(EVENT_NAMES),
        prop::option::of(prop::sample::select(USERS)),
        time(),
        prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..=6),
    )
        .prop_map(|(application, name, user, time, properties)| {
            let mut builder = Event::builder(application, name, time).properties(properties);
            if let Some(user) = user {
                builder = builder.distinct_id(user);
            }
            builder.build().expect("a valid event")
        })
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => spoor_event().prop_map(Line::Spoor),
        1 => (
            prop::sample::select(RAW_LINES),
            prop::option::of((time(), any::<bool>())),
        )
            .prop_map(|(text, time)| Line::Raw { text, time }),
    ]
}

/// The lines of index `analytics` (sourcetype `spoor`) and of `main` (sourcetype `legacy`,
/// without props).
fn data_set() -> impl Strategy<Value = (Vec<Line>, Vec<Line>)> {
    (
        prop::collection::vec(line(), 0..40),
        prop::collection::vec(line(), 0..6),
    )
}

/// A data set whose `analytics` lines come in time order, as most real data does: the index's
/// times are then sorted, and its windows and a chart's buckets are ranges of rows.
fn ordered_data_set() -> impl Strategy<Value = (Vec<Line>, Vec<Line>)> {
    data_set().prop_map(|(mut analytics, main)| {
        analytics.sort_by_key(Line::time);
        (analytics, main)
    })
}

/// The data set in an engine, and what the reference reads.
struct Loaded {
    _dir: TempDir,
    engine: Engine,
    records: Vec<Record>,
    props: BTreeMap<String, BTreeMap<String, String>>,
    indexes: Vec<String>,
}

/// The data loaded into an engine: the first half of each index's lines sealed (and the
/// engine reopened, so those are read from the sealed blocks' columns), the rest in the logs.
fn load(analytics: &[Line], main: &[Line]) -> Loaded {
    let dir = TempDir::new("differential");
    // Small segments, so the sealed half is several blocks' worth of segments.
    let options = StoreOptions::default().segment_bytes(2048).seal(false);
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("opens");
    engine
        .store()
        .create_index("analytics")
        .expect("creates analytics");
    engine
        .store()
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("sets props");
    let mut records = Vec::new();
    for (index, meta, lines) in [
        (
            "analytics",
            EventMeta::new("spoor", "app", "web-1"),
            analytics,
        ),
        ("main", EventMeta::new("legacy", "old", "web-2"), main),
    ] {
        let text: Vec<String> = lines.iter().map(Line::text).collect();
        let half = text.len() / 2;
        for (i, part) in [&text[..half], &text[half..]].into_iter().enumerate() {
            if part.is_empty() {
                continue;
            }
            let stored = engine
                .ingest(index, &meta, &part.join("\n"), ARRIVAL)
                .expect("ingests");
            assert_eq!(stored.records.len(), part.len(), "one event per line");
            records.extend(stored.records.into_iter().map(|(_, record)| record));
            if i == 0 {
                let sealed = engine.store().seal_all().expect("seals");
                assert!(sealed > 0, "nothing was sealed");
            }
        }
    }
    // Reopened: the sealed half is indexed from its blocks, the rest replayed from the logs.
    drop(engine);
    let (engine, _) = Engine::open_with(dir.path(), &options).expect("reopens");
    let props = engine.store().props();
    let indexes = engine.store().indexes();
    Loaded {
        _dir: dir,
        engine,
        records,
        props,
        indexes,
    }
}

/// The engine's results and the reference's for each query, which must be equal.
///
/// On a difference, the message also names the shortest start of the pipeline that already
/// differs, which is where to look.
fn check(loaded: &Loaded, queries: &[(Query, Window)]) -> Result<(), TestCaseError> {
    let evaluate = |query: &Query, window: &Window| {
        let expected = reference::evaluate(
            &loaded.records,
            &loaded.props,
            &loaded.indexes,
            query,
            window,
        );
        let actual = loaded
            .engine
            .search(query, window)
            .map_err(|err| TestCaseError::fail(format!("{query}: {err}")))?;
        Ok::<_, TestCaseError>((actual, expected))
    };
    for (query, window) in queries {
        let (actual, expected) = evaluate(query, window)?;
        if actual == expected {
            continue;
        }
        let mut first = query.clone();
        for n in 0..query.commands.len() {
            let start = Query {
                search: query.search.clone(),
                commands: query.commands[..n].to_vec(),
            };
            let (actual, expected) = evaluate(&start, window)?;
            if actual != expected {
                first = start;
                break;
            }
        }
        prop_assert_eq!(
            actual,
            expected,
            "\nquery:  {}\nwindow: {:?}\nfirst differing start of the pipeline: {}",
            query,
            window,
            first
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Windows and spans

/// A window: open, closed, or open at one end, within and around the data set's months.
fn window() -> impl Strategy<Value = Window> {
    let instant =
        (-10 * 86_400..(DAYS + 10) * 86_400i64).prop_map(|s| START + Duration::seconds(s));
    (0..4u8, instant.clone(), instant).prop_map(|(mode, a, b)| {
        let (earliest, latest) = if a < b { (a, b) } else { (b, a) };
        let latest = if latest == earliest {
            latest + Duration::seconds(1)
        } else {
            latest
        };
        match mode {
            0 => Window::default(),
            1 => Window {
                earliest: Some(earliest),
                latest: None,
            },
            2 => Window {
                earliest: None,
                latest: Some(latest),
            },
            _ => Window {
                earliest: Some(earliest),
                latest: Some(latest),
            },
        }
    })
}

fn span(count: u32, unit: SpanUnit) -> Span {
    Span::new(NonZeroU32::new(count).expect("positive"), unit)
}

/// A span and a window to chart over: spans under a day come with a closed window of at most a
/// few hundred buckets.
fn chart_span_and_window() -> impl Strategy<Value = (Span, Window)> {
    let long = prop::sample::select(
        &[
            (1, SpanUnit::Day),
            (2, SpanUnit::Day),
            (7, SpanUnit::Day),
            (1, SpanUnit::Week),
            (2, SpanUnit::Week),
            (1, SpanUnit::Month),
            (2, SpanUnit::Month),
            (3, SpanUnit::Month),
        ][..],
    )
    .prop_map(|(count, unit)| span(count, unit));
    let short = prop::sample::select(
        &[
            (1, SpanUnit::Second, 1),
            (30, SpanUnit::Second, 30),
            (1, SpanUnit::Minute, 60),
            (15, SpanUnit::Minute, 900),
            (1, SpanUnit::Hour, 3_600),
            (6, SpanUnit::Hour, 21_600),
            (23, SpanUnit::Hour, 82_800),
        ][..],
    );
    let start = prop_oneof![
        (0..DAYS * 86_400i64).prop_map(|s| START + Duration::seconds(s)),
        prop::sample::select(EDGES).prop_map(|t| t - Duration::minutes(10)),
    ];
    prop_oneof![
        (long, window()),
        (short, start, 1..200i64).prop_map(|((count, unit, seconds), start, buckets)| {
            let window = Window {
                earliest: Some(start),
                latest: Some(start + Duration::seconds(seconds * buckets)),
            };
            (span(count, unit), window)
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Queries of the builders

fn index() -> impl Strategy<Value = Index> {
    prop_oneof![
        8 => Just("analytics"),
        1 => Just("main"),
        1 => Just("nope"),
    ]
    .prop_map(|name| Index::new(name).expect("valid"))
}

fn name_from(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(pool).prop_map(str::to_owned),
        1 => Just(UNSEEN.to_owned()),
        1 => Just("SHOP".to_owned()),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        6 => prop::sample::select(KEYS),
        1 => Just("absent"),
    ]
    .prop_map(|k| Key::new(k).expect("valid"))
}

/// Any window for a builder; it travels beside the query, not in it.
fn any_time_window() -> TimeWindow {
    TimeWindow::new(TimeModifier::Now, TimeModifier::Now)
}

fn builder_query() -> impl Strategy<Value = (Query, Window)> {
    let w = any_time_window;
    prop_oneof![
        (index(), window()).prop_map(move |(i, window)| (
            build::applications(&i, &[], w()).query().clone(),
            window
        )),
        (index(), name_from(APPLICATIONS), window()).prop_map(move |(i, a, window)| (
            build::events(&i, &a, &[], w()).query().clone(),
            window
        )),
        (
            index(),
            name_from(APPLICATIONS),
            prop::option::of(name_from(EVENT_NAMES)),
            window()
        )
            .prop_map(move |(i, a, e, window)| (
                build::properties(&i, &a, e.as_deref(), &[], w())
                    .query()
                    .clone(),
                window
            )),
        (
            index(),
            name_from(APPLICATIONS),
            prop::option::of(name_from(EVENT_NAMES)),
            key(),
            prop::option::of(1..5u32),
            window()
        )
            .prop_map(move |(i, a, e, k, top, window)| {
                let top = top.and_then(NonZeroU32::new);
                (
                    build::property_values(&i, &a, e.as_deref(), &k, top, &[], w())
                        .query()
                        .clone(),
                    window,
                )
            }),
        (
            index(),
            name_from(APPLICATIONS),
            prop::option::of(name_from(EVENT_NAMES)),
            prop_oneof![
                Just(Split::None),
                Just(Split::Event),
                key().prop_map(Split::Property)
            ],
            0..5u32,
            chart_span_and_window()
        )
            .prop_map(move |(i, a, e, split, limit, (span, window))| {
                let mut over = OverTime::new(span).split(split).limit(limit);
                if let Some(e) = e {
                    over = over.event(e);
                }
                (
                    build::events_over_time(&i, &a, &over, &[], w())
                        .query()
                        .clone(),
                    window,
                )
            }),
        (
            index(),
            name_from(APPLICATIONS),
            prop::option::of(name_from(EVENT_NAMES)),
            chart_span_and_window()
        )
            .prop_map(move |(i, a, e, (span, window))| (
                build::unique_users_over_time(&i, &a, e.as_deref(), span, &[], w())
                    .query()
                    .clone(),
                window
            )),
    ]
}

/// Conditions a funnel's or a retention's step may have.
const STEP_FILTERS: &[&str] = &["plan=pro", "plan!=pro", "seats>=2", "plan=*", "amount<10"];

fn step() -> impl Strategy<Value = Step> {
    (
        name_from(EVENT_NAMES),
        prop::option::weighted(0.3, prop::sample::select(STEP_FILTERS)),
    )
        .prop_map(|(event, filter)| {
            filter.into_iter().fold(Step::new(event), |step, f| {
                step.filter(f.parse().expect("a filter"))
            })
        })
}

/// The funnels and retention questions of the builders.
fn journey_query() -> impl Strategy<Value = (Query, Window)> {
    let w = any_time_window;
    let within = prop::sample::select(&[60u64, 3_600, 86_400, 30 * 86_400][..]);
    prop_oneof![
        (
            index(),
            name_from(APPLICATIONS),
            prop::collection::vec(step(), 2..5),
            within,
            prop::option::of(key()),
            window()
        )
            .prop_map(move |(i, a, steps, within, key, window)| {
                let mut funnel =
                    Funnel::new(steps, std::time::Duration::from_secs(within)).expect("a funnel");
                if let Some(key) = key {
                    funnel = funnel.breakdown(key);
                }
                (
                    build::funnel(&i, &a, &funnel, &[], w()).query().clone(),
                    window,
                )
            }),
        (
            index(),
            name_from(APPLICATIONS),
            step(),
            step(),
            prop::sample::select(&Period::ALL[..]),
            window()
        )
            .prop_map(move |(i, a, start, back, period, window)| {
                let question = Retention {
                    start,
                    back,
                    period,
                };
                (
                    build::retention(&i, &a, &question, &[], w())
                        .query()
                        .clone(),
                    window,
                )
            }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Hand-built pipelines

/// Fields rows may have, before any transforming command.
const FIELDS: &[&str] = &[
    "application",
    "event",
    "distinct_id",
    "analytics_prop__plan",
    "analytics_prop__Plan",
    "analytics_prop__amount",
    "analytics_prop__seats",
    "status",
    "user",
    "sourcetype",
    "host",
    "_time",
];

/// Values and patterns search terms and `where` compare with.
const VALUES: &[&str] = &[
    "shop", "SHOP", "sh*", "*o*", "*", "", "café", "CAFÉ", "ärger", "ÄRGER", "login", "u1", "U1",
    "pro", "3", "200", "spoor", "web-*", UNSEEN,
];

fn field(pool: &'static [&'static str]) -> impl Strategy<Value = Field> {
    prop::sample::select(pool).prop_map(|f| Field::new(f).expect("valid"))
}

fn search_terms() -> impl Strategy<Value = Search> {
    let term = (
        any::<bool>(),
        field(FIELDS),
        any::<bool>(),
        prop::sample::select(VALUES),
    )
        .prop_map(|(negated, field, ne, value)| SearchTerm {
            negated,
            field,
            op: if ne { CompareOp::Ne } else { CompareOp::Eq },
            value: value.to_owned(),
        });
    let index = prop::option::of(prop::sample::select(
        &["analytics", "main", "*", "ANALYTICS", "nope", "ana*"][..],
    ));
    (index, prop::collection::vec(term, 0..3)).prop_map(|(index, terms)| {
        let index = index.map(|name| SearchTerm::eq(Field::new("index").expect("valid"), name));
        Search::new(index.into_iter().chain(terms))
    })
}

fn where_() -> impl Strategy<Value = Command> {
    let condition = (field(FIELDS), any::<bool>(), prop::sample::select(VALUES)).prop_map(
        |(field, ne, value)| Condition {
            field,
            op: if ne { CompareOp::Ne } else { CompareOp::Eq },
            value: value.to_owned(),
        },
    );
    prop::collection::vec(condition, 1..3)
        .prop_map(|conditions| Command::Where(Where { conditions }))
}

fn function() -> impl Strategy<Value = Function> {
    let percentile = prop::sample::select(&[1_000_000, 50_000_000, 90_000_000, 99_500_000][..])
        .prop_map(|m| Percentile::from_millionths(m).expect("within 0 and 100"));
    prop_oneof![
        prop::sample::select(
            &[
                Function::Count,
                Function::DistinctCount,
                Function::Sum,
                Function::Avg,
                Function::Min,
                Function::Max,
                Function::Median,
                Function::Values,
                Function::Earliest,
                Function::Latest,
                Function::First,
                Function::Last,
                Function::Range,
                Function::Stdev,
            ][..],
        ),
        percentile.clone().prop_map(Function::Perc),
        percentile.clone().prop_map(Function::ExactPerc),
        percentile.prop_map(Function::UpperPerc),
    ]
}

/// An aggregation of `stats`, `eventstats` and `streamstats`: `count`, any function of any
/// field, or of `_time` or an amount named `agg`.
fn aggregation() -> BoxedStrategy<Aggregation> {
    prop_oneof![
        2 => Just(Aggregation::count()),
        4 => (function(), field(FIELDS)).prop_map(|(f, field)| Aggregation::apply(f, field)),
        1 => (function(), prop::sample::select(&["_time", "analytics_prop__amount"][..]))
            .prop_map(|(f, field)| Aggregation::apply(f, Field::new(field).expect("valid"))
                .alias(Field::new("agg").expect("valid"))),
    ]
    .boxed()
}

/// Aggregations drawn from `aggregation`, one a name (an aggregation whose name is taken is
/// left out), and by fields.
fn aggregations_by(
    aggregation: BoxedStrategy<Aggregation>,
) -> impl Strategy<Value = (Vec<Aggregation>, Vec<Field>)> {
    let by = prop::sample::subsequence(
        &["application", "event", "analytics_prop__plan", "user"][..],
        0..=2,
    );
    (prop::collection::vec(aggregation, 1..4), by).prop_map(|(aggregations, by)| {
        let mut names = Vec::new();
        let aggregations = aggregations
            .into_iter()
            .filter(|a| {
                let name = a.output_name();
                let fresh = !names.contains(&name);
                names.push(name);
                fresh
            })
            .collect();
        let by = by
            .into_iter()
            .map(|f| Field::new(f).expect("valid"))
            .collect();
        (aggregations, by)
    })
}

fn eventstats() -> impl Strategy<Value = Command> {
    aggregations_by(aggregation())
        .prop_map(|(aggregations, by)| Command::Eventstats(Eventstats { aggregations, by }))
}

fn streamstats() -> impl Strategy<Value = Command> {
    (
        prop::option::of(any::<bool>()),
        prop::option::of(0..4u32),
        prop::option::of(any::<bool>()),
        aggregations_by(aggregation()),
    )
        .prop_map(|(current, window, global, (aggregations, by))| {
            Command::Streamstats(Streamstats {
                current,
                window,
                global,
                aggregations,
                by,
            })
        })
}

fn stats() -> impl Strategy<Value = Command> {
    let wildcard = Aggregation::apply(
        Function::DistinctCount,
        FieldPattern::new("analytics_prop__*").expect("valid"),
    )
    .alias(FieldPattern::new("*").expect("valid"));
    aggregations_by(prop_oneof![6 => aggregation(), 1 => Just(wildcard)].boxed())
        .prop_map(|(aggregations, by)| Command::Stats(Stats { aggregations, by }))
}

fn timechart() -> impl Strategy<Value = (Command, Window)> {
    let aggregation = prop::sample::select(
        &[
            (None, None),
            (Some(Function::DistinctCount), Some("distinct_id")),
            (Some(Function::Count), Some("analytics_prop__plan")),
            (Some(Function::Sum), Some("analytics_prop__amount")),
            (Some(Function::Avg), Some("analytics_prop__seats")),
            (Some(Function::Median), Some("analytics_prop__amount")),
            (Some(Function::Stdev), Some("analytics_prop__seats")),
            (Some(Function::Range), Some("analytics_prop__amount")),
        ][..],
    )
    .prop_map(|(function, field)| match (function, field) {
        (Some(function), Some(field)) => {
            Aggregation::apply(function, Field::new(field).expect("valid"))
        }
        _ => Aggregation::count(),
    });
    let alias = prop::option::of(Just("total"));
    let by = prop::option::of(field(&[
        "application",
        "event",
        "analytics_prop__plan",
        "distinct_id",
    ]));
    (
        chart_span_and_window(),
        prop::option::of(0..4u32),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        aggregation,
        alias,
        by,
    )
        .prop_map(
            |((span, window), limit, use_other, use_null, aggregation, alias, by)| {
                let aggregation = match alias {
                    Some(alias) => aggregation.alias(Field::new(alias).expect("valid")),
                    None => aggregation,
                };
                let chart = Timechart {
                    span,
                    limit,
                    use_other,
                    use_null,
                    aggregation,
                    by,
                };
                (Command::Timechart(chart), window)
            },
        )
}

/// Column names after a search or a transforming command, for `rename`, `fields` and `sort`.
const COLUMNS: &[&str] = &[
    "application",
    "event",
    "count",
    "total",
    "analytics_prop__plan",
    "analytics_prop__amount",
    "plan",
    "amount",
    "_time",
    "_raw",
    "NULL",
    "OTHER",
    "shop",
    "agg",
];

fn rename() -> impl Strategy<Value = Command> {
    let renaming = prop_oneof![
        (
            prop::sample::select(COLUMNS),
            prop::sample::select(&["renamed", "event", "count", "value"][..])
        )
            .prop_map(|(from, to)| (from, to)),
        Just(("analytics_prop__*", "p_*")),
        Just(("*_time", "t*")),
    ]
    .prop_map(|(from, to)| Renaming {
        from: FieldPattern::new(from).expect("valid"),
        to: FieldPattern::new(to).expect("valid"),
    });
    prop::collection::vec(renaming, 1..3)
        .prop_map(|renamings| Command::Rename(Rename { renamings }))
}

fn fields() -> impl Strategy<Value = Command> {
    let pattern = prop_oneof![
        prop::sample::select(COLUMNS),
        prop::sample::select(&["analytics_prop__*", "_*", "*_id", "_span*", "*"][..]),
    ]
    .prop_map(|p| FieldPattern::new(p).expect("valid"));
    (any::<bool>(), prop::collection::vec(pattern, 1..4)).prop_map(|(keep, fields)| {
        Command::Fields(Fields {
            mode: if keep {
                FieldsMode::Keep
            } else {
                FieldsMode::Remove
            },
            fields,
        })
    })
}

fn sort() -> impl Strategy<Value = Command> {
    let key =
        (prop::sample::select(COLUMNS), any::<bool>()).prop_map(|(field, descending)| SortKey {
            field: Field::new(field).expect("valid"),
            descending,
        });
    (prop::option::of(0..6u32), prop::collection::vec(key, 1..3))
        .prop_map(|(limit, keys)| Command::Sort(Sort { limit, keys }))
}

fn head() -> impl Strategy<Value = Command> {
    (0..6u64).prop_map(|count| Command::Head(Head { count }))
}

// ---------------------------------------------------------------------------------------------
// Expressions and the commands of expressions (eval, where, bin, dedup, sort by _time)

/// Fields expressions read: numeric properties, strings, the time, and what `eval` makes.
const EXPR_FIELDS: &[&str] = &[
    "analytics_prop__seats",
    "analytics_prop__amount",
    "analytics_prop__plan",
    "event",
    "distinct_id",
    "status",
    "_time",
    "step",
];

fn expr_field() -> impl Strategy<Value = Expr> {
    prop::sample::select(EXPR_FIELDS).prop_map(|f| Expr::field(Field::new(f).expect("valid")))
}

fn number_literal() -> impl Strategy<Value = Expr> {
    prop::sample::select(&["0", "1", "2", "3", "2.5", "10"][..])
        .prop_map(|n| Expr::Number(Number::new(n).expect("a number")))
}

fn string_literal() -> impl Strategy<Value = Expr> {
    prop::sample::select(
        &[
            "pro", "free", "login", "purchase", "u1", "3", "", "%o%", "_",
        ][..],
    )
    .prop_map(Expr::string)
}

/// An expression whose value is a number or null, at most `depth` levels of operators.
fn numeric(depth: u32) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![expr_field(), number_literal()].boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = numeric(depth - 1);
    let condition = boolean(depth - 1);
    let arithmetic = (
        prop::sample::select(
            &[
                BinaryOp::Add,
                BinaryOp::Subtract,
                BinaryOp::Multiply,
                BinaryOp::Divide,
                BinaryOp::Modulo,
            ][..],
        ),
        inner.clone(),
        inner.clone(),
    )
        .prop_map(|(op, a, b)| Expr::binary(op, a, b));
    let one = (
        prop::sample::select(
            &[
                EvalFunction::Floor,
                EvalFunction::Ceiling,
                EvalFunction::Abs,
                EvalFunction::Round,
            ][..],
        ),
        inner.clone(),
    )
        .prop_map(|(f, a)| Expr::call(f, [a]));
    prop_oneof![
        2 => leaf,
        3 => arithmetic,
        1 => inner.clone().prop_map(|a| Expr::unary(UnaryOp::Negate, a)),
        1 => one,
        1 => inner.clone().prop_map(|a| Expr::call(EvalFunction::Round, [a, Expr::number(1)])),
        1 => (condition.clone(), inner.clone(), inner.clone())
            .prop_map(|(c, a, b)| Expr::call(EvalFunction::If, [c, a, b])),
        1 => (condition.clone(), inner.clone(), condition, inner.clone())
            .prop_map(|(c1, a, c2, b)| Expr::call(EvalFunction::Case, [c1, a, c2, b])),
        1 => (inner.clone(), inner.clone())
            .prop_map(|(a, b)| Expr::call(EvalFunction::Coalesce, [a, b])),
        1 => (prop::sample::select(&[EvalFunction::Min, EvalFunction::Max][..]), inner.clone(), inner)
            .prop_map(|(f, a, b)| Expr::call(f, [a, b])),
        1 => textual(depth - 1).prop_map(|s| Expr::call(EvalFunction::Len, [s])),
        1 => textual(depth - 1).prop_map(|s| Expr::call(EvalFunction::ToNumber, [s])),
    ]
    .boxed()
}

/// An expression whose value is a string or null.
fn textual(depth: u32) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![expr_field(), string_literal()].boxed();
    if depth == 0 {
        return leaf;
    }
    let inner = textual(depth - 1);
    let any = prop_oneof![inner.clone(), numeric(depth - 1)];
    prop_oneof![
        2 => leaf,
        2 => (any.clone(), any).prop_map(|(a, b)| Expr::binary(BinaryOp::Concat, a, b)),
        1 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::binary(BinaryOp::Add, a, b)),
        1 => (
            prop::sample::select(
                &[EvalFunction::Lower, EvalFunction::Upper, EvalFunction::ToString][..]
            ),
            inner.clone()
        )
            .prop_map(|(f, a)| Expr::call(f, [a])),
        1 => (boolean(depth - 1), inner.clone(), inner.clone())
            .prop_map(|(c, a, b)| Expr::call(EvalFunction::If, [c, a, b])),
        1 => (inner.clone(), inner).prop_map(|(a, b)| Expr::call(EvalFunction::Coalesce, [a, b])),
    ]
    .boxed()
}

/// An expression whose value is a Boolean or null.
fn boolean(depth: u32) -> BoxedStrategy<Expr> {
    let comparison_op = prop::sample::select(
        &[
            BinaryOp::Eq,
            BinaryOp::Ne,
            BinaryOp::Lt,
            BinaryOp::Le,
            BinaryOp::Gt,
            BinaryOp::Ge,
        ][..],
    );
    let numbers = numeric(depth.saturating_sub(1));
    let strings = textual(depth.saturating_sub(1));
    let tests = prop_oneof![
        (comparison_op.clone(), numbers.clone(), numbers)
            .prop_map(|(op, a, b)| Expr::binary(op, a, b)),
        (comparison_op, strings.clone(), strings.clone())
            .prop_map(|(op, a, b)| Expr::binary(op, a, b)),
        (
            prop::sample::select(&[EvalFunction::IsNull, EvalFunction::IsNotNull][..]),
            expr_field()
        )
            .prop_map(|(f, a)| Expr::call(f, [a])),
        (strings.clone(), string_literal(), string_literal())
            .prop_map(|(x, a, b)| Expr::call(EvalFunction::In, [x, a, b])),
        (strings, string_literal()).prop_map(|(s, p)| Expr::call(EvalFunction::Like, [s, p])),
    ]
    .boxed();
    if depth == 0 {
        return tests;
    }
    let inner = boolean(depth - 1);
    prop_oneof![
        3 => tests,
        1 => inner.clone().prop_map(|b| Expr::unary(UnaryOp::Not, b)),
        2 => (
            prop::sample::select(&[LogicOp::And, LogicOp::Or, LogicOp::Xor][..]),
            prop::collection::vec(inner, 2..4)
        )
            .prop_map(|(op, operands)| Expr::Logic { op, operands }),
    ]
    .boxed()
}

fn eval() -> impl Strategy<Value = Command> {
    let target = prop::sample::select(&["step", "x", "analytics_prop__seats", "event"][..])
        .prop_map(|f| Field::new(f).expect("valid"));
    let value = prop_oneof![numeric(2), textual(2)];
    let time = || Expr::field(Field::new("_time").expect("valid"));
    let retime = prop_oneof![
        (0..3u32).prop_map(move |h| Expr::binary(BinaryOp::Add, time(), Expr::number(h * 3_600))),
        Just(Expr::relative_time(
            time(),
            "-1d@d".parse::<Relative>().expect("a modifier")
        )),
    ]
    .prop_map(|value| (Field::new("_time").expect("valid"), value));
    let assignment = prop_oneof![4 => (target, value), 1 => retime];
    prop::collection::vec(assignment, 1..3).prop_map(|a| Command::Eval(Eval::new(a)))
}

fn where_expr() -> impl Strategy<Value = Command> {
    boolean(2).prop_map(Command::where_)
}

fn bin() -> impl Strategy<Value = Command> {
    let time_span = prop_oneof![
        Just(Span::HOUR),
        Just(Span::DAY),
        Just(Span::WEEK),
        Just(Span::MONTH),
        Just(span(15, SpanUnit::Minute)),
    ]
    .prop_map(BinSpan::Time);
    let number_span = prop::sample::select(&["1", "2", "0.5", "10"][..])
        .prop_map(|n| BinSpan::Number(Number::new(n).expect("a number")));
    let field =
        prop::sample::select(&["_time", "analytics_prop__seats", "analytics_prop__amount"][..])
            .prop_map(|f| Field::new(f).expect("valid"));
    let alias = prop::option::of(
        prop::sample::select(&["b", "step"][..]).prop_map(|f| Field::new(f).expect("valid")),
    );
    (prop_oneof![time_span, number_span], field, alias)
        .prop_map(|(span, field, alias)| Command::Bin(Bin { span, field, alias }))
}

fn dedup() -> impl Strategy<Value = Command> {
    let field = prop::sample::select(
        &[
            "distinct_id",
            "event",
            "application",
            "step",
            "analytics_prop__plan",
            "_time",
        ][..],
    )
    .prop_map(|f| Field::new(f).expect("valid"));
    (
        prop::option::of(1..4u32),
        prop::collection::vec(field, 1..3),
    )
        .prop_map(|(count, fields)| {
            Command::Dedup(Dedup {
                count: count.and_then(NonZeroU32::new),
                fields,
            })
        })
}

/// `sort` by `_time` (the events' times), maybe then another key.
fn sort_time() -> impl Strategy<Value = Command> {
    (
        any::<bool>(),
        prop::option::of(prop::sample::select(EXPR_FIELDS)),
    )
        .prop_map(|(descending, then)| {
            let mut keys = vec![SortKey {
                field: Field::new("_time").expect("valid"),
                descending,
            }];
            keys.extend(then.map(|f| SortKey {
                field: Field::new(f).expect("valid"),
                descending: false,
            }));
            Command::Sort(Sort {
                limit: Some(0),
                keys,
            })
        })
}

/// The commands of expressions.
fn expression_command() -> impl Strategy<Value = Command> {
    prop_oneof![eval(), where_expr(), bin(), dedup(), sort_time()]
}

/// Commands that take any rows.
fn row_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        where_(),
        stats(),
        eventstats(),
        streamstats(),
        rename(),
        fields(),
        sort(),
        head()
    ]
}

fn pipeline() -> impl Strategy<Value = (Query, Window)> {
    prop_oneof![
        // The search (often all of one index, all time, so that expressions see many rows),
        // then commands of expressions among the others.
        (
            prop_oneof![
                1 => search_terms(),
                2 => prop::sample::select(&["analytics", "*"][..]).prop_map(|index| {
                    Search::new([SearchTerm::eq(Field::new("index").expect("valid"), index)])
                }),
            ],
            prop::collection::vec(
                prop_oneof![3 => expression_command(), 1 => row_command()],
                1..5
            ),
            prop_oneof![1 => window(), 1 => Just(Window::default())]
        )
            .prop_map(|(search, commands, window)| (Query { search, commands }, window)),
        // The search, then any commands.
        (
            search_terms(),
            prop::collection::vec(row_command(), 0..4),
            window()
        )
            .prop_map(|(search, commands, window)| (Query { search, commands }, window)),
        // The search, maybe a `where`, a `timechart`, then any commands.
        (
            search_terms(),
            prop::option::of(where_()),
            timechart(),
            prop::collection::vec(row_command(), 0..3)
        )
            .prop_map(|(search, filter, (chart, window), rest)| {
                let commands = filter.into_iter().chain([chart]).chain(rest).collect();
                (Query { search, commands }, window)
            }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The properties

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn the_builders_queries_agree_with_the_reference(
        (analytics, main) in data_set(),
        queries in prop::collection::vec(builder_query(), 1..8),
    ) {
        let loaded = load(&analytics, &main);
        check(&loaded, &queries)?;
    }

    #[test]
    fn funnels_and_retention_agree_with_the_reference(
        (analytics, main) in data_set(),
        queries in prop::collection::vec(journey_query(), 1..6),
    ) {
        let loaded = load(&analytics, &main);
        check(&loaded, &queries)?;
    }

    #[test]
    fn queries_over_events_in_time_order_agree_with_the_reference(
        (analytics, main) in ordered_data_set(),
        queries in prop::collection::vec(prop_oneof![builder_query(), pipeline()], 1..8),
    ) {
        let loaded = load(&analytics, &main);
        check(&loaded, &queries)?;
    }

    #[test]
    fn pipelines_of_every_command_agree_with_the_reference(
        (analytics, main) in data_set(),
        queries in prop::collection::vec(pipeline(), 1..8),
    ) {
        let loaded = load(&analytics, &main);
        check(&loaded, &queries)?;
    }
}
