//! Turning received text into events: line breaking and timestamp recognition, per sourcetype.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use regex::Regex;
use spoor_event::extract::Extractor;
use spoor_event::timestamp::parse_leading;
use time::{OffsetDateTime, UtcOffset};

use crate::store::time_micros;

/// Splunk's default `LINE_BREAKER`.
const DEFAULT_LINE_BREAKER: &str = r"([\r\n]+)";
/// Splunk's default `TRUNCATE`, in bytes.
const DEFAULT_TRUNCATE: usize = 10_000;

/// An event to store: its time in microseconds since the Unix epoch and its text.
pub(crate) type Timed<'a> = (i64, &'a str);

/// How one sourcetype's text is cut into events, from its props.
#[derive(Debug, Clone)]
pub(crate) struct Parsing {
    /// `None` for the default breaker, which needs no regex.
    breaker: Option<Regex>,
    /// Events longer than this are cut, as Splunk does (`0`: never).
    truncate: usize,
    /// The zone of timestamps written without one (`TZ`).
    zone: UtcOffset,
    /// Search-time field extraction (`KV_MODE`, `KV_TRIM_SPACES`).
    pub(crate) extractor: Extractor,
}

/// A props setting the engine cannot follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropsError {
    /// The setting.
    pub setting: String,
    /// What is wrong with its value.
    pub reason: String,
}

impl fmt::Display for PropsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "props setting {}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for PropsError {}

impl Default for Parsing {
    fn default() -> Self {
        Self {
            breaker: None,
            truncate: DEFAULT_TRUNCATE,
            zone: UtcOffset::UTC,
            extractor: Extractor::auto(),
        }
    }
}

impl Parsing {
    /// The parsing a stanza's settings ask for; settings the engine has no use for are ignored.
    pub(crate) fn from_props(props: &BTreeMap<String, String>) -> Result<Self, PropsError> {
        let mut parsing = Self::default();
        if let Some(breaker) = props.get("LINE_BREAKER")
            && breaker != DEFAULT_LINE_BREAKER
        {
            let regex = Regex::new(breaker).map_err(|err| PropsError {
                setting: "LINE_BREAKER".into(),
                reason: format!("not a valid regex: {err}"),
            })?;
            if regex.captures_len() < 2 {
                return Err(PropsError {
                    setting: "LINE_BREAKER".into(),
                    reason: "needs a capturing group, whose text falls between events".into(),
                });
            }
            parsing.breaker = Some(regex);
        }
        if let Some(truncate) = props.get("TRUNCATE") {
            parsing.truncate = truncate.trim().parse().map_err(|_| PropsError {
                setting: "TRUNCATE".into(),
                reason: format!("{truncate:?} is not a whole number of bytes"),
            })?;
        }
        if let Some(zone) = props.get("TZ") {
            parsing.zone = parse_zone(zone).ok_or_else(|| PropsError {
                setting: "TZ".into(),
                reason: format!("{zone:?} is not UTC or an offset like +02:00"),
            })?;
        }
        let setting = |name: &str| props.get(name).map(|v| v.trim().to_ascii_lowercase());
        let extractor = match setting("KV_MODE").as_deref() {
            Some("auto_escaped") => Extractor::auto_escaped(),
            _ => Extractor::auto(),
        };
        parsing.extractor = extractor.trim_spaces(!matches!(
            setting("KV_TRIM_SPACES").as_deref(),
            Some("false" | "0")
        ));
        Ok(parsing)
    }

    /// The parsing of a sourcetype with these props (if any); a stanza the engine cannot
    /// follow (only a catalog edited by hand has one) is read with the defaults.
    pub(crate) fn of(props: Option<&BTreeMap<String, String>>) -> Self {
        props
            .and_then(|props| Self::from_props(props).ok())
            .unwrap_or_default()
    }

    /// How much of `text`, the start of a stream, is whole events: the bytes before the last
    /// event, which may go on in what is still to come. Cutting a stream there and cutting each
    /// part into events gives the events of the whole (`0` when the text may be one event yet).
    pub(crate) fn whole_len(&self, text: &str) -> usize {
        match &self.breaker {
            // Up to the last line break: a line after it may still be growing.
            None => text.rfind(['\r', '\n']).map_or(0, |i| i + 1),
            // Where the last event starts.
            Some(_) => self
                .split(text)
                .0
                .last()
                .map_or(0, |last| last.as_ptr() as usize - text.as_ptr() as usize),
        }
    }

    /// Cuts `text` into events: the text between line breaks, without empty ones. The second
    /// value counts the events cut to `TRUNCATE`.
    pub(crate) fn split<'a>(&self, text: &'a str) -> (Vec<&'a str>, usize) {
        let mut events = Vec::new();
        let mut push = |event: &'a str| {
            if !event.trim().is_empty() {
                events.push(event);
            }
        };
        match &self.breaker {
            None => text.split(['\r', '\n']).for_each(&mut push),
            Some(regex) => {
                let mut start = 0;
                for captures in regex.captures_iter(text) {
                    let Some(group) = captures.get(1) else {
                        continue;
                    };
                    push(&text[start..group.start()]);
                    start = group.end();
                }
                push(&text[start..]);
            }
        }
        let mut truncated = 0;
        if self.truncate > 0 {
            for event in &mut events {
                if event.len() > self.truncate {
                    let mut end = self.truncate;
                    while !event.is_char_boundary(end) {
                        end -= 1;
                    }
                    *event = &event[..end];
                    truncated += 1;
                }
            }
        }
        (events, truncated)
    }

    /// The events of `text` (see [`split`](Self::split)), each with its time in microseconds
    /// (see [`time`](Self::time)); the second value counts the events cut to `TRUNCATE`.
    pub(crate) fn events<'a>(
        &self,
        text: &'a str,
        arrival: OffsetDateTime,
    ) -> (Vec<Timed<'a>>, usize) {
        let (events, truncated) = self.split(text);
        let timed = events
            .into_iter()
            .map(|raw| (time_micros(self.time(raw, arrival)), raw))
            .collect();
        (timed, truncated)
    }

    /// The event's time: a timestamp at its start (ISO 8601 as spoor and the Python tracker wrote
    /// it, or epoch seconds), else `arrival`.
    pub(crate) fn time(&self, event: &str, arrival: OffsetDateTime) -> OffsetDateTime {
        if let Some(stamp) = parse_leading(event) {
            return stamp.assume_offset(self.zone);
        }
        epoch_prefix(event).unwrap_or(arrival)
    }
}

/// `1764331200` or `1764331200.123` at the start of an event (ten digits: 2001 to 2286).
fn epoch_prefix(event: &str) -> Option<OffsetDateTime> {
    let b = event.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 10 {
        return None;
    }
    let seconds: i64 = event[..10].parse().ok()?;
    let mut end = 10;
    let mut nanos = 0i64;
    if b.get(10) == Some(&b'.') {
        let frac = b[11..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        let used = frac.min(9);
        nanos = event[11..11 + used].parse::<i64>().ok()? * 10i64.pow(9 - used as u32);
        end = 11 + frac;
    }
    if b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(seconds) * 1_000_000_000 + i128::from(nanos),
    )
    .ok()
}

fn parse_zone(zone: &str) -> Option<UtcOffset> {
    let zone = zone.trim();
    if matches!(zone, "UTC" | "GMT" | "Z" | "Etc/UTC") {
        return Some(UtcOffset::UTC);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest
        .split_once(':')
        .unwrap_or((rest.get(..2)?, rest.get(2..)?));
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = if minutes.is_empty() {
        0
    } else {
        minutes.parse().ok()?
    };
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

/// The extraction of `sourcetype` from `cache`, made by `make` the first time it is asked for
/// (the sourcetypes of a run of records are few; their props are read once each).
pub(crate) fn cached_extractor(
    cache: &mut HashMap<String, Extractor>,
    sourcetype: &str,
    make: impl FnOnce() -> Extractor,
) -> Extractor {
    if let Some(&extractor) = cache.get(sourcetype) {
        return extractor;
    }
    *cache.entry(sourcetype.to_owned()).or_insert_with(make)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn default_breaking_is_one_event_per_line() {
        let (events, cut) = Parsing::default().split("a=1\r\nb=2\n\n\nc=3\n  \n");
        assert_eq!((events, cut), (vec!["a=1", "b=2", "c=3"], 0));
    }

    #[test]
    fn the_python_trackers_breaker_keeps_multiline_events_whole() {
        let parsing = Parsing::from_props(&props(&[(
            "LINE_BREAKER",
            r"(\r\n-----end-event-----\r\n)",
        )]))
        .unwrap();
        let (events, _) = parsing
            .split("one\nline two\r\n-----end-event-----\r\nthree\r\n-----end-event-----\r\n");
        assert_eq!(events, ["one\nline two", "three"]);
    }

    proptest::proptest! {
        /// A stream cut where `whole_len` says, its parts cut into events, gives the events of
        /// the whole text, whatever pieces it arrives in, with the default breaker and a regex.
        #[test]
        fn a_stream_cut_at_whole_events_gives_the_same_events(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "b=1", " ", "\r", "\n", "\r\n", "é", "\r\n-----end-event-----\r\n",
                    "-----end",
                ]),
                0..60,
            ),
            reads in proptest::collection::vec(1usize..12, 1..20),
            regex in proptest::bool::ANY,
        ) {
            let parsing = if regex {
                Parsing::from_props(&props(&[(
                    "LINE_BREAKER",
                    r"(\r\n-----end-event-----\r\n)",
                )]))
                .unwrap()
            } else {
                Parsing::default()
            };
            let text: String = parts.concat();
            let chars: Vec<char> = text.chars().collect();
            let mut got: Vec<String> = Vec::new();
            let mut pending = String::new();
            let mut at = 0;
            for n in reads.iter().cycle() {
                if at >= chars.len() {
                    break;
                }
                let end = (at + n).min(chars.len());
                pending.extend(&chars[at..end]);
                at = end;
                let whole = parsing.whole_len(&pending);
                got.extend(parsing.split(&pending[..whole]).0.into_iter().map(str::to_owned));
                pending.drain(..whole);
            }
            got.extend(parsing.split(&pending).0.into_iter().map(str::to_owned));
            let want: Vec<String> =
                parsing.split(&text).0.into_iter().map(str::to_owned).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn bad_props_are_refused_with_the_reason() {
        let err = Parsing::from_props(&props(&[("LINE_BREAKER", "[\\r\\n]+")])).unwrap_err();
        assert!(err.to_string().contains("capturing group"), "{err}");
        let err = Parsing::from_props(&props(&[("LINE_BREAKER", "(")])).unwrap_err();
        assert!(err.to_string().contains("not a valid regex"), "{err}");
        let err = Parsing::from_props(&props(&[("TZ", "Mars/Olympus")])).unwrap_err();
        assert!(err.to_string().contains("TZ"), "{err}");
    }

    #[test]
    fn long_events_are_truncated_as_splunk_does() {
        let parsing = Parsing::from_props(&props(&[("TRUNCATE", "4")])).unwrap();
        assert_eq!(parsing.split("abcdef\néééé"), (vec!["abcd", "éé"], 2));
        let parsing = Parsing::from_props(&props(&[("TRUNCATE", "0")])).unwrap();
        assert_eq!(parsing.split("abcdef"), (vec!["abcdef"], 0));
    }

    #[test]
    fn timestamps_are_recognised() {
        let arrival = datetime!(2030-01-01 00:00 UTC);
        let parsing = Parsing::default();
        let cases = [
            (
                "2026-11-28T12:00:00.123456Z application=\"a\"",
                datetime!(2026-11-28 12:00:00.123456 UTC),
            ),
            (
                "2011-08-08T11:45:17.735045 application=\"myapp\"",
                datetime!(2011-08-08 11:45:17.735045 UTC),
            ),
            ("1795867200 a=1", datetime!(2026-11-28 12:00 UTC)),
            ("1795867200.25 a=1", datetime!(2026-11-28 12:00:00.25 UTC)),
            ("17958672001 a=1", arrival),
            ("1795867200abc", arrival),
            ("no time here", arrival),
        ];
        for (event, expected) in cases {
            assert_eq!(parsing.time(event, arrival), expected, "{event}");
        }
        let zoned = Parsing::from_props(&props(&[("TZ", "-07:00")])).unwrap();
        assert_eq!(
            zoned.time("2011-08-08T11:45:17 x", arrival),
            datetime!(2011-08-08 18:45:17 UTC)
        );
    }
}
