//! Encoding is lossless, and what Splunk extracts from a line is the event's fields.

use proptest::prelude::*;
use spoor_event::extract::Extractor;
use spoor_event::{Event, HecMeta, Key, Value, clean_key, encode_lines};

use crate::strategies::{self, event, event_with, hostile_string};

fn line(event: &Event) -> String {
    let mut out = Vec::new();
    event.encode_line(&mut out);
    String::from_utf8(out).expect("lines are UTF-8")
}

/// The fields Splunk extracts from an event's line, in order, as `(name, text)`.
///
/// `auto_escaped` reads back `\"` and `\\` but not `\n` and `\r`, and a line cannot hold a raw
/// line break, so Splunk shows a line break in a value as the two characters `\n` (or `\r`).
fn splunk_view(event: &Event) -> Vec<(String, String)> {
    let text = |s: &str| s.replace('\n', "\\n").replace('\r', "\\r");
    let mut fields = vec![
        ("application".to_owned(), text(event.application())),
        ("event".to_owned(), text(event.name())),
    ];
    if let Some(id) = event.distinct_id() {
        fields.push(("distinct_id".to_owned(), text(id)));
    }
    for (key, value) in event.properties() {
        fields.push((key.field_name(), text(&value.to_string())));
    }
    fields
}

fn extracted(raw: &str) -> Vec<(String, String)> {
    Extractor::spoor()
        .fields(raw)
        .map(|f| (f.key.into_owned(), f.value.into_owned()))
        .collect()
}

proptest! {
    #![proptest_config(strategies::config())]

    #[test]
    fn decode_gives_back_the_event(event in event()) {
        let line = line(&event);
        prop_assert_eq!(Event::decode_line(&line), Ok(event), "{}", line);
    }

    #[test]
    fn a_line_never_holds_a_raw_line_break(event in event()) {
        let line = line(&event);
        prop_assert!(!line.contains(['\n', '\r']), "{}", line);
    }

    #[test]
    fn splunk_extracts_exactly_the_events_fields(
        event in event_with(hostile_string().prop_map(|s| s.replace(['\n', '\r'], "")).boxed())
    ) {
        // With no line breaks in the values, what Splunk extracts is the values themselves.
        let line = line(&event);
        let mut expected = vec![
            ("application".to_owned(), event.application().to_owned()),
            ("event".to_owned(), event.name().to_owned()),
        ];
        expected.extend(event.distinct_id().map(|id| ("distinct_id".to_owned(), id.to_owned())));
        expected.extend(event.properties().iter().map(|(k, v)| (k.field_name(), v.to_string())));
        prop_assert_eq!(extracted(&line), expected, "{}", line);
    }

    #[test]
    fn splunk_shows_line_breaks_as_escapes(event in event()) {
        let line = line(&event);
        prop_assert_eq!(extracted(&line), splunk_view(&event), "{}", line);
    }

    #[test]
    fn a_batch_splits_back_into_its_events(events in prop::collection::vec(event(), 0..5)) {
        let mut body = Vec::new();
        encode_lines(&events, &mut body);
        let body = String::from_utf8(body).expect("UTF-8");
        let decoded: Vec<_> = if events.is_empty() {
            Vec::new()
        } else {
            body.split('\n').map(Event::decode_line).collect::<Result<_, _>>().expect("decodes")
        };
        prop_assert_eq!(decoded, events);
    }

    #[test]
    fn hec_envelopes_are_json_holding_the_line(
        events in prop::collection::vec(event(), 1..4),
        index in proptest::option::of(hostile_string()),
        host in proptest::option::of(hostile_string()),
    ) {
        let meta = HecMeta { index: index.as_deref(), host: host.as_deref(), ..HecMeta::new() };
        let mut body = Vec::new();
        for event in &events {
            event.encode_hec(&meta, &mut body);
        }
        let envelopes: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::Deserializer::from_slice(&body)
                .into_iter()
                .collect::<Result<_, _>>()
                .expect("concatenated JSON objects");
        prop_assert_eq!(envelopes.len(), events.len());
        for (envelope, event) in envelopes.iter().zip(&events) {
            let expected_line = line(event);
            prop_assert_eq!(envelope["event"].as_str(), Some(expected_line.as_str()));
            prop_assert_eq!(envelope.get("index").and_then(|v| v.as_str()), index.as_deref());
            prop_assert_eq!(envelope.get("host").and_then(|v| v.as_str()), host.as_deref());
            prop_assert!(!envelope.contains_key("source") && !envelope.contains_key("sourcetype"));
            let seconds = envelope["time"].as_f64().expect("a number");
            let expected = event.time().unix_timestamp_nanos() as f64 / 1e9;
            prop_assert!((seconds - expected).abs() <= 1e-6 * expected.abs().max(1.0));
        }
    }

    #[test]
    fn key_validation_agrees_with_cleaning(key in hostile_string()) {
        let cleaned = clean_key(&key);
        prop_assert_eq!(Key::new(key.as_str()).is_ok(), !key.is_empty() && cleaned == key.as_str());
        // Cleaning gives a valid key, or nothing; and a second cleaning changes nothing.
        prop_assert!(cleaned.is_empty() || Key::new(cleaned.as_ref()).is_ok());
        prop_assert_eq!(clean_key(&cleaned), cleaned.clone());
        if let Err(err) = Key::new(key.as_str()) {
            prop_assert_eq!(err.cleaned(), cleaned.as_ref());
        }
    }

    #[test]
    fn valid_keys_are_accepted(key in strategies::key()) {
        prop_assert!(Key::new(key).is_ok());
    }

    #[test]
    fn nothing_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Event::decode_line(&text);
        let _ = Extractor::auto().fields(&text).count();
        let _ = Extractor::spoor().fields(&text).count();
        let _ = spoor_event::timestamp::parse_leading(&text);
    }

    #[test]
    fn nothing_panics_on_damaged_lines(
        event in event(),
        cut in any::<prop::sample::Index>(),
        insert in any::<char>(),
    ) {
        let line = line(&event);
        let mut at = cut.index(line.len() + 1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        let truncated = &line[..at];
        let mut damaged = line.clone();
        damaged.insert(at, insert);
        for text in [truncated, damaged.as_str()] {
            let _ = Event::decode_line(text);
            let _ = Extractor::spoor().fields(text).count();
        }
    }
}

#[test]
fn floats_keep_their_kind_and_value() {
    let at = time::macros::datetime!(2026-11-28 12:00 UTC);
    for x in [
        0.0,
        -0.0,
        1.0,
        0.1,
        1e16,
        1e-7,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
    ] {
        let event = Event::builder("a", "e", at)
            .property("x", x)
            .build()
            .expect("finite");
        let decoded = Event::decode_line(&line(&event)).expect("decodes");
        assert_eq!(decoded.property("x"), Some(&Value::Float(x)), "{x:?}");
    }
}
