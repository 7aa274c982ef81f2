//! Strategies for arbitrary events, biased towards what breaks quoting.

use proptest::prelude::*;
use spoor_event::{Event, Value};
use time::OffsetDateTime;

/// The property tests' settings.
pub(crate) fn config() -> ProptestConfig {
    spoor_testkit::proptest_config()
}

/// Strings made of the pieces that break naive quoting, or any Unicode at all.
pub(crate) fn hostile_string() -> BoxedStrategy<String> {
    let atom = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\\\"".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("  ".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\t".to_owned()),
        Just("'".to_owned()),
        Just(",".to_owned()),
        Just("analytics_prop__x=\"y\"".to_owned()),
        Just("event=\"evil\"".to_owned()),
        Just("2026-11-28T12:00:00Z".to_owned()),
        Just("é🦀".to_owned()),
        "[a-z]{1,5}",
    ];
    prop_oneof![
        prop::collection::vec(atom, 0..8).prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
    .boxed()
}

/// A valid property key.
pub(crate) fn key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,12}"
}

pub(crate) fn value(strings: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    prop_oneof![
        3 => strings.prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::Int),
        1 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
    .boxed()
}

/// Any instant of the years 0000 to 9999, to the microsecond.
pub(crate) fn time() -> impl Strategy<Value = OffsetDateTime> {
    const FIRST: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    (FIRST..=LAST, 0..1_000_000i64).prop_map(|(seconds, micros)| {
        OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(seconds) * 1_000_000_000 + i128::from(micros) * 1_000,
        )
        .expect("in range by construction")
    })
}

/// Events whose strings come from `strings`.
pub(crate) fn event_with(strings: BoxedStrategy<String>) -> impl Strategy<Value = Event> {
    (
        strings.clone(),
        strings.clone(),
        proptest::option::of(strings.clone()),
        time(),
        prop::collection::vec((key(), value(strings)), 0..6),
    )
        .prop_map(|(application, name, distinct_id, time, mut properties)| {
            let mut seen = std::collections::HashSet::new();
            properties.retain(|(k, _)| seen.insert(k.clone()));
            let mut builder = Event::builder(application, name, time).properties(properties);
            if let Some(id) = distinct_id {
                builder = builder.distinct_id(id);
            }
            builder.build().expect("valid by construction")
        })
}

pub(crate) fn event() -> impl Strategy<Value = Event> {
    event_with(hostile_string())
}
