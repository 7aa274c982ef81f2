//! Golden tests: a fixed data set (`fixtures/engine/`), queries over every command and option of
//! the subset, and the exact results each must give, written out by hand from the semantics in
//! the module doc of `spoor_engine::search`.
//!
//! Every case is checked against the reference evaluator ([`crate::reference`]) and against the
//! engine ([`engine_results`]). The cases under [`readings`] pin a reading of a point the
//! semantics leave open; each says which.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use spoor_engine::{Engine, EventMeta, Level, Message, Record, Results, Window};
use spoor_event::Key;
use spoor_spl::ast::{Query, Span};
use spoor_spl::build::{self, Index, OverTime, Split};
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::reference;
use crate::support::TempDir;

mod journeys;

/// spoor's lines and some others, for index `analytics` with sourcetype `spoor`.
const EVENTS: &str = include_str!("../fixtures/events.log");
/// Lines for index `main` with sourcetype `legacy`, which has no props.
const OTHER: &str = include_str!("../fixtures/other.log");
/// When the fixture's lines arrive: the time of a line without one.
const ARRIVAL: OffsetDateTime = datetime!(2028-04-15 00:00 UTC);
/// A cell without a value, in the expected rows below.
const NONE: &str = "∅";

/// The data set, stored: what the reference reads, and what the engine was given.
pub(crate) struct DataSet {
    /// Keeps the data folder until the data set is dropped.
    _dir: TempDir,
    /// The engine the data set was ingested into.
    pub(crate) engine: Engine,
    /// Every stored record, in the order written.
    pub(crate) records: Vec<Record>,
    /// The props stanzas.
    pub(crate) props: BTreeMap<String, BTreeMap<String, String>>,
    /// The indexes that exist.
    pub(crate) indexes: Vec<String>,
}

/// Ingests the fixtures into a fresh engine: `analytics` (spoor's sourcetype and props), `main`
/// (sourcetype `legacy`, no props) and an index `empty`.
fn load() -> DataSet {
    let dir = TempDir::new("golden");
    let (engine, _) = Engine::open(dir.path()).expect("opens");
    let store = engine.store();
    store.create_index("analytics").expect("creates analytics");
    store.create_index("empty").expect("creates empty");
    store
        .set_props("spoor", spoor_event::props::SETTINGS.iter().copied())
        .expect("sets props");
    let mut records = Vec::new();
    for (index, meta, text) in [
        (
            "analytics",
            EventMeta::new("spoor", "events.log", "web-1"),
            EVENTS,
        ),
        (
            "main",
            EventMeta::new("legacy", "other.log", "web-2"),
            OTHER,
        ),
    ] {
        let stored = engine.ingest(index, &meta, text, ARRIVAL).expect("ingests");
        records.extend(stored.records.into_iter().map(|(_, record)| record));
    }
    assert_eq!(records.len(), 21, "every fixture line is one event");
    let props = store.props();
    let indexes = store.indexes();
    DataSet {
        _dir: dir,
        engine,
        records,
        props,
        indexes,
    }
}

/// What the engine gives for `query` over the data set (`None` would skip the comparison).
fn engine_results(data: &DataSet, query: &Query, window: &Window) -> Option<Results> {
    Some(
        data.engine
            .search(query, window)
            .unwrap_or_else(|err| panic!("{query}: {err}")),
    )
}

// ---------------------------------------------------------------------------------------------
// Cases

struct Case {
    name: &'static str,
    query: Query,
    window: Window,
    expected: Results,
}

fn spl(text: &str) -> Query {
    spoor_spl::parse(text).unwrap_or_else(|err| panic!("{text}: {err}"))
}

const ALL_TIME: Window = Window {
    earliest: None,
    latest: None,
};

fn between(earliest: OffsetDateTime, latest: OffsetDateTime) -> Window {
    Window {
        earliest: Some(earliest),
        latest: Some(latest),
    }
}

/// The window a builder is given; the tests pass their own [`Window`].
fn any_window() -> TimeWindow {
    TimeWindow::new(TimeModifier::Now, TimeModifier::Now)
}

fn analytics() -> Index {
    Index::new("analytics").expect("valid")
}

fn results(fields: &[&str], rows: &[&[&str]]) -> Results {
    Results {
        fields: fields.iter().map(|&f| f.to_owned()).collect(),
        rows: rows
            .iter()
            .map(|row| {
                assert_eq!(row.len(), fields.len(), "a row of {fields:?}: {row:?}");
                row.iter()
                    .map(|&cell| (cell != NONE).then(|| cell.to_owned()))
                    .collect()
            })
            .collect(),
        messages: Vec::new(),
    }
}

fn case(
    name: &'static str,
    query: Query,
    window: Window,
    fields: &[&str],
    rows: &[&[&str]],
) -> Case {
    Case {
        name,
        query,
        window,
        expected: results(fields, rows),
    }
}

fn unknown_index(mut case: Case, index: &str) -> Case {
    case.expected.messages.push(Message {
        level: Level::Warn,
        text: format!(
            "Search on index '{index}' returned no results because the index does not exist."
        ),
    });
    case
}

/// Queries of the builders spoor's retriever uses.
fn builders() -> Vec<Case> {
    let w = any_window();
    let plan = Key::new("plan").expect("valid");
    vec![
        case(
            "applications",
            build::applications(&analytics(), &[], w).query().clone(),
            ALL_TIME,
            &["application", "count", "unique_users"],
            &[
                &["Shop", "1", "1"],
                &["blog", "4", "2"],
                &["café", "2", "2"],
                &["shop", "8", "3"],
            ],
        ),
        case(
            "events of an application (search matches Shop, where keeps shop)",
            build::events(&analytics(), "shop", &[], w).query().clone(),
            ALL_TIME,
            &["event", "count", "unique_users"],
            &[
                &["dup", "1", "1"],
                &["login", "2", "2"],
                &["logout", "1", "1"],
                &["purchase", "3", "3"],
            ],
        ),
        case(
            "events of an application in a window",
            build::events(&analytics(), "shop", &[], w).query().clone(),
            between(
                datetime!(2028-02-01 00:00 UTC),
                datetime!(2028-03-01 00:00 UTC),
            ),
            &["event", "count", "unique_users"],
            &[
                &["login", "1", "1"],
                &["logout", "1", "1"],
                &["purchase", "1", "1"],
            ],
        ),
        case(
            "properties",
            build::properties(&analytics(), "shop", Some("purchase"), &[], w)
                .query()
                .clone(),
            ALL_TIME,
            &["amount", "note", "plan", "seats"],
            &[&["3", "1", "2", "1"]],
        ),
        case(
            "properties of an event without any: no row, no column",
            build::properties(&analytics(), "shop", Some("logout"), &[], w)
                .query()
                .clone(),
            ALL_TIME,
            &[],
            &[],
        ),
        case(
            "property values",
            build::property_values(&analytics(), "shop", Some("purchase"), &plan, None, &[], w)
                .query()
                .clone(),
            ALL_TIME,
            &["value", "count"],
            &[&["pro", "2"], &["free", "1"]],
        ),
        case(
            "property values, top 1 of a tie: by value",
            build::property_values(
                &analytics(),
                "shop",
                Some("login"),
                &plan,
                Some(1.try_into().expect("positive")),
                &[],
                w,
            )
            .query()
            .clone(),
            ALL_TIME,
            &["value", "count"],
            &[&["free", "1"]],
        ),
        case(
            "events over time by event, monthly",
            build::events_over_time(&analytics(), "shop", &OverTime::new(Span::MONTH), &[], w)
                .query()
                .clone(),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "dup", "login", "logout", "purchase"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "0", "1", "0", "1"],
                &["2028-02-01T00:00:00.000+00:00", "0", "1", "1", "1"],
                &["2028-03-01T00:00:00.000+00:00", "1", "0", "0", "0"],
                &["2028-04-01T00:00:00.000+00:00", "0", "0", "0", "1"],
            ],
        ),
        case(
            "events over time, limit 2: the rest is OTHER",
            build::events_over_time(
                &analytics(),
                "shop",
                &OverTime::new(Span::MONTH).limit(2),
                &[],
                w,
            )
            .query()
            .clone(),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "login", "purchase", "OTHER"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "1", "1", "0"],
                &["2028-02-01T00:00:00.000+00:00", "1", "1", "1"],
                &["2028-03-01T00:00:00.000+00:00", "0", "0", "1"],
                &["2028-04-01T00:00:00.000+00:00", "0", "1", "0"],
            ],
        ),
        case(
            "events over time, one event, not split, weekly",
            build::events_over_time(
                &analytics(),
                "shop",
                &OverTime::new(Span::WEEK)
                    .event("purchase")
                    .split(Split::None),
                &[],
                w,
            )
            .query()
            .clone(),
            between(
                datetime!(2028-01-30 00:00 UTC),
                datetime!(2028-02-13 00:00 UTC),
            ),
            &["_time", "count"],
            &[
                &["2028-01-30T00:00:00.000+00:00", "1"],
                &["2028-02-06T00:00:00.000+00:00", "0"],
            ],
        ),
        case(
            "events over time split by a property; events without it left out",
            build::events_over_time(
                &analytics(),
                "shop",
                &OverTime::new(Span::MONTH).split(Split::Property(plan.clone())),
                &[],
                w,
            )
            .query()
            .clone(),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-04-01 00:00 UTC),
            ),
            &["_time", "a", "free", "pro"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "0", "0", "2"],
                &["2028-02-01T00:00:00.000+00:00", "0", "2", "0"],
                &["2028-03-01T00:00:00.000+00:00", "1", "0", "0"],
            ],
        ),
        case(
            "unique users over time",
            build::unique_users_over_time(&analytics(), "shop", None, Span::MONTH, &[], w)
                .query()
                .clone(),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "unique_users"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "1"],
                &["2028-02-01T00:00:00.000+00:00", "1"],
                &["2028-03-01T00:00:00.000+00:00", "1"],
                &["2028-04-01T00:00:00.000+00:00", "1"],
            ],
        ),
        case(
            "unique users of one event over time, an empty month",
            build::unique_users_over_time(&analytics(), "blog", Some("view"), Span::MONTH, &[], w)
                .query()
                .clone(),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-04-01 00:00 UTC),
            ),
            &["_time", "unique_users"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "0"],
                &["2028-02-01T00:00:00.000+00:00", "1"],
                &["2028-03-01T00:00:00.000+00:00", "1"],
            ],
        ),
    ]
}

/// `search`, and the rows of events it gives.
fn searches() -> Vec<Case> {
    vec![
        case(
            "one whole event",
            spl("search index=analytics event=logout"),
            ALL_TIME,
            &[
                "_time",
                "_raw",
                "index",
                "sourcetype",
                "source",
                "host",
                "application",
                "distinct_id",
                "event",
            ],
            &[&[
                "2028-02-01T00:00:00.000+00:00",
                r#"2028-02-01T00:00:00.000000Z application="shop" event="logout" distinct_id="u2""#,
                "analytics",
                "spoor",
                "events.log",
                "web-1",
                "shop",
                "u2",
                "logout",
            ]],
        ),
        case(
            "values match case-insensitively, newest first, columns sorted",
            spl(
                "search index=analytics application=SHOP event=login | fields - _raw, source*, host",
            ),
            ALL_TIME,
            &[
                "_time",
                "index",
                "analytics_prop__plan",
                "analytics_prop__seats",
                "application",
                "distinct_id",
                "event",
            ],
            &[
                &[
                    "2028-02-28T12:30:00.000+00:00",
                    "analytics",
                    "Pro",
                    NONE,
                    "Shop",
                    "u3",
                    "login",
                ],
                &[
                    "2028-02-01T00:00:00.000+00:00",
                    "analytics",
                    "free",
                    NONE,
                    "shop",
                    "u2",
                    "login",
                ],
                &[
                    "2028-01-15T09:00:00.000+00:00",
                    "analytics",
                    "pro",
                    "3",
                    "shop",
                    "u1",
                    "login",
                ],
            ],
        ),
        case(
            "no index term: main only; a sourcetype without props is read with auto and trimmed",
            spl("search | fields - _raw"),
            ALL_TIME,
            &[
                "_time",
                "index",
                "sourcetype",
                "source",
                "host",
                "application",
                "distinct_id",
                "event",
                "msg",
                "padded",
            ],
            &[
                &[
                    "2028-03-02T00:00:00.000+00:00",
                    "main",
                    "legacy",
                    "other.log",
                    "web-2",
                    "shop",
                    "u1",
                    "legacy",
                    NONE,
                    NONE,
                ],
                &[
                    "2028-02-29T12:00:00.000+00:00",
                    "main",
                    "legacy",
                    "other.log",
                    "web-2",
                    "shop",
                    NONE,
                    "legacy",
                    r"say \",
                    "x",
                ],
            ],
        ),
        case(
            "ties keep write order; internal columns come after the kept ones",
            spl("search index=analytics distinct_id=u2 | fields event | fields - _raw"),
            ALL_TIME,
            &["event", "_time"],
            &[
                &["dup", "2028-03-25T12:00:00.000+00:00"],
                &["purchase", "2028-02-29T08:15:30.250+00:00"],
                &["login", "2028-02-01T00:00:00.000+00:00"],
                &["logout", "2028-02-01T00:00:00.000+00:00"],
            ],
        ),
        case(
            "!= needs the field and no match, case-insensitively",
            spl(
                "search index=analytics application=* application!=shop | stats count by application",
            ),
            ALL_TIME,
            &["application", "count"],
            &[&["blog", "4"], &["café", "2"]],
        ),
        case(
            "NOT also matches events without the field",
            spl("search index=analytics NOT application=shop | stats count"),
            ALL_TIME,
            &["count"],
            &[&["10"]],
        ),
        case(
            "a wildcard in a value",
            spl("search index=analytics application=CAF* | stats count by application"),
            ALL_TIME,
            &["application", "count"],
            &[&["café", "2"]],
        ),
        case(
            "field=* is: the field exists (an empty value too)",
            spl("search index=analytics analytics_prop__plan=* | stats count"),
            ALL_TIME,
            &["count"],
            &[&["9"]],
        ),
        case(
            "an empty value matches only the empty value",
            spl(r#"search index=analytics analytics_prop__plan="" | stats count by event"#),
            ALL_TIME,
            &["event", "count"],
            &[&["orphan", "1"]],
        ),
        case(
            "field names are case-sensitive",
            spl("search index=analytics Application=shop | stats count"),
            ALL_TIME,
            &["count"],
            &[&["0"]],
        ),
        case(
            "events without a spoor line: pairs of free text, epoch time, arrival time",
            spl(
                "search index=analytics NOT event=* | fields - _raw, index, sourcetype, source, host",
            ),
            ALL_TIME,
            &["_time", "application", "msg", "ok", "status", "user"],
            &[
                &["2028-04-15T00:00:00.000+00:00", NONE, NONE, "1", NONE, NONE],
                &[
                    "2028-03-15T00:00:00.000+00:00",
                    NONE,
                    "not an event",
                    NONE,
                    NONE,
                    NONE,
                ],
                &[
                    "2028-03-10T06:00:00.000+00:00",
                    "shop",
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                &[
                    "2028-02-29T10:00:00.000+00:00",
                    NONE,
                    NONE,
                    NONE,
                    "200",
                    "bob",
                ],
            ],
        ),
        case(
            "an extracted field never replaces index or host",
            spl("search index=analytics msg=* | fields index, host, msg | fields - _*"),
            ALL_TIME,
            &["index", "host", "msg"],
            &[&["analytics", "web-1", "not an event"]],
        ),
        case(
            "the first value of a repeated key",
            spl("search index=analytics event=dup | stats count by analytics_prop__plan"),
            ALL_TIME,
            &["analytics_prop__plan", "count"],
            &[&["a", "1"]],
        ),
        case(
            "Unicode values",
            spl(
                "search index=analytics analytics_prop__lang=日本語 | stats count by analytics_prop__page",
            ),
            ALL_TIME,
            &["analytics_prop__page", "count"],
            &[&["/ünï", "1"]],
        ),
        case(
            "the window: earliest included, latest excluded",
            spl("search index=analytics | stats count"),
            between(
                datetime!(2028-02-01 00:00 UTC),
                datetime!(2028-02-29 08:15:30.25 UTC),
            ),
            &["count"],
            &[&["3"]],
        ),
        case(
            "the window, a microsecond later",
            spl("search index=analytics | stats count"),
            between(
                datetime!(2028-02-01 00:00 UTC),
                datetime!(2028-02-29 08:15:30.250001 UTC),
            ),
            &["count"],
            &[&["4"]],
        ),
        case(
            "index=* covers every index",
            spl("search index=* | stats count by index"),
            ALL_TIME,
            &["index", "count"],
            &[&["analytics", "19"], &["main", "2"]],
        ),
        case(
            "an empty index",
            spl("search index=empty | stats count"),
            ALL_TIME,
            &["count"],
            &[&["0"]],
        ),
        case(
            "an empty index, by a field: the columns and no row",
            spl("search index=empty | stats count, dc(distinct_id) by event"),
            ALL_TIME,
            &["event", "count", "dc(distinct_id)"],
            &[],
        ),
        unknown_index(
            case(
                "an unknown index: no rows, a warning, the rest runs",
                spl("search index=nope | stats count"),
                ALL_TIME,
                &["count"],
                &[&["0"]],
            ),
            "nope",
        ),
        unknown_index(
            case(
                "the index= of a line is no index",
                spl("search index=fake"),
                ALL_TIME,
                &["_time", "_raw", "index", "sourcetype", "source", "host"],
                &[],
            ),
            "fake",
        ),
        case(
            "a wildcard index name that matches nothing: no warning",
            spl("search index=nope* | stats count"),
            ALL_TIME,
            &["count"],
            &[&["0"]],
        ),
    ]
}

/// `where`, `stats`, `rename`, `fields`, `sort`, `head`.
fn commands() -> Vec<Case> {
    vec![
        case(
            "where compares exactly",
            spl(
                r#"search index=analytics | where analytics_prop__plan="pro" | stats count by application"#,
            ),
            ALL_TIME,
            &["application", "count"],
            &[&["café", "1"], &["shop", "3"]],
        ),
        case(
            "where !=, and conditions",
            spl(
                r#"search index=analytics | where analytics_prop__plan!="pro" AND application="shop" | stats count by analytics_prop__plan"#,
            ),
            ALL_TIME,
            &["analytics_prop__plan", "count"],
            &[&["a", "1"], &["free", "2"]],
        ),
        case(
            "where on Unicode",
            spl(r#"search index=analytics | where distinct_id="ü5" | stats count by application"#),
            ALL_TIME,
            &["application", "count"],
            &[&["café", "1"]],
        ),
        case(
            "escaped quotes are read under spoor's props",
            spl(
                "search index=analytics analytics_prop__note=*hi* | stats count by analytics_prop__note",
            ),
            ALL_TIME,
            &["analytics_prop__note", "count"],
            &[&[r#"say "hi""#, "1"]],
        ),
        case(
            "spaces around a value are kept under spoor's props",
            spl("search index=analytics event=comment | stats count by analytics_prop__text"),
            ALL_TIME,
            &["analytics_prop__text", "count"],
            &[&[" spaced out ", "1"]],
        ),
        case(
            "every aggregation over numbers",
            spl(
                "search index=analytics | stats count, count(analytics_prop__amount), dc(analytics_prop__amount), sum(analytics_prop__amount) as total, avg(analytics_prop__amount), min(analytics_prop__amount), max(analytics_prop__amount)",
            ),
            ALL_TIME,
            &[
                "count",
                "count(analytics_prop__amount)",
                "dc(analytics_prop__amount)",
                "total",
                "avg(analytics_prop__amount)",
                "min(analytics_prop__amount)",
                "max(analytics_prop__amount)",
            ],
            &[&["19", "5", "5", "124.75", "24.95", "-2", "100"]],
        ),
        case(
            "values that are no numbers: ignored, or min and max of the strings",
            spl(
                "search index=analytics | stats min(analytics_prop__seats), max(analytics_prop__seats), sum(analytics_prop__seats), min(analytics_prop__plan), max(analytics_prop__plan), avg(analytics_prop__plan)",
            ),
            ALL_TIME,
            &[
                "min(analytics_prop__seats)",
                "max(analytics_prop__seats)",
                "sum(analytics_prop__seats)",
                "min(analytics_prop__plan)",
                "max(analytics_prop__plan)",
                "avg(analytics_prop__plan)",
            ],
            &[&["3", "3", "3", "", "pro", NONE]],
        ),
        case(
            "without by, one row even when no aggregation has a value",
            spl(
                "search index=analytics event=logout | stats min(analytics_prop__amount), avg(analytics_prop__seats)",
            ),
            ALL_TIME,
            &["min(analytics_prop__amount)", "avg(analytics_prop__seats)"],
            &[&[NONE, NONE]],
        ),
        case(
            "stats after head counts the rows head keeps",
            spl("search index=analytics application=blog | head 1 | stats count by event"),
            ALL_TIME,
            &["event", "count"],
            &[&["comment", "1"]],
        ),
        case(
            "stats by two fields, groups sorted byte-wise",
            spl("search index=analytics | stats count by application, event"),
            ALL_TIME,
            &["application", "event", "count"],
            &[
                &["Shop", "login", "1"],
                &["blog", "comment", "1"],
                &["blog", "view", "3"],
                &["café", "order", "2"],
                &["shop", "dup", "1"],
                &["shop", "login", "2"],
                &["shop", "logout", "1"],
                &["shop", "purchase", "3"],
            ],
        ),
        case(
            "a wildcard dc by a field: one column per field any row has",
            spl(
                "search index=analytics application=blog | stats dc(analytics_prop__*) as * by event",
            ),
            ALL_TIME,
            &["event", "lang", "page", "text"],
            &[&["comment", "0", "0", "1"], &["view", "2", "2", "0"]],
        ),
        case(
            "rename",
            spl(
                "search index=analytics | stats count by application | rename application as app, count as n",
            ),
            ALL_TIME,
            &["app", "n"],
            &[
                &["Shop", "1"],
                &["blog", "4"],
                &["café", "2"],
                &["shop", "8"],
            ],
        ),
        case(
            "rename onto an existing column replaces it",
            spl(
                "search index=analytics | stats count, dc(event) as events by application | rename events as count",
            ),
            ALL_TIME,
            &["application", "count"],
            &[
                &["Shop", "1"],
                &["blog", "2"],
                &["café", "1"],
                &["shop", "4"],
            ],
        ),
        case(
            "rename with wildcards: each capture as little as it can",
            spl(
                "search index=analytics application=shop event=purchase | stats dc(analytics_prop__*) as * | rename *a* as *A*",
            ),
            ALL_TIME,
            &["Amount", "note", "plAn", "seAts"],
            &[&["3", "1", "2", "1"]],
        ),
        case(
            "fields keeps in the order of the patterns",
            spl(
                "search index=analytics event=view | fields distinct_id, analytics_prop__* | fields - _raw",
            ),
            ALL_TIME,
            &[
                "distinct_id",
                "analytics_prop__lang",
                "analytics_prop__page",
                "_time",
            ],
            &[
                &[NONE, NONE, "/home", "2028-03-01T00:00:01.000+00:00"],
                &["u4", "en", "/home", "2028-03-01T00:00:00.000+00:00"],
                &["u1", "日本語", "/ünï", "2028-02-29T23:00:00.000+00:00"],
            ],
        ),
        case(
            "fields naming an internal column places it",
            spl("search index=analytics event=logout | fields event, _raw"),
            ALL_TIME,
            &["event", "_raw", "_time"],
            &[&[
                "logout",
                r#"2028-02-01T00:00:00.000000Z application="shop" event="logout" distinct_id="u2""#,
                "2028-02-01T00:00:00.000+00:00",
            ]],
        ),
        case(
            "sort descending: missing values last, stable",
            spl(
                "search index=analytics | stats sum(analytics_prop__amount) as amount by event | sort -amount",
            ),
            ALL_TIME,
            &["event", "amount"],
            &[
                &["purchase", "124.5"],
                &["order", "0.25"],
                &["comment", NONE],
                &["dup", NONE],
                &["login", NONE],
                &["logout", NONE],
                &["orphan", NONE],
                &["view", NONE],
            ],
        ),
        case(
            "sort ascending with a limit: missing values still last",
            spl(
                "search index=analytics | stats sum(analytics_prop__amount) as amount by event | sort limit=3 amount",
            ),
            ALL_TIME,
            &["event", "amount"],
            &[
                &["order", "0.25"],
                &["purchase", "124.5"],
                &["comment", NONE],
            ],
        ),
        case(
            "sort compares numbers as numbers; milliseconds are cut",
            spl(
                "search index=analytics analytics_prop__amount=* | fields analytics_prop__amount | fields - _raw | sort analytics_prop__amount",
            ),
            ALL_TIME,
            &["analytics_prop__amount", "_time"],
            &[
                &["-2", "2028-03-12T18:45:00.000+00:00"],
                &["2.25", "2028-03-31T23:59:59.000+00:00"],
                &["5", "2028-02-29T08:15:30.250+00:00"],
                &["19.5", "2028-01-31T23:59:59.999+00:00"],
                &["100", "2028-04-01T00:00:00.000+00:00"],
            ],
        ),
        case(
            "sort by several keys, then head",
            spl(
                "search index=analytics | stats count by application, event | sort -count, application | head 5",
            ),
            ALL_TIME,
            &["application", "event", "count"],
            &[
                &["blog", "view", "3"],
                &["shop", "purchase", "3"],
                &["café", "order", "2"],
                &["shop", "login", "2"],
                &["Shop", "login", "1"],
            ],
        ),
        case(
            "head of events",
            spl("search index=analytics | head 2 | fields event | fields - _raw"),
            ALL_TIME,
            &["event", "_time"],
            &[
                &[NONE, "2028-04-15T00:00:00.000+00:00"],
                &["purchase", "2028-04-01T00:00:00.000+00:00"],
            ],
        ),
    ]
}

/// `timechart`.
fn timecharts() -> Vec<Case> {
    vec![
        case(
            "days, with _span and _spandays",
            spl("search index=analytics application=blog | timechart span=1d count"),
            between(
                datetime!(2028-02-29 00:00 UTC),
                datetime!(2028-03-02 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-02-29T00:00:00.000+00:00", "1", "86400", "1"],
                &["2028-03-01T00:00:00.000+00:00", "2", "86400", "1"],
            ],
        ),
        case(
            "months have their own lengths",
            spl("search index=analytics | timechart span=1mon count"),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-04-01 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "2", "2678400", "31"],
                &["2028-02-01T00:00:00.000+00:00", "6", "2505600", "29"],
                &["2028-03-01T00:00:00.000+00:00", "9", "2678400", "31"],
            ],
        ),
        case(
            "two-month buckets count from January 1970",
            spl("search index=analytics | timechart span=2mon count"),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "8", "5184000", "60"],
                &["2028-03-01T00:00:00.000+00:00", "11", "5270400", "61"],
            ],
        ),
        case(
            "weeks start on Sunday, before the window's start",
            spl("search index=analytics application=shop | timechart span=1w count"),
            between(
                datetime!(2028-02-29 00:00 UTC),
                datetime!(2028-03-11 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-02-27T00:00:00.000+00:00", "1", "604800", "7"],
                &["2028-03-05T00:00:00.000+00:00", "1", "604800", "7"],
            ],
        ),
        case(
            "hours",
            spl("search index=analytics | timechart span=6h count"),
            between(
                datetime!(2028-02-29 00:00 UTC),
                datetime!(2028-03-01 06:00 UTC),
            ),
            &["_time", "count", "_span"],
            &[
                &["2028-02-29T00:00:00.000+00:00", "0", "21600"],
                &["2028-02-29T06:00:00.000+00:00", "2", "21600"],
                &["2028-02-29T12:00:00.000+00:00", "0", "21600"],
                &["2028-02-29T18:00:00.000+00:00", "1", "21600"],
                &["2028-03-01T00:00:00.000+00:00", "2", "21600"],
            ],
        ),
        case(
            "minutes",
            spl("search index=analytics | timechart span=15m count"),
            between(
                datetime!(2028-02-29 08:00 UTC),
                datetime!(2028-02-29 09:00 UTC),
            ),
            &["_time", "count", "_span"],
            &[
                &["2028-02-29T08:00:00.000+00:00", "0", "900"],
                &["2028-02-29T08:15:00.000+00:00", "1", "900"],
                &["2028-02-29T08:30:00.000+00:00", "0", "900"],
                &["2028-02-29T08:45:00.000+00:00", "0", "900"],
            ],
        ),
        case(
            "seconds",
            spl("search index=analytics | timechart span=30s count"),
            between(
                datetime!(2028-03-01 00:00 UTC),
                datetime!(2028-03-01 00:01 UTC),
            ),
            &["_time", "count", "_span"],
            &[
                &["2028-03-01T00:00:00.000+00:00", "2", "30"],
                &["2028-03-01T00:00:30.000+00:00", "0", "30"],
            ],
        ),
        case(
            "an open window: from the first row's bucket to the last's",
            spl("search index=analytics application=café | timechart span=1w count"),
            ALL_TIME,
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-03-12T00:00:00.000+00:00", "1", "604800", "7"],
                &["2028-03-19T00:00:00.000+00:00", "0", "604800", "7"],
                &["2028-03-26T00:00:00.000+00:00", "1", "604800", "7"],
            ],
        ),
        case(
            "a window open at the end",
            spl("search index=analytics application=café | timechart span=1w count"),
            Window {
                earliest: Some(datetime!(2028-03-01 00:00 UTC)),
                latest: None,
            },
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-02-27T00:00:00.000+00:00", "0", "604800", "7"],
                &["2028-03-05T00:00:00.000+00:00", "0", "604800", "7"],
                &["2028-03-12T00:00:00.000+00:00", "1", "604800", "7"],
                &["2028-03-19T00:00:00.000+00:00", "0", "604800", "7"],
                &["2028-03-26T00:00:00.000+00:00", "1", "604800", "7"],
            ],
        ),
        case(
            "a closed window without rows: every bucket, counted 0",
            spl("search index=analytics | timechart span=1d count"),
            between(
                datetime!(2028-06-01 00:00 UTC),
                datetime!(2028-06-03 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[
                &["2028-06-01T00:00:00.000+00:00", "0", "86400", "1"],
                &["2028-06-02T00:00:00.000+00:00", "0", "86400", "1"],
            ],
        ),
        case(
            "a closed window without rows, split: buckets without series",
            spl("search index=analytics | timechart span=1d count by event"),
            between(
                datetime!(2028-06-01 00:00 UTC),
                datetime!(2028-06-02 00:00 UTC),
            ),
            &["_time", "_span", "_spandays"],
            &[&["2028-06-01T00:00:00.000+00:00", "86400", "1"]],
        ),
        case(
            "by, limit: NULL and OTHER",
            spl("search index=analytics | timechart span=1mon limit=1 count by application"),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "shop", "NULL", "OTHER", "_span", "_spandays"],
            &[
                &[
                    "2028-01-01T00:00:00.000+00:00",
                    "2",
                    "0",
                    "0",
                    "2678400",
                    "31",
                ],
                &[
                    "2028-02-01T00:00:00.000+00:00",
                    "3",
                    "1",
                    "2",
                    "2505600",
                    "29",
                ],
                &[
                    "2028-03-01T00:00:00.000+00:00",
                    "2",
                    "2",
                    "5",
                    "2678400",
                    "31",
                ],
                &[
                    "2028-04-01T00:00:00.000+00:00",
                    "1",
                    "1",
                    "0",
                    "2592000",
                    "30",
                ],
            ],
        ),
        case(
            "by, limit, useother=false usenull=false",
            spl(
                "search index=analytics | timechart span=1mon limit=1 useother=false usenull=false count by application",
            ),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &["_time", "shop", "_span", "_spandays"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "2", "2678400", "31"],
                &["2028-02-01T00:00:00.000+00:00", "3", "2505600", "29"],
                &["2028-03-01T00:00:00.000+00:00", "2", "2678400", "31"],
                &["2028-04-01T00:00:00.000+00:00", "1", "2592000", "30"],
            ],
        ),
        case(
            "limit=0 keeps every series, sorted by name",
            spl(
                "search index=analytics | timechart span=1mon limit=0 usenull=false count by application",
            ),
            between(
                datetime!(2028-02-01 00:00 UTC),
                datetime!(2028-03-01 00:00 UTC),
            ),
            &["_time", "Shop", "blog", "shop", "_span", "_spandays"],
            &[&[
                "2028-02-01T00:00:00.000+00:00",
                "1",
                "1",
                "3",
                "2505600",
                "29",
            ]],
        ),
        case(
            "series of equal totals rank by name",
            spl("search index=analytics | timechart span=1mon limit=2 count by application"),
            between(
                datetime!(2028-02-01 00:00 UTC),
                datetime!(2028-03-01 00:00 UTC),
            ),
            &[
                "_time",
                "Shop",
                "shop",
                "NULL",
                "OTHER",
                "_span",
                "_spandays",
            ],
            &[&[
                "2028-02-01T00:00:00.000+00:00",
                "1",
                "3",
                "1",
                "1",
                "2505600",
                "29",
            ]],
        ),
        case(
            "a sum per bucket; empty buckets have none",
            spl(
                "search index=analytics | timechart span=1mon sum(analytics_prop__amount) as total",
            ),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-06-01 00:00 UTC),
            ),
            &["_time", "total", "_span", "_spandays"],
            &[
                &["2028-01-01T00:00:00.000+00:00", "19.5", "2678400", "31"],
                &["2028-02-01T00:00:00.000+00:00", "5", "2505600", "29"],
                &["2028-03-01T00:00:00.000+00:00", "0.25", "2678400", "31"],
                &["2028-04-01T00:00:00.000+00:00", "100", "2592000", "30"],
                &["2028-05-01T00:00:00.000+00:00", NONE, "2678400", "31"],
            ],
        ),
        case(
            "an open window without rows: no rows",
            spl("search index=empty | timechart span=1d count"),
            ALL_TIME,
            &["_time", "count", "_span", "_spandays"],
            &[],
        ),
    ]
}

/// Cases that pin a reading of a point the semantics leave open; each names it.
fn readings() -> Vec<Case> {
    vec![
        case(
            "reading: Unicode case-insensitivity (É matches é)",
            spl("search index=analytics application=CAFÉ | stats count"),
            ALL_TIME,
            &["count"],
            &[&["2"]],
        ),
        case(
            "reading: index names match case-insensitively, no warning",
            spl("search index=MAIN | stats count"),
            ALL_TIME,
            &["count"],
            &[&["2"]],
        ),
        case(
            "reading: dc and count(f) over no rows are 0, sum has no value",
            spl(
                "search index=analytics event=nope | stats count, dc(distinct_id), count(distinct_id), sum(analytics_prop__amount)",
            ),
            ALL_TIME,
            &[
                "count",
                "dc(distinct_id)",
                "count(distinct_id)",
                "sum(analytics_prop__amount)",
            ],
            &[&["0", "0", "0", NONE]],
        ),
        case(
            "the where right after the search narrows the columns",
            spl(r#"search index=analytics | where event="logout" | fields - _raw"#),
            ALL_TIME,
            &[
                "_time",
                "index",
                "sourcetype",
                "source",
                "host",
                "application",
                "distinct_id",
                "event",
            ],
            &[&[
                "2028-02-01T00:00:00.000+00:00",
                "analytics",
                "spoor",
                "events.log",
                "web-1",
                "shop",
                "u2",
                "logout",
            ]],
        ),
        case(
            "a where after another command: the columns are the fields the rows left have",
            spl(r#"search index=analytics | head 3 | where event="purchase" | fields - _raw"#),
            ALL_TIME,
            &[
                "_time",
                "index",
                "sourcetype",
                "source",
                "host",
                "analytics_prop__amount",
                "analytics_prop__plan",
                "analytics_prop__seats",
                "application",
                "distinct_id",
                "event",
            ],
            &[&[
                "2028-04-01T00:00:00.000+00:00",
                "analytics",
                "spoor",
                "events.log",
                "web-1",
                "100",
                "pro",
                "many",
                "shop",
                "u3",
                "purchase",
            ]],
        ),
        case(
            "a wildcard in stats sees the fields the rows have",
            spl(
                "search index=analytics application=blog | head 1 | stats dc(analytics_prop__*) as *",
            ),
            ALL_TIME,
            &["text"],
            &[&["1"]],
        ),
        case(
            "a wildcard in fields sees the fields the rows have",
            spl(
                "search index=analytics application=blog | head 1 | fields - _raw | fields analytics_prop__*",
            ),
            ALL_TIME,
            &["analytics_prop__text", "_time"],
            &[&[" spaced out ", "2028-03-05T10:00:00.000+00:00"]],
        ),
        case(
            "a wildcard in rename sees the fields the rows have",
            spl(
                "search index=analytics application=blog | head 1 | rename analytics_prop__* as p_* | fields - _*, index, source*, host",
            ),
            ALL_TIME,
            &["p_text", "application", "distinct_id", "event"],
            &[&[" spaced out ", "blog", "u4", "comment"]],
        ),
        case(
            "reading: a span of 24h is a day or more, so it has _spandays",
            spl("search index=analytics | timechart span=24h count"),
            between(
                datetime!(2028-02-29 00:00 UTC),
                datetime!(2028-03-01 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[&["2028-02-29T00:00:00.000+00:00", "3", "86400", "1"]],
        ),
        case(
            "reading: a window whose ends are equal, inside a bucket, has that bucket",
            spl("search index=analytics | timechart span=1d count"),
            between(
                datetime!(2028-02-29 12:00 UTC),
                datetime!(2028-02-29 12:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[&["2028-02-29T00:00:00.000+00:00", "0", "86400", "1"]],
        ),
        case(
            "reading: a window whose ends are equal, on a bucket's start, has none",
            spl("search index=analytics | timechart span=1d count"),
            between(
                datetime!(2028-02-29 00:00 UTC),
                datetime!(2028-02-29 00:00 UTC),
            ),
            &["_time", "count", "_span", "_spandays"],
            &[],
        ),
        case(
            "reading: rows without the split field (left out) still set an open window's range",
            spl("search index=analytics | timechart span=1w usenull=false count by application"),
            Window {
                earliest: Some(datetime!(2028-03-26 00:00 UTC)),
                latest: None,
            },
            &["_time", "café", "shop", "_span", "_spandays"],
            &[
                &["2028-03-26T00:00:00.000+00:00", "1", "1", "604800", "7"],
                &["2028-04-02T00:00:00.000+00:00", "0", "0", "604800", "7"],
                &["2028-04-09T00:00:00.000+00:00", "0", "0", "604800", "7"],
            ],
        ),
        case(
            "reading: a series without any value ranks with a total of 0 (above a negative one)",
            spl(
                "search index=analytics | timechart span=1mon limit=2 min(analytics_prop__amount) by application",
            ),
            between(
                datetime!(2028-01-01 00:00 UTC),
                datetime!(2028-05-01 00:00 UTC),
            ),
            &[
                "_time",
                "Shop",
                "shop",
                "NULL",
                "OTHER",
                "_span",
                "_spandays",
            ],
            &[
                &[
                    "2028-01-01T00:00:00.000+00:00",
                    NONE,
                    "19.5",
                    NONE,
                    NONE,
                    "2678400",
                    "31",
                ],
                &[
                    "2028-02-01T00:00:00.000+00:00",
                    NONE,
                    "5",
                    NONE,
                    NONE,
                    "2505600",
                    "29",
                ],
                &[
                    "2028-03-01T00:00:00.000+00:00",
                    NONE,
                    NONE,
                    NONE,
                    "-2",
                    "2678400",
                    "31",
                ],
                &[
                    "2028-04-01T00:00:00.000+00:00",
                    NONE,
                    "100",
                    NONE,
                    NONE,
                    "2592000",
                    "30",
                ],
            ],
        ),
    ]
}

/// `eval`, `where` with expressions, `bin`, `dedup` and `sort _time`.
fn expressions() -> Vec<Case> {
    vec![
        case(
            "a funnel's steps: eval case, where isnotnull, sort _time, dedup",
            spl(
                r#"search index=analytics application=shop | eval step=case(event="login", 1, event="purchase", 2) | where isnotnull(step) | sort _time | dedup distinct_id step | fields distinct_id, step, _time | fields - _raw"#,
            ),
            ALL_TIME,
            &["distinct_id", "step", "_time"],
            &[
                &["u1", "1", "2028-01-15T09:00:00.000+00:00"],
                &["u1", "2", "2028-01-31T23:59:59.999+00:00"],
                &["u2", "1", "2028-02-01T00:00:00.000+00:00"],
                &["u3", "1", "2028-02-28T12:30:00.000+00:00"],
                &["u2", "2", "2028-02-29T08:15:30.250+00:00"],
                &["u3", "2", "2028-04-01T00:00:00.000+00:00"],
            ],
        ),
        case(
            "where compares numbers as numbers",
            spl(
                "search index=analytics | where analytics_prop__amount>10 OR analytics_prop__amount<0 | stats count by application",
            ),
            ALL_TIME,
            &["application", "count"],
            &[&["café", "1"], &["shop", "2"]],
        ),
        case(
            "eval arithmetic, round and if, then stats",
            spl(
                r#"search index=analytics event=purchase | eval revenue=round(analytics_prop__amount*1.1, 2), band=if(analytics_prop__amount>=10, "big", "small") | stats sum(revenue) as revenue, count by band"#,
            ),
            ALL_TIME,
            &["band", "revenue", "count"],
            &[&["big", "131.45", "2"], &["small", "5.5", "1"]],
        ),
        case(
            "eval concatenates, upper and coalesce",
            spl(
                r#"search index=analytics event=login | eval who=upper(distinct_id) . ":" . coalesce(analytics_prop__seats, "none") | stats count by who"#,
            ),
            ALL_TIME,
            &["who", "count"],
            &[&["U1:3", "1"], &["U2:none", "1"], &["U3:none", "1"]],
        ),
        case(
            "bin span=1d _time aligns as timechart",
            spl(
                "search index=analytics application=blog | bin span=1d _time | stats count by _time",
            ),
            ALL_TIME,
            &["_time", "count"],
            &[
                &["2028-02-29T00:00:00.000+00:00", "1"],
                &["2028-03-01T00:00:00.000+00:00", "2"],
                &["2028-03-05T00:00:00.000+00:00", "1"],
            ],
        ),
        case(
            "eval _time moves the events; bin as gives epoch seconds",
            spl(
                "search index=analytics application=blog | eval _time=_time+3600 | bin span=1d _time as day | stats count by day",
            ),
            ALL_TIME,
            &["day", "count"],
            &[&["1835481600", "3"], &["1835827200", "1"]],
        ),
        case(
            "relative_time snaps to the day",
            spl(
                r#"search index=analytics application=blog | eval day=relative_time(_time, "@d") | stats count by day"#,
            ),
            ALL_TIME,
            &["day", "count"],
            &[
                &["1835395200", "1"],
                &["1835481600", "2"],
                &["1835827200", "1"],
            ],
        ),
        case(
            "bin span=10 a number",
            spl(
                "search index=analytics | bin span=10 analytics_prop__amount as band | stats count by band",
            ),
            ALL_TIME,
            &["band", "count"],
            &[&["-10", "1"], &["0", "2"], &["10", "1"], &["100", "1"]],
        ),
        case(
            "dedup 2 keeps the newest two of each user; rows without one are dropped",
            spl(
                "search index=analytics application=shop | dedup 2 distinct_id | fields distinct_id, event | fields - _*",
            ),
            ALL_TIME,
            &["distinct_id", "event"],
            &[
                &["u3", "purchase"],
                &["u2", "dup"],
                &["u2", "purchase"],
                &["u3", "login"],
                &["u1", "purchase"],
                &["u1", "login"],
            ],
        ),
        case(
            "sort -_time puts the newest first",
            spl(
                "search index=analytics application=blog | sort -_time | head 2 | fields analytics_prop__page | fields - _*",
            ),
            ALL_TIME,
            &["analytics_prop__page"],
            &[&[NONE], &["/home"]],
        ),
    ]
}

/// An `eval` of a Boolean and a `where` of a number are refused with a message saying what to
/// write instead.
#[test]
fn expressions_refuse_what_splunk_refuses() {
    let data = load();
    let message = |text: &str| {
        data.engine
            .search(&spl(text), &ALL_TIME)
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        message("search index=analytics | eval big=analytics_prop__amount>10"),
        "Error in 'eval' command: Fields cannot be assigned a boolean result. Instead, try \
         if([bool expr], [expr], [expr])."
    );
    let err = message("search index=analytics | where analytics_prop__amount");
    assert!(
        err.starts_with("where needs a true-or-false condition"),
        "{err}"
    );
}

/// The aggregations beyond the counts, `eventstats` and `streamstats`.
fn aggregations() -> Vec<Case> {
    vec![
        case(
            // Amounts newest first: 100, 2.25, -2, 5, 19.5; ascending: -2, 2.25, 5, 19.5, 100.
            "percentiles by nearest rank, range, stdev and values",
            spl(
                "search index=analytics | stats median(analytics_prop__amount) as median, p25(analytics_prop__amount) as p25, perc90(analytics_prop__amount) as perc90, exactperc50(analytics_prop__amount) as exact50, upperperc99(analytics_prop__amount) as upper99, range(analytics_prop__amount) as range, stdev(analytics_prop__amount) as stdev, values(analytics_prop__amount) as values",
            ),
            ALL_TIME,
            &[
                "median", "p25", "perc90", "exact50", "upper99", "range", "stdev", "values",
            ],
            &[&[
                "5",
                "2.25",
                "100",
                "5",
                "100",
                "102",
                "42.72528525358256",
                "-2\n100\n19.5\n2.25\n5",
            ]],
        ),
        case(
            "first and last in row order, earliest and latest by time",
            spl(
                "search index=analytics | stats first(analytics_prop__amount) as first, last(analytics_prop__amount) as last, earliest(analytics_prop__amount) as earliest, latest(analytics_prop__amount) as latest, latest(_time) as newest by application",
            ),
            ALL_TIME,
            &[
                "application",
                "first",
                "last",
                "earliest",
                "latest",
                "newest",
            ],
            &[
                &["Shop", NONE, NONE, NONE, NONE, "1835353800"],
                &["blog", NONE, NONE, NONE, NONE, "1835863200"],
                &["café", "2.25", "-2", "-2", "2.25", "1838159999"],
                &["shop", "100", "19.5", "19.5", "100", "1838160000"],
            ],
        ),
        case(
            "eventstats gives each row its group's aggregates",
            spl(
                "search index=analytics application=blog | eventstats count as views, dc(distinct_id) as users by event | eventstats count as n by distinct_id | fields event, distinct_id, views, users, n | fields - _*",
            ),
            ALL_TIME,
            &["event", "distinct_id", "views", "users", "n"],
            &[
                &["comment", "u4", "1", "1", "2"],
                &["view", NONE, "3", "2", NONE],
                &["view", "u4", "3", "2", "2"],
                &["view", "u1", "3", "2", "1"],
            ],
        ),
        case(
            "streamstats over sorted events, by user, as a funnel starts",
            spl(
                "search index=analytics application=shop | sort limit=0 _time | streamstats count as step, earliest(_time) as start, latest(_time) as at by distinct_id | fields distinct_id, event, step, start, at | fields - _*",
            ),
            ALL_TIME,
            &["distinct_id", "event", "step", "start", "at"],
            &[
                &["u1", "login", "1", "1831539600", "1831539600"],
                &["u1", "purchase", "2", "1831539600", "1832975999.999999"],
                &["u2", "login", "1", "1832976000", "1832976000"],
                &["u2", "logout", "2", "1832976000", "1832976000"],
                &["u3", "login", "1", "1835353800", "1835353800"],
                &["u2", "purchase", "3", "1832976000", "1835424930.25"],
                // The legacy line `application=shop`, with none of these fields.
                &[NONE, NONE, NONE, NONE, NONE],
                &["u2", "dup", "4", "1832976000", "1837598400"],
                &["u3", "purchase", "2", "1835353800", "1838160000"],
            ],
        ),
        case(
            "streamstats windows: over all rows (global), or per group; current=false",
            spl(
                "search index=analytics application=shop | sort limit=0 _time | streamstats window=2 count as near by distinct_id | streamstats current=false window=1 global=false last(event) as previous by distinct_id | fields distinct_id, near, previous | fields - _*",
            ),
            ALL_TIME,
            &["distinct_id", "near", "previous"],
            &[
                &["u1", "1", NONE],
                &["u1", "2", "login"],
                &["u2", "1", NONE],
                &["u2", "2", "login"],
                &["u3", "1", NONE],
                &["u2", "1", "logout"],
                // The legacy line, in no group, takes a place in the window of all rows.
                &[NONE, NONE, NONE],
                &["u2", "1", "purchase"],
                &["u3", "1", "login"],
            ],
        ),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = builders();
    cases.extend(searches());
    cases.extend(commands());
    cases.extend(aggregations());
    cases.extend(timecharts());
    cases.extend(readings());
    cases.extend(expressions());
    cases
}

/// Runs `cases` through `evaluate`, and fails listing every case whose results differ.
fn check(what: &str, cases: Vec<Case>, evaluate: impl Fn(&Query, &Window) -> Option<Results>) {
    let mut failures = String::new();
    for case in cases {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| evaluate(&case.query, &case.window)));
        let actual = match outcome {
            Ok(Some(actual)) => actual,
            Ok(None) => continue,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let _ = writeln!(
                    failures,
                    "\n{what}: {}\n  query:    {}\n  panicked: {message}",
                    case.name, case.query
                );
                continue;
            }
        };
        if actual != case.expected {
            let _ = writeln!(
                failures,
                "\n{what}: {}\n  query:    {}\n  expected: {:?}\n  actual:   {:?}",
                case.name, case.query, case.expected, actual
            );
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// What the reference evaluator gives for `query` over the data set.
fn reference_results(data: &DataSet, query: &Query, window: &Window) -> Option<Results> {
    Some(reference::evaluate(
        &data.records,
        &data.props,
        &data.indexes,
        query,
        window,
    ))
}

#[test]
fn the_reference_gives_the_golden_results() {
    let data = load();
    check("reference", all_cases(), |q, w| {
        reference_results(&data, q, w)
    });
}

#[test]
fn the_engine_gives_the_golden_results() {
    let data = load();
    check("engine", all_cases(), |q, w| engine_results(&data, q, w));
}

#[test]
fn the_reference_gives_the_golden_journeys() {
    let data = journeys::load();
    check("reference", journeys::cases(), |q, w| {
        reference_results(&data, q, w)
    });
}

#[test]
fn the_engine_gives_the_golden_journeys() {
    let data = journeys::load();
    check("engine", journeys::cases(), |q, w| {
        engine_results(&data, q, w)
    });
}

#[test]
fn the_cases_cover_every_command_and_option() {
    let printed: Vec<String> = all_cases().iter().map(|c| c.query.to_string()).collect();
    for needle in [
        "| where ",
        " AND ",
        "!=",
        "NOT ",
        "| stats ",
        " by ",
        "| timechart ",
        "span=30s",
        "span=15m",
        "span=6h",
        "span=1d",
        "span=1w",
        "span=1mon",
        "span=2mon",
        "limit=0",
        "useother=false",
        "usenull=false",
        "| rename ",
        "| fields - ",
        "| fields ",
        "| sort ",
        "sort limit=",
        "| head ",
        "count(",
        "dc(",
        "sum(",
        "avg(",
        "min(",
        "max(",
        "_*) as *",
        "| eval ",
        "| where isnotnull(",
        "| bin span=1d ",
        "| bin span=10 ",
        "| dedup ",
        "relative_time(",
        "case(",
        "| sort +_time",
        "| sort -_time",
        "median(",
        "perc25(",
        "perc90(",
        "exactperc50(",
        "upperperc99(",
        "range(",
        "stdev(",
        "values(",
        "first(",
        "last(",
        "earliest(",
        "latest(",
        "| eventstats ",
        "| streamstats ",
        "current=false",
        "window=",
        "global=false",
    ] {
        assert!(
            printed.iter().any(|p| p.contains(needle)),
            "no case has {needle:?}"
        );
    }
}
