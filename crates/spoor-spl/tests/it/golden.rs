//! The exact SPL of every builder for ordinary names, next to the original Python query
//! (`AnalyticsRetriever` in the Splunk SDK's analytics example) for the same question.
//!
//! The same table is in the crate's README; a test checks that the README shows every query.

use std::num::NonZeroU32;

use spoor_event::Key;
use spoor_spl::ast::Span;
use spoor_spl::build::{self, Index, OverTime, Split};
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use spoor_spl::{Query, WindowedQuery};

/// One row: the question, the original query, spoor's query.
struct Golden {
    question: &'static str,
    python: &'static str,
    spoor: WindowedQuery,
}

fn window() -> TimeWindow {
    TimeWindow::new(
        "-30d@d".parse().expect("a valid modifier"),
        TimeModifier::Now,
    )
}

fn key(name: &str) -> Key {
    Key::new(name).expect("a valid key")
}

fn table() -> Vec<Golden> {
    let index = Index::new("sample_analytics").expect("a valid index");
    let index = &index;
    vec![
        Golden {
            question: "applications",
            python: "search index=sample_analytics | stats count by application",
            spoor: build::applications(index, &[], window()),
        },
        Golden {
            question: "events of an application",
            python: "search index=sample_analytics application=myapp | stats count by event",
            spoor: build::events(index, "myapp", &[], window()),
        },
        Golden {
            question: "properties of an event",
            python: "search index=sample_analytics application=myapp event=\"login\" \
                     | stats dc(analytics_prop__*) as *",
            spoor: build::properties(index, "myapp", Some("login"), &[], window()),
        },
        Golden {
            question: "values of a property (top 10)",
            python: "search index=sample_analytics application=myapp event=\"login\" \
                     | stats count by analytics_prop__plan | rename analytics_prop__plan as plan",
            spoor: build::property_values(
                index,
                "myapp",
                Some("login"),
                &key("plan"),
                NonZeroU32::new(10),
                &[],
                window(),
            ),
        },
        Golden {
            question: "properties of all events",
            python: "(none: the original asked per event)",
            spoor: build::properties(index, "myapp", None, &[], window()),
        },
        Golden {
            question: "values of a property over all events (top 10)",
            python: "(none: the original asked per event)",
            spoor: build::property_values(
                index,
                "myapp",
                None,
                &key("plan"),
                NonZeroU32::new(10),
                &[],
                window(),
            ),
        },
        Golden {
            question: "events over time, split by event",
            python: "search index=sample_analytics application=myapp event=\"*\" \
                     | timechart span=1d count by event | fields - _span*",
            spoor: build::events_over_time(
                index,
                "myapp",
                &OverTime::new(Span::DAY),
                &[],
                window(),
            ),
        },
        Golden {
            question: "one event over time, split by a property",
            python: "search index=sample_analytics application=myapp event=\"login\" \
                     | timechart span=1w count by analytics_prop__plan | fields - _span*",
            spoor: build::events_over_time(
                index,
                "myapp",
                &OverTime::new(Span::WEEK)
                    .event("login")
                    .split(Split::Property(key("plan"))),
                &[],
                window(),
            ),
        },
        Golden {
            question: "all events over time, split by a property",
            python: "search index=sample_analytics application=myapp event=\"*\" \
                     | timechart span=1d count by analytics_prop__plan | fields - _span*",
            spoor: build::events_over_time(
                index,
                "myapp",
                &OverTime::new(Span::DAY).split(Split::Property(key("plan"))),
                &[],
                window(),
            ),
        },
        Golden {
            question: "one event over time, not split",
            python: "(none: the original always split)",
            spoor: build::events_over_time(
                index,
                "myapp",
                &OverTime::new(Span::MONTH).event("login").split(Split::None),
                &[],
                window(),
            ),
        },
        Golden {
            question: "unique users over time",
            python: "(none)",
            spoor: build::unique_users_over_time(index, "myapp", None, Span::DAY, &[], window()),
        },
    ]
}

const EXPECTED: [&str; 11] = [
    r#"search index="sample_analytics" | stats count, dc(distinct_id) as unique_users by application"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | stats count, dc(distinct_id) as unique_users by event"#,
    r#"search index="sample_analytics" application="myapp" event="login" | where application="myapp" AND event="login" | stats dc(analytics_prop__*) as *"#,
    r#"search index="sample_analytics" application="myapp" event="login" | where application="myapp" AND event="login" | stats count by analytics_prop__plan | rename analytics_prop__plan as value | sort limit=10 -count, +value"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | stats dc(analytics_prop__*) as *"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | stats count by analytics_prop__plan | rename analytics_prop__plan as value | sort limit=10 -count, +value"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | timechart span=1d limit=10 useother=true usenull=false count by event | fields - _span*"#,
    r#"search index="sample_analytics" application="myapp" event="login" | where application="myapp" AND event="login" | timechart span=1w limit=10 useother=true usenull=false count by analytics_prop__plan | fields - _span*"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | timechart span=1d limit=10 useother=true usenull=false count by analytics_prop__plan | fields - _span*"#,
    r#"search index="sample_analytics" application="myapp" event="login" | where application="myapp" AND event="login" | timechart span=1mon limit=10 useother=true usenull=false count | fields - _span*"#,
    r#"search index="sample_analytics" application="myapp" | where application="myapp" | timechart span=1d limit=10 useother=true usenull=false dc(distinct_id) as unique_users | fields - _span*"#,
];

#[test]
fn builders_print_the_golden_queries() {
    let table = table();
    assert_eq!(table.len(), EXPECTED.len());
    for (row, expected) in table.iter().zip(EXPECTED) {
        assert_eq!(row.spoor.to_string(), expected, "{}", row.question);
        assert_eq!(row.spoor.window().earliest_time(), "-30d@d");
        assert_eq!(row.spoor.window().latest_time(), "now");
    }
}

#[test]
fn golden_queries_parse_back_to_their_trees() {
    for row in table() {
        let parsed: Query = row.spoor.to_string().parse().expect("the query parses");
        assert_eq!(&parsed, row.spoor.query(), "{}", row.question);
    }
}

#[test]
fn the_original_queries_are_in_the_subset() {
    // The hand-written originals parse too (bare words, the `*` search value), so the engine can
    // answer the Python example's queries.
    for row in table() {
        if row.python.starts_with("search") {
            let parsed = row.python.parse::<Query>();
            assert!(parsed.is_ok(), "{}: {parsed:?}", row.python);
        }
    }
}

#[test]
fn readme_shows_the_golden_table() {
    let readme = include_str!("../../README.md");
    for row in table() {
        let spoor = format!("`{}`", row.spoor.to_string().replace('|', "\\|"));
        let python = format!("`{}`", row.python.replace('|', "\\|"));
        let line = readme
            .lines()
            .find(|line| line.contains(&spoor))
            .unwrap_or_else(|| panic!("README lacks the query of {}: {spoor}", row.question));
        assert!(
            line.contains(row.question)
                && (line.contains(&python) || !row.python.starts_with("search")),
            "README's row for {} should show {python}",
            row.question
        );
    }
}

/// The summary's totals (no question of the original): one `stats` row over the application, or
/// over every application.
#[test]
fn totals_print_and_parse_back() {
    let index = Index::new("spoor").expect("a valid index");
    for (application, expected) in [
        (
            Some("my app"),
            "search index=\"spoor\" application=\"my app\" | where application=\"my app\" \
             | stats count, dc(distinct_id) as unique_users",
        ),
        (
            None,
            "search index=\"spoor\" | stats count, dc(distinct_id) as unique_users",
        ),
    ] {
        let query = build::totals(&index, application, &[], window());
        assert_eq!(query.to_string(), expected);
        let parsed: Query = expected.parse().expect("it parses");
        assert_eq!(&parsed, query.query());
    }
}
