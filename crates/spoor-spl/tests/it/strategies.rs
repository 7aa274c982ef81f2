//! Strategies: hostile strings, names, syntax trees and time modifiers.

use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor_event::Key;
use spoor_spl::Query;
use spoor_spl::ast::{
    Aggregate, Aggregation, Command, CompareOp, Condition, Field, FieldPattern, Fields, FieldsMode,
    Function, Head, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span, SpanUnit, Stats,
    Timechart, Where,
};
use spoor_spl::build::Index;
use spoor_spl::modifier::{Offset, Relative, Snap, TimeModifier, TimeUnit};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The property tests' settings.
pub(crate) fn config() -> ProptestConfig {
    spoor_testkit::proptest_config()
}

/// Strings made of what breaks naive quoting or changes a query's structure, or any Unicode.
pub(crate) fn hostile_string() -> BoxedStrategy<String> {
    let atom = prop_oneof![
        Just("\""),
        Just("\\"),
        Just("\\\""),
        Just("\"\\"),
        Just("|"),
        Just(" | delete"),
        Just("="),
        Just("!="),
        Just("*"),
        Just(" "),
        Just("\n"),
        Just("\t"),
        Just("'"),
        Just("`"),
        Just("["),
        Just("]"),
        Just("("),
        Just(","),
        Just(" OR "),
        Just("NOT "),
        Just(" AND "),
        Just(" by "),
        Just("event=\"x\""),
        Just("é🦀"),
    ]
    .prop_map(str::to_owned);
    prop_oneof![
        Just(String::new()),
        prop::collection::vec(prop_oneof![atom, "[a-zA-Z0-9]{1,4}"], 1..8)
            .prop_map(|parts| parts.concat()),
        "\\PC*",
        any::<String>(),
    ]
    .boxed()
}

/// A valid property key.
pub(crate) fn key() -> impl Strategy<Value = Key> {
    "[A-Za-z][A-Za-z0-9_]{0,12}".prop_map(|k| Key::new(k).expect("valid by construction"))
}

/// A valid index name.
pub(crate) fn index() -> impl Strategy<Value = Index> {
    "[a-z0-9_][a-z0-9_-]{0,12}".prop_map(|i| Index::new(i).expect("valid by construction"))
}

fn span_unit() -> impl Strategy<Value = SpanUnit> {
    prop_oneof![
        Just(SpanUnit::Second),
        Just(SpanUnit::Minute),
        Just(SpanUnit::Hour),
        Just(SpanUnit::Day),
        Just(SpanUnit::Week),
        Just(SpanUnit::Month),
    ]
}

/// A bucket span the parser reads: at most 10,000 years long.
pub(crate) fn span() -> impl Strategy<Value = Span> {
    span_unit().prop_flat_map(|unit| {
        prop_oneof![1..=unit.max_count(), Just(unit.max_count())]
            .prop_map(move |n| Span::new(NonZeroU32::new(n).expect("positive"), unit))
    })
}

/// A span longer than 10,000 years, which a tree may hold and the parser refuses.
pub(crate) fn long_span() -> impl Strategy<Value = Span> {
    span_unit()
        .prop_filter("a unit with a cap below u32::MAX", |unit| {
            unit.max_count() < u32::MAX
        })
        .prop_flat_map(|unit| {
            prop_oneof![unit.max_count() + 1..=u32::MAX, Just(unit.max_count() + 1)]
                .prop_map(move |n| Span::new(NonZeroU32::new(n).expect("positive"), unit))
        })
}

/// A valid field name, reserved words included in the candidates so they get filtered out.
pub(crate) fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just("count".to_owned()),
        Just("d".to_owned()),
        Just("desc".to_owned()),
        Just("limit".to_owned()),
        Just("span".to_owned()),
        Just("search".to_owned()),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
    ]
    .prop_filter_map("reserved word", |name| Field::new(name).ok())
}

/// A field pattern with exactly `wildcards` `*`.
fn pattern_with(wildcards: usize) -> impl Strategy<Value = FieldPattern> {
    prop::collection::vec("([A-Za-z_][A-Za-z0-9_]{0,4})?", wildcards + 1).prop_filter_map(
        "reserved word",
        move |parts| {
            // Some parts may be left empty around a `*`, as in `*`, `a*` or `*b`.
            let text = parts.join("*");
            FieldPattern::new(text).ok()
        },
    )
}

/// A field pattern with 0 to 2 wildcards.
pub(crate) fn pattern() -> impl Strategy<Value = FieldPattern> {
    (0..3usize).prop_flat_map(pattern_with)
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)]
}

fn function() -> impl Strategy<Value = Function> {
    prop_oneof![
        Just(Function::Count),
        Just(Function::DistinctCount),
        Just(Function::Sum),
        Just(Function::Avg),
        Just(Function::Min),
        Just(Function::Max),
    ]
}

/// An aggregation whose alias, if any, has as many wildcards as its field.
fn aggregation() -> impl Strategy<Value = Aggregation> {
    let count = prop::option::of(pattern_with(0)).prop_map(|alias| Aggregation {
        aggregate: Aggregate::Count,
        alias,
    });
    let apply = (0..3usize).prop_flat_map(|wildcards| {
        (
            function(),
            pattern_with(wildcards),
            prop::option::of(pattern_with(wildcards)),
        )
            .prop_map(|(function, field, alias)| Aggregation {
                aggregate: Aggregate::Apply { function, field },
                alias,
            })
    });
    prop_oneof![count, apply]
}

fn renaming() -> impl Strategy<Value = Renaming> {
    (0..3usize).prop_flat_map(|wildcards| {
        (pattern_with(wildcards), pattern_with(wildcards))
            .prop_map(|(from, to)| Renaming { from, to })
    })
}

fn command(strings: BoxedStrategy<String>) -> impl Strategy<Value = Command> {
    let condition = (field(), compare_op(), strings).prop_map(|(field, op, value)| Condition {
        field,
        op,
        value,
    });
    let where_ = prop::collection::vec(condition, 1..4)
        .prop_map(|conditions| Command::Where(Where { conditions }));
    let stats = (
        prop::collection::vec(aggregation(), 1..4),
        prop::collection::vec(field(), 0..3),
    )
        .prop_map(|(aggregations, by)| Command::Stats(Stats { aggregations, by }));
    let timechart = (
        span(),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        aggregation(),
        prop::option::of(field()),
    )
        .prop_map(|(span, limit, use_other, use_null, aggregation, by)| {
            Command::Timechart(Timechart {
                span,
                limit,
                use_other,
                use_null,
                aggregation,
                by,
            })
        });
    let rename = prop::collection::vec(renaming(), 1..3)
        .prop_map(|renamings| Command::Rename(Rename { renamings }));
    let fields = (
        prop_oneof![Just(FieldsMode::Keep), Just(FieldsMode::Remove)],
        prop::collection::vec(pattern(), 1..4),
    )
        .prop_map(|(mode, fields)| Command::Fields(Fields { mode, fields }));
    let key =
        (field(), any::<bool>()).prop_map(|(field, descending)| SortKey { field, descending });
    let sort = (
        prop::option::of(any::<u32>()),
        prop::collection::vec(key, 1..4),
    )
        .prop_map(|(limit, keys)| Command::Sort(Sort { limit, keys }));
    let head = any::<u64>().prop_map(|count| Command::Head(Head { count }));
    prop_oneof![where_, stats, timechart, rename, fields, sort, head]
}

/// Any syntax tree, its literals from `strings`.
pub(crate) fn query(strings: BoxedStrategy<String>) -> impl Strategy<Value = Query> {
    let term = (any::<bool>(), field(), compare_op(), strings.clone()).prop_map(
        |(negated, field, op, value)| SearchTerm {
            negated,
            field,
            op,
            value,
        },
    );
    (
        prop::collection::vec(term, 0..4),
        prop::collection::vec(command(strings), 0..5),
    )
        .prop_map(|(terms, commands)| Query {
            search: Search { terms },
            commands,
        })
}

/// Text made of SPL's own pieces, to reach deep into the parser.
pub(crate) fn spl_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("search"),
        Just("|"),
        Just(" "),
        Just("where"),
        Just("stats"),
        Just("timechart"),
        Just("rename"),
        Just("fields"),
        Just("sort"),
        Just("head"),
        Just("count"),
        Just("dc("),
        Just(")"),
        Just("by"),
        Just("as"),
        Just("AND"),
        Just("NOT"),
        Just("desc"),
        Just("span=1d"),
        Just("limit="),
        Just("useother=t"),
        Just("="),
        Just("!="),
        Just("=="),
        Just(","),
        Just("\""),
        Just("\\"),
        Just("'"),
        Just("*"),
        Just("-"),
        Just("+"),
        Just("a"),
        Just("_span*"),
        Just("10"),
        Just("é"),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|pieces| pieces.concat())
}

fn time_unit() -> impl Strategy<Value = TimeUnit> {
    prop_oneof![
        Just(TimeUnit::Second),
        Just(TimeUnit::Minute),
        Just(TimeUnit::Hour),
        Just(TimeUnit::Day),
        Just(TimeUnit::Week),
        Just(TimeUnit::Month),
        Just(TimeUnit::Quarter),
        Just(TimeUnit::Year),
    ]
}

fn offset() -> impl Strategy<Value = Offset> {
    (prop_oneof![-1000..1000i64, any::<i64>()], time_unit())
        .prop_map(|(amount, unit)| Offset { amount, unit })
}

pub(crate) fn snap() -> impl Strategy<Value = Snap> {
    let weekday = (0..7u8).prop_map(|n| Weekday::Sunday.nth_next(n));
    prop_oneof![
        Just(Snap::Second),
        Just(Snap::Minute),
        Just(Snap::Hour),
        Just(Snap::Day),
        weekday.prop_map(Snap::Week),
        Just(Snap::Month),
        Just(Snap::Quarter),
        Just(Snap::Year),
    ]
}

/// A UTC offset of whole seconds within ±25:59:59.
pub(crate) fn zone() -> impl Strategy<Value = UtcOffset> {
    prop_oneof![
        (-51..=51i32).prop_map(|half_hours| half_hours * 1800),
        -93_599..=93_599i32,
    ]
    .prop_map(|seconds| UtcOffset::from_whole_seconds(seconds).expect("in range"))
}

/// Any instant of the years 0001 to 9998, to the nanosecond.
pub(crate) fn instant() -> impl Strategy<Value = OffsetDateTime> {
    const FIRST: i128 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i128 = 253_370_764_799; // 9998-12-31T23:59:59Z
    (FIRST..=LAST, 0..1_000_000_000i128).prop_map(|(seconds, nanos)| {
        OffsetDateTime::from_unix_timestamp_nanos(seconds * 1_000_000_000 + nanos)
            .expect("in range by construction")
    })
}

/// Any time modifier the parser can read back.
pub(crate) fn modifier() -> impl Strategy<Value = TimeModifier> {
    let epoch = (
        prop_oneof![0..=253_402_300_799u64, any::<u64>()],
        prop_oneof![Just(0u32), 0..1_000_000_000u32],
    )
        .prop_map(|(seconds, nanos)| TimeModifier::Epoch { seconds, nanos });
    let date = (-9999..=9999i32, 1..=366u16).prop_filter_map("a day of the year", |(year, day)| {
        Date::from_ordinal_date(year, day).ok()
    });
    let clock = (
        0..24u8,
        0..60u8,
        0..60u8,
        prop_oneof![Just(0u32), 0..1_000_000_000u32],
    )
        .prop_map(|(h, m, s, n)| Time::from_hms_nano(h, m, s, n).expect("in range"));
    let iso = (date, clock, prop::option::of(zone())).prop_map(|(date, time, offset)| {
        TimeModifier::Iso {
            datetime: PrimitiveDateTime::new(date, time),
            offset,
        }
    });
    let relative = (
        prop::option::of(offset()),
        prop::option::of(snap()),
        prop::option::of(offset()),
    )
        .prop_filter_map("an offset or a snap", |(offset, snap, after)| {
            (offset.is_some() || snap.is_some()).then_some(Relative {
                offset,
                snap,
                after: snap.and(after),
            })
        })
        .prop_map(TimeModifier::Relative);
    prop_oneof![Just(TimeModifier::Now), epoch, iso, relative]
}
