//! spoor-engine against DuckDB on the retriever's questions, same data, same run.
//!
//! `cargo bench -p spoor-engine` generates the benchmark data set (10,000,000 events by
//! default; `SPOOR_BENCH_EVENTS` to change it), ingests it durably in batches of 1,000 events,
//! writes the same events as CSV, then in a fresh process reopens the store (replay and index),
//! measures the index's resident memory and times each question; DuckDB (the `duckdb` Python
//! package, `threads=2`, the CSV loaded into an in-memory table) answers the same questions on
//! the same data. Medians of 5 runs. The questions of issue 14 (a 3-step funnel over the 90
//! days, 12 weekly retention cohorts, a numeric property's sum by day, the top users, the
//! summary's totals, one user's timeline) are answered by both in the same form and compared:
//! the bench fails when they differ. It also states the peak memory of a funnel above the
//! loaded index. Results go in `BENCHMARKS.md`.
//!
//! Needs `python3` with `duckdb` installed (`pip install duckdb`).

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports on standard output"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark reads its settings from the environment"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spoor_engine::generate::{Generator, Spec};
use spoor_engine::{Engine, EventMeta, Results, Window};
use spoor_event::{Key, Value};
use spoor_spl::ast::Span;
use spoor_spl::build::{self, Funnel, Index, OverTime, Period, Retention, Split, Stat, Step};
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use time::OffsetDateTime;
use time::macros::datetime;

mod common;
use common::all_sealed;

const RUNS: usize = 5;
const INDEX: &str = "spoor";
const SOURCETYPE: &str = "spoor";
const APPLICATION: &str = "shop";
const EVENT: &str = "purchase";
const PROPERTY: &str = "browser";
const END: OffsetDateTime = datetime!(2026-11-28 0:00 UTC);
/// The funnel: the steps, in order, and the conversion window.
const FUNNEL: [&str; 3] = ["page_view", "add_to_cart", "purchase"];
const FUNNEL_WITHIN: Duration = Duration::from_secs(7 * 86_400);
/// The retention: start and return events, over the 12 whole weeks (Sunday to Sunday) before
/// the data's last Sunday.
const RETENTION: (&str, &str) = ("signup", "login");
const RETENTION_START: OffsetDateTime = datetime!(2026-08-30 0:00 UTC);
const RETENTION_END: OffsetDateTime = datetime!(2026-11-22 0:00 UTC);
/// The user of the timeline question, the numeric property of the numbers question, and how
/// many top users.
const USER: &str = "user-000042";
const NUMBER: &str = "amount";
const TOP: u32 = 10;

/// One event as a row of the CSV: time, application, event, user, then each key's value.
fn write_csv_row(out: &mut impl Write, event: &spoor_event::Event, keys: &[&str]) {
    let micros = event.time().unix_timestamp_nanos() / 1000;
    write!(out, "{micros},").expect("csv");
    csv_field(out, event.application());
    out.write_all(b",").expect("csv");
    csv_field(out, event.name());
    out.write_all(b",").expect("csv");
    csv_field(out, event.distinct_id().unwrap_or(""));
    for (key, _) in event.properties() {
        assert!(
            keys.contains(&key.as_str()),
            "the generator gave a key it does not list: {key}"
        );
    }
    for key in keys {
        out.write_all(b",").expect("csv");
        if let Some(value) = event.property(key) {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            csv_field(out, &text);
        }
    }
    writeln!(out).expect("csv");
}

fn csv_field(out: &mut impl Write, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", value.replace('"', "\"\"")).expect("write csv");
    } else {
        out.write_all(value.as_bytes()).expect("write csv");
    }
}

fn rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn window() -> (TimeWindow, Window) {
    let earliest = END - time::Duration::days(90);
    (
        TimeWindow::new(TimeModifier::at(earliest), TimeModifier::at(END)),
        Window {
            earliest: Some(earliest),
            latest: Some(END),
        },
    )
}

/// Generates `events` events, writes them to `csv` and ingests them into a store in
/// `store_dir` (the folder `dir` made afresh), then waits until the store is sealed: the ingest
/// rate (events/s) and how long sealing took after the last write (s).
fn generate_and_ingest(dir: &Path, csv: &Path, store_dir: &Path, events: usize) -> (f64, f64) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).expect("bench folder");

    // The events are generated, written as CSV and ingested a request at a time, so that
    // none is held longer than its request (100 M events would not fit in memory at once).
    let keys = spoor_engine::generate::property_keys();
    let mut out = BufWriter::new(fs::File::create(csv).expect("csv"));
    write!(out, "ts,application,event,distinct_id").expect("csv");
    for key in &keys {
        write!(out, ",p_{key}").expect("csv");
    }
    writeln!(out).expect("csv");
    let (engine, _) = Engine::open(store_dir).expect("opens");
    engine.store().create_index(INDEX).expect("index");
    engine
        .store()
        .set_props(SOURCETYPE, spoor_event::props::SETTINGS.iter().copied())
        .expect("props");
    let meta = EventMeta::new(SOURCETYPE, "bench", "localhost");
    println!("generating and ingesting {events} events…");
    // Durable ingest, 1,000 events per request, as the tracker sends them: only the ingest
    // calls are timed.
    let mut ingest = 0.0;
    let mut body = Vec::new();
    let mut chunk = Vec::with_capacity(1000);
    let mut generator = Generator::new(Spec::benchmark(events, END)).peekable();
    while generator.peek().is_some() {
        chunk.clear();
        chunk.extend(generator.by_ref().take(1000));
        for event in &chunk {
            write_csv_row(&mut out, event, &keys);
        }
        body.clear();
        spoor_event::encode_lines(&chunk, &mut body);
        let text = std::str::from_utf8(&body).expect("UTF-8");
        let start = Instant::now();
        engine.ingest(INDEX, &meta, text, END).expect("ingest");
        ingest += start.elapsed().as_secs_f64();
    }
    out.flush().expect("csv");
    drop(out);
    // Sealing runs in the background: wait until every closed segment is sealed and the
    // segment being written was closed once idle, as a store left alone ends up.
    let sealing = Instant::now();
    while !all_sealed(&store_dir.join("indexes").join(INDEX)) {
        assert!(
            sealing.elapsed() < Duration::from_secs(1200),
            "sealing never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sealed_after = sealing.elapsed().as_secs_f64();
    drop(engine);
    (events as f64 / ingest, sealed_after)
}

/// The parent: make the data, then measure both engines.
fn main() {
    if let Some(dir) = std::env::args().skip_while(|a| a != "--measure").nth(1) {
        measure(Path::new(&dir));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events: usize = std::env::var("SPOOR_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    // `SPOOR_BENCH_DIR` keeps the data (for profiling `--measure <dir>/store`).
    let keep = std::env::var_os("SPOOR_BENCH_DIR").map(PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("spoor-engine-bench-{}", std::process::id()))
    });
    let csv = dir.join("events.csv");
    let store_dir = dir.join("store");
    // `SPOOR_BENCH_REUSE` (with `SPOOR_BENCH_DIR`): the data an earlier run kept there is
    // measured again, both engines, without generating and ingesting it again.
    let reuse = keep.is_some()
        && std::env::var_os("SPOOR_BENCH_REUSE").is_some()
        && csv.is_file()
        && store_dir.is_dir();
    let ingested = if reuse {
        println!(
            "measuring the {events} events kept in {} again…",
            dir.display()
        );
        None
    } else {
        Some(generate_and_ingest(&dir, &csv, &store_dir, events))
    };
    let disk_bytes = folder_bytes(&store_dir);

    let exe = std::env::current_exe().expect("bench binary");
    let child = Command::new(exe)
        .args(["--measure", store_dir.to_str().expect("UTF-8 path")])
        .output()
        .expect("measure process");
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let spoor_out = String::from_utf8_lossy(&child.stdout).into_owned();
    let spoor: BTreeMap<String, f64> = parse_lines(&spoor_out);

    let (_, w) = window();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/duckdb_questions.py");
    let mut python = Command::new("python3");
    // Past 20 M events DuckDB keeps its table in a database file.
    if events > 20_000_000 {
        python.env("SPOOR_BENCH_DUCKDB_FILE", dir.join("events.duckdb"));
    }
    let duck = python
        .arg(&script)
        .arg(&csv)
        .arg((w.earliest.expect("set").unix_timestamp_nanos() / 1000).to_string())
        .arg((w.latest.expect("set").unix_timestamp_nanos() / 1000).to_string())
        .args([APPLICATION, EVENT, PROPERTY, &RUNS.to_string()])
        .arg(FUNNEL.join(","))
        .arg(FUNNEL_WITHIN.as_secs().to_string())
        .args([RETENTION.0, RETENTION.1])
        .arg((RETENTION_START.unix_timestamp_nanos() / 1000).to_string())
        .arg((RETENTION_END.unix_timestamp_nanos() / 1000).to_string())
        .args([USER, NUMBER, &TOP.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        duck.status.success(),
        "duckdb failed (pip install duckdb): {}",
        String::from_utf8_lossy(&duck.stderr)
    );
    let duck_out = String::from_utf8_lossy(&duck.stdout).into_owned();
    let mut duck: BTreeMap<String, f64> = parse_lines(&duck_out);
    let duck_file = duck.remove("bytes_duckdb_file");
    // Both must give the same answers to the questions whose answers are compared.
    let (ours, theirs) = (answers(&spoor_out), answers(&duck_out));
    assert!(!theirs.is_empty(), "DuckDB gave no answers to compare");
    for (name, answer) in &theirs {
        assert_eq!(
            ours.get(name),
            Some(answer),
            "spoor-engine and DuckDB disagree on {name}"
        );
    }

    let mut report = String::new();
    let _ = writeln!(report, "\n{events} events\n");
    let _ = writeln!(
        report,
        "| question | spoor-engine | DuckDB | spoor / DuckDB |"
    );
    let _ = writeln!(report, "|---|---|---|---|");
    for (name, duck_secs) in &duck {
        let ours = spoor.get(name).copied().unwrap_or(f64::NAN);
        let _ = writeln!(
            report,
            "| {name} | {:.1} ms | {:.1} ms | {:.3} |",
            ours * 1e3,
            duck_secs * 1e3,
            ours / duck_secs
        );
    }
    let _ = writeln!(
        report,
        "\nanswers compared with DuckDB's, all equal: {}",
        theirs.keys().cloned().collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        report,
        "memory during the funnel: peak resident set {:.1} MB above the loaded index",
        spoor["funnel_peak_rss_delta"] / 1e6
    );
    match ingested {
        Some((rate, sealed_after)) => {
            let _ = writeln!(
                report,
                "\ndurable ingest, batches of 1,000: {rate:.0} events/s"
            );
            let _ = writeln!(
                report,
                "sealing done {sealed_after:.1} s after the last write"
            );
        }
        None => {
            let _ = writeln!(
                report,
                "\ningest: not measured (the data of an earlier run)"
            );
        }
    }
    let _ = writeln!(
        report,
        "on disk: {:.1} bytes/event (the data folder, raw text included; the CSV: {:.1})",
        disk_bytes as f64 / events as f64,
        fs::metadata(&csv).map_or(0, |m| m.len()) as f64 / events as f64
    );
    if let Some(bytes) = duck_file {
        let _ = writeln!(
            report,
            "DuckDB's database file: {:.1} bytes/event",
            bytes / events as f64
        );
    }
    let _ = writeln!(
        report,
        "reopen: {:.3} s ({:.0} events/s); peak resident during it {:.1} bytes/event, {:.1} % above the resident set after it",
        spoor["reopen_seconds"],
        events as f64 / spoor["reopen_seconds"],
        spoor["open_peak_bytes"] / events as f64,
        (spoor["open_peak_bytes"] / spoor["open_rss_bytes"] - 1.0) * 100.0
    );
    let _ = writeln!(
        report,
        "a listing of 1,000 events with their _raw, mid-store: {:.2} ms",
        spoor["listing_1000"] * 1e3
    );
    let _ = writeln!(
        report,
        "resident memory of the loaded index: {:.1} bytes/event (its structures: {:.1} bytes/event)",
        spoor["index_bytes"] / events as f64,
        spoor["index_heap_bytes"] / events as f64
    );
    let _ = writeln!(
        report,
        "after the questions (with the postings they built): resident set {:.1} bytes/event, \
         the index's structures {:.1} bytes/event",
        spoor["rss_bytes_after_questions"] / events as f64,
        spoor["index_heap_bytes_after_questions"] / events as f64
    );
    println!("{report}");
    if keep.is_none() {
        let _ = fs::remove_dir_all(&dir);
    }
}

/// The `answer <name> <canonical answer>` lines.
fn answers(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (name, answer) = l.strip_prefix("answer ")?.split_once(' ')?;
            Some((name.to_owned(), answer.to_owned()))
        })
        .collect()
}

fn parse_lines(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The child: reopen, measure memory, time the questions.
fn measure(dir: &Path) {
    let before = rss_bytes();
    let start = Instant::now();
    let (engine, report) = Engine::open(PathBuf::from(dir)).expect("reopens");
    let reopen = start.elapsed().as_secs_f64();
    let after = rss_bytes();
    println!("reopen_seconds {reopen}");
    println!("open_peak_bytes {}", peak_rss_bytes());
    println!("open_rss_bytes {after}");
    println!("index_bytes {}", after.saturating_sub(before));
    println!("index_heap_bytes {}", engine.index_bytes());
    assert!(report.records > 0);

    let index = Index::new(INDEX).expect("index name");
    let (tw, w) = window();
    let key = Key::new(PROPERTY).expect("key");
    let questions = [
        ("applications", build::applications(&index, &[], tw)),
        (
            "events_of_application",
            build::events(&index, APPLICATION, &[], tw),
        ),
        (
            "properties_of_event",
            build::properties(&index, APPLICATION, Some(EVENT), &[], tw),
        ),
        (
            "values_of_property",
            build::property_values(
                &index,
                APPLICATION,
                Some(EVENT),
                &key,
                NonZeroU32::new(10),
                &[],
                tw,
            ),
        ),
        (
            "events_over_time_by_event",
            build::events_over_time(&index, APPLICATION, &OverTime::new(Span::DAY), &[], tw),
        ),
        (
            "events_over_time_by_property",
            build::events_over_time(
                &index,
                APPLICATION,
                &OverTime::new(Span::DAY)
                    .event(EVENT)
                    .split(Split::Property(key.clone())),
                &[],
                tw,
            ),
        ),
        (
            "unique_users_over_time",
            build::unique_users_over_time(&index, APPLICATION, None, Span::DAY, &[], tw),
        ),
    ];
    let steps = FUNNEL.map(Step::new);
    let funnel = Funnel::new(steps, FUNNEL_WITHIN).expect("a funnel");
    let retention = Retention {
        start: Step::new(RETENTION.0),
        back: Step::new(RETENTION.1),
        period: Period::Week,
    };
    let (retention_tw, retention_w) = (
        TimeWindow::new(
            TimeModifier::at(RETENTION_START),
            TimeModifier::at(RETENTION_END),
        ),
        Window {
            earliest: Some(RETENTION_START),
            latest: Some(RETENTION_END),
        },
    );
    let number = Key::new(NUMBER).expect("key");
    let top = NonZeroU32::new(TOP).expect("not zero");
    let issue_14 = [
        (
            "funnel_3_steps",
            build::funnel(&index, APPLICATION, &funnel, &[], tw),
            w,
        ),
        (
            "retention_12_weeks",
            build::retention(&index, APPLICATION, &retention, &[], retention_tw),
            retention_w,
        ),
        (
            "numbers_sum_by_day",
            build::numbers(
                &index,
                APPLICATION,
                &OverTime::new(Span::DAY).event(EVENT).split(Split::None),
                &number,
                Stat::Sum,
                &[],
                tw,
            ),
            w,
        ),
        (
            "top_users",
            build::top_users(&index, APPLICATION, None, top, &[], tw),
            w,
        ),
        (
            "summary_totals",
            build::totals(&index, Some(APPLICATION), &[], tw),
            w,
        ),
        (
            "user_timeline",
            build::user_events(
                &index,
                APPLICATION,
                USER,
                NonZeroU32::new(50).expect("not zero"),
                &[],
                tw,
            ),
            w,
        ),
    ];
    // The memory a funnel takes while it runs: the peak resident set above the loaded index's
    // (Linux resets the peak when "5" is written to `clear_refs`).
    let _ = fs::write("/proc/self/clear_refs", "5");
    let resident = rss_bytes();
    let results = engine
        .search(issue_14[0].1.query(), &issue_14[0].2)
        .expect("funnel");
    std::hint::black_box(results);
    println!(
        "funnel_peak_rss_delta {}",
        peak_rss_bytes().saturating_sub(resident)
    );
    // A listing of 1,000 events with their text, each run from another place in the store
    // (so no run finds the blocks it reads already read).
    let listing: spoor_spl::ast::Query = format!("search index={INDEX} | head 1000")
        .parse()
        .expect("a query");
    let times: Vec<f64> = (0..RUNS)
        .map(|run| {
            let day = END - time::Duration::days(80 - 15 * run as i64);
            let at = Window {
                earliest: Some(day),
                latest: Some(day + time::Duration::days(1)),
            };
            let start = Instant::now();
            let results = engine.search(&listing, &at).expect("listing");
            let elapsed = start.elapsed().as_secs_f64();
            let raw = results
                .fields
                .iter()
                .position(|f| f == "_raw")
                .expect("_raw");
            // A day holds fewer than 1,000 events only in a small run.
            assert!((1..=1000).contains(&results.rows.len()));
            assert!(results.rows.iter().all(|row| row[raw].is_some()));
            elapsed
        })
        .collect();
    println!("listing_1000 {}", median(times));
    let questions = questions
        .into_iter()
        .map(|(name, query)| (name, query, w))
        .chain(issue_14);
    // `SPOOR_BENCH_ONLY`: only the questions whose names contain it (for profiling
    // `--measure <dir>/store`).
    let only = std::env::var("SPOOR_BENCH_ONLY").unwrap_or_default();
    // `SPOOR_BENCH_GENERIC`: every question with a last command that changes nothing, so that
    // none is a shape a direct path takes (to measure what those paths save).
    let generic = std::env::var_os("SPOOR_BENCH_GENERIC").is_some();
    for (name, query, w) in questions.filter(|(name, _, _)| name.contains(&only)) {
        let mut query = query.query().clone();
        if generic {
            query
                .commands
                .push(spoor_spl::ast::Command::Fields(spoor_spl::ast::Fields {
                    mode: spoor_spl::ast::FieldsMode::Remove,
                    fields: vec![
                        spoor_spl::ast::FieldPattern::new("spoor_generic_path").expect("a pattern"),
                    ],
                }));
        }
        let runs = std::env::var("SPOOR_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(RUNS);
        let mut last = None;
        let times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                let results = engine.search(&query, &w).expect("search");
                let elapsed = start.elapsed().as_secs_f64();
                last = Some(results);
                elapsed
            })
            .collect();
        println!("{name} {}", median(times));
        if let Some(answer) = last.and_then(|results| canonical(name, &results)) {
            println!("answer {name} {answer}");
        }
    }
    // With the postings the questions had built (two bytes a row a column of few values).
    println!("index_heap_bytes_after_questions {}", engine.index_bytes());
    println!("rss_bytes_after_questions {}", rss_bytes());
}

/// The bytes of every file under a folder.
fn folder_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => folder_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// The peak resident set size (`VmHWM`).
fn peak_rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The answer to a question whose answers are compared with DuckDB's, in the form
/// `duckdb_questions.py` prints them.
fn canonical(name: &str, results: &Results) -> Option<String> {
    let column = |field: &str| results.fields.iter().position(|f| f == field);
    let cell = |row: &[Option<String>], field: &str| -> String {
        column(field)
            .and_then(|i| row[i].clone())
            .unwrap_or_default()
    };
    let rows = &results.rows;
    let joined = |f: &dyn Fn(&[Option<String>]) -> String| -> String {
        rows.iter().map(|r| f(r)).collect::<Vec<_>>().join(";")
    };
    match name {
        "funnel_3_steps" => {
            let row = rows.first()?;
            let micros = |field: &str| {
                let text = cell(row, field);
                text.parse::<f64>()
                    .map_or(String::new(), |s| format!("{}", (s * 1e6).round() as i64))
            };
            Some(format!(
                "{},{},{},{},{}",
                cell(row, "step1"),
                cell(row, "step2"),
                cell(row, "step3"),
                micros("time2"),
                micros("time3")
            ))
        }
        "retention_12_weeks" => {
            let mut sizes: Vec<(String, String)> = rows
                .iter()
                .map(|r| (cell(r, "cohort"), cell(r, "size")))
                .collect();
            sizes.dedup();
            let mut kept: Vec<(i64, i64, String)> = rows
                .iter()
                .filter(|r| cell(r, "period") != "-1")
                .map(|r| {
                    (
                        cell(r, "cohort").parse().unwrap_or(0),
                        cell(r, "period").parse().unwrap_or(0),
                        cell(r, "users"),
                    )
                })
                .collect();
            kept.sort();
            let sizes: Vec<String> = sizes.iter().map(|(c, s)| format!("{c}:{s}")).collect();
            let kept: Vec<String> = kept
                .iter()
                .map(|(c, p, u)| format!("{c}:{p}:{u}"))
                .collect();
            Some(format!("{}|{}", sizes.join(";"), kept.join(";")))
        }
        "numbers_sum_by_day" => {
            let with_value: Vec<String> = rows
                .iter()
                .filter(|r| !cell(r, "value").is_empty())
                .map(|r| {
                    let day: String = cell(r, "_time").chars().take(10).collect();
                    let sum: f64 = cell(r, "value").parse().unwrap_or(f64::NAN);
                    format!("{day}:{sum:.2}")
                })
                .collect();
            Some(with_value.join(";"))
        }
        "top_users" => Some(joined(&|r| {
            format!("{}:{}", cell(r, "distinct_id"), cell(r, "count"))
        })),
        "summary_totals" => {
            let row = rows.first()?;
            Some(format!(
                "{},{}",
                cell(row, "count"),
                cell(row, "unique_users")
            ))
        }
        "user_timeline" => Some(joined(&|r| {
            cell(r, "_raw")
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned()
        })),
        _ => None,
    }
}
