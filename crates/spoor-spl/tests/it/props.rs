//! Property tests.
//!
//! Invariants covered:
//! - for arbitrary (hostile) application, event and property values and arbitrary valid keys,
//!   every builder's query prints and parses back to the same tree;
//! - the tree's shape, and the query's text outside its literals, do not depend on the strings;
//! - likewise for funnels and retention (hostile step events and filter values, any breakdown
//!   key, window and period) and for filters on any builder;
//! - quotes are balanced, and the `where` filter holds each string exactly;
//! - any syntax tree prints and parses back to itself, expressions and every command included;
//! - strings and field names in expressions, however hostile, stay what they are: the query
//!   around them keeps its commands, and `eval` and `where` read back the same tree;
//! - the parser never panics, on any input, also deep in expressions;
//! - spans longer than 10,000 years print but do not parse;
//! - time modifiers print and parse back to themselves, and resolve without panicking, to an
//!   instant of the years 0000 to 9999.
//!
//! proptest is a form of fuzz testing: it can pass when there is a problem, but when it fails
//! there really is one. A failing case is saved in `tests/proptest-regressions/`; commit it and
//! add it as a named example test.

use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor_event::Key;
use spoor_spl::ast::{Command, Expr, FieldName, Percentile, Span};
use spoor_spl::build::{self, Funnel, Index, OverTime, Period, Retention, Split, Step};
use spoor_spl::filter::{Filter, Test};
use spoor_spl::modifier::{Relative, TimeModifier, TimeWindow};
use spoor_spl::{Query, WindowedQuery, parse};

use crate::strategies::{
    config, expr, field_name, hostile_string, index, instant, key, long_span, modifier, pattern,
    percentile, query, snap, span, spl_soup, zone,
};

/// One question to a builder, with its strings.
#[derive(Debug, Clone)]
enum Question {
    Applications,
    Events {
        application: String,
    },
    Properties {
        application: String,
        event: Option<String>,
    },
    Values {
        application: String,
        event: Option<String>,
        key: Key,
        top: Option<NonZeroU32>,
    },
    OverTime {
        application: String,
        event: Option<String>,
        split: Split,
        span: Span,
        limit: u32,
    },
    Users {
        application: String,
        event: Option<String>,
        span: Span,
    },
}

impl Question {
    /// The strings the question filters on, in the order of the `where` conditions.
    fn strings_mut(&mut self) -> Vec<&mut String> {
        match self {
            Self::Applications => vec![],
            Self::Events { application } => vec![application],
            Self::Properties { application, event }
            | Self::Values {
                application, event, ..
            }
            | Self::OverTime {
                application, event, ..
            }
            | Self::Users {
                application, event, ..
            } => std::iter::once(application).chain(event.as_mut()).collect(),
        }
    }

    /// The strings the question filters on, in order.
    fn filters(&self) -> Vec<String> {
        self.clone()
            .strings_mut()
            .into_iter()
            .map(|s| s.clone())
            .collect()
    }

    /// The same question about ordinary names.
    fn ordinary(&self) -> Self {
        let mut ordinary = self.clone();
        for string in ordinary.strings_mut() {
            "x".clone_into(string);
        }
        ordinary
    }

    fn build(&self, index: &Index, window: TimeWindow) -> WindowedQuery {
        self.build_filtered(index, &[], window)
    }

    fn build_filtered(
        &self,
        index: &Index,
        filters: &[Filter],
        window: TimeWindow,
    ) -> WindowedQuery {
        match self {
            Self::Applications => build::applications(index, filters, window),
            Self::Events { application } => build::events(index, application, filters, window),
            Self::Properties { application, event } => {
                build::properties(index, application, event.as_deref(), filters, window)
            }
            Self::Values {
                application,
                event,
                key,
                top,
            } => build::property_values(
                index,
                application,
                event.as_deref(),
                key,
                *top,
                filters,
                window,
            ),
            Self::OverTime {
                application,
                event,
                split,
                span,
                limit,
            } => {
                let mut over = OverTime::new(*span).split(split.clone()).limit(*limit);
                if let Some(event) = event {
                    over = over.event(event.clone());
                }
                build::events_over_time(index, application, &over, filters, window)
            }
            Self::Users {
                application,
                event,
                span,
            } => build::unique_users_over_time(
                index,
                application,
                event.as_deref(),
                *span,
                filters,
                window,
            ),
        }
    }
}

fn question() -> impl Strategy<Value = Question> {
    let s = hostile_string;
    let split = prop_oneof![
        Just(Split::None),
        Just(Split::Event),
        key().prop_map(Split::Property),
    ];
    prop_oneof![
        Just(Question::Applications),
        s().prop_map(|application| Question::Events { application }),
        (s(), prop::option::of(s()))
            .prop_map(|(application, event)| Question::Properties { application, event }),
        (s(), prop::option::of(s()), key(), any::<u32>()).prop_map(
            |(application, event, key, top)| {
                Question::Values {
                    application,
                    event,
                    key,
                    top: NonZeroU32::new(top),
                }
            }
        ),
        (s(), prop::option::of(s()), split, span(), any::<u32>()).prop_map(
            |(application, event, split, span, limit)| Question::OverTime {
                application,
                event,
                split,
                span,
                limit,
            }
        ),
        (s(), prop::option::of(s()), span()).prop_map(|(application, event, span)| {
            Question::Users {
                application,
                event,
                span,
            }
        }),
    ]
}

/// A filter of any form on any key, its strings hostile.
fn filter() -> impl Strategy<Value = Filter> {
    let s = hostile_string;
    let number = prop_oneof![Just(0.0), -1e9..1e9f64, Just(0.001), Just(-2.5)];
    let test = prop_oneof![
        s().prop_map(Test::Equals),
        s().prop_map(Test::NotEquals),
        prop::collection::vec(s(), 2..4).prop_map(Test::OneOf),
        prop::collection::vec(s(), 2..4).prop_map(Test::NoneOf),
        number.clone().prop_map(Test::Less),
        number.clone().prop_map(Test::AtMost),
        number.clone().prop_map(Test::Greater),
        number.prop_map(Test::AtLeast),
        Just(Test::Exists),
        Just(Test::Missing),
    ];
    (key(), test).prop_map(|(key, test)| Filter::new(key, test))
}

/// The same filter with its strings made ordinary (`x`), its form kept.
fn ordinary_filter(filter: &Filter) -> Filter {
    let x = || "x".to_owned();
    let test = match filter.test() {
        Test::Equals(_) => Test::Equals(x()),
        Test::NotEquals(_) => Test::NotEquals(x()),
        Test::OneOf(values) => Test::OneOf(values.iter().map(|_| x()).collect()),
        Test::NoneOf(values) => Test::NoneOf(values.iter().map(|_| x()).collect()),
        other => other.clone(),
    };
    Filter::new(filter.key().clone(), test)
}

/// A step: a hostile event name and up to two filters.
fn step() -> impl Strategy<Value = Step> {
    (hostile_string(), prop::collection::vec(filter(), 0..3))
        .prop_map(|(event, filters)| filters.into_iter().fold(Step::new(event), Step::filter))
}

fn ordinary_step(step: &Step) -> Step {
    step.filters()
        .iter()
        .map(ordinary_filter)
        .fold(Step::new("x"), Step::filter)
}

/// Prints and parses back to the same tree, with balanced quotes, and its text outside the
/// literals is that of `ordinary`'s.
fn holds_its_shape(built: &WindowedQuery, ordinary: &WindowedQuery) -> Result<(), TestCaseError> {
    let spl = built.to_string();
    let parsed = parse(&spl);
    prop_assert_eq!(parsed.as_ref(), Ok(built.query()), "{}", spl);
    let text = skeleton(&spl);
    prop_assert!(text.is_some(), "unbalanced quote in {}", spl);
    prop_assert_eq!(text, skeleton(&ordinary.to_string()), "{}", spl);
    Ok(())
}

fn window() -> impl Strategy<Value = TimeWindow> {
    (modifier(), modifier()).prop_map(|(earliest, latest)| TimeWindow::new(earliest, latest))
}

/// The tree with every literal emptied: what is left is its shape.
fn blank(query: &Query) -> Query {
    let mut query = query.clone();
    for term in &mut query.search.terms {
        term.value.clear();
    }
    for command in &mut query.commands {
        if let Command::Where(w) = command {
            for condition in &mut w.conditions {
                condition.value.clear();
            }
        }
    }
    query
}

/// Replaces, in order, each string of `expr` with the next of `strings` and each field name
/// with a field name made from the next (cycling), so that an ordinary tree gets hostile
/// literals and names in the same places.
fn fill(expr: &mut Expr, strings: &[String], next: &mut usize) {
    let mut take = || {
        let s = strings[*next % strings.len()].clone();
        *next += 1;
        s
    };
    match expr {
        Expr::String(s) => *s = take(),
        Expr::Field(name) => {
            let kept: String = take()
                .chars()
                .filter(|&c| {
                    !c.is_control() && !matches!(c, '\'' | '"' | '\\' | '|' | '[' | ']' | '`')
                })
                .collect();
            if let Ok(hostile) = FieldName::new(kept) {
                *name = hostile;
            }
        }
        Expr::Number(_) => {}
        Expr::Unary { operand, .. } => fill(operand, strings, next),
        Expr::Binary { left, right, .. } => {
            fill(left, strings, next);
            fill(right, strings, next);
        }
        Expr::RelativeTime { time, .. } => fill(time, strings, next),
        Expr::Logic { operands: args, .. } | Expr::Call { args, .. } => {
            for arg in args {
                fill(arg, strings, next);
            }
        }
    }
}

/// The condition of a `where`, whichever form it has.
fn condition(command: &Command) -> Option<Expr> {
    match command {
        Command::Where(w) => w.to_expr(),
        Command::WhereExpr(w) => Some(w.condition.clone()),
        _ => None,
    }
}

/// The text with every quoted literal replaced by `""`; `None` when a quote is not closed.
fn skeleton(spl: &str) -> Option<String> {
    let mut out = String::with_capacity(spl.len());
    let mut chars = spl.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        loop {
            match chars.next()? {
                '\\' => {
                    chars.next()?;
                }
                '"' => break,
                _ => {}
            }
        }
        out.push('"');
    }
    Some(out)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn builders_round_trip_and_keep_their_shape(
        question in question(),
        index in index(),
        window in window(),
    ) {
        let built = question.build(&index, window);
        let spl = built.to_string();

        // Print, then parse: the same tree.
        let parsed = parse(&spl);
        prop_assert_eq!(parsed.as_ref(), Ok(built.query()), "{}", spl);

        // The shape does not depend on the strings, in the tree and in the text.
        let ordinary = question.ordinary().build(&index, window);
        prop_assert_eq!(blank(built.query()), blank(ordinary.query()), "{}", spl);
        let text = skeleton(&spl);
        prop_assert!(text.is_some(), "unbalanced quote in {}", spl);
        prop_assert_eq!(text, skeleton(&ordinary.to_string()), "{}", spl);

        // The `where` filter holds each string as given, compared exactly.
        let filters = question.filters();
        let conditions: Vec<String> = built
            .query()
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Where(w) => Some(w),
                _ => None,
            })
            .flat_map(|w| w.conditions.iter().map(|c| c.value.clone()))
            .collect();
        prop_assert_eq!(conditions, filters);

        // The window travels beside the query and reads back.
        prop_assert_eq!(built.window().earliest_time().parse::<TimeModifier>(), Ok(window.earliest()));
        prop_assert_eq!(built.window().latest_time().parse::<TimeModifier>(), Ok(window.latest()));
    }

    #[test]
    fn funnels_keep_their_shape_whatever_their_names(
        application in hostile_string(),
        steps in prop::collection::vec(step(), 2..=10),
        within in 60..=(90 * 86_400u64),
        breakdown in prop::option::of(key()),
        filters in prop::collection::vec(filter(), 0..3),
        index in index(),
        window in window(),
    ) {
        let within = std::time::Duration::from_secs(within);
        let ordinary_steps: Vec<Step> = steps.iter().map(ordinary_step).collect();
        let mut funnel = Funnel::new(steps, within).expect("2 to 10 steps, a window in bounds");
        let mut ordinary = Funnel::new(ordinary_steps, within).expect("the same bounds");
        if let Some(key) = breakdown {
            funnel = funnel.breakdown(key.clone());
            ordinary = ordinary.breakdown(key);
        }
        let ordinary_filters: Vec<Filter> = filters.iter().map(ordinary_filter).collect();
        holds_its_shape(
            &build::funnel(&index, &application, &funnel, &filters, window),
            &build::funnel(&index, "x", &ordinary, &ordinary_filters, window),
        )?;
    }

    #[test]
    fn retention_keeps_its_shape_whatever_its_names(
        application in hostile_string(),
        start in step(),
        back in step(),
        period in prop::sample::select(Period::ALL.to_vec()),
        filters in prop::collection::vec(filter(), 0..3),
        index in index(),
        window in window(),
    ) {
        let ordinary = Retention { start: ordinary_step(&start), back: ordinary_step(&back), period };
        let question = Retention { start, back, period };
        let ordinary_filters: Vec<Filter> = filters.iter().map(ordinary_filter).collect();
        holds_its_shape(
            &build::retention(&index, &application, &question, &filters, window),
            &build::retention(&index, "x", &ordinary, &ordinary_filters, window),
        )?;
    }

    #[test]
    fn filters_keep_any_builder_s_shape(
        question in question(),
        filters in prop::collection::vec(filter(), 1..4),
        index in index(),
        window in window(),
    ) {
        // Filters on an ordinary question: the same shape as ordinary filters.
        let ordinary = question.ordinary();
        let ordinary_filters: Vec<Filter> = filters.iter().map(ordinary_filter).collect();
        holds_its_shape(
            &ordinary.build_filtered(&index, &filters, window),
            &ordinary.build_filtered(&index, &ordinary_filters, window),
        )?;
    }

    #[test]
    fn any_tree_round_trips(query in query(hostile_string())) {
        let spl = query.to_string();
        prop_assert!(skeleton(&spl).is_some(), "unbalanced quote in {}", spl);
        prop_assert_eq!(parse(&spl), Ok(query), "{}", spl);
    }

    #[test]
    fn hostile_strings_and_names_stay_in_expressions(
        template in expr(Just("x".to_owned()).boxed()),
        strings in prop::collection::vec(hostile_string(), 1..6),
    ) {
        let mut filled = template;
        fill(&mut filled, &strings, &mut 0);

        // In a `where`: one command, then the `head` after it, whatever the strings hold.
        let spl = format!("search | {} | head 1", Command::where_(filled.clone()));
        prop_assert!(skeleton(&spl).is_some(), "unbalanced quote in {}", spl);
        let parsed = parse(&spl);
        prop_assert!(parsed.is_ok(), "{} does not parse: {:?}", spl, parsed);
        if let Ok(query) = parsed {
            prop_assert_eq!(query.commands.len(), 2, "{}", spl);
            prop_assert_eq!(condition(&query.commands[0]), Some(filled.clone()), "{}", spl);
            prop_assert_eq!(&query.commands[1].to_string(), "head 1");
        }

        // In an `eval`, likewise; and alone.
        let spl = format!("search | eval x={filled}, y=1 | head 1");
        let parsed = parse(&spl);
        prop_assert!(
            matches!(&parsed, Ok(q) if matches!(&q.commands[..], [Command::Eval(e), Command::Head(_)]
                if e.assignments.len() == 2 && e.assignments[0].value == filled)),
            "{}: {:?}", spl, parsed
        );
        prop_assert_eq!(filled.to_string().parse::<Expr>(), Ok(filled.clone()));
    }

    #[test]
    fn expressions_round_trip(expr in expr(hostile_string())) {
        let text = expr.to_string();
        prop_assert!(skeleton(&text).is_some(), "unbalanced quote in {}", text);
        prop_assert_eq!(text.parse::<Expr>(), Ok(expr), "{}", text);
    }

    #[test]
    fn field_names_print_as_they_parse(name in field_name(hostile_string())) {
        let text = Expr::Field(name.clone()).to_string();
        prop_assert_eq!(text.parse::<Expr>(), Ok(Expr::Field(name)), "{}", text);
    }

    #[test]
    fn percentiles_round_trip(percentile in percentile()) {
        let text = percentile.to_string();
        prop_assert_eq!(text.parse::<Percentile>(), Ok(percentile), "{}", text);
    }

    #[test]
    fn parser_never_panics_in_expressions(input in "\\PC*", eval in any::<bool>()) {
        let spl = if eval { format!("search | eval x={input}") } else { format!("search | where {input}") };
        if let Ok(query) = parse(&spl) {
            prop_assert_eq!(parse(&query.to_string()), Ok(query), "{}", spl);
        }
        let _ = input.parse::<Expr>();
    }

    #[test]
    fn wildcard_names_expand_and_capture_back(
        pattern in pattern(),
        parts in prop::collection::vec("[a-z_*]{0,3}|\\PC{0,3}", 0..3),
        name in "[a-z_]{0,8}|\\PC{0,8}",
    ) {
        // A name made from the pattern matches it.
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let made = pattern.expand(&parts);
        prop_assert!(pattern.matches(&made), "{} {:?}", pattern, made);
        // What a name captures rebuilds the name.
        if let Some(captures) = pattern.captures(&name) {
            prop_assert_eq!(captures.len(), pattern.wildcards());
            prop_assert_eq!(pattern.expand(&captures), name);
        }
    }

    #[test]
    fn parser_never_panics_on_text(input in "\\PC*") {
        let _ = parse(&input);
    }

    #[test]
    fn parser_never_panics_on_any_string(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn parser_never_panics_on_spl_pieces(input in spl_soup()) {
        // What it reads, it prints in a form that reads back the same.
        if let Ok(query) = parse(&input) {
            prop_assert_eq!(parse(&query.to_string()), Ok(query), "{}", input);
        }
    }

    #[test]
    fn time_modifiers_round_trip(modifier in modifier()) {
        let text = modifier.to_string();
        prop_assert_eq!(text.parse::<TimeModifier>(), Ok(modifier), "{}", text);
    }

    #[test]
    fn snaps_round_down_once(snap in snap(), now in instant(), zone in zone()) {
        let modifier = TimeModifier::Relative(Relative { offset: None, snap: Some(snap), after: None });
        let snapped = modifier.resolve(now, zone);
        prop_assert!(snapped.is_ok(), "{} at {}: {:?}", modifier, now, snapped);
        if let Ok(snapped) = snapped {
            prop_assert!(snapped <= now, "{} at {} gave {}", modifier, now, snapped);
            prop_assert!(now - snapped < time::Duration::days(366), "{} at {}", modifier, now);
            prop_assert_eq!(modifier.resolve(snapped, zone), Ok(snapped), "{} is idempotent", modifier);
        }
    }

    #[test]
    fn time_modifier_parser_never_panics(input in "\\PC{0,30}") {
        let _ = input.parse::<TimeModifier>();
    }

    #[test]
    fn spans_longer_than_the_range_of_times_do_not_parse(span in long_span()) {
        let text = span.to_string();
        let refused = text.parse::<Span>();
        prop_assert_eq!(
            refused,
            Err(spoor_spl::ParseError::SpanTooLong { span: text.clone(), offset: 0 })
        );
        let query = format!("search | timechart span={text} count");
        prop_assert_eq!(parse(&query).map_err(|e| e.offset()), Err(24), "{}", query);
    }

    #[test]
    fn resolved_times_stay_in_the_years_0000_to_9999(
        modifier in modifier(),
        now in instant(),
        zone in zone(),
    ) {
        if let Ok(resolved) = modifier.resolve(now, zone) {
            let utc = resolved.checked_to_offset(time::UtcOffset::UTC);
            prop_assert!(
                utc.is_some_and(|t| (0..=9999).contains(&t.year())),
                "{} at {} in {} gave {}", modifier, now, zone, resolved
            );
        }
    }

    #[test]
    fn time_modifiers_resolve_without_panicking(
        modifier in modifier(),
        now in modifier(),
        zone in zone(),
    ) {
        // Any resolvable instant serves as `now`.
        if let Ok(now) = now.resolve(time::OffsetDateTime::UNIX_EPOCH, zone)
            && let Ok(resolved) = modifier.resolve(now, zone)
        {
            prop_assert_eq!(resolved.offset(), zone);
        }
    }
}
