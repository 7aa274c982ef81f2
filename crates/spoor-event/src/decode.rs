//! Reading spoor's raw line back into an [`Event`] (strict).

use std::fmt;

use time::UtcOffset;

use crate::event::{Event, EventError};
use crate::field::{APPLICATION, DISTINCT_ID, EVENT, PROPERTY_PREFIX};
use crate::key::{Key, KeyError};
use crate::timestamp::parse_leading;
use crate::value::Value;

impl Event {
    /// Reads an event from its raw line, as [`encode_line`](Event::encode_line) writes it.
    ///
    /// Strict: the line must start with a timestamp and hold `application` and `event`, at most
    /// one `distinct_id`, and otherwise only `analytics_prop__<key>` fields with valid, distinct
    /// keys. Quoted values are strings (`\\`, `\"`, `\n`, `\r` unescaped; any other backslash is
    /// kept); bare values are integers, floats or booleans.
    ///
    /// It also reads what the original Python tracker wrote: a timestamp without a zone (read
    /// as UTC here; see [`decode_line_in`](Event::decode_line_in)), several spaces between
    /// fields, a trailing space, and `'` where a value had a `"`.
    ///
    /// ```
    /// use spoor_event::{Event, Value};
    /// use time::macros::datetime;
    ///
    /// let event = Event::decode_line(
    ///     r#"2026-11-28T12:00:00.000000Z application="shop" event="buy" analytics_prop__seats=3"#,
    /// )?;
    /// assert_eq!(event.name(), "buy");
    /// assert_eq!(event.property("seats"), Some(&Value::Int(3)));
    ///
    /// // A line of the original Python tracker.
    /// let event = Event::decode_line(
    ///     r#"2011-08-08T11:45:17.735045 application="myapp" event="login" distinct_id="42"  analytics_prop__username="bob" "#,
    /// )?;
    /// assert_eq!(event.time(), datetime!(2011-08-08 11:45:17.735045 UTC));
    /// assert_eq!(event.property("username"), Some(&Value::from("bob")));
    ///
    /// let err = Event::decode_line(r#"2026-11-28T12:00:00Z event="buy""#).unwrap_err();
    /// assert_eq!(err.to_string(), "line has no `application` field");
    /// # Ok::<(), spoor_event::DecodeError>(())
    /// ```
    pub fn decode_line(line: &str) -> Result<Self, DecodeError> {
        Self::decode_line_in(line, UtcOffset::UTC)
    }

    /// Like [`decode_line`](Event::decode_line), reading a timestamp written without a zone (as
    /// the original Python tracker wrote, in the server's local time) as being in `zone`.
    pub fn decode_line_in(line: &str, zone: UtcOffset) -> Result<Self, DecodeError> {
        let stamp = parse_leading(line).ok_or(DecodeError {
            at: 0,
            kind: DecodeErrorKind::Timestamp,
        })?;
        let mut reader = Reader {
            text: line,
            pos: stamp.len,
        };
        let mut application = None;
        let mut name = None;
        let mut distinct_id = None;
        let mut properties: Vec<(Key, Value)> = Vec::new();

        while reader.skip_spaces() {
            let at = reader.pos;
            let field = reader.field_name()?;
            let raw = reader.value()?;
            let slot = match field {
                APPLICATION => &mut application,
                EVENT => &mut name,
                DISTINCT_ID => &mut distinct_id,
                _ => {
                    let Some(key) = field.strip_prefix(PROPERTY_PREFIX) else {
                        return Err(DecodeError::at(
                            at,
                            DecodeErrorKind::UnknownField(field.into()),
                        ));
                    };
                    let key = Key::new(key)
                        .map_err(|err| DecodeError::at(at, DecodeErrorKind::InvalidKey(err)))?;
                    if properties.iter().any(|(k, _)| *k == key) {
                        return Err(DecodeError::at(
                            at,
                            DecodeErrorKind::DuplicateField(field.into()),
                        ));
                    }
                    let value = raw
                        .into_value()
                        .map_err(|token| DecodeError::at(at, DecodeErrorKind::BareValue(token)))?;
                    properties.push((key, value));
                    continue;
                }
            };
            if slot.is_some() {
                return Err(DecodeError::at(
                    at,
                    DecodeErrorKind::DuplicateField(field.into()),
                ));
            }
            *slot = Some(raw.into_text());
        }

        let missing = |field| DecodeError::at(line.len(), DecodeErrorKind::MissingField(field));
        let application = application.ok_or_else(|| missing(APPLICATION))?;
        let name = name.ok_or_else(|| missing(EVENT))?;
        Self::from_parts(
            application,
            name,
            distinct_id,
            stamp.assume_offset(zone),
            properties,
        )
        .map_err(|err| DecodeError::at(0, DecodeErrorKind::Event(err)))
    }
}

/// A value as written on the line.
enum RawValue {
    Quoted(String),
    Bare(String),
}

impl RawValue {
    fn into_text(self) -> String {
        match self {
            Self::Quoted(s) | Self::Bare(s) => s,
        }
    }

    /// The typed value: quoted is a string, bare must be a number or a boolean.
    fn into_value(self) -> Result<Value, String> {
        let token = match self {
            Self::Quoted(s) => return Ok(Value::String(s)),
            Self::Bare(token) => token,
        };
        match token.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            _ => {}
        }
        if let Ok(n) = token.parse::<i64>() {
            return Ok(Value::Int(n));
        }
        // Rust also reads `inf` and `NaN`: only text made of a number's characters counts.
        let numeric = token.bytes().any(|b| b.is_ascii_digit())
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        match token.parse::<f64>() {
            Ok(x) if numeric && x.is_finite() => Ok(Value::Float(x)),
            _ => Err(token),
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.pos..]
    }

    fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::at(self.pos, kind)
    }

    /// Skips the spaces before a field; false at the end of the line.
    fn skip_spaces(&mut self) -> bool {
        let spaces = self.rest().iter().take_while(|b| **b == b' ').count();
        self.pos += spaces;
        self.pos < self.text.len()
    }

    /// Reads `name=` and gives the name.
    fn field_name(&mut self) -> Result<&'a str, DecodeError> {
        let len = self
            .rest()
            .iter()
            .take_while(|b| !matches!(b, b'=' | b' ' | b'"' | b'\n' | b'\r'))
            .count();
        if len == 0 {
            return Err(self.error(DecodeErrorKind::Expected("a field name")));
        }
        let name = &self.text[self.pos..self.pos + len];
        self.pos += len;
        if self.rest().first() != Some(&b'=') {
            return Err(self.error(DecodeErrorKind::Expected("`=` after the field name")));
        }
        self.pos += 1;
        Ok(name)
    }

    /// Reads a quoted or bare value, which must end the line or be followed by a space.
    fn value(&mut self) -> Result<RawValue, DecodeError> {
        let value = if self.rest().first() == Some(&b'"') {
            RawValue::Quoted(self.quoted()?)
        } else {
            let len = self.rest().iter().take_while(|b| **b != b' ').count();
            if len == 0 {
                return Err(self.error(DecodeErrorKind::Expected("a value after `=`")));
            }
            let token = &self.text[self.pos..self.pos + len];
            if let Some(bad) = token.find(['"', '\n', '\r']) {
                self.pos += bad;
                return Err(self.error(DecodeErrorKind::Expected("a space or the end of the line")));
            }
            self.pos += len;
            RawValue::Bare(token.to_owned())
        };
        match self.rest().first() {
            None | Some(b' ') => Ok(value),
            Some(_) => Err(self.error(DecodeErrorKind::Expected("a space or the end of the line"))),
        }
    }

    /// Reads `"…"`, unescaping `\\`, `\"`, `\n` and `\r`.
    fn quoted(&mut self) -> Result<String, DecodeError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(stop) = rest.find(['"', '\\', '\n', '\r']) else {
                return Err(DecodeError::at(open, DecodeErrorKind::UnterminatedQuote));
            };
            out.push_str(&rest[..stop]);
            self.pos += stop;
            match self.rest()[0] {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let unescaped = match self.rest().get(1) {
                        Some(b'\\') => '\\',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        // Not one of spoor's escapes: the original tracker wrote backslashes
                        // as they were, so the backslash is text.
                        _ => {
                            out.push('\\');
                            self.pos += 1;
                            continue;
                        }
                    };
                    out.push(unescaped);
                    self.pos += 2;
                }
                _ => return Err(self.error(DecodeErrorKind::RawLineBreak)),
            }
        }
    }
}

/// Why a line could not be read as an event.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    at: usize,
    kind: DecodeErrorKind,
}

impl DecodeError {
    fn at(at: usize, kind: DecodeErrorKind) -> Self {
        Self { at, kind }
    }

    /// The byte offset in the line where the problem is.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// What the problem is.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.kind
    }
}

/// What was wrong with a line.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The line does not start with a timestamp.
    Timestamp,
    /// Something else stood where this was expected.
    Expected(&'static str),
    /// A quoted value has no closing quote.
    UnterminatedQuote,
    /// A raw line break inside a value.
    RawLineBreak,
    /// A field that is not one of spoor's.
    UnknownField(String),
    /// A field given twice.
    DuplicateField(String),
    /// A required field is missing.
    MissingField(&'static str),
    /// A property key Splunk's key cleaning would change.
    InvalidKey(KeyError),
    /// A bare property value that is not a number or a boolean.
    BareValue(String),
    /// The fields do not make a valid event.
    Event(EventError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at;
        match &self.kind {
            DecodeErrorKind::Timestamp => {
                f.write_str("line does not start with a timestamp like 2026-11-28T12:00:00.000000Z")
            }
            DecodeErrorKind::Expected(what) => write!(f, "expected {what} at byte {at}"),
            DecodeErrorKind::UnterminatedQuote => {
                write!(f, "the quote opened at byte {at} is never closed")
            }
            DecodeErrorKind::RawLineBreak => write!(
                f,
                "raw line break at byte {at}; spoor writes line breaks in values as \\n and \\r"
            ),
            DecodeErrorKind::UnknownField(name) => write!(
                f,
                "unknown field {name:?} at byte {at}; spoor's lines hold only application, event, \
                 distinct_id and {PROPERTY_PREFIX}<key> fields"
            ),
            DecodeErrorKind::DuplicateField(name) => {
                write!(f, "field {name:?} is given twice (again at byte {at})")
            }
            DecodeErrorKind::MissingField(name) => write!(f, "line has no `{name}` field"),
            DecodeErrorKind::InvalidKey(err) => write!(f, "at byte {at}: {err}"),
            DecodeErrorKind::BareValue(token) => write!(
                f,
                "unquoted value {token:?} at byte {at} is not a number or a boolean; \
                 quote string values"
            ),
            DecodeErrorKind::Event(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: &str = "2026-11-28T12:00:00.000000Z";

    fn decode(fields: &str) -> Result<Event, DecodeError> {
        Event::decode_line(&format!("{STAMP} {fields}"))
    }

    #[test]
    fn reads_each_kind_of_value() {
        let event = decode(
            r#"application="a" event="e" analytics_prop__s="3" analytics_prop__i=-3 analytics_prop__f=2.5e-3 analytics_prop__b=false"#,
        )
        .unwrap();
        let values: Vec<_> = event.properties().iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(
            values,
            [
                Value::from("3"),
                Value::Int(-3),
                Value::Float(2.5e-3),
                Value::Bool(false)
            ]
        );
    }

    #[test]
    fn field_order_is_free_but_fields_are_unique() {
        let event = decode(r#"event="e" distinct_id="d" application="a""#).unwrap();
        assert_eq!((event.application(), event.name()), ("a", "e"));
        let err = decode(r#"application="a" event="e" application="b""#).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::DuplicateField("application".into())
        );
        assert_eq!(err.offset(), STAMP.len() + 27);
    }

    #[test]
    fn refuses_what_spoor_does_not_write() {
        let cases = [
            (
                r#"application="a" event="e" host="h""#,
                "unknown field \"host\"",
            ),
            (
                r#"application="a" event="e" analytics_prop__x=inf"#,
                "not a number",
            ),
            (
                r#"application="a" event="e" analytics_prop__x=NaN"#,
                "not a number",
            ),
            (
                r#"application="a" event="e" analytics_prop__x=1e999"#,
                "not a number",
            ),
            (
                r#"application="a" event="e" analytics_prop__x=pro"#,
                "quote string values",
            ),
            (
                r#"application="a" event="e" analytics_prop__a-b="1""#,
                "key cleaning",
            ),
            (
                r#"application="a" event="e" analytics_prop__k=1 analytics_prop__k=2"#,
                "twice",
            ),
            (r#"application="a event="e""#, "expected a space or the end"),
            (r#"application="a" event="e"#, "never closed"),
            (r#"application="a" event"#, "expected `=`"),
            (r#"application="a" event="e" ="x""#, "expected a field name"),
            (r#"application="a" event=""#, "never closed"),
            ("application=\"a\nb\" event=\"e\"", "raw line break"),
        ];
        for (fields, message) in cases {
            let err = decode(fields).unwrap_err();
            assert!(err.to_string().contains(message), "{fields}: {err}");
        }
        let err = Event::decode_line("application=\"a\" event=\"e\"").unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::Timestamp);
    }

    #[test]
    fn reads_the_python_trackers_lines() {
        // Exactly as input.py built them: no zone, two spaces before the first property, a
        // trailing space, `%s`-formatted non-strings, `'` where the value had a `"`, and raw
        // backslashes.
        let line = r#"2011-08-08T11:45:17 application="myapp" event="login"  analytics_prop__n="3" analytics_prop__ok="True" analytics_prop__quote="say 'hi'" analytics_prop__path="C:\temp" "#;
        let event = Event::decode_line(line).unwrap();
        assert_eq!(event.distinct_id(), None);
        assert_eq!(event.property("n"), Some(&Value::from("3")));
        assert_eq!(event.property("ok"), Some(&Value::from("True")));
        assert_eq!(event.property("quote"), Some(&Value::from("say 'hi'")));
        assert_eq!(event.property("path"), Some(&Value::from("C:\\temp")));
    }

    #[test]
    fn zoneless_stamps_take_the_given_zone() {
        let line = r#"2011-08-08T11:45:17.735045 application="myapp" event="login" "#;
        let zone = UtcOffset::from_hms(-7, 0, 0).unwrap();
        let event = Event::decode_line_in(line, zone).unwrap();
        assert_eq!(event.time().hour(), 18);
    }
}
