//! Strategies: hostile strings, names, syntax trees and time modifiers.

use std::num::NonZeroU32;

use proptest::prelude::*;
use spoor_event::Key;
use spoor_spl::Query;
use spoor_spl::ast::{
    Aggregate, Aggregation, Bin, BinSpan, BinaryOp, Command, CompareOp, Condition, Dedup, Eval,
    EvalFunction, Eventstats, Expr, Field, FieldName, FieldPattern, Fields, FieldsMode, Function,
    Head, LogicOp, Number, Percentile, Rename, Renaming, Search, SearchTerm, Sort, SortKey, Span,
    SpanUnit, Stats, Streamstats, Timechart, UnaryOp, Where,
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

/// Any percentile: above 0 and below 100, in millionths.
pub(crate) fn percentile() -> impl Strategy<Value = Percentile> {
    prop_oneof![
        (1..100u32).prop_map(|p| p * 1_000_000),
        1..100_000_000u32,
        Just(1u32),
        Just(99_999_999u32),
    ]
    .prop_map(|m| Percentile::from_millionths(m).expect("in range by construction"))
}

fn function() -> impl Strategy<Value = Function> {
    prop_oneof![
        Just(Function::Count),
        Just(Function::DistinctCount),
        Just(Function::Sum),
        Just(Function::Avg),
        Just(Function::Min),
        Just(Function::Max),
        Just(Function::Median),
        percentile().prop_map(Function::Perc),
        percentile().prop_map(Function::ExactPerc),
        percentile().prop_map(Function::UpperPerc),
        Just(Function::Values),
        Just(Function::Earliest),
        Just(Function::Latest),
        Just(Function::First),
        Just(Function::Last),
        Just(Function::Range),
        Just(Function::Stdev),
    ]
}

/// A valid expression field name made from any string: the characters no quoted name may
/// hold are dropped (an empty result is `x`), so hostile text still reaches the printer.
pub(crate) fn field_name(strings: BoxedStrategy<String>) -> impl Strategy<Value = FieldName> {
    let made = strings.prop_map(|s| {
        let kept: String = s
            .chars()
            .filter(|&c| !c.is_control() && !matches!(c, '\'' | '"' | '\\' | '|' | '[' | ']' | '`'))
            .collect();
        FieldName::new(if kept.is_empty() {
            "x".to_owned()
        } else {
            kept
        })
        .expect("valid by construction")
    });
    let words = prop_oneof![
        Just("true"),
        Just("NULL"),
        Just("False"),
        Just("AND"),
        Just("in"),
        Just("like"),
        Just("if"),
        Just("by"),
        Just("relative_time"),
        Just("_time"),
        Just("5minutes"),
        Just("a.b"),
        Just("a-b"),
    ]
    .prop_map(|w| FieldName::new(w).expect("valid"));
    prop_oneof![field().prop_map(FieldName::from), words, made]
}

fn number() -> impl Strategy<Value = Number> {
    "[0-9]{1,5}(\\.[0-9]{1,4})?".prop_map(|t| Number::new(t).expect("valid by construction"))
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    prop::sample::select(vec![
        BinaryOp::Add,
        BinaryOp::Subtract,
        BinaryOp::Multiply,
        BinaryOp::Divide,
        BinaryOp::Modulo,
        BinaryOp::Concat,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ])
}

/// How many arguments to give `function`: any count it takes, up to a few.
fn argument_count(function: EvalFunction) -> BoxedStrategy<usize> {
    (0..7usize)
        .prop_filter("a count the function takes", move |&n| function.takes(n))
        .boxed()
}

/// A relative time modifier (what `relative_time` takes).
pub(crate) fn relative() -> impl Strategy<Value = Relative> {
    (
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
}

/// Any expression of a few levels, its strings and field names from `strings`.
pub(crate) fn expr(strings: BoxedStrategy<String>) -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        number().prop_map(Expr::Number),
        strings.clone().prop_map(Expr::String),
        field_name(strings).prop_map(Expr::Field),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        let called = inner.clone();
        let call =
            prop::sample::select(EvalFunction::ALL.to_vec()).prop_flat_map(move |function| {
                let inner = called.clone();
                argument_count(function).prop_flat_map(move |n| {
                    prop::collection::vec(inner.clone(), n)
                        .prop_map(move |args| Expr::call(function, args))
                })
            });
        prop_oneof![
            (
                prop_oneof![Just(UnaryOp::Negate), Just(UnaryOp::Not)],
                inner.clone()
            )
                .prop_map(|(op, e)| Expr::unary(op, e)),
            (binary_op(), inner.clone(), inner.clone())
                .prop_map(|(op, left, right)| Expr::binary(op, left, right)),
            (
                prop_oneof![Just(LogicOp::And), Just(LogicOp::Or), Just(LogicOp::Xor)],
                prop::collection::vec(inner.clone(), 2..4)
            )
                .prop_map(|(op, operands)| Expr::Logic { op, operands }),
            call,
            (inner, relative()).prop_map(|(time, modifier)| Expr::relative_time(time, modifier)),
        ]
    })
    .boxed()
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
    let condition = (field(), compare_op(), strings.clone())
        .prop_map(|(field, op, value)| Condition { field, op, value });
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
    let where_expr = expr(strings.clone()).prop_map(Command::where_);
    let eval = prop::collection::vec((field(), expr(strings)), 1..3)
        .prop_map(|assignments| Command::Eval(Eval::new(assignments)));
    let eventstats = (
        prop::collection::vec(aggregation(), 1..4),
        prop::collection::vec(field(), 0..3),
    )
        .prop_map(|(aggregations, by)| Command::Eventstats(Eventstats { aggregations, by }));
    let streamstats = (
        prop::option::of(any::<bool>()),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<bool>()),
        prop::collection::vec(aggregation(), 1..3),
        prop::collection::vec(field(), 0..3),
    )
        .prop_map(|(current, window, global, aggregations, by)| {
            Command::Streamstats(Streamstats {
                current,
                window,
                global,
                aggregations,
                by,
            })
        });
    let bin_span = prop_oneof![
        span().prop_map(BinSpan::Time),
        number()
            .prop_filter("a positive number", |n| !n.is_zero())
            .prop_map(BinSpan::Number),
    ];
    let bin = (bin_span, field(), prop::option::of(field()))
        .prop_map(|(span, field, alias)| Command::Bin(Bin { span, field, alias }));
    let dedup = (
        prop::option::of(1..=u32::MAX),
        prop::collection::vec(
            prop_oneof![field(), Just(Field::new("sortby").expect("valid"))],
            1..4,
        ),
    )
        .prop_map(|(count, fields)| {
            Command::Dedup(Dedup {
                count: count.and_then(NonZeroU32::new),
                fields,
            })
        });
    prop_oneof![
        where_,
        where_expr,
        eval,
        stats,
        eventstats,
        streamstats,
        timechart,
        bin,
        rename,
        fields,
        sort,
        dedup,
        head
    ]
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
        // Expressions and the commands after the first step of issue 14.
        Just("eval"),
        Just("x="),
        Just("("),
        Just("+"),
        Just("*"),
        Just("/"),
        Just("%"),
        Just("."),
        Just("<"),
        Just(">="),
        Just("!"),
        Just("1.5"),
        Just("if("),
        Just("case("),
        Just("coalesce("),
        Just("in("),
        Just("relative_time("),
        Just("\"-7d@d\""),
        Just("null()"),
        Just("true"),
        Just("OR"),
        Just("XOR"),
        Just("IN"),
        Just("LIKE"),
        Just("'a b'"),
        Just("_time"),
        Just("bin"),
        Just("span=10"),
        Just("eventstats"),
        Just("streamstats"),
        Just("window=2"),
        Just("current=f"),
        Just("dedup"),
        Just("sortby"),
        Just("perc99("),
        Just("p50("),
        Just("median("),
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
