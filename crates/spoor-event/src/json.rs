//! An event written as JSON, `{"application", "event", "distinct_id", "properties": {…},
//! "time"}` (feature `json`): the shape spoor's dashboard takes at `/api/track` and the
//! `spoor` command line imports as JSON lines.
//!
//! `distinct_id`, `properties` and `time` may be left out; `time` is Unix seconds or RFC 3339
//! text, and the caller's `now` when left out. Properties keep the order written, a key given
//! twice is refused by [`Event`]'s own rules (naming it), and values are strings, numbers or
//! booleans; `null`, lists and objects are refused with what to send instead. Unknown fields
//! are refused (a misspelt `propertis` would otherwise lose every property).
//!
//! ```
//! use spoor_event::json::JsonEvent;
//! use spoor_event::Value;
//! use time::macros::datetime;
//!
//! let now = datetime!(2026-12-01 12:00 UTC);
//! let event = JsonEvent::parse(
//!     br#"{"application":"shop","event":"signup","distinct_id":"u1","properties":{"plan":"pro","seats":3}}"#,
//!     now,
//! )?;
//! assert_eq!((event.application(), event.name(), event.time()), ("shop", "signup", now));
//! assert_eq!(event.property("seats"), Some(&Value::Int(3)));
//!
//! let err = JsonEvent::parse(br#"{"application":"shop","event":""}"#, now).unwrap_err();
//! assert_eq!(err.to_string(), "`event` is empty; give it a name");
//! # Ok::<(), spoor_event::json::JsonError>(())
//! ```

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{Event, EventError, Value};

/// One event as written in JSON, before [`Event`]'s checks; read it with serde (alone or in
/// a larger document), then make the event with [`JsonEvent::into_event`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonEvent {
    application: String,
    event: String,
    #[serde(default)]
    distinct_id: Option<String>,
    #[serde(default)]
    properties: Properties,
    #[serde(default)]
    time: Option<When>,
}

/// Why a JSON event makes no [`Event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JsonError {
    /// The text is not JSON of an event's shape (serde's message, with its line and column).
    Syntax(String),
    /// `application`, `event` or `distinct_id` is the empty string.
    Empty {
        /// The field.
        field: &'static str,
    },
    /// `time` is no time an event line can hold.
    Time(String),
    /// The event breaks one of [`Event`]'s rules (a key, a float, its length).
    Event(EventError),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(message) | Self::Time(message) => f.write_str(message),
            Self::Empty { field } => write!(f, "`{field}` is empty; give it a name"),
            Self::Event(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for JsonError {}

impl JsonEvent {
    /// Reads one event from JSON text and makes it, its time `now` when it gives none.
    ///
    /// # Errors
    ///
    /// [`JsonError::Syntax`] for text of another shape, else as [`JsonEvent::into_event`].
    pub fn parse(text: &[u8], now: OffsetDateTime) -> Result<Event, JsonError> {
        let incoming: Self =
            serde_json::from_slice(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
        incoming.into_event(now, Duration::ZERO)
    }

    /// The application, as written.
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The event's name, as written.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The user's id, as written.
    pub fn distinct_id(&self) -> Option<&str> {
        self.distinct_id.as_deref()
    }

    /// The [`Event`]: its time as written moved by `skew` (the sender's clock's error, zero
    /// for none), or `now` when it gives none.
    ///
    /// # Errors
    ///
    /// [`JsonError::Empty`] for an empty name, [`JsonError::Time`] for a time out of range,
    /// [`JsonError::Event`] for what [`Event`]'s builder refuses.
    pub fn into_event(self, now: OffsetDateTime, skew: Duration) -> Result<Event, JsonError> {
        for (field, text) in [
            ("application", Some(&self.application)),
            ("event", Some(&self.event)),
            ("distinct_id", self.distinct_id.as_ref()),
        ] {
            if text.is_some_and(String::is_empty) {
                return Err(JsonError::Empty { field });
            }
        }
        let out_of_range = || JsonError::Time("`time` is out of range".to_owned());
        let time = match self.time {
            None => now,
            Some(When::Seconds(s)) => unix_seconds(s)
                .ok_or_else(|| {
                    JsonError::Time(format!("`time` {s} is not a time in Unix seconds"))
                })?
                .checked_add(skew)
                .ok_or_else(out_of_range)?,
            Some(When::Text(text)) => OffsetDateTime::parse(&text, &Rfc3339)
                .map_err(|_| {
                    JsonError::Time(format!(
                        "`time` {text:?} is not RFC 3339 (like 2026-11-28T12:00:00.5Z)"
                    ))
                })?
                .checked_add(skew)
                .ok_or_else(out_of_range)?,
        };
        let mut builder =
            Event::builder(self.application, self.event, time).properties(self.properties.0);
        if let Some(id) = self.distinct_id {
            builder = builder.distinct_id(id);
        }
        builder.build().map_err(JsonError::Event)
    }
}

/// The instant `s` Unix seconds name, to the microsecond, if an event line can write it
/// (years 1970 to 9999).
///
/// ```
/// use spoor_event::json::unix_seconds;
/// use time::macros::datetime;
///
/// assert_eq!(unix_seconds(1764331200.25), Some(datetime!(2025-11-28 12:00:00.25 UTC)));
/// assert_eq!(unix_seconds(-1.0), None);
/// ```
pub fn unix_seconds(s: f64) -> Option<OffsetDateTime> {
    const MAX: f64 = 253_402_300_799.0;
    if !(0.0..=MAX).contains(&s) {
        return None;
    }
    #[allow(
        clippy::cast_possible_truncation,
        reason = "within 0 and 253,402,300,799 seconds, the microseconds fit an i128 exactly"
    )]
    let micros = (s * 1e6).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()
}

/// A time as sent: Unix seconds or RFC 3339.
#[derive(Debug, Deserialize)]
#[serde(untagged, expecting = "a time: Unix seconds, or RFC 3339 text")]
enum When {
    Seconds(f64),
    Text(String),
}

/// Properties in the order sent, keys given twice kept (the builder refuses them, by name).
#[derive(Debug, Default)]
struct Properties(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Props;
        impl<'de> Visitor<'de> for Props {
            type Value = Properties;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of properties")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Properties, A::Error> {
                let mut props = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map
                        .next_value::<Scalar>()
                        .map_err(|e| de::Error::custom(format!("property {key:?}: {e}")))?;
                    props.push((key, value.0));
                }
                Ok(Properties(props))
            }
        }
        deserializer.deserialize_map(Props)
    }
}

/// A property's value: a string, a number or a boolean.
struct Scalar(Value);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Scalars;
        impl<'de> Visitor<'de> for Scalars {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(Value::String(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar(Value::String(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(Value::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(Value::Int(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                i64::try_from(v).map(|v| Scalar(Value::Int(v))).map_err(|_| {
                    E::custom(format!(
                        "{v} is past the largest whole number spoor keeps (2^63 - 1); send it as a string"
                    ))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(Value::Float(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Err(E::custom(
                    "null is not a value; leave the property out instead",
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Scalar, A::Error> {
                Err(de::Error::custom(
                    "a list is not a value; send a string, a number or a boolean",
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Scalar, A::Error> {
                Err(de::Error::custom(
                    "an object is not a value; send a string, a number or a boolean (or flatten it into keys)",
                ))
            }
        }
        deserializer.deserialize_any(Scalars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    #[test]
    fn reads_typed_properties_in_order_and_both_kinds_of_time() {
        let e = JsonEvent::parse(
            br#"{"application":"shop","event":"buy","properties":{"plan":"pro","seats":3,"price":9.5,"trial":true},"time":1764331200.25}"#,
            NOW,
        )
        .unwrap();
        let keys: Vec<_> = e.properties().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["plan", "seats", "price", "trial"]);
        assert_eq!(e.property("price"), Some(&Value::Float(9.5)));
        assert_eq!(e.time(), datetime!(2025-11-28 12:00:00.25 UTC));
        let e = JsonEvent::parse(
            br#"{"application":"a","event":"x","time":"2026-11-28T12:00:00Z"}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(e.time(), datetime!(2026-11-28 12:00 UTC));
    }

    #[test]
    fn every_mistake_says_what_is_wrong() {
        for (body, says) in [
            ("", "EOF"),
            (r#"{"event":"x"}"#, "missing field `application`"),
            (
                r#"{"application":"a","event":"x","propertis":{}}"#,
                "unknown field `propertis`",
            ),
            (
                r#"{"application":"a","event":"x","distinct_id":""}"#,
                "`distinct_id` is empty",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":1,"k":2}}"#,
                "given twice",
            ),
            (
                r#"{"application":"a","event":"x","properties":{"k":null}}"#,
                "null is not a value",
            ),
            (
                r#"{"application":"a","event":"x","time":-5}"#,
                "not a time in Unix seconds",
            ),
            (
                r#"{"application":"a","event":"x","time":"yesterday"}"#,
                "not RFC 3339",
            ),
        ] {
            let message = JsonEvent::parse(body.as_bytes(), NOW)
                .unwrap_err()
                .to_string();
            assert!(message.contains(says), "{body}: {message}");
        }
    }
}
