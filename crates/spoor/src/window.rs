//! The time window every question is asked over.

use std::fmt;

use spoor_proto::search::SearchParams;
use spoor_spl::modifier::{TimeModifier, TimeWindow};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// The instants a question covers: a preset relative to now, all time, or two instants.
///
/// Presets end now and start at midnight UTC (days snap to the day, as a dashboard's "last 7
/// days" does): the last 24 hours is `-24h` to `now`; the last 7, 30 and 90 days are `-7d@d`,
/// `-30d@d` and `-90d@d` to `now`. [`Window::AllTime`] sets no bound, so a chart starts at the
/// first event's bucket and ends at the last's.
///
/// ```
/// use spoor::Window;
/// use time::macros::datetime;
///
/// assert_eq!(Window::Last7Days.to_string(), "-7d@d to now");
/// let custom = Window::between(datetime!(2026-11-01 0:00 UTC), datetime!(2026-11-08 0:00 UTC))?;
/// assert_eq!(custom.to_string(), "2026-11-01T00:00:00+00:00 to 2026-11-08T00:00:00+00:00");
/// assert!(Window::between(datetime!(2026-11-08 0:00 UTC), datetime!(2026-11-01 0:00 UTC)).is_err());
/// # Ok::<(), spoor::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Window {
    /// The last 24 hours.
    Last24Hours,
    /// The last 7 days (from midnight UTC seven days ago).
    Last7Days,
    /// The last 30 days.
    Last30Days,
    /// The last 90 days.
    Last90Days,
    /// Every event.
    AllTime,
    /// From `earliest` (included) to `latest` (excluded).
    Between {
        /// The first instant included.
        earliest: OffsetDateTime,
        /// The first instant excluded.
        latest: OffsetDateTime,
    },
}

impl Window {
    /// Every preset, in the order a picker shows them.
    pub const PRESETS: [Self; 5] = [
        Self::Last24Hours,
        Self::Last7Days,
        Self::Last30Days,
        Self::Last90Days,
        Self::AllTime,
    ];

    /// A custom window.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidWindow`](crate::Error::InvalidWindow) when `earliest` is after
    /// `latest`.
    pub fn between(earliest: OffsetDateTime, latest: OffsetDateTime) -> Result<Self, crate::Error> {
        if earliest > latest {
            return Err(crate::Error::InvalidWindow(format!(
                "the window starts ({earliest}) after it ends ({latest}); swap the two"
            )));
        }
        Ok(Self::Between { earliest, latest })
    }

    /// The instants the window covers as of `now`, `None` for all time. Presets snap to
    /// midnight UTC as the search does (`-7d@d`).
    ///
    /// ```
    /// use spoor::Window;
    /// use time::macros::datetime;
    ///
    /// let now = datetime!(2026-12-06 14:30 UTC);
    /// assert_eq!(
    ///     Window::Last7Days.instants(now),
    ///     Some((datetime!(2026-11-29 0:00 UTC), now))
    /// );
    /// assert_eq!(Window::AllTime.instants(now), None);
    /// ```
    pub fn instants(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let now = now.to_offset(UtcOffset::UTC);
        let days_back = |days: i64| {
            let start = now
                .date()
                .checked_sub(Duration::days(days))
                .unwrap_or(Date::MIN);
            (start.with_time(Time::MIDNIGHT).assume_utc(), now)
        };
        match *self {
            Self::Last24Hours => Some((now.checked_sub(Duration::DAY).unwrap_or(now), now)),
            Self::Last7Days => Some(days_back(7)),
            Self::Last30Days => Some(days_back(30)),
            Self::Last90Days => Some(days_back(90)),
            Self::AllTime => None,
            Self::Between { earliest, latest } => Some((earliest, latest)),
        }
    }

    /// The window of the same length that ends where this one starts (as of `now`), to compare
    /// with; `None` for all time.
    ///
    /// ```
    /// use spoor::Window;
    /// use time::macros::datetime;
    ///
    /// let now = datetime!(2026-12-06 12:00 UTC);
    /// assert_eq!(
    ///     Window::Last24Hours.previous(now),
    ///     Some(Window::between(datetime!(2026-12-04 12:00 UTC), datetime!(2026-12-05 12:00 UTC))?)
    /// );
    /// assert_eq!(Window::AllTime.previous(now), None);
    /// # Ok::<(), spoor::Error>(())
    /// ```
    pub fn previous(&self, now: OffsetDateTime) -> Option<Self> {
        let (start, end) = self.instants(now)?;
        let earlier = start.checked_sub(end - start)?;
        Some(Self::Between {
            earliest: earlier,
            latest: start,
        })
    }

    /// The two bounds as time modifiers, `None` for an open one.
    fn bounds(&self) -> (Option<TimeModifier>, Option<TimeModifier>) {
        let relative = |text: &str| text.parse::<TimeModifier>().ok();
        match *self {
            Self::Last24Hours => (relative("-24h"), Some(TimeModifier::Now)),
            Self::Last7Days => (relative("-7d@d"), Some(TimeModifier::Now)),
            Self::Last30Days => (relative("-30d@d"), Some(TimeModifier::Now)),
            Self::Last90Days => (relative("-90d@d"), Some(TimeModifier::Now)),
            Self::AllTime => (None, None),
            Self::Between { earliest, latest } => (
                Some(TimeModifier::at(earliest)),
                Some(TimeModifier::at(latest)),
            ),
        }
    }

    /// The window for `spoor-spl`'s builders (an open start is the epoch; the job parameters
    /// from [`params`](Self::params) are what the search runs over).
    pub(crate) fn time_window(&self) -> TimeWindow {
        let (earliest, latest) = self.bounds();
        TimeWindow::new(
            earliest.unwrap_or(TimeModifier::Epoch {
                seconds: 0,
                nanos: 0,
            }),
            latest.unwrap_or(TimeModifier::Now),
        )
    }

    /// The search job's `earliest_time` and `latest_time`.
    pub(crate) fn params(&self) -> SearchParams {
        let (earliest, latest) = self.bounds();
        SearchParams {
            earliest_time: earliest.map(|m| m.to_string()),
            latest_time: latest.map(|m| m.to_string()),
            ..SearchParams::default()
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bounds() {
            (None, None) => f.write_str("all time"),
            (earliest, latest) => {
                let show = |m: Option<TimeModifier>| m.map_or_else(String::new, |m| m.to_string());
                write!(f, "{} to {}", show(earliest), show(latest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_as_job_parameters() {
        let p = Window::Last24Hours.params();
        assert_eq!(
            (p.earliest_time.as_deref(), p.latest_time.as_deref()),
            (Some("-24h"), Some("now"))
        );
        let p = Window::AllTime.params();
        assert_eq!((p.earliest_time, p.latest_time), (None, None));
        assert_eq!(Window::AllTime.to_string(), "all time");
        for w in Window::PRESETS {
            assert!(!w.to_string().is_empty());
        }
    }
}

/// A page of a listing: `limit` rows after the first `offset`.
///
/// ```
/// use spoor::Page;
///
/// let second = Page::new(50, 50)?;
/// assert_eq!((second.offset(), second.limit()), (50, 50));
/// assert!(Page::new(9_990, 50).is_err(), "past what a listing holds");
/// assert!(Page::new(0, 0).is_err());
/// # Ok::<(), spoor::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Page {
    offset: u32,
    limit: u32,
}

impl Page {
    /// The most rows a listing reaches, `offset + limit` (Splunk's default `sort` limit, and
    /// what a search's events are read up to).
    pub const MAX_END: u32 = 10_000;

    /// The first page of `limit` rows.
    pub const fn first(limit: std::num::NonZeroU32) -> Self {
        Self {
            offset: 0,
            limit: if limit.get() > Self::MAX_END {
                Self::MAX_END
            } else {
                limit.get()
            },
        }
    }

    /// `limit` rows after the first `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPage`](crate::Error::InvalidPage) for no rows, or past
    /// [`MAX_END`](Self::MAX_END).
    pub fn new(offset: u32, limit: u32) -> Result<Self, crate::Error> {
        if limit == 0 {
            return Err(crate::Error::InvalidPage(
                "a page holds at least one row; ask for a limit of 1 or more".to_owned(),
            ));
        }
        if offset.saturating_add(limit) > Self::MAX_END {
            return Err(crate::Error::InvalidPage(format!(
                "rows {offset} to {} are past the {} a listing reaches; narrow the window instead",
                offset.saturating_add(limit),
                Self::MAX_END
            )));
        }
        Ok(Self { offset, limit })
    }

    /// Rows skipped.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// Rows at most.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}
