//! The event model.

use std::fmt;

use time::{OffsetDateTime, UtcOffset};

use crate::encode::{self, MAX_LINE_BYTES};
use crate::key::{Key, KeyError};
use crate::value::Value;

/// One analytics event: who did what, in which application, when, with which properties.
///
/// Build one with [`Event::builder`]. Every event can be written as spoor's raw line
/// ([`encode_line`](Event::encode_line)) or as an HEC envelope
/// ([`encode_hec`](Event::encode_hec)), and read back from the line
/// ([`decode_line`](Event::decode_line)) unchanged.
///
/// The time is the caller's: this crate has no clock. It is kept in UTC with microsecond
/// precision, which is what the line holds; finer digits are dropped when the event is built.
///
/// ```
/// use spoor_event::{Event, Value};
/// use time::macros::datetime;
///
/// let event = Event::builder("shop", "purchase", datetime!(2026-11-28 12:00 UTC))
///     .distinct_id("u42")
///     .property("plan", "pro")
///     .property("seats", 3)
///     .build()?;
///
/// assert_eq!(event.application(), "shop");
/// assert_eq!(event.property("seats"), Some(&Value::Int(3)));
/// # Ok::<(), spoor_event::EventError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    application: String,
    name: String,
    distinct_id: Option<String>,
    time: OffsetDateTime,
    properties: Vec<(Key, Value)>,
}

impl Event {
    /// Starts an event of `application` named `name` (`login`, `purchase`, …) at `time`.
    pub fn builder(
        application: impl Into<String>,
        name: impl Into<String>,
        time: OffsetDateTime,
    ) -> EventBuilder {
        EventBuilder {
            application: application.into(),
            name: name.into(),
            distinct_id: None,
            time,
            properties: Vec::new(),
        }
    }

    /// Checks and assembles an event from parts that already hold validated keys.
    pub(crate) fn from_parts(
        application: String,
        name: String,
        distinct_id: Option<String>,
        time: OffsetDateTime,
        properties: Vec<(Key, Value)>,
    ) -> Result<Self, EventError> {
        let time = normalize_time(time)?;
        for (i, (key, value)) in properties.iter().enumerate() {
            if let Value::Float(x) = value
                && !x.is_finite()
            {
                return Err(EventError::NonFiniteFloat {
                    key: key.as_str().to_owned(),
                    value: *x,
                });
            }
            if properties[..i].iter().any(|(k, _)| k == key) {
                return Err(EventError::DuplicateKey {
                    key: key.as_str().to_owned(),
                });
            }
        }
        let event = Self {
            application,
            name,
            distinct_id,
            time,
            properties,
        };
        event.check_length()?;
        Ok(event)
    }

    /// Refuses events whose line would be longer than Splunk keeps (see [`MAX_LINE_BYTES`]).
    fn check_length(&self) -> Result<(), EventError> {
        // Escaping at most doubles a string and a number is at most 24 bytes, so most events are
        // cleared by this bound without encoding anything.
        let strings = self.application.len()
            + self.name.len()
            + self.distinct_id.as_ref().map_or(0, String::len)
            + self
                .properties
                .iter()
                .map(|(k, v)| k.as_str().len() + v.as_str().map_or(0, |s| 2 * s.len()))
                .sum::<usize>();
        let bound = 2 * strings
            + encode::FIXED_OVERHEAD
            + self.properties.len() * encode::PROPERTY_OVERHEAD;
        if bound <= MAX_LINE_BYTES {
            return Ok(());
        }
        let mut line = Vec::new();
        self.encode_line(&mut line);
        if line.len() > MAX_LINE_BYTES {
            return Err(EventError::TooLong {
                bytes: line.len(),
                max: MAX_LINE_BYTES,
            });
        }
        Ok(())
    }

    /// The application the event belongs to.
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The event's name (`login`, `purchase`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id of the user the event belongs to, if any.
    pub fn distinct_id(&self) -> Option<&str> {
        self.distinct_id.as_deref()
    }

    /// When the event happened, in UTC, to the microsecond.
    pub fn time(&self) -> OffsetDateTime {
        self.time
    }

    /// The properties, in the order they were given.
    pub fn properties(&self) -> &[(Key, Value)] {
        &self.properties
    }

    /// The value of the property `key`, if the event has it.
    pub fn property(&self, key: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }
}

/// Brings a time to UTC and to the microsecond, and refuses years RFC 3339 cannot write.
fn normalize_time(time: OffsetDateTime) -> Result<OffsetDateTime, EventError> {
    let time = time.to_offset(UtcOffset::UTC);
    if !(0..=9999).contains(&time.year()) {
        return Err(EventError::TimeOutOfRange { year: time.year() });
    }
    let micros = time.nanosecond() / 1_000 * 1_000;
    // The nanosecond is always valid after rounding down, so this cannot fail.
    Ok(time.replace_nanosecond(micros).unwrap_or(time))
}

/// Collects an event's parts; [`build`](EventBuilder::build) checks them.
#[derive(Debug, Clone)]
#[must_use = "an event builder does nothing until `build` is called"]
pub struct EventBuilder {
    application: String,
    name: String,
    distinct_id: Option<String>,
    time: OffsetDateTime,
    properties: Vec<(String, Value)>,
}

impl EventBuilder {
    /// Sets the id of the user the event belongs to.
    pub fn distinct_id(mut self, id: impl Into<String>) -> Self {
        self.distinct_id = Some(id.into());
        self
    }

    /// Adds a property; keys are checked by [`build`](EventBuilder::build).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.push((key.into(), value.into()));
        self
    }

    /// Adds several properties, in order.
    pub fn properties<K, V>(mut self, properties: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<Value>,
    {
        self.properties
            .extend(properties.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Checks every part and gives the event.
    ///
    /// Fails on a key Splunk's key cleaning would change, two properties with the same key, a
    /// NaN or infinite float, a year outside 0000–9999, or a line longer than
    /// [`MAX_LINE_BYTES`]. Nothing is ever changed silently.
    ///
    /// ```
    /// use spoor_event::{Event, EventError};
    /// use time::macros::datetime;
    ///
    /// let at = datetime!(2026-11-28 12:00 UTC);
    /// let err = Event::builder("shop", "login", at).property("user-agent", "curl").build();
    /// assert!(matches!(err, Err(EventError::InvalidKey(_))));
    ///
    /// let err = Event::builder("shop", "login", at).property("n", 1).property("n", 2).build();
    /// assert!(matches!(err, Err(EventError::DuplicateKey { .. })));
    ///
    /// let err = Event::builder("shop", "login", at).property("x", f64::NAN).build();
    /// assert!(matches!(err, Err(EventError::NonFiniteFloat { .. })));
    /// ```
    pub fn build(self) -> Result<Event, EventError> {
        let properties = self
            .properties
            .into_iter()
            .map(|(k, v)| Key::new(k).map(|k| (k, v)))
            .collect::<Result<Vec<_>, _>>()?;
        Event::from_parts(
            self.application,
            self.name,
            self.distinct_id,
            self.time,
            properties,
        )
    }
}

/// Why an event could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventError {
    /// A property key that Splunk's key cleaning would change.
    InvalidKey(KeyError),
    /// Two properties with the same key.
    DuplicateKey {
        /// The key given twice.
        key: String,
    },
    /// A NaN or infinite float, which Splunk cannot store as a number.
    NonFiniteFloat {
        /// The property's key.
        key: String,
        /// The value given.
        value: f64,
    },
    /// A time whose year RFC 3339 cannot write.
    TimeOutOfRange {
        /// The year, in UTC.
        year: i32,
    },
    /// An event whose line is longer than Splunk keeps.
    TooLong {
        /// The length of the encoded line.
        bytes: usize,
        /// The most a line may hold ([`MAX_LINE_BYTES`]).
        max: usize,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey(err) => fmt::Display::fmt(err, f),
            Self::DuplicateKey { key } => write!(
                f,
                "property key {key:?} is given twice in one event; give each property its own key"
            ),
            Self::NonFiniteFloat { key, value } => write!(
                f,
                "property {key:?} is {value}, which splunk cannot store as a number; \
                 send a finite number, or a string"
            ),
            Self::TimeOutOfRange { year } => write!(
                f,
                "event time is in the year {year}, outside the years 0000 to 9999 that rfc 3339 can write"
            ),
            Self::TooLong { bytes, max } => write!(
                f,
                "event encodes to {bytes} bytes, more than the {max} bytes splunk keeps of one event; \
                 shorten the values or spread the properties over several events"
            ),
        }
    }
}

// `InvalidKey` shows the key error's text as its own, so it has no separate source.
impl std::error::Error for EventError {}

impl From<KeyError> for EventError {
    fn from(err: KeyError) -> Self {
        Self::InvalidKey(err)
    }
}
