//! Issue 12, finding 2: every quantity a search controls is bounded before work starts.
//!
//! A `timechart` has at most 50,000 buckets (Splunk's `The specified span would result in too
//! many (>50000) rows.`), a split chart at most 1,000,000 cells (buckets × series), spans and
//! time modifiers stay within the years 0000 to 9999, and none of it loops, overflows or aborts:
//! each search here answers (or is refused) within seconds, through `Engine::search` and over the
//! server, where a refusal known when the job is created is a 400.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use http::StatusCode;
use spoor_engine::search::{MAX_BUCKETS, MAX_CHART_CELLS};
use spoor_engine::{Engine, EventMeta, Results, SearchError, Window};
use spoor_proto::search::{ExecMode, SearchParams, parse_job_status, parse_sid};
use spoor_proto::{Level, api_error};
use spoor_spl::Query;
use spoor_spl::ast::{Command, Span, SpanUnit};
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};

use crate::server_support::{Blocking, Driver, Harness, body_text};
use crate::support::TempDir;

/// The clock of these tests: a whole second.
const NOW: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

/// Splunk's words for a chart of too many buckets.
const TOO_MANY_BUCKETS: &str = "The specified span would result in too many (>50000) rows.";

/// How long any search here may take, even in a debug build on a busy machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// An engine whose `main` index holds `n` events spread evenly over the `spread` before
/// [`NOW`] (oldest first), the `i`-th with `uid=u<i % users>` and `n=<i>`.
fn engine(name: &str, n: usize, users: usize, spread: time::Duration) -> (TempDir, Arc<Engine>) {
    let dir = TempDir::new(name);
    let (engine, _) = Engine::open(dir.path()).expect("open engine");
    append(&engine, n, users, NOW - spread, spread);
    (dir, Arc::new(engine))
}

/// Appends `n` events from `from` over `spread`, as [`engine`] describes.
fn append(engine: &Engine, n: usize, users: usize, from: OffsetDateTime, spread: time::Duration) {
    let step = spread / u32::try_from(n.max(1)).expect("a small count");
    let events = (0..n).map(|i| {
        let at = from + step * u32::try_from(i).expect("a small count");
        (at, format!("uid=u{} n={i}", i % users))
    });
    engine
        .append("main", &EventMeta::new("spoor", "bounds", "test"), events)
        .expect("append");
}

fn window(earliest: Option<OffsetDateTime>, latest: Option<OffsetDateTime>) -> Window {
    Window { earliest, latest }
}

fn query(spl: &str) -> Query {
    spoor_spl::parse(spl).unwrap_or_else(|err| panic!("{spl}: {err}"))
}

/// The query with its timechart's span replaced, for spans the parser refuses.
fn with_span(mut query: Query, count: u32, unit: SpanUnit) -> Query {
    for command in &mut query.commands {
        if let Command::Timechart(chart) = command {
            chart.span = Span::new(NonZeroU32::new(count).expect("positive"), unit);
        }
    }
    query
}

/// Runs the search on a thread of its own and waits at most [`PATIENCE`] for it: a search
/// that loops or grinds fails the test instead of hanging it.
fn search(engine: &Arc<Engine>, query: Query, window: Window) -> Result<Results, SearchError> {
    let (tx, rx) = mpsc::channel();
    let engine = Arc::clone(engine);
    let spl = query.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(engine.search(&query, &window));
    });
    rx.recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{spl} did not answer within {PATIENCE:?}"))
}

/// The error a search gives; it must give one.
fn refused(engine: &Arc<Engine>, query: Query, window: Window) -> String {
    let spl = query.to_string();
    match search(engine, query, window) {
        Ok(results) => panic!(
            "{spl} answered {} rows of {} columns instead of an error",
            results.rows.len(),
            results.fields.len()
        ),
        Err(err) => err.to_string(),
    }
}

/// The values of column `name`.
fn column<'r>(results: &'r Results, name: &str) -> Vec<Option<&'r str>> {
    let i = results
        .fields
        .iter()
        .position(|f| f == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", results.fields));
    results.rows.iter().map(|row| row[i].as_deref()).collect()
}

#[test]
fn the_caps_are_documented_values() {
    assert_eq!(MAX_BUCKETS, 50_000);
    assert_eq!(MAX_CHART_CELLS, 1_000_000);
}

#[test]
fn month_spans_reaching_past_the_years_0000_to_9999_are_refused() {
    let (_dir, engine) = engine("bounds-months", 100, 3, time::Duration::days(30));
    let all = Window::default();

    // A million months never parse, and the same tree built by hand is refused, at once.
    let text = "search index=main | timechart span=1000000mon count";
    assert!(matches!(
        spoor_spl::parse(text),
        Err(spoor_spl::ParseError::SpanTooLong { .. })
    ));
    let million = with_span(
        query("search index=main | timechart span=1mon count"),
        1_000_000,
        SpanUnit::Month,
    );
    let err = refused(&engine, million, all);
    assert!(err.contains("0000 to 9999"), "{err}");
    // Even the largest count the tree can hold.
    let most = with_span(
        query("search index=main | timechart span=1mon count by uid"),
        u32::MAX,
        SpanUnit::Month,
    );
    let err = refused(&engine, most, all);
    assert!(err.contains("0000 to 9999"), "{err}");

    // 100,000 months (8,333 years) parse, but the bucket holding 2026 would end in 10303.
    let err = refused(
        &engine,
        query("search index=main | timechart span=100000mon count"),
        all,
    );
    assert_eq!(
        err,
        "timechart span=100000mon makes buckets outside the years 0000 to 9999: use a shorter span"
    );

    // A hundred years is one bucket from 1970, of its true length, holding every event.
    let century = search(
        &engine,
        query("search index=main | timechart span=1200mon count"),
        all,
    )
    .expect("a century");
    assert_eq!(
        column(&century, "_time"),
        [Some("1970-01-01T00:00:00.000+00:00")]
    );
    assert_eq!(column(&century, "count"), [Some("100")]);
    assert_eq!(column(&century, "_span"), [Some("3155760000")]);
    assert_eq!(column(&century, "_spandays"), [Some("36525")]);
}

#[test]
fn the_last_quarter_of_9999_ends_the_range() {
    let (_dir, engine) = engine("bounds-9999", 10, 2, time::Duration::days(1));
    let range = window(
        Some(datetime!(0000-01-01 0:00 UTC)),
        Some(datetime!(9999-12-31 23:59:59.999999 UTC)),
    );
    // Monthly buckets over the whole range: 120,000, past the cap.
    let err = refused(
        &engine,
        query("search index=main | timechart span=1mon count"),
        range,
    );
    assert_eq!(err, TOO_MANY_BUCKETS);
    // Quarters: 40,000 buckets, the last from 9999-10-01 to the end of the range.
    let quarters = search(
        &engine,
        query("search index=main | timechart span=3mon count"),
        range,
    )
    .expect("quarters");
    assert_eq!(quarters.rows.len(), 40_000);
    let times = column(&quarters, "_time");
    assert_eq!(times[0], Some("0000-01-01T00:00:00.000+00:00"));
    assert_eq!(times[39_999], Some("9999-10-01T00:00:00.000+00:00"));
    let spans = column(&quarters, "_span");
    assert_eq!(spans[39_999], Some("7948800"), "92 days");
    assert!(
        spans
            .iter()
            .all(|s| s.and_then(|s| s.parse::<i64>().ok()).is_some_and(|s| s > 0)),
        "every span is positive"
    );
    let counted: u64 = column(&quarters, "count")
        .iter()
        .map(|c| c.expect("a count").parse::<u64>().expect("a number"))
        .sum();
    assert_eq!(counted, 10);
}

#[test]
fn a_second_span_over_a_year_is_refused_before_any_bucket_is_made() {
    let (_dir, engine) = engine("bounds-year", 1_000, 10, time::Duration::days(400));
    let year = window(Some(NOW - time::Duration::days(365)), Some(NOW));
    for spl in [
        "search index=main | timechart span=1s count",
        "search index=main | timechart span=1s count by uid",
        "search index=main | timechart span=1s sum(n) by uid",
        "search index=main | stats count by uid | timechart span=1s count",
    ] {
        assert_eq!(
            refused(&engine, query(spl), year),
            TOO_MANY_BUCKETS,
            "{spl}"
        );
    }
    // From the epoch with no latest time: the buckets run to the last event.
    let from_epoch = window(Some(OffsetDateTime::UNIX_EPOCH), None);
    for spl in [
        "search index=main | timechart span=1s count",
        "search index=main | timechart span=1s dc(uid)",
        "search index=main | timechart span=1s avg(n) by uid",
    ] {
        assert_eq!(
            refused(&engine, query(spl), from_epoch),
            TOO_MANY_BUCKETS,
            "{spl}"
        );
    }
}

#[test]
fn the_bucket_cap_is_exact() {
    let (_dir, engine) = engine("bounds-exact", 500, 5, time::Duration::days(1));
    let spl = "search index=main | timechart span=1s count";
    let cap = i64::try_from(MAX_BUCKETS).expect("small");
    let at_cap = window(Some(NOW - time::Duration::seconds(cap)), Some(NOW));
    let results = search(&engine, query(spl), at_cap).expect("at the cap");
    assert_eq!(results.rows.len(), 50_000);
    let over = window(
        Some(NOW - time::Duration::seconds(cap)),
        Some(NOW + time::Duration::microseconds(1)),
    );
    assert_eq!(refused(&engine, query(spl), over), TOO_MANY_BUCKETS);
}

#[test]
fn a_day_by_second_split_by_user_is_refused() {
    // The search: `span=1s limit=0 count by uid` over a day is 86,400 buckets.
    let (_dir, engine) = engine("bounds-day", 2_000, 50, time::Duration::days(1));
    let day = window(Some(NOW - time::Duration::days(1)), Some(NOW));
    for spl in [
        "search index=main | timechart span=1s limit=0 count by uid",
        "search index=main | timechart span=1s limit=0 max(n) by uid",
    ] {
        assert_eq!(refused(&engine, query(spl), day), TOO_MANY_BUCKETS, "{spl}");
    }
}

#[test]
fn a_split_chart_holds_at_most_a_million_cells() {
    // 43,200 buckets of two seconds, under the bucket cap, times 30 users: 1,296,000 cells.
    let (_dir, engine) = engine("bounds-cells", 3_000, 30, time::Duration::days(1));
    let day = window(Some(NOW - time::Duration::days(1)), Some(NOW));
    for spl in [
        // Straight from the columns, and through a frame.
        "search index=main | timechart span=2s limit=0 count by uid",
        "search index=main | timechart span=2s limit=0 dc(n) by uid",
        "search index=main | timechart span=2s limit=0 sum(n) by uid",
        "search index=main | where uid!=\"nobody\" | timechart span=2s count by uid",
        // Every series is counted before `limit` keeps ten of them.
        "search index=main | timechart span=2s count by uid",
    ] {
        let err = refused(&engine, query(spl), day);
        assert!(
            err.starts_with("timechart span=2s would hold more than 1000000 values (43200 buckets"),
            "{spl}: {err}"
        );
        assert!(
            err.contains("use a longer span, a shorter time window"),
            "{err}"
        );
    }
    // The same by the hour: 24 buckets of 30 users, all kept.
    let hourly = search(
        &engine,
        query("search index=main | timechart span=1h limit=0 count by uid"),
        day,
    )
    .expect("hourly");
    assert_eq!(hourly.rows.len(), 24);
    assert_eq!(hourly.fields.len(), 1 + 30 + 1, "{:?}", hourly.fields);
    // Unsplit, two-second buckets are one series: 43,200 cells.
    let unsplit = search(
        &engine,
        query("search index=main | timechart span=2s count"),
        day,
    )
    .expect("unsplit");
    assert_eq!(unsplit.rows.len(), 43_200);
}

#[test]
fn a_chart_of_few_series_over_a_large_dictionary_answers_quickly() {
    // 100,000 users over the past year, then three in every two seconds of the next day: the
    // chart's buckets times the users the index knows would be billions of steps; its cells are
    // 43,200 × 3.
    let (_dir, engine) = engine("bounds-dict", 100_000, 100_000, time::Duration::days(365));
    append(&engine, 43_200, 3, NOW, time::Duration::days(1));
    let day = window(Some(NOW), Some(NOW + time::Duration::days(1)));
    for spl in [
        "search index=main | timechart span=2s limit=0 count by uid",
        "search index=main | timechart span=2s limit=0 dc(n) by uid",
    ] {
        let results = search(&engine, query(spl), day).expect("a chart");
        assert_eq!(results.rows.len(), 43_200, "{spl}");
        assert_eq!(&results.fields[1..4], ["u0", "u1", "u2"], "{spl}");
        let total: u64 = results
            .rows
            .iter()
            .flat_map(|row| &row[1..4])
            .map(|c| {
                c.as_deref()
                    .expect("a value")
                    .parse::<u64>()
                    .expect("a count")
            })
            .sum();
        assert_eq!(total, 43_200, "{spl}");
    }
}

// ---------------------------------------------------------------------------------------------
// Over the server

/// A server whose `main` index holds a year of events up to now.
fn server(name: &str) -> (Harness, Blocking) {
    let harness = Harness::start(name);
    let now = OffsetDateTime::now_utc().to_offset(UtcOffset::UTC);
    append(
        &harness.engine,
        500,
        5,
        now - time::Duration::days(365),
        time::Duration::days(365),
    );
    let client = Blocking::connect(&harness.config());
    client.login().expect("login");
    (harness, client)
}

fn params(earliest: &str, latest: Option<&str>) -> SearchParams {
    SearchParams {
        earliest_time: Some(earliest.to_owned()),
        latest_time: latest.map(str::to_owned),
        ..SearchParams::default()
    }
}

/// Checks that `response` is a refusal with status `status` and Splunk's `FATAL` `text`.
fn assert_refused(response: &http::Response<Vec<u8>>, status: StatusCode, text: &str) {
    assert_eq!(response.status(), status, "{}", body_text(response));
    let error = api_error(response.status(), response.body());
    let message = error.messages().first().expect("a message");
    assert_eq!(
        (&message.level, message.text.as_str()),
        (&Level::Fatal, text)
    );
}

#[test]
fn a_search_whose_window_is_known_is_refused_with_400() {
    let (_harness, client) = server("bounds-srv");
    let service = client.service();
    let per_second = "search index=main | timechart span=1s count by uid";
    let year = params("-1y", Some("now"));
    for mode in [ExecMode::Normal, ExecMode::Blocking, ExecMode::Oneshot] {
        let request = service
            .create_job_request(per_second, mode, &year)
            .expect("request");
        assert_refused(
            &client.send(request),
            StatusCode::BAD_REQUEST,
            TOO_MANY_BUCKETS,
        );
    }
    let export = service.export_request(per_second, &year).expect("request");
    assert_refused(
        &client.send(export),
        StatusCode::BAD_REQUEST,
        TOO_MANY_BUCKETS,
    );

    // A span past the range of times, and a window past it.
    let request = service
        .create_job_request(
            "search index=main | timechart span=1000000mon count",
            ExecMode::Normal,
            &SearchParams::default(),
        )
        .expect("request");
    assert_refused(
        &client.send(request),
        StatusCode::BAD_REQUEST,
        "span `1000000mon` at byte 35 is longer than the 10000 years from 0000 to 9999 (at most 120000mon)",
    );
    let request = service
        .create_job_request(
            "search index=main | timechart span=100000mon count",
            ExecMode::Normal,
            &params("-1d", Some("now")),
        )
        .expect("request");
    assert_refused(
        &client.send(request),
        StatusCode::BAD_REQUEST,
        "timechart span=100000mon makes buckets outside the years 0000 to 9999: use a shorter span",
    );
    let request = service
        .create_job_request(
            "search index=main | timechart span=1d count",
            ExecMode::Normal,
            &params("-100000y", Some("now")),
        )
        .expect("request");
    assert_refused(
        &client.send(request),
        StatusCode::BAD_REQUEST,
        "Invalid earliest_time '-100000y': time modifier \"-100000y\" resolves outside the years 0000 to 9999",
    );

    // Within the caps, the same search by the day answers.
    let found = client
        .search(
            "search index=main | timechart span=1d count",
            params("-7d@d", Some("now")),
        )
        .expect("a daily chart");
    assert_eq!(found.rows.len(), 8);
}

#[test]
fn a_search_whose_window_is_open_fails_its_job() {
    let (_harness, client) = server("bounds-srv-open");
    let service = client.service();
    // From the epoch to the last event: the bucket count is known only once the events are.
    let request = service
        .create_job_request(
            "search index=main | timechart span=1s count",
            ExecMode::Blocking,
            &params("0", None),
        )
        .expect("request");
    let created = client.send(request);
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        body_text(&created)
    );
    let sid = parse_sid(&created).expect("sid");
    let status = client.send(service.job_status_request(&sid).expect("request"));
    let job = parse_job_status(&status)
        .expect("a status")
        .expect("a finished job");
    assert!(job.is_failed(), "{job:?}");
    let texts: Vec<&str> = job.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, [TOO_MANY_BUCKETS]);
}
