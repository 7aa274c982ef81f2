//! One input line as an event: spoor's own line, the original Python tracker's, or JSON.

use spoor_event::Event;
use spoor_event::json::JsonEvent;
use time::OffsetDateTime;

/// The format of the lines of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// Decided line by line: a line starting with `{` is JSON, any other a spoor line.
    #[default]
    Auto,
    /// spoor's lines, and the original Python tracker's (a timestamp without a zone is UTC).
    Spoor,
    /// JSON lines: `{"application", "event", "distinct_id", "time", "properties": {…}}`.
    Json,
}

/// What one line is.
#[derive(Debug, PartialEq)]
pub enum Line {
    /// Nothing but white space: skipped, counted apart.
    Blank,
    /// An event.
    Event(Event),
    /// Not an event, and why.
    Bad(String),
}

/// Reads one line (without its line break) in `format`; a JSON event without a time gets
/// `now`.
///
/// ```
/// use spoor_cli::import::{InputFormat, Line, read_line};
/// use time::macros::datetime;
///
/// let now = datetime!(2026-12-01 12:00 UTC);
/// let spoor = br#"2026-11-28T12:00:00.000000Z application="shop" event="login" distinct_id="u1""#;
/// let json = br#"{"application":"shop","event":"login","distinct_id":"u1","time":"2026-11-28T12:00:00Z"}"#;
/// let (Line::Event(a), Line::Event(b)) = (read_line(spoor, InputFormat::Auto, now), read_line(json, InputFormat::Auto, now)) else {
///     panic!("both are events");
/// };
/// assert_eq!(a, b);
/// assert_eq!(read_line(b"  ", InputFormat::Auto, now), Line::Blank);
/// assert!(matches!(read_line(b"hello", InputFormat::Auto, now), Line::Bad(_)));
/// ```
pub fn read_line(line: &[u8], format: InputFormat, now: OffsetDateTime) -> Line {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(first) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Line::Blank;
    };
    let json = match format {
        InputFormat::Auto => line[first] == b'{',
        InputFormat::Spoor => false,
        InputFormat::Json => true,
    };
    if json {
        return match JsonEvent::parse(line, now) {
            Ok(event) => Line::Event(event),
            Err(err) => Line::Bad(format!("not a JSON event: {err}")),
        };
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Bad("not UTF-8 text".to_owned());
    };
    match Event::decode_line(text) {
        Ok(event) => Line::Event(event),
        Err(err) => Line::Bad(format!("not a spoor line: {err}")),
    }
}
