//! Recognising the timestamp at the start of a line.
//!
//! spoor writes `2026-11-28T12:00:00.123456Z`; the original Python tracker wrote
//! `datetime.now().isoformat()`, which has no zone and no fraction when the microseconds are zero
//! (`2011-08-08T11:45:17.735045`, `2011-08-08T11:45:17`). Both are read here, as are other
//! RFC 3339 / ISO 8601 forms a log line may start with (a space instead of `T`, 1 to 9 fraction
//! digits, `Z`, `+HH:MM`, `+HHMM`).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// The length of the timestamp spoor starts a line with, `2026-11-28T12:00:00.123456Z`.
pub const SPOOR_LEN: usize = crate::encode::TIMESTAMP_LEN;

/// The timestamp spoor starts a line with, for a time of a year in 0000–9999 (`None` for
/// another): UTC, with microseconds.
///
/// ```
/// use spoor_event::timestamp::format_spoor;
/// use time::macros::datetime;
///
/// let stamp = format_spoor(datetime!(2026-11-28 12:00:00.5 +1)).unwrap();
/// assert_eq!(&stamp, b"2026-11-28T11:00:00.500000Z");
/// assert!(format_spoor(datetime!(-0001-01-01 0:00 UTC)).is_none());
/// ```
pub fn format_spoor(time: OffsetDateTime) -> Option<[u8; SPOOR_LEN]> {
    let time = time.to_offset(UtcOffset::UTC);
    if !(0..=9999).contains(&time.year()) {
        return None;
    }
    let mut out = [0; SPOOR_LEN];
    crate::encode::format_timestamp(time, &mut out);
    Some(out)
}

/// A timestamp read from the start of a text.
///
/// ```
/// use spoor_event::timestamp::parse_leading;
/// use time::UtcOffset;
/// use time::macros::{datetime, offset};
///
/// let stamp = parse_leading("2026-11-28T12:00:00.123456Z application=\"shop\"").unwrap();
/// assert_eq!(stamp.len, 27);
/// assert_eq!(stamp.assume_offset(UtcOffset::UTC), datetime!(2026-11-28 12:00:00.123456 UTC));
///
/// // The original Python tracker's stamps have no zone: the caller says which one they meant.
/// let stamp = parse_leading("2011-08-08T11:45:17.735045 application=\"myapp\"").unwrap();
/// assert_eq!(stamp.offset, None);
/// assert_eq!(
///     stamp.assume_offset(offset!(-7)),
///     datetime!(2011-08-08 11:45:17.735045 -7),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadingTimestamp {
    /// The date and time as written.
    pub local: PrimitiveDateTime,
    /// The zone as written, if any.
    pub offset: Option<UtcOffset>,
    /// How many bytes of the text the timestamp takes.
    pub len: usize,
}

impl LeadingTimestamp {
    /// The instant, reading a timestamp written without a zone as being in `zone`.
    pub fn assume_offset(&self, zone: UtcOffset) -> OffsetDateTime {
        self.local.assume_offset(self.offset.unwrap_or(zone))
    }
}

/// Reads an ISO 8601 timestamp at the very start of `text`, if there is one.
///
/// The form is `YYYY-MM-DD` then `T` or a space, `HH:MM:SS`, an optional fraction of 1 to 9
/// digits, and an optional zone (`Z`, `+HH:MM`, `+HHMM`). Nothing else is tried; an impossible
/// date or time (`2026-02-30`, `25:00:00`) is no timestamp.
pub fn parse_leading(text: &str) -> Option<LeadingTimestamp> {
    let b = text.as_bytes();
    let year = number(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = number(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = number(b, 8, 2)?;
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = number(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = number(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = number(b, 17, 2)?;
    let mut pos = 19;

    let mut nanos = 0;
    if b.get(pos) == Some(&b'.') {
        let digits = b[pos + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        nanos = number(b, pos + 1, digits)? * 10u32.pow(9 - u32::try_from(digits).ok()?);
        pos += 1 + digits;
    }

    let offset = match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            Some(UtcOffset::UTC)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let hours = number(b, pos + 1, 2)?;
            let colon = usize::from(b.get(pos + 3) == Some(&b':'));
            let minutes = number(b, pos + 3 + colon, 2)?;
            pos += 5 + colon;
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            let seconds = if sign == b'-' { -seconds } else { seconds };
            Some(UtcOffset::from_whole_seconds(seconds).ok()?)
        }
        _ => None,
    };

    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(LeadingTimestamp {
        local: PrimitiveDateTime::new(date, time),
        offset,
        len: pos,
    })
}

/// The decimal number written with exactly `len` digits at `at`.
fn number(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let digits = b.get(at..at + len)?;
    digits.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

fn expect(b: &[u8], at: usize, byte: u8) -> Option<()> {
    (b.get(at) == Some(&byte)).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    fn instant(text: &str) -> Option<OffsetDateTime> {
        parse_leading(text).map(|t| t.assume_offset(UtcOffset::UTC))
    }

    #[test]
    fn reads_the_forms_a_line_may_start_with() {
        let cases = [
            (
                "2026-11-28T12:00:00.123456Z",
                datetime!(2026-11-28 12:00:00.123456 UTC),
            ),
            ("2026-11-28T12:00:00Z", datetime!(2026-11-28 12:00 UTC)),
            (
                "2026-11-28 12:00:00.1",
                datetime!(2026-11-28 12:00:00.1 UTC),
            ),
            (
                "2026-11-28T12:00:00.123456789+02:00",
                datetime!(2026-11-28 12:00:00.123456789 +2),
            ),
            (
                "2026-11-28T12:00:00-0530",
                datetime!(2026-11-28 12:00 -5:30),
            ),
            ("2011-08-08T11:45:17", datetime!(2011-08-08 11:45:17 UTC)),
            ("2024-02-29T00:00:00Z", datetime!(2024-02-29 00:00 UTC)),
        ];
        for (text, expected) in cases {
            assert_eq!(instant(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn reports_how_much_it_read() {
        let stamp = parse_leading("2026-11-28T12:00:00+01:00 rest").unwrap();
        assert_eq!(stamp.len, 25);
        assert_eq!(stamp.offset, Some(offset!(+1)));
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for text in [
            "",
            "2026-11-28",
            "2026-11-28X12:00:00",
            "2026-02-30T12:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T12:00:00.Z",
            "2026-11-28T12:00:00.1234567890Z",
            "2026-11-28T12:00:00+1",
            "２026-11-28T12:00:00Z",
            "-026-11-28T12:00:00Z",
        ] {
            assert_eq!(instant(text), None, "{text}");
        }
    }
}
