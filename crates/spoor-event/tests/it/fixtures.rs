//! Recorded lines under `fixtures/events/`.

use spoor_event::extract::Extractor;
use spoor_event::{Event, Value};
use time::macros::datetime;

/// Lines exactly as the original Python tracker (`AnalyticsTracker.track`) wrote them.
const PYTHON_TRACKER: &str = include_str!("../fixtures/python-tracker.log");
/// spoor's own lines, one per kind of case.
const SPOOR: &str = include_str!("../fixtures/spoor.log");

#[test]
fn every_python_tracker_line_decodes() {
    let events: Vec<Event> = PYTHON_TRACKER
        .lines()
        .map(|line| Event::decode_line(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect();
    assert_eq!(events.len(), 5);

    let login = &events[0];
    assert_eq!(login.time(), datetime!(2011-08-08 11:45:17.735045 UTC));
    assert_eq!((login.application(), login.name()), ("myapp", "login"));
    assert_eq!(login.distinct_id(), Some("42"));
    assert_eq!(login.property("username"), Some(&Value::from("bob")));
    assert_eq!(
        login.property("useragent"),
        Some(&Value::from("Mozilla/5.0 (X11)"))
    );

    // No properties: the line ends in `"  `.
    assert!(events[1].properties().is_empty());
    assert_eq!(events[1].distinct_id(), None);
    // isoformat() leaves out a zero fraction.
    assert_eq!(events[2].time(), datetime!(2011-08-09 00:00:00 UTC));
    // `%s` of non-strings, and `'` where a `"` was.
    assert_eq!(events[3].property("count"), Some(&Value::from("3")));
    assert_eq!(events[3].property("admin"), Some(&Value::from("True")));
    assert_eq!(events[3].property("missing"), Some(&Value::from("None")));
    assert_eq!(
        events[4].property("quote"),
        Some(&Value::from("he said 'hi'"))
    );
}

#[test]
fn splunk_reads_the_python_trackers_lines_too() {
    let fields: Vec<_> = Extractor::auto()
        .fields(PYTHON_TRACKER.lines().next().expect("a line"))
        .map(|f| (f.key.into_owned(), f.value.into_owned()))
        .collect();
    let names: Vec<_> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "application",
            "event",
            "distinct_id",
            "analytics_prop__username",
            "analytics_prop__useragent"
        ]
    );
}

#[test]
fn spoor_lines_decode_and_encode_back_byte_for_byte() {
    for line in SPOOR.lines() {
        let event = Event::decode_line(line).unwrap_or_else(|err| panic!("{line}: {err}"));
        let mut again = Vec::new();
        event.encode_line(&mut again);
        assert_eq!(String::from_utf8(again).expect("UTF-8"), line);
    }
}
