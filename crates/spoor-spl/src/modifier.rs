//! Time modifiers: the values of Splunk's `earliest_time` / `latest_time`, as pure values.
//!
//! A [`TimeModifier`] is one of
//!
//! - `now`;
//! - an epoch time in seconds, with an optional fraction: `1700000000`, `1700000000.25`;
//! - an ISO 8601 time: `2026-11-28T12:00:00+01:00`, `2026-11-28T12:00:00.5Z`,
//!   `2026-11-28 12:00`, `2026-11-28` (without a zone it is read in the zone given to
//!   [`resolve`](TimeModifier::resolve)); years from `-9999` to `9999`, four digits (a negative
//!   year reads, but resolves outside the range below);
//! - a relative time: an optional offset (`-7d`, `+1h`, `-mon`: the count defaults to 1), an optional
//!   snap (`@d`, `@w0`, `@mon`) and, after a snap, an optional second offset (`-1d@d+8h`: yesterday
//!   at 08:00).
//!
//! Offset units are `s`, `m`, `h`, `d`, `w`, `mon`, `q`, `y` and their long forms (`sec`, `min`,
//! `hr`, `hours`, `day`, `week`, `month`, `qtr`, `quarter`, `yr`, `year`, plurals). Snap units are
//! `s`, `m`, `h`, `d`, `w0`…`w6` (`w` and `w7` are `w0`, Sunday), `mon`, `q`, `y`.
//!
//! Resolution is pure: it takes `now` and the zone (a fixed UTC offset) in which to snap and to
//! read zone-less times. Every modifier resolves to an instant of the years 0000 to 9999 (in UTC)
//! or is an error naming that range: an offset, snap or epoch time that reaches outside it is
//! refused, never clamped, and no count is too large to compute with. Days and weeks are 24 and 168 hours, since a fixed offset has no
//! daylight-saving changes. Months, quarters and years move the calendar date and clamp the day
//! to the end of a shorter month: `2026-01-31` plus one month is `2026-02-28`, and `2024-02-29`
//! minus one year is `2023-02-28`. Weeks start on Sunday (`@w` = `@w0`).
//!
//! Printing is canonical and parses back to the same value: relative offsets always carry sign
//! and count (`-1mon`), units their short names, ISO times a numeric zone (`+00:00`, not `Z`).
//!
//! ```
//! use spoor_spl::modifier::TimeModifier;
//! use time::{OffsetDateTime, UtcOffset};
//!
//! let start: TimeModifier = "-7d@d".parse()?;
//! assert_eq!(start.to_string(), "-7d@d");
//!
//! let now = OffsetDateTime::from_unix_timestamp(1_795_852_800)?; // 2026-11-28T08:00:00Z
//! let zone = UtcOffset::from_hms(-9, 0, 0)?; // 2026-11-27T23:00:00-09:00
//! let resolved = start.resolve(now, zone)?;
//! assert_eq!(resolved.unix_timestamp(), 1_795_165_200); // 2026-11-20T00:00:00-09:00
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The first year a modifier may resolve to (in UTC).
pub const FIRST_YEAR: i32 = 0;
/// The last year a modifier may resolve to (in UTC).
pub const LAST_YEAR: i32 = 9999;

/// A point in time as Splunk's `earliest_time` / `latest_time` express it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeModifier {
    /// `now`: the time given to [`resolve`](Self::resolve).
    Now,
    /// Seconds since 1970-01-01T00:00:00Z, with a fraction.
    Epoch {
        /// Whole seconds.
        seconds: u64,
        /// Nanoseconds, below 1 000 000 000.
        nanos: u32,
    },
    /// An ISO 8601 date and time.
    Iso {
        /// The date and wall-clock time.
        datetime: PrimitiveDateTime,
        /// The zone written with it; `None` reads the time in the zone given to
        /// [`resolve`](Self::resolve).
        offset: Option<UtcOffset>,
    },
    /// A time relative to now.
    Relative(Relative),
}

/// A relative time: `[offset][@snap[offset]]`, at least one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Relative {
    /// Moves `now` first.
    pub offset: Option<Offset>,
    /// Then rounds down.
    pub snap: Option<Snap>,
    /// Then moves again; only with a snap.
    pub after: Option<Offset>,
}

/// A signed amount of a unit: `-7d`, `+1mon`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset {
    /// How many units, negative for the past.
    pub amount: i64,
    /// The unit.
    pub unit: TimeUnit,
}

/// The unit of an [`Offset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `s`.
    Second,
    /// `m`.
    Minute,
    /// `h`.
    Hour,
    /// `d` (24 hours).
    Day,
    /// `w` (7 days).
    Week,
    /// `mon`: calendar months, the day clamped to the month's end.
    Month,
    /// `q`: three calendar months.
    Quarter,
    /// `y`: twelve calendar months.
    Year,
}

/// What a relative time rounds down to, in the resolution zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Snap {
    /// `@s`: the whole second.
    Second,
    /// `@m`: the whole minute.
    Minute,
    /// `@h`: the whole hour.
    Hour,
    /// `@d`: midnight.
    Day,
    /// `@w0`…`@w6`: midnight of the latest such weekday (today included); `@w0` is Sunday.
    Week(Weekday),
    /// `@mon`: midnight of the 1st.
    Month,
    /// `@q`: midnight of the 1st of January, April, July or October.
    Quarter,
    /// `@y`: midnight of the 1st of January.
    Year,
}

/// A time modifier that cannot be read or resolved, or a window whose ends are reversed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// The text is not a time modifier.
    Syntax {
        /// The text.
        input: String,
        /// The byte offset of the problem.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// The modifier resolves outside the years 0000 to 9999 (in UTC), or its arithmetic
    /// overflows on the way.
    OutOfRange {
        /// The modifier, printed.
        modifier: String,
    },
    /// A window whose earliest time resolves after its latest time.
    Reversed {
        /// The earliest time, printed.
        earliest: String,
        /// The latest time, printed.
        latest: String,
    },
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax {
                input,
                offset,
                expected,
            } => write!(
                f,
                "invalid time modifier {input:?}: expected {expected} at byte {offset}"
            ),
            Self::OutOfRange { modifier } => {
                write!(
                    f,
                    "time modifier {modifier:?} resolves outside the years 0000 to 9999"
                )
            }
            Self::Reversed { earliest, latest } => write!(
                f,
                "the earliest time {earliest:?} is later than the latest time {latest:?}"
            ),
        }
    }
}

impl std::error::Error for TimeError {}

impl TimeUnit {
    /// The short name the printer uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "m",
            Self::Hour => "h",
            Self::Day => "d",
            Self::Week => "w",
            Self::Month => "mon",
            Self::Quarter => "q",
            Self::Year => "y",
        }
    }

    /// Reads a unit in any of Splunk's spellings, case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, TimeUnit); 34] = [
            ("s", TimeUnit::Second),
            ("sec", TimeUnit::Second),
            ("secs", TimeUnit::Second),
            ("second", TimeUnit::Second),
            ("seconds", TimeUnit::Second),
            ("m", TimeUnit::Minute),
            ("min", TimeUnit::Minute),
            ("mins", TimeUnit::Minute),
            ("minute", TimeUnit::Minute),
            ("minutes", TimeUnit::Minute),
            ("h", TimeUnit::Hour),
            ("hr", TimeUnit::Hour),
            ("hrs", TimeUnit::Hour),
            ("hour", TimeUnit::Hour),
            ("hours", TimeUnit::Hour),
            ("d", TimeUnit::Day),
            ("day", TimeUnit::Day),
            ("days", TimeUnit::Day),
            ("w", TimeUnit::Week),
            ("week", TimeUnit::Week),
            ("weeks", TimeUnit::Week),
            ("mon", TimeUnit::Month),
            ("month", TimeUnit::Month),
            ("months", TimeUnit::Month),
            ("q", TimeUnit::Quarter),
            ("qtr", TimeUnit::Quarter),
            ("qtrs", TimeUnit::Quarter),
            ("quarter", TimeUnit::Quarter),
            ("quarters", TimeUnit::Quarter),
            ("y", TimeUnit::Year),
            ("yr", TimeUnit::Year),
            ("yrs", TimeUnit::Year),
            ("year", TimeUnit::Year),
            ("years", TimeUnit::Year),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, u)| u)
    }

    /// The unit's length in seconds, for the units of fixed length.
    fn seconds(self) -> Option<i64> {
        match self {
            Self::Second => Some(1),
            Self::Minute => Some(60),
            Self::Hour => Some(3_600),
            Self::Day => Some(86_400),
            Self::Week => Some(604_800),
            Self::Month | Self::Quarter | Self::Year => None,
        }
    }

    /// The unit's length in calendar months, for the others.
    fn months(self) -> i64 {
        match self {
            Self::Quarter => 3,
            Self::Year => 12,
            _ => 1,
        }
    }
}

impl TimeModifier {
    /// The ISO 8601 time of `instant`, in its own offset, to the nanosecond.
    ///
    /// ```
    /// use spoor_spl::modifier::TimeModifier;
    /// use time::OffsetDateTime;
    ///
    /// let instant = OffsetDateTime::from_unix_timestamp(1_795_852_800)?;
    /// assert_eq!(TimeModifier::at(instant).to_string(), "2026-11-28T08:00:00+00:00");
    /// # Ok::<(), time::error::ComponentRange>(())
    /// ```
    pub fn at(instant: OffsetDateTime) -> Self {
        Self::Iso {
            datetime: PrimitiveDateTime::new(instant.date(), instant.time()),
            offset: Some(instant.offset()),
        }
    }

    /// The instant this modifier names, given the current time and the zone in which to snap and
    /// to read zone-less ISO times. The result is expressed in `zone`.
    ///
    /// # Errors
    ///
    /// [`TimeError::OutOfRange`] when the result is outside the years 0000 to 9999 in UTC (or
    /// cannot be expressed in `zone`).
    pub fn resolve(
        &self,
        now: OffsetDateTime,
        zone: UtcOffset,
    ) -> Result<OffsetDateTime, TimeError> {
        let resolved = match *self {
            Self::Now => Some(now),
            Self::Epoch { seconds, nanos } => {
                let nanos = i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
                OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
            }
            Self::Iso { datetime, offset } => Some(datetime.assume_offset(offset.unwrap_or(zone))),
            Self::Relative(relative) => relative.resolve(now, zone),
        };
        resolved
            .filter(|t| {
                t.checked_to_offset(UtcOffset::UTC)
                    .is_some_and(|utc| (FIRST_YEAR..=LAST_YEAR).contains(&utc.year()))
            })
            .and_then(|t| t.checked_to_offset(zone))
            .ok_or_else(|| TimeError::OutOfRange {
                modifier: self.to_string(),
            })
    }
}

impl Relative {
    fn resolve(self, now: OffsetDateTime, zone: UtcOffset) -> Option<OffsetDateTime> {
        let mut t = now.checked_to_offset(zone)?;
        if let Some(offset) = self.offset {
            t = offset.apply(t)?;
        }
        if let Some(snap) = self.snap {
            t = snap.apply(t)?;
        }
        if let Some(after) = self.after {
            t = after.apply(t)?;
        }
        Some(t)
    }
}

impl Offset {
    fn apply(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.unit.seconds() {
            Some(seconds) => t.checked_add(Duration::seconds(self.amount.checked_mul(seconds)?)),
            None => add_months(t, self.amount.checked_mul(self.unit.months())?),
        }
    }
}

/// Moves the calendar date by `months`, clamping the day to the end of the month; `None` past
/// the dates the calendar holds, however large `months` is.
fn add_months(t: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let (year, month, day) = t.to_calendar_date();
    let index = (i64::from(year) * 12 + i64::from(u8::from(month)) - 1).checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = day.min(month.length(year));
    Some(t.replace_date(Date::from_calendar_date(year, month, day).ok()?))
}

impl Snap {
    fn apply(self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let (hour, minute, second) = t.time().as_hms();
        let (year, month, _) = t.to_calendar_date();
        let midnight = |date: Date| Some(t.replace_date(date).replace_time(Time::MIDNIGHT));
        match self {
            Self::Second => Some(t.replace_time(Time::from_hms(hour, minute, second).ok()?)),
            Self::Minute => Some(t.replace_time(Time::from_hms(hour, minute, 0).ok()?)),
            Self::Hour => Some(t.replace_time(Time::from_hms(hour, 0, 0).ok()?)),
            Self::Day => midnight(t.date()),
            Self::Week(start) => {
                let today = t.date().weekday().number_days_from_sunday();
                let back = (today + 7 - start.number_days_from_sunday()) % 7;
                midnight(t.date().checked_sub(Duration::days(i64::from(back)))?)
            }
            Self::Month => midnight(Date::from_calendar_date(year, month, 1).ok()?),
            Self::Quarter => {
                let first = (u8::from(month) - 1) / 3 * 3 + 1;
                midnight(Date::from_calendar_date(year, Month::try_from(first).ok()?, 1).ok()?)
            }
            Self::Year => midnight(Date::from_calendar_date(year, Month::January, 1).ok()?),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Printing

impl fmt::Display for TimeModifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Now => f.write_str("now"),
            Self::Epoch { seconds, nanos } => {
                write!(f, "{seconds}")?;
                write_fraction(f, *nanos)
            }
            Self::Iso { datetime, offset } => {
                let (year, month, day) = datetime.to_calendar_date();
                let (hour, minute, second, nanos) = datetime.as_hms_nano();
                if year < 0 {
                    f.write_str("-")?;
                }
                write!(
                    f,
                    "{:04}-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}",
                    year.unsigned_abs(),
                    u8::from(month)
                )?;
                write_fraction(f, nanos)?;
                if let Some(offset) = offset {
                    let (h, m, s) = offset.as_hms();
                    let sign = if offset.is_negative() { '-' } else { '+' };
                    write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())?;
                    if s != 0 {
                        write!(f, ":{:02}", s.unsigned_abs())?;
                    }
                }
                Ok(())
            }
            Self::Relative(relative) => relative.fmt(f),
        }
    }
}

/// Writes `.` and the fraction's digits without trailing zeros; nothing for zero.
fn write_fraction(f: &mut fmt::Formatter<'_>, nanos: u32) -> fmt::Result {
    if nanos == 0 {
        return Ok(());
    }
    let digits = format!("{nanos:09}");
    write!(f, ".{}", digits.trim_end_matches('0'))
}

impl fmt::Display for Relative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(offset) = self.offset {
            offset.fmt(f)?;
        }
        if let Some(snap) = self.snap {
            snap.fmt(f)?;
        }
        if let Some(after) = self.after {
            after.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount < 0 { '-' } else { '+' };
        write!(
            f,
            "{sign}{}{}",
            self.amount.unsigned_abs(),
            self.unit.name()
        )
    }
}

impl fmt::Display for Snap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Second => f.write_str("@s"),
            Self::Minute => f.write_str("@m"),
            Self::Hour => f.write_str("@h"),
            Self::Day => f.write_str("@d"),
            Self::Week(day) => write!(f, "@w{}", day.number_days_from_sunday()),
            Self::Month => f.write_str("@mon"),
            Self::Quarter => f.write_str("@q"),
            Self::Year => f.write_str("@y"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

impl FromStr for TimeModifier {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, TimeError> {
        let mut cursor = Cursor { input: s, pos: 0 };
        let modifier = if s.eq_ignore_ascii_case("now") {
            return Ok(Self::Now);
        } else if is_iso(s) {
            cursor.iso()?
        } else if s.starts_with(['+', '-', '@']) {
            Self::Relative(cursor.relative()?)
        } else {
            cursor.epoch()?
        };
        cursor.finish()?;
        Ok(modifier)
    }
}

impl FromStr for Relative {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, TimeError> {
        let mut cursor = Cursor { input: s, pos: 0 };
        let relative = cursor.relative()?;
        cursor.finish()?;
        Ok(relative)
    }
}

/// Whether `s` starts like an ISO 8601 date: four digits and `-`, the year possibly negative.
fn is_iso(s: &str) -> bool {
    let bytes = s.strip_prefix('-').unwrap_or(s).as_bytes();
    bytes.len() >= 5 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-'
}

struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn error(&self, expected: &'static str) -> TimeError {
        TimeError::Syntax {
            input: self.input.to_owned(),
            offset: self.pos,
            expected,
        }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn finish(&self) -> Result<(), TimeError> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(self.error("end of input"))
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let at = self.rest().starts_with(c);
        if at {
            self.pos += c.len_utf8();
        }
        at
    }

    /// A run of ASCII digits (possibly empty).
    fn digits(&mut self) -> &str {
        let len = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let start = self.pos;
        self.pos += len;
        &self.input[start..self.pos]
    }

    /// A run of ASCII letters (possibly empty).
    fn letters(&mut self) -> &str {
        let len = self
            .rest()
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let start = self.pos;
        self.pos += len;
        &self.input[start..self.pos]
    }

    /// Exactly `n` digits as a number.
    fn fixed(&mut self, n: usize, expected: &'static str) -> Result<u32, TimeError> {
        let rest = self.rest().as_bytes();
        if rest.len() < n || !rest[..n].iter().all(u8::is_ascii_digit) {
            return Err(self.error(expected));
        }
        let value = rest[..n]
            .iter()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
        self.pos += n;
        Ok(value)
    }

    /// `.` and 1 to 9 digits, as nanoseconds; 0 when there is no `.`.
    fn fraction(&mut self) -> Result<u32, TimeError> {
        if !self.eat('.') {
            return Ok(0);
        }
        let digits = self.digits();
        if digits.is_empty() || digits.len() > 9 {
            self.pos -= digits.len();
            return Err(self.error("1 to 9 digits of a fraction"));
        }
        let value = digits
            .bytes()
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0'));
        Ok(value * 10u32.pow(9 - u32::try_from(digits.len()).unwrap_or(9)))
    }

    fn epoch(&mut self) -> Result<TimeModifier, TimeError> {
        let digits = self.digits();
        let Ok(seconds) = digits.parse::<u64>() else {
            self.pos -= digits.len();
            return Err(self.error("`now`, epoch seconds, an ISO 8601 time or a relative time"));
        };
        let nanos = self.fraction()?;
        Ok(TimeModifier::Epoch { seconds, nanos })
    }

    fn offset(&mut self) -> Result<Option<Offset>, TimeError> {
        let negative = match self.rest().as_bytes().first() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => return Ok(None),
        };
        self.pos += 1;
        let start = self.pos;
        let digits = self.digits();
        let magnitude = if digits.is_empty() {
            Ok(1)
        } else {
            digits.parse::<u64>()
        };
        let amount = magnitude.ok().and_then(|n| {
            if negative {
                0i64.checked_sub_unsigned(n)
            } else {
                i64::try_from(n).ok()
            }
        });
        let Some(amount) = amount else {
            self.pos = start;
            return Err(self.error("a smaller number"));
        };
        let unit_start = self.pos;
        let name = self.letters();
        let Some(unit) = TimeUnit::from_name(name) else {
            self.pos = unit_start;
            return Err(self.error("a time unit (s, m, h, d, w, mon, q, y)"));
        };
        Ok(Some(Offset { amount, unit }))
    }

    fn snap(&mut self) -> Result<Option<Snap>, TimeError> {
        if !self.eat('@') {
            return Ok(None);
        }
        let start = self.pos;
        let name = self.letters().to_ascii_lowercase();
        let snap = match name.as_str() {
            "s" | "sec" | "second" => Snap::Second,
            "m" | "min" | "minute" => Snap::Minute,
            "h" | "hr" | "hour" => Snap::Hour,
            "d" | "day" => Snap::Day,
            "w" | "week" => {
                let day = match self.digits() {
                    "" | "0" | "7" => Weekday::Sunday,
                    "1" => Weekday::Monday,
                    "2" => Weekday::Tuesday,
                    "3" => Weekday::Wednesday,
                    "4" => Weekday::Thursday,
                    "5" => Weekday::Friday,
                    "6" => Weekday::Saturday,
                    _ => {
                        self.pos = start;
                        return Err(self.error("a week snap `@w0` to `@w7`"));
                    }
                };
                Snap::Week(day)
            }
            "mon" | "month" => Snap::Month,
            "q" | "qtr" | "quarter" => Snap::Quarter,
            "y" | "yr" | "year" => Snap::Year,
            _ => {
                self.pos = start;
                return Err(self.error("a snap unit (s, m, h, d, w0 to w6, mon, q, y)"));
            }
        };
        Ok(Some(snap))
    }

    fn relative(&mut self) -> Result<Relative, TimeError> {
        let offset = self.offset()?;
        let snap = self.snap()?;
        let after = if snap.is_some() { self.offset()? } else { None };
        if offset.is_none() && snap.is_none() {
            return Err(self.error("an offset such as `-7d` or a snap such as `@d`"));
        }
        Ok(Relative {
            offset,
            snap,
            after,
        })
    }

    fn iso(&mut self) -> Result<TimeModifier, TimeError> {
        let negative = self.eat('-');
        let year = i32::try_from(self.fixed(4, "a four-digit year")?).unwrap_or_default();
        let year = if negative { -year } else { year };
        let date_start = self.pos;
        let date = (|| {
            if !self.eat('-') {
                return Err(self.error("`-`"));
            }
            let month = self.fixed(2, "a two-digit month")?;
            if !self.eat('-') {
                return Err(self.error("`-`"));
            }
            let day = self.fixed(2, "a two-digit day")?;
            let month = u8::try_from(month)
                .ok()
                .and_then(|m| Month::try_from(m).ok());
            let day = u8::try_from(day).unwrap_or_default();
            month
                .and_then(|month| Date::from_calendar_date(year, month, day).ok())
                .ok_or(TimeError::Syntax {
                    input: self.input.to_owned(),
                    offset: date_start + 1,
                    expected: "a valid calendar date",
                })
        })()?;
        let time = if self.eat('T') || self.eat('t') || self.eat(' ') {
            let time_start = self.pos;
            let hour = self.fixed(2, "a two-digit hour")?;
            if !self.eat(':') {
                return Err(self.error("`:`"));
            }
            let minute = self.fixed(2, "two-digit minutes")?;
            let (second, nanos) = if self.eat(':') {
                (self.fixed(2, "two-digit seconds")?, self.fraction()?)
            } else {
                (0, 0)
            };
            let hms = [hour, minute, second].map(|n| u8::try_from(n).unwrap_or(u8::MAX));
            Time::from_hms_nano(hms[0], hms[1], hms[2], nanos).map_err(|_| TimeError::Syntax {
                input: self.input.to_owned(),
                offset: time_start,
                expected: "a valid time of day",
            })?
        } else {
            Time::MIDNIGHT
        };
        let offset = self.zone()?;
        Ok(TimeModifier::Iso {
            datetime: PrimitiveDateTime::new(date, time),
            offset,
        })
    }

    /// `Z`, `±HH`, `±HHMM`, `±HH:MM` or `±HH:MM:SS`; `None` when there is nothing.
    fn zone(&mut self) -> Result<Option<UtcOffset>, TimeError> {
        if self.eat('Z') || self.eat('z') {
            return Ok(Some(UtcOffset::UTC));
        }
        let start = self.pos;
        let sign = if self.eat('+') {
            1
        } else if self.eat('-') {
            -1
        } else {
            return Ok(None);
        };
        let hours = self.fixed(2, "a two-digit zone hour")?;
        let colon = self.eat(':');
        let minutes = if colon || !self.rest().is_empty() {
            self.fixed(2, "two-digit zone minutes")?
        } else {
            0
        };
        let seconds = if colon && self.eat(':') {
            self.fixed(2, "two-digit zone seconds")?
        } else {
            0
        };
        let [h, m, s] =
            [hours, minutes, seconds].map(|n| i8::try_from(n).unwrap_or(i8::MAX) * sign);
        UtcOffset::from_hms(h, m, s)
            .map(Some)
            .map_err(|_| TimeError::Syntax {
                input: self.input.to_owned(),
                offset: start,
                expected: "a zone offset within ±25:59:59",
            })
    }
}

/// The time window of a search: the `earliest_time` and `latest_time` job parameters.
///
/// The window never appears in the SPL text. Splunk includes events at `earliest` and excludes
/// events at `latest`.
///
/// ```
/// use spoor_spl::modifier::{TimeModifier, TimeWindow};
///
/// let window = TimeWindow::new("-7d@d".parse()?, TimeModifier::Now);
/// assert_eq!(window.earliest_time(), "-7d@d");
/// assert_eq!(window.latest_time(), "now");
/// # Ok::<(), spoor_spl::modifier::TimeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeWindow {
    earliest: TimeModifier,
    latest: TimeModifier,
}

impl TimeWindow {
    /// The window from `earliest` (included) to `latest` (excluded).
    pub fn new(earliest: TimeModifier, latest: TimeModifier) -> Self {
        Self { earliest, latest }
    }

    /// The start.
    pub fn earliest(&self) -> TimeModifier {
        self.earliest
    }

    /// The end.
    pub fn latest(&self) -> TimeModifier {
        self.latest
    }

    /// The start as the `earliest_time` job parameter.
    pub fn earliest_time(&self) -> String {
        self.earliest.to_string()
    }

    /// The end as the `latest_time` job parameter.
    pub fn latest_time(&self) -> String {
        self.latest.to_string()
    }

    /// Both ends as instants (see [`TimeModifier::resolve`]).
    ///
    /// # Errors
    ///
    /// [`TimeError::OutOfRange`] for an end out of range, [`TimeError::Reversed`] when the start
    /// is after the end.
    pub fn resolve(
        &self,
        now: OffsetDateTime,
        zone: UtcOffset,
    ) -> Result<(OffsetDateTime, OffsetDateTime), TimeError> {
        let earliest = self.earliest.resolve(now, zone)?;
        let latest = self.latest.resolve(now, zone)?;
        if earliest > latest {
            return Err(TimeError::Reversed {
                earliest: self.earliest_time(),
                latest: self.latest_time(),
            });
        }
        Ok((earliest, latest))
    }
}

#[cfg(test)]
mod tests;
