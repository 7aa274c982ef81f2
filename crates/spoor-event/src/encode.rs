//! Writing events: spoor's raw line and the HEC envelope.
//!
//! Both are written by one routine over a [`Sink`]: the raw line goes into the buffer as it is,
//! the HEC envelope's `event` string through a sink that JSON-escapes on the way.

use time::OffsetDateTime;

use crate::event::Event;
use crate::field::{APPLICATION, DISTINCT_ID, EVENT, PROPERTY_PREFIX};
use crate::value::Value;

/// The longest raw line an event may encode to, in bytes.
///
/// Splunk cuts events longer than the sourcetype's `TRUNCATE` (10,000 bytes by default); spoor's
/// props stanza raises it to this figure, and building a longer event is an error rather than a
/// silent cut. An HEC envelope of a line this long still fits HEC's default 1 MB request limit.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// An upper bound of the bytes a line spends besides its strings: the timestamp and the three
/// fixed fields' names, quotes and spaces.
pub(crate) const FIXED_OVERHEAD: usize = 27 + 64;
/// An upper bound of the bytes a property spends besides its key and string value: the prefix,
/// the separators, and a number's digits.
pub(crate) const PROPERTY_OVERHEAD: usize = PROPERTY_PREFIX.len() + 4 + 24;

/// Where encoded bytes go.
trait Sink {
    /// Bytes of the line with no quote, backslash or line break in them.
    fn put(&mut self, bytes: &[u8]);
    /// A quote that opens or closes a value.
    fn quote(&mut self);
    /// The escape of a backslash followed by `code` (a backslash, `"`, `n` or `r`) in a value.
    fn escape(&mut self, code: u8);
}

/// The raw line, into the caller's buffer.
impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline]
    fn quote(&mut self) {
        self.push(b'"');
    }

    #[inline]
    fn escape(&mut self, code: u8) {
        self.extend_from_slice(&[b'\\', code]);
    }
}

/// The raw line as the contents of a JSON string.
struct JsonString<'a>(&'a mut Vec<u8>);

impl Sink for JsonString<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let start = self.0.len();
        self.0.extend_from_slice(bytes);
        // Only control characters other than line breaks can be left to escape here.
        if bytes.iter().any(|&b| b < 0x20) {
            json_escape_from(self.0, start);
        }
    }

    #[inline]
    fn quote(&mut self) {
        self.0.extend_from_slice(b"\\\"");
    }

    #[inline]
    fn escape(&mut self, code: u8) {
        match code {
            b'\\' => self.0.extend_from_slice(br"\\\\"),
            b'"' => self.0.extend_from_slice(br#"\\\""#),
            _ => self.0.extend_from_slice(&[b'\\', b'\\', code]),
        }
    }
}

impl Event {
    /// Appends the event's raw line to `out`, without a line break.
    ///
    /// The line is what spoor stores in Splunk: an RFC 3339 UTC timestamp with microseconds,
    /// then `application`, `event`, the optional `distinct_id` and each property as
    /// `analytics_prop__<key>`. Strings are quoted with `\\`, `\"`, `\n` and `\r` escaped, so a
    /// line never holds a raw line break and a batch is the lines joined by `\n`
    /// (see [`encode_lines`](crate::encode_lines)). Numbers and booleans are written bare.
    ///
    /// | event | line |
    /// |---|---|
    /// | the seed's `login` | `2011-08-08T11:45:17.735045Z application="myapp" event="login" distinct_id="42" analytics_prop__username="bob"` |
    /// | no distinct id, no properties | `2026-11-28T12:00:00.000000Z application="shop" event="open"` |
    /// | a quote, a backslash, a newline | `… analytics_prop__note="say \"hi\"\\n\nbye"` |
    /// | every kind of value | `… analytics_prop__s="3" analytics_prop__i=3 analytics_prop__f=3.0 analytics_prop__b=true` |
    ///
    /// ```
    /// use spoor_event::Event;
    /// use time::macros::datetime;
    ///
    /// // The seed's example, from the original tracker's README.
    /// let login = Event::builder("myapp", "login", datetime!(2011-08-08 11:45:17.735045 UTC))
    ///     .distinct_id("42")
    ///     .property("username", "bob")
    ///     .build()?;
    /// let mut line = Vec::new();
    /// login.encode_line(&mut line);
    /// assert_eq!(
    ///     line,
    ///     br#"2011-08-08T11:45:17.735045Z application="myapp" event="login" distinct_id="42" analytics_prop__username="bob""#
    /// );
    ///
    /// let at = datetime!(2026-11-28 12:00 UTC);
    /// let golden = [
    ///     (
    ///         Event::builder("shop", "open", at).build()?,
    ///         r#"2026-11-28T12:00:00.000000Z application="shop" event="open""#,
    ///     ),
    ///     (
    ///         Event::builder("shop", "note", at).property("note", "say \"hi\"\\n\nbye").build()?,
    ///         r#"2026-11-28T12:00:00.000000Z application="shop" event="note" analytics_prop__note="say \"hi\"\\n\nbye""#,
    ///     ),
    ///     (
    ///         Event::builder("shop", "kinds", at)
    ///             .property("s", "3")
    ///             .property("i", 3)
    ///             .property("f", 3.0)
    ///             .property("b", true)
    ///             .build()?,
    ///         r#"2026-11-28T12:00:00.000000Z application="shop" event="kinds" analytics_prop__s="3" analytics_prop__i=3 analytics_prop__f=3.0 analytics_prop__b=true"#,
    ///     ),
    ///     (
    ///         Event::builder("a=b c", "", at).distinct_id("").property("x", -1.5e-7).build()?,
    ///         r#"2026-11-28T12:00:00.000000Z application="a=b c" event="" distinct_id="" analytics_prop__x=-1.5e-7"#,
    ///     ),
    /// ];
    /// for (event, expected) in golden {
    ///     let mut line = Vec::new();
    ///     event.encode_line(&mut line);
    ///     assert_eq!(String::from_utf8(line).unwrap(), expected);
    /// }
    /// # Ok::<(), spoor_event::EventError>(())
    /// ```
    pub fn encode_line(&self, out: &mut Vec<u8>) {
        self.write_line(out);
    }

    /// Appends the event as an HTTP Event Collector envelope to `out`.
    ///
    /// `{"time":<epoch seconds>.<micros>,…,"event":"<the raw line>"}`: the metadata in `meta`
    /// that is set is written, the rest left out (never `null`). HEC takes a batch as envelopes
    /// one after another, so a batch is these calls appending into one buffer.
    ///
    /// ```
    /// use spoor_event::{Event, HecMeta};
    /// use time::macros::datetime;
    ///
    /// let event = Event::builder("shop", "login", datetime!(2026-11-28 12:00:00.5 UTC))
    ///     .property("plan", "pro \"max\"")
    ///     .build()?;
    /// let mut body = Vec::new();
    /// event.encode_hec(&HecMeta::new().index("spoor").sourcetype("spoor"), &mut body);
    /// assert_eq!(
    ///     String::from_utf8(body).unwrap(),
    ///     r#"{"time":1795867200.500000,"index":"spoor","sourcetype":"spoor","event":"2026-11-28T12:00:00.500000Z application=\"shop\" event=\"login\" analytics_prop__plan=\"pro \\\"max\\\"\""}"#
    /// );
    /// # Ok::<(), spoor_event::EventError>(())
    /// ```
    pub fn encode_hec(&self, meta: &HecMeta<'_>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"time\":");
        write_epoch_seconds(out, self.time());
        for (name, value) in [
            ("index", meta.index),
            ("sourcetype", meta.sourcetype),
            ("host", meta.host),
            ("source", meta.source),
        ] {
            if let Some(value) = value {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":\"");
                let start = out.len();
                out.extend_from_slice(value.as_bytes());
                json_escape_from(out, start);
                out.push(b'"');
            }
        }
        out.extend_from_slice(b",\"event\":\"");
        self.write_line(&mut JsonString(out));
        out.extend_from_slice(b"\"}");
    }

    fn write_line(&self, out: &mut impl Sink) {
        let mut stamp = [0; TIMESTAMP_LEN];
        format_timestamp(self.time(), &mut stamp);
        out.put(&stamp);
        write_string_field(out, APPLICATION.as_bytes(), self.application());
        write_string_field(out, EVENT.as_bytes(), self.name());
        if let Some(id) = self.distinct_id() {
            write_string_field(out, DISTINCT_ID.as_bytes(), id);
        }
        for (key, value) in self.properties() {
            out.put(b" ");
            out.put(PROPERTY_PREFIX.as_bytes());
            out.put(key.as_str().as_bytes());
            out.put(b"=");
            match value {
                Value::String(s) => write_quoted(out, s),
                Value::Int(n) => out.put(NumberText::int(*n).as_bytes()),
                Value::Float(x) => out.put(NumberText::float(*x).as_bytes()),
                Value::Bool(true) => out.put(b"true"),
                Value::Bool(false) => out.put(b"false"),
            }
        }
    }
}

/// Appends the raw lines of `events` to `out`, joined by `\n` (no trailing line break): the body
/// of one `receivers/simple` request, or lines of a file for a forwarder.
///
/// ```
/// use spoor_event::{Event, encode_lines};
/// use time::macros::datetime;
///
/// let at = datetime!(2026-11-28 12:00 UTC);
/// let events = [
///     Event::builder("shop", "login", at).build()?,
///     Event::builder("shop", "logout", at).build()?,
/// ];
/// let mut body = Vec::new();
/// encode_lines(&events, &mut body);
/// assert_eq!(body.iter().filter(|b| **b == b'\n').count(), 1);
/// # Ok::<(), spoor_event::EventError>(())
/// ```
pub fn encode_lines<'a>(events: impl IntoIterator<Item = &'a Event>, out: &mut Vec<u8>) {
    for (i, event) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        event.encode_line(out);
    }
}

/// The metadata of an HEC envelope; what is left `None` is not written.
///
/// ```
/// use spoor_event::HecMeta;
///
/// let meta = HecMeta::new().index("spoor").host("web-1");
/// assert_eq!(meta.index, Some("spoor"));
/// assert_eq!(meta.source, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HecMeta<'a> {
    /// The index to store the event in (the token's default when `None`).
    pub index: Option<&'a str>,
    /// The event's sourcetype (the token's default when `None`).
    pub sourcetype: Option<&'a str>,
    /// The event's host.
    pub host: Option<&'a str>,
    /// The event's source.
    pub source: Option<&'a str>,
}

impl<'a> HecMeta<'a> {
    /// No metadata: HEC applies the token's defaults.
    pub const fn new() -> Self {
        Self {
            index: None,
            sourcetype: None,
            host: None,
            source: None,
        }
    }

    /// Sets the index.
    #[must_use]
    pub const fn index(mut self, index: &'a str) -> Self {
        self.index = Some(index);
        self
    }

    /// Sets the sourcetype.
    #[must_use]
    pub const fn sourcetype(mut self, sourcetype: &'a str) -> Self {
        self.sourcetype = Some(sourcetype);
        self
    }

    /// Sets the host.
    #[must_use]
    pub const fn host(mut self, host: &'a str) -> Self {
        self.host = Some(host);
        self
    }

    /// Sets the source.
    #[must_use]
    pub const fn source(mut self, source: &'a str) -> Self {
        self.source = Some(source);
        self
    }
}

fn write_string_field(out: &mut impl Sink, name: &[u8], value: &str) {
    out.put(b" ");
    out.put(name);
    out.put(b"=");
    write_quoted(out, value);
}

/// Writes `"value"` with `\`, `"`, line feed and carriage return escaped.
fn write_quoted(out: &mut impl Sink, value: &str) {
    out.quote();
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let code = match b {
            b'\\' => b'\\',
            b'"' => b'"',
            b'\n' => b'n',
            b'\r' => b'r',
            _ => continue,
        };
        out.put(&bytes[start..i]);
        out.escape(code);
        start = i + 1;
    }
    out.put(&bytes[start..]);
    out.quote();
}

/// How many bytes each byte takes inside a JSON string: 2 for `"`, `\\` and the control
/// characters with a short escape, 6 for the other control characters (`\u00XX`), else 1.
const JSON_LEN: [u8; 256] = {
    let mut table = [1; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = 6;
        b += 1;
    }
    table[b'"' as usize] = 2;
    table[b'\\' as usize] = 2;
    table[b'\n' as usize] = 2;
    table[b'\r' as usize] = 2;
    table[b'\t' as usize] = 2;
    table[0x08] = 2;
    table[0x0c] = 2;
    table
};

/// JSON-escapes `out[start..]` (UTF-8) where it stands, so it can sit inside a JSON string.
///
/// The escaped text is written from the back, so each byte moves once and nothing is allocated
/// beyond the buffer's growth.
fn json_escape_from(out: &mut Vec<u8>, start: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let extra: usize = out[start..]
        .iter()
        .filter(|&&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|&b| usize::from(JSON_LEN[usize::from(b)]) - 1)
        .sum();
    if extra == 0 {
        return;
    }
    let mut read = out.len();
    out.resize(read + extra, 0);
    let mut write = out.len();
    while read > start {
        // Move the run of bytes that need no escape in one go.
        let run = out[start..read]
            .iter()
            .rposition(|&b| JSON_LEN[usize::from(b)] != 1)
            .map_or(start, |i| start + i + 1);
        write -= read - run;
        out.copy_within(run..read, write);
        read = run;
        if read == start {
            break;
        }
        read -= 1;
        let b = out[read];
        if JSON_LEN[usize::from(b)] == 2 {
            write -= 2;
            out[write] = b'\\';
            out[write + 1] = match b {
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0x08 => b'b',
                0x0c => b'f',
                other => other,
            };
        } else {
            write -= 6;
            out[write..write + 4].copy_from_slice(b"\\u00");
            out[write + 4] = HEX[usize::from(b >> 4)];
            out[write + 5] = HEX[usize::from(b & 0xf)];
        }
    }
}

/// The length of `2026-11-28T12:00:00.123456Z`.
pub(crate) const TIMESTAMP_LEN: usize = 27;

/// Formats a UTC time of a year in 0000–9999 as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn format_timestamp(time: OffsetDateTime, out: &mut [u8; TIMESTAMP_LEN]) {
    fn digits(out: &mut [u8], mut n: u32) {
        for slot in out.iter_mut().rev() {
            // `n % 10` is below 10, so the cast keeps it whole.
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    // Events are built with years 0000-9999 only, so the year is never negative.
    let year = u32::try_from(time.year()).unwrap_or(0);
    digits(&mut out[0..4], year);
    out[4] = b'-';
    digits(&mut out[5..7], u32::from(u8::from(time.month())));
    out[7] = b'-';
    digits(&mut out[8..10], u32::from(time.day()));
    out[10] = b'T';
    digits(&mut out[11..13], u32::from(time.hour()));
    out[13] = b':';
    digits(&mut out[14..16], u32::from(time.minute()));
    out[16] = b':';
    digits(&mut out[17..19], u32::from(time.second()));
    out[19] = b'.';
    digits(&mut out[20..26], time.microsecond());
    out[26] = b'Z';
}

/// Writes the time as epoch seconds with six decimals, as HEC's `time` takes it.
fn write_epoch_seconds(out: &mut Vec<u8>, time: OffsetDateTime) {
    // Years 0000-9999 keep the microseconds well inside an i64 (and i128 division is slow).
    let micros = time.unix_timestamp() * 1_000_000 + i64::from(time.microsecond());
    if micros < 0 {
        out.push(b'-');
    }
    let micros = micros.unsigned_abs();
    // Below 2^63 / 10^6, so it fits an i64.
    let seconds = i64::try_from(micros / 1_000_000).unwrap_or(i64::MAX);
    out.extend_from_slice(NumberText::int(seconds).as_bytes());
    out.push(b'.');
    let fraction = micros % 1_000_000;
    let mut digits = [b'0'; 6];
    let mut rest = fraction;
    for slot in digits.iter_mut().rev() {
        // `rest % 10` is below 10, so the cast keeps it whole.
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&digits);
}

/// A number's text, formatted on the stack: encoding allocates nothing but the output.
struct NumberText {
    buf: [u8; 48],
    len: usize,
}

impl NumberText {
    /// The shortest text that reads back as the same float; `Debug` always writes a `.` or an
    /// exponent, so a float never reads back as an integer.
    fn float(x: f64) -> Self {
        let mut text = Self {
            buf: [0; 48],
            len: 0,
        };
        // Every float's text is shorter than the buffer, so writing cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{x:?}"));
        text
    }

    fn int(n: i64) -> Self {
        let mut text = Self {
            buf: [0; 48],
            len: 0,
        };
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            i -= 1;
            // `rest % 10` is below 10, so the cast keeps it whole.
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            text.buf[0] = b'-';
            text.len = 1;
        }
        let count = digits.len() - i;
        text.buf[text.len..text.len + count].copy_from_slice(&digits[i..]);
        text.len += count;
        text
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for NumberText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn stamp(time: OffsetDateTime) -> String {
        let mut out = [0; TIMESTAMP_LEN];
        format_timestamp(time, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn timestamps_are_fixed_width() {
        assert_eq!(
            stamp(datetime!(0001-01-01 00:00 UTC)),
            "0001-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            stamp(datetime!(9999-12-31 23:59:59.999999 UTC)),
            "9999-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn epoch_seconds_before_1970_keep_their_sign() {
        let mut out = Vec::new();
        write_epoch_seconds(&mut out, datetime!(1969-12-31 23:59:59.5 UTC));
        assert_eq!(out, b"-0.500000");
        out.clear();
        write_epoch_seconds(&mut out, datetime!(1970-01-01 00:00 UTC));
        assert_eq!(out, b"0.000000");
    }

    #[test]
    fn integers_are_written_whole() {
        for n in [0, 7, -7, 1_000_000, i64::MAX, i64::MIN] {
            assert_eq!(NumberText::int(n).as_bytes(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn json_escaping_covers_control_characters() {
        let mut out = b"kept\"".to_vec();
        out.extend_from_slice("a\"\\\n\r\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é".as_bytes());
        json_escape_from(&mut out, 5);
        assert_eq!(
            out,
            "kept\"a\\\"\\\\\\n\\r\\t\\u0001\\b\\f\\u001f\u{7f}é".as_bytes()
        );
    }
}
