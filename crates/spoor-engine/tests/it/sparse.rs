//! `stats` over rare fields: the columns of fields few events have are kept sparse (their rows
//! with a value), and the direct path reads them by those rows. Random events with fields of
//! every rarity, random `count(f)` and `dc(f)` with and without a by field, a search's
//! conditions and a time window, each answered by the direct path and by the generic one (the
//! same query with a command that changes nothing before the `stats`), rows compared exactly.

use proptest::prelude::*;
use spoor_engine::{Engine, EventMeta, Window};
use spoor_spl::ast::Query;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::TempDir;

const START: OffsetDateTime = datetime!(2026-11-28 0:00 UTC);

/// One event: its application, its name, and its value (of a pool of 40) of each field, if any.
#[derive(Debug, Clone)]
struct Line {
    application: &'static str,
    event: &'static str,
    /// `rare`, `scarce`, `common`.
    values: [Option<u8>; 3],
}

const FIELDS: [&str; 3] = ["rare", "scarce", "common"];

fn line() -> impl Strategy<Value = Line> {
    // One event in 100, in 12, in 2 has each field: the first two stay sparse.
    let value = |one_in: u32| {
        (0..one_in, 0..40u8).prop_map(move |(draw, value)| (draw == 0).then_some(value))
    };
    (
        prop::sample::select(&["shop", "shop", "blog"][..]),
        // One event in twenty a `z`: few enough for its rows to be found from postings.
        prop::sample::select(
            &[
                "a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c", "a", "b", "c", "a",
                "b", "c", "a", "z",
            ][..],
        ),
        value(100),
        value(12),
        value(2),
    )
        .prop_map(|(application, event, rare, scarce, common)| Line {
            application,
            event,
            values: [rare, scarce, common],
        })
}

/// The lines as text, the first at `START` plus `first` seconds, a second apart.
fn text(lines: &[Line], first: usize) -> String {
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate() {
        let at = START + time::Duration::seconds((first + i) as i64);
        let stamp = spoor_event::timestamp::format_spoor(at).expect("a time spoor writes");
        let stamp = std::str::from_utf8(&stamp).expect("ASCII");
        text.push_str(&format!(
            "{stamp} application=\"{}\" event=\"{}\"",
            line.application, line.event
        ));
        for (field, value) in FIELDS.iter().zip(&line.values) {
            if let Some(value) = value {
                text.push_str(&format!(" {field}=\"v{value}\""));
            }
        }
        text.push('\n');
    }
    text
}

fn query(spl: &str) -> Query {
    spoor_spl::parse(spl).unwrap_or_else(|err| panic!("{spl}: {err}"))
}

/// A search (with an optional condition) and a `stats` the direct path takes right after it:
/// aggregations of the fields, by at most one field.
fn stats() -> impl Strategy<Value = (String, String)> {
    let aggregation = prop_oneof![
        Just("count".to_owned()),
        prop::sample::select(&FIELDS[..]).prop_map(|f| format!("count({f})")),
        prop::sample::select(&FIELDS[..]).prop_map(|f| format!("dc({f})")),
        // Wildcards matching extracted fields, and built-in ones too (`source`, `sourcetype`,
        // `_time`), which rows have as well.
        Just("dc(r*)".to_owned()),
        Just("count(sc*)".to_owned()),
        Just("dc(*e)".to_owned()),
        Just("count(s*)".to_owned()),
    ];
    let condition = prop::sample::select(
        &[
            "",
            "application=shop",
            "event=b",
            "application=blog event=c",
            "event=z",
            "application=shop event=z",
            "rare=*",
            "scarce=v3",
        ][..],
    );
    let by = prop::sample::select(&["", " by event", " by application", " by common"][..]);
    (condition, prop::collection::vec(aggregation, 1..4), by).prop_map(
        |(condition, aggregations, by)| {
            let named: Vec<String> = aggregations
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    // A wildcard's name has as many: one a field it matches.
                    let star = if a.contains('*') { "*" } else { "" };
                    format!("{a} as s{i}{star}")
                })
                .collect();
            (
                format!("search index=main {condition}"),
                format!("stats {}{by}", named.join(" ")),
            )
        },
    )
}

proptest! {
    #![proptest_config(spoor_testkit::proptest_config_with_cases(24))]

    /// Asked again after more events came: a search that found its rows from postings (a
    /// condition keeping few rows) reads the newer rows by their codes, or builds the postings
    /// again once those are many.
    #[test]
    fn stats_over_rare_fields_answer_as_the_generic_path(
        lines in prop::collection::vec(line(), 1..3_000),
        more in prop::collection::vec(line(), 0..800),
        queries in prop::collection::vec(stats(), 1..6),
        from in 0i64..1_500,
        length in 1i64..3_500,
    ) {
        let dir = TempDir::new("sparse-stats");
        let (engine, _) = Engine::open(dir.path()).expect("opens");
        let meta = EventMeta::new("spoor", "app", "web-1");
        engine
            .ingest("main", &meta, &text(&lines, 0), START)
            .expect("ingests");
        let window = Window {
            earliest: Some(START + time::Duration::seconds(from)),
            latest: Some(START + time::Duration::seconds(from + length)),
        };
        for round in 0..2 {
            if round == 1 {
                engine
                    .ingest("main", &meta, &text(&more, lines.len()), START)
                    .expect("ingests");
            }
            for (search, stats) in &queries {
            let spl = format!("{search} | {stats}");
            // A command before the `stats` that changes nothing: the generic path answers.
            let generic_spl = format!("{search} | fields - spoor_generic_path | {stats}");
            for window in [Window::default(), window] {
                let direct = engine.search(&query(&spl), &window).expect("searches");
                let generic = engine.search(&query(&generic_spl), &window).expect("searches");
                prop_assert_eq!(&direct.fields, &generic.fields, "{} over {:?}", spl, window);
                prop_assert_eq!(&direct.rows, &generic.rows, "{} over {:?}", spl, window);
            }
            }
        }
    }
}
